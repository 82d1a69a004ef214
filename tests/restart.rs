//! Stopping and restarting a server the way Redis's own tests (psync2, psync2-master-restart)
//! do, side by side with a real redis-server 7.0: `CONFIG REWRITE` into the file the server
//! was started from, `SHUTDOWN` or SIGTERM with a final save, and a restart from that RDB
//! whose replication ID and offset let the node continue with a partial resync.

mod support;

use std::time::Duration;

use replscope::engine::rdb;
use replscope::engine::resp::Reply;
use support::{signal_server, try_cmd, wait_until, Server};

const KINDS: [&str; 2] = ["redis", "replscope"];

/// Waits until the master's replica acknowledged `offset`: a shutdown with a lagging replica
/// would send it a GETACK first, moving the offset.
fn wait_acked(master: &Server, offset: i64) {
    wait_until(Duration::from_secs(5), "the replica's ACK", || {
        master
            .info("replication", "slave0")
            .contains(&format!(",offset={offset},"))
    });
}

/// A replica rewrites its config (with `replicaof`), shuts down saving its RDB, and once
/// started again from the file continues from its master with `+CONTINUE`.
#[test]
fn a_replica_restarted_from_its_rdb_continues_partially() {
    for kind in KINDS {
        let master = Server::from_config(kind, "save \"\"");
        let mut replica = Server::from_config(kind, "save 3600 1");
        replica.replicate(&master);
        for i in 0..100 {
            master.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        wait_until(Duration::from_secs(10), "the replica catches up", || {
            replica.offset() == master.offset()
        });
        assert_eq!(replica.cmd(&["CONFIG", "REWRITE"]), Reply::ok(), "{kind}");
        let conf = replica.config_file();
        assert!(
            conf.contains(&format!("\nreplicaof 127.0.0.1 {}\n", master.port)),
            "{kind}: {conf}"
        );
        assert!(conf.contains("\nsave 3600 1\n"), "{kind}: {conf}");
        // SHUTDOWN answers nothing: the connection closes and the process exits 0.
        assert_eq!(try_cmd(replica.port, &["SHUTDOWN"]), None, "{kind}");
        assert_eq!(
            replica.wait_exit(Duration::from_secs(10)),
            Some(0),
            "{kind}"
        );
        let log = replica.log();
        for line in [
            "User requested shutdown...",
            "Saving the final RDB snapshot before exiting.",
            "DB saved on disk",
            "is now ready to exit, bye bye...",
        ] {
            assert!(log.contains(line), "{kind}: no '{line}' in\n{log}");
        }
        for i in 100..150 {
            master.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        replica.start_again_from_config();
        replica.wait_link_up();
        wait_until(
            Duration::from_secs(10),
            "the replica catches up again",
            || replica.offset() == master.offset(),
        );
        assert_eq!(master.stat("sync_full"), 1, "{kind}");
        assert_eq!(master.stat("sync_partial_ok"), 1, "{kind}");
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(150), "{kind}");
    }
}

/// A master stopped by SIGTERM saves (save points are set), and restarted it keeps its old
/// replication ID as `master_replid2`: its replicas continue partially.
#[test]
fn a_master_restarted_after_sigterm_keeps_its_replicas_partial() {
    for kind in KINDS {
        let mut master = Server::from_config(kind, "save 3600 1");
        let replica = Server::from_config(kind, "save \"\"");
        replica.replicate(&master);
        master.cmd(&["SET", "a", "1"]);
        wait_until(Duration::from_secs(10), "the replica catches up", || {
            replica.offset() == master.offset()
        });
        let replid = master.info("replication", "master_replid");
        let offset = master.offset();
        wait_acked(&master, offset);
        signal_server(&master, "-TERM");
        assert_eq!(master.wait_exit(Duration::from_secs(15)), Some(0), "{kind}");
        assert!(
            master
                .log()
                .contains("Received SIGTERM scheduling shutdown..."),
            "{kind}"
        );
        assert_eq!(replica.cmd(&["CONFIG", "RESETSTAT"]), Reply::ok());
        master.start_again_from_config();
        replica.wait_link_up();
        assert_eq!(
            master.info("replication", "master_replid2"),
            replid,
            "{kind}"
        );
        assert_eq!(
            master.info("replication", "second_repl_offset"),
            (offset + 1).to_string(),
            "{kind}"
        );
        assert_eq!(master.stat("sync_partial_ok"), 1, "{kind}");
        assert_eq!(master.stat("sync_full"), 0, "{kind}");
        assert_eq!(replica.cmd(&["GET", "a"]), Reply::bulk("1"), "{kind}");
    }
}

/// SHUTDOWN's errors and ABORT, as Redis words them.
#[test]
fn shutdown_arguments() {
    for kind in KINDS {
        let server = Server::from_config(kind, "");
        for (argv, want) in [
            (vec!["SHUTDOWN", "BOGUS"], "ERR syntax error"),
            (vec!["SHUTDOWN", "SAVE", "NOSAVE"], "ERR syntax error"),
            (vec!["SHUTDOWN", "ABORT", "NOW"], "ERR syntax error"),
            (vec!["SHUTDOWN", "ABORT"], "ERR No shutdown in progress."),
        ] {
            assert_eq!(server.cmd(&argv), Reply::error(want), "{kind} {argv:?}");
        }
    }
}

/// A master restarted from an RDB holding keys that expired meanwhile skips them and feeds
/// their DELs into the backlog it created from the RDB's offset: its replica continues
/// partially and gets the DELs. The offset grows by the same bytes as on a real Redis.
#[test]
fn a_restarted_master_feeds_the_dels_of_keys_expired_while_it_was_down() {
    let mut growth = Vec::new();
    for kind in KINDS {
        let mut master = Server::from_config(kind, "save 3600 1");
        let replica = Server::from_config(kind, "save \"\"");
        replica.replicate(&master);
        for i in 0..100 {
            master.cmd(&["SET", &format!("key:{i:03}"), "v", "PX", "1500"]);
        }
        master.cmd(&["SET", "kept", "v"]);
        wait_until(Duration::from_secs(10), "the replica catches up", || {
            replica.offset() == master.offset()
        });
        let offset = master.offset();
        wait_acked(&master, offset);
        signal_server(&master, "-TERM");
        assert_eq!(master.wait_exit(Duration::from_secs(15)), Some(0), "{kind}");
        std::thread::sleep(Duration::from_millis(1600));
        master.start_again_from_config();
        replica.wait_link_up();
        assert_eq!(
            master.info("persistence", "rdb_last_load_keys_expired"),
            "100",
            "{kind}"
        );
        assert_eq!(
            master.info("persistence", "rdb_last_load_keys_loaded"),
            "1",
            "{kind}"
        );
        let histlen: i64 = master
            .info("replication", "repl_backlog_histlen")
            .parse()
            .unwrap();
        assert_eq!(master.offset(), offset + histlen, "{kind}");
        assert_eq!(master.stat("sync_partial_ok"), 1, "{kind}");
        wait_until(
            Duration::from_secs(10),
            "the DELs reach the replica",
            || replica.cmd(&["DBSIZE"]) == Reply::Integer(1),
        );
        growth.push(histlen);
    }
    assert_eq!(
        growth[0], growth[1],
        "backlog bytes fed at load, redis vs replscope"
    );
}

/// While SHUTDOWN waits for a lagging replica, writes wait too (`CLIENT_PAUSE_WRITE`);
/// SHUTDOWN ABORT answers the waiting SHUTDOWN with an error and runs the held write.
#[test]
fn a_shutdown_waiting_for_replicas_pauses_writes_until_aborted() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    fn send(port: u16, line: &str) -> TcpStream {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(600)))
            .unwrap();
        s.write_all(line.as_bytes()).unwrap();
        s
    }
    fn read(s: &mut TcpStream) -> String {
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
            Err(_) => String::new(),
        }
    }
    for kind in KINDS {
        let master = Server::from_config(kind, "save \"\"\nshutdown-timeout 30");
        let replica = Server::from_config(kind, "save \"\"");
        replica.replicate(&master);
        replica.pause();
        master.cmd(&["SET", "a", "1"]);
        let mut shutdown = send(master.port, "SHUTDOWN\r\n");
        wait_until(Duration::from_secs(5), "the shutdown waits", || {
            master
                .log()
                .contains("Waiting for replicas before shutting down.")
        });
        let mut write = send(master.port, "SET b 2\r\n");
        assert_eq!(read(&mut write), "", "{kind}: the write waits");
        assert_eq!(
            master.cmd(&["GET", "a"]),
            Reply::bulk("1"),
            "{kind}: reads go on"
        );
        assert_eq!(master.cmd(&["SHUTDOWN", "ABORT"]), Reply::ok(), "{kind}");
        assert_eq!(
            read(&mut shutdown),
            "-ERR Errors trying to SHUTDOWN. Check logs.\r\n",
            "{kind}"
        );
        assert_eq!(read(&mut write), "+OK\r\n", "{kind}");
        assert!(
            master.log().contains("Shutdown manually aborted."),
            "{kind}"
        );
        replica.resume();
    }
}

