//! `replicationCron`, run once a second: the heartbeats (the master's PING through the stream
//! every `repl-ping-replica-period` seconds, the replica's `REPLCONF ACK` every second), the
//! `repl-timeout` checks on both sides, the deferred diskless BGSAVE, and the backlog TTL.

use super::event::{Event, LogLevel, RdbTarget, ReplicaState};
use super::node::{ConnId, Node};

impl Node {
    pub(crate) fn replication_cron(&mut self) {
        self.replica_cron();
        let now_s = self.now_s();
        let period = self.cfg.repl_ping_replica_period.max(1);
        if self.repl_cron_loops.is_multiple_of(period) && !self.master.replicas.is_empty() {
            // Fed with dictid = slaveseldb: a PING never causes a SELECT.
            self.feed_command(None, &[b"ping".to_vec()]);
            if !self.replica.is_replica() {
                let offset = self.master.repl_offset;
                self.emit(Event::PingSent { offset });
            }
        }
        // Presync keepalive: a newline (not part of the stream) to replicas still waiting.
        let socket_child = self
            .master
            .child
            .as_ref()
            .is_some_and(|c| c.target == RdbTarget::Socket);
        let replicas = self.master.replicas.clone();
        for &conn in &replicas {
            let Some(link) = self.clients.get(&conn).and_then(|c| c.replica.as_ref()) else {
                continue;
            };
            let presync = link.state == ReplicaState::WaitBgsaveStart
                || (link.state == ReplicaState::WaitBgsaveEnd && !socket_child);
            if presync {
                self.send(conn, b"\n".to_vec());
            }
        }
        // Replicas that stopped acknowledging are dropped, and so are diskless transfers whose
        // socket took nothing for repl-timeout (they hold the child back). Only those: a
        // replica in SEND_BULK is never timed out, as in Redis.
        let timeout = self.cfg.repl_timeout;
        let timed_out: Vec<(ConnId, bool)> = replicas
            .iter()
            .copied()
            .filter_map(|conn| {
                let l = self.clients.get(&conn)?.replica.as_ref()?;
                let streaming = l.state == ReplicaState::Online
                    && !l.pre_psync
                    && now_s.saturating_sub(l.ack_time_s) > timeout;
                let stalled = l.state == ReplicaState::WaitBgsaveEnd
                    && socket_child
                    && l.last_partial_write_s
                        .is_some_and(|t| now_s.saturating_sub(t) > timeout);
                (streaming || stalled).then_some((conn, streaming))
            })
            .collect();
        for (conn, streaming) in timed_out {
            let name = self.replica_name(conn);
            let (kind, what) = if streaming {
                ("streaming sync", "replica stopped acknowledging")
            } else {
                ("full sync", "replica stopped taking the RDB")
            };
            self.log(
                LogLevel::Warning,
                format!("Disconnecting timedout replica ({kind}): {name}"),
            );
            self.emit(Event::Timeout {
                conn,
                what: what.into(),
            });
            self.abort(conn);
        }
        // A master without replicas frees its backlog after repl-backlog-ttl.
        let ttl = self.cfg.repl_backlog_ttl;
        if self.master.replicas.is_empty()
            && ttl > 0
            && self.master.backlog.is_some()
            && !self.replica.is_replica()
            && now_s.saturating_sub(self.master.no_replicas_since_s) > ttl
        {
            self.change_replication_id(true, "backlog freed after repl-backlog-ttl");
            self.free_backlog();
            self.log(
                LogLevel::Notice,
                format!(
                    "Replication backlog freed after {ttl} seconds without connected replicas."
                ),
            );
        }
        self.start_pending_fork();
        self.refresh_good_replicas();
        self.repl_cron_loops += 1;
    }

    /// `shouldStartChildReplication`: the deferred diskless BGSAVE starts once the longest
    /// waiting replica waited `repl-diskless-sync-delay` seconds (or enough replicas wait).
    pub(crate) fn start_pending_fork(&mut self) {
        if self.master.child.is_some() {
            return;
        }
        let now_s = self.now_s();
        let mut waiting = 0u64;
        let mut max_idle = 0u64;
        let mut all_eof = true;
        // The first waiting replica's filter; replicas asking for another wait their turn.
        let mut filter = None;
        for conn in &self.master.replicas {
            let Some(c) = self.clients.get(conn) else {
                continue;
            };
            if c.replica
                .as_ref()
                .is_some_and(|l| l.state == ReplicaState::WaitBgsaveStart)
                && *filter.get_or_insert(c.rdb_filter) == c.rdb_filter
            {
                waiting += 1;
                max_idle = max_idle.max(now_s.saturating_sub(c.last_interaction_s));
                all_eof &= c.capa_eof;
            }
        }
        let max_replicas = self.cfg.repl_diskless_sync_max_replicas;
        if waiting > 0
            && (!self.cfg.repl_diskless_sync
                || (max_replicas > 0 && waiting >= max_replicas)
                || max_idle >= self.cfg.repl_diskless_sync_delay)
        {
            self.start_bgsave_for_replication(all_eof, filter.unwrap_or_default());
        }
    }
}
