// Lessons as a student meets them (issue #13), in real Chromium at 1280×720, by clicks and
// typing only:
// - a deep link opens a lesson; the student reads its steps (one waits for a real event
//   and says it), solves P5 by cutting and healing the link in the picture, answers the
//   prediction, sees the checklist tick one line at a time, steps back in time and sees it
//   untick;
// - P11 through the consoles: a wrong attempt (a write on a replica) shows the
//   misconception's hint; the failover solves it within 10 s;
// - Show solution plays the reference and marks the lesson seen, not solved;
// - progress survives a reload; exam mode hides hints and the solution; locked tools are
//   disabled with a reason.
// Screenshots: target/screenshots/lesson-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const clock = async (page) => parseFloat(await page.getByTestId('clock').textContent());
// Every check line's state, read in one go (a frame between two reads could differ).
const checks = (page) => page.evaluate(() => [...document.querySelectorAll('[data-testid="check"]')]
  .map((li) => ({ text: li.querySelector('.check-text').textContent, met: li.dataset.met === 'true' })));
const met = async (page, start) => (await checks(page)).find((c) => c.text.startsWith(start))?.met;
async function until(page, what, cond, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await page.waitForTimeout(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}
async function linkAction(page, link, action) {
  await page.getByTestId(link).locator('.link-label').click();
  await page.getByTestId(`link-action-${action}`).click();
}

test('P5 by deep link: steps, a wait that pauses, cut and heal in the picture, the prediction, ticks, untick on a step back, progress kept', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?lesson=p5-partial-sync&speed=2&slow=0`);
  const panel = page.getByTestId('lesson-panel');
  await panel.waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId('lesson-title').textContent(), /P5/);
  assert.match(await page.getByTestId('lesson-text').textContent(), /replication offset/);
  // The text is whole: the panel scrolls, nothing is cut off with an ellipsis.
  const cut = await page.evaluate(() => {
    const t = document.querySelector('[data-testid="lesson-text"]');
    return t.scrollWidth > t.clientWidth + 1;
  });
  assert.equal(cut, false);
  await screenshot(page, 'lesson-p5-step1');

  // Step 2 waits for r1's first ACK, then says it and pauses there.
  await page.getByTestId('lesson-next').click();
  await page.getByTestId('lesson-said').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('lesson-said').textContent(), /REPLCONF ACK/);
  assert.equal(await page.getByTestId('play-pause').textContent(), 'Play');
  await page.getByTestId('lesson-next').click();
  await page.getByTestId('lesson-challenge').waitFor();
  const first = await checks(page);
  assert.ok(first.length >= 5, JSON.stringify(first));
  assert.equal(await met(page, 'You cut the link'), false);
  // Forbidden tools are disabled, with the reason.
  await page.getByTestId('node-r1').click();
  const kill = page.getByTestId('node-action-kill');
  assert.equal(await kill.isDisabled(), true);
  assert.match(await kill.getAttribute('title'), /without killing a node/);
  await page.getByTestId('inspector-close').click();
  await screenshot(page, 'lesson-p5-challenge');

  // The challenge opens paused and says so; the student presses Play, cuts the link from
  // the picture, waits 5 s or more, heals it.
  assert.equal(await page.getByTestId('play-pause').textContent(), 'Play');
  await page.getByTestId('lesson-paused').waitFor();
  await page.getByTestId('play-pause').click();
  await until(page, 'the workload', async () => (await clock(page)) > 7);
  await linkAction(page, 'link-m-r1', 'cut');
  await until(page, 'the cut to tick', async () => met(page, 'You cut the link'));
  const cutAt = await clock(page);
  await until(page, '6 s of cut', async () => (await clock(page)) > cutAt + 6);
  await linkAction(page, 'link-m-r1', 'heal');
  // The prediction freezes the run just before m decides.
  await page.getByTestId('lesson-predict').waitFor({ timeout: 30_000 });
  assert.equal(await page.getByTestId('play-pause').textContent(), 'Play');
  assert.equal(await met(page, 'm answered r1'), false, 'asked before the decision');
  await screenshot(page, 'lesson-p5-predict');
  await page.getByTestId('predict-choice').filter({ hasText: '+CONTINUE' }).click();
  assert.match(await page.getByTestId('predict-result').textContent(), /Right/);
  await page.getByTestId('lesson-solved').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('lesson-solved').textContent(), /Solved at/);
  assert.ok((await checks(page)).every((c) => c.met), JSON.stringify(await checks(page)));
  await screenshot(page, 'lesson-p5-solved');

  // A step back in time before the heal: the decision's line unticks, the solved box goes.
  await page.getByTestId('time-slider').fill(String(Math.round((cutAt + 1) * 1000)));
  await until(page, 'the untick', async () => (await met(page, 'm answered r1')) === false);
  assert.equal(await met(page, 'You cut the link'), true);
  assert.equal(await page.getByTestId('lesson-solved').count(), 0);

  // The progress is kept: after a reload, the menu marks P5 solved.
  await page.reload();
  await page.getByTestId('lesson-panel').waitFor({ timeout: 15_000 });
  const mark = await page.locator('[data-testid="lesson-select"] option[value="p5-partial-sync"]').getAttribute('data-progress');
  assert.equal(mark, 'solved');
  assert.deepEqual(page.problems, []);
});

test('P11 through the consoles: a write on a replica shows the misconception, the failover solves it', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?lesson=p11-failover&step=3&speed=1&slow=0`);
  await page.getByTestId('lesson-challenge').waitFor({ timeout: 15_000 });
  await page.getByTestId('play-pause').click();
  await until(page, 'm to die', async () => (await clock(page)) > 8.2);
  // The wrong path first: a write on r1, still a replica.
  await page.getByTestId('console-pick-r1').click();
  await page.getByTestId('console-r1').fill('SET after failover');
  await page.getByTestId('console-r1').press('Enter');
  await page.getByTestId('misconception').waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('misconception').textContent(), /READONLY/);
  // A failed attempt unlocks the first hint: pause, then type (commands typed while paused
  // happen at that moment).
  await page.getByTestId('hints').waitFor({ timeout: 5_000 });
  assert.match(await page.getByTestId('hints').textContent(), /pause/);
  await page.keyboard.press('Escape');
  await page.getByTestId('play-pause').click();
  assert.equal(await page.getByTestId('play-pause').textContent(), 'Play');
  await page.getByTestId('console-r1').fill('REPLICAOF NO ONE');
  await page.getByTestId('console-r1').press('Enter');
  await page.getByTestId('console-pick-r2').click();
  await page.getByTestId('console-r2').fill('REPLICAOF r1 6379');
  await page.getByTestId('console-r2').press('Enter');
  await page.getByTestId('console-pick-r1').click();
  await page.getByTestId('console-r1').fill('SET after failover');
  await page.getByTestId('console-r1').press('Enter');
  await page.getByTestId('play-pause').click();
  await page.getByTestId('lesson-solved').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('lesson-solved').textContent(), /Solved/);
  assert.equal(await met(page, 'r1 answered r2'), true);
  await screenshot(page, 'lesson-p11-solved');
  assert.deepEqual(page.problems, []);
});

