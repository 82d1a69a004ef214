//! A lesson being played: where the student is in its narration, what is unlocked (hints),
//! what is locked (tools), the prediction asked, and earlier attempts kept as branches. The
//! goal's checklist itself is not here: it is the simulation's checker, so it follows every
//! seek exactly.

use std::rc::Rc;

use super::model::Model;
use crate::sim::checker::{Fired, ItemStatus, Score};
use crate::sim::lesson::{forbid_words, LessonBlock};
use crate::sim::scenario::RunFile;
use crate::sim::timeline::{Origin, Recorded};
use crate::sim::Action;

/// Earlier attempts a lesson keeps (the latest), each a run to return to.
pub const MAX_BRANCHES: usize = 8;

/// Real seconds after the challenge opens before the next hint unlocks by itself.
pub const HINT_AFTER_S: f64 = 90.0;

/// What a prediction is at.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicting {
    /// Not asked yet: the run stops right before its event.
    Waiting,
    /// The run stands one step before the event; the question is on screen.
    Asking(Fired),
    /// Answered (`right`), with the engine's answer.
    Answered {
        given: String,
        right: bool,
        engine: String,
    },
}

/// An earlier attempt: its actions and the moment it was left at.
#[derive(Clone, Debug)]
pub struct Branch {
    pub label: String,
    pub actions: Vec<Recorded>,
    pub at_us: u64,
    pub solution: bool,
}

/// The lesson state of a [`Model`].
#[derive(Clone, Debug)]
pub struct LessonRun {
    pub block: Rc<LessonBlock>,
    /// The narration step shown; `intro.len()` is the challenge.
    pub step: usize,
    /// When each step was reached (virtual µs; a step not reached by Next: the start),
    /// for ◂ Back and for waits.
    began_us: Vec<u64>,
    /// The step's wait happened: its sentence, shown until the next step.
    pub said: Option<String>,
    /// Hints unlocked.
    pub hints: usize,
    /// Exam mode: no solution, no hints.
    pub exam: bool,
    /// Action kinds the page refuses (the lesson's `forbid`, plus `lock=` from the link).
    pub locked: Vec<String>,
    /// This run plays the reference solution: solving it counts as *seen*.
    pub solution: bool,
    pub predicting: Option<Predicting>,
    pub branches: Vec<Branch>,
    /// Wall-clock ms when the challenge opened (hints unlock after a while).
    pub challenge_opened_ms: Option<f64>,
}

impl LessonRun {
    pub fn new(block: LessonBlock) -> LessonRun {
        let locked = block.forbid.clone();
        LessonRun {
            predicting: block.predict.as_ref().map(|_| Predicting::Waiting),
            block: Rc::new(block),
            step: 0,
            began_us: Vec::new(),
            said: None,
            hints: 0,
            exam: false,
            locked,
            solution: false,
            branches: Vec::new(),
            challenge_opened_ms: None,
        }
    }

    /// True on the challenge (after the narration).
    pub fn at_challenge(&self) -> bool {
        self.step >= self.block.intro.len()
    }

    /// Why `action` is refused during this lesson, if it is.
    pub fn refuses(&self, action: &Action) -> Option<String> {
        let kind = crate::sim::checker::action_kind(action);
        self.locked.iter().any(|k| k == kind).then(|| {
            let why = if self.block.forbid.iter().any(|k| k == kind) {
                self.block.forbid_why.clone()
            } else {
                "Your teacher locked it for this lesson.".into()
            };
            format!("This lesson is done {}: {why}", lock_words(kind))
        })
    }
}

/// "without killing a node", for a locked kind.
pub fn lock_words(kind: &str) -> String {
    format!("without {}", forbid_words(kind))
}

/// What the lesson panel shows, read from the model once per frame.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonView {
    pub title: String,
    /// Whether time runs (the panel says how to start it).
    pub playing: bool,
    pub step: usize,
    pub steps: usize,
    pub text: String,
    pub said: Option<String>,
    pub waiting: bool,
    pub challenge: String,
    pub checklist: Vec<ItemStatus>,
    pub misconceptions: Vec<String>,
    pub hints: Vec<String>,
    pub hints_left: usize,
    pub exam: bool,
    pub solved: Option<(f64, bool)>,
    pub score: Option<Score>,
    pub explain: String,
    pub predicting: Option<Predicting>,
    pub question: Option<(String, Vec<String>)>,
    pub incident: Option<crate::sim::lesson::Incident>,
    /// Our log line for the incident's moment, if the run logged it yet.
    pub our_line: Option<String>,
    pub branches: Vec<String>,
    pub solution: bool,
    pub highlight: Option<String>,
}

