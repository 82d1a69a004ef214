//! The Yew front end. It renders simulator snapshots and sends user actions back; it owns
//! no replication logic of its own.

mod api;
mod app;
mod catalogue;
mod console;
mod error_banner;
mod event_log;
mod lesson;
mod lesson_panel;
pub mod model;
mod panels;
mod spacetime;
pub mod topology;

pub use app::App;

/// The page's high-resolution clock, in ms (tick budgets, pulse fades).
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Entry point of the browser build: installs the panic banner, then mounts [`App`] on `<body>`.
pub fn start() {
    error_banner::install_panic_hook();
    yew::Renderer::<App>::new().render();
}
