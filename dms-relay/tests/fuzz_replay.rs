//! Replays the `dms_ops`, `dms_env` and `relay_syntax` fuzz seeds and
//! regressions (`fuzz/seeds/<target>`, `fuzz/regressions/<target>`) through
//! the fuzz targets' own checks (`fuzz/src/dms_checks.rs`,
//! `fuzz/src/dms_env_checks.rs`, `fuzz/src/relay_syntax_checks.rs`) on
//! every `cargo test`.

#[path = "../../postfix-table/tests/common/replay.rs"]
mod replay;

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
    ["seeds", "regressions"]
        .iter()
        .map(|kind| replay::replay(&replay::inputs(kind, target), check))
        .sum()
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
