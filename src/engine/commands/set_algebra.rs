//! Set algebra (t_set.c, Redis 7.0): SUNION, SINTER, SDIFF, their `…STORE` forms and
//! SINTERCARD — the commands Redis's test helper `createComplexDataset` mixes into its load.
//!
//! Sources are looked up with `lookupKeyRead`, one after the other (so lazy expiry deletes and
//! propagates as it goes) and a source of another type stops the command with WRONGTYPE. A
//! missing key is an empty set. A store replaces the destination whatever its type (`setKey`
//! drops its TTL); an empty result deletes the destination instead. Either way the command
//! is propagated as sent (it is deterministic), and only when it changed something.

use super::sets::ordered;
use super::util::{eq_ic, err, int, syntax, wrongtype};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, SetValue, Value};
use crate::engine::resp::{parse_i64, Reply};

/// `lookupKeyRead` on every key, in order: which of them exist as sets.
fn lookup_sets(ctx: &mut ExecCtx, keys: &[Vec<u8>]) -> Result<Vec<bool>, Reply> {
    let mut present = Vec::with_capacity(keys.len());
    for key in keys {
        match ctx.lookup_read(key) {
            None => present.push(false),
            Some(Entry {
                value: Value::Set(_),
                ..
            }) => present.push(true),
            Some(_) => return Err(wrongtype()),
        }
    }
    Ok(present)
}

/// The sets found by [`lookup_sets`] (`None` for a missing key). Nothing is deleted after
/// the lookups, so the keys are still there.
fn sources<'c>(ctx: &'c ExecCtx, keys: &[Vec<u8>], present: &[bool]) -> Vec<Option<&'c SetValue>> {
    let db = ctx.dbr();
    keys.iter()
        .zip(present)
        .map(|(key, &here)| match db.get(key.as_slice()) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) if here => Some(s),
            _ => None,
        })
        .collect()
}

/// The intersection, walking the smallest set (`qsort` by cardinality; ties keep their order
/// as glibc's merge sort does). Stops after `limit` members when given (SINTERCARD).
fn intersection(sets: &[Option<&SetValue>], limit: Option<usize>) -> SetValue {
    let mut out = SetValue::default();
    let mut sets: Vec<&SetValue> = match sets.iter().copied().collect::<Option<Vec<_>>>() {
        Some(all) => all,
        None => return out,
    };
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return out;
    };
    for member in ordered(first) {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        if rest.iter().all(|s| s.contains(&member)) {
            out.insert(member);
        }
    }
    out
}

fn union(sets: &[Option<&SetValue>]) -> SetValue {
    let mut out = SetValue::default();
    for set in sets.iter().flatten() {
        for member in ordered(set) {
            out.insert(member);
        }
    }
    out
}

/// The members of the first set in none of the others (both of Redis's algorithms give
/// this set; a repeated first key gives the empty set).
fn difference(sets: &[Option<&SetValue>]) -> SetValue {
    let mut out = SetValue::default();
    let Some((Some(first), rest)) = sets.split_first() else {
        return out;
    };
    for member in ordered(first) {
        if !rest.iter().flatten().any(|s| s.contains(&member)) {
            out.insert(member);
        }
    }
    out
}

/// A `…STORE` command's ending: `setKey` the result, or `dbDelete` the destination when the
/// result is empty (without an expiry check: a logically expired destination still counts
/// as deleted). Replies with the result's size.
fn store(ctx: &mut ExecCtx, dst: &[u8], result: SetValue) -> Reply {
    if result.is_empty() {
        if ctx.dbm().swap_remove(dst).is_some() {
            ctx.modified(dst);
            ctx.dirty(1);
        }
        return Reply::Integer(0);
    }
    let len = result.len();
    set_key(ctx, dst, Value::Set(result));
    ctx.dirty(1);
    int(len)
}

/// `setKey(c, db, key, val, 0)`: a write lookup (lazily expiring the old value), then the
/// new value without a TTL, whatever the old value's type. A new key is added with
/// `dbAdd`, which wakes clients blocked on it (ZUNIONSTORE…); an overwrite does not.
pub(super) fn set_key(ctx: &mut ExecCtx, key: &[u8], value: Value) {
    let entry = Entry {
        value,
        expire_at_ms: None,
    };
    match ctx.lookup_write(key) {
        Some(old) => *old = entry,
        None => ctx.db_add(key.to_vec(), entry),
    }
    ctx.modified(key);
}

fn reply_members(set: &SetValue) -> Reply {
    Reply::Array(ordered(set).into_iter().map(Reply::Bulk).collect())
}

#[derive(Clone, Copy)]
enum Op {
    Union,
    Inter,
    Diff,
}

/// `sunionDiffGenericCommand` / `sinterGenericCommand` over `keys`, stored in `dst` if given.
fn generic(ctx: &mut ExecCtx, keys: &[Vec<u8>], dst: Option<&[u8]>, op: Op) -> Reply {
    let present = match lookup_sets(ctx, keys) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let sets = sources(ctx, keys, &present);
    let result = match op {
        Op::Union => union(&sets),
        Op::Inter => intersection(&sets, None),
        Op::Diff => difference(&sets),
    };
    match dst {
        Some(dst) => store(ctx, dst, result),
        None => reply_members(&result),
    }
}

pub fn sunion(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[1..], None, Op::Union)
}

pub fn sunionstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[2..], Some(&argv[1]), Op::Union)
}

pub fn sinter(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[1..], None, Op::Inter)
}

pub fn sinterstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[2..], Some(&argv[1]), Op::Inter)
}

pub fn sdiff(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[1..], None, Op::Diff)
}

pub fn sdiffstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, &argv[2..], Some(&argv[1]), Op::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: options are checked before any key is
/// looked up; LIMIT 0 means no limit.
pub fn sintercard(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => return err("ERR numkeys should be greater than 0"),
    };
    if numkeys > argv.len() - 2 {
        return err("ERR Number of keys can't be greater than number of args");
    }
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if eq_ic(&argv[j], "limit") && more > 0 {
            j += 1;
            limit = match parse_i64(&argv[j]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return err("ERR LIMIT can't be negative"),
            };
        } else {
            return syntax();
        }
        j += 1;
    }
    let keys = &argv[2..2 + numkeys];
    let present = match lookup_sets(ctx, keys) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let sets = sources(ctx, keys, &present);
    int(intersection(&sets, (limit > 0).then_some(limit)).len())
}
