//! Replays tests/golden/commands.txt through replscope's engine and compares every reply,
//! byte for byte, with the raw RESP that a real redis-server 7.0.15 sent for the same lines
//! (captured by tests/golden/capture_commands.sh; redis-server is not needed here).

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replscope::engine::commands::{
    execute, lookup, unknown_command, wrong_arity, ExecCtx, ExpireView, Handler,
};
use replscope::engine::keyspace::Keyspace;
use replscope::engine::resp::{parse_reply, split_args, Reply};

const COMMANDS: &str = include_str!("golden/commands.txt");
const REPLIES: &[u8] = include_bytes!("golden/commands.resp");

/// The node's dispatch, reduced to what the golden file exercises.
fn run(ks: &mut Keyspace, db: &mut usize, rng: &mut ChaCha8Rng, argv: &[Vec<u8>]) -> Reply {
    let Some(spec) = lookup(&argv[0]) else {
        return unknown_command(argv);
    };
    if !spec.arity_ok(argv.len()) {
        return wrong_arity(spec.name);
    }
    assert!(
        matches!(spec.handler, Handler::Data(_)),
        "node command in golden list"
    );
    let mut ctx = ExecCtx::new(ks, *db, 1_700_000_000_000, ExpireView::Master, rng);
    let (reply, _ops) = execute(&mut ctx, spec, argv);
    *db = ctx.db;
    reply
}

#[test]
fn replies_match_redis_7_0() {
    let mut ks = Keyspace::default();
    let mut db = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut rest = REPLIES;
    let mut failures = Vec::new();
    for line in COMMANDS.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let argv = split_args(line.as_bytes()).expect("quoted line");
        let (expected, used) = parse_reply(rest)
            .expect("valid fixture")
            .expect("a reply per command line");
        rest = &rest[used..];
        let got = run(&mut ks, &mut db, &mut rng, &argv);
        if got.encode() != expected.encode() {
            failures.push(format!(
                "{line}\n   redis: {:?}\n   ours:  {:?}",
                String::from_utf8_lossy(&expected.encode()),
                String::from_utf8_lossy(&got.encode())
            ));
        }
    }
    assert!(rest.is_empty(), "fixture has more replies than commands");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const PROP_COMMANDS: &str = include_str!("golden/propagation.txt");
const PROP_STREAM: &[u8] = include_bytes!("golden/propagation.stream");

/// What a master node does with `execute`'s ops: group them per execution unit, wrap with
/// `wrap_unit`, and emit `SELECT <db>` whenever the db differs from the last one fed
/// (`replicationFeedSlaves`; the replica just full-synced, so the first op gets a SELECT).
struct Feeder {
    stream: Vec<u8>,
    seldb: Option<usize>,
}

impl Feeder {
    fn feed(&mut self, ops: Vec<replscope::engine::commands::Propagated>) {
        for op in ops {
            if self.seldb != Some(op.db) {
                let db = op.db.to_string();
                replscope::engine::resp::encode_command(
                    &[b"SELECT".as_slice(), db.as_bytes()],
                    &mut self.stream,
                );
                self.seldb = Some(op.db);
            }
            replscope::engine::resp::encode_command(&op.argv, &mut self.stream);
        }
    }
}

#[test]
fn propagation_matches_redis_7_0_stream() {
    use replscope::engine::commands::wrap_unit;
    let mut ks = Keyspace::default();
    let mut db = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut feeder = Feeder {
        stream: Vec::new(),
        seldb: None,
    };
    let mut queued: Option<Vec<Vec<Vec<u8>>>> = None;
    let lines = PROP_COMMANDS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .chain(std::iter::once("SET __end__ 1"));
    for line in lines {
        let argv = split_args(line.as_bytes()).expect("quoted line");
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        match (name.as_str(), queued.as_mut()) {
            ("multi", None) => queued = Some(Vec::new()),
            ("exec", Some(_)) => {
                let mut unit = Vec::new();
                for argv in queued.take().unwrap_or_default() {
                    let spec = lookup(&argv[0]).expect("known command");
                    let mut ctx =
                        ExecCtx::new(&mut ks, db, 1_700_000_000_000, ExpireView::Master, &mut rng);
                    let (_, ops) = execute(&mut ctx, spec, &argv);
                    db = ctx.db;
                    unit.extend(ops);
                }
                feeder.feed(wrap_unit(unit, lookup(b"exec").expect("exec")));
            }
            (_, Some(q)) => q.push(argv),
            (_, None) => {
                let spec = lookup(&argv[0]).expect("known command");
                let mut ctx =
                    ExecCtx::new(&mut ks, db, 1_700_000_000_000, ExpireView::Master, &mut rng);
                let (_, ops) = execute(&mut ctx, spec, &argv);
                db = ctx.db;
                feeder.feed(wrap_unit(ops, spec));
            }
        }
    }
    let show = |b: &[u8]| String::from_utf8_lossy(b).replace("\r\n", " ");
    assert_eq!(show(&feeder.stream), show(PROP_STREAM));
}
