//! The event log: the latest lines of the run, filtered by kind, node and text. The lines
//! come from [`crate::sim::log`], which words the trace's entries and finds them through
//! the history's per-kind lists, so a long run costs a frame no more than a short one.
//! Lines the history no longer holds are said to be missing, and recomputed on request.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::sim::log::{LogFilter, LogKind, LogLine};

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    pub lines: Vec<LogLine>,
    /// The search stopped before finding enough lines (a narrow filter over a long run).
    pub truncated: bool,
    /// Older lines matching the filter were dropped from memory (they can be recomputed).
    #[prop_or_default]
    pub dropped: bool,
    /// Recompute the dropped lines (replays part of the run on a copy).
    #[prop_or_default]
    pub on_recompute: Callback<()>,
    pub filter: LogFilter,
    /// The node names the node filter offers.
    pub nodes: Vec<String>,
    pub on_filter: Callback<LogFilter>,
    /// Behind another tab (shown anyway where the screen is wide enough).
    #[prop_or_default]
    pub inactive: bool,
    /// Asks for more lines (older ones), or `None` for the latest few again.
    #[prop_or_default]
    pub on_more: Callback<bool>,
    /// Whether more lines than these may be asked for.
    #[prop_or_default]
    pub more: bool,
}

/// Where the log's list counts as scrolled to its newest line (px).
const AT_TOP_PX: i32 = 8;

/// The recent events, newest first, under a row of filters.
#[component]
pub fn EventLog(props: &EventLogProps) -> Html {
    let kinds = LogKind::ALL.iter().map(|&kind| {
        let on_filter = props.on_filter.clone();
        let filter = props.filter.clone();
        let onchange = Callback::from(move |_: Event| {
            let mut f = filter.clone();
            f.toggle(kind);
            on_filter.emit(f);
        });
        html! {
            <label class={classes!("chip", kind.word())}>
                <input type="checkbox" checked={props.filter.shows(kind)} {onchange}
                       data-testid={format!("log-filter-{}", kind.word())} />
                { kind.word() }
            </label>
        }
    });
    let on_node = {
        let (on_filter, filter) = (props.on_filter.clone(), props.filter.clone());
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut f = filter.clone();
            f.node = (!value.is_empty()).then_some(value);
            on_filter.emit(f);
        })
    };
    let on_text = {
        let (on_filter, filter) = (props.on_filter.clone(), props.filter.clone());
        Callback::from(move |e: InputEvent| {
            let mut f = filter.clone();
            f.text = e.target_unchecked_into::<HtmlInputElement>().value();
            on_filter.emit(f);
        })
    };
    // Reading: once scrolled away from the newest line, the lines hold still (new ones
    // would push what is read away) until the reader goes back to the top.
    let held = use_state(|| None::<Vec<LogLine>>);
    let onscroll = {
        let (held, lines) = (held.clone(), props.lines.clone());
        Callback::from(move |e: Event| {
            let top = e.target_unchecked_into::<web_sys::Element>().scroll_top();
            match (top > AT_TOP_PX, held.is_some()) {
                (true, false) => held.set(Some(lines.clone())),
                (false, true) => held.set(None),
                _ => {}
            }
        })
    };
    let list = use_node_ref();
    let shown = (*held).as_ref().unwrap_or(&props.lines);
    let newer = (*held).as_ref().map(|h| {
        let newest = h.last().map_or(0, |l| l.ms);
        let n = props.lines.iter().filter(|l| l.ms > newest).count();
        // Every line asked for is newer: there may be more.
        if n == props.lines.len() {
            format!("{n}+")
        } else {
            n.to_string()
        }
    });
    let selected = props.filter.node.clone().unwrap_or_default();
    html! {
        <section class={classes!("panel", "log", props.inactive.then_some("tab-inactive"))} data-testid="event-log" role="tabpanel">
            <h2>{ "Events" }</h2>
            <div class="log-filter" role="group" aria-label="event log filter">
                { for kinds }
                <select aria-label="node" data-testid="log-filter-node" onchange={on_node}>
                    <option value="" selected={selected.is_empty()}>{ "all nodes" }</option>
                    { for props.nodes.iter().map(|n| html! {
                        <option value={n.clone()} selected={*n == selected}>{ n }</option>
                    }) }
                </select>
                <input type="search" placeholder="filter text" aria-label="filter text"
                       data-testid="log-filter-text" value={props.filter.text.clone()} oninput={on_text} />
            </div>
            if let Some(newer) = newer {
                <p class="log-held" data-testid="log-held" role="status">
                    { format!("Holding still while you read · {newer} newer lines ") }
                    <button data-testid="log-latest" onclick={{
                        let (held, list, more) = (held.clone(), list.clone(), props.on_more.clone());
                        move |_| {
                            if let Some(l) = list.cast::<web_sys::Element>() { l.set_scroll_top(0); }
                            held.set(None);
                            more.emit(false);
                        }
                    }}>{ "Show the latest" }</button>
                </p>
            }
            <ol ref={list} {onscroll} data-testid="log-lines">
                { for shown.iter().rev().map(|l| html! {
                    <li class={l.kind.word()}><span class="t">{ format!("{:>7.3}s", l.ms as f64 / 1000.0) }</span>
                    <span class="n">{ &l.node }</span>{ &l.text }</li>
                }) }
                if props.more && !props.truncated && !props.dropped {
                    <li class="log-more"><button data-testid="log-older" onclick={{
                        // Older lines are what the reader asked for: the list held still
                        // (scrolled down to this button) takes them in.
                        let (held, more) = (held.clone(), props.on_more.clone());
                        move |_| { held.set(None); more.emit(true); }
                    }}>{ "Show older lines" }</button></li>
                }
                if props.truncated {
                    <li class="log-more">{ format!("… only the latest {} entries were searched", crate::sim::log::SCAN_LIMIT) }</li>
                }
                if props.dropped {
                    <li class="log-more" data-testid="log-dropped">
                        { "Older lines are not kept in memory (the run is long). " }
                        <button data-testid="log-recompute" title="Replays part of the run to find them again"
                                onclick={{ let f = props.on_recompute.clone(); move |_| f.emit(()) }}>{ "Recompute earlier lines" }</button>
                    </li>
                }
            </ol>
        </section>
    }
}
