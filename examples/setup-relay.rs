//! `setup-relay`: docker-mailserver's `setup relay` commands, done safely
//! by `dms-relay`, plus `del-domain`, `del-auth`, `include-domain`, `list`
//! and `apply` (the startup step).
//!
//! ```text
//! setup-relay [--config-dir DIR] add-domain D H [P] | add-auth D U [PW]
//!     | exclude-domain D | del-domain D | del-auth D | include-domain D
//!     | list [--json] | apply --postfix-dir PDIR
//! ```
//!
//! DIR defaults to `/tmp/docker-mailserver`. Exit 0 on success, 1 on a
//! usage, validation or I/O error (one line on stderr). The logic and the
//! documented differences from DMS live in `postfix_examples::setup_relay`.
#![forbid(unsafe_code)]

use std::io::{self, IsTerminal};
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use postfix_examples::setup_relay::{Io, run};

fn main() -> ExitCode {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(OsStringExt::into_vec)
        .collect();
    let stdin = io::stdin();
    let stdin_is_terminal = stdin.is_terminal();
    let code = run(
        &args,
        Io {
            stdin: &mut stdin.lock(),
            stdin_is_terminal,
            stdout: &mut io::stdout().lock(),
            stderr: &mut io::stderr().lock(),
        },
    );
    ExitCode::from(code)
}
