//! The command table and the data commands of a Redis 7.0 node.
//!
//! The node (written elsewhere) parses a request, looks the command up here, checks arity and
//! its own gates (READONLY, MULTI, min-replicas…), and for `Handler::Data` commands calls
//! [`execute`]. `execute` answers with the exact Redis 7.0 reply and with the operations Redis
//! would hand to `alsoPropagate` while running the command (`server.c`, `call()`), in order.
//!
//! # Propagation in Redis 7.0 (what `execute` returns and what the node does with it)
//! In 7.0 every write reaches replicas through `server.also_propagate`:
//! - a lazily expired key found by a lookup is deleted by `deleteExpiredKeyAndPropagate`
//!   (db.c), whose `propagateDeletion` calls `alsoPropagate(DEL|UNLINK key)` *during* the command;
//! - commands such as SPOP with a count call `alsoPropagate` themselves;
//! - at the end of `call()` the command's own (possibly rewritten) argv is appended when it
//!   made the dataset dirty or forced propagation.
//!
//! `afterCommand` → `propagatePendingCommands` then flushes the array once per *execution
//! unit* (a top-level command, or a whole EXEC): if it holds more than one op, the ops are
//! wrapped in `MULTI … EXEC` — unless the top-level command has the
//! `TOUCHES_ARBITRARY_KEYS` flag (SCAN, RANDOMKEY), or the ops come from the active expire
//! cycle (`propagate_no_multi`). So in 7.0 `SET k v` on a logically expired `k` reaches
//! replicas as `MULTI / DEL k / SET k v / EXEC`, while `GET k` sends a lone `DEL k`.
//! [`execute`] returns the ops of one command; the node concatenates the ops of a unit and
//! calls [`wrap_unit`] with the unit's top-level spec.
//!
//! # Modelling choices (documented deviations)
//! - Iteration order: KEYS walks keys in the db's insertion order (a deletion moves the last
//!   key into the hole); SCAN uses a fixed-hash cursor (see
//!   `keys::scan`); HGETALL answers in insertion order (listpack order); SMEMBERS/SPOP and
//!   SUNION/SINTER/SDIFF answer all-integer sets (≤ 512) in numeric order (intset) and other
//!   sets in insertion order.
//! - No streams and no command timing: XINFO finds no stream, SLOWLOG stays empty, and
//!   `hll-sparse-max-bytes` is fixed at its default (3000).
//! - Randomness (RANDOMKEY, SPOP, active expiry) comes only from `ExecCtx::rng`.
//! - Error replies are `String`s: non-UTF-8 bytes echoed in errors are replaced.

mod bitops;
mod blocking;
mod expire;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod longdouble;
mod set_algebra;
mod sets;
mod slowlog;
mod streams;
mod strings;
mod table;
mod util;
mod zset_algebra;
mod zsets;

use rand_chacha::ChaCha8Rng;

use super::keyspace::{Db, Entry, Keyspace, Value};
use super::resp::Reply;
use super::watch::Watches;

pub use blocking::{BlockRequest, BlockedOp, Served};
pub use expire::active_expire_cycle;
pub use lists::End;
pub use table::{all, lookup, lookup_subcommand};
pub use util::glob_match;
pub use zsets::ZEnd;

/// Command flags as in Redis's command table (`server.h`, `CMD_*`), the subset that matters.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const NOSCRIPT: u32 = 1 << 4;
    pub const LOADING: u32 = 1 << 5;
    pub const STALE: u32 = 1 << 6;
    pub const FAST: u32 = 1 << 7;
    pub const NO_MULTI: u32 = 1 << 8;
    pub const SENTINEL: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const ALLOW_BUSY: u32 = 1 << 11;
    pub const SKIP_SLOWLOG: u32 = 1 << 12;
    pub const NO_ASYNC_LOADING: u32 = 1 << 13;
    /// `CMD_TOUCHES_ARBITRARY_KEYS` (SCAN, RANDOMKEY): may lazily expire keys it was not
    /// given, so a direct call never wraps its propagated DELs in MULTI/EXEC (server.c,
    /// `propagatePendingCommands`).
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 14;
    /// `CMD_MAY_REPLICATE` (PFCOUNT): read-only, yet may change the dataset and propagate.
    pub const MAY_REPLICATE: u32 = 1 << 15;
    /// `CMD_BLOCKING`: may block the client (BLPOP, BZPOPMIN…).
    pub const BLOCKING: u32 = 1 << 16;
}