test('Show solution plays the reference and marks the lesson seen, not solved; the attempt stays a branch', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?lesson=p1-first-replica&step=3&speed=4&slow=0`);
  await page.getByTestId('lesson-challenge').waitFor({ timeout: 15_000 });
  // An attempt of the student's: a command on m.
  await page.getByTestId('console-m').fill('SET mine 1');
  await page.getByTestId('console-m').press('Enter');
  await page.waitForTimeout(500);
  await page.getByTestId('lesson-solution').click();
  await page.getByTestId('lesson-solved').waitFor({ timeout: 30_000 });
  assert.match(await page.getByTestId('lesson-solved').textContent(), /marked seen, not solved/);
  assert.equal(await page.getByTestId('branch').count(), 1);
  await page.reload();
  await page.getByTestId('lesson-panel').waitFor({ timeout: 15_000 });
  const mark = await page.locator('[data-testid="lesson-select"] option[value="p1-first-replica"]').getAttribute('data-progress');
  assert.equal(mark, 'seen');
  // The attempt is there to return to: its command is in m's console again.
  assert.deepEqual(page.problems, []);
});

test('exam mode hides hints and the solution; a teacher lock disables a tool with a reason', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?lesson=p1-first-replica&step=3&mode=exam&lock=cut,kill`);
  await page.getByTestId('lesson-challenge').waitFor({ timeout: 15_000 });
  assert.equal(await page.getByTestId('lesson-solution').count(), 0);
  assert.equal(await page.getByTestId('lesson-hint').count(), 0);
  await page.locator('[data-testid="link-m-r1"]').count();
  await page.getByTestId('node-m').click();
  assert.equal(await page.getByTestId('node-action-kill').isDisabled(), true);
  // Share keeps the lesson, the step and the teacher's settings.
  await page.getByTestId('share').click();
  const url = await page.getByTestId('share-url').inputValue();
  assert.match(url, /lesson=p1-first-replica&step=3&hints=0&lock=cut,kill&mode=exam/);
  assert.deepEqual(page.problems, []);
});

