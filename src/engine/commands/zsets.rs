//! Sorted-set commands (t_zset.c, Redis 7.0). Scores are printed with `%.17g`
//! (`addReplyDouble`, RESP2).

use super::set_algebra::set_key;
use super::util::{
    eq_ic, err, fmt_g17, i64_arg, index_range, int, positive_arg, string2d, strtod, syntax,
    wrongtype, NOT_FLOAT,
};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value, ZSetValue};
use crate::engine::rdb::{ZSET_MAX_LISTPACK_ENTRIES, ZSET_MAX_LISTPACK_VALUE};
use crate::engine::resp::Reply;

pub(super) fn score_reply(score: f64) -> Reply {
    Reply::bulk(fmt_g17(score))
}

#[derive(Default, Clone, Copy)]
struct ZaddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// `zaddGenericCommand`; ZINCRBY is ZADD with INCR. Propagated as sent when something
/// was added or updated.
fn zadd_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], mut f: ZaddFlags) -> Reply {
    let mut idx = 2;
    while idx < argv.len() {
        let opt = &argv[idx];
        if eq_ic(opt, "nx") {
            f.nx = true;
        } else if eq_ic(opt, "xx") {
            f.xx = true;
        } else if eq_ic(opt, "ch") {
            f.ch = true;
        } else if eq_ic(opt, "incr") {
            f.incr = true;
        } else if eq_ic(opt, "gt") {
            f.gt = true;
        } else if eq_ic(opt, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return syntax();
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        return err("ERR XX and NX options at the same time are not compatible");
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return err("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && elements > 1 {
        return err("ERR INCR option supports a single increment-element pair");
    }
    let mut pairs = Vec::with_capacity(elements);
    for pair in argv[idx..].chunks_exact(2) {
        match string2d(&pair[0]) {
            Some(s) => pairs.push((s, &pair[1])),
            None => return err(NOT_FLOAT),
        }
    }
    let key = &argv[1];
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(Entry {
            value: Value::ZSet(_),
            ..
        }) => true,
        Some(_) => return wrongtype(),
    };
    let (mut added, mut updated, mut processed) = (0usize, 0usize, 0usize);
    let mut last_score = 0.0;
    let mut nan = false;
    if exists || !f.xx {
        if !exists {
            ctx.db_add(
                key.clone(),
                Entry {
                    value: Value::ZSet(ZSetValue::default()),
                    expire_at_ms: None,
                },
            );
        }
        if let Some(Entry {
            value: Value::ZSet(z),
            ..
        }) = ctx.dbm().get_mut(key.as_slice())
        {
            for (score, member) in pairs {
                match zset_add(z, score, member, f) {
                    None => {
                        nan = true;
                        break;
                    }
                    Some(out) => {
                        added += usize::from(out.added);
                        updated += usize::from(out.updated);
                        if !out.nop {
                            processed += 1;
                        }
                        last_score = out.score;
                    }
                }
            }
        }
    }
    if added + updated > 0 {
        ctx.modified(key);
    }
    ctx.dirty((added + updated) as u64);
    if nan {
        return err("ERR resulting score is not a number (NaN)");
    }
    if f.incr {
        if processed > 0 {
            score_reply(last_score)
        } else {
            Reply::Nil
        }
    } else {
        int(if f.ch { added + updated } else { added })
    }
}

struct AddOutcome {
    added: bool,
    updated: bool,
    nop: bool,
    score: f64,
}

/// The score as the zset's encoding keeps it: a listpack gives `-0` back as integer 0 (the
/// reply of the command itself still shows the computed value, as Redis's does); a skiplist
/// keeps the double. `new_member`: the score goes with a member not in the zset yet.
fn stored(z: &ZSetValue, member: &[u8], new_member: bool, score: f64) -> f64 {
    if score == 0.0 && !is_skiplist_for(z, member, new_member) {
        0.0
    } else {
        score
    }
}

/// Whether Redis holds `z` as a skiplist once `member` is written (`zsetAdd` converts a
/// listpack before inserting a member past `zset-max-listpack-entries` or longer than
/// `zset-max-listpack-value`). A zset is taken to be a skiplist while its shape needs one
/// (Redis keeps the skiplist of one that shrank back: not modelled).
fn is_skiplist_for(z: &ZSetValue, member: &[u8], new_member: bool) -> bool {
    let len = z.len() + usize::from(new_member);
    len > ZSET_MAX_LISTPACK_ENTRIES
        || member.len() > ZSET_MAX_LISTPACK_VALUE
        || z.iter().any(|(m, _)| m.len() > ZSET_MAX_LISTPACK_VALUE)
}

/// `zsetAdd`: `None` when the result would be NaN.
fn zset_add(z: &mut ZSetValue, score: f64, member: &[u8], f: ZaddFlags) -> Option<AddOutcome> {
    if score.is_nan() {
        return None;
    }
    let nop = AddOutcome {
        added: false,
        updated: false,
        nop: true,
        score,
    };
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return Some(nop);
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return None;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Some(AddOutcome { score, ..nop });
            }
            let updated = score != cur;
            if updated {
                let score = stored(z, member, false, score);
                z.insert(member.to_vec(), score);
            }
            Some(AddOutcome {
                added: false,
                updated,
                nop: false,
                score,
            })
        }
        None if !f.xx => {
            let kept = stored(z, member, true, score);
            z.insert(member.to_vec(), kept);
            Some(AddOutcome {
                added: true,
                updated: false,
                nop: false,
                score,
            })
        }
        None => Some(nop),
    }
}