/// What a server logs as it starts from an RDB, from "Server initialized" to "Ready to
/// accept connections": rdbLoad's AUX lines, its count of keys loaded and expired, and
/// loadDataFromDisk's line, in Redis's order. The level mark and text of each line; the
/// RDB's age in seconds and the load time are the clock's, not compared.
#[test]
fn a_start_from_an_rdb_logs_the_load_as_redis_does() {
    let logs: Vec<Vec<String>> = KINDS
        .iter()
        .map(|kind| {
            let mut server = Server::of_kind(kind, &[]);
            server.cmd(&["SET", "kept", "v"]);
            server.cmd(&["SET", "gone", "v", "PX", "200"]);
            assert_eq!(server.cmd(&["SAVE"]), Reply::ok(), "{kind}");
            std::thread::sleep(Duration::from_millis(300));
            server.restart();
            let log = server.log();
            let start = log.rfind("Server initialized").expect("Server initialized");
            let start = log[..start].rfind('\n').map_or(0, |i| i + 1);
            log[start..]
                .lines()
                .map(|line| line.splitn(6, ' ').nth(5).unwrap_or(line).to_string())
                .filter(|line| !line.starts_with("# WARNING"))
                .map(|line| {
                    if line.starts_with("* RDB age ") {
                        "* RDB age N seconds".into()
                    } else if line.starts_with("* DB loaded from disk: ") {
                        "* DB loaded from disk: N seconds".into()
                    } else if line.starts_with("* RDB memory usage when created ") {
                        "* RDB memory usage when created N Mb".into()
                    } else {
                        line
                    }
                })
                .collect::<Vec<String>>()
        })
        .map(|mut lines| {
            let ready = lines
                .iter()
                .position(|l| l == "* Ready to accept connections")
                .unwrap_or_else(|| panic!("no 'Ready to accept connections' in {lines:?}"));
            lines.truncate(ready + 1);
            lines
        })
        .collect();
    assert_eq!(logs[1], logs[0]);
    assert!(
        logs[0].contains(&"* Done loading RDB, keys loaded: 1, keys expired: 1.".to_string()),
        "{:?}",
        logs[0]
    );
}

