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
//! (at most [`MAX_FAR_CHECKPOINTS`], packed, and evenly spread in steps as the run grows,
//! so any moment is a bounded replay away).

use serde::{Deserialize, Serialize};

use super::checkpoint::Checkpoint;
use super::console::{refuse_line, typed_len, RUN_TYPED_MAX};
use super::history::{History, Recomputed};
use super::log::{LogFilter, LogKind};
use super::{Action, Sim, TraceEntry};

/// Where an action came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    Scenario,
    User,
    /// A lesson's demonstration (its narration runs it; a checker does not count it as the
    /// student's).
    Lesson,
}

impl Origin {
    /// Applies `action` to `sim` as coming from here.
    fn apply(self, sim: &mut Sim, action: &Action) -> Result<(), String> {
        match self {
            Origin::Scenario => sim.act_scripted(action),
            other => sim.act_as(other, action),
        }
    }
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
pub const CHECKPOINT_EVERY_STEPS: u64 = 32_000;

/// Checkpoints of the last this many simulated microseconds (ten minutes) are all kept.
pub const RECENT_US: u64 = 600_000_000;

/// At most this many checkpoints older than [`RECENT_US`] (fewer if the memory budget
/// says so): when there are more, the one in the densest place goes.
pub const MAX_FAR_CHECKPOINTS: usize = 320;

/// A checkpoint becoming older than [`RECENT_US`] is kept (and packed) only this many
/// steps after the previous kept one at least, so packing costs little while the far
/// checkpoints are still few (about 14 simulated seconds of the busiest workload).
pub const FAR_MIN_GAP_STEPS: u64 = 10 * CHECKPOINT_EVERY_STEPS;

/// Memory budget of all checkpoints together (shared backlog pages and RDBs counted once).
/// Beyond it older checkpoints are thinned first, then recent ones. With the history's
/// budget, it keeps Chromium's renderer under 512 MB at the page's busiest workload
/// (BENCHMARKS.md, "Endurance").
pub const CHECKPOINT_BUDGET_BYTES: usize = 160 << 20;

/// The simulation is drained into the history at least this often (entries), so a long
/// call (a seek, the CLI's whole run) never piles the trace up in the simulation.
const DRAIN_EVERY_ENTRIES: usize = 4096;

/// The memory the checkpoints hold: their own bytes, plus each shared page or database
/// once however many checkpoints hold it.
#[derive(Default)]
struct Holdings {
    /// How many checkpoints hold each shared thing: (bytes, holders) by address.
    shared: std::collections::BTreeMap<usize, (usize, usize)>,
    bytes: usize,
}

impl Holdings {
    fn hold(&mut self, c: &Checkpoint) {
        for &(addr, bytes) in &c.shared {
            let e = self.shared.entry(addr).or_insert((bytes, 0));
            if e.1 == 0 {
                self.bytes += bytes;
            }
            e.1 += 1;
        }
        self.bytes += c.own_bytes;
    }

