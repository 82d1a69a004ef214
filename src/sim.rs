//! The deterministic simulator: many engine nodes, a virtual clock, and TCP-like connections
//! between them, with faults. Nothing here reads the wall clock or a global RNG, and every
//! collection is ordered, so the same scenario, seed and actions give the same run, natively
//! and in wasm.
//!
//! Time (in microseconds) advances by jumping to the earliest pending thing: a segment
//! arriving, a connection event, a node timer, a workload tick. Everything that happens is
//! recorded in the trace ([`trace`]). [`timeline::Timeline`] adds checkpoints and replay for
//! time travel; [`scenario`] loads the built-in lessons; [`chaos`] runs seeded random fault
//! schedules and checks the replication invariants.

pub mod action;
pub mod chaos;
pub mod checker;
mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod console;
pub mod history;
pub mod lesson;
#[cfg(not(target_arch = "wasm32"))]
pub mod lesson_cli;
pub mod limits;
pub mod log;
mod net;
pub mod redis_cli;
pub mod redis_commands;
pub mod run_link;
pub mod scenario;
pub mod snapshot;
pub mod timeline;
pub mod trace;
pub mod wire;

pub use action::Action;
pub use log::LogKind;
pub use net::{ClientId, Endpoint, LinkFaults, LinkParams};
pub use trace::{MsgKind, Name, SimEvent, TraceEntry};

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::config::{Config, HostCaps};
use crate::engine::event::Event;
use crate::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr, SyncFile};
use crate::engine::psync::PsyncDecision;
use crate::engine::resp::{encode_command, parse_reply, split_args, Reply};

/// Virtual time at which simulations start: 2026-01-01T00:00:00Z, so TTLs and TIME look real.
pub const EPOCH_MS: u64 = 1_767_225_600_000;

/// Largest segment handed to a link at once: big sends (an RDB) are split so that their
/// progress is visible and the link stays busy for the right time.
const SEGMENT: usize = 16 * 1024;

/// The port every simulated node listens on.
pub const PORT: u16 = 6379;

/// The first pid of a node's snapshot child: above every node's own (see `sim_process_id`).
const FIRST_CHILD_PID: u32 = 100_000;

/// Memory each simulated node may use (`maxmemory`, and its largest value): the page runs
/// every node in one tab, whose wasm memory is limited, so a node past it answers `-OOM` like
/// a Redis at its `maxmemory` instead of taking the tab down. Twelve full nodes and their
/// replicas' copies stay within what a browser tab holds (BENCHMARKS.md, "Page budgets").
pub const SIM_MAXMEMORY: u64 = 16 * 1024 * 1024;

/// A simulated node's default configuration: Redis's defaults, with `maxmemory` and
/// `proto-max-bulk-len` at [`SIM_MAXMEMORY`] and `CONFIG SET` unable to raise them.
pub fn sim_config() -> Config {
    let mut c = Config {
        caps: HostCaps {
            memory: Some(SIM_MAXMEMORY),
        },
        ..Config::default()
    };
    c.maxmemory = SIM_MAXMEMORY;
    c.proto_max_bulk_len = SIM_MAXMEMORY;
    // DEBUG (DIGEST, SLEEP, POPULATE …) is allowed: the page's user operates these nodes
    // as a developer does a local redis-server started with `enable-debug-command yes`.
    c.enable_debug_command = crate::engine::config::ProtectedAction::Yes;
    c
}

/// Whether a node's process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeState {
    Up,
    /// SIGSTOP: inputs wait, timers do not fire.
    Paused,
    /// Killed: no process, connections refused.
    Down,
}

/// A node in the simulation.
#[derive(Clone)]
pub struct SimNode {
    pub name: Name,
    pub config: Config,
    pub node: Node,
    pub state: NodeState,
    /// The node's `dir/dbfilename`: the last RDB it saved, or the one a full sync installed
    /// there (shared, not copied, by the timeline's checkpoints: it only changes when the
    /// node saves or syncs again).
    pub disk: Option<Arc<[u8]>>,
    /// The temporary file a full sync's payload is written to (`repl-diskless-load
    /// disabled`), until it is installed as [`SimNode::disk`] or removed.
    sync_file: Option<SyncTempFile>,
    /// How many times it started (seeds differ per boot, as run ids do).
    boots: u64,
    /// Inputs that arrived while paused or asleep, delivered on resume or waking.
    held_inputs: Vec<Pending>,
    /// `DEBUG SLEEP`: until when (µs) the process does nothing. Its output after the sleep
    /// (the command's reply first) stays in the node until then.
    asleep_until_us: Option<u64>,
    /// The master it followed when it died, used as its `replicaof` on restart.
    replicaof: Option<(String, u16)>,
    /// Removed for good ([`Action::Remove`]): down, and gone from names, snapshots and the
    /// network. It keeps its index (indexes of the others never shift).
    removed: bool,
}

impl SimNode {
    /// True once the node was removed ([`Action::Remove`]).
    pub fn removed(&self) -> bool {
        self.removed
    }

    /// The name of the temporary file a full sync is writing to, if one is under way.
    pub fn sync_file_name(&self) -> Option<&str> {
        self.sync_file.as_ref().map(|f| f.name.as_str())
    }

    /// Does one of the engine's [`SyncFile`] operations on the node's virtual disk, as
    /// `readSyncBulkPayload` does on a real one. The virtual disk never fails; an operation
    /// on a file that does not exist does nothing (Redis's rename or unlink would fail).
    fn apply_sync_file(&mut self, op: SyncFile) {
        match op {
            SyncFile::Create { name } => {
                self.sync_file = Some(SyncTempFile {
                    name,
                    chunks: Vec::new(),
                });
            }
            SyncFile::Append { name, bytes } => {
                if let Some(file) = self.sync_file.as_mut().filter(|f| f.name == name) {
                    if !bytes.is_empty() {
                        file.chunks.push(bytes.into());
                    }
                }
            }
            SyncFile::Install { name, .. } => {
                // `to` is always the node's `dbfilename`: the file [`SimNode::disk`] is.
                if let Some(file) = self.sync_file.take_if(|f| f.name == name) {
                    self.disk = Some(file.chunks.concat().into());
                }
            }
            SyncFile::Remove { name } => {
                if self.sync_file.as_ref().is_some_and(|f| f.name == name) {
                    self.sync_file = None;
                } else if name == self.node.config().dbfilename {
                    self.disk = None;
                }
            }
        }
    }
}

/// A full sync's payload on its way to a replica's virtual disk (`temp-<unixtime>.<pid>.rdb`),
/// kept as the chunks the engine appended: the timeline's checkpoints share them instead of
/// copying a growing file, and they are put together once, when the file is installed.
/// Bounded as the transfer is: the engine fails a sync whose payload passes its budget
/// (`TRANSFER_BYTES_MAX`, 512 MB) and the file goes then; a simulated master's payload is
/// its dataset, itself under [`SIM_MAXMEMORY`].
#[derive(Clone, Debug)]
struct SyncTempFile {
    name: String,
    chunks: Vec<Arc<[u8]>>,
}

impl SyncTempFile {
    /// What the file holds that a copy does not share: the list of its chunks. The chunks go
    /// to `shared`.
    fn memory(&self, shared: &mut dyn FnMut(usize, usize)) -> usize {
        for chunk in &self.chunks {
            shared(chunk.as_ptr() as usize, chunk.len());
        }
        self.name.capacity() + self.chunks.capacity() * std::mem::size_of::<Arc<[u8]>>()
    }
}

/// A client endpoint (a console, a reader, a workload or a test) connected to a node.
#[derive(Clone, Debug, Default)]
struct ClientEnd {
    /// `client<id>`, as the trace names it.
    name: Name,
    node: usize,
    conn: Option<ConnId>,
    inbuf: Vec<u8>,
    replies: Vec<Reply>,
    /// Commands sent since it connected (each gets exactly one reply, in order).
    sent: u64,
}

/// A background writer: `SET key:<n> <value>` at a fixed rate.
#[derive(Clone, Debug)]
struct Workload {
    client: ClientId,
    period_us: u64,
    next_us: u64,
    keys: u64,
    value_size: usize,
    sent: u64,
}

/// A background reader that reports stale reads.
#[derive(Clone, Debug)]
struct Reader {
    client: ClientId,
    node: usize,
    key: String,
    period_us: u64,
    next_us: u64,
}

