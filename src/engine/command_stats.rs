//! `INFO commandstats`: how many times each command ran, was rejected before running
//! (`rejected_calls`), or ran and answered an error (`failed_calls`), counted per command
//! and per subcommand (`cmdstat_config|set`) as Redis 7.0 counts them, commands applied from
//! a master's stream included. replscope runs commands in no time, so `usec` stays 0.

use std::collections::BTreeMap;

use super::commands;

/// A command as counted: its name and, for a container command, the subcommand.
pub(crate) type CommandName = (&'static str, Option<&'static str>);

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    calls: u64,
    rejected_calls: u64,
    failed_calls: u64,
}

/// The counters; at most one entry per command of the (static) command table.
#[derive(Clone, Debug, Default)]
pub(crate) struct CommandStats {
    by_name: BTreeMap<CommandName, Counts>,
}

/// The counted name of `argv`, if it names a known command (and subcommand).
pub(crate) fn name_of(argv: &[Vec<u8>]) -> Option<CommandName> {
    let spec = commands::lookup(argv.first()?)?;
    // A container without its subcommand counts as itself (a bare `CONFIG`).
    let Some(sub) = argv.get(1).filter(|_| !spec.subcommands.is_empty()) else {
        return Some((spec.name, None));
    };
    let sub = commands::lookup_subcommand(spec, sub)?;
    Some((spec.name, Some(sub.name)))
}

impl CommandStats {
    /// The command ran (`real_cmd->calls++`); `failed` if it answered an error.
    pub(crate) fn called(&mut self, name: CommandName, failed: bool) {
        let c = self.by_name.entry(name).or_default();
        c.calls += 1;
        c.failed_calls += u64::from(failed);
    }

    /// The command was refused before running (`rejectCommand`).
    pub(crate) fn rejected(&mut self, name: CommandName) {
        self.by_name.entry(name).or_default().rejected_calls += 1;
    }

    /// `CONFIG RESETSTAT`.
    pub(crate) fn reset(&mut self) {
        self.by_name.clear();
    }

    /// The `# Commandstats` section.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("# Commandstats\r\n");
        for ((name, sub), c) in &self.by_name {
            let full = match sub {
                Some(sub) => format!("{name}|{sub}"),
                None => name.to_string(),
            };
            out.push_str(&format!(
                "cmdstat_{full}:calls={},usec=0,usec_per_call=0.00,rejected_calls={},failed_calls={}\r\n",
                c.calls, c.rejected_calls, c.failed_calls
            ));
        }
        out
    }
}
