//! Golden test: the `blocks` backlog model against a real Redis 7.0.15 master.
//!
//! `tests/golden/backlog/fixture.txt` was captured by `capture.sh` (next to it) from
//! Debian's redis-server: after every step of known write sequences, the master's
//! `master_repl_offset`, `repl_backlog_first_byte_offset`, `repl_backlog_histlen` and
//! `repl_backlog_size`. This test replays the same steps on the model the way the Redis event
//! loop runs them and demands identical figures, so block sizing (jemalloc classes), the trim
//! rule and replicas' references are all checked against the real thing. No server is needed
//! to run it.

use replscope::engine::backlog::{Backlog, BacklogModel, PinId};

const FIXTURE: &str = include_str!("golden/backlog/fixture.txt");
const SELECT0: &[u8] = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";

struct Scenario {
    name: String,
    backlog: Backlog,
    /// The one replica's reference (set up at its full sync, when the offset was 0).
    pin: Option<PinId>,
    /// The replica reads everything it is sent before the next step (`replica=online`).
    online: bool,
    /// The first SET after the full sync carries a SELECT (`slaveseldb` was reset to -1).
    selected: bool,
    checked: usize,
}

impl Scenario {
    fn new(line: &str) -> Self {
        let mut words = line.split_whitespace().skip(1);
        let name = words.next().expect("name").to_string();
        let field = |w: Option<&str>, key: &str| {
            w.and_then(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("{key} in {line}"))
                .to_string()
        };
        let size: usize = field(words.next(), "size=").parse().unwrap();
        let mode = field(words.next(), "replica=");
        // The first replica's SYNC creates the backlog at master_repl_offset 0; the fork
        // (disk sync, no delay) puts it in WAIT_BGSAVE_END with a NULL reference.
        let mut backlog = Backlog::new(BacklogModel::Blocks, size, 0);
        let pin = Some(backlog.pin(1));
        Scenario {
            name,
            backlog,
            pin,
            online: mode == "online",
            selected: false,
            checked: 0,
        }
    }

    /// After a command: `beforeSleep` writes to the replica (if it is reading), then trims.
    fn before_sleep(&mut self) {
        if self.online {
            self.drain();
        }
        self.backlog.trim();
    }

    fn drain(&mut self) {
        let pin = self.pin.expect("a replica to drain");
        let end = self.backlog.master_offset() + 1;
        self.backlog.advance_pin(pin, end);
    }

    fn step(&mut self, line: &str) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w[0] {
            "set" => {
                if !self.selected {
                    self.backlog.append(SELECT0);
                    self.selected = true;
                }
                let value = vec![b'x'; w[2].parse().unwrap()];
                self.backlog
                    .append_command(&[b"SET", w[1].as_bytes(), &value]);
                self.before_sleep();
            }
            "config" => {
                self.backlog.resize(w[1].parse().unwrap());
                self.before_sleep();
            }
            "drain" => {
                self.online = true;
                self.before_sleep();
            }
            "unpin" => {
                let pin = self.pin.take().expect("a replica to remove");
                self.backlog.unpin(pin);
                self.backlog.trim();
            }
            "expect" => {
                let want: Vec<i64> = w[1..].iter().map(|v| v.parse().unwrap()).collect();
                let b = &self.backlog;
                let got = vec![
                    b.master_offset(),
                    b.first_byte_offset(),
                    b.histlen(),
                    b.size() as i64,
                ];
                assert_eq!(
                    got, want,
                    "{}: step {} (master_repl_offset, first_byte_offset, histlen, size)",
                    self.name, self.checked
                );
                b.check_invariants().unwrap();
                self.checked += 1;
            }
            other => panic!("unknown fixture line {other}"),
        }
    }
}

#[test]
fn blocks_model_matches_redis_7_0_info() {
    let mut scenarios: Vec<Scenario> = Vec::new();
    for line in FIXTURE.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("scenario ") {
            scenarios.push(Scenario::new(line));
        } else {
            scenarios.last_mut().expect("scenario first").step(line);
        }
    }
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "small-16kb",
            "large-1mb",
            "online-16kb",
            "wait-16kb",
            "tiny-config-100"
        ]
    );
    for s in &scenarios {
        assert!(s.checked > 20, "{} has too few checks", s.name);
    }
}

/// The figure the spec quotes (16kb, offset 72027 → first byte 20441, histlen 51587) is what
/// the trim rule gives while a replica still references the second block; with no reference
/// the same stream keeps one block less (first byte 40881). Same rule, different refcounts.
#[test]
fn spec_example_needs_a_reference_on_the_second_block() {
    let mut b = Backlog::new(BacklogModel::Blocks, 16 * 1024, 0);
    let pin = b.pin(1);
    let mut fed = 0;
    while fed < 72027 {
        let n = 100.min(72027 - fed);
        b.append(&vec![b'x'; n]);
        fed += n;
    }
    // The replica has sent block 0 and sits in block 1.
    b.advance_pin(pin, 30_000);
    b.trim();
    assert_eq!((b.first_byte_offset(), b.histlen()), (20441, 51587));
    b.unpin(pin);
    b.trim();
    assert_eq!((b.first_byte_offset(), b.histlen()), (40881, 31147));
}
