//! Every built-in scenario's description is read aloud to a class: each factual claim in it
//! is checked here against the run, at the moment the description implies. One test per
//! scenario, named after it; each assert message quotes the claim it checks. If a scenario's
//! steps or the engine change and a claim stops holding, fix the text or the steps.

use replscope::engine::backlog::BacklogModel;
use replscope::engine::event::{Event, LinkState, RdbTarget, ReplicaState};
use replscope::engine::node::Node;
use replscope::engine::psync::{PsyncDecision, PsyncRule};
use replscope::engine::resp::encode_command;
use replscope::sim::scenario::{self, Scenario};
use replscope::sim::timeline::Timeline;
use replscope::sim::{MsgKind, SimEvent};

/// One second, in the trace's microseconds.
const S: u64 = 1_000_000;
/// One millisecond.
const MS: u64 = 1_000;

/// A built-in scenario being run: times are microseconds since its start.
struct Run {
    scenario: Scenario,
    t: Timeline,
    start: u64,
}

/// An engine event: when (since the start), on which node, what.
type At<'a> = (u64, &'a str, &'a Event);

impl Run {
    fn new(name: &str) -> Run {
        let scenario = scenario::builtin_named(name).unwrap_or_else(|| panic!("no {name}"));
        let t = scenario.build(None).unwrap();
        let start = t.sim().now_us();
        Run { scenario, t, start }
    }

    /// Runs until `us` after the start.
    fn to(&mut self, us: u64) {
        self.t.run_until_us(self.start + us);
    }

    /// Runs to where the scenario's story ends.
    fn run_to_end(&mut self) {
        self.to(self.scenario.until_ms * MS);
    }

    fn node(&self, name: &str) -> &Node {
        let sim = self.t.sim();
        sim.node(sim.index_of(name).unwrap())
    }

    fn offset(&self, name: &str) -> i64 {
        self.node(name).master_repl_offset()
    }

    /// Every engine event so far.
    fn events(&self) -> Vec<At<'_>> {
        self.t
            .trace()
            .iter()
            .filter_map(|e| e.engine().map(|ev| (e.time_us - self.start, &*e.node, ev)))
            .collect()
    }

    /// The engine events of `node` matching `keep`.
    fn on<'a>(&'a self, node: &str, keep: impl Fn(&Event) -> bool) -> Vec<At<'a>> {
        self.events()
            .into_iter()
            .filter(|(_, n, e)| *n == node && keep(e))
            .collect()
    }

    /// The node's log lines (`Event::Log`) with their times.
    fn log(&self, node: &str) -> Vec<(u64, String)> {
        self.on(node, |e| matches!(e, Event::Log { .. }))
            .into_iter()
            .filter_map(|(t, _, e)| match e {
                Event::Log { text, .. } => Some((t, text.clone())),
                _ => None,
            })
            .collect()
    }

    /// PSYNC decisions taken by `master`.
    fn decisions(&self, master: &str) -> Vec<(u64, PsyncDecision)> {
        self.on(master, |e| matches!(e, Event::PsyncDecided { .. }))
            .into_iter()
            .filter_map(|(t, _, e)| match e {
                Event::PsyncDecided { decision, .. } => Some((t, (**decision).clone())),
                _ => None,
            })
            .collect()
    }

    /// `PSYNC <replid> <offset>` sent by `replica`.
    fn psyncs_sent(&self, replica: &str) -> Vec<(u64, String, i64)> {
        self.on(replica, |e| matches!(e, Event::PsyncSent { .. }))
            .into_iter()
            .filter_map(|(t, _, e)| match e {
                Event::PsyncSent { replid, offset } => Some((t, replid.clone(), *offset)),
                _ => None,
            })
            .collect()
    }

    /// Commands clients ran on `node` (not those its master sent): time, argv, error.
    fn client_commands(&self, node: &str) -> Vec<(u64, Vec<String>, Option<String>)> {
        self.on(node, |e| {
            matches!(
                e,
                Event::Command {
                    from_master: false,
                    ..
                }
            )
        })
        .into_iter()
        .filter_map(|(t, _, e)| match e {
            Event::Command { argv, error, .. } => Some((
                t,
                argv.strings().map(|s| s.into_owned()).collect(),
                error.clone(),
            )),
            _ => None,
        })
        .collect()
    }

    /// Commands `replica` ran because its master sent them.
    fn applied_from_master(&self, replica: &str) -> Vec<(u64, Vec<String>)> {
        self.on(replica, |e| {
            matches!(
                e,
                Event::Command {
                    from_master: true,
                    ..
                }
            )
        })
        .into_iter()
        .filter_map(|(t, _, e)| match e {
            Event::Command { argv, .. } => {
                Some((t, argv.strings().map(|s| s.into_owned()).collect()))
            }
            _ => None,
        })
        .collect()
    }

    /// Bytes that entered `node`'s replication stream: time, start, end, what.
    fn stream(&self, node: &str) -> Vec<(u64, i64, i64, String)> {
        self.on(node, |e| matches!(e, Event::Stream { .. }))
            .into_iter()
            .filter_map(|(t, _, e)| match e {
                Event::Stream { start, end, what } => Some((t, *start, *end, what.to_string())),
                _ => None,
            })
            .collect()
    }

    /// `node`'s offset at time `us`, from its stream events (`base` before the first).
    fn offset_at(&self, node: &str, us: u64, base: i64) -> i64 {
        self.stream(node)
            .into_iter()
            .filter(|(t, ..)| *t <= us)
            .map(|(_, _, end, _)| end)
            .next_back()
            .unwrap_or(base)
    }

    /// Segments sent from `from` to `to`: kind and arrival (µs since the start), in send
    /// order.
    fn arrivals(&self, from: &str, to: &str) -> Vec<(MsgKind, u64)> {
        self.t
            .trace()
            .iter()
            .filter_map(|e| match &e.event {
                SimEvent::Send(m) if &*m.from == from && &*m.to == to => {
                    Some((m.kind, m.arrives_us? - self.start))
                }
                _ => None,
            })
            .collect()
    }

    /// Times of the events of `node` matching `keep`.
    fn times(&self, node: &str, keep: impl Fn(&Event) -> bool) -> Vec<u64> {
        self.on(node, keep).into_iter().map(|(t, ..)| t).collect()
    }
}

