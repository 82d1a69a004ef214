//! The sans-IO Redis node. Bytes and virtual time go in; bytes, connection requests, timer
//! deadlines and structured events come out. Nothing here touches a socket, a clock, a thread
//! or the browser, so the very same code runs in wasm, natively and in tests.

pub mod argv;
pub mod backlog;
mod blocked;
mod clients;
mod command_stats;
pub mod commands;
pub mod config;
pub mod config_rewrite;
mod debug;
pub mod digest;
pub mod event;
mod heartbeat;
mod inert;
pub mod info;
mod key_delay;
pub mod keyspace;
mod limits;
mod master;
pub mod maxmemory;
pub mod node;
mod outbox;
mod persistence;
pub mod psync;
pub mod rdb;
mod replica;
mod replica_expire;
pub mod resp;
pub mod shutdown;
mod transfer;
pub mod watch;
mod watchdog;
