//! The checks behind the `maincf_roundtrip` and `maincf_edits` fuzz
//! targets, as plain functions over bytes.
//!
//! This file depends on `postfix_maincf` and `std` only, so that
//! `postfix-maincf/tests/fuzz_replay.rs` can include it with `#[path]` and
//! replay `fuzz/seeds/maincf_*` and `fuzz/regressions/maincf_*` on every
//! `cargo test`, without libFuzzer.

use postfix_maincf::ops::{EditOp, Model};
use postfix_maincf::postconf::{Message, ShowOptions, show};
use postfix_maincf::{EditMode, MainCf, expand};

/// Names the edit decoder picks from: valid, near-miss and invalid ones.
pub const NAMES: [&[u8]; 8] = [
    b"relayhost",
    b"a",
    b"a_b",
    b"x.y",
    b"new_param",
    b"bad name",
    b"#comment",
    b"",
];

/// Values the edit decoder picks from: plain, padded, `$` forms and invalid.
pub const VALUES: [&[u8]; 8] = [
    b"",
    b"[smtp.example.com]:587",
    b"  padded\tvalue  ",
    b"$a ${b?{x}:{y}} $$",
    b"inline:{ {k = v}, x=y }",
    b"bad\nvalue",
    b"cr\r",
    b"nul\0",
];

/// `maincf_roundtrip`: any bytes parse, write back exactly, the values
/// agree with the model after a re-parse, and reading, expanding and
/// showing them as postconf does never panics.
pub fn check_roundtrip(data: &[u8]) {
    let cf = MainCf::parse(data);
    assert!(cf.to_bytes() == data, "to_bytes() differs from the input");
    let mut written = Vec::new();
    assert!(cf.write_to(&mut written).is_ok(), "write_to(Vec) failed");
    assert!(written == data, "write_to() differs from the input");
    let owned = MainCf::from_vec(data.to_vec());
    assert!(owned.to_bytes() == data, "from_vec round-trip");
    if let Err(e) = Model::from_maincf(&cf).check(&cf) {
        panic!("model of the parsed file disagrees with it: {e}");
    }
    let diagnostics = cf.diagnostics();
    for d in &diagnostics {
        let _ = d.postconf_message("main.cf");
    }
    assert_eq!(
        MainCf::parse_strict(data).is_err(),
        diagnostics.iter().any(|d| d.is_fatal()),
        "parse_strict disagrees with the diagnostics"
    );
    for (_, value) in cf.values().iter().take(64) {
        let _ = expand::expand(value, &cf);
        let _ = expand::references(value);
    }
    for options in [
        ShowOptions {
            nondefault: true,
            ..ShowOptions::default()
        },
        ShowOptions {
            nondefault: true,
            expand: true,
            ..ShowOptions::default()
        },
    ] {
        let out = show("/etc/postfix", &cf, b"", &options, &[]);
        if out.status != 0 {
            assert!(out.stdout.is_empty(), "output after a fatal error");
            assert!(
                matches!(out.messages.last(), Some(Message::Fatal(_))),
                "failed without a fatal message"
            );
        } else {
            assert!(
                !out.messages.iter().any(|m| matches!(m, Message::Fatal(_))),
                "fatal message but success"
            );
        }
    }
}

/// Decodes a `maincf_edits` input: byte 0 is the op count (mod 16), then
/// 3 bytes per op (kind, name index, value index into [`NAMES`] /
/// [`VALUES`]); the rest is the initial main.cf. Kinds: 0-3 set, 4 set two
/// at once, 5 remove, 6 comment out, 7 postconf `-e` argument `NAME=VALUE`.
pub fn decode_edits(data: &[u8]) -> (Vec<Op>, &[u8]) {
    let count = data.first().map_or(0, |b| usize::from(b % 16));
    let mut rest = data.get(1..).unwrap_or_default();
    let mut ops = Vec::new();
    for _ in 0..count {
        let [kind, n, v, ..] = *rest else {
            break;
        };
        rest = rest.get(3..).unwrap_or_default();
        let name = NAMES[usize::from(n) % NAMES.len()].to_vec();
        let value = VALUES[usize::from(v) % VALUES.len()].to_vec();
        ops.push(match kind % 8 {
            0..=3 => Op::Typed(EditOp::Set { name, value }),
            4 => Op::Typed(EditOp::SetAll {
                pairs: vec![
                    (name, value),
                    (
                        NAMES[usize::from(v) % NAMES.len()].to_vec(),
                        VALUES[usize::from(n) % VALUES.len()].to_vec(),
                    ),
                ],
            }),
            5 => Op::Typed(EditOp::Remove { name }),
            6 => Op::Typed(EditOp::CommentOut { name }),
            _ => Op::Postconf([name, b"=".to_vec(), value].concat()),
        });
    }
    (ops, rest)
}

/// One decoded edit.
#[derive(Debug, Clone)]
pub enum Op {
    /// A typed edit, checked against the model.
    Typed(EditOp),
    /// A raw `postconf -e` argument.
    Postconf(Vec<u8>),
}

/// `maincf_edits`: after every edit the document round-trips, equals a
/// fresh parse of its bytes (values and diagnostics), follows the model,
/// and a refused edit leaves the bytes unchanged.
pub fn check_edits(data: &[u8]) {
    let (ops, initial) = decode_edits(data);
    let mut cf = MainCf::parse(initial);
    let mut model = Model::from_maincf(&cf);
    for op in &ops {
        let before = cf.to_bytes();
        let accepted = match op {
            Op::Typed(op) => {
                let accepted = op.apply(&mut cf).is_ok();
                model.apply(op, accepted);
                accepted
            }
            Op::Postconf(arg) => {
                let accepted = cf.postconf_edit(EditMode::Set, &[arg]).is_ok();
                // Whatever postconf accepts, the model learns from the file.
                model = Model::from_maincf(&cf);
                accepted
            }
        };
        if !accepted {
            assert!(cf.to_bytes() == before, "refused {op:?} changed the bytes");
        }
        if let Err(e) = model.check(&cf) {
            panic!("after {op:?}: {e}");
        }
        let again = MainCf::parse(&cf.to_bytes());
        assert_eq!(again.diagnostics(), cf.diagnostics(), "after {op:?}");
    }
}