/// True when `t` is the moment of a step at `at`, or within the few milliseconds a typed
/// command takes to reach its node.
fn near(t: u64, at: u64) -> bool {
    (at..at + 10 * MS).contains(&t)
}

fn secs(us: u64) -> f64 {
    us as f64 / S as f64
}

/// A full sync's buffered writes: sent after the whole RDB, as many bytes as the master's
/// stream grew since its BGSAVE started, and applied by the replica only after loading it.
/// Returns when the BGSAVE started, the RDB was handed over, the buffered bytes were sent and
/// the RDB was loaded.
fn buffered_writes_follow_the_rdb(r: &Run, master: &str, replica: &str, claim: &str) -> [u64; 4] {
    let (bgsave, fork_offset) = r
        .on(master, |e| matches!(e, Event::BgsaveStarted { .. }))
        .into_iter()
        .find_map(|(t, _, e)| match e {
            Event::BgsaveStarted { offset, .. } => Some((t, *offset)),
            _ => None,
        })
        .expect("a BGSAVE");
    let rdb_sent = r.times(master, |e| matches!(e, Event::RdbSent { .. }))[0];
    let (sent_at, bytes) = r
        .on(master, |e| matches!(e, Event::BufferedStreamSent { .. }))
        .into_iter()
        .find_map(|(t, _, e)| match e {
            Event::BufferedStreamSent { bytes, .. } => Some((t, *bytes)),
            _ => None,
        })
        .expect("buffered writes sent");
    let loaded = r.times(replica, |e| matches!(e, Event::RdbLoaded { .. }))[0];
    assert!(bytes > 0, "{claim}: {bytes} bytes buffered");
    assert_eq!(
        bytes as i64,
        r.offset_at(master, sent_at, 0) - fork_offset,
        "{claim}: the buffer holds every write since the BGSAVE started"
    );
    let arrivals = r.arrivals(master, replica);
    let rdb_done = arrivals
        .iter()
        .filter(|(k, _)| *k == MsgKind::Rdb)
        .map(|(_, t)| *t)
        .max()
        .expect("RDB segments");
    let first_write = arrivals
        .iter()
        .filter(|(k, t)| *k == MsgKind::Stream && *t > bgsave)
        .map(|(_, t)| *t)
        .min()
        .expect("writes sent to the replica");
    assert!(
        sent_at >= rdb_sent && first_write > rdb_done,
        "{claim}: the writes arrive only after the RDB's last byte"
    );
    let applied = r.applied_from_master(replica);
    assert!(
        applied.len() > 5 && applied.iter().all(|(t, _)| *t >= loaded),
        "{claim}: the replica applies the buffered writes after loading the RDB"
    );
    [bgsave, rdb_sent, sent_at, loaded]
}

#[test]
fn one_replica() {
    let mut r = Run::new("one-replica");
    assert_eq!(
        r.node("r1").master_addr(),
        Some(("m", 6379)),
        "r1 starts with `replicaof m 6379` in its configuration"
    );
    r.to(8 * S);
    let (_, replid, offset) = r.psyncs_sent("r1").remove(0);
    assert_eq!(
        (replid.as_str(), offset),
        ("?", -1),
        "its first PSYNC is `? -1`"
    );
    let (decided, decision) = r.decisions("m").remove(0);
    assert_eq!(
        decision.rule,
        PsyncRule::FullResyncRequested,
        "the master answers +FULLRESYNC"
    );
    let bgsaves = r.on("m", |e| matches!(e, Event::BgsaveStarted { .. }));
    let (bgsave, _, Event::BgsaveStarted { target, .. }) = bgsaves[0] else {
        unreachable!()
    };
    let delay = r.t.sim().nodes()[0].config.repl_diskless_sync_delay;
    assert_eq!(delay, 5, "repl-diskless-sync-delay = 5 s");
    assert!(
        *target == RdbTarget::Socket && (4 * S..=6 * S).contains(&(bgsave - decided)),
        "takes a snapshot (diskless, after repl-diskless-sync-delay = 5 s): {target:?} after {} s",
        secs(bgsave - decided)
    );
    let loaded = r.on("r1", |e| matches!(e, Event::RdbLoaded { .. }));
    assert!(
        matches!(loaded[..], [(t, _, Event::RdbLoaded { keys: 1, .. })] if t > bgsave),
        "and streams it (the RDB carries the key written at 1 s): {loaded:?}"
    );
    r.to(9 * S);
    assert!(
        r.applied_from_master("r1")
            .iter()
            .any(|(t, argv)| *t < 8 * S + 100 * MS && argv == &["SET", "counter", "1"]),
        "Then every write on m flows to r1 (SET counter 1 at 8 s)"
    );
    let counter = r.node("r1").keyspace().dbs[0].contains_key(b"counter".as_slice());
    assert!(
        counter,
        "Then every write on m flows to r1 (GET counter at 9 s)"
    );
    r.run_to_end();
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "Then every write on m flows to r1"
    );
}

