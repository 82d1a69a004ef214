//! End-to-end replication behaviour of the engine, driven through the deterministic simulator.
//! Expected numbers come from the spec notes (`shared/spec/replication.md`), which were
//! verified against Redis 7.0.15.

use replscope::engine::config::Config;
use replscope::engine::event::Event;
use replscope::engine::psync::PsyncRule;
use replscope::engine::resp::Reply;
use replscope::sim::trace::arrival_updates;
use replscope::sim::{ClientId, Sim, SimEvent};
#[path = "support/noise.rs"]
mod noise;
use noise::hex_noise;

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn info_field(sim: &mut Sim, client: ClientId, field: &str) -> String {
    let Some(Reply::Bulk(text)) = sim.exec(client, "INFO replication") else {
        panic!("INFO did not answer a bulk");
    };
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_string()
}

fn stat(sim: &mut Sim, client: ClientId, field: &str) -> i64 {
    let Some(Reply::Bulk(text)) = sim.exec(client, "INFO stats") else {
        panic!("INFO did not answer a bulk");
    };
    String::from_utf8(text)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .parse()
        .unwrap()
}

/// A master `m` and `n` replicas `r1..rn`, each with a console client, all attached and synced.
/// repl-timeout 5 s, and a replica pinged more often than that (or an idle replica times its
/// master out); full syncs diskless or not, after `diskless_delay` seconds.
fn short_timeouts(diskless: bool, diskless_delay: u64) -> Config {
    Config {
        repl_timeout: 5,
        repl_ping_replica_period: 1,
        repl_diskless_sync: diskless,
        repl_diskless_sync_delay: diskless_delay,
        ..Config::default()
    }
}

struct Cluster {
    sim: Sim,
    clients: Vec<ClientId>,
}

impl Cluster {
    fn new(n: usize, config: Config) -> Cluster {
        let mut sim = Sim::new(7, 1);
        let mut clients = Vec::new();
        for i in 0..=n {
            let name = if i == 0 {
                "m".to_string()
            } else {
                format!("r{i}")
            };
            let idx = sim.add_node(&name, config.clone());
            clients.push(sim.connect_client(idx));
        }
        Cluster { sim, clients }
    }

    fn exec(&mut self, node: usize, line: &str) -> Reply {
        let c = self.clients[node];
        self.sim.exec(c, line).expect("a reply")
    }

    fn attach_all(&mut self) {
        for i in 1..self.clients.len() {
            assert_eq!(self.exec(i, "REPLICAOF m 6379"), Reply::ok());
        }
        // Diskless sync waits repl-diskless-sync-delay (5 s) for more replicas.
        self.sim.run_for(7_000);
        for i in 1..self.clients.len() {
            let c = self.clients[i];
            assert_eq!(
                info_field(&mut self.sim, c, "master_link_status"),
                "up",
                "r{i}"
            );
        }
    }

    /// Keys `big0`.. with 100 000 hex digits each from an LCG seeded with `seed` (values the
    /// RDB cannot compress to nothing); returns the last value.
    fn fill_big(&mut self, seed: u64, keys: usize) -> String {
        let mut x = seed;
        let mut value = String::new();
        for i in 0..keys {
            value = hex_noise(&mut x, 100_000);
            assert_eq!(self.exec(0, &format!("SET big{i} {value}")), Reply::ok());
        }
        value
    }

    /// Slows the link between `a` and `b`, both ways: 5 ms and 250 KB/s.
    fn slow_link(&mut self, a: &str, b: &str) {
        self.sim
            .act(&replscope::sim::Action::Slow {
                a: a.into(),
                b: b.into(),
                latency_ms: 5,
                jitter_ms: 0,
                bandwidth_bps: 250_000,
                both: true,
            })
            .unwrap();
    }

