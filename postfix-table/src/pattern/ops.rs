//! Edits of a [`PatternTable`] as data, and the invariants every edit must
//! keep. The property tests (`tests/proptest_pattern.rs`) and the fuzz
//! targets (`fuzz/src/pattern_checks.rs`) both drive these.
//!
//! ```
//! # #[cfg(feature = "regexp")] {
//! use postfix_table::pattern::{PatternKind, PatternTable, ops::PatternEditOp};
//!
//! let mut t = PatternTable::parse(PatternKind::Regexp, b"/^a/ one\n/^b/ two\n");
//! let op = PatternEditOp::SetResult { index: 1, result: b"deux".to_vec() };
//! let before = t.to_bytes();
//! let result = op.apply(&mut t);
//! assert!(result.is_ok());
//! op.check(&before, &t, &result, &[b"b".to_vec()]).unwrap();
//! assert_eq!(t.lookup(b"b").unwrap().as_deref(), Some(&b"deux"[..]));
//! # }
//! ```

use super::{PatternDiagnosticKind, PatternEditError, PatternTable};

/// One edit of a [`PatternTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternEditOp {
    /// [`PatternTable::push`].
    Push {
        /// The rule line.
        rule: Vec<u8>,
    },
    /// [`PatternTable::insert_before`].
    InsertBefore {
        /// Statement index.
        index: usize,
        /// The rule line.
        rule: Vec<u8>,
    },
    /// [`PatternTable::insert_after`].
    InsertAfter {
        /// Statement index.
        index: usize,
        /// The rule line.
        rule: Vec<u8>,
    },
    /// [`PatternTable::remove`].
    Remove {
        /// Statement index.
        index: usize,
    },
    /// [`PatternTable::set_result`].
    SetResult {
        /// Statement index.
        index: usize,
        /// The new result.
        result: Vec<u8>,
    },
}

/// Each statement as Postfix reads it (the text without trailing
/// whitespace, so a CRLF line's CR does not count) and its kind.
fn texts(t: &PatternTable) -> Vec<(Vec<u8>, super::StatementKind)> {
    t.statements()
        .map(|s| (super::syntax::trim_end(&s.text()).to_vec(), s.kind()))
        .collect()
}

fn kinds(t: &PatternTable) -> Vec<PatternDiagnosticKind> {
    t.diagnostics().into_iter().map(|d| d.kind).collect()
}

impl PatternEditOp {
    /// Applies the edit.
    pub fn apply(&self, t: &mut PatternTable) -> Result<(), PatternEditError> {
        match self {
            PatternEditOp::Push { rule } => t.push(rule).map(drop),
            PatternEditOp::InsertBefore { index, rule } => t.insert_before(*index, rule),
            PatternEditOp::InsertAfter { index, rule } => t.insert_after(*index, rule),
            PatternEditOp::Remove { index } => t.remove(*index),
            PatternEditOp::SetResult { index, result } => t.set_result(*index, result),
        }
    }

    /// Checks the invariants of this edit, given the table's bytes before
    /// it, the table after it and what `apply` returned; `keys` are looked
    /// up in the edited table and in a fresh parse of its bytes, which
    /// must agree (so no stale compiled form survives an edit).
    ///
    /// * refused: the bytes are unchanged;
    /// * accepted: the statements (as Postfix reads them) are the old ones
    ///   with exactly the edited one added, removed or changed, also after
    ///   re-parsing the written bytes; the edit adds no diagnostic.
    pub fn check(
        &self,
        before: &[u8],
        after: &PatternTable,
        result: &Result<(), PatternEditError>,
        keys: &[Vec<u8>],
    ) -> Result<(), String> {
        let bytes = after.to_bytes();
        if result.is_err() {
            return if bytes == before {
                Ok(())
            } else {
                Err(format!("refused {self:?} ({result:?}) changed the bytes"))
            };
        }
        let old_t = PatternTable::parse(after.kind(), before).with_utf8(after.utf8());
        let fresh = PatternTable::parse(after.kind(), &bytes).with_utf8(after.utf8());
        let (old, new, reparsed) = (texts(&old_t), texts(after), texts(&fresh));
        if new != reparsed {
            return Err(format!(
                "{self:?}: statements differ from a fresh parse of the output:\n{new:?}\n{reparsed:?}"
            ));
        }
        let mut want = old.clone();
        let rule_of = |r: &[u8]| (r.to_vec(), super::StatementKind::Rule);
        match self {
            PatternEditOp::Push { rule } => want.push(rule_of(rule)),
            PatternEditOp::InsertBefore { index, rule } => {
                if *index > want.len() {
                    return Err(format!("{self:?} accepted past the end"));
                }
                want.insert(*index, rule_of(rule));
            }
            PatternEditOp::InsertAfter { index, rule } => {
                if *index >= want.len() {
                    return Err(format!("{self:?} accepted past the end"));
                }
                want.insert(index + 1, rule_of(rule));
            }
            PatternEditOp::Remove { index } => {
                if *index >= want.len() {
                    return Err(format!("{self:?} accepted past the end"));
                }
                want.remove(*index);
            }
            PatternEditOp::SetResult { index, result } => {
                let got = after.statements().nth(*index).and_then(|s| s.result());
                if got.as_deref() != Some(&result[..]) {
                    return Err(format!("{self:?}: result now {got:?}"));
                }
                match (want.get_mut(*index), new.get(*index)) {
                    (Some(w), Some(n)) => *w = n.clone(),
                    _ => return Err(format!("{self:?} accepted past the end")),
                }
            }
        }
        if new != want {
            return Err(format!("{self:?}: statements\n{new:?}\nexpected\n{want:?}"));
        }
        // No new diagnostic (as a multiset of kinds).
        let mut before_k = kinds(&old_t);
        for k in kinds(after) {
            match before_k.iter().position(|b| *b == k) {
                Some(i) => {
                    before_k.remove(i);
                }
                None => return Err(format!("{self:?} added the diagnostic {k:?}")),
            }
        }
        if after.kind().engine_available() {
            for k in keys {
                let (a, b) = (after.lookup(k), fresh.lookup(k));
                if a != b {
                    return Err(format!(
                        "{self:?}: lookup {:?}: edited table {a:?}, fresh parse {b:?}",
                        k.escape_ascii().to_string()
                    ));
                }
            }
        }
        Ok(())
    }
}
