//! The space-time diagram: one lane per node, time flowing right, every segment between
//! nodes an arrow from its send to its arrival. It shares the animation's time cursor.

use yew::prelude::*;

use super::topology::kind_class;
use crate::sim::trace::arrival_updates;
use crate::sim::{SimEvent, TraceEntry};

/// Virtual time shown, in ms, ending at the cursor.
const WINDOW_MS: f64 = 3000.0;
/// Most arrows drawn (the latest ones).
const MAX_ARROWS: usize = 150;

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
}

/// One segment: lanes and times (µs), and its kind's CSS class.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    pub from: usize,
    pub to: usize,
    pub sent_us: u64,
    pub arrives_us: Option<u64>,
    pub class: &'static str,
}

/// The arrows of the last window, from the trace.
pub fn arrows(trace: &[TraceEntry], lanes: &[String], now_us: u64) -> Vec<Arrow> {
    let since = now_us.saturating_sub((WINDOW_MS * 1000.0) as u64);
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
                Some(Arrow {
                    from,
                    to,
                    sent_us: m.sent_us,
                    arrives_us: updates.get(&m.id).copied().unwrap_or(m.arrives_us),
                    class: kind_class(m.kind),
                })
            }
            _ => None,
        })
        .take(MAX_ARROWS)
        .collect();
    out.reverse();
    out
}

/// Width of the drawing in its own units (it stretches to its box; strokes do not scale).
const W: f64 = 1000.0;
const LANE_H: f64 = 20.0;

#[component]
pub fn SpaceTime(props: &SpaceTimeProps) -> Html {
    let lanes = props.lanes.len().max(1);
    let h = LANE_H * lanes as f64;
    let start = props.now_us as f64 - WINDOW_MS * 1000.0;
    let x = |us: u64| (us as f64 - start) / (WINDOW_MS * 1000.0) * (W - 4.0);
    let y = |lane: usize| (lane as f64 + 0.5) * LANE_H;
    html! {
        <section class={classes!("panel", "spacetime", props.inactive.then_some("tab-inactive"))} data-testid="space-time" role="tabpanel">
            <h2>{ "Space-time (last 3 s)" }</h2>
            if let Some(kept) = props.kept_from_us.filter(|k| (*k as f64) > start) {
                <p class="st-dropped" data-testid="space-time-dropped">
                    { format!("Segments sent before {:.3} s are no longer kept in memory (a long run keeps its last seconds whole); the topology still shows those in flight.",
                        kept.saturating_sub(props.start_us) as f64 / 1e6) }
                </p>
            }
            <div class="st-body">
                // Names in HTML, so that they keep their shape however the drawing stretches.
                <ol class="st-lanes">
                    { for props.lanes.iter().map(|name| html! { <li>{ name }</li> }) }
                </ol>
                <svg viewBox={format!("0 0 {W} {h}")} preserveAspectRatio="none" aria-hidden="true">
                    { for (0..props.lanes.len()).map(|i| html! {
                        <line class="lane" x1="0" x2={(W - 4.0).to_string()} y1={y(i).to_string()} y2={y(i).to_string()} />
                    }) }
                    { for props.arrows.iter().map(|a| {
                        let end = a.arrives_us.unwrap_or(props.now_us).min(props.now_us);
                        let frac = match a.arrives_us {
                            Some(at) if at <= props.now_us => 1.0,
                            Some(at) => {
                                end.saturating_sub(a.sent_us) as f64
                                    / at.saturating_sub(a.sent_us).max(1) as f64
                            }
                            // Held by a partition: stuck halfway, as on the topology.
                            None => 0.5,
                        };
                        html! {
                            <line class={classes!("arrow", a.class, a.arrives_us.is_none().then_some("held"))}
                                  x1={format!("{:.1}", x(a.sent_us))} y1={y(a.from).to_string()}
                                  x2={format!("{:.1}", x(end))} y2={format!("{:.1}", y(a.from) + (y(a.to) - y(a.from)) * frac)} />
                        }
                    }) }
                    <line class="cursor" x1={(W - 4.0).to_string()} x2={(W - 4.0).to_string()} y1="0" y2={h.to_string()} />
                </svg>
            </div>
        </section>
    }
}
