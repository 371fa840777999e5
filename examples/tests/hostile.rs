//! Hostile input for the example commands' `run` functions
//! (`setup_relay::run`, `postmap_lite::run`, `postconf_lite::run`): every
//! hostile character in every argument, with the exact exit status and
//! message, files unchanged on refusal; and paths with `..`, symlinks
//! (followed, on purpose: see `symlinks_are_followed`), dangling links and
//! directories where files belong.

#[path = "support/in_process.rs"]
mod in_process;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use dms_relay::types::{Field, ValidationError as E};
use in_process::{postconf, postmap, setup_relay};
use postfix_maincf::MainCf;
use postfix_table::Table;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Control,
    Space,
    Hash,
    Punct,
    NonAscii,
    /// Not UTF-8 at all (a raw 0xff byte in argv).
    Bad,
}

const HOSTILE: [(&str, &[u8], Class); 16] = [
    ("LF", b"\n", Class::Control),
    ("CR", b"\r", Class::Control),
    ("TAB", b"\t", Class::Control),
    ("DEL", b"\x7f", Class::Control),
    ("ESC", b"\x1b", Class::Control),
    ("space", b" ", Class::Space),
    ("NBSP", "\u{a0}".as_bytes(), Class::Space),
    ("hash", b"#", Class::Hash),
    ("dollar", b"$", Class::Punct),
    ("star", b"*", Class::Punct),
    ("non-UTF-8 byte", b"\xff", Class::Bad),
    ("Cyrillic e", "\u{435}".as_bytes(), Class::NonAscii),
    ("fullwidth colon", "\u{ff1a}".as_bytes(), Class::NonAscii),
    ("RTL override", "\u{202e}".as_bytes(), Class::NonAscii),
    ("zero-width space", "\u{200b}".as_bytes(), Class::NonAscii),
    ("U+FFFD", "\u{fffd}".as_bytes(), Class::NonAscii),
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Every regular file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_file() {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// setup-relay's one-line message for a refused value.
fn refusal(label: &str, shown: Option<&[u8]>, err: &E) -> String {
    let msg = err.to_string();
    let field = err_field_word(err);
    let reason = msg
        .strip_prefix(field)
        .and_then(|r| r.strip_prefix(' '))
        .unwrap_or(&msg);
    match shown {
        Some(v) => format!(
            "setup-relay: invalid {label} {:?}: {reason}\n",
            String::from_utf8_lossy(v)
        ),
        None => format!("setup-relay: invalid {label}: {reason}\n"),
    }
}

fn err_field_word(err: &E) -> &'static str {
    match err {
        E::PortNotNumeric { .. } | E::PortLeadingZero | E::PortOutOfRange => "port",
        E::PasswordEdgeWhitespace | E::PasswordCommentLike { .. } => "password",
        E::ControlChar { field, .. }
        | E::Whitespace { field, .. }
        | E::NonAscii { field, .. }
        | E::InvalidChar { field, .. }
        | E::Empty { field }
        | E::TooLong { field, .. }
        | E::BadLabel { field, .. }
        | E::Numeric { field }
        | E::Brackets { field, .. }
        | E::BadAddress { field } => match field {
            Field::Domain => "domain",
            Field::Host => "relay host",
            Field::Port => "port",
            Field::User => "user",
            _ => "password",
        },
        _ => "",
    }
}

const ARGV_PASSWORD_WARNING: &str = "setup-relay: warning: a password on the command line is visible to other users (ps) and in shell history; omit it to be prompted, or pipe it on stdin\n";

/// (which argument, argv, expected stderr; `None` = accepted).
type ArgCase<'a> = (&'static str, Vec<&'a [u8]>, Option<String>);

#[test]
fn setup_relay_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    fs::create_dir(&cfg).unwrap();
    fs::write(cfg.join("postfix-relaymap.cf"), "# mine\n@b.test [x]:25\n").unwrap();
    fs::write(cfg.join("postfix-sasl-password.cf"), "@b.test u:secret\n").unwrap();
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        let ch = std::str::from_utf8(c).ok().and_then(|s| s.chars().next());
        let name_err = |field, at| match class {
            Class::Control => Some(E::ControlChar { field, at }),
            Class::Space => Some(E::Whitespace { field, at }),
            Class::NonAscii => Some(E::NonAscii { field, at }),
            Class::Hash | Class::Punct => Some(E::InvalidChar {
                field,
                at,
                ch: ch.unwrap(),
            }),
            Class::Bad => None,
        };
        let domain = cat(&[b"ex", c, b"ample.org"]);
        let host = cat(&[b"smtp", c, b".test"]);
        let port = cat(&[b"58", c, b"7"]);
        let user = cat(&[b"ap", c, b"ikey"]);
        let password = cat(&[b"s3", c, b"cret"]);
        let not_utf8 = |label: &str, v: &[u8]| {
            format!(
                "setup-relay: invalid {label} {:?}: not valid UTF-8\n",
                String::from_utf8_lossy(v)
            )
        };
        // (what, args, expected stderr; None = accepted)
        let cases: Vec<ArgCase<'_>> = vec![
            (
                "domain",
                vec![b"add-domain", &domain, b"h.test"],
                Some(match name_err(Field::Domain, 2) {
                    Some(e) => refusal("domain", Some(&domain), &e),
                    None => not_utf8("domain", &domain),
                }),
            ),
            (
                "host",
                vec![b"add-domain", b"a.test", &host],
                Some(match name_err(Field::Host, 4) {
                    Some(e) => refusal("relay host", Some(&host), &e),
                    None => not_utf8("relay host", &host),
                }),
            ),
            (
                "port",
                vec![b"add-domain", b"a.test", b"h.test", &port],
                Some(match class {
                    Class::Bad => not_utf8("port", &port),
                    _ => refusal("port", Some(&port), &E::PortNotNumeric { at: 2 }),
                }),
            ),
            (
                "user",
                vec![b"add-auth", b"a.test", &user, b"pw"],
                match class {
                    // `$` and `*` are fine in an account name.
                    Class::Punct => None,
                    // The user is checked before the password is looked at.
                    Class::Bad => Some(not_utf8("user", &user)),
                    _ => Some(refusal(
                        "user",
                        Some(&user),
                        &name_err(Field::User, 2).unwrap(),
                    )),
                },
            ),
            (
                "password",
                vec![b"add-auth", b"a.test", b"u", &password],
                match class {
                    Class::Control => Some(format!(
                        "{ARGV_PASSWORD_WARNING}{}",
                        refusal(
                            "password",
                            None,
                            &E::ControlChar {
                                field: Field::Password,
                                at: 2
                            }
                        )
                    )),
                    Class::Bad => Some(format!(
                        "{ARGV_PASSWORD_WARNING}setup-relay: invalid password: not valid UTF-8\n"
                    )),
                    // Anything printable is fine inside a password.
                    _ => None,
                },
            ),
        ];
        for (what, args, want) in cases {
            let before = snapshot(&cfg);
            let ran = setup_relay(&cfg, &args);
            match want {
                Some(msg) => {
                    assert_eq!(ran.code, 1, "{name} in {what}");
                    assert_eq!(ran.stderr, msg, "{name} in {what}");
                    assert_eq!(ran.stdout, "", "{name} in {what}");
                    assert_eq!(snapshot(&cfg), before, "{name} in {what}: files changed");
                }
                None => {
                    assert_eq!(ran.code, 0, "{name} in {what}: {}", ran.stderr);
                    // Written, and read back unchanged by postfix_table.
                    let t = Table::read(cfg.join("postfix-sasl-password.cf"), Default::default())
                        .unwrap();
                    let value = t.get_str("@a.test").unwrap().into_owned();
                    let want_value = if what == "user" {
                        format!("{}:pw", String::from_utf8_lossy(&user))
                    } else {
                        format!("u:{}", String::from_utf8_lossy(&password))
                    };
                    assert_eq!(value, want_value, "{name} in {what}");
                    assert_eq!(t.get_str("@b.test").as_deref(), Some("u:secret"));
                }
            }
            // No password ever shows.
            assert!(!ran.stderr.contains("cret"), "{name} in {what}");
            n += 1;
        }
    }
    assert!(n >= 50, "{n}");
}

