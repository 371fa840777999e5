//! Differential test against the real Postfix: random `regexp:`, `pcre:`
//! and `cidr:` tables (valid and broken rules, flags, negation, legacy
//! `/a/!/b/`, `$n` forms, nested and broken `if`/`endif`, comments,
//! continuation lines, CRLF, NUL and non-UTF-8 bytes) are given to
//! `postmap -q - TYPE:table` (Postfix 3.7, private configuration with
//! `compatibility_level = 3.6`) and to [`PatternTable`]; stdout (answers)
//! and stderr (load-time and lookup-time warnings) must be identical, byte
//! for byte.
//!
//! Without `/usr/sbin/postmap` (or without the engine feature of a kind)
//! the tests say so loudly and pass, unless `DMS_REQUIRE_POSTFIX` is set
//! (CI), which makes them fail. 48 tables per kind by default;
//! `PATTERN_ORACLE_CASES=N` changes that, `PATTERN_ORACLE_SEED=S` the seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod pattern_common;
mod postmap_run;

use std::path::Path;

use postfix_table::pattern::{PatternKind, PatternTable};

use postmap_run::{conf_dir, postmap_available, run_postmap, write_cold};

fn available(test: &str, kind: PatternKind) -> bool {
    if !postmap_available(test, "postfix postfix-pcre") {
        return false;
    }
    if !kind.engine_available() {
        assert!(
            std::env::var_os("DMS_REQUIRE_POSTFIX").is_none(),
            "{} engine not compiled in and DMS_REQUIRE_POSTFIX is set: enable the feature",
            kind.name()
        );
        eprintln!(
            "\n**********\nno {} engine in this build: differential test SKIPPED ({test})\n**********\n",
            kind.name()
        );
        return false;
    }
    true
}

/// xorshift64*: reproducible without extra dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const RE_ATOMS: &[&str] = &[
    "a",
    "b",
    "x",
    ".",
    "^",
    "$",
    "(a|ab)",
    "(.*)",
    "([a-z]+)",
    "[[:digit:]]",
    "\\.",
    "x*",
    "(b)?",
    "\\(",
    "(",
    ")",
    "[",
    "a{1,2}",
    "{2}",
    "(.)\\1",
    "é",
    "[^@]+",
    "@",
    "\\/",
    "+",
    "(A)",
    "|",
    "[[:foo:]]",
    "a{2,1}",
];
const PCRE_ATOMS: &[&str] = &[
    "a", "b", "x", ".", "^", "$", "(a|ab)", "(.*)", "([a-z]+)", "\\d", "\\.", "x*", "(b)?", "(",
    ")", "[", "(?<n>x)", "(?i)A", "a++", "(?=a)", "x**", "é", "[^@]+", "@", "\\/", "(A)", "\\K",
    "(?:a|b)", "\\x{41}", "\\",
];
const DELIMS: &[&str] = &["/", "/", "/", "|", "~", "#", "%", "a", "!"];
const RE_FLAGS: &[&str] = &["", "", "", "i", "x", "m", "ix", "z", "ii", "!"];
const PCRE_FLAGS: &[&str] = &[
    "", "", "", "i", "x", "m", "s", "A", "E", "U", "X", "q", "ixsm",
];
const RESULTS: &[&str] = &[
    "ok",
    "OK",
    "r$1",
    "${2}-$(1)",
    "$$x",
    "",
    "$0",
    "$1abc",
    "${1",
    "x$",
    "a b",
    "café",
    "$1",
    "${1}${1}",
    "$(2)",
    "$99999999999",
    "${}",
    "rel:$1 $$",
    "#not-comment",
];
const RE_KEYS: &[&str] = &[
    "",
    "a",
    "ab",
    "abc",
    "b",
    "x",
    "xx",
    "A",
    "AB",
    "a@b",
    "a.b",
    "aa",
    "(",
    "a/b",
    "1",
    "12",
    "é",
    "éa",
    "ok",
    "user@example.com",
    "x@y.z",
];

