//! List commands (t_list.c, Redis 7.0). A list popped or trimmed empty is deleted.

use std::collections::VecDeque;

use super::util::{eq_ic, err, i64_arg, index_range, int, positive_arg, syntax, wrongtype};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::Reply;

/// `pushGenericCommand`: creates the list if missing (`dbAdd`, which wakes clients blocked
/// on it), except for LPUSHX/RPUSHX (`xx`), which answer 0 and write nothing then; one dirty
/// per element, propagated as sent. The type is checked first.
fn push(ctx: &mut ExecCtx, argv: &[Vec<u8>], head: bool, xx: bool) -> Reply {
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
        None if xx => return Reply::Integer(0),
        None => {
            let mut list = VecDeque::new();
            push_all(&mut list, &argv[2..], head);
            let len = list.len();
            ctx.db_add(
                key.clone(),
                Entry {
                    value: Value::List(list),
                    expire_at_ms: None,
                },
            );
            len
        }
    };
    ctx.modified(&argv[1]);
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
    push(ctx, argv, true, false)
}

pub fn rpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    push(ctx, argv, false, false)
}

/// LPUSHX key element [element ...]: LPUSH to an existing list only.
pub fn lpushx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    push(ctx, argv, true, true)
}

/// RPUSHX key element [element ...]: RPUSH to an existing list only.
pub fn rpushx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    push(ctx, argv, false, true)
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
    ctx.modified(key);
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

/// `getPositiveLongFromObjectOrReply` with LPOS's message: a non-integer gets it too.
fn lpos_non_negative(arg: &[u8], msg: &str) -> Result<i64, Reply> {
    match crate::engine::resp::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(err(msg)),
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (`lposCommand`): options
/// are parsed (and refused) before the lookup. Without COUNT, the index of the match (nil
/// if none or no key); with COUNT (0: all), an array. A negative RANK walks from the tail
/// (`-rank` as C computes it: `LONG_MIN` stays negative and so matches the first one).
pub fn lpos(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (mut rank, mut count, mut maxlen): (i64, i64, i64) = (1, -1, 0);
    let mut j = 3;
    while j < argv.len() {
        let more = argv.len() - 1 - j > 0;
        let opt = &argv[j];
        if eq_ic(opt, "rank") && more {
            j += 1;
            rank = match i64_arg(&argv[j]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if rank == 0 {
                return err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                );
            }
        } else if eq_ic(opt, "count") && more {
            j += 1;
            count = match lpos_non_negative(&argv[j], "ERR COUNT can't be negative") {
                Ok(n) => n,
                Err(e) => return e,
            };
        } else if eq_ic(opt, "maxlen") && more {
            j += 1;
            maxlen = match lpos_non_negative(&argv[j], "ERR MAXLEN can't be negative") {
                Ok(n) => n,
                Err(e) => return e,
            };
        } else {
            return syntax();
        }
        j += 1;
    }
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let list = match ctx.lookup_read(&argv[1]) {
        None if count != -1 => return Reply::Array(Vec::new()),
        None => return Reply::Nil,
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let ele = argv[2].as_slice();
    let llen = list.len();
    let walk: Box<dyn Iterator<Item = (usize, &Vec<u8>)>> = if from_tail {
        Box::new(list.iter().rev().enumerate())
    } else {
        Box::new(list.iter().enumerate())
    };
    let limit = usize::try_from(maxlen).unwrap_or(usize::MAX);
    let mut matches: i64 = 0;
    let mut found = Vec::new();
    for (index, item) in walk {
        if maxlen != 0 && index >= limit {
            break;
        }
        if item.as_slice() != ele {
            continue;
        }
        matches += 1;
        if matches >= rank {
            let at = if from_tail { llen - index - 1 } else { index };
            found.push(int(at));
            if count == -1 || (count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count) {
                break;
            }
        }
    }
    if count != -1 {
        Reply::Array(found)
    } else {
        found.pop().unwrap_or(Reply::Nil)
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
            ctx.modified(&argv[1]);
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
        ctx.modified(key);
        ctx.dirty(removed as u64);
    }
    int(removed)
}

/// LTRIM key start stop (`ltrimCommand`): the indexes are parsed first, a missing key
/// answers `+OK`; what falls outside the range is removed (dirty counts it, so a trim that
/// removes nothing is not propagated) and a list trimmed empty is deleted.
pub fn ltrim(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (start, end) = match (i64_arg(&argv[2]), i64_arg(&argv[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let key = &argv[1];
    let list = match ctx.lookup_write(key) {
        None => return Reply::ok(),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let len = list.len();
    let (ltrim, rtrim) = match index_range(start, end, len) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    list.truncate(len - rtrim);
    list.drain(..ltrim);
    if list.is_empty() {
        ctx.dbm().swap_remove(key.as_slice());
    }
    ctx.modified(key);
    ctx.dirty((ltrim + rtrim) as u64);
    Reply::ok()
}

/// LINSERT key BEFORE|AFTER pivot element (`linsertCommand`): the position word is checked
/// first (syntax error), a missing key answers 0, a missing pivot -1 (nothing written);
/// else the element goes next to the first pivot from the head and the new length answers.
pub fn linsert(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let after = if eq_ic(&argv[2], "after") {
        true
    } else if eq_ic(&argv[2], "before") {
        false
    } else {
        return syntax();
    };
    let list = match ctx.lookup_write(&argv[1]) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return wrongtype(),
    };
    let Some(at) = list.iter().position(|e| *e == argv[3]) else {
        return Reply::Integer(-1);
    };
    list.insert(at + usize::from(after), argv[4].clone());
    let len = list.len();
    ctx.modified(&argv[1]);
    ctx.dirty(1);
    int(len)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the ends are parsed before any lookup.
pub fn lmove(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let ends = End::parse(&argv[3]).and_then(|f| End::parse(&argv[4]).map(|t| (f, t)));
    match ends {
        Ok((from, to)) => lmove_generic(ctx, argv, from, to),
        Err(e) => e,
    }
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
pub fn rpoplpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    lmove_generic(ctx, argv, End::Right, End::Left)
}

/// `lmoveGenericCommand`: nil when the source is missing, else [`move_element`]; the
/// command propagates as sent.
fn lmove_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], from: End, to: End) -> Reply {
    match nonempty_list(ctx, &argv[1]) {
        Err(e) => e,
        Ok(None) => Reply::Nil,
        Ok(Some(_)) => match move_element(ctx, &argv[1], &argv[2], from, to) {
            Ok((value, _)) => Reply::Bulk(value),
            Err(e) => e,
        },
    }
}

/// An end of a list (`LIST_HEAD` / `LIST_TAIL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// `getListPositionFromObjectOrReply`: `LEFT` or `RIGHT`, in any case.
    pub fn parse(arg: &[u8]) -> Result<End, Reply> {
        if eq_ic(arg, "left") {
            Ok(End::Left)
        } else if eq_ic(arg, "right") {
            Ok(End::Right)
        } else {
            Err(syntax())
        }
    }

    /// `shared.left` / `shared.right`: lowercase, as a served BLMOVE propagates them.
    pub fn word(self) -> &'static str {
        match self {
            End::Left => "left",
            End::Right => "right",
        }
    }

    /// `shared.lpop` / `shared.rpop`: the pop Redis propagates for this end.
    pub fn pop_command(self) -> &'static str {
        match self {
            End::Left => "LPOP",
            End::Right => "RPOP",
        }
    }

    fn pop(self, list: &mut VecDeque<Vec<u8>>) -> Option<Vec<u8>> {
        match self {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        }
    }

    fn push(self, list: &mut VecDeque<Vec<u8>>, item: Vec<u8>) {
        match self {
            End::Left => list.push_front(item),
            End::Right => list.push_back(item),
        }
    }
}

/// `lookupKeyWrite` + `checkType` for a pop: the length of the list at `key` if it holds a
/// non-empty one, `Err` for another type.
pub(super) fn nonempty_list(ctx: &mut ExecCtx, key: &[u8]) -> Result<Option<usize>, Reply> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => Ok((!list.is_empty()).then_some(list.len())),
        Some(_) => Err(wrongtype()),
    }
}

