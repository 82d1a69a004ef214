//! `server.dirty` (`rdb_changes_since_last_save`), side by side with a real redis-server 7.0:
//! the count the save points (`save <seconds> <changes>`) compare against. Each command adds
//! what its Redis implementation adds (one per element for SADD, none for a lazy expiry), a
//! replica counts the writes its master streams to it as any write (and one more for a
//! diskless load), a writable replica counts its own, and a blocked client served by a push
//! counts only when Redis reuses a command's pop code (BLMPOP, BZPOPMIN) for it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use replscope::engine::resp::{encode_command, Reply};
use support::{wait_offsets_equal, wait_until, Server};

/// A client blocked by `argv` on `server` (it waits until the server counts it).
fn blocked_client(server: &Server, argv: &[&str]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut bytes = Vec::new();
    encode_command(argv, &mut bytes);
    stream.write_all(&bytes).unwrap();
    wait_until(Duration::from_secs(10), "the client blocks", || {
        server.info("clients", "blocked_clients") == "1"
    });
    stream
}

/// Runs the steps on a master with two replicas (one loading from disk, one diskless), then
/// writes on one replica made writable: after each step, every `rdb_changes_since_last_save`.
fn changes(kind: &str) -> Vec<(String, [String; 3])> {
    let start = |extra: &[&str]| {
        let mut args = vec!["--enable-debug-command", "yes", "--save", ""];
        args.extend_from_slice(extra);
        if kind == "redis" {
            Server::redis(&args)
        } else {
            Server::replscope(&args)
        }
    };
    let master = start(&[]);
    let replica = start(&[]);
    let diskless = start(&["--repl-diskless-load", "swapdb"]);
    replica.replicate(&master);
    diskless.replicate(&master);
    let servers = [&master, &replica, &diskless];
    // Lazy expiry only: an expired key is deleted by the GET that finds it.
    assert_eq!(
        master.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        Reply::ok()
    );
    let mut seen = Vec::new();
    let mut record = |step: &str| {
        let changes = servers.map(|s| s.info("persistence", "rdb_changes_since_last_save"));
        seen.push((step.to_string(), changes));
    };
    record("full syncs");
    // Each step is sent whole on one connection (a transaction needs one).
    let steps: &[&[&[&str]]] = &[
        &[&["SET", "a", "1"]],
        &[&["MSET", "b", "1", "c", "2", "d", "3"]],
        &[&["SADD", "s", "x", "y", "z"]],
        &[&["SADD", "s", "x"]],
        &[&["SREM", "s", "x", "y", "nope"]],
        &[&["HSET", "h", "f1", "v", "f2", "v"]],
        &[&["DEL", "a", "b", "nope"]],
        &[&["INCR", "n"]],
        &[&["RPUSH", "l", "1", "2", "3", "4"]],
        &[&["LPOP", "l", "2"]],
        &[&["ZADD", "z", "1", "a", "2", "b", "3", "c"]],
        &[&["ZPOPMIN", "z", "2"]],
        &[&["EXPIRE", "c", "100"]],
        &[&["PERSIST", "c"]],
        &[&["SUNIONSTORE", "dst", "s", "s"]],
        &[&["SET", "e", "1", "PX", "1"]],
        // The master deletes the expired key and streams a DEL, which the replica runs.
        &[&["GET", "e"]],
        &[
            &["MULTI"],
            &["SET", "m1", "1"],
            &["SADD", "m2", "a", "b"],
            &["EXEC"],
        ],
        &[&["GETDEL", "m1"]],
        &[&["PEXPIRE", "m2", "-1"]],
        // Blocking commands with something to take at once count as their plain forms.
        &[&["RPUSH", "q", "a", "b", "c", "d", "e"]],
        &[&["BLPOP", "q", "0"]],
        &[&["BLMOVE", "q", "q2", "LEFT", "RIGHT", "0"]],
        &[&["BLMPOP", "0", "1", "q", "LEFT", "COUNT", "2"]],
        &[&["ZADD", "bz", "1", "a", "2", "b", "3", "c"]],
        &[&["BZPOPMIN", "bz", "0"]],
        &[&["FLUSHDB"]],
    ];
    for step in steps {
        if step[0][0] == "GET" {
            std::thread::sleep(Duration::from_millis(20));
        }
        let cmds: Vec<Vec<String>> = step
            .iter()
            .map(|argv| argv.iter().map(|a| a.to_string()).collect())
            .collect();
        support::pipeline(master.port, &cmds);
        wait_offsets_equal(&servers);
        let words: Vec<String> = step.iter().map(|argv| argv.join(" ")).collect();
        record(&words.join("; "));
    }
    // Blocked clients served by a push: each blocks on an empty key, then a push serves it.
    let served: &[(&[&str], &[&str])] = &[
        (&["BLPOP", "q", "0"], &["RPUSH", "q", "a", "b"]),
        (&["BRPOPLPUSH", "q3", "q4", "0"], &["RPUSH", "q3", "a", "b"]),
        (
            &["BLMOVE", "q5", "q6", "LEFT", "LEFT", "0"],
            &["RPUSH", "q5", "a"],
        ),
        (
            &["BLMPOP", "0", "1", "q7", "RIGHT", "COUNT", "3"],
            &["RPUSH", "q7", "a", "b"],
        ),
        (
            &["BZPOPMAX", "z2", "0"],
            &["ZADD", "z2", "1", "a", "2", "b"],
        ),
        (
            &["BZMPOP", "0", "1", "z3", "MIN", "COUNT", "5"],
            &["ZADD", "z3", "1", "a", "2", "b"],
        ),
    ];
    for (block, push) in served {
        let mut client = blocked_client(&master, block);
        master.cmd(push);
        let mut answer = [0u8; 1];
        client
            .read_exact(&mut answer)
            .expect("the blocked client is served");
        assert!(
            matches!(answer[0], b'*' | b'$'),
            "{kind}: {block:?} answered"
        );
        wait_offsets_equal(&servers);
        record(&format!("{} served by {}", block.join(" "), push.join(" ")));
    }
    assert_eq!(
        replica.cmd(&["CONFIG", "SET", "replica-read-only", "no"]),
        Reply::ok()
    );
    for argv in [&["SET", "w", "1"][..], &["SADD", "ws", "a", "b", "c"]] {
        replica.cmd(argv);
        record(&format!("replica: {}", argv.join(" ")));
    }
    seen
}

