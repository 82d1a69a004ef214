//! The virtual network: who is connected to whom, and when bytes sent now arrive.
//!
//! Every direction between two nodes is a link with a latency, a jitter and a bandwidth.
//! Bytes on one direction arrive in order (a later segment never overtakes an earlier one)
//! and a link transmits one segment at a time, so a big RDB occupies the link and the
//! command stream queued behind it waits, as on a real TCP connection. A partitioned
//! direction holds its segments (TCP keeps retransmitting) until it heals.

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::node::ConnId;

/// A client of the simulation (a console, a workload, a test).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub u64);

/// One end of a connection: a node's connection, or an external client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    Node(usize, ConnId),
    Client(ClientId),
}

impl Endpoint {
    /// The node this endpoint lives on (`None` for external clients).
    pub fn node(self) -> Option<usize> {
        match self {
            Endpoint::Node(n, _) => Some(n),
            Endpoint::Client(_) => None,
        }
    }
}

/// Properties of one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkParams {
    pub latency_us: u64,
    pub jitter_us: u64,
    /// Bytes per second; 0 means unlimited.
    pub bandwidth_bps: u64,
}

impl LinkParams {
    /// A link with `latency_ms` of one-way delay and nothing else in the way.
    pub fn latency_ms(latency_ms: u64) -> LinkParams {
        LinkParams {
            latency_us: latency_ms * 1000,
            jitter_us: 0,
            bandwidth_bps: 0,
        }
    }
}

/// The link faults in force, as node indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFaults {
    /// Directions (from, to) whose bytes are held.
    pub partitioned: Vec<(usize, usize)>,
    /// Node pairs (lower index first) whose link is cut.
    pub cut: Vec<(usize, usize)>,
}

/// Open connections, link properties and partitions.
#[derive(Clone, Debug)]
pub(crate) struct Net {
    pub default: LinkParams,
    /// Per directed node pair, when different from `default`.
    params: BTreeMap<(usize, usize), LinkParams>,
    /// Directed node pairs whose bytes are held (a partition).
    held: BTreeSet<(usize, usize)>,
    /// Undirected node pairs whose link is cut: connections are refused.
    cut: BTreeSet<(usize, usize)>,
    peers: BTreeMap<Endpoint, Endpoint>,
    /// When each sender's direction is free again, and its last arrival (FIFO).
    busy_until_us: BTreeMap<Endpoint, u64>,
    last_arrival_us: BTreeMap<Endpoint, u64>,
    /// Per sender, segments still being transmitted: (start, end, bytes).
    transmitting: BTreeMap<Endpoint, std::collections::VecDeque<(u64, u64, usize)>>,
    /// Per sender, bytes of segments a partition holds: still in the sender's socket (TCP
    /// keeps them until acknowledged), so they count as queued.
    held_bytes: BTreeMap<Endpoint, usize>,
    /// Per sender, the send-queue size last reported to its node.
    reported: BTreeMap<Endpoint, usize>,
    /// Senders whose next look at the send queue is scheduled (one at a time).
    looking: BTreeSet<Endpoint>,
    next_in: u64,
}

/// What a socket's kernel send buffer takes ahead of the link, bytes: a node's write
/// "succeeds" for that much even when the link is slow or partitioned, so a small RDB is
/// written at once as in Redis, and only what does not fit waits in the node's output buffer
/// (Linux starts TCP sockets at 16 KB and grows them; 64 KB is a modest middle).
pub const SEND_BUFFER: usize = 64 * 1024;

/// Latency between a client (a console on the node's host) and its node.
const CLIENT_LATENCY_US: u64 = 100;

