// A guardian of a 17-year-old in a real browser, on a phone: the portal
// shows that the pupil decides now, and none of the pupil's own consents
// (one given alone to a youth-care party), no "who saw what", no dossier to
// read or give a view on, no plan; each of those addresses is refused.
// Exit code is the verdict; screenshots go to SHOTS_DIR.
// Env: VO_URL, SHOTS_DIR, CODE (an invitation for the pupil's guardian),
// DOSSIER_ID (the pupil's VO→vervolg dossier, before the guardians), CHROMIUM.
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
  const parent = current = await (await browser.newContext(phone)).newPage();
  await signIn(parent, vo, '/ouders', 'ouder-1');
  await parent.fill('#code', process.env.CODE);
  await parent.click('button:has-text("Koppelen")');
  check((await text(parent)).includes('Uw kind is gekoppeld'), 'guardian: child linked');
  const csrf = await parent.getAttribute('input[name="csrf"]', 'value');
  await parent.click('ul.kaarten a');
  const childUrl = parent.url();
  const page = await text(parent);
  check(page.includes('16 jaar of ouder en beslist nu zelf'), 'guardian: the pupil decides now');
  check(!page.includes('eerdere zorg en hulp') && !page.includes('Uw toestemmingen') && !page.includes('Intrekken'), "guardian: none of the pupil's own consents");
  check(!page.includes('Wie heeft wat') && !page.includes('Overdrachtsdossier') && !page.includes('Plan van aanpak'), 'guardian: no disclosures, dossier or plan offered');
  await shot(parent, '70-ouder-leerling-beslist');
  const seen = await parent.goto(childUrl + '/gezien');
  check(seen.status() === 403, 'guardian: who saw what is 403');
  await shot(parent, '71-gezien-geweigerd');
  const plan = await parent.goto(childUrl + '/plan');
  check(plan.status() === 403 || plan.status() === 404, 'guardian: no plan');
  const dossier = await parent.goto(`${vo}/ouders/dossier/${process.env.DOSSIER_ID}`);
  check(dossier.status() === 403, 'guardian: the VO→vervolg dossier is 403');
  const inzage = await parent.request.post(`${vo}/ouders/dossier/${process.env.DOSSIER_ID}/zienswijze`, {
    form: { csrf, zienswijze: 'Akkoord', akkoord: 'ja' },
    headers: { origin: vo },
  });
  check(inzage.status() === 403, 'guardian: no inzage on it (403)');
  verdict();
  console.log('all portal age checks passed');
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
