//! What a scenario or a run file may ask of the simulator. Every number these files carry has
//! a range here, checked when the file is loaded (the CLI and the page share the loader) and
//! when an action is applied, so that a mistyped or hostile file gets a clear error instead
//! of an aborted process, a frozen tab or a time that silently wraps around. The README's
//! "Scenario and run files" section lists the same ranges for authors.
//!
//! Times are kept in microseconds from [`super::EPOCH_MS`], so a millisecond count is only
//! accepted up to [`MAX_TIME_MS`]: multiplied by 1000 and added to the epoch it cannot
//! overflow.

use super::Action;

/// Most nodes a run has at once: the page draws each with its links, consoles and panels,
/// and every step looks at every node's timer.
pub const MAX_NODES: usize = 16;

/// Most nodes a run ever creates, removed ones included: a removed node keeps its name
/// (names are not reused) and its state, so adding and removing without end would grow the
/// run without bound.
pub const MAX_NODES_CREATED: usize = 2 * MAX_NODES;

/// Longest node name: it is a host name in REPLICAOF, a lane label and a console title.
pub const NODE_NAME_MAX_LEN: usize = 16;

/// Latest moment (ms from the start) a file may name: a step's `at_ms`, `until_ms`, a
/// check's `*_ms`, a recorded action's time, a reader's period. A year: far beyond any
/// lesson, and a page played at 100× all day long stays inside it; a millisecond count this
/// size, in microseconds, still fits the clock many times over.
pub const MAX_TIME_MS: u64 = 366 * 24 * 3_600_000;

/// Longest one-way link latency or jitter (ms): a minute, as long as the default
/// `repl-timeout`; longer only piles up what is in flight.
pub const MAX_LATENCY_MS: u64 = 60_000;

/// Most writes per second of a workload: ten times the page's busiest choice (1000/s).
/// Each write is a simulation step on the master and on every replica, so a million a
/// second (a write every microsecond) is more than any run can hold.
pub const MAX_WORKLOAD_RATE: u64 = 10_000;

/// Most bytes per second a workload may write (`rate` × `value_size`, a stopped workload
/// counted as one write per second, so a single value is never bigger either). The page
/// runs the same simulator in wasm, where each node holds `maxmemory` 16 MB: a second of
/// such writes fills a node, and a single value of 2 GB would freeze the tab for seconds
/// before failing. The busiest built-in (`big-full-sync`) writes 10 MB/s.
pub const WORKLOAD_BYTES_PER_S_MAX: u64 = 16 << 20;

/// A node name is 1 to [`NODE_NAME_MAX_LEN`] letters, digits or `-`: a host name, never
/// markup or spaces.
pub fn check_node_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > NODE_NAME_MAX_LEN
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!(
            "bad node name '{name}': 1 to {NODE_NAME_MAX_LEN} letters, digits or '-'"
        ));
    }
    Ok(())
}

/// A time in ms from the start (`what` names the field) within [`MAX_TIME_MS`].
pub fn check_time_ms(what: &str, ms: u64) -> Result<(), String> {
    in_range(what, ms, 0, MAX_TIME_MS, "ms")
}

/// A link latency or jitter (`what` names the field) within [`MAX_LATENCY_MS`].
pub fn check_latency_ms(what: &str, ms: u64) -> Result<(), String> {
    in_range(what, ms, 0, MAX_LATENCY_MS, "ms")
}

/// The numbers of an action within their ranges, and a new node's name and options valid:
/// what can be checked without knowing the run it is applied to.
pub fn check_action(action: &Action) -> Result<(), String> {
    match action {
        Action::Slow {
            latency_ms,
            jitter_ms,
            ..
        } => {
            check_latency_ms("latency_ms", *latency_ms)?;
            check_latency_ms("jitter_ms", *jitter_ms)
        }
        Action::AddNode { name, config } => {
            check_node_name(name)?;
            let mut options = super::sim_config();
            for (k, v) in config {
                options
                    .set(k, v)
                    .map_err(|e| format!("node '{name}': {}", e.reply_text()))?;
            }
            Ok(())
        }
        Action::Workload {
            rate, value_size, ..
        } => {
            in_range("rate", *rate, 0, MAX_WORKLOAD_RATE, "writes/s")?;
            let bytes_per_s = (*rate).max(1).saturating_mul(*value_size as u64);
            if bytes_per_s > WORKLOAD_BYTES_PER_S_MAX {
                return Err(format!(
                    "a workload of {} writes/s of {value_size} bytes writes {bytes_per_s} bytes/s; \
                     the most is {WORKLOAD_BYTES_PER_S_MAX} bytes/s ({} MB/s: rate × value_size)",
                    (*rate).max(1),
                    WORKLOAD_BYTES_PER_S_MAX >> 20
                ));
            }
            Ok(())
        }
        Action::Reader { every_ms, .. } => check_time_ms("every_ms", *every_ms),
        Action::Exec { .. } => super::console::refuse_line(action).map_or(Ok(()), Err),
        Action::Cut { .. }
        | Action::Partition { .. }
        | Action::Heal { .. }
        | Action::Kill { .. }
        | Action::Restart { .. }
        | Action::Remove { .. }
        | Action::Pause { .. }
        | Action::Resume { .. } => Ok(()),
    }
}

