//! The topology picture (SVG): nodes by role and depth in the replication tree, links with
//! their state, and packets travelling along them, coloured by kind, sized by bytes.

use std::collections::BTreeMap;

use gloo_timers::callback::Timeout;
use yew::prelude::*;

use super::now_ms;

use crate::sim::snapshot::{HeartbeatView, LinkView, NodeView, PacketView, Snapshot};
use crate::sim::MsgKind;

pub const WIDTH: f64 = 1000.0;
/// The box's shape at 1280×720 (about 2.4:1), so the picture fills it rather than floating in
/// it with its text shrunk.
pub const HEIGHT: f64 = 420.0;
const RADIUS: f64 = 46.0;
/// Height a node's state line takes below its circle (projector type included), before scale.
const STATE_LINE: f64 = 30.0;
/// Height of a link's label above the replica, plus the spread of the turns (BUS_SPREAD).
const LINK_LINE: f64 = 30.0;
/// The turns of links from different masters of a row are this far apart (three heights), so
/// that each replica's link can be followed to its own master.
const BUS_SPREAD: f64 = 8.0;
/// Room kept right of the columns: link labels stand to the right of their replica's end.
const LINK_LABEL_ROOM: f64 = 100.0;
/// Columns narrower than this get the short labels (a full "replica · connected" in
/// projector type is this wide).
const LABEL_ROOM: f64 = 200.0;
/// Column width below which nodes shrink: a circle and a little air.
const NODE_ROOM: f64 = 2.0 * RADIUS + 14.0;

/// At most this many packets are drawn (evenly sampled): past it a link is a solid stream
/// anyway, and drawing every one would cost the page its frame rate.
const MAX_PACKETS_DRAWN: usize = 150;

/// How long a heartbeat pulse glows, in real milliseconds.
const PULSE_MS: f64 = 900.0;

/// Where each node is drawn, and at what size.
pub struct Layout {
    /// x, y, and the height where the node's links to its replicas turn.
    pub pos: BTreeMap<String, (f64, f64, f64)>,
    /// Nodes shrink (1 = full size) when columns are narrow or rows many.
    pub scale: f64,
    /// Labels are shortened: columns too narrow for the long ones.
    crowded: bool,
}

/// Each node's depth (0 for a master, and for a replica whose chain of masters loops or
/// names no node) and the index of its master in `nodes` when it has a depth.
fn tree(nodes: &[NodeView]) -> Vec<(usize, Option<usize>)> {
    let find = |name: &Option<String>| nodes.iter().position(|x| Some(&x.name) == name.as_ref());
    let mut out = Vec::new();
    for n in nodes {
        let (mut d, mut cur) = (0, n);
        while let Some(m) = find(&cur.master) {
            d += 1;
            if d > nodes.len() {
                d = 0;
                break;
            }
            cur = &nodes[m];
        }
        out.push((d, find(&n.master).filter(|_| d > 0)));
    }
    out
}

/// Gives node `i` and those below it their column (in leaf widths): leaves side by side in
/// depth-first order, a master centred over its replicas. Subtrees never interleave, so a
/// fresh layout has no two nodes of a row on one spot.
fn place(i: usize, tree: &[(usize, Option<usize>)], x: &mut [f64], leaves: &mut f64) {
    let mut span = None;
    for j in 0..tree.len() {
        if tree[j].1 == Some(i) {
            place(j, tree, x, leaves);
            span = Some((span.map_or(x[j], |(first, _)| first), x[j]));
        }
    }
    x[i] = match span {
        Some((first, last)) => (first + last) / 2.0,
        None => {
            *leaves += 1.0;
            *leaves - 0.5
        }
    };
}

/// The narrowest gap between two nodes of one row (WIDTH when no row holds two), of nodes
/// given as (x, depth).
fn narrowest(at: &[(f64, usize)]) -> f64 {
    let mut gap = WIDTH;
    for (i, a) in at.iter().enumerate() {
        for b in &at[i + 1..] {
            if a.1 == b.1 {
                gap = gap.min((a.0 - b.0).abs());
            }
        }
    }
    gap
}