#[test]
fn postmap_lite_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("map");
    fs::write(&file, "key value\nother x\n").unwrap();
    let spec = format!("texthash:{}", file.display());
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        // Queries: nothing hostile finds `key`; a non-UTF-8 key is refused
        // with Postfix's warning.
        let q = cat(&[b"k", c, b"ey"]);
        let ran = postmap(&[b"-q", &q, spec.as_bytes()]);
        assert_eq!((ran.code, ran.stdout.as_str()), (1, ""), "{name} query");
        let want_err = match class {
            Class::Bad => format!(
                "postmap-lite: warning: {spec}: non-UTF-8 key \"k?ey\": malformed UTF-8 or invalid codepoint\n"
            ),
            _ => String::new(),
        };
        assert_eq!(ran.stderr, want_err, "{name} query");
        n += 1;
        // Edits: the exact refusal, or the value read back.
        for (place, key, value) in [
            ("key", cat(&[b"k", c, b"ey"]), b"v".to_vec()),
            ("value", b"new".to_vec(), cat(&[b"v", c, b"x"])),
        ] {
            let before = fs::read(&file).unwrap();
            let path = file.as_os_str().as_bytes();
            let ran = postmap(&[b"--no-fsync", b"--set", &key, &value, path]);
            let what = if place == "key" { "key" } else { "value" };
            let refused = match (class, c) {
                (_, b"\n") => Some(format!(
                    "{what} contains LF at byte 1, which a table line cannot hold"
                )),
                (_, b"\r") => Some(format!(
                    "{what} contains CR at byte 1, which a table line cannot hold"
                )),
                (_, b"\t") | (Class::Space, b" ") if place == "key" => Some(
                    "key contains unquoted whitespace at byte 1; Postfix would end the key there"
                        .to_string(),
                ),
                (Class::Bad, _) => Some(format!(
                    "{what} is not valid UTF-8; Postfix ignores such lines while smtputf8_enable = yes"
                )),
                _ => None,
            };
            match refused {
                Some(msg) => {
                    assert_eq!(ran.code, 1, "{name} in {place}");
                    assert_eq!(
                        ran.stderr,
                        format!("postmap-lite: fatal: {msg}\n"),
                        "{name} in {place}"
                    );
                    assert_eq!(fs::read(&file).unwrap(), before, "{name} in {place}");
                }
                None => {
                    assert_eq!(
                        (ran.code, ran.stderr.as_str()),
                        (0, ""),
                        "{name} in {place}"
                    );
                    let t = Table::read(&file, Default::default()).unwrap();
                    assert_eq!(
                        t.get(&key).as_deref(),
                        Some(&value[..]),
                        "{name} in {place}"
                    );
                    assert_eq!(t.get_str("other").as_deref(), Some("x"));
                    fs::write(&file, "key value\nother x\n").unwrap();
                }
            }
            n += 1;
        }
    }
    // Paths.
    let dotdot = format!(
        "texthash:{}/../{}/map",
        tmp.path().display(),
        tmp.path().file_name().unwrap().to_string_lossy()
    );
    let ran = postmap(&[b"-q", b"key", dotdot.as_bytes()]);
    assert_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (0, "value\n", "")
    );
    let missing = format!("texthash:{}/nope", tmp.path().display());
    let ran = postmap(&[b"-q", b"key", missing.as_bytes()]);
    assert_eq!(
        (ran.code, ran.stderr),
        (
            1,
            format!(
                "postmap-lite: fatal: open database {}/nope: No such file or directory (os error 2)\n",
                tmp.path().display()
            )
        )
    );
    let dir = format!("texthash:{}", tmp.path().display());
    let ran = postmap(&[b"-q", b"key", dir.as_bytes()]);
    assert_eq!(
        (ran.code, ran.stderr),
        (
            1,
            format!(
                "postmap-lite: fatal: open database {}: Is a directory (os error 21)\n",
                tmp.path().display()
            )
        )
    );
    n += 3;
    assert!(n >= 50, "{n}");
}

