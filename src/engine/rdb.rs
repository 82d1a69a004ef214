//! The RDB file format of Redis 7.0 (`rdb.c`, RDB version 10): what a master streams to a
//! replica in a full sync, and what a real redis-server must be able to load from us (and we
//! from it).
//!
//! Saving follows Redis 7.0's choices byte for byte wherever the dataset determines them: AUX
//! fields in `rdbSaveInfoAuxFields` order, the string encodings of `rdbSaveRawString` (integer,
//! LZF, raw), and the object encodings 7.0 would hold for the value with default config
//! (listpack / intset / quicklist nodes of 8 KB, or the plain types past the thresholds). What
//! we cannot reproduce is Redis's key order inside a database (it follows a randomly seeded
//! hash table; we write keys in the db's insertion order) and the order of members of *large* hashes and
//! sets (dict order; we write insertion order). Encodings are picked from the value as it is
//! now: Redis never converts a big hash back to a listpack after deletions, we would.
//!
//! Loading accepts every RDB Redis 7.0 accepts for the five classic types (versions 1–10,
//! including ziplist, zipmap, intset and quicklist v1 encodings), checks the CRC64, and
//! rejects what replscope cannot represent (streams, module values) with a clear error.
//! Lengths read from the file are never trusted for allocation: everything is checked against
//! the bytes actually present, so a corrupt length gives an error, not an OOM or a panic.

pub mod intset;
pub mod listpack;
mod loader;
pub mod lzf;
pub mod ziplist;

pub use loader::Loader;

use std::collections::VecDeque;
use std::fmt;

use crate::engine::keyspace::{Entry, HashValue, Keyspace, SetValue, Value, ZSetValue};
use listpack::Elem;

/// The RDB format version Redis 7.0 writes (and the newest it reads).
pub const RDB_VERSION: u16 = 10;

// Object types (rdb.h).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

// Opcodes (rdb.h).
const OPCODE_FUNCTION2: u8 = 245;
const OPCODE_FUNCTION: u8 = 246;
const OPCODE_MODULE_AUX: u8 = 247;
const OPCODE_IDLE: u8 = 248;
const OPCODE_FREQ: u8 = 249;
const OPCODE_AUX: u8 = 250;
const OPCODE_RESIZEDB: u8 = 251;
const OPCODE_EXPIRETIME_MS: u8 = 252;
const OPCODE_EXPIRETIME: u8 = 253;
const OPCODE_SELECTDB: u8 = 254;
const OPCODE_EOF: u8 = 255;

// Redis 7.0 defaults that decide encodings (config.c).
/// `hash-max-listpack-entries` (512 in 7.0, not 128).
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
/// `hash-max-listpack-value`.
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;
/// `zset-max-listpack-entries`.
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
/// `zset-max-listpack-value`.
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;
/// `set-max-intset-entries`.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;
/// `list-max-listpack-size -2`: a quicklist node's listpack stays within 8 KB.
const LIST_NODE_MAX_BYTES: usize = 8192;
/// quicklist.c `SIZE_ESTIMATE_OVERHEAD`: per-entry overhead assumed when filling a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// quicklist.c `packed_threshold`: elements this big get a PLAIN node of their own.
const PACKED_THRESHOLD: usize = 1 << 30;
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Replication info stored in the RDB's AUX fields (rdbPopulateSaveInfo / rdbSaveInfoAuxFields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplInfo {
    /// The db the master stream has selected (`-1` when a loaded file did not say).
    pub repl_stream_db: i32,
    /// The 40-hex replication id.
    pub repl_id: String,
    /// `master_repl_offset` at snapshot time (`-1` when a loaded file did not say).
    pub repl_offset: i64,
}

/// What `save` writes in the AUX header, which the dataset does not determine.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    /// `redis-ver`, e.g. "7.0.15".
    pub redis_ver: &'static str,
    /// `ctime`: unix seconds of the snapshot (virtual time in the simulator).
    pub ctime_secs: u64,
    /// `used-mem`.
    pub used_mem: u64,
    /// `repl-stream-db`, `repl-id`, `repl-offset`; Redis writes them only when
    /// `rdbPopulateSaveInfo` returns info (a master with a backlog, or a replica with a master).
    pub repl: Option<ReplInfo>,
    /// `rdbcompression`: strings over 20 bytes are LZF-compressed when that pays.
    pub rdbcompression: bool,
}

