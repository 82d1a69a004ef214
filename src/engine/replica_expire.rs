//! A writable replica's own expiring keys (expire.c `slaveKeysWithExpire`,
//! `expireSlaveKeys`). A replica never expires its master's keys (the master's `DEL` does),
//! but keys a client gave an expire on a `replica-read-only no` replica have no master to
//! delete them: the replica remembers them and deletes them itself when they are due.

use std::collections::BTreeMap;

use super::keyspace::Keyspace;

/// Consecutive still-valid keys after which a cycle stops (`noexpire > 3`).
const NOEXPIRE_STOP: usize = 3;

/// The remembered keys: name → bitmap of the dbs (0–63) it was given an expire in. Bounded
/// by the keyspace: an entry is dropped by the first cycle that finds its key gone or
/// without an expire, and everything is forgotten when the whole keyspace is flushed.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplicaKeysWithExpire {
    keys: BTreeMap<Vec<u8>, u64>,
    /// Where the next cycle starts (Redis picks random keys; a cursor visits all in turn).
    cursor: Vec<u8>,
}

impl ReplicaKeysWithExpire {
    /// `rememberSlaveKeyWithExpire` (dbs past 63 are not tracked, as in Redis).
    pub(crate) fn remember(&mut self, db: usize, key: Vec<u8>) {
        if db <= 63 {
            *self.keys.entry(key).or_default() |= 1 << db;
        }
    }

    /// `flushSlaveKeysWithExpireList`: new keys from a master may take these names.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.cursor.clear();
    }

    /// Bytes held, for the simulator's memory budget.
    pub(crate) fn memory(&self) -> usize {
        self.keys.keys().map(|k| k.capacity() + 48).sum::<usize>() + self.cursor.capacity()
    }

    /// One `expireSlaveKeys` run: deletes due keys, stops after more than three valid ones
    /// or a full round. Returns the keys it deleted, with their db, for the watchers they
    /// touch (nothing is propagated: a replica has nothing to tell its own replicas).
    pub(crate) fn expire_cycle(
        &mut self,
        keyspace: &mut Keyspace,
        now_ms: u64,
    ) -> Vec<(usize, Vec<u8>)> {
        let mut deleted = Vec::new();
        let mut noexpire = 0;
        // At most one round over the keys, resuming where the last cycle stopped.
        for _ in 0..self.keys.len() {
            let next = self
                .keys
                .range(self.cursor.clone()..)
                .next()
                .or_else(|| self.keys.iter().next());
            let Some((name, &dbs)) = next else {
                break;
            };
            let name = name.clone();
            let mut kept = 0u64;
            for db in (0..64).filter(|d| dbs & (1 << d) != 0) {
                if db >= keyspace.dbs.len() {
                    continue;
                }
                let Some(entry) = keyspace.dbs[db].get(name.as_slice()) else {
                    continue;
                };
                if entry.expire_at_ms.is_none() {
                    continue;
                }
                if entry.is_due(now_ms) {
                    keyspace.db_mut(db).swap_remove(name.as_slice());
                    deleted.push((db, name.clone()));
                } else {
                    noexpire += 1;
                    kept |= 1 << db;
                }
            }
            if kept == 0 {
                self.keys.remove(&name);
            } else {
                self.keys.insert(name.clone(), kept);
            }
            self.cursor = name;
            self.cursor.push(0);
            if noexpire > NOEXPIRE_STOP {
                break;
            }
        }
        deleted
    }
}
