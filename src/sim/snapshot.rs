//! A plain, serialisable picture of the simulation at the current instant: what the UI
//! draws and what `window.replscope.snapshot()` returns. Packets in flight carry their
//! progress along the link, computed from their send and arrival times.

use serde::Serialize;

use super::trace::{Message, MsgKind};
use super::{NodeState, Sim};
use crate::engine::backlog::Layout;
use crate::engine::event::LinkState;
use crate::engine::psync::PsyncDecision;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaEntry {
    pub name: String,
    pub state: String,
    pub ack_offset: i64,
    pub lag_s: u64,
    pub output_buffer: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacklogView {
    pub model: String,
    pub size: u64,
    pub first_byte_offset: i64,
    pub histlen: i64,
    pub master_offset: i64,
    /// Ring only: where the next byte goes, and how many times the head wrapped.
    pub write_index: Option<usize>,
    pub wraps: u64,
    /// Blocks only: (first offset, used bytes) of each block.
    pub blocks: Vec<(i64, usize)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeView {
    pub name: String,
    /// `up`, `asleep` (in `DEBUG SLEEP`: running, but serving nobody until it wakes),
    /// `paused` or `down`.
    pub process: String,
    /// `master` or `replica`.
    pub role: String,
    pub master: Option<String>,
    /// ROLE's word for the link to the master (`connect`, `handshake`, `sync`, `connected`).
    pub link: String,
    pub replid: String,
    pub replid2: String,
    pub second_replid_offset: i64,
    pub offset: i64,
    pub keys: usize,
    pub backlog: Option<BacklogView>,
    pub replicas: Vec<ReplicaEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkView {
    pub master: String,
    pub replica: String,
    /// `connected`, `handshake`, `sync`, `connecting`, `down`, `cut` or `partitioned`.
    pub state: String,
    /// Seconds the replica has heard nothing from its master, and its `repl-timeout`.
    pub silent_s: Option<u64>,
    pub repl_timeout_s: u64,
    /// The other side: seconds since the master last had a `REPLCONF ACK` from this replica
    /// (its `lag`, once the replica is online), and the master's `repl-timeout`.
    pub ack_lag_s: Option<u64>,
    pub master_repl_timeout_s: u64,
    /// During a full sync: RDB bytes received and expected (0 when the size is unknown).
    pub rdb_read: Option<(i64, i64)>,
    pub latency_ms: u64,
    pub bandwidth_bps: u64,
    /// The master was removed ([`super::Action::Remove`]): it is in no snapshot any more and
    /// the replica's connection attempts are refused (`state` is `down`).
    pub master_gone: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PacketView {
    pub id: u64,
    pub from: String,
    pub to: String,
    pub kind: MsgKind,
    pub len: usize,
    /// 0 at the sender, 1 at the receiver; held packets stay at 0.5.
    pub progress: f64,
    pub held: bool,
}

/// The last heartbeat a node sent to a peer: a PING (master → replica) or a
/// `REPLCONF ACK` (replica → master), as recorded in the trace (`id` is its segment's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeartbeatView {
    pub id: u64,
    pub from: String,
    pub to: String,
    pub kind: MsgKind,
    /// Virtual ms since it was sent.
    pub age_ms: u64,
}

/// A PSYNC decision and what followed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PsyncView {
    /// The master that decided.
    pub node: String,
    /// The replica that asked.
    pub replica: String,
    /// When, in virtual ms since the start of the run.
    pub time_ms: u64,
    pub decision: PsyncDecision,
    /// What followed for that replica, in order: the backlog bytes sent, or the full sync's
    /// `+FULLRESYNC`, BGSAVE, RDB, buffered writes and the replica going online.
    pub steps: Vec<String>,
    /// The replid and offset of the `+FULLRESYNC` sent, once sent.
    pub fullresync: Option<(String, i64)>,
}

impl Snapshot {
    /// The most recent PSYNC decision, of any master.
    pub fn last_psync(&self) -> Option<&PsyncView> {
        self.psyncs.last()
    }
}

/// Heartbeats older than this (virtual time) are left out of snapshots.
const HEARTBEAT_RECENT_US: u64 = 3_000_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// Virtual time since the start of the run.
    pub time_ms: u64,
    pub steps: u64,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    pub packets: Vec<PacketView>,
    /// The latest PSYNC decisions (at most [`super::PSYNC_STORIES_KEPT`]), oldest first.
    pub psyncs: Vec<PsyncView>,
    /// Heartbeats sent in the last 3 s of virtual time, the latest per direction of each
    /// link (the UI pulses them).
    pub heartbeats: Vec<HeartbeatView>,
}

impl Sim {
    /// The picture at the current instant. `start_us` is the run's start time.
    pub fn snapshot(&self, start_us: u64) -> Snapshot {
        let nodes: Vec<NodeView> = self
            .nodes
            .iter()
            .filter(|n| !n.removed)
            .map(node_view)
            .collect();
        let faults = self.net.faults();
        let mut links = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.removed {
                continue;
            }
            let Some((host, _)) = n.node.master_addr() else {
                continue;
            };
            let Some(m) = self.index_of(host) else {
                if self.was_removed(host) {
                    // The replica keeps dialing a host that is gone.
                    links.push(LinkView {
                        master: host.to_string(),
                        replica: n.name.to_string(),
                        state: "down".into(),
                        silent_s: None,
                        repl_timeout_s: n.node.config().repl_timeout,
                        ack_lag_s: None,
                        master_repl_timeout_s: 0,
                        rdb_read: None,
                        latency_ms: 0,
                        bandwidth_bps: 0,
                        master_gone: true,
                    });
                }
                continue;
            };
            let state = if faults.cut.contains(&(m.min(i), m.max(i))) {
                "cut".to_string()
            } else if faults
                .partitioned
                .iter()
                .any(|&(a, b)| (a == m && b == i) || (a == i && b == m))
            {
                "partitioned".to_string()
            } else if n.state == NodeState::Down || self.nodes[m].state == NodeState::Down {
                "down".to_string()
            } else {
                match n.node.link_state() {
                    LinkState::Connected => "connected",
                    LinkState::Transfer => "sync",
                    LinkState::Connect => "down",
                    LinkState::Connecting => "connecting",
                    _ => "handshake",
                }
                .to_string()
            };
            let p = self.net.params(m, i);
            let master = &self.nodes[m].node;
            let ack_lag_s = master
                .replicas()
                .into_iter()
                .find(|r| *r.ip == *n.name && r.state.info_word() == "online")
                .map(|r| r.lag_s);
            links.push(LinkView {
                master: self.nodes[m].name.to_string(),
                replica: n.name.to_string(),
                state,
                silent_s: n.node.master_idle_s(),
                repl_timeout_s: n.node.config().repl_timeout,
                ack_lag_s,
                master_repl_timeout_s: master.config().repl_timeout,
                rdb_read: n.node.sync_progress().map(|(total, read)| (read, total)),
                latency_ms: p.latency_us / 1000,
                bandwidth_bps: p.bandwidth_bps,
                master_gone: false,
            });
        }
        let any_removed = self.nodes.iter().any(|n| n.removed);
        let packets = self
            .in_flight
            .values()
            .filter(|m| !m.from.starts_with("client") && !m.to.starts_with("client"))
            // Segments a removed node sent before it went are not drawn (it has no place).
            .filter(|m| {
                !any_removed || (self.index_of(&m.from).is_some() && self.index_of(&m.to).is_some())
            })
            .map(|m| packet_view(m, self.now_us))
            .collect();
        let psyncs = self
            .psyncs
            .iter()
            .map(|s| PsyncView {
                node: self.nodes[s.node].name.to_string(),
                replica: s.replica.to_string(),
                time_ms: s.time_us.saturating_sub(start_us) / 1000,
                decision: (*s.decision).clone(),
                steps: s.steps.clone(),
                fullresync: s.fullresync.clone(),
            })
            .collect();
        let heartbeats = self
            .heartbeats
            .iter()
            .filter(|((a, b), (_, _, sent))| {
                !self.nodes[*a].removed
                    && !self.nodes[*b].removed
                    && self.now_us.saturating_sub(*sent) < HEARTBEAT_RECENT_US
            })
            .map(|(&(a, b), &(id, kind, sent))| HeartbeatView {
                id,
                from: self.nodes[a].name.to_string(),
                to: self.nodes[b].name.to_string(),
                kind,
                age_ms: self.now_us.saturating_sub(sent) / 1000,
            })
            .collect();
        Snapshot {
            time_ms: self.now_us.saturating_sub(start_us) / 1000,
            steps: self.steps,
            nodes,
            links,
            packets,
            psyncs,
            heartbeats,
        }
    }
}

