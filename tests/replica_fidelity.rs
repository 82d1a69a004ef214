//! Replication under abuse, side by side with a real redis-server 7.0 (issue #14, item 10):
//! a fake master feeding both a real Redis replica and a replscope replica the same odd
//! stream (an inline command, `REPLCONF GETACK` without its argument, an RDB with negative
//! expiry times), and clients asking a master for odd things (PSYNC behind pending replies,
//! long `ip-address`es, `REPLCONF rdb-only`). Each side must do exactly what Redis does.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use replscope::engine::resp::{Reply, RequestParser};
use support::{raw_exchange, wait_until, Server};

/// A master that answers the handshake, replies `+FULLRESYNC` with `rdb` as a sized
/// payload, then sends `after` 300 ms later and listens on. It records the PSYNC arguments
/// of every connection, and runs until dropped.
struct FakeMaster {
    port: u16,
    psyncs: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeMaster {
    fn start(rdb: Vec<u8>, after: &'static [u8]) -> FakeMaster {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let psyncs = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, done) = (psyncs.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut conns: Vec<(TcpStream, RequestParser)> = Vec::new();
            let mut buf = [0u8; 65536];
            while !done.load(Ordering::Relaxed) {
                if let Ok((s, _)) = listener.accept() {
                    s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                    conns.push((s, RequestParser::new()));
                }
                conns.retain_mut(|(s, parser)| {
                    let n = match s.read(&mut buf) {
                        Ok(0) => return false,
                        Ok(n) => n,
                        Err(_) => return true,
                    };
                    parser.feed(&buf[..n]);
                    while let Ok(Some(req)) = parser.next_request() {
                        let arg = |i: usize| {
                            String::from_utf8_lossy(req.argv.get(i).map_or(&[][..], |a| a))
                                .to_ascii_uppercase()
                        };
                        let reply: Vec<u8> = match (arg(0).as_str(), arg(1).as_str()) {
                            ("PING", _) => b"+PONG\r\n".to_vec(),
                            ("REPLCONF", "ACK") => Vec::new(),
                            ("REPLCONF", _) | ("AUTH", _) => b"+OK\r\n".to_vec(),
                            ("PSYNC", _) => {
                                let id = String::from_utf8_lossy(&req.argv[1]).into_owned();
                                let off = String::from_utf8_lossy(&req.argv[2]).into_owned();
                                seen.lock().unwrap().push((id, off));
                                let mut r = format!("+FULLRESYNC {} 0\r\n", "f".repeat(40));
                                r.push_str(&format!("${}\r\n", rdb.len()));
                                let mut r = r.into_bytes();
                                r.extend_from_slice(&rdb);
                                if s.write_all(&r).is_err() {
                                    return false;
                                }
                                std::thread::sleep(Duration::from_millis(300));
                                after.to_vec()
                            }
                            _ => Vec::new(),
                        };
                        if s.write_all(&reply).is_err() {
                            return false;
                        }
                    }
                    true
                });
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        FakeMaster {
            port,
            psyncs,
            stop,
            thread: Some(thread),
        }
    }

    fn psyncs(&self) -> Vec<(String, String)> {
        self.psyncs.lock().unwrap().clone()
    }
}

impl Drop for FakeMaster {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An RDB (version 10, checksum 0 = not computed) holding string keys in db 0, each with
/// its `EXPIRETIME_MS` when given.
fn rdb(keys: &[(&str, &str, Option<i64>)]) -> Vec<u8> {
    let mut out = b"REDIS0010\xfe\x00".to_vec();
    for (k, v, expire) in keys {
        if let Some(ms) = expire {
            out.push(0xfc);
            out.extend_from_slice(&ms.to_le_bytes());
        }
        out.push(0);
        out.push(k.len() as u8);
        out.extend_from_slice(k.as_bytes());
        out.push(v.len() as u8);
        out.extend_from_slice(v.as_bytes());
    }
    out.push(0xff);
    out.extend_from_slice(&[0; 8]);
    out
}

/// A real Redis and a replscope server, both just started as masters.
fn both() -> [Server; 2] {
    [Server::redis(&[]), Server::replscope(&[])]
}

fn replicate_from(server: &Server, fake: &FakeMaster) {
    assert_eq!(
        server.cmd(&["REPLICAOF", "127.0.0.1", &fake.port.to_string()]),
        Reply::ok()
    );
}

#[test]
fn an_inline_command_from_the_master_is_a_protocol_error_and_the_master_is_not_cached() {
    for server in both() {
        let fake = FakeMaster::start(rdb(&[("k", "v", None)]), b"SET foo bar\r\n");
        replicate_from(&server, &fake);
        let kind = server.kind;
        wait_until(Duration::from_secs(5), &format!("{kind} resyncs"), || {
            fake.psyncs().len() >= 2
        });
        let log = server.log();
        for line in [
            "WARNING: Receiving inline protocol from master, master stream corruption? Closing the master connection and discarding the cached master.",
            "Protocol error (Master using the inline protocol. Desync?) from client: ",
            "Query buffer during protocol error: 'SET foo bar..'",
            "Connection with master lost.",
        ] {
            assert!(log.contains(line), "{kind} logs {line:?}:\n{log}");
        }
        // Not run, and not cached: the next sync starts from scratch.
        assert_eq!(server.cmd(&["GET", "foo"]), Reply::Nil, "{kind}");
        assert_eq!(
            fake.psyncs()[1],
            ("?".to_string(), "-1".to_string()),
            "{kind}"
        );
    }
}

#[test]
fn a_bare_newline_from_the_master_is_a_keepalive() {
    for server in both() {
        let fake = FakeMaster::start(
            rdb(&[("k", "v", None)]),
            b"\r\n\n*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
        );
        replicate_from(&server, &fake);
        wait_until(
            Duration::from_secs(5),
            &format!("{} applies the SET", server.kind),
            || server.cmd(&["GET", "foo"]) == Reply::Bulk(b"bar".to_vec()),
        );
        assert_eq!(fake.psyncs().len(), 1, "{} kept its link", server.kind);
    }
}

#[test]
fn replconf_getack_without_its_argument_from_the_master_is_a_syntax_error() {
    for server in both() {
        let fake = FakeMaster::start(
            rdb(&[("k", "v", None)]),
            b"*2\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n",
        );
        replicate_from(&server, &fake);
        let line = "== CRITICAL == This replica is sending an error to its master: '-ERR syntax error' after processing the command 'replconf'";
        wait_until(
            Duration::from_secs(5),
            &format!("{} logs {line:?}", server.kind),
            || server.log().contains(line),
        );
    }
}

#[test]
fn negative_expiry_times_in_an_rdb_load_as_redis_loads_them() {
    // -1 is Redis's "no expiry"; another negative time is kept (TTL 0, never expired by a
    // lookup); 0 is a time in the past.
    let keys = [
        ("minus-one", "v", Some(-1)),
        ("minus-five", "v", Some(-5)),
        ("zero", "v", Some(0)),
        ("none", "v", None),
    ];
    let mut seen = Vec::new();
    for server in both() {
        let fake = FakeMaster::start(rdb(&keys), b"");
        replicate_from(&server, &fake);
        server.wait_link_up();
        let mut answers = Vec::new();
        for (key, _, _) in keys {
            for cmd in ["GET", "PTTL", "TTL", "EXISTS"] {
                answers.push(format!("{cmd} {key} = {:?}", server.cmd(&[cmd, key])));
            }
        }
        answers.push(server.info("keyspace", "db0"));
        seen.push(answers);
    }
    assert_eq!(seen[1], seen[0], "replscope (left) and Redis (right)");
    assert!(seen[0].contains(&"GET minus-five = Bulk([118])".to_string()));
}

#[test]
fn a_master_answers_replconf_and_psync_like_redis() {
    let [real, ours] = both();
    let long = |n: usize| format!("REPLCONF ip-address {}\r\n", "a".repeat(n));
    let cases: Vec<Vec<u8>> = vec![
        // PSYNC behind a reply not written yet (`clientHasPendingReplies`).
        b"PING\r\nPSYNC ? -1\r\n".to_vec(),
        b"PING\r\nSYNC\r\n".to_vec(),
        // NET_HOST_STR_LEN: up to 255 bytes.
        long(46).into_bytes(),
        long(255).into_bytes(),
        long(256).into_bytes(),
        b"REPLCONF GETACK\r\n".to_vec(),
        b"REPLCONF rdb-only 1\r\nREPLCONF rdb-only 0\r\nREPLCONF rdb-only 2\r\n".to_vec(),
        b"REPLCONF rdb-only x\r\nREPLCONF rdb-only -1\r\nREPLCONF rdb-only\r\n".to_vec(),
        b"REPLCONF rdb-filter-only functions\r\nREPLCONF rdb-filter-only \"\"\r\n".to_vec(),
        b"REPLCONF rdb-filter-only foo\r\nREPLCONF rdb-filter-only \"functions foo\"\r\n".to_vec(),
        b"*3\r\n$8\r\nREPLCONF\r\n$15\r\nrdb-filter-only\r\n$4\r\n\"a b\r\n".to_vec(),
    ];
    for case in &cases {
        let expected = raw_exchange(real.port, case);
        let got = raw_exchange(ours.port, case);
        let what = String::from_utf8_lossy(&case[..case.len().min(60)]).into_owned();
        assert_eq!(
            String::from_utf8_lossy(&got.0),
            String::from_utf8_lossy(&expected.0),
            "replies to {what:?}"
        );
        assert_eq!(got.1, expected.1, "connection closed after {what:?}");
    }
}

/// `REPLCONF rdb-only 1` (after the `REPLCONF`s in `first`, one at a time) then `SYNC`, as
/// `redis-cli --rdb` does: returns everything the master sent after the newlines it keeps
/// the link alive with, until it closed the connection (panics if not within 10 s).
fn fetch_rdb_only(server: &Server, first: &[&str]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for line in first.iter().chain(&["REPLCONF rdb-only 1"]) {
        s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut ok = [0u8; 5];
        s.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"+OK\r\n", "{}: {line}", server.kind);
    }
    s.write_all(b"SYNC\r\n").unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got)
        .unwrap_or_else(|e| panic!("{} never closed the rdb-only link: {e}", server.kind));
    let start = got.iter().position(|&b| b != b'\n').unwrap_or(got.len());
    got.split_off(start)
}

/// The RDB payload that starts `bytes` (`$<size>` or `$EOF:<mark>`), and what follows it.
fn split_payload(bytes: &[u8]) -> (&[u8], &[u8]) {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .expect("a header line");
    let header = String::from_utf8_lossy(&bytes[1..nl - 1]).into_owned();
    let body = &bytes[nl + 1..];
    match header.strip_prefix("EOF:") {
        Some(mark) => {
            let end = body
                .windows(40)
                .position(|w| w == mark.as_bytes())
                .expect("the EOF mark");
            (&body[..end], &body[end + 40..])
        }
        None => body.split_at(header.parse::<usize>().unwrap()),
    }
}

#[test]
fn an_rdb_only_replica_gets_the_rdb_and_nothing_else_then_is_disconnected() {
    for diskless in ["yes", "no"] {
        let args = [
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
        ];
        for server in [Server::redis(&args), Server::replscope(&args)] {
            let kind = server.kind;
            assert_eq!(server.cmd(&["SET", "k", "v"]), Reply::ok());
            let got = fetch_rdb_only(&server, &[]);
            assert!(got.starts_with(b"$"), "{kind} diskless={diskless}: {got:?}");
            assert_eq!(
                split_payload(&got).1,
                b"",
                "{kind} diskless={diskless}: no stream after the RDB"
            );
            let line = "RDB transfer completed, rdb only replica (127.0.0.1:<unknown-replica-port>) should be disconnected asap";
            wait_until(
                Duration::from_secs(5),
                &format!("{kind} logs {line:?}"),
                || server.log().contains(line),
            );
            assert_eq!(
                server.info("replication", "connected_slaves"),
                "0",
                "{kind}"
            );
        }
    }
}

#[test]
fn a_replica_filtering_the_data_out_gets_an_rdb_without_keys() {
    // `redis-cli --functions-rdb`: the filter, the EOF capability, RDB only, then SYNC; on
    // a disk-sync master too, since a filtered RDB always goes through the socket.
    let args = ["--repl-diskless-sync", "no"];
    for server in [Server::redis(&args), Server::replscope(&args)] {
        let kind = server.kind;
        // Without the EOF capability, refused.
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reply = Vec::new();
        for line in ["REPLCONF rdb-filter-only \"\"\r\n", "SYNC\r\n"] {
            s.write_all(line.as_bytes()).unwrap();
            let mut buf = [0u8; 128];
            let n = s.read(&mut buf).unwrap();
            reply.extend_from_slice(&buf[..n]);
        }
        assert_eq!(
            String::from_utf8_lossy(&reply),
            "+OK\r\n-ERR Filtered replica requires EOF capability\r\n",
            "{kind}"
        );
        assert_eq!(server.cmd(&["SET", "k", "v"]), Reply::ok());
        let got = fetch_rdb_only(
            &server,
            &["REPLCONF rdb-filter-only functions", "REPLCONF capa eof"],
        );
        assert!(got.starts_with(b"$EOF:"), "{kind}: {got:?}");
        let (rdb, rest) = split_payload(&got);
        assert_eq!(rest, b"", "{kind}");
        let loaded = replscope::engine::rdb::load(rdb).unwrap();
        assert_eq!(loaded.keyspace.key_count(), 0, "{kind}");
        assert!(loaded.repl.is_some(), "{kind}: the AUX fields stay");
    }
}
