//! Hash commands (t_hash.c, Redis 7.0). Field order is insertion order, as the listpack
//! encoding of small hashes keeps it (HDEL removes in place, keeping the others' order).

use super::longdouble::LongDouble;
use super::util::{err, i64_arg, int, wrongtype, NOT_FLOAT, OVERFLOW};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, HashValue, Value};
use crate::engine::resp::{parse_i64, Reply};

/// `hashTypeLookupWriteOrCreate`.
fn hash_for_write<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Result<&'c mut HashValue, Reply> {
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(Entry {
            value: Value::Hash(_),
            ..
        }) => true,
        Some(_) => return Err(wrongtype()),
    };
    if !exists {
        ctx.dbm().insert(
            key.to_vec(),
            Entry {
                value: Value::Hash(HashValue::default()),
                expire_at_ms: None,
            },
        );
    }
    match ctx.dbm().get_mut(key) {
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(h),
        _ => Err(wrongtype()),
    }
}

/// `lookupKeyRead` + type check: `Ok(None)` when missing.
fn hash_for_read<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Result<Option<&'c HashValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(wrongtype()),
    }
}

/// HSET: odd argc is an arity error; replies the number of new fields; dirty counts every
/// pair, so HSET always propagates (as sent).
pub fn hset(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hset_generic(ctx, argv, "hset") {
        Ok(created) => int(created),
        Err(e) => e,
    }
}

/// HMSET (deprecated): HSET answering `+OK` (t_hash.c `hsetCommand` serves both).
pub fn hmset(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hset_generic(ctx, argv, "hmset") {
        Ok(_) => Reply::ok(),
        Err(e) => e,
    }
}

/// `hsetCommand`: the number of new fields, or the arity error (`name` as Redis prints it).
fn hset_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], name: &str) -> Result<usize, Reply> {
    if argv.len() % 2 == 1 {
        return Err(super::wrong_arity(name));
    }
    let h = hash_for_write(ctx, &argv[1])?;
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if h.insert(pair[0].clone(), pair[1].clone()).is_none() {
            created += 1;
        }
    }
    ctx.modified(&argv[1]);
    ctx.dirty(((argv.len() - 2) / 2) as u64);
    Ok(created)
}

/// HSETNX: 1 and one dirty when the field was set, 0 (nothing written) when it exists. A
/// missing key is created by the lookup, as `hashTypeLookupWriteOrCreate` does.
pub fn hsetnx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let h = match hash_for_write(ctx, &argv[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    if h.contains_key(&argv[2]) {
        return Reply::Integer(0);
    }
    h.insert(argv[2].clone(), argv[3].clone());
    ctx.modified(&argv[1]);
    ctx.dirty(1);
    Reply::Integer(1)
}

pub fn hget(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => h.get(&argv[2]).map_or(Reply::Nil, Reply::bulk),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

pub fn hmget(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(h) => Reply::Array(
            argv[2..]
                .iter()
                .map(|f| h.and_then(|h| h.get(f)).map_or(Reply::Nil, Reply::bulk))
                .collect(),
        ),
        Err(e) => e,
    }
}

pub fn hdel(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let h = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => h,
        Some(_) => return wrongtype(),
    };
    let mut deleted = 0;
    for field in &argv[2..] {
        if h.shift_remove(field).is_some() {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let empty = h.is_empty();
    if deleted > 0 {
        if empty {
            ctx.dbm().swap_remove(key.as_slice());
        }
        ctx.modified(key);
        ctx.dirty(deleted as u64);
    }
    int(deleted)
}

pub fn hgetall(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => Reply::Array(
            h.iter()
                .flat_map(|(f, v)| [Reply::bulk(f), Reply::bulk(v)])
                .collect(),
        ),
        Ok(None) => Reply::Array(Vec::new()),
        Err(e) => e,
    }
}

/// HKEYS key: the fields, in HGETALL's order (`genericHgetallCommand`).
pub fn hkeys(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => Reply::Array(h.keys().map(Reply::bulk).collect()),
        Ok(None) => Reply::Array(Vec::new()),
        Err(e) => e,
    }
}

/// HVALS key: the values, in HGETALL's order (`genericHgetallCommand`).
pub fn hvals(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => Reply::Array(h.values().map(Reply::bulk).collect()),
        Ok(None) => Reply::Array(Vec::new()),
        Err(e) => e,
    }
}

/// HSTRLEN key field: the value's length, 0 for a missing key or field.
pub fn hstrlen(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => int(h.get(&argv[2]).map_or(0, Vec::len)),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

pub fn hlen(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => int(h.len()),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// HINCRBY parses the increment first, then creates the hash if missing.
pub fn hincrby(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let incr = match i64_arg(&argv[3]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let h = match hash_for_write(ctx, &argv[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let old = match h.get(&argv[2]) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => return err("ERR hash value is not an integer"),
        },
    };
    let Some(value) = old.checked_add(incr) else {
        return err(OVERFLOW);
    };
    h.insert(argv[2].clone(), value.to_string().into_bytes());
    ctx.modified(&argv[1]);
    ctx.dirty(1);
    Reply::Integer(value)
}

/// HINCRBYFLOAT in `long double` like INCRBYFLOAT (`ld2string`, LD_STR_HUMAN): the
/// increment is parsed (and refused if infinite) before the lookup; propagated as
/// `HSET key field <new value>` (`rewriteClientCommandArgument` of argv[0] and argv[3]).
pub fn hincrbyfloat(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let Some(incr) = LongDouble::parse(&argv[3]) else {
        return err(NOT_FLOAT);
    };
    if !incr.is_finite() {
        return err("ERR value is NaN or Infinity");
    }
    let h = match hash_for_write(ctx, &argv[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let current = match h.get(&argv[2]) {
        None => LongDouble::zero(),
        Some(v) => match LongDouble::parse(v) {
            Some(v) => v,
            None => return err("ERR hash value is not a float"),
        },
    };
    let value = current.add(&incr);
    if !value.is_finite() {
        return err("ERR increment would produce NaN or Infinity");
    }
    let text = value.to_human_string().into_bytes();
    h.insert(argv[2].clone(), text.clone());
    ctx.modified(&argv[1]);
    ctx.dirty(1);
    ctx.rewrite(&[b"HSET".as_slice(), &argv[1], &argv[2], &text]);
    Reply::Bulk(text)
}

pub fn hexists(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match hash_for_read(ctx, &argv[1]) {
        Ok(Some(h)) => Reply::Integer(i64::from(h.contains_key(&argv[2]))),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}