    /// The log lines node `node` wrote, in order.
    fn logs(&self, node: &str) -> Vec<String> {
        self.sim
            .trace()
            .iter()
            .filter(|t| &*t.node == node)
            .filter_map(|t| match t.engine() {
                Some(Event::Log { text, .. }) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn offset(&mut self, node: usize) -> i64 {
        let c = self.clients[node];
        info_field(&mut self.sim, c, "master_repl_offset")
            .parse()
            .unwrap()
    }
}

#[test]
fn a_master_without_replicas_keeps_offset_zero() {
    let mut c = Cluster::new(0, Config::default());
    assert_eq!(c.exec(0, "SET k v"), Reply::ok());
    assert_eq!(c.offset(0), 0);
    let client = c.clients[0];
    assert_eq!(info_field(&mut c.sim, client, "repl_backlog_active"), "0");
}

#[test]
fn first_replica_full_sync_then_continuous_replication() {
    let mut c = Cluster::new(1, Config::default());
    c.exec(0, "SET before 1");
    let m = c.clients[0];
    let replid_before = info_field(&mut c.sim, m, "master_replid");
    c.attach_all();
    // The backlog was created at first attach, with a new replid.
    let replid_after = info_field(&mut c.sim, m, "master_replid");
    assert_ne!(replid_before, replid_after);
    let r1 = c.clients[1];
    assert_eq!(info_field(&mut c.sim, r1, "master_replid"), replid_after);
    assert_eq!(c.exec(1, "GET before"), bulk("1"));
    // A fresh master turned replica by REPLICAOF asks PSYNC <its own replid> 1: a mismatch.
    assert_eq!(stat(&mut c.sim, m, "sync_full"), 1);
    assert_eq!(stat(&mut c.sim, m, "sync_partial_err"), 1);
    let psync = c.sim.trace().iter().find_map(|t| match t.engine()? {
        Event::PsyncSent { replid, offset } => Some((replid.clone(), *offset)),
        _ => None,
    });
    assert_eq!(psync.map(|p| p.1), Some(1));

    let base = c.offset(0);
    assert_eq!(c.exec(0, "SET foo bar"), Reply::ok());
    c.sim.run_for(100);
    // SELECT 0 (23 bytes: the stream restarts with a SELECT after a full sync) + SET (31).
    assert_eq!(c.offset(0), base + 23 + 31);
    assert_eq!(c.exec(1, "GET foo"), bulk("bar"));
    assert_eq!(c.offset(1), c.offset(0));
    assert_eq!(
        c.exec(1, "SET x y"),
        Reply::error("READONLY You can't write against a read only replica.")
    );
}

#[test]
fn heartbeats_ping_every_ten_seconds_and_ack_every_second() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    let before = c.offset(0);
    c.sim.run_for(20_000);
    let after = c.offset(0);
    assert_eq!((after - before) % 14, 0, "only 14-byte PINGs were added");
    assert_eq!((after - before) / 14, 2, "two PINGs in 20 s");
    let acks = c
        .sim
        .trace()
        .iter()
        .filter(|t| &*t.node == "r1" && matches!(t.engine(), Some(Event::AckSent { .. })))
        .filter(|t| t.time_ms() + 20_000 > c.sim.now_ms())
        .count();
    assert!((19..=21).contains(&acks), "{acks} ACKs in 20 s");
    let m = c.clients[0];
    let slave0 = info_field(&mut c.sim, m, "slave0");
    assert!(slave0.contains("state=online"), "{slave0}");
    assert!(slave0.contains(&format!("offset={after}")), "{slave0}");
    assert!(
        slave0.ends_with("lag=0") || slave0.ends_with("lag=1"),
        "{slave0}"
    );
}

#[test]
fn a_short_cut_continues_partially_from_the_backlog() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    c.sim.cut(0, 1);
    c.sim.run_for(100);
    for i in 0..10 {
        c.exec(0, &format!("SET k{i} v{i}"));
    }
    c.sim.heal(0, 1);
    c.sim.run_for(2_000);
    let m = c.clients[0];
    assert_eq!(stat(&mut c.sim, m, "sync_partial_ok"), 1);
    assert_eq!(stat(&mut c.sim, m, "sync_full"), 1);
    assert_eq!(c.exec(1, "GET k9"), bulk("v9"));
    assert_eq!(c.offset(1), c.offset(0));
    let decision = c.sim.trace().iter().rev().find_map(|t| match t.engine()? {
        Event::PsyncDecided { decision, .. } => Some(decision.clone()),
        _ => None,
    });
    assert_eq!(decision.unwrap().rule, PsyncRule::Continue);
}

#[test]
fn a_cut_longer_than_the_backlog_forces_a_full_resync() {
    let mut config = Config {
        repl_backlog_model: replscope::engine::backlog::BacklogModel::Ring,
        ..Config::default()
    };
    config.set("repl-backlog-size", "16kb").unwrap();
    let mut c = Cluster::new(1, config);
    c.attach_all();
    c.sim.cut(0, 1);
    c.sim.run_for(100);
    let value = "x".repeat(1000);
    for i in 0..40 {
        c.exec(0, &format!("SET k{i} {value}"));
    }
    c.sim.heal(0, 1);
    c.sim.run_for(8_000);
    let m = c.clients[0];
    assert_eq!(stat(&mut c.sim, m, "sync_full"), 2);
    assert_eq!(stat(&mut c.sim, m, "sync_partial_err"), 2);
    let rule = c.sim.trace().iter().rev().find_map(|t| match t.engine()? {
        Event::PsyncDecided { decision, .. } => Some(decision.rule),
        _ => None,
    });
    assert_eq!(rule, Some(PsyncRule::OffsetBeforeBacklog));
    assert_eq!(c.exec(1, "GET k39"), bulk(&value));
    assert_eq!(c.offset(1), c.offset(0));
}

#[test]
fn chained_replicas_share_replid_and_offsets() {
    let mut sim = Sim::new(3, 1);
    let m = sim.add_node("m", Config::default());
    let a = sim.add_node("a", Config::default());
    let b = sim.add_node("b", Config::default());
    let (cm, ca, cb) = (
        sim.connect_client(m),
        sim.connect_client(a),
        sim.connect_client(b),
    );
    sim.exec(ca, "REPLICAOF m 6379");
    sim.run_for(7_000);
    sim.exec(cb, "REPLICAOF a 6379");
    sim.run_for(7_000);
    sim.exec(cm, "SET chained yes");
    sim.exec(cm, "INCR n");
    sim.run_for(1_000);
    assert_eq!(sim.exec(cb, "GET chained"), Some(bulk("yes")));
    let ids: Vec<String> = [cm, ca, cb]
        .iter()
        .map(|&c| info_field(&mut sim, c, "master_replid"))
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[2]);
    let offs: Vec<String> = [cm, ca, cb]
        .iter()
        .map(|&c| info_field(&mut sim, c, "master_repl_offset"))
        .collect();
    assert_eq!(offs[0], offs[1]);
    assert_eq!(offs[1], offs[2]);
}

