//! `postmap-lite` run in-process, shared by the postmap-lite tests.

use std::io::Cursor;

use postfix_examples::postmap_lite::{Io, run};

/// Runs `postmap-lite ARGS` with `stdin`: (exit status, stdout, stderr).
pub fn run_lite(args: &[&[u8]], stdin: &[u8]) -> (u8, Vec<u8>, Vec<u8>) {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(
        &args,
        Io {
            stdin: &mut Cursor::new(stdin.to_vec()),
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    (code, stdout, stderr)
}
