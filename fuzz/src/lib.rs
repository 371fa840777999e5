//! Shared code of the `postfix-table` fuzz targets.
//!
//! The checks live in [`checks`], which depends on `postfix_table` only, so
//! that `postfix-table/tests/fuzz_replay.rs` can replay the seeds and the
//! regression inputs through the very same code on every `cargo test`.

pub mod checks;
pub mod dms_checks;
pub mod dms_env_checks;
pub mod inline_checks;
pub mod maincf_checks;
pub mod pattern_checks;
pub mod relay_syntax_checks;

use arbitrary::Arbitrary;
use postfix_table::ops::EditOp;

/// A key or value: indices into [`checks::ALPHABET`].
#[derive(Debug, Clone, Arbitrary)]
pub struct Text(pub Vec<u8>);

/// One edit, as the fuzzer draws it.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    /// `Table::set`.
    Set {
        /// The key.
        key: Text,
        /// The value.
        value: Text,
    },
    /// `Table::opt_out`.
    OptOut {
        /// The key.
        key: Text,
    },
    /// `Table::remove`.
    Remove {
        /// The key.
        key: Text,
    },
}

impl From<&Op> for EditOp {
    fn from(op: &Op) -> Self {
        match op {
            Op::Set { key, value } => EditOp::Set {
                key: checks::text(&key.0),
                value: checks::text(&value.0),
            },
            Op::OptOut { key } => EditOp::OptOut {
                key: checks::text(&key.0),
            },
            Op::Remove { key } => EditOp::Remove {
                key: checks::text(&key.0),
            },
        }
    }
}

/// The input of `table_edits`: an option selector
/// ([`checks::options_from_selector`]), the ops, and the initial table
/// bytes (the rest of the input, verbatim).
#[derive(Debug, Arbitrary)]
pub struct EditsInput<'a> {
    /// Picks the [`postfix_table::Options`].
    pub options: u8,
    /// The edits, in order.
    pub ops: Vec<Op>,
    /// The table source.
    pub initial: &'a [u8],
}

impl EditsInput<'_> {
    /// Runs [`checks::check_edits`] on this input.
    pub fn check(&self) {
        let ops: Vec<EditOp> = self.ops.iter().map(EditOp::from).collect();
        checks::check_edits(
            self.initial,
            checks::options_from_selector(self.options),
            &ops,
        );
    }
}

#[cfg(test)]
mod tests {
    use arbitrary::{Arbitrary, Unstructured};
    use postfix_table::ops::EditOp;

    use super::{EditsInput, checks};

    fn derived(data: &[u8]) -> (u8, Vec<EditOp>, &[u8]) {
        let input = EditsInput::arbitrary_take_rest(Unstructured::new(data)).expect("never fails");
        (
            input.options,
            input.ops.iter().map(EditOp::from).collect(),
            input.initial,
        )
    }

    /// The seeds and regressions of `relay_syntax` and `dms_env` pass their
    /// checks (also replayed by `dms-relay/tests/fuzz_replay.rs`).
    #[test]
    fn relay_and_env_seeds_pass() {
        for (target, check) in [
            (
                "relay_syntax",
                crate::relay_syntax_checks::check as fn(&[u8]),
            ),
            ("dms_env", crate::dms_env_checks::check),
        ] {
            let mut n = 0;
            for kind in ["seeds", "regressions"] {
                let dir = format!("{}/{kind}/{target}", env!("CARGO_MANIFEST_DIR"));
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                for entry in rd {
                    let path = entry.expect("dir entry").path();
                    check(&std::fs::read(&path).expect("readable input"));
                    n += 1;
                }
            }
            assert!(n >= 25, "{target}: {n} inputs");
        }
    }

    /// `checks::decode_edits` (used by the replay test) reads inputs exactly
    /// as the derived `Arbitrary` impl (used by the fuzz target) does.
    #[test]
    fn hand_decoder_matches_derive() {
        let mut inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![1],
            vec![0, 1],
            vec![0, 1, 0x60],
            vec![0, 1, 0xc0, 0xc0, 0xc0],
        ];
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/table_edits");
        for entry in std::fs::read_dir(dir).expect("fuzz/seeds/table_edits exists") {
            inputs.push(std::fs::read(entry.expect("dir entry").path()).expect("readable seed"));
        }
        // xorshift: deterministic pseudo-random inputs of every shape.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..2000usize {
            let mut v = Vec::with_capacity(len % 97);
            for _ in 0..len % 97 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Bias towards odd bytes so that op lists get long.
                let b = (x >> 24) as u8;
                v.push(if len % 3 == 0 { b } else { b | 1 });
            }
            inputs.push(v);
        }
        for data in &inputs {
            assert_eq!(checks::decode_edits(data), derived(data), "input {data:?}");
        }
    }
}
