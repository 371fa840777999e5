//! Replays the `dms_ops` fuzz seeds and regressions (`fuzz/seeds/dms_ops`,
//! `fuzz/regressions/dms_ops`) through the fuzz target's own checks
//! (`fuzz/src/dms_checks.rs`) on every `cargo test`.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[allow(dead_code)]
#[path = "../../fuzz/src/dms_checks.rs"]
mod dms_checks;

#[test]
fn dms_ops_inputs() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut n = 0;
    let mut failed = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = fs::read_dir(fuzz.join(kind).join("dms_ops")) else {
            continue;
        };
        let mut files: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with("README") {
                continue;
            }
            let data = fs::read(&f).unwrap();
            if catch_unwind(AssertUnwindSafe(|| dms_checks::check(&data))).is_err() {
                failed.push(f.display().to_string());
            }
            n += 1;
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
    assert!(n >= 30, "seeds missing: {n}");
}
