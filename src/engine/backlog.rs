//! The replication backlog, in the two models a student can switch between
//! (`repl-backlog-model ring|blocks`, see the spec's "two models" section):
//!
//! - [`BacklogModel::Ring`]: Redis ≤ 6.2's circular buffer (the article's picture):
//!   `histlen <= size`, the window slides byte by byte.
//! - [`BacklogModel::Blocks`]: Redis 7.0's shared block list: blocks sized by jemalloc,
//!   trimmed whole and only when no replica still reads them, so the window jumps in block
//!   steps and `histlen` may exceed the configured size. Verified against a real 7.0.15 by the
//!   golden fixture in `tests/golden/backlog/`.
//!
//! Both answer PSYNC with the same rule (`masterTryPartialResynchronization`):
//! `first_byte_offset <= offset <= first_byte_offset + histlen`.
//!
//! Feeding granularity matters for `Blocks`: Redis calls `feedReplicationBuffer` once per
//! *piece* of a command (`*<argc>\r\n`, each `$<len>\r\n`, each argument, each `\r\n`;
//! SELECT as one piece), and a new block's capacity depends on the piece length. Call
//! [`Backlog::append`] per piece as Redis does, or use [`Backlog::append_command`]. A replica
//! proxying its master's stream (`replicationFeedStreamFromMasterStream`) feeds each applied
//! command as one piece.

mod blocks;
mod ring;

pub use ring::{Page, PagePool};

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use blocks::{
    PROTO_REPLY_CHUNK_BYTES, REPL_BUF_BLOCK_HEADER, TRIM_BLOCKS_BEFORE_SLEEP, TRIM_BLOCKS_PER_CALL,
};

/// Which backlog implementation a node runs (`repl-backlog-model ring|blocks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BacklogModel {
    /// Redis ≤ 6.2 circular buffer.
    Ring,
    /// Redis 7.0 shared replication buffer blocks.
    Blocks,
}

/// `repl-backlog-size` default: 1mb.
pub const DEFAULT_SIZE: usize = 1024 * 1024;
/// `CONFIG_REPL_BACKLOG_MIN_SIZE`: `resizeReplicationBacklog` raises anything smaller to this.
pub const MIN_SIZE: usize = 16 * 1024;

/// The id Redis gives a block (`replBufBlock.id`, a process-wide counter).
pub type BlockId = u64;

/// A replica's reference into the stream (Blocks model; inert for Ring).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PinId(pub u64);

/// What a trim removed. Ring never trims (it overwrites; see [`AppendReport::overwritten`])
/// except a resize, which drops its whole history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimReport {
    /// Ids of the blocks freed, oldest first.
    pub blocks: Vec<BlockId>,
    /// History bytes dropped.
    pub bytes: i64,
    /// `repl_backlog_first_byte_offset` afterwards.
    pub first_byte_offset: i64,
}

impl TrimReport {
    fn empty(first_byte_offset: i64) -> Self {
        TrimReport {
            first_byte_offset,
            ..TrimReport::default()
        }
    }
    fn absorb(&mut self, other: TrimReport) {
        self.blocks.extend(other.blocks);
        self.bytes += other.bytes;
        self.first_byte_offset = other.first_byte_offset;
    }
    /// True when nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }
}

/// What one append did, for UI events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendReport {
    /// Bytes fed (all of them always go in).
    pub bytes: usize,
    /// `master_repl_offset` afterwards.
    pub master_offset: i64,
    /// Ring: how many old bytes fell out of the window (were overwritten).
    pub overwritten: usize,
    /// Ring: how many times the write head wrapped to index 0.
    pub wraps: u32,
    /// Blocks: ids of blocks created.
    pub blocks_created: Vec<BlockId>,
    /// Blocks: the trims `feedReplicationBuffer` ran after each new block.
    pub trimmed: TrimReport,
}

