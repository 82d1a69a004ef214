//! replscope: an educational simulator of Redis master–replica replication.
//!
//! The crate has three layers, kept apart so that the same replication code runs in the
//! browser, natively and in tests:
//! - `engine`: a sans-IO Redis node (bytes and virtual time in; bytes, timers and events out);
//! - `sim`: a deterministic virtual network and clock that runs many engine nodes;
//! - `ui`: the Yew front end, compiled only for `wasm32` so native builds never pull in Yew;
//! - `server`: the engine on real TCP (native only), for `redis-cli` and real `redis-server`s.

/// Natively, mimalloc instead of the system allocator. The simulator allocates and frees
/// small objects at a high rate (trace entries, arguments, segments), where glibc's malloc
/// spends a third of the time consolidating and unlinking chunks; `./x bench sim` measured
/// ~1.3× more replicated writes/s with mimalloc (BENCHMARKS.md). In wasm the default
/// allocator stays (mimalloc is C; Talc measured no faster there).
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod engine;
pub mod json;
#[cfg(not(target_arch = "wasm32"))]
pub mod server;
pub mod sim;
#[cfg(target_arch = "wasm32")]
pub mod ui;
