//! A lesson's checker: the goal of a challenge as a list of checks over what the simulation
//! records, each shown to the student as one line of a live checklist (nothing is checked
//! that is not listed).
//!
//! The checker lives inside the [`Sim`]: it sees every engine event, action and console
//! reply as the simulation records it, and node states at fixed ticks of virtual time. So it
//! is deterministic, costs a few comparisons per event, and is copied with the simulation's
//! checkpoints: a seek back restores its state exactly (a step back unticks what it should),
//! and a replayed run (a student's exported run, graded offline) ticks the same items at the
//! same instants.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::console::Typed;
use super::timeline::Origin;
use super::{Action, NodeState, Sim, SimEvent};
use crate::engine::event::{Event, LinkState};
use crate::engine::psync::PsyncRule;

/// Node states (convergence, roles, config, keys) are looked at this often in virtual time.
pub const TICK_US: u64 = 100_000;

/// A replica is "an exact copy" of its master while what it lacks arrives within this long
/// (under a steady stream it is always a little behind; a slow link's queue is not "on its
/// way").
pub const CONVERGED_LAG_US: u64 = 1_000_000;

/// Most checks a goal (or a lesson's misconceptions) may have: the checker visits each per
/// event, and the panel lists them all.
pub const MAX_CHECKS: usize = 16;

/// One check: what to count (an engine `event`, a user `action`, a console `reply`, a node
/// `state` or a `metric`), filters, and how many or how long. One flat struct, like
/// [`Action`]'s parsing, and every field but `text` optional: a check is as short as what it
/// says. Kinds and values separated by `|` are alternatives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Check {
    /// The checklist line, as the student reads it.
    pub text: String,
    /// Engine event kinds (see [`event_kind`]).
    pub event: Option<String>,
    /// Action kinds done by the student (`do` of an action: `exec`, `cut`, `kill`…).
    pub action: Option<String>,
    /// Count actions whoever did them (the scenario's, a lesson's), not only the
    /// student's. A moment always does.
    pub anyone: bool,
    /// A console reply: its redis-cli text contains `has`.
    pub reply: bool,
    /// A node state, looked at every [`TICK_US`]: `converged`, `connected` (its link to its
    /// master, `peer` if given, is up), `role`, `config`, `expired_key`, `up`.
    pub state: Option<String>,
    /// A number over the events since the moment: `resent_bytes`, `full_syncs`.
    pub metric: Option<String>,
    /// The node it happens on (for an action: the node it names).
    pub node: Option<String>,
    /// The other end: the replica a master decided for, the master of a replica.
    pub peer: Option<String>,
    /// PSYNC rules (snake case: `continue`, `replid_mismatch`…).
    pub rule: Option<String>,
    /// Command names (lower case), for `command` events, `exec` actions and replies.
    pub command: Option<String>,
    /// Only commands the master sent (true) or a client typed (false).
    pub from_master: Option<bool>,
    /// Only commands whose name the student never typed.
    pub untyped: bool,
    /// Text the event's log line, reason or reply contains; for a `config` state, text its
    /// value contains (a leading `!`: does not contain).
    pub has: Option<String>,
    /// The state's value (`role`: `master` or the master's name; `config`: the value as
    /// CONFIG GET prints it; a leading `!` means "anything but").
    pub value: Option<String>,
    /// The config option or key the state is about.
    pub key: Option<String>,
    /// At least this many (default 1; 0 with `at_most`).
    pub at_least: Option<u64>,
    /// At most this many (`0`: never).
    pub at_most: Option<u64>,
    /// Count distinct values (PSYNC rules, command names) instead of occurrences.
    pub distinct: bool,
    /// Only since the latest occurrence of this moment (named in the lesson's `moments`).
    pub since: Option<String>,
    /// Only what happens at least this long after the moment.
    pub after_ms: Option<u64>,
    /// Only what happens at most this long after the moment.
    pub within_ms: Option<u64>,
    /// `at_least` of them within one window this long.
    pub window_ms: Option<u64>,
    /// A state must hold this long without a break.
    pub held_ms: Option<u64>,
    /// Only events that carried at least this many bytes (see [`Fired::bytes`]: a
    /// +CONTINUE's backlog bytes, a stream write, an RDB sent, a sync's buffered bytes).
    pub min_bytes: Option<u64>,
    /// A state check stays met once it has held (for `held_ms`), whatever comes after: for
    /// a state the story must go through and then leave (an expired key kept 10 s, then
    /// deleted).
    pub once: bool,
    /// A metric must stay below this; a `config` state's value, read as a number (CONFIG
    /// GET prints sizes in bytes), must be below this.
    pub below: Option<u64>,
}

/// What a check says about itself right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemStatus {
    pub text: String,
    pub met: bool,
    /// Why it is not met yet, in the engine's words (the PSYNC rule, offsets, a log line),
    /// or what it counted.
    pub note: Option<String>,
}

/// What a run cost, as an operator counts it (shown when a challenge is solved): every
/// byte masters re-sent to replicas (RDBs, writes buffered meanwhile, backlog on
/// +CONTINUE), full syncs, the seconds in which some write was refused, and writes a
/// console saw acknowledged (`SET` → OK) that no running master holds any more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    pub resent_bytes: u64,
    pub full_syncs: u64,
    pub refused_write_seconds: u64,
    pub acked_writes_lost: u64,
}

/// Keys whose last acknowledged value the score follows (the first ones typed).
const MAX_ACKED_KEYS: usize = 256;

/// Errors that refuse a write (a replica's, a master's without enough replicas, a stale
/// replica's, memory).
const REFUSALS: &[&str] = &["READONLY", "NOREPLICAS", "MASTERDOWN", "OOM", "MISCONF"];

/// The progress of one check.
#[derive(Clone, Debug, Default)]
struct ItemState {
    count: u64,
    /// Distinct values counted.
    seen: BTreeSet<String>,
    /// Times of the latest occurrences (for `window_ms`).
    recent: Vec<u64>,
    /// A `window_ms` check reached its count once since its moment.
    window_met: bool,
    /// A state check: since when it holds.
    holds_since: Option<u64>,
    /// A `once` state check held long enough.
    latched: bool,
    /// A metric's value.
    metric: u64,
    note: Option<String>,
}

/// A goal (or misconception) definition with named moments, shared by every copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// Named moments: each the latest occurrence of what its check counts (actions by
    /// anyone).
    pub moments: Vec<(String, Check)>,
    pub checks: Vec<Check>,
    /// Misconceptions: when one's check is met, its hint is shown.
    pub misconceptions: Vec<(Check, String)>,
    /// Things the page waits for (a narration's pause, a prediction's question): the
    /// checker notes the step at which each first happens (again after its moment).
    pub watches: Vec<Check>,
}