#[test]
fn many_replicas() {
    let mut r = Run::new("many-replicas");
    r.run_to_end();
    let decided: Vec<u64> = r.decisions("m").iter().map(|(t, _)| *t).collect();
    assert!(
        decided.len() == 3 && decided[2] - decided[0] < 10 * MS,
        "Three replicas attach at the same time: {decided:?}"
    );
    let bgsaves = r.on("m", |e| matches!(e, Event::BgsaveStarted { .. }));
    assert_eq!(
        bgsaves.len(),
        1,
        "one snapshot serves them all: a single BGSAVE"
    );
    let (
        at,
        _,
        Event::BgsaveStarted {
            target,
            replicas,
            offset,
            ..
        },
    ) = bgsaves[0]
    else {
        unreachable!()
    };
    assert_eq!(
        (*target, replicas.len()),
        (RdbTarget::Socket, 3),
        "With diskless sync … one snapshot serves them all"
    );
    let delay = r.t.sim().nodes()[0].config.repl_diskless_sync_delay * S;
    assert!(
        at - decided[0] + S >= delay && at - decided[0] <= delay + S,
        "the master waits repl-diskless-sync-delay seconds: {} s",
        secs(at - decided[0])
    );
    let streams = r.on("m", |e| matches!(e, Event::RdbSent { .. }));
    assert!(
        streams.len() == 3 && streams.iter().all(|(t, ..)| *t == at),
        "three RDB streams: {streams:?}"
    );
    for replica in ["r1", "r2", "r3"] {
        let loaded = r.on(replica, |e| matches!(e, Event::RdbLoaded { .. }));
        assert!(
            matches!(loaded[..], [(_, _, Event::RdbLoaded { offset: o, .. })] if o == offset),
            "three RDB streams (of one snapshot): {replica} {loaded:?}"
        );
    }
}

#[test]
fn chain() {
    let mut r = Run::new("chain");
    r.run_to_end();
    for (replica, master) in [("r1", "m"), ("r2", "r1"), ("r3", "r1")] {
        assert_eq!(
            r.node(replica).master_addr(),
            Some((master, 6379)),
            "r1 replicates m and feeds r2 and r3"
        );
    }
    assert_eq!(
        r.decisions("m").len(),
        1,
        "r1 … feeds r2 and r3 (m serves r1 only)"
    );
    assert!(
        r.decisions("r1").len() >= 2,
        "r1 … feeds r2 and r3 (r1 answers their PSYNCs)"
    );
    assert!(
        r.on("r1", |e| matches!(e, Event::PingSent { .. }))
            .is_empty()
            && r.stream("r1")
                .iter()
                .all(|(.., what)| what == "stream" || what == "ping"),
        "r1 generates nothing itself"
    );
    let first = ["m", "r1", "r2", "r3"]
        .iter()
        .map(|n| r.node(n).backlog().unwrap().first_byte_offset())
        .max()
        .unwrap();
    let bytes = |n: &str| r.node(n).backlog().unwrap().bytes_from(first).unwrap();
    assert!(!bytes("m").is_empty());
    for n in ["r1", "r2", "r3"] {
        assert!(
            bytes(n) == bytes("m"),
            "it forwards exactly the bytes it applied ({n})"
        );
        assert_eq!(
            (r.node(n).replid(), r.offset(n)),
            (r.node("m").replid(), r.offset("m")),
            "all four nodes share one replication ID and the same offsets ({n})"
        );
    }
}

