//! Blocking list and sorted-set commands (BLPOP, BRPOP, BLMPOP, BRPOPLPUSH, BLMOVE,
//! BZPOPMIN, BZPOPMAX, BZMPOP): in the simulator, where timeouts run in virtual time, and
//! side by side with a real redis-server 7.0 for replies and what replicas receive.

mod support;

use replscope::engine::config::Config;
use replscope::engine::resp::Reply;
use replscope::sim::{ClientId, Sim};

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

fn arr(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|s| bulk(s)).collect())
}

/// A simulated master `m` with `clients` connections.
fn master(clients: usize) -> (Sim, Vec<ClientId>) {
    let mut sim = Sim::new(7, 1);
    let m = sim.add_node("m", Config::default());
    let cs = (0..clients).map(|_| sim.connect_client(m)).collect();
    sim.run_for(10);
    (sim, cs)
}

#[test]
fn a_blocked_client_is_served_by_a_push_from_another() {
    let (mut sim, c) = master(2);
    sim.send_line(c[0], "BLPOP k 0").unwrap();
    sim.run_for(1_000);
    assert!(sim.take_replies(c[0]).is_empty());
    assert_eq!(sim.exec(c[1], "RPUSH k a b"), Some(Reply::Integer(2)));
    sim.run_for(10);
    assert_eq!(sim.take_replies(c[0]), vec![arr(&["k", "a"])]);
    assert_eq!(sim.exec(c[1], "LRANGE k 0 -1"), Some(arr(&["b"])));
}

#[test]
fn a_blocked_client_times_out_in_virtual_time() {
    let (mut sim, c) = master(2);
    let start = sim.now_ms();
    sim.send_line(c[0], "BRPOP k 1.5").unwrap();
    // Nothing before its 1.5 s are up; a null array once the clock is past them.
    sim.run_until(start + 1_400);
    assert!(sim.take_replies(c[0]).is_empty());
    assert_eq!(info(&mut sim, c[1], "blocked_clients"), "1");
    sim.run_until(start + 1_600);
    assert_eq!(sim.take_replies(c[0]), vec![Reply::NilArray]);
    assert_eq!(info(&mut sim, c[1], "blocked_clients"), "0");
    // A push after the timeout finds nobody waiting.
    assert_eq!(sim.exec(c[1], "RPUSH k a"), Some(Reply::Integer(1)));
    sim.run_for(100);
    assert!(sim.take_replies(c[0]).is_empty());
}

#[test]
fn a_replica_applies_what_a_served_client_popped() {
    let mut sim = Sim::new(7, 1);
    let m = sim.add_node("m", Config::default());
    let r = sim.add_node("r", Config::default());
    let (blocked, writer) = (sim.connect_client(m), sim.connect_client(m));
    let reader = sim.connect_client(r);
    assert_eq!(sim.exec(reader, "REPLICAOF m 6379"), Some(Reply::ok()));
    sim.run_for(7_000);
    sim.send_line(blocked, "BRPOP list 0").unwrap();
    sim.run_for(100);
    assert_eq!(sim.exec(writer, "RPUSH list a b"), Some(Reply::Integer(2)));
    sim.run_for(100);
    assert_eq!(sim.take_replies(blocked), vec![arr(&["list", "b"])]);
    sim.send_line(blocked, "BZMPOP 0 1 zset MAX COUNT 2")
        .unwrap();
    sim.run_for(100);
    assert_eq!(
        sim.exec(writer, "ZADD zset 1 x 2 y 3 z"),
        Some(Reply::Integer(3))
    );
    sim.run_for(100);
    assert_eq!(sim.take_replies(blocked).len(), 1);
    assert_eq!(sim.exec(reader, "LRANGE list 0 -1"), Some(arr(&["a"])));
    assert_eq!(sim.exec(reader, "ZRANGE zset 0 -1"), Some(arr(&["x"])));
}