#[test]
fn promotion_lets_a_former_sibling_continue_partially() {
    let mut c = Cluster::new(2, Config::default());
    c.attach_all();
    c.exec(0, "SET a 1");
    c.sim.run_for(500);
    let r1 = c.clients[1];
    let offset: i64 = info_field(&mut c.sim, r1, "master_repl_offset")
        .parse()
        .unwrap();
    let old_id = info_field(&mut c.sim, r1, "master_replid");
    assert_eq!(c.exec(1, "REPLICAOF NO ONE"), Reply::ok());
    assert_eq!(info_field(&mut c.sim, r1, "master_replid2"), old_id);
    assert_eq!(
        info_field(&mut c.sim, r1, "second_repl_offset"),
        (offset + 1).to_string()
    );
    assert_eq!(c.exec(2, "REPLICAOF r1 6379"), Reply::ok());
    c.sim.run_for(1_000);
    assert_eq!(stat(&mut c.sim, r1, "sync_partial_ok"), 1);
    assert_eq!(stat(&mut c.sim, r1, "sync_full"), 0);
    c.exec(1, "SET b 2");
    c.sim.run_for(100);
    assert_eq!(c.exec(2, "GET b"), bulk("2"));
    assert_eq!(c.offset(2), c.offset(1));
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let mut c = Cluster::new(2, Config::default());
    c.attach_all();
    c.exec(0, "SET w 1");
    assert_eq!(c.exec(0, "WAIT 2 1000"), Reply::Integer(2));
    c.sim.cut(0, 2);
    c.exec(0, "SET w 2");
    let t0 = c.sim.now_ms();
    assert_eq!(c.exec(0, "WAIT 2 500"), Reply::Integer(1));
    assert!(c.sim.now_ms() >= t0 + 500);
    assert_eq!(
        c.exec(1, "WAIT 1 0"),
        Reply::error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
    );
}

#[test]
fn min_replicas_to_write_blocks_writes_without_good_replicas() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    assert_eq!(c.exec(0, "CONFIG SET min-replicas-to-write 1"), Reply::ok());
    assert_eq!(c.exec(0, "SET ok 1"), Reply::ok());
    c.sim.cut(0, 1);
    c.sim.run_for(2_000);
    assert_eq!(
        c.exec(0, "SET blocked 1"),
        Reply::error("NOREPLICAS Not enough good replicas to write.")
    );
    assert_eq!(c.exec(0, "GET ok"), bulk("1"));
}

