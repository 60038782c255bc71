// A mentor's actions in plans, in real browsers at one school's gateway:
// the mentor signs in (the staff directory learns her name) and has none
// yet; the care coordinator adds an action of the school to the pupil's
// plan with the mentor as its "Uitvoerder", picked by name (an unknown
// person is refused, the field named, nothing added); the plan names her.
// The mentor's start page counts 1 and links to her list, which holds that
// action with the pupil's name; she opens it, reads it and takes it to
// "afgerond"; the coordinator's plan shows the new state. The mentor
// cannot open the plan itself, nor another party's action in it.
// Exit code is the verdict; screenshots go to SHOTS_DIR.
// Env: VO_URL, PLAN_ID, OTHER_TASK (the JGZ's task), SHOTS_DIR, CHROMIUM.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { verdict } from './axe.mjs';
import { check, shooter, signIn, text } from './common.mjs';

const vo = process.env.VO_URL;
const planId = process.env.PLAN_ID;
const otherTask = process.env.OTHER_TASK;
const shots = process.env.SHOTS_DIR;
fs.mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
async function person() {
  const context = await browser.newContext();
  return context.newPage();
}
const shot = shooter(shots);
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const dutch = (iso) => iso.split('-').reverse().join('-');
// The "wat wacht op mij" line `what`: [href, count], or null.
const line = async (page, what) => {
  const rows = await page.locator('#wacht tr').evaluateAll((rows) =>
    rows.map((r) => [r.querySelector('a').textContent.trim(), r.querySelector('a').getAttribute('href'), Number(r.querySelector('td').textContent.trim())]));
  const found = rows.find((r) => r[0] === what);
  return found ? [found[1], found[2]] : null;
};

