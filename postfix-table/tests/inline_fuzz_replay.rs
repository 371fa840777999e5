//! Replays the `inline_lookup` fuzz seeds (`fuzz/seeds/inline_lookup/`) and
//! every minimised input that once failed (`fuzz/regressions/inline_lookup/`)
//! through the fuzz target's own checks (`fuzz/src/inline_checks.rs`) on
//! every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/replay.rs"]
mod replay;

use replay::{inputs, replay};

#[allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
#[path = "../../fuzz/src/inline_checks.rs"]
mod inline_checks;

#[test]
fn seeds_inline_lookup() {
    let n = replay(
        &inputs("seeds", "inline_lookup"),
        inline_checks::check_inline_lookup,
    );
    assert!(n >= 12, "fuzz/seeds/inline_lookup has only {n} files");
}

#[test]
fn regressions_inline_lookup() {
    replay(
        &inputs("regressions", "inline_lookup"),
        inline_checks::check_inline_lookup,
    );
}
