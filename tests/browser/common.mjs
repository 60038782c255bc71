// What the browser scenarios share: checks, screenshots with their
// accessibility audit, the sign-in at the test OpenID Connect provider, and
// waiting for asynchronous delivery between nodes.
import { audit } from './axe.mjs';

export const check = (cond, what) => { if (!cond) throw new Error(`failed: ${what}`); console.log(`ok: ${what}`); };

// The text of the page's main content.
export const text = async (page) => (await page.textContent('main')) || '';

// A guardian's phone.
export const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

// Photographs a page into `shots` and checks its accessibility and that it
// shows no English reason text (axe.mjs).
export const shooter = (shots) => async (page, name) => {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  await audit(page, name);
};

// Signs in at `base` + `path` (the page with the way in) as `user`.
export async function signIn(page, base, path, user) {
  await page.goto(base + path);
  await page.click('a.knop');
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'test');
  await page.click('button[type="submit"]');
  for (let i = 0; i < 3 && !page.url().startsWith(base); i++) {
    await page.waitForLoadState();
    if (page.url().startsWith(base)) break;
    const button = page.locator('button[type="submit"]');
    if (await button.count()) await button.first().click();
  }
  await page.waitForURL((u) => u.toString().startsWith(base));
}

// Opens `url` until `pred(response, page)` holds (delivery between nodes is
// asynchronous), for at most a minute.
export async function until(page, url, pred, what) {
  const end = Date.now() + 60_000;
  for (;;) {
    const response = await page.goto(url);
    if (await pred(response, page)) { console.log(`ok: ${what}`); return response; }
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await page.waitForTimeout(300);
  }
}
