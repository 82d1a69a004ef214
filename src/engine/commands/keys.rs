//! Keyspace commands (db.c and expire.c, Redis 7.0).

use rand_chacha::rand_core::RngCore;

use super::util::{eq_ic, err, glob_match, i64_arg, int, syntax};
use super::ExecCtx;
use crate::engine::keyspace::{Db, Entry, DB_COUNT};
use crate::engine::resp::Reply;

/// `delGenericCommand`: `expireIfNeeded` first (which on a master deletes and propagates the
/// expired key itself), then delete what is left. Propagated as sent when anything was deleted.
fn del_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let mut deleted = 0;
    for key in &argv[1..] {
        ctx.expire_if_needed(key, false);
        if ctx.dbm().swap_remove(key).is_some() {
            ctx.modified(key);
            deleted += 1;
        }
    }
    ctx.dirty(deleted as u64);
    int(deleted)
}

pub fn del(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    del_generic(ctx, argv)
}

pub fn unlink(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    del_generic(ctx, argv)
}

pub fn exists(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let count = argv[1..]
        .iter()
        .filter(|k| ctx.lookup_read(k).is_some())
        .count();
    int(count)
}

pub fn type_(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let name = ctx
        .lookup_read(&argv[1])
        .map_or("none", |e| e.value.type_name());
    Reply::Simple(name.into())
}

/// KEYS walks the db in its insertion order (Redis: hash-table order) and hides logically
/// expired keys without deleting them (`keyIsExpired`), on masters and replicas alike.
pub fn keys(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let pattern = &argv[1];
    let all = pattern.as_slice() == b"*";
    let now = ctx.now_ms;
    let items = ctx
        .dbr()
        .iter()
        .filter(|(k, e)| (all || glob_match(pattern, k)) && !e.is_expired(now))
        .map(|(k, _)| Reply::bulk(k))
        .collect();
    Reply::Array(items)
}

/// FNV-1a 64: the fixed, platform-independent hash that orders SCAN.
fn scan_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `parseScanCursorOrReply`: `strtoul` (a leading `-` wraps, empty is 0), no leading space.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.first().is_some_and(|b| super::util::is_c_space(*b)) {
        return None;
    }
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return if arg.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN with a deterministic cursor: keys are visited in order of a fixed 64-bit hash
/// (FNV-1a) and the cursor is the hash of the next key to visit (0 = done). Like Redis's
/// reverse-binary cursor it guarantees that a key present for the whole iteration is
/// returned at least once, whatever is added or removed meanwhile. COUNT keys are visited
/// per call (before MATCH/TYPE filtering), as Redis visits about COUNT entries. Expired keys
/// are filtered through `expireIfNeeded` (deleted and propagated on a master, unwrapped:
/// SCAN is `TOUCHES_ARBITRARY_KEYS`).
pub fn scan(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let Some(cursor) = parse_cursor(&argv[1]) else {
        return err("ERR invalid cursor");
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let left = argv.len() - i;
        if eq_ic(&argv[i], "count") && left >= 2 {
            count = match i64_arg(&argv[i + 1]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if count < 1 {
                return syntax();
            }
            i += 2;
        } else if eq_ic(&argv[i], "match") && left >= 2 {
            let p = argv[i + 1].as_slice();
            pattern = if p == b"*" { None } else { Some(p) };
            i += 2;
        } else if eq_ic(&argv[i], "type") && left >= 2 {
            type_filter = Some(&argv[i + 1]);
            i += 2;
        } else {
            return syntax();
        }
    }
    let mut order: Vec<(u64, Vec<u8>)> = ctx
        .dbr()
        .keys()
        .map(|k| (scan_hash(k), k.clone()))
        .filter(|(h, _)| *h >= cursor)
        .collect();
    order.sort();
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    let next = order.get(take).map_or(0, |(h, _)| *h);
    let mut out = Vec::new();
    for (_, key) in order.into_iter().take(take) {
        if let Some(p) = pattern {
            if !glob_match(p, &key) {
                continue;
            }
        }
        if let Some(t) = type_filter {
            let name = ctx
                .lookup_read(&key)
                .map_or("none", |e| e.value.type_name());
            if !t.eq_ignore_ascii_case(name.as_bytes()) {
                continue;
            }
        }
        if ctx.expire_if_needed(&key, false) {
            continue;
        }
        out.push(Reply::bulk(&key));
    }
    Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)])
}

