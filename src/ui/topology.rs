//! The topology picture (SVG): nodes by role and depth in the replication tree, links with
//! their state, and packets travelling along them, coloured by kind, sized by bytes.

use std::collections::BTreeMap;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use super::now_ms;

use crate::sim::snapshot::{HeartbeatView, LinkView, NodeView, PacketView, Snapshot};
use crate::sim::MsgKind;

pub const WIDTH: f64 = 1000.0;
pub const HEIGHT: f64 = 460.0;
const RADIUS: f64 = 46.0;

/// At most this many packets are drawn (evenly sampled): past it a link is a solid stream
/// anyway, and drawing every one would cost the page its frame rate.
const MAX_PACKETS_DRAWN: usize = 150;

/// How long a heartbeat pulse glows, in real milliseconds.
const PULSE_MS: f64 = 900.0;

/// Where each node is drawn, and at what size.
pub struct Layout {
    pub pos: BTreeMap<String, (f64, f64)>,
    /// Nodes shrink (1 = full size) when a row holds more than fit side by side.
    pub scale: f64,
}

impl Layout {
    /// True when nodes are shrunk: labels get shorter so that they do not overlap.
    fn crowded(&self) -> bool {
        self.scale < 1.0
    }
}

/// Masters on top, each replica one row below its master; a crowded row spreads to the
/// edges and its nodes shrink.
pub fn positions(nodes: &[NodeView]) -> Layout {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nodes {
        let mut d = 0;
        let mut cur = n;
        while let Some(m) = cur.master.as_deref() {
            d += 1;
            match nodes.iter().find(|x| x.name == m) {
                Some(next) if d <= nodes.len() => cur = next,
                _ => break,
            }
        }
        depth.insert(&n.name, d);
    }
    let rows = depth.values().copied().max().unwrap_or(0) + 1;
    let mut out = BTreeMap::new();
    let mut scale: f64 = 1.0;
    for row in 0..rows {
        let names: Vec<&str> = nodes
            .iter()
            .filter(|n| depth[n.name.as_str()] == row)
            .map(|n| n.name.as_str())
            .collect();
        let n = names.len() as f64;
        let spacing = if names.len() <= 5 {
            WIDTH / (n + 1.0)
        } else {
            WIDTH / n
        };
        scale = scale.min(spacing / (2.0 * RADIUS + 14.0));
        for (i, name) in names.iter().enumerate() {
            let x = if names.len() <= 5 {
                spacing * (i as f64 + 1.0)
            } else {
                spacing * (i as f64 + 0.5)
            };
            let y = 80.0 + (HEIGHT - 160.0) * row as f64 / (rows.max(2) - 1) as f64;
            out.insert(name.to_string(), (x, y));
        }
    }
    Layout {
        pos: out,
        scale: scale.min(1.0),
    }
}

/// CSS class of a packet kind (colours are in www/style.css).
pub fn kind_class(kind: MsgKind) -> &'static str {
    match kind {
        MsgKind::Stream => "write",
        MsgKind::Ping => "ping",
        MsgKind::Ack => "ack",
        MsgKind::GetAck => "ping",
        MsgKind::Handshake => "handshake",
        MsgKind::Rdb => "rdb",
        MsgKind::Client => "client",
        MsgKind::Keepalive => "ping",
    }
}

#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    pub snapshot: std::rc::Rc<Snapshot>,
    pub selected: Option<String>,
    pub on_select_node: Callback<String>,
    pub on_select_link: Callback<(String, String)>,
    pub on_select_packet: Callback<u64>,
}

#[component]
pub fn Topology(props: &TopologyProps) -> Html {
    let snap = &props.snapshot;
    let layout = positions(&snap.nodes);
    // Heartbeat pulses: each PING / REPLCONF ACK glows for PULSE_MS of real time from the
    // frame that first shows it, whatever the speed. Their fading rides on the frames the
    // simulation draws anyway (no animation of their own), and a faded pulse is not drawn.
    // (heartbeat id, real ms when first drawn): a few per link, so a plain list.
    let first_seen = use_mut_ref(Vec::<(u64, f64)>::new);
    let pulses: Vec<(&HeartbeatView, f64)> = {
        let now = now_ms();
        let mut seen = first_seen.borrow_mut();
        seen.retain(|(id, _)| snap.heartbeats.iter().any(|h| h.id == *id));
        let mut pulses = Vec::new();
        for h in &snap.heartbeats {
            let since = match seen.iter().find(|(id, _)| *id == h.id) {
                Some((_, t)) => now - t,
                None => {
                    seen.push((h.id, now));
                    0.0
                }
            };
            if since < PULSE_MS {
                pulses.push((h, 1.0 - since / PULSE_MS));
            }
        }
        pulses
    };
    // While a pulse fades and nothing else redraws the picture (playback paused), redraw it
    // a little later; a redraw in between (playing) replaces the timer, so no extra frames.
    let redraw = use_force_update();
    let timer = use_mut_ref(|| None::<Timeout>);
    {
        let active = !pulses.is_empty();
        use_effect(move || {
            *timer.borrow_mut() = active.then(|| Timeout::new(80, move || redraw.force_update()));
        });
    }
    html! {
        <svg class="topology-canvas" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img"
             aria-label="Replication topology">
            { for snap.links.iter().enumerate().map(|(i, l)| {
                // Links fanning out of one master get their labels at alternating heights.
                let siblings = snap.links.iter().filter(|o| o.master == l.master).count();
                let nth = snap.links[..i].iter().filter(|o| o.master == l.master).count();
                link(l, (siblings > 1).then_some(nth), &layout, &props.on_select_link)
            }) }
            { for pulses.iter().filter_map(|(h, glow)| pulse_link(h, *glow, &layout)) }
            { for pulse_rings(&pulses, &layout) }
            { for snap.nodes.iter().map(|n| node(n, &layout, props.selected.as_deref() == Some(n.name.as_str()), &props.on_select_node)) }
            // Above the nodes: a packet just sent or about to arrive sits on a node's edge,
            // and a click on it must open the packet, not the node.
            { for snap.packets.iter().step_by(snap.packets.len().div_ceil(MAX_PACKETS_DRAWN).max(1)).filter_map(|p| packet(p, &layout, &props.on_select_packet)) }
        </svg>
    }
}

