//! The UI's state outside Yew's reactivity: the timeline being shown, playback, and the
//! consoles. Components read it through `Rc<RefCell<Model>>` and re-render on each tick.

use std::collections::BTreeMap;

use crate::engine::event::{Event, LinkState};
use crate::sim::console::CONSOLE_LINE_MAX;
use crate::sim::history::Recomputed;
use crate::sim::log::LogFilter;
use crate::sim::scenario::{self, RunFile, Scenario};
use crate::sim::timeline::Timeline;
use crate::sim::{Action, SimEvent};

/// One line of a console: what was typed (with its prompt) or a reply line.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleLine {
    pub input: bool,
    pub text: String,
}

/// Lines a console shows at most (its latest).
const CONSOLE_LINES: usize = 500;

/// Lines of a console's ↑/↓ history kept (the oldest go first).
const HISTORY_KEEP: usize = 500;

/// Refused lines kept, over all consoles (the oldest go first).
const NOTES_KEEP: usize = 200;

/// How much of a refused line its note repeats.
const NOTE_LINE_CHARS: usize = 80;

/// `line` cut to [`NOTE_LINE_CHARS`] characters, with "…" when cut.
fn shortened(line: &str) -> String {
    match line.char_indices().nth(NOTE_LINE_CHARS) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// A line typed that never reached the simulation (redis-cli refused it): shown from the
/// moment it was typed on, placed after the commands typed before it.
#[derive(Clone, Debug)]
struct LocalNote {
    node: String,
    /// The moment typed, as a trace entry number.
    at: u64,
    /// How many commands the console had when it was typed.
    after: u64,
    line: String,
    text: String,
}

/// A mark under the time slider: a moment worth jumping to.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// The history entry it comes from (`u64::MAX` for a scenario step yet to run).
    n: u64,
    pub time_ms: u64,
    /// `step` (the scenario's script), `action` (the user's), `decision` (a PSYNC's),
    /// `timeout`: the mark's CSS class.
    pub kind: &'static str,
    pub title: String,
}

/// Marks the slider shows at most: past it, every other one of the run's is dropped (the
/// scenario's steps stay), so a run of hours with thousands of decisions keeps an even
/// sample instead of an unbounded list.
const MAX_SLIDER_MARKERS: usize = 300;

/// Event-log lines a transcript holds at most (the latest).
const TRANSCRIPT_LINES: usize = 5_000;

/// Speed limits of the player (virtual ms per real ms).
pub const MIN_SPEED: f64 = 0.01;
pub const MAX_SPEED: f64 = 100.0;

/// When nothing is in flight, idle time runs this many times faster, so waits (the 5 s
/// diskless delay, the 10 s PING period) do not bore a class.
const IDLE_FAST_FORWARD: f64 = 20.0;

/// Slow motion: the least real time (ms) a moving segment takes on screen, however short its
/// link (2 ms links would otherwise flash by in a frame), so that a newcomer can follow each
/// packet of a handshake, a PSYNC and a full sync.
pub const MIN_FLIGHT_MS: f64 = 600.0;

/// Why time runs at another pace than the speed asked for (the speed label says it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PaceWhy {
    Asked,
    /// Slow motion holds a packet on screen.
    SlowMotion,
    /// Nothing moves between nodes: quiet time runs [`IDLE_FAST_FORWARD`] times faster.
    QuietSkipped,
    /// The frame's simulation budget ran out (a heavy moment).
    Heavy,
}

/// Wasm memory (bytes) past which the run's history is thinned. The budgets keep the
/// busiest run at about 257 MB of wasm memory (renderer 474 MB, BENCHMARKS.md "Endurance"),
/// so passing this means something else grew: a huge value or dataset, or, after many
/// hours, the allocator's own holes (wasm memory is never given back). The page then gives
/// memory back to itself and keeps the renderer near 512 MB, long before Chromium stops a
/// tab at 4 GB.
pub const MEMORY_GUARD_BYTES: usize = 320 << 20;

/// After thinning, the guard acts again only this much further (memory never shrinks).
const MEMORY_GUARD_STEP: usize = 128 << 20;

