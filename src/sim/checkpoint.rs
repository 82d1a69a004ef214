//! A time-travel checkpoint: a copy of the simulation at some step, kept aside so that a
//! seek replays from it instead of from the start (see [`super::timeline`]).
//!
//! Copies share what does not change (full backlog pages, databases nobody wrote since),
//! so a checkpoint near the head of the run costs what changed since the one before it.
//! A checkpoint kept long (far in the past) shares nothing with its neighbours any more:
//! its ring backlogs, a megabyte each, are most of it. It keeps their bytes compressed
//! ([`Checkpoint::pack`]), and decompresses them into the copy a seek restores.
//!
//! LZ4 (`lz4_flex`): the busiest workload's stream of random 16-byte values packs 2.0×
//! (deflate got 3.3×, but its code took the page 13 KB over its 400 KB download budget).
//! Each page is packed on its own: in the browser, memory once taken is never given back,
//! and megabyte-sized buffers made and freed at every pack would leave holes that small
//! allocations split, so the page's memory would creep up over hours.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Sim;
use crate::engine::backlog::Page;

/// A copy of the simulation, and what it holds apart from shared pages and databases.
pub struct Checkpoint {
    sim: Sim,
    /// The ring backlogs' bytes, compressed, once packed (then `sim` holds no pages).
    packed: Option<Packed>,
    /// Bytes it holds alone.
    pub own_bytes: usize,
    /// (address, bytes) of the shared pages and databases it holds.
    pub shared: Vec<(usize, usize)>,
}

/// The ring backlogs of a packed checkpoint.
struct Packed {
    /// Each distinct page: its start offset, its length and its bytes compressed.
    pages: Vec<(i64, usize, Box<[u8]>)>,
    /// For each node, the pages its ring held (indices into `pages`), or None for a node
    /// without a ring.
    rings: Vec<Option<Vec<usize>>>,
}

impl Checkpoint {
    /// A checkpoint of `sim` (already a [`Sim::checkpoint_copy`]).
    pub fn new(sim: Sim) -> Checkpoint {
        let mut c = Checkpoint {
            sim,
            packed: None,
            own_bytes: 0,
            shared: Vec::new(),
        };
        c.count();
        c
    }

    /// The simulation's state, for choosing a checkpoint (its backlogs may be packed:
    /// use [`Checkpoint::restore`] to run it).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// A copy of the simulation to run, backlogs decompressed if packed.
    pub fn restore(&self) -> Sim {
        let mut sim = self.sim.clone();
        if let Some(p) = &self.packed {
            let pages: Vec<Arc<Page>> = p
                .pages
                .iter()
                .map(|(start, len, packed)| {
                    let mut data = vec![0; *len];
                    let unpacked = lz4_flex::block::decompress_into(packed, &mut data);
                    assert!(
                        matches!(unpacked, Ok(n) if n == *len),
                        "a page packed by this checkpoint"
                    );
                    Arc::new(Page::new(*start, data))
                })
                .collect();
            for (n, ring) in sim.nodes.iter_mut().zip(&p.rings) {
                if let Some(ring) = ring {
                    n.node
                        .put_backlog_pages(ring.iter().map(|&i| pages[i].clone()).collect());
                }
            }
        }
        sim
    }

    /// Compresses the ring backlogs' bytes (pages shared by several nodes once), and counts
    /// the memory again. Nothing to do if packed already.
    pub fn pack(&mut self) {
        if self.packed.is_some() {
            return;
        }
        // The distinct pages met so far (a few dozen: a linear search is cheap, and no hash
        // map code goes into the page's wasm for it).
        let mut seen: Vec<*const Page> = Vec::new();
        let mut pages = Vec::new();
        let rings = self
            .sim
            .nodes
            .iter_mut()
            .map(|n| {
                let ring: VecDeque<Arc<Page>> = n.node.take_backlog_pages()?;
                Some(
                    ring.iter()
                        .map(|page| {
                            let at = Arc::as_ptr(page);
                            seen.iter().position(|p| *p == at).unwrap_or_else(|| {
                                let packed = lz4_flex::block::compress(page.data());
                                let len = page.data().len();
                                pages.push((page.start(), len, packed.into_boxed_slice()));
                                seen.push(at);
                                pages.len() - 1
                            })
                        })
                        .collect(),
                )
            })
            .collect();
        self.packed = Some(Packed { pages, rings });
        self.count();
    }

    /// Counts what it holds: its own bytes, and the shared pages and databases apart.
    fn count(&mut self) {
        let mut shared = Vec::new();
        let own = self
            .sim
            .memory(&mut |addr, bytes| shared.push((addr, bytes)));
        self.own_bytes = own
            + self.packed.as_ref().map_or(0, |p| {
                p.pages.iter().map(|(_, _, d)| d.len() + 40).sum::<usize>()
                    + p.rings
                        .iter()
                        .flatten()
                        .map(|r| r.capacity() * 8 + 24)
                        .sum::<usize>()
            });
        self.shared = shared;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Scenario;

    /// A master, a replica and a sub-replica at 1000 writes/s: after a few seconds the
    /// 16 KB rings have wrapped many times.
    fn busy_sim() -> Sim {
        let json = r#"{"name": "t", "title": "t", "seed": 3,
            "nodes": [{"name": "m", "config": {"repl-backlog-size": "16kb"}},
                      {"name": "r1", "replicaof": "m", "config": {"repl-backlog-size": "16kb"}},
                      {"name": "r2", "replicaof": "r1", "config": {"repl-backlog-size": "16kb"}}],
            "steps": [{"at_ms": 100, "do": "workload", "node": "m", "rate": 1000, "keys": 50}]}"#;
        let mut t = Scenario::parse(json).unwrap().build(None).unwrap();
        let start = t.sim().now_us();
        t.run_until_us(start + 3_000_000);
        let mut sim = t.sim().clone();
        sim.share_backlog_pages();
        sim
    }

    /// What a restored copy must hold: every ring's window and every keyspace.
    fn contents(sim: &Sim) -> Vec<(Option<Vec<u8>>, crate::engine::keyspace::Keyspace)> {
        sim.nodes()
            .iter()
            .map(|n| {
                let ring = n.node.backlog().map(|b| {
                    assert!(b.histlen() > 0);
                    b.bytes_from(b.first_byte_offset()).unwrap()
                });
                (ring, n.node.keyspace().clone())
            })
            .collect()
    }

    #[test]
    fn a_packed_checkpoint_restores_the_same_state_in_less_memory() {
        let sim = busy_sim();
        let mut c = Checkpoint::new(sim.checkpoint_copy());
        let before = c.own_bytes + c.shared.iter().map(|s| s.1).sum::<usize>();
        let plain = c.restore();
        c.pack();
        assert!(c.is_packed());
        let after = c.own_bytes + c.shared.iter().map(|s| s.1).sum::<usize>();
        assert!(after < before, "{before} → {after}");
        let unpacked = c.restore();
        assert_eq!(contents(&unpacked), contents(&sim));
        assert_eq!(contents(&plain), contents(&sim));
        // And they go on the same way.
        let (mut a, mut b) = (plain, unpacked);
        for _ in 0..2000 {
            a.step();
            b.step();
        }
        assert_eq!(
            a.drain_trace().collect::<Vec<_>>(),
            b.drain_trace().collect::<Vec<_>>()
        );
        assert_eq!(contents(&a), contents(&b));
    }
}
