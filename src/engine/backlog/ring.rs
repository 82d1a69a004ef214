//! The classic backlog of Redis ≤ 6.2 (and of the source article): one fixed-size circular
//! byte buffer. It follows 6.2's `feedReplicationBacklog`, `addReplyReplicationBacklog` and
//! `resizeReplicationBacklog` line by line, so the UI can show the write head wrapping and the
//! window sliding one byte at a time, which is the picture the article teaches.
//!
//! Where the bytes live is the one liberty taken: Redis's buffer is one allocation indexed by
//! `repl_backlog_idx`; here the bytes of the window are kept in [`Page`]s aligned on stream
//! offsets, and `idx` is kept as Redis computes it. Nothing observable differs (what a PSYNC
//! gets, the offsets, the head and laps the UI draws), but a full page never changes again,
//! so copies of a ring (the time-travel checkpoints) share pages instead of copying up to a
//! megabyte each, and rings of nodes that hold the same stream at the same offsets (a master
//! and its replicas) can share theirs ([`Ring::share_pages`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AppendReport, TrimReport, MIN_SIZE};

/// Bytes of stream per page: page boundaries are the multiples of this offset.
pub const PAGE_BYTES: i64 = 16 * 1024;

/// Consecutive stream bytes from offset `start`, never crossing a multiple of
/// [`PAGE_BYTES`]. Full pages are immutable; only the last page of a ring grows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    start: i64,
    data: Vec<u8>,
}

impl Page {
    /// A page of `data` from stream offset `start` (rebuilt from packed bytes).
    pub fn new(start: i64, data: Vec<u8>) -> Page {
        Page { start, data }
    }

    /// The stream offset of its first byte.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// Its bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The offset after the last byte this page may hold.
    fn limit(&self) -> i64 {
        (self.start.div_euclid(PAGE_BYTES) + 1) * PAGE_BYTES
    }

    fn end(&self) -> i64 {
        self.start + self.data.len() as i64
    }
}

/// Pages met so far in a sharing pass, by (start offset, length).
pub type PagePool = BTreeMap<(i64, usize), Arc<Page>>;

