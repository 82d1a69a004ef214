//! `DEBUG`, side by side with a real redis-server 7.0: the same digests for the same random
//! dataset of every type and encoding, the same refusal without `enable-debug-command`, the
//! same POPULATE keys and values, SET-ACTIVE-EXPIRE, RELOAD, SLEEP stopping the whole
//! server (MULTI included), and the same errors.

mod support;

use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replscope::engine::resp::Reply;
use support::{pipeline, Server};

const DEBUG_ON: [&str; 2] = ["--enable-debug-command", "yes"];

fn pair() -> [Server; 2] {
    [Server::redis(&DEBUG_ON), Server::replscope(&DEBUG_ON)]
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// An element that lands in every encoding: small integers (intsets, int-encoded strings
/// and listpack integers), non-canonical numbers ("007", "+1", "1.0"), words, long text,
/// bytes beyond ASCII.
fn element(rng: &mut ChaCha8Rng) -> String {
    match rng.next_u32() % 8 {
        0 => (rng.next_u32() % 1000).to_string(),
        1 => (rng.next_u64() as i64).to_string(),
        2 => ["007", "+1", "1.0", "-0", " 5", "9223372036854775808"][rng.next_u32() as usize % 6]
            .to_string(),
        3 => format!("word{}", rng.next_u32() % 50),
        4 => "x".repeat(1 + rng.next_u32() as usize % 300),
        5 => format!("é{}ü", rng.next_u32() % 10),
        _ => format!("e{}", rng.next_u32()),
    }
}

/// A score Redis accepts: integers, fractions, tiny and huge magnitudes, infinities, zero.
fn score(rng: &mut ChaCha8Rng) -> String {
    match rng.next_u32() % 9 {
        0 => "inf".into(),
        1 => "-inf".into(),
        2 => "0".into(),
        3 => "-0".into(),
        4 => format!("{}", rng.next_u32() % 100),
        5 => format!("{}.{}", rng.next_u32() % 100, rng.next_u32() % 1000),
        6 => "1e-300".into(),
        7 => "123456789012345678901234567890".into(),
        _ => format!("-{}.25", rng.next_u32() % 10),
    }
}

/// The same random dataset for both servers: every type, small (listpack, intset) and big
/// (quicklist, hashtable, skiplist) sizes, TTLs, three databases.
fn random_dataset(seed: u64) -> Vec<Vec<String>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cmds = Vec::new();
    for db in ["0", "2", "9"] {
        cmds.push(argv(&["SELECT", db]));
        for k in 0..60 {
            let key = format!("k{db}:{k}");
            let big = rng.next_u32() % 4 == 0;
            let n = if big {
                200
            } else {
                1 + rng.next_u32() as usize % 10
            };
            let mut cmd = match rng.next_u32() % 5 {
                0 => vec!["SET".to_string(), key.clone(), element(&mut rng)],
                1 => {
                    let mut c = argv(&["RPUSH", &key]);
                    c.extend((0..n).map(|_| element(&mut rng)));
                    c
                }
                2 => {
                    let mut c = argv(&["SADD", &key]);
                    if rng.next_u32() % 2 == 0 {
                        c.extend((0..n).map(|_| (rng.next_u32() % 100_000).to_string()));
                    } else {
                        c.extend((0..n).map(|_| element(&mut rng)));
                    }
                    c
                }
                3 => {
                    let mut c = argv(&["ZADD", &key]);
                    for _ in 0..n {
                        c.push(score(&mut rng));
                        c.push(element(&mut rng));
                    }
                    c
                }
                _ => {
                    let mut c = argv(&["HSET", &key]);
                    for _ in 0..n {
                        c.push(element(&mut rng));
                        c.push(element(&mut rng));
                    }
                    c
                }
            };
            cmds.push(std::mem::take(&mut cmd));
            if rng.next_u32() % 5 == 0 {
                cmds.push(argv(&["EXPIRE", &key, "100000"]));
            }
        }
        // Integers written as strings, and as the result of INCR.
        cmds.push(argv(&["INCRBY", &format!("counter{db}"), "-42"]));
    }
    cmds
}

