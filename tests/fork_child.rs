//! The fork child of a full sync, as seen from outside the server, side by side with a real
//! redis-server 7.0: `pgrep -P` finds it and the log names its pid; killed behind the
//! server's back (the OOM killer) the snapshot is lost, the waiting replica dropped and a
//! new snapshot forked; it dies with its parent; FLUSHALL kills it. `replscope server`
//! runs a stand-in process for it (src/server/fork_child.rs).

mod support;

use std::process::Command;
use std::time::Duration;

use replscope::engine::resp::Reply;
use support::{wait_until, Server};

/// The first child process of `pid`, if any.
fn child_of(pid: u32) -> Option<u32> {
    let out = Command::new("pgrep")
        .arg("-P")
        .arg(pid.to_string())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
}

/// Whether `pid` runs (a zombie does not count).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
}

fn kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(sig).arg(pid.to_string()).status();
}

/// A master whose full-sync snapshot takes about 10 s (10000 keys, 1 ms each), and a
/// replica syncing from it; returns them once the child runs, with its pid.
fn slow_sync(kind: &str, diskless: &str) -> (Server, Server, u32) {
    let args = [
        "--repl-diskless-sync",
        diskless,
        "--repl-diskless-sync-delay",
        "0",
        "--save",
        "",
        "--rdb-key-save-delay",
        "1000",
        "--enable-debug-command",
        "yes",
    ];
    let (master, replica) = if kind == "redis" {
        (Server::redis(&args), Server::redis(&["--save", ""]))
    } else {
        (Server::replscope(&args), Server::replscope(&["--save", ""]))
    };
    assert_eq!(
        master.cmd(&["DEBUG", "POPULATE", "10000"]),
        Reply::ok(),
        "{kind}"
    );
    assert_eq!(
        replica.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        Reply::ok()
    );
    wait_until(Duration::from_secs(10), "the fork", || {
        master.info("persistence", "rdb_bgsave_in_progress") == "1"
    });
    let mut pid = None;
    wait_until(Duration::from_secs(5), "the child process", || {
        pid = child_of(master.child.id());
        pid.is_some()
    });
    (master, replica, pid.unwrap())
}

/// The log names the child, and a `kill -9` on it loses the transfer: the replica that
/// waited for it is dropped, comes back, and a new child serves it.
#[test]
fn a_killed_child_drops_its_replicas_and_a_new_one_is_forked() {
    for (kind, diskless, what) in [
        ("redis", "yes", "Background RDB transfer started by pid"),
        ("replscope", "yes", "Background RDB transfer started by pid"),
        ("redis", "no", "Background saving started by pid"),
        ("replscope", "no", "Background saving started by pid"),
    ] {
        let (master, replica, pid) = slow_sync(kind, diskless);
        let started = format!("{what} {pid}");
        wait_until(Duration::from_secs(5), "the fork's log line", || {
            master.log().contains(&started)
        });
        kill(pid, "-9");
        let ended = if diskless == "yes" {
            "Background transfer terminated by signal 9"
        } else {
            "Background saving terminated by signal 9"
        };
        wait_until(Duration::from_secs(5), "the child's end", || {
            let log = master.log();
            log.contains(ended) && log.contains("SYNC failed. BGSAVE child returned an error")
        });
        assert!(!alive(pid), "{kind}: the killed child is reaped");
        // A disk save killed by another signal than SIGUSR1 failed (until the next one).
        let status = if diskless == "no" { "err" } else { "ok" };
        assert_eq!(
            master.info("persistence", "rdb_last_bgsave_status"),
            status,
            "{kind} diskless {diskless}"
        );
        // The replica comes back for a new full sync, quick this time.
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]),
            Reply::ok()
        );
        replica.wait_link_up();
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(10000), "{kind}");
        if diskless == "yes" {
            // The parent read the dead child's pipe to its end first.
            let log = master.log();
            let pipe = log
                .find("Diskless rdb transfer, done reading from pipe, 1 replicas still up.")
                .unwrap_or_else(|| panic!("{kind}: {log}"));
            assert!(pipe < log.find(ended).unwrap(), "{kind}: {log}");
        } else {
            // Two background saves, the second good: the status is ok again, and the file
            // the child wrote is the node's snapshot.
            wait_until(Duration::from_secs(5), "the status", || {
                master.info("persistence", "rdb_last_bgsave_status") == "ok"
            });
            assert_eq!(master.info("persistence", "rdb_saves"), "2", "{kind}");
            assert!(master.dir.join("dump.rdb").exists(), "{kind}");
        }
        let log = master.log();
        let forks = log.matches(what).count();
        assert_eq!(forks, 2, "{kind} diskless {diskless}: {log}");
    }
}