/// The player.
pub struct Model {
    pub scenario: Scenario,
    pub seed: u64,
    pub timeline: Timeline,
    pub start_us: u64,
    pub playing: bool,
    pub speed: f64,
    /// Slow motion (see [`MIN_FLIGHT_MS`]); on when the page opens.
    pub slow_motion: bool,
    /// Virtual ms per real ms time really ran at lately (smoothed over a few frames), and
    /// why it differs from `speed` in the latest frame.
    pace: f64,
    pace_why: PaceWhy,
    /// Each console's command history (↑/↓): what the user typed, whatever the moment.
    pub typed: BTreeMap<String, Vec<String>>,
    /// Lines refused before reaching a node (bad quoting).
    notes: Vec<LocalNote>,
    /// The last error to show (bad command line, bad action).
    pub notice: Option<String>,
    /// Memory use (bytes) at which [`Model::guard_memory`] next thins the history.
    guard_at: usize,
    /// Event-log lines the history had dropped, recomputed on request (for one filter; the
    /// log forgets them when the filter changes or the run forks before them).
    pub recomputed: Option<Recomputed>,
    /// The time slider's marks of the run recorded so far (this branch), and the history
    /// entry number up to which they were looked for.
    markers: Vec<Marker>,
    marked_upto: u64,
    /// The marks of the scenario's own steps (worded once: the slider draws them each frame).
    step_markers: Vec<Marker>,
    /// The lesson being played, if the scenario is one.
    pub lesson: Option<super::lesson::LessonRun>,
}

impl Model {
    /// Loads `scenario` (with `seed` if given).
    pub fn new(scenario: Scenario, seed: Option<u64>) -> Result<Model, String> {
        let seed = seed.unwrap_or(scenario.seed);
        let timeline = scenario.build(Some(seed))?;
        let scenario_lesson = scenario.lesson.clone().map(super::lesson::LessonRun::new);
        let start_us = timeline.sim().now_us();
        let step_markers = scenario
            .steps
            .iter()
            .map(|s| Marker {
                n: u64::MAX,
                time_ms: s.at_ms,
                kind: "step",
                title: format!("script: {}", s.action.describe()),
            })
            .collect();
        Ok(Model {
            scenario,
            seed,
            timeline,
            start_us,
            playing: true,
            speed: 0.2,
            slow_motion: true,
            pace: 0.2,
            pace_why: PaceWhy::Asked,
            typed: BTreeMap::new(),
            notes: Vec::new(),
            notice: None,
            recomputed: None,
            guard_at: MEMORY_GUARD_BYTES,
            markers: Vec::new(),
            marked_upto: 0,
            step_markers,
            lesson: scenario_lesson,
        })
    }

    /// A run exported earlier, ready to replay (acting forks it).
    pub fn replay(run: RunFile) -> Result<Model, String> {
        let timeline = run.timeline()?;
        let mut model = Model::new(run.scenario, Some(run.seed))?;
        model.timeline = timeline;
        Ok(model)
    }

    /// This run as a file: scenario, seed and every action.
    pub fn run_file(&self) -> RunFile {
        let start = self.timeline.start_us();
        RunFile {
            format: Some(crate::sim::lesson::FORMAT),
            scenario: self.scenario.clone(),
            seed: self.seed,
            actions: self.timeline.inputs().to_vec(),
            at_ms: Some(self.timeline.sim().now_us().saturating_sub(start) / 1000),
        }
    }

    /// The same scenario and seed from 0 s, without the user's actions; the pace chosen
    /// stays.
    pub fn reset(&mut self) {
        let mut fresh = Model::new(self.scenario.clone(), Some(self.seed))
            .expect("a scenario that built once builds again");
        fresh.speed = self.speed;
        fresh.slow_motion = self.slow_motion;
        // A lesson starts over too, as its teacher set it up (exam, locks).
        if let (Some(new), Some(old)) = (fresh.lesson.as_mut(), self.lesson.as_ref()) {
            new.exam = old.exam;
            new.locked = old.locked.clone();
            // On its first words again, paused, as it opened.
            fresh.playing = false;
        }
        *self = fresh;
    }

    /// Looks for new marks in what the run recorded since the last call (and forgets those
    /// of a future a fork discarded).
    pub fn update_markers(&mut self) {
        if let Some(from) = self.timeline.take_forked() {
            self.markers.retain(|m| m.n < from);
            self.marked_upto = self.marked_upto.min(from);
        }
        let history = self.timeline.history();
        let from = self.marked_upto.max(history.window_start());
        let end = history.end();
        for n in from..end {
            let Some(e) = history.get(n) else { break };
            let kind = match &e.event {
                SimEvent::Action(_) => "action",
                SimEvent::Engine(Event::PsyncDecided { .. }) => "decision",
                SimEvent::Engine(Event::Timeout { .. }) => "timeout",
                _ => continue,
            };
            let title = crate::sim::log::text(e).unwrap_or_default();
            let node = &e.node;
            self.markers.push(Marker {
                n,
                time_ms: e.time_us.saturating_sub(self.start_us) / 1000,
                kind,
                title: format!("{node}: {title}"),
            });
        }
        self.marked_upto = end;
        if self.markers.len() > MAX_SLIDER_MARKERS {
            let mut keep = false;
            self.markers.retain(|_| {
                keep = !keep;
                keep
            });
        }
    }

