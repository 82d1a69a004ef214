//! The node's configuration: the replication parameters a student can change with
//! `CONFIG SET` (and the native server takes as `--name value`), with Redis 7.0's names,
//! aliases, defaults, ranges and error texts (config.c).

use serde::{Deserialize, Serialize};

use super::backlog::{BacklogModel, MIN_SIZE as BACKLOG_MIN_SIZE};
use super::commands::glob_match;
use super::inert;
use super::resp::PROTO_MAX_BULK_LEN;

/// Limits of one `client-output-buffer-limit` class (hard bytes, soft bytes, soft seconds; 0
/// disables a limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputBufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// `repl-diskless-load` (`REPL_DISKLESS_LOAD_*`): a replica writes a full sync's RDB to disk
/// and loads the file (`disabled`), or parses it straight from the socket: only into an empty
/// dataset (`on-empty-db`), or into a temporary one swapped in at the end (`swapdb`), which
/// keeps the old data for a failed sync and, when the master's replication ID is the
/// replica's own, keeps serving it meanwhile (async loading).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisklessLoad {
    #[default]
    Disabled,
    OnEmptyDb,
    Swapdb,
}

impl DisklessLoad {
    pub fn name(self) -> &'static str {
        match self {
            DisklessLoad::Disabled => "disabled",
            DisklessLoad::OnEmptyDb => "on-empty-db",
            DisklessLoad::Swapdb => "swapdb",
        }
    }
}

/// All settings the engine reads. Field names follow the Redis option names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub port: u16,
    pub repl_backlog_size: u64,
    pub repl_backlog_ttl: u64,
    /// replscope's own option: `ring` (the article's circular buffer) or `blocks` (Redis 7.0).
    pub repl_backlog_model: BacklogModel,
    pub repl_ping_replica_period: u64,
    pub repl_timeout: u64,
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u64,
    pub repl_diskless_sync_max_replicas: u64,
    /// `rdbcompression`: snapshots LZF-compress long strings.
    #[serde(default = "yes")]
    pub rdbcompression: bool,
    /// `repl-diskless-load`: how a replica loads a full sync's RDB.
    #[serde(default)]
    pub repl_diskless_load: DisklessLoad,
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub replica_priority: u64,
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
    pub masterauth: Option<String>,
    pub requirepass: Option<String>,
    pub lazyfree_lazy_expire: bool,
    pub client_output_buffer_limit_replica: OutputBufferLimit,
    /// `client-output-buffer-limit normal`: none by default, as in Redis.
    pub client_output_buffer_limit_normal: OutputBufferLimit,
    /// `client-query-buffer-limit`: a client whose unparsed input passes it is closed.
    pub client_query_buffer_limit: u64,
    /// `maxclients`: connections beyond it get `-ERR max number of clients reached`.
    pub maxclients: u64,
    /// `timeout`: seconds a normal client may stay idle (0: forever).
    pub timeout: u64,
    /// `protected-mode`: without a password, only loopback clients are served.
    pub protected_mode: bool,
    /// `stop-writes-on-bgsave-error`: after a failed background save (with save points
    /// set), writes are refused with `-MISCONF` until a save succeeds.
    pub stop_writes_on_bgsave_error: bool,
    /// `save <seconds> <changes>` points; empty disables automatic snapshots.
    pub save: Vec<(u64, u64)>,
    /// Where snapshots go (used by the native server; the simulator keeps them in memory).
    pub dir: String,
    pub dbfilename: String,
    /// `maxmemory` in bytes (0: no limit); the policy is always `noeviction`.
    pub maxmemory: u64,
    /// `replica-ignore-maxmemory`: a replica applies its master's writes whatever it holds.
    pub replica_ignore_maxmemory: bool,
    /// `proto-max-bulk-len`: the largest bulk argument or string value.
    pub proto_max_bulk_len: u64,
    /// What the host running the node can hold (not a Redis option).
    pub caps: HostCaps,
    /// `enable-debug-command`: who may run DEBUG (set at startup only).
    #[serde(default)]
    pub enable_debug_command: ProtectedAction,
    /// `rdb-key-save-delay`: microseconds an RDB child sleeps after each key it writes
    /// (`debugDelay`: a negative `-n` sleeps 1 µs once in `n` keys). Tests use it to keep a
    /// BGSAVE or a full sync in progress.
    #[serde(default)]
    pub rdb_key_save_delay: i64,
    /// `key-load-delay`: the same per key a replica loads from its master's RDB.
    #[serde(default)]
    pub key_load_delay: i64,
    /// Values given to options replscope accepts without acting on them ([`inert`]); those
    /// never set read as Redis's defaults.
    #[serde(default)]
    pub inert: std::collections::BTreeMap<String, String>,
}

