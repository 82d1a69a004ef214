//! Bitmap commands (bitops.c, Redis 7.0): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD
//! and BITFIELD_RO. Bits are numbered from the most significant bit of the first byte;
//! reading past the end of a string reads zeros, writing past it zero-pads the string.
//!
//! Redis reads an integer-encoded string through its decimal digits
//! (`getObjectReadOnlyString`), which are the bytes the engine stores.

use super::set_algebra::set_key;
use super::util::{eq_ic, err, i64_arg, int, syntax, wrongtype, NOT_INTEGER};
use super::{ExecCtx, ExpireView};
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::{parse_i64, Reply};

/// `getBitOffsetFromArgument`'s message.
const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
/// SETBIT's message for a bit other than 0 or 1.
const BIT_VALUE: &str = "ERR bit is not an integer or out of range";

/// The longest string a bit command builds, whoever asks: 512 MB (the default
/// `proto-max-bulk-len`, which bounds an offset's byte for a client) plus the 8 bytes a
/// BITFIELD field may reach past its offset. Redis obeys its master without a limit and
/// would abort on an allocation it cannot make; the engine answers the offset's error
/// instead (as SETRANGE answers its own, see `strings::check_string_length`).
const BIT_STRING_BYTES_MAX: u64 = 512 * 1024 * 1024 + 8;

/// `getBitOffsetFromArgument`: a non-negative integer whose byte is within
/// `proto-max-bulk-len` (not checked for the master link, `mustObeyClient`). With
/// `hash_bits` (BITFIELD), `#n` means `n * bits` (multiplied as C does, wrapping).
fn bit_offset(ctx: &ExecCtx, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, Reply> {
    let (usehash, digits) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (Some(bits), &arg[1..]),
        _ => (None, arg),
    };
    let mut offset = parse_i64(digits).ok_or_else(|| err(BIT_OFFSET))?;
    if let Some(bits) = usehash {
        offset = offset.wrapping_mul(i64::from(bits));
    }
    let obey = ctx.view == ExpireView::MasterClient;
    if offset < 0 || (!obey && (offset >> 3) as u64 >= ctx.proto_max_bulk_len) {
        return Err(err(BIT_OFFSET));
    }
    Ok(offset as u64)
}

/// `lookupStringForBitCommand`: a write lookup (lazy expiry) and the type check, then the
/// string created or zero-padded so that bit `maxbit` exists (keeping its TTL). Runs `f` on
/// the string with whether it was created or grown (Redis's `dirty`).
fn with_bit_string<T>(
    ctx: &mut ExecCtx,
    key: &[u8],
    maxbit: u64,
    f: impl FnOnce(&mut Vec<u8>, bool) -> T,
) -> Result<T, Reply> {
    let found = ctx.lookup_index(key, true);
    if let Some((_, entry)) = found.and_then(|i| ctx.dbr().get_index(i)) {
        if !matches!(entry.value, Value::String(_)) {
            return Err(wrongtype());
        }
    }
    let need = (maxbit >> 3) + 1;
    if need > BIT_STRING_BYTES_MAX {
        return Err(err(BIT_OFFSET));
    }
    let need = need as usize;
    match found.and_then(|i| ctx.dbm().get_index_mut(i)) {
        Some((
            _,
            Entry {
                value: Value::String(s),
                ..
            },
        )) => {
            let grown = s.len() < need;
            if grown {
                s.resize(need, 0);
            }
            Ok(f(s, grown))
        }
        _ => {
            let mut s = vec![0u8; need];
            let out = f(&mut s, true);
            ctx.db_add(
                key.to_vec(),
                Entry {
                    value: Value::String(s),
                    expire_at_ms: None,
                },
            );
            Ok(out)
        }
    }
}

/// A read lookup (lazy expiry) of a string: `Ok(None)` if missing, WRONGTYPE otherwise.
fn read_string<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Result<Option<&'c [u8]>, Reply> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::String(s),
            ..
        }) => Ok(Some(s.as_slice())),
        Some(_) => Err(wrongtype()),
    }
}

