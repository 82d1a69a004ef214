//! Bad input on every door of `replscope server`: garbage from clients gets the error Redis
//! gives (checked against a real redis-server) and a closed connection; garbage or a corrupt
//! RDB from a master makes the replica drop the link and retry while keeping its data.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use replscope::engine::resp::{Reply, RequestParser};
use support::{raw_exchange, wait_until, Server};

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
                let name = String::from_utf8_lossy(&req.argv[0]).to_ascii_uppercase();
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

#[test]
fn a_corrupt_rdb_keeps_the_old_data_and_the_replica_retries() {
    let mark = "m".repeat(40);
    let mut payload = format!("$EOF:{mark}\r\n").into_bytes();
    payload.extend_from_slice(b"REDIS0010\xfa\x09redis-ver\x067.0.15garbage-that-is-not-an-rdb");
    payload.extend_from_slice(mark.as_bytes());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = std::thread::spawn(move || fake_master(listener, payload, Duration::from_secs(4)));

    let ours = Server::replscope(&[]);
    assert_eq!(ours.cmd(&["SET", "precious", "data"]), Reply::ok());
    assert_eq!(
        ours.cmd(&["REPLICAOF", "127.0.0.1", &port.to_string()]),
        Reply::ok()
    );
    wait_until(Duration::from_secs(5), "the load failure is logged", || {
        ours.log()
            .contains("Failed trying to load the MASTER synchronization DB")
    });
    assert_eq!(
        ours.cmd(&["GET", "precious"]),
        Reply::Bulk(b"data".to_vec())
    );
    let connections = fake.join().unwrap();
    assert!(
        connections >= 2,
        "the replica retried: {connections} connections"
    );
    assert_eq!(ours.info("replication", "master_link_status"), "down");
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
