//! Property tests for pattern tables: lossless round-trip of any bytes for
//! every kind, no panic anywhere on hostile input, and random edit
//! sequences checked with [`PatternEditOp::check`] (refused edits change
//! nothing; accepted ones touch exactly one statement, agree with a fresh
//! parse of the output, add no diagnostic, and leave no stale lookup).

use postfix_table::pattern::ops::PatternEditOp;
use postfix_table::pattern::{PatternKind, PatternTable};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = PatternKind> {
    prop::sample::select(vec![
        PatternKind::Regexp,
        PatternKind::Pcre,
        PatternKind::Cidr,
    ])
}

fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let b = prop_oneof![
        4 => prop::sample::select(b"/!$(){}[]^.*+?|\\ab1:.0/9".to_vec()),
        3 => prop::sample::select(b" \t\n\r\x0b#\0".to_vec()),
        1 => any::<u8>(),
    ];
    prop::collection::vec(b, 0..max)
}

/// Rule-shaped lines for any kind (valid and broken).
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => ("!?", "[/|~]", "(\\^|a|b|\\(a\\)|\\(|\\.|x\\*|[$]){1,3}", "[imxsz]{0,2}", "( |\t)", "(ok|r\\$1|\\$\\$|\\$\\{1\\}|x y|)")
            .prop_map(|(n, d, body, f, s, r)| format!("{n}{d}{body}{d}{f}{s}{r}").into_bytes()),
        3 => ("!?", "(10|192|0|1)\\.(0|1|168)\\.(0|1)\\.(0|1)(/(0|8|16|24|32|33))?", "( |\t)", "(ok|lan|)")
            .prop_map(|(n, a, s, r)| format!("{n}{a}{s}{r}").into_bytes()),
        1 => "(2001:db8::|::1|::)(/(32|64|128))? v6".prop_map(String::into_bytes),
        1 => "(if|IF) (/a/|!/b/|10\\.0\\.0\\.0/8|!::/0)".prop_map(String::into_bytes),
        1 => "(endif|ENDIF|endif x)".prop_map(String::into_bytes),
        1 => "(#[ a-z]{0,4}|[ \t]{1,2}[a-z/]{1,4}|foo|)".prop_map(String::into_bytes),
        1 => tricky_bytes(10),
    ]
}

fn doc() -> impl Strategy<Value = Vec<u8>> {
    let eol = prop_oneof![4 => Just(&b"\n"[..]), 1 => Just(&b"\r\n"[..])];
    (prop::collection::vec((line(), eol), 0..10), any::<bool>()).prop_map(|(lines, final_nl)| {
        let mut out = Vec::new();
        let n = lines.len();
        for (i, (l, e)) in lines.into_iter().enumerate() {
            out.extend_from_slice(&l);
            if i + 1 < n || final_nl {
                out.extend_from_slice(e);
            }
        }
        out
    })
}

fn rule() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => line(),
        1 => tricky_bytes(6),
    ]
}

fn result() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "(ok|r\\$1|\\$\\$|new value|\\$\\{2\\})".prop_map(String::into_bytes),
        1 => tricky_bytes(5),
    ]
}

fn op() -> impl Strategy<Value = PatternEditOp> {
    prop_oneof![
        2 => rule().prop_map(|rule| PatternEditOp::Push { rule }),
        2 => (0..8usize, rule()).prop_map(|(index, rule)| PatternEditOp::InsertBefore { index, rule }),
        2 => (0..8usize, rule()).prop_map(|(index, rule)| PatternEditOp::InsertAfter { index, rule }),
        2 => (0..8usize).prop_map(|index| PatternEditOp::Remove { index }),
        2 => (0..8usize, result()).prop_map(|(index, result)| PatternEditOp::SetResult { index, result }),
    ]
}

const KEYS: &[&[u8]] = &[
    b"a",
    b"ab",
    b"b",
    b"x",
    b"(a)",
    b"$",
    b"10.0.0.1",
    b"192.168.1.1",
    b"1.0.0.0",
    b"::1",
    b"2001:db8::5",
    b"",
];

proptest! {
    #[test]
    fn any_bytes_round_trip(k in kind(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(PatternTable::parse(k, &bytes).to_bytes(), bytes);
    }

    #[test]
    fn hostile_input_never_panics(k in kind(), bytes in tricky_bytes(160)) {
        let t = PatternTable::parse(k, &bytes);
        prop_assert_eq!(t.to_bytes(), bytes.clone());
        for d in t.diagnostics() {
            let _ = d.postfix_message("t", true);
            let _ = d.to_string();
        }
        for s in t.statements() {
            let _ = (s.kind(), s.result(), s.text());
        }
        if k.engine_available() {
            for key in KEYS {
                let _ = t.lookup(key);
            }
        }
    }

    #[test]
    fn edits_keep_their_invariants(k in kind(), doc in doc(), ops in prop::collection::vec(op(), 1..10)) {
        let mut t = PatternTable::parse(k, &doc);
        let keys: Vec<Vec<u8>> = KEYS.iter().map(|k| k.to_vec()).collect();
        for op in &ops {
            let before = t.to_bytes();
            let r = op.apply(&mut t);
            if let Err(e) = op.check(&before, &t, &r, &keys) {
                return Err(TestCaseError::fail(format!(
                    "{e}\nkind {k:?}\nbefore {:?}\nafter  {:?}",
                    String::from_utf8_lossy(&before),
                    String::from_utf8_lossy(&t.to_bytes())
                )));
            }
        }
    }
}