/// Pops `n` elements from `end` of the list at `key` (known to hold one), deleting the key
/// when it empties (`listElementsRemoved`). Returns them in popping order and whether the
/// key was deleted.
fn pop_elements(ctx: &mut ExecCtx, key: &[u8], end: End, n: usize) -> (Vec<Reply>, bool) {
    let Some(Entry {
        value: Value::List(list),
        ..
    }) = ctx.dbm().get_mut(key)
    else {
        return (Vec::new(), false);
    };
    let items: Vec<Reply> = (0..n)
        .map_while(|_| end.pop(list))
        .map(Reply::Bulk)
        .collect();
    let deleted = list.is_empty();
    if deleted {
        ctx.dbm().swap_remove(key);
    }
    ctx.modified(key);
    ctx.dirty(items.len() as u64);
    (items, deleted)
}

/// `listPopRangeAndReplyWithKey`: pops up to `count` elements from `end` of the non-empty
/// list at `key`, answering `[key, [elements]]`; also returns how many were popped and
/// whether the key was deleted.
pub(super) fn pop_range_with_key(
    ctx: &mut ExecCtx,
    key: &[u8],
    end: End,
    count: u64,
) -> (Reply, usize, bool) {
    let n = usize::try_from(count).unwrap_or(usize::MAX);
    let (items, deleted) = pop_elements(ctx, key, end, n);
    let popped = items.len();
    let reply = Reply::Array(vec![Reply::bulk(key), Reply::Array(items)]);
    (reply, popped, deleted)
}

