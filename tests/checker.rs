//! The checker's predicates, one kind at a time, on small lessons made here: each test has
//! a run that meets the check and one that does not. Seeks must restore the checker's state
//! exactly (a step back unticks what it should, and playing forward ticks it again at the
//! same instant).

use replscope::sim::action::Action;
use replscope::sim::lesson;
use replscope::sim::scenario::Scenario;
use replscope::sim::timeline::Timeline;

/// Two nodes, r1 replicating m, a write workload from 1 s, and one lesson check.
fn lesson_with(checks: &str, moments: &str, extra_nodes: &str) -> Scenario {
    let json = format!(
        r#"{{
  "format": 1, "name": "t", "title": "t", "seed": 3,
  "nodes": [{{ "name": "m" }}, {{ "name": "r1", "replicaof": "m" }}{extra_nodes}],
  "steps": [{{ "at_ms": 1000, "do": "workload", "node": "m", "rate": 10 }}],
  "until_ms": 30000,
  "lesson": {{
    "sequence": "primer", "order": 99, "challenge": "t",
    "moments": {{ {moments} }},
    "goal": [{checks}]
  }}
}}"#
    );
    lesson::instantiate(&json, None).unwrap()
}

fn at(t: &mut Timeline, ms: u64) {
    let start = t.start_us();
    t.run_until_us(start + ms * 1000);
}

fn act(t: &mut Timeline, ms: u64, json: &str) {
    at(t, ms);
    let a: Action = serde_json::from_str(json).unwrap();
    let _ = t.act(a);
}

fn met(t: &Timeline) -> Vec<bool> {
    t.sim()
        .checker()
        .unwrap()
        .status()
        .iter()
        .map(|s| s.met)
        .collect()
}

fn note(t: &Timeline, i: usize) -> String {
    t.sim().checker().unwrap().status()[i]
        .note
        .clone()
        .unwrap_or_default()
}

