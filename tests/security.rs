//! What a hostile or careless client may cost `replscope server`, side by side with a real
//! redis-server 7.0.15 wherever Redis has the behaviour (issue #14, items 1, 2, 6, 7, 11):
//! the pre-authentication limits of CVE-2021-32675 and CVE-2025-21605, `maxclients` and the
//! open files limit, `timeout`, the query and output buffer limits, protected mode, a failed
//! SAVE, protected configs and a port change, user names in AUTH, EXEC refused, `--help` and
//! several `--bind` addresses. Memory is measured on the replscope process (VmRSS).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use replscope::engine::resp::Reply;
use support::{free_port, wait_until, Server};

const PASSWORD: &str = "secret";

/// Sends `bytes` on a fresh connection to 127.0.0.1:`port`; everything received until the
/// server closes the connection or stays quiet, and whether it closed.
fn exchange(port: u16, bytes: &[u8]) -> (String, bool) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    exchange_on(s, bytes)
}

fn exchange_on(mut s: TcpStream, bytes: &[u8]) -> (String, bool) {
    // The server may close before it read everything: what it answered is what counts.
    let _ = s.write_all(bytes);
    read_until_closed(&mut s, Duration::from_secs(3))
}

/// Reads until EOF (or a reset), or until 300 ms without data once something came (or
/// `limit`): the bytes read, and whether the connection was closed.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let (start, mut last) = (Instant::now(), Instant::now());
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                last = Instant::now();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !got.is_empty() && last.elapsed() > Duration::from_millis(300) {
                    break;
                }
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

/// Asserts that `case` gets the same bytes and the same close from both servers.
fn same_exchange(real: &Server, ours: &Server, case: &[u8]) -> (String, bool) {
    let expected = exchange(real.port, case);
    let got = exchange(ours.port, case);
    assert_eq!(
        got,
        expected,
        "replies to {:?}",
        String::from_utf8_lossy(case)
    );
    got
}

/// CPU time (user + system) the process used so far, in clock ticks.
fn cpu_ticks(server: &Server) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", server.child.id())).unwrap();
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th of them.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A connection that writes `bytes` from a thread and never reads: returns the stream (to
/// see later whether the server closed it) and the writer, which ends when all is written
/// or the server closed the connection.
fn write_without_reading(port: u16, bytes: Vec<u8>) -> (TcpStream, std::thread::JoinHandle<()>) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut w = s.try_clone().unwrap();
    w.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&bytes);
    });
    (s, writer)
}

// ----- item 1: before authentication ---------------------------------------------------------

#[test]
fn unauthenticated_clients_may_not_declare_big_requests() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    for case in [
        &b"*11\r\n"[..],
        b"*1\r\n$16385\r\n",
        b"*2\r\n$4\r\nAUTH\r\n$536870912\r\n",
        b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n",
    ] {
        let (_, closed) = same_exchange(&real, &ours, case);
        assert!(closed);
    }
    // Within the limits nothing happens yet (the request is incomplete).
    let (reply, closed) = same_exchange(&real, &ours, b"PING\r\n*10\r\n$16384\r\n");
    assert_eq!(
        (reply.as_str(), closed),
        ("-NOAUTH Authentication required.\r\n", false)
    );
}

#[test]
fn unauthenticated_bulk_claims_cannot_grow_the_server() {
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    let mut claim = b"*2\r\n$3\r\nGET\r\n$536870912\r\n".to_vec();
    claim.resize(100 * 1024 * 1024, b'x');
    let streams: Vec<_> = (0..3)
        .map(|_| write_without_reading(ours.port, claim.clone()))
        .collect();
    for (mut s, writer) in streams {
        writer.join().unwrap();
        // The error may be lost to the reset of a connection closed with unread input.
        let (reply, closed) = read_until_closed(&mut s, Duration::from_secs(3));
        assert!(closed, "still open after a 100 MB claim");
        assert!(
            ["", "-ERR Protocol error: unauthenticated bulk length\r\n"].contains(&reply.as_str()),
            "{reply:?}"
        );
    }
    let rss = ours.rss_kb();
    assert!(rss < 64 * 1024, "RSS {rss} kB after three 100 MB claims");
}

