//! Unit tests: relative-time rewrites, expiry views, lazyfree, SPOP, SCAN, active expiry,
//! error formatting, and a no-panic property over arbitrary argv. Exact replies of the
//! common cases are checked against real Redis in `tests/commands_golden.rs`.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::engine::keyspace::Value;

const NOW: u64 = 1_700_000_000_000;

fn argv(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|s| s.as_bytes().to_vec()).collect()
}

struct Node {
    ks: Keyspace,
    db: usize,
    now: u64,
    rng: ChaCha8Rng,
    view: ExpireView,
    lazy_expire: bool,
}

impl Node {
    fn new(view: ExpireView) -> Self {
        Node {
            ks: Keyspace::default(),
            db: 0,
            now: NOW,
            rng: ChaCha8Rng::seed_from_u64(1),
            view,
            lazy_expire: false,
        }
    }

    fn run(&mut self, line: &str) -> (Reply, Vec<Vec<String>>) {
        let args = argv(line);
        let Some(spec) = lookup(&args[0]) else {
            return (unknown_command(&args), Vec::new());
        };
        if !spec.arity_ok(args.len()) {
            return (wrong_arity(spec.name), Vec::new());
        }
        let mut ctx = ExecCtx::new(&mut self.ks, self.db, self.now, self.view, &mut self.rng);
        ctx.lazyfree_lazy_expire = self.lazy_expire;
        let (reply, ops) = execute(&mut ctx, spec, &args);
        self.db = ctx.db;
        let ops = wrap_unit(ops, spec)
            .into_iter()
            .map(|op| {
                op.argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect();
        (reply, ops)
    }

    fn reply(&mut self, line: &str) -> Reply {
        self.run(line).0
    }

    fn ops(&mut self, line: &str) -> Vec<String> {
        self.run(line)
            .1
            .into_iter()
            .map(|op| op.join(" "))
            .collect()
    }
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// SETRANGE obeys its master past `proto-max-bulk-len` (`mustObeyClient`), but never builds
/// a string past the engine's 512 MB budget, from anyone: an offset near 2^63 is an error,
/// not a failed allocation.
#[test]
fn setrange_never_builds_a_string_past_its_budget() {
    let too_big =
        Reply::Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into());
    for view in [ExpireView::Master, ExpireView::MasterClient] {
        let mut node = Node::new(view);
        assert_eq!(node.reply("SETRANGE k 9223372036854775807 x"), too_big);
        assert_eq!(node.reply("SETRANGE k 536870912 x"), too_big);
        assert_eq!(node.reply("EXISTS k"), Reply::Integer(0));
        assert_eq!(node.reply("SETRANGE k 3 x"), Reply::Integer(4));
    }
}

/// SETBIT and BITFIELD obey their master past `proto-max-bulk-len` (`mustObeyClient`), but
/// never build a string past 512 MB (plus a BITFIELD field's reach), from anyone: they
/// answer the offset's error instead of allocating.
#[test]
fn bit_commands_never_build_a_string_past_their_budget() {
    let bad_offset = Reply::Error("ERR bit offset is not an integer or out of range".into());
    for view in [ExpireView::Master, ExpireView::MasterClient] {
        let mut node = Node::new(view);
        assert_eq!(node.reply("SETBIT k 9223372036854775807 1"), bad_offset);
        assert_eq!(node.reply("SETBIT k 4294967368 1"), bad_offset);
        assert_eq!(node.reply("BITFIELD k SET u8 #536870920 1"), bad_offset);
        assert_eq!(
            node.reply("BITFIELD k SET i64 9223372036854775807 1"),
            bad_offset
        );
        assert_eq!(node.reply("EXISTS k"), Reply::Integer(0));
        // Reading far away allocates nothing (a client may not read there at all).
        let far = if view == ExpireView::Master {
            bad_offset.clone()
        } else {
            Reply::Integer(0)
        };
        assert_eq!(node.reply("GETBIT k 4294967368"), far);
        let field = match far {
            Reply::Integer(_) => Reply::Array(vec![far]),
            error => error,
        };
        assert_eq!(node.reply("BITFIELD_RO k GET i64 #67108865"), field);
        assert_eq!(node.reply("SETBIT k 9 1"), Reply::Integer(0));
        assert_eq!(node.reply("STRLEN k"), Reply::Integer(2));
    }
    // A client is refused at its `proto-max-bulk-len` (the page's 16 MB), the master link is not.
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (view, want) in [
        (ExpireView::Master, bad_offset.clone()),
        (ExpireView::MasterClient, Reply::Integer(0)),
    ] {
        let mut ctx = ExecCtx::new(&mut ks, 0, NOW, view, &mut rng);
        ctx.proto_max_bulk_len = 1024;
        let spec = lookup(b"setbit").unwrap();
        let (reply, _) = execute(&mut ctx, spec, &argv("SETBIT big 8192 1"));
        assert_eq!(reply, want);
    }
}

#[test]
fn relative_expires_propagate_as_absolute() {
    let mut n = Node::new(ExpireView::Master);
    assert_eq!(n.ops("SET k v EX 100"), ["SET k v PXAT 1700000100000"]);
    assert_eq!(n.ops("SET k v PX 5 NX"), Vec::<String>::new());
    assert_eq!(n.ops("set k v px 5 xx get"), ["SET k v PXAT 1700000000005"]);
    assert_eq!(n.ops("SETEX k 10 v"), ["SET k v PXAT 1700000010000"]);
    assert_eq!(n.ops("PSETEX k 10 v"), ["SET k v PXAT 1700000000010"]);
    assert_eq!(n.ops("EXPIRE k 100"), ["PEXPIREAT k 1700000100000"]);
    assert_eq!(
        n.ops("pexpire k 200000 gt"),
        ["PEXPIREAT k 1700000200000 gt"]
    );
    assert_eq!(
        n.ops("EXPIREAT k 1800000000"),
        ["PEXPIREAT k 1800000000000"]
    );
    assert_eq!(
        n.ops("PEXPIREAT k 1800000000001"),
        ["PEXPIREAT k 1800000000001"]
    );
    assert_eq!(n.reply("TTL k"), Reply::Integer(100_000_000));
    assert_eq!(n.reply("PTTL k"), Reply::Integer(100_000_000_001));
    assert_eq!(n.ops("set k v get"), ["set k v"]);
    assert_eq!(n.ops("set k v keepttl"), ["set k v keepttl"]);
}

#[test]
fn ttl_rounds_to_nearest_second() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SET k v PX 1499");
    assert_eq!(n.reply("TTL k"), Reply::Integer(1));
    n.reply("SET k v PX 1500");
    assert_eq!(n.reply("TTL k"), Reply::Integer(2));
}

#[test]
fn master_lazy_expiry_deletes_and_propagates_first() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SET k v PX 10");
    n.now += 11;
    assert_eq!(n.run("GET k"), (Reply::Nil, vec![argv_s("DEL k")]));
    n.reply("SET k v PX 10");
    n.now += 11;
    assert_eq!(
        n.ops("SET k w"),
        ["MULTI", "DEL k", "SET k w"]
            .into_iter()
            .chain(["EXEC"])
            .collect::<Vec<_>>()
    );
    n.lazy_expire = true;
    n.reply("SET k v PX 10");
    n.now += 11;
    assert_eq!(n.ops("EXISTS k"), ["UNLINK k"]);
    assert_eq!(n.reply("DBSIZE"), Reply::Integer(0));
    // A key is expired only once `now > when`.
    n.reply("SET k v PX 10");
    n.now += 10;
    assert_eq!(n.reply("GET k"), bulk("v"));
}