#[test]
fn role_replies_like_redis() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    let off = c.offset(0);
    let Reply::Array(role) = c.exec(0, "ROLE") else {
        panic!()
    };
    assert_eq!(role[0], bulk("master"));
    assert_eq!(role[1], Reply::Integer(off));
    let Reply::Array(replicas) = &role[2] else {
        panic!()
    };
    assert_eq!(replicas.len(), 1);
    let Reply::Array(r) = c.exec(1, "ROLE") else {
        panic!()
    };
    assert_eq!(r[0], bulk("slave"));
    assert_eq!(r[1], bulk("m"));
    assert_eq!(r[2], Reply::Integer(6379));
    assert_eq!(r[3], bulk("connected"));
    assert_eq!(r[4], Reply::Integer(c.offset(1)));
}

#[test]
fn a_replica_without_its_master_can_refuse_stale_reads() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    c.exec(0, "SET k v");
    c.sim.run_for(100);
    assert_eq!(
        c.exec(1, "CONFIG SET replica-serve-stale-data no"),
        Reply::ok()
    );
    assert_eq!(c.exec(1, "GET k"), bulk("v"));
    c.sim.cut(0, 1);
    c.sim.run_for(100);
    assert_eq!(
        c.exec(1, "GET k"),
        Reply::error(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
        )
    );
    // Commands flagged STALE still answer.
    assert!(matches!(c.exec(1, "INFO replication"), Reply::Bulk(_)));
    assert_eq!(
        c.exec(1, "CONFIG SET replica-serve-stale-data yes"),
        Reply::ok()
    );
    assert_eq!(c.exec(1, "GET k"), bulk("v"));
}

#[test]
fn the_backlog_is_freed_after_repl_backlog_ttl_without_replicas() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    assert_eq!(c.exec(0, "CONFIG SET repl-backlog-ttl 5"), Reply::ok());
    let m = c.clients[0];
    let replid = info_field(&mut c.sim, m, "master_replid");
    assert_eq!(c.exec(1, "REPLICAOF NO ONE"), Reply::ok());
    c.sim.run_for(3_000);
    assert_eq!(info_field(&mut c.sim, m, "repl_backlog_active"), "1");
    c.sim.run_for(4_000);
    assert_eq!(info_field(&mut c.sim, m, "repl_backlog_active"), "0");
    // Freeing the history also starts a new replication ID (no replica can continue).
    assert_ne!(info_field(&mut c.sim, m, "master_replid"), replid);
}

#[test]
fn a_client_killed_while_blocked_in_wait_does_not_upset_the_others() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    // A connects first, so its timeout is handled first; then B.
    let a = c.sim.connect_client(0);
    let b = c.sim.connect_client(0);
    let Some(Reply::Integer(b_id)) = c.sim.exec(b, "CLIENT ID") else {
        panic!()
    };
    // Both wait for 5 replicas (there is 1) with the same deadline; when A's wait ends, its
    // next pipelined command kills B, which was due in the same pass.
    c.sim.send_line(b, "WAIT 5 200").unwrap();
    let mut wire = Vec::new();
    replscope::engine::resp::encode_command(&[b"WAIT".as_slice(), b"5", b"200"], &mut wire);
    let id = b_id.to_string();
    replscope::engine::resp::encode_command(
        &[b"CLIENT".as_slice(), b"KILL", b"ID", id.as_bytes()],
        &mut wire,
    );
    c.sim.send_raw(a, wire);
    c.sim.run_for(1_000);
    assert_eq!(
        c.sim.take_replies(a),
        vec![Reply::Integer(1), Reply::Integer(1)]
    );
    assert!(
        c.sim.take_replies(b).is_empty(),
        "B was killed before its timeout reply"
    );
    assert_eq!(c.exec(0, "PING"), Reply::Simple("PONG".into()));
}

#[test]
fn a_paused_master_does_not_burst_missed_heartbeats_on_resume() {
    use replscope::sim::Action;
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    c.sim.act(&Action::Pause { node: "m".into() }).unwrap();
    c.sim.run_for(30_000);
    let before = c.sim.trace().len();
    c.sim.act(&Action::Resume { node: "m".into() }).unwrap();
    c.sim.run_for(500);
    let pings = c.sim.trace()[before..]
        .iter()
        .filter(|t| matches!(t.engine(), Some(Event::PingSent { .. })))
        .count();
    assert!(pings <= 1, "{pings} PINGs right after resuming");
}

