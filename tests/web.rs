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
const PARTIAL_SYNC_HASH: u64 = 8001311597759840205;

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
