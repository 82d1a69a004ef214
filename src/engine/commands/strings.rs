//! String commands (t_string.c, Redis 7.0).

use super::longdouble::LongDouble;
use super::util::{eq_ic, err, i64_arg, int, invalid_expire, syntax, wrongtype, OVERFLOW};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::{parse_i64, Reply};

/// `getGenericCommand`: `Ok(reply)` (bulk or nil) or `Err(WRONGTYPE)`.
fn get_generic(ctx: &mut ExecCtx, key: &[u8]) -> Result<Reply, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(Reply::Nil),
        Some(Entry {
            value: Value::String(s),
            ..
        }) => Ok(Reply::bulk(s)),
        Some(_) => Err(wrongtype()),
    }
}

pub fn get(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    get_generic(ctx, &argv[1]).unwrap_or_else(|e| e)
}

/// `setKey`: lookupKeyWrite (lazy expiry), overwrite, drop the TTL unless KEEPTTL.
fn set_key(ctx: &mut ExecCtx, key: &[u8], val: &[u8], keepttl: bool) {
    let found = ctx.lookup_index(key, true);
    set_key_at(ctx, found, key, val, keepttl);
}

/// `setKey` for a key already looked up (`found`: where it is, if it exists): an existing
/// key's entry is overwritten in place, keeping its place in the database. A string value
/// of about the same size reuses its buffer (a workload overwriting keys then allocates
/// nothing).
fn set_key_at(ctx: &mut ExecCtx, found: Option<usize>, key: &[u8], val: &[u8], keepttl: bool) {
    if let Some((_, entry)) = found.and_then(|i| ctx.dbm().get_index_mut(i)) {
        match &mut entry.value {
            Value::String(old)
                if old.capacity() >= val.len() && old.capacity() <= 2 * val.len() + 64 =>
            {
                old.clear();
                old.extend_from_slice(val);
            }
            value => *value = Value::String(val.to_vec()),
        }
        if !keepttl {
            entry.expire_at_ms = None;
        }
        return;
    }
    ctx.dbm().insert(
        key.to_vec(),
        Entry {
            value: Value::String(val.to_vec()),
            expire_at_ms: None,
        },
    );
}

#[derive(Default, Clone, Copy)]
struct SetFlags {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    ex: bool,
    px: bool,
    exat: bool,
    pxat: bool,
}

impl SetFlags {
    fn any_expire(&self) -> bool {
        self.ex || self.px || self.exat || self.pxat
    }
}

