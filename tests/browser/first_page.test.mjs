// The built site opens in a real Chromium, the Yew app mounts, and nothing goes wrong on the way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

test('first page mounts with title, topology area and status line', async () => {
  const page = await watchedPage(browser);
  await page.goto(site.url);
  const status = page.getByTestId('status');
  await status.waitFor({ timeout: 15_000 });
  assert.match(await status.textContent(), /ready/);
  assert.equal(await page.locator('h1').textContent(), 'replscope');
  assert.equal(await page.getByTestId('topology').locator('svg').count(), 1);
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  await screenshot(page, 'first-page');
  assert.deepEqual(page.problems, []);
});
