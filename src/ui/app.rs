//! The root component: controls, topology, panels and consoles around one [`Model`], which
//! lives outside Yew's reactivity; a timer advances it and forces a re-render.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use super::now_ms;

use super::catalogue::{self, Progress, SharedCatalogue};
use super::console::Console;
use super::event_log::EventLog;
use super::lesson_panel::LessonPanel;
use super::model::{Model, MAX_SPEED, MIN_SPEED};
use super::panels::{acks, BacklogRing, Inspector, PsyncPanel};
use super::spacetime::{arrows, SpaceTime};
use super::topology::Topology;
use crate::engine::keyspace::Value;
use crate::sim::log::LogFilter;
use crate::sim::{scenario, Action, SimEvent};

/// What a click may land on without closing the inspector, a link's menu or a packet's
/// words: those themselves, and what opens them (a node, a link, a packet), the playback
/// controls (stepping with the inspector open), the side column around the inspector (its
/// PSYNC decisions, the backlog), and the console picker. It acts on `click`, after what
/// the click did, so nothing moves between the press and the release.
const KEEPS_OPEN: &str =
    ".side, .node, .link, .packet, .link-menu, .packet-detail, .timebar, .console-picker";

/// What such a click closes, when it is on the page.
const OPEN_THINGS: &str = "[data-testid=inspector-close], .link-menu, .packet-detail";

/// Milliseconds between frames.
const FRAME_MS: u32 = 50;

/// Event-log lines shown at first, how many more each "Show older lines" adds, and the most
/// it shows at once (the whole run's lines are still reachable: the filter narrows, and
/// dropped ones are recomputed).
const LOG_LINES: usize = 60;
const LOG_LINES_MORE: usize = 200;
const MAX_LOG_LINES: usize = 2_000;

/// How long (virtual ms) the backlog ring keeps showing a PSYNC's requested offset.
const PSYNC_SHOWN_MS: u64 = 10_000;

/// Milliseconds of simulation work a tick may take before its step budget shrinks: little
/// at a pace a class follows (frames stay smooth; 12 nodes at 1000 writes/s need about a
/// millisecond per tick at 1×)...
const TICK_BUDGET_MS: f64 = 3.0;

/// ...and more when playing fast (above [`FAST_SPEED`]), where covering simulated time
/// matters more than smooth frames: most of each 50 ms frame, the rest for drawing.
const FAST_TICK_BUDGET_MS: f64 = 40.0;
const FAST_SPEED: f64 = 4.0;

/// The panel shown below the topology next to the consoles when the screen is too small to
/// show both (wide screens show both and no tabs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Events,
    SpaceTime,
}

impl Tab {
    fn id(self) -> &'static str {
        match self {
            Tab::Events => "events",
            Tab::SpaceTime => "space-time",
        }
    }
}

/// The shared model; the JS API (`window.replscope`) holds the same handle.
pub type Shared = Rc<RefCell<Model>>;

/// Slider position (0..=1000) ↔ speed, on a log scale.
fn speed_from_slider(v: f64) -> f64 {
    let (lo, hi) = (MIN_SPEED.ln(), MAX_SPEED.ln());
    (lo + (hi - lo) * v / 1000.0).exp()
}

fn slider_from_speed(s: f64) -> f64 {
    let (lo, hi) = (MIN_SPEED.ln(), MAX_SPEED.ln());
    ((s.clamp(MIN_SPEED, MAX_SPEED).ln() - lo) / (hi - lo) * 1000.0).round()
}

/// The scenario, seed and speed asked for in the URL (`?scenario=…&seed=…&speed=…`).
fn from_url() -> Model {
    let params = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok());
    let get = |k: &str| params.as_ref().and_then(|p| p.get(k));
    let seed = get("seed").and_then(|s| s.parse().ok());
    let asked = get("scenario");
    let mut model = Model::builtin(asked.as_deref(), seed);
    if let Some(name) = asked.filter(|n| scenario::builtin_named(n).is_none()) {
        model.notice = Some(format!(
            "there is no scenario named '{name}': here is '{}'",
            model.scenario.title
        ));
    }
    // A shared link carries the actions of its run after `#runz=`.
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    // A link made by a newer replscope could replay differently here: refused, said why.
    let newer = get("v")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| *v > crate::sim::lesson::FORMAT);
    if let Some(v) = newer {
        model.notice = Some(format!(
            "this link was made by a newer replscope (format {v}); this page reads format {} and will not replay it differently: open it with a newer replscope",
            crate::sim::lesson::FORMAT
        ));
    } else if let Some(actions) = link_actions(&hash) {
        let replayed = actions.and_then(|actions| {
            Model::replay(crate::sim::scenario::RunFile {
                format: None,
                at_ms: None,
                scenario: model.scenario.clone(),
                seed: model.seed,
                actions,
            })
        });
        match replayed {
            Ok(m) => model = m,
            Err(e) => model.notice = Some(e),
        }
    }
    if let Some(speed) = get("speed").and_then(|s| s.parse::<f64>().ok()) {
        if speed.is_finite() {
            model.speed = speed.clamp(MIN_SPEED, MAX_SPEED);
            // A pace chosen in the link is the pace: slow motion only if asked too.
            model.slow_motion = false;
        }
    }
    if let Some(slow) = get("slow") {
        model.slow_motion = slow == "1";
    }
    // A shared moment (ms, to the µs): the link opens there, paused, as its sender saw it.
    if let Some(ms) = get("t")
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        let at = model.start_us.saturating_add((ms * 1000.0).round() as u64);
        model.timeline.seek_time_us(at);
        model.playing = false;
    }
    model
}

/// The actions a Share link carries after `#runz=` (or, in links made before it, `#run=`
/// with percent-encoded JSON); `None` when it carries none.
fn link_actions(hash: &str) -> Option<Result<Vec<crate::sim::timeline::Recorded>, String>> {
    if let Some(packed) = hash.strip_prefix("#runz=") {
        return Some(crate::sim::run_link::unpack(packed));
    }
    let encoded = hash.strip_prefix("#run=")?;
    let decoded = js_sys::decode_uri_component(encoded)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    Some(
        crate::json::from_str(&decoded)
            .map_err(|e| format!("the shared link's actions are unreadable: {e}")),
    )
}

/// A lesson asked for in the URL: `?lesson=<id>&step=<n>&hints=<k>&lock=<kinds>&mode=exam`
/// (and `&seed=`); opened once its file is loaded.
#[derive(Clone, Debug, Default)]
struct LessonLink {
    name: String,
    step: usize,
    hints: usize,
    lock: Vec<String>,
    exam: bool,
    seed: Option<u64>,
    /// The shared run's actions and moment, if the link carries them.
    run: Option<(Vec<crate::sim::timeline::Recorded>, Option<f64>)>,
}