/// `server.repl_backlog` + `repl_backlog_size/_idx/_histlen/_off` of Redis 6.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring {
    /// The bytes of the window (offsets `offset..=master_offset`), oldest page first; the
    /// first page may start before `offset` (its older bytes are overwritten ones).
    pages: VecDeque<Arc<Page>>,
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
            pages: VecDeque::new(),
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
        self.store(bytes);
        self.master_offset += bytes.len() as i64;
        let mut left = bytes.len();
        while left > 0 {
            let thislen = (self.size - self.idx).min(left);
            self.idx += thislen;
            if self.idx == self.size {
                self.idx = 0;
                wraps += 1;
            }
            left -= thislen;
            self.histlen += thislen as i64;
        }
        self.histlen = self.histlen.min(self.size as i64);
        self.offset = self.master_offset - self.histlen + 1;
        self.wraps += u64::from(wraps);
        // Pages wholly overwritten leave.
        while self.pages.front().is_some_and(|p| p.end() <= self.offset) {
            self.pages.pop_front();
        }
        AppendReport {
            bytes: bytes.len(),
            master_offset: self.master_offset,
            overwritten: (self.offset - before_first) as usize,
            wraps,
            ..AppendReport::default()
        }
    }

    /// Adds `bytes` (offsets from `master_offset + 1`) to the pages. Only the bytes that
    /// will stay in the window are kept: a feed longer than the ring keeps its tail.
    fn store(&mut self, bytes: &[u8]) {
        let skip = bytes.len().saturating_sub(self.size);
        let mut at = self.master_offset + 1 + skip as i64;
        let mut rest = &bytes[skip..];
        if skip > 0 {
            self.pages.clear();
        }
        while !rest.is_empty() {
            let open = self
                .pages
                .back()
                .is_some_and(|p| p.end() == at && p.end() < p.limit());
            if !open {
                let room = ((at.div_euclid(PAGE_BYTES) + 1) * PAGE_BYTES - at) as usize;
                self.pages.push_back(Arc::new(Page {
                    start: at,
                    data: Vec::with_capacity(room),
                }));
            }
            let Some(last) = self.pages.back_mut() else {
                return;
            };
            // A page shared with a copy is copied before it grows (copy on write).
            let page = Arc::make_mut(last);
            let room = (page.limit() - page.end()) as usize;
            let (now, later) = rest.split_at(room.min(rest.len()));
            page.data.extend_from_slice(now);
            at += now.len() as i64;
            rest = later;
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
        self.pages.clear();
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

    /// `addReplyReplicationBacklog` (6.2): the bytes from `offset` to the end of the
    /// window (Redis copies them out of the ring in at most two pieces). The caller has
    /// checked the window.
    pub fn bytes_from(&self, offset: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.master_offset + 1 - offset).max(0) as usize);
        for page in &self.pages {
            if page.end() <= offset {
                continue;
            }
            let from = (offset - page.start).max(0) as usize;
            out.extend_from_slice(&page.data[from..]);
        }
        out
    }

    /// Makes full pages equal to one already in `pool` the same page (one copy in memory),
    /// and adds the others to it. A master's and its replicas' rings hold the same stream
    /// at the same offsets, so their full pages are equal.
    pub fn share_pages(&mut self, pool: &mut PagePool) {
        for page in self.pages.iter_mut() {
            if page.end() < page.limit() {
                continue; // still growing
            }
            match pool.get(&(page.start, page.data.len())) {
                Some(known) if Arc::ptr_eq(known, page) => {}
                Some(known) if **known == **page => *page = known.clone(),
                Some(_) => {}
                None => {
                    pool.insert((page.start, page.data.len()), page.clone());
                }
            }
        }
    }

    /// Gives this ring its own exact-size copy of the page still growing: called on a copy
    /// kept aside (a checkpoint), so that the original goes on growing its page in place
    /// instead of copying it on its next write, and the copy holds no spare capacity. An
    /// equal copy already in `pool` (another node's, in step with this one) is taken instead.
    pub fn detach_tail(&mut self, pool: &mut PagePool) {
        if let Some(last) = self.pages.back_mut() {
            if last.end() < last.limit() {
                let key = (last.start, last.data.len());
                *last = match pool.get(&key) {
                    Some(known) if known.data == last.data => known.clone(),
                    _ => {
                        let copy = Arc::new(Page {
                            start: last.start,
                            data: last.data.clone(),
                        });
                        pool.entry(key).or_insert_with(|| copy.clone());
                        copy
                    }
                };
            }
        }
    }

    /// Takes the pages out (a checkpoint kept long packs their bytes): until
    /// [`Ring::put_pages`] gives them back, the ring must not be used.
    pub fn take_pages(&mut self) -> VecDeque<Arc<Page>> {
        std::mem::take(&mut self.pages)
    }

    /// Gives back the pages [`Ring::take_pages`] took (or equal ones).
    pub fn put_pages(&mut self, pages: VecDeque<Arc<Page>>) {
        self.pages = pages;
    }

    /// Calls `f` with the address and size of each page (memory accounting: a page shared
    /// by several rings or copies is counted once by its address).
    pub fn pages(&self, f: &mut dyn FnMut(usize, usize)) {
        for page in &self.pages {
            f(Arc::as_ptr(page) as usize, page.data.capacity() + 32);
        }
    }

    /// Shift every offset by `base` (a master restarted from an RDB carrying `repl-offset`).
    pub fn rebase(&mut self, base: i64) {
        self.offset += base;
        self.master_offset += base;
        for page in self.pages.iter_mut() {
            Arc::make_mut(page).start += base;
        }
    }
}
