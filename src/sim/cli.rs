//! `replscope sim`: runs a scenario (or a random fault schedule) headless and prints the
//! trace as JSON lines, then a one-line JSON summary.
//!
//! ```text
//! replscope sim --list
//! replscope sim --scenario partial-sync [--seed N] [--until MS] [--quiet]
//! replscope sim --scenario path/to/file.json
//! replscope sim --random --seed N
//! replscope sim --replay run.json       (a run exported by the browser or another tool)
//! ```

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use super::limits;
use super::scenario::{self, RunFile, Scenario};
use super::timeline::Timeline;
use super::{chaos, trace, SimEvent};
use crate::engine::event::Event;

/// Steps run between two looks at the trace: their entries fit in the history's window.
const SLICE_STEPS: u64 = 20_000;

/// A PSYNC outcome, for the summary.
#[derive(Serialize)]
struct Decision {
    time_ms: u64,
    master: String,
    rule: String,
    explanation: String,
}

#[derive(Serialize)]
struct NodeSummary {
    name: String,
    role: String,
    replid: String,
    master_repl_offset: i64,
    keys: usize,
}

#[derive(Serialize)]
struct Summary {
    scenario: String,
    seed: u64,
    until_ms: u64,
    psync: Vec<Decision>,
    nodes: Vec<NodeSummary>,
    /// Nodes removed during the run (`{"do": "remove"}`), not in `nodes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    removed: Vec<String>,
    /// Every connected replica has its master's offset and data.
    converged: bool,
    trace_hash: String,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: replscope sim --list\n       replscope sim --scenario NAME|FILE [--seed N] [--until MS] [--quiet]\n       replscope sim --replay RUN.json [--until MS] [--quiet]\n       replscope sim --random --seed N"
    );
    ExitCode::from(1)
}

/// Entry point (arguments after `sim`).
pub fn main(args: &[String]) -> ExitCode {
    let mut scenario_arg = None;
    let mut replay_arg: Option<String> = None;
    let mut seed = None;
    let mut until = None;
    let mut random = false;
    let mut quiet = false;
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1);
        match (args[i].as_str(), value) {
            ("--list", _) => {
                for s in scenario::builtin() {
                    println!("{:24} {}", s.name, s.title);
                }
                return ExitCode::SUCCESS;
            }
            ("--scenario", Some(v)) => scenario_arg = Some(v.clone()),
            ("--replay", Some(v)) => replay_arg = Some(v.clone()),
            ("--seed", Some(v)) => match v.parse() {
                Ok(n) => seed = Some(n),
                Err(_) => return usage(),
            },
            ("--until", Some(v)) => match v.parse() {
                Ok(n) => match limits::check_time_ms("--until", n) {
                    Ok(()) => until = Some(n),
                    Err(e) => {
                        eprintln!("{e}");
                        return ExitCode::from(1);
                    }
                },
                Err(_) => return usage(),
            },
            ("--random", _) => {
                random = true;
                i += 1;
                continue;
            }
            ("--quiet", _) => {
                quiet = true;
                i += 1;
                continue;
            }
            _ => return usage(),
        }
        i += 2;
    }
    if random {
        let seed = seed.unwrap_or(0);
        return match chaos::run(seed) {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("FAILED {e}\nrepro: replscope sim --random --seed {seed}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(path) = replay_arg {
        let replayed = read_text(&path).and_then(|json| {
            let replay = |json: &str| {
                let r = RunFile::parse(json)?;
                report(&r.scenario, r.timeline()?, until, quiet)
            };
            replay(&json).map_err(|e| format!("{path}: {e}"))
        });
        return match replayed {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        };
    }
    let Some(arg) = scenario_arg else {
        return usage();
    };
    let scenario = match scenario::builtin_named(&arg) {
        Some(s) => s,
        None if !std::path::Path::new(&arg).exists() => {
            eprintln!("no built-in scenario or file named '{arg}' (try --list)");
            return ExitCode::from(1);
        }
        None => match read_text(&arg)
            .and_then(|json| Scenario::parse(&json).map_err(|e| format!("{arg}: {e}")))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
        },
    };
    match run(&scenario, seed, until, quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// The text of the file at `path`, or why not: a file that is not UTF-8 is refused as such
/// (scenario, lesson and run files are JSON text), not passed off as missing.
pub(super) fn read_text(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{path} is not UTF-8 (invalid byte at offset {}): scenario, lesson and run files are JSON text",
            e.utf8_error().valid_up_to()
        )
    })
}

fn run(
    scenario: &Scenario,
    seed: Option<u64>,
    until: Option<u64>,
    quiet: bool,
) -> Result<(), String> {
    report(scenario, scenario.build(seed)?, until, quiet)
}

/// Runs `timeline` to the end of the story and prints the trace and the summary.
fn report(
    scenario: &Scenario,
    mut timeline: Timeline,
    until: Option<u64>,
    quiet: bool,
) -> Result<(), String> {
    let start_us = timeline.sim().now_us();
    let until_ms = until.unwrap_or(scenario.until_ms);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // The trace is printed, hashed and searched as the run goes, a slice of steps at a time
    // (the timeline keeps a bounded window of it), so a run of hours stays in bounded memory.
    let mut hasher = trace::TraceHasher::default();
    let mut psync = Vec::new();
    let mut next = timeline.history().window_start();
    loop {
        let done = timeline.run_until_us_bounded(start_us + until_ms * 1000, SLICE_STEPS);
        if timeline.history().window_start() > next {
            return Err("internal error: trace entries left the history unread".into());
        }
        for entry in timeline.trace_since(next) {
            hasher.add(entry);
            if !quiet {
                serde_json::to_writer(&mut out, entry).map_err(|e| e.to_string())?;
                writeln!(out).map_err(|e| e.to_string())?;
            }
            if let SimEvent::Engine(Event::PsyncDecided { decision, .. }) = &entry.event {
                psync.push(Decision {
                    time_ms: (entry.time_us - start_us) / 1000,
                    master: entry.node.to_string(),
                    rule: format!("{:?}", decision.rule),
                    explanation: decision.explanation(),
                });
            }
        }
        if let Some(why) = timeline.take_replay_stopped() {
            return Err(why.to_string());
        }
        next = timeline.sim().trace_len();
        if done {
            break;
        }
    }
    let sim = timeline.sim();
    let mut converged = true;
    let nodes: Vec<NodeSummary> = sim
        .nodes()
        .iter()
        .filter(|n| !n.removed())
        .map(|n| {
            let node = &n.node;
            let role = match node.master_addr() {
                Some((h, _)) => {
                    if let Some(m) = sim.index_of(h) {
                        let master = sim.node(m);
                        converged &= node.master_repl_offset() == master.master_repl_offset()
                            && node.keyspace() == master.keyspace();
                    }
                    if sim.was_removed(h) {
                        format!("replica of {h} (removed)")
                    } else {
                        format!("replica of {h}")
                    }
                }
                None => "master".to_string(),
            };
            NodeSummary {
                name: n.name.to_string(),
                role,
                replid: node.replid().to_string(),
                master_repl_offset: node.master_repl_offset(),
                keys: node.keyspace().key_count(),
            }
        })
        .collect();
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: sim.seed(),
        until_ms,
        psync,
        nodes,
        removed: sim
            .nodes()
            .iter()
            .filter(|n| n.removed())
            .map(|n| n.name.to_string())
            .collect(),
        converged,
        trace_hash: format!("{:016x}", hasher.finish()),
    };
    let line = serde_json::to_string(&summary).map_err(|e| e.to_string())?;
    writeln!(out, "{line}").map_err(|e| e.to_string())
}
