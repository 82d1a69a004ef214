//! HyperLogLog (hyperloglog.c, Redis 7.0): PFADD, PFCOUNT, PFMERGE.
//!
//! An HLL is an ordinary string value, so GET, DUMP, RDB files and digests show its bytes:
//! they must be Redis's bytes exactly. This is a port of Redis's algorithms — the 16-byte
//! header (`HYLL`, encoding, 3 unused bytes, the cached cardinality little-endian with its
//! top bit meaning "stale"), the sparse opcodes (ZERO, XZERO, VAL) edited in place and
//! merged exactly as `hllSparseSet` does, promotion to the dense 6-bit registers when a
//! register exceeds 32 or the string would pass `hll-sparse-max-bytes`, MurmurHash64A, and
//! the estimator of Ertl's "New cardinality estimation algorithms for HyperLogLog
//! sketches" with the same floating-point steps.
//!
//! PFCOUNT on one key stores the cardinality it computed in the header, so it modifies the
//! value and is propagated (`PFCOUNT key`) when it had to compute; a replica's own PFCOUNT
//! updates its copy the same way.

use super::util::{err, int, wrongtype};
use super::ExecCtx;
use crate::engine::keyspace::{Entry, Value};
use crate::engine::resp::Reply;

/// `HLL_P`: 2^14 registers.
const P: u32 = 14;
/// `HLL_Q`: hash bits left for the run of zeros.
const Q: usize = 64 - P as usize;
const REGISTERS: usize = 1 << P;
/// `HLL_BITS`: a dense register holds 0..=63.
const BITS: usize = 6;
const REGISTER_MAX: u64 = (1 << BITS) - 1;
/// `sizeof(struct hllhdr)`.
const HDR_SIZE: usize = 16;
/// Offset of the encoding byte in the header.
const ENCODING: usize = 4;
/// Offset of the cached cardinality (8 bytes, little-endian).
const CARD: usize = 8;
const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// `hll-sparse-max-bytes` (its default; the configuration option is not modelled).
const SPARSE_MAX_BYTES: usize = 3000;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln 2.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// `invalid_hll_err`.
const INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";
/// `isHLLObjectOrReply`'s message.
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// A sparse representation that does not cover exactly the 16384 registers.
struct Corrupt;

/// MurmurHash64A as Redis has it (little-endian reads, endian-neutral).
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let mut k = u64::from_le_bytes(bytes);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register an element hashes to and the length of its `0…01` pattern.
fn pattern(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ----- dense registers ------------------------------------------------------------------------

/// `HLL_DENSE_GET_REGISTER` on the whole string (registers start after the header).
fn dense_get(s: &[u8], reg: usize) -> u8 {
    let byte = HDR_SIZE + reg * BITS / 8;
    let fb = (reg * BITS) & 7;
    let b0 = u64::from(s[byte]);
    let b1 = u64::from(s.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX) as u8
}

/// `HLL_DENSE_SET_REGISTER`. The byte after the last register is the sds terminator in
/// Redis, which the last register never changes.
fn dense_put(s: &mut [u8], reg: usize, val: u8) {
    let byte = HDR_SIZE + reg * BITS / 8;
    let fb = (reg * BITS) & 7;
    let fb8 = 8 - fb;
    let v = u64::from(val);
    let b0 = u64::from(s[byte]) & !(REGISTER_MAX << fb) | (v << fb);
    s[byte] = b0 as u8;
    if let Some(b1) = s.get_mut(byte + 1) {
        *b1 = ((u64::from(*b1) & !(REGISTER_MAX >> fb8)) | (v >> fb8)) as u8;
    }
}

/// `hllDenseSet`: raises the register; true if it changed.
fn dense_set(s: &mut [u8], reg: usize, count: u8) -> bool {
    if count > dense_get(s, reg) {
        dense_put(s, reg, count);
        true
    } else {
        false
    }
}

// ----- sparse opcodes -------------------------------------------------------------------------

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3f) + 1
}

/// An XZERO's length; `next` is the byte after it (Redis reads the terminator, 0, when the
/// opcode is cut short).
fn xzero_len(b: u8, next: Option<u8>) -> usize {
    ((usize::from(b & 0x3f) << 8) | usize::from(next.unwrap_or(0))) + 1
}

fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}

fn val_op(val: u8, len: usize) -> u8 {
    ((val - 1) << 2) | (len as u8 - 1) | 0x80
}

/// A ZERO (up to 64 registers) or XZERO run of `len` zero registers.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let l = len - 1;
        seq.push((l >> 8) as u8 | 0x40);
        seq.push((l & 0xff) as u8);
    } else {
        seq.push(len as u8 - 1);
    }
}

/// One sparse opcode at `p`: (registers covered, bytes).
fn opcode(s: &[u8], p: usize) -> (usize, usize) {
    let b = s[p];
    if is_zero(b) {
        (zero_len(b), 1)
    } else if is_val(b) {
        (val_len(b), 1)
    } else {
        (xzero_len(b, s.get(p + 1).copied()), 2)
    }
}