/// Something scheduled to happen at a virtual instant.
#[derive(Clone, Debug)]
enum Pending {
    Deliver {
        msg: u64,
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
    /// FIN or RST reaching `to`.
    Closed {
        to: Endpoint,
    },
    /// A connection request (SYN) from node `from` towards node `to`, held by a partition
    /// (TCP retransmits SYNs, so the connection goes ahead once the partition heals).
    Syn {
        from: usize,
        conn: ConnId,
        to: usize,
    },
    /// A look at how much node `node`'s connection `conn` still has to transmit, while its
    /// socket drains on a slow link.
    SendQueue {
        node: usize,
        conn: ConnId,
    },
}

/// PSYNC decisions the simulation keeps with their stories (the latest, all masters
/// together): enough for each replica of a 12-node page to have its last few.
pub const PSYNC_STORIES_KEPT: usize = 32;

/// A PSYNC decision, where and when it was made, for which replica, and the steps that
/// followed it.
#[derive(Clone, Debug)]
struct PsyncStory {
    node: usize,
    conn: ConnId,
    /// Who asked, named as the picture names it.
    replica: Name,
    time_us: u64,
    decision: Box<PsyncDecision>,
    steps: Vec<String>,
    /// The replid and offset of the `+FULLRESYNC` sent, once sent: the offset is the one at
    /// the fork, and a master that had no backlog took a new replid just before.
    fullresync: Option<(String, i64)>,
}

impl PsyncStory {
    /// Adds the step `event` (on the story's master) took for this story's replica, if any.
    fn follow(&mut self, event: &Event) {
        let step = match event {
            Event::FullResyncSent {
                conn: c,
                replid,
                offset,
            } if *c == self.conn => {
                self.fullresync = Some((replid.clone(), *offset));
                format!("+FULLRESYNC {replid} {offset}")
            }
            Event::BgsaveStarted {
                target,
                replicas,
                rdb_bytes,
                keys,
                ..
            } if replicas.contains(&self.conn) => format!(
                "BGSAVE ({}): {keys} keys, {rdb_bytes} bytes of RDB",
                match target {
                    crate::engine::event::RdbTarget::Disk => "to disk",
                    crate::engine::event::RdbTarget::Socket => "diskless",
                }
            ),
            Event::RdbSent { conn: c, bytes } if *c == self.conn => {
                format!("RDB of {bytes} bytes handed to the replica's socket")
            }
            Event::BufferedStreamSent { conn: c, bytes } if *c == self.conn => {
                format!("then {bytes} bytes of writes buffered during the sync")
            }
            Event::ReplicaStateChanged {
                conn: c,
                state: crate::engine::event::ReplicaState::Online,
            } if *c == self.conn => "replica online: the stream flows".to_string(),
            _ => return,
        };
        self.steps.push(step);
    }
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    now_us: u64,
    seq: u64,
    steps: u64,
    queue: BTreeMap<(u64, u64), Pending>,
    nodes: Vec<SimNode>,
    net: net::Net,
    clients: BTreeMap<ClientId, ClientEnd>,
    next_client: u64,
    next_msg: u64,
    /// The pid the next snapshot child gets (fork children are numbered in order, above
    /// the nodes' own process ids).
    next_child_pid: u32,
    /// Entries recorded since the last [`Sim::drain_trace`] (all of them if nobody drains:
    /// tests and short runs read the whole trace here; a [`timeline::Timeline`] drains it
    /// into its bounded history after every step).
    trace: Vec<TraceEntry>,
    /// How many entries were drained (or skipped) before `trace[0]`: `trace[i]` is entry
    /// number `trace_base + i` of the run.
    trace_base: u64,
    /// [`trace::entry_bytes`] of every entry kept so far, drained ones included
    /// ([`Sim::trace_bytes`]).
    trace_bytes: u64,
    /// Entries numbered below this are counted but not kept: a replay of a part of the run
    /// whose trace is known already (a seek back) runs without building it again.
    record_from: u64,
    /// The node name of entries that belong to no node (faults, actions, the network).
    network_name: Name,
    seed: u64,
    rng: ChaCha8Rng,
    /// Segments held by a partition, per directed node pair, in send order.
    held: BTreeMap<(usize, usize), Vec<(Endpoint, Pending)>>,
    workload: Option<Workload>,
    readers: Vec<Reader>,
    /// One console client per node, created on first use.
    consoles: BTreeMap<usize, ClientId>,
    /// What each node's console shows (commands typed and their replies).
    console_logs: BTreeMap<usize, console::ConsoleLog>,
    /// Each node's [`Node::poll_timeout`] (ms), refreshed whenever the node handles
    /// something: finding the next step then costs a look at a number per node, not a walk
    /// over every node's clients (it runs once per step).
    timers: Vec<u64>,
    /// Segments between nodes not delivered yet (the packets the UI animates).
    in_flight: BTreeMap<u64, trace::Message>,
    /// The latest PSYNC decision and what followed it (the snapshot shows it every frame;
    /// finding it in the trace would scan every entry recorded since).
    /// The latest PSYNC decisions, oldest first (at most [`PSYNC_STORIES_KEPT`]).
    psyncs: VecDeque<PsyncStory>,
    /// The last heartbeat (PING or REPLCONF ACK) each node sent to each peer: (id, kind,
    /// sent at), for the UI's pulses.
    heartbeats: BTreeMap<(usize, usize), (u64, MsgKind, u64)>,
    /// Steps of the scenario's script not run yet: when the last one has run the log says
    /// so, once (kept here, not in the timeline, so checkpoints and replays agree).
    script_left: usize,
    /// A lesson's checker, if one is attached: copied with the simulation, so a seek
    /// restores its state exactly.
    checker: Option<Box<checker::Checker>>,
    /// Who the action being applied comes from (for the checker).
    acting: timeline::Origin,
}

impl Sim {
    /// An empty simulation whose links have `latency_ms` of one-way delay.
    pub fn new(seed: u64, latency_ms: u64) -> Sim {
        Sim {
            now_us: EPOCH_MS * 1000,
            seq: 0,
            steps: 0,
            queue: BTreeMap::new(),
            nodes: Vec::new(),
            net: net::Net::new(LinkParams::latency_ms(latency_ms)),
            clients: BTreeMap::new(),
            next_client: 1,
            next_msg: 1,
            next_child_pid: FIRST_CHILD_PID,
            trace: Vec::new(),
            trace_base: 0,
            trace_bytes: 0,
            record_from: 0,
            network_name: Name::from(""),
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_5141),
            held: BTreeMap::new(),
            workload: None,
            readers: Vec::new(),
            consoles: BTreeMap::new(),
            console_logs: BTreeMap::new(),
            timers: Vec::new(),
            in_flight: BTreeMap::new(),
            psyncs: VecDeque::new(),
            heartbeats: BTreeMap::new(),
            script_left: 0,
            checker: None,
            acting: timeline::Origin::User,
        }
    }

    fn node_seed(&self, index: usize, boot: u64) -> u64 {
        self.seed
            ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ boot.wrapping_mul(0xbf58_476d_1ce4_e5b9)
    }

    /// Adds a master named `name`; returns its index.
    pub fn add_node(&mut self, name: &str, mut config: Config) -> usize {
        config.port = PORT;
        // Whatever config a caller built, a simulated node stays within the page's budget.
        let cap = |v: u64| {
            if v == 0 {
                SIM_MAXMEMORY
            } else {
                v.min(SIM_MAXMEMORY)
            }
        };
        config.maxmemory = cap(config.maxmemory);
        config.proto_max_bulk_len = cap(config.proto_max_bulk_len);
        config.caps.memory = Some(SIM_MAXMEMORY);
        let index = self.nodes.len();
        let mut node = Node::new(NodeOptions {
            name: name.to_string(),
            config: config.clone(),
            seed: self.node_seed(index, 0),
            now_ms: self.now_ms(),
        });
        node.set_process_id(sim_process_id(index, 0));
        self.nodes.push(SimNode {
            name: name.into(),
            config,
            node,
            state: NodeState::Up,
            disk: None,
            sync_file: None,
            boots: 1,
            held_inputs: Vec::new(),
            asleep_until_us: None,
            replicaof: None,
            removed: false,
        });
        self.timers.push(self.nodes[index].node.poll_timeout());
        index
    }

    // ----- read access ------------------------------------------------------------------------

    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Moves the clock forward to `t_us` without running anything (actions at that time).
    pub(crate) fn advance_clock_us(&mut self, t_us: u64) {
        self.now_us = self.now_us.max(t_us);
    }