/// One block as the UI draws it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    pub id: BlockId,
    /// Offset of the block's first byte (`repl_offset`).
    pub first_offset: i64,
    /// Capacity (`size`).
    pub size: usize,
    /// Bytes written (`used`).
    pub used: usize,
    /// Redis's `refcount`: 1 for the backlog on the first block, +1 per replica here.
    pub refcount: usize,
    /// A replica references this block (which is what stops the trim at the first block).
    pub pinned: bool,
}

/// The shape of the backlog for the UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    Ring {
        /// `repl_backlog_size`.
        capacity: usize,
        /// `repl_backlog_idx`: where the next byte goes.
        write_index: usize,
        /// Times the write head wrapped since creation (or the last resize).
        wraps: u64,
        histlen: i64,
    },
    Blocks {
        blocks: Vec<BlockView>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Inner {
    Ring(ring::Ring),
    Blocks(blocks::Blocks),
}

/// A node's replication backlog (`server.repl_backlog`). Deterministic, no IO.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    inner: Inner,
}

impl Backlog {
    /// `createReplicationBacklog`: histlen 0, first byte offset `master_repl_offset + 1`.
    ///
    /// `size` is taken as configured: Redis clamps to [`MIN_SIZE`] only in
    /// `resizeReplicationBacklog` (CONFIG SET), not when reading the config file: 7.0.15
    /// started with `repl-backlog-size 100` reports `repl_backlog_size:100` and trims against
    /// 100 (golden scenario `tiny-config-100`). A 0 is raised to 1, Redis's config minimum.
    pub fn new(model: BacklogModel, size: usize, master_repl_offset: i64) -> Self {
        Self::with_block_ids(model, size, master_repl_offset, 0)
    }

    /// Like [`Backlog::new`] but continuing Redis's process-wide block id counter (a static in
    /// `feedReplicationBuffer`), for a backlog created again after `freeReplicationBacklog`.
    pub fn with_block_ids(
        model: BacklogModel,
        size: usize,
        master_repl_offset: i64,
        next_block_id: BlockId,
    ) -> Self {
        let size = size.max(1);
        let inner = match model {
            BacklogModel::Ring => Inner::Ring(ring::Ring::new(size, master_repl_offset)),
            BacklogModel::Blocks => {
                Inner::Blocks(blocks::Blocks::new(size, master_repl_offset, next_block_id))
            }
        };
        Backlog { inner }
    }

    /// The id the next block would get (carry it into [`Backlog::with_block_ids`]).
    pub fn next_block_id(&self) -> BlockId {
        match &self.inner {
            Inner::Ring(_) => 0,
            Inner::Blocks(b) => b.next_block_id(),
        }
    }

    /// Feeds stream bytes (one `feedReplicationBuffer` call for Blocks; `feedReplicationBacklog`
    /// for Ring). Advances `master_offset` by `bytes.len()`.
    pub fn append(&mut self, bytes: &[u8]) -> AppendReport {
        match &mut self.inner {
            Inner::Ring(r) => r.append(bytes),
            Inner::Blocks(b) => b.append(bytes),
        }
    }

    /// Feeds one command the way `replicationFeedSlaves` does: `*<argc>\r\n`, then for each
    /// argument `$<len>\r\n`, the argument, `\r\n`, each a separate feed. (A needed SELECT is a
    /// separate call with the whole 23-byte command as one piece.) Reports are merged.
    pub fn append_command<A: AsRef<[u8]>>(&mut self, argv: &[A]) -> AppendReport {
        let mut header = super::resp::Header::default();
        let mut total = self.append(header.write(b'*', argv.len()));
        for arg in argv {
            let arg = arg.as_ref();
            for piece in [header.write(b'$', arg.len()), arg, b"\r\n"] {
                let r = self.append(piece);
                total.bytes += r.bytes;
                total.master_offset = r.master_offset;
                total.overwritten += r.overwritten;
                total.wraps += r.wraps;
                total.blocks_created.extend(r.blocks_created);
                total.trimmed.absorb(r.trimmed);
            }
        }
        total
    }

