//! What a node's console shows: each command typed there (by a student or a scenario step)
//! and the reply it got, in the order typed, as redis-cli prints them.
//!
//! It is part of the simulation's state, not the page's: a seek shows exactly the commands
//! typed and the replies received by that moment, and acting in the past (a fork) drops
//! the discarded future's with the rest of it. A reply is paired with its command by order
//! (a Redis connection answers in order), so a pipelined `MULTI`, `INCR`, `EXEC` prints
//! each reply under its command even when they arrive later.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{redis_cli, redis_commands, ClientId};
use crate::engine::commands::flags;
use crate::engine::resp::{split_args, Reply};

/// Commands kept per console: a scripted scenario may type thousands. Older ones leave,
/// counted in [`ConsoleLog::dropped`].
pub const CONSOLE_KEEP_COMMANDS: usize = 200;

/// Elements of an array reply kept (a `KEYS *` over a big dataset must not fill every
/// checkpoint); the console says how many more there were.
pub const CONSOLE_REPLY_ELEMENTS: usize = 1000;

/// Bytes of a bulk reply kept (same reason).
pub const CONSOLE_REPLY_BYTES: usize = 64 * 1024;

/// The longest line a console takes, in bytes: far more than anyone types, a 256th of a
/// node's memory in the page. Every line typed is kept in the run (time travel replays it), so
/// a pasted 20 MB value would stay in the tab's memory for good: it is refused before it is
/// recorded.
pub const CONSOLE_LINE_MAX: usize = 64 * 1024;

/// The bytes of console lines one run keeps in all (a thousand long pastes, or a hundred
/// thousand ordinary commands): past it, the page asks to start again rather than grow.
pub const RUN_TYPED_MAX: usize = 16 * 1024 * 1024;

/// The bytes `action` adds to a run's typed lines.
pub fn typed_len(action: &super::action::Action) -> usize {
    match action {
        super::action::Action::Exec { command, .. } => command.len(),
        _ => 0,
    }
}

/// Why `action` cannot be typed into a console, if it is a line longer than
/// [`CONSOLE_LINE_MAX`].
pub fn refuse_line(action: &super::action::Action) -> Option<String> {
    match action {
        super::action::Action::Exec { command, .. } if command.len() > CONSOLE_LINE_MAX => {
            Some(format!(
                "a console line holds at most {} KB; this one has {} KB (the run keeps every line typed)",
                CONSOLE_LINE_MAX / 1024,
                command.len().div_ceil(1024)
            ))
        }
        _ => None,
    }
}

/// What a console shows under a command that blocks its connection (BLPOP, WAIT…) until
/// its reply comes.
pub const BLOCKED_WAITING: &str = "(waiting… blocked until served or timed out)";

/// A command typed in a console, and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed {
    pub command: String,
    /// The connection it went on (a console reconnects after its node restarts).
    client: ClientId,
    /// The reply, once received (shortened past the limits above).
    pub reply: Option<Reply>,
    /// What the limits left out, said as the console prints it.
    pub elided: Option<String>,
    /// Why no reply will come, if none will.
    pub lost: Option<Lost>,
}

/// Why a console command gets no reply (redis-cli's words for each are the UI's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    /// The node was down when the console tried to connect.
    Refused,
    /// The connection closed before the reply came.
    Closed,
}

impl Typed {
    /// What redis-cli prints under the command: its reply, or why none came (nothing
    /// while it is on its way).
    pub fn reply_lines(&self) -> Vec<String> {
        match (&self.reply, self.lost) {
            (Some(reply), _) => {
                let argv = split_args(self.command.as_bytes()).unwrap_or_default();
                let mut lines = redis_cli::reply_lines(&argv, reply);
                lines.extend(self.elided.clone());
                if let (Reply::Error(e), Some(name)) = (reply, argv.first()) {
                    if e.starts_with("ERR unknown command") {
                        lines.extend(redis_commands::not_modelled_note(name));
                    }
                }
                lines
            }
            (None, Some(Lost::Refused)) => {
                vec!["Could not connect to Redis at 127.0.0.1:6379: Connection refused".into()]
            }
            (None, Some(Lost::Closed)) => vec!["Error: Server closed the connection".into()],
            (None, None) => Vec::new(),
        }
    }

    /// True while its reply may still come.
    pub fn is_waiting(&self) -> bool {
        self.reply.is_none() && self.lost.is_none()
    }

    /// True for a command that may block its connection until another client acts or
    /// its timeout passes (BLPOP and the other `blocking` commands, WAIT).
    pub fn blocks(&self) -> bool {
        let argv = split_args(self.command.as_bytes()).unwrap_or_default();
        argv.first()
            .and_then(|name| crate::engine::commands::lookup(name))
            .is_some_and(|spec| spec.has(flags::BLOCKING) || spec.name == "wait")
    }

    fn waits_on(&self, client: ClientId) -> bool {
        self.client == client && self.is_waiting()
    }
}

/// One console's commands and replies (see the module's documentation).
#[derive(Clone, Debug, Default)]
pub struct ConsoleLog {
    /// Shared with the copies of the simulation (checkpoints) until a reply fills one.
    entries: VecDeque<Arc<Typed>>,
    /// Commands typed before the kept ones.
    pub dropped: u64,
}

impl ConsoleLog {
    /// `command` was sent on `client` (`connected` false: there was no connection to
    /// send it on).
    pub fn typed(&mut self, client: ClientId, command: &str, connected: bool) {
        self.entries.push_back(Arc::new(Typed {
            command: command.to_string(),
            client,
            reply: None,
            elided: None,
            lost: (!connected).then_some(Lost::Refused),
        }));
        if self.entries.len() > CONSOLE_KEEP_COMMANDS {
            self.entries.pop_front();
            self.dropped += 1;
        }
    }

