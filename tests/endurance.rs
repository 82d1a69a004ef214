//! Endurance: a class leaves the page's busiest run playing for hours. The timeline's memory
//! (its history and checkpoints) stays within a fixed budget however long it runs, and every
//! moment stays reachable: seeking to an early, a middle and a late moment gives exactly the
//! states a straight run went through. Heavy: `./x test` runs it optimised (step `chaos`);
//! an unoptimised `cargo test` skips it (hours of simulated time would take an hour there).

use replscope::engine::node::Node;
use replscope::sim::history::{HISTORY_BUDGET_BYTES, TRACE_BUDGET_BYTES};
use replscope::sim::log::{LogFilter, LogKind};
use replscope::sim::scenario::Scenario;
use replscope::sim::snapshot::Snapshot;
use replscope::sim::timeline::{Timeline, CHECKPOINT_BUDGET_BYTES};

/// The page's busiest offer: 12 nodes (a master, ten replicas, one of them feeding a
/// sub-replica), 1000 writes/s from the writes/s menu; a replica is cut for a minute
/// every 20 minutes, so syncs happen along the way.
fn busiest(hours: u64) -> Scenario {
    let mut nodes = vec![serde_json::json!({ "name": "m" })];
    for i in 1..=10 {
        nodes.push(serde_json::json!({ "name": format!("r{i}"), "replicaof": "m" }));
    }
    nodes.push(serde_json::json!({ "name": "r11", "replicaof": "r1" }));
    let mut steps = vec![
        serde_json::json!({ "at_ms": 100, "do": "workload", "node": "m",
        "rate": 1000, "keys": 100, "value_size": 16 }),
    ];
    for k in 0..hours * 3 {
        let at = (k * 20 + 10) * 60_000;
        steps.push(serde_json::json!({ "at_ms": at, "do": "cut", "a": "m", "b": "r3" }));
        steps.push(serde_json::json!({ "at_ms": at + 60_000, "do": "heal", "a": "m", "b": "r3" }));
    }
    let json = serde_json::json!({
        "name": "busiest", "title": "12 nodes at 1000 writes/s", "seed": 11,
        "nodes": nodes, "steps": steps, "until_ms": hours * 3_600_000,
    });
    Scenario::parse(&json.to_string()).expect("valid scenario")
}

/// What a moment looks like: the picture, every node's data and offset, the step count and
/// the trace length.
#[derive(Debug, PartialEq)]
struct Moment {
    steps: u64,
    trace_len: u64,
    snapshot: Snapshot,
    nodes: Vec<(i64, u64)>,
}

