//! The divergences Redis 7.0.15's own replication test suite found in `replscope server`
//! (issue #15), each checked side by side with a real redis-server: both must behave the
//! same, down to the log lines an operator greps for.

mod support;

use std::time::Duration;

use replscope::engine::rdb;
use replscope::engine::resp::Reply;
use support::{pipeline, raw_exchange, wait_until, Server};

/// Both kinds of server, started with the same arguments.
fn both(args: &[&str]) -> [Server; 2] {
    [Server::redis(args), Server::replscope(args)]
}

/// A replica's link carries no replies: a command sent on it after SYNC/PSYNC that makes
/// the master reply (a keyspace command refused, or PING answered) disconnects the replica,
/// with Redis's warnings.
#[test]
fn a_replica_that_makes_its_master_reply_is_disconnected() {
    for server in both(&["--repl-diskless-sync-delay", "0", "--save", ""]) {
        let kind = server.kind;
        let (got, closed) = raw_exchange(server.port, b"PSYNC replicationid -1\r\nGET foo\r\n");
        assert!(got.starts_with(b"+FULLRESYNC "), "{kind}: {got:?}");
        assert!(closed, "{kind}: the replica link stays open after GET");
        let (got, closed) = raw_exchange(server.port, b"SYNC\r\nPING\r\n");
        assert!(!got.windows(5).any(|w| w == b"+PONG"), "{kind}: {got:?}");
        assert!(closed, "{kind}: the replica link stays open after PING");
        wait_until(Duration::from_secs(5), "the warnings", || {
            let log = server.log();
            log.contains("Replica generated a reply to command 'get', disconnecting it: id=")
                && log.contains("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the keyspace' after processing the command 'get'")
                && log.contains("Replica generated a reply to command 'ping', disconnecting it: id=")
        });
        // The master is fine, and the client description names the replica flag and command.
        assert_eq!(
            server.cmd(&["PING"]),
            Reply::Simple("PONG".into()),
            "{kind}"
        );
        let log = server.log();
        let line = log
            .lines()
            .find(|l| l.contains("Replica generated a reply to command 'get'"))
            .unwrap();
        assert!(
            line.contains(" flags=S ") && line.contains(" cmd=get "),
            "{kind}: {line}"
        );
    }
}

/// `PSYNC <replid> <not a number>`: the integer error, and the master's warning.
#[test]
fn psync_with_a_wrong_offset_is_logged() {
    let replies: Vec<Vec<u8>> = both(&[])
        .iter()
        .map(|server| {
            let (got, _) = raw_exchange(server.port, b"PSYNC abc notanumber\r\n");
            wait_until(Duration::from_secs(5), "the warning", || {
                server
                    .log()
                    .contains("asks for synchronization but with a wrong offset")
            });
            got
        })
        .collect();
    assert_eq!(
        replies[0],
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(replies[0], replies[1]);
}

/// A writable replica deletes the expiring keys its own clients created (`expireSlaveKeys`):
/// they leave DBSIZE, and count as expired keys.
#[test]
fn a_writable_replica_expires_the_keys_it_created() {
    for [master, replica] in [
        [Server::redis(&[]), Server::redis(&[])],
        [Server::replscope(&[]), Server::replscope(&[])],
    ] {
        let kind = replica.kind;
        replica.replicate(&master);
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
            Reply::ok()
        );
        assert_eq!(replica.cmd(&["SET", "mine", "v", "PX", "100"]), Reply::ok());
        assert_eq!(replica.cmd(&["SET", "kept", "v"]), Reply::ok());
        assert_eq!(replica.cmd(&["SET", "later", "v"]), Reply::ok());
        assert_eq!(replica.cmd(&["PEXPIRE", "later", "150"]), Reply::Integer(1));
        wait_until(
            Duration::from_secs(5),
            "the replica's own keys expire",
            || replica.cmd(&["DBSIZE"]) == Reply::Integer(1),
        );
        assert_eq!(replica.stat("expired_keys"), 2, "{kind}");
        assert_eq!(
            replica.cmd(&["EXISTS", "kept"]),
            Reply::Integer(1),
            "{kind}"
        );
    }
}

