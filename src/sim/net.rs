//! The virtual network: which endpoint is connected to which, and when bytes sent now will
//! arrive (latency, with per-direction FIFO order like TCP).

use std::collections::BTreeMap;

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

/// Open connections and their timing.
pub(crate) struct Net {
    pub latency_ms: u64,
    peers: BTreeMap<Endpoint, Endpoint>,
    /// Last scheduled arrival per sending endpoint, to keep each direction in order.
    last_arrival: BTreeMap<Endpoint, u64>,
    next_in: u64,
}

impl Net {
    pub fn new(latency_ms: u64) -> Net {
        Net {
            latency_ms,
            peers: BTreeMap::new(),
            last_arrival: BTreeMap::new(),
            next_in: 1,
        }
    }

    fn new_inbound(&mut self) -> ConnId {
        let id = ConnId::In(self.next_in);
        self.next_in += 1;
        id
    }

    /// A client connects to `node`: returns the node-side connection id.
    pub fn open(&mut self, client: Endpoint, node: usize) -> ConnId {
        self.connect(client, node)
    }

    /// `from` connects to `node`: returns the node-side connection id.
    pub fn connect(&mut self, from: Endpoint, node: usize) -> ConnId {
        let conn = self.new_inbound();
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

    /// When bytes sent by `from` at `now_ms` arrive: after the latency, never before bytes
    /// sent earlier on the same direction.
    pub fn arrival(&mut self, from: Endpoint, now_ms: u64) -> u64 {
        let at = (now_ms + self.latency_ms).max(self.last_arrival.get(&from).copied().unwrap_or(0));
        self.last_arrival.insert(from, at);
        at
    }

    /// Closes the connection `end` belongs to; returns the other end.
    pub fn close(&mut self, end: Endpoint) -> Option<Endpoint> {
        let peer = self.peers.remove(&end)?;
        self.peers.remove(&peer);
        Some(peer)
    }

    /// Connections with one end on node `a` and the other on node `b`.
    pub fn connections_between(&self, a: usize, b: usize) -> Vec<(Endpoint, Endpoint)> {
        self.peers
            .iter()
            .filter_map(|(&x, &y)| match (x, y) {
                (Endpoint::Node(i, _), Endpoint::Node(j, _)) if i == a && j == b => Some((x, y)),
                _ => None,
            })
            .collect()
    }
}
