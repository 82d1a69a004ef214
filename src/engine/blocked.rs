//! Clients blocked on keys (blocked.c and timeout.c in Redis 7.0): BLPOP and the other
//! blocking list and sorted-set commands park their client here until a write creates one
//! of its keys, its timeout passes, `CLIENT UNBLOCK` frees it, or the node turns into a
//! replica.
//!
//! - A blocking command that finds nothing to pop leaves a `BlockRequest` (see
//!   `commands::blocking`); [`Node::block_on_keys`] parks the client (`blockForKeys`): it
//!   runs no further command until unblocked, and gets no reply yet.
//! - A write that creates a list or a sorted set some client waits on marks the key ready
//!   (`signalKeyAsReady`); after the command (a whole EXEC, a command from our master) or
//!   before the node sleeps, [`Node::handle_clients_blocked_on_keys`] serves the clients
//!   waiting on each ready key, in the order they blocked, each as its own execution unit:
//!   it is answered and its pop is propagated (`LPOP key`, `LMOVE …`, `ZPOPMIN key`…).
//! - An unblocked client's pipelined commands run before the node sleeps
//!   (`processUnblockedClients`), after the command that unblocked it.
//! - A timed-out client gets a null array once the clock is past its deadline
//!   (`checkBlockedClientTimeout`). The node asks to be woken one millisecond after the
//!   deadline ([`Node::poll_timeout`]); Redis checks in `beforeSleep`, so it answers at its
//!   next event-loop turn, up to one `serverCron` period (100 ms) later.

use std::collections::{BTreeMap, VecDeque};

use super::commands::{self, BlockRequest, BlockedOp, CommandSpec, ExpireView};
use super::keyspace::Value;
use super::node::{ConnId, Node};
use super::resp::Reply;

/// What a client blocked on keys waits for (`c->bpop` and `c->lastcmd`).
#[derive(Clone, Debug)]
pub(crate) struct KeyBlock {
    /// The db it blocked in; its keys are in that db.
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    pub op: BlockedOp,
    /// Times out once the clock is past this (unix ms); `None` waits until served.
    pub deadline_ms: Option<u64>,
    /// The command that blocked: its flags decide how a serve is wrapped in MULTI/EXEC.
    pub spec: &'static CommandSpec,
}

/// The node's side of blocking: who waits on which key, which keys became ready, and
/// which clients were just unblocked. Each is bounded by the clients connected
/// (`maxclients`) times the keys one command names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Blocked {
    /// `db->blocking_keys`: (db, key) → the clients blocked on it, oldest first.
    keys: BTreeMap<(usize, Vec<u8>), VecDeque<ConnId>>,
    /// `server.ready_keys`: keys created since they were last served, each once, in order.
    ready: Vec<(usize, Vec<u8>)>,
    /// `server.unblocked_clients`: clients whose pipelined commands wait to run.
    unblocked: VecDeque<ConnId>,
}

impl Blocked {
    /// True if some client is blocked on a key (`signalKeyAsReady`'s quick return).
    pub(crate) fn any(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Forgets `conn` on each of `block`'s keys (`unblockClientWaitingData`).
    fn release(&mut self, conn: ConnId, block: &KeyBlock) {
        for key in &block.keys {
            let entry = (block.db, key.clone());
            if let Some(waiting) = self.keys.get_mut(&entry) {
                waiting.retain(|c| *c != conn);
                if waiting.is_empty() {
                    self.keys.remove(&entry);
                }
            }
        }
    }
}

/// The error a blocked client gets when the node turns into a replica
/// (`disconnectAllBlockedClients`); the client is then closed.
pub(crate) const UNBLOCKED_ROLE_CHANGE: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

impl Node {
    /// How the node's normal clients see expired keys.
    fn client_view(&self) -> ExpireView {
        if self.replica.is_replica() {
            ExpireView::Replica
        } else {
            ExpireView::Master
        }
    }