impl Model {
    /// The panel's view of the lesson, if one is played.
    pub fn lesson_view(&self) -> Option<LessonView> {
        let l = self.lesson.as_ref()?;
        let b = &l.block;
        let sim = self.timeline.sim();
        let checker = sim.checker();
        let narration = b.intro.get(l.step);
        let waiting = narration.is_some_and(|n| n.wait.is_some()) && l.said.is_none();
        let solved = checker
            .and_then(|c| c.solved_at_us())
            .map(|at| ((at - self.start_us) as f64 / 1e6, l.solution));
        let our_line = b.incident.as_ref().and_then(|i| {
            // Any line of the event log (a log line, a command from the master…).
            self.timeline.trace().iter().find_map(|e| {
                let text = crate::sim::log::text(e)?;
                text.contains(&i.our_log).then(|| {
                    format!(
                        "{:.3} s {}: {text}",
                        (e.time_us - self.start_us) as f64 / 1e6,
                        e.node
                    )
                })
            })
        });
        Some(LessonView {
            playing: self.playing,
            title: self.scenario.title.clone(),
            step: l.step,
            steps: b.intro.len(),
            text: narration.map(|n| n.text.clone()).unwrap_or_default(),
            said: l.said.clone(),
            waiting,
            challenge: b.challenge.clone(),
            checklist: checker.map(|c| c.status_live(sim)).unwrap_or_default(),
            misconceptions: checker
                .map(|c| c.misconceptions().into_iter().map(String::from).collect())
                .unwrap_or_default(),
            hints: if l.exam {
                Vec::new()
            } else {
                b.hints[..l.hints.min(b.hints.len())].to_vec()
            },
            hints_left: if l.exam {
                0
            } else {
                b.hints.len().saturating_sub(l.hints)
            },
            exam: l.exam,
            solved,
            score: solved.and(checker.map(|c| c.score_now(sim))),
            explain: b.explain.clone(),
            predicting: l.predicting.clone(),
            question: b
                .predict
                .as_ref()
                .map(|p| (p.question.clone(), p.choices.clone())),
            incident: b.incident.clone(),
            our_line,
            branches: l.branches.iter().map(|br| br.label.clone()).collect(),
            solution: l.solution,
            highlight: narration.and_then(|n| n.highlight.clone()),
        })
    }

    /// After a frame: stops at a narration step's wait, or right before a prediction's
    /// event, and keeps the progress record.
    pub fn lesson_after_tick(&mut self) {
        let Some(l) = self.lesson.as_ref() else {
            return;
        };
        let Some(checker) = self.timeline.sim().checker() else {
            return;
        };
        // A narration step waiting for its moment: stop there, say it (at once, if the
        // moment passed before the step was reached: time does not jump back for it).
        if let Some(w) = l.block.wait_watch(l.step).filter(|_| l.said.is_none()) {
            if let Some(fired) = checker.fired(w).cloned() {
                let say = l.block.intro[l.step]
                    .say
                    .clone()
                    .unwrap_or_else(|| "There.".into());
                let began = l.began_us.get(l.step).copied().unwrap_or(self.start_us);
                if fired.time_us >= began {
                    if self.timeline.sim().steps() > fired.steps {
                        self.timeline.seek_step(fired.steps);
                    }
                    self.playing = false;
                }
                if let Some(l) = self.lesson.as_mut() {
                    l.said = Some(say);
                }
                return;
            }
        }
        // A prediction: stop one step before its event, and ask.
        let l = self.lesson.as_ref().expect("checked above");
        if l.predicting == Some(Predicting::Waiting) {
            let fired = l
                .block
                .predict_watch()
                .and_then(|w| checker.fired(w))
                .cloned();
            if let Some(fired) = fired {
                self.timeline.seek_step(fired.steps.saturating_sub(1));
                self.playing = false;
                if let Some(l) = self.lesson.as_mut() {
                    l.predicting = Some(Predicting::Asking(fired));
                }
            }
        }
    }

