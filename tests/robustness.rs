//! Bad input on every door of `replscope server`: garbage from clients gets the error Redis
//! gives (checked against a real redis-server) and a closed connection; garbage or a corrupt
//! RDB from a master makes the replica drop the link and retry while keeping its data.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use replscope::engine::resp::{Reply, RequestParser};
use support::{lines_after_full_resync, raw_exchange, wait_until, Server};

#[test]
fn client_garbage_gets_the_same_errors_as_redis() {
    let real = Server::redis(&[]);
    let ours = Server::replscope(&[]);
    let cases: &[&[u8]] = &[
        b"*abc\r\n",
        b"*1\r\n+PING\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$999999999999\r\n",
        b"SET a \"b\r\n",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nNOSUCHCMD x y\r\n",
        b"GET\r\n",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n",
        b"LPUSH l a\r\nGET l\r\n",
        b"CONFIG GET\r\nCONFIG foo\r\nCONFIG SET a\r\nCONFIG SET repl-timeout 0\r\n",
        b"CLIENT KILL TYPE foo\r\nCLIENT KILL TYPE master\r\nCLIENT KILL 1.2.3.4:5\r\n",
        b"CLIENT SETNAME \"a b\"\r\nCLIENT nope\r\nCLIENT GETNAME\r\n",
        b"REPLICAOF a b\r\nREPLICAOF no one\r\nWAIT 0 0\r\nWAIT x 0\r\nROLE x\r\n",
        b"REPLCONF\r\nREPLCONF foo bar\r\nREPLCONF listening-port x\r\nREPLCONF ack 5\r\n",
        b"MULTI\r\nSET a\r\nEXEC\r\nEXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nDISCARD\r\n",
    ];
    for case in cases {
        let expected = raw_exchange(real.port, case);
        let got = raw_exchange(ours.port, case);
        assert_eq!(
            String::from_utf8_lossy(&got.0),
            String::from_utf8_lossy(&expected.0),
            "replies to {:?}",
            String::from_utf8_lossy(case)
        );
        assert_eq!(
            got.1,
            expected.1,
            "connection closed after {:?}",
            String::from_utf8_lossy(case)
        );
    }
    // The server survived all of it.
    assert_eq!(ours.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn an_unfinished_huge_bulk_does_not_take_the_server_down() {
    let ours = Server::replscope(&[]);
    let mut s = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    s.write_all(b"*2\r\n$3\r\nGET\r\n$536870912\r\nabc")
        .unwrap();
    // Other clients are served meanwhile, and the declared half-gigabyte is never allocated
    // up front (the parser only keeps what arrived).
    assert_eq!(ours.cmd(&["SET", "k", "v"]), Reply::ok());
    let rss_kb = ours.rss_kb();
    assert!(rss_kb < 100 * 1024, "RSS {rss_kb} kB");
}

/// A fake master: answers the handshake, then sends `payload` after `+FULLRESYNC`.
/// Returns how many times a replica connected within `window`.
fn fake_master(listener: TcpListener, payload: Vec<u8>, window: Duration) -> usize {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    let mut connections = 0;
    while start.elapsed() < window {
        let Ok((mut s, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        connections += 1;
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut parser = RequestParser::new();
        let mut buf = [0u8; 4096];
        'conn: while start.elapsed() < window {
            let n = match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => continue,
            };
            parser.feed(&buf[..n]);
            while let Ok(Some(req)) = parser.next_request() {
                let Some(name) = req.argv.first() else {
                    continue; // an empty line
                };
                let name = String::from_utf8_lossy(name).to_ascii_uppercase();
                let reply: Vec<u8> = match name.as_str() {
                    "PING" => b"+PONG\r\n".to_vec(),
                    "REPLCONF" => b"+OK\r\n".to_vec(),
                    "PSYNC" => {
                        let mut r = format!("+FULLRESYNC {} 0\r\n", "f".repeat(40)).into_bytes();
                        r.extend_from_slice(&payload);
                        r
                    }
                    _ => Vec::new(),
                };
                if s.write_all(&reply).is_err() {
                    break 'conn;
                }
            }
        }
    }
    connections
}

/// A server of `kind` holding one key, made a replica of a fake master that sends
/// `body` as a diskless payload (between `$EOF:<mark>` and the mark) on each of its
/// connections for `window`. Returns the server, the payload, the fake master's port and
/// its thread (which answers how many connections it served).
fn replica_of_fake_master(
    kind: &str,
    body: &[u8],
    window: Duration,
) -> (Server, Vec<u8>, u16, std::thread::JoinHandle<usize>) {
    let mark = "m".repeat(40);
    let mut payload = format!("$EOF:{mark}\r\n").into_bytes();
    payload.extend_from_slice(body);
    payload.extend_from_slice(mark.as_bytes());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = payload.clone();
    let fake = std::thread::spawn(move || fake_master(listener, sent, window));
    let server = Server::of_kind(kind, &[]);
    assert_eq!(server.cmd(&["SET", "precious", "data"]), Reply::ok());
    assert_eq!(
        server.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::ok()
    );
    (server, payload, port, fake)
}

/// A corrupt payload received to disk (`repl-diskless-load disabled`, the default): Redis
/// 7.0.15 flushes its data, renames the payload over dump.rdb, and `rdbLoad` finds it bad:
/// `rdbReportError` runs redis-check-rdb and exits the process with status 1. Side by side.
#[test]
fn a_corrupt_rdb_received_to_disk_ends_the_replica_as_in_redis() {
    let body = b"REDIS0010\xfa\x09redis-ver\x067.0.15garbage-that-is-not-an-rdb";
    let mut logs = Vec::new();
    for kind in ["redis", "replscope"] {
        let (mut server, payload, _, fake) =
            replica_of_fake_master(kind, body, Duration::from_secs(3));
        let status = server.wait_exit(Duration::from_secs(5));
        assert_eq!(
            status,
            Some(1),
            "{kind} exits with status 1\n{}",
            server.log()
        );
        assert_eq!(fake.join().unwrap(), 1, "{kind} connected once");
        // The payload was renamed over dump.rdb before it was found bad.
        let dump = std::fs::read(server.dir.join("dump.rdb")).expect("dump.rdb");
        assert_eq!(dump, payload[47..payload.len() - 40], "{kind}: dump.rdb");
        logs.push(lines_after_full_resync(&server.log()));
    }
    assert_eq!(
        logs[1],
        logs[0]
            .iter()
            .map(|l| l.replace("rdb.c:3241", "rdb.c:3240"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        logs[1].last().map(String::as_str),
        Some("Internal error in RDB reading offset 0, function at rdb.c:3240 -> Unexpected EOF reading RDB file")
    );
}

/// A payload with a bad signature fails `rdbLoad` without `rdbReportError`: Redis stays up,
/// its old data flushed, and dials the master again at once.
#[test]
fn a_payload_with_a_bad_signature_is_retried_with_the_data_flushed() {
    let mut logs = Vec::new();
    for kind in ["redis", "replscope"] {
        let (server, _, port, fake) =
            replica_of_fake_master(kind, b"NOTREDIS10", Duration::from_secs(3));
        let connections = fake.join().unwrap();
        assert!(
            connections >= 2,
            "{kind} retried: {connections} connections"
        );
        assert_eq!(
            server.cmd(&["GET", "precious"]),
            Reply::Nil,
            "{kind} flushed"
        );
        assert_eq!(server.info("replication", "master_link_status"), "down");
        let log = lines_after_full_resync(&server.log().replace(&port.to_string(), "PORT"));
        logs.push(log[..8.min(log.len())].to_vec());
    }
    assert_eq!(logs[1], logs[0]);
}

#[test]
fn garbage_from_a_master_drops_the_link_without_crashing() {
    // Not a '$' where the RDB header belongs.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = std::thread::spawn(move || {
        fake_master(
            listener,
            b"this is not redis\r\n".to_vec(),
            Duration::from_secs(3),
        )
    });
    let ours = Server::replscope(&[]);
    assert_eq!(
        ours.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::ok()
    );
    wait_until(Duration::from_secs(5), "bad protocol is logged", || {
        ours.log().contains("Bad protocol from MASTER")
    });
    assert!(fake.join().unwrap() >= 2);
    assert_eq!(ours.cmd(&["PING"]), Reply::Simple("PONG".into()));
}
