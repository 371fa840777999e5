//! Differential test against the real Postfix: random tables mixing the
//! tricky constructs of the format are given to `postmap` (Postfix 3.7,
//! `texthash:`) and to this crate, and every answer must agree:
//!
//! * `postmap -q - texthash:table` with every key of the table (as written,
//!   upper- and lower-cased) plus absent ones on stdin: its stdout (`key<TAB>
//!   value` for each key found) against [`Table::get`], and its stderr
//!   (load-time warnings in file order, then query-time warnings in query
//!   order) against [`Table::diagnostics`]' `postfix_message` plus the
//!   non-UTF-8 query warning;
//! * `postmap -s texthash:table`: its stdout (hash order, so sorted) against
//!   [`Table::effective`], its stderr against the load-time warnings.
//!
//! Every run uses a private configuration directory (`compatibility_level =
//! 3.6`, so `smtputf8_enable = yes`, as on a stock Debian 12) and never
//! reads the system one. Without `/usr/sbin/postmap` the tests say so loudly
//! and pass, unless `DMS_REQUIRE_POSTFIX` is set (CI), which makes them fail.
//!
//! 64 random tables by default; `PROPTEST_CASES=N` changes that. The texthash
//! conformance inputs (`conformance/tables/*.in`) run once as fixed cases.
//! The same random comparison runs with `smtputf8_enable = no`. The bugs
//! these comparisons found are pinned at the end, with postmap's recorded
//! answers (those tests need no postmap).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
mod postmap_run;

use std::fmt;
use std::fs;
use std::path::Path;

use postfix_table::Table;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

use postmap_run::{conf_dir, postmap_available, run_postmap, write_cold};

// ------------------------------------------------------------------ oracle

/// A private Postfix configuration directory, with `smtputf8_enable` as
/// given (Options::utf8).
struct Oracle {
    conf: tempfile::TempDir,
    utf8: bool,
}

/// `None` (after a loud message) when postmap is missing and
/// `DMS_REQUIRE_POSTFIX` is unset; panics when it is set.
fn oracle(test: &str) -> Option<Oracle> {
    oracle_with(test, true)
}

/// Like [`oracle`], with `smtputf8_enable = no` when `utf8` is false.
fn oracle_with(test: &str, utf8: bool) -> Option<Oracle> {
    postmap_available(test, "postfix").then(|| Oracle {
        conf: conf_dir(utf8),
        utf8,
    })
}

struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Oracle {
    fn postmap(&self, dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
        let (stdout, stderr) = run_postmap(self.conf.path(), Some(dir), args, stdin);
        Run { stdout, stderr }
    }
}

// ------------------------------------------------------------- comparison

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

/// The keys worth asking about: the given ones and every key the table
/// has, each as written, upper- and lower-cased (ASCII and, for UTF-8,
/// Unicode), plus absent ones. Keys postmap cannot read from stdin (empty,
/// LF, NUL) are left out; duplicates are dropped, order kept.
fn queries(table: &Table, extra: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut base: Vec<Vec<u8>> = extra.to_vec();
    base.extend(table.entries().filter_map(|e| e.key().map(<[u8]>::to_vec)));
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut push = |k: Vec<u8>| {
        if !k.is_empty() && !k.contains(&b'\n') && !k.contains(&0) && !out.contains(&k) {
            out.push(k);
        }
    };
    for k in base {
        push(k.to_ascii_uppercase());
        push(k.to_ascii_lowercase());
        if let Ok(s) = std::str::from_utf8(&k) {
            push(s.to_uppercase().into_bytes());
            push(s.to_lowercase().into_bytes());
        }
        push(k);
    }
    for k in [
        &b"absent"[..],
        b"ABSENT@example.com",
        b"@nowhere.example",
        b"caf\xe9",
    ] {
        push(k.to_vec());
    }
    out
}