fn lesson_link() -> Option<LessonLink> {
    let params = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())?;
    let name = params.get("lesson")?;
    let num = |k: &str| params.get(k).and_then(|v| v.parse().ok());
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let newer = params
        .get("v")
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| v > crate::sim::lesson::FORMAT);
    let run = link_actions(&hash)
        .filter(|_| !newer)
        .and_then(|actions| actions.ok())
        .map(|actions| (actions, params.get("t").and_then(|t| t.parse().ok())));
    Some(LessonLink {
        name,
        step: num("step").unwrap_or(0),
        hints: num("hints").unwrap_or(0),
        lock: params
            .get("lock")
            .map(|l| {
                l.split(',')
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        exam: params.get("mode").as_deref() == Some("exam"),
        seed: params.get("seed").and_then(|v| v.parse().ok()),
        run,
    })
}

/// Opens lesson `name` of the catalogue (with `seed`; a lesson that takes parameters gets
/// a seed of its own when none is given, so two students get different numbers).
fn open_lesson(model: &Shared, cat: &SharedCatalogue, link: &LessonLink) -> Result<(), String> {
    let cat = cat.borrow();
    let Some(entry) = cat.entries.get(&link.name) else {
        return Err(format!("there is no lesson named '{}'", link.name));
    };
    let seed = link.seed.or_else(|| {
        entry
            .randomised
            .then(|| (js_sys::Math::random() * 1e6) as u64)
    });
    let scenario = crate::sim::lesson::instantiate(&entry.text, seed)?;
    let mut m = match &link.run {
        Some((actions, _)) => Model::replay(crate::sim::scenario::RunFile {
            format: None,
            at_ms: None,
            scenario: scenario.clone(),
            seed: scenario.seed,
            actions: actions.clone(),
        })?,
        None => Model::new(scenario, None)?,
    };
    let old = model.borrow();
    m.speed = old.speed;
    m.slow_motion = old.slow_motion;
    m.notice = old.notice.clone();
    drop(old);
    if let Some(l) = m.lesson.as_mut() {
        l.step = link.step.min(l.block.intro.len());
        l.hints = link.hints.min(l.block.hints.len());
        l.exam = link.exam;
        for k in &link.lock {
            if !l.locked.contains(k) {
                l.locked.push(k.clone());
            }
        }
        if l.at_challenge() {
            l.challenge_opened_ms = Some(super::now_ms());
        }
    }
    // A lesson opens paused, on its first words or on its challenge (the student reads,
    // then presses Play); its challenge at the pace asked for, without slow motion.
    m.playing = m.lesson.is_none();
    if m.lesson.as_ref().is_some_and(|l| l.at_challenge()) {
        m.slow_motion = false;
    }
    if let Some((_, Some(ms))) = &link.run {
        let at = m.start_us.saturating_add((ms * 1000.0).round() as u64);
        m.timeline.seek_time_us(at);
        m.playing = false;
    }
    *model.borrow_mut() = m;
    Ok(())
}

/// Opens a file given to the page (file picker or drop): a run, a lesson or scenario, or a
/// progress record.
fn open_file(model: &Shared, progress: &Rc<RefCell<Progress>>, name: &str, text: &str) -> String {
    if let Ok(p) = Progress::parse(text) {
        let n = p.lessons.len();
        progress.borrow_mut().merge(p);
        return format!("{name}: progress of {n} lessons loaded");
    }
    let opened = if text.contains("\"actions\"") {
        crate::sim::scenario::RunFile::parse(text).and_then(Model::replay)
    } else {
        crate::sim::lesson::instantiate(text, None).and_then(|s| Model::new(s, None))
    };
    match opened {
        Ok(mut m) => {
            let title = m.scenario.title.clone();
            let old = model.borrow();
            m.speed = old.speed;
            m.slow_motion = old.slow_motion;
            drop(old);
            *model.borrow_mut() = m;
            format!("{name}: opened '{title}'")
        }
        Err(e) => format!("{name}: {e}"),
    }
}

#[component]
pub fn App() -> Html {
    let model: Shared = use_mut_ref(from_url);
    let redraw = use_force_update();
    let selected = use_state(|| None::<String>);
    let link_menu = use_state(|| None::<(String, String)>);
    let packet = use_state(|| None::<u64>);
    let help = use_state(|| false);
    let share = use_state(|| None::<String>);
    // Whether the shared link reached the clipboard (None: not known yet).
    let copied = use_state(|| None::<bool>);
    let projector = use_state(|| false);
    let tab = use_state(|| Tab::Events);
    let log_filter = use_state(LogFilter::default);
    // How much time the space-time diagram spans.
    let st_window = use_state(|| super::spacetime::DEFAULT_WINDOW_MS);
    // How many event-log lines are asked for (more as the reader asks for older ones).
    let log_limit = use_state(|| LOG_LINES);
    let max_time = use_mut_ref(|| 0u64);
    let workload_menu = use_node_ref();
    // The console shown beside the master's (the last node clicked or picked).
    let console_pick = use_state(|| None::<String>);
    // The scenario menu's (name, title) pairs: parsed once, not on every frame.
    let scenarios = use_memo((), |_| {
        scenario::builtin()
            .into_iter()
            .map(|s| (s.name, s.title))
            .collect::<Vec<_>>()
    });
    // Keeps the link the error banner's "Reload this run" opens.
    super::error_banner::use_last_good(&model);
    // The lessons (fetched in the background), the student's progress, and a lesson the
    // link asked for, opened when its file arrives.
    let lessons: SharedCatalogue = use_mut_ref(Default::default);
    let progress = use_mut_ref(Progress::load);
    let pending = use_mut_ref(lesson_link);
    let file_input = use_node_ref();
    {
        let (lessons, pending, model, redraw) = (
            lessons.clone(),
            pending.clone(),
            model.clone(),
            redraw.clone(),
        );
        use_effect_with((), move |_| {
            let cat = lessons.clone();
            let changed = move || {
                let ready = pending
                    .borrow()
                    .as_ref()
                    .is_some_and(|l| lessons.borrow().entries.contains_key(&l.name));
                let all_in = {
                    let c = lessons.borrow();
                    c.names.len() == c.entries.len() || c.error.is_some()
                };
                if ready || (all_in && pending.borrow().is_some()) {
                    if let Some(link) = pending.borrow_mut().take() {
                        if let Err(e) = open_lesson(&model, &lessons, &link) {
                            model.borrow_mut().notice = Some(e);
                        }
                    }
                }
                redraw.force_update();
            };
            catalogue::load(cat, changed);
        });
    }

    {
        let model = model.clone();
        let redraw = redraw.clone();
        let progress = progress.clone();
        use_effect_with((), move |_| {
            super::api::install(model.clone(), redraw.clone());
            // The step budget adapts so that a tick stays within a few milliseconds.
            let budget = Rc::new(std::cell::Cell::new(500u64));
            let interval = Interval::new(FRAME_MS, move || {
                // After a crash the model may be half-updated or still borrowed: time stops.
                if super::error_banner::stopped() {
                    return;
                }
                let started = now_ms();
                let fast = {
                    let mut m = model.borrow_mut();
                    m.tick(f64::from(FRAME_MS), budget.get());
                    m.guard_memory(core::arch::wasm32::memory_size(0) * 65536);
                    m.lesson_hint_clock(started);
                    if let Some(word) = m.lesson_progress() {
                        progress.borrow_mut().record(&m.scenario.name, word);
                    }
                    m.speed > FAST_SPEED
                };
                let spent = now_ms() - started;
                let limit = if fast {
                    FAST_TICK_BUDGET_MS
                } else {
                    TICK_BUDGET_MS
                };
                // Steps scale with the time they took (within halving and +25% a tick): the
                // budget settles at the limit instead of halving at every spike.
                let b = budget.get() as f64;
                let scaled = b * (limit / spent.max(0.1)).clamp(0.5, 1.25);
                budget.set((scaled as u64).clamp(20, 100_000));
                redraw.force_update();
            });
            move || drop(interval)
        });
    }

    // Keyboard: space = play/pause, → / ← = step, n = next event, ? = help.
    {
        let model = model.clone();
        let redraw = redraw.clone();
        let help = help.clone();
        let (selected, link_menu, packet) = (selected.clone(), link_menu.clone(), packet.clone());
        use_effect_with((), move |_| {
            let listener = gloo_events_listener(move |key: String| {
                let mut m = model.borrow_mut();
                match key.as_str() {
                    " " => m.playing = !m.playing,
                    "s" => m.slow_motion = !m.slow_motion,
                    "ArrowRight" => m.step(),
                    "ArrowLeft" => m.step_back(),
                    "n" => m.next_interesting(),
                    "?" => help.set(!*help),
                    // Escape closes whatever is open: the help, the inspector, a menu.
                    "Escape" => {
                        help.set(false);
                        selected.set(None);
                        link_menu.set(None);
                        packet.set(None);
                    }
                    _ => return false,
                }
                drop(m);
                redraw.force_update();
                true
            });
            move || drop(listener)
        });
    }

    // A click outside the inspector, a node, a link's menu or a packet's words closes them,
    // as a dialog closes. Where the press landed is judged at the press (a click's handler
    // may remove its own button before the click reaches the document), and acted on after
    // the click (so nothing moves between press and release).
    {
        let (selected, link_menu, packet) = (selected.clone(), link_menu.clone(), packet.clone());
        use_effect_with((), move |_| {
            use wasm_bindgen::JsCast;
            let pressed_outside = Rc::new(std::cell::Cell::new(false));
            let listeners = web_sys::window().and_then(|w| w.document()).map(|d| {
                let outside = pressed_outside.clone();
                let press = gloo_events::EventListener::new(&d, "mousedown", move |e| {
                    let inside = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .and_then(|el| el.closest(KEEPS_OPEN).ok().flatten())
                        .is_some();
                    outside.set(!inside);
                });
                let open = d.clone();
                let click = gloo_events::EventListener::new(&d, "click", move |_| {
                    // Nothing open, or time stopped by a crash: nothing to close, and no
                    // re-render asked for.
                    let shown = open.query_selector(OPEN_THINGS).ok().flatten().is_some();
                    if pressed_outside.replace(false) && shown && !super::error_banner::stopped() {
                        selected.set(None);
                        link_menu.set(None);
                        packet.set(None);
                    }
                });
                (press, click)
            });
            move || drop(listeners)
        });
    }
    // (A crash may have left the model borrowed: the marks wait, the banner says why.)
    if let Ok(mut m) = model.try_borrow_mut() {
        m.update_markers();
    }
    let m = model.borrow();
    let snapshot = Rc::new(m.timeline.sim().snapshot(m.start_us));
    let now_ms = m.time_ms();
    {
        let mut max = max_time.borrow_mut();
        *max = (*max).max(now_ms).max(m.scenario.until_ms);
    }
    let slider_max = *max_time.borrow();

    let act = {
        let model = model.clone();
        let redraw = redraw.clone();
        Callback::from(move |a: Action| {
            model.borrow_mut().act(a);
            redraw.force_update();
        })
    };
    let on_exec = {
        let model = model.clone();
        let redraw = redraw.clone();
        Callback::from(move |(node, line): (String, String)| {
            model.borrow_mut().exec(&node, &line);
            redraw.force_update();
        })
    };
    let control = |f: fn(&mut Model)| {
        let model = model.clone();
        let redraw = redraw.clone();
        Callback::from(move |_: MouseEvent| {
            f(&mut model.borrow_mut());
            redraw.force_update();
        })
    };
    let on_speed = {
        let model = model.clone();
        Callback::from(move |e: InputEvent| {
            let v: f64 = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value()
                .parse()
                .unwrap_or(500.0);
            let mut m = model.borrow_mut();
            m.speed = speed_from_slider(v);
            // A speed chosen is the pace asked for: slow motion would override it.
            m.slow_motion = false;
        })
    };
    let on_seek = {
        let model = model.clone();
        let redraw = redraw.clone();
        Callback::from(move |e: InputEvent| {
            let v: u64 = e
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value()
                .parse()
                .unwrap_or(0);
            let mut m = model.borrow_mut();
            m.playing = false;
            m.seek_ms(v);
            drop(m);
            redraw.force_update();
        })
    };
    let on_scenario = {
        let model = model.clone();
        let share = share.clone();
        let packet = packet.clone();
        let redraw = redraw.clone();
        let selected = selected.clone();
        let max_time = max_time.clone();
        Callback::from(move |e: Event| {
            let menu = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            let name = menu.value();
            // Chosen: the keys go back to the page (→ and ↓ must not pick another scenario
            // and throw this one away).
            let _ = menu.blur();
            *model.borrow_mut() = Model::builtin(Some(&name), None);
            *max_time.borrow_mut() = 0;
            selected.set(None);
            // A link to the scenario left behind would mislead, and a packet selected there
            // would pop up later as another scenario's packet with the same number.
            share.set(None);
            packet.set(None);
            redraw.force_update();
        })
    };
    let on_reset = {
        let (model, redraw, max_time) = (model.clone(), redraw.clone(), max_time.clone());
        let (selected, share, packet) = (selected.clone(), share.clone(), packet.clone());
        Callback::from(move |_: MouseEvent| {
            model.borrow_mut().reset();
            *max_time.borrow_mut() = 0;
            selected.set(None);
            share.set(None);
            packet.set(None);
            redraw.force_update();
        })
    };
    let on_marker = {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |ms: u64| {
            let mut m = model.borrow_mut();
            m.playing = false;
            m.seek_ms(ms);
            drop(m);
            redraw.force_update();
        })
    };
    let on_select_node = {
        let selected = selected.clone();
        let link_menu = link_menu.clone();
        let console_pick = console_pick.clone();
        Callback::from(move |n: String| {
            // Clicking a node brings its console too.
            console_pick.set(Some(n.clone()));
            selected.set(Some(n));
            link_menu.set(None);
        })
    };
    let on_select_link = {
        let link_menu = link_menu.clone();
        Callback::from(move |l: (String, String)| link_menu.set(Some(l)))
    };
    let on_select_packet = {
        let packet = packet.clone();
        Callback::from(move |id: u64| packet.set(Some(id)))
    };
    let on_node_action = {
        let act = act.clone();
        let selected = selected.clone();
        Callback::from(move |what: String| {
            let Some(node) = (*selected).clone() else {
                return;
            };
            if what == "close" {
                selected.set(None);
                return;
            }
            if what == "remove" {
                // The node leaves the picture: nothing is selected any more.
                selected.set(None);
                act.emit(Action::Remove { node });
                return;
            }
            act.emit(match what.as_str() {
                "kill" => Action::Kill { node, save: false },
                "kill-save" => Action::Kill { node, save: true },
                "restart-rdb" => Action::Restart { node, rdb: true },
                "restart-empty" => Action::Restart { node, rdb: false },
                "pause" => Action::Pause { node },
                "resume" => Action::Resume { node },
                _ => Action::Exec {
                    node,
                    command: "REPLICAOF NO ONE".into(),
                },
            });
        })
    };

    // The node whose backlog and PSYNC decisions are shown: the one selected, else the one
    // that decided a PSYNC moments ago (a sub-replica's master in a chain), else the master.
    let recent_decider = snapshot
        .last_psync()
        .filter(|p| now_ms.saturating_sub(p.time_ms) <= PSYNC_SHOWN_MS && p.time_ms <= now_ms)
        .map(|p| p.node.clone());
    let focus = (*selected).clone().or(recent_decider).or_else(|| {
        snapshot
            .nodes
            .iter()
            .find(|n| n.role == "master")
            .map(|n| n.name.clone())
    });
    // That node's latest decision, and all it made that the run keeps.
    let focus_psyncs: Vec<&crate::sim::snapshot::PsyncView> = snapshot
        .psyncs
        .iter()
        .filter(|p| focus.as_ref() == Some(&p.node))
        .collect();
    let psync_story = focus_psyncs.last().map(|p| (*p).clone());
    let psync_earlier: Vec<(u64, String, bool)> = focus_psyncs
        .iter()
        .map(|p| (p.time_ms, p.replica.clone(), p.decision.is_continue()))
        .collect();
    let focus_view = focus
        .as_ref()
        .and_then(|f| snapshot.nodes.iter().find(|n| &n.name == f).cloned());
    // The inspector's settings form, only while it is open.
    let config: Vec<(String, String)> = (*selected)
        .as_ref()
        .and_then(|f| m.timeline.sim().index_of(f))
        .map(|i| {
            let c = m.timeline.sim().node(i).config();
            super::panels::SETTINGS
                .iter()
                .map(|n| (n.to_string(), c.get(n).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let (info, keys) = match focus.as_ref().and_then(|f| m.timeline.sim().index_of(f)) {
        Some(i) => {
            let node = m.timeline.sim().node(i);
            // Every non-empty database, first keys of each (db index shown when not 0).
            let keys = node
                .keyspace()
                .dbs
                .iter()
                .enumerate()
                .flat_map(|(db, entries)| entries.iter().take(30).map(move |(k, e)| (db, k, e)))
                .take(60)
                .map(|(db, k, e)| {
                    let v = match &e.value {
                        Value::String(s) => {
                            crate::sim::redis_cli::quoted(s.get(..40.min(s.len())).unwrap_or(s))
                        }
                        other => format!("({})", other.type_name()),
                    };
                    let ttl = if e.expire_at_ms.is_some() { " ⏱" } else { "" };
                    let name = String::from_utf8_lossy(k).into_owned();
                    let name = if db == 0 {
                        name
                    } else {
                        format!("db{db}:{name}")
                    };
                    (name, format!("{v}{ttl}"))
                })
                .collect();
            (node.info(Some("replication")).replace("\r\n", "\n"), keys)
        }
        None => (String::new(), Vec::new()),
    };
    // The backlog ring marks a PSYNC its node decided within the last few seconds.
    let recent_psync = psync_story
        .as_ref()
        .filter(|p| now_ms.saturating_sub(p.time_ms) <= PSYNC_SHOWN_MS)
        .map(|p| p.decision.clone());
    let log_view = m
        .timeline
        .log_lines(&log_filter, m.start_us, *log_limit, m.recomputed.as_ref());
    let log_more = log_view.lines.len() == *log_limit && *log_limit < MAX_LOG_LINES;
    let lanes: Vec<String> = snapshot.nodes.iter().map(|n| n.name.clone()).collect();
    // Behind its tab on a screen too small to show both panels (the stylesheet's breakpoint),
    // the space-time diagram is not drawn at all: its hundreds of arrows would be diffed on
    // every frame for nothing.
    let both_panels = web_sys::window().is_some_and(|w| {
        let px =
            |v: Result<wasm_bindgen::JsValue, _>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
        px(w.inner_width()) >= 1600.0 && px(w.inner_height()) >= 880.0
    });
    let st_arrows = if both_panels || *tab == Tab::SpaceTime {
        arrows(
            m.timeline.trace(),
            &lanes,
            m.timeline.sim().now_us(),
            *st_window,
        )
    } else {
        Vec::new()
    };
    // Where the history's window of whole entries begins, once it dropped older ones.
    let st_kept_from = (m.timeline.history().window_start() > 0).then(|| {
        m.timeline
            .trace()
            .first()
            .map_or(m.timeline.sim().now_us(), |e| e.time_us)
    });
    let master_name = snapshot
        .nodes
        .iter()
        .find(|n| n.role == "master" && matches!(n.process.as_str(), "up" | "asleep"))
        .map(|n| n.name.clone());
    // Two consoles, whole: the master's (the node writes go to) and the one last clicked
    // or picked, else the first other node's. The picker above them names every node.
    let first = master_name.clone().or_else(|| lanes.first().cloned());
    let second = (*console_pick)
        .clone()
        .filter(|p| lanes.contains(p) && Some(p) != first.as_ref())
        .or_else(|| lanes.iter().find(|n| Some(*n) != first.as_ref()).cloned());
    let shown_consoles: Vec<String> = first.into_iter().chain(second).collect();
    let on_workload = {
        let act = act.clone();
        let master = master_name.clone();
        Callback::from(move |e: Event| {
            let menu = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            let rate: u64 = menu.value().parse().unwrap_or(0);
            // Chosen: the keys go back to the page (see the scenario menu).
            let _ = menu.blur();
            if let Some(node) = master.clone() {
                act.emit(Action::Workload {
                    node,
                    rate,
                    keys: 100,
                    value_size: 16,
                });
            }
        })
    };
    // The writes/s menu shows the rate running now, a scenario's too (60/s is not a
    // choice of its own); the menu's value is set after each render, since a menu the
    // user changed once no longer follows its options' `selected`.
    let rate = m.timeline.sim().workload_rate();
    let mut rates = vec![0u64, 1, 5, 10, 100, 1000];
    if !rates.contains(&rate) {
        rates.push(rate);
        rates.sort_unstable();
    }
    {
        let menu = workload_menu.clone();
        use_effect(move || {
            if let Some(menu) = menu.cast::<web_sys::HtmlSelectElement>() {
                menu.set_value(&rate.to_string());
            }
        });
    }
    let on_share = {
        let (share, copied, model) = (share.clone(), copied.clone(), model.clone());
        Callback::from(move |_: MouseEvent| {
            let url = share_url(&model.borrow());
            copied.set(None);
            if url.len() <= crate::sim::run_link::URL_MAX {
                let done = copied.clone();
                copy_to_clipboard(&url, move |ok| done.set(Some(ok)));
            }
            share.set(Some(url));
        })
    };
    // Handouts, saved by index.html's `replscopeExport`.
    let export_menu = use_node_ref();
    let on_export = {
        let (model, filter, menu) = (model.clone(), log_filter.clone(), export_menu.clone());
        let progress = progress.clone();
        Callback::from(move |kind: &'static str| {
            use wasm_bindgen::JsCast;
            // Chosen: the menu folds.
            if let Some(menu) = menu.cast::<web_sys::Element>() {
                let _ = menu.remove_attribute("open");
            }
            let m = model.borrow();
            let (kind, text) = match kind {
                "text" => ("text", m.transcript(&filter)),
                "run" => (
                    "json",
                    crate::json::to_string(&m.run_file()).unwrap_or_default(),
                ),
                "skeleton" => ("json", m.skeleton()),
                "progress" => ("json", progress.borrow().to_json()),
                other => (other, String::new()),
            };
            let name = format!(
                "replscope-{}-{:.3}s",
                m.scenario.name,
                m.time_ms() as f64 / 1000.0
            );
            let export = web_sys::window()
                .and_then(|w| js_sys::Reflect::get(&w, &"replscopeExport".into()).ok())
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            if let Some(f) = export {
                let _ = f.call3(
                    &wasm_bindgen::JsValue::NULL,
                    &kind.into(),
                    &name.into(),
                    &text.into(),
                );
            }
        })
    };
    let add_replica_blocked = if snapshot.nodes.len() >= 12 {
        Some("The page runs at most 12 nodes")
    } else if master_name.is_none() {
        Some("No master to replicate: promote a node first")
    } else {
        None
    };
    let on_add_replica = {
        let act = act.clone();
        let master = master_name.clone();
        let count = snapshot.nodes.len();
        // Removed nodes' names too: they are not reused.
        let names = m.timeline.sim().names();
        Callback::from(move |_: MouseEvent| {
            let Some(master) = master.clone() else { return };
            if count >= 12 {
                return;
            }
            let name = (1..)
                .map(|i| format!("r{i}"))
                .find(|n| !names.contains(n))
                .unwrap_or_default();
            act.emit(Action::AddNode {
                name: name.clone(),
                config: vec![("repl-backlog-model".into(), "ring".into())],
            });
            act.emit(Action::Exec {
                node: name,
                command: format!("REPLICAOF {master} 6379"),
            });
        })
    };
    // The packet's words open on the side away from the master, never over it.
    // (Laid out only while a packet is open: not on every frame.)
    let master_left = packet.is_some()
        && master_name.as_ref().is_some_and(|name| {
            // (A fresh layout: where a failover left nodes may differ a little; only the side
            // matters.)
            super::topology::positions(&snapshot.nodes, &mut Vec::new(), 1.0)
                .pos
                .get(name.as_str())
                .is_some_and(|(x, _, _)| *x < super::topology::WIDTH / 2.0)
        });
    let packet_detail = (*packet).and_then(|id| {
        m.timeline
            .trace()
            .iter()
            .rev()
            .find_map(|t| match &t.event {
                SimEvent::Send(msg) if msg.id == id => Some((**msg).clone()),
                _ => None,
            })
    });

    // The lesson, if one is played: its panel's view, what it highlights and locks.
    let lesson_view = m.lesson_view();
    let locked: Vec<String> = m
        .lesson
        .as_ref()
        .map(|l| l.locked.clone())
        .unwrap_or_default();
    let lock_why = |kind: &str| -> Option<String> {
        locked.iter().any(|k| k == kind).then(|| {
            format!(
                "Locked in this lesson ({})",
                super::lesson::lock_words(kind)
            )
        })
    };
    let highlight_css = lesson_view
        .as_ref()
        .and_then(|v| v.highlight.clone())
        .map(|h| highlight_rule(&h))
        .unwrap_or_default();
    let lesson_cb = |f: fn(&mut Model)| {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |_: ()| {
            f(&mut model.borrow_mut());
            redraw.force_update();
        })
    };
    let on_lesson_answer = {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |a: String| {
            model.borrow_mut().lesson_answer(&a);
            redraw.force_update();
        })
    };
    let on_lesson_branch = {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |i: usize| {
            model.borrow_mut().lesson_branch(i);
            redraw.force_update();
        })
    };
    let on_lesson_close = {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |_: ()| {
            // Free play on the same run: the lesson's panel and locks go, the run stays.
            model.borrow_mut().lesson = None;
            redraw.force_update();
        })
    };
    let on_lesson_pick = {
        let (model, redraw, lessons) = (model.clone(), redraw.clone(), lessons.clone());
        let (selected, share, packet, max_time) = (
            selected.clone(),
            share.clone(),
            packet.clone(),
            max_time.clone(),
        );
        Callback::from(move |e: Event| {
            let menu = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            let name = menu.value();
            menu.set_value("");
            let _ = menu.blur();
            if name.is_empty() {
                return;
            }
            let link = LessonLink {
                name,
                ..Default::default()
            };
            if let Err(e) = open_lesson(&model, &lessons, &link) {
                model.borrow_mut().notice = Some(e);
            }
            *max_time.borrow_mut() = 0;
            selected.set(None);
            share.set(None);
            packet.set(None);
            redraw.force_update();
        })
    };
    let on_file = {
        let (model, redraw, progress) = (model.clone(), redraw.clone(), progress.clone());
        let max_time = max_time.clone();
        Callback::from(move |file: web_sys::File| {
            let (model, redraw, progress, max_time) = (
                model.clone(),
                redraw.clone(),
                progress.clone(),
                max_time.clone(),
            );
            catalogue::read_file(file, move |name, text| {
                let said = open_file(&model, &progress, &name, &text);
                model.borrow_mut().notice = Some(said);
                *max_time.borrow_mut() = 0;
                redraw.force_update();
            });
        })
    };
    let on_file_input = {
        let on_file = on_file.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                on_file.emit(f);
            }
            input.set_value("");
        })
    };
    let on_drop = {
        let on_file = on_file.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(f) = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|l| l.get(0))
            {
                on_file.emit(f);
            }
        })
    };
    let lesson_entries = lessons.borrow().in_order();
    let lesson_menu = {
        let progress = progress.borrow();
        let group = |seq: &str, label: &str| {
            let items: Vec<_> = lesson_entries
                .iter()
                .filter(|e| e.sequence == seq)
                .collect();
            html! {
                <optgroup label={label.to_string()}>
                    { for items.into_iter().map(|e| html! {
                        <option value={e.name.clone()} data-progress={progress.lessons.get(&e.name).cloned().unwrap_or_default()}>
                            { format!("{}{}", progress.mark(&e.name), e.title) }
                        </option>
                    }) }
                </optgroup>
            }
        };
        // The sandbox has nothing to solve: it is not counted.
        let graded: Vec<_> = lesson_entries
            .iter()
            .filter(|e| e.sequence != "sandbox")
            .collect();
        let solved = graded
            .iter()
            .filter(|e| progress.lessons.get(&e.name).is_some_and(|v| v == "solved"))
            .count();
        html! {
            <select class="lessons" data-testid="lesson-select" onchange={on_lesson_pick} aria-label="Lessons"
                    title={format!("Guided lessons with checked challenges: {solved} of {} solved", graded.len())}>
                <option value="" selected=true>{ format!("Lessons ({solved}/{})", graded.len()) }</option>
                { group("primer", "Primer: the concepts") }
                { group("incidents", "Incidents: real failures") }
                { group("sandbox", "Sandbox") }
            </select>
        }
    };

    html! {
        <div class={classes!("app", (*projector).then_some("projector"), lesson_view.is_some().then_some("in-lesson"))} data-testid="app"
             ondragover={|e: DragEvent| e.prevent_default()} ondrop={on_drop}>
            <style data-testid="lesson-highlight">{ highlight_css }</style>
            <header class="app-header">
                <h1 class="title">{ "replscope" }</h1>
                <div class="controls scenario-controls">
                    <select class="scenario" data-testid="scenario-select" onchange={on_scenario} aria-label="Scenario">
                        if !scenarios.iter().any(|(name, _)| *name == m.scenario.name) {
                            <option value="" selected=true disabled=true>{ format!("Scenarios (now: {})", m.scenario.title) }</option>
                        }
                        { for scenarios.iter().map(|(name, title)| html! {
                            <option value={name.clone()} selected={*name == m.scenario.name}>{ title }</option>
                        }) }
                    </select>
                    <button data-testid="reset" onclick={on_reset} title="Restart this scenario at 0 s, same seed, without your actions">{ "Reset" }</button>
                    { lesson_menu }
                </div>
                <div class="controls setup">
                    <label>{ "writes/s " }
                        <select data-testid="workload" ref={workload_menu.clone()} onchange={on_workload} aria-label="Workload on the master"
                                disabled={lock_why("workload").is_some()} title={lock_why("workload").unwrap_or_default()}>
                            { for rates.iter().map(|r| html! {
                                <option value={r.to_string()} selected={*r == rate}>{ r }</option>
                            }) }
                        </select>
                    </label>
                    <button data-testid="add-replica" onclick={on_add_replica} disabled={add_replica_blocked.is_some() || lock_why("add_node").is_some()}
                            title={lock_why("add_node").unwrap_or_else(|| add_replica_blocked.unwrap_or("Add a replica of the master (up to 12 nodes)").to_string())}>{ "+ replica" }</button>
                    <button data-testid="projector" aria-pressed={(*projector).to_string()}
                            onclick={{ let p = projector.clone(); move |_| p.set(!*p) }} title="Large type, high contrast">{ "Projector" }</button>
                    <span class="share-anchor">
                        <button data-testid="share" title="A link that opens this scenario, seed and your actions at this moment"
                                onclick={on_share}>{ "Share" }</button>
                        if let Some(url) = (*share).clone().filter(|u| u.len() > crate::sim::run_link::URL_MAX) {
                            <div class="share" data-testid="share-bar">
                                <span class="share-long" data-testid="share-too-long" role="status">{ format!(
                                    "This run's link would be {:.1} MB, more than a browser opens ({} MB): Export ▸ Run (file) saves it, and Open a file… reopens it",
                                    url.len() as f64 / (1024.0 * 1024.0),
                                    crate::sim::run_link::URL_MAX >> 20
                                ) }</span>
                                <button onclick={{ let s = share.clone(); move |_| s.set(None) }}>{ "Close" }</button>
                            </div>
                        } else if let Some(url) = (*share).clone() {
                            <div class="share" data-testid="share-bar">
                                <input readonly=true value={url} data-testid="share-url" aria-label="Link to this run"
                                       onfocus={|e: FocusEvent| e.target_unchecked_into::<web_sys::HtmlInputElement>().select()} />
                                <span class="share-state" data-testid="share-state" role="status">{ match *copied {
                                    Some(true) => "Link copied: it opens here, paused",
                                    Some(false) => "Copy the link (Ctrl+C)",
                                    None => "",
                                } }</span>
                                <button onclick={{ let s = share.clone(); move |_| s.set(None) }}>{ "Close" }</button>
                            </div>
                        }
                    </span>
                    <details class="export" data-testid="export" ref={export_menu.clone()}>
                        <summary title="Handouts: the picture, or the decisions and events as text">{ "Export" }</summary>
                        <div class="export-menu">
                            <button data-testid="export-svg" onclick={on_export.reform(|_| "svg")}>{ "Picture (SVG)" }</button>
                            <button data-testid="export-png" onclick={on_export.reform(|_| "png")}>{ "Picture (PNG)" }</button>
                            <button data-testid="export-transcript" onclick={on_export.reform(|_| "text")}>{ "Transcript (text)" }</button>
                            <button data-testid="export-run" onclick={on_export.reform(|_| "run")}
                                    title="The run as a file: open it here again, or grade it with `replscope lesson check`">{ "Run (file)" }</button>
                            <button data-testid="export-skeleton" onclick={on_export.reform(|_| "skeleton")}
                                    title="This session as a scenario/lesson file to edit: nodes, settings, your actions as steps">{ "As a lesson skeleton" }</button>
                            <button data-testid="export-progress" onclick={on_export.reform(|_| "progress")}>{ "Lesson progress (file)" }</button>
                            <label class="open-file">{ "Open a file…" }
                                <input type="file" accept=".json,application/json" data-testid="open-file" ref={file_input.clone()} onchange={on_file_input} />
                            </label>
                        </div>
                    </details>
                    <button data-testid="help-button" onclick={{ let h = help.clone(); move |_| h.set(!*h) }} title="What everything means, and the keys (?)">{ "?" }</button>
                </div>
            </header>
            <div class="timebar">
                <div class="controls playback">
                    <button data-testid="play-pause" class="play" onclick={control(|m| m.playing = !m.playing)}
                            title="Play / pause (space)">{ if m.playing { "Pause" } else { "Play" } }</button>
                    <button data-testid="step-back" onclick={control(Model::step_back)} title="Step back (←)">{ "◂ Step" }</button>
                    <button data-testid="step" onclick={control(Model::step)} title="Step (→)">{ "Step ▸" }</button>
                    <button data-testid="next-event" onclick={control(Model::next_interesting)} title="Next interesting event (n)">{ "Next event" }</button>
                    <button data-testid="slow-motion" aria-pressed={m.slow_motion.to_string()} onclick={control(|m| m.slow_motion = !m.slow_motion)}
                            title="Slow motion (s): every packet takes at least 0.6 s on screen; quiet time is still skipped">{ "Slow motion" }</button>
                    <label class="speed">{ m.speed_words() }
                        <input type="range" min="0" max="1000" data-testid="speed"
                               value={slider_from_speed(m.speed).to_string()} oninput={on_speed} />
                    </label>
                </div>
                <div class="time-track">
                    <input type="range" class="time-slider" data-testid="time-slider" min="0"
                           max={slider_max.to_string()} value={now_ms.to_string()} oninput={on_seek} aria-label="Time" />
                    <div class="markers" data-testid="markers">
                        { for m.markers().filter(|k| k.time_ms <= slider_max).map(|k| {
                            let left = format!("left: calc(7px + (100% - 14px) * {:.4})", k.time_ms as f64 / slider_max.max(1) as f64);
                            let at = k.time_ms;
                            html! { <button class={classes!("marker", k.kind)} data-testid={format!("marker-{}", k.kind)} style={left}
                                            title={format!("{:.3} s · {}", at as f64 / 1000.0, k.title)} aria-label={k.title.clone()}
                                            onclick={on_marker.reform(move |_| at)} /> }
                        }) }
                    </div>
                </div>
                <span class="clock" data-testid="clock">{ format!("{:.3} s", now_ms as f64 / 1000.0) }</span>
                <span class="pace" data-testid="pace">{ m.pace_words() }</span>
            </div>
            if lesson_view.is_none() {
            <p class="scenario-description" data-testid="scenario-description">{ &m.scenario.description }</p>
            }
            <main class={classes!("workspace", lesson_view.is_some().then_some("with-lesson"))}>
                if let Some(view) = lesson_view.clone() {
                    <LessonPanel {view} on_next={lesson_cb(Model::lesson_next)} on_back={lesson_cb(Model::lesson_back)}
                                 on_hint={lesson_cb(Model::lesson_hint)} on_answer={on_lesson_answer}
                                 on_solution={lesson_cb(Model::lesson_show_solution)} on_try_again={lesson_cb(Model::lesson_try_again)}
                                 on_branch={on_lesson_branch} on_close={on_lesson_close} />
                }
                <section class="topology" data-testid="topology" aria-label="Topology">
                    <Topology snapshot={snapshot.clone()} selected={(*selected).clone()}
                              on_select_node={on_select_node} on_select_link={on_select_link}
                              on_select_packet={on_select_packet} projector={*projector} />
                    if let Some((a, b)) = (*link_menu).clone() {
                        { link_menu_view(&a, &b, &act, &link_menu, &locked) }
                    }
                    if let Some(msg) = packet_detail {
                        <div class={classes!("packet-detail", if master_left { "dock-right" } else { "dock-left" })} data-testid="packet-detail">
                            <button class="close" onclick={{ let p = packet.clone(); move |_| p.set(None) }}>{ "×" }</button>
                            <strong>{ format!("{}: {} → {}, {} bytes", msg.kind.words(), msg.from, msg.to, msg.len) }</strong>
                            <pre class="decoded" data-testid="packet-words">{ crate::sim::wire::decode(&msg.head, msg.len).join("\n") }</pre>
                            <details><summary>{ "the bytes" }</summary>
                                <pre>{ crate::sim::redis_cli::quoted(&msg.head) }</pre>
                            </details>
                        </div>
                    }
                </section>
                <aside class="side">
                    <PsyncPanel story={psync_story} master={focus.clone()} earlier={psync_earlier} on_jump={on_marker.clone()} />
                    <BacklogRing node={focus_view.clone()} acks={focus.as_ref().map(|f| acks(&snapshot, f)).unwrap_or_default()}
                                 psync={recent_psync} />
                    <Inspector node={focus_view.filter(|_| selected.is_some())} info={info} keys={keys} on_action={on_node_action} on_config={on_exec.clone()} config={config} locked={locked.clone()} />
                </aside>
                <section class="consoles" aria-label="Consoles">
                    <div class="console-picker" role="group" aria-label="Which consoles are shown">
                        <span>{ "consoles:" }</span>
                        { for lanes.iter().map(|name| {
                            let shown = shown_consoles.contains(name);
                            let pick = { let p = console_pick.clone(); let n = name.clone(); move |_| p.set(Some(n.clone())) };
                            html! { <button data-testid={format!("console-pick-{name}")} aria-pressed={shown.to_string()}
                                            onclick={pick}>{ name }</button> }
                        }) }
                    </div>
                    <div class="console-pair">
                        { for shown_consoles.iter().map(|name| {
                            let history = m.typed.get(name).cloned().unwrap_or_default();
                            html! { <Console key={name.clone()} node={name.clone()} lines={m.console_lines(name)} {history} on_exec={on_exec.clone()} /> }
                        }) }
                    </div>
                </section>
                <div class="tabbed">
                    <div class="tab-bar" role="tablist">
                        { for [(Tab::Events, "Events"), (Tab::SpaceTime, "Space-time")].into_iter().map(|(t, label)| {
                            let tab = tab.clone();
                            html! {
                                <button role="tab" aria-selected={(*tab == t).to_string()} data-testid={format!("tab-{}", t.id())}
                                        class={classes!((*tab == t).then_some("active"))} onclick={move |_| tab.set(t)}>{ label }</button>
                            }
                        }) }
                    </div>
                    <EventLog lines={log_view.lines} truncated={log_view.truncated} dropped={log_view.dropped}
                              on_recompute={{ let model = model.clone(); let redraw = redraw.clone(); let f = (*log_filter).clone();
                                  Callback::from(move |_| { model.borrow_mut().recompute_log(&f, 60); redraw.force_update(); }) }} filter={(*log_filter).clone()}
                              nodes={lanes.clone()} on_filter={{ let f = log_filter.clone(); let model = model.clone();
                                  Callback::from(move |v| { model.borrow_mut().recomputed = None; f.set(v) }) }}
                              inactive={*tab != Tab::Events} more={log_more}
                              on_more={{ let l = log_limit.clone(); Callback::from(move |more: bool| {
                                  l.set(if more { (*l + LOG_LINES_MORE).min(MAX_LOG_LINES) } else { LOG_LINES })
                              }) }} />
                    <SpaceTime lanes={lanes.clone()} arrows={st_arrows} now_us={m.timeline.sim().now_us()}
                               kept_from_us={st_kept_from} start_us={m.start_us} inactive={*tab != Tab::SpaceTime}
                               window_ms={*st_window} on_window={{ let w = st_window.clone(); Callback::from(move |ms| w.set(ms)) }} />
                </div>
            </main>
            <footer class="status-line" data-testid="status" role="status">
                { format!("replscope {} · {} · seed {} · {} · {} steps", env!("CARGO_PKG_VERSION"), m.scenario.name, m.seed,
                    if m.playing { "playing" } else { "paused" }, snapshot.steps) }
                if let Some(n) = &m.notice { <span class="notice">{ format!(" · {n}") }</span> }
            </footer>
            if *help {
                <div class="help-backdrop" data-testid="help-backdrop" onclick={{ let h = help.clone(); move |_| h.set(false) }}>
                    <div class="help" data-testid="help" role="dialog" aria-label="Help"
                         onclick={|e: MouseEvent| e.stop_propagation()}>
                        <button class="help-close" data-testid="help-close" aria-label="Close the help"
                                onclick={{ let h = help.clone(); move |_| h.set(false) }}>{ "×" }</button>
                        { help_text() }
                    </div>
                </div>
            }
        </div>
    }
}