#[test]
fn changes_since_last_save_count_as_redis_counts_them() {
    let redis = changes("redis");
    let ours = changes("replscope");
    for (r, o) in redis.iter().zip(&ours) {
        eprintln!("{:<50} redis {:?}   ours {:?}", r.0, r.1, o.1);
    }
    for (r, o) in redis.iter().zip(&ours) {
        assert_eq!(r, o, "after {} (master, replica, diskless replica)", r.0);
    }
    assert_eq!(redis.len(), ours.len());
}

/// With save points, FLUSHALL saves at once and so zeroes the count, the writes before it in
/// the same transaction included; on the replica that runs it too.
#[test]
fn flushall_in_a_transaction_counts_from_its_save() {
    let run = |kind: &str| {
        let args = ["--save", "3600 1000"];
        let (master, replica) = if kind == "redis" {
            (Server::redis(&args), Server::redis(&args))
        } else {
            (Server::replscope(&args), Server::replscope(&args))
        };
        replica.replicate(&master);
        let cmds: Vec<Vec<String>> = [
            &["SET", "a", "1"][..],
            &["MULTI"],
            &["SET", "x", "1"],
            &["FLUSHALL"],
            &["SET", "y", "1"],
            &["SADD", "s", "a", "b"],
            &["EXEC"],
        ]
        .iter()
        .map(|argv| argv.iter().map(|a| a.to_string()).collect())
        .collect();
        support::pipeline(master.port, &cmds);
        wait_offsets_equal(&[&master, &replica]);
        [&master, &replica].map(|s| s.info("persistence", "rdb_changes_since_last_save"))
    };
    let redis = run("redis");
    assert_eq!(run("replscope"), redis);
    assert_eq!(
        redis,
        ["3", "3"],
        "Redis 7.0 counts the writes after the save"
    );
}