#[test]
fn continuous_replication() {
    let mut r = Run::new("continuous-replication");
    r.to(7 * S);
    for replica in ["r1", "r2"] {
        assert!(
            r.node(replica).master_addr().is_some()
                && !r
                    .on(replica, |e| matches!(e, Event::RdbLoaded { .. }))
                    .is_empty(),
            "After the first sync ({replica} synced before the writes start)"
        );
    }
    r.run_to_end();
    let stream = r.stream("m");
    assert!(
        stream.windows(2).all(|w| w[1].1 == w[0].2 + 1) && stream[0].1 == 1,
        "master_repl_offset counts every byte (each write starts where the last ended)"
    );
    assert_eq!(
        stream.last().unwrap().2,
        r.offset("m"),
        "master_repl_offset counts every byte"
    );
    let writes: Vec<_> = r
        .client_commands("m")
        .into_iter()
        .filter(|(_, argv, _)| argv[0] == "SET" && argv[1].starts_with("key:"))
        .collect();
    assert!(writes.len() > 100);
    let backlog = r.node("m").backlog().unwrap();
    for (t, argv, _) in &writes {
        let mut resp = Vec::new();
        encode_command(argv, &mut resp);
        let (_, start, end, _) = stream
            .iter()
            .find(|(at, _, _, what)| at == t && what == "set")
            .unwrap_or_else(|| panic!("every write is … appended: {argv:?} at {t}"));
        assert_eq!(
            (end - start + 1) as usize,
            resp.len(),
            "every write is re-encoded as RESP"
        );
        assert!(
            backlog.bytes_from(*start).unwrap().starts_with(&resp),
            "every write is re-encoded as RESP, appended to the backlog"
        );
    }
    let m_bytes = backlog.bytes_from(1).unwrap();
    for replica in ["r1", "r2"] {
        assert_eq!(
            r.node(replica).backlog().unwrap().bytes_from(1).unwrap(),
            m_bytes,
            "and sent to the replicas ({replica})"
        );
    }
    let pings: Vec<_> = stream.iter().filter(|(.., w)| w == "ping").collect();
    assert!(
        pings.len() >= 2
            && pings.iter().all(|(_, s, e, _)| e - s + 1 == 14)
            && pings.windows(2).all(|w| w[1].0 - w[0].0 == 10 * S),
        "PINGs (every 10 s) add 14 bytes: {pings:?}"
    );
    for replica in ["r1", "r2"] {
        let acks: Vec<(u64, i64)> = r
            .on(replica, |e| matches!(e, Event::AckSent { .. }))
            .into_iter()
            .filter_map(|(t, _, e)| match e {
                Event::AckSent { offset } => Some((t, *offset)),
                _ => None,
            })
            .filter(|(t, _)| *t > 6 * S)
            .collect();
        assert!(
            acks.len() >= 20
                && acks
                    .windows(2)
                    .all(|w| (S - 5 * MS..=S + 5 * MS).contains(&(w[1].0 - w[0].0))),
            "the replicas ACK … every second ({replica})"
        );
        for (t, offset) in acks {
            assert_eq!(
                offset,
                r.offset_at(replica, t, 0),
                "the replicas ACK their offset ({replica} at {t} µs)"
            );
        }
    }
    let tx: Vec<&str> = stream
        .iter()
        .filter(|(t, ..)| (20 * S..21 * S).contains(t))
        .map(|(.., w)| w.as_str())
        .collect();
    let unit = tx.iter().position(|w| *w == "multi").map(|i| &tx[i..i + 4]);
    assert_eq!(
        unit,
        Some(&["multi", "incr", "set", "exec"][..]),
        "The MULTI/EXEC at 20 s is sent as MULTI, INCR, SET, EXEC"
    );
}

#[test]
fn first_full_sync() {
    let mut r = Run::new("first-full-sync");
    let own_replid = r.node("r1").replid().to_string();
    let m_replid = r.node("m").replid().to_string();
    r.to(2 * S - 1);
    assert!(
        ["user:1", "user:2", "user:3", "queue"]
            .iter()
            .all(|k| r.node("m").keyspace().dbs[0].contains_key(k.as_bytes())),
        "m already holds data (an MSET and an RPUSH)"
    );
    assert!(r.node("r1").master_addr().is_none(), "r1 was a master");
    r.run_to_end();
    assert!(
        r.client_commands("r1")
            .iter()
            .any(|(t, argv, _)| near(*t, 2 * S) && argv.join(" ") == "REPLICAOF m 6379"),
        "A student types REPLICAOF m 6379 on r1"
    );
    assert_eq!(
        r.psyncs_sent("r1")
            .into_iter()
            .map(|(_, id, off)| (id, off))
            .collect::<Vec<_>>(),
        [(own_replid, 1)],
        "so it offers its own history (PSYNC <its replid> 1)"
    );
    let decisions = r.decisions("m");
    assert_eq!(
        decisions.len(),
        1,
        "m refuses it (replication ID mismatch): one full sync"
    );
    assert_eq!(
        decisions[0].1.rule,
        PsyncRule::ReplidMismatch,
        "m refuses it (replication ID mismatch)"
    );
    let decided = decisions[0].0;
    let created = r.times("m", |e| matches!(e, Event::BacklogCreated { .. }));
    let new_replid = r.node("m").replid();
    assert!(
        created == [decided] && new_replid != m_replid,
        "creates its backlog with a new replid"
    );
    let full = r.on("m", |e| matches!(e, Event::FullResyncSent { .. }));
    assert!(
        matches!(full[..], [(_, _, Event::FullResyncSent { replid, .. })] if replid == new_replid),
        "creates its backlog with a new replid (+FULLRESYNC carries it)"
    );
    let bgsave = r.on("m", |e| matches!(e, Event::BgsaveStarted { .. }));
    let [(
        _,
        _,
        Event::BgsaveStarted {
            target, rdb_bytes, ..
        },
    )] = bgsave[..]
    else {
        panic!("one BGSAVE: {bgsave:?}")
    };
    assert_eq!(*target, RdbTarget::Disk, "runs a BGSAVE to disk");
    assert!(
        (400_000..460_000).contains(rdb_bytes),
        "m already holds about 430 KB: {rdb_bytes} bytes"
    );
    let claim = "the writes made meanwhile wait in r1's output buffer and follow the RDB";
    let [started, rdb_sent, buffered_sent, loaded] =
        buffered_writes_follow_the_rdb(&r, "m", "r1", claim);
    let crossing = buffered_sent - rdb_sent;
    assert!(
        (1_300 * MS..=1_800 * MS).contains(&crossing),
        "The RDB takes about 1.5 s to cross (250 KB/s): {} s",
        secs(crossing)
    );
    assert!(
        loaded - started >= S,
        "the sync takes over a second: {} s",
        secs(loaded - started)
    );
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "follow the RDB (r1 ends with m's data and offset)"
    );
}

