// What broke a class (issue #12), each checked the way a teacher or a student meets it, with
// the mouse and the keys only:
// - keyboard focus: after choosing a scenario or pressing a button, the step and play keys act
//   once on the simulation and never on the focused menu or button; typing in a text field
//   is text, not shortcuts;
// - consoles follow time travel: scrub back and they show what was typed and answered by then;
//   type in the past (a fork) and the discarded future's commands are gone;
// - replies sit under their commands even when sent faster than they come back, and INFO
//   prints its lines as redis-cli does.
// Screenshots: target/screenshots/classroom-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const steps = (page) => page.evaluate(() => window.replscope.snapshot().steps);
const nodeCount = (page) => page.evaluate(() => window.replscope.snapshot().nodes.length);
const playLabel = (page) => page.getByTestId('play-pause').textContent();
const consoleLines = (page, node) =>
  page.getByTestId(`console-output-${node}`).locator('.line').allTextContents();

/** Pauses with the mouse (the button says what a click will do). */
async function pause(page) {
  if ((await playLabel(page)) === 'Pause') await page.getByTestId('play-pause').click();
  assert.equal(await playLabel(page), 'Play');
}

test('shortcuts act once whatever has focus, and never while typing', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&seed=1`);
  await page.getByTestId('topology').waitFor();

  // A scenario chosen from the menu: → steps and ↓ scrolls, neither picks another scenario.
  const menu = page.getByTestId('scenario-select');
  const options = await menu.locator('option').evaluateAll((os) => os.map((o) => o.value));
  await pause(page);
  await menu.selectOption(options[1]);
  await pause(page);
  const chosen = await menu.inputValue();
  let before = await steps(page);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  assert.equal(await menu.inputValue(), chosen, '→ and ↓ must not change the scenario');
  assert.equal(await steps(page), before + 1, '→ steps once');
  // Focused on purpose (Tab), the menu still leaves → to the simulation.
  await menu.focus();
  before = await steps(page);
  await page.keyboard.press('ArrowRight');
  assert.equal(await menu.inputValue(), chosen, '→ must not change the scenario');
  assert.equal(await steps(page), before + 1, '→ steps once');

  // Space after clicking "+ replica": play/pause toggles once, no second replica appears.
  const nodes = await nodeCount(page);
  await page.getByTestId('add-replica').click();
  await page.waitForFunction((n) => window.replscope.snapshot().nodes.length === n + 1, nodes);
  assert.equal(await playLabel(page), 'Play');
  await page.keyboard.press(' ');
  assert.equal(await playLabel(page), 'Pause', 'Space plays');
  await page.keyboard.press(' ');
  assert.equal(await playLabel(page), 'Play', 'Space pauses');
  await page.waitForTimeout(300);
  assert.equal(await nodeCount(page), nodes + 1, 'Space must not press "+ replica" again');

  // Space after clicking Projector: the mode stays as clicked.
  await page.getByTestId('projector').click();
  await page.keyboard.press(' ');
  await page.keyboard.press(' ');
  assert.equal(await page.getByTestId('projector').getAttribute('aria-pressed'), 'true');
  await page.getByTestId('projector').click();

  // The time slider focused: → steps once (not a step plus a slider move).
  await page.getByTestId('time-slider').focus();
  const at = await steps(page);
  await page.keyboard.press('ArrowRight');
  assert.equal(await steps(page), at + 1);

  // Typing in the event log's filter is text: no step, no play, no help.
  await page.getByTestId('tab-events').click();
  const filter = page.getByTestId('log-filter-text');
  await filter.click();
  const typedAt = await steps(page);
  await page.keyboard.type('n ?');
  await page.keyboard.press('ArrowRight');
  assert.equal(await filter.inputValue(), 'n ?');
  assert.equal(await steps(page), typedAt);
  assert.equal(await playLabel(page), 'Play');
  assert.equal(await page.getByTestId('help').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('consoles show what was typed and answered by the moment shown, on this branch', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&seed=1`);
  await page.getByTestId('topology').waitFor();
  const type = async (node, command) => {
    await page.getByTestId(`console-${node}`).fill(command);
    await page.getByTestId(`console-${node}`).press('Enter');
  };
  // Three commands typed at once, a moment into the run: each reply prints under its own
  // command.
  await page.waitForFunction(() => window.replscope.snapshot().time_ms > 500, null, { timeout: 20_000 });
  await pause(page);
  await type('m', 'MULTI');
  await type('m', 'INCR visits');
  await type('m', 'EXEC');
  await page.getByTestId('play-pause').click();
  const output = page.getByTestId('console-output-m');
  await output.locator('.line', { hasText: '1) (integer) 1' }).waitFor({ timeout: 20_000 });
  assert.deepEqual(await consoleLines(page, 'm'), [
    'm:6379> MULTI', 'OK',
    'm:6379> INCR visits', 'QUEUED',
    'm:6379> EXEC', '1) (integer) 1',
  ]);
  // INFO prints its lines, as redis-cli does.
  await type('m', 'INFO replication');
  await output.locator('.line', { hasText: /^role:master$/ }).waitFor({ timeout: 20_000 });
  const info = await consoleLines(page, 'm');
  assert.equal(info[6], 'm:6379> INFO replication');
  assert.equal(info[7], '# Replication');
  assert.ok(info.includes('connected_slaves:1'), info.join('\n'));
  await screenshot(page, 'classroom-console-replies');

  // Back to a moment before INFO: the console shows the first three commands only.
  await pause(page);
  const typedInfoAt = await page.evaluate(() => window.replscope.snapshot().time_ms);
  const slider = page.getByTestId('time-slider');
  const box = await slider.boundingBox();
  // Seek by keyboard-free means: drag to the very start, then step forward with the keys.
  await page.mouse.click(box.x + 2, box.y + box.height / 2);
  assert.ok((await page.evaluate(() => window.replscope.snapshot().time_ms)) < typedInfoAt);
  assert.deepEqual(await consoleLines(page, 'm'), [], 'nothing was typed at the start');
  // Play until the EXEC reply is back, then pause: INFO was not typed yet.
  await page.getByTestId('play-pause').click();
  await output.locator('.line', { hasText: '1) (integer) 1' }).waitFor({ timeout: 20_000 });
  await pause(page);
  let lines = await consoleLines(page, 'm');
  if (lines.includes('m:6379> INFO replication')) {
    // Played past it: step back until it is gone (a seek to an earlier moment).
    for (let i = 0; i < 200 && (await consoleLines(page, 'm')).includes('m:6379> INFO replication'); i++) {
      await page.getByTestId('step-back').click();
    }
    lines = await consoleLines(page, 'm');
  }
  assert.ok(!lines.some((l) => l.startsWith('# Replication')), lines.join('\n'));
  assert.ok(lines.includes('1) (integer) 1'), lines.join('\n'));

  // Typing here forks the run: INFO of the discarded future is gone for good.
  await type('m', 'GET visits');
  await page.getByTestId('play-pause').click();
  await output.locator('.line', { hasText: '"1"' }).waitFor({ timeout: 20_000 });
  lines = await consoleLines(page, 'm');
  assert.deepEqual(lines.slice(-2), ['m:6379> GET visits', '"1"']);
  assert.ok(!lines.includes('m:6379> INFO replication'), lines.join('\n'));
  await screenshot(page, 'classroom-console-fork');
  assert.deepEqual(page.problems, []);
});

