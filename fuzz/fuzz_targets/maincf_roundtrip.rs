//! Any bytes as a main.cf: lossless round-trip, values equal to the model
//! after a re-parse, and no panic while reading, expanding or showing them
//! as postconf does (see `fuzz/src/maincf_checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::maincf_checks::check_roundtrip(data);
});
