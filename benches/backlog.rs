//! Replication backlog throughput (GB/s) for both models with the default 1 MB backlog:
//! per-command feeding (`append_command`, Redis's pieces), bulk 64 KB feeds (`append`), and
//! the copy a `+CONTINUE` makes (`bytes_from` at a mid-window offset).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use replscope::engine::backlog::{Backlog, BacklogModel, DEFAULT_SIZE};
use replscope::engine::resp::command_len;

const MODELS: [(&str, BacklogModel); 2] = [
    ("ring", BacklogModel::Ring),
    ("blocks", BacklogModel::Blocks),
];

/// Commands fed per iteration: 10 000 × 100 B = 1 MB, one full window.
const COMMANDS: usize = 10_000;
const CHUNK: usize = 64 * 1024;
/// Chunks fed per iteration: 1 MB.
const CHUNKS: usize = 16;

/// A `SET key:NNNNNN <value>` whose encoding is exactly 100 bytes.
fn command_100b() -> Vec<Vec<u8>> {
    let key = b"key:000001".to_vec();
    // *3\r\n $3\r\nSET\r\n $10\r\n<key>\r\n = 4 + 9 + 17 = 30; $63\r\n<v>\r\n = 7 + 63.
    let argv = vec![b"SET".to_vec(), key, vec![b'v'; 100 - 30 - 7]];
    assert_eq!(command_len(&argv), 100);
    argv
}

/// A backlog whose window is already full (steady state: every append slides or trims).
fn full_backlog(model: BacklogModel) -> Backlog {
    let mut backlog = Backlog::new(model, DEFAULT_SIZE, 0);
    let chunk = vec![b'x'; CHUNK];
    for _ in 0..2 * DEFAULT_SIZE / CHUNK {
        backlog.append(&chunk);
    }
    backlog
}

fn bench_backlog(c: &mut Criterion) {
    let mut group = c.benchmark_group("backlog");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let argv = command_100b();
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    group.throughput(Throughput::Bytes((COMMANDS * 100) as u64));
    for (name, model) in MODELS {
        let mut backlog = full_backlog(model);
        group.bench_function(BenchmarkId::new("append_command_100b", name), |b| {
            b.iter(|| {
                for _ in 0..COMMANDS {
                    black_box(backlog.append_command(black_box(&argv)));
                }
            })
        });
    }

    let chunk = vec![b'c'; CHUNK];
    group.throughput(Throughput::Bytes((CHUNKS * CHUNK) as u64));
    for (name, model) in MODELS {
        let mut backlog = full_backlog(model);
        group.bench_function(BenchmarkId::new("append_64k", name), |b| {
            b.iter(|| {
                for _ in 0..CHUNKS {
                    black_box(backlog.append(black_box(&chunk)));
                }
            })
        });
    }

    for (name, model) in MODELS {
        let backlog = full_backlog(model);
        let mid = backlog.first_byte_offset() + backlog.histlen() / 2;
        let len = backlog.bytes_from(mid).expect("mid-window offset").len();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("bytes_from_mid", name), |b| {
            b.iter(|| backlog.bytes_from(black_box(mid)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_backlog);
criterion_main!(benches);
