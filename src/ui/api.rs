//! `window.replscope`: a small JavaScript API over the running simulation, for tests and for
//! teachers scripting a demo from the devtools console.
//!
//! - `snapshot()` → nodes, links, packets, backlog windows (plain objects);
//! - `exec(node, command)` → runs the simulation until the reply arrives; returns the reply
//!   as redis-cli prints it (an array of lines);
//! - `act(action)` → applies an action object (`{do: "cut", a: "m", b: "r1"}`,
//!   `{do: "remove", node: "r2"}`, … as in scenario steps); true, or the error as a string;
//! - `loadScenario(json)` → replaces the run with a scenario given as JSON text;
//! - `exportTrace()` → the run as JSON: scenario, seed and every action with its time;
//! - `importRun(json)` → replays such a run (the same states, step for step).
//!
//! Test hook, not for demos: `crashForTest(kind)` crashes the page on purpose, with the model
//! borrowed as a crash in a tick leaves it, so tests/browser/trap.test.mjs can check what a
//! crash looks like (the error banner, time stopped, "Reload this run"). `"panic"` panics;
//! `"oom"` exhausts the wasm memory, a genuine allocation failure (Rust aborts without a
//! panic: `RuntimeError: unreachable`). Any other kind is refused with a message.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::functional::UseForceUpdateHandle;

use super::model::Model;
use crate::sim::scenario::{RunFile, Scenario};
use crate::sim::Action;

fn to_js<T: Serialize>(value: &T) -> JsValue {
    serde_wasm_bindgen::to_value(value).unwrap_or(JsValue::NULL)
}

/// Installs `window.replscope` for `model`; `redraw` refreshes the page after a change.
pub fn install(model: Rc<RefCell<Model>>, redraw: UseForceUpdateHandle) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let api = js_sys::Object::new();
    let set = |name: &str, f: &JsValue| {
        let _ = js_sys::Reflect::set(&api, &JsValue::from_str(name), f);
    };

    let m = model.clone();
    let snapshot = Closure::<dyn Fn() -> JsValue>::new(move || {
        let m = m.borrow();
        to_js(&m.timeline.sim().snapshot(m.start_us))
    });
    set("snapshot", snapshot.as_ref());

    let (m, r) = (model.clone(), redraw.clone());
    let exec =
        Closure::<dyn Fn(String, String) -> JsValue>::new(move |node: String, command: String| {
            let result = m.borrow_mut().exec_and_wait(&node, &command);
            r.force_update();
            match result {
                Ok(lines) => to_js(&lines),
                Err(e) => JsValue::from_str(&e),
            }
        });
    set("exec", exec.as_ref());

    let (m, r) = (model.clone(), redraw.clone());
    let act = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |action: JsValue| {
        match serde_wasm_bindgen::from_value::<Action>(action) {
            Ok(a) => {
                let result = m.borrow_mut().timeline.act(a);
                r.force_update();
                match result {
                    Ok(()) => JsValue::TRUE,
                    Err(e) => JsValue::from_str(&e),
                }
            }
            Err(e) => JsValue::from_str(&format!("not an action: {e}")),
        }
    });
    set("act", act.as_ref());

    let (m, r) = (model.clone(), redraw.clone());
    let load = Closure::<dyn Fn(String) -> JsValue>::new(move |json: String| {
        let result = Scenario::parse(&json).and_then(|s| Model::new(s, None));
        match result {
            Ok(new) => {
                *m.borrow_mut() = new;
                r.force_update();
                JsValue::TRUE
            }
            Err(e) => JsValue::from_str(&e),
        }
    });
    set("loadScenario", load.as_ref());

    let m = model.clone();
    let export = Closure::<dyn Fn() -> JsValue>::new(move || {
        JsValue::from_str(&crate::json::to_string(&m.borrow().run_file()).unwrap_or_default())
    });
    set("exportTrace", export.as_ref());

    let m = model.clone();
    let crash = Closure::<dyn Fn(String) -> JsValue>::new(move |kind: String| {
        // Held through the crash, as by a tick that traps: nothing may borrow it afterwards.
        let _held = m.borrow_mut();
        match kind.as_str() {
            // "<panic>": the banner must show the message as text, never as HTML.
            "panic" => panic!("crashForTest(\"panic\"): a deliberate <panic> for the test"),
            "oom" => exhaust_memory(),
            _ => JsValue::from_str("crashForTest: the kind is \"panic\" or \"oom\""),
        }
    });
    set("crashForTest", crash.as_ref());

    let (m, r) = (model, redraw);
    let import =
        Closure::<dyn Fn(String) -> JsValue>::new(move |json: String| {
            match RunFile::parse(&json).and_then(Model::replay) {
                Ok(new) => {
                    *m.borrow_mut() = new;
                    r.force_update();
                    JsValue::TRUE
                }
                Err(e) => JsValue::from_str(&e),
            }
        });
    set("importRun", import.as_ref());

    // The page lives as long as these closures.
    snapshot.forget();
    exec.forget();
    act.forget();
    load.forget();
    export.forget();
    import.forget();
    crash.forget();
    let _ = js_sys::Reflect::set(
        window.unchecked_ref(),
        &JsValue::from_str("replscope"),
        &api,
    );
}

/// Reserves 1 GiB blocks until the allocator fails. One block cannot be bigger than
/// `isize::MAX` (2 GiB on wasm32: a bigger `Vec` is a "capacity overflow" panic, not an
/// allocation failure), and wasm32 memory ends at 4 GiB, so `memory.grow` fails by the fourth
/// block and Rust aborts as on any real out-of-memory. The blocks are never written to, so their
/// pages are never touched.
fn exhaust_memory() -> ! {
    let mut blocks = Vec::new();
    loop {
        // black_box: an allocation nobody reads could be optimised away.
        blocks.push(std::hint::black_box(Vec::<u8>::with_capacity(1 << 30)));
    }
}
