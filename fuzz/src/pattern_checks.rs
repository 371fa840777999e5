//! The checks behind the pattern-table fuzz targets (`regexp_roundtrip`,
//! `pcre_roundtrip`, `cidr_roundtrip`), as plain functions.
//!
//! Depends on `postfix_table` and `std` only, so that
//! `postfix-table/tests/pattern_fuzz_replay.rs` can include it with
//! `#[path]` and replay `fuzz/seeds/{regexp,pcre,cidr}_roundtrip/*` and
//! `fuzz/regressions/*` on every `cargo test`.

use postfix_table::pattern::ops::PatternEditOp;
use postfix_table::pattern::{PatternKind, PatternTable};

/// Keys always asked, whatever the input.
const FIXED_KEYS: &[&[u8]] = &[
    b"",
    b"a",
    b"ab",
    b"user@example.com",
    b"10.1.2.3",
    b"192.168.1.1",
    b"::1",
    b"2001:db8::1",
    b"[10.1.2.3]",
    "é".as_bytes(),
];

/// Rules the fixed edit list tries (valid and invalid for each kind).
const RULES: &[&[u8]] = &[
    b"/^a/ one",
    b"/(a)(b)?/ r$1-${2}",
    b"!/@/ no-at",
    b"/(unclosed/ x",
    b"/a/ $2",
    b"10.0.0.0/8 ten",
    b"10.0.0.1/8 hostbits",
    b"2001:db8::/32 v6",
    b"if /a/",
    b"endif",
    b" indented",
    b"#comment",
    b"/a/ x\n/b/ y",
];

/// Is the input small and tame enough for the engines? glibc's regcomp()
/// and PCRE2 can take exponential time or memory on nested counted
/// repetitions, for Postfix as for us; the fuzzer is not here to
/// measure that, so such inputs get the syntax-only checks.
///
/// Stacked quantifiers are the known case: `/u+++++++++++++++++++++++/`
/// makes the real `postmap` allocate 3 GB in glibc's regcomp() (measured:
/// 22 `+`, 5.8 s, 3.0 GB RSS), and our binding of the same function does
/// the same. Inputs with more than 12 quantifier bytes skip the engines.
fn engines_ok(data: &[u8]) -> bool {
    data.len() <= 2048
        && data.iter().filter(|&&b| b == b'{').count() <= 2
        && data
            .iter()
            .filter(|&&b| matches!(b, b'+' | b'*' | b'?' | b'{'))
            .count()
            <= 12
}

/// Keys derived from the input: the first bytes of each line (no LF, no
/// NUL, at most 24 bytes), then the fixed ones.
fn keys(data: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .take(8)
        .map(|l| {
            l.iter()
                .copied()
                .filter(|&b| b != 0)
                .take(24)
                .collect::<Vec<u8>>()
        })
        .collect();
    v.extend(FIXED_KEYS.iter().map(|k| k.to_vec()));
    v
}

/// Any bytes: round-trip, every read-only API without panic and
/// consistently, then a fixed list of edits (derived from the input)
/// checked with [`PatternEditOp::check`].
pub fn check_roundtrip(kind: PatternKind, data: &[u8]) {
    let t = PatternTable::parse(kind, data);
    assert_eq!(t.to_bytes(), data, "round-trip");
    let mut w = Vec::new();
    t.write_to(&mut w).expect("Vec never fails");
    assert_eq!(w, data, "write_to");
    assert_eq!(PatternTable::from_vec(kind, data.to_vec()), t);

    // Statements appear in order, with increasing lines, and their raw
    // bytes are pieces of the input.
    let mut pos = 0usize;
    let mut last_line = 0usize;
    for s in t.statements() {
        assert!(s.line() > last_line, "line numbers increase");
        last_line = s.line();
        let raw = s.raw();
        let at = data
            .get(pos..)
            .and_then(|rest| rest.windows(raw.len().max(1)).position(|w| w == raw))
            .expect("statement bytes are in the input, in order");
        pos += at + raw.len();
        let _ = (s.kind(), s.result(), s.text());
    }
    assert_eq!(t.len(), t.statements().count());

    let engine = kind.engine_available() && engines_ok(data);
    if !engine && kind != PatternKind::Cidr {
        return;
    }
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    for d in t.diagnostics() {
        assert!(
            d.line >= 1 && d.line <= lines,
            "diagnostic line {} of {lines}",
            d.line
        );
        let m = d.postfix_message_bytes("table", true);
        assert!(!m.contains(&b'\n'), "one-line message");
        let _ = d.to_string();
    }
    let latin = t.clone().with_utf8(false);
    for k in keys(data) {
        let a = t.lookup(&k);
        let b = latin.lookup(&k);
        if std::str::from_utf8(&k).is_ok() {
            // With valid UTF-8 keys the two settings differ only in the
            // check of the result.
            match (&a, &b) {
                (Err(postfix_table::QueryError::NonUtf8Value { value }), Ok(Some(v))) => {
                    assert_eq!(value, v)
                }
                _ => assert_eq!(a, b, "key {:?}", k),
            }
        }
    }

    let ops = fixed_ops(data, t.len());
    let mut table = t;
    let keys = keys(data);
    for op in &ops {
        let before = table.to_bytes();
        let r = op.apply(&mut table);
        if let Err(e) = op.check(&before, &table, &r, &keys) {
            panic!("{e}");
        }
    }
}

/// A fixed edit list that depends on the input: every kind of edit, on
/// the first and last statements, with valid and invalid rules.
pub fn fixed_ops(data: &[u8], len: usize) -> Vec<PatternEditOp> {
    let pick = |i: usize| -> Vec<u8> {
        let seed = data.get(i).copied().unwrap_or(0) as usize;
        RULES
            .get((seed + i) % RULES.len())
            .map(|r| r.to_vec())
            .unwrap_or_default()
    };
    let last = len.saturating_sub(1);
    vec![
        PatternEditOp::SetResult {
            index: 0,
            result: b"new".to_vec(),
        },
        PatternEditOp::Push { rule: pick(0) },
        PatternEditOp::InsertBefore {
            index: 0,
            rule: pick(1),
        },
        PatternEditOp::InsertAfter {
            index: last,
            rule: pick(2),
        },
        PatternEditOp::SetResult {
            index: last,
            result: b"r$1".to_vec(),
        },
        PatternEditOp::Remove { index: last },
        PatternEditOp::Remove { index: 0 },
        PatternEditOp::Push {
            rule: b"/^z/ zed".to_vec(),
        },
        PatternEditOp::Push {
            rule: b"172.16.0.0/12 private".to_vec(),
        },
    ]
}