pub fn zadd(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zadd_generic(ctx, argv, ZaddFlags::default())
}

pub fn zincrby(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zadd_generic(
        ctx,
        argv,
        ZaddFlags {
            incr: true,
            ..ZaddFlags::default()
        },
    )
}

pub fn zrem(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let z = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => z,
        Some(_) => return wrongtype(),
    };
    let mut deleted = 0;
    for m in &argv[2..] {
        if z.remove(m) {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let empty = z.is_empty();
    if deleted > 0 {
        if empty {
            ctx.dbm().swap_remove(key.as_slice());
        }
        ctx.modified(key);
        ctx.dirty(deleted as u64);
    }
    int(deleted)
}

fn zset_for_read<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Result<Option<&'c ZSetValue>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => Err(wrongtype()),
    }
}

pub fn zscore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => z.score(&argv[2]).map_or(Reply::Nil, score_reply),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

pub fn zcard(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => int(z.len()),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// A score bound (`zslParseRange`).
#[derive(Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

impl ScoreBound {
    /// `zslValueGteMin`, with `self` the min.
    fn below(self, s: f64) -> bool {
        if self.exclusive {
            s > self.value
        } else {
            s >= self.value
        }
    }

    /// `zslValueLteMax`, with `self` the max.
    fn above(self, s: f64) -> bool {
        if self.exclusive {
            s < self.value
        } else {
            s <= self.value
        }
    }
}

fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let (exclusive, body) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let value = strtod(body)?;
    if value.is_nan() {
        return None;
    }
    Some(ScoreBound { value, exclusive })
}

/// A lex bound (`zslParseLexRangeItem`).
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Value(Vec<u8>, bool),
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 => Some(LexBound::Max),
        Some(b'-') if arg.len() == 1 => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Value(arg[1..].to_vec(), true)),
        Some(b'[') => Some(LexBound::Value(arg[1..].to_vec(), false)),
        _ => None,
    }
}

fn lex_gte_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Value(v, ex) => {
            if *ex {
                m > v.as_slice()
            } else {
                m >= v.as_slice()
            }
        }
    }
}

fn lex_lte_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Value(v, ex) => {
            if *ex {
                m < v.as_slice()
            } else {
                m <= v.as_slice()
            }
        }
    }
}

