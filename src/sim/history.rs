//! What a run has recorded, kept within a fixed memory budget however long the run goes.
//!
//! A class can leave a busy run playing for hours: at the page's busiest workload (12 nodes,
//! 1000 writes/s) the simulator records some 37 000 entries per simulated second, so keeping
//! them all (as the trace once did) filled the tab's memory in minutes. The history keeps:
//!
//! - the **window**: the latest entries whole (segments, commands, events), up to
//!   [`TRACE_BUDGET_BYTES`]: what the space-time diagram, the packet inspector and the
//!   consoles read;
//! - the **log**: entries the event log shows move there as they leave the window, and per
//!   [`LogKind`] the latest [`LOG_KEEP_PER_KIND`] are kept, so that rare lines (an action, a
//!   warning, a PSYNC) outlive the window by hours while commands and heartbeats, which
//!   come by thousands, are kept a little longer than the window only.
//!
//! Entries are numbered from 0 in the order the run recorded them ([`Sim::trace_len`]); the
//! run is deterministic, so an entry dropped here can be recomputed by replaying the run
//! (see [`super::timeline::Timeline::recompute_log`]).
//!
//! [`Sim::trace_len`]: super::Sim::trace_len

use std::collections::VecDeque;

use super::log::LogKind;
use super::trace::{entry_bytes, TraceEntry};

/// Memory budget of the window of whole entries (about 3.5 simulated seconds at the page's
/// busiest workload; hours at a few writes per second). The space-time diagram needs 3 s.
pub const TRACE_BUDGET_BYTES: usize = 32 << 20;

/// Latest event-log entries kept per kind, beyond the window...
pub const LOG_KEEP_PER_KIND: usize = 4_000;

/// ...and at most this many bytes of them per kind (long log lines are fewer).
pub const LOG_BYTES_PER_KIND: usize = 1 << 20;

/// The most the history holds: the window and every kind's log.
pub const HISTORY_BUDGET_BYTES: usize =
    TRACE_BUDGET_BYTES + LOG_BYTES_PER_KIND * LogKind::ALL.len();

/// Event-log entries recomputed by replaying part of a run (the history had dropped them):
/// every entry the log can show numbered from `from` to below `to`, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recomputed {
    pub from: u64,
    pub to: u64,
    pub entries: Vec<(u64, TraceEntry)>,
}

/// The bounded record of a run.
#[derive(Clone, Debug)]
pub struct History {
    /// The window: `entries[i]` is entry number `base + i`.
    entries: Vec<TraceEntry>,
    base: u64,
    /// [`entry_bytes`] of the window's entries.
    window_bytes: usize,
    budget: usize,
    /// Per kind (in [`LogKind::ALL`] order), the numbers of the window's entries the log
    /// shows, in order: a filter reads only the kinds it shows (a busy run's thousands of
    /// commands a second do not bury its rare warnings).
    window_log: [VecDeque<u64>; LogKind::ALL.len()],
    /// Per kind (in [`LogKind::ALL`] order), entries the log shows that left the window,
    /// with their numbers, oldest first.
    log: [VecDeque<(u64, TraceEntry)>; LogKind::ALL.len()],
    /// Per kind, entries of that kind numbered below this were dropped from `log`.
    log_complete_from: [u64; LogKind::ALL.len()],
    /// Per kind, [`entry_bytes`] of its log.
    log_bytes: [usize; LogKind::ALL.len()],
}

impl Default for History {
    fn default() -> Self {
        History::new(TRACE_BUDGET_BYTES)
    }
}

fn kind_index(kind: LogKind) -> usize {
    LogKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or_default()
}

impl History {
    /// An empty history whose window holds about `budget` bytes of entries.
    pub fn new(budget: usize) -> History {
        History::starting_at(0, budget)
    }

    /// An empty history whose next entry is number `n` (a replay from a checkpoint).
    pub fn starting_at(n: u64, budget: usize) -> History {
        History {
            entries: Vec::new(),
            base: n,
            window_bytes: 0,
            budget,
            window_log: Default::default(),
            log: Default::default(),
            log_complete_from: [n; LogKind::ALL.len()],
            log_bytes: [0; LogKind::ALL.len()],
        }
    }

    /// The number the next entry recorded will have.
    pub fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// The number of the oldest entry of the window.
    pub fn window_start(&self) -> u64 {
        self.base
    }

    /// The window's entries numbered below `upto` (what has happened as of a moment that
    /// recorded `upto` entries), oldest first.
    pub fn window(&self, upto: u64) -> &[TraceEntry] {
        let n = upto
            .saturating_sub(self.base)
            .min(self.entries.len() as u64);
        &self.entries[..n as usize]
    }

    /// Entry number `n`, if the window still holds it.
    pub fn get(&self, n: u64) -> Option<&TraceEntry> {
        let i = n.checked_sub(self.base)?;
        self.entries.get(usize::try_from(i).ok()?)
    }

