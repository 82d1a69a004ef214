//! Snapshots to "disk" and back: SAVE / BGSAVE / LASTSAVE, the `save` points of serverCron,
//! and loading an RDB at startup (`loadDataFromDisk`), which restores the replication
//! identity so that a restarted node can continue partially. The node never touches a file:
//! it emits [`Output::SaveRdb`] and the driver (the native server, the simulator's virtual
//! disk) stores the bytes.

use super::event::LogLevel;
use super::keyspace::Keyspace;
use super::node::{Node, Output};
use super::rdb::{self, ReplInfo};
use super::resp::Reply;

impl Node {
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
        rdb::save(
            keyspace,
            &rdb::SaveOptions {
                redis_ver: super::info::REDIS_VERSION,
                ctime_secs: self.now_s(),
                used_mem: 0,
                repl: self.save_info(),
            },
        )
    }

    /// Writes a snapshot (SAVE, BGSAVE, a save point): the driver stores it.
    fn persist(&mut self, reason: &str) {
        let bytes = self.snapshot();
        self.dirty = 0;
        self.lastsave_s = self.now_s();
        self.out.push(Output::SaveRdb { bytes });
        self.log(LogLevel::Notice, format!("{reason}: DB saved on disk"));
    }

    /// `SAVE`, `BGSAVE [SCHEDULE]` and `LASTSAVE`.
    pub(crate) fn save_command(&mut self, name: &str, argv: &[Vec<u8>]) -> Reply {
        match name {
            "save" => {
                self.persist("SAVE");
                Reply::ok()
            }
            "bgsave" => {
                if argv.len() > 1 && !(argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"schedule"))
                {
                    return Reply::error("ERR syntax error");
                }
                self.persist("Background saving");
                Reply::Simple("Background saving started".into())
            }
            _ => Reply::Integer(self.lastsave_s as i64),
        }
    }

    /// serverCron's save points: `save <seconds> <changes>` pairs.
    pub(crate) fn check_save_points(&mut self) {
        let now_s = self.now_s();
        let due = self.cfg.save.iter().find(|(secs, changes)| {
            self.dirty >= *changes && now_s.saturating_sub(self.lastsave_s) >= *secs
        });
        if let Some((secs, changes)) = due.copied() {
            self.log(
                LogLevel::Notice,
                format!("{changes} changes in {secs} seconds. Saving..."),
            );
            self.persist("Background saving");
        }
    }

    /// `loadDataFromDisk`: loads `bytes` (an RDB this node saved before it stopped). A master
    /// keeps the file's replication ID as replid2 so its replicas can continue partially; a
    /// replica (configured with `replicaof`) caches its old master from it and will PSYNC.
    /// Keys already expired are dropped by a master and kept by a replica.
    pub fn load_from_disk(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let loaded = rdb::load(bytes).map_err(|e| e.to_string())?;
        self.keyspace = loaded.keyspace;
        let is_master = !self.replica.is_replica();
        if is_master {
            // rdbLoad on a master skips expired keys (and would propagate their DELs).
            let now = self.now_ms;
            for i in 0..self.keyspace.dbs.len() {
                self.keyspace
                    .db_mut(i)
                    .retain(|_, entry| !entry.is_due(now));
            }
        }
        let keys = self.keyspace.key_count();
        self.log(LogLevel::Notice, "DB loaded from disk");
        let Some(info) = loaded
            .repl
            .filter(|r| r.repl_offset != -1 && r.repl_stream_db != -1)
        else {
            return Ok(keys);
        };
        if is_master {
            self.master.replid2 = info.repl_id;
            self.master.second_replid_offset = info.repl_offset + 1;
            self.master.repl_offset += info.repl_offset;
            self.create_backlog();
            self.master.no_replicas_since_s = self.now_s();
            self.emit_replid_changed("restarted from an RDB with replication info");
        } else {
            self.master.replid = info.repl_id.clone();
            self.master.repl_offset = info.repl_offset;
            self.replica
                .set_cached(info.repl_id, info.repl_offset, info.repl_stream_db);
        }
        Ok(keys)
    }
}
