//! Golden replication tests: replscope `Node`s replay the conversations captured from a real
//! Redis 7.0.15 by `tests/golden/replication/capture.sh` and must say the same bytes, the
//! same ACK offsets at the same moments, the same INFO replication lines (every field, same
//! order) and the same sync counters. The format of the fixtures is described in
//! `tests/golden/replication/fixture.py`. No redis-server is needed here.
//!
//! - `replica.txt`: our node is the replica; the test plays the fake master.
//! - `master.txt`: our node is the master; the test plays the fake replicas and the client.

use std::collections::BTreeMap;

use replscope::engine::config::Config;
use replscope::engine::node::{ConnId, Input, Node, NodeOptions, Output, PeerAddr};
use replscope::engine::rdb;
use replscope::engine::resp::encode_command;
#[path = "support/noise.rs"]
mod noise;
use noise::hex_noise;

const REPLICA_FIXTURE: &str = include_str!("golden/replication/replica.txt");
const MASTER_FIXTURE: &str = include_str!("golden/replication/master.txt");
const T0: u64 = 1_700_000_000_000;
const OUR_PORT: u16 = 6380;
const FAKE_PORT: u16 = 7777;

// ----- fixture parsing ------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Ev {
    Peer(Option<String>, String),
    Node(Option<String>, String),
    Acks(Vec<i64>),
    AckNow(i64),
    Info(String, Vec<String>),
    Note(String),
    Client(Vec<String>),
    Close(String),
    Pings(String, usize),
    RdbKeys(Vec<String>),
}

struct Run {
    name: String,
    events: Vec<Ev>,
}

fn parse(text: &str) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (kind, tag) = match head.split_once('@') {
            Some((k, t)) => (k, Some(t.to_string())),
            None => (head, None),
        };
        let ev = match kind {
            "run" => {
                runs.push(Run {
                    name: rest.to_string(),
                    events: Vec::new(),
                });
                continue;
            }
            "#" => continue,
            "peer" => Ev::Peer(tag, rest.to_string()),
            "node" => Ev::Node(tag, rest.to_string()),
            "acks" => Ev::Acks(
                rest.split_whitespace()
                    .map(|n| n.parse().unwrap())
                    .collect(),
            ),
            "ack-now" => Ev::AckNow(rest.parse().unwrap()),
            "info" => {
                let mut body = Vec::new();
                for l in lines.by_ref() {
                    if l == "end" {
                        break;
                    }
                    body.push(l.strip_prefix("| ").expect("info line").to_string());
                }
                Ev::Info(rest.to_string(), body)
            }
            "note" => Ev::Note(rest.to_string()),
            "client" => Ev::Client(rest.split(' ').map(str::to_string).collect()),
            "close" => Ev::Close(tag.unwrap()),
            "pings" => Ev::Pings(tag.unwrap(), rest.parse().unwrap()),
            "rdb-keys" => Ev::RdbKeys(rest.split_whitespace().map(str::to_string).collect()),
            other => panic!("unknown fixture line kind {other:?}"),
        };
        runs.last_mut().expect("a run").events.push(ev);
    }
    runs
}

/// Undoes fixture.py's `esc`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b[i + 1] {
                b'\\' => out.push(b'\\'),
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 2;
                }
                c => panic!("bad escape \\{}", c as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(args, &mut out);
    out
}