/// Who may run a protected command (`enable-debug-command`, config.c's
/// `protected_action_enum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtectedAction {
    /// Nobody: Redis's default.
    #[default]
    No,
    Yes,
    /// Clients on a loopback address (`islocalClient`).
    Local,
}

impl ProtectedAction {
    fn name(self) -> &'static str {
        match self {
            ProtectedAction::No => "no",
            ProtectedAction::Yes => "yes",
            ProtectedAction::Local => "local",
        }
    }

    /// `allowProtectedAction` for a client connected from `ip`.
    pub fn allows(self, ip: &str) -> bool {
        match self {
            ProtectedAction::No => false,
            ProtectedAction::Yes => true,
            ProtectedAction::Local => ip == "127.0.0.1" || ip == "::1",
        }
    }
}

/// Upper bounds a host puts on options that decide how much memory a node may take: the
/// page gives each node a share of the tab's memory, so `CONFIG SET maxmemory 0` (no limit)
/// must be refused there, with Redis's range error and the range this host allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCaps {
    /// Largest `maxmemory` and `proto-max-bulk-len`, in bytes (`None`: Redis's own ranges).
    pub memory: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            repl_backlog_model: BacklogModel::Blocks,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: DisklessLoad::Disabled,
            rdbcompression: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announce_ip: None,
            replica_announce_port: 0,
            masterauth: None,
            requirepass: None,
            lazyfree_lazy_expire: false,
            client_output_buffer_limit_replica: OutputBufferLimit {
                hard: 256 * 1024 * 1024,
                soft: 64 * 1024 * 1024,
                soft_seconds: 60,
            },
            client_output_buffer_limit_normal: OutputBufferLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            timeout: 0,
            protected_mode: true,
            stop_writes_on_bgsave_error: true,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            maxmemory: 0,
            replica_ignore_maxmemory: true,
            proto_max_bulk_len: PROTO_MAX_BULK_LEN as u64,
            caps: HostCaps::default(),
            enable_debug_command: ProtectedAction::No,
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            inert: Default::default(),
        }
    }
}

/// Option names with their Redis aliases, in the order `CONFIG GET *` lists them.
const NAMES: &[(&str, Option<&str>)] = &[
    ("port", None),
    ("repl-backlog-size", None),
    ("repl-backlog-ttl", None),
    ("repl-backlog-model", None),
    ("repl-ping-replica-period", Some("repl-ping-slave-period")),
    ("repl-timeout", None),
    ("repl-diskless-sync", None),
    ("repl-diskless-sync-delay", None),
    ("repl-diskless-sync-max-replicas", None),
    ("repl-diskless-load", None),
    ("rdbcompression", None),
    ("min-replicas-to-write", Some("min-slaves-to-write")),
    ("min-replicas-max-lag", Some("min-slaves-max-lag")),
    ("replica-read-only", Some("slave-read-only")),
    ("replica-serve-stale-data", Some("slave-serve-stale-data")),
    ("replica-priority", Some("slave-priority")),
    ("replica-announce-ip", Some("slave-announce-ip")),
    ("replica-announce-port", Some("slave-announce-port")),
    ("masterauth", None),
    ("requirepass", None),
    ("lazyfree-lazy-expire", None),
    ("client-output-buffer-limit", None),
    ("client-query-buffer-limit", None),
    ("maxclients", None),
    ("timeout", None),
    ("protected-mode", None),
    ("stop-writes-on-bgsave-error", None),
    ("databases", None),
    ("save", None),
    ("dir", None),
    ("dbfilename", None),
    ("maxmemory", None),
    ("maxmemory-policy", None),
    ("replica-ignore-maxmemory", Some("slave-ignore-maxmemory")),
    ("proto-max-bulk-len", None),
    ("enable-debug-command", None),
    ("rdb-key-save-delay", None),
    ("key-load-delay", None),
];

