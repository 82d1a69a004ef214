//! The blocking list and sorted-set commands (t_list.c, t_zset.c, blocked.c in Redis 7.0):
//! BLPOP, BRPOP, BLMPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! Each first tries to act at once, exactly like its non-blocking form, and is then
//! propagated as that form (`LPOP key`, `LPOP key n`, `LMOVE …`, `RPOPLPUSH …`,
//! `ZPOPMIN key [n]`). When every key is missing it blocks: the handler leaves a
//! [`BlockRequest`] in the context and the node parks the client (`blockForKeys`) — unless
//! the context may not block (inside EXEC, or with no client to park), where the answer is
//! the timeout's null. When a later write creates one of the keys (`signalKeyAsReady`), the
//! node serves the clients parked on it, oldest first, through [`serve`], which replies and
//! propagates the way `serveClientsBlockedOnListKey`/`…SortedSetKey` do.

use super::lists::{self, End};
use super::longdouble::LongDouble;
use super::util::err;
use super::zsets::{zpop_generic, ZEnd, ZpopShape};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::Reply;

/// What a client blocked on keys will do once one of them is ready (`c->bpop`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockedOp {
    /// BLPOP/BRPOP (`count` `None`, one element) and BLMPOP (`count` elements at most).
    ListPop { from: End, count: Option<u64> },
    /// BLMOVE and BRPOPLPUSH (`rpoplpush`): pop from the ready key, push on `dst`.
    ListMove {
        dst: Vec<u8>,
        from: End,
        to: End,
        rpoplpush: bool,
    },
    /// BZPOPMIN/BZPOPMAX (`count` `None`, one element) and BZMPOP.
    ZPop { end: ZEnd, count: Option<u64> },
}

impl BlockedOp {
    /// True for list operations (`BLOCKED_LIST`), false for sorted sets (`BLOCKED_ZSET`).
    pub fn is_list(&self) -> bool {
        !matches!(self, BlockedOp::ZPop { .. })
    }
}

/// A blocking command that found nothing to do: what to block on (`blockForKeys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRequest {
    /// The keys, each once, in the order given.
    pub keys: Vec<Vec<u8>>,
    pub op: BlockedOp,
    /// `bpop.timeout`: the client times out once the clock is past this (unix ms);
    /// `None` blocks until served.
    pub deadline_ms: Option<u64>,
}

/// `getTimeoutFromObjectOrReply(…, UNIT_SECONDS)`: seconds as a long double, turned into
/// milliseconds with `ceill`, so `-0.0001` is 0 (forever) and `inf` is negative. Returns
/// the deadline, `None` for 0.
fn timeout_arg(ctx: &ExecCtx, arg: &[u8]) -> Result<Option<u64>, Reply> {
    let seconds =
        LongDouble::parse(arg).ok_or_else(|| err("ERR timeout is not a float or out of range"))?;
    let ms = seconds.ceil_thousandfold();
    if ms < 0 {
        return Err(err("ERR timeout is negative"));
    }
    Ok((ms > 0).then(|| ctx.now_ms.saturating_add(ms as u64)))
}

/// Parks the caller on `keys`, or answers `denied` where it may not block
/// (`CLIENT_DENY_BLOCKING`).
fn block(
    ctx: &mut ExecCtx,
    keys: &[Vec<u8>],
    op: BlockedOp,
    deadline_ms: Option<u64>,
    denied: Reply,
) -> Reply {
    if ctx.deny_blocking {
        return denied;
    }
    let mut unique: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.contains(key) {
            unique.push(key.clone());
        }
    }
    ctx.block = Some(BlockRequest {
        keys: unique,
        op,
        deadline_ms,
    });
    Reply::NilArray
}

/// `blockingPopGenericCommand`: the timeout is parsed first; then the first non-empty list
/// among `keys` is popped (a key of another type is WRONGTYPE) — one element answered as
/// `[key, element]` and propagated as `LPOP|RPOP key`, or with `count` (BLMPOP) up to
/// `count` answered as `[key, [elements]]` and propagated as `LPOP|RPOP key n`.
fn blocking_pop(
    ctx: &mut ExecCtx,
    keys: &[Vec<u8>],
    from: End,
    timeout: &[u8],
    count: Option<u64>,
) -> Reply {
    let deadline = match timeout_arg(ctx, timeout) {
        Ok(d) => d,
        Err(e) => return e,
    };
    for key in keys {
        let len = match lists::nonempty_list(ctx, key) {
            Err(e) => return e,
            Ok(None) => continue,
            Ok(Some(len)) => len,
        };
        let pop = from.pop_command().as_bytes();
        return match count {
            Some(count) => {
                let (reply, _, _) = lists::pop_range_with_key(ctx, key, from, count);
                let n = count.min(len as u64).to_string();
                ctx.rewrite(&[pop, key, n.as_bytes()]);
                reply
            }
            None => {
                let (value, _) = lists::pop_one(ctx, key, from);
                ctx.rewrite(&[pop, key]);
                Reply::Array(vec![
                    Reply::bulk(key),
                    value.map_or(Reply::Nil, Reply::Bulk),
                ])
            }
        };
    }
    block(
        ctx,
        keys,
        BlockedOp::ListPop { from, count },
        deadline,
        Reply::NilArray,
    )
}