/// Length of the first complete RESP multibulk in `b`.
fn command_len(b: &[u8]) -> Option<usize> {
    let line_end = |from: usize| {
        b[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    };
    if b.first() != Some(&b'*') {
        return None;
    }
    let e = line_end(0)?;
    let n: usize = std::str::from_utf8(&b[1..e]).ok()?.parse().ok()?;
    let mut pos = e + 2;
    for _ in 0..n {
        let e = line_end(pos)?;
        let len: usize = std::str::from_utf8(&b[pos + 1..e]).ok()?.parse().ok()?;
        pos = e + 2 + len + 2;
        if pos > b.len() {
            return None;
        }
    }
    Some(pos)
}

/// Compares INFO lines: `<s>` stands for any non-negative number of seconds, and the other
/// placeholders were substituted by the caller.
fn assert_info(run: &str, label: &str, expected: &[String], actual_text: &str) {
    let actual: Vec<&str> = actual_text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    let ctx = format!("{run} / INFO {label}:\nexpected {expected:#?}\nactual {actual:#?}");
    assert_eq!(expected.len(), actual.len(), "line count differs in {ctx}");
    for (e, a) in expected.iter().zip(&actual) {
        match e.split_once("<s>") {
            Some((pre, post)) => {
                let mid = a
                    .strip_prefix(pre)
                    .and_then(|r| r.strip_suffix(post))
                    .unwrap_or_else(|| panic!("{a:?} is not {e:?} in {ctx}"));
                assert!(
                    !mid.is_empty() && mid.bytes().all(|c| c.is_ascii_digit()),
                    "{a:?} is not {e:?} in {ctx}"
                );
            }
            None => assert_eq!(e, a, "in {ctx}"),
        }
    }
}

// ----- a driver around one Node -----------------------------------------------------------------

struct Driver {
    node: Node,
    now: u64,
    /// Bytes the node sent, per connection, not yet checked.
    sent: BTreeMap<ConnId, Vec<u8>>,
    closed: Vec<ConnId>,
    /// The node's outbound connection to its master (the latest `Connect`).
    master_conn: Option<ConnId>,
    /// Connections whose socket takes nothing until the test says so, with what they hold
    /// (reported to the node as it grows, like a driver on a slow link).
    slow: BTreeMap<ConnId, usize>,
    /// The node's log lines with the time they were written.
    logs: Vec<(u64, String)>,
}

const CLIENT: ConnId = ConnId::In(100);

impl Driver {
    fn new(config: Config) -> Driver {
        let node = Node::new(NodeOptions {
            name: "n".into(),
            config,
            seed: 42,
            now_ms: T0,
        });
        let mut d = Driver {
            node,
            now: T0,
            sent: BTreeMap::new(),
            closed: Vec::new(),
            master_conn: None,
            slow: BTreeMap::new(),
            logs: Vec::new(),
        };
        d.input(Input::Accepted {
            conn: CLIENT,
            peer: PeerAddr {
                ip: "127.0.0.1".into(),
                port: 40000,
            },
        });
        d
    }

    fn input(&mut self, input: Input) {
        self.node.handle(self.now, input);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Send { conn, bytes } => {
                    if let Some(queued) = self.slow.get_mut(&conn) {
                        *queued += bytes.len();
                        let queued = *queued;
                        self.node
                            .handle(self.now, Input::SendQueue { conn, queued });
                    }
                    self.sent.entry(conn).or_default().extend(bytes);
                }
                Output::Connect { conn, host, port } => {
                    assert_eq!((host.as_str(), port), ("127.0.0.1", FAKE_PORT));
                    self.master_conn = Some(conn);
                    // The fake master accepts at once.
                    self.node.handle(self.now, Input::Connected { conn });
                }
                Output::Close { conn } | Output::Abort { conn } => self.closed.push(conn),
                Output::Event(replscope::engine::event::Event::Log { text, .. }) => {
                    self.logs.push((self.now, text))
                }
                Output::SaveRdb { .. } => self.node.handle(self.now, Input::SaveDone { ok: true }),
                Output::Listen { .. } => self.node.handle(self.now, Input::Listening { ok: false }),
                Output::Exit
                | Output::RewriteConfig { .. }
                | Output::Pause { .. }
                | Output::Fork
                | Output::ChildDone
                | Output::SyncFile(_)
                | Output::Event(_) => {}
            }
        }
    }

    /// Advances virtual time by `ms`, running every timer on the way.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        loop {
            let next = self.node.poll_timeout();
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            self.node.handle_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// A slow socket (see `slow`) takes `n` more bytes.
    fn socket_takes(&mut self, conn: ConnId, n: usize) {
        let queued = self.slow.get_mut(&conn).expect("a slow connection");
        *queued -= n;
        let queued = *queued;
        self.input(Input::SendQueue { conn, queued });
    }

    fn take(&mut self, conn: ConnId) -> Vec<u8> {
        self.sent.remove(&conn).unwrap_or_default()
    }

    /// Runs a client command and returns the raw reply bytes.
    fn client(&mut self, args: &[&str]) -> Vec<u8> {
        self.input(Input::Data {
            conn: CLIENT,
            bytes: cmd(args),
        });
        self.take(CLIENT)
    }

    fn info(&mut self, section: &str) -> String {
        self.node.info(Some(section))
    }
}