/// The write commands replscope implements, no-ops and edge cases included, each sent as one
/// step (`;` separates the commands of a step, sent on one connection so SELECT sticks; `''`
/// is an empty argument; a step starting with `~` waits 20 ms first so a `PX 1` key expires;
/// one starting with `?` has a random reply; `ELEMENTS` stands for `e0 … e4999`).
const EVERY_WRITE: &[&str] = &[
    // Strings.
    "SET s1 v",
    "SET s1 v NX",
    "SET s1 v2 XX",
    "SET nope v XX",
    "SET s1 v3 GET",
    "SET s1 v4 EX 100",
    "SET s1 v5 KEEPTTL",
    "SET s1 v6 PX 100000 GET",
    "SET s1 v7 NX GET",
    "SET snew v XX GET",
    "SETNX s1 x",
    "SETNX s2 x",
    "SETEX s3 100 v",
    "PSETEX s4 100000 v",
    "MSET m1 a m2 b m1 c",
    "GETSET s1 new",
    "GETSET gs v",
    "GETDEL nope",
    "GETDEL s2",
    "INCR n",
    "DECR n",
    "INCRBY n 5",
    "INCRBY n 0",
    "DECRBY n 3",
    "INCRBYFLOAT f 1.5",
    "INCRBYFLOAT f 0",
    "INCR s1",
    "INCR sadd_me_later",
    "APPEND s1 xyz",
    "APPEND ap abc",
    "APPEND ap ''",
    "APPEND empty ''",
    "SET ex 1 PX 1",
    "~GET ex",
    "SET ex2 1 PX 1",
    "~SET ex2 2",
    "SET ex3 1 PX 1",
    "~APPEND ex3 x",
    "SET ex4 1 PX 1",
    "~INCR ex4",
    "SETRANGE sr 0 hello",
    "SETRANGE sr 2 XY",
    "SETRANGE sr 8 z",
    "SETRANGE sr 1 ''",
    "SETRANGE srnew 3 ''",
    "SETRANGE srnew 3 x",
    "SETRANGE sr -1 x",
    "SETRANGE sr 536870912 x",
    "SET sx1 1 PX 1",
    "~SETRANGE sx1 0 x",
    // Bitmaps: SETBIT counts when it creates, grows or flips; BITFIELD once per write that
    // changed a field (each write when it created or grew the string); BITOP once when it
    // stores or deletes its destination.
    "SETBIT bt 7 1",
    "SETBIT bt 7 1",
    "SETBIT bt 7 0",
    "SETBIT bt 3 0",
    "SETBIT bt 20 0",
    "SETBIT bt -1 1",
    "SETBIT s1 0 1",
    "SET bx 1 PX 1",
    "~SETBIT bx 0 0",
    "BITFIELD bf SET u8 0 1 SET u8 8 2 INCRBY u4 0 0",
    "BITFIELD bf SET u8 0 1 INCRBY u4 0 0 INCRBY u4 4 1 GET u8 0",
    "BITFIELD bf GET u8 0",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1000",
    "BITFIELD bfail OVERFLOW FAIL SET u2 0 7",
    "BITFIELD bf SET u8 100 0 SET u8 0 2",
    "BITFIELD bf SET x8 0 1",
    "BITFIELD_RO bf GET u8 0",
    "BITOP AND bdst bt bf",
    "BITOP OR bdst nope",
    "BITOP OR bdst nope",
    "BITOP NOT bdst bt bf",
    "SET bx2 1 PX 1",
    "~BITOP OR bdst2 bx2",
    "GETEX sr",
    "GETEX sr EX 100",
    "GETEX sr PX 100000",
    "GETEX sr EXAT 9999999999",
    "GETEX sr PXAT 9999999999999",
    "GETEX sr PERSIST",
    "GETEX sr PERSIST",
    "GETEX nope EX 100",
    "GETEX sr EX 0",
    "GETEX sr EX 1 PERSIST",
    "SET gx v",
    "GETEX gx PXAT 1",
    "SET sx2 1 PX 1",
    "~GETEX sx2 EX 100",
    "MSETNX mn1 a mn2 b",
    "MSETNX mn2 c mn3 d",
    "MSETNX mn4 a mn4 b mn5 c",
    "SET sx3 1 PX 1",
    "~MSETNX sx3 a mn6 b",
    // Keys.
    "DEL m1 nope m2",
    "DEL nope",
    "UNLINK gs nope",
    "UNLINK nope",
    "RENAME s1 r1",
    "RENAME r1 r1",
    "RENAME nope r2",
    "SET r2 x EX 100",
    "RENAME r1 r2",
    "RENAMENX mn1 rn1",
    "RENAMENX rn1 rn1",
    "RENAMENX rn1 mn2",
    "RENAMENX nope rn2",
    "SET sx4 1 PX 1",
    "~RENAMENX mn2 sx4",
    "SET cp v EX 100",
    "COPY cp cp2",
    "COPY cp cp2",
    "COPY cp cp2 REPLACE",
    "COPY cp cp DB 1",
    "COPY cp cp",
    "COPY nope cp3",
    "COPY cp cp3 DB 16",
    "COPY cp cp3 FOO",
    "SET cx 1 PX 1",
    "~COPY cx cx2",
    "SET cx3 1 PX 1",
    "~COPY cp cx3",
    "MOVE cp2 1",
    "MOVE cp 1",
    "MOVE nope 1",
    "MOVE cp 0",
    "MOVE cp x",
    "SET mx 1 PX 1",
    "~MOVE mx 2",
    "SELECT 2; SET mx2 1 PX 1; SELECT 0; SET mx2 v",
    "~MOVE mx2 2",
    "SWAPDB 0 1",
    "SWAPDB 1 0",
    "SWAPDB 2 2",
    "SWAPDB 0 16",
    "SWAPDB x 0",
    "EXPIRE r2 100 NX",
    "EXPIRE ap 100 NX",
    "EXPIRE ap 200 XX",
    "EXPIRE n 200 XX",
    "EXPIRE ap 50 GT",
    "EXPIRE ap 500 GT",
    "EXPIRE ap 600 LT",
    "EXPIRE ap 60 LT",
    "EXPIRE n 60 LT",
    // Not 60: a later `now + 60 s` may be a millisecond greater than the current expiry.
    "EXPIRE n 30 GT",
    "EXPIRE n 90 GT",
    "EXPIRE nope 100",
    "PEXPIRE f 100000",
    "PEXPIREAT f 99999999999999",
    "EXPIREAT f 9999999999 GT",
    "EXPIREAT f 1",
    "EXPIRE n -1",
    "EXPIRE nope -1",
    "PERSIST s4",
    "PERSIST s3",
    "PERSIST s3",
    "PERSIST nope",
    "SET ex5 1 PX 1",
    "~PERSIST ex5",
    "SET ex6 1 PX 1",
    "~EXPIRE ex6 100",
    "SET ex7 1 PX 1",
    "~DEL ex7",
    "SELECT 1; SET a 1; INCR a; SADD s a b; DEL a; FLUSHDB",
    "SELECT 2; FLUSHDB",
    "SELECT 2; FLUSHDB ASYNC",
    "SELECT 3; SET a 1; SET b 2; FLUSHDB SYNC",
    "SELECT 4; SET a 1; RENAME a b; EXPIRE b 10; PERSIST b; UNLINK b",
    "SELECT 0",
    // Lists.
    "LPUSH l a b c",
    "RPUSH l d e f a",
    "LPUSH l",
    "LPOP nope",
    "LPOP l",
    "RPOP l 2",
    "LPOP l 0",
    "RPOP nope 3",
    "LSET l 0 x",
    "LSET l 99 x",
    "LSET nope 0 x",
    "LREM l 0 nope",
    "LREM l 1 x",
    "RPUSH l2 a b a c a",
    "LREM l2 -2 a",
    "LREM l2 0 a",
    "LREM l2 0 b",
    "LREM l2 0 c",
    "RPUSH l3 1 2 3",
    "LMOVE l3 l3 LEFT RIGHT",
    "LMOVE l3 l4 RIGHT LEFT",
    "LMOVE nope l4 LEFT LEFT",
    "RPOPLPUSH l3 l4",
    "RPOPLPUSH l3 l4",
    "RPOPLPUSH l3 l4",
    "RPOPLPUSH l4 l4",
    "LMPOP 2 nope l4 LEFT",
    "LMPOP 2 nope l4 RIGHT COUNT 10",
    "LMPOP 1 nope LEFT",
    "LPUSH l ''",
    "LPOP s3",
    "RPUSH lt a b c d e f",
    "LTRIM lt 1 -2",
    "LTRIM lt 0 -1",
    "LTRIM nope 0 1",
    "LTRIM lt 5 1",
    "LTRIM s3 0 1",
    "LTRIM lt x 1",
    "RPUSH li a b c",
    "LINSERT li BEFORE b x",
    "LINSERT li AFTER c y",
    "LINSERT li AFTER nope x",
    "LINSERT nope AFTER a x",
    "LINSERT li MIDDLE a x",
    "SET lx 1 PX 1",
    "~LTRIM lx 0 1",
    "SET lx2 1 PX 1",
    "~LINSERT lx2 BEFORE a b",
    // Hashes.
    "HSET h f1 a f2 b",
    "HSET h f1 a f3 c",
    "HSET h f1 a",
    "HDEL h f1 nope",
    "HDEL h nope",
    "HDEL nope f",
    "HINCRBY h n 5",
    "HINCRBY h n 0",
    "HINCRBY h2 n -1",
    "HINCRBY h f2 1",
    "HDEL h f2 f3 n",
    "HDEL h2 n",
    "HMSET hm f1 a f2 b",
    "HMSET hm f1 a",
    "HMSET hm f1",
    "HSETNX hm f1 x",
    "HSETNX hm f3 x",
    "HSETNX hnx f v",
    "HINCRBYFLOAT hm fl 1.5",
    "HINCRBYFLOAT hm fl 0",
    "HINCRBYFLOAT hm f1 1",
    "HINCRBYFLOAT hm fl inf",
    "HINCRBYFLOAT hnew f -2.5",
    "SET hx 1 PX 1",
    "~HINCRBYFLOAT hx f 1",
    "SET hx2 1 PX 1",
    "~HSETNX hx2 f v",
    // Sets.
    "SADD s a b c d e f g",
    "SADD s a",
    "SADD s a h i",
    "SREM s nope",
    "SREM s a b nope",
    "SREM nope a",
    "?SPOP s",
    "?SPOP s 2",
    "SPOP s 0",
    "SPOP nope",
    "SPOP nope 2",
    "SADD s2 1 2 3",
    "SPOP s2 10",
    "SADD s2 1",
    "SPOP s2",
    "SADD sa a b c",
    "SADD sb b c d",
    "SINTERSTORE dst sa sb",
    "SINTERSTORE dst sa nope",
    "SINTERSTORE dst sa nope",
    "SDIFFSTORE dst sa sb",
    "SDIFFSTORE dst sa sa",
    "SDIFFSTORE dst sa sa",
    "SUNIONSTORE dst sa sb",
    "SUNIONSTORE dst nope nope2",
    "SUNIONSTORE dst nope",
    "SINTERSTORE sa sa sb",
    "SADD sm1 a b c",
    "SADD sm2 c",
    "SMOVE sm1 sm2 a",
    "SMOVE sm1 sm2 c",
    "SMOVE sm1 sm2 nope",
    "SMOVE sm1 sm1 b",
    "SMOVE nope sm2 a",
    "SMOVE sm1 sm3 b",
    "SMOVE sm2 s3 a",
    "SET smx 1 PX 1",
    "~SMOVE sm2 smx a",
    // Sorted sets.
    "ZADD z 1 a 2 b 3 c 4 d 5 e",
    "ZADD z 1 a",
    "ZADD z 10 a 20 f",
    "ZADD z NX 100 a 6 g",
    "ZADD z XX 100 a 7 h",
    "ZADD z XX CH 100 a",
    "ZADD z GT 1 a",
    "ZADD z LT 1 a",
    "ZADD z INCR 5 b",
    "ZADD z INCR 0 b",
    "ZADD z NX INCR 5 b",
    "ZADD nope XX 1 a",
    "ZINCRBY z 2 c",
    "ZINCRBY z 0 c",
    "ZINCRBY z2 1 m",
    "ZREM z a nope",
    "ZREM z nope",
    "ZREM nope a",
    "ZREM z2 m",
    "ZPOPMAX z",
    "ZPOPMIN z 2",
    "ZPOPMAX z 0",
    "ZPOPMIN nope",
    "ZPOPMAX z 100",
    "ZADD z 1 a 2 b 3 c 4 d",
    "ZMPOP 2 nope z MIN",
    "ZMPOP 1 z MAX COUNT 2",
    "ZMPOP 1 nope MIN",
    "ZADD za 1 a 2 b 3 c",
    "ZADD zb 1 b 2 c 3 d",
    "ZUNIONSTORE zd 2 za zb",
    "ZINTERSTORE zd 2 za zb",
    "ZINTERSTORE zd 2 za nope",
    "ZINTERSTORE zd 2 za nope",
    "ZDIFFSTORE zd 2 za zb",
    "ZDIFFSTORE zd 1 nope",
    "ZDIFFSTORE zd 1 nope",
    "ZUNIONSTORE zd 1 nope",
    "ZUNIONSTORE zd 2 sa za",
    "ZADD zr 1 a 2 b 3 c 4 d 5 e",
    "ZREMRANGEBYSCORE zr 1 2",
    "ZREMRANGEBYSCORE zr 10 20",
    "ZREMRANGEBYSCORE zr a b",
    "ZREMRANGEBYRANK zr 0 0",
    "ZREMRANGEBYRANK zr 5 1",
    "ZADD zl 0 a 0 b 0 c",
    "ZREMRANGEBYLEX zl [a (c",
    "ZREMRANGEBYLEX zl a b",
    "ZREMRANGEBYLEX zl - +",
    "ZREMRANGEBYRANK zr 0 -1",
    "SET zx 1 PX 1",
    "~ZREMRANGEBYSCORE zx 0 1",
    "SET zx2 1 PX 1",
    "~ZREMRANGEBYLEX zx2 - +",
    "ZADD zrs 1 a 2 b 3 c",
    "ZRANGESTORE zrd zrs 0 -1",
    "ZRANGESTORE zrd zrs 0 1 BYSCORE",
    "ZRANGESTORE zrd zrs 5 9",
    "ZRANGESTORE zrd zrs 5 9",
    "ZRANGESTORE zrd nope 0 -1",
    "ZRANGESTORE zrd zrs 0 -1 LIMIT 0 1",
    "SET zrstr v; ZRANGESTORE zrd zrstr 0 -1",
    "SET zrx 1 PX 1",
    "~ZRANGESTORE zrd zrx 0 -1",
    "SET zrx2 1 PX 1",
    "~ZRANGESTORE zrx2 nope 0 -1",
    // LPUSHX / RPUSHX: one per element, to existing lists only.
    "LPUSHX pxl a b",
    "RPUSHX pxl a",
    "RPUSH pxl m",
    "LPUSHX pxl a b c",
    "RPUSHX pxl x",
    "SET pxs v; LPUSHX pxs a",
    "RPUSHX pxs a",
    "LPUSHX pxl",
    "RPUSH pxe a; PEXPIRE pxe 1",
    "~RPUSHX pxe b",
    "SET pxe2 1 PX 1",
    "~LPUSHX pxe2 b",
    // TOUCH is not a write: nothing, even when it deletes an expired key.
    "TOUCH pxl pxs nope",
    "SET tx 1 PX 1",
    "~TOUCH tx pxl",
    // HyperLogLog.
    "PFADD p a b c",
    "PFADD p a",
    "PFADD p",
    "PFADD p2",
    "PFADD p2",
    "PFCOUNT p",
    "PFCOUNT p",
    "PFADD p d",
    "PFCOUNT p p2",
    "PFCOUNT p",
    "PFCOUNT nope",
    "PFMERGE p3 p p2",
    "PFMERGE p3",
    "PFMERGE p4",
    "PFMERGE p4 nope",
    "PFCOUNT p3",
    // Errors change nothing.
    "SET s1 v EX 0",
    "SETEX s1 -1 v",
    "SET l v GET",
    "SET i 9223372036854775807; INCR i",
    "SET fl 1e308; INCRBYFLOAT fl 1e308",
    "APPEND l x",
    "GETDEL l",
    "GETSET l v",
    "MSET a",
    "HSET h big 9223372036854775807; HINCRBY h big 1",
    "HSET l f v",
    "ZADD z INCR 1 a 2 b",
    "ZADD z NX XX 1 a",
    "ZADD z nan a",
    "ZINCRBY l 1 a",
    "ZPOPMIN z -1",
    "LMPOP 1 l LEFT COUNT 0",
    "SINTERSTORE dst l sa",
    "SET notahll x; PFADD notahll a",
    "PFCOUNT notahll",
    "PFMERGE p3 notahll",
    "PFMERGE notahll p3",
    "RENAME nope nope",
    "EXPIRE l abc",
    // More shapes.
    "ZUNIONSTORE zd 2 za zb WEIGHTS 2 3 AGGREGATE MAX",
    "ZINTERSTORE zd 1 sa",
    "RPUSH l5 a b c; RPOP l5 100",
    "RPUSH l6 a; LMOVE l6 l6 LEFT LEFT; LMOVE l6 l7 LEFT LEFT",
    "SET ex8 1 PX 1",
    "~RENAME ex8 y",
    "SET ex9 1 PX 1",
    "~SADD ex9 a b",
    "SET ex10 1 PX 1",
    "~PFADD ex10 a",
    "SET ex11 1 PX 1",
    "~LPUSH ex11 a b c",
    "SET ex12 1 PX 1",
    "~ZADD ex12 1 a",
    "SET ex13 1 PX 1",
    "~HSET ex13 f v",
    "SET ex14 1 PX 1",
    "~GETDEL ex14",
    "SET ex15 1 PX 1",
    "~SUNIONSTORE ex15 sa",
    "SET ex16 1 PX 1",
    "~PFCOUNT ex16",
    "SET txt abc; MULTI; SET t 1; INCR txt; LPUSH txt a; SADD t2 a b; EXEC",
    "MULTI; SET t 1; NOSUCHCMD; EXEC",
    "MULTI; EXEC",
    "SELECT 5; SET a 1; SADD b x y; SELECT 0; SET c 1",
    "FLUSHALL",
    // Dense HyperLogLogs (the sparse form is cut at 3000 bytes).
    "PFADD big ELEMENTS",
    "PFADD big e1 e2 e3",
    "PFCOUNT big",
    "PFCOUNT big",
    "PFADD big new1",
    "PFADD small a",
    "PFMERGE small big",
    "PFMERGE small",
    "PFCOUNT small",
    "PFCOUNT big small",
    // Databases.
    "FLUSHDB",
    "FLUSHDB",
    "SET a 1",
    "FLUSHALL",
    "FLUSHALL",
    "FLUSHALL ASYNC",
];

