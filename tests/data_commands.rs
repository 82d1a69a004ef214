//! Data commands side by side with a real redis-server 7.0 (issue #15): each script runs on
//! a real master and on a replscope master, each with a fake replica attached. Every reply
//! must be byte-identical and so must the replication streams (what replicas and the
//! backlog receive). A replscope replica of the real master and a real replica of the
//! replscope master must then hold the same data as both masters.
//!
//! Scripts are pipelined on one connection, words split on spaces. Non-integer sets with
//! more than one member are only read through stores and counts: their reply order is
//! Redis's hash-table order, which replscope does not model.

mod support;

use support::{dump, lines, pipeline, stream_lines, wait_offsets_equal, RawReplica, Server};

const DISK_SYNC: &[&str] = &["--repl-diskless-sync", "no"];

/// Runs `script` on `master` with a fake replica attached; the replies and the stream.
fn run(master: &Server, script: &[&str]) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut replica = RawReplica::attach(master.port);
    let cmds: Vec<String> = script.iter().map(|s| s.to_string()).collect();
    let replies = pipeline(master.port, &lines(&cmds))
        .iter()
        .map(|r| r.encode())
        .collect();
    let stream = replica.stream_until_end(master.port);
    (replies, stream_lines(&stream))
}

/// The whole comparison for one script (see the module docs).
fn side_by_side(script: &[&str]) {
    let redis = Server::redis(DISK_SYNC);
    let ours = Server::replscope(DISK_SYNC);
    let our_replica = Server::replscope(&[]);
    let real_replica = Server::redis(&[]);
    our_replica.replicate(&redis);
    real_replica.replicate(&ours);

    let (want, want_stream) = run(&redis, script);
    let (got, got_stream) = run(&ours, script);
    let show = |b: &[u8]| String::from_utf8_lossy(b).replace("\r\n", " ");
    let mismatches: Vec<String> = script
        .iter()
        .zip(want.iter().zip(&got))
        .filter(|(_, (w, g))| w != g)
        .map(|(line, (w, g))| format!("{line}\n   redis: {}\n   ours:  {}", show(w), show(g)))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} replies differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(got_stream, want_stream, "replication streams differ");

    wait_offsets_equal(&[&redis, &our_replica]);
    wait_offsets_equal(&[&ours, &real_replica]);
    let data = dump(&redis);
    assert_eq!(dump(&ours), data, "masters' data");
    assert_eq!(
        dump(&our_replica),
        data,
        "replscope replica of the real master"
    );
    assert_eq!(
        dump(&real_replica),
        data,
        "real replica of the replscope master"
    );
}

#[test]
fn set_algebra_matches_redis() {
    side_by_side(&[
        "SADD a 1 2 3 4",
        "SADD b 3 4 5",
        "SADD c 4 9",
        "SADD sa x y z",
        "SADD sb y z w",
        "SUNION a b c",
        "SINTER a b c",
        "SDIFF a b",
        "SDIFF a b c nokey",
        "SINTER a nokey",
        "SUNION nokey",
        "SDIFF nokey a",
        "SDIFF a a",
        "SINTERSTORE si2 sa sb sa",
        "SCARD si2",
        "SUNIONSTORE u a b c",
        "SMEMBERS u",
        "SINTERSTORE i a b",
        "SMEMBERS i",
        "SDIFFSTORE d a b c",
        "SMEMBERS d",
        "SUNIONSTORE su sa sb",
        "SINTERSTORE si sa sb",
        "SDIFFSTORE sd sa sb",
        "SCARD su",
        "SCARD si",
        "SMEMBERS sd",
        "SUNIONSTORE mixed a sa",
        "SCARD mixed",
        // Empty results delete an existing destination (propagated), or change nothing.
        "SINTERSTORE i a nokey",
        "EXISTS i",
        "SINTERSTORE i a nokey",
        "SDIFFSTORE d a a",
        "SUNIONSTORE none nokey nokey2",
        "SDIFFSTORE none2 nokey a",
        // The destination's type and TTL do not matter: it is replaced.
        "SET str v",
        "SUNIONSTORE str a",
        "TYPE str",
        "SET ttl v PXAT 4102444800000",
        "SINTERSTORE ttl a b",
        "TTL ttl",
        "SUNIONSTORE a a b",
        "SMEMBERS a",
        // A source of another type.
        "SUNION a str2",
        "SET str2 v",
        "SUNION a str2",
        "SINTERSTORE dst str2 a",
        "SDIFF nokey str2",
        "SINTER nokey str2",
        // A lazily expired source reads as missing; an expired destination is deleted
        // first (MULTI/DEL/…/EXEC), or counts as deleted for an empty result.
        "SET gone v PXAT 1",
        "SUNION a gone",
        "SET gone2 v PXAT 1",
        "SUNIONSTORE gone2 a",
        "SET gone3 v PXAT 1",
        "SINTERSTORE gone3 a nokey",
        "SINTERCARD 2 a b",
        "SINTERCARD 2 a b LIMIT 1",
        "SINTERCARD 2 a b LIMIT 0",
        "SINTERCARD 1 a limit 2",
        "SINTERCARD 2 a nokey",
        "SINTERCARD 0 a",
        "SINTERCARD x a",
        "SINTERCARD -1 a",
        "SINTERCARD 3 a b",
        "SINTERCARD 1 a LIMIT -1",
        "SINTERCARD 1 a LIMIT x",
        "SINTERCARD 1 a LIMIT",
        "SINTERCARD 1 a LIMIT 1 x",
        "SINTERCARD 1 a FOO",
        "SINTERCARD 1 str2",
        "SUNIONSTORE onlydst",
        "SINTER",
    ]);
}

