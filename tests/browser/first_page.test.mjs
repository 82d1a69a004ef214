// The built site opens in a real Chromium, the Yew app mounts, the first scenario plays, and
// nothing goes wrong on the way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

test('first page mounts and plays the first scenario', async () => {
  const page = await watchedPage(browser);
  const started = Date.now();
  await page.goto(site.url);
  const status = page.getByTestId('status');
  await status.waitFor({ timeout: 15_000 });
  console.log(`time to first render: ${Date.now() - started} ms`);
  assert.match(await status.textContent(), /one-replica · seed 1/);
  assert.equal(await page.locator('h1').textContent(), 'replscope');
  await page.getByTestId('node-m').waitFor();
  await page.getByTestId('node-r1').waitFor();
  // The replica's link reaches "connected" as the scenario plays.
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  // Heartbeats pulse: r1's REPLCONF ACK every second, m's PING every 10 s.
  await page.locator('.pulse-ring.ack').first().waitFor({ state: 'attached', timeout: 30_000 });
  await page.locator('.pulse-link.ping').first().waitFor({ state: 'attached', timeout: 60_000 });
  // A pulse fades within a second of real time, playing or paused.
  await page.getByTestId('play-pause').click();
  await page.waitForTimeout(1_200);
  assert.equal(await page.locator('.pulse').count(), 0);
  await page.getByTestId('play-pause').click();
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  await screenshot(page, 'first-page');
  assert.deepEqual(page.problems, []);
});
