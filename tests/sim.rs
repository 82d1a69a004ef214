//! The simulator: every built-in scenario shows what it promises, time travel is exact in
//! both directions, runs are reproducible, and bad scenario files get clear errors.

use replscope::engine::event::Event;
use replscope::engine::psync::PsyncRule;
use replscope::sim::scenario::{self, Scenario};
use replscope::sim::timeline::Timeline;
use replscope::sim::{trace, Action, LogKind, SimEvent, TraceEntry};

fn run(name: &str) -> Timeline {
    let s = scenario::builtin_named(name).unwrap_or_else(|| panic!("no scenario {name}"));
    let mut t = s.build(None).unwrap();
    let end = t.sim().now_us() + s.until_ms * 1000;
    t.run_until_us(end);
    t
}

fn events(t: &Timeline) -> Vec<(String, Event)> {
    t.trace()
        .iter()
        .filter_map(|e| e.engine().map(|ev| (e.node.to_string(), ev.clone())))
        .collect()
}

fn rules(t: &Timeline) -> Vec<PsyncRule> {
    events(t)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::PsyncDecided { decision, .. } => Some(decision.rule),
            _ => None,
        })
        .collect()
}

fn converged(t: &Timeline) -> bool {
    let sim = t.sim();
    // Removed nodes are out of the picture.
    sim.nodes()
        .iter()
        .filter(|n| !n.removed())
        .all(|n| match n.node.master_addr() {
            Some((h, _)) => {
                let m = sim.node(sim.index_of(h).unwrap());
                n.node.master_repl_offset() == m.master_repl_offset()
                    && n.node.keyspace() == m.keyspace()
            }
            None => true,
        })
}

#[test]
fn topologies_sync_and_converge() {
    for name in [
        "one-replica",
        "many-replicas",
        "chain",
        "continuous-replication",
        "chained-proxy",
    ] {
        let t = run(name);
        assert!(converged(&t), "{name} did not converge");
        let ids: Vec<&str> = t.sim().nodes().iter().map(|n| n.node.replid()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "{name}: replids differ {ids:?}"
        );
    }
    // One snapshot serves the three replicas that arrived within the diskless delay.
    let t = run("many-replicas");
    let bgsaves: Vec<usize> = events(&t)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::BgsaveStarted { replicas, .. } => Some(replicas.len()),
            _ => None,
        })
        .collect();
    assert_eq!(bgsaves, vec![3]);
}

#[test]
fn partial_and_full_resync_scenarios_decide_as_redis() {
    assert_eq!(
        rules(&run("partial-sync")),
        vec![PsyncRule::FullResyncRequested, PsyncRule::Continue]
    );
    assert_eq!(
        rules(&run("backlog-too-small")),
        vec![
            PsyncRule::FullResyncRequested,
            PsyncRule::OffsetBeforeBacklog
        ]
    );
    assert_eq!(
        rules(&run("first-full-sync")),
        vec![PsyncRule::ReplidMismatch]
    );
    let failover = run("failover");
    assert_eq!(
        rules(&failover),
        vec![
            PsyncRule::FullResyncRequested,
            PsyncRule::FullResyncRequested,
            PsyncRule::Continue,
            PsyncRule::ReplidMismatch
        ]
    );
    assert!(converged(&failover));
}

#[test]
fn a_silent_partition_is_noticed_only_by_timeouts() {
    let t = run("heartbeat-timeout");
    let timeouts: Vec<String> = events(&t)
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
        .map(|(n, _)| n)
        .collect();
    assert!(
        timeouts.contains(&"m".to_string()) && timeouts.contains(&"r1".to_string()),
        "{timeouts:?}"
    );
    assert_eq!(rules(&t).last(), Some(&PsyncRule::Continue));
    assert!(converged(&t));
}

#[test]
fn min_replicas_refuses_then_accepts_writes() {
    let t = run("min-replicas");
    let errors: Vec<Option<String>> = events(&t)
        .into_iter()
        .filter_map(|(n, e)| match e {
            Event::Command { argv, error, .. } if n == "m" && argv.name() == "SET" => Some(error),
            _ => None,
        })
        .collect();
    let refused = Some("NOREPLICAS Not enough good replicas to write.".to_string());
    // Accepted; still accepted while r1's ACKs are less than 10 s old; refused once they are
    // older; accepted after the heal; refused at once after a cut; accepted after +CONTINUE.
    assert_eq!(
        errors,
        vec![None, None, refused.clone(), None, refused, None]
    );
}

#[test]
fn stale_reads_are_reported_then_the_replica_catches_up() {
    let t = run("stale-reads");
    let stale = t
        .trace()
        .iter()
        .filter(|e| matches!(e.event, SimEvent::StaleRead { .. }))
        .count();
    assert!(stale > 0);
    assert!(converged(&t));
}