/// `parseExtendedStringArgumentsOrReply` for SET (COMMAND_SET): returns the flags and the
/// expire argument.
fn parse_set_args(argv: &[Vec<u8>]) -> Result<(SetFlags, Option<&[u8]>), Reply> {
    let mut f = SetFlags::default();
    let mut expire = None;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let next = argv.get(j + 1);
        if eq_ic(opt, "nx") && !f.xx {
            f.nx = true;
        } else if eq_ic(opt, "xx") && !f.nx {
            f.xx = true;
        } else if eq_ic(opt, "get") {
            f.get = true;
        } else if eq_ic(opt, "keepttl") && !f.any_expire() {
            f.keepttl = true;
        } else if eq_ic(opt, "ex") && !f.keepttl && !f.exat && !f.px && !f.pxat && next.is_some() {
            f.ex = true;
            expire = next.map(|v| v.as_slice());
            j += 1;
        } else if eq_ic(opt, "px") && !f.keepttl && !f.ex && !f.exat && !f.pxat && next.is_some() {
            f.px = true;
            expire = next.map(|v| v.as_slice());
            j += 1;
        } else if eq_ic(opt, "exat") && !f.keepttl && !f.ex && !f.px && !f.pxat && next.is_some() {
            f.exat = true;
            expire = next.map(|v| v.as_slice());
            j += 1;
        } else if eq_ic(opt, "pxat") && !f.keepttl && !f.ex && !f.exat && !f.px && next.is_some() {
            f.pxat = true;
            expire = next.map(|v| v.as_slice());
            j += 1;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    Ok((f, expire))
}

/// `getExpireMillisecondsOrReply`: the absolute expire time in ms.
fn expire_ms(
    ctx: &ExecCtx,
    arg: &[u8],
    seconds: bool,
    relative: bool,
    cmd: &str,
) -> Result<i64, Reply> {
    let mut ms = i64_arg(arg)?;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    if seconds {
        ms *= 1000;
    }
    if relative {
        let now = i64::try_from(ctx.now_ms).unwrap_or(i64::MAX);
        ms = ms.checked_add(now).ok_or_else(|| invalid_expire(cmd))?;
    }
    if ms <= 0 {
        return Err(invalid_expire(cmd));
    }
    Ok(ms)
}

/// `setGenericCommand`. A command with an expire propagates as `SET key value PXAT <ms>`
/// (5 args: NX/XX/GET/KEEPTTL dropped); with GET and no expire, the GET arguments are removed
/// from the propagated argv; otherwise the argv goes as sent.
#[allow(clippy::too_many_arguments)]
fn set_generic(
    ctx: &mut ExecCtx,
    argv: &[Vec<u8>],
    f: SetFlags,
    key: &[u8],
    val: &[u8],
    expire: Option<&[u8]>,
    cmd: &str,
    ok_reply: Reply,
    abort_reply: Reply,
) -> Reply {
    let when = match expire {
        Some(arg) => match expire_ms(ctx, arg, f.ex || f.exat, f.ex || f.px, cmd) {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    let mut reply = ok_reply;
    if f.get {
        match get_generic(ctx, key) {
            Ok(old) => reply = old,
            Err(e) => return e,
        }
    }
    let found = ctx.lookup_index(key, true);
    if (f.nx && found.is_some()) || (f.xx && found.is_none()) {
        return if f.get { reply } else { abort_reply };
    }
    set_key_at(ctx, found, key, val, f.keepttl);
    ctx.dirty(1);
    if let Some(ms) = when {
        ctx.set_expire(key, ms);
        let ms = ms.to_string();
        ctx.rewrite(&[b"SET".as_slice(), key, val, b"PXAT", ms.as_bytes()]);
    } else if f.get {
        let kept: Vec<&[u8]> = argv
            .iter()
            .enumerate()
            .filter(|(j, a)| !(*j >= 3 && eq_ic(a, "get")))
            .map(|(_, a)| a.as_slice())
            .collect();
        ctx.rewrite(&kept);
    }
    reply
}

pub fn set(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (f, expire) = match parse_set_args(argv) {
        Ok(p) => p,
        Err(e) => return e,
    };
    set_generic(
        ctx,
        argv,
        f,
        &argv[1],
        &argv[2],
        expire,
        "set",
        Reply::ok(),
        Reply::Nil,
    )
}

pub fn setnx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let f = SetFlags {
        nx: true,
        ..SetFlags::default()
    };
    set_generic(
        ctx,
        argv,
        f,
        &argv[1],
        &argv[2],
        None,
        "setnx",
        Reply::Integer(1),
        Reply::Integer(0),
    )
}

pub fn setex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let f = SetFlags {
        ex: true,
        ..SetFlags::default()
    };
    set_generic(
        ctx,
        argv,
        f,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        "setex",
        Reply::ok(),
        Reply::Nil,
    )
}

pub fn psetex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let f = SetFlags {
        px: true,
        ..SetFlags::default()
    };
    set_generic(
        ctx,
        argv,
        f,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        "psetex",
        Reply::ok(),
        Reply::Nil,
    )
}

pub fn mset(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if argv.len().is_multiple_of(2) {
        return super::wrong_arity("mset");
    }
    for pair in argv[1..].chunks_exact(2) {
        set_key(ctx, &pair[0], &pair[1], false);
    }
    ctx.dirty(((argv.len() - 1) / 2) as u64);
    Reply::ok()
}

pub fn mget(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let items = argv[1..]
        .iter()
        .map(|k| match ctx.lookup_read(k) {
            Some(Entry {
                value: Value::String(s),
                ..
            }) => Reply::bulk(s),
            _ => Reply::Nil,
        })
        .collect();
    Reply::Array(items)
}

