//! Everything a user (or a scenario) can do to a running simulation. A run is fully
//! determined by its scenario, its seed and the list of actions with their times, so actions
//! are plain serialisable values, recorded in the trace and replayed for time travel.

use serde::{Deserialize, Serialize};

/// One user action. Nodes are named (`m`, `r1`…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "do")]
pub enum Action {
    /// Type a command into a node's console (split like redis-cli does).
    Exec { node: String, command: String },
    /// Reset the connections between two nodes and refuse new ones until healed.
    Cut { a: String, b: String },
    /// Bytes from `from` to `to` silently stop (held, as TCP retransmits) until healed.
    Partition { from: String, to: String },
    /// Undo cuts and partitions between two nodes, in both directions.
    Heal { a: String, b: String },
    /// Change one direction of a link (and the other if `both`).
    Slow {
        a: String,
        b: String,
        latency_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
        /// Bytes per second; 0 = unlimited.
        #[serde(default)]
        bandwidth_bps: u64,
        #[serde(default = "yes")]
        both: bool,
    },
    /// The process dies (peers see a reset). With `save`, it writes its RDB first, as a
    /// `SHUTDOWN SAVE` would.
    Kill {
        node: String,
        #[serde(default)]
        save: bool,
    },
    /// Starts a killed node again, loading its RDB from "disk" if `rdb` and it has one. A
    /// node that was a replica comes back configured as one (as if its config had been
    /// rewritten), so with its RDB it tries a partial resync.
    Restart {
        node: String,
        #[serde(default = "yes")]
        rdb: bool,
    },
    /// The node goes away for good: its process dies as with `kill` (peers see a reset) and
    /// the host disappears from the network, so connecting to it is refused at once. Its
    /// replicas keep retrying, as Redis replicas whose master host vanished do. The name is
    /// not reused (`add_node` refuses it).
    Remove { node: String },
    /// SIGSTOP: the node's timers and input wait.
    Pause { node: String },
    /// SIGCONT.
    Resume { node: String },
    /// A new node, a master with default settings (plus `config`).
    AddNode {
        name: String,
        #[serde(default)]
        config: Vec<(String, String)>,
    },
    /// Writes to the master at `rate` per second (0 stops), keys `key:0..keys`.
    Workload {
        node: String,
        rate: u64,
        #[serde(default = "default_keys")]
        keys: u64,
        #[serde(default = "default_value_size")]
        value_size: usize,
    },
    /// Reads `key` from `node` every `every_ms` and reports stale reads (0 stops).
    Reader {
        node: String,
        key: String,
        every_ms: u64,
    },
}

fn yes() -> bool {
    true
}

fn default_keys() -> u64 {
    100
}

fn default_value_size() -> usize {
    16
}

impl Action {
    /// The existing nodes the action acts on (not the name a new node is to get).
    pub fn nodes(&self) -> Vec<&str> {
        match self {
            Action::Exec { node, .. }
            | Action::Kill { node, .. }
            | Action::Restart { node, .. }
            | Action::Remove { node }
            | Action::Pause { node }
            | Action::Resume { node }
            | Action::Workload { node, .. }
            | Action::Reader { node, .. } => vec![node],
            Action::Cut { a, b } | Action::Heal { a, b } | Action::Slow { a, b, .. } => {
                vec![a, b]
            }
            Action::Partition { from, to } => vec![from, to],
            Action::AddNode { .. } => Vec::new(),
        }
    }

    /// A one-line description for the event log.
    pub fn describe(&self) -> String {
        match self {
            Action::Exec { node, command } => format!("{node}> {command}"),
            Action::Cut { a, b } => format!("cut link {a}–{b}"),
            Action::Partition { from, to } => format!("partition {from}→{to}"),
            Action::Heal { a, b } => format!("heal link {a}–{b}"),
            Action::Slow {
                a,
                b,
                latency_ms,
                bandwidth_bps,
                ..
            } => format!("link {a}–{b}: {latency_ms} ms, {bandwidth_bps} B/s"),
            Action::Kill { node, save } => {
                format!(
                    "kill {node}{}",
                    if *save { " (after saving its RDB)" } else { "" }
                )
            }
            Action::Restart { node, rdb } => {
                format!(
                    "restart {node} {}",
                    if *rdb { "with its RDB" } else { "empty" }
                )
            }
            Action::Remove { node } => format!("remove node {node}"),
            Action::Pause { node } => format!("pause {node}"),
            Action::Resume { node } => format!("resume {node}"),
            Action::AddNode { name, .. } => format!("add node {name}"),
            Action::Workload { node, rate, .. } => format!("workload on {node}: {rate} writes/s"),
            Action::Reader {
                node,
                key,
                every_ms,
            } => {
                format!("reader of {key} on {node} every {every_ms} ms")
            }
        }
    }
}
