//! A main.cf plus a sequence of edits (layout: `decode_edits` in
//! `fuzz/src/maincf_checks.rs`): after each edit the document round-trips,
//! equals a fresh parse of its bytes, follows `postfix_maincf::ops::Model`,
//! and a refused edit changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::maincf_checks::check_edits(data);
});
