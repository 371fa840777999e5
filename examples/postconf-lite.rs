//! `postconf-lite`: `postconf -n / -h / -x / NAME…` output and
//! `postconf -e / -X / -#` edits, computed by `postfix-maincf`.
//!
//! ```text
//! postconf-lite [-c DIR] [-n] [-h] [-x] [NAME...]     show parameters as postconf does
//! postconf-lite [-c DIR] -e 'name = value'...          set (a bare 'name=value' implies -e)
//! postconf-lite [-c DIR] -X NAME...                    remove
//! postconf-lite [-c DIR] -# NAME...                    comment out
//! postconf-lite [-c DIR] --raw [NAME...]               name<TAB>value, the exact stored bytes, escaped
//! ```
//!
//! DIR defaults to `$MAIL_CONFIG`, then `/etc/postfix`. Output, warnings
//! and exit status are postconf's (messages prefixed `postconf-lite:`),
//! without the `config_directory` line that postconf's `-c` adds. Edits
//! take the same lock as postconf (`main.cf.tmp`), keep the file's mode and
//! owner, and differ from postconf where postconf loses data (see the
//! `postfix_maincf::edit` docs). The logic lives in
//! `postfix_examples::postconf_lite`.
#![forbid(unsafe_code)]

use std::io;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;

use postfix_examples::postconf_lite::{Io, run};

fn main() -> ExitCode {
    let args: Vec<Vec<u8>> = std::env::args_os()
        .skip(1)
        .map(OsStringExt::into_vec)
        .collect();
    let code = run(
        &args,
        Io {
            stdout: &mut io::stdout().lock(),
            stderr: &mut io::stderr().lock(),
        },
    );
    ExitCode::from(code)
}
