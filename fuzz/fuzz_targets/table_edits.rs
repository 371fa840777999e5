//! Arbitrary initial bytes plus a sequence of edits: after each edit the
//! table must answer as `postfix_table::ops::Model` says, round-trip, and a
//! rejected edit must leave the bytes unchanged.
//!
//! Input layout (`postfix_table_fuzz::EditsInput`, derived `Arbitrary`):
//! one option selector byte; the ops, each preceded by a byte with the low
//! bit set (a byte with the low bit clear ends the list); then the initial
//! table bytes verbatim (the rest of the input). `scripts/fuzz-seeds.sh`
//! builds seeds in this layout; `cargo fuzz fmt -s none table_edits FILE`
//! shows what a file decodes to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postfix_table_fuzz::EditsInput;

fuzz_target!(|input: EditsInput<'_>| {
    input.check();
});
