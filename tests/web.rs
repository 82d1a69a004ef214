//! Browser tests of UI components, run by wasm-bindgen-test in headless Chromium
//! (`./x test` sets CHROMEDRIVER). Native builds compile this file to nothing.
#![cfg(target_arch = "wasm32")]

use replscope::ui::App;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn by_testid(testid: &str) -> Option<web_sys::Element> {
    document()
        .query_selector(&format!("[data-testid='{testid}']"))
        .unwrap()
}

#[wasm_bindgen_test]
async fn app_mounts_title_topology_and_status() {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;

    let title = root.query_selector("h1").unwrap().expect("title rendered");
    assert_eq!(title.text_content().unwrap(), "replscope");
    let topology = by_testid("topology").expect("topology area rendered");
    assert!(topology.query_selector("svg").unwrap().is_some());
    let status = by_testid("status").expect("status line rendered");
    assert!(status.text_content().unwrap().contains("one-replica"));
}

/// The hash `tests/sim.rs` asserts natively for the same run: the browser reproduces it.
const PARTIAL_SYNC_HASH: u64 = 5542653576796963397;

#[wasm_bindgen_test]
fn a_scenario_runs_identically_in_the_browser() {
    use replscope::sim::{scenario, trace};
    let s = scenario::builtin_named("partial-sync").unwrap();
    let mut t = s.build(None).unwrap();
    let end = t.sim().now_us() + s.until_ms * 1000;
    t.run_until_us(end);
    assert_eq!(trace::hash(t.trace()), PARTIAL_SYNC_HASH);
}

/// Playing a scenario whose only traffic is a client writing to its node (no packet between
/// nodes to draw) fast-forwards instead of crawling from one write to the next:
/// `big-full-sync` (1000 writes/s from 0 s, REPLICAOF at 1.5 s) gets past its REPLICAOF
/// within 100 frames at the default speed, and stops fast-forwarding as its packets leave.
#[wasm_bindgen_test]
fn playback_fast_forwards_past_local_traffic() {
    use replscope::sim::{scenario, SimEvent};
    use replscope::ui::model::Model;
    let s = scenario::builtin_named("big-full-sync").unwrap();
    let mut m = Model::new(s, None).unwrap();
    let start = m.timeline.sim().now_us();
    let mut saw_packets = false;
    for _ in 0..100 {
        let idle = !m.timeline.sim().has_moving_packets();
        let seen = m.timeline.sim().trace_len();
        m.tick(50.0, 100_000);
        let sim = m.timeline.sim();
        saw_packets |= sim.has_moving_packets();
        if idle {
            // Fast-forwarding stopped at the first packet between nodes: none was sent and
            // delivered within the tick, unseen.
            let drawn: Vec<u64> = sim.snapshot(0).packets.iter().map(|p| p.id).collect();
            for t in m.timeline.trace_since(seen) {
                if let SimEvent::Send(msg) = &t.event {
                    let between_nodes =
                        ["m", "r1"].contains(&&*msg.from) && ["m", "r1"].contains(&&*msg.to);
                    assert!(!between_nodes || drawn.contains(&msg.id), "{msg:?}");
                }
            }
        }
    }
    let elapsed = m.timeline.sim().now_us() - start;
    assert!(elapsed >= 1_500_000, "{elapsed} µs in 100 frames");
    assert!(saw_packets);
}

/// The chain scenario's nodes as the topology gets them: m → r1 → r2, r3.
fn chain_nodes() -> Vec<replscope::sim::snapshot::NodeView> {
    let t = replscope::sim::scenario::builtin_named("chain")
        .unwrap()
        .build(None)
        .unwrap();
    t.sim().snapshot(0).nodes
}

fn set_master(nodes: &mut [replscope::sim::snapshot::NodeView], name: &str, master: Option<&str>) {
    let node = nodes.iter_mut().find(|n| n.name == name).unwrap();
    node.master = master.map(str::to_string);
}

#[wasm_bindgen_test]
fn the_topology_is_a_tree_over_the_whole_height() {
    use replscope::ui::topology::{positions, HEIGHT};
    let l = positions(&chain_nodes(), &mut Vec::new(), 1.0);
    let (m, r1, r2, r3) = (l.pos["m"], l.pos["r1"], l.pos["r2"], l.pos["r3"]);
    assert_eq!(m.0, r1.0, "m stands over its one replica");
    assert_eq!(r1.0, (r2.0 + r3.0) / 2.0, "r1 is centred over its replicas");
    assert!(
        m.1 < r1.1 && r1.1 < r2.1 && r2.1 == r3.1,
        "one row per depth"
    );
    assert!(
        m.1 < 0.2 * HEIGHT && r2.1 > 0.7 * HEIGHT,
        "rows spread over the height"
    );
}

#[wasm_bindgen_test]
fn a_failover_keeps_positions_and_building_a_chain_tidies() {
    use replscope::ui::topology::positions;
    let mut nodes = chain_nodes();
    let mut kept = Vec::new();
    let before = positions(&nodes, &mut kept, 1.0).pos;
    // r1 promoted lands on m's spot at the top: it stands aside until m follows it.
    set_master(&mut nodes, "r1", None);
    let during = positions(&nodes, &mut kept, 1.0).pos;
    assert!((during["r1"].0 - during["m"].0).abs() > 100.0);
    assert_eq!(during["r2"].0, before["r2"].0);
    set_master(&mut nodes, "m", Some("r1"));
    let after = positions(&nodes, &mut kept, 1.0).pos;
    for n in ["m", "r1", "r2", "r3"] {
        assert_eq!(after[n].0, before[n].0, "{n} keeps its x");
    }
    assert_eq!(
        after["r2"].1, after["m"].1,
        "r2 and m both one row below r1"
    );
    // Without a promotion, a changed tree is laid out afresh: r3 below r2, under it.
    let mut nodes = chain_nodes();
    let mut kept = Vec::new();
    positions(&nodes, &mut kept, 1.0);
    set_master(&mut nodes, "r3", Some("r2"));
    let chain = positions(&nodes, &mut kept, 1.0).pos;
    assert_eq!(chain["r3"].0, chain["r2"].0);
}

#[wasm_bindgen_test]
fn a_replication_loop_is_drawn_as_masters() {
    use replscope::ui::topology::positions;
    let mut nodes = chain_nodes();
    set_master(&mut nodes, "m", Some("r2"));
    let l = positions(&nodes, &mut Vec::new(), 1.0).pos;
    assert!(
        l.values().all(|p| p.1 == l["m"].1),
        "one row: nobody has a depth"
    );
    assert!(l["r2"].0 != l["r3"].0 && l["m"].0 != l["r1"].0);
}
