//! Edits as data, and a reference model of the values after them.
//!
//! [`EditOp`] is the one operation type that the property tests and the
//! fuzz targets drive; [`Model`] is the plain map of effective values they
//! check a [`MainCf`] against.
//!
//! ```
//! use postfix_maincf::{MainCf, ops::{EditOp, Model}};
//!
//! let mut cf = MainCf::parse(b"# relay\nrelayhost = a\nmyorigin = b\n");
//! let mut model = Model::from_maincf(&cf);
//! for op in [
//!     EditOp::Set { name: b"relayhost".to_vec(), value: b"[x]:587".to_vec() },
//!     EditOp::Remove { name: b"myorigin".to_vec() },
//! ] {
//!     let accepted = op.apply(&mut cf).is_ok();
//!     model.apply(&op, accepted);
//! }
//! assert!(model.check(&cf).is_ok());
//! assert_eq!(cf.to_bytes(), b"# relay\nrelayhost = [x]:587\n");
//! ```

use std::collections::BTreeMap;

use crate::{EditError, EditReport, MainCf, lines};

/// One edit of a [`MainCf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// [`MainCf::set`].
    Set {
        /// The name.
        name: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// [`MainCf::set_all`].
    SetAll {
        /// The pairs, in order.
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// [`MainCf::remove`].
    Remove {
        /// The name.
        name: Vec<u8>,
    },
    /// [`MainCf::comment_out`].
    CommentOut {
        /// The name.
        name: Vec<u8>,
    },
}

impl EditOp {
    /// Applies the edit.
    pub fn apply(&self, cf: &mut MainCf) -> Result<EditReport, EditError> {
        match self {
            EditOp::Set { name, value } => cf.set(name, value),
            EditOp::SetAll { pairs } => cf.set_all(pairs.iter().map(|(n, v)| (n, v))),
            EditOp::Remove { name } => cf.remove(name),
            EditOp::CommentOut { name } => cf.comment_out(name),
        }
    }
}

/// The effective value of every parameter, as a plain map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Model {
    /// The values of `cf` as parsed (last definition wins).
    pub fn from_maincf(cf: &MainCf) -> Self {
        Model {
            map: cf.values().into_iter().collect(),
        }
    }

    /// Records the effect of `op`; `accepted` says whether the document
    /// accepted it (a refused edit changes nothing).
    pub fn apply(&mut self, op: &EditOp, accepted: bool) {
        if !accepted {
            return;
        }
        match op {
            EditOp::Set { name, value } => {
                self.map
                    .insert(name.clone(), lines::trim_space(value).to_vec());
            }
            EditOp::SetAll { pairs } => {
                for (name, value) in pairs {
                    self.map
                        .insert(name.clone(), lines::trim_space(value).to_vec());
                }
            }
            EditOp::Remove { name } | EditOp::CommentOut { name } => {
                self.map.remove(name);
            }
        }
    }

    /// Checks `cf` against the model: the values (also after re-parsing
    /// the document's bytes) are the model's, and the bytes round-trip.
    /// Returns a description of the first difference.
    pub fn check(&self, cf: &MainCf) -> Result<(), String> {
        let bytes = cf.to_bytes();
        let reparsed = MainCf::parse(&bytes);
        if reparsed.to_bytes() != bytes {
            return Err("re-parsed document does not round-trip".into());
        }
        for doc in [cf, &reparsed] {
            let got: BTreeMap<Vec<u8>, Vec<u8>> = doc.values().into_iter().collect();
            if got != self.map {
                let show = |m: &BTreeMap<Vec<u8>, Vec<u8>>| {
                    m.iter()
                        .map(|(k, v)| {
                            format!(
                                "{}={}",
                                String::from_utf8_lossy(k),
                                String::from_utf8_lossy(v)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(format!(
                    "document has {{{}}}, model has {{{}}}",
                    show(&got),
                    show(&self.map)
                ));
            }
        }
        Ok(())
    }
}
