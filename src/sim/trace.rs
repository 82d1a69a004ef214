//! What the simulator records: every engine event, every segment sent on a link (with its
//! bytes and when it arrives), every fault and user action, each stamped with virtual time.
//! The UI animates from it; a hash of it proves two runs identical.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::action::Action;
use crate::engine::event::Event;

/// A node's or client's name, shared by every trace entry that mentions it (a trace holds
/// millions of entries; each would otherwise own a copy). Serialised as a plain string.
pub type Name = Arc<str>;

/// What a segment on a link carries, for colouring packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MsgKind {
    /// The master's replication stream: writes, SELECT, MULTI/EXEC.
    Stream,
    /// The heartbeat `ping` in the stream.
    Ping,
    /// `REPLCONF ACK <offset>` from a replica.
    Ack,
    /// `REPLCONF GETACK *` in the stream.
    GetAck,
    /// PING/REPLCONF/PSYNC and their replies before the transfer.
    Handshake,
    /// The RDB payload of a full sync.
    Rdb,
    /// A client's command or a reply to it.
    Client,
    /// A presync newline keepalive.
    Keepalive,
}

impl MsgKind {
    /// What it carries, in the words of the page's legend.
    pub fn words(self) -> &'static str {
        match self {
            MsgKind::Stream => "writes (replication stream)",
            MsgKind::Ping => "PING in the stream",
            MsgKind::Ack => "REPLCONF ACK",
            MsgKind::GetAck => "REPLCONF GETACK",
            MsgKind::Handshake => "handshake or PSYNC",
            MsgKind::Rdb => "RDB (full sync)",
            MsgKind::Client => "a client's command or reply",
            MsgKind::Keepalive => "keepalive newline",
        }
    }
}

/// A segment handed to the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: u64,
    pub from: Name,
    pub to: Name,
    pub kind: MsgKind,
    /// Total length of the segment.
    pub len: usize,
    /// The first bytes (all of them for small segments), to show the exact RESP.
    pub head: Vec<u8>,
    pub sent_us: u64,
    /// `None` while a partition holds it.
    pub arrives_us: Option<u64>,
}

/// The largest prefix of a segment kept in the trace.
pub const HEAD_BYTES: usize = 512;

/// One recorded happening.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SimEvent {
    /// An event of a node's engine.
    Engine(Event),
    /// A segment entered a link (boxed: the largest payload; every entry is as large as it).
    Send(Box<Message>),
    /// A segment already on its way was caught by a new partition: it waits (held) for a
    /// heal instead of arriving when its `Send` said.
    Held { id: u64 },
    /// A held segment was released by a heal, with its new arrival time.
    Released { id: u64, arrives_us: u64 },
    /// A segment was lost because its connection no longer exists.
    Dropped { id: u64 },
    /// A user action or scenario step was applied.
    Action(Action),
    /// An action was not applied: a node it names is not there (`reason` says which).
    Skipped { action: Action, reason: String },
    /// The scenario's last scripted step has run: from here on only the user acts.
    ScriptDone,
    /// A reader got an older value from a replica than the master holds.
    StaleRead {
        key: String,
        replica_value: Option<String>,
        master_value: Option<String>,
    },
}

/// A trace entry: when, where (node name, empty for the network), what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub time_us: u64,
    pub node: Name,
    pub event: SimEvent,
    /// For an engine event about one of the node's connections (a replica's state, an
    /// ACK, a timeout): who is at the other end, named when it happened, so that the log
    /// says `r1`, not a connection number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Name>,
}

impl TraceEntry {
    pub fn time_ms(&self) -> u64 {
        self.time_us / 1000
    }

    /// The engine event, if this entry is one.
    pub fn engine(&self) -> Option<&Event> {
        match &self.event {
            SimEvent::Engine(e) => Some(e),
            _ => None,
        }
    }
}

/// Roughly how many bytes of memory `entry` holds (its own size and what it owns), for the
/// history's budget: exact enough to bound memory, cheap enough to count every entry.
pub fn entry_bytes(entry: &TraceEntry) -> usize {
    let owned = match &entry.event {
        SimEvent::Send(m) => std::mem::size_of::<Message>() + m.head.capacity(),
        SimEvent::Engine(Event::Command { argv, error, .. }) => {
            argv.packed_len() + error.as_ref().map_or(0, String::len)
        }
        SimEvent::Engine(Event::Log { text, .. }) => text.capacity(),
        SimEvent::Engine(Event::Stream { .. }) => 0,
        // Replids, reasons, decisions: rare entries, a generous flat estimate.
        SimEvent::Engine(_) => 256,
        SimEvent::Action(_) | SimEvent::ScriptDone => 128,
        SimEvent::Skipped { reason, .. } => 128 + reason.len(),
        SimEvent::StaleRead {
            key,
            replica_value,
            master_value,
        } => {
            key.len()
                + replica_value.as_ref().map_or(0, String::len)
                + master_value.as_ref().map_or(0, String::len)
        }
        SimEvent::Held { .. } | SimEvent::Released { .. } | SimEvent::Dropped { .. } => 0,
    };
    std::mem::size_of::<TraceEntry>() + owned
}

