//! Command-line options of `replscope server`, named and written as redis-server's own:
//! `--port 6380 --replicaof 127.0.0.1 6379 --repl-backlog-size 1mb`. Every option the engine's
//! [`Config`] knows is accepted; anything else is refused with Redis's wording and exit code 1.

use crate::engine::backlog::BacklogModel;
use crate::engine::config::Config;

/// Parsed options.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The addresses to listen on (`--bind 127.0.0.1 ::1`), at least one.
    pub bind: Vec<String>,
    pub config: Config,
    pub replicaof: Option<(String, u16)>,
}

/// At most this many `--bind` addresses (`CONFIG_BINDADDR_MAX`).
const BIND_ADDRESSES_MAX: usize = 16;

/// What `replscope server --help` prints, in the shape of redis-server's usage.
pub const USAGE: &str = "Usage: replscope server [options]
       replscope server -v or --version
       replscope server -h or --help

Options are redis-server's, written --name value (the replication options, --port, --bind,
--requirepass, --masterauth, --dir, --dbfilename, --save, --maxclients, --timeout,
--protected-mode, --client-output-buffer-limit, --client-query-buffer-limit, ...).

Examples:
       replscope server --port 7777
       replscope server --port 7777 --replicaof 127.0.0.1 8888
       replscope server --bind 127.0.0.1 ::1 --requirepass secret
";

/// Parses `--name value...` pairs.
pub fn parse(args: &[String]) -> Result<ServerOptions, String> {
    let mut opts = ServerOptions {
        bind: vec!["127.0.0.1".into()],
        // The native server behaves like Redis 7.0 by default: the block-list backlog.
        config: Config {
            repl_backlog_model: BacklogModel::Blocks,
            ..Config::default()
        },
        replicaof: None,
    };
    let mut i = 0;
    while i < args.len() {
        let Some(name) = args[i].strip_prefix("--") else {
            return Err(format!(
                ">>> '{}'\nBad directive or wrong number of arguments (options start with --)",
                args[i]
            ));
        };
        let values: Vec<&String> = args[i + 1..]
            .iter()
            .take_while(|a| !a.starts_with("--"))
            .collect();
        i += 1 + values.len();
        let bad = |why: &str| format!(">>> '{} {}'\n{why}", name, join(&values));
        match name.to_ascii_lowercase().as_str() {
            "bind" => {
                if values.is_empty() {
                    return Err(bad("wrong number of arguments"));
                }
                if values.len() > BIND_ADDRESSES_MAX {
                    return Err(bad("Too many bind addresses specified."));
                }
                opts.bind = values.iter().map(|a| a.to_string()).collect();
            }
            "replicaof" | "slaveof" => match values.as_slice() {
                [host, port] => {
                    let port = port
                        .parse::<u16>()
                        .map_err(|_| bad("Invalid master port"))?;
                    opts.replicaof = Some((host.to_string(), port));
                }
                _ => return Err(bad("wrong number of arguments")),
            },
            _ => {
                if values.is_empty() {
                    return Err(bad("wrong number of arguments"));
                }
                opts.config
                    .set(name, &join(&values))
                    .map_err(|e| bad(&config_error(&e.reply_text())))?;
            }
        }
    }
    Ok(opts)
}

fn join(values: &[&String]) -> String {
    values
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Turns a CONFIG SET error text into redis-server's startup wording.
fn config_error(reply: &str) -> String {
    if reply.starts_with("ERR Unknown option") {
        "Bad directive or wrong number of arguments".into()
    } else {
        reply
            .split_once(" - ")
            .map_or(reply.to_string(), |(_, why)| why.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn redis_style_options() {
        let o = parse(&args(
            "--port 6390 --replicaof 127.0.0.1 6379 --repl-backlog-size 32kb --repl-diskless-sync no",
        ))
        .unwrap();
        assert_eq!(o.config.port, 6390);
        assert_eq!(o.replicaof, Some(("127.0.0.1".into(), 6379)));
        assert_eq!(o.config.repl_backlog_size, 32768);
        assert!(!o.config.repl_diskless_sync);
        assert_eq!(o.bind, ["127.0.0.1"]);
        let o = parse(&args("--bind 127.0.0.1 ::1 --port 1")).unwrap();
        assert_eq!(o.bind, ["127.0.0.1", "::1"]);
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        let e = parse(&args("--no-such-thing 1")).unwrap_err();
        assert!(e.contains("Bad directive"), "{e}");
        let e = parse(&args("--port")).unwrap_err();
        assert!(e.contains("wrong number of arguments"), "{e}");
        let e = parse(&args("--repl-timeout zero")).unwrap_err();
        assert!(
            e.contains("argument couldn't be parsed into an integer"),
            "{e}"
        );
        let e = parse(&args("port 1")).unwrap_err();
        assert!(e.contains("options start with --"), "{e}");
        let e = parse(&args("--replicaof host notaport")).unwrap_err();
        assert!(e.contains("Invalid master port"), "{e}");
    }
}