/// Runs [`EVERY_WRITE`] on a master with one replica: after each step, the step, the
/// master's last reply, and both `rdb_changes_since_last_save`.
fn every_write(kind: &str) -> Vec<(String, String, [String; 2])> {
    let elements: Vec<String> = (0..5000).map(|i| format!("e{i}")).collect();
    let elements = elements.join(" ");
    let start = || {
        let args = ["--enable-debug-command", "yes", "--save", ""];
        if kind == "redis" {
            Server::redis(&args)
        } else {
            Server::replscope(&args)
        }
    };
    let master = start();
    let replica = start();
    replica.replicate(&master);
    let servers = [&master, &replica];
    assert_eq!(
        master.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        Reply::ok()
    );
    let mut seen = Vec::new();
    for step in EVERY_WRITE {
        let (random, step) = match step.strip_prefix('?') {
            Some(rest) => (true, rest),
            None => (false, *step),
        };
        let text = step.trim_start_matches('~');
        if text.len() != step.len() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = text.replace("ELEMENTS", &elements);
        let cmds: Vec<Vec<String>> = text
            .split(';')
            .map(|cmd| {
                cmd.split_whitespace()
                    .map(|a| {
                        if a == "''" {
                            String::new()
                        } else {
                            a.to_string()
                        }
                    })
                    .collect()
            })
            .collect();
        let replies = support::pipeline(master.port, &cmds);
        wait_offsets_equal(&servers);
        let last = if random {
            "(random)".to_string()
        } else {
            format!("{:?}", replies.last().unwrap())
        };
        let changes = servers.map(|s| s.info("persistence", "rdb_changes_since_last_save"));
        let text = text.replace(&elements, "e0 … e4999");
        seen.push((text, last, changes));
    }
    seen
}

