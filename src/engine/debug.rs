//! The `DEBUG` command (debug.c `debugCommand`): the subcommands Redis's own replication
//! tests lean on. `DIGEST` and `DIGEST-VALUE` fingerprint the data exactly as Redis does
//! ([`digest`]); `SLEEP` stops the whole node ([`Output::Pause`]); `POPULATE` fills a db
//! with `key:N` = `value:N` without propagating; `SET-ACTIVE-EXPIRE` turns serverCron's
//! expiry off and on; `RELOAD` saves the RDB and loads it back; `REPLICATE` feeds the stream
//! a command nobody ran; `CHANGE-REPL-ID` and `LOG` as in Redis. Other subcommands (crashes,
//! allocator and encoding introspection) answer Redis's unknown-subcommand error.
//!
//! Redis refuses DEBUG unless `enable-debug-command` allows the client (`yes`, or `local`
//! for a loopback one), before even checking authentication. The simulator's nodes allow it
//! (`sim_config`): the page's user is their operator, as a developer is of a local server.

use super::commands::Propagated;
use super::digest;
use super::event::LogLevel;
use super::keyspace::{Entry, Value};
use super::maxmemory::OOM;
use super::node::{ConnId, Node};
use super::rdb;
use super::resp::Reply;

/// The lines of `DEBUG HELP` for the subcommands replscope implements, in Redis's words.
const HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

/// Longest key name POPULATE makes: it formats `<prefix>:<n>` into a 128-byte buffer.
const POPULATE_KEY_MAX: usize = 127;

/// Memory one POPULATE key costs besides its name and value, for the `maxmemory` check
/// (the per-item overhead the keyspace estimate uses).
const POPULATE_KEY_OVERHEAD: usize = 64;

/// What `processCommand` answers a client `enable-debug-command` does not allow.
pub(crate) fn refusal() -> Reply {
    Reply::error(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
    )
}

/// `getPositiveLongFromObjectOrReply` with POPULATE's message.
fn positive(arg: &[u8]) -> Result<u64, Reply> {
    std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| Reply::error("ERR value is out of range, must be positive"))
}

/// The longest numeric prefix [`strtod`] considers: a longer number is not a sleep anyone
/// types, and each shorter prefix is parsed in turn.
const STRTOD_PREFIX_MAX: usize = 512;

