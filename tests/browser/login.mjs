// Drives headless Chromium through the gateway's login, its refusals and
// logout, against the provider the test started. Exit code is the verdict.
// Env: GATEWAY_URL, SHOTS_DIR, OSO_FILE (an OSO dossier), OSO_BAD (a file
// that is not one), CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { audit, verdict } from './axe.mjs';

const base = process.env.GATEWAY_URL;
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });
const check = (cond, what) => { if (!cond) throw new Error(`failed: ${what}`); console.log(`ok: ${what}`); };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const context = await browser.newContext();
await context.route(/googleapis|gstatic/, (r) => r.abort());
const page = await context.newPage();
try {

  async function signIn(user) {
    await page.goto(base + '/');
    await page.click('a.knop');
    await page.fill('input[name="login"]', user);
    await page.fill('input[name="password"]', 'test');
    await page.click('button[type="submit"]');
    // The provider may ask to confirm what the gateway gets.
    for (let i = 0; i < 3 && !page.url().startsWith(base); i++) {
      await page.waitForLoadState();
      if (page.url().startsWith(base)) break;
      const button = page.locator('button[type="submit"]');
      if (await button.count()) await button.first().click();
    }
    await page.waitForURL((u) => u.toString().startsWith(base));
  }

  // 1. Not signed in: the way in.
  const first = await page.goto(base + '/');
  check(first.status() === 200, 'start page answers');
  check((await page.getAttribute('html', 'lang')) === 'nl', 'the page is Dutch (lang=nl)');
  check(await page.isVisible('text=Inloggen'), 'a sign-in link');
  const headers = first.headers();
  check((headers['content-security-policy'] || '').includes("frame-ancestors 'none'"), 'CSP forbids framing');
  check(headers['cache-control'] === 'no-store', 'pages are not cached');
  await page.screenshot({ path: `${shots}/01-inloggen.png`, fullPage: true });
  await audit(page, '01-inloggen');

  // 2. Sign in as the primary school's IB.
  await signIn('ib-1');
  check(await page.isVisible('h1:has-text("Welkom")'), 'signed in: the start page');
  const body = await page.textContent('main');
  check(body.includes('U bent ingelogd bij PO 1 als Sanne de Vries'), 'names the staff member and the school by name');
  check(!body.includes('ib-1') && !body.includes('po-1'), 'no staff id or party id on the start page');
  check(body.includes('intern begeleider'), 'shows the role in Dutch');
  // The imported OSO file states the inzage: the dossier is ready to send.
  const count = async (row) => (await page.textContent(`tr:has-text("${row}") td`)).trim();
  check(await count('Klaar om te versturen') === '1', 'wat wacht op mij: the dossier ready to send');
  check(await count('Dossiers samen te stellen') === '0', 'and nothing else');
  // The plan the IB coordinates: the overdue action and the evaluation due,
  // each linked to the plan's page (the same items the e-mails are about).
  check(await count('Acties over de datum') === '1', 'wat wacht op mij: an action past its date');
  check(await count('Evaluaties van een plan te houden') === '1', 'wat wacht op mij: an evaluation due');
  const planLink = await page.getAttribute('tr:has-text("Acties over de datum") a', 'href');
  check(planLink === '/plannen?acties=verlopen', 'linked to the list of actions past their date');
  check(!page.url().includes('ib-1'), 'no personal data in the URL');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'carenet_session');
  check(session && session.httpOnly && session.sameSite === 'Lax', 'session cookie is HttpOnly and SameSite=Lax');
  check(!session.value.includes('ib-1'), 'the session cookie is encrypted');
  await page.screenshot({ path: `${shots}/02-start.png`, fullPage: true });
  await audit(page, '02-start');
  await page.goto(base + planLink);
  check(await page.locator('#acties tr[data-item]').count() === 1, 'the list holds the one action counted');
  const planHref = await page.getAttribute('#acties tr[data-item] a', 'href');
  check(/^\/plannen\/[^/]+$/.test(planHref), 'each action links to its plan by its id');
  const opened = await page.goto(base + planHref);
  check(opened.status() === 200, 'the listed plan opens');
  await page.goto(base + '/');

  // 2b. The IB imports OSO files and follows the progress.
  await page.goto(base + '/dossiers/importeren');
  await page.setInputFiles('#oso-0', process.env.OSO_FILE);
  await page.click('button:has-text("Inlezen")');
  check((await page.textContent('main')).includes('het leerlingnummer'), 'a file without its pupil reference: the error names the field, in Dutch');
  check((await page.getAttribute('#child_ref-0', 'aria-invalid')) === 'true' && (await page.textContent('main')).includes('Kies de bestanden opnieuw'), 'the same form, its row marked, saying to choose the files again');
  await page.screenshot({ path: `${shots}/06a-inlezen-geweigerd.png`, fullPage: true });
  await audit(page, '06a-inlezen-geweigerd');
  await page.goto(base + '/dossiers/importeren');
  await page.setInputFiles('#oso-0', process.env.OSO_FILE);
  await page.fill('#child_ref-0', 'pupil-2');
  await page.setInputFiles('#oso-1', process.env.OSO_BAD);
  await page.fill('#child_ref-1', 'pupil-3');
  await page.click('button:has-text("Inlezen")');
  check(/\/dossiers\/importeren\/[0-9a-f]{32}$/.test(page.url()), 'the import has its own page, named by a random id');
  // The page streams each outcome as it is known and ends with the summary.
  await page.locator('#klaar').waitFor({ timeout: 60000 });
  check((await page.textContent('#klaar')).includes('Klaar: 1 ingelezen, 1 niet ingelezen'), 'the summary when all files are done');
  const outcomes = await page.$$eval('#resultaat li', (items) => items.map((li) => li.textContent));
  check(outcomes.length === 2 && outcomes[0].includes(': ingelezen') && outcomes[1].includes('niet ingelezen: het bestand is geen leesbare XML (regel 1)'), 'each file has its outcome, in Dutch');
  const again = await page.reload();
  check(again.status() === 200 && (await page.$$('#resultaat li')).length === 2, 'the finished job reads the same again');
  await page.screenshot({ path: `${shots}/06-inlezen.png`, fullPage: true });
  await audit(page, '06-inlezen');
  await page.click('#resultaat a');
  check(/\/dossiers\/[0-9a-f-]{36}$/.test(page.url()), 'the imported dossier opens');
  await page.goto(base + '/');

  // 3. A form post without this session's token is refused.
  const forged = await page.request.post(base + '/uitloggen', { form: { csrf: 'not-the-token' } });
  check(forged.status() === 403, 'a form without the CSRF token gets 403');
  check(await page.isVisible('h1:has-text("Welkom")'), 'and the session stays');

  // 4. Sign out, here and at the provider. Someone who copied the session
  // cookie is in while it lasts, and out once it ends.
  const copied = (await context.cookies()).find((c) => c.name === 'carenet_session');
  const stolen = async () => {
    const thief = await browser.newContext();
    await thief.addCookies([copied]);
    const other = await thief.newPage();
    await other.goto(base + '/');
    const inside = await other.isVisible('h1:has-text("Welkom")');
    await thief.close();
    return inside;
  };
  check(await stolen(), 'a copied cookie works while the session lasts');
  await Promise.all([
    page.waitForURL((u) => !u.toString().startsWith(base)),
    page.click('button:has-text("Uitloggen")'),
  ]);
  await page.waitForLoadState();
  const confirm = page.locator('button[name="logout"][value="yes"], button:has-text("Yes")');
  await confirm.first().click();
  await page.waitForURL((u) => u.toString().startsWith(base));
  await page.goto(base + '/');
  check(await page.isVisible('text=Inloggen'), 'signed out: the way in again');
  check(!(await stolen()), 'a copied cookie is refused after logout');
  await page.screenshot({ path: `${shots}/03-uitgelogd.png`, fullPage: true });
  await audit(page, '03-uitgelogd');

  // 5. A mentor sees no overview of the school's dossiers.
  await signIn('mentor-2');
  const mentorStart = await page.textContent('main');
  check(!mentorStart.includes('Dossiers samen te stellen') && mentorStart.includes('Dossiers van nieuwe leerlingen te lezen'), "a mentor: no school overview, their own pupils");
  check(mentorStart.includes('als Joost van Dam'), 'a login without `name`: given and family name');
  await page.screenshot({ path: `${shots}/05-mentor.png`, fullPage: true });
  await audit(page, '05-mentor');
  await context.clearCookies();

  // 6. Staff of another school cannot use this school's gateway.
  await signIn('zc-9');
  check(await page.isVisible('h1:has-text("Geen toegang")'), 'another school\'s staff: Geen toegang');
  await page.screenshot({ path: `${shots}/04-geen-toegang.png`, fullPage: true });
  await audit(page, '04-geen-toegang');
  verdict();
  console.log('all browser checks passed');
} catch (e) {
  console.error(e.stack || String(e));
  console.error(`at ${page.url()}: ${(await page.textContent('body').catch(() => '')).trim().slice(0, 500)}`);
  await page.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
