//! Seeded fault testing, in the spirit of TigerBeetle's VOPR: a seed builds a random
//! topology, configuration, workload and fault schedule; after a final heal and a quiet
//! period the replication invariants must hold. A failing seed is a one-line repro.
//!
//! Invariants checked at the end:
//! - every node is up and every replica's link to its master is connected;
//! - every node of the tree has the top master's replid and `master_repl_offset`;
//! - every replica's dataset equals the top master's;
//! - over the window both hold, each replica's backlog bytes equal its master's (so every
//!   partial resync delivered exactly the missing bytes, with nothing lost or repeated).

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{Action, NodeState, Sim, PORT};
use crate::engine::event::Event;

/// What a successful run looked like.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub nodes: usize,
    pub faults: usize,
    pub full_syncs: usize,
    pub partial_syncs: usize,
    pub final_offset: i64,
    pub trace_hash: u64,
}

fn pick(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

/// Runs seed `seed`; `Err` describes the violated invariant.
pub fn run(seed: u64) -> Result<Report, String> {
    run_inner(seed).map_err(|e| format!("seed {seed}: {e}"))
}

fn run_inner(seed: u64) -> Result<Report, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let replicas = 1 + pick(&mut rng, 4) as usize;
    let mut sim = Sim::new(seed, 1 + pick(&mut rng, 20));
    let names: Vec<String> = (0..=replicas)
        .map(|i| if i == 0 { "m".into() } else { format!("r{i}") })
        .collect();
    for name in &names {
        let mut c = crate::sim::sim_config();
        c.save.clear();
        let backlog = ["16kb", "64kb", "1mb"][pick(&mut rng, 3) as usize];
        c.set("repl-backlog-size", backlog)
            .map_err(|e| e.reply_text())?;
        let model = ["ring", "blocks"][pick(&mut rng, 2) as usize];
        c.set("repl-backlog-model", model)
            .map_err(|e| e.reply_text())?;
        c.repl_diskless_sync = pick(&mut rng, 2) == 0;
        c.repl_diskless_sync_delay = pick(&mut rng, 3);
        c.repl_timeout = 5 + pick(&mut rng, 10);
        c.repl_ping_replica_period = 1 + pick(&mut rng, 5);
        sim.add_node(name, c);
    }
    // A random tree: each replica follows an earlier node.
    let mut master_of = vec![None; names.len()];
    for (i, slot) in master_of.iter_mut().enumerate().skip(1) {
        let m = pick(&mut rng, i as u64) as usize;
        *slot = Some(m);
        if pick(&mut rng, 2) == 0 {
            sim.configure_replicaof(i, &names[m]);
        } else {
            sim.act(&Action::Exec {
                node: names[i].clone(),
                command: format!("REPLICAOF {} {PORT}", names[m]),
            })?;
        }
    }
    let rate = 20 + pick(&mut rng, 200);
    sim.act(&Action::Workload {
        node: "m".into(),
        rate,
        keys: 50 + pick(&mut rng, 500),
        value_size: 1 + pick(&mut rng, 200) as usize,
    })?;

    // The fault schedule: (time ms, action), healed/undone before the quiet period.
    let start = sim.now_ms();
    let fault_count = pick(&mut rng, 7) as usize;
    let mut schedule: Vec<(u64, Action)> = Vec::new();
    for _ in 0..fault_count {
        let at = 1_000 + pick(&mut rng, 25_000);
        let len = 200 + pick(&mut rng, 12_000);
        let r = 1 + pick(&mut rng, replicas as u64) as usize;
        let other = master_of[r].unwrap_or(0);
        let (a, b) = (names[r].clone(), names[other].clone());
        match pick(&mut rng, 6) {
            0 => {
                schedule.push((
                    at,
                    Action::Cut {
                        a: a.clone(),
                        b: b.clone(),
                    },
                ));
                schedule.push((at + len, Action::Heal { a, b }));
            }
            1 => {
                schedule.push((
                    at,
                    Action::Partition {
                        from: a.clone(),
                        to: b.clone(),
                    },
                ));
                if pick(&mut rng, 2) == 0 {
                    schedule.push((
                        at,
                        Action::Partition {
                            from: b.clone(),
                            to: a.clone(),
                        },
                    ));
                }
                schedule.push((at + len, Action::Heal { a, b }));
            }
            2 => {
                let save = pick(&mut rng, 2) == 0;
                let rdb = pick(&mut rng, 2) == 0;
                schedule.push((
                    at,
                    Action::Kill {
                        node: a.clone(),
                        save,
                    },
                ));
                schedule.push((at + len, Action::Restart { node: a, rdb }));
            }
            3 => {
                schedule.push((at, Action::Pause { node: a.clone() }));
                schedule.push((at + len, Action::Resume { node: a }));
            }
            4 => {
                let bw = [0, 200_000, 2_000_000][pick(&mut rng, 3) as usize];
                schedule.push((
                    at,
                    Action::Slow {
                        a: a.clone(),
                        b: b.clone(),
                        latency_ms: 1 + pick(&mut rng, 300),
                        jitter_ms: pick(&mut rng, 20),
                        bandwidth_bps: bw,
                        both: true,
                    },
                ));
                schedule.push((
                    at + len,
                    Action::Slow {
                        a,
                        b,
                        latency_ms: 1,
                        jitter_ms: 0,
                        bandwidth_bps: 0,
                        both: true,
                    },
                ));
            }
            _ => {
                // A replica is re-pointed at its own master with REPLICAOF (a no-op) or
                // detached and re-attached (two syncs).
                schedule.push((
                    at,
                    Action::Exec {
                        node: a.clone(),
                        command: "REPLICAOF NO ONE".into(),
                    },
                ));
                schedule.push((
                    at + len,
                    Action::Exec {
                        node: a,
                        command: format!("REPLICAOF {b} {PORT}"),
                    },
                ));
            }
        }
    }
    schedule.sort_by_key(|(t, _)| *t);
    for (at, action) in &schedule {
        sim.run_until(start + at);
        // Overlapping faults can make an action meaningless (restarting a node that a second
        // schedule entry already restarted); like a user's click, it is then just refused.
        let _ = sim.act(action);
    }
    let fault_end = start + schedule.last().map_or(0, |(t, _)| *t).max(5_000);
    sim.run_until(fault_end);
    sim.act(&Action::Workload {
        node: "m".into(),
        rate: 0,
        keys: 1,
        value_size: 1,
    })?;
    // Liveness: everything healed and running; then a quiet period longer than every timeout
    // and sync delay.
    for (i, n) in names.iter().enumerate() {
        for m in names.iter().skip(i + 1) {
            sim.act(&Action::Heal {
                a: n.clone(),
                b: m.clone(),
            })?;
        }
    }
    for i in 0..names.len() {
        match sim.nodes()[i].state {
            NodeState::Down => sim.restart(i, true)?,
            NodeState::Paused => sim.resume(i),
            NodeState::Up => {}
        }
    }
    // Faults may have overlapped (a REPLICAOF sent to a node that was down is lost, a node
    // restarted from an old config): the operator puts the intended topology back.
    sim.run_for(1_000);
    for (i, m) in master_of.iter().enumerate() {
        let Some(m) = m else { continue };
        let follows = sim.node(i).master_addr().map(|(h, _)| h.to_string());
        if follows.as_deref() != Some(names[*m].as_str()) {
            sim.act(&Action::Exec {
                node: names[i].clone(),
                command: format!("REPLICAOF {} {PORT}", names[*m]),
            })?;
        }
    }
    sim.run_for(60_000);
    check(&mut sim, &names, &master_of)?;
    // Nothing here corrupts bytes: every RDB a master sends is valid, and a replica that
    // cannot load one has a bug (once, payloads cut inside their checksum).
    let failed_load = sim.trace().iter().find_map(|t| match t.engine() {
        Some(Event::Log { text, .. })
            if text.starts_with("Failed trying to load the MASTER synchronization DB") =>
        {
            Some(format!("{}: {text}", t.node))
        }
        _ => None,
    });
    if let Some(line) = failed_load {
        return Err(format!("a valid RDB failed to load: {line}"));
    }

    let count = |pred: fn(&Event) -> bool| {
        sim.trace()
            .iter()
            .filter_map(|t| t.engine())
            .filter(|e| pred(e))
            .count()
    };
    Ok(Report {
        seed,
        nodes: names.len(),
        faults: fault_count,
        full_syncs: count(|e| matches!(e, Event::BgsaveStarted { .. })),
        partial_syncs: count(
            |e| matches!(e, Event::PsyncDecided { decision, .. } if decision.is_continue()),
        ),
        final_offset: sim.node(0).master_repl_offset(),
        trace_hash: super::trace::hash(sim.trace()),
    })
}

