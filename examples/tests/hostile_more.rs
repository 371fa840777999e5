//! Hostile arguments for `setup-relay explain` and `setup-relay doctor`
//! (in-process, `setup_relay::run`): every hostile byte in the sender at
//! every position, bad flags and Postfix directories, with the exact exit
//! status and output.

#[path = "support/in_process.rs"]
mod in_process;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use dms_relay::explain::RelayConfig;
use in_process::setup_relay as run;

const MAIN: &str = "compatibility_level = 3.6\nmyorigin = origin.test\nmydestination = localhost\n\
    relayhost = [default.test]:25\nsmtp_sasl_auth_enable = yes\n\
    smtp_sender_dependent_authentication = yes\n\
    sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n\
    smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n";

fn pdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("main.cf"), MAIN).unwrap();
    fs::write(dir.path().join("relayhost_map"), "@a.test [r.test]:587\n").unwrap();
    fs::write(dir.path().join("sasl_passwd"), "@a.test u:Pw0rdXyz\n").unwrap();
    dir
}

const HOSTILE: &[(&str, &[u8])] = &[
    ("LF", b"\n"),
    ("CR", b"\r"),
    ("NUL", b"\0"),
    ("TAB", b"\t"),
    ("ESC", b"\x1b"),
    ("space", b" "),
    ("quote", b"\""),
    ("double at", b"@@"),
    ("non-UTF-8 0xFF", b"\xff"),
    ("non-UTF-8 overlong", b"\xc0\x80"),
    ("Cyrillic a", "\u{430}".as_bytes()),
    ("RTL override", "\u{202e}".as_bytes()),
    ("zero-width space", "\u{200b}".as_bytes()),
    ("U+FFFD", "\u{fffd}".as_bytes()),
];

/// Every hostile byte at the start, in the local part, in the domain and at
/// the end of the sender, as text and as JSON: exit 0 with exactly the
/// library's explanation, or exit 1 for non-UTF-8 with the exact message.
#[test]
fn hostile_explain_senders() {
    let cfg = tempfile::tempdir().unwrap();
    let p = pdir();
    let lib = RelayConfig::load(p.path()).unwrap();
    let pd = p.path().as_os_str().as_bytes();
    let base: &[u8] = b"user@a.test";
    let mut n = 0;
    for &(name, ins) in HOSTILE {
        for at in [0, 2, 7, base.len()] {
            let sender = [&base[..at], ins, &base[at..]].concat();
            for json in [false, true] {
                let mut args: Vec<&[u8]> = vec![b"explain", b"--postfix-dir", pd];
                if json {
                    args.push(b"--json");
                }
                args.push(&sender);
                let r = run(cfg.path(), &args);
                let case = format!("{name} at {at} json={json}");
                match std::str::from_utf8(&sender) {
                    Ok(s) => {
                        let x = lib.explain(s);
                        let want = if json {
                            format!("[{}]\n", x.to_json())
                        } else {
                            x.to_string()
                        };
                        assert_eq!(
                            (r.code, r.stdout.as_str(), r.stderr.as_str()),
                            (0, want.as_str(), ""),
                            "{case}"
                        );
                    }
                    Err(_) => {
                        let want = format!(
                            "setup-relay: invalid sender {:?}: not valid UTF-8\n",
                            String::from_utf8_lossy(&sender)
                        );
                        assert_eq!(
                            (r.code, r.stdout.as_str(), r.stderr.as_str()),
                            (1, "", want.as_str()),
                            "{case}"
                        );
                    }
                }
                assert!(!r.stdout.contains("Pw0rdXyz"), "{case}: password shown");
                n += 1;
            }
        }
    }
    eprintln!("explain senders: {n} cases");
    assert!(n >= 50, "{n}");
}