/// Runs both postmap commands on `src` and compares them with `Table`.
/// `Err` describes every difference.
fn compare(oracle: &Oracle, src: &[u8], extra_keys: &[Vec<u8>]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    write_cold(&dir.path().join("table"), src);
    let utf8 = oracle.utf8;
    let table = Table::parse_with(
        src,
        postfix_table::Options {
            utf8,
            ..postfix_table::Options::default()
        },
    );
    let qs = queries(&table, extra_keys);
    let mut stdin = Vec::new();
    for q in &qs {
        stdin.extend_from_slice(q);
        stdin.push(b'\n');
    }

    let load_warnings: Vec<Vec<u8>> = table
        .diagnostics()
        .iter()
        .filter_map(|d| d.postfix_message_bytes("table", utf8))
        .map(|m| [&b"postmap: warning: "[..], &m].concat())
        .collect();

    // Our answers, in postmap's output format.
    let mut want_out = Vec::new();
    let mut want_err = load_warnings.clone();
    for q in &qs {
        if table.check_query(q).is_err() {
            let shown = postfix_table::lines::printable(q, utf8);
            want_err.push(
                [
                    &b"postmap: warning: texthash:table: non-UTF-8 key \""[..],
                    &shown,
                    b"\": malformed UTF-8 or invalid codepoint",
                ]
                .concat(),
            );
        }
        if let Some(v) = table.get(q) {
            want_out.extend_from_slice(q);
            want_out.push(b'\t');
            want_out.extend_from_slice(&v);
            want_out.push(b'\n');
        }
    }
    let mut want_dump: Vec<Vec<u8>> = table
        .effective()
        .into_iter()
        .map(|(k, v)| [&k[..], b"\t", &v[..]].concat())
        .collect();
    want_dump.sort();

    let q = oracle.postmap(dir.path(), &["-q", "-", "texthash:table"], &stdin);
    let s = oracle.postmap(dir.path(), &["-s", "texthash:table"], b"");
    let mut got_dump = split_lines(&s.stdout);
    got_dump.sort();

    let mut problems = Vec::new();
    if q.stdout != want_out {
        let (got, want) = (split_lines(&q.stdout), split_lines(&want_out));
        let missing: Vec<String> = want
            .iter()
            .filter(|l| !got.contains(l))
            .map(|l| show(l))
            .collect();
        let extra: Vec<String> = got
            .iter()
            .filter(|l| !want.contains(l))
            .map(|l| show(l))
            .collect();
        problems.push(format!(
            "postmap -q - answers differ\n  postmap only: {extra:?}\n  ours only:    {missing:?}\n  postmap: {:?}\n  ours:    {:?}",
            got.iter().map(|l| show(l)).collect::<Vec<_>>(),
            want.iter().map(|l| show(l)).collect::<Vec<_>>()
        ));
    }
    let got_err = split_lines(&q.stderr);
    if got_err != want_err {
        problems.push(format!(
            "postmap -q - warnings differ\n  postmap: {:#?}\n  ours:    {:#?}",
            got_err.iter().map(|l| show(l)).collect::<Vec<_>>(),
            want_err.iter().map(|l| show(l)).collect::<Vec<_>>()
        ));
    }
    if got_dump != want_dump {
        problems.push(format!(
            "postmap -s differs (sorted)\n  postmap: {:?}\n  ours:    {:?}",
            got_dump.iter().map(|l| show(l)).collect::<Vec<_>>(),
            want_dump.iter().map(|l| show(l)).collect::<Vec<_>>()
        ));
    }
    let got_s_err = split_lines(&s.stderr);
    if got_s_err != load_warnings {
        problems.push(format!(
            "postmap -s warnings differ\n  postmap: {:#?}\n  ours:    {:#?}",
            got_s_err.iter().map(|l| show(l)).collect::<Vec<_>>(),
            load_warnings.iter().map(|l| show(l)).collect::<Vec<_>>()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "table {:?}\nqueries {:?}\n{}",
            show(src),
            qs.iter().map(|q| show(q)).collect::<Vec<_>>(),
            problems.join("\n")
        ))
    }
}

// --------------------------------------------------------------- generator

const KEYS: &[&[u8]] = &[
    b"key",
    b"Key",
    b"KEY",
    b"k",
    b"user@example.com",
    b"User@Example.COM",
    b"@example.com",
    b"@EXAMPLE.com",
    b"\"john doe\"@example.com",
    b"\"John Doe\"@example.com",
    b"\"a\tb\"",
    b"a\\ b",
    b"A\\ B",
    b"a\\\\",
    b"k\\",
    b"\\#x",
    b"alias:",
    b"ALIAS:",
    b"root:",
    b"<>",
    b"\"<>\"",
    b"\"open",
    "\"été".as_bytes(),
    b"\"a\\\"b\"",
    b"a\"b c\"d",
    b"\\\"x",
    b"x=y",
    b"k#x",
    "été@exemple.fr".as_bytes(),
    "ÉTÉ@EXEMPLE.FR".as_bytes(),
    "Été@Exemple.fr".as_bytes(),
    "straße".as_bytes(),
    "STRASSE".as_bytes(),
    "Strasse".as_bytes(),
    "σίσυφος".as_bytes(),
    "ΣΊΣΥΦΟΣ".as_bytes(),
    "ς".as_bytes(),
    "Σ".as_bytes(),
];
const LATIN1_KEYS: &[&[u8]] = &[b"caf\xe9", b"CAF\xc9", b"\xe9t\xe9", b"\xc3\x89t\xe9"];
/// NUL bytes: Postfix sees a logical line as a C string.
const NUL_KEYS: &[&[u8]] = &[b"k\0ey", b"\0", b"key\0\xe9"];

