//! A node as a replica, on arbitrary bytes from its master: the handshake replies (`+PONG`,
//! `+OK`, `+FULLRESYNC`, `+CONTINUE`, errors), the RDB (`$<len>` or `$EOF:<mark>` diskless,
//! any content), then the command stream. Bytes arrive line by line with time passing. The
//! replica loads, drops the link or retries; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::config::Config;
use replscope::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr};

fuzz_target!(|data: &[u8]| {
    let mut now = 1_767_225_600_000;
    let mut node = Node::new(NodeOptions {
        name: "r".into(),
        config: Config::default(),
        seed: 2,
        now_ms: now,
    });
    let client = ConnId::In(1);
    let peer = PeerAddr {
        ip: "127.0.0.1".into(),
        port: 50000,
    };
    node.handle(now, Input::Accepted { conn: client, peer });
    node.handle(
        now,
        Input::Data {
            conn: client,
            bytes: b"REPLICAOF 10.0.0.1 6379\r\n".to_vec(),
        },
    );
    // The replication cron dials the master within a second.
    let mut link = None;
    for _ in 0..3 {
        now += 1000;
        node.handle_timeout(now);
        while let Some(out) = node.poll_output() {
            if let Output::Connect { conn, .. } = out {
                link = Some(conn);
            }
        }
        if link.is_some() {
            break;
        }
    }
    let link = link.expect("a replica dials its master");
    node.handle(now, Input::Connected { conn: link });
    while node.poll_output().is_some() {}
    for piece in data.split_inclusive(|&b| b == b'\n') {
        node.handle(
            now,
            Input::Data {
                conn: link,
                bytes: piece.to_vec(),
            },
        );
        now += 50;
        node.handle_timeout(now);
        while node.poll_output().is_some() {}
    }
    // The client can still talk to it.
    node.handle(
        now,
        Input::Data {
            conn: client,
            bytes: b"INFO replication\r\nDBSIZE\r\n".to_vec(),
        },
    );
    while node.poll_output().is_some() {}
});