#[test]
fn a_big_full_sync_takes_time_on_a_slow_link() {
    let t = run("big-full-sync");
    let ev = events(&t);
    let rdb = ev.iter().find_map(|(_, e)| match e {
        Event::BgsaveStarted { rdb_bytes, .. } => Some(*rdb_bytes),
        _ => None,
    });
    assert!(rdb.unwrap() > 4_000_000, "{rdb:?}");
    let times: Vec<u64> = t
        .trace()
        .iter()
        .filter(|e| {
            matches!(
                e.engine(),
                Some(Event::BgsaveStarted { .. } | Event::RdbLoaded { .. })
            )
        })
        .map(|e| e.time_us)
        .collect();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] > 4_000_000,
        "transfer took {} µs",
        times[1] - times[0]
    );
    assert!(converged(&t));
}

#[test]
fn the_output_buffer_limit_makes_a_resync_loop_until_raised() {
    let t = run("output-buffer-limit");
    let limits = events(&t)
        .iter()
        .filter(|(_, e)| matches!(e, Event::OutputBufferLimit { .. }))
        .count();
    assert!(limits >= 3, "{limits} disconnections");
    let loaded = events(&t)
        .iter()
        .filter(|(_, e)| matches!(e, Event::RdbLoaded { .. }))
        .count();
    assert!(loaded >= 1, "the sync completes once the limit is gone");
}

#[test]
fn time_travel_is_exact_in_both_directions() {
    let s = scenario::builtin_named("partial-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    // Record the state at several instants going forward.
    let mut seen = Vec::new();
    for ms in [500u64, 6_000, 10_500, 13_200, 16_000] {
        t.run_until_us(start + ms * 1000);
        let sim = t.sim();
        seen.push((
            ms,
            sim.steps(),
            trace::hash(t.trace()),
            sim.node(1).master_repl_offset(),
        ));
    }
    // Jump back and forth, by time and by step: identical every time.
    for &(ms, steps, hash, offset) in seen.iter().rev().chain(seen.iter()) {
        t.seek_time_us(start + ms * 1000);
        assert_eq!(
            (t.sim().steps(), trace::hash(t.trace())),
            (steps, hash),
            "at {ms} ms"
        );
        assert_eq!(t.sim().node(1).master_repl_offset(), offset);
        t.seek_step(steps);
        assert_eq!(trace::hash(t.trace()), hash, "step {steps}");
    }
    // One step back then one forward.
    let k = t.sim().steps();
    let here = trace::hash(t.trace());
    t.seek_step(k - 1);
    assert_eq!(t.sim().steps(), k - 1);
    t.step();
    assert_eq!(trace::hash(t.trace()), here);
}

#[test]
fn acting_in_the_past_forks_the_run() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 9_000_000);
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET late 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 12_000_000);
    assert_eq!(
        t.inputs()
            .iter()
            .filter(|r| r.origin == replscope::sim::timeline::Origin::User)
            .count(),
        1
    );
    // Back to 8.5 s and a different action: the later user action is gone, the scenario's
    // own step at 9 s happens again.
    t.seek_time_us(start + 8_500_000);
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET other 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 12_000_000);
    let m = t.sim().node(0).keyspace();
    assert!(m.dbs[0].contains_key(b"other".as_slice()));
    assert!(!m.dbs[0].contains_key(b"late".as_slice()));
    assert!(m.dbs[0].contains_key(b"counter".as_slice()));
}

/// The same hash is asserted by the wasm test in `tests/web.rs`: native and browser runs of a
/// scenario are identical. If an engine change alters the run, update both.
pub const PARTIAL_SYNC_HASH: u64 = 5542653576796963397;

#[test]
fn runs_are_reproducible_and_platform_independent() {
    let a = trace::hash(run("partial-sync").trace());
    let b = trace::hash(run("partial-sync").trace());
    assert_eq!(a, b);
    let other_seed = {
        let s = scenario::builtin_named("partial-sync").unwrap();
        let mut t = s.build(Some(99)).unwrap();
        let end = t.sim().now_us() + s.until_ms * 1000;
        t.run_until_us(end);
        trace::hash(t.trace())
    };
    assert_ne!(a, other_seed);
    assert_eq!(
        a, PARTIAL_SYNC_HASH,
        "update PARTIAL_SYNC_HASH here and in tests/web.rs"
    );
}

#[test]
fn bad_scenarios_get_clear_errors() {
    let err = |json: &str| Scenario::parse(json).unwrap_err();
    assert!(err("{").starts_with("invalid scenario"));
    let base =
        r#"{"name":"x","title":"x","nodes":[{"name":"m"},{"name":"r1","replicaof":"nope"}]}"#;
    assert!(err(base).contains("replicates unknown node 'nope'"));
    let dup = r#"{"name":"x","title":"x","nodes":[{"name":"m"},{"name":"m"}]}"#;
    assert!(err(dup).contains("defined twice"));
    let cfg = r#"{"name":"x","title":"x","nodes":[{"name":"m","config":{"repl-timeout":"0"}}]}"#;
    assert!(err(cfg).contains("argument must be between 1 and 2147483647"));
    let step =
        r#"{"name":"x","title":"x","nodes":[{"name":"m"}],"steps":[{"at_ms":1,"do":"explode"}]}"#;
    assert!(err(step).starts_with("invalid scenario"));
}