pub fn dbsize(ctx: &mut ExecCtx, _argv: &[Vec<u8>]) -> Reply {
    int(ctx.dbr().len())
}

/// `renameGenericCommand`: the source must exist ("ERR no such key", even when both names
/// are the same); the same name answers OK (RENAME) or 0 (RENAMENX) and changes nothing.
/// The value moves with its TTL (`setExpire`); RENAME overwrites the destination, RENAMENX
/// answers 0 if it exists. Propagated as sent when it moved the key.
fn rename_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], nx: bool) -> Reply {
    let (src, dst) = (&argv[1], &argv[2]);
    let done = |moved: bool| match (nx, moved) {
        (false, _) => Reply::ok(),
        (true, moved) => Reply::Integer(i64::from(moved)),
    };
    if ctx.lookup_write(src).is_none() {
        return err("ERR no such key");
    }
    if src == dst {
        return done(false);
    }
    if ctx.lookup_write(dst).is_some() && nx {
        return Reply::Integer(0);
    }
    let Some(entry) = ctx.dbm().swap_remove(src.as_slice()) else {
        return err("ERR no such key");
    };
    let expire = get_expire(&entry);
    let value = Entry {
        expire_at_ms: None,
        ..entry
    };
    add_with_expire(ctx, dst, value, expire);
    ctx.modified(src);
    ctx.modified(dst);
    ctx.dirty(1);
    done(true)
}

pub fn rename(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    rename_generic(ctx, argv, false)
}

pub fn renamenx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    rename_generic(ctx, argv, true)
}