/// When a watched thing happened, and what it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fired {
    /// The simulation's step count right after it (the page stops one step before, to
    /// ask a prediction).
    pub steps: u64,
    pub time_us: u64,
    /// A PSYNC decision's rule.
    pub rule: Option<&'static str>,
    /// Bytes it carried (a +CONTINUE's backlog bytes, a stream write's length).
    pub bytes: u64,
}

/// The checker's state (see the module's documentation).
#[derive(Clone, Debug)]
pub struct Checker {
    goal: Arc<Goal>,
    items: Vec<ItemState>,
    wrong: Vec<ItemState>,
    /// When each moment last happened.
    moments: Vec<Option<u64>>,
    /// Command names the student typed (lower case).
    typed: BTreeSet<String>,
    /// RDB bytes last sent on each (master, connection) for `buffered_over_rdb`.
    rdb_sent: Vec<(Arc<str>, String, usize)>,
    solved_at_us: Option<u64>,
    next_tick_us: u64,
    start_us: u64,
    /// What the watches saw (see [`Goal::watches`]).
    fired: Vec<Option<Fired>>,
    /// The simulation's step count now (set by the simulation before it shows an event).
    steps: u64,
    /// The engine event kinds some check, moment, misconception or watch (or the score)
    /// looks at, as bits: the others cost one test each (a busy run records millions).
    interest: u32,
    /// Each check's, misconception's, moment's and watch's kind bits (what it may count
    /// among engine events), in their orders.
    check_bits: Arc<[Vec<u32>; 4]>,
    score: Score,
    /// The second (virtual) of the latest refused write, so each counts once.
    refused_second: Option<u64>,
    /// Each key's last value a console saw acknowledged by a `SET`.
    acked: Vec<(String, String)>,
}

/// Bounds: distinct values and window times kept per check.
const MAX_SEEN: usize = 64;

fn alternatives(spec: &Option<String>) -> impl Iterator<Item = &str> {
    spec.as_deref().into_iter().flat_map(|s| s.split('|'))
}

fn matches_opt(spec: &Option<String>, value: &str) -> bool {
    match spec.as_deref() {
        None => true,
        // One name (most checks): no splitting.
        Some(one) if !one.as_bytes().contains(&b'|') => one.eq_ignore_ascii_case(value),
        Some(_) => alternatives(spec).any(|a| a.eq_ignore_ascii_case(value)),
    }
}

/// Every engine event kind's name, in [`kind_bit`]'s order.
const KINDS: &[&str] = &[
    "log",
    "command",
    "stream",
    "backlog_created",
    "backlog_wrapped",
    "backlog_trimmed",
    "backlog_freed",
    "replid_changed",
    "link_state",
    "psync_sent",
    "psync",
    "replica_state",
    "fullresync",
    "bgsave",
    "rdb_sent",
    "buffered_sent",
    "rdb_loaded",
    "rdb_load_failed",
    "ping",
    "ack_sent",
    "ack_received",
    "timeout",
    "role_changed",
    "output_buffer_limit",
];

/// Kinds the score and the metrics always follow.
const ALWAYS: &[&str] = &["psync", "fullresync", "rdb_sent", "buffered_sent"];

/// An event kind's bit in a checker's interest (see [`Checker::interested`]).
fn kind_bit(e: &Event) -> u32 {
    let name = event_kind(e);
    1 << KINDS.iter().position(|k| *k == name).unwrap_or(0)
}

/// The bits of a `|`-separated list of kind names (`buffered_over_rdb` is derived from
/// `buffered_sent`).
fn kind_bits(spec: &Option<String>) -> u32 {
    alternatives(spec)
        .map(|a| {
            if a == "buffered_over_rdb" {
                "buffered_sent"
            } else {
                a
            }
        })
        .filter_map(|a| KINDS.iter().position(|k| k.eq_ignore_ascii_case(a)))
        .fold(0, |bits, i| bits | 1 << i)
}

/// The name a check uses for an engine event.
pub fn event_kind(e: &Event) -> &'static str {
    match e {
        Event::Log { .. } => "log",
        Event::Command { .. } => "command",
        Event::Stream { .. } => "stream",
        Event::BacklogCreated { .. } => "backlog_created",
        Event::BacklogWrapped { .. } => "backlog_wrapped",
        Event::BacklogTrimmed { .. } => "backlog_trimmed",
        Event::BacklogFreed => "backlog_freed",
        Event::ReplicationIdChanged { .. } => "replid_changed",
        Event::LinkStateChanged { .. } => "link_state",
        Event::PsyncSent { .. } => "psync_sent",
        Event::PsyncDecided { .. } => "psync",
        Event::ReplicaStateChanged { .. } => "replica_state",
        Event::FullResyncSent { .. } => "fullresync",
        Event::BgsaveStarted { .. } => "bgsave",
        Event::RdbSent { .. } => "rdb_sent",
        Event::BufferedStreamSent { .. } => "buffered_sent",
        Event::RdbLoaded { .. } => "rdb_loaded",
        Event::RdbLoadFailed { .. } => "rdb_load_failed",
        Event::PingSent { .. } => "ping",
        Event::AckSent { .. } => "ack_sent",
        Event::AckReceived { .. } => "ack_received",
        Event::Timeout { .. } => "timeout",
        Event::RoleChanged { .. } => "role_changed",
        Event::OutputBufferLimit { .. } => "output_buffer_limit",
    }
}

/// A PSYNC rule's name in checks.
pub fn rule_name(rule: PsyncRule) -> &'static str {
    match rule {
        PsyncRule::FullResyncRequested => "full_resync_requested",
        PsyncRule::ReplidMismatch => "replid_mismatch",
        PsyncRule::Replid2OffsetTooHigh => "replid2_offset_too_high",
        PsyncRule::NoBacklog => "no_backlog",
        PsyncRule::OffsetBeforeBacklog => "offset_before_backlog",
        PsyncRule::OffsetAfterBacklog => "offset_after_backlog",
        PsyncRule::Continue => "continue",
    }
}

/// A PSYNC rule's name (as checks and predictions write it) in words; anything else as is.
pub fn rule_words(name: &str) -> &str {
    match name {
        "continue" => "+CONTINUE: the bytes are in the backlog",
        "full_resync_requested" => "full resync asked for (PSYNC ? -1)",
        "replid_mismatch" => "replication ID mismatch",
        "replid2_offset_too_high" => "old history, but the offset is past where it ends",
        "no_backlog" => "no backlog at all",
        "offset_before_backlog" => "the bytes were overwritten in the backlog",
        "offset_after_backlog" => "the offset is beyond what the master has",
        other => other,
    }
}

/// The name of an action's kind (its `do`).
pub fn action_kind(a: &Action) -> &'static str {
    match a {
        Action::Exec { .. } => "exec",
        Action::Cut { .. } => "cut",
        Action::Partition { .. } => "partition",
        Action::Heal { .. } => "heal",
        Action::Slow { .. } => "slow",
        Action::Kill { .. } => "kill",
        Action::Restart { .. } => "restart",
        Action::Remove { .. } => "remove",
        Action::Pause { .. } => "pause",
        Action::Resume { .. } => "resume",
        Action::AddNode { .. } => "add_node",
        Action::Workload { .. } => "workload",
        Action::Reader { .. } => "reader",
    }
}