/// A data command's implementation.
pub type DataFn = fn(&mut ExecCtx, &[Vec<u8>]) -> Reply;

/// Who runs a command.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Runs here, through [`execute`].
    Data(DataFn),
    /// Handled by the node itself (MULTI, INFO, REPLICAOF, …).
    Node,
}

/// One entry of the command table (`src/commands/*.json` in Redis 7.0).
pub struct CommandSpec {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: positive = exact argc, negative = at least `-arity`.
    pub arity: i32,
    /// `flags::*` bits.
    pub flags: u32,
    pub handler: Handler,
    /// Subcommands of a container command (CONFIG); their `name` is the lowercase
    /// subcommand and arity counts the whole argv, as in Redis. Empty for plain commands.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// Redis's `commandCheckArity`.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// True for commands flagged `write`.
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    /// True if the spec has the given `flags::*` bit(s).
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandSpec")
            .field("name", &self.name)
            .field("arity", &self.arity)
            .field("flags", &self.flags)
            .finish()
    }
}

/// `-ERR unknown command '<name>', with args beginning with: '<a>' '<b>' ` as Redis 7.0's
/// `commandCheckExistence` builds it: the name is cut at 128 bytes, args are added while the
/// args text is shorter than 128 bytes (each cut to what is left), C strings stop at a NUL
/// byte, and CR/LF become spaces.
pub fn unknown_command(argv: &[Vec<u8>]) -> Reply {
    let name = argv.first().map(|a| c_str(a, 128)).unwrap_or_default();
    let mut args: Vec<u8> = Vec::new();
    for arg in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(c_str(arg, room));
        args.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(name);
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&args);
    Reply::Error(error_text(&text))
}

/// `-ERR unknown subcommand '<sub>'. Try CONFIG HELP.` for a container command whose
/// subcommand is unknown (server.c, `commandCheckExistence`).
pub fn unknown_subcommand(argv: &[Vec<u8>]) -> Reply {
    let container = argv
        .first()
        .map(|a| c_str(a, usize::MAX).to_ascii_uppercase())
        .unwrap_or_default();
    let sub = argv.get(1).map(|a| c_str(a, 128)).unwrap_or_default();
    let mut text = b"ERR unknown subcommand '".to_vec();
    text.extend_from_slice(sub);
    text.extend_from_slice(b"'. Try ");
    text.extend_from_slice(&container);
    text.extend_from_slice(b" HELP.");
    Reply::Error(error_text(&text))
}

/// `addReplySubcommandSyntaxError`: `-ERR unknown subcommand or wrong number of arguments
/// for '<sub>'. Try <COMMAND> HELP.` (the subcommand as typed, cut at 128 bytes).
pub fn subcommand_syntax_error(argv: &[Vec<u8>]) -> Reply {
    let container = argv
        .first()
        .map(|a| c_str(a, usize::MAX).to_ascii_uppercase())
        .unwrap_or_default();
    let sub = argv.get(1).map(|a| c_str(a, 128)).unwrap_or_default();
    let mut text = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    text.extend_from_slice(sub);
    text.extend_from_slice(b"'. Try ");
    text.extend_from_slice(&container);
    text.extend_from_slice(b" HELP.");
    Reply::Error(error_text(&text))
}

/// `addReplyHelp`: an array of status lines — `<COMMAND> <subcommand> [<arg> [value] [opt]
/// ...]. Subcommands are:`, the command's own `lines`, then the HELP entry every command
/// ends with. `command` is `argv[0]` as typed (printed uppercase).
pub fn help_reply(command: &[u8], lines: &[&str]) -> Reply {
    let name = String::from_utf8_lossy(c_str(command, usize::MAX)).to_ascii_uppercase();
    let header = format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    let mut out = vec![Reply::Simple(header)];
    out.extend(lines.iter().map(|l| Reply::Simple(l.to_string())));
    out.push(Reply::Simple("HELP".into()));
    out.push(Reply::Simple("    Prints this help.".into()));
    Reply::Array(out)
}