    /// The time slider's marks: the scenario's steps (those still to come too), then what
    /// the run recorded (an action at the very moment of a step is that step).
    pub fn markers(&self) -> impl Iterator<Item = &Marker> {
        let run = self.markers.iter().filter(|m| {
            m.kind != "action" || !self.step_markers.iter().any(|s| s.time_ms == m.time_ms)
        });
        self.step_markers.iter().chain(run)
    }

    /// A handout of the run up to the moment shown: the scenario, every PSYNC decision the
    /// run keeps with what followed it, and the event log's lines under `filter` (oldest
    /// first, at most [`TRANSCRIPT_LINES`]).
    pub fn transcript(&self, filter: &LogFilter) -> String {
        let secs = |ms: u64| format!("{:>9.3} s", ms as f64 / 1000.0);
        let snap = self.timeline.sim().snapshot(self.start_us);
        let mut out = format!(
            "replscope · {} · seed {} · at {}\n{}\n\nPSYNC decisions\n",
            self.scenario.title,
            self.seed,
            secs(self.time_ms()).trim_start(),
            self.scenario.description
        );
        for p in &snap.psyncs {
            let i = &p.decision.inputs;
            let reply = if p.decision.is_continue() {
                "+CONTINUE"
            } else {
                "+FULLRESYNC"
            };
            out += &format!(
                "{}  {} asked {}: PSYNC {} {} → {reply}: {}\n",
                secs(p.time_ms),
                p.replica,
                p.node,
                i.requested_replid,
                i.requested_offset,
                p.decision.explanation()
            );
            for step in &p.steps {
                out += &format!("             {step}\n");
            }
        }
        out += "\nEvents\n";
        let log = self.timeline.log_lines(
            filter,
            self.start_us,
            TRANSCRIPT_LINES,
            self.recomputed.as_ref(),
        );
        for l in log.lines {
            out += &format!("{}  {:<4} {}\n", secs(l.ms), l.node, l.text);
        }
        out
    }

    /// The built-in scenario named `name`, or the first one.
    pub fn builtin(name: Option<&str>, seed: Option<u64>) -> Model {
        let s = name
            .and_then(scenario::builtin_named)
            .unwrap_or_else(|| scenario::builtin().remove(0));
        Model::new(s, seed).expect("built-in scenarios build")
    }

    /// Virtual ms since the start.
    pub fn time_ms(&self) -> u64 {
        (self.timeline.sim().now_us() - self.start_us) / 1000
    }

