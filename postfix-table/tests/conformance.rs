//! Every texthash case in `conformance/tables/`, produced by the real
//! Postfix 3.7 (`conformance/regenerate-tables.sh`), must hold:
//!
//! * `.in` round-trips byte for byte;
//! * `.expected`: each query of `.queries` answers as `postmap -q` did;
//! * `.dump`: the lookup view equals `postmap -s` (sorted);
//! * `.warnings`: load-time and query-time warnings of `postmap -q - texthash:table`, in order;
//! * `.hash.warnings`: the warnings of `postmap hash:table` (building the database).

mod common;

use std::fs;
use std::path::Path;

use postfix_table::{Fold, Table};

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

fn sibling(input: &Path, ext: &str) -> Vec<u8> {
    let s = input.to_string_lossy();
    let base = s.strip_suffix(".in").unwrap();
    fs::read(format!("{base}.{ext}")).unwrap_or_default()
}

#[test]
fn there_are_texthash_cases() {
    assert!(
        common::texthash_cases().len() >= 45,
        "conformance vectors missing"
    );
}

#[test]
fn roundtrip() {
    for case in common::texthash_cases() {
        let src = fs::read(&case).unwrap();
        assert_eq!(Table::parse(&src).to_bytes(), src, "{}", case.display());
    }
}

#[test]
fn queries_answer_like_postmap() {
    let mut checked = 0;
    for case in common::texthash_cases() {
        let table = Table::parse(&fs::read(&case).unwrap());
        let expected = sibling(&case, "expected");
        let queries = sibling(&case, "queries");
        let (queries, expected) = (lines(&queries), lines(&expected));
        assert_eq!(queries.len(), expected.len(), "{}", case.display());
        for (key, line) in queries.into_iter().zip(expected) {
            // Each line is the query, a TAB, then the answer.
            let want = &line[key.len() + 1..];
            let got = table.get(key);
            match want {
                b"(not found)" => assert_eq!(
                    got,
                    None,
                    "{} key {:?}",
                    case.display(),
                    String::from_utf8_lossy(key)
                ),
                b"(error)" => panic!("no texthash case should error"),
                v => assert_eq!(
                    got.as_deref(),
                    Some(v),
                    "{} key {:?}",
                    case.display(),
                    String::from_utf8_lossy(key)
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} queries checked");
}

#[test]
fn dump_matches_postmap_s() {
    for case in common::texthash_cases() {
        let table = Table::parse(&fs::read(&case).unwrap());
        let mut ours: Vec<Vec<u8>> = table
            .effective()
            .into_iter()
            .map(|(k, v)| [&k[..], b"\t", &v[..]].concat())
            .collect();
        ours.sort();
        let want: Vec<Vec<u8>> = lines(&sibling(&case, "dump"))
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(ours, want, "{}", case.display());
    }
}

fn query_warnings(table: &Table, queries: &[u8]) -> Vec<String> {
    lines(queries)
        .into_iter()
        .filter(|q| table.check_query(q).is_err())
        .map(|q| {
            format!(
                "postmap: warning: texthash:table: non-UTF-8 key \"{}\": malformed UTF-8 or invalid codepoint",
                postfix_table::lines::printable_lossy(q, true)
            )
        })
        .collect()
}

#[test]
fn warnings_match_postmap_texthash() {
    for case in common::texthash_cases() {
        let table = Table::parse(&fs::read(&case).unwrap());
        let mut ours: Vec<String> = table
            .diagnostics()
            .iter()
            .filter_map(|d| d.postfix_message("table", true))
            .map(|m| format!("postmap: warning: {m}"))
            .collect();
        ours.extend(query_warnings(&table, &sibling(&case, "queries")));
        let want: Vec<String> = lines(&sibling(&case, "warnings"))
            .into_iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        assert_eq!(ours, want, "{}", case.display());
    }
}

#[test]
fn warnings_match_postmap_hash_build() {
    for case in common::texthash_cases() {
        let table = Table::parse(&fs::read(&case).unwrap());
        let ours: Vec<String> = table
            .diagnostics()
            .iter()
            .filter_map(|d| d.postmap_build_message("table", "table.db", Fold::Unicode, true))
            .map(|m| format!("postmap: warning: {m}"))
            .collect();
        let want: Vec<String> = lines(&sibling(&case, "hash.warnings"))
            .into_iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        assert_eq!(ours, want, "{}", case.display());
    }
}
