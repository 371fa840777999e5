//! Any bytes: `Table::parse(data).to_bytes() == data` under every option
//! set, and no read-only API panics or contradicts another.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::checks::check_roundtrip(data);
});