#[test]
fn postconf_lite_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = dir.as_os_str().as_bytes();
    let main = dir.join("main.cf");
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        for (place, arg) in [
            ("name", cat(&[b"na", c, b"me = value"])),
            ("value", cat(&[b"name = va", c, b"lue"])),
        ] {
            fs::write(&main, "x = 1\n").unwrap();
            let ran = postconf(&[b"-c", d, b"-e", &arg]);
            let fatal = match (c, place) {
                (b"\n", _) => Some("-e, -X, or -# accepts no multi-line input".to_string()),
                (b"\r" | b"\t" | b" ", "name") => Some(format!(
                    "missing '=' after attribute name: \"{}\"",
                    String::from_utf8_lossy(&arg).replace(['\r', '\t'], "?")
                )),
                _ => None,
            };
            match fatal {
                Some(msg) => {
                    assert_eq!(ran.code, 1, "{name} in {place}");
                    assert_eq!(
                        ran.stderr,
                        format!("postconf-lite: fatal: {msg}\n"),
                        "{name} in {place}"
                    );
                    assert_eq!(fs::read(&main).unwrap(), b"x = 1\n", "{name} in {place}");
                }
                None => {
                    // postconf writes any value, as given.
                    assert_eq!(
                        (ran.code, ran.stderr.as_str()),
                        (0, ""),
                        "{name} in {place}"
                    );
                    let cf = MainCf::parse(&fs::read(&main).unwrap());
                    let (k, v) = if place == "name" {
                        (cat(&[b"na", c, b"me"]), b"value".to_vec())
                    } else {
                        (b"name".to_vec(), cat(&[b"va", c, b"lue"]))
                    };
                    assert_eq!(cf.get(&k).as_deref(), Some(&v[..]), "{name} in {place}");
                    assert_eq!(cf.get_str("x").as_deref(), Some("1"));
                    let _ = class;
                }
            }
            n += 1;
        }
    }
    // -X / -#: names are trimmed of space, TAB and CR, as postconf does.
    for (name, c, _) in HOSTILE {
        let ws = matches!(c, b"\r" | b"\t" | b" ");
        fs::write(&main, "x = 1\ny = 2\n").unwrap();
        let ran = postconf(&[b"-c", d, b"-X", &cat(&[b"x", c])]);
        let want: (u8, String, &str) = match c {
            b"\n" => (
                1,
                "postconf-lite: fatal: -e, -X, or -# accepts no multi-line input\n".into(),
                "x = 1\ny = 2\n",
            ),
            _ if ws => (0, String::new(), "y = 2\n"),
            _ => (0, String::new(), "x = 1\ny = 2\n"),
        };
        let got = (ran.code, ran.stderr, fs::read_to_string(&main).unwrap());
        assert_eq!((got.0, got.1, got.2.as_str()), want, "{name} in -X");
        fs::write(&main, "x = 1\n").unwrap();
        let ran = postconf(&[b"-c", d, b"-#", &cat(&[c, b"x"])]);
        let want: (u8, String, &str) = match c {
            b"\n" => (
                1,
                "postconf-lite: fatal: -e, -X, or -# accepts no multi-line input\n".into(),
                "x = 1\n",
            ),
            b"#" => (
                1,
                "postconf-lite: fatal: -e, -X, or -# accepts no comment input\n".into(),
                "x = 1\n",
            ),
            _ if ws => (0, String::new(), "#x = 1\n"),
            _ => (0, String::new(), "x = 1\n"),
        };
        let got = (ran.code, ran.stderr, fs::read_to_string(&main).unwrap());
        assert_eq!((got.0, got.1, got.2.as_str()), want, "{name} in -#");
        n += 2;
    }
    // A NUL cannot be in argv; the -c directory does not exist; `..`.
    let ran = postconf(&[b"-c", b"/nonexistent/dir", b"-e", b"a = b"]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.starts_with("postconf-lite: fatal: "),
        "{}",
        ran.stderr
    );
    let dotdot = format!(
        "{}/../{}",
        dir.display(),
        dir.file_name().unwrap().to_string_lossy()
    );
    fs::write(&main, "x = 1\n").unwrap();
    let ran = postconf(&[b"-c", dotdot.as_bytes(), b"-e", b"y = 2"]);
    assert_eq!((ran.code, ran.stderr.as_str()), (0, ""));
    assert_eq!(fs::read(&main).unwrap(), b"x = 1\ny = 2\n");
    n += 2;
    assert!(n >= 50, "{n}");
}

