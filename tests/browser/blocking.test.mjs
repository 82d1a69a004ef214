// A blocking command typed in a console (issue #15): BLPOP on an empty list shows that it
// waits, the page stays live, a line typed meanwhile goes on a second connection (as in a
// second redis-cli) and serves it, and a BLPOP with a timeout answers (nil) once that much
// virtual time has passed; window.replscope.exec answers a blocked command's waiting at
// once. Screenshot: target/screenshots/blocking-waiting.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const WAITING = '(waiting… blocked until served or timed out)';

async function type(page, command) {
  const input = page.getByTestId('console-m');
  await input.fill(command);
  await input.press('Enter');
}

test('a blocked console command waits visibly and is served from a line typed beside it', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=4&speed=1`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  const output = page.getByTestId('console-output-m');
  const waiting = output.locator('.line', { hasText: WAITING });

  await type(page, 'BLPOP jobs 0');
  await waiting.waitFor({ timeout: 10_000 });
  await screenshot(page, 'blocking-waiting');
  // The page lives on: the clock runs and another line can be typed.
  await type(page, 'RPUSH jobs j1');
  await output.locator('.line:not(.input)', { hasText: '(integer) 1' }).waitFor({ timeout: 10_000 });
  await output.locator('.line:not(.input)', { hasText: '2) "j1"' }).waitFor({ timeout: 10_000 });
  await waiting.waitFor({ state: 'detached', timeout: 10_000 });

  await type(page, 'BRPOP other 1');
  await waiting.waitFor({ timeout: 10_000 });
  await output.locator('.line:not(.input)', { hasText: '(nil)' }).waitFor({ timeout: 20_000 });
  await waiting.waitFor({ state: 'detached', timeout: 10_000 });

  // Through the page's API: a blocked command answers that it waits (at once, not after
  // simulating a minute), and a push through the API serves it.
  assert.deepEqual(await page.evaluate(() => window.replscope.exec('m', 'BLPOP api 0')), [WAITING]);
  assert.deepEqual(await page.evaluate(() => window.replscope.exec('m', 'RPUSH api a')), ['(integer) 1']);
  await output.locator('.line:not(.input)', { hasText: '2) "a"' }).waitFor({ timeout: 10_000 });
});
