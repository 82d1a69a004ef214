//! A replica with `repl-diskless-load disabled` (the default) receives its master's RDB
//! into a file, side by side with a real Redis 7.0.15 replica: `readSyncBulkPayload` writes
//! the payload to `temp-<unixtime>.<pid>.rdb`, renames it over `dbfilename`, loads it and
//! keeps it (unless `rdb-del-sync-files yes` on a replica without persistence); a transfer
//! cut short leaves no temporary file; a replica killed with SIGKILL and started again loads
//! that file, whose replication ID and offset let it resume with a partial resync.

mod support;

use std::path::Path;
use std::time::Duration;

use replscope::engine::resp::Reply;
use support::Server;

const KINDS: [&str; 2] = ["redis", "replscope"];

/// A real Redis master holding the test dataset, sending its snapshots at once.
fn master() -> Server {
    let master = Server::redis(&["--repl-diskless-sync-delay", "0"]);
    support::write_dataset(&master);
    master
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("temp-") && n.ends_with(".rdb"))
        .collect()
}

/// The log lines from the full resync to its end, by their text after the timestamp, with
/// what differs from one run to the next (ids, ages, memory) masked.
fn sync_lines(log: &str) -> Vec<String> {
    let texts = support::lines_after_full_resync(log);
    let end = texts
        .iter()
        .position(|t| t == "MASTER <-> REPLICA sync: Finished with success")
        .unwrap_or_else(|| panic!("no finished sync in\n{log}"));
    texts[..=end]
        .iter()
        .map(|t| {
            if t.starts_with("RDB age ") {
                "RDB age N seconds".into()
            } else if t.starts_with("RDB memory usage when created ") {
                "RDB memory usage when created X Mb".into()
            } else {
                t.clone()
            }
        })
        .collect()
}

#[test]
fn a_disk_based_full_sync_keeps_the_payload_as_dbfilename() {
    let mut logs = Vec::new();
    for kind in KINDS {
        let master = master();
        let replica = Server::of_kind(kind, &["--save", ""]);
        replica.replicate(&master);
        support::wait_offsets_equal(&[&master, &replica]);
        let file = std::fs::read(replica.dir.join("dump.rdb"))
            .unwrap_or_else(|e| panic!("{kind}: no dump.rdb ({e})\n{}", replica.log()));
        let synced = replscope::engine::rdb::load(&file).expect("the synced file loads");
        assert_eq!(master.cmd(&["SAVE"]), Reply::ok());
        let saved = std::fs::read(master.dir.join("dump.rdb")).expect("the master's file");
        let saved = replscope::engine::rdb::load(&saved).expect("the master's file loads");
        assert_eq!(synced.keyspace, saved.keyspace, "{kind}");
        let repl = synced.repl.expect("the synced file has replication info");
        assert_eq!(
            repl.repl_id,
            master.info("replication", "master_replid"),
            "{kind}"
        );
        assert!(temp_files(&replica.dir).is_empty(), "{kind}");
        assert_eq!(support::dump(&replica), support::dump(&master), "{kind}");
        logs.push(sync_lines(&replica.log()));
    }
    assert!(
        logs[0].contains(&"Loading RDB produced by version 7.0.15".to_string()),
        "{:#?}",
        logs[0]
    );
    assert_eq!(logs[1], logs[0], "replscope's sync log against Redis's");
}

#[test]
fn diskless_load_writes_no_file() {
    for kind in KINDS {
        let master = master();
        let replica = Server::of_kind(kind, &["--save", "", "--repl-diskless-load", "swapdb"]);
        replica.replicate(&master);
        support::wait_offsets_equal(&[&master, &replica]);
        assert!(!replica.dir.join("dump.rdb").exists(), "{kind}");
        assert!(temp_files(&replica.dir).is_empty(), "{kind}");
        assert_eq!(support::dump(&replica), support::dump(&master), "{kind}");
    }
}

#[test]
fn rdb_del_sync_files_removes_the_file_of_a_replica_without_persistence() {
    let mut logs = Vec::new();
    for kind in KINDS {
        let master = master();
        let replica = Server::of_kind(kind, &["--save", "", "--rdb-del-sync-files", "yes"]);
        replica.replicate(&master);
        support::wait_offsets_equal(&[&master, &replica]);
        // bg_unlink: Redis unlinks in a background thread.
        support::wait_until(Duration::from_secs(5), "the file removed", || {
            !replica.dir.join("dump.rdb").exists()
        });
        assert!(temp_files(&replica.dir).is_empty(), "{kind}");
        logs.push(sync_lines(&replica.log()));
    }
    assert!(
        logs[0].contains(
            &"Removing the RDB file obtained from the master. This replica has persistence disabled"
                .to_string()
        ),
        "{:#?}",
        logs[0]
    );
    assert_eq!(logs[1], logs[0], "replscope's sync log against Redis's");
    // With a save point the file is the replica's persistence: it stays.
    for kind in KINDS {
        let master = master();
        let replica = Server::of_kind(kind, &["--save", "3600 1", "--rdb-del-sync-files", "yes"]);
        replica.replicate(&master);
        support::wait_offsets_equal(&[&master, &replica]);
        assert!(replica.dir.join("dump.rdb").exists(), "{kind}");
        assert!(!replica.log().contains("Removing the RDB file"), "{kind}");
    }
}