#[test]
fn unread_replies_to_an_unauthenticated_client_are_capped() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    for server in [&real, &ours] {
        let (mut s, writer) = write_without_reading(server.port, b"PING\r\n".repeat(2_000_000));
        writer.join().unwrap();
        // Redis closes such a client at once (its replies overflow the 16 KB reply buffer
        // by more than 1 KB), without a word; the unread errors are dropped.
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(
            closed,
            "{} kept a client that reads none of its errors",
            server.kind
        );
    }
    let rss = ours.rss_kb();
    assert!(rss < 64 * 1024, "RSS {rss} kB after 12 MB of unread PINGs");
    assert_eq!(ours.cmd(&["AUTH", PASSWORD]), Reply::ok());
}

#[test]
fn the_unauthenticated_reply_cap_is_where_redis_puts_it() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    // 481 NOAUTH errors (16354 bytes) fit the 16 KB reply buffer and are all delivered; one
    // more spills into the reply list and the client is dropped with none of them.
    let (reply, closed) = same_exchange(&real, &ours, &b"PING\r\n".repeat(481));
    assert_eq!((reply.len(), closed), (16354, false));
    let (reply, closed) = same_exchange(&real, &ours, &b"PING\r\n".repeat(482));
    assert_eq!((reply.len(), closed), (0, true));
}

// ----- item 11: the protocol and AUTH ---------------------------------------------------------

#[test]
fn authenticated_clients_may_declare_up_to_int_max_arguments() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    let (reply, closed) = same_exchange(&real, &ours, b"AUTH secret\r\n*1073741825\r\n");
    assert_eq!((reply.as_str(), closed), ("+OK\r\n", false));
    same_exchange(&real, &ours, b"AUTH secret\r\n*2147483647\r\n$3\r\nGET\r\n");
    let (_, closed) = same_exchange(&real, &ours, b"AUTH secret\r\n*2147483648\r\n");
    assert!(closed);
}

#[test]
fn auth_user_names_are_case_sensitive() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    let (reply, _) = same_exchange(
        &real,
        &ours,
        b"AUTH DEFAULT secret\r\nPING\r\nAUTH default secret\r\nPING\r\n",
    );
    assert!(reply.starts_with("-WRONGPASS invalid username-password pair or user is disabled.\r\n"));
}