/// The first word of a command line, lower case.
fn command_name(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Commands a master sends by itself whatever was typed: never "a command you never typed".
const ALWAYS_SENT: &[&str] = &["select", "ping", "replconf"];

/// Something that happened, as a check sees it.
struct Seen<'a> {
    kind: &'static str,
    /// An engine event's kind bit ([`kind_bit`]); 0 for actions and replies.
    bit: u32,
    /// An action (`kind` is then its `do`).
    is_action: bool,
    /// Done by the student.
    by_user: bool,
    node: &'a str,
    peer: Option<&'a str>,
    /// The value `distinct` counts and `rule`/`command` filter on.
    rule: Option<&'static str>,
    /// As the event spells it (compared without case).
    command: Option<std::borrow::Cow<'a, str>>,
    from_master: Option<bool>,
    text: Option<String>,
    bytes: u64,
}

impl Check {
    /// Its durations within [`super::limits::MAX_TIME_MS`]: the checker counts them in µs.
    pub fn check_limits(&self) -> Result<(), String> {
        let durations = [
            ("after_ms", self.after_ms),
            ("within_ms", self.within_ms),
            ("window_ms", self.window_ms),
            ("held_ms", self.held_ms),
        ];
        for (what, ms) in durations {
            if let Some(ms) = ms {
                super::limits::check_time_ms(what, ms)
                    .map_err(|e| format!("check '{}': {e}", self.text))?;
            }
        }
        Ok(())
    }

    fn is_counting(&self) -> bool {
        self.state.is_none() && self.metric.is_none()
    }

    fn wants(&self, s: &Seen, typed: &BTreeSet<String>) -> bool {
        let kind_ok = match (&self.event, &self.action, self.reply) {
            (Some(_), _, _) => !s.is_action && matches_opt(&self.event, s.kind),
            (_, Some(_), _) => {
                s.is_action && (s.by_user || self.anyone) && matches_opt(&self.action, s.kind)
            }
            (_, _, true) => !s.is_action && s.kind == "reply",
            _ => false,
        };
        kind_ok
            && matches_opt(&self.node, s.node)
            && (self.peer.is_none() || s.peer.is_some_and(|p| matches_opt(&self.peer, p)))
            && (self.rule.is_none() || s.rule.is_some_and(|r| matches_opt(&self.rule, r)))
            && (self.command.is_none()
                || s.command
                    .as_deref()
                    .is_some_and(|c| matches_opt(&self.command, c)))
            && (self.from_master.is_none() || s.from_master == self.from_master)
            && self.min_bytes.is_none_or(|b| s.bytes >= b)
            && (!self.untyped
                || s.command.as_deref().is_some_and(|c| {
                    !typed.iter().any(|t| t.eq_ignore_ascii_case(c))
                        && !ALWAYS_SENT.iter().any(|a| a.eq_ignore_ascii_case(c))
                }))
            && self.has.as_deref().is_none_or(|h| {
                s.text
                    .as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase().contains(&h.to_ascii_lowercase()))
            })
    }

    /// True when the same kind happened where this check looks, but a filter said no: the
    /// note then says what happened instead.
    fn near_miss(&self, s: &Seen) -> bool {
        // A sync's buffered bytes are what `buffered_over_rdb` waits for: its note says how
        // many there were, and the RDB's size.
        let near = matches_opt(&self.event, s.kind)
            || (s.kind == "buffered_sent" && matches_opt(&self.event, "buffered_over_rdb"));
        self.event.is_some()
            && !s.is_action
            && near
            && matches_opt(&self.node, s.node)
            && (self.peer.is_none() || s.peer.is_some_and(|p| matches_opt(&self.peer, p)))
    }

    fn need(&self) -> u64 {
        self.at_least
            .unwrap_or(if self.at_most.is_some() { 0 } else { 1 })
    }
}

impl Checker {
    /// A checker for `goal`, starting at virtual time `now_us`.
    pub fn new(goal: Arc<Goal>, now_us: u64) -> Checker {
        let all = goal
            .checks
            .iter()
            .chain(goal.moments.iter().map(|(_, c)| c))
            .chain(goal.misconceptions.iter().map(|(c, _)| c))
            .chain(&goal.watches);
        let interest = all.fold(kind_bits(&Some(ALWAYS.join("|"))), |bits, c| {
            bits | kind_bits(&c.event)
        });
        let bits = |c: &Check| {
            if c.metric.is_some() {
                kind_bits(&Some(ALWAYS.join("|")))
            } else {
                kind_bits(&c.event)
            }
        };
        let check_bits = Arc::new([
            goal.checks.iter().map(bits).collect(),
            goal.misconceptions.iter().map(|(c, _)| bits(c)).collect(),
            goal.moments.iter().map(|(_, c)| bits(c)).collect(),
            goal.watches.iter().map(bits).collect(),
        ]);
        Checker {
            interest,
            check_bits,
            items: vec![ItemState::default(); goal.checks.len()],
            wrong: vec![ItemState::default(); goal.misconceptions.len()],
            moments: vec![None; goal.moments.len()],
            fired: vec![None; goal.watches.len()],
            goal,
            typed: BTreeSet::new(),
            rdb_sent: Vec::new(),
            solved_at_us: None,
            next_tick_us: now_us,
            start_us: now_us,
            steps: 0,
            score: Score::default(),
            refused_second: None,
            acked: Vec::new(),
        }
    }

    /// What the run cost so far (acknowledged writes lost: see [`Checker::score_now`]).
    pub fn score(&self) -> &Score {
        &self.score
    }

    /// The score, with the acknowledged writes no running master holds counted now.
    pub fn score_now(&self, sim: &Sim) -> Score {
        let masters: Vec<&crate::engine::node::Node> = sim
            .nodes()
            .iter()
            .filter(|n| n.state == NodeState::Up && !n.removed() && n.node.master_addr().is_none())
            .map(|n| &n.node)
            .collect();
        let lost = self
            .acked
            .iter()
            .filter(|(key, value)| {
                !masters.iter().any(|m| {
                    m.keyspace().dbs[0]
                        .get(key.as_bytes())
                        .is_some_and(|e| {
                            matches!(&e.value, crate::engine::keyspace::Value::String(v) if v == value.as_bytes())
                        })
                })
            })
            .count() as u64;
        Score {
            acked_writes_lost: lost,
            ..self.score.clone()
        }
    }

    fn keep_score(&mut self, now_us: u64, s: &Seen) {
        match s.kind {
            "rdb_sent" | "buffered_sent" => self.score.resent_bytes += s.bytes,
            "psync" => self.score.resent_bytes += s.bytes,
            "fullresync" => self.score.full_syncs += 1,
            "command" => {
                let refused = s
                    .text
                    .as_deref()
                    .is_some_and(|e| REFUSALS.iter().any(|r| e.starts_with(r)));
                let second = now_us / 1_000_000;
                if refused && self.refused_second != Some(second) {
                    self.refused_second = Some(second);
                    self.score.refused_write_seconds += 1;
                }
            }
            _ => {}
        }
    }