/// `-ERR wrong number of arguments for '<name>' command` (`name` is the full name, e.g.
/// `config|get` for a subcommand, as Redis 7.0 prints it).
pub fn wrong_arity(name: &str) -> Reply {
    Reply::Error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// A C `%.*s`: stops at the first NUL and after `max` bytes.
fn c_str(bytes: &[u8], max: usize) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end.min(max)]
}

/// Error text as Redis sends it: CR and LF mapped to spaces. Non-UTF-8 bytes are replaced
/// (our `Reply::Error` is a `String`).
fn error_text(bytes: &[u8]) -> String {
    let mapped: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect();
    String::from_utf8_lossy(&mapped).into_owned()
}

/// How logically expired keys look to the caller (Redis 7.0 `expireIfNeeded`, db.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpireView {
    /// A master: an expired key is deleted on access and `DEL`/`UNLINK` is propagated.
    Master,
    /// A normal client on a replica: expired keys read as missing but are never deleted by
    /// reads. Write lookups (only reachable on a writable replica) delete them silently, as
    /// `EXPIRE_FORCE_DELETE_EXPIRED` does; nothing is propagated.
    Replica,
    /// The master link on a replica: keys are never expired.
    MasterClient,
}

impl ExpireView {
    /// `server.masterhost != NULL`.
    fn is_replica(self) -> bool {
        self != ExpireView::Master
    }
}

/// One operation to feed to replicas and the backlog, with the db it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Propagated {
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
}

impl Propagated {
    fn new<A: AsRef<[u8]>>(db: usize, argv: &[A]) -> Self {
        Propagated {
            db,
            argv: argv.iter().map(|a| a.as_ref().to_vec()).collect(),
        }
    }
}

/// Wraps one execution unit's ops as Redis 7.0's `propagatePendingCommands` does: more than
/// one op → `MULTI` (with the first op's db, so a SELECT goes before it) … `EXEC` (with the
/// last op's db), unless `top` — the unit's top-level command (EXEC for a transaction) —
/// has `TOUCHES_ARBITRARY_KEYS`. `MULTI`/`EXEC` are uppercase (`shared.multi`/`shared.exec`).
pub fn wrap_unit(ops: Vec<Propagated>, top: &CommandSpec) -> Vec<Propagated> {
    if ops.len() <= 1 || top.has(flags::TOUCHES_ARBITRARY_KEYS) {
        return ops;
    }
    let (first, last) = match (ops.first(), ops.last()) {
        (Some(f), Some(l)) => (f.db, l.db),
        _ => return ops,
    };
    let mut out = Vec::with_capacity(ops.len() + 2);
    out.push(Propagated::new(first, &["MULTI"]));
    out.extend(ops);
    out.push(Propagated::new(last, &["EXEC"]));
    out
}

/// What `call()` collects while a command runs.
#[derive(Default)]
struct PropState {
    /// `server.also_propagate`: lazy-expire deletions and explicit extra ops.
    also: Vec<Propagated>,
    /// `server.dirty` increments made by this command.
    dirty: u64,
    /// The argv after `rewriteClientCommandVector`/`…Argument`, if rewritten.
    rewritten: Option<Vec<Vec<u8>>>,
    /// `forceCommandPropagation` (FLUSHDB/FLUSHALL).
    force: bool,
    /// `preventCommandPropagation` (SPOP with count).
    prevent: bool,
}

