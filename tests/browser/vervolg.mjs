// The route from secondary school to follow-up education (handbook 7.3) in
// real browsers, through the gateways of vo-1 and mbo-1, signing in at a
// real OpenID Connect provider: the VO care coordinator asks the pupil's
// consent and invites the pupil (17) themself to the portal; the pupil
// consents on a phone; the VO school sends the dossier; the mbo's
// intakecoördinator reads and assigns it; the studieloopbaanbegeleider
// opens the digest (the VO school sees "gelezen door begeleider"), holds the
// warm handover with the handbook's 7.3 agenda and sends feedback, which
// the VO school reads. Exit code is the verdict; screenshots go to SHOTS_DIR.
// Env: VO_URL, MBO_URL, SHOTS_DIR, DOSSIER_ID (vo-1's ready VO→vervolg
// dossier of CHILD), CHILD, BORN (the pupil's birth date), CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, signIn, text, until } from './common.mjs';

const vo = process.env.VO_URL;
const mbo = process.env.MBO_URL;
const shots = process.env.SHOTS_DIR;
const dossierId = process.env.DOSSIER_ID;
const child = process.env.CHILD;
const born = process.env.BORN;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
async function person(options = {}) {
  return (await browser.newContext(options)).newPage();
}
const shot = shooter(shots);
const menu = async (page) => (await page.locator('nav[aria-label="Hoofdmenu"] a').allTextContents()).map((t) => t.trim());