/// `BLPOP key [key ...] timeout`.
pub fn blpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let last = argv.len() - 1;
    blocking_pop(ctx, &argv[1..last], End::Left, &argv[last], None)
}

/// `BRPOP key [key ...] timeout`.
pub fn brpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let last = argv.len() - 1;
    blocking_pop(ctx, &argv[1..last], End::Right, &argv[last], None)
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`: the arguments are
/// checked before the timeout.
pub fn blmpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let args = match lists::parse_mpop(argv, 2, |a| End::parse(a).ok()) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let keys = &argv[args.first_key..args.first_key + args.numkeys];
    blocking_pop(ctx, keys, args.where_, &argv[1], Some(args.count))
}

/// `blmoveGenericCommand`: a missing source blocks (or answers a null bulk where it may not
/// block); an existing one moves at once like LMOVE and is propagated as `LMOVE` with the
/// client's arguments, or `RPOPLPUSH src dst` for BRPOPLPUSH.
fn blocking_move(
    ctx: &mut ExecCtx,
    argv: &[Vec<u8>],
    from: End,
    to: End,
    deadline: Option<u64>,
    rpoplpush: bool,
) -> Reply {
    let (src, dst) = (&argv[1], &argv[2]);
    match lists::nonempty_list(ctx, src) {
        Err(e) => e,
        Ok(None) => {
            let op = BlockedOp::ListMove {
                dst: dst.clone(),
                from,
                to,
                rpoplpush,
            };
            block(ctx, std::slice::from_ref(src), op, deadline, Reply::Nil)
        }
        Ok(Some(_)) => match lists::move_element(ctx, src, dst, from, to) {
            Err(e) => e,
            Ok((value, _)) => {
                if rpoplpush {
                    ctx.rewrite(&[b"RPOPLPUSH".as_slice(), src, dst]);
                } else {
                    ctx.rewrite(&[b"LMOVE".as_slice(), src, dst, &argv[3], &argv[4]]);
                }
                Reply::Bulk(value)
            }
        },
    }
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: both ends are checked before
/// the timeout.
pub fn blmove(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let ends = End::parse(&argv[3]).and_then(|f| End::parse(&argv[4]).map(|t| (f, t)));
    let (from, to) = match ends {
        Ok(e) => e,
        Err(e) => return e,
    };
    match timeout_arg(ctx, &argv[5]) {
        Ok(deadline) => blocking_move(ctx, argv, from, to, deadline, false),
        Err(e) => e,
    }
}

/// `BRPOPLPUSH source destination timeout`.
pub fn brpoplpush(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match timeout_arg(ctx, &argv[3]) {
        Ok(deadline) => blocking_move(ctx, argv, End::Right, End::Left, deadline, true),
        Err(e) => e,
    }
}

/// `blockingGenericZpopCommand`: the timeout is parsed first; the first existing sorted set
/// among `keys` is popped (another type is WRONGTYPE), answered `[key, member, score]`
/// (BZPOPMIN/BZPOPMAX) or `[key, [[member, score], …]]` (BZMPOP), and propagated as
/// `ZPOPMIN|ZPOPMAX key`, or with BZMPOP's count capped at the set's size.
fn blocking_zpop(
    ctx: &mut ExecCtx,
    keys: &[Vec<u8>],
    end: ZEnd,
    timeout: &[u8],
    count: Option<u64>,
) -> Reply {
    let deadline = match timeout_arg(ctx, timeout) {
        Ok(d) => d,
        Err(e) => return e,
    };
    for key in keys {
        match ctx.lookup_write(key) {
            None => continue,
            Some(Entry {
                value: Value::ZSet(_),
                ..
            }) => {}
            Some(_) => return super::util::wrongtype(),
        }
        let (reply, op, _) = zpop_now(ctx, key, end, count);
        ctx.rewrite(&op);
        return reply;
    }
    block(
        ctx,
        keys,
        BlockedOp::ZPop { end, count },
        deadline,
        Reply::NilArray,
    )
}

/// Pops the sorted set at `key` for a BZPOPMIN/BZPOPMAX (`count` `None`) or BZMPOP, whether
/// at once or when served: the reply, the op Redis propagates, and whether the key was
/// deleted.
fn zpop_now(
    ctx: &mut ExecCtx,
    key: &[u8],
    end: ZEnd,
    count: Option<u64>,
) -> (Reply, Vec<Vec<u8>>, bool) {
    let shape = if count.is_some() {
        ZpopShape::Nested
    } else {
        ZpopShape::FlatWithKey
    };
    let (reply, popped, deleted) =
        zpop_generic(ctx, std::slice::from_ref(&key.to_vec()), end, count, shape);
    let mut op = vec![end.pop_command().as_bytes().to_vec(), key.to_vec()];
    if let (Some(count), Some((_, len))) = (count, popped) {
        op.push(count.min(len as u64).to_string().into_bytes());
    }
    (reply, op, deleted)
}

/// `BZPOPMIN key [key ...] timeout`.
pub fn bzpopmin(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let last = argv.len() - 1;
    blocking_zpop(ctx, &argv[1..last], ZEnd::Min, &argv[last], None)
}

/// `BZPOPMAX key [key ...] timeout`.
pub fn bzpopmax(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let last = argv.len() - 1;
    blocking_zpop(ctx, &argv[1..last], ZEnd::Max, &argv[last], None)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`: the arguments are checked