enum RangeKind {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// What ZRANGE and ZRANGESTORE ask for (`zrangeGenericCommand`'s options and range).
struct RangeQuery {
    kind: RangeKind,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

/// `zrange_type`: what a range is made of; `Auto` lets BYSCORE/BYLEX choose (ZRANGE,
/// ZRANGESTORE), the others are fixed by the command (ZRANGEBYSCORE, ZREVRANGE, …).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// `zrange_direction`: `Auto` lets REV choose; the others are fixed by the command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// `zrangeGenericCommand`'s steps 1 and 2, with the source key at `argv[src]` and min and
/// max after it: options and ranges are validated before the key is looked up. A store
/// (ZRANGESTORE) takes no WITHSCORES: the word is a syntax error there; so are REV, BYSCORE
/// and BYLEX where the command fixes the direction or the range type.
fn parse_range_query(
    argv: &[Vec<u8>],
    src: usize,
    store: bool,
    mut rangetype: RangeType,
    mut direction: Direction,
) -> Result<RangeQuery, Reply> {
    let mut q = RangeQuery {
        kind: RangeKind::Rank(0, 0),
        rev: false,
        withscores: false,
        offset: 0,
        limit: -1,
    };
    let mut j = src + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if !store && eq_ic(a, "withscores") {
            q.withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            q.offset = i64_arg(&argv[j + 1])?;
            q.limit = i64_arg(&argv[j + 2])?;
            j += 2;
        } else if direction == Direction::Auto && eq_ic(a, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && eq_ic(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && eq_ic(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    q.rev = direction == Direction::Reverse;
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    // Redis checks `opt_limit != -1`, so `LIMIT 0 -1` is accepted with a rank range.
    if q.limit != -1 && rangetype == RangeType::Rank {
        return Err(err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if q.withscores && rangetype == RangeType::Lex {
        return Err(err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut min_arg, mut max_arg) = (&argv[src + 1], &argv[src + 2]);
    if q.rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut min_arg, &mut max_arg);
    }
    q.kind = match rangetype {
        RangeType::Score => match (parse_score_bound(min_arg), parse_score_bound(max_arg)) {
            (Some(a), Some(b)) => RangeKind::Score(a, b),
            _ => return Err(err("ERR min or max is not a float")),
        },
        RangeType::Lex => match (parse_lex_bound(min_arg), parse_lex_bound(max_arg)) {
            (Some(a), Some(b)) => RangeKind::Lex(a, b),
            _ => return Err(err("ERR min or max not valid string range item")),
        },
        RangeType::Auto | RangeType::Rank => RangeKind::Rank(i64_arg(min_arg)?, i64_arg(max_arg)?),
    };
    Ok(q)
}

/// The members of `z` that `q` selects, in reply order, with their scores.
fn pick<'z>(z: &'z ZSetValue, q: &RangeQuery) -> Vec<(&'z [u8], f64)> {
    match &q.kind {
        RangeKind::Rank(start, end) => match index_range(*start, *end, z.len()) {
            None => Vec::new(),
            Some((s, e)) => {
                if q.rev {
                    z.iter().rev().skip(s).take(e - s + 1).collect()
                } else {
                    z.iter().skip(s).take(e - s + 1).collect()
                }
            }
        },
        RangeKind::Score(min, max) => {
            let inside = |s: f64| min.below(s) && max.above(s);
            let it: Box<dyn Iterator<Item = (&[u8], f64)>> = if q.rev {
                Box::new(z.iter().rev())
            } else {
                Box::new(z.iter())
            };
            apply_limit(it.filter(|(_, s)| inside(*s)), q.offset, q.limit)
        }
        RangeKind::Lex(min, max) => {
            let items: Vec<(&[u8], f64)> = z.iter().collect();
            lex_range(&items, min, max, q.rev, q.offset, q.limit)
        }
    }
}

/// `zrangeGenericCommand` for a client: the range parsed (see [`parse_range_query`]), then
/// the key read (a missing one is an empty array, another type WRONGTYPE).
fn zrange_generic(
    ctx: &mut ExecCtx,
    argv: &[Vec<u8>],
    rangetype: RangeType,
    direction: Direction,
) -> Reply {
    let q = match parse_range_query(argv, 1, false, rangetype, direction) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let z = match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return Reply::Array(Vec::new()),
        Err(e) => return e,
    };
    let picked = pick(z, &q);
    let mut out = Vec::with_capacity(picked.len() * if q.withscores { 2 } else { 1 });
    for (m, s) in picked {
        out.push(Reply::bulk(m));
        if q.withscores {
            out.push(score_reply(s));
        }
    }
    Reply::Array(out)
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
pub fn zrange(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Auto, Direction::Auto)
}

/// ZREVRANGE key start stop [WITHSCORES].
pub fn zrevrange(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Rank, Direction::Reverse)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
pub fn zrangebyscore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Score, Direction::Forward)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
pub fn zrevrangebyscore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Score, Direction::Reverse)
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
pub fn zrangebylex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Lex, Direction::Forward)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
pub fn zrevrangebylex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrange_generic(ctx, argv, RangeType::Lex, Direction::Reverse)
}

