//! `postmap-lite`: `postmap -q` / `postmap -s` answers, computed from the
//! text source of a table by `postfix-table`, plus lossless in-place edits.
//!
//! ```text
//! postmap-lite [-f] [-r] [-w] [-U] -q KEY TYPE:FILE     print KEY's value (exit 1: not found)
//! postmap-lite [-f] [-r] [-w] [-U] -q - TYPE:FILE       keys on stdin; prints key<TAB>value
//! postmap-lite [-f] [-r] [-w] [-U] -s TYPE:FILE         print every key<TAB>value
//! postmap-lite --echo FILE                              write the parsed file back to stdout
//! postmap-lite --set KEY VALUE FILE                     insert or replace, atomically
//! postmap-lite --opt-out KEY FILE                       write a key-only line, atomically
//! postmap-lite --delete KEY FILE                        remove every line for KEY, atomically
//! ```
//!
//! TYPE is `texthash`, `hash`, `btree`, `lmdb` or `cdb`; all of them mean
//! the text source FILE (no database is built or read). `-f` turns key
//! folding off, `-r` makes the last duplicate win, `-w` silences duplicate
//! warnings, `-U` reads as with `smtputf8_enable = no`. Warnings go to
//! stderr in postmap's wording.
#![forbid(unsafe_code)]

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use postfix_table::{Diagnostic, DiagnosticKind, Duplicates, Fold, Options, Table};

const PROG: &str = "postmap-lite";

fn usage() -> ExitCode {
    eprintln!(
        "usage: {PROG} [-f] [-r] [-w] [-U] -q KEY|- TYPE:FILE\n       {PROG} [-f] [-r] [-w] [-U] -s TYPE:FILE\n       {PROG} --echo FILE\n       {PROG} --set KEY VALUE FILE | --opt-out KEY FILE | --delete KEY FILE"
    );
    ExitCode::from(2)
}

fn fatal(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{PROG}: fatal: {msg}");
    ExitCode::from(1)
}

struct Flags {
    options: Options,
    quiet_dups: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Texthash,
    Indexed,
}

fn split_map(spec: &str) -> Result<(Flavor, &str), String> {
    match spec.split_once(':') {
        Some(("texthash", f)) => Ok((Flavor::Texthash, f)),
        Some(("hash" | "btree" | "lmdb" | "cdb", f)) => Ok((Flavor::Indexed, f)),
        Some((t, _)) => Err(format!("unsupported dictionary type: {t}")),
        None => Err(format!("no dictionary type in \"{spec}\"; use TYPE:FILE")),
    }
}

fn load(spec: &str, flags: &Flags) -> Result<Table, ExitCode> {
    let (flavor, file) = split_map(spec).map_err(fatal)?;
    let bytes = std::fs::read(file).map_err(|e| fatal(format!("open database {file}: {e}")))?;
    let table = Table::from_vec_with(bytes, flags.options);
    let utf8 = flags.options.utf8;
    for d in table.diagnostics() {
        if flags.quiet_dups && matches!(d.kind, DiagnosticKind::Duplicate { .. }) {
            continue;
        }
        let msg = match flavor {
            Flavor::Texthash => d.postfix_message(file, utf8),
            Flavor::Indexed => build_message(&d, file, flags),
        };
        if let Some(m) = msg {
            eprintln!("{PROG}: warning: {m}");
        }
    }
    Ok(table)
}

fn build_message(d: &Diagnostic, file: &str, flags: &Flags) -> Option<String> {
    let db = format!("{file}.db");
    d.postmap_build_message(
        file,
        &db,
        flags.options.effective_fold(),
        flags.options.utf8,
    )
}

fn query_one(table: &Table, spec: &str, key: &[u8]) -> Option<Vec<u8>> {
    if let Err(e) = table.check_query(key) {
        let shown = postfix_table::lines::printable(key, true);
        eprintln!(
            "{PROG}: warning: {spec}: non-UTF-8 key \"{shown}\": {}",
            short(&e)
        );
        return None;
    }
    table.get(key).map(|v| v.into_owned())
}

