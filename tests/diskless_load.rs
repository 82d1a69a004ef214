//! `repl-diskless-load` side by side with a real redis-server 7.0: a replica that parses its
//! full sync's RDB from the socket is loading (`-LOADING`) from the payload's first byte;
//! `swapdb` keeps the old dataset for a sync that fails and swaps the new one in at the end,
//! and serves the old one meanwhile (`async_loading`) when the master's replication ID is
//! its own; `on-empty-db` parses from the socket only into an empty dataset.

mod support;

use std::time::Duration;

use replscope::engine::resp::Reply;
use support::{pipeline, wait_until, Server};

const KINDS: [&str; 2] = ["redis", "replscope"];

fn server(kind: &str, args: &[&str]) -> Server {
    if kind == "redis" {
        Server::redis(args)
    } else {
        Server::replscope(args)
    }
}

/// A diskless master and a swapdb replica, both with DEBUG enabled.
fn swapdb_pair(kind: &str) -> (Server, Server) {
    let master = server(
        kind,
        &[
            "--enable-debug-command",
            "yes",
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            // Compressed, the whole payload fits the snapshot's first 16 KB write.
            "--rdbcompression",
            "no",
        ],
    );
    let replica = server(
        kind,
        &[
            "--enable-debug-command",
            "yes",
            "--repl-diskless-load",
            "swapdb",
            // Redis serves clients during a blocking load once per this many bytes.
            "--loading-process-events-interval-bytes",
            "1024",
        ],
    );
    (master, replica)
}

/// REPLICAOF without waiting for the link.
fn follow(replica: &Server, master: &Server) {
    assert_eq!(
        replica.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        Reply::ok()
    );
}

#[test]
fn swapdb_keeps_the_old_dataset_when_the_sync_fails_and_swaps_on_success() {
    for kind in KINDS {
        let (master, replica) = swapdb_pair(kind);
        let _ = replica.cmd(&["DEBUG", "POPULATE", "200", "slave", "10"]);
        assert_eq!(replica.cmd(&["SET", "mykey", "myvalue"]), Reply::ok());
        let _ = master.cmd(&["DEBUG", "POPULATE", "300", "master", "1000"]);
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]),
            Reply::ok()
        );
        follow(&replica, &master);
        wait_until(Duration::from_secs(10), "the replica loads", || {
            replica.info("persistence", "loading") == "1"
        });
        assert_eq!(replica.info("persistence", "async_loading"), "0", "{kind}");
        assert_eq!(
            replica.cmd(&["GET", "mykey"]),
            Reply::error("LOADING Redis is loading the dataset in memory"),
            "{kind}"
        );
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "repl-diskless-sync-delay", "5"]),
            Reply::ok()
        );
        assert_eq!(
            master.cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
            Reply::Integer(1),
            "{kind}"
        );
        wait_until(Duration::from_secs(10), "the load stops", || {
            replica.info("persistence", "loading") == "0"
        });
        assert_eq!(
            replica.cmd(&["GET", "mykey"]),
            Reply::bulk("myvalue"),
            "{kind}"
        );
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(201), "{kind}");
        let log = replica.log();
        assert!(
            log.contains("Discarding temporary DB in background"),
            "{kind}: {log}"
        );
        // Once the master is fast again, the new dataset replaces the old one.
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]),
            Reply::ok()
        );
        replica.wait_link_up();
        assert_eq!(replica.cmd(&["GET", "mykey"]), Reply::Nil, "{kind}");
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(300), "{kind}");
        let log = replica.log();
        for line in [
            "receiving streamed RDB from master with EOF to parser",
            "Swapping active DB with loaded DB",
            "Discarding old DB in background",
        ] {
            assert!(log.contains(line), "{kind}: no '{line}' in {log}");
        }
    }
}