fn keys_of(server: &Server, db: &str) -> Vec<String> {
    let replies = pipeline(server.port, &[argv(&["SELECT", db]), argv(&["KEYS", "*"])]);
    let Reply::Array(keys) = &replies[1] else {
        panic!("{}: KEYS answered {:?}", server.kind, replies[1]);
    };
    let mut keys: Vec<String> = keys
        .iter()
        .map(|k| match k {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("a key {other:?}"),
        })
        .collect();
    keys.sort();
    keys
}

fn simple(reply: &Reply) -> String {
    match reply {
        Reply::Simple(s) => s.clone(),
        other => panic!("a status reply, got {other:?}"),
    }
}

#[test]
fn digests_equal_redis_for_the_same_random_dataset() {
    let servers = pair();
    for s in &servers {
        assert_eq!(
            simple(&s.cmd(&["DEBUG", "DIGEST"])),
            "0".repeat(40),
            "{}: an empty dataset",
            s.kind
        );
    }
    for seed in 0..3 {
        for s in &servers {
            assert_eq!(s.cmd(&["FLUSHALL"]), Reply::ok());
            for r in pipeline(s.port, &random_dataset(seed)) {
                assert!(!r.is_error(), "{}: seed {seed}: {r:?}", s.kind);
            }
        }
        for db in ["0", "2", "9"] {
            let keys = keys_of(&servers[0], db);
            assert_eq!(keys, keys_of(&servers[1], db), "seed {seed} db {db}");
            let mut cmd = argv(&["DEBUG", "DIGEST-VALUE"]);
            cmd.extend(keys.iter().cloned());
            cmd.push("no-such-key".into());
            let values: Vec<Reply> = servers
                .iter()
                .map(|s| pipeline(s.port, &[argv(&["SELECT", db]), cmd.clone()]).remove(1))
                .collect();
            let (Reply::Array(a), Reply::Array(b)) = (&values[0], &values[1]) else {
                panic!("DIGEST-VALUE answered {values:?}");
            };
            for (i, key) in keys.iter().enumerate() {
                let made: Vec<Vec<String>> = random_dataset(seed)
                    .into_iter()
                    .filter(|c| c.get(1) == Some(key))
                    .collect();
                assert_eq!(
                    a[i], b[i],
                    "seed {seed} db {db}: DIGEST-VALUE {key} made by {made:?}"
                );
            }
            assert_eq!(a, b, "seed {seed} db {db}: DIGEST-VALUE");
        }
        let digests: Vec<String> = servers
            .iter()
            .map(|s| simple(&s.cmd(&["DEBUG", "DIGEST"])))
            .collect();
        assert_eq!(digests[0], digests[1], "seed {seed}: DEBUG DIGEST");
        assert_ne!(digests[0], "0".repeat(40));
    }
}

#[test]
fn debug_is_refused_without_enable_debug_command_as_redis_does() {
    let servers = [Server::redis(&[]), Server::replscope(&[])];
    let replies: Vec<Reply> = servers
        .iter()
        .map(|s| s.cmd(&["DEBUG", "DIGEST"]))
        .collect();
    assert_eq!(replies[0], replies[1]);
    assert!(replies[1].is_error());
    // Refused before authentication is even looked at.
    let guarded = [
        Server::redis(&["--requirepass", "pw"]),
        Server::replscope(&["--requirepass", "pw"]),
    ];
    let replies: Vec<Reply> = guarded
        .iter()
        .map(|s| s.cmd(&["DEBUG", "DIGEST"]))
        .collect();
    assert_eq!(replies[0], replies[1]);
    // Immutable, like in Redis.
    let set: Vec<Reply> = servers
        .iter()
        .map(|s| s.cmd(&["CONFIG", "SET", "enable-debug-command", "yes"]))
        .collect();
    assert_eq!(set[0], set[1]);
    let get: Vec<Reply> = servers
        .iter()
        .map(|s| s.cmd(&["CONFIG", "GET", "enable-debug-command"]))
        .collect();
    assert_eq!(get[0], get[1]);
}