/// Why a `CONFIG SET` failed; `reply_text` gives Redis's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    Invalid {
        name: String,
        reason: String,
    },
    /// Settable at startup only (`PROTECTED_CONFIG`, or a setting replscope cannot apply
    /// while running).
    Protected {
        name: String,
        reason: String,
    },
    /// A `DENY_LOADING_CONFIG` option while the node loads a dataset.
    Loading,
}

/// Options `CONFIG SET` refuses: Redis 7.0 marks `dir` and `dbfilename` `PROTECTED_CONFIG`
/// (`enable-protected-configs` defaults to `no`, and replscope has no way to change it).
const PROTECTED: &[&str] = &["dir", "dbfilename"];

/// Options Redis marks `DENY_LOADING_CONFIG`: `CONFIG SET` answers `-LOADING` for them while
/// a dataset loads, async loading included (`server.loading` is set then too).
const DENY_LOADING: &[&str] = &["appendonly", "repl-diskless-load", "dir"];

/// Options Redis marks `IMMUTABLE_CONFIG` among the engine's own.
const IMMUTABLE: &[&str] = &["databases", "enable-debug-command"];

/// Options Redis marks `HIDDEN_CONFIG`: `CONFIG GET` answers them by exact name only,
/// never for a glob.
const HIDDEN: &[&str] = &["rdb-key-save-delay", "key-load-delay"];

impl ConfigError {
    /// The error reply text, as config.c words it.
    pub fn reply_text(&self) -> String {
        match self {
            ConfigError::Unknown(name) => {
                format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
            }
            ConfigError::Invalid { name, reason } | ConfigError::Protected { name, reason } => {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
            }
            ConfigError::Loading => "LOADING Redis is loading the dataset in memory".into(),
        }
    }
}

/// Parses `save` points: `""` (none) or pairs of `<seconds> <changes>`.
fn parse_save_points(value: &str) -> Result<Vec<(u64, u64)>, String> {
    let words: Vec<&str> = value.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    words
        .chunks(2)
        .map(|p| match (p[0].parse::<u64>(), p[1].parse::<u64>()) {
            (Ok(s), Ok(c)) => Ok((s, c)),
            _ => Err("Invalid save parameters".into()),
        })
        .collect()
}