/// The result of `load`.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// Every key, including those already expired (a master drops them, a replica keeps them).
    pub keyspace: Keyspace,
    /// All AUX pairs in file order.
    pub aux: Vec<(String, String)>,
    /// Replication info, when the file carries a 40-character `repl-id` (as Redis requires).
    pub repl: Option<ReplInfo>,
    /// Function library payloads (`FUNCTION2` opcodes), kept verbatim: replscope does not run
    /// functions, but dropping them silently would lose data a real master had.
    pub functions: Vec<Vec<u8>>,
}

/// Why a file could not be loaded, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdbError {
    /// Byte offset in the file where the problem was found.
    pub offset: usize,
    /// The reason, worded like Redis / redis-check-rdb where there is an equivalent.
    pub reason: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte offset {})", self.reason, self.offset)
    }
}

impl std::error::Error for RdbError {}

/// CRC-64/Jones as Redis computes it (`crc64.c`), over everything before the checksum.
pub fn crc64(bytes: &[u8]) -> u64 {
    crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(bytes)
}

// ---------------------------------------------------------------------------------------------
// Saving
// ---------------------------------------------------------------------------------------------

/// Serialises the dataset as Redis 7.0 would: "REDIS0010", AUX fields in Redis's order, per
/// non-empty db SELECTDB + RESIZEDB, EXPIRETIME_MS before keys with a TTL, values in the
/// encodings 7.0 picks, EOF, then the CRC64 in little-endian.
///
/// Empty collections (which Redis never holds) are left out, as Redis would skip them on load.
pub fn save(keyspace: &Keyspace, opts: &SaveOptions) -> Vec<u8> {
    save_keyed(keyspace, opts).0
}

/// [`save`], with where each key ends in the file (the offset after its value), in the order
/// written: what a child pausing after every key (`rdb-key-save-delay`) has written by then.
pub fn save_keyed(keyspace: &Keyspace, opts: &SaveOptions) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut key_ends = Vec::new();
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());

    // rdbSaveInfoAuxFields. redis-bits is 64: we present ourselves as a 64-bit server even
    // when compiled to wasm32.
    write_aux(&mut out, "redis-ver", opts.redis_ver);
    write_aux(&mut out, "redis-bits", "64");
    write_aux(&mut out, "ctime", &opts.ctime_secs.to_string());
    write_aux(&mut out, "used-mem", &opts.used_mem.to_string());
    if let Some(repl) = &opts.repl {
        write_aux(&mut out, "repl-stream-db", &repl.repl_stream_db.to_string());
        write_aux(&mut out, "repl-id", &repl.repl_id);
        write_aux(&mut out, "repl-offset", &repl.repl_offset.to_string());
    }
    write_aux(&mut out, "aof-base", "0");

    for (dbid, db) in keyspace.dbs.iter().enumerate() {
        let entries: Vec<(&Vec<u8>, &Entry)> =
            db.iter().filter(|(_, e)| !is_empty(&e.value)).collect();
        if entries.is_empty() {
            continue;
        }
        out.push(OPCODE_SELECTDB);
        write_len(&mut out, dbid as u64);
        out.push(OPCODE_RESIZEDB);
        write_len(&mut out, entries.len() as u64);
        write_len(
            &mut out,
            entries
                .iter()
                .filter(|(_, e)| e.expire_at_ms.is_some())
                .count() as u64,
        );
        for (key, entry) in entries {
            // rdbSaveKeyValuePair writes no expire for `getExpire`'s -1 ("none"), though
            // RESIZEDB above counts the key among those with one (`dictSize(db->expires)`).
            if let Some(at) = entry.expire_at_ms.filter(|&at| at != -1) {
                out.push(OPCODE_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            // rdbSaveKeyValuePair: type, key, value.
            let (ty, payload) = encode_value_parts(&entry.value, opts.rdbcompression);
            out.push(ty);
            write_string(&mut out, key, opts.rdbcompression);
            out.extend_from_slice(&payload);
            key_ends.push(out.len());
        }
    }

    out.push(OPCODE_EOF);
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    (out, key_ends)
}

/// One value as `rdbSaveObjectType` + `rdbSaveObject` write it: the type byte followed by the
/// payload. This is also the body of a `DUMP` payload.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let (ty, payload) = encode_value_parts(value, true);
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(ty);
    out.extend_from_slice(&payload);
    out
}

