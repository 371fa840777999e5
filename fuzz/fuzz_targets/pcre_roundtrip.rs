//! Any bytes as a `pcre:` table: lossless round-trip, every read-only
//! API without panic and consistently (diagnostics, lookups under both
//! `smtputf8_enable` settings), then a fixed edit list checked with
//! `PatternEditOp::check` (see `fuzz/src/pattern_checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postfix_table::pattern::PatternKind;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::pattern_checks::check_roundtrip(PatternKind::Pcre, data);
});