#[test]
fn a_console_shows_a_blocked_command_waiting_and_types_on_beside_it() {
    use replscope::sim::console::BLOCKED_WAITING;
    use replscope::sim::Action;
    let (mut sim, _) = master(0);
    let exec = |sim: &mut Sim, command: &str| {
        sim.act(&Action::Exec {
            node: "m".into(),
            command: command.into(),
        })
        .unwrap();
    };
    let console = |sim: &Sim| -> Vec<(String, Option<Reply>, bool)> {
        sim.console_log(0)
            .unwrap()
            .entries()
            .map(|t| {
                (
                    t.command.clone(),
                    t.reply.clone(),
                    t.is_waiting() && t.blocks(),
                )
            })
            .collect()
    };
    exec(&mut sim, "BLPOP jobs 0");
    exec(&mut sim, "BLPOP other 2");
    sim.run_for(1_000);
    // Both wait, each on its own connection: the second was typed beside the first.
    assert_eq!(
        console(&sim),
        vec![
            ("BLPOP jobs 0".into(), None, true),
            ("BLPOP other 2".into(), None, true),
        ]
    );
    assert!(!BLOCKED_WAITING.is_empty());
    assert!(
        sim.console_blocked_on_keys(0),
        "the node holds the console's last line"
    );
    exec(&mut sim, "RPUSH jobs j1");
    sim.run_for(100);
    // The push, typed while both wait, serves the first; the second times out in
    // virtual time.
    assert_eq!(console(&sim)[0].1, Some(arr(&["jobs", "j1"])));
    assert_eq!(console(&sim)[2].1, Some(Reply::Integer(1)));
    assert_eq!(console(&sim)[1].1, None);
    assert!(!sim.console_blocked_on_keys(0));
    sim.run_for(1_500);
    assert_eq!(console(&sim)[1].1, Some(Reply::NilArray));
    // The connections left blocked were closed once answered: one console client is left.
    exec(&mut sim, "INFO clients");
    sim.run_for(100);
    let Some(Some(Reply::Bulk(text))) = console(&sim).last().map(|t| t.1.clone()) else {
        panic!("INFO answered")
    };
    assert!(String::from_utf8_lossy(&text).contains("connected_clients:1\r\n"));
}

/// A field of `INFO clients`.
fn info(sim: &mut Sim, client: ClientId, field: &str) -> String {
    let Some(Reply::Bulk(text)) = sim.exec(client, "INFO clients") else {
        panic!("INFO answered");
    };
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_default()
}

// ----- side by side with a real redis-server --------------------------------------------------

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use replscope::engine::resp::{encode_command, parse_reply, split_args, RequestParser};
use support::Server;