#[test]
fn errors_and_populate_match_redis() {
    let servers = pair();
    let cases: &[&[&str]] = &[
        &["DEBUG", "NOPE"],
        &["DEBUG", "digest", "extra"],
        &["DEBUG", "SLEEP"],
        &["DEBUG", "POPULATE"],
        &["DEBUG", "POPULATE", "-1"],
        &["DEBUG", "POPULATE", "abc"],
        &["DEBUG", "POPULATE", "10", "p", "-5"],
        &["DEBUG", "POPULATE", "1", "2", "3", "4"],
        &["DEBUG", "RELOAD", "SOMETIMES"],
        &["DEBUG"],
        &["DEBUG", "POPULATE", "100"],
        &["DEBUG", "POPULATE", "50", "pre"],
        &["DEBUG", "POPULATE", "20", "sized", "12"],
        &["DEBUG", "POPULATE", "20", "cut", "3"],
        &["DEBUG", "DIGEST-VALUE"],
        &["GET", "key:7"],
        &["GET", "pre:49"],
        &["GET", "sized:13"],
        &["GET", "cut:3"],
        &["DBSIZE"],
        &["DEBUG", "DIGEST"],
        &["DEBUG", "DIGEST-VALUE", "key:0", "sized:1"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
        &["DEBUG", "LOG", "hello"],
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "SLEEP", "-1"],
        &["CONFIG", "SET", "rdb-key-save-delay", "3000000000"],
        &["CONFIG", "SET", "rdb-key-save-delay", "x"],
        &["CONFIG", "SET", "key-load-delay", "-2147483648"],
        &["CONFIG", "GET", "key-load-delay"],
        &["CONFIG", "GET", "rdb-key*"],
        &["CONFIG", "SET", "rdb-key-save-delay", "-10"],
        &["DEBUG", "DIGEST"],
    ];
    for case in cases {
        let replies: Vec<Reply> = servers.iter().map(|s| s.cmd(case)).collect();
        assert_eq!(replies[0], replies[1], "{case:?}");
    }
    // POPULATE does not overwrite, nor propagate: a second run changes nothing.
    for s in &servers {
        assert_eq!(s.cmd(&["SET", "key:3", "mine"]), Reply::ok());
        assert_eq!(s.cmd(&["DEBUG", "POPULATE", "5"]), Reply::ok());
        assert_eq!(s.cmd(&["GET", "key:3"]), Reply::Bulk(b"mine".to_vec()));
    }
}

#[test]
fn set_active_expire_stops_and_restarts_background_expiry_like_redis() {
    for s in pair() {
        assert_eq!(s.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Reply::ok());
        for i in 0..20 {
            s.cmd(&["SET", &format!("t{i}"), "v", "PX", "10"]);
        }
        std::thread::sleep(Duration::from_millis(400));
        // Nobody touched them: still there, though logically expired.
        assert_eq!(s.cmd(&["DBSIZE"]), Reply::Integer(20), "{}", s.kind);
        assert_eq!(s.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), Reply::ok());
        support::wait_until(Duration::from_secs(5), "active expiry", || {
            s.cmd(&["DBSIZE"]) == Reply::Integer(0)
        });
    }
}