fn moment(t: &Timeline, start_us: u64) -> Moment {
    let sim = t.sim();
    let digest = |n: &Node| {
        // A cheap digest of the data (equal keyspaces give equal digests).
        let text = format!("{:?}", n.keyspace());
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    Moment {
        steps: sim.steps(),
        trace_len: sim.trace_len(),
        snapshot: sim.snapshot(start_us),
        nodes: sim
            .nodes()
            .iter()
            .map(|n| (n.node.master_repl_offset(), digest(&n.node)))
            .collect(),
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "optimised only: cargo test --release --test endurance"
)]
fn a_busy_run_of_hours_keeps_a_bounded_history_and_every_moment_reachable() {
    // ENDURANCE_HOURS shortens it for profiling.
    let hours: u64 = std::env::var("ENDURANCE_HOURS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(2);
    let mut t = busiest(hours).build(None).unwrap();
    let start = t.sim().now_us();
    let minute = 60_000_000;
    // Early, middle (during a cut), late (within the last ten minutes).
    let marks = [
        7 * minute + 123_456,
        (hours * 30 + 1) * minute + 7_000,
        (hours * 60 - 3) * minute + 500,
    ];
    let mut expected = Vec::new();
    let mut peak = 0;
    let budget = HISTORY_BUDGET_BYTES + CHECKPOINT_BUDGET_BYTES;
    let mut at = start;
    let end = start + hours * 60 * minute;
    while at < end {
        at = (at + minute).min(end);
        for &m in &marks {
            if start + m <= at && start + m > at - minute {
                t.run_until_us(start + m);
                expected.push((m, moment(&t, start)));
            }
        }
        t.run_until_us(at);
        let retained = t.retained_bytes();
        peak = peak.max(retained);
        assert!(
            retained <= budget,
            "{retained} bytes retained at {} s (budget {budget})",
            (at - start) / 1_000_000
        );
    }
    let sim = t.sim();
    eprintln!(
        "{hours} h: {} steps, {} trace entries, peak retained {:.1} MB (history {:.1} MB, {} checkpoints)",
        sim.steps(),
        sim.trace_len(),
        peak as f64 / 1e6,
        t.history().bytes() as f64 / 1e6,
        t.checkpoint_count()
    );
    let stats = t.checkpoint_stats();
    eprintln!("checkpoints (own, shared, every, packed, widest gap): {stats:?}");
    // Any moment is a bounded replay away: at most a million steps (about 2 s in the page,
    // BENCHMARKS.md "Endurance"), also after 3 hours (ENDURANCE_HOURS=3: 928 000).
    assert!(stats.4 <= 1_000_000, "{stats:?}");
    assert!(stats.3 > 100, "far checkpoints are packed: {stats:?}");
    // Without the budget the run would have held far more: the trace alone is millions of
    // entries.
    assert!(sim.trace_len() > 100_000_000, "{}", sim.trace_len());
    assert_eq!(expected.len(), marks.len());
    for (m, want) in &expected {
        let began = std::time::Instant::now();
        t.seek_time_us(start + m);
        eprintln!("seek to {} s: {:?}", m / 1_000_000, began.elapsed());
        assert_eq!(&moment(&t, start), want, "seeking to {} s", m / 1_000_000);
    }
    // The log of an early moment: its lines were dropped long ago, and are recomputed.
    t.seek_time_us(start + marks[0]);
    // Every command r11 ran: thousands a second, kept for a moment only.
    let filter = LogFilter {
        kinds: vec![LogKind::Command],
        node: Some("r11".into()),
        text: String::new(),
    };
    let view = t.log_lines(&filter, start, 20, None);
    assert!(view.dropped, "the early log was dropped from memory");
    let to = t
        .history()
        .log_complete_from(&filter.kinds)
        .min(t.sim().trace_len());
    let recomputed = t.recompute_log(to, &filter, 20);
    let view = t.log_lines(&filter, start, 20, Some(&recomputed));
    assert_eq!(view.lines.len(), 20, "{view:?}");
    assert!(view
        .lines
        .iter()
        .all(|l| l.node == "r11" && l.text.ends_with("(from the master)")));
    // They are the ones a straight run logged: the last of them just before the moment.
    let last = view.lines.last().unwrap();
    assert!(
        last.ms <= marks[0] / 1000 && last.ms + 100 >= marks[0] / 1000,
        "{last:?}"
    );
}

/// The page's memory guard: shedding halves what the history and the checkpoints hold, at
/// once, and the run goes on exact (a seek still lands on the same state).
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "optimised only: cargo test --release --test endurance"
)]
fn shedding_memory_thins_the_history_at_once_and_keeps_the_run_exact() {
    let mut t = busiest(1).build(None).unwrap();
    let start = t.sim().now_us();
    let minute = 60_000_000;
    t.run_until_us(start + 2 * minute);
    let want = moment(&t, start);
    // Long enough for the checkpoints to hold more than half their budget, packed ones
    // included.
    t.run_until_us(start + 30 * minute);
    let before = t.retained_bytes();
    assert!(
        before > TRACE_BUDGET_BYTES + CHECKPOINT_BUDGET_BYTES / 2,
        "{before}"
    );
    assert!(t.shed_memory());
    let after = t.retained_bytes();
    let log = HISTORY_BUDGET_BYTES - TRACE_BUDGET_BYTES;
    assert!(after < before, "{before} → {after}");
    assert_eq!(t.history().budget(), TRACE_BUDGET_BYTES / 2);
    assert!(
        after <= TRACE_BUDGET_BYTES / 2 + log + CHECKPOINT_BUDGET_BYTES / 2,
        "{after}"
    );
    // Down to the floor (8 MB each), then it says so.
    let mut sheds = 1;
    while t.shed_memory() {
        sheds += 1;
    }
    assert!(sheds < 8, "{sheds}");
    assert!(
        t.retained_bytes() <= (16 << 20) + log,
        "{}",
        t.retained_bytes()
    );
    t.seek_time_us(start + 2 * minute);
    assert_eq!(moment(&t, start), want);
}