    /// [`Backlog::append_command`] for a command already encoded as `encoded`: in one feed
    /// when that is indistinguishable from the pieces (always for Ring; for Blocks when the
    /// whole command fits in the last block), piece by piece otherwise.
    pub fn append_encoded_command<A: AsRef<[u8]>>(
        &mut self,
        argv: &[A],
        encoded: &[u8],
    ) -> AppendReport {
        match &mut self.inner {
            Inner::Ring(r) => r.append(encoded),
            Inner::Blocks(b) if b.tail_room() >= encoded.len() => b.append(encoded),
            Inner::Blocks(_) => self.append_command(argv),
        }
    }

    /// The trim `beforeSleep` runs on every event-loop iteration (up to 640 blocks). No-op for
    /// Ring, which never holds more than its size.
    pub fn trim(&mut self) -> TrimReport {
        match &mut self.inner {
            Inner::Ring(r) => TrimReport::empty(r.first_byte_offset()),
            Inner::Blocks(b) => b.trim_limit(TRIM_BLOCKS_BEFORE_SLEEP),
        }
    }

    pub fn model(&self) -> BacklogModel {
        match self.inner {
            Inner::Ring(_) => BacklogModel::Ring,
            Inner::Blocks(_) => BacklogModel::Blocks,
        }
    }

    /// The configured `repl-backlog-size` (as INFO's `repl_backlog_size` shows it).
    pub fn size(&self) -> usize {
        match &self.inner {
            Inner::Ring(r) => r.size(),
            Inner::Blocks(b) => b.size(),
        }
    }

    /// `CONFIG SET repl-backlog-size`: clamps to [`MIN_SIZE`] *here*, as both Redis versions do
    /// inside `resizeReplicationBacklog` (so the node should store `size()` back as the config).
    /// Ring (6.2): an unchanged size is a no-op, any other size drops all history.
    /// Blocks (7.0): keeps the history and runs one 64-block trim; shrinking can thus take
    /// several trims (`beforeSleep`) when many blocks are over the new size.
    pub fn resize(&mut self, size: usize) -> TrimReport {
        match &mut self.inner {
            Inner::Ring(r) => r.resize(size),
            Inner::Blocks(b) => b.resize(size),
        }
    }

    /// `repl_backlog_first_byte_offset`.
    pub fn first_byte_offset(&self) -> i64 {
        match &self.inner {
            Inner::Ring(r) => r.first_byte_offset(),
            Inner::Blocks(b) => b.first_byte_offset(),
        }
    }

    /// `repl_backlog_histlen`.
    pub fn histlen(&self) -> i64 {
        match &self.inner {
            Inner::Ring(r) => r.histlen(),
            Inner::Blocks(b) => b.histlen(),
        }
    }

    /// Offset of the last byte stored (`master_repl_offset`).
    pub fn master_offset(&self) -> i64 {
        match &self.inner {
            Inner::Ring(r) => r.master_offset(),
            Inner::Blocks(b) => b.master_offset(),
        }
    }

    /// The backlog half of `masterTryPartialResynchronization`:
    /// `first <= psync_offset <= first + histlen` (the upper end asks for 0 bytes).
    pub fn can_serve(&self, psync_offset: i64) -> bool {
        let first = self.first_byte_offset();
        psync_offset >= first && psync_offset <= first + self.histlen()
    }

    /// What `+CONTINUE` sends: bytes `psync_offset..=master_offset`; `None` outside the window.
    pub fn bytes_from(&self, psync_offset: i64) -> Option<Vec<u8>> {
        if !self.can_serve(psync_offset) {
            return None;
        }
        Some(match &self.inner {
            Inner::Ring(r) => r.bytes_from(psync_offset),
            Inner::Blocks(b) => b.bytes_from(psync_offset),
        })
    }

