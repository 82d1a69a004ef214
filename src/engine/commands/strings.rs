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
        ctx.modified(key);
        return;
    }
    ctx.dbm().insert(
        key.to_vec(),
        Entry {
            value: Value::String(val.to_vec()),
            expire_at_ms: None,
        },
    );
    ctx.modified(key);
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
        ctx.modified(&argv[1]);
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
    ctx.modified(key);
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
    ctx.modified(key);
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

/// The longest string SETRANGE builds, whoever asks (Redis's default `proto-max-bulk-len`).
/// Redis obeys its master without a limit and would abort on an allocation it cannot make;
/// the engine answers the limit's error instead (the replica then logs it as critical).
const STRING_BYTES_MAX: u64 = 512 * 1024 * 1024;

/// `checkStringLength`: a string of `offset + len` bytes must fit `proto-max-bulk-len`
/// (not checked for the master link, `mustObeyClient`), and [`STRING_BYTES_MAX`] always.
fn check_string_length(ctx: &ExecCtx, offset: u64, len: usize) -> Result<usize, Reply> {
    let total = offset.saturating_add(len as u64);
    let obey = ctx.view == super::ExpireView::MasterClient;
    let allowed = (obey || total <= ctx.proto_max_bulk_len) && total <= STRING_BYTES_MAX;
    match usize::try_from(total) {
        Ok(total) if allowed => Ok(total),
        _ => Err(err(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// SETRANGE (`setrangeCommand`): an empty value creates nothing and changes nothing (the
/// reply is the current length, 0 for a missing key, and it is not propagated); otherwise
/// the string is zero-padded to `offset` and overwritten, keeping its TTL.
pub fn setrange(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (key, value) = (&argv[1], &argv[3]);
    let offset = match i64_arg(&argv[2]) {
        Ok(n) if n < 0 => return err("ERR offset is out of range"),
        Ok(n) => n as u64,
        Err(e) => return e,
    };
    let index = ctx.lookup_index(key, true);
    let current = match index.and_then(|i| ctx.dbr().get_index(i)) {
        None => None,
        Some((
            _,
            Entry {
                value: Value::String(s),
                ..
            },
        )) => Some(s.len()),
        Some(_) => return wrongtype(),
    };
    if value.is_empty() {
        return int(current.unwrap_or(0));
    }
    let total = match check_string_length(ctx, offset, value.len()) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let start = total - value.len();
    let len = match index.and_then(|i| ctx.dbm().get_index_mut(i)) {
        Some((
            _,
            Entry {
                value: Value::String(s),
                ..
            },
        )) => {
            if s.len() < total {
                s.resize(total, 0);
            }
            s[start..total].copy_from_slice(value);
            s.len()
        }
        _ => {
            let mut s = vec![0u8; total];
            s[start..].copy_from_slice(value);
            ctx.db_add(
                key.clone(),
                Entry {
                    value: Value::String(s),
                    expire_at_ms: None,
                },
            );
            total
        }
    };
    ctx.modified(key);
    ctx.dirty(1);
    int(len)
}

/// GETRANGE (`getrangeCommand`): both indexes are parsed before the lookup; a missing key
/// answers an empty bulk.
pub fn getrange(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let mut start = match i64_arg(&argv[2]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let mut end = match i64_arg(&argv[3]) {
        Ok(n) => n,
        Err(e) => return e,
    };
    let s = match ctx.lookup_read(&argv[1]) {
        None => return Reply::bulk(b""),
        Some(Entry {
            value: Value::String(s),
            ..
        }) => s,
        Some(_) => return wrongtype(),
    };
    let len = i64::try_from(s.len()).unwrap_or(i64::MAX);
    if start < 0 && end < 0 && start > end {
        return Reply::bulk(b"");
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Reply::bulk(b"");
    }
    Reply::bulk(&s[start as usize..=end as usize])
}

/// GETEX (`getexCommand`): options are parsed first (syntax errors even for a missing key),
/// the expire time only after the key is found. Never propagated as sent: an EX/PX/EXAT/PXAT
/// goes as `PEXPIREAT key <ms>`, an EXAT/PXAT already past (on a master) deletes the key and
/// goes as `DEL key` (`UNLINK` with lazyfree-lazy-expire), a PERSIST that removed a TTL goes
/// as `PERSIST key`; anything else changes nothing.
pub fn getex(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let (mut ex, mut px, mut exat, mut pxat, mut persist) = (false, false, false, false, false);
    let mut expire: Option<&[u8]> = None;
    let mut j = 2;
    while j < argv.len() {
        let opt = &argv[j];
        let next = argv.get(j + 1).map(|v| v.as_slice());
        let timed = ex || px || exat || pxat;
        if eq_ic(opt, "persist") && !timed {
            persist = true;
        } else if eq_ic(opt, "ex") && !persist && !exat && !px && !pxat && next.is_some() {
            ex = true;
            expire = next;
            j += 1;
        } else if eq_ic(opt, "px") && !persist && !ex && !exat && !pxat && next.is_some() {
            px = true;
            expire = next;
            j += 1;
        } else if eq_ic(opt, "exat") && !persist && !ex && !px && !pxat && next.is_some() {
            exat = true;
            expire = next;
            j += 1;
        } else if eq_ic(opt, "pxat") && !persist && !ex && !exat && !px && next.is_some() {
            pxat = true;
            expire = next;
            j += 1;
        } else {
            return syntax();
        }
        j += 1;
    }
    let key = &argv[1];
    let reply = match get_generic(ctx, key) {
        Ok(Reply::Nil) => return Reply::Nil,
        Ok(r) => r,
        Err(e) => return e,
    };
    let when = match expire {
        Some(arg) => match expire_ms(ctx, arg, ex || exat, ex || px, "getex") {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    let now = i64::try_from(ctx.now_ms).unwrap_or(i64::MAX);
    match when {
        // `checkAlreadyExpired`: only a master deletes right away.
        Some(ms) if (exat || pxat) && ms <= now && !ctx.view.is_replica() => {
            ctx.dbm().swap_remove(key.as_slice());
            let cmd: &[u8] = if ctx.lazyfree_lazy_expire {
                b"UNLINK"
            } else {
                b"DEL"
            };
            ctx.rewrite(&[cmd, key]);
            ctx.modified(key);
            ctx.dirty(1);
        }
        Some(ms) => {
            ctx.set_expire(key, ms);
            let ms = ms.to_string();
            ctx.rewrite(&[b"PEXPIREAT".as_slice(), key, ms.as_bytes()]);
            ctx.modified(key);
            ctx.dirty(1);
        }
        None if persist => {
            let removed = ctx
                .dbm()
                .get_mut(key)
                .is_some_and(|e| e.expire_at_ms.take().is_some());
            if removed {
                ctx.rewrite(&[b"PERSIST".as_slice(), key]);
                ctx.modified(key);
                ctx.dirty(1);
            }
        }
        None => {}
    }
    reply
}

/// MSETNX (`msetGenericCommand` with nx): sets nothing (0) if any key exists, else sets
/// every pair (1) and propagates as sent; `server.dirty` grows by the number of pairs.
pub fn msetnx(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if argv.len().is_multiple_of(2) {
        return super::wrong_arity("msetnx");
    }
    for pair in argv[1..].chunks_exact(2) {
        if ctx.lookup_write(&pair[0]).is_some() {
            return Reply::Integer(0);
        }
    }
    for pair in argv[1..].chunks_exact(2) {
        set_key(ctx, &pair[0], &pair[1], false);
    }
    ctx.dirty(((argv.len() - 1) / 2) as u64);
    Reply::Integer(1)
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (`lcsCommand`): both keys are
/// looked up (missing: empty strings) and type-checked before the options are read. The
/// table of `(len1+1)*(len2+1)` 32-bit cells must fit `proto-max-bulk-len`. IDX answers
/// the matching ranges from the ends of the strings backwards, as Redis walks its table.
pub fn lcs(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let mut strings: [Option<Vec<u8>>; 2] = [None, None];
    let mut wrong = false;
    for (slot, key) in strings.iter_mut().zip(&argv[1..3]) {
        match ctx.lookup_read(key) {
            None => {}
            Some(Entry {
                value: Value::String(s),
                ..
            }) => *slot = Some(s.clone()),
            Some(_) => wrong = true,
        }
    }
    if wrong {
        return err("ERR The specified keys must contain string values");
    }
    let [a, b] = strings.map(Option::unwrap_or_default);
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j];
        let moreargs = argv.len() - 1 - j;
        if eq_ic(opt, "idx") {
            getidx = true;
        } else if eq_ic(opt, "len") {
            getlen = true;
        } else if eq_ic(opt, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(opt, "minmatchlen") && moreargs > 0 {
            minmatchlen = match i64_arg(&argv[j + 1]) {
                Ok(n) => n.max(0),
                Err(e) => return e,
            };
            j += 1;
        } else {
            return syntax();
        }
        j += 1;
    }
    if getlen && getidx {
        return err("ERR If you want both the length and indexes, please just use IDX.");
    }
    if a.len() as u64 >= u64::from(u32::MAX - 1) || b.len() as u64 >= u64::from(u32::MAX - 1) {
        return err("ERR String too long for LCS");
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > ctx.proto_max_bulk_len {
        return err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let Ok(cells) = usize::try_from(cells) else {
        return err("ERR Insufficient memory, failed allocating transient memory for LCS");
    };
    let width = blen + 1;
    // `ztrymalloc`: an allocation that fails is an error reply, not an abort.
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells).is_err() {
        return err("ERR Insufficient memory, failed allocating transient memory for LCS");
    }
    table.resize(cells, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[alen * width + blen];
    if getlen && !getidx {
        return Reply::Integer(i64::from(total));
    }
    // Walk back from the end, collecting the LCS and (for IDX) the ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges = Vec::new();
    let (mut arange_start, mut arange_end, mut brange_start, mut brange_end) = (alen, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if arange_start == alen {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        // Unsigned as in Redis: a range not started (`alen`) gives a wrapped length.
        let match_len = (arange_end as u32)
            .wrapping_sub(arange_start as u32)
            .wrapping_add(1);
        if emit {
            if getidx && (minmatchlen == 0 || i64::from(match_len) >= minmatchlen) {
                let mut range = vec![
                    Reply::Array(vec![int(arange_start), int(arange_end)]),
                    Reply::Array(vec![int(brange_start), int(brange_end)]),
                ];
                if withmatchlen {
                    range.push(Reply::Integer(i64::from(match_len)));
                }
                ranges.push(Reply::Array(range));
            }
            arange_start = alen;
        }
    }
    if getidx {
        Reply::Array(vec![
            Reply::bulk(b"matches"),
            Reply::Array(ranges),
            Reply::bulk(b"len"),
            Reply::Integer(i64::from(total)),
        ])
    } else {
        Reply::Bulk(result)
    }
}
