//! The event log's view of the trace: which entries it shows and how it words them, and
//! the filter a student sets (kinds, one node, a piece of text). The history keeps the
//! entries the log can show per kind ([`History::log_entries`]), so finding the latest lines
//! costs the number of lines looked at, not the length of the run.

use serde::{Deserialize, Serialize};

use super::history::{History, Recomputed};
use super::trace::{SimEvent, TraceEntry};
use crate::engine::event::{Event, LogLevel, RdbTarget};
use crate::engine::node::ConnId;

/// What the event log calls an entry: its filter and its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LogKind {
    /// A user action or scenario step (run or skipped), and the end of the script.
    Action,
    /// Replication as it happens: PSYNC and its decision, full syncs, link and replica
    /// states, role and replid changes, the backlog, timeouts, output buffer limits.
    Replication,
    /// PINGs from masters and `REPLCONF ACK`s from replicas.
    Heartbeat,
    /// A command a node ran (its clients' and, on replicas, its master's).
    Command,
    /// A node's log line.
    Log,
    /// A warning log line, or a command that failed.
    Warning,
    /// A reader saw a replica's value differ from the master's.
    Stale,
}

impl LogKind {
    pub const ALL: [LogKind; 7] = [
        LogKind::Action,
        LogKind::Replication,
        LogKind::Heartbeat,
        LogKind::Command,
        LogKind::Log,
        LogKind::Warning,
        LogKind::Stale,
    ];

    /// The word the log's filter shows (and its CSS class).
    pub fn word(self) -> &'static str {
        match self {
            LogKind::Action => "action",
            LogKind::Replication => "replication",
            LogKind::Heartbeat => "heartbeat",
            LogKind::Command => "command",
            LogKind::Log => "log",
            LogKind::Warning => "warning",
            LogKind::Stale => "stale",
        }
    }

    /// What the event log shows of `event`, `None` for what it never shows: segments (the
    /// topology and the space-time diagram draw those) and stream feeds (the backlog ring).
    pub fn of(event: &SimEvent) -> Option<LogKind> {
        Some(match event {
            SimEvent::Action(_) | SimEvent::Skipped { .. } | SimEvent::ScriptDone => {
                LogKind::Action
            }
            SimEvent::StaleRead { .. } => LogKind::Stale,
            SimEvent::Send(_)
            | SimEvent::Held { .. }
            | SimEvent::Released { .. }
            | SimEvent::Dropped { .. } => return None,
            SimEvent::Engine(e) => match e {
                Event::Log {
                    level: LogLevel::Warning,
                    ..
                } => LogKind::Warning,
                Event::Log { .. } => LogKind::Log,
                Event::Command { error: Some(_), .. } => LogKind::Warning,
                Event::Command { .. } => LogKind::Command,
                Event::PingSent { .. } | Event::AckSent { .. } | Event::AckReceived { .. } => {
                    LogKind::Heartbeat
                }
                Event::Stream { .. } => return None,
                _ => LogKind::Replication,
            },
        })
    }
}

/// What the event log shows: a set of kinds, optionally one node, optionally a piece of
/// text (case-insensitive) the line must contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFilter {
    pub kinds: Vec<LogKind>,
    pub node: Option<String>,
    pub text: String,
}

/// By default the log reads like a server log with the user's actions: the per-command,
/// per-heartbeat and per-state-change entries are there to be switched on.
impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            kinds: vec![
                LogKind::Action,
                LogKind::Log,
                LogKind::Warning,
                LogKind::Stale,
            ],
            node: None,
            text: String::new(),
        }
    }
}

impl LogFilter {
    /// Shows or hides a kind.
    pub fn toggle(&mut self, kind: LogKind) {
        match self.kinds.iter().position(|k| *k == kind) {
            Some(i) => {
                self.kinds.remove(i);
            }
            None => self.kinds.push(kind),
        }
    }

    pub fn shows(&self, kind: LogKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// True when the log shows `entry` under this filter.
    pub fn passes(&self, entry: &TraceEntry) -> bool {
        line(entry, self, &self.text.to_lowercase(), 0).is_some()
    }
}

/// One line of the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Milliseconds since the run started.
    pub ms: u64,
    pub node: String,
    pub kind: LogKind,
    pub text: String,
}

/// How many indexed entries one look at the log examines at most: a filter that matches
/// nothing recent must not cost a scan of a whole long run on every frame.
pub const SCAN_LIMIT: usize = 50_000;

/// What the log shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogView {
    /// Oldest first.
    pub lines: Vec<LogLine>,
    /// The search stopped at [`SCAN_LIMIT`] before finding `limit` lines.
    pub truncated: bool,
    /// Fewer than `limit` lines were found and older lines of the kinds asked for were
    /// dropped from memory: they can be recomputed ([`super::timeline::Timeline::recompute_log`]).
    pub dropped: bool,
}

