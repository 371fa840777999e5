//! Replays the pattern-table fuzz seeds (`fuzz/seeds/{regexp,pcre,cidr}_roundtrip/`)
//! and every minimised input that once failed (`fuzz/regressions/…`)
//! through the fuzz targets' own checks (`fuzz/src/pattern_checks.rs`), on
//! every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use postfix_table::pattern::PatternKind;

#[allow(dead_code)]
#[path = "../../fuzz/src/pattern_checks.rs"]
mod pattern_checks;

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(Path::new(FUZZ).join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            p.is_file() && !name.starts_with('.') && !name.starts_with("README")
        })
        .collect();
    files.sort();
    files
}

fn replay(files: &[PathBuf], kind: PatternKind) -> usize {
    let mut failures = Vec::new();
    for f in files {
        let data = fs::read(f).unwrap();
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| {
            pattern_checks::check_roundtrip(kind, &data)
        })) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    files.len()
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
