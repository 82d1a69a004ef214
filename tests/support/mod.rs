//! Test support for interop tests: real `redis-server` processes and `replscope server`
//! processes on 127.0.0.1, each on a free port with its own temp dir, killed by pid when the
//! handle drops, and a tiny RESP client. Every wait is bounded.

#![allow(dead_code)] // each test file uses a different part of this module

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use replscope::engine::resp::{encode_command, parse_reply, Reply};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A free TCP port on 127.0.0.1 (bound, then released), never one this process handed out
/// before: the kernel may offer a port just released again, and two servers started by
/// tests running in parallel must not race for it.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

/// A running server process (real Redis or replscope) on `port`.
pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: PathBuf,
    pub kind: &'static str,
    args: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("replscope-{tag}-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl Server {
    /// A real redis-server 7.0 with `args` (e.g. `["--repl-diskless-sync", "no"]`).
    pub fn redis(args: &[&str]) -> Server {
        Server::redis_with_open_files(args, None)
    }

    /// A real redis-server 7.0 whose open files limit (`ulimit -n`) is `open_files`, if given.
    pub fn redis_with_open_files(args: &[&str], open_files: Option<u64>) -> Server {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: install Debian's redis-server (./x test does)"
        );
        let port = free_port();
        let dir = temp_dir("redis", port);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let child = spawn_redis(port, &dir, &args, open_files);
        let server = Server {
            port,
            child,
            dir,
            kind: "redis",
            args,
        };
        server.wait_ready();
        server
    }

    /// A server of `kind`, "redis" or "replscope", with `args`: side-by-side tests run the
    /// same steps on one of each.
    #[allow(dead_code)]
    pub fn of_kind(kind: &str, args: &[&str]) -> Server {
        if kind == "redis" {
            Server::redis(args)
        } else {
            Server::replscope(args)
        }
    }

    /// A `replscope server` with `args`, snapshots in its own temp dir.
    pub fn replscope(args: &[&str]) -> Server {
        Server::replscope_with_open_files(args, None)
    }

    /// A `replscope server` whose open files limit (`ulimit -n`) is `open_files`, if given
    /// (a restart does not keep it).
    pub fn replscope_with_open_files(args: &[&str], open_files: Option<u64>) -> Server {
        let port = free_port();
        let dir = temp_dir("replscope", port);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let child = spawn_replscope(port, &dir, &args, open_files);
        let server = Server {
            port,
            child,
            dir,
            kind: "replscope",
            args,
        };
        server.wait_ready();
        server
    }

    /// A server of `kind` ("redis" or "replscope") started as `<program> <dir>/redis.conf`:
    /// the file sets the port, bind address, directory and log, then `extra` lines.
    pub fn from_config(kind: &'static str, extra: &str) -> Server {
        let port = free_port();
        let dir = temp_dir(&format!("{kind}-conf"), port);
        let conf = dir.join("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\nappendonly no\n{extra}\n",
                dir.display(),
                if kind == "redis" {
                    dir.join("log").display().to_string()
                } else {
                    "\"\"".into()
                }
            ),
        )
        .expect("config file");
        let server = Server {
            port,
            child: spawn_from_config(kind, &dir),
            dir,
            kind,
            args: Vec::new(),
        };
        server.wait_ready();
        server
    }

    /// The configuration file of a server made by [`Server::from_config`].
    pub fn config_file(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.conf")).unwrap_or_default()
    }

    /// Waits up to `limit` for the process to exit by itself; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts a [`Server::from_config`] server again from its file (once it has exited).
    pub fn start_again_from_config(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn_from_config(self.kind, &self.dir);
        self.wait_ready();
    }

    /// Kills the server (SIGKILL: no shutdown save) and starts it again with the same
    /// port, options and directory.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = if self.kind == "redis" {
            spawn_redis(self.port, &self.dir, &self.args, None)
        } else {
            spawn_replscope(self.port, &self.dir, &self.args, None)
        };
        self.wait_ready();
    }

    fn wait_ready(&self) {
        // Any reply will do (a server with requirepass answers PING with NOAUTH).
        wait_until(
            Duration::from_secs(10),
            &format!("{} on {} answers PING", self.kind, self.port),
            || try_cmd(self.port, &["PING"]).is_some(),
        );
    }

    /// Runs one command; panics if the server does not answer within [`ANSWER_WITHIN`].
    pub fn cmd(&self, argv: &[&str]) -> Reply {
        try_cmd(self.port, argv)
            .unwrap_or_else(|| panic!("{} on {} did not answer {argv:?}", self.kind, self.port))
    }

    /// The process's resident memory (`VmRSS`), in kB.
    pub fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status")
            .lines()
            .find_map(|l| {
                l.strip_prefix("VmRSS:")
                    .map(|v| v.trim().trim_end_matches(" kB").parse().expect("kB"))
            })
            .expect("VmRSS")
    }

    /// A field of `INFO <section>`.
    pub fn info(&self, section: &str, field: &str) -> String {
        let Reply::Bulk(text) = self.cmd(&["INFO", section]) else {
            panic!("INFO is not a bulk")
        };
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
            .unwrap_or_default()
    }

    pub fn offset(&self) -> i64 {
        self.info("replication", "master_repl_offset")
            .parse()
            .unwrap_or(-1)
    }

    pub fn stat(&self, field: &str) -> i64 {
        self.info("stats", field).parse().unwrap_or(-1)
    }

    /// Makes this server a replica of `master` and waits until its link is up.
    pub fn replicate(&self, master: &Server) {
        assert_eq!(
            self.cmd(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
            Reply::ok()
        );
        self.wait_link_up();
    }

    pub fn wait_link_up(&self) {
        wait_until(
            Duration::from_secs(15),
            &format!("{} {} link up", self.kind, self.port),
            || self.info("replication", "master_link_status") == "up",
        );
    }

    /// SIGSTOP / SIGCONT, to make a process silent without closing its sockets.
    pub fn pause(&self) {
        signal(&self.child, "-STOP");
    }

    pub fn resume(&self) {
        signal(&self.child, "-CONT");
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

/// `program`, started through `sh -c 'ulimit -n N; exec …'` when `open_files` is given, so
/// that the child's pid is still the program's.
fn command(program: &str, open_files: Option<u64>) -> Command {
    match open_files {
        None => Command::new(program),
        Some(n) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(program);
            c
        }
    }
}

fn spawn_redis(
    port: u16,
    dir: &std::path::Path,
    args: &[String],
    open_files: Option<u64>,
) -> Child {
    command(REDIS_SERVER, open_files)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("log"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

fn spawn_replscope(
    port: u16,
    dir: &std::path::Path,
    args: &[String],
    open_files: Option<u64>,
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))
        .expect("log file");
    command(env!("CARGO_BIN_EXE_replscope"), open_files)
        .args(["server", "--port", &port.to_string()])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .expect("start replscope server")
}

/// `<program> <dir>/redis.conf`, appending its output to `<dir>/log` (replscope logs to
/// stdout; redis-server to the `logfile` the file names).
fn spawn_from_config(kind: &str, dir: &std::path::Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))
        .expect("log file");
    let mut cmd = if kind == "redis" {
        Command::new(REDIS_SERVER)
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_replscope"));
        c.arg("server");
        c
    };
    cmd.arg(dir.join("redis.conf"))
        .stdout(if kind == "redis" {
            Stdio::null()
        } else {
            log.into()
        })
        .stderr(Stdio::null())
        .spawn()
        .expect("start a server from its config file")
}