#[test]
fn snapshots_show_roles_links_packets_and_the_last_decision() {
    let s = scenario::builtin_named("partial-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 11_000_000);
    let snap = t.sim().snapshot(start);
    assert_eq!(snap.time_ms, 11_000);
    assert_eq!(snap.nodes[0].role, "master");
    assert_eq!(snap.nodes[1].master.as_deref(), Some("m"));
    assert_eq!(snap.links.len(), 1);
    assert_eq!(snap.links[0].state, "cut");
    assert!(snap.nodes[0]
        .backlog
        .as_ref()
        .is_some_and(|b| b.write_index.is_some()));
    t.run_until_us(start + 13_016_000);
    let snap = t.sim().snapshot(start);
    let last = snap.last_psync().unwrap();
    assert_eq!((last.node.as_str(), last.replica.as_str()), ("m", "r1"));
    assert!(last.decision.is_continue());
    // Some packet is in flight right after the +CONTINUE, part-way along its link.
    t.run_until_us(start + 16_000_000);
    let mut seen_packet = false;
    for _ in 0..200 {
        t.step();
        let snap = t.sim().snapshot(start);
        if let Some(p) = snap.packets.first() {
            assert!((0.0..=1.0).contains(&p.progress));
            seen_packet = true;
            break;
        }
    }
    assert!(seen_packet);
    assert!(serde_json::to_string(&t.sim().snapshot(start)).is_ok());
}

#[test]
fn an_exported_run_replays_exactly() {
    use replscope::sim::scenario::RunFile;
    let s = scenario::builtin_named("partial-sync").unwrap();
    let mut t = s.build(Some(5)).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 8_000_000);
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET mine 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 11_000_000);
    t.act(Action::Partition {
        from: "r1".into(),
        to: "m".into(),
    })
    .unwrap();
    t.run_until_us(start + 14_000_000);
    let run = RunFile {
        format: None,
        at_ms: None,
        scenario: s.clone(),
        seed: 5,
        actions: t.inputs().to_vec(),
    };
    let json = serde_json::to_string(&run).unwrap();
    let mut replay = RunFile::parse(&json).unwrap().timeline().unwrap();
    replay.run_until_us(start + 14_000_000);
    assert_eq!(trace::hash(replay.trace()), trace::hash(t.trace()));
    // And it goes on with the scenario afterwards, identically.
    t.run_until_us(start + 18_000_000);
    replay.run_until_us(start + 18_000_000);
    assert_eq!(trace::hash(replay.trace()), trace::hash(t.trace()));
    assert!(RunFile::parse("{\"seed\": 1}")
        .unwrap_err()
        .starts_with("invalid run file"));
}

#[test]
fn a_replica_restarted_from_its_rdb_continues_partially() {
    let mut t = kill_and_restart_r1(&[], true);
    let last = rules(&t);
    assert_eq!(last.last(), Some(&PsyncRule::Continue), "{last:?}");
    let sent = events(&t)
        .into_iter()
        .rev()
        .find_map(|(n, e)| match e {
            Event::PsyncSent { replid, .. } if n == "r1" => Some(replid),
            _ => None,
        })
        .unwrap();
    assert_eq!(sent, t.sim().node(0).replid());
    assert!(converged(&t));
    // Restarted without its RDB, it has no history: PSYNC ? -1.
    t.act(Action::Kill {
        node: "r1".into(),
        save: false,
    })
    .unwrap();
    t.act(Action::Restart {
        node: "r1".into(),
        rdb: false,
    })
    .unwrap();
    t.run_until_us(t.sim().now_us() + 11_000_000);
    assert_eq!(rules(&t).last(), Some(&PsyncRule::FullResyncRequested));
    assert!(converged(&t));
}

/// One replica's story: synced at ~6 s, killed at 9.5 s with or without a save, m writes
/// meanwhile, restarted with its RDB at 11 s. `r1` is configured with `r1_config`.
fn kill_and_restart_r1(r1_config: &[(&str, &str)], save: bool) -> Timeline {
    let mut s = scenario::builtin_named("one-replica").unwrap();
    for (k, v) in r1_config {
        s.nodes[1].config.insert(k.to_string(), v.to_string());
    }
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 9_500_000);
    assert_eq!(
        t.sim().node(1).master_repl_offset(),
        t.sim().node(0).master_repl_offset()
    );
    t.act(Action::Kill {
        node: "r1".into(),
        save,
    })
    .unwrap();
    t.run_until_us(start + 10_000_000);
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET while-down 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 11_000_000);
    t.act(Action::Restart {
        node: "r1".into(),
        rdb: true,
    })
    .unwrap();
    // Long enough for a full resync too (m waits 5 s for more replicas before its BGSAVE).
    t.run_until_us(start + 20_000_000);
    assert!(converged(&t));
    t
}