    /// Advances playback by `real_ms` of wall-clock time, doing at most `max_steps`
    /// simulation steps so that a frame never blocks the page; a heavy moment then plays a
    /// little slower instead of freezing.
    pub fn tick(&mut self, real_ms: f64, max_steps: u64) {
        // Whatever moved the run since the last frame (playing, a seek, a step) may have
        // stopped a replay.
        self.note_replay_stop();
        // A prediction on screen holds time right before its event until it is answered.
        if self
            .lesson
            .as_ref()
            .is_some_and(|l| matches!(l.predicting, Some(super::lesson::Predicting::Asking(_))))
        {
            self.playing = false;
        }
        if !self.playing {
            return;
        }
        let sim = self.timeline.sim();
        let before = sim.now_us();
        let busy = sim.has_moving_packets();
        // A challenge against the clock ("within 10 s of…") runs quiet time at the speed
        // asked for: skipped, the student's seconds would pass in a blink.
        let timed = self.lesson.as_ref().is_some_and(|l| {
            l.at_challenge() && l.block.goal.iter().any(|c| c.within_ms.is_some())
        });
        let (mut per_ms, mut why) = if busy || timed {
            (self.speed, PaceWhy::Asked)
        } else {
            (self.speed * IDLE_FAST_FORWARD, PaceWhy::QuietSkipped)
        };
        if let Some(flight_us) = sim.shortest_flight_us().filter(|_| self.slow_motion) {
            let slow = flight_us as f64 / 1000.0 / MIN_FLIGHT_MS;
            if slow < per_ms {
                (per_ms, why) = (slow, PaceWhy::SlowMotion);
            }
        }
        let advance_us = (real_ms * per_ms * 1000.0).max(1.0) as u64;
        let target = before + advance_us;
        // Never jump over the first packet of a burst: fast-forwarding stops right after the
        // step that sends it. (Stopping at every event instead made a scenario whose clients
        // write locally, with no packet between nodes yet, crawl from one write to the next.)
        let done = self
            .timeline
            .run_until_us_or(target, max_steps, |sim| !busy && sim.has_moving_packets());
        let sim = self.timeline.sim();
        let ran = (sim.now_us() - before) as f64 / 1000.0 / real_ms;
        // Stopped short: by the step budget, unless by the first packet after quiet time.
        let first_packet = !busy && sim.has_moving_packets();
        if !done && !first_packet && ran < per_ms * 0.8 {
            why = PaceWhy::Heavy;
        }
        // Smoothed over a few frames of the same kind; a new kind shows its own pace at once
        // (an average of slow motion and skipped quiet time would be no pace the page ran at).
        self.pace = if why == self.pace_why {
            0.8 * self.pace + 0.2 * ran
        } else {
            ran
        };
        self.pace_why = why;
        self.lesson_after_tick();
    }

    /// A replayed run whose recording does not fit stops replaying where it went wrong
    /// ([`crate::sim::timeline::Timeline::take_replay_stopped`]): the page says so (once, on
    /// the next frame) rather than play on as if the file had been replayed whole.
    fn note_replay_stop(&mut self) {
        if let Some(why) = self.timeline.take_replay_stopped() {
            self.notice = Some(why);
        }
    }

    /// The speed asked for, as the speed slider's label says it.
    pub fn speed_words(&self) -> String {
        format!("speed {}×", short_number(self.speed))
    }

    /// Beside the clock: the pace time really runs at when it is not the speed asked for,
    /// and why (slow motion, quiet time skipped, a heavy moment), so that the page never
    /// claims a pace it does not run at. Empty when paused or at the speed asked for.
    pub fn pace_words(&self) -> String {
        let why = match self.pace_why {
            _ if !self.playing => return String::new(),
            PaceWhy::Asked => return String::new(),
            PaceWhy::SlowMotion => "slow motion",
            PaceWhy::QuietSkipped => "quiet time skipped",
            PaceWhy::Heavy => "heavy moment",
        };
        format!("now {}× · {why}", short_number(self.pace))
    }

    /// The memory guard: past [`MEMORY_GUARD_BYTES`] of `used` memory, halves what the
    /// history and checkpoints may hold and tells the user why seeks got slower.
    pub fn guard_memory(&mut self, used: usize) {
        if used < self.guard_at {
            return;
        }
        self.guard_at = used + MEMORY_GUARD_STEP;
        self.notice = Some(if self.timeline.shed_memory() {
            format!(
                "memory is short ({} MB): the run's history was thinned; going back in time is slower",
                used >> 20
            )
        } else {
            format!(
                "memory is short ({} MB): the data itself is too big; reload with a smaller run",
                used >> 20
            )
        });
    }

    /// One step forward (pauses playback).
    pub fn step(&mut self) {
        self.playing = false;
        self.timeline.step();
        self.lesson_after_tick();
    }

    /// One step back (pauses playback).
    pub fn step_back(&mut self) {
        self.playing = false;
        let steps = self.timeline.sim().steps();
        if steps > 0 {
            self.timeline.seek_step(steps - 1);
        }
    }

    /// Runs until the next event worth a student's attention (a decision, a sync, a timeout,
    /// a link change, an action), at most 120 s ahead.
    pub fn next_interesting(&mut self) {
        self.playing = false;
        let limit = self.timeline.sim().now_us() + 120_000_000;
        while self.timeline.sim().now_us() < limit {
            let seen = self.timeline.sim().trace_len();
            if !self.timeline.step() {
                break;
            }
            let interesting = self
                .timeline
                .trace_since(seen)
                .iter()
                .any(|t| match &t.event {
                    SimEvent::Engine(e) => matches!(
                        e,
                        Event::PsyncDecided { .. }
                            | Event::BgsaveStarted { .. }
                            | Event::RdbLoaded { .. }
                            | Event::Timeout { .. }
                            | Event::LinkStateChanged {
                                state: LinkState::Connected | LinkState::Transfer
                            }
                            | Event::BacklogWrapped { .. }
                            | Event::OutputBufferLimit { .. }
                            | Event::RoleChanged { .. }
                    ),
                    SimEvent::Action(_)
                    | SimEvent::Skipped { .. }
                    | SimEvent::ScriptDone
                    | SimEvent::StaleRead { .. } => true,
                    _ => false,
                });
            if interesting {
                break;
            }
        }
    }