    fn release(&mut self, c: &Checkpoint) {
        self.bytes -= c.own_bytes;
        for (addr, _) in &c.shared {
            if let Some(e) = self.shared.get_mut(addr) {
                e.1 -= 1;
                if e.1 == 0 {
                    self.bytes -= e.0;
                    self.shared.remove(addr);
                }
            }
        }
    }
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
    /// Bytes of the console lines among `inputs` (bounded by [`RUN_TYPED_MAX`]).
    typed_bytes: usize,
    /// Actions not applied yet, by time: the scenario's, and those a lesson plays (its
    /// demonstrations, a solution shown).
    scheduled: Vec<(u64, Origin, Action)>,
    checkpoints: Vec<Checkpoint>,
    /// Their memory.
    held: Holdings,
    /// Its budget ([`CHECKPOINT_BUDGET_BYTES`], less after [`Timeline::shed_memory`]).
    checkpoint_budget: usize,
    /// Spacing of the checkpoints near the head, in steps (doubles only when memory is
    /// short).
    every_steps: u64,
    /// Furthest step reached (the head of the run).
    head_steps: u64,
    /// The lowest entry number a fork dropped the history from since
    /// [`Timeline::take_forked`] last asked (what readers of the history kept of it from
    /// there on belongs to a discarded future).
    forked_from: Option<u64>,
    /// Why replaying the recorded inputs stopped short, if it did and nobody asked yet
    /// ([`Timeline::take_replay_stopped`]).
    replay_stopped: Option<String>,
}

impl Timeline {
    /// A timeline starting from `sim`, with scenario actions `scheduled` at absolute times.
    pub fn new(sim: Sim, scheduled: Vec<(u64, Action)>) -> Timeline {
        let mut scheduled: Vec<(u64, Origin, Action)> = scheduled
            .into_iter()
            .map(|(t, a)| (t, Origin::Scenario, a))
            .collect();
        scheduled.sort_by_key(|(t, _, _)| *t);
        let mut t = Timeline {
            start: sim.clone(),
            sim,
            history: History::default(),
            inputs: Vec::new(),
            applied: 0,
            typed_bytes: 0,
            scheduled,
            checkpoints: Vec::new(),
            held: Holdings::default(),
            checkpoint_budget: CHECKPOINT_BUDGET_BYTES,
            every_steps: CHECKPOINT_EVERY_STEPS,
            head_steps: 0,
            forked_from: None,
            replay_stopped: None,
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
        t.typed_bytes = inputs.iter().map(|r| typed_len(&r.action)).sum();
        t.inputs = inputs;
        t
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Virtual time at the start of the run.
    pub fn start_us(&self) -> u64 {
        self.start.now_us()
    }

    /// Where the earliest fork since the last call dropped the history from, if any fork did.
    pub fn take_forked(&mut self) -> Option<u64> {
        self.forked_from.take()
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
        self.history.bytes() + self.held.bytes
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

    /// What the checkpoints hold: (bytes of their own, bytes of shared pages and
    /// databases counted once, spacing in steps near the head, how many are packed, the
    /// widest gap in steps between two of them before the head's).
    pub fn checkpoint_stats(&self) -> (usize, usize, u64, usize, u64) {
        let own = self.checkpoints.iter().map(|c| c.own_bytes).sum();
        let shared = self.held.shared.values().map(|(bytes, _)| bytes).sum();
        let packed = self.checkpoints.iter().filter(|c| c.is_packed()).count();
        let widest = std::iter::once(0)
            .chain(self.checkpoints.iter().map(|c| c.sim().steps()))
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0);
        (own, shared, self.every_steps, packed, widest)
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
            .find(|c| c.sim().trace_len() < to)
            .map_or_else(|| self.start.clone(), Checkpoint::restore);
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
            scratch.apply_due_before_step();
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

    /// Applies a user action now. In the past, this forks the run first. An action the run
    /// could never apply ([`Sim::refusal`]: a number out of its range, a node never made, a
    /// new node that may not join) is refused before anything happens: it is not recorded,
    /// so neither a run file nor a lesson skeleton made of this run carries one (their
    /// loader would refuse it).
    pub fn act(&mut self, action: Action) -> Result<(), String> {
        if let Some(why) = self.sim.refusal(&action) {
            return Err(why);
        }
        if self.is_rewound() {
            self.fork();
        }
        self.apply(Origin::User, action)
    }

    /// Plays `action` from `origin` at virtual time `at_us` (now, if that has passed): a
    /// lesson's demonstration or a solution shown. In the past, this forks the run first.
    pub fn schedule(&mut self, at_us: u64, origin: Origin, action: Action) {
        if self.is_rewound() {
            self.fork();
        }
        let at = at_us.max(self.sim.now_us());
        let i = self.scheduled.partition_point(|(t, _, _)| *t <= at);
        self.scheduled.insert(i, (at, origin, action));
    }

    /// Forgets the actions scheduled from `origin` and not applied yet.
    pub fn unschedule(&mut self, origin: Origin) {
        self.scheduled.retain(|(_, o, _)| *o != origin);
    }

    fn apply(&mut self, origin: Origin, action: Action) -> Result<(), String> {
        if let Some(why) = refuse_line(&action) {
            return Err(why);
        }
        let typed = typed_len(&action);
        if typed > 0 && self.typed_bytes + typed > RUN_TYPED_MAX {
            return Err(format!(
                "this run already keeps {} MB of lines typed in consoles, all one run holds: save it (Export ▸ Run) or start again",
                RUN_TYPED_MAX >> 20
            ));
        }
        self.typed_bytes += typed;
        let result = origin.apply(&mut self.sim, &action);
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
            self.typed_bytes = self.typed_bytes.saturating_sub(typed_len(&r.action));
            if r.origin == Origin::Scenario {
                self.scheduled.push((r.time_us, r.origin, r.action));
            }
        }
        self.scheduled.sort_by_key(|(t, _, _)| *t);
        let steps = self.sim.steps();
        self.drop_checkpoints(|_, c| c.sim().steps() > steps);
        let from = self.sim.trace_len();
        self.history.truncate(from);
        self.forked_from = Some(self.forked_from.map_or(from, |f| f.min(from)));
        self.sim.record_from(0);
        self.head_steps = steps;
    }

    /// Why replaying the recorded inputs stopped before the last one, if it did since the
    /// last call: an input the run went past without meeting its step and time, which can
    /// never be applied ([`Timeline::stop_at_unreachable`]).
    pub fn take_replay_stopped(&mut self) -> Option<String> {
        self.replay_stopped.take()
    }

    /// A recorded input is applied when the run is at its step and not past its time. A run
    /// replayed from its own recording always meets each input there (it is deterministic);
    /// one whose recording was edited, or made by a build that runs differently, may go past
    /// an input's step or time without meeting it. Waiting for it would hold back every
    /// later input and every scenario step for ever, so the replay stops there instead: as
    /// when acting in the past, the rest of the recording is dropped (the scenario's own
    /// steps among it are scheduled again), and [`Timeline::take_replay_stopped`] says why.
    fn stop_at_unreachable(&mut self) {
        let Some(r) = self.inputs.get(self.applied) else {
            return;
        };
        let (steps, now_us) = (self.sim.steps(), self.sim.now_us());
        if r.step >= steps && r.time_us >= now_us {
            return;
        }
        let start_us = self.start.now_us();
        let ms = |us: u64| us.saturating_sub(start_us) as f64 / 1000.0;
        self.replay_stopped = Some(format!(
            "the run's action {} of {} ({}, recorded at step {} and {} ms) is never met: the \
             replay went past it (step {steps}, {} ms), so the recording does not fit this \
             scenario and seed; the replay stops there, without it and the actions after it",
            self.applied + 1,
            self.inputs.len(),
            r.action.summary(),
            r.step,
            ms(r.time_us),
            ms(now_us),
        ));
        self.fork();
    }

    /// Applies recorded inputs due at the current step and time (replay), then scenario
    /// actions due by `limit_us`.
    fn apply_due(&mut self, limit_us: u64) {
        self.stop_at_unreachable();
        while let Some(r) = self.inputs.get(self.applied) {
            if r.step != self.sim.steps() || r.time_us > limit_us {
                break;
            }
            let r = r.clone();
            self.sim.advance_clock_us(r.time_us);
            let _ = r.origin.apply(&mut self.sim, &r.action);
            self.applied += 1;
        }
        if self.applied < self.inputs.len() {
            return; // replaying: the scenario's steps are already among the inputs
        }
        while let Some((t, _, _)) = self.scheduled.first() {
            // An action can create events (a console's connection): look again each time.
            let next_event = self.sim.next_time_us().unwrap_or(u64::MAX);
            if *t > limit_us || *t > next_event {
                break;
            }
            let (t, origin, action) = self.scheduled.remove(0);
            self.sim.advance_clock_us(t);
            let _ = self.apply(origin, action);
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
                .is_none_or(|c| c.sim().steps() < steps)
        {
            self.absorb();
            self.sim.share_backlog_pages();
            let c = Checkpoint::new(self.sim.checkpoint_copy());
            self.held.hold(&c);
            self.checkpoints.push(c);
            self.thin_checkpoints();
        }
    }

    /// Drops the checkpoints `gone` selects (by position and checkpoint), with their share
    /// of the memory.
    fn drop_checkpoints(&mut self, mut gone: impl FnMut(usize, &Checkpoint) -> bool) {
        // `partition` visits them in order: count positions as it goes.
        let mut i = 0;
        let (dropped, kept): (Vec<Checkpoint>, Vec<Checkpoint>) =
            std::mem::take(&mut self.checkpoints)
                .into_iter()
                .partition(|c| {
                    i += 1;
                    gone(i - 1, c)
                });
        self.checkpoints = kept;
        for c in &dropped {
            self.held.release(c);
        }
    }

    /// Keeps checkpoints within their count and memory budgets. Those of the last
    /// [`RECENT_US`] are one per `every_steps`; an older one is kept if it is at least
    /// [`FAR_MIN_GAP_STEPS`] after the one before, and packed; while there are more than
    /// [`MAX_FAR_CHECKPOINTS`] or memory is short, the older one in the densest place goes
    /// (so they stay evenly spread in steps, which is what a seek replays). When only one
    /// older one is left and memory is still short, recent ones are thinned (a seek then
    /// replays more, but the tab lives).
    fn thin_checkpoints(&mut self) {
        let recent_from = self.sim.now_us().saturating_sub(RECENT_US);
        self.space_recent(recent_from);
        let far = self.far_count(recent_from);
        // Older ones not packed yet have just become older: keep them sparse, pack them.
        let mut prev = 0;
        let mut close = vec![false; self.checkpoints.len()];
        for (i, c) in self.checkpoints[..far].iter().enumerate() {
            let steps = c.sim().steps();
            if !c.is_packed() && steps - prev < FAR_MIN_GAP_STEPS {
                close[i] = true;
            } else {
                prev = steps;
            }
        }
        self.drop_checkpoints(|i, _| close[i]);
        let far = self.far_count(recent_from);
        for c in &mut self.checkpoints[..far] {
            if !c.is_packed() {
                self.held.release(c);
                c.pack();
                self.held.hold(c);
            }
        }
        // Each round drops a checkpoint or doubles the recent spacing.
        for _ in 0..4096 {
            let far = self.far_count(recent_from);
            let over_budget = self.held.bytes > self.checkpoint_budget;
            if far > MAX_FAR_CHECKPOINTS || (over_budget && far > 1) {
                self.drop_densest(far);
            } else if over_budget && self.checkpoints.len() > 1 {
                self.every_steps *= 2;
                self.space_recent(recent_from);
            } else {
                return;
            }
        }
    }

    /// How many checkpoints are older than `recent_from` (they come first).
    fn far_count(&self, recent_from: u64) -> usize {
        self.checkpoints
            .iter()
            .take_while(|c| c.sim().now_us() < recent_from)
            .count()
    }

    /// Drops the one of the first `far` checkpoints whose neighbours are closest (in
    /// steps) to each other: the seeks it served replay least more without it.
    fn drop_densest(&mut self, far: usize) {
        let steps = |i: usize| self.checkpoints.get(i).map(|c| c.sim().steps());
        let Some(densest) = (0..far).min_by_key(|&i| {
            let before = i.checked_sub(1).and_then(steps).unwrap_or(0);
            steps(i + 1).unwrap_or(self.head_steps) - before
        }) else {
            return;
        };
        let gone = self.checkpoints.remove(densest);
        self.held.release(&gone);
    }

    /// Keeps the first recent checkpoint (from `recent_from` on) of each `every_steps`
    /// interval.
    fn space_recent(&mut self, recent_from: u64) {
        let every = self.every_steps;
        let mut last_bucket = None;
        let keep: Vec<bool> = self
            .checkpoints
            .iter()
            .map(|c| {
                if c.sim().now_us() < recent_from {
                    return true;
                }
                let bucket = c.sim().steps() / every;
                let first = last_bucket != Some(bucket);
                last_bucket = Some(bucket);
                first
            })
            .collect();
        self.drop_checkpoints(|i, _| !keep[i]);
    }

    /// Applies what is due before the next step: recorded inputs up to its time, or up to
    /// now if that is later (a node timer is due in whole ms, so the next step may be a
    /// timer a little overdue, and an input recorded now, before it, must not wait for a
    /// step that has passed it).
    fn apply_due_before_step(&mut self) {
        let next = self.sim.next_time_us().unwrap_or(u64::MAX);
        self.apply_due(next.max(self.sim.now_us()));
    }

    /// One step forward (scenario actions and replayed inputs included).
    pub fn step(&mut self) -> bool {
        self.apply_due_before_step();
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
                self.scheduled.first().map(|(t, _, _)| *t)
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
            .find(|c| fits(c.sim()))
            .map_or_else(|| self.start.clone(), Checkpoint::restore);
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
