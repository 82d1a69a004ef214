//! `CONFIG REWRITE`: the configuration as the lines Redis writes to its file (`rewriteConfig`:
//! memory sizes in `mb`/`kb`/`gb`, strings quoted, one `save` and one
//! `client-output-buffer-limit` line per entry, `replicaof host port`). The node renders the
//! lines; the driver, which knows the file, merges them into it ([`Output::RewriteConfig`])
//! and says how it went ([`Input::RewriteDone`]), and only then does the client get its
//! answer. A node started without a file answers Redis's error at once.
//!
//! [`Output::RewriteConfig`]: super::node::Output::RewriteConfig
//! [`Input::RewriteDone`]: super::node::Input::RewriteDone

use super::config::{Config, OutputBufferLimit};
use super::event::LogLevel;
use super::inert;
use super::node::{ConnId, Node, Output};
use super::resp::Reply;

/// One directive of the rewritten file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigLine {
    /// The canonical option name: the driver replaces the file's lines for it.
    pub name: String,
    /// The whole line, e.g. `repl-backlog-size 1mb`.
    pub line: String,
    /// Its value is Redis's default: written only where the file already has the option.
    pub default: bool,
}

/// Options whose value is a memory size (`rewriteConfigBytesOption`).
const MEMORY_OPTIONS: &[&str] = &[
    "repl-backlog-size",
    "client-query-buffer-limit",
    "maxmemory",
    "proto-max-bulk-len",
];

/// Options whose value is a free string, written quoted (`rewriteConfigStringOption`).
const STRING_OPTIONS: &[&str] = &[
    "dir",
    "dbfilename",
    "masterauth",
    "requirepass",
    "replica-announce-ip",
    "pidfile",
    "logfile",
    "unixsocket",
    "appendfilename",
    "appenddirname",
    "notify-keyspace-events",
];

/// `rewriteConfigFormatMemory`: the largest unit that divides the size exactly.
fn format_memory(bytes: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if bytes != 0 && bytes.is_multiple_of(GB) {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes.is_multiple_of(MB) {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes.is_multiple_of(KB) {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// `sdscatrepr`: a double-quoted string with C escapes.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The lines of a configuration, in option order; `replicaof` when the node follows a master.
pub fn rewrite_lines(cfg: &Config, replicaof: Option<(&str, u16)>) -> Vec<ConfigLine> {
    let defaults = Config {
        repl_backlog_model: cfg.repl_backlog_model,
        ..Config::default()
    };
    let mut lines = Vec::new();
    let mut add = |name: &str, line: String, default: bool| {
        lines.push(ConfigLine {
            name: name.to_string(),
            line,
            default,
        })
    };
    let names = Config::option_names().chain(inert::names().map(|(n, _)| n));
    for name in names {
        let (Some(value), Some(default)) = (cfg.get(name), defaults.get(name)) else {
            continue;
        };
        let is_default = value == default;
        match name {
            "save" => {
                if cfg.save.is_empty() {
                    add(name, "save \"\"".into(), is_default);
                }
                for (secs, changes) in &cfg.save {
                    add(name, format!("save {secs} {changes}"), is_default);
                }
            }
            "client-output-buffer-limit" => {
                let classes: [(&str, OutputBufferLimit, OutputBufferLimit); 2] = [
                    (
                        "normal",
                        cfg.client_output_buffer_limit_normal,
                        defaults.client_output_buffer_limit_normal,
                    ),
                    (
                        "replica",
                        cfg.client_output_buffer_limit_replica,
                        defaults.client_output_buffer_limit_replica,
                    ),
                ];
                for (class, limit, default) in classes {
                    add(
                        name,
                        format!(
                            "{name} {class} {} {} {}",
                            format_memory(limit.hard),
                            format_memory(limit.soft),
                            limit.soft_seconds
                        ),
                        limit == default,
                    );
                }
            }
            _ if MEMORY_OPTIONS.contains(&name) => {
                let bytes = value.parse().unwrap_or(0);
                add(name, format!("{name} {}", format_memory(bytes)), is_default);
            }
            _ if STRING_OPTIONS.contains(&name) => {
                add(name, format!("{name} {}", quoted(&value)), is_default);
            }
            _ => add(name, format!("{name} {value}"), is_default),
        }
    }
    if let Some((host, port)) = replicaof {
        add("replicaof", format!("replicaof {host} {port}"), false);
    }
    lines
}

impl Node {
    /// `CONFIG REWRITE`: `None` while the driver writes the file.
    pub(crate) fn config_rewrite(&mut self, conn: ConnId) -> Option<Reply> {
        if !self.config_file {
            return Some(Reply::error(
                "ERR The server is running without a config file",
            ));
        }
        let replicaof = self.replica.master_addr().map(|(h, p)| (h.to_string(), p));
        let lines = rewrite_lines(&self.cfg, replicaof.as_ref().map(|(h, p)| (h.as_str(), *p)));
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_driver = true;
        }
        self.rewriting.push_back(conn);
        self.out.push(Output::RewriteConfig { lines });
        None
    }

    /// The driver rewrote the file (`None`) or could not (the reason).
    pub(crate) fn config_rewritten(&mut self, error: Option<String>) {
        let Some(conn) = self.rewriting.pop_front() else {
            return;
        };
        let reply = match error {
            None => {
                self.log(LogLevel::Notice, "CONFIG REWRITE executed with success.");
                Reply::ok()
            }
            Some(why) => {
                self.log(LogLevel::Warning, format!("CONFIG REWRITE failed: {why}"));
                Reply::error(format!("ERR Rewriting config file: {why}"))
            }
        };
        if let Some(c) = self.clients.get_mut(&conn) {
            c.awaiting_driver = false;
            self.reply(conn, &reply);
            self.resume_client(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_as_redis_writes_them() {
        let mut cfg = Config::default();
        cfg.set("repl-backlog-size", "100mb").unwrap();
        cfg.set("save", "3600 1 300 100").unwrap();
        cfg.set("dir", "/tmp/a b").unwrap();
        cfg.set("loglevel", "verbose").unwrap();
        let lines = rewrite_lines(&cfg, Some(("127.0.0.1", 6379)));
        let text: Vec<&str> = lines.iter().map(|l| l.line.as_str()).collect();
        for want in [
            "repl-backlog-size 100mb",
            "save 3600 1",
            "save 300 100",
            "dir \"/tmp/a b\"",
            "loglevel verbose",
            "replicaof 127.0.0.1 6379",
            "client-output-buffer-limit replica 256mb 64mb 60",
            "port 6379",
        ] {
            assert!(text.contains(&want), "{want} not in {text:?}");
        }
        let port = lines.iter().find(|l| l.name == "port").unwrap();
        assert!(port.default);
        let backlog = lines
            .iter()
            .find(|l| l.name == "repl-backlog-size")
            .unwrap();
        assert!(!backlog.default);
        cfg.set("save", "").unwrap();
        let lines = rewrite_lines(&cfg, None);
        assert!(lines.iter().any(|l| l.line == "save \"\"" && !l.default));
        assert_eq!(format_memory(1536), "1536");
        assert_eq!(format_memory(3 * 1024), "3kb");
        assert_eq!(format_memory(0), "0");
    }
}