/// What r1 logged of loading an RDB at start (`loadDataFromDisk`), if it loaded one.
fn r1_loaded_from_disk(t: &Timeline) -> Option<String> {
    let logs: Vec<String> = events(t)
        .into_iter()
        .filter_map(|(n, e)| match e {
            Event::Log { text, .. } if n == "r1" => Some(text),
            _ => None,
        })
        .collect();
    let at = logs
        .iter()
        .position(|l| l == "DB loaded from disk: 0.000 seconds")?;
    Some(logs[at - 1].clone())
}

/// A replica with `repl-diskless-load disabled` (the default) keeps the RDB its master sent
/// as its `dbfilename`, as Redis 7.0.15 does: killed without a save and restarted from its
/// disk, it loads that file, whose replication ID and offset get it a `+CONTINUE`.
#[test]
fn a_replica_killed_without_a_save_restarts_from_the_rdb_its_master_sent() {
    // While the payload arrives it goes to a temporary file, which becomes the disk.
    let s = scenario::builtin_named("big-full-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 4_000_000);
    let r1 = &t.sim().nodes()[1];
    let temp = r1
        .sync_file_name()
        .expect("a transfer under way")
        .to_string();
    assert!(
        temp.starts_with("temp-") && temp.ends_with(".rdb"),
        "{temp}"
    );
    assert!(r1.disk.is_none());
    t.run_until_us(start + 40_000_000);
    let r1 = &t.sim().nodes()[1];
    assert!(converged(&t));
    assert_eq!(r1.sync_file_name(), None);
    assert!(r1.disk.as_ref().is_some_and(|d| d.len() > 4_000_000));

    let t = kill_and_restart_r1(&[], false);
    assert_eq!(
        r1_loaded_from_disk(&t).as_deref(),
        Some("Done loading RDB, keys loaded: 1, keys expired: 0.")
    );
    assert_eq!(
        rules(&t),
        vec![PsyncRule::FullResyncRequested, PsyncRule::Continue]
    );
    assert_eq!(t.sim().node(1).keyspace().key_count(), 3);
}

/// Without a file, nothing to load: `repl-diskless-load swapdb` loads the payload from the
/// socket, and `rdb-del-sync-files yes` on a replica without persistence deletes the file
/// once loaded. Killed without a save, such a replica restarts empty: a full resync.
#[test]
fn a_replica_that_keeps_no_sync_file_restarts_empty() {
    for config in [
        &[("repl-diskless-load", "swapdb")][..],
        &[("rdb-del-sync-files", "yes")][..],
    ] {
        let t = kill_and_restart_r1(config, false);
        assert!(t.sim().nodes()[1].disk.is_none(), "{config:?}");
        assert_eq!(r1_loaded_from_disk(&t), None, "{config:?}");
        assert_eq!(
            rules(&t),
            vec![
                PsyncRule::FullResyncRequested,
                PsyncRule::FullResyncRequested
            ],
            "{config:?}"
        );
        // Its own save still makes a file: it continues.
        let t = kill_and_restart_r1(config, true);
        assert_eq!(
            rules(&t),
            vec![PsyncRule::FullResyncRequested, PsyncRule::Continue],
            "{config:?}"
        );
    }
}

#[test]
fn links_count_silence_towards_the_timeout_and_show_rdb_progress() {
    let s = scenario::builtin_named("heartbeat-timeout").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 15_000_000);
    let link = &t.sim().snapshot(start).links[0];
    assert_eq!(link.state, "partitioned");
    assert!(
        link.silent_s.is_some_and(|s| (4..=10).contains(&s)),
        "{link:?}"
    );
    assert_eq!(link.repl_timeout_s, 10);

    let s = scenario::builtin_named("big-full-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    let mut seen = Vec::new();
    for ms in (2_000..12_000).step_by(500) {
        t.run_until_us(start + ms * 1000);
        if let Some((read, total)) = t.sim().snapshot(start).links[0].rdb_read {
            seen.push((read, total));
        }
    }
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert!(seen.iter().all(|(_, total)| *total > 4_000_000), "{seen:?}");
}

#[test]
fn a_replica_killed_in_the_middle_of_a_slow_full_sync_recovers_cleanly() {
    let s = scenario::builtin_named("big-full-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 4_000_000);
    // Mid-transfer: r1 dies and comes back at once; stale segments of the old process must
    // not reach the new one.
    t.act(Action::Kill {
        node: "r1".into(),
        save: false,
    })
    .unwrap();
    t.act(Action::Restart {
        node: "r1".into(),
        rdb: false,
    })
    .unwrap();
    t.act(Action::Exec {
        node: "r1".into(),
        command: "REPLICAOF m 6379".into(),
    })
    .unwrap();
    t.run_until_us(start + 40_000_000);
    assert!(converged(&t));
    assert!(t.sim().node(1).keyspace().key_count() > 400);
}

/// The history's log lists exactly the entries `LogKind::of` shows, newest first, and stays
/// right after stepping back in time (only entries of the moment shown).
#[test]
fn the_log_index_lists_exactly_the_loggable_entries() {
    let loggable = |t: &Timeline| -> (Vec<TraceEntry>, Vec<TraceEntry>) {
        let expected = t
            .trace()
            .iter()
            .filter(|e| LogKind::of(&e.event).is_some())
            .rev()
            .cloned()
            .collect();
        let indexed = t
            .history()
            .log_entries(&LogKind::ALL, t.sim().trace_len())
            .map(|(_, e)| e.clone())
            .collect();
        (expected, indexed)
    };
    let mut t = run("partial-sync");
    let (expected, indexed) = loggable(&t);
    assert!(expected.len() > 10, "the scenario logs something");
    assert!(expected.len() < t.trace().len(), "segments are not logged");
    assert_eq!(indexed, expected);
    t.seek_step(t.sim().steps() / 2);
    let (expected, indexed) = loggable(&t);
    assert_eq!(indexed, expected);
}

#[test]
fn a_removed_node_goes_away_and_its_replicas_keep_retrying() {
    use replscope::sim::scenario::RunFile;
    let s = scenario::builtin_named("many-replicas").unwrap();
    let mut t = s.build(Some(7)).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 9_000_000);
    let states = |t: &Timeline| -> Vec<(String, String, String)> {
        let snap = t.sim().snapshot(start);
        snap.links
            .iter()
            .map(|l| (l.master.clone(), l.replica.clone(), l.state.clone()))
            .collect()
    };
    assert!(states(&t).iter().all(|(_, _, st)| st == "connected"));

    // A replica goes: the master sees the reset, the node leaves the picture.
    t.act(Action::Remove { node: "r2".into() }).unwrap();
    t.run_until_us(start + 9_500_000);
    let snap = t.sim().snapshot(start);
    let names: Vec<&str> = snap.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["m", "r1", "r3"]);
    assert_eq!(
        states(&t),
        [
            ("m".into(), "r1".into(), "connected".into()),
            ("m".into(), "r3".into(), "connected".into())
        ]
    );
    let attached: Vec<&str> = snap.nodes[0]
        .replicas
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(attached, ["r1", "r3"]);
    assert!(snap.packets.iter().all(|p| p.from != "r2" && p.to != "r2"));
    assert!(t.sim().nodes()[2].removed());
    // Its name no longer resolves, and is not given to a new node.
    assert_eq!(
        t.act(Action::Exec {
            node: "r2".into(),
            command: "PING".into()
        }),
        Err("node 'r2' was removed".into())
    );
    assert!(t
        .act(Action::AddNode {
            name: "r2".into(),
            config: vec![]
        })
        .unwrap_err()
        .contains("names are not reused"));
    // The others go on replicating.
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET after-removal 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 11_000_000);
    for r in [1, 3] {
        assert_eq!(
            t.sim().node(r).master_repl_offset(),
            t.sim().node(0).master_repl_offset()
        );
        assert!(t.sim().node(r).keyspace().dbs[0].contains_key(b"after-removal".as_slice()));
    }

    // The master goes: its replicas keep trying to connect, refused each time (the host is
    // gone), and their links show it.
    let dials = |t: &Timeline| {
        events(t)
            .into_iter()
            .filter(|(n, e)| {
                n == "r1"
                    && matches!(e, Event::Log { text, .. } if text == "Connecting to MASTER m:6379")
            })
            .count()
    };
    t.act(Action::Remove { node: "m".into() }).unwrap();
    let before = dials(&t);
    t.run_until_us(start + 16_000_000);
    assert!(dials(&t) >= before + 4, "{} → {}", before, dials(&t));
    let snap = t.sim().snapshot(start);
    let names: Vec<&str> = snap.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["r1", "r3"]);
    assert!(snap
        .links
        .iter()
        .all(|l| l.master == "m" && l.master_gone && l.state == "down"));
    assert_eq!(snap.links.len(), 2);
    assert!(snap
        .nodes
        .iter()
        .all(|n| n.role == "replica" && n.link == "connect"));
    // Promoting a replica and pointing the other at it works as usual.
    t.act(Action::Exec {
        node: "r1".into(),
        command: "REPLICAOF NO ONE".into(),
    })
    .unwrap();
    t.act(Action::Exec {
        node: "r3".into(),
        command: "REPLICAOF r1 6379".into(),
    })
    .unwrap();
    t.run_until_us(start + 20_000_000);
    assert_eq!(states(&t), [("r1".into(), "r3".into(), "connected".into())]);
    assert_eq!(rules(&t).last(), Some(&PsyncRule::Continue));

    // Replayable from scenario + seed + actions (the JSON form `{"do": "remove", ...}`).
    let run = RunFile {
        format: None,
        at_ms: None,
        scenario: s.clone(),
        seed: 7,
        actions: t.inputs().to_vec(),
    };
    let json = serde_json::to_string(&run).unwrap();
    assert!(json.contains(r#""do":"remove","node":"r2""#), "{json}");
    let mut replay = RunFile::parse(&json).unwrap().timeline().unwrap();
    replay.run_until_us(start + 20_000_000);
    let hash = trace::hash(t.trace());
    assert_eq!(trace::hash(replay.trace()), hash);
    // Time travel: before the removal the node is back, after it gone again, same run.
    t.seek_time_us(start + 8_500_000);
    assert!(t.sim().snapshot(start).nodes.iter().any(|n| n.name == "r2"));
    t.seek_time_us(start + 20_000_000);
    assert!(t.sim().snapshot(start).nodes.iter().all(|n| n.name != "r2"));
    assert_eq!(trace::hash(t.trace()), hash);
}

#[test]
fn snapshots_carry_the_last_heartbeats_for_the_pulses() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    let mut seen = std::collections::BTreeSet::new();
    // Every second r1 acknowledges; every 10 s m pings (repl-ping-replica-period).
    for ms in (6_000..22_000).step_by(250) {
        t.run_until_us(start + ms * 1000);
        for h in t.sim().snapshot(start).heartbeats {
            assert!(h.age_ms < 3_000, "{h:?}");
            // The very segment recorded in the trace.
            let sent = t.trace().iter().find_map(|e| match &e.event {
                SimEvent::Send(m) if m.id == h.id => Some(m.clone()),
                _ => None,
            });
            let sent = sent.expect("a heartbeat's segment is in the trace");
            assert_eq!(
                (&*sent.from, &*sent.to, sent.kind),
                (h.from.as_str(), h.to.as_str(), h.kind)
            );
            seen.insert((h.from, h.to, format!("{:?}", h.kind), h.id));
        }
    }
    let acks = seen
        .iter()
        .filter(|(f, _, k, _)| f == "r1" && k == "Ack")
        .count();
    let pings = seen
        .iter()
        .filter(|(f, _, k, _)| f == "m" && k == "Ping")
        .count();
    assert!(acks >= 10, "{seen:?}");
    assert!(pings >= 1, "{seen:?}");
}

