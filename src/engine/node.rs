//! A Redis node as a sans-IO state machine.
//!
//! The driver (the simulator, the native server, a test) owns connections and time. It feeds
//! the node [`Input`]s stamped with the current time in unix milliseconds, calls
//! [`Node::handle_timeout`] when [`Node::poll_timeout`]'s deadline passes, and after every call
//! drains [`Node::poll_output`] until it returns `None`. The node never reads a clock, opens a
//! socket, spawns a thread or draws from a global RNG: the same inputs give the same outputs
//! on every platform.
//!
//! This file holds connection plumbing, clients and command dispatch (`processCommand` and
//! `call` in server.c). Replication lives in `master.rs` (the master side), `replica.rs` (the
//! link to our own master) and `heartbeat.rs` (the periodic duties of `replicationCron`).

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::argv::Argv;
use super::backlog::{Backlog, Page, PagePool};
use super::blocked::{Blocked, KeyBlock};
use super::command_stats::{self, CommandStats};
use super::commands::{self, flags, ExecCtx, ExpireView, Handler, Propagated};
use super::config::{Config, ConfigError};
use super::config_rewrite::ConfigLine;
use super::event::{Event, LogLevel};
use super::keyspace::{DbPool, Keyspace};
use super::master::{MasterState, RdbFilter, ReplicaLink};
use super::maxmemory::{self, MemoryMeter};
use super::outbox::Outbox;
use super::persistence::{self, Persistence};
use super::replica::ReplicaSide;
use super::replica_expire::ReplicaKeysWithExpire;
use super::resp::{Reply, RequestParser};
use super::shutdown::{ShutdownSignal, ShutdownState};
use super::watch::Watches;

/// A connection, named by who opened it: inbound ones get their number from the driver,
/// outbound ones (to our master) from the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConnId {
    In(u64),
    Out(u64),
}

/// Where a peer connects from (shown in INFO and ROLE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddr {
    pub ip: String,
    pub port: u16,
}

/// What the driver tells the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A client connected to us.
    Accepted { conn: ConnId, peer: PeerAddr },
    /// Our outbound connection (see [`Output::Connect`]) is established.
    Connected { conn: ConnId },
    /// Bytes arrived on a connection.
    Data { conn: ConnId, bytes: Vec<u8> },
    /// The connection was closed or reset by the peer, or could not be established.
    Closed { conn: ConnId },
    /// How many bytes the node sent on `conn` still wait to be taken by its socket (a slow
    /// link). Redis writes to sockets itself and knows this; the engine needs it for
    /// `client-output-buffer-limit` (applied to what could not be written yet) and to know
    /// when a full sync's RDB has been written out (only then is the replica online). The
    /// driver reports the level when bytes it was just handed stay queued, before polling
    /// the node again, and again as the socket takes them, at least once a second and when
    /// the queue empties. Bytes never reported as queued count as taken at once, so drivers
    /// whose sockets always drain may never send it.
    SendQueue { conn: ConnId, queued: usize },
    /// The driver stored the oldest [`Output::SaveRdb`] not yet answered (`ok`), or could
    /// not. Every `SaveRdb` gets one, in order: SAVE answers only then.
    SaveDone { ok: bool },
    /// A [`SyncFile`] operation on `name` could not be done; `error` is the C library's
    /// `strerror` text ("No space left on device"). The node logs what Redis logs and
    /// cancels the sync as Redis does (the temporary file goes, the master is dialled again).
    SyncFileFailed {
        name: String,
        step: SyncFileStep,
        error: String,
    },
    /// The driver now listens on the port of the oldest [`Output::Listen`] not yet answered
    /// (`ok`), or could not (and still listens where it did).
    Listening { ok: bool },
    /// The oldest [`Output::RewriteConfig`] not yet answered was written (`None`) or not
    /// (the reason, as `strerror` words it).
    RewriteDone { error: Option<String> },
    /// The process received SIGTERM or SIGINT: the node shuts down as Redis does.
    Signal(ShutdownSignal),
    /// The driver started a process, `pid`, standing in for the snapshot child of the last
    /// [`Output::Fork`] (logged as Redis logs its fork).
    Forked { pid: u32 },
    /// That process died of `signal` (`None`: it exited with an error) before an
    /// [`Output::ChildDone`] ended it: the snapshot is lost, as when the OOM killer takes
    /// Redis's fork child.
    ChildDied { signal: Option<u32> },
}

/// What the node asks of the driver.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Send {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    /// Open a TCP connection to `host:port`; answer with `Connected` or `Closed` for `conn`.
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
    /// Close the connection (after sending what was queued before).
    Close {
        conn: ConnId,
    },
    /// Drop the connection now, discarding whatever the socket has not transmitted yet.
    Abort {
        conn: ConnId,
    },
    /// Store this RDB file as the node's `dir/dbfilename` (SAVE, BGSAVE, a save point).
    SaveRdb {
        bytes: Vec<u8>,
    },
    /// The file a replica with `repl-diskless-load disabled` receives its master's RDB into,
    /// written as the payload arrives (see [`SyncFile`]). Nothing answers it.
    SyncFile(SyncFile),
    /// Listen on `port` instead (`CONFIG SET port`); answer with [`Input::Listening`].
    Listen {
        port: u16,
    },
    /// Merge these lines into the configuration file (`CONFIG REWRITE`); answer with
    /// [`Input::RewriteDone`].
    RewriteConfig {
        lines: Vec<ConfigLine>,
    },
    /// The node shut down (SHUTDOWN, or a signal): deliver what was queued before, if it
    /// can, and end the process.
    Exit,
    /// Stop serving for `micros` microseconds (`DEBUG SLEEP`): Redis sleeps in its only
    /// thread, so no client and no replica is read from or written to meanwhile. Hand the
    /// node nothing (no input, no timeout) until then, and take the outputs after this one
    /// (the sleeping command's reply among them) only then.
    Pause {
        micros: u64,
    },
    /// A snapshot child starts (a BGSAVE for replication). Redis forks; a driver that runs
    /// processes may start one that lives as long as the child, so that `ps`, `kill` and the
    /// death of the parent behave as with Redis, and answer with [`Input::Forked`]. The
    /// engine itself needs nothing of it.
    Fork,
    /// The snapshot child is over (done, or killed by the node): end its stand-in.
    ChildDone,
    Event(Event),
}

/// What to do with the file a full sync's payload goes to on disk (`readSyncBulkPayload`).
/// Names are relative to the node's `dir`. Redis creates `temp-<unixtime>.<pid>.rdb` when
/// the master accepts a full sync, appends the payload to it as it arrives, renames it over
/// `dbfilename` once complete and then loads it; a transfer that fails or is cut unlinks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncFile {
    /// Create `name`, empty; it must not exist yet (`O_CREAT|O_EXCL`, mode 0644).
    Create { name: String },
    /// Append payload bytes to `name` (never the end mark of a diskless master).
    Append { name: String, bytes: Vec<u8> },
    /// The payload is complete: sync `name` to disk and rename it over `to`.
    Install { name: String, to: String },
    /// Unlink `name`: the temporary file of a transfer that failed, or the installed file
    /// of a replica that keeps none (`rdb-del-sync-files`).
    Remove { name: String },
}

/// Which part of a [`SyncFile`] operation failed: each is logged as Redis logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncFileStep {
    /// `open` of the temporary file ([`SyncFile::Create`]), after Redis's five tries.
    Open,
    /// `write` of a chunk ([`SyncFile::Append`]).
    Write,
    /// `fsync` of the complete temporary file ([`SyncFile::Install`]).
    Fsync,
    /// `rename` of the temporary file over `dbfilename` ([`SyncFile::Install`]).
    Rename,
    /// `fsync` of the directory after the rename ([`SyncFile::Install`]).
    FsyncDir,
}