test('the writes/s menu shows the rate running; + replica says why it cannot add one', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=first-full-sync&seed=1&speed=2`);
  const menu = page.getByTestId('workload');
  const time = () => page.evaluate(() => window.replscope.snapshot().time_ms);
  // The scenario starts 20 writes/s at 2 s: not one of the menu's own choices.
  await page.waitForFunction(() => window.replscope.snapshot().time_ms > 2100, null, { timeout: 30_000 });
  assert.equal(await menu.inputValue(), '20');
  // A choice of the user's, then another scenario: the menu says that scenario's rate.
  await menu.selectOption('100');
  assert.equal(await menu.inputValue(), '100');
  await page.getByTestId('scenario-select').selectOption('one-replica');
  await page.waitForFunction(() => window.replscope.snapshot().time_ms < 2000);
  assert.ok((await time()) < 2000);
  assert.equal(await menu.inputValue(), '0');

  // Up to 12 nodes, then the button is off and says why.
  const add = page.getByTestId('add-replica');
  for (let i = 0; i < 20 && !(await add.isDisabled()); i++) {
    await add.click();
  }
  assert.equal(await page.evaluate(() => window.replscope.snapshot().nodes.length), 12);
  assert.equal(await add.getAttribute('title'), 'The page runs at most 12 nodes');
  // With the master down, there is nothing to replicate.
  await page.getByTestId('scenario-select').selectOption('one-replica');
  await page.evaluate(() => window.replscope.act({ do: 'kill', node: 'm' }));
  await page.waitForFunction(() => document.querySelector('[data-testid="add-replica"]').disabled);
  assert.match(await add.getAttribute('title'), /^No master to replicate/);
  assert.deepEqual(page.problems, []);
});

test('the help says what the picture shows and closes like a dialog', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=1`);
  await page.getByTestId('topology').waitFor();
  const help = page.getByTestId('help');
  // By key and by button.
  await page.keyboard.press('?');
  await help.waitFor();
  const text = await help.textContent();
  for (const words of ['master_repl_offset', 'replication ID', 'handshake', 'partitioned', '+CONTINUE',
    'circular replication backlog', 'quiet time runs 20× faster', 'the consoles included',
    'starts a new future', 'Share makes a link', '→ / ←', 'Escape']) {
    assert.ok(text.includes(words), `the help explains ${words}`);
  }
  await screenshot(page, 'classroom-help');
  // A click inside (to select text, say) keeps it; a click outside closes it.
  await help.locator('h2').first().click();
  assert.equal(await help.count(), 1);
  await page.mouse.click(8, 700);
  assert.equal(await help.count(), 0);
  await page.getByTestId('help-button').click();
  await page.getByTestId('help-close').click();
  assert.equal(await help.count(), 0);
  await page.getByTestId('help-button').click();
  await page.keyboard.press('Escape');
  assert.equal(await help.count(), 0);
  // Readable in Projector mode at 1280×720: the help fits the screen.
  await page.getByTestId('projector').click();
  await page.getByTestId('help-button').click();
  const box = await help.boundingBox();
  assert.ok(box.y >= 0 && box.y + box.height <= 720, JSON.stringify(box));
  await screenshot(page, 'classroom-help-projector');
  assert.deepEqual(page.problems, []);
});

