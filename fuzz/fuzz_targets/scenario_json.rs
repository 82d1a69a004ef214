//! Scenario and run files (the CLI's and the page's loader) on arbitrary text: refused with a
//! message, or built and played for a bounded number of steps, never a panic or an abort on
//! a number too big to hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::sim::scenario::{RunFile, Scenario};

/// Simulation steps played per input.
const STEPS: usize = 2000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut t) = Scenario::parse(text).and_then(|s| s.build(None)) {
        for _ in 0..STEPS {
            if !t.step() {
                break;
            }
        }
    }
    if let Ok(mut t) = RunFile::parse(text).and_then(|r| r.timeline()) {
        for _ in 0..STEPS {
            if !t.step() {
                break;
            }
        }
    }
});
