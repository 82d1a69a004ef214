//! The replica side: `REPLICAOF`, the link to our master (`syncWithMaster`'s handshake, the
//! PSYNC reply, the RDB transfer, then the command stream), the cached master used for
//! partial resynchronization, ACKs, and promotion with `REPLICAOF NO ONE`.

use super::commands::{self, ExpireView, Handler};
use super::config::DisklessLoad;
use super::event::{Event, LinkState, LogLevel};
use super::key_delay;
use super::node::{ConnId, Node};
use super::node::{SyncFile, SyncFileStep};
use super::rdb::{self, Loaded, RdbError};
use super::resp::{encode_command, parse_i64, Reply, RequestParser, PROTO_RESIZE_THRESHOLD};
use super::transfer::{Delimiter, Progress, Transfer, EOF_MARK_LEN, TRANSFER_BYTES_MAX};

/// What a replica remembers of the master it followed (`server.cached_master`): enough to
/// ask for `PSYNC <replid> <reploff+1>` after a drop or a master change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CachedMaster {
    pub replid: String,
    pub reploff: i64,
    /// The db the master client had selected: `replicationResurrectCachedMaster` keeps the
    /// client, so a `+CONTINUE` stream without a new SELECT still applies to this db.
    pub db: usize,
    /// The master client's id (`CLIENT LIST`): a resurrected master keeps it.
    pub client_id: u64,
}

/// The link to our master.
#[derive(Clone, Debug)]
pub(crate) struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    pub conn: Option<ConnId>,
    /// Raw bytes not yet consumed during the handshake and transfer.
    inbuf: Vec<u8>,
    /// Replies still expected for the pipelined handshake (AUTH, port, ip, capa).
    awaiting: Vec<LinkState>,
    /// The RDB payload being received, once its header is in.
    transfer: Option<Transfer>,
    /// From `+FULLRESYNC <replid> <offset>`.
    master_replid: String,
    initial_offset: i64,
    /// Unix seconds of the last byte read during connect/handshake/transfer.
    pub transfer_lastio_s: u64,
    /// The master client once CONNECTED.
    pub client: Option<MasterClient>,
    /// The received RDB while `key-load-delay` makes its load last.
    loading: Option<SlowLoad>,
    /// The payload is parsed from the socket as it comes (`repl-diskless-load`).
    diskless: Option<DisklessLoading>,
    /// The temporary file the payload goes to on disk (`repl_transfer_tmpfile`), from the
    /// master's acceptance of a full sync until it is renamed over `dbfilename`.
    sync_file: Option<String>,
    /// The payload of the sync being loaded was installed as `dbfilename`.
    sync_file_installed: bool,
    /// The temporary file of the last sync whose payload was complete: a failure the
    /// driver reports for it comes after the node has gone on (see
    /// [`Node::sync_file_failed`]).
    last_sync_file: Option<String>,
}

/// A diskless load in progress: the replica is loading from the time the payload's header
/// arrives (`startLoading`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DisklessLoading {
    /// `swapdb`: loaded into a temporary dataset; the old one stays until the swap.
    swapdb: bool,
    /// swapdb with the master's replication ID equal to ours: the old dataset is served
    /// meanwhile (`async_loading`).
    pub(crate) async_loading: bool,
}

/// The most stream bytes a slow load keeps waiting. Redis reads nothing while it loads: the
/// stream waits in the master's output buffer, which `client-output-buffer-limit replica`
/// caps (256 MB hard by default). The engine is handed the bytes anyway; past this much, the
/// load ends at once rather than holding more.
/// `loading-process-events-interval-bytes`: how often `rdbLoad` brings
/// `loading_loaded_bytes` up to date.
const LOADING_INTERVAL_BYTES: usize = 2 * 1024 * 1024;

const SLOW_LOAD_STREAM_MAX: usize = 256 * 1024 * 1024;

/// A full sync's RDB being loaded key by key under `key-load-delay`. Redis's `rdbLoad` blocks
/// the replica meanwhile: clients get `-LOADING`, no timer runs, and what the master sends
/// after the RDB waits in the socket.
#[derive(Clone, Debug)]
struct SlowLoad {
    /// Unix ms at which the last key is in.
    until_ms: u64,
    loaded: Loaded,
    bytes: usize,
    eof_mode: bool,
    /// The stream that came after the RDB.
    rest: Vec<u8>,
}

impl MasterLink {
    /// A link in state CONNECT, about to dial `host:port`.
    fn new(host: String, port: u16, now_s: u64) -> MasterLink {
        MasterLink {
            host,
            port,
            state: LinkState::Connect,
            conn: None,
            inbuf: Vec::new(),
            awaiting: Vec::new(),
            transfer: None,
            master_replid: String::new(),
            initial_offset: -1,
            transfer_lastio_s: now_s,
            client: None,
            loading: None,
            diskless: None,
            sync_file: None,
            last_sync_file: None,
            sync_file_installed: false,
        }
    }
}

/// The connected master, as the `server.master` client.
#[derive(Clone, Debug)]
pub(crate) struct MasterClient {
    /// Its client id (`CLIENT LIST`, `CLIENT KILL ID`).
    pub id: u64,
    /// The last command it sent (`lastcmd`, CLIENT LIST's `cmd=`).
    pub last_cmd: Option<super::command_stats::CommandName>,
    /// Unix seconds it was created (`age=`).
    pub created_s: u64,
    pub replid: String,
    /// Offset of the last byte of the last fully applied command (`reploff`).
    pub reploff: i64,
    /// Bytes read from the master (`read_reploff`).
    pub read_reploff: i64,
    pub parser: RequestParser,
    pub db: usize,
    pub in_multi: Option<Vec<Vec<Vec<u8>>>>,
    /// Bytes applied but not yet forwarded to our own backlog (held while in MULTI).
    pub unforwarded: Vec<u8>,
    /// The bytes read from the master, exactly as sent; `raw[raw_pos..]` are not yet
    /// consumed as a command (an index, so consuming does not shift the buffer each time).
    pub raw: Vec<u8>,
    pub raw_pos: usize,
    pub last_interaction_s: u64,
    /// A protocol error was found in the stream (`CLIENT_PROTOCOL_ERROR`): nothing more is
    /// applied, and the link closes after the next reply written to the master.
    pub protocol_error: bool,
}

/// Replica-side state of the node.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplicaSide {
    pub link: Option<MasterLink>,
    pub cached: Option<CachedMaster>,
    /// Unix seconds since the link is down (0 = never connected).
    pub down_since_s: u64,
}

impl ReplicaSide {
    /// Bytes of memory the link's buffers hold (a transfer in progress, the master client).
    pub(crate) fn buffer_bytes(&self) -> usize {
        self.link.as_ref().map_or(0, |l| {
            l.inbuf.capacity()
                + l.transfer.as_ref().map_or(0, Transfer::buffer_bytes)
                + l.client.as_ref().map_or(0, |c| c.parser.buffer_bytes())
        })
    }

    pub fn is_replica(&self) -> bool {
        self.link.is_some()
    }