/// before the timeout.
pub fn bzmpop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let args = match lists::parse_mpop(argv, 2, ZEnd::parse) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let keys = &argv[args.first_key..args.first_key + args.numkeys];
    blocking_zpop(ctx, keys, args.where_, &argv[1], Some(args.count))
}

/// What serving one blocked client did: its reply and whether the key was deleted (then
/// the clients parked behind it on that key stay blocked).
pub struct Served {
    pub reply: Reply,
    pub deleted: bool,
}

/// Serves a client blocked with `op` from `key`, which holds a non-empty value of the
/// type `op` waits for (`serveClientBlockedOnList`, `serveClientsBlockedOnSortedSetKey`).
/// The ops Redis hands to `alsoPropagate` are left in the context: `LPOP|RPOP key` before
/// the pop (with BLMPOP's count capped at the list's length), `RPOPLPUSH src dst` or
/// `LMOVE src dst left|right left|right` (lowercase) after the move, `ZPOPMIN|ZPOPMAX key
/// [n]` after the pop. A BLMOVE whose destination holds another type gets WRONGTYPE and
/// nothing moves.
///
/// `server.dirty` counts the elements BLMPOP and BZPOPMIN/BZPOPMAX/BZMPOP pop (they reuse
/// the commands' pop code), but nothing for a served BLPOP, BRPOP, BLMOVE or BRPOPLPUSH:
/// Redis pops and pushes their element directly, without the accounting.
pub(super) fn serve(ctx: &mut ExecCtx, key: &[u8], op: &BlockedOp) -> Served {
    let dirty_before = ctx.prop.dirty;
    let uncounted = matches!(
        op,
        BlockedOp::ListPop { count: None, .. } | BlockedOp::ListMove { .. }
    );
    let served = serve_op(ctx, key, op);
    if uncounted {
        ctx.prop.dirty = dirty_before;
    }
    served
}

fn serve_op(ctx: &mut ExecCtx, key: &[u8], op: &BlockedOp) -> Served {
    match op {
        BlockedOp::ListPop { from, count } => {
            let len = match ctx.dbr().get(key) {
                Some(Entry {
                    value: Value::List(list),
                    ..
                }) => list.len() as u64,
                _ => 0,
            };
            let pop = from.pop_command().as_bytes();
            match count {
                Some(count) => {
                    let n = (*count).min(len).to_string();
                    ctx.also_propagate(&[pop, key, n.as_bytes()]);
                    let (reply, _, deleted) = lists::pop_range_with_key(ctx, key, *from, *count);
                    Served { reply, deleted }
                }
                None => {
                    ctx.also_propagate(&[pop, key]);
                    let (value, deleted) = lists::pop_one(ctx, key, *from);
                    let reply = Reply::Array(vec![
                        Reply::bulk(key),
                        value.map_or(Reply::Nil, Reply::Bulk),
                    ]);
                    Served { reply, deleted }
                }
            }
        }
        BlockedOp::ListMove {
            dst,
            from,
            to,
            rpoplpush,
        } => match lists::move_element(ctx, key, dst, *from, *to) {
            Err(reply) => Served {
                reply,
                deleted: false,
            },
            Ok((value, deleted)) => {
                if *rpoplpush {
                    ctx.also_propagate(&[b"RPOPLPUSH".as_slice(), key, dst]);
                } else {
                    ctx.also_propagate(&[
                        b"LMOVE".as_slice(),
                        key,
                        dst,
                        from.word().as_bytes(),
                        to.word().as_bytes(),
                    ]);
                }
                Served {
                    reply: Reply::Bulk(value),
                    deleted,
                }
            }
        },
        BlockedOp::ZPop { end, count } => {
            let (reply, op, deleted) = zpop_now(ctx, key, *end, *count);
            ctx.also_propagate(&op);
            Served { reply, deleted }
        }
    }
}
