//! The space-time diagram: one lane per node, time flowing right, every segment between
//! nodes an arrow from its send to its arrival, labelled with what it carries, over a time
//! axis. It shares the animation's time cursor; its window (how much time it spans) is the
//! reader's choice, so that 2 ms messages are slanted arrows rather than vertical strokes.

use yew::prelude::*;

use super::topology::kind_class;
use crate::sim::trace::arrival_updates;
use crate::sim::{wire, MsgKind, SimEvent, TraceEntry};

/// The windows offered (virtual ms shown, ending at the cursor), and the one at first: a
/// 2 ms hop is then a visible slant.
pub const WINDOWS_MS: [u64; 5] = [50, 200, 1000, 3000, 10_000];
pub const DEFAULT_WINDOW_MS: u64 = 200;
/// The kinds' CSS classes ([`kind_class`]), each with its arrowhead.
const HEAD_CLASSES: [&str; 6] = ["write", "ping", "ack", "handshake", "rdb", "client"];
/// Most arrows drawn (the latest ones).
const MAX_ARROWS: usize = 150;
/// About how wide (px) a label's character is: a label is drawn only where the next arrow
/// starts further away than its text runs, so that labels never sit on each other.
const LABEL_CHAR_PX: f64 = 6.2;
/// The least horizontal run (px) an arrow is drawn with: a hop of a few µs on a long window
/// still reads as a message going somewhere, not as a stroke through every lane.
const MIN_RUN_PX: f64 = 5.0;

#[derive(Properties, PartialEq)]
pub struct SpaceTimeProps {
    pub lanes: Vec<String>,
    pub arrows: Vec<Arrow>,
    pub now_us: u64,
    /// Segments sent before this (µs) are no longer kept (a long run keeps its last seconds
    /// whole): the diagram says so instead of looking empty.
    #[prop_or_default]
    pub kept_from_us: Option<u64>,
    /// The run's start (µs), to say that time in the run's seconds.
    #[prop_or_default]
    pub start_us: u64,
    /// Behind another tab (shown anyway where the screen is wide enough).
    #[prop_or_default]
    pub inactive: bool,
    pub window_ms: u64,
    pub on_window: Callback<u64>,
}

/// One segment: lanes and times (µs), its kind's CSS class, and what it carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub sent_us: u64,
    pub arrives_us: Option<u64>,
    pub class: &'static str,
    /// A few words: `PING`, `ACK 1234`, `SET key:1`, `+FULLRESYNC`, `RDB`.
    pub label: String,
    /// The whole decoded first line and the size, for the tooltip.
    pub title: String,
}

/// The arrows of the last `window_ms`, from the trace.
pub fn arrows(trace: &[TraceEntry], lanes: &[String], now_us: u64, window_ms: u64) -> Vec<Arrow> {
    let since = now_us.saturating_sub(window_ms * 1000);
    let in_window = trace
        .iter()
        .rev()
        .take_while(|t| t.time_us >= since)
        .count();
    let window = &trace[trace.len() - in_window..];
    // Segments a partition caught on their way, or a heal released, arrive when these say.
    let updates = arrival_updates(window);
    let mut out: Vec<Arrow> = window
        .iter()
        .rev()
        .filter_map(|t| match &t.event {
            SimEvent::Send(m) => {
                let from = lanes.iter().position(|l| **l == *m.from)?;
                let to = lanes.iter().position(|l| **l == *m.to)?;
                let words = wire::decode(&m.head, m.len);
                let first = words.first().cloned().unwrap_or_default();
                let label = match m.kind {
                    MsgKind::Ping => "PING".to_string(),
                    MsgKind::Ack => first.replace("REPLCONF ", ""),
                    MsgKind::Rdb => "RDB".to_string(),
                    MsgKind::Keepalive => "\\n".to_string(),
                    _ => first.split(' ').take(2).collect::<Vec<_>>().join(" "),
                };
                let more = if words.len() > 1 { " …" } else { "" };
                Some(Arrow {
                    from,
                    to,
                    sent_us: m.sent_us,
                    arrives_us: updates.get(&m.id).copied().unwrap_or(m.arrives_us),
                    class: kind_class(m.kind),
                    label: label.chars().take(18).collect(),
                    title: format!("{} → {}: {first}{more} ({} bytes)", m.from, m.to, m.len),
                })
            }
            _ => None,
        })
        .take(MAX_ARROWS)
        .collect();
    out.reverse();
    out
}

