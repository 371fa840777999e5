//! Every main.cf case in `conformance/maincf/` (made by the real Postfix
//! 3.7): the file round-trips; the raw values equal Postfix's own stored
//! values (`.raw`, from `dict_load_file_xt()`); and the warnings and fatal
//! errors that come from reading the file (not from `$` expansion or from
//! postconf's list of known parameters) are the ones postconf printed.

mod common;

use common::escape;
use std::fs;
use std::path::{Path, PathBuf};

use postfix_maincf::MainCf;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/maincf");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("conformance/maincf exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    v.sort();
    assert!(v.len() >= 50, "main.cf vectors missing");
    v
}

fn sibling(case: &Path, ext: &str) -> Vec<u8> {
    fs::read(case.with_extension(ext)).unwrap_or_default()
}

#[test]
fn round_trip() {
    for case in cases() {
        let src = fs::read(&case).unwrap();
        assert_eq!(MainCf::parse(&src).to_bytes(), src, "{}", case.display());
    }
}

#[test]
fn raw_values_match_postfix() {
    let mut checked = 0;
    for case in cases() {
        let cf = MainCf::parse(&fs::read(&case).unwrap());
        let fatal = cf.diagnostics().iter().any(|d| d.is_fatal());
        let raw = String::from_utf8(sibling(&case, "raw")).unwrap();
        if fatal {
            assert!(
                raw.is_empty(),
                "{}: Postfix stored values, we say fatal",
                case.display()
            );
            continue;
        }
        let ours: String = cf
            .values()
            .iter()
            .map(|(k, v)| format!("{}\t{}\n", escape(k), escape(v)))
            .collect();
        assert_eq!(ours, raw, "{}", case.display());
        checked += 1;
    }
    assert!(checked >= 45);
}

#[test]
fn reading_warnings_match_postconf() {
    for case in cases() {
        let cf = MainCf::parse(&fs::read(&case).unwrap());
        let warnings = String::from_utf8_lossy(&sibling(&case, "warnings")).into_owned();
        // Lines about reading the file; expansion and known-parameter checks are later work.
        let want: Vec<&str> = warnings
            .lines()
            .filter(|l| {
                l.contains("logical line must not start with whitespace")
                    || l.contains("overriding earlier entry")
                    || l.contains("missing '=' after attribute name")
                    || l.contains("missing attribute name")
            })
            .collect();
        let diags = cf.diagnostics();
        // postconf stops at the first fatal error.
        let mut ours = Vec::new();
        for d in &diags {
            let level = if d.is_fatal() { "fatal" } else { "warning" };
            ours.push(format!(
                "postconf: {level}: {}",
                d.postconf_message("DIR/main.cf")
            ));
            if d.is_fatal() {
                break;
            }
        }
        assert_eq!(ours, want, "{}", case.display());
    }
}

#[test]
fn strict_parsing_refuses_fatal_files() {
    assert!(MainCf::parse_strict(b"relayhost [x]\n").is_err());
    assert!(MainCf::parse_strict(b"= x\n").is_err());
    let err = MainCf::parse_strict(b"a = b\nrelayhost [x]\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "main.cf, line 2: missing '=' after attribute name: \"relayhost [x]\""
    );
    assert!(MainCf::parse_strict(b"  orphan\nrelayhost = x\n").is_ok());
}
