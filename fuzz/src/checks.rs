//! The checks behind the fuzz targets, as plain functions.
//!
//! This file depends on `postfix_table` and `std` only, so that
//! `postfix-table/tests/fuzz_replay.rs` can include it with `#[path]` and
//! replay `fuzz/seeds/*` and `fuzz/regressions/*` on every `cargo test`,
//! without libFuzzer.

use std::collections::HashSet;

use postfix_table::address::AddressLookup;
use postfix_table::ops::{EditOp, Model};
use postfix_table::{Change, Duplicates, EntryKind, Fold, Node, Options, Table};

/// The option sets every input is read with: the default (Postfix with
/// `smtputf8_enable = yes`), `smtputf8_enable = no`, `postmap -f`, ASCII
/// folding, and `postmap -r`.
pub fn option_variants() -> [Options; 5] {
    let d = Options::default();
    [
        d,
        Options { utf8: false, ..d },
        Options {
            fold: Fold::None,
            ..d
        },
        Options {
            fold: Fold::Ascii,
            ..d
        },
        Options {
            duplicates: Duplicates::LastWins,
            ..d
        },
    ]
}

/// Picks one of [`option_variants`] (any selector is valid).
pub fn options_from_selector(selector: u8) -> Options {
    let v = option_variants();
    v[usize::from(selector) % v.len()]
}

/// `table_roundtrip`: any bytes parse, write back exactly, and every
/// read-only API answers without panicking and consistently.
pub fn check_roundtrip(data: &[u8]) {
    for (i, options) in option_variants().into_iter().enumerate() {
        let table = Table::parse_with(data, options);
        assert_roundtrip(&table, data);
        // The full tour for the default, `smtputf8_enable = no` and
        // `postmap -f`; the model check below covers lookups for the rest.
        if i < 3 {
            exercise(&table);
        }
        let owned = Table::from_vec_with(data.to_vec(), options);
        assert_roundtrip(&owned, data);
        if let Err(e) = Model::from_table(&table).check(&table) {
            panic!("model of the parsed table disagrees with it ({options:?}): {e}");
        }
    }
}

fn assert_roundtrip(table: &Table, data: &[u8]) {
    let bytes = table.to_bytes();
    assert!(bytes == data, "to_bytes() differs from the input");
    assert_eq!(
        table.len_bytes(),
        data.len(),
        "len_bytes() differs from the input length"
    );
    let mut written = Vec::new();
    if table.write_to(&mut written).is_err() {
        panic!("write_to(Vec) failed");
    }
    assert!(written == data, "write_to() differs from the input");
}

/// Calls every read-only API and checks the invariants that hold for any table.
pub fn exercise(table: &Table) {
    let options = table.options();
    let utf8 = options.utf8;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut last_line = 0;
    for node in table.nodes() {
        let line = match node {
            Node::Trivia { line, raw } => {
                assert!(!raw.is_empty(), "empty trivia node");
                line
            }
            Node::Entry(e) => e.line(),
        };
        assert!(line > last_line, "line numbers not increasing");
        last_line = line;
    }
    for e in table.entries() {
        let _ = (e.raw(), e.key_str(), e.value_str(), e.is_opt_out());
        match e.kind() {
            EntryKind::Mapping => {
                let key = e
                    .key()
                    .unwrap_or_else(|| panic!("mapping without key, line {}", e.line()));
                assert!(
                    e.value().is_some_and(|v| !v.is_empty()),
                    "mapping without value"
                );
                assert!(
                    table.get(key).is_some(),
                    "line {}: a lookup of its own key {:?} finds nothing",
                    e.line(),
                    String::from_utf8_lossy(key)
                );
                keys.push(key.to_vec());
            }
            EntryKind::OptOut => {
                let key = e
                    .key()
                    .unwrap_or_else(|| panic!("opt-out without key, line {}", e.line()));
                assert!(e.value().is_none());
                keys.push(key.to_vec());
            }
            EntryKind::Ignored(_) => assert!(e.value().is_none()),
        }
    }
    for d in table.diagnostics() {
        for u in [true, false] {
            let text = d.postfix_message("table", u);
            let bytes = d.postfix_message_bytes("table", u);
            assert!(
                text == bytes.map(|b| String::from_utf8_lossy(&b).into_owned()),
                "postfix_message and postfix_message_bytes disagree"
            );
        }
        let fold = options.effective_fold();
        let _ = d.postmap_build_message("table", "table.db", fold, utf8);
        let _ = d.postmap_build_message_bytes("table", "table.db", fold, utf8);
        let _ = d.to_string();
    }
    let effective = table.effective();
    assert_eq!(table.len(), effective.len());
    assert_eq!(table.is_empty(), effective.is_empty());
    let mut seen = HashSet::new();
    for (k, v) in &effective {
        assert!(
            seen.insert(k.to_vec()),
            "effective() lists {:?} twice",
            String::from_utf8_lossy(k)
        );
        assert!(
            table.get(k).as_deref() == Some(&**v),
            "effective() says {:?} -> {:?}, get() disagrees",
            String::from_utf8_lossy(k),
            String::from_utf8_lossy(v)
        );
        assert!(!table.is_opted_out(k));
    }
    let lookup = AddressLookup::default();
    for k in keys.iter().take(16) {
        let upper = k.to_ascii_uppercase();
        let lower = k.to_ascii_lowercase();
        for q in [&k[..], &upper, &lower] {
            let got = table.get(q);
            let _ = table.get_str(q);
            let _ = table.check_query(q);
            assert_eq!(table.contains_key(q), got.is_some());
            if table.is_opted_out(q) {
                assert!(got.is_none(), "opted-out key has a value");
            }
        }
        if let Ok(s) = std::str::from_utf8(k) {
            let _ = table.lookup_address(s, &lookup);
        }
    }
    for q in [
        &b""[..],
        b"\0",
        b"a",
        b"@",
        b"\xe9",
        "É".as_bytes(),
        b"\"\"",
        b"\\",
    ] {
        let _ = table.get(q);
        let _ = table.is_opted_out(q);
    }
    let _ = table.to_string();
    let _ = format!("{table:?}");
}