    pub fn is_connected(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.state == LinkState::Connected)
    }

    pub fn link_conn(&self) -> Option<ConnId> {
        self.link.as_ref().and_then(|l| l.conn)
    }

    pub fn master_addr(&self) -> Option<(&str, u16)> {
        self.link.as_ref().map(|l| (l.host.as_str(), l.port))
    }

    pub fn state(&self) -> LinkState {
        self.link.as_ref().map_or(LinkState::None, |l| l.state)
    }

    /// The db the master's stream is in (`master->db->id`, or the cached master's).
    pub fn stream_db(&self) -> Option<i32> {
        match self.link.as_ref().and_then(|l| l.client.as_ref()) {
            Some(c) => Some(c.db as i32),
            None => self.cached.as_ref().map(|c| c.db as i32),
        }
    }

    /// Caches a master from an RDB's replication info (`replicationCacheMasterUsingMyself`
    /// after `loadDataFromDisk`).
    pub fn set_cached(&mut self, replid: String, reploff: i64, db: i32, client_id: u64) {
        self.cached = Some(CachedMaster {
            replid,
            reploff,
            db: db.max(0) as usize,
            client_id,
        });
    }

    /// `(master_sync_total_bytes, master_sync_read_bytes)` during TRANSFER: -1 total before
    /// the header, 0 for an EOF-marked (diskless) payload whose size is unknown.
    pub fn transfer_progress(&self) -> (i64, i64) {
        let Some(link) = self.link.as_ref() else {
            return (-1, 0);
        };
        match link.transfer.as_ref() {
            None => (-1, 0),
            Some(t) => (t.total(), t.read() as i64),
        }
    }
}

