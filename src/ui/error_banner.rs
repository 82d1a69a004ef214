//! No silent death: what the Rust side does so that a crash shows a banner and stops time.
//!
//! When the wasm traps (a Rust panic, an allocation failure, any `unreachable`), its state
//! can no longer be trusted: the stack was not unwound, so a `RefCell` may stay borrowed
//! forever, and after an allocation failure the heap is exhausted. So the banner is drawn by
//! `window.replscopeFatal` in index.html, plain JavaScript that needs no wasm memory and never
//! calls into the wasm; it also catches the traps that never reach Rust's panic hook (an
//! allocation failure aborts without it). The Rust side only
//! - calls `replscopeFatal` from the panic hook with the panic message, formatted on the
//!   stack (console_error_panic_hook still logs it, afterwards, as it allocates);
//! - keeps `window.__replscopeLastGood` up to date with the Share link of the run as last
//!   rendered, which the banner's "Reload this run" opens;
//! - stops the playback timer once stopped ([`stopped`]), so no tick touches the model again.

use std::cell::RefCell;
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::prelude::*;
use yew::prelude::*;

use super::app::{share_url, Shared};
use super::model::Model;
use crate::sim::timeline::Recorded;

/// The JS global index.html sets when anything trapped; read by [`stopped`].
const STOPPED_GLOBAL: &str = "__replscopeStopped";

/// The JS global holding the Share link of the last good state, for the banner.
const LAST_GOOD_GLOBAL: &str = "__replscopeLastGood";

/// Set first thing by the panic hook, before anything that could fail (formatting, calling
/// JS), so a panic stops time even on a page without index.html's script.
static PANICKED: AtomicBool = AtomicBool::new(false);

#[wasm_bindgen]
extern "C" {
    /// `window.replscopeFatal(message)` from index.html: shows the banner, stops the page.
    /// `catch`: on a page without it (the wasm tests), the panic hook still finishes.
    #[wasm_bindgen(catch, js_namespace = window, js_name = replscopeFatal)]
    fn replscope_fatal(message: &str) -> Result<(), JsValue>;
}

/// Installs the panic hook: stop, show the banner, log the panic with its stack. Through
/// Yew: a hook set with `std::panic::set_hook` is replaced by Yew's own when the app mounts.
pub fn install_panic_hook() {
    yew::set_custom_panic_hook(Box::new(|info| {
        PANICKED.store(true, Ordering::Relaxed);
        let mut message = StackMessage::new();
        // A message too long for the buffer is cut (write! then reports an error).
        let _ = write!(message, "{info}");
        let _ = replscope_fatal(message.finish());
        console_error_panic_hook::hook(info);
    }));
}

/// True once the page crashed: a panic, or a trap index.html caught (which never reaches the
/// panic hook). Checked by the playback timer before it touches the model.
pub fn stopped() -> bool {
    PANICKED.load(Ordering::Relaxed)
        || web_sys::window().is_some_and(|w| {
            js_sys::Reflect::get(&w, &JsValue::from_str(STOPPED_GLOBAL))
                .is_ok_and(|v| v.is_truthy())
        })
}

/// Publishes the Share link of the run after every render of the page that completed (so a
/// state whose rendering traps is never the one reloaded), unless the page has crashed.
#[hook]
pub fn use_last_good(model: &Shared) {
    let model = model.clone();
    use_effect(move || {
        if stopped() {
            return;
        }
        if let Ok(m) = model.try_borrow() {
            publish(&m);
        }
    });
}

/// What the last published link was made of. Renders come 20 times a second; the link is
/// rebuilt (every recorded action serialised) only when one of these changed.
struct Published {
    scenario: String,
    seed: u64,
    speed: f64,
    inputs: usize,
    /// The last recorded action: acting after a step back replaces the future, which can
    /// leave the number of actions unchanged.
    last: Option<Recorded>,
}

impl Published {
    fn of(m: &Model) -> Published {
        let inputs = m.timeline.inputs();
        Published {
            scenario: m.scenario.name.clone(),
            seed: m.seed,
            speed: m.speed,
            inputs: inputs.len(),
            last: inputs.last().cloned(),
        }
    }

    fn describes(&self, m: &Model) -> bool {
        let inputs = m.timeline.inputs();
        self.scenario == m.scenario.name
            && self.seed == m.seed
            && self.speed == m.speed
            && self.inputs == inputs.len()
            && self.last.as_ref() == inputs.last()
    }
}

thread_local! {
    static PUBLISHED: RefCell<Option<Published>> = const { RefCell::new(None) };
}

/// Sets `window.__replscopeLastGood` to the Share link of `m`, if the run changed since.
fn publish(m: &Model) {
    let unchanged = PUBLISHED.with_borrow(|p| p.as_ref().is_some_and(|p| p.describes(m)));
    if unchanged {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let _ = js_sys::Reflect::set(
        &window,
        &JsValue::from_str(LAST_GOOD_GLOBAL),
        &JsValue::from_str(&share_url(m)),
    );
    PUBLISHED.set(Some(Published::of(m)));
}

/// Bytes of a panic message the banner shows; a longer one is cut (the console has it all).
const MESSAGE_BYTES: usize = 1024;
const ELLIPSIS: &str = "…";

/// A panic message formatted on the stack: the panic may be an allocation failing.
struct StackMessage {
    bytes: [u8; MESSAGE_BYTES],
    len: usize,
    cut: bool,
}

impl StackMessage {
    fn new() -> StackMessage {
        StackMessage {
            bytes: [0; MESSAGE_BYTES],
            len: 0,
            cut: false,
        }
    }

    /// The message, with an ellipsis if it was cut.
    fn finish(&mut self) -> &str {
        if self.cut {
            self.cut = false;
            let end = self.len + ELLIPSIS.len();
            self.bytes[self.len..end].copy_from_slice(ELLIPSIS.as_bytes());
            self.len = end;
        }
        // Only whole characters were copied in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl Write for StackMessage {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_BYTES - ELLIPSIS.len() - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}
