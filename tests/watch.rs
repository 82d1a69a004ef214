//! WATCH and UNWATCH side by side with a real redis-server 7.0.15: several connections per
//! server (a script line names its connection), every reply byte-identical, the same
//! replication stream (a dirty EXEC propagates nothing) and the same `server.dirty`; a
//! watcher on a replica invalidated by its master's write; and the simulator's consoles.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use replscope::engine::config::Config;
use replscope::engine::resp::{encode_command, parse_reply, Reply};
use replscope::sim::{Action, Sim};
use support::{stream_lines, wait_offsets_equal, wait_until, RawReplica, Server};

const ARGS: &[&str] = &[
    "--repl-diskless-sync",
    "no",
    "--enable-debug-command",
    "yes",
];

/// One client connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, line: &str) {
        let argv: Vec<&str> = line.split_whitespace().collect();
        let mut out = Vec::new();
        encode_command(&argv, &mut out);
        self.stream.write_all(&out).expect("write");
    }

    fn read(&mut self) -> Reply {
        loop {
            if let Ok(Some((reply, used))) = parse_reply(&self.buf) {
                self.buf.drain(..used);
                return reply;
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        self.read()
    }
}

/// Runs `script` on `port`: each line is `N command` (connection N sends and waits for
/// the reply), `N> command` (sends only: a blocking command), `N<` (reads the reply it
/// owes) or `sleep MS`. Returns each reply, encoded, with its line.
fn play(port: u16, script: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut conns: Vec<Conn> = (0..3).map(|_| Conn::open(port)).collect();
    let mut out = Vec::new();
    for line in script {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        if head == "sleep" {
            std::thread::sleep(Duration::from_millis(rest.parse().unwrap()));
            continue;
        }
        if let Some(n) = head.strip_suffix('>') {
            conns[n.parse::<usize>().unwrap()].send(rest);
            // Let the blocking command reach the server before the next line.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let reply = match head.strip_suffix('<') {
            Some(n) => conns[n.parse::<usize>().unwrap()].read(),
            None => conns[head.parse::<usize>().unwrap()].cmd(rest),
        };
        out.push((line.to_string(), reply.encode()));
    }
    out
}

/// The script on a real master and on a replscope master, each with a fake replica:
/// replies, streams and `rdb_changes_since_last_save` must be identical.
fn side_by_side(script: &[&str]) {
    let redis = Server::redis(ARGS);
    let ours = Server::replscope(ARGS);
    let mut runs = Vec::new();
    for server in [&redis, &ours] {
        let mut replica = RawReplica::attach(server.port);
        let replies = play(server.port, script);
        // Absolute expire times (PXAT, PEXPIREAT) differ between the two runs.
        let stream: Vec<String> = stream_lines(&replica.stream_until_end(server.port))
            .into_iter()
            .map(|l| {
                l.split(' ')
                    .map(
                        |w| match w.len() >= 13 && w.bytes().all(|b| b.is_ascii_digit()) {
                            true => "<unix-ms>",
                            false => w,
                        },
                    )
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let dirty = server.info("persistence", "rdb_changes_since_last_save");
        runs.push((replies, stream, dirty));
    }
    let show = |b: &[u8]| String::from_utf8_lossy(b).replace("\r\n", " ");
    let mismatches: Vec<String> = runs[0]
        .0
        .iter()
        .zip(&runs[1].0)
        .filter(|(w, g)| w != g)
        .map(|((line, w), (_, g))| format!("{line}\n   redis: {}\n   ours:  {}", show(w), show(g)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} replies differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(runs[1].1, runs[0].1, "replication streams differ");
    // FLUSHALL's count is compared in tests/dirty.rs, under its own conditions.
    if !script.iter().any(|l| l.contains("FLUSHALL")) {
        assert_eq!(runs[1].2, runs[0].2, "rdb_changes_since_last_save");
    }
}

#[test]
fn watch_errors_and_the_check_and_set_lesson_match_redis() {
    side_by_side(&[
        "0 WATCH",
        "0 UNWATCH k",
        "0 SET k 1",
        // Another client's write fails the EXEC with a nil array; nothing propagates.
        "0 WATCH k",
        "1 SET k 2",
        "0 MULTI",
        "0 WATCH k",
        "0 INCR k",
        "0 EXEC",
        "0 GET k",
        // The same value written again still counts.
        "0 WATCH k",
        "1 SET k 2",
        "0 MULTI",
        "0 INCR k",
        "0 EXEC",
        // Nothing touched: the transaction runs, and EXEC forgets the watched keys.
        "0 WATCH k x y k",
        "0 MULTI",
        "0 INCR k",
        "0 EXEC",
        "1 SET k 10",
        "0 MULTI",
        "0 INCR k",
        "0 EXEC",
        // UNWATCH and DISCARD forget them too (and the dirty flag).
        "0 WATCH k",
        "1 SET k 20",
        "0 UNWATCH",
        "0 MULTI",
        "0 INCR k",
        "0 EXEC",
        "0 WATCH k",
        "0 MULTI",
        "0 DISCARD",
        "1 SET k 30",
        "0 MULTI",
        "0 INCR k",
        "0 EXEC",
        // The watcher's own write counts; so does a watch on a key written before MULTI.
        "0 WATCH k",
        "0 SET k 40",
        "0 MULTI",
        "0 GET k",
        "0 EXEC",
        // An error while queueing wins over a touched key: EXECABORT.
        "0 WATCH k",
        "1 SET k 50",
        "0 MULTI",
        "0 NOSUCHCOMMAND",
        "0 INCR k",
        "0 EXEC",
        // WATCH after a touch: still dirty (the new keys are not even recorded).
        "0 WATCH k",
        "1 INCR k",
        "0 WATCH other",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // EXEC without MULTI keeps the watch.
        "0 WATCH k",
        "0 EXEC",
        "1 INCR k",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // Watching a missing key: a DEL that deletes nothing touches nothing.
        "0 WATCH missing",
        "1 DEL missing",
        "1 PERSIST k",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "0 WATCH missing",
        "1 SET missing 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // Keys are per db.
        "0 WATCH k",
        "1 SELECT 1",
        "1 SET k other-db",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "1 SELECT 0",
    ]);
}

#[test]
fn every_kind_of_write_touches_its_keys_as_in_redis() {
    let mut script: Vec<String> = vec![
        "0 SET s v",
        "0 RPUSH l a b c",
        "0 SADD set a",
        "0 ZADD z 1 a",
        "0 HSET h f v",
        "0 SET n 5",
        "0 PFADD hll a",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    // (key watched, the other client's command): each line pair ends in an EXEC.
    let cases: &[(&str, &str)] = &[
        ("s", "DEL s"),
        ("s", "SET s v"),
        ("s", "EXPIRE s 100"),
        ("s", "PERSIST s"),
        ("s", "PERSIST s"),
        ("s", "APPEND s x"),
        ("s", "SETRANGE s 0 y"),
        ("s", "GETEX s PX 100000"),
        ("s", "GETEX s PERSIST"),
        ("s", "GETSET s w"),
        ("s", "RENAME s s2"),
        ("s2", "RENAME s2 s"),
        ("t", "COPY s t"),
        ("s", "MOVE s 1"),
        ("l", "LPUSH l x"),
        ("l", "RPOP l"),
        ("l", "LSET l 0 y"),
        ("l", "LTRIM l 0 -1"),
        ("l", "LREM l 0 nothing"),
        ("l2", "LMOVE l l2 LEFT RIGHT"),
        ("l", "LMOVE l l2 LEFT RIGHT"),
        ("set", "SADD set a"),
        ("set", "SADD set b"),
        ("set", "SREM set zz"),
        ("set", "SMOVE set set2 a"),
        ("set2", "SMOVE set set2 b"),
        ("dst", "SUNIONSTORE dst set2"),
        ("dst", "SINTERSTORE dst nokey"),
        ("z", "ZADD z 1 a"),
        ("z", "ZADD z 2 a"),
        ("z", "ZINCRBY z 0 a"),
        ("z", "ZREM z nope"),
        ("z", "ZREMRANGEBYSCORE z 100 200"),
        ("z", "ZPOPMIN z"),
        ("h", "HSET h f v"),
        ("h", "HSETNX h f v"),
        ("h", "HDEL h nope"),
        ("h", "HINCRBY h n 0"),
        ("n", "INCRBY n 0"),
        ("n", "INCRBYFLOAT n 0"),
        ("hll", "PFADD hll a"),
        ("hll", "PFCOUNT hll"),
        ("hll", "PFCOUNT hll"),
        ("m2", "MSET m1 1 m2 2"),
        ("m2", "MSETNX m2 1 m3 3"),
        ("n", "FLUSHDB"),
        ("n", "SET n 1"),
        ("gone", "FLUSHALL"),
        ("n", "SET n 1"),
        ("n", "FLUSHALL"),
        ("b", "SETBIT b 7 1"),
        ("b", "SETBIT b 7 1"),
        ("b", "SETBIT b 100 0"),
        ("bf", "BITFIELD bf SET u8 0 1"),
        ("bf", "BITFIELD bf GET u8 0"),
        ("bf", "BITFIELD bf SET u8 0 1"),
        ("bf", "BITFIELD bf OVERFLOW FAIL INCRBY u2 0 9"),
        ("d", "BITOP OR d b bf"),
        ("d", "BITOP AND d nokey"),
        ("d", "BITOP AND d nokey"),
        ("key:1", "DEBUG POPULATE 3"),
        ("key:2", "DEBUG POPULATE 3"),
    ];
    for (key, command) in cases {
        script.push(format!("0 WATCH {key}"));
        script.push(format!("1 {command}"));
        script.push("0 MULTI".into());
        script.push("0 PING".into());
        script.push("0 EXEC".into());
    }
    // A client blocked on a key is served by a push: the move's destination is touched.
    script.extend(
        [
            "0 WATCH bdst",
            "2> BLMOVE bsrc bdst LEFT RIGHT 0",
            "1 RPUSH bsrc x",
            "2<",
            "0 MULTI",
            "0 PING",
            "0 EXEC",
        ]
        .map(String::from),
    );
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    side_by_side(&lines);
}

#[test]
fn swapdb_and_expiry_follow_the_expired_flag_of_7_0_15() {
    side_by_side(&[
        "0 DEBUG SET-ACTIVE-EXPIRE 0",
        "0 SET a 1",
        "0 SELECT 1",
        "0 SET b 1",
        "0 SELECT 0",
        // SWAPDB touches a watched key that exists in either db; not one in neither.
        "0 WATCH a",
        "1 SWAPDB 0 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "0 WATCH a",
        "1 SWAPDB 0 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "0 WATCH neither",
        "1 SWAPDB 0 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "1 SWAPDB 0 1",
        // A watched key that expires fails the EXEC, though nobody deleted it.
        "0 SET e v PX 100",
        "0 WATCH e",
        "sleep 200",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // A key already expired when watched: its deletion by expiry is no change…
        "0 SET e2 v PX 50",
        "sleep 100",
        "0 WATCH e2",
        "1 GET e2",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // …nor is a FLUSHDB of it…
        "0 SET e3 v PX 50",
        "sleep 100",
        "0 WATCH e3",
        "1 FLUSHDB",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // …but a write after its deletion is.
        "0 SET e4 v PX 50",
        "sleep 100",
        "0 WATCH e4",
        "1 SET e4 new",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        // SWAPDB bringing an expired key over a missing one: no change; over a live one: a
        // change.
        "0 SELECT 1",
        "0 SET x v PX 50",
        "0 SELECT 0",
        "sleep 100",
        "0 WATCH x",
        "1 SWAPDB 0 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
        "0 SET live v",
        "0 SELECT 1",
        "0 SET live v PX 50",
        "0 SELECT 0",
        "sleep 100",
        "0 WATCH live",
        "1 SWAPDB 0 1",
        "0 MULTI",
        "0 PING",
        "0 EXEC",
    ]);
}

/// `flags=` of CLIENT INFO.
fn flags(conn: &mut Conn) -> String {
    let Reply::Bulk(info) = conn.cmd("CLIENT INFO") else {
        panic!("CLIENT INFO")
    };
    let info = String::from_utf8(info).unwrap();
    let field = info.split(' ').find(|f| f.starts_with("flags=")).unwrap();
    field.to_string()
}

#[test]
fn client_info_shows_a_dirty_watcher_as_redis_does() {
    for server in [Server::redis(ARGS), Server::replscope(ARGS)] {
        let (mut a, mut b) = (Conn::open(server.port), Conn::open(server.port));
        a.cmd("WATCH k");
        assert_eq!(flags(&mut a), "flags=N", "{}", server.kind);
        b.cmd("SET k v");
        assert_eq!(flags(&mut a), "flags=d", "{}", server.kind);
        a.cmd("MULTI");
        a.send("CLIENT INFO");
        let queued = a.read();
        assert_eq!(queued, Reply::Simple("QUEUED".into()));
        assert_eq!(a.cmd("EXEC"), Reply::NilArray, "{}", server.kind);
        assert_eq!(flags(&mut a), "flags=N", "{}", server.kind);
    }
}

#[test]
fn a_watcher_on_a_replica_sees_its_master_s_write() {
    let mut results = Vec::new();
    for kind in ["redis", "replscope"] {
        let start = |args: &[&str]| Server::of_kind(kind, args);
        let master = start(ARGS);
        let replica = start(&[]);
        replica.replicate(&master);
        master.cmd(&["SET", "k", "1"]);
        wait_offsets_equal(&[&master, &replica]);
        let mut a = Conn::open(replica.port);
        let mut got = vec![a.cmd("WATCH k other"), a.cmd("GET k")];
        // A master's write to another key changes nothing.
        master.cmd(&["SET", "unrelated", "1"]);
        wait_offsets_equal(&[&master, &replica]);
        got.extend(["MULTI", "GET k", "EXEC"].map(|c| a.cmd(c)));
        // The master's write to the watched key, applied by the replica, fails the EXEC.
        got.push(a.cmd("WATCH k"));
        master.cmd(&["INCR", "k"]);
        wait_offsets_equal(&[&master, &replica]);
        got.extend(["MULTI", "GET k", "EXEC", "GET k"].map(|c| a.cmd(c)));
        // A FLUSHALL from the master too.
        got.push(a.cmd("WATCH k"));
        master.cmd(&["FLUSHALL"]);
        wait_offsets_equal(&[&master, &replica]);
        got.extend(["MULTI", "GET k", "EXEC"].map(|c| a.cmd(c)));
        results.push(got);
    }
    assert_eq!(results[1], results[0]);
    assert_eq!(results[0][8], Reply::NilArray, "the EXEC after INCR is nil");
}

/// A writable replica deletes the keys its own clients gave a TTL (`expireSlaveKeys`); that
/// deletion touches their watchers as any expiry does, so the EXEC after it is nil.
#[test]
fn a_writable_replica_s_own_expiry_touches_watchers() {
    let mut results = Vec::new();
    for kind in ["redis", "replscope"] {
        let start = |args: &[&str]| Server::of_kind(kind, args);
        let master = start(ARGS);
        let replica = start(&["--replica-read-only", "no"]);
        replica.replicate(&master);
        let mut a = Conn::open(replica.port);
        let mut got = vec![a.cmd("SET mine v PX 200"), a.cmd("WATCH mine")];
        wait_until(
            Duration::from_secs(5),
            "the replica expires its key",
            || replica.cmd(&["DBSIZE"]) == Reply::Integer(0),
        );
        got.extend(["MULTI", "PING", "EXEC"].map(|c| a.cmd(c)));
        results.push(got);
    }
    assert_eq!(results[1], results[0]);
    assert_eq!(results[0][4], Reply::NilArray, "{:?}", results[0]);
}

/// Two clients of one simulated node: the console watches, another client writes, and
/// the console's EXEC answers the nil array; the replica's console sees its master's write.
#[test]
fn consoles_see_a_touched_watch_fail_the_exec() {
    let mut sim = Sim::new(7, 1);
    let m = sim.add_node("m", Config::default());
    let r = sim.add_node("r1", Config::default());
    let writer = sim.connect_client(m);
    sim.run_for(10);
    let console_line = |sim: &mut Sim, node: &str, command: &str| {
        sim.act(&Action::Exec {
            node: node.into(),
            command: command.into(),
        })
        .unwrap();
        sim.run_for(100);
    };
    console_line(&mut sim, "r1", "REPLICAOF m 6379");
    // The diskless sync waits 5 s for more replicas.
    sim.run_for(10_000);
    let last = |sim: &Sim, node: usize| {
        sim.console_log(node)
            .unwrap()
            .entries()
            .last()
            .and_then(|t| t.reply.clone())
    };
    console_line(&mut sim, "m", "WATCH balance");
    assert_eq!(last(&sim, m), Some(Reply::ok()));
    console_line(&mut sim, "r1", "WATCH balance");
    assert_eq!(sim.exec(writer, "SET balance 100"), Some(Reply::ok()));
    sim.run_for(1_000);
    for node in ["m", "r1"] {
        console_line(&mut sim, node, "MULTI");
        console_line(&mut sim, node, "GET balance");
    }
    console_line(&mut sim, "m", "EXEC");
    assert_eq!(last(&sim, m), Some(Reply::NilArray));
    console_line(&mut sim, "r1", "EXEC");
    assert_eq!(last(&sim, r), Some(Reply::NilArray));
    console_line(&mut sim, "r1", "GET balance");
    assert_eq!(last(&sim, r), Some(Reply::Bulk(b"100".to_vec())));
    // Untouched, the same transaction runs.
    console_line(&mut sim, "m", "WATCH balance");
    console_line(&mut sim, "m", "MULTI");
    console_line(&mut sim, "m", "GET balance");
    console_line(&mut sim, "m", "EXEC");
    assert_eq!(
        last(&sim, m),
        Some(Reply::Array(vec![Reply::Bulk(b"100".to_vec())]))
    );
}