/// `OBJECT ENCODING`'s name for how Redis 7.0 holds `value`: the encoding its RDB type
/// shows, and for a string `int` (a strict integer), `embstr` (up to 44 bytes) or `raw`.
pub fn object_encoding(value: &Value) -> &'static str {
    /// `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
    const EMBSTR_MAX: usize = 44;
    if let Value::String(s) = value {
        return if listpack::parse_strict_i64(s).is_some() {
            "int"
        } else if s.len() <= EMBSTR_MAX {
            "embstr"
        } else {
            "raw"
        };
    }
    match encode_value_parts(value, true).0 {
        TYPE_LIST_QUICKLIST_2 => "quicklist",
        TYPE_SET_INTSET => "intset",
        TYPE_HASH_LISTPACK | TYPE_ZSET_LISTPACK => "listpack",
        TYPE_ZSET_2 => "skiplist",
        _ => "hashtable",
    }
}

/// A string as `rdbSaveRawString` writes it (keys, members, AUX values): see `write_string`.
pub fn encode_string(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_string(&mut out, s, true);
    out
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::String(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    }
}

fn encode_value_parts(value: &Value, lzf: bool) -> (u8, Vec<u8>) {
    let mut out = Vec::new();
    let ty = match value {
        Value::String(s) => {
            write_string(&mut out, s, lzf);
            TYPE_STRING
        }
        Value::List(list) => {
            encode_quicklist(&mut out, list, lzf);
            TYPE_LIST_QUICKLIST_2
        }
        Value::Hash(hash) => {
            let small = hash.len() <= HASH_MAX_LISTPACK_ENTRIES
                && hash.iter().all(|(f, v)| {
                    f.len() <= HASH_MAX_LISTPACK_VALUE && v.len() <= HASH_MAX_LISTPACK_VALUE
                });
            if small {
                let mut lp = listpack::Writer::new();
                for (f, v) in hash {
                    lp.push(f);
                    lp.push(v);
                }
                write_string(&mut out, &lp.finish(), lzf);
                TYPE_HASH_LISTPACK
            } else {
                write_len(&mut out, hash.len() as u64);
                for (f, v) in hash {
                    write_string(&mut out, f, lzf);
                    write_string(&mut out, v, lzf);
                }
                TYPE_HASH
            }
        }
        Value::Set(set) => {
            let ints: Option<Vec<i64>> = if set.len() <= SET_MAX_INTSET_ENTRIES {
                set.iter().map(|m| listpack::parse_strict_i64(m)).collect()
            } else {
                None
            };
            match ints {
                Some(ints) => {
                    write_string(&mut out, &intset::encode(&ints), lzf);
                    TYPE_SET_INTSET
                }
                None => {
                    write_len(&mut out, set.len() as u64);
                    for m in set {
                        write_string(&mut out, m, lzf);
                    }
                    TYPE_SET
                }
            }
        }
        Value::ZSet(zset) => {
            let small = zset.len() <= ZSET_MAX_LISTPACK_ENTRIES
                && zset.iter().all(|(m, _)| m.len() <= ZSET_MAX_LISTPACK_VALUE);
            if small {
                // zzlInsertAt: member, then the score as an integer when it is one, else d2string.
                let mut lp = listpack::Writer::new();
                for (m, score) in zset.iter() {
                    lp.push(m);
                    match double2ll(score) {
                        Some(v) => lp.push_int(v),
                        None => lp.push(d2string(score).as_bytes()),
                    }
                }
                write_string(&mut out, &lp.finish(), lzf);
                TYPE_ZSET_LISTPACK
            } else {
                // From the greatest to the smallest, as the skiplist is walked from its tail.
                write_len(&mut out, zset.len() as u64);
                for (m, score) in zset.iter().rev() {
                    write_string(&mut out, m, lzf);
                    out.extend_from_slice(&score.to_le_bytes());
                }
                TYPE_ZSET_2
            }
        }
    };
    (ty, out)
}

/// A quicklist node: a listpack, or one big element on its own (`PLAIN`).
enum QuicklistNode {
    Packed(listpack::Writer),
    Plain(Vec<u8>),
}

/// A quicklist as RPUSHes build it (`quicklistPushTail` with `list-max-listpack-size -2`):
/// append to the tail node while its listpack stays within 8 KB, else start a new node.
fn quicklist_nodes(list: &VecDeque<Vec<u8>>) -> Vec<QuicklistNode> {
    let mut nodes: Vec<QuicklistNode> = Vec::new();
    for ele in list {
        let sz = ele.len();
        if sz >= PACKED_THRESHOLD {
            nodes.push(QuicklistNode::Plain(ele.clone()));
            continue;
        }
        match nodes.last_mut() {
            Some(QuicklistNode::Packed(lp))
                if lp.bytes() + sz + SIZE_ESTIMATE_OVERHEAD <= LIST_NODE_MAX_BYTES =>
            {
                lp.push(ele)
            }
            _ => {
                let mut lp = listpack::Writer::new();
                lp.push(ele);
                nodes.push(QuicklistNode::Packed(lp));
            }
        }
    }
    nodes
}

