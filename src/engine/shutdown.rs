//! `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]` and shutdown on SIGTERM/SIGINT, as Redis
//! 7.0 does them (`shutdownCommand`, `prepareForShutdown`, `finishShutdown`): a master with
//! lagging replicas asks them for an ACK and waits up to `shutdown-timeout` seconds, then the
//! final RDB is saved when save points are set (or SAVE is asked) unless NOSAVE, carrying the
//! replication ID and offset so that the restarted node (master or replica) can continue
//! with a partial resync. The node then asks its driver to exit ([`Output::Exit`]); a failed
//! save keeps it running and answers the waiting clients with an error.

use super::event::{LogLevel, ReplicaState};
use super::node::{ConnId, Node, Output};
use super::resp::Reply;

/// `SHUTDOWN_*` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ShutdownFlags {
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// A shutdown under way: waiting for replicas, or for the final snapshot to be written.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShutdownState {
    flags: ShutdownFlags,
    /// Unix ms after which lagging replicas are no longer waited for (`shutdown_mstime`).
    deadline_ms: Option<u64>,
    /// Clients blocked in SHUTDOWN (`BLOCKED_SHUTDOWN`), answered if it fails.
    waiting: Vec<ConnId>,
    /// The final snapshot was handed to the driver and its outcome is awaited.
    saving: bool,
    /// A signal asked for a shutdown at the next cron (`shutdown_asap`).
    asap: bool,
}

/// The signals a driver passes on ([`super::node::Input::Signal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownSignal {
    Term,
    Int,
}

/// What a failed shutdown answers its clients (`replyToClientsBlockedOnShutdown`).
const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

