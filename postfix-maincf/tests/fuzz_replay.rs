//! Replays the main.cf fuzz seeds (`fuzz/seeds/maincf_*`) and every
//! minimised input that once failed (`fuzz/regressions/maincf_*`) through
//! the fuzz targets' own checks (`fuzz/src/maincf_checks.rs`), so they run
//! on every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../postfix-table/tests/common/replay.rs"]
mod replay;

use replay::{inputs, replay};

#[allow(dead_code)]
#[path = "../../fuzz/src/maincf_checks.rs"]
mod maincf_checks;

#[test]
fn maincf_roundtrip_inputs() {
    let mut n = 0;
    for kind in ["seeds", "regressions"] {
        n += replay(
            &inputs(kind, "maincf_roundtrip"),
            maincf_checks::check_roundtrip,
        );
    }
    assert!(n >= 70, "seeds missing: {n}");
}

#[test]
fn maincf_edits_inputs() {
    let mut n = 0;
    for kind in ["seeds", "regressions"] {
        n += replay(&inputs(kind, "maincf_edits"), maincf_checks::check_edits);
    }
    assert!(n >= 70, "seeds missing: {n}");
}
