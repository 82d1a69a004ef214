//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`: Redis's SHA-1 fingerprint of a dataset
//! (debug.c, `computeDatasetDigest` and `xorObjectDigest`), byte for byte, so that a
//! replscope node and a redis-server holding the same data answer the same 40 hex digits.
//!
//! Unordered things (keys, set members, hash fields, sorted set members) are combined with
//! XOR, so their order does not matter; a list's elements are chained ([`mix`]), so it does.
//! Redis digests every element by its value as a string, whatever its encoding (an intset
//! member or a listpack integer is formatted back with `ll2string`); replscope stores values
//! as the bytes written, which are those same strings (Redis only encodes a string as an
//! integer when it reads back identically). Sorted set scores are digested as `"%.17g"`.
//! An expiry adds only the fact that there is one (`"!!expire!!"`), not its time.

use sha1::{Digest, Sha1};

use super::keyspace::{Entry, Keyspace, Value};
use super::rdb::format_g17;

/// A 20-byte digest.
pub type Sha = [u8; 20];

/// `OBJ_STRING` … `OBJ_HASH` (server.h), digested as a big-endian `uint32_t`.
fn object_type(value: &Value) -> u32 {
    match value {
        Value::String(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

fn sha1(bytes: &[u8]) -> Sha {
    Sha1::digest(bytes).into()
}

/// `xorDigest`: `digest ^= SHA1(bytes)`, which adds an element regardless of order.
fn xor(digest: &mut Sha, bytes: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(bytes)) {
        *d ^= h;
    }
}

/// `mixDigest`: `digest = SHA1(digest ^ SHA1(bytes))`, which chains elements in order.
fn mix(digest: &mut Sha, bytes: &[u8]) {
    xor(digest, bytes);
    *digest = sha1(digest);
}

/// A score as `snprintf("%.17g")` prints it, `inf`, `-inf` and `-0` included.
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        if score < 0.0 { "-inf" } else { "inf" }.into()
    } else if score == 0.0 {
        if score.is_sign_negative() { "-0" } else { "0" }.into()
    } else {
        format_g17(score)
    }
}

/// The digest of one `(member, score)` or `(field, value)` pair, before it is XORed in.
fn pair_digest(a: &[u8], b: &[u8]) -> Sha {
    let mut d = [0; 20];
    mix(&mut d, a);
    mix(&mut d, b);
    d
}

/// `xorObjectDigest`: mixes one value (its type, its elements, whether it expires) into
/// `digest`.
fn mix_object(digest: &mut Sha, entry: &Entry) {
    mix(digest, &object_type(&entry.value).to_be_bytes());
    match &entry.value {
        Value::String(s) => mix(digest, s),
        Value::List(list) => list.iter().for_each(|e| mix(digest, e)),
        Value::Set(set) => set.iter().for_each(|m| xor(digest, m)),
        Value::ZSet(zset) => {
            for (member, score) in zset.iter() {
                xor(digest, &pair_digest(member, score_text(score).as_bytes()));
            }
        }
        Value::Hash(hash) => {
            for (field, value) in hash {
                xor(digest, &pair_digest(field, value));
            }
        }
    }
    // `getExpire` answers -1 for a key without an expiry.
    if entry.expire_at_ms.is_some_and(|at| at != -1) {
        xor(digest, b"!!expire!!");
    }
}

/// `computeDatasetDigest`: 20 zero bytes for an empty dataset.
pub fn dataset(keyspace: &Keyspace) -> Sha {
    let mut fin = [0; 20];
    for (id, db) in keyspace.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        // The db number goes in, so the same keys in another db digest differently.
        mix(&mut fin, &(id as u32).to_be_bytes());
        for (key, entry) in db.iter() {
            let mut d = [0; 20];
            mix(&mut d, key);
            mix_object(&mut d, entry);
            xor(&mut fin, &d);
        }
    }
    fin
}

/// `DEBUG DIGEST-VALUE` of one key: its value alone (not its name); zeros for no key.
pub fn value(entry: Option<&Entry>) -> Sha {
    let mut d = [0; 20];
    if let Some(entry) = entry {
        mix_object(&mut d, entry);
    }
    d
}

/// The digest as the 40 lowercase hex digits DEBUG answers.
pub fn hex(digest: &Sha) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_dataset_digests_to_zeros() {
        assert_eq!(hex(&dataset(&Keyspace::default())), "0".repeat(40));
        assert_eq!(hex(&value(None)), "0".repeat(40));
    }

    #[test]
    fn scores_print_as_percent_17g() {
        assert_eq!(score_text(1.5), "1.5");
        assert_eq!(score_text(0.1), "0.10000000000000001");
        assert_eq!(score_text(-0.0), "-0");
        assert_eq!(score_text(f64::NEG_INFINITY), "-inf");
        assert_eq!(score_text(1e300), "1.0000000000000001e+300");
    }
}
