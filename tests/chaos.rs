//! Seeded fault testing: `CHAOS_SEEDS` seeds of random topologies, workloads and faults; every
//! one must end converged (see `replscope::sim::chaos`). A failure prints the one-line repro.
//! `./x test` runs this file optimised with the default of 500 seeds; an unoptimised
//! `cargo test` runs 30 unless told otherwise.

use replscope::sim::chaos;

#[test]
fn random_fault_schedules_converge() {
    let seeds: u64 = std::env::var("CHAOS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 30 } else { 500 });
    let mut failures = Vec::new();
    for seed in 0..seeds {
        if let Err(e) = chaos::run(seed) {
            failures.push(format!(
                "{e}\n  repro: replscope sim --random --seed {seed}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_seed_replays_identically() {
    let a = chaos::run(42).unwrap();
    let b = chaos::run(42).unwrap();
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_ne!(chaos::run(43).unwrap().trace_hash, a.trace_hash);
}
