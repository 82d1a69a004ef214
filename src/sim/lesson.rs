//! Lessons: a scenario file with a `lesson` block — narration, a challenge whose goal is a
//! list of [`Check`]s the simulation's [`Checker`] ticks live, hints, misconceptions, a
//! prediction, the reference solution and known wrong ones. One format for the page and
//! the CLI (`replscope lesson …`); the built-in ones are in `lessons/`.
//!
//! A lesson may take parameters from its seed (`params`: rows of values, one picked by the
//! seed, written `{{name}}` anywhere in the file, inside a string or in place of a number:
//! `"at_ms": {{cut_ms}}`), so that two students get different numbers and the simulator,
//! not a fixed answer, says whether each solved it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::checker::{Check, Checker, Fired, Goal};
use super::scenario::{Scenario, ScenarioStep};
use super::timeline::{Origin, Timeline};
use super::Action;

/// The file format this build reads and writes. A file declaring a newer one is refused
/// (it could play differently here); files without one are format 1.
pub const FORMAT: u32 = 1;

/// One narrated step of a lesson's introduction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narration {
    /// What the student reads (`inline code` in backquotes).
    pub text: String,
    /// Demonstration actions, run when the student reaches this step.
    #[serde(default, rename = "do")]
    pub demo: Vec<Action>,
    /// Plays on until this happens, then says `say` and pauses.
    #[serde(default)]
    pub wait: Option<Check>,
    #[serde(default)]
    pub say: Option<String>,
    /// What to look at: `node:<name>`, `link:<a>-<b>`, `ring`, `psync`, `console`, `log`.
    #[serde(default)]
    pub highlight: Option<String>,
}

/// Freeze just before something happens, ask what it will be, grade against the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predict {
    pub question: String,
    /// The event to stop just before (usually a `psync` decision).
    pub before: Check,
    /// What the answer is about: `verdict` (+CONTINUE or +FULLRESYNC), `rule` (the PSYNC
    /// rule that decides, named as checks name it: `continue`, `replid_mismatch`…) or
    /// `bytes` (how many bytes of backlog a +CONTINUE sends, or a stream write carries).
    pub answer: String,
    #[serde(default)]
    pub choices: Vec<String>,
}

/// A misconception: when the run matches `when`, the student sees `hint`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Misconception {
    pub when: Check,
    pub hint: String,
}

/// A known wrong solution: it must not solve the lesson (a test plays each).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wrong {
    pub name: String,
    pub steps: Vec<ScenarioStep>,
}

/// A real incident a lesson replays: where it was reported and the operator's log line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    pub source: String,
    pub url: String,
    /// The line from the report.
    pub their_log: String,
    /// Text of replscope's own log line for the same moment (found in the run's log).
    pub our_log: String,
}

/// The `lesson` block of a scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonBlock {
    /// `primer`, `incidents` or `sandbox`.
    pub sequence: String,
    pub order: u32,
    /// Rows of parameter values; the seed picks one (see the module's documentation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<BTreeMap<String, String>>,
    #[serde(default)]
    pub intro: Vec<Narration>,
    pub challenge: String,
    #[serde(default)]
    pub moments: BTreeMap<String, Check>,
    #[serde(default)]
    pub goal: Vec<Check>,
    /// Action kinds the page disables during the challenge (each also a checklist line).
    #[serde(default)]
    pub forbid: Vec<String>,
    /// Why they are disabled, for the tooltip.
    #[serde(default)]
    pub forbid_why: String,
    #[serde(default)]
    pub hints: Vec<String>,
    #[serde(default)]
    pub misconceptions: Vec<Misconception>,
    #[serde(default)]
    pub predict: Option<Predict>,
    #[serde(default)]
    pub solution: Vec<ScenarioStep>,
    #[serde(default)]
    pub wrong: Vec<Wrong>,
    /// What happened and why, in Redis's terms (functions, configs), shown on success.
    #[serde(default)]
    pub explain: String,
    #[serde(default)]
    pub incident: Option<Incident>,
}