/// A connection whose replies are read without waiting.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    closed: bool,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nonblocking(true).expect("nonblocking");
        Conn {
            stream,
            buf: Vec::new(),
            closed: false,
        }
    }

    fn send(&mut self, line: &str) {
        let argv = split_args(line.as_bytes()).expect("a quoted line");
        let mut out = Vec::new();
        encode_command(&argv, &mut out);
        self.stream.write_all(&out).expect("write");
    }

    /// The replies that arrived so far (and whether the server closed the connection).
    fn drain(&mut self) -> Vec<Reply> {
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
        }
        let mut replies = Vec::new();
        while let Ok(Some((reply, used))) = parse_reply(&self.buf) {
            self.buf.drain(..used);
            replies.push(reply);
        }
        replies
    }

    /// The next reply, waiting at most 5 s for it.
    fn reply(&mut self) -> Reply {
        let start = Instant::now();
        loop {
            if let Some(r) = self.drain().into_iter().next() {
                return r;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "no reply");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A connection posing as a replica (`PSYNC ? -1` after a disk-based full sync): the
/// commands the master propagates after the RDB, PINGs left out.
struct Tap {
    conn: Conn,
    parser: RequestParser,
    rdb_left: Option<usize>,
}

impl Tap {
    fn attach(port: u16) -> Tap {
        let mut conn = Conn::open(port);
        conn.send("PSYNC ? -1");
        Tap {
            conn,
            parser: RequestParser::new(),
            rdb_left: None,
        }
    }

    /// Reads what arrived: first `+FULLRESYNC` and the sized RDB, then commands.
    fn commands(&mut self) -> Vec<String> {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            match self.conn.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.conn.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.rdb_left == Some(0) {
                        break;
                    }
                    assert!(start.elapsed() < Duration::from_secs(10), "no RDB came");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(e) => panic!("tap: {e}"),
            }
            loop {
                match self.rdb_left {
                    None => {
                        // `+FULLRESYNC …\r\n`, keepalive newlines, then `$<len>\r\n`.
                        let Some(end) = self.conn.buf.windows(2).position(|w| w == b"\r\n") else {
                            break;
                        };
                        let line: Vec<u8> = self.conn.buf.drain(..end + 2).collect();
                        let line = String::from_utf8_lossy(&line).trim().to_string();
                        if let Some(len) = line.strip_prefix('$') {
                            self.rdb_left = Some(len.parse().expect("an RDB size"));
                        }
                    }
                    Some(left) if left > 0 => {
                        let take = left.min(self.conn.buf.len());
                        self.conn.buf.drain(..take);
                        self.rdb_left = Some(left - take);
                        if take == 0 {
                            break;
                        }
                    }
                    Some(_) => {
                        self.parser.feed(&std::mem::take(&mut self.conn.buf));
                        while let Ok(Some(req)) = self.parser.next_request() {
                            let words: Vec<String> = req
                                .argv
                                .iter()
                                .map(|a| String::from_utf8_lossy(a).into_owned())
                                .collect();
                            if !words[0].eq_ignore_ascii_case("ping") {
                                out.push(words.join(" "));
                            }
                        }
                        break;
                    }
                }
            }
        }
        out
    }
}

/// One step of a session: connection `conn` sends `line` (a line starting with `#` only
/// waits); when `answered`, its reply is awaited; then the replies every connection got
/// within `settle_ms` more are noted.
struct Step {
    conn: usize,
    line: &'static str,
    answered: bool,
    settle_ms: u64,
}

/// How long the clients served by a step take to get their replies after the step's own:
/// both leave in the same event-loop turn.
const SETTLE_MS: u64 = 30;

/// A command answered at once.
const fn step(conn: usize, line: &'static str) -> Step {
    Step {
        conn,
        line,
        answered: true,
        settle_ms: SETTLE_MS,
    }
}

/// A command that blocks, or waits behind one that does.
const fn blocked(conn: usize, line: &'static str) -> Step {
    Step {
        conn,
        line,
        answered: false,
        settle_ms: SETTLE_MS,
    }
}

/// Lets `ms` pass.
const fn wait(ms: u64) -> Step {
    Step {
        conn: 0,
        line: "#",
        answered: false,
        settle_ms: ms,
    }
}

/// What a session looked like from the clients (each reply, under the step it came
/// after) and from a replica (the propagated commands).
#[derive(Debug, PartialEq)]
struct Transcript {
    replies: Vec<String>,
    stream: Vec<String>,
}

