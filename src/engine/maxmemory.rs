//! `maxmemory` with the `noeviction` policy: once the memory a node uses passes its limit,
//! commands that may grow the dataset (`denyoom`) are refused with Redis's `-OOM` error, while
//! reads, deletions and the master's stream still run (`performEvictions`, `processCommand`).
//!
//! Redis knows its `used_memory` from its allocator. This node estimates it by walking the
//! dataset ([`Keyspace::approx_bytes`](super::keyspace::Keyspace::approx_bytes)) plus the
//! backlog, which costs a pass over every key, so [`MemoryMeter`] walks only when the answer
//! may have changed: after every write once the node is full (a write there can only be a
//! deletion or an overwrite, so the next check must see what it freed), and otherwise after
//! `maxmemory / SLACK_DIVISOR` bytes of write arguments. Between walks the node may pass its
//! limit by that slack plus one command, as Redis passes it by the command that crosses it.

use super::commands::{self, flags, CommandSpec};
use super::node::{ConnId, Node};

/// `shared.oomerr`.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// A node re-measures after writes of `maxmemory / SLACK_DIVISOR` argument bytes: at the
/// simulator's 16 MB limit, every 256 KB written (a walk of a full node takes about a
/// millisecond in the page).
const SLACK_DIVISOR: usize = 64;

/// Memory a node uses besides its data and backlog (Redis 7.0 reports about 0.9 MB for an
/// empty server): part of the estimate so that `INFO memory` reads like Redis's.
pub const BASE_BYTES: usize = 900 * 1024;

/// The estimate of a node's used memory and when to refresh it.
#[derive(Clone, Debug, Default)]
pub struct MemoryMeter {
    /// `used_memory` at the last walk.
    measured: usize,
    /// Argument bytes of the writes run since the last walk.
    written: usize,
    /// Writes (and expiries, loads) since the last walk.
    changes: u64,
}

impl MemoryMeter {
    /// Counts a write that ran with `bytes` of arguments.
    pub fn wrote(&mut self, bytes: usize) {
        self.written = self.written.saturating_add(bytes);
        self.changes += 1;
    }

    /// Counts keys removed without a command (active expiry): a full node measures again.
    pub fn freed(&mut self) {
        self.changes += 1;
    }

    /// Counts a dataset replaced (an RDB loaded): the next check measures again.
    pub fn replaced(&mut self) {
        self.written = usize::MAX;
        self.changes += 1;
    }

    /// The last measured `used_memory` plus what was written since (for `INFO memory`).
    pub fn estimate(&self) -> usize {
        self.measured.saturating_add(self.written)
    }

    /// `performEvictions() == EVICT_FAIL` for `noeviction`: whether the node uses more than
    /// `maxmemory` (0: no limit). `walk` measures `used_memory` when the estimate is stale.
    pub fn over(&mut self, maxmemory: u64, walk: impl FnOnce() -> usize) -> bool {
        if maxmemory == 0 {
            return false;
        }
        let max = usize::try_from(maxmemory).unwrap_or(usize::MAX);
        let stale = if self.measured > max {
            self.changes > 0
        } else {
            self.written >= max / SLACK_DIVISOR
        };
        if stale {
            self.measured = walk();
            self.written = 0;
            self.changes = 0;
        }
        self.measured > max
    }
}

impl Node {
    /// Roughly Redis's `used_memory` minus what eviction does not count: the dataset, the
    /// backlog and a fixed base. Walks every key.
    pub(crate) fn used_memory(&self) -> usize {
        let mut backlog = 0;
        if let Some(b) = self.master.backlog.as_ref() {
            backlog += b.memory(&mut |_, bytes| backlog += bytes);
        }
        BASE_BYTES + self.keyspace.approx_bytes() + backlog
    }

    /// `processCommand`'s maxmemory check: with the node over its limit, a command that may
    /// grow the dataset is refused, and so is anything queued in MULTI (queuing takes memory
    /// without bound), except EXEC, DISCARD and RESET.
    pub(crate) fn refused_for_memory(&mut self, conn: ConnId, spec: &CommandSpec) -> bool {
        if self.cfg.maxmemory == 0
            || (self.replica.is_replica() && self.cfg.replica_ignore_maxmemory)
        {
            return false;
        }
        let Some(multi) = self.clients.get(&conn).map(|c| c.multi.as_ref()) else {
            return false;
        };
        let denyoom = spec.flags & flags::DENYOOM != 0
            || (spec.name == "exec"
                && multi.is_some_and(|m| {
                    m.queued.iter().any(|argv| {
                        commands::lookup(&argv[0]).is_some_and(|s| s.flags & flags::DENYOOM != 0)
                    })
                }));
        let queues = multi.is_some() && !["exec", "discard", "reset"].contains(&spec.name);
        if !denyoom && !queues {
            return false;
        }
        let mut meter = std::mem::take(&mut self.memory);
        let over = meter.over(self.cfg.maxmemory, || self.used_memory());
        self.memory = meter;
        over
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_limit_never_walks() {
        let mut m = MemoryMeter::default();
        m.replaced();
        assert!(!m.over(0, || panic!("walked without a limit")));
    }

    #[test]
    fn walks_after_slack_and_then_after_every_change_while_full() {
        let mut m = MemoryMeter::default();
        let max = 64 * 1000;
        // Below the slack (1000 bytes): no walk, not full.
        m.wrote(999);
        assert!(!m.over(max, || panic!("walked within the slack")));
        m.wrote(1);
        assert!(m.over(max, || 70_000));
        // Full and nothing changed: refused again without walking.
        assert!(m.over(max, || panic!("walked with nothing changed")));
        // A deletion (a write of a few bytes) is measured at the next check.
        m.wrote(10);
        assert!(!m.over(max, || 50_000));
        assert_eq!(m.estimate(), 50_000);
    }

    #[test]
    fn a_replaced_dataset_is_measured_at_once() {
        let mut m = MemoryMeter::default();
        m.replaced();
        let mut walked = false;
        assert!(m.over(1 << 20, || {
            walked = true;
            2 << 20
        }));
        assert!(walked);
    }
}