impl Node {
    /// `REPLICAOF host port` / `REPLICAOF NO ONE`.
    pub(crate) fn replicaof_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Reply {
        if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
            if self.replica.is_replica() {
                self.unset_master();
                let id = self.clients.get(&conn).map_or(0, |c| c.id);
                self.log(
                    LogLevel::Notice,
                    format!("MASTER MODE enabled (user request from 'id={id}')"),
                );
            }
            return Reply::ok();
        }
        if self.clients.get(&conn).is_some_and(|c| c.replica.is_some()) {
            return Reply::error("ERR Command is not valid when client is a replica.");
        }
        let port = match parse_i64(&argv[2]) {
            Some(p) if (0..=65535).contains(&p) => p as u16,
            _ => return Reply::error("ERR Invalid master port"),
        };
        let host = String::from_utf8_lossy(&argv[1]).into_owned();
        if self
            .replica
            .master_addr()
            .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && p == port)
        {
            self.log(LogLevel::Notice, "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Reply::Simple("OK Already connected to specified master".into());
        }
        self.set_master(host.clone(), port);
        let id = self.clients.get(&conn).map_or(0, |c| c.id);
        self.log(
            LogLevel::Notice,
            format!("REPLICAOF {host}:{port} enabled (user request from 'id={id}')"),
        );
        Reply::ok()
    }

    /// `replicationSetMaster`.
    pub fn set_master(&mut self, host: String, port: u16) {
        let was_master = !self.replica.is_replica();
        self.drop_master_link();
        // Clients blocked in master, now replica.
        self.disconnect_all_blocked_clients();
        if was_master {
            self.replica.cached = None;
            self.log(LogLevel::Notice, "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
            // replicationCreateMasterClient(NULL, -1): no db selected, so db 0.
            let client_id = self.new_client_id();
            self.replica.cached = Some(CachedMaster {
                replid: self.master.replid.clone(),
                reploff: self.master.repl_offset,
                db: 0,
                client_id,
            });
        }
        self.replica.link = Some(MasterLink::new(host.clone(), port, self.now_s()));
        self.emit(Event::RoleChanged {
            master: Some((host.clone(), port)),
        });
        self.log(
            LogLevel::Notice,
            format!("Connecting to MASTER {host}:{port}"),
        );
        self.connect_with_master();
    }

    /// `replicaof <host> <port>` in the configuration (or `--replicaof` on the command line):
    /// the node starts as a replica with no cached master, so its first PSYNC is `? -1`, and
    /// the first `replicationCron` connects.
    pub fn configure_replicaof(&mut self, host: String, port: u16) {
        self.replica.link = Some(MasterLink::new(host, port, self.now_s()));
    }

    /// `replicationUnsetMaster`: promotion. The old history stays valid as replid2.
    pub fn unset_master(&mut self) {
        if !self.replica.is_replica() {
            return;
        }
        self.drop_master_link();
        self.replica.link = None;
        self.replica.cached = None;
        // shiftReplicationId
        self.master.replid2 = self.master.replid.clone();
        self.master.second_replid_offset = self.master.repl_offset + 1;
        self.master.replid = self.random_hex(40);
        let (id2, off2, id1) = (
            self.master.replid2.clone(),
            self.master.second_replid_offset,
            self.master.replid.clone(),
        );
        self.log(
            LogLevel::Warning,
            format!("Setting secondary replication ID to {id2}, valid up to offset: {off2}. New replication ID is {id1}"),
        );
        self.emit_replid_changed("promoted to master (REPLICAOF NO ONE)");
        self.disconnect_replicas();
        self.master.slaveseldb = -1;
        self.master.no_replicas_since_s = self.now_s();
        self.replica.down_since_s = 0;
        self.emit(Event::RoleChanged { master: None });
    }

    /// Frees the master client (caching it) or cancels a handshake in progress.
    /// Closes the link to the master and puts it back in CONNECT; returns the state it had.
    fn drop_master_link(&mut self) -> Option<LinkState> {
        let link = self.replica.link.as_mut()?;
        let before = link.state;
        let conn = link.conn.take();
        // `freeClient` caches the master client, unless it is freed for a protocol error.
        if let Some(client) = link.client.take().filter(|c| !c.protocol_error) {
            self.replica.cached = Some(CachedMaster {
                replid: client.replid,
                reploff: client.reploff,
                db: client.db,
                client_id: client.id,
            });
        }
        link.state = LinkState::Connect;
        link.inbuf.clear();
        link.awaiting.clear();
        link.transfer = None;
        link.sync_file_installed = false;
        // replicationAbortSyncTransfer: the partial file goes.
        let sync_file = link.sync_file.take();
        if let Some(conn) = conn {
            self.out.push(super::node::Output::Close { conn });
        }
        if let Some(name) = sync_file {
            self.out
                .push(super::node::Output::SyncFile(SyncFile::Remove { name }));
        }
        Some(before)
    }

    /// [`Node::drop_master_link`] for a link that stays, waiting for the next
    /// replicationCron: the trace shows it back in CONNECT.
    fn reset_master_link(&mut self) {
        if self
            .drop_master_link()
            .is_some_and(|s| s != LinkState::Connect)
        {
            self.emit(Event::LinkStateChanged {
                state: LinkState::Connect,
            });
        }
    }

    fn set_link_state(&mut self, state: LinkState) {
        if let Some(link) = self.replica.link.as_mut() {
            if link.state != state {
                link.state = state;
                self.emit(Event::LinkStateChanged { state });
            }
        }
    }

    /// `connectWithMaster`.
    pub(crate) fn connect_with_master(&mut self) {
        let conn = self.new_out_conn();
        let now_s = self.now_s();
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        link.conn = Some(conn);
        link.transfer_lastio_s = now_s;
        let (host, port) = (link.host.clone(), link.port);
        self.out
            .push(super::node::Output::Connect { conn, host, port });
        self.set_link_state(LinkState::Connecting);
        // Logged as the non-blocking connect starts, before it succeeds or fails.
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync started");
    }

    /// `syncWithMaster` on a socket whose connect failed: a warning, and the next
    /// replicationCron tries again (state CONNECT).
    pub(crate) fn replica_connect_failed(&mut self, why: &str) {
        self.log(
            LogLevel::Warning,
            format!("Error condition on socket for SYNC: {why}"),
        );
        self.reset_master_link();
    }

    /// The TCP connection to the master is up: start the handshake with PING.
    pub(crate) fn replica_connected(&mut self, conn: ConnId) {
        if self.replica.link_conn() != Some(conn) {
            return;
        }
        self.log(
            LogLevel::Notice,
            "Non blocking connect for SYNC fired the event.",
        );
        self.send_to_master(&[b"PING".as_slice()]);
        self.set_link_state(LinkState::ReceivePingReply);
    }

    fn send_to_master(&mut self, argv: &[&[u8]]) {
        let Some(conn) = self.replica.link_conn() else {
            return;
        };
        let mut bytes = Vec::new();
        encode_command(argv, &mut bytes);
        self.send(conn, bytes);
    }

    /// The link broke (or we gave up on it): cache the master and reconnect right away, as
    /// `replicationHandleMasterDisconnection` does.
    pub(crate) fn replica_link_lost(&mut self, why: &str) {
        // A blocking load finishes before the loss is noticed.
        self.finish_slow_load();
        let was_connected = self.replica.is_connected();
        let was_transfer = self.replica.state() == LinkState::Transfer;
        self.log(LogLevel::Notice, why.to_string());
        if was_connected || was_transfer {
            self.drop_master_link();
            // Reconnect at once: waiting a second may let the backlog be recycled.
            if was_connected {
                self.replica.down_since_s = self.now_s();
            }
            self.dial_master("Reconnecting", "");
        } else {
            // A failed connect or handshake waits for the next replicationCron (state CONNECT).
            self.reset_master_link();
        }
    }

    /// `cancelReplicationHandshake(1)` after a failed transfer: the link is closed and, not
    /// waiting for `replicationCron`, dialled again.
    fn cancel_transfer_and_reconnect(&mut self) {
        self.drop_master_link();
        self.dial_master("Reconnecting", " after failure");
    }

    /// Logs "<how> to MASTER host:port<why>" (`Connecting`, or `Reconnecting` with what
    /// Redis appends in each case) and dials the master at once.
    fn dial_master(&mut self, how: &str, why: &str) {
        let (host, port) = self
            .replica
            .master_addr()
            .map(|(h, p)| (h.to_string(), p))
            .unwrap_or_default();
        self.log(
            LogLevel::Notice,
            format!("{how} to MASTER {host}:{port}{why}"),
        );
        self.connect_with_master();
    }

    /// Bytes from our master, in whatever state the link is.
    pub(crate) fn replica_data(&mut self, _conn: ConnId, bytes: &[u8]) {
        let now_s = self.now_s();
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        link.transfer_lastio_s = now_s;
        if let Some(load) = link.loading.as_mut() {
            if load.rest.len() + bytes.len() <= SLOW_LOAD_STREAM_MAX {
                load.rest.extend_from_slice(bytes);
                return;
            }
            // Too much of the stream waits: the load ends now and the stream goes on.
            self.finish_slow_load();
        }
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        if let Some(client) = link.client.as_mut() {
            if client.protocol_error {
                // `processInputBuffer` stops at CLIENT_CLOSE_AFTER_REPLY: read, not applied.
                return;
            }
            client.last_interaction_s = now_s;
            client.read_reploff += bytes.len() as i64;
            client.parser.feed(bytes);
            client.raw.extend_from_slice(bytes);
            self.apply_master_stream();
            return;
        }
        link.inbuf.extend_from_slice(bytes);
        // Each step consumes what it can and tells whether to go on.
        while self.handshake_step() {}
    }

    /// Takes one line (without CRLF) from the link's input, if complete.
    fn take_line(&mut self) -> Option<String> {
        let link = self.replica.link.as_mut()?;
        let nl = link.inbuf.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = link.inbuf.drain(..=nl).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// One step of `syncWithMaster` / `readSyncBulkPayload`. Returns false when it needs
    /// more bytes (or the link is gone).
    fn handshake_step(&mut self) -> bool {
        let state = self.replica.state();
        match state {
            LinkState::ReceivePingReply => {
                let Some(line) = self.take_line() else {
                    return false;
                };
                if !line.starts_with('+')
                    && !line.starts_with("-NOAUTH")
                    && !line.starts_with("-NOPERM")
                    && !line.starts_with("-ERR operation not permitted")
                {
                    self.log(
                        LogLevel::Warning,
                        format!("Error reply to PING from master: '{line}'"),
                    );
                    self.replica_link_lost("Master replied to PING with an error, retrying later");
                    return false;
                }
                self.log(
                    LogLevel::Notice,
                    "Master replied to PING, replication can continue...",
                );
                self.send_handshake();
                true
            }
            LinkState::ReceiveAuthReply
            | LinkState::ReceivePortReply
            | LinkState::ReceiveIpReply
            | LinkState::ReceiveCapaReply => {
                let Some(line) = self.take_line() else {
                    return false;
                };
                if state == LinkState::ReceiveAuthReply && line.starts_with('-') {
                    self.log(
                        LogLevel::Warning,
                        format!("Unable to AUTH to MASTER: {line}"),
                    );
                    self.replica_link_lost("Unable to AUTH to MASTER");
                    return false;
                }
                if line.starts_with('-') {
                    let what = match state {
                        LinkState::ReceivePortReply => "REPLCONF listening-port",
                        LinkState::ReceiveIpReply => "REPLCONF ip-address",
                        _ => "REPLCONF capa",
                    };
                    self.log(
                        LogLevel::Notice,
                        format!("(Non critical) Master does not understand {what}: {line}"),
                    );
                }
                let next = self
                    .replica
                    .link
                    .as_mut()
                    .and_then(|l| (!l.awaiting.is_empty()).then(|| l.awaiting.remove(0)));
                match next {
                    Some(next) => self.set_link_state(next),
                    None => self.send_psync(),
                }
                true
            }
            LinkState::ReceivePsyncReply => {
                let Some(line) = self.take_line() else {
                    return false;
                };
                self.psync_reply(&line)
            }
            LinkState::Transfer => self.transfer_step(),
            _ => false,
        }
    }

    /// The pipelined part of the handshake: AUTH, REPLCONF listening-port / ip-address / capa.
    fn send_handshake(&mut self) {
        let mut states = Vec::new();
        if let Some(pass) = self.cfg.masterauth.clone() {
            self.send_to_master(&[b"AUTH".as_slice(), pass.as_bytes()]);
            states.push(LinkState::ReceiveAuthReply);
        }
        let port = if self.cfg.replica_announce_port != 0 {
            self.cfg.replica_announce_port
        } else {
            self.cfg.port
        };
        let port = port.to_string();
        self.send_to_master(&[b"REPLCONF".as_slice(), b"listening-port", port.as_bytes()]);
        states.push(LinkState::ReceivePortReply);
        if let Some(ip) = self.cfg.replica_announce_ip.clone() {
            self.send_to_master(&[b"REPLCONF".as_slice(), b"ip-address", ip.as_bytes()]);
            states.push(LinkState::ReceiveIpReply);
        }
        self.send_to_master(&[b"REPLCONF".as_slice(), b"capa", b"eof", b"capa", b"psync2"]);
        states.push(LinkState::ReceiveCapaReply);
        let first = states.remove(0);
        if let Some(link) = self.replica.link.as_mut() {
            link.awaiting = states;
        }
        self.set_link_state(LinkState::SendHandshake);
        self.set_link_state(first);
    }

    /// `slaveTryPartialResynchronization(read_reply = 0)`.
    fn send_psync(&mut self) {
        self.set_link_state(LinkState::SendPsync);
        let (replid, offset) = match self.replica.cached.clone() {
            Some(c) => {
                let off = c.reploff + 1;
                self.log(
                    LogLevel::Notice,
                    format!(
                        "Trying a partial resynchronization (request {}:{off}).",
                        c.replid
                    ),
                );
                (c.replid, off)
            }
            None => {
                self.log(
                    LogLevel::Notice,
                    "Partial resynchronization not possible (no cached master)",
                );
                ("?".to_string(), -1)
            }
        };
        let off = offset.to_string();
        self.send_to_master(&[b"PSYNC".as_slice(), replid.as_bytes(), off.as_bytes()]);
        self.emit(Event::PsyncSent { replid, offset });
        self.set_link_state(LinkState::ReceivePsyncReply);
    }

    /// `slaveTryPartialResynchronization(read_reply = 1)`.
    fn psync_reply(&mut self, line: &str) -> bool {
        if line.is_empty() {
            return true; // the master's keepalive newline while it prepares
        }
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_ascii_whitespace();
            let (replid, offset) = (parts.next().unwrap_or(""), parts.next());
            let link_ok = replid.len() == 40 && offset.is_some();
            let offset = offset.and_then(|o| o.parse::<i64>().ok()).unwrap_or(-1);
            if link_ok {
                self.log(
                    LogLevel::Notice,
                    format!("Full resync from master: {replid}:{offset}"),
                );
            } else {
                self.log(
                    LogLevel::Warning,
                    "Master replied with wrong +FULLRESYNC syntax.",
                );
            }
            if let Some(link) = self.replica.link.as_mut() {
                link.master_replid = if link_ok {
                    replid.to_string()
                } else {
                    String::new()
                };
                link.initial_offset = offset;
            }
            // The cached master survives until the payload is in (`readSyncBulkPayload` →
            // `replicationAttachToNewMaster`): INFO keeps showing its offsets during TRANSFER,
            // and a transfer that fails still allows a PSYNC with it.
            self.open_sync_file();
            self.set_link_state(LinkState::Transfer);
            return true;
        }
        if let Some(rest) = line.strip_prefix("+CONTINUE") {
            self.log(
                LogLevel::Notice,
                "Successful partial resynchronization with master.",
            );
            let new_id = rest.trim();
            let mut cached = match self.replica.cached.take() {
                Some(cached) => cached,
                None => CachedMaster {
                    replid: self.master.replid.clone(),
                    reploff: self.master.repl_offset,
                    db: 0,
                    client_id: self.new_client_id(),
                },
            };
            if new_id.len() == 40 && new_id != cached.replid {
                self.log(
                    LogLevel::Warning,
                    format!("Master replication ID changed to {new_id}"),
                );
                self.master.replid2 = cached.replid.clone();
                self.master.second_replid_offset = self.master.repl_offset + 1;
                self.master.replid = new_id.to_string();
                cached.replid = new_id.to_string();
                self.emit_replid_changed("the master continued with a new replication ID");
                self.disconnect_replicas();
            }
            self.resurrect_cached_master(cached);
            if self.master.backlog.is_none() {
                self.create_backlog();
            }
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
            );
            // Bytes after the +CONTINUE line are already the stream.
            let rest = self
                .replica
                .link
                .as_mut()
                .map(|l| std::mem::take(&mut l.inbuf))
                .unwrap_or_default();
            if !rest.is_empty() {
                self.feed_master_client(&rest);
            }
            return false;
        }
        if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
            self.log(
                LogLevel::Notice,
                format!("Master is currently unable to PSYNC but should be in the future: {line}"),
            );
            self.replica_link_lost("Retrying with master later");
            return false;
        }
        if line.starts_with("-ERR") {
            self.log(
                LogLevel::Notice,
                format!("Master does not support PSYNC or is in error state (reply: {line})"),
            );
        } else {
            self.log(
                LogLevel::Warning,
                format!("Unexpected reply to PSYNC from master: {line}"),
            );
        }
        // PSYNC_NOT_SUPPORTED: fall back to SYNC; the RDB follows without +FULLRESYNC.
        self.log(LogLevel::Notice, "Retrying with SYNC...");
        self.send_to_master(&[b"SYNC".as_slice()]);
        if let Some(link) = self.replica.link.as_mut() {
            link.initial_offset = -1;
            link.master_replid.clear();
        }
        self.replica.cached = None;
        self.open_sync_file();
        self.set_link_state(LinkState::Transfer);
        true
    }

    /// `useDisklessLoad`: whether the payload is parsed from the socket (no file on disk).
    fn use_diskless_load(&self) -> bool {
        match self.cfg.repl_diskless_load {
            DisklessLoad::Disabled => false,
            DisklessLoad::OnEmptyDb => self.keyspace.key_count() == 0,
            DisklessLoad::Swapdb => true,
        }
    }

    /// `syncWithMaster` once a full sync is on: without diskless load, the temporary file the
    /// payload will be written to, `temp-<unixtime>.<pid>.rdb`.
    fn open_sync_file(&mut self) {
        if self.use_diskless_load() {
            return;
        }
        let name = format!("temp-{}.{}.rdb", self.now_s(), self.process_id);
        if let Some(link) = self.replica.link.as_mut() {
            link.sync_file = Some(name.clone());
            self.out
                .push(super::node::Output::SyncFile(SyncFile::Create { name }));
        }
    }

    /// The driver could not do a [`SyncFile`] operation on `name`: what `syncWithMaster`
    /// (open) and `readSyncBulkPayload` (write, fsync, rename) do then. A failed open ends
    /// the handshake, retried by the next replicationCron; the others cancel the transfer
    /// (the temporary file is unlinked) and dial the master again at once.
    pub(crate) fn sync_file_failed(&mut self, name: &str, step: SyncFileStep, error: &str) {
        let Some(link) = self.replica.link.as_ref() else {
            return;
        };
        let in_transfer = link.sync_file.as_deref() == Some(name);
        let after_load = link.last_sync_file.as_deref() == Some(name);
        if !in_transfer && !after_load {
            return; // a sync cancelled meanwhile
        }
        let dbfilename = self.cfg.dbfilename.clone();
        let line = match step {
            SyncFileStep::Open => format!(
                "Opening the temp file needed for MASTER <-> REPLICA synchronization: {error}"
            ),
            SyncFileStep::Write => format!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {error}"),
            SyncFileStep::Fsync => format!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {error}"),
            SyncFileStep::Rename => format!("Failed trying to rename the temp DB into {dbfilename} in MASTER <-> REPLICA synchronization: {error}"),
            SyncFileStep::FsyncDir => format!("Failed trying to sync DB directory {dbfilename} in MASTER <-> REPLICA synchronization: {error}"),
        };
        self.log(LogLevel::Warning, line);
        if in_transfer {
            if step == SyncFileStep::Open {
                // syncWithMaster's `error:`: the link closes, nothing to unlink, no
                // reconnection before the next replicationCron.
                if let Some(link) = self.replica.link.as_mut() {
                    link.sync_file = None;
                }
                self.reset_master_link();
            } else {
                self.cancel_transfer_and_reconnect();
            }
            return;
        }
        // The payload was complete and the node, not waiting for the disk, loaded it; Redis
        // had flushed its data, failed before rdbLoad and cancelled the sync: no data, no
        // master client, the master dialled again.
        if let Some(link) = self.replica.link.as_mut() {
            link.loading = None;
        }
        self.empty_data();
        if let Some(link) = self.replica.link.as_mut() {
            link.client = None;
            link.sync_file_installed = false;
            link.last_sync_file = None;
        }
        self.replica.cached = None;
        self.free_backlog();
        let before = self.drop_master_link();
        if before.is_some_and(|s| s != LinkState::Connect) {
            self.emit(Event::LinkStateChanged {
                state: LinkState::Connect,
            });
        }
        self.dial_master("Reconnecting", " after failure");
    }

    /// The payload is complete: its file becomes `dbfilename` (then `rdbLoad` reads it).
    fn install_sync_file(&mut self) {
        let to = self.cfg.dbfilename.clone();
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        let Some(name) = link.sync_file.take() else {
            return;
        };
        link.sync_file_installed = true;
        link.last_sync_file = Some(name.clone());
        self.out
            .push(super::node::Output::SyncFile(SyncFile::Install {
                name,
                to,
            }));
    }

    /// After loading the installed file: a replica without persistence (no save points, no
    /// AOF) under `rdb-del-sync-files yes` removes it.
    fn remove_installed_sync_file(&mut self) {
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        if !std::mem::take(&mut link.sync_file_installed) {
            return;
        }
        let all_persistence_disabled =
            self.cfg.save.is_empty() && self.cfg.inert_value("appendonly") == "no";
        if self.cfg.inert_value("rdb-del-sync-files") == "yes" && all_persistence_disabled {
            self.log(
                LogLevel::Notice,
                "Removing the RDB file obtained from the master. This replica has persistence disabled",
            );
            let name = self.cfg.dbfilename.clone();
            self.out
                .push(super::node::Output::SyncFile(SyncFile::Remove { name }));
        }
    }

    /// What `rdbLoadRio` logs of the AUX fields as it meets them.
    pub(super) fn log_rdb_aux(&mut self, aux: &[(String, String)]) {
        let now_s = self.now_s() as i64;
        for (key, value) in aux {
            let line = if key.starts_with('%') {
                format!("RDB '{key}': {value}")
            } else {
                match key.to_ascii_lowercase().as_str() {
                    "redis-ver" => format!("Loading RDB produced by version {value}"),
                    // `time(NULL) - strtol(…)`, negative ages shown as 0; C wraps an
                    // overflow (a forged ctime), so does this.
                    "ctime" => format!(
                        "RDB age {} seconds",
                        now_s.wrapping_sub(rdb::atoll(value)).max(0)
                    ),
                    "used-mem" => format!(
                        "RDB memory usage when created {:.2} Mb",
                        rdb::atoll(value) as f64 / (1024.0 * 1024.0)
                    ),
                    "aof-preamble" if rdb::atoll(value) != 0 => "RDB has an AOF tail".into(),
                    "aof-base" if rdb::atoll(value) != 0 => "RDB is base AOF".into(),
                    _ => continue,
                }
            };
            self.log(LogLevel::Notice, line);
        }
    }

    /// `readSyncBulkPayload`: header line, then the payload, loaded as it comes.
    fn transfer_step(&mut self) -> bool {
        let has_payload = self
            .replica
            .link
            .as_ref()
            .is_some_and(|l| l.transfer.is_some());
        if !has_payload {
            let Some(line) = self.take_line() else {
                return false;
            };
            if line.is_empty() {
                return true; // keepalive newline
            }
            if let Some(err) = line.strip_prefix('-') {
                self.log(
                    LogLevel::Warning,
                    format!("MASTER aborted replication with an error: {err}"),
                );
                self.replica_link_lost("Full sync aborted by the master");
                return false;
            }
            let Some(header) = line.strip_prefix('$') else {
                self.log(LogLevel::Warning, format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"));
                self.replica_link_lost("Bad protocol from MASTER");
                return false;
            };
            let diskless = self.use_diskless_load();
            let to = if diskless { "parser" } else { "disk" };
            let delimiter = match header.strip_prefix("EOF:") {
                Some(mark) if mark.len() >= EOF_MARK_LEN => {
                    self.log(
                        LogLevel::Notice,
                        format!(
                            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to {to}"
                        ),
                    );
                    let mut eofmark = [0u8; EOF_MARK_LEN];
                    eofmark.copy_from_slice(&mark.as_bytes()[..EOF_MARK_LEN]);
                    Delimiter::Mark(eofmark)
                }
                _ => {
                    let size = header.parse::<usize>().unwrap_or(0);
                    self.log(
                        LogLevel::Notice,
                        format!(
                            "MASTER <-> REPLICA sync: receiving {size} bytes from master to {to}"
                        ),
                    );
                    Delimiter::Size(size)
                }
            };
            if let Some(link) = self.replica.link.as_mut() {
                let to_file = !diskless && link.sync_file.is_some();
                link.transfer = Some(Transfer::new(delimiter, TRANSFER_BYTES_MAX, to_file));
            }
            if diskless {
                self.start_diskless_load();
            }
            return true;
        }
        let Some(link) = self.replica.link.as_mut() else {
            return false;
        };
        let bytes = std::mem::take(&mut link.inbuf);
        let Some(transfer) = link.transfer.as_mut() else {
            return false;
        };
        let eof_mode = transfer.is_diskless();
        let progress = transfer.feed(&bytes);
        let chunk = transfer.take_file_bytes();
        if !chunk.is_empty() {
            if let Some(name) = link.sync_file.clone() {
                self.out
                    .push(super::node::Output::SyncFile(SyncFile::Append {
                        name,
                        bytes: chunk,
                    }));
            }
        }
        match progress {
            Progress::Reading => false,
            Progress::TooBig => {
                // As Redis when the temporary file cannot take more (a full disk).
                self.log(LogLevel::Warning, "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: No space left on device");
                self.emit(Event::RdbLoadFailed {
                    reason: format!(
                        "the payload is over the replica's {TRANSFER_BYTES_MAX}-byte transfer budget"
                    ),
                });
                self.cancel_transfer_and_reconnect();
                false
            }
            Progress::Done {
                loaded,
                bytes,
                rest,
            } => {
                let failed_aux = self
                    .replica
                    .link
                    .as_mut()
                    .and_then(|l| l.transfer.take())
                    .map(|mut t| t.take_failed_aux())
                    .unwrap_or_default();
                self.load_transferred_rdb(loaded, bytes, eof_mode, rest, failed_aux);
                false
            }
        }
    }

    /// The end of `readSyncBulkPayload`: swap in the new dataset and become CONNECTED.
    fn load_transferred_rdb(
        &mut self,
        loaded: Result<Loaded, RdbError>,
        bytes: usize,
        eof_mode: bool,
        leftover: Vec<u8>,
        failed_aux: Vec<(String, String)>,
    ) {
        if self
            .replica
            .link
            .as_ref()
            .is_some_and(|l| l.diskless.is_some())
        {
            return self.diskless_payload_done(loaded, bytes, eof_mode, leftover);
        }
        // replicationAttachToNewMaster → replicationDiscardCachedMaster, once the whole
        // payload is in and before loading it; sub-replicas must resync, our backlog is
        // history.
        self.attach_to_new_master();
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Flushing old data",
        );
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(err) => return self.disk_load_failed(err, failed_aux),
        };
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Loading DB in memory",
        );
        // The file is renamed over dbfilename, then rdbLoad reads it.
        self.install_sync_file();
        self.log_rdb_aux(&loaded.aux);
        // emptyData: the old dataset is gone while the new one loads.
        self.load_or_wait(loaded, bytes, eof_mode, leftover, true);
    }

    /// The disk branch of `readSyncBulkPayload` with a payload `rdbLoad` finds bad: the old
    /// data is flushed first (`emptyData`), the file renamed over `dbfilename`, then
    /// `rdbLoad` logs what it met and fails. A bad signature or version only fails the sync
    /// (retried at once); anything else goes through `rdbReportError`, which, for a file
    /// being loaded, runs redis-check-rdb and exits the process with status 1.
    fn disk_load_failed(&mut self, err: RdbError, aux: Vec<(String, String)>) {
        self.empty_data();
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Loading DB in memory",
        );
        self.install_sync_file();
        self.log_rdb_aux(&aux);
        let reason = err.reason.clone();
        self.emit(Event::RdbLoadFailed {
            reason: err.to_string(),
        });
        let fatal = !(reason.starts_with("Wrong signature")
            || reason.starts_with("Can't handle RDB format version"));
        if !fatal {
            self.log(LogLevel::Warning, reason);
            self.log(
                LogLevel::Warning,
                "Failed trying to load the MASTER synchronization DB from disk: Invalid argument",
            );
            let installed = self
                .replica
                .link
                .as_ref()
                .is_some_and(|l| l.sync_file_installed);
            self.cancel_transfer_and_reconnect();
            if let Some(link) = self.replica.link.as_mut() {
                link.sync_file_installed = installed;
            }
            self.remove_installed_sync_file();
            return;
        }
        // `server.loading_loaded_bytes`: brought up to date only every
        // loading-process-events-interval-bytes (2 MB) of the file.
        let at = err.offset - err.offset % LOADING_INTERVAL_BYTES;
        let (line, what) = if reason == "Unexpected EOF reading RDB file" {
            self.log(
                LogLevel::Warning,
                "Short read or OOM loading DB. Unrecoverable error, aborting now.",
            );
            (3240, reason)
        } else if let Some(sums) = reason.strip_prefix("RDB CRC error: ") {
            self.log(LogLevel::Warning, format!("{sums}. Aborting now."));
            (3216, "RDB CRC error".to_string())
        } else {
            (3240, reason)
        };
        self.log(
            LogLevel::Warning,
            format!(
                "Internal error in RDB reading offset {at}, function at rdb.c:{line} -> {what}"
            ),
        );
        // redis-check-rdb then exits the process (`exit(1)`).
        self.crash_exit();
    }

    /// Installs the loaded RDB, or, under `key-load-delay`, keeps the replica loading until
    /// its last key is in (`empty_first`: the old dataset goes meanwhile, as `emptyData`).
    fn load_or_wait(
        &mut self,
        loaded: Loaded,
        bytes: usize,
        eof_mode: bool,
        leftover: Vec<u8>,
        empty_first: bool,
    ) {
        let keys = loaded.keyspace.key_count();
        let delay_us = key_delay::total_us(self.cfg.key_load_delay, keys);
        if delay_us == 0 {
            return self.loaded_transferred_rdb(loaded, bytes, eof_mode, leftover);
        }
        if empty_first {
            self.empty_data();
        }
        let until_ms = self.now_ms + delay_us.div_ceil(1000);
        if let Some(link) = self.replica.link.as_mut() {
            link.loading = Some(SlowLoad {
                until_ms,
                loaded,
                bytes,
                eof_mode,
                rest: leftover,
            });
        }
    }

    /// `emptyData` of every db: watchers are touched, the data goes, and with it the keys a
    /// writable replica expires itself (`flushSlaveKeysWithExpire`).
    fn empty_data(&mut self) {
        self.touch_all_watched(None);
        self.keyspace = Default::default();
        self.replica_expires.clear();
        self.memory.replaced();
    }

    /// `replicationAttachToNewMaster`: the cached master is discarded, our replicas must
    /// resync with us, and our backlog is history.
    fn attach_to_new_master(&mut self) {
        if self.replica.cached.take().is_some() {
            self.log(
                LogLevel::Notice,
                "Discarding previously cached master state.",
            );
        }
        self.disconnect_replicas();
        self.free_backlog();
    }

    /// The diskless branch of `readSyncBulkPayload` once the header is in: swapdb loads into
    /// a temporary dataset; otherwise the old data goes now. The replica is loading from here
    /// to the payload's end.
    fn start_diskless_load(&mut self) {
        let swapdb = self.cfg.repl_diskless_load == DisklessLoad::Swapdb;
        if !swapdb {
            self.attach_to_new_master();
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Flushing old data",
            );
            self.empty_data();
        }
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Loading DB in memory",
        );
        let our_replid = self.master.replid.clone();
        if let Some(link) = self.replica.link.as_mut() {
            link.diskless = Some(DisklessLoading {
                swapdb,
                async_loading: swapdb && link.master_replid == our_replid,
            });
        }
    }

    /// The diskless payload ended: the load is over (or, under `key-load-delay`, goes on
    /// until its last key), or it failed.
    fn diskless_payload_done(
        &mut self,
        loaded: Result<Loaded, RdbError>,
        bytes: usize,
        eof_mode: bool,
        leftover: Vec<u8>,
    ) {
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                let reason = err.to_string();
                self.log(
                    LogLevel::Warning,
                    format!("Internal error in RDB reading offset {bytes}, function at rdb.c:3240 -> {reason}. Failure loading rdb format"),
                );
                self.emit(Event::RdbLoadFailed { reason });
                return self.diskless_load_failed("Invalid argument");
            }
        };
        self.log_rdb_aux(&loaded.aux);
        // Diskless: the old data went (or waits for the swap) when the payload began.
        self.load_or_wait(loaded, bytes, eof_mode, leftover, false);
    }

    /// A diskless load that could not finish (`loadingFailed`): swapdb keeps the old data,
    /// otherwise what was loaded is dropped; the link is dialled again.
    fn diskless_load_failed(&mut self, why: &str) {
        let Some(state) = self.replica.link.as_mut().and_then(|l| l.diskless.take()) else {
            return;
        };
        self.log(
            LogLevel::Warning,
            format!("Failed trying to load the MASTER synchronization DB from socket: {why}"),
        );
        if state.swapdb {
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Discarding temporary DB in background",
            );
        } else {
            self.empty_data();
        }
        self.cancel_transfer_and_reconnect();
    }

    /// The connection broke in the middle of a diskless load: the parser sees the end of the
    /// socket, as Redis's `rioConnRead` does. True if that was the case.
    pub(crate) fn diskless_load_interrupted(&mut self, why: &str) -> bool {
        let Some(link) = self.replica.link.as_ref() else {
            return false;
        };
        if link.diskless.is_none() || link.transfer.is_none() {
            return false;
        }
        let read = link.transfer.as_ref().map_or(0, |t| t.read());
        self.log(
            LogLevel::Warning,
            format!("Internal error in RDB reading offset {read}, function at rdb.c:3240 -> Unexpected EOF reading RDB file. Failure loading rdb format from socket, assuming connection error, resuming operation."),
        );
        self.diskless_load_failed(why);
        true
    }

    /// `server.loading` / `server.async_loading`: (loading, async) for INFO and `-LOADING`.
    pub(crate) fn loading_state(&self) -> (bool, bool) {
        if self.slow_load_until_ms().is_some() {
            let async_loading = self
                .replica
                .link
                .as_ref()
                .and_then(|l| l.diskless)
                .is_some_and(|d| d.async_loading);
            return (!async_loading, async_loading);
        }
        match self.replica.link.as_ref().and_then(|l| l.diskless) {
            Some(d) => (!d.async_loading, d.async_loading),
            None => (false, false),
        }
    }

    /// When a slow load (`key-load-delay`) ends.
    pub(crate) fn slow_load_until_ms(&self) -> Option<u64> {
        let link = self.replica.link.as_ref()?;
        link.loading.as_ref().map(|l| l.until_ms)
    }

    /// Ends a slow load: the dataset is in, the link goes on as after any full sync.
    pub(crate) fn finish_slow_load(&mut self) {
        let Some(load) = self.replica.link.as_mut().and_then(|l| l.loading.take()) else {
            return;
        };
        self.loaded_transferred_rdb(load.loaded, load.bytes, load.eof_mode, load.rest);
    }

    /// `rdbLoad` returned: the new dataset is in, the master client is created, CONNECTED.
    fn loaded_transferred_rdb(
        &mut self,
        loaded: Loaded,
        bytes: usize,
        eof_mode: bool,
        leftover: Vec<u8>,
    ) {
        let diskless = self.replica.link.as_mut().and_then(|l| l.diskless.take());
        // rdbLoadRio's last line: a replica expires nothing it loads.
        self.log(
            LogLevel::Notice,
            format!(
                "Done loading RDB, keys loaded: {}, keys expired: 0.",
                loaded.keyspace.key_count()
            ),
        );
        let swapdb = diskless.as_ref().is_some_and(|d| d.swapdb);
        self.touch_all_watched(swapdb.then_some(&loaded.keyspace));
        if diskless.is_some_and(|d| d.swapdb) {
            // The temporary dataset becomes the dataset: the history of our own replicas
            // and of the cached master ends here.
            self.attach_to_new_master();
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Swapping active DB with loaded DB",
            );
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Discarding old DB in background",
            );
        }
        self.keyspace = loaded.keyspace;
        if diskless.is_some() {
            // "Inform about db change, as replication was diskless and didn't cause a save."
            self.dirty += 1;
        }
        self.replica_expires.clear();
        self.memory.replaced();
        let keys = self.keyspace.key_count();
        let (master_replid, offset) = match self.replica.link.as_ref() {
            Some(l) => (l.master_replid.clone(), l.initial_offset),
            None => return,
        };
        let stream_db = loaded
            .repl
            .as_ref()
            .map_or(0, |r| r.repl_stream_db.max(0) as usize);
        self.emit(Event::RdbLoaded {
            bytes,
            keys,
            offset,
        });
        // replicationCreateMasterClient + the CONNECTED bookkeeping.
        self.master.replid = master_replid.clone();
        self.master.repl_offset = offset;
        self.master.replid2 = "0".repeat(40);
        self.master.second_replid_offset = -1;
        self.emit_replid_changed("full sync from the master");
        self.create_backlog();
        self.remove_installed_sync_file();
        let client_id = self.new_client_id();
        self.install_master_client(master_replid, offset, stream_db, client_id);
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Finished with success",
        );
        if eof_mode {
            // The master streams to a diskless replica only after this first ACK.
            self.send_ack();
        }
        if !leftover.is_empty() {
            self.feed_master_client(&leftover);
        }
    }

    /// `replicationResurrectCachedMaster` after `+CONTINUE`: the same client comes back, with
    /// the db it had selected.
    fn resurrect_cached_master(&mut self, cached: CachedMaster) {
        self.install_master_client(cached.replid, cached.reploff, cached.db, cached.client_id);
    }

    fn install_master_client(&mut self, replid: String, reploff: i64, db: usize, id: u64) {
        let now_s = self.now_s();
        if let Some(link) = self.replica.link.as_mut() {
            link.client = Some(MasterClient {
                id,
                last_cmd: None,
                created_s: now_s,
                replid,
                reploff,
                read_reploff: reploff,
                parser: RequestParser::new(),
                db,
                in_multi: None,
                unforwarded: Vec::new(),
                raw: Vec::new(),
                raw_pos: 0,
                last_interaction_s: now_s,
                protocol_error: false,
            });
        }
        self.replica.down_since_s = 0;
        self.set_link_state(LinkState::Connected);
    }

    fn feed_master_client(&mut self, bytes: &[u8]) {
        if let Some(client) = self
            .replica
            .link
            .as_mut()
            .and_then(|l| l.client.as_mut())
            .filter(|c| !c.protocol_error)
        {
            client.read_reploff += bytes.len() as i64;
            client.parser.feed(bytes);
            client.raw.extend_from_slice(bytes);
        }
        self.apply_master_stream();
    }

    /// Executes every complete command from the master, then forwards the applied bytes to
    /// our own backlog and sub-replicas (`commandProcessed`,
    /// `replicationFeedStreamFromMasterStream`).
    fn apply_master_stream(&mut self) {
        loop {
            let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) else {
                return;
            };
            let req = match client.parser.next_request() {
                Ok(Some(req)) => req,
                Ok(None) => return,
                Err(err) => {
                    self.master_protocol_error(&err.0);
                    return;
                }
            };
            if req.inline && !is_bare_newline(&client.raw[client.raw_pos..]) {
                // `processInlineBuffer`: a master may send a lone newline to keep the link
                // alive, never an inline command.
                self.log(LogLevel::Warning, "WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.");
                self.master_protocol_error("Master using the inline protocol. Desync?");
                return;
            }
            // Exactly the bytes the master sent for this command (inline or not): Redis
            // forwards `querybuf` slices (`commandProcessed` →
            // `replicationFeedStreamFromMasterStream`), never a re-encoding.
            let raw = client.raw_pos..(client.raw_pos + req.wire_len).min(client.raw.len());
            client.raw_pos = raw.end;
            if !req.argv.is_empty() {
                self.execute_from_master(req.argv);
            }
            let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) else {
                return;
            };
            client.unforwarded.extend_from_slice(&client.raw[raw]);
            if client.raw_pos == client.raw.len() {
                client.raw.clear();
                client.raw_pos = 0;
                // After a big command, its bytes' buffer goes (as the query buffer's does).
                if client.raw.capacity() > PROTO_RESIZE_THRESHOLD {
                    client.raw = Vec::new();
                }
            } else if client.raw_pos > 64 * 1024 {
                client.raw.drain(..client.raw_pos);
                client.raw_pos = 0;
            }
            if client.in_multi.is_none() {
                client.reploff = client.read_reploff - client.parser.pending() as i64;
                // The buffer goes back afterwards, emptied, to be filled by the next command.
                let mut bytes = std::mem::take(&mut client.unforwarded);
                self.feed_stream_from_master(&bytes);
                bytes.clear();
                if bytes.capacity() > PROTO_RESIZE_THRESHOLD {
                    bytes = Vec::new();
                }
                if let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) {
                    client.unforwarded = bytes;
                }
            }
        }
    }

    /// `setProtocolError` on the master client. Redis logs it (as a warning: it is our
    /// master), applies nothing more, and frees the client once a reply to it is written —
    /// our next `REPLCONF ACK`, within a second (see [`Node::replica_cron`]). A client freed
    /// for a protocol error is not cached (`freeClient`), so the next sync asks `PSYNC ? -1`.
    fn master_protocol_error(&mut self, errstr: &str) {
        let Some(link) = self.replica.link.as_mut() else {
            return;
        };
        let (addr, port) = (link.host.clone(), link.port);
        let Some(client) = link.client.as_mut() else {
            return;
        };
        client.protocol_error = true;
        let sample = query_buffer_sample(&client.raw[client.raw_pos..]);
        let db = client.db;
        self.log(
            LogLevel::Warning,
            format!("Protocol error ({errstr}) from client: addr={addr}:{port} flags=M db={db}. {sample}"),
        );
    }

    /// `replicationFeedStreamFromMasterStream`: the identical bytes go to our backlog and our
    /// sub-replicas, so offsets and replid are the same all down a chain.
    fn feed_stream_from_master(&mut self, bytes: &[u8]) {
        if self.master.backlog.is_none() || bytes.is_empty() {
            return;
        }
        let what = if bytes.starts_with(b"*1\r\n$4\r\nping") {
            "ping"
        } else {
            "stream"
        };
        self.feed_stream(bytes, what);
    }

    /// Runs one command sent by the master (no replies except the GETACK answer).
    fn execute_from_master(&mut self, argv: Vec<Vec<u8>>) {
        let is = |name: &[u8]| argv[0].eq_ignore_ascii_case(name);
        let (multi, exec, discard) = (is(b"multi"), is(b"exec"), is(b"discard"));
        let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) else {
            return;
        };
        if let Some(queue) = client.in_multi.as_mut() {
            if !exec && !discard {
                queue.push(argv);
                return;
            }
        }
        if multi || exec || discard {
            if let Some(name) = super::command_stats::name_of(&argv) {
                self.command_stats.called(name, false);
            }
        }
        let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) else {
            return;
        };
        if multi {
            client.in_multi = Some(Vec::new());
        } else if discard {
            client.in_multi = None;
        } else if exec {
            let queued = client.in_multi.take().unwrap_or_default();
            for cmd in queued {
                self.run_master_command(cmd);
            }
        } else {
            self.run_master_command(argv);
        }
        // A write from our master may feed clients blocked on a writable replica.
        self.handle_clients_blocked_on_keys();
    }

    fn run_master_command(&mut self, argv: Vec<Vec<u8>>) {
        let error = match commands::lookup(&argv[0]) {
            None => Some(match commands::unknown_command(&argv) {
                Reply::Error(e) => e,
                _ => String::new(),
            }),
            Some(spec) if !spec.arity_ok(argv.len()) => Some(format!(
                "ERR wrong number of arguments for '{}' command",
                spec.name
            )),
            Some(spec) => match spec.handler {
                Handler::Data(_) => {
                    let db = self
                        .replica
                        .link
                        .as_ref()
                        .and_then(|l| l.client.as_ref())
                        .map_or(0, |c| c.db);
                    let (reply, db, _, _) =
                        self.exec_data(db, ExpireView::MasterClient, spec, &argv, false);
                    if let Some(c) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) {
                        c.db = db;
                    }
                    match reply {
                        Reply::Error(e) => Some(e),
                        _ => None,
                    }
                }
                Handler::Node => match spec.name {
                    // `replconfCommand` as for any client: GETACK answers with an ACK, a
                    // malformed one (`REPLCONF GETACK` alone) is a syntax error.
                    "replconf" => {
                        let conn = self.replica.link_conn().unwrap_or(ConnId::Out(0));
                        match self.replconf_command(conn, &argv) {
                            Some(Reply::Error(e)) => Some(e),
                            _ => None,
                        }
                    }
                    // Other node commands from a master (e.g. CONFIG) are not replicated in practice.
                    _ => None,
                },
            },
        };
        self.stats.total_commands_processed += 1;
        if let Some(name) = super::command_stats::name_of(&argv) {
            self.command_stats.called(name, error.is_some());
            if let Some(c) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) {
                c.last_cmd = Some(name);
            }
        }
        self.emit(Event::Command {
            conn: self.replica.link_conn().unwrap_or(ConnId::Out(0)),
            argv: super::argv::Argv::new(&argv),
            from_master: true,
            error: error.clone(),
        });
        if let Some(e) = error {
            let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
            let e = logged_error(&e);
            self.log(LogLevel::Warning, format!("== CRITICAL == This replica is sending an error to its master: '{e}' after processing the command '{name}'"));
        }
        if let Some(client) = self.replica.link.as_mut().and_then(|l| l.client.as_mut()) {
            client.parser.recycle(argv);
        }
    }

    /// `replicationSendAck`: `REPLCONF ACK <reploff>`.
    pub(crate) fn send_ack(&mut self) {
        let Some(offset) = self
            .replica
            .link
            .as_ref()
            .and_then(|l| l.client.as_ref())
            .map(|c| c.reploff)
        else {
            return;
        };
        let off = offset.to_string();
        self.send_to_master(&[b"REPLCONF".as_slice(), b"ACK", off.as_bytes()]);
        self.emit(Event::AckSent { offset });
    }

    /// ROLE on a replica, `None` on a master.
    pub(crate) fn replica_role_reply(&self) -> Option<Reply> {
        let link = self.replica.link.as_ref()?;
        Some(Reply::Array(vec![
            Reply::bulk("slave"),
            Reply::bulk(&link.host),
            Reply::Integer(link.port as i64),
            Reply::bulk(link.state.role_word()),
            Reply::Integer(link.client.as_ref().map_or(-1, |c| c.reploff)),
        ]))
    }

    /// The replica half of `replicationCron`: timeouts, reconnects, and the ACK every second.
    pub(crate) fn replica_cron(&mut self) {
        let now_s = self.now_s();
        let timeout = self.cfg.repl_timeout;
        let Some(link) = self.replica.link.as_ref() else {
            return;
        };
        let state = link.state;
        let idle = now_s.saturating_sub(link.transfer_lastio_s);
        let conn = link.conn.unwrap_or(ConnId::Out(0));
        let master_idle = link
            .client
            .as_ref()
            .map(|c| now_s.saturating_sub(c.last_interaction_s));
        if (state == LinkState::Connecting || state.is_handshake()) && idle > timeout {
            self.log(LogLevel::Warning, "Timeout connecting to the MASTER...");
            self.emit(Event::Timeout {
                conn,
                what: "connecting to the master".into(),
            });
            self.drop_master_link();
        } else if state == LinkState::Transfer
            && idle > timeout
            && self.diskless_load_interrupted("Connection timed out")
        {
            // A diskless load reads the socket with repl-timeout as its receive timeout.
        } else if state == LinkState::Transfer && idle > timeout {
            self.log(LogLevel::Warning, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            self.emit(Event::Timeout {
                conn,
                what: "receiving the RDB".into(),
            });
            self.drop_master_link();
        } else if let Some(master_idle) = master_idle {
            if master_idle > timeout {
                self.log(
                    LogLevel::Warning,
                    "MASTER timeout: no data nor PING received...",
                );
                self.emit(Event::Timeout {
                    conn,
                    what: "master silent".into(),
                });
                self.replica_link_lost("Connection with master lost.");
                return;
            }
        }
        if self.replica.state() == LinkState::Connect {
            self.dial_master("Connecting", "");
        }
        if self.replica.is_connected() {
            self.send_ack();
            self.free_master_after_protocol_error();
        }
    }

    /// The master client flagged by [`Node::master_protocol_error`] goes once its ACK is
    /// written, without being cached: "Connection with master lost.", then a new sync.
    fn free_master_after_protocol_error(&mut self) {
        let flagged = self
            .replica
            .link
            .as_ref()
            .and_then(|l| l.client.as_ref())
            .is_some_and(|c| c.protocol_error);
        if flagged {
            self.replica_link_lost("Connection with master lost.");
        }
    }
}

