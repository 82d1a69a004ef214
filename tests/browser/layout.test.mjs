// The page fits a classroom projector: at 1280×720 everything a lesson needs (controls,
// topology, PSYNC decision, backlog ring, a console, the event log) is on screen and the
// document itself never scrolls (panels scroll inside), with the default scenario and with 12
// nodes; the same holds at 1920×1080 and in projector mode. Screenshots go to
// target/screenshots/layout-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

const ESSENTIAL = ['play-pause', 'step', 'step-back', 'speed', 'time-slider', 'scenario-select',
  'topology', 'psync-decision', 'backlog-ring', 'console-m', 'console-output-m', 'event-log'];

/** Asserts that the document does not scroll and that every essential part (and `extra`) is
 *  fully inside the viewport; `only` replaces the essential list. */
async function assertFits(page, label, extra = [], only = ESSENTIAL) {
  const dims = await page.evaluate(() => ({
    scrollHeight: document.documentElement.scrollHeight,
    scrollWidth: document.documentElement.scrollWidth,
    innerHeight, innerWidth,
  }));
  assert.ok(dims.scrollHeight <= dims.innerHeight, `${label}: the page scrolls vertically ${JSON.stringify(dims)}`);
  assert.ok(dims.scrollWidth <= dims.innerWidth, `${label}: the page scrolls sideways ${JSON.stringify(dims)}`);
  for (const id of [...only, ...extra]) {
    const box = await page.getByTestId(id).boundingBox();
    assert.ok(box, `${label}: ${id} is not displayed`);
    assert.ok(box.width > 0 && box.height > 0, `${label}: ${id} has no size`);
    assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= dims.innerWidth + 0.5
      && box.y + box.height <= dims.innerHeight + 0.5, `${label}: ${id} is off screen ${JSON.stringify(box)}`);
  }
}

async function open(viewport, query) {
  const page = await watchedPage(browser, viewport);
  await page.goto(`${site.url}${query}`);
  await page.getByTestId('status').waitFor({ timeout: 15_000 });
  return page;
}

/** Twelve nodes: a master and eleven replicas. */
function twelve() {
  const nodes = [{ name: 'm' }];
  for (let i = 1; i <= 11; i++) nodes.push({ name: `r${i}`, replicaof: 'm' });
  return { name: 'twelve', title: 'Twelve nodes', description: 'A master and eleven replicas.', nodes };
}

test('1280×720: the default scenario fits without scrolling', async () => {
  const page = await open({ width: 1280, height: 720 }, '?speed=5');
  await page.locator('[data-testid="link-m-r1"].link-connected').waitFor({ timeout: 30_000 });
  await assertFits(page, '1280×720 default', ['node-m', 'node-r1', 'console-r1']);
  // A selected node's inspector scrolls inside the side column, not the page.
  await page.getByTestId('node-m').click();
  await page.getByTestId('inspector').waitFor();
  await assertFits(page, '1280×720 inspector', ['node-action-kill', 'node-action-ask-remove']);
  // The space-time diagram is one tab away.
  await page.getByTestId('tab-space-time').click();
  await page.getByTestId('space-time').waitFor();
  await assertFits(page, '1280×720 space-time', ['space-time'], ['topology', 'psync-decision', 'backlog-ring', 'console-m']);
  await page.getByTestId('tab-events').click();
  await screenshot(page, 'layout-1280x720');
  assert.deepEqual(page.problems, []);
});

test('1280×720: twelve nodes fit, every node on screen', async () => {
  const page = await open({ width: 1280, height: 720 }, '?speed=5');
  const loaded = await page.evaluate((s) => window.replscope.loadScenario(JSON.stringify(s)), twelve());
  assert.equal(loaded, true);
  await page.locator('[data-testid="link-m-r11"].link-connected').waitFor({ timeout: 60_000 });
  const nodes = ['node-m', ...Array.from({ length: 11 }, (_, i) => `node-r${i + 1}`)];
  await assertFits(page, '1280×720 twelve nodes', nodes);
  // No two nodes overlap.
  const boxes = await Promise.all(nodes.map((id) => page.getByTestId(id).locator('circle').boundingBox()));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      assert.ok(apart, `${nodes[i]} overlaps ${nodes[j]}`);
    }
  }
  await screenshot(page, 'layout-1280x720-12-nodes');
  assert.deepEqual(page.problems, []);
});

test('1280×720 in projector mode, and 1920×1080, fit too', async () => {
  const page = await open({ width: 1280, height: 720 }, '?scenario=many-replicas&speed=5');
  await page.getByTestId('projector').click();
  await page.locator('[data-testid="link-m-r3"].link-connected').waitFor({ timeout: 30_000 });
  await assertFits(page, '1280×720 projector', ['node-r3']);
  await screenshot(page, 'layout-1280x720-projector');

  const wide = await open({ width: 1920, height: 1080 }, '?scenario=many-replicas&speed=5');
  await wide.locator('[data-testid="link-m-r3"].link-connected').waitFor({ timeout: 30_000 });
  // Wide enough for the event log and the space-time diagram at once.
  await assertFits(wide, '1920×1080', ['space-time', 'console-r1', 'console-pick-r3']);
  await screenshot(wide, 'layout-1920x1080');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(wide.problems, []);
});
