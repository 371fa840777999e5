//! Replays the fuzz seeds (`fuzz/seeds/*`) and every minimised input that
//! once failed (`fuzz/regressions/*`) through the fuzz targets' own checks
//! (`fuzz/src/checks.rs`), so regressions run on every `cargo test`,
//! without libFuzzer or a nightly compiler.
//!
//! * `table_roundtrip/` files: [`checks::check_roundtrip`] (lossless
//!   round-trip under every option set, and every read-only API), then a
//!   fixed list of edits ([`checks::fixed_ops`]) against the reference model.
//! * `table_edits/` files: decoded exactly as the fuzz target decodes them
//!   ([`checks::decode_edits`]; option selector, ops, initial table) and run
//!   through [`checks::check_edits`]; then the initial table again with the
//!   fixed edit list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/replay.rs"]
mod replay;

use std::fs;
use std::path::Path;

use replay::{FUZZ, inputs, replay};

#[allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]
#[path = "../../fuzz/src/checks.rs"]
mod checks;

fn roundtrip_check(data: &[u8]) {
    checks::check_roundtrip(data);
    let options = postfix_table::Options::default();
    checks::check_edits(data, options, &checks::fixed_ops(data, options));
}

fn edits_check(data: &[u8]) {
    let (selector, ops, initial) = checks::decode_edits(data);
    let options = checks::options_from_selector(selector);
    checks::check_edits(initial, options, &ops);
    checks::check_edits(initial, options, &checks::fixed_ops(initial, options));
}

#[test]
fn seeds_table_roundtrip() {
    let n = replay(&inputs("seeds", "table_roundtrip"), roundtrip_check);
    assert!(
        n >= 40,
        "fuzz/seeds/table_roundtrip has only {n} files: run scripts/fuzz-seeds.sh"
    );
}

#[test]
fn seeds_table_edits() {
    let n = replay(&inputs("seeds", "table_edits"), edits_check);
    assert!(
        n >= 80,
        "fuzz/seeds/table_edits has only {n} files: run scripts/fuzz-seeds.sh"
    );
}

#[test]
fn regressions_table_roundtrip() {
    replay(&inputs("regressions", "table_roundtrip"), roundtrip_check);
}

#[test]
fn regressions_table_edits() {
    replay(&inputs("regressions", "table_edits"), edits_check);
}

/// The replay decoder reads the seeds as the script that wrote them meant.
#[test]
fn edits_seed_layout() {
    let path = Path::new(FUZZ).join("seeds/table_edits/001-basic.ops");
    let data = fs::read(path).unwrap();
    let (_, ops, initial) = checks::decode_edits(&data);
    use postfix_table::ops::EditOp;
    assert_eq!(
        ops,
        [
            EditOp::Set {
                key: b"KEY".to_vec(),
                value: b"a B".to_vec()
            },
            EditOp::OptOut {
                key: "Éa".as_bytes().to_vec()
            },
            EditOp::Set {
                key: b"k:".to_vec(),
                value: b"a".to_vec()
            },
            EditOp::Remove {
                key: b"key".to_vec()
            },
        ]
    );
    let table = fs::read(Path::new(FUZZ).join("../conformance/tables/001-basic.in")).unwrap();
    assert_eq!(initial, table);
}

/// `effective()`, `diagnostics()` (and so `len()`, `is_empty()`,
/// `Model::from_table`) stay linear in the number of entries for one key.
/// Found while profiling the `table_roundtrip` fuzz target (a few hundred
/// execs/s on 10 kB inputs): each view used to run a lookup per entry, and
/// a lookup walks every entry with the same folded key, so `n` duplicates
/// cost O(n²) (release: n = 16000 took about 14 s per call; debug, n =
/// 2000: about 3.5 s).
#[test]
fn views_linear_in_duplicates() {
    use std::time::{Duration, Instant};
    let n = 2000;
    let mut src = Vec::new();
    for i in 0..n {
        src.extend_from_slice(format!("key v{i}\n").as_bytes());
    }
    let table = postfix_table::Table::parse(&src);
    table.build_key_index();
    let limit = Duration::from_millis(500);
    let t = Instant::now();
    assert_eq!(table.effective().len(), 1);
    let effective = t.elapsed();
    let t = Instant::now();
    assert_eq!(table.diagnostics().len(), n - 1);
    let diagnostics = t.elapsed();
    let t = Instant::now();
    let _ = postfix_table::ops::Model::from_table(&table);
    let model = t.elapsed();
    assert!(
        effective < limit && diagnostics < limit && model < limit,
        "{n} duplicates: effective() {effective:?}, diagnostics() {diagnostics:?}, Model::from_table {model:?}"
    );
}