#[test]
fn reload_saves_the_file_and_keeps_the_data_like_redis() {
    let servers = pair();
    let mut digests = Vec::new();
    for s in &servers {
        support::write_dataset(s);
        s.cmd(&["SET", "gone", "v", "PX", "1"]);
        s.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        std::thread::sleep(Duration::from_millis(20));
        let before = simple(&s.cmd(&["DEBUG", "DIGEST"]));
        assert_eq!(s.cmd(&["DEBUG", "RELOAD"]), Reply::ok(), "{}", s.kind);
        assert!(s.dir.join("dump.rdb").exists(), "{}: the file", s.kind);
        let after = simple(&s.cmd(&["DEBUG", "DIGEST"]));
        // The expired key is not loaded back by a master; everything else is.
        assert_ne!(before, after, "{}", s.kind);
        assert_eq!(s.cmd(&["EXISTS", "gone"]), Reply::Integer(0));
        assert!(
            s.log().contains("DB reloaded by DEBUG RELOAD"),
            "{}",
            s.kind
        );
        digests.push(after);
    }
    assert_eq!(digests[0], digests[1]);
}

/// Sends `first` on one connection and, 100 ms later, PING on another; returns when each
/// was answered (ms after `first` was sent).
fn timed_while_sleeping(server: &Server, first: &[Vec<String>]) -> (u128, u128, Vec<Reply>) {
    let start = Instant::now();
    let port = server.port;
    let first = first.to_vec();
    let sleeper = std::thread::spawn(move || {
        let replies = pipeline(port, &first);
        (start.elapsed().as_millis(), replies)
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.cmd(&["PING"]), Reply::Simple("PONG".into()));
    let ping = start.elapsed().as_millis();
    let (slept, replies) = sleeper.join().expect("the sleeping client");
    (slept, ping, replies)
}

#[test]
fn sleep_stops_the_whole_server_like_redis() {
    for s in pair() {
        let (slept, ping, replies) = timed_while_sleeping(&s, &[argv(&["DEBUG", "SLEEP", "0.6"])]);
        assert_eq!(replies, [Reply::ok()], "{}", s.kind);
        assert!(slept >= 600, "{}: slept {slept} ms", s.kind);
        assert!(
            ping >= 550,
            "{}: another client answered after {ping} ms",
            s.kind
        );
        // Inside MULTI the whole EXEC waits.
        let (slept, ping, replies) = timed_while_sleeping(
            &s,
            &[
                argv(&["MULTI"]),
                argv(&["DEBUG", "SLEEP", "0.5"]),
                argv(&["SET", "a", "1"]),
                argv(&["EXEC"]),
            ],
        );
        assert_eq!(
            replies[3],
            Reply::Array(vec![Reply::ok(), Reply::ok()]),
            "{}",
            s.kind
        );
        assert!(slept >= 500 && ping >= 450, "{}: {slept} {ping}", s.kind);
    }
}

/// The software watchdog (`watchdog-period`): a main thread stuck past the period — in
/// DEBUG SLEEP, or in the read of a blocking diskless load from a slow master — is reported
/// once in the log; a healthy server, or a period of 0, reports nothing.
#[test]
fn the_watchdog_reports_a_stuck_main_thread_like_redis() {
    let expired = |s: &Server| s.log().matches("--- WATCHDOG TIMER EXPIRED ---").count();
    for s in pair() {
        let kind = s.kind;
        assert_eq!(
            s.cmd(&["CONFIG", "SET", "watchdog-period", "200"]),
            Reply::ok()
        );
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(expired(&s), 0, "{kind}: a healthy server");
        assert_eq!(s.cmd(&["DEBUG", "SLEEP", "0.6"]), Reply::ok());
        support::wait_until(Duration::from_secs(5), "the watchdog", || expired(&s) == 1);
        // Logged from the signal handler: `<pid>:signal-handler (<unix time>) ` then the
        // message, which starts with a newline.
        let log = s.log();
        let lines: Vec<&str> = log.lines().collect();
        let at = lines
            .iter()
            .position(|l| *l == "--- WATCHDOG TIMER EXPIRED ---")
            .expect("the watchdog's line");
        let prefix = lines[at - 1];
        let (pid, rest) = prefix.split_once(":signal-handler (").expect(prefix);
        let (time, tail) = rest.split_once(')').expect(prefix);
        assert!(
            pid.parse::<u32>().is_ok() && time.parse::<u64>().is_ok(),
            "{kind}: {prefix:?}"
        );
        assert_eq!(tail, " ", "{kind}: {prefix:?}");
        assert_eq!(
            s.cmd(&["CONFIG", "SET", "watchdog-period", "0"]),
            Reply::ok()
        );
        assert_eq!(s.cmd(&["DEBUG", "SLEEP", "0.6"]), Reply::ok());
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(expired(&s), 1, "{kind}: the watchdog is off");
    }
    // A replica loading from the socket (on-empty-db) waits in read() for a master that
    // writes one key every 10 ms: the watchdog expires, and the load goes on.
    for kind in ["redis", "replscope"] {
        let start = |args: &[&str]| {
            let args: Vec<&str> = DEBUG_ON.iter().chain(args).copied().collect();
            if kind == "redis" {
                Server::redis(&args)
            } else {
                Server::replscope(&args)
            }
        };
        let master = start(&[
            "--rdbcompression",
            "no",
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--save",
            "",
        ]);
        let replica = start(&["--repl-diskless-load", "on-empty-db", "--save", ""]);
        assert_eq!(
            master.cmd(&["DEBUG", "POPULATE", "100", "master", "100000"]),
            Reply::ok()
        );
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]),
            Reply::ok()
        );
        assert_eq!(
            replica.cmd(&["CONFIG", "SET", "watchdog-period", "200"]),
            Reply::ok()
        );
        let port = master.port.to_string();
        assert_eq!(replica.cmd(&["REPLICAOF", "127.0.0.1", &port]), Reply::ok());
        support::wait_until(Duration::from_secs(5), "the load", || {
            replica.log().contains("Loading DB in memory")
        });
        support::wait_until(Duration::from_secs(5), "the watchdog", || {
            expired(&replica) >= 1
        });
        assert_eq!(replica.info("persistence", "loading"), "1", "{kind}");
        assert_eq!(master.stat("sync_full"), 1, "{kind}");
        assert!(!replica.log().contains("Reconnecting to MASTER"), "{kind}");
        assert_eq!(
            master.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]),
            Reply::ok()
        );
    }
}

