//! What `postmap -q - TYPE:table` prints for a pattern table, computed
//! from a [`PatternTable`]: shared by the conformance and oracle tests.

#![allow(dead_code)]

use postfix_table::QueryError;
use postfix_table::lines::printable;
use postfix_table::pattern::PatternTable;

/// stdout, stderr, and whether postmap would die (non-UTF-8 result: a
/// fatal query error, after which its buffered stdout is lost).
pub struct Expected {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub fatal: bool,
}

/// The answers of `postmap -q - TYPE:map` for `keys` (each already as
/// postmap reads it: no LF; cut at a NUL by the caller if needed).
pub fn postmap_q_stdin(t: &PatternTable, map: &str, keys: &[&[u8]], utf8: bool) -> Expected {
    let spec = format!("{}:{map}", t.kind().name());
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut line = |m: &[u8]| {
        stderr.extend_from_slice(b"postmap: warning: ");
        stderr.extend_from_slice(m);
        stderr.push(b'\n');
    };
    for d in t.diagnostics() {
        line(&d.postfix_message_bytes(map, utf8));
    }
    for &key in keys {
        let mut warns = Vec::new();
        let r = t.lookup_with(key, &mut |d| warns.push(d));
        for d in warns {
            line(&d.postfix_message_bytes(map, utf8));
        }
        match r {
            Ok(Some(v)) => {
                if v.is_empty() {
                    line(
                        &[
                            format!("table {spec}: key ").as_bytes(),
                            &printable(key, utf8),
                            b": empty string result is not allowed",
                        ]
                        .concat(),
                    );
                    line(
                        format!("table {spec} should return NO RESULT in case of NOT FOUND")
                            .as_bytes(),
                    );
                }
                stdout.extend_from_slice(&[key, b"\t", &v, b"\n"].concat());
            }
            Ok(None) => {}
            Err(QueryError::NonUtf8Key { .. }) => line(
                &[
                    format!("{spec}: non-UTF-8 key \"").as_bytes(),
                    &printable(key, utf8),
                    b"\": malformed UTF-8 or invalid codepoint",
                ]
                .concat(),
            ),
            Err(QueryError::NonUtf8Value { value }) => {
                line(
                    &[
                        format!("{spec}: key \"").as_bytes(),
                        &printable(key, utf8),
                        b"\": non-UTF-8 value \"",
                        &printable(&value, utf8),
                        b"\": malformed UTF-8 or invalid codepoint",
                    ]
                    .concat(),
                );
                stderr.extend_from_slice(
                    format!("postmap: fatal: table {spec}: query error\n").as_bytes(),
                );
                return Expected {
                    stdout: Vec::new(),
                    stderr,
                    fatal: true,
                };
            }
            Err(e) => panic!("unexpected lookup error {e}"),
        }
    }
    Expected {
        stdout,
        stderr,
        fatal: false,
    }
}
