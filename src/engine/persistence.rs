//! Snapshots to "disk" and back: SAVE / BGSAVE / LASTSAVE, the `save` points of serverCron,
//! and loading an RDB at startup (`loadDataFromDisk`), which restores the replication
//! identity so that a restarted node can continue partially. The node never touches a file:
//! it emits [`Output::SaveRdb`] and the driver (the native server, the simulator's virtual
//! disk) stores the bytes and answers [`Input::SaveDone`]: only then does SAVE answer (`+OK`
//! or Redis's bare `-ERR`), and a failed save shows as `rdb_last_bgsave_status:err`.
//!
//! [`Input::SaveDone`]: super::node::Input::SaveDone

use std::collections::VecDeque;

use super::event::LogLevel;
use super::key_delay;
use super::keyspace::Keyspace;
use super::master::SIGUSR1;
use super::node::{ConnId, Node, Output};
use super::rdb::{self, ReplInfo};
use super::resp::Reply;

/// What writes (and PING) get while the last background save failed (`shared.bgsaveerr`).
pub(crate) const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Seconds before a save point tries again after a failed save (`CONFIG_BGSAVE_RETRY_DELAY`):
/// a full disk is not hammered ten times a second.
const SAVE_RETRY_DELAY_S: u64 = 5;

/// The node's snapshots: those the driver is writing, and how the last ones went.
#[derive(Clone, Debug)]
pub(crate) struct Persistence {
    /// Saves handed to the driver, oldest first: who waits for each and `dirty` when it
    /// started (`dirty_before_bgsave`).
    in_flight: VecDeque<SaveJob>,
    /// Unix seconds of the last successful save (`LASTSAVE`).
    pub(crate) lastsave_s: u64,
    /// Unix seconds of the last save attempt (`lastbgsave_try`).
    last_try_s: u64,
    /// `lastbgsave_status`: whether the last background save (or any successful save) went
    /// well.
    pub(crate) last_bgsave_ok: bool,
    /// `rdb_saves`: snapshots started.
    saves: u64,
    /// Whether a background save has finished yet (`rdb_last_bgsave_time_sec` is -1 before).
    pub(crate) bgsave_done: bool,
    /// Keys the last load from disk skipped as expired, and kept.
    pub(crate) last_load_keys_expired: u64,
    pub(crate) last_load_keys_loaded: u64,
    /// A background save slowed down by `rdb-key-save-delay`: when its child is done, and
    /// the file it then hands to the driver.
    slowed: Option<(u64, Vec<u8>)>,
    /// A slowed-down background save killed (`killRDBChild`): when serverCron reaps it.
    killed_reap_ms: Option<u64>,
}

#[derive(Clone, Debug)]
struct SaveJob {
    requester: SaveFor,
    dirty_before: u64,
    /// `DEBUG RELOAD`: the file, loaded back once it is written.
    reload: Option<Reload>,
}

/// What a `DEBUG RELOAD` loads once its save is written.
#[derive(Clone, Debug)]
struct Reload {
    rdb: Vec<u8>,
    /// Whether the dataset is emptied first (no `NOFLUSH`).
    flush: bool,
}

/// Who waits for a snapshot's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SaveFor {
    /// A SAVE client.
    Client(ConnId),
    /// Nobody: BGSAVE, a save point.
    Background,
    /// The shutdown in progress (its final snapshot).
    Shutdown,
    /// FLUSHALL's save of the emptied dataset: nobody waits, its reply is already `+OK`.
    Flush,
}

impl Persistence {
    pub(crate) fn new(now_s: u64) -> Self {
        Persistence {
            in_flight: VecDeque::new(),
            lastsave_s: now_s,
            last_try_s: 0,
            last_bgsave_ok: true,
            saves: 0,
            bgsave_done: false,
            last_load_keys_expired: 0,
            last_load_keys_loaded: 0,
            slowed: None,
            killed_reap_ms: None,
        }
    }
}

impl Node {
    /// `writeCommandsDeniedByDiskError`: save points are set, the last background save
    /// failed, and `stop-writes-on-bgsave-error` says to refuse writes until one succeeds.
    pub(crate) fn writes_denied_by_disk_error(&self) -> bool {
        self.cfg.stop_writes_on_bgsave_error
            && !self.cfg.save.is_empty()
            && !self.persistence.last_bgsave_ok
    }