/// A full sync over a link so slow that the RDB (about 3.8 MB at 250 KB/s) takes three times
/// `repl-timeout` to cross. Redis keeps the replica out of ONLINE until the whole payload has
/// been written to its socket (SEND_BULK on disk; diskless, the child cannot exit before), so
/// the ACK timeout does not apply yet and the replica is not a good replica for
/// `min-replicas-to-write`; ONLINE then starts the timeout afresh. Before the fix the master
/// put it online at once, timed it out 5 s later and the sync started over, forever.
#[test]
fn a_replica_is_not_online_until_its_rdb_has_left_the_socket() {
    for (diskless, waiting) in [(false, "send_bulk"), (true, "wait_bgsave")] {
        let mut c = Cluster::new(1, short_timeouts(diskless, 0));
        c.fill_big(1, 50);
        assert_eq!(c.exec(0, "CONFIG SET min-replicas-to-write 1"), Reply::ok());
        c.slow_link("m", "r1");
        let start = c.sim.now_ms();
        assert_eq!(c.exec(1, "REPLICAOF m 6379"), Reply::ok());
        let m = c.clients[0];
        // Mid-transfer, and again past repl-timeout: not online, not good, not timed out.
        for at_ms in [2_000, 8_000, 13_000] {
            c.sim.run_until(start + at_ms);
            let slave0 = info_field(&mut c.sim, m, "slave0");
            assert!(
                slave0.contains(&format!("state={waiting},")),
                "diskless={diskless} at {at_ms} ms: {slave0}"
            );
            assert_eq!(info_field(&mut c.sim, m, "min_slaves_good_slaves"), "0");
            assert_eq!(
                c.exec(0, "SET during 1"),
                Reply::error("NOREPLICAS Not enough good replicas to write.")
            );
        }
        // The bulk lands; one full sync in all, and the replica stays.
        c.sim.run_until(start + 30_000);
        let slave0 = info_field(&mut c.sim, m, "slave0");
        assert!(
            slave0.contains("state=online,"),
            "diskless={diskless}: {slave0}"
        );
        assert_eq!(info_field(&mut c.sim, m, "min_slaves_good_slaves"), "1");
        assert_eq!(c.exec(0, "SET after 1"), Reply::ok());
        c.sim.run_for(1_000);
        assert_eq!(c.offset(1), c.offset(0));
        assert_eq!(c.exec(1, "GET after"), bulk("1"));
        assert_eq!(stat(&mut c.sim, m, "sync_full"), 1, "diskless={diskless}");
        let timeouts = c
            .sim
            .trace()
            .iter()
            .filter(|t| matches!(t.engine(), Some(Event::Timeout { .. })))
            .count();
        assert_eq!(timeouts, 0, "diskless={diskless}");
    }
}

/// A master with 5 MB of big values and a slow link to its replica, which has just asked
/// for a diskless full sync; the virtual time it asked at.
fn slow_diskless_sync() -> (Cluster, u64) {
    let config = Config {
        repl_diskless_sync: true,
        repl_diskless_sync_delay: 0,
        ..Config::default()
    };
    let mut c = Cluster::new(1, config);
    c.fill_big(7, 50);
    c.slow_link("m", "r1");
    let start = c.sim.now_ms();
    assert_eq!(c.exec(1, "REPLICAOF m 6379"), Reply::ok());
    (c, start)
}

/// A diskless transfer whose only replica drops (its link is cut) has nobody left to write
/// to: Redis kills the fork child ("last replica dropped, killing fork child"), its end is
/// logged as terminated by SIGUSR1, and the replica that comes back gets a new BGSAVE at once
/// instead of waiting for the orphaned transfer to finish.
#[test]
fn a_diskless_child_with_no_replica_left_is_killed() {
    let (mut c, start) = slow_diskless_sync();
    c.sim.run_until(start + 3_000);
    assert!(!c.logs("m").iter().any(|l| l.contains("killing fork child")));
    c.sim.cut(0, 1);
    c.sim.run_for(500);
    let m = c.logs("m");
    let killed = m
        .iter()
        .position(|l| l == "Diskless rdb transfer, last replica dropped, killing fork child.")
        .unwrap_or_else(|| panic!("{m:?}"));
    assert!(m[killed..].contains(&"Background transfer terminated by signal 10".to_string()));
    assert!(!m.contains(&"Background RDB transfer terminated with success".to_string()));
    // Healed, the replica asks again and a second BGSAVE serves it.
    c.sim.heal(0, 1);
    c.sim.run_until(start + 40_000);
    let bgsaves = c
        .sim
        .trace()
        .iter()
        .filter(|t| matches!(t.engine(), Some(Event::BgsaveStarted { .. })))
        .count();
    assert_eq!(bgsaves, 2);
    assert_eq!(c.offset(1), c.offset(0));
    assert_eq!(c.exec(1, "STRLEN big49"), Reply::Integer(100_000));
}