    /// A console saw `SET key value …` acknowledged.
    fn acknowledged(&mut self, line: &str, reply: &str) {
        let args = crate::engine::resp::split_args(line.as_bytes()).unwrap_or_default();
        // A plain SET only: one with an expiry (EX, PX…) is meant to go.
        if args.len() != 3 || !args[0].eq_ignore_ascii_case(b"set") || reply != "OK" {
            return;
        }
        let key = String::from_utf8_lossy(&args[1]).into_owned();
        let value = String::from_utf8_lossy(&args[2]).into_owned();
        if let Some(e) = self.acked.iter_mut().find(|(k, _)| *k == key) {
            e.1 = value;
        } else if self.acked.len() < MAX_ACKED_KEYS {
            self.acked.push((key, value));
        }
    }

    /// When the goal was first met, if it was (virtual µs).
    pub fn solved_at_us(&self) -> Option<u64> {
        self.solved_at_us
    }

    /// The checklist, in the goal's order.
    pub fn status(&self) -> Vec<ItemStatus> {
        self.goal
            .checks
            .iter()
            .zip(&self.items)
            .enumerate()
            .map(|(i, (c, s))| ItemStatus {
                text: c.text.clone(),
                met: self.item_met(i),
                note: s.note.clone(),
            })
            .collect()
    }

    /// What watch `i` saw, if it fired.
    pub fn fired(&self, i: usize) -> Option<&Fired> {
        self.fired.get(i)?.as_ref()
    }

    /// The checklist as it reads right now: like [`Checker::status`], with each state
    /// check looked at again at this very moment (between two ticks, a paused page must
    /// not show a state 100 ms old).
    pub fn status_live(&self, sim: &Sim) -> Vec<ItemStatus> {
        let mut items = self.status();
        for (item, c) in items.iter_mut().zip(&self.goal.checks) {
            // A state met `once` stays met, whatever it is now.
            if c.once && item.met {
                continue;
            }
            if let Some(kind) = c.state.as_deref() {
                if let Err(why) = state_holds(kind, c, sim) {
                    item.met = false;
                    item.note = Some(why);
                }
            }
        }
        items
    }

    /// The misconceptions whose pattern the run matched, as their hints.
    pub fn misconceptions(&self) -> Vec<&str> {
        self.goal
            .misconceptions
            .iter()
            .zip(&self.wrong)
            .filter(|((c, _), s)| Self::met(c, s))
            .map(|((_, hint), _)| hint.as_str())
            .collect()
    }

    fn item_met(&self, i: usize) -> bool {
        let c = &self.goal.checks[i];
        let s = &self.items[i];
        // Counting toward a number, or a state "since" a moment: nothing before the moment.
        if c.since.is_some() && self.moment_of(c).is_none() && (!c.is_counting() || c.need() > 0) {
            return false;
        }
        Self::met(c, s)
    }

    fn met(c: &Check, s: &ItemState) -> bool {
        if c.state.is_some() {
            return s.latched
                || (s.holds_since.is_some() && c.held_ms.is_none_or(|_| s.note.is_none()));
        }
        if c.metric.is_some() {
            return c.below.is_none_or(|b| s.metric < b) && s.count > 0;
        }
        if c.window_ms.is_some() {
            return s.window_met;
        }
        let n = if c.distinct {
            s.seen.len() as u64
        } else {
            s.count
        };
        n >= c.need() && c.at_most.is_none_or(|m| n <= m)
    }

    fn moment_of(&self, c: &Check) -> Option<u64> {
        let name = c.since.as_deref()?;
        let i = self.goal.moments.iter().position(|(n, _)| n == name)?;
        self.moments[i]
    }

    /// Whether the checker looks at `e` at all (a refused write always counts in the
    /// score).
    pub fn interested(&self, e: &Event) -> bool {
        self.interest & kind_bit(e) != 0 || matches!(e, Event::Command { error: Some(_), .. })
    }

    /// An engine event on `node` (with its peer, if about a connection).
    pub fn engine(&mut self, now_us: u64, node: &str, peer: Option<&str>, e: &Event) {
        let mut seen = Seen {
            bit: kind_bit(e),
            kind: event_kind(e),
            is_action: false,
            by_user: false,
            node,
            peer,
            rule: None,
            command: None,
            from_master: None,
            text: None,
            bytes: 0,
        };
        match e {
            Event::PsyncDecided { decision, .. } => {
                seen.rule = Some(rule_name(decision.rule));
                seen.text = Some(decision.explanation());
                if decision.is_continue() {
                    let i = &decision.inputs;
                    seen.bytes = (i.master_repl_offset + 1 - i.requested_offset).max(0) as u64;
                }
            }
            Event::Command {
                argv,
                from_master,
                error,
                ..
            } => {
                seen.command = Some(argv.name());
                seen.from_master = Some(*from_master);
                seen.text = error.clone();
            }
            Event::Log { text, .. } => seen.text = Some(text.clone()),
            Event::Stream { start, end, what } => {
                seen.bytes = (end - start + 1).max(0) as u64;
                seen.command = Some(std::borrow::Cow::Borrowed(what.as_ref()));
            }
            Event::Timeout { what, .. } => seen.text = Some(what.clone()),
            Event::ReplicationIdChanged { reason, .. } => seen.text = Some(reason.clone()),
            Event::RdbSent { conn, bytes } => {
                seen.bytes = *bytes as u64;
                let key = format!("{conn:?}");
                self.rdb_sent
                    .retain(|(n, c, _)| !(&**n == node && *c == key));
                self.rdb_sent.truncate(MAX_SEEN);
                self.rdb_sent.push((node.into(), key, *bytes));
            }
            Event::BufferedStreamSent { conn, bytes } => {
                seen.bytes = *bytes as u64;
                let key = format!("{conn:?}");
                let rdb = self
                    .rdb_sent
                    .iter()
                    .find(|(n, c, _)| &**n == node && *c == key)
                    .map(|(_, _, b)| *b);
                if let Some(rdb) = rdb {
                    seen.text = Some(format!(
                        "{bytes} bytes buffered during the sync, RDB {rdb} bytes"
                    ));
                    if *bytes > rdb {
                        let over = Seen {
                            bit: seen.bit,
                            kind: "buffered_over_rdb",
                            is_action: false,
                            by_user: false,
                            node,
                            peer,
                            rule: None,
                            command: None,
                            from_master: None,
                            text: seen.text.clone(),
                            bytes: seen.bytes,
                        };
                        self.observe(now_us, &over);
                    }
                }
            }
            Event::OutputBufferLimit { bytes, .. } => {
                seen.bytes = *bytes as u64;
                seen.text = Some(format!(
                    "{node} closed the link: {bytes} bytes waiting in the output buffer"
                ));
            }
            _ => {}
        }
        self.observe(now_us, &seen);
    }