/// Bad flags and Postfix directories: (args, exit status, stderr).
#[test]
fn hostile_explain_and_doctor_arguments() {
    let cfg = tempfile::tempdir().unwrap();
    let p = pdir();
    let pd = p.path().as_os_str().as_bytes().to_vec();
    let file = p.path().join("main.cf");
    let missing = p.path().join("missing");
    let nonutf8 = p.path().join(std::ffi::OsStr::from_bytes(b"p\xff"));
    fs::create_dir(&nonutf8).unwrap();
    fs::write(nonutf8.join("main.cf"), MAIN).unwrap();
    let dir_main = p.path().join("dm");
    fs::create_dir_all(dir_main.join("main.cf")).unwrap();
    let b = |p: &Path| p.as_os_str().as_bytes().to_vec();
    let eu = "explain [--postfix-dir PDIR] [--json] SENDER...";
    let du = "doctor [--postfix-dir PDIR] [--fix] [--json]";
    let cases: Vec<(&str, Vec<Vec<u8>>, u8, String)> = vec![
        ("explain: no sender", vec![b"explain".to_vec()], 1, format!("setup-relay: usage: {eu} (try 'setup-relay help')\n")),
        ("explain: only a PDIR", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), pd.clone()], 1, format!("setup-relay: usage: {eu} (try 'setup-relay help')\n")),
        ("explain: unknown flag", vec![b"explain".to_vec(), b"--bogus".to_vec(), b"u@a.test".to_vec()], 1, format!("setup-relay: unknown option \"--bogus\"; usage: {eu} (try 'setup-relay help')\n")),
        ("explain: --postfix-dir without value", vec![b"explain".to_vec(), b"--postfix-dir".to_vec()], 1, format!("setup-relay: unknown option \"--postfix-dir\"; usage: {eu} (try 'setup-relay help')\n")),
        ("explain: --postfix-dir= empty", vec![b"explain".to_vec(), b"--postfix-dir=".to_vec(), b"u@a.test".to_vec()], 1, format!("setup-relay: unknown option \"--postfix-dir=\"; usage: {eu} (try 'setup-relay help')\n")),
        ("explain: --fix is doctor's", vec![b"explain".to_vec(), b"--fix".to_vec(), b"u@a.test".to_vec()], 1, format!("setup-relay: unknown option \"--fix\"; usage: {eu} (try 'setup-relay help')\n")),
        ("explain: missing PDIR", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), b(&missing), b"u@a.test".to_vec()], 1, format!("setup-relay: cannot read {}: No such file or directory (os error 2)\n", missing.join("main.cf").display())),
        ("explain: PDIR is a file", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), b(&file), b"u@a.test".to_vec()], 1, format!("setup-relay: cannot read {}: Not a directory (os error 20)\n", file.join("main.cf").display())),
        ("explain: main.cf is a directory", vec![b"explain".to_vec(), format!("--postfix-dir={}", dir_main.display()).into_bytes(), b"u@a.test".to_vec()], 1, format!("setup-relay: cannot read {}: Is a directory (os error 21)\n", dir_main.join("main.cf").display())),
        ("explain: PDIR with NUL", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), b"/tmp/a\0b".to_vec(), b"u@a.test".to_vec()], 1, "setup-relay: cannot read /tmp/a\0b/main.cf: file name contained an unexpected NUL byte\n".to_owned()),
        ("explain: non-UTF-8 PDIR", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), b(&nonutf8), b"u@a.test".to_vec()], 0, String::new()),
        ("explain: .. in PDIR", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), b(&p.path().join("dm/..")), b"u@a.test".to_vec()], 0, String::new()),
        ("explain: -- then a flag-like sender", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), pd.clone(), b"--".to_vec(), b"--json".to_vec()], 0, String::new()),
        ("explain: 10 MB sender", vec![b"explain".to_vec(), b"--postfix-dir".to_vec(), pd.clone(), [&vec![b'x'; 10 << 20][..], b"@a.test"].concat()], 0, String::new()),
        ("doctor: extra argument", vec![b"doctor".to_vec(), b"extra".to_vec()], 1, format!("setup-relay: usage: {du} (try 'setup-relay help')\n")),
        ("doctor: unknown flag", vec![b"doctor".to_vec(), b"--explain".to_vec()], 1, format!("setup-relay: unknown option \"--explain\"; usage: {du} (try 'setup-relay help')\n")),
        ("doctor: non-UTF-8 flag", vec![b"doctor".to_vec(), b"--\xff".to_vec()], 1, format!("setup-relay: unknown option \"--\u{fffd}\"; usage: {du} (try 'setup-relay help')\n")),
        ("doctor: --postfix-dir without value", vec![b"doctor".to_vec(), b"--postfix-dir".to_vec()], 1, format!("setup-relay: unknown option \"--postfix-dir\"; usage: {du} (try 'setup-relay help')\n")),
    ];
    let n = cases.len();
    for (name, args, code, stderr) in cases {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
        let r = run(cfg.path(), &a);
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (code, stderr.as_str()),
            "{name}"
        );
        if code != 0 {
            assert_eq!(r.stdout, "", "{name}");
        }
        assert!(!r.stdout.contains("Pw0rdXyz"), "{name}");
    }
    // doctor with a missing PDIR, a file as PDIR and main.cf a directory:
    // exit 1 with the reason (after a warning line if the process's relay
    // ENV is invalid).
    for (name, dir, why) in [
        (
            "missing PDIR",
            &missing,
            "No such file or directory (os error 2)",
        ),
        ("PDIR is a file", &file, "Not a directory (os error 20)"),
        (
            "main.cf is a directory",
            &dir_main,
            "Is a directory (os error 21)",
        ),
    ] {
        let r = run(cfg.path(), &[b"doctor", b"--postfix-dir", &b(dir)]);
        let want = format!(
            "setup-relay: cannot read {}: {why}\n",
            dir.join("main.cf").display()
        );
        assert_eq!((r.code, r.stdout.as_str()), (1, ""), "doctor {name}");
        assert!(r.stderr.ends_with(&want), "doctor {name}: {:?}", r.stderr);
    }
    // Nothing was written in the config dir by any of them.
    assert_eq!(fs::read_dir(cfg.path()).unwrap().count(), 0);
    eprintln!("arguments: {} cases", n + 3);
}