#[test]
fn zset_algebra_matches_redis() {
    side_by_side(&[
        "ZADD z1 1 a 2 b 3 c",
        "ZADD z2 10 b 20 c 30 d",
        "ZADD z3 1.1 c 2.2 d",
        "SADD s c d e",
        "ZUNION 2 z1 z2 WITHSCORES",
        "ZUNION 3 z1 z2 z3",
        "ZUNION 3 z1 z2 z3 WITHSCORES",
        "ZINTER 2 z1 z2 WITHSCORES",
        "ZINTER 3 z1 z2 z3 WITHSCORES",
        "ZDIFF 2 z1 z2 WITHSCORES",
        "ZDIFF 3 z2 z1 z3",
        "ZUNION 2 z1 z2 WEIGHTS 2 0.5 WITHSCORES",
        "ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES",
        "ZUNION 2 z1 z2 aggregate max weights -1 3 withscores",
        "ZINTER 2 z1 z2 WEIGHTS 0 inf AGGREGATE MAX WITHSCORES",
        "ZINTER 2 z1 z2 WEIGHTS 0 inf AGGREGATE MIN WITHSCORES",
        "ZINTER 2 z1 z2 WEIGHTS inf -inf WITHSCORES",
        "ZUNION 2 z1 s WITHSCORES",
        "ZINTER 2 s z3 WITHSCORES",
        "ZDIFF 2 s z1 WITHSCORES",
        "ZUNION 1 z1 WEIGHTS -1 WITHSCORES",
        "ZUNION 1 z1 WEIGHTS 1e-310 WITHSCORES",
        "ZUNION 1 z1 WITHSCORES WITHSCORES",
        "ZUNION 2 z1 z1 WITHSCORES",
        "ZINTER 2 z1 z1 WEIGHTS 2 3 WITHSCORES",
        "ZDIFF 2 z1 z1",
        "ZUNION 2 z1 nokey WITHSCORES",
        "ZINTER 2 z1 nokey",
        "ZINTERCARD 2 z1 z2",
        "ZINTERCARD 2 z1 z2 LIMIT 1",
        "ZINTERCARD 2 z1 z2 LIMIT 0",
        "ZINTERCARD 1 s",
        "ZUNIONSTORE u 3 z1 z2 z3 WEIGHTS 1 2 3",
        "ZRANGE u 0 -1 WITHSCORES",
        "ZINTERSTORE i 2 z1 z2 AGGREGATE MAX",
        "ZRANGE i 0 -1 WITHSCORES",
        "ZDIFFSTORE d 2 z2 z1",
        "ZRANGE d 0 -1 WITHSCORES",
        // A -0 result is 0 once stored in a listpack.
        "ZADD zero 0 a",
        "ZUNION 1 zero WEIGHTS -1 WITHSCORES",
        "ZUNIONSTORE negzero 1 zero WEIGHTS -1",
        "ZSCORE negzero a",
        // Empty results delete an existing destination (propagated), or change nothing.
        "ZINTERSTORE i 2 z1 nokey",
        "EXISTS i",
        "ZINTERSTORE i 2 z1 nokey",
        "ZDIFFSTORE d 2 z1 z1",
        "ZUNIONSTORE none 1 nokey",
        "SET str v",
        "ZUNIONSTORE str 1 s",
        "ZRANGE str 0 -1 WITHSCORES",
        "SET ttl v PXAT 4102444800000",
        "ZINTERSTORE ttl 1 z1",
        "TTL ttl",
        "SET gone v PXAT 1",
        "ZUNIONSTORE gone 1 z1",
        "SET gone2 v PXAT 1",
        "ZUNION 2 z1 gone2",
        // Errors, in Redis's order: numkeys, keys (WRONGTYPE), options.
        "ZUNIONSTORE out 0 z1",
        "ZUNION 0 z1",
        "ZINTERCARD 0 z1",
        "ZUNIONSTORE out x z1",
        "ZUNIONSTORE out -1 z1",
        "ZUNIONSTORE out 3 z1 z2",
        "ZUNIONSTORE out 2 z1 z2 WITHSCORES",
        "ZUNION 2 z1 z2 WEIGHTS 1",
        "ZUNION 2 z1 z2 WEIGHTS 1 x",
        "ZUNION 2 z1 z2 WEIGHTS 1 nan",
        "ZUNION 2 z1 z2 AGGREGATE foo",
        "ZUNION 2 z1 z2 AGGREGATE",
        "ZUNION 2 z1 str WEIGHTS x",
        "ZDIFF 2 z1 z2 WEIGHTS 1 1",
        "ZDIFF 2 z1 z2 AGGREGATE SUM",
        "ZINTERCARD 2 z1 z2 WITHSCORES",
        "ZINTERCARD 2 z1 z2 LIMIT",
        "ZINTERCARD 2 z1 z2 LIMIT -1",
        "ZINTERCARD 2 z1 z2 WEIGHTS 1 1",
        "ZDIFFSTORE out 1",
        "ZUNION 1",
    ]);
}