#[test]
fn swapdb_serves_the_old_dataset_while_loading_from_its_own_master() {
    for kind in KINDS {
        let (master, replica) = swapdb_pair(kind);
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
            Reply::ok()
        );
        replica.replicate(&master);
        let _ = master.cmd(&["DEBUG", "POPULATE", "300", "master", "1000"]);
        assert_eq!(replica.cmd(&["SET", "mykey", "myvalue"]), Reply::ok());
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]),
            Reply::ok()
        );
        // Past the backlog: the replica, same replid, needs a full sync. In one transaction,
        // so that it cannot reconnect in between.
        let big = "A".repeat(16384);
        let mut tx: Vec<Vec<String>> = vec![
            vec!["MULTI".into()],
            vec![
                "CLIENT".into(),
                "KILL".into(),
                "TYPE".into(),
                "replica".into(),
            ],
            vec![
                "CONFIG".into(),
                "SET".into(),
                "repl-backlog-size".into(),
                "16384".into(),
            ],
        ];
        for i in 0..4 {
            tx.push(vec!["SET".into(), format!("big{i}"), big.clone()]);
        }
        tx.push(vec!["EXEC".into()]);
        pipeline(master.port, &tx);
        wait_until(
            Duration::from_secs(10),
            &format!("{kind}: async loading"),
            || replica.info("persistence", "async_loading") == "1",
        );
        assert_eq!(replica.info("persistence", "loading"), "0", "{kind}");
        assert_eq!(
            replica.cmd(&["GET", "mykey"]),
            Reply::bulk("myvalue"),
            "{kind}"
        );
        // DEBUG POPULATE is not replicated: the replica holds its own key alone.
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(1), "{kind}");
        // Commands and options that would disturb the load are refused meanwhile: REPLICAOF
        // (`no-async-loading`) and the `DENY_LOADING_CONFIG` options, even in company.
        for refused in [
            &["REPLICAOF", "NO", "ONE"][..],
            &["CONFIG", "SET", "appendonly", "no"],
            &[
                "CONFIG",
                "SET",
                "timeout",
                "0",
                "repl-diskless-load",
                "disabled",
            ],
            &["CONFIG", "SET", "appendonly", "no", "no-such-option", "1"],
        ] {
            assert_eq!(
                replica.cmd(refused),
                Reply::Error("LOADING Redis is loading the dataset in memory".into()),
                "{kind}: {refused:?}"
            );
        }
        // Others are not, and a refusal met first, in argument order, is answered instead.
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "timeout", "0"]),
            Reply::ok(),
            "{kind}"
        );
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "no-such-option", "1", "appendonly", "no"]),
            Reply::Error(
                "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-option'"
                    .into()
            ),
            "{kind}"
        );
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "databases", "1", "appendonly", "no"]),
            Reply::Error(
                "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
                    .into()
            ),
            "{kind}"
        );
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]),
            Reply::ok()
        );
        wait_until(Duration::from_secs(20), "the swap", || {
            replica.info("persistence", "async_loading") == "0"
                && replica.info("replication", "master_link_status") == "up"
        });
        wait_until(Duration::from_secs(10), "the new dataset", || {
            replica.cmd(&["DBSIZE"]) == Reply::Integer(304)
        });
        assert_eq!(replica.cmd(&["GET", "mykey"]), Reply::Nil, "{kind}");
    }
}

#[test]
fn on_empty_db_parses_from_the_socket_only_into_an_empty_dataset() {
    for kind in KINDS {
        let master = server(
            kind,
            &[
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "0",
            ],
        );
        master.cmd(&["SET", "k", "v"]);
        let empty = server(kind, &["--repl-diskless-load", "on-empty-db"]);
        empty.replicate(&master);
        assert!(
            empty
                .log()
                .contains("receiving streamed RDB from master with EOF to parser"),
            "{kind}"
        );
        let full = server(kind, &["--repl-diskless-load", "on-empty-db"]);
        full.cmd(&["SET", "mine", "1"]);
        full.replicate(&master);
        assert!(
            full.log()
                .contains("receiving streamed RDB from master with EOF to disk"),
            "{kind}"
        );
        assert_eq!(full.cmd(&["DBSIZE"]), Reply::Integer(1), "{kind}");
        assert_eq!(
            empty.cmd(&["CONFIG", "GET", "repl-diskless-load"]),
            Reply::Array(vec![
                Reply::bulk("repl-diskless-load"),
                Reply::bulk("on-empty-db")
            ])
        );
        assert_eq!(
            empty.cmd(&["CONFIG", "SET", "repl-diskless-load", "sometimes"]),
            Reply::error("ERR CONFIG SET failed (possibly related to argument 'repl-diskless-load') - argument(s) must be one of the following: disabled, on-empty-db, swapdb")
        );
    }
}