/// The byte size of each node of the quicklist holding `list` (`quicklistNode.sz`).
pub fn quicklist_node_sizes(list: &VecDeque<Vec<u8>>) -> Vec<usize> {
    quicklist_nodes(list)
        .into_iter()
        .map(|node| match node {
            QuicklistNode::Packed(lp) => lp.finish().len(),
            QuicklistNode::Plain(bytes) => bytes.len(),
        })
        .collect()
}

fn encode_quicklist(out: &mut Vec<u8>, list: &VecDeque<Vec<u8>>, lzf: bool) {
    let nodes = quicklist_nodes(list);
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            QuicklistNode::Packed(lp) => {
                write_len(out, QUICKLIST_NODE_PACKED);
                write_string(out, &lp.finish(), lzf);
            }
            QuicklistNode::Plain(bytes) => {
                write_len(out, QUICKLIST_NODE_PLAIN);
                write_string(out, &bytes, lzf);
            }
        }
    }
}

fn write_aux(out: &mut Vec<u8>, key: &str, value: &str) {
    out.push(OPCODE_AUX);
    write_string(out, key.as_bytes(), true);
    write_string(out, value.as_bytes(), true);
}

/// `rdbSaveLen`: 6-bit, 14-bit, 32-bit or 64-bit big-endian length.
fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString` with `rdbcompression yes`: integers of up to 11 characters that fit 32
/// bits as INT8/16/32; strings over 20 bytes LZF-compressed when that saves at least 4 bytes;
/// otherwise length + bytes.
fn write_string(out: &mut Vec<u8>, s: &[u8], lzf: bool) {
    if s.len() <= 11 {
        if let Some(v) = listpack::parse_strict_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0, v as u8]);
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if lzf && s.len() > 20 {
        if let Some(compressed) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, compressed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&compressed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// util.c `double2ll`: the score as an integer when that loses nothing and it is within
/// ±2^62 (-0.0 becomes 0, as in Redis).
fn double2ll(d: f64) -> Option<i64> {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // (double)(LLONG_MAX/2)
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// util.c `d2string` for a score that `double2ll` refused: "inf", "-inf", or `%.17g`.
fn d2string(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d < 0.0 { "-inf" } else { "inf" }.into()
    } else if d == 0.0 {
        if d.is_sign_negative() { "-0" } else { "0" }.into()
    } else {
        format_g17(d)
    }
}

/// C's `printf("%.17g", d)` for a finite, non-zero `d`: 17 significant digits, fixed notation
/// when the exponent is in [-4, 17), trailing zeros removed, exponent of at least 2 digits.
pub fn format_g17(d: f64) -> String {
    let sci = format!("{:.16e}", d); // e.g. "-1.2345678901234567e-7"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if !(-4..17).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let rest = rest.trim_end_matches('0');
        s.push_str(first);
        if !rest.is_empty() {
            s.push('.');
            s.push_str(rest);
        }
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        s.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let point = exp as usize + 1;
        let (int_part, frac) = digits.split_at(point);
        s.push_str(int_part);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
    } else {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(digits.trim_end_matches('0'));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// A skiplist zset small enough for a listpack is converted on load (`zsetConvert`), and
/// a listpack stores a `-0` score as integer 0.
fn listpack_scores(zset: ZSetValue) -> ZSetValue {
    let small = zset.len() <= ZSET_MAX_LISTPACK_ENTRIES
        && zset.iter().all(|(m, _)| m.len() <= ZSET_MAX_LISTPACK_VALUE);
    if !small || !zset.iter().any(|(_, s)| s == 0.0 && s.is_sign_negative()) {
        return zset;
    }
    let mut out = ZSetValue::default();
    for (m, s) in zset.iter() {
        out.insert(m.to_vec(), if s == 0.0 { 0.0 } else { s });
    }
    out
}

/// Parses any RDB Redis 7.0 can load (versions 1–10) into a keyspace, its AUX fields and its
/// replication info. Verifies the CRC64 (a stored 0 means "not computed", as in Redis).
/// Streams and module values are rejected; function libraries are kept in `functions`.
/// Bytes after the checksum are ignored, as `rdbLoad` ignores the rest of a file.
pub fn load(bytes: &[u8]) -> Result<Loaded, RdbError> {
    let mut loader = Loader::new();
    loader.feed(bytes)?;
    loader.finish()
}

/// An `EXPIRETIME(_MS)` opcode's time as `rdbLoadRioWithLoadingCtx` keeps it: -1 is Redis's
/// own "no expire" value (`expiretime != -1` gates `setExpire`), any other time is kept as
/// it is, negative ones included (see [`Entry::is_expired`] for what those do).
fn expire_time(ms: i64) -> Option<i64> {
    (ms != -1).then_some(ms)
}

/// The replication info as `rdbLoadRio` fills `rsi`: `repl-id` counts only with exactly 40
/// characters; keys are compared case-insensitively; the last occurrence wins.
fn repl_info(aux: &[(String, String)]) -> Option<ReplInfo> {
    let get = |name: &str| {
        aux.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let id = get("repl-id").filter(|id| id.len() == 40)?;
    Some(ReplInfo {
        repl_stream_db: get("repl-stream-db").map_or(-1, |v| atoll(v) as i32),
        repl_id: id.to_string(),
        repl_offset: get("repl-offset").map_or(-1, atoll),
    })
}

/// `strtoll(s, NULL, 10)` / `atoi`: leading blanks, optional sign, digits; 0 when none.
pub(crate) fn atoll(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for c in rest.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        v.saturating_neg()
    } else {
        v
    }
}

/// `moduleTypeNameByID`: the 9-character module type name packed in a module id.
fn module_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for slot in name.iter_mut().rev() {
        *slot = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// The start of an RDB as words, for a packet inspector that holds its first bytes only:
/// the version, the AUX fields, the databases and the keys it can name (a string value is
/// read through; past any other type, or where the bytes end, the outline stops). Never
/// fails: truncated or foreign bytes end the outline with a note.
pub fn outline(bytes: &[u8]) -> Vec<String> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    match r.take(9) {
        Ok(magic) if magic.starts_with(b"REDIS") => out.push(format!(
            "RDB version {}",
            String::from_utf8_lossy(&magic[5..]).trim_start_matches('0')
        )),
        _ => return vec!["(not an RDB)".into()],
    }
    // Quoted, at most 40 bytes of each.
    let text = |b: Vec<u8>| {
        let more = if b.len() > 40 { "…" } else { "" };
        format!(
            "\"{}{more}\"",
            String::from_utf8_lossy(&b[..b.len().min(40)])
        )
    };
    loop {
        let line = match r.u8() {
            Err(_) => break,
            Ok(OPCODE_EOF) => {
                out.push("EOF (then the CRC64 checksum)".into());
                return out;
            }
            Ok(OPCODE_AUX) => match (r.string(), r.string()) {
                (Ok(k), Ok(v)) => format!("AUX {} = {}", text(k), text(v)),
                _ => break,
            },
            Ok(OPCODE_SELECTDB) => match r.len() {
                Ok(db) => format!("SELECTDB {db}"),
                Err(_) => break,
            },
            Ok(OPCODE_RESIZEDB) => match (r.len(), r.len()) {
                (Ok(keys), Ok(expires)) => format!("RESIZEDB {keys} keys, {expires} with a TTL"),
                _ => break,
            },
            Ok(OPCODE_EXPIRETIME_MS) => match r.array::<8>() {
                Ok(ms) => format!("expires at {} ms", i64::from_le_bytes(ms)),
                Err(_) => break,
            },
            Ok(TYPE_STRING) => match (r.string(), r.string()) {
                (Ok(k), Ok(v)) => format!("key {} = {}", text(k), text(v)),
                _ => break,
            },
            Ok(kind) => {
                if let Ok(k) = r.string() {
                    out.push(format!("key {} (type {kind})", text(k)));
                }
                out.push("…".into());
                return out;
            }
        };
        out.push(line);
    }
    out.push("… (the rest of the RDB is in later bytes)".into());
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where `buf` starts in the file (errors give file offsets).
    base: usize,
    /// Set when a read needed bytes past the end of `buf`: with a file, the error it is;
    /// with a transfer in progress, the bytes may still come (see [`Loader`]).
    truncated: bool,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            base: 0,
            truncated: false,
        }
    }

    fn err_at(&self, offset: usize, reason: impl Into<String>) -> RdbError {
        RdbError {
            offset: self.base + offset,
            reason: reason.into(),
        }
    }

    fn eof(&self) -> RdbError {
        self.err_at(self.pos, "Unexpected EOF reading RDB file")
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], RdbError> {
        let remaining = (self.buf.len() - self.pos) as u64;
        if n > remaining {
            self.truncated = true;
            return Err(self.eof());
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N as u64)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    /// `rdbLoadLenByRef`: the length and whether it is a special string encoding.
    fn len_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let at = self.pos;
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok((u64::from(b & 0x3f), false)),
            1 => Ok(((u64::from(b & 0x3f) << 8) | u64::from(self.u8()?), false)),
            2 => match b {
                0x80 => Ok((u64::from(u32::from_be_bytes(self.array::<4>()?)), false)),
                0x81 => Ok((u64::from_be_bytes(self.array::<8>()?), false)),
                _ => Err(self.err_at(at, format!("Unknown length encoding {b} in rdbLoadLen()"))),
            },
            _ => Ok((u64::from(b & 0x3f), true)),
        }
    }

    /// `rdbLoadLen`: a plain length (a special-encoding byte reads as its low 6 bits, as in Redis).
    fn len(&mut self) -> Result<u64, RdbError> {
        Ok(self.len_enc()?.0)
    }

    /// `rdbGenericLoadStringObject`: integer-encoded, LZF-compressed or raw.
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let at = self.pos;
        let (len, encoded) = self.len_enc()?;
        if !encoded {
            return Ok(self.take(len)?.to_vec());
        }
        match len {
            0 => Ok((self.u8()? as i8).to_string().into_bytes()),
            1 => Ok(i16::from_le_bytes(self.array::<2>()?)
                .to_string()
                .into_bytes()),
            2 => Ok(i32::from_le_bytes(self.array::<4>()?)
                .to_string()
                .into_bytes()),
            3 => {
                let clen = self.len()?;
                let ulen = self.len()?;
                let data = self.take(clen)?;
                if ulen == 0 {
                    return Ok(Vec::new());
                }
                let ulen = usize::try_from(ulen)
                    .map_err(|_| self.err_at(at, "Invalid LZF compressed string"))?;
                match lzf::decompress(data, ulen) {
                    Ok(out) if out.len() == ulen => Ok(out),
                    _ => Err(self.err_at(at, "Invalid LZF compressed string")),
                }
            }
            other => Err(self.err_at(at, format!("Unknown RDB string encoding type {other}"))),
        }
    }

    /// `rdbLoadDoubleValue` (RDB_TYPE_ZSET): length byte, 253 NaN, 254 +inf, 255 -inf, or ASCII.
    fn ascii_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(u64::from(n))?;
                parse_score(text).ok_or_else(|| self.err_at(at, "Invalid double value"))
            }
        }
    }

    /// `rdbLoadObject`. `Ok(None)` is an empty collection, which Redis skips.
    fn object(&mut self, ty: u8, at: usize) -> Result<Option<Value>, RdbError> {
        let value = match ty {
            TYPE_STRING => Value::String(self.string()?),
            TYPE_LIST => {
                let n = self.len()?;
                let mut list = VecDeque::new();
                for _ in 0..n {
                    list.push_back(self.string()?);
                }
                Value::List(list)
            }
            TYPE_SET => {
                let n = self.len()?;
                let mut set = SetValue::default();
                for _ in 0..n {
                    let m_at = self.pos;
                    if !set.insert(self.string()?) {
                        return Err(self.err_at(m_at, "Duplicate set members detected"));
                    }
                }
                Value::Set(intset_order(set))
            }
            TYPE_ZSET | TYPE_ZSET_2 => {
                let n = self.len()?;
                let mut zset = ZSetValue::default();
                for _ in 0..n {
                    let m_at = self.pos;
                    let member = self.string()?;
                    let score = if ty == TYPE_ZSET_2 {
                        f64::from_le_bytes(self.array::<8>()?)
                    } else {
                        self.ascii_double()?
                    };
                    if score.is_nan() {
                        return Err(self.err_at(m_at, "Zset with NAN score detected"));
                    }
                    if !zset.insert(member, score) {
                        return Err(self.err_at(m_at, "Duplicate zset fields detected"));
                    }
                }
                Value::ZSet(listpack_scores(zset))
            }
            TYPE_HASH => {
                let n = self.len()?;
                let mut hash = HashValue::default();
                for _ in 0..n {
                    let f_at = self.pos;
                    let field = self.string()?;
                    let value = self.string()?;
                    if hash.insert(field, value).is_some() {
                        return Err(self.err_at(f_at, "Duplicate hash fields detected"));
                    }
                }
                Value::Hash(hash)
            }
            TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
                let n = self.len()?;
                let mut list = VecDeque::new();
                for _ in 0..n {
                    let node_at = self.pos;
                    let container = if ty == TYPE_LIST_QUICKLIST_2 {
                        self.len()?
                    } else {
                        QUICKLIST_NODE_PACKED
                    };
                    if container != QUICKLIST_NODE_PACKED && container != QUICKLIST_NODE_PLAIN {
                        return Err(self.err_at(node_at, "Quicklist integrity check failed."));
                    }
                    let data = self.string()?;
                    if data.is_empty() {
                        return Err(
                            self.err_at(node_at, "Quicklist integrity check failed: empty node.")
                        );
                    }
                    if container == QUICKLIST_NODE_PLAIN {
                        list.push_back(data);
                        continue;
                    }
                    let elems = if ty == TYPE_LIST_QUICKLIST_2 {
                        listpack::decode(&data).map_err(|e| {
                            self.err_at(node_at, format!("Listpack integrity check failed: {e}"))
                        })?
                    } else {
                        ziplist::decode(&data).map_err(|e| self.err_at(node_at, e))?
                    };
                    list.extend(elems.into_iter().map(Elem::to_bytes));
                }
                Value::List(list)
            }
            TYPE_HASH_ZIPMAP | TYPE_LIST_ZIPLIST | TYPE_SET_INTSET | TYPE_ZSET_ZIPLIST
            | TYPE_HASH_ZIPLIST | TYPE_ZSET_LISTPACK | TYPE_HASH_LISTPACK => {
                let blob_at = self.pos;
                let blob = self.string()?;
                self.blob_object(ty, &blob)
                    .map_err(|reason| self.err_at(blob_at, reason))?
            }
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
                return Err(self.err_at(
                    at,
                    format!("Stream keys are not supported by replscope (RDB type {ty})"),
                ))
            }
            TYPE_MODULE | TYPE_MODULE_2 => {
                let id = self.len()?;
                return Err(self.err_at(
                    at,
                    format!(
                        "The RDB file contains module data I can't load: no matching module type '{}' (replscope supports no modules)",
                        module_name(id)
                    ),
                ));
            }
            other => return Err(self.err_at(at, format!("Unknown RDB encoding type {other}"))),
        };
        Ok((!is_empty(&value)).then_some(value))
    }

    /// The types whose payload is one string holding a compact encoding.
    fn blob_object(&self, ty: u8, blob: &[u8]) -> Result<Value, String> {
        Ok(match ty {
            TYPE_HASH_ZIPMAP => {
                let mut hash = HashValue::default();
                for (f, v) in ziplist::decode_zipmap(blob)? {
                    if hash.insert(f.to_vec(), v.to_vec()).is_some() {
                        return Err("Hash zipmap with dup elements".into());
                    }
                }
                Value::Hash(hash)
            }
            TYPE_LIST_ZIPLIST => Value::List(
                ziplist::decode(blob)
                    .map_err(|_| "List ziplist integrity check failed.")?
                    .into_iter()
                    .map(Elem::to_bytes)
                    .collect(),
            ),
            TYPE_SET_INTSET => Value::Set(
                intset::decode(blob)?
                    .into_iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect(),
            ),
            TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
                let (elems, what) = if ty == TYPE_HASH_ZIPLIST {
                    (
                        ziplist::decode(blob)
                            .map_err(|_| "Hash ziplist integrity check failed.")?,
                        "Hash ziplist",
                    )
                } else {
                    (
                        listpack::decode(blob)
                            .map_err(|e| format!("Hash listpack integrity check failed: {e}"))?,
                        "Hash listpack",
                    )
                };
                if elems.len() % 2 != 0 {
                    return Err(format!(
                        "{what} integrity check failed: odd number of elements"
                    ));
                }
                let mut hash = HashValue::default();
                for pair in elems.chunks_exact(2) {
                    if hash
                        .insert(pair[0].to_bytes(), pair[1].to_bytes())
                        .is_some()
                    {
                        return Err(format!("{what} integrity check failed: duplicate fields"));
                    }
                }
                Value::Hash(hash)
            }
            TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
                let (elems, what) = if ty == TYPE_ZSET_ZIPLIST {
                    (
                        ziplist::decode(blob)
                            .map_err(|_| "Zset ziplist integrity check failed.")?,
                        "Zset ziplist",
                    )
                } else {
                    (
                        listpack::decode(blob)
                            .map_err(|e| format!("Zset listpack integrity check failed: {e}"))?,
                        "Zset listpack",
                    )
                };
                if elems.len() % 2 != 0 {
                    return Err(format!(
                        "{what} integrity check failed: odd number of elements"
                    ));
                }
                let mut zset = ZSetValue::default();
                for pair in elems.chunks_exact(2) {
                    let score = match pair[1] {
                        Elem::Int(v) => v as f64,
                        Elem::Str(s) => {
                            parse_score(s).ok_or_else(|| format!("{what} has an invalid score"))?
                        }
                    };
                    if score.is_nan() {
                        return Err("Zset with NAN score detected".into());
                    }
                    if !zset.insert(pair[0].to_bytes(), score) {
                        return Err(format!("{what} integrity check failed: duplicate members"));
                    }
                }
                Value::ZSet(zset)
            }
            _ => return Err(format!("Unknown RDB encoding type {ty}")),
        })
    }
}

/// Redis loads a plain set of at most `set-max-intset-entries` integers into an intset, so
/// it then holds (and SMEMBERS lists) the members in ascending numeric order, not file order.
fn intset_order(set: SetValue) -> SetValue {
    if set.len() > SET_MAX_INTSET_ENTRIES {
        return set;
    }
    let ints: Option<Vec<i64>> = set.iter().map(|m| listpack::parse_strict_i64(m)).collect();
    match ints {
        Some(mut ints) => {
            ints.sort_unstable();
            ints.into_iter()
                .map(|v| v.to_string().into_bytes())
                .collect()
        }
        None => set,
    }
}

/// A score written as text (`strtod`): decimal, exponent, "inf"/"-inf" (and "nan", which the
/// caller rejects).
fn parse_score(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.trim().parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_redis_check_value() {
        // crc64.c's self test: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn length_encodings() {
        for (len, want) in [
            (0u64, vec![0x00]),
            (63, vec![0x3f]),
            (64, vec![0x40, 0x40]),
            (16383, vec![0x7f, 0xff]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (u64::from(u32::MAX), vec![0x80, 0xff, 0xff, 0xff, 0xff]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            write_len(&mut out, len);
            assert_eq!(out, want, "{len}");
            let mut r = Reader::new(&out);
            assert_eq!(r.len().unwrap(), len);
            assert_eq!(r.pos, out.len());
        }
    }

    #[test]
    fn string_encodings() {
        let cases: Vec<(&[u8], Vec<u8>)> = vec![
            (b"0", vec![0xC0, 0]),
            (b"-128", vec![0xC0, 0x80]),
            (b"128", vec![0xC1, 0x80, 0x00]),
            (b"-32769", vec![0xC2, 0xff, 0x7f, 0xff, 0xff]),
            (
                b"2147483648",
                vec![
                    10, b'2', b'1', b'4', b'7', b'4', b'8', b'3', b'6', b'4', b'8',
                ],
            ),
            (b"007", vec![3, b'0', b'0', b'7']),
            (b"", vec![0]),
        ];
        for (s, want) in cases {
            let mut out = Vec::new();
            write_string(&mut out, s, true);
            assert_eq!(out, want, "{:?}", String::from_utf8_lossy(s));
            let mut r = Reader::new(&out);
            assert_eq!(r.string().unwrap(), s);
        }
        let long = vec![b'a'; 100];
        let mut out = Vec::new();
        write_string(&mut out, &long, true);
        assert_eq!(out[0], 0xC3);
        let mut r = Reader::new(&out);
        assert_eq!(r.string().unwrap(), long);
    }

    #[test]
    fn g17_like_printf() {
        for (d, want) in [
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (-2.5e-5, "-2.5000000000000001e-05"),
            (1e17, "1e+17"),
            (1.0e16 + 0.5, "10000000000000000"),
            (123456.789, "123456.789"),
            (0.0001, "0.0001"),
            (1e300, "1.0000000000000001e+300"),
            (5e18, "5e+18"),
        ] {
            assert_eq!(format_g17(d), want, "{d}");
        }
        assert_eq!(double2ll(-0.0), Some(0));
        assert_eq!(double2ll(3.0), Some(3));
        assert_eq!(double2ll(3.5), None);
        assert_eq!(double2ll(5e18), None);
    }

    #[test]
    fn module_names() {
        // The id Redis derives for "ReJSON-RL" version 3 round-trips through the charset.
        let cset = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id: u64 = 0;
        for c in b"ReJSON-RL" {
            id = (id << 6) | cset.iter().position(|x| x == c).unwrap() as u64;
        }
        assert_eq!(module_name((id << 10) | 3), "ReJSON-RL");
    }
}
