// Endurance of the page at its busiest workload (issue #11), run by `./x bench endurance`, not by
// `./x test`: it plays for minutes. A teacher's setup through the UI (one-replica, "+ replica"
// up to 12 nodes, 1000 writes/s, the speed slider at its maximum, 100×), then for
// ENDURANCE_WALL_S seconds of wall time (default 600) every 5 s: the simulated seconds covered,
// the renderer's RSS, the wasm linear memory, and whether the page is alive. After that, if it
// still is: requestAnimationFrame p95 at 100× and at 1×, and the latency of time-slider seeks
// near the head and anywhere. Prints one JSON line on stdout; progress goes to stderr.
//
// A page that dies (trap, error banner, crashed renderer, a clock that stops) is a measurement,
// not a failure: the JSON says when, and the exit status is 0. Only a harness failure (the
// site does not load, the setup cannot be done through the UI, an exception here) exits 1.
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { serveDir, launch, watchedPage } from './harness.mjs';

const WALL_S = Number(process.env.ENDURANCE_WALL_S ?? 600);
if (!(WALL_S > 0)) throw new Error(`ENDURANCE_WALL_S must be a positive number of seconds, not ${process.env.ENDURANCE_WALL_S}`);
const NODES = 12;
// What the page opens (ENDURANCE_OPEN: a query string; a lesson runs its checker all along).
const OPEN = process.env.ENDURANCE_OPEN ?? 'scenario=one-replica';
const WORKLOAD = '1000';
const SPEED_MAX = '1000'; // the speed slider's top: 100× (log scale 0.01×..100× over 0..1000)
const SPEED_1X = '500';
const SAMPLE_MS = 5_000;
const FRAME_WINDOW_MS = 5_000;
const SEEK_TIMEOUT_MS = 30_000;
const NEAR_MS = 10 * 60 * 1000; // "near" seek targets: within the last 10 simulated minutes
const SEEKS_NEAR = 20;
const SEEKS_FAR = 10;
// Everything in the page goes through evaluate calls with this limit: the page's main thread
// can block (a long seek, a tick that never returns), and Playwright's evaluate never gives up.
const EVAL_TIMEOUT_MS = 15_000;
// The whole run, whatever happens: budget plus setup, measurements and closing.
const HARD_LIMIT_MS = (WALL_S + 900) * 1000;

const log = (msg) => process.stderr.write(`endurance: ${msg}\n`);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, Math.max(0, ms)));
const round = (x, d = 1) => (x == null || !Number.isFinite(x) ? null : +x.toFixed(d));

