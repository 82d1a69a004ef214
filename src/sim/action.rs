//! Everything a user (or a scenario) can do to a running simulation. A run is fully
//! determined by its scenario, its seed and the list of actions with their times, so actions
//! are plain serialisable values, recorded in the trace and replayed for time travel.

use serde::{Deserialize, Deserializer, Serialize};

use super::scenario::ScenarioStep;

/// One user action. Nodes are named (`m`, `r1`…).
///
/// Serialised as derived (`{"do": "kill", "node": "m", ...}`); parsed through [`Fields`], one
/// flat struct, rather than a derived `tag = "do"` enum, whose 13 variant visitors each cost
/// the page a copy of serde's buffered-content deserializer (5.3 KB gzipped in all, 6 KB more
/// with [`ScenarioStep`]'s `flatten`). The same objects parse to the same actions, and a
/// missing field is reported as serde reports it.
/// Optional when parsed: `jitter_ms`, `bandwidth_bps` (0), `both`, `rdb` (true), `save`
/// (false), `config` (none), `keys` (100), `value_size` (16).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "do", try_from = "Fields")]
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
        jitter_ms: u64,
        /// Bytes per second; 0 = unlimited.
        bandwidth_bps: u64,
        both: bool,
    },
    /// The process dies (peers see a reset). With `save`, it writes its RDB first, as a
    /// `SHUTDOWN SAVE` would.
    Kill { node: String, save: bool },
    /// Starts a killed node again, loading its RDB from "disk" if `rdb` and it has one. A
    /// node that was a replica comes back configured as one (as if its config had been
    /// rewritten), so with its RDB it tries a partial resync.
    Restart { node: String, rdb: bool },
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
        config: Vec<(String, String)>,
    },
    /// Writes to the master at `rate` per second (0 stops), keys `key:0..keys`.
    Workload {
        node: String,
        rate: u64,
        keys: u64,
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

/// The action's name, the `do` field.
#[derive(Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum Kind {
    Exec,
    Cut,
    Partition,
    Heal,
    Slow,
    Kill,
    Restart,
    Remove,
    Pause,
    Resume,
    AddNode,
    Workload,
    Reader,
}

/// Every field any action has (each name has one type in all of them), and a scenario step's
/// `at_ms`, for [`Action`]'s and [`ScenarioStep`]'s parsing (one copy of this visitor in the
/// page, not one per format plus one for a `flatten`): a field is `None` when absent, and an
/// explicit `null` is refused as before.
#[derive(Deserialize)]
#[serde(expecting = "internally tagged enum Action")]
pub(super) struct Fields {
    #[serde(default, deserialize_with = "present")]
    at_ms: Option<u64>,
    #[serde(rename = "do")]
    kind: Kind,
    #[serde(default, deserialize_with = "present")]
    node: Option<String>,
    #[serde(default, deserialize_with = "present")]
    command: Option<String>,
    #[serde(default, deserialize_with = "present")]
    a: Option<String>,
    #[serde(default, deserialize_with = "present")]
    b: Option<String>,
    #[serde(default, deserialize_with = "present")]
    from: Option<String>,
    #[serde(default, deserialize_with = "present")]
    to: Option<String>,
    #[serde(default, deserialize_with = "present")]
    latency_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    jitter_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    bandwidth_bps: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    both: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    save: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    rdb: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    config: Option<Vec<(String, String)>>,
    #[serde(default, deserialize_with = "present")]
    rate: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    keys: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    value_size: Option<usize>,
    #[serde(default, deserialize_with = "present")]
    key: Option<String>,
    #[serde(default, deserialize_with = "present")]
    every_ms: Option<u64>,
}

/// A field that is there: its value must be a `T` (`null` is not).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A field the action needs, or serde's words for its absence.
fn need<T>(value: Option<T>, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

impl TryFrom<Fields> for ScenarioStep {
    type Error = String;

    /// `at_ms` and the action (a missing `at_ms` named first, as the derive with `flatten` did).
    fn try_from(mut f: Fields) -> Result<ScenarioStep, String> {
        Ok(ScenarioStep {
            at_ms: need(f.at_ms.take(), "at_ms")?,
            action: Action::try_from(f)?,
        })
    }
}

impl TryFrom<Fields> for Action {
    type Error = String;

    /// The action `do` names, from its fields (in the order the variant declares them, so the
    /// first missing one is the one serde's derive would name).
    fn try_from(f: Fields) -> Result<Action, String> {
        Ok(match f.kind {
            Kind::Exec => Action::Exec {
                node: need(f.node, "node")?,
                command: need(f.command, "command")?,
            },
            Kind::Cut => Action::Cut {
                a: need(f.a, "a")?,
                b: need(f.b, "b")?,
            },
            Kind::Partition => Action::Partition {
                from: need(f.from, "from")?,
                to: need(f.to, "to")?,
            },
            Kind::Heal => Action::Heal {
                a: need(f.a, "a")?,
                b: need(f.b, "b")?,
            },
            Kind::Slow => Action::Slow {
                a: need(f.a, "a")?,
                b: need(f.b, "b")?,
                latency_ms: need(f.latency_ms, "latency_ms")?,
                jitter_ms: f.jitter_ms.unwrap_or_default(),
                bandwidth_bps: f.bandwidth_bps.unwrap_or_default(),
                both: f.both.unwrap_or_else(yes),
            },
            Kind::Kill => Action::Kill {
                node: need(f.node, "node")?,
                save: f.save.unwrap_or_default(),
            },
            Kind::Restart => Action::Restart {
                node: need(f.node, "node")?,
                rdb: f.rdb.unwrap_or_else(yes),
            },
            Kind::Remove => Action::Remove {
                node: need(f.node, "node")?,
            },
            Kind::Pause => Action::Pause {
                node: need(f.node, "node")?,
            },
            Kind::Resume => Action::Resume {
                node: need(f.node, "node")?,
            },
            Kind::AddNode => Action::AddNode {
                name: need(f.name, "name")?,
                config: f.config.unwrap_or_default(),
            },
            Kind::Workload => Action::Workload {
                node: need(f.node, "node")?,
                rate: need(f.rate, "rate")?,
                keys: f.keys.unwrap_or_else(default_keys),
                value_size: f.value_size.unwrap_or_else(default_value_size),
            },
            Kind::Reader => Action::Reader {
                node: need(f.node, "node")?,
                key: need(f.key, "key")?,
                every_ms: need(f.every_ms, "every_ms")?,
            },
        })
    }
}

/// Most characters of an action's description in an error message: a pasted 60 KB console
/// line is named by its start.
const SUMMARY_CHARS: usize = 80;

impl Action {
    /// [`Action::describe`] cut to [`SUMMARY_CHARS`] characters (ending in `…` when cut),
    /// to name the action in an error message.
    pub fn summary(&self) -> String {
        let full = self.describe();
        match full.char_indices().nth(SUMMARY_CHARS) {
            Some((cut, _)) => format!("{}…", &full[..cut]),
            None => full,
        }
    }

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