/// The context a data command runs in.
pub struct ExecCtx<'a> {
    pub keyspace: &'a mut Keyspace,
    /// The client's selected db; SELECT changes it.
    pub db: usize,
    /// Virtual unix time in ms (Redis's cached `server.mstime` for the command).
    pub now_ms: u64,
    pub view: ExpireView,
    pub rng: &'a mut ChaCha8Rng,
    /// `lazyfree-lazy-expire`: expiry propagates UNLINK instead of DEL.
    pub lazyfree_lazy_expire: bool,
    /// `lazyfree-lazy-user-del`: GETDEL propagates UNLINK instead of DEL.
    pub lazyfree_lazy_user_del: bool,
    /// False where nothing will be propagated (a replica applying its master's stream
    /// forwards the bytes it received instead): the command's own argv is not copied.
    pub propagate: bool,
    /// `proto-max-bulk-len`: the longest string a command may build (`checkStringLength`).
    pub proto_max_bulk_len: u64,
    /// Keys (db, name) given an expire by this context's commands (`setExpire`): a
    /// writable replica remembers those its own clients set, to expire them itself.
    pub expires_set: Vec<(usize, Vec<u8>)>,
    /// `CLIENT_DENY_BLOCKING`: a blocking command with nothing to do answers the timeout's
    /// null at once instead of asking to block. True unless the caller can park a client
    /// (the node, for a client outside EXEC).
    pub deny_blocking: bool,
    /// Set when a blocking command asks to block (see [`ExecCtx::take_block`]).
    block: Option<BlockRequest>,
    /// Whether clients are blocked on keys: only then does creating a list or a sorted set
    /// note the key as ready (`signalKeyAsReady`'s quick return).
    pub signal_ready: bool,
    /// Keys (db, key) created as a list or a sorted set, each once, in order (`dbAdd` →
    /// `signalKeyAsReady`). Bounded by the keys one command can write.
    ready: Vec<(usize, Vec<u8>)>,
    /// Databases whose whole content SWAPDB replaced, in order: the node rescans the keys
    /// its clients wait on there (`scanDatabaseForReadyKeys`). Two per SWAPDB.
    swapped: Vec<usize>,
    /// `server.dirty` increments of every command run in this context (what
    /// `rdb_changes_since_last_save` counts): one per element for SADD, none for a lazy
    /// expiry, whether or not the command propagates (a replica counts its master's writes).
    pub dirtied: u64,
    /// The node's watched keys: a modified key is touched (`signalModifiedKey`), a flushed
    /// or swapped db touches its watched keys. `None` where nobody can watch.
    pub watches: Option<&'a mut Watches>,
    prop: PropState,
}

impl<'a> ExecCtx<'a> {
    /// A context with the lazyfree options at their 7.0 defaults (`no`).
    pub fn new(
        keyspace: &'a mut Keyspace,
        db: usize,
        now_ms: u64,
        view: ExpireView,
        rng: &'a mut ChaCha8Rng,
    ) -> Self {
        ExecCtx {
            keyspace,
            db,
            now_ms,
            view,
            rng,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_user_del: false,
            propagate: true,
            proto_max_bulk_len: crate::engine::resp::PROTO_MAX_BULK_LEN as u64,
            expires_set: Vec::new(),
            deny_blocking: true,
            block: None,
            signal_ready: false,
            ready: Vec::new(),
            swapped: Vec::new(),
            dirtied: 0,
            watches: None,
            prop: PropState::default(),
        }
    }

    /// The selected database (`execute` checks the index first).
    fn dbm(&mut self) -> &mut Db {
        let idx = self.db.min(self.keyspace.dbs.len().saturating_sub(1));
        self.keyspace.db_mut(idx)
    }

