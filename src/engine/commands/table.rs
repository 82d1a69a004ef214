//! The command table: names, arities and flags copied from Redis 7.0's
//! `src/commands/*.json` (tag 7.0.15).

use super::bitops as bit;
use super::flags::*;
use super::{
    blocking as b, hashes as h, keys as k, lists as l, sets as s, strings as st, zsets as z,
};
use super::{hyperloglog as hll, set_algebra as sa, zset_algebra as za};
use super::{slowlog::slowlog, streams::xinfo};
use super::{CommandSpec, Handler, Handler::Data, Handler::Node};

const fn cmd(name: &'static str, arity: i32, flags: u32, handler: Handler) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        handler,
        subcommands: &[],
    }
}

const ADMIN_CFG: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

/// `config` subcommands (config-*.json); all handled by the node.
static CONFIG_SUBCOMMANDS: [CommandSpec; 5] = [
    cmd("get", -3, ADMIN_CFG, Node),
    cmd("set", -4, ADMIN_CFG, Node),
    cmd("resetstat", 2, ADMIN_CFG, Node),
    cmd("rewrite", 2, ADMIN_CFG, Node),
    cmd("help", 2, LOADING | STALE, Node),
];

/// `slowlog` subcommands (slowlog-*.json).
static SLOWLOG_SUBCOMMANDS: [CommandSpec; 4] = [
    cmd("get", -2, ADMIN | LOADING | STALE, Data(slowlog)),
    cmd("len", 2, ADMIN | LOADING | STALE, Data(slowlog)),
    cmd("reset", 2, ADMIN | LOADING | STALE, Data(slowlog)),
    cmd("help", 2, LOADING | STALE, Data(slowlog)),
];

/// `xinfo` subcommands (xinfo-*.json).
static XINFO_SUBCOMMANDS: [CommandSpec; 4] = [
    cmd("consumers", 4, READONLY, Data(xinfo)),
    cmd("groups", 3, READONLY, Data(xinfo)),
    cmd("stream", -3, READONLY, Data(xinfo)),
    cmd("help", 2, LOADING | STALE, Data(xinfo)),
];