    /// Jumps to `ms` since the start (both directions).
    pub fn seek_ms(&mut self, ms: u64) {
        self.timeline.seek_time_us(self.start_us + ms * 1000);
    }

    /// Recomputes up to `limit` event-log lines `filter` shows from before the oldest one
    /// known (kept by the history or recomputed already), and adds them to `recomputed`.
    pub fn recompute_log(&mut self, filter: &LogFilter, limit: usize) {
        let shown = self.timeline.sim().trace_len();
        let complete_from = self
            .timeline
            .history()
            .log_complete_from(&filter.kinds)
            .min(shown);
        let known = self
            .recomputed
            .take()
            .filter(|r| r.to >= complete_from && r.from <= shown);
        let to = known.as_ref().map_or(complete_from, |r| r.from);
        if to == 0 {
            self.recomputed = known;
            return;
        }
        let mut more = self.timeline.recompute_log(to, filter, limit);
        if let Some(known) = known {
            let mut entries = known.entries;
            entries.append(&mut more.entries);
            more = Recomputed {
                from: more.from,
                to: known.to,
                entries,
            };
        }
        self.recomputed = Some(more);
    }

    /// Types `line` into `node`'s console.
    pub fn exec(&mut self, node: &str, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let action = Action::Exec {
            node: node.to_string(),
            command: line.to_string(),
        };
        // Lines the console refuses never reach the simulation (not a fork): redis-cli's
        // own error for bad quoting, the page's limit for a line too long to keep.
        let refused = crate::sim::console::refuse_line(&action).or_else(|| {
            crate::engine::resp::split_args(line.as_bytes())
                .is_none()
                .then(|| "Invalid argument(s)".to_string())
        });
        if line.len() <= CONSOLE_LINE_MAX {
            let history = self.typed.entry(node.to_string()).or_default();
            if history.last().map(String::as_str) != Some(line) {
                history.push(line.to_string());
                if history.len() > HISTORY_KEEP {
                    history.remove(0);
                }
            }
        }
        let Some(text) = refused else {
            return self.act(action);
        };
        let sim = self.timeline.sim();
        let after = sim
            .index_of(node)
            .and_then(|i| sim.console_log(i))
            .map_or(0, |log| log.typed_count());
        if self.notes.len() == NOTES_KEEP {
            self.notes.remove(0);
        }
        self.notes.push(LocalNote {
            node: node.to_string(),
            at: sim.trace_len(),
            after,
            line: shortened(line),
            text,
        });
    }

    /// Applies a user action (a fault, a console command, …); a refusal shows as the notice.
    pub fn act(&mut self, action: Action) {
        if let Err(why) = self.try_act(action) {
            self.notice = Some(why);
        }
    }

    /// Applies a user action, or says why it was refused (the lesson forbids it, the run
    /// cannot hold it, the simulation has no such node…).
    fn try_act(&mut self, action: Action) -> Result<(), String> {
        if let Some(why) = self.lesson.as_ref().and_then(|l| l.refuses(&action)) {
            return Err(why);
        }
        if self.timeline.is_rewound() {
            self.fork();
        }
        self.timeline.act(action)
    }

    /// Acting in the past starts a new future here: what the model keeps of the discarded
    /// one goes (the timeline drops the rest when it records the action).
    fn fork(&mut self) {
        let now = self.timeline.sim().trace_len();
        self.notes.retain(|n| n.at <= now);
        // Recomputed lines of the discarded future are not this branch's.
        if self.recomputed.as_ref().is_some_and(|r| r.to > now) {
            self.recomputed = None;
        }
    }