/// Runs `steps` on a fresh `server` with `conns` connections (`{id1}` in a line is
/// connection 1's CLIENT ID).
fn session(server: &Server, conns: usize, steps: &[Step]) -> Transcript {
    let mut tap = Tap::attach(server.port);
    tap.commands();
    let mut c: Vec<Conn> = (0..conns).map(|_| Conn::open(server.port)).collect();
    let mut ids = Vec::new();
    for conn in c.iter_mut() {
        conn.send("CLIENT ID");
        ids.push(conn.reply());
    }
    let mut replies = Vec::new();
    let mut early: Vec<Vec<Reply>> = vec![Vec::new(); conns];
    for (i, s) in steps.iter().enumerate() {
        if s.line != "#" {
            let mut line = s.line.to_string();
            for (n, id) in ids.iter().enumerate() {
                if let Reply::Integer(id) = id {
                    line = line.replace(&format!("{{id{n}}}"), &id.to_string());
                }
            }
            c[s.conn].send(&line);
        }
        let start = Instant::now();
        while s.answered && early[s.conn].is_empty() && !c[s.conn].closed {
            early[s.conn].extend(c[s.conn].drain());
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{:?} unanswered",
                s.line
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(s.settle_ms));
        for (n, conn) in c.iter_mut().enumerate().filter(|(_, c)| !c.closed) {
            let got: Vec<Reply> = std::mem::take(&mut early[n])
                .into_iter()
                .chain(conn.drain())
                .collect();
            for mut r in got {
                // Of INFO, the count of blocked clients (other fields vary from run to run).
                if let (Reply::Bulk(text), true) = (&r, s.line.starts_with("INFO")) {
                    let text = String::from_utf8_lossy(text);
                    r = bulk(
                        text.lines()
                            .find(|l| l.starts_with("blocked_clients"))
                            .unwrap_or(""),
                    );
                }
                replies.push(format!("{i} {:?} -> c{n} {r:?}", s.line));
            }
            if conn.closed {
                replies.push(format!("{i} {:?} -> c{n} closed", s.line));
            }
        }
    }
    Transcript {
        replies,
        stream: tap.commands(),
    }
}

/// Runs `steps` against a real redis-server and a replscope server; both must show the
/// same replies at the same steps and propagate the same commands.
fn side_by_side(conns: usize, steps: &[Step]) -> Transcript {
    let args = ["--repl-diskless-sync", "no"];
    let real = session(&Server::redis(&args), conns, steps);
    let ours = session(&Server::replscope(&args), conns, steps);
    assert_eq!(ours.replies, real.replies, "replies differ");
    assert_eq!(ours.stream, real.stream, "propagation differs");
    ours
}