/// A writable replica stores an expire time as given, even `PEXPIREAT k -1`; but
/// `getExpire` answers -1 for "none", so such a key reads as having no TTL: TTL answers -1,
/// the NX/XX/GT/LT flags see none, and RENAME, COPY and MOVE drop it, so the copies outlive
/// the replica's own expiry of the original. One MULTI, so no expiry cycle runs in between.
#[test]
fn a_stored_expire_of_minus_one_reads_as_none_on_a_writable_replica() {
    let mut answers = Vec::new();
    for [master, replica] in [
        [Server::redis(&[]), Server::redis(&[])],
        [Server::replscope(&[]), Server::replscope(&[])],
    ] {
        let kind = replica.kind;
        replica.replicate(&master);
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
            Reply::ok()
        );
        let script = "MULTI|SET k v|PEXPIREAT k -1|PTTL k|TTL k|PEXPIRE k 100000 XX|\
            PEXPIRE k 100000 GT|SET n v|PEXPIREAT n -1|PEXPIRE n 100000 NX|TTL n|\
            SET l v|PEXPIREAT l -1|PEXPIRE l 100000 LT|TTL l|SET p v|PEXPIREAT p -1|PERSIST p|\
            SET c v|PEXPIREAT c -1|COPY c copied|TTL copied|SET m v|PEXPIREAT m -1|MOVE m 1|\
            SET r v|PEXPIREAT r -1|RENAME r renamed|TTL renamed|INFO keyspace|EXEC";
        let cmds: Vec<String> = script.split('|').map(|s| s.trim().to_string()).collect();
        let replies: Vec<Reply> = pipeline(replica.port, &support::lines(&cmds));
        let exec = replies.last().unwrap().clone();
        // The originals leave (the replica expires its own keys); the copies stay.
        wait_until(Duration::from_secs(5), "the originals expire", || {
            replica.cmd(&["EXISTS", "k", "c", "r"]) == Reply::Integer(0)
        });
        std::thread::sleep(Duration::from_millis(300));
        let after = [
            replica.cmd(&["EXISTS", "n", "l", "p", "copied", "renamed"]),
            replica.cmd(&["TTL", "copied"]),
            replica.cmd(&["TTL", "renamed"]),
            replica.cmd(&["INFO", "keyspace"]),
        ];
        answers.push((kind, exec, after));
    }
    let (_, want_exec, want_after) = &answers[0];
    let (_, got_exec, got_after) = &answers[1];
    assert_eq!(got_exec, want_exec, "the MULTI's replies");
    assert_eq!(got_after, want_after, "what outlives the replica's expiry");
    // What Redis answers, so a change on either side shows here.
    let Reply::Array(items) = want_exec else {
        panic!("{want_exec:?}")
    };
    assert_eq!(items[2], Reply::Integer(-1), "PTTL of a stored -1");
    assert_eq!(want_after[0], Reply::Integer(5), "{want_after:?}");
}

/// The same key in an RDB: RESIZEDB counts it among the keys with an expire
/// (`dictSize(db->expires)`), but `rdbSaveKeyValuePair` writes no expire for -1. SAVE is
/// pipelined right after the EXEC (it is refused inside MULTI), before the replica's
/// expiry cycle can delete the key.
#[test]
fn a_stored_expire_of_minus_one_is_saved_as_none() {
    let outlines: Vec<Vec<String>> = [
        [Server::redis(&[]), Server::redis(&[])],
        [Server::replscope(&[]), Server::replscope(&[])],
    ]
    .iter()
    .map(|[master, replica]| {
        replica.replicate(master);
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
            Reply::ok()
        );
        let cmds: Vec<String> = [
            "MULTI",
            "SET s v",
            "PEXPIREAT s -1",
            "SET t v",
            "EXEC",
            "SAVE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let replies = pipeline(replica.port, &support::lines(&cmds));
        assert_eq!(replies.len(), 6, "{}: {replies:?}", replica.kind);
        let rdb = std::fs::read(replica.dir.join("dump.rdb"))
            .unwrap_or_else(|e| panic!("{}: {e}: {replies:?}", replica.kind));
        // Keys in any order: Redis saves them in its hash table's order.
        let mut lines: Vec<String> = rdb::outline(&rdb)
            .into_iter()
            .filter(|l| !l.starts_with("AUX"))
            .collect();
        lines.sort();
        lines
    })
    .collect();
    assert_eq!(outlines[1], outlines[0]);
    assert!(
        outlines[0].contains(&"RESIZEDB 2 keys, 1 with a TTL".to_string()),
        "{:?}",
        outlines[0]
    );
}

/// A replica hard output limit below `repl-backlog-size` is raised to it: a replica that
/// stops reading for a while survives 20 MB of writes with a 512 kB hard limit and a
/// 100 MB backlog.
#[test]
fn the_replica_hard_limit_is_at_least_the_backlog() {
    let master_args = [
        "--client-output-buffer-limit",
        "replica 512k 0 0",
        "--repl-backlog-size",
        "100mb",
    ];
    for [master, replica] in [
        [Server::redis(&master_args), Server::redis(&[])],
        [Server::replscope(&master_args), Server::replscope(&[])],
    ] {
        let kind = master.kind;
        replica.replicate(&master);
        replica.pause();
        let value = "x".repeat(100 * 1024);
        let writes: Vec<Vec<String>> = (0..200)
            .map(|i| vec!["SET".into(), format!("k{}", i % 20), value.clone()])
            .collect();
        pipeline(master.port, &writes);
        std::thread::sleep(Duration::from_millis(300));
        replica.resume();
        wait_until(Duration::from_secs(30), "the replica catches up", || {
            replica.offset() == master.offset()
        });
        assert_eq!(master.stat("sync_full"), 1, "{kind}: {}", master.log());
        assert!(
            !master.log().contains("overcoming of output buffer limits"),
            "{kind}: the replica was dropped for its output buffer"
        );
    }
}