    /// True if a command sent on `client` waits for its reply.
    pub fn waits(&self, client: ClientId) -> bool {
        self.entries.iter().any(|t| t.waits_on(client))
    }

    /// True if the oldest command still waiting on `client` is one that blocks (see
    /// [`Typed::blocks`]): the console then types on a new connection, as one opens a
    /// second redis-cli next to one stuck in BLPOP.
    pub fn blocked(&self, client: ClientId) -> bool {
        self.entries
            .iter()
            .find(|t| t.waits_on(client))
            .is_some_and(|t| t.blocks())
    }

    /// `client` received `reply`: it answers its oldest command still waiting (see
    /// [`ConsoleLog::waits`]).
    /// Returns the command it answered.
    pub fn replied(&mut self, client: ClientId, reply: Reply) -> Option<Arc<Typed>> {
        let t = self.entries.iter_mut().find(|t| t.waits_on(client))?;
        let (reply, elided) = shorten(reply);
        let typed = Arc::make_mut(t);
        typed.reply = Some(reply);
        typed.elided = elided;
        Some(Arc::clone(t))
    }

    /// `client`'s connection closed: its commands still waiting will get no reply.
    pub fn closed(&mut self, client: ClientId) {
        for t in self.entries.iter_mut() {
            if t.waits_on(client) {
                Arc::make_mut(t).lost = Some(Lost::Closed);
            }
        }
    }

    /// The commands kept, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Typed> {
        self.entries.iter().map(|t| &**t)
    }

    /// The last command typed, if one is kept.
    pub fn last(&self) -> Option<&Typed> {
        self.entries.back().map(|t| &**t)
    }

    /// How many commands were typed in all (kept or not).
    pub fn typed_count(&self) -> u64 {
        self.dropped + self.entries.len() as u64
    }

    /// Memory accounting: each command goes to `shared` as (address, bytes), since copies
    /// of the simulation share them.
    pub fn memory(&self, shared: &mut dyn FnMut(usize, usize)) -> usize {
        for t in &self.entries {
            let reply = t.reply.as_ref().map_or(0, reply_bytes);
            shared(Arc::as_ptr(t) as usize, 96 + t.command.len() + reply);
        }
        self.entries.capacity() * 8
    }
}

/// The reply within the limits, and what was left out.
fn shorten(reply: Reply) -> (Reply, Option<String>) {
    match reply {
        Reply::Array(mut items) => {
            let elided = elided(items.len(), CONSOLE_REPLY_ELEMENTS, "elements");
            items.truncate(CONSOLE_REPLY_ELEMENTS);
            (Reply::Array(items), elided)
        }
        Reply::Bulk(mut bytes) => {
            let elided = elided(bytes.len(), CONSOLE_REPLY_BYTES, "bytes");
            bytes.truncate(CONSOLE_REPLY_BYTES);
            (Reply::Bulk(bytes), elided)
        }
        reply => (reply, None),
    }
}

/// What keeping the first `keep` of `all` leaves out, said as the console prints it.
fn elided(all: usize, keep: usize, unit: &str) -> Option<String> {
    (all > keep).then(|| format!("({keep} of {all} {unit} shown: the console keeps no more)"))
}

/// Roughly the memory a reply holds.
fn reply_bytes(reply: &Reply) -> usize {
    match reply {
        Reply::Simple(s) | Reply::Error(s) => s.len() + 32,
        Reply::Bulk(b) => b.len() + 32,
        Reply::Array(items) => items.iter().map(reply_bytes).sum::<usize>() + 32,
        _ => 32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_pair_with_their_commands_in_order_and_lost_ones_stay_unanswered() {
        let (a, b) = (ClientId(1), ClientId(2));
        let mut log = ConsoleLog::default();
        log.typed(a, "MULTI", true);
        log.typed(a, "INCR x", true);
        log.closed(a);
        log.typed(b, "GET x", true);
        log.typed(b, "PING", false);
        // The first connection's commands got nothing; the reply on the new one is GET's.
        assert!(!log.waits(a));
        assert!(log.waits(b));
        log.replied(b, Reply::Bulk(b"1".to_vec()));
        assert!(!log.waits(b), "PING was never sent");
        let got: Vec<_> = log
            .entries()
            .map(|t| (t.command.as_str(), t.reply.clone(), t.lost))
            .collect();
        assert_eq!(
            got,
            vec![
                ("MULTI", None, Some(Lost::Closed)),
                ("INCR x", None, Some(Lost::Closed)),
                ("GET x", Some(Reply::Bulk(b"1".to_vec())), None),
                ("PING", None, Some(Lost::Refused)),
            ]
        );
    }

    #[test]
    fn a_console_keeps_its_latest_commands_and_shortens_huge_replies() {
        let c = ClientId(7);
        let mut log = ConsoleLog::default();
        for i in 0..CONSOLE_KEEP_COMMANDS + 5 {
            log.typed(c, &format!("SET k {i}"), true);
        }
        assert_eq!(log.dropped, 5);
        assert_eq!(log.typed_count(), CONSOLE_KEEP_COMMANDS as u64 + 5);
        assert_eq!(log.entries().next().unwrap().command, "SET k 5");
        // The oldest kept command gets the first reply.
        let keys = Reply::Array(vec![Reply::Bulk(b"k".to_vec()); 5000]);
        log.replied(c, keys);
        let first = log.entries().next().unwrap();
        assert!(matches!(&first.reply, Some(Reply::Array(v)) if v.len() == CONSOLE_REPLY_ELEMENTS));
        assert_eq!(
            first.elided.as_deref(),
            Some("(1000 of 5000 elements shown: the console keeps no more)")
        );
    }
}