    /// An action applied, and by whom (only the student's count for `action` checks).
    pub fn action(&mut self, now_us: u64, origin: Origin, a: &Action) {
        let by_user = origin == Origin::User;
        let kind = action_kind(a);
        let mut command = None;
        let mut text = None;
        if let Action::Exec { command: line, .. } = a {
            let name = command_name(line);
            if by_user && self.typed.len() < MAX_SEEN {
                self.typed.insert(name.clone());
            }
            command = Some(name);
            text = Some(line.clone());
        }
        let node = a.nodes().first().map_or("", |n| *n).to_string();
        let peer = a.nodes().get(1).map(|n| n.to_string());
        let seen = Seen {
            bit: 0,
            kind,
            is_action: true,
            by_user,
            node: &node,
            peer: peer.as_deref(),
            rule: None,
            command: command.map(Into::into),
            from_master: None,
            text,
            bytes: 0,
        };
        self.observe(now_us, &seen);
    }

    /// A console on `node` got the reply to a command typed there.
    pub fn reply(&mut self, now_us: u64, node: &str, typed: &Typed) {
        match &typed.reply {
            Some(crate::engine::resp::Reply::Simple(s)) => self.acknowledged(&typed.command, s),
            // Keys the student deleted are not lost.
            Some(crate::engine::resp::Reply::Integer(_)) => {
                let args =
                    crate::engine::resp::split_args(typed.command.as_bytes()).unwrap_or_default();
                let del = args.first().is_some_and(|a| {
                    a.eq_ignore_ascii_case(b"del") || a.eq_ignore_ascii_case(b"unlink")
                });
                if del {
                    self.acked
                        .retain(|(k, _)| !args[1..].iter().any(|a| a == k.as_bytes()));
                }
            }
            _ => {}
        }
        let seen = Seen {
            bit: 0,
            kind: "reply",
            is_action: false,
            by_user: false,
            node,
            peer: None,
            rule: None,
            command: Some(command_name(&typed.command).into()),
            from_master: None,
            text: Some(typed.reply_lines().join("\n")),
            bytes: 0,
        };
        self.observe(now_us, &seen);
    }

    /// A reader saw an older value on a replica than its master has.
    pub fn stale_read(&mut self, now_us: u64, node: &str, key: &str) {
        let seen = Seen {
            bit: 0,
            kind: "stale_read",
            is_action: false,
            by_user: false,
            node,
            peer: None,
            rule: None,
            command: Some("get".into()),
            from_master: None,
            text: Some(key.to_string()),
            bytes: 0,
        };
        self.observe(now_us, &seen);
    }

    fn observe(&mut self, now_us: u64, s: &Seen) {
        if !s.is_action {
            self.keep_score(now_us, s);
        }
        // An engine event only reaches the checks of its kind (a busy run records
        // millions of events; each check would otherwise look at every one).
        let bits = Arc::clone(&self.check_bits);
        let skip = |b: u32| s.bit != 0 && b & s.bit == 0;
        for i in 0..self.goal.moments.len() {
            if !skip(bits[2][i]) && self.goal.moments[i].1.wants(s, &self.typed) {
                self.moments[i] = Some(now_us);
                // Checks counting since this moment start again.
                let name = self.goal.moments[i].0.clone();
                for (c, st) in self.goal.checks.iter().zip(self.items.iter_mut()) {
                    if c.since.as_deref() == Some(name.as_str()) {
                        *st = ItemState::default();
                    }
                }
                for ((c, _), st) in self.goal.misconceptions.iter().zip(self.wrong.iter_mut()) {
                    if c.since.as_deref() == Some(name.as_str()) {
                        *st = ItemState::default();
                    }
                }
                for (c, f) in self.goal.watches.iter().zip(self.fired.iter_mut()) {
                    if c.since.as_deref() == Some(name.as_str()) {
                        *f = None;
                    }
                }
            }
        }
        let goal = Arc::clone(&self.goal);
        for (i, c) in goal.checks.iter().enumerate() {
            if skip(bits[0][i]) {
                continue;
            }
            let since = self.moment_of(c);
            Self::count(
                c,
                &mut self.items[i],
                since,
                now_us,
                self.start_us,
                s,
                &self.typed,
            );
        }
        for (i, (c, _)) in goal.misconceptions.iter().enumerate() {
            if skip(bits[1][i]) {
                continue;
            }
            let since = self.moment_of(c);
            Self::count(
                c,
                &mut self.wrong[i],
                since,
                now_us,
                self.start_us,
                s,
                &self.typed,
            );
        }
        for (i, c) in goal.watches.iter().enumerate() {
            if skip(bits[3][i]) {
                continue;
            }
            let since = self.moment_of(c);
            if self.fired[i].is_none()
                && (c.since.is_none() || since.is_some())
                && c.wants(s, &self.typed)
            {
                self.fired[i] = Some(Fired {
                    steps: self.steps,
                    time_us: now_us,
                    rule: s.rule,
                    bytes: s.bytes,
                });
            }
        }
        self.judge(now_us);
    }