/// A tree: rows by depth spread over the whole height, masters centred over their replicas.
///
/// Positions are stable across failovers. `kept` holds each node's home (x and depth) from the
/// last fresh layout. The tree is laid out afresh when a node is added or removed, and
/// whenever no node that was a replica then is a master now (building chains with REPLICAOF
/// redraws a tidy tree). After a promotion (a failover: a replica promoted, its old master
/// and the others following it), every node keeps its home x, and only a node whose depth
/// changed moves, to its new row; if a node of that row stands on its spot (closer than two
/// nodes of a row were at home; one at its home depth, or one before it in node order), it
/// stands aside, in the middle of the row's widest free stretch. A fresh layout replaces
/// `kept`, so it holds the nodes on the page (at most 12), never removed ones.
///
/// Nodes grow up to `max_scale` where rows and columns leave room (Projector asks for more
/// than 1, so that a small tree fills the picture and reads from the back of a room).
pub fn positions(
    nodes: &[NodeView],
    kept: &mut Vec<(String, f64, usize)>,
    max_scale: f64,
) -> Layout {
    let n = nodes.len();
    let tree = tree(nodes);
    let mut fresh = vec![0.0; n];
    let mut leaves = 0.0;
    for i in 0..n {
        if tree[i].1.is_none() {
            place(i, &tree, &mut fresh, &mut leaves);
        }
    }
    // Columns leave room on the right for the link labels of the last one.
    let right = WIDTH - LINK_LABEL_ROOM;
    let (mut at, mut home) = (Vec::new(), Vec::new());
    for (i, n) in nodes.iter().enumerate() {
        at.push((fresh[i] * right / leaves.max(1.0), tree[i].0));
        if let Some(k) = kept.iter().find(|k| k.0 == n.name) {
            home.push((k.1, k.2));
        }
    }
    if home.len() == n && kept.len() == n && (0..n).any(|i| home[i].1 > 0 && at[i].1 == 0) {
        let room = narrowest(&home).min(NODE_ROOM) - 0.5;
        for i in 0..n {
            at[i].0 = home[i].0;
        }
        // Nodes that changed row, in order, each among those already settled in it.
        for i in 0..n {
            if home[i].1 == at[i].1 {
                continue;
            }
            let mut taken = Vec::new();
            for j in 0..n {
                if j != i && at[j].1 == at[i].1 && (j < i || home[j].1 == at[j].1) {
                    taken.push(at[j].0);
                }
            }
            if taken.iter().any(|x| (x - at[i].0).abs() < room) {
                let mut free = (0.0, 0.0);
                for &a in taken.iter().chain(&[0.0]) {
                    let mut b = right;
                    for &t in &taken {
                        if t > a && t < b {
                            b = t;
                        }
                    }
                    if b - a > free.1 - free.0 {
                        free = (a, b);
                    }
                }
                at[i].0 = (free.0 + free.1) / 2.0;
            }
        }
    } else {
        kept.clear();
        for (n, &(x, d)) in nodes.iter().zip(&at) {
            kept.push((n.name.clone(), x, d));
        }
    }
    let gap = narrowest(&at);
    // Between two rows: the upper node's state line above the middle (where links turn),
    // the link labels below it, above the lower node.
    let rows = tree.iter().map(|t| t.0).max().unwrap_or(0) as f64 + 1.0;
    let fixed = 2.0 * RADIUS + STATE_LINE;
    let tall = ((HEIGHT - 10.0) / (fixed + (fixed + STATE_LINE) * (rows - 1.0))).min(
        (HEIGHT - 10.0 - 2.0 * LINK_LINE * (rows - 1.0)) / (fixed + 2.0 * RADIUS * (rows - 1.0)),
    );
    let scale = (gap / NODE_ROOM).min(tall).min(max_scale);
    let top = RADIUS * scale + 6.0;
    let step = (HEIGHT - 4.0 - (RADIUS + STATE_LINE) * scale - top) / (rows - 1.0).max(1.0);
    let y = |i: usize| match rows > 1.0 {
        true => top + step * at[i].1 as f64,
        false => HEIGHT / 2.0,
    };
    // Links turn halfway down to the next row; where a row has several masters, at one of
    // three heights by the master's place in the row.
    let is_master = |i: usize| tree.iter().any(|t| t.1 == Some(i));
    let turn = |i: usize| {
        let (mut rank, mut count) = (0, 0);
        for j in 0..n {
            if is_master(j) && at[j].1 == at[i].1 {
                count += 1;
                rank += usize::from((at[j].0, j) < (at[i].0, i));
            }
        }
        let spread = match count {
            0 | 1 => 0.0,
            _ => (rank % 3) as f64 - 1.0,
        };
        y(i) + step / 2.0 + spread * BUS_SPREAD
    };
    let mut pos = BTreeMap::new();
    for i in 0..n {
        pos.insert(nodes[i].name.clone(), (at[i].0, y(i), turn(i)));
    }
    Layout {
        pos,
        scale,
        crowded: gap < LABEL_ROOM,
    }
}

