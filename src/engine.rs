//! The sans-IO Redis node. Bytes and virtual time go in; bytes, connection requests, timer
//! deadlines and structured events come out. Nothing here touches a socket, a clock, a thread
//! or the browser, so the very same code runs in wasm, natively and in tests.

pub mod backlog;
pub mod commands;
pub mod keyspace;
pub mod rdb;
pub mod resp;
