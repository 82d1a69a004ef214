//! The deterministic simulator: many engine nodes, a virtual clock, and TCP-like connections
//! between them. Nothing here reads the wall clock or a global RNG, and every collection is
//! ordered, so the same inputs give the same run on every platform.
//!
//! Time advances by jumping to the earliest pending delivery or node timer. Connections are
//! ordered, reliable byte streams with a per-direction latency; bytes on one direction are
//! never reordered.

mod net;

pub use net::{ClientId, Endpoint};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::config::Config;
use crate::engine::event::Event;
use crate::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr};
use crate::engine::resp::{encode_command, parse_reply, split_args, Reply};

/// One recorded happening, for the UI's event log and for replay checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub time_ms: u64,
    pub node: String,
    pub event: Event,
}

/// A node in the simulation, with its address.
pub struct SimNode {
    pub name: String,
    pub port: u16,
    pub node: Node,
    /// The node's `dir/dbfilename`: the last RDB it saved.
    pub disk: Option<Vec<u8>>,
}

/// A client endpoint (a console or a test) connected to a node.
#[derive(Default)]
struct ClientEnd {
    node: usize,
    conn: Option<ConnId>,
    inbuf: Vec<u8>,
    replies: Vec<Reply>,
}

/// Something scheduled to happen at a virtual instant.
#[derive(Clone, Debug)]
enum Pending {
    Deliver {
        to: Endpoint,
        bytes: Vec<u8>,
    },
    Accept {
        node: usize,
        conn: ConnId,
        peer: PeerAddr,
    },
    Connected {
        node: usize,
        conn: ConnId,
    },
    Closed {
        to: Endpoint,
    },
}

/// The simulator.
pub struct Sim {
    now_ms: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Pending>,
    nodes: Vec<SimNode>,
    net: net::Net,
    clients: BTreeMap<ClientId, ClientEnd>,
    next_client: u64,
    trace: Vec<TraceEntry>,
    seed: u64,
    /// Node pairs whose link is cut: connections between them are refused.
    cut_links: std::collections::BTreeSet<(usize, usize)>,
}

/// Virtual time at which simulations start: 2026-01-01T00:00:00Z, so TTLs and TIME look real.
pub const EPOCH_MS: u64 = 1_767_225_600_000;

impl Sim {
    /// An empty simulation; `latency_ms` is the one-way delay of every connection.
    pub fn new(seed: u64, latency_ms: u64) -> Sim {
        Sim {
            now_ms: EPOCH_MS,
            seq: 0,
            queue: BTreeMap::new(),
            nodes: Vec::new(),
            net: net::Net::new(latency_ms),
            clients: BTreeMap::new(),
            next_client: 1,
            trace: Vec::new(),
            seed,
            cut_links: Default::default(),
        }
    }

