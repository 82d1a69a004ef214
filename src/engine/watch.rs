//! WATCH: optimistic locking for MULTI/EXEC, as in Redis 7.0.15's `multi.c`.
//!
//! - `WATCH key…` remembers `(db, key)` for the client, each once, with whether the key was
//!   already logically expired then (`watchedKey.expired`).
//! - A write that modifies a key (`signalModifiedKey` → [`Watches::touch`]) marks every
//!   client watching it `CLIENT_DIRTY_CAS` and forgets all that client's watched keys — with
//!   7.0.15's quirk kept: a watcher that watched the key already expired is spared when the
//!   modification deleted the key, and when the key still exists the walk over the key's
//!   watchers *stops* there (`break`), sparing the watchers after it too.
//! - FLUSHDB, FLUSHALL, SWAPDB and a replica's full sync touch every watched key that exists
//!   in the emptied (or the swapped-in) database ([`Watches::touch_all_in_db`]); their
//!   watchers stay dirty but keep their keys.
//! - EXEC fails (`*-1`) when the client is dirty or a watched key (not expired when watched)
//!   has expired since; EXEC, DISCARD, UNWATCH and disconnecting forget the keys and the flag.
//!
//! Memory: a client holds at most one entry per distinct `(db, key)` it watched, each the
//! key's bytes (each argument was already bounded by the query buffer limits); Redis puts
//! no other bound on it, and neither does replscope.

use std::collections::BTreeMap;

use super::keyspace::Db;
use super::node::ConnId;

/// One key a client watches (`watchedKey`).
#[derive(Clone, Debug)]
struct WatchedKey {
    db: usize,
    key: Vec<u8>,
    /// The key was logically expired when watched.
    expired: bool,
}

/// One client's watch state: its keys, in the order watched, and `CLIENT_DIRTY_CAS`.
#[derive(Clone, Debug, Default)]
struct ClientWatch {
    keys: Vec<WatchedKey>,
    dirty_cas: bool,
}

/// Every client's watched keys, and per key the clients watching it in the order they
/// watched (`db->watched_keys`).
#[derive(Clone, Debug, Default)]
pub struct Watches {
    by_key: BTreeMap<(usize, Vec<u8>), Vec<ConnId>>,
    clients: BTreeMap<ConnId, ClientWatch>,
}

impl Watches {
    /// True if no client watches any key (`touchWatchedKey`'s quick return).
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// `CLIENT_DIRTY_CAS`: a watched key of `conn` was modified.
    pub fn is_dirty(&self, conn: ConnId) -> bool {
        self.clients.get(&conn).is_some_and(|c| c.dirty_cas)
    }

    /// How many keys `conn` watches.
    pub fn watched_count(&self, conn: ConnId) -> usize {
        self.clients.get(&conn).map_or(0, |c| c.keys.len())
    }

    /// `conn`'s entry for `key` of `db`, if it watches it.
    fn watched_key(&mut self, conn: ConnId, db: usize, key: &[u8]) -> Option<&mut WatchedKey> {
        self.clients
            .get_mut(&conn)?
            .keys
            .iter_mut()
            .find(|wk| wk.db == db && wk.key == key)
    }

    /// `watchForKey`: `conn` watches `key` of `db` (once); `expired` is `keyIsExpired` now.
    pub fn watch(&mut self, conn: ConnId, db: usize, key: &[u8], expired: bool) {
        let client = self.clients.entry(conn).or_default();
        if client.keys.iter().any(|wk| wk.db == db && wk.key == key) {
            return;
        }
        client.keys.push(WatchedKey {
            db,
            key: key.to_vec(),
            expired,
        });
        self.by_key
            .entry((db, key.to_vec()))
            .or_default()
            .push(conn);
    }

