//! `replscope lesson`: the lessons from the command line, for teachers.
//!
//! ```text
//! replscope lesson list
//! replscope lesson solve LESSON [--seed N]     plays the reference solution, prints the checklist
//! replscope lesson check LESSON RUN.json       grades a student's exported run (exit 0: solved)
//! ```
//!
//! LESSON is a built-in lesson's name or a lesson file. A run is graded against the lesson
//! named on the command line (not the copy inside the run file, which a student could
//! edit): its actions are replayed on the lesson's setup, up to the moment it was saved at.

use std::process::ExitCode;

use super::cli::read_text;
use super::lesson::{self, builtin_files, builtin_json};
use super::scenario::{RunFile, Scenario};
use super::timeline::Timeline;

/// After the last action of a run with no saved moment, play on this long.
const SETTLE_MS: u64 = 10_000;

fn usage() -> ExitCode {
    eprintln!(
        "usage: replscope lesson list\n       replscope lesson solve LESSON [--seed N]\n       replscope lesson check LESSON RUN.json"
    );
    ExitCode::from(2)
}

/// Entry point (arguments after `lesson`).
pub fn main(args: &[String]) -> ExitCode {
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => {
            list();
            return ExitCode::SUCCESS;
        }
        ["solve", name] => solve(name, None),
        ["solve", name, "--seed", seed] => match seed.parse() {
            Ok(s) => solve(name, Some(s)),
            Err(_) => return usage(),
        },
        ["check", name, run] => check(name, run),
        _ => return usage(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn list() {
    for json in builtin_files() {
        if let Ok(s) = lesson::instantiate(json, None) {
            let seq = s.lesson.as_ref().map_or("", |l| l.sequence.as_str());
            println!("{:24} {:10} {}", s.name, seq, s.title);
        }
    }
}

/// The lesson's file text: a built-in name or a path.
fn lesson_text(name: &str) -> Result<String, String> {
    match builtin_json(name) {
        Some(json) => Ok(json.to_string()),
        None if !std::path::Path::new(name).exists() => Err(format!(
            "no built-in lesson or file named '{name}' (try `lesson list`)"
        )),
        None => read_text(name),
    }
}

fn load(name: &str, seed: Option<u64>) -> Result<Scenario, String> {
    let s = lesson::instantiate(&lesson_text(name)?, seed)?;
    if s.lesson.is_none() {
        return Err(format!("'{name}' is a scenario, not a lesson"));
    }
    Ok(s)
}

fn solve(name: &str, seed: Option<u64>) -> Result<bool, String> {
    let s = load(name, seed)?;
    let steps = s
        .lesson
        .as_ref()
        .map(|l| l.solution.clone())
        .unwrap_or_default();
    let mut t = s.with_steps_as_user(&steps)?;
    let until = t.start_us() + s.until_ms * 1000;
    t.run_until_us(until);
    Ok(print_checklist(&s, &t))
}

fn check(name: &str, run_path: &str) -> Result<bool, String> {
    let run = RunFile::parse(&read_text(run_path)?)?;
    let s = load(name, Some(run.seed))?;
    if run.scenario.name != s.name {
        return Err(format!(
            "{run_path} is a run of '{}', not of '{}'",
            run.scenario.name, s.name
        ));
    }
    let mut t = s.replay(run.seed, run.actions.clone())?;
    let start = t.start_us();
    let last = run.actions.last().map_or(0, |r| (r.time_us - start) / 1000);
    let at_ms = run.at_ms.unwrap_or(last + SETTLE_MS);
    t.run_until_us(start + at_ms * 1000);
    if let Some(why) = t.take_replay_stopped() {
        return Err(format!("{run_path}: {why}"));
    }
    Ok(print_checklist(&s, &t))
}

/// Prints the checklist as the page shows it; true when solved.
fn print_checklist(s: &Scenario, t: &Timeline) -> bool {
    let Some(checker) = t.sim().checker() else {
        return false;
    };
    println!("{} (seed {})", s.title, s.seed);
    if let Some(l) = &s.lesson {
        println!("challenge: {}", l.challenge);
    }
    for item in checker.status() {
        let mark = if item.met { "[x]" } else { "[ ]" };
        match (&item.note, item.met) {
            (Some(note), false) => println!("{mark} {}  — {note}", item.text),
            _ => println!("{mark} {}", item.text),
        }
    }
    for hint in checker.misconceptions() {
        println!("note: {hint}");
    }
    match checker.solved_at_us() {
        Some(at) => {
            println!("solved at {:.1} s", (at - t.start_us()) as f64 / 1e6);
            true
        }
        None => {
            println!("not solved");
            false
        }
    }
}
