//! Scenario and run files the simulator refuses, and how: every number within its range
//! (`src/sim/limits.rs`), steps checked where the run meets them, a replay that cannot
//! follow its recording says so. `replscope sim` must answer each bad file at once, with a
//! clear message and exit 1 (these files used to abort it, or make it run until memory ran
//! out); the page loads files with the same code, so the library-level tests here are the
//! page's behaviour too (`window.replscope.act` is `Timeline::act`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use replscope::sim::scenario::{self, RunFile, Scenario};
use replscope::sim::timeline::{Origin, Recorded};
use replscope::sim::{Action, SimEvent, EPOCH_MS};
use serde_json::json;

/// A refusal takes milliseconds; a file that is not refused runs far longer than this.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `replscope sim ARGS` (trace discarded), failing the test if it has not exited by
/// [`DEADLINE`]: (exit code, stderr).
fn sim(args: &[&str]) -> (Option<i32>, String) {
    sim_within(args, DEADLINE)
}

/// [`sim`] with another deadline.
fn sim_within(args: &[&str], deadline: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_replscope"))
        .arg("sim")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read as it comes: a long message must not fill the pipe and stall the process.
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), reader.join().unwrap());
        }
        if started.elapsed() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("replscope sim {args:?} did not answer within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A file in a test's own directory, which goes with it.
struct TestFile {
    dir: PathBuf,
    path: PathBuf,
}

impl std::ops::Deref for TestFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A file `name` with `contents` in this test's own directory.
fn file(test: &str, name: &str, contents: &[u8]) -> TestFile {
    let dir = std::env::temp_dir().join(format!("replscope-files-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    TestFile { dir, path }
}

/// A scenario of `m` and its replica `r1` with `steps`, as JSON.
fn scenario_json(steps: serde_json::Value, until_ms: u64) -> String {
    json!({
        "name": "t", "title": "t",
        "nodes": [{"name": "m"}, {"name": "r1", "replicaof": "m"}],
        "steps": steps, "until_ms": until_ms,
    })
    .to_string()
}

/// A lesson on `m` and `r1` whose goal holds `held_ms`, with `solution`, as JSON.
fn lesson_json(solution: serde_json::Value, held_ms: u64) -> String {
    json!({
        "name": "l", "title": "l", "nodes": [{"name": "m"}, {"name": "r1", "replicaof": "m"}],
        "lesson": {"sequence": "primer", "order": 1, "challenge": "c",
            "goal": [{"text": "up", "state": "up", "node": "r1", "held_ms": held_ms}],
            "solution": solution}
    })
    .to_string()
}

/// `replscope sim --scenario` on a scenario with `steps`: (exit code, stderr).
fn sim_steps(test: &str, steps: serde_json::Value) -> (Option<i32>, String) {
    let path = file(test, "s.json", scenario_json(steps, 3000).as_bytes());
    sim(&["--scenario", path.to_str().unwrap(), "--quiet"])
}

/// Item 4 of issue #14: a workload's value size and rate, and a scenario's end, used to
/// abort the CLI (or run it out of memory); each is refused at once, saying the range.
#[test]
fn sizes_beyond_their_ranges_are_refused_at_once() {
    let t = "sizes";
    let workload = |rate: u64, value_size: u64| json!([{"at_ms": 0, "do": "workload", "node": "m", "rate": rate, "value_size": value_size}]);
    let (code, err) = sim_steps(t, workload(1, 100_000_000_000));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("step 1 (at 0 ms: workload on m: 1 writes/s)")
            && err.contains("the most is 16777216 bytes/s"),
        "{err}"
    );
    // What froze the page for 20 s.
    let (code, err) = sim_steps(t, workload(1, 2_000_000_000));
    assert_eq!(code, Some(1), "{err}");
    let (code, err) = sim_steps(t, workload(1_000_000, 16));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("rate is 1000000; it must be between 0 and 10000 writes/s"),
        "{err}"
    );
    let path = file(
        t,
        "until.json",
        scenario_json(json!([]), 1_000_000_000_000).as_bytes(),
    );
    let (code, err) = sim(&["--scenario", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("until_ms is 1000000000000; it must be between 0 and 31622400000 ms"),
        "{err}"
    );
    let (code, err) = sim(&["--scenario", "one-replica", "--until", "1000000000000"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--until is 1000000000000"), "{err}");
    // A console line the page would refuse to type is refused in a file too (it used to be
    // dropped when its moment came, silently).
    let line = format!("SET big {}", "x".repeat(70_000));
    let (code, err) = sim_steps(
        t,
        json!([{"at_ms": 0, "do": "exec", "node": "m", "command": line}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("a console line holds at most 64 KB") && err.len() < 400,
        "{err}"
    );
    // A built-in one still runs.
    assert_eq!(sim(&["--scenario", "big-full-sync", "--quiet"]).0, Some(0));
}

/// Item 4, the other side: what the ranges accept runs. A workload at its byte budget in
/// values of 4 MB writes more trace between two looks of the CLI than the history keeps
/// ("internal error: trace entries left the history unread"); the CLI now looks as often
/// as the bytes require.
#[test]
fn a_workload_at_its_byte_budget_runs_to_the_end_in_the_cli() {
    let path = file(
        "budget",
        "s.json",
        scenario_json(
            json!([{"at_ms": 0, "do": "workload", "node": "m", "rate": 4, "keys": 4,
                    "value_size": 4_000_000}]),
            2600,
        )
        .as_bytes(),
    );
    // 44 MB of random values: a while in a debug build on a busy machine.
    let (code, err) = sim_within(
        &["--scenario", path.to_str().unwrap(), "--quiet"],
        Duration::from_secs(600),
    );
    assert_eq!((code, err.as_str()), (Some(0), ""));
}

/// Item 4 too: `--replay` of a run whose recorded action has such a size.
#[test]
fn a_replayed_run_with_an_action_out_of_range_is_refused() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let run = |action: serde_json::Value, time_us: u64| {
        json!({"scenario": s, "seed": 1, "actions": [
            {"step": 0, "time_us": time_us, "origin": "User", "action": action}]})
        .to_string()
    };
    let start = EPOCH_MS * 1000;
    let huge = json!({"do": "workload", "node": "m", "rate": 1, "value_size": 100_000_000_000u64});
    let path = file("replay", "run.json", run(huge.clone(), start).as_bytes());
    let (code, err) = sim(&["--replay", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("action 1 of the run (workload on m: 1 writes/s)")
            && err.contains("the most is 16777216 bytes/s"),
        "{err}"
    );
    // The page's import takes the same road.
    let e = RunFile::parse(&run(huge, start))
        .unwrap()
        .timeline()
        .err()
        .unwrap();
    assert!(e.contains("the most is 16777216 bytes/s"), "{e}");
    // A recorded time before the start, or past the longest run, is not a time of the run.
    let ping = json!({"do": "exec", "node": "m", "command": "PING"});
    for time_us in [0, start + 31_622_400_001 * 1000] {
        let e = RunFile::parse(&run(ping.clone(), time_us))
            .unwrap()
            .timeline()
            .err()
            .unwrap();
        assert!(e.contains("is not within the run"), "{e}");
    }
}

/// Item 8: `at_ms` and `until_ms` × 1000 used to wrap (an action at 18446744073709552 ms ran
/// at 0.384 ms); the range refuses them, in a lesson's solution and checks too.
#[test]
fn step_times_that_would_overflow_are_refused() {
    let (code, err) = sim_steps(
        "wrap",
        json!([{"at_ms": 18_446_744_073_709_552u64, "do": "kill", "node": "r1"}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("at_ms is 18446744073709552; it must be between 0 and 31622400000 ms"),
        "{err}"
    );
    let lesson = |solution_ms: u64, held_ms: u64| {
        lesson_json(
            json!([{"at_ms": solution_ms, "do": "kill", "node": "r1"}]),
            held_ms,
        )
    };
    assert!(Scenario::parse(&lesson(1000, 1000)).is_ok());
    let e = Scenario::parse(&lesson(18_446_744_073_709_552, 1000)).unwrap_err();
    assert!(e.starts_with("lesson solution (kill r1): at_ms is"), "{e}");
    let e = Scenario::parse(&lesson(1000, u64::MAX / 100)).unwrap_err();
    assert!(e.starts_with("check 'up': held_ms is"), "{e}");
}

/// Item 8: `add_node` in a scenario follows the rules scenario nodes follow: the name rule
/// (markup never becomes a node) and the node cap.
#[test]
fn add_node_in_a_scenario_follows_the_name_rule_and_the_cap() {
    let t = "add-node";
    let (code, err) = sim_steps(
        t,
        json!([{"at_ms": 0, "do": "add_node", "name": "<img src=x onerror=alert(1)>"}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("bad node name '<img src=x onerror=alert(1)>'"),
        "{err}"
    );
    let adds: Vec<serde_json::Value> = (0..15)
        .map(|i| json!({"at_ms": i, "do": "add_node", "name": format!("n{i}")}))
        .collect();
    // 2 + 14 nodes are fine, the 15th added is one too many.
    assert_eq!(sim_steps(t, json!(adds[..14])).0, Some(0));
    let (code, err) = sim_steps(t, json!(adds));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "step 15 (at 14 ms: add node n14): the run has 16 nodes, the most it runs at once"
        ),
        "{err}"
    );
    // A removed node makes room (its name stays taken).
    let mut room = adds.clone();
    room.insert(0, json!({"at_ms": 0, "do": "remove", "node": "r1"}));
    assert_eq!(sim_steps(t, json!(room)).0, Some(0));
    room.push(json!({"at_ms": 20, "do": "add_node", "name": "r1"}));
    let (code, err) = sim_steps(t, json!(room));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("names are not reused"), "{err}");
}

/// Item 8: a step naming an unknown node, a duplicate `add_node` or a bad config used to be
/// skipped silently (exit 0); each is an error naming the step.
#[test]
fn steps_naming_unknown_nodes_duplicates_or_bad_configs_are_errors() {
    let t = "steps";
    let (code, err) = sim_steps(t, json!([{"at_ms": 5, "do": "kill", "node": "ghost"}]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("step 1 (at 5 ms: kill ghost): no node named 'ghost'"),
        "{err}"
    );
    // Added later than it is used: unknown where the run meets the step.
    let (code, err) = sim_steps(
        t,
        json!([{"at_ms": 9, "do": "add_node", "name": "r2"},
               {"at_ms": 5, "do": "cut", "a": "m", "b": "r2"}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("step 2 (at 5 ms: cut link m–r2): no node named 'r2'"),
        "{err}"
    );
    let (code, err) = sim_steps(
        t,
        json!([{"at_ms": 1, "do": "add_node", "name": "r2"},
               {"at_ms": 2, "do": "add_node", "name": "r2"}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("a node named 'r2' exists"), "{err}");
    let (code, err) = sim_steps(t, json!([{"at_ms": 1, "do": "add_node", "name": "m"}]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("a node named 'm' exists"), "{err}");
    let (code, err) = sim_steps(
        t,
        json!([{"at_ms": 1, "do": "add_node", "name": "r2", "config": [["repl-timeout", "0"]]}]),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("step 1 (at 1 ms: add node r2): node 'r2'")
            && err.contains("argument must be between 1 and 2147483647"),
        "{err}"
    );
    // A lesson's solution too.
    let e = Scenario::parse(&lesson_json(
        json!([{"at_ms": 1, "do": "kill", "node": "ghost"}]),
        1000,
    ))
    .unwrap_err();
    assert_eq!(e, "lesson solution (kill ghost): no node named 'ghost'");
    // Added, then used, then removed and used again (logged as skipped, as before): fine.
    let fine = json!([{"at_ms": 1, "do": "add_node", "name": "r2"},
                      {"at_ms": 2, "do": "exec", "node": "r2", "command": "REPLICAOF m 6379"},
                      {"at_ms": 3, "do": "remove", "node": "r2"},
                      {"at_ms": 4, "do": "pause", "node": "r2"}]);
    assert_eq!(sim_steps(t, fine).0, Some(0));
}

/// Item 8, in the page: `window.replscope.act` (which is `Timeline::act`) cannot add a node
/// with markup for a name or past the cap, nor start a workload beyond its budget (a 2 GB
/// value froze the tab 20 s, then panicked). Refused at once, and not recorded: an
/// exported run never carries an action its loader would refuse.
#[test]
fn the_page_cannot_act_beyond_the_limits() {
    let s = scenario::builtin_named("one-replica").unwrap();
    let mut t = s.build(None).unwrap();
    t.run_until_us(t.start_us() + 1_000_000);
    let add = |name: &str| Action::AddNode {
        name: name.into(),
        config: vec![],
    };
    let e = t.act(add("<img src=x onerror=alert(1)>")).unwrap_err();
    assert!(e.starts_with("bad node name"), "{e}");
    let started = Instant::now();
    let e = t
        .act(Action::Workload {
            node: "m".into(),
            rate: 1,
            keys: 100,
            value_size: 2_000_000_000,
        })
        .unwrap_err();
    assert!(e.contains("the most is 16777216 bytes/s"), "{e}");
    t.run_until_us(t.start_us() + 3_000_000);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        t.inputs().iter().all(|r| r.origin == Origin::Scenario),
        "{:?}",
        t.inputs()
    );
    for i in 0..14 {
        t.act(add(&format!("n{i}"))).unwrap();
    }
    let recorded = t.inputs().len();
    let e = t.act(add("n14")).unwrap_err();
    assert_eq!(e, "the run has 16 nodes, the most it runs at once");
    assert_eq!(t.sim().nodes().len(), 16);
    let e = t.act(add("n3")).unwrap_err();
    assert_eq!(e, "a node named 'n3' exists");
    let e = t
        .act(Action::Cut {
            a: "m".into(),
            b: "nobody".into(),
        })
        .unwrap_err();
    assert_eq!(e, "no node named 'nobody'");
    // None is recorded: a run file or lesson skeleton made of this run loads again.
    assert_eq!(t.inputs().len(), recorded);
    let skeleton = Scenario {
        steps: t
            .inputs()
            .iter()
            .map(|r| scenario::ScenarioStep {
                at_ms: (r.time_us - t.start_us()) / 1000,
                action: r.action.clone(),
            })
            .collect(),
        ..s.clone()
    };
    assert!(skeleton.build(None).is_ok());
}

/// Item 8: a recorded action whose step the replay goes past (an edited file) used to hold
/// back every later action and scenario step for ever. The replay stops there and says so;
/// the scenario goes on (here: its cut and heal, and the +CONTINUE that follows).
#[test]
fn a_recorded_action_never_met_stops_the_replay_and_says_so() {
    let s = scenario::builtin_named("partial-sync").unwrap();
    let start = EPOCH_MS * 1000;
    // The run is 5 s in long before its billionth step.
    let never = Recorded {
        step: 1_000_000_000,
        time_us: start + 5_000_000,
        origin: Origin::User,
        action: Action::Exec {
            node: "m".into(),
            command: "SET never 1".into(),
        },
    };
    let run = RunFile {
        format: None,
        at_ms: None,
        scenario: s.clone(),
        seed: s.seed,
        actions: vec![never],
    };
    let mut t = run.timeline().unwrap();
    t.run_until_us(start + s.until_ms * 1000);
    let why = t.take_replay_stopped().expect("the replay says it stopped");
    assert!(
        why.starts_with(
            "the run's action 1 of 1 (m> SET never 1, recorded at step 1000000000 and 5000 ms) is never met"
        ),
        "{why}"
    );
    let actions: Vec<String> = t
        .trace()
        .iter()
        .filter_map(|e| match &e.event {
            SimEvent::Action(a) => Some(a.describe()),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            "workload on m: 10 writes/s",
            "cut link m–r1",
            "heal link m–r1"
        ]
    );
    assert!(t.trace().iter().any(|e| matches!(
        e.engine(),
        Some(replscope::engine::event::Event::PsyncDecided { decision, .. }) if decision.is_continue()
    )));
    // The CLI refuses such a run, with the same words.
    let path = file(
        "never",
        "run.json",
        serde_json::to_string(&run).unwrap().as_bytes(),
    );
    let (code, err) = sim(&["--replay", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is never met"), "{err}");
    // Actions out of order can never all be met: refused before replaying.
    let mut unordered = run.clone();
    unordered.actions = vec![
        Recorded {
            step: 9,
            time_us: start + 9,
            ..run.actions[0].clone()
        },
        Recorded {
            step: 8,
            time_us: start + 9,
            ..run.actions[0].clone()
        },
    ];
    let e = unordered.timeline().err().unwrap();
    assert!(
        e.contains("action 2 of the run (m> SET never 1): recorded at step 8"),
        "{e}"
    );
}

/// The other side of stopping a replay at an action it goes past: an unedited recording
/// is always met. Node timers are due in whole milliseconds, so the next step may be a timer
/// a little overdue; an action taken right then (its time is now, after that timer's) is
/// replayed before that step when stepping one step at a time (the page's → key, a seek),
/// as when playing.
#[test]
fn an_action_taken_while_a_timer_is_overdue_replays_step_by_step() {
    let s = scenario::builtin_named("first-full-sync").unwrap();
    let mut t = s.build(None).unwrap();
    while t.sim().next_time_us().unwrap() >= t.sim().now_us() {
        assert!(
            t.sim().now_us() < t.start_us() + s.until_ms * 1000,
            "no overdue timer"
        );
        t.step();
    }
    t.act(Action::Exec {
        node: "m".into(),
        command: "SET overdue 1".into(),
    })
    .unwrap();
    for _ in 0..2000 {
        t.step();
    }
    let run = RunFile {
        format: None,
        at_ms: None,
        scenario: s.clone(),
        seed: s.seed,
        actions: t.inputs().to_vec(),
    };
    let mut replay = run.timeline().unwrap();
    while replay.sim().steps() < t.sim().steps() {
        replay.step();
    }
    assert_eq!(replay.take_replay_stopped(), None);
    assert_eq!(
        replscope::sim::trace::hash(replay.trace()),
        replscope::sim::trace::hash(t.trace())
    );
}

/// Item 11: a scenario file that is not UTF-8 was reported as missing.
#[test]
fn a_file_that_is_not_utf8_is_reported_as_such() {
    let path = file("utf8", "latin1.json", b"{\"name\": \"caf\xe9\"}");
    let (code, err) = sim(&["--scenario", path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("latin1.json is not UTF-8 (invalid byte at offset 13)"),
        "{err}"
    );
    let (code, err) = sim(&["--replay", path.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not UTF-8"), "{err}");
    let (code, err) = sim(&["--scenario", "no-such-scenario"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no built-in scenario or file named 'no-such-scenario'"),
        "{err}"
    );
}
