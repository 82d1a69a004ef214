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

/// SETRANGE, GETRANGE, GETEX, MSETNX and RENAMENX: normal use, argument errors, wrong
/// types, size limits, lazily expired keys (`PXAT 1`), and what each propagates (GETEX as
/// PEXPIREAT/DEL/PERSIST or not at all, the others as sent when they write). Expire times
/// are absolute so that both streams carry the same milliseconds.
#[test]
fn string_and_key_commands_match_redis() {
    side_by_side(&[
        // SETRANGE: creates zero-padded strings, overwrites in place, keeps the TTL.
        "SETRANGE sr 0 hello",
        "SETRANGE sr 6 world",
        "GET sr",
        "SETRANGE sr 0 HE",
        "SETRANGE sr 9 xyz",
        "GET sr",
        "SETRANGE pad 3 x",
        "GET pad",
        "SETRANGE sr -1 x",
        "SETRANGE sr abc x",
        "SETRANGE sr 1.5 x",
        "SETRANGE sr 536870912 x",
        "SETRANGE newbig 536870912 x",
        "SETRANGE newbig 9223372036854775807 x",
        "SETRANGE sr 9223372036854775808 x",
        "EXISTS newbig",
        "SETRANGE sr 1",
        "SET n 12345",
        "SETRANGE n 1 9",
        "GET n",
        "RPUSH list a b",
        "SETRANGE list 0 x",
        "SET ttl value PXAT 4102444800000",
        "SETRANGE ttl 2 ZZ",
        "SET gone v PXAT 1",
        "SETRANGE gone 2 x",
        "GET gone",
        // GETRANGE: indexes parsed first, negative indexes, clamping, empty answers.
        "GETRANGE sr 0 -1",
        "GETRANGE sr 0 3",
        "GETRANGE sr -3 -1",
        "GETRANGE sr 5 2",
        "GETRANGE sr -1 -5",
        "GETRANGE sr -100 100",
        "GETRANGE sr 100 200",
        "GETRANGE sr 0 9223372036854775807",
        "GETRANGE sr -9223372036854775808 -9223372036854775808",
        "GETRANGE sr -9223372036854775808 0",
        "GETRANGE n 1 2",
        "GETRANGE nokey 0 -1",
        "GETRANGE nokey a 1",
        "GETRANGE sr 0 b",
        "GETRANGE list 0 1",
        "GETRANGE sr 0",
        "SET gone2 v PXAT 1",
        "GETRANGE gone2 0 -1",
        // GETEX: options, errors (syntax first, then the key, then the time), propagation.
        "SET gx hello",
        "GETEX gx",
        "GETEX nokey",
        "GETEX nokey EX 10",
        "GETEX nokey EX -1",
        "GETEX nokey FOO",
        "GETEX gx FOO",
        "GETEX gx EX",
        "GETEX gx EX 10 PX 10",
        "GETEX gx PERSIST EX 10",
        "GETEX gx EXAT 4102444800 PERSIST",
        "GETEX gx KEEPTTL",
        "GETEX gx NX",
        "GETEX gx GET",
        "GETEX gx EX 0",
        "GETEX gx EX -5",
        "GETEX gx PX 0",
        "GETEX gx EXAT 0",
        "GETEX gx PXAT -1",
        "GETEX gx EX abc",
        "GETEX gx EX 9223372036854776",
        "GETEX gx PX 9223372036854775807",
        "GETEX gx EXAT 9223372036854776",
        "GETEX list EX -1",
        "GETEX list",
        "GETEX gx EXAT 4102444800",
        "GETEX gx PXAT 4102444800123",
        "getex gx pxat 4102444800456",
        "GETEX gx EXAT 4102444800 EXAT 4102444801",
        "GETEX gx EXAT 9223372036854775",
        "GETEX gx PERSIST",
        "GETEX gx PERSIST",
        "GETEX gx persist PERSIST",
        "SET gx2 v PXAT 4102444800000",
        "GETEX gx2 PERSIST",
        "PERSIST gx2",
        "GETEX gx PXAT 1",
        "EXISTS gx",
        "SET gx3 v",
        "GETEX gx3 EXAT 1",
        "GETEX gx3",
        "SET gone3 v PXAT 1",
        "GETEX gone3 EXAT 4102444800",
        "SET gone4 v PXAT 1",
        "GETEX gone4",
        "SET gone5 v PXAT 1",
        "GETEX gone5 EX -1",
        // MSETNX: all or nothing.
        "MSETNX a1 1 a2 2",
        "MSETNX a2 x a3 3",
        "EXISTS a3",
        "MSETNX a3 3 list x",
        "EXISTS a3",
        "MSETNX a4 1 a4 2",
        "GET a4",
        "MSETNX a5",
        "MSETNX a5 1 a6",
        "MSETNX",
        "SET gone6 v PXAT 1",
        "MSETNX gone6 new a7 7",
        "GET gone6",
        "SET gone7 v PXAT 1",
        "MSETNX gone7 x a1 y",
        "EXISTS gone7",
        "SET ttl2 v PXAT 4102444800000",
        "MSETNX ttl2 x",
        // RENAMENX: 0/1, errors like RENAME, the TTL moves with the value.
        "RENAMENX a1 b1",
        "GET b1",
        "EXISTS a1",
        "RENAMENX b1 a2",
        "RENAMENX nope x",
        "RENAMENX nope nope",
        "RENAMENX b1 b1",
        "RENAMENX b1",
        "RENAMENX b1 x y",
        "SET vt v PXAT 4102444800000",
        "RENAMENX vt vt2",
        "PERSIST vt",
        "RENAMENX list list2",
        "TYPE list2",
        "SET gd v PXAT 1",
        "RENAMENX b1 gd",
        "GET gd",
        "SET gs v PXAT 1",
        "RENAMENX gs zz",
        "SET gs2 v PXAT 1",
        "RENAMENX gs2 gs2",
        "SET vt3 v PXAT 4102444800000",
        "RENAMENX vt3 a2",
        "RENAME vt3 r3",
        "PERSIST r3",
    ]);
}

