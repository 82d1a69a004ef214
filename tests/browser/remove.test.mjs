// Removing nodes: a student removes a replica from the inspector and it leaves the picture
// (node, link, console); "+ replica" does not reuse its name; removing the master leaves its
// replicas retrying a host that is gone; the JS API, time travel and share links know the
// action. Screenshots: target/screenshots/remove-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

async function linkState(page, a, b, state) {
  await page.locator(`[data-testid="link-${a}-${b}"].link-${state}`).waitFor({ timeout: 60_000 });
}

test('remove a replica, then the master, from the node menu', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=many-replicas&seed=3&speed=5`);
  await linkState(page, 'm', 'r2', 'connected');

  // 1. Remove r2: its node, link and console go; the event log says so.
  await page.getByTestId('node-r2').click();
  // It asks first; Cancel keeps the node.
  await page.getByTestId('node-action-ask-remove').click();
  await page.getByTestId('node-action-remove-cancel').click();
  assert.equal(await page.getByTestId('node-r2').count(), 1);
  await page.getByTestId('node-action-ask-remove').click();
  await page.getByTestId('node-action-remove').click();
  await page.getByTestId('node-r2').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('link-m-r2').count(), 0);
  assert.equal(await page.getByTestId('console-pick-r2').count(), 0);
  assert.equal(await page.getByTestId('inspector').count(), 0);
  await page.getByTestId('event-log').locator('li', { hasText: 'remove node r2' }).waitFor();
  const snap = await page.evaluate(() => window.replscope.snapshot());
  assert.deepEqual(snap.nodes.map((n) => n.name), ['m', 'r1', 'r3']);
  await screenshot(page, 'remove-1-replica');

  // 2. "+ replica" picks a fresh name, not the removed one.
  await page.getByTestId('add-replica').click();
  await linkState(page, 'm', 'r4', 'connected');
  assert.equal(await page.getByTestId('node-r2').count(), 0);

  // 3. Remove the master: its replicas keep dialing a host that is gone.
  await page.getByTestId('node-m').click();
  await page.getByTestId('node-action-ask-remove').click();
  await page.getByTestId('node-action-remove').click();
  await page.getByTestId('node-m').waitFor({ state: 'detached' });
  await page.locator('[data-testid="link-m-r1"].link-gone').waitFor();
  await page.locator('[data-testid="node-r1"].replica').waitFor();
  await screenshot(page, 'remove-2-master');

  // 4. The JS API: the same action, and a clear refusal for a name that is gone.
  assert.equal(await page.evaluate(() => window.replscope.act({ do: 'remove', node: 'r3' })), true);
  await page.getByTestId('node-r3').waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => window.replscope.act({ do: 'remove', node: 'r3' })), "node 'r3' was removed");
  assert.equal(await page.evaluate(() => window.replscope.exec('m', 'PING')), "node 'm' was removed");
  const run = JSON.parse(await page.evaluate(() => window.replscope.exportTrace()));
  assert.deepEqual(run.actions.filter((a) => a.action.do === 'remove').map((a) => a.action.node), ['r2', 'm', 'r3', 'r3']);

  // 5. A share link replays the removals.
  await page.getByTestId('share').click();
  const url = await page.getByTestId('share-url').inputValue();
  const other = await watchedPage(browser);
  await other.goto(url);
  await other.getByTestId('node-r4').waitFor({ timeout: 60_000 });
  await other.getByTestId('node-m').waitFor({ state: 'detached', timeout: 60_000 });
  assert.equal(await other.getByTestId('node-r2').count(), 0);

  // 6. Time travel: back before the removals everyone is there again.
  await page.getByTestId('play-pause').click();
  await page.getByTestId('time-slider').fill('3000');
  await page.getByTestId('node-r2').waitFor();
  await page.getByTestId('node-m').waitFor();
  await page.getByTestId('console-pick-r2').waitFor();
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
});