    /// Memory held, as counted against the budget (window and log).
    pub fn bytes(&self) -> usize {
        self.window_bytes + self.log_bytes.iter().sum::<usize>()
    }

    /// Records entry number `n`, which must be [`History::end`]. The oldest entries leave
    /// the window when it passes its budget (a quarter of it at once, so the shift is rare);
    /// those the log shows move to the log.
    pub fn push(&mut self, n: u64, entry: TraceEntry) {
        debug_assert_eq!(n, self.end(), "history entries are recorded in order");
        if let Some(kind) = LogKind::of(&entry.event) {
            self.window_log[kind_index(kind)].push_back(n);
        }
        self.window_bytes += entry_bytes(&entry);
        self.entries.push(entry);
        if self.window_bytes > self.budget {
            self.shrink_window(self.budget / 4 * 3);
        }
    }

    /// A new budget for the window (the page's memory guard halves it when memory runs
    /// short), applied at once.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.shrink_window(budget);
    }

    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The oldest entries leave the window until it holds at most `target` bytes; those
    /// the log shows move to the log.
    fn shrink_window(&mut self, target: usize) {
        let mut leave = 0;
        while self.window_bytes > target && leave < self.entries.len() {
            self.window_bytes -= entry_bytes(&self.entries[leave]);
            leave += 1;
        }
        let first = self.base;
        self.base += leave as u64;
        for (n, entry) in (first..).zip(self.entries.drain(..leave)) {
            if let Some(kind) = LogKind::of(&entry.event) {
                let k = kind_index(kind);
                self.window_log[k].pop_front();
                self.log_bytes[k] += entry_bytes(&entry);
                self.log[k].push_back((n, entry));
                while self.log[k].len() > LOG_KEEP_PER_KIND
                    || self.log_bytes[k] > LOG_BYTES_PER_KIND
                {
                    let Some((old, e)) = self.log[k].pop_front() else {
                        break;
                    };
                    self.log_bytes[k] -= entry_bytes(&e);
                    self.log_complete_from[k] = old + 1;
                }
            }
        }
    }

    /// Forgets entries numbered `end` and above (the future a fork discards).
    pub fn truncate(&mut self, end: u64) {
        if end >= self.end() {
            return;
        }
        let keep = end.saturating_sub(self.base) as usize;
        for e in &self.entries[keep..] {
            self.window_bytes -= entry_bytes(e);
        }
        self.entries.truncate(keep);
        self.base = self.base.min(end);
        for list in &mut self.window_log {
            while list.back().is_some_and(|n| *n >= end) {
                list.pop_back();
            }
        }
        for (k, log) in self.log.iter_mut().enumerate() {
            while log.back().is_some_and(|(n, _)| *n >= end) {
                if let Some((_, e)) = log.pop_back() {
                    self.log_bytes[k] -= entry_bytes(&e);
                }
            }
            self.log_complete_from[k] = self.log_complete_from[k].min(end);
        }
    }

    /// The entries of `kinds` the event log shows, numbered below `upto`, newest first,
    /// with their numbers: the window's, then those that left it (the kinds merged).
    pub fn log_entries<'a>(
        &'a self,
        kinds: &[LogKind],
        upto: u64,
    ) -> impl Iterator<Item = (u64, &'a TraceEntry)> + 'a {
        let ks: Vec<usize> = kinds.iter().map(|k| kind_index(*k)).collect();
        // Per kind, how many of its window numbers and of its log entries are below `upto`.
        let mut window: Vec<(usize, usize)> = ks
            .iter()
            .map(|&k| (k, self.window_log[k].partition_point(|n| *n < upto)))
            .collect();
        let mut left: Vec<(usize, usize)> = ks
            .iter()
            .map(|&k| (k, self.log[k].partition_point(|(n, _)| *n < upto)))
            .collect();
        let in_window = std::iter::from_fn(move || {
            let i = (0..window.len())
                .filter(|&i| window[i].1 > 0)
                .max_by_key(|&i| self.window_log[window[i].0][window[i].1 - 1])?;
            window[i].1 -= 1;
            let n = self.window_log[window[i].0][window[i].1];
            Some((n, self.get(n)?))
        });
        let gone = std::iter::from_fn(move || {
            let i = (0..left.len())
                .filter(|&i| left[i].1 > 0)
                .max_by_key(|&i| self.log[left[i].0][left[i].1 - 1].0)?;
            left[i].1 -= 1;
            let (n, e) = &self.log[left[i].0][left[i].1];
            Some((*n, e))
        });
        in_window.chain(gone)
    }

    /// The number from which the log of `kinds` is complete: lines of these kinds recorded
    /// before it were dropped (0 when nothing was).
    pub fn log_complete_from(&self, kinds: &[LogKind]) -> u64 {
        kinds
            .iter()
            .map(|k| self.log_complete_from[kind_index(*k)])
            .max()
            .unwrap_or(0)
    }
}
