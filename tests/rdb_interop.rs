//! The other direction: a real redis-server 7.0 must accept the RDB files we write.
//!
//! Needs Debian's redis-server 7.0 in /usr/bin (`./x test` installs it); fails with a clear
//! message when it is missing rather than passing silently. The test:
//! 1. saves a dataset covering every encoding with `rdb::save` (kept in
//!    target/rdb-interop/ours.rdb for inspection),
//! 2. runs `redis-check-rdb` on it,
//! 3. starts redis-server on 127.0.0.1 (free port, own temp dir) with `--dbfilename` pointing
//!    at our file and reads every key back over RESP (TYPE, OBJECT ENCODING, PEXPIRETIME and
//!    the value),
//! 4. has the server SAVE the data again (over our file), loads that with `rdb::load`, and checks both the
//!    data and that our record of every deterministic key is byte-identical to Redis's.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use replscope::engine::keyspace::{Entry, HashValue, Keyspace, SetValue, Value, ZSetValue};
use replscope::engine::rdb::{self, ReplInfo, SaveOptions};
use replscope::engine::resp::{encode_command, parse_reply, Reply};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

fn require_redis() {
    for bin in [REDIS_SERVER, REDIS_CHECK_RDB] {
        assert!(
            Path::new(bin).exists(),
            "{bin} not found: this test needs Debian's redis-server 7.0 (apt-get install redis-server; ./x test installs it)"
        );
    }
    let out = Command::new(REDIS_SERVER)
        .arg("--version")
        .output()
        .expect("running redis-server --version");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.contains("v=7.0."),
        "this test checks against Redis 7.0, found: {version}"
    );
}