/// The help panel's contents: what every mark on the page means, and every key. Static
/// text, so it lives in index.html (`<template id="help-text">`) rather than as code in the
/// wasm, whose download has a budget (BENCHMARKS.md).
fn help_text() -> Html {
    let text = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("help-text"))
        .map(|t| t.inner_html())
        .unwrap_or_default();
    Html::from_html_unchecked(text.into())
}

fn link_menu_view(
    a: &str,
    b: &str,
    act: &Callback<Action>,
    menu: &UseStateHandle<Option<(String, String)>>,
    locked: &[String],
) -> Html {
    let item = |testid: &'static str, label: &'static str, actions: Vec<Action>| {
        let act = act.clone();
        let menu = menu.clone();
        let kind = actions
            .first()
            .map(crate::sim::checker::action_kind)
            .unwrap_or("");
        let lock = locked.iter().any(|k| k == kind);
        let title = lock.then(|| {
            format!(
                "Locked in this lesson ({})",
                super::lesson::lock_words(kind)
            )
        });
        html! {
            <button data-testid={format!("link-action-{testid}")} disabled={lock} title={title} onclick={move |_| {
                for a in &actions { act.emit(a.clone()); }
                menu.set(None);
            }}>{ label }</button>
        }
    };
    let (a, b) = (a.to_string(), b.to_string());
    let slow = |latency_ms, bandwidth_bps| Action::Slow {
        a: a.clone(),
        b: b.clone(),
        latency_ms,
        jitter_ms: 0,
        bandwidth_bps,
        both: true,
    };
    html! {
        <div class="link-menu" data-testid="link-menu">
            <strong>{ format!("link {a} – {b}") }</strong>
            { item("cut", "Cut (both ends reset)", vec![Action::Cut { a: a.clone(), b: b.clone() }]) }
            { item("partition", "Partition both ways", vec![
                Action::Partition { from: a.clone(), to: b.clone() },
                Action::Partition { from: b.clone(), to: a.clone() },
            ]) }
            { item("partition-down", format_static(&a, &b, true), vec![Action::Partition { from: a.clone(), to: b.clone() }]) }
            { item("partition-up", format_static(&a, &b, false), vec![Action::Partition { from: b.clone(), to: a.clone() }]) }
            { item("heal", "Heal", vec![Action::Heal { a: a.clone(), b: b.clone() }]) }
            { item("slow", "Slow (300 ms, 100 KB/s)", vec![slow(300, 100_000)]) }
            { item("fast", "Fast (2 ms)", vec![slow(2, 0)]) }
        </div>
    }
}

