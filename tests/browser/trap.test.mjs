// No silent death: when the wasm traps (a Rust panic, or a genuine allocation failure, which
// aborts without reaching the panic hook), the page shows the error banner with the message,
// time stops (the status line says so, the clock stands still, keys and clicks no longer reach
// the dead wasm, so no "already borrowed" cascade), and "Reload this run" reopens the run with
// the student's actions up to the last good state. The trap is forced with the test hook
// window.replscope.crashForTest(kind), from a timer as a real trap in a tick would happen.
// Screenshots: target/screenshots/trap-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

/**
 * Plays, types a write on the master, crashes the page with `kind`, checks the stopped page and
 * reloads the run. `query` opens the page: when it is the Share link's own query, "Reload this
 * run" changes only the hash and must still reload. `projector` turns Projector mode on first.
 */
async function crashAndReload({ kind, query, projector, message, problems }) {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}${query}`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  if (projector) await page.getByTestId('projector').click();
  const key = `trap-${kind}`;
  const input = page.getByTestId('console-m');
  await input.fill(`SET ${key} survived`);
  await input.press('Enter');
  const output = page.getByTestId('console-output-m');
  await output.locator('.line', { hasText: `m:6379> SET ${key} survived` }).waitFor();
  await output.locator('.line:last-child', { hasText: 'OK' }).waitFor({ timeout: 30_000 });
  const status = page.getByTestId('status');
  assert.match(await status.textContent(), /playing/);
  assert.equal(await page.getByTestId('error-banner').count(), 0);

  await page.evaluate((k) => setTimeout(() => window.replscope.crashForTest(k)), kind);
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="status"]', { hasText: 'stopped — internal error' }).waitFor();
  assert.equal(await page.locator('#error-banner').count(), 1, 'one banner');
  assert.match(await banner.textContent(), /replscope stopped because of an internal error/);
  const shown = await page.getByTestId('error-message').textContent();
  assert.ok(shown.includes(message), `banner says ${JSON.stringify(shown)}`);
  // The message is text, never HTML (the panic message has "<panic>" in it).
  assert.equal(await banner.locator('panic').count(), 0);
  assert.doesNotMatch(await status.textContent(), /playing/);

  // Time stands still, and input no longer reaches the wasm: a key or a click on Play would
  // borrow the model the crash left borrowed ("already borrowed", one more trap each time).
  const clock = await page.getByTestId('clock').textContent();
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  const play = await page.getByTestId('play-pause').boundingBox();
  await page.mouse.click(play.x + play.width / 2, play.y + play.height / 2);
  await page.waitForTimeout(1_500);
  assert.equal(await page.getByTestId('clock').textContent(), clock, 'the clock stopped');
  assert.match(await status.textContent(), /stopped — internal error/);
  assert.equal(page.problems.length, problems.length, `problems: ${page.problems.join(' | ')}`);
  problems.forEach((p, i) => assert.match(page.problems[i], p));
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid="app"]').inert), true);

  const shot = await screenshot(page, `trap-${kind}${projector ? '-projector' : ''}`);
  console.log(`banner: ${shot}`);

  const reload = page.getByTestId('reload-run');
  assert.equal(await reload.textContent(), 'Reload this run');
  assert.equal(await page.getByTestId('reload').textContent(), 'Reload');
  const href = await reload.getAttribute('href');
  // The actions travel packed (src/sim/run_link.rs); the reload below shows the write replayed.
  assert.match(href, /\?scenario=one-replica&v=1&seed=4&speed=[0-9.]+&slow=[01]&t=[0-9.]+#runz=[A-Za-z0-9_-]+$/);

  const before = page.problems.length;
  await Promise.all([page.waitForEvent('load'), reload.click()]);
  assert.equal(page.url(), href);
  await status.waitFor({ timeout: 15_000 });
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  await output.locator('.line', { hasText: `m:6379> SET ${key} survived` }).waitFor({ timeout: 30_000 });
  assert.deepEqual(await page.evaluate((k) => window.replscope.exec('m', `GET ${k}`), key), ['"survived"']);
  assert.match(await status.textContent(), /one-replica · seed 4 · (playing|paused)/);
  // When only the hash differs, the URL changes in place before the reload, and Chromium
  // starts fetching the favicon again, which the reload then cancels. Nothing else may fail.
  const favicon = /^request failed: \S+\/favicon[^/ ]*\.svg net::ERR_ABORTED$/;
  assert.deepEqual(page.problems.slice(before).filter((p) => !favicon.test(p)), []);
}

test('a panic shows the banner, stops time and reloads the run', async () => {
  await crashAndReload({
    kind: 'panic',
    // The Share link has this very query: only the hash changes, and the page must reload.
    query: '?scenario=one-replica&seed=4&speed=5',
    message: 'crashForTest("panic"): a deliberate <panic> for the test',
    // console_error_panic_hook logs the panic; the abort that follows is the uncaught trap.
    problems: [/^console error: panicked at src\/ui\/api\.rs:\d+:\d+:\ncrashForTest/, /^page error: unreachable$/],
  });
});

test('an allocation failure shows the banner, stops time and reloads the run', async () => {
  await crashAndReload({
    kind: 'oom',
    query: '?scenario=one-replica&seed=4',
    // An allocation failure aborts without a panic: the trap is all there is to show.
    message: 'RuntimeError: unreachable',
    problems: [/^page error: unreachable$/],
  });
});

test('the banner reads well in Projector mode', async () => {
  await crashAndReload({
    kind: 'panic',
    query: '?scenario=one-replica&seed=4&speed=5',
    projector: true,
    message: 'a deliberate <panic> for the test',
    problems: [/^console error: panicked at src\/ui\/api\.rs:\d+:\d+:\ncrashForTest/, /^page error: unreachable$/],
  });
});