/// One attached replica as its master sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaView {
    pub ip: String,
    pub port: u16,
    pub state: super::event::ReplicaState,
    pub ack_offset: i64,
    pub lag_s: u64,
    /// Bytes waiting for this replica (`client-output-buffer-limit` counts these).
    pub output_buffer: usize,
}

/// What a pass over copies of nodes has met (backlog pages, databases), so that equal
/// ones become one in memory: see [`Node::detach_for_copy`].
#[derive(Default)]
pub struct SharePool {
    pages: PagePool,
    dbs: DbPool,
}

/// Static facts about a node, given at creation.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// A display name for logs and the UI (`m`, `r1`…).
    pub name: String,
    pub config: Config,
    /// Seed of the node's only randomness (replids, EOF marks, RANDOMKEY, SPOP…).
    pub seed: u64,
    /// Creation time, unix ms.
    pub now_ms: u64,
}

/// A MULTI in progress.
#[derive(Clone, Debug, Default)]
pub(crate) struct MultiState {
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was rejected while queuing: EXEC answers EXECABORT.
    pub dirty_exec: bool,
}

/// A client blocked in WAIT.
#[derive(Clone, Debug)]
pub(crate) struct WaitBlock {
    pub numreplicas: i64,
    pub offset: i64,
    /// Unix ms; `None` waits forever.
    pub deadline_ms: Option<u64>,
}

/// One connected client (`client` in server.h), including replicas attached to us.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub id: u64,
    /// CLIENT SETNAME.
    pub name: Option<Vec<u8>>,
    pub peer: PeerAddr,
    pub parser: RequestParser,
    pub db: usize,
    pub multi: Option<MultiState>,
    pub authenticated: bool,
    /// Unix seconds it connected (`ctime`).
    pub created_s: u64,
    /// The last command it sent that exists (`lastcmd`): name and subcommand.
    pub last_cmd: Option<(&'static str, Option<&'static str>)>,
    /// Unix seconds of the last byte received (`lastinteraction`).
    pub last_interaction_s: u64,
    /// Master offset after this client's last propagated write (for WAIT).
    pub woff: i64,
    pub wait: Option<WaitBlock>,
    /// Blocked on keys (BLPOP, BZPOPMIN…).
    pub key_block: Option<KeyBlock>,
    /// Set once the client ran SYNC/PSYNC, with everything replication needs to know.
    pub replica: Option<ReplicaLink>,
    /// REPLCONF data sent before SYNC.
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// `REPLCONF rdb-only 1` (`CLIENT_REPL_RDBONLY`): a full sync sends this replica the RDB
    /// only, never the stream, and closes the connection once the RDB is written.
    pub rdb_only: bool,
    /// `REPLCONF rdb-filter-only` (`slave_req`): what its full sync's RDB leaves out.
    pub rdb_filter: RdbFilter,
    /// Bytes handed to the connection so far, and how many of them its socket had not taken
    /// at the driver's last [`Input::SendQueue`] report.
    pub sent: u64,
    pub queued: usize,
    /// When its output first stayed over the normal class's soft limit.
    pub soft_since_s: Option<u64>,
    /// A write held while writes are paused (`BLOCKED_POSTPONE`), run when they resume.
    pub postponed: Option<Vec<Vec<u8>>>,
    /// `CLIENT_CLOSE_AFTER_REPLY`: it killed itself (`CLIENT KILL`); closed once answered.
    pub close_after_reply: bool,
    /// SAVE or `CONFIG SET port` waits for the driver to say how the file or the listener went.
    pub awaiting_driver: bool,
}

impl Client {
    /// Blocked (WAIT, BLPOP and co., SAVE): its further commands wait, and it is never
    /// idle-closed.
    pub(crate) fn is_blocked(&self) -> bool {
        self.wait.is_some()
            || self.key_block.is_some()
            || self.awaiting_driver
            || self.postponed.is_some()
    }
}

/// Counters shown by INFO stats.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    /// Connections turned away by `maxclients` or protected mode.
    pub rejected_connections: u64,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub expired_keys: u64,
}

/// The node. Fields are shared with the replication modules of this crate. Cloning a node
/// is how the simulator takes checkpoints for time travel.
#[derive(Clone)]
pub struct Node {
    pub(crate) name: String,
    /// INFO's `run_id`: random per process start, unlike the replid.
    pub(crate) run_id: String,
    /// True while EXEC runs its queue (WAIT must not block inside a transaction).
    pub(crate) in_exec: bool,
    pub(crate) cfg: Config,
    pub(crate) now_ms: u64,
    pub(crate) started_ms: u64,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) keyspace: Keyspace,
    pub(crate) clients: BTreeMap<ConnId, Client>,
    pub(crate) next_client_id: u64,
    pub(crate) next_out_conn: u64,
    pub(crate) out: Outbox,
    pub(crate) stats: Stats,
    pub(crate) master: MasterState,
    pub(crate) replica: ReplicaSide,
    /// Next `serverCron` run (every 100 ms, hz 10), and how many ran.
    pub(crate) next_cron_ms: u64,
    pub(crate) cron_loops: u64,
    /// `replicationCron` calls so far (drives the PING period).
    pub(crate) repl_cron_loops: u64,
    /// Changes since the last save (`server.dirty`), for the save points.
    pub(crate) dirty: u64,
    /// Snapshots being written and how the last ones went.
    pub(crate) persistence: Persistence,
    /// `CONFIG SET port` commands waiting for the driver, oldest first: who to answer and
    /// the settings to restore if it cannot listen there.
    pub(crate) pending_listen: VecDeque<(Option<ConnId>, Config)>,
    /// The largest `maxclients` the driver can give descriptors to (`None`: no such limit).
    pub(crate) maxclients_ceiling: Option<u64>,
    /// The `used_memory` estimate behind `maxmemory`.
    pub(crate) memory: MemoryMeter,
    /// Started from a configuration file (`CONFIG REWRITE` has somewhere to write).
    pub(crate) config_file: bool,
    /// CONFIG REWRITE clients waiting for the driver, oldest first.
    pub(crate) rewriting: VecDeque<ConnId>,
    /// A shutdown in progress (SHUTDOWN, SIGTERM).
    pub(crate) shutdown: ShutdownState,
    /// INFO's commandstats.
    pub(crate) command_stats: CommandStats,
    /// INFO's `process_id`: the driver's process (the simulator numbers its nodes).
    pub(crate) process_id: u32,
    /// The status the process ends with once [`Output::Exit`] is out: 1 after a fatal
    /// error (Redis's `exit(1)`), 0 after SHUTDOWN.
    exit_status: i32,
    /// Keys a writable replica's clients gave an expire (deleted by the replica itself).
    pub(crate) replica_expires: ReplicaKeysWithExpire,
    /// `active_expire_enabled` (`DEBUG SET-ACTIVE-EXPIRE`): whether serverCron expires keys.
    pub(crate) active_expire: bool,
    /// When the software watchdog's one-shot timer expires, if armed (`watchdog.rs`).
    pub(crate) watchdog_due_ms: Option<u64>,
    /// Clients blocked on keys, and keys ready to serve them.
    pub(crate) blocked: Blocked,
    /// The keys clients WATCH, and which clients are `CLIENT_DIRTY_CAS`.
    pub(crate) watches: Watches,
}

/// Seconds a client idles before its query buffer is trimmed (`clientsCronResizeQueryBuffer`).
const QUERYBUF_IDLE_S: u64 = 2;

/// The id of a node's first client: Redis 7.0 gives ids 1 and 2 to its Lua clients at
/// startup.
const FIRST_CLIENT_ID: u64 = 3;

/// Milliseconds between `serverCron` runs (`hz 10`).
pub(crate) const CRON_PERIOD_MS: u64 = 100;

