// The topology picture stays readable at every size a class uses (issue #12, item 5), measured
// from the DOM at 1280×720: no label (a node's state line, a link's label) overlaps another
// label or any node's circle, no link passes through a third node's circle, every label is
// inside the picture, and the tree spans most of the picture's height. Checked at 2, 4 and
// 12 nodes (replicas of replicas three deep), in the built-in chain scenarios, and in
// projector mode. Positions are stable across role changes: after a failover every node
// keeps its x; a node keeps its y unless its depth changed (rows are depths, spread over the
// height); a node whose new row already had a node on its spot may take a free one.
// Screenshots: target/screenshots/topology-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serveDir, launch, watchedPage, screenshot } from './harness.mjs';

let site, browser;
before(async () => { site = await serveDir(); browser = await launch(); });
after(async () => { await browser?.close(); await site?.close(); });

async function open(query) {
  const page = await watchedPage(browser);
  await page.goto(`${site.url}${query}`);
  await page.getByTestId('status').waitFor({ timeout: 15_000 });
  return page;
}

/** Waits until the page has `count` nodes and every replica's link is connected, then for
 *  the picture to show it. */
async function settled(page, count) {
  await page.waitForFunction((n) => {
    const s = window.replscope.snapshot();
    const replicas = s.nodes.filter((x) => x.master);
    return s.nodes.length === n && replicas.every((r) =>
      s.links.some((l) => l.master === r.master && l.replica === r.name && l.state === 'connected'));
  }, count, { timeout: 90_000 });
  await page.waitForTimeout(400);
}

/** The picture as drawn: circles (screen centre and radius, with the node's depth), label
 *  boxes, and points along every link (sampled from its geometry, in screen coordinates). */
function measure(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('.topology-canvas');
    const snap = window.replscope.snapshot();
    const depth = (name) => {
      let d = 0;
      for (let n = snap.nodes.find((x) => x.name === name); n?.master && d <= 12; d++) {
        n = snap.nodes.find((x) => x.name === n.master);
      }
      return d;
    };
    const box = (el) => { const b = el.getBoundingClientRect(); return { l: b.left, t: b.top, r: b.right, b: b.bottom }; };
    const circles = [...svg.querySelectorAll('.node')].map((g) => {
      const b = g.querySelector('circle').getBoundingClientRect();
      const name = g.dataset.testid.slice('node-'.length);
      return { name, x: b.x + b.width / 2, y: b.y + b.height / 2, r: b.width / 2, depth: depth(name) };
    });
    const labels = [...svg.querySelectorAll('.node-state, .link-label')]
      .map((t) => ({ text: t.textContent, ...box(t) }));
    const links = [...svg.querySelectorAll('.link')].map((g) => {
      const [, master, replica] = g.dataset.testid.split('-');
      const line = g.querySelector('.link-line');
      const ctm = line.getScreenCTM();
      const length = line.getTotalLength();
      const points = [];
      for (let i = 0; i <= 400; i++) {
        const p = line.getPointAtLength(length * i / 400);
        const q = new DOMPoint(p.x, p.y).matrixTransform(ctm);
        points.push([q.x, q.y]);
      }
      return { master, replica, points };
    });
    // Screen pixels per unit of the picture.
    return { svg: box(svg), unit: svg.getScreenCTM().a, circles, labels, links };
  });
}

/** Asserts the picture is readable (see the top of the file). */
function assertReadable(m, what) {
  const overlap = (a, b) => Math.min(a.r, b.r) - Math.max(a.l, b.l) > 0.5 && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 0.5;
  const hitsCircle = (a, c) => {
    const dx = Math.max(a.l - c.x, 0, c.x - a.r);
    const dy = Math.max(a.t - c.y, 0, c.y - a.b);
    return Math.hypot(dx, dy) < c.r - 0.5;
  };
  const problems = [];
  for (let i = 0; i < m.labels.length; i++) {
    const a = m.labels[i];
    for (const b of m.labels.slice(i + 1)) {
      if (overlap(a, b)) problems.push(`label "${a.text}" overlaps label "${b.text}"`);
    }
    for (const c of m.circles) {
      if (hitsCircle(a, c)) problems.push(`label "${a.text}" overlaps node ${c.name}`);
    }
    if (a.l < m.svg.l - 0.5 || a.r > m.svg.r + 0.5 || a.t < m.svg.t - 0.5 || a.b > m.svg.b + 0.5) {
      problems.push(`label "${a.text}" is cut off by the picture's edge`);
    }
  }
  for (const l of m.links) {
    for (const c of m.circles) {
      if (c.name === l.master || c.name === l.replica) continue;
      if (l.points.some(([x, y]) => Math.hypot(x - c.x, y - c.y) < c.r - 0.5)) {
        problems.push(`link ${l.master}→${l.replica} passes through node ${c.name}`);
      }
    }
  }
  // Several rows: the tree (circles and their state lines) spans most of the height.
  if (new Set(m.circles.map((c) => c.depth)).size > 1) {
    const top = Math.min(...m.circles.map((c) => c.y - c.r));
    const bottom = Math.max(...m.circles.map((c) => c.y + c.r), ...m.labels.map((l) => l.b));
    const used = (bottom - top) / (m.svg.b - m.svg.t);
    if (used < 0.8) problems.push(`the tree spans ${(used * 100).toFixed(0)}% of the height`);
  }
  assert.deepEqual(problems, [], `${what}: ${problems.length} problems`);
}