#[test]
fn lmove_and_rpoplpush_match_redis() {
    side_by_side(&[
        "RPUSH src a b c d",
        "RPOPLPUSH src dst",
        "LMOVE src dst LEFT RIGHT",
        "lmove src dst right right",
        "LMOVE src dst left LEFT",
        "EXISTS src",
        "LRANGE dst 0 -1",
        "RPOPLPUSH dst dst",
        "LMOVE dst dst LEFT RIGHT",
        "LRANGE dst 0 -1",
        "RPOPLPUSH nokey dst",
        "LMOVE nokey dst LEFT LEFT",
        "LMOVE dst other UP LEFT",
        "LMOVE nokey other LEFT DOWN",
        "SET str v",
        "RPOPLPUSH str dst",
        "RPOPLPUSH dst str",
        "LMOVE dst str LEFT LEFT",
        "RPOPLPUSH nokey str",
        "LRANGE dst 0 -1",
        "RPUSH one x",
        "RPOPLPUSH one one",
        "LRANGE one 0 -1",
        "SET gone v PXAT 1",
        "RPOPLPUSH one gone",
        "LRANGE gone 0 -1",
        "SET gone2 v PXAT 1",
        "RPOPLPUSH gone2 one",
        "LMOVE src",
    ]);
}

#[test]
fn hyperloglogs_are_byte_identical_to_redis() {
    let many: Vec<String> = (0..4000).map(|i| format!("e{i}")).collect();
    let some: Vec<String> = (0..300).map(|i| format!("x{i}")).collect();
    let big = format!("PFADD big {}", many.join(" "));
    let mid = format!("PFADD mid {}", some.join(" "));
    let script = [
        "PFADD h a b c d e f g h i j k l m n o p q",
        "GET h",
        "PFCOUNT h",
        "GET h",
        "PFCOUNT h",
        "PFADD h a b",
        "PFADD h r",
        "PFADD empty",
        "PFADD empty",
        "GET empty",
        "PFCOUNT empty",
        mid.as_str(),
        "GET mid",
        "PFCOUNT mid",
        big.as_str(),
        "GET big",
        "PFCOUNT big",
        "GET big",
        "PFADD big e1 e2 e3",
        "PFCOUNT h mid",
        "PFCOUNT h mid big nokey",
        "PFCOUNT nokey",
        "PFMERGE m h mid",
        "GET m",
        "PFCOUNT m",
        "PFMERGE m",
        "GET m",
        "PFMERGE m2 h big",
        "GET m2",
        "PFCOUNT m2",
        "PFMERGE h big",
        "GET h",
        "PFMERGE fresh",
        "GET fresh",
        "PFMERGE fresh nokey",
        // Not HLLs.
        "SET s notanhll",
        "PFADD s a",
        "PFCOUNT s",
        "PFCOUNT s h",
        "PFMERGE h s",
        "PFMERGE s h",
        "SET short HYLL",
        "PFCOUNT short",
        "SADD set a",
        "PFADD set a",
        "PFCOUNT set",
        "PFCOUNT h set",
        "PFMERGE set h",
        // Corrupted ones: a sparse HLL with a stray byte, a dense one a byte too long.
        "PFADD c1",
        "APPEND c1 x",
        "PFCOUNT c1",
        "PFADD c1 a b c",
        "PFCOUNT c1 h",
        "PFMERGE m c1",
        "PFADD c2 z",
        "PFCOUNT c2",
        "APPEND c2 x",
        "PFCOUNT c2",
        "APPEND big x",
        "PFCOUNT big",
        "PFADD",
    ];
    side_by_side(&script);
}

