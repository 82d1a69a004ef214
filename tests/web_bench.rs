//! The simulator-throughput benchmark of `benches/sim.rs`, compiled to wasm and run in headless
//! Chromium by wasm-bindgen-test (same workload: `benches/support/sim_cluster.rs`). Not part of
//! `./x test` (which runs only `--test web`). `./x bench sim` runs it twice:
//!
//! ```sh
//! # Built like the native benchmark (release: opt-level 3, LTO): the wasm / native goal.
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown \
//!     --test web_bench -- --nocapture
//! # Built like the page (site: opt-level "z", for its size budget), labelled `wasm-site`.
//! REPLSCOPE_WASM_BENCH_LABEL=wasm-site CHROMEDRIVER=/usr/bin/chromedriver cargo test \
//!     --profile site --target wasm32-unknown-unknown --test web_bench -- --nocapture
//! ```
//!
//! Timing uses `performance.now()` (Chromium coarsens it to 100 µs without cross-origin
//! isolation; a batch takes milliseconds). Figures are printed with `console_log!` as one
//! `sim/<label>/<shape>: …` line per workload shape (label `wasm` unless the build set
//! `REPLSCOPE_WASM_BENCH_LABEL`), which `./x bench` picks up. Native builds compile this file
//! to nothing.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

#[path = "../benches/support/sim_cluster.rs"]
mod sim_cluster;

use sim_cluster::{Cluster, Shape, Totals, SHAPES};

wasm_bindgen_test_configure!(run_in_browser);

/// What the figures are labelled with (`sim/<label>/<shape>:`): which build they measure.
const LABEL: &str = match option_env!("REPLSCOPE_WASM_BENCH_LABEL") {
    Some(label) => label,
    None => "wasm",
};

/// Warm-up and measurement, in ms of wall time (criterion natively: 1 s + 8 s).
const WARM_UP_MS: f64 = 1_000.0;
const MEASURE_MS: f64 = 8_000.0;

fn now_ms() -> f64 {
    web_sys::window()
        .expect("a window")
        .performance()
        .expect("performance")
        .now()
}

#[wasm_bindgen_test]
fn sim_replicated_set_1000_3replicas() {
    for shape in SHAPES {
        measure(shape);
    }
}

fn measure(shape: Shape) {
    let mut cluster = Cluster::new(shape);
    let mut warm_up = Totals::default();
    let mut totals = Totals::default();
    let start = now_ms();
    loop {
        let wire = cluster.next_batch();
        let t0 = now_ms();
        let stats = cluster.run_batch(std::hint::black_box(wire));
        let t1 = now_ms();
        let seconds = (t1 - t0) / 1000.0;
        if t1 - start < WARM_UP_MS {
            warm_up.add(stats, seconds);
        } else {
            totals.add(stats, seconds);
            if t1 - start >= WARM_UP_MS + MEASURE_MS {
                break;
            }
        }
    }
    assert!(totals.batches > 0 && warm_up.batches > 0);
    console_log!("{}", totals.summary(&format!("sim/{LABEL}/{}", shape.name)));
}
