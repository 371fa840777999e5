//! `postmap-lite -q` / `-s` on the regexp, pcre and cidr conformance cases
//! against what the real postmap printed (`.expected`, `.warnings`).

use std::fs;
use std::path::{Path, PathBuf};

#[path = "support/lite.rs"]
mod lite_support;

struct Out {
    code: u8,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn lite(args: &[&[u8]], stdin: &[u8]) -> Out {
    let (code, stdout, stderr) = lite_support::run_lite(args, stdin);
    Out {
        code,
        stdout,
        stderr,
    }
}

fn cases() -> Vec<(String, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let n = p.file_name()?.to_string_lossy().into_owned();
            let kind = n.strip_suffix(".in")?.rsplit('.').next()?.to_string();
            ["regexp", "pcre", "cidr"]
                .contains(&kind.as_str())
                .then_some((kind, p))
        })
        .collect();
    v.sort();
    assert!(v.len() >= 8, "pattern vectors missing");
    v
}

fn sibling(input: &Path, ext: &str) -> Vec<u8> {
    let s = input.to_string_lossy();
    fs::read(format!("{}.{ext}", s.strip_suffix(".in").unwrap())).unwrap()
}

/// Runs from a copy named `table` in a temporary directory, with the
/// relative name, as the vectors were made.
fn in_dir<T>(case: &Path, f: impl FnOnce() -> T) -> T {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    fs::copy(case, dir.path().join("table")).unwrap();
    let old = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let r = f();
    std::env::set_current_dir(old).unwrap();
    r
}

fn as_postmap(stderr: &[u8]) -> Vec<u8> {
    let s = String::from_utf8_lossy(stderr);
    assert!(!s.contains('\u{FFFD}'), "non-UTF-8 stderr not compared");
    s.replace("postmap-lite: ", "postmap: ").into_bytes()
}

#[test]
fn query_stdin_matches_postmap() {
    for (kind, case) in cases() {
        let spec = format!("{kind}:table");
        let queries = sibling(&case, "queries");
        let out = in_dir(&case, || lite(&[b"-q", b"-", spec.as_bytes()], &queries));
        let want: Vec<u8> = sibling(&case, "expected")
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !l.ends_with(b"\t(not found)\n"))
            .flatten()
            .copied()
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want),
            "{}",
            case.display()
        );
        assert_eq!(
            as_postmap(&out.stderr),
            sibling(&case, "warnings"),
            "{}",
            case.display()
        );
        assert_eq!(out.code, u8::from(want.is_empty()), "{}", case.display());
    }
}

#[test]
fn query_one_key_matches_postmap() {
    for (kind, case) in cases() {
        let spec = format!("{kind}:table");
        let queries = sibling(&case, "queries");
        let expected = sibling(&case, "expected");
        for (key, line) in queries
            .split(|&b| b == b'\n')
            .zip(expected.split(|&b| b == b'\n'))
            .filter(|(k, _)| !k.is_empty())
        {
            let want = &line[key.len() + 1..];
            let out = in_dir(&case, || lite(&[b"-q", key, spec.as_bytes()], b""));
            if want == b"(not found)" {
                assert_eq!(
                    (out.code, out.stdout),
                    (1, Vec::new()),
                    "{}",
                    case.display()
                );
            } else {
                assert_eq!(out.code, 0, "{}", case.display());
                assert_eq!(out.stdout, [want, b"\n"].concat(), "{}", case.display());
            }
        }
    }
}

#[test]
fn dump_is_refused_like_postmap() {
    for (kind, case) in cases() {
        let spec = format!("{kind}:table");
        let out = in_dir(&case, || lite(&[b"-s", spec.as_bytes()], b""));
        assert_eq!(out.code, 1);
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.ends_with(&format!(
                "postmap-lite: fatal: table {kind}:table: sequence operation is not supported\n"
            )),
            "{err}"
        );
    }
}

#[test]
fn missing_file_is_fatal() {
    let out = lite(&[b"-q", b"x", b"regexp:/nonexistent/table"], b"");
    assert_eq!(out.code, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "postmap-lite: fatal: open /nonexistent/table: No such file or directory\n"
    );
}