    fn count(
        c: &Check,
        st: &mut ItemState,
        since: Option<u64>,
        now_us: u64,
        start_us: u64,
        s: &Seen,
        typed: &BTreeSet<String>,
    ) {
        if c.since.is_some() && since.is_none() {
            return;
        }
        // Without a moment, `after_ms` and `within_ms` count from the lesson's start.
        let after = now_us.saturating_sub(since.unwrap_or(start_us));
        if c.metric.is_some() {
            let add = match c.metric.as_deref() {
                Some("resent_bytes") => match s.kind {
                    "rdb_sent" | "buffered_sent" => s.bytes,
                    "psync" => s.bytes,
                    _ => 0,
                },
                Some("full_syncs") => u64::from(s.kind == "fullresync"),
                _ => 0,
            };
            if matches_opt(&c.node, s.node) {
                st.metric += add;
                st.count = st.count.max(1);
                st.note = Some(match c.metric.as_deref() {
                    Some("resent_bytes") => format!("{} bytes re-sent so far", st.metric),
                    _ => format!("{} so far", st.metric),
                });
            }
            return;
        }
        if !c.is_counting() {
            return;
        }
        if !c.wants(s, typed) {
            // A check already broken (too many) keeps saying why, not what else happened.
            let broken = c.at_most.is_some_and(|m| st.count > m);
            if c.near_miss(s) && !broken {
                if let Some(t) = &s.text {
                    st.note = Some(t.clone());
                }
            }
            return;
        }
        if c.after_ms.is_some_and(|ms| after < ms * 1000) {
            st.note = Some(format!(
                "{} happened {:.1} s after the moment, before {:.1} s",
                s.kind,
                after as f64 / 1e6,
                c.after_ms.unwrap_or(0) as f64 / 1e3
            ));
            return;
        }
        if c.within_ms.is_some_and(|ms| after > ms * 1000) {
            st.note = Some(format!(
                "too late: {:.1} s after the moment (at most {:.1} s)",
                after as f64 / 1e6,
                c.within_ms.unwrap_or(0) as f64 / 1e3
            ));
            return;
        }
        st.count += 1;
        if c.distinct {
            let v = s
                .rule
                .map(str::to_string)
                .or_else(|| s.command.as_deref().map(str::to_ascii_lowercase))
                .or_else(|| s.text.clone())
                .unwrap_or_default();
            if st.seen.len() < MAX_SEEN {
                st.seen.insert(v);
            }
            st.note = Some(format!(
                "so far: {}",
                st.seen
                    .iter()
                    .map(|v| rule_words(v))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        } else if let Some(w) = c.window_ms {
            st.recent.push(now_us);
            let from = now_us.saturating_sub(w * 1000);
            st.recent.retain(|&t| t >= from);
            st.recent.truncate(MAX_SEEN);
            if st.recent.len() as u64 >= c.need() {
                st.window_met = true;
            }
            st.note = Some(format!(
                "{} in the last {:.0} s",
                st.recent.len(),
                w as f64 / 1e3
            ));
        } else if c.at_most.is_some() && st.count > c.at_most.unwrap_or(0) {
            // The time as the page's clock shows it: since the lesson started.
            st.note = Some(format!(
                "{} at {:.1} s",
                s.kind,
                now_us.saturating_sub(start_us) as f64 / 1e6
            ));
        } else {
            st.note = s
                .text
                .clone()
                .filter(|_| c.event.as_deref() == Some("psync"));
        }
    }

    /// Latches the time the whole goal first holds.
    fn judge(&mut self, now_us: u64) {
        if self.solved_at_us.is_none() && (0..self.goal.checks.len()).all(|i| self.item_met(i)) {
            self.solved_at_us = Some(now_us);
        }
    }

    /// True when node states are due for a look.
    pub fn tick_due(&self, now_us: u64) -> bool {
        now_us >= self.next_tick_us
    }

    /// Looks at node states (every [`TICK_US`], and after each action).
    pub fn tick(&mut self, sim: &Sim) {
        let now = sim.now_us();
        self.next_tick_us = (now / TICK_US + 1) * TICK_US;
        let goal = Arc::clone(&self.goal);
        for (c, st) in goal.checks.iter().zip(self.items.iter_mut()) {
            Self::look(c, st, sim, now);
        }
        for ((c, _), st) in goal.misconceptions.iter().zip(self.wrong.iter_mut()) {
            Self::look(c, st, sim, now);
        }
        self.judge(now);
    }

    fn look(c: &Check, st: &mut ItemState, sim: &Sim, now: u64) {
        let Some(kind) = c.state.as_deref() else {
            return;
        };
        if st.latched {
            return;
        }
        let verdict = state_holds(kind, c, sim);
        match verdict {
            Ok(()) => {
                let since = *st.holds_since.get_or_insert(now);
                let held = now - since;
                st.note = c.held_ms.filter(|ms| held < ms * 1000).map(|ms| {
                    format!(
                        "held {:.1} s of {:.1} s",
                        held as f64 / 1e6,
                        ms as f64 / 1e3
                    )
                });
                st.latched = c.once && st.note.is_none();
            }
            Err(why) => {
                st.holds_since = None;
                st.note = Some(why);
            }
        }
    }

    /// When the checker started (virtual µs).
    pub fn start_us(&self) -> u64 {
        self.start_us
    }
}

/// Whether a node state holds now; if not, why, in the engine's terms.
fn state_holds(kind: &str, c: &Check, sim: &Sim) -> Result<(), String> {
    let name = c.node.as_deref().unwrap_or("");
    let Some(i) = sim.index_of(name) else {
        return Err(format!("there is no node {name}"));
    };
    let sn = &sim.nodes()[i];
    let up = sn.state == NodeState::Up;
    let node = &sn.node;
    match kind {
        "up" => {
            let want = c.value.as_deref() != Some("down");
            if up == want {
                Ok(())
            } else if want {
                Err(format!("{name} is down"))
            } else {
                Err(format!("{name} is running"))
            }
        }
        "role" => {
            let is = node.master_addr().map_or("master", |(h, _)| h).to_string();
            expect_value(c, &is, &format!("{name} is {}", role_words(&is)))
        }
        "config" => {
            let key = c.key.as_deref().unwrap_or("");
            let is = node.config().get(key).unwrap_or_default();
            if let Some(h) = c.has.as_deref() {
                let (want, text) = match h.strip_prefix('!') {
                    Some(not) => (false, not),
                    None => (true, h),
                };
                if is.contains(text) != want {
                    return Err(format!("{key} is {is}"));
                }
            }
            if let Some(below) = c.below {
                match is.parse::<u64>() {
                    Ok(n) if n < below => {}
                    Ok(_) => return Err(format!("{key} is {is}, not below {below}")),
                    Err(_) => return Err(format!("{key} is {is}, not a number")),
                }
            }
            expect_value(c, &is, &format!("{key} is {is}"))
        }
        "connected" | "converged" => {
            if !up {
                return Err(format!("{name} is down"));
            }
            let Some((host, _)) = node.master_addr() else {
                return Err(format!("{name} is a master"));
            };
            if let Some(p) = c.peer.as_deref() {
                if host != p {
                    return Err(format!("{name} replicates {host}, not {p}"));
                }
            }
            if node.link_state() != LinkState::Connected {
                return Err(format!(
                    "{name}'s link to {host} is {}",
                    node.link_state().role_word()
                ));
            }
            if kind == "connected" {
                return Ok(());
            }
            let m = sim
                .index_of(host)
                .ok_or_else(|| format!("{host} is not there"))?;
            let master = sim.node(m);
            if master.replid() != node.replid() {
                return Err(format!(
                    "{name} has replid {}, {host} {}",
                    short(node.replid()),
                    short(master.replid())
                ));
            }
            // Under a steady stream the replica is always a little behind: what it lacks
            // must be on the wire and arrive within [`CONVERGED_LAG_US`] (none held by a
            // partition, queued behind a slow link, or lost).
            let gap = master.master_repl_offset() - node.master_repl_offset();
            let coming = sim.bytes_on_the_way(m, i, sim.now_us() + CONVERGED_LAG_US) as i64;
            if gap < 0 || gap > coming {
                return Err(format!(
                    "{name} is at offset {}, {host} at {}",
                    node.master_repl_offset(),
                    master.master_repl_offset()
                ));
            }
            if gap == 0 && master.keyspace() != node.keyspace() {
                return Err(format!(
                    "{name} has {} keys, {host} {}",
                    node.keyspace().key_count(),
                    master.keyspace().key_count()
                ));
            }
            Ok(())
        }
        "expired_key" => {
            // Physically there, logically gone: a replica waiting for its master's DEL.
            let key = c.key.as_deref().unwrap_or("");
            match node.keyspace().dbs[0].get(key.as_bytes()) {
                None => Err(format!("{key} is not in {name}'s keyspace")),
                Some(e) => match e.expire_at_ms {
                    Some(_) if e.is_expired(sim.now_ms()) => Ok(()),
                    Some(at) => Err(format!(
                        "{key} expires in {:.1} s",
                        (at - sim.now_ms() as i64) as f64 / 1e3
                    )),
                    None => Err(format!("{key} has no expiry on {name}")),
                },
            }
        }
        other => Err(format!("unknown state '{other}'")),
    }
}

fn role_words(role: &str) -> String {
    if role == "master" {
        "a master".into()
    } else {
        format!("a replica of {role}")
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn expect_value(c: &Check, is: &str, words: &str) -> Result<(), String> {
    let ok = match c.value.as_deref() {
        None => true,
        Some(v) => match v.strip_prefix('!') {
            Some(not) => !alternatives(&Some(not.to_string())).any(|a| a == is),
            None => alternatives(&c.value).any(|a| a == is),
        },
    };
    if ok {
        Ok(())
    } else {
        Err(words.to_string())
    }
}

impl Sim {
    /// Bytes from node `from` to node `to` on the wire now that arrive by `by_us` (not those
    /// a partition holds).
    pub fn bytes_on_the_way(&self, from: usize, to: usize, by_us: u64) -> usize {
        let (from, to) = (&self.nodes[from].name, &self.nodes[to].name);
        self.in_flight
            .values()
            .filter(|m| m.arrives_us.is_some_and(|t| t <= by_us) && m.from == *from && m.to == *to)
            .map(|m| m.len)
            .sum()
    }

    /// Attaches a checker: from now on it sees everything the simulation records.
    pub fn attach_checker(&mut self, checker: Checker) {
        self.checker = Some(Box::new(checker));
        self.tick_checker();
    }

    /// The attached checker, if any.
    pub fn checker(&self) -> Option<&Checker> {
        self.checker.as_deref()
    }

    /// Lets the checker look at node states now.
    pub(super) fn tick_checker(&mut self) {
        if let Some(mut c) = self.checker.take() {
            c.tick(self);
            self.checker = Some(c);
        }
    }

    /// After a step: the checker's tick, when due.
    pub(super) fn maybe_tick_checker(&mut self) {
        if self
            .checker
            .as_ref()
            .is_some_and(|c| c.tick_due(self.now_us))
        {
            self.tick_checker();
        }
    }

    /// Shows the checker a recorded happening.
    pub(super) fn check_event(
        &mut self,
        node: Option<usize>,
        peer: Option<&str>,
        event: &SimEvent,
        origin: Origin,
    ) {
        let steps = self.steps;
        let Some(c) = self.checker.as_deref_mut() else {
            return;
        };
        c.steps = steps;
        let now = self.now_us;
        let name = node.map_or("", |i| &*self.nodes[i].name);
        match event {
            SimEvent::Engine(e) => c.engine(now, name, peer, e),
            SimEvent::Action(a) => c.action(now, origin, a),
            SimEvent::StaleRead { key, .. } => c.stale_read(now, name, key),
            _ => {}
        }
    }

    /// Shows the checker a console reply.
    pub(super) fn check_reply(&mut self, node: usize, typed: &Typed) {
        let now = self.now_us;
        let name = self.nodes[node].name.clone();
        let steps = self.steps;
        if let Some(c) = self.checker.as_deref_mut() {
            c.steps = steps;
            c.reply(now, &name, typed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::ConnId;

    fn checker(checks: Vec<Check>, start_us: u64) -> Checker {
        let goal = Goal {
            moments: Vec::new(),
            checks,
            misconceptions: Vec::new(),
            watches: Vec::new(),
        };
        Checker::new(Arc::new(goal), start_us)
    }

    fn bgsave() -> Event {
        Event::BgsaveStarted {
            target: crate::engine::event::RdbTarget::Socket,
            replicas: Vec::new(),
            offset: 0,
            rdb_bytes: 10,
            keys: 1,
        }
    }

    /// An `at_most` check's note says when the extra event happened on the lesson's clock,
    /// not on the simulation's absolute one.
    #[test]
    fn at_most_note_counts_from_the_start() {
        let start = 1_767_225_600_000_000;
        let mut c = checker(
            vec![Check {
                text: "one BGSAVE".into(),
                event: Some("bgsave".into()),
                at_most: Some(1),
                ..Check::default()
            }],
            start,
        );
        c.engine(start + 1_000_000, "m", None, &bgsave());
        assert!(c.status()[0].met);
        c.engine(start + 7_500_000, "m", None, &bgsave());
        let item = &c.status()[0];
        assert!(!item.met);
        assert_eq!(item.note.as_deref(), Some("bgsave at 7.5 s"));
    }

    /// A `buffered_over_rdb` check notes a sync whose buffer stayed smaller than its RDB,
    /// and is met by one whose buffer outweighed it.
    #[test]
    fn buffered_over_rdb_notes_the_sizes() {
        let mut c = checker(
            vec![Check {
                text: "buffer > RDB".into(),
                event: Some("buffered_over_rdb".into()),
                node: Some("m".into()),
                ..Check::default()
            }],
            0,
        );
        let conn = ConnId::In(1);
        c.engine(1, "m", Some("r1"), &Event::RdbSent { conn, bytes: 500 });
        c.engine(
            2,
            "m",
            Some("r1"),
            &Event::BufferedStreamSent { conn, bytes: 80 },
        );
        let item = &c.status()[0];
        assert!(!item.met);
        assert_eq!(
            item.note.as_deref(),
            Some("80 bytes buffered during the sync, RDB 500 bytes")
        );
        c.engine(3, "m", Some("r1"), &Event::RdbSent { conn, bytes: 500 });
        c.engine(
            4,
            "m",
            Some("r1"),
            &Event::BufferedStreamSent { conn, bytes: 900 },
        );
        assert!(c.status()[0].met);
    }

    /// `min_bytes` counts only events that carried that many bytes: a +CONTINUE that
    /// re-sent a few bytes does not tick a check that wants many.
    #[test]
    fn min_bytes_filters_small_events() {
        use crate::engine::psync::{PsyncDecision, PsyncInputs};
        let mut c = checker(
            vec![Check {
                text: "a big +CONTINUE".into(),
                event: Some("psync".into()),
                rule: Some("continue".into()),
                min_bytes: Some(1000),
                ..Check::default()
            }],
            0,
        );
        let decide = |requested_offset: i64| Event::PsyncDecided {
            conn: ConnId::In(1),
            decision: Box::new(PsyncDecision {
                inputs: PsyncInputs {
                    requested_replid: "a".repeat(40),
                    requested_offset,
                    master_replid: "a".repeat(40),
                    master_replid2: "0".repeat(40),
                    second_replid_offset: -1,
                    master_repl_offset: 5000,
                    backlog: Some((1, 5000)),
                },
                rule: PsyncRule::Continue,
            }),
        };
        c.engine(1, "m", Some("r1"), &decide(4500));
        assert!(!c.status()[0].met, "501 bytes are not 1000");
        c.engine(2, "m", Some("r1"), &decide(4001));
        assert!(c.status()[0].met, "1000 bytes are");
    }

    /// A check broken by one event too many keeps that as its note: a later event of the
    /// same kind that the check does not count does not hide why it is unticked.
    #[test]
    fn a_broken_at_most_keeps_its_note() {
        let mut c = checker(
            vec![Check {
                text: "r1 never gave up on m".into(),
                event: Some("timeout".into()),
                node: Some("r1".into()),
                has: Some("master silent".into()),
                at_most: Some(0),
                ..Check::default()
            }],
            0,
        );
        let timeout = |what: &str| Event::Timeout {
            conn: ConnId::Out(1),
            what: what.into(),
        };
        c.engine(
            2_000_000,
            "r1",
            Some("m"),
            &timeout("connecting to the master"),
        );
        assert!(c.status()[0].met);
        c.engine(3_000_000, "r1", Some("m"), &timeout("master silent"));
        c.engine(
            4_000_000,
            "r1",
            Some("m"),
            &timeout("connecting to the master"),
        );
        let item = &c.status()[0];
        assert!(!item.met);
        assert_eq!(item.note.as_deref(), Some("timeout at 3.0 s"));
    }
}

#[cfg(test)]
mod tests_b {
    use crate::sim::scenario::Scenario;

    /// A lesson whose only check is `repl-backlog-size` below 2 MB on m.
    fn lesson(check: &str, steps: &str) -> Scenario {
        Scenario::parse(&format!(
            r#"{{"name": "t", "title": "t", "nodes": [{{"name": "m"}}], "steps": [{steps}],
               "lesson": {{"sequence": "primer", "order": 0, "challenge": "c",
                           "goal": [{check}]}}}}"#
        ))
        .unwrap()
    }

    /// Whether the check holds after 2 s, and its note.
    fn solved(s: &Scenario) -> (bool, Option<String>) {
        let mut t = s.build(None).unwrap();
        t.run_until_us(t.start_us() + 2_000_000);
        let c = t.sim().checker().unwrap();
        let item = &c.status()[0];
        (item.met, item.note.clone())
    }

    #[test]
    fn a_config_state_with_has_looks_inside_the_value() {
        let check = |has: &str| {
            format!(
                r#"{{"text": "t", "state": "config", "node": "m",
                     "key": "client-output-buffer-limit", "has": "{has}"}}"#
            )
        };
        let set = r#"{"at_ms": 500, "do": "exec", "node": "m",
                      "command": "CONFIG SET client-output-buffer-limit \"replica 0 0 0\""}"#;
        assert!(!solved(&lesson(&check("slave 0 0 0"), "")).0);
        assert!(solved(&lesson(&check("!slave 0 0 0"), "")).0);
        assert!(solved(&lesson(&check("slave 0 0 0"), set)).0);
        let (met, note) = solved(&lesson(&check("!slave 0 0 0"), set));
        assert!(!met);
        assert_eq!(
            note.as_deref(),
            Some(
                "client-output-buffer-limit is normal 0 0 0 slave 0 0 0 pubsub 33554432 8388608 60"
            )
        );
    }

    #[test]
    fn connected_holds_while_the_link_is_up() {
        let json = r#"{"name": "t", "title": "t",
            "nodes": [{"name": "m"}, {"name": "r1", "replicaof": "m"}],
            "steps": [{"at_ms": 3000, "do": "workload", "node": "m", "rate": 100},
                      {"at_ms": 9000, "do": "cut", "a": "m", "b": "r1"}],
            "lesson": {"sequence": "primer", "order": 0, "challenge": "c",
                       "goal": [{"text": "up", "state": "connected", "node": "r1",
                                 "peer": "m", "held_ms": 2000}]}}"#;
        let s = Scenario::parse(json).unwrap();
        let mut t = s.build(None).unwrap();
        t.run_until_us(t.start_us() + 8_000_000);
        let c = t.sim().checker().unwrap();
        assert!(c.status()[0].met, "{:?}", c.status()[0]);
        t.run_until_us(t.start_us() + 10_000_000);
        let c = t.sim().checker().unwrap();
        assert!(!c.status()[0].met);
        assert!(c.status()[0]
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("r1's link to m is")));
    }