impl LessonBlock {
    /// The goal the checker ticks: the lesson's checks, then one line per forbidden kind.
    pub fn goal(&self) -> Goal {
        let mut checks = self.goal.clone();
        // What is forbidden, as one line (one per kind would push the rest of the panel
        // out of a projector's view).
        if !self.forbid.is_empty() {
            let words: Vec<String> = self.forbid.iter().map(|k| forbid_words(k)).collect();
            let text = match words.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("without {} or {last}", rest.join(", "))
                }
                _ => format!("without {}", words.join("")),
            };
            checks.push(Check {
                text,
                action: Some(self.forbid.join("|")),
                at_most: Some(0),
                ..Check::default()
            });
        }
        let mut watches: Vec<Check> = self.intro.iter().filter_map(|n| n.wait.clone()).collect();
        watches.extend(self.predict.as_ref().map(|p| p.before.clone()));
        Goal {
            watches,
            moments: self
                .moments
                .iter()
                .map(|(k, v)| {
                    let anyone = Check {
                        anyone: true,
                        ..v.clone()
                    };
                    (k.clone(), anyone)
                })
                .collect(),
            checks,
            misconceptions: self
                .misconceptions
                .iter()
                .map(|m| (m.when.clone(), m.hint.clone()))
                .collect(),
        }
    }

    /// Checks the lesson's numbers and actions as a scenario's are checked: every check's
    /// durations, every demonstration, solution and wrong solution within its ranges, and
    /// naming only nodes the scenario makes (`made`) or the lesson's own actions add.
    pub(super) fn check(&self, made: &[&str]) -> Result<(), String> {
        let checks = self
            .goal
            .iter()
            .chain(self.moments.values())
            .chain(self.intro.iter().filter_map(|n| n.wait.as_ref()))
            .chain(self.predict.iter().map(|p| &p.before))
            .chain(self.misconceptions.iter().map(|m| &m.when));
        for c in checks {
            c.check_limits()?;
        }
        let steps = self.solution.iter().map(|s| ("solution", s)).chain(
            self.wrong
                .iter()
                .flat_map(|w| w.steps.iter().map(|s| ("wrong solution", s))),
        );
        let timed: Vec<(&str, Option<u64>, &Action)> = self
            .intro
            .iter()
            .flat_map(|n| n.demo.iter().map(|a| ("demonstration", None, a)))
            .chain(steps.map(|(what, s)| (what, Some(s.at_ms), &s.action)))
            .collect();
        let added: Vec<&str> = timed
            .iter()
            .filter_map(|(_, _, a)| match a {
                Action::AddNode { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        for (what, at_ms, action) in timed {
            let at = at_ms.map_or(Ok(()), |ms| super::limits::check_time_ms("at_ms", ms));
            let unknown = action
                .nodes()
                .into_iter()
                .find(|n| !made.contains(n) && !added.contains(n));
            at.and_then(|()| super::limits::check_action(action))
                .and_then(|()| unknown.map_or(Ok(()), |n| Err(format!("no node named '{n}'"))))
                .map_err(|e| format!("lesson {what} ({}): {e}", action.summary()))?;
        }
        Ok(())
    }
}

/// Which watch of [`LessonBlock::goal`] is the prediction's (the narration's waits come
/// first, in order).
impl LessonBlock {
    /// The watch number of narration step `step`'s wait, if it has one.
    pub fn wait_watch(&self, step: usize) -> Option<usize> {
        self.intro.get(step)?.wait.as_ref()?;
        Some(
            self.intro[..step]
                .iter()
                .filter(|n| n.wait.is_some())
                .count(),
        )
    }

    /// The watch number of the prediction's event, if there is one.
    pub fn predict_watch(&self) -> Option<usize> {
        self.predict.as_ref()?;
        Some(self.intro.iter().filter(|n| n.wait.is_some()).count())
    }
}

impl Predict {
    /// The right answer, as the engine decided it (`None` if the answer kind does not fit
    /// what happened).
    pub fn answer_of(&self, fired: &Fired) -> Option<String> {
        match self.answer.as_str() {
            "verdict" => Some(
                if fired.rule? == "continue" {
                    "+CONTINUE"
                } else {
                    "+FULLRESYNC"
                }
                .to_string(),
            ),
            "rule" => fired.rule.map(str::to_string),
            "bytes" => Some(fired.bytes.to_string()),
            _ => None,
        }
    }

    /// Grades an answer: right (trimmed, case-insensitive, a number equal to the number).
    pub fn grade(&self, fired: &Fired, answer: &str) -> bool {
        self.answer_of(fired)
            .is_some_and(|right| right.eq_ignore_ascii_case(answer.trim()))
    }
}

/// How a forbidden action kind reads in the checklist.
pub fn forbid_words(kind: &str) -> String {
    match kind {
        "kill" => "killing a node".into(),
        "restart" => "restarting a node".into(),
        "remove" => "removing a node".into(),
        "workload" => "changing the workload".into(),
        "slow" => "changing a link's speed".into(),
        "add_node" => "adding a node".into(),
        "pause" => "pausing a node".into(),
        "cut" => "cutting a link".into(),
        "partition" => "a one-way partition".into(),
        other => format!("'{other}'"),
    }
}

/// Checks that `json`'s format is one this build plays exactly.
pub fn check_format(json: &str) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        format: Option<u32>,
    }
    let head: Head = crate::json::from_str(json).map_err(|e| format!("invalid file: {e}"))?;
    match head.format {
        Some(f) if f > FORMAT => Err(format!(
            "this file is format {f}, made by a newer replscope; this one reads format {FORMAT} \
             and will not play it differently: open it with a newer replscope"
        )),
        Some(0) => Err("format 0 does not exist".into()),
        _ => Ok(()),
    }
}

