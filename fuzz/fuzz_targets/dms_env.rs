//! Arbitrary relay ENV pairs (with `__FILE` variants) and relay config
//! files into `RelayEnv::from_pairs_with`, `render` and `main_cf_apply`
//! (layout and invariants: `fuzz/src/dms_env_checks.rs`): never a panic,
//! rendered tables parse back line by line, no CR or injected line, the
//! password never shows, render is deterministic and main.cf edits are
//! idempotent and convergent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    postfix_table_fuzz::dms_env_checks::check(data);
});