// ----- the simulator: DEBUG on the page's nodes, in virtual time ------------------------------

use replscope::sim::{sim_config, Sim};

/// A master `m` and a replica `r1` in step, with a client on each.
fn sim_pair() -> (Sim, Vec<replscope::sim::ClientId>) {
    let mut sim = Sim::new(3, 1);
    let m = sim.add_node("m", sim_config());
    let r = sim.add_node("r1", sim_config());
    let clients = vec![sim.connect_client(m), sim.connect_client(r)];
    assert_eq!(sim.exec(clients[1], "REPLICAOF m 6379"), Some(Reply::ok()));
    sim.run_for(7_000);
    (sim, clients)
}

#[test]
fn simulated_nodes_allow_debug_and_digest_like_the_server() {
    let (mut sim, c) = sim_pair();
    assert_eq!(sim.exec(c[0], "SET k v"), Some(Reply::ok()));
    assert_eq!(sim.exec(c[0], "ZADD z 1 a -0 b"), Some(Reply::Integer(2)));
    sim.run_for(100);
    let master = sim.exec(c[0], "DEBUG DIGEST");
    assert_eq!(master, sim.exec(c[1], "DEBUG DIGEST"));
    assert_ne!(master, Some(Reply::Simple("0".repeat(40))));
    // POPULATE is not propagated: the replica's digest stays.
    assert_eq!(sim.exec(c[0], "DEBUG POPULATE 10"), Some(Reply::ok()));
    sim.run_for(100);
    assert_ne!(
        sim.exec(c[0], "DEBUG DIGEST"),
        sim.exec(c[1], "DEBUG DIGEST")
    );
}

