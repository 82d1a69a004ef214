//! The master side of replication: the replication stream and its offset, the backlog, the
//! replicas attached to us, SYNC/PSYNC (partial or full resynchronization), REPLCONF, WAIT,
//! and `min-replicas-to-write` gating. Mirrors replication.c of Redis 7.0.

use std::borrow::Cow;

use super::backlog::{AppendReport, Backlog, PinId};
use super::commands::Propagated;
use super::event::{Event, LogLevel, RdbTarget, ReplicaState};
use super::key_delay::{self, PacedPayload};
use super::node::{Client, ConnId, Node, Output, WaitBlock};
use super::psync::{self, PsyncInputs};
use super::resp::{encode_command, parse_i64, split_args, Reply};

/// The node's replication identity and stream (valid for masters and replicas alike: a
/// replica's offset follows its master's stream).
#[derive(Clone, Debug)]
pub(crate) struct MasterState {
    pub replid: String,
    pub replid2: String,
    pub second_replid_offset: i64,
    /// `master_repl_offset`: bytes ever fed to the stream (0 until a backlog exists).
    pub repl_offset: i64,
    pub backlog: Option<Backlog>,
    /// The db the stream last SELECTed, -1 = none (forces a SELECT before the next write).
    pub slaveseldb: i64,
    /// Attached replicas, in attach order (`server.slaves`).
    pub replicas: Vec<ConnId>,
    pub no_replicas_since_s: u64,
    /// The RDB child in progress, if any.
    pub child: Option<RdbChild>,
    /// A WAIT asked for acks: send one GETACK before sleeping.
    pub get_ack_from_replicas: bool,
    /// `repl_good_slaves_count`, refreshed each cron and on replica state changes.
    pub good_replicas: usize,
    /// Scratch space where `feed_command` encodes each command.
    pub encode_buf: Vec<u8>,
    /// Scratch space for the replicas a feed goes to.
    pub feed_targets: Vec<ConnId>,
}

/// A BGSAVE for replication: the snapshot taken at fork time and when the child finishes.
#[derive(Clone, Debug)]
pub(crate) struct RdbChild {
    pub target: RdbTarget,
    pub rdb: Vec<u8>,
    pub done_ms: u64,
    /// How it died, if it did before the end of its snapshot: SIGUSR1 when the node gave
    /// up on it (`killRDBChild`), another signal when someone else killed it, [`EXIT_ERROR`]
    /// when it exited with an error (the driver's [`super::node::Input::ChildDied`]). It
    /// is reaped at `done_ms`.
    pub killed_by: Option<u32>,
    /// `dirty` at the fork (`dirty_before_bgsave`): a disk child's file holds the writes
    /// counted until then.
    pub dirty_before: u64,
    /// The node closed the child's pipe: it is killed because nobody reads it any more (no
    /// "done reading from pipe" when it ends).
    pub pipe_closed: bool,
    /// The process that stands in for the child, when the driver has one
    /// ([`super::node::Input::Forked`]).
    pub pid: Option<u32>,
    /// A diskless child slowed down by `rdb-key-save-delay`: its payload, handed to the
    /// replicas' sockets as it is written (without the delay it is all written at once).
    pub paced: Option<PacedPayload>,
}

/// What a replica asked its full sync's RDB to leave out (`slave_req`, set by `REPLCONF
/// rdb-filter-only`, as `redis-cli --functions-rdb` does). Replicas share a BGSAVE only with
/// the same filter, and a filtered RDB always goes through a socket (never over the
/// snapshot file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RdbFilter {
    /// `SLAVE_REQ_RDB_EXCLUDE_DATA`: no keys.
    pub exclude_data: bool,
    /// `SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS`: no function libraries (replscope's masters hold
    /// none, so this changes nothing in the RDB; it still tells BGSAVEs apart).
    pub exclude_functions: bool,
}

impl RdbFilter {
    /// `slave_req & SLAVE_REQ_RDB_MASK`.
    fn filters(self) -> bool {
        self.exclude_data || self.exclude_functions
    }
}

/// `NET_HOST_STR_LEN`: a replica's announced address must be shorter (a host name, not
/// only an IP, since Redis 7).
const NET_HOST_STR_LEN: usize = 256;

/// The signal `killRDBChild` sends (Linux numbering, as Redis logs it).
pub(crate) const SIGUSR1: u32 = 10;

/// [`RdbChild::killed_by`] for a child that exited with an error code rather than of a
/// signal (there is no signal 0).
const EXIT_ERROR: u32 = 0;

/// Per-replica state kept on the master (`replstate`, `repl_ack_off`, …).
#[derive(Clone, Debug)]
pub(crate) struct ReplicaLink {
    pub state: ReplicaState,
    pub ack_off: i64,
    pub ack_time_s: u64,
    pub psync_initial_offset: i64,
    /// Diskless: stream only after the replica's first ACK (`repl_start_cmd_stream_on_ack`).
    pub start_stream_on_ack: bool,
    /// Stream bytes produced while the replica waits for its RDB, sent after it.
    pub pending: Vec<u8>,
    /// Keeps the blocks backlog from trimming what `pending` starts from.
    pub pin: Option<PinId>,
    /// Attached with old-style SYNC: no +FULLRESYNC line, no ACKs expected.
    pub pre_psync: bool,
    /// Where the RDB payload sits among the bytes handed to the connection (`Client::sent`):
    /// Redis streams it from a file or a pipe, never through the output buffer.
    pub rdb_span: Option<(u64, u64)>,
    /// Diskless: when the socket last took part of the RDB while more of it waited
    /// (`repl_last_partial_write`). A transfer that stalls for `repl-timeout` is dropped.
    pub last_partial_write_s: Option<u64>,
    /// Since when the output buffer is above the soft limit (unix seconds).
    pub soft_since_s: Option<u64>,
}

/// Bytes a child "writes" per millisecond of virtual time: a rough BGSAVE speed, so that a big
/// dataset visibly takes time to snapshot (Redis on a laptop saves roughly 100–300 MB/s).
const RDB_SAVE_BYTES_PER_MS: usize = 100_000;

