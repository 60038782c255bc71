// `carenet demo`'s web UI in a real browser: the demo sign-in, the IB's
// season view at De Linde, and the guardian's consent request on the parent
// portal. Env: DEMO_URL (the `gateway:` line), SHOTS_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { audit, verdict } from './axe.mjs';

const base = process.env.DEMO_URL.replace(/\/$/, '');
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });
const check = (cond, what) => { if (!cond) throw new Error(`failed: ${what}`); console.log(`ok: ${what}`); };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const page = await (await browser.newContext()).newPage();
try {
  await page.goto(base + '/');
  check(await page.isVisible('text=DEMO: geen echte gegevens'), 'every page says DEMO');
  await page.click('a.knop');
  await page.screenshot({ path: `${shots}/01-demo-inloggen.png`, fullPage: true });
  await audit(page, '01-demo-inloggen');
  await page.click('button:has-text("Intern begeleider")');
  check(await page.isVisible('h1:has-text("Welkom")'), 'signed in as the IB by picking a person');
  check((await page.textContent('main')).includes('U bent ingelogd bij Basisschool De Linde als Sanne de Vries'), 'the demo names the school and the person, never their ids');
  check((await page.textContent('#verzoeken')).includes('Dossier gevraagd door Scholengemeenschap De Brug'), "the IB's work list: a second school's request, by name");
  await page.goto(base + '/dossiers');
  const season = await page.textContent('main');
  check(season.includes('gelezen door mentor') && season.includes('ter inzage bij ouders'), 'the seeded season');
  await page.screenshot({ path: `${shots}/02-demo-seizoen.png`, fullPage: true });
  await audit(page, '02-demo-seizoen');
  await page.goto(base + '/ouders/inloggen');
  await page.click('button:has-text("Ouder van Noor Jansen")');
  const end = Date.now() + 60_000;
  for (;;) {
    await page.goto(base + '/ouders/kind/1');
    if ((await page.textContent('main')).includes('De school vraagt uw toestemming') &&
        (await page.isVisible('button:has-text("Ik geef toestemming")'))) break;
    if (Date.now() > end) throw new Error('the demo guardian has no consent request');
    await page.waitForTimeout(500);
  }
  console.log('ok: the demo guardian sees a consent request');
  await page.screenshot({ path: `${shots}/03-demo-ouder.png`, fullPage: true });
  await audit(page, '03-demo-ouder');
  // The seeded ZAT case as its chair sees it, and the JGZ's side of it.
  const vo = process.env.DEMO_VO_URL.replace(/\/$/, '');
  await page.goto(vo + '/');
  await page.click('a.knop');
  await page.click('button:has-text("Zorgcoördinator")');
  await page.goto(vo + '/zat');
  const zat = await page.textContent('main');
  check(zat.includes('Lotte Visser'), 'the chair: the seeded ZAT case');
  check(!zat.includes('LN-LOTTE') && !zat.includes('LN-MILA'), 'the chair: no second referral of Lotte; Mila (in-school support) is not for the ZAT');
  await page.screenshot({ path: `${shots}/04-demo-zat.png`, fullPage: true });
  await audit(page, '04-demo-zat');
  await page.click('a:has-text("Lotte Visser")');
  await page.screenshot({ path: `${shots}/05-demo-zat-casus.png`, fullPage: true });
  await audit(page, '05-demo-zat-casus');
  await page.goto(vo + '/plannen');
  await page.click('a:has-text("Lotte Visser")');
  const planPage = await page.textContent('main');
  check(planPage.includes('Ingrid Bakker') && !planPage.includes('zc-1'), 'the chair: the case coordinator by name');
  const plan = await page.textContent('#acties');
  check(['in uitvoering', 'aangenomen', 'gevraagd'].every((s) => plan.includes(s)), 'the chair: actions of four parties in several states');
  await page.screenshot({ path: `${shots}/06-demo-plan.png`, fullPage: true });
  await audit(page, '06-demo-plan');
  const jgz = process.env.DEMO_JGZ_URL.replace(/\/$/, '');
  await page.goto(jgz + '/');
  await page.click('a.knop');
  await page.click('button:has-text("Medewerker in het ZAT")');
  await page.goto(jgz + '/plannen');
  await page.click('a:has-text("Lotte Visser")');
  const view = await page.textContent('main');
  check(view.includes('Slaaponderzoek') && !view.includes('Drie gesprekken met het gezin'), "the JGZ: its own action, not school social work's");
  await page.screenshot({ path: `${shots}/07-demo-jgz.png`, fullPage: true });
  await audit(page, '07-demo-jgz');
  // The follow-up institution (mbo) and the SWV have their own gateways,
  // each with its own people on the sign-in page.
  const others = [
    [process.env.DEMO_MBO_URL, 'mbo', ['Intakecoördinator (zorgcoördinator mbo): Karin Smit', 'Studieloopbaanbegeleider (SLB): Youssef Bennani', 'Docent: Wendy Vermeulen']],
    [process.env.DEMO_SWV_URL, 'swv', ['Trajectbegeleider: Anouk Peters', 'Medewerker samenwerkingsverband: Gert van Leeuwen']],
  ];
  let n = 8;
  for (const [url, name, people] of others) {
    const at = url.replace(/\/$/, '');
    await page.goto(at + '/inloggen');
    const offered = (await page.locator('main button').allTextContents()).map((t) => t.trim());
    check(JSON.stringify(offered) === JSON.stringify(people), `the ${name} sign-in offers its own people: ${offered.join(', ')}`);
    await page.screenshot({ path: `${shots}/${String(n).padStart(2, '0')}-demo-${name}-inloggen.png`, fullPage: true });
    await audit(page, `${String(n).padStart(2, '0')}-demo-${name}-inloggen`);
    n += 1;
    await page.click(`button:has-text("${people[0]}")`);
    check(await page.isVisible('h1:has-text("Welkom")'), `signed in at the ${name} as ${people[0]}`);
    await page.screenshot({ path: `${shots}/${String(n).padStart(2, '0')}-demo-${name}-start.png`, fullPage: true });
    await audit(page, `${String(n).padStart(2, '0')}-demo-${name}-start`);
    n += 1;
    if (name === 'mbo') {
      // A student's dossier from De Brug waits for the intakecoördinator,
      // who opens and reads it in full.
      await page.goto(at + '/dossiers');
      check((await page.textContent('main')).includes('ontvangen, toe te wijzen'), 'the mbo: a dossier waits to be assigned');
      await page.click('main td a');
      check((await page.locator('h2[id^="kop-"]').count()) > 1, 'the mbo: the received dossier reads section by section');
      const slbs = await page.$$eval('#mentoren option', (os) => os.map((o) => o.value));
      check(JSON.stringify(slbs) === JSON.stringify(['Youssef Bennani (studieloopbaanbegeleider)']), 'the mbo: the SLB is picked by name from the staff directory');
      await page.screenshot({ path: `${shots}/09a-demo-mbo-ontvangen.png`, fullPage: true });
      await audit(page, '09a-demo-mbo-ontvangen');
    }
  }
  verdict();
  console.log('all demo checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  console.error(`at ${page.url()}: ${(await page.textContent('body').catch(() => '')).trim().slice(0, 500)}`);
  await page.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
