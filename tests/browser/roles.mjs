// Each role its own menu and start page (issue 20, item 2), in one real
// browser against `carenet demo`: at every party of the demo region, every
// demo person (IB, leerkracht, zorgcoördinator and ZAT chair, mentor,
// docent, teamleider, the partners' ZAT members, the mbo's intake and SLB,
// the SWV's staff, the guardian) signs in by picking themself; every link
// of their menu and start page opens without 403, 404, "Geen toegang" or
// "Niet gevonden"; each start page is photographed and checked with axe.
// Each "wat wacht op mij" line links to a filtered list holding exactly
// the items it counts (rows marked `data-item`). A primary school's menu
// and headings say leerlingbespreking and knooppuntoverleg, never IZO or
// ZAT; a partner's (JGZ, SMW, leerplicht, SWV) holds no school pages and
// lists its own actions; a mentor's holds no coordinator pages.
// Env: DEMO_PARTIES (JSON [[party, url]...]), SHOTS_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { shooter, text } from './common.mjs';

const parties = JSON.parse(process.env.DEMO_PARTIES).map(([id, url]) => [id, url.replace(/\/$/, '')]);
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });
const shot = shooter(shots);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });

// Words a page a menu or start page leads to may not show.
const refused = ['Geen toegang', 'Niet gevonden'];
// What failed, all of it: one run names every broken link.
const problems = [];
const expect = (cond, what) => { if (cond) console.log(`ok: ${what}`); else { problems.push(what); console.log(`FAILED: ${what}`); } };

// The demo people of one party's sign-in page (staff or guardians).
async function people(base, path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + path);
  const labels = (await page.locator('form[action="/demo/inloggen"] button').allTextContents()).map((t) => t.trim());
  await context.close();
  return labels;
}

// Opens `href` (same site) and checks it is no refusal.
async function opens(page, base, href, who) {
  const response = await page.goto(base + href);
  const status = response ? response.status() : 0;
  const body = await text(page);
  const bad = refused.filter((w) => body.includes(w));
  expect(status !== 403 && status !== 404 && bad.length === 0, `${who}: ${href} opens (${status}${bad.length ? ', ' + bad.join(', ') : ''})`);
  // Menus and headings agree: a primary school's pages say its own words.
  if (/\/\/po-/.test(base)) {
    const heading = (await page.textContent('h1')) || '';
    expect(!/IZO|ZAT/.test(heading), `${who}: ${href} heads in a primary school's words (${heading.trim()})`);
  }
}

// The site's own links in `selector`, as paths.
async function links(page, base, selector) {
  const hrefs = await page.locator(`${selector} a[href]`).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return [...new Set(hrefs.filter((h) => h.startsWith('/') && !h.startsWith('//')).map((h) => h.replace(base, '')))];
}

let current;
const seen = [];
try {
  for (const [party, base] of parties) {
    for (const label of await people(base, '/inloggen')) {
      const context = await browser.newContext();
      const page = current = await context.newPage();
      const who = `${party} ${label}`;
      await page.goto(base + '/inloggen');
      await page.click(`form[action="/demo/inloggen"] button:text-is("${label}")`);
      await page.waitForURL(base + '/');
      const menu = await links(page, base, 'nav[aria-label="Hoofdmenu"]');
      const start = await links(page, base, 'main');
      // The "wat wacht op mij" lines: (link, count).
      const waiting = await page.locator('#wacht tr').evaluateAll((rows) =>
        rows.map((r) => [r.querySelector('a').getAttribute('href'), Number(r.querySelector('td').textContent.trim())]));
      // What this kind of party and role is (not) offered, in its own words.
      const menuText = (await page.locator('nav[aria-label="Hoofdmenu"] a').allTextContents()).map((t) => t.trim());
      const startText = await text(page);
      const waitingText = waiting.length ? await page.textContent('#wacht') : '';
      if (party.startsWith('po-')) {
        expect(!menuText.some((t) => /IZO|ZAT/.test(t)), `${who}: a primary school's menu in its own words (${menuText.join(', ')})`);
        expect(!startText.includes('Ontvangen dossiers toe te wijzen'), `${who}: no received dossiers to assign offered at a primary school`);
      }
      if (/^(jgz|smw|leerplicht|swv)-/.test(party)) {
        expect(!menu.includes('/dossiers') && !menu.includes('/izo') && !menu.includes('/zat'), `${who}: a partner's menu holds no school pages`);
        expect(!/dossiers? (samen|toe te wijzen)|Klaar om te versturen|Inzage door ouders/i.test(waitingText), `${who}: no school's dossier counts`);
        expect(waitingText.includes('Mijn acties in plannen') && waitingText.includes('Nieuwe of gewijzigde plannen'), `${who}: their own actions and the plans new or changed`);
      }
      if (label.startsWith('Mentor')) {
        expect(!menu.includes('/dossiers') && !menu.includes('/zat') && !menu.includes('/plannen'), `${who}: a mentor's menu holds no coordinator pages`);
        expect(waitingText.includes('Dossiers van nieuwe leerlingen te lezen'), `${who}: their new pupils' dossiers to read`);
        expect(waitingText.includes('Mijn acties in plannen') && menu.includes('/mijn-acties'), `${who}: their own actions in plans`);
      }
      const name = `rol-${party}-${label.replace(/[^A-Za-z]+/g, '-').replace(/-+$/, '').toLowerCase()}`;
      await shot(page, name);
      seen.push(`${who}: menu ${menu.join(' ')}`);
      for (const href of [...new Set([...menu, ...start])]) await opens(page, base, href, who);
      for (const [href, n] of waiting) {
        expect(href.includes('?'), `${who}: "wat wacht" links to a filtered list (${href})`);
        await page.goto(base + href);
        const shown = await page.locator('main [data-item]').count();
        expect(shown === n, `${who}: ${href} lists the ${n} counted (shows ${shown})`);
      }
      await context.close();
    }
    for (const label of await people(base, '/ouders/inloggen')) {
      const context = await browser.newContext();
      const page = current = await context.newPage();
      const who = `${party} ${label}`;
      await page.goto(base + '/ouders/inloggen');
      await page.click(`form[action="/demo/inloggen"] button:text-is("${label}")`);
      await page.waitForURL(base + '/ouders');
      const home = await links(page, base, 'main');
      await shot(page, `rol-${party}-ouder`);
      for (const href of home) await opens(page, base, href, who);
      await context.close();
    }
  }
  console.log(seen.join('\n'));
  if (problems.length) throw new Error(`${problems.length} failed:\n  ${problems.join('\n  ')}`);
  verdict();
  console.log('all role checks passed');
} catch (e) {
  console.error(e);
  if (current && !current.isClosed()) await current.screenshot({ path: `${shots}/rol-fout.png`, fullPage: true }).catch(() => {});
  console.log(seen.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