/// The path a link is drawn along, from `a` to `b`: straight out of `a` to the height where
/// the upper one's links turn (about halfway), across, and straight into `b`. The turn lies
/// between two rows and the straight parts run only in the column of their own end, so no
/// link crosses a third node wherever the nodes stand.
fn route(layout: &Layout, a: &str, b: &str) -> Option<[(f64, f64); 4]> {
    let &(x1, y1, t1) = layout.pos.get(a)?;
    let &(x2, y2, t2) = layout.pos.get(b)?;
    let mid = if y1 < y2 { t1 } else { t2 };
    Some([(x1, y1), (x1, mid), (x2, mid), (x2, y2)])
}

/// SVG `points` of a route.
fn points(r: &[(f64, f64); 4]) -> String {
    r.iter().map(|(x, y)| format!("{x:.1},{y:.1} ")).collect()
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
    /// Projector mode: nodes as large as the picture allows.
    #[prop_or_default]
    pub projector: bool,
}

/// How much larger nodes may grow in Projector mode (a two-row tree has the room for it).
const PROJECTOR_SCALE: f64 = 1.3;

#[component]
pub fn Topology(props: &TopologyProps) -> Html {
    let snap = &props.snapshot;
    // Each node's home (x and depth), so that role changes do not move it.
    let kept = use_mut_ref(Vec::<(String, f64, usize)>::new);
    let layout = positions(
        &snap.nodes,
        &mut kept.borrow_mut(),
        if props.projector {
            PROJECTOR_SCALE
        } else {
            1.0
        },
    );
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
            // One group per layer: Yew lays `{ for … }` children side by side in one list, so
            // without the groups a pulse appearing shifted every node after it, and nodes were
            // re-created each frame (a click or a measure could fall between).
            <g class="links">{ for snap.links.iter().map(|l| link(l, &layout, &props.on_select_link)) }</g>
            <g class="pulses">
                { for pulses.iter().filter_map(|(h, glow)| pulse_link(h, *glow, &layout)) }
                { for pulse_rings(&pulses, &layout) }
            </g>
            <g class="nodes">{ for snap.nodes.iter().map(|n| node(n, &layout, props.selected.as_deref() == Some(n.name.as_str()), &props.on_select_node)) }</g>
            // Above the nodes: a packet just sent or about to arrive sits on a node's edge,
            // and a click on it must open the packet, not the node.
            <g class="packets">{ for snap.packets.iter().step_by(snap.packets.len().div_ceil(MAX_PACKETS_DRAWN).max(1)).filter_map(|p| packet(p, &layout, &props.on_select_packet)) }</g>
        </svg>
    }
}

