//! A readable error banner instead of a dead page.
//!
//! A Rust panic in wasm leaves Yew unable to render again, so the page would silently freeze.
//! The panic hook logs the panic to the console (console_error_panic_hook) and puts a banner
//! with the message and a reload button on top of the page, built with DOM calls only
//! (`textContent`), so no panic message is ever interpreted as HTML.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Id of the banner element, so a second panic replaces the message instead of stacking banners.
pub const BANNER_ID: &str = "error-banner";

/// Installs the hook that logs a panic and shows the banner.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show(&info.to_string());
    }));
}

/// Shows (or updates) the error banner with `message`. Does nothing without a document.
pub fn show(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = document.body() else {
        return;
    };
    let banner = match document.get_element_by_id(BANNER_ID) {
        Some(existing) => existing,
        None => {
            let Ok(banner) = document.create_element("div") else {
                return;
            };
            banner.set_id(BANNER_ID);
            let _ = banner.set_attribute("role", "alert");
            let _ = banner.set_attribute("data-testid", "error-banner");
            let _ = body.prepend_with_node_1(&banner);
            banner
        }
    };
    banner.set_text_content(None);
    if let Ok(text) = document.create_element("p") {
        text.set_text_content(Some(&format!(
            "replscope stopped because of an internal error: {message}"
        )));
        let _ = banner.append_child(&text);
    }
    if let Ok(button) = document.create_element("button") {
        button.set_text_content(Some("Reload"));
        let reload = Closure::<dyn Fn()>::new(|| {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
        if let Some(button) = button.dyn_ref::<web_sys::HtmlElement>() {
            button.set_onclick(Some(reload.as_ref().unchecked_ref()));
        }
        // The button lives as long as the page; the closure must too.
        reload.forget();
        let _ = banner.append_child(&button);
    }
}