/// Parses a memory value like Redis's `memtoull`: `1mb` = 1048576, `1m` = 1000000.
pub fn parse_memory(value: &str) -> Option<u64> {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn parse_int(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: i128 = value
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    if n < min as i128 || n > max as i128 {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

/// An `int` option of Redis's full range (`INT_MIN`..`INT_MAX`).
fn signed_int(value: &str) -> Result<i64, String> {
    let n: i128 = value
        .parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
    let (min, max) = (i32::MIN, i32::MAX);
    if n < i128::from(min) || n > i128::from(max) {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as i64)
}

/// serde's default for options that default to `yes`.
fn yes() -> bool {
    true
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

const INT_MAX: u64 = i32::MAX as u64;
const LONG_MAX: u64 = i64::MAX as u64;
/// Smallest `client-query-buffer-limit` (config.c: 1mb).
const QUERY_BUFFER_LIMIT_MIN: u64 = 1024 * 1024;
/// The minimum of `proto-max-bulk-len` in Redis 7.0 (1 MB).
const PROTO_MAX_BULK_LEN_MIN: u64 = 1024 * 1024;
/// `maxmemory-policy` values Redis 7.0 knows; replscope implements the last one only.
const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

impl Config {
    /// Every option the engine itself acts on, by canonical name, in listing order.
    pub fn option_names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }

    /// The canonical name of any option the node accepts, inert ones included.
    pub fn canonical_any(name: &str) -> Option<&'static str> {
        Self::canonical(name).or_else(|| inert::canonical(name))
    }

    /// The canonical name for `name` or one of its aliases (case-insensitive).
    pub fn canonical(name: &str) -> Option<&'static str> {
        NAMES.iter().find_map(|(n, alias)| {
            (n.eq_ignore_ascii_case(name) || alias.is_some_and(|a| a.eq_ignore_ascii_case(name)))
                .then_some(*n)
        })
    }

    /// `CONFIG GET` for one or more patterns: (name, value) pairs without duplicates. As in
    /// Redis 7.0, a pattern without glob characters is answered under the name as given
    /// (an alias stays an alias, even in capitals), and a glob lists every matching name,
    /// aliases included.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |name: String, value: String| {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, value));
            }
        };
        for p in patterns {
            if !p.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                let name = String::from_utf8_lossy(p).into_owned();
                if let Some(value) = self.get(&name) {
                    add(name, value);
                }
                continue;
            }
            let listed = NAMES.iter().copied().filter(|(n, _)| !HIDDEN.contains(n));
            for (name, alias) in listed.chain(inert::names()) {
                for n in std::iter::once(name).chain(alias) {
                    if glob_match(p, n.as_bytes()) {
                        add(n.to_string(), self.get(name).unwrap_or_default());
                    }
                }
            }
        }
        out
    }

    /// The value of one option as `CONFIG GET` prints it.
    pub fn get(&self, name: &str) -> Option<String> {
        let Some(canonical) = Self::canonical(name) else {
            let canonical = inert::canonical(name)?;
            return Some(self.inert_value(canonical).to_string());
        };
        Some(match canonical {
            "port" => self.port.to_string(),
            "repl-backlog-size" => self.repl_backlog_size.to_string(),
            "repl-backlog-ttl" => self.repl_backlog_ttl.to_string(),
            "repl-backlog-model" => match self.repl_backlog_model {
                BacklogModel::Ring => "ring".into(),
                BacklogModel::Blocks => "blocks".into(),
            },
            "repl-ping-replica-period" => self.repl_ping_replica_period.to_string(),
            "repl-timeout" => self.repl_timeout.to_string(),
            "repl-diskless-sync" => yes_no(self.repl_diskless_sync),
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay.to_string(),
            "repl-diskless-sync-max-replicas" => self.repl_diskless_sync_max_replicas.to_string(),
            "repl-diskless-load" => self.repl_diskless_load.name().into(),
            "rdbcompression" => yes_no(self.rdbcompression),
            "min-replicas-to-write" => self.min_replicas_to_write.to_string(),
            "min-replicas-max-lag" => self.min_replicas_max_lag.to_string(),
            "replica-read-only" => yes_no(self.replica_read_only),
            "replica-serve-stale-data" => yes_no(self.replica_serve_stale_data),
            "replica-priority" => self.replica_priority.to_string(),
            "replica-announce-ip" => self.replica_announce_ip.clone().unwrap_or_default(),
            "replica-announce-port" => self.replica_announce_port.to_string(),
            "masterauth" => self.masterauth.clone().unwrap_or_default(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "lazyfree-lazy-expire" => yes_no(self.lazyfree_lazy_expire),
            "client-output-buffer-limit" => {
                let (n, l) = (
                    self.client_output_buffer_limit_normal,
                    self.client_output_buffer_limit_replica,
                );
                format!(
                    "normal {} {} {} slave {} {} {} pubsub 33554432 8388608 60",
                    n.hard, n.soft, n.soft_seconds, l.hard, l.soft, l.soft_seconds
                )
            }
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "protected-mode" => yes_no(self.protected_mode),
            "stop-writes-on-bgsave-error" => yes_no(self.stop_writes_on_bgsave_error),
            "databases" => "16".into(),
            "save" => self
                .save
                .iter()
                .map(|(s, c)| format!("{s} {c}"))
                .collect::<Vec<_>>()
                .join(" "),
            "dir" => self.dir.clone(),
            "dbfilename" => self.dbfilename.clone(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => "noeviction".into(),
            "replica-ignore-maxmemory" => yes_no(self.replica_ignore_maxmemory),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "enable-debug-command" => self.enable_debug_command.name().into(),
            "rdb-key-save-delay" => self.rdb_key_save_delay.to_string(),
            "key-load-delay" => self.key_load_delay.to_string(),
            _ => return None,
        })
    }

    /// The first pass of `CONFIG SET` (`configSetCommand`): the names alone, in order, before
    /// any value is parsed. The first name refused (unknown, immutable, protected, repeated,
    /// or a `DENY_LOADING_CONFIG` option while `loading`) is the error, whatever the values.
    pub fn check_names(&self, names: &[String], loading: bool) -> Result<(), ConfigError> {
        // Redis keeps a separate entry per alias: a name and its alias are not a repeat.
        let mut seen: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let c = Self::canonical_any(name).ok_or_else(|| ConfigError::Unknown(name.clone()))?;
            let refusal = |reason: &str| ConfigError::Protected {
                name: name.clone(),
                reason: reason.into(),
            };
            if IMMUTABLE.contains(&c) || inert::is_immutable(c) {
                return Err(refusal("can't set immutable config"));
            }
            if PROTECTED.contains(&c) && self.inert_value("enable-protected-configs") != "yes" {
                return Err(refusal("can't set protected config"));
            }
            if loading && DENY_LOADING.contains(&c) {
                return Err(ConfigError::Loading);
            }
            let key = name.to_ascii_lowercase();
            if seen.contains(&key) {
                return Err(ConfigError::Invalid {
                    name: name.clone(),
                    reason: "duplicate parameter".into(),
                });
            }
            seen.push(key);
        }
        Ok(())
    }

    /// `CONFIG SET name value`: like [`Config::set`], but protected options are refused
    /// with Redis's error.
    pub fn set_at_runtime(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        if let Some(canonical) = inert::canonical(name)
            .filter(|c| inert::is_immutable(c))
            .or_else(|| Self::canonical(name).filter(|c| IMMUTABLE.contains(c)))
        {
            return Err(ConfigError::Protected {
                name: canonical.to_string(),
                reason: "can't set immutable config".into(),
            });
        }
        let canonical = Self::canonical(name)
            .or_else(|| inert::canonical(name))
            .ok_or_else(|| ConfigError::Unknown(name.into()))?;
        if PROTECTED.contains(&canonical) && self.inert_value("enable-protected-configs") != "yes" {
            return Err(ConfigError::Protected {
                name: name.to_string(),
                reason: "can't set protected config".into(),
            });
        }
        self.set(name, value)
    }

    /// Sets one option (`--name value` on the command line; `CONFIG SET` goes through
    /// [`Config::set_at_runtime`]).
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let Some(canonical) = Self::canonical(name) else {
            let canonical =
                inert::canonical(name).ok_or_else(|| ConfigError::Unknown(name.into()))?;
            let value =
                inert::validate(canonical, value).map_err(|reason| ConfigError::Invalid {
                    name: canonical.to_string(),
                    reason,
                })?;
            self.inert.insert(canonical.to_string(), value);
            return Ok(());
        };
        let invalid = |reason: String| ConfigError::Invalid {
            name: canonical.to_string(),
            reason,
        };
        let int = |min, max| parse_int(value, min, max).map_err(invalid);
        match canonical {
            "port" => self.port = int(0, 65535)? as u16,
            "repl-backlog-size" => {
                let bytes = parse_memory(value)
                    .filter(|&b| b >= 1)
                    .ok_or_else(|| invalid("argument must be a memory value".into()))?;
                // resizeReplicationBacklog: never below CONFIG_REPL_BACKLOG_MIN_SIZE.
                self.repl_backlog_size = bytes.max(BACKLOG_MIN_SIZE as u64);
            }
            "repl-backlog-ttl" => self.repl_backlog_ttl = int(0, i64::MAX as u64)?,
            "repl-backlog-model" => {
                self.repl_backlog_model = match value.to_ascii_lowercase().as_str() {
                    "ring" => BacklogModel::Ring,
                    "blocks" => BacklogModel::Blocks,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: ring, blocks".into(),
                        ))
                    }
                }
            }
            "repl-ping-replica-period" => self.repl_ping_replica_period = int(1, INT_MAX)?,
            "repl-timeout" => self.repl_timeout = int(1, INT_MAX)?,
            "repl-diskless-sync" => self.repl_diskless_sync = parse_bool(value).map_err(invalid)?,
            "repl-diskless-sync-delay" => self.repl_diskless_sync_delay = int(0, INT_MAX)?,
            "repl-diskless-sync-max-replicas" => {
                self.repl_diskless_sync_max_replicas = int(0, INT_MAX)?
            }
            "rdbcompression" => self.rdbcompression = parse_bool(value).map_err(invalid)?,
            "repl-diskless-load" => {
                self.repl_diskless_load = match value.to_ascii_lowercase().as_str() {
                    "disabled" => DisklessLoad::Disabled,
                    "on-empty-db" => DisklessLoad::OnEmptyDb,
                    "swapdb" => DisklessLoad::Swapdb,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: disabled, on-empty-db, swapdb"
                                .into(),
                        ))
                    }
                }
            }
            "min-replicas-to-write" => self.min_replicas_to_write = int(0, INT_MAX)?,
            "min-replicas-max-lag" => self.min_replicas_max_lag = int(0, INT_MAX)?,
            "replica-read-only" => self.replica_read_only = parse_bool(value).map_err(invalid)?,
            "replica-serve-stale-data" => {
                self.replica_serve_stale_data = parse_bool(value).map_err(invalid)?
            }
            "replica-priority" => self.replica_priority = int(0, INT_MAX)?,
            "replica-announce-ip" => {
                self.replica_announce_ip = (!value.is_empty()).then(|| value.to_string())
            }
            "replica-announce-port" => self.replica_announce_port = int(0, 65535)? as u16,
            "masterauth" => self.masterauth = (!value.is_empty()).then(|| value.to_string()),
            "requirepass" => self.requirepass = (!value.is_empty()).then(|| value.to_string()),
            "lazyfree-lazy-expire" => {
                self.lazyfree_lazy_expire = parse_bool(value).map_err(invalid)?
            }
            "client-output-buffer-limit" => self.set_output_buffer_limit(value).map_err(invalid)?,
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit = parse_memory(value)
                    .filter(|b| (QUERY_BUFFER_LIMIT_MIN..=LONG_MAX).contains(b))
                    .ok_or_else(|| {
                        invalid(format!(
                            "argument must be between {QUERY_BUFFER_LIMIT_MIN} and {LONG_MAX} inclusive"
                        ))
                    })?
            }
            "maxclients" => self.maxclients = int(1, u64::from(u32::MAX))?,
            "timeout" => self.timeout = int(0, INT_MAX)?,
            "protected-mode" => self.protected_mode = parse_bool(value).map_err(invalid)?,
            "stop-writes-on-bgsave-error" => {
                self.stop_writes_on_bgsave_error = parse_bool(value).map_err(invalid)?
            }
            "save" => self.save = parse_save_points(value).map_err(invalid)?,
            "dir" => self.dir = value.to_string(),
            "dbfilename" => {
                if value.contains('/') {
                    return Err(invalid(
                        "dbfilename can't be a path, just a filename".into(),
                    ));
                }
                self.dbfilename = value.to_string()
            }
            // Every node has Redis's default 16 databases; a configuration file that says so
            // is accepted, and a different number refused rather than silently ignored.
            "databases" => {
                if int(1, INT_MAX)? != 16 {
                    return Err(invalid("replscope nodes have 16 databases".into()));
                }
            }
            "maxmemory" => self.maxmemory = self.memory_value(value, 0).map_err(invalid)?,
            "maxmemory-policy" => {
                if !MAXMEMORY_POLICIES
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(value))
                {
                    return Err(invalid(format!(
                        "argument(s) must be one of the following: {}",
                        MAXMEMORY_POLICIES.join(", ")
                    )));
                }
                if !value.eq_ignore_ascii_case("noeviction") {
                    return Err(invalid(
                        "replscope only implements maxmemory-policy noeviction".into(),
                    ));
                }
            }
            "replica-ignore-maxmemory" => {
                self.replica_ignore_maxmemory = parse_bool(value).map_err(invalid)?
            }
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len = self
                    .memory_value(value, PROTO_MAX_BULK_LEN_MIN)
                    .map_err(invalid)?
            }
            "enable-debug-command" => {
                self.enable_debug_command = match value.to_ascii_lowercase().as_str() {
                    "no" => ProtectedAction::No,
                    "yes" => ProtectedAction::Yes,
                    "local" => ProtectedAction::Local,
                    _ => {
                        return Err(invalid(
                            "argument(s) must be one of the following: no, yes, local".into(),
                        ))
                    }
                }
            }
            "rdb-key-save-delay" => self.rdb_key_save_delay = signed_int(value).map_err(invalid)?,
            "key-load-delay" => self.key_load_delay = signed_int(value).map_err(invalid)?,
            _ => return Err(ConfigError::Unknown(name.into())),
        }
        Ok(())
    }

    /// The value of an inert option (its default when never set).
    pub fn inert_value(&self, canonical: &str) -> &str {
        self.inert
            .get(canonical)
            .map_or_else(|| inert::default_of(canonical), String::as_str)
    }

    /// A memory option's value, at least `min` and within Redis's range (`LLONG_MAX`) and the
    /// host's cap (where 0, Redis's "no limit", is out of range too).
    fn memory_value(&self, value: &str, min: u64) -> Result<u64, String> {
        let bytes = parse_memory(value).ok_or("argument must be a memory value")?;
        let (min, max) = match self.caps.memory {
            Some(cap) => (min.max(1), cap),
            None => (min, i64::MAX as u64),
        };
        if bytes < min || bytes > max {
            return Err(format!(
                "argument must be between {min} and {max} inclusive"
            ));
        }
        Ok(bytes)
    }

    /// Parses `<class> <hard> <soft> <seconds>` groups; the pubsub class is accepted and
    /// ignored (replscope has no Pub/Sub).
    fn set_output_buffer_limit(&mut self, value: &str) -> Result<(), String> {
        let words: Vec<&str> = value.split_ascii_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        for group in words.chunks(4) {
            let class = group[0].to_ascii_lowercase();
            if !["normal", "replica", "slave", "pubsub"].contains(&class.as_str()) {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
            let (Some(hard), Some(soft), Ok(secs)) = (
                parse_memory(group[1]),
                parse_memory(group[2]),
                group[3].parse::<u64>(),
            ) else {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                );
            };
            let limit = OutputBufferLimit {
                hard,
                soft,
                soft_seconds: secs,
            };
            match class.as_str() {
                "replica" | "slave" => self.client_output_buffer_limit_replica = limit,
                "normal" => self.client_output_buffer_limit_normal = limit,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_like_memtoull() {
        assert_eq!(parse_memory("1mb"), Some(1048576));
        assert_eq!(parse_memory("1m"), Some(1000000));
        assert_eq!(parse_memory("16KB"), Some(16384));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("1xb"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn set_get_aliases_clamps_and_errors() {
        let mut c = Config::default();
        c.set("repl-backlog-size", "1").unwrap();
        assert_eq!(c.get("repl-backlog-size").unwrap(), "16384");
        c.set("REPL-PING-SLAVE-PERIOD", "3").unwrap();
        assert_eq!(c.get("repl-ping-replica-period").unwrap(), "3");
        assert_eq!(
            c.set("repl-timeout", "0").unwrap_err().reply_text(),
            "ERR CONFIG SET failed (possibly related to argument 'repl-timeout') - argument must be between 1 and 2147483647 inclusive"
        );
        assert_eq!(
            c.set("replica-read-only", "maybe").unwrap_err().reply_text(),
            "ERR CONFIG SET failed (possibly related to argument 'replica-read-only') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            c.set("nope", "1").unwrap_err().reply_text(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'"
        );
        c.set("client-output-buffer-limit", "replica 1mb 512kb 10")
            .unwrap();
        assert_eq!(c.client_output_buffer_limit_replica.hard, 1048576);
    }

    #[test]
    fn protected_configs_are_set_at_startup_only() {
        let mut c = Config::default();
        assert_eq!(
            c.set_at_runtime("DIR", "/tmp").unwrap_err().reply_text(),
            "ERR CONFIG SET failed (possibly related to argument 'DIR') - can't set protected config"
        );
        assert!(c.set_at_runtime("dbfilename", "x.rdb").is_err());
        c.set("dir", "/tmp").unwrap();
        c.set_at_runtime("timeout", "5").unwrap();
        assert_eq!(c.get("timeout").unwrap(), "5");
        c.set("client-output-buffer-limit", "normal 1mb 512kb 10")
            .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit").unwrap(),
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert!(c.set("client-query-buffer-limit", "1kb").is_err());
    }

    #[test]
    fn config_get_globs() {
        let c = Config::default();
        let names: Vec<String> = c
            .get_matching(&[b"repl-diskless-*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "repl-diskless-sync",
                "repl-diskless-sync-delay",
                "repl-diskless-sync-max-replicas",
                "repl-diskless-load"
            ]
        );
        // Read off redis-server 7.0.15: an exact name is echoed as given, a glob lists
        // aliases too.
        assert_eq!(
            c.get_matching(&[b"MIN-SLAVES-TO-WRITE"]),
            [("MIN-SLAVES-TO-WRITE".to_string(), "0".to_string())]
        );
        let names: Vec<String> = c
            .get_matching(&[b"min-*"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "min-replicas-to-write",
                "min-slaves-to-write",
                "min-replicas-max-lag",
                "min-slaves-max-lag"
            ]
        );
    }
}
