//! Scenarios: a topology, settings and timed actions, as JSON. The browser's scenario menu
//! and `replscope sim --scenario` read the same files; the built-in ones (in `scenarios/`)
//! each make one concept of replication visible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checker::MAX_CHECKS;
use super::lesson::{LessonBlock, FORMAT};
use super::limits::{self, MAX_NODES};
use super::timeline::{Origin, Recorded, Timeline};
use super::{Action, Sim, PORT};
use crate::engine::config::Config;

/// One node of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    /// Starts as a replica of this node (`replicaof` in its configuration file).
    #[serde(default)]
    pub replicaof: Option<String>,
    /// Redis options (`"repl-backlog-size": "16kb"`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// An action at a time: `{"at_ms": 1000, "do": "kill", "node": "m"}`. Parsed with the
/// action's own fields ([`Action`]'s parsing says why).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "super::action::Fields")]
pub struct ScenarioStep {
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: Action,
}

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// The file format ([`super::lesson::FORMAT`]; absent means 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u32>,
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_latency")]
    pub latency_ms: u64,
    /// `ring` (the article's circular buffer, the default here) or `blocks` (Redis 7.0).
    #[serde(default = "default_model")]
    pub backlog_model: String,
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub steps: Vec<ScenarioStep>,
    /// Where the story ends (the CLI stops here; the UI keeps going if played on).
    #[serde(default = "default_until")]
    pub until_ms: u64,
    /// A lesson's narration, challenge and checks, if this scenario is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<LessonBlock>,
}

fn default_latency() -> u64 {
    2
}

fn default_model() -> String {
    "ring".into()
}

fn default_until() -> u64 {
    30_000
}

impl Scenario {
    /// Parses and checks a scenario: names unique, references resolvable, options valid,
    /// every number within its range ([`limits`]).
    pub fn parse(json: &str) -> Result<Scenario, String> {
        let s: Scenario =
            crate::json::from_str(json).map_err(|e| format!("invalid scenario: {e}"))?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(f) = self.format.filter(|f| *f > FORMAT || *f == 0) {
            return Err(format!(
                "this file is format {f}; this replscope reads format {FORMAT} and will not play it differently"
            ));
        }
        if let Some(l) = &self.lesson {
            let goal = l.goal();
            if goal.checks.is_empty() && l.sequence != "sandbox" {
                return Err("a lesson needs a goal".into());
            }
            if goal.checks.len() > MAX_CHECKS || goal.misconceptions.len() > MAX_CHECKS {
                return Err(format!("a lesson has at most {MAX_CHECKS} checks"));
            }
        }
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(format!("a scenario needs 1 to {MAX_NODES} nodes"));
        }
        limits::check_time_ms("until_ms", self.until_ms)?;
        limits::check_latency_ms("latency_ms", self.latency_ms)?;
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        for (i, n) in self.nodes.iter().enumerate() {
            limits::check_node_name(&n.name)?;
            if names[..i].contains(&n.name.as_str()) {
                return Err(format!("node '{}' is defined twice", n.name));
            }
            if let Some(m) = &n.replicaof {
                if !names.contains(&m.as_str()) || m == &n.name {
                    return Err(format!("node '{}' replicates unknown node '{m}'", n.name));
                }
            }
            self.node_config(n)?;
        }
        let made = self.check_steps()?;
        if let Some(l) = &self.lesson {
            l.check(&made)?;
        }
        Ok(())
    }

    /// Checks each step where the run meets it (by time, in file order at equal times, as
    /// the timeline applies them), following the nodes `add_node` and `remove` make and
    /// unmake; returns the name of every node the scenario makes.
    fn check_steps(&self) -> Result<Vec<&str>, String> {
        // (name, removed): a removed node keeps its name.
        let mut nodes: Vec<(&str, bool)> = self
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), false))
            .collect();
        let mut order: Vec<(usize, &ScenarioStep)> = self.steps.iter().enumerate().collect();
        order.sort_by_key(|(_, s)| s.at_ms);
        for (i, step) in order {
            check_step(step, &nodes).map_err(|e| {
                format!(
                    "step {} (at {} ms: {}): {e}",
                    i + 1,
                    step.at_ms,
                    step.action.summary()
                )
            })?;
            match &step.action {
                Action::AddNode { name, .. } => nodes.push((name, false)),
                Action::Remove { node } => {
                    if let Some(n) = nodes.iter_mut().find(|(n, _)| n == node) {
                        n.1 = true;
                    }
                }
                _ => {}
            }
        }
        Ok(nodes.into_iter().map(|(n, _)| n).collect())
    }

    fn node_config(&self, spec: &NodeSpec) -> Result<Config, String> {
        let mut config = super::sim_config();
        config
            .set("repl-backlog-model", &self.backlog_model)
            .map_err(|e| e.reply_text())?;
        // No automatic snapshots: a lesson's disk only changes when someone asks.
        config.save.clear();
        for (k, v) in &spec.config {
            config
                .set(k, v)
                .map_err(|e| format!("node '{}': {}", spec.name, e.reply_text()))?;
        }
        Ok(config)
    }

    /// Builds the simulation and its timeline (`seed` overrides the scenario's). The
    /// scenario is checked first, as [`Scenario::parse`] does: one made or changed in code
    /// gets the same ranges (a step's time in µs must not overflow).
    pub fn build(&self, seed: Option<u64>) -> Result<Timeline, String> {
        self.validate()?;
        let mut sim = Sim::new(seed.unwrap_or(self.seed), self.latency_ms);
        for spec in &self.nodes {
            let config = self.node_config(spec)?;
            let index = sim.add_node(&spec.name, config);
            if let Some(master) = &spec.replicaof {
                sim.configure_replicaof(index, master);
            }
        }
        sim.set_script_steps(self.steps.len());
        if let Some(checker) = self.checker(sim.now_us()) {
            sim.attach_checker(checker);
        }
        let start = sim.now_us();
        let scheduled = self
            .steps
            .iter()
            .map(|s| (start + s.at_ms * 1000, s.action.clone()))
            .collect();
        Ok(Timeline::new(sim, scheduled))
    }
}