    /// Adds a master named `name` listening on `port`; returns its index.
    pub fn add_node(&mut self, name: &str, config: Config) -> usize {
        let port = config.port;
        let index = self.nodes.len();
        let seed = self.seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let node = Node::new(NodeOptions {
            name: name.to_string(),
            config,
            seed,
            now_ms: self.now_ms,
        });
        self.nodes.push(SimNode {
            name: name.to_string(),
            port,
            node,
            disk: None,
        });
        index
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index].node
    }

    /// Index of the node called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    fn schedule(&mut self, at_ms: u64, what: Pending) {
        self.seq += 1;
        self.queue.insert((at_ms, self.seq), what);
    }

    /// Opens a client connection to node `node` (connected after one latency).
    pub fn connect_client(&mut self, node: usize) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        let conn = self.net.open(Endpoint::Client(id), node);
        self.clients.insert(
            id,
            ClientEnd {
                node,
                conn: Some(conn),
                ..Default::default()
            },
        );
        let at = self.now_ms + self.net.latency_ms;
        let peer = PeerAddr {
            ip: "127.0.0.1".into(),
            port: 40000 + id.0 as u16,
        };
        self.schedule(at, Pending::Accept { node, conn, peer });
        id
    }

    /// Sends a command line (split like redis-cli does) from a client.
    pub fn send_line(&mut self, client: ClientId, line: &str) -> Result<(), String> {
        let argv = split_args(line.as_bytes()).ok_or("Invalid argument(s)")?;
        if argv.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        encode_command(&argv, &mut bytes);
        self.send_raw(client, bytes);
        Ok(())
    }

    /// Sends raw bytes from a client.
    pub fn send_raw(&mut self, client: ClientId, bytes: Vec<u8>) {
        let Some(end) = self.clients.get(&client) else {
            return;
        };
        let (node, Some(conn)) = (end.node, end.conn) else {
            return;
        };
        let at = self.net.arrival(Endpoint::Client(client), self.now_ms);
        self.schedule(
            at,
            Pending::Deliver {
                to: Endpoint::Node(node, conn),
                bytes,
            },
        );
    }

    /// Replies received by `client` so far (taken).
    pub fn take_replies(&mut self, client: ClientId) -> Vec<Reply> {
        self.clients
            .get_mut(&client)
            .map(|c| std::mem::take(&mut c.replies))
            .unwrap_or_default()
    }

    /// Runs until `client` has a reply (at most `max_ms` of virtual time); returns it.
    pub fn exec(&mut self, client: ClientId, line: &str) -> Option<Reply> {
        self.send_line(client, line).ok()?;
        let deadline = self.now_ms + 60_000;
        while self
            .clients
            .get(&client)
            .is_some_and(|c| c.replies.is_empty())
        {
            if !self.step_until(deadline) {
                return None;
            }
        }
        let end = self.clients.get_mut(&client)?;
        Some(end.replies.remove(0))
    }

    /// Runs every event up to and including `until_ms`, then sets the clock to it.
    pub fn run_until(&mut self, until_ms: u64) {
        while self.step_until(until_ms) {}
        self.now_ms = self.now_ms.max(until_ms);
    }

    /// Runs for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now_ms + ms);
    }

    /// Processes the earliest pending thing if it is due by `until_ms`. Deliveries at an
    /// instant run before node timers at the same instant; ties break by insertion order and
    /// node index, so runs are reproducible.
    pub fn step_until(&mut self, until_ms: u64) -> bool {
        let next_delivery = self.queue.keys().next().map(|k| k.0);
        let next_timer = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.node.poll_timeout(), i))
            .min();
        let take_delivery = match (next_delivery, next_timer) {
            (Some(d), Some((t, _))) => d <= t,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_delivery {
            let (&key, _) = self.queue.iter().next().expect("checked non-empty");
            if key.0 > until_ms {
                return false;
            }
            let pending = self.queue.remove(&key).expect("key exists");
            self.now_ms = self.now_ms.max(key.0);
            self.apply(pending);
        } else if let Some((t, i)) = next_timer {
            if t > until_ms {
                return false;
            }
            self.now_ms = self.now_ms.max(t);
            let now = self.now_ms;
            self.nodes[i].node.handle_timeout(now);
            self.drain(i);
        } else {
            return false;
        }
        true
    }

    fn apply(&mut self, pending: Pending) {
        let now = self.now_ms;
        match pending {
            Pending::Accept { node, conn, peer } => {
                self.nodes[node]
                    .node
                    .handle(now, Input::Accepted { conn, peer });
                self.drain(node);
            }
            Pending::Connected { node, conn } => {
                self.nodes[node].node.handle(now, Input::Connected { conn });
                self.drain(node);
            }
            Pending::Deliver { to, bytes } => match to {
                Endpoint::Node(node, conn) => {
                    if self.net.is_open(to) {
                        self.nodes[node]
                            .node
                            .handle(now, Input::Data { conn, bytes });
                        self.drain(node);
                    }
                }
                Endpoint::Client(id) => {
                    if let Some(end) = self.clients.get_mut(&id) {
                        end.inbuf.extend_from_slice(&bytes);
                        while let Ok(Some((reply, used))) = parse_reply(&end.inbuf) {
                            end.inbuf.drain(..used);
                            end.replies.push(reply);
                        }
                    }
                }
            },
            Pending::Closed { to } => match to {
                Endpoint::Node(node, conn) => {
                    self.net.close(to);
                    self.nodes[node].node.handle(now, Input::Closed { conn });
                    self.drain(node);
                }
                Endpoint::Client(id) => {
                    self.net.close(to);
                    if let Some(end) = self.clients.get_mut(&id) {
                        end.conn = None;
                    }
                }
            },
        }
    }

    /// Routes everything node `i` produced.
    fn drain(&mut self, i: usize) {
        let now = self.now_ms;
        while let Some(output) = self.nodes[i].node.poll_output() {
            match output {
                Output::Send { conn, bytes } => {
                    let from = Endpoint::Node(i, conn);
                    if let Some(to) = self.net.peer(from) {
                        let at = self.net.arrival(from, now);
                        self.schedule(at, Pending::Deliver { to, bytes });
                    }
                }
                Output::Connect { conn, host, port } => {
                    let target = self
                        .nodes
                        .iter()
                        .position(|n| n.name == host && n.port == port);
                    let latency = self.net.latency_ms;
                    let refused = target.is_some_and(|t| self.is_cut(i, t));
                    match target.filter(|_| !refused) {
                        Some(t) => {
                            let server_conn = self.net.connect(Endpoint::Node(i, conn), t);
                            let peer = PeerAddr {
                                ip: self.nodes[i].name.clone(),
                                port: 50000 + self.seq as u16 % 10000,
                            };
                            self.schedule(
                                now + latency,
                                Pending::Accept {
                                    node: t,
                                    conn: server_conn,
                                    peer,
                                },
                            );
                            self.schedule(now + 2 * latency, Pending::Connected { node: i, conn });
                        }
                        None => self.schedule(
                            now + latency,
                            Pending::Closed {
                                to: Endpoint::Node(i, conn),
                            },
                        ),
                    }
                }
                Output::Close { conn } => {
                    // A graceful close: bytes already sent still arrive, then the FIN.
                    let from = Endpoint::Node(i, conn);
                    if let Some(to) = self.net.peer(from) {
                        let at = self.net.arrival(from, now);
                        self.schedule(at, Pending::Closed { to });
                    }
                }
                Output::SaveRdb { bytes } => self.nodes[i].disk = Some(bytes),
                Output::Event(event) => self.trace.push(TraceEntry {
                    time_ms: now,
                    node: self.nodes[i].name.clone(),
                    event,
                }),
            }
        }
    }

    fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut_links.contains(&(a.min(b), a.max(b)))
    }

    /// Cuts the link between nodes `a` and `b`: open connections are reset (both ends see it
    /// at once, bytes in flight are lost) and new ones are refused until [`Sim::heal`].
    pub fn cut(&mut self, a: usize, b: usize) {
        self.cut_links.insert((a.min(b), a.max(b)));
        let now = self.now_ms;
        let mut pairs = self.net.connections_between(a, b);
        pairs.extend(self.net.connections_between(b, a));
        for (x, y) in pairs {
            if self.net.close(x).is_some() {
                self.schedule(now, Pending::Closed { to: x });
                self.schedule(now, Pending::Closed { to: y });
            }
        }
    }

    /// Restores the link between `a` and `b`; the replica reconnects on its own.
    pub fn heal(&mut self, a: usize, b: usize) {
        self.cut_links.remove(&(a.min(b), a.max(b)));
    }
}