fn packet_view(m: &Message, now_us: u64) -> PacketView {
    let (progress, held) = match m.arrives_us {
        Some(at) if at > m.sent_us => (
            ((now_us.saturating_sub(m.sent_us)) as f64 / (at - m.sent_us) as f64).clamp(0.0, 1.0),
            false,
        ),
        Some(_) => (1.0, false),
        None => (0.5, true),
    };
    PacketView {
        id: m.id,
        from: m.from.to_string(),
        to: m.to.to_string(),
        kind: m.kind,
        len: m.len,
        progress,
        held,
    }
}

fn node_view(n: &super::SimNode) -> NodeView {
    let node = &n.node;
    let backlog = node.backlog().map(|b| {
        let (write_index, wraps, blocks) = match b.layout() {
            Layout::Ring {
                write_index, wraps, ..
            } => (Some(write_index), wraps, Vec::new()),
            Layout::Blocks { blocks } => (
                None,
                0,
                blocks.iter().map(|bl| (bl.first_offset, bl.used)).collect(),
            ),
        };
        BacklogView {
            model: match b.model() {
                crate::engine::backlog::BacklogModel::Ring => "ring".into(),
                crate::engine::backlog::BacklogModel::Blocks => "blocks".into(),
            },
            size: b.size() as u64,
            first_byte_offset: b.first_byte_offset(),
            histlen: b.histlen(),
            master_offset: node.master_repl_offset(),
            write_index,
            wraps,
            blocks,
        }
    });
    NodeView {
        name: n.name.to_string(),
        process: match n.state {
            NodeState::Up if n.asleep_until_us.is_some() => "asleep",
            NodeState::Up => "up",
            NodeState::Paused => "paused",
            NodeState::Down => "down",
        }
        .into(),
        role: if node.master_addr().is_some() {
            "replica"
        } else {
            "master"
        }
        .into(),
        master: node.master_addr().map(|(h, _)| h.to_string()),
        link: node.link_state().role_word().into(),
        replid: node.replid().into(),
        replid2: node.replid2().into(),
        second_replid_offset: node.second_replid_offset(),
        offset: node.master_repl_offset(),
        keys: node.keyspace().key_count(),
        backlog,
        replicas: node
            .replicas()
            .into_iter()
            .map(|r| ReplicaEntry {
                name: r.ip,
                state: r.state.info_word().into(),
                ack_offset: r.ack_offset,
                lag_s: r.lag_s,
                output_buffer: r.output_buffer,
            })
            .collect(),
    }
}
