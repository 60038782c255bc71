// The whole region in a real browser: a guardian, the primary school's IB,
// the secondary school's care coordinator and mentor, each in their own
// browser, through the gateways of po-1 and vo-1, signing in at a real
// OpenID Connect provider. Exit code is the verdict; screenshots of each
// page go to SHOTS_DIR.
// Env: PO_URL, VO_URL, SHOTS_DIR, DOSSIER_ID (po-1's draft dossier of
// pupil-1), OTHER_CODE (an invitation for another pupil), REQUESTED_ID
// (po-1's ready dossier of another pupil, which a second secondary school,
// REQUESTER_NAME, asked for), ATTACHMENT_B64 (the groepsplan.txt attachment
// of pupil-1's dossier, as OSO carries it), CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, signIn, text, until } from './common.mjs';

const po = process.env.PO_URL;
const vo = process.env.VO_URL;
const shots = process.env.SHOTS_DIR;
const dossierId = process.env.DOSSIER_ID;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const pages = [];
async function person(options = {}) {
  const context = await browser.newContext({ locale: 'nl-NL', ...options });
  const page = await context.newPage();
  pages.push(page);
  return page;
}
const shot = shooter(shots);

let current;
try {
  // 1. The IB asks consent, invites the guardian, puts the dossier before them.
  const ib = current = await person();
  await signIn(ib, po, '/', 'ib-1');
  await ib.goto(po + '/toestemming');
  await shot(ib, '10-toestemming');
  await ib.fill('#vraag-leerling', 'pupil-1');
  await ib.fill('#geboortedatum', '2014-05-01');
  await ib.selectOption('#doel', 'transfer_dossier');
  await ib.selectOption('#ontvanger', ['vo-1']);
  for (const box of await ib.$$('input[name="categories"]')) await box.check();
  await ib.click('button:has-text("Toestemming vragen")');
  check((await text(ib)).includes('Het verzoek om toestemming staat klaar'), 'IB: consent asked');
  check(!ib.url().includes('pupil-1'), 'no pupil reference in the URL');
  await shot(ib, '11-toestemming-gevraagd');
  await ib.goto(po + '/ouderportaal');
  await ib.fill('#nodig-leerling', 'pupil-1');
  await ib.fill('#nodig-naam', 'J. de Vries');
  await ib.fill('#nodig-geboortedatum', '2014-05-01');
  await ib.click('button:has-text("Code maken")');
  const code = (await ib.textContent('#uitnodigingscode')).trim();
  check(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(code), 'IB: a one-time code for the guardian');
  await shot(ib, '12-uitnodiging');
  await ib.goto(`${po}/dossiers/${dossierId}`);
  await ib.fill('#extra-what_works', 'Korte instructie, daarna zelf aan de slag.');
  await ib.click('button:has-text("Opslaan")');
  check((await text(ib)).includes('Opgeslagen.'), "IB: the handbook's extras composed");
  await ib.click('button:has-text("Voorleggen aan ouders")');
  check((await ib.textContent('#status')).includes('ter inzage bij ouders'), 'IB: dossier before the guardians');
  await shot(ib, '13-dossier-ter-inzage');

  // 2. The guardian, on a phone: links the child, grants, reads, gives a view.
  const parent = current = await person(phone);
  await parent.goto(po + '/ouders');
  await shot(parent, '20-ouders-inloggen');
  await signIn(parent, po, '/ouders', 'ouder-1');
  check((await text(parent)).includes('Welkom, J. de Vries'), 'guardian: signed in');
  // By keyboard: the first Tab reaches "Naar de inhoud"; Enter sends the code.
  await parent.keyboard.press('Tab');
  check((await parent.evaluate(() => document.activeElement.textContent)) === 'Naar de inhoud', 'keyboard: the first Tab skips to the content');
  await parent.focus('#code');
  await parent.keyboard.type(code.toLowerCase().replace(/-/g, ' '));
  await Promise.all([parent.waitForNavigation(), parent.keyboard.press('Enter')]);
  check((await text(parent)).includes('Uw kind is gekoppeld'), 'guardian: child linked with the code');
  await shot(parent, '21-ouders-start');
  await parent.click('ul.kaarten a');
  const childUrl = parent.url();
  const ask = await text(parent);
  check(ask.includes('Het overdrachtsdossier van uw kind naar de nieuwe school sturen'), 'guardian: the purpose in plain words');
  check(ask.includes('VO 1'), 'guardian: the recipient by name');
  await shot(parent, '22-toestemmingsvraag');
  await parent.click('button:has-text("Ik geef toestemming")');
  check((await text(parent)).includes('U heeft toestemming gegeven'), 'guardian: consent granted');
  check(parent.url().startsWith(childUrl), "guardian: back on the child's page after answering");
  check(/Uw antwoord: toestemming gegeven op \d\d-\d\d-\d{4}/.test(await text(parent)), 'guardian: the answer and its date said back');
  await parent.goto(childUrl);
  await parent.click('a:has-text("Overdrachtsdossier")');
  check((await text(parent)).includes('Het overdrachtsdossier van'), 'guardian: reads the dossier');
  await shot(parent, '23-dossier-inzien');
  // Inzage of what leaves: every category, the extras and the attachments,
  // for this version, with the hash the answer is bound to.
  const whole = await text(parent);
  for (const heading of ['Toetsresultaten', 'Verzuim', 'Schoolloopbaan', 'Onderwijsondersteuning', 'Bijlagen', 'Wat werkt']) {
    check((await parent.$(`main h2:has-text("${heading}")`)) !== null, `guardian: the dossier's part "${heading}" is on the page`);
  }
  check(whole.includes('Korte instructie, daarna zelf aan de slag.'), "guardian: the IB's 'wat werkt' that leaves");
  check(/Versie 1\. Kenmerk van deze inhoud: [0-9a-f]{8} [0-9a-f]{8}/.test(whole), 'guardian: the version and its content hash');
  const inhoud = await parent.inputValue('input[name="inhoud"]');
  check(/^[0-9a-f]{64}$/.test(inhoud), 'guardian: the answer carries the content hash');
  fs.writeFileSync(`${shots}/inzage-hash.txt`, inhoud);
  const link = parent.locator('#bijlagen a', { hasText: 'groepsplan.txt' });
  const href = await link.getAttribute('href');
  const download = await parent.request.get(new URL(href, po).toString());
  check(download.status() === 200, 'guardian: the attachment downloads');
  check(download.headers()['content-type'] === 'application/zip', "guardian: with its content type (OSO's ZIP)");
  check(/^attachment; filename="groepsplan\.txt\.zip"/.test(download.headers()['content-disposition'] || ''), 'guardian: as an attachment, never inline');
  check(download.headers()['x-content-type-options'] === 'nosniff', 'guardian: never sniffed');
  check(Buffer.compare(await download.body(), Buffer.from(process.env.ATTACHMENT_B64, 'base64')) === 0, 'guardian: the attachment byte for byte');
  await parent.locator('#bijlagen').scrollIntoViewIfNeeded();
  await shot(parent, '23a-dossier-bijlagen');
  await parent.fill('#zienswijze', 'Wij herkennen ons in het advies.');
  await parent.check('input[name="akkoord"][value="ja"]');
  check((await parent.textContent('#uitleg-versturen')).includes('niet naar de nieuwe school'), 'guardian: what "Versturen naar school" does, in plain words');
  await parent.click('button:has-text("Versturen naar school")');
  check((await text(parent)).includes('Uw reactie is vastgelegd'), 'guardian: view given, akkoord');
  check(parent.url().startsWith(childUrl), "guardian: back on the child's page after the answer");
  const answered = await parent.textContent('#dossiers');
  check(/U heeft het gelezen op \d\d-\d\d-\d{4}\. Uw antwoord: akkoord\./.test(answered), 'guardian: what they answered on the dossier, said back');
  check(!answered.includes('klaargezet'), 'guardian: no school jargon for the state');
  await shot(parent, '23b-antwoord-terug');

  // 3. The IB publishes it to vo-1 under the guardian's consent.
  current = ib;
  await ib.goto(`${po}/dossiers/${dossierId}`);
  check((await ib.textContent('#status')).includes('klaargezet'), 'IB: ready after the inzage');
  check((await text(ib)).includes('Wij herkennen ons in het advies.'), "IB: sees the guardians' view");
  // The IB records the school the pupil enrolled at, by its name.
  check((await ib.textContent('#bestemming')).includes('Nog niet vastgelegd'), 'IB: no destination recorded yet');
  await ib.selectOption('#school', { label: 'VO 1' });
  await ib.click('button:has-text("School vastleggen")');
  check((await ib.textContent('#bestemming')).includes('De leerling gaat naar VO 1'), 'IB: the destination recorded by name');
  check(!(await ib.textContent('#bestemming')).includes('vo-1'), 'IB: the school by name, not its id');
  // The form proposes the school the guardians consented to and that
  // consent, with what the guardians answered beside the button.
  check(await ib.inputValue('#recipient') === 'vo-1', 'IB: the consented school is proposed');
  check(await ib.inputValue('#consent_record') !== '', "IB: the guardians' consent is proposed");
  check((await ib.textContent('#ouders-antwoord')).includes('akkoord met de inhoud'), "IB: the guardians' akkoord beside the publish button");
  await ib.locator('#ouders-antwoord').scrollIntoViewIfNeeded();
  await shot(ib, '14a-versturen-voorstel');
  await ib.click('button:has-text("Versturen")');
  check((await ib.textContent('#status')).includes('verstuurd'), 'IB: published');
  await shot(ib, '14-verstuurd');

  // 3b. A second school's request waits for the IB's confirmation: it is on
  // the IB's work list by the school's name; confirming releases it.
  const requester = process.env.REQUESTER_NAME;
  await ib.goto(po + '/');
  const asked = await ib.textContent('#verzoeken');
  check(asked.includes(`Dossier gevraagd door ${requester}`), "IB: the request on the work list, by the school's name");
  check(!asked.includes('vo-2'), 'IB: the school by name, not its id');
  await shot(ib, '27-verzoek-wacht');
  await ib.click(`#verzoeken button:has-text("Bevestigen: de leerling gaat naar ${requester}")`);
  check(ib.url().endsWith(`/dossiers/${process.env.REQUESTED_ID}`), 'IB: on the requested dossier after confirming');
  check((await text(ib)).includes(`Bevestigd: het dossier is verstuurd naar ${requester}.`), 'IB: confirmed and released');
  check((await ib.textContent('#bestemming')).includes(`De leerling gaat naar ${requester}`), 'IB: the confirmed school is the destination');
  check((await ib.textContent('#status')).includes('verstuurd'), 'IB: the requested dossier went out');
  await shot(ib, '28-verzoek-bevestigd');
  await ib.goto(po + '/');
  check((await ib.$('#verzoeken')) === null, 'IB: nothing left on the work list');

  // 4. The VO care coordinator finds it and assigns it to the mentor.
  const zc = current = await person();
  await signIn(zc, vo, '/', 'zc-9');
  await until(zc, vo + '/dossiers', async (_r, p) => (await text(p)).includes('ontvangen, toe te wijzen'), 'VO: the dossier arrived');
  await shot(zc, '30-seizoen-vo');
  await zc.click('td a');
  const receivedUrl = zc.url();
  // The whole received dossier, section by section, with its attachments
  // and the OSO export.
  const received = await text(zc);
  for (const heading of ['Toetsresultaten', 'Verzuim', 'Schoolloopbaan', 'Wat werkt', 'Alle bijlagen']) {
    check(received.includes(heading), `VO: the received dossier shows ${heading}`);
  }
  check(await zc.isVisible('button:has-text("Exporteren als OSO-bestand")'), 'VO: the OSO export is offered');
  await shot(zc, '35-ontvangen-dossier');
  // A typo is refused: the field named, what was typed kept, nobody assigned.
  await zc.fill('#leerlingnummer', 'vo-pupil-1');
  await zc.fill('#mentor-id', 'mentor1');
  await zc.click('button:has-text("Toewijzen")');
  const refusal = await zc.textContent('#fout-toewijzen');
  check(refusal.includes('Kies een medewerker uit de lijst bij "mentor"') && refusal.includes('mentor1 is niet bekend'), 'VO: a mentor not in the staff directory is refused, the field named');
  check((await zc.getAttribute('#mentor-id', 'aria-invalid')) === 'true', 'VO: the field is marked');
  check((await zc.inputValue('#mentor-id')) === 'mentor1' && (await zc.inputValue('#leerlingnummer')) === 'vo-pupil-1', 'VO: what was typed is kept');
  check((await zc.textContent('#mentor')).includes('nog niet toegewezen'), 'VO: nobody assigned');
  await shot(zc, '31a-toewijzen-onbekend');
  // Picked by name from the directory: the field offers "Naam (rol)".
  const offered = await zc.$$eval('#mentoren option', (os) => os.map((o) => o.value));
  check(offered.includes('Mark de Wit (mentor)') && !offered.some((o) => o.includes('mentor-7')), 'VO: the mentor field offers people by name and role');
  check(!offered.some((o) => o.includes('Ingrid Bakker')), 'VO: only mentors for the mentor field');
  await zc.fill('#mentor-id', 'Mark de Wit (mentor)');
  await zc.fill('#docent-1', 'Fatima Yilmaz (docent)');
  await zc.click('button:has-text("Toewijzen")');
  check((await zc.textContent('#mentor')).includes('Mark de Wit'), 'VO: assigned to the mentor picked by name');
  check((await zc.textContent('#docenten-toegewezen')).includes('Fatima Yilmaz'), 'VO: and the teacher, by name');
  check(!(await text(zc)).includes('mentor-7'), 'VO: no staff id on the page');
  await shot(zc, '31-toewijzen');

  // 5. The mentor reads the classroom digest.
  const mentor = current = await person();
  await signIn(mentor, vo, '/', 'mentor-7');
  check(/Dossiers van nieuwe leerlingen te lezen\s*1/.test(await mentor.textContent('#wacht')), 'mentor: one new pupil waits to be read');
  await mentor.goto(vo + '/mijn-leerlingen');
  const mine = await text(mentor);
  await shot(mentor, '40-mijn-leerlingen');
  await mentor.click('main td a');
  const digestUrl = mentor.url();
  check(!(await text(mentor)).includes('Korte instructie'), 'mentor: opening the digest is a button, not a link');
  await mentor.click('button:has-text("Samenvatting openen")');
  check(mentor.url() === digestUrl, 'mentor: back on the digest page after opening (post/redirect/get)');
  check((await text(mentor)).includes('Samenvatting voor de klas'), 'mentor: reads the digest');
  check(mine.includes((await mentor.textContent('h1')).split(': ')[1]), "mentor: the list names the pupil");
  check((await text(mentor)).includes('Korte instructie, daarna zelf aan de slag.'), "mentor: the IB's 'wat werkt' reached the class");
  await shot(mentor, '41-samenvatting');
  check((await text(mentor)).includes('Lezen en rekenen'), 'mentor: the digest holds the reading and arithmetic levels');
  await mentor.click('a:has-text("Het hele dossier lezen")');
  check((await text(mentor)).includes('Toetsresultaten'), 'mentor: the assigned mentor reads the whole dossier');
  check(!(await mentor.isVisible('button:has-text("Toewijzen")')), 'mentor: no assigning for the mentor');
  await mentor.goto(digestUrl);
  const season = await mentor.goto(vo + '/dossiers');
  check(season.status() === 403, 'mentor: no season view of the school (403)');
  // Consent per pupil: the mentor looks up the consents of the pupil
  // assigned to them, not those of another pupil.
  await mentor.goto(vo + '/toestemming');
  await mentor.fill('#zoek-leerling', 'vo-pupil-1');
  await mentor.click('button:has-text("Opzoeken")');
  check((await text(mentor)).includes('Toestemmingen van leerling vo-pupil-1'), "mentor: their own pupil's consents");
  await mentor.goto(vo + '/toestemming');
  await mentor.fill('#zoek-leerling', 'vo-pupil-2');
  const [notTheirs] = await Promise.all([
    mentor.waitForResponse((r) => r.url().endsWith('/toestemming/leerling')),
    mentor.click('button:has-text("Opzoeken")'),
  ]);
  check(notTheirs.status() === 403 && (await text(mentor)).includes('Geen toegang'), "mentor: another pupil's consents are 403");

  // 6. The primary school sees "gelezen door mentor".
  current = ib;
  await until(ib, `${po}/dossiers/${dossierId}`, async (_r, p) => (await text(p)).includes('gelezen door mentor'), 'PO: gelezen door mentor');
  await shot(ib, '15-gelezen-door-mentor');
  await ib.goto(po + '/dossiers');
  check((await ib.$$('.balk')).length > 0, 'PO: the season chart');
  await shot(ib, '16-seizoen-po');

  // 6b. The IB plans the warm handover with vo-1, records it and shares it.
  await ib.goto(`${po}/dossiers/${dossierId}`);
  await ib.fill('#planned_on', '2027-06-15');
  await ib.selectOption('#warm-party', 'vo-1');
  await ib.selectOption('#warm-role', 'care_coordinator');
  await ib.click('button:has-text("Gesprek plannen")');
  const planned = await text(ib);
  check(planned.includes('Het gesprek is gepland') && planned.includes('Talenten, positieve kwaliteiten en interesses'), "IB: warm handover planned with the handbook's agenda");
  check(planned.includes('zorgcoördinator, VO 1') && planned.includes('de ouders'), 'IB: who takes part');
  await shot(ib, '17-warme-overdracht-gepland');
  await ib.fill('#held_on', '2027-06-15');
  await ib.fill('#note-4', 'Tekent graag; trots op zijn spreekbeurt.');
  await ib.fill('#minutes', 'Gesprek met ouders en zorgcoördinator; de overstap is goed voorbereid.');
  await ib.fill('#agreements', 'Mentor belt ouders in week 2\nNazorggesprek in oktober');
  await ib.fill('#aftercare', 'De IB is bereikbaar tot de herfstvakantie.');
  await ib.click('button:has-text("Verslag vastleggen")');
  check((await text(ib)).includes('Het verslag is vastgelegd') && (await ib.textContent('#status')).includes('gehouden'), 'IB: the conversation recorded');
  await ib.click('button:has-text("Verslag delen")');
  check((await text(ib)).includes('Het verslag is gedeeld met de andere school'), 'IB: the record shared under the consent');
  await shot(ib, '18-warme-overdracht-verslag');
  await ib.reload();
  check(!(await text(ib)).includes('Het verslag is gedeeld'), 'a notice shows once (a reload sends nothing again)');
  // A teacher of the school without a relation with the pupil may read the
  // record: the page offers them no consent to share under, and is no 403.
  const warmUrl = ib.url();
  check(warmUrl.includes('/warme-overdracht/'), 'IB: on the warm-handover page');
  const teacher = current = await person();
  await signIn(teacher, po, '/', 'mentor-2');
  const warm = await teacher.goto(warmUrl);
  check(warm.status() === 200 && (await text(teacher)).includes('Nazorggesprek in oktober'), 'a mentor without a relation reads the warm-handover record');
  check(!(await text(teacher)).includes('Delen met de andere school'), 'and is offered no sharing under a consent');
  current = ib;
  current = zc;
  await until(zc, receivedUrl, async (_r, p) => (await text(p)).includes('Nazorggesprek in oktober'), 'VO: the shared warm-handover record arrived');
  check((await text(zc)).includes('Tekent graag; trots op zijn spreekbeurt.'), "VO: the notes per agenda item");
  await shot(zc, '33-warme-overdracht-ontvangen');

  // 6b'. Before any consent for feedback, the mentor's feedback is refused:
  // the same page comes back (422) with the text typed, saying in Dutch what
  // to do and linking to where that is done.
  current = mentor;
  await mentor.goto(digestUrl);
  const typed = 'Zit goed in zijn vel; vraagt zelf om hulp bij wiskunde.';
  await mentor.fill('#fb-tekst', typed);
  const [refusedFeedback] = await Promise.all([
    mentor.waitForResponse((r) => r.url().endsWith('/terugkoppeling')),
    mentor.click('button:has-text("Terugkoppeling versturen")'),
  ]);
  await mentor.waitForSelector('#fout-samenvatting');
  check(refusedFeedback.status() === 422, `mentor: feedback without consent refused with 422 (${refusedFeedback.status()})`);
  check(await mentor.inputValue('#fb-tekst') === typed, 'mentor: the feedback typed is still there');
  const summary = await mentor.textContent('#fout-samenvatting');
  check(summary.includes('Vraag eerst toestemming aan de ouders voor terugkoppeling aan de school van herkomst'), 'mentor: told in Dutch to ask the guardians first');
  check(await mentor.getAttribute('#fout-samenvatting a[href^="/toestemming"]', 'href') === '/toestemming?doel=feedback_to_sender#vragen', 'mentor: linked to asking that consent');
  check(!(await mentor.content()).includes('consent_record'), 'mentor: no field name of the slice on the page');
  await shot(mentor, '41-terugkoppeling-geweigerd');
  current = zc;

  // 6c. vo-1 records the guardians' consent for feedback, given at school;
  // the mentor tells po-1 how the pupil is doing; the IB reads it. A birth
  // date in the future comes back on the same page with the field marked
  // and everything typed kept; corrected, the request goes through.
  await zc.goto(vo + '/toestemming?doel=feedback_to_sender');
  check(await zc.inputValue('#doel') === 'feedback_to_sender', 'VO: the link chooses the purpose');
  await zc.fill('#vraag-leerling', 'vo-pupil-1');
  await zc.fill('#geboortedatum', '2040-05-01');
  await zc.selectOption('#ontvanger', ['po-1']);
  for (const box of await zc.$$('input[name="categories"]')) await box.check();
  const [refusedAsk] = await Promise.all([
    zc.waitForResponse((r) => r.url().endsWith('/toestemming/aanvragen')),
    zc.click('button:has-text("Toestemming vragen")'),
  ]);
  await zc.waitForSelector('#fout-samenvatting');
  check(refusedAsk.status() === 400, `VO: a birth date in the future refused with 400 (${refusedAsk.status()})`);
  check(await zc.getAttribute('#geboortedatum', 'aria-invalid') === 'true', 'VO: the birth date is marked');
  check(await zc.getAttribute('#geboortedatum', 'aria-describedby') === 'geboortedatum-fout', 'VO: and linked to its message');
  check((await zc.textContent('#geboortedatum-fout')).includes('Controleer de geboortedatum'), 'VO: the message says it in Dutch');
  check(await zc.getAttribute('#fout-samenvatting a', 'href') === '#geboortedatum', 'VO: the summary leads to the field');
  check(await zc.inputValue('#vraag-leerling') === 'vo-pupil-1' && await zc.inputValue('#doel') === 'feedback_to_sender', 'VO: pupil and purpose kept');
  check(await zc.inputValue('#geboortedatum') === '2040-05-01', 'VO: the date typed kept');
  check((await zc.$$('input[name="categories"]:checked')).length === (await zc.$$('input[name="categories"]')).length, 'VO: the categories ticked kept');
  check(JSON.stringify(await zc.$eval('#ontvanger', (s) => [...s.selectedOptions].map((o) => o.value))) === '["po-1"]', 'VO: the recipient chosen kept');
  await shot(zc, '34a-toestemming-geweigerd');
  await zc.fill('#geboortedatum', '2014-05-01');
  await zc.click('button:has-text("Toestemming vragen")');
  await zc.fill('input[name="grantor_name"]', 'J. de Vries');
  await zc.click('button:has-text("Toestemming vastleggen")');
  check((await text(zc)).includes('De toestemming is vastgelegd'), 'VO: consent for feedback recorded from a conversation at school');
  await shot(zc, '34-toestemming-vastgelegd');
  current = mentor;
  await mentor.goto(digestUrl);
  await mentor.fill('#fb-tekst', 'Goed gestart in de brugklas; vraagt zelf om hulp.');
  await mentor.click('button:has-text("Terugkoppeling versturen")');
  check((await text(mentor)).includes('De terugkoppeling is verstuurd') && (await text(mentor)).includes('Verstuurd op'), 'mentor: feedback sent to the primary school');
  await shot(mentor, '42-terugkoppeling');
  current = ib;
  await until(ib, `${po}/dossiers/${dossierId}`, async (_r, p) => (await text(p)).includes('Goed gestart in de brugklas'), 'PO: the feedback arrived');
  await shot(ib, '19-terugkoppeling-ontvangen');

  // 7. The guardian withdraws; the VO school loses access.
  current = parent;
  await parent.goto(childUrl);
  await parent.click('a:has-text("Toestemming intrekken")');
  const consequences = await text(parent);
  check(consequences.includes('Toestemming intrekken?') && consequences.includes('De nieuwe school kan het overdrachtsdossier dan niet meer lezen'), 'guardian: asked first, with what follows in plain words');
  await shot(parent, '24a-intrekken-bevestigen');
  await parent.click('button:has-text("Ja, toestemming intrekken")');
  check((await text(parent)).includes('U heeft uw toestemming ingetrokken'), 'guardian: consent withdrawn');
  check(parent.url().startsWith(childUrl), "guardian: back on the child's page after withdrawing");
  await until(parent, childUrl, async (_r, p) => (await p.textContent('#dossiers')).includes('ingetrokken op'), 'guardian: the dossier says it was withdrawn, and when');
  await shot(parent, '24-ingetrokken');
  await parent.goto(childUrl);
  await parent.click('a:has-text("Wie heeft wat")');
  const seen = await text(parent);
  check(seen.includes('gegevens verstuurd') && seen.includes('toestemming ingetrokken'), 'guardian: who saw what');
  check(seen.includes('dossier gelezen door de nieuwe school') && seen.includes('samenvatting gelezen door de mentor'), 'guardian: the receiving school read it');
  await shot(parent, '25-wie-heeft-wat');
  current = zc;
  await until(zc, receivedUrl, async (r, p) => r.status() === 200 && (await text(p)).includes('ingetrokken op'), 'VO: the dossier says it was withdrawn, and when');
  check(!(await text(zc)).includes('Niet gevonden'), 'VO: no "not found"');
  await shot(zc, '32-ingetrokken-bij-vo');
  current = mentor;
  await mentor.goto(vo + '/mijn-leerlingen');
  const mineAfter = await text(mentor);
  check(mineAfter.includes('ingetrokken op') && !mineAfter.includes('(zonder naam)'), "mentor: the list says withdrawn, and when");
  await shot(mentor, '43-mijn-leerlingen-ingetrokken');
  const gone = await mentor.goto(digestUrl);
  check(gone.status() === 200 && (await text(mentor)).includes('ingetrokken op'), 'mentor: the digest link opens a page that says it was withdrawn');
  current = ib;
  await until(ib, `${po}/dossiers/${dossierId}`, async (_r, p) => (await text(p)).includes('ingetrokken op'), 'PO: the sending school sees the withdrawal');
  check(!(await ib.textContent('#verstuurd')).includes('gelezen door mentor'), 'PO: not "gelezen door mentor" after the withdrawal');
  await shot(ib, '19a-ingetrokken-bij-po');

  // 7b. The guardian refuses a new request on the portal: staff cannot
  // overrule that by typing; the IB records the guardians' signed form.
  current = ib;
  await ib.goto(po + '/toestemming');
  await ib.fill('#vraag-leerling', 'pupil-1');
  await ib.fill('#geboortedatum', '2014-05-01');
  await ib.selectOption('#doel', 'share_with_partner');
  await ib.selectOption('#ontvanger', ['vo-1']);
  await ib.check('input[name="categories"][value="pupil"]');
  await ib.click('button:has-text("Toestemming vragen")');
  check((await text(ib)).includes('Het verzoek om toestemming staat klaar'), 'IB: a second consent asked');
  current = parent;
  await parent.goto(childUrl);
  await parent.click('button:has-text("Ik geef geen toestemming")');
  check((await text(parent)).includes('U heeft geen toestemming gegeven'), 'guardian: refused on the portal');
  current = ib;
  await ib.goto(po + '/toestemming');
  await ib.fill('#zoek-leerling', 'pupil-1');
  await ib.click('button:has-text("Opzoeken")');
  check((await text(ib)).includes('De ouders weigerden in het ouderportaal'), 'IB: the portal refusal is named, no conversation form for it');
  // Who saw what: people by name and Dutch role, parties by name, no ids.
  const seenBy = await ib.textContent('main');
  check(seenBy.includes('Sanne de Vries (intern begeleider)') && seenBy.includes('VO 1'), 'IB: who saw what names people and schools');
  check(!seenBy.includes('ib-1') && !seenBy.includes('[support_coordinator_po]') && !seenBy.includes('vo-1'), 'IB: no staff id, role code or party id');
  await shot(ib, '1a-geweigerd-in-portaal');
  await ib.fill('form[enctype="multipart/form-data"] input[name="grantor_name"]', 'J. de Vries');
  await ib.setInputFiles('input[name="formulier"]', { name: 'formulier.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 ondertekend') });
  await ib.click('button:has-text("Toestemming vastleggen met formulier")');
  check((await text(ib)).includes('De toestemming is vastgelegd met het ondertekende formulier'), "IB: the guardians' signed form recorded");

  // 8. Refusals.
  const other = current = await person(phone);
  await signIn(other, po, '/ouders', 'ouder-2');
  await other.fill('#code', process.env.OTHER_CODE);
  await other.click('button:has-text("Koppelen")');
  check((await text(other)).includes('Uw kind is gekoppeld'), 'another guardian: their own child linked');
  const foreign = await other.goto(`${po}/ouders/dossier/${dossierId}`);
  check(foreign.status() === 403 && (await text(other)).includes('Geen toegang'), "another guardian: pupil-1's dossier is 403");
  await shot(other, '26-ander-kind');
  const reuse = await other.request.post(po + '/ouders/koppelen', { form: { code } });
  check(reuse.status() === 403, 'a form post without the CSRF token: 403');
  const forged = await ib.request.post(`${po}/dossiers/${dossierId}/voorleggen`, { form: { csrf: 'forged' } });
  check(forged.status() === 403, 'staff form with a wrong CSRF token: 403');
  const elsewhere = await zc.goto(`${vo}/dossiers/${dossierId}`);
  check(elsewhere.status() === 404, "VO staff opening po-1's dossier: not found on their node");
  const anon = await (await person()).goto(`${po}/dossiers/${dossierId}`);
  check(anon.status() === 401, 'not signed in: 401');
  verdict();
  console.log('all scenario checks passed');
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