    /// The `# Persistence` section of INFO: the RDB fields (replscope has no AOF, no fork,
    /// and loads only at startup).
    pub(crate) fn persistence_info(&self) -> String {
        let p = &self.persistence;
        let bgsave_in_progress = self.rdb_child_running();
        let (loading, async_loading) = self.loading_state();
        format!(
            "# Persistence\r\nloading:{}\r\nasync_loading:{}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:0\r\n",
            u8::from(loading),
            u8::from(async_loading),
            self.dirty,
            u8::from(bgsave_in_progress),
            p.lastsave_s,
            if p.last_bgsave_ok { "ok" } else { "err" },
            if p.bgsave_done { 0 } else { -1 },
            if bgsave_in_progress { 0 } else { -1 },
            p.saves,
            p.last_load_keys_expired,
            p.last_load_keys_loaded,
        )
    }

    /// `rdbPopulateSaveInfo`: the replication info a snapshot carries, if any.
    pub(crate) fn save_info(&self) -> Option<ReplInfo> {
        let db = if self.replica.is_replica() {
            self.replica.stream_db()?
        } else {
            self.master.backlog.as_ref()?;
            self.master.slaveseldb.max(0) as i32
        };
        Some(ReplInfo {
            repl_stream_db: db,
            repl_id: self.master.replid.clone(),
            repl_offset: self.master.repl_offset,
        })
    }

    /// The dataset as an RDB file, as `rdbSave` writes it now.
    pub fn snapshot(&self) -> Vec<u8> {
        self.snapshot_of(&self.keyspace)
    }

    /// The RDB of a replica that filtered the data out (`SLAVE_REQ_RDB_EXCLUDE_DATA`): the
    /// AUX fields alone.
    pub(crate) fn snapshot_without_data(&self) -> Vec<u8> {
        self.snapshot_of(&Keyspace::default())
    }

    fn snapshot_of(&self, keyspace: &Keyspace) -> Vec<u8> {
        self.snapshot_keyed(keyspace).0
    }

    /// A snapshot of `keyspace` with where each key ends in it (see [`rdb::save_keyed`]).
    pub(crate) fn snapshot_keyed(&self, keyspace: &Keyspace) -> (Vec<u8>, Vec<usize>) {
        rdb::save_keyed(
            keyspace,
            &rdb::SaveOptions {
                redis_ver: super::info::REDIS_VERSION,
                ctime_secs: self.now_s(),
                used_mem: 0,
                rdbcompression: self.cfg.rdbcompression,
                repl: self.save_info(),
            },
        )
    }

    /// Hands a snapshot to the driver (SAVE, BGSAVE, a save point); `requester` is the SAVE
    /// client to answer when the driver says how it went.
    fn persist(&mut self, requester: SaveFor) {
        self.persist_job(requester, None);
    }

    /// A save: the file goes to the driver now, or once the child's `rdb-key-save-delay`
    /// pauses are over. A foreground save (SAVE, DEBUG RELOAD) stops the node that long, as
    /// Redis's `rdbSave` in the main thread does.
    fn persist_job(&mut self, requester: SaveFor, reload: Option<bool>) {
        let (bytes, key_ends) = self.snapshot_keyed(&self.keyspace);
        let delay_us = key_delay::total_us(self.cfg.rdb_key_save_delay, key_ends.len());
        let reload = reload.map(|flush| Reload {
            rdb: bytes.clone(),
            flush,
        });
        match requester {
            SaveFor::Background => self.count_background_save(),
            // `saveCommand` counts its save; `rdbSave` alone (FLUSHALL, SHUTDOWN, DEBUG
            // RELOAD) does not.
            SaveFor::Client(_) => self.persistence.saves += 1,
            SaveFor::Shutdown | SaveFor::Flush => {}
        }
        let p = &mut self.persistence;
        p.in_flight.push_back(SaveJob {
            requester,
            dirty_before: self.dirty,
            reload,
        });
        if delay_us == 0 {
            self.out.push(Output::SaveRdb { bytes });
        } else if requester != SaveFor::Background {
            self.pause(delay_us);
            self.out.push(Output::SaveRdb { bytes });
        } else {
            self.persistence.slowed = Some((self.now_ms + delay_us.div_ceil(1000), bytes));
        }
    }