/// A URL that reopens this run: scenario and seed in the query, every action after `#runz=`
/// (see [`crate::sim::run_link`]).
pub(super) fn share_url(m: &Model) -> String {
    let base = web_sys::window()
        .map(|w| {
            let l = w.location();
            format!(
                "{}{}",
                l.origin().unwrap_or_default(),
                l.pathname().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let packed = crate::sim::run_link::pack(m.timeline.inputs()).unwrap_or_default();
    // A lesson: its name, step, the hints unlocked, locks and exam mode, as a teacher's
    // deep link has them.
    let what = match &m.lesson {
        Some(l) => format!(
            "lesson={}&step={}&hints={}{}{}",
            m.scenario.name,
            l.step,
            l.hints,
            if l.locked != l.block.forbid {
                format!("&lock={}", l.locked.join(","))
            } else {
                String::new()
            },
            if l.exam { "&mode=exam" } else { "" }
        ),
        None => format!("scenario={}", m.scenario.name),
    };
    format!(
        "{base}?{what}&v={}&seed={}&speed={}&slow={}&t={}#runz={packed}",
        crate::sim::lesson::FORMAT,
        m.seed,
        m.speed,
        u8::from(m.slow_motion),
        (m.timeline.sim().now_us() - m.start_us) as f64 / 1000.0
    )
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`), then tells `done`
/// whether it worked: a page served without HTTPS, or a browser that refuses, gets the
/// link selected for Ctrl+C instead.
fn copy_to_clipboard(text: &str, done: impl FnOnce(bool) + 'static) {
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    // `navigator.clipboard` is undefined where the page is not served securely: check
    // before calling into it.
    let Some(clip) = web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| js_sys::Reflect::get(&n, &"clipboard".into()).ok())
        .filter(|c| !c.is_undefined())
    else {
        done(false);
        return;
    };
    let done = std::rc::Rc::new(std::cell::Cell::new(Some(done)));
    let on = |ok: bool| {
        let done = done.clone();
        Closure::once(move |_: JsValue| {
            if let Some(f) = done.take() {
                f(ok);
            }
        })
    };
    let (resolved, rejected) = (on(true), on(false));
    let _ = clip
        .unchecked_into::<web_sys::Clipboard>()
        .write_text(text)
        .then2(&resolved, &rejected);
    // Called once by the promise, then gone with it.
    resolved.forget();
    rejected.forget();
}

/// The CSS that makes a narration step's `highlight` stand out: a node, a link, or a
/// panel (`ring`, `psync`, `console`, `log`). Names are checked by the scenario's parser
/// (letters, digits, `-`), so they are safe in a selector.
fn highlight_rule(h: &str) -> String {
    let safe = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let target = match h.split_once(':') {
        Some(("node", n)) if safe(n) => format!("[data-testid=\"node-{n}\"]"),
        Some(("link", l)) if safe(l) => format!("[data-testid=\"link-{l}\"]"),
        _ => match h {
            "ring" => "[data-testid=\"backlog-ring\"]".into(),
            "psync" => "[data-testid=\"psync-decision\"]".into(),
            "console" => ".consoles".into(),
            "log" => ".tabbed".into(),
            _ => return String::new(),
        },
    };
    format!("{target} {{ animation: lesson-glow 1.6s ease-in-out infinite; }}")
}

/// Labels of the one-way partitions.
fn format_static(_a: &str, _b: &str, down: bool) -> &'static str {
    if down {
        "Silence master → replica"
    } else {
        "Silence replica → master"
    }
}

/// Listens to keydown on the document for the page's shortcuts, passing the key name to
/// `on_key`, which says whether it was one. Shortcuts act once, whatever has focus: a key
/// used as one does nothing else (a focused scenario menu would change scenario on →, a
/// focused button would be pressed again by Space, the time slider would move twice). They
/// never act while typing in a text field, nor with Ctrl, Alt or Meta held.
fn gloo_events_listener(on_key: impl Fn(String) -> bool + 'static) -> gloo_events::EventListener {
    use gloo_events::{EventListener, EventListenerOptions};
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let options = EventListenerOptions::enable_prevent_default();
    EventListener::new_with_options(&document, "keydown", options, move |e| {
        use wasm_bindgen::JsCast;
        let Some(k) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if k.ctrl_key() || k.alt_key() || k.meta_key() || typing_in(e.target()) {
            return;
        }
        if on_key(k.key()) {
            e.prevent_default();
        }
    })
}

/// Whether `target` takes typed text (a text field, a text area, editable content), where
/// keys are the user's text and never shortcuts.
fn typing_in(target: Option<web_sys::EventTarget>) -> bool {
    use wasm_bindgen::JsCast;
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    match el.tag_name().as_str() {
        "TEXTAREA" => true,
        "INPUT" => !matches!(
            el.get_attribute("type").unwrap_or_default().as_str(),
            "range" | "checkbox" | "radio" | "button" | "submit" | "reset" | "color" | "file"
        ),
        _ => el.is_content_editable(),
    }
}