// ----- replica side ---------------------------------------------------------------------------

/// The fixture's bytes with placeholders replaced by this run's values.
fn replica_subst(s: &str, own_replid: &str) -> String {
    s.replace("<REPLID>", own_replid)
        .replace("<FAKEPORT>", &FAKE_PORT.to_string())
        .replace("<PORTLEN>", &OUR_PORT.to_string().len().to_string())
        .replace("<PORT>", &OUR_PORT.to_string())
}

/// Splits what the replica sent into its ACK values and everything else.
fn split_acks(bytes: &[u8]) -> (Vec<i64>, Vec<u8>) {
    let mut acks = Vec::new();
    let mut other = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = command_len(rest).unwrap_or(rest.len());
        let (c, r) = rest.split_at(n);
        if let Some(v) = c.strip_prefix(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n".as_slice()) {
            let text = String::from_utf8_lossy(v);
            let num = text.split("\r\n").nth(1).unwrap();
            acks.push(num.parse().unwrap());
        } else {
            other.extend_from_slice(c);
        }
        rest = r;
    }
    (acks, other)
}

fn replay_replica(run: &Run) {
    let config = Config {
        port: OUR_PORT,
        ..Config::default()
    };
    let mut d = Driver::new(config);
    let own = d.node.replid().to_string();
    let name = run.name.as_str();
    if name == "config-replicaof" {
        d.node.configure_replicaof("127.0.0.1".into(), FAKE_PORT);
        d.advance(1);
    }
    let mut expected_out: Vec<u8> = Vec::new();
    for (i, ev) in run.events.iter().enumerate() {
        let at = format!("{name} event #{i} {ev:?}");
        match ev {
            Ev::Note(text) if text.starts_with("a fresh redis-server got REPLICAOF") => {
                // The REPLICAOF command is run after the first INFO (see the next event).
            }
            Ev::Note(text) if text.starts_with("ROLE ") => {
                let want = unescape(&replica_subst(
                    text.trim_start_matches("ROLE '").trim_end_matches('\''),
                    &own,
                ));
                assert_eq!(
                    String::from_utf8_lossy(&d.client(&["ROLE"])),
                    String::from_utf8_lossy(&want),
                    "{at}"
                );
            }
            Ev::Note(text) if text.starts_with("the fake master closed") => {
                let conn = d.master_conn.unwrap();
                let (_, other) = split_acks(&d.take(conn));
                assert!(other.is_empty(), "{at}: unexpected {other:?}");
                d.input(Input::Closed { conn });
                d.advance(300);
            }
            Ev::Note(_) => {}
            Ev::Info(label, lines) => {
                let lines: Vec<String> = lines.iter().map(|l| replica_subst(l, &own)).collect();
                let text = d.info("replication");
                assert_info(name, label, &lines, &text);
                if label == "fresh-master" {
                    let reply = d.client(&["REPLICAOF", "127.0.0.1", &FAKE_PORT.to_string()]);
                    assert_eq!(reply, b"+OK\r\n", "{at}");
                }
            }
            Ev::Node(_, bytes) => {
                expected_out.extend(unescape(&replica_subst(bytes, &own)));
                let conn = d.master_conn.expect("connected to the master");
                let got = d.take(conn);
                let (acks, other) = split_acks(&got);
                assert!(acks.is_empty(), "{at}: ACKs {acks:?} before expected bytes");
                assert_eq!(
                    String::from_utf8_lossy(&other),
                    String::from_utf8_lossy(&expected_out),
                    "{at}"
                );
                expected_out.clear();
            }
            Ev::Peer(_, bytes) => {
                let conn = d.master_conn.unwrap();
                // ACKs sent since the last check repeat the last checked value.
                let (_, other) = split_acks(&d.take(conn));
                assert!(other.is_empty(), "{at}: unexpected {other:?}");
                let bytes = unescape(&replica_subst(bytes, &own));
                d.input(Input::Data { conn, bytes });
            }
            Ev::AckNow(v) => {
                let conn = d.master_conn.unwrap();
                let got = d.take(conn);
                let (acks, other) = split_acks(&got);
                assert!(other.is_empty(), "{at}");
                assert_eq!(acks.first(), Some(v), "{at}: the immediate ACK");
                // Anything after the immediate ACK belongs to the following quiet window.
                let mut rest = Vec::new();
                for a in &acks[1..] {
                    rest.extend(cmd(&["REPLCONF", "ACK", &a.to_string()]));
                }
                d.sent.insert(conn, rest);
            }
            Ev::Acks(want) => {
                d.advance(1300);
                let conn = d.master_conn.unwrap();
                let (acks, other) = split_acks(&d.take(conn));
                assert!(other.is_empty(), "{at}: unexpected {other:?}");
                let mut collapsed = acks.clone();
                collapsed.dedup();
                assert_eq!(&collapsed, want, "{at}");
            }
            other => panic!("{name}: unexpected event {other:?}"),
        }
    }
}