test('a link made by a newer replscope is refused with a reason, never replayed differently', async () => {
  const page = await watchedPage(browser);
  const run = encodeURIComponent(JSON.stringify([{ step: 5, time_us: 1767225601000000, origin: 'User', action: { do: 'exec', node: 'm', command: 'SET x 1' } }]));
  await page.goto(`${site.url}?lesson=p1-first-replica&step=3&v=99#run=${run}`);
  await page.getByTestId('lesson-challenge').waitFor({ timeout: 15_000 });
  assert.match(await page.getByTestId('status').textContent(), /newer replscope \(format 99\)/);
  // Nothing of the link's run was played: m's console has the lesson's own commands only.
  await page.waitForTimeout(1500);
  const typed = await page.getByTestId('console-output-m').textContent();
  assert.ok(!typed.includes('SET x 1'), typed);
  assert.deepEqual(page.problems, []);
});

test('files: a run, a lesson skeleton and the progress are saved, and open again from the picker', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${site.url}?lesson=p1-first-replica&step=3&speed=4&slow=0`);
  await page.getByTestId('lesson-challenge').waitFor({ timeout: 15_000 });
  await page.getByTestId('console-r1').fill('REPLICAOF m 6379');
  await page.getByTestId('console-r1').press('Enter');
  await page.getByTestId('play-pause').click();
  await page.getByTestId('lesson-solved').waitFor({ timeout: 30_000 });
  const save = async (what) => {
    await page.getByTestId('export').locator('summary').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${what}`).click()]);
    const path = `${await download.path()}`;
    return { path, text: (await import('node:fs')).readFileSync(path, 'utf8') };
  };
  const run = await save('run');
  assert.match(run.text, /"REPLICAOF m 6379"/);
  assert.match(run.text, /"at_ms":/);
  const skeleton = await save('skeleton');
  assert.match(skeleton.text, /"steps":\[.*"REPLICAOF m 6379"/s);
  assert.match(skeleton.text, /"lesson":\{/);
  const progress = await save('progress');
  assert.deepEqual(JSON.parse(progress.text), { lessons: { 'p1-first-replica': 'solved' } });

  // A fresh browser profile: no progress. The progress file brings the tick back; the run
  // file replays the student's session.
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const other = await fresh.newPage();
  await other.goto(`${site.url}?scenario=one-replica`);
  await other.getByTestId('topology').waitFor();
  const option = other.locator('[data-testid="lesson-select"] option[value="p1-first-replica"]');
  await option.waitFor({ state: 'attached', timeout: 15_000 });
  assert.equal(await option.getAttribute('data-progress'), '');
  await other.getByTestId('export').locator('summary').click();
  await other.getByTestId('open-file').setInputFiles(progress.path);
  await other.waitForFunction(() => document.querySelector('[data-testid="lesson-select"] option[value="p1-first-replica"]')?.dataset.progress === 'solved');
  await other.getByTestId('open-file').setInputFiles(run.path);
  await other.getByTestId('lesson-panel').waitFor({ timeout: 15_000 });
  assert.match(await other.getByTestId('status').textContent(), /opened 'P1/);
  await other.getByTestId('lesson-solved').waitFor({ timeout: 30_000 });
  assert.deepEqual(problems, []);
  await context.close();
  await fresh.close();
});
