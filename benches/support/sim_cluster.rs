//! The simulator-throughput workload, shared by the native criterion bench (`benches/sim.rs`)
//! and the same measurement in headless Chromium (`tests/web_bench.rs`), which include this
//! file with `#[path]`. It only uses `replscope`'s public API and no clock: each side times
//! [`Cluster::run_batch`] with its own (`Instant`, `performance.now()`).
//!
//! A `Sim` (1 ms links) with master `m` and replicas `r1`, `r2`, `r3`, each attached with
//! `REPLICAOF m 6379`; 7 s of virtual time let the diskless full sync (which waits
//! repl-diskless-sync-delay = 5 s for more replicas) finish. A batch is [`BATCH`] pipelined
//! SETs shaped like one of redis-benchmark's runs in `./x bench server` ([`Shape`]), sent by
//! one client as one `send_raw` buffer; the simulation is
//! stepped until the client has every reply **and** every replica's offset equals the master's,
//! i.e. each write was applied on all three replicas. The trace is cleared after each batch so
//! memory stays flat however long it runs.

#![allow(dead_code)] // each includer uses a different part

use replscope::engine::config::Config;
use replscope::engine::resp::{encode_command, Reply};
use replscope::sim::{ClientId, Sim};

/// Commands per pipelined batch (one `send_raw`).
pub const BATCH: usize = 1000;
/// Replicas attached to the master.
pub const REPLICAS: usize = 3;
/// The keys and values of a workload, matching a redis-benchmark run so that the simulated
/// cluster and a real Redis are compared on the same commands.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The name in the figures' labels (`sim/native/<name>:`), as `./x bench` prints the
    /// matching real-Redis figure (`server/redis/<name>:`).
    pub name: &'static str,
    /// Distinct keys: 1 is redis-benchmark's literal `key:__rand_int__` (no `-r`); more are
    /// `key:<12 digits>`, as `-r` writes them.
    pub keys: usize,
    /// Value size in bytes (`-d`; 3 by default).
    pub value: usize,
}

/// `redis-benchmark -P 16 -t set`: one key, 3-byte values.
pub const SET: Shape = Shape {
    name: "set",
    keys: 1,
    value: 3,
};

/// `redis-benchmark -P 16 -t set -r 100000 -d 64`: 100 000 keys, 64-byte values.
pub const SET_R100K_D64: Shape = Shape {
    name: "set-r100k-d64",
    keys: 100_000,
    value: 64,
};

/// Both shapes, in the order the benchmarks run them.
pub const SHAPES: [Shape; 2] = [SET, SET_R100K_D64];

/// What one batch cost the simulator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Simulator steps (one delivery or one timer each).
    pub steps: u64,
    /// Trace entries recorded (messages sent, engine events).
    pub trace_entries: u64,
}

/// Master + [`REPLICAS`] replicas, all online, and a client of the master.
pub struct Cluster {
    pub sim: Sim,
    pub master: usize,
    pub replicas: Vec<usize>,
    client: ClientId,
    shape: Shape,
    next_key: usize,
    value: Vec<u8>,
}

impl Cluster {
    pub fn new(shape: Shape) -> Cluster {
        let mut sim = Sim::new(7, 1);
        let master = sim.add_node("m", Config::default());
        let client = sim.connect_client(master);
        let mut replicas = Vec::new();
        let mut consoles = Vec::new();
        for i in 1..=REPLICAS {
            let r = sim.add_node(&format!("r{i}"), Config::default());
            let rc = sim.connect_client(r);
            assert_eq!(sim.exec(rc, "REPLICAOF m 6379"), Some(Reply::ok()));
            replicas.push(r);
            consoles.push(rc);
        }
        sim.run_for(7_000);
        for rc in consoles {
            let Some(Reply::Bulk(info)) = sim.exec(rc, "INFO replication") else {
                panic!("INFO did not answer a bulk");
            };
            let info = String::from_utf8(info).expect("INFO is text");
            assert!(info.contains("master_link_status:up"), "{info}");
        }
        assert_eq!(sim.exec(client, "PING"), Some(Reply::Simple("PONG".into())));
        let Some(Reply::Bulk(info)) = sim.exec(client, "INFO replication") else {
            panic!("INFO did not answer a bulk");
        };
        let info = String::from_utf8(info).expect("INFO is text");
        assert!(
            info.contains(&format!("connected_slaves:{REPLICAS}")),
            "{info}"
        );
        sim.drain_trace().for_each(drop);
        Cluster {
            sim,
            master,
            replicas,
            client,
            shape,
            next_key: 0,
            value: vec![b'x'; shape.value],
        }
    }