#[test]
fn replica_side_matches_redis() {
    let runs = parse(REPLICA_FIXTURE);
    assert_eq!(runs.len(), 3);
    for run in &runs {
        replay_replica(run);
    }
}

// ----- master side ----------------------------------------------------------------------------

fn replica_conn(tag: &str) -> ConnId {
    ConnId::In(tag.trim_start_matches('r').parse().unwrap())
}

struct MasterReplay {
    d: Driver,
    name: String,
    replid0: String,
    /// Extra pings we sent compared to the capture (offsets shift by 14 each).
    ping_shift: i64,
    last_rdb_keys: Vec<String>,
}

impl MasterReplay {
    fn subst(&self, s: &str) -> String {
        s.replace("<REPLID0>", &self.replid0)
            .replace("<MASTERID>", self.d.node.replid())
    }

    /// Steps virtual time until `conn` has a complete item matched by `pred`.
    fn wait_for(&mut self, conn: ConnId, pred: impl Fn(&[u8]) -> Option<usize>) -> Vec<u8> {
        for _ in 0..50 {
            let buf = self.d.sent.entry(conn).or_default();
            let nl = buf.iter().take_while(|&&b| b == b'\n').count();
            // Presync keepalive newlines may precede a reply line or a payload (<NL*>).
            if nl < buf.len() {
                if let Some(n) = pred(&buf[nl..]) {
                    let item: Vec<u8> = buf.drain(..nl + n).skip(nl).collect();
                    return item;
                }
            }
            self.d.advance(100);
        }
        panic!(
            "{}: {conn:?} never sent the expected bytes; have {:?}",
            self.name,
            String::from_utf8_lossy(self.d.sent.get(&conn).map_or(&[][..], |b| b))
        );
    }

