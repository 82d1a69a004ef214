//! `server.dirty` (`rdb_changes_since_last_save`), side by side with a real redis-server 7.0:
//! the count the save points (`save <seconds> <changes>`) compare against. Each command adds
//! what its Redis implementation adds (one per element for SADD, none for a lazy expiry), a
//! replica counts the writes its master streams to it as any write (and one more for a
//! diskless load), a writable replica counts its own, and a blocked client served by a push
//! counts only when Redis reuses a command's pop code (BLMPOP, BZPOPMIN) for it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use replscope::engine::resp::{encode_command, Reply};
use support::{wait_offsets_equal, wait_until, Server};

/// A client blocked by `argv` on `server` (it waits until the server counts it).
fn blocked_client(server: &Server, argv: &[&str]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut bytes = Vec::new();
    encode_command(argv, &mut bytes);
    stream.write_all(&bytes).unwrap();
    wait_until(Duration::from_secs(10), "the client blocks", || {
        server.info("clients", "blocked_clients") == "1"
    });
    stream
}

/// Runs the steps on a master with two replicas (one loading from disk, one diskless), then
/// writes on one replica made writable: after each step, every `rdb_changes_since_last_save`.
fn changes(kind: &str) -> Vec<(String, [String; 3])> {
    let start = |extra: &[&str]| {
        let mut args = vec!["--enable-debug-command", "yes", "--save", ""];
        args.extend_from_slice(extra);
        if kind == "redis" {
            Server::redis(&args)
        } else {
            Server::replscope(&args)
        }
    };
    let master = start(&[]);
    let replica = start(&[]);
    let diskless = start(&["--repl-diskless-load", "swapdb"]);
    replica.replicate(&master);
    diskless.replicate(&master);
    let servers = [&master, &replica, &diskless];
    // Lazy expiry only: an expired key is deleted by the GET that finds it.
    assert_eq!(
        master.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        Reply::ok()
    );
    let mut seen = Vec::new();
    let mut record = |step: &str| {
        let changes = servers.map(|s| s.info("persistence", "rdb_changes_since_last_save"));
        seen.push((step.to_string(), changes));
    };
    record("full syncs");
    // Each step is sent whole on one connection (a transaction needs one).
    let steps: &[&[&[&str]]] = &[
        &[&["SET", "a", "1"]],
        &[&["MSET", "b", "1", "c", "2", "d", "3"]],
        &[&["SADD", "s", "x", "y", "z"]],
        &[&["SADD", "s", "x"]],
        &[&["SREM", "s", "x", "y", "nope"]],
        &[&["HSET", "h", "f1", "v", "f2", "v"]],
        &[&["DEL", "a", "b", "nope"]],
        &[&["INCR", "n"]],
        &[&["RPUSH", "l", "1", "2", "3", "4"]],
        &[&["LPOP", "l", "2"]],
        &[&["ZADD", "z", "1", "a", "2", "b", "3", "c"]],
        &[&["ZPOPMIN", "z", "2"]],
        &[&["EXPIRE", "c", "100"]],
        &[&["PERSIST", "c"]],
        &[&["SUNIONSTORE", "dst", "s", "s"]],
        &[&["SET", "e", "1", "PX", "1"]],
        // The master deletes the expired key and streams a DEL, which the replica runs.
        &[&["GET", "e"]],
        &[
            &["MULTI"],
            &["SET", "m1", "1"],
            &["SADD", "m2", "a", "b"],
            &["EXEC"],
        ],
        &[&["GETDEL", "m1"]],
        &[&["PEXPIRE", "m2", "-1"]],
        // Blocking commands with something to take at once count as their plain forms.
        &[&["RPUSH", "q", "a", "b", "c", "d", "e"]],
        &[&["BLPOP", "q", "0"]],
        &[&["BLMOVE", "q", "q2", "LEFT", "RIGHT", "0"]],
        &[&["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2"]],
        &[&["ZADD", "bz", "1", "a", "2", "b", "3", "c"]],
        &[&["BZPOPMIN", "bz", "0"]],
        &[&["FLUSHDB"]],
    ];
    for step in steps {
        if step[0][0] == "GET" {
            std::thread::sleep(Duration::from_millis(20));
        }
        let cmds: Vec<Vec<String>> = step
            .iter()
            .map(|argv| argv.iter().map(|a| a.to_string()).collect())
            .collect();
        support::pipeline(master.port, &cmds);
        wait_offsets_equal(&servers);
        let words: Vec<String> = step.iter().map(|argv| argv.join(" ")).collect();
        record(&words.join("; "));
    }
    // Blocked clients served by a push: each blocks on an empty key, then a push serves it.
    let served: &[(&[&str], &[&str])] = &[
        (&["BLPOP", "q", "0"], &["RPUSH", "q", "a", "b"]),
        (&["BRPOPLPUSH", "q3", "q4", "0"], &["RPUSH", "q3", "a", "b"]),
        (
            &["BLMOVE", "q5", "q6", "LEFT", "LEFT", "0"],
            &["RPUSH", "q5", "a"],
        ),
        (
            &["BLMPOP", "0", "1", "q7", "RIGHT", "COUNT", "3"],
            &["RPUSH", "q7", "a", "b"],
        ),
        (
            &["BZPOPMAX", "z2", "0"],
            &["ZADD", "z2", "1", "a", "2", "b"],
        ),
        (
            &["BZMPOP", "0", "1", "z3", "MIN", "COUNT", "5"],
            &["ZADD", "z3", "1", "a", "2", "b"],
        ),
    ];
    for (block, push) in served {
        let mut client = blocked_client(&master, block);
        master.cmd(push);
        let mut answer = [0u8; 1];
        client
            .read_exact(&mut answer)
            .expect("the blocked client is served");
        assert!(
            matches!(answer[0], b'*' | b'$'),
            "{kind}: {block:?} answered"
        );
        wait_offsets_equal(&servers);
        record(&format!("{} served by {}", block.join(" "), push.join(" ")));
    }
    assert_eq!(
        replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
        Reply::ok()
    );
    for argv in [&["SET", "w", "1"][..], &["SADD", "ws", "a", "b", "c"]] {
        replica.cmd(argv);
        record(&format!("replica: {}", argv.join(" ")));
    }
    seen
}

