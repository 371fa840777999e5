//! Any bytes into every relay-syntax parser (layout and invariants:
//! `fuzz/src/relay_syntax_checks.rs`): `dms_relay::types` (domain, host,
//! port, next hop, user, password, credentials), the `RELAY_HOST` /
//! `RELAY_PORT` next hop, `postfix_table::spec::TableRef` and the
//! `postfix_maincf::typed` conversions. Accepted values display as given,
//! re-parse equal and read back unchanged from the file they are written
//! into; password errors never show the password.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::relay_syntax_checks::check(data);
});