const VALUES: &[&[u8]] = &[
    b"v",
    b"value",
    b"[smtp.example.com]:587",
    b"user:pass word",
    b"a\\b",
    b"\\",
    b"#notcomment",
    b"x  y",
    b"\"q\"",
    b"MiXeD",
    b":",
    "Déjà vu".as_bytes(),
    "ΣΑΣ".as_bytes(),
];
const LATIN1_VALUES: &[&[u8]] = &[b"caf\xe9", b"x \xe9"];
const NUL_VALUES: &[&[u8]] = &[b"va\0lue", b"\0", b"v\0\xe9"];

const SEPARATORS: &[&[u8]] = &[b" ", b"\t", b"  ", b" \t ", b"\x0c", b"\x0b", b"\t\x0c"];
const TRAILING: &[&[u8]] = &[b"", b"", b"", b" ", b"\t", b"\x0c", b"\r"];
const INDENTS: &[&[u8]] = &[b" ", b"\t", b"   ", b"\x0c", b"\x0b", b" \t"];
const CONTINUATIONS: &[&[u8]] = &[
    b"more",
    b"x",
    b"k2 v2",
    b"a # b",
    b"[relay]:25",
    b"\\",
    b"KEY value",
    b"a rather long continuation line, longer than thirty bytes",
    b"\"unbalanced continuation",
    "Ünïcode".as_bytes(),
];
const COMMENTS: &[&[u8]] = &[b"#", b"# comment", b"  # indented", b"\t#x"];
const LATIN1_COMMENTS: &[&[u8]] = &[
    b"#",
    b"# comment",
    b"  # indented",
    b"\t#x",
    b"#\xe9 latin1 comment",
];
const BLANKS: &[&[u8]] = &[b"", b" ", b"\t", b" \x0c", b"\r"];

/// One physical line, without its line ending.
#[derive(Clone, Debug)]
enum Line {
    /// `key [sep value] [trailing]`, the key possibly indented.
    Entry {
        indent: Option<&'static [u8]>,
        key: &'static [u8],
        rest: Option<(&'static [u8], &'static [u8])>,
        trailing: &'static [u8],
    },
    /// Whitespace then text: a continuation (or an orphan at the top).
    Continuation(&'static [u8], &'static [u8]),
    Comment(&'static [u8]),
    Blank(&'static [u8]),
}

impl Line {
    fn render(&self, out: &mut Vec<u8>) {
        match self {
            Line::Entry {
                indent,
                key,
                rest,
                trailing,
            } => {
                out.extend_from_slice(indent.unwrap_or_default());
                out.extend_from_slice(key);
                if let Some((sep, value)) = rest {
                    out.extend_from_slice(sep);
                    out.extend_from_slice(value);
                }
                out.extend_from_slice(trailing);
            }
            Line::Continuation(ws, text) => {
                out.extend_from_slice(ws);
                out.extend_from_slice(text);
            }
            Line::Comment(c) => out.extend_from_slice(c),
            Line::Blank(b) => out.extend_from_slice(b),
        }
    }
}

/// A generated table: its lines (with CRLF or not) and whether the last one
/// lacks a line ending.
#[derive(Clone)]
struct Case {
    lines: Vec<(Line, bool)>,
    unterminated: bool,
}

impl Case {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let n = self.lines.len();
        for (i, (line, crlf)) in self.lines.iter().enumerate() {
            line.render(&mut out);
            if i + 1 < n || !self.unterminated {
                out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
        }
        out
    }

    fn keys(&self) -> Vec<Vec<u8>> {
        self.lines
            .iter()
            .filter_map(|(l, _)| match l {
                Line::Entry { key, .. } => Some(key.to_vec()),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", show(&self.bytes()))
    }
}

fn pick(items: &'static [&'static [u8]]) -> impl Strategy<Value = &'static [u8]> + Clone {
    prop::sample::select(items)
}

/// Which exotic bytes a generated table may hold besides the common
/// constructs: the Latin-1 byte 0xE9 (non-UTF-8 lines), NUL bytes.
#[derive(Clone, Copy, Debug)]
struct Flavor {
    latin1: bool,
    nul: bool,
}

fn pool(
    common: &'static [&'static [u8]],
    latin1: &'static [&'static [u8]],
    nul: &'static [&'static [u8]],
    flavor: Flavor,
) -> BoxedStrategy<&'static [u8]> {
    match (flavor.latin1, flavor.nul) {
        (false, false) => pick(common).boxed(),
        (true, false) => prop_oneof![6 => pick(common), 1 => pick(latin1)].boxed(),
        (false, true) => prop_oneof![6 => pick(common), 1 => pick(nul)].boxed(),
        (true, true) => prop_oneof![6 => pick(common), 1 => pick(latin1), 1 => pick(nul)].boxed(),
    }
}

