//! Replays the `dms_ops`, `dms_env` and `relay_syntax` fuzz seeds and
//! regressions (`fuzz/seeds/<target>`, `fuzz/regressions/<target>`) through
//! the fuzz targets' own checks (`fuzz/src/dms_checks.rs`,
//! `fuzz/src/dms_env_checks.rs`, `fuzz/src/relay_syntax_checks.rs`) on
//! every `cargo test`.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[allow(dead_code)]
#[path = "../../fuzz/src/dms_checks.rs"]
mod dms_checks;

#[allow(dead_code)]
#[path = "../../fuzz/src/dms_env_checks.rs"]
mod dms_env_checks;

#[allow(dead_code)]
#[path = "../../fuzz/src/relay_syntax_checks.rs"]
mod relay_syntax_checks;

/// Runs `check` on every seed and regression input of `target`; returns
/// how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut n = 0;
    let mut failed = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = fs::read_dir(fuzz.join(kind).join(target)) else {
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
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failed.push(f.display().to_string());
            }
            n += 1;
        }
    }
    assert!(failed.is_empty(), "failing inputs: {failed:#?}");
    n
}

#[test]
fn dms_ops_inputs() {
    let n = replay("dms_ops", dms_checks::check);
    assert!(n >= 30, "seeds missing: {n}");
}

#[test]
fn dms_env_inputs() {
    let n = replay("dms_env", dms_env_checks::check);
    assert!(n >= 25, "seeds missing: {n}");
}

#[test]
fn relay_syntax_inputs() {
    let n = replay("relay_syntax", relay_syntax_checks::check);
    assert!(n >= 100, "seeds missing: {n}");
}

/// The seed encoder and the target's decoder agree.
#[test]
fn dms_env_encode_decode() {
    let input = dms_env_checks::Input {
        pairs: vec![
            ("RELAY_HOST".into(), "h.test".into()),
            ("RELAY_PASSWORD__FILE".into(), "/p".into()),
        ],
        file: b"pw\n".to_vec(),
        relaymap: Some(b"@a.test [x]\n".to_vec()),
        sasl: None,
        accounts: b"a@a.test|x\n".to_vec(),
        virtual_: b"@b.test a@a.test\n".to_vec(),
    };
    assert_eq!(
        dms_env_checks::decode(&dms_env_checks::encode(&input)),
        input
    );
}
