// A school ends a guardian's link in real browsers: the IB invites a
// guardian by name, the guardian links the child on a phone, the IB
// withdraws a second, mislaid invitation, sees the link (the name the login
// gave, since and until when) and revokes it with a reason; at the guardian's
// next request the child's pages are gone and the portal says why. Exit code
// is the verdict; screenshots go to SHOTS_DIR.
// Env: PO_URL, SHOTS_DIR, CHILD (po-1's pupil with a consent request), BORN
// (its birth date), CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, phone, shooter, signIn, text } from './common.mjs';

const po = process.env.PO_URL;
const shots = process.env.SHOTS_DIR;
const child = process.env.CHILD;
const born = process.env.BORN;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
async function person(options = {}) {
  const context = await browser.newContext(options);
  return context.newPage();
}
const shot = shooter(shots);

async function invite(ib, name) {
  await ib.goto(po + '/ouderportaal');
  await ib.fill('#nodig-leerling', child);
  await ib.fill('#nodig-naam', name);
  await ib.fill('#nodig-geboortedatum', born);
  await ib.click('button:has-text("Code maken")');
  return (await ib.textContent('#uitnodigingscode')).trim();
}

let current;
try {
  // 1. The IB invites the father by name; the page says for whom.
  const ib = current = await person();
  await signIn(ib, po, '/', 'ib-1');
  check((await text(ib)).includes('Koppelingen ouderportaal te verlengen'), 'IB: the yearly review waits on the start page');
  await ib.click('a:has-text("Koppelingen ouderportaal te verlengen")');
  await shot(ib, '60-ouderportaal');
  const code = await invite(ib, 'J. de Vries');
  check(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/.test(code), 'IB: a code');
  check((await text(ib)).includes('Uitnodiging voor J. de Vries'), 'IB: the invitation names the guardian');
  check(!ib.url().includes(child), 'no pupil reference in the URL');
  await shot(ib, '61-uitnodiging');
  // A second letter is mislaid: the IB withdraws it before use.
  const mislaid = await invite(ib, 'A. de Vries');
  await ib.click('#uitnodigingen tr:has-text("A. de Vries") button:has-text("Uitnodiging intrekken")');
  check((await text(ib)).includes('De uitnodiging is ingetrokken'), 'IB: the mislaid invitation withdrawn');
  check(!(await ib.textContent('#uitnodigingen')).includes('A. de Vries'), 'IB: no longer open');

  // 2. The father links the child on his phone; the finder of the letter cannot.
  const father = current = await person(phone);
  await signIn(father, po, '/ouders', 'ouder-1');
  await father.fill('#code', code);
  await father.click('button:has-text("Koppelen")');
  check((await text(father)).includes('Uw kind is gekoppeld'), 'guardian: child linked');
  await father.click('ul.kaarten a');
  const childUrl = father.url();
  check((await text(father)).includes('De school vraagt uw toestemming'), "guardian: the child's page");
  const finder = current = await person(phone);
  await signIn(finder, po, '/ouders', 'ouder-2');
  await finder.fill('#code', mislaid);
  await finder.click('button:has-text("Koppelen")');
  check((await text(finder)).includes('Deze code kennen we niet') && !(await text(finder)).includes('Uw kind is gekoppeld'), 'a withdrawn code links no one, said in Dutch');
  check((await finder.getAttribute('#code', 'aria-invalid')) === 'true' && (await finder.inputValue('#code')) === mislaid, 'the code field is marked and keeps what was typed');
  await shot(finder, '61a-code-onbekend');

  // 3. The IB sees the link and revokes it, with a reason.
  current = ib;
  await ib.goto(po + '/ouderportaal');
  await ib.fill('#zoek-leerling', child);
  await ib.click('button:has-text("Opzoeken")');
  const row = await ib.textContent('#koppelingen');
  check(row.includes('J. de Vries') && row.includes('actief'), 'IB: the link, the login\'s name, active');
  await shot(ib, '62-koppelingen');
  await ib.fill('#koppelingen textarea[name="reden"]', 'Volgens de rechtbank heeft u geen gezag over dit kind.');
  await ib.click('button:has-text("Koppeling beëindigen")');
  check((await text(ib)).includes('De koppeling is beëindigd'), 'IB: link revoked');
  check((await ib.textContent('#koppelingen')).includes('beëindigd: Volgens de rechtbank'), 'IB: the link ended, with its reason');
  await shot(ib, '63-beeindigd');

  // 4. The father's next request: signed out of the child, and told why.
  current = father;
  await father.goto(childUrl);
  const home = await text(father);
  check(!father.url().includes('/kind/'), 'guardian: no longer on the child\'s page');
  check(home.includes('De koppeling met dit kind is beëindigd'), 'guardian: the link ended');
  check(home.includes('Reden: Volgens de rechtbank heeft u geen gezag over dit kind.'), 'guardian: and why');
  check((await father.$$('ul.kaarten a')).length === 0, 'guardian: the child is no longer listed');
  await shot(father, '64-ouder-koppeling-beeindigd');
  const seen = await father.goto(childUrl + '/gezien');
  check(!father.url().includes('/gezien') && seen.status() === 200, "guardian: who-saw-what is gone too");
  verdict();
  console.log('all portal link checks passed');
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