impl Node {
    /// Roughly the memory this node holds, for the simulator's budgets: backlog pages go
    /// to `shared` as (address, bytes), since copies of a node and nodes holding the same
    /// stream share them; everything else is returned. Walks every key: call it rarely.
    pub fn memory(&self, shared: &mut dyn FnMut(usize, usize)) -> usize {
        let clients: usize = self
            .clients
            .values()
            .map(|c| {
                std::mem::size_of::<Client>()
                    + c.parser.buffer_bytes()
                    + c.replica.as_ref().map_or(0, |r| r.pending.capacity())
            })
            .sum();
        let backlog = self.master.backlog.as_ref().map_or(0, |b| b.memory(shared));
        let child = self.master.child.as_ref().map_or(0, |c| c.rdb.capacity());
        self.keyspace.memory(shared);
        std::mem::size_of::<Node>()
            + clients
            + backlog
            + child
            + self.master.encode_buf.capacity()
            + self.replica.buffer_bytes()
            + self.out.queued_bytes()
            + self.replica_expires.memory()
    }

    /// Prepares a copy kept aside (a checkpoint): its backlog gets its own copy of the
    /// page still growing ([`Backlog::detach_tail`]), and its page and databases become
    /// the ones in `pool` where they are equal, so the copies of nodes in step share them.
    pub fn detach_for_copy(&mut self, pool: &mut SharePool) {
        if let Some(b) = self.master.backlog.as_mut() {
            b.detach_tail(&mut pool.pages);
        }
        self.keyspace.share_dbs(&mut pool.dbs);
    }

    /// The ring backlog's pages, taken out of a copy kept aside (see
    /// [`Backlog::take_pages`]); the copy must get them back before it runs.
    pub fn take_backlog_pages(&mut self) -> Option<VecDeque<Arc<Page>>> {
        self.master.backlog.as_mut().and_then(Backlog::take_pages)
    }

    /// Gives back what [`Node::take_backlog_pages`] took.
    pub fn put_backlog_pages(&mut self, pages: VecDeque<Arc<Page>>) {
        if let Some(b) = self.master.backlog.as_mut() {
            b.put_pages(pages);
        }
    }

    /// Lets the backlog share its full pages with equal ones met in `pool` (a master's and
    /// its replicas' hold the same stream), so that a simulation and its copies hold one.
    pub fn share_backlog_pages(&mut self, pool: &mut super::backlog::PagePool) {
        if let Some(b) = self.master.backlog.as_mut() {
            b.share_pages(pool);
        }
    }

    /// A fresh master with an empty dataset and a random replid drawn from `seed`.
    pub fn new(opts: NodeOptions) -> Node {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let run_id = random_hex(&mut rng, 40);
        let replid = random_hex(&mut rng, 40);
        Node {
            name: opts.name,
            run_id,
            in_exec: false,
            master: MasterState::new(replid, opts.now_ms / 1000),
            replica: ReplicaSide::default(),
            cfg: opts.config,
            now_ms: opts.now_ms,
            started_ms: opts.now_ms,
            rng,
            keyspace: Keyspace::default(),
            clients: BTreeMap::new(),
            // Ids 1 and 2 went to Redis 7.0's two Lua clients (EVAL's and FUNCTION's),
            // created at startup: the first connection is client 3.
            next_client_id: FIRST_CLIENT_ID,
            next_out_conn: 1,
            out: Outbox::default(),
            stats: Stats::default(),
            // The first serverCron runs 1 ms after start, as aeCreateTimeEvent(…, 1, serverCron…).
            next_cron_ms: opts.now_ms + 1,
            cron_loops: 0,
            repl_cron_loops: 0,
            dirty: 0,
            persistence: Persistence::new(opts.now_ms / 1000),
            pending_listen: VecDeque::new(),
            maxclients_ceiling: None,
            memory: MemoryMeter::default(),
            replica_expires: ReplicaKeysWithExpire::default(),
            process_id: 0,
            exit_status: 0,
            command_stats: CommandStats::default(),
            shutdown: ShutdownState::default(),
            config_file: false,
            rewriting: VecDeque::new(),
            active_expire: true,
            watchdog_due_ms: None,
            blocked: Blocked::default(),
            watches: Watches::default(),
        }
    }

    // ----- the sans-IO interface -------------------------------------------------------------

    /// Feeds one input at time `now_ms` (unix ms; must not go backwards).
    pub fn handle(&mut self, now_ms: u64, input: Input) {
        self.advance_clock(now_ms);
        match input {
            Input::Accepted { conn, peer } => self.accept(conn, peer),
            Input::Connected { conn } => self.replica_connected(conn),
            Input::Data { conn, bytes } => {
                if self.replica.link_conn() == Some(conn) {
                    self.replica_data(conn, &bytes);
                } else {
                    self.client_data(conn, &bytes);
                }
            }
            Input::Closed { conn } => self.connection_closed(conn),
            Input::SendQueue { conn, queued } => self.send_queue_level(conn, queued),
            Input::SaveDone { ok } => self.save_done(ok),
            Input::SyncFileFailed { name, step, error } => {
                self.sync_file_failed(&name, step, &error)
            }
            Input::Signal(signal) => self.shutdown_signal(signal),
            Input::RewriteDone { error } => self.config_rewritten(error),
            Input::Listening { ok } => self.listening(ok),
            Input::Forked { pid } => self.child_forked(pid),
            Input::ChildDied { signal } => self.child_died(signal),
        }
        self.before_sleep();
    }

