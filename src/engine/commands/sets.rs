//! Set commands (t_set.c, Redis 7.0).
//!
//! Reply order: a set whose members are all canonical integers (and at most 512 of them,
//! `set-max-intset-entries`) is an intset in Redis and replies in numeric order; we do the
//! same. Other sets are hash tables in Redis (order depends on a random seed); we reply in
//! insertion order.

use rand_chacha::rand_core::RngCore;

use super::util::{int, positive_arg, syntax, wrongtype};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, SetValue, Value};
use crate::engine::resp::{parse_i64, Reply};

/// `set-max-intset-entries` default.
const MAX_INTSET_ENTRIES: usize = 512;

/// Members in the order Redis would iterate them (see module docs).
pub(super) fn ordered(set: &SetValue) -> Vec<Vec<u8>> {
    if set.len() <= MAX_INTSET_ENTRIES {
        let ints: Option<Vec<i64>> = set.iter().map(|m| parse_i64(m)).collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            return ints
                .into_iter()
                .map(|n| n.to_string().into_bytes())
                .collect();
        }
    }
    set.iter().cloned().collect()
}

fn set_for_read<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Result<Option<&'c SetValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(wrongtype()),
    }
}

pub fn sadd(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let added = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => argv[2..].iter().filter(|m| s.insert((*m).clone())).count(),
        Some(_) => return wrongtype(),
        None => {
            let mut s = SetValue::default();
            let added = argv[2..].iter().filter(|m| s.insert((*m).clone())).count();
            ctx.dbm().insert(
                key.clone(),
                Entry {
                    value: Value::Set(s),
                    expire_at_ms: None,
                },
            );
            added
        }
    };
    if added > 0 {
        ctx.modified(&argv[1]);
    }
    ctx.dirty(added as u64);
    int(added)
}

pub fn srem(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let s = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => s,
        Some(_) => return wrongtype(),
    };
    let mut deleted = 0;
    for m in &argv[2..] {
        if s.shift_remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    let empty = s.is_empty();
    if deleted > 0 {
        if empty {
            ctx.dbm().swap_remove(key.as_slice());
        }
        ctx.modified(key);
        ctx.dirty(deleted as u64);
    }
    int(deleted)
}

pub fn smembers(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match set_for_read(ctx, &argv[1]) {
        Ok(Some(s)) => Reply::Array(ordered(s).into_iter().map(Reply::Bulk).collect()),
        Ok(None) => Reply::Array(Vec::new()),
        Err(e) => e,
    }
}

