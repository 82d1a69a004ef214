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
  assert.match(url, /\?scenario=one-replica&v=1&seed=4&speed=5&slow=[01]&t=[0-9.]+#runz=[A-Za-z0-9_-]+$/);

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
  assert.match(url, new RegExp(`&t=${at}(\\.\\d+)?#runz=`));
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

test('a long session travels as a compact link; older links still open; too long a run is saved as a file', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=4&speed=5`);
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  // 5000 commands typed (through the API, as fast as a script types).
  const n = 5000;
  const ok = await page.evaluate((n) => {
    for (let i = 0; i < n; i++) {
      if (window.replscope.act({ do: 'exec', node: 'm', command: `SET key:${i % 500} value-${i}` }) !== true) return i;
    }
    return n;
  }, n);
  assert.equal(ok, n);
  await page.getByTestId('share').click();
  const url = await page.getByTestId('share-url').inputValue();
  const hash = url.split('#runz=')[1];
  const perAction = hash.length / n;
  console.log(`share link: ${url.length} bytes for ${n} actions, ${perAction.toFixed(1)} bytes per action`);
  assert.ok(perAction < 20, `${perAction} bytes per action`);
  const other = await watchedPage(browser);
  await other.goto(url);
  await other.getByTestId('console-output-m').locator('.line', { hasText: `m:6379> SET key:499 value-${n - 1}` })
    .waitFor({ timeout: 60_000 });
  assert.deepEqual(await other.evaluate(() => window.replscope.exec('m', 'GET key:499')), [`"value-${n - 1}"`]);

  // A link made before the packed format (`#run=` and percent-encoded JSON) replays too.
  const actions = await page.evaluate(() => JSON.parse(window.replscope.exportTrace()).actions.slice(0, 40));
  const legacy = `${site.url}?scenario=one-replica&v=1&seed=4&speed=5#run=${encodeURIComponent(JSON.stringify(actions))}`;
  const third = await watchedPage(browser);
  await third.goto(legacy);
  const last = actions.filter((a) => a.action.do === 'exec').at(-1).action.command;
  await third.getByTestId('console-output-m').locator('.line', { hasText: `m:6379> ${last}` }).waitFor({ timeout: 30_000 });

  // A run whose link would pass 2 MB: the Share bar says how to keep it instead.
  const fourth = await watchedPage(browser);
  await fourth.goto(`${site.url}?scenario=one-replica&seed=4&speed=5`);
  await fourth.getByTestId('node-m').waitFor();
  const typed = await fourth.evaluate(() => {
    // Letters drawn at random (xorshift32): text LZ4, without entropy coding, cannot shrink.
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let x = 7;
    const next = () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return abc[x & 63]; };
    const noise = (len) => Array.from({ length: len }, next).join('');
    // 30 lines of 60 KB: about 2.4 MB of link.
    for (let i = 0; i < 30; i++) {
      const r = window.replscope.act({ do: 'exec', node: 'm', command: `SET noise${i} ${noise(60_000)}` });
      if (r !== true) return r;
    }
    return true;
  });
  assert.equal(typed, true);
  await fourth.getByTestId('share').click();
  const said = await fourth.getByTestId('share-too-long').textContent();
  assert.match(said, /^This run's link would be [23]\.\d MB, more than a browser opens \(2 MB\): Export ▸ Run \(file\) saves it, and Open a file… reopens it$/);
  assert.equal(await fourth.getByTestId('share-url').count(), 0);
  await screenshot(fourth, 'share-too-long');
  for (const p of [page, other, third, fourth]) assert.deepEqual(p.problems, []);
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
