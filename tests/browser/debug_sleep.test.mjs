// DEBUG SLEEP typed in a console (issue #15): the node is shown asleep (its circle dashed, its
// label saying so) while it serves nobody, the console gets its OK when it wakes, and the
// node is shown up again. Screenshot: target/screenshots/debug-sleep.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

test('a node in DEBUG SLEEP is shown asleep until it answers', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=4&speed=1`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  const input = page.getByTestId('console-m');
  const output = page.getByTestId('console-output-m');
  const oks = output.locator('.line:not(.input)', { hasText: /^OK$/ });
  await input.fill('DEBUG SLEEP 5');
  await input.press('Enter');
  const node = page.getByTestId('node-m');
  await page.locator('[data-testid="node-m"].asleep').waitFor({ timeout: 10_000 });
  assert.match(await node.locator('.node-state').textContent(), /asleep/);
  await screenshot(page, 'debug-sleep');
  // The scenario's own writes may have been answered in the same instant: count from here.
  const before = await oks.count();
  await page.waitForTimeout(1_000);
  assert.equal(await node.getAttribute('class').then((c) => c.includes('asleep')), true);
  assert.equal(await oks.count(), before, 'no answer while asleep');
  await oks.nth(before).waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="node-m"].up').waitFor({ timeout: 10_000 });
  assert.deepEqual(page.problems, []);
  await page.close();
});
