// The SWV's support requests in real browsers against `carenet demo`
// (issue 21): Noor's guardian gives the zienswijze on De Linde's parent
// portal; the IB submits the TLV request; at the SWV's own gateway the
// loket names the trajectbegeleider, who plans and records the MDO and the
// two expert advices (a first advice by a social worker is refused, naming
// the rule, until an orthopedagogue's replaces it); the loket decides; the
// decision with its reasons reaches the IB and the guardian. The loket's
// region overview shows its charts beside their tables, and a figure
// downloads as CSV. Every page is photographed and checked with axe.
// Het Baken's zorgcoördinator starts a request from Lotte's ZAT case, with
// the history its IZO minutes, meetings and plan hold.
// Env: DEMO_URL (De Linde), DEMO_VO_URL (Het Baken), DEMO_SWV_URL, SHOTS_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, text, until } from './common.mjs';

const linde = process.env.DEMO_URL.replace(/\/$/, '');
const swv = process.env.DEMO_SWV_URL.replace(/\/$/, '');
const baken = process.env.DEMO_VO_URL.replace(/\/$/, '');
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });
const shot = shooter(shots);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

// A demo person signs in at `base` by picking themself.
async function demoPerson(base, label, options = {}) {
  const page = await (await browser.newContext(options)).newPage();
  await page.goto(base + '/');
  await page.click('a.knop');
  await page.click(`button:has-text("${label}")`);
  return page;
}

// Opens Noor's request from the list at `base`.
async function noorsRequest(page, base) {
  await until(page, base + '/ondersteuning', async (_r, p) => (await p.locator('a:has-text("Noor Jansen")').count()) > 0, `${base}: Noor's request is listed`);
  await page.click('a:has-text("Noor Jansen")');
  return page.url();
}