/// SETBIT key offset 0|1: replies with the bit's old value. Dirty (and propagated as sent)
/// only if the string was created or grown, or the bit changed.
pub fn setbit(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let offset = match bit_offset(ctx, &argv[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let on = match parse_i64(&argv[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return err(BIT_VALUE),
    };
    let byte = (offset >> 3) as usize;
    let bit = 7 - (offset & 7) as u8;
    let done = with_bit_string(ctx, &argv[1], offset, |s, grown| {
        let old = (s[byte] >> bit) & 1;
        let changed = grown || old != on;
        if changed {
            s[byte] = (s[byte] & !(1 << bit)) | (on << bit);
        }
        (old, changed)
    });
    match done {
        Ok((old, changed)) => {
            if changed {
                ctx.modified(&argv[1]);
                ctx.dirty(1);
            }
            Reply::Integer(i64::from(old))
        }
        Err(e) => e,
    }
}

/// GETBIT key offset: the offset is checked before the lookup; 0 past the end or for a
/// missing key.
pub fn getbit(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let offset = match bit_offset(ctx, &argv[2], None) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let s = match read_string(ctx, &argv[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Integer(0),
        Err(e) => return e,
    };
    let byte = usize::try_from(offset >> 3).ok().and_then(|i| s.get(i));
    let bit = byte.map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
    Reply::Integer(i64::from(bit))
}

/// BYTE|BIT, case-insensitively: true for BIT, a syntax error for anything else.
fn is_bit_unit(arg: &[u8]) -> Result<bool, Reply> {
    if eq_ic(arg, "bit") {
        Ok(true)
    } else if eq_ic(arg, "byte") {
        Ok(false)
    } else {
        Err(syntax())
    }
}

/// A range's ends converted as BITCOUNT and BITPOS do: negative indexes from the end,
/// clamped to `[0, totlen-1]`; in BIT units, the masks of the bits outside the range in its
/// first and last bytes, and the ends as byte indexes.
fn clamp_range(mut start: i64, mut end: i64, mut totlen: i64, isbit: bool) -> (i64, i64, u8, u8) {
    if isbit {
        totlen <<= 3;
    }
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if isbit && start <= end {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    (start, end, first_mask, last_mask)
}

/// BITCOUNT key [start end [BYTE|BIT]]. A missing key answers 0 before any argument is
/// read; two negative ends with start > end answer 0 before the unit is read.
pub fn bitcount(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let p = match read_string(ctx, &argv[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Integer(0),
        Err(e) => return e,
    };
    let strlen = p.len() as i64;
    let (start, end, first_mask, last_mask) = match argv.len() {
        4 | 5 => {
            let start = match i64_arg(&argv[2]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            let end = match i64_arg(&argv[3]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            if start < 0 && end < 0 && start > end {
                return Reply::Integer(0);
            }
            let isbit = match argv.get(4).map(|a| is_bit_unit(a)) {
                Some(Err(e)) => return e,
                Some(Ok(b)) => b,
                None => false,
            };
            clamp_range(start, end, strlen, isbit)
        }
        2 => (0, strlen - 1, 0, 0),
        _ => return syntax(),
    };
    if start > end {
        return Reply::Integer(0);
    }
    let (start, end) = (start as usize, end as usize);
    let ones = |b: u8| i64::from(b.count_ones() as u8);
    let mut count: i64 = p[start..=end].iter().map(|&b| ones(b)).sum();
    count -= ones(p[start] & first_mask) + ones(p[end] & last_mask);
    Reply::Integer(count)
}

/// `redisBitpos`: the position of the first bit set to `bit`; if none, -1 looking for a 1,
/// and the first bit past the bytes looking for a 0 (the string is seen as zero-padded).
fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    for (i, &b) in bytes.iter().enumerate() {
        let b = if bit { b } else { !b };
        if b != 0 {
            return (i as i64) * 8 + i64::from(b.leading_zeros() as u8);
        }
    }
    if bit {
        -1
    } else {
        bytes.len() as i64 * 8
    }
}

/// BITPOS key 0|1 [start [end [BYTE|BIT]]], as `bitposCommand` walks it: the bit is checked
/// first, then the key (missing: -1 for a 1, 0 for a 0), then the range. With an explicit
/// end, a 0 not found in the range is -1; without one, the string counts as zero-padded.
pub fn bitpos(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let bit = match i64_arg(&argv[2]) {
        Ok(b @ (0 | 1)) => b == 1,
        Ok(_) => return err("ERR The bit argument must be 1 or 0."),
        Err(e) => return e,
    };
    let p = match read_string(ctx, &argv[1]) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Integer(if bit { -1 } else { 0 }),
        Err(e) => return e,
    };
    let strlen = p.len() as i64;
    let mut end_given = false;
    let (start, end, first_mask, last_mask) = match argv.len() {
        4..=6 => {
            let start = match i64_arg(&argv[3]) {
                Ok(n) => n,
                Err(e) => return e,
            };
            let isbit = match argv.get(5).map(|a| is_bit_unit(a)) {
                Some(Err(e)) => return e,
                Some(Ok(b)) => b,
                None => false,
            };
            let end = match argv.get(4).map(|a| i64_arg(a)) {
                Some(Err(e)) => return e,
                Some(Ok(n)) => {
                    end_given = true;
                    n
                }
                None if isbit => (strlen << 3) + 7,
                None => strlen - 1,
            };
            clamp_range(start, end, strlen, isbit)
        }
        3 => (0, strlen - 1, 0, 0),
        _ => return syntax(),
    };
    if start > end {
        return Reply::Integer(-1);
    }
    let (mut start, end) = (start as usize, end as usize);
    let mut bytes = end - start + 1;
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let pos = 'result: {
        if first_mask != 0 {
            let mut tmp = masked(p[start], first_mask);
            if last_mask != 0 && bytes == 1 {
                tmp = masked(tmp, last_mask);
            }
            let pos = first_bit(&[tmp], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'result pos;
            }
            start += 1;
            bytes -= 1;
        }
        let curbytes = bytes - usize::from(last_mask != 0);
        if curbytes > 0 {
            let pos = first_bit(&p[start..start + curbytes], bit);
            if bytes == curbytes || (pos != -1 && pos != (curbytes as i64) << 3) {
                break 'result pos;
            }
            start += curbytes;
            bytes -= curbytes;
        }
        first_bit(&[masked(p[end], last_mask)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return Reply::Integer(-1);
    }
    Reply::Integer(if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    })
}

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key …]: missing sources are empty strings, shorter
/// ones zero-padded. A non-empty result replaces the destination (`setKey`: no TTL); an
/// empty one deletes it (`dbDelete`, no expiry check). Dirty, and propagated as sent, when
/// it stored or deleted. Replies with the result's length.
pub fn bitop(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let op = if eq_ic(&argv[1], "and") {
        BitOp::And
    } else if eq_ic(&argv[1], "or") {
        BitOp::Or
    } else if eq_ic(&argv[1], "xor") {
        BitOp::Xor
    } else if eq_ic(&argv[1], "not") {
        BitOp::Not
    } else {
        return syntax();
    };
    if op == BitOp::Not && argv.len() != 4 {
        return err("ERR BITOP NOT must be called with a single source key.");
    }
    // Lookups first (lazy expiry, type checks); then the values are read in place, as
    // Redis keeps pointers: `BITOP OR d k k k …` must not copy `k` once per argument.
    let mut present = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        match read_string(ctx, key) {
            Ok(s) => present.push(s.is_some()),
            Err(e) => return e,
        }
    }
    let db = ctx.dbr();
    let sources: Vec<&[u8]> = argv[3..]
        .iter()
        .zip(&present)
        .map(|(key, &here)| match db.get(key.as_slice()) {
            Some(Entry {
                value: Value::String(s),
                ..
            }) if here => s.as_slice(),
            _ => &[],
        })
        .collect();
    let maxlen = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let target = &argv[2];
    if maxlen == 0 {
        if ctx.dbm().swap_remove(target).is_some() {
            ctx.modified(target);
            ctx.dirty(1);
        }
        return Reply::Integer(0);
    }
    let byte_at = |s: &[u8], j: usize| s.get(j).copied();
    let res: Vec<u8> = (0..maxlen)
        .map(|j| {
            let first = byte_at(sources[0], j).unwrap_or(0);
            let rest = sources[1..].iter().map(|s| byte_at(s, j).unwrap_or(0));
            match op {
                BitOp::Not => !first,
                BitOp::And => rest.fold(first, |a, b| a & b),
                BitOp::Or => rest.fold(first, |a, b| a | b),
                BitOp::Xor => rest.fold(first, |a, b| a ^ b),
            }
        })
        .collect();
    set_key(ctx, target, Value::String(res));
    ctx.dirty(1);
    int(maxlen)
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

struct Field {
    offset: u64,
    value: i64,
    op: FieldOp,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// `getBitfieldTypeFromArgument`: `i1`…`i64` or `u1`…`u63` (the letter is case-sensitive).
fn field_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    const BAD: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err(BAD)),
    };
    match parse_i64(&arg[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(err(BAD)),
    }
}

/// `getUnsignedBitfield`.
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0u64, |value, j| {
        let o = offset + j;
        let byte = usize::try_from(o >> 3)
            .ok()
            .and_then(|i| p.get(i))
            .copied()
            .unwrap_or(0);
        (value << 1) | u64::from((byte >> (7 - (o & 7))) & 1)
    })
}

/// `getSignedBitfield`: the sign bit extended.
fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

/// `setUnsignedBitfield` (the string covers the field).
fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let bitval = u8::from(value & (1u64 << (u64::from(bits) - 1 - j)) != 0);
        let o = offset + j;
        let byte = &mut p[(o >> 3) as usize];
        let bit = 7 - (o & 7);
        *byte = (*byte & !(1 << bit)) | (bitval << bit);
    }
}

