// A student's session, click by click: write on the master and read on the replica, cut and
// heal a link and watch +CONTINUE, shrink the backlog and watch +FULLRESYNC, kill the master
// and promote a replica, then scrub back in time. Screenshots of each step go to
// target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

/** Types a command in a node's console and waits for the reply line(s) to appear. */
async function type(page, node, command, expected) {
  const input = page.getByTestId(`console-${node}`);
  // Two consoles are shown at a time: the picker brings any other in one click.
  if ((await input.count()) === 0) await page.getByTestId(`console-pick-${node}`).click();
  await input.fill(command);
  await input.press('Enter');
  const output = page.getByTestId(`console-output-${node}`);
  await output.locator('.line', { hasText: `${node}:6379> ${command}` }).last().waitFor({ timeout: 20_000 });
  if (expected !== undefined) {
    await output.locator('.line:not(.input)', { hasText: expected }).last().waitFor({ timeout: 30_000 });
  }
}

/** Reads on a replica until the write has arrived (replication is asynchronous: a read
 *  right after the write on the master may still see the old value, as in real life). */
async function readUntil(page, node, command, expected) {
  const output = page.getByTestId(`console-output-${node}`);
  for (let attempt = 0; attempt < 20; attempt++) {
    await type(page, node, command);
    const last = output.locator('.line:not(.input)').last();
    await page.waitForTimeout(300);
    if ((await last.textContent()).includes(expected)) return;
  }
  assert.fail(`${node}> ${command} never answered ${expected}`);
}

async function linkState(page, a, b, state) {
  await page.locator(`[data-testid="link-${a}-${b}"].link-${state}`).waitFor({ timeout: 60_000 });
}

async function linkAction(page, a, b, action) {
  // On its label, as a student would: a packet passing over the line would take a click
  // there (and Playwright waits until nothing covers the label).
  await page.getByTestId(`link-${a}-${b}`).locator('.link-label').click();
  await page.getByTestId(`link-action-${action}`).click();
}