/** Asserts the stability rule between two pictures of the same nodes. */
function assertStable(before, after, what) {
  const rowsBefore = new Set(before.circles.map((c) => c.depth)).size;
  const rowsAfter = new Set(after.circles.map((c) => c.depth)).size;
  const problems = [];
  for (const a of after.circles) {
    const b = before.circles.find((c) => c.name === a.name);
    const moved = Math.abs(a.x - b.x) > 3;
    // A node that changed row may stand aside from a spot another node of that row holds
    // (within a full-size node's width and a little air, 106 units of the picture).
    const spotTaken = a.depth !== b.depth && after.circles.some((o) => o !== a && o.depth === a.depth
      && Math.abs(o.x - b.x) < 106 * after.unit);
    if (moved && !spotTaken) problems.push(`${a.name} moved sideways ${b.x.toFixed(0)} → ${a.x.toFixed(0)}`);
    if (a.depth === b.depth && rowsBefore === rowsAfter && Math.abs(a.y - b.y) > 3) {
      problems.push(`${a.name} moved up or down ${b.y.toFixed(0)} → ${a.y.toFixed(0)} at the same depth`);
    }
  }
  assert.deepEqual(problems, [], what);
}

const exec = (page, node, command) => page.evaluate(([n, c]) => window.replscope.exec(n, c), [node, command]);

test('two nodes, and the chain scenarios, in normal and projector mode', async () => {
  const two = await open('?scenario=one-replica&speed=5');
  await settled(two, 2);
  assertReadable(await measure(two), 'one replica');
  assert.deepEqual(two.problems, []);

  for (const [scenario, count] of [['chain', 4], ['chained-proxy', 3]]) {
    const page = await open(`?scenario=${scenario}&speed=5`);
    await settled(page, count);
    assertReadable(await measure(page), scenario);
    // Writes flowing lengthen the link labels.
    await page.waitForFunction(() => window.replscope.snapshot().time_ms > 14_000, null, { timeout: 60_000 });
    assertReadable(await measure(page), `${scenario}, writes flowing`);
    await page.getByTestId('projector').click();
    await page.locator('.app.projector').waitFor();
    await page.waitForTimeout(300);
    assertReadable(await measure(page), `${scenario} in projector mode`);
    if (scenario === 'chain') await screenshot(page, 'topology-chain-projector');
    assert.deepEqual(page.problems, []);
  }
});

test('twelve nodes with replicas of replicas three deep, and a failover among them', async () => {
  const page = await open('?scenario=one-replica&speed=5');
  for (let n = 3; n <= 12; n++) {
    await page.getByTestId('add-replica').click();
    await page.waitForFunction((c) => window.replscope.snapshot().nodes.length === c, n);
  }
  // m → r1 r2 r3; r1 → r4 r5; r2 → r8 r9; r3 → r11; r4 → r6 r7; r5 → r10.
  for (const [replica, master] of [['r4', 'r1'], ['r5', 'r1'], ['r8', 'r2'], ['r9', 'r2'],
    ['r11', 'r3'], ['r6', 'r4'], ['r7', 'r4'], ['r10', 'r5']]) {
    assert.deepEqual(await exec(page, replica, `REPLICAOF ${master} 6379`), ['OK']);
  }
  await settled(page, 12);
  const tree = await measure(page);
  assert.equal(Math.max(...tree.circles.map((c) => c.depth)), 3);
  assertReadable(tree, 'twelve nodes');
  await screenshot(page, 'topology-12-nodes');

  // r1 takes over from m; m and its other replicas follow r1.
  assert.deepEqual(await exec(page, 'r1', 'REPLICAOF NO ONE'), ['OK']);
  for (const node of ['m', 'r2', 'r3']) assert.deepEqual(await exec(page, node, 'REPLICAOF r1 6379'), ['OK']);
  await settled(page, 12);
  const after = await measure(page);
  assertReadable(after, 'twelve nodes after the failover');
  assertStable(tree, after, 'twelve nodes, failover');
  await screenshot(page, 'topology-12-nodes-failover');

  await page.getByTestId('projector').click();
  await page.locator('.app.projector').waitFor();
  await page.waitForTimeout(300);
  assertReadable(await measure(page), 'twelve nodes in projector mode');
  await screenshot(page, 'topology-12-nodes-projector');
  assert.deepEqual(page.problems, []);
});

test('after a failover the nodes stay where they were', async () => {
  // The built-in failover: m dies, r1 is promoted, r2 and then the restarted m follow r1.
  const page = await open('?scenario=failover&speed=5');
  await settled(page, 3);
  const before = await measure(page);
  assertReadable(before, 'failover, before');
  await page.waitForFunction(() => window.replscope.snapshot().links.some((l) =>
    l.master === 'r1' && l.replica === 'm' && l.state === 'connected'), null, { timeout: 90_000 });
  await page.waitForTimeout(400);
  const after = await measure(page);
  assertReadable(after, 'failover, after');
  assertStable(before, after, 'failover scenario');
  for (const a of after.circles) {
    const b = before.circles.find((c) => c.name === a.name);
    assert.ok(Math.abs(a.x - b.x) <= 3, `${a.name} moved sideways ${b.x} → ${a.x}`);
  }

  // The chain scenario's middle node promoted: m and r1 swap rows, r2 and r3 move up a row.
  const chain = await open('?scenario=chain&speed=5');
  await settled(chain, 4);
  const tree = await measure(chain);
  assert.deepEqual(await exec(chain, 'r1', 'REPLICAOF NO ONE'), ['OK']);
  assert.deepEqual(await exec(chain, 'm', 'REPLICAOF r1 6379'), ['OK']);
  await settled(chain, 4);
  const promoted = await measure(chain);
  assertReadable(promoted, 'chain after promoting r1');
  assertStable(tree, promoted, 'chain, r1 promoted');
  assert.deepEqual(page.problems, []);
  assert.deepEqual(chain.problems, []);
});