/// `checkUnsignedBitfieldOverflow`: whether `value + incr` overflows `bits`, and the value
/// WRAP or SAT store instead (`None` for FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (bool, Option<u64>) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        return match ow {
            Overflow::Wrap => (true, Some(wrap())),
            Overflow::Sat => (true, Some(max)),
            Overflow::Fail => (true, None),
        };
    }
    if incr < 0 && incr < minincr {
        return match ow {
            Overflow::Wrap => (true, Some(wrap())),
            Overflow::Sat => (true, Some(0)),
            Overflow::Fail => (true, None),
        };
    }
    (false, None)
}

/// `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (bool, Option<i64>) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let limit = |sat: i64| match ow {
        Overflow::Wrap => (true, Some(wrap())),
        Overflow::Sat => (true, Some(sat)),
        Overflow::Fail => (true, None),
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        return limit(max);
    }
    if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        return limit(min);
    }
    (false, None)
}

/// Runs one SET or INCRBY on the string: its reply (the new value for INCRBY, the old one
/// for SET, nil when OVERFLOW FAIL refuses it) and whether it counts as a change.
fn write_field(p: &mut [u8], f: &Field, grown: bool) -> (Reply, bool) {
    if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (overflow, new, ret) = if f.op == FieldOp::IncrBy {
            let (overflow, wrapped) = signed_overflow(old, f.value, f.bits, f.overflow);
            let new = if overflow {
                wrapped
            } else {
                Some(old.wrapping_add(f.value))
            };
            (overflow, new, new)
        } else {
            let (overflow, wrapped) = signed_overflow(f.value, 0, f.bits, f.overflow);
            let new = if overflow { wrapped } else { Some(f.value) };
            (overflow, new, Some(old))
        };
        match (overflow && f.overflow == Overflow::Fail, new, ret) {
            (false, Some(new), Some(ret)) => {
                set_unsigned(p, f.offset, f.bits, new as u64);
                (Reply::Integer(ret), grown || old != new)
            }
            _ => (Reply::Nil, false),
        }
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (overflow, new, ret) = if f.op == FieldOp::IncrBy {
            let (overflow, wrapped) = unsigned_overflow(old, f.value, f.bits, f.overflow);
            let new = if overflow {
                wrapped
            } else {
                Some(old.wrapping_add(f.value as u64))
            };
            (overflow, new, new)
        } else {
            let v = f.value as u64;
            let (overflow, wrapped) = unsigned_overflow(v, 0, f.bits, f.overflow);
            let new = if overflow { wrapped } else { Some(v) };
            (overflow, new, Some(old))
        };
        match (overflow && f.overflow == Overflow::Fail, new, ret) {
            (false, Some(new), Some(ret)) => {
                set_unsigned(p, f.offset, f.bits, new);
                (Reply::Integer(ret as i64), grown || old != new)
            }
            _ => (Reply::Nil, false),
        }
    }
}