impl Client {
    /// Bytes of a full sync's RDB that the socket has not taken yet. Redis writes the RDB to
    /// the socket itself (`sendBulkToSlave`, or the diskless pipe handlers) and only then
    /// moves the replica on, so this is what keeps a replica out of ONLINE.
    pub(crate) fn rdb_unsent(&self) -> u64 {
        let taken = self.sent.saturating_sub(self.queued as u64);
        self.replica
            .as_ref()
            .and_then(|l| l.rdb_span)
            .map_or(0, |(a, b)| b.saturating_sub(a.max(taken)))
    }

    /// What Redis would count as this replica's output buffer: the stream waiting for the
    /// RDB, plus what the socket has not taken yet, minus the RDB itself.
    pub(crate) fn output_buffer(&self) -> usize {
        let pending = self.replica.as_ref().map_or(0, |l| l.pending.len());
        pending + (self.queued as u64).saturating_sub(self.rdb_unsent()) as usize
    }
}

impl MasterState {
    pub fn new(replid: String, now_s: u64) -> Self {
        MasterState {
            replid,
            replid2: "0".repeat(40),
            second_replid_offset: -1,
            repl_offset: 0,
            backlog: None,
            slaveseldb: -1,
            replicas: Vec::new(),
            no_replicas_since_s: now_s,
            child: None,
            get_ack_from_replicas: false,
            good_replicas: 0,
            encode_buf: Vec::new(),
            feed_targets: Vec::new(),
        }
    }

    pub fn child_done_ms(&self) -> Option<u64> {
        self.child.as_ref().map(|c| c.done_ms)
    }
}

impl Node {
    // ----- identity ---------------------------------------------------------------------------

    /// `changeReplicationId` (+ `clearReplicationId2` when `clear2`).
    pub(crate) fn change_replication_id(&mut self, clear2: bool, reason: &str) {
        self.master.replid = self.random_hex(40);
        if clear2 {
            self.master.replid2 = "0".repeat(40);
            self.master.second_replid_offset = -1;
        }
        self.emit_replid_changed(reason);
    }

    pub(crate) fn emit_replid_changed(&mut self, reason: &str) {
        self.emit(Event::ReplicationIdChanged {
            replid: self.master.replid.clone(),
            replid2: self.master.replid2.clone(),
            second_replid_offset: self.master.second_replid_offset,
            reason: reason.into(),
        });
    }

    /// `createReplicationBacklog`: empty, starting at the next byte.
    pub(crate) fn create_backlog(&mut self) {
        let backlog = Backlog::new(
            self.cfg.repl_backlog_model,
            self.cfg.repl_backlog_size as usize,
            self.master.repl_offset,
        );
        self.emit(Event::BacklogCreated {
            first_byte_offset: backlog.first_byte_offset(),
            size: self.cfg.repl_backlog_size,
        });
        self.master.backlog = Some(backlog);
    }

    pub(crate) fn free_backlog(&mut self) {
        if self.master.backlog.take().is_some() {
            self.emit(Event::BacklogFreed);
        }
    }

    // ----- the replication stream -------------------------------------------------------------

    /// `propagatePendingCommands`: one execution unit's ops (already wrapped in MULTI/EXEC
    /// by `commands::wrap_unit` when Redis would), each preceded by a SELECT when the
    /// stream's db changes.
    pub(crate) fn propagate_unit(&mut self, ops: Vec<Propagated>) {
        if self.replica.is_replica() {
            return;
        }
        for op in &ops {
            self.feed_command(Some(op.db), &op.argv);
        }
    }

    /// `replicationFeedSlaves`: SELECT if needed, then the command. `db = None` for commands
    /// that touch no key (PING, GETACK), which never cause a SELECT.
    pub(crate) fn feed_command(&mut self, db: Option<usize>, argv: &[Vec<u8>]) {
        if self.replica.is_replica() {
            return;
        }
        if self.master.backlog.is_none() && self.master.replicas.is_empty() {
            return;
        }
        if let Some(db) = db {
            if self.master.slaveseldb != db as i64 {
                let mut select = Vec::new();
                encode_command(
                    &[b"SELECT".to_vec(), db.to_string().into_bytes()],
                    &mut select,
                );
                self.feed_stream(&select, "SELECT");
                self.master.slaveseldb = db as i64;
            }
        }
        // Encoded in a buffer kept across commands (one per replicated write otherwise).
        let mut bytes = std::mem::take(&mut self.master.encode_buf);
        bytes.clear();
        encode_command(argv, &mut bytes);
        let what = match super::commands::lookup(&argv[0]) {
            Some(spec) => Cow::Borrowed(spec.name),
            None => Cow::Owned(String::from_utf8_lossy(&argv[0]).into_owned()),
        };
        // Redis feeds a command in pieces (`*n`, each `$len`, argument, CRLF); the blocks
        // backlog sizes new blocks by piece, so it must see the same pieces.
        self.feed_stream_with(&bytes, what, |b| b.append_encoded_command(argv, &bytes));
        self.master.encode_buf = bytes;
    }

    /// `feedReplicationBuffer` with the bytes in one piece (a SELECT, or the stream a replica
    /// forwards from its master).
    pub(crate) fn feed_stream(&mut self, bytes: &[u8], what: &'static str) {
        self.feed_stream_with(bytes, what.into(), |b| b.append(bytes));
    }

    /// Bytes enter the stream, the backlog (through `append`) and every replica that can take
    /// them. This is the only place `master_repl_offset` grows.
    fn feed_stream_with(
        &mut self,
        bytes: &[u8],
        what: Cow<'static, str>,
        append: impl FnOnce(&mut Backlog) -> AppendReport,
    ) {
        let Some(backlog) = self.master.backlog.as_mut() else {
            return;
        };
        let start = self.master.repl_offset + 1;
        self.master.repl_offset += bytes.len() as i64;
        let report = append(backlog);
        self.emit(Event::Stream {
            start,
            end: self.master.repl_offset,
            what,
        });
        if report.wraps > 0 {
            self.emit(Event::BacklogWrapped {
                master_repl_offset: self.master.repl_offset,
            });
        }
        // A copy (a replica may be dropped on the way), in a buffer kept for the next feed.
        let mut replicas = std::mem::take(&mut self.master.feed_targets);
        replicas.clone_from(&self.master.replicas);
        for &conn in &replicas {
            let Some(c) = self.clients.get_mut(&conn) else {
                continue;
            };
            let Some(link) = c.replica.as_mut() else {
                continue;
            };
            match link.state {
                // `canFeedReplicaReplBuffer`: neither a replica still waiting for its BGSAVE
                // nor one that asked for the RDB only.
                _ if c.rdb_only => {}
                ReplicaState::WaitBgsaveStart => {}
                ReplicaState::Online if !link.start_stream_on_ack => {
                    self.send(conn, bytes);
                }
                _ => {
                    link.pending.extend_from_slice(bytes);
                    let size = c.output_buffer();
                    self.check_output_limit(conn, size);
                }
            }
        }
        self.master.feed_targets = replicas;
    }