    fn node_bytes(&mut self, conn: ConnId, want: &str, at: &str) {
        if want == "<NL*>" {
            return;
        }
        if want.is_empty() {
            self.d.advance(500);
            let got = self.d.take(conn);
            assert!(got.is_empty(), "{at}: expected silence, got {got:?}");
            return;
        }
        if want == "$<RDBLEN>\\r\\n<RDB>" {
            let item = self.wait_for(conn, |b| {
                let e = b.windows(2).position(|w| w == b"\r\n")?;
                let n: usize = std::str::from_utf8(b.strip_prefix(b"$")?.get(..e - 1)?)
                    .ok()?
                    .parse()
                    .ok()?;
                (b.len() >= e + 2 + n).then_some(e + 2 + n)
            });
            let e = item.windows(2).position(|w| w == b"\r\n").unwrap();
            self.check_rdb(&item[e + 2..]);
            return;
        }
        if want == "$EOF:<MARK>\\r\\n<RDB><MARK>" {
            let item = self.wait_for(conn, |b| {
                let mark = b.strip_prefix(b"$EOF:")?.get(..40)?;
                let body = b.get(47..)?;
                let end = body.windows(40).position(|w| w == mark)?;
                Some(47 + end + 40)
            });
            assert_eq!(&item[45..47], b"\r\n", "{at}");
            assert!(
                item[5..45].iter().all(|c| c.is_ascii_alphanumeric()),
                "{at}: EOF mark"
            );
            self.check_rdb(&item[47..item.len() - 40]);
            return;
        }
        let want = unescape(&self.subst(want));
        let n = want.len();
        let got = self.wait_for(conn, |b| (b.len() >= n).then_some(n));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{at}"
        );
    }

    fn check_rdb(&mut self, payload: &[u8]) {
        let loaded = rdb::load(payload).expect("our RDB payload loads");
        let mut keys: Vec<String> = loaded
            .keyspace
            .dbs
            .iter()
            .flat_map(|db| db.keys().map(|k| String::from_utf8_lossy(k).into_owned()))
            .collect();
        keys.sort();
        self.last_rdb_keys = keys;
        let repl = loaded.repl.expect("a full-sync RDB carries repl info");
        assert_eq!(repl.repl_id, self.d.node.replid());
    }

    /// Offsets after a ping window depend on how many pings fired; shift them.
    fn shift_offsets(&self, line: &str) -> String {
        for field in ["master_repl_offset:", "repl_backlog_histlen:"] {
            if let Some(v) = line.strip_prefix(field) {
                let v: i64 = v.parse().unwrap();
                return format!("{field}{}", v + 14 * self.ping_shift);
            }
        }
        line.to_string()
    }
}