/// A GET's reply: the field read from the string (zeros past its end, or for no string).
fn read_field(p: Option<&[u8]>, f: &Field) -> Reply {
    let p = p.unwrap_or(&[]);
    if f.signed {
        Reply::Integer(get_signed(p, f.offset, f.bits))
    } else {
        Reply::Integer(get_unsigned(p, f.offset, f.bits) as i64)
    }
}

/// `bitfieldGeneric`: every operation is parsed (and checked) first; with only GETs the
/// key is read (no string is created); otherwise (refused by BITFIELD_RO) the string is
/// created or grown to the farthest bit written, then the operations run in order.
/// `server.dirty` grows by the writes that changed a field (any write counts when the
/// string was created or grown); the command is propagated as sent only then.
fn bitfield_generic(ctx: &mut ExecCtx, argv: &[Vec<u8>], readonly_cmd: bool) -> Reply {
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest_write: u64 = 0;
    let mut j = 2;
    while j < argv.len() {
        let remargs = argv.len() - j - 1;
        let sub = &argv[j];
        let op = if eq_ic(sub, "get") && remargs >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && remargs >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && remargs >= 3 {
            FieldOp::IncrBy
        } else if eq_ic(sub, "overflow") && remargs >= 1 {
            let name = &argv[j + 1];
            overflow = if eq_ic(name, "wrap") {
                Overflow::Wrap
            } else if eq_ic(name, "sat") {
                Overflow::Sat
            } else if eq_ic(name, "fail") {
                Overflow::Fail
            } else {
                return err("ERR Invalid OVERFLOW type specified");
            };
            j += 2;
            continue;
        } else {
            return syntax();
        };
        let (signed, bits) = match field_type(&argv[j + 1]) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let offset = match bit_offset(ctx, &argv[j + 2], Some(bits)) {
            Ok(o) => o,
            Err(e) => return e,
        };
        let mut value = 0;
        if op != FieldOp::Get {
            readonly = false;
            highest_write = highest_write.max(offset + u64::from(bits) - 1);
            value = match parse_i64(&argv[j + 3]) {
                Some(v) => v,
                None => return err(NOT_INTEGER),
            };
        }
        fields.push(Field {
            offset,
            value,
            op,
            overflow,
            bits,
            signed,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    let key = &argv[1];
    if readonly {
        let p = match read_string(ctx, key) {
            Ok(p) => p,
            Err(e) => return e,
        };
        return Reply::Array(fields.iter().map(|f| read_field(p, f)).collect());
    }
    if readonly_cmd {
        return err("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let done = with_bit_string(ctx, key, highest_write, |p, grown| {
        let mut changes = 0u64;
        let replies = fields
            .iter()
            .map(|f| {
                if f.op == FieldOp::Get {
                    return read_field(Some(p), f);
                }
                let (reply, changed) = write_field(p, f, grown);
                changes += u64::from(changed);
                reply
            })
            .collect();
        (replies, changes)
    });
    match done {
        Ok((replies, changes)) => {
            if changes > 0 {
                ctx.modified(&argv[1]);
            }
            ctx.dirty(changes);
            Reply::Array(replies)
        }
        Err(e) => e,
    }
}

pub fn bitfield(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    bitfield_generic(ctx, argv, false)
}

pub fn bitfield_ro(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    bitfield_generic(ctx, argv, true)
}
