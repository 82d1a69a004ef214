// What the page cannot hold, it refuses in Redis's words or its own, and stays alive (issue
// #14, item 3: eleven console SETs of a 20 MB value used to exhaust the wasm memory, and the
// page froze without a banner). A console line over 64 KB is refused before it is kept; a
// node past its 16 MB answers -OOM, as Redis at its maxmemory does; CONFIG SET cannot lift
// the limit. The wasm memory is read from Trunk's start event, as tests/browser/endurance.mjs
// does. Screenshots: target/screenshots/limits-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const OOM = "(error) OOM command not allowed when used memory > 'maxmemory'.";

test('huge values are refused in words, a full node answers OOM, and the page lives on', async () => {
  const page = await watchedPage(browser);
  await page.addInitScript(() => {
    addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail?.wasm ?? null; });
  });
  await page.goto(`${site.url}?scenario=one-replica&seed=4&speed=5`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  const wasmMb = () => page.evaluate(() => window.__wasm.memory.buffer.byteLength / 2 ** 20);
  const start = await wasmMb();

  // Typed: a 1 MB line gets the console's own note, and nothing reaches the node.
  const input = page.getByTestId('console-m');
  await input.fill(`SET typed ${'x'.repeat(1 << 20)}`);
  await input.press('Enter');
  const output = page.getByTestId('console-output-m');
  await output.locator('.line', { hasText: 'a console line holds at most 64 KB; this one has 1025 KB' }).waitFor();
  assert.deepEqual(await page.evaluate(() => window.replscope.exec('m', 'EXISTS typed')), ['(integer) 0']);

  // Eleven 20 MB values through the JS API: each refused with the reason, none kept.
  const refused = await page.evaluate(() => {
    const big = 'x'.repeat(20e6);
    return Array.from({ length: 11 }, (_, i) => window.replscope.exec('m', `SET big${i} ${big}`));
  });
  refused.forEach((r) => assert.match(r, /a console line holds at most 64 KB; this one has 19532 KB/));

  // 60 KB values until the master is full: it answers -OOM, its replica still serves reads.
  const filled = await page.evaluate(() => {
    const value = 'v'.repeat(60_000);
    for (let i = 0; i < 1000; i++) {
      const reply = window.replscope.exec('m', `SET k${i} ${value}`);
      if (reply[0] !== 'OK') return { i, reply };
    }
    return { i: 1000 };
  });
  assert.ok(filled.i >= 240 && filled.i <= 300, `OOM after ${filled.i} values of 60 KB`);
  assert.deepEqual(filled.reply, [OOM]);
  await input.fill('SET one more');
  await input.press('Enter');
  await output.locator('.line', { hasText: OOM }).last().waitFor();
  assert.deepEqual(await page.evaluate(() => window.replscope.exec('m', 'CONFIG SET maxmemory 0')),
    ["(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be between 1 and 16777216 inclusive"]);
  const info = (await page.evaluate(() => window.replscope.exec('m', 'INFO memory'))).join('\n');
  assert.match(info, /maxmemory:16777216/);
  assert.match(info, /maxmemory_policy:noeviction/);
  await page.waitForFunction(() => window.replscope.exec('r1', 'DBSIZE')[0] !== '(integer) 0', null, { timeout: 30_000 });
  assert.deepEqual(await page.evaluate(() => window.replscope.exec('r1', 'STRLEN k0')), ['(integer) 60000']);
  await screenshot(page, 'limits-oom');

  // Alive: time runs, the picture answers, no banner, and the memory it took is bounded.
  const clock = await page.getByTestId('clock').textContent();
  await page.waitForFunction((c) => document.querySelector('[data-testid="clock"]').textContent !== c, clock);
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  const grown = (await wasmMb()) - start;
  console.log(`wasm memory: ${start.toFixed(0)} MB at start, +${grown.toFixed(0)} MB with a full master and its replica`);
  assert.ok(grown < 320, `the wasm memory grew by ${grown} MB`);
  assert.deepEqual(page.problems, []);
});
