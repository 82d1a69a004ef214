//! RequestParser throughput (MB/s of wire bytes): what a node spends turning client bytes into
//! argv vectors. `./x bench` runs it; figures in BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use replscope::engine::resp::{encode_command, RequestParser};

/// Redis's `PROTO_IOBUF_LEN`: a server reads at most this much per `read()`.
const READ_CHUNK: usize = 16 * 1024;

/// A tiny deterministic generator (no RNG crate in a bench).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// `n` commands, alternating `SET key:<i> <16..=100 byte value>` and `GET key:<i>`, as one
/// pipelined buffer; returns it with the number of commands.
fn set_get_pipeline(n: usize) -> (Vec<u8>, usize) {
    let mut rng = Lcg(42);
    let mut out = Vec::new();
    for i in 0..n {
        let key = format!("key:{:06}", i / 2);
        if i % 2 == 0 {
            let len = 16 + (rng.next() % 85) as usize;
            let value: Vec<u8> = (0..len).map(|_| b'a' + (rng.next() % 26) as u8).collect();
            encode_command(&[b"SET".as_slice(), key.as_bytes(), &value], &mut out);
        } else {
            encode_command(&[b"GET".as_slice(), key.as_bytes()], &mut out);
        }
    }
    (out, n)
}

/// `n` `SET big:<i> <1 MB value>` commands.
fn large_args(n: usize) -> (Vec<u8>, usize) {
    let value = vec![b'x'; 1024 * 1024];
    let mut out = Vec::new();
    for i in 0..n {
        let key = format!("big:{i}");
        encode_command(&[b"SET".as_slice(), key.as_bytes(), &value], &mut out);
    }
    (out, n)
}

/// Feeds `wire` in `chunk`-sized reads, draining requests after each; returns the count.
fn parse_all(wire: &[u8], chunk: usize) -> usize {
    let mut parser = RequestParser::new();
    let mut count = 0;
    for piece in wire.chunks(chunk) {
        parser.feed(piece);
        while let Some(req) = parser.next_request().expect("valid RESP") {
            count += 1;
            black_box(&req);
        }
    }
    count
}

fn bench_resp(c: &mut Criterion) {
    let mut group = c.benchmark_group("resp");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));

    let cases = [
        ("set_get_10k", set_get_pipeline(10_000), READ_CHUNK),
        // The same bytes handed over in one piece (a client that wrote them all at once and a
        // driver that delivers them in one Input::Data, as the simulator does).
        (
            "set_get_10k_one_buffer",
            set_get_pipeline(10_000),
            usize::MAX,
        ),
        ("set_4x1mb", large_args(4), READ_CHUNK),
    ];
    for (name, (wire, n), chunk) in &cases {
        assert_eq!(parse_all(wire, *chunk), *n, "{name}: every command parsed");
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), wire, |b, wire| {
            b.iter(|| parse_all(black_box(wire), *chunk))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_resp);
criterion_main!(benches);