/// GETSET propagates as `SET key value` (argv[0] rewritten, t_string.c `getsetCommand`).
pub fn getset(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let old = match get_generic(ctx, &argv[1]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    set_key(ctx, &argv[1], &argv[2], false);
    ctx.dirty(1);
    ctx.rewrite(&[b"SET".as_slice(), &argv[1], &argv[2]]);
    old
}

/// GETDEL propagates as `DEL key` (`UNLINK` with lazyfree-lazy-user-del), only if deleted.
pub fn getdel(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let old = match get_generic(ctx, &argv[1]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if ctx.dbm().swap_remove(&argv[1]).is_some() {
        let cmd: &[u8] = if ctx.lazyfree_lazy_user_del {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.rewrite(&[cmd, &argv[1]]);
        ctx.dirty(1);
    }
    old
}

/// `incrDecrCommand`: the key keeps its TTL (`dbOverwrite`).
fn incr_decr(ctx: &mut ExecCtx, key: &[u8], incr: i64) -> Reply {
    let old = match ctx.lookup_write(key) {
        None => 0,
        Some(Entry {
            value: Value::String(s),
            ..
        }) => match parse_i64(s) {
            Some(v) => v,
            None => return err(super::util::NOT_INTEGER),
        },
        Some(_) => return wrongtype(),
    };
    let Some(value) = old.checked_add(incr) else {
        return err(OVERFLOW);
    };
    store_string(ctx, key, value.to_string().into_bytes());
    ctx.dirty(1);
    Reply::Integer(value)
}

/// Overwrites or adds a string value, keeping an existing TTL (`dbOverwrite`/`dbAdd`).
fn store_string(ctx: &mut ExecCtx, key: &[u8], bytes: Vec<u8>) {
    match ctx.dbm().get_mut(key) {
        Some(e) => e.value = Value::String(bytes),
        None => {
            ctx.dbm().insert(
                key.to_vec(),
                Entry {
                    value: Value::String(bytes),
                    expire_at_ms: None,
                },
            );
        }
    }
}

pub fn incr(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    incr_decr(ctx, &argv[1], 1)
}

pub fn decr(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    incr_decr(ctx, &argv[1], -1)
}

pub fn incrby(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match i64_arg(&argv[2]) {
        Ok(n) => incr_decr(ctx, &argv[1], n),
        Err(e) => e,
    }
}

pub fn decrby(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match i64_arg(&argv[2]) {
        Ok(i64::MIN) => err("ERR decrement would overflow"),
        Ok(n) => incr_decr(ctx, &argv[1], -n),
        Err(e) => e,
    }
}

/// INCRBYFLOAT computes in x87 80-bit `long double` like Redis on x86-64 and formats with
/// `%.17Lf` minus trailing zeros (`ld2string`, LD_STR_HUMAN). It always propagates as
/// `SET key <new> KEEPTTL` (t_string.c `incrbyfloatCommand`).
pub fn incrbyfloat(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let current = match ctx.lookup_write(key) {
        None => LongDouble::zero(),
        Some(Entry {
            value: Value::String(s),
            ..
        }) => match LongDouble::parse(s) {
            Some(v) => v,
            None => return err(super::util::NOT_FLOAT),
        },
        Some(_) => return wrongtype(),
    };
    let Some(incr) = LongDouble::parse(&argv[2]) else {
        return err(super::util::NOT_FLOAT);
    };
    let value = current.add(&incr);
    if !value.is_finite() {
        return err("ERR increment would produce NaN or Infinity");
    }
    let text = value.to_human_string().into_bytes();
    store_string(ctx, key, text.clone());
    ctx.dirty(1);
    ctx.rewrite(&[b"SET".as_slice(), key, &text, b"KEEPTTL"]);
    Reply::Bulk(text)
}

pub fn append(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let add = &argv[2];
    let max_len = ctx.proto_max_bulk_len;
    let total = match ctx.lookup_write(key) {
        None => {
            store_string(ctx, key, add.clone());
            add.len()
        }
        Some(Entry {
            value: Value::String(s),
            ..
        }) => {
            let total = s.len().saturating_add(add.len());
            if total as u64 > max_len {
                return err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            s.extend_from_slice(add);
            total
        }
        Some(_) => return wrongtype(),
    };
    ctx.dirty(1);
    int(total)
}

pub fn strlen(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    match ctx.lookup_read(&argv[1]) {
        None => Reply::Integer(0),
        Some(Entry {
            value: Value::String(s),
            ..
        }) => int(s.len()),
        Some(_) => wrongtype(),
    }
}

pub fn echo(_ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    Reply::bulk(&argv[1])
}