fn s(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

fn put(ks: &mut Keyspace, db: usize, key: &[u8], value: Value, expire_at_ms: Option<i64>) {
    ks.db_mut(db).insert(
        key.to_vec(),
        Entry {
            value,
            expire_at_ms,
        },
    );
}

/// A dataset covering every encoding 7.0 writes, at and across each threshold.
fn dataset() -> Keyspace {
    let mut ks = Keyspace::default();
    let strings: Vec<(&str, Vec<u8>)> = vec![
        ("str:int8", s("12")),
        ("str:int16", s("-1234")),
        ("str:int32", s("123456789")),
        ("str:int64", s("12345678901")),
        ("str:leadzero", s("007")),
        ("str:empty", s("")),
        ("str:short", s("hello world")),
        ("str:lzf", vec![b'a'; 1000]),
        (
            "str:lzf-numbers",
            (1..3000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes(),
        ),
        (
            "str:incompressible",
            s("Zq8#Lm2!Vx9@Rt4$Nw7%Kp1^Hy6&Jc3*Fb5(Gd0)"),
        ),
        ("str:binary", (0..=255u8).cycle().take(1024).collect()),
    ];
    for (k, v) in strings {
        put(&mut ks, 0, k.as_bytes(), Value::String(v), None);
    }
    put(
        &mut ks,
        0,
        b"bin\x00key\xff\n",
        Value::String(s("binary key")),
        None,
    );

    let list = |v: Vec<Vec<u8>>| Value::List(VecDeque::from(v));
    put(
        &mut ks,
        0,
        b"list:small",
        list(vec![
            s("a"),
            s("1"),
            s("-7"),
            s("70000"),
            s("5000000000"),
            s(""),
        ]),
        None,
    );
    put(
        &mut ks,
        0,
        b"list:big",
        list(
            (0..5000)
                .map(|i| format!("item:{i}").into_bytes())
                .collect(),
        ),
        None,
    );
    put(
        &mut ks,
        0,
        b"list:bigelem",
        list(vec![s("x"), vec![b'y'; 20000], s("z")]),
        None,
    );

    let hash = |n: usize, len: usize| -> Value {
        Value::Hash(
            (0..n)
                .map(|i| {
                    (
                        format!("f{i:0len$}").into_bytes(),
                        i.to_string().into_bytes(),
                    )
                })
                .collect(),
        )
    };
    put(&mut ks, 0, b"hash:small", hash(5, 1), None);
    put(&mut ks, 0, b"hash:512", hash(512, 1), None);
    put(&mut ks, 0, b"hash:513", hash(513, 1), None);
    put(&mut ks, 0, b"hash:field64", hash(3, 63), None);
    put(&mut ks, 0, b"hash:field65", hash(3, 64), None);

    let set = |members: Vec<String>| {
        Value::Set(
            members
                .into_iter()
                .map(String::into_bytes)
                .collect::<SetValue>(),
        )
    };
    put(
        &mut ks,
        0,
        b"set:int16",
        set(vec!["3".into(), "-5".into(), "1".into()]),
        None,
    );
    put(
        &mut ks,
        0,
        b"set:int32",
        set(vec!["1".into(), "70000".into()]),
        None,
    );
    put(
        &mut ks,
        0,
        b"set:int64",
        set(vec!["1".into(), i64::MIN.to_string()]),
        None,
    );
    put(
        &mut ks,
        0,
        b"set:512",
        set((0..512).map(|i| (i * 3).to_string()).collect()),
        None,
    );
    put(
        &mut ks,
        0,
        b"set:513",
        set((0..513).map(|i| (i * 3).to_string()).collect()),
        None,
    );
    put(
        &mut ks,
        0,
        b"set:strings",
        set(vec!["apple".into(), "007".into(), "1".into()]),
        None,
    );

    let zset = |pairs: Vec<(Vec<u8>, f64)>| {
        let mut z = ZSetValue::default();
        for (m, sc) in pairs {
            z.insert(m, sc);
        }
        Value::ZSet(z)
    };
    let scores = [
        1.0,
        2.5,
        -3.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        1e20,
        0.1,
        5e9,
        1.5e-7,
        -0.0,
        4.7e18,
    ];
    put(
        &mut ks,
        0,
        b"zset:small",
        zset(
            scores
                .iter()
                .enumerate()
                .map(|(i, &sc)| (format!("m{i}").into_bytes(), sc))
                .collect(),
        ),
        None,
    );
    let many = |n: usize| {
        (0..n)
            .map(|i| (format!("member:{i}").into_bytes(), i as f64 * 1.25))
            .collect::<Vec<_>>()
    };
    put(&mut ks, 0, b"zset:128", zset(many(128)), None);
    put(&mut ks, 0, b"zset:129", zset(many(129)), None);
    put(
        &mut ks,
        0,
        b"zset:longmember",
        zset(vec![(vec![b'm'; 65], 1.0), (s("a"), 2.0)]),
        None,
    );

    put(
        &mut ks,
        0,
        b"exp:str",
        Value::String(s("v")),
        Some(4_102_444_800_123),
    );
    let h: HashValue = [(s("a"), s("b"))].into_iter().collect();
    put(
        &mut ks,
        3,
        b"exp:hash",
        Value::Hash(h),
        Some(4_102_444_801_000),
    );
    put(&mut ks, 15, b"db15", list(vec![s("x")]), None);
    ks
}

/// Our own idea of `OBJECT ENCODING`, from the RDB type we wrote.
fn expected_encoding(value: &Value) -> Option<&'static str> {
    match rdb::encode_value(value)[0] {
        18 => Some("quicklist"),
        16 | 17 => Some("listpack"),
        4 | 2 => Some("hashtable"),
        11 => Some("intset"),
        5 => Some("skiplist"),
        _ => None, // strings: int / embstr / raw depend on length, not on the RDB
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn cmd(&mut self, argv: &[&[u8]]) -> Reply {
        let mut out = Vec::new();
        encode_command(argv, &mut out);
        self.stream.write_all(&out).unwrap();
        loop {
            if let Some((reply, used)) = parse_reply(&self.buf).unwrap() {
                self.buf.drain(..used);
                return reply;
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .stream
                .read(&mut chunk)
                .expect("reading from redis-server");
            assert!(n > 0, "redis-server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn bulk(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        match self.cmd(argv) {
            Reply::Bulk(b) => b,
            Reply::Simple(s) => s.into_bytes(),
            other => panic!(
                "{:?}: unexpected {other:?}",
                String::from_utf8_lossy(argv[0])
            ),
        }
    }

    fn int(&mut self, argv: &[&[u8]]) -> i64 {
        match self.cmd(argv) {
            Reply::Integer(n) => n,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn array(&mut self, argv: &[&[u8]]) -> Vec<Vec<u8>> {
        match self.cmd(argv) {
            Reply::Array(items) => items
                .into_iter()
                .map(|r| match r {
                    Reply::Bulk(b) => b,
                    other => panic!("unexpected element {other:?}"),
                })
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn start_server(dir: &Path, dbfilename: &str) -> (Server, Client) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(REDIS_SERVER)
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
        .args(["--dbfilename", dbfilename, "--logfile", "redis.log"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting redis-server");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", server.port)) {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut client = Client {
                stream,
                buf: Vec::new(),
            };
            match client.cmd(&[b"PING"]) {
                Reply::Simple(p) if p == "PONG" => return (server, client),
                Reply::Error(e) if e.starts_with("LOADING") => {}
                other => panic!("PING: {other:?}"),
            }
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not come up; see {}/redis.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_against_server(client: &mut Client, ks: &Keyspace) {
    for (db, keys) in ks.dbs.iter().enumerate() {
        client.bulk(&[b"SELECT", db.to_string().as_bytes()]);
        assert_eq!(
            client.int(&[b"DBSIZE"]),
            keys.len() as i64,
            "DBSIZE of db {db}"
        );
        for (key, entry) in keys.iter() {
            let k = key.as_slice();
            let what = format!("db {db} key {:?}", String::from_utf8_lossy(k));
            assert_eq!(
                client.bulk(&[b"TYPE", k]),
                entry.value.type_name().as_bytes(),
                "{what}"
            );
            let pexp = client.int(&[b"PEXPIRETIME", k]);
            assert_eq!(entry.expire_at_ms.unwrap_or(-1), pexp, "{what}: expiry");
            if let Some(enc) = expected_encoding(&entry.value) {
                assert_eq!(
                    client.bulk(&[b"OBJECT", b"ENCODING", k]),
                    enc.as_bytes(),
                    "{what}: encoding"
                );
            }
            match &entry.value {
                Value::String(v) => assert_eq!(&client.bulk(&[b"GET", k]), v, "{what}"),
                Value::List(l) => assert!(
                    client
                        .array(&[b"LRANGE", k, b"0", b"-1"])
                        .iter()
                        .eq(l.iter()),
                    "{what}"
                ),
                Value::Hash(h) => {
                    let flat = client.array(&[b"HGETALL", k]);
                    let got: HashValue = flat
                        .chunks(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect();
                    assert_eq!(&got, h, "{what}");
                    if expected_encoding(&entry.value) == Some("listpack") {
                        assert!(got.keys().eq(h.keys()), "{what}: listpack field order");
                    }
                }
                Value::Set(set) => {
                    let got: SetValue = client.array(&[b"SMEMBERS", k]).into_iter().collect();
                    assert_eq!(&got, set, "{what}");
                }
                Value::ZSet(z) => {
                    let flat = client.array(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]);
                    let got: Vec<(Vec<u8>, f64)> = flat
                        .chunks(2)
                        .map(|p| {
                            (
                                p[0].clone(),
                                std::str::from_utf8(&p[1]).unwrap().parse().unwrap(),
                            )
                        })
                        .collect();
                    let want: Vec<(Vec<u8>, f64)> =
                        z.iter().map(|(m, sc)| (m.to_vec(), sc)).collect();
                    assert_eq!(got, want, "{what}");
                }
            }
        }
    }
}

#[test]
fn real_redis_loads_what_we_save() {
    require_redis();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rdb-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let ks = dataset();
    let opts = SaveOptions {
        redis_ver: "7.0.15",
        ctime_secs: 1_700_000_000,
        used_mem: 1_000_000,
        rdbcompression: true,
        repl: Some(ReplInfo {
            repl_stream_db: 0,
            repl_id: "f".repeat(40),
            repl_offset: 1000,
        }),
    };
    let ours = rdb::save(&ks, &opts);
    std::fs::write(dir.join("ours.rdb"), &ours).unwrap();

    // 2. redis-check-rdb.
    let check = Command::new(REDIS_CHECK_RDB)
        .arg(dir.join("ours.rdb"))
        .output()
        .expect("running redis-check-rdb");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && report.contains("RDB looks OK"),
        "redis-check-rdb says:\n{report}"
    );
    assert!(
        report.contains(&format!("[info] {} keys read", ks.key_count())),
        "{report}"
    );
    let expires = ks
        .dbs
        .iter()
        .flat_map(|db| db.values())
        .filter(|e| e.expire_at_ms.is_some())
        .count();
    assert!(
        report.contains(&format!("[info] {expires} expires")),
        "{report}"
    );

    // 3. redis-server loads it; every key reads back as we wrote it.
    let (server, mut client) = start_server(&dir, "ours.rdb");
    check_against_server(&mut client, &ks);

    // 4. Redis writes it again; we load that, and our records match Redis's bytes.
    // (SAVE overwrites ours.rdb: dbfilename is a protected config.)
    client.bulk(&[b"SAVE"]);
    drop(client);
    drop(server);
    let theirs = std::fs::read(dir.join("ours.rdb")).unwrap();
    assert_ne!(
        theirs, ours,
        "Redis rewrote the file (its own ctime, used-mem, key order)"
    );
    let back = rdb::load(&theirs).expect("loading Redis's re-save of our file");
    assert_eq!(
        back.keyspace, ks,
        "data after a round trip through redis-server"
    );
    for (db, keys) in ks.dbs.iter().enumerate() {
        for (key, entry) in keys.iter() {
            if expected_encoding(&entry.value) == Some("hashtable") {
                continue; // dict order is Redis's own
            }
            let object = rdb::encode_value(&entry.value);
            let mut record = vec![object[0]];
            record.extend_from_slice(&rdb::encode_string(key));
            record.extend_from_slice(&object[1..]);
            assert!(
                theirs.windows(record.len()).any(|w| w == record.as_slice()),
                "db {db} key {:?}: Redis wrote other bytes than we do",
                String::from_utf8_lossy(key)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