/// FLUSHALL during a full sync kills the fork child (`killRDBChild`: its snapshot holds a
/// dataset that is gone). The replica that waited for it is dropped ("SYNC failed"), comes
/// back, and a second BGSAVE gives it the empty dataset. The simulator gives each child a
/// pid for the log, as a fork would.
#[test]
fn flushall_kills_the_snapshot_child() {
    let (mut c, start) = slow_diskless_sync();
    c.sim.run_until(start + 2_000);
    assert_eq!(c.exec(0, "FLUSHALL"), Reply::ok());
    c.sim.run_until(start + 40_000);
    let m = c.logs("m");
    let forks: Vec<&String> = m
        .iter()
        .filter(|l| l.starts_with("Background RDB transfer started by pid "))
        .collect();
    assert_eq!(forks.len(), 2, "{m:?}");
    assert_ne!(forks[0], forks[1]);
    let killed = m
        .iter()
        .position(|l| l == "Background transfer terminated by signal 10")
        .unwrap_or_else(|| panic!("{m:?}"));
    assert_eq!(m[killed + 1], "SYNC failed. BGSAVE child returned an error");
    assert_eq!(c.offset(1), c.offset(0));
    assert_eq!(c.exec(1, "DBSIZE"), Reply::Integer(0));
}

/// A partition from the master to its replica right after `+FULLRESYNC`: the RDB goes into a
/// socket whose bytes never get through (TCP keeps them until acknowledged). A big RDB fills
/// the kernel's send buffer and the rest waits in the master: on disk, Redis keeps the replica
/// in SEND_BULK (no ACK timeout applies); diskless, the transfer made no progress for
/// repl-timeout and is dropped ("Disconnecting timedout replica (full sync)"). A small RDB
/// fits in the send buffer: the replica goes online at once and is later timed out for not
/// acknowledging, as in Redis. After the heal, one more full sync and the replica converges.
#[test]
fn a_partition_holds_the_rdb_in_the_masters_socket() {
    for (diskless, big) in [(false, true), (true, true), (false, false), (true, false)] {
        let case = format!("diskless={diskless} big={big}");
        // Diskless: the child starts at the next cron, after the partition.
        let mut c = Cluster::new(1, short_timeouts(diskless, 1));
        if big {
            c.fill_big(5, 10);
        }
        assert_eq!(c.exec(0, "SET k v"), Reply::ok());
        // The replica waits longer for its bulk than the master for its socket.
        assert_eq!(c.exec(1, "CONFIG SET repl-timeout 60"), Reply::ok());
        assert_eq!(c.exec(1, "REPLICAOF m 6379"), Reply::ok());
        let decided = |sim: &Sim| {
            sim.trace()
                .iter()
                .any(|t| &*t.node == "m" && matches!(t.engine(), Some(Event::PsyncDecided { .. })))
        };
        let deadline = c.sim.now_us() + 5_000_000;
        while !decided(&c.sim) {
            assert!(c.sim.step_until(deadline), "no PSYNC ({case})");
        }
        let partition = replscope::sim::Action::Partition {
            from: "m".into(),
            to: "r1".into(),
        };
        c.sim.act(&partition).unwrap();
        let start = c.sim.now_ms();
        let m = c.clients[0];
        let waiting = match (big, diskless) {
            (false, _) => "online",
            (true, false) => "send_bulk",
            (true, true) => "wait_bgsave",
        };
        for at_ms in [3_000, 5_000] {
            c.sim.run_until(start + at_ms);
            let slave0 = info_field(&mut c.sim, m, "slave0");
            assert!(
                slave0.contains(&format!("state={waiting},")),
                "{case} at {at_ms} ms: {slave0}"
            );
        }
        // Past repl-timeout: a big RDB is still in SEND_BULK on disk, dropped diskless; a
        // replica online since the small RDB stopped acknowledging.
        c.sim.run_until(start + 12_000);
        if big && !diskless {
            let slave0 = info_field(&mut c.sim, m, "slave0");
            assert!(slave0.contains("state=send_bulk,"), "{slave0}");
        } else {
            assert_eq!(info_field(&mut c.sim, m, "connected_slaves"), "0", "{case}");
        }
        let master_timeouts: Vec<String> = c
            .sim
            .trace()
            .iter()
            .filter(|t| &*t.node == "m")
            .filter_map(|t| match t.engine() {
                Some(Event::Timeout { what, .. }) => Some(what.to_string()),
                _ => None,
            })
            .collect();
        let expected: Vec<String> = match (big, diskless) {
            (false, _) => vec!["replica stopped acknowledging".into()],
            (true, false) => vec![],
            (true, true) => vec!["replica stopped taking the RDB".into()],
        };
        assert_eq!(master_timeouts, expected, "{case}");
        c.sim
            .act(&replscope::sim::Action::Heal {
                a: "m".into(),
                b: "r1".into(),
            })
            .unwrap();
        c.sim.run_until(start + 40_000);
        assert_eq!(
            info_field(&mut c.sim, c.clients[1], "master_link_status"),
            "up",
            "{case}"
        );
        assert_eq!(c.offset(1), c.offset(0), "{case}");
        assert_eq!(c.exec(1, "GET k"), bulk("v"));
    }
}