/// FNV-1a over the JSON of every entry: equal hashes mean identical runs (JSON of these
/// types is the same on every platform).
pub fn hash(trace: &[TraceEntry]) -> u64 {
    let mut h = TraceHasher::default();
    trace.iter().for_each(|e| h.add(e));
    h.finish()
}

/// [`hash`] fed one entry at a time (a long run is hashed as it goes, not kept whole).
#[derive(Clone, Debug)]
pub struct TraceHasher(u64);

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::io::Write for TraceHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for &b in buf {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TraceHasher {
    pub fn add(&mut self, entry: &TraceEntry) {
        let _ = serde_json::to_writer(&mut *self, entry);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// Guesses what a segment carries from its first bytes and its direction.
pub fn classify(bytes: &[u8], from_master_link: bool, to_client: bool) -> MsgKind {
    if to_client {
        return MsgKind::Client;
    }
    if !bytes.is_empty() && bytes.iter().all(|b| *b == b'\n') {
        return MsgKind::Keepalive;
    }
    // A master's keepalive newline often shares its segment with what follows it (the
    // `+FULLRESYNC` and the RDB of a diskless sync, sent by the same cron run).
    let bytes = &bytes[bytes.iter().take_while(|b| **b == b'\n').count()..];
    let starts = |p: &[u8]| bytes.starts_with(p);
    // The RDB of a full sync, with or without its `+FULLRESYNC` ahead in the same segment.
    let rdb = |b: &[u8]| {
        b.starts_with(b"$EOF:") || (b.starts_with(b"$") && b.windows(5).any(|w| w == b"REDIS"))
    };
    let after_reply = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(&[][..], |i| &bytes[i + 2..]);
    if rdb(bytes) || (starts(b"+FULLRESYNC") && rdb(after_reply)) {
        MsgKind::Rdb
    } else if starts(b"*1\r\n$4\r\nping\r\n") {
        MsgKind::Ping
    } else if starts(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n") {
        MsgKind::Ack
    } else if starts(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n") {
        MsgKind::GetAck
    } else if starts(b"+FULLRESYNC")
        || starts(b"+CONTINUE")
        || starts(b"*1\r\n$4\r\nPING")
        || starts(b"*3\r\n$8\r\nREPLCONF")
        || starts(b"*5\r\n$8\r\nREPLCONF")
        || starts(b"*3\r\n$5\r\nPSYNC")
        || starts(b"+PONG")
        || starts(b"+OK")
        || starts(b"-")
    {
        MsgKind::Handshake
    } else if from_master_link {
        MsgKind::Stream
    } else {
        MsgKind::Client
    }
}

/// Arrival times that changed after their segments were sent, as of the end of `trace`: a
/// partition caught the segment on its way (`Held`: `None`, it waits) or a heal released it
/// (`Released`: when it arrives now). Whoever draws a `Send` entry looks its id up here
/// first. The events always follow their `Send`, so the part of a trace since a time holds
/// every update of the segments sent since then.
pub fn arrival_updates(trace: &[TraceEntry]) -> BTreeMap<u64, Option<u64>> {
    let mut updates = BTreeMap::new();
    for t in trace {
        match t.event {
            SimEvent::Held { id } => {
                updates.insert(id, None);
            }
            SimEvent::Released { id, arrives_us } => {
                updates.insert(id, Some(arrives_us));
            }
            _ => {}
        }
    }
    updates
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A diskless sync's first segment often starts with the cron's keepalive newline:
    /// it is still the RDB (it was drawn as replication stream).
    #[test]
    fn keepalive_newlines_do_not_hide_what_follows() {
        let fullresync_rdb =
            b"\n+FULLRESYNC 8de1 0\r\n$EOF:0123456789012345678901234567890123456789\r\nREDIS0010";
        assert_eq!(classify(fullresync_rdb, true, false), MsgKind::Rdb);
        assert_eq!(classify(b"$EOF:abc\r\nREDIS", true, false), MsgKind::Rdb);
        assert_eq!(classify(b"\n\n", true, false), MsgKind::Keepalive);
        assert_eq!(
            classify(b"\n+CONTINUE\r\n", true, false),
            MsgKind::Handshake
        );
        assert_eq!(
            classify(b"+FULLRESYNC 8de1 0\r\n", true, false),
            MsgKind::Handshake
        );
        assert_eq!(
            classify(b"*1\r\n$4\r\nping\r\n", true, false),
            MsgKind::Ping
        );
        assert_eq!(
            classify(b"*3\r\n$3\r\nSET\r\n", true, false),
            MsgKind::Stream
        );
    }
}