/// Parses a lesson (or plain scenario) file for `seed`: its parameters are picked by the
/// seed and substituted first. A plain scenario comes back unchanged.
pub fn instantiate(json: &str, seed: Option<u64>) -> Result<Scenario, String> {
    // Placeholders may stand for numbers (`"at_ms": {{cut_ms}}`), which is not JSON until
    // substituted: the head is read with each one as a 0.
    let zeroed = placeholders_as_zero(json);
    check_format(&zeroed)?;
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        lesson: Option<ParamsOnly>,
    }
    #[derive(Deserialize)]
    struct ParamsOnly {
        #[serde(default)]
        params: Vec<BTreeMap<String, String>>,
    }
    let head: Head = crate::json::from_str(&zeroed).map_err(|e| format!("invalid lesson: {e}"))?;
    let rows = head.lesson.map(|l| l.params).unwrap_or_default();
    let seed = seed.unwrap_or(head.seed);
    let text = match pick_row(&rows, seed) {
        Some(row) => {
            let mut text = json.to_string();
            for (k, v) in row {
                text = text.replace(&format!("{{{{{k}}}}}"), v);
            }
            text
        }
        None => json.to_string(),
    };
    if let Some(at) = text.find("{{") {
        let end = text[at..].find("}}").map_or(at + 2, |e| at + e + 2);
        return Err(format!(
            "unknown parameter {}",
            &text[at..end.min(text.len())]
        ));
    }
    let mut s = Scenario::parse(&text)?;
    s.seed = seed;
    Ok(s)
}

/// `json` with every `{{name}}` written `0`, so that the file parses before its parameters
/// are known (a placeholder inside a string stays a string).
fn placeholders_as_zero(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(at) = rest.find("{{") {
        let Some(len) = rest[at..].find("}}") else {
            break;
        };
        out.push_str(&rest[..at]);
        out.push('0');
        rest = &rest[at + len + 2..];
    }
    out.push_str(rest);
    out
}

/// The row of parameters `seed` picks (a mix of the seed, so seeds 0, 1, 2… do not walk the
/// rows in order).
pub fn pick_row(rows: &[BTreeMap<String, String>], seed: u64) -> Option<&BTreeMap<String, String>> {
    if rows.is_empty() {
        return None;
    }
    let mixed = (seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    rows.get(((mixed >> 32) % rows.len() as u64) as usize)
}

impl Scenario {
    /// The checker of this scenario's lesson, if it is one, starting at `now_us`.
    pub(super) fn checker(&self, now_us: u64) -> Option<Checker> {
        let lesson = self.lesson.as_ref()?;
        Some(Checker::new(Arc::new(lesson.goal()), now_us))
    }

    /// The timeline with the lesson's reference solution scheduled as the student's
    /// actions (its times count from the start, like the scenario's steps).
    pub fn with_steps_as_user(&self, steps: &[ScenarioStep]) -> Result<Timeline, String> {
        let mut timeline = self.build(None)?;
        let start = timeline.sim().now_us();
        for s in steps {
            timeline.schedule(start + s.at_ms * 1000, Origin::User, s.action.clone());
        }
        Ok(timeline)
    }
}

/// The built-in lessons' names in catalogue order (`lessons/index.json`). The page loads
/// their files from `lessons/<name>.json` when it needs them, so the lessons do not weigh
/// on its first load; the command line has them built in.
pub fn builtin_names() -> Vec<String> {
    crate::json::from_str(INDEX).expect("lessons/index.json is a list of names")
}

const INDEX: &str = include_str!("../../lessons/index.json");

/// A built-in lesson's file, by name.
#[cfg(not(target_arch = "wasm32"))]
pub fn builtin_json(name: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .copied()
        .find(|json| lesson_name(json).as_deref() == Some(name))
}

/// The built-in lessons' files, in catalogue order.
#[cfg(not(target_arch = "wasm32"))]
pub fn builtin_files() -> &'static [&'static str] {
    BUILTIN
}

