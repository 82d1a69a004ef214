//! replscope's native server against Debian's real redis-server 7.0, both directions, on
//! 127.0.0.1. Each test starts and kills its own servers (see `support`).

mod support;

use std::time::Duration;

use replscope::engine::resp::Reply;
use support::{dump, wait_offsets_equal, wait_until, write_dataset, Server};
#[path = "support/noise.rs"]
mod noise;
use noise::hex_noise;

fn set(s: &Server, k: &str, v: &str) {
    assert_eq!(s.cmd(&["SET", k, v]), Reply::ok());
}

#[test]
fn replscope_replica_of_a_real_master_diskless_and_disk() {
    for diskless in ["yes", "no"] {
        let master = Server::redis(&[
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
        ]);
        write_dataset(&master);
        let replica = Server::replscope(&[]);
        replica.replicate(&master);
        assert_eq!(
            dump(&replica),
            dump(&master),
            "diskless={diskless}\n{}",
            replica.log()
        );
        for i in 0..50 {
            set(&master, &format!("after{i}"), &i.to_string());
        }
        master.cmd(&["INCRBYFLOAT", "after1", "0.5"]);
        master.cmd(&["EXPIRE", "after2", "100"]);
        wait_offsets_equal(&[&master, &replica]);
        assert_eq!(dump(&replica), dump(&master), "diskless={diskless}");
        assert_eq!(master.stat("sync_full"), 1);
    }
}

#[test]
fn a_real_replica_of_a_replscope_master() {
    for diskless in ["yes", "no"] {
        let master = Server::replscope(&[
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
        ]);
        write_dataset(&master);
        let replica = Server::redis(&[]);
        replica.replicate(&master);
        assert_eq!(
            dump(&replica),
            dump(&master),
            "diskless={diskless}\n{}",
            replica.log()
        );
        for i in 0..50 {
            set(&master, &format!("after{i}"), &i.to_string());
        }
        master.cmd(&["SADD", "s", "a", "b"]);
        master.cmd(&["SPOP", "s"]);
        wait_offsets_equal(&[&master, &replica]);
        assert_eq!(dump(&replica), dump(&master), "diskless={diskless}");
    }
}

#[test]
fn chained_real_master_replscope_real_replica() {
    let top = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    let middle = Server::replscope(&["--repl-diskless-sync-delay", "0"]);
    let bottom = Server::redis(&[]);
    write_dataset(&top);
    middle.replicate(&top);
    bottom.replicate(&middle);
    for i in 0..20 {
        set(&top, &format!("chain{i}"), "x");
    }
    let offset = wait_offsets_equal(&[&top, &middle, &bottom]);
    assert!(offset > 0);
    assert_eq!(dump(&bottom), dump(&top));
    let id = top.info("replication", "master_replid");
    assert_eq!(middle.info("replication", "master_replid"), id);
    assert_eq!(bottom.info("replication", "master_replid"), id);
}

#[test]
fn a_short_drop_continues_partially_both_directions() {
    // Real master, replscope replica: the master kills the link, the replica comes back.
    let master = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    let replica = Server::replscope(&[]);
    replica.replicate(&master);
    set(&master, "a", "1");
    wait_offsets_equal(&[&master, &replica]);
    master.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    set(&master, "b", "2");
    wait_until(Duration::from_secs(10), "partial resync", || {
        master.stat("sync_partial_ok") == 1
    });
    wait_offsets_equal(&[&master, &replica]);
    assert_eq!(replica.cmd(&["GET", "b"]), Reply::Bulk(b"2".to_vec()));
    assert_eq!(master.stat("sync_full"), 1);

    // replscope master, real replica: the replica kills its master link.
    let master = Server::replscope(&["--repl-diskless-sync-delay", "0"]);
    let replica = Server::redis(&[]);
    replica.replicate(&master);
    set(&master, "a", "1");
    wait_offsets_equal(&[&master, &replica]);
    replica.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    set(&master, "b", "2");
    wait_until(Duration::from_secs(10), "partial resync", || {
        master.stat("sync_partial_ok") == 1
    });
    wait_offsets_equal(&[&master, &replica]);
    assert_eq!(replica.cmd(&["GET", "b"]), Reply::Bulk(b"2".to_vec()));
    assert_eq!(master.stat("sync_full"), 1);
}

