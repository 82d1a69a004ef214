//! End-to-end engine throughput (ops/s): pipelined `SET key:<i> <value>` batches sent by a
//! client to a master with one online replica, through the deterministic simulator, until the
//! master has replied to all of them and the replica has applied all of them.
//! A second case without a replica shows what replication adds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use replscope::engine::config::Config;
use replscope::engine::resp::{encode_command, Reply};
use replscope::sim::{ClientId, Sim};

/// Commands per pipelined batch (one `send_raw`).
const BATCH: usize = 1000;
/// Distinct keys written (the keyspace stays bounded).
const KEYS: usize = 100_000;
/// Value size in bytes.
const VALUE: usize = 64;
/// A simulation is rebuilt (outside the timing) after this many batches, so that its trace
/// (every command is recorded as events) does not grow without bound.
const BATCHES_PER_SIM: u64 = 100;

struct Setup {
    sim: Sim,
    master: usize,
    replica: Option<usize>,
    client: ClientId,
    next_key: usize,
    batches: u64,
}

impl Setup {
    /// A master `m` and, if `with_replica`, a replica `r1` attached and online.
    fn new(with_replica: bool) -> Setup {
        let mut sim = Sim::new(7, 1);
        let master = sim.add_node("m", Config::default());
        let client = sim.connect_client(master);
        let replica = with_replica.then(|| {
            let r1 = sim.add_node("r1", Config::default());
            let rc = sim.connect_client(r1);
            assert_eq!(sim.exec(rc, "REPLICAOF m 6379"), Some(Reply::ok()));
            // Diskless sync waits repl-diskless-sync-delay (5 s) for more replicas.
            sim.run_for(7_000);
            let Some(Reply::Bulk(info)) = sim.exec(rc, "INFO replication") else {
                panic!("INFO did not answer a bulk");
            };
            let info = String::from_utf8(info).expect("INFO is text");
            assert!(info.contains("master_link_status:up"), "{info}");
            r1
        });
        assert_eq!(sim.exec(client, "PING"), Some(Reply::Simple("PONG".into())));
        Setup {
            sim,
            master,
            replica,
            client,
            next_key: 0,
            batches: 0,
        }
    }

    fn batch(&mut self, value: &[u8]) -> Vec<u8> {
        let mut wire = Vec::with_capacity(BATCH * (VALUE + 40));
        for _ in 0..BATCH {
            let key = format!("key:{}", self.next_key % KEYS);
            self.next_key += 1;
            encode_command(&[b"SET".as_slice(), key.as_bytes(), value], &mut wire);
        }
        wire
    }

    /// Sends one batch and runs the simulation until the master answered every command and
    /// the replica (if any) caught up with the master's offset.
    fn run_batch(&mut self, wire: Vec<u8>) {
        self.sim.send_raw(self.client, wire);
        let deadline_us = self.sim.now_us() + 60_000_000;
        let mut replies = 0;
        loop {
            replies += self.sim.take_replies(self.client).len();
            let synced = self.replica.is_none_or(|r| {
                self.sim.node(r).master_repl_offset()
                    == self.sim.node(self.master).master_repl_offset()
            });
            if replies >= BATCH && synced {
                break;
            }
            assert!(self.sim.step_until(deadline_us), "batch did not complete");
        }
        assert_eq!(replies, BATCH);
        self.batches += 1;
    }
}

fn bench_node(c: &mut Criterion) {
    let mut group = c.benchmark_group("node");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(BATCH as u64));
    let value = vec![b'v'; VALUE];

    for (name, with_replica) in [("set_1000_replica", true), ("set_1000_no_replica", false)] {
        let mut setup = Setup::new(with_replica);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    if setup.batches >= BATCHES_PER_SIM {
                        setup = Setup::new(with_replica);
                    }
                    let wire = setup.batch(&value);
                    let start = Instant::now();
                    setup.run_batch(black_box(wire));
                    elapsed += start.elapsed();
                }
                elapsed
            })
        });
        // The writes really reached the replica (if the bench ran: a filter may skip it).
        if let (Some(r), true) = (setup.replica, setup.batches > 0) {
            let m = setup.sim.node(setup.master).master_repl_offset();
            assert!(m > 0 && setup.sim.node(r).master_repl_offset() == m);
        }
    }
    group.finish();
}

criterion_group!(benches, bench_node);
criterion_main!(benches);