/// `client` subcommands replscope implements (client-*.json); handled by the node.
static CLIENT_SUBCOMMANDS: [CommandSpec; 7] = [
    cmd("id", 2, NOSCRIPT | LOADING | STALE, Node),
    cmd("info", 2, NOSCRIPT | LOADING | STALE, Node),
    cmd("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, Node),
    cmd("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, Node),
    cmd(
        "unblock",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL,
        Node,
    ),
    cmd("getname", 2, NOSCRIPT | LOADING | STALE, Node),
    cmd("setname", 3, NOSCRIPT | LOADING | STALE, Node),
];

static TABLE: &[CommandSpec] = &[
    // Strings (string family json files).
    cmd("get", 2, READONLY | FAST, Data(st::get)),
    cmd("set", -3, WRITE | DENYOOM, Data(st::set)),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, Data(st::setnx)),
    cmd("setex", 4, WRITE | DENYOOM, Data(st::setex)),
    cmd("psetex", 4, WRITE | DENYOOM, Data(st::psetex)),
    cmd("mset", -3, WRITE | DENYOOM, Data(st::mset)),
    cmd("mget", -2, READONLY | FAST, Data(st::mget)),
    cmd("getset", 3, WRITE | DENYOOM | FAST, Data(st::getset)),
    cmd("getdel", 2, WRITE | FAST, Data(st::getdel)),
    cmd("getex", -2, WRITE | FAST, Data(st::getex)),
    cmd("msetnx", -3, WRITE | DENYOOM, Data(st::msetnx)),
    cmd("setrange", 4, WRITE | DENYOOM, Data(st::setrange)),
    cmd("getrange", 4, READONLY, Data(st::getrange)),
    cmd("substr", 4, READONLY, Data(st::getrange)),
    cmd("lcs", -3, READONLY, Data(st::lcs)),
    cmd("incr", 2, WRITE | DENYOOM | FAST, Data(st::incr)),
    cmd("decr", 2, WRITE | DENYOOM | FAST, Data(st::decr)),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, Data(st::incrby)),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, Data(st::decrby)),
    cmd(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        Data(st::incrbyfloat),
    ),
    cmd("append", 3, WRITE | DENYOOM | FAST, Data(st::append)),
    cmd("strlen", 2, READONLY | FAST, Data(st::strlen)),
    cmd("echo", 2, LOADING | STALE | FAST, Data(st::echo)),
    // Bitmaps (bitops.c).
    cmd("setbit", 4, WRITE | DENYOOM, Data(bit::setbit)),
    cmd("getbit", 3, READONLY | FAST, Data(bit::getbit)),
    cmd("bitcount", -2, READONLY, Data(bit::bitcount)),
    cmd("bitpos", -3, READONLY, Data(bit::bitpos)),
    cmd("bitop", -4, WRITE | DENYOOM, Data(bit::bitop)),
    cmd("bitfield", -2, WRITE | DENYOOM, Data(bit::bitfield)),
    cmd("bitfield_ro", -2, READONLY | FAST, Data(bit::bitfield_ro)),
    // Keys and databases.
    cmd("del", -2, WRITE, Data(k::del)),
    cmd("unlink", -2, WRITE | FAST, Data(k::unlink)),
    cmd("exists", -2, READONLY | FAST, Data(k::exists)),
    cmd("type", 2, READONLY | FAST, Data(k::type_)),
    cmd("keys", 2, READONLY, Data(k::keys)),
    cmd("scan", -2, READONLY | TOUCHES_ARBITRARY_KEYS, Data(k::scan)),
    cmd("dbsize", 1, READONLY | FAST, Data(k::dbsize)),
    cmd("rename", 3, WRITE, Data(k::rename)),
    cmd("renamenx", 3, WRITE | FAST, Data(k::renamenx)),
    cmd("copy", -3, WRITE | DENYOOM, Data(k::copy)),
    cmd("move", 3, WRITE | FAST, Data(k::move_)),
    cmd("swapdb", 3, WRITE | FAST, Data(k::swapdb)),
    cmd("expire", -3, WRITE | FAST, Data(k::expire)),
    cmd("pexpire", -3, WRITE | FAST, Data(k::pexpire)),
    cmd("expireat", -3, WRITE | FAST, Data(k::expireat)),
    cmd("pexpireat", -3, WRITE | FAST, Data(k::pexpireat)),
    cmd("ttl", 2, READONLY | FAST, Data(k::ttl)),
    cmd("pttl", 2, READONLY | FAST, Data(k::pttl)),
    cmd("persist", 2, WRITE | FAST, Data(k::persist)),
    cmd("expiretime", 2, READONLY | FAST, Data(k::expiretime)),
    cmd("pexpiretime", 2, READONLY | FAST, Data(k::pexpiretime)),
    cmd("touch", -2, READONLY | FAST, Data(k::touch)),
    cmd("flushdb", -1, WRITE, Data(k::flushdb)),
    cmd("flushall", -1, WRITE, Data(k::flushall)),
    cmd(
        "randomkey",
        1,
        READONLY | TOUCHES_ARBITRARY_KEYS,
        Data(k::randomkey),
    ),
    cmd("select", 2, LOADING | STALE | FAST, Data(k::select)),
    // Lists.
    cmd("lpush", -3, WRITE | DENYOOM | FAST, Data(l::lpush)),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, Data(l::rpush)),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST, Data(l::lpushx)),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST, Data(l::rpushx)),
    cmd("lpos", -3, READONLY, Data(l::lpos)),
    cmd("lpop", -2, WRITE | FAST, Data(l::lpop)),
    cmd("rpop", -2, WRITE | FAST, Data(l::rpop)),
    cmd("lrange", 4, READONLY, Data(l::lrange)),
    cmd("llen", 2, READONLY | FAST, Data(l::llen)),
    cmd("lindex", 3, READONLY, Data(l::lindex)),
    cmd("lset", 4, WRITE | DENYOOM, Data(l::lset)),
    cmd("lrem", 4, WRITE, Data(l::lrem)),
    cmd("ltrim", 4, WRITE, Data(l::ltrim)),
    cmd("linsert", 5, WRITE | DENYOOM, Data(l::linsert)),
    cmd("lmove", 5, WRITE | DENYOOM, Data(l::lmove)),
    cmd("rpoplpush", 3, WRITE | DENYOOM, Data(l::rpoplpush)),
    cmd("lmpop", -4, WRITE, Data(l::lmpop)),
    cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, Data(b::blpop)),
    cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, Data(b::brpop)),
    cmd("blmpop", -5, WRITE | BLOCKING, Data(b::blmpop)),
    cmd(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        Data(b::brpoplpush),
    ),
    cmd(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        Data(b::blmove),
    ),
    // Hashes.
    cmd("hset", -4, WRITE | DENYOOM | FAST, Data(h::hset)),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, Data(h::hmset)),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, Data(h::hsetnx)),
    cmd("hget", 3, READONLY | FAST, Data(h::hget)),
    cmd("hmget", -3, READONLY | FAST, Data(h::hmget)),
    cmd("hdel", -3, WRITE | FAST, Data(h::hdel)),
    cmd("hgetall", 2, READONLY, Data(h::hgetall)),
    cmd("hlen", 2, READONLY | FAST, Data(h::hlen)),
    cmd("hkeys", 2, READONLY, Data(h::hkeys)),
    cmd("hvals", 2, READONLY, Data(h::hvals)),
    cmd("hstrlen", 3, READONLY | FAST, Data(h::hstrlen)),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, Data(h::hincrby)),
    cmd(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        Data(h::hincrbyfloat),
    ),
    cmd("hexists", 3, READONLY | FAST, Data(h::hexists)),
    // Sets.
    cmd("sadd", -3, WRITE | DENYOOM | FAST, Data(s::sadd)),
    cmd("srem", -3, WRITE | FAST, Data(s::srem)),
    cmd("smove", 4, WRITE | FAST, Data(s::smove)),
    cmd("smembers", 2, READONLY, Data(s::smembers)),
    cmd("sismember", 3, READONLY | FAST, Data(s::sismember)),
    cmd("smismember", -3, READONLY | FAST, Data(s::smismember)),
    cmd("scard", 2, READONLY | FAST, Data(s::scard)),
    cmd("spop", -2, WRITE | FAST, Data(s::spop)),
    cmd("sunion", -2, READONLY, Data(sa::sunion)),
    cmd("sunionstore", -3, WRITE | DENYOOM, Data(sa::sunionstore)),
    cmd("sinter", -2, READONLY, Data(sa::sinter)),
    cmd("sinterstore", -3, WRITE | DENYOOM, Data(sa::sinterstore)),
    cmd("sintercard", -3, READONLY, Data(sa::sintercard)),
    cmd("sdiff", -2, READONLY, Data(sa::sdiff)),
    cmd("sdiffstore", -3, WRITE | DENYOOM, Data(sa::sdiffstore)),
    // Sorted sets.
    cmd("zadd", -4, WRITE | DENYOOM | FAST, Data(z::zadd)),
    cmd("zrem", -3, WRITE | FAST, Data(z::zrem)),
    cmd("zremrangebyscore", 4, WRITE, Data(z::zremrangebyscore)),
    cmd("zremrangebyrank", 4, WRITE, Data(z::zremrangebyrank)),
    cmd("zremrangebylex", 4, WRITE, Data(z::zremrangebylex)),
    cmd("zscore", 3, READONLY | FAST, Data(z::zscore)),
    cmd("zcard", 2, READONLY | FAST, Data(z::zcard)),
    cmd("zrange", -4, READONLY, Data(z::zrange)),
    cmd("zrevrange", -4, READONLY, Data(z::zrevrange)),
    cmd("zrangebyscore", -4, READONLY, Data(z::zrangebyscore)),
    cmd("zrevrangebyscore", -4, READONLY, Data(z::zrevrangebyscore)),
    cmd("zrangebylex", -4, READONLY, Data(z::zrangebylex)),
    cmd("zrevrangebylex", -4, READONLY, Data(z::zrevrangebylex)),
    cmd("zcount", 4, READONLY | FAST, Data(z::zcount)),
    cmd("zlexcount", 4, READONLY | FAST, Data(z::zlexcount)),
    cmd("zrank", 3, READONLY | FAST, Data(z::zrank)),
    cmd("zrevrank", 3, READONLY | FAST, Data(z::zrevrank)),
    cmd("zmscore", -3, READONLY | FAST, Data(z::zmscore)),
    cmd("zrangestore", -5, WRITE | DENYOOM, Data(z::zrangestore)),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST, Data(z::zincrby)),
    cmd("zunion", -3, READONLY, Data(za::zunion)),
    cmd("zunionstore", -4, WRITE | DENYOOM, Data(za::zunionstore)),
    cmd("zinter", -3, READONLY, Data(za::zinter)),
    cmd("zinterstore", -4, WRITE | DENYOOM, Data(za::zinterstore)),
    cmd("zintercard", -3, READONLY, Data(za::zintercard)),
    cmd("zdiff", -3, READONLY, Data(za::zdiff)),
    cmd("zdiffstore", -4, WRITE | DENYOOM, Data(za::zdiffstore)),
    // HyperLogLog.
    cmd("pfadd", -2, WRITE | DENYOOM | FAST, Data(hll::pfadd)),
    cmd("pfcount", -2, READONLY | MAY_REPLICATE, Data(hll::pfcount)),
    cmd("pfmerge", -2, WRITE | DENYOOM, Data(hll::pfmerge)),
    // Streams (only XINFO: there is no stream type).
    CommandSpec {
        name: "xinfo",
        arity: -2,
        flags: 0,
        handler: Data(xinfo),
        subcommands: &XINFO_SUBCOMMANDS,
    },
    CommandSpec {
        name: "slowlog",
        arity: -2,
        flags: 0,
        handler: Data(slowlog),
        subcommands: &SLOWLOG_SUBCOMMANDS,
    },
    cmd("zpopmin", -2, WRITE | FAST, Data(z::zpopmin)),
    cmd("zpopmax", -2, WRITE | FAST, Data(z::zpopmax)),
    cmd("zmpop", -4, WRITE, Data(z::zmpop)),
    cmd(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        Data(b::bzpopmin),
    ),
    cmd(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        Data(b::bzpopmax),
    ),
    cmd("bzmpop", -5, WRITE | BLOCKING, Data(b::bzmpop)),
    // Handled by the node.
    cmd(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Node,
    ),
    cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, Node),
    cmd(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Node,
    ),
    cmd(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Node,
    ),
    cmd(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        Node,
    ),
    cmd("ping", -1, FAST | SENTINEL, Node),
    cmd("info", -1, LOADING | STALE | SENTINEL, Node),
    cmd(
        "role",
        1,
        NOSCRIPT | LOADING | STALE | FAST | SENTINEL,
        Node,
    ),
    CommandSpec {
        name: "config",
        arity: -2,
        flags: 0,
        handler: Node,
        subcommands: &CONFIG_SUBCOMMANDS,
    },
    cmd(
        "save",
        1,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | NO_MULTI,
        Node,
    ),
    cmd("bgsave", -1, NO_ASYNC_LOADING | ADMIN | NOSCRIPT, Node),
    cmd(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        Node,
    ),
    cmd("lastsave", 1, NOSCRIPT | LOADING | STALE | FAST, Node),
    cmd("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, Node),
    CommandSpec {
        name: "client",
        arity: -2,
        flags: 0,
        handler: Node,
        subcommands: &CLIENT_SUBCOMMANDS,
    },
    cmd(
        "replicaof",
        3,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE,
        Node,
    ),
    cmd(
        "slaveof",
        3,
        NO_ASYNC_LOADING | ADMIN | NOSCRIPT | STALE,
        Node,
    ),
    cmd("wait", 3, NOSCRIPT, Node),
    cmd(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        Node,
    ),
    cmd(
        "psync",
        -3,
        NO_ASYNC_LOADING | ADMIN | NO_MULTI | NOSCRIPT,
        Node,
    ),
    cmd(
        "sync",
        1,
        NO_ASYNC_LOADING | ADMIN | NO_MULTI | NOSCRIPT,
        Node,
    ),
    cmd("time", 1, LOADING | STALE | FAST, Node),
    cmd("command", -1, LOADING | STALE | SENTINEL, Node),
    cmd(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        Node,
    ),
];

/// Looks a command up by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    TABLE
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}

/// A container command's subcommand (`config get`), case-insensitively; `None` if `spec`
/// has no subcommands or the name is unknown (reply with `unknown_subcommand`).
pub fn lookup_subcommand(spec: &'static CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    spec.subcommands
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(sub))
}

/// Every top-level command (COMMAND COUNT counts these).
pub fn all() -> &'static [CommandSpec] {
    TABLE
}
