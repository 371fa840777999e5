//! Every case in `conformance/maincf-edit/` (made by the real
//! `postconf -c DIR ARGS…` of Postfix 3.7): our edit gives postconf's bytes
//! and postconf's warnings, except where we differ on purpose (see the
//! `edit` module docs); there the expected bytes are derived from
//! postconf's own result by the documented rule, never written by hand.

mod common;

use common::crlf;
use std::fs;
use std::path::{Path, PathBuf};

use postfix_maincf::{EditMode, MainCf};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/maincf-edit");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("conformance/maincf-edit exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    v.sort();
    assert!(v.len() >= 18, "edit vectors missing");
    v
}

/// postconf's choice of mode: a leading `-e`/`-X`/`-#`, or `-e` implied
/// by an argument with `=`. `None` for the conflict postconf refuses.
fn mode_and_args(argv: &[String]) -> Option<(EditMode, Vec<String>)> {
    let (mode, rest) = match argv.first().map(String::as_str) {
        Some("-e") => (EditMode::Set, &argv[1..]),
        Some("-X") => (EditMode::Remove, &argv[1..]),
        Some("-#") => (EditMode::CommentOut, &argv[1..]),
        _ => (EditMode::Set, argv),
    };
    if mode != EditMode::Set && rest.iter().any(|a| a.contains('=')) {
        return None; // "specify one of -e -X"
    }
    Some((mode, rest.to_vec()))
}

#[test]
fn edit_vectors() {
    let mut checked = 0;
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let src = fs::read(&case).unwrap();
        let result = fs::read(case.with_extension("result")).unwrap();
        let warnings = fs::read_to_string(case.with_extension("warnings")).unwrap();
        let argv: Vec<String> = fs::read_to_string(case.with_extension("args"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let failed = !warnings.ends_with("exit status: 0\n");
        let Some((mode, args)) = mode_and_args(&argv) else {
            assert!(warnings.contains("fatal: specify one of -e -X"), "{name}");
            assert_eq!(result, src, "{name}: a refused edit changes nothing");
            continue;
        };
        let mut cf = MainCf::parse(&src);
        match cf.postconf_edit(mode, &args) {
            Err(e) => {
                assert!(failed, "{name}: we refused ({e}) what postconf accepted");
                assert!(
                    warnings.contains(&format!("postconf: fatal: {}\n", e.postconf_message())),
                    "{name}: {e} vs {warnings}"
                );
                assert_eq!(cf.to_bytes(), src, "{name}: refused edit changed bytes");
                assert_eq!(result, src, "{name}");
            }
            Ok(report) => {
                assert!(!failed, "{name}: postconf refused, we accepted");
                let mut said = String::new();
                for w in &report.warnings {
                    said.push_str(&format!(
                        "postconf: warning: {}\n",
                        w.postconf_message("DIR/main.cf")
                    ));
                }
                said.push_str("exit status: 0\n");
                assert_eq!(said, warnings, "{name}: warnings");
                let expected = if !src.is_empty() && !src.ends_with(b"\n") && report.appended > 0 {
                    // Difference 1: we end the last line before appending;
                    // postconf glues the new line onto it.
                    assert!(result.starts_with(&src), "{name}");
                    let mut e = src.clone();
                    e.push(b'\n');
                    e.extend_from_slice(&result[src.len()..]);
                    e
                } else if src.windows(2).any(|w| w == b"\r\n") {
                    // Difference 3: CRLF kept on the lines we write.
                    crlf(&result)
                } else {
                    result.clone()
                };
                assert_eq!(
                    String::from_utf8_lossy(&cf.to_bytes()),
                    String::from_utf8_lossy(&expected),
                    "{name}"
                );
                // The edited document reads back as a fresh parse does.
                let again = MainCf::parse(&cf.to_bytes());
                assert_eq!(again.values(), cf.values(), "{name}");
                assert_eq!(again.diagnostics(), cf.diagnostics(), "{name}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 17);
}
