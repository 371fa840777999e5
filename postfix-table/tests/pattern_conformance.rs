//! Every regexp, pcre and cidr case in `conformance/tables/` (made by the
//! real Postfix 3.7 with `conformance/regenerate-tables.sh`) must hold:
//!
//! * `.in` round-trips byte for byte;
//! * `.expected`: each query of `.queries` answers as `postmap -q KEY` did
//!   (an empty result is printed as an empty answer, as postmap does);
//! * `.warnings`: the stderr of `postmap -q - TYPE:table < queries`, byte
//!   for byte: load-time warnings in order, then the query-time ones.
//!
//! Without the engine of a case's kind (features `regexp`, `pcre`), its
//! lookups and warnings are not checked, loudly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod pattern_common;

use std::fs;
use std::path::{Path, PathBuf};

use postfix_table::pattern::{PatternKind, PatternTable};

fn cases() -> Vec<(PatternKind, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<(PatternKind, PathBuf)> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_string_lossy().into_owned();
            let stem = name.strip_suffix(".in")?;
            let kind = PatternKind::from_name(stem.rsplit('.').next()?)?;
            Some((kind, p))
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

fn sibling(input: &Path, ext: &str) -> Vec<u8> {
    let s = input.to_string_lossy();
    fs::read(format!("{}.{ext}", s.strip_suffix(".in").unwrap())).unwrap()
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

#[test]
fn there_are_pattern_cases() {
    let c = cases();
    for k in [PatternKind::Regexp, PatternKind::Pcre, PatternKind::Cidr] {
        assert!(c.iter().any(|(ck, _)| *ck == k), "no {} case", k.name());
    }
    assert!(c.len() >= 8, "pattern vectors missing");
}

#[test]
fn roundtrip() {
    for (kind, case) in cases() {
        let src = fs::read(&case).unwrap();
        let t = PatternTable::parse(kind, &src);
        assert_eq!(t.to_bytes(), src, "{}", case.display());
        let mut w = Vec::new();
        t.write_to(&mut w).unwrap();
        assert_eq!(w, src);
    }
}

fn skip(kind: PatternKind, case: &Path) -> bool {
    if kind.engine_available() {
        return false;
    }
    eprintln!(
        "\n**********\nno {} engine in this build: {} NOT CHECKED (enable the feature)\n**********\n",
        kind.name(),
        case.display()
    );
    true
}

#[test]
fn queries_answer_like_postmap() {
    let mut checked = 0;
    for (kind, case) in cases() {
        if skip(kind, &case) {
            continue;
        }
        let t = PatternTable::parse(kind, &fs::read(&case).unwrap());
        let queries = sibling(&case, "queries");
        let expected = sibling(&case, "expected");
        let (queries, expected) = (lines(&queries), lines(&expected));
        assert_eq!(queries.len(), expected.len(), "{}", case.display());
        for (key, line) in queries.into_iter().zip(expected) {
            let want = &line[key.len() + 1..];
            let got = t.lookup(key).unwrap();
            let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            match want {
                b"(not found)" => assert_eq!(got, None, "{} {}", case.display(), show(key)),
                b"(error)" => panic!("no pattern case errors"),
                v => assert_eq!(
                    got.as_deref(),
                    Some(v),
                    "{} key {}",
                    case.display(),
                    show(key)
                ),
            }
            checked += 1;
        }
    }
    if PatternKind::Regexp.engine_available() && PatternKind::Pcre.engine_available() {
        assert!(checked >= 40, "only {checked} queries checked");
    }
}

#[test]
fn warnings_match_postmap() {
    for (kind, case) in cases() {
        if skip(kind, &case) {
            continue;
        }
        let t = PatternTable::parse(kind, &fs::read(&case).unwrap());
        let queries = sibling(&case, "queries");
        let ours = pattern_common::postmap_q_stdin(&t, "table", &lines(&queries), true).stderr;
        let want = sibling(&case, "warnings");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&want),
            "{}",
            case.display()
        );
        assert_eq!(ours, want, "{}", case.display());
    }
}