#[test]
fn immediate_answers_errors_and_propagation_match_redis() {
    let steps = [
        step(0, "RPUSH l a b c d e"),
        step(0, "BLPOP missing l 0"),
        step(0, "BRPOP l 0.5"),
        step(0, "BLMPOP 0 2 missing l LEFT COUNT 10"),
        step(0, "RPUSH l a b c d e f"),
        step(0, "BLMPOP 1 1 l right"),
        step(0, "LMPOP 2 missing l left count 1"),
        step(0, "LMPOP 1 missing left"),
        step(0, "BRPOPLPUSH l dst 0"),
        step(0, "BLMOVE l dst Left RIGHT 0"),
        step(0, "BLMOVE dst dst right left 0"),
        step(0, "LRANGE dst 0 -1"),
        step(0, "ZADD z 1 a 2 b 3 c 4 d"),
        step(0, "BZPOPMIN missing z 0"),
        step(0, "BZPOPMAX z 0"),
        step(0, "BZMPOP 0 2 missing z MIN COUNT 10"),
        step(0, "ZADD z 1.5 a 2 b -3 c"),
        step(0, "ZPOPMIN z 2"),
        step(0, "ZPOPMAX z"),
        step(0, "ZPOPMIN z 0"),
        step(0, "ZPOPMIN nothing"),
        step(0, "ZPOPMIN z 1 2"),
        step(0, "ZPOPMIN z -1"),
        step(0, "ZADD z 1 a 2 b"),
        step(0, "ZMPOP 1 z max count 5"),
        step(0, "ZMPOP 1 z max"),
        step(0, "SET s x"),
        step(0, "BLPOP missing s l 0"),
        step(0, "BZPOPMIN s 0"),
        step(0, "BLMOVE s d left left 0"),
        step(0, "RPUSH l2 x"),
        step(0, "BLMOVE l2 s left left 0"),
        step(0, "BRPOPLPUSH l2 s 0"),
        step(0, "LMPOP 1 s left"),
        step(0, "ZMPOP 1 s min"),
        step(0, "BLPOP k abc"),
        step(0, "BLPOP k -1"),
        step(0, "BLPOP k inf"),
        step(0, "BLPOP k 1e30"),
        step(0, "BLPOP k 9223372036854775807"),
        step(0, "BLPOP k nan"),
        step(0, "BLPOP k ''"),
        step(0, "BLPOP k ' 1'"),
        step(0, "BRPOPLPUSH a b -1"),
        step(0, "BLMOVE a b up left -1"),
        step(0, "BLMOVE a b left down x"),
        step(0, "BLMOVE a b left left x"),
        step(0, "BZPOPMAX k x"),
        step(0, "BLMPOP x 1 k left"),
        step(0, "BLMPOP 0 0 k left"),
        step(0, "BLMPOP 0 x k left"),
        step(0, "BLMPOP 0 2 k left"),
        step(0, "BLMPOP 0 1 k up"),
        step(0, "BLMPOP 0 1 k left count 0"),
        step(0, "BLMPOP 0 1 k left count x"),
        step(0, "BLMPOP 0 1 k left count 1 count 1"),
        step(0, "BLMPOP 0 1 k left count"),
        step(0, "BLMPOP 0 9223372036854775807 k left"),
        step(0, "BZMPOP 0 1 k left"),
        step(0, "BZMPOP 0 1 k min extra"),
        step(0, "ZMPOP 1 k max count -5"),
        step(0, "BLPOP k"),
        step(0, "BLMPOP 0 1 k"),
        step(0, "BZMPOP 0 1 k"),
        step(0, "LMPOP 1 k"),
        step(0, "ZMPOP 1 k"),
        step(0, "BLMOVE a b left left"),
        // Inside MULTI nothing blocks: the timeout's answer comes at once.
        step(0, "MULTI"),
        step(0, "BLPOP k 0"),
        step(0, "BLMOVE k d left left 0"),
        step(0, "BRPOPLPUSH k d 0"),
        step(0, "BZPOPMIN k 0"),
        step(0, "BZMPOP 0 1 k min"),
        step(0, "BLMPOP 0 1 k left"),
        step(0, "RPUSH k x y"),
        step(0, "BLPOP k 0"),
        step(0, "BLMOVE k k right left 0"),
        step(0, "EXEC"),
    ];
    let seen = side_by_side(1, &steps);
    // Nothing blocked: every step was answered at once.
    assert_eq!(seen.replies.len(), steps.len(), "{:#?}", seen.replies);
}

