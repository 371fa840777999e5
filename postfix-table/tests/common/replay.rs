//! Replaying the fuzz targets' seeds and regression inputs as ordinary
//! tests, shared by every crate's `*fuzz_replay.rs` (the other crates
//! include this file with `#[path]`).

#![allow(dead_code)]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The workspace's `fuzz/` directory (every crate is its sibling).
pub const FUZZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");

/// Every input file under `fuzz/KIND/TARGET/` (`KIND`: `seeds` or
/// `regressions`; README and dotfiles skipped), sorted; none when the
/// directory does not exist.
pub fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
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

/// Runs `check` on every file, then fails listing every file that
/// panicked, with its message; returns how many files there were.
pub fn replay(files: &[PathBuf], check: impl Fn(&[u8])) -> usize {
    let mut failures = Vec::new();
    for f in files {
        let data = fs::read(f).unwrap();
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}