    /// The driver reports how much of a connection's output its socket has not taken yet.
    /// A replica whose RDB is now all written moves on in `master_timers`, which
    /// `poll_timeout` then asks for at once: the one path, also taken when a socket took
    /// everything at once and the driver had nothing to report.
    pub(crate) fn send_queue_level(&mut self, conn: ConnId, queued: usize) {
        let now_s = self.now_s();
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        c.queued = queued;
        let rdb_unsent = c.rdb_unsent();
        let size = c.output_buffer();
        let Some(link) = c.replica.as_mut() else {
            self.output_over_limit(conn, queued);
            return;
        };
        // Drivers report changes only, and nothing follows a diskless RDB on its connection
        // until it is online: a report with some of the RDB left means the socket took a part
        // of it (or just received it), as a partial write in rdbPipeWriteHandler.
        if link.state == ReplicaState::WaitBgsaveEnd {
            link.last_partial_write_s = (rdb_unsent > 0).then_some(now_s);
        }
        self.check_output_limit(conn, size);
    }

    /// `checkClientOutputBufferLimits` for a replica: past the hard limit, or past the soft
    /// limit for `soft_seconds`, it is disconnected and will have to resync. A hard limit
    /// below `repl-backlog-size` is raised to it: a partial resync the backlog allows would
    /// otherwise be accepted and then cut, again and again.
    fn check_output_limit(&mut self, conn: ConnId, size: usize) {
        let mut limit = self.cfg.client_output_buffer_limit_replica;
        if limit.hard > 0 && limit.hard < self.cfg.repl_backlog_size {
            limit.hard = self.cfg.repl_backlog_size;
        }
        let now_s = self.now_s();
        let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else {
            return;
        };
        if limit.reached(size, &mut link.soft_since_s, now_s) {
            self.emit(Event::OutputBufferLimit { conn, bytes: size });
            let who = self.client_info(conn);
            self.log(
                LogLevel::Warning,
                format!(
                    "Client {who} scheduled to be closed ASAP for overcoming of output buffer limits."
                ),
            );
            self.abort(conn);
        }
    }

    /// Sends an RDB payload, remembering where it sits in the connection's output.
    /// Sends (part of) a full sync's RDB payload: `first` starts it, later parts extend it.
    fn send_rdb(&mut self, conn: ConnId, payload: Vec<u8>, first: bool) {
        if let Some(c) = self.clients.get_mut(&conn) {
            let sent = c.sent;
            if let Some(link) = c.replica.as_mut() {
                let end = sent + payload.len() as u64;
                link.rdb_span = match link.rdb_span {
                    Some((start, _)) if !first => Some((start, end)),
                    _ => Some((sent, end)),
                };
            }
        }
        self.send(conn, payload);
    }

    /// "ip:port" of a replica as Redis logs it (`replicationGetSlaveName`).
    pub(crate) fn replica_name(&self, conn: ConnId) -> String {
        self.clients
            .get(&conn)
            .map_or_else(|| "<unknown>".into(), slave_name)
    }

    // ----- SYNC / PSYNC -----------------------------------------------------------------------