/// An RDB whose `ctime` AUX field is far in the past or future (a forged file): both
/// servers load it, and log an age that C's wrapping arithmetic gives (never a crash).
#[test]
fn a_forged_rdb_ctime_is_logged_as_redis_logs_it() {
    let aux = |out: &mut Vec<u8>, k: &str, v: &str| {
        out.push(0xFA);
        out.extend_from_slice(&rdb::encode_string(k.as_bytes()));
        out.extend_from_slice(&rdb::encode_string(v.as_bytes()));
    };
    let mut file = b"REDIS0010".to_vec();
    aux(&mut file, "redis-ver", "7.0.15");
    aux(&mut file, "ctime", "-9223372036854775807");
    aux(&mut file, "used-mem", "99999999999999999999");
    file.push(0xFF);
    file.extend_from_slice(&[0; 8]); // a zero checksum: not checked
    let ages: Vec<Vec<String>> = KINDS
        .iter()
        .map(|kind| {
            let mut server = Server::of_kind(kind, &[]);
            std::fs::write(server.dir.join("dump.rdb"), &file).unwrap();
            server.restart();
            assert_eq!(server.cmd(&["DBSIZE"]), Reply::Integer(0), "{kind}");
            server
                .log()
                .lines()
                .filter(|l| l.contains("RDB age") || l.contains("RDB memory usage"))
                .map(|l| l.splitn(6, ' ').nth(5).unwrap_or(l).to_string())
                .collect()
        })
        .collect();
    assert_eq!(ages[1], ages[0]);
    assert_eq!(ages[0].len(), 2, "{:?}", ages[0]);
}

/// A replica started with `replicaof` marks its lines `S` from the start, and a master that
/// refuses the connection is logged once per attempt.
#[test]
fn a_replica_started_towards_a_closed_port_logs_as_redis_does() {
    let closed = support::free_port().to_string();
    let logs: Vec<Vec<String>> = KINDS
        .iter()
        .map(|kind| {
            let args = ["--replicaof", "127.0.0.1", closed.as_str()];
            let server = Server::of_kind(kind, &args);
            wait_until(Duration::from_secs(5), "two attempts", || {
                server.log().matches("Error condition on socket").count() >= 2
            });
            let log = server.log();
            let start = log.find("Server initialized").expect("Server initialized");
            let start = log[..start].rfind('\n').map_or(0, |i| i + 1);
            log[start..]
                .lines()
                // The role mark, then the level and text.
                .map(|l| {
                    let role = l.split(' ').next().unwrap_or("").rsplit(':').next();
                    let text = l.splitn(6, ' ').nth(5).unwrap_or(l);
                    format!("{} {text}", role.unwrap_or(""))
                })
                .filter(|l| !l.contains("WARNING"))
                .take(6)
                .collect()
        })
        .collect();
    assert_eq!(logs[1], logs[0]);
    assert_eq!(
        logs[0][4],
        "S # Error condition on socket for SYNC: Connection refused"
    );
}
