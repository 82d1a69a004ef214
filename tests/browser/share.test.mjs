// A run travels as a link: the share button encodes scenario, seed and actions; opening the
// link replays it. Malformed input through the JS API gets a message, not a broken page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

test('a shared link replays the run with its actions', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=4&speed=5`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  const input = page.getByTestId('console-m');
  await input.fill('SET shared yes');
  await input.press('Enter');
  await page.getByTestId('console-output-m').locator('.line', { hasText: 'OK' }).last().waitFor();
  await page.getByTestId('share').click();
  const url = await page.getByTestId('share-url').inputValue();
  assert.match(url, /\?scenario=one-replica&v=1&seed=4&speed=5&slow=[01]&t=[0-9.]+#run=/);

  const other = await watchedPage(browser);
  await other.goto(url);
  const out = other.getByTestId('console-output-m');
  await out.locator('.line', { hasText: 'm:6379> SET shared yes' }).waitFor({ timeout: 30_000 });
  const value = await other.evaluate(() => window.replscope.exec('m', 'GET shared'));
  assert.deepEqual(value, ['"yes"']);
  await screenshot(other, 'shared-link');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
});

test('a shared link opens at the shared moment, paused; the link is copied and floats', async () => {
  const page = await watchedPage(browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
  await page.goto(`${site.url}?scenario=partial-sync&seed=2&speed=5`);
  await page.waitForFunction(() => window.replscope.snapshot().time_ms > 3000, null, { timeout: 30_000 });
  await page.getByTestId('play-pause').click();
  const at = await page.evaluate(() => window.replscope.snapshot().time_ms);
  const clock = await page.getByTestId('clock').textContent();
  const topology = await page.getByTestId('topology').boundingBox();
  await page.getByTestId('share').click();
  // The link floats over the page: nothing moves.
  assert.deepEqual(await page.getByTestId('topology').boundingBox(), topology);
  await page.getByTestId('share-state').filter({ hasText: 'Link copied' }).waitFor();
  const url = await page.getByTestId('share-url').inputValue();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  assert.match(url, new RegExp(`&t=${at}(\\.\\d+)?#run=`));
  await screenshot(page, 'share-copied');

  // Opened: the same moment, paused, the same picture.
  const other = await watchedPage(browser);
  await other.goto(url);
  await other.getByTestId('topology').waitFor();
  assert.equal(await other.getByTestId('clock').textContent(), clock);
  assert.equal(await other.getByTestId('play-pause').textContent(), 'Play');
  await other.waitForTimeout(500);
  assert.equal(await other.evaluate(() => window.replscope.snapshot().time_ms), at);

  // Another scenario: the link to the old one goes away.
  await page.getByTestId('scenario-select').selectOption('chain');
  assert.equal(await page.getByTestId('share-bar').count(), 0);
  // A scenario that does not exist is said so, not silently replaced.
  const third = await watchedPage(browser);
  await third.goto(`${site.url}?scenario=nope`);
  await third.getByTestId('status').filter({ hasText: "there is no scenario named 'nope'" }).waitFor();
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
});

test('malformed input through the JS API is refused with a message', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&speed=100`);
  await page.getByTestId('node-m').waitFor();
  const bad = await page.evaluate(() => [
    window.replscope.loadScenario('{not json'),
    window.replscope.loadScenario(JSON.stringify({ name: 'x', title: 'x', nodes: [{ name: 'a', replicaof: 'b' }] })),
    window.replscope.importRun('[]'),
    window.replscope.act({ do: 'explode' }),
    window.replscope.act({ do: 'cut', a: 'm', b: 'nobody' }),
  ]);
  assert.match(bad[0], /invalid scenario/);
  assert.match(bad[1], /replicates unknown node 'b'/);
  assert.match(bad[2], /invalid run file/);
  assert.match(bad[3], /not an action/);
  assert.match(bad[4], /no node named 'nobody'/);
  // The page still works.
  const reply = await page.evaluate(() => window.replscope.exec('m', 'PING'));
  assert.deepEqual(reply, ['PONG']);
  const weird = await page.evaluate(() => window.replscope.exec('m', 'GET "unbalanced'));
  assert.equal(weird, 'Invalid argument(s)');
  assert.equal(await page.evaluate(() => window.replscope.exec('nobody', 'PING')), "no node named 'nobody'");
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  assert.deepEqual(page.problems, []);
});