/// ZCOUNT key min max: the range is parsed before the lookup; a missing key counts 0.
pub fn zcount(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (Some(min), Some(max)) = (parse_score_bound(&argv[2]), parse_score_bound(&argv[3])) else {
        return err("ERR min or max is not a float");
    };
    match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => int(z
            .iter()
            .filter(|(_, s)| min.below(*s) && max.above(*s))
            .count()),
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// ZLEXCOUNT key min max: counted as the listpack code walks the range (see [`lex_range`]).
pub fn zlexcount(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (Some(min), Some(max)) = (parse_lex_bound(&argv[2]), parse_lex_bound(&argv[3])) else {
        return err("ERR min or max not valid string range item");
    };
    match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => {
            let items: Vec<(&[u8], f64)> = z.iter().collect();
            int(lex_range(&items, &min, &max, false, 0, -1).len())
        }
        Ok(None) => Reply::Integer(0),
        Err(e) => e,
    }
}

/// `zrankGenericCommand`: the member's 0-based rank by (score, member), from the top for
/// ZREVRANK; nil for a missing key or member.
fn zrank_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], reverse: bool) -> Reply {
    let z = match zset_for_read(ctx, &argv[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    match z.iter().position(|(m, _)| m == argv[2].as_slice()) {
        Some(rank) if reverse => int(z.len() - 1 - rank),
        Some(rank) => int(rank),
        None => Reply::Nil,
    }
}

/// ZRANK key member.
pub fn zrank(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrank_generic(ctx, argv, false)
}

/// ZREVRANK key member.
pub fn zrevrank(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zrank_generic(ctx, argv, true)
}

/// ZMSCORE key member [member ...]: a missing key reads as an empty zset (nils).
pub fn zmscore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let z = match zset_for_read(ctx, &argv[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    Reply::Array(
        argv[2..]
            .iter()
            .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, score_reply))
            .collect(),
    )
}

/// The sorted set ZRANGESTORE builds (`zrangeResultBeginStore` and `…EmitCBufferForStore`):
/// a listpack, unless a rank range holds more than `zset-max-listpack-entries` members;
/// members are added in reply order and `zsetAdd` turns the listpack into a skiplist
/// before the first member past either listpack limit. A `-0` added while it is still a
/// listpack reads back as 0 (see [`stored`]).
fn stored_range(picked: &[(&[u8], f64)], by_rank: bool) -> ZSetValue {
    let mut skiplist = by_rank && picked.len() > ZSET_MAX_LISTPACK_ENTRIES;
    let mut out = ZSetValue::default();
    for &(member, score) in picked {
        skiplist |=
            out.len() + 1 > ZSET_MAX_LISTPACK_ENTRIES || member.len() > ZSET_MAX_LISTPACK_VALUE;
        let score = if score == 0.0 && !skiplist {
            0.0
        } else {
            score
        };
        out.insert(member.to_vec(), score);
    }
    out
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
/// (`zrangestoreCommand`): the range is parsed first, then the source read (a missing one
/// is an empty result, another type WRONGTYPE). A non-empty result replaces `dst` (no TTL,
/// `setKey`); an empty one deletes it (`dbDelete`, no lookup: an expired `dst` counts as
/// deleted). One change when anything was written or deleted, propagated as sent.
pub fn zrangestore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let q = match parse_range_query(argv, 2, true, RangeType::Auto, Direction::Auto) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let result = match zset_for_read(ctx, &argv[2]) {
        Ok(Some(z)) => stored_range(&pick(z, &q), matches!(q.kind, RangeKind::Rank(..))),
        Ok(None) => ZSetValue::default(),
        Err(e) => return e,
    };
    let dst = &argv[1];
    if result.is_empty() {
        if ctx.dbm().swap_remove(dst.as_slice()).is_some() {
            ctx.modified(dst);
            ctx.dirty(1);
        }
        return Reply::Integer(0);
    }
    let len = result.len();
    set_key(ctx, dst, Value::ZSet(result));
    ctx.dirty(1);
    int(len)
}

/// `zremrangeGenericCommand`: the range is parsed first (its error, or the integer error for
/// ranks), a missing key answers 0; the members in range are removed (dirty counts them, so
/// removing nothing is not propagated) and a zset emptied is deleted. Propagated as sent.
fn zremrange_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], kind: RangeKind) -> Reply {
    let key = &argv[1];
    let z = match ctx.lookup_write(key) {
        None => return Reply::Integer(0),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => z,
        Some(_) => return wrongtype(),
    };
    let doomed: Vec<Vec<u8>> = match kind {
        RangeKind::Rank(start, end) => match index_range(start, end, z.len()) {
            None => return Reply::Integer(0),
            Some((s, e)) => z
                .iter()
                .skip(s)
                .take(e - s + 1)
                .map(|(m, _)| m.to_vec())
                .collect(),
        },
        RangeKind::Score(min, max) => z
            .iter()
            .filter(|(_, s)| min.below(*s) && max.above(*s))
            .map(|(m, _)| m.to_vec())
            .collect(),
        RangeKind::Lex(min, max) => {
            let items: Vec<(&[u8], f64)> = z.iter().collect();
            lex_range(&items, &min, &max, false, 0, -1)
                .into_iter()
                .map(|(m, _)| m.to_vec())
                .collect()
        }
    };
    for m in &doomed {
        z.remove(m);
    }
    if z.is_empty() {
        ctx.dbm().swap_remove(key.as_slice());
    }
    if !doomed.is_empty() {
        ctx.modified(key);
    }
    ctx.dirty(doomed.len() as u64);
    int(doomed.len())
}

