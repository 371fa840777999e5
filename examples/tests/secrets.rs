//! No password in any output of the example binaries: `setup-relay` (every
//! command, argv and stdin passwords, `list`, `list --json`, `apply` with
//! `RELAY_PASSWORD` and `RELAY_PASSWORD__FILE`, refused input, failing
//! writes), `postmap-lite` and `postconf-lite` editing the credential
//! files. Canary passwords (spaces, `$`, `:`, `\`, `"`, non-ASCII) are
//! searched for in stdout and stderr as written, Debug-escaped,
//! `escape_default`-escaped, as hex, percent-encoding and a decimal byte
//! list, and by their distinctive core `7Q9x`. No run may panic.
//!
//! Exceptions, each asserted as such below so the list stays true:
//!
//! * explicitly asked for: `postmap-lite -q KEY` / `-q -` / `-s` print the
//!   values of the table they read, `--echo` prints the file, and
//!   `postconf-lite` (`-n`, `NAME`, `--raw`) prints the values of main.cf;
//! * postconf's own messages that repeat the caller's argument (already on
//!   its command line, so in `ps` and shell history), kept word for word:
//!   a malformed `-e` argument, `missing '=' after attribute name: "ARG"`
//!   and `missing attribute name: "ARG"`, and `ignoring earlier request:
//!   'NAME = VALUE'` (the same name twice in one command; a conformance
//!   vector made by postconf pins it). A well-formed `NAME = VALUE` that is
//!   refused (newline, NUL, comment) never repeats its value;
//! * not checked: postmap's warnings that quote a malformed line
//!   (non-UTF-8, unbalanced quote, leading whitespace), as postmap does.
//!   Duplicate entries and key-only lines, the common cases, are checked:
//!   their warnings name the key only.

#[path = "support/bins.rs"]
mod bins;

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const CORE: &str = "7Q9x";

/// Valid canary passwords.
const CANARIES: [&str; 5] = [
    "Kanari-7Q9x-zebra-PW",
    "Kanari 7Q9x zebra PW",
    "Kanari$7Q9x:zebra$PW",
    "Kanari-7Q9x-zébra-ПАРОЛЬ-🦓",
    "Kanari\\7Q9x\"zebra'PW",
];

fn forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let debug = format!("{secret:?}");
    vec![
        secret.to_string(),
        debug.trim_matches('"').to_string(),
        secret.escape_default().to_string(),
        hex.clone(),
        hex.to_uppercase(),
        bytes.iter().map(|b| format!("%{b:02X}")).collect(),
        bytes
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        CORE.to_string(),
        CORE.bytes().map(|b| format!("{b:02x}")).collect(),
    ]
}

#[track_caller]
fn assert_clean_text(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for c in CANARIES {
        for f in forms(c) {
            assert!(
                !text.contains(&f),
                "{what}: the password leaks (as {f:?}) in:\n{text}"
            );
        }
    }
    // Raw bytes too (output that is not UTF-8).
    assert!(
        !out.windows(CORE.len()).any(|w| w == CORE.as_bytes()),
        "{what}: {text}"
    );
    assert!(!text.contains("panicked"), "{what}: {text}");
}

#[track_caller]
fn assert_clean(what: &str, out: &Output) {
    assert_clean_text(&format!("{what} (stdout)"), &out.stdout);
    assert_clean_text(&format!("{what} (stderr)"), &out.stderr);
    assert!(out.status.code().is_some(), "{what}: killed by a signal");
}