fn line(flavor: Flavor) -> impl Strategy<Value = Line> {
    let keys = pool(KEYS, LATIN1_KEYS, NUL_KEYS, flavor);
    let values = pool(VALUES, LATIN1_VALUES, NUL_VALUES, flavor);
    let entry = (
        prop::option::weighted(0.1, pick(INDENTS)),
        keys,
        prop::option::weighted(0.8, (pick(SEPARATORS), values)),
        pick(TRAILING),
    )
        .prop_map(|(indent, key, rest, trailing)| Line::Entry {
            indent,
            key,
            rest,
            trailing,
        });
    let comments: &'static [&'static [u8]] = if flavor.latin1 {
        LATIN1_COMMENTS
    } else {
        COMMENTS
    };
    prop_oneof![
        6 => entry,
        2 => (pick(INDENTS), pick(CONTINUATIONS)).prop_map(|(ws, t)| Line::Continuation(ws, t)),
        1 => pick(comments).prop_map(Line::Comment),
        1 => pick(BLANKS).prop_map(Line::Blank),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (prop::bool::weighted(0.25), prop::bool::weighted(0.1)).prop_flat_map(|(latin1, nul)| {
        (
            prop::collection::vec(
                (line(Flavor { latin1, nul }), prop::bool::weighted(0.3)),
                0..14,
            ),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(lines, unterminated)| Case {
                lines,
                unterminated,
            })
    })
}

// ------------------------------------------------------------------ tests