    /// `setExpire`: gives the existing `key` of the selected db an expire time.
    fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        if let Some(e) = self.dbm().get_mut(key) {
            e.expire_at_ms = Some(when_ms);
            if self.view == ExpireView::Replica {
                let db = self.db;
                self.expires_set.push((db, key.to_vec()));
            }
        }
    }

    /// Read-only view of the selected database.
    fn dbr(&self) -> &Db {
        let idx = self.db.min(self.keyspace.dbs.len().saturating_sub(1));
        &self.keyspace.dbs[idx]
    }

    /// Redis `expireIfNeeded`: true if `key` is logically expired for this caller (see
    /// [`ExecCtx::expire_index_if_needed`]).
    fn expire_if_needed(&mut self, key: &[u8], write: bool) -> bool {
        let index = self.dbr().get_index_of(key);
        index.is_some_and(|i| self.expire_index_if_needed(i, write))
    }

    /// `expireIfNeeded` on the key at `index`. On a master an expired key is deleted and the
    /// deletion propagated; `write` lookups on a replica (writable replicas only) delete it
    /// without propagation.
    fn expire_index_if_needed(&mut self, index: usize, write: bool) -> bool {
        let now = self.now_ms;
        let expired = self
            .dbr()
            .get_index(index)
            .is_some_and(|(_, e)| e.is_expired(now));
        if !expired {
            return false;
        }
        match self.view {
            ExpireView::MasterClient => false,
            ExpireView::Replica => {
                if write {
                    if let Some((key, _)) = self.dbm().swap_remove_index(index) {
                        self.modified(&key);
                    }
                }
                true
            }
            ExpireView::Master => {
                let Some((key, _)) = self.dbm().swap_remove_index(index) else {
                    return true;
                };
                let cmd: &[u8] = if self.lazyfree_lazy_expire {
                    b"UNLINK"
                } else {
                    b"DEL"
                };
                self.modified(&key);
                let db = self.db;
                self.prop.also.push(Propagated::new(db, &[cmd, &key]));
                true
            }
        }
    }

    /// `lookupKeyReadWithFlags`/`lookupKeyWriteWithFlags`: where `key` is in the database,
    /// unless it is missing or expired for this caller. One hash lookup serves the expiry
    /// check and the access.
    fn lookup_index(&mut self, key: &[u8], write: bool) -> Option<usize> {
        let index = self.dbr().get_index_of(key)?;
        (!self.expire_index_if_needed(index, write)).then_some(index)
    }

    /// `lookupKeyRead`.
    fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let index = self.lookup_index(key, false)?;
        self.dbm().get_index_mut(index).map(|(_, e)| e)
    }

    /// `lookupKeyWrite`.
    fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let index = self.lookup_index(key, true)?;
        self.dbm().get_index_mut(index).map(|(_, e)| e)
    }

    /// `signalModifiedKey` for `key` of the selected db.
    fn modified(&mut self, key: &[u8]) {
        let db = self.db;
        self.modified_in(db, key);
    }

    /// `signalModifiedKey` for `key` of `db`: its watchers' next EXEC fails.
    fn modified_in(&mut self, db: usize, key: &[u8]) {
        if let Some(w) = self.watches.as_deref_mut().filter(|w| !w.is_empty()) {
            let exists = self
                .keyspace
                .dbs
                .get(db)
                .is_some_and(|d| d.contains_key(key));
            w.touch(db, key, exists);
        }
    }

    /// `signalFlushedDb`: `db` (or every db) is about to be emptied.
    fn flushed(&mut self, db: Option<usize>) {
        let Some(w) = self.watches.as_deref_mut().filter(|w| !w.is_empty()) else {
            return;
        };
        for (i, d) in self.keyspace.dbs.iter().enumerate() {
            if db.is_none_or(|db| db == i) {
                w.touch_all_in_db(i, d, None, Some(self.now_ms));
            }
        }
    }

    /// `server.dirty += n`.
    fn dirty(&mut self, n: u64) {
        self.prop.dirty = self.prop.dirty.saturating_add(n);
    }

    /// `rewriteClientCommandVector`: propagate `argv` instead of what the client sent.
    fn rewrite<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        self.prop.rewritten = Some(argv.iter().map(|a| a.as_ref().to_vec()).collect());
    }

    /// `dbAdd`: adds `key` (missing, or just deleted) to the selected db; a list or a
    /// sorted set is noted as ready for the clients blocked on it (`signalKeyAsReady`).
    fn db_add(&mut self, key: Vec<u8>, entry: Entry) {
        if self.signal_ready && matches!(entry.value, Value::List(_) | Value::ZSet(_)) {
            let ready = (self.db, key.clone());
            if !self.ready.contains(&ready) {
                self.ready.push(ready);
            }
        }
        self.dbm().insert(key, entry);
    }

    /// Runs `f` with `db` selected, then selects the caller's db again (MOVE and COPY's
    /// `selectDb` there and back): a key `f` lazily expires is deleted, and its deletion
    /// propagated, in `db`, while the command itself still propagates in the caller's db.
    fn in_db<T>(&mut self, db: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        let home = std::mem::replace(&mut self.db, db);
        let out = f(self);
        self.db = home;
        out
    }

    /// `dbSwapDatabases`: databases `a` and `b` exchange their keys (TTLs included), while
    /// clients stay in the db they selected; both are noted for the blocked-key rescan.
    fn swap_dbs(&mut self, a: usize, b: usize) {
        if a.max(b) >= self.keyspace.dbs.len() {
            return;
        }
        if a != b {
            if let Some(w) = self.watches.as_deref_mut().filter(|w| !w.is_empty()) {
                let (da, db) = (&self.keyspace.dbs[a], &self.keyspace.dbs[b]);
                w.touch_all_in_db(a, da, Some(db), Some(self.now_ms));
                w.touch_all_in_db(b, db, Some(da), Some(self.now_ms));
            }
        }
        self.keyspace.dbs.swap(a, b);
        if self.signal_ready {
            self.swapped.extend([a, b]);
        }
    }

    /// The databases SWAPDB replaced so far (see `swapped`), taken.
    pub fn take_swapped(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.swapped)
    }

    /// What the last command asked to block on, if it did (and may: see `deny_blocking`).
    pub fn take_block(&mut self) -> Option<BlockRequest> {
        self.block.take()
    }

    /// The keys created as lists or sorted sets so far (see `signal_ready`), taken.
    pub fn take_ready(&mut self) -> Vec<(usize, Vec<u8>)> {
        std::mem::take(&mut self.ready)
    }

    /// `alsoPropagate` in the current db.
    fn also_propagate<A: AsRef<[u8]>>(&mut self, argv: &[A]) {
        let db = self.db;
        self.prop.also.push(Propagated::new(db, argv));
    }
}