/// `table_edits`: applies `ops` one by one to a table parsed from `initial`
/// and to a [`Model`], checking after each op that the table still answers
/// as the model says, that it round-trips, and that a rejected (or
/// `Unchanged`) op left the bytes alone.
pub fn check_edits(initial: &[u8], options: Options, ops: &[EditOp]) {
    let mut table = Table::parse_with(initial, options);
    let mut model = Model::from_table(&table);
    if let Err(e) = model.check(&table) {
        panic!("model of the parsed table disagrees with it: {e}");
    }
    for (i, op) in ops.iter().enumerate() {
        let before = table.to_bytes();
        let result = op.apply(&mut table);
        let after = table.to_bytes();
        match &result {
            Err(e) => assert!(
                after == before,
                "op #{i} {op:?} was rejected ({e}) but changed the table"
            ),
            Ok(Change::Unchanged) => assert!(
                after == before,
                "op #{i} {op:?} said Unchanged but changed the table"
            ),
            Ok(_) => {}
        }
        model.apply(op, result.is_ok());
        if let Err(e) = model.check(&table) {
            panic!(
                "after op #{i} {op:?} ({result:?}): {e}\nbefore: {:?}\nafter:  {:?}",
                String::from_utf8_lossy(&before),
                String::from_utf8_lossy(&after)
            );
        }
        if result.is_ok() {
            let reparsed = Table::parse_with(&after, options);
            if let Some(what) = differs(&table, &reparsed) {
                panic!(
                    "after op #{i} {op:?} ({result:?}): the edited table and its re-parse differ in {what}\n\
                     before: {:?}\nafter:  {:?}",
                    String::from_utf8_lossy(&before),
                    String::from_utf8_lossy(&after)
                );
            }
        }
    }
    let bytes = table.to_bytes();
    assert_eq!(table.len_bytes(), bytes.len());
    let mut written = Vec::new();
    if table.write_to(&mut written).is_err() {
        panic!("write_to(Vec) failed");
    }
    assert!(
        written == bytes,
        "write_to() differs from to_bytes() after edits"
    );
    exercise(&table);
    let reparsed = Table::parse_with(&bytes, options);
    exercise(&reparsed);
}

/// Where an edited table answers differently from a fresh parse of its
/// bytes (entries with line numbers, diagnostics, the lookup view), if
/// anywhere. `Entry::raw` is left out on purpose: after an edit, comment
/// lines that were interleaved in a replaced multi-line entry stay in that
/// entry's node, while a fresh parse makes them trivia of their own.
fn differs(edited: &Table, reparsed: &Table) -> Option<String> {
    type EntryView = (usize, Option<Vec<u8>>, Option<Vec<u8>>, EntryKind);
    let entries = |t: &Table| -> Vec<EntryView> {
        t.entries()
            .map(|e| {
                (
                    e.line(),
                    e.key().map(<[u8]>::to_vec),
                    e.value().map(<[u8]>::to_vec),
                    e.kind(),
                )
            })
            .collect()
    };
    let (a, b) = (entries(edited), entries(reparsed));
    if a != b {
        return Some(format!("entries():\n  edited:   {a:?}\n  reparsed: {b:?}"));
    }
    let (a, b) = (edited.diagnostics(), reparsed.diagnostics());
    if a != b {
        return Some(format!(
            "diagnostics():\n  edited:   {a:?}\n  reparsed: {b:?}"
        ));
    }
    let (a, b) = (edited.effective(), reparsed.effective());
    if a != b {
        return Some(format!(
            "effective():\n  edited:   {a:?}\n  reparsed: {b:?}"
        ));
    }
    None
}

