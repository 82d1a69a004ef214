//! What an operator (and Redis's own test suite) asks a server about its connections and
//! counters — `CLIENT LIST`, `CLIENT KILL` on a replication link from either end, `INFO
//! commandstats` — side by side with a real redis-server 7.0.

mod support;

use std::time::Duration;

use replscope::engine::resp::Reply;
use support::{wait_until, Server};

fn text(reply: Reply) -> String {
    match reply {
        Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("not a bulk: {other:?}"),
    }
}

/// The value of `field=` in a `CLIENT LIST` line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

fn pairs() -> [[Server; 2]; 2] {
    [
        [Server::redis(&[]), Server::redis(&[])],
        [Server::replscope(&[]), Server::replscope(&[])],
    ]
}

/// Both ends of a link are clients: the replica's master client (`flags=M`) and the
/// master's replica client (`flags=S`), each killable by address, id or type; the replica
/// then reconnects with a partial resync.
#[test]
fn client_list_and_kill_see_both_ends_of_a_link() {
    for [master, replica] in pairs() {
        let kind = master.kind;
        replica.replicate(&master);
        let masters = text(replica.cmd(&["CLIENT", "LIST", "TYPE", "master"]));
        let line = masters.lines().next().expect("a master client");
        assert_eq!(masters.lines().count(), 1, "{kind}: {masters}");
        assert_eq!(field(line, "flags"), "M", "{kind}");
        assert_eq!(
            field(line, "addr"),
            format!("127.0.0.1:{}", master.port),
            "{kind}"
        );
        let replicas = text(master.cmd(&["CLIENT", "LIST", "TYPE", "replica"]));
        assert_eq!(field(replicas.trim_end(), "flags"), "S", "{kind}");
        // IDs in the order given, repeated ones repeated, unknown ones skipped.
        let replica_id = field(replicas.trim_end(), "id").to_string();
        let listed = text(master.cmd(&["CLIENT", "LIST", "ID", &replica_id, "0", &replica_id]));
        assert_eq!(listed.lines().count(), 2, "{kind}: {listed}");
        let all = text(master.cmd(&["CLIENT", "LIST"]));
        assert!(
            all.ends_with('\n') && all.lines().count() == 2,
            "{kind}: {all}"
        );
        assert!(
            all.lines().last().unwrap().contains(" cmd=client|list "),
            "{kind}: {all}"
        );

        // The old form, by the master's address, from the replica.
        let addr = format!("127.0.0.1:{}", master.port);
        assert_eq!(
            replica.cmd(&["CLIENT", "KILL", &addr]),
            Reply::ok(),
            "{kind}"
        );
        wait_until(Duration::from_secs(10), "a partial resync", || {
            master.stat("sync_partial_ok") == 1
                && replica.info("replication", "master_link_status") == "up"
        });
        // By id, the new master client.
        let masters = text(replica.cmd(&["CLIENT", "LIST", "TYPE", "master"]));
        let id = field(masters.trim_end(), "id").to_string();
        assert_eq!(
            replica.cmd(&["CLIENT", "KILL", "ID", &id]),
            Reply::Integer(1),
            "{kind}"
        );
        wait_until(Duration::from_secs(10), "a second partial resync", || {
            master.stat("sync_partial_ok") == 2
                && replica.info("replication", "master_link_status") == "up"
        });
        // From the master, by type.
        assert_eq!(
            master.cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
            Reply::Integer(1),
            "{kind}"
        );
        wait_until(Duration::from_secs(10), "a third partial resync", || {
            master.stat("sync_partial_ok") == 3
        });
        assert_eq!(master.stat("sync_full"), 1, "{kind}");
        assert_eq!(
            master.cmd(&["CLIENT", "KILL", "127.0.0.1:1"]),
            Reply::error("ERR No such client"),
            "{kind}"
        );
        assert_eq!(
            master.cmd(&["CLIENT", "LIST", "TYPE", "nope"]),
            Reply::error("ERR Unknown client type 'nope'"),
            "{kind}"
        );
        assert_eq!(
            master.cmd(&["CLIENT", "LIST", "ID", "x"]),
            Reply::error("ERR Invalid client ID"),
            "{kind}"
        );
    }
}

/// `INFO commandstats` counts the commands a replica applies from its master, per command
/// name as propagated (GETSET arrives as SET), until `CONFIG RESETSTAT`.
#[test]
fn commandstats_count_what_a_replica_applies() {
    for [master, replica] in pairs() {
        let kind = master.kind;
        replica.replicate(&master);
        assert_eq!(replica.cmd(&["CONFIG", "RESETSTAT"]), Reply::ok());
        master.cmd(&["SET", "k", "1"]);
        master.cmd(&["GETSET", "k", "2"]);
        master.cmd(&["SET", "k", "3", "GET"]);
        wait_until(
            Duration::from_secs(5),
            "the writes reach the replica",
            || replica.cmd(&["GET", "k"]) == Reply::bulk("3"),
        );
        let stats = text(replica.cmd(&["INFO", "commandstats"]));
        assert!(stats.starts_with("# Commandstats\r\n"), "{kind}: {stats}");
        let set = stats
            .lines()
            .find(|l| l.starts_with("cmdstat_set:"))
            .unwrap_or_else(|| panic!("{kind}: {stats}"));
        assert!(set.starts_with("cmdstat_set:calls=3,"), "{kind}: {set}");
        assert!(!stats.contains("cmdstat_getset:"), "{kind}: {stats}");
        master.cmd(&["CONFIG", "GET", "port"]);
        let stats = text(master.cmd(&["INFO", "commandstats"]));
        assert!(
            stats.contains("cmdstat_config|get:calls=1,"),
            "{kind}: {stats}"
        );
        assert_eq!(replica.cmd(&["CONFIG", "RESETSTAT"]), Reply::ok());
        let stats = text(replica.cmd(&["INFO", "commandstats"]));
        assert!(!stats.contains("cmdstat_set:"), "{kind}: {stats}");
    }
}

