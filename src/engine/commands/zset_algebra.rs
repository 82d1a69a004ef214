//! Sorted-set algebra (t_zset.c `zunionInterDiffGenericCommand`, Redis 7.0): ZUNION, ZINTER,
//! ZDIFF, their `…STORE` forms and ZINTERCARD. Plain sets take part with score 1.
//!
//! Redis's order of work, which decides which error wins: numkeys, then every source key
//! (`lookupKeyRead`, lazily expiring; WRONGTYPE for anything but a set or zset), then the
//! options. Scores are combined in the order Redis does — sources sorted by size (stably),
//! `weight * score` with NaN read as 0, SUM turning `inf + -inf` into 0 — so sums of floats
//! come out bit for bit the same. Stores propagate as sent, like the set stores.

use super::set_algebra::set_key;
use super::util::{eq_ic, err, i64_arg, int, string2d, syntax, wrongtype};
use super::zsets::score_reply;
use super::ExecCtx;
use crate::engine::keyspace::{Entry, FixedState, Value, ZSetValue};
use crate::engine::resp::{parse_i64, Reply};

/// `zset-max-listpack-entries`: a stored result this small is a listpack.
const MAX_LISTPACK_ENTRIES: usize = 128;
/// `zset-max-listpack-value`: … if no member is longer than this.
const MAX_LISTPACK_VALUE: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// `zunionInterAggregate`.
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