#[test]
fn a_scenario_can_remove_nodes() {
    let json = r#"{"name":"rm","title":"Remove","nodes":[{"name":"m"},{"name":"r1","replicaof":"m"},
        {"name":"r2","replicaof":"m"}],"steps":[{"at_ms":7000,"do":"remove","node":"r2"},
        {"at_ms":7500,"do":"exec","node":"m","command":"SET k v"}],"until_ms":9000}"#;
    let s = Scenario::parse(json).unwrap();
    let run = |s: &Scenario| {
        let mut t = s.build(None).unwrap();
        let start = t.sim().now_us();
        t.run_until_us(start + s.until_ms * 1000);
        t
    };
    let t = run(&s);
    let snap = t.sim().snapshot(t.sim().now_us());
    let names: Vec<&str> = snap.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["m", "r1"]);
    assert!(converged(&t));
    assert_eq!(trace::hash(run(&s).trace()), trace::hash(t.trace()));
}

/// The event log's filter: kinds, one node, a piece of text; the latest lines, oldest first.
#[test]
fn the_event_log_filters_by_kind_node_and_text() {
    use replscope::sim::log::LogFilter;
    let t = run("partial-sync");
    let start = 0;
    let lines = |f: &LogFilter, start: u64, limit: usize| {
        let v = t.log_lines(f, start, limit, None);
        (v.lines, v.truncated)
    };
    let (default, _) = lines(&LogFilter::default(), start, 1000);
    assert!(default.iter().any(|l| l.kind == LogKind::Action));
    assert!(default.iter().all(|l| LogFilter::default().shows(l.kind)));
    assert!(
        default.windows(2).all(|w| w[0].ms <= w[1].ms),
        "oldest first"
    );

    let mut commands = LogFilter {
        kinds: vec![LogKind::Command],
        node: Some("r1".into()),
        text: String::new(),
    };
    let (r1, _) = lines(&commands, start, 1000);
    assert!(
        !r1.is_empty()
            && r1
                .iter()
                .all(|l| l.node == "r1" && l.kind == LogKind::Command)
    );
    assert!(
        r1.iter().any(|l| l.text.ends_with("(from the master)")),
        "{r1:?}"
    );
    let (last_two, _) = lines(&commands, start, 2);
    assert_eq!(last_two, r1[r1.len() - 2..]);

    commands.toggle(LogKind::Command);
    commands.toggle(LogKind::Replication);
    commands.node = None;
    commands.text = "+continue".into();
    let (decisions, truncated) = lines(&commands, start, 1000);
    assert!(!truncated);
    assert!(
        decisions
            .iter()
            .any(|l| l.node == "m" && l.text.starts_with("PSYNC ")),
        "{decisions:?}"
    );
    assert!(decisions
        .iter()
        .all(|l| l.text.to_lowercase().contains("+continue")));
}

