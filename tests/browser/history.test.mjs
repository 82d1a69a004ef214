// A long busy run keeps its memory bounded by dropping old detail, and says so instead of
// showing an empty list: a student plays one-replica at 1000 writes/s fast, scrubs back to
// an early moment and asks the event log for r1's commands there. The log says older lines
// are not kept; "Recompute earlier lines" replays that part of the run and shows them. The
// space-time diagram says its segments are not kept either. Screenshots:
// target/screenshots/event-log-recomputed.png, space-time-dropped.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const lines = (page) => page.getByTestId('event-log').locator('ol li:not(.log-more)').allTextContents();
const clockSeconds = async (page) => parseFloat(await page.getByTestId('clock').textContent());

test('the event log recomputes the lines a long run no longer keeps', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&seed=1`);
  await page.getByTestId('workload').selectOption('1000');
  await page.getByTestId('speed').fill('1000');
  // The history keeps the last few thousand commands: well past that, r1's commands of
  // the tenth second are gone from memory.
  await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid="clock"]').textContent) > 90,
    null, { timeout: 120_000, polling: 500 });
  await page.getByTestId('play-pause').click();
  assert.ok((await clockSeconds(page)) > 90);

  await page.getByTestId('tab-events').click();
  for (const kind of ['action', 'log', 'warning', 'stale']) await page.getByTestId(`log-filter-${kind}`).uncheck();
  await page.getByTestId('log-filter-command').check();
  await page.getByTestId('log-filter-node').selectOption('r1');
  // Scrub back to 10 s.
  await page.getByTestId('time-slider').fill('10000');
  assert.ok(Math.abs((await clockSeconds(page)) - 10) < 0.01, await page.getByTestId('clock').textContent());
  await page.getByTestId('log-dropped').waitFor({ timeout: 10_000 });
  assert.deepEqual(await lines(page), [], 'nothing kept for that moment');

  await page.getByTestId('log-recompute').click();
  await page.getByTestId('event-log').locator('li', { hasText: '(from the master)' }).first().waitFor({ timeout: 10_000 });
  const shown = await lines(page);
  assert.ok(shown.length >= 50, `${shown.length} lines`);
  for (const l of shown) {
    const m = /^\s*([\d.]+)s\s*r1\s*SET key:\d+ [a-z]+ \(from the master\)$/.exec(l);
    assert.ok(m, l);
    assert.ok(parseFloat(m[1]) <= 10, l);
  }
  await screenshot(page, 'event-log-recomputed');

  // The space-time diagram of that moment: its segments were dropped too, and it says so
  // rather than showing quiet links.
  await page.getByTestId('tab-space-time').click();
  const dropped = page.getByTestId('space-time-dropped');
  await dropped.waitFor({ timeout: 10_000 });
  assert.match(await dropped.textContent(), /^Segments sent before \d+\.\d{3} s are no longer kept/);
  await screenshot(page, 'space-time-dropped');
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  assert.deepEqual(page.problems, []);
});
