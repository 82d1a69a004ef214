//! `rdb-key-save-delay` and `key-load-delay`: Redis's test knobs that make an RDB child, or a
//! replica loading an RDB, pause after every key (`debugDelay` in debug.c). Redis's own tests
//! use them to hold a BGSAVE or a full sync in progress. Here the pauses are virtual time:
//! the child's end moves ([`total_us`]), and a diskless child's payload reaches the replicas'
//! sockets as the child would have written it ([`PacedPayload`]).

use std::collections::VecDeque;
use std::ops::Range;

/// `PROTO_IOBUF_LEN`: the child writes through a buffer of this size (`rioFdWrite`), so a
/// socket sees the payload in pieces of about this much, not key by key.
const WRITE_BUFFER: usize = 16 * 1024;

/// Microseconds `debugDelay(per_key)` sleeps, in all, over `keys` keys: `per_key` each, or
/// for a negative `-n` one microsecond once in `n` keys (on average: Redis draws it).
pub(crate) fn total_us(per_key: i64, keys: usize) -> u64 {
    let keys = keys as u64;
    match per_key {
        0 => 0,
        d if d > 0 => keys.saturating_mul(d as u64),
        d => keys / d.unsigned_abs(),
    }
}

/// When, after the child starts, it has written key `i` (0-based): it pauses after each key.
fn key_written_us(per_key: i64, i: usize) -> u64 {
    total_us(per_key, i)
}

/// A diskless payload (`$EOF:<mark>\r\n`, the RDB, the mark) that a slowed-down child writes
/// over time: the parts its write buffer has flushed by each moment.
#[derive(Clone, Debug)]
pub(crate) struct PacedPayload {
    pub(crate) payload: Vec<u8>,
    /// (unix ms, payload end) of each flush still to come, in order.
    flushes: VecDeque<(u64, usize)>,
    /// Payload bytes handed to the replicas so far.
    sent: usize,
}

impl PacedPayload {
    /// `payload` holds `prefix` bytes before the RDB; `key_ends` are offsets in the RDB (see
    /// `rdb::save_keyed`). The child starts at `start_ms` and pauses `per_key` µs per key.
    pub(crate) fn new(
        payload: Vec<u8>,
        prefix: usize,
        key_ends: &[usize],
        start_ms: u64,
        per_key: i64,
    ) -> PacedPayload {
        let at = |us: u64| start_ms + us.div_ceil(1000);
        let mut flushes = VecDeque::new();
        let mut flushed = 0;
        for (i, end) in key_ends.iter().enumerate() {
            let end = prefix + end;
            if end - flushed > WRITE_BUFFER {
                flushes.push_back((at(key_written_us(per_key, i)), end));
                flushed = end;
            }
        }
        // The end of the file and the mark, with the last flush.
        let len = payload.len();
        flushes.push_back((at(total_us(per_key, key_ends.len())), len));
        PacedPayload {
            payload,
            flushes,
            sent: 0,
        }
    }

    /// The payload bytes written by `now_ms` and not handed over yet.
    pub(crate) fn due(&mut self, now_ms: u64) -> Option<Range<usize>> {
        let mut end = self.sent;
        while let Some(&(at, flush_end)) = self.flushes.front() {
            if at > now_ms {
                break;
            }
            end = flush_end;
            self.flushes.pop_front();
        }
        (end > self.sent).then(|| {
            let range = self.sent..end;
            self.sent = end;
            range
        })
    }

    /// When the next part is written.
    pub(crate) fn next_ms(&self) -> Option<u64> {
        self.flushes.front().map(|&(at, _)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_add_up_per_key_or_by_chance() {
        assert_eq!(total_us(0, 100), 0);
        assert_eq!(total_us(1000, 100), 100_000);
        assert_eq!(total_us(-10, 100), 10);
    }

    #[test]
    fn a_paced_payload_comes_in_buffer_flushes_and_ends_after_the_last_key() {
        // Ten keys of 10 KB after a 50-byte header: a flush every second key.
        let key_ends: Vec<usize> = (1..=10).map(|k| 50 + k * 10_000).collect();
        let payload = vec![0u8; 7 + 100_050 + 20];
        let mut p = PacedPayload::new(payload, 7, &key_ends, 1_000, 100_000);
        assert_eq!(p.due(1_000), None);
        assert_eq!(p.next_ms(), Some(1_100));
        assert_eq!(p.due(1_100), Some(0..7 + 20_050));
        assert_eq!(p.due(1_250), None);
        assert_eq!(p.due(1_900), Some(7 + 20_050..7 + 100_050));
        assert_eq!(p.next_ms(), Some(2_000));
        assert_eq!(p.due(2_000), Some(7 + 100_050..100_077));
        assert_eq!(p.next_ms(), None);
    }
}
