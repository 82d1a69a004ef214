//! The active expire cycle of a master (expire.c `activeExpireCycle`, slow cycle).

use std::sync::Arc;

use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;

use super::Propagated;
use crate::engine::keyspace::Keyspace;

/// `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP` at the default `active-expire-effort 1`.
const KEYS_PER_LOOP: usize = 20;
/// `ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE`: repeat a db while more than 10% of a sample
/// was expired.
const ACCEPTABLE_STALE_PERCENT: usize = 10;
/// Safety bound on the repeat loop per db per call (Redis bounds it by time instead).
const MAX_ITERATIONS_PER_DB: usize = 64;

/// One run of Redis's active expiry on a master, meant to be called every `1000/hz` ms of
/// virtual time (`hz 10` → every 100 ms) only when the node is a master.
///
/// Redis walks `db->expires` with a bucket cursor, 20 keys per loop, and repeats while more
/// than 10% of the sampled keys were expired. Here, per db: take the volatile keys in key
/// order, start at a random offset chosen with `rng`, check up to 20 consecutive keys
/// (wrapping), delete the expired ones, and repeat while more than 10% were expired. A db
/// with at most 20 volatile keys is therefore fully checked on every call, and larger ones
/// converge within a few calls, so an expired key on a master is deleted well within a
/// second of virtual time. All 16 dbs are visited per call (Redis visits 16 per call too,
/// `CRON_DBS_PER_CALL`).
///
/// Each deletion propagates `DEL key` (`UNLINK key` with `lazyfree`) in that db. The ops are
/// never wrapped in MULTI/EXEC (`propagate_no_multi`): feed them to replicas one by one.
pub fn active_expire_cycle(
    keyspace: &mut Keyspace,
    now_ms: u64,
    rng: &mut ChaCha8Rng,
    lazyfree: bool,
) -> Vec<Propagated> {
    let cmd: &[u8] = if lazyfree { b"UNLINK" } else { b"DEL" };
    let mut ops = Vec::new();
    for (db_index, db) in keyspace.dbs.iter_mut().enumerate() {
        // Only a database with a key to delete is written (and so copied, if a checkpoint
        // shares it).
        for _ in 0..MAX_ITERATIONS_PER_DB {
            let volatile: Vec<&Vec<u8>> = db
                .iter()
                .filter(|(_, e)| e.expire_at_ms.is_some())
                .map(|(k, _)| k)
                .collect();
            if volatile.is_empty() {
                break;
            }
            let n = volatile.len();
            let start = (rng.next_u64() % n as u64) as usize;
            let sample = n.min(KEYS_PER_LOOP);
            let expired: Vec<Vec<u8>> = (0..sample)
                .map(|i| volatile[(start + i) % n])
                .filter(|k| db.get(*k).is_some_and(|e| e.is_due(now_ms)))
                .cloned()
                .collect();
            for key in &expired {
                Arc::make_mut(db).swap_remove(key);
                ops.push(Propagated {
                    db: db_index,
                    argv: vec![cmd.to_vec(), key.clone()],
                });
            }
            if expired.len() * 100 <= sample * ACCEPTABLE_STALE_PERCENT {
                break;
            }
        }
    }
    ops
}
