// E-mail notifications in real browsers: the care coordinator's start page
// lists what waits (linked) with the choice of how to be told, and chooses
// the daily overview; the guardian's portal home on a phone lists what
// waits for them, each item opening its page. Exit code is the verdict;
// screenshots go to SHOTS_DIR.
// Env: VO_URL, SHOTS_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, signIn, text } from './common.mjs';

const vo = process.env.VO_URL;
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const shot = shooter(shots);
let current;
try {
  // 1. The care coordinator: what waits, and how to be told.
  const zc = current = await (await browser.newContext()).newPage();
  await signIn(zc, vo, '/', 'zc-9');
  const count = async (row) => (await zc.textContent(`#wacht tr:has-text("${row}") td`)).trim();
  check(await count('Acties over de datum') === '1', 'start: an action past its date');
  check(await count('Evaluaties van een plan te houden') === '1', 'start: an evaluation due');
  check(await zc.isChecked('input[name="wijze"][value="per_bericht"]'), 'start: a mail per item, by default');
  await shot(zc, '70-start-wat-wacht-op-mij');
  await zc.check('input[name="wijze"][value="dagelijks"]');
  await zc.click('#meldingen button[type="submit"]');
  check((await text(zc)).includes('Uw keuze voor berichten per e-mail is opgeslagen.'), 'start: the choice is saved');
  check(await zc.isChecked('input[name="wijze"][value="dagelijks"]'), 'start: the daily overview chosen');
  const href = await zc.getAttribute('#wacht tr:has-text("Acties over de datum") a', 'href');
  const plan = await zc.goto(vo + href);
  check(plan.status() === 200, 'start: the listed plan opens');

  // 2. The guardian on a phone: what waits for them, each item opening.
  const parent = current = await (await browser.newContext(phone)).newPage();
  await signIn(parent, vo, '/ouders', 'ouder-1');
  const items = await parent.$$eval('#wacht a', (links) => links.map((a) => [a.textContent.trim(), a.getAttribute('href')]));
  const labels = items.map(([label]) => label);
  for (const label of ['Er wordt om uw toestemming gevraagd', 'Overdrachtsdossier om te lezen', 'Het plan van aanpak is gewijzigd']) {
    check(labels.includes(label), `portal: ${label}`);
  }
  await shot(parent, '71-ouder-wat-wacht-op-u');
  for (const [label, link] of items) {
    const answer = await parent.goto(vo + link);
    check(answer.status() === 200 && !parent.url().endsWith('/ouders'), `portal: "${label}" opens its page`);
  }
  verdict();
  console.log('all notification page checks passed');
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
