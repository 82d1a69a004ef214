//! The client-side reply parser (a replica reading its master's replies, the console, the
//! page's packet inspector) on arbitrary bytes: never a panic, and each reply it returns
//! re-encodes to the bytes it consumed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::resp::{parse_reply, Reply};

/// Whether `reply` kept its bytes: simple strings and errors are read as text, so bytes
/// that are not UTF-8 come back replaced (U+FFFD) and cannot re-encode the same.
fn lossless(reply: &Reply) -> bool {
    match reply {
        Reply::Simple(s) | Reply::Error(s) => !s.contains('\u{FFFD}'),
        Reply::Array(items) => items.iter().all(lossless),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len());
        // Integers re-encode without leading zeros or a plus sign: compare those that match.
        let encoded = reply.encode();
        if lossless(&reply) && encoded.len() == used {
            assert_eq!(encoded, &rest[..used]);
        }
        rest = &rest[used..];
    }
});