/// HMSET, HSETNX, HINCRBYFLOAT, LTRIM, LINSERT, SMOVE and ZREMRANGEBYSCORE|RANK|LEX: normal
/// use, edges (empty ranges, keys emptied and deleted, lazily expired keys), argument
/// errors in Redis's order, wrong types, and what each propagates (HINCRBYFLOAT as
/// `HSET key field <value>`, the others as sent only when they write).
#[test]
fn collection_commands_match_redis() {
    side_by_side(&[
        "SET str v",
        // HMSET: HSET answering +OK.
        "HMSET h f1 a f2 b",
        "HMSET h f1 x f3 c",
        "hmset h f1 y",
        "HGETALL h",
        "HMSET h f1",
        "HMSET h f1 a f2",
        "HMSET h",
        "HMSET str f v",
        "SET gone1 v PXAT 1",
        "HMSET gone1 f v",
        "HGETALL gone1",
        // HSETNX: only a new field is written.
        "HSETNX h f1 zzz",
        "HSETNX h f9 new",
        "HSETNX hn f v",
        "HSETNX hn f w",
        "HGETALL h",
        "HGETALL hn",
        "HSETNX str f v",
        "HSETNX h f",
        "HSETNX h f v x",
        "SET gone2 v PXAT 1",
        "HSETNX gone2 f v",
        // HINCRBYFLOAT: long double arithmetic, printed as INCRBYFLOAT prints it.
        "HINCRBYFLOAT hf x 0.1",
        "HINCRBYFLOAT hf x 0.2",
        "HINCRBYFLOAT hf x -0.3",
        "HINCRBYFLOAT hf y 10.50",
        "HINCRBYFLOAT hf y 5.0e3",
        "HINCRBYFLOAT hf y 1e-5",
        "HSET hf i 10 s abc sp 1.5 big 1e308 e 1.5e2",
        "HINCRBYFLOAT hf i 1",
        "HINCRBYFLOAT hf i -11",
        "HINCRBYFLOAT hf e 0",
        "HINCRBYFLOAT hf big 1e308",
        "HINCRBYFLOAT hf s 1",
        "HINCRBYFLOAT hf sp abc",
        "HINCRBYFLOAT hf sp inf",
        "HINCRBYFLOAT hf sp -inf",
        "HINCRBYFLOAT hf sp nan",
        "HINCRBYFLOAT hf sp 1e5000",
        "HINCRBYFLOAT hf sp 3",
        "HINCRBYFLOAT nohash f 2.5",
        "HINCRBYFLOAT nohash2 f abc",
        "EXISTS nohash2",
        "HINCRBYFLOAT str f 1",
        "HINCRBYFLOAT hf f",
        "SET gone3 v PXAT 1",
        "HINCRBYFLOAT gone3 f 1.25",
        // A 309-byte value made `hf` a hash table: read it field by field.
        "HMGET hf x y i e big s sp",
        // LTRIM: ranges like LRANGE; emptied lists are deleted.
        "RPUSH l a b c d e f g h",
        "LTRIM l 1 -2",
        "LRANGE l 0 -1",
        "LTRIM l 0 -1",
        "LTRIM l 0 100",
        "LTRIM l -3 -1",
        "LRANGE l 0 -1",
        "LTRIM l -100 1",
        "LRANGE l 0 -1",
        "LTRIM l 5 10",
        "EXISTS l",
        "RPUSH l2 a b c",
        "LTRIM l2 2 1",
        "EXISTS l2",
        "RPUSH l3 a b c",
        "LTRIM l3 0 -4",
        "EXISTS l3",
        "LTRIM nolist 0 1",
        "LTRIM nolist a 1",
        "LTRIM l 0 b",
        "LTRIM str 0 1",
        "LTRIM str x 1",
        "RPUSH l4 1 2 3",
        "LTRIM l4 -9223372036854775808 9223372036854775807",
        "LTRIM l4 9223372036854775807 -9223372036854775808",
        "EXISTS l4",
        "LTRIM l4 0 1 2",
        "SET gone4 v PXAT 1",
        "LTRIM gone4 0 1",
        // LINSERT: before/after the first pivot from the head.
        "RPUSH li a b c b",
        "LINSERT li BEFORE b x",
        "LINSERT li after b y",
        "linsert li Before a first",
        "LINSERT li AFTER b2 z",
        "LINSERT li AFTER b b",
        "LRANGE li 0 -1",
        "LINSERT li MIDDLE b z",
        "LINSERT nolist BEFORE a b",
        "LINSERT nolist MIDDLE a b",
        "LINSERT str BEFORE a b",
        "LINSERT str MIDDLE a b",
        "LINSERT li BEFORE a",
        "SET gone5 v PXAT 1",
        "LINSERT gone5 BEFORE a b",
        "EXISTS nolist",
        // SMOVE: intsets are read directly, other sets through counts.
        "SADD s1 1 2 3",
        "SADD s2 3 4",
        "SMOVE s1 s2 1",
        "SMOVE s1 s2 3",
        "SMOVE s1 s2 9",
        "SMEMBERS s1",
        "SMEMBERS s2",
        "SMOVE s1 s3 2",
        "EXISTS s1",
        "SMEMBERS s3",
        "SMOVE s2 s2 4",
        "SMOVE s2 s2 nope",
        "SMOVE nosrc s2 1",
        "SMOVE nosrc str 1",
        "SMOVE str s2 1",
        "SMOVE s2 str 4",
        "SMOVE s2 str nope",
        "SMOVE str str 1",
        "SCARD s2",
        "SADD sa x y z",
        "SMOVE sa sb x",
        "SMOVE sa sb x",
        "SMOVE sa s2 y",
        "SCARD sa",
        "SCARD s2",
        "SISMEMBER s2 y",
        "SMEMBERS sb",
        "SMOVE s2 sa 3",
        "SCARD sa",
        "SMOVE sa s2",
        "SMOVE sa s2 a b",
        "SET gone6 v PXAT 1",
        "SMOVE gone6 s2 1",
        "SET gone7 v PXAT 1",
        "SMOVE sb gone7 x",
        "SMEMBERS gone7",
        "EXISTS sb",
        // ZREMRANGEBYSCORE.
        "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f -inf lo +inf hi",
        "ZREMRANGEBYSCORE z 2 3",
        "ZREMRANGEBYSCORE z (4 (6",
        "ZREMRANGEBYSCORE z (4 (5",
        "ZREMRANGEBYSCORE z 5 4",
        "ZREMRANGEBYSCORE z 100 200",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZREMRANGEBYSCORE z -inf -inf",
        "ZREMRANGEBYSCORE z (+inf +inf",
        "ZREMRANGEBYSCORE z +inf +inf",
        "ZREMRANGEBYSCORE z 1.0e0 4.5",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZREMRANGEBYSCORE z abc 1",
        "ZREMRANGEBYSCORE z 1 ((2",
        "ZREMRANGEBYSCORE z nan 1",
        "ZREMRANGEBYSCORE z 1 2x",
        "ZREMRANGEBYSCORE nozset a b",
        "ZREMRANGEBYSCORE nozset 0 1",
        "ZREMRANGEBYSCORE str 0 1",
        "ZREMRANGEBYSCORE str a 1",
        "ZREMRANGEBYSCORE z -inf +inf",
        "EXISTS z",
        "ZREMRANGEBYSCORE z 0",
        "SET gone8 v PXAT 1",
        "ZREMRANGEBYSCORE gone8 0 1",
        // ZREMRANGEBYRANK.
        "ZADD zr 1 a 2 b 3 c 4 d 5 e 6 f",
        "ZREMRANGEBYRANK zr 0 0",
        "ZREMRANGEBYRANK zr -1 -1",
        "ZREMRANGEBYRANK zr 3 1",
        "ZREMRANGEBYRANK zr 10 20",
        "ZREMRANGEBYRANK zr -100 -5",
        "ZREMRANGEBYRANK zr 1 2",
        "ZRANGE zr 0 -1 WITHSCORES",
        "ZREMRANGEBYRANK zr 1.5 2",
        "ZREMRANGEBYRANK zr 0 x",
        "ZREMRANGEBYRANK zr 0 9223372036854775808",
        "ZREMRANGEBYRANK str 0 1",
        "ZREMRANGEBYRANK str a 1",
        "ZREMRANGEBYRANK nozset 0 -1",
        "ZREMRANGEBYRANK zr -9223372036854775808 9223372036854775807",
        "EXISTS zr",
        // ZREMRANGEBYLEX (equal scores: lex order).
        "ZADD zl 0 a 0 b 0 c 0 d 0 e 0 f 0 g",
        "ZREMRANGEBYLEX zl [b (d",
        "ZREMRANGEBYLEX zl (e +",
        "ZREMRANGEBYLEX zl [x [z",
        "ZREMRANGEBYLEX zl [d [a",
        "ZREMRANGEBYLEX zl (d (d",
        "ZREMRANGEBYLEX zl + -",
        "ZRANGE zl 0 -1",
        "ZREMRANGEBYLEX zl b d",
        "ZREMRANGEBYLEX zl [a 5",
        "ZREMRANGEBYLEX zl - +x",
        "ZREMRANGEBYLEX zl 1 2",
        "ZREMRANGEBYLEX nozset a b",
        "ZREMRANGEBYLEX nozset - +",
        "ZREMRANGEBYLEX str - +",
        "ZREMRANGEBYLEX str a b",
        "ZREMRANGEBYLEX zl [d [d",
        "ZREMRANGEBYLEX zl - +",
        "EXISTS zl",
        "ZADD zm 1 a 2 c 3 b 4 d",
        "ZREMRANGEBYLEX zm [b [c",
        "ZRANGE zm 0 -1 WITHSCORES",
        "ZREMRANGEBYLEX zm -",
        "SET gone9 v PXAT 1",
        "ZREMRANGEBYLEX gone9 - +",
        // Inside a transaction.
        "MULTI",
        "HMSET ht a 1",
        "HINCRBYFLOAT ht a 1.5",
        "RPUSH lt a b c",
        "LTRIM lt 1 1",
        "LINSERT lt BEFORE b a",
        "SADD st 1",
        "SMOVE st st2 1",
        "ZADD zt 1 a 2 b",
        "ZREMRANGEBYRANK zt 0 0",
        "EXEC",
    ]);
}