/// Runs a Data command (arity already checked by the caller) the way Redis's `call()` does:
/// returns the reply and the ops of this command for `also_propagate`, in order (lazy-expire
/// deletions and explicit extra ops first, then the command's own argv if it dirtied the
/// dataset). See the module docs for how the node wraps them ([`wrap_unit`]).
pub fn execute(
    ctx: &mut ExecCtx,
    spec: &CommandSpec,
    argv: &[Vec<u8>],
) -> (Reply, Vec<Propagated>) {
    ctx.prop = PropState::default();
    let Handler::Data(handler) = spec.handler else {
        // Node commands never reach here; answer like an unknown command rather than panic.
        return (unknown_command(argv), Vec::new());
    };
    // The caller checks arity first (so the error is counted as a rejected call); checking
    // again keeps the handlers' fixed argv indexing panic-free whatever the caller does.
    if !spec.arity_ok(argv.len()) {
        return (wrong_arity(spec.name), Vec::new());
    }
    if ctx.db >= ctx.keyspace.dbs.len() {
        return (Reply::error("ERR DB index is out of range"), Vec::new());
    }
    let reply = handler(ctx, argv);
    let prop = std::mem::take(&mut ctx.prop);
    ctx.dirtied += prop.dirty;
    let mut ops = prop.also;
    if ctx.propagate && (prop.dirty > 0 || prop.force) && !prop.prevent {
        // `c->db->id` at the end of the command (SELECT never propagates, so this is the
        // db the command ran in).
        let argv = prop.rewritten.unwrap_or_else(|| argv.to_vec());
        ops.push(Propagated { db: ctx.db, argv });
    }
    (reply, ops)
}

/// Serves a client blocked with `op` from `key` (in `ctx.db`), which holds a non-empty value
/// of the type `op` waits for: what it did, and the ops Redis propagates for it, in order
/// (a lazily expired destination's deletion, then the pop or move). See `blocking::serve`.
pub fn serve_blocked(ctx: &mut ExecCtx, key: &[u8], op: &BlockedOp) -> (Served, Vec<Propagated>) {
    ctx.prop = PropState::default();
    let served = blocking::serve(ctx, key, op);
    let prop = std::mem::take(&mut ctx.prop);
    ctx.dirtied += prop.dirty;
    (served, prop.also)
}

/// The kind of value at `key` in `ctx.db`, looked up as `handleClientsBlockedOnKeys` does
/// (`lookupKeyReadWithFlags`: a logically expired key is missing, and on a master it is
/// deleted): `Some(true)` for a list, `Some(false)` for a sorted set, `None` otherwise.
/// Returns the deletion ops of a lazy expiry.
pub fn blocking_kind(ctx: &mut ExecCtx, key: &[u8]) -> (Option<bool>, Vec<Propagated>) {
    ctx.prop = PropState::default();
    let kind = match ctx.lookup_read(key).map(|e| &e.value) {
        Some(Value::List(_)) => Some(true),
        Some(Value::ZSet(_)) => Some(false),
        _ => None,
    };
    let prop = std::mem::take(&mut ctx.prop);
    (kind, prop.also)
}

#[cfg(test)]
mod tests;