/// ZREMRANGEBYRANK key start stop.
pub fn zremrangebyrank(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match (i64_arg(&argv[2]), i64_arg(&argv[3])) {
        (Ok(a), Ok(b)) => zremrange_generic(ctx, argv, RangeKind::Rank(a, b)),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

/// ZREMRANGEBYSCORE key min max (`zslParseRange`: `(` for an open bound, `strtod` else).
pub fn zremrangebyscore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match (parse_score_bound(&argv[2]), parse_score_bound(&argv[3])) {
        (Some(a), Some(b)) => zremrange_generic(ctx, argv, RangeKind::Score(a, b)),
        _ => err("ERR min or max is not a float"),
    }
}

/// ZREMRANGEBYLEX key min max (`zslParseLexRange`: `-`, `+`, `(x` or `[x`). Members are
/// walked as the listpack code walks them (see [`lex_range`]); with equal scores a skiplist
/// removes the same ones, with mixed scores (undefined in Redis) a skiplist's result
/// depends on its random levels and is not modelled.
pub fn zremrangebylex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match (parse_lex_bound(&argv[2]), parse_lex_bound(&argv[3])) {
        (Some(a), Some(b)) => zremrange_generic(ctx, argv, RangeKind::Lex(a, b)),
        _ => err("ERR min or max not valid string range item"),
    }
}

/// Order of lex bounds (`sdscmplex` with `shared.minstring`/`maxstring`).
fn lex_cmp(a: &LexBound, b: &LexBound) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Less,
        (_, LexBound::Min) | (LexBound::Max, _) => Greater,
        (LexBound::Value(x, _), LexBound::Value(y, _)) => x.cmp(y),
    }
}