    /// What `node`'s console shows at the moment shown: the commands typed there by then
    /// (on this branch), each with its reply if it had arrived, as redis-cli prints them.
    pub fn console_lines(&self, node: &str) -> Vec<ConsoleLine> {
        let sim = self.timeline.sim();
        let now = sim.trace_len();
        let log = sim.index_of(node).and_then(|i| sim.console_log(i));
        let mut notes = self
            .notes
            .iter()
            .filter(|n| n.node == node && n.at <= now)
            .peekable();
        let mut lines = Vec::new();
        let prompt = |line: &str| ConsoleLine {
            input: true,
            text: format!("{node}:6379> {line}"),
        };
        let mut number = log.map_or(0, |l| l.dropped);
        if number > 0 {
            lines.push(ConsoleLine {
                input: false,
                text: format!("({number} earlier commands are not kept)"),
            });
        }
        let mut note_lines = |lines: &mut Vec<ConsoleLine>, upto: u64| {
            while let Some(n) = notes.next_if(|n| n.after <= upto) {
                lines.push(prompt(&n.line));
                lines.push(ConsoleLine {
                    input: false,
                    text: n.text.clone(),
                });
            }
        };
        for typed in log.into_iter().flat_map(|l| l.entries()) {
            note_lines(&mut lines, number);
            lines.push(prompt(&typed.command));
            lines.extend(
                typed
                    .reply_lines()
                    .into_iter()
                    .map(|text| ConsoleLine { input: false, text }),
            );
            // A blocked command (BLPOP, WAIT…) says it waits; lines typed meanwhile go on a
            // new connection, as in a second redis-cli.
            if typed.is_waiting() && typed.blocks() {
                lines.push(ConsoleLine {
                    input: false,
                    text: crate::sim::console::BLOCKED_WAITING.into(),
                });
            }
            number += 1;
        }
        note_lines(&mut lines, u64::MAX);
        // A command typed while paused waits for time to run: say so rather than look stuck.
        let waiting = log.and_then(|l| l.last()).is_some_and(|t| t.is_waiting());
        if waiting && !self.playing {
            lines.push(ConsoleLine {
                input: false,
                text: "(paused: the reply comes when time runs; press Play)".into(),
            });
        }
        let len = lines.len();
        lines.split_off(len.saturating_sub(CONSOLE_LINES))
    }

    /// Types `command` on `node`'s console and runs the timeline until its reply is in (at
    /// most 60 s of virtual time): the reply, as redis-cli would print it. Replies to earlier
    /// commands still on their way go to the console as usual. A command that blocks on keys
    /// (BLPOP…) answers [`BLOCKED_WAITING`](crate::sim::console::BLOCKED_WAITING) as soon as
    /// the node holds it: nothing but another command can serve it, so running on would only
    /// burn time (its timeout still runs with the timeline).
    pub fn exec_and_wait(&mut self, node: &str, command: &str) -> Result<Vec<String>, String> {
        let index = self.timeline.sim().lookup(node)?;
        match crate::engine::resp::split_args(command.as_bytes()) {
            None => return Err("Invalid argument(s)".into()),
            Some(argv) if argv.is_empty() => return Err("empty command".into()),
            Some(_) => {}
        }
        let sent = self.try_act(Action::Exec {
            node: node.to_string(),
            command: command.to_string(),
        });
        if let Err(why) = &sent {
            self.notice = Some(why.clone());
        }
        sent?;
        let limit = self.timeline.sim().now_us() + 60_000_000;
        // Ours is the console's last command: run until it has its reply.
        fn ours(m: &Model, index: usize) -> Option<&crate::sim::console::Typed> {
            m.timeline.sim().console_log(index)?.last()
        }
        while ours(self, index).is_some_and(|t| t.is_waiting())
            && !self.timeline.sim().console_blocked_on_keys(index)
            && self.timeline.sim().now_us() < limit
        {
            if !self.timeline.step() {
                break;
            }
        }
        let typed = ours(self, index).ok_or("the command was not sent")?;
        if typed.is_waiting() && self.timeline.sim().console_blocked_on_keys(index) {
            return Ok(vec![crate::sim::console::BLOCKED_WAITING.into()]);
        }
        if typed.is_waiting() {
            return Err("no reply within 60 s of virtual time".into());
        }
        Ok(typed.reply_lines())
    }
}

/// A pace with two significant digits or so (0.0033, 0.20, 4.0, 20).
fn short_number(x: f64) -> String {
    match x {
        x if x >= 10.0 => format!("{x:.0}"),
        x if x >= 1.0 => format!("{x:.1}"),
        x if x >= 0.1 => format!("{x:.2}"),
        x if x >= 0.01 => format!("{x:.3}"),
        x => format!("{x:.4}"),
    }
}