    /// A replica that will read the stream from `offset` on. Blocks: the reference stops the
    /// trim at its block (Redis's refcount). Ring: recorded but inert (6.2 copied the backlog
    /// into the replica's own output buffer instead).
    ///
    /// - `offset == master_offset + 1` (full sync at fork time, or a PSYNC with nothing to
    ///   send): the reference is set by the *next* feed to where those bytes start, as Redis
    ///   does for a replica whose `ref_repl_buf_node` is NULL. (One Redis corner differs: a
    ///   PSYNC for 0 bytes into a non-empty backlog references the tail at once, even if full;
    ///   use [`Backlog::pin_psync`] for that.)
    /// - otherwise: as [`Backlog::pin_psync`].
    ///
    /// Only pin replicas that Redis feeds: not those still in WAIT_BGSAVE_START
    /// (`canFeedReplicaReplBuffer`).
    pub fn pin(&mut self, offset: i64) -> PinId {
        match &mut self.inner {
            Inner::Ring(_) => PinId(u64::MAX),
            Inner::Blocks(b) if offset == b.master_offset() + 1 => b.pin_pending(),
            Inner::Blocks(b) => b.pin_psync(offset),
        }
    }

    /// `addReplyReplicationBacklog`'s reference after a `+CONTINUE` (offset in the window):
    /// the first block with `repl_offset + used >= offset`. Panics outside the window.
    pub fn pin_psync(&mut self, offset: i64) -> PinId {
        assert!(
            self.can_serve(offset),
            "PSYNC offset {offset} outside the window"
        );
        match &mut self.inner {
            Inner::Ring(_) => PinId(u64::MAX),
            Inner::Blocks(b) => b.pin_psync(offset),
        }
    }

    /// `copyReplicaOutputBuffer`: a replica joining another's disk BGSAVE shares its position.
    pub fn copy_pin(&mut self, pin: PinId) -> PinId {
        match &mut self.inner {
            Inner::Ring(_) => PinId(u64::MAX),
            Inner::Blocks(b) => b.copy_pin(pin).unwrap_or(PinId(u64::MAX)),
        }
    }

    /// The replica's socket took its output up to (not including) `next_unsent`: its
    /// reference moves forward block by block, each move a 64-block trim (`_writeToClient`).
    pub fn advance_pin(&mut self, pin: PinId, next_unsent: i64) -> TrimReport {
        match &mut self.inner {
            Inner::Ring(r) => TrimReport::empty(r.first_byte_offset()),
            Inner::Blocks(b) => b.advance_pin(pin, next_unsent),
        }
    }

    /// `freeReplicaReferencedReplBuffer` (replica freed, or its reference released): Blocks
    /// trims right away (64 blocks) if the reference was set; that trim is returned.
    pub fn unpin(&mut self, pin: PinId) -> TrimReport {
        match &mut self.inner {
            Inner::Ring(r) => TrimReport::empty(r.first_byte_offset()),
            Inner::Blocks(b) => b.unpin(pin),
        }
    }

    /// Where a pin's next unsent byte is (`None` for Ring or a pin not yet placed).
    pub fn pin_offset(&self, pin: PinId) -> Option<i64> {
        match &self.inner {
            Inner::Ring(_) => None,
            Inner::Blocks(b) => b.pin_offset(pin),
        }
    }

    /// A master restarted from an RDB carrying `repl-offset`: 7.0 creates the backlog at
    /// offset 0 before loading (expired keys deleted during the load are fed into it), then
    /// shifts everything by the RDB's offset (`rebaseReplicationBuffer`).
    pub fn rebase(&mut self, base: i64) {
        match &mut self.inner {
            Inner::Ring(r) => r.rebase(base),
            Inner::Blocks(b) => b.rebase(base),
        }
    }

    /// Lets the ring share its full pages with equal ones in `pool` (see
    /// [`ring::Ring::share_pages`]); the blocks model keeps its own blocks.
    pub fn share_pages(&mut self, pool: &mut PagePool) {
        if let Inner::Ring(r) = &mut self.inner {
            r.share_pages(pool);
        }
    }

