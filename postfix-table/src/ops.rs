//! Edits as data, and a reference model of what lookups must answer after
//! them.
//!
//! [`EditOp`] is the one operation type that the property tests and the
//! fuzz targets drive; [`Model`] is the plain map they check a [`Table`]
//! against. It is public because batch editors (and their tests) need the
//! same thing.
//!
//! ```
//! use postfix_table::{Table, ops::{EditOp, Model}};
//!
//! let mut table = Table::parse(b"# relays\n@a.com [x]\n");
//! let mut model = Model::from_table(&table);
//! for op in [
//!     EditOp::Set { key: "@B.com".into(), value: "[y]:587".into() },
//!     EditOp::OptOut { key: "@a.com".into() },
//! ] {
//!     let result = op.apply(&mut table);
//!     model.apply(&op, result.is_ok());
//! }
//! assert!(model.check(&table).is_ok());
//! assert_eq!(table.to_bytes(), b"# relays\n@a.com\n@B.com [y]:587\n");
//! ```

use std::collections::BTreeMap;

use crate::{Change, EditError, EntryKind, Table};

/// One edit of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "op", rename_all = "snake_case"))]
pub enum EditOp {
    /// [`Table::set`].
    Set {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// [`Table::opt_out`].
    OptOut {
        /// The key.
        key: Vec<u8>,
    },
    /// [`Table::remove`].
    Remove {
        /// The key.
        key: Vec<u8>,
    },
}

impl EditOp {
    /// Applies the edit. `Remove` never fails.
    pub fn apply(&self, table: &mut Table) -> Result<Change, EditError> {
        match self {
            EditOp::Set { key, value } => table.set(key, value),
            EditOp::OptOut { key } => table.opt_out(key),
            EditOp::Remove { key } => Ok(if table.remove(key) > 0 {
                Change::Replaced
            } else {
                Change::Unchanged
            }),
        }
    }
}

/// What lookups must answer: folded key → value (`None` = opt-out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    fold: crate::Fold,
    map: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Model {
    /// The model of a table as parsed: what lookups find, plus opt-outs for
    /// keys that have only key-only lines.
    pub fn from_table(table: &Table) -> Self {
        let fold = table.options().effective_fold();
        let mut map = BTreeMap::new();
        for (k, v) in table.effective() {
            map.insert(k.into_owned(), Some(v.into_owned()));
        }
        for e in table.entries() {
            if e.kind() == EntryKind::OptOut
                && let Some(k) = e.key()
            {
                map.entry(fold.fold(k).into_owned()).or_insert(None);
            }
        }
        Model { fold, map }
    }

    /// Records the effect of `op`; `accepted` says whether the table accepted it.
    pub fn apply(&mut self, op: &EditOp, accepted: bool) {
        if !accepted {
            return;
        }
        match op {
            EditOp::Set { key, value } => {
                self.map
                    .insert(self.fold.fold(key).into_owned(), Some(value.clone()));
            }
            EditOp::OptOut { key } => {
                self.map.insert(self.fold.fold(key).into_owned(), None);
            }
            EditOp::Remove { key } => {
                self.map.remove(self.fold.fold(key).as_ref());
            }
        }
    }

    /// Checks `table` against the model: every modelled key answers as
    /// modelled (also after re-parsing the table's bytes), and the table
    /// round-trips. Returns a description of the first difference.
    pub fn check(&self, table: &Table) -> Result<(), String> {
        let bytes = table.to_bytes();
        let reparsed = Table::parse_with(&bytes, table.options());
        if reparsed.to_bytes() != bytes {
            return Err("re-parsed document does not round-trip".into());
        }
        for t in [table, &reparsed] {
            for (k, v) in &self.map {
                let got = t.get(k).map(|c| c.into_owned());
                if got != *v {
                    return Err(format!(
                        "key {:?}: table says {:?}, model says {:?}",
                        String::from_utf8_lossy(k),
                        got.as_deref().map(String::from_utf8_lossy),
                        v.as_deref().map(String::from_utf8_lossy)
                    ));
                }
                if v.is_none() && !t.is_opted_out(k) {
                    return Err(format!(
                        "key {:?} should be an opt-out",
                        String::from_utf8_lossy(k)
                    ));
                }
            }
        }
        Ok(())
    }
}