/// One input: a set or sorted set (`None` for a missing key) and its weight.
struct Source<'a> {
    value: Option<&'a Value>,
    weight: f64,
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self.value {
            Some(Value::Set(s)) => s.len(),
            Some(Value::ZSet(z)) => z.len(),
            _ => 0,
        }
    }

    /// `zuiFind`: the member's score (1 in a set).
    fn find(&self, member: &[u8]) -> Option<f64> {
        match self.value {
            Some(Value::Set(s)) => s.contains(member).then_some(1.0),
            Some(Value::ZSet(z)) => z.score(member),
            _ => None,
        }
    }

    /// Every member with its score (the walk order does not change any result).
    fn items(&self) -> Vec<(&[u8], f64)> {
        match self.value {
            Some(Value::Set(s)) => s.iter().map(|m| (m.as_slice(), 1.0)).collect(),
            Some(Value::ZSet(z)) => z.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// `weight * score`, NaN (`0 * inf`) read as 0.
    fn weighted(&self, score: f64) -> f64 {
        let v = self.weight * score;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    }
}

/// What the options asked for.
struct Options {
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: usize,
}

/// The option loop of `zunionInterDiffGenericCommand`, from `j` on.
fn parse_options(
    argv: &[Vec<u8>],
    mut j: usize,
    setnum: usize,
    op: Op,
    store: bool,
    card_only: bool,
) -> Result<Options, Reply> {
    let mut o = Options {
        weights: vec![1.0; setnum],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = &argv[j];
        if op != Op::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            for (i, w) in argv[j + 1..=j + setnum].iter().enumerate() {
                o.weights[i] = string2d(w).ok_or_else(|| err("ERR weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != Op::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let which = &argv[j + 1];
            o.aggregate = if eq_ic(which, "sum") {
                Aggregate::Sum
            } else if eq_ic(which, "min") {
                Aggregate::Min
            } else if eq_ic(which, "max") {
                Aggregate::Max
            } else {
                return Err(syntax());
            };
            j += 2;
        } else if !store && !card_only && eq_ic(a, "withscores") {
            o.withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            o.limit = match parse_i64(&argv[j + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(err("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(syntax());
        }
    }
    Ok(o)
}

/// The intersection: walk the smallest source, combine with every other one.
fn intersection(src: &[Source], agg: Aggregate, limit: usize) -> ZSetValue {
    let mut out = ZSetValue::default();
    let Some((first, rest)) = src.split_first() else {
        return out;
    };
    for (member, s0) in first.items() {
        let mut score = first.weighted(s0);
        let in_all = rest.iter().all(|other| match other.find(member) {
            Some(v) => {
                agg.apply(&mut score, v * other.weight);
                true
            }
            None => false,
        });
        if in_all {
            out.insert(member.to_vec(), score);
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// The union: an accumulator filled source by source, then sorted.
fn union(src: &[Source], agg: Aggregate) -> ZSetValue {
    let mut acc: indexmap::IndexMap<&[u8], f64, FixedState> = indexmap::IndexMap::default();
    for source in src {
        for (member, s) in source.items() {
            let score = source.weighted(s);
            match acc.get_mut(member) {
                Some(target) => agg.apply(target, score),
                None => {
                    acc.insert(member, score);
                }
            }
        }
    }
    let mut out = ZSetValue::default();
    for (member, score) in acc {
        out.insert(member.to_vec(), score);
    }
    out
}

/// Members of the first source in none of the others, with their first-source scores
/// (both of Redis's diff algorithms give this; a repeated first key gives nothing).
fn difference(src: &[Source]) -> ZSetValue {
    let mut out = ZSetValue::default();
    let Some((first, rest)) = src.split_first() else {
        return out;
    };
    for (member, score) in first.items() {
        if rest.iter().all(|other| other.find(member).is_none()) {
            out.insert(member.to_vec(), score);
        }
    }
    out
}

/// A stored result as Redis keeps it: a result small enough becomes a listpack, where a
/// `-0` score reads back as 0 (`zsetConvertToListpackIfNeeded`).
fn as_stored(result: ZSetValue) -> ZSetValue {
    let small = result.len() <= MAX_LISTPACK_ENTRIES
        && result.iter().all(|(m, _)| m.len() <= MAX_LISTPACK_VALUE);
    if !small || !result.iter().any(|(_, s)| s == 0.0 && s.is_sign_negative()) {
        return result;
    }
    let mut out = ZSetValue::default();
    for (m, s) in result.iter() {
        out.insert(m.to_vec(), if s == 0.0 { 0.0 } else { s });
    }
    out
}

/// `zunionInterDiffGenericCommand`: `numkeys` is at `argv[idx]`; `dst` for the STORE forms.
fn generic(
    ctx: &mut ExecCtx,
    argv: &[Vec<u8>],
    idx: usize,
    dst: Option<&[u8]>,
    op: Op,
    card_only: bool,
) -> Reply {
    let setnum = match i64_arg(&argv[idx]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if setnum < 1 {
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        return err(&format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    let setnum = match usize::try_from(setnum) {
        Ok(n) if n <= argv.len() - (idx + 1) => n,
        _ => return syntax(),
    };
    let keys = &argv[idx + 1..idx + 1 + setnum];
    let mut present = Vec::with_capacity(setnum);
    for key in keys {
        match ctx.lookup_read(key) {
            None => present.push(false),
            Some(Entry {
                value: Value::Set(_) | Value::ZSet(_),
                ..
            }) => present.push(true),
            Some(_) => return wrongtype(),
        }
    }
    let o = match parse_options(argv, idx + 1 + setnum, setnum, op, dst.is_some(), card_only) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let db = ctx.dbr();
    let mut src: Vec<Source> = keys
        .iter()
        .zip(&present)
        .zip(&o.weights)
        .map(|((key, &here), &weight)| Source {
            value: db.get(key.as_slice()).filter(|_| here).map(|e| &e.value),
            weight,
        })
        .collect();
    if op != Op::Diff {
        src.sort_by_key(Source::len);
    }
    let result = match op {
        Op::Inter => intersection(&src, o.aggregate, if card_only { o.limit } else { 0 }),
        Op::Union => union(&src, o.aggregate),
        Op::Diff => difference(&src),
    };
    if card_only {
        return int(result.len());
    }
    match dst {
        Some(dst) => store(ctx, dst, result),
        None => {
            let mut out = Vec::with_capacity(result.len() * if o.withscores { 2 } else { 1 });
            for (m, s) in result.iter() {
                out.push(Reply::bulk(m));
                if o.withscores {
                    out.push(score_reply(s));
                }
            }
            Reply::Array(out)
        }
    }
}

/// `setKey` a non-empty result, else `dbDelete` the destination (see `set_algebra`).
fn store(ctx: &mut ExecCtx, dst: &[u8], result: ZSetValue) -> Reply {
    if result.is_empty() {
        if ctx.dbm().swap_remove(dst).is_some() {
            ctx.modified(dst);
            ctx.dirty(1);
        }
        return Reply::Integer(0);
    }
    let len = result.len();
    set_key(ctx, dst, Value::ZSet(as_stored(result)));
    ctx.dirty(1);
    int(len)
}

pub fn zunionstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 2, Some(&argv[1]), Op::Union, false)
}

pub fn zinterstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 2, Some(&argv[1]), Op::Inter, false)
}

pub fn zdiffstore(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 2, Some(&argv[1]), Op::Diff, false)
}

pub fn zunion(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 1, None, Op::Union, false)
}

pub fn zinter(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 1, None, Op::Inter, false)
}

pub fn zdiff(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 1, None, Op::Diff, false)
}

pub fn zintercard(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    generic(ctx, argv, 1, None, Op::Inter, true)
}