fn argv_s(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

#[test]
fn scan_and_randomkey_are_never_wrapped() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SET a 1 PX 1");
    n.reply("SET b 1 PX 1");
    n.reply("SET c 1");
    n.now += 5;
    let ops = n.ops("SCAN 0 COUNT 100");
    assert_eq!(ops.len(), 2);
    assert!(ops.iter().all(|o| o.starts_with("DEL ")));
    assert_eq!(n.reply("RANDOMKEY"), bulk("c"));
}

#[test]
fn replica_views() {
    let mut n = Node::new(ExpireView::MasterClient);
    n.reply("SET k v PX 10");
    n.reply("RPUSH l a");
    n.reply("PEXPIRE l 10");
    n.now += 100;
    // The master link sees the keys.
    assert_eq!(n.reply("GET k"), bulk("v"));
    assert_eq!(n.reply("TTL k"), Reply::Integer(0));
    // Normal clients on the replica do not, yet nothing is deleted.
    n.view = ExpireView::Replica;
    assert_eq!(n.run("GET k"), (Reply::Nil, vec![]));
    assert_eq!(n.reply("EXISTS k l"), Reply::Integer(0));
    assert_eq!(n.reply("TTL k"), Reply::Integer(-2));
    assert_eq!(n.reply("TYPE l"), Reply::Simple("none".into()));
    assert_eq!(n.reply("KEYS *"), Reply::Array(vec![]));
    assert_eq!(n.reply("DBSIZE"), Reply::Integer(2));
    // The master's DEL removes it.
    n.view = ExpireView::MasterClient;
    assert_eq!(n.reply("DEL k"), Reply::Integer(1));
    // On a replica an expire in the past is stored, not turned into a DEL.
    assert_eq!(n.ops("PEXPIREAT l 1"), ["PEXPIREAT l 1"]);
    assert_eq!(n.reply("DBSIZE"), Reply::Integer(1));
}