test('the inspector closes by button, Escape and choice; says current settings; a paused command says it waits', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=1&speed=5`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  const inspector = page.getByTestId('inspector');
  await page.getByTestId('node-r1').click();
  await inspector.waitFor();
  await page.getByTestId('inspector-close').click();
  assert.equal(await inspector.count(), 0);
  await page.getByTestId('node-r1').click();
  await inspector.waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await inspector.count(), 0);

  // CONFIG SET says each setting's current value.
  await page.getByTestId('node-m').click();
  const value = page.getByTestId('config-value');
  assert.equal(await value.getAttribute('placeholder'), 'now: 1048576');
  await page.getByTestId('config-name').selectOption('repl-timeout');
  assert.equal(await value.getAttribute('placeholder'), 'now: 60');

  // Remove asks first.
  await page.getByTestId('node-action-ask-remove').click();
  await inspector.locator('.confirm', { hasText: 'Remove m for good?' }).waitFor();
  await page.getByTestId('node-action-remove-cancel').click();
  assert.equal(await page.getByTestId('node-m').count(), 1);

  // Typed while paused: the console says the reply waits for time to run.
  await page.getByTestId('play-pause').click();
  assert.equal(await page.getByTestId('play-pause').textContent(), 'Play');
  await page.getByTestId('console-m').fill('PING');
  await page.getByTestId('console-m').press('Enter');
  const out = page.getByTestId('console-output-m');
  await out.locator('.line', { hasText: '(paused: the reply comes when time runs; press Play)' }).waitFor();
  await screenshot(page, 'classroom-paused-command');
  await page.getByTestId('play-pause').click();
  await out.locator('.line', { hasText: /^PONG$/ }).waitFor();
  assert.equal(await out.locator('.line', { hasText: 'paused:' }).count(), 0);
  assert.deepEqual(page.problems, []);
});

test('every node\'s console is one click away, and the two shown are whole', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=many-replicas&seed=1&speed=5`);
  await page.getByTestId('topology').waitFor();
  while ((await page.evaluate(() => window.replscope.snapshot().nodes.length)) < 12) {
    await page.getByTestId('add-replica').click();
  }
  const names = await page.evaluate(() => window.replscope.snapshot().nodes.map((n) => n.name));
  const inView = async (testid) => {
    const box = await page.getByTestId(testid).boundingBox();
    return box !== null && box.x >= 0 && box.x + box.width <= 1280 && box.y >= 0 && box.y + box.height <= 720;
  };
  // The picker names every node; the master's console and one other are shown, whole.
  for (const n of names) assert.ok(await inView(`console-pick-${n}`), `a button for ${n}'s console`);
  assert.ok(await inView('console-m'));
  // A click on a node brings its console.
  await page.getByTestId('node-r7').click();
  assert.ok(await inView('console-r7'), "r7's console is on screen");
  assert.ok(await inView('console-m'), "the master's stays");
  assert.equal(await page.getByTestId('console-pick-r7').getAttribute('aria-pressed'), 'true');
  // A click on a name in the picker too.
  await page.getByTestId('console-pick-r10').click();
  assert.ok(await inView('console-r10'));
  // Nothing is cut off: each shown console's prompt reads "<name>:6379>" in full.
  for (const n of ['m', 'r10']) {
    const prompt = page.getByTestId(`console-${n}`).locator('xpath=..');
    const box = await prompt.boundingBox();
    assert.ok(box.x >= 0, `${n}'s prompt starts on screen`);
    assert.equal((await prompt.locator('span').textContent()), `${n}:6379>`);
  }
  await screenshot(page, 'classroom-consoles-12');
  assert.deepEqual(page.problems, []);
});