#[test]
fn copy_move_and_swapdb_match_redis() {
    side_by_side(&[
        "SET s v",
        "RPUSH l a b c",
        "HSET h f v",
        "SADD st x",
        "ZADD z 1 a 2 b",
        "SET t v PXAT 4102444800000",
        // COPY: every type, the TTL carried over, the destination refused or replaced.
        "COPY s s2",
        "GET s2",
        "COPY l l2",
        "LRANGE l2 0 -1",
        "COPY h h2",
        "COPY st st2",
        "COPY z z2",
        "ZRANGE z2 0 -1 WITHSCORES",
        "COPY t t2",
        "TTL t2",
        "RPUSH l2 d",
        "LRANGE l 0 -1",
        "COPY s s2",
        "SET s v2",
        "COPY s s2 REPLACE",
        "GET s2",
        "COPY s s",
        "COPY s s DB 0",
        "COPY s s DB 1",
        "COPY t t db 1 replace",
        "COPY nokey x",
        "COPY nokey x DB 1",
        "COPY s x DB 16",
        "COPY s x DB -1",
        "COPY s x DB abc",
        "COPY s x DB 99999999999",
        "COPY s x DB",
        "COPY s x FOO",
        "COPY s x DB 99 FOO",
        "COPY s x FOO DB 99",
        "COPY s x REPLACE DB 2 REPLACE DB 3",
        "COPY",
        "COPY s",
        "SELECT 1",
        "TTL t",
        "GET s",
        "COPY s s2 DB 0",
        "COPY s s3 DB 0",
        "SELECT 0",
        "GET s3",
        // Lazily expired source and destinations (the destination's in its own db).
        "SET gone v PXAT 1",
        "COPY gone g2",
        "SET gone3 v PXAT 1",
        "COPY s gone3",
        "SELECT 2",
        "SET gone4 v PXAT 1",
        "SELECT 0",
        "COPY s gone4 DB 2",
        // MOVE.
        "SET m v",
        "MOVE m 1",
        "EXISTS m",
        "SET m v2",
        "MOVE m 1",
        "GET m",
        "MOVE nokey 1",
        "MOVE m 0",
        "MOVE nokey 0",
        "MOVE m 16",
        "MOVE m -1",
        "MOVE m x",
        "MOVE m 4294967296",
        "MOVE m",
        "MOVE m 1 2",
        "SET mt v PXAT 4102444800000",
        "MOVE mt 3",
        "MOVE z2 2",
        "SELECT 3",
        "TTL mt",
        "MOVE mt 0",
        "SELECT 0",
        "TTL mt",
        "SET mg v PXAT 1",
        "MOVE mg 1",
        "SELECT 1",
        "SET mg2 v PXAT 1",
        "SELECT 0",
        "SET mg2 v",
        "MOVE mg2 1",
        // SWAPDB: clients stay in their db, which now holds the other's keys.
        "SELECT 3",
        "SET only3 v PXAT 4102444800000",
        "SELECT 0",
        "DBSIZE",
        "SWAPDB 0 3",
        "DBSIZE",
        "EXISTS only3",
        "TTL only3",
        "SWAPDB 3 0",
        "EXISTS only3",
        "SWAPDB 1 1",
        "SWAPDB 0 16",
        "SWAPDB -1 0",
        "SWAPDB x 0",
        "SWAPDB 0 x",
        "SWAPDB x y",
        "SWAPDB 99999999999 0",
        "SWAPDB 0 99999999999",
        "SWAPDB 16 x",
        "SWAPDB 0",
        "SWAPDB 0 1 2",
        "SWAPDB 2 1",
        // Inside a transaction.
        "MULTI",
        "COPY s s4 DB 3",
        "MOVE s 3",
        "SWAPDB 0 3",
        "EXEC",
        "GET s",
    ]);
}

