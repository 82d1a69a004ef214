//! The RDB loader on arbitrary files (every encoding: ziplists, listpacks, intsets, LZF,
//! zipmaps): an error or a dataset, never a panic or an allocation the file only claims.
//! A dataset it loads saves and loads again to the same keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::engine::rdb;

fuzz_target!(|data: &[u8]| {
    let Ok(loaded) = rdb::load(data) else {
        return;
    };
    let opts = rdb::SaveOptions {
        redis_ver: "7.0.15",
        ctime_secs: 0,
        used_mem: 0,
        repl: None,
        // Both ways of writing strings round-trip.
        rdbcompression: data.first().is_some_and(|b| b & 1 == 1),
    };
    let again = rdb::load(&rdb::save(&loaded.keyspace, &opts)).expect("our own RDB loads");
    assert_eq!(again.keyspace.key_count(), loaded.keyspace.key_count());
});