/// C's `strtod` on a whole argument as `DEBUG SLEEP` uses it: the longest numeric prefix,
/// 0 when there is none.
fn strtod(arg: &[u8]) -> f64 {
    let start = arg.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let candidate: Vec<u8> = arg[start..]
        .iter()
        .take(STRTOD_PREFIX_MAX)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .copied()
        .collect();
    let text = String::from_utf8_lossy(&candidate);
    // Rust reads "inf", "infinity" and "nan" as strtod does (not hex floats).
    (1..=text.len())
        .rev()
        .find_map(|end| text[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// C's `atoi`: optional sign and leading digits, 0 when there are none.
fn atoi(arg: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start();
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// A C string: the bytes before the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())]
}

impl Node {
    /// `allowProtectedAction(server.enable_debug_cmd, c)`.
    pub(crate) fn debug_allowed(&self, conn: ConnId) -> bool {
        self.clients
            .get(&conn)
            .is_some_and(|c| self.cfg.enable_debug_command.allows(&c.peer.ip))
    }

    /// `DEBUG <subcommand> …`. `None`: the reply comes later (RELOAD waits for its save).
    pub(crate) fn debug_command(
        &mut self,
        conn: ConnId,
        argv: &[Vec<u8>],
        ops: &mut Vec<Propagated>,
    ) -> Option<Reply> {
        let sub = argv[1].to_ascii_lowercase();
        let argc = argv.len();
        Some(match sub.as_slice() {
            b"help" if argc == 2 => {
                let mut lines = vec![Reply::Simple(
                    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into(),
                )];
                lines.extend(HELP.iter().map(|l| Reply::Simple(l.to_string())));
                lines.push(Reply::Simple("HELP".into()));
                lines.push(Reply::Simple("    Prints this help.".into()));
                Reply::Array(lines)
            }
            b"log" if argc == 3 => {
                let text = format!("DEBUG LOG: {}", String::from_utf8_lossy(c_str(&argv[2])));
                self.log(LogLevel::Warning, text);
                Reply::ok()
            }
            b"reload" => return self.debug_reload(conn, &argv[2..]),
            b"object" if argc == 3 => self.debug_object(conn, &argv[2]),
            b"populate" if (3..=5).contains(&argc) => self.populate(conn, argv, ops),
            b"digest" if argc == 2 => Reply::Simple(digest::hex(&digest::dataset(&self.keyspace))),
            b"digest-value" => {
                let db = self.clients.get(&conn).map_or(0, |c| c.db);
                Reply::Array(
                    argv[2..]
                        .iter()
                        .map(|key| {
                            // No lookup: a logically expired key is digested too.
                            let entry = self.keyspace.dbs[db].get(key);
                            Reply::Simple(digest::hex(&digest::value(entry)))
                        })
                        .collect(),
                )
            }
            b"sleep" if argc == 3 => {
                // `long long utime = dtime*1000000`; a negative time makes nanosleep fail
                // at once.
                let micros = (strtod(&argv[2]) * 1_000_000.0) as i64;
                if micros > 0 {
                    self.pause(micros as u64);
                }
                Reply::ok()
            }
            b"set-active-expire" if argc == 3 => {
                self.active_expire = atoi(&argv[2]) != 0;
                Reply::ok()
            }
            b"replicate" if argc >= 3 => {
                // replicationFeedSlaves in the stream's current db: no SELECT.
                self.feed_command(None, &argv[2..]);
                Reply::ok()
            }
            b"change-repl-id" if argc == 2 => {
                self.log(
                    LogLevel::Warning,
                    "Changing replication IDs after receiving DEBUG change-repl-id",
                );
                self.change_replication_id(true, "DEBUG change-repl-id");
                Reply::ok()
            }
            _ => subcommand_syntax_error(argv),
        })
    }

    /// `DEBUG POPULATE count [prefix] [size]`: string keys `<prefix>:<n>` (`key` by default)
    /// holding `value:<n>`, cut or padded with zero bytes to `size`, in the client's db;
    /// existing keys are kept. Nothing is propagated and nothing counts as a change, as in
    /// Redis (`dbAdd` and `signalModifiedKey` alone: watchers see the keys added). A node with `maxmemory` refuses a population that would pass
    /// it (Redis would allocate on): the page's nodes must not take the tab down.
    fn populate(&mut self, conn: ConnId, argv: &[Vec<u8>], ops: &mut Vec<Propagated>) -> Reply {
        let count = match positive(&argv[2]) {
            Ok(n) => n,
            Err(e) => return e,
        };
        let size = match argv.get(4).map(|a| positive(a)).transpose() {
            Ok(size) => size.unwrap_or(0) as usize,
            Err(e) => return e,
        };
        let prefix = argv.get(3).map_or(&b"key"[..], |p| c_str(p));
        if self.cfg.maxmemory > 0 {
            let per_key = prefix.len().min(POPULATE_KEY_MAX) + 20 + size.max(26);
            let adds = (count as usize).saturating_mul(per_key + POPULATE_KEY_OVERHEAD);
            if self.used_memory().saturating_add(adds) as u64 > self.cfg.maxmemory {
                return Reply::error(OOM);
            }
        }
        let db = self.clients.get(&conn).map_or(0, |c| c.db);
        let is_master = !self.replica.is_replica();
        let lazy = self.cfg.lazyfree_lazy_expire;
        let now = self.now_ms;
        let mut expired = Vec::new();
        let keys = self.keyspace.db_mut(db);
        keys.reserve(count as usize);
        for j in 0..count {
            let mut key = prefix.to_vec();
            key.extend_from_slice(format!(":{j}").as_bytes());
            key.truncate(POPULATE_KEY_MAX);
            // lookupKeyWrite: a live key stays; an expired one is deleted first (and the
            // deletion propagated, on a master).
            match keys.get(&key) {
                Some(e) if e.is_expired(now) => {
                    keys.swap_remove(&key);
                    self.watches.touch(db, &key, false);
                    expired.push(key.clone());
                }
                Some(_) => continue,
                None => {}
            }
            let mut value = format!("value:{j}").into_bytes();
            if size > 0 {
                value.resize(size, 0);
            }
            // dbAdd, then signalModifiedKey.
            self.watches.touch(db, &key, true);
            keys.insert(
                key,
                Entry {
                    value: Value::String(value),
                    expire_at_ms: None,
                },
            );
        }
        self.memory.replaced();
        if is_master {
            let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
            ops.extend(expired.into_iter().map(|key| Propagated {
                db,
                argv: vec![del.to_vec(), key],
            }));
        }
        Reply::ok()
    }
}

impl Node {
    /// `DEBUG OBJECT key`: how the value is held. Found without a lookup, so a logically
    /// expired key is shown too. The address is a stand-in (replscope's values do not live
    /// in Redis objects), the LRU clock is the node's, and no access time is kept: idle 0.
    fn debug_object(&self, conn: ConnId, key: &[u8]) -> Reply {
        /// `OBJ_SHARED_REFCOUNT`: the refcount of Redis's shared integers 0..9999.
        const SHARED_REFCOUNT: i64 = i32::MAX as i64;
        /// `OBJ_SHARED_INTEGERS`.
        const SHARED_INTEGERS: i64 = 10_000;
        /// `LRU_CLOCK_MAX`.
        const LRU_CLOCK_MASK: u64 = (1 << 24) - 1;
        /// `list-max-listpack-size` at its default.
        const LISTPACK_MAX: i64 = -2;
        let db = self.clients.get(&conn).map_or(0, |c| c.db);
        let Some((index, _, entry)) = self.keyspace.dbs[db].get_full(key) else {
            return Reply::error("ERR no such key");
        };
        let value = &entry.value;
        let shared = matches!(value, Value::String(s)
            if rdb::object_encoding(value) == "int"
                && std::str::from_utf8(s).ok().and_then(|s| s.parse::<i64>().ok())
                    .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)));
        let refcount = if shared { SHARED_REFCOUNT } else { 1 };
        let extra = match value {
            Value::List(list) => {
                let nodes = rdb::quicklist_node_sizes(list);
                let avg = list.len() as f64 / nodes.len().max(1) as f64;
                format!(
                    " ql_nodes:{} ql_avg_node:{avg:.2} ql_listpack_max:{LISTPACK_MAX} ql_compressed:0 ql_uncompressed_size:{}",
                    nodes.len(),
                    nodes.iter().sum::<usize>()
                )
            }
            _ => String::new(),
        };
        Reply::Simple(format!(
            "Value at:0x7f{:010x} refcount:{refcount} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:0{extra}",
            ((db as u64) << 32) + index as u64 * 16,
            rdb::object_encoding(value),
            rdb::encode_value(value).len() - 1,
            self.now_s() & LRU_CLOCK_MASK,
        ))
    }
}

/// `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(argv: &[Vec<u8>]) -> Reply {
    let sub = c_str(&argv[1]);
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{Config, ProtectedAction};
    use crate::engine::node::{Input, NodeOptions, Output, PeerAddr};

    /// A node allowing DEBUG as `allow` says, with a client from `ip` that sent `line`: the
    /// outputs, in order (events left out).
    fn outputs(allow: ProtectedAction, ip: &str, line: &[u8]) -> Vec<Output> {
        let mut node = Node::new(NodeOptions {
            name: "n".into(),
            config: Config {
                enable_debug_command: allow,
                // Clients from outside, without a password.
                protected_mode: false,
                ..Config::default()
            },
            seed: 1,
            now_ms: 1_000,
        });
        let conn = ConnId::In(1);
        let peer = PeerAddr {
            ip: ip.into(),
            port: 5000,
        };
        node.handle(1_000, Input::Accepted { conn, peer });
        node.handle(
            1_000,
            Input::Data {
                conn,
                bytes: line.to_vec(),
            },
        );
        std::iter::from_fn(|| node.poll_output())
            .filter(|o| !matches!(o, Output::Event(_)))
            .collect()
    }

    fn sent(text: &str) -> Output {
        Output::Send {
            conn: ConnId::In(1),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn sleep_pauses_the_node_before_its_reply() {
        let out = outputs(ProtectedAction::Yes, "10.0.0.1", b"DEBUG SLEEP 0.25\r\n");
        assert_eq!(out, [Output::Pause { micros: 250_000 }, sent("+OK\r\n")]);
        // Inside MULTI, the whole EXEC's reply waits.
        let out = outputs(
            ProtectedAction::Yes,
            "127.0.0.1",
            b"MULTI\r\nDEBUG SLEEP 1\r\nPING\r\nEXEC\r\n",
        );
        assert_eq!(
            out,
            [
                sent("+OK\r\n+QUEUED\r\n+QUEUED\r\n"),
                Output::Pause { micros: 1_000_000 },
                sent("*2\r\n+OK\r\n+PONG\r\n"),
            ]
        );
    }

    #[test]
    fn enable_debug_command_decides_who_may_run_it() {
        let refused = sent(&format!(
            "-{}\r\n",
            match refusal() {
                Reply::Error(e) => e,
                _ => unreachable!(),
            }
        ));
        let ok = sent("+OK\r\n");
        let line = b"DEBUG SET-ACTIVE-EXPIRE 1\r\n";
        assert_eq!(
            outputs(ProtectedAction::No, "127.0.0.1", line),
            std::slice::from_ref(&refused)
        );
        assert_eq!(
            outputs(ProtectedAction::Local, "::1", line),
            std::slice::from_ref(&ok)
        );
        assert_eq!(outputs(ProtectedAction::Local, "10.0.0.1", line), [refused]);
        assert_eq!(outputs(ProtectedAction::Yes, "10.0.0.1", line), [ok]);
    }

    #[test]
    fn c_number_parsers_read_prefixes() {
        assert_eq!(strtod(b"1.5"), 1.5);
        assert_eq!(strtod(b"0.25s"), 0.25);
        assert_eq!(strtod(b"abc"), 0.0);
        assert_eq!(strtod(b" 2"), 2.0);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"0"), 0);
        assert_eq!(atoi(b"-3x"), -3);
        assert_eq!(atoi(b"yes"), 0);
    }
}
