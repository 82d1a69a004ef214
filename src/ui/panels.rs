//! Side panels: the PSYNC decision with its checklist, the backlog ring and the node
//! inspector.

use yew::prelude::*;

use crate::engine::psync::{PsyncDecision, PsyncRule};
use crate::sim::snapshot::{NodeView, PsyncView, Snapshot};

fn short(id: &str) -> String {
    if id.chars().all(|c| c == '0') {
        "(none)".into()
    } else {
        id.get(..8).map_or(id.to_string(), |s| format!("{s}…"))
    }
}

/// A master's PSYNC decision in plain words (who asked for what, what the master has, the
/// rule `masterTryPartialResynchronization` applied and the reply), what followed, and the
/// master's earlier decisions, each a click away.
#[component]
pub fn PsyncPanel(props: &PsyncPanelProps) -> Html {
    let Some(story) = props.story.as_ref() else {
        return html! {
            <section class="panel psync" data-testid="psync-decision">
                <h2>{ "PSYNC decision" }</h2>
                <p class="muted">{ match &props.master {
                    Some(m) => format!("No replica has asked {m} to synchronise yet."),
                    None => "No replica has asked to synchronise yet.".to_string(),
                } }</p>
            </section>
        };
    };
    let (node, d) = (&story.node, &story.decision);
    let i = &d.inputs;
    let id_ok = i.requested_replid.eq_ignore_ascii_case(&i.master_replid)
        || (i.requested_replid.eq_ignore_ascii_case(&i.master_replid2)
            && i.requested_offset <= i.second_replid_offset);
    let window = i.backlog.map(|(first, histlen)| (first, first + histlen));
    let in_window = window.is_some_and(|(a, b)| i.requested_offset >= a && i.requested_offset <= b);
    let reply = if d.is_continue() {
        format!("+CONTINUE {}", short(&i.master_replid))
    } else if let Some((replid, offset)) = &story.fullresync {
        format!("+FULLRESYNC {} {offset}", short(replid))
    } else if window.is_none() {
        // Not sent yet (a diskless sync waits for its BGSAVE). A master without a backlog
        // creates one first, under a new replication ID.
        "+FULLRESYNC <new replid> <offset at fork>".to_string()
    } else {
        format!("+FULLRESYNC {} <offset at fork>", short(&i.master_replid))
    };
    let check = |ok: bool| if ok { "✔" } else { "✘" };
    let asked = if i.requested_replid == "?" {
        format!(
            "{} asked PSYNC ? -1: it has no history to continue",
            story.replica
        )
    } else {
        format!(
            "{} asked for replid {} from offset {}",
            story.replica,
            short(&i.requested_replid),
            i.requested_offset
        )
    };
    let replid2 = if i.second_replid_offset < 0 {
        "no replid2".to_string()
    } else {
        format!(
            "replid2 {} valid up to offset {}",
            short(&i.master_replid2),
            i.second_replid_offset
        )
    };
    html! {
        <section class={classes!("panel", "psync", if d.is_continue() { "continue" } else { "full" })}
                 data-testid="psync-decision">
            <h2>{ format!("PSYNC: {} asks {node}", story.replica) }</h2>
            <p class="request">{ asked }</p>
            <ul class="checklist">
                <li>{ format!("{} {node} has replid {}, {replid2}", check(id_ok), short(&i.master_replid)) }</li>
                <li>{ match window {
                    Some((a, b)) if b > a => format!("{} {node}'s backlog holds offsets {a} to {}", check(in_window), b - 1),
                    Some((a, _)) => format!("{} {node}'s backlog is empty, from offset {a}", check(in_window)),
                    None => format!("✘ {node} has no backlog"),
                } }</li>
            </ul>
            <p class="rule">{ rule_text(d) }</p>
            <p class="reply" data-testid="psync-reply">{ reply }</p>
            if !story.steps.is_empty() {
                <ol class="steps" data-testid="psync-steps">
                    { for story.steps.iter().map(|s| html! { <li>{ s }</li> }) }
                </ol>
            }
            if !props.earlier.is_empty() {
                <div class="psync-history" data-testid="psync-history">
                    <span>{ format!("{node}'s decisions:") }</span>
                    if props.earlier.len() > DECISIONS_SHOWN {
                        <span>{ format!("{} earlier, then", props.earlier.len() - DECISIONS_SHOWN) }</span>
                    }
                    { for props.earlier.iter().skip(props.earlier.len().saturating_sub(DECISIONS_SHOWN)).map(|(at, replica, cont)| {
                        let at = *at;
                        let current = at == story.time_ms && *replica == story.replica;
                        html! {
                            <button class={classes!(current.then_some("current"))} aria-pressed={current.to_string()}
                                    onclick={props.on_jump.reform(move |_| at)}
                                    title={format!("{:.3} s: {replica} got {}; click to go there", at as f64 / 1000.0,
                                        if *cont { "+CONTINUE" } else { "+FULLRESYNC" })}>
                                { format!("{replica} {}", if *cont { "CONTINUE" } else { "FULL" }) }
                            </button>
                        }
                    }) }
                </div>
            }
        </section>
    }
}