/// Runs [`compare`] on `PROPTEST_CASES` (default 64) random tables.
fn random_tables(test: &str, utf8: bool) {
    let Some(oracle) = oracle_with(test, utf8) else {
        return;
    };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    });
    let result = runner.run(&case(), |c| {
        compare(&oracle, &c.bytes(), &c.keys()).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_tables_agree_with_postmap() {
    random_tables("random_tables_agree_with_postmap", true);
}

/// The same with `smtputf8_enable = no` (`Options { utf8: false, .. }`):
/// no UTF-8 checks, ASCII-only folding, non-ASCII shown as `?`.
#[test]
fn random_tables_agree_with_postmap_smtputf8_off() {
    random_tables("random_tables_agree_with_postmap_smtputf8_off", false);
}

#[test]
fn conformance_tables_agree_with_postmap() {
    let Some(oracle) = oracle("conformance_tables_agree_with_postmap") else {
        return;
    };
    let inputs = common::texthash_cases();
    assert!(inputs.len() >= 40, "texthash conformance inputs missing");
    let mut failures = Vec::new();
    for input in &inputs {
        let src = fs::read(input).unwrap();
        let queries = fs::read(input.with_extension("queries")).unwrap_or_default();
        let extra = split_lines(&queries);
        if let Err(e) = compare(&oracle, &src, &extra) {
            failures.push(format!("{}:\n{e}", input.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The comparison itself works: a table where both sides have a lot to say.
#[test]
fn comparison_sees_answers_warnings_and_dump() {
    let Some(oracle) = oracle("comparison_sees_answers_warnings_and_dump") else {
        return;
    };
    let src = b"Key first\nKEY second\n  more\n@only\nali: x\ncaf\xe9 v\n";
    compare(&oracle, src, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_cold(&dir.path().join("table"), src);
    let q = oracle.postmap(
        dir.path(),
        &["-q", "-", "texthash:table"],
        b"key\nALI:\ncaf\xe9\n",
    );
    assert_eq!(q.stdout, b"key\tfirst\nALI:\tx\n");
    assert_eq!(split_lines(&q.stderr).len(), 5, "{}", show(&q.stderr));
}

// ---------------------------------------------------- bugs found, pinned
//
// Expected values below are what `postmap -c CONF -q - texthash:table`
// (Postfix 3.7.11, Debian 12) printed for these inputs; they need no
// postmap at run time.

fn messages(src: &[u8], utf8: bool) -> Vec<Vec<u8>> {
    let options = postfix_table::Options {
        utf8,
        ..postfix_table::Options::default()
    };
    Table::parse_with(src, options)
        .diagnostics()
        .iter()
        .filter_map(|d| d.postfix_message_bytes("table", utf8))
        .collect()
}

/// With `smtputf8_enable = no`, Postfix's `printable()` turns every byte
/// outside printable ASCII into `?`: "été" (5 bytes) is shown as `??t??`.
/// (Found by `random_tables_agree_with_postmap_smtputf8_off`: the crate
/// used to replace each character, giving `?t?`.)
#[test]
fn ascii_mode_message_replaces_each_byte() {
    let shown = |src: &str| {
        messages(src.as_bytes(), false)
            .iter()
            .map(|m| show(m))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shown("\"été\n"),
        [r#"table, line 1: unbalanced \'\"\' in \'\"??t??\' -- ignoring this line"#]
    );
    assert_eq!(
        shown("é a\né b\n"),
        [r#"table, line 2: duplicate entry: \"??\""#]
    );
}

/// With `smtputf8_enable = yes`, Postfix's `printable()` keeps a byte
/// 0xC2..=0xFE followed by one or more continuation bytes (0x80..=0xBF) as
/// they are, with all those continuation bytes, without checking that they
/// form valid UTF-8; only other non-ASCII bytes become `?`.
/// This shows in warnings about non-UTF-8 lines holding a surrogate, an
/// overlong or out-of-range form, a truncated sequence or an extra
/// continuation byte (e.g. Latin-1 "é©" = E9 A9), and in the non-UTF-8
/// query key warning; the text is then not UTF-8, hence
/// `postfix_message_bytes`. (Found by probing postmap with such lines: the
/// crate used to keep only valid UTF-8 and show `?` for the rest.)
#[test]
fn utf8_mode_message_keeps_utf8_like_sequences() {
    let src =
        b"a\xe9\xa9 v\nb\xe2\x82 v\nc\xc3\xa9\xa9\xa9 v\nd\xfe\x80 v\ne\xff\x80 v\nf\xc1\x80 v\n\
                k\xed\xa0\x80 w\nbig\xf4\x90\x80\x80 v\n";
    let want: [&[u8]; 8] = [
        b"table, line 1: non-UTF-8 input \"a\xe9\xa9 v\" -- ignoring this line",
        b"table, line 2: non-UTF-8 input \"b\xe2\x82 v\" -- ignoring this line",
        b"table, line 3: non-UTF-8 input \"c\xc3\xa9\xa9\xa9 v\" -- ignoring this line",
        b"table, line 4: non-UTF-8 input \"d\xfe\x80 v\" -- ignoring this line",
        b"table, line 5: non-UTF-8 input \"e?? v\" -- ignoring this line",
        b"table, line 6: non-UTF-8 input \"f?? v\" -- ignoring this line",
        b"table, line 7: non-UTF-8 input \"k\xed\xa0\x80 w\" -- ignoring this line",
        b"table, line 8: non-UTF-8 input \"big\xf4\x90\x80\x80 v\" -- ignoring this line",
    ];
    let got = messages(src, true);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(show(g), show(w));
    }
    assert_eq!(got.len(), want.len());
    // Query-time warning: `texthash:table: non-UTF-8 key "k\xed\xa0\x80": ...`.
    assert_eq!(
        postfix_table::lines::printable(b"k\xed\xa0\x80", true),
        b"k\xed\xa0\x80"
    );
}

/// Unicode case folding: one key per code point that has a case mapping
/// (about 2,900, from every plane), each queried as written, upper- and
/// lower-cased. (A one-off run over all 1,112,064 scalar values agreed
/// with postmap too; it takes too long for every `cargo test`.)
#[test]
fn case_mapped_code_points_fold_like_postmap() {
    let Some(oracle) = oracle("case_mapped_code_points_fold_like_postmap") else {
        return;
    };
    let mut src = Vec::new();
    let mut n = 0;
    for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
        let mut lower = c.to_lowercase();
        let mut upper = c.to_uppercase();
        if lower.len() != 1
            || lower.next() != Some(c)
            || upper.len() != 1
            || upper.next() != Some(c)
        {
            src.extend_from_slice(format!("x{c} {:x}\n", u32::from(c)).as_bytes());
            n += 1;
        }
    }
    assert!(n > 2500, "only {n} code points with a case mapping");
    compare(&oracle, &src, &[]).unwrap();
}
