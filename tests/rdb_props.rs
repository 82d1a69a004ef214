//! Property tests of the RDB module: `load(save(ks)) == ks` for arbitrary keyspaces, and
//! `load` never panics (nor allocates from a lying length) on arbitrary, mutated or
//! truncated input.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::VecDeque;

use proptest::prelude::*;
use replscope::engine::keyspace::{Entry, HashValue, Keyspace, SetValue, Value, ZSetValue};
use replscope::engine::rdb::{self, ReplInfo, SaveOptions};

fn opts(repl: Option<ReplInfo>) -> SaveOptions {
    SaveOptions {
        redis_ver: "7.0.15",
        ctime_secs: 1_700_000_000,
        used_mem: 1_234_567,
        rdbcompression: true,
        repl,
    }
}

/// Bytes of the kinds that exercise different encodings: binary, integer-looking (which
/// become int encodings and listpack integers), long and compressible (LZF).
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..24),
        3 => any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        2 => (-200i64..70_000).prop_map(|v| v.to_string().into_bytes()),
        1 => (proptest::collection::vec(any::<u8>(), 1..6), 5usize..80)
            .prop_map(|(pat, n)| pat.iter().cycle().take(pat.len() * n).copied().collect()),
        1 => proptest::collection::vec(any::<u8>(), 60..70),
    ]
}

/// Scores: never NaN (Redis refuses it) and never -0.0, which a listpack stores as the
/// integer 0 (`double2ll`), so Redis itself turns it into 0 on a save/load cycle.
fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN, no -0.0", |f| !(f.is_nan()
            || (*f == 0.0 && f.is_sign_negative()))),
        (-1000i64..1000).prop_map(|v| v as f64),
        (-1000i64..1000).prop_map(|v| v as f64 / 4.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

/// Collection sizes straddling the listpack / intset thresholds now and then.
fn size(small: usize, threshold: usize) -> impl Strategy<Value = usize> {
    prop_oneof![6 => 1..small, 1 => threshold - 2..threshold + 3]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        bytes().prop_map(Value::String),
        size(30, 8)
            .prop_flat_map(|n| proptest::collection::vec(bytes(), n))
            .prop_map(|v| Value::List(VecDeque::from(v))),
        // Lists spanning several 8 KB quicklist nodes.
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 50..300), 40..80)
            .prop_map(|v| Value::List(VecDeque::from(v))),
        size(20, 512)
            .prop_flat_map(|n| proptest::collection::vec((bytes(), bytes()), n))
            .prop_filter_map("need a non-empty hash", |pairs| {
                let h: HashValue = pairs.into_iter().collect();
                (!h.is_empty()).then_some(Value::Hash(h))
            }),
        size(20, 512)
            .prop_flat_map(|n| proptest::collection::vec(bytes(), n))
            .prop_filter_map("need a non-empty set", |members| {
                let s: SetValue = members.into_iter().collect();
                (!s.is_empty()).then_some(Value::Set(s))
            }),
        size(20, 512)
            .prop_flat_map(|n| proptest::collection::vec(any::<i64>(), n))
            .prop_map(|ints| Value::Set(
                ints.into_iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect()
            )),
        size(20, 128)
            .prop_flat_map(|n| proptest::collection::vec((bytes(), score()), n))
            .prop_map(|pairs| {
                let mut z = ZSetValue::default();
                for (m, s) in pairs {
                    z.insert(m, s);
                }
                Value::ZSet(z)
            }),
    ]
}

fn keyspace() -> impl Strategy<Value = Keyspace> {
    proptest::collection::vec(
        (
            0usize..16,
            bytes(),
            value(),
            proptest::option::of(0i64..5_000_000_000_000),
        ),
        0..12,
    )
    .prop_map(|entries| {
        let mut ks = Keyspace::default();
        for (db, key, value, expire_at_ms) in entries {
            ks.db_mut(db).insert(
                key,
                Entry {
                    value,
                    expire_at_ms,
                },
            );
        }
        ks
    })
}