/// The PSYNC story: after +CONTINUE, the backlog bytes sent (as many as the master's log says);
/// after a full resync, +FULLRESYNC with the BGSAVE, the RDB, the buffered writes and the
/// replica going online, in that order.
#[test]
fn the_snapshot_tells_what_followed_the_last_psync() {
    let t = run("partial-sync");
    let snap = t.sim().snapshot(0);
    let last = snap.last_psync().unwrap();
    let decision = &last.decision;
    assert!(decision.is_continue());
    let i = &decision.inputs;
    let bytes = i.master_repl_offset + 1 - i.requested_offset;
    assert_eq!(
        last.steps,
        vec![
            format!(
                "sent {bytes} bytes of backlog: offsets {} to {}",
                i.requested_offset, i.master_repl_offset
            ),
            "replica online: the stream flows".to_string()
        ]
    );
    let logged = t.trace().iter().any(|e| {
        matches!(e.engine(), Some(Event::Log { text, .. })
            if text.contains(&format!("Sending {bytes} bytes of backlog starting from offset {}", i.requested_offset)))
    });
    assert!(logged, "the master logs the same byte count");
    assert_eq!(last.fullresync, None);

    let t = run("first-full-sync");
    let snap = t.sim().snapshot(0);
    let last = snap.last_psync().unwrap();
    assert!(!last.decision.is_continue());
    let steps = &last.steps;
    let at = |prefix: &str| {
        steps
            .iter()
            .position(|s| s.starts_with(prefix))
            .unwrap_or_else(|| panic!("no step {prefix:?} in {steps:?}"))
    };
    assert!(at("+FULLRESYNC ") < at("RDB of "));
    assert!(at("RDB of ") < at("replica online"));
    // The reply line is the one the replica received, new replid (the master created its
    // backlog first) and all.
    let received = t
        .trace()
        .iter()
        .find_map(|e| match e.engine() {
            Some(Event::Log { text, .. }) => text.strip_prefix("Full resync from master: "),
            _ => None,
        })
        .expect("the replica logs the +FULLRESYNC it got");
    let sent = last
        .fullresync
        .clone()
        .map(|(replid, offset)| format!("{replid}:{offset}"));
    assert_eq!(sent.as_deref(), Some(received));
}

