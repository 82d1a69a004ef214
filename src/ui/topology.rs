//! The topology picture (SVG): nodes by role and depth in the replication tree, links with
//! their state, and packets travelling along them, coloured by kind, sized by bytes.

use std::collections::BTreeMap;

use yew::prelude::*;

use crate::sim::snapshot::{LinkView, NodeView, PacketView, Snapshot};
use crate::sim::MsgKind;

pub const WIDTH: f64 = 1000.0;
pub const HEIGHT: f64 = 520.0;
const RADIUS: f64 = 46.0;

/// At most this many packets are drawn (evenly sampled): past it a link is a solid stream
/// anyway, and drawing every one would cost the page its frame rate.
const MAX_PACKETS_DRAWN: usize = 150;

/// Where each node is drawn: masters on top, each replica one row below its master.
pub fn positions(nodes: &[NodeView]) -> BTreeMap<String, (f64, f64)> {
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
    for row in 0..rows {
        let names: Vec<&str> = nodes
            .iter()
            .filter(|n| depth[n.name.as_str()] == row)
            .map(|n| n.name.as_str())
            .collect();
        for (i, name) in names.iter().enumerate() {
            let x = WIDTH * (i as f64 + 1.0) / (names.len() as f64 + 1.0);
            let y = 80.0 + (HEIGHT - 160.0) * row as f64 / (rows.max(2) - 1) as f64;
            out.insert(name.to_string(), (x, y));
        }
    }
    out
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
    let pos = positions(&snap.nodes);
    html! {
        <svg class="topology-canvas" viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img"
             aria-label="Replication topology">
            { for snap.links.iter().map(|l| link(l, &pos, &props.on_select_link)) }
            { for snap.packets.iter().step_by(snap.packets.len().div_ceil(MAX_PACKETS_DRAWN).max(1)).filter_map(|p| packet(p, &pos, &props.on_select_packet)) }
            { for snap.nodes.iter().map(|n| node(n, &pos, props.selected.as_deref() == Some(n.name.as_str()), &props.on_select_node)) }
        </svg>
    }
}

fn link(l: &LinkView, pos: &BTreeMap<String, (f64, f64)>, on: &Callback<(String, String)>) -> Html {
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
    // A quiet link counts up towards repl-timeout; a full sync shows its progress.
    if let Some(s) = l.silent_s.filter(|s| *s >= 2) {
        label = format!("{label} · silent {s}/{} s", l.repl_timeout_s);
    }
    if let Some((read, total)) = l.rdb_read {
        label = match total {
            t if t > 0 => format!("{label} · RDB {}%", read * 100 / t),
            _ => format!("{label} · RDB {} KB", read / 1024),
        };
    }
    html! {
        <g class={classes!("link", format!("link-{}", l.state))}
           data-testid={format!("link-{}-{}", l.master, l.replica)} {onclick}>
            <line class="link-hit" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            <line class="link-line" x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()} />
            <text class="link-label" x={((x1 + x2) / 2.0 + 8.0).to_string()} y={((y1 + y2) / 2.0).to_string()}>{ label }</text>
        </g>
    }
}

fn packet(p: &PacketView, pos: &BTreeMap<String, (f64, f64)>, on: &Callback<u64>) -> Option<Html> {
    let &(x1, y1) = pos.get(&p.from)?;
    let &(x2, y2) = pos.get(&p.to)?;
    // Offset the two directions of a link so packets do not overlap.
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    let (nx, ny) = (-dy / len * 7.0, dx / len * 7.0);
    let t = RADIUS / len + p.progress * (1.0 - 2.0 * RADIUS / len);
    let (x, y) = (x1 + dx * t + nx, y1 + dy * t + ny);
    let r = 4.0 + (p.len as f64).log2().clamp(0.0, 20.0) * 0.6;
    let id = p.id;
    let onclick = on.reform(move |_: MouseEvent| id);
    Some(html! {
        <circle key={p.id.to_string()} class={classes!("packet", kind_class(p.kind), p.held.then_some("held"))}
                data-testid="packet" cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={format!("{r:.1}")} {onclick}>
            <title>{ format!("{:?}, {} bytes, {} → {}", p.kind, p.len, p.from, p.to) }</title>
        </circle>
    })
}

fn node(
    n: &NodeView,
    pos: &BTreeMap<String, (f64, f64)>,
    selected: bool,
    on: &Callback<String>,
) -> Html {
    let Some(&(x, y)) = pos.get(&n.name) else {
        return html! {};
    };
    let name = n.name.clone();
    let onclick = on.reform(move |_: MouseEvent| name.clone());
    let state = if n.role == "replica" {
        n.link.clone()
    } else {
        format!("{} replicas", n.replicas.len())
    };
    html! {
        <g class={classes!("node", n.role.clone(), n.process.clone(), selected.then_some("selected"))}
           data-testid={format!("node-{}", n.name)} transform={format!("translate({x:.1},{y:.1})")} {onclick}>
            <circle r={RADIUS.to_string()} />
            <text class="node-name" y="-10">{ &n.name }</text>
            <text class="node-detail" y="10">{ format!("off {}", n.offset) }</text>
            <text class="node-detail" y="26">{ n.replid.get(..8).unwrap_or("") }</text>
            <text class="node-state" y={(RADIUS + 18.0).to_string()}>{ format!("{} · {}", n.role, if n.process == "up" { state } else { n.process.clone() }) }</text>
        </g>
    }
}