impl Node {
    /// `SHUTDOWN ...`; `None` while the client waits (or the node is exiting).
    pub(crate) fn shutdown_command(&mut self, conn: ConnId, argv: &[Vec<u8>]) -> Option<Reply> {
        let mut flags = ShutdownFlags::default();
        let mut abort = false;
        for arg in &argv[1..] {
            match arg.to_ascii_lowercase().as_slice() {
                b"nosave" => flags.nosave = true,
                b"save" => flags.save = true,
                b"now" => flags.now = true,
                b"force" => flags.force = true,
                b"abort" => abort = true,
                _ => return Some(Reply::error("ERR syntax error")),
            }
        }
        if (abort && flags != ShutdownFlags::default()) || (flags.nosave && flags.save) {
            return Some(Reply::error("ERR syntax error"));
        }
        if abort {
            return Some(if self.abort_shutdown() {
                Reply::ok()
            } else {
                Reply::error("ERR No shutdown in progress.")
            });
        }
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_driver = true;
        }
        // Only clients still connected wait: the list never outgrows the client table.
        let clients = &self.clients;
        self.shutdown.waiting.retain(|c| clients.contains_key(c));
        self.shutdown.waiting.push(conn);
        self.prepare_for_shutdown(flags);
        None
    }

    /// A signal from the driver: SIGTERM and SIGINT schedule a shutdown for the next cron.
    pub(crate) fn shutdown_signal(&mut self, signal: ShutdownSignal) {
        let msg = match signal {
            ShutdownSignal::Term => "Received SIGTERM scheduling shutdown...",
            ShutdownSignal::Int => "Received SIGINT scheduling shutdown...",
        };
        self.log(LogLevel::Warning, msg);
        self.shutdown.asap = true;
    }

    fn shutdown_initiated(&self) -> bool {
        self.shutdown.deadline_ms.is_some() || self.shutdown.saving
    }

    /// `prepareForShutdown`.
    fn prepare_for_shutdown(&mut self, flags: ShutdownFlags) {
        if self.shutdown_initiated() {
            return;
        }
        self.shutdown.flags = flags;
        self.log(LogLevel::Warning, "User requested shutdown...");
        let timeout_s: u64 = self
            .cfg
            .inert_value("shutdown-timeout")
            .parse()
            .unwrap_or(10);
        if !flags.now && timeout_s != 0 && !self.replicas_in_sync() {
            self.shutdown.deadline_ms = Some(self.now_ms + timeout_s * 1000);
            self.send_getack_to_replicas();
            self.log(
                LogLevel::Notice,
                "Waiting for replicas before shutting down.",
            );
            return;
        }
        self.finish_shutdown();
    }

    /// `isReadyToShutdown`: every replica acknowledged the whole stream.
    fn replicas_in_sync(&self) -> bool {
        let offset = self.master.repl_offset;
        self.clients
            .values()
            .filter_map(|c| c.replica.as_ref())
            .all(|r| r.ack_off == offset)
    }

    /// serverCron's part: a signal's shutdown starts, a waiting one ends when the replicas
    /// caught up or the timeout passed.
    pub(crate) fn shutdown_cron(&mut self) {
        if self.shutdown.asap && !self.shutdown_initiated() {
            self.shutdown.asap = false;
            self.prepare_for_shutdown(ShutdownFlags::default());
        } else if let Some(deadline) = self.shutdown.deadline_ms {
            if !self.shutdown.saving && (self.now_ms >= deadline || self.replicas_in_sync()) {
                self.finish_shutdown();
            }
        }
    }

    /// `finishShutdown`, up to handing the final snapshot to the driver.
    fn finish_shutdown(&mut self) {
        let offset = self.master.repl_offset;
        let now_s = self.now_s();
        let mut lagging = Vec::new();
        let mut replicas = 0;
        for (conn, c) in &self.clients {
            let Some(r) = c.replica.as_ref() else {
                continue;
            };
            replicas += 1;
            if r.ack_off != offset {
                let lag = if r.state == ReplicaState::Online {
                    now_s.saturating_sub(r.ack_time_s)
                } else {
                    0
                };
                lagging.push((*conn, offset - r.ack_off, lag, r.state.info_word()));
            }
        }
        for (conn, behind, lag, state) in &lagging {
            let name = self.replica_name(*conn);
            self.log(
                LogLevel::Warning,
                format!("Lagging replica {name} reported offset {behind} behind master, lag={lag}, state={state}."),
            );
        }
        if replicas > 0 {
            self.log(
                LogLevel::Notice,
                format!(
                    "{} of {replicas} replicas are in sync when shutting down.",
                    replicas - lagging.len()
                ),
            );
        }
        if self.rdb_child_running() {
            self.log(
                LogLevel::Warning,
                "There is a child saving an .rdb. Killing it!",
            );
            self.kill_replication_child();
            self.kill_rdb_children();
        }
        let flags = self.shutdown.flags;
        if (!self.cfg.save.is_empty() && !flags.nosave) || flags.save {
            self.log(
                LogLevel::Notice,
                "Saving the final RDB snapshot before exiting.",
            );
            self.shutdown.saving = true;
            self.persist_for_shutdown();
            return;
        }
        self.exit();
    }

    /// The driver wrote (or failed to write) the final snapshot.
    pub(crate) fn shutdown_saved(&mut self, ok: bool) {
        self.shutdown.saving = false;
        if ok {
            self.log(LogLevel::Notice, "DB saved on disk");
        } else if self.shutdown.flags.force {
            self.log(
                LogLevel::Warning,
                "Error trying to save the DB. Exit anyway.",
            );
        } else {
            self.log(
                LogLevel::Warning,
                "Error trying to save the DB, can't exit.",
            );
            self.log(
                LogLevel::Warning,
                "Errors trying to shut down the server. Check the logs for more information.",
            );
            self.cancel_shutdown();
            return;
        }
        self.exit();
    }

    /// The end: the replicas were given what was queued for them; the driver exits.
    fn exit(&mut self) {
        // The driver removes the files (`finishShutdown`, `closeListeningSockets`).
        if self.cfg.inert_value("daemonize") == "yes" || !self.cfg.inert_value("pidfile").is_empty()
        {
            self.log(LogLevel::Notice, "Removing the pid file.");
        }
        if !self.cfg.inert_value("unixsocket").is_empty() {
            self.log(LogLevel::Notice, "Removing the unix socket file.");
        }
        self.log(LogLevel::Warning, "Redis is now ready to exit, bye bye...");
        self.out.push(Output::Exit);
    }

    /// Writes wait while a shutdown waits for its replicas (`PAUSE_DURING_SHUTDOWN`).
    pub(crate) fn writes_paused(&self) -> bool {
        self.shutdown.deadline_ms.is_some()
    }

    /// `cancelShutdown`: waiting clients get the error and run again, and the writes held
    /// meanwhile run (`unpauseClients`).
    fn cancel_shutdown(&mut self) {
        let waiting = std::mem::take(&mut self.shutdown.waiting);
        self.shutdown = Default::default();
        for conn in waiting {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.awaiting_driver = false;
                self.reply(conn, &Reply::error(SHUTDOWN_FAILED));
                self.resume_client(conn);
            }
        }
        let held: Vec<(ConnId, Vec<Vec<u8>>)> = self
            .clients
            .iter_mut()
            .filter_map(|(conn, c)| c.postponed.take().map(|argv| (*conn, argv)))
            .collect();
        for (conn, argv) in held {
            self.process_command(conn, argv);
            self.resume_client(conn);
        }
    }

    /// `abortShutdown` (SHUTDOWN ABORT): true if there was one to abort.
    fn abort_shutdown(&mut self) -> bool {
        if self.shutdown_initiated() && !self.shutdown.saving {
            self.cancel_shutdown();
        } else if self.shutdown.asap {
            self.shutdown.asap = false;
        } else {
            return false;
        }
        self.log(LogLevel::Notice, "Shutdown manually aborted.");
        true
    }
}