/// The child does not outlive its parent.
#[test]
fn the_child_dies_with_its_parent() {
    for kind in ["redis", "replscope"] {
        for diskless in ["yes", "no"] {
            let (mut master, _replica, pid) = slow_sync(kind, diskless);
            master.child.kill().expect("kill -9 the master");
            let _ = master.child.wait();
            wait_until(Duration::from_secs(5), "the orphan's end", || !alive(pid));
        }
    }
}

/// FLUSHALL during a full sync kills the child (its snapshot holds the old dataset): the
/// replica is dropped and synced again, from a new child, with the empty dataset.
#[test]
fn flushall_kills_the_child() {
    for kind in ["redis", "replscope"] {
        let (master, replica, pid) = slow_sync(kind, "yes");
        assert_eq!(master.cmd(&["FLUSHALL"]), Reply::ok(), "{kind}");
        wait_until(Duration::from_secs(5), "the child's end", || {
            master
                .log()
                .contains("Background transfer terminated by signal 10")
        });
        assert!(!alive(pid), "{kind}");
        wait_until(Duration::from_secs(10), "a new fork", || {
            master
                .log()
                .matches("Background RDB transfer started by pid")
                .count()
                == 2
        });
        replica.wait_link_up();
        assert_eq!(replica.cmd(&["DBSIZE"]), Reply::Integer(0), "{kind}");
    }
}

/// With save points, FLUSHALL saves the emptied dataset at once, so that a restart does not
/// bring the keys back; a background save still running is killed first (its file would
/// hold the keys). A FLUSHALL refused for its arguments does neither.
#[test]
fn flushall_with_save_points_saves_at_once() {
    // The string key `k` = `v` as an RDB holds it: type 0, then both lengths and bytes.
    const RECORD: &[u8] = b"\x00\x01k\x01v";
    let holds_k = |server: &Server| {
        std::fs::read(server.dir.join("dump.rdb"))
            .expect("dump.rdb")
            .windows(RECORD.len())
            .any(|w| w == RECORD)
    };
    for kind in ["redis", "replscope"] {
        let server = if kind == "redis" {
            Server::redis(&["--save", "3600 1", "--enable-debug-command", "yes"])
        } else {
            Server::replscope(&["--save", "3600 1", "--enable-debug-command", "yes"])
        };
        assert_eq!(server.cmd(&["SET", "k", "v"]), Reply::ok());
        assert_eq!(server.cmd(&["SAVE"]), Reply::ok());
        assert!(holds_k(&server), "{kind}");
        assert_eq!(server.cmd(&["SET", "k2", "v"]), Reply::ok());
        assert_eq!(
            server.cmd(&["FLUSHALL", "foo"]),
            Reply::Error("ERR syntax error".into())
        );
        assert_eq!(
            server.info("persistence", "rdb_changes_since_last_save"),
            "1",
            "{kind}"
        );
        // A background save slowed down to 2000 keys × 1 ms.
        assert_eq!(
            server.cmd(&["DEBUG", "POPULATE", "2000"]),
            Reply::ok(),
            "{kind}"
        );
        assert_eq!(
            server.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]),
            Reply::ok()
        );
        assert_eq!(
            server.cmd(&["BGSAVE"]),
            Reply::Simple("Background saving started".into())
        );
        assert_eq!(server.cmd(&["FLUSHALL"]), Reply::ok());
        assert_eq!(
            server.info("persistence", "rdb_changes_since_last_save"),
            "0",
            "{kind}"
        );
        assert!(
            !holds_k(&server),
            "{kind}: the file still holds the flushed key"
        );
        wait_until(Duration::from_secs(5), "the killed save's end", || {
            server
                .log()
                .contains("Background saving terminated by signal 10")
        });
        assert_eq!(server.info("persistence", "rdb_saves"), "2", "{kind}");
        assert_eq!(
            server.info("persistence", "rdb_last_bgsave_status"),
            "ok",
            "{kind}"
        );
        // The killed save never writes its file.
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!holds_k(&server), "{kind}: the killed save wrote its file");
        assert_eq!(
            server.log().matches("DB saved on disk").count(),
            2,
            "{kind}"
        );
    }
}