fn pattern(rng: &mut Rng, kind: PatternKind) -> String {
    let atoms = if kind == PatternKind::Pcre {
        PCRE_ATOMS
    } else {
        RE_ATOMS
    };
    let n = 1 + rng.below(3);
    let mut body = String::new();
    for _ in 0..n {
        let atom: &&str = rng.pick(atoms);
        body.push_str(atom);
    }
    let d = *rng.pick(DELIMS);
    let body = if d != "/" { body.replace(d, "") } else { body };
    let flags = rng.pick(if kind == PatternKind::Pcre {
        PCRE_FLAGS
    } else {
        RE_FLAGS
    });
    let neg = *rng.pick(&["", "", "", "!", "!!", "! "]);
    let close = if rng.chance(3) { "" } else { d };
    format!("{neg}{d}{body}{close}{flags}")
}

fn cidr_net(rng: &mut Rng) -> String {
    let v4 = || -> String { String::new() };
    let _ = v4;
    let base = match rng.below(10) {
        0..=4 => format!(
            "{}.{}.{}.{}",
            rng.pick(&[10, 192, 172, 0, 1]),
            rng.pick(&[0, 1, 168, 16, 255]),
            rng.pick(&[0, 1, 2, 5]),
            rng.pick(&[0, 1, 3])
        ),
        5..=7 => rng
            .pick(&[
                "2001:db8::",
                "2001:db8::1",
                "::",
                "::1",
                "::ffff:10.0.0.0",
                "2001:0db8:0:0::2",
                "fe80::",
            ])
            .to_string(),
        _ => rng
            .pick(&[
                "01.2.3.4",
                "1.2.3",
                "host",
                "1.2.3.4.5",
                "::g",
                "",
                "[1.2.3.4",
                "1::2::3",
            ])
            .to_string(),
    };
    let len = if rng.chance(30) {
        String::new()
    } else {
        format!(
            "/{}",
            rng.pick(&[
                "0",
                "8",
                "12",
                "16",
                "24",
                "32",
                "33",
                "64",
                "128",
                "129",
                "264",
                "",
                "x",
                "99999999999"
            ])
        )
    };
    match rng.below(6) {
        0 => format!("[{base}]{len}"),
        1 => format!("[{base}{len}]"),
        _ => format!("{base}{len}"),
    }
}

fn statement(rng: &mut Rng, kind: PatternKind, depth: &mut usize) -> String {
    let r = rng.below(100);
    if r < 10 {
        *depth += 1;
        let cond = if kind == PatternKind::Cidr {
            format!("{}{}", rng.pick(&["", "!", "! "]), cidr_net(rng))
        } else {
            pattern(rng, kind)
        };
        let junk = if rng.chance(10) { " junk" } else { "" };
        return format!("{}{} {cond}{junk}", rng.pick(&["if", "IF", "If"]), "");
    }
    if r < 20 {
        *depth = depth.saturating_sub(1);
        return rng
            .pick(&["endif", "ENDIF", "endif x", "endif  "])
            .to_string();
    }
    if r < 24 {
        return rng
            .pick(&[
                "foo",
                "ifx /a/",
                "# comment",
                "",
                "   ",
                "  indented /a/ x",
                "if",
                "\0/a/ x",
                "/a/ x\0tail",
            ])
            .to_string();
    }
    let result = *rng.pick(RESULTS);
    let sep = *rng.pick(&[" ", "\t", "  ", " \x0b"]);
    if kind == PatternKind::Cidr {
        let neg = *rng.pick(&["", "", "!", "! "]);
        return format!("{neg}{}{sep}{result}", cidr_net(rng));
    }
    let second = if kind == PatternKind::Regexp && rng.chance(10) {
        pattern(rng, kind)
    } else {
        String::new()
    };
    let second = if second.starts_with('!') || second.is_empty() {
        second
    } else {
        format!("!{second}")
    };
    format!("{}{second}{sep}{result}", pattern(rng, kind))
}

