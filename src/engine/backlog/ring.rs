//! The classic backlog of Redis ≤ 6.2 (and of the source article): one fixed-size circular
//! byte buffer. It follows 6.2's `feedReplicationBacklog`, `addReplyReplicationBacklog` and
//! `resizeReplicationBacklog` line by line, so the UI can show the write head wrapping and the
//! window sliding one byte at a time, which is the picture the article teaches.

use serde::{Deserialize, Serialize};

use super::{AppendReport, TrimReport, MIN_SIZE};

/// `server.repl_backlog` + `repl_backlog_size/_idx/_histlen/_off` of Redis 6.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    /// The circular buffer. Redis allocates all `size` bytes up front; here the vector grows
    /// to `size` on the first lap instead (same contents wherever `histlen` reaches), so a
    /// simulation with many idle nodes does not hold megabytes of zeroes.
    buf: Vec<u8>,
    /// `repl_backlog_size`: the ring's capacity.
    size: usize,
    /// `repl_backlog_idx`: where the next byte goes.
    idx: usize,
    /// `repl_backlog_histlen`: valid bytes, never more than `size`.
    histlen: i64,
    /// `repl_backlog_off`: offset of the oldest byte held.
    offset: i64,
    /// `master_repl_offset`: offset of the last byte fed.
    master_offset: i64,
    /// How many times the write head went back to index 0 (UI only; Redis keeps no count).
    wraps: u64,
}

impl Ring {
    /// `createReplicationBacklog` (6.2): empty, the first byte virtually the next one.
    pub fn new(size: usize, master_repl_offset: i64) -> Self {
        let size = size.max(1);
        Ring {
            buf: Vec::new(),
            size,
            idx: 0,
            histlen: 0,
            offset: master_repl_offset + 1,
            master_offset: master_repl_offset,
            wraps: 0,
        }
    }

    /// `feedReplicationBacklog` (6.2): copy around the ring, cap `histlen` at the capacity and
    /// recompute the first byte. Old bytes are overwritten one for one, so the window slides.
    pub fn append(&mut self, bytes: &[u8]) -> AppendReport {
        let before_first = self.offset;
        let mut wraps: u32 = 0;
        let mut p = bytes;
        self.master_offset += bytes.len() as i64;
        while !p.is_empty() {
            let thislen = (self.size - self.idx).min(p.len());
            let end = self.idx + thislen;
            if self.buf.len() < end {
                // First lap: the part of the vector not yet written does not exist yet.
                self.buf.resize(end, 0);
            }
            self.buf[self.idx..end].copy_from_slice(&p[..thislen]);
            self.idx = end;
            if self.idx == self.size {
                self.idx = 0;
                wraps += 1;
            }
            p = &p[thislen..];
            self.histlen += thislen as i64;
        }
        self.histlen = self.histlen.min(self.size as i64);
        self.offset = self.master_offset - self.histlen + 1;
        self.wraps += u64::from(wraps);
        AppendReport {
            bytes: bytes.len(),
            master_offset: self.master_offset,
            overwritten: (self.offset - before_first) as usize,
            wraps,
            ..AppendReport::default()
        }
    }

    /// `resizeReplicationBacklog` (6.2): clamp to 16 KB; an unchanged size does nothing;
    /// otherwise the history is *dropped* (Redis frees and reallocates rather than copy
    /// gigabytes), so every PSYNC until new bytes arrive is a full sync.
    pub fn resize(&mut self, size: usize) -> TrimReport {
        let size = size.max(MIN_SIZE);
        if size == self.size {
            return TrimReport::empty(self.offset);
        }
        let dropped = self.histlen;
        self.size = size;
        self.buf = Vec::new();
        self.idx = 0;
        self.histlen = 0;
        self.offset = self.master_offset + 1;
        TrimReport {
            blocks: Vec::new(),
            bytes: dropped,
            first_byte_offset: self.offset,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }
    pub fn first_byte_offset(&self) -> i64 {
        self.offset
    }
    pub fn histlen(&self) -> i64 {
        self.histlen
    }
    pub fn master_offset(&self) -> i64 {
        self.master_offset
    }
    pub fn idx(&self) -> usize {
        self.idx
    }
    pub fn wraps(&self) -> u64 {
        self.wraps
    }

    /// `addReplyReplicationBacklog` (6.2): start at the oldest byte
    /// (`idx + size - histlen) % size`), skip to `offset`, copy in at most two pieces.
    /// The caller has checked the window.
    pub fn bytes_from(&self, offset: i64) -> Vec<u8> {
        let skip = (offset - self.offset) as usize;
        let mut len = self.histlen as usize - skip;
        let mut out = Vec::with_capacity(len);
        if len == 0 {
            return out;
        }
        let first = (self.idx + (self.size - self.histlen as usize)) % self.size;
        let mut j = (first + skip) % self.size;
        while len > 0 {
            let thislen = (self.size - j).min(len);
            out.extend_from_slice(&self.buf[j..j + thislen]);
            len -= thislen;
            j = 0;
        }
        out
    }

    /// Shift every offset by `base` (a master restarted from an RDB carrying `repl-offset`).
    pub fn rebase(&mut self, base: i64) {
        self.offset += base;
        self.master_offset += base;
    }
}
