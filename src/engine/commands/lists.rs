//! List commands (t_list.c, Redis 7.0). A list popped or trimmed empty is deleted.

use std::collections::VecDeque;

use super::util::{eq_ic, err, i64_arg, index_range, int, positive_arg, syntax, wrongtype};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::Reply;

/// `pushGenericCommand`: creates the list if missing; propagated as sent.
fn push(ctx: &mut ExecCtx, argv: &[Vec<u8>], head: bool) -> Reply {
    let key = &argv[1];
    let len = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::List(list),
            ..
        }) => {
            push_all(list, &argv[2..], head);
            list.len()
        }
        Some(_) => return wrongtype(),
        None => {
            let mut list = VecDeque::new();
            push_all(&mut list, &argv[2..], head);
            let len = list.len();
            ctx.dbm().insert(
                key.clone(),
                Entry {
                    value: Value::List(list),
                    expire_at_ms: None,
                },
            );
            len
        }
    };
    ctx.dirty((argv.len() - 2) as u64);
    int(len)
}

fn push_all(list: &mut VecDeque<Vec<u8>>, items: &[Vec<u8>], head: bool) {
    for item in items {
        if head {
            list.push_front(item.clone());
        } else {
            list.push_back(item.clone());
        }
    }
}

pub fn lpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    push(ctx, argv, true)
}

pub fn rpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    push(ctx, argv, false)
}

/// `popGenericCommand`: without a count, a bulk (nil if missing); with a count, an array
/// (nil array if missing, empty array for count 0). Propagated as sent.
fn pop(ctx: &mut ExecCtx, argv: &[Vec<u8>], head: bool, name: &str) -> Reply {
    if argv.len() > 3 {
        return super::wrong_arity(name);
    }
    let count = if argv.len() == 3 {
        match positive_arg(&argv[2]) {
            Ok(n) => Some(n),
            Err(e) => return e,
        }
    } else {
        None
    };
    let key = &argv[1];
    let list = match ctx.lookup_write(key) {
        None => {
            return if count.is_some() {
                Reply::NilArray
            } else {
                Reply::Nil
            }
        }
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let reply = match count {
        Some(0) => return Reply::Array(Vec::new()),
        None => {
            let item = if head {
                list.pop_front()
            } else {
                list.pop_back()
            };
            match item {
                Some(v) => Reply::Bulk(v),
                None => Reply::Nil,
            }
        }
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(list.len());
            let items = (0..n)
                .filter_map(|_| {
                    if head {
                        list.pop_front()
                    } else {
                        list.pop_back()
                    }
                })
                .map(Reply::Bulk)
                .collect();
            Reply::Array(items)
        }
    };
    let popped = match &reply {
        Reply::Array(items) => items.len(),
        _ => 1,
    };
    let empty = list.is_empty();
    if empty {
        ctx.dbm().swap_remove(key.as_slice());
    }
    ctx.dirty(popped as u64);
    reply
}

pub fn lpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    pop(ctx, argv, true, "lpop")
}

pub fn rpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    pop(ctx, argv, false, "rpop")
}

