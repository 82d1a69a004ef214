//! Time travel over a deterministic run. A run is its starting simulation plus the actions
//! applied to it, each recorded with the step count and time at which it happened; replaying
//! them reproduces every state exactly. Checkpoints (copies of the simulation without its
//! trace) make seeking fast: restore the last checkpoint before the target, replay.
//!
//! Acting while looking at the past forks the run, as RaftScope does: the user's later
//! actions are dropped; a scenario's later steps are kept and will happen again.
//!
//! Everything kept has a budget, so a run may go on for hours at any workload: the trace
//! goes to a [`History`] of fixed size, and the checkpoints to [`CHECKPOINT_BUDGET_BYTES`].
//! Checkpoints are dense near the head of the run (seeking within the last ten simulated
//! minutes replays at most [`CHECKPOINT_EVERY_STEPS`] steps) and thinned further back
//! (at most [`MAX_FAR_CHECKPOINTS`], evenly spread, so any moment is a bounded replay away).

use serde::{Deserialize, Serialize};

use super::history::{History, Recomputed};
use super::log::{LogFilter, LogKind};
use super::{Action, Sim, TraceEntry};

/// Where an action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Scenario,
    User,
}

/// An action as applied: after `step` steps, at `time_us`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    pub step: u64,
    pub time_us: u64,
    pub origin: Origin,
    pub action: Action,
}

/// Steps between two checkpoints near the head: the most a seek there replays (about 1.5
/// simulated seconds at the page's busiest workload of 12 nodes and 1000 writes/s).
pub const CHECKPOINT_EVERY_STEPS: u64 = 20_000;

/// Checkpoints of the last this many simulated microseconds (ten minutes) are all kept.
pub const RECENT_US: u64 = 600_000_000;

/// At most this many checkpoints older than [`RECENT_US`]: when there are more, their
/// spacing doubles.
pub const MAX_FAR_CHECKPOINTS: usize = 192;

/// Memory budget of all checkpoints together (shared backlog pages and RDBs counted once).
/// Beyond it older checkpoints are thinned first, then recent ones. With the history's
/// budget, it keeps Chromium's renderer under 512 MB at the page's busiest workload
/// (BENCHMARKS.md, "Endurance").
pub const CHECKPOINT_BUDGET_BYTES: usize = 128 << 20;

/// The simulation is drained into the history at least this often (entries), so a long
/// call (a seek, the CLI's whole run) never piles the trace up in the simulation.
const DRAIN_EVERY_ENTRIES: usize = 4096;

/// A copy of the simulation at some step, and what it holds apart from shared pages.
struct Checkpoint {
    sim: Sim,
    own_bytes: usize,
    /// (address, bytes) of the shared pages it holds.
    shared: Vec<(usize, usize)>,
}

/// A simulation with its history.
pub struct Timeline {
    start: Sim,
    sim: Sim,
    /// What the run recorded, within its budget.
    history: History,
    /// Applied actions, in order.
    inputs: Vec<Recorded>,
    /// How many of `inputs` the current `sim` has applied.
    applied: usize,
    /// Scenario actions not applied yet, by time.
    scheduled: Vec<(u64, Action)>,
    checkpoints: Vec<Checkpoint>,
    /// How many checkpoints hold each shared page: (bytes, holders) by address.
    shared: std::collections::BTreeMap<usize, (usize, usize)>,
    /// Checkpoint memory: own bytes of each plus each shared page once.
    checkpoint_bytes: usize,
    /// Its budget ([`CHECKPOINT_BUDGET_BYTES`], less after [`Timeline::shed_memory`]).
    checkpoint_budget: usize,
    /// Spacing of the checkpoints near the head, in steps (doubles only when memory is
    /// short), and of the older ones.
    every_steps: u64,
    far_every_steps: u64,
    /// Furthest step reached (the head of the run).
    head_steps: u64,
}

