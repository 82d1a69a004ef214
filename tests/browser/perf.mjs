// Browser performance of the visualizer (run by `./x bench ui`, not by `./x test`): time to
// first render, frame times with 12 nodes, a heavy workload and ≥ 300 packets in flight, and
// the gzipped size of the wasm + js. Prints one JSON line.
import { gzipSync } from 'node:zlib';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveDir, launch, watchedPage, DIST } from './harness.mjs';

const site = await serveDir();
const browser = await launch();
try {
  const page = await watchedPage(browser);
  // In the page: from navigation start to the status line entering the DOM (the last thing
  // the first render draws). From outside: page.goto to Playwright seeing it, which adds the
  // driver's round trips and the wait for the load event.
  await page.addInitScript(() => {
    const seen = new MutationObserver(() => {
      if (!window.__firstRenderMs && document.querySelector('[data-testid="status"]')) {
        window.__firstRenderMs = performance.now();
        seen.disconnect();
      }
    });
    document.addEventListener('DOMContentLoaded', () => seen.observe(document.body, { childList: true, subtree: true }));
  });
  const t0 = Date.now();
  await page.goto(`${site.url}?scenario=one-replica`);
  await page.getByTestId('status').waitFor({ timeout: 15_000 });
  const firstRenderMs = Date.now() - t0;
  const firstRenderInPageMs = Math.round(await page.evaluate(() => window.__firstRenderMs));

  // 12 nodes, 30 ms links, 2000 writes/s: the master's stream to 11 replicas keeps hundreds
  // of segments on the wire.
  const nodes = [{ name: 'm' }];
  for (let i = 1; i <= 11; i++) nodes.push({ name: `r${i}`, replicaof: 'm' });
  const scenario = {
    name: 'stress-12', title: 'Stress: 12 nodes', latency_ms: 30, nodes,
    steps: [{ at_ms: 6500, do: 'workload', node: 'm', rate: 2000, keys: 1000, value_size: 32 }],
    until_ms: 60000,
  };
  const loaded = await page.evaluate((s) => window.replscope.loadScenario(JSON.stringify(s)), scenario);
  if (loaded !== true) throw new Error(`loadScenario: ${loaded}`);
  // Play at 1× (slider midpoint on its log scale) until the workload runs and packets fill
  // the links.
  await page.getByTestId('speed').fill('500');
  let packets = 0;
  for (let i = 0; i < 600 && packets < 300; i++) {
    await page.waitForTimeout(100);
    packets = await page.evaluate(() => window.replscope.snapshot().packets.length);
  }
  // Frame times: requestAnimationFrame deltas over 5 s while the simulation plays.
  const frames = await page.evaluate(() => new Promise((resolve) => {
    const deltas = []; let last = performance.now(); const end = last + 5000;
    const tick = (now) => { deltas.push(now - last); last = now; if (now < end) requestAnimationFrame(tick); else resolve(deltas); };
    requestAnimationFrame(tick);
  }));
  const packetsDuring = await page.evaluate(() => window.replscope.snapshot().packets.length);
  const packetsDrawn = await page.locator('circle.packet').count();
  frames.sort((a, b) => a - b);
  const pct = (p) => frames[Math.min(frames.length - 1, Math.floor(frames.length * p))];
  const files = readdirSync(DIST).filter((f) => f.endsWith('.wasm') || f.endsWith('.js'));
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(DIST, f)), { level: 9 }).length, 0);
  console.log(JSON.stringify({
    first_render_ms: firstRenderMs,
    first_render_in_page_ms: firstRenderInPageMs,
    speed: await page.getByTestId('speed').locator('xpath=..').textContent(),
    virtual_ms: await page.evaluate(() => window.replscope.snapshot().time_ms),
    nodes: 12,
    packets_in_flight_before: packets,
    packets_in_flight_after: packetsDuring,
    packets_drawn: packetsDrawn,
    frames: frames.length,
    frame_p50_ms: +pct(0.5).toFixed(1),
    frame_p95_ms: +pct(0.95).toFixed(1),
    // A frame that missed its vsync shows up as a delta of two intervals (~33 ms); Chromium
    // coarsens rAF timestamps to 0.1 ms, so on-time frames read 16.6–16.8 ms.
    frames_late: frames.filter((d) => d > 20).length,
    frame_max_ms: +frames[frames.length - 1].toFixed(1),
    wasm_js_gzip_kb: +(gz / 1024).toFixed(1),
    problems: page.problems,
  }));
} finally {
  await browser.close();
  await site.close();
}
