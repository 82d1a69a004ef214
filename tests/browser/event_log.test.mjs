// The event log's filter, as a student uses it: switch on commands and see each SET the
// master ran applied on a replica "(from the master)", narrow to one node, search for text,
// switch on replication events and find the PSYNC decision. Screenshot:
// target/screenshots/event-log-filter.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const lines = (page) => page.getByTestId('event-log').locator('ol li:not(.log-more)').allTextContents();

test('filter the event log by kind, node and text', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&seed=1&speed=10`);
  // The scenario's cut, writes and heal: wait for its partial resync.
  await page.getByTestId('psync-decision').getByText('+CONTINUE').waitFor({ timeout: 60_000 });
  await page.getByTestId('play-pause').click();
  await page.getByTestId('tab-events').click();

  // Commands are off by default, so the log reads like a server log.
  assert.equal(await page.getByTestId('log-filter-command').isChecked(), false);
  assert.ok((await lines(page)).every((l) => !l.includes('(from the master)')));

  // Commands on, only r1: the writes arrive from the master.
  await page.getByTestId('log-filter-command').check();
  await page.getByTestId('log-filter-node').selectOption('r1');
  await page.getByTestId('event-log').locator('li', { hasText: '(from the master)' }).first().waitFor();
  const r1 = await lines(page);
  assert.ok(r1.length > 0);
  assert.ok(r1.every((l) => /^\s*[\d.]+s\s*r1/.test(l)), r1.join('\n'));

  // Text: every line shown contains it, whatever its case.
  await page.getByTestId('log-filter-text').fill('set');
  await page.waitForTimeout(300);
  const sets = await lines(page);
  assert.ok(sets.length > 0 && sets.every((l) => l.toLowerCase().includes('set')), sets.join('\n'));

  // Replication events on, all nodes, search the decision.
  await page.getByTestId('log-filter-node').selectOption('');
  await page.getByTestId('log-filter-command').uncheck();
  await page.getByTestId('log-filter-replication').check();
  await page.getByTestId('log-filter-text').fill('+continue');
  await page.getByTestId('event-log').locator('li', { hasText: '→ +CONTINUE' }).first().waitFor();
  await screenshot(page, 'event-log-filter');

  // A filter that matches nothing leaves an empty log, not a broken page.
  await page.getByTestId('log-filter-text').fill('<b>nothing matches this</b>');
  await page.waitForTimeout(300);
  assert.deepEqual(await lines(page), []);
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  assert.deepEqual(page.problems, []);
});