/// A client on the `unixsocket` is served like any other (protected mode lets it in) and
/// is listed with the socket's path as its address.
#[test]
fn clients_on_the_unix_socket() {
    use std::io::{Read, Write};
    for kind in ["redis", "replscope"] {
        let path =
            std::env::temp_dir().join(format!("replscope-{kind}-{}.sock", std::process::id()));
        let path_str = path.to_string_lossy().into_owned();
        let args = ["--unixsocket", path_str.as_str(), "--unixsocketperm", "700"];
        let server = if kind == "redis" {
            Server::redis(&args)
        } else {
            Server::replscope(&args)
        };
        let mut s = std::os::unix::net::UnixStream::connect(&path).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"PING\r\nCLIENT INFO\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"\n\r\n") {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "{kind}: closed");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("+PONG\r\n"), "{kind}: {text}");
        assert!(
            text.contains(&format!(" addr={path_str}:0 laddr={path_str}:0 ")),
            "{kind}: {text}"
        );
        assert!(text.contains(" flags=U "), "{kind}: {text}");
        assert_eq!(
            server.cmd(&["CONFIG", "GET", "unixsocketperm"]),
            Reply::Array(vec![Reply::bulk("unixsocketperm"), Reply::bulk("700")]),
            "{kind}"
        );
        drop(server);
        let _ = std::fs::remove_file(&path);
    }
}

/// `CONFIG SET` checks every name, in order, before it parses any value: the first name
/// refused is the error, and a repeated name is refused as such.
#[test]
fn config_set_refuses_the_first_bad_name_before_any_value() {
    let calls: &[&[&str]] = &[
        &["CONFIG", "SET", "maxmemory", "lots", "no-such-option", "1"],
        &["CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"],
        &["CONFIG", "SET", "timeout", "x", "databases", "1"],
        &["CONFIG", "SET", "dir", "/tmp", "no-such-option", "1"],
        &["CONFIG", "SET", "maxmemory", "lots", "timeout", "0"],
        &["CONFIG", "SET", "timeout", "7", "TIMEOUT", "8"],
        // An alias is its own entry: not a repeat of the name it stands for.
        &[
            "CONFIG",
            "SET",
            "slave-read-only",
            "yes",
            "replica-read-only",
            "no",
        ],
        &["CONFIG", "GET", "replica-read-only"],
        // A watchdog period under two cron periods is raised to that (`applyWatchdogPeriod`).
        &["CONFIG", "SET", "watchdog-period", "50"],
        &["CONFIG", "GET", "watchdog-period"],
        &["CONFIG", "SET", "watchdog-period", "0"],
    ];
    let [real, ours] = [Server::redis(&[]), Server::replscope(&[])];
    for call in calls {
        assert_eq!(ours.cmd(call), real.cmd(call), "{call:?}");
    }
    assert_eq!(
        ours.cmd(&["CONFIG", "GET", "maxmemory"]),
        real.cmd(&["CONFIG", "GET", "maxmemory"])
    );
}

/// Client ids start where Redis 7.0's do (its two Lua clients took 1 and 2), and `CLIENT
/// KILL USER` takes the user name as ACL does, case-sensitive.
#[test]
fn client_ids_and_users_as_redis() {
    let [real, ours] = [Server::redis(&[]), Server::replscope(&[])];
    for call in [
        &["CLIENT", "ID"][..],
        &["CLIENT", "KILL", "USER", "Default"],
        &["CLIENT", "KILL", "USER", "nosuch"],
        &["CLIENT", "KILL", "USER", "default"],
    ] {
        // Each call on a fresh connection: both servers count the same connections.
        assert_eq!(ours.cmd(call), real.cmd(call), "{call:?}");
    }
}

/// The consoles' list of Redis 7.0 commands (what they say replscope does not model) is
/// the real server's `COMMAND LIST`, top-level names only.
#[test]
fn the_consoles_list_of_redis_commands_is_redis_s_own() {
    let redis = Server::redis(&[]);
    let Reply::Array(items) = redis.cmd(&["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST")
    };
    let mut names: Vec<String> = items
        .into_iter()
        .map(text)
        .filter(|name| !name.contains('|'))
        .collect();
    names.sort();
    assert_eq!(names, replscope::sim::redis_commands::REDIS_7_COMMANDS);
}
