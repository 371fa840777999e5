//! `serde` support: a [`Table`] serializes as its semantic view, a list of
//! records in file order.

use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{EntryKind, Table};

#[derive(Serialize, Deserialize)]
struct Record {
    key: String,
    value: Option<String>,
}

impl Serialize for Table {
    /// The mappings a lookup can find and the opt-outs, in file order, as
    /// `{"key": …, "value": …}` (`value` null for an opt-out). Keys are as
    /// written; shadowed duplicates and ignored lines are left out. Non-UTF-8
    /// bytes are replaced by U+FFFD.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut seen = std::collections::HashSet::new();
        for e in self.entries() {
            let Some(key) = e.key() else { continue };
            let folded = self.options().effective_fold().fold(key).into_owned();
            match e.kind() {
                EntryKind::Mapping => {
                    let winner = self.get(key).as_deref() == e.value() && seen.insert(folded);
                    if !winner {
                        continue;
                    }
                }
                EntryKind::OptOut => {
                    if self.contains_key(key) || !seen.insert(folded) {
                        continue;
                    }
                }
                EntryKind::Ignored(_) => continue,
            }
            seq.serialize_element(&Record {
                key: String::from_utf8_lossy(key).into_owned(),
                value: e.value().map(|v| String::from_utf8_lossy(v).into_owned()),
            })?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Table {
    /// Builds a new table (LF line endings, one space as separator) from a
    /// list of records; every key and value is validated as
    /// [`Table::set`] does.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let records = Vec::<Record>::deserialize(deserializer)?;
        let mut t = Table::new();
        for r in records {
            let res = match &r.value {
                Some(v) => t.set(&r.key, v),
                None => t.opt_out(&r.key),
            };
            res.map_err(|e| D::Error::custom(format!("key {:?}: {e}", r.key)))?;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use crate::Table;

    #[test]
    fn json_roundtrip() {
        let t = Table::parse(b"# c\nk v\nK w\n@opt\nx  a b\n");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"[{"key":"k","value":"v"},{"key":"@opt","value":null},{"key":"x","value":"a b"}]"#
        );
        let back: Table = serde_json::from_str(&json).unwrap();
        assert_eq!(back.to_bytes(), b"k v\n@opt\nx a b\n");
        assert!(serde_json::from_str::<Table>(r#"[{"key":"a b","value":"v"}]"#).is_err());
    }
}
