//! Redis 7.0's backlog: a view onto the shared list of replication buffer blocks
//! (`server.repl_buffer_blocks`) that the backlog and every replica's output read from.
//!
//! It follows 7.0.15's `feedReplicationBuffer`, `incrementalTrimReplicationBacklog`,
//! `addReplyReplicationBacklog`, `_writeToClient` (replica branch) and
//! `freeReplicaReferencedReplBuffer`, because the observable numbers in `INFO replication`
//! (`repl_backlog_first_byte_offset` moving in 20440-byte steps, `histlen` above the configured
//! size) come straight out of those details: block capacity from jemalloc size classes, whole-
//! block trimming, and replicas' references stopping the trim.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{jemalloc_usable_size, AppendReport, BlockId, BlockView, PinId, TrimReport, MIN_SIZE};

/// `PROTO_REPLY_CHUNK_BYTES`: no block is requested smaller than this.
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;
/// `sizeof(replBufBlock)` on 64-bit: refcount (int, padded), id, repl_offset, size, used.
pub const REPL_BUF_BLOCK_HEADER: usize = 40;
/// `REPL_BACKLOG_TRIM_BLOCKS_PER_CALL`: the limit of a trim made while feeding, on a replica
/// moving to its next block, on a replica leaving and on `CONFIG SET repl-backlog-size`.
pub const TRIM_BLOCKS_PER_CALL: usize = 64;
/// `beforeSleep` trims with 10 × the normal limit, "to free replication backlog as much as
/// possible".
pub const TRIM_BLOCKS_BEFORE_SLEEP: usize = 10 * TRIM_BLOCKS_PER_CALL;

/// One `replBufBlock`. `refcount` is not stored: it is derived from who points here (the
/// backlog always references the first block; replicas via their pins), which keeps the
/// invariant Redis asserts (`refcount > 0` on the first block) true by construction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Block {
    id: BlockId,
    /// `repl_offset`: offset of `buf[0]`.
    repl_offset: i64,
    /// `size`: capacity = jemalloc usable size − header, so it "takes over the allocation's
    /// internal fragmentation" as Redis does.
    size: usize,
    /// The bytes; `buf.len()` is Redis's `used`.
    buf: Vec<u8>,
}

impl Block {
    fn used(&self) -> usize {
        self.buf.len()
    }
}

/// Where a replica's output stands (`ref_repl_buf_node` + `ref_block_pos`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum PinState {
    /// `ref_repl_buf_node == NULL`: set to the start of the next bytes fed (a replica in
    /// WAIT_BGSAVE_END, or one that PSYNCed into an empty backlog).
    Pending,
    /// On block `id`, next byte to send at `pos`.
    At { id: BlockId, pos: usize },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocks {
    blocks: VecDeque<Block>,
    /// `static long long repl_block_id` of `feedReplicationBuffer`: process-wide, it is *not*
    /// reset when the backlog is freed and recreated.
    next_block_id: BlockId,
    /// `server.repl_backlog_size`.
    size: usize,
    /// `repl_backlog->histlen`.
    histlen: i64,
    /// `repl_backlog->offset`. Recomputed only by the trim (and at creation), exactly as in
    /// Redis; between trims it can lag, which INFO shows too.
    offset: i64,
    /// `server.master_repl_offset`.
    master_offset: i64,
    pins: BTreeMap<PinId, PinState>,
    next_pin: u64,
}

impl Blocks {
    /// `createReplicationBacklog` (7.0). The shared block list is always empty here: in 7.0
    /// nothing is fed without a backlog (`feedReplicationBuffer` returns early) and
    /// `freeReplicationBacklog` (only legal with no replicas) resets the list, so the first
    /// feed creates the first block and the backlog references it (Redis asserts this).
    pub fn new(size: usize, master_repl_offset: i64, next_block_id: BlockId) -> Self {
        Blocks {
            blocks: VecDeque::new(),
            next_block_id,
            size,
            histlen: 0,
            offset: master_repl_offset + 1,
            master_offset: master_repl_offset,
            pins: BTreeMap::new(),
            next_pin: 0,
        }
    }