/// A master's latest decisions listed under its PSYNC panel (11 replicas would take three
/// rows); the earlier ones are counted, and the time slider marks every one.
const DECISIONS_SHOWN: usize = 6;

fn rule_text(d: &PsyncDecision) -> String {
    match d.rule {
        PsyncRule::Continue => {
            "Same history and the bytes are still in the backlog: partial resync.".into()
        }
        PsyncRule::FullResyncRequested => {
            "The replica has no history (PSYNC ? -1): full resync.".into()
        }
        PsyncRule::ReplidMismatch => {
            "Replication ID mismatch: a different history, full resync.".into()
        }
        PsyncRule::Replid2OffsetTooHigh => {
            "The replica went further in the old history than this master did: full resync.".into()
        }
        PsyncRule::NoBacklog => "No backlog: full resync.".into(),
        PsyncRule::OffsetBeforeBacklog => {
            "The bytes were overwritten in the backlog: full resync.".into()
        }
        PsyncRule::OffsetAfterBacklog => {
            "The offset is beyond what the master produced: full resync.".into()
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct PsyncPanelProps {
    /// The decision shown: the latest of the master whose backlog is shown.
    pub story: Option<PsyncView>,
    /// That master, when it decided nothing yet.
    pub master: Option<String>,
    /// That master's decisions the run keeps, oldest first: (ms, replica, +CONTINUE?).
    pub earlier: Vec<(u64, String, bool)>,
    /// Goes to a moment (ms since the start).
    pub on_jump: Callback<u64>,
}

#[derive(Properties, PartialEq)]
pub struct BacklogProps {
    pub node: Option<NodeView>,
    /// Acknowledged offsets of the replicas of this node, by name.
    pub acks: Vec<(String, i64)>,
    /// A PSYNC this node decided moments ago: the ring shows the requested offset, and the
    /// bytes it sends from there or the fact that they were overwritten.
    pub psync: Option<PsyncDecision>,
}

/// The backlog of a node: the ring with its write head and window (ring model) or the block
/// list (blocks model), and each replica's acknowledged offset.
#[component]
pub fn BacklogRing(props: &BacklogProps) -> Html {
    let Some(node) = props.node.as_ref() else {
        return html! { <section class="panel backlog" data-testid="backlog-ring"><h2>{ "Backlog" }</h2></section> };
    };
    let Some(b) = node.backlog.as_ref() else {
        return html! {
            <section class="panel backlog" data-testid="backlog-ring">
                <h2>{ format!("Backlog of {}", node.name) }</h2>
                <p class="muted">{ "No backlog yet: it is created when the first replica attaches (offset stays 0 until then)." }</p>
            </section>
        };
    };
    let cap = b.size.max(1) as f64;
    let (cx, cy, r) = (80.0, 80.0, 60.0);
    let point = |frac: f64| {
        let a = frac * std::f64::consts::TAU - std::f64::consts::FRAC_PI_2;
        (cx + r * a.cos(), cy + r * a.sin())
    };
    let head = b.write_index.map(|w| w as f64 / cap);
    // The filled arc: histlen bytes ending at the write head.
    let fill = (b.histlen as f64 / cap).min(1.0);
    let arc = head.map(|h| {
        let start = (h - fill).rem_euclid(1.0);
        let (x0, y0) = point(start);
        let (x1, y1) = point(h);
        let large = if fill > 0.5 { 1 } else { 0 };
        if fill >= 0.999 {
            format!(
                "M {cx} {} a {r} {r} 0 1 1 0 {} a {r} {r} 0 1 1 0 -{}",
                cy - r,
                2.0 * r,
                2.0 * r
            )
        } else {
            format!("M {x0:.2} {y0:.2} A {r} {r} 0 {large} 1 {x1:.2} {y1:.2}")
        }
    });
    let marker = |offset: i64| {
        head.map(|h| {
            let back = (b.master_offset + 1 - offset) as f64 / cap;
            point((h - back).rem_euclid(1.0))
        })
    };
    // Only the rules that compared the offset with the backlog have one to show (`PSYNC ? -1`
    // and a replid mismatch never look at it).
    let psync = props
        .psync
        .as_ref()
        .filter(|d| {
            matches!(
                d.rule,
                PsyncRule::Continue
                    | PsyncRule::OffsetBeforeBacklog
                    | PsyncRule::OffsetAfterBacklog
            )
        })
        .map(|d| (d.inputs.requested_offset, d));
    // On the ring: where the requested offset is (or would be, one lap back at most), and for
    // +CONTINUE the arc of bytes from there to the write head.
    let psync_mark = psync.and_then(|(req, d)| {
        let behind = b.master_offset + 1 - req;
        let (x, y) = marker(req).filter(|_| (0..=b.size as i64).contains(&behind))?;
        let send = d.is_continue().then(|| {
            let (x1, y1) = head.map(point).unwrap_or((x, y));
            let large = if behind as f64 / cap > 0.5 { 1 } else { 0 };
            format!("M {x:.2} {y:.2} A {r} {r} 0 {large} 1 {x1:.2} {y1:.2}")
        });
        Some((x, y, send, d.is_continue()))
    });
    let psync_note = psync.map(|(req, d)| match d.rule {
        PsyncRule::Continue => format!(
            "PSYNC asked for offset {req}: bytes {req} to {} are in the backlog and are sent",
            d.inputs.master_repl_offset
        ),
        PsyncRule::OffsetBeforeBacklog => format!(
            "PSYNC asked for offset {req}: overwritten, the backlog starts at {}",
            d.inputs.backlog.map_or(0, |(first, _)| first)
        ),
        _ => format!(
            "PSYNC asked for offset {req}: beyond the master's offset {}, full resync",
            d.inputs.master_repl_offset
        ),
    });
    html! {
        <section class="panel backlog" data-testid="backlog-ring">
            <h2>{ format!("Backlog of {} ({})", node.name, b.model) }</h2>
            if b.model == "ring" {
                <svg viewBox="0 0 160 160" class="ring">
                    <circle class="ring-track" cx={cx.to_string()} cy={cy.to_string()} r={r.to_string()} />
                    if let Some(d) = arc { <path class="ring-fill" d={d} /> }
                    if let Some((x, y)) = head.map(point) {
                        <circle class="ring-head" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="5"><title>{ "write head" }</title></circle>
                    }
                    if let Some((x, y, send, ok)) = psync_mark.clone() {
                        if let Some(d) = send { <path class="ring-send" d={d} /> }
                        <circle class={classes!("ring-psync", (!ok).then_some("lost"))} cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="6">
                            <title>{ if ok { "PSYNC: the requested offset" } else { "PSYNC: the requested offset, overwritten" } }</title>
                        </circle>
                    }
                    { for props.acks.iter().filter(|(_, off)| *off > 0).filter_map(|(name, off)| marker(*off).map(|(x, y)| html! {
                        <g class="ring-ack"><circle cx={format!("{x:.1}")} cy={format!("{y:.1}")} r="4" />
                        <title>{ format!("{name} acknowledged {off}") }</title></g>
                    })) }
                    <text x={cx.to_string()} y={(cy - 4.0).to_string()} class="ring-text">{ format!("{:.0}%", fill * 100.0) }</text>
                    <text x={cx.to_string()} y={(cy + 12.0).to_string()} class="ring-text small">{ format!("wrapped {}×", b.wraps) }</text>
                </svg>
            } else {
                <div class="blocks">
                    { for b.blocks.iter().map(|(first, used)| html! {
                        <span class="block" title={format!("block from offset {first}, {used} bytes")}
                              style={format!("flex-grow:{}", used.max(&1))}></span>
                    }) }
                </div>
            }
            if let Some(note) = psync_note {
                <p class={classes!("psync-note", psync.is_some_and(|(_, d)| !d.is_continue()).then_some("lost"))} data-testid="backlog-psync">{ note }</p>
            }
            <dl class="window">
                <dt>{ "window" }</dt><dd>{ format!("[{}, {}]", b.first_byte_offset, b.master_offset) }</dd>
                <dt>{ "histlen" }</dt><dd>{ b.histlen }</dd>
                <dt>{ "size" }</dt><dd>{ b.size }</dd>
            </dl>
            if !props.acks.is_empty() {
                <dl class={classes!("window", "acks", (props.acks.len() > 3).then_some("many"))}>
                    // A replica that has not acknowledged since it (re)attached shows 0 in
                    // INFO; here it says so instead of a misleading offset.
                    { for props.acks.iter().map(|(name, off)| html! { <><dt>{ format!("{name} ack") }</dt>
                        <dd>{ if *off > 0 { off.to_string() } else { "none".to_string() } }</dd></> }) }
                </dl>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub node: Option<NodeView>,
    pub info: String,
    pub keys: Vec<(String, String)>,
    pub on_action: Callback<String>,
    /// `(node, "CONFIG SET name value")`.
    pub on_config: Callback<(String, String)>,
    /// The node's current value of each of [`SETTINGS`].
    pub config: Vec<(String, String)>,
    /// Action kinds a lesson locks (`kill`, `restart`…): their buttons are disabled.
    #[prop_or_default]
    pub locked: Vec<String>,
}

/// The replication settings a lesson changes most, as a small form that types CONFIG SET.
pub const SETTINGS: &[&str] = &[
    "repl-backlog-size",
    "repl-ping-replica-period",
    "repl-timeout",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "replica-serve-stale-data",
    "client-output-buffer-limit",
];

fn config_form(node: &str, on: &Callback<(String, String)>, config: &[(String, String)]) -> Html {
    let name_ref = NodeRef::default();
    let value_ref = NodeRef::default();
    let now = |name: &str| {
        let value = config
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v);
        format!("now: {value}")
    };
    // The value box says the setting's current value, for the setting chosen.
    let onchange = {
        let (value_ref, config) = (value_ref.clone(), config.to_vec());
        Callback::from(move |e: Event| {
            let name = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            if let Some(input) = value_ref.cast::<web_sys::HtmlInputElement>() {
                let value = config
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or("", |(_, v)| v);
                input.set_placeholder(&format!("now: {value}"));
                input.set_value("");
            }
        })
    };
    let onsubmit = {
        let (name_ref, value_ref, on, node) = (
            name_ref.clone(),
            value_ref.clone(),
            on.clone(),
            node.to_string(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = name_ref
                .cast::<web_sys::HtmlSelectElement>()
                .map(|s| s.value())
                .unwrap_or_default();
            let value = value_ref
                .cast::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            if !value.trim().is_empty() {
                on.emit((
                    node.clone(),
                    format!("CONFIG SET {name} \"{}\"", value.trim().replace('"', "")),
                ));
            }
        })
    };
    html! {
        // Keyed by node: another node's form starts on the first setting, its placeholder
        // that setting's value (a kept choice would show one setting with another's value).
        <form class="config" data-testid="config-form" key={node.to_string()} {onsubmit}>
            <select ref={name_ref} aria-label="setting" data-testid="config-name" {onchange}>
                { for SETTINGS.iter().map(|n| html! { <option value={*n}>{ *n }</option> }) }
            </select>
            <input ref={value_ref} type="text" placeholder={now(SETTINGS[0])} aria-label="value" data-testid="config-value" />
            <button type="submit">{ "CONFIG SET" }</button>
        </form>
    }
}

/// What a node action's button does, where its label cannot say it all (its tooltip).
fn action_help(what: &str) -> Option<&'static str> {
    match what {
        "kill" => Some("SIGKILL: the process dies at once, nothing saved; its dump.rdb stays"),
        "kill-save" => Some("Saves dump.rdb, then kills the process"),
        "restart-rdb" => Some(
            "A new process that loads dump.rdb: the node's last save or, on a replica \
             (repl-diskless-load disabled, the default), the RDB of its last full sync, \
             whichever came last. A replica then offers that file's replid and offset in \
             its PSYNC",
        ),
        "restart-empty" => Some("A new process with no data: a replica sends PSYNC ? -1"),
        _ => None,
    }
}

/// The selected node: its INFO replication, its keys, and what can be done to it.
#[component]
pub fn Inspector(props: &InspectorProps) -> Html {
    // Removing asks first (a node removed is gone from the run's future for good); the
    // question goes when another node is chosen.
    let confirm_remove = use_state(|| false);
    {
        let confirm_remove = confirm_remove.clone();
        let name = props.node.as_ref().map(|n| n.name.clone());
        use_effect_with(name, move |_| confirm_remove.set(false));
    }
    let Some(node) = props.node.as_ref() else {
        return html! {
            <section class="panel inspector hint">
                <p class="muted">{ "Click a node to inspect it (kill, restart, remove…), a link to cut or heal it, a packet to see its bytes." }</p>
                <ul class="legend" aria-label="Packet colours">
                    <li><span class="swatch write"></span>{ "writes (replication stream)" }</li>
                    <li><span class="swatch ping"></span>{ "PING, master → replica" }</li>
                    <li><span class="swatch ack"></span>{ "REPLCONF ACK, replica → master" }</li>
                    <li><span class="swatch handshake"></span>{ "handshake and PSYNC" }</li>
                    <li><span class="swatch rdb"></span>{ "RDB (full sync)" }</li>
                </ul>
            </section>
        };
    };
    let button = |label: &'static str, what: &'static str| {
        let on = props.on_action.clone();
        let kind = match what {
            "kill" | "kill-save" => "kill",
            "restart-rdb" | "restart-empty" => "restart",
            "ask-remove" | "remove" => "remove",
            "pause" => "pause",
            "resume" => "resume",
            _ => "exec",
        };
        let locked = props.locked.iter().any(|k| k == kind);
        let title = if locked {
            Some(format!(
                "Locked in this lesson ({})",
                super::lesson::lock_words(kind)
            ))
        } else {
            action_help(what).map(str::to_string)
        };
        html! { <button data-testid={format!("node-action-{what}")} disabled={locked} {title}
        onclick={move |_| on.emit(what.to_string())}>{ label }</button> }
    };
    html! {
        <section class="panel inspector" data-testid="inspector">
            <h2>{ format!("{} ({}, {})", node.name, node.role, node.process) }
                <button class="close" data-testid="inspector-close" aria-label="Close (Escape)" title="Close (Escape)"
                        onclick={{ let on = props.on_action.clone(); move |_| on.emit("close".to_string()) }}>{ "×" }</button>
            </h2>
            <div class="actions">
                if node.process == "down" {
                    { button("Restart with RDB", "restart-rdb") }
                    { button("Restart empty", "restart-empty") }
                } else {
                    { button("Kill", "kill") }
                    { button("Save & kill", "kill-save") }
                    if node.process == "paused" { { button("Resume", "resume") } } else { { button("Pause", "pause") } }
                    if node.role == "replica" { { button("REPLICAOF NO ONE", "promote") } }
                }
                if *confirm_remove {
                    <span class="remove confirm" role="alertdialog">
                        { format!("Remove {} for good? Its process dies, its peers see a reset, its replicas keep retrying. ", node.name) }
                        { button("Remove", "remove") }
                        <button data-testid="node-action-remove-cancel" onclick={{ let c = confirm_remove.clone(); move |_| c.set(false) }}>{ "Cancel" }</button>
                    </span>
                } else {
                    <span class="remove" title="The node goes for good: its process dies, its peers see a reset, its replicas keep retrying">
                        <button data-testid="node-action-ask-remove" disabled={props.locked.iter().any(|k| k == "remove")}
                                title={props.locked.iter().any(|k| k == "remove").then(|| format!("Locked in this lesson ({})", super::lesson::lock_words("remove")))}
                                onclick={{ let c = confirm_remove.clone(); move |_| c.set(true) }}>{ "Remove node…" }</button>
                    </span>
                }
            </div>
            if !node.replicas.is_empty() {
                <table class="replicas" data-testid="replica-table">
                    <tr><th>{ "replica" }</th><th>{ "state" }</th><th>{ "ack offset" }</th><th>{ "lag" }</th><th>{ "buffer" }</th></tr>
                    { for node.replicas.iter().map(|r| html! {
                        <tr>
                            <td>{ &r.name }</td><td>{ &r.state }</td><td>{ r.ack_offset }</td>
                            <td><span class="lag-bar" style={format!("width:{}px", 4 + 8 * r.lag_s.min(20))}></span>{ format!(" {} s", r.lag_s) }</td>
                            <td>{ r.output_buffer }</td>
                        </tr>
                    }) }
                </table>
            }
            { config_form(&node.name, &props.on_config, &props.config) }
            <pre class="info">{ &props.info }</pre>
            <div class="keys-wrap">
                <table class="keys">
                    { for props.keys.iter().map(|(k, v)| html! { <tr><td>{ k }</td><td>{ v }</td></tr> }) }
                </table>
            </div>
        </section>
    }
}

/// The acknowledged offsets of `node`'s replicas, for the backlog ring.
pub fn acks(snapshot: &Snapshot, node: &str) -> Vec<(String, i64)> {
    snapshot
        .nodes
        .iter()
        .find(|n| n.name == node)
        .map(|n| {
            n.replicas
                .iter()
                .map(|r| (r.name.clone(), r.ack_offset))
                .collect()
        })
        .unwrap_or_default()
}