#[test]
fn a_refused_exec_aborts_the_transaction_like_redis() {
    let real = Server::redis(&["--requirepass", PASSWORD]);
    let ours = Server::replscope(&["--requirepass", PASSWORD]);
    let (reply, _) = same_exchange(&real, &ours, b"MULTI\r\nPING\r\nEXEC\r\n");
    assert!(reply.ends_with(
        "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    ));
    same_exchange(
        &real,
        &ours,
        b"AUTH secret\r\nMULTI\r\nSET k v\r\nEXEC x\r\nEXEC\r\nGET k\r\n",
    );
}

// ----- item 1: limits on every client ---------------------------------------------------------

#[test]
fn a_query_buffer_over_the_limit_closes_the_client() {
    let args = ["--client-query-buffer-limit", "1mb"];
    let real = Server::redis(&args);
    let ours = Server::replscope(&args);
    let mut big = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n".to_vec();
    big.resize(1_500_000, b'x');
    let (reply, closed) = same_exchange(&real, &ours, &big);
    assert_eq!((reply.as_str(), closed), ("", true));
    assert_eq!(
        ours.cmd(&["CONFIG", "GET", "client-query-buffer-limit"]),
        real.cmd(&["CONFIG", "GET", "client-query-buffer-limit"])
    );
    assert_eq!(ours.cmd(&["PING"]), Reply::Simple("PONG".into()));
}

#[test]
fn output_a_normal_client_leaves_unread_is_limited() {
    let args = ["--client-output-buffer-limit", "normal", "1mb", "0", "0"];
    let real = Server::redis(&args);
    let ours = Server::replscope(&args);
    let value = "v".repeat(100 * 1024);
    for server in [&real, &ours] {
        assert_eq!(server.cmd(&["SET", "big", &value]), Reply::ok());
        let (mut s, writer) = write_without_reading(server.port, b"GET big\r\n".repeat(2000));
        writer.join().unwrap();
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(
            closed,
            "{} kept a client with 200 MB of unread replies",
            server.kind
        );
    }
    assert_eq!(
        ours.cmd(&["CONFIG", "GET", "client-output-buffer-limit"]),
        real.cmd(&["CONFIG", "GET", "client-output-buffer-limit"])
    );
    let rss = ours.rss_kb();
    assert!(rss < 64 * 1024, "RSS {rss} kB");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let real = Server::redis(&["--timeout", "1"]);
    let ours = Server::replscope(&["--timeout", "1"]);
    for server in [&real, &ours] {
        let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        // Taken before the PING is sent: however late this thread runs, the time measured
        // is never shorter than the server's idle time.
        let start = Instant::now();
        s.write_all(b"PING\r\n").unwrap();
        let (reply, _) = read_until_closed(&mut s, Duration::from_millis(500));
        assert_eq!(reply, "+PONG\r\n");
        // Idle for more than a whole second of the server's clock: more than 1 s, at most
        // about 2 s (more on a loaded machine).
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(closed, "{} kept an idle client", server.kind);
        let idle = start.elapsed();
        assert!(
            idle > Duration::from_secs(1) && idle < Duration::from_secs(5),
            "{} closed it after {idle:?}",
            server.kind
        );
    }
}

#[test]
fn clients_over_maxclients_get_redis_error() {
    let real = Server::redis(&["--maxclients", "3"]);
    let ours = Server::replscope(&["--maxclients", "3"]);
    for server in [&real, &ours] {
        let held: Vec<TcpStream> = (0..3)
            .map(|_| {
                let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
                s.write_all(b"PING\r\n").unwrap();
                assert_eq!(
                    read_until_closed(&mut s, Duration::from_secs(2)).0,
                    "+PONG\r\n"
                );
                s
            })
            .collect();
        let (reply, closed) = exchange(server.port, b"PING\r\n");
        assert_eq!(
            (reply.as_str(), closed),
            ("-ERR max number of clients reached\r\n", true),
            "{}",
            server.kind
        );
        let (stats, _) = exchange_on(held[0].try_clone().unwrap(), b"INFO stats\r\n");
        assert!(
            stats.contains("\r\nrejected_connections:1\r\n"),
            "{}",
            server.kind
        );
    }
}

// ----- item 2: the open files limit ----------------------------------------------------------

#[test]
fn over_the_open_files_limit_extra_clients_get_the_maxclients_error_without_spinning() {
    // 64 descriptors: both lower maxclients to 64 - 32 reserved.
    let real = Server::redis_with_open_files(&[], Some(64));
    let ours = Server::replscope_with_open_files(&[], Some(64));
    let maxclients = real.cmd(&["CONFIG", "GET", "maxclients"]);
    assert_eq!(ours.cmd(&["CONFIG", "GET", "maxclients"]), maxclients);
    // More than the descriptors allow is refused, saying how many would do.
    let expected = real.cmd(&["CONFIG", "SET", "maxclients", "100"]);
    assert_eq!(ours.cmd(&["CONFIG", "SET", "maxclients", "100"]), expected);
    let Reply::Array(pair) = maxclients else {
        panic!("CONFIG GET")
    };
    let Reply::Bulk(n) = &pair[1] else {
        panic!("CONFIG GET")
    };
    // 32 where the limit cannot be raised (no CAP_SYS_RESOURCE); all 60 otherwise.
    let held_max: usize = String::from_utf8_lossy(n).parse::<usize>().unwrap().min(60);
    for server in [&real, &ours] {
        let mut held = Vec::new();
        let mut refused = 0;
        for _ in 0..60 {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            s.write_all(b"PING\r\n").unwrap();
            match first_line(&mut s).as_str() {
                "+PONG\r\n" => held.push(s),
                "-ERR max number of clients reached\r\n" => {
                    assert!(read_until_closed(&mut s, Duration::from_secs(2)).1);
                    refused += 1;
                }
                other => panic!("{}: {other:?}", server.kind),
            }
        }
        assert_eq!(
            (held.len(), refused),
            (held_max, 60 - held_max),
            "{}",
            server.kind
        );
        // Full, and nothing to do: no CPU spent.
        let before = cpu_ticks(server);
        std::thread::sleep(Duration::from_secs(1));
        let spent = cpu_ticks(server) - before;
        assert!(
            spent < 20,
            "{} used {spent} ticks in 1 s while full",
            server.kind
        );
    }
}

/// The first line the server sends (empty if it closes first), within 2 s.
fn first_line(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match s.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&line).into_owned()
}

#[test]
fn when_accept_fails_the_server_waits_instead_of_spinning() {
    // The limit lowered under a running server (maxclients no longer fits): accept() fails
    // with EMFILE. Redis 7.0.15 spins here (about half a core, and a log line per failed
    // accept: checked by hand with prlimit); replscope retries every 100 ms.
    let ours = Server::replscope(&[]);
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", ours.child.id()))
        .arg("--nofile=16:16")
        .status()
        .expect("prlimit (util-linux)");
    assert!(status.success());
    let mut held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", ours.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(&ours);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(&ours) - before;
    assert!(spent < 20, "{spent} ticks in 1 s while accept() fails");
    // As descriptors free, the connections left waiting are served.
    let mut last = held.pop().unwrap();
    held.truncate(2);
    last.write_all(b"PING\r\n").unwrap();
    assert_eq!(first_line(&mut last), "+PONG\r\n");
}

// ----- item 1: protected mode -----------------------------------------------------------------

/// A connection to 127.0.0.1:`port` from 127.0.0.2: a loopback address, but not one
/// `islocalClient` counts as local.
fn connect_from_127_0_0_2(port: u16) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        socket
            .connect(format!("127.0.0.1:{port}").parse().unwrap())
            .await
            .unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

#[test]
fn protected_mode_refuses_other_addresses_without_a_password() {
    let real = Server::redis(&[]);
    let ours = Server::replscope(&[]);
    let expected = exchange_on(connect_from_127_0_0_2(real.port), b"PING\r\n");
    assert!(expected
        .0
        .starts_with("-DENIED Redis is running in protected mode"));
    assert_eq!(
        exchange_on(connect_from_127_0_0_2(ours.port), b"PING\r\n"),
        expected
    );
    // With a password, or with protected mode off, they are served.
    for args in [
        &["--requirepass", PASSWORD][..],
        &["--protected-mode", "no"],
    ] {
        let real = Server::redis(args);
        let ours = Server::replscope(args);
        let expected = exchange_on(connect_from_127_0_0_2(real.port), b"PING\r\n");
        assert_eq!(
            exchange_on(connect_from_127_0_0_2(ours.port), b"PING\r\n"),
            expected
        );
        assert!(!expected.1, "{args:?}");
    }
}

// ----- item 6: a save that fails --------------------------------------------------------------

#[test]
fn a_failed_save_answers_err_and_info_says_so() {
    let real = Server::redis(&[]);
    let ours = Server::replscope(&[]);
    for server in [&real, &ours] {
        assert_eq!(server.info("persistence", "rdb_last_bgsave_status"), "ok");
        assert_eq!(server.cmd(&["SAVE"]), Reply::ok(), "{}", server.kind);
        // The directory goes away: nothing can be written there any more.
        std::fs::remove_dir_all(&server.dir).unwrap();
        assert_eq!(
            server.cmd(&["SAVE"]),
            Reply::error("ERR"),
            "{}",
            server.kind
        );
        assert_eq!(server.info("persistence", "rdb_last_bgsave_status"), "ok");
        assert_eq!(
            server.cmd(&["BGSAVE"]),
            Reply::Simple("Background saving started".into())
        );
        wait_until(Duration::from_secs(5), "the background save fails", || {
            server.info("persistence", "rdb_last_bgsave_status") == "err"
        });
        assert_eq!(server.info("persistence", "rdb_bgsave_in_progress"), "0");
        assert_eq!(
            server.info("persistence", "rdb_saves"),
            "3",
            "{}",
            server.kind
        );
    }
}

#[test]
fn after_a_failed_background_save_writes_are_refused_until_told_otherwise() {
    let args = ["--save", "3600", "1"];
    let real = Server::redis(&args);
    let ours = Server::replscope(&args);
    for server in [&real, &ours] {
        std::fs::remove_dir_all(&server.dir).unwrap();
        assert_eq!(
            server.cmd(&["BGSAVE"]),
            Reply::Simple("Background saving started".into())
        );
        wait_until(Duration::from_secs(5), "the background save fails", || {
            server.info("persistence", "rdb_last_bgsave_status") == "err"
        });
    }
    let (reply, _) = same_exchange(
        &real,
        &ours,
        b"SET k v\r\nPING\r\nGET k\r\nMULTI\r\nSET k v\r\nEXEC\r\n",
    );
    assert!(reply.starts_with("-MISCONF Redis is configured to save RDB snapshots"));
    same_exchange(
        &real,
        &ours,
        b"CONFIG SET stop-writes-on-bgsave-error no\r\nSET k v\r\nPING\r\n",
    );
}

// ----- item 7: CONFIG SET of what a running server cannot or may not change -----------------

#[test]
fn config_set_refuses_protected_configs_and_moves_the_port() {
    let mut real = Server::redis(&[]);
    let mut ours = Server::replscope(&[]);
    same_exchange(
        &real,
        &ours,
        b"CONFIG SET dir /tmp\r\nCONFIG SET dbfilename x.rdb\r\nCONFIG SET DIR /tmp\r\nCONFIG GET dbfilename\r\n",
    );
    // A port already taken: refused, and the server stays where it was.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let expected = real.cmd(&["CONFIG", "SET", "port", &taken_port]);
    assert!(matches!(&expected, Reply::Error(e) if e.contains("Unable to listen on this port")));
    assert_eq!(ours.cmd(&["CONFIG", "SET", "port", &taken_port]), expected);
    for server in [&real, &ours] {
        assert_eq!(
            server.cmd(&["CONFIG", "GET", "port"]),
            Reply::Array(vec![
                Reply::bulk("port"),
                Reply::bulk(server.port.to_string())
            ])
        );
    }
    // A free port: the server moves there.
    for server in [&mut real, &mut ours] {
        let old = server.port;
        let new = free_port();
        assert_eq!(
            server.cmd(&["CONFIG", "SET", "port", &new.to_string()]),
            Reply::ok()
        );
        server.port = new;
        assert_eq!(server.cmd(&["PING"]), Reply::Simple("PONG".into()));
        assert!(
            TcpStream::connect(("127.0.0.1", old)).is_err(),
            "{} still listens on its old port",
            server.kind
        );
    }
}

// ----- item 11: the command line --------------------------------------------------------------

#[test]
fn help_prints_usage_like_redis_server() {
    let ours = std::process::Command::new(env!("CARGO_BIN_EXE_replscope"))
        .args(["server", "--help"])
        .output()
        .unwrap();
    let real = std::process::Command::new(support::REDIS_SERVER)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ours.stderr);
    assert!(text.starts_with("Usage: replscope server"), "{text}");
    assert!(!text.contains("FATAL"), "{text}");
    assert_eq!(ours.status.code(), real.status.code());
}

#[test]
fn bind_takes_several_addresses() {
    let ours = Server::replscope(&["--bind", "127.0.0.1", "127.0.0.2"]);
    for addr in ["127.0.0.1", "127.0.0.2"] {
        let mut s = TcpStream::connect((addr, ours.port)).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        assert_eq!(
            read_until_closed(&mut s, Duration::from_secs(2)),
            ("+PONG\r\n".into(), false),
            "{addr}"
        );
    }
}