#[test]
fn a_simulated_sleep_stops_the_node_in_virtual_time_only() {
    let (mut sim, c) = sim_pair();
    let wall = Instant::now();
    let other = sim.connect_client(0);
    sim.run_for(10);
    let start = sim.now_ms();
    sim.send_line(c[0], "DEBUG SLEEP 3").unwrap();
    sim.run_for(500);
    // Another client is not served while the node sleeps, and the replica hears nothing.
    sim.send_line(other, "PING").unwrap();
    let offset = sim.node(1).master_repl_offset();
    assert_eq!(sim.exec(c[1], "PING"), Some(Reply::Simple("PONG".into())));
    assert!(sim.take_replies(other).is_empty());
    // The page shows the node asleep (its process runs, it serves nobody).
    let process = |sim: &Sim| sim.snapshot(0).nodes[0].process.clone();
    assert_eq!(process(&sim), "asleep");
    sim.run_until(start + 2_900);
    assert!(
        sim.take_replies(c[0]).is_empty(),
        "answered before the sleep ended"
    );
    assert!(sim.take_replies(other).is_empty());
    assert_eq!(sim.node(1).master_repl_offset(), offset);
    sim.run_until(start + 3_100);
    assert_eq!(sim.take_replies(c[0]), [Reply::ok()]);
    assert_eq!(sim.take_replies(other), [Reply::Simple("PONG".into())]);
    assert_eq!(process(&sim), "up");
    // Inside MULTI the whole EXEC waits; the link survives a sleep shorter than repl-timeout.
    let start = sim.now_ms();
    for line in ["MULTI", "DEBUG SLEEP 1.5", "SET a 1", "EXEC"] {
        sim.send_line(c[0], line).unwrap();
    }
    sim.run_until(start + 1_400);
    assert_eq!(sim.take_replies(c[0]).len(), 3, "MULTI and two QUEUED only");
    sim.run_until(start + 1_600);
    assert_eq!(
        sim.take_replies(c[0]),
        [Reply::Array(vec![Reply::ok(), Reply::ok()])]
    );
    sim.run_for(100);
    assert_eq!(sim.exec(c[1], "GET a"), Some(Reply::Bulk(b"1".to_vec())));
    // Virtual seconds, not real ones: the page never blocks.
    assert!(
        wall.elapsed() < Duration::from_secs(2),
        "{:?}",
        wall.elapsed()
    );
}

/// The virtual time at which `node`'s link to its master comes up, running at most `limit_ms`.
fn link_up_at(sim: &mut Sim, client: replscope::sim::ClientId, limit_ms: u64) -> u64 {
    let end = sim.now_ms() + limit_ms;
    while sim.now_ms() < end {
        sim.run_for(50);
        if let Some(Reply::Bulk(info)) = sim.exec(client, "INFO replication") {
            if String::from_utf8_lossy(&info).contains("master_link_status:up") {
                return sim.now_ms();
            }
        }
    }
    panic!("the link did not come up within {limit_ms} ms");
}

fn info_has(sim: &mut Sim, client: replscope::sim::ClientId, section: &str, line: &str) -> bool {
    match sim.exec(client, &format!("INFO {section}")) {
        Some(Reply::Bulk(info)) => String::from_utf8_lossy(&info).contains(line),
        other => panic!("INFO answered {other:?}"),
    }
}

