//! What a lesson's checker costs: the same busy run (a master, three replicas, 1000 writes/s,
//! a cut and a heal) with the P5 lesson's checker attached and without it, and the
//! checklist read each frame (`status_live`). BENCHMARKS.md, "Lessons", has the figures;
//! the goal is ≤ 10 % of a frame's time.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use replscope::sim::lesson;
use replscope::sim::scenario::Scenario;
use replscope::sim::Action;

/// The P5 lesson at the page's busiest write rate, with two more replicas.
fn busy(with_checker: bool) -> Scenario {
    let json = lesson::builtin_json("p5-partial-sync").expect("built in");
    let mut s = lesson::instantiate(json, None).expect("valid");
    for name in ["r2", "r3"] {
        let mut r = s.nodes[1].clone();
        r.name = name.into();
        s.nodes.push(r);
    }
    for step in &mut s.steps {
        if let Action::Workload { rate, .. } = &mut step.action {
            *rate = 1000;
        }
    }
    if !with_checker {
        s.lesson = None;
    }
    s
}

fn run(s: &Scenario) -> u64 {
    let mut t = s
        .with_steps_as_user(
            &s.lesson
                .as_ref()
                .map(|l| l.solution.clone())
                .unwrap_or_else(|| busy(true).lesson.unwrap().solution),
        )
        .unwrap();
    let until = t.start_us() + 16_000_000;
    t.run_until_us(until);
    t.sim().steps()
}

fn bench_checker(c: &mut Criterion) {
    let mut group = c.benchmark_group("checker");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    let (with, without) = (busy(true), busy(false));
    group.bench_function("p5_busy_16s/with_checker", |b| {
        b.iter(|| black_box(run(&with)))
    });
    group.bench_function("p5_busy_16s/without_checker", |b| {
        b.iter(|| black_box(run(&without)))
    });
    // The checklist as the panel reads it once per frame.
    let mut t = with
        .with_steps_as_user(&with.lesson.as_ref().unwrap().solution)
        .unwrap();
    t.run_until_us(t.start_us() + 16_000_000);
    group.bench_function("status_live_per_frame", |b| {
        b.iter(|| black_box(t.sim().checker().unwrap().status_live(t.sim())))
    });
    group.finish();
}

criterion_group!(benches, bench_checker);
criterion_main!(benches);