/// A link; `nth` is its rank among the links of the same master, if it has siblings.
fn link(
    l: &LinkView,
    nth: Option<usize>,
    layout: &Layout,
    on: &Callback<(String, String)>,
) -> Html {
    if l.master_gone {
        return gone_link(l, layout);
    }
    let pos = &layout.pos;
    let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(&l.master), pos.get(&l.replica)) else {
        return html! {};
    };
    let pair = (l.master.clone(), l.replica.clone());
    let onclick = on.reform(move |_: MouseEvent| pair.clone());
    let mut label = if l.bandwidth_bps > 0 {
        format!(
            "{} · {} ms · {} KB/s",
            l.state,
            l.latency_ms,
            l.bandwidth_bps / 1000
        )
    } else {
        format!("{} · {} ms", l.state, l.latency_ms)
    };
    // A quiet link counts up towards repl-timeout on both sides: the replica hearing
    // nothing from its master, the master getting no ACK; a full sync shows its progress.
    let silent = l.silent_s.filter(|s| *s >= 2);
    let no_ack = l.ack_lag_s.filter(|s| *s >= 2);
    if let Some(s) = silent {
        label = format!(
            "{label} · {} hears nothing {s}/{} s",
            l.replica, l.repl_timeout_s
        );
    }
    if let Some(s) = no_ack {
        label = format!(
            "{label} · {} no ACK {s}/{} s",
            l.master, l.master_repl_timeout_s
        );
    }
    if let Some((read, total)) = l.rdb_read {
        label = match total {
            t if t > 0 => format!("{label} · RDB {}%", read * 100 / t),
            _ => format!("{label} · RDB {} KB", read / 1024),
        };
    }
    // Many links side by side: only what deserves attention gets a label (all of it on
    // hover), at alternating heights.
    let crowded = layout.crowded();
    let shown = if !crowded {
        Some(label.clone())
    } else if l.state != "connected"
        || l.rdb_read.is_some()
        || silent.is_some_and(|s| 2 * s > l.repl_timeout_s)
        || no_ack.is_some_and(|s| 2 * s > l.master_repl_timeout_s)
    {
        let mut short = l.state.clone();
        if let Some(s) = silent.filter(|s| 2 * s > l.repl_timeout_s) {
            short = format!("{short} · {} silent {s} s", l.replica);
        }
        if let Some(s) = no_ack.filter(|s| 2 * s > l.master_repl_timeout_s) {
            short = format!("{short} · {} no ACK {s} s", l.master);
        }
        if let Some((read, total)) = l.rdb_read.filter(|(_, t)| *t > 0) {
            short = format!("{short} · {}%", read * 100 / total);
        }
        Some(short)
    } else {
        None
    };
    let t = nth.map_or(0.5, |i| 0.38 + 0.24 * (i % 2) as f64);
    let (lx, ly) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
    // The label stands on the outer side of the line.
    let (anchor, lx) = if x2 < x1 - 1.0 {
        ("end", lx - 8.0)
    } else {
        ("start", lx + 8.0)
    };
    html! {
        <g class={classes!("link", format!("link-{}", l.state))}
           data-testid={format!("link-{}-{}", l.master, l.replica)} {onclick}>
            <title>{ format!("{} → {}: {label}", l.master, l.replica) }</title>
            <line class="link-hit" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            <line class="link-line" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            if let Some(text) = shown {
                <text class="link-label" text-anchor={anchor} x={format!("{lx:.1}")} y={format!("{ly:.1}")}>{ text }</text>
            }
        </g>
    }
}