pub fn lrange(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (start, end) = match (i64_arg(&argv[2]), i64_arg(&argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    match ctx.lookup_read(&argv[1]) {
        None => Reply::Array(Vec::new()),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => match index_range(start, end, list.len()) {
            None => Reply::Array(Vec::new()),
            Some((s, e)) => Reply::Array(list.range(s..=e).map(Reply::bulk).collect()),
        },
        Some(_) => wrongtype(),
    }
}

pub fn llen(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match ctx.lookup_read(&argv[1]) {
        None => Reply::Integer(0),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => int(list.len()),
        Some(_) => wrongtype(),
    }
}

/// A Redis list index (negative from the tail) as a position, if in range.
fn position(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let idx = if index < 0 {
        len.checked_add(index)?
    } else {
        index
    };
    if idx < 0 || idx >= len {
        None
    } else {
        usize::try_from(idx).ok()
    }
}

/// LINDEX looks the key up before parsing the index (t_list.c `lindexCommand`).
pub fn lindex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let list = match ctx.lookup_read(&argv[1]) {
        None => return Reply::Nil,
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let index = match i64_arg(&argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    match position(index, list.len()).and_then(|i| list.get(i)) {
        Some(v) => Reply::bulk(v),
        None => Reply::Nil,
    }
}

/// LSET: `-ERR no such key` when missing, `-ERR index out of range` when out of range.
pub fn lset(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let list = match ctx.lookup_write(&argv[1]) {
        None => return err("ERR no such key"),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let index = match i64_arg(&argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    match position(index, list.len()).and_then(|i| list.get_mut(i)) {
        Some(slot) => {
            *slot = argv[3].clone();
            ctx.dirty(1);
            Reply::ok()
        }
        None => err("ERR index out of range"),
    }
}

/// LREM: count > 0 from the head, < 0 from the tail, 0 all. The count is parsed first.
pub fn lrem(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let count = match i64_arg(&argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let key = &argv[1];
    let elem = &argv[3];
    let list = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < list.len() && removed < limit {
            if list[i] == *elem {
                list.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = list.len();
        while i > 0 && removed < limit {
            i -= 1;
            if list[i] == *elem {
                list.remove(i);
                removed += 1;
            }
        }
    }
    let empty = list.is_empty();
    if removed > 0 {
        if empty {
            ctx.dbm().swap_remove(key.as_slice());
        }
        ctx.dirty(removed as u64);
    }
    int(removed)
}

/// `getListPositionFromObjectOrReply`: LEFT is the head, RIGHT the tail.
fn list_end(arg: &[u8]) -> Result<bool, Reply> {
    if eq_ic(arg, "right") {
        Ok(false)
    } else if eq_ic(arg, "left") {
        Ok(true)
    } else {
        Err(syntax())
    }
}

/// `lmoveGenericCommand`: pops from `argv[1]`'s `from` end and pushes onto `argv[2]`'s `to`
/// end (creating it), replying with the element; nil when the source is missing. Both keys
/// are write lookups and must be lists (the destination is checked before anything moves).
/// The source is deleted when emptied; the same key on both sides rotates the list. The
/// command propagates as sent.
fn lmove_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], from_head: bool, to_head: bool) -> Reply {
    let (src, dst) = (&argv[1], &argv[2]);
    match ctx.lookup_write(src) {
        None => return Reply::Nil,
        Some(Entry {
            value: Value::List(list),
            ..
        }) if list.is_empty() => return Reply::Nil,
        Some(Entry {
            value: Value::List(_),
            ..
        }) => {}
        Some(_) => return wrongtype(),
    }
    match ctx.lookup_write(dst) {
        None
        | Some(Entry {
            value: Value::List(_),
            ..
        }) => {}
        Some(_) => return wrongtype(),
    }
    let value = match ctx.dbm().get_mut(src.as_slice()) {
        Some(Entry {
            value: Value::List(list),
            ..
        }) => {
            if from_head {
                list.pop_front()
            } else {
                list.pop_back()
            }
        }
        _ => None,
    };
    let Some(value) = value else {
        return Reply::Nil;
    };
    match ctx.dbm().get_mut(dst.as_slice()) {
        Some(Entry {
            value: Value::List(list),
            ..
        }) => push_all(list, std::slice::from_ref(&value), to_head),
        _ => {
            ctx.dbm().insert(
                dst.clone(),
                Entry {
                    value: Value::List(VecDeque::from([value.clone()])),
                    expire_at_ms: None,
                },
            );
        }
    }
    let emptied = matches!(
        ctx.dbr().get(src.as_slice()),
        Some(Entry { value: Value::List(list), .. }) if list.is_empty()
    );
    if emptied {
        ctx.dbm().swap_remove(src.as_slice());
    }
    ctx.dirty(1);
    Reply::Bulk(value)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the ends are parsed before any lookup.
pub fn lmove(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (from_head, to_head) = match (list_end(&argv[3]), list_end(&argv[4])) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    lmove_generic(ctx, argv, from_head, to_head)
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
pub fn rpoplpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    lmove_generic(ctx, argv, false, true)
}
