//! `maxmemory` with `noeviction`, side by side with a real redis-server 7.0: the same `-OOM`
//! error for commands that may grow the dataset, reads and deletions still served, writes
//! accepted again once something is deleted, MULTI refusing to queue while full, and the
//! configuration replies (range errors, the policy) in Redis's words.

mod support;

use replscope::engine::resp::Reply;
use support::Server;

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Writes 10 KB values until the server answers an error; returns how many were accepted
/// and the error.
fn fill(server: &Server) -> (usize, String) {
    let value = "v".repeat(10 * 1024);
    for i in 0..10_000 {
        match server.cmd(&["SET", &format!("key:{i}"), &value]) {
            Reply::Simple(_) => {}
            Reply::Error(e) => return (i, e),
            other => panic!("{}: SET answered {other:?}", server.kind),
        }
    }
    panic!("{}: 100 MB written under maxmemory 4mb", server.kind);
}

#[test]
fn a_full_node_refuses_growing_writes_like_redis() {
    let args = ["--maxmemory", "4mb"];
    let servers = [Server::redis(&args), Server::replscope(&args)];
    let mut accepted = Vec::new();
    for s in &servers {
        let (n, error) = fill(s);
        assert_eq!(error, OOM, "{}", s.kind);
        accepted.push(n);
        // Reads still work; so does a command that frees memory.
        assert_eq!(s.cmd(&["EXISTS", "key:0"]), Reply::Integer(1), "{}", s.kind);
        assert_eq!(
            s.cmd(&["INCR", "counter"]),
            Reply::Error(OOM.into()),
            "{}: INCR is denyoom",
            s.kind
        );
        // MULTI itself is fine, but nothing may be queued, not even a read; EXEC aborts.
        let replies = support::pipeline(
            s.port,
            &support::lines(&[
                "MULTI".into(),
                "GET key:0".into(),
                "EXEC".into(),
                "DISCARD".into(),
            ]),
        );
        assert_eq!(
            replies,
            [
                Reply::Simple("OK".into()),
                Reply::Error(OOM.into()),
                Reply::Error("EXECABORT Transaction discarded because of previous errors.".into()),
                Reply::Error("ERR DISCARD without MULTI".into()),
            ],
            "{}",
            s.kind
        );
        // Deleting half the keys makes room again.
        let keys: Vec<String> = (0..n / 2).map(|i| format!("key:{i}")).collect();
        let mut del = vec!["DEL"];
        del.extend(keys.iter().map(String::as_str));
        assert_eq!(s.cmd(&del), Reply::Integer((n / 2) as i64), "{}", s.kind);
        assert_eq!(s.cmd(&["SET", "again", "1"]), Reply::Simple("OK".into()));
    }
    // Both hold about 4 MB of 10 KB values: replscope's estimate of used memory is within
    // a third of Redis's allocator count.
    let (real, ours) = (accepted[0] as f64, accepted[1] as f64);
    assert!(
        (ours - real).abs() / real < 0.34,
        "redis took {real} values before OOM, replscope {ours}"
    );
}

#[test]
fn memory_configuration_answers_like_redis() {
    let real = Server::redis(&[]);
    let ours = Server::replscope(&[]);
    for argv in [
        &["CONFIG", "SET", "maxmemory", "abc"][..],
        &["CONFIG", "SET", "maxmemory", "-1"],
        &["CONFIG", "SET", "maxmemory-policy", "sometimes"],
        &["CONFIG", "SET", "proto-max-bulk-len", "1000"],
        &["CONFIG", "SET", "maxmemory", "10mb"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CONFIG", "SET", "replica-ignore-maxmemory", "no"],
        &["CONFIG", "GET", "slave-ignore-maxmemory"],
        &["CONFIG", "SET", "proto-max-bulk-len", "2mb"],
        &["CONFIG", "GET", "proto-max-bulk-len"],
    ] {
        assert_eq!(ours.cmd(argv), real.cmd(argv), "{argv:?}");
    }
    assert_eq!(ours.info("memory", "maxmemory"), "10485760");
    assert_eq!(ours.info("memory", "maxmemory_human"), "10.00M");
    assert_eq!(ours.info("memory", "maxmemory_policy"), "noeviction");
    // APPEND past proto-max-bulk-len (2 MB now) is refused with checkStringLength's error.
    let half = "x".repeat(1024 * 1024 + 1);
    for s in [&real, &ours] {
        assert_eq!(
            s.cmd(&["APPEND", "big", &half]),
            Reply::Integer(half.len() as i64)
        );
        assert_eq!(
            s.cmd(&["APPEND", "big", &half]),
            Reply::Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()),
            "{}",
            s.kind
        );
    }
    // A policy Redis has but replscope does not implement is refused, not silently ignored.
    assert_eq!(
        ours.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        Reply::Error(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - replscope only implements maxmemory-policy noeviction".into()
        )
    );
}