    pub fn next_block_id(&self) -> BlockId {
        self.next_block_id
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

    /// Capacity of a new block for `len` pending bytes: at least a 16 KB chunk so small writes
    /// share it, at most `repl_backlog_size/16` so one block never holds much more than the
    /// trim needs to drop; then jemalloc rounds the request up and Redis keeps the slack.
    pub fn block_capacity(&self, len: usize) -> usize {
        let limit = (self.size / 16).max(PROTO_REPLY_CHUNK_BYTES);
        let request = len.max(PROTO_REPLY_CHUNK_BYTES).min(limit);
        jemalloc_usable_size(request + REPL_BUF_BLOCK_HEADER) - REPL_BUF_BLOCK_HEADER
    }

    /// Free bytes in the last block: bytes that fit there land exactly as they would piece
    /// by piece (a new block's size is the only thing that depends on the pieces).
    pub fn tail_room(&self) -> usize {
        self.blocks
            .back()
            .map_or(0, |tail| tail.size.saturating_sub(tail.used()))
    }

    /// `feedReplicationBuffer` (7.0): fill the tail, put the rest in one new block, attach
    /// pending replicas to where these bytes start, and trim after every new block.
    pub fn append(&mut self, bytes: &[u8]) -> AppendReport {
        let mut report = AppendReport {
            bytes: bytes.len(),
            ..AppendReport::default()
        };
        let mut s = bytes;
        while !s.is_empty() {
            let mut start: Option<(BlockId, usize)> = None;
            let mut add_new_block = false;
            if let Some(tail) = self.blocks.back_mut() {
                if tail.size > tail.used() {
                    start = Some((tail.id, tail.used()));
                    let copy = (tail.size - tail.used()).min(s.len());
                    tail.buf.extend_from_slice(&s[..copy]);
                    s = &s[copy..];
                    self.master_offset += copy as i64;
                    self.histlen += copy as i64;
                }
            }
            if !s.is_empty() {
                let size = self.block_capacity(s.len());
                let copy = size.min(s.len());
                let id = self.next_block_id;
                self.next_block_id += 1;
                let mut buf = Vec::with_capacity(size);
                buf.extend_from_slice(&s[..copy]);
                self.blocks.push_back(Block {
                    id,
                    repl_offset: self.master_offset + 1,
                    size,
                    buf,
                });
                add_new_block = true;
                start.get_or_insert((id, 0));
                s = &s[copy..];
                self.master_offset += copy as i64;
                self.histlen += copy as i64;
                report.blocks_created.push(id);
            }
            // Replicas whose reference is still NULL start where these bytes start.
            let (start_id, start_pos) = start.expect("bytes went somewhere");
            for pin in self.pins.values_mut() {
                if *pin == PinState::Pending {
                    *pin = PinState::At {
                        id: start_id,
                        pos: start_pos,
                    };
                }
            }
            if add_new_block {
                // "Trim after adding replication data to keep the backlog size close to
                // repl_backlog_size", but only when a block was added.
                let t = self.trim_limit(TRIM_BLOCKS_PER_CALL);
                report.trimmed.absorb(t);
            }
        }
        report.master_offset = self.master_offset;
        report.trimmed.first_byte_offset = self.offset;
        report
    }

    /// How many references the block has: the backlog's own on the first block, plus pins.
    fn refcount(&self, id: BlockId) -> usize {
        let backlog = usize::from(self.blocks.front().is_some_and(|b| b.id == id));
        backlog
            + self
                .pins
                .values()
                .filter(|p| matches!(p, PinState::At { id: b, .. } if *b == id))
                .count()
    }

    /// `incrementalTrimReplicationBacklog(max_blocks)`: drop whole first blocks while history
    /// exceeds the configured size, more than one block exists, no replica references the
    /// first block, and dropping it still leaves at least `repl_backlog_size` bytes. Always
    /// recomputes the first byte offset, even when nothing was dropped.
    pub fn trim_limit(&mut self, max_blocks: usize) -> TrimReport {
        let mut report = TrimReport::empty(self.offset);
        while self.histlen > self.size as i64 && report.blocks.len() < max_blocks {
            if self.blocks.len() <= 1 {
                break;
            }
            let first = &self.blocks[0];
            if self.refcount(first.id) != 1 {
                break;
            }
            if self.histlen - first.size as i64 <= self.size as i64 {
                break;
            }
            // Redis asserts `used == size` here: only full blocks can have a successor.
            debug_assert_eq!(first.used(), first.size);
            self.histlen -= first.size as i64;
            report.bytes += first.size as i64;
            report.blocks.push(first.id);
            self.blocks.pop_front();
        }
        self.offset = self.master_offset - self.histlen + 1;
        report.first_byte_offset = self.offset;
        report
    }

    /// `resizeReplicationBacklog` (7.0): clamp to 16 KB, then one ordinary trim; nothing is
    /// copied or dropped beyond what the trim rule allows, so growing keeps all history.
    pub fn resize(&mut self, size: usize) -> TrimReport {
        self.size = size.max(MIN_SIZE);
        self.trim_limit(TRIM_BLOCKS_PER_CALL)
    }

    /// Index of the block Redis's `addReplyReplicationBacklog` settles on for `offset`: the
    /// first one with `repl_offset + used >= offset`. Note `>=`: an offset that is the first
    /// byte of block B lands on the end of B's predecessor (`pos == used`).
    fn seek(&self, offset: i64) -> Option<usize> {
        self.blocks
            .iter()
            .position(|b| b.repl_offset + b.used() as i64 >= offset)
    }

    /// Bytes `offset..=master_offset`. The caller has checked the window.
    pub fn bytes_from(&self, offset: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity((self.master_offset + 1 - offset).max(0) as usize);
        if let Some(i) = self.seek(offset) {
            for b in self.blocks.iter().skip(i) {
                let from = (offset - b.repl_offset).max(0) as usize;
                out.extend_from_slice(&b.buf[from..]);
            }
        }
        out
    }

    fn new_pin(&mut self, state: PinState) -> PinId {
        let id = PinId(self.next_pin);
        self.next_pin += 1;
        self.pins.insert(id, state);
        id
    }

    /// A replica set up for full sync (or sharing another's BGSAVE): its reference is NULL
    /// and is set by the next feed to wherever those bytes start: the tail if it has room,
    /// else the new block.
    pub fn pin_pending(&mut self) -> PinId {
        self.new_pin(PinState::Pending)
    }

    /// `addReplyReplicationBacklog` (7.0): with history, reference the block `seek` finds at
    /// `offset - repl_offset`; with none, return without a reference (so the next feed sets
    /// it). The caller has checked the window.
    pub fn pin_psync(&mut self, offset: i64) -> PinId {
        if self.histlen == 0 {
            return self.pin_pending();
        }
        let i = self
            .seek(offset)
            .expect("offset inside the window lands on a block");
        let b = &self.blocks[i];
        let state = PinState::At {
            id: b.id,
            pos: (offset - b.repl_offset) as usize,
        };
        self.new_pin(state)
    }

    /// `copyReplicaOutputBuffer`: a replica attaching to a running disk BGSAVE takes the same
    /// reference as the replica it copies.
    pub fn copy_pin(&mut self, pin: PinId) -> Option<PinId> {
        let state = *self.pins.get(&pin)?;
        Some(self.new_pin(state))
    }

    /// The replica's socket accepted its output up to (not including) `next_unsent`.
    /// `_writeToClient` walks block by block: a fully sent block with a successor is left for
    /// the next (refcount moves) and each move runs a trim of 64 blocks. A replica that has
    /// sent everything stays on the tail at `pos == used`.
    pub fn advance_pin(&mut self, pin: PinId, next_unsent: i64) -> TrimReport {
        let mut report = TrimReport::empty(self.offset);
        let Some(PinState::At { mut id, mut pos }) = self.pins.get(&pin).copied() else {
            return report;
        };
        while let Some(i) = self.blocks.iter().position(|b| b.id == id) {
            let b = &self.blocks[i];
            let target = (next_unsent - b.repl_offset).clamp(0, b.used() as i64) as usize;
            pos = pos.max(target);
            let next = self.blocks.get(i + 1).map(|n| n.id);
            self.pins.insert(pin, PinState::At { id, pos });
            match next {
                Some(n) if pos == b.used() => {
                    id = n;
                    pos = 0;
                    self.pins.insert(pin, PinState::At { id, pos });
                    let t = self.trim_limit(TRIM_BLOCKS_PER_CALL);
                    report.absorb(t);
                }
                _ => break,
            }
        }
        report.first_byte_offset = self.offset;
        report
    }

    /// `freeReplicaReferencedReplBuffer`: drop the reference; if there was one, trim.
    pub fn unpin(&mut self, pin: PinId) -> TrimReport {
        match self.pins.remove(&pin) {
            Some(PinState::At { .. }) => self.trim_limit(TRIM_BLOCKS_PER_CALL),
            _ => TrimReport::empty(self.offset),
        }
    }

    /// The offset of the next byte a pin will send, if it references a block yet.
    pub fn pin_offset(&self, pin: PinId) -> Option<i64> {
        match self.pins.get(&pin)? {
            PinState::Pending => None,
            PinState::At { id, pos } => self
                .blocks
                .iter()
                .find(|b| b.id == *id)
                .map(|b| b.repl_offset + *pos as i64),
        }
    }

    pub fn layout(&self) -> Vec<BlockView> {
        self.blocks
            .iter()
            .map(|b| BlockView {
                id: b.id,
                first_offset: b.repl_offset,
                size: b.size,
                used: b.used(),
                refcount: self.refcount(b.id),
                pinned: self.refcount(b.id) > usize::from(b.id == self.blocks[0].id),
            })
            .collect()
    }

    /// `rebaseReplicationBuffer` plus the offset fix-up `loadDataFromDisk` does when a master
    /// restarts from an RDB with replication info: everything moves by `base`.
    pub fn rebase(&mut self, base: i64) {
        self.master_offset += base;
        self.offset = self.master_offset - self.histlen + 1;
        for b in &mut self.blocks {
            b.repl_offset += base;
        }
    }

    /// Checks the invariants Redis asserts or relies on; used by tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let held: i64 = self.blocks.iter().map(|b| b.used() as i64).sum();
        if held != self.histlen {
            return Err(format!("histlen {} != bytes held {held}", self.histlen));
        }
        if let Some(first) = self.blocks.front() {
            if first.repl_offset != self.offset {
                return Err(format!(
                    "first block at {} but first_byte_offset {}",
                    first.repl_offset, self.offset
                ));
            }
        }
        let mut expect = self.offset;
        for (i, b) in self.blocks.iter().enumerate() {
            if b.repl_offset != expect {
                return Err(format!(
                    "block {} starts at {} not {expect}",
                    b.id, b.repl_offset
                ));
            }
            if b.used() > b.size || (i + 1 < self.blocks.len() && b.used() != b.size) {
                return Err(format!("block {} used {} of {}", b.id, b.used(), b.size));
            }
            expect += b.used() as i64;
        }
        if expect != self.master_offset + 1 {
            return Err(format!(
                "blocks end at {expect}, master at {}",
                self.master_offset
            ));
        }
        Ok(())
    }
}