fn replay_master(run: &Run) {
    let diskless = run.name == "master-diskless";
    let config = Config {
        repl_ping_replica_period: 3600,
        repl_diskless_sync: diskless,
        repl_diskless_sync_delay: 1,
        ..Config::default()
    };
    let mut d = Driver::new(config);
    // The real server had been up a moment before the first replica came: its first
    // replicationCron (which PINGs when replicas exist, whatever the period) ran without any.
    d.advance(500);
    let replid0 = d.node.replid().to_string();
    let mut m = MasterReplay {
        d,
        name: run.name.clone(),
        replid0,
        ping_shift: 0,
        last_rdb_keys: Vec::new(),
    };
    for (i, ev) in run.events.iter().enumerate() {
        let at = format!("{} event #{i} {ev:?}", run.name);
        match ev {
            Ev::Client(args) => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                assert_eq!(m.d.client(&args), b"+OK\r\n", "{at}");
            }
            Ev::Peer(Some(tag), bytes) => {
                let conn = replica_conn(tag);
                if bytes == "*1\\r\\n$4\\r\\nPING\\r\\n" {
                    m.d.input(Input::Accepted {
                        conn,
                        peer: PeerAddr {
                            ip: "127.0.0.1".into(),
                            port: 50000,
                        },
                    });
                }
                let bytes = unescape(&m.subst(bytes));
                m.d.input(Input::Data { conn, bytes });
            }
            Ev::Node(Some(tag), want) => m.node_bytes(replica_conn(tag), want, &at),
            Ev::RdbKeys(keys) => assert_eq!(&m.last_rdb_keys, keys, "{at}"),
            Ev::Close(tag) => m.d.input(Input::Closed {
                conn: replica_conn(tag),
            }),
            Ev::Info(label, lines) => {
                let (label, section) = label.rsplit_once(' ').unwrap();
                let lines: Vec<String> =
                    lines.iter().map(|l| m.shift_offsets(&m.subst(l))).collect();
                let mut text = m.d.info(section);
                if section == "stats" {
                    text = text
                        .split("\r\n")
                        .filter(|l| l.starts_with("sync_"))
                        .collect::<Vec<_>>()
                        .join("\r\n");
                }
                assert_info(&run.name, label, &lines, &text);
            }
            Ev::Pings(tag, n) => {
                let conn = replica_conn(tag);
                assert_eq!(
                    m.d.client(&["CONFIG", "SET", "repl-ping-replica-period", "1"]),
                    b"+OK\r\n"
                );
                m.d.advance(2500);
                assert_eq!(
                    m.d.client(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]),
                    b"+OK\r\n"
                );
                m.d.advance(300);
                let got = m.d.take(conn);
                // The stream PING is the 14-byte lowercase `ping`.
                let ping = b"*1\r\n$4\r\nping\r\n";
                assert!(
                    !got.is_empty()
                        && got.len().is_multiple_of(14)
                        && got.chunks(14).all(|c| c == ping),
                    "{at}: {:?}",
                    String::from_utf8_lossy(&got)
                );
                let ours = got.len() / 14;
                // The cron's phase differs from the real server's: one ping more or less.
                assert!(ours.abs_diff(*n) <= 1, "{at}: we sent {ours} pings");
                m.ping_shift = ours as i64 - *n as i64;
            }
            Ev::Note(_) => {}
            other => panic!("{}: unexpected event {other:?}", run.name),
        }
    }
}

#[test]
fn master_side_matches_redis() {
    let runs = parse(MASTER_FIXTURE);
    assert_eq!(runs.len(), 2);
    for run in &runs {
        replay_master(run);
    }
}

// ----- regressions for engine bugs the goldens found ---------------------------------------------

const SERVED_RDB: &[u8] = include_bytes!("golden/replication/served.rdb");
const FAKE_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

/// A replica after REPLICAOF, its handshake answered up to (not including) the PSYNC reply.
/// Returns the PSYNC it sent.
fn handshake(d: &mut Driver) -> Vec<u8> {
    let conn = d.master_conn.unwrap();
    assert_eq!(d.take(conn), cmd(&["PING"]));
    d.input(Input::Data {
        conn,
        bytes: b"+PONG\r\n".to_vec(),
    });
    d.take(conn);
    d.input(Input::Data {
        conn,
        bytes: b"+OK\r\n+OK\r\n".to_vec(),
    });
    d.take(conn)
}

fn replica_of_fake() -> Driver {
    let mut d = Driver::new(Config {
        port: OUR_PORT,
        ..Config::default()
    });
    assert_eq!(
        d.client(&["REPLICAOF", "127.0.0.1", &FAKE_PORT.to_string()]),
        b"+OK\r\n"
    );
    d
}

fn full_sync(d: &mut Driver) {
    let conn = d.master_conn.unwrap();
    let mut bytes = format!("+FULLRESYNC {FAKE_ID} 1000\r\n${}\r\n", SERVED_RDB.len()).into_bytes();
    bytes.extend_from_slice(SERVED_RDB);
    d.input(Input::Data { conn, bytes });
    assert!(d.info("replication").contains("master_link_status:up"));
}