#[test]
fn zrangestore_matches_redis() {
    // 129 members make a skiplist (zset-max-listpack-entries is 128): it keeps a -0 score.
    let big: Vec<String> = (0..129).map(|i| format!("{i} m{i}")).collect();
    let big = format!("ZADD big {}", big.join(" "));
    let long = "x".repeat(70);
    let zadd_long = format!("ZADD lm 1 {long}");
    side_by_side(&[
        "ZADD zs 1 a 2 b 3 c 4 d 5 e",
        "ZRANGESTORE d1 zs 0 -1",
        "ZRANGE d1 0 -1 WITHSCORES",
        "ZRANGESTORE d2 zs 1 2 REV",
        "ZRANGE d2 0 -1 WITHSCORES",
        "ZRANGESTORE d3 zs 2 4 BYSCORE",
        "ZRANGESTORE d3 zs (2 +inf byscore LIMIT 1 2",
        "ZRANGE d3 0 -1 WITHSCORES",
        "ZRANGESTORE d4 zs 4 2 BYSCORE REV",
        "ZRANGESTORE d4 zs 4 -inf BYSCORE REV LIMIT 0 -1",
        "ZADD zl 0 a 0 b 0 c 0 d",
        "ZRANGESTORE d5 zl [b + BYLEX",
        "ZRANGESTORE d5 zl + [b BYLEX REV LIMIT 0 2",
        "ZRANGE d5 0 -1",
        "ZRANGESTORE d6 zs 0 -1 LIMIT 0 -1",
        // An empty result deletes the destination (propagated), or changes nothing.
        "ZRANGESTORE d1 zs 10 20",
        "EXISTS d1",
        "ZRANGESTORE d1 zs 10 20",
        "ZRANGESTORE d2 zs 10 20 BYSCORE",
        "ZRANGESTORE d3 zs 0 -1 BYSCORE LIMIT -1 1",
        "ZRANGESTORE d5 nokey 0 -1",
        "EXISTS d5",
        "ZRANGESTORE d7 nokey 0 -1",
        // The destination's type and TTL do not matter; the source may be the destination.
        "SET str v",
        "ZRANGESTORE str zs 0 0",
        "TYPE str",
        "SET zttl v PXAT 4102444800000",
        "ZRANGESTORE zttl zs 0 0",
        "TTL zttl",
        "ZRANGESTORE zs zs 1 3",
        "ZRANGE zs 0 -1 WITHSCORES",
        // Errors: parsing first, then the source's type.
        "SET str2 v",
        "ZRANGESTORE d8 str2 0 -1",
        "ZRANGESTORE d8 str2 0 -1 LIMIT 0 1",
        "ZRANGESTORE str2 zs 10 20",
        "ZRANGESTORE d8 zs 0 -1 LIMIT 0 1",
        "ZRANGESTORE d8 zs 0 -1 WITHSCORES",
        "ZRANGESTORE d8 zs 0 -1 BYLEX",
        "ZRANGESTORE d8 zs a b BYSCORE",
        "ZRANGESTORE d8 zs a b",
        "ZRANGESTORE d8 zs 0 -1 REV REV",
        "ZRANGESTORE d8 zs 0 -1 BYSCORE BYLEX",
        "ZRANGESTORE d8 zs 0 -1 LIMIT 1",
        "ZRANGESTORE d8 zs 0 -1 LIMIT x 1",
        "ZRANGESTORE d8 zs 0 -1 FOO",
        "ZRANGESTORE d8 zs 0",
        "ZRANGESTORE d8",
        // Lazily expired source and destination.
        "SET zg v PXAT 1",
        "ZRANGESTORE d9 zg 0 -1",
        "SET zg2 v PXAT 1",
        "ZRANGESTORE zg2 nokey 0 -1",
        "SET zg3 v PXAT 1",
        "ZRANGESTORE zg3 zs 0 0",
        // -0 survives only where the stored zset is a skiplist when the member is added.
        &big,
        "ZADD big -0 zero",
        "ZSCORE big zero",
        "ZRANGESTORE neg big -0 0 BYSCORE",
        "ZSCORE neg zero",
        "ZRANGESTORE negall big 0 -1",
        "ZSCORE negall zero",
        "ZRANGESTORE negrev big +inf -inf BYSCORE REV",
        "ZSCORE negrev zero",
        &zadd_long,
        "ZADD lm -0 a",
        "ZRANGESTORE lmd lm 0 -1",
        "ZSCORE lmd a",
        "ZRANGESTORE lmr lm 0 -1 REV",
        "ZSCORE lmr a",
        // Inside a transaction.
        "MULTI",
        "ZRANGESTORE t1 zs 0 0",
        "ZRANGESTORE t1 zs 5 6",
        "ZRANGESTORE t2 zs 0 -1",
        "EXEC",
    ]);
}
