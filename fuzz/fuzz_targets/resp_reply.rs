//! The client-side reply parser (a replica reading its master's replies, the console) on
//! arbitrary bytes: each reply it returns re-encodes to the bytes it consumed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::resp::parse_reply;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((reply, used))) = parse_reply(rest) {
        assert!(used > 0 && used <= rest.len());
        // Simple strings and errors stop at the first CR, so only those without one compare.
        let encoded = reply.encode();
        if encoded.len() == used {
            assert_eq!(encoded, &rest[..used]);
        }
        rest = &rest[used..];
    }
});
