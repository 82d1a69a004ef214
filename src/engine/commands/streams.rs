//! Streams: replscope has no stream type. XINFO still exists, answering as Redis 7.0 does
//! on a keyspace without streams (t_stream.c `xinfoCommand`): HELP prints its help, and
//! every other subcommand looks its key up (lazily expiring it) and finds no stream there.

use super::util::{eq_ic, err, wrongtype};
use super::{help_reply, subcommand_syntax_error, ExecCtx};
use crate::engine::resp::Reply;

/// XINFO's help lines, as Redis prints them.
const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

/// XINFO CONSUMERS|GROUPS|STREAM|HELP (the node checked the subcommand and its arity).
pub fn xinfo(ctx: &mut ExecCtx, argv: &[Vec<u8>]) -> Reply {
    if eq_ic(&argv[1], "help") {
        if argv.len() != 2 {
            return subcommand_syntax_error(argv);
        }
        return help_reply(&argv[0], XINFO_HELP);
    }
    if argv.len() < 3 {
        return subcommand_syntax_error(argv);
    }
    match ctx.lookup_read(&argv[2]) {
        None => err("ERR no such key"),
        Some(_) => wrongtype(),
    }
}