/// The link of a replica whose master was removed: a stub towards nowhere, as the replica
/// keeps dialing a host that is gone.
fn gone_link(l: &LinkView, layout: &Layout) -> Html {
    let Some(&(x, y)) = layout.pos.get(&l.replica) else {
        return html! {};
    };
    let (top, bottom) = (y - RADIUS * layout.scale - 44.0, y - RADIUS * layout.scale);
    html! {
        <g class="link link-down link-gone" data-testid={format!("link-{}-{}", l.master, l.replica)}>
            <line class="link-line" x1={x.to_string()} y1={top.to_string()} x2={x.to_string()} y2={bottom.to_string()} />
            <text class="link-label gone" x={x.to_string()} y={(top - 6.0).to_string()}>{ format!("{} removed · refused", l.master) }</text>
        </g>
    }
}

/// A heartbeat just sent lights the sender's half of its link (PINGs the master's end, ACKs
/// the replica's), `glow` from 1 (just sent) down to 0.
fn pulse_link(h: &HeartbeatView, glow: f64, layout: &Layout) -> Option<Html> {
    let &(x1, y1) = layout.pos.get(&h.from)?;
    let &(x, y) = layout.pos.get(&h.to)?;
    let (x2, y2) = ((x1 + x) / 2.0, (y1 + y) / 2.0);
    Some(html! {
        <line key={format!("glow-{}", h.id)} class={classes!("pulse", "pulse-link", kind_class(h.kind))}
              opacity={format!("{:.2}", 0.8 * glow)}
              x1={format!("{x1:.1}")} y1={format!("{y1:.1}")} x2={format!("{x2:.1}")} y2={format!("{y2:.1}")} />
    })
}

/// A ring around each node that just sent a heartbeat (one per sender: a master pings all
/// its replicas at once).
fn pulse_rings(pulses: &[(&HeartbeatView, f64)], layout: &Layout) -> Vec<Html> {
    let mut latest: Vec<(&HeartbeatView, f64)> = Vec::new();
    for &(h, glow) in pulses {
        match latest.iter_mut().find(|(l, _)| l.from == h.from) {
            Some(e) if h.id > e.0.id => *e = (h, glow),
            Some(_) => {}
            None => latest.push((h, glow)),
        }
    }
    let r = RADIUS * layout.scale + 6.0;
    latest
        .iter()
        .filter_map(|&(h, glow)| {
            let &(x, y) = layout.pos.get(&h.from)?;
            Some(html! {
                <circle key={format!("ring-{}", h.id)} class={classes!("pulse", "pulse-ring", kind_class(h.kind))}
                        opacity={format!("{:.2}", 0.8 * glow)}
                        cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={format!("{r:.1}")} />
            })
        })
        .collect()
}

fn packet(p: &PacketView, layout: &Layout, on: &Callback<u64>) -> Option<Html> {
    let &(x1, y1) = layout.pos.get(&p.from)?;
    let &(x2, y2) = layout.pos.get(&p.to)?;
    let radius = RADIUS * layout.scale;
    // Offset the two directions of a link so packets do not overlap.
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (nx, ny) = (-dy / len * 7.0, dx / len * 7.0);
    let t = radius / len + p.progress * (1.0 - 2.0 * radius / len);
    let (x, y) = (x1 + dx * t + nx, y1 + dy * t + ny);
    let r = 4.0 + (p.len as f64).log2().clamp(0.0, 20.0) * 0.6;
    let id = p.id;
    let onclick = on.reform(move |_: MouseEvent| id);
    Some(html! {
        <circle key={p.id.to_string()} class={classes!("packet", kind_class(p.kind), p.held.then_some("held"))}
                data-testid="packet" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={format!("{r:.1}")} {onclick}>
            <title>{ format!("{}, {} bytes, {} → {}", p.kind.words(), p.len, p.from, p.to) }</title>
        </circle>
    })
}

fn node(n: &NodeView, layout: &Layout, selected: bool, on: &Callback<String>) -> Html {
    let Some(&(x, y)) = layout.pos.get(&n.name) else {
        return html! {};
    };
    let name = n.name.clone();
    let onclick = on.reform(move |_: MouseEvent| name.clone());
    let state = if n.process != "up" {
        n.process.clone()
    } else if n.role == "replica" {
        n.link.clone()
    } else {
        match n.replicas.len() {
            1 => "1 replica".to_string(),
            count => format!("{count} replicas"),
        }
    };
    // Crowded: the circle's colour tells the role.
    let state = if layout.crowded() {
        state
    } else {
        format!("{} · {state}", n.role)
    };
    let transform = if layout.crowded() {
        format!("translate({x:.1},{y:.1}) scale({:.3})", layout.scale)
    } else {
        format!("translate({x:.1},{y:.1})")
    };
    html! {
        <g class={classes!("node", n.role.clone(), n.process.clone(), selected.then_some("selected"))}
           data-testid={format!("node-{}", n.name)} {transform} {onclick}>
            <circle r={RADIUS.to_string()} />
            <text class="node-name" y="-10">{ &n.name }</text>
            <text class="node-detail" y="10">{ format!("off {}", n.offset) }</text>
            <text class="node-detail" y="26">{ n.replid.get(..8).unwrap_or("") }</text>
            <text class="node-state" y={(RADIUS + 18.0).to_string()}>{ state }</text>
        </g>
    }
}