/// Replication-3's "PFCOUNT updates cache on readonly replica" and "PFCOUNT doesn't use
/// expired key on readonly replica", at the engine level.
#[test]
fn pfcount_writes_its_cache_once_and_ignores_expired_keys_on_replicas() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("PFADD h a b c d e f g h i j k l m n o p q");
    assert_eq!(
        n.run("PFCOUNT h"),
        (Reply::Integer(17), vec![argv_s("PFCOUNT h")])
    );
    assert_eq!(n.run("PFCOUNT h"), (Reply::Integer(17), vec![]), "cached");
    assert_eq!(n.run("PFCOUNT h nokey"), (Reply::Integer(17), vec![]));
    assert_eq!(n.ops("PFADD h a"), Vec::<String>::new());
    assert_eq!(n.ops("PFADD h zz"), ["PFADD h zz"]);
    n.view = ExpireView::MasterClient;
    n.reply("PEXPIRE h 10");
    n.now += 11;
    n.view = ExpireView::Replica;
    assert_eq!(n.run("PFCOUNT h"), (Reply::Integer(0), vec![]));
    assert_eq!(n.reply("DBSIZE"), Reply::Integer(1), "not deleted");
}

/// Stores read their sources with read lookups and their destination with a write lookup:
/// on a master an expired destination is deleted (and propagated) before the store.
#[test]
fn stores_expire_their_keys_like_redis() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SADD a 1 2");
    n.reply("SET dst v PX 10");
    n.reply("SET src v PX 10");
    n.now += 11;
    assert_eq!(
        n.ops("SUNIONSTORE dst src a"),
        [
            "MULTI",
            "DEL src",
            "DEL dst",
            "SUNIONSTORE dst src a",
            "EXEC"
        ]
    );
    assert_eq!(
        n.reply("SMEMBERS dst"),
        Reply::Array(vec![bulk("1"), bulk("2")])
    );
    n.reply("RPUSH l x");
    n.reply("SET l2 v PX 10");
    n.now += 11;
    assert_eq!(
        n.ops("LMOVE l l2 LEFT RIGHT"),
        ["MULTI", "DEL l2", "LMOVE l l2 LEFT RIGHT", "EXEC"]
    );
    assert_eq!(n.reply("EXISTS l"), Reply::Integer(0));
}

#[test]
fn expire_in_the_past_on_master_is_a_del() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SET k v");
    assert_eq!(
        n.run("EXPIRE k -1"),
        (Reply::Integer(1), vec![argv_s("DEL k")])
    );
    n.lazy_expire = true;
    n.reply("SET k v");
    assert_eq!(n.ops("PEXPIREAT k 5"), ["UNLINK k"]);
}

#[test]
fn getdel_getset_incrbyfloat_rewrites() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SET k 1 EX 100");
    assert_eq!(n.run("GETSET k 2"), (bulk("1"), vec![argv_s("SET k 2")]));
    assert_eq!(n.reply("TTL k"), Reply::Integer(-1));
    n.reply("EXPIRE k 100");
    assert_eq!(
        n.run("INCRBYFLOAT k 0.5"),
        (bulk("2.5"), vec![argv_s("SET k 2.5 KEEPTTL")])
    );
    assert_eq!(n.reply("TTL k"), Reply::Integer(100));
    assert_eq!(n.run("GETDEL k"), (bulk("2.5"), vec![argv_s("DEL k")]));
    assert_eq!(n.run("GETDEL k"), (Reply::Nil, vec![]));
}

#[test]
fn spop_with_count_propagates_srems_in_multi() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("SADD s a b c d e f g h i j");
    let (reply, ops) = n.run("SPOP s 3");
    let Reply::Array(items) = reply else {
        panic!("array expected");
    };
    assert_eq!(items.len(), 3);
    assert_eq!(ops.len(), 5);
    assert_eq!(ops[0], ["MULTI"]);
    assert_eq!(ops[4], ["EXEC"]);
    for (op, item) in ops[1..4].iter().zip(&items) {
        assert_eq!(op[..2], ["SREM".to_string(), "s".to_string()]);
        assert_eq!(Reply::bulk(&op[2]), *item);
    }
    assert_eq!(n.reply("SCARD s"), Reply::Integer(7));
    // CASE 3 (few left): still SREMs, all popped members gone.
    let (_, ops) = n.run("SPOP s 6");
    assert_eq!(ops.len(), 8);
    assert_eq!(n.reply("SCARD s"), Reply::Integer(1));
    let (reply, ops) = n.run("SPOP s 1");
    assert!(matches!(reply, Reply::Array(ref v) if v.len() == 1));
    assert_eq!(ops, [argv_s("DEL s")]);
    n.reply("SADD t x y");
    let (reply, ops) = n.run("SPOP t");
    let Reply::Bulk(m) = reply else {
        panic!("bulk expected");
    };
    assert_eq!(
        ops,
        [vec![
            "SREM".into(),
            "t".into(),
            String::from_utf8_lossy(&m).into_owned()
        ]]
    );
}

