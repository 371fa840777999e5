//! Replays the `inline_lookup` fuzz seeds (`fuzz/seeds/inline_lookup/`) and
//! every minimised input that once failed (`fuzz/regressions/inline_lookup/`)
//! through the fuzz target's own checks (`fuzz/src/inline_checks.rs`) on
//! every `cargo test`, without libFuzzer or a nightly compiler.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
#[path = "../../fuzz/src/inline_checks.rs"]
mod inline_checks;

const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

fn inputs(kind: &str) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(Path::new(FUZZ).join(kind).join("inline_lookup")) else {
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

fn replay(files: &[PathBuf]) -> usize {
    let mut failures = Vec::new();
    for f in files {
        let data = fs::read(f).unwrap();
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| {
            inline_checks::check_inline_lookup(&data)
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
fn seeds_inline_lookup() {
    let n = replay(&inputs("seeds"));
    assert!(n >= 12, "fuzz/seeds/inline_lookup has only {n} files");
}

#[test]
fn regressions_inline_lookup() {
    replay(&inputs("regressions"));
}
