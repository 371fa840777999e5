//! The `postmap-lite` command, as a function over explicit arguments and
//! streams so that tests can drive it without spawning processes.

use std::io::{self, BufRead, Write};
use std::path::Path;

use postfix_table::{Diagnostic, DiagnosticKind, Duplicates, Fold, Options, QueryError, Table};

use crate::{Durability, edit_locked_with};

mod in_memory;

const PROG: &str = "postmap-lite";

/// Usage text.
pub const USAGE: &str = "usage: postmap-lite [-f] [-r] [-w] [-U] -q KEY|- TYPE:FILE
       postmap-lite [-f] [-r] [-w] [-U] -s TYPE:FILE
       postmap-lite [-f] [-U] -q KEY|- | -s 'inline:{KEY=VALUE, { KEY = VALUE }}' | static:VALUE
       postmap-lite --echo FILE
       postmap-lite [--no-fsync] --set KEY VALUE FILE | --opt-out KEY FILE | --delete KEY FILE";

/// Standard streams of one run.
pub struct Io<'a> {
    /// Keys for `-q -`.
    pub stdin: &'a mut dyn BufRead,
    /// Answers.
    pub stdout: &'a mut dyn Write,
    /// Warnings and errors.
    pub stderr: &'a mut dyn Write,
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