/// The latest `limit` lines `filter` lets through among the entries numbered below `upto`
/// (the moment shown), oldest first: from the history, then from `recomputed` when it
/// reaches the oldest entries the history kept.
pub fn lines(
    history: &History,
    recomputed: Option<&Recomputed>,
    upto: u64,
    filter: &LogFilter,
    start_us: u64,
    limit: usize,
) -> LogView {
    let needle = filter.text.to_lowercase();
    let mut out = Vec::new();
    let kept = history.log_entries(&filter.kinds, upto);
    let complete_from = history.log_complete_from(&filter.kinds);
    // Recomputed lines that end before what the history kept (or before the moment shown)
    // would leave a gap: unused.
    let recomputed = recomputed.filter(|r| r.to >= complete_from.min(upto));
    let older = recomputed
        .map_or(&[][..], |r| &r.entries[..])
        .iter()
        .filter(move |(n, _)| *n < complete_from.min(upto))
        .map(|(n, e)| (*n, e));
    let mut truncated = false;
    for (scanned, (_, entry)) in kept.chain(older).enumerate() {
        if out.len() == limit {
            break;
        }
        if scanned == SCAN_LIMIT {
            truncated = true;
            break;
        }
        if let Some(line) = line(entry, filter, &needle, start_us) {
            out.push(line);
        }
    }
    let oldest_known = recomputed.map_or(complete_from, |r| r.from.min(complete_from));
    let dropped = !truncated && out.len() < limit && oldest_known > 0 && upto > 0;
    out.reverse();
    LogView {
        lines: out,
        truncated,
        dropped,
    }
}

fn line(entry: &TraceEntry, filter: &LogFilter, needle: &str, start_us: u64) -> Option<LogLine> {
    let kind = LogKind::of(&entry.event).filter(|k| filter.shows(*k))?;
    if filter.node.as_deref().is_some_and(|n| *entry.node != *n) {
        return None;
    }
    let text = text(entry)?;
    if !needle.is_empty() && !text.to_lowercase().contains(needle) {
        return None;
    }
    Some(LogLine {
        ms: entry.time_us.saturating_sub(start_us) / 1000,
        node: entry.node.to_string(),
        kind,
        text,
    })
}

