//! `type:name` table references ([`postfix_table::spec`]) against the real
//! Postfix:
//!
//! * the recorded vectors `conformance/tables/*.inline.in` and
//!   `*.static.in` (answers of `postmap -q`, no Postfix needed);
//! * a differential run: a few hundred generated `inline:{…}`, `static:…`,
//!   `unionmap:{…}`, `pipemap:{…}`, `randmap:{…}` and `regexp:{…}`/`cidr:{…}`
//!   references (fixed-seed PRNG) are given to `postmap -q -` (Postfix 3.7)
//!   with a private configuration directory (`compatibility_level = 3.6`).
//!   A reference we refuse must make postmap die with exactly our message;
//!   one we accept must not make it die, and for `inline:`/`static:` every
//!   answer must match ours.
//!
//! Without `/usr/sbin/postmap` the differential test says so and passes,
//! unless `DMS_REQUIRE_POSTFIX` is set, which makes it fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use postfix_table::Fold;
use postfix_table::spec::TableRef;

const POSTMAP: &str = "/usr/sbin/postmap";

fn cases(suffix: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn sibling(p: &Path, ext: &str) -> PathBuf {
    let s = p.to_string_lossy();
    PathBuf::from(format!("{}{ext}", s.strip_suffix(".in").unwrap()))
}

#[test]
fn conformance_inline_and_static_vectors() {
    let mut n = 0;
    for suffix in [".inline.in", ".static.in"] {
        for case in cases(suffix) {
            let spec = fs::read_to_string(&case).unwrap();
            let spec = spec.trim_end_matches('\n');
            let t = TableRef::parse(spec).unwrap_or_else(|e| panic!("{case:?}: {e}"));
            let warnings = fs::read_to_string(sibling(&case, ".warnings")).unwrap();
            for line in fs::read_to_string(sibling(&case, ".expected"))
                .unwrap()
                .lines()
            {
                let (key, want) = line.split_once('\t').unwrap();
                let got = if t.kind() == "static" {
                    t.static_value()
                } else {
                    t.inline_lookup(key)
                };
                let want = (want != "(not found)").then_some(want);
                assert_eq!(got, want, "{case:?} key {key:?}");
                if got == Some("") {
                    assert!(
                        warnings
                            .contains(&format!("key {key}: empty string result is not allowed")),
                        "{case:?}"
                    );
                }
                n += 1;
            }
        }
    }
    assert!(n >= 10, "only {n} vector answers checked");
}

/// The vector that pins `{ key = value with spaces }` items.
#[test]
fn vector_059_entries_in_order() {
    let t: TableRef = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance/tables/059-inline-sasl.inline.in"),
    )
    .unwrap()
    .trim_end()
    .parse()
    .unwrap();
    let e: Vec<(&str, &str)> = t
        .inline_entries()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        e,
        [
            ("[smtp.example.com]:587", "user:pass"),
            ("[smtp.example.net]:465", "user2:pass with spaces"),
            ("@example.org", "a:b"),
        ]
    );
}

