//! Helpers shared by the integration tests: the texthash conformance cases.

use std::fs;
use std::path::{Path, PathBuf};

/// The `.in` files of `conformance/tables/` that are texthash tables (not
/// regexp, pcre, cidr, inline or static), sorted.
pub fn texthash_cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .expect("conformance/tables exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".in")
                && ![
                    ".regexp.in",
                    ".pcre.in",
                    ".cidr.in",
                    ".inline.in",
                    ".static.in",
                ]
                .iter()
                .any(|s| name.ends_with(s))
        })
        .collect();
    cases.sort();
    cases
}
