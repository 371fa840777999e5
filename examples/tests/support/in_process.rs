//! The example commands run in-process (their `run` functions, empty
//! stdin), output as text: shared by the hostile-input tests.

#![allow(dead_code)]

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use postfix_examples::{postconf_lite, postmap_lite, setup_relay};

/// Exit status and output of one run.
pub struct Ran {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

fn ran(code: u8, out: &[u8], err: &[u8]) -> Ran {
    Ran {
        code,
        stdout: String::from_utf8_lossy(out).into_owned(),
        stderr: String::from_utf8_lossy(err).into_owned(),
    }
}

/// `setup-relay --config-dir CFG ARGS…`.
pub fn setup_relay(cfg: &Path, args: &[&[u8]]) -> Ran {
    let mut a: Vec<Vec<u8>> = vec![
        b"--config-dir".to_vec(),
        cfg.as_os_str().as_bytes().to_vec(),
    ];
    a.extend(args.iter().map(|x| x.to_vec()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut stdin: &[u8] = b"";
    let code = setup_relay::run(
        &a,
        setup_relay::Io {
            stdin: &mut stdin,
            stdin_is_terminal: false,
            stdout: &mut out,
            stderr: &mut err,
        },
    );
    ran(code, &out, &err)
}

/// `postmap-lite ARGS…`.
pub fn postmap(args: &[&[u8]]) -> Ran {
    let a: Vec<Vec<u8>> = args.iter().map(|x| x.to_vec()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut stdin: &[u8] = b"";
    let code = postmap_lite::run(
        &a,
        postmap_lite::Io {
            stdin: &mut stdin,
            stdout: &mut out,
            stderr: &mut err,
        },
    );
    ran(code, &out, &err)
}

/// `postconf-lite ARGS…`.
pub fn postconf(args: &[&[u8]]) -> Ran {
    let a: Vec<Vec<u8>> = args.iter().map(|x| x.to_vec()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = postconf_lite::run(
        &a,
        postconf_lite::Io {
            stdout: &mut out,
            stderr: &mut err,
        },
    );
    ran(code, &out, &err)
}
