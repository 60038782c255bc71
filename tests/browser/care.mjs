// Care coordination in real browsers: the secondary school's care
// coordinator registers a pupil for the IZO and records its meeting, asks the guardians' consent for the ZAT and for the JGZ's
// part in the plan; the guardian gives both in the parent portal on a
// phone; the coordinator, as ZAT chair, refers the pupil, sends the case
// file, records the meeting with its plan of action; the JGZ nurse, on her
// own node's gateway, reads the case file before the meeting, sees the plan
// replace it, and reports progress on her action; the coordinator sees
// it. Exit code is the verdict; screenshots go to SHOTS_DIR.
// Env: VO_URL, JGZ_URL, SHOTS_DIR, CHILD (vo-1's pupil reference), CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, signIn, text, until } from './common.mjs';

const vo = process.env.VO_URL;
const jgzUrl = process.env.JGZ_URL;
const shots = process.env.SHOTS_DIR;
const child = process.env.CHILD;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
async function person(options = {}) {
  const context = await browser.newContext(options);
  return context.newPage();
}
const shot = shooter(shots);

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
let current;
try {
  // 0. The IZO: the coordinator registers the pupil with the handbook's
  // form, accepts it, records a talk with the guardians and the minutes
  // (the outcome: the ZAT).
  const zc = current = await person();
  await signIn(zc, vo, '/', 'zc-9');
  await zc.goto(vo + '/izo');
  await zc.fill('#child_ref', child);
  await zc.fill('#child_birth_date', '2013-04-02');
  // The mentor is picked by name from the school's staff list; a name it
  // does not know comes back on the same page with all that was typed.
  const offered = await zc.$$eval('#izo-mentoren option', (os) => os.map((o) => o.value));
  check(offered.includes('Mark de Wit (mentor)') && !offered.some((o) => o.includes('mentor-7')), 'IZO: the mentor field offers people by name and role');
  await zc.fill('#mentor', 'Mark de Witt');
  await zc.fill('#problem', 'Verzuimt steeds vaker en slaapt slecht.');
  await zc.fill('#pupil_question', 'Ik wil weer naar school.');
  await zc.fill('#support_question', 'Wat heeft Sam nodig om te komen?');
  await zc.check('input[name="support"][value="pupil"]');
  await zc.fill('#school-absence', 'Elf lesuren in zes weken.');
  await zc.click('button:has-text("Aanmelden")');
  await zc.waitForSelector('#fout-samenvatting');
  check((await zc.textContent('#fout-samenvatting')).includes('Kies een medewerker uit de lijst bij "Mentor"'), 'IZO: an unknown mentor is refused in Dutch');
  check((await zc.getAttribute('#mentor', 'aria-invalid')) === 'true', 'IZO: the mentor field is marked');
  check((await zc.inputValue('#problem')) === 'Verzuimt steeds vaker en slaapt slecht.' && (await zc.inputValue('#mentor')) === 'Mark de Witt'
    && (await zc.inputValue('#school-absence')) === 'Elf lesuren in zes weken.' && await zc.isChecked('input[name="support"][value="pupil"]'), 'IZO: what was typed is still there');
  await shot(zc, '45a-izo-onbekende-mentor');
  await zc.fill('#mentor', 'Mark de Wit (mentor)');
  await shot(zc, '45-izo-aanmelden');
  await zc.click('button:has-text("Aanmelden")');
  check((await text(zc)).includes('De leerling is aangemeld'), 'IZO: pupil registered');
  check(!zc.url().includes(child), 'no pupil reference in the URL');
  check((await text(zc)).includes('Mark de Wit') && !(await text(zc)).includes('mentor-7'), 'IZO: the registration names the mentor');
  // A question back first; the answer comes on the same page.
  await zc.selectOption('#decision', 'return');
  await zc.fill('#note', 'Hoe gaat het thuis met slapen?');
  await zc.click('button:has-text("Beoordeling vastleggen")');
  check((await zc.textContent('#stand')).includes('teruggestuurd'), 'IZO: returned with a question');
  await zc.fill('#functioning_at_home', 'Slaapt pas na middernacht; ouders maken zich zorgen.');
  await zc.click('button:has-text("Opnieuw aanbieden")');
  check((await text(zc)).includes('Het antwoord is vastgelegd'), 'IZO: the question answered');
  check((await zc.textContent('#stand')).includes('wacht op beoordeling'), 'IZO: back for triage');
  for (const box of ['belongs_in_tier2', 'questions_clear', 'tier1_exhausted', 'guardians_and_pupil_informed']) {
    await zc.check(`input[name="${box}"]`);
  }
  await zc.click('button:has-text("Beoordeling vastleggen")');
  check((await zc.textContent('#stand')).includes('aangenomen'), 'IZO: accepted with the four checks');
  await zc.fill('#c-summary', 'Ouders vertellen over het slapen; akkoord met bespreken.');
  await zc.click('button:has-text("Gesprek vastleggen")');
  check((await text(zc)).includes('Het gesprek is vastgelegd'), 'IZO: talk with the guardians recorded');
  await zc.fill('#m-analysis', 'Meer partijen nodig: slaap en thuis.');
  await zc.fill('#m-summary', 'Naar het ZAT.');
  await zc.fill('#m-guardians_contact', 'Mark de Wit (mentor)');
  await zc.fill('#m-zat_question', 'Hoe helpen school en JGZ Sam samen?');
  await zc.check('input[name="outcomes"][value="zat"]');
  await zc.fill('#evaluation_on', day(28));
  await zc.click('button:has-text("Verslag vastleggen")');
  check((await text(zc)).includes('Het verslag is vastgelegd'), 'IZO: minutes recorded, outcome ZAT');
  check((await text(zc)).includes('De ouders worden geïnformeerd door Mark de Wit'), 'IZO: who informs the guardians, by name');
  await shot(zc, '46-izo-verslag');

  // 1. The coordinator asks the two consents and invites the guardian.
  for (const [purpose, categories] of [
    ['refer_to_zat', ['pupil', 'educational_support', 'care_history']],
    ['case_membership', ['action_plans', 'pupil', 'external_care']],
  ]) {
    await zc.goto(vo + '/toestemming');
    await zc.fill('#vraag-leerling', child);
    await zc.fill('#geboortedatum', '2013-04-02');
    await zc.selectOption('#doel', purpose);
    await zc.selectOption('#ontvanger', ['jgz-1']);
    for (const c of categories) await zc.check(`input[name="categories"][value="${c}"]`);
    await zc.click('button:has-text("Toestemming vragen")');
    check((await text(zc)).includes('Het verzoek om toestemming staat klaar'), `coordinator: ${purpose} asked`);
  }
  await zc.goto(vo + '/ouderportaal');
  await zc.fill('#nodig-leerling', child);
  await zc.fill('#nodig-naam', 'J. de Vries');
  await zc.fill('#nodig-geboortedatum', '2013-04-02');
  await zc.click('button:has-text("Code maken")');
  const code = (await zc.textContent('#uitnodigingscode')).trim();

  // 2. The guardian, on a phone, gives both in the parent portal.
  const parent = current = await person(phone);
  await signIn(parent, vo, '/ouders', 'ouder-1');
  await parent.fill('#code', code);
  await parent.click('button:has-text("Koppelen")');
  check((await text(parent)).includes('Uw kind is gekoppeld'), 'guardian: child linked');
  await parent.click('ul.kaarten a');
  const childUrl = parent.url();
  const ask = await text(parent);
  check(ask.includes('zorg- en adviesteam (ZAT)') && ask.includes('één gezamenlijk plan'), 'guardian: both requests in plain words');
  await shot(parent, '50-ouders-toestemming-zat');
  for (let i = 0; i < 2; i++) {
    await parent.goto(childUrl);
    await parent.click('button:has-text("Ik geef toestemming")');
    check((await text(parent)).includes('U heeft toestemming gegeven'), `guardian: consent ${i + 1} given`);
  }

  // 3. The chair refers, sends the case file, records the meeting.
  current = zc;
  await zc.goto(vo + '/zat');
  await shot(zc, '51-zat');
  await zc.fill('#child_name', 'Sam Peters');
  await zc.fill('#meeting_on', day(3));
  await zc.fill('#background', 'Twee keer in het IZO besproken.');
  await zc.click('button:has-text("Aanmelden")');
  check((await text(zc)).includes('De leerling is aangemeld'), 'chair: pupil referred');
  await zc.check('#lid-jgz-1');
  await zc.click('button:has-text("Versturen")');
  check((await text(zc)).includes('Het dossier is verstuurd'), 'chair: case file sent to the JGZ');

  // 3a. Before the meeting the JGZ nurse, on her own node, reads the case
  // file the chair sent: her start page points to it.
  const nurse = current = await person();
  await signIn(nurse, jgzUrl, '/', 'jgz-3');
  await until(nurse, jgzUrl + '/', async (_, p) => (await text(p)).includes('ZAT-dossiers voor het overleg'), 'JGZ: the start page names the case file');
  await nurse.click('a:has-text("ZAT-dossiers voor het overleg")');
  await until(nurse, jgzUrl + '/zat/ontvangen', async (_, p) => (await text(p)).includes('Sam Peters'), 'JGZ: the case file arrived');
  await shot(nurse, '51a-jgz-zat-dossiers');
  await nurse.click('a:has-text("Sam Peters")');
  const fileUrl = nurse.url();
  check(!fileUrl.includes(child), 'no pupil reference in the URL');
  const file = await text(nurse);
  check(file.includes('Hoe helpen school en JGZ Sam samen?') && file.includes('Twee keer in het IZO besproken.'), 'JGZ: the question and what was done');
  await shot(nurse, '51b-jgz-zat-dossier');
  current = zc;
  await zc.fill('#analysis', 'Slaapprobleem; spanningen thuis.');
  await zc.fill('#needs', 'Een vast aanspreekpunt.');
  await zc.fill('#directions', 'Slaap laten onderzoeken.');
  await zc.fill('#decisions', 'JGZ onderzoekt; school zorgt voor opvang.');
  await zc.fill('#reports_back', 'zc-9 belt de ouders');
  await zc.fill('#evaluation_on', day(42));
  await zc.fill('#goal_text', 'Sam is weer elke dag op school');
  await zc.fill('#goal_measure', 'Verzuim per week');
  await zc.fill('#goal_target', day(56));
  await zc.selectOption('#action-0-owner', 'jgz-1');
  await zc.fill('#action-0-what', 'Slaaponderzoek door de jeugdarts');
  await zc.fill('#action-0-due', day(14));
  await zc.selectOption('#action-0-category', 'external_care');
  await zc.selectOption('#action-1-owner', 'vo-1');
  await zc.fill('#action-1-what', 'Dagelijkse check-in bij de mentor');
  await zc.fill('#action-1-due', day(7));
  // The school's own action names who does it, picked by name.
  const doer = (await zc.locator('#uitvoerders option').evaluateAll((os) => os.map((o) => o.value))).find((v) => v.startsWith('Ingrid Bakker ('));
  check(Boolean(doer), 'chair: the Uitvoerder picker offers the staff by name');
  await zc.fill('#action-1-person', doer);
  await zc.fill('#member-0-role', 'jeugdverpleegkundige');
  await zc.fill('#member-0-person', 'J. Smit');
  await zc.selectOption('#member-0-consent', { index: 1 });
  await shot(zc, '52-zat-overleg');
  // A case coordinator the staff directory does not know (typed, not
  // picked): the same page again, everything typed kept, the field marked.
  const me = await zc.inputValue('#coordinator');
  await zc.fill('#coordinator', 'Piet Onbekend');
  await zc.click('button:has-text("Overleg en plan vastleggen")');
  await zc.waitForSelector('#fout-samenvatting');
  check((await zc.textContent('#fout-samenvatting')).includes('Piet Onbekend is niet bekend'), 'chair: an unknown case coordinator is refused in Dutch');
  check(await zc.getAttribute('#coordinator', 'aria-invalid') === 'true', 'chair: the case coordinator field is marked');
  check(await zc.inputValue('#goal_text') === 'Sam is weer elke dag op school', 'chair: the goal typed is still there');
  check(await zc.inputValue('#action-0-what') === 'Slaaponderzoek door de jeugdarts', 'chair: the actions typed are still there');
  check(await zc.inputValue('#member-0-consent') !== '', 'chair: the member\'s consent chosen is still chosen');
  await shot(zc, '52a-zat-overleg-geweigerd');
  await zc.fill('#coordinator', me);
  await zc.click('button:has-text("Overleg en plan vastleggen")');
  check((await text(zc)).includes('het plan van aanpak staat klaar'), 'chair: meeting and plan recorded');
  const planUrl = zc.url();
  check((await zc.textContent('#acties')).includes('Slaaponderzoek door de jeugdarts'), 'chair: the actions in the plan');
  check((await zc.locator('#acties tr', { hasText: 'Dagelijkse check-in bij de mentor' }).textContent()).includes('Ingrid Bakker'), 'chair: the plan names who does the school\'s action');
  await shot(zc, '53-plan-van-aanpak');

  // 4. The JGZ nurse, on her own node, reports progress. The plan replaces
  // the case file: its page now points to the plan.
  current = nurse;
  await until(nurse, fileUrl, async (_, p) => (await text(p)).includes('het plan van aanpak vervangt dit dossier'), 'JGZ: the plan replaces the case file');
  check(!(await text(nurse)).includes('Twee keer in het IZO besproken.'), 'JGZ: the case file no longer shown');
  await shot(nurse, '53a-jgz-zat-dossier-vervangen');
  await until(nurse, jgzUrl + '/plannen', async (_, p) => (await text(p)).includes('Sam Peters'), 'JGZ: the plan arrived');
  await shot(nurse, '54-jgz-plannen');
  await nurse.click('a:has-text("Sam Peters")');
  const viewUrl = nurse.url();
  const seen = await text(nurse);
  check(seen.includes('Slaaponderzoek door de jeugdarts') && seen.includes('Besluiten'), 'JGZ: its action and the decisions');
  check(!seen.includes('Slaapprobleem; spanningen thuis'), 'JGZ: not the analysis (care history is not in its consent)');
  await nurse.click('button:has-text("Aannemen")');
  check((await text(nurse)).includes('Uw voortgang is verstuurd'), 'JGZ: acceptance sent');
  await until(nurse, viewUrl, async (_, p) => (await p.textContent('#acties')).includes('aangenomen'), 'JGZ: the coordinator applied it');
  await nurse.fill('#acties input[name="reason"]', 'Eerste afspraak gemaakt');
  await nurse.click('button:has-text("Starten")');
  await shot(nurse, '55-jgz-voortgang');

  // 5. The coordinator sees it.
  current = zc;
  await until(zc, planUrl, async (_, p) => (await p.textContent('#acties')).includes('in uitvoering')
    && (await p.textContent('#tijdlijn')).includes('Eerste afspraak gemaakt'), 'coordinator: sees the JGZ at work');
  await shot(zc, '56-casusregisseur-ziet-voortgang');

  // 5a. The nurse writes a note on her action without changing its state;
  // it waits for the coordinator as new, and shows on the plan's timeline.
  current = nurse;
  await nurse.goto(viewUrl);
  // A note without text: the same page, the field marked, in Dutch.
  await nurse.click('button:has-text("Notitie versturen")');
  await nurse.waitForSelector('#fout-samenvatting');
  check((await nurse.textContent('#fout-samenvatting')).includes('Vul de notitie in.'), 'JGZ: a note without text is refused in Dutch');
  check(await nurse.getAttribute('#acties input[name="reason"]', 'aria-invalid') === 'true', 'JGZ: the note field is marked');
  await nurse.fill('#acties input[name="reason"]', 'Ouders houden een slaapdagboek bij');
  await nurse.click('button:has-text("Notitie versturen")');
  check((await text(nurse)).includes('Uw notitie is verstuurd'), 'JGZ: note sent');
  current = zc;
  await until(zc, vo + '/plannen', async (_, p) => (await text(p)).includes('1 nieuw'), 'coordinator: a new note waits');
  await zc.goto(planUrl);
  check((await zc.textContent('#tijdlijn')).includes('notitie bij een actie: Ouders houden een slaapdagboek bij'), 'coordinator: the note on the timeline');
  check((await zc.textContent('#acties')).includes('in uitvoering'), 'coordinator: the note changed no state');

  // 5b. An evaluation with "bijstellen" leads straight to where the plan is
  // adjusted; an action is added and the goal's target date moved; a page
  // left open on the old version cannot apply its form a second time.
  await zc.fill('#eval-text', 'Slapen gaat beter; thuis nog onrust.');
  await zc.selectOption('#eval-outcome', 'adjust');
  await zc.fill('#eval-next', day(28));
  await zc.click('button:has-text("Evaluatie vastleggen")');
  check(zc.url().endsWith('/bijstellen'), 'coordinator: bijstellen opens the adjusting page');
  check((await text(zc)).includes('Stel het plan hieronder bij'), 'coordinator: told what to do');
  await shot(zc, '58-plan-bijstellen');
  const adjustUrl = zc.url();
  const stale = await zc.context().newPage();
  await stale.goto(adjustUrl);
  await zc.selectOption('#nieuwe-actie-wie', 'vo-1');
  await zc.fill('#nieuwe-actie-wat', 'Gesprek met de ouders over het slapen');
  await zc.fill('#nieuwe-actie-doel', 'Sam is weer elke dag op school');
  await zc.fill('#nieuwe-actie-klaar', day(10));
  await zc.click('button:has-text("Actie toevoegen")');
  check((await text(zc)).includes('De actie is toegevoegd'), 'coordinator: action added');
  await zc.fill('#doel-1-streef', day(70));
  await zc.click('button:has-text("Doel wijzigen")');
  check((await text(zc)).includes('Het doel is gewijzigd'), 'coordinator: goal changed');
  // The other tab still shows the old version: its form has no effect.
  await stale.fill('#doel-1-tekst', 'Dit mag niet meer landen');
  await stale.click('button:has-text("Doel wijzigen")');
  check((await text(stale)).includes('Dit is intussen gewijzigd; hieronder ziet u de nieuwe stand'), 'a stale form is refused in Dutch');
  check((await stale.inputValue('#doel-1-tekst')) === 'Sam is weer elke dag op school', 'the stale form changed nothing');
  await stale.close();
  await zc.click('a:has-text("Terug naar het plan")');
  const changed = await text(zc);
  check((await zc.textContent('#acties')).includes('Gesprek met de ouders over het slapen'), 'coordinator: the new action in the plan');
  const [y, m, d] = day(70).split('-');
  check((await zc.textContent('#doelen')).includes(`Streefdatum: ${d}-${m}-${y}`), 'coordinator: the new target date, dd-mm-jjjj');
  check(changed.includes('doel gewijzigd') && changed.includes('geëvalueerd op'), 'coordinator: the changes on the timeline, in Dutch');
  check(!/\d{4}-\d{2}-\d{2}/.test(changed), 'no ISO dates on the plan page');
  check(!/Bereikt op|adjust|requested|in_progress/.test(changed), 'no English or old words on the plan page');
  await shot(zc, 'plan-bijgesteld');

  // 5c. The nurse's node receives the new version.
  current = nurse;
  await until(nurse, viewUrl, async (_, p) => (await p.textContent('#acties')).includes('Gesprek met de ouders over het slapen'), 'JGZ: the adjusted plan arrived');
  check((await text(nurse)).includes(`${d}-${m}-${y}`), 'JGZ: the new target date');

  // 6. The guardian sees the plan around her child on the portal.
  current = parent;
  await parent.goto(childUrl);
  await parent.click('a:has-text("Het plan rond uw kind")');
  const plan = await text(parent);
  check(plan.includes('Slaaponderzoek door de jeugdarts') && plan.includes('in uitvoering'), 'guardian: the plan and how it stands');
  await shot(parent, '57-ouders-plan');
  verdict();
  console.log('all care checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  if (current) {
    console.error(`at ${current.url()}: ${(await current.textContent('body').catch(() => '')).trim().slice(0, 800)}`);
    await current.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
