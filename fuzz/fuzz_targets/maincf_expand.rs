//! Any bytes into `postfix_maincf::expand`: the last line is the value,
//! earlier `name=value` lines (at most 8) are the parameters it can look
//! up. Checks: nothing panics or overflows the stack, errors always carry a
//! message, and the relations between the scan and the expansion that hold
//! in Postfix 3.7:
//!
//! - `expand` succeeding does NOT imply `references` succeeds (the scan
//!   also parses branches the expansion skips: `${a:$}` with `a` set), and
//!   `references` succeeding does NOT imply `expand` succeeds (recursion
//!   through values, `…level` operands, numbers too large for a C long):
//!   both verified with real postconf, so no "iff" is asserted.
//! - With nothing defined (no recursion), a clean scan means the expansion
//!   can only fail by evaluating: a malformed compatibility level, a number
//!   overflowing `long`, or the nesting count of a relational result
//!   (`true` is parsed one level deeper than the scan goes).
//! - With nothing defined, a syntax error of the expansion is always seen
//!   by the scan too.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use postfix_maincf::expand::{ErrorKind, expand, expand_once, references, scan};

fn evaluation_only(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::MalformedCompatibilityLevel
            | ErrorKind::BadConversion
            | ErrorKind::UnreasonableNesting
            | ErrorKind::TooDeep
    )
}

fuzz_target!(|data: &[u8]| {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let value = lines.pop().unwrap_or_default();
    let mut params: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for line in lines.iter().take(8) {
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            params.insert(line[..eq].to_vec(), line[eq + 1..].to_vec());
        }
    }
    let none: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();

    let s = scan(value);
    let refs = references(value);
    assert_eq!(refs.is_ok(), s.error().is_none());
    if let Err(e) = &refs {
        assert!(!e.warnings.is_empty());
        let _ = e.to_string();
    }

    for result in [
        expand(value, &params),
        expand_once(value, &params),
        expand_once(value, &none),
    ] {
        if let Err(e) = result {
            assert!(!e.warnings.is_empty());
            let _ = e.postconf_messages();
        }
    }

    match expand(value, &none) {
        Ok(x) => {
            // Every name met is undefined here, and the scan sees them all.
            if let Ok(r) = &refs {
                for n in &x.undefined {
                    assert!(r.contains(n), "{:?} not in {:?}", n, r);
                }
            }
        }
        Err(e) => {
            if refs.is_ok() {
                assert!(
                    evaluation_only(e.kind()),
                    "scan ok, expansion failed with {:?}",
                    e.warnings
                );
            }
        }
    }
});
