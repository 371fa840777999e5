//! Replays the pattern-table fuzz seeds (`fuzz/seeds/{regexp,pcre,cidr}_roundtrip/`)
//! and every minimised input that once failed (`fuzz/regressions/…`)
//! through the fuzz targets' own checks (`fuzz/src/pattern_checks.rs`), on
//! every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/replay.rs"]
mod replay;

use replay::inputs;

use postfix_table::pattern::PatternKind;

#[allow(dead_code)]
#[path = "../../fuzz/src/pattern_checks.rs"]
mod pattern_checks;

/// Replays `files` through the round-trip check of `kind`.
fn replay(files: &[std::path::PathBuf], kind: PatternKind) -> usize {
    replay::replay(files, |data| pattern_checks::check_roundtrip(kind, data))
}

#[test]
fn seeds_and_regressions() {
    for (kind, min) in [
        (PatternKind::Regexp, 6),
        (PatternKind::Pcre, 3),
        (PatternKind::Cidr, 3),
    ] {
        let target = format!("{}_roundtrip", kind.name());
        let n = replay(&inputs("seeds", &target), kind);
        assert!(
            n >= min,
            "fuzz/seeds/{target} has only {n} files: run scripts/fuzz-seeds.sh"
        );
        replay(&inputs("regressions", &target), kind);
        // The conformance inputs of the other kinds are hostile input too.
        for other in ["regexp_roundtrip", "pcre_roundtrip", "cidr_roundtrip"] {
            if other != target {
                replay(&inputs("seeds", other), kind);
            }
        }
    }
}