/// Runs `postmap-lite` with `args` (without the program name) and returns
/// the exit status: 0 found / done, 1 not found or fatal error, 2 usage.
pub fn run(args: &[Vec<u8>], io: Io<'_>) -> u8 {
    let Io {
        stdin,
        stdout,
        stderr,
    } = io;
    fn fatal(stderr: &mut dyn Write, msg: &dyn std::fmt::Display) -> u8 {
        let _ = writeln!(stderr, "{PROG}: fatal: {msg}");
        1
    }
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (durability, args) = match args.split_first() {
        Some((flag, rest)) if flag == b"--no-fsync" => (Durability::RenameOnly, rest),
        _ => (Durability::Fsync, args),
    };
    match args.first().map(Vec::as_slice) {
        Some(b"--echo") => {
            let [_, file] = args else {
                return usage(stderr);
            };
            return match std::fs::read(s(file)) {
                Ok(b) => match Table::from_vec(b)
                    .write_to(&mut *stdout)
                    .and_then(|()| stdout.flush())
                {
                    Ok(()) => 0,
                    Err(e) => fatal(stderr, &e),
                },
                Err(e) => fatal(stderr, &format!("open {}: {e}", s(file))),
            };
        }
        Some(b"--set") => {
            let [_, key, value, file] = args else {
                return usage(stderr);
            };
            return edit(&s(file), durability, stderr, |t| {
                t.set(key, value).map(drop).map_err(|e| e.to_string())
            });
        }
        Some(b"--opt-out") => {
            let [_, key, file] = args else {
                return usage(stderr);
            };
            return edit(&s(file), durability, stderr, |t| {
                t.opt_out(key).map(drop).map_err(|e| e.to_string())
            });
        }
        Some(b"--delete") => {
            let [_, key, file] = args else {
                return usage(stderr);
            };
            return edit(&s(file), durability, stderr, |t| {
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
    let mut query: Option<&[u8]> = None;
    let mut dump = false;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_slice() {
            b"-f" => flags.options.fold = Fold::None,
            b"-r" => flags.options.duplicates = Duplicates::LastWins,
            b"-w" => flags.quiet_dups = true,
            b"-U" => flags.options.utf8 = false,
            b"-s" => dump = true,
            b"-q" => match it.next() {
                Some(k) => query = Some(k),
                None => return usage(stderr),
            },
            _ if a.first() == Some(&b'-') && a.len() > 1 => return usage(stderr),
            _ => rest.push(s(a)),
        }
    }
    if flags.options.duplicates == Duplicates::LastWins {
        flags.quiet_dups = true;
    }
    let ([spec], true) = (rest.as_slice(), dump || query.is_some()) else {
        return usage(stderr);
    };
    // inline:{...} and static:... hold their data in the reference itself.
    if let Some(raw) = args
        .iter()
        .rev()
        .find(|a| s(a) == *spec)
        .filter(|a| in_memory::handles(a))
    {
        let query = if dump { None } else { query };
        return in_memory::run(raw, query, flags.options, stdin, stdout, stderr);
    }
    // regexp:, pcre:, cidr: have their own reader (crate::postmap_pattern).
    if let Some((kind, file)) = spec
        .split_once(':')
        .and_then(|(t, f)| Some((postfix_table::pattern::PatternKind::from_name(t)?, f)))
    {
        let io = Io {
            stdin,
            stdout,
            stderr,
        };
        return crate::postmap_pattern::run(kind, file, query, dump, flags.options.utf8, io);
    }
    let table = match load(spec, &flags, stderr) {
        Ok(t) => t,
        Err(msg) => return fatal(stderr, &msg),
    };
    let mut out = io::BufWriter::new(stdout);
    let result = (|| -> io::Result<bool> {
        if dump {
            for (k, v) in table.effective() {
                out.write_all(&[&k[..], b"\t", &v[..], b"\n"].concat())?;
            }
            return Ok(true);
        }
        match query {
            Some(b"-") => {
                let mut found = false;
                for line in stdin.split(b'\n') {
                    let key = line?;
                    if let Some(v) = query_one(&table, spec, &key, stderr) {
                        found = true;
                        out.write_all(&[&key[..], b"\t", &v[..], b"\n"].concat())?;
                    }
                }
                Ok(found)
            }
            Some(key) => Ok(match query_one(&table, spec, key, stderr) {
                Some(v) => {
                    out.write_all(&[&v[..], b"\n"].concat())?;
                    true
                }
                None => false,
            }),
            None => Ok(false),
        }
    })();
    match result.and_then(|found| out.flush().map(|()| found)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => fatal(stderr, &e),
    }
}

fn usage(stderr: &mut dyn Write) -> u8 {
    let _ = writeln!(stderr, "{USAGE}");
    2
}

fn split_map(spec: &str) -> Result<(Flavor, &str), String> {
    match spec.split_once(':') {
        Some(("texthash", f)) => Ok((Flavor::Texthash, f)),
        Some(("hash" | "btree" | "lmdb" | "cdb", f)) => Ok((Flavor::Indexed, f)),
        Some((t, _)) => Err(format!("unsupported dictionary type: {t}")),
        None => Err(format!("no dictionary type in \"{spec}\"; use TYPE:FILE")),
    }
}

fn load(spec: &str, flags: &Flags, stderr: &mut dyn Write) -> Result<Table, String> {
    let (flavor, file) = split_map(spec)?;
    let table =
        Table::read(file, flags.options).map_err(|e| format!("open database {file}: {e}"))?;
    for d in table.diagnostics() {
        if flags.quiet_dups && matches!(d.kind, DiagnosticKind::Duplicate { .. }) {
            continue;
        }
        let msg = match flavor {
            Flavor::Texthash => d.postfix_message_bytes(file, flags.options.utf8),
            Flavor::Indexed => build_message(&d, file, flags),
        };
        if let Some(m) = msg {
            let _ = stderr.write_all(&[PROG.as_bytes(), b": warning: ", &m, b"\n"].concat());
        }
    }
    Ok(table)
}

fn build_message(d: &Diagnostic, file: &str, flags: &Flags) -> Option<Vec<u8>> {
    let db = format!("{file}.db");
    d.postmap_build_message_bytes(
        file,
        &db,
        flags.options.effective_fold(),
        flags.options.utf8,
    )
}

fn query_one(table: &Table, spec: &str, key: &[u8], stderr: &mut dyn Write) -> Option<Vec<u8>> {
    if let Err(QueryError::NonUtf8Key { .. }) = table.check_query(key) {
        let shown = postfix_table::lines::printable(key, table.options().utf8);
        let _ = stderr.write_all(
            &[
                PROG.as_bytes(),
                b": warning: ",
                spec.as_bytes(),
                b": non-UTF-8 key \"",
                &shown,
                b"\": malformed UTF-8 or invalid codepoint\n",
            ]
            .concat(),
        );
        return None;
    }
    table.get(key).map(|v| v.into_owned())
}

fn edit(
    path: &str,
    durability: Durability,
    stderr: &mut dyn Write,
    f: impl FnOnce(&mut Table) -> Result<(), String>,
) -> u8 {
    let mut fail = |msg: String| {
        let _ = writeln!(stderr, "{PROG}: fatal: {msg}");
        1
    };
    // Under postconf's edit lock (`PATH.tmp`), so concurrent editors
    // serialize. Keep the file open: unchanged ranges are copied from it by
    // the kernel.
    let result = edit_locked_with(Path::new(path), durability, |tmp| {
        let source = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return Ok(Err(format!("open {path}: {e}"))),
        };
        let mut table = match Table::read_file(&source, postfix_table::Options::default()) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("read {path}: {e}"))),
        };
        if let Err(e) = f(&mut table) {
            return Ok(Err(e));
        }
        table.write_to_file_from(&source, tmp)?;
        Ok(Ok(true))
    });
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => fail(msg),
        Err(e) => fail(format!("write {path}: {e}")),
    }
}
