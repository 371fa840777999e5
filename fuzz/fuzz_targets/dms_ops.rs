//! Starting `postfix-relaymap.cf` / `postfix-sasl-password.cf` bytes plus a
//! sequence of `setup relay` commands (layout: `decode` in
//! `fuzz/src/dms_checks.rs`): after each command the documents follow
//! `dms_relay::ops::Model`, a refused command changes nothing and a
//! repeated one changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::dms_checks::check(data);
});