/// Equality that also checks the orders the format preserves: list order, hash field order
/// (listpack and dict both keep ours) and zset order. Set order is not kept (an intset is
/// sorted), so sets compare as sets, which `==` on `Keyspace` already does.
fn assert_same(got: &Keyspace, want: &Keyspace) {
    assert_eq!(got, want);
    for (g, w) in got.dbs.iter().zip(&want.dbs) {
        for ((gk, ge), (wk, we)) in g.iter().zip(w.iter()) {
            assert_eq!(gk, wk);
            if let (Value::Hash(a), Value::Hash(b)) = (&ge.value, &we.value) {
                assert!(a.iter().eq(b.iter()), "hash order of {gk:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn save_then_load_is_identity(ks in keyspace(), repl_db in -1i32..16, offset in any::<i64>()) {
        let repl = ReplInfo { repl_stream_db: repl_db, repl_id: "0123456789abcdef0123456789abcdef01234567".into(), repl_offset: offset };
        let bytes = rdb::save(&ks, &opts(Some(repl.clone())));
        let loaded = rdb::load(&bytes).unwrap();
        assert_same(&loaded.keyspace, &ks);
        prop_assert_eq!(loaded.repl.clone(), Some(repl));
        prop_assert_eq!(loaded.aux[0].0.as_str(), "redis-ver");
        // Deterministic: the same keyspace always gives the same bytes.
        prop_assert_eq!(rdb::save(&ks, &opts(loaded.repl.clone())), bytes);
    }

    #[test]
    fn load_never_panics_on_arbitrary_bytes(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = b"REDIS0010".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = rdb::load(&bytes);
        let _ = rdb::load(&tail);
    }

    #[test]
    fn load_never_panics_on_mutated_files(
        ks in keyspace(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        zero_crc in any::<bool>(),
    ) {
        let mut bytes = rdb::save(&ks, &opts(None));
        let n = bytes.len();
        if zero_crc {
            // A zero CRC is not checked, so the mutations below reach every decoder.
            bytes[n - 8..].fill(0);
        }
        for (at, b) in &edits {
            let i = at.index(n);
            bytes[i] = *b;
        }
        let _ = rdb::load(&bytes);
        let _ = rdb::load(&bytes[..cut.index(n)]);
    }

    #[test]
    fn load_never_panics_on_mutated_redis_files(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/rdb/redis-7.0-save.rdb")).unwrap();
        let n = bytes.len();
        bytes[n - 8..].fill(0); // unchecked CRC: let the mutations reach the decoders
        for (at, b) in &edits {
            bytes[at.index(n)] = *b;
        }
        let _ = rdb::load(&bytes);
        let _ = rdb::load(&bytes[..cut.index(n)]);
    }

    #[test]
    fn truncated_files_are_errors(ks in keyspace(), cut in any::<prop::sample::Index>()) {
        let bytes = rdb::save(&ks, &opts(None));
        let at = cut.index(bytes.len());
        prop_assert!(rdb::load(&bytes[..at]).is_err());
    }
}

/// A valid header with nothing after it but `body`, then EOF and a zero (unchecked) CRC.
fn file_with(body: &[u8]) -> Vec<u8> {
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(body);
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    f
}

#[test]
fn lying_lengths_are_errors_not_allocations() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A string key claiming 2^63 bytes.
        (
            "64-bit string length",
            vec![0x00, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ),
        // LZF claiming 4 GB of output from 2 bytes.
        (
            "LZF output length",
            vec![
                0x00, 0x01, b'k', 0xC3, 0x02, 0x80, 0xff, 0xff, 0xff, 0xff, 0x00, b'a',
            ],
        ),
        // A list claiming 2^64-1 elements.
        (
            "list count",
            vec![
                0x01, 0x01, b'k', 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
            ],
        ),
        // A quicklist claiming 2^32-1 nodes.
        (
            "quicklist nodes",
            vec![0x12, 0x01, b'k', 0x80, 0xff, 0xff, 0xff, 0xff],
        ),
        // RESIZEDB hints of 2^63 keys are only hints.
        (
            "resizedb",
            vec![0xFB, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x00],
        ),
    ];
    for (what, body) in cases {
        let f = file_with(&body);
        if what == "resizedb" {
            assert!(rdb::load(&f).is_ok(), "{what}");
        } else {
            let err = rdb::load(&f).expect_err(what);
            assert!(!err.reason.is_empty(), "{what}");
        }
    }
}

#[test]
fn errors_say_what_and_where() {
    let err = rdb::load(b"RADIS0010\xff").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Wrong signature trying to load DB from file (at byte offset 0)"
    );
    let err = rdb::load(b"REDIS0011\xff").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Can't handle RDB format version 0011"),
        "{err}"
    );

    let mut ks = Keyspace::default();
    ks.db_mut(0).insert(
        b"k".to_vec(),
        Entry {
            value: Value::String(b"v".to_vec()),
            expire_at_ms: None,
        },
    );
    let mut bytes = rdb::save(&ks, &opts(None));
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let err = rdb::load(&bytes).unwrap_err();
    assert!(err.reason.starts_with("RDB CRC error"), "{err}");
    assert_eq!(err.offset, n - 8);

    // A stream key (type 19) and a module value (type 7) are refused by name.
    let err = rdb::load(&file_with(&[0x13, 0x01, b's', 0x00])).unwrap_err();
    assert!(err.reason.contains("Stream"), "{err}");
    let err = rdb::load(&file_with(&[0x07, 0x01, b'm', 0x00])).unwrap_err();
    assert!(err.reason.contains("module"), "{err}");
    // A duplicated key.
    let err = rdb::load(&file_with(&[
        0x00, 0x01, b'k', 0x00, 0x00, 0x01, b'k', 0x00,
    ]))
    .unwrap_err();
    assert!(err.reason.contains("Duplicated key"), "{err}");
    assert_eq!(err.offset, 14);
}

#[test]
fn functions_and_unknown_aux_are_kept() {
    let mut body = vec![0xFA, 0x03, b'f', b'o', b'o', 0x03, b'b', b'a', b'r'];
    body.extend_from_slice(&[0xF5, 0x05, b'#', b'!', b'l', b'u', b'a']);
    let loaded = rdb::load(&file_with(&body)).unwrap();
    assert_eq!(loaded.aux, vec![("foo".to_string(), "bar".to_string())]);
    assert_eq!(loaded.functions, vec![b"#!lua".to_vec()]);
}

#[test]
fn negative_zero_score_becomes_zero_in_a_listpack_like_redis() {
    let mut z = ZSetValue::default();
    z.insert(b"m".to_vec(), -0.0);
    let mut ks = Keyspace::default();
    ks.db_mut(0).insert(
        b"z".to_vec(),
        Entry {
            value: Value::ZSet(z),
            expire_at_ms: None,
        },
    );
    let loaded = rdb::load(&rdb::save(&ks, &opts(None))).unwrap();
    let Value::ZSet(z) = &loaded.keyspace.dbs[0][&b"z".to_vec()].value else {
        panic!("not a zset")
    };
    let score = z.score(b"m").unwrap();
    assert!(score == 0.0 && score.is_sign_positive());
}

#[test]
fn empty_collections_are_skipped_like_redis() {
    // An empty plain list (type 1, count 0) then a string.
    let loaded = rdb::load(&file_with(&[
        0x01, 0x01, b'l', 0x00, 0x00, 0x01, b's', 0x01, b'v',
    ]))
    .unwrap();
    assert_eq!(loaded.keyspace.key_count(), 1);
}