#[test]
fn flushes_always_propagate() {
    let mut n = Node::new(ExpireView::Master);
    assert_eq!(n.ops("flushall async"), ["flushall async"]);
    assert_eq!(n.ops("FLUSHDB"), ["FLUSHDB"]);
    assert_eq!(n.ops("FLUSHDB x"), Vec::<String>::new());
}

#[test]
fn select_changes_db_of_ops() {
    let mut n = Node::new(ExpireView::Master);
    assert_eq!(n.reply("SELECT 5"), Reply::ok());
    let args = argv("SET k v");
    let spec = lookup(b"set").unwrap();
    let mut ctx = ExecCtx::new(&mut n.ks, n.db, NOW, ExpireView::Master, &mut n.rng);
    let (_, ops) = execute(&mut ctx, spec, &args);
    assert_eq!(ops[0].db, 5);
    assert!(n.ks.dbs[5].contains_key(b"k".as_slice()));
}

#[test]
fn scan_visits_every_stable_key_once_through() {
    let mut n = Node::new(ExpireView::Master);
    for i in 0..50 {
        n.reply(&format!("SET key{i} v"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let Reply::Array(parts) = n.reply(&format!("SCAN {cursor} COUNT 7")) else {
            panic!("array");
        };
        let (Reply::Bulk(c), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
            panic!("shape");
        };
        for k in keys {
            if let Reply::Bulk(k) = k {
                seen.insert(k.clone());
            }
        }
        // Churn between calls must not hide stable keys.
        n.reply(&format!("SET churn{rounds} v"));
        n.reply(&format!("DEL churn{}", rounds.max(1) - 1));
        cursor = String::from_utf8(c.clone()).unwrap();
        rounds += 1;
        if cursor == "0" || rounds > 100 {
            break;
        }
    }
    for i in 0..50 {
        assert!(
            seen.contains(format!("key{i}").as_bytes()),
            "key{i} missing"
        );
    }
    assert_eq!(
        n.reply("SCAN 0 MATCH key1* TYPE string COUNT 1000"),
        n.reply("SCAN 0 COUNT 1000 TYPE STRING MATCH key1*")
    );
}

#[test]
fn active_expire_deletes_within_a_second() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for i in 0..200u64 {
        ks.db_mut((i % 3) as usize).insert(
            format!("k{i}").into_bytes(),
            Entry {
                value: Value::String(b"v".to_vec()),
                expire_at_ms: Some(NOW as i64 + if i % 2 == 0 { 10 } else { 1_000_000 }),
            },
        );
    }
    let mut ops = Vec::new();
    let mut now = NOW + 11;
    for _ in 0..10 {
        ops.extend(active_expire_cycle(&mut ks, now, &mut rng, false));
        now += 100;
    }
    assert_eq!(ops.len(), 100);
    assert_eq!(ks.key_count(), 100);
    assert!(ops
        .iter()
        .all(|op| op.argv[0] == b"DEL" && op.argv.len() == 2));
    assert!(ops.iter().all(|op| op.db < 3));
    let lazy = active_expire_cycle(&mut ks, now + 10_000_000, &mut rng, true);
    assert!(!lazy.is_empty() && lazy.iter().all(|op| op.argv[0] == b"UNLINK"));
}

#[test]
fn error_formatting() {
    let long = "x".repeat(200);
    let Reply::Error(e) =
        unknown_command(&[b"foo".to_vec(), long.clone().into_bytes(), b"b".to_vec()])
    else {
        panic!()
    };
    assert_eq!(
        e,
        format!(
            "ERR unknown command 'foo', with args beginning with: '{}' ",
            "x".repeat(128)
        )
    );
    let Reply::Error(e) = unknown_command(&[b"a\r\nb".to_vec(), b"x\ny".to_vec()]) else {
        panic!()
    };
    assert_eq!(
        e,
        "ERR unknown command 'a  b', with args beginning with: 'x y' "
    );
    assert_eq!(
        unknown_command(&[b"nope".to_vec()]),
        Reply::error("ERR unknown command 'nope', with args beginning with: ")
    );
    assert_eq!(
        unknown_subcommand(&[b"config".to_vec(), b"foo".to_vec()]),
        Reply::error("ERR unknown subcommand 'foo'. Try CONFIG HELP.")
    );
    assert_eq!(
        wrong_arity("get"),
        Reply::error("ERR wrong number of arguments for 'get' command")
    );
}

#[test]
fn table_lookup_and_flags() {
    assert_eq!(lookup(b"GeT").map(|c| c.name), Some("get"));
    assert!(lookup(b"nope").is_none());
    let set = lookup(b"set").unwrap();
    assert!(set.is_write() && set.arity_ok(3) && set.arity_ok(9) && !set.arity_ok(2));
    assert!(!lookup(b"get").unwrap().is_write());
    let config = lookup(b"config").unwrap();
    assert_eq!(lookup_subcommand(config, b"GET").map(|c| c.arity), Some(-3));
    assert!(lookup_subcommand(config, b"nope").is_none());
    assert!(lookup(b"scan").unwrap().has(flags::TOUCHES_ARBITRARY_KEYS));
    assert!(lookup(b"psync").unwrap().has(flags::NO_MULTI));
    let names: std::collections::BTreeSet<_> = all().iter().map(|c| c.name).collect();
    assert_eq!(names.len(), all().len(), "duplicate table entries");
}

#[test]
fn empty_aggregates_disappear_and_wrongtype_applies() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("RPUSH l a");
    n.reply("HSET h f v");
    n.reply("SADD s m");
    n.reply("ZADD z 1 m");
    n.reply("RPOP l");
    n.reply("HDEL h f");
    n.reply("SREM s m");
    n.reply("ZREM z m");
    assert_eq!(n.reply("DBSIZE"), Reply::Integer(0));
    n.reply("SET str v");
    for cmd in [
        "LPUSH str a",
        "LRANGE str 0 1",
        "HGET str f",
        "SADD str m",
        "ZADD str 1 m",
        "ZRANGE str 0 1",
        "INCR str",
    ] {
        let expect = if cmd == "INCR str" {
            Reply::error("ERR value is not an integer or out of range")
        } else {
            Reply::error(util::WRONGTYPE)
        };
        assert_eq!(n.reply(cmd), expect, "{cmd}");
    }
    assert_eq!(n.reply("GET str"), bulk("v"));
}