/// `createHLLObject`: sparse, all registers zero (one XZERO), cached cardinality 0.
fn create() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.extend_from_slice(&[SPARSE, 0, 0, 0]);
    s.extend_from_slice(&[0; 8]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        push_zeros(&mut s, run);
        left -= run;
    }
    s
}

/// `hllSparseToDense`; a dense HLL is left as it is.
fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[ENCODING] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    dense[ENCODING] = DENSE;
    let mut idx = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (run, len) = opcode(s, p);
        if is_val(s[p]) {
            if run + idx > REGISTERS {
                break;
            }
            let val = val_value(s[p]);
            for reg in idx..idx + run {
                dense_put(&mut dense, reg, val);
            }
        }
        idx += run;
        p += len;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// `hllSparseSet`: raises register `index` to `count` in place, splitting the opcode that
/// covers it, then merges adjacent equal VALs; promotes to dense when needed. True if the
/// register changed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = s.len();
    let (mut p, mut first, mut span) = (HDR_SIZE, 0usize, 0usize);
    let mut prev = None;
    while p < end {
        let (run, len) = opcode(s, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += len;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = s[p];
    let oldlen = if is_xzero(b) { 2 } else { 1 };
    // Step 2: the trivial updates…
    let mut trivial = false;
    if is_val(b) {
        if val_value(b) >= count {
            return Ok(false);
        }
        trivial = span == 1;
    } else if is_zero(b) {
        trivial = span == 1;
    }
    if trivial {
        s[p] = val_op(count, 1);
    } else {
        // … or split the opcode into up to three.
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val(b) {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        // Step 3: put it in place of the old opcode.
        if seq.len() > oldlen && s.len() + seq.len() - oldlen > SPARSE_MAX_BYTES {
            return promote(s, index, count);
        }
        let old_end = (p + oldlen).min(s.len());
        s.splice(p..old_end, seq);
    }
    // Step 4: merge adjacent VALs of the same value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < s.len() && scan > 0 {
        scan -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && is_val(s[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[p + 1]));
            let len = val_len(b) + val_len(s[p + 1]);
            if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                s[p + 1] = val_op(v1, len);
                s.remove(p);
                continue;
            }
        }
        p += 1;
    }
    invalidate(s);
    Ok(true)
}

/// The `promote:` label of `hllSparseSet`: go dense, then set the register there.
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(s)?;
    dense_set(s, index, count);
    Ok(true)
}

/// `HLL_INVALIDATE_CACHE`.
fn invalidate(s: &mut [u8]) {
    s[CARD + 7] |= 0x80;
}

/// `hllAdd`.
fn add(s: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    match s[ENCODING] {
        DENSE => Ok(dense_set(s, index, count)),
        SPARSE => sparse_set(s, index, count),
        _ => Err(Corrupt),
    }
}

/// `hllMerge`: `max[i] = MAX(max[i], register i)`.
fn merge(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if s[ENCODING] == DENSE {
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(s, i));
        }
        return Ok(());
    }
    let mut i = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (run, len) = opcode(s, p);
        if is_val(s[p]) {
            if run + i > REGISTERS {
                break;
            }
            let val = val_value(s[p]);
            for m in &mut max[i..i + run] {
                *m = (*m).max(val);
            }
        }
        i += run;
        p += len;
    }
    if i == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

// ----- the estimator --------------------------------------------------------------------------

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// `hllTau`. Redis's `pow(1 - x, 2)` is compiled to a multiplication.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// `hllCount` from the histogram of register values.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histo[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histo[0]) / m);
    // llroundl: half away from zero, as f64::round.
    (ALPHA_INF * m * m / z).round() as u64
}

/// The histogram of an HLL's registers; `Err` for a sparse one that does not cover the
/// registers exactly (`hllSparseRegHisto`'s `invalid`).
fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut histo = [0u32; 64];
    if s[ENCODING] == DENSE {
        for reg in 0..REGISTERS {
            histo[usize::from(dense_get(s, reg))] += 1;
        }
        return Ok(histo);
    }
    let mut idx = 0;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (run, len) = opcode(s, p);
        let val = if is_val(s[p]) { val_value(s[p]) } else { 0 };
        histo[usize::from(val)] += run as u32;
        idx += run;
        p += len;
    }
    if idx == REGISTERS {
        Ok(histo)
    } else {
        Err(Corrupt)
    }
}

/// `isHLLObjectOrReply` on a value known to be a string.
fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE
        && s.starts_with(b"HYLL")
        && s[ENCODING] <= SPARSE
        && (s[ENCODING] != DENSE || s.len() == DENSE_SIZE)
}

/// The value at `key` as an HLL's bytes, `Err` with Redis's reply for anything else.
fn hll_bytes(entry: &mut Entry) -> Result<&mut Vec<u8>, Reply> {
    match &mut entry.value {
        Value::String(s) if is_hll(s) => Ok(s),
        Value::String(_) => Err(err(NOT_HLL)),
        _ => Err(wrongtype()),
    }
}

// ----- commands -------------------------------------------------------------------------------