test('write, read, cut, heal, resync, fail over, rewind', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=many-replicas&seed=3&speed=2`);
  await linkState(page, 'm', 'r1', 'connected');
  await linkState(page, 'm', 'r2', 'connected');

  // 1. Writes go to the master, the replica serves them, and refuses writes itself.
  await type(page, 'm', 'SET k v', 'OK');
  await readUntil(page, 'r1', 'GET k', '"v"');
  await type(page, 'r1', 'SET k x', '(error) READONLY');
  await screenshot(page, 'student-1-write-read');

  // 2. Cut the link, write meanwhile, heal: +CONTINUE and the missing writes arrive.
  await linkAction(page, 'm', 'r1', 'cut');
  await linkState(page, 'm', 'r1', 'cut');
  await type(page, 'm', 'SET during cut', 'OK');
  await linkAction(page, 'm', 'r1', 'heal');
  await page.getByTestId('psync-reply').filter({ hasText: '+CONTINUE' }).waitFor({ timeout: 30_000 });
  // The panel says what was sent; the ring marks the requested offset and the bytes sent.
  await page.getByTestId('psync-steps').filter({ hasText: 'bytes of backlog' }).waitFor();
  await page.getByTestId('backlog-psync').filter({ hasText: 'are in the backlog and are sent' }).waitFor();
  await page.locator('[data-testid="backlog-ring"] .ring-send').waitFor();
  await linkState(page, 'm', 'r1', 'connected');
  await readUntil(page, 'r1', 'GET during', '"cut"');
  await screenshot(page, 'student-2-continue');

  // 3. A 16 KB backlog, a cut, more than 16 KB of writes: the bytes are gone, full resync.
  await page.getByTestId('node-m').click();
  const form = page.getByTestId('config-form');
  await form.locator('select').selectOption('repl-backlog-size');
  await form.locator('input').fill('16kb');
  await form.locator('button').click();
  await page.getByTestId('console-output-m').locator('.line', { hasText: 'CONFIG SET repl-backlog-size "16kb"' }).waitFor();
  await type(page, 'm', 'CONFIG GET repl-backlog-size', '2) "16384"');
  await linkAction(page, 'm', 'r2', 'cut');
  await linkState(page, 'm', 'r2', 'cut');
  const big = 'x'.repeat(2000);
  for (let i = 0; i < 10; i++) await type(page, 'm', `SET big${i} ${big}`, 'OK');
  await linkAction(page, 'm', 'r2', 'heal');
  const decision = page.getByTestId('psync-decision');
  await decision.filter({ hasText: '+FULLRESYNC' }).filter({ hasText: 'overwritten' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('backlog-psync').filter({ hasText: 'overwritten' }).waitFor();
  await page.getByTestId('psync-steps').filter({ hasText: 'BGSAVE' }).waitFor({ timeout: 30_000 });
  await page.getByTestId('psync-steps').filter({ hasText: 'replica online' }).waitFor({ timeout: 30_000 });
  await linkState(page, 'm', 'r2', 'connected');
  await readUntil(page, 'r2', 'STRLEN big9', '(integer) 2000');
  await screenshot(page, 'student-3-fullresync');

  // 4. Kill the master, promote r1, point r2 at it: partial resync with the old history.
  await page.getByTestId('node-m').click();
  await page.getByTestId('node-action-kill').click();
  await page.locator('[data-testid="node-m"].down').waitFor();
  await page.getByTestId('node-r1').click();
  await page.getByTestId('node-action-promote').click();
  await type(page, 'r1', 'ROLE', '1) "master"');
  await type(page, 'r2', 'REPLICAOF r1 6379', 'OK');
  await linkState(page, 'r1', 'r2', 'connected');
  await page.getByTestId('psync-decision').filter({ hasText: 'asks r1' }).filter({ hasText: '+CONTINUE' }).waitFor({ timeout: 30_000 });
  await type(page, 'r1', 'SET after failover', 'OK');
  await readUntil(page, 'r2', 'GET after', '"failover"');
  await screenshot(page, 'student-4-failover');

  // 5. Scrub back to the start: m is alive again and r1 is a replica.
  await page.getByTestId('play-pause').click();
  const slider = page.getByTestId('time-slider');
  await slider.fill('3000');
  await page.locator('[data-testid="node-m"].master:not(.down)').waitFor();
  await page.locator('[data-testid="node-r1"].replica').waitFor();
  assert.match(await page.getByTestId('clock').textContent(), /^3\.000 s$/);
  await screenshot(page, 'student-5-rewind');

  // The JS API sees the same state.
  const snap = await page.evaluate(() => window.replscope.snapshot());
  assert.equal(snap.nodes.find((n) => n.name === 'r1').role, 'replica');
  assert.equal(snap.time_ms, 3000);
  assert.equal(await page.getByTestId('error-banner').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('a real Redis command replscope does not model is answered as Redis answers an unknown one, with a note', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=many-replicas&seed=3`);
  await linkState(page, 'm', 'r1', 'connected');
  await type(page, 'm', 'GEOADD g 13.36 38.11 palermo', '(error) ERR unknown command');
  const output = page.getByTestId('console-output-m');
  await output.locator('.line.note', { hasText: 'GEOADD is a real Redis 7.0 command, not modelled here' }).waitFor();
  // A name Redis does not have either gets Redis's error alone.
  await type(page, 'm', 'NOSUCH k', '(error) ERR unknown command');
  assert.equal(await output.locator('.line.note').count(), 1);
  // Commands the engine runs answer as Redis does, with no note.
  await type(page, 'm', 'RPUSH l a b c', '(integer) 3');
  await type(page, 'm', 'LPOS l c', '(integer) 2');
  assert.equal(await output.locator('.line.note').count(), 1);
  await screenshot(page, 'student-unmodelled-command');
  assert.deepEqual(page.problems, []);
});