    /// Steps processed so far (each step is one delivery or one timer).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index].node
    }

    pub fn nodes(&self) -> &[SimNode] {
        &self.nodes
    }

    /// Every node's name in creation order, removed nodes' included (names are not reused).
    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.to_string()).collect()
    }

    /// The node named `name` (removed nodes have no name any more).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| *n.name == *name && !n.removed)
    }

    /// The node named `name`, or why there is none (a message for the user).
    pub fn lookup(&self, name: &str) -> Result<usize, String> {
        self.index_of(name).ok_or_else(|| {
            if self.was_removed(name) {
                format!("node '{name}' was removed")
            } else {
                format!("no node named '{name}'")
            }
        })
    }

    /// Roughly the memory this simulation holds, for the timeline's budget: what several
    /// copies may share (backlog pages, saved RDBs) goes to `shared` as (address, bytes), to
    /// be counted once; the rest is returned. Walks every key: call it rarely.
    pub fn memory(&self, shared: &mut dyn FnMut(usize, usize)) -> usize {
        let pending = |p: &Pending| match p {
            Pending::Deliver { bytes, .. } => bytes.capacity() + 64,
            _ => 64,
        };
        let nodes: usize = self
            .nodes
            .iter()
            .map(|n| {
                if let Some(disk) = &n.disk {
                    shared(disk.as_ptr() as usize, disk.len());
                }
                let sync_file = n.sync_file.as_ref().map_or(0, |f| f.memory(shared));
                // (`Node::memory` counts the node itself, which lives inside the SimNode.)
                std::mem::size_of::<SimNode>() - std::mem::size_of::<Node>()
                    + sync_file
                    + n.node.memory(shared)
                    + n.held_inputs.iter().map(pending).sum::<usize>()
            })
            .sum();
        let clients: usize = self
            .clients
            .values()
            .map(|c| std::mem::size_of::<ClientEnd>() + c.inbuf.capacity() + 64 * c.replies.len())
            .sum();
        let consoles: usize = self
            .console_logs
            .values()
            .map(|log| log.memory(shared))
            .sum();
        let messages: usize = self
            .in_flight
            .values()
            .map(|m| std::mem::size_of::<trace::Message>() + m.head.capacity())
            .sum();
        std::mem::size_of::<Sim>()
            + nodes
            + clients
            + consoles
            + messages
            + self.queue.values().map(pending).sum::<usize>()
            + self
                .held
                .values()
                .flatten()
                .map(|(_, p)| pending(p))
                .sum::<usize>()
            + self.trace.iter().map(trace::entry_bytes).sum::<usize>()
    }

    /// A copy to keep aside (a checkpoint): shares everything immutable with this one, and
    /// holds its own exact copy of what this one goes on changing in place; nodes in step
    /// share that copy and their equal databases.
    pub fn checkpoint_copy(&self) -> Sim {
        let mut copy = self.clone();
        let mut pool = crate::engine::node::SharePool::default();
        for n in &mut copy.nodes {
            n.node.detach_for_copy(&mut pool);
        }
        copy
    }

    /// Reads node `i`'s next timer again after a change made outside [`Sim::drain`].
    pub(crate) fn refresh_timer(&mut self, i: usize) {
        self.timers[i] = self.nodes[i].node.poll_timeout();
    }

    /// Makes equal full backlog pages of different nodes one page in memory (a master and
    /// its replicas hold the same stream at the same offsets): the timeline calls it before
    /// each checkpoint, so a checkpoint of twelve nodes holds one copy of the stream.
    pub fn share_backlog_pages(&mut self) {
        let mut pool = crate::engine::backlog::PagePool::new();
        for n in &mut self.nodes {
            n.node.share_backlog_pages(&mut pool);
        }
    }

    /// True if a node named `name` was removed.
    pub fn was_removed(&self, name: &str) -> bool {
        self.nodes.iter().any(|n| *n.name == *name && n.removed)
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Whether a segment is moving between nodes (in flight and not held by a partition):
    /// playback slows down to show it, while held ones wait for a heal however long.
    pub fn has_moving_packets(&self) -> bool {
        self.in_flight.values().any(|m| m.arrives_us.is_some())
    }

    /// The shortest flight (send to arrival, µs) of the segments moving now: slow motion
    /// paces playback so that even this one is seen travelling.
    pub fn shortest_flight_us(&self) -> Option<u64> {
        self.in_flight
            .values()
            .filter_map(|m| Some(m.arrives_us?.saturating_sub(m.sent_us)))
            .min()
    }

    /// Writes per second of the background workload (0 when off).
    pub fn workload_rate(&self) -> u64 {
        self.workload
            .as_ref()
            .map_or(0, |w| 1_000_000 / w.period_us.max(1))
    }

    /// How many entries the run has recorded so far, drained ones included: the number the
    /// next entry will have.
    pub fn trace_len(&self) -> u64 {
        self.trace_base + self.trace.len() as u64
    }

    /// The bytes of every entry this simulation has kept in its trace so far, drained ones
    /// included, as the history counts them ([`trace::entry_bytes`]): a reader of the
    /// history can tell how much it has yet to read.
    pub fn trace_bytes(&self) -> u64 {
        self.trace_bytes
    }

    /// Hands over the entries recorded since the last drain, each with its number, keeping
    /// the buffer's memory for the next ones.
    pub fn drain_trace(&mut self) -> impl Iterator<Item = (u64, TraceEntry)> + '_ {
        let first = self.trace_base;
        self.trace_base += self.trace.len() as u64;
        (first..).zip(self.trace.drain(..))
    }

    /// Link properties from `a` to `b`.
    pub fn link(&self, a: usize, b: usize) -> LinkParams {
        self.net.params(a, b)
    }

    /// Partitioned directions and cut pairs, as node indexes.
    pub fn faults(&self) -> LinkFaults {
        self.net.faults()
    }

    /// Open connections between nodes, as (from node, to node) of the dialing side.
    pub fn node_links(&self) -> Vec<(usize, usize)> {
        let mut links = Vec::new();
        for a in 0..self.nodes.len() {
            for b in 0..self.nodes.len() {
                for (x, _) in self.net.between(a, b) {
                    if matches!(x, Endpoint::Node(_, ConnId::Out(_))) {
                        links.push((a, b));
                    }
                }
            }
        }
        links
    }

    /// True while the entries recorded are kept (see [`Sim::record_from`]).
    fn recording(&self) -> bool {
        self.trace_len() >= self.record_from
    }

    /// Entries numbered below `n` will be counted, not kept (a replay of a known past).
    pub fn record_from(&mut self, n: u64) {
        self.record_from = n;
    }

    fn record(&mut self, node: Option<usize>, event: SimEvent) {
        if let (Some(i), SimEvent::Engine(e)) = (node, &event) {
            self.follow_psync(i, e);
        }
        let recording = self.recording();
        let check = match (&event, self.checker.as_deref()) {
            (_, None) => false,
            (SimEvent::Engine(e), Some(c)) => c.interested(e),
            (SimEvent::Action(_) | SimEvent::StaleRead { .. }, Some(_)) => true,
            _ => false,
        };
        if !recording && !check {
            self.trace_base += 1;
            return;
        }
        let peer = match (node, &event) {
            (Some(i), SimEvent::Engine(e)) => e.conn().and_then(|conn| {
                let end = self.net.peer(Endpoint::Node(i, conn))?;
                Some(self.endpoint_name(end))
            }),
            _ => None,
        };
        if check {
            self.check_event(node, peer.as_deref(), &event, self.acting);
        }
        if !recording {
            self.trace_base += 1;
            return;
        }
        let node = node.map_or_else(|| self.network_name.clone(), |i| self.nodes[i].name.clone());
        let entry = TraceEntry {
            time_us: self.now_us,
            node,
            event,
            peer,
        };
        self.trace_bytes += trace::entry_bytes(&entry) as u64;
        self.trace.push(entry);
    }

    /// Keeps the story of each PSYNC: the decision, then on the same master for the same
    /// replica connection the steps of the sync it led to (two replicas may sync at once,
    /// and share one BGSAVE).
    fn follow_psync(&mut self, node: usize, event: &Event) {
        if let Event::PsyncDecided { conn, decision } = event {
            let mut steps = Vec::new();
            if decision.is_continue() {
                let i = &decision.inputs;
                let missing = i.master_repl_offset + 1 - i.requested_offset;
                steps.push(if missing > 0 {
                    format!(
                        "sent {missing} bytes of backlog: offsets {} to {}",
                        i.requested_offset, i.master_repl_offset
                    )
                } else {
                    "sent 0 bytes of backlog: the replica missed nothing".to_string()
                });
            }
            let replica = self
                .net
                .peer(Endpoint::Node(node, *conn))
                .map_or_else(|| "a replica".into(), |e| self.endpoint_name(e));
            if self.psyncs.len() == PSYNC_STORIES_KEPT {
                self.psyncs.pop_front();
            }
            self.psyncs.push_back(PsyncStory {
                node,
                conn: *conn,
                replica,
                time_us: self.now_us,
                decision: decision.clone(),
                steps,
                fullresync: None,
            });
            return;
        }
        let conns = match event {
            Event::FullResyncSent { conn, .. }
            | Event::RdbSent { conn, .. }
            | Event::BufferedStreamSent { conn, .. }
            | Event::ReplicaStateChanged { conn, .. } => std::slice::from_ref(conn),
            Event::BgsaveStarted { replicas, .. } => replicas.as_slice(),
            _ => return,
        };
        for conn in conns {
            let latest = self.psyncs.iter_mut().rev();
            if let Some(story) = latest.filter(|s| s.node == node).find(|s| s.conn == *conn) {
                story.follow(event);
            }
        }
    }

    fn schedule(&mut self, at_us: u64, what: Pending) {
        self.seq += 1;
        self.queue.insert((at_us, self.seq), what);
    }

    // ----- clients ------------------------------------------------------------------------------

    /// Opens a client connection to node `node`.
    pub fn connect_client(&mut self, node: usize) -> ClientId {
        let id = ClientId(self.next_client);
        self.next_client += 1;
        let mut end = ClientEnd {
            name: format!("client{}", id.0).into(),
            node,
            ..Default::default()
        };
        if self.nodes[node].state != NodeState::Down {
            let conn = self.net.connect(Endpoint::Client(id), node);
            end.conn = Some(conn);
            let peer = PeerAddr {
                ip: "127.0.0.1".into(),
                port: 40000 + (id.0 % 20000) as u16,
            };
            let at = self.now_us + 100;
            self.schedule(at, Pending::Accept { node, conn, peer });
        }
        self.clients.insert(id, end);
        id
    }

    /// What `node`'s console shows at this moment, if a command was ever typed there.
    pub fn console_log(&self, node: usize) -> Option<&console::ConsoleLog> {
        self.console_logs.get(&node)
    }

    /// The console client of `node`: reconnected if its connection was lost, and a new
    /// connection while the current one is blocked (BLPOP, WAIT…), as one opens a second
    /// redis-cli; the blocked one is closed once answered (see [`Sim::close_spare_console`]).
    pub fn console(&mut self, node: usize) -> ClientId {
        let blocked = |sim: &Sim, c: ClientId| {
            sim.console_logs
                .get(&node)
                .is_some_and(|log| log.blocked(c))
        };
        match self.consoles.get(&node) {
            Some(&c)
                if self.clients.get(&c).is_some_and(|e| e.conn.is_some()) && !blocked(self, c) =>
            {
                c
            }
            _ => {
                let c = self.connect_client(node);
                self.consoles.insert(node, c);
                c
            }
        }
    }

    /// True if `node` holds its console's current connection blocked on keys (BLPOP…).
    pub fn console_blocked_on_keys(&self, node: usize) -> bool {
        let Some(end) = self.consoles.get(&node).and_then(|c| self.clients.get(c)) else {
            return false;
        };
        end.conn
            .is_some_and(|conn| self.nodes[end.node].node.blocked_on_keys(conn))
    }

    /// Closes `client`, a console connection that was left blocked for a new one, once it
    /// has no command waiting any more: its reply came, it is of no further use.
    fn close_spare_console(&mut self, node: usize, client: ClientId) {
        let current = self.consoles.get(&node) == Some(&client);
        let waits = self
            .console_logs
            .get(&node)
            .is_some_and(|log| log.waits(client));
        if current || waits {
            return;
        }
        let Some(end) = self.clients.get_mut(&client) else {
            return;
        };
        if end.conn.take().is_some() {
            let from = Endpoint::Client(client);
            if let Some(to) = self.net.peer(from) {
                self.send_close(from, to);
            }
        }
    }

    /// Sends a command line (split like redis-cli does) from a client.
    pub fn send_line(&mut self, client: ClientId, line: &str) -> Result<(), String> {
        let argv = split_args(line.as_bytes()).ok_or("Invalid argument(s)")?;
        if argv.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        encode_command(&argv, &mut bytes);
        if let Some(c) = self.clients.get_mut(&client) {
            c.sent += 1;
        }
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
        self.transmit(Endpoint::Client(client), Endpoint::Node(node, conn), bytes);
    }

    /// Replies received by `client` so far (taken).
    pub fn take_replies(&mut self, client: ClientId) -> Vec<Reply> {
        self.clients
            .get_mut(&client)
            .map(|c| std::mem::take(&mut c.replies))
            .unwrap_or_default()
    }

    /// How many commands `client` sent with [`Sim::send_line`] (each gets one reply).
    pub fn commands_sent(&self, client: ClientId) -> u64 {
        self.clients.get(&client).map_or(0, |c| c.sent)
    }

    /// Sends `line` and runs until `client` has a reply (at most 60 s of virtual time).
    pub fn exec(&mut self, client: ClientId, line: &str) -> Option<Reply> {
        self.send_line(client, line).ok()?;
        let deadline = self.now_ms() + 60_000;
        while self
            .clients
            .get(&client)
            .is_some_and(|c| c.replies.is_empty())
        {
            if self.clients.get(&client).is_some_and(|c| c.conn.is_none()) {
                return None;
            }
            if !self.step_until(deadline * 1000) {
                return None;
            }
        }
        let end = self.clients.get_mut(&client)?;
        Some(end.replies.remove(0))
    }

    // ----- running ------------------------------------------------------------------------------

    /// Runs everything due up to and including `until_ms`, then sets the clock to it.
    pub fn run_until(&mut self, until_ms: u64) {
        self.run_until_us(until_ms * 1000);
    }

    pub fn run_until_us(&mut self, until_us: u64) {
        while self.step_until(until_us) {}
        self.now_us = self.now_us.max(until_us);
    }

    /// Runs for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        self.run_until_us(self.now_us + ms * 1000);
    }

    /// When the next step would happen.
    pub fn next_time_us(&self) -> Option<u64> {
        self.next_step().map(|(t, _)| t)
    }

    /// What runs next: deliveries first, then node timers (by index), then background
    /// clients, at equal times.
    fn next_step(&self) -> Option<(u64, Step)> {
        let mut best: Option<(u64, Step)> = self.queue.keys().next().map(|k| (k.0, Step::Queue));
        let mut consider = |t: u64, s: Step| {
            if best.as_ref().is_none_or(|(bt, _)| t < *bt) {
                best = Some((t, s));
            }
        };
        for (i, n) in self.nodes.iter().enumerate() {
            if n.state != NodeState::Up {
                continue;
            }
            if let Some(wake) = n.asleep_until_us {
                consider(wake, Step::Wake(i));
            } else {
                debug_assert_eq!(self.timers[i], n.node.poll_timeout(), "timer of node {i}");
                consider(self.timers[i] * 1000, Step::Timer(i));
            }
        }
        if let Some(w) = &self.workload {
            consider(w.next_us, Step::Workload);
        }
        for (i, r) in self.readers.iter().enumerate() {
            consider(r.next_us, Step::Reader(i));
        }
        best
    }

    /// Processes the earliest pending thing if it is due by `until_us`.
    pub fn step_until(&mut self, until_us: u64) -> bool {
        let Some((t, step)) = self.next_step() else {
            return false;
        };
        if t > until_us {
            return false;
        }
        self.now_us = self.now_us.max(t);
        self.steps += 1;
        match step {
            Step::Queue => {
                let key = *self.queue.keys().next().expect("queue non-empty");
                let pending = self.queue.remove(&key).expect("key exists");
                self.apply(pending);
            }
            Step::Timer(i) => {
                let now = self.now_ms();
                self.nodes[i].node.handle_timeout(now);
                self.drain(i);
            }
            Step::Wake(i) => self.wake(i),
            Step::Workload => self.workload_tick(),
            Step::Reader(i) => self.reader_tick(i),
        }
        if self.checker.is_some() {
            self.maybe_tick_checker();
        }
        true
    }

    /// Runs exactly one step (whatever its time); false if nothing is pending.
    pub fn step(&mut self) -> bool {
        self.step_until(u64::MAX)
    }

    fn apply(&mut self, pending: Pending) {
        let now = self.now_ms();
        let target = match &pending {
            Pending::Deliver { to, .. } | Pending::Closed { to } => to.node(),
            Pending::Accept { node, .. }
            | Pending::Connected { node, .. }
            | Pending::SendQueue { node, .. } => Some(*node),
            Pending::Syn { .. } => None,
        };
        if let Some(n) = target {
            match self.nodes[n].state {
                _ if self.nodes[n].asleep_until_us.is_some()
                    && self.nodes[n].state != NodeState::Down =>
                {
                    self.nodes[n].held_inputs.push(pending);
                    return;
                }
                NodeState::Paused => {
                    self.nodes[n].held_inputs.push(pending);
                    return;
                }
                NodeState::Down => {
                    if let Pending::Deliver { msg, .. } = pending {
                        self.in_flight.remove(&msg);
                    }
                    return;
                }
                NodeState::Up => {}
            }
        }
        match pending {
            Pending::Syn { from, conn, to } => self.connect_nodes(from, conn, to),
            Pending::Accept { node, conn, peer } => {
                if self.net.is_open(Endpoint::Node(node, conn)) {
                    self.nodes[node]
                        .node
                        .handle(now, Input::Accepted { conn, peer });
                    self.drain(node);
                }
            }
            Pending::Connected { node, conn } => {
                if self.net.is_open(Endpoint::Node(node, conn)) {
                    self.nodes[node].node.handle(now, Input::Connected { conn });
                    self.drain(node);
                }
            }
            Pending::Deliver { msg, to, bytes } => {
                self.in_flight.remove(&msg);
                if !self.net.is_open(to) {
                    self.record(to.node(), SimEvent::Dropped { id: msg });
                    return;
                }
                match to {
                    Endpoint::Node(node, conn) => {
                        self.nodes[node]
                            .node
                            .handle(now, Input::Data { conn, bytes });
                        self.drain(node);
                    }
                    Endpoint::Client(id) => {
                        let mut answered = Vec::new();
                        if let Some(end) = self.clients.get_mut(&id) {
                            end.inbuf.extend_from_slice(&bytes);
                            while let Ok(Some((reply, used))) = parse_reply(&end.inbuf) {
                                end.inbuf.drain(..used);
                                // A console's replies go to its log; other clients keep theirs.
                                match self.console_logs.get_mut(&end.node) {
                                    Some(log) if log.waits(id) => {
                                        if let Some(typed) = log.replied(id, reply) {
                                            answered.push((end.node, typed));
                                        }
                                    }
                                    _ => end.replies.push(reply),
                                }
                            }
                        }
                        for (node, typed) in answered {
                            self.check_console_read(node, &typed);
                            self.check_reply(node, &typed);
                            self.close_spare_console(node, id);
                        }
                        self.check_reader_reply(id);
                    }
                }
            }
            Pending::SendQueue { node, conn } => {
                let from = Endpoint::Node(node, conn);
                self.net.looked(from);
                if self.net.is_open(from) {
                    self.report_send_queue(node, conn);
                    self.drain(node);
                }
            }
            Pending::Closed { to } => {
                self.net.close(to);
                match to {
                    Endpoint::Node(node, conn) => {
                        self.nodes[node].node.handle(now, Input::Closed { conn });
                        self.drain(node);
                    }
                    Endpoint::Client(id) => {
                        if let Some(end) = self.clients.get_mut(&id) {
                            end.conn = None;
                            if let Some(log) = self.console_logs.get_mut(&end.node) {
                                log.closed(id);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Hands bytes from `from` to the network towards `to`, in segments.
    fn transmit(&mut self, from: Endpoint, to: Endpoint, bytes: Vec<u8>) {
        let to_client = matches!(to, Endpoint::Client(_));
        let from_master_link = matches!(
            (from, to),
            (
                Endpoint::Node(_, ConnId::In(_)),
                Endpoint::Node(_, ConnId::Out(_))
            )
        );
        let kind = trace::classify(&bytes, from_master_link, to_client);
        for chunk in bytes.chunks(SEGMENT) {
            let id = self.next_msg;
            self.next_msg += 1;
            let held =
                matches!((from.node(), to.node()), (Some(a), Some(b)) if self.net.is_held(a, b));
            let pending = Pending::Deliver {
                msg: id,
                to,
                bytes: chunk.to_vec(),
            };
            let arrives = if held {
                let key = (from.node().unwrap_or(0), to.node().unwrap_or(0));
                self.held.entry(key).or_default().push((from, pending));
                self.net.add_held(from, chunk.len());
                None
            } else {
                let at = self
                    .net
                    .arrival(from, to.node(), chunk.len(), self.now_us, &mut self.rng);
                self.schedule(at, pending);
                Some(at)
            };
            let message = trace::Message {
                id,
                from: self.endpoint_name(from),
                to: self.endpoint_name(to),
                kind,
                len: chunk.len(),
                head: chunk[..chunk.len().min(trace::HEAD_BYTES)].to_vec(),
                sent_us: self.now_us,
                arrives_us: arrives,
            };
            if let (Some(a), Some(b)) = (from.node(), to.node()) {
                if matches!(kind, MsgKind::Ping | MsgKind::Ack) {
                    self.heartbeats.insert((a, b), (id, kind, self.now_us));
                }
                if !self.recording() {
                    self.in_flight.insert(id, message);
                    self.trace_base += 1;
                    continue;
                }
                self.in_flight.insert(id, message.clone());
            }
            self.record(from.node(), SimEvent::Send(Box::new(message)));
        }
        if let Endpoint::Node(n, conn) = from {
            self.report_send_queue(n, conn);
        }
    }

    /// A slow link leaves bytes in the sender's socket, and the node must know (replica output
    /// buffer limits; a full sync's RDB counts as sent only once the socket took all of it).
    /// Tells node `n` the level of `conn`'s send queue if it changed, and keeps looking while
    /// the queue drains. The caller drains the node's output.
    fn report_send_queue(&mut self, n: usize, conn: ConnId) {
        let from = Endpoint::Node(n, conn);
        let queued = self.net.queued(from, self.now_us);
        if self.net.should_report(from, queued) {
            let now = self.now_ms();
            self.nodes[n]
                .node
                .handle(now, Input::SendQueue { conn, queued });
        }
        if let Some(at) = self.net.next_look_us(from, self.now_us) {
            self.schedule(at, Pending::SendQueue { node: n, conn });
        }
    }

    /// A reset connection end: its segments held by a partition are discarded with the rest
    /// of its unsent bytes, and so is what its peer had held towards it (the RST clears the
    /// peer's send queue too).
    fn drop_held_from(&mut self, from: Endpoint) {
        for held in self.held.values_mut() {
            held.retain(|(f, p)| {
                let keep = match p {
                    Pending::Deliver { to, .. } => *f != from && *to != from,
                    Pending::Closed { to } => *to != from,
                    _ => true,
                };
                if let (false, Pending::Deliver { msg, .. }) = (keep, p) {
                    self.in_flight.remove(msg);
                }
                keep
            });
        }
        self.recount_held();
    }

    /// Tells the network how many bytes each sender has held by partitions, after held
    /// segments were caught, released or dropped (rare: a partition, a heal, a cut, a reset,
    /// a kill).
    fn recount_held(&mut self) {
        let mut counts = BTreeMap::new();
        for (from, pending) in self.held.values().flatten() {
            if let Pending::Deliver { bytes, .. } = pending {
                *counts.entry(*from).or_default() += bytes.len();
            }
        }
        self.net.set_held(counts);
    }

    /// A connection end's FIN/RST travelling to its peer (held by partitions like data).
    fn send_close(&mut self, from: Endpoint, to: Endpoint) {
        let pending = Pending::Closed { to };
        match (from.node(), to.node()) {
            (Some(a), Some(b)) if self.net.is_held(a, b) => {
                self.held.entry((a, b)).or_default().push((from, pending));
            }
            _ => {
                let at = self
                    .net
                    .arrival(from, to.node(), 0, self.now_us, &mut self.rng);
                self.schedule(at, pending);
            }
        }
    }

    fn endpoint_name(&self, e: Endpoint) -> Name {
        match e {
            Endpoint::Node(n, _) => self.nodes[n].name.clone(),
            Endpoint::Client(c) => self
                .clients
                .get(&c)
                .map_or_else(|| format!("client{}", c.0).into(), |end| end.name.clone()),
        }
    }

    /// Routes everything node `i` produced, up to a `DEBUG SLEEP` (the rest waits for it).
    fn drain(&mut self, i: usize) {
        while self.nodes[i].asleep_until_us.is_none() {
            let Some(output) = self.nodes[i].node.poll_output() else {
                break;
            };
            match output {
                Output::Send { conn, bytes } => {
                    let from = Endpoint::Node(i, conn);
                    if let Some(to) = self.net.peer(from) {
                        self.transmit(from, to, bytes);
                    }
                }
                Output::Connect { conn, host, port } => self.dial(i, conn, &host, port),
                Output::Close { conn } => {
                    // A graceful close: bytes already sent still arrive, then the FIN.
                    let from = Endpoint::Node(i, conn);
                    if let Some(to) = self.net.peer(from) {
                        self.send_close(from, to);
                    }
                }
                Output::Abort { conn } => {
                    // Like a reset: nothing still on its way arrives, the peer learns it after
                    // one latency.
                    let from = Endpoint::Node(i, conn);
                    if let Some(to) = self.net.close(from) {
                        let now = self.now_us;
                        self.net.reset(from, now);
                        self.drop_held_from(from);
                        self.send_close(from, to);
                    }
                }
                Output::SaveRdb { bytes } => {
                    // The virtual disk never fails.
                    self.nodes[i].disk = Some(bytes.into());
                    let now = self.now_ms();
                    self.nodes[i].node.handle(now, Input::SaveDone { ok: true });
                }
                Output::Listen { .. } => {
                    // Simulated nodes are reached by name on the one port every node has.
                    let now = self.now_ms();
                    self.nodes[i]
                        .node
                        .handle(now, Input::Listening { ok: false });
                }
                Output::Pause { micros } => {
                    self.nodes[i].asleep_until_us = Some(self.now_us.saturating_add(micros));
                }
                // No process stands in for the child: it gets a pid for the log, as a
                // forked child would, and nothing kills it behind the node's back.
                Output::Fork => {
                    let pid = self.next_child_pid;
                    self.next_child_pid = pid.wrapping_add(1).max(FIRST_CHILD_PID);
                    let now = self.now_ms();
                    self.nodes[i].node.handle(now, Input::Forked { pid });
                }
                Output::ChildDone => {}
                // A replica's sync file: the node has already loaded the payload as it
                // arrived; its disk keeps the file for a restart, as Redis's does.
                Output::SyncFile(op) => self.nodes[i].apply_sync_file(op),
                Output::Event(event) => self.record(Some(i), SimEvent::Engine(event)),
                // Simulated nodes have no configuration file: CONFIG REWRITE never asks.
                Output::RewriteConfig { .. } => {
                    let now = self.now_ms();
                    let error = Some("no configuration file".into());
                    self.nodes[i].node.handle(now, Input::RewriteDone { error });
                }
                // SHUTDOWN: the process ends as if killed, its final snapshot already on disk.
                Output::Exit => {
                    self.kill(i, false);
                    return;
                }
            }
        }
        self.timers[i] = self.nodes[i].node.poll_timeout();
    }

    /// The end of a `DEBUG SLEEP`: what the node produced after the sleep goes out, then
    /// what arrived meanwhile is handled (Redis writes replies before it polls again).
    fn wake(&mut self, i: usize) {
        self.nodes[i].asleep_until_us = None;
        self.drain(i);
        if self.nodes[i].asleep_until_us.is_none() {
            for pending in std::mem::take(&mut self.nodes[i].held_inputs) {
                self.apply(pending);
            }
        }
    }

    /// Node `i` connects to `host:port`: refused at once by an unknown address (a removed
    /// node's included), otherwise
    /// the SYN travels (see [`Sim::connect_nodes`]); a partition holds it until it heals.
    fn dial(&mut self, i: usize, conn: ConnId, host: &str, port: u16) {
        let target = self.index_of(host).filter(|_| port == PORT);
        let Some(t) = target else {
            let at = self.now_us + self.net.params(i, i).latency_us;
            self.schedule(
                at,
                Pending::Closed {
                    to: Endpoint::Node(i, conn),
                },
            );
            return;
        };
        if self.net.is_held(i, t) || self.net.is_held(t, i) {
            let from = Endpoint::Node(i, conn);
            let key = if self.net.is_held(i, t) {
                (i, t)
            } else {
                (t, i)
            };
            self.held.entry(key).or_default().push((
                from,
                Pending::Syn {
                    from: i,
                    conn,
                    to: t,
                },
            ));
            return;
        }
        self.connect_nodes(i, conn, t);
    }

    /// The SYN reaches node `t`: accepted after one latency, established for the dialer after
    /// a round trip; refused (a reset comes back) by a dead node or across a cut link.
    fn connect_nodes(&mut self, i: usize, conn: ConnId, t: usize) {
        let now = self.now_us;
        let there = self.net.params(i, t).latency_us;
        let back = self.net.params(t, i).latency_us;
        if self.nodes[t].state == NodeState::Down || self.net.is_cut(i, t) {
            self.schedule(
                now + there + back,
                Pending::Closed {
                    to: Endpoint::Node(i, conn),
                },
            );
            return;
        }
        let server_conn = self.net.connect(Endpoint::Node(i, conn), t);
        let peer = PeerAddr {
            ip: self.nodes[i].name.to_string(),
            port: 50000 + (conn_number(conn) % 10000) as u16,
        };
        self.schedule(
            now + there,
            Pending::Accept {
                node: t,
                conn: server_conn,
                peer,
            },
        );
        self.schedule(now + there + back, Pending::Connected { node: i, conn });
    }

    // ----- faults and actions -------------------------------------------------------------------

    /// The scenario has a script of `steps` steps, none run yet.
    pub fn set_script_steps(&mut self, steps: usize) {
        self.script_left = steps;
    }

    /// Applies a step of the scenario's script now, as [`Sim::act`]; after its last step the
    /// log says the script is done.
    pub fn act_scripted(&mut self, action: &Action) -> Result<(), String> {
        let result = self.act_as(timeline::Origin::Scenario, action);
        if self.script_left > 0 {
            self.script_left -= 1;
            if self.script_left == 0 {
                self.record(None, SimEvent::ScriptDone);
            }
        }
        result
    }

    /// Applies a user action now, and records it. An action the run refuses (a node that is
    /// not there, removed or never added; a number out of its range, see [`limits`]; a new
    /// node that may not join) does nothing and is recorded as skipped, with why.
    pub fn act(&mut self, action: &Action) -> Result<(), String> {
        self.act_as(timeline::Origin::User, action)
    }

    /// Applies an action from `origin` now (a lesson's checker counts only the student's),
    /// then lets the checker look at what it changed.
    pub fn act_as(&mut self, origin: timeline::Origin, action: &Action) -> Result<(), String> {
        self.acting = origin;
        let result = self.apply_action(action);
        self.acting = timeline::Origin::User;
        if self.checker.is_some() {
            self.tick_checker();
        }
        result
    }

    /// Why `action` could not apply to this run as it stands, if so: a number out of its
    /// range ([`limits`]), a node never made, a new node that may not join. An action on a
    /// node removed earlier is not refused here: a scenario may name one (the step is then
    /// logged as skipped), so a run records it like any other.
    pub fn refusal(&self, action: &Action) -> Option<String> {
        if let Err(why) = limits::check_action(action) {
            return Some(why);
        }
        if let Action::AddNode { name, .. } = action {
            let nodes = self.nodes.iter().map(|n| (&*n.name, n.removed));
            return limits::refuse_new_node(name, nodes);
        }
        action
            .nodes()
            .into_iter()
            .find(|name| !self.nodes.iter().any(|n| *n.name == **name))
            .map(|name| format!("no node named '{name}'"))
    }

    fn apply_action(&mut self, action: &Action) -> Result<(), String> {
        let idx = |sim: &Sim, name: &str| sim.lookup(name);
        let refused = self.refusal(action).or_else(|| {
            action
                .nodes()
                .into_iter()
                .find_map(|n| self.lookup(n).err())
        });
        if let Some(reason) = refused {
            let skipped = SimEvent::Skipped {
                action: action.clone(),
                reason: reason.clone(),
            };
            self.record(None, skipped);
            return Err(reason);
        }
        self.record(None, SimEvent::Action(action.clone()));
        match action {
            Action::Exec { node, command } => {
                let n = idx(self, node)?;
                let c = self.console(n);
                let sent = self.commands_sent(c);
                self.send_line(c, command)?;
                if self.commands_sent(c) > sent {
                    let connected = self.clients.get(&c).is_some_and(|e| e.conn.is_some());
                    self.console_logs
                        .entry(n)
                        .or_default()
                        .typed(c, command.trim(), connected);
                }
            }
            Action::Cut { a, b } => {
                let (a, b) = (idx(self, a)?, idx(self, b)?);
                self.cut(a, b);
            }
            Action::Partition { from, to } => {
                let (a, b) = (idx(self, from)?, idx(self, to)?);
                self.partition(a, b);
            }
            Action::Heal { a, b } => {
                let (a, b) = (idx(self, a)?, idx(self, b)?);
                self.heal(a, b);
            }
            Action::Slow {
                a,
                b,
                latency_ms,
                jitter_ms,
                bandwidth_bps,
                both,
            } => {
                let (a, b) = (idx(self, a)?, idx(self, b)?);
                let p = LinkParams {
                    latency_us: latency_ms * 1000,
                    jitter_us: jitter_ms * 1000,
                    bandwidth_bps: *bandwidth_bps,
                };
                self.net.set_params(a, b, p);
                if *both {
                    self.net.set_params(b, a, p);
                }
            }
            Action::Kill { node, save } => {
                let n = idx(self, node)?;
                self.kill(n, *save);
            }
            Action::Restart { node, rdb } => {
                let n = idx(self, node)?;
                self.restart(n, *rdb)?;
            }
            Action::Remove { node } => {
                let n = idx(self, node)?;
                self.remove(n);
            }
            Action::Pause { node } => {
                let n = idx(self, node)?;
                if self.nodes[n].state == NodeState::Up {
                    self.nodes[n].state = NodeState::Paused;
                }
            }
            Action::Resume { node } => {
                let n = idx(self, node)?;
                self.resume(n);
            }
            Action::AddNode { name, config } => {
                let mut cfg = sim_config();
                for (k, v) in config {
                    cfg.set(k, v).map_err(|e| e.reply_text())?;
                }
                self.add_node(name, cfg);
            }
            Action::Workload {
                node,
                rate,
                keys,
                value_size,
            } => {
                let n = idx(self, node)?;
                self.workload = if *rate == 0 {
                    None
                } else {
                    let client = self.connect_client(n);
                    Some(Workload {
                        client,
                        period_us: (1_000_000 / rate).max(1),
                        next_us: self.now_us + 1000,
                        keys: (*keys).max(1),
                        value_size: *value_size,
                        sent: 0,
                    })
                };
            }
            Action::Reader {
                node,
                key,
                every_ms,
            } => {
                let n = idx(self, node)?;
                self.readers.retain(|r| !(r.node == n && r.key == *key));
                if *every_ms > 0 {
                    let client = self.connect_client(n);
                    self.readers.push(Reader {
                        client,
                        node: n,
                        key: key.clone(),
                        period_us: every_ms * 1000,
                        next_us: self.now_us + every_ms * 1000,
                    });
                }
            }
        }
        Ok(())
    }

    /// Cuts the link between nodes `a` and `b`: open connections are reset (both ends see it
    /// at once, bytes in flight are lost) and new ones are refused until [`Sim::heal`].
    pub fn cut(&mut self, a: usize, b: usize) {
        self.net.set_cut(a, b, true);
        let now = self.now_us;
        let mut pairs = self.net.between(a, b);
        pairs.extend(self.net.between(b, a));
        for (x, y) in pairs {
            if self.net.close(x).is_some() {
                self.schedule(now, Pending::Closed { to: x });
                self.schedule(now, Pending::Closed { to: y });
            }
        }
        for key in [(a, b), (b, a)] {
            for (_, pending) in self.held.remove(&key).unwrap_or_default() {
                match pending {
                    Pending::Deliver { msg, .. } => {
                        self.in_flight.remove(&msg);
                    }
                    // A pending connection attempt is now refused.
                    Pending::Syn { from, conn, .. } => {
                        self.schedule(
                            now,
                            Pending::Closed {
                                to: Endpoint::Node(from, conn),
                            },
                        );
                    }
                    _ => {}
                }
            }
        }
        self.recount_held();
    }

    /// Ends cuts and partitions between `a` and `b`; held segments continue in order.
    pub fn heal(&mut self, a: usize, b: usize) {
        self.net.set_cut(a, b, false);
        let mut released = std::collections::BTreeSet::new();
        for (x, y) in [(a, b), (b, a)] {
            self.net.release(x, y);
            for (from, pending) in self.held.remove(&(x, y)).unwrap_or_default() {
                if let Pending::Syn { .. } = pending {
                    let now = self.now_us;
                    self.schedule(now, pending);
                    continue;
                }
                let len = match &pending {
                    Pending::Deliver { bytes, .. } => bytes.len(),
                    _ => 0,
                };
                let to_node = Some(y);
                let at = self
                    .net
                    .arrival(from, to_node, len, self.now_us, &mut self.rng);
                if let Pending::Deliver { msg, .. } = &pending {
                    let id = *msg;
                    if let Some(m) = self.in_flight.get_mut(&id) {
                        m.sent_us = self.now_us;
                        m.arrives_us = Some(at);
                    }
                    self.record(Some(x), SimEvent::Released { id, arrives_us: at });
                }
                self.schedule(at, pending);
                released.insert(from);
            }
        }
        self.recount_held();
        // The released segments now wait in their senders' sockets: a look, soon (it waits
        // like an input if the sender is paused).
        for from in released {
            if let Endpoint::Node(node, conn) = from {
                if self.net.start_looking(from) {
                    let now = self.now_us;
                    self.schedule(now, Pending::SendQueue { node, conn });
                }
            }
        }
    }

    /// Makes one direction silent (bytes are held until healed).
    pub fn partition(&mut self, from: usize, to: usize) {
        self.net.hold(from, to);
        self.hold_in_flight(from, to);
    }

    /// What is already on its way from node `a` to node `b` when a partition starts (data
    /// and FINs of open connections, say the rest of an RDB crossing a slow link) is held too,
    /// in order: TCP loses it and retransmits it until the partition heals. Each sender's
    /// socket then holds all of it (reported as its send queue). Connection set-up steps and
    /// the RST of a connection the network already forgot still get through.
    fn hold_in_flight(&mut self, a: usize, b: usize) {
        let caught: Vec<((u64, u64), Endpoint)> = self
            .queue
            .iter()
            .filter_map(|(key, pending)| {
                let (Pending::Deliver { to, .. } | Pending::Closed { to }) = pending else {
                    return None;
                };
                let from = self.net.peer(*to)?;
                (to.node() == Some(b) && from.node() == Some(a)).then_some((*key, from))
            })
            .collect();
        let mut senders = std::collections::BTreeSet::new();
        for (key, from) in caught {
            let Some(pending) = self.queue.remove(&key) else {
                continue;
            };
            if let Pending::Deliver { msg, .. } = &pending {
                let id = *msg;
                if let Some(m) = self.in_flight.get_mut(&id) {
                    m.arrives_us = None;
                }
                self.record(Some(a), SimEvent::Held { id });
            }
            self.held.entry((a, b)).or_default().push((from, pending));
            senders.insert(from);
        }
        let now = self.now_us;
        for &from in &senders {
            self.net.reset(from, now);
        }
        self.recount_held();
        for from in senders {
            if let Endpoint::Node(node, conn) = from {
                if self.net.start_looking(from) {
                    self.schedule(now, Pending::SendQueue { node, conn });
                }
            }
        }
    }

    /// The process of node `n` dies: its peers see a reset.
    pub fn kill(&mut self, n: usize, save: bool) {
        if self.nodes[n].state == NodeState::Down {
            return;
        }
        if save {
            self.nodes[n].disk = Some(self.nodes[n].node.snapshot().into());
        }
        self.nodes[n].replicaof = self.nodes[n]
            .node
            .master_addr()
            .map(|(h, p)| (h.to_string(), p));
        self.nodes[n].state = NodeState::Down;
        self.nodes[n].asleep_until_us = None;
        // A transfer cut by the death: its temporary file stays on a real disk, named after
        // the dead process, and nothing reads it again; the virtual disk forgets it.
        self.nodes[n].sync_file = None;
        // Whatever was on its way to or from the dead process is gone with it.
        for pending in std::mem::take(&mut self.nodes[n].held_inputs) {
            if let Pending::Deliver { msg, .. } = pending {
                self.in_flight.remove(&msg);
            }
        }
        let targets_n = |p: &Pending| match p {
            Pending::Deliver { to, .. } | Pending::Closed { to } => to.node() == Some(n),
            Pending::Accept { node, .. }
            | Pending::Connected { node, .. }
            | Pending::SendQueue { node, .. } => *node == n,
            Pending::Syn { from, .. } => *from == n,
        };
        let dead: Vec<(u64, u64)> = self
            .queue
            .iter()
            .filter(|(_, p)| targets_n(p))
            .map(|(k, _)| *k)
            .collect();
        for key in dead {
            if let Some(Pending::Deliver { msg, .. }) = self.queue.remove(&key) {
                self.in_flight.remove(&msg);
            }
        }
        for held in self.held.values_mut() {
            held.retain(|(from, p)| {
                let keep = from.node() != Some(n) && !targets_n(p);
                if let (false, Pending::Deliver { msg, .. }) = (keep, p) {
                    self.in_flight.remove(msg);
                }
                keep
            });
        }
        self.recount_held();
        for (end, peer) in self.net.ends_on(n) {
            self.net.close(end);
            if peer.node() != Some(n) {
                self.send_close(end, peer);
            }
        }
    }

    /// Node `n` goes away for good: its process dies as with [`Sim::kill`] (peers see a
    /// reset), its name stops resolving (dialing it is refused at once), its disk is gone,
    /// and the workload, readers and console that used it stop.
    pub fn remove(&mut self, n: usize) {
        self.kill(n, false);
        let node = &mut self.nodes[n];
        node.removed = true;
        node.disk = None;
        node.replicaof = None;
        if self
            .workload
            .as_ref()
            .is_some_and(|w| self.clients.get(&w.client).is_some_and(|c| c.node == n))
        {
            self.workload = None;
        }
        self.readers.retain(|r| r.node != n);
        self.consoles.remove(&n);
    }

    /// Starts a dead node again (as a new process, with its RDB if `rdb`).
    pub fn restart(&mut self, n: usize, rdb: bool) -> Result<(), String> {
        if self.nodes[n].removed {
            return Err(format!("node '{}' was removed", self.nodes[n].name));
        }
        if self.nodes[n].state != NodeState::Down {
            return Err(format!("{} is running", self.nodes[n].name));
        }
        let boot = self.nodes[n].boots;
        let mut node = Node::new(NodeOptions {
            name: self.nodes[n].name.to_string(),
            config: self.nodes[n].config.clone(),
            seed: self.node_seed(n, boot),
            now_ms: self.now_ms(),
        });
        node.set_process_id(sim_process_id(n, boot));
        // New sockets for a new process: no id of the old one is reused.
        node.continue_connection_ids(&self.nodes[n].node);
        if let Some((host, port)) = self.nodes[n].replicaof.clone() {
            node.configure_replicaof(host, port);
        }
        if rdb {
            if let Some(bytes) = self.nodes[n].disk.clone() {
                node.load_from_disk(&bytes)?;
            }
        }
        self.nodes[n].node = node;
        self.nodes[n].boots += 1;
        self.nodes[n].state = NodeState::Up;
        self.drain(n);
        Ok(())
    }

    /// SIGCONT: inputs that waited are delivered now, in order.
    pub fn resume(&mut self, n: usize) {
        if self.nodes[n].state != NodeState::Paused {
            return;
        }
        self.nodes[n].state = NodeState::Up;
        if self.nodes[n].asleep_until_us.is_some() {
            // Stopped within a DEBUG SLEEP: the sleep ends first (see `Sim::wake`).
            return;
        }
        // What waited in its sockets is handled now, before any overdue timer: Redis's event
        // loop processes the file events a poll returns, then the time events.
        for pending in std::mem::take(&mut self.nodes[n].held_inputs) {
            self.apply(pending);
        }
    }

    // ----- background clients -------------------------------------------------------------------

    fn workload_tick(&mut self) {
        let Some(mut w) = self.workload.take() else {
            return;
        };
        let key = self.rng.next_u64() % w.keys;
        // Random letters: a real dataset does not compress to nothing in the RDB.
        let value: String = (0..w.value_size.max(1))
            .map(|_| (b'a' + (self.rng.next_u32() % 26) as u8) as char)
            .collect();
        let mut bytes = Vec::new();
        encode_command(
            &[
                b"SET".to_vec(),
                format!("key:{key}").into_bytes(),
                value.into_bytes(),
            ],
            &mut bytes,
        );
        w.sent += 1;
        w.next_us += w.period_us;
        // A client whose node died reconnects (to the restarted process) on its next write.
        if self
            .clients
            .get(&w.client)
            .is_some_and(|c| c.conn.is_none())
        {
            let node = self.clients[&w.client].node;
            w.client = self.connect_client(node);
        }
        let client = w.client;
        self.workload = Some(w);
        self.send_raw(client, bytes);
        // Replies are not needed.
        if let Some(end) = self.clients.get_mut(&client) {
            end.replies.clear();
        }
    }

    fn reader_tick(&mut self, i: usize) {
        let (client, key) = {
            let r = &mut self.readers[i];
            r.next_us += r.period_us;
            (r.client, r.key.clone())
        };
        let client = if self.clients.get(&client).is_some_and(|c| c.conn.is_none()) {
            let node = self.readers[i].node;
            let c = self.connect_client(node);
            self.readers[i].client = c;
            c
        } else {
            client
        };
        let _ = self.send_line(client, &format!("GET {key}"));
    }

    /// Compares a reader's reply with what the master holds right now.
    fn check_reader_reply(&mut self, client: ClientId) {
        let Some(reader) = self.readers.iter().find(|r| r.client == client).cloned() else {
            return;
        };
        let replies = self.take_replies(client);
        let Some(Reply::Bulk(_) | Reply::Nil) = replies.last() else {
            return;
        };
        let replica_value = match replies.last() {
            Some(Reply::Bulk(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        self.compare_read(reader.node, &reader.key, replica_value);
    }

    /// A console's `GET key` answered on a replica is a read like a reader's: compared with
    /// what the master holds right now (a student catching a stale read by hand).
    fn check_console_read(&mut self, node: usize, typed: &console::Typed) {
        let args = split_args(typed.command.as_bytes()).unwrap_or_default();
        if args.len() != 2 || !args[0].eq_ignore_ascii_case(b"get") {
            return;
        }
        let value = match &typed.reply {
            Some(Reply::Bulk(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(Reply::Nil) => None,
            _ => return,
        };
        let key = String::from_utf8_lossy(&args[1]).into_owned();
        self.compare_read(node, &key, value);
    }

    /// Records a stale read if `node` (a replica) answered `replica_value` for `key` while
    /// the top of its replication chain holds another value.
    fn compare_read(&mut self, node: usize, key: &str, replica_value: Option<String>) {
        // The top of the replication chain holds the freshest value.
        let mut top = node;
        for _ in 0..self.nodes.len() {
            let Some((host, _)) = self.nodes[top].node.master_addr() else {
                break;
            };
            match self.index_of(host) {
                Some(m) => top = m,
                None => break,
            }
        }
        if top == node {
            return;
        }
        let master_value = self.nodes[top].node.keyspace().dbs[0]
            .get(key.as_bytes())
            .and_then(|e| match &e.value {
                crate::engine::keyspace::Value::String(s) => {
                    Some(String::from_utf8_lossy(s).into_owned())
                }
                _ => None,
            });
        if master_value != replica_value {
            self.record(
                Some(node),
                SimEvent::StaleRead {
                    key: key.to_string(),
                    replica_value,
                    master_value,
                },
            );
        }
    }
}

/// What [`Sim::step_until`] runs next.
#[derive(Clone, Copy, Debug)]
enum Step {
    Queue,
    Timer(usize),
    /// A node's `DEBUG SLEEP` ends.
    Wake(usize),
    Workload,
    Reader(usize),
}

fn conn_number(conn: ConnId) -> u64 {
    match conn {
        ConnId::In(n) | ConnId::Out(n) => n,
    }
}

/// INFO's `process_id` of a simulated node: distinct per node and per restart, and the same
/// in every run.
fn sim_process_id(index: usize, boot: u64) -> u32 {
    (index as u32 + 1) * 1000 + boot as u32
}
