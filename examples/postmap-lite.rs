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
//! postmap-lite --no-fsync --set|--opt-out|--delete ...  the same without fsync (rename only, like sed -i)
//! ```
//!
//! Edits write a temporary file, fsync it (as `postconf -e` does) and
//! rename it over FILE, keeping mode and owner.
//!
//! TYPE is `texthash`, `hash`, `btree`, `lmdb` or `cdb`; all of them mean
//! the text source FILE (no database is built or read). `-f` turns key
//! folding off, `-r` makes the last duplicate win, `-w` silences duplicate
//! warnings, `-U` reads as with `smtputf8_enable = no`. Warnings go to
//! stderr in postmap's wording. The logic lives in
//! `postfix_examples::postmap_lite`.
#![forbid(unsafe_code)]

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use postfix_examples::postmap_lite::{Io, run};

fn main() -> ExitCode {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(OsStringExt::into_vec)
        .collect();
    let code = run(
        &args,
        Io {
            stdin: &mut io::stdin().lock(),
            stdout: &mut io::stdout().lock(),
            stderr: &mut io::stderr().lock(),
        },
    );
    ExitCode::from(code)
}
