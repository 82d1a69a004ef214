//! What `replscope server` keeps in memory when a peer sends a lot (issue #14, item 5),
//! measured as the process's RSS: a diskless RDB payload that never ends, a huge value
//! declared in one, a client's 200 MB bulk argument (sent whole, or abandoned half way).
//! Redis holds none of it for long (it streams a payload to a temporary file, frees a query
//! buffer with its client and shrinks one a big argument has left); neither may we.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use replscope::engine::resp::Reply;
use support::{wait_until, Server};

const MB: usize = 1024 * 1024;
/// What an idle server may hold (a debug build idles at about 12 MB).
const IDLE_RSS_KB_MAX: u64 = 48 * 1024;

/// Waits (5 s at most) for the RSS to come down to `kb`.
fn wait_rss_below(server: &Server, kb: u64, what: &str) {
    let start = Instant::now();
    while server.rss_kb() >= kb {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: RSS still {} kB (bound {kb} kB)",
            server.rss_kb()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fake master on `listener`: answers the handshake of the one replica that connects,
/// replies `+FULLRESYNC` and a diskless payload header, `start` (the payload's first bytes),
/// then `mb` MB of `filler`, calling `during` after each MB; returns the open connection.
fn stream_payload(
    listener: &TcpListener,
    start: &[u8],
    mb: usize,
    mut during: impl FnMut(usize),
) -> TcpStream {
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(5).any(|w| w == b"PSYNC") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the replica left during the handshake");
        let got = &buf[..n];
        let count = |what: &[u8]| got.windows(what.len()).filter(|w| *w == what).count();
        s.write_all(&b"+PONG\r\n".repeat(count(b"PING"))).unwrap();
        s.write_all(&b"+OK\r\n".repeat(count(b"REPLCONF"))).unwrap();
        seen.extend_from_slice(got);
    }
    let header = format!(
        "+FULLRESYNC {} 0\r\n$EOF:{}\r\n",
        "f".repeat(40),
        "m".repeat(40)
    );
    s.write_all(header.as_bytes()).unwrap();
    s.write_all(start).unwrap();
    let filler: Vec<u8> = (0..MB).map(|i| (i % 251) as u8).collect();
    for i in 0..mb {
        s.write_all(&filler).unwrap();
        during(i);
    }
    s
}

/// Streams `mb` MB after `start` to `server` as its master and checks, side by side with a
/// real Redis doing the same, that the replica keeps reading (the sync still in progress);
/// returns our peak RSS during the stream and our RSS once the master has left.
fn endless_payload(start: &'static [u8], mb: usize) -> (u64, u64) {
    let mut ours = (0, 0);
    for server in [Server::redis(&[]), Server::replscope(&[])] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            server.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
            Reply::ok()
        );
        let mut peak = 0;
        let conn = stream_payload(&listener, start, mb, |i| {
            if i % 10 == 0 {
                peak = peak.max(server.rss_kb());
            }
        });
        wait_until(
            Duration::from_secs(10),
            &format!("{} read the whole stream", server.kind),
            || {
                let read: usize = server
                    .info("replication", "master_sync_read_bytes")
                    .parse()
                    .unwrap_or(0);
                read >= mb * MB
            },
        );
        assert_eq!(
            server.info("replication", "master_sync_in_progress"),
            "1",
            "{} still receiving",
            server.kind
        );
        drop(conn);
        wait_until(
            Duration::from_secs(5),
            &format!("{} saw the master leave", server.kind),
            || server.info("replication", "master_sync_in_progress") == "0",
        );
        if server.kind == "replscope" {
            wait_rss_below(&server, IDLE_RSS_KB_MAX, "after the master left");
            ours = (peak, server.rss_kb());
        }
    }
    ours
}

#[test]
fn a_diskless_payload_that_never_ends_is_read_at_constant_memory() {
    // Not an RDB past its AUX field: read to the (never coming) end and dropped as it comes,
    // as Redis writes it to its temporary file.
    let (peak, _) = endless_payload(b"REDIS0010\xfa\x09redis-ver\x067.0.15", 200);
    assert!(
        peak < IDLE_RSS_KB_MAX,
        "peak RSS {peak} kB over 200 MB streamed"
    );
}

#[test]
fn a_huge_value_in_a_payload_is_released_when_the_master_leaves() {
    // A string claiming 2 GB: held as it comes (within the transfer budget), and freed with
    // the transfer.
    endless_payload(b"REDIS0010\xfe\x00\x00\x01k\x80\x7f\x00\x00\x00", 100);
}

#[test]
fn query_buffers_go_with_their_client_and_after_a_big_argument() {
    let ours = Server::replscope(&[]);
    let filler = vec![b'x'; MB];
    // Half of a 200 MB argument, then the client leaves.
    let mut s = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$209715200\r\n")
        .unwrap();
    for _ in 0..100 {
        s.write_all(&filler).unwrap();
    }
    // Everything sent has been read once the server answers another client.
    assert_eq!(ours.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert!(ours.rss_kb() > 100 * 1024, "the claim is being read");
    drop(s);
    wait_rss_below(&ours, IDLE_RSS_KB_MAX, "after the client closed");

    // A 100 MB value, written then deleted: nothing of it stays with the client.
    let mut s = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$104857600\r\n")
        .unwrap();
    for _ in 0..100 {
        s.write_all(&filler).unwrap();
    }
    s.write_all(b"\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n").unwrap();
    let mut reply = [0u8; 9];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"+OK\r\n:1\r\n");
    wait_rss_below(&ours, IDLE_RSS_KB_MAX, "with the client still connected");
}
