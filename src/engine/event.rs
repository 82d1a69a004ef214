//! Structured events: every step a student should see, with the values behind it. The UI
//! animates them, the simulator records them, and the native server prints their log lines.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::argv::Argv;
use super::node::ConnId;
use super::psync::PsyncDecision;

/// Redis's log levels (the character it prints: `.` debug, `-` verbose, `*` notice, `#` warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    Verbose,
    Notice,
    Warning,
}

/// The replica-side link states (`repl_state`, server.h), in handshake order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    None,
    Connect,
    Connecting,
    ReceivePingReply,
    SendHandshake,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    SendPsync,
    ReceivePsyncReply,
    Transfer,
    Connected,
}

impl LinkState {
    /// The state word ROLE prints on a replica (`roleCommand`).
    pub fn role_word(self) -> &'static str {
        match self {
            LinkState::None => "none",
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// True in the handshake range (`slaveIsInHandshakeState`).
    pub fn is_handshake(self) -> bool {
        (LinkState::ReceivePingReply..=LinkState::ReceivePsyncReply).contains(&self)
    }
}

impl PartialOrd for LinkState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((*self as u8).cmp(&(*other as u8)))
    }
}

/// Master-side states of an attached replica (`replstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReplicaState {
    WaitBgsaveStart,
    WaitBgsaveEnd,
    SendBulk,
    Online,
}

impl ReplicaState {
    /// The word INFO replication prints (`wait_bgsave`, `send_bulk`, `online`).
    pub fn info_word(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// Where a full-sync RDB goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RdbTarget {
    Disk,
    /// Diskless: streamed to the replicas' sockets with the `$EOF:` marker.
    Socket,
}

/// One thing that happened inside a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A line of the node's log, worded as Redis words it.
    Log {
        level: LogLevel,
        text: String,
        /// Written from a signal handler (`serverLogFromHandler`, e.g. the watchdog's
        /// lines): Redis prefixes it `<pid>:signal-handler (<unix time>)`, without the
        /// role, the millisecond date and the level mark of other lines.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        signal_handler: bool,
    },
    /// A client command ran (`argv` lossily decoded for display).
    Command {
        conn: ConnId,
        argv: Argv,
        from_master: bool,
        error: Option<String>,
    },
    /// Bytes entered the replication stream: `[start, end]` are their offsets (inclusive).
    Stream {
        start: i64,
        end: i64,
        /// What they carry: `SELECT`, `ping`, the command's name (as the command table
        /// spells it), `stream` for bytes a replica forwards… Names are static: a node
        /// emits one of these per replicated write.
        what: Cow<'static, str>,
    },
    BacklogCreated {
        first_byte_offset: i64,
        size: u64,
    },
    /// The ring's write head passed the end and started overwriting the oldest bytes.
    BacklogWrapped {
        master_repl_offset: i64,
    },
    /// Whole blocks were dropped from the front (blocks model).
    BacklogTrimmed {
        first_byte_offset: i64,
        histlen: i64,
    },
    BacklogFreed,
    /// replid/replid2 changed; `reason` says why (first replica, promotion, new master…).
    ReplicationIdChanged {
        replid: String,
        replid2: String,
        second_replid_offset: i64,
        reason: String,
    },
    /// Replica side: the link to the master entered `state`.
    LinkStateChanged {
        state: LinkState,
    },
    /// Replica side: sent `PSYNC replid offset`.
    PsyncSent {
        replid: String,
        offset: i64,
    },
    /// Master side: the PSYNC decision with its inputs.
    PsyncDecided {
        conn: ConnId,
        /// Boxed: the largest payload, and rare; every event is as large as the largest.
        decision: Box<PsyncDecision>,
    },
    /// Master side: an attached replica changed state.
    ReplicaStateChanged {
        conn: ConnId,
        state: ReplicaState,
    },
    /// Master side: `+FULLRESYNC <replid> <offset>` was sent to a replica (when its BGSAVE
    /// starts, or when it shares one already running).
    FullResyncSent {
        conn: ConnId,
        replid: String,
        offset: i64,
    },
    /// Master side: a snapshot for full sync started (`offset` goes in `+FULLRESYNC`).
    BgsaveStarted {
        target: RdbTarget,
        replicas: Vec<ConnId>,
        offset: i64,
        rdb_bytes: usize,
        keys: usize,
    },
    /// Master side: the snapshot's bytes were handed to a replica connection.
    RdbSent {
        conn: ConnId,
        bytes: usize,
    },
    /// Master side: writes buffered for a replica during its full sync were sent after the RDB.
    BufferedStreamSent {
        conn: ConnId,
        bytes: usize,
    },
    /// Replica side: RDB received and loaded.
    RdbLoaded {
        bytes: usize,
        keys: usize,
        offset: i64,
    },
    /// Replica side: the RDB could not be loaded; the old data stays.
    RdbLoadFailed {
        reason: String,
    },
    /// Master side: heartbeat PING entered the stream.
    PingSent {
        offset: i64,
    },
    /// Replica side: sent `REPLCONF ACK <offset>`.
    AckSent {
        offset: i64,
    },
    /// Master side: a replica acknowledged `offset`.
    AckReceived {
        conn: ConnId,
        offset: i64,
    },
    /// A replication link timed out (`repl-timeout`).
    Timeout {
        conn: ConnId,
        what: String,
    },
    /// The node became a master or a replica of `master`.
    RoleChanged {
        master: Option<(String, u16)>,
    },
    /// A replica's output buffer passed `client-output-buffer-limit`.
    OutputBufferLimit {
        conn: ConnId,
        bytes: usize,
    },
}

impl Event {
    /// The connection the event is about, for those about one (a replica's state, an ACK,
    /// a timeout, a sync's steps).
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Event::PsyncDecided { conn, .. }
            | Event::ReplicaStateChanged { conn, .. }
            | Event::FullResyncSent { conn, .. }
            | Event::RdbSent { conn, .. }
            | Event::BufferedStreamSent { conn, .. }
            | Event::AckReceived { conn, .. }
            | Event::Timeout { conn, .. }
            | Event::OutputBufferLimit { conn, .. } => Some(*conn),
            _ => None,
        }
    }
}
