//! A Share link's `#runz=` text (anyone can forge one and send it to a student): refused with
//! a message, or actions that pack and unpack again to themselves.
#![no_main]

use libfuzzer_sys::fuzz_target;
use replscope::sim::run_link::{pack, unpack};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(actions) = unpack(text) {
        let again = pack(&actions).expect("actions pack");
        assert_eq!(unpack(&again).expect("our own link unpacks"), actions);
    }
});