#[test]
fn rdb_key_save_delay_slows_the_full_sync_by_keys_times_delay() {
    for diskless in ["yes", "no"] {
        let mut sim = Sim::new(5, 1);
        let m = sim.add_node("m", sim_config());
        let r = sim.add_node("r1", sim_config());
        let (cm, cr) = (sim.connect_client(m), sim.connect_client(r));
        for line in [
            "DEBUG POPULATE 2000 k 100",
            "CONFIG SET rdb-key-save-delay 1000",
            "CONFIG SET repl-diskless-sync-delay 0",
            &format!("CONFIG SET repl-diskless-sync {diskless}"),
        ] {
            assert_eq!(sim.exec(cm, line), Some(Reply::ok()), "{line}");
        }
        // Hidden from globs, as in Redis; an exact name answers.
        assert_eq!(
            sim.exec(cm, "CONFIG GET rdb-key-save-delay"),
            Some(Reply::Array(vec![
                Reply::bulk("rdb-key-save-delay"),
                Reply::bulk("1000")
            ]))
        );
        assert_eq!(
            sim.exec(cm, "CONFIG GET rdb-key*"),
            Some(Reply::Array(vec![]))
        );
        let start = sim.now_ms();
        assert_eq!(sim.exec(cr, "REPLICAOF m 6379"), Some(Reply::ok()));
        sim.run_for(1_000);
        assert!(
            info_has(&mut sim, cm, "persistence", "rdb_bgsave_in_progress:1"),
            "diskless {diskless}: the child still runs"
        );
        assert!(info_has(
            &mut sim,
            cr,
            "replication",
            "master_link_status:down"
        ));
        let up = link_up_at(&mut sim, cr, 10_000);
        // 2000 keys × 1 ms each.
        assert!(
            up - start >= 2_000,
            "diskless {diskless}: up after {} ms",
            up - start
        );
        assert!(
            up - start < 3_000,
            "diskless {diskless}: up after {} ms",
            up - start
        );
        assert_eq!(sim.exec(cr, "DBSIZE"), Some(Reply::Integer(2000)));
        assert!(info_has(
            &mut sim,
            cm,
            "persistence",
            "rdb_bgsave_in_progress:0"
        ));
    }
}

#[test]
fn a_slowed_bgsave_stays_in_progress_for_keys_times_delay() {
    let mut sim = Sim::new(5, 1);
    let m = sim.add_node("m", sim_config());
    let c = sim.connect_client(m);
    assert_eq!(sim.exec(c, "DEBUG POPULATE 100"), Some(Reply::ok()));
    assert_eq!(
        sim.exec(c, "CONFIG SET rdb-key-save-delay 10000"),
        Some(Reply::ok())
    );
    assert_eq!(
        sim.exec(c, "BGSAVE"),
        Some(Reply::Simple("Background saving started".into()))
    );
    sim.run_for(900);
    assert!(info_has(
        &mut sim,
        c,
        "persistence",
        "rdb_bgsave_in_progress:1"
    ));
    assert_eq!(
        sim.exec(c, "BGSAVE"),
        Some(Reply::error("ERR Background save already in progress"))
    );
    sim.run_for(200);
    assert!(info_has(
        &mut sim,
        c,
        "persistence",
        "rdb_bgsave_in_progress:0"
    ));
    assert!(info_has(
        &mut sim,
        c,
        "persistence",
        "rdb_last_bgsave_status:ok"
    ));
}

#[test]
fn key_load_delay_keeps_the_replica_loading_for_keys_times_delay() {
    let mut sim = Sim::new(5, 1);
    let m = sim.add_node("m", sim_config());
    let r = sim.add_node("r1", sim_config());
    let (cm, cr) = (sim.connect_client(m), sim.connect_client(r));
    for line in [
        "DEBUG POPULATE 3000",
        "CONFIG SET repl-diskless-sync-delay 0",
    ] {
        assert_eq!(sim.exec(cm, line), Some(Reply::ok()));
    }
    assert_eq!(
        sim.exec(cr, "CONFIG SET key-load-delay 1000"),
        Some(Reply::ok())
    );
    let start = sim.now_ms();
    assert_eq!(sim.exec(cr, "REPLICAOF m 6379"), Some(Reply::ok()));
    sim.run_for(1_000);
    // Loading: INFO answers, most commands get -LOADING, and a write on the master waits.
    assert!(info_has(&mut sim, cr, "persistence", "loading:1"));
    assert_eq!(
        sim.exec(cr, "GET key:1"),
        Some(Reply::error(
            "LOADING Redis is loading the dataset in memory"
        ))
    );
    assert_eq!(sim.exec(cm, "SET after rdb"), Some(Reply::ok()));
    let up = link_up_at(&mut sim, cr, 10_000);
    // 3000 keys × 1 ms each.
    assert!(up - start >= 3_000, "up after {} ms", up - start);
    assert!(up - start < 4_000, "up after {} ms", up - start);
    sim.run_for(100);
    assert!(info_has(&mut sim, cr, "persistence", "loading:0"));
    assert_eq!(sim.exec(cr, "DBSIZE"), Some(Reply::Integer(3001)));
    assert_eq!(sim.exec(cr, "GET after"), Some(Reply::bulk("rdb")));
}