/// The replica is stopped (SIGSTOP) long enough for the master to time it out, then more
/// than the backlog is written: on return it must do a full resync.
fn away_longer_than_the_backlog(master: &Server, replica: &Server) {
    replica.replicate(master);
    set(master, "a", "1");
    wait_offsets_equal(&[master, replica]);
    replica.pause();
    wait_until(
        Duration::from_secs(10),
        "the master drops the silent replica",
        || master.info("replication", "connected_slaves") == "0",
    );
    // Written after the drop: bytes sent before it would sit in the replica's socket buffer
    // and reach it anyway, and the replica would then continue partially.
    let value = "v".repeat(1000);
    for i in 0..40 {
        set(master, &format!("k{i}"), &value);
    }
    replica.resume();
    wait_until(Duration::from_secs(15), "full resync", || {
        master.stat("sync_full") == 2
    });
    wait_offsets_equal(&[master, replica]);
    assert!(master.stat("sync_partial_err") >= 1);
    assert_eq!(replica.cmd(&["STRLEN", "k39"]), Reply::Integer(1000));
}

#[test]
fn away_longer_than_the_backlog_forces_a_full_resync_both_directions() {
    let args = [
        "--repl-backlog-size",
        "16kb",
        "--repl-timeout",
        "2",
        "--repl-diskless-sync-delay",
        "0",
    ];
    let master = Server::redis(&args);
    let replica = Server::replscope(&[]);
    away_longer_than_the_backlog(&master, &replica);
    let master = Server::replscope(&args);
    let replica = Server::redis(&[]);
    away_longer_than_the_backlog(&master, &replica);
}

#[test]
fn heartbeats_interoperate_and_a_silent_master_times_out() {
    let master = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    let replica = Server::replscope(&["--repl-timeout", "2"]);
    replica.replicate(&master);
    std::thread::sleep(Duration::from_millis(2500));
    let slave0 = master.info("replication", "slave0");
    assert!(
        slave0.ends_with("lag=0") || slave0.ends_with("lag=1"),
        "{slave0}"
    );
    master.pause();
    wait_until(
        Duration::from_secs(8),
        "replscope notices the silent master",
        || replica.info("replication", "master_link_status") == "down",
    );
    master.resume();
    replica.wait_link_up();
}

#[test]
fn promotion_lets_a_sibling_continue_partially() {
    let master = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    let promoted = Server::replscope(&[]);
    let sibling = Server::redis(&[]);
    promoted.replicate(&master);
    sibling.replicate(&master);
    set(&master, "x", "1");
    wait_offsets_equal(&[&master, &promoted, &sibling]);
    assert_eq!(promoted.cmd(&["REPLICAOF", "NO", "ONE"]), Reply::ok());
    sibling.replicate(&promoted);
    set(&promoted, "y", "2");
    wait_offsets_equal(&[&promoted, &sibling]);
    assert_eq!(promoted.stat("sync_partial_ok"), 1);
    assert_eq!(promoted.stat("sync_full"), 0);
    assert_eq!(sibling.cmd(&["GET", "y"]), Reply::Bulk(b"2".to_vec()));
}

#[test]
fn snapshots_load_into_real_redis_and_back_after_a_restart() {
    let mut ours = Server::replscope(&["--save", ""]);
    write_dataset(&ours);
    assert_eq!(ours.cmd(&["SAVE"]), Reply::ok());
    let file = ours.dir.join("dump.rdb");
    // redis-check-rdb and a real redis-server accept the file.
    let check = std::process::Command::new("/usr/bin/redis-check-rdb")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("RDB looks OK"),
        "{check:?}"
    );
    let real_dir = ours.dir.join("real");
    std::fs::create_dir_all(&real_dir).unwrap();
    std::fs::copy(&file, real_dir.join("dump.rdb")).unwrap();
    let real = Server::redis(&["--dir", real_dir.to_str().unwrap()]);
    let before = dump(&ours);
    assert_eq!(dump(&real), before, "{}", real.log());
    ours.restart();
    assert_eq!(dump(&ours), before, "{}", ours.log());
}

