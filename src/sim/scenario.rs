//! Scenarios: a topology, settings and timed actions, as JSON. The browser's scenario menu
//! and `replscope sim --scenario` read the same files; the built-in ones (in `scenarios/`)
//! each make one concept of replication visible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checker::MAX_CHECKS;
use super::lesson::{LessonBlock, FORMAT};
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

/// Largest scenario accepted (nodes), so a pasted file cannot freeze the page.
const MAX_NODES: usize = 16;

impl Scenario {
    /// Parses and checks a scenario: names unique, references resolvable, options valid.
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
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.name.is_empty()
                || n.name.len() > 16
                || !n
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!("bad node name '{}'", n.name));
            }
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
        Ok(())
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

    /// Builds the simulation and its timeline (`seed` overrides the scenario's).
    pub fn build(&self, seed: Option<u64>) -> Result<Timeline, String> {
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
    /// Parses and checks a run file.
    pub fn parse(json: &str) -> Result<RunFile, String> {
        super::lesson::check_format(json)?;
        let run: RunFile =
            crate::json::from_str(json).map_err(|e| format!("invalid run file: {e}"))?;
        run.scenario.validate()?;
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