    /// Runs whatever timers are due at `now_ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance_clock(now_ms);
        // A signal: delivered whatever the main thread is doing.
        self.check_watchdog();
        if let Some(until) = self.slow_load_until_ms() {
            // A blocking load runs no timer (processEventsWhileBlocked: file events only).
            if until > self.now_ms {
                return;
            }
            self.finish_slow_load();
        }
        if self.next_cron_ms <= self.now_ms {
            // Like an ae time event: a late cron runs once and is rescheduled from its
            // planned time, or from now when it fell behind (after a pause).
            self.server_cron();
            self.next_cron_ms += CRON_PERIOD_MS;
            if self.next_cron_ms <= self.now_ms {
                self.next_cron_ms = self.now_ms + CRON_PERIOD_MS;
            }
        }
        self.master_timers();
        self.persistence_timers();
        self.expire_waits();
        self.expire_key_blocks();
        self.before_sleep();
    }

    /// The next instant at which `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> u64 {
        let watchdog = self.watchdog_due_ms().unwrap_or(u64::MAX);
        if let Some(until) = self.slow_load_until_ms() {
            return until.min(watchdog);
        }
        let mut t = self.next_cron_ms.min(watchdog);
        if let Some(due) = self.master_due_ms() {
            t = t.min(due);
        }
        if let Some(due) = self.persistence_due_ms() {
            t = t.min(due);
        }
        for c in self.clients.values() {
            if let Some(deadline) = c.wait.as_ref().and_then(|w| w.deadline_ms) {
                t = t.min(deadline);
            }
        }
        if let Some(due) = self.key_block_due_ms() {
            t = t.min(due);
        }
        t
    }

    /// The next thing for the driver to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    // ----- read-only views for the UI, the simulator and tests --------------------------------

    /// The display name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes this node number its outbound connections after `previous`'s, as a restarted
    /// process gets new socket ids: nothing addressed to the old process reaches the new one.
    pub fn continue_connection_ids(&mut self, previous: &Node) {
        self.next_out_conn = self.next_out_conn.max(previous.next_out_conn);
    }

    /// Tells the node the largest `maxclients` the process can have descriptors for (the
    /// native server's open files limit): `CONFIG SET maxclients` refuses more.
    /// Says the node was started from a configuration file (`CONFIG REWRITE` works).
    pub fn set_config_file(&mut self, present: bool) {
        self.config_file = present;
    }

    /// The status the process exits with after [`Output::Exit`].
    pub fn exit_status(&self) -> i32 {
        self.exit_status
    }

    /// A fatal error (Redis's `exit(1)`): the process ends now, nothing flushed, no file
    /// removed. The simulator stops the node as if it had died.
    pub(crate) fn crash_exit(&mut self) {
        self.exit_status = 1;
        self.out.push(Output::Exit);
    }

    /// Sets INFO's `process_id`.
    pub fn set_process_id(&mut self, pid: u32) {
        self.process_id = pid;
    }

    pub fn set_maxclients_ceiling(&mut self, ceiling: u64) {
        self.maxclients_ceiling = Some(ceiling);
    }

    /// True if the client on `conn` is blocked on keys (BLPOP, BZPOPMIN…).
    pub fn blocked_on_keys(&self, conn: ConnId) -> bool {
        self.clients
            .get(&conn)
            .is_some_and(|c| c.key_block.is_some())
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn replid(&self) -> &str {
        &self.master.replid
    }

    pub fn replid2(&self) -> &str {
        &self.master.replid2
    }

    pub fn second_replid_offset(&self) -> i64 {
        self.master.second_replid_offset
    }

    pub fn master_repl_offset(&self) -> i64 {
        self.master.repl_offset
    }

    pub fn backlog(&self) -> Option<&Backlog> {
        self.master.backlog.as_ref()
    }

    /// `Some((host, port))` when this node is a replica.
    pub fn master_addr(&self) -> Option<(&str, u16)> {
        self.replica.master_addr()
    }

    /// Seconds since the master last sent anything (`master_last_io_seconds_ago`), while
    /// connected: the UI counts it up towards `repl-timeout`.
    pub fn master_idle_s(&self) -> Option<u64> {
        let client = self.replica.link.as_ref()?.client.as_ref()?;
        Some(self.now_s().saturating_sub(client.last_interaction_s))
    }

    /// `(total, read)` bytes of the RDB being received (total -1 before the header, 0 for a
    /// diskless payload of unknown size).
    pub fn sync_progress(&self) -> Option<(i64, i64)> {
        (self.replica.state() == super::event::LinkState::Transfer)
            .then(|| self.replica.transfer_progress())
    }

    /// The state of the link to our master (`None` on a master).
    pub fn link_state(&self) -> super::event::LinkState {
        self.replica.state()
    }

    /// The replicas attached to this node, as the master sees them (INFO's `slaveN` lines).
    pub fn replicas(&self) -> Vec<ReplicaView> {
        let now_s = self.now_s();
        self.master
            .replicas
            .iter()
            .filter_map(|conn| {
                let c = self.clients.get(conn)?;
                let link = c.replica.as_ref()?;
                Some(ReplicaView {
                    ip: c.announced_ip.clone().unwrap_or_else(|| c.peer.ip.clone()),
                    port: c.listening_port,
                    state: link.state,
                    ack_offset: link.ack_off,
                    lag_s: if link.state == super::event::ReplicaState::Online {
                        now_s.saturating_sub(link.ack_time_s)
                    } else {
                        0
                    },
                    output_buffer: c.output_buffer(),
                })
            })
            .collect()
    }

    /// The full INFO text for `section` (`None` = default sections).
    pub fn info(&self, section: Option<&str>) -> String {
        super::info::render(self, section)
    }

    // ----- internals shared with the replication modules --------------------------------------

    pub(crate) fn now_s(&self) -> u64 {
        self.now_ms / 1000
    }

    fn advance_clock(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Queues bytes for `conn` (joined with its earlier bytes, see `Outbox`): owned bytes
    /// (a reply, an RDB) or borrowed ones (the stream, fed to every replica) alike.
    pub(crate) fn send<'a>(&mut self, conn: ConnId, bytes: impl Into<Cow<'a, [u8]>>) {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return;
        }
        self.count_sent(conn, bytes.len());
        self.out.send(conn, bytes);
    }

    /// Encodes `reply` straight into `conn`'s queued output. A replica's link carries no
    /// replies: one that made us reply (it sent PING, GET… after SYNC) is disconnected, as
    /// Redis's `_addReplyToBufferOrList` does.
    pub(crate) fn reply(&mut self, conn: ConnId, reply: &Reply) {
        if self.clients.get(&conn).is_some_and(|c| c.replica.is_some()) {
            return self.replica_replied(conn, reply);
        }
        let out = self.out.buffer(conn);
        let before = out.len();
        reply.encode_into(out);
        let len = out.len() - before;
        self.count_sent(conn, len);
    }

    /// `logInvalidUseAndFreeClientAsync`, then `afterErrorReply`'s warning for an error.
    fn replica_replied(&mut self, conn: ConnId, reply: &Reply) {
        let name = self
            .clients
            .get(&conn)
            .and_then(|c| super::clients::full_name(c.last_cmd))
            .unwrap_or_else(|| "<unknown>".into());
        let info = self.client_info(conn);
        self.log(
            LogLevel::Warning,
            format!("Replica generated a reply to command '{name}', disconnecting it: {info}"),
        );
        if let Reply::Error(e) = reply {
            let e = e.strip_prefix("ERR ").unwrap_or(e);
            self.log(
                LogLevel::Warning,
                format!("== CRITICAL == This master is sending an error to its replica: '{e}' after processing the command '{name}'"),
            );
        }
        // Redis writes `+FULLRESYNC`/`+CONTINUE` to the socket at once, so the replica has
        // them before the close; here they may still be queued: close after them.
        self.close(conn);
    }

    /// Records the command a client sent last (`c->lastcmd`).
    fn set_last_cmd(&mut self, conn: ConnId, cmd: Option<(&'static str, Option<&'static str>)>) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.last_cmd = cmd;
        }
    }

    /// Bytes handed to `conn` so far (`Client::sent`).
    fn count_sent(&mut self, conn: ConnId, len: usize) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.sent += len as u64;
        }
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.out.push(Output::Event(event));
    }

    /// A log line in Redis's words.
    pub(crate) fn log(&mut self, level: LogLevel, text: impl Into<String>) {
        self.emit(Event::Log {
            level,
            text: text.into(),
            signal_handler: false,
        });
    }

    /// A line a signal handler of Redis logs (`serverLogFromHandler`).
    pub(crate) fn log_from_handler(&mut self, level: LogLevel, text: impl Into<String>) {
        self.emit(Event::Log {
            level,
            text: text.into(),
            signal_handler: true,
        });
    }

    pub(crate) fn random_hex(&mut self, len: usize) -> String {
        random_hex(&mut self.rng, len)
    }

    /// The next client id (`server.next_client_id`), shared by clients, replicas and the
    /// master client.
    pub(crate) fn new_client_id(&mut self) -> u64 {
        let id = self.next_client_id;
        self.next_client_id += 1;
        id
    }

    pub(crate) fn new_out_conn(&mut self) -> ConnId {
        let id = ConnId::Out(self.next_out_conn);
        self.next_out_conn += 1;
        id
    }

    /// Closes a connection after what was already sent (QUIT, a protocol error reply), and
    /// forgets its client.
    pub(crate) fn close(&mut self, conn: ConnId) {
        self.forget_client(conn);
        self.out.push(Output::Close { conn });
    }

    /// `freeClient`: drops a client at once; output it has not written yet is discarded.
    pub(crate) fn abort(&mut self, conn: ConnId) {
        self.forget_client(conn);
        self.out.discard(conn);
        self.out.push(Output::Abort { conn });
    }

    fn accept(&mut self, conn: ConnId, peer: PeerAddr) {
        if let Some(refusal) = self.refusal(&peer) {
            self.stats.rejected_connections += 1;
            self.send(conn, refusal);
            self.out.push(Output::Close { conn });
            return;
        }
        let id = self.new_client_id();
        self.stats.total_connections_received += 1;
        let authenticated = self.cfg.requirepass.is_none();
        self.clients.insert(
            conn,
            Client {
                id,
                name: None,
                peer,
                parser: {
                    let mut p = RequestParser::new();
                    p.set_max_bulk_len(self.cfg.proto_max_bulk_len);
                    p
                },
                db: 0,
                multi: None,
                authenticated,
                created_s: self.now_ms / 1000,
                last_cmd: None,
                last_interaction_s: self.now_ms / 1000,
                woff: 0,
                wait: None,
                key_block: None,
                replica: None,
                listening_port: 0,
                announced_ip: None,
                capa_eof: false,
                capa_psync2: false,
                rdb_only: false,
                rdb_filter: RdbFilter::default(),
                sent: 0,
                queued: 0,
                soft_since_s: None,
                awaiting_driver: false,
                close_after_reply: false,
                postponed: None,
            },
        );
    }

    fn connection_closed(&mut self, conn: ConnId) {
        if self.replica.link_conn() == Some(conn) {
            if self.replica.state() == super::event::LinkState::Connecting {
                // The connect itself failed (syncWithMaster called on a socket in error).
                self.replica_connect_failed("Connection refused");
            } else if !self.diskless_load_interrupted("Connection reset by peer") {
                self.replica_link_lost("Connection with master lost.");
            }
        } else {
            self.forget_client(conn);
        }
    }

    /// `freeClient` for a normal client or an attached replica.
    fn forget_client(&mut self, conn: ConnId) {
        self.watches.forget(conn);
        if let Some(client) = self.clients.remove(&conn) {
            if let Some(block) = &client.key_block {
                self.forget_key_block(conn, block);
            }
            if client.replica.is_some() {
                self.replica_detached(conn, client);
            }
        }
    }

    fn client_data(&mut self, conn: ConnId, bytes: &[u8]) {
        let now_s = self.now_s();
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        client.last_interaction_s = now_s;
        client.parser.feed(bytes);
        let sent_before = client.sent;
        if self.query_buffer_over_limit(conn) {
            return;
        }
        loop {
            let auth_required = self.auth_required(conn);
            let Some(client) = self.clients.get_mut(&conn) else {
                return;
            };
            // Replies of this batch not yet handed to the driver, and what the socket holds.
            let unwritten = client.queued + (client.sent - sent_before) as usize;
            // A blocked client (WAIT, SAVE) does not run further commands until unblocked.
            if client.is_blocked() || self.output_over_limit(conn, unwritten) {
                return;
            }
            let Some(client) = self.clients.get_mut(&conn) else {
                return;
            };
            client.parser.set_unauthenticated(auth_required);
            match client.parser.next_request() {
                Ok(Some(req)) => {
                    if req.argv.is_empty() {
                        // An empty line from a replica refreshes its ack time (processInlineBuffer).
                        if let Some(link) = client.replica.as_mut() {
                            link.ack_time_s = now_s;
                        }
                        continue;
                    }
                    // Replicas only talk REPLCONF to us; anything else is dropped like Redis does.
                    self.process_command(conn, req.argv);
                }
                Ok(None) => return,
                Err(err) => {
                    let reply = err.reply();
                    let id = client.id;
                    self.log(
                        LogLevel::Verbose,
                        format!("Protocol error ({}) from client: id={id}", err.0),
                    );
                    self.reply(conn, &reply);
                    self.close(conn);
                    return;
                }
            }
        }
    }

    /// `processCommand`: the checks in Redis's order, then MULTI queuing or execution.
    pub(crate) fn process_command(&mut self, conn: ConnId, argv: Vec<Vec<u8>>) {
        if argv[0].eq_ignore_ascii_case(b"quit") {
            self.set_last_cmd(conn, Some(("quit", None)));
            self.reply(conn, &Reply::ok());
            self.close(conn);
            return;
        }
        let Some(spec) = commands::lookup(&argv[0]) else {
            self.set_last_cmd(conn, None);
            return self.reject(conn, &argv, commands::unknown_command(&argv));
        };
        // `lookupCommand`: a container with a subcommand resolves to the subcommand (or to
        // nothing), which is the command `lastcmd` names from then on, arity errors included.
        let checked = match argv.get(1).filter(|_| !spec.subcommands.is_empty()) {
            None => spec,
            Some(sub) => match commands::lookup_subcommand(spec, sub) {
                Some(sub) => sub,
                None => {
                    self.set_last_cmd(conn, None);
                    return self.reject(conn, &argv, commands::unknown_subcommand(&argv));
                }
            },
        };
        let sub_name = (!std::ptr::eq(checked, spec)).then_some(checked.name);
        self.set_last_cmd(conn, Some((spec.name, sub_name)));
        if !checked.arity_ok(argv.len()) {
            let name = match sub_name {
                Some(sub) => format!("{}|{sub}", spec.name),
                None => spec.name.to_string(),
            };
            return self.reject(conn, &argv, commands::wrong_arity(&name));
        }
        if spec.name == "debug" && !self.debug_allowed(conn) {
            return self.reject(conn, &argv, super::debug::refusal());
        }
        if self.auth_required(conn) && spec.name != "auth" {
            return self.reject(conn, &argv, Reply::error("NOAUTH Authentication required."));
        }
        if self.refused_for_memory(conn, spec) {
            return self.reject(conn, &argv, Reply::error(maxmemory::OOM));
        }
        let Some(client) = self.clients.get(&conn) else {
            return;
        };
        let in_multi = client.multi.is_some();
        let is_write = spec.is_write()
            || (spec.name == "exec"
                && client
                    .multi
                    .as_ref()
                    .is_some_and(|m| m.queued.iter().any(|a| is_write_argv(a))));
        if (is_write || spec.name == "ping") && self.writes_denied_by_disk_error() {
            return self.reject(conn, &argv, Reply::error(persistence::MISCONF));
        }
        if is_write && !self.enough_good_replicas() {
            return self.reject(
                conn,
                &argv,
                Reply::error("NOREPLICAS Not enough good replicas to write."),
            );
        }
        if self.replica.is_replica() && self.cfg.replica_read_only && is_write {
            return self.reject(
                conn,
                &argv,
                Reply::error("READONLY You can't write against a read only replica."),
            );
        }
        if self.replica.is_replica()
            && !self.replica.is_connected()
            && !self.cfg.replica_serve_stale_data
            && checked.flags & flags::STALE == 0
        {
            return self.reject(conn, &argv,
                Reply::error(
                    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                ),
            );
        }
        let (loading, async_loading) = self.loading_state();
        if (loading && checked.flags & flags::LOADING == 0)
            || (async_loading && checked.flags & flags::NO_ASYNC_LOADING != 0)
        {
            return self.reject(
                conn,
                &argv,
                Reply::error("LOADING Redis is loading the dataset in memory"),
            );
        }
        // A replica may not touch the keyspace on its replication link: the main aim is that
        // it cannot bypass a client pause, which replicas are exempt from.
        let touches_keys = checked.flags & (flags::READONLY | flags::MAY_REPLICATE) != 0
            || (spec.name == "exec"
                && self
                    .clients
                    .get(&conn)
                    .and_then(|c| c.multi.as_ref())
                    .is_some_and(|m| {
                        m.queued.iter().any(|a| {
                            commands::lookup(&a[0]).is_some_and(|s| s.flags & flags::READONLY != 0)
                        })
                    }));
        if (touches_keys || is_write)
            && self.clients.get(&conn).is_some_and(|c| c.replica.is_some())
        {
            return self.reject(
                conn,
                &argv,
                Reply::error("ERR Replica can't interact with the keyspace"),
            );
        }
        // A shutdown waiting for its replicas pauses writes (`CLIENT_PAUSE_WRITE`): the
        // command waits, and runs if the shutdown is aborted.
        if self.writes_paused()
            && (is_write || checked.flags & flags::MAY_REPLICATE != 0)
            && self.clients.get(&conn).is_some_and(|c| c.replica.is_none())
        {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.postponed = Some(argv);
            }
            return;
        }
        if in_multi && !["exec", "discard", "multi", "watch", "quit", "reset"].contains(&spec.name)
        {
            if spec.flags & flags::NO_MULTI != 0 {
                return self.reject(
                    conn,
                    &argv,
                    Reply::error("ERR Command not allowed inside a transaction"),
                );
            }
            // `queueMultiCommand`: a doomed transaction keeps nothing.
            let doomed = self.watches.is_dirty(conn);
            if let Some(multi) = self.clients.get_mut(&conn).and_then(|c| c.multi.as_mut()) {
                if !doomed && !multi.dirty_exec {
                    multi.queued.push(argv);
                }
            }
            return self.reply(conn, &Reply::Simple("QUEUED".into()));
        }
        self.call(conn, spec, argv);
    }

    /// The `Command` event of a command this node ran (or refused).
    pub(crate) fn emit_command(
        &mut self,
        conn: ConnId,
        argv: &[Vec<u8>],
        from_master: bool,
        reply: &Reply,
    ) {
        self.emit(Event::Command {
            conn,
            argv: Argv::new(argv),
            from_master,
            error: match reply {
                Reply::Error(e) => Some(e.clone()),
                _ => None,
            },
        });
    }

    /// `rejectCommand`: the error reply, and inside MULTI the transaction is doomed. A
    /// refused EXEC discards the transaction and says why (`execCommandAbort`), even
    /// outside MULTI.
    fn reject(&mut self, conn: ConnId, argv: &[Vec<u8>], reply: Reply) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        let reply = match reply {
            Reply::Error(why) if argv[0].eq_ignore_ascii_case(b"exec") => {
                client.multi = None;
                self.watches.forget(conn);
                // Errors Redis formats (arity, unknown subcommand) come without their code.
                let why = why.strip_prefix("ERR ").unwrap_or(&why);
                Reply::Error(format!("EXECABORT Transaction discarded because of: {why}"))
            }
            reply => {
                if let Some(multi) = client.multi.as_mut() {
                    multi.dirty_exec = true;
                }
                reply
            }
        };
        if let Some(name) = command_stats::name_of(argv) {
            self.command_stats.rejected(name);
        }
        self.emit_command(conn, argv, false, &reply);
        self.reply(conn, &reply);
    }

    /// `call`: runs one command (a whole EXEC counts as one execution unit) and propagates.
    fn call(&mut self, conn: ConnId, spec: &'static commands::CommandSpec, argv: Vec<Vec<u8>>) {
        let mut ops = Vec::new();
        let reply = match spec.handler {
            Handler::Data(_) => self.run_data(conn, spec, &argv, &mut ops),
            Handler::Node => match self.node_command(conn, spec.name, &argv, &mut ops) {
                Some(reply) => reply,
                None => return, // replied already (or blocked, or became a replica link)
            },
        };
        self.stats.total_commands_processed += 1;
        if let Some(name) = command_stats::name_of(&argv) {
            self.command_stats.called(name, reply.is_error());
        }
        self.emit_command(conn, &argv, false, &reply);
        if !ops.is_empty() {
            self.propagate_unit(commands::wrap_unit(ops, spec));
            let offset = self.master.repl_offset;
            if let Some(c) = self.clients.get_mut(&conn) {
                c.woff = offset;
            }
        }
        if let Some(client) = self.clients.get_mut(&conn) {
            // A client that just blocked on keys is answered when served or timed out.
            let blocked = client.key_block.is_some();
            client.parser.recycle(argv);
            let close = std::mem::take(&mut client.close_after_reply);
            if !blocked {
                self.reply(conn, &reply);
            }
            if close {
                self.close(conn);
            }
        }
        self.handle_clients_blocked_on_keys();
    }

    /// Runs a data command against the keyspace with the client's db and expiry view.
    fn run_data(
        &mut self,
        conn: ConnId,
        spec: &'static commands::CommandSpec,
        argv: &[Vec<u8>],
        ops: &mut Vec<Propagated>,
    ) -> Reply {
        let db = self.clients.get(&conn).map_or(0, |c| c.db);
        let view = if self.replica.is_replica() {
            ExpireView::Replica
        } else {
            ExpireView::Master
        };
        let may_block = !self.in_exec;
        let (reply, db, mut produced, block) = self.exec_data(db, view, spec, argv, may_block);
        if let Some(c) = self.clients.get_mut(&conn) {
            c.db = db;
        }
        if let Some(req) = block {
            self.block_on_keys(conn, spec, db, req);
        }
        // A replica (even a writable one) never propagates its own writes (shouldPropagate).
        if !self.replica.is_replica() {
            ops.append(&mut produced);
        }
        reply
    }

    /// A context for running data commands in `db` with this node's settings.
    pub(crate) fn data_ctx(&mut self, db: usize, view: ExpireView) -> ExecCtx<'_> {
        let mut ctx = ExecCtx::new(&mut self.keyspace, db, self.now_ms, view, &mut self.rng);
        ctx.lazyfree_lazy_expire = self.cfg.lazyfree_lazy_expire;
        // A replica never propagates its own writes (`shouldPropagate`).
        ctx.propagate = !self.replica.is_replica();
        ctx.proto_max_bulk_len = self.cfg.proto_max_bulk_len;
        ctx.signal_ready = self.blocked.any();
        ctx.watches = Some(&mut self.watches);
        ctx
    }

    /// Executes a data command; returns the reply, the db selected afterwards, the ops,
    /// and what it asks to block on (only when `may_block`: a client outside EXEC).
    pub(crate) fn exec_data(
        &mut self,
        db: usize,
        view: ExpireView,
        spec: &'static commands::CommandSpec,
        argv: &[Vec<u8>],
        may_block: bool,
    ) -> (
        Reply,
        usize,
        Vec<Propagated>,
        Option<commands::BlockRequest>,
    ) {
        let mut ctx = self.data_ctx(db, view);
        ctx.deny_blocking = !may_block;
        let (reply, ops) = commands::execute(&mut ctx, spec, argv);
        let db = ctx.db;
        let dirtied = ctx.dirtied;
        let expires_set = std::mem::take(&mut ctx.expires_set);
        let block = ctx.take_block();
        let created = ctx.take_ready();
        let swapped = ctx.take_swapped();
        // Counted at once, as Redis's commands add to `server.dirty`: a FLUSHALL's save
        // below then starts from everything written so far, its own deletions included.
        self.dirty += dirtied;
        if self.replica.is_replica() && !self.cfg.replica_read_only {
            for (db, key) in expires_set {
                self.replica_expires.remember(db, key);
            }
        }
        if spec.name == "flushall" && !reply.is_error() {
            self.replica_expires.clear();
            self.flushall_reset_rdb();
        }
        self.signal_ready(created);
        for db in swapped {
            self.scan_db_for_ready_keys(db);
        }
        if spec.is_write() {
            self.memory.wrote(argv.iter().map(Vec::len).sum());
        }
        (reply, db, ops, block)
    }

    /// `touchAllWatchedKeysInDb` for every db, before the keyspace is emptied (`None`:
    /// `signalFlushedDb`) or replaced by `new` (a full sync's `swapMainDbWithTempDb`).
    pub(crate) fn touch_all_watched(&mut self, new: Option<&super::keyspace::Keyspace>) {
        if self.watches.is_empty() {
            return;
        }
        // A full sync swaps its dataset in before it stops loading (`swapMainDbWithTempDb`
        // before `stopLoading`): nothing reads as expired then.
        let now_ms = new.is_none().then_some(self.now_ms);
        for (i, db) in self.keyspace.dbs.iter().enumerate() {
            let replaced_with = new.and_then(|k| k.dbs.get(i)).map(|d| &**d);
            self.watches.touch_all_in_db(i, db, replaced_with, now_ms);
        }
    }

    /// Commands the node itself implements. `None` means the reply was already handled.
    fn node_command(
        &mut self,
        conn: ConnId,
        name: &str,
        argv: &[Vec<u8>],
        ops: &mut Vec<Propagated>,
    ) -> Option<Reply> {
        let arg = |i: usize| String::from_utf8_lossy(&argv[i]).into_owned();
        Some(match name {
            "ping" => match argv.len() {
                1 => Reply::Simple("PONG".into()),
                2 => Reply::Bulk(argv[1].clone()),
                _ => commands::wrong_arity("ping"),
            },
            "auth" => self.auth(conn, argv),
            "multi" => {
                let client = self.clients.get_mut(&conn)?;
                if client.multi.is_some() {
                    Reply::error("ERR MULTI calls can not be nested")
                } else {
                    client.multi = Some(MultiState::default());
                    Reply::ok()
                }
            }
            "discard" => {
                let client = self.clients.get_mut(&conn)?;
                match client.multi.take() {
                    Some(_) => {
                        self.watches.forget(conn);
                        Reply::ok()
                    }
                    None => Reply::error("ERR DISCARD without MULTI"),
                }
            }
            "watch" => {
                if self.clients.get(&conn)?.multi.is_some() {
                    return Some(Reply::error("ERR WATCH inside MULTI is not allowed"));
                }
                // No point in watching once dirty.
                if !self.watches.is_dirty(conn) {
                    let db = self.clients.get(&conn)?.db;
                    // `server.loading`, which async loading sets too.
                    let loading = self.loading_state() != (false, false);
                    for key in &argv[1..] {
                        // `keyIsExpired` (never while loading).
                        let expired = !loading
                            && self.keyspace.dbs[db]
                                .get(key.as_slice())
                                .is_some_and(|e| e.is_expired(self.now_ms));
                        self.watches.watch(conn, db, key, expired);
                    }
                }
                Reply::ok()
            }
            "unwatch" => {
                self.watches.forget(conn);
                Reply::ok()
            }
            "exec" => self.exec(conn, ops)?,
            "info" => {
                let section = (argv.len() > 1).then(|| arg(1));
                Reply::Bulk(self.info(section.as_deref()).into_bytes())
            }
            "role" => self.role_reply(),
            "time" => {
                let us = self.now_ms * 1000;
                Reply::Array(vec![
                    Reply::bulk((us / 1_000_000).to_string()),
                    Reply::bulk((us % 1_000_000).to_string()),
                ])
            }
            "command" => self.command_command(argv),
            "config" => self.config_command(conn, argv)?,
            "client" => self.client_command(conn, argv),
            "save" | "bgsave" | "lastsave" => self.save_command(conn, name, argv)?,
            "shutdown" => self.shutdown_command(conn, argv)?,
            "replicaof" | "slaveof" => self.replicaof_command(conn, argv),
            "wait" => self.wait_command(conn, argv)?,
            "replconf" => self.replconf_command(conn, argv)?,
            "debug" => self.debug_command(conn, argv, ops)?,
            "psync" | "sync" => {
                self.sync_command(conn, argv);
                return None;
            }
            other => Reply::error(format!("ERR unknown command '{other}'")),
        })
    }

    fn auth(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Reply {
        let Some(pass) = self.cfg.requirepass.clone() else {
            return Reply::error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            );
        };
        let given = argv.last().map(|p| p.as_slice()).unwrap_or_default();
        // User names are case-sensitive (ACLGetUserByName): only `default` exists.
        let user_ok = argv.len() == 2 || argv[1] == b"default";
        if argv.len() > 3 {
            return Reply::error("ERR syntax error");
        }
        if user_ok && given == pass.as_bytes() {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.authenticated = true;
            }
            Reply::ok()
        } else {
            Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
        }
    }

    /// EXEC: runs the queue as one execution unit; its ops are wrapped in MULTI/EXEC later.
    fn exec(&mut self, conn: ConnId, ops: &mut Vec<Propagated>) -> Option<Reply> {
        let client = self.clients.get_mut(&conn)?;
        let Some(multi) = client.multi.take() else {
            return Some(Reply::error("ERR EXEC without MULTI"));
        };
        let db_now = self.now_ms;
        // `keyIsExpired` sees nothing expired while loading (async loading included).
        let loading = self.loading_state() != (false, false);
        let keyspace = &self.keyspace;
        if self.watches.watched_key_expired(conn, |db, key| {
            !loading
                && keyspace.dbs[db]
                    .get(key)
                    .is_some_and(|e| e.is_expired(db_now))
        }) {
            self.watches.set_dirty(conn);
        }
        let dirty_cas = self.watches.is_dirty(conn);
        // `discardTransaction`, or `unwatchAllKeys` before running the queue.
        self.watches.forget(conn);
        if multi.dirty_exec {
            return Some(Reply::error(
                "EXECABORT Transaction discarded because of previous errors.",
            ));
        }
        if dirty_cas {
            return Some(Reply::NilArray);
        }
        let mut replies = Vec::with_capacity(multi.queued.len());
        self.in_exec = true;
        for argv in multi.queued {
            let reply = match commands::lookup(&argv[0]) {
                Some(spec) => match spec.handler {
                    Handler::Data(_) => self.run_data(conn, spec, &argv, ops),
                    Handler::Node => self
                        .node_command(conn, spec.name, &argv, ops)
                        .unwrap_or_else(|| {
                            Reply::error("ERR Command not allowed inside a transaction")
                        }),
                },
                None => commands::unknown_command(&argv),
            };
            if let Some(name) = command_stats::name_of(&argv) {
                self.command_stats.called(name, reply.is_error());
            }
            replies.push(reply);
        }
        self.in_exec = false;
        Some(Reply::Array(replies))
    }

    fn command_command(&self, argv: &[Vec<u8>]) -> Reply {
        match argv.get(1).map(|a| a.to_ascii_lowercase()) {
            Some(sub) if sub == b"count" && argv.len() == 2 => {
                Reply::Integer(commands::all().len() as i64)
            }
            Some(sub) => Reply::error(format!(
                "ERR unknown subcommand '{}'. Try COMMAND HELP.",
                String::from_utf8_lossy(&sub)
            )),
            None => Reply::Array(
                commands::all()
                    .iter()
                    .map(|c| {
                        Reply::Array(vec![Reply::bulk(c.name), Reply::Integer(c.arity as i64)])
                    })
                    .collect(),
            ),
        }
    }

    /// `CONFIG`. `None`: a `CONFIG SET port` waits for the driver to listen on the new port.
    fn config_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Reply> {
        let sub = argv
            .get(1)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        Some(match sub.as_slice() {
            b"get" if argv.len() >= 3 => {
                let patterns: Vec<&[u8]> = argv[2..].iter().map(|p| p.as_slice()).collect();
                Reply::Array(
                    self.cfg
                        .get_matching(&patterns)
                        .into_iter()
                        .flat_map(|(n, v)| [Reply::bulk(n), Reply::bulk(v)])
                        .collect(),
                )
            }
            b"set" if argv.len() >= 4 && argv.len().is_multiple_of(2) => {
                let (loading, async_loading) = self.loading_state();
                let names: Vec<String> = argv[2..]
                    .chunks(2)
                    .map(|p| String::from_utf8_lossy(&p[0]).into_owned())
                    .collect();
                if let Err(e) = self.cfg.check_names(&names, loading || async_loading) {
                    return Some(Reply::error(e.reply_text()));
                }
                let mut next = self.cfg.clone();
                for pair in argv[2..].chunks(2) {
                    let name = String::from_utf8_lossy(&pair[0]);
                    let value = String::from_utf8_lossy(&pair[1]);
                    if let Err(e) = next.set_at_runtime(&name, &value) {
                        return Some(Reply::error(e.reply_text()));
                    }
                }
                if let Some(refusal) = self.maxclients_error(&next) {
                    return Some(refusal);
                }
                let old = std::mem::replace(&mut self.cfg, next);
                self.config_changed(&old);
                if old.port != self.cfg.port {
                    return self.listen(conn, old);
                }
                Reply::ok()
            }
            b"resetstat" if argv.len() == 2 => {
                self.stats = Stats::default();
                self.command_stats.reset();
                Reply::ok()
            }
            b"set" => commands::wrong_arity("config|set"),
            b"rewrite" => return self.config_rewrite(conn),
            b"help" => commands::help_reply(
                &argv[0],
                &[
                    "GET <pattern>",
                    "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>",
                    "    Set the configuration <directive> to <value>.",
                    "RESETSTAT",
                    "    Reset statistics reported by the INFO command.",
                    "REWRITE",
                    "    Rewrite the configuration file.",
                ],
            ),
            _ => commands::unknown_subcommand(argv),
        })
    }

    /// `CONFIG SET port` (`updatePort`): the driver is asked to listen on the new port, and
    /// the client waits for [`Input::Listening`]; inside EXEC, where nothing can wait, the
    /// answer is `+OK` and a failure only restores the old settings.
    fn listen(&mut self, conn: ConnId, old: Config) -> Option<Reply> {
        let port = self.cfg.port;
        let requester = (!self.in_exec).then_some(conn);
        if let Some(c) = requester.and_then(|conn| self.clients.get_mut(&conn)) {
            c.awaiting_driver = true;
        }
        self.pending_listen.push_back((requester, old));
        self.out.push(Output::Listen { port });
        requester.is_none().then(Reply::ok)
    }

    /// The driver listens on the port asked for by the oldest `CONFIG SET port` (`ok`), or
    /// could not: then the settings that command changed are restored.
    fn listening(&mut self, ok: bool) {
        let Some((requester, old)) = self.pending_listen.pop_front() else {
            return;
        };
        let reply = if ok {
            Reply::ok()
        } else {
            let new = std::mem::replace(&mut self.cfg, old);
            self.config_changed(&new);
            Reply::error(
                ConfigError::Invalid {
                    name: "port".into(),
                    reason: "Unable to listen on this port. Check server logs.".into(),
                }
                .reply_text(),
            )
        };
        let Some(conn) = requester else {
            return;
        };
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_driver = false;
            self.reply(conn, &reply);
            self.resume_client(conn);
        }
    }

    /// `CLIENT ID|GETNAME|SETNAME|KILL`. KILL understands the filter form (`TYPE`, `ID`,
    /// `ADDR`, `SKIPME`) and the old `CLIENT KILL ip:port` form, as `clientCommand` does.
    /// Applies side effects of configuration changes (backlog resize, write gating).
    fn config_changed(&mut self, old: &Config) {
        if old.proto_max_bulk_len != self.cfg.proto_max_bulk_len {
            for c in self.clients.values_mut() {
                c.parser.set_max_bulk_len(self.cfg.proto_max_bulk_len);
            }
        }
        if old.repl_backlog_size != self.cfg.repl_backlog_size {
            if let Some(backlog) = self.master.backlog.as_mut() {
                let report = backlog.resize(self.cfg.repl_backlog_size as usize);
                if !report.is_empty() {
                    let (first, histlen) = (backlog.first_byte_offset(), backlog.histlen());
                    self.emit(Event::BacklogTrimmed {
                        first_byte_offset: first,
                        histlen,
                    });
                }
            }
        }
        if old.inert_value("watchdog-period") != self.cfg.inert_value("watchdog-period") {
            self.apply_watchdog_period();
        }
        // updateGoodSlaves: the count is refreshed as soon as either setting changes.
        if old.min_replicas_to_write != self.cfg.min_replicas_to_write
            || old.min_replicas_max_lag != self.cfg.min_replicas_max_lag
        {
            self.refresh_good_replicas();
        }
    }

    /// When a child that dies now is reaped (`checkChildrenDone`): at the next serverCron,
    /// or the one after if this happens inside the cron now running (its successor is not
    /// scheduled yet).
    pub(crate) fn next_cron_reap_ms(&self) -> u64 {
        if self.next_cron_ms <= self.now_ms {
            self.next_cron_ms + CRON_PERIOD_MS
        } else {
            self.next_cron_ms
        }
    }

    /// `serverCron`: active expiry on masters, WAIT bookkeeping, and once a second the
    /// replication cron.
    fn server_cron(&mut self) {
        // Redis's serverCron does not run while a diskless load (async or not) holds the
        // main thread in `readSyncBulkPayload`: the engine keeps the link's timers going
        // then, but leaves the watchdog unarmed.
        if self.loading_state() == (false, false) {
            self.arm_watchdog();
        }
        if !self.replica.is_replica() && self.active_expire {
            let ops = commands::active_expire_cycle(
                &mut self.keyspace,
                self.now_ms,
                &mut self.rng,
                self.cfg.lazyfree_lazy_expire,
            );
            self.stats.expired_keys += ops.len() as u64;
            if !ops.is_empty() {
                self.memory.freed();
            }
            // `deleteExpiredKeyAndPropagate` → `signalModifiedKey`.
            for op in &ops {
                if let Some(key) = op.argv.get(1) {
                    self.watches.touch(op.db, key, false);
                }
            }
            // Each expired key is its own execution unit: DELs are never wrapped together.
            for op in ops {
                self.propagate_unit(vec![op]);
            }
        } else {
            let deleted = self
                .replica_expires
                .expire_cycle(&mut self.keyspace, self.now_ms);
            self.stats.expired_keys += deleted.len() as u64;
            // `activeExpireCycleTryExpire` → `deleteExpiredKeyAndPropagate` → `signalModifiedKey`.
            for (db, key) in &deleted {
                self.watches.touch(*db, key, false);
            }
        }
        if self.cron_loops.is_multiple_of(1000 / CRON_PERIOD_MS) {
            self.replication_cron();
            self.resize_query_buffers();
        }
        self.close_idle_clients();
        self.check_save_points();
        self.shutdown_cron();
        self.cron_loops += 1;
    }

    /// `clientsCronResizeQueryBuffer` (each client once a second, as `clientsCron` does): a
    /// client idle for more than 2 s keeps its unread bytes, not its query buffer's spare room.
    fn resize_query_buffers(&mut self) {
        let now_s = self.now_s();
        for c in self.clients.values_mut() {
            if now_s.saturating_sub(c.last_interaction_s) > QUERYBUF_IDLE_S {
                c.parser.trim();
            }
        }
    }

    /// `beforeSleep`: the commands of just unblocked clients, GETACK requests, WAIT
    /// unblocking, incremental backlog trimming, clients blocked on keys made ready.
    fn before_sleep(&mut self) {
        self.process_unblocked_clients();
        self.master_before_sleep();
        self.handle_clients_blocked_on_keys();
    }

    /// Replies to WAIT clients whose timeout passed.
    fn expire_waits(&mut self) {
        let now = self.now_ms;
        let due: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.wait
                    .as_ref()
                    .and_then(|w| w.deadline_ms)
                    .is_some_and(|d| d <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for conn in due {
            // A command resumed earlier in this loop may have killed or unblocked this client.
            let Some(offset) = self
                .clients
                .get_mut(&conn)
                .and_then(|c| c.wait.take())
                .map(|w| w.offset)
            else {
                continue;
            };
            let acked = self.count_acks(offset);
            self.reply(conn, &Reply::Integer(acked as i64));
            self.resume_client(conn);
        }
    }

    /// Processes commands that arrived while the client was blocked.
    pub(crate) fn resume_client(&mut self, conn: ConnId) {
        self.client_data(conn, &[]);
    }
}

/// True if `argv` names a write command (for EXEC's write gating).
fn is_write_argv(argv: &[Vec<u8>]) -> bool {
    argv.first()
        .and_then(|name| commands::lookup(name))
        .is_some_and(|spec| spec.is_write())
}

/// `len` random lowercase hex characters (`getRandomHexChars`).
pub(crate) fn random_hex(rng: &mut ChaCha8Rng, len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..len)
        .map(|_| HEX[(rng.next_u32() & 15) as usize] as char)
        .collect()
}