#[test]
fn a_restarted_replica_continues_partially_from_its_snapshot() {
    let master = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    let port = master.port.to_string();
    let mut replica = Server::replscope(&["--save", "", "--replicaof", "127.0.0.1", &port]);
    replica.wait_link_up();
    set(&master, "a", "1");
    wait_offsets_equal(&[&master, &replica]);
    assert_eq!(replica.cmd(&["SAVE"]), Reply::ok());
    replica.restart();
    set(&master, "b", "2");
    replica.wait_link_up();
    wait_offsets_equal(&[&master, &replica]);
    assert_eq!(master.stat("sync_partial_ok"), 1, "{}", replica.log());
    assert_eq!(master.stat("sync_full"), 1);
    assert_eq!(replica.cmd(&["GET", "b"]), Reply::Bulk(b"2".to_vec()));
}

#[test]
fn authentication_both_directions() {
    // A real master with requirepass, replscope replica with masterauth.
    let master = Server::redis(&["--requirepass", "s3cret", "--repl-diskless-sync-delay", "0"]);
    let replica = Server::replscope(&["--masterauth", "s3cret"]);
    replica.replicate(&master);
    assert_eq!(replica.info("replication", "master_link_status"), "up");
    // And the other way round; an unauthenticated client gets Redis's error.
    let master = Server::replscope(&["--requirepass", "s3cret", "--repl-diskless-sync-delay", "0"]);
    assert_eq!(
        master.cmd(&["GET", "k"]),
        Reply::Error("NOAUTH Authentication required.".into())
    );
    let replica = Server::redis(&["--masterauth", "s3cret"]);
    replica.replicate(&master);
    let wrong = Server::redis(&["--masterauth", "nope"]);
    wrong.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(wrong.info("replication", "master_link_status"), "down");
}

/// A real replica stopped (SIGSTOP) while a replscope master sends it a ~30 MB RDB: the
/// sockets fill up and, as in Redis, the replica stays in SEND_BULK until the master has
/// written the whole file: not timed out by repl-timeout (2 s) meanwhile, and not a good
/// replica for min-replicas-to-write. Resumed, it completes the one full sync.
#[test]
fn a_replica_stays_in_send_bulk_until_the_master_wrote_its_rdb() {
    let master = Server::replscope(&["--repl-diskless-sync", "no", "--repl-timeout", "2"]);
    // Hex digits of an LCG: more than the socket buffers hold, even LZF-compressed.
    let mut x = 1u64;
    for i in 0..40 {
        let value = hex_noise(&mut x, 1_000_000);
        set(&master, &format!("big{i}"), &value);
    }
    assert_eq!(
        master.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]),
        Reply::ok()
    );
    let replica = Server::redis(&[]);
    let slave0 = || master.info("replication", "slave0");
    assert_eq!(
        replica.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        Reply::ok()
    );
    // Stopped while the master's BGSAVE runs, before the RDB flows.
    wait_until(
        Duration::from_secs(5),
        "the replica asks for a sync",
        || !slave0().is_empty(),
    );
    replica.pause();
    wait_until(Duration::from_secs(5), "SEND_BULK", || {
        slave0().contains("state=send_bulk")
    });
    std::thread::sleep(Duration::from_millis(4_000));
    assert!(slave0().contains("state=send_bulk"), "{}", slave0());
    assert_eq!(
        master.cmd(&["SET", "k", "v"]),
        Reply::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    replica.resume();
    replica.wait_link_up();
    wait_until(Duration::from_secs(10), "online", || {
        slave0().contains("state=online")
    });
    set(&master, "k", "v");
    wait_offsets_equal(&[&master, &replica]);
    assert_eq!(replica.cmd(&["GET", "k"]), Reply::Bulk(b"v".to_vec()));
    assert_eq!(master.stat("sync_full"), 1, "{}", master.log());
}