fn lex_exclusive(b: &LexBound) -> bool {
    match b {
        LexBound::Min | LexBound::Max => true,
        LexBound::Value(_, ex) => *ex,
    }
}

/// BYLEX exactly as the listpack code walks it (`zzlFirstInLexRange`/`zzlLastInLexRange`
/// and `genericZrangebylexCommand`): it assumes lex order, so with mixed scores it stops at
/// the first member out of range, like Redis (the result is "undefined" but deterministic).
fn lex_range<'z>(
    items: &[(&'z [u8], f64)],
    min: &LexBound,
    max: &LexBound,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(&'z [u8], f64)> {
    let cmp = lex_cmp(min, max);
    if cmp == std::cmp::Ordering::Greater
        || (cmp == std::cmp::Ordering::Equal && (lex_exclusive(min) || lex_exclusive(max)))
    {
        return Vec::new();
    }
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return Vec::new();
    };
    if !lex_gte_min(last.0, min) || !lex_lte_max(first.0, max) {
        return Vec::new();
    }
    let n = items.len();
    // Positions in walking order.
    let order: Vec<usize> = if rev {
        (0..n).rev().collect()
    } else {
        (0..n).collect()
    };
    let start = order.iter().position(|&i| {
        if rev {
            lex_lte_max(items[i].0, max)
        } else {
            lex_gte_min(items[i].0, min)
        }
    });
    let Some(start) = start else {
        return Vec::new();
    };
    let s0 = items[order[start]].0;
    let ok = if rev {
        lex_gte_min(s0, min)
    } else {
        lex_lte_max(s0, max)
    };
    if !ok || offset < 0 {
        return Vec::new();
    }
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut remaining = limit;
    for &i in order.iter().skip(start).skip(skip) {
        if remaining == 0 {
            break;
        }
        remaining = remaining.saturating_sub(1);
        let m = items[i].0;
        let inside = if rev {
            lex_gte_min(m, min)
        } else {
            lex_lte_max(m, max)
        };
        if !inside {
            break;
        }
        out.push(items[i]);
    }
    out
}

/// LIMIT as Redis applies it: a negative offset skips everything, a negative count means
/// no limit.
fn apply_limit<'z>(
    it: impl Iterator<Item = (&'z [u8], f64)>,
    offset: i64,
    limit: i64,
) -> Vec<(&'z [u8], f64)> {
    if offset < 0 {
        return Vec::new();
    }
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = if limit < 0 {
        usize::MAX
    } else {
        usize::try_from(limit).unwrap_or(usize::MAX)
    };
    it.skip(skip).take(take).collect()
}

/// Which end of a sorted set a pop takes from (`ZSET_MIN` / `ZSET_MAX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZEnd {
    Min,
    Max,
}

impl ZEnd {
    /// `MIN` or `MAX`, in any case (ZMPOP, BZMPOP).
    pub(super) fn parse(arg: &[u8]) -> Option<ZEnd> {
        if eq_ic(arg, "min") {
            Some(ZEnd::Min)
        } else if eq_ic(arg, "max") {
            Some(ZEnd::Max)
        } else {
            None
        }
    }

    /// `shared.zpopmin` / `shared.zpopmax`: what Redis propagates for this end.
    pub(super) fn pop_command(self) -> &'static str {
        match self {
            ZEnd::Min => "ZPOPMIN",
            ZEnd::Max => "ZPOPMAX",
        }
    }
}