#[test]
fn blocked_clients_are_served_in_order_and_propagated_like_redis() {
    side_by_side(
        4,
        &[
            // FIFO on one key; a client blocked on two keys is served from the first ready.
            blocked(1, "BLPOP a 0"),
            blocked(2, "BLPOP b a 0"),
            blocked(3, "BRPOP a 0"),
            step(0, "RPUSH a 1 2"),
            step(0, "RPUSH b 3"),
            step(0, "LPUSH a 4"),
            step(0, "LLEN b"),
            // Keys made ready inside a transaction are served in the order they were created.
            blocked(1, "BLPOP x y 0"),
            step(0, "MULTI"),
            step(0, "RPUSH y 1"),
            step(0, "RPUSH x 2"),
            step(0, "EXEC"),
            step(0, "LRANGE x 0 -1"),
            // A key created and deleted in one transaction serves nobody.
            blocked(1, "BLPOP gone 0"),
            step(0, "MULTI"),
            step(0, "RPUSH gone 1"),
            step(0, "DEL gone"),
            step(0, "EXEC"),
            step(0, "RPUSH gone 2 3"),
            // BLMPOP takes up to its count; the rest goes to the next client.
            blocked(1, "BLMPOP 0 1 m RIGHT COUNT 2"),
            blocked(2, "BLMPOP 0 1 m LEFT COUNT 2"),
            step(0, "RPUSH m 1 2 3"),
            // BLMOVE and BRPOPLPUSH served; a push on a key another client waits on serves
            // it too, as its own unit.
            blocked(1, "BLMOVE src mid RIGHT LEFT 0"),
            blocked(2, "BRPOPLPUSH mid dst 0"),
            blocked(3, "BLPOP dst 0"),
            step(0, "RPUSH src v"),
            step(0, "EXISTS src mid dst"),
            // A BLMOVE whose destination holds another type gets WRONGTYPE; the next
            // client is served.
            step(0, "SET str x"),
            blocked(1, "BLMOVE q str LEFT LEFT 0"),
            blocked(2, "BLPOP q 0"),
            step(0, "RPUSH q 1"),
            // Sorted sets.
            blocked(1, "BZPOPMIN z 0"),
            blocked(2, "BZMPOP 0 2 w z MAX COUNT 5"),
            blocked(3, "BZPOPMAX z 0"),
            step(0, "ZADD z 1 a 2 b 3 c 4 d"),
            step(0, "ZRANGE z 0 -1 WITHSCORES"),
            // A client blocked for a list is not served by a sorted set, and the other way.
            blocked(1, "BLPOP t 0"),
            blocked(2, "BZPOPMIN t 0"),
            step(0, "ZADD t 1 m"),
            step(0, "DEL t"),
            step(0, "RPUSH t 1"),
            // The commands a blocked client pipelined run once it is served.
            blocked(1, "BLPOP p 0"),
            blocked(1, "INCR n"),
            blocked(1, "GET n"),
            step(0, "INFO clients"),
            step(0, "RPUSH p 1"),
            // Timeouts answer a null array, BLMOVE's too.
            blocked(1, "BLPOP none 0.2"),
            blocked(2, "BLMOVE none d LEFT LEFT 0.2"),
            blocked(3, "BZMPOP 0.2 1 none MIN"),
            wait(500),
            // CLIENT UNBLOCK: as a timeout, or with an error.
            blocked(1, "BLPOP u 0"),
            blocked(2, "BZPOPMIN u 0"),
            step(0, "CLIENT UNBLOCK {id1}"),
            step(0, "CLIENT UNBLOCK {id2} ERROR"),
            step(0, "CLIENT UNBLOCK {id2}"),
            step(0, "CLIENT UNBLOCK {id0} maybe"),
            step(0, "CLIENT UNBLOCK x"),
            step(0, "CLIENT UNBLOCK 1 2 3"),
            step(0, "RPUSH u 1"),
            // Keys are per db, and a pop is propagated in the db it happened in.
            step(1, "SELECT 3"),
            blocked(1, "BLPOP d 0"),
            step(0, "RPUSH d 0"),
            step(0, "SELECT 3"),
            step(0, "RPUSH d 3"),
        ],
    );
}

#[test]
fn turning_into_a_replica_unblocks_and_closes_blocked_clients_like_redis() {
    side_by_side(
        4,
        &[
            blocked(1, "BLPOP k 0"),
            blocked(1, "PING"),
            step(2, "SET x 1"),
            blocked(2, "WAIT 1 0"),
            blocked(3, "BZPOPMIN z 10"),
            step(0, "INFO clients"),
            step(0, "REPLICAOF 127.0.0.1 1"),
            step(0, "INFO clients"),
            // A blocking command is a write: a read-only replica refuses it.
            step(0, "BLPOP k 0"),
            step(0, "BZMPOP 0 1 z MIN"),
            step(0, "REPLICAOF NO ONE"),
            blocked(0, "BLPOP k 0.1"),
            wait(300),
        ],
    );
}

