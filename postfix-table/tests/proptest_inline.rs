//! Property tests of `inline:{…}` tables ([`postfix_table::inline`]):
//!
//! * entries written in either spelling (`k=v`, `{ k = v }`) with any
//!   separators parse back to exactly those entries, and lookups follow
//!   "fold, last wins";
//! * random sequences of `set_inline`/`remove_inline` agree with a map
//!   model, every accepted edit re-parses, refused edits change nothing,
//!   and text outside the edited entries is kept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use postfix_table::inline::Lookup;
use postfix_table::spec::TableRef;
use postfix_table::{Fold, Options};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&["a", "B", "k", "É", "ß", "1", "[h]:25", "@x", "$", ".", ":"][..]),
        1..4,
    )
    .prop_map(|v| v.concat())
}

/// Values that read back in the `{ k = v }` spelling.
fn value() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["x", "u:p", "é", "$", "\"", "{v}", "="][..]),
        prop::collection::vec(
            prop::sample::select(&["x", " ", ", ", "=", "\"", "{w}", "$", "Y", ":"][..]),
            0..4,
        ),
        prop::sample::select(&["", "z", "}"][..]),
    )
        .prop_map(|(a, mid, end)| {
            let mut s = a.to_owned() + &mid.concat();
            s.push_str(if end == "}" { "{}" } else { end });
            s.trim_end().to_owned()
        })
}

fn sep() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&[" ", ",", ", ", "\t", " ,\t", "\n"][..])
}

#[derive(Debug, Clone)]
enum Op {
    Set(String, String),
    Remove(String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => key().prop_map(Op::Remove),
        // Mostly refused: bad keys and values.
        1 => (prop::sample::select(&["a b", "a=b", "", "{k}", "\"q\""][..]), value())
            .prop_map(|(k, v)| Op::Set(k.to_owned(), v)),
        1 => (key(), prop::sample::select(&["", " v", "v ", "a\nb", "{", "}x{", "t\tab"][..]))
            .prop_map(|(k, v)| Op::Set(k, v.to_owned())),
    ]
}

fn folded(k: &str) -> Vec<u8> {
    Fold::Unicode.fold(k.as_bytes()).into_owned()
}

proptest! {
    #[test]
    fn written_entries_parse_back(
        items in prop::collection::vec((key(), value(), any::<bool>(), sep()), 1..8)
    ) {
        let mut body = String::new();
        let mut model: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        let mut want = Vec::new();
        for (k, v, braces, s) in &items {
            let short = !braces && !v.contains([' ', ',', '{', '}', '"', '\t']);
            body.push_str(s);
            if short {
                body.push_str(&format!("{k}={v}"));
            } else {
                body.push_str(&format!("{{ {k} = {v} }}"));
            }
            model.insert(folded(k), v.clone());
            want.push((k.clone(), v.clone()));
        }
        let spec = format!("inline:{{{body}}}");
        let t = TableRef::parse(&spec).unwrap();
        prop_assert_eq!(t.inline_entries().unwrap(), want.as_slice());
        for (k, _, _, _) in &items {
            let v = model.get(&folded(k)).map(String::as_str);
            prop_assert_eq!(t.lookup(k).unwrap().value(), v);
            prop_assert_eq!(t.lookup(k.to_uppercase()).unwrap().value(), v);
        }
        let dump = t.inline_dump(Options::default()).unwrap();
        prop_assert_eq!(dump.len(), model.len());
        for e in dump {
            prop_assert_eq!(model.get(&e.key[..]).map(String::as_str), Some(e.value));
        }
    }

    #[test]
    fn edits_agree_with_a_map(ops in prop::collection::vec(op(), 1..24)) {
        let mut t = TableRef::parse("inline:{ seed=1,\t{ other = a b } }").unwrap();
        let mut model: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        model.insert(folded("seed"), "1".into());
        model.insert(folded("other"), "a b".into());
        for op in ops {
            let before = t.clone();
            match &op {
                Op::Set(k, v) => match t.set_inline(k, v) {
                    Ok(()) => {
                        model.insert(folded(k), v.clone());
                        prop_assert!(t.as_str().starts_with("inline:{ "), "{}", t.as_str());
                    }
                    Err(_) => prop_assert_eq!(&t, &before),
                },
                Op::Remove(k) => match t.remove_inline(k) {
                    Ok(n) => {
                        prop_assert_eq!(n > 0, model.remove(&folded(k)).is_some());
                    }
                    Err(_) => {
                        prop_assert_eq!(&t, &before);
                        prop_assert_eq!(model.len(), 1);
                    }
                },
            }
            // The text is a valid table with exactly the model's entries.
            let again = TableRef::parse(t.as_str()).unwrap();
            prop_assert_eq!(&again, &t);
            let dump = t.inline_dump(Options::default()).unwrap();
            prop_assert_eq!(dump.len(), model.len(), "{}", t.as_str());
            for e in &dump {
                prop_assert_eq!(model.get(&e.key[..]).map(String::as_str), Some(e.value));
            }
            for (k, v) in &model {
                let k = String::from_utf8(k.clone()).unwrap();
                prop_assert_eq!(t.lookup(&k).unwrap(), Lookup::Found(v));
            }
        }
    }
}