impl Timeline {
    /// A timeline starting from `sim`, with scenario actions `scheduled` at absolute times.
    pub fn new(sim: Sim, mut scheduled: Vec<(u64, Action)>) -> Timeline {
        scheduled.sort_by_key(|(t, _)| *t);
        let mut t = Timeline {
            start: sim.clone(),
            sim,
            history: History::default(),
            inputs: Vec::new(),
            applied: 0,
            scheduled,
            checkpoints: Vec::new(),
            shared: std::collections::BTreeMap::new(),
            checkpoint_bytes: 0,
            checkpoint_budget: CHECKPOINT_BUDGET_BYTES,
            every_steps: CHECKPOINT_EVERY_STEPS,
            far_every_steps: CHECKPOINT_EVERY_STEPS * 8,
            head_steps: 0,
        };
        t.start.drain_trace().for_each(drop);
        t.absorb();
        t
    }

    /// A timeline that will replay `inputs` (recorded by an earlier run of the same start)
    /// and then go on with the scenario actions still `scheduled`.
    pub fn replaying(sim: Sim, scheduled: Vec<(u64, Action)>, inputs: Vec<Recorded>) -> Timeline {
        let mut t = Timeline::new(sim, scheduled);
        t.head_steps = inputs.last().map_or(0, |r| r.step);
        t.inputs = inputs;
        t
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// What the run recorded, as of its furthest point (see [`Timeline::trace`] for the
    /// part up to the moment shown).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The recorded entries up to the moment shown, as far back as the history's window
    /// reaches: the last one is the latest thing that happened. Entry `trace()[i]` is
    /// number `history().window_start() + i`.
    pub fn trace(&self) -> &[TraceEntry] {
        self.history.window(self.sim.trace_len())
    }

    /// The entries numbered `n` and above up to the moment shown (those the window still
    /// holds): what happened since a moment that had recorded `n` entries.
    pub fn trace_since(&self, n: u64) -> &[TraceEntry] {
        let trace = self.trace();
        let skip = n.saturating_sub(self.history.window_start()) as usize;
        &trace[skip.min(trace.len())..]
    }

    /// Memory held by the history and the checkpoints, as counted against their budgets.
    pub fn retained_bytes(&self) -> usize {
        self.history.bytes() + self.checkpoint_bytes
    }

    /// Halves the memory the history and the checkpoints may hold, down to a floor, and
    /// thins them at once: the page's guard calls it when the tab's memory runs short.
    /// Seeks then replay more and the event log reaches less far back; nothing is wrong.
    /// Returns false when both were at their floor already.
    pub fn shed_memory(&mut self) -> bool {
        const FLOOR: usize = 8 << 20;
        let before = (self.history.budget(), self.checkpoint_budget);
        self.history
            .set_budget((self.history.budget() / 2).max(FLOOR));
        self.checkpoint_budget = (self.checkpoint_budget / 2).max(FLOOR);
        self.thin_checkpoints();
        (self.history.budget(), self.checkpoint_budget) != before
    }

    /// How many checkpoints are kept.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// What the checkpoints hold: (bytes of their own, bytes of shared pages counted once,
    /// spacing in steps near the head, spacing further back).
    pub fn checkpoint_stats(&self) -> (usize, usize, u64, u64) {
        let own = self.checkpoints.iter().map(|c| c.own_bytes).sum();
        let shared = self.shared.values().map(|(bytes, _)| bytes).sum();
        (own, shared, self.every_steps, self.far_every_steps)
    }

    /// The event log at the moment shown (see [`super::log::lines`]).
    pub fn log_lines(
        &self,
        filter: &LogFilter,
        start_us: u64,
        limit: usize,
        recomputed: Option<&Recomputed>,
    ) -> super::log::LogView {
        super::log::lines(
            &self.history,
            recomputed,
            self.sim.trace_len(),
            filter,
            start_us,
            limit,
        )
    }

    /// Recomputes event-log lines the history dropped: the latest `limit` entries `filter`
    /// passes among those numbered below `to`, found by replaying the run on a copy from the
    /// last checkpoint before them (the moment shown does not move). As costly as a seek
    /// there; a caller wanting more goes on from the returned `from`.
    pub fn recompute_log(&self, to: u64, filter: &LogFilter, limit: usize) -> Recomputed {
        let mut base = self
            .checkpoints
            .iter()
            .rev()
            .map(|c| &c.sim)
            .find(|s| s.trace_len() < to)
            .unwrap_or(&self.start)
            .clone();
        base.record_from(0);
        let mut from = base.trace_len();
        // A copy that replays this run's inputs from `base` (it steps its simulation itself:
        // no checkpoints, nothing kept but what the filter passes).
        let applied = self
            .inputs
            .iter()
            .take_while(|r| r.step < base.steps())
            .count();
        let mut scratch = Timeline::new(base, Vec::new());
        scratch.history = History::starting_at(from, 0);
        scratch.inputs = self.inputs.clone();
        scratch.applied = applied;
        let mut found = std::collections::VecDeque::new();
        while scratch.sim.trace_len() < to {
            let next = scratch.sim.next_time_us().unwrap_or(u64::MAX);
            scratch.apply_due(next);
            let stepped = scratch.sim.step();
            for (n, entry) in scratch.sim.drain_trace() {
                if n < to && LogKind::of(&entry.event).is_some() && filter.passes(&entry) {
                    found.push_front((n, entry));
                    if found.len() > limit {
                        if let Some((oldest, _)) = found.pop_back() {
                            from = oldest + 1;
                        }
                    }
                }
            }
            if !stepped {
                break;
            }
        }
        Recomputed {
            from,
            to,
            entries: found.into(),
        }
    }

    /// Moves what the simulation recorded into the history. Entries of a replay (after a
    /// seek back) are already there and are dropped; debug builds check that they are the
    /// same, so every test that seeks also checks that replay is exact.
    fn absorb(&mut self) {
        let end = self.history.end();
        for (n, entry) in self.sim.drain_trace() {
            if n < end {
                debug_assert!(
                    self.history.get(n).is_none_or(|h| *h == entry),
                    "replay diverged at trace entry {n}: {entry:?} vs {:?}",
                    self.history.get(n)
                );
            } else {
                self.history.push(n, entry);
            }
        }
    }

    /// Mutable access for reads that need it (e.g. a console exec); prefer [`Timeline::act`].
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// Every action of this run so far (the run is `start + inputs`).
    pub fn inputs(&self) -> &[Recorded] {
        &self.inputs
    }

    /// True when looking at the past of the run.
    pub fn is_rewound(&self) -> bool {
        self.sim.steps() < self.head_steps || self.applied < self.inputs.len()
    }

    /// Applies a user action now. In the past, this forks the run first.
    pub fn act(&mut self, action: Action) -> Result<(), String> {
        if self.is_rewound() {
            self.fork();
        }
        self.apply(Origin::User, action)
    }

    fn apply(&mut self, origin: Origin, action: Action) -> Result<(), String> {
        let result = self.sim.act(&action);
        self.absorb();
        self.inputs.push(Recorded {
            step: self.sim.steps(),
            time_us: self.sim.now_us(),
            origin,
            action,
        });
        self.applied = self.inputs.len();
        result
    }

    /// Drops the future: user actions after now vanish, scenario ones are rescheduled.
    fn fork(&mut self) {
        for r in self.inputs.drain(self.applied..) {
            if r.origin == Origin::Scenario {
                self.scheduled.push((r.time_us, r.action));
            }
        }
        self.scheduled.sort_by_key(|(t, _)| *t);
        let steps = self.sim.steps();
        self.drop_checkpoints(|c| c.sim.steps() > steps);
        self.history.truncate(self.sim.trace_len());
        self.sim.record_from(0);
        self.head_steps = steps;
    }

    /// Applies recorded inputs due at the current step and time (replay), then scenario
    /// actions due by `limit_us`.
    fn apply_due(&mut self, limit_us: u64) {
        while let Some(r) = self.inputs.get(self.applied) {
            if r.step != self.sim.steps() || r.time_us > limit_us {
                break;
            }
            let r = r.clone();
            self.sim.advance_clock_us(r.time_us);
            let _ = self.sim.act(&r.action);
            self.applied += 1;
        }
        if self.applied < self.inputs.len() {
            return; // replaying: the scenario's steps are already among the inputs
        }
        while let Some((t, _)) = self.scheduled.first() {
            // An action can create events (a console's connection): look again each time.
            let next_event = self.sim.next_time_us().unwrap_or(u64::MAX);
            if *t > limit_us || *t > next_event {
                break;
            }
            let (t, action) = self.scheduled.remove(0);
            self.sim.advance_clock_us(t);
            let _ = self.apply(Origin::Scenario, action);
        }
    }

    fn after_step(&mut self) {
        let steps = self.sim.steps();
        self.head_steps = self.head_steps.max(steps);
        if self.sim.trace().len() >= DRAIN_EVERY_ENTRIES {
            self.absorb();
        }
        if steps.is_multiple_of(self.every_steps)
            && self
                .checkpoints
                .last()
                .is_none_or(|c| c.sim.steps() < steps)
        {
            self.absorb();
            self.sim.share_backlog_pages();
            let sim = self.sim.checkpoint_copy();
            let mut shared = Vec::new();
            let own_bytes = sim.memory(&mut |addr, bytes| shared.push((addr, bytes)));
            for &(addr, bytes) in &shared {
                let e = self.shared.entry(addr).or_insert((bytes, 0));
                if e.1 == 0 {
                    self.checkpoint_bytes += bytes;
                }
                e.1 += 1;
            }
            self.checkpoint_bytes += own_bytes;
            self.checkpoints.push(Checkpoint {
                sim,
                own_bytes,
                shared,
            });
            self.thin_checkpoints();
        }
    }

    /// Drops the checkpoints `gone` selects, with their share of the memory.
    fn drop_checkpoints(&mut self, mut gone: impl FnMut(&Checkpoint) -> bool) {
        let (dropped, kept): (Vec<Checkpoint>, Vec<Checkpoint>) =
            std::mem::take(&mut self.checkpoints)
                .into_iter()
                .partition(|c| gone(c));
        self.checkpoints = kept;
        for c in dropped {
            self.checkpoint_bytes -= c.own_bytes;
            for (addr, _) in c.shared {
                if let Some(e) = self.shared.get_mut(&addr) {
                    e.1 -= 1;
                    if e.1 == 0 {
                        self.checkpoint_bytes -= e.0;
                        self.shared.remove(&addr);
                    }
                }
            }
        }
    }

    /// Keeps checkpoints within their count and memory budgets: older than [`RECENT_US`],
    /// one per `far_every_steps`; when memory is short, older ones are thinned first, then
    /// recent ones (a seek then replays more, but the tab lives).
    fn thin_checkpoints(&mut self) {
        let recent_from = self.sim.now_us().saturating_sub(RECENT_US);
        self.apply_spacing(recent_from);
        // Each round doubles a spacing; 64 rounds leave one checkpoint per tier at most.
        for _ in 0..64 {
            let far = self
                .checkpoints
                .iter()
                .filter(|c| c.sim.now_us() < recent_from)
                .count();
            let over_budget = self.checkpoint_bytes > self.checkpoint_budget;
            if far > MAX_FAR_CHECKPOINTS || (over_budget && far > 1) {
                self.far_every_steps *= 2;
            } else if over_budget && self.checkpoints.len() > 1 {
                self.every_steps *= 2;
                self.far_every_steps = self.far_every_steps.max(self.every_steps);
            } else {
                return;
            }
            self.apply_spacing(recent_from);
        }
    }

    /// Keeps the first checkpoint of each spacing interval (`far_every_steps` before
    /// `recent_from`, `every_steps` after).
    fn apply_spacing(&mut self, recent_from: u64) {
        let (every, far_every) = (self.every_steps, self.far_every_steps);
        let mut last_bucket = None;
        let keep: Vec<bool> = self
            .checkpoints
            .iter()
            .map(|c| {
                let step = if c.sim.now_us() < recent_from {
                    far_every
                } else {
                    every
                };
                let bucket = (step, c.sim.steps() / step);
                let first = last_bucket != Some(bucket);
                last_bucket = Some(bucket);
                first
            })
            .collect();
        let mut i = 0;
        self.drop_checkpoints(|_| {
            i += 1;
            !keep[i - 1]
        });
    }

    /// One step forward (scenario actions and replayed inputs included).
    pub fn step(&mut self) -> bool {
        let next = self.sim.next_time_us().unwrap_or(u64::MAX);
        self.apply_due(next);
        let stepped = self.sim.step();
        if stepped {
            self.after_step();
        }
        self.absorb();
        stepped
    }

    /// Runs until virtual time `t_us`.
    pub fn run_until_us(&mut self, t_us: u64) {
        self.run_until_us_bounded(t_us, u64::MAX);
    }

    /// Runs toward `t_us` but at most `max_steps` steps (a frame's budget in the browser);
    /// returns true if `t_us` was reached. Stopping early leaves the clock at the last event,
    /// so the next call continues exactly where this one stopped.
    pub fn run_until_us_bounded(&mut self, t_us: u64, max_steps: u64) -> bool {
        self.run_until_us_or(t_us, max_steps, |_| false)
    }

    /// Like [`Timeline::run_until_us_bounded`], and also stops right after a step that makes
    /// `stop` true (the player fast-forwards while no packet is in flight, and stops as the
    /// first one leaves); returns true only if `t_us` was reached.
    pub fn run_until_us_or(
        &mut self,
        t_us: u64,
        max_steps: u64,
        stop: impl Fn(&Sim) -> bool,
    ) -> bool {
        let mut steps = 0;
        loop {
            if steps >= max_steps {
                self.absorb();
                return false;
            }
            self.apply_due(t_us);
            let next = self.sim.next_time_us();
            let scheduled_next = if self.applied < self.inputs.len() {
                None
            } else {
                self.scheduled.first().map(|(t, _)| *t)
            };
            match next {
                Some(n) if n <= t_us && scheduled_next.is_none_or(|s| n <= s) => {
                    self.sim.step();
                    self.after_step();
                    steps += 1;
                    if stop(&self.sim) {
                        self.absorb();
                        return false;
                    }
                }
                _ if scheduled_next.is_some_and(|s| s <= t_us) => {}
                _ => break,
            }
        }
        self.sim.advance_clock_us(t_us);
        self.apply_due(t_us);
        self.absorb();
        true
    }

    /// Jumps to the state after `steps` steps (exact, both directions).
    pub fn seek_step(&mut self, steps: u64) {
        self.restore(|c| c.steps() <= steps);
        while self.sim.steps() < steps {
            if !self.step() {
                break;
            }
        }
        self.apply_due(self.sim.now_us());
        self.absorb();
    }

    /// Jumps to virtual time `t_us` (both directions).
    pub fn seek_time_us(&mut self, t_us: u64) {
        self.restore(|c| c.now_us() <= t_us);
        self.run_until_us(t_us);
    }

    fn restore(&mut self, fits: impl Fn(&Sim) -> bool) {
        let base = self
            .checkpoints
            .iter()
            .rev()
            .map(|c| &c.sim)
            .find(|c| fits(c))
            .unwrap_or(&self.start)
            .clone();
        let steps = base.steps();
        self.sim = base;
        // The replay's entries are in the history already: they are only counted (debug
        // builds keep them, and `absorb` checks they are the same).
        if !cfg!(debug_assertions) {
            self.sim.record_from(self.history.end());
        }
        // A checkpoint is taken right after a step, before the actions recorded at that step
        // count, so it contains exactly the inputs of earlier steps.
        self.applied = self.inputs.iter().take_while(|r| r.step < steps).count();
    }
}