    /// Next ▸: the next narration step (its demonstration runs, its wait plays on).
    pub fn lesson_next(&mut self) {
        let now = self.timeline.sim().now_us();
        let Some(l) = self.lesson.as_mut() else {
            return;
        };
        if l.at_challenge() {
            return;
        }
        // A step waiting for its moment plays until it comes (its button says "Play ▸"):
        // going on before it would skip what the step is about.
        if l.block.wait_watch(l.step).is_some() && l.said.is_none() {
            self.playing = true;
            return;
        }
        l.step += 1;
        l.began_us.resize(l.step, self.start_us);
        l.began_us.push(now);
        l.said = None;
        let demo = l
            .block
            .intro
            .get(l.step)
            .map(|n| n.demo.clone())
            .unwrap_or_default();
        let waits = l.block.wait_watch(l.step).is_some();
        let challenge = l.at_challenge();
        if challenge && l.challenge_opened_ms.is_none() {
            l.challenge_opened_ms = Some(super::now_ms());
        }
        let has_demo = !demo.is_empty();
        for a in demo {
            self.timeline.schedule(now, Origin::Lesson, a);
        }
        // Time runs for what the step shows (its wait, its demonstration). The challenge
        // opens paused, at the pace asked for (no slow motion: its timings are the point),
        // until the student presses Play.
        if challenge {
            self.playing = false;
            self.slow_motion = false;
        } else if waits || has_demo {
            self.playing = true;
        }
    }

    /// ◂ Back: the previous step, at the moment it began (real time travel).
    pub fn lesson_back(&mut self) {
        let Some(l) = self.lesson.as_mut() else {
            return;
        };
        if l.step == 0 {
            return;
        }
        l.step -= 1;
        l.said = None;
        let at = l.began_us.get(l.step).copied().unwrap_or(self.start_us);
        self.playing = false;
        self.timeline.seek_time_us(at);
    }

    /// Unlocks the next hint (not in exam mode).
    pub fn lesson_hint(&mut self) {
        if let Some(l) = self.lesson.as_mut().filter(|l| !l.exam) {
            l.hints = (l.hints + 1).min(l.block.hints.len());
        }
    }

    /// Unlocks a hint by itself once the challenge has been open [`HINT_AFTER_S`] per hint
    /// shown, or when the run matches a misconception (a failed attempt).
    pub fn lesson_hint_clock(&mut self, now_ms: f64) {
        let wrong = self
            .timeline
            .sim()
            .checker()
            .is_some_and(|c| !c.misconceptions().is_empty());
        let Some(l) = self.lesson.as_mut().filter(|l| !l.exam) else {
            return;
        };
        let Some(opened) = l.challenge_opened_ms else {
            return;
        };
        let due = ((now_ms - opened) / 1000.0 / HINT_AFTER_S) as usize;
        let floor = if wrong { 1 } else { 0 };
        l.hints = l.hints.max(due.max(floor)).min(l.block.hints.len());
    }

    /// The student's answer to the prediction; the run then goes on.
    pub fn lesson_answer(&mut self, given: &str) {
        let Some(l) = self.lesson.as_mut() else {
            return;
        };
        let (Some(Predicting::Asking(fired)), Some(p)) = (&l.predicting, &l.block.predict) else {
            return;
        };
        let engine = p.answer_of(fired).unwrap_or_default();
        let right = p.grade(fired, given);
        l.predicting = Some(Predicting::Answered {
            given: given.to_string(),
            right,
            engine,
        });
        self.playing = true;
    }

    /// The current attempt, kept as a branch (the latest [`MAX_BRANCHES`]).
    fn keep_branch(&mut self) {
        let actions = self.timeline.inputs().to_vec();
        let at_us = self.timeline.sim().now_us();
        let start = self.start_us;
        let Some(l) = self.lesson.as_mut() else {
            return;
        };
        if !actions.iter().any(|r| r.origin != Origin::Scenario) {
            return; // nothing of the student's to keep
        }
        let label = format!(
            "{} {} (at {:.1} s)",
            if l.solution { "solution" } else { "attempt" },
            l.branches.len() + 1,
            (at_us - start) as f64 / 1e6
        );
        if l.branches.len() == MAX_BRANCHES {
            l.branches.remove(0);
        }
        l.branches.push(Branch {
            label,
            actions,
            at_us,
            solution: l.solution,
        });
    }

