//! `postmap-lite -q` / `-s` on `regexp:`, `pcre:` and `cidr:` tables, with
//! postmap's (Postfix 3.7) output, warnings and exit status:
//!
//! * load-time warnings in file order (`regexp map FILE, line N: …`);
//! * `-q KEY` prints the result; `-q -` prints `key<TAB>result` per key
//!   found. A key is a C string for postmap: the part before a NUL is
//!   looked up and printed;
//! * an empty result is printed, after postmap's two warnings about it;
//! * a non-UTF-8 key (with `smtputf8_enable = yes`) is warned about and not
//!   found; a non-UTF-8 result is a fatal query error (postmap then exits
//!   without flushing what it had buffered for stdout; so does this);
//! * `-s` is refused as postmap refuses it: pattern tables have no
//!   sequence operation.

use std::io::{BufRead, Write};

use postfix_table::QueryError;
use postfix_table::lines::printable;
use postfix_table::pattern::{PatternKind, PatternTable};

use crate::postmap_lite::Io;

const PROG: &[u8] = b"postmap-lite";

fn say(stderr: &mut dyn Write, level: &[u8], msg: &[u8]) {
    let _ = stderr.write_all(&[PROG, b": ", level, b": ", msg, b"\n"].concat());
}

/// Runs a query (`query`: `Some(b"-")` for stdin) or `-s` (`dump`) on a
/// pattern table `kind:file`; returns the exit status.
pub(crate) fn run(
    kind: PatternKind,
    file: &str,
    query: Option<&[u8]>,
    dump: bool,
    utf8: bool,
    io: Io<'_>,
) -> u8 {
    let Io {
        stdin,
        stdout,
        stderr,
    } = io;
    let map = format!("{}:{file}", kind.name());
    let table = match std::fs::read(file) {
        Ok(b) => PatternTable::from_vec(kind, b).with_utf8(utf8),
        Err(e) => {
            say(
                stderr,
                b"fatal",
                format!("open {file}: {}", os_text(&e)).as_bytes(),
            );
            return 1;
        }
    };
    for d in table.diagnostics() {
        say(stderr, b"warning", &d.postfix_message_bytes(file, utf8));
    }
    if dump {
        say(
            stderr,
            b"fatal",
            format!("table {map}: sequence operation is not supported").as_bytes(),
        );
        return 1;
    }
    // stdout is held back and written at the end, as postmap's buffered
    // stream is: a fatal error discards it.
    let mut out = Vec::new();
    let mut found = false;
    let mut one = |key: &[u8], with_key: bool, stderr: &mut dyn Write| -> Result<(), ()> {
        let key = postfix_table::lines::c_string(key);
        let mut warns = Vec::new();
        let r = table.lookup_with(key, &mut |d| warns.push(d));
        for d in warns {
            say(stderr, b"warning", &d.postfix_message_bytes(file, utf8));
        }
        let value = match r {
            Ok(Some(v)) => v,
            Ok(None) => return Ok(()),
            Err(QueryError::NonUtf8Key { .. }) => {
                say(
                    stderr,
                    b"warning",
                    &[
                        map.as_bytes(),
                        b": non-UTF-8 key \"",
                        &printable(key, utf8),
                        b"\": malformed UTF-8 or invalid codepoint",
                    ]
                    .concat(),
                );
                return Ok(());
            }
            Err(QueryError::NonUtf8Value { value }) => {
                say(
                    stderr,
                    b"warning",
                    &[
                        map.as_bytes(),
                        b": key \"",
                        &printable(key, utf8),
                        b"\": non-UTF-8 value \"",
                        &printable(&value, utf8),
                        b"\": malformed UTF-8 or invalid codepoint",
                    ]
                    .concat(),
                );
                say(
                    stderr,
                    b"fatal",
                    format!("table {map}: query error").as_bytes(),
                );
                return Err(());
            }
            Err(e) => {
                say(stderr, b"fatal", format!("table {map}: {e}").as_bytes());
                return Err(());
            }
        };
        if value.is_empty() {
            say(
                stderr,
                b"warning",
                &[
                    format!("table {map}: key ").as_bytes(),
                    &printable(key, utf8),
                    b": empty string result is not allowed",
                ]
                .concat(),
            );
            say(
                stderr,
                b"warning",
                format!("table {map} should return NO RESULT in case of NOT FOUND").as_bytes(),
            );
        }
        found = true;
        if with_key {
            out.extend_from_slice(key);
            out.push(b'\t');
        }
        out.extend_from_slice(&value);
        out.push(b'\n');
        Ok(())
    };
    let status = match query {
        Some(b"-") => {
            let mut status = Ok(());
            for line in stdin.split(b'\n') {
                let Ok(key) = line else {
                    break;
                };
                status = one(&key, true, stderr);
                if status.is_err() {
                    break;
                }
            }
            status
        }
        Some(key) => one(key, false, stderr),
        None => Ok(()),
    };
    if status.is_err() {
        return 1;
    }
    if stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    if found { 0 } else { 1 }
}

/// The error text without Rust's " (os error N)" suffix, as strerror() says it.
fn os_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