    /// `rdbSaveBackground`: `rdb_saves` and `lastbgsave_try` count a background save.
    pub(crate) fn count_background_save(&mut self) {
        let now_s = self.now_s();
        self.persistence.saves += 1;
        self.persistence.last_try_s = now_s;
    }

    /// A full sync's disk child wrote its snapshot: the file goes to the driver as a
    /// background save's, with `dirty` as it was at the fork.
    pub(crate) fn child_saved(&mut self, bytes: Vec<u8>, dirty_before: u64) {
        self.persistence.in_flight.push_back(SaveJob {
            requester: SaveFor::Background,
            dirty_before,
            reload: None,
        });
        self.out.push(Output::SaveRdb { bytes });
    }

    /// When a slowed-down background save is done, or a killed one reaped.
    pub(crate) fn persistence_due_ms(&self) -> Option<u64> {
        let slowed = self.persistence.slowed.as_ref().map(|(due, _)| *due);
        match (slowed, self.persistence.killed_reap_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A slowed-down background save that is done hands its file to the driver; a killed
    /// one is reaped (`backgroundSaveDoneHandlerDisk`: SIGUSR1 is no error).
    pub(crate) fn persistence_timers(&mut self) {
        let now = self.now_ms;
        if self
            .persistence
            .slowed
            .as_ref()
            .is_some_and(|(due, _)| *due <= now)
        {
            if let Some((_, bytes)) = self.persistence.slowed.take() {
                self.out.push(Output::SaveRdb { bytes });
            }
        }
        if self
            .persistence
            .killed_reap_ms
            .is_some_and(|due| due <= now)
        {
            self.persistence.killed_reap_ms = None;
            self.persistence.bgsave_done = true;
            self.log(
                LogLevel::Warning,
                format!("Background saving terminated by signal {SIGUSR1}"),
            );
        }
    }

    /// `child_type == CHILD_TYPE_RDB`: a background save or a full sync's snapshot runs
    /// (or was killed and is not reaped yet).
    pub(crate) fn rdb_child_running(&self) -> bool {
        self.persistence
            .in_flight
            .iter()
            .any(|j| j.requester == SaveFor::Background)
            || self.persistence.killed_reap_ms.is_some()
            || self.master.child.is_some()
    }

    /// `killRDBChild` (FLUSHALL, SHUTDOWN): the snapshot child in progress, a full sync's
    /// or a background save's slowed down by `rdb-key-save-delay`, gets SIGUSR1. A slowed
    /// save's file is never written (a save after it must not be taken for it).
    pub(crate) fn kill_rdb_children(&mut self) {
        self.kill_rdb_child();
        if self.persistence.slowed.take().is_some() {
            let p = &mut self.persistence;
            if let Some(i) = p
                .in_flight
                .iter()
                .rposition(|j| j.requester == SaveFor::Background)
            {
                p.in_flight.remove(i);
            }
            self.persistence.killed_reap_ms = Some(self.next_cron_reap_ms());
        }
    }

    /// `flushAllDataAndResetRDB`: a snapshot child in progress is killed (it saves a dataset
    /// that is gone), and with save points the empty dataset is saved at once (`rdbSave`),
    /// so that a restart does not bring the flushed keys back.
    pub(crate) fn flushall_reset_rdb(&mut self) {
        self.kill_rdb_children();
        if !self.cfg.save.is_empty() {
            self.persist(SaveFor::Flush);
        }
    }

    /// The final snapshot of a shutdown (`rdbSave` in `finishShutdown`).
    pub(crate) fn persist_for_shutdown(&mut self) {
        self.persist(SaveFor::Shutdown);
    }

    /// The driver wrote the oldest snapshot in flight (`ok`) or failed to.
    pub(crate) fn save_done(&mut self, ok: bool) {
        let Some(job) = self.persistence.in_flight.pop_front() else {
            return;
        };
        let now_s = self.now_s();
        if ok {
            self.dirty = self.dirty.saturating_sub(job.dirty_before);
            self.persistence.lastsave_s = now_s;
            self.persistence.last_bgsave_ok = true;
            if job.requester != SaveFor::Shutdown {
                self.log(LogLevel::Notice, "DB saved on disk");
            }
        }
        let reloaded = match job.reload {
            Some(reload) if ok => Some(self.reload(&reload)),
            _ => None,
        };
        match job.requester {
            SaveFor::Shutdown => self.shutdown_saved(ok),
            SaveFor::Flush => {}
            SaveFor::Client(conn) => {
                // A failed SAVE answers Redis's shared bare error and leaves the status alone.
                let reply = match reloaded {
                    Some(Err(())) => Reply::error("ERR Error trying to load the RDB dump"),
                    _ if ok => Reply::ok(),
                    _ => Reply::error("ERR"),
                };
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.awaiting_driver = false;
                    self.reply(conn, &reply);
                    self.resume_client(conn);
                }
            }
            SaveFor::Background => {
                self.persistence.bgsave_done = true;
                if ok {
                    self.log(
                        LogLevel::Notice,
                        "Background saving terminated with success",
                    );
                } else {
                    self.persistence.last_bgsave_ok = false;
                    self.log(LogLevel::Warning, "Background saving error");
                }
            }
        }
    }

    /// `SAVE`, `BGSAVE [SCHEDULE]` and `LASTSAVE`. `None`: SAVE answers when the driver has
    /// written the file (inside EXEC, where nothing can wait, it answers at once).
    pub(crate) fn save_command(
        &mut self,
        conn: ConnId,
        name: &str,
        argv: &[Vec<u8>],
    ) -> Option<Reply> {
        Some(match name {
            "save" if self.in_exec => {
                self.persist(SaveFor::Background);
                Reply::ok()
            }
            "save" if self.rdb_child_running() => {
                Reply::error("ERR Background save already in progress")
            }
            "save" => {
                self.persist(SaveFor::Client(conn));
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.awaiting_driver = true;
                }
                return None;
            }
            "bgsave" => {
                if argv.len() > 1 && !(argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"schedule"))
                {
                    return Some(Reply::error("ERR syntax error"));
                }
                if !self.persistence.in_flight.is_empty() || self.rdb_child_running() {
                    return Some(Reply::error("ERR Background save already in progress"));
                }
                self.persist(SaveFor::Background);
                Reply::Simple("Background saving started".into())
            }
            _ => Reply::Integer(self.persistence.lastsave_s as i64),
        })
    }

    /// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`: saves the RDB (as SAVE does, so the
    /// native server writes the file) and replaces the dataset with what loading that file
    /// gives (`rdbLoad` without replication info: a master drops the keys already expired).
    /// The reply waits for the file, as SAVE's does. replscope never reads the file back,
    /// so `NOSAVE` is refused; `NOFLUSH` loads over the dataset (a conflict there is fatal in
    /// Redis, and loading a node's own save conflicts on every key), as with `MERGE`.
    pub(crate) fn debug_reload(&mut self, conn: ConnId, options: &[Vec<u8>]) -> Option<Reply> {
        let mut flush = true;
        for opt in options {
            match opt.to_ascii_lowercase().as_slice() {
                b"merge" => {}
                b"noflush" => flush = false,
                b"nosave" => {
                    return Some(Reply::error(
                        "ERR replscope loads back only what it saves: DEBUG RELOAD NOSAVE is not supported",
                    ))
                }
                _ => {
                    return Some(Reply::error(
                        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                    ))
                }
            }
        }
        if self.in_exec {
            // Nothing waits inside EXEC: the file is handed over and loaded back at once.
            let rdb = self.snapshot();
            self.persist(SaveFor::Background);
            return Some(match self.reload(&Reload { rdb, flush }) {
                Ok(()) => Reply::ok(),
                Err(()) => Reply::error("ERR Error trying to load the RDB dump"),
            });
        }
        self.persist_job(SaveFor::Client(conn), Some(flush));
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_driver = true;
        }
        None
    }

    /// The load half of `DEBUG RELOAD`.
    fn reload(&mut self, reload: &Reload) -> Result<(), ()> {
        let loaded = rdb::load(&reload.rdb).map_err(|_| ())?;
        let mut keyspace = loaded.keyspace;
        if !self.replica.is_replica() {
            let now = self.now_ms;
            for i in 0..keyspace.dbs.len() {
                keyspace.db_mut(i).retain(|_, entry| !entry.is_due(now));
            }
        }
        if reload.flush {
            self.touch_all_watched(None);
            self.keyspace = keyspace;
        } else {
            for (i, db) in keyspace.dbs.iter().enumerate() {
                for (key, entry) in db.iter() {
                    self.keyspace.db_mut(i).insert(key.clone(), entry.clone());
                }
            }
        }
        self.memory.replaced();
        self.log(LogLevel::Warning, "DB reloaded by DEBUG RELOAD");
        Ok(())
    }

    /// serverCron's save points: `save <seconds> <changes>` pairs.
    pub(crate) fn check_save_points(&mut self) {
        let now_s = self.now_s();
        let p = &self.persistence;
        let may_try = p.last_bgsave_ok || now_s.saturating_sub(p.last_try_s) > SAVE_RETRY_DELAY_S;
        if !p.in_flight.is_empty() || !may_try {
            return;
        }
        let due = self.cfg.save.iter().find(|(secs, changes)| {
            self.dirty >= *changes && now_s.saturating_sub(p.lastsave_s) >= *secs
        });
        if let Some((secs, changes)) = due.copied() {
            self.log(
                LogLevel::Notice,
                format!("{changes} changes in {secs} seconds. Saving..."),
            );
            self.persist(SaveFor::Background);
        }
    }

    /// `loadDataFromDisk`: loads `bytes` (an RDB this node saved before it stopped). A master
    /// keeps the file's replication ID as replid2 so its replicas can continue partially; a
    /// replica (configured with `replicaof`) caches its old master from it and will PSYNC.
    /// Keys already expired are dropped by a master and kept by a replica.
    pub fn load_from_disk(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let loaded = rdb::load(bytes).map_err(|e| e.to_string())?;
        self.log_rdb_aux(&loaded.aux);
        self.keyspace = loaded.keyspace;
        self.memory.replaced();
        let is_master = !self.replica.is_replica();
        let repl = loaded
            .repl
            .filter(|r| r.repl_offset != -1 && r.repl_stream_db != -1);
        let mut expired = 0;
        if is_master {
            if let Some(info) = &repl {
                // The backlog exists before the keys load (`RDBFLAGS_FEED_REPL`), so the
                // DELs of keys found expired go into it, after the restored offset.
                self.master.replid2 = info.repl_id.clone();
                self.master.second_replid_offset = info.repl_offset + 1;
                self.master.repl_offset += info.repl_offset;
            }
            // Always, as `loadDataFromDisk` does: the DELs go to a backlog, which is dropped
            // again below when the file had no replication info (the offset still moved).
            self.create_backlog();
            // rdbLoad on a master skips keys already expired, in file order.
            let now = self.now_ms;
            let del: &[u8] = if self.cfg.lazyfree_lazy_expire {
                b"UNLINK"
            } else {
                b"DEL"
            };
            for db in 0..self.keyspace.dbs.len() {
                let due: Vec<Vec<u8>> = self.keyspace.dbs[db]
                    .iter()
                    .filter(|(_, e)| e.is_due(now))
                    .map(|(k, _)| k.clone())
                    .collect();
                if due.is_empty() {
                    continue;
                }
                expired += due.len() as u64;
                self.keyspace.db_mut(db).retain(|_, e| !e.is_due(now));
                for key in due {
                    self.feed_command(Some(db), &[del.to_vec(), key]);
                }
            }
            if repl.is_none() {
                self.free_backlog();
            }
        }
        let keys = self.keyspace.key_count();
        self.persistence.last_load_keys_expired = expired;
        self.persistence.last_load_keys_loaded = keys as u64;
        // rdbLoad's last line, then `loadDataFromDisk`'s (loading takes no virtual time).
        self.log(
            LogLevel::Notice,
            format!("Done loading RDB, keys loaded: {keys}, keys expired: {expired}."),
        );
        self.log(LogLevel::Notice, "DB loaded from disk: 0.000 seconds");
        let Some(info) = repl else {
            return Ok(keys);
        };
        if is_master {
            self.master.no_replicas_since_s = self.now_s();
            self.emit_replid_changed("restarted from an RDB with replication info");
        } else {
            self.master.replid = info.repl_id.clone();
            self.master.repl_offset = info.repl_offset;
            let client_id = self.new_client_id();
            self.replica.set_cached(
                info.repl_id,
                info.repl_offset,
                info.repl_stream_db,
                client_id,
            );
        }
        Ok(keys)
    }
}