#[test]
fn a_transfer_cut_short_leaves_no_temporary_file() {
    for kind in KINDS {
        // 50 keys at 100 ms each: the snapshot takes seconds to arrive.
        let master = Server::redis(&[
            "--repl-diskless-sync-delay",
            "0",
            "--rdb-key-save-delay",
            "100000",
        ]);
        let cmds: Vec<String> = (0..50).map(|i| format!("SET k{i} v{i}")).collect();
        support::pipeline(master.port, &support::lines(&cmds));
        let replica = Server::of_kind(kind, &["--save", ""]);
        let port = master.port.to_string();
        assert_eq!(replica.cmd(&["REPLICAOF", "127.0.0.1", &port]), Reply::ok());
        support::wait_until(Duration::from_secs(10), "the temporary file", || {
            !temp_files(&replica.dir).is_empty()
        });
        drop(master);
        support::wait_until(Duration::from_secs(10), "the temporary file gone", || {
            temp_files(&replica.dir).is_empty()
        });
        assert!(!replica.dir.join("dump.rdb").exists(), "{kind}");
    }
}

#[test]
fn a_replica_killed_and_restarted_resumes_from_its_synced_file() {
    let mut outcomes = Vec::new();
    for kind in KINDS {
        let master = master();
        let port = master.port.to_string();
        let mut replica = Server::of_kind(kind, &["--save", "", "--replicaof", "127.0.0.1", &port]);
        replica.wait_link_up();
        support::wait_offsets_equal(&[&master, &replica]);
        // Writes after the snapshot: the backlog holds them, the file does not.
        for i in 0..10 {
            master.cmd(&["SET", &format!("after{i}"), "x"]);
        }
        support::wait_offsets_equal(&[&master, &replica]);
        replica.restart();
        replica.wait_link_up();
        support::wait_offsets_equal(&[&master, &replica]);
        assert_eq!(support::dump(&replica), support::dump(&master), "{kind}");
        let partial = master.stat("sync_partial_ok");
        let full = master.stat("sync_full");
        let accepted = master
            .log()
            .contains("Partial resynchronization request from 127.0.0.1");
        outcomes.push((partial, full, accepted));
    }
    assert_eq!(
        outcomes[0],
        (1, 1, true),
        "Redis resumes with a partial resync"
    );
    assert_eq!(outcomes[1], outcomes[0], "replscope against Redis");
}

/// The replica's directory is gone when the master accepts the full sync: `syncWithMaster`
/// tries five times, a second apart, to open the temporary file, logs the `strerror` text,
/// and closes the link; the next replicationCron dials again. Nothing is loaded.
#[test]
fn a_temp_file_that_cannot_be_opened_ends_the_handshake_and_is_retried() {
    let master = master();
    let replicas: Vec<(Server, std::path::PathBuf)> = KINDS
        .iter()
        .map(|kind| {
            let data = std::env::temp_dir().join(format!(
                "replscope-gone-{kind}-{}-{}",
                std::process::id(),
                master.port
            ));
            std::fs::create_dir_all(&data).unwrap();
            let replica = Server::of_kind(kind, &["--dir", data.to_str().unwrap()]);
            std::fs::remove_dir_all(&data).unwrap();
            (replica, data)
        })
        .collect();
    for (replica, _) in &replicas {
        assert_eq!(
            replica.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
            Reply::ok()
        );
    }
    let open_failed =
        "Opening the temp file needed for MASTER <-> REPLICA synchronization: No such file or directory";
    let mut logs = Vec::new();
    for (replica, data) in &replicas {
        support::wait_until(
            Duration::from_secs(20),
            &format!(
                "{}: the open fails and the master is dialled again",
                replica.kind
            ),
            || {
                let log = replica.log();
                log.find(open_failed)
                    .is_some_and(|at| log[at..].contains("MASTER <-> REPLICA sync started"))
            },
        );
        assert_eq!(replica.info("replication", "master_link_status"), "down");
        assert!(
            !data.exists(),
            "{}: nothing recreated the directory",
            replica.kind
        );
        let log = replica.log().replace(&master.port.to_string(), "PORT");
        let texts: Vec<String> = log
            .lines()
            .map(|l| l.split_whitespace().skip(6).collect::<Vec<_>>().join(" "))
            .collect();
        let from = texts
            .iter()
            .position(|t| t.starts_with("Full resync from master"))
            .expect("full resync");
        logs.push(texts[from + 1..from + 4].to_vec());
    }
    assert_eq!(logs[1], logs[0]);
    assert_eq!(
        logs[1],
        [
            open_failed,
            "Connecting to MASTER 127.0.0.1:PORT",
            "MASTER <-> REPLICA sync started"
        ]
    );
}