let current;
try {
  // 1. The VO care coordinator asks the pupil's consent for the transfer to
  // the mbo and invites the pupil themself to the portal.
  const zc = current = await person();
  await signIn(zc, vo, '/', 'zc-9');
  await zc.goto(vo + '/toestemming');
  await zc.fill('#vraag-leerling', child);
  await zc.fill('#geboortedatum', born);
  await zc.selectOption('#doel', 'transfer_dossier');
  await zc.selectOption('#ontvanger', ['mbo-1']);
  for (const box of await zc.$$('input[name="categories"]')) await box.check();
  await zc.click('button:has-text("Toestemming vragen")');
  check((await text(zc)).includes('Het verzoek om toestemming staat klaar'), 'VO: consent for the mbo asked');
  await zc.goto(vo + '/ouderportaal');
  await zc.fill('#nodig-leerling', child);
  await zc.check('input[name="voor"][value="leerling"]');
  await zc.fill('#nodig-naam', 'Sem de Boer');
  await zc.fill('#nodig-geboortedatum', born);
  await shot(zc, '50-uitnodiging-leerling-zelf');
  await zc.click('button:has-text("Code maken")');
  const code = (await zc.textContent('#uitnodigingscode')).trim();
  check(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(code), 'VO: a one-time code for the pupil themself');
  await shot(zc, '51-code-leerling');

  // 2. The pupil (17), on a phone, signs in through the same login as
  // guardians, links with the code and gives the consent themself.
  const pupil = current = await person(phone);
  await signIn(pupil, vo, '/ouders', 'leerling-1');
  await pupil.fill('#code', code);
  await pupil.click('button:has-text("Koppelen")');
  const home = await text(pupil);
  check(home.includes('Je bent gekoppeld aan je eigen gegevens'), 'pupil: linked to their own page');
  check(!home.includes('Uw kinderen'), 'pupil: no list of children');
  await shot(pupil, '52-leerling-start');
  await pupil.click('a:has-text("Mijn gegevens")');
  const own = await text(pupil);
  check(own.includes('De school vraagt je toestemming'), 'pupil: addressed as the one who decides');
  check(own.includes('Je overdrachtsdossier naar je nieuwe school of opleiding sturen') && own.includes('MBO 1'), 'pupil: the purpose and the mbo by name');
  check(own.includes('je naam, geboortedatum en adres') && !own.includes('uw kind'), 'pupil: what is shared, said to them');
  check(!own.includes('geef je reactie'), 'pupil: no answer asked about the dossier (the school recorded its inzage)');
  await shot(pupil, '53-leerling-toestemmingsvraag');
  await pupil.click('button:has-text("Ik geef toestemming")');
  check((await text(pupil)).includes('Je hebt toestemming gegeven'), 'pupil: consent given on the portal, said to them as "je"');
  check(/\/ouders\/kind\/\d+\?m=gegeven$/.test(pupil.url()), 'pupil: back on their own page after answering');
  check((await text(pupil)).includes('Jouw toestemmingen') && (await text(pupil)).includes('gegeven'), 'pupil: their consent, given');
  await shot(pupil, '54-leerling-toestemming-gegeven');
  // From 16 the pupil reads their own dossier as it leaves.
  check((await pupil.locator('#dossiers a').allTextContents()).some((t) => t.includes('Je overdrachtsdossier')), 'pupil: their own dossier is listed');
  await pupil.click('#dossiers a');
  check(pupil.url().endsWith(`/ouders/dossier/${dossierId}`), 'pupil: the dossier page');
  const dossierText = await text(pupil);
  check(dossierText.includes('Je overdrachtsdossier') && !dossierText.includes('uw kind'), 'pupil: the dossier page says "je"');
  check((await pupil.locator('h2[id^="kop-"]').count()) > 1, 'pupil: every part of the dossier, section by section');
  check((await pupil.locator('#bijlagen a[download]').count()) > 0, 'pupil: the attachments to download');
  await shot(pupil, '54a-leerling-dossier');

  // 3. The VO school sends the dossier to the mbo under the pupil's consent.
  current = zc;
  await zc.goto(`${vo}/dossiers/${dossierId}`);
  check((await zc.textContent('#status')).includes('klaargezet'), 'VO: the dossier is ready');
  await zc.selectOption('#recipient', 'mbo-1');
  await zc.selectOption('#consent_record', { index: 1 });
  await zc.click('button:has-text("Versturen")');
  check((await zc.textContent('#status')).includes('verstuurd'), 'VO: sent to the mbo');
  await shot(zc, '55-vo-verstuurd');

  // 4. The mbo's intakecoördinator: the dossier arrived; reads and assigns it
  // to the studieloopbaanbegeleider. The menu offers only their pages.
  const intake = current = await person();
  await signIn(intake, mbo, '/', 'intake-4');
  const intakeMenu = await menu(intake);
  check(intakeMenu.includes('Dossiers') && intakeMenu.includes('Toestemming'), `intake: the overview and consent in the menu (${intakeMenu.join(', ')})`);
  check(!intakeMenu.includes('IZO') && !intakeMenu.includes('ZAT') && !intakeMenu.includes('Mijn leerlingen'), 'intake: no IZO, ZAT or digest pages in the menu');
  await shot(intake, '56-mbo-intake-start');
  await until(intake, mbo + '/dossiers', async (_r, p) => (await text(p)).includes('ontvangen, toe te wijzen'), 'mbo: the dossier arrived');
  await shot(intake, '57-mbo-seizoen');
  await intake.click('td a');
  const receivedUrl = intake.url();
  check((await text(intake)).includes('VO 1'), 'intake: reads the received dossier, from VO 1');
  await intake.fill('#leerlingnummer', 'mbo-student-1');
  await intake.fill('#mentor-id', 'Youssef Bennani (studieloopbaanbegeleider)');
  await intake.click('button:has-text("Toewijzen")');
  check((await intake.textContent('#mentor')).includes('Youssef Bennani'), 'intake: assigned to the studieloopbaanbegeleider, picked by name');
  check((await text(intake)).includes('Gelezen door de studieloopbaanbegeleider') && !(await text(intake)).includes('Gelezen door de mentor'), 'intake: the mbo says studieloopbaanbegeleider, not mentor');
  await shot(intake, '58-mbo-toegewezen');

  // 5. The studieloopbaanbegeleider opens the digest.
  const slb = current = await person();
  await signIn(slb, mbo, '/', 'slb-5');
  const slbMenu = await menu(slb);
  check(slbMenu.includes('Mijn leerlingen') && !slbMenu.includes('IZO') && !slbMenu.includes('ZAT'), `SLB: their pupils in the menu, no IZO or ZAT (${slbMenu.join(', ')})`);
  check(/Dossiers van nieuwe leerlingen te lezen\s*1/.test(await slb.textContent('#wacht')), 'SLB: one new student waits to be read');
  await shot(slb, '59-slb-start');
  await slb.goto(mbo + '/mijn-leerlingen');
  await slb.click('main td a');
  const digestUrl = slb.url();
  await slb.click('button:has-text("Samenvatting openen")');
  check((await text(slb)).includes('Samenvatting voor de klas'), 'SLB: reads the digest');
  await shot(slb, '60-slb-samenvatting');
  // What the digest does not hold, the SLB reads in the whole dossier.
  await slb.click('a:has-text("Het hele dossier lezen")');
  check(slb.url().startsWith(receivedUrl) && (await slb.locator('h2[id^="kop-"]').count()) > 1, 'SLB: reads the whole received dossier, section by section');
  await shot(slb, '60a-slb-hele-dossier');
  await slb.goto(digestUrl);

  // 6. The VO school sees it read, by the SLB.
  current = zc;
  await until(zc, `${vo}/dossiers/${dossierId}`, async (_r, p) => (await text(p)).includes('gelezen door begeleider'), 'VO: gelezen door begeleider');
  await shot(zc, '61-vo-gelezen-door-begeleider');

  // 7. The SLB plans and holds the warm handover with the VO school: the
  // handbook's 7.3 agenda, intake guidance, parents and aftercare included.
  current = slb;
  await slb.goto(digestUrl);
  await slb.fill('#planned_on', '2027-08-20');
  await slb.selectOption('#warm-role', 'care_coordinator');
  await slb.click('button:has-text("Gesprek plannen")');
  const planned = await text(slb);
  check(planned.includes('Het gesprek is gepland'), 'SLB: warm handover planned');
  for (const point of ['Aandachtspunten bij de instroom', 'Afstemming en samenwerking met de ouders', 'Afspraken over nazorg vanuit de school voor voortgezet onderwijs', 'Studiekeuze en loopbaanoriëntatie']) {
    check(planned.includes(point), `SLB: the 7.3 agenda has "${point}"`);
  }
  check(planned.includes('zorgcoördinator, VO 1') && planned.includes('studieloopbaanbegeleider Youssef Bennani') && !planned.includes('slb-5') && planned.includes('de ouders') && planned.includes('de leerling'), 'SLB: who takes part');
  await shot(slb, '62-slb-warme-overdracht-gepland');
  await slb.fill('#held_on', '2027-08-20');
  await slb.fill('#note-3', 'Eerste twee weken een vast aanspreekpunt; rooster vooraf doornemen.');
  await slb.fill('#note-5', 'Ouders willen na zes weken een gesprek.');
  await slb.fill('#note-6', 'De zorgcoördinator van VO 1 is bereikbaar tot de herfstvakantie.');
  await slb.fill('#minutes', 'Gesprek met leerling, ouders en zorgcoördinator; de start op het mbo is voorbereid.');
  await slb.fill('#agreements', 'SLB belt de leerling in week 1\nEvaluatie met ouders na zes weken');
  await slb.fill('#aftercare', 'VO 1 blijft tot de herfstvakantie aanspreekbaar voor nazorg.');
  await slb.click('button:has-text("Verslag vastleggen")');
  check((await text(slb)).includes('Het verslag is vastgelegd') && (await slb.textContent('#status')).includes('gehouden'), 'SLB: the conversation recorded');
  await shot(slb, '63-slb-warme-overdracht-verslag');
  await slb.click('a:has-text("Terug naar het dossier")');
  check(slb.url() === digestUrl, 'SLB: back to the digest from the conversation');

  // 8. The student's consent for feedback (the mbo's own, recorded by the
  // intakecoördinator from a conversation with the student); the SLB tells
  // the VO school how the student is doing.
  current = intake;
  await intake.goto(mbo + '/toestemming');
  await intake.fill('#vraag-leerling', 'mbo-student-1');
  await intake.fill('#geboortedatum', born);
  await intake.selectOption('#doel', 'feedback_to_sender');
  await intake.selectOption('#ontvanger', ['vo-1']);
  for (const box of await intake.$$('input[name="categories"]')) await box.check();
  await intake.click('button:has-text("Toestemming vragen")');
  await intake.locator('input[name="grantor_name"]').first().fill('Sem de Boer');
  await intake.locator('select[name="grantor_role"]').first().selectOption('pupil');
  await intake.click('button:has-text("Toestemming vastleggen")');
  check((await text(intake)).includes('De toestemming is vastgelegd'), "intake: the student's consent for feedback recorded");
  current = slb;
  await slb.goto(digestUrl);
  await slb.fill('#fb-tekst', 'Goed gestart op het mbo; stage gevonden.');
  await slb.click('button:has-text("Terugkoppeling versturen")');
  check((await text(slb)).includes('De terugkoppeling is verstuurd'), 'SLB: feedback sent to the VO school');
  await shot(slb, '64-slb-terugkoppeling');
  current = zc;
  await until(zc, `${vo}/dossiers/${dossierId}`, async (_r, p) => (await text(p)).includes('Goed gestart op het mbo'), 'VO: the feedback arrived');
  await shot(zc, '65-vo-terugkoppeling-ontvangen');
  current = intake;
  check((await intake.goto(receivedUrl)).status() === 200, 'intake: the received dossier stays readable');
  verdict();
  console.log('all vervolg checks passed');
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