const view = 'Wij merken thuis hoe moe Noor is na school. Wij steunen de aanvraag voor het SBO.';
let current;
try {
  // 1. The guardian gives the zienswijze on the portal, on a phone.
  const guardian = current = await (await browser.newContext(phone)).newPage();
  await guardian.goto(linde + '/ouders/inloggen');
  await guardian.click('button:has-text("Ouder van Noor Jansen")');
  await until(guardian, linde + '/ouders/kind/1', async (_r, p) => (await p.locator('#ondersteuning a').count()) > 0, 'guardian: the child page lists the support request');
  check((await text(guardian)).includes('Aanvragen bij het samenwerkingsverband'), 'guardian: the section is named in plain Dutch');
  await guardian.click('#ondersteuning a');
  check((await text(guardian)).includes('uw zienswijze is welkom'), "guardian: the draft asks for the guardian's view");
  await shot(guardian, 'steun-01-ouder-aanvraag');
  await guardian.fill('#zienswijze', view);
  await guardian.click('button:has-text("Zienswijze opslaan")');
  check((await text(guardian)).includes(view), 'guardian: the zienswijze is kept on the request');
  const portalRequest = guardian.url();

  // 2. The IB sees the view and submits.
  const ib = current = await demoPerson(linde, 'Intern begeleider');
  check(await ib.locator('nav a[href="/ondersteuning"]').count() === 1, 'IB: the menu offers "Ondersteuning SWV"');
  const ibRequest = await noorsRequest(ib, linde);
  check((await text(ib)).includes(view), "IB: the guardian's zienswijze is on the draft");
  await shot(ib, 'steun-02-ib-concept');
  await ib.click('button:has-text("Aanvraag indienen")');
  check((await text(ib)).includes('De aanvraag is ingediend bij het samenwerkingsverband.'), 'IB: submitted');

  // 3. The loket names the trajectbegeleider.
  const loket = current = await demoPerson(swv, 'Medewerker samenwerkingsverband');
  check(await loket.locator('nav a[href="/ondersteuning/overzicht"]').count() === 1, 'loket: the menu offers the region overview');
  const swvRequest = await noorsRequest(loket, swv);
  check((await text(loket)).includes('Basisschool De Linde') && (await text(loket)).includes(view), "loket: the school's request with the guardians' view");
  await shot(loket, 'steun-03-loket-aanvraag');
  await loket.fill('#trajectory_guide', 'Anouk Peters');
  await loket.click('button:has-text("Aanwijzen")');
  check((await text(loket)).includes('De trajectbegeleider is aangewezen.'), 'loket: the trajectbegeleider is named');

  // 4. The trajectbegeleider plans and records the MDO.
  const tb = current = await demoPerson(swv, 'Trajectbegeleider');
  await tb.goto(swvRequest);
  await tb.fill('#planned_on', day(3));
  await tb.fill('#participant-0-name', 'Sanne de Vries');
  await tb.fill('#participant-1-name', 'M. Jansen');
  await tb.click('button:has-text("MDO plannen")');
  check((await text(tb)).includes('Het MDO is gepland.'), 'trajectbegeleider: the MDO is planned');
  await shot(tb, 'steun-04-mdo-gepland');
  await tb.fill('#held_on', day(0));
  await tb.fill('#mdo_outcome', 'School, ouders en SWV zien dat Noor het SBO nodig heeft.');
  await tb.click('button:has-text("MDO vastleggen")');
  check((await text(tb)).includes('Het MDO is vastgelegd.'), 'trajectbegeleider: the MDO is recorded');

  // 5. Two advices: a social worker may not give the first.
  const advise = async (position, name, registration, qualification) => {
    await tb.selectOption('#position', position);
    await tb.fill('#advisor_name', name);
    await tb.fill('#advisor_registration', registration);
    await tb.selectOption('#qualification', qualification);
    await tb.fill('#employer_name', 'Eigen praktijk');
    await tb.fill('#document_ref', `advies-${registration}.pdf`);
    await tb.fill('#support_plan_test', 'Getoetst aan het ondersteuningsplan: de behoefte gaat boven de extra ondersteuning uit.');
    await tb.fill('#why_not_regular', 'Een arrangement in de basisschool gaf twee jaar onvoldoende resultaat.');
    await tb.fill('#written_on', day(-1));
    await tb.click('button:has-text("Advies vastleggen")');
    check((await text(tb)).includes('Het advies is vastgelegd.'), `trajectbegeleider: advice ${Number(position) + 1} by ${name} recorded`);
  };
  await advise('0', 'Joris van Dam', 'SKJ-55120', 'social_worker');
  await advise('1', 'Dr. Ahmed el Amrani', 'BIG-88812', 'child_psychiatrist');
  await tb.click('button:has-text("Adviezen afronden")');
  const refused = await text(tb);
  check(refused.includes('De eerste deskundige moet orthopedagoog of psycholoog zijn.'), 'the first advice by a social worker is refused, naming the rule');
  await shot(tb, 'steun-05-advies-geweigerd');
  await advise('0', 'Drs. Karin Mulder', 'NIP-10234', 'orthopedagogue');
  await tb.click('button:has-text("Adviezen afronden")');
  check((await text(tb)).includes('De adviezen zijn afgerond'), 'the advices hold');

  // 6. The loket decides, written and reasoned.
  await loket.goto(swvRequest);
  const reasons = 'Beide deskundigen stellen vast dat Noor de kleine groep en de structuur van het SBO nodig heeft.';
  await loket.fill('#reasons', reasons);
  await loket.fill('#starts_on', day(1));
  await loket.click('button:has-text("Besluit vastleggen")');
  check((await text(loket)).includes('Het besluit is vastgelegd'), 'loket: the decision is recorded');
  await shot(loket, 'steun-06-besluit');

  // 7. The decision reaches the school and the guardian.
  current = ib;
  await until(ib, ibRequest, async (_r, p) => (await text(p)).includes(reasons), 'IB: the decision with its reasons arrived');
  const atSchool = await text(ib);
  check(atSchool.includes('besluit genomen') && atSchool.includes('Anouk Peters') && atSchool.includes('toegekend'), 'IB: the state, the trajectbegeleider by name, the outcome');
  await shot(ib, 'steun-07-school-besluit');
  current = guardian;
  await until(guardian, portalRequest, async (_r, p) => (await text(p)).includes(reasons), 'guardian: the decision with its reasons arrived');
  const atHome = await text(guardian);
  check(atHome.includes('Anouk Peters') && atHome.includes('bezwaar'), 'guardian: the trajectbegeleider by name and the way to object');
  await shot(guardian, 'steun-08-ouder-besluit');

  // 8. The region's overview: charts beside their tables, and a CSV.
  current = loket;
  await loket.goto(swv + '/ondersteuning/overzicht');
  check(await loket.locator('svg[role="img"]').count() >= 4, 'overview: four charts');
  check(await loket.locator('figure table tbody tr').count() > 0, 'overview: the numbers in tables beside the charts');
  check((await text(loket)).includes('Basisschool De Linde'), 'overview: schools by name');
  await shot(loket, 'steun-09-overzicht');
  const href = await loket.locator('a:has-text("Download als CSV")').first().getAttribute('href');
  // Fetched by the page itself (the *.localhost names resolve in the browser).
  const [status, type, body] = await loket.evaluate(async (u) => {
    const r = await fetch(u);
    return [r.status, r.headers.get('content-type') || '', await r.text()];
  }, href);
  check(status === 200 && type.startsWith('text/csv'), 'overview: a figure downloads as CSV');
  check(body.replace(/^\uFEFF/, '').startsWith('Maand;Aangevraagd;Toegekend;Afgewezen'), 'overview: the CSV has the table with Dutch headers');
  // 9. A request starts from the ZAT case, with what the records hold.
  const zc = current = await demoPerson(baken, 'Zorgcoördinator');
  await zc.goto(baken + '/zat');
  await zc.click('a:has-text("Lotte Visser")');
  await zc.click('a:has-text("Ondersteuning aanvragen bij het samenwerkingsverband")');
  const form = await text(zc);
  check(form.includes('Overleg ZAT van') && form.includes('Doel uit het plan') && form.includes('Verslag interne zorg van'),
    "zorgcoördinator: the form offers the ZAT meeting, the plan's goal and the IZO minutes");
  await shot(zc, 'steun-10-nieuwe-aanvraag');
  await zc.selectOption('#kind', 'outreach_support');
  await zc.fill('#support_asked', 'Een gedragsspecialist begeleidt Lotte en haar mentor bij de terugkeer.');
  await zc.fill('#question', 'Hoe helpen we Lotte om weer elke dag te komen?');
  await zc.fill('#opp_text', 'Groeidocument: doelen verzuim en welbevinden, met de ouders besproken.');
  await zc.fill('#pupil_voice', 'Ik wil wel, maar de ochtend is moeilijk.');
  await zc.click('button:has-text("Opslaan als concept")');
  const saved = await text(zc);
  check(saved.includes('De aanvraag staat klaar als concept') && saved.includes('Overleg ZAT'), 'zorgcoördinator: the draft holds the chosen history');
  verdict();
  console.log('all support checks passed');
} catch (e) {
  if (current) await current.screenshot({ path: `${shots}/steun-fout.png`, fullPage: true }).catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
