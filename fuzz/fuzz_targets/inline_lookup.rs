//! A table reference on the first line, query keys on the others:
//! `inline:{…}`/`static:…` parse back to their text, every lookup agrees
//! with a naive model under each option set, warnings match the answers,
//! and `set_inline`/`remove_inline` change exactly the edited key (or
//! nothing, when refused).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::inline_checks::check_inline_lookup(data);
});