/// A paused process that resumes handles what waited in its sockets before its timers, as
/// Redis's event loop does (file events, then time events): a replica paused longer than
/// repl-timeout while its master kept pinging does not time the master out on resume.
#[test]
fn a_resumed_replica_reads_its_socket_before_its_timers_run() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(Some(5)).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 10_000_000);
    assert!(converged(&t));
    t.act(Action::Exec {
        node: "r1".into(),
        command: "CONFIG SET repl-timeout 5".into(),
    })
    .unwrap();
    t.act(Action::Exec {
        node: "m".into(),
        command: "CONFIG SET repl-ping-replica-period 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 11_000_000);
    t.act(Action::Pause { node: "r1".into() }).unwrap();
    t.run_until_us(start + 19_000_000);
    let before = t.trace().len();
    t.act(Action::Resume { node: "r1".into() }).unwrap();
    t.run_until_us(start + 21_000_000);
    let timeouts: Vec<_> = t.trace()[before..]
        .iter()
        .filter(|e| &*e.node == "r1" && matches!(e.engine(), Some(Event::Timeout { .. })))
        .collect();
    assert!(timeouts.is_empty(), "{timeouts:?}");
}

/// A replica whose master's host is gone logs what Redis 7.0 logs when the connect is
/// refused, once a second: "Connecting to MASTER", "MASTER <-> REPLICA sync started",
/// "Error condition on socket for SYNC: Connection refused" (as checked against
/// redis-server 7.0.15 with `--replicaof` a closed port).
#[test]
fn a_refused_connect_is_logged_as_redis_logs_it() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(Some(2)).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 8_000_000);
    t.act(Action::Remove { node: "m".into() }).unwrap();
    let from = t.trace().len();
    t.run_until_us(start + 11_500_000);
    let lines: Vec<String> = t.trace()[from..]
        .iter()
        .filter(|e| &*e.node == "r1")
        .filter_map(|e| match e.engine() {
            Some(Event::Log { text, .. }) => Some(text.clone()),
            _ => None,
        })
        .collect();
    let cycle = [
        "Connecting to MASTER m:6379",
        "MASTER <-> REPLICA sync started",
        "Error condition on socket for SYNC: Connection refused",
    ];
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == cycle[0])
        .map(|(i, _)| i)
        .collect();
    assert!(starts.len() >= 2, "{lines:?}");
    for i in starts {
        assert_eq!(lines[i..i + 3], cycle, "{lines:?}");
    }
}