#[test]
fn partial_sync() {
    let mut r = Run::new("partial-sync");
    r.to(10 * S);
    let (m_at_cut, r1_at_cut) = (r.offset("m"), r.offset("r1"));
    r.to(13 * S - 1);
    assert!(
        r.offset("m") > m_at_cut && r.offset("r1") == r1_at_cut,
        "The link is cut for 3 seconds while m keeps writing"
    );
    assert!(
        r.log("r1")
            .iter()
            .any(|(t, l)| *t == 10 * S && l == "Connection with master lost."),
        "The link is cut"
    );
    r.run_to_end();
    let (_, replid, offset) = r.psyncs_sent("r1").pop().unwrap();
    assert_eq!(
        (replid.as_str(), offset),
        (r.node("m").replid(), r1_at_cut + 1),
        "When it heals, r1 asks PSYNC <replid> <offset+1>"
    );
    let (at, decision) = r.decisions("m").pop().unwrap();
    assert!(at >= 13 * S, "When it heals");
    let i = &decision.inputs;
    assert!(
        i.backlog
            .is_some_and(|(first, _)| first <= i.requested_offset),
        "the bytes are still in m's backlog"
    );
    assert_eq!(decision.rule, PsyncRule::Continue, "m answers +CONTINUE");
    let missing = i.master_repl_offset + 1 - i.requested_offset;
    assert!(
        r.log("m").iter().any(|(t, l)| *t == at
            && l.contains(&format!(
                "Sending {missing} bytes of backlog starting from offset {offset}"
            ))),
        "sends exactly the missing bytes ({missing})"
    );
    assert!(
        r.on("r1", |e| matches!(e, Event::RdbLoaded { .. }))
            .iter()
            .all(|(t, ..)| *t < 10 * S),
        "+CONTINUE (no RDB after the cut)"
    );
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "sends exactly the missing bytes (r1 ends equal to m)"
    );
}

#[test]
fn backlog_too_small() {
    let mut r = Run::new("backlog-too-small");
    r.to(9 * S);
    let backlog = r.node("m").backlog().unwrap();
    assert_eq!(
        (backlog.size(), backlog.model()),
        (16 * 1024, BacklogModel::Ring),
        "The backlog is the minimum 16 KB circular buffer"
    );
    let (m_at_cut, r1_at_cut) = (r.offset("m"), r.offset("r1"));
    r.to(13 * S - 1);
    let written = r.offset("m") - m_at_cut;
    assert!(
        (45_000..=60_000).contains(&written),
        "During a 4 s cut m writes about 50 KB: {written} bytes"
    );
    let wraps = r.times("m", |e| matches!(e, Event::BacklogWrapped { .. }));
    assert!(
        wraps
            .iter()
            .filter(|t| (9 * S..13 * S).contains(*t))
            .count()
            >= 2,
        "the write head wraps"
    );
    assert!(
        r.node("m").backlog().unwrap().first_byte_offset() > r1_at_cut + 1,
        "and overwrites the bytes r1 needs"
    );
    r.run_to_end();
    let (at, decision) = r.decisions("m").pop().unwrap();
    let i = &decision.inputs;
    assert!(at >= 13 * S, "On reconnect");
    assert_eq!(
        i.requested_offset,
        r1_at_cut + 1,
        "On reconnect the requested offset"
    );
    assert!(
        i.backlog
            .is_some_and(|(first, _)| i.requested_offset < first),
        "the requested offset is before the backlog's first byte"
    );
    assert_eq!(
        decision.rule,
        PsyncRule::OffsetBeforeBacklog,
        "so m answers +FULLRESYNC"
    );
    assert!(
        r.times("r1", |e| matches!(e, Event::RdbLoaded { .. }))
            .iter()
            .any(|t| *t > at),
        "m answers +FULLRESYNC (r1 loads a new RDB)"
    );
}