/// A run as a file: the scenario, the seed and every action applied, with when. Replaying it
/// reproduces the run exactly (same trace hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// The file format ([`super::lesson::FORMAT`]; absent means 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u32>,
    pub scenario: Scenario,
    pub seed: u64,
    pub actions: Vec<Recorded>,
    /// The moment shown when it was saved (ms from the start): what the student saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
}

impl RunFile {
    /// Parses and checks a run file (its actions are checked when it is replayed, against
    /// the scenario it is replayed on: [`Scenario::replay`]).
    pub fn parse(json: &str) -> Result<RunFile, String> {
        super::lesson::check_format(json)?;
        let run: RunFile =
            crate::json::from_str(json).map_err(|e| format!("invalid run file: {e}"))?;
        run.scenario.validate()?;
        if let Some(ms) = run.at_ms {
            limits::check_time_ms("at_ms", ms)?;
        }
        Ok(run)
    }

    /// The timeline of this run, ready to replay.
    pub fn timeline(&self) -> Result<Timeline, String> {
        self.scenario.replay(self.seed, self.actions.clone())
    }
}

impl Scenario {
    /// Builds the scenario and arranges to replay `inputs` recorded by an earlier run; the
    /// scenario's own steps that the recording already contains are not scheduled again.
    pub fn replay(&self, seed: u64, inputs: Vec<Recorded>) -> Result<Timeline, String> {
        let built = self.build(Some(seed))?;
        let start = built.sim().now_us();
        check_recorded(&inputs, start)?;
        let done = inputs
            .iter()
            .filter(|r| r.origin == Origin::Scenario)
            .count();
        let scheduled = self
            .steps
            .iter()
            .skip(done)
            .map(|s| (start + s.at_ms * 1000, s.action.clone()))
            .collect();
        Ok(Timeline::replaying(built.sim().clone(), scheduled, inputs))
    }
}

