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
  assert.match(url, /\?scenario=one-replica&seed=4&speed=5#run=/);

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