    #[test]
    fn a_once_state_stays_met_after_it_held() {
        let json = |once: bool| {
            format!(
                r#"{{"name": "t", "title": "t", "nodes": [{{"name": "m"}}],
                "steps": [{{"at_ms": 1000, "do": "exec", "node": "m", "command": "SET k v"}},
                          {{"at_ms": 4000, "do": "exec", "node": "m", "command": "DEL k"}}],
                "lesson": {{"sequence": "primer", "order": 0, "challenge": "c",
                           "goal": [{{"text": "k", "state": "config", "node": "m",
                                      "key": "repl-backlog-size", "value": "1048576",
                                      "held_ms": 2000, "once": {once}}}]}}}}"#
            )
        };
        // The state holds from the start; a CONFIG SET at 2.5 s ends it, before or after
        // the 2 s it had to hold.
        for (at, once, met) in [
            (2500, true, true),
            (2500, false, false),
            (1500, true, false),
        ] {
            let mut s = Scenario::parse(&json(once)).unwrap();
            s.steps.push(
                serde_json::from_str(&format!(
                    r#"{{"at_ms": {at}, "do": "exec", "node": "m",
                         "command": "CONFIG SET repl-backlog-size 2mb"}}"#
                ))
                .unwrap(),
            );
            let mut t = s.build(None).unwrap();
            t.run_until_us(t.start_us() + 6_000_000);
            let c = t.sim().checker().unwrap();
            assert_eq!(c.status()[0].met, met, "at {at}, once {once}");
        }
    }

    #[test]
    fn a_config_state_with_below_compares_the_number() {
        let check = r#"{"text": "small", "state": "config", "node": "m",
                        "key": "repl-backlog-size", "below": 2097152}"#;
        // The default 1mb is below 2 MB.
        assert!(solved(&lesson(check, "")).0);
        // 2mb is not below 2 MB, and the note says what it is.
        let set = r#"{"at_ms": 500, "do": "exec", "node": "m",
                      "command": "CONFIG SET repl-backlog-size 2mb"}"#;
        let (met, note) = solved(&lesson(check, set));
        assert!(!met);
        assert_eq!(
            note.as_deref(),
            Some("repl-backlog-size is 2097152, not below 2097152")
        );
        // A value that is not a number never passes.
        let check = r#"{"text": "t", "state": "config", "node": "m",
                        "key": "replica-serve-stale-data", "below": 10}"#;
        assert!(!solved(&lesson(check, "")).0);
    }
}
