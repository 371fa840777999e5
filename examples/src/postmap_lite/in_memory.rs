//! `postmap-lite -q` and `-s` on the tables that live in the reference
//! itself, `inline:{…}` and `static:…`, with the output, warnings and exit
//! status of `postmap` (Postfix 3.7):
//!
//! * `-q KEY`: the value (an empty one too, with postmap's two warnings),
//!   status 0; status 1 when not found.
//! * `-q -`: `key<TAB>value` per key found, warnings as they come; the
//!   table is opened at the first key, so a bad reference with no keys on
//!   stdin is not an error (as in postmap).
//! * `-s`: `inline:` lists one line per folded key, the value of its last
//!   definition, in order of first appearance (postmap's order is that of a
//!   randomly seeded hash table); `static:` is fatal (`sequence operation is
//!   not supported`).
//! * A bad reference is fatal with Postfix's message.

use std::io::{self, BufRead, Write};

use postfix_table::Options;
use postfix_table::inline::Lookup;
use postfix_table::spec::TableRef;

use super::PROG;

/// True for the types this module answers.
pub(super) fn handles(spec: &[u8]) -> bool {
    spec.starts_with(b"inline:") || spec.starts_with(b"static:")
}

fn fatal(stderr: &mut dyn Write, msg: &[u8]) -> u8 {
    let _ = stderr.write_all(&[PROG.as_bytes(), b": fatal: ", msg, b"\n"].concat());
    1
}

fn warn(stderr: &mut dyn Write, lines: Vec<Vec<u8>>) {
    for l in lines {
        let _ = stderr.write_all(&[PROG.as_bytes(), b": warning: ", &l, b"\n"].concat());
    }
}

fn open(spec: &[u8], options: Options) -> Result<TableRef, Vec<u8>> {
    TableRef::parse_bytes(spec)
        .map_err(|e| postfix_table::lines::printable(e.to_string().as_bytes(), options.utf8))
}

/// Runs one `-q KEY`, `-q -` or `-s` (`query` is `None` for `-s`).
pub(super) fn run(
    spec: &[u8],
    query: Option<&[u8]>,
    options: Options,
    stdin: &mut dyn BufRead,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let mut out = io::BufWriter::new(stdout);
    let result = match query {
        None => {
            let table = match open(spec, options) {
                Ok(t) => t,
                Err(m) => return fatal(stderr, &m),
            };
            let entries = match table.inline_dump(options) {
                Ok(e) => e,
                Err(e) => return fatal(stderr, e.to_string().as_bytes()),
            };
            (|| {
                for e in entries {
                    warn(stderr, e.postmap_warnings(&table, options.utf8));
                    out.write_all(&[&e.key[..], b"\t", e.value.as_bytes(), b"\n"].concat())?;
                }
                Ok(true)
            })()
        }
        Some(b"-") => {
            let mut table = None;
            let mut found = false;
            (|| {
                for line in stdin.split(b'\n') {
                    let line = line?;
                    let key = postfix_table::lines::c_string(&line);
                    let t = match &table {
                        Some(t) => t,
                        None => match open(spec, options) {
                            Ok(t) => table.insert(t),
                            Err(m) => {
                                out.flush()?;
                                return Err(io::Error::other(Fatal(m)));
                            }
                        },
                    };
                    let answer = answer(t, key, options);
                    warn(stderr, answer.postmap_warnings(t, key, options.utf8));
                    if let Lookup::Found(v) = answer {
                        found = true;
                        out.write_all(&[key, b"\t", v.as_bytes(), b"\n"].concat())?;
                    }
                }
                Ok(found)
            })()
        }
        Some(key) => {
            let table = match open(spec, options) {
                Ok(t) => t,
                Err(m) => return fatal(stderr, &m),
            };
            let key = postfix_table::lines::c_string(key);
            let answer = answer(&table, key, options);
            warn(stderr, answer.postmap_warnings(&table, key, options.utf8));
            (|| match answer {
                Lookup::Found(v) => {
                    out.write_all(&[v.as_bytes(), b"\n"].concat())?;
                    Ok(true)
                }
                _ => Ok(false),
            })()
        }
    };
    match result.and_then(|found| out.flush().map(|()| found)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => match e.get_ref().and_then(|e| e.downcast_ref::<Fatal>()) {
            Some(Fatal(m)) => fatal(stderr, m),
            None => fatal(stderr, e.to_string().as_bytes()),
        },
    }
}

fn answer<'t>(table: &'t TableRef, key: &[u8], options: Options) -> Lookup<'t> {
    // `handles` let only inline: and static: through.
    table.lookup_with(key, options).unwrap_or(Lookup::NotFound)
}

/// A fatal message met while reading stdin.
#[derive(Debug)]
struct Fatal(Vec<u8>);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for Fatal {}