#[test]
fn heartbeat_timeout() {
    let mut r = Run::new("heartbeat-timeout");
    r.to(9 * S);
    let (m_at, r1_at) = (r.offset("m"), r.offset("r1"));
    r.run_to_end();
    let timeouts = |n: &str| r.times(n, |e| matches!(e, Event::Timeout { .. }));
    let (m_timeouts, r1_timeouts) = (timeouts("m"), timeouts("r1"));
    assert!(
        m_timeouts.len() == 1 && r1_timeouts.len() == 1,
        "Only the heartbeats notice: one timeout each"
    );
    let noticed = m_timeouts[0].min(r1_timeouts[0]);
    let lost = |n: &str| {
        r.log(n)
            .into_iter()
            .filter(|(t, l)| (9 * S..noticed).contains(t) && l.contains("lost"))
            .count()
    };
    assert_eq!(lost("m") + lost("r1"), 0, "partitioned, not cut: no reset");
    assert!(
        r.offset_at("m", noticed - 1, 0) > m_at && r.offset_at("r1", noticed - 1, 0) == r1_at,
        "bytes just stop (m writes on, r1 receives nothing)"
    );
    let timeout = r.t.sim().nodes()[1].config.repl_timeout * S;
    assert_eq!(timeout, 10 * S, "repl-timeout (10 s here)");
    let r1_heard = r.offset_at("r1", 9 * S, 0);
    let r1_last = r
        .stream("r1")
        .into_iter()
        .filter(|(_, _, end, _)| *end == r1_heard)
        .map(|(t, ..)| t)
        .next()
        .unwrap();
    let (t, _, e) = r.on("r1", |e| matches!(e, Event::Timeout { .. }))[0];
    assert!(
        matches!(e, Event::Timeout { what, .. } if what == "master silent")
            && t - r1_last >= timeout
            && t <= 9 * S + timeout + S + 10 * MS,
        "After repl-timeout (10 s here) r1 gives up on m (no data nor PING): {} s after the last byte",
        secs(t - r1_last)
    );
    let last_ack = r
        .times("m", |e| matches!(e, Event::AckReceived { .. }))
        .into_iter()
        .rfind(|t| *t < 9 * S + 10 * MS)
        .unwrap();
    let (t, _, e) = r.on("m", |e| matches!(e, Event::Timeout { .. }))[0];
    assert!(
        matches!(e, Event::Timeout { what, .. } if what == "replica stopped acknowledging")
            && t - last_ack >= timeout
            && t <= 9 * S + timeout + S + 10 * MS,
        "m drops r1 (no ACK): {} s after the last ACK",
        secs(t - last_ack)
    );
    assert!(
        r.log("m")
            .iter()
            .any(|(at, l)| *at == t && l == "Connection with replica r1:6379 lost."),
        "m drops r1"
    );
    let (at, decision) = r.decisions("m").pop().unwrap();
    assert!(
        at >= 25 * S && decision.rule == PsyncRule::Continue,
        "When the partition heals, r1 reconnects and continues partially"
    );
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "continues partially (and catches up)"
    );
}