/// A step valid where the run meets it, among `nodes` (name, removed) made by then: its
/// time and numbers within their ranges, the nodes it names made (a removed one is fine:
/// the run logs the step as skipped, as it does a user's), a new node free to join.
fn check_step(step: &ScenarioStep, nodes: &[(&str, bool)]) -> Result<(), String> {
    limits::check_time_ms("at_ms", step.at_ms)?;
    limits::check_action(&step.action)?;
    let made = |name: &str| nodes.iter().any(|(n, _)| *n == name);
    if let Some(unknown) = step.action.nodes().into_iter().find(|n| !made(n)) {
        return Err(format!("no node named '{unknown}'"));
    }
    if let Action::AddNode { name, .. } = &step.action {
        if let Some(why) = limits::refuse_new_node(name, nodes.iter().copied()) {
            return Err(why);
        }
    }
    Ok(())
}

/// Checks the actions a run recorded, before replaying them from `start_us`: each within
/// its ranges, at a time of the run, in the order they happened (step and time never go
/// back). Whether each is met at its step is only known by replaying: the timeline stops
/// replaying at one it goes past ([`Timeline::take_replay_stopped`]).
fn check_recorded(inputs: &[Recorded], start_us: u64) -> Result<(), String> {
    let end_us = start_us + limits::MAX_TIME_MS * 1000;
    let mut prev = (0, start_us);
    for (i, r) in inputs.iter().enumerate() {
        let why = if let Err(e) = limits::check_action(&r.action) {
            e
        } else if !(start_us..=end_us).contains(&r.time_us) {
            format!(
                "time_us {} is not within the run (its start, {start_us}, to {} ms later)",
                r.time_us,
                limits::MAX_TIME_MS
            )
        } else if r.step < prev.0 || r.time_us < prev.1 {
            format!(
                "recorded at step {} and time_us {}, before the action ahead of it (step {}, time_us {})",
                r.step, r.time_us, prev.0, prev.1
            )
        } else {
            prev = (r.step, r.time_us);
            continue;
        };
        return Err(format!(
            "action {} of the run ({}): {why}",
            i + 1,
            r.action.summary()
        ));
    }
    Ok(())
}

/// The built-in scenarios, in teaching order.
pub fn builtin() -> Vec<Scenario> {
    BUILTIN
        .iter()
        .map(|json| Scenario::parse(json).expect("built-in scenarios are valid"))
        .collect()
}

/// A built-in scenario by name.
pub fn builtin_named(name: &str) -> Option<Scenario> {
    builtin().into_iter().find(|s| s.name == name)
}

const BUILTIN: &[&str] = &[
    include_str!("../../scenarios/one-replica.json"),
    include_str!("../../scenarios/many-replicas.json"),
    include_str!("../../scenarios/chain.json"),
    include_str!("../../scenarios/continuous-replication.json"),
    include_str!("../../scenarios/first-full-sync.json"),
    include_str!("../../scenarios/partial-sync.json"),
    include_str!("../../scenarios/backlog-too-small.json"),
    include_str!("../../scenarios/heartbeat-timeout.json"),
    include_str!("../../scenarios/chained-proxy.json"),
    include_str!("../../scenarios/failover.json"),
    include_str!("../../scenarios/min-replicas.json"),
    include_str!("../../scenarios/stale-reads.json"),
    include_str!("../../scenarios/big-full-sync.json"),
    include_str!("../../scenarios/output-buffer-limit.json"),
];

impl Sim {
    /// Configures node `index` to start as a replica of `master` (config-file `replicaof`).
    pub fn configure_replicaof(&mut self, index: usize, master: &str) {
        self.nodes[index]
            .node
            .configure_replicaof(master.to_string(), PORT);
        self.refresh_timer(index);
    }
}