let current;
try {
  // 1. The mentor signs in: nothing is hers yet, her menu offers her list.
  const mentor = current = await person();
  await signIn(mentor, vo, '/', 'mentor-7');
  const none = await line(mentor, 'Mijn acties in plannen');
  check(none && none[0] === '/mijn-acties?open=1' && none[1] === 0, 'mentor: "Mijn acties in plannen" counts 0');
  check(await mentor.locator('nav a[href="/mijn-acties"]').count() === 1, 'mentor: the menu offers "Mijn acties"');
  check(await mentor.locator('nav a[href="/plannen"]').count() === 0, 'mentor: the menu offers no plans');

  // 2. The coordinator adds the school's action for the mentor.
  const zc = current = await person();
  await signIn(zc, vo, '/', 'zc-9');
  const adjust = `${vo}/plannen/${planId}/bijstellen`;
  await zc.goto(adjust);
  const add = async (who) => {
    await zc.selectOption('#nieuwe-actie-wie', 'vo-1');
    await zc.fill('#nieuwe-actie-wat', 'Dagelijkse check-in bij de mentor');
    await zc.fill('#nieuwe-actie-doel', 'Noor is elke dag op school');
    await zc.fill('#nieuwe-actie-klaar', day(10));
    await zc.fill('#nieuwe-actie-uitvoerder', who);
    await zc.click('button:has-text("Actie toevoegen")');
  };
  await add('Mentor Onbekend');
  let page = await text(zc);
  check(page.includes('Kies bij de uitvoerder een medewerker uit de lijst'), 'coordinator: an unknown person is refused, the field named');
  check((await zc.getAttribute('#nieuwe-actie-uitvoerder', 'aria-invalid')) === 'true', 'coordinator: the Uitvoerder field is marked');
  check((await zc.inputValue('#nieuwe-actie-uitvoerder')) === 'Mentor Onbekend' && (await zc.inputValue('#nieuwe-actie-wat')) === 'Dagelijkse check-in bij de mentor', 'coordinator: what was typed is kept');
  check(!page.includes('Dagelijkse check-in'), 'coordinator: nothing was added');
  const offered = await zc.locator('#uitvoerders option').evaluateAll((os) => os.map((o) => o.value));
  check(offered.includes('Mark de Wit (mentor)'), `coordinator: the picker offers the mentor by name (${offered.join(', ')})`);
  await shot(zc, 'mijn-acties-1-bijstellen-uitvoerder');
  await add('Mark de Wit (mentor)');
  check((await text(zc)).includes('De actie is toegevoegd'), 'coordinator: the action is added');
  await zc.goto(`${vo}/plannen/${planId}`);
  const planText = await zc.textContent('#acties');
  check(planText.includes('Mark de Wit') && planText.includes('Dagelijkse check-in bij de mentor'), 'coordinator: the plan names the mentor on the action');
  check(!planText.includes('mentor-7'), 'coordinator: by name, not by id');

  // 3. The mentor's start page counts it and links to her list.
  current = mentor;
  await mentor.goto(vo + '/');
  const one = await line(mentor, 'Mijn acties in plannen');
  check(one && one[0] === '/mijn-acties?open=1' && one[1] === 1, 'mentor: "Mijn acties in plannen" counts 1');
  await shot(mentor, 'mijn-acties-2-start-mentor');
  await mentor.click('#wacht a:has-text("Mijn acties in plannen")');
  check(new URL(mentor.url()).pathname + new URL(mentor.url()).search === '/mijn-acties?open=1', 'mentor: the line opens her list of open actions');
  check(await mentor.locator('main [data-item]').count() === 1, 'mentor: the list shows exactly the one counted');
  const listText = await text(mentor);
  check(listText.includes('Noor Jansen') && listText.includes('Dagelijkse check-in bij de mentor') && listText.includes(dutch(day(10))),
    'mentor: the list shows the action, the pupil by name and the date as dd-mm-jjjj');
  check(!listText.includes('Slaaponderzoek'), "mentor: the list holds no other party's action");
  await shot(mentor, 'mijn-acties-3-lijst');

  // 4. She opens it, reads it, and takes the owner's steps to the end.
  await mentor.click('main [data-item] a');
  let action = await text(mentor);
  check(action.includes('Noor Jansen') && action.includes('Dagelijkse check-in bij de mentor')
    && action.includes('Noor is elke dag op school') && action.includes(dutch(day(10))) && action.includes('gevraagd'),
    'mentor: the action page shows what, the goal, the date and the state in Dutch');
  check(!action.includes('Slaaponderzoek') && !action.includes('JGZ'), 'mentor: nothing else of the plan');
  await shot(mentor, 'mijn-acties-4-actie');
  for (const [button, state] of [['Aannemen', 'aangenomen'], ['Starten', 'in uitvoering'], ['Afronden', 'afgerond']]) {
    await mentor.click(`button:has-text("${button}")`);
    action = await text(mentor);
    check(action.includes('De stap is vastgelegd') && (await mentor.textContent('.stand')).includes(state), `mentor: ${button} → ${state}`);
  }
  check(await mentor.locator('button[name="step"]').count() === 0, 'mentor: a completed action has no steps left');
  await shot(mentor, 'mijn-acties-5-afgerond');
  await mentor.goto(vo + '/');
  const after = await line(mentor, 'Mijn acties in plannen');
  check(after && after[1] === 0, 'mentor: the completed action no longer counts');
  await mentor.click('nav a[href="/mijn-acties"]');
  const all = await text(mentor);
  check(await mentor.locator('main [data-item]').count() === 1 && all.includes('afgerond'), 'mentor: the menu\'s list keeps the completed action, afgerond');

  // 5. The coordinator's plan shows the new state.
  current = zc;
  await zc.goto(`${vo}/plannen/${planId}`);
  const row = zc.locator('#acties tr', { hasText: 'Dagelijkse check-in bij de mentor' });
  check((await row.textContent()).includes('afgerond'), "coordinator: the plan shows the mentor's action afgerond");

  // 6. The mentor gets neither the plan nor another party's action.
  current = mentor;
  let response = await mentor.goto(`${vo}/plannen/${planId}`);
  check(response.status() === 403, `mentor: the plan itself is refused (${response.status()})`);
  response = await mentor.goto(`${vo}/mijn-acties/vo-1/${planId}/${otherTask}`);
  check(response.status() === 404, `mentor: another party's action is not found (${response.status()})`);
  check(!(await text(mentor)).includes('Slaaponderzoek'), "mentor: nothing of the other party's action shows");

  verdict();
  console.log('all my-actions checks passed');
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
