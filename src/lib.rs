//! replscope: an educational simulator of Redis master–replica replication.
//!
//! The crate has three layers, kept apart so that the same replication code runs in the
//! browser, natively and in tests:
//! - `engine`: a sans-IO Redis node (bytes and virtual time in; bytes, timers and events out);
//! - `sim`: a deterministic virtual network and clock that runs many engine nodes;
//! - `ui`: the Yew front end, compiled only for `wasm32` so native builds never pull in Yew;
//! - `server`: the engine on real TCP (native only), for `redis-cli` and real `redis-server`s.

pub mod engine;
#[cfg(not(target_arch = "wasm32"))]
pub mod server;
pub mod sim;
#[cfg(target_arch = "wasm32")]
pub mod ui;