#[test]
fn a_transfer_that_fails_keeps_the_cached_master_for_the_next_psync() {
    // Redis discards the cached master only once the payload is in
    // (replicationAttachToNewMaster), not at +FULLRESYNC.
    let mut d = replica_of_fake();
    let own = d.node.replid().to_string();
    let psync = handshake(&mut d);
    assert_eq!(psync, cmd(&["PSYNC", &own, "1"]));
    let conn = d.master_conn.unwrap();
    d.input(Input::Data {
        conn,
        bytes: format!("+FULLRESYNC {FAKE_ID} 1000\r\n").into_bytes(),
    });
    assert!(d
        .info("replication")
        .contains("\r\nslave_repl_offset:0\r\n"));
    d.input(Input::Closed { conn });
    d.advance(1000);
    assert_eq!(handshake(&mut d), cmd(&["PSYNC", &own, "1"]));
}

#[test]
fn continue_applies_the_stream_to_the_db_the_master_client_had_selected() {
    let mut d = replica_of_fake();
    handshake(&mut d);
    full_sync(&mut d);
    let conn = d.master_conn.unwrap();
    let mut stream = cmd(&["SELECT", "1"]);
    stream.extend(cmd(&["SET", "k", "v"]));
    d.input(Input::Data {
        conn,
        bytes: stream,
    });
    d.input(Input::Closed { conn });
    assert_eq!(handshake(&mut d), cmd(&["PSYNC", FAKE_ID, "1051"]));
    let conn = d.master_conn.unwrap();
    let mut bytes = format!("+CONTINUE {FAKE_ID}\r\n").into_bytes();
    // The master's slaveseldb is still 1: no SELECT before the next write.
    bytes.extend(cmd(&["SET", "k2", "v2"]));
    d.input(Input::Data { conn, bytes });
    assert!(d.node.keyspace().dbs[1].contains_key(b"k2".as_slice()));
    assert!(!d.node.keyspace().dbs[0].contains_key(b"k2".as_slice()));
}

#[test]
fn a_chained_replica_forwards_exactly_the_bytes_it_applied() {
    let mut d = replica_of_fake();
    handshake(&mut d);
    full_sync(&mut d);
    let sub = ConnId::In(5);
    d.input(Input::Accepted {
        conn: sub,
        peer: PeerAddr {
            ip: "127.0.0.1".into(),
            port: 50005,
        },
    });
    // As a replica does: the PSYNC once the REPLCONF is answered (a PSYNC behind a reply
    // not written yet is refused).
    d.input(Input::Data {
        conn: sub,
        bytes: cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]),
    });
    assert_eq!(d.take(sub), b"+OK\r\n");
    d.input(Input::Data {
        conn: sub,
        bytes: cmd(&["PSYNC", FAKE_ID, "1001"]),
    });
    assert_eq!(d.take(sub), format!("+CONTINUE {FAKE_ID}\r\n").into_bytes());
    // A keepalive newline from the master: counted and forwarded as sent.
    let conn = d.master_conn.unwrap();
    let mut stream = b"\r\n".to_vec();
    stream.extend(cmd(&["SET", "k", "v"]));
    d.input(Input::Data {
        conn,
        bytes: stream.clone(),
    });
    assert_eq!(d.take(sub), stream);
    assert_eq!(d.node.master_repl_offset(), 1000 + stream.len() as i64);
}

// ----- a full sync on a socket that does not keep up (Input::SendQueue) -----------------------