/// A master context where blocking is allowed and keys are signalled as ready.
fn blocking_ctx<'a>(ks: &'a mut Keyspace, rng: &'a mut ChaCha8Rng) -> ExecCtx<'a> {
    let mut ctx = ExecCtx::new(ks, 0, NOW, ExpireView::Master, rng);
    ctx.deny_blocking = false;
    ctx.signal_ready = true;
    ctx
}

#[test]
fn blocking_commands_answer_the_timeout_null_where_they_may_not_block() {
    let mut n = Node::new(ExpireView::Master);
    assert_eq!(n.reply("BLPOP a b 0"), Reply::NilArray);
    assert_eq!(n.reply("BLMPOP 1 1 a LEFT"), Reply::NilArray);
    assert_eq!(n.reply("BZPOPMIN a 0"), Reply::NilArray);
    assert_eq!(n.reply("BZMPOP 0 1 a MIN"), Reply::NilArray);
    // BLMOVE and BRPOPLPUSH answer a null bulk, as LMOVE would.
    assert_eq!(n.reply("BLMOVE a b LEFT RIGHT 0"), Reply::Nil);
    assert_eq!(n.reply("BRPOPLPUSH a b 0"), Reply::Nil);
    assert!(n.ops("BLPOP a 0").is_empty());
}

#[test]
fn blocking_commands_acting_at_once_propagate_their_non_blocking_form() {
    let mut n = Node::new(ExpireView::Master);
    n.run("RPUSH l a b c d e f");
    assert_eq!(n.ops("BLPOP x l 0"), vec!["LPOP l"]);
    assert_eq!(n.ops("BRPOP l 1"), vec!["RPOP l"]);
    assert_eq!(n.ops("BLMPOP 0 1 l RIGHT COUNT 9"), vec!["RPOP l 4"]);
    n.run("RPUSH l a b");
    assert_eq!(n.ops("LMPOP 1 l LEFT"), vec!["LPOP l 1"]);
    assert_eq!(
        n.ops("BLMOVE l d Right left 0"),
        vec!["LMOVE l d Right left"]
    );
    assert_eq!(n.ops("BRPOPLPUSH d e 0"), vec!["RPOPLPUSH d e"]);
    n.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(n.ops("BZPOPMIN z 0"), vec!["ZPOPMIN z"]);
    assert_eq!(n.ops("BZMPOP 0 1 z MAX COUNT 5"), vec!["ZPOPMAX z 2"]);
    n.run("ZADD z 1 a 2 b 3 c");
    assert_eq!(n.ops("ZMPOP 1 z MIN COUNT 2"), vec!["ZPOPMIN z 2"]);
    assert_eq!(n.ops("ZPOPMAX z 7"), vec!["ZPOPMAX z 7"]);
    assert!(n.ops("ZPOPMAX z").is_empty(), "nothing left to pop");
}

