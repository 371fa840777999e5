//! The checks behind the `inline_lookup` fuzz target, as plain functions.
//!
//! Depends on `postfix_table` and `std` only, so that
//! `postfix-table/tests/inline_fuzz_replay.rs` can include it with `#[path]`
//! and replay `fuzz/seeds/inline_lookup/*` and
//! `fuzz/regressions/inline_lookup/*` on every `cargo test`.
//!
//! Input layout: the first line is a table reference (`inline:{…}`,
//! `static:…`, or anything); every further line is a query key, and
//! consecutive pairs of them are also used as `(key, value)` edits.

use postfix_table::inline::Lookup;
use postfix_table::spec::TableRef;
use postfix_table::{Fold, Options};

/// How many keys and edits one input may drive (keeps each run cheap).
const MAX_KEYS: usize = 24;

/// The option sets lookups are checked under: Postfix's default
/// (`smtputf8_enable = yes`), `smtputf8_enable = no`, and `postmap -f`.
fn option_sets() -> [Options; 3] {
    let d = Options::default();
    [
        d,
        Options { utf8: false, ..d },
        Options {
            fold: Fold::None,
            ..d
        },
    ]
}

/// The answer computed the slow, obvious way: fold every key, keep the
/// last equal one.
fn model<'a>(entries: &'a [(String, String)], key: &[u8], options: Options) -> Lookup<'a> {
    let key = match key.iter().position(|&b| b == 0) {
        Some(i) => &key[..i],
        None => key,
    };
    if options.utf8 && std::str::from_utf8(key).is_err() {
        return Lookup::NonUtf8Key;
    }
    let fold = options.effective_fold();
    let want = fold.fold(key).into_owned();
    let mut answer = Lookup::NotFound;
    for (k, v) in entries {
        if fold.fold(k.as_bytes()).as_ref() == want.as_slice() {
            answer = Lookup::Found(v);
        }
    }
    answer
}

/// Runs every check on one input; panics on the first violation.
pub fn check_inline_lookup(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let spec = lines.next().unwrap_or_default();
    let keys: Vec<&[u8]> = lines.take(MAX_KEYS).collect();

    // Lists of references never panic either.
    if let Ok(s) = std::str::from_utf8(spec) {
        let _ = TableRef::parse_list(s);
    }
    let t = match TableRef::parse_bytes(spec) {
        Ok(t) => t,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(t.as_str().as_bytes(), spec, "Display gives back the input");
    assert_eq!(TableRef::parse(t.as_str()).as_ref(), Ok(&t), "re-parse");

    match t.kind() {
        "static" => check_static(&t, &keys),
        "inline" => check_inline(&t, &keys),
        _ => assert!(t.lookup("a").is_err()),
    }
}

fn check_static(t: &TableRef, keys: &[&[u8]]) {
    let v = t.static_value().expect("static: has a value");
    if t.name().starts_with('{') {
        assert_eq!(
            v,
            v.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b')
        );
    } else {
        assert_eq!(v, t.name());
    }
    for k in keys {
        for o in option_sets() {
            let answer = t.lookup_with(k, o).unwrap();
            let want = match model(&[], k, o) {
                Lookup::NonUtf8Key => Lookup::NonUtf8Key,
                _ => Lookup::Found(v),
            };
            assert_eq!(answer, want, "key {k:?}");
            let warnings = answer.postmap_warnings(t, k, o.utf8).len();
            let want = match answer {
                Lookup::Found("") => 2,
                Lookup::NonUtf8Key => 1,
                _ => 0,
            };
            assert_eq!(warnings, want);
        }
    }
    assert!(t.inline_dump(Options::default()).is_err());
}

fn check_inline(t: &TableRef, keys: &[&[u8]]) {
    let entries = t.inline_entries().expect("inline: has entries");
    assert!(!entries.is_empty(), "Postfix refuses an empty inline table");
    for o in option_sets() {
        let fold = o.effective_fold();
        // Every key of the table and every query agree with the model.
        let own: Vec<&[u8]> = entries.iter().map(|(k, _)| k.as_bytes()).collect();
        for k in own.iter().chain(keys.iter()).take(2 * MAX_KEYS) {
            let answer = t.lookup_with(k, o).unwrap();
            assert_eq!(answer, model(entries, k, o), "key {k:?}");
            if fold != Fold::None {
                assert_eq!(t.lookup_with(k.to_ascii_uppercase(), o).unwrap(), answer);
            }
            let w = answer.postmap_warnings(t, k, o.utf8);
            let want = match answer {
                Lookup::Found("") => 2,
                Lookup::NonUtf8Key => 1,
                _ => 0,
            };
            assert_eq!(w.len(), want);
        }
        // The dump has each folded key once, with the winning value.
        let dump = t.inline_dump(o).unwrap();
        for (i, e) in dump.iter().enumerate() {
            assert!(
                dump[..i].iter().all(|d| d.key != e.key),
                "duplicate in dump"
            );
            let _ = e.postmap_warnings(t, o.utf8);
            if fold != Fold::Unicode {
                assert_eq!(t.lookup_with(&e.key, o).unwrap(), Lookup::Found(e.value));
            }
        }
        assert!(dump.len() <= entries.len());
    }
    check_edits(t, keys);
}

fn check_edits(t: &TableRef, keys: &[&[u8]]) {
    let strs: Vec<&str> = keys
        .iter()
        .filter_map(|k| std::str::from_utf8(k).ok())
        .collect();
    for pair in strs.chunks(2).take(8) {
        let (k, v) = (pair[0], pair.get(1).copied().unwrap_or("v"));
        let others: Vec<(String, Option<String>)> = t
            .inline_entries()
            .unwrap()
            .iter()
            .filter(|(e, _)| !Fold::Unicode.eq(e.as_bytes(), k.as_bytes()))
            .map(|(e, _)| (e.clone(), t.lookup(e).unwrap().value().map(str::to_owned)))
            .collect();
        let unchanged = |u: &TableRef| {
            for (e, want) in &others {
                assert_eq!(
                    u.lookup(e).unwrap().value(),
                    want.as_deref(),
                    "edit of {k:?} changed {e:?}: {:?}",
                    u.as_str()
                );
            }
        };

        let mut u = t.clone();
        match u.set_inline(k, v) {
            Ok(()) => {
                assert_eq!(u.lookup(k).unwrap(), Lookup::Found(v), "{:?}", u.as_str());
                unchanged(&u);
                // Idempotent, and the edit is all that changed.
                let mut again = u.clone();
                again.set_inline(k, v).unwrap();
                assert_eq!(again.lookup(k).unwrap(), Lookup::Found(v));
            }
            Err(_) => assert_eq!(&u, t, "a refused edit changes nothing"),
        }

        let mut u = t.clone();
        match u.remove_inline(k) {
            Ok(n) => {
                if n > 0 {
                    assert_eq!(u.lookup(k).unwrap(), Lookup::NotFound, "{:?}", u.as_str());
                } else {
                    assert_eq!(&u, t);
                }
                unchanged(&u);
            }
            Err(_) => assert_eq!(&u, t, "a refused removal changes nothing"),
        }
    }
}