    /// `blockForKeys`: parks `conn` on the keys of `req`, after the clients already there.
    pub(crate) fn block_on_keys(
        &mut self,
        conn: ConnId,
        spec: &'static CommandSpec,
        db: usize,
        req: BlockRequest,
    ) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        for key in &req.keys {
            self.blocked
                .keys
                .entry((db, key.clone()))
                .or_default()
                .push_back(conn);
        }
        client.key_block = Some(KeyBlock {
            db,
            keys: req.keys,
            op: req.op,
            deadline_ms: req.deadline_ms,
            spec,
        });
    }

    /// A client blocked on keys is freed (closed, killed): it waits on nothing any more.
    pub(crate) fn forget_key_block(&mut self, conn: ConnId, block: &KeyBlock) {
        self.blocked.release(conn, block);
    }

    /// `unblockClient` for a client blocked on keys: it waits on nothing any more, and its
    /// pipelined commands run before the node sleeps (`queueClientForReprocessing`).
    fn unblock_keys(&mut self, conn: ConnId) {
        let Some(block) = self.clients.get_mut(&conn).and_then(|c| c.key_block.take()) else {
            return;
        };
        self.blocked.release(conn, &block);
        if !self.blocked.unblocked.contains(&conn) {
            self.blocked.unblocked.push_back(conn);
        }
    }

    /// `signalKeyAsReady` for keys a command created as lists or sorted sets: those some
    /// client waits on are queued to be served, each once.
    pub(crate) fn signal_ready(&mut self, created: Vec<(usize, Vec<u8>)>) {
        for key in created {
            if self.blocked.keys.contains_key(&key) && !self.blocked.ready.contains(&key) {
                self.blocked.ready.push(key);
            }
        }
    }

    /// `scanDatabaseForReadyKeys`, after SWAPDB gave `db` another db's keys: each key some
    /// client waits on in `db` that now holds a list or a sorted set is ready (expired or
    /// not: serving looks it up again). Clients stay in the db they blocked in.
    pub(crate) fn scan_db_for_ready_keys(&mut self, db: usize) {
        let Some(keys) = self.keyspace.dbs.get(db) else {
            return;
        };
        let ready: Vec<(usize, Vec<u8>)> = self
            .blocked
            .keys
            .range((db, Vec::new())..(db.saturating_add(1), Vec::new()))
            .map(|(entry, _)| entry)
            .filter(|(_, key)| {
                keys.get(key.as_slice())
                    .is_some_and(|e| matches!(e.value, Value::List(_) | Value::ZSet(_)))
            })
            .cloned()
            .collect();
        self.signal_ready(ready);
    }

    /// `handleClientsBlockedOnKeys`: serves the clients waiting on each ready key, again
    /// and again while serving makes more keys ready (a BLMOVE pushing on a key others wait
    /// on).
    pub(crate) fn handle_clients_blocked_on_keys(&mut self) {
        while !self.blocked.ready.is_empty() {
            for (db, key) in std::mem::take(&mut self.blocked.ready) {
                let view = self.client_view();
                let (kind, expired) = {
                    let mut ctx = self.data_ctx(db, view);
                    commands::blocking_kind(&mut ctx, &key)
                };
                // A key expired by this lookup is deleted as its own unit.
                if !expired.is_empty() {
                    self.propagate_unit(expired);
                }
                if let Some(is_list) = kind {
                    self.serve_key(db, &key, is_list);
                }
            }
        }
    }