/// A tick spacing for an axis `span_ms` long: 1, 2 or 5 times a power of ten, about five
/// ticks.
fn tick_ms(span_ms: f64) -> f64 {
    let raw = span_ms / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|t| *t >= raw)
        .unwrap_or(raw)
}

#[component]
pub fn SpaceTime(props: &SpaceTimeProps) -> Html {
    // Drawn in the box's own pixels (measured after each render), so that arrowheads, labels
    // and the axis keep their shape.
    let body = use_node_ref();
    let size = use_state(|| (600.0f64, 120.0f64));
    {
        let (body, size) = (body.clone(), size.clone());
        use_effect(move || {
            if let Some(el) = body.cast::<web_sys::Element>() {
                let (w, h) = (f64::from(el.client_width()), f64::from(el.client_height()));
                if w > 0.0 && ((w - size.0).abs() > 1.0 || (h - size.1).abs() > 1.0) {
                    size.set((w, h));
                }
            }
        });
    }
    let (w, h) = *size;
    let axis_h = 16.0;
    let lanes = props.lanes.len().max(1);
    let lane_h = (h - axis_h).max(10.0) / lanes as f64;
    let span_us = props.window_ms as f64 * 1000.0;
    let start = props.now_us as f64 - span_us;
    let right = w - 6.0;
    let x = |us: f64| (us - start) / span_us * right;
    let y = |lane: usize| (lane as f64 + 0.5) * lane_h;
    let tick = tick_ms(props.window_ms as f64);
    let first_tick = ((start - props.start_us as f64) / 1000.0 / tick).ceil() * tick;
    let ticks: Vec<f64> = (0..12)
        .map(|i| first_tick + i as f64 * tick)
        .take_while(|t| *t * 1000.0 + (props.start_us as f64) <= props.now_us as f64)
        .collect();
    let decimals = if tick >= 1000.0 {
        0
    } else if tick >= 100.0 {
        1
    } else if tick >= 10.0 {
        2
    } else {
        3
    };
    let on_window = {
        let cb = props.on_window.clone();
        Callback::from(move |e: Event| {
            let menu = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
            cb.emit(menu.value().parse().unwrap_or(DEFAULT_WINDOW_MS));
            // Chosen: the keys go back to the page.
            let _ = menu.blur();
        })
    };
    html! {
        <section class={classes!("panel", "spacetime", props.inactive.then_some("tab-inactive"))} data-testid="space-time" role="tabpanel">
            <div class="st-head">
                <h2>{ "Space-time" }</h2>
                <label>{ "last " }
                    <select data-testid="space-time-window" aria-label="Time shown" onchange={on_window}>
                        { for WINDOWS_MS.iter().map(|ms| html! {
                            <option value={ms.to_string()} selected={*ms == props.window_ms}>
                                { if *ms >= 1000 { format!("{} s", ms / 1000) } else { format!("{ms} ms") } }
                            </option>
                        }) }
                    </select>
                </label>
            </div>
            if let Some(kept) = props.kept_from_us.filter(|k| (*k as f64) > start) {
                <p class="st-dropped" data-testid="space-time-dropped">
                    { format!("Segments sent before {:.3} s are no longer kept in memory (a long run keeps its last seconds whole); the topology still shows those in flight.",
                        kept.saturating_sub(props.start_us) as f64 / 1e6) }
                </p>
            }
            <div class="st-body">
                // Names in HTML, so that they keep their shape however the drawing stretches.
                <ol class="st-lanes" style={format!("padding-bottom: {axis_h}px")}>
                    { for props.lanes.iter().map(|name| html! { <li>{ name }</li> }) }
                </ol>
                // Absolute (inline, whatever the stylesheet says): the drawing never sizes
                // its box, or measuring the box after each render would make it grow forever.
                <div class="st-draw" ref={body} style="position: relative; overflow: hidden">
                    <svg viewBox={format!("0 0 {w:.0} {h:.0}")} width={format!("{w:.0}")} height={format!("{h:.0}")} aria-hidden="true"
                         style="position: absolute; left: 0; top: 0">
                        // One arrowhead per kind, in its colour (a marker's contents do not
                        // take the colour of the line that uses it).
                        <defs>
                            { for HEAD_CLASSES.iter().map(|c| html! {
                                <marker id={format!("st-head-{c}")} viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                                    <path class={*c} d="M0,0 L8,4 L0,8 z" />
                                </marker>
                            }) }
                        </defs>
                        { for (0..props.lanes.len()).map(|i| html! {
                            <line class="lane" x1="0" x2={format!("{right:.1}")} y1={format!("{:.1}", y(i))} y2={format!("{:.1}", y(i))} />
                        }) }
                        { for ticks.iter().map(|t| (t, x(t * 1000.0 + props.start_us as f64))).filter(|(_, tx)| *tx > 18.0 && *tx < right - 18.0).map(|(t, tx)| {
                            html! { <g class="st-tick">
                                <line x1={format!("{tx:.1}")} x2={format!("{tx:.1}")} y1="0" y2={format!("{:.1}", h - axis_h + 3.0)} />
                                <text x={format!("{tx:.1}")} y={format!("{:.1}", h - 3.0)}>{ format!("{:.*} s", decimals, t / 1000.0) }</text>
                            </g> }
                        }) }
                        { for props.arrows.iter().enumerate().map(|(i, a)| {
                            // Room for the label: after the arrow's start up to where the next
                            // one starts, else before it back to where the previous one ends.
                            let at = x(a.sent_us as f64);
                            let needs = a.label.chars().count() as f64 * LABEL_CHAR_PX + 4.0;
                            let after = props.arrows.get(i + 1).map_or(right, |n| x(n.sent_us as f64)) - at;
                            let before = at - i.checked_sub(1).map_or(0.0, |p| {
                                let p = &props.arrows[p];
                                x(p.arrives_us.unwrap_or(props.now_us).min(props.now_us) as f64).max(x(p.sent_us as f64) + MIN_RUN_PX)
                            });
                            let label_at = if after >= needs {
                                Some((at + 2.0, "start"))
                            } else if before >= needs {
                                Some((at - 2.0, "end"))
                            } else {
                                None
                            };
                            let end = a.arrives_us.unwrap_or(props.now_us).min(props.now_us);
                            let frac = match a.arrives_us {
                                Some(at) if at <= props.now_us => 1.0,
                                Some(at) => end.saturating_sub(a.sent_us) as f64 / at.saturating_sub(a.sent_us).max(1) as f64,
                                // Held by a partition: stuck halfway, as on the topology.
                                None => 0.5,
                            };
                            let (x1, y1) = (x(a.sent_us as f64), y(a.from));
                            let run = (x(end as f64) - x1).max(MIN_RUN_PX * frac);
                            let (x2, y2) = (x1 + run, y1 + (y(a.to) - y1) * frac);
                            let arrived = frac >= 1.0;
                            html! {
                                <g class={classes!("arrow", a.class, a.arrives_us.is_none().then_some("held"))}>
                                    <title>{ &a.title }</title>
                                    <line x1={format!("{x1:.1}")} y1={format!("{y1:.1}")} x2={format!("{x2:.1}")} y2={format!("{y2:.1}")}
                                          marker-end={arrived.then(|| format!("url(#st-head-{})", a.class))} />
                                    // Above the sender's lane, from the arrow's start.
                                    if let Some((lx, anchor)) = label_at {
                                        <text x={format!("{lx:.1}")} y={format!("{:.1}", y1 - 3.0)} text-anchor={anchor}>{ &a.label }</text>
                                    }
                                </g>
                            }
                        }) }
                        <line class="cursor" x1={format!("{right:.1}")} x2={format!("{right:.1}")} y1="0" y2={format!("{:.1}", h - axis_h)} />
                    </svg>
                </div>
            </div>
        </section>
    }
}