/// Sends a signal (`-TERM`, `-STOP`…) to a server process.
pub fn signal_server(server: &Server, sig: &str) {
    signal(&server.child, sig);
}

fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status();
}

/// How long a command may wait for its answer: a debug-built server writing a 40 MB RDB on a
/// loaded 2-core machine stalls for several seconds (seen in CI: more than 5 s).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// One command on a fresh connection; `None` on any failure or after [`ANSWER_WITHIN`].
pub fn try_cmd(port: u16, argv: &[&str]) -> Option<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(ANSWER_WITHIN)).ok()?;
    let mut out = Vec::new();
    encode_command(argv, &mut out);
    stream.write_all(&out).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Ok(Some((reply, _))) = parse_reply(&buf) {
            return Some(reply);
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Polls `cond` every 50 ms until it holds; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every server reports the same `master_repl_offset`; returns it.
pub fn wait_offsets_equal(servers: &[&Server]) -> i64 {
    let start = Instant::now();
    loop {
        let last = servers.iter().map(|s| s.offset()).collect::<Vec<_>>();
        if last.windows(2).all(|w| w[0] == w[1]) && last[0] >= 0 {
            return last[0];
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "offsets never converged: {last:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs commands in order on one connection (so SELECT sticks); panics on failure.
pub fn pipeline(port: u16, cmds: &[Vec<String>]) -> Vec<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut out = Vec::new();
    for argv in cmds {
        encode_command(argv, &mut out);
    }
    stream.write_all(&out).expect("write");
    let mut replies = Vec::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while replies.len() < cmds.len() {
        while let Ok(Some((reply, used))) = parse_reply(&buf) {
            buf.drain(..used);
            replies.push(reply);
        }
        if replies.len() == cmds.len() {
            break;
        }
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "connection closed after {} replies", replies.len());
        buf.extend_from_slice(&chunk[..n]);
    }
    replies
}

/// Turns `"SET k v"`-style lines into argv vectors (no quoting needed in tests).
pub fn lines(text: &[String]) -> Vec<Vec<String>> {
    text.iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Writes a dataset covering every type and the encodings Redis 7.0 picks (int, raw and
/// LZF-compressible strings, small and large lists/hashes/sets/zsets, an intset, TTLs,
/// several databases) into `server`.
pub fn write_dataset(server: &Server) {
    let mut cmds: Vec<String> = vec![
        "SELECT 0".into(),
        "SET str hello".into(),
        "SET int 12345".into(),
        "SET neg -7".into(),
        format!("SET long {}", "abcabcabc".repeat(400)),
        "SET withttl v EX 1000".into(),
        "RPUSH small a b c".into(),
        "HSET h f1 v1 f2 v2".into(),
        "SADD ints 3 1 2".into(),
        "SADD strs x y z".into(),
        "ZADD z 1 a 2.5 b -3 c".into(),
    ];
    for chunk in 0..4 {
        let items: Vec<String> = (chunk * 500..chunk * 500 + 500)
            .map(|i| format!("item{i}"))
            .collect();
        cmds.push(format!("RPUSH biglist {}", items.join(" ")));
        let fields: Vec<String> = (chunk * 200..chunk * 200 + 200)
            .map(|i| format!("f{i} v{i}"))
            .collect();
        cmds.push(format!("HSET bighash {}", fields.join(" ")));
        let members: Vec<String> = (chunk * 200..chunk * 200 + 200)
            .map(|i| format!("m{i}"))
            .collect();
        cmds.push(format!("SADD bigset {}", members.join(" ")));
        let scored: Vec<String> = (chunk * 50..chunk * 50 + 50)
            .map(|i| format!("{i}.5 z{i}"))
            .collect();
        cmds.push(format!("ZADD bigz {}", scored.join(" ")));
    }
    cmds.push("SELECT 3".into());
    cmds.push("SET other-db yes".into());
    cmds.push("PEXPIRE other-db 900000".into());
    for r in pipeline(server.port, &lines(&cmds)) {
        assert!(!r.is_error(), "dataset write failed: {r:?}");
    }
}

/// A normalised dump of databases 0 to 3: key, type, value, and whether it has a TTL.
pub fn dump(server: &Server) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["0", "1", "2", "3"] {
        let keys = pipeline(
            server.port,
            &[
                vec!["SELECT".into(), db.into()],
                vec!["KEYS".into(), "*".into()],
            ],
        );
        let Reply::Array(keys) = &keys[1] else {
            panic!("KEYS")
        };
        let mut names: Vec<String> = keys
            .iter()
            .map(|k| match k {
                Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                _ => panic!("key"),
            })
            .collect();
        names.sort();
        for key in names {
            let sel = vec!["SELECT".to_string(), db.to_string()];
            let ty = pipeline(
                server.port,
                &[sel.clone(), vec!["TYPE".into(), key.clone()]],
            );
            let Reply::Simple(ty) = &ty[1] else {
                panic!("TYPE")
            };
            let read: Vec<String> = match ty.as_str() {
                "string" => vec!["GET".into(), key.clone()],
                "list" => vec!["LRANGE".into(), key.clone(), "0".into(), "-1".into()],
                "hash" => vec!["HGETALL".into(), key.clone()],
                "set" => vec!["SMEMBERS".into(), key.clone()],
                "zset" => vec![
                    "ZRANGE".into(),
                    key.clone(),
                    "0".into(),
                    "-1".into(),
                    "WITHSCORES".into(),
                ],
                other => panic!("unexpected type {other}"),
            };
            let r = pipeline(
                server.port,
                &[sel.clone(), read, vec!["PTTL".into(), key.clone()]],
            );
            let mut value = format!("{:?}", r[1]);
            if ty == "hash" || ty == "set" {
                // Unordered types: compare as sorted collections.
                if let Reply::Array(items) = &r[1] {
                    let mut parts: Vec<String> = if ty == "hash" {
                        items.chunks(2).map(|p| format!("{:?}", p)).collect()
                    } else {
                        items.iter().map(|i| format!("{i:?}")).collect()
                    };
                    parts.sort();
                    value = parts.join(",");
                }
            }
            let ttl = matches!(r[2], Reply::Integer(t) if t > 0);
            out.push(format!("db{db} {key} {ty} ttl={ttl} {value}"));
        }
    }
    out
}

/// Sends raw bytes on a fresh connection; returns everything received until the server
/// closes the connection (or 3 s pass) and whether it closed.
pub fn raw_exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    let mut last_data = Instant::now();
    let mut buf = [0u8; 4096];
    while start.elapsed() < Duration::from_secs(3) {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                last_data = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // Replies came and nothing else for a while: the connection stays open.
                if !got.is_empty() && last_data.elapsed() > Duration::from_millis(300) {
                    return (got, false);
                }
            }
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

/// A fake replica on a master: `PSYNC ? -1`, the RDB read and dropped (the master must send
/// a disk RDB: start it with `--repl-diskless-sync no`), then everything the master streams.
pub struct RawReplica {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// The last command [`RawReplica::stream_until_end`] waits for.
const END_MARKER: &[u8] = b"$7\r\n__end__\r\n$1\r\n1\r\n";

impl RawReplica {
    pub fn attach(port: u16) -> RawReplica {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(ANSWER_WITHIN))
            .expect("timeout");
        let mut out = Vec::new();
        encode_command(&["PSYNC", "?", "-1"], &mut out);
        stream.write_all(&out).expect("write PSYNC");
        let mut r = RawReplica {
            stream,
            buf: Vec::new(),
        };
        let full = r.line();
        assert!(full.starts_with(b"+FULLRESYNC"), "{full:?}");
        let size = r.line();
        assert_eq!(size.first(), Some(&b'$'), "{size:?}");
        let n: usize = String::from_utf8_lossy(&size[1..])
            .parse()
            .expect("RDB size");
        r.fill(n);
        r.buf.drain(..n);
        r
    }

    /// The next non-empty line (the master sends `\n` keepalives before the RDB).
    fn line(&mut self) -> Vec<u8> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let line = line
                    .strip_suffix(b"\r\n")
                    .unwrap_or(&line[..line.len() - 1]);
                if !line.is_empty() {
                    return line.to_vec();
                }
                continue;
            }
            self.read_more();
        }
    }

    fn fill(&mut self, n: usize) {
        while self.buf.len() < n {
            self.read_more();
        }
    }

    fn read_more(&mut self) {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).expect("replication stream");
        assert!(n > 0, "master closed the replication link");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Sends `SET __end__ 1` to the master on `port` and returns the stream received up to
    /// and including it, PINGs removed.
    pub fn stream_until_end(&mut self, port: u16) -> Vec<u8> {
        assert_eq!(try_cmd(port, &["SET", "__end__", "1"]), Some(Reply::ok()));
        while !self.buf.ends_with(END_MARKER) {
            self.read_more();
        }
        let text = std::mem::take(&mut self.buf);
        let ping = b"*1\r\n$4\r\nping\r\n";
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(ping) {
                i += ping.len();
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        out
    }
}

/// The replication stream as readable lines (`SET k v`, one command a line).
pub fn stream_lines(stream: &[u8]) -> Vec<String> {
    let mut parser = replscope::engine::resp::RequestParser::new();
    parser.feed(stream);
    let mut out = Vec::new();
    while let Ok(Some(req)) = parser.next_request() {
        let words: Vec<String> = req
            .argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.push(words.join(" "));
    }
    out
}

/// A server log's lines after the first "Full resync from master", each by its text after
/// the pid, role, timestamp and level mark.
#[allow(dead_code)]
pub fn lines_after_full_resync(log: &str) -> Vec<String> {
    let texts: Vec<String> = log
        .lines()
        .map(|l| l.split_whitespace().skip(6).collect::<Vec<_>>().join(" "))
        .collect();
    let start = texts
        .iter()
        .position(|t| t.starts_with("Full resync from master"))
        .unwrap_or_else(|| panic!("no full resync in\n{log}"));
    texts[start + 1..].to_vec()
}
