//! A node as a master, or any server, on arbitrary bytes from one client: commands, a
//! replica's handshake (`REPLCONF`, `PSYNC`, `SYNC`, acks), garbage. Bytes arrive line by
//! line with time passing, so timers (replication cron, BGSAVE, diskless delay) fire between
//! them. It answers or closes; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::config::Config;
use replscope::engine::node::{ConnId, Input, Node, NodeOptions, PeerAddr};

fuzz_target!(|data: &[u8]| {
    let mut now = 1_767_225_600_000;
    let mut node = Node::new(NodeOptions {
        name: "m".into(),
        config: Config::default(),
        seed: 1,
        now_ms: now,
    });
    let conn = ConnId::In(1);
    let peer = PeerAddr {
        ip: "127.0.0.1".into(),
        port: 50000,
    };
    node.handle(now, Input::Accepted { conn, peer });
    for piece in data.split_inclusive(|&b| b == b'\n') {
        node.handle(
            now,
            Input::Data {
                conn,
                bytes: piece.to_vec(),
            },
        );
        now += 300;
        node.handle_timeout(now);
        while node.poll_output().is_some() {}
    }
    // Then a few seconds of timers with the client still there.
    for _ in 0..10 {
        now += 1000;
        node.handle_timeout(now);
        while node.poll_output().is_some() {}
    }
});
