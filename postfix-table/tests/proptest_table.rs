//! Property tests: lossless round-trip for any bytes, and random edit
//! sequences checked against the reference [`Model`].

use postfix_table::ops::{EditOp, Model};
use postfix_table::{Change, Duplicates, Fold, Options, Table};
use proptest::prelude::*;

/// Bytes drawn mostly from the table syntax's tricky characters.
fn tricky_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => prop::sample::select(b"abcKEY@.:=".to_vec()),
        3 => prop::sample::select(b" \t\n\r\x0b\x0c#\"\\\0".to_vec()),
        1 => any::<u8>(),
    ]
}

fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(tricky_byte(), 0..max)
}

/// Table-shaped documents: lines built from keys, separators, values,
/// comments, continuations, with either line ending.
fn table_doc() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        3 => ("[a-cA-C@É]{1,4}", "[ \t]{1,3}", "[a-z:É]{1,5}( [a-z]{1,3})?")
            .prop_map(|(k, s, v)| format!("{k}{s}{v}").into_bytes()),
        1 => "[a-cA-C@]{1,4}[ \t]?".prop_map(String::into_bytes),
        1 => "[ \t]{1,3}[a-z#]{1,4}".prop_map(String::into_bytes),
        1 => "#[ a-z]{0,5}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => tricky_bytes(8),
    ];
    let eol = prop_oneof![4 => Just(&b"\n"[..]), 1 => Just(&b"\r\n"[..])];
    (prop::collection::vec((line, eol), 0..12), any::<bool>()).prop_map(|(lines, final_nl)| {
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

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "[a-cA-C@É]{1,3}".prop_map(String::into_bytes),
        1 => "\"[a b]{1,3}\"".prop_map(String::into_bytes),
        1 => tricky_bytes(4),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => "[a-z:É]{1,4}( [a-z]{1,2})?".prop_map(String::into_bytes),
        1 => tricky_bytes(4),
    ]
}

fn op() -> impl Strategy<Value = EditOp> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(key, value)| EditOp::Set { key, value }),
        1 => key().prop_map(|key| EditOp::OptOut { key }),
        2 => key().prop_map(|key| EditOp::Remove { key }),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop::sample::select(vec![Fold::Unicode, Fold::Ascii, Fold::None]),
        any::<bool>(),
        prop::sample::select(vec![Duplicates::FirstWins, Duplicates::LastWins]),
    )
        .prop_map(|(fold, utf8, duplicates)| Options {
            fold,
            utf8,
            duplicates,
        })
}

proptest! {
    #[test]
    fn any_bytes_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert_eq!(Table::parse(&bytes).to_bytes(), bytes);
    }

    #[test]
    fn tricky_bytes_round_trip_and_never_panic(bytes in tricky_bytes(200), opts in options()) {
        let t = Table::parse_with(&bytes, opts);
        prop_assert_eq!(t.to_bytes(), bytes.clone());
        let mut w = Vec::new();
        t.write_to(&mut w).unwrap();
        prop_assert_eq!(w, bytes);
        for e in t.entries() {
            if let Some(k) = e.key() {
                let _ = t.get(k);
            }
        }
        for d in t.diagnostics() {
            let _ = d.postfix_message("t", true);
            let _ = d.to_string();
        }
        let _ = t.effective();
    }

    #[test]
    fn edits_agree_with_model(doc in table_doc(), ops in prop::collection::vec(op(), 1..12), opts in options()) {
        let mut table = Table::parse_with(&doc, opts);
        let mut model = Model::from_table(&table);
        for op in &ops {
            let before = table.to_bytes();
            let result = op.apply(&mut table);
            if result.is_err() || result == Ok(Change::Unchanged) {
                prop_assert_eq!(table.to_bytes(), before, "rejected or no-op edit changed bytes: {:?}", op);
            }
            model.apply(op, result.is_ok());
            if let Err(e) = model.check(&table) {
                return Err(TestCaseError::fail(format!("after {op:?}: {e}\ndoc: {:?}", String::from_utf8_lossy(&table.to_bytes()))));
            }
        }
    }

    #[test]
    fn untouched_lines_survive_an_edit(doc in table_doc(), k in "[a-c]{1,3}", v in "[a-z]{1,4}") {
        let mut table = Table::parse(&doc);
        table.set(&k, &v).unwrap();
        let out = table.to_bytes();
        let parsed = Table::parse(&doc);
        let first = parsed
            .entries()
            .find(|e| e.key().is_some_and(|key| Fold::Unicode.eq(key, k.as_bytes())))
            .map(|e| e.raw().as_ptr() as usize);
        if first.is_none() {
            // An append keeps every existing byte: the old document is a prefix.
            prop_assert!(out.starts_with(&doc), "append changed existing bytes");
        }
        let got = table.get(&k).map(|c| c.into_owned());
        prop_assert_eq!(got.as_deref(), Some(v.as_bytes()));
    }
}