    /// `syncCommand`.
    pub(crate) fn sync_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) {
        let Some(client) = self.clients.get(&conn) else {
            return;
        };
        if client.replica.is_some() {
            return;
        }
        if self.replica.is_replica() && !self.replica.is_connected() {
            self.reply(
                conn,
                &Reply::error("NOMASTERLINK Can't SYNC while not connected with my master"),
            );
            return;
        }
        // The RDB and the stream must be the first bytes this connection receives after
        // the +FULLRESYNC: replies still unwritten (a pipelined PING) would be mixed in.
        if self.out.has_bytes_for(conn) || client.queued > 0 {
            self.reply(
                conn,
                &Reply::error("ERR SYNC and PSYNC are invalid with pending output"),
            );
            return;
        }
        // A filtered RDB is only ever made for sockets, so it needs the EOF format.
        if client.rdb_filter.filters() && !client.capa_eof {
            self.reply(
                conn,
                &Reply::error("ERR Filtered replica requires EOF capability"),
            );
            return;
        }
        let name = self.replica_name(conn);
        self.log(
            LogLevel::Notice,
            format!("Replica {name} asks for synchronization"),
        );
        let is_psync = argv[0].eq_ignore_ascii_case(b"psync");
        if is_psync {
            let Some(offset) = parse_i64(&argv[2]) else {
                self.reply(
                    conn,
                    &Reply::error("ERR value is not an integer or out of range"),
                );
                self.log(
                    LogLevel::Warning,
                    format!("Replica {name} asks for synchronization but with a wrong offset"),
                );
                return;
            };
            let decision = psync::decide(PsyncInputs {
                requested_replid: String::from_utf8_lossy(&argv[1]).into_owned(),
                requested_offset: offset,
                master_replid: self.master.replid.clone(),
                master_replid2: self.master.replid2.clone(),
                second_replid_offset: self.master.second_replid_offset,
                master_repl_offset: self.master.repl_offset,
                backlog: self
                    .master
                    .backlog
                    .as_ref()
                    .map(|b| (b.first_byte_offset(), b.histlen())),
            });
            let text = decision
                .explanation()
                .replace("with replica", &format!("with replica {name}"));
            let accepted = decision.is_continue();
            let counts_err = decision.counts_as_partial_err();
            self.emit(Event::PsyncDecided {
                conn,
                decision: Box::new(decision),
            });
            self.log(LogLevel::Notice, text);
            if accepted {
                self.stats.sync_partial_ok += 1;
                self.continue_partial(conn, offset);
                return;
            }
            if counts_err {
                self.stats.sync_partial_err += 1;
            }
        }
        self.stats.sync_full += 1;
        let now_s = self.now_s();
        let link = ReplicaLink {
            state: ReplicaState::WaitBgsaveStart,
            ack_off: 0,
            ack_time_s: now_s,
            psync_initial_offset: 0,
            start_stream_on_ack: false,
            pending: Vec::new(),
            pin: None,
            pre_psync: !is_psync,
            rdb_span: None,
            last_partial_write_s: None,
            soft_since_s: None,
        };
        if let Some(c) = self.clients.get_mut(&conn) {
            c.replica = Some(link);
        }
        self.master.replicas.push(conn);
        self.emit(Event::ReplicaStateChanged {
            conn,
            state: ReplicaState::WaitBgsaveStart,
        });
        if self.master.replicas.len() == 1 && self.master.backlog.is_none() {
            self.change_replication_id(true, "replication backlog created for the first replica");
            self.create_backlog();
            let (id1, id2) = (self.master.replid.clone(), self.master.replid2.clone());
            self.log(
                LogLevel::Notice,
                format!(
                    "Replication backlog created, my new replication IDs are '{id1}' and '{id2}'"
                ),
            );
        }
        match self.master.child.as_ref().map(|c| c.target) {
            Some(RdbTarget::Disk) => self.attach_to_running_disk_bgsave(conn),
            Some(RdbTarget::Socket) => self.log(
                LogLevel::Notice,
                "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC",
            ),
            None => {
                let (capa_eof, filter) = self
                    .clients
                    .get(&conn)
                    .map_or((false, RdbFilter::default()), |c| {
                        (c.capa_eof, c.rdb_filter)
                    });
                if self.cfg.repl_diskless_sync && capa_eof && self.cfg.repl_diskless_sync_delay > 0
                {
                    self.log(LogLevel::Notice, "Delay next BGSAVE for diskless SYNC");
                } else {
                    self.start_bgsave_for_replication(capa_eof, filter);
                }
            }
        }
    }

    /// The `+CONTINUE` path of `masterTryPartialResynchronization`.
    fn continue_partial(&mut self, conn: ConnId, offset: i64) {
        let now_s = self.now_s();
        let psync2 = self.clients.get(&conn).is_some_and(|c| c.capa_psync2);
        if let Some(c) = self.clients.get_mut(&conn) {
            c.replica = Some(ReplicaLink {
                state: ReplicaState::Online,
                ack_off: 0,
                ack_time_s: now_s,
                psync_initial_offset: offset,
                start_stream_on_ack: false,
                pending: Vec::new(),
                pin: None,
                pre_psync: false,
                rdb_span: None,
                last_partial_write_s: None,
                soft_since_s: None,
            });
        }
        self.master.replicas.push(conn);
        let line = if psync2 {
            format!("+CONTINUE {}\r\n", self.master.replid)
        } else {
            "+CONTINUE\r\n".to_string()
        };
        self.send(conn, line.into_bytes());
        let bytes = self
            .master
            .backlog
            .as_ref()
            .and_then(|b| b.bytes_from(offset))
            .unwrap_or_default();
        self.send(conn, bytes);
        self.emit(Event::ReplicaStateChanged {
            conn,
            state: ReplicaState::Online,
        });
        self.refresh_good_replicas();
    }

    /// CASE 1 of syncCommand: a disk BGSAVE is running; share it if another replica is
    /// already recording the differences since the fork.
    fn attach_to_running_disk_bgsave(&mut self, conn: ConnId) {
        let (rdb_only, filter) = self
            .clients
            .get(&conn)
            .map_or((false, RdbFilter::default()), |c| {
                (c.rdb_only, c.rdb_filter)
            });
        let donor = self.master.replicas.iter().copied().find(|r| {
            *r != conn
                && self.clients.get(r).is_some_and(|c| {
                    // A replica that wants the stream cannot share with one recording none,
                    // nor an RDB made with another filter.
                    (!c.rdb_only || rdb_only)
                        && c.rdb_filter == filter
                        && c.replica
                            .as_ref()
                            .is_some_and(|l| l.state == ReplicaState::WaitBgsaveEnd)
                })
        });
        match donor
            .and_then(|d| self.clients.get(&d))
            .and_then(|c| c.replica.clone())
        {
            Some(donor_link) => {
                let offset = donor_link.psync_initial_offset;
                // `copyReplicaOutputBuffer`, unless this replica wants the RDB only.
                if !rdb_only {
                    let pin = self.master.backlog.as_mut().map(|b| b.pin(offset + 1));
                    if let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut())
                    {
                        link.pending = donor_link.pending.clone();
                        link.pin = pin;
                    }
                }
                self.setup_full_resync(conn, offset);
                self.log(LogLevel::Notice, "Waiting for end of BGSAVE for SYNC");
            }
            None => self.log(
                LogLevel::Notice,
                "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC",
            ),
        }
    }

    /// `replicationSetupSlaveForFullResync`: `+FULLRESYNC <replid> <offset>`, and the stream
    /// restarts with a SELECT for everyone.
    fn setup_full_resync(&mut self, conn: ConnId, offset: i64) {
        let replid = self.master.replid.clone();
        let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else {
            return;
        };
        link.psync_initial_offset = offset;
        link.state = ReplicaState::WaitBgsaveEnd;
        let pre_psync = link.pre_psync;
        self.master.slaveseldb = -1;
        if !pre_psync {
            self.send(
                conn,
                format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes(),
            );
            self.emit(Event::FullResyncSent {
                conn,
                replid,
                offset,
            });
        }
        self.emit(Event::ReplicaStateChanged {
            conn,
            state: ReplicaState::WaitBgsaveEnd,
        });
    }

    /// `startBgsaveForReplication`: snapshot now, for every replica waiting to start.
    /// Only the replicas waiting with `filter` take part; the others wait for the next one.
    pub(crate) fn start_bgsave_for_replication(&mut self, all_capa_eof: bool, filter: RdbFilter) {
        let socket = (self.cfg.repl_diskless_sync || filter.filters()) && all_capa_eof;
        let target = if socket {
            RdbTarget::Socket
        } else {
            RdbTarget::Disk
        };
        self.log(
            LogLevel::Notice,
            format!(
                "Starting BGSAVE for SYNC with target: {}",
                if socket { "replicas sockets" } else { "disk" }
            ),
        );
        if target == RdbTarget::Disk {
            self.count_background_save();
        }
        let offset = self.master.repl_offset;
        let (rdb, key_ends) = if filter.exclude_data {
            (self.snapshot_without_data(), Vec::new())
        } else {
            self.snapshot_keyed(&self.keyspace)
        };
        let per_key = self.cfg.rdb_key_save_delay;
        let waiting: Vec<ConnId> = self
            .replicas_in(ReplicaState::WaitBgsaveStart)
            .into_iter()
            .filter(|r| self.clients.get(r).is_some_and(|c| c.rdb_filter == filter))
            .collect();
        for &conn in &waiting {
            let pin = self.master.backlog.as_mut().map(|b| b.pin(offset + 1));
            if let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) {
                link.pin = pin;
            }
            self.setup_full_resync(conn, offset);
        }
        self.emit(Event::BgsaveStarted {
            target,
            replicas: waiting.clone(),
            offset,
            rdb_bytes: rdb.len(),
            keys: if filter.exclude_data {
                0
            } else {
                self.keyspace.key_count()
            },
        });
        let mut paced = None;
        if socket {
            // Diskless: the child writes the payload straight to the sockets.
            let mark = self.random_hex(40);
            let mut payload = format!("$EOF:{mark}\r\n").into_bytes();
            let prefix = payload.len();
            payload.extend_from_slice(&rdb);
            payload.extend_from_slice(mark.as_bytes());
            let bytes = payload.len();
            if per_key == 0 {
                for &conn in &waiting {
                    self.send_rdb(conn, payload.clone(), true);
                    self.emit(Event::RdbSent { conn, bytes });
                }
            } else {
                for &conn in &waiting {
                    self.emit(Event::RdbSent { conn, bytes });
                }
                paced = Some(PacedPayload::new(
                    payload,
                    prefix,
                    &key_ends,
                    self.now_ms,
                    per_key,
                ));
            }
        }
        // The child pauses after each key (`rdb-key-save-delay`).
        let delay_ms = key_delay::total_us(per_key, key_ends.len()).div_ceil(1000);
        let done_ms = self.now_ms + 1 + (rdb.len() / RDB_SAVE_BYTES_PER_MS) as u64 + delay_ms;
        self.master.child = Some(RdbChild {
            killed_by: None,
            dirty_before: self.dirty,
            pipe_closed: false,
            pid: None,
            target,
            rdb,
            done_ms,
            paced,
        });
        self.out.push(Output::Fork);
        self.write_paced_payload();
    }

    /// The driver stands a process in for the child (`fork()` returned `pid` in the parent).
    pub(crate) fn child_forked(&mut self, pid: u32) {
        let Some(child) = self.master.child.as_mut().filter(|c| c.pid.is_none()) else {
            return;
        };
        child.pid = Some(pid);
        let text = match child.target {
            RdbTarget::Socket => format!("Background RDB transfer started by pid {pid}"),
            RdbTarget::Disk => format!("Background saving started by pid {pid}"),
        };
        self.log(LogLevel::Notice, text);
    }

    /// The child's stand-in died of `signal` without the node asking (the OOM killer, a
    /// `kill -9`): `checkChildrenDone` notices at the next serverCron.
    pub(crate) fn child_died(&mut self, signal: Option<u32>) {
        if self
            .master
            .child
            .as_ref()
            .is_some_and(|c| c.killed_by.is_none())
        {
            self.reap_child_at_next_cron(signal.unwrap_or(EXIT_ERROR));
        }
    }

    /// `killRDBChild` (FLUSHALL): the snapshot being taken no longer matches the dataset.
    pub(crate) fn kill_rdb_child(&mut self) {
        if self
            .master
            .child
            .as_ref()
            .is_some_and(|c| c.killed_by.is_none())
        {
            self.reap_child_at_next_cron(SIGUSR1);
        }
    }

    /// The child is dead: it writes nothing more, and a later serverCron reaps it — the
    /// next one, or the one after if this happens inside the cron now running (its
    /// successor is not scheduled yet).
    fn reap_child_at_next_cron(&mut self, signal: u32) {
        let next_cron_ms = self.next_cron_reap_ms();
        if let Some(child) = self.master.child.as_mut() {
            child.killed_by = Some(signal);
            child.done_ms = next_cron_ms;
            child.paced = None;
        }
    }

    /// What a slowed-down diskless child has written by now goes to the replicas it feeds.
    fn write_paced_payload(&mut self) {
        let now = self.now_ms;
        let Some(paced) = self.master.child.as_mut().and_then(|c| c.paced.as_mut()) else {
            return;
        };
        let Some(range) = paced.due(now) else {
            return;
        };
        let first = range.start == 0;
        let piece = paced.payload[range].to_vec();
        for conn in self.replicas_in(ReplicaState::WaitBgsaveEnd) {
            self.send_rdb(conn, piece.clone(), first);
        }
    }

    /// Timers of the master side: replicas whose RDB is all written go online, and the RDB
    /// child finishes. In that order: an RDB the child's end hands to a socket now has not
    /// been reported on by the driver yet, so it cannot count as written in this same call.
    pub(crate) fn master_timers(&mut self) {
        self.finish_bulk_transfers();
        self.write_paced_payload();
        let child_done = self
            .master
            .child_done_ms()
            .is_some_and(|d| d <= self.now_ms)
            && self.child_payload_written();
        if !child_done {
            return;
        }
        if let Some(child) = self.master.child.take() {
            self.out.push(Output::ChildDone);
            if let Some(signal) = child.killed_by {
                // `checkChildrenDone` → `backgroundSaveDoneHandlerSocket` (or `…Disk`):
                // the replicas that waited for this snapshot are dropped (they come back
                // with a new PSYNC), and those that wait for a BGSAVE get a new one at once
                // (`replicationStartPendingFork`).
                let what = match child.target {
                    RdbTarget::Socket => "transfer",
                    RdbTarget::Disk => "saving",
                };
                let text = match signal {
                    EXIT_ERROR => format!("Background {what} error"),
                    _ => format!("Background {what} terminated by signal {signal}"),
                };
                let waiting = self.replicas_in(ReplicaState::WaitBgsaveEnd);
                if child.target == RdbTarget::Socket && !child.pipe_closed {
                    // `rdbPipeReadHandler` reads the dead child's EOF first.
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                            waiting.len()
                        ),
                    );
                }
                self.log(LogLevel::Warning, text);
                if child.target == RdbTarget::Disk {
                    self.persistence.bgsave_done = true;
                    if signal != SIGUSR1 {
                        self.persistence.last_bgsave_ok = false;
                    }
                }
                // `freeClientAsync`: the replicas go after the new fork, in beforeSleep.
                for _ in &waiting {
                    self.log(
                        LogLevel::Warning,
                        "SYNC failed. BGSAVE child returned an error",
                    );
                }
                self.start_pending_fork();
                for conn in waiting {
                    self.abort(conn);
                }
                return;
            }
            if child.target == RdbTarget::Socket {
                let up = self.replicas_in(ReplicaState::WaitBgsaveEnd).len();
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Diskless rdb transfer, done reading from pipe, {up} replicas still up."
                    ),
                );
            }
            match child.target {
                RdbTarget::Socket => self.log(
                    LogLevel::Notice,
                    "Background RDB transfer terminated with success",
                ),
                // The child wrote the snapshot file: "DB saved on disk", then "Background
                // saving terminated with success" when the driver has written it.
                RdbTarget::Disk => self.child_saved(child.rdb.clone(), child.dirty_before),
            }
            self.update_replicas_waiting_bgsave(child);
            // `checkChildrenDone`: "start any pending forks immediately".
            self.start_pending_fork();
        }
    }

    /// When `master_timers` next has work: at once for a replica in SEND_BULK whose RDB the
    /// socket has taken, at `done_ms` for the RDB child, unless the child still waits for
    /// replica sockets to take its payload (then a `SendQueue` report comes first).
    pub(crate) fn master_due_ms(&self) -> Option<u64> {
        let bulk_written = self.replica_clients().any(|c| {
            c.replica
                .as_ref()
                .is_some_and(|l| l.state == ReplicaState::SendBulk)
                && c.rdb_unsent() == 0
        });
        let child = self
            .master
            .child_done_ms()
            .filter(|_| self.child_payload_written());
        let paced = self
            .master
            .child
            .as_ref()
            .and_then(|c| c.paced.as_ref())
            .and_then(PacedPayload::next_ms);
        let child = match (child, paced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (bulk_written, child) {
            (true, Some(done)) => Some(done.min(self.now_ms)),
            (true, None) => Some(self.now_ms),
            (false, child) => child,
        }
    }

    /// Whether every replica fed by a diskless child has taken the whole payload. The child
    /// cannot exit before: the parent reads the child's pipe only when every socket took the
    /// previous buffer, and tells the child it may exit only at the pipe's end
    /// (`rdbPipeReadHandler`). A disk child feeds no socket: always true.
    fn child_payload_written(&self) -> bool {
        self.replica_clients().all(|c| {
            c.replica
                .as_ref()
                .is_none_or(|l| l.state != ReplicaState::WaitBgsaveEnd)
                || c.rdb_unsent() == 0
        })
    }

    /// The clients of the attached replicas, in attach order.
    fn replica_clients(&self) -> impl Iterator<Item = &Client> {
        self.master
            .replicas
            .iter()
            .filter_map(|r| self.clients.get(r))
    }

    /// The end of `sendBulkToSlave`: once the socket has taken the whole RDB file, the
    /// replica goes online (`replicaPutOnline`: the ACK timeout counts from now, and it is a
    /// good replica from now) and the stream buffered since the fork follows.
    fn finish_bulk_transfers(&mut self) {
        let written: Vec<ConnId> = self
            .replicas_in(ReplicaState::SendBulk)
            .into_iter()
            .filter(|r| self.clients.get(r).is_some_and(|c| c.rdb_unsent() == 0))
            .collect();
        for conn in written {
            if self.put_online(conn, false) {
                self.start_command_stream(conn);
            }
        }
    }

    /// The attached replicas in `state`, in attach order.
    fn replicas_in(&self, state: ReplicaState) -> Vec<ConnId> {
        self.master
            .replicas
            .iter()
            .copied()
            .filter(|r| {
                self.clients
                    .get(r)
                    .and_then(|c| c.replica.as_ref())
                    .is_some_and(|l| l.state == state)
            })
            .collect()
    }

    /// `updateSlavesWaitingBgsave`: the snapshot is complete.
    fn update_replicas_waiting_bgsave(&mut self, child: RdbChild) {
        let waiting: Vec<ConnId> = self.replicas_in(ReplicaState::WaitBgsaveEnd);
        for conn in waiting {
            let name = self.replica_name(conn);
            match child.target {
                RdbTarget::Socket => {
                    self.log(
                        LogLevel::Notice,
                        format!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"),
                    );
                    // An rdb-only replica is closed there; the others wait for their ACK.
                    self.put_online(conn, true);
                }
                RdbTarget::Disk => {
                    // SEND_BULK until the socket has taken the whole file: not online, so
                    // neither timed out for lack of ACKs nor a good replica meanwhile (see
                    // `finish_bulk_transfers`).
                    if let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut())
                    {
                        link.state = ReplicaState::SendBulk;
                    }
                    self.emit(Event::ReplicaStateChanged {
                        conn,
                        state: ReplicaState::SendBulk,
                    });
                    let mut payload = format!("${}\r\n", child.rdb.len()).into_bytes();
                    payload.extend_from_slice(&child.rdb);
                    let bytes = payload.len();
                    self.send_rdb(conn, payload, true);
                    self.emit(Event::RdbSent { conn, bytes });
                }
            }
        }
        // Replicas that arrived during a socket BGSAVE wait for the next one (replicationCron).
    }

    /// `replicaPutOnline`. False for a replica that asked for the RDB only: it is done, and
    /// the caller frees it (`freeClient`) instead of starting its stream.
    fn put_online(&mut self, conn: ConnId, start_on_ack: bool) -> bool {
        if self.clients.get(&conn).is_some_and(|c| c.rdb_only) {
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Notice,
                format!(
                    "RDB transfer completed, rdb only replica ({name}) should be disconnected asap"
                ),
            );
            // Everything it was sent is written by now (see `rdb_unsent`): close after it.
            self.close(conn);
            return false;
        }
        let now_s = self.now_s();
        if let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) {
            link.state = ReplicaState::Online;
            link.ack_time_s = now_s;
            link.start_stream_on_ack = start_on_ack;
        }
        self.emit(Event::ReplicaStateChanged {
            conn,
            state: ReplicaState::Online,
        });
        let name = self.replica_name(conn);
        self.log(
            LogLevel::Notice,
            format!("Synchronization with replica {name} succeeded"),
        );
        self.refresh_good_replicas();
        true
    }

    /// `replicaStartCommandStream`: the writes buffered since the fork follow the RDB.
    fn start_command_stream(&mut self, conn: ConnId) {
        let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else {
            return;
        };
        link.start_stream_on_ack = false;
        let pending = std::mem::take(&mut link.pending);
        let pin = link.pin.take();
        if let (Some(pin), Some(backlog)) = (pin, self.master.backlog.as_mut()) {
            backlog.unpin(pin);
        }
        let bytes = pending.len();
        self.send(conn, pending);
        self.emit(Event::BufferedStreamSent { conn, bytes });
    }

    /// A replica's connection is gone (`freeClient` on a replica).
    pub(crate) fn replica_detached(&mut self, conn: ConnId, client: super::node::Client) {
        self.master.replicas.retain(|r| *r != conn);
        let fed_by_child = client
            .replica
            .as_ref()
            .is_some_and(|l| l.state == ReplicaState::WaitBgsaveEnd);
        if let (Some(pin), Some(backlog)) = (
            client.replica.as_ref().and_then(|l| l.pin),
            self.master.backlog.as_mut(),
        ) {
            backlog.unpin(pin);
        }
        self.log(
            LogLevel::Warning,
            format!("Connection with replica {} lost.", slave_name(&client)),
        );
        if self.master.replicas.is_empty() {
            self.master.no_replicas_since_s = self.now_s();
        }
        if fed_by_child {
            self.kill_child_without_replicas();
        }
        self.refresh_good_replicas();
    }

    /// `rdbPipeReadHandler`: a diskless child whose every replica dropped is killed (the
    /// parent finds no connection left to write the next chunk to), so that replicas that
    /// come back get a new BGSAVE instead of waiting for a transfer nobody receives. A disk
    /// child is killed too when no save point needs its file (`freeClient`: "the current
    /// child process need not continue to dump RDB"). Its end is noticed by the next
    /// serverCron (`checkChildrenDone`).
    fn kill_child_without_replicas(&mut self) {
        let Some(target) = self
            .master
            .child
            .as_ref()
            .filter(|c| c.killed_by.is_none())
            .map(|c| c.target)
        else {
            return;
        };
        let useless = match target {
            RdbTarget::Socket => true,
            RdbTarget::Disk => self.cfg.save.is_empty(),
        };
        if !useless || !self.replicas_in(ReplicaState::WaitBgsaveEnd).is_empty() {
            return;
        }
        if target == RdbTarget::Socket {
            self.log(
                LogLevel::Warning,
                "Diskless rdb transfer, last replica dropped, killing fork child.",
            );
        }
        self.reap_child_at_next_cron(SIGUSR1);
        if let Some(child) = self.master.child.as_mut() {
            child.pipe_closed = target == RdbTarget::Socket;
        }
    }

    /// `killRDBChild` at shutdown: the snapshot for replicas is abandoned.
    pub(crate) fn kill_replication_child(&mut self) {
        let now_ms = self.now_ms;
        if let Some(child) = self.master.child.as_mut() {
            child.killed_by = Some(SIGUSR1);
            child.done_ms = now_ms;
        }
    }

    /// `sendGetackToReplicas`, sent before the node next sleeps.
    pub(crate) fn send_getack_to_replicas(&mut self) {
        self.master.get_ack_from_replicas = true;
    }

    /// `disconnectSlaves`: drop every replica (they will reconnect and PSYNC).
    pub(crate) fn disconnect_replicas(&mut self) {
        for conn in self.master.replicas.clone() {
            self.abort(conn);
        }
    }

    // ----- REPLCONF, WAIT, ROLE, gating --------------------------------------------------------

    /// `replconfCommand`. `None` when nothing is replied (ACK, GETACK).
    pub(crate) fn replconf_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Reply> {
        if argv.len().is_multiple_of(2) {
            return Some(Reply::error("ERR syntax error"));
        }
        for pair in argv[1..].chunks(2) {
            let option = pair[0].to_ascii_lowercase();
            let value = &pair[1];
            match option.as_slice() {
                b"listening-port" => {
                    let Some(port) = parse_i64(value) else {
                        return Some(Reply::error("ERR value is not an integer or out of range"));
                    };
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.listening_port = port.clamp(0, 65535) as u16;
                    }
                }
                b"ip-address" => {
                    if value.len() >= NET_HOST_STR_LEN {
                        return Some(Reply::error(format!(
                            "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                            value.len()
                        )));
                    }
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.announced_ip = Some(String::from_utf8_lossy(value).into_owned());
                    }
                }
                b"capa" => {
                    if let Some(c) = self.clients.get_mut(&conn) {
                        if value.eq_ignore_ascii_case(b"eof") {
                            c.capa_eof = true;
                        } else if value.eq_ignore_ascii_case(b"psync2") {
                            c.capa_psync2 = true;
                        }
                    }
                }
                b"ack" => {
                    self.replica_ack(conn, value);
                    return None;
                }
                b"rdb-filter-only" => {
                    // Set before the filters are checked, as Redis does.
                    let mut filter = RdbFilter {
                        exclude_data: true,
                        exclude_functions: true,
                    };
                    let Some(names) = split_args(value) else {
                        return Some(Reply::error("ERR Missing rdb-filter-only values"));
                    };
                    let mut unsupported = None;
                    for name in &names {
                        if name.eq_ignore_ascii_case(b"functions") {
                            filter.exclude_functions = false;
                        } else {
                            unsupported = Some(String::from_utf8_lossy(name).into_owned());
                            break;
                        }
                    }
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.rdb_filter = filter;
                    }
                    if let Some(name) = unsupported {
                        return Some(Reply::error(format!(
                            "ERR Unsupported rdb-filter-only option: {name}"
                        )));
                    }
                }
                b"rdb-only" => {
                    let rdb_only = match parse_i64(value) {
                        None => {
                            return Some(Reply::error(
                                "ERR value is not an integer or out of range",
                            ))
                        }
                        Some(v @ 0..=1) => v == 1,
                        Some(_) => {
                            return Some(Reply::error(
                                "ERR value is out of range, value must between 0 and 1",
                            ))
                        }
                    };
                    if let Some(c) = self.clients.get_mut(&conn) {
                        c.rdb_only = rdb_only;
                    }
                }
                b"getack" => {
                    if self.replica.is_connected() {
                        self.send_ack();
                    }
                    return None;
                }
                _ => {
                    return Some(Reply::error(format!(
                        "ERR Unrecognized REPLCONF option: {}",
                        String::from_utf8_lossy(&pair[0])
                    )))
                }
            }
        }
        Some(Reply::ok())
    }

    fn replica_ack(&mut self, conn: ConnId, value: &[u8]) {
        let now_s = self.now_s();
        let Some(offset) = parse_i64(value) else {
            return;
        };
        let Some(link) = self.clients.get_mut(&conn).and_then(|c| c.replica.as_mut()) else {
            return;
        };
        link.ack_off = link.ack_off.max(offset);
        link.ack_time_s = now_s;
        let start = link.start_stream_on_ack && link.state == ReplicaState::Online;
        self.emit(Event::AckReceived { conn, offset });
        if start {
            self.start_command_stream(conn);
        }
    }

    /// `waitCommand`. `None` when the client blocks.
    pub(crate) fn wait_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Reply> {
        if self.replica.is_replica() {
            return Some(Reply::error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
        }
        let Some(numreplicas) = parse_i64(&argv[1]) else {
            return Some(Reply::error("ERR value is not an integer or out of range"));
        };
        let timeout = match parse_i64(&argv[2]) {
            Some(t) if t >= 0 => t as u64,
            Some(_) => return Some(Reply::error("ERR timeout is negative")),
            None => {
                return Some(Reply::error(
                    "ERR timeout is not an integer or out of range",
                ))
            }
        };
        let offset = self.clients.get(&conn).map_or(0, |c| c.woff);
        let acked = self.count_acks(offset) as i64;
        let in_multi = self.clients.get(&conn).is_some_and(|c| c.multi.is_some());
        if acked >= numreplicas || in_multi || self.in_exec {
            return Some(Reply::Integer(acked));
        }
        let deadline_ms = (timeout > 0).then(|| self.now_ms + timeout);
        if let Some(c) = self.clients.get_mut(&conn) {
            c.wait = Some(WaitBlock {
                numreplicas,
                offset,
                deadline_ms,
            });
        }
        self.master.get_ack_from_replicas = true;
        None
    }

    /// `replicationCountAcksByOffset`.
    pub(crate) fn count_acks(&self, offset: i64) -> usize {
        self.master
            .replicas
            .iter()
            .filter_map(|r| self.clients.get(r).and_then(|c| c.replica.as_ref()))
            .filter(|l| l.state == ReplicaState::Online && l.ack_off >= offset)
            .count()
    }

    /// `refreshGoodSlavesCount`.
    pub(crate) fn refresh_good_replicas(&mut self) {
        if self.cfg.min_replicas_to_write == 0 || self.cfg.min_replicas_max_lag == 0 {
            return;
        }
        let now_s = self.now_s();
        let max_lag = self.cfg.min_replicas_max_lag;
        self.master.good_replicas = self
            .master
            .replicas
            .iter()
            .filter_map(|r| self.clients.get(r).and_then(|c| c.replica.as_ref()))
            .filter(|l| {
                l.state == ReplicaState::Online && now_s.saturating_sub(l.ack_time_s) <= max_lag
            })
            .count();
    }

    /// `checkGoodReplicasStatus`.
    pub(crate) fn enough_good_replicas(&self) -> bool {
        self.replica.is_replica()
            || self.cfg.min_replicas_max_lag == 0
            || self.cfg.min_replicas_to_write == 0
            || self.master.good_replicas as u64 >= self.cfg.min_replicas_to_write
    }

    /// `roleCommand`.
    pub(crate) fn role_reply(&self) -> Reply {
        if let Some(reply) = self.replica_role_reply() {
            return reply;
        }
        let replicas = self
            .master
            .replicas
            .iter()
            .filter_map(|r| self.clients.get(r))
            .filter_map(|c| {
                let link = c.replica.as_ref()?;
                (link.state == ReplicaState::Online).then(|| {
                    Reply::Array(vec![
                        Reply::bulk(c.announced_ip.clone().unwrap_or(c.peer.ip.clone())),
                        Reply::bulk(c.listening_port.to_string()),
                        Reply::bulk(link.ack_off.to_string()),
                    ])
                })
            })
            .collect();
        Reply::Array(vec![
            Reply::bulk("master"),
            Reply::Integer(self.master.repl_offset),
            Reply::Array(replicas),
        ])
    }

    /// `beforeSleep`'s replication duties.
    pub(crate) fn master_before_sleep(&mut self) {
        if let Some(backlog) = self.master.backlog.as_mut() {
            let report = backlog.trim();
            if !report.is_empty() {
                let (first, histlen) = (backlog.first_byte_offset(), backlog.histlen());
                self.emit(Event::BacklogTrimmed {
                    first_byte_offset: first,
                    histlen,
                });
            }
        }
        if self.master.get_ack_from_replicas {
            self.master.get_ack_from_replicas = false;
            // sendGetackToReplicas feeds with dictid = slaveseldb: never a SELECT.
            self.feed_command(
                None,
                &[b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()],
            );
        }
        self.process_clients_waiting_replicas();
    }

    /// `processClientsWaitingReplicas`.
    fn process_clients_waiting_replicas(&mut self) {
        let waiting: Vec<(ConnId, i64, i64)> = self
            .clients
            .iter()
            .filter_map(|(id, c)| c.wait.as_ref().map(|w| (*id, w.offset, w.numreplicas)))
            .collect();
        for (conn, offset, numreplicas) in waiting {
            // Still blocked? A command resumed earlier in this loop may have changed that.
            if self.clients.get(&conn).is_none_or(|c| c.wait.is_none()) {
                continue;
            }
            let acked = self.count_acks(offset);
            if acked as i64 >= numreplicas {
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.wait = None;
                }
                self.reply(conn, &Reply::Integer(acked as i64));
                self.resume_client(conn);
            }
        }
    }
}

/// `replicationGetSlaveName`: the announced (or peer) ip and the listening port, which a
/// replica that never sent `REPLCONF listening-port` does not have.
fn slave_name(c: &Client) -> String {
    let ip = c.announced_ip.as_deref().unwrap_or(&c.peer.ip);
    if c.listening_port > 0 {
        format!("{ip}:{}", c.listening_port)
    } else {
        format!("{ip}:<unknown-replica-port>")
    }
}