#[test]
fn chained_proxy() {
    let mut r = Run::new("chained-proxy");
    r.to(15 * S);
    assert_eq!(
        (r.node("r1").master_addr(), r.node("r2").master_addr()),
        (Some(("m", 6379)), Some(("r1", 6379))),
        "m → r1 → r2"
    );
    let replid = r.node("r1").replid().to_string();
    let (r1_at_cut, r2_at_cut) = (r.offset("r1"), r.offset("r2"));
    assert_eq!(r1_at_cut, r2_at_cut);
    r.to(18 * S - 1);
    assert_eq!(
        r.offset("r2"),
        r2_at_cut,
        "r2 stays connected to r1 but receives nothing"
    );
    r.run_to_end();
    let during_cut = |t: &u64| (15 * S..18 * S).contains(t);
    assert!(
        r.arrivals("r1", "r2").iter().all(|(_, t)| !during_cut(t)),
        "r2 … receives nothing (no segment from r1 arrives during the cut)"
    );
    assert!(
        r.on("r2", |e| matches!(
            e,
            Event::LinkStateChanged { .. } | Event::PsyncSent { .. } | Event::RdbLoaded { .. }
        ))
        .iter()
        .all(|(t, ..)| *t < 15 * S),
        "r2 stays connected to r1 … r2 is untouched"
    );
    let (at, decision) = r.decisions("m").pop().unwrap();
    assert!(
        at >= 18 * S && decision.rule == PsyncRule::Continue,
        "When r1 continues partially"
    );
    assert!(
        r.node("r1").replid() == replid
            && r.node("r2").replid() == replid
            && decision.inputs.requested_replid == replid,
        "with the same ID"
    );
    let after: Vec<_> = r
        .stream("r2")
        .into_iter()
        .filter(|(t, ..)| *t >= 18 * S)
        .collect();
    assert!(
        after
            .first()
            .is_some_and(|(_, start, ..)| *start == r2_at_cut + 1),
        "the missing bytes flow down the chain (from r2's offset on)"
    );
    assert_eq!(
        (r.offset("r2"), r.node("r2").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "the missing bytes flow down the chain"
    );
}

#[test]
fn failover() {
    let mut r = Run::new("failover");
    r.to(10 * S);
    let old_replid = r.node("m").replid().to_string();
    r.to(12 * S - 1);
    let r1_offset = r.offset("r1");
    assert_eq!(
        (r1_offset, r.offset("r2")),
        (r.offset_at("r1", 10 * S, 0), r.offset_at("r2", 10 * S, 0)),
        "m dies; writes stop"
    );
    for n in ["r1", "r2"] {
        assert!(
            r.log(n)
                .iter()
                .any(|(t, l)| (10 * S..11 * S).contains(t) && l == "Connection with master lost."),
            "m dies ({n} sees it)"
        );
    }
    r.to(12 * S + 10 * MS);
    let changed = r.on("r1", |e| matches!(e, Event::ReplicationIdChanged { .. }));
    let Some((
        t,
        _,
        Event::ReplicationIdChanged {
            replid2,
            second_replid_offset,
            ..
        },
    )) = changed.last()
    else {
        panic!("r1 changes its replid")
    };
    assert!(
        near(*t, 12 * S) && r.node("r1").master_addr().is_none(),
        "A teacher promotes r1 (REPLICAOF NO ONE)"
    );
    assert_eq!(
        (replid2.as_str(), *second_replid_offset),
        (old_replid.as_str(), r1_offset + 1),
        "it keeps the old replid as replid2, valid up to its offset + 1"
    );
    r.to(15 * S - 1);
    let (_, sent, _) = r.psyncs_sent("r2").pop().unwrap();
    let (_, decision) = r.decisions("r1").pop().unwrap();
    assert!(
        sent == old_replid && decision.rule == PsyncRule::Continue,
        "r2 is pointed at r1 and continues partially with the old ID"
    );
    r.to(15 * S + 100 * MS);
    assert_eq!(
        r.node("m").keyspace().key_count(),
        0,
        "When m comes back empty"
    );
    r.run_to_end();
    let (at, decision) = r.decisions("r1").pop().unwrap();
    assert!(
        at > 15 * S && !decision.is_continue(),
        "and joins as a replica of r1, it needs a full sync"
    );
    assert!(
        r.times("m", |e| matches!(e, Event::RdbLoaded { .. }))
            .iter()
            .any(|t| *t > at),
        "it needs a full sync (m loads r1's RDB)"
    );
    assert_eq!(
        r.node("m").keyspace(),
        r.node("r1").keyspace(),
        "joins as a replica of r1"
    );
}

#[test]
fn min_replicas() {
    let mut r = Run::new("min-replicas");
    r.run_to_end();
    let m = &r.t.sim().nodes()[0].config;
    assert_eq!(
        (m.min_replicas_to_write, m.min_replicas_max_lag),
        (1, 10),
        "min-replicas-to-write (1) … min-replicas-max-lag (10 s)"
    );
    let writes = r.client_commands("m");
    let outcome = |at: u64| {
        writes
            .iter()
            .find(|(t, argv, _)| near(*t, at) && argv[0] == "SET")
            .map(|(_, _, e)| e.clone())
            .unwrap_or_else(|| panic!("a write at {at} µs"))
    };
    let refused = Some("NOREPLICAS Not enough good replicas to write.".to_string());
    let acks = r.times("m", |e| matches!(e, Event::AckReceived { .. }));
    let last_ack = |at: u64| acks.iter().rfind(|t| **t <= at).copied().unwrap();
    assert_eq!(
        outcome(7 * S),
        None,
        "m refuses writes unless … (accepted at 7 s)"
    );
    assert!(
        r.log("m")
            .iter()
            .chain(r.log("r1").iter())
            .all(|(t, l)| !(8 * S..25 * S).contains(t) || !l.contains("lost")),
        "partition r1→m, the link stays up"
    );
    assert!(
        acks.iter().all(|t| !(8 * S + 10 * MS..22 * S).contains(t)),
        "At 8 s r1's ACKs stop"
    );
    assert_eq!(outcome(12 * S), None, "the write at 12 s is accepted");
    assert_eq!(outcome(20 * S), refused, "the one at 20 s refused");
    assert!(
        20 * S - last_ack(20 * S) > 10 * S,
        "its last REPLCONF ACK is at most min-replicas-max-lag (10 s) old (at 20 s it is {} s)",
        secs(20 * S - last_ack(20 * S))
    );
    assert!(
        acks.iter().any(|t| (22 * S..23 * S).contains(t)),
        "After the heal the ACKs arrive"
    );
    assert_eq!(outcome(24 * S), None, "and writes are accepted again");
    assert!(
        r.log("m")
            .iter()
            .any(|(t, l)| *t == 25 * S && l == "Connection with replica r1:6379 lost."),
        "At 25 s a cut resets the link: m drops r1"
    );
    assert_eq!(
        outcome(25 * S + 500 * MS),
        refused,
        "and refuses writes at once"
    );
    assert!(
        25 * S + 500 * MS - last_ack(25 * S + 500 * MS) < 10 * S,
        "refuses writes at once (not because of the lag)"
    );
    let (at, decision) = r.decisions("m").pop().unwrap();
    assert!(
        at > 27 * S && decision.rule == PsyncRule::Continue,
        "until r1 is back with +CONTINUE"
    );
    assert_eq!(outcome(29 * S), None, "until r1 is back (accepted at 29 s)");
}

#[test]
fn stale_reads() {
    let mut r = Run::new("stale-reads");
    r.run_to_end();
    let reads: Vec<u64> = r
        .client_commands("r1")
        .into_iter()
        .filter(|(_, argv, e)| argv == &["GET", "key:1"] && e.is_none())
        .map(|(t, ..)| t)
        .collect();
    let stale: Vec<(u64, Option<String>, Option<String>)> =
        r.t.trace()
            .iter()
            .filter_map(|e| match &e.event {
                SimEvent::StaleRead {
                    key,
                    replica_value,
                    master_value,
                } if key == "key:1" && &*e.node == "r1" => Some((
                    e.time_us - r.start,
                    replica_value.clone(),
                    master_value.clone(),
                )),
                _ => None,
            })
            .collect();
    assert!(
        !reads.is_empty() && stale.iter().all(|(_, r1, m)| r1 != m),
        "a client reading from r1 sees what r1 has applied, not what m holds"
    );
    let during = |t: &u64| (8 * S..=14 * S).contains(t);
    let (n_reads, n_stale) = (
        reads.iter().filter(|t| during(t)).count(),
        stale.iter().filter(|(t, ..)| during(t)).count(),
    );
    assert!(
        n_reads >= 20 && n_stale * 4 >= n_reads * 3,
        "a reader polling key:1 on r1 keeps seeing older values than m has: {n_stale} of {n_reads}"
    );
    let delays: Vec<u64> = r
        .t
        .trace()
        .iter()
        .filter_map(|e| match &e.event {
            SimEvent::Send(m) if &*m.from == "m" && &*m.to == "r1" && m.kind == MsgKind::Stream => {
                m.arrives_us.map(|a| a - m.sent_us)
            }
            _ => None,
        })
        .collect();
    assert!(
        !delays.is_empty() && delays.iter().all(|d| *d >= 400 * MS),
        "With 400 ms of latency on the m–r1 link"
    );
    let last_write = r
        .client_commands("m")
        .iter()
        .filter(|(_, argv, _)| argv[0] == "SET")
        .map(|(t, ..)| *t)
        .max()
        .unwrap();
    assert!(
        (14 * S - 200 * MS..=14 * S).contains(&last_write),
        "The workload stops at 14 s"
    );
    let caught_up = r
        .applied_from_master("r1")
        .iter()
        .map(|(t, _)| *t)
        .max()
        .unwrap();
    assert!(
        caught_up <= 14 * S + 500 * MS,
        "and r1 catches up (by {} s)",
        secs(caught_up)
    );
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "and r1 catches up"
    );
}