fn short(e: &postfix_table::QueryError) -> &'static str {
    match e {
        postfix_table::QueryError::NonUtf8Key { .. } => "malformed UTF-8 or invalid codepoint",
        _ => "invalid key",
    }
}

fn edit(path: &str, f: impl FnOnce(&mut Table) -> Result<(), String>) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fatal(format!("open {path}: {e}")),
    };
    let mut table = Table::from_vec(bytes);
    if let Err(e) = f(&mut table) {
        return fatal(e);
    }
    match postfix_examples::write_atomic(Path::new(path), &table.to_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fatal(format!("write {path}: {e}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let args: Vec<Vec<u8>> = args
        .into_iter()
        .map(std::os::unix::ffi::OsStringExt::into_vec)
        .collect();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match args.first().map(Vec::as_slice) {
        Some(b"--echo") => {
            let [_, file] = args.as_slice() else {
                return usage();
            };
            return match std::fs::read(s(file)) {
                Ok(b) => {
                    let t = Table::from_vec(b);
                    let mut out = io::stdout().lock();
                    match t.write_to(&mut out).and_then(|()| out.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => fatal(e),
                    }
                }
                Err(e) => fatal(format!("open {}: {e}", s(file))),
            };
        }
        Some(b"--set") => {
            let [_, key, value, file] = args.as_slice() else {
                return usage();
            };
            return edit(&s(file), |t| {
                t.set(key, value).map(drop).map_err(|e| e.to_string())
            });
        }
        Some(b"--opt-out") => {
            let [_, key, file] = args.as_slice() else {
                return usage();
            };
            return edit(&s(file), |t| {
                t.opt_out(key).map(drop).map_err(|e| e.to_string())
            });
        }
        Some(b"--delete") => {
            let [_, key, file] = args.as_slice() else {
                return usage();
            };
            return edit(&s(file), |t| {
                t.remove(key);
                Ok(())
            });
        }
        _ => {}
    }

    let mut flags = Flags {
        options: Options::default(),
        quiet_dups: false,
    };
    let mut query: Option<Vec<u8>> = None;
    let mut dump = false;
    let mut it = args.iter();
    let mut rest = Vec::new();
    while let Some(a) = it.next() {
        match a.as_slice() {
            b"-f" => flags.options.fold = Fold::None,
            b"-r" => flags.options.duplicates = Duplicates::LastWins,
            b"-w" => flags.quiet_dups = true,
            b"-U" => flags.options.utf8 = false,
            b"-s" => dump = true,
            b"-q" => match it.next() {
                Some(k) => query = Some(k.clone()),
                None => return usage(),
            },
            _ if a.first() == Some(&b'-') && a.len() > 1 => return usage(),
            _ => rest.push(s(a)),
        }
    }
    if flags.options.duplicates == Duplicates::LastWins {
        flags.quiet_dups = true;
    }
    let [spec] = rest.as_slice() else {
        return usage();
    };
    let table = match load(spec, &flags) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = if dump {
        (|| -> io::Result<bool> {
            for (k, v) in table.effective() {
                out.write_all(&k)?;
                out.write_all(b"\t")?;
                out.write_all(&v)?;
                out.write_all(b"\n")?;
            }
            Ok(true)
        })()
    } else {
        match query.as_deref() {
            Some(b"-") => (|| -> io::Result<bool> {
                let mut found = false;
                for line in io::stdin().lock().split(b'\n') {
                    let key = line?;
                    if let Some(v) = query_one(&table, spec, &key) {
                        found = true;
                        out.write_all(&key)?;
                        out.write_all(b"\t")?;
                        out.write_all(&v)?;
                        out.write_all(b"\n")?;
                    }
                }
                Ok(found)
            })(),
            Some(key) => (|| -> io::Result<bool> {
                match query_one(&table, spec, key) {
                    Some(v) => {
                        out.write_all(&v)?;
                        out.write_all(b"\n")?;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })(),
            None => return usage(),
        }
    };
    match result.and_then(|found| out.flush().map(|()| found)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => fatal(e),
    }
}