    /// See [`ring::Ring::detach_tail`] (nothing for the blocks model).
    pub fn detach_tail(&mut self, pool: &mut PagePool) {
        if let Inner::Ring(r) = &mut self.inner {
            r.detach_tail(pool);
        }
    }

    /// The ring's pages, taken out (see [`ring::Ring::take_pages`]); None for the blocks
    /// model, which keeps its blocks.
    pub fn take_pages(&mut self) -> Option<VecDeque<Arc<Page>>> {
        match &mut self.inner {
            Inner::Ring(r) => Some(r.take_pages()),
            Inner::Blocks(_) => None,
        }
    }

    /// Gives back what [`Backlog::take_pages`] took.
    pub fn put_pages(&mut self, pages: VecDeque<Arc<Page>>) {
        if let Inner::Ring(r) = &mut self.inner {
            r.put_pages(pages);
        }
    }

    /// Memory held, as (address, bytes) of each shareable page through `shared` (a page is
    /// counted once however many copies hold it), and the rest as the returned byte count.
    pub fn memory(&self, shared: &mut dyn FnMut(usize, usize)) -> usize {
        match &self.inner {
            Inner::Ring(r) => {
                r.pages(shared);
                0
            }
            Inner::Blocks(b) => b.layout().iter().map(|v| v.size + 64).sum(),
        }
    }

    /// `server.repl_buffer_mem` (INFO's `mem_total_replication_buffers`): each block's
    /// usable size plus its header (`sizeof(replBufBlock)`, 40 bytes); a ring's capacity.
    pub fn replication_buffer_memory(&self) -> usize {
        /// `sizeof(replBufBlock)` on 64-bit builds.
        const BLOCK_HEADER: usize = 40;
        match &self.inner {
            Inner::Ring(r) => r.size(),
            Inner::Blocks(b) => b.layout().iter().map(|v| v.size + BLOCK_HEADER).sum(),
        }
    }

    /// For the UI: the ring's head and laps, or the block list.
    pub fn layout(&self) -> Layout {
        match &self.inner {
            Inner::Ring(r) => Layout::Ring {
                capacity: r.size(),
                write_index: r.idx(),
                wraps: r.wraps(),
                histlen: r.histlen(),
            },
            Inner::Blocks(b) => Layout::Blocks { blocks: b.layout() },
        }
    }

    /// Internal consistency (offsets contiguous, histlen = bytes held, only the tail
    /// partly used); `Ok` for Ring, whose invariants are structural.
    pub fn check_invariants(&self) -> Result<(), String> {
        match &self.inner {
            Inner::Ring(r) => {
                if r.histlen() > r.size() as i64
                    || r.first_byte_offset() != r.master_offset() - r.histlen() + 1
                {
                    return Err(format!("ring {r:?}"));
                }
                Ok(())
            }
            Inner::Blocks(b) => b.check_invariants(),
        }
    }
}

/// `je_malloc_usable_size` for a fresh `malloc(req)` with jemalloc 5 defaults on x86-64
/// (4 KiB pages, 16-byte quantum): four size classes per doubling, i.e. round up to a multiple
/// of `2^(n-2)` where `2^n < req <= 2^(n+1)`; 8 and 16..64 in steps of 16 below that. Redis
/// 7.0 keeps this slack as block capacity, hence 16384 + 40 → 20480 → 20440-byte blocks.
pub fn jemalloc_usable_size(req: usize) -> usize {
    if req <= 8 {
        return 8;
    }
    if req <= 64 {
        return req.div_ceil(16) * 16;
    }
    // n such that 2^n < req <= 2^(n+1)
    let n = usize::BITS - (req - 1).leading_zeros() - 1;
    let step = 1usize << (n - 2);
    req.div_ceil(step) * step
}

#[cfg(test)]
mod tests;