/// Error replies Redis sends from its shared objects (`createSharedObjects`), whose text
/// starts with `-ERR`: the rest of the plain `ERR` errors are formatted without the code.
const SHARED_ERR_REPLIES: [&str; 4] = [
    "ERR syntax error",
    "ERR no such key",
    "ERR source and destination objects are the same",
    "ERR index out of range",
];

/// An error reply as `afterErrorReply` logs it: the string the command passed, so with its
/// `-` when it named its own code (or is a shared object), without `ERR ` when Redis added
/// that code itself (`addReplyError(c, "value is not an integer…")`).
fn logged_error(e: &str) -> String {
    match e.strip_prefix("ERR ") {
        Some(text) if !SHARED_ERR_REPLIES.contains(&e) => text.to_string(),
        _ => format!("-{e}"),
    }
}

/// An inline "command" that is only a line end (`querylen == 0`): the keepalive a master
/// may send, as opposed to an inline command. `rest` starts at the line.
fn is_bare_newline(rest: &[u8]) -> bool {
    rest.starts_with(b"\n") || rest.starts_with(b"\r\n")
}

/// How many bytes of the query buffer a protocol error log line shows (`PROTO_DUMP_LEN`).
const PROTO_DUMP_LEN: usize = 128;

/// The sample of the unread query buffer `setProtocolError` logs: all of it if short, else
/// its first and last 64 bytes; unprintable bytes shown as dots.
fn query_buffer_sample(rest: &[u8]) -> String {
    let printable = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if (b' '..=b'~').contains(&c) {
                    c as char
                } else {
                    '.'
                }
            })
            .collect()
    };
    if rest.len() < PROTO_DUMP_LEN {
        return format!("Query buffer during protocol error: '{}'", printable(rest));
    }
    let half = PROTO_DUMP_LEN / 2;
    format!(
        "Query buffer during protocol error: '{}' (... more {} bytes ...) '{}'",
        printable(&rest[..half]),
        rest.len() - PROTO_DUMP_LEN,
        printable(&rest[rest.len() - half..])
    )
}
