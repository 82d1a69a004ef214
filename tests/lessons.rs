//! Every lesson is checked by playing it: its reference solution solves it, doing nothing
//! does not, and neither does any of its known wrong solutions. Randomised lessons are
//! played over many seeds. The checker's predicates have their own tests, seeks included.

use replscope::sim::lesson::{self, builtin_files};
use replscope::sim::scenario::{RunFile, Scenario, ScenarioStep};
use replscope::sim::timeline::Timeline;

/// Seeds each randomised lesson is played with.
const RANDOM_SEEDS: u64 = 50;

fn play(s: &Scenario, steps: &[ScenarioStep]) -> Timeline {
    let mut t = s.with_steps_as_user(steps).expect("lesson builds");
    let until = t.start_us() + s.until_ms * 1000;
    t.run_until_us(until);
    t
}

fn solved(t: &Timeline) -> bool {
    t.sim()
        .checker()
        .expect("a lesson has a checker")
        .solved_at_us()
        .is_some()
}

fn checklist(t: &Timeline) -> String {
    t.sim()
        .checker()
        .unwrap()
        .status()
        .iter()
        .map(|i| {
            format!(
                "[{}] {} {:?}",
                if i.met { 'x' } else { ' ' },
                i.text,
                i.note
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn lessons(seed: Option<u64>) -> Vec<Scenario> {
    builtin_files()
        .iter()
        .map(|json| lesson::instantiate(json, seed).expect("built-in lessons are valid"))
        .collect()
}

fn check_lesson(s: &Scenario) {
    let l = s.lesson.as_ref().unwrap();
    assert!(
        !l.solution.is_empty() || l.sequence == "sandbox",
        "{}: no solution",
        s.name
    );
    if l.sequence == "sandbox" {
        return;
    }
    let t = play(s, &l.solution);
    assert!(
        solved(&t),
        "{} (seed {}): the solution does not solve it\n{}",
        s.name,
        s.seed,
        checklist(&t)
    );
    if let (Some(p), Some(w)) = (&l.predict, l.predict_watch()) {
        let fired = t.sim().checker().unwrap().fired(w);
        let fired = fired.unwrap_or_else(|| {
            panic!(
                "{} (seed {}): the prediction's event never happens in the solution",
                s.name, s.seed
            )
        });
        let answer = p.answer_of(fired).expect("the answer kind fits the event");
        assert!(
            p.choices.is_empty() || p.choices.contains(&answer),
            "{} (seed {}): the engine's answer {answer} is not among the choices {:?}",
            s.name,
            s.seed,
            p.choices
        );
    }
    let t = play(s, &[]);
    for step in 0..l.intro.len() {
        if let Some(w) = l.wait_watch(step) {
            assert!(
                t.sim().checker().unwrap().fired(w).is_some(),
                "{}: narration step {step} waits for something that never happens",
                s.name
            );
        }
    }
    assert!(
        !solved(&t),
        "{} (seed {}): solved with no action\n{}",
        s.name,
        s.seed,
        checklist(&t)
    );
    for w in &l.wrong {
        let t = play(s, &w.steps);
        assert!(
            !solved(&t),
            "{} (seed {}): wrong solution '{}' solves it\n{}",
            s.name,
            s.seed,
            w.name,
            checklist(&t)
        );
    }
}

#[test]
fn every_lesson_is_solved_by_its_solution_and_by_nothing_else() {
    for s in lessons(None) {
        check_lesson(&s);
    }
}

/// (Minutes in a debug build: `./x test` runs it optimised, in its `chaos` step.)
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "run optimised: cargo test --release --test lessons"
)]
fn randomised_lessons_hold_for_many_seeds() {
    let mut randomised = 0;
    for json in builtin_files() {
        let base = lesson::instantiate(json, None).unwrap();
        if base.lesson.as_ref().unwrap().params.is_empty() {
            continue;
        }
        randomised += 1;
        let mut rows = std::collections::BTreeSet::new();
        for seed in 0..RANDOM_SEEDS {
            let s = lesson::instantiate(json, Some(seed)).unwrap();
            rows.insert(
                serde_json::to_string(&s.nodes).unwrap()
                    + &serde_json::to_string(&s.steps).unwrap(),
            );
            check_lesson(&s);
        }
        assert!(
            rows.len() > 1,
            "{}: every seed gave the same parameters",
            base.name
        );
    }
    assert!(
        randomised >= 2,
        "at least two lessons take parameters from the seed"
    );
}

#[test]
fn lessons_are_numbered_and_unique() {
    let all = lessons(None);
    let names: Vec<_> = all.iter().map(|s| s.name.clone()).collect();
    assert_eq!(
        names,
        lesson::builtin_names(),
        "lessons/index.json lists the built-in files in order"
    );
    let mut names: Vec<_> = all.iter().map(|s| s.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len());
    for s in &all {
        let l = s.lesson.as_ref().unwrap();
        assert!(
            ["primer", "incidents", "sandbox"].contains(&l.sequence.as_str()),
            "{}",
            s.name
        );
        assert!(
            l.hints.len() >= 2 || l.sequence == "sandbox",
            "{}: 2-3 hints",
            s.name
        );
        if l.sequence == "incidents" {
            assert!(
                l.incident.is_some(),
                "{}: an incident names its report",
                s.name
            );
        }
    }
}

/// A run exported by the page (scenario, seed, actions, the moment shown) is graded the
/// same offline: the solution's run passes, the same run without the heal fails.
/// The run `t` of lesson `s` as the page exports it, at the lesson's end.
fn exported(s: &Scenario, t: &Timeline) -> RunFile {
    RunFile {
        format: Some(lesson::FORMAT),
        scenario: s.clone(),
        seed: s.seed,
        actions: t.inputs().to_vec(),
        at_ms: Some(s.until_ms),
    }
}

#[test]
fn exported_runs_are_graded_like_the_page_grades_them() {
    let json = lesson::builtin_json("p5-partial-sync").unwrap();
    let s = lesson::instantiate(json, None).unwrap();
    let steps = &s.lesson.as_ref().unwrap().solution;
    let t = play(&s, steps);
    let run = exported(&s, &t);
    let mut replayed = run.timeline().unwrap();
    replayed.run_until_us(replayed.start_us() + s.until_ms * 1000);
    assert!(solved(&replayed));
    assert_eq!(
        replayed.sim().checker().unwrap().solved_at_us(),
        t.sim().checker().unwrap().solved_at_us()
    );
}

/// `replscope lesson check` grades an exported run offline: exit 0 and ticks for a solved
/// run, exit 1 and the unmet line for an unsolved one; `solve` plays the reference.
#[test]
fn the_command_line_grades_exported_runs() {
    let bin = env!("CARGO_BIN_EXE_replscope");
    let dir = std::env::temp_dir().join(format!("replscope-lesson-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = lesson::builtin_json("p5-partial-sync").unwrap();
    let s = lesson::instantiate(json, None).unwrap();
    let solution = s.lesson.as_ref().unwrap().solution.clone();
    for (name, steps, solved) in [
        ("solved", solution.clone(), true),
        ("unsolved", solution[..1].to_vec(), false),
    ] {
        let t = play(&s, &steps);
        let run = exported(&s, &t);
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string(&run).unwrap()).unwrap();
        let out = std::process::Command::new(bin)
            .args(["lesson", "check", "p5-partial-sync", path.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(if solved { 0 } else { 1 }),
            "{text}"
        );
        if solved {
            assert!(
                text.contains("[x] m answered r1's PSYNC with +CONTINUE"),
                "{text}"
            );
        } else {
            assert!(
                text.contains("[ ] m answered r1's PSYNC with +CONTINUE"),
                "{text}"
            );
            assert!(text.contains("not solved"), "{text}");
        }
    }
    // A run of another lesson is refused rather than graded.
    let out = std::process::Command::new(bin)
        .args([
            "lesson",
            "check",
            "p1-first-replica",
            dir.join("solved.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin)
        .args(["lesson", "solve", "p11-failover"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = std::process::Command::new(bin)
        .args(["lesson", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("p1-first-replica"));
    std::fs::remove_dir_all(&dir).ok();
}

/// A prediction's event happens in the solution's run and its answer is one of the choices;
/// an incident's `our_log` is in a log line of the solution's run (the page shows it next to
/// the operator's line).
#[test]
fn predictions_and_incident_lines_fit_the_solution() {
    for s in lessons(None) {
        let l = s.lesson.as_ref().unwrap();
        if l.predict.is_none() && l.incident.is_none() {
            continue;
        }
        let mut t = s.with_steps_as_user(&l.solution).expect("lesson builds");
        let until = t.start_us() + s.until_ms * 1000;
        let mut found = false;
        // In steps of a second, so that no line leaves the history's window unread.
        while t.sim().now_us() < until {
            let n = t.sim().trace_len();
            t.run_until_us((t.sim().now_us() + 1_000_000).min(until));
            if let Some(i) = &l.incident {
                found |= t
                    .trace_since(n)
                    .iter()
                    .filter_map(replscope::sim::log::text)
                    .any(|line| line.contains(&i.our_log));
            }
        }
        if let Some(p) = &l.predict {
            let w = l.predict_watch().unwrap();
            let fired = t
                .sim()
                .checker()
                .unwrap()
                .fired(w)
                .unwrap_or_else(|| panic!("{}: the prediction's event never happens", s.name));
            let answer = p
                .answer_of(fired)
                .unwrap_or_else(|| panic!("{}: the prediction has no answer", s.name));
            assert!(
                p.choices.is_empty() || p.choices.contains(&answer),
                "{}: the engine's answer {answer} is not a choice",
                s.name
            );
        }
        if let Some(i) = &l.incident {
            assert!(
                found,
                "{}: no log line of the solution's run contains {:?}",
                s.name, i.our_log
            );
        }
    }
}