fn table(rng: &mut Rng, kind: PatternKind) -> Vec<u8> {
    let n = rng.below(14);
    let crlf = rng.chance(15);
    let mut depth = 0;
    let mut out = Vec::new();
    for i in 0..n {
        let mut s = statement(rng, kind, &mut depth).into_bytes();
        if rng.chance(3) {
            s.extend_from_slice(b" \xff");
        }
        out.extend_from_slice(&s);
        if i + 1 == n && rng.chance(20) {
            break; // no final newline
        }
        if rng.chance(8) {
            out.extend_from_slice(b"\n# inner comment\n  continued");
        }
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

fn keys(rng: &mut Rng, kind: PatternKind) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    if kind == PatternKind::Cidr {
        for _ in 0..24 {
            let k = match rng.below(8) {
                0..=4 => format!(
                    "{}.{}.{}.{}",
                    rng.pick(&[10, 192, 172, 0, 1, 8]),
                    rng.pick(&[0, 1, 168, 16, 255, 31, 32]),
                    rng.pick(&[0, 1, 2, 5]),
                    rng.pick(&[0, 1, 3, 255])
                ),
                5 | 6 => rng
                    .pick(&[
                        "2001:db8::1",
                        "2001:db9::",
                        "::1",
                        "::",
                        "::ffff:10.1.2.3",
                        "fe80::1",
                        "2001:DB8::2",
                    ])
                    .to_string(),
                _ => rng
                    .pick(&["[1.2.3.4]", "host", "", "10.0.0.01", "1.2.3.4 "])
                    .to_string(),
            };
            v.push(k.into_bytes());
        }
    } else {
        for k in RE_KEYS {
            v.push(k.as_bytes().to_vec());
        }
        for _ in 0..10 {
            let len = rng.below(6);
            let k: Vec<u8> = (0..len)
                .flat_map(|_| {
                    rng.pick(&["a", "b", "x", "A", ".", "@", "1", "é", "(", "/"])
                        .bytes()
                })
                .collect();
            v.push(k);
        }
        v.push(b"caf\xe9".to_vec());
    }
    v
}

fn postmap(conf: &Path, dir: &Path, spec: &str, stdin: &[u8]) -> (Vec<u8>, Vec<u8>) {
    run_postmap(conf, Some(dir), &["-q", "-", spec], stdin)
}

fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

fn differential(kind: PatternKind) {
    let test = format!("{}_tables_match_postmap", kind.name());
    if !available(&test, kind) {
        return;
    }
    let cases: usize = std::env::var("PATTERN_ORACLE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    let seed: u64 = std::env::var("PATTERN_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    let conf = conf_dir(true);
    let mut rng = Rng(seed ^ (kind as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut failures = Vec::new();
    let mut answers = 0usize;
    for case in 0..cases {
        let src = table(&mut rng, kind);
        let ks = keys(&mut rng, kind);
        let dir = tempfile::tempdir().unwrap();
        write_cold(&dir.path().join("table"), &src);
        let mut stdin = Vec::new();
        for k in &ks {
            stdin.extend_from_slice(k);
            stdin.push(b'\n');
        }
        let (got_out, got_err) = postmap(
            conf.path(),
            dir.path(),
            &format!("{}:table", kind.name()),
            &stdin,
        );
        let t = PatternTable::parse(kind, &src);
        let refs: Vec<&[u8]> = ks.iter().map(Vec::as_slice).collect();
        let want = pattern_common::postmap_q_stdin(&t, "table", &refs, true);
        answers += got_out.iter().filter(|&&b| b == b'\n').count();
        if got_out != want.stdout || got_err != want.stderr {
            failures.push(format!(
                "case {case}: table {}\nkeys {:?}\n--- postmap stdout\n{}\n--- ours\n{}\n--- postmap stderr\n{}\n--- ours\n{}",
                show(&src),
                ks.iter().map(|k| show(k)).collect::<Vec<_>>(),
                show(&got_out),
                show(&want.stdout),
                String::from_utf8_lossy(&got_err),
                String::from_utf8_lossy(&want.stderr),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} differ:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        answers > cases,
        "too few answers ({answers}): the generator finds nothing"
    );
}

#[test]
fn regexp_tables_match_postmap() {
    differential(PatternKind::Regexp);
}

#[test]
fn pcre_tables_match_postmap() {
    differential(PatternKind::Pcre);
}

#[test]
fn cidr_tables_match_postmap() {
    differential(PatternKind::Cidr);
}