pub fn sismember(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match set_for_read(ctx, &argv[1]) {
        Ok(Some(s)) => Reply::Integer(i64::from(s.contains(&argv[2]))),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// SMISMEMBER key member [member ...]: 1 or 0 per member; a missing key is an empty set.
pub fn smismember(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match set_for_read(ctx, &argv[1]) {
        Ok(s) => Reply::Array(
            argv[2..]
                .iter()
                .map(|m| Reply::Integer(i64::from(s.is_some_and(|s| s.contains(m)))))
                .collect(),
        ),
        Err(e) => e,
    }
}

pub fn scard(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match set_for_read(ctx, &argv[1]) {
        Ok(Some(s)) => int(s.len()),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// Removes and returns a random member (chosen with the context's rng).
fn pop_random(ctx: &mut ExecCtx, key: &[u8]) -> Option<Vec<u8>> {
    let r = ctx.rng.next_u64();
    match ctx.dbm().get_mut(key) {
        Some(Entry {
            value: Value::Set(s),
            ..
        }) if !s.is_empty() => {
            let idx = (r % s.len() as u64) as usize;
            s.shift_remove_index(idx)
        }
        _ => None,
    }
}

/// SPOP. Propagation (t_set.c 7.0): without a count → `SREM key member`; with a count ≥
/// the size → `DEL key`; with a smaller count → one `SREM key member` per popped member via
/// `alsoPropagate` (the SPOP itself is not propagated), so two or more end up wrapped in
/// MULTI/EXEC by the node. Count 0 and a missing key propagate nothing.
pub fn spop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if argv.len() > 3 {
        return syntax();
    }
    let key = &argv[1];
    if argv.len() == 3 {
        return spop_count(ctx, argv);
    }
    match ctx.lookup_write(key) {
        None => return Reply::Nil,
        Some(Entry {
            value: Value::Set(_),
            ..
        }) => {}
        Some(_) => return wrongtype(),
    }
    let Some(member) = pop_random(ctx, key) else {
        return Reply::Nil;
    };
    ctx.rewrite(&[b"SREM".as_slice(), key, &member]);
    remove_if_empty(ctx, key);
    ctx.modified(key);
    ctx.dirty(1);
    Reply::Bulk(member)
}

fn remove_if_empty(ctx: &mut ExecCtx, key: &[u8]) {
    let empty =
        matches!(ctx.dbr().get(key), Some(Entry { value: Value::Set(s), .. }) if s.is_empty());
    if empty {
        ctx.dbm().swap_remove(key);
    }
}

fn spop_count(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let count = match positive_arg(&argv[2]) {
        Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
        Err(e) => return e,
    };
    let size = match ctx.lookup_write(key) {
        None => return Reply::Array(Vec::new()),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => s.len(),
        Some(_) => return wrongtype(),
    };
    if count == 0 {
        return Reply::Array(Vec::new());
    }
    ctx.dirty(count.min(size) as u64);
    if count >= size {
        let members = match ctx.dbm().swap_remove(key.as_slice()) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => ordered(&s),
            _ => Vec::new(),
        };
        ctx.rewrite(&[b"DEL".as_slice(), key]);
        ctx.modified(key);
        return Reply::Array(members.into_iter().map(Reply::Bulk).collect());
    }
    let remaining = size - count;
    let popped: Vec<Vec<u8>> = if remaining.saturating_mul(5) > count {
        // CASE 2: pop random members one by one.
        (0..count).filter_map(|_| pop_random(ctx, key)).collect()
    } else {
        // CASE 3: pick the members to keep at random; return the rest in set order.
        let mut keep = SetValue::default();
        for _ in 0..remaining {
            if let Some(m) = pop_random(ctx, key) {
                keep.insert(m);
            }
        }
        let rest = match ctx.dbm().get_mut(key.as_slice()) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => std::mem::replace(s, keep),
            _ => SetValue::default(),
        };
        ordered(&rest)
    };
    for m in &popped {
        ctx.also_propagate(&[b"SREM".as_slice(), key, m]);
    }
    ctx.prop.prevent = true;
    ctx.modified(key);
    Reply::Array(popped.into_iter().map(Reply::Bulk).collect())
}

/// `lookupKeyWrite` for SMOVE: `None` if missing, else whether the key holds a set.
fn lookup_set_kind(ctx: &mut ExecCtx, key: &[u8]) -> Option<bool> {
    ctx.lookup_write(key)
        .map(|e| matches!(e.value, Value::Set(_)))
}

/// SMOVE source destination member (`smoveCommand`): both keys are looked up first (source,
/// then destination); a missing source answers 0 whatever the destination holds; a source
/// or an existing destination of another type is WRONGTYPE; with source = destination the
/// answer is whether the member is there (nothing written). Otherwise the member leaves the
/// source (deleted when emptied: one dirty) and joins the destination (created if missing;
/// one more dirty if it was not there yet). Propagated as sent.
pub fn smove(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let src_kind = lookup_set_kind(ctx, src);
    let dst_kind = lookup_set_kind(ctx, dst);
    match (src_kind, dst_kind) {
        (None, _) => return Reply::Integer(0),
        (Some(false), _) | (_, Some(false)) => return wrongtype(),
        _ => {}
    }
    if src == dst {
        let there = matches!(
            ctx.dbr().get(src.as_slice()),
            Some(Entry { value: Value::Set(s), .. }) if s.contains(member)
        );
        return Reply::Integer(i64::from(there));
    }
    let removed = match ctx.dbm().get_mut(src.as_slice()) {
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => s.shift_remove(member),
        _ => false,
    };
    if !removed {
        return Reply::Integer(0);
    }
    remove_if_empty(ctx, src);
    ctx.modified(src);
    ctx.dirty(1);
    let added = match ctx.dbm().get_mut(dst.as_slice()) {
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => s.insert(member.clone()),
        _ => {
            let mut s = SetValue::default();
            s.insert(member.clone());
            ctx.dbm().insert(
                dst.clone(),
                Entry {
                    value: Value::Set(s),
                    expire_at_ms: None,
                },
            );
            true
        }
    };
    if added {
        ctx.modified(dst);
        ctx.dirty(1);
    }
    Reply::Integer(1)
}
