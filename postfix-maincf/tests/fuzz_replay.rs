//! Replays the main.cf fuzz seeds (`fuzz/seeds/maincf_*`) and every
//! minimised input that once failed (`fuzz/regressions/maincf_*`) through
//! the fuzz targets' own checks (`fuzz/src/maincf_checks.rs`), so they run
//! on every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../fuzz/src/maincf_checks.rs"]
mod maincf_checks;

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(FUZZ).join(kind).join(target);
    let Ok(rd) = fs::read_dir(&dir) else {
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

fn replay(files: &[PathBuf], check: impl Fn(&[u8])) -> usize {
    let mut failed = Vec::new();
    for f in files {
        let data = fs::read(f).unwrap();
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
    files.len()
}

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
