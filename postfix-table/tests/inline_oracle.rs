//! `inline:{…}` and `static:…` lookups ([`postfix_table::inline`]) against
//! the real Postfix:
//!
//! * the recorded vectors `conformance/tables/*.inline.in`, `*.static.in`:
//!   answers and warnings byte for byte (no Postfix needed);
//! * a differential run: random references (mostly well-formed items in
//!   both spellings, with keys that fold, quotes, `$`, `=`, braces, and a
//!   little junk) and random keys go to `postmap -q - SPEC` and `postmap -s
//!   SPEC` (Postfix 3.7, private configuration directory,
//!   `compatibility_level = 3.6`); stdout and stderr must equal what this
//!   crate predicts, byte for byte (`-s` sorted: postmap lists a randomly
//!   seeded hash table). The same with `smtputf8_enable = no`.
//!
//! `PROPTEST_CASES` (default 64) sets the number of random references.
//! Without `/usr/sbin/postmap` the differential tests say so loudly and
//! pass, unless `DMS_REQUIRE_POSTFIX` is set, which makes them fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod postmap_run;

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use postfix_table::Options;
use postfix_table::inline::Lookup;
use postfix_table::lines::printable;
use postfix_table::spec::TableRef;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

use postmap_run::{conf_dir, postmap_available, run_postmap};

// ------------------------------------------------------------ prediction

/// What `postmap -q - SPEC` prints for `keys` (stdout, stderr).
fn predict_queries(spec: &str, keys: &[Vec<u8>], options: Options) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    if keys.is_empty() {
        return (out, err);
    }
    let t = match TableRef::parse(spec) {
        Ok(t) => t,
        Err(e) => {
            err.extend_from_slice(b"postmap: fatal: ");
            err.extend_from_slice(&printable(e.to_string().as_bytes(), options.utf8));
            err.push(b'\n');
            return (out, err);
        }
    };
    for k in keys {
        let answer = t.lookup_with(k, options).unwrap();
        for w in answer.postmap_warnings(&t, k, options.utf8) {
            err.extend_from_slice(&[&b"postmap: warning: "[..], &w, b"\n"].concat());
        }
        if let Lookup::Found(v) = answer {
            out.extend_from_slice(&[&k[..], b"\t", v.as_bytes(), b"\n"].concat());
        }
    }
    (out, err)
}

/// Output lines, without their LF.
type Lines = Vec<Vec<u8>>;

/// What `postmap -s SPEC` prints, lines sorted (stdout, stderr); `None`
/// for a reference that does not parse.
fn predict_dump(spec: &str, options: Options) -> Option<(Lines, Lines)> {
    let t = TableRef::parse(spec).ok()?;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    match t.inline_dump(options) {
        Ok(entries) => {
            for e in entries {
                for w in e.postmap_warnings(&t, options.utf8) {
                    err.push([&b"postmap: warning: "[..], &w].concat());
                }
                out.push([&e.key[..], b"\t", e.value.as_bytes()].concat());
            }
        }
        Err(e) => err.push(
            [
                &b"postmap: fatal: "[..],
                &printable(e.to_string().as_bytes(), options.utf8),
            ]
            .concat(),
        ),
    }
    out.sort();
    err.sort();
    Some((out, err))
}

// --------------------------------------------------------------- vectors

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".inline.in") || n.ends_with(".static.in")
        })
        .collect();
    v.sort();
    v
}

fn sibling(p: &Path, ext: &str) -> Vec<u8> {
    let s = p.to_string_lossy();
    fs::read(format!("{}{ext}", s.strip_suffix(".in").unwrap())).unwrap()
}

#[test]
fn vectors_answers_and_warnings_byte_for_byte() {
    let cases = cases();
    assert!(cases.len() >= 4, "inline/static vectors missing");
    for case in &cases {
        let spec = fs::read_to_string(case).unwrap();
        let spec = spec.trim_end_matches('\n');
        let keys: Vec<Vec<u8>> = sibling(case, ".queries")
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let (out, err) = predict_queries(spec, &keys, Options::default());
        let want: Vec<u8> = sibling(case, ".expected")
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !l.ends_with(b"\t(not found)\n"))
            .flatten()
            .copied()
            .collect();
        assert_eq!(
            out.escape_ascii().to_string(),
            want.escape_ascii().to_string(),
            "{case:?}"
        );
        assert_eq!(
            err.escape_ascii().to_string(),
            sibling(case, ".warnings").escape_ascii().to_string(),
            "{case:?}"
        );
    }
}

