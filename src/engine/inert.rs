//! Redis 7.0 options that replscope accepts, validates and reports (`CONFIG GET`, a config
//! file, `--name value`) but that change nothing it simulates: logging, AOF, the event loop's
//! frequency, Lua limits. A Redis configuration file or a test harness sets them routinely;
//! refusing them would refuse the whole file. Each keeps Redis's default, range and error
//! text, so `CONFIG SET hz abc` answers exactly as redis-server does.

/// How a value is checked (config.c's types).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    /// An integer within `[min, max]`.
    Int(i64, i64),
    /// One of these words (case-insensitive; stored lower-case).
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// An octal number up to this (`OCTAL_CONFIG`: file permissions).
    Octal(u32),
}

const INT_MAX: i64 = i32::MAX as i64;

/// (name, alias, Redis's default, kind). Only options some configuration or client of ours
/// sets are listed; everything else stays "Bad directive" / "Unknown option", as it would
/// on a Redis build without it.
const INERT: &[(&str, Option<&str>, &str, Kind)] = &[
    ("always-show-logo", None, "no", Kind::Bool),
    ("daemonize", None, "no", Kind::Bool),
    ("pidfile", None, "", Kind::Str),
    ("logfile", None, "", Kind::Str),
    (
        "loglevel",
        None,
        "notice",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
    ),
    ("notify-keyspace-events", None, "", Kind::Str),
    (
        "latency-monitor-threshold",
        None,
        "0",
        Kind::Int(0, i64::MAX),
    ),
    ("rdbchecksum", None, "yes", Kind::Bool),
    ("appendonly", None, "no", Kind::Bool),
    ("appendfilename", None, "appendonly.aof", Kind::Str),
    ("appenddirname", None, "appendonlydir", Kind::Str),
    (
        "appendfsync",
        None,
        "everysec",
        Kind::Enum(&["always", "everysec", "no"]),
    ),
    ("no-appendfsync-on-rewrite", None, "no", Kind::Bool),
    ("activerehashing", None, "yes", Kind::Bool),
    (
        "enable-protected-configs",
        None,
        "no",
        Kind::Enum(&["no", "yes", "local"]),
    ),
    (
        "enable-module-command",
        None,
        "no",
        Kind::Enum(&["no", "yes", "local"]),
    ),
    (
        "propagation-error-behavior",
        None,
        "ignore",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
    ),
    ("shutdown-timeout", None, "10", Kind::Int(0, INT_MAX)),
    ("hz", None, "10", Kind::Int(0, INT_MAX)),
    ("dynamic-hz", None, "yes", Kind::Bool),
    (
        "busy-reply-threshold",
        Some("lua-time-limit"),
        "5000",
        Kind::Int(0, i64::MAX),
    ),
    ("watchdog-period", None, "0", Kind::Int(0, INT_MAX)),
    (
        "loading-process-events-interval-bytes",
        None,
        "2097152",
        Kind::Int(1024, INT_MAX),
    ),
    ("unixsocket", None, "", Kind::Str),
    ("unixsocketperm", None, "0", Kind::Octal(0o777)),
    ("set-proc-title", None, "yes", Kind::Bool),
    ("crash-log-enabled", None, "yes", Kind::Bool),
    ("crash-memcheck-enabled", None, "yes", Kind::Bool),
    ("rdb-del-sync-files", None, "no", Kind::Bool),
    ("lazyfree-lazy-eviction", None, "no", Kind::Bool),
    ("lazyfree-lazy-server-del", None, "no", Kind::Bool),
    ("lazyfree-lazy-user-del", None, "no", Kind::Bool),
    ("lazyfree-lazy-user-flush", None, "no", Kind::Bool),
    (
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        "no",
        Kind::Bool,
    ),
    ("tcp-keepalive", None, "300", Kind::Int(0, INT_MAX)),
    ("tcp-backlog", None, "511", Kind::Int(0, INT_MAX)),
    ("io-threads", None, "1", Kind::Int(1, 128)),
    ("repl-disable-tcp-nodelay", None, "no", Kind::Bool),
    ("active-expire-effort", None, "1", Kind::Int(1, 10)),
    (
        "slowlog-log-slower-than",
        None,
        "10000",
        Kind::Int(-1, i64::MAX),
    ),
    ("slowlog-max-len", None, "128", Kind::Int(0, i64::MAX)),
    (
        "oom-score-adj",
        None,
        "no",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
    ),
    ("jemalloc-bg-thread", None, "yes", Kind::Bool),
    (
        "supervised",
        None,
        "no",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
    ),
    ("syslog-enabled", None, "no", Kind::Bool),
];

/// Options Redis marks `IMMUTABLE_CONFIG`: settable at startup only.
const IMMUTABLE: &[&str] = &[
    "always-show-logo",
    "daemonize",
    "pidfile",
    "logfile",
    "unixsocket",
    "unixsocketperm",
    "enable-protected-configs",
    "enable-module-command",
    "io-threads",
    "supervised",
    "syslog-enabled",
    "set-proc-title",
    "tcp-backlog",
    "appendfilename",
    "appenddirname",
];

/// Whether `CONFIG SET` must refuse this option ("can't set immutable config").
pub fn is_immutable(canonical: &str) -> bool {
    IMMUTABLE.contains(&canonical)
}

/// The canonical name of an inert option or its alias (case-insensitive).
pub fn canonical(name: &str) -> Option<&'static str> {
    INERT.iter().find_map(|(n, alias, _, _)| {
        (n.eq_ignore_ascii_case(name) || alias.is_some_and(|a| a.eq_ignore_ascii_case(name)))
            .then_some(*n)
    })
}

/// Every inert option with its alias, in listing order (for `CONFIG GET` globs).
pub fn names() -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
    INERT.iter().map(|(n, a, _, _)| (*n, *a))
}

/// Redis's default for an inert option (by canonical name).
pub fn default_of(canonical: &str) -> &'static str {
    INERT
        .iter()
        .find(|(n, ..)| *n == canonical)
        .map_or("", |(_, _, d, _)| d)
}

/// Checks `value` for an inert option and returns it as `CONFIG GET` will print it, or the
/// reason Redis gives for refusing it.
pub fn validate(canonical: &str, value: &str) -> Result<String, String> {
    let kind = INERT
        .iter()
        .find(|(n, ..)| *n == canonical)
        .map(|(_, _, _, k)| *k)
        .unwrap_or(Kind::Str);
    match kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" | "no" => Ok(value.to_ascii_lowercase()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n: i128 = value
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min as i128 || n > max as i128 {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Enum(words) => {
            let v = value.to_ascii_lowercase();
            if words.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                ))
            }
        }
        Kind::Str => Ok(value.to_string()),
        Kind::Octal(max) => match u32::from_str_radix(value, 8) {
            Ok(n) if n <= max => Ok(format!("{n:o}")),
            Ok(_) => Err(format!("argument must be between 0 and {max:o} inclusive")),
            Err(_) => Err("argument couldn't be parsed into an integer".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_as_redis_checks_them() {
        assert_eq!(validate("hz", "100").unwrap(), "100");
        assert_eq!(
            validate("hz", "abc").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(validate("dynamic-hz", "YES").unwrap(), "yes");
        assert!(validate("dynamic-hz", "maybe").is_err());
        assert_eq!(
            validate("loglevel", "loud").unwrap_err(),
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        assert_eq!(canonical("LUA-time-limit"), Some("busy-reply-threshold"));
        assert_eq!(default_of("shutdown-timeout"), "10");
        assert_eq!(validate("unixsocketperm", "700").unwrap(), "700");
        assert!(validate("unixsocketperm", "800").is_err());
    }
}