class Timeout extends Error {}
/** `promise`, or a Timeout rejection after `ms` (the promise itself keeps running). */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, no) => { timer = setTimeout(() => no(new Timeout(`${what}: no answer in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** The p-quantile (0..1) of numbers, nearest rank; null when there are none. */
function quantile(values, p) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}
const stats = (ms) => ({ n: ms.length, p50_ms: round(quantile(ms, 0.5)), p95_ms: round(quantile(ms, 0.95)), max_ms: round(quantile(ms, 1)) });

// --- The renderer's memory, from /proc -----------------------------------------------------
// Playwright's launch() gives no handle on the browser's processes, so they are found by
// ancestry: Playwright runs inside this Node process and spawns Chromium as its child; the
// renderers descend from it through the zygote. Only processes below this pid count, so other
// Chromiums on the machine (other sessions' tests) are never measured.

/** pid → { ppid, cmdline } for every process we may read. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in /proc/<pid>/stat is in parentheses and may contain spaces.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      table.set(Number(name), { ppid, cmdline });
    } catch { /* the process ended while we looked */ }
  }
  return table;
}

function descendsFrom(table, pid, ancestor) {
  for (let p = table.get(pid)?.ppid, hops = 0; p && hops < 64; p = table.get(p)?.ppid, hops++) {
    if (p === ancestor) return true;
  }
  return false;
}

/** Our browser's renderer processes: pid, VmRSS and VmHWM (peak RSS) in MB. */
function renderers() {
  const table = processTable();
  const found = [];
  for (const [pid, { cmdline }] of table) {
    if (!cmdline.includes('--type=renderer') || !descendsFrom(table, pid, process.pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
      found.push({ pid, rss_mb: kb('VmRSS') / 1024, hwm_mb: kb('VmHWM') / 1024 });
    } catch { /* gone */ }
  }
  return found;
}

/** Chromium processes started by this Node process (the browser itself), to kill if close() hangs. */
function browserPids() {
  return [...processTable()].filter(([, p]) => p.ppid === process.pid && /chrom/i.test(p.cmdline)).map(([pid]) => pid);
}

// --- In the page ------------------------------------------------------------------------------
// Installed before the app loads: a requestAnimationFrame loop that records every frame delta
// (read and cleared by each sample), and the wasm instance's exports from Trunk's
// `TrunkApplicationStarted` event, whose `memory` gives the linear memory's size (the app itself
// exposes nothing of it; `performance.memory` is the JS heap only).
function pageProbe() {
  const probe = { frames: [], wasm: null };
  window.__endurance = probe;
  addEventListener('TrunkApplicationStarted', (e) => { probe.wasm = e.detail?.wasm ?? null; });
  let last;
  const loop = (now) => {
    if (last !== undefined && probe.frames.length < 100_000) probe.frames.push(now - last);
    last = now;
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}

/** What one sample reads in the page: DOM only (no wasm call), so it works after a trap too. */
function readPage() {
  const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? null;
  const probe = window.__endurance;
  const mem = probe?.wasm?.memory;
  return {
    clock: text('clock'),
    status: text('status'),
    banner: text('error-banner'),
    wasm_mb: mem ? mem.buffer.byteLength / 2 ** 20 : null,
    js_heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null,
    frames: probe ? probe.frames.splice(0) : [],
  };
}

/** The clock's "12.345 s" as seconds. */
const clockS = (text) => { const m = /([\d.]+)\s*s/.exec(text ?? ''); return m ? Number(m[1]) : null; };

// --- The run ---------------------------------------------------------------------------------

const result = {
  wall_s: null, sim_s_covered: null, sim_s_per_wall_s: null, peak_rss_mb: null, renderer_hwm_mb: null,
  peak_wasm_mb: null, rss_samples: [], died_at_wall_s: null, died_at_sim_s: null, death: null,
  frame_p95_max_speed_ms: null, frame_p95_1x_ms: null, frames_max_speed: null, frames_1x: null,
  sim_s_per_wall_s_1x: null, seek_near: null, seek_far: null, seek_note: null,
  nodes: null, workload: null, speed: null, budget_wall_s: WALL_S, problems: [], error: null,
  // The machine is shared: its load says how far the figures can be trusted.
  started_at: new Date().toISOString(), browser: null, loadavg_start: loadavg().map((x) => round(x, 2)), loadavg_end: null,
};

const hardStop = setTimeout(() => {
  result.error = `hard limit of ${HARD_LIMIT_MS / 1000} s reached`;
  console.log(JSON.stringify(result));
  for (const pid of browserPids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  process.exit(1);
}, HARD_LIMIT_MS);
hardStop.unref();

const site = await serveDir();
let browser;
let page;
let exitCode = 0;
try {
  browser = await launch();
  result.browser = `Chromium ${browser.version()}`;
  page = await watchedPage(browser);
  page.setDefaultTimeout(30_000);
  // Wall time of the first sign of death, from the page's own events.
  let playStart = null;
  const since = () => (playStart == null ? 0 : (Date.now() - playStart) / 1000);
  const errors = []; // uncaught exceptions with their wall time; a trap repeats on every tick
  let crashed = null;
  page.on('pageerror', (err) => { if (errors.length < 50) errors.push({ t: since(), message: err.message }); });
  page.on('crash', () => { crashed ??= since(); });
  const evaluate = (fn, arg, ms = EVAL_TIMEOUT_MS) => withTimeout(page.evaluate(fn, arg), ms, 'page.evaluate');
  await page.addInitScript(pageProbe);

  // 1. A teacher's setup, through the UI.
  await page.goto(`${site.url}?${OPEN}`);
  await page.getByTestId('status').waitFor({ timeout: 15_000 });
  const nodeCount = () => evaluate(() => window.replscope.snapshot().nodes.length);
  let nodes = await nodeCount();
  for (let clicks = 0; nodes < NODES; clicks++) {
    if (clicks >= NODES + 5) throw new Error(`"+ replica" clicked ${clicks} times, still ${nodes} nodes`);
    // One click at a time: the button names the new node from the last render, so a second
    // click before the page re-renders would reuse the name.
    await page.getByTestId('add-replica').click();
    const before = nodes;
    for (let i = 0; i < 100 && nodes === before; i++) { await sleep(100); nodes = await nodeCount(); }
  }
  result.nodes = nodes;
  // Memory before the workload: what 12 nodes and their full syncs cost alone.
  const idle = await evaluate(readPage);
  result.before_workload = {
    sim_s: clockS(idle.clock), rss_mb: round(Math.max(0, ...renderers().map((p) => p.rss_mb))), wasm_mb: round(idle.wasm_mb),
  };
  // The run's wall clock starts with the workload: at 100× the first seconds count.
  playStart = Date.now();
  const simStart = result.before_workload.sim_s;
  // A lesson's challenge opens paused: press Play.
  if ((await page.getByTestId('play-pause').textContent()) === 'Play') await page.getByTestId('play-pause').click();
  await page.getByTestId('workload').selectOption(WORKLOAD);
  await page.getByTestId('speed').fill(SPEED_MAX);
  await sleep(200); // the label re-renders on the next tick
  result.workload = await page.getByTestId('workload').inputValue();
  result.speed = (await page.getByTestId('speed').locator('xpath=..').textContent()).trim();
  if (result.workload !== WORKLOAD) throw new Error(`writes/s menu reads ${result.workload}`);
  log(`${nodes} nodes, ${result.workload} writes/s, ${result.speed}; playing for ${WALL_S} s`);

  // 2. Play for the budget, one sample every 5 s.
  let lastAlive = { t: 0, sim: simStart };
  let aliveBefore = 0; // the sample before lastAlive: the clock last moved between the two
  let lastClock = simStart; // the clock as last read, frozen where a dead page stopped
  let stalled = 0;
  let failures = 0;
  const frameP95s = [];
  // Sample 0 is the page right after the setup (12 nodes, 1000 writes/s, 100×).
  for (let k = 0; k * SAMPLE_MS <= WALL_S * 1000; k++) {
    await sleep(playStart + k * SAMPLE_MS - Date.now());
    const t = since();
    const procs = renderers();
    const rss = procs.length ? Math.max(...procs.map((p) => p.rss_mb)) : null;
    const hwm = procs.length ? Math.max(...procs.map((p) => p.hwm_mb)) : null;
    let seen = null;
    if (!crashed) {
      try { seen = await evaluate(readPage); failures = 0; } catch (e) {
        failures++;
        log(`t=${t.toFixed(0)} s: the page did not answer (${e.message})`);
      }
    }
    const sim = clockS(seen?.clock);
    if (sim != null) lastClock = sim;
    const sample = {
      t: round(t), sim_s: round(sim, 3), rss_mb: round(rss), wasm_mb: round(seen?.wasm_mb),
      // Sample 0's frames are the setup's, not 100×'s.
      js_heap_mb: round(seen?.js_heap_mb), frame_p95_ms: k ? round(quantile(seen?.frames ?? [], 0.95)) : null, renderers: procs.length,
    };
    result.rss_samples.push(sample);
    result.peak_rss_mb = Math.max(result.peak_rss_mb ?? 0, sample.rss_mb ?? 0);
    if (hwm != null) result.renderer_hwm_mb = Math.max(result.renderer_hwm_mb ?? 0, round(hwm));
    if (sample.wasm_mb != null) result.peak_wasm_mb = Math.max(result.peak_wasm_mb ?? 0, sample.wasm_mb);
    log(`t=${sample.t} s sim=${sample.sim_s} s rss=${sample.rss_mb} MB wasm=${sample.wasm_mb} MB frame p95=${sample.frame_p95_ms} ms`);
    if (k === 0) continue;
    if (sample.frame_p95_ms != null) frameP95s.push(sample.frame_p95_ms);

    // Alive: the clock moved since the last sample, no error banner, a status line. A clock
    // that stops for two samples in a row (10 s at 100×) or a page that does not answer twice
    // is dead, from the first sample that showed it; a crash or a page error dates it exactly.
    const advanced = sim != null && lastAlive.sim != null && sim > lastAlive.sim;
    if (advanced && !seen.banner && seen.status) { aliveBefore = lastAlive.t; lastAlive = { t, sim }; stalled = 0; } else stalled++;
    const reason = crashed != null ? 'renderer crashed'
      : seen?.banner ? `error banner: ${seen.banner.trim()}`
        : failures >= 2 ? 'the page stopped answering'
          : stalled >= 2 ? `the clock stopped${seen?.status ? '' : ' (no status line)'}`
            : null;
    if (reason) {
      // Dated by the earliest sign: the crash, the first page error since the clock last
      // moved (the last alive sample may show a clock that moved before the error), or the
      // first sample that found it stopped.
      const error = errors.find((e) => e.t > aliveBefore);
      const at = Math.min(crashed ?? Infinity, error?.t ?? Infinity, t - (stalled - 1) * SAMPLE_MS / 1000);
      result.death = error ? `${reason}; page error: ${error.message}` : reason;
      result.died_at_wall_s = round(at);
      result.died_at_sim_s = round(lastClock, 3);
      log(`dead at ${result.died_at_wall_s} s wall, ${result.died_at_sim_s} s simulated: ${result.death}`);
      break;
    }
  }
  const playWall = result.died_at_wall_s ?? since();
  result.wall_s = round(playWall);
  result.sim_s_covered = round((result.death ? lastClock : lastAlive.sim) - simStart, 3);
  result.sim_s_per_wall_s = round(result.sim_s_covered / playWall, 2);
  // The per-sample p95s (each over the 5 s before it) at 100×, summarised.
  result.frame_p95_samples_ms = frameP95s.length ? { p50: quantile(frameP95s, 0.5), max: quantile(frameP95s, 1) } : null;

  // 3 and 4 need a living page.
  if (result.death) {
    result.seek_note = 'not measured: the page died during the run';
  } else {
    // 3. Frame times over 5 s at 100×, then at 1× (after the slider move settles).
    const frameWindow = async () => {
      await evaluate(() => window.__endurance.frames.splice(0));
      const a = clockS((await evaluate(readPage)).clock);
      await sleep(FRAME_WINDOW_MS);
      const seen = await evaluate(readPage);
      return { frames: seen.frames, sim_s: clockS(seen.clock) - a };
    };
    const fast = await frameWindow();
    result.frame_p95_max_speed_ms = round(quantile(fast.frames, 0.95));
    result.frames_max_speed = { ...stats(fast.frames), late: fast.frames.filter((d) => d > 20).length, sim_s: round(fast.sim_s, 3) };
    await page.getByTestId('speed').fill(SPEED_1X);
    await sleep(2_000);
    const slow = await frameWindow();
    result.frame_p95_1x_ms = round(quantile(slow.frames, 0.95));
    result.frames_1x = { ...stats(slow.frames), late: slow.frames.filter((d) => d > 20).length, sim_s: round(slow.sim_s, 3) };
    result.sim_s_per_wall_s_1x = round(slow.sim_s / (FRAME_WINDOW_MS / 1000), 2);
    log(`frames p95: ${result.frame_p95_max_speed_ms} ms at 100×, ${result.frame_p95_1x_ms} ms at 1×`);

    // 4. Seeks: the slider seeks synchronously in its `input` handler, so the time around
    // dispatchEvent is the seek (plus whatever render Yew does synchronously). Seeking pauses.
    const headMs = Number(await evaluate(() => document.querySelector('[data-testid="time-slider"]').value));
    let rng = 11; // a fixed sequence of targets, so runs compare
    const random = () => { rng = (rng * 1103515245 + 12345) % 2 ** 31; return rng / 2 ** 31; };
    const near = Array.from({ length: SEEKS_NEAR }, () => Math.round(headMs - random() * Math.min(NEAR_MS, headMs)));
    const far = Array.from({ length: SEEKS_FAR }, () => Math.round(random() * headMs));
    // Returns the seek's ms, and where the simulation now is (read after the timing), to
    // check that the event really seeked.
    const seekOnce = (target) => evaluate((v) => {
      const slider = document.querySelector('[data-testid="time-slider"]');
      slider.value = String(v);
      const t0 = performance.now();
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      const ms = performance.now() - t0;
      return { ms, at: window.replscope.snapshot().time_ms };
    }, target, SEEK_TIMEOUT_MS);
    let blocked = null;
    const seekAll = async (targets) => {
      const ms = [];
      let missed = 0;
      for (const target of targets) {
        if (blocked) break;
        try {
          const { ms: took, at } = await seekOnce(target);
          ms.push(took);
          if (Math.abs(at - target) > 1) missed++;
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
          // The page's thread is still in the seek; everything after would queue behind it.
          blocked = `a seek to ${target} ms took over ${SEEK_TIMEOUT_MS / 1000} s; seeks stopped there`;
          log(blocked);
        }
      }
      return { ...stats(ms), timed_out: blocked ? 1 : 0, targets: targets.length, missed };
    };
    result.seek_head_ms = headMs;
    result.seek_near = await seekAll(near);
    result.seek_far = await seekAll(far);
    result.seek_note = blocked;
    log(`seek near p95 ${result.seek_near.p95_ms} ms, far p95 ${result.seek_far.p95_ms} ms (head at ${headMs} ms)`);
    if (!blocked) {
      // Back to the head and play, to see the page go on after time travel.
      await seekOnce(headMs);
      await page.getByTestId('play-pause').click();
      const a = clockS((await evaluate(readPage)).clock);
      await sleep(2_000);
      result.resumed_after_seeks = clockS((await evaluate(readPage)).clock) > a;
    }
  }
  result.page_errors = errors.slice(0, 3);
} catch (e) {
  result.error = String(e?.stack ?? e);
  exitCode = 1;
} finally {
  // A dead page repeats its errors on every tick: each distinct first line once, with a count.
  const counts = new Map();
  for (const p of page?.problems ?? []) { const line = p.split('\n')[0].slice(0, 200); counts.set(line, (counts.get(line) ?? 0) + 1); }
  result.problems = [...counts].slice(0, 10).map(([line, n]) => (n > 1 ? `${line} (×${n})` : line));
  result.loadavg_end = loadavg().map((x) => round(x, 2));
  console.log(JSON.stringify(result));
  // close() can hang on a renderer stuck in a seek: then kill our browser by pid.
  if (browser) {
    await withTimeout(browser.close(), 30_000, 'browser.close').catch(() => {
      for (const pid of browserPids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    });
  }
  await withTimeout(site.close(), 10_000, 'server close').catch(() => {});
  clearTimeout(hardStop);
}
process.exit(exitCode);