/// How `genericZpopCommand` shapes its reply (RESP2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ZpopShape {
    /// ZPOPMIN/ZPOPMAX: `[member, score, …]`; an empty array when there is nothing.
    Flat,
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`.
    FlatWithKey,
    /// ZMPOP/BZMPOP: `[key, [[member, score], …]]`; a null array when there is nothing.
    Nested,
}

/// `genericZpopCommand` on `keys`: the first existing key is popped (a key of another type is
/// WRONGTYPE) — `count` elements, or one when `None` — from `end`. Returns the reply, the
/// key popped and how many elements it held before, and whether it was deleted.
pub(super) fn zpop_generic(
    ctx: &mut ExecCtx,
    keys: &[Vec<u8>],
    end: ZEnd,
    count: Option<u64>,
    shape: ZpopShape,
) -> (Reply, Option<(Vec<u8>, usize)>, bool) {
    let mut found = None;
    for key in keys {
        match ctx.lookup_write(key) {
            None => continue,
            Some(Entry {
                value: Value::ZSet(z),
                ..
            }) => {
                found = Some((key, z.len()));
                break;
            }
            Some(_) => return (wrongtype(), None, false),
        }
    }
    let Some((key, len)) = found else {
        let reply = match shape {
            ZpopShape::Nested => Reply::NilArray,
            _ => Reply::Array(Vec::new()),
        };
        return (reply, None, false);
    };
    if count == Some(0) {
        return (Reply::Array(Vec::new()), None, false);
    }
    let n = count.map_or(1, |c| usize::try_from(c).unwrap_or(usize::MAX));
    let mut popped = Vec::new();
    let mut deleted = false;
    if let Some(Entry {
        value: Value::ZSet(z),
        ..
    }) = ctx.dbm().get_mut(key.as_slice())
    {
        for _ in 0..n.min(len) {
            let next = match end {
                ZEnd::Min => z.iter().next(),
                ZEnd::Max => z.iter().next_back(),
            };
            let Some((member, score)) = next.map(|(m, s)| (m.to_vec(), s)) else {
                break;
            };
            z.remove(&member);
            popped.push((member, score));
        }
        deleted = z.is_empty();
    }
    if deleted {
        ctx.dbm().swap_remove(key.as_slice());
    }
    if !popped.is_empty() {
        ctx.modified(key);
    }
    ctx.dirty(popped.len() as u64);
    let reply = match shape {
        ZpopShape::Flat | ZpopShape::FlatWithKey => {
            let mut out = Vec::with_capacity(popped.len() * 2 + 1);
            if shape == ZpopShape::FlatWithKey {
                out.push(Reply::bulk(key));
            }
            for (member, score) in popped {
                out.push(Reply::Bulk(member));
                out.push(score_reply(score));
            }
            Reply::Array(out)
        }
        ZpopShape::Nested => Reply::Array(vec![
            Reply::bulk(key),
            Reply::Array(
                popped
                    .into_iter()
                    .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), score_reply(s)]))
                    .collect(),
            ),
        ]),
    };
    (reply, Some((key.clone(), len)), deleted)
}

/// `ZPOPMIN|ZPOPMAX key [count]` (`zpopMinMaxCommand`): more than one count is a syntax
/// error; propagated as sent when something was popped.
fn zpop_min_max(ctx: &mut ExecCtx, argv: &[Vec<u8>], end: ZEnd) -> Reply {
    if argv.len() > 3 {
        return syntax();
    }
    let count = match argv.get(2).map(|a| positive_arg(a)) {
        None => None,
        Some(Ok(n)) => Some(n as u64),
        Some(Err(e)) => return e,
    };
    zpop_generic(ctx, &argv[1..2], end, count, ZpopShape::Flat).0
}

pub fn zpopmin(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zpop_min_max(ctx, argv, ZEnd::Min)
}

pub fn zpopmax(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    zpop_min_max(ctx, argv, ZEnd::Max)
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]`: pops from the first existing key,
/// answering `[key, [[member, score], …]]` or a null array. Propagated as
/// `ZPOPMIN|ZPOPMAX key n`, `n` being the count asked for, capped at the set's size.
pub fn zmpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let args = match super::lists::parse_mpop(argv, 1, ZEnd::parse) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let keys = &argv[args.first_key..args.first_key + args.numkeys];
    let (reply, popped, _) =
        zpop_generic(ctx, keys, args.where_, Some(args.count), ZpopShape::Nested);
    if let Some((key, len)) = popped {
        let n = args.count.min(len as u64).to_string();
        ctx.rewrite(&[args.where_.pop_command().as_bytes(), &key, n.as_bytes()]);
    }
    reply
}