/// A partition that starts while an RDB crosses a slow link stops it where it is: what was
/// already on its way is held with the rest (TCP retransmits it after the heal), so the
/// replica reads nothing more, the master keeps it in SEND_BULK, and the transfer completes
/// once the link heals.
#[test]
fn a_partition_stops_an_rdb_already_on_its_way() {
    let config = Config {
        repl_diskless_sync: false,
        ..Config::default()
    };
    let mut c = Cluster::new(1, config);
    let last = c.fill_big(3, 20);
    c.slow_link("m", "r1");
    assert_eq!(c.exec(1, "REPLICAOF m 6379"), Reply::ok());
    let r1 = c.clients[1];
    let read = |sim: &mut Sim| -> i64 {
        info_field(sim, r1, "master_sync_read_bytes")
            .parse()
            .unwrap()
    };
    c.sim.run_for(3_000);
    let before = read(&mut c.sim);
    assert!(before > 0, "the transfer has not started");
    c.sim
        .act(&replscope::sim::Action::Partition {
            from: "m".into(),
            to: "r1".into(),
        })
        .unwrap();
    let held = read(&mut c.sim);
    let caught: Vec<u64> = c
        .sim
        .trace()
        .iter()
        .filter_map(|t| match t.event {
            SimEvent::Held { id } => Some(id),
            _ => None,
        })
        .collect();
    assert!(!caught.is_empty(), "no segment was caught on its way");
    c.sim.run_for(4_000);
    assert_eq!(read(&mut c.sim), held, "bytes crossed the partition");
    assert!(held - before < 10_000, "{before} then {held}");
    let slave0 = info_field(&mut c.sim, c.clients[0], "slave0");
    assert!(slave0.contains("state=send_bulk,"), "{slave0}");
    c.sim
        .act(&replscope::sim::Action::Heal {
            a: "m".into(),
            b: "r1".into(),
        })
        .unwrap();
    let healed_us = c.sim.now_us();
    c.sim.run_for(15_000);
    // What draws the packets learns when the caught segments arrived after all.
    let updates = arrival_updates(c.sim.trace());
    for id in caught {
        assert!(
            updates[&id].is_some_and(|at| at > healed_us),
            "segment {id}: {:?}",
            updates[&id]
        );
    }
    assert_eq!(info_field(&mut c.sim, r1, "master_link_status"), "up");
    assert_eq!(c.offset(1), c.offset(0));
    assert_eq!(c.exec(1, "GET big19"), bulk(&last));
}