/// A master with about 200 KB of data and a fake replica on `conn`, a socket that takes
/// nothing by itself, which asked for a full sync: runs until the RDB has been handed to the
/// connection. Returns how many bytes the socket holds.
fn master_sending_rdb(diskless: bool, conn: ConnId) -> (Driver, usize) {
    let mut d = Driver::new(Config {
        repl_timeout: 2,
        repl_ping_replica_period: 3600,
        repl_diskless_sync: diskless,
        repl_diskless_sync_delay: 0,
        ..Config::default()
    });
    // Hex digits of an LCG: values the RDB cannot compress to nothing.
    let mut x = 1u64;
    for i in 0..20 {
        let value = hex_noise(&mut x, 10_000);
        assert_eq!(d.client(&["SET", &format!("k{i}"), &value]), b"+OK\r\n");
    }
    d.input(Input::Accepted {
        conn,
        peer: PeerAddr {
            ip: "127.0.0.1".into(),
            port: 50000,
        },
    });
    let mut hello = cmd(&["REPLCONF", "listening-port", "7001"]);
    hello.extend(cmd(&["REPLCONF", "capa", "eof", "capa", "psync2"]));
    d.input(Input::Data { conn, bytes: hello });
    assert_eq!(d.take(conn), b"+OK\r\n+OK\r\n");
    // The socket stalls from the PSYNC on (with the replies still in it, the PSYNC would
    // be refused: pending output).
    d.slow.insert(conn, 0);
    d.input(Input::Data {
        conn,
        bytes: cmd(&["PSYNC", "?", "-1"]),
    });
    d.advance(10);
    let queued = d.slow[&conn];
    assert!(queued > 100_000, "{queued} bytes sent");
    (d, queued)
}

fn slave0_state(d: &mut Driver) -> String {
    let info = d.info("replication");
    let line = info
        .lines()
        .find(|l| l.starts_with("slave0:"))
        .unwrap_or("");
    line.split(',')
        .find_map(|f| f.strip_prefix("state="))
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_replica_goes_online_once_its_socket_took_the_whole_rdb() {
    for diskless in [false, true] {
        let conn = ConnId::In(7);
        let (mut d, queued) = master_sending_rdb(diskless, conn);
        let waiting = if diskless { "wait_bgsave" } else { "send_bulk" };
        d.take(conn);
        // The socket takes a quarter every 1.5 s: past repl-timeout, not dropped.
        for _ in 0..3 {
            d.advance(1_500);
            assert_eq!(slave0_state(&mut d), waiting, "diskless={diskless}");
            d.socket_takes(conn, queued / 4);
        }
        assert!(
            d.closed.is_empty(),
            "diskless={diskless}: dropped mid-transfer"
        );
        let rest = d.slow[&conn];
        d.socket_takes(conn, rest);
        d.advance(1);
        assert_eq!(slave0_state(&mut d), "online", "diskless={diskless}");
        // The ACK timeout counts from now (the fake replica never ACKs).
        d.advance(1_500);
        assert!(d.closed.is_empty(), "diskless={diskless}");
        d.advance(3_000);
        assert_eq!(d.closed, vec![conn], "diskless={diskless}");
    }
}

#[test]
fn a_stalled_diskless_transfer_is_dropped_after_repl_timeout_a_stalled_bulk_never() {
    for diskless in [false, true] {
        let conn = ConnId::In(7);
        let (mut d, queued) = master_sending_rdb(diskless, conn);
        d.socket_takes(conn, queued / 2);
        d.advance(10_000);
        // Redis times out ONLINE replicas, and diskless transfers whose socket stopped taking
        // bytes (the child waits for them); a replica in SEND_BULK waits as long as it takes.
        assert_eq!(d.closed.contains(&conn), diskless, "diskless={diskless}");
        if !diskless {
            assert_eq!(slave0_state(&mut d), "send_bulk");
        } else {
            // Dropped by replicationCron, the last replica: its child is killed, and reaped
            // by a later serverCron, not by the cron that dropped it.
            let at = |line: &str| {
                d.logs
                    .iter()
                    .find(|(_, l)| l == line)
                    .map(|(t, _)| *t)
                    .unwrap_or_else(|| panic!("no {line:?} in {:?}", d.logs))
            };
            let killed = at("Diskless rdb transfer, last replica dropped, killing fork child.");
            let reaped = at("Background transfer terminated by signal 10");
            assert!(reaped > killed, "killed at {killed}, reaped at {reaped}");
        }
    }
}
