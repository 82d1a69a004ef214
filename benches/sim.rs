//! Simulator throughput: replicated writes/s and simulator steps/s of a master with three
//! replicas under pipelined SETs (workload in `benches/support/sim_cluster.rs`, shared with
//! the wasm run in `tests/web_bench.rs`). Criterion reports writes/s as its throughput; the
//! steps/s and trace entries/s over the same measured batches are printed after it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "support/sim_cluster.rs"]
mod sim_cluster;

use sim_cluster::{Cluster, Totals, BATCH, SHAPES};

fn bench_sim(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(BATCH as u64));

    let mut lines = Vec::new();
    for shape in SHAPES {
        let mut cluster = Cluster::new(shape);
        // Everything criterion times (warm-up included): steps/s comes from the same batches.
        let mut totals = Totals::default();
        group.bench_function(
            BenchmarkId::new("replicated_set_1000_3replicas", shape.name),
            |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let wire = cluster.next_batch();
                        let start = Instant::now();
                        let stats = cluster.run_batch(black_box(wire));
                        let took = start.elapsed();
                        totals.add(stats, took.as_secs_f64());
                        elapsed += took;
                    }
                    elapsed
                })
            },
        );
        // Parsed by `./x bench` for its summary (nothing when a filter skipped the bench).
        if totals.batches > 0 {
            lines.push(totals.summary(&format!("sim/native/{}", shape.name)));
        }
    }
    group.finish();
    for line in lines {
        println!("{line}");
    }
}

criterion_group!(benches, bench_sim);
criterion_main!(benches);
