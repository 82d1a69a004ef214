// The side panels and the picture's words (issue #12, items 12 and 17):
// - the PSYNC panel says who asked for what and what the master has, keeps each replica's
//   decisions a click away, and always pairs with the backlog of the same node;
// - no "ack 0" before a replica's first ACK;
// - a silent link shows both sides' counters towards repl-timeout.
// Screenshots: target/screenshots/panels-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const clock = async (page) => parseFloat(await page.getByTestId('clock').textContent());

test('the PSYNC panel says who asked what and what the master has, keeps each replica\'s decisions, and pairs with the same backlog', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=chain&speed=2`);
  await page.getByTestId('topology').waitFor();
  const panel = page.getByTestId('psync-decision');
  // Sampled as the chain forms: the decision shown is always the backlog's node's own.
  for (let i = 0; i < 30; i++) {
    // Both read at once, as one frame shows them.
    const [p, b] = await page.evaluate(() => ['psync-decision', 'backlog-ring']
      .map((id) => document.querySelector(`[data-testid=${id}] h2`)?.textContent ?? ''));
    const decided = p.match(/asks (\S+)$/)?.[1];
    const ring = b.match(/Backlog of (\S+)/)?.[1];
    if (decided) assert.equal(decided, ring, `a PSYNC decided by ${decided} beside the backlog of ${ring}`);
    const side = await page.locator('.side').textContent();
    assert.ok(!side.includes('..='), `no Rust ranges on screen: ${side}`);
    await page.waitForTimeout(250);
  }
  // m's decisions, by replica, each a click away.
  await page.getByTestId('node-m').click();
  await panel.locator('h2', { hasText: /asks m$/ }).waitFor();
  const history = page.getByTestId('psync-history').locator('button');
  assert.ok(await history.count() >= 1);
  const request = await panel.locator('.request').textContent();
  assert.match(request, /^r\d asked (for replid \S+ from offset \d+|PSYNC \? -1)/, request);
  assert.match(await panel.locator('.checklist').textContent(), /m has replid .*backlog/);
  const first = history.first();
  const title = await first.getAttribute('title');
  await first.click();
  assert.ok(Math.abs(await clock(page) - parseFloat(title)) < 0.002, `the click went to ${title}`);
  await screenshot(page, 'panels-psync');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('right after a partial resync the ack list says no ACK came yet, not 0', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&speed=5`);
  await page.getByTestId('topology').waitFor();
  await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid=clock]').textContent) > 14, null, { timeout: 30_000 });
  await page.getByTestId('marker-decision').last().click();
  const acks = await page.getByTestId('backlog-ring').locator('.acks').textContent();
  assert.ok(!/ack\s*0\b/.test(acks), `the ack list says ${acks}`);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a silent link counts towards repl-timeout on both sides', async () => {
  const page = await watchedPage(browser);
  // Partitioned both ways at 9 s; at 15 s neither side has heard from the other for ~6 s
  // (the link opens there, paused).
  await page.goto(`${site.url}?scenario=heartbeat-timeout&t=15000`);
  await page.getByTestId('topology').waitFor();
  const label = await page.getByTestId('link-m-r1').locator('.link-label').textContent();
  assert.match(label, /r1 silent \d+\/10 s/, label);
  assert.match(label, /m no ACK \d+\/10 s/, label);
  await screenshot(page, 'panels-silence');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a packet opens with its words, beside the master, above the nodes; a new scenario forgets it', async () => {
  const page = await watchedPage(browser);
  // At 8 s the scenario sends SET counter 1 to m, which streams it to r1.
  await page.goto(`${site.url}?scenario=one-replica&t=7999`);
  await page.getByTestId('topology').waitFor();
  // Step until the write leaves m: it sits on m's edge, where a click used to open m.
  let found = false;
  for (let i = 0; i < 80 && !found; i++) {
    await page.keyboard.press('ArrowRight');
    found = await page.evaluate(() => window.replscope.snapshot().packets.some((p) => p.kind === 'Stream' && p.from === 'm'));
  }
  assert.ok(found, 'the write to r1 left m');
  await page.locator('[data-testid=packet].write').first().click();
  const detail = page.getByTestId('packet-detail');
  await detail.waitFor();
  assert.equal(await page.getByTestId('node-action-kill').count(), 0, 'the click opened the packet, not the node');
  assert.match(await page.getByTestId('packet-words').textContent(), /SET counter 1/);
  const box = await detail.boundingBox();
  const master = await page.getByTestId('node-m').locator('circle').boundingBox();
  const overlap = box.x < master.x + master.width && master.x < box.x + box.width
    && box.y < master.y + master.height && master.y < box.y + box.height;
  assert.ok(!overlap, 'the packet\'s words do not cover the master');
  await screenshot(page, 'panels-packet');
  // Another scenario: the selection does not come back as an unrelated packet.
  await page.getByTestId('scenario-select').selectOption('partial-sync');
  assert.equal(await detail.count(), 0);
  await page.waitForTimeout(1500);
  assert.equal(await page.getByTestId('packet-detail').count(), 0);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the event log speaks Redis, holds still while read, and reaches older lines', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=continuous-replication&speed=2`);
  await page.getByTestId('topology').waitFor();
  await page.getByTestId('log-filter-replication').check();
  await page.getByTestId('log-filter-command').check();
  await page.waitForFunction(() => parseFloat(document.querySelector('[data-testid=clock]').textContent) > 12, null, { timeout: 30_000 });
  const lines = page.getByTestId('log-lines').locator('li');
  await page.getByTestId('log-filter-text').fill('online');
  const online = await lines.allTextContents();
  assert.ok(online.some((l) => /replica r1: online/.test(l)), `a replica is named, not a connection number: ${online}`);
  await page.getByTestId('log-filter-text').fill('');
  for (const l of await lines.allTextContents()) {
    assert.ok(!/Some\(|None\b|In\(\d|Out\(\d|connection \d/.test(l), `Rust or numbers leak: ${l}`);
  }

  // Scrolled down to read: the lines hold still while new ones come.
  await page.getByTestId('log-lines').evaluate((el) => { el.scrollTop = 120; el.dispatchEvent(new Event('scroll')); });
  const held = page.getByTestId('log-held');
  await held.waitFor();
  const before = await lines.allTextContents();
  await page.waitForTimeout(1500);
  assert.deepEqual(await lines.allTextContents(), before, 'the lines moved while being read');
  assert.match(await held.textContent(), /[1-9]\d*\+? newer lines/);
  await screenshot(page, 'panels-log-held');
  await page.getByTestId('log-latest').click();
  assert.equal(await held.count(), 0);
  assert.notDeepEqual(await lines.allTextContents(), before, 'back to the latest lines');

  // Older lines, a click away.
  await page.getByTestId('play-pause').click();
  const shown = await lines.count();
  await page.getByTestId('log-older').click();
  // (The page redraws on its next frame.)
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=log-lines] li').length > n, shown, { timeout: 5_000 })
    .catch(() => assert.fail(`no more than the ${shown} lines shown`));
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the space-time diagram: slanted arrows with heads and labels, a time axis, tooltips, a window to choose', async () => {
  const page = await watchedPage(browser);
  // 8.5 s into partial-sync: m streams 10 writes/s to r1 over a 2 ms link; r1 ACKs each second.
  await page.goto(`${site.url}?scenario=partial-sync&t=8404`);
  await page.getByTestId('topology').waitFor();
  await page.getByTestId('tab-space-time').click();
  const st = page.getByTestId('space-time');
  await st.waitFor();
  await page.getByTestId('space-time-window').selectOption('1000');
  await page.waitForTimeout(200);
  const arrows = await st.locator('g.arrow').evaluateAll((gs) => gs.map((g) => {
    const l = g.querySelector('line');
    return {
      run: Math.abs(+l.getAttribute('x2') - +l.getAttribute('x1')),
      rise: Math.abs(+l.getAttribute('y2') - +l.getAttribute('y1')),
      head: l.getAttribute('marker-end'),
      label: g.querySelector('text')?.textContent ?? null,
      title: g.querySelector('title')?.textContent ?? '',
    };
  }));
  assert.ok(arrows.length >= 5, `arrows in the last second: ${arrows.length}`);
  for (const a of arrows) {
    assert.ok(a.run >= 4.9, `a 2 ms hop drawn as a vertical stroke: ${JSON.stringify(a)}`);
    assert.ok(a.head?.startsWith('url(#st-head-'), 'an arrowhead');
    assert.match(a.title, /^(m → r1|r1 → m): .+ \(\d+ bytes\)$/);
  }
  // On a 50 ms window the hops are wide enough to carry their words.
  await page.getByTestId('space-time-window').selectOption('50');
  await page.waitForTimeout(200);
  const labels = await st.locator('g.arrow text').allTextContents();
  assert.ok(labels.some((l) => /^(SET|SELECT|ACK|PING)/.test(l)), `labels: ${labels}`);
  const ticks = await st.locator('.st-tick text').allTextContents();
  assert.ok(ticks.length >= 2 && ticks.every((t) => / s$/.test(t)), `a time axis: ${ticks}`);
  await screenshot(page, 'panels-space-time');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a click outside closes the inspector; the playback controls keep it open', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&t=8000`);
  await page.getByTestId('topology').waitFor();
  const open = () => page.getByTestId('node-action-kill').count();
  await page.getByTestId('node-m').click();
  assert.equal(await open(), 1);
  await page.getByTestId('step').click();
  assert.equal(await open(), 1, 'stepping keeps the inspector open');
  // The picture's empty corner.
  const box = await page.getByTestId('topology').boundingBox();
  await page.mouse.click(box.x + 10, box.y + box.height - 10);
  assert.equal(await open(), 0, 'a click on the picture outside any node closes it');
  await page.getByTestId('node-r1').click();
  assert.equal(await open(), 1);
  await page.getByTestId('event-log').click({ position: { x: 20, y: 5 } });
  assert.equal(await open(), 0, 'a click on the event log closes it');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('Export: the picture as SVG and PNG, and a transcript of decisions and events, for handouts', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=partial-sync&t=15000`);
  await page.getByTestId('topology').waitFor();
  const saved = async (testid) => {
    await page.getByTestId('export').locator('summary').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    return { name: download.suggestedFilename(), bytes: await readFile(path) };
  };
  const svg = await saved('export-svg');
  assert.match(svg.name, /^replscope-partial-sync-15\.000s\.svg$/);
  const text = svg.bytes.toString();
  assert.ok(text.startsWith('<svg') && text.includes('xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(/data-testid="node-m"/.test(text) && /fill:/.test(text), 'the nodes, with their colours inline');
  const png = await saved('export-png');
  assert.ok(png.name.endsWith('.png') && png.bytes.subarray(1, 4).toString() === 'PNG' && png.bytes.length > 2000);
  const transcript = (await saved('export-transcript')).bytes.toString();
  assert.match(transcript, /^replscope · Partial resync after a short cut · seed 6 · at 15\.000 s/);
  assert.match(transcript, /r1 asked m: PSYNC \? -1 → \+FULLRESYNC/);
  assert.match(transcript, /r1 asked m: PSYNC [0-9a-f]{40} \d+ → \+CONTINUE/);
  assert.match(transcript, /cut link m–r1/);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('Projector makes the picture and its numbers larger, not smaller', async () => {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}?scenario=one-replica&t=9000`);
  await page.getByTestId('topology').waitFor();
  const measure = () => page.getByTestId('node-r1').evaluate((g) => ({
    circle: g.querySelector('circle').getBoundingClientRect().width,
    offset: g.querySelectorAll('.node-detail')[0].getBoundingClientRect().height,
  }));
  const normal = await measure();
  await page.getByTestId('projector').click();
  await page.waitForTimeout(200);
  const big = await measure();
  assert.ok(big.circle > normal.circle * 1.1, `nodes: ${normal.circle.toFixed(1)} px, in Projector ${big.circle.toFixed(1)} px`);
  assert.ok(big.offset >= 14, `an offset in Projector is ${big.offset.toFixed(1)} px tall`);
  // The header stays one row: every control on screen, none wrapped below the first.
  const top = await page.getByTestId('scenario-select').boundingBox();
  const help = await page.getByTestId('help-button').boundingBox();
  assert.ok(Math.abs(help.y - top.y) < top.height, 'the header is one row');
  await screenshot(page, 'panels-projector');
  assert.deepEqual(page.problems, []);
  await page.close();
});