    /// `unwatchAllKeys`: `conn` watches nothing; its dirty flag stays.
    fn unwatch_all(&mut self, conn: ConnId) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        for wk in std::mem::take(&mut client.keys) {
            let slot = (wk.db, wk.key);
            if let Some(watchers) = self.by_key.get_mut(&slot) {
                watchers.retain(|c| *c != conn);
                if watchers.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
    }

    /// `unwatchAllKeys` and the `CLIENT_DIRTY_CAS` flag cleared: UNWATCH, EXEC, DISCARD, a
    /// disconnect.
    pub fn forget(&mut self, conn: ConnId) {
        self.unwatch_all(conn);
        self.clients.remove(&conn);
    }

    /// `isWatchedKeyExpired`: a key of `conn` not expired when watched is expired now.
    pub fn watched_key_expired(
        &self,
        conn: ConnId,
        expired: impl Fn(usize, &[u8]) -> bool,
    ) -> bool {
        self.clients.get(&conn).is_some_and(|c| {
            c.keys
                .iter()
                .any(|wk| !wk.expired && expired(wk.db, &wk.key))
        })
    }

    /// Marks `conn` dirty (EXEC found a watched key expired).
    pub fn set_dirty(&mut self, conn: ConnId) {
        self.clients.entry(conn).or_default().dirty_cas = true;
    }

    /// `touchWatchedKey`: `key` of `db` was modified; `exists` says whether it is in the
    /// database now (`dictFind`, expired or not).
    pub fn touch(&mut self, db: usize, key: &[u8], exists: bool) {
        if self.by_key.is_empty() {
            return;
        }
        let Some(watchers) = self.by_key.get(&(db, key.to_vec())) else {
            return;
        };
        for conn in watchers.clone() {
            let Some(wk) = self.watched_key(conn, db, key) else {
                continue;
            };
            if wk.expired {
                if !exists {
                    // An expired key deleted: logically no change.
                    wk.expired = false;
                    continue;
                }
                // 7.0.15 leaves the loop here: neither this watcher nor the later ones
                // are marked.
                break;
            }
            self.set_dirty(conn);
            self.unwatch_all(conn);
        }
    }

    /// `touchAllWatchedKeysInDb`: `db` (holding `emptied`) is flushed, or replaced by
    /// `replaced_with` (SWAPDB, a full sync's swap); expiry is read at `now_ms`, or not at
    /// all (`None`) while loading, when `keyIsExpired` answers 0 (a full sync's swap).
    pub fn touch_all_in_db(
        &mut self,
        db: usize,
        emptied: &Db,
        replaced_with: Option<&Db>,
        now_ms: Option<u64>,
    ) {
        let slots: Vec<(usize, Vec<u8>)> = self
            .by_key
            .range((db, Vec::new())..)
            .take_while(|((d, _), _)| *d == db)
            .map(|(slot, _)| slot.clone())
            .collect();
        for slot in slots {
            let key = slot.1.as_slice();
            let exists_in_emptied = emptied.contains_key(key);
            let replacement = replaced_with.and_then(|r| r.get(key));
            if !exists_in_emptied && replacement.is_none() {
                continue;
            }
            let replacement_expired =
                now_ms.is_some_and(|now| replacement.is_some_and(|e| e.is_expired(now)));
            let Some(watchers) = self.by_key.get(&slot).cloned() else {
                continue;
            };
            for conn in watchers {
                let Some(wk) = self.watched_key(conn, db, key) else {
                    continue;
                };
                if wk.expired {
                    if replacement.is_none() {
                        wk.expired = false;
                        continue;
                    } else if replacement_expired {
                        continue;
                    }
                } else if !exists_in_emptied && replacement_expired {
                    wk.expired = true;
                    continue;
                }
                self.set_dirty(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 7.0.15's `touchWatchedKey`: a watcher that watched the key already expired stops the
    /// walk while the key exists (sparing the watchers after it), and is merely cleared of
    /// its flag once the key is deleted; then the next touch marks everyone.
    #[test]
    fn an_expired_watch_stops_the_walk_while_the_key_exists() {
        let (a, b) = (ConnId::In(1), ConnId::In(2));
        let mut w = Watches::default();
        w.watch(a, 0, b"k", true);
        w.watch(b, 0, b"k", false);
        w.touch(0, b"k", true);
        assert!(!w.is_dirty(a) && !w.is_dirty(b));
        w.touch(0, b"k", false);
        assert!(!w.is_dirty(a) && w.is_dirty(b));
        assert_eq!(w.watched_count(b), 0, "a dirty client forgets its keys");
        w.touch(0, b"k", true);
        assert!(w.is_dirty(a));
        w.forget(a);
        w.forget(b);
        assert!(w.is_empty() && !w.is_dirty(a));
    }

    /// A db replaced by one holding the key already expired spares a watcher that watched
    /// it expired (`touchAllWatchedKeysInDb`), unless the replacement happens while loading
    /// (a full sync's swap), when nothing reads as expired and the watcher is marked.
    #[test]
    fn a_swap_while_loading_sees_no_key_expired() {
        use crate::engine::keyspace::{Entry, Value};
        let expired = Entry {
            value: Value::String(b"v".to_vec()),
            expire_at_ms: Some(1_000),
        };
        let mut old = Db::default();
        old.insert(b"k".to_vec(), expired.clone());
        let new = old.clone();
        for (now, dirty) in [(Some(5_000), false), (None, true)] {
            let a = ConnId::In(1);
            let mut w = Watches::default();
            w.watch(a, 0, b"k", true);
            w.touch_all_in_db(0, &old, Some(&new), now);
            assert_eq!(w.is_dirty(a), dirty, "{now:?}");
        }
    }
}