fn run(mut c: Command, stdin: &[u8]) -> Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut pipe = child.stdin.take().unwrap();
    let _ = pipe.write_all(stdin);
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn os(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

struct Dirs {
    _tmp: tempfile::TempDir,
    cfg: std::path::PathBuf,
    pdir: std::path::PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    let pdir = tmp.path().join("pdir");
    fs::create_dir_all(&cfg).unwrap();
    fs::create_dir_all(&pdir).unwrap();
    fs::write(
        pdir.join("main.cf"),
        "relayhost =\nsmtp_tls_security_level = may\n",
    )
    .unwrap();
    fs::write(
        cfg.join("postfix-accounts.cf"),
        "user@example.org|{SHA512-CRYPT}$6$x\n",
    )
    .unwrap();
    Dirs {
        _tmp: tmp,
        cfg,
        pdir,
    }
}

fn relay(cfg: &Path, args: &[&[u8]]) -> Command {
    let mut c = bins::cmd("setup-relay");
    c.arg("--config-dir").arg(cfg);
    for a in args {
        c.arg(os(a));
    }
    c
}

// ------------------------------------------------------------------ setup-relay

#[test]
fn setup_relay_commands_never_print_the_password() {
    for c in CANARIES {
        let d = dirs();
        let cb = c.as_bytes();
        let ok = |what: &str, cmd: Command, stdin: &[u8]| {
            let out = run(cmd, stdin);
            assert_clean(what, &out);
            assert!(out.status.success(), "{what}: {out:?}");
        };
        let refused = |what: &str, cmd: Command, stdin: &[u8]| {
            let out = run(cmd, stdin);
            assert_clean(what, &out);
            assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
        };
        ok(
            "add-auth (argv)",
            relay(&d.cfg, &[b"add-auth", b"example.org", b"relayuser", cb]),
            b"",
        );
        let sasl = d.cfg.join("postfix-sasl-password.cf");
        assert!(fs::read_to_string(&sasl).unwrap().contains(c));
        ok(
            "add-auth again (unchanged)",
            relay(&d.cfg, &[b"add-auth", b"example.org", b"relayuser", cb]),
            b"",
        );
        ok(
            "add-auth (stdin)",
            relay(&d.cfg, &[b"add-auth", b"other.test", b"user2"]),
            format!("{c}-2\n").as_bytes(),
        );
        ok(
            "add-auth (stdin, '' as PW)",
            relay(&d.cfg, &[b"add-auth", b"third.test", b"user3", b""]),
            format!("{c}-3\r\n").as_bytes(),
        );
        ok(
            "add-domain",
            relay(&d.cfg, &[b"add-domain", b"example.org", b"smtp.relay.test"]),
            b"",
        );
        ok("list", relay(&d.cfg, &[b"list"]), b"");
        ok("list --json", relay(&d.cfg, &[b"list", b"--json"]), b"");
        // Refused passwords, in argv and on stdin (where only the first
        // line is read: the first case is then the valid canary).
        for (i, bad) in [
            [cb, b"\n[x]:25 attacker:creds"].concat(),
            [b" ", cb].concat(),
            [cb, b" "].concat(),
            [cb, b" #comment"].concat(),
            [cb, b"\x01"].concat(),
            [cb, b"\xff"].concat(),
            [cb, "x".repeat(1100).as_bytes()].concat(),
        ]
        .iter()
        .enumerate()
        {
            refused(
                "add-auth (bad argv)",
                relay(&d.cfg, &[b"add-auth", b"example.org", b"u", bad]),
                b"",
            );
            let cmd = relay(&d.cfg, &[b"add-auth", b"example.org", b"relayuser"]);
            let stdin = [&bad[..], b"\n"].concat();
            if i == 0 {
                ok("add-auth (stdin, two lines)", cmd, &stdin);
            } else {
                refused("add-auth (bad stdin)", cmd, &stdin);
            }
        }
        // Other arguments refused next to a good password.
        refused(
            "add-auth (bad domain)",
            relay(&d.cfg, &[b"add-auth", b"bad domain", b"u", cb]),
            b"",
        );
        refused(
            "add-auth (bad user)",
            relay(&d.cfg, &[b"add-auth", b"example.org", b"us:er", cb]),
            b"",
        );
        refused(
            "add-auth (extra argument)",
            relay(&d.cfg, &[b"add-auth", b"example.org", b"u", cb, b"extra"]),
            b"",
        );
        // A write that fails: the config file is a directory.
        let broken = tempfile::tempdir().unwrap();
        fs::create_dir(broken.path().join("postfix-sasl-password.cf")).unwrap();
        refused(
            "add-auth (unwritable)",
            relay(broken.path(), &[b"add-auth", b"example.org", b"u", cb]),
            b"",
        );
        refused("list (unreadable)", relay(broken.path(), &[b"list"]), b"");
        ok(
            "del-auth",
            relay(&d.cfg, &[b"del-auth", b"third.test"]),
            b"",
        );
        ok(
            "del-auth (nothing)",
            relay(&d.cfg, &[b"del-auth", b"third.test"]),
            b"",
        );
        // The file still holds the others, 0600.
        let text = fs::read_to_string(&sasl).unwrap();
        assert!(text.contains(c) && text.contains(&format!("{c}-2")));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&sasl).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

fn apply(d: &Dirs, env: &[(&str, OsString)]) -> Output {
    let mut c = relay(&d.cfg, &[b"apply", b"--postfix-dir"]);
    c.arg(&d.pdir);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c, b"")
}

#[test]
fn setup_relay_apply_never_prints_the_password() {
    for c in CANARIES {
        let d = dirs();
        let pwfile = d.cfg.parent().unwrap().join("relay-pw");
        fs::write(&pwfile, format!("{c}\n")).unwrap();
        let base = || {
            vec![
                ("RELAY_HOST", OsString::from("smtp.relay.test")),
                ("RELAY_USER", OsString::from("envuser")),
            ]
        };
        // RELAY_PASSWORD, RELAY_PASSWORD__FILE, both (a note).
        for extra in [
            vec![("RELAY_PASSWORD", OsString::from(c))],
            vec![("RELAY_PASSWORD__FILE", pwfile.clone().into_os_string())],
            vec![
                ("RELAY_PASSWORD", OsString::from(format!("{c}-env"))),
                ("RELAY_PASSWORD__FILE", pwfile.clone().into_os_string()),
            ],
        ] {
            let mut env = base();
            env.extend(extra);
            let out = apply(&d, &env);
            assert_clean("apply", &out);
            assert!(out.status.success(), "{out:?}");
            let written = fs::read_to_string(d.pdir.join("sasl_passwd")).unwrap();
            assert!(written.contains(c), "sasl_passwd holds it");
        }
        // Refused passwords: invalid, not UTF-8, unreadable file.
        for bad in [
            os(&[c.as_bytes(), b"\n@victim.test attacker:x"].concat()),
            os(&[b" ", c.as_bytes()].concat()),
            os(&[c.as_bytes(), b" #x"].concat()),
            os(&[c.as_bytes(), b"\xff"].concat()),
        ] {
            let mut env = base();
            env.push(("RELAY_PASSWORD", bad));
            let out = apply(&d, &env);
            assert_clean("apply (bad RELAY_PASSWORD)", &out);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
        }
        let bad_file = d.cfg.parent().unwrap().join("bad-pw");
        fs::write(&bad_file, [c.as_bytes(), b"\xff\n"].concat()).unwrap();
        for file in [bad_file.clone(), d.cfg.parent().unwrap().to_path_buf()] {
            let mut env = base();
            env.push(("RELAY_PASSWORD__FILE", file.into_os_string()));
            let out = apply(&d, &env);
            assert_clean("apply (bad RELAY_PASSWORD__FILE)", &out);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
        }
        // Warnings about a messy postfix-sasl-password.cf.
        fs::write(
            d.cfg.join("postfix-sasl-password.cf"),
            format!(
                "@example.org user:{c}\n@EXAMPLE.ORG user:{c}-dup\n  @indented.test u:{c}\n@novalue.test\n@x.test u:{c} # inline\n[smtp.relay.test]:25 u:{c}\n"
            ),
        )
        .unwrap();
        fs::write(
            d.cfg.join("postfix-relaymap.cf"),
            "@example.org [smtp.relay.test]:587\n@EXAMPLE.org [dup.test]\n  @indented.test [x]\nnokey [y]\n",
        )
        .unwrap();
        let mut env = base();
        env.push(("RELAY_PASSWORD", OsString::from(c)));
        env.push(("DEFAULT_RELAY_HOST", OsString::from("[default.test]:587")));
        let out = apply(&d, &env);
        assert_clean("apply (warnings)", &out);
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{out:?}"
        );
        // The Postfix directory cannot take sasl_passwd.
        fs::remove_file(d.pdir.join("sasl_passwd")).unwrap();
        fs::create_dir(d.pdir.join("sasl_passwd")).unwrap();
        let out = apply(&d, &env);
        assert_clean("apply (unwritable sasl_passwd)", &out);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
}

// ------------------------------------------------------------------ postmap-lite

fn postmap(args: &[&[u8]], file: &Path) -> Output {
    let mut c = bins::cmd("postmap-lite");
    for a in args {
        c.arg(os(a));
    }
    c.arg(file);
    run(c, b"")
}

#[test]
fn postmap_lite_on_credentials_prints_them_only_when_asked() {
    for c in CANARIES {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("sasl_passwd");
        fs::write(&file, "# credentials\n").unwrap();
        let value = format!("relayuser:{c}");
        let out = postmap(&[b"--set", b"@example.org", value.as_bytes()], &file);
        assert_clean("postmap-lite --set", &out);
        assert!(out.status.success());
        let out = postmap(
            &[b"--no-fsync", b"--set", b"@b.test", value.as_bytes()],
            &file,
        );
        assert_clean("postmap-lite --no-fsync --set", &out);
        for bad in [
            format!("relayuser:{c}\nx"),
            format!("relayuser:{c}\r"),
            format!(" relayuser:{c}"),
            format!("relayuser:{c} "),
        ] {
            let out = postmap(&[b"--set", b"@example.org", bad.as_bytes()], &file);
            assert_clean("postmap-lite --set (refused)", &out);
            assert_eq!(out.status.code(), Some(1));
        }
        let out = postmap(
            &[
                b"--set",
                b"@example.org",
                &[value.as_bytes(), b"\xff"].concat(),
            ],
            &file,
        );
        assert_clean("postmap-lite --set (not UTF-8)", &out);
        assert_eq!(out.status.code(), Some(1));
        let missing = tmp.path().join("missing");
        let out = postmap(&[b"--set", b"@example.org", value.as_bytes()], &missing);
        assert_clean("postmap-lite --set (missing file)", &out);
        // Duplicates and key-only lines: the warnings name the key only.
        let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
        writeln!(f, "@Example.ORG relayuser:{c}-dup\n@keyonly.test").unwrap();
        drop(f);
        let spec = [b"texthash:", file.as_os_str().as_bytes()].concat();
        let hash = [b"hash:", file.as_os_str().as_bytes()].concat();
        for map in [&spec, &hash] {
            let mut cmd = bins::cmd("postmap-lite");
            cmd.args([os(b"-q"), os(b"@nothing.test"), os(map)]);
            let out = run(cmd, b"");
            assert_clean("postmap-lite -q (not found, warnings)", &out);
            assert!(!out.stderr.is_empty(), "warnings expected");
        }
        let out = postmap(&[b"--opt-out", b"@b.test"], &file);
        assert_clean("postmap-lite --opt-out", &out);
        let out = postmap(&[b"--delete", b"@b.test"], &file);
        assert_clean("postmap-lite --delete", &out);
        // Asked for: the value on stdout, nothing on stderr but warnings.
        let mut cmd = bins::cmd("postmap-lite");
        cmd.args([os(b"-w"), os(b"-q"), os(b"@example.org"), os(&spec)]);
        let out = run(cmd, b"");
        assert_eq!(out.stdout, format!("{value}\n").as_bytes());
        let mut cmd = bins::cmd("postmap-lite");
        cmd.args([os(b"-w"), os(b"-s"), os(&spec)]);
        assert!(String::from_utf8_lossy(&run(cmd, b"").stdout).contains(c));
        let out = postmap(&[b"--echo"], &file);
        assert_eq!(out.stdout, fs::read(&file).unwrap());
    }
}

// ------------------------------------------------------------------ postconf-lite

fn postconf(dir: &Path, args: &[&[u8]]) -> Output {
    let mut c = bins::cmd("postconf-lite");
    c.arg("-c").arg(dir);
    for a in args {
        c.arg(os(a));
    }
    run(c, b"")
}

#[test]
fn postconf_lite_prints_main_cf_secrets_only_when_asked() {
    for c in CANARIES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("main.cf"), "relayhost =\n").unwrap();
        let set = format!("smtp_sasl_password_maps = static:relayuser:{c}");
        let out = postconf(dir, &[b"-e", set.as_bytes()]);
        assert_clean("postconf-lite -e", &out);
        assert!(out.status.success(), "{out:?}");
        for bad in [format!("{set}\nrelayhost = x"), format!("# {set}")] {
            let out = postconf(dir, &[b"-e", bad.as_bytes()]);
            assert_clean("postconf-lite -e (refused)", &out);
            assert_eq!(out.status.code(), Some(1), "{out:?}");
        }
        let out = postconf(dir, &[b"-X", b"relayhost"]);
        assert_clean("postconf-lite -X", &out);
        // Asked for.
        let out = postconf(dir, &[b"-h", b"smtp_sasl_password_maps"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains(c));
        // postconf's own wording repeats these arguments (see the module
        // docs); pinned so that the exception list stays accurate.
        let no_eq = format!("smtp_sasl_password_maps static:relayuser:{c}");
        let out = postconf(dir, &[b"-e", no_eq.as_bytes()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("missing '=' after attribute name"));
        let no_name = format!("= static:relayuser:{c}");
        let out = postconf(dir, &[b"-e", no_name.as_bytes()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("missing attribute name"));
        let twice = format!("{set}-other");
        let out = postconf(dir, &[b"-e", set.as_bytes(), twice.as_bytes()]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring earlier request"));
        let out = postconf(dir, &[b"-X", b"smtp_sasl_password_maps"]);
        assert_clean("postconf-lite -X", &out);
    }
}