/// A link along its route, with its state as a label.
fn link(l: &LinkView, layout: &Layout, on: &Callback<(String, String)>) -> Html {
    if l.master_gone {
        return gone_link(l, layout);
    }
    let Some(r) = route(layout, &l.master, &l.replica) else {
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
    // Shown past a quarter of the timeout: a quiet link's silence up to the PING period
    // (10 s of 60 by default) is normal and would only be noise.
    let silent = l.silent_s.filter(|s| *s >= 2 && 4 * s >= l.repl_timeout_s);
    let no_ack = l
        .ack_lag_s
        .filter(|s| *s >= 2 && 4 * s >= l.master_repl_timeout_s);
    if let Some(s) = silent {
        label = format!("{label} · {} silent {s}/{} s", l.replica, l.repl_timeout_s);
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
    // hover).
    let crowded = layout.crowded;
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
    // The label stands right of the replica's end of the link, just above the replica and
    // below the turn: columns are wider than a label, so labels of one row never meet.
    let (x, y) = r[3];
    let top = y - RADIUS * layout.scale;
    let ly = top - 8.0;
    html! {
        <g class={classes!("link", format!("link-{}", l.state))}
           data-testid={format!("link-{}-{}", l.master, l.replica)} {onclick}>
            <title>{ format!("{} → {}: {label}", l.master, l.replica) }</title>
            // Clicks land on the replica's own end: links from one master share their start.
            <line class="link-hit" x1={x.to_string()} y1={r[2].1.to_string()} x2={x.to_string()} y2={top.to_string()} />
            <polyline class="link-line" points={points(&r)} />
            if let Some(text) = shown {
                <text class="link-label" x={format!("{:.1}", x + 8.0)} y={format!("{ly:.1}")}>{ text }</text>
            }
        </g>
    }
}

/// The link of a replica whose master was removed: a stub towards nowhere, as the replica
/// keeps dialing a host that is gone.
fn gone_link(l: &LinkView, layout: &Layout) -> Html {
    let Some(&(x, y, _)) = layout.pos.get(l.replica.as_str()) else {
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
/// the replica's), `glow` from 1 (just sent) down to 0: the route drawn from the sender,
/// dashed to its first half.
fn pulse_link(h: &HeartbeatView, glow: f64, layout: &Layout) -> Option<Html> {
    let r = route(layout, &h.from, &h.to)?;
    Some(html! {
        <polyline key={format!("glow-{}", h.id)} class={classes!("pulse", "pulse-link", kind_class(h.kind))}
              opacity={format!("{:.2}", 0.8 * glow)} pathLength="2" stroke-dasharray="1 2" points={points(&r)} />
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
            let &(x, y, _) = layout.pos.get(h.from.as_str())?;
            Some(html! {
                <circle key={format!("ring-{}", h.id)} class={classes!("pulse", "pulse-ring", kind_class(h.kind))}
                        opacity={format!("{:.2}", 0.8 * glow)}
                        cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={format!("{r:.1}")} />
            })
        })
        .collect()
}

fn packet(p: &PacketView, layout: &Layout, on: &Callback<u64>) -> Option<Html> {
    let r = route(layout, &p.from, &p.to)?;
    let size = 4.0 + (p.len as f64).log2().clamp(0.0, 20.0) * 0.6;
    // From just outside one circle to just outside the other (Projector's larger circles
    // included): drawn above the nodes, a packet never covers one, so a click on a node
    // opens the node and a click on a packet the packet.
    let radius = RADIUS * layout.scale + size + 7.0;
    let seg = |i: usize| (r[i + 1].0 - r[i].0, r[i + 1].1 - r[i].1);
    let len = |i: usize| seg(i).0.abs() + seg(i).1.abs();
    let mut d = radius + p.progress * (len(0) + len(1) + len(2) - 2.0 * radius).max(0.0);
    let i = (0..2).find(|&i| d <= len(i)).unwrap_or(2);
    d -= (0..i).map(len).sum::<f64>();
    let (dx, dy) = seg(i);
    let l = len(i).max(1.0);
    // Offset the two directions of a link so packets do not overlap.
    let (x, y) = (
        r[i].0 + dx * d / l - dy / l * 7.0,
        r[i].1 + dy * d / l + dx / l * 7.0,
    );
    let r = size;
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
    let Some(&(x, y, _)) = layout.pos.get(n.name.as_str()) else {
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
    let state = if layout.crowded {
        state
    } else {
        format!("{} · {state}", n.role)
    };
    let transform = if layout.scale != 1.0 {
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
