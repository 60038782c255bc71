// The accessibility check of every page the browser tests photograph: the
// axe-core rules for WCAG 2.1 A and AA (labels, contrast, names of links
// and buttons, landmarks, language) run in the page as the user sees it.
// The source is evaluated through the driver, not added as a <script>, so
// the gateway's Content-Security-Policy stays in force during the tests.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const source = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const found = [];

// The slices' English reason strings (read from their sources by the e2e
// test that starts the script: tests/e2e/english.rs), none of which may
// appear on a page; every page audited is checked for them too.
const reasons = process.env.SLICE_REASONS ? JSON.parse(fs.readFileSync(process.env.SLICE_REASONS, 'utf8')) : null;

// Checks that the page's HTML holds none of the slices' English reasons.
export async function noEnglish(page, name) {
  if (!reasons) return;
  const html = await page.content();
  const shown = reasons.filter((r) => html.includes(r));
  if (shown.length) throw new Error(`failed: ${name} shows English reason text: ${shown.join(' | ')}`);
  console.log(`ok: ${name}: no English reason text`);
}

// Runs the rules on `page`; what fails is kept, named after `name`.
export async function audit(page, name) {
  await page.evaluate(source);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  for (const v of result.violations) {
    found.push(`${name}: ${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }
  console.log(`ok: accessibility checked on ${name} (${result.passes.length} rules pass, ${result.violations.length} fail)`);
  await noEnglish(page, name);
}

// Throws with every failure found so far, if any.
export function verdict() {
  if (found.length) throw new Error(`accessibility (WCAG 2.1 AA, axe-core):\n  ${found.join('\n  ')}`);
  console.log('ok: no accessibility failures on the pages checked');
}