/// A replica's own PFCOUNT writes the cardinality into its copy, as Redis's replicas do.
#[test]
fn pfcount_on_a_replica_updates_its_copy_like_redis() {
    let master = Server::redis(&[]);
    let ours = Server::replscope(&[]);
    let real = Server::redis(&[]);
    ours.replicate(&master);
    real.replicate(&master);
    let add = [
        "PFADD", "key", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
        "p", "q",
    ];
    assert_eq!(master.cmd(&add), replscope::engine::resp::Reply::Integer(1));
    wait_offsets_equal(&[&master, &ours, &real]);
    let before = master.cmd(&["GET", "key"]);
    assert_eq!(ours.cmd(&["GET", "key"]), before);
    for replica in [&real, &ours] {
        assert_eq!(
            replica.cmd(&["PFCOUNT", "key"]),
            replscope::engine::resp::Reply::Integer(17)
        );
    }
    let after = real.cmd(&["GET", "key"]);
    assert_ne!(after, before, "the cache was written");
    assert_eq!(ours.cmd(&["GET", "key"]), after);
    assert_eq!(
        master.cmd(&["GET", "key"]),
        before,
        "the master's copy is untouched"
    );
}

/// Random PFADD batches (sparse edits of every kind, promotions to dense at different
/// points) and PFMERGEs, every HLL read back with GET and compared byte for byte.
#[test]
fn random_hyperloglog_edits_are_byte_identical_to_redis() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut script: Vec<String> = Vec::new();
    for _ in 0..120 {
        let key = format!("k{}", next(8));
        match next(10) {
            0 => {
                let other = format!("k{}", next(8));
                script.push(format!("PFMERGE {key} {other}"));
            }
            1 => script.push(format!("PFCOUNT {key}")),
            _ => {
                let most = if next(4) == 0 { 400 } else { 20 };
                let n = 1 + next(most);
                let elems: Vec<String> = (0..n).map(|_| format!("{}", next(1 << 20))).collect();
                script.push(format!("PFADD {key} {}", elems.join(" ")));
            }
        }
        script.push(format!("GET {key}"));
    }
    let script: Vec<&str> = script.iter().map(String::as_str).collect();
    side_by_side(&script);
}

/// XINFO on a keyspace without streams and an empty SLOWLOG (replscope never logs a
/// command), with Redis's help texts and argument errors. Each SLOWLOG read follows a
/// RESET so that a slow moment of the real server cannot show up. CONFIG HELP shares the
/// help format.
#[test]
fn xinfo_and_slowlog_answer_like_redis() {
    side_by_side(&[
        "XINFO HELP",
        "xinfo help",
        "XINFO HELP extra",
        "XINFO",
        "XINFO FOO",
        "XINFO FOO bar",
        "XINFO STREAM nokey",
        "XINFO STREAM nokey FULL",
        "XINFO GROUPS nokey",
        "XINFO GROUPS",
        "XINFO CONSUMERS nokey g",
        "XINFO CONSUMERS nokey",
        "SET str v",
        "XINFO STREAM str",
        "XINFO CONSUMERS str g",
        "SET gone v PXAT 1",
        "XINFO GROUPS gone",
        "SLOWLOG HELP",
        "slowlog help",
        "SLOWLOG HELP extra",
        "SLOWLOG RESET",
        "SLOWLOG GET",
        "SLOWLOG RESET",
        "SLOWLOG GET 5",
        "SLOWLOG RESET",
        "SLOWLOG GET -1",
        "SLOWLOG RESET",
        "SLOWLOG LEN",
        "SLOWLOG GET -2",
        "SLOWLOG GET x",
        "SLOWLOG GET 1 2",
        "SLOWLOG LEN x",
        "SLOWLOG RESET x",
        "SLOWLOG FOO",
        "SLOWLOG",
        "CONFIG HELP",
    ]);
}