/// Each step of [`EVERY_WRITE`] adds to the master's and the replica's count what it adds on
/// Redis, and answers as Redis does; the whole table is printed, `!` marking a divergence.
#[test]
fn every_write_command_counts_as_redis_counts_it() {
    let redis = every_write("redis");
    let ours = every_write("replscope");
    assert_eq!(redis.len(), ours.len());
    let mut diverged = Vec::new();
    let mut last = (["0", "0"], ["0", "0"]);
    for (r, o) in redis.iter().zip(&ours) {
        // The count each step adds, on the master and on the replica.
        let add = |now: &[String; 2], before: [&str; 2]| {
            [0, 1].map(|i| now[i].parse::<i64>().unwrap() - before[i].parse::<i64>().unwrap())
        };
        let (radd, oadd) = (add(&r.2, last.0), add(&o.2, last.1));
        last = (
            [&r.2[0], &r.2[1]].map(|s| s.as_str()),
            [&o.2[0], &o.2[1]].map(|s| s.as_str()),
        );
        let mark = if radd == oadd { " " } else { "!" };
        let line = format!(
            "{mark} {:<45} redis +{radd:?} {:?}  ours +{oadd:?} {:?}  ({})",
            r.0, r.2, o.2, r.1
        );
        if radd != oadd || r.1 != o.1 {
            diverged.push(format!("{line}  ours replied {}", o.1));
        }
        eprintln!("{line}");
    }
    assert!(
        diverged.is_empty(),
        "steps adding differently (or replying differently):\n{}",
        diverged.join("\n")
    );
}