#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// `parseExtendedExpireArgumentsOrReply`.
fn parse_expire_flags(argv: &[Vec<u8>]) -> Result<ExpireFlags, Reply> {
    let mut f = ExpireFlags::default();
    for opt in &argv[3..] {
        if eq_ic(opt, "nx") {
            f.nx = true;
        } else if eq_ic(opt, "xx") {
            f.xx = true;
        } else if eq_ic(opt, "gt") {
            f.gt = true;
        } else if eq_ic(opt, "lt") {
            f.lt = true;
        } else {
            let end = opt.iter().position(|&b| b == 0).unwrap_or(opt.len());
            return Err(Reply::Error(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(&opt[..end]).replace(['\r', '\n'], " ")
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(err(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(err(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// `expireGenericCommand`. Propagation: a time in the past (on a master) deletes the key and
/// propagates `DEL key` (`UNLINK` with lazyfree-lazy-expire); otherwise the command goes as
/// `PEXPIREAT key <abs-ms>` — PEXPIREAT itself keeps its argv (options included), the others
/// get argv[0] and argv[2] rewritten and keep their NX/XX/GT/LT arguments.
fn expire_generic(
    ctx: &mut ExecCtx,
    argv: &[Vec<u8>],
    relative: bool,
    seconds: bool,
    name: &str,
) -> Reply {
    let flags = match parse_expire_flags(argv) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let mut when = match i64_arg(&argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let invalid = || Reply::Error(format!("ERR invalid expire time in '{name}' command"));
    if seconds {
        when = match when.checked_mul(1000) {
            Some(w) => w,
            None => return invalid(),
        };
    }
    let base = if relative {
        i64::try_from(ctx.now_ms).unwrap_or(i64::MAX)
    } else {
        0
    };
    when = match when.checked_add(base) {
        Some(w) if base == 0 || when <= i64::MAX - base => w,
        _ => return invalid(),
    };
    let key = &argv[1];
    let current = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        // `getExpire`'s -1 is "none" to the flags, even when it is a stored time.
        Some(e) => get_expire(e),
    };
    if flags.nx && current.is_some() {
        return Reply::Integer(0);
    }
    if flags.xx && current.is_none() {
        return Reply::Integer(0);
    }
    if flags.gt && current.is_none_or(|c| when <= c) {
        return Reply::Integer(0);
    }
    if flags.lt && current.is_some_and(|c| when >= c) {
        return Reply::Integer(0);
    }
    let now = i64::try_from(ctx.now_ms).unwrap_or(i64::MAX);
    // `checkAlreadyExpired`: only a master deletes right away.
    if when <= now && !ctx.view.is_replica() {
        ctx.dbm().swap_remove(key.as_slice());
        ctx.modified(key);
        ctx.dirty(1);
        let cmd: &[u8] = if ctx.lazyfree_lazy_expire {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.rewrite(&[cmd, key]);
        return Reply::Integer(1);
    }
    // A replica stores past times as they are, negative ones included (`setExpire`).
    ctx.set_expire(key, when);
    ctx.modified(key);
    ctx.dirty(1);
    if name != "pexpireat" {
        let mut out: Vec<Vec<u8>> = argv.to_vec();
        out[0] = b"PEXPIREAT".to_vec();
        out[2] = when.to_string().into_bytes();
        ctx.rewrite(&out);
    }
    Reply::Integer(1)
}

pub fn expire(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(ctx, argv, true, true, "expire")
}

pub fn pexpire(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(ctx, argv, true, false, "pexpire")
}

pub fn expireat(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(ctx, argv, false, true, "expireat")
}

pub fn pexpireat(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    expire_generic(ctx, argv, false, false, "pexpireat")
}

/// `ttlGenericCommand`: -2 for a missing key, -1 without a TTL; else the time left (or, for
/// EXPIRETIME/PEXPIRETIME, `abs`, the unix time it expires at), 0 when negative, in ms or
/// rounded to seconds (`(ttl+500)/1000`).
fn ttl_generic(ctx: &mut ExecCtx, key: &[u8], ms: bool, abs: bool) -> Reply {
    let now = ctx.now_ms;
    let Some(entry) = ctx.lookup_read(key) else {
        return Reply::Integer(-2);
    };
    // `getExpire` answers -1 for "none", so a stored time of exactly -1 reads as none.
    match get_expire(entry) {
        None => Reply::Integer(-1),
        Some(at) => {
            let ttl = if abs {
                at
            } else {
                at.saturating_sub(i64::try_from(now).unwrap_or(i64::MAX))
            }
            .max(0);
            Reply::Integer(if ms {
                ttl
            } else {
                ttl.saturating_add(500) / 1000
            })
        }
    }
}

pub fn ttl(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(ctx, &argv[1], false, false)
}

pub fn pttl(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(ctx, &argv[1], true, false)
}

/// EXPIRETIME key: the unix time in seconds the key expires at.
pub fn expiretime(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(ctx, &argv[1], false, true)
}

/// PEXPIRETIME key: the unix time in ms the key expires at.
pub fn pexpiretime(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    ttl_generic(ctx, &argv[1], true, true)
}

/// TOUCH key [key ...]: how many exist (`lookupKeyRead`, so an expired key is deleted and
/// its deletion propagated on a master); not a write, nothing else is propagated.
pub fn touch(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let count = argv[1..]
        .iter()
        .filter(|k| ctx.lookup_read(k).is_some())
        .count();
    int(count)
}

pub fn persist(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match ctx.lookup_write(&argv[1]) {
        Some(e) if e.expire_at_ms.is_some() => {
            e.expire_at_ms = None;
            ctx.modified(&argv[1]);
            ctx.dirty(1);
            Reply::Integer(1)
        }
        _ => Reply::Integer(0),
    }
}

/// `getFlushCommandFlags`: no argument, `SYNC` or `ASYNC` (case-insensitive).
fn flush_args_ok(argv: &[Vec<u8>]) -> bool {
    argv.len() == 1 || (argv.len() == 2 && (eq_ic(&argv[1], "sync") || eq_ic(&argv[1], "async")))
}

/// FLUSHDB always propagates as sent (`forceCommandPropagation`), even on an empty db.
pub fn flushdb(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if !flush_args_ok(argv) {
        return syntax();
    }
    let n = ctx.dbr().len();
    let db = ctx.db;
    ctx.flushed(Some(db));
    ctx.dbm().clear();
    ctx.dirty(n as u64);
    ctx.prop.force = true;
    Reply::ok()
}

/// FLUSHALL always propagates as sent (`forceCommandPropagation`), even when empty.
pub fn flushall(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if !flush_args_ok(argv) {
        return syntax();
    }
    let n = ctx.keyspace.key_count();
    ctx.flushed(None);
    ctx.keyspace.flush_all();
    ctx.dirty(n as u64);
    ctx.prop.force = true;
    Reply::ok()
}

/// `dbRandomKey`: picks uniformly with `rng`; expired volatile keys are skipped (and deleted
/// on a master); on a replica whose keys are all volatile, gives up after 100 tries and
/// returns a possibly expired key, as Redis does.
pub fn randomkey(ctx: &mut ExecCtx, _argv: &[Vec<u8>]) -> Reply {
    let mut maxtries = 100;
    // Bound the loop even where Redis would not, so no input can spin forever.
    for _ in 0..10_000 {
        let db: &Db = ctx.dbr();
        if db.is_empty() {
            return Reply::Nil;
        }
        let all_volatile = db.values().all(|e| e.expire_at_ms.is_some());
        let len = db.len() as u64;
        let idx = (ctx.rng.next_u64() % len) as usize;
        let Some((key, entry)) = ctx.dbr().get_index(idx) else {
            return Reply::Nil;
        };
        let key = key.clone();
        if entry.expire_at_ms.is_some() {
            if all_volatile && ctx.view.is_replica() {
                maxtries -= 1;
                if maxtries == 0 {
                    return Reply::bulk(&key);
                }
            }
            if ctx.expire_if_needed(&key, false) {
                continue;
            }
        }
        return Reply::bulk(&key);
    }
    Reply::Nil
}

/// `shared.sameobjecterr` (MOVE and COPY to the very same place).
const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// `selectDb`'s failure as MOVE, COPY, SWAPDB and SELECT report it.
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

/// `getIntFromObjectOrReply(c, o, &n, msg)`: a 64-bit integer, then the `int` range; `msg`
/// replaces both default errors when given.
fn int_arg(arg: &[u8], msg: Option<&str>) -> Result<i32, Reply> {
    let n = i64_arg(arg).map_err(|e| msg.map_or(e, err))?;
    i32::try_from(n).map_err(|_| {
        err(msg
            .unwrap_or("ERR value is out of range, value must between -2147483648 and 2147483647"))
    })
}

/// `selectDb`'s range check: the db `id` names, if there is one.
fn db_index(ctx: &ExecCtx, id: i32) -> Option<usize> {
    usize::try_from(id)
        .ok()
        .filter(|&db| db < DB_COUNT && db < ctx.keyspace.dbs.len())
}

/// The expire time commands see (`getExpire`): it answers -1 for "none", so a key whose
/// stored time is exactly -1 (a writable replica stores past times as given) reads as having
/// none. TTL answers -1, and RENAME, MOVE and COPY drop it; PERSIST still removes it.
fn get_expire(entry: &Entry) -> Option<i64> {
    entry.expire_at_ms.filter(|&when| when != -1)
}

/// `dbAdd` of `value` as `key` in the selected db, then `setExpire` with `expire` (which
/// a writable replica remembers, to expire the key itself).
fn add_with_expire(ctx: &mut ExecCtx, key: &[u8], value: Entry, expire: Option<i64>) {
    ctx.db_add(key.to_vec(), value);
    if let Some(when) = expire {
        ctx.set_expire(key, when);
    }
}

/// MOVE key db (`moveCommand`): the db is parsed and checked, then the same db is refused;
/// a missing source, or a destination that exists there (a write lookup: an expired one
/// is deleted first, in that db), answers 0. The key moves with its TTL; one change,
/// propagated as sent.
pub fn move_(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let id = match int_arg(&argv[2], None) {
        Ok(id) => id,
        Err(e) => return e,
    };
    let Some(dst_db) = db_index(ctx, id) else {
        return err(DB_OUT_OF_RANGE);
    };
    if dst_db == ctx.db {
        return err(SAME_OBJECT);
    }
    let key = &argv[1];
    if ctx.lookup_write(key).is_none() || ctx.in_db(dst_db, |c| c.lookup_write(key).is_some()) {
        return Reply::Integer(0);
    }
    let Some(entry) = ctx.dbm().swap_remove(key.as_slice()) else {
        return Reply::Integer(0);
    };
    let expire = get_expire(&entry);
    let value = Entry {
        expire_at_ms: None,
        ..entry
    };
    ctx.in_db(dst_db, |c| add_with_expire(c, key, value, expire));
    ctx.modified(key);
    ctx.modified_in(dst_db, key);
    ctx.dirty(1);
    Reply::Integer(1)
}

/// COPY's options, parsed in order as `copyCommand` does (so an error in a `DB` argument
/// comes before a later syntax error): the destination db (the current one by default)
/// and whether REPLACE was given.
fn parse_copy_options(ctx: &ExecCtx, argv: &[Vec<u8>]) -> Result<(usize, bool), Reply> {
    let (mut dst_db, mut replace) = (ctx.db, false);
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(&argv[j], "replace") {
            replace = true;
        } else if eq_ic(&argv[j], "db") && j + 1 < argv.len() {
            let id = int_arg(&argv[j + 1], None)?;
            dst_db = db_index(ctx, id).ok_or_else(|| err(DB_OUT_OF_RANGE))?;
            j += 1;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    Ok((dst_db, replace))
}

/// COPY source destination [DB db] [REPLACE] (`copyCommand`): the same key in the same db
/// is refused; the source is read (`lookupKeyRead`), the destination looked up for
/// writing in its db (an existing one answers 0 unless REPLACE deletes it). The copy keeps
/// the TTL; one change, propagated as sent.
pub fn copy(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (dst_db, replace) = match parse_copy_options(ctx, argv) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (key, newkey) = (&argv[1], &argv[2]);
    if dst_db == ctx.db && key == newkey {
        return err(SAME_OBJECT);
    }
    let Some(entry) = ctx.lookup_read(key) else {
        return Reply::Integer(0);
    };
    let expire = get_expire(entry);
    let value = Entry {
        value: entry.value.clone(),
        expire_at_ms: None,
    };
    ctx.in_db(dst_db, |c| {
        if c.lookup_write(newkey).is_some() {
            if !replace {
                return Reply::Integer(0);
            }
            c.dbm().swap_remove(newkey.as_slice());
        }
        add_with_expire(c, newkey, value, expire);
        c.modified(newkey);
        c.dirty(1);
        Reply::Integer(1)
    })
}

/// SWAPDB index1 index2 (`swapdbCommand`): each index must be an `int` (its own error
/// message), both must name a db; swapping a db with itself changes nothing but still
/// counts one change and is propagated, as in Redis. Clients blocked on a key the swap
/// brings into their db are then served (see `ExecCtx::take_swapped`).
pub fn swapdb(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let ids = int_arg(&argv[1], Some("ERR invalid first DB index"))
        .and_then(|a| Ok((a, int_arg(&argv[2], Some("ERR invalid second DB index"))?)));
    let (a, b) = match ids {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    let (Some(a), Some(b)) = (db_index(ctx, a), db_index(ctx, b)) else {
        return err(DB_OUT_OF_RANGE);
    };
    if a != b {
        ctx.swap_dbs(a, b);
    }
    ctx.dirty(1);
    Reply::ok()
}

/// SELECT: `getIntFromObjectOrReply` then the db range check.
pub fn select(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let id = match int_arg(&argv[1], None) {
        Ok(id) => id,
        Err(e) => return e,
    };
    match db_index(ctx, id) {
        Some(db) => {
            ctx.db = db;
            Reply::ok()
        }
        None => err(DB_OUT_OF_RANGE),
    }
}
