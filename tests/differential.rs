//! Differential tests: the same scripted scenario runs on a pair of real redis-servers and on
//! a pair of replscope servers; PSYNC outcomes, sync counters, final offsets and data must be
//! identical. A mismatch is a bug in the engine. PINGs are pushed out of the way
//! (`repl-ping-replica-period 3600`) so that offsets do not depend on wall-clock timing.

mod support;

use std::time::Duration;

use support::{dump, lines, pipeline, wait_offsets_equal, wait_until, Server};

#[derive(Debug, PartialEq)]
struct Outcome {
    offsets: Vec<i64>,
    master_counters: (i64, i64, i64),
    data: Vec<String>,
    replica_role: String,
}

fn counters(s: &Server) -> (i64, i64, i64) {
    (
        s.stat("sync_full"),
        s.stat("sync_partial_ok"),
        s.stat("sync_partial_err"),
    )
}

fn write(s: &Server, cmds: &[&str]) {
    let cmds: Vec<String> = cmds.iter().map(|c| c.to_string()).collect();
    for r in pipeline(s.port, &lines(&cmds)) {
        assert!(!r.is_error(), "{r:?}");
    }
}

/// Attach, write in several dbs and in a transaction, drop the link, write, reconnect.
fn scenario(kind: &str) -> Outcome {
    let args = [
        "--repl-ping-replica-period",
        "3600",
        "--repl-diskless-sync-delay",
        "0",
    ];
    let master = Server::of_kind(kind, &args);
    let replica = Server::of_kind(kind, &args);
    write(
        &master,
        &["SET before-attach 1", "SELECT 2", "SET in-db-2 x"],
    );
    replica.replicate(&master);
    let mut offsets = vec![wait_offsets_equal(&[&master, &replica])];
    write(
        &master,
        &[
            "SET k1 v1",
            "INCR c",
            "INCR c",
            "SELECT 2",
            "SET x y",
            "MULTI",
            "SET t1 a",
            "SET t2 b",
            "EXEC",
            "EXPIRE t1 100",
            "DEL nope",
            "SELECT 0",
            "INCRBYFLOAT f 1.5",
            "RPUSH l a b c",
            "LPOP l",
        ],
    );
    offsets.push(wait_offsets_equal(&[&master, &replica]));
    replica.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    write(&master, &["SET during-drop 1", "HSET h f v"]);
    wait_until(Duration::from_secs(10), "reconnect", || {
        counters(&master).1 == 1
    });
    offsets.push(wait_offsets_equal(&[&master, &replica]));
    Outcome {
        offsets,
        master_counters: counters(&master),
        data: dump(&replica),
        replica_role: format!("{:?}", replica.cmd(&["ROLE"]))
            .replace(&master.port.to_string(), "<port>"),
    }
}

#[test]
fn attach_write_drop_reconnect_matches_real_redis() {
    let real = scenario("redis");
    let ours = scenario("replscope");
    assert_eq!(ours, real);
    // The scenario is not trivial: bytes flowed, and each kind of sync happened once.
    assert!(
        real.offsets[0] < real.offsets[1] && real.offsets[1] < real.offsets[2],
        "{real:?}"
    );
    assert_eq!(real.master_counters, (1, 1, 1));
    assert!(real.data.len() >= 8, "{real:?}");
}