/// Pieces that `table_edits` builds keys and values from: mostly the bytes
/// that matter to Postfix's reader (whitespace, CR, LF, NUL, comment, quote,
/// escape, alias colon, address `@`), letters in both cases, folding traps
/// (É/é, ß/ss, Σ/σ/ς, K/k and the Kelvin sign), and a lone Latin-1 0xE9.
pub const ALPHABET: &[&[u8]] = &[
    b"a",
    b"A",
    b"b",
    b"B",
    b"k",
    b"K",
    b"key",
    b"KEY",
    b".",
    b"@",
    b":",
    b"#",
    b"\"",
    b"\\",
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\0",
    b"\x0b",
    b"\x0c",
    "\u{c9}".as_bytes(), // É
    "\u{e9}".as_bytes(), // é
    "\u{df}".as_bytes(), // ß
    b"ss",
    "\u{3a3}".as_bytes(),  // Σ
    "\u{3c3}".as_bytes(),  // σ
    "\u{3c2}".as_bytes(),  // ς
    "\u{212a}".as_bytes(), // Kelvin sign, folds to k
    b"\xe9",
    b"<>",
];

/// The bytes a list of [`ALPHABET`] indices stands for.
pub fn text(indices: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in indices {
        out.extend_from_slice(ALPHABET[usize::from(i) % ALPHABET.len()]);
    }
    out
}

/// Decodes a `table_edits` input without the `arbitrary` crate, byte for
/// byte as its derived `Arbitrary` impl does (arbitrary 1.5: integers are
/// little-endian and zero-padded at the end of the data, a collection
/// element is preceded by a byte whose low bit says "one more", an enum tag
/// is a `u32` scaled to the variant count, the last field takes the rest):
/// `(option selector, ops, initial table bytes)`. `fuzz/src/lib.rs` tests
/// that both decoders agree.
pub fn decode_edits(data: &[u8]) -> (u8, Vec<EditOp>, &[u8]) {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn byte(&mut self) -> u8 {
            match self.0.split_first() {
                Some((&b, rest)) => {
                    self.0 = rest;
                    b
                }
                None => 0,
            }
        }
        fn more(&mut self) -> bool {
            self.byte() & 1 == 1
        }
        fn tag(&mut self, count: u64) -> u64 {
            let v = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]);
            (u64::from(v) * count) >> 32
        }
        fn text(&mut self) -> Vec<u8> {
            let mut indices = Vec::new();
            while self.more() {
                indices.push(self.byte());
            }
            text(&indices)
        }
    }
    let mut c = Cursor(data);
    let selector = c.byte();
    let mut ops = Vec::new();
    while c.more() {
        ops.push(match c.tag(3) {
            0 => {
                let key = c.text();
                let value = c.text();
                EditOp::Set { key, value }
            }
            1 => EditOp::OptOut { key: c.text() },
            _ => EditOp::Remove { key: c.text() },
        });
    }
    (selector, ops, c.0)
}

/// A fixed op list for replaying a table without libFuzzer: edits of the
/// table's own keys (in other case, too) and of tricky new keys.
pub fn fixed_ops(initial: &[u8], options: Options) -> Vec<EditOp> {
    let table = Table::parse_with(initial, options);
    let mut ops = Vec::new();
    let keys: Vec<Vec<u8>> = table
        .entries()
        .filter_map(|e| e.key().map(<[u8]>::to_vec))
        .take(8)
        .collect();
    for (i, k) in keys.iter().enumerate() {
        let up = k.to_ascii_uppercase();
        ops.push(match i % 4 {
            0 => EditOp::Set {
                key: up,
                value: b"new value".to_vec(),
            },
            1 => EditOp::OptOut { key: k.clone() },
            2 => EditOp::Remove { key: up },
            _ => EditOp::Set {
                key: k.clone(),
                value: b"[relay]:587".to_vec(),
            },
        });
    }
    let tricky: [&[u8]; 9] = [
        b"@new.example",
        "Été@exemple.fr".as_bytes(),
        b"\"a b\"@x",
        b"a\\ b",
        b"alias:",
        b"bad key",
        b"#comment",
        b"caf\xe9",
        b"k\0ey",
    ];
    for k in tricky {
        ops.push(EditOp::Set {
            key: k.to_vec(),
            value: b"v".to_vec(),
        });
        ops.push(EditOp::OptOut {
            key: k.to_ascii_uppercase(),
        });
        ops.push(EditOp::Set {
            key: k.to_vec(),
            value: b"v w".to_vec(),
        });
    }
    for k in tricky {
        ops.push(EditOp::Remove { key: k.to_vec() });
    }
    ops
}