#[test]
fn a_blocking_command_with_nothing_to_do_asks_to_block() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = blocking_ctx(&mut ks, &mut rng);
    let spec = lookup(b"blpop").unwrap();
    let (_, ops) = execute(&mut ctx, spec, &argv("BLPOP a b a 1.5"));
    assert!(ops.is_empty());
    assert_eq!(
        ctx.take_block(),
        Some(BlockRequest {
            keys: vec![b"a".to_vec(), b"b".to_vec()],
            op: BlockedOp::ListPop {
                from: End::Left,
                count: None
            },
            deadline_ms: Some(NOW + 1500),
        })
    );
    let spec = lookup(b"blmove").unwrap();
    execute(&mut ctx, spec, &argv("BLMOVE s d RIGHT LEFT 0"));
    let block = ctx.take_block().unwrap();
    assert_eq!(block.deadline_ms, None, "0 blocks until served");
    assert_eq!(block.keys, vec![b"s".to_vec()]);
}

#[test]
fn created_lists_and_sorted_sets_are_signalled_ready_once_in_order() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = blocking_ctx(&mut ks, &mut rng);
    for line in [
        "RPUSH b 1",
        "SET s 1",
        "ZADD a 1 m",
        "RPUSH b 2",
        "RENAME b c",
        "SADD t x",
    ] {
        let args = argv(line);
        execute(&mut ctx, lookup(&args[0]).unwrap(), &args);
    }
    let ready: Vec<String> = ctx
        .take_ready()
        .into_iter()
        .map(|(db, k)| format!("{db}:{}", String::from_utf8_lossy(&k)))
        .collect();
    assert_eq!(ready, vec!["0:b", "0:a", "0:c"]);
}

#[test]
fn serving_a_blocked_client_propagates_like_redis() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = blocking_ctx(&mut ks, &mut rng);
    let run = |ctx: &mut ExecCtx, line: &str| {
        let args = argv(line);
        execute(ctx, lookup(&args[0]).unwrap(), &args)
    };
    let show = |ops: Vec<Propagated>| -> Vec<String> {
        ops.iter()
            .map(|op| {
                op.argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    run(&mut ctx, "RPUSH l a b c");
    let pop = BlockedOp::ListPop {
        from: End::Right,
        count: Some(5),
    };
    let (served, ops) = serve_blocked(&mut ctx, b"l", &pop);
    assert_eq!(show(ops), vec!["RPOP l 3"]);
    assert!(served.deleted);
    assert_eq!(
        served.reply,
        Reply::Array(vec![
            bulk("l"),
            Reply::Array(vec![bulk("c"), bulk("b"), bulk("a")])
        ])
    );
    // A served BLMOVE propagates LMOVE with lowercase ends, after the deletion of its
    // lazily expired destination.
    run(&mut ctx, "RPUSH src x y");
    run(&mut ctx, "RPUSH dst old");
    run(&mut ctx, "PEXPIRE dst 100");
    ctx.now_ms += 200;
    let mv = BlockedOp::ListMove {
        dst: b"dst".to_vec(),
        from: End::Left,
        to: End::Right,
        rpoplpush: false,
    };
    let (served, ops) = serve_blocked(&mut ctx, b"src", &mv);
    assert_eq!(show(ops), vec!["DEL dst", "LMOVE src dst left right"]);
    assert_eq!((served.reply, served.deleted), (bulk("x"), false));
    let mv = BlockedOp::ListMove {
        dst: b"dst".to_vec(),
        from: End::Right,
        to: End::Left,
        rpoplpush: true,
    };
    let (_, ops) = serve_blocked(&mut ctx, b"src", &mv);
    assert_eq!(show(ops), vec!["RPOPLPUSH src dst"]);
    // The destination's push is a key made ready for others.
    assert!(ctx.take_ready().contains(&(0, b"dst".to_vec())));
    // A destination of another type: WRONGTYPE, nothing moves, nothing propagates.
    run(&mut ctx, "RPUSH src z");
    run(&mut ctx, "SET str v");
    let mv = BlockedOp::ListMove {
        dst: b"str".to_vec(),
        from: End::Left,
        to: End::Left,
        rpoplpush: false,
    };
    let (served, ops) = serve_blocked(&mut ctx, b"src", &mv);
    assert!(matches!(served.reply, Reply::Error(e) if e.starts_with("WRONGTYPE")));
    assert!(ops.is_empty());
    run(&mut ctx, "ZADD z 1 a 2 b");
    let zpop = BlockedOp::ZPop {
        end: ZEnd::Max,
        count: None,
    };
    let (served, ops) = serve_blocked(&mut ctx, b"z", &zpop);
    assert_eq!(show(ops), vec!["ZPOPMAX z"]);
    assert_eq!(
        served.reply,
        Reply::Array(vec![bulk("z"), bulk("b"), bulk("2")])
    );
    let zpop = BlockedOp::ZPop {
        end: ZEnd::Min,
        count: Some(3),
    };
    let (served, ops) = serve_blocked(&mut ctx, b"z", &zpop);
    assert_eq!(show(ops), vec!["ZPOPMIN z 1"]);
    assert!(served.deleted);
}

/// MOVE and COPY give the key its TTL with `setExpire` in the db it lands in, so a
/// writable replica remembers it there (to expire it itself); a TTL of exactly -1 reads as
/// none (`getExpire`) and is not carried. SWAPDB moves TTLs with the keys.
#[test]
fn moved_and_copied_ttls_are_remembered_in_their_new_db() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = ExecCtx::new(&mut ks, 0, NOW, ExpireView::Replica, &mut rng);
    for line in [
        "SET a v PX 100000",
        "MOVE a 3",
        "SET b v PX 100000",
        "COPY b b2 DB 5",
        "SET c v",
        "PEXPIREAT c -1",
        "COPY c c2 DB 6",
        "SWAPDB 3 4",
    ] {
        let args = argv(line);
        let (reply, _) = execute(&mut ctx, lookup(&args[0]).unwrap(), &args);
        assert!(!reply.is_error(), "{line}: {reply:?}");
    }
    let remembered: Vec<String> = std::mem::take(&mut ctx.expires_set)
        .into_iter()
        .map(|(db, k)| format!("{db}:{}", String::from_utf8_lossy(&k)))
        .collect();
    assert_eq!(remembered, ["0:a", "3:a", "0:b", "5:b2", "0:c"]);
    let ttl = |ks: &Keyspace, db: usize, key: &str| {
        ks.dbs[db].get(key.as_bytes()).map(|e| e.expire_at_ms)
    };
    assert_eq!(ttl(&ks, 4, "a"), Some(Some(NOW as i64 + 100_000)));
    assert_eq!(ttl(&ks, 3, "a"), None);
    assert_eq!(ttl(&ks, 5, "b2"), Some(Some(NOW as i64 + 100_000)));
    assert_eq!(ttl(&ks, 6, "c2"), Some(None));
}

/// SWAPDB notes both dbs for the node's rescan of blocked keys (`scanDatabaseForReadyKeys`)
/// when clients are blocked; swapping a db with itself rescans nothing.
#[test]
fn swapdb_notes_the_swapped_dbs_for_blocked_clients() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = blocking_ctx(&mut ks, &mut rng);
    for line in ["SWAPDB 0 9", "SWAPDB 2 2", "SWAPDB 15 1"] {
        let args = argv(line);
        execute(&mut ctx, lookup(&args[0]).unwrap(), &args);
    }
    assert_eq!(ctx.take_swapped(), [0, 9, 15, 1]);
    ctx.signal_ready = false;
    let args = argv("SWAPDB 0 1");
    execute(&mut ctx, lookup(&args[0]).unwrap(), &args);
    assert!(ctx.take_swapped().is_empty());
}