    /// The wire bytes of the next batch (not part of what is timed).
    pub fn next_batch(&mut self) -> Vec<u8> {
        let mut wire = Vec::with_capacity(BATCH * (self.shape.value + 50));
        for _ in 0..BATCH {
            let key = match self.shape.keys {
                1 => "key:__rand_int__".to_string(),
                keys => format!("key:{:012}", self.next_key % keys),
            };
            self.next_key += 1;
            encode_command(&[b"SET".as_slice(), key.as_bytes(), &self.value], &mut wire);
        }
        wire
    }

    fn replicas_synced(&self) -> bool {
        let m = self.sim.node(self.master).master_repl_offset();
        self.replicas
            .iter()
            .all(|&r| self.sim.node(r).master_repl_offset() == m)
    }

    /// Sends one batch and runs the simulation until the master answered every command and
    /// every replica caught up with the master's offset; then clears the trace.
    pub fn run_batch(&mut self, wire: Vec<u8>) -> BatchStats {
        let steps = self.sim.steps();
        let offset = self.sim.node(self.master).master_repl_offset();
        self.sim.send_raw(self.client, wire);
        let deadline_us = self.sim.now_us() + 60_000_000;
        let mut replies = 0;
        loop {
            replies += self.sim.take_replies(self.client).len();
            if replies >= BATCH && self.replicas_synced() {
                break;
            }
            assert!(self.sim.step_until(deadline_us), "batch did not complete");
        }
        assert_eq!(replies, BATCH);
        assert!(self.sim.node(self.master).master_repl_offset() > offset);
        let stats = BatchStats {
            steps: self.sim.steps() - steps,
            trace_entries: self.sim.drain_trace().count() as u64,
        };
        stats
    }
}

/// Totals over many batches, and the rates the benchmarks report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub batches: u64,
    pub steps: u64,
    pub trace_entries: u64,
    pub seconds: f64,
}

impl Totals {
    pub fn add(&mut self, stats: BatchStats, seconds: f64) {
        self.batches += 1;
        self.steps += stats.steps;
        self.trace_entries += stats.trace_entries;
        self.seconds += seconds;
    }

    /// Writes applied on all replicas per second.
    pub fn writes_per_s(&self) -> f64 {
        (self.batches * BATCH as u64) as f64 / self.seconds
    }

    pub fn steps_per_s(&self) -> f64 {
        self.steps as f64 / self.seconds
    }

    pub fn trace_entries_per_s(&self) -> f64 {
        self.trace_entries as f64 / self.seconds
    }

    /// One line for logs and BENCHMARKS.md.
    pub fn summary(&self, label: &str) -> String {
        format!(
            "{label}: {} batches of {BATCH} SETs, master + {REPLICAS} replicas: \
             {:.0} replicated writes/s, {:.0} steps/s ({:.0} steps/batch), \
             {:.0} trace entries/s, {:.2} ms/batch",
            self.batches,
            self.writes_per_s(),
            self.steps_per_s(),
            self.steps as f64 / self.batches as f64,
            self.trace_entries_per_s(),
            self.seconds * 1000.0 / self.batches as f64,
        )
    }
}