/// The invariants; retried over a few seconds so that a PING in flight can land.
fn check(sim: &mut Sim, names: &[String], master_of: &[Option<usize>]) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..50 {
        match check_once(sim, names, master_of) {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        sim.run_for(100);
    }
    Err(last)
}

fn check_once(sim: &Sim, names: &[String], master_of: &[Option<usize>]) -> Result<(), String> {
    let top = sim.node(0);
    for (i, name) in names.iter().enumerate() {
        if sim.nodes()[i].state != NodeState::Up {
            return Err(format!("{name} is not running"));
        }
        let node = sim.node(i);
        let Some(m) = master_of[i] else { continue };
        let expected_master = names[m].as_str();
        match node.master_addr() {
            Some((host, _)) if host == expected_master => {}
            other => {
                return Err(format!(
                    "{name} follows {other:?}, expected {expected_master}"
                ))
            }
        }
        if !node
            .info(Some("replication"))
            .contains("master_link_status:up")
        {
            return Err(format!("{name}'s link to {expected_master} is down"));
        }
        if node.replid() != top.replid() {
            return Err(format!(
                "{name} replid {} != m {}",
                node.replid(),
                top.replid()
            ));
        }
        if node.master_repl_offset() != top.master_repl_offset() {
            return Err(format!(
                "{name} offset {} != m {}",
                node.master_repl_offset(),
                top.master_repl_offset()
            ));
        }
        if node.keyspace() != top.keyspace() {
            return Err(format!("{name}'s data differs from m's"));
        }
        // Stream identity over the common backlog window.
        let (Some(mine), Some(theirs)) = (node.backlog(), sim.node(m).backlog()) else {
            return Err(format!("{name} or its master has no backlog"));
        };
        let from = mine.first_byte_offset().max(theirs.first_byte_offset());
        if let (Some(a), Some(b)) = (mine.bytes_from(from), theirs.bytes_from(from)) {
            if a != b {
                return Err(format!(
                    "{name}'s backlog differs from its master's from offset {from}"
                ));
            }
        }
    }
    Ok(())
}