/// LPUSHX/RPUSHX only push to an existing list: they never `dbAdd`, so they never signal a
/// key as ready for blocked clients (a client cannot wait on a non-empty list anyway).
#[test]
fn pushx_never_signals_a_key_ready() {
    let mut ks = Keyspace::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut ctx = blocking_ctx(&mut ks, &mut rng);
    for line in [
        "LPUSHX a x",
        "RPUSHX a x y",
        "RPUSH b 1",
        "LPUSHX b 2",
        "RPUSHX b 3",
    ] {
        let args = argv(line);
        execute(&mut ctx, lookup(&args[0]).unwrap(), &args);
    }
    let ready: Vec<String> = ctx
        .take_ready()
        .into_iter()
        .map(|(db, k)| format!("{db}:{}", String::from_utf8_lossy(&k)))
        .collect();
    assert_eq!(ready, vec!["0:b"]);
    assert!(ks.dbs[0].get(b"a".as_slice()).is_none());
}

/// On a writable replica an expire in the past is stored and the key stays visible
/// (`keyIsExpired` ignores negative times): `getExpire`'s -1 reads as "no TTL" for TTL and
/// EXPIRETIME alike, any other negative time as 0 (`if (ttl < 0) ttl = 0`).
#[test]
fn negative_expire_times_read_as_redis_reads_them() {
    let mut n = Node::new(ExpireView::Replica);
    n.reply("SET c v");
    n.reply("SET d v");
    n.reply("PEXPIREAT c -1");
    n.reply("PEXPIREAT d -5");
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(n.reply(&format!("{cmd} c")), Reply::Integer(-1), "{cmd} c");
        assert_eq!(n.reply(&format!("{cmd} d")), Reply::Integer(0), "{cmd} d");
        assert_eq!(
            n.reply(&format!("{cmd} nokey")),
            Reply::Integer(-2),
            "{cmd}"
        );
    }
    n.reply("PEXPIREAT c 4102444800500");
    assert_eq!(n.reply("EXPIRETIME c"), Reply::Integer(4_102_444_801));
    assert_eq!(n.reply("PEXPIRETIME c"), Reply::Integer(4_102_444_800_500));
}