    /// Serves the clients waiting on `key` for its type, oldest first, until it is deleted.
    fn serve_key(&mut self, db: usize, key: &[u8], is_list: bool) {
        let Some(waiting) = self.blocked.keys.get(&(db, key.to_vec())) else {
            return;
        };
        for conn in waiting.iter().copied().collect::<Vec<_>>() {
            let Some(block) = self.clients.get(&conn).and_then(|c| c.key_block.clone()) else {
                continue;
            };
            if block.op.is_list() != is_list {
                continue;
            }
            let view = self.client_view();
            let (served, ops, created, dirtied) = {
                let mut ctx = self.data_ctx(db, view);
                let (served, ops) = commands::serve_blocked(&mut ctx, key, &block.op);
                (served, ops, ctx.take_ready(), ctx.dirtied)
            };
            self.signal_ready(created);
            self.dirty += dirtied;
            if !ops.is_empty() {
                self.propagate_unit(commands::wrap_unit(ops, block.spec));
            }
            self.reply(conn, &served.reply);
            self.unblock_keys(conn);
            if served.deleted {
                break;
            }
        }
    }

    /// The earliest instant a client blocked on keys times out at (one past its deadline).
    pub(crate) fn key_block_due_ms(&self) -> Option<u64> {
        self.clients
            .values()
            .filter_map(|c| c.key_block.as_ref()?.deadline_ms)
            .min()
            .map(|d| d.saturating_add(1))
    }

    /// `handleBlockedClientsTimeout`: clients blocked on keys past their deadline get a
    /// null array.
    pub(crate) fn expire_key_blocks(&mut self) {
        let now = self.now_ms;
        let due: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.key_block
                    .as_ref()
                    .and_then(|b| b.deadline_ms)
                    .is_some_and(|d| d < now)
            })
            .map(|(conn, _)| *conn)
            .collect();
        for conn in due {
            self.reply(conn, &Reply::NilArray);
            self.unblock_keys(conn);
        }
    }

    /// `processUnblockedClients`: runs the commands that arrived while each just unblocked
    /// client was blocked (which may block it again).
    pub(crate) fn process_unblocked_clients(&mut self) {
        while let Some(conn) = self.blocked.unblocked.pop_front() {
            if self.clients.get(&conn).is_some_and(|c| !c.is_blocked()) {
                self.resume_client(conn);
            }
        }
    }

    /// `disconnectAllBlockedClients`, when the node turns into a replica: every client
    /// blocked on keys or in WAIT gets `-UNBLOCKED …` and is closed after it.
    pub(crate) fn disconnect_all_blocked_clients(&mut self) {
        let blocked: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.key_block.is_some() || c.wait.is_some())
            .map(|(conn, _)| *conn)
            .collect();
        for conn in blocked {
            self.reply(conn, &Reply::error(UNBLOCKED_ROLE_CHANGE));
            self.close(conn);
        }
    }

    /// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: a client blocked on keys or in WAIT gets what
    /// its timeout would give it, or `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
    pub(crate) fn client_unblock(&mut self, argv: &[Vec<u8>]) -> Reply {
        if argv.len() > 4 {
            return Reply::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&argv[1])
            ));
        }
        let error = match argv.get(3) {
            None => false,
            Some(r) if r.eq_ignore_ascii_case(b"timeout") => false,
            Some(r) if r.eq_ignore_ascii_case(b"error") => true,
            Some(_) => return Reply::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        };
        let Some(id) = super::resp::parse_i64(&argv[2]) else {
            return Reply::error("ERR value is not an integer or out of range");
        };
        let target = self
            .clients
            .iter()
            .find(|(_, c)| i64::try_from(c.id).is_ok_and(|cid| cid == id))
            .filter(|(_, c)| c.key_block.is_some() || c.wait.is_some())
            .map(|(conn, c)| (*conn, c.wait.as_ref().map(|w| w.offset)));
        let Some((conn, wait_offset)) = target else {
            return Reply::Integer(0);
        };
        let reply = match (error, wait_offset) {
            (true, _) => Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
            (false, Some(offset)) => Reply::Integer(self.count_acks(offset) as i64),
            (false, None) => Reply::NilArray,
        };
        self.reply(conn, &reply);
        if wait_offset.is_some() {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.wait = None;
            }
            if !self.blocked.unblocked.contains(&conn) {
                self.blocked.unblocked.push_back(conn);
            }
        } else {
            self.unblock_keys(conn);
        }
        Reply::Integer(1)
    }
}