/// Why a node named `name` cannot join a run whose nodes so far are `nodes` (name, removed),
/// if it cannot: the name is taken (removed nodes' too: their replicas still dial it), or
/// the run is at [`MAX_NODES`] or [`MAX_NODES_CREATED`].
pub fn refuse_new_node<'a>(
    name: &str,
    nodes: impl Iterator<Item = (&'a str, bool)> + Clone,
) -> Option<String> {
    if let Some((_, removed)) = nodes.clone().find(|(n, _)| *n == name) {
        return Some(if removed {
            format!("a node named '{name}' was removed; names are not reused")
        } else {
            format!("a node named '{name}' exists")
        });
    }
    let live = nodes.clone().filter(|(_, removed)| !removed).count();
    if live >= MAX_NODES {
        return Some(format!(
            "the run has {live} nodes, the most it runs at once"
        ));
    }
    if nodes.count() >= MAX_NODES_CREATED {
        return Some(format!(
            "the run has created {MAX_NODES_CREATED} nodes (removed ones count), the most it creates"
        ));
    }
    None
}

/// `value` (of field `what`, in `unit`) within `min..=max`, or an error saying the range.
fn in_range(what: &str, value: u64, min: u64, max: u64, unit: &str) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{what} is {value}; it must be between {min} and {max} {unit}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(rate: u64, value_size: usize) -> Action {
        Action::Workload {
            node: "m".into(),
            rate,
            keys: 100,
            value_size,
        }
    }

    /// The budget is rate × value_size, a stopped workload's value counted once: the
    /// busiest built-in fits, the values that aborted the CLI or froze the page do not.
    #[test]
    fn a_workload_is_held_to_its_byte_budget() {
        assert_eq!(check_action(&workload(1000, 10_000)), Ok(()));
        assert_eq!(check_action(&workload(0, 16)), Ok(()));
        let too_big = check_action(&workload(1, 100_000_000_000)).unwrap_err();
        assert!(
            too_big.contains("the most is 16777216 bytes/s"),
            "{too_big}"
        );
        assert!(check_action(&workload(0, 2_000_000_000)).is_err());
        assert!(check_action(&workload(2000, 10_000)).is_err());
        assert!(check_action(&workload(1_000_000, 1))
            .unwrap_err()
            .contains("rate is 1000000; it must be between 0 and 10000 writes/s"));
    }

    #[test]
    fn times_latencies_and_periods_have_ranges() {
        assert_eq!(check_time_ms("until_ms", MAX_TIME_MS), Ok(()));
        assert!(check_time_ms("until_ms", MAX_TIME_MS + 1).is_err());
        // At the limit, in µs after the epoch, the clock does not overflow.
        assert!((MAX_TIME_MS * 1000)
            .checked_add(super::super::EPOCH_MS * 1000)
            .is_some());
        let slow = |latency_ms, jitter_ms| Action::Slow {
            a: "m".into(),
            b: "r1".into(),
            latency_ms,
            jitter_ms,
            bandwidth_bps: 0,
            both: true,
        };
        assert_eq!(check_action(&slow(MAX_LATENCY_MS, 0)), Ok(()));
        assert!(check_action(&slow(0, MAX_LATENCY_MS + 1)).is_err());
        let reader = |every_ms| Action::Reader {
            node: "r1".into(),
            key: "k".into(),
            every_ms,
        };
        assert!(check_action(&reader(u64::MAX / 10)).is_err());
    }

    #[test]
    fn a_new_node_has_a_host_name_and_valid_options() {
        let add = |name: &str, config: Vec<(String, String)>| Action::AddNode {
            name: name.into(),
            config,
        };
        assert_eq!(check_action(&add("r-9", vec![])), Ok(()));
        for bad in [
            "<img src=x onerror=alert(1)>",
            "",
            "a b",
            "seventeen-chars-x",
        ] {
            assert!(
                check_action(&add(bad, vec![]))
                    .unwrap_err()
                    .starts_with("bad node name"),
                "{bad}"
            );
        }
        let cfg = vec![("repl-timeout".to_string(), "0".to_string())];
        assert!(check_action(&add("r9", cfg))
            .unwrap_err()
            .contains("argument must be between 1 and 2147483647"));
    }

    #[test]
    fn a_new_node_needs_a_free_name_and_room() {
        let names: Vec<String> = (0..MAX_NODES_CREATED).map(|i| format!("n{i}")).collect();
        // The first MAX_NODES are live, the rest removed.
        let nodes = |n: usize| {
            names[..n]
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), i >= MAX_NODES))
                .collect::<Vec<_>>()
        };
        let refuse = |n: usize, name: &str| refuse_new_node(name, nodes(n).into_iter());
        assert_eq!(refuse(2, "x"), None);
        assert_eq!(refuse(2, "n1"), Some("a node named 'n1' exists".into()));
        assert!(refuse(MAX_NODES, "x")
            .unwrap()
            .contains("the most it runs at once"));
        // Removed nodes free a place but keep their names.
        let mut some_removed = nodes(MAX_NODES);
        some_removed[0].1 = true;
        assert_eq!(refuse_new_node("x", some_removed.iter().copied()), None);
        assert!(refuse_new_node("n0", some_removed.iter().copied())
            .unwrap()
            .contains("names are not reused"));
        let mut all_but_one_removed = nodes(MAX_NODES_CREATED);
        for n in &mut all_but_one_removed[1..] {
            n.1 = true;
        }
        assert!(refuse_new_node("x", all_but_one_removed.into_iter())
            .unwrap()
            .contains("the most it creates"));
    }
}