/// Pops one element from `end` of the non-empty list at `key` (BLPOP's single pop); also
/// returns whether the key was deleted.
pub(super) fn pop_one(ctx: &mut ExecCtx, key: &[u8], end: End) -> (Option<Vec<u8>>, bool) {
    let (mut items, deleted) = pop_elements(ctx, key, end, 1);
    match items.pop() {
        Some(Reply::Bulk(v)) => (Some(v), deleted),
        _ => (None, deleted),
    }
}

/// The `LMPOP`/`BLMPOP` arguments after the command (and BLMPOP's timeout).
pub(super) struct MpopArgs<W> {
    /// Index of the first key in argv, and how many keys there are.
    pub first_key: usize,
    pub numkeys: usize,
    pub where_: W,
    /// `COUNT`, 1 when not given.
    pub count: u64,
}

/// `lmpopGenericCommand`/`zmpopGenericCommand`'s parsing: `numkeys` at `numkeys_idx`, the
/// keys, the end (`parse_where`), then an optional `COUNT`, each error in Redis's order.
pub(super) fn parse_mpop<W>(
    argv: &[Vec<u8>],
    numkeys_idx: usize,
    parse_where: impl Fn(&[u8]) -> Option<W>,
) -> Result<MpopArgs<W>, Reply> {
    let numkeys = crate::engine::resp::parse_i64(&argv[numkeys_idx])
        .filter(|n| *n >= 1)
        .ok_or_else(|| err("ERR numkeys should be greater than 0"))?;
    let first_key = numkeys_idx + 1;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| first_key.checked_add(n))
        .filter(|i| *i < argv.len())
        .ok_or_else(syntax)?;
    let where_ = parse_where(&argv[where_idx]).ok_or_else(syntax)?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if count.is_none() && eq_ic(&argv[j], "count") && more {
            j += 1;
            let n = crate::engine::resp::parse_i64(&argv[j])
                .filter(|n| *n >= 1)
                .ok_or_else(|| err("ERR count should be greater than 0"))?;
            count = Some(n as u64);
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    Ok(MpopArgs {
        first_key,
        numkeys: where_idx - first_key,
        where_,
        count: count.unwrap_or(1),
    })
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]` (`mpopGenericCommand`): pops from
/// the first non-empty list, answering `[key, [elements]]`, or a null array. Propagated as
/// `LPOP|RPOP key n` with `n` the number popped.
pub fn lmpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let args = match parse_mpop(argv, 1, |a| End::parse(a).ok()) {
        Ok(a) => a,
        Err(e) => return e,
    };
    for key in &argv[args.first_key..args.first_key + args.numkeys] {
        match nonempty_list(ctx, key) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(_)) => {
                let (reply, popped, _) = pop_range_with_key(ctx, key, args.where_, args.count);
                ctx.rewrite(&[
                    args.where_.pop_command().as_bytes(),
                    key,
                    popped.to_string().as_bytes(),
                ]);
                return reply;
            }
        }
    }
    Reply::NilArray
}

/// The move at the heart of LMOVE, BLMOVE and a served BLMOVE (`lmoveGenericCommand`,
/// `serveClientBlockedOnList`): `src` holds a non-empty list; `dst` is looked up (and
/// type-checked) first, then an element is popped from `from` of `src` and pushed on `to`
/// of `dst` (created if missing), and `src` is deleted if that emptied it. Returns the
/// element and whether `src` was deleted.
pub(super) fn move_element(
    ctx: &mut ExecCtx,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<(Vec<u8>, bool), Reply> {
    let dst_exists = match ctx.lookup_write(dst) {
        None => false,
        Some(Entry {
            value: Value::List(_),
            ..
        }) => true,
        Some(_) => return Err(wrongtype()),
    };
    let value = match ctx.dbm().get_mut(src) {
        Some(Entry {
            value: Value::List(list),
            ..
        }) => from.pop(list),
        _ => None,
    };
    let Some(value) = value else {
        return Err(Reply::Nil);
    };
    if dst_exists {
        if let Some(Entry {
            value: Value::List(list),
            ..
        }) = ctx.dbm().get_mut(dst)
        {
            to.push(list, value.clone());
        }
    } else {
        let mut list = VecDeque::new();
        to.push(&mut list, value.clone());
        ctx.db_add(
            dst.to_vec(),
            Entry {
                value: Value::List(list),
                expire_at_ms: None,
            },
        );
    }
    let deleted = matches!(
        ctx.dbr().get(src),
        Some(Entry { value: Value::List(list), .. }) if list.is_empty()
    );
    if deleted {
        ctx.dbm().swap_remove(src);
    }
    ctx.modified(dst);
    ctx.modified(src);
    ctx.dirty(1);
    Ok((value, deleted))
}
