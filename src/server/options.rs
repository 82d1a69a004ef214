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
    /// The configuration file it was started with (`CONFIG REWRITE` writes it back).
    pub config_file: Option<std::path::PathBuf>,
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

/// Parses redis-server's arguments: an optional configuration file (`-` reads standard
/// input) followed by `--name value...` pairs, which Redis appends to the file's text, so
/// they win over it.
pub fn parse(args: &[String]) -> Result<ServerOptions, String> {
    let mut opts = ServerOptions {
        bind: vec!["127.0.0.1".into()],
        // The native server behaves like Redis 7.0 by default: the block-list backlog.
        config: Config {
            repl_backlog_model: BacklogModel::Blocks,
            ..Config::default()
        },
        replicaof: None,
        config_file: None,
    };
    // (line number in the file, or 0 for the command line; the directive's words)
    let mut directives: Vec<(usize, Vec<String>)> = Vec::new();
    let flags = match args.first() {
        Some(path) if !path.starts_with('-') || path == "-" => {
            let text = read_config_file(path)?;
            if path != "-" {
                opts.config_file = Some(path.into());
            }
            for (n, line) in text.lines().enumerate() {
                let words = split_words(line).ok_or_else(|| {
                    format!(
                        "Reading the configuration file, at line {}\n>>> '{}'\nUnbalanced quotes in configuration line",
                        n + 1,
                        line.trim()
                    )
                })?;
                if words.first().is_some_and(|w| !w.starts_with('#')) {
                    directives.push((n + 1, words));
                }
            }
            &args[1..]
        }
        _ => args,
    };
    let mut i = 0;
    while i < flags.len() {
        let Some(name) = flags[i].strip_prefix("--") else {
            return Err(format!(
                ">>> '{}'\nBad directive or wrong number of arguments (options start with --)",
                flags[i]
            ));
        };
        let values = flags[i + 1..].iter().take_while(|a| !a.starts_with("--"));
        let mut words: Vec<String> = std::iter::once(name.to_string())
            .chain(values.cloned())
            .collect();
        i += words.len();
        // `--save` with nothing after it is `save ""` (no save points), as in redis-server.
        if words.len() == 1 && name.eq_ignore_ascii_case("save") {
            words.push(String::new());
        }
        directives.push((0, words));
    }
    // Several `save` lines add up, as in a Redis configuration file.
    let mut save_points: Option<Vec<String>> = None;
    for (line, words) in directives {
        let (name, values) = (&words[0], &words[1..]);
        let at = |why: String| match line {
            0 => why,
            n => format!("Reading the configuration file, at line {n}\n{why}"),
        };
        if name.eq_ignore_ascii_case("save") && values.len() == 1 && values[0].is_empty() {
            // `save ""` drops the points the lines before it set.
            save_points = Some(Vec::new());
            apply(&mut opts, name, &values.iter().collect::<Vec<_>>()).map_err(at)?;
        } else if name.eq_ignore_ascii_case("save") {
            let points = save_points.get_or_insert_with(Vec::new);
            points.extend(values.iter().cloned());
            let all: Vec<&String> = points.iter().collect();
            apply(&mut opts, name, &all).map_err(at)?;
        } else {
            apply(&mut opts, name, &values.iter().collect::<Vec<_>>()).map_err(at)?;
        }
    }
    Ok(opts)
}

/// A configuration line's words, split as Redis splits it (`sdssplitargs`).
fn split_words(line: &str) -> Option<Vec<String>> {
    let words = crate::engine::resp::split_args(line.as_bytes())?;
    Some(
        words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect(),
    )
}

/// The configuration file's text (`-`: standard input), or redis-server's fatal message.
fn read_config_file(path: &str) -> Result<String, String> {
    let bytes = if path == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    bytes
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("Fatal error, can't open config file '{path}': {e}"))
}

/// Applies one directive.
fn apply(opts: &mut ServerOptions, name: &str, values: &[&String]) -> Result<(), String> {
    let bad = |why: &str| format!(">>> '{} {}'\n{why}", name, join(values));
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
        "replicaof" | "slaveof" => match values {
            [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
                opts.replicaof = None;
            }
            [host, port] => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| bad("Invalid master port"))?;
                opts.replicaof = Some((host.to_string(), port));
            }
            _ => return Err(bad("wrong number of arguments")),
        },
        _ => {
            // Only options of several words take several (`MULTI_ARG_CONFIG`).
            let multi = ["save", "client-output-buffer-limit"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(name));
            if values.is_empty() || (values.len() > 1 && !multi) {
                return Err(bad("wrong number of arguments"));
            }
            opts.config
                .set(name, &join(values))
                .map_err(|e| bad(&config_error(&e.reply_text())))?;
        }
    }
    Ok(())
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
    fn config_lines_split_as_sdssplitargs_splits_them() {
        assert_eq!(split_words("  save \"\"  ").unwrap(), ["save", ""]);
        assert_eq!(split_words("logfile ''").unwrap(), ["logfile", ""]);
        assert_eq!(
            split_words(r#"requirepass "a\x41\n b" 'it\'s'"#).unwrap(),
            ["requirepass", "aA\n b", "it's"]
        );
        assert!(split_words("dir \"open").is_none());
    }

    #[test]
    fn a_config_file_then_flags_that_win_over_it() {
        let dir = std::env::temp_dir().join(format!("replscope-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("redis.conf");
        std::fs::write(
            &path,
            "# test\nport 7000\nsave 900 1\nsave 60 100\nlogfile ''\nloglevel verbose\n\
             repl-backlog-size 1mb\n",
        )
        .unwrap();
        let o = parse(&[
            path.to_string_lossy().into_owned(),
            "--port".into(),
            "7001".into(),
        ])
        .unwrap();
        assert_eq!(o.config.port, 7001);
        assert_eq!(o.config.save, [(900, 1), (60, 100)]);
        assert_eq!(o.config.get("loglevel").unwrap(), "verbose");
        assert_eq!(o.config.get("logfile").unwrap(), "");
        std::fs::write(&path, "port 7000\nport abc\n").unwrap();
        let e = parse(&[path.to_string_lossy().into_owned()]).unwrap_err();
        assert!(
            e.starts_with("Reading the configuration file, at line 2\n>>> 'port abc'"),
            "{e}"
        );
        let e = parse(&[dir.join("none.conf").to_string_lossy().into_owned()]).unwrap_err();
        assert!(e.starts_with("Fatal error, can't open config file"), "{e}");
        std::fs::write(
            &path,
            "save 900 1\nsave \"\"\nsave 60 10\nreplicaof h 1\nreplicaof no one\n",
        )
        .unwrap();
        let o = parse(&[path.to_string_lossy().into_owned(), "--save".into()]).unwrap();
        assert!(o.config.save.is_empty(), "a bare --save is save \"\"");
        assert_eq!(o.replicaof, None);
        let o = parse(&[path.to_string_lossy().into_owned()]).unwrap();
        assert_eq!(o.config.save, [(60, 10)]);
        let e = parse(&args("--dir /tmp/a b")).unwrap_err();
        assert!(e.contains("wrong number of arguments"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
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
        let e = parse(&args("-p 1")).unwrap_err();
        assert!(e.contains("options start with --"), "{e}");
        let e = parse(&args("--replicaof host notaport")).unwrap_err();
        assert!(e.contains("Invalid master port"), "{e}");
    }
}