// ---------------------------------------------------------------- oracle

struct Oracle {
    conf: tempfile::TempDir,
    options: Options,
}

fn oracle(test: &str, utf8: bool) -> Option<Oracle> {
    postmap_available(test, "postfix").then(|| Oracle {
        conf: conf_dir(utf8),
        options: Options {
            utf8,
            ..Options::default()
        },
    })
}

impl Oracle {
    fn postmap(&self, args: &[&str], stdin: &[u8]) -> (Vec<u8>, Vec<u8>) {
        run_postmap(self.conf.path(), None, args, stdin)
    }

    fn compare(&self, spec: &str, keys: &[Vec<u8>]) -> Result<(), String> {
        let stdin: Vec<u8> = keys.iter().flat_map(|k| [&k[..], b"\n"].concat()).collect();
        let (out, err) = self.postmap(&["-q", "-", spec], &stdin);
        let (want_out, want_err) = predict_queries(spec, keys, self.options);
        let show = |b: &[u8]| b.escape_ascii().to_string();
        let mut diffs = Vec::new();
        if out != want_out {
            diffs.push(format!(
                "-q - stdout:\n  postmap: {}\n  ours:    {}",
                show(&out),
                show(&want_out)
            ));
        }
        if err != want_err {
            diffs.push(format!(
                "-q - stderr:\n  postmap: {}\n  ours:    {}",
                show(&err),
                show(&want_err)
            ));
        }
        if let Some((want_out, want_err)) = predict_dump(spec, self.options) {
            let (out, err) = self.postmap(&["-s", spec], b"");
            let lines = |b: &[u8]| {
                let mut v: Vec<Vec<u8>> = b
                    .split(|&c| c == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect();
                v.sort();
                v
            };
            if lines(&out) != want_out || lines(&err) != want_err {
                diffs.push(format!(
                    "-s:\n  postmap: {} / {}\n  ours:    {:?} / {:?}",
                    show(&out),
                    show(&err),
                    want_out.iter().map(|l| show(l)).collect::<Vec<_>>(),
                    want_err.iter().map(|l| show(l)).collect::<Vec<_>>()
                ));
            }
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(format!("spec {spec:?}\n{}", diffs.join("\n")))
        }
    }
}

// ------------------------------------------------------------ generation

const KEY_PIECES: &[&str] = &[
    "a", "B", "k", "É", "é", "ß", "SS", "Σ", "ς", "1", "[h]:25", "@x.org", "$", "$$", ":", ".",
];
const JUNK: &[&str] = &[
    "\"", "\\", "=", " ", ",", "{", "}", "{ ", " }", "\t", "a b", "\"q r\"",
];

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(KEY_PIECES), 0..3).prop_map(|v| v.concat())
}

fn value(spaced: bool) -> impl Strategy<Value = String> {
    let pieces: &'static [&'static str] = if spaced {
        &[
            "x", "Y", "u:p", "=", " ", ",", ", ", "\"", "{v}", "$", "é", "\t",
        ]
    } else {
        &["x", "Y", "u:p", "=", "\"", "$", "é", "[s]:587"]
    };
    prop::collection::vec(prop::sample::select(pieces), 0..4).prop_map(|v| v.concat())
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => (key(), value(false)).prop_map(|(k, v)| format!("{k}={v}")),
        25 => (key(), value(true), prop::sample::select(&["", " ", "  ", "\t"][..]))
            .prop_map(|(k, v, ws)| format!("{{{ws}{k}{ws}={ws}{v}{ws}}}")),
        1 => (key(), prop::sample::select(&["\"", "\\\\", "\"q\""][..]), value(false))
            .prop_map(|(k, q, v)| format!("{q}{k}={v}")),
        1 => prop::collection::vec(prop::sample::select(JUNK), 1..3).prop_map(|v| v.concat()),
    ]
}