/// Messages recorded from `postmap -q a SPEC` (Postfix 3.7.11): pinned so
/// they are checked without Postfix too.
#[test]
fn recorded_postmap_fatals() {
    let cases = [
        (
            "inline:{ a=b",
            r#"bad syntax: "inline:{ a=b"; need "inline:{name=value...}""#,
        ),
        (
            "inline:{}",
            r#"bad syntax: "inline:{}"; need "inline:{name=value...}""#,
        ),
        (
            "inline:{ }",
            r#"empty table: "inline:{ }"; need "inline:{name=value...}""#,
        ),
        (
            "inline:{ {a=b}c }",
            r#"syntax error after '}' in "{a=b}c": "inline:{ {a=b}c }"; need "inline:{name=value...}""#,
        ),
        (
            "inline:{ a }",
            r#"missing '=' after attribute name: "inline:{ a }"; need "inline:{name=value...}""#,
        ),
        (
            r#"inline:{ "a b"=c }"#,
            r#"unbalanced '"': "inline:{ "a b"=c }"; need "inline:{name=value...}""#,
        ),
        (
            "inline:{ {} }",
            r#"no key found; expected format: key = value: "inline:{ {} }"; need "inline:{name=value...}""#,
        ),
        (
            "inline:x",
            r#"bad syntax: "inline:x"; need "inline:{name=value...}""#,
        ),
        (
            "static:{ a",
            r#"bad static:name syntax: missing '}' in "{ a""#,
        ),
        (
            "static:{a}b",
            r#"bad static:name syntax: syntax error after '}' in "{a}b""#,
        ),
        (
            "static:",
            r#"open dictionary: expecting "type:name" form instead of "static:""#,
        ),
        (
            ":x",
            r#"open dictionary: expecting "type:name" form instead of ":x""#,
        ),
        (
            "foo",
            r#"open dictionary: expecting "type:name" form instead of "foo""#,
        ),
        (
            "regexp:{ /a/ b }",
            r#"regexp map: no '{' at start of text in "/a/""#,
        ),
        (
            "regexp:{ {/a/ b}",
            r#"regexp map: missing '}' in "{ {/a/ b}""#,
        ),
        (
            "regexp:{ {/a/ b}x }",
            r#"regexp map: syntax error after '}' in "{/a/ b}x""#,
        ),
        (
            "unionmap:{}",
            r#"bad syntax: "unionmap:{}"; need "unionmap:{type:name...}""#,
        ),
        (
            "unionmap:{ x }",
            r#"bad syntax: "unionmap:{ x }"; need "unionmap:{type:name...}""#,
        ),
        (
            "randmap:{}",
            r#"bad syntax: "randmap:{}"; need "randmap:{value...}""#,
        ),
    ];
    for (spec, msg) in cases {
        assert_eq!(
            TableRef::parse(spec).map(|_| ()).unwrap_err().to_string(),
            msg,
            "{spec}"
        );
    }
    // And accepted by postmap:
    for spec in [
        "regexp:{ {/a/ b}, {/c/ d} }",
        "regexp:{}",
        "regexp:{ {} }",
        "pcre:{ {/a/ b} }",
        "cidr:{ {10.0.0.0/8 OK} }",
        "unionmap:{ static:x, static:y }",
        "pipemap:{ static:x }",
        "randmap:{ a, {b c} }",
        "HASH:/x", // opens, then fails as an unsupported type: not a syntax error
    ] {
        TableRef::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
}

// ---------------------------------------------------------------------------
// Differential test against postmap.

fn postmap_available() -> bool {
    if Path::new(POSTMAP).exists() {
        return true;
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!("{POSTMAP} not found and DMS_REQUIRE_POSTFIX is set");
    }
    eprintln!("NOTE: {POSTMAP} not found: spec differential test skipped");
    false
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// What postmap prints: `printable()` turns control bytes into `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c as u32) < 0x20 || c == '\x7f' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

struct Outcome {
    fatal: Option<String>,
    stdout: String,
}

/// Runs postmap on every `(spec, keys)` job, many at a time: a fatal error
/// costs postmap a one-second sleep, so running them one by one would take
/// minutes.
fn run_postmap_all(conf: &Path, jobs: &[(String, Vec<String>)]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for batch in jobs.chunks(64) {
        let children: Vec<_> = batch
            .iter()
            .map(|(spec, keys)| {
                let mut child = Command::new(POSTMAP)
                    .arg("-c")
                    .arg(conf)
                    .args(["-q", "-", spec])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut input = String::new();
                for k in keys {
                    input.push_str(k);
                    input.push('\n');
                }
                // A small write: fits the pipe buffer even if postmap died.
                let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
                child
            })
            .collect();
        for child in children {
            let o = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
            out.push(Outcome {
                fatal: stderr
                    .lines()
                    .find_map(|l| l.strip_prefix("postmap: fatal: "))
                    .map(str::to_owned),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            });
        }
    }
    out
}

fn gen_inline(r: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "a",
        "b",
        "K",
        "É",
        "1",
        "=",
        "=",
        " ",
        " ",
        ",",
        ", ",
        "{",
        "}",
        "{ ",
        " }",
        "\"",
        "\\",
        "\t",
        "a=b",
        "k=v",
        "{ k = v w }",
        "{a=}",
        "x=y,z",
        "=c",
        "[h]:25=u:p",
    ];
    let mut body = String::new();
    let clean = r.below(2) == 0;
    for _ in 0..r.below(9) {
        if clean || r.below(2) == 0 {
            // Mostly well-formed items, so that many specs are accepted.
            body.push_str(r.pick(&[" ", ", ", ","]));
            body.push_str(r.pick(&[
                "a=1",
                "{ b = 2 3 }",
                "K=x",
                "\"q\"=4",
                "{ \"q r\" = 5 }",
                "É=6",
                "{c=}",
            ]));
        } else {
            body.push_str(r.pick(PIECES));
        }
    }
    match if clean { 9 } else { r.below(10) } {
        0 => format!("inline:{{{body}"),
        1 => format!("inline:{{{body}}}x"),
        2 => format!("inline:{body}"),
        _ => format!("inline:{{{body}}}"),
    }
}

fn gen_static(r: &mut Rng) -> String {
    const PIECES: &[&str] = &["a", "b c", " ", "{", "}", ":", "[x]:25", "\t", "{ y }", ","];
    let mut body = String::new();
    for _ in 0..r.below(6) {
        body.push_str(r.pick(PIECES));
    }
    match r.below(3) {
        0 => format!("static:{{{body}}}"),
        1 => format!("static:{{{body}"),
        _ => format!("static:{body}"),
    }
}

fn gen_composite(r: &mut Rng) -> String {
    const ITEMS: &[&str] = &[
        "static:x",
        "static:{ y z }",
        "{static:y}",
        "x",
        ":x",
        "static:",
        "{/a/ b}",
        "{ /a/ b }",
        "/a/ b",
        "{}",
        "{10.0.0.0/8 OK}",
        "inline:{a=b}",
        "inline:{a}",
        "{a",
        "b}",
        "unionmap:{static:q}",
    ];
    const KINDS: &[&str] = &["unionmap", "pipemap", "randmap", "regexp", "cidr"];
    let kind = r.pick(KINDS);
    let mut body = String::new();
    for _ in 0..r.below(4) {
        body.push_str(r.pick(&[" ", ",", ", ", ""]));
        body.push_str(r.pick(ITEMS));
    }
    match r.below(8) {
        0 => format!("{kind}:{{{body}"),
        1 => format!("{kind}:{{{body}}}x"),
        _ => format!("{kind}:{{{body}}}"),
    }
}

/// Candidate lookup keys for an inline spec: every piece between
/// separators, `=` and braces, plus the keys we found.
fn candidate_keys(spec: &str, t: Option<&TableRef>) -> Vec<String> {
    let mut keys: BTreeSet<String> = spec
        .split([',', ' ', '\t', '=', '{', '}'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(e) = t.and_then(TableRef::inline_entries) {
        keys.extend(e.iter().map(|(k, _)| k.clone()));
    }
    keys.insert("absent".into());
    // postmap prints one line per query; keep one query per folded key and
    // none that it cannot read back on one line.
    let mut seen = BTreeSet::new();
    keys.into_iter()
        .filter(|k| !k.is_empty() && !k.contains(['\n', '\r']))
        .filter(|k| seen.insert(Fold::Unicode.fold(k.as_bytes()).into_owned()))
        .collect()
}

#[test]
fn differential_against_postmap() {
    if !postmap_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let main_cf = dir.path().join("main.cf");
    fs::write(&main_cf, "compatibility_level = 3.6\n").unwrap();
    fs::write(dir.path().join("master.cf"), "").unwrap();
    let st = Command::new("touch")
        .args(["-d", "2000-01-01 00:00:00"])
        .arg(&main_cf)
        .status()
        .unwrap();
    assert!(st.success());

    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut jobs = Vec::new();
    for i in 0..360 {
        let spec = match i % 6 {
            0..=2 => gen_inline(&mut r),
            3 => gen_static(&mut r),
            _ => gen_composite(&mut r),
        };
        let keys = match TableRef::parse(&spec) {
            Ok(t) if t.kind() == "inline" => candidate_keys(&spec, Some(&t)),
            _ => vec!["a".to_owned()],
        };
        jobs.push((spec, keys));
    }
    let outcomes = run_postmap_all(dir.path(), &jobs);
    let (mut ok, mut err, mut unsupported, mut answers) = (0, 0, 0, 0);
    for ((spec, keys), theirs) in jobs.iter().zip(&outcomes) {
        let ours = TableRef::parse(spec);
        if let Some(t) = theirs
            .fatal
            .as_deref()
            .and_then(|f| f.strip_prefix("unsupported dictionary type: "))
        {
            // Which types exist is decided when the table is opened (and
            // depends on the installed map plugins): not a syntax check.
            assert!(spec.contains(&format!("{t}:")), "spec {spec:?}");
            unsupported += 1;
            continue;
        }
        match (&ours, &theirs.fatal) {
            (Err(e), Some(f)) => {
                assert_eq!(&printable(&e.to_string()), f, "spec {spec:?}");
                err += 1;
            }
            (Err(e), None) => panic!("spec {spec:?}: we refuse ({e}), postmap accepts"),
            (Ok(_), Some(f)) => panic!("spec {spec:?}: we accept, postmap says {f}"),
            (Ok(t), None) => {
                ok += 1;
                let mut got = String::new();
                match t.kind() {
                    "inline" => {
                        for k in keys {
                            if let Some(v) = t.inline_lookup(k) {
                                got.push_str(&format!("{k}\t{v}\n"));
                            }
                        }
                    }
                    "static" => {
                        got = format!("a\t{}\n", t.static_value().unwrap());
                    }
                    _ => continue,
                }
                assert_eq!(got, theirs.stdout, "spec {spec:?}, queries {keys:?}");
                answers += got.lines().count();
            }
        }
    }
    eprintln!(
        "spec differential: {ok} accepted ({answers} answers found), {err} refused, \
         {unsupported} unsupported types, all as postmap"
    );
    assert!(
        ok >= 100 && err >= 60 && answers >= 150,
        "poor coverage: {ok} ok, {err} errors, {answers} answers"
    );
}