/// Symbolic links in the DMS config directory are followed, for reading and
/// for writing (the target is replaced atomically, the link stays): that
/// is what Kubernetes ConfigMap/Secret mounts and bind-mounted files need,
/// and it is no privilege boundary, because whoever can write the config
/// directory already controls root's actions (DMS runs its
/// `user-patches.sh` as root). A dangling link or a directory where a file
/// belongs is an error, and nothing is written.
#[test]
fn symlinks_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("cfg");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&cfg).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let shadow = outside.join("shadow");
    fs::write(&shadow, "root:$6$hash:19000:0:99999:7:::\n").unwrap();
    std::os::unix::fs::symlink(&shadow, cfg.join("postfix-sasl-password.cf")).unwrap();
    // Reading through the link: the target's lines are listed as they parse.
    let ran = setup_relay(&cfg, &[b"add-auth", b"a.test", b"u", b"pw"]);
    assert_eq!((ran.code, ran.stderr.as_str()), (0, ARGV_PASSWORD_WARNING));
    assert!(
        fs::symlink_metadata(cfg.join("postfix-sasl-password.cf"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(&shadow).unwrap(),
        "root:$6$hash:19000:0:99999:7:::\n@a.test u:pw\n"
    );
    // `..` in --config-dir is an ordinary path.
    let dotdot = tmp.path().join("outside/../cfg");
    let ran = setup_relay(&dotdot, &[b"add-domain", b"b.test", b"h.test"]);
    assert_eq!((ran.code, ran.stderr.as_str()), (0, ""));
    assert_eq!(
        fs::read_to_string(cfg.join("postfix-relaymap.cf")).unwrap(),
        "@b.test [h.test]:25\n"
    );
    // A dangling link: refused, nothing created at the link's target.
    let cfg2 = tmp.path().join("cfg2");
    fs::create_dir(&cfg2).unwrap();
    std::os::unix::fs::symlink(outside.join("missing"), cfg2.join("postfix-relaymap.cf")).unwrap();
    let ran = setup_relay(&cfg2, &[b"add-domain", b"b.test", b"h.test"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.starts_with("setup-relay: "), "{}", ran.stderr);
    assert!(!outside.join("missing").exists());
    // A directory where the relaymap belongs.
    let cfg3 = tmp.path().join("cfg3");
    fs::create_dir_all(cfg3.join("postfix-relaymap.cf")).unwrap();
    let ran = setup_relay(&cfg3, &[b"add-domain", b"b.test", b"h.test"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.starts_with("setup-relay: "), "{}", ran.stderr);
    // The config dir is a regular file.
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    let ran = setup_relay(&file, &[b"add-domain", b"b.test", b"h.test"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(fs::read(&file).unwrap(), b"x");
}