fn spec() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::collection::vec(
            (prop::sample::select(&[" ", ",", ", ", "\t", " , "][..]), item()),
            1..6,
        )
        .prop_map(|items| {
            let body: String = items.into_iter().map(|(s, i)| format!("{s}{i}")).collect();
            format!("inline:{{{body} }}")
        }),
        1 => (value(true), any::<bool>()).prop_map(|(v, braces)| {
            if braces { format!("static:{{ {v} }}") } else { format!("static:{v}x") }
        }),
    ]
}

/// Keys worth asking: every key of the table as written, upper- and
/// lower-cased, plus some that are absent, empty or not UTF-8.
fn keys_for(spec: &str, extra: &[String]) -> Vec<Vec<u8>> {
    let mut base: Vec<String> = extra.to_vec();
    if let Ok(t) = TableRef::parse(spec)
        && let Some(e) = t.inline_entries()
    {
        base.extend(e.iter().map(|(k, _)| k.clone()));
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut push = |k: Vec<u8>| {
        if !k.contains(&b'\n') && !k.contains(&0) && !out.contains(&k) {
            out.push(k);
        }
    };
    for k in base {
        push(k.to_uppercase().into_bytes());
        push(k.to_lowercase().into_bytes());
        push(k.into_bytes());
    }
    push(b"absent".to_vec());
    push(b"caf\xe9".to_vec());
    out
}

fn random_specs(test: &str, utf8: bool) {
    let Some(oracle) = oracle(test, utf8) else {
        return;
    };
    // A fatal error costs postmap a one-second sleep; at most 256 cases
    // keep this test under a minute or two with CI's PROPTEST_CASES=1024.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64u32)
        .min(256);
    let (accepted, refused, found) = (Cell::new(0), Cell::new(0), Cell::new(0));
    let mut runner = TestRunner::new(Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    });
    let result = runner.run(
        &(spec(), prop::collection::vec(key(), 0..4)),
        |(spec, extra)| {
            let keys = keys_for(&spec, &extra);
            match TableRef::parse(&spec) {
                Ok(t) => {
                    accepted.set(accepted.get() + 1);
                    let hits = keys
                        .iter()
                        .filter(|k| {
                            matches!(t.lookup_with(k, oracle.options), Ok(Lookup::Found(_)))
                        })
                        .count();
                    found.set(found.get() + hits);
                }
                Err(_) => refused.set(refused.get() + 1),
            }
            oracle.compare(&spec, &keys).map_err(TestCaseError::fail)
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let (a, r, f) = (accepted.get(), refused.get(), found.get());
    eprintln!("{test}: {a} references accepted ({f} keys found), {r} refused, all as postmap");
    assert!(
        a * 2 > cases as usize && f >= a && r > 0,
        "poor coverage: {a} accepted, {r} refused, {f} found"
    );
}

#[test]
fn random_specs_agree_with_postmap() {
    random_specs("random_specs_agree_with_postmap", true);
}

/// `smtputf8_enable = no`: ASCII folding only, non-UTF-8 keys looked up.
#[test]
fn random_specs_agree_with_postmap_smtputf8_off() {
    random_specs("random_specs_agree_with_postmap_smtputf8_off", false);
}

/// The comparison sees what it should: fixed references where postmap has
/// a lot to say (empty key and value, duplicates, folding, fatal errors).
#[test]
fn fixed_specs_agree_with_postmap() {
    let Some(oracle) = oracle("fixed_specs_agree_with_postmap", true) else {
        return;
    };
    for spec in [
        "inline:{ =x, {k = }, K=v, { \"q r\" = 1 2 }, Straße=s, k=last }",
        "inline:{ a=1, A=2, a=3 }",
        "static:{}",
        "static:{ a b }",
        "static:x",
        "inline:{ \"a b\"=1 }",
        "inline:{ b = y }",
        "inline:{ a=1 ",
        "inline:{,}",
    ] {
        let keys = keys_for(spec, &["".into(), "STRASSE".into(), "\"Q R\"".into()]);
        oracle.compare(spec, &keys).unwrap();
    }
}