/// The read commands added with ZREVRANGE & co. take the range parsing of ZRANGE with the
/// direction and type fixed: the words that would choose them are syntax errors.
#[test]
fn fixed_range_commands_refuse_the_words_that_would_change_them() {
    let mut n = Node::new(ExpireView::Master);
    n.reply("ZADD z 1 a 2 b 3 c");
    let syntax = Reply::error("ERR syntax error");
    for line in [
        "ZREVRANGE z 0 -1 REV",
        "ZREVRANGE z 0 -1 BYSCORE",
        "ZRANGEBYSCORE z 0 1 BYLEX",
        "ZREVRANGEBYSCORE z 1 0 REV",
        "ZRANGEBYLEX z - + BYSCORE",
        "ZREVRANGEBYLEX z + - REV",
        "ZRANGE z 0 -1 REV REV",
    ] {
        assert_eq!(n.reply(line), syntax, "{line}");
    }
    assert_eq!(
        n.reply("ZREVRANGEBYSCORE z 3 (1"),
        Reply::Array(vec![bulk("c"), bulk("b")])
    );
    assert_eq!(
        n.reply("ZREVRANGEBYLEX z [b -"),
        Reply::Array(vec![bulk("b"), bulk("a")])
    );
    assert_eq!(n.reply("ZREVRANK z a"), Reply::Integer(2));
    assert!(
        n.ops("ZRANGEBYSCORE z 0 9").is_empty(),
        "reads never propagate"
    );
}

#[cfg(not(target_arch = "wasm32"))]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn arg() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"k".to_vec()),
            Just(b"-1".to_vec()),
            Just(b"0".to_vec()),
            Just(b"9223372036854775807".to_vec()),
            Just(b"-9223372036854775808".to_vec()),
            Just(b"inf".to_vec()),
            Just(b"(1".to_vec()),
            Just(b"[a".to_vec()),
            Just(b"1e308".to_vec()),
            Just(b"EX".to_vec()),
            Just(b"LIMIT".to_vec()),
            Just(b"WITHSCORES".to_vec()),
            Just(b"*".to_vec()),
            Just(b"[".to_vec()),
            Just(b"1".to_vec()),
            Just(b"DB".to_vec()),
            Just(b"REPLACE".to_vec()),
            Just(b"BYSCORE".to_vec()),
            Just(b"BYLEX".to_vec()),
            Just(b"REV".to_vec()),
            Just(b"RANK".to_vec()),
            Just(b"COUNT".to_vec()),
            Just(b"MAXLEN".to_vec()),
            Just(b"-".to_vec()),
            Just(b"+".to_vec()),
            Just(b"u8".to_vec()),
            Just(b"i64".to_vec()),
            Just(b"#1".to_vec()),
            Just(b"GET".to_vec()),
            Just(b"SET".to_vec()),
            Just(b"INCRBY".to_vec()),
            Just(b"OVERFLOW".to_vec()),
            Just(b"FAIL".to_vec()),
            Just(b"BIT".to_vec()),
            Just(b"AND".to_vec()),
            Just(b"IDX".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..6),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// No input makes any data command panic, and every reply encodes.
        #[test]
        fn data_commands_never_panic(
            cmds in proptest::collection::vec((0usize..200, proptest::collection::vec(arg(), 0..6)), 1..12),
            advance in 0u64..2000,
        ) {
            let mut ks = Keyspace::default();
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut db = 0;
            let data: Vec<&CommandSpec> =
                all().iter().filter(|c| matches!(c.handler, Handler::Data(_))).collect();
            for (i, (which, rest)) in cmds.into_iter().enumerate() {
                let spec = data[which % data.len()];
                let mut argv = vec![spec.name.as_bytes().to_vec()];
                argv.extend(rest);
                if !spec.arity_ok(argv.len()) {
                    continue;
                }
                let view = [ExpireView::Master, ExpireView::Replica, ExpireView::MasterClient][i % 3];
                let mut ctx = ExecCtx::new(&mut ks, db, NOW + advance * i as u64, view, &mut rng);
                let (reply, ops) = execute(&mut ctx, spec, &argv);
                db = ctx.db;
                let _ = reply.encode();
                prop_assert!(ops.iter().all(|op| op.db < DB_COUNT_FOR_TEST && !op.argv.is_empty()));
            }
        }
    }

    const DB_COUNT_FOR_TEST: usize = crate::engine::keyspace::DB_COUNT;
}