fn exec(node: &str, command: &str) -> String {
    format!(r#"{{"do": "exec", "node": "{node}", "command": "{command}"}}"#)
}

#[test]
fn event_checks_filter_by_node_peer_and_rule_and_explain_a_miss() {
    let s = lesson_with(
        r#"{ "text": "continue", "event": "psync", "node": "m", "peer": "r1", "rule": "continue" }"#,
        "",
        "",
    );
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    // The first sync is a full one: not met, and the note is m's own log sentence.
    assert_eq!(met(&t), [false]);
    assert_eq!(note(&t, 0), "Full resync requested by replica");
    act(&mut t, 8000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    act(&mut t, 10000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 14000);
    assert_eq!(met(&t), [true]);
}

#[test]
fn moments_reset_their_checks_and_after_within_bound_the_time() {
    let moments = r#""cut": { "text": "cut", "action": "cut" }"#;
    let checks = r#"
      { "text": "continue 3 s after", "event": "psync", "node": "m", "rule": "continue", "since": "cut", "after_ms": 3000 },
      { "text": "continue within 3 s", "event": "psync", "node": "m", "rule": "continue", "since": "cut", "within_ms": 3000 },
      { "text": "no full sync since", "event": "fullresync", "since": "cut", "at_most": 0 }"#;
    let s = lesson_with(checks, moments, "");
    // Before any cut, counting checks wait for their moment; a 1 s cut meets "within" only.
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    assert_eq!(met(&t), [false, false, true]);
    act(&mut t, 8000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    act(&mut t, 9000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 12000);
    assert_eq!(met(&t), [false, true, true]);
    assert!(note(&t, 0).contains("after the moment"), "{}", note(&t, 0));
    // A second cut is a new moment: "within" starts again, and a 4 s cut meets "after".
    act(&mut t, 12000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    assert_eq!(met(&t), [false, false, true]);
    act(&mut t, 16000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 20000);
    assert_eq!(met(&t), [true, false, true]);
    assert!(t.sim().checker().unwrap().solved_at_us().is_none());
}

#[test]
fn action_checks_count_the_students_actions_and_at_most_reports_the_breach() {
    let checks = r#"
      { "text": "typed INFO on r1", "action": "exec", "node": "r1", "command": "info" },
      { "text": "never killed", "action": "kill", "at_most": 0 },
      { "text": "the workload started", "action": "workload", "anyone": true }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 2000);
    // The scenario's workload counts only where anyone's actions do.
    assert_eq!(met(&t), [false, true, true]);
    act(&mut t, 2000, &exec("m", "INFO"));
    assert_eq!(met(&t), [false, true, true]);
    act(&mut t, 2500, &exec("r1", "info replication"));
    assert_eq!(met(&t), [true, true, true]);
    assert!(t.sim().checker().unwrap().solved_at_us().is_some());
    act(&mut t, 3000, r#"{"do": "kill", "node": "r1"}"#);
    assert_eq!(met(&t), [true, false, true]);
    assert!(note(&t, 1).starts_with("kill at"), "{}", note(&t, 1));
    // Solved stays solved: it happened.
    assert!(t.sim().checker().unwrap().solved_at_us().is_some());
}

#[test]
fn reply_checks_read_what_redis_cli_prints() {
    let checks = r#"{ "text": "READONLY on r1", "reply": true, "node": "r1", "command": "set", "has": "READONLY" }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    act(&mut t, 6000, &exec("r1", "GET x"));
    at(&mut t, 7000);
    assert_eq!(met(&t), [false]);
    act(&mut t, 7000, &exec("r1", "SET x 1"));
    at(&mut t, 8000);
    assert_eq!(met(&t), [true]);
}

#[test]
fn untyped_commands_are_those_the_master_made_up() {
    let checks = r#"{ "text": "r1 ran a command nobody typed", "event": "command", "node": "r1", "from_master": true, "untyped": true }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    // The workload's SETs are propagated as typed by a client: SET is "typed" only if the
    // student typed it, so type it first.
    act(&mut t, 500, &exec("m", "SET k v"));
    at(&mut t, 9000);
    assert_eq!(
        met(&t),
        [false],
        "SET and the stream's SELECT/PING do not count"
    );
    act(&mut t, 9000, &exec("m", "EXPIRE k 100"));
    at(&mut t, 10000);
    assert_eq!(met(&t), [true], "EXPIRE reaches r1 as PEXPIREAT");
}

#[test]
fn distinct_and_window_counts() {
    let checks = r#"
      { "text": "two rules", "event": "psync", "node": "m", "distinct": true, "at_least": 2 },
      { "text": "3 pings in 2 s", "event": "ping", "node": "m", "window_ms": 2000, "at_least": 3 }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    assert_eq!(met(&t), [false, false]);
    assert!(
        note(&t, 0).contains("full resync asked for"),
        "{}",
        note(&t, 0)
    );
    act(
        &mut t,
        8000,
        &exec("m", "CONFIG SET repl-ping-replica-period 1"),
    );
    act(&mut t, 8000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    act(&mut t, 9000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 14000);
    assert_eq!(met(&t), [true, true]);
}

#[test]
fn state_checks_hold_for_their_time_and_say_why_not() {
    let checks = r#"
      { "text": "converged 2 s", "state": "converged", "node": "r1", "peer": "m", "held_ms": 2000 },
      { "text": "r1 replicates m", "state": "role", "node": "r1", "value": "m" },
      { "text": "backlog not 1mb", "state": "config", "node": "m", "key": "repl-backlog-size", "value": "!1048576" },
      { "text": "m up", "state": "up", "node": "m" }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 3000);
    assert_eq!(met(&t), [false, true, false, true]);
    assert!(note(&t, 0).contains("link to m"), "{}", note(&t, 0));
    assert_eq!(note(&t, 2), "repl-backlog-size is 1048576");
    act(&mut t, 9000, &exec("m", "CONFIG SET repl-backlog-size 2mb"));
    at(&mut t, 12000);
    assert_eq!(met(&t), [true, true, true, true]);
    act(&mut t, 12000, r#"{"do": "kill", "node": "m"}"#);
    at(&mut t, 12500);
    assert_eq!(met(&t), [false, true, true, false]);
    act(&mut t, 12500, &exec("r1", "REPLICAOF NO ONE"));
    at(&mut t, 13000);
    assert_eq!(met(&t), [false, false, true, false]);
    assert_eq!(note(&t, 1), "r1 is a master");
}

#[test]
fn expired_keys_on_a_replica_stay_until_the_masters_del() {
    let checks = r#"{ "text": "k expired but still on r1 for 3 s", "state": "expired_key", "node": "r1", "key": "k", "held_ms": 3000 }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    act(&mut t, 7000, &exec("m", "SET k v PX 500"));
    at(&mut t, 7200);
    act(
        &mut t,
        7200,
        r#"{"do": "partition", "from": "m", "to": "r1"}"#,
    );
    at(&mut t, 9000);
    assert_eq!(met(&t), [false], "{}", note(&t, 0));
    at(&mut t, 11000);
    assert_eq!(met(&t), [true]);
}

#[test]
fn metrics_add_up_what_was_resent() {
    let moments = r#""heal": { "text": "heal", "action": "heal" }"#;
    let checks = r#"
      { "text": "under 1 MB re-sent", "metric": "resent_bytes", "since": "heal", "below": 1048576 },
      { "text": "full syncs", "metric": "full_syncs", "below": 2 }"#;
    let s = lesson_with(checks, moments, "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    assert_eq!(met(&t), [false, true]);
    act(&mut t, 8000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    act(&mut t, 10000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 14000);
    assert_eq!(met(&t), [true, true]);
    assert!(note(&t, 0).contains("bytes re-sent"), "{}", note(&t, 0));
}

/// The checker is part of the simulation: seeking back restores its state exactly, and
/// playing on ticks the same items at the same instant.
#[test]
fn seeking_back_unticks_and_playing_on_ticks_again_at_the_same_instant() {
    let moments = r#""cut": { "text": "cut", "action": "cut" }"#;
    let checks = r#"
      { "text": "cut", "action": "cut" },
      { "text": "continue after the cut", "event": "psync", "node": "m", "peer": "r1", "rule": "continue", "since": "cut" },
      { "text": "converged 1 s", "state": "converged", "node": "r1", "peer": "m", "held_ms": 1000 }"#;
    let s = lesson_with(checks, moments, "");
    let mut t = s.build(None).unwrap();
    act(&mut t, 8000, r#"{"do": "cut", "a": "m", "b": "r1"}"#);
    act(&mut t, 10000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 15000);
    assert_eq!(met(&t), [true, true, true]);
    let solved = t.sim().checker().unwrap().solved_at_us().unwrap();
    let start = t.start_us();
    t.seek_time_us(start + 9_000_000);
    assert_eq!(met(&t), [true, false, false]);
    assert!(t.sim().checker().unwrap().solved_at_us().is_none());
    t.seek_time_us(start + 7_500_000);
    assert_eq!(met(&t), [false, false, true]);
    t.seek_time_us(start + 15_000_000);
    assert_eq!(met(&t), [true, true, true]);
    assert_eq!(t.sim().checker().unwrap().solved_at_us(), Some(solved));
    // Acting in the past forks: the cut and heal are gone, and so are the ticks.
    t.seek_time_us(start + 7_500_000);
    act(&mut t, 7500, &exec("m", "SET a b"));
    at(&mut t, 15000);
    assert_eq!(met(&t), [false, false, true]);
}

#[test]
fn misconceptions_and_watches() {
    let json = r#"{
  "format": 1, "name": "t", "title": "t", "seed": 3,
  "nodes": [{ "name": "m" }, { "name": "r1", "replicaof": "m" }],
  "until_ms": 30000,
  "lesson": {
    "sequence": "primer", "order": 99, "challenge": "t",
    "intro": [{ "text": "a", "wait": { "text": "loaded", "event": "rdb_loaded", "node": "r1" } }],
    "goal": [{ "text": "x", "action": "cut" }],
    "misconceptions": [{ "when": { "text": "no one", "action": "exec", "has": "no one" }, "hint": "new history" }],
    "predict": { "question": "?", "before": { "text": "psync", "event": "psync", "node": "m" }, "answer": "verdict", "choices": ["+CONTINUE", "+FULLRESYNC"] }
  }
}"#;
    let s = lesson::instantiate(json, None).unwrap();
    let l = s.lesson.clone().unwrap();
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    let c = t.sim().checker().unwrap();
    let wait = c.fired(l.wait_watch(0).unwrap()).unwrap().clone();
    let psync = c.fired(l.predict_watch().unwrap()).unwrap().clone();
    assert!(
        psync.steps < wait.steps,
        "the decision comes before the replica is online"
    );
    let p = l.predict.clone().unwrap();
    assert!(p.grade(&psync, "+fullresync"));
    assert!(!p.grade(&psync, "+CONTINUE"));
    assert!(c.misconceptions().is_empty());
    act(&mut t, 8000, &exec("r1", "REPLICAOF NO ONE"));
    assert_eq!(t.sim().checker().unwrap().misconceptions(), ["new history"]);
    // The step recorded is the one to stop before: seeking there shows the moment before.
    t.seek_step(psync.steps - 1);
    assert!(t
        .sim()
        .checker()
        .unwrap()
        .fired(l.predict_watch().unwrap())
        .is_none());
    t.seek_step(psync.steps);
    assert!(t
        .sim()
        .checker()
        .unwrap()
        .fired(l.predict_watch().unwrap())
        .is_some());
}

#[test]
fn files_of_a_newer_format_are_refused_with_a_reason() {
    let err = lesson::instantiate(
        r#"{"format": 2, "name": "x", "title": "x", "nodes": [{"name": "m"}]}"#,
        None,
    )
    .unwrap_err();
    assert!(err.contains("format 2") && err.contains("newer"), "{err}");
    let err = lesson::instantiate(
        r#"{"name": "x", "title": "x", "nodes": [{"name": "m"}], "lesson": {"sequence": "primer", "order": 1, "challenge": "c", "params": [{"a": "1"}], "goal": [{"text": "{{b}}", "action": "cut"}]}}"#,
        None,
    )
    .unwrap_err();
    assert!(err.contains("{{b}}"), "{err}");
}

/// The operator's score: bytes re-sent, full syncs, seconds of refused writes, and
/// acknowledged writes that no running master holds any more.
#[test]
fn the_score_counts_what_the_run_cost() {
    let s = lesson_with(r#"{ "text": "x", "action": "cut" }"#, "", "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    let score = t.sim().checker().unwrap().score_now(t.sim());
    assert_eq!(score.full_syncs, 1);
    assert!(score.resent_bytes > 0);
    assert_eq!(
        (score.refused_write_seconds, score.acked_writes_lost),
        (0, 0)
    );
    act(&mut t, 8000, &exec("r1", "SET a 1"));
    act(&mut t, 8100, &exec("r1", "SET a 2"));
    act(&mut t, 8200, &exec("m", "SET kept yes"));
    at(&mut t, 9000);
    let score = t.sim().checker().unwrap().score_now(t.sim());
    assert_eq!(
        score.refused_write_seconds, 1,
        "two READONLY in the same second"
    );
    assert_eq!(score.acked_writes_lost, 0);
    // m dies: its acknowledged write is held by no running master (r1 is a replica).
    act(&mut t, 9000, r#"{"do": "kill", "node": "m"}"#);
    at(&mut t, 9500);
    assert_eq!(
        t.sim()
            .checker()
            .unwrap()
            .score_now(t.sim())
            .acked_writes_lost,
        1
    );
    // r1 promoted holds it: not lost.
    act(&mut t, 9500, &exec("r1", "REPLICAOF NO ONE"));
    at(&mut t, 10000);
    assert_eq!(
        t.sim()
            .checker()
            .unwrap()
            .score_now(t.sim())
            .acked_writes_lost,
        0
    );
}

/// The checklist read live keeps a state met `once` ticked after the state has gone (the
/// story went through it), and unticks a plain state check at once when it stops holding.
#[test]
fn live_status_keeps_once_states_and_drops_others() {
    let checks = r#"
      { "text": "k was expired but present on r1 for 1 s", "state": "expired_key", "node": "r1", "key": "k", "held_ms": 1000, "once": true },
      { "text": "k expired but present now", "state": "expired_key", "node": "r1", "key": "k" }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    act(&mut t, 7000, &exec("m", "SET k v PX 300"));
    act(
        &mut t,
        7100,
        r#"{"do": "partition", "from": "m", "to": "r1"}"#,
    );
    at(&mut t, 9000);
    let live = |t: &Timeline| -> Vec<bool> {
        t.sim()
            .checker()
            .unwrap()
            .status_live(t.sim())
            .iter()
            .map(|s| s.met)
            .collect()
    };
    assert_eq!(live(&t), [true, true]);
    act(&mut t, 9000, r#"{"do": "heal", "a": "m", "b": "r1"}"#);
    at(&mut t, 12000);
    // m's DEL reached r1: the key is gone.
    assert_eq!(live(&t), [true, false]);
}

/// A console's GET on a replica is compared with the master like a reader's: a student can
/// catch a stale read by hand (the P12 lesson's first line).
#[test]
fn a_console_get_on_a_lagging_replica_is_a_stale_read() {
    let checks = r#"{ "text": "stale", "event": "stale_read", "node": "r1" }"#;
    let s = lesson_with(checks, "", "");
    let mut t = s.build(None).unwrap();
    act(
        &mut t,
        7000,
        r#"{"do": "slow", "a": "m", "b": "r1", "latency_ms": 400}"#,
    );
    act(&mut t, 7100, &exec("m", "SET key:1 old"));
    at(&mut t, 8000);
    act(&mut t, 8000, &exec("r1", "GET key:1"));
    at(&mut t, 8100);
    assert_eq!(met(&t), [false], "r1 has what m has");
    act(&mut t, 8100, &exec("m", "SET key:1 new"));
    act(&mut t, 8105, &exec("r1", "GET key:1"));
    at(&mut t, 8200);
    assert_eq!(
        met(&t),
        [true],
        "r1 still answers old: m's SET is on its way"
    );
}

/// A state check "since" a moment is not met before the moment, however true the state
/// (a replica that never left is not "a replica again").
#[test]
fn a_state_since_a_moment_waits_for_it() {
    let moments =
        r#""detach": { "text": "detach", "action": "exec", "node": "r1", "has": "no one" }"#;
    let checks = r#"{ "text": "r1 replicates m again", "state": "role", "node": "r1", "value": "m", "since": "detach" }"#;
    let s = lesson_with(checks, moments, "");
    let mut t = s.build(None).unwrap();
    at(&mut t, 8000);
    assert_eq!(met(&t), [false]);
    act(&mut t, 8000, &exec("r1", "REPLICAOF NO ONE"));
    at(&mut t, 9000);
    assert_eq!(met(&t), [false]);
    act(&mut t, 9000, &exec("r1", "REPLICAOF m 6379"));
    at(&mut t, 10000);
    assert_eq!(met(&t), [true]);
}