#[cfg(not(target_arch = "wasm32"))]
fn lesson_name(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        name: String,
    }
    crate::json::from_str::<Head>(json).ok().map(|h| h.name)
}

/// Every file of `lessons/index.json`, in its order (a test checks they agree).
#[cfg(not(target_arch = "wasm32"))]
const BUILTIN: &[&str] = &[
    include_str!("../../lessons/p1-first-replica.json"),
    include_str!("../../lessons/p2-offsets.json"),
    include_str!("../../lessons/p3-one-snapshot.json"),
    include_str!("../../lessons/p4-full-sync-anatomy.json"),
    include_str!("../../lessons/p5-partial-sync.json"),
    include_str!("../../lessons/p6-backlog-ring.json"),
    include_str!("../../lessons/p7-psync-verdicts.json"),
    include_str!("../../lessons/p8-heartbeats.json"),
    include_str!("../../lessons/p9-chained-replicas.json"),
    include_str!("../../lessons/p10-replicaof-no-one.json"),
    include_str!("../../lessons/p11-failover.json"),
    include_str!("../../lessons/p12-stale-reads.json"),
    include_str!("../../lessons/p13-full-sync-cost.json"),
    include_str!("../../lessons/i1-output-buffer-loop.json"),
    include_str!("../../lessons/i2-continue-overflow.json"),
    include_str!("../../lessons/i3-lagging-promoted.json"),
    include_str!("../../lessons/i4-backlog-ttl.json"),
    include_str!("../../lessons/i5-replica-expiry.json"),
    include_str!("../../lessons/sandbox.json"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A parameter may stand for a number (a solution step's time, a check's count), not
    /// only for text inside a string.
    #[test]
    fn parameters_fill_numbers_and_strings() {
        let json = r#"{
          "name": "t", "title": "t", "nodes": [{ "name": "m" }],
          "lesson": {
            "sequence": "primer", "order": 1,
            "params": [{ "cut_ms": "4200", "bytes": "900", "key": "k" }],
            "challenge": "c",
            "goal": [{ "text": "{{key}}", "event": "psync", "min_bytes": {{bytes}} }],
            "solution": [{ "at_ms": {{cut_ms}}, "do": "exec", "node": "m", "command": "GET {{key}}" }]
          }
        }"#;
        let s = instantiate(json, Some(3)).unwrap();
        let l = s.lesson.unwrap();
        assert_eq!(l.solution[0].at_ms, 4200);
        assert_eq!(l.goal[0].min_bytes, Some(900));
        assert_eq!(l.goal[0].text, "k");
        assert_eq!(
            placeholders_as_zero("[{{a}}, \"x{{b}}y\", {{c"),
            "[0, \"x0y\", {{c"
        );
    }

    /// A prediction may ask for the PSYNC rule, graded against the rule the engine applied.
    #[test]
    fn a_rule_is_an_answer() {
        let p = Predict {
            question: "which rule?".into(),
            before: Check::default(),
            answer: "rule".into(),
            choices: Vec::new(),
        };
        let fired = Fired {
            steps: 1,
            time_us: 1,
            rule: Some("full_resync_requested"),
            bytes: 0,
        };
        assert!(p.grade(&fired, " Full_Resync_Requested"));
        assert!(!p.grade(&fired, "replid_mismatch"));
        let stream = Fired {
            rule: None,
            ..fired
        };
        assert_eq!(p.answer_of(&stream), None);
    }
}

#[cfg(test)]
mod tests_b {
    use super::instantiate;

    /// A lesson with one parameter row, `{{n}}` used as a number and inside text.
    const JSON: &str = r#"{"name": "t", "title": "t", "nodes": [{"name": "m"}],
        "steps": [{"at_ms": {{n}}, "do": "workload", "node": "m", "rate": {{n}}}],
        "lesson": {"sequence": "primer", "order": 0, "params": [{"n": "40", "w": "1mb"}],
                   "challenge": "write {{n}} times a second, keep {{w}}",
                   "goal": [{"text": "t", "event": "psync", "has": "{{w}}"}]}}"#;

    #[test]
    fn number_parameters_fill_numbers_and_text() {
        let s = instantiate(JSON, Some(3)).unwrap();
        assert_eq!(s.steps[0].at_ms, 40);
        let step = serde_json::to_value(&s.steps[0].action).unwrap();
        assert_eq!(step["rate"], 40);
        let l = s.lesson.unwrap();
        // Inside text, and for values that are not whole numbers, the text is substituted.
        assert_eq!(l.challenge, "write 40 times a second, keep 1mb");
        assert_eq!(l.goal[0].has.as_deref(), Some("1mb"));
    }
}
