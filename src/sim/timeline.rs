//! Time travel over a deterministic run. A run is its starting simulation plus the actions
//! applied to it, each recorded with the step count and time at which it happened; replaying
//! them reproduces every state exactly. Checkpoints (clones of the simulation, thinned as the
//! run grows) make seeking fast: restore the last checkpoint before the target, replay.
//!
//! Acting while looking at the past forks the run, as RaftScope does: the user's later
//! actions are dropped; a scenario's later steps are kept and will happen again.

use serde::{Deserialize, Serialize};

use super::{Action, Sim};

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

/// At most this many checkpoints are kept; beyond it every other one is dropped.
const MAX_CHECKPOINTS: usize = 64;

/// A simulation with its history.
pub struct Timeline {
    start: Sim,
    sim: Sim,
    /// Applied actions, in order.
    inputs: Vec<Recorded>,
    /// How many of `inputs` the current `sim` has applied.
    applied: usize,
    /// Scenario actions not applied yet, by time.
    scheduled: Vec<(u64, Action)>,
    checkpoints: Vec<Sim>,
    every_steps: u64,
    /// Furthest step reached (the head of the run).
    head_steps: u64,
}

impl Timeline {
    /// A timeline starting from `sim`, with scenario actions `scheduled` at absolute times.
    pub fn new(sim: Sim, mut scheduled: Vec<(u64, Action)>) -> Timeline {
        scheduled.sort_by_key(|(t, _)| *t);
        Timeline {
            start: sim.clone(),
            sim,
            inputs: Vec::new(),
            applied: 0,
            scheduled,
            checkpoints: Vec::new(),
            every_steps: 2000,
            head_steps: 0,
        }
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
        self.checkpoints.retain(|c| c.steps() <= steps);
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
        if steps.is_multiple_of(self.every_steps)
            && self.checkpoints.last().is_none_or(|c| c.steps() < steps)
        {
            self.checkpoints.push(self.sim.clone());
            if self.checkpoints.len() > MAX_CHECKPOINTS {
                let mut keep = true;
                self.checkpoints.retain(|_| {
                    keep = !keep;
                    keep
                });
                self.every_steps *= 2;
            }
        }
    }

    /// One step forward (scenario actions and replayed inputs included).
    pub fn step(&mut self) -> bool {
        let next = self.sim.next_time_us().unwrap_or(u64::MAX);
        self.apply_due(next);
        let stepped = self.sim.step();
        if stepped {
            self.after_step();
        }
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
                        return false;
                    }
                }
                _ if scheduled_next.is_some_and(|s| s <= t_us) => {}
                _ => break,
            }
        }
        self.sim.advance_clock_us(t_us);
        self.apply_due(t_us);
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
            .find(|c| fits(c))
            .unwrap_or(&self.start)
            .clone();
        let steps = base.steps();
        self.sim = base;
        // A checkpoint is taken right after a step, before the actions recorded at that step
        // count, so it contains exactly the inputs of earlier steps.
        self.applied = self.inputs.iter().take_while(|r| r.step < steps).count();
    }
}