#[test]
fn changes_since_last_save_count_as_redis_counts_them() {
    let redis = changes("redis");
    let ours = changes("replscope");
    for (r, o) in redis.iter().zip(&ours) {
        eprintln!("{:<50} redis {:?}   ours {:?}", r.0, r.1, o.1);
    }
    for (r, o) in redis.iter().zip(&ours) {
        assert_eq!(r, o, "after {} (master, replica, diskless replica)", r.0);
    }
    assert_eq!(redis.len(), ours.len());
}

/// With save points, FLUSHALL saves at once and so zeroes the count, the writes before it in
/// the same transaction included; on the replica that runs it too.
#[test]
fn flushall_in_a_transaction_counts_from_its_save() {
    let run = |kind: &str| {
        let args = ["--save", "3600 1000"];
        let (master, replica) = if kind == "redis" {
            (Server::redis(&args), Server::redis(&args))
        } else {
            (Server::replscope(&args), Server::replscope(&args))
        };
        replica.replicate(&master);
        let cmds: Vec<Vec<String>> = [
            &["SET", "a", "1"][..],
            &["MULTI"],
            &["SET", "x", "1"],
            &["FLUSHALL"],
            &["SET", "y", "1"],
            &["SADD", "s", "a", "b"],
            &["EXEC"],
        ]
        .iter()
        .map(|argv| argv.iter().map(|a| a.to_string()).collect())
        .collect();
        support::pipeline(master.port, &cmds);
        wait_offsets_equal(&[&master, &replica]);
        [&master, &replica].map(|s| s.info("persistence", "rdb_changes_since_last_save"))
    };
    let redis = run("redis");
    assert_eq!(run("replscope"), redis);
    assert_eq!(
        redis,
        ["3", "3"],
        "Redis 7.0 counts the writes after the save"
    );
}