#[test]
fn big_full_sync() {
    let mut r = Run::new("big-full-sync");
    r.run_to_end();
    let Some((_, _, Event::BgsaveStarted { rdb_bytes, .. })) = r
        .on("m", |e| matches!(e, Event::BgsaveStarted { .. }))
        .first()
        .copied()
    else {
        panic!("a BGSAVE")
    };
    assert!(
        (3_500_000..4_500_000).contains(rdb_bytes),
        "m holds about 4 MB: {rdb_bytes} bytes"
    );
    let claim = "the writes made meanwhile wait behind it in r1's output buffer";
    let [_, rdb_sent, buffered_sent, ..] = buffered_writes_follow_the_rdb(&r, "m", "r1", claim);
    let crossing = buffered_sent - rdb_sent;
    let expected = *rdb_bytes as u64 * S / 1_000_000;
    assert!(
        crossing >= 3 * S && crossing.abs_diff(expected) < 300 * MS,
        "The m–r1 link carries 1 MB/s, so the RDB takes about 4 s to cross: {} s",
        secs(crossing)
    );
    assert_eq!(
        (r.offset("r1"), r.node("r1").keyspace()),
        (r.offset("m"), r.node("m").keyspace()),
        "r1 ends with m's data"
    );
}

#[test]
fn output_buffer_limit() {
    let mut r = Run::new("output-buffer-limit");
    r.to(2 * S);
    let from = r.offset("m");
    r.to(19 * S);
    let rate = (r.offset("m") - from) / 17;
    assert!(
        (100_000..=140_000).contains(&rate),
        "m keeps writing about 120 KB/s: {rate} B/s"
    );
    r.run_to_end();
    let rdbs: Vec<usize> = r
        .on("m", |e| matches!(e, Event::BgsaveStarted { .. }))
        .into_iter()
        .filter_map(|(_, _, e)| match e {
            Event::BgsaveStarted { rdb_bytes, .. } => Some(*rdb_bytes),
            _ => None,
        })
        .collect();
    assert!(
        rdbs.iter().all(|b| (180_000..=220_000).contains(b)),
        "its 200 KB RDB: {rdbs:?}"
    );
    let drops: Vec<(u64, usize)> = r
        .on("m", |e| matches!(e, Event::OutputBufferLimit { .. }))
        .into_iter()
        .filter_map(|(t, _, e)| match e {
            Event::OutputBufferLimit { bytes, .. } => Some((t, *bytes)),
            _ => None,
        })
        .collect();
    assert!(
        drops.len() >= 5 && drops.iter().all(|(t, _)| *t < 20 * S),
        "a loop (until 20 s): {} drops",
        drops.len()
    );
    assert!(
        drops.iter().all(|(_, b)| *b > 64 * 1024 && *b < 80 * 1024),
        "Above client-output-buffer-limit replica (here 64 KB hard), m drops r1"
    );
    let loaded = r.times("r1", |e| matches!(e, Event::RdbLoaded { .. }));
    assert!(
        loaded.iter().all(|t| *t > 20 * S),
        "While r1 receives its RDB (it never finishes loading one before 20 s)"
    );
    let decisions = r.decisions("m");
    let lost = r.log("m");
    for (t, _) in &drops {
        assert!(
            lost.iter()
                .any(|(at, l)| at == t && l == "Connection with replica r1:6379 lost."),
            "m drops r1"
        );
        assert!(
            decisions
                .iter()
                .any(|(at, d)| at > t && at - t < S && !d.is_continue()),
            "which reconnects and needs a new full sync"
        );
    }
    let limit = r
        .on("m", |e| matches!(e, Event::OutputBufferLimit { .. }))
        .len();
    assert_eq!(limit, drops.len(), "At 20 s the limit is removed");
    assert!(
        loaded.len() == 1 && r.node("r1").keyspace().key_count() == 100,
        "and the sync completes"
    );
    let online = r.on("m", |e| {
        matches!(
            e,
            Event::ReplicaStateChanged {
                state: ReplicaState::Online,
                ..
            }
        )
    });
    assert!(
        online.iter().any(|(t, ..)| *t > 20 * S),
        "and the sync completes (r1 online)"
    );
    let link = r.on("r1", |e| matches!(e, Event::LinkStateChanged { .. }));
    assert!(
        matches!(
            link.last(),
            Some((
                _,
                _,
                Event::LinkStateChanged {
                    state: LinkState::Connected
                }
            ))
        ),
        "and the sync completes (r1's link connected)"
    );
}
