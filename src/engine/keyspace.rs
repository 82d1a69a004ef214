//! The data: 16 databases of keys, each holding a typed value and an optional absolute expiry.
//!
//! Maps are ordered (`BTreeMap`) or insertion-ordered (`IndexMap` with a fixed hasher) so that
//! every iteration is deterministic: the simulator must replay identically on every platform.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use indexmap::{IndexMap, IndexSet};
use serde::{Deserialize, Serialize};

/// Number of databases, as Redis's default `databases 16`.
pub const DB_COUNT: usize = 16;

/// A fixed-seed hasher: insertion-ordered collections must not depend on a random seed.
pub type FixedState = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

/// A hash value. Insertion order is kept, as Redis's listpack encoding of small hashes does,
/// so HGETALL answers in the order a student wrote the fields.
pub type HashValue = IndexMap<Vec<u8>, Vec<u8>, FixedState>;

/// A set value, insertion-ordered (see `SMEMBERS` for how the reply is ordered).
pub type SetValue = IndexSet<Vec<u8>, FixedState>;

/// A sorted set: member → score, plus the (score, member) order Redis's skiplist keeps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ZSetValue {
    scores: BTreeMap<Vec<u8>, f64>,
    order: BTreeSet<(ScoreKey, Vec<u8>)>,
}

/// A score ordered the way Redis compares them (never NaN: Redis refuses NaN scores).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreKey(pub f64);

impl Eq for ScoreKey {}

impl PartialOrd for ScoreKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ScoreKey {
    /// Redis compares scores with `<`, so `-0` and `0` are the same score (ordered by member).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .partial_cmp(&other.0)
            .unwrap_or_else(|| self.0.total_cmp(&other.0))
    }
}

impl ZSetValue {
    /// Sets `member`'s score; returns true if the member is new.
    pub fn insert(&mut self, member: Vec<u8>, score: f64) -> bool {
        let old = self.scores.insert(member.clone(), score);
        if let Some(old) = old {
            self.order.remove(&(ScoreKey(old), member.clone()));
        }
        self.order.insert((ScoreKey(score), member));
        old.is_none()
    }

    /// Removes `member`; returns true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove(member) {
            Some(score) => {
                self.order.remove(&(ScoreKey(score), member.to_vec()));
                true
            }
            None => false,
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// Members in ascending (score, member) order, as the skiplist stores them.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + ExactSizeIterator {
        self.order.iter().map(|(s, m)| (m.as_slice(), s.0))
    }
}

/// A value of one of the five classic Redis types.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    String(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }
}

/// A key's value and its absolute expiry time (unix milliseconds), if any.
///
/// Signed, as in Redis's `expires` dict: a replica stores whatever time its master sends
/// (`PEXPIREAT k -5`, or an RDB's `EXPIRETIME_MS`), and a time before 1970 behaves apart
/// from a past one (see [`Entry::is_expired`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub value: Value,
    pub expire_at_ms: Option<i64>,
}

impl Entry {
    /// True if a lookup sees the key as expired at `now_ms` (`keyIsExpired`: `now > when`).
    /// A negative time reads as no expiry there ("if (when < 0) return 0"), though the key
    /// keeps it: TTL answers 0 and INFO counts it among `expires`.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at_ms
            .is_some_and(|at| at >= 0 && now_ms as i64 > at)
    }

    /// True if the expiry time, negative ones included, is before `now_ms`: what a master's
    /// active expiry (`activeExpireTryExpire`: `now > t`) and a master's RDB load
    /// (`expiretime < now`) go by.
    pub fn is_due(&self, now_ms: u64) -> bool {
        self.expire_at_ms.is_some_and(|at| (now_ms as i64) > at)
    }
}

/// One database. Insertion-ordered (a removal moves the last key into the hole, like
/// `swap_remove`): as deterministic as byte order on every platform, and a hash lookup costs
/// a fraction of a B-tree walk over a hundred thousand keys. Redis's own dict has no useful
/// order either: KEYS and RDB files list keys in hash-table order.
pub type Db = IndexMap<Vec<u8>, Entry, FixedState>;

/// All databases of a node. Each is copy-on-write: copies of a node (the time-travel
/// checkpoints) share a database until one side writes to it, and equal databases of
/// different nodes (a master's and its replicas' in step) can be made one in memory
/// ([`Keyspace::share_dbs`]). Mutate through [`Keyspace::db_mut`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keyspace {
    pub dbs: Vec<Arc<Db>>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace {
            // One empty database shared by all sixteen until each is first written.
            dbs: std::iter::repeat_n(Arc::new(Db::default()), DB_COUNT).collect(),
        }
    }
}

/// Databases met so far in a sharing pass (see [`Keyspace::share_dbs`]).
pub type DbPool = Vec<Arc<Db>>;

impl Keyspace {
    /// Total number of keys over all databases (expired-but-not-deleted ones included).
    pub fn key_count(&self) -> usize {
        self.dbs.iter().map(|db| db.len()).sum()
    }

    /// Database `i`, for writing: copied first if a copy of this keyspace shares it.
    pub fn db_mut(&mut self, i: usize) -> &mut Db {
        Arc::make_mut(&mut self.dbs[i])
    }

    /// Makes each non-empty database equal to one already in `pool` the same one in memory,
    /// and adds the others to `pool`. Compares contents: call it rarely (checkpoints).
    pub fn share_dbs(&mut self, pool: &mut DbPool) {
        for db in self.dbs.iter_mut().filter(|db| !db.is_empty()) {
            match pool
                .iter()
                .find(|known| Arc::ptr_eq(known, db) || (known.len() == db.len() && known == &db))
            {
                Some(known) => *db = known.clone(),
                None => pool.push(db.clone()),
            }
        }
    }

    /// Memory accounting: each non-empty database goes to `shared` as (address, bytes),
    /// since copies and equal nodes share them. Walks every key: call it rarely.
    pub fn memory(&self, shared: &mut dyn FnMut(usize, usize)) {
        for db in self.dbs.iter().filter(|db| !db.is_empty()) {
            shared(Arc::as_ptr(db) as usize, db_bytes(db));
        }
    }

    /// Roughly the memory the data holds (keys, values, per-key bookkeeping), for the
    /// simulator's memory budgets. Walks every key: call it rarely.
    pub fn approx_bytes(&self) -> usize {
        self.dbs.iter().map(|db| db_bytes(db)).sum()
    }

    /// Removes every key of every database.
    pub fn flush_all(&mut self) {
        for db in self.dbs.iter_mut().filter(|db| !db.is_empty()) {
            *db = Arc::default();
        }
    }
}

/// Roughly the memory one database holds (see [`Keyspace::approx_bytes`]).
fn db_bytes(db: &Db) -> usize {
    const PER_ITEM: usize = 48;
    let item = |b: &Vec<u8>| b.len() + PER_ITEM;
    db.iter()
        .map(|(k, e)| {
            let value = match &e.value {
                Value::String(s) => s.len(),
                Value::List(l) => l.iter().map(item).sum(),
                Value::Hash(h) => h.iter().map(|(f, v)| item(f) + item(v)).sum(),
                Value::Set(s) => s.iter().map(item).sum(),
                Value::ZSet(z) => z.iter().map(|(m, _)| 2 * (m.len() + PER_ITEM)).sum(),
            };
            k.len() + value + std::mem::size_of::<Entry>() + PER_ITEM
        })
        .sum()
}
