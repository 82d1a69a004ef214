//! Test data that compresses badly: hex digits from an LCG. An RDB of such values stays about
//! as large as the values (LZF finds nothing to repeat), so a test can make a full sync's
//! transfer as long as it needs. Included with `#[path]` by the tests that use it.

/// `len` hex digits continuing the sequence in `state` (start it at any value, e.g. 1).
pub fn hex_noise(state: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b"0123456789abcdef"[(*state >> 60) as usize])
        })
        .collect()
}