/// A replica that arrives while a disk BGSAVE for another one runs shares it (syncCommand's
/// CASE 1, "Waiting for end of BGSAVE for SYNC"): its `+FULLRESYNC` carries the offset of that
/// fork, and the snapshot's PSYNC story shows that line, as the replica received it.
#[test]
fn a_replica_sharing_a_running_bgsave_gets_its_fork_offset() {
    let config = Config {
        repl_diskless_sync: false,
        ..Config::default()
    };
    let mut c = Cluster::new(2, config);
    // About 5 MB: the child saves for about 50 ms of virtual time.
    c.fill_big(9, 50);
    assert_eq!(c.exec(1, "REPLICAOF m 6379"), Reply::ok());
    let bgsave_started = |sim: &Sim| {
        sim.trace()
            .iter()
            .any(|t| matches!(t.engine(), Some(Event::BgsaveStarted { .. })))
    };
    let deadline = c.sim.now_us() + 5_000_000;
    while !bgsave_started(&c.sim) {
        assert!(c.sim.step_until(deadline), "no BGSAVE");
    }
    assert_eq!(c.exec(0, "SET during-the-fork 1"), Reply::ok());
    assert_eq!(c.exec(2, "REPLICAOF m 6379"), Reply::ok());
    c.sim.run_for(10_000);
    assert!(c
        .logs("m")
        .contains(&"Waiting for end of BGSAVE for SYNC".to_string()));
    let got = |node: &str| {
        c.logs(node)
            .iter()
            .find_map(|l| {
                l.strip_prefix("Full resync from master: ")
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("{node} got no +FULLRESYNC"))
    };
    // Both replicas got the same fork offset; the story tells r2's.
    assert_eq!(got("r1"), got("r2"));
    // Each replica's story tells its own +FULLRESYNC.
    let snap = c.sim.snapshot(0);
    for replica in ["r1", "r2"] {
        let sent = snap
            .psyncs
            .iter()
            .rfind(|p| p.replica == replica)
            .and_then(|p| p.fullresync.clone())
            .map(|(replid, offset)| format!("{replid}:{offset}"));
        assert_eq!(sent, Some(got(replica)));
    }
    assert_eq!(c.offset(2), c.offset(0));
    assert_eq!(c.exec(2, "GET during-the-fork"), bulk("1"));
}

/// The page's memory budget: a simulated node answers `-OOM` past 16 MB, like a Redis at its
/// `maxmemory`, its replica stays in sync, deleting makes room again, and no `CONFIG SET`
/// lifts the limit.
#[test]
fn a_full_simulated_master_answers_oom_and_its_replica_keeps_up() {
    let mut c = Cluster::new(1, Config::default());
    c.attach_all();
    let value = "x".repeat(60_000);
    let mut accepted = 0;
    let oom = loop {
        match c.exec(0, &format!("SET k{accepted} {value}")) {
            Reply::Simple(_) => accepted += 1,
            other => break other,
        }
        assert!(accepted < 1000, "60 MB written to a 16 MB node");
    };
    assert_eq!(
        oom,
        Reply::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
    );
    // 16 MB of 60 KB values, within the estimate's slack.
    assert!((240..=300).contains(&accepted), "{accepted} values taken");
    c.sim.run_for(2_000);
    assert_eq!(
        c.offset(1),
        c.offset(0),
        "the replica applied every accepted write"
    );
    assert_eq!(c.exec(1, "DBSIZE"), Reply::Integer(accepted));
    // Deleting more than the estimate's slack (256 KB) makes room.
    assert_eq!(
        c.exec(0, "DEL k0 k1 k2 k3 k4 k5 k6 k7 k8 k9"),
        Reply::Integer(10)
    );
    assert_eq!(c.exec(0, &format!("SET again {value}")), Reply::ok());
    for line in ["CONFIG SET maxmemory 0", "CONFIG SET maxmemory 1gb"] {
        assert_eq!(
            c.exec(0, line),
            Reply::Error(
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be between 1 and 16777216 inclusive".into()
            ),
            "{line}"
        );
    }
    assert_eq!(c.exec(0, "CONFIG SET maxmemory 1mb"), Reply::ok());
    assert_eq!(
        c.exec(0, "SET more 1"),
        Reply::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
    );
}

/// A console line longer than the page keeps is refused before it joins the run (every line
/// typed is kept for time travel).
#[test]
fn a_console_line_past_the_limit_is_refused_and_not_recorded() {
    use replscope::sim::console::CONSOLE_LINE_MAX;
    let scenario = replscope::sim::scenario::builtin_named("one-replica").unwrap();
    let mut t = scenario.build(None).unwrap();
    let before = t.inputs().len();
    let line = format!("SET big {}", "x".repeat(CONSOLE_LINE_MAX));
    let err = t
        .act(replscope::sim::Action::Exec {
            node: "m".into(),
            command: line,
        })
        .unwrap_err();
    assert!(err.contains("at most 64 KB"), "{err}");
    assert_eq!(t.inputs().len(), before, "the refused line was recorded");
    let fits = format!("SET big {}", "x".repeat(CONSOLE_LINE_MAX - 8));
    t.act(replscope::sim::Action::Exec {
        node: "m".into(),
        command: fits,
    })
    .unwrap();
    assert_eq!(t.inputs().len(), before + 1);
    // The run's lines have a budget in all: 16 MB is about 256 such lines.
    let mut taken = 1;
    let err = loop {
        let recorded = t.inputs().len();
        match t.act(replscope::sim::Action::Exec {
            node: "m".into(),
            command: format!("SET big{taken} {}", "x".repeat(CONSOLE_LINE_MAX - 16)),
        }) {
            Ok(()) => taken += 1,
            Err(e) => {
                assert_eq!(t.inputs().len(), recorded, "the refused line was recorded");
                break e;
            }
        }
        assert!(taken < 300, "more than 16 MB of lines kept");
    };
    assert!(err.contains("already keeps 16 MB"), "{err}");
    assert_eq!(taken, 256);
}