/// PFADD key [element ...]: 1 if the key was created or a register changed (then the
/// cached cardinality is invalidated and the command propagated), else 0.
pub fn pfadd(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let key = &argv[1];
    let mut updated = 0u64;
    if ctx.lookup_write(key).is_none() {
        ctx.dbm().insert(
            key.clone(),
            Entry {
                value: Value::String(create()),
                expire_at_ms: None,
            },
        );
        updated += 1;
    }
    let Some(entry) = ctx.dbm().get_mut(key.as_slice()) else {
        return Reply::Integer(0);
    };
    let s = match hll_bytes(entry) {
        Ok(s) => s,
        Err(e) => return e,
    };
    for ele in &argv[2..] {
        match add(s, ele) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(Corrupt) => return err(INVALID),
        }
    }
    if updated > 0 {
        invalidate(s);
        ctx.modified(key);
        ctx.dirty(updated);
    }
    Reply::Integer(i64::from(updated > 0))
}

/// PFCOUNT key [key ...]. One key: the cached cardinality, or a fresh one written back into
/// the header (a change that is propagated). More keys: the cardinality of their union,
/// nothing written.
pub fn pfcount(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if argv.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &argv[1..] {
            let Some(entry) = ctx.lookup_read(key) else {
                continue;
            };
            let s = match hll_bytes(entry) {
                Ok(s) => s,
                Err(e) => return e,
            };
            if merge(&mut max, s).is_err() {
                return err(INVALID);
            }
        }
        let mut histo = [0u32; 64];
        for &r in &max {
            histo[usize::from(r)] += 1;
        }
        return int(estimate(&histo) as usize);
    }
    let Some(entry) = ctx.lookup_read(&argv[1]) else {
        return Reply::Integer(0);
    };
    let s = match hll_bytes(entry) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut card_bytes = [0u8; 8];
    card_bytes.copy_from_slice(&s[CARD..CARD + 8]);
    if card_bytes[7] & 0x80 == 0 {
        return Reply::Integer(u64::from_le_bytes(card_bytes) as i64);
    }
    let card = match histogram(s) {
        Ok(h) => estimate(&h),
        Err(Corrupt) => return err(INVALID),
    };
    s[CARD..CARD + 8].copy_from_slice(&card.to_le_bytes());
    ctx.modified(&argv[1]);
    ctx.dirty(1);
    Reply::Integer(card as i64)
}

/// PFMERGE destkey [sourcekey ...]: the destination is also a source. Always propagated.
pub fn pfmerge(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    for key in &argv[1..] {
        let Some(entry) = ctx.lookup_read(key) else {
            continue;
        };
        let s = match hll_bytes(entry) {
            Ok(s) => s,
            Err(e) => return e,
        };
        use_dense |= s[ENCODING] == DENSE;
        if merge(&mut max, s).is_err() {
            return err(INVALID);
        }
    }
    let dst = &argv[1];
    if ctx.lookup_write(dst).is_none() {
        ctx.dbm().insert(
            dst.clone(),
            Entry {
                value: Value::String(create()),
                expire_at_ms: None,
            },
        );
    }
    let Some(Entry {
        value: Value::String(s),
        ..
    }) = ctx.dbm().get_mut(dst.as_slice())
    else {
        return err(INVALID);
    };
    if use_dense && sparse_to_dense(s).is_err() {
        return err(INVALID);
    }
    for (reg, &val) in max.iter().enumerate() {
        if val == 0 {
            continue;
        }
        if s[ENCODING] == DENSE {
            dense_set(s, reg, val);
        } else {
            // Redis ignores a failure here.
            let _ = sparse_set(s, reg, val);
        }
    }
    invalidate(s);
    ctx.modified(dst);
    ctx.dirty(1);
    Reply::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_hll_is_one_xzero_run() {
        let s = create();
        assert_eq!(&s[..4], b"HYLL");
        assert_eq!(s.len(), HDR_SIZE + 2);
        assert_eq!(histogram(&s).ok().map(|h| h[0]), Some(REGISTERS as u32));
        assert_eq!(estimate(&histogram(&s).unwrap_or([0; 64])), 0);
    }

    #[test]
    fn dense_registers_round_trip_without_touching_neighbours() {
        let mut s = vec![0u8; DENSE_SIZE];
        for reg in 0..REGISTERS {
            dense_put(&mut s, reg, (reg % 64) as u8);
        }
        for reg in 0..REGISTERS {
            assert_eq!(dense_get(&s, reg), (reg % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = create();
        let mut dense = create();
        assert!(sparse_to_dense(&mut dense).is_ok());
        for i in 0..1000u32 {
            let ele = i.to_string();
            assert!(add(&mut sparse, ele.as_bytes()).is_ok());
            assert!(add(&mut dense, ele.as_bytes()).is_ok());
        }
        assert_eq!(
            sparse[ENCODING], SPARSE,
            "1000 elements stay under 3000 bytes"
        );
        let (a, b) = (histogram(&sparse), histogram(&dense));
        assert!(matches!((&a, &b), (Ok(x), Ok(y)) if x == y));
        let card = estimate(&a.unwrap_or([0; 64]));
        assert!((970..=1030).contains(&card), "{card}");
    }
}