/// On a writable replica, a client blocked on a key is served by the write from the master
/// that creates it, and the replica's copy then differs from the master's (as in Redis).
fn writable_replica_serves_from_the_stream(master: &Server, replica: &Server) -> Vec<Reply> {
    replica.replicate(master);
    let mut blocked = Conn::open(replica.port);
    blocked.send("BLPOP k 0");
    std::thread::sleep(Duration::from_millis(100));
    let mut seen = blocked.drain();
    master.cmd(&["RPUSH", "k", "a", "b"]);
    support::wait_offsets_equal(&[master, replica]);
    std::thread::sleep(Duration::from_millis(100));
    seen.extend(blocked.drain());
    seen.push(replica.cmd(&["LRANGE", "k", "0", "-1"]));
    seen.push(master.cmd(&["LRANGE", "k", "0", "-1"]));
    seen
}

#[test]
fn a_writable_replica_serves_its_blocked_clients_from_the_masters_stream_like_redis() {
    let writable = ["--replica-read-only", "no"];
    let real =
        writable_replica_serves_from_the_stream(&Server::redis(&[]), &Server::redis(&writable));
    let ours = writable_replica_serves_from_the_stream(
        &Server::replscope(&[]),
        &Server::replscope(&writable),
    );
    assert_eq!(real, vec![arr(&["k", "a"]), arr(&["b"]), arr(&["a", "b"])]);
    assert_eq!(ours, real);
}

#[test]
fn keys_created_by_other_commands_wake_blocked_clients_like_redis() {
    side_by_side(
        3,
        &[
            // LMOVE and RPOPLPUSH creating their destination.
            blocked(1, "BLPOP moved 0"),
            step(0, "RPUSH from a b"),
            step(0, "LMOVE from moved LEFT RIGHT"),
            blocked(1, "BRPOP moved2 0"),
            step(0, "RPOPLPUSH from moved2"),
            // A store creating a sorted set; overwriting an existing key wakes nobody.
            blocked(2, "BZPOPMIN stored 0"),
            step(0, "ZADD z1 1 a 2 b"),
            step(0, "ZUNIONSTORE stored 1 z1"),
            step(0, "RENAME z1 renamed"),
            blocked(2, "BZPOPMAX renamed2 0"),
            step(0, "RENAME renamed renamed2"),
            step(0, "EXISTS renamed2"),
        ],
    );
}

#[test]
fn swapdb_move_copy_and_zrangestore_wake_blocked_clients_like_redis() {
    side_by_side(
        3,
        &[
            // SWAPDB brings a list into the db a client blocked in.
            step(1, "SELECT 1"),
            blocked(1, "BLPOP q 0"),
            step(0, "RPUSH q a b"),
            step(0, "SWAPDB 0 1"),
            step(0, "DBSIZE"),
            step(1, "LRANGE q 0 -1"),
            step(0, "SWAPDB 1 0"),
            // A key of another type wakes nobody; a list moved or copied in does.
            blocked(1, "BLPOP s 0"),
            step(0, "SET s v"),
            step(0, "SWAPDB 0 1"),
            step(0, "SWAPDB 0 1"),
            step(0, "DEL s"),
            step(0, "RPUSH s x y"),
            step(0, "MOVE s 1"),
            blocked(1, "BZPOPMIN zc 0"),
            step(0, "ZADD zsrc 1 a 2 b"),
            step(0, "COPY zsrc zc DB 1"),
            // ZRANGESTORE creating the key; in a transaction, SWAPDB serves after EXEC.
            blocked(2, "BZPOPMAX zr 0"),
            step(0, "ZRANGESTORE zr zsrc 0 -1"),
            blocked(1, "BLPOP late 0"),
            step(0, "RPUSH late 1"),
            step(0, "MULTI"),
            step(0, "SWAPDB 0 1"),
            step(0, "SWAPDB 0 2"),
            step(0, "EXEC"),
        ],
    );
}
