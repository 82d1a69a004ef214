//! SLOWLOG (slowlog.c, Redis 7.0). replscope does not time its commands, so none is ever
//! slower than `slowlog-log-slower-than` and the log stays empty: GET answers an empty
//! array, LEN 0, RESET OK, with Redis's argument checks and help text.

use super::util::{eq_ic, err, int};
use super::{help_reply, subcommand_syntax_error, ExecCtx};
use crate::engine::resp::{parse_i64, Reply};

/// SLOWLOG's help lines, as Redis prints them.
const SLOWLOG_HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

/// SLOWLOG GET [count] | LEN | RESET | HELP.
pub fn slowlog(_ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    let sub = &argv[1];
    match argv.len() {
        2 if eq_ic(sub, "help") => help_reply(&argv[0], SLOWLOG_HELP),
        2 if eq_ic(sub, "reset") => Reply::ok(),
        2 if eq_ic(sub, "len") => int(0),
        2 | 3 if eq_ic(sub, "get") => {
            if let Some(count) = argv.get(2) {
                if parse_i64(count).is_none_or(|n| n < -1) {
                    return err("ERR count should be greater than or equal to -1");
                }
            }
            Reply::Array(Vec::new())
        }
        _ => subcommand_syntax_error(argv),
    }
}