/// The event log says once, right after a scenario's last scripted step, that the script is
/// done; time travel (which replays the steps) says it again exactly once.
#[test]
fn the_log_says_when_the_script_is_done() {
    use replscope::sim::log::LogFilter;
    let done = |t: &Timeline| -> Vec<(u64, String)> {
        t.log_lines(&LogFilter::default(), 0, 10_000, None)
            .lines
            .into_iter()
            .filter(|l| l.text == "scenario script done: the rest is yours")
            .map(|l| (l.ms, l.node))
            .collect()
    };
    for s in scenario::builtin() {
        let mut t = s.build(None).unwrap();
        let start = t.sim().now_us();
        let last_ms = s.steps.iter().map(|st| st.at_ms).max().unwrap();
        t.run_until_us(start + last_ms * 1000);
        // The entry after the last step's own log line.
        let actions: Vec<&TraceEntry> = t
            .trace()
            .iter()
            .filter(|e| LogKind::of(&e.event) == Some(LogKind::Action))
            .collect();
        assert_eq!(actions.len(), s.steps.len() + 1, "{}", s.name);
        let last = actions[actions.len() - 1];
        assert!(matches!(last.event, SimEvent::ScriptDone), "{}", s.name);
        assert_eq!(last.time_us, start + last_ms * 1000, "{}", s.name);
        t.run_until_us(start + s.until_ms * 1000);
        let once = done(&t);
        assert_eq!(once.len(), 1, "{}: {once:?}", s.name);
        // Back before the last step and forward again: still once, at the same moment.
        t.seek_time_us(start + last_ms * 1000 - 1);
        assert!(done(&t).is_empty(), "{}", s.name);
        t.seek_time_us(start + s.until_ms * 1000);
        assert_eq!(done(&t), once, "{}", s.name);
    }
}

/// A scripted step that names a node no longer there is logged as skipped, with why, and
/// changes nothing; the script still ends.
#[test]
fn a_step_on_a_removed_node_is_logged_as_skipped() {
    use replscope::sim::log::LogFilter;
    let json = r#"{"name":"rm","title":"Remove","nodes":[{"name":"m"},{"name":"r1","replicaof":"m"},
        {"name":"r2","replicaof":"m"}],"steps":[{"at_ms":7000,"do":"remove","node":"r2"},
        {"at_ms":7500,"do":"exec","node":"r2","command":"SET k v"},
        {"at_ms":8000,"do":"cut","a":"m","b":"r2"}],"until_ms":9000}"#;
    let s = Scenario::parse(json).unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + s.until_ms * 1000);
    let lines: Vec<(u64, String)> = t
        .log_lines(&LogFilter::default(), start, 1000, None)
        .lines
        .into_iter()
        .filter(|l| l.kind == LogKind::Action)
        .map(|l| (l.ms, l.text))
        .collect();
    assert_eq!(
        lines,
        [
            (7000, "remove node r2".to_string()),
            (
                7500,
                "r2> SET k v — skipped: node 'r2' was removed".to_string()
            ),
            (
                8000,
                "cut link m–r2 — skipped: node 'r2' was removed".to_string()
            ),
            (8000, "scenario script done: the rest is yours".to_string()),
        ]
    );
    assert!(!t.trace().iter().any(|e| matches!(
        e.engine(),
        Some(Event::Command { argv, .. }) if argv.name() == "SET"
    )));
    // A user's action on it is skipped the same way.
    assert_eq!(
        t.act(Action::Pause { node: "r2".into() }),
        Err("node 'r2' was removed".into())
    );
    assert!(matches!(
        &t.trace().last().unwrap().event,
        SimEvent::Skipped { reason, .. } if reason == "node 'r2' was removed"
    ));
}

/// SHUTDOWN typed in a replica's console saves its RDB and stops its process, as Redis does;
/// restarted from that RDB it continues partially.
#[test]
fn shutdown_in_a_console_stops_the_node_and_its_rdb_lets_it_continue() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(None).unwrap();
    let start = t.sim().now_us();
    t.run_until_us(start + 9_500_000);
    t.act(Action::Exec {
        node: "r1".into(),
        command: "SHUTDOWN SAVE".into(),
    })
    .unwrap();
    t.run_until_us(start + 10_000_000);
    let r1 = &t.sim().nodes()[1];
    assert_eq!(r1.state, replscope::sim::NodeState::Down);
    assert!(r1.disk.is_some(), "the final snapshot is on its disk");
    let logs: Vec<String> = events(&t)
        .into_iter()
        .filter_map(|(n, e)| match e {
            Event::Log { text, .. } if n == "r1" => Some(text),
            _ => None,
        })
        .collect();
    for line in [
        "User requested shutdown...",
        "Saving the final RDB snapshot before exiting.",
        "DB saved on disk",
        "Redis is now ready to exit, bye bye...",
    ] {
        assert!(logs.iter().any(|l| l == line), "no '{line}' in {logs:?}");
    }
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET while-down 1".into(),
    })
    .unwrap();
    t.run_until_us(start + 11_000_000);
    t.act(Action::Restart {
        node: "r1".into(),
        rdb: true,
    })
    .unwrap();
    t.run_until_us(start + 14_000_000);
    assert_eq!(rules(&t).last(), Some(&PsyncRule::Continue));
    assert!(converged(&t));
}