    /// Starts the lesson's run again from 0 s with `then` scheduled as the student's
    /// actions; the lesson's own state (step, hints, branches) stays.
    fn restart_lesson(&mut self, solution: bool) {
        self.keep_branch();
        let Some(mut l) = self.lesson.take() else {
            return;
        };
        let Ok(mut fresh) = Model::new(self.scenario.clone(), Some(self.seed)) else {
            self.lesson = Some(l);
            return;
        };
        if solution {
            let start = fresh.start_us;
            for s in &l.block.solution {
                fresh
                    .timeline
                    .schedule(start + s.at_ms * 1000, Origin::User, s.action.clone());
            }
        }
        l.solution = solution;
        l.said = None;
        l.began_us.clear();
        l.step = l.block.intro.len();
        l.predicting = l.block.predict.as_ref().map(|_| Predicting::Waiting);
        fresh.speed = self.speed;
        // The solution plays at once; an attempt waits for Play, as the challenge did.
        fresh.slow_motion = false;
        fresh.lesson = Some(l);
        fresh.playing = solution;
        *self = fresh;
    }

    /// Show solution: the reference solution plays on a fresh run (the attempt is kept as a
    /// branch); a lesson solved that way is *seen*, not *solved*. Not in exam mode.
    pub fn lesson_show_solution(&mut self) {
        if self.lesson.as_ref().is_some_and(|l| !l.exam) {
            self.restart_lesson(true);
        }
    }

    /// Try again: a fresh run of the challenge; the attempt is kept as a branch.
    pub fn lesson_try_again(&mut self) {
        self.restart_lesson(false);
    }

    /// Returns to branch `i` (the current attempt is kept as a branch first).
    pub fn lesson_branch(&mut self, i: usize) {
        let Some(branch) = self
            .lesson
            .as_ref()
            .and_then(|l| l.branches.get(i).cloned())
        else {
            return;
        };
        self.keep_branch();
        let Some(mut l) = self.lesson.take() else {
            return;
        };
        l.branches.retain(|b| b.label != branch.label);
        let run = RunFile {
            format: None,
            scenario: self.scenario.clone(),
            seed: self.seed,
            actions: branch.actions,
            at_ms: None,
        };
        match Model::replay(run) {
            Ok(mut m) => {
                m.timeline.seek_time_us(branch.at_us);
                m.playing = false;
                m.speed = self.speed;
                m.slow_motion = self.slow_motion;
                l.solution = branch.solution;
                l.said = None;
                l.step = l.block.intro.len();
                m.lesson = Some(l);
                *self = m;
            }
            Err(e) => {
                self.notice = Some(e);
                self.lesson = Some(l);
            }
        }
    }

    /// The lesson's progress word for the record: `solved`, `seen` or none yet.
    pub fn lesson_progress(&self) -> Option<&'static str> {
        let l = self.lesson.as_ref()?;
        self.timeline.sim().checker()?.solved_at_us()?;
        Some(if l.solution { "seen" } else { "solved" })
    }
}

/// Splits a lesson's text on backquotes: (is code, text) pieces.
pub fn code_spans(text: &str) -> Vec<(bool, String)> {
    text.split('`')
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| (i % 2 == 1, s.to_string()))
        .collect()
}

impl Model {
    /// This session as a scenario file to edit into a lesson: the nodes and settings, the
    /// scenario's steps and the student's actions as steps at their times, and a lesson
    /// block (this lesson's, or a sandbox skeleton to fill in).
    pub fn skeleton(&self) -> String {
        use crate::sim::lesson::{Narration, FORMAT};
        use crate::sim::scenario::ScenarioStep;
        let mut s = self.scenario.clone();
        s.format = Some(FORMAT);
        s.seed = self.seed;
        s.steps = self
            .timeline
            .inputs()
            .iter()
            .map(|r| ScenarioStep {
                at_ms: (r.time_us - self.start_us) / 1000,
                action: r.action.clone(),
            })
            .collect();
        s.until_ms = s.until_ms.max(self.time_ms());
        if s.lesson.is_none() {
            s.name = format!("{}-lesson", s.name);
            s.title = format!("{} (my lesson)", s.title);
            s.lesson = Some(LessonBlock {
                sequence: "sandbox".into(),
                order: 0,
                params: Vec::new(),
                intro: vec![Narration {
                    text: "Say what the student sees here.".into(),
                    demo: Vec::new(),
                    wait: None,
                    say: None,
                    highlight: None,
                }],
                challenge: "Write the challenge here, then its goal as checks.".into(),
                moments: Default::default(),
                goal: Vec::new(),
                forbid: Vec::new(),
                forbid_why: String::new(),
                hints: Vec::new(),
                misconceptions: Vec::new(),
                predict: None,
                solution: Vec::new(),
                wrong: Vec::new(),
                explain: String::new(),
                incident: None,
            });
        }
        crate::json::to_string(&s).unwrap_or_default()
    }
}
