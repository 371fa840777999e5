//! Running the installed `postmap` for the differential tests: whether it
//! is there, a private configuration directory, and one run.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

/// Debian's postmap.
pub const POSTMAP: &str = "/usr/sbin/postmap";

/// True when postmap is installed. Without it: false after a loud SKIPPED
/// message naming `test` and the packages to `install`, or a panic when
/// `DMS_REQUIRE_POSTFIX` is set (CI).
pub fn postmap_available(test: &str, install: &str) -> bool {
    if Path::new(POSTMAP).exists() {
        return true;
    }
    assert!(
        std::env::var_os("DMS_REQUIRE_POSTFIX").is_none(),
        "{POSTMAP} not found and DMS_REQUIRE_POSTFIX is set: apt-get install {install}"
    );
    eprintln!(
        "\n**********\npostmap not found: differential test SKIPPED ({test}); \
         apt-get install {install} to run it (set DMS_REQUIRE_POSTFIX=1 to fail instead)\n**********\n"
    );
    false
}

/// Writes a file and back-dates it: Postfix re-reads (and sleeps on) files
/// modified within the last second or so.
pub fn write_cold(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
}

/// A private configuration directory: main.cf with `compatibility_level =
/// 3.6` (so `smtputf8_enable = yes`, as on a stock Debian 12), or with
/// `smtputf8_enable = no` as well when `utf8` is false, and an empty
/// master.cf. The system's configuration is never read.
pub fn conf_dir(utf8: bool) -> tempfile::TempDir {
    let conf = tempfile::tempdir().unwrap();
    let main_cf: &[u8] = if utf8 {
        b"compatibility_level = 3.6\n"
    } else {
        b"compatibility_level = 3.6\nsmtputf8_enable = no\n"
    };
    write_cold(&conf.path().join("main.cf"), main_cf);
    write_cold(&conf.path().join("master.cf"), b"");
    conf
}

/// `postmap -c CONF ARGS…` with `LC_ALL=C`, in `dir` (else the current
/// directory), `stdin` written on another thread (postmap may exit early:
/// a broken pipe is fine): its stdout and stderr.
pub fn run_postmap(
    conf: &Path,
    dir: Option<&Path>,
    args: &[&str],
    stdin: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let mut cmd = Command::new(POSTMAP);
    cmd.arg("-c").arg(conf).args(args).env("LC_ALL", "C");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (out.stdout, out.stderr)
}