fn pair(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Net {
    pub fn new(default: LinkParams) -> Net {
        Net {
            default,
            params: BTreeMap::new(),
            held: BTreeSet::new(),
            cut: BTreeSet::new(),
            peers: BTreeMap::new(),
            busy_until_us: BTreeMap::new(),
            last_arrival_us: BTreeMap::new(),
            transmitting: BTreeMap::new(),
            held_bytes: BTreeMap::new(),
            reported: BTreeMap::new(),
            looking: BTreeSet::new(),
            next_in: 1,
        }
    }

    /// `from` connects to `node`: returns the node-side connection id.
    pub fn connect(&mut self, from: Endpoint, node: usize) -> ConnId {
        let conn = ConnId::In(self.next_in);
        self.next_in += 1;
        let server = Endpoint::Node(node, conn);
        self.peers.insert(from, server);
        self.peers.insert(server, from);
        conn
    }

    pub fn peer(&self, end: Endpoint) -> Option<Endpoint> {
        self.peers.get(&end).copied()
    }

    pub fn is_open(&self, end: Endpoint) -> bool {
        self.peers.contains_key(&end)
    }

    /// Forgets the connection `end` belongs to; returns the other end.
    pub fn close(&mut self, end: Endpoint) -> Option<Endpoint> {
        let peer = self.peers.remove(&end)?;
        self.peers.remove(&peer);
        self.looking.remove(&end);
        self.looking.remove(&peer);
        Some(peer)
    }

    /// Every open connection end located on `node`, with its peer.
    pub fn ends_on(&self, node: usize) -> Vec<(Endpoint, Endpoint)> {
        self.peers
            .iter()
            .filter(|(e, _)| e.node() == Some(node))
            .map(|(e, p)| (*e, *p))
            .collect()
    }

    /// Connections with one end on `a` and the other on `b`.
    pub fn between(&self, a: usize, b: usize) -> Vec<(Endpoint, Endpoint)> {
        self.peers
            .iter()
            .filter(|(x, y)| x.node() == Some(a) && y.node() == Some(b))
            .map(|(x, y)| (*x, *y))
            .collect()
    }

    pub fn params(&self, from: usize, to: usize) -> LinkParams {
        self.params
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default)
    }

    pub fn set_params(&mut self, from: usize, to: usize, p: LinkParams) {
        self.params.insert((from, to), p);
    }

    pub fn is_held(&self, from: usize, to: usize) -> bool {
        self.held.contains(&(from, to))
    }

    pub fn hold(&mut self, from: usize, to: usize) {
        self.held.insert((from, to));
    }

    pub fn release(&mut self, from: usize, to: usize) {
        self.held.remove(&(from, to));
    }

    pub fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&pair(a, b))
    }

    pub fn set_cut(&mut self, a: usize, b: usize, cut: bool) {
        if cut {
            self.cut.insert(pair(a, b));
        } else {
            self.cut.remove(&pair(a, b));
        }
    }

    /// A reset, or a partition catching what `from` had on its way: nothing of it is on
    /// the link any more, which is free at once (what a heal releases is timed afresh).
    pub fn reset(&mut self, from: Endpoint, now_us: u64) {
        self.transmitting.remove(&from);
        self.busy_until_us.insert(from, now_us);
        self.last_arrival_us.insert(from, now_us);
        self.reported.remove(&from);
    }

    /// A partition holds `len` more bytes sent by `from`.
    pub fn add_held(&mut self, from: Endpoint, len: usize) {
        *self.held_bytes.entry(from).or_default() += len;
    }

    /// After held segments were caught, released or dropped: the bytes each sender has held.
    pub fn set_held(&mut self, held_bytes: BTreeMap<Endpoint, usize>) {
        self.held_bytes = held_bytes;
    }

    /// Bytes `from` sent that its socket has not taken yet at `now_us`: what the link has
    /// not carried (held ones included) beyond the [`SEND_BUFFER`] the kernel accepts ahead.
    pub fn queued(&mut self, from: Endpoint, now_us: u64) -> usize {
        self.unsent(from, now_us).saturating_sub(SEND_BUFFER)
    }

    /// Bytes `from` sent that the link has not transmitted yet at `now_us`, held ones
    /// included.
    fn unsent(&mut self, from: Endpoint, now_us: u64) -> usize {
        let held = self.held_bytes.get(&from).copied().unwrap_or(0);
        let Some(q) = self.transmitting.get_mut(&from) else {
            return held;
        };
        while q.front().is_some_and(|(_, end, _)| *end <= now_us) {
            q.pop_front();
        }
        held + q
            .iter()
            .map(|&(start, end, len)| {
                if start >= now_us {
                    len
                } else {
                    (len as u64 * (end - now_us) / (end - start)) as usize
                }
            })
            .sum::<usize>()
    }

    /// Whether a new send-queue level for `from` is worth reporting (it changed, and is or
    /// was non-zero); remembers it.
    pub fn should_report(&mut self, from: Endpoint, level: usize) -> bool {
        let last = self.reported.insert(from, level).unwrap_or(0);
        level != last
    }

    /// When to look at `from`'s send queue again, if it still has bytes to transmit and no
    /// look is scheduled yet (then one is, until [`Net::looked`]): when the segment on the
    /// wire is through, and within a second on a very slow link, so that the node sees its
    /// socket make progress well within `repl-timeout`.
    pub fn next_look_us(&mut self, from: Endpoint, now_us: u64) -> Option<u64> {
        if self.looking.contains(&from) {
            return None;
        }
        let end = self
            .transmitting
            .get(&from)?
            .iter()
            .map(|&(_, end, _)| end)
            .find(|&end| end > now_us)?;
        self.looking.insert(from);
        Some(end.min(now_us + 1_000_000))
    }

    /// Marks a look at `from`'s send queue as scheduled; false if one already is.
    pub fn start_looking(&mut self, from: Endpoint) -> bool {
        self.looking.insert(from)
    }

    /// The scheduled look at `from`'s send queue is happening.
    pub fn looked(&mut self, from: Endpoint) {
        self.looking.remove(&from);
    }

    /// Partitions and cuts, for snapshots.
    pub fn faults(&self) -> LinkFaults {
        LinkFaults {
            partitioned: self.held.iter().copied().collect(),
            cut: self.cut.iter().copied().collect(),
        }
    }

    /// When `len` bytes sent by `from` (towards `to_node`, `None` for a client) at `now_us`
    /// arrive: queued behind earlier segments, transmitted at the link's bandwidth, then
    /// delayed by its latency and jitter, never before an earlier segment.
    pub fn arrival(
        &mut self,
        from: Endpoint,
        to_node: Option<usize>,
        len: usize,
        now_us: u64,
        rng: &mut ChaCha8Rng,
    ) -> u64 {
        let p = match (from.node(), to_node) {
            (Some(a), Some(b)) => self.params(a, b),
            _ => LinkParams {
                latency_us: CLIENT_LATENCY_US,
                jitter_us: 0,
                bandwidth_bps: 0,
            },
        };
        let start = now_us.max(self.busy_until_us.get(&from).copied().unwrap_or(0));
        let tx_us = if p.bandwidth_bps == 0 {
            0
        } else {
            (len as u64 * 1_000_000).div_ceil(p.bandwidth_bps)
        };
        self.busy_until_us.insert(from, start + tx_us);
        if tx_us > 0 {
            self.transmitting
                .entry(from)
                .or_default()
                .push_back((start, start + tx_us, len));
        }
        let jitter = if p.jitter_us == 0 {
            0
        } else {
            rng.next_u64() % (p.jitter_us + 1)
        };
        let at = (start + tx_us + p.latency_us + jitter)
            .max(self.last_arrival_us.get(&from).copied().unwrap_or(0));
        self.last_arrival_us.insert(from, at);
        at
    }
}