#[test]
fn a_slowed_disk_child_nobody_needs_is_killed_unless_save_points_want_it() {
    for (save, killed) in [("", true), ("900 1", false)] {
        let mut sim = Sim::new(5, 1);
        let m = sim.add_node("m", sim_config());
        let r = sim.add_node("r1", sim_config());
        let (cm, cr) = (sim.connect_client(m), sim.connect_client(r));
        assert_eq!(sim.exec(cm, "DEBUG POPULATE 10"), Some(Reply::ok()));
        for (name, value) in [
            ("rdb-key-save-delay", "1000000"),
            ("repl-diskless-sync", "no"),
            ("save", save),
        ] {
            assert_eq!(
                sim.exec(cm, &format!("CONFIG SET {name} \"{value}\"")),
                Some(Reply::ok())
            );
        }
        assert_eq!(sim.exec(cr, "REPLICAOF m 6379"), Some(Reply::ok()));
        sim.run_for(1_000);
        assert!(info_has(
            &mut sim,
            cm,
            "persistence",
            "rdb_bgsave_in_progress:1"
        ));
        assert_eq!(sim.exec(cr, "REPLICAOF NO ONE"), Some(Reply::ok()));
        sim.run_for(300);
        assert_eq!(
            info_has(&mut sim, cm, "persistence", "rdb_bgsave_in_progress:0"),
            killed,
            "save '{save}'"
        );
    }
}

/// `DEBUG OBJECT`'s reply without what differs between processes (address, LRU clock).
fn object_fields(reply: &Reply) -> String {
    simple(reply)
        .split(' ')
        .filter(|f| !f.starts_with("at:") && !f.starts_with("lru") && *f != "Value")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn debug_object_shows_the_encodings_redis_picks() {
    let servers = pair();
    let setup: Vec<Vec<String>> = vec![
        argv(&["SET", "small-int", "42"]),
        argv(&["SET", "big-int", "123456789012"]),
        argv(&["SET", "short", "hello"]),
        argv(&["SET", "long", &"abc".repeat(100)]),
        argv(&["RPUSH", "list", "a", "b", "1"]),
        argv(&["SADD", "ints", "1", "2", "3"]),
        argv(&["SADD", "words", "a", "b"]),
        argv(&["HSET", "hash", "f", "v"]),
        argv(&["ZADD", "zset", "1", "a"]),
        argv(&["SET", "gone", "v", "PX", "1"]),
    ];
    for s in &servers {
        s.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        for r in pipeline(s.port, &setup) {
            assert!(!r.is_error(), "{}: {r:?}", s.kind);
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    for key in [
        "small-int",
        "big-int",
        "short",
        "long",
        "list",
        "ints",
        "words",
        "hash",
        "zset",
        "gone",
    ] {
        let fields: Vec<String> = servers
            .iter()
            .map(|s| object_fields(&s.cmd(&["DEBUG", "OBJECT", key])))
            .collect();
        assert_eq!(fields[0], fields[1], "{key}");
    }
    let missing: Vec<Reply> = servers
        .iter()
        .map(|s| s.cmd(&["DEBUG", "OBJECT", "nope"]))
        .collect();
    assert_eq!(missing[0], missing[1]);
}