/// The words of an entry the log shows (`None` for those it never shows).
pub fn text(entry: &TraceEntry) -> Option<String> {
    let peer = entry.peer.as_deref();
    let conn_words = |conn: ConnId| conn_words(conn, peer);
    Some(match &entry.event {
        SimEvent::Action(a) => a.describe(),
        SimEvent::Skipped { action, reason } => {
            format!("{} — skipped: {reason}", action.describe())
        }
        SimEvent::ScriptDone => "scenario script done: the rest is yours".into(),
        SimEvent::StaleRead {
            key,
            replica_value,
            master_value,
        } => format!(
            "stale read of {key}: the replica answered {}, the master holds {}",
            value_words(replica_value.as_deref()),
            value_words(master_value.as_deref())
        ),
        SimEvent::Send(_)
            | SimEvent::Held { .. }
            | SimEvent::Released { .. }
            | SimEvent::Dropped { .. } => return None,
        SimEvent::Engine(e) => match e {
            Event::Log { text, .. } => text.clone(),
            Event::Command {
                argv,
                from_master,
                error,
                ..
            } => {
                let source = if *from_master { " (from the master)" } else { "" };
                match error {
                    Some(e) => format!("{argv}{source} → {e}"),
                    None => format!("{argv}{source}"),
                }
            }
            Event::Stream { .. } => return None,
            Event::BacklogCreated {
                first_byte_offset,
                size,
            } => format!("backlog created: {size} bytes, first byte offset {first_byte_offset}"),
            Event::BacklogWrapped { master_repl_offset } => {
                format!("backlog wrapped at offset {master_repl_offset}: the oldest bytes are overwritten")
            }
            Event::BacklogTrimmed {
                first_byte_offset,
                histlen,
            } => format!("backlog trimmed: now offsets {first_byte_offset}.. ({histlen} bytes)"),
            Event::BacklogFreed => "backlog freed".into(),
            Event::ReplicationIdChanged {
                replid,
                replid2,
                second_replid_offset,
                reason,
            } => format!(
                "replid {replid} (replid2 {replid2} valid up to {second_replid_offset}): {reason}"
            ),
            Event::LinkStateChanged { state } => {
                format!("link to the master: {}", state.role_word())
            }
            Event::PsyncSent { replid, offset } => format!("sent PSYNC {replid} {offset}"),
            Event::PsyncDecided { conn, decision } => {
                let i = &decision.inputs;
                // A full resync's `+FULLRESYNC <replid> <offset>` carries the offset of the
                // BGSAVE, which may start later (diskless delay): the log names the reply only.
                let reply = if decision.is_continue() {
                    "+CONTINUE"
                } else {
                    "+FULLRESYNC"
                };
                format!(
                    "PSYNC {} {} from {} → {reply}: {}",
                    i.requested_replid,
                    i.requested_offset,
                    conn_words(*conn),
                    decision.explanation()
                )
            }
            Event::ReplicaStateChanged { conn, state } => {
                format!("{}: {}", conn_words(*conn), state.info_word())
            }
            Event::FullResyncSent {
                conn,
                replid,
                offset,
            } => format!("+FULLRESYNC {replid} {offset} sent to {}", conn_words(*conn)),
            Event::BgsaveStarted {
                target,
                replicas,
                offset,
                rdb_bytes,
                keys,
            } => format!(
                "BGSAVE for {} replica(s) to {}: {keys} keys, {rdb_bytes} bytes, stream offset {offset}",
                replicas.len(),
                match target {
                    RdbTarget::Disk => "disk",
                    RdbTarget::Socket => "the replicas' sockets (diskless)",
                }
            ),
            Event::RdbSent { conn, bytes } => {
                format!("RDB of {bytes} bytes handed to {}", conn_words(*conn))
            }
            Event::BufferedStreamSent { conn, bytes } => {
                format!(
                    "{bytes} bytes of writes buffered during the sync sent to {}",
                    conn_words(*conn)
                )
            }
            Event::RdbLoaded {
                bytes,
                keys,
                offset,
            } => format!("RDB loaded: {keys} keys from {bytes} bytes, offset {offset}"),
            Event::RdbLoadFailed { reason } => format!("RDB not loaded: {reason}"),
            Event::PingSent { offset } => format!("PING into the stream (offset {offset})"),
            Event::AckSent { offset } => format!("REPLCONF ACK {offset}"),
            Event::AckReceived { conn, offset } => {
                format!("{} acknowledged offset {offset}", conn_words(*conn))
            }
            Event::Timeout { conn, what } => {
                format!("timeout on the link with {}: {what}", conn_words(*conn))
            }
            Event::RoleChanged { master: Some((host, port)) } => format!("now a replica of {host}:{port}"),
            Event::RoleChanged { master: None } => "now a master".into(),
            Event::OutputBufferLimit { conn, bytes } => {
                format!(
                    "{} passed the output buffer limit with {bytes} bytes",
                    conn_words(*conn)
                )
            }
        },
    })
}

/// A connection as the log names it: by who is at the other end when known (a replica, a
/// client, the master), else by its number.
fn conn_words(conn: ConnId, peer: Option<&str>) -> String {
    match (conn, peer) {
        (ConnId::In(_), Some(p)) if p.starts_with("client") => format!("client {p}"),
        (ConnId::In(_), Some(p)) => format!("replica {p}"),
        (ConnId::In(n), None) => format!("the replica on connection {n}"),
        (ConnId::Out(_), Some(p)) => format!("master {p}"),
        (ConnId::Out(_), None) => "its master".to_string(),
    }
}

/// A value as redis-cli would print it, `(nil)` for none.
fn value_words(value: Option<&str>) -> String {
    value.map_or_else(
        || "(nil)".into(),
        |v| super::redis_cli::quoted(v.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Action;

    fn entry(time_us: u64, event: SimEvent) -> TraceEntry {
        TraceEntry {
            time_us,
            node: "m".into(),
            event,
            peer: None,
        }
    }

    /// The log reads only the kinds its filter shows: tens of thousands of heartbeats (or
    /// commands) since the last line shown do not hide it behind the scan limit. (The page
    /// once showed nothing but "only the latest 50000 entries were searched" after a busy
    /// run, where 4-byte pointers fit more entries in the window than this machine does.)
    #[test]
    fn a_flood_of_hidden_kinds_does_not_bury_the_lines_shown() {
        let mut history = History::new(usize::MAX);
        let cut = Action::Cut {
            a: "m".into(),
            b: "r1".into(),
        };
        history.push(0, entry(0, SimEvent::Action(cut)));
        let flood = SCAN_LIMIT as u64 + 1_000;
        for n in 1..=flood {
            let ping = SimEvent::Engine(Event::PingSent { offset: n as i64 });
            history.push(n, entry(n, ping));
        }
        let view = lines(&history, None, history.end(), &LogFilter::default(), 0, 60);
        assert!(!view.truncated, "the search stopped at the scan limit");
        assert_eq!(view.lines.len(), 1);
        assert_eq!(view.lines[0].text, "cut link m–r1");
    }
}
