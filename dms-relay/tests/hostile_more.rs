//! Hostile inputs for the entry points `hostile.rs` does not cover: the
//! table documents (`RelayMap`, `SaslPasswords`, `Documents::listing`) over
//! hostile file bytes, `fsutil::recover` over hostile pending files, and
//! `RelayConfig::explain` over hostile senders and main.cf values. Each case
//! states its exact outcome; none may panic; sizes are checked for linear
//! time.

#[path = "../../postfix-table/tests/common/linear.rs"]
mod linear;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::time::{Duration, Instant};

use dms_relay::explain::{NextHopSource, RelayConfig, Sasl};
use dms_relay::fsutil::{PENDING_SUFFIX, recover};
use dms_relay::store::{Documents, RelayMap, SaslPasswords};
use dms_relay::types::SenderDomain;

/// Hostile insertions: (name, bytes, class).
#[derive(Clone, Copy, PartialEq, Debug)]
enum K {
    /// Postfix's table reader treats it as blank space.
    Space,
    /// Ends the logical line there.
    Nul,
    /// Ends the physical line.
    Lf,
    /// Makes the line non-UTF-8 (ignored while smtputf8_enable = yes).
    NonUtf8,
    /// Any other byte(s): part of the word.
    Other,
}

const INSERTS: &[(&str, &[u8], K)] = &[
    ("CR", b"\r", K::Space),
    ("TAB", b"\t", K::Space),
    ("VT", b"\x0b", K::Space),
    ("FF", b"\x0c", K::Space),
    ("space", b" ", K::Space),
    ("NUL", b"\0", K::Nul),
    ("LF", b"\n", K::Lf),
    ("0xFF", b"\xff", K::NonUtf8),
    ("lone continuation byte", b"\x80", K::NonUtf8),
    ("overlong NUL", b"\xc0\x80", K::NonUtf8),
    ("hash", b"#", K::Other),
    ("at", b"@", K::Other),
    ("colon", b":", K::Other),
    ("quote", b"\"", K::Other),
    ("Cyrillic a", "\u{430}".as_bytes(), K::Other),
    ("zero-width space", "\u{200b}".as_bytes(), K::Other),
    ("RTL override", "\u{202e}".as_bytes(), K::Other),
    ("U+FFFD", "\u{fffd}".as_bytes(), K::Other),
    ("ESC", b"\x1b", K::Other),
];

#[derive(Clone, Copy, PartialEq, Debug)]
enum Pos {
    Start,
    Key,
    Value,
    End,
}

/// `@a.test ` + value with `ins` at `pos` (key: after `@a.t`; value: after
/// its first `split` bytes; end: before the newline).
fn line_with(value: &str, split: usize, ins: &[u8], pos: Pos) -> Vec<u8> {
    let (k1, k2) = ("@a.t", "est ");
    let (v1, v2) = value.split_at(split);
    let mut out = Vec::new();
    let parts: [&[u8]; 6] = [
        if pos == Pos::Start { ins } else { b"" },
        k1.as_bytes(),
        if pos == Pos::Key { ins } else { b"" },
        k2.as_bytes(),
        v1.as_bytes(),
        if pos == Pos::Value { ins } else { b"" },
    ];
    for p in parts {
        out.extend_from_slice(p);
    }
    out.extend_from_slice(v2.as_bytes());
    if pos == Pos::End {
        out.extend_from_slice(ins);
    }
    out.push(b'\n');
    out
}

/// What Postfix finds for `@a.test` in that line (spec of Postfix's
/// texthash reader: leading blank → ignored line; a NUL ends the logical
/// line; an LF ends the physical one; a non-UTF-8 line is ignored; trailing
/// blanks are trimmed; a word ends at a blank).
fn expected_value(value: &str, split: usize, ins: &[u8], k: K, pos: Pos) -> Option<String> {
    let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    match (k, pos) {
        (K::NonUtf8, _) => None,
        (K::Lf, Pos::Start) => Some(value.to_owned()),
        (K::Space | K::Nul | K::Other, Pos::Start) => None,
        (_, Pos::Key) => None,
        (K::Nul | K::Lf, Pos::Value) => Some(value[..split].to_owned()),
        (K::Space | K::Other, Pos::Value) => {
            Some(format!("{}{}{}", &value[..split], s(ins), &value[split..]))
        }
        (K::Space | K::Nul | K::Lf, Pos::End) => Some(value.to_owned()),
        (K::Other, Pos::End) => Some(format!("{value}{}", s(ins))),
    }
}

fn a_test() -> SenderDomain {
    "a.test".parse().unwrap()
}

#[test]
fn hostile_relaymap_bytes() {
    let value = "[r.test]:587";
    let mut n = 0;
    for &(name, ins, k) in INSERTS {
        for pos in [Pos::Start, Pos::Key, Pos::Value, Pos::End] {
            let bytes = line_with(value, 5, ins, pos);
            let want = expected_value(value, 5, ins, k, pos);
            let mut m = RelayMap::parse(&bytes);
            assert_eq!(m.relay(&a_test()), want, "{name} at {pos:?}");
            assert!(!m.is_excluded(&a_test()), "{name} at {pos:?}");
            assert_eq!(m.to_bytes(), bytes, "{name} at {pos:?}: lossless");
            let diags = m.table().diagnostics().len();
            // A diagnostic for each line Postfix ignores or cuts.
            let warned = matches!(
                (k, pos),
                (K::NonUtf8, _) | (K::Nul, _) | (K::Space, Pos::Start)
            ) || (k == K::Lf && matches!(pos, Pos::Key | Pos::Value))
                // An unbalanced quote in the key: Postfix ignores the line.
                || (ins == b"\"" && matches!(pos, Pos::Start | Pos::Key));
            assert_eq!(diags > 0, warned, "{name} at {pos:?}: {diags} diagnostics");
            let mut docs = Documents::from_parts(m, SaslPasswords::new());
            let l = docs.listing(false);
            assert_eq!(
                l.relays
                    .iter()
                    .find(|e| e.key.to_string() == "@a.test")
                    .map(|e| e.line),
                want.as_ref()
                    .map(|_| 1 + usize::from(k == K::Lf && pos == Pos::Start)),
                "{name} at {pos:?}: listing"
            );
            n += 1;
        }
    }
    n += relaymap_specials();
    eprintln!("relaymap: {n} cases");
    assert!(n >= 50, "{n}");
}

/// (name, file, relay for @a.test, excluded, diagnostics).
fn relaymap_specials() -> usize {
    let big = format!("@a.test [{}.test]:25\n", "r".repeat(10 << 20));
    let mut cont = b"@a.test [r.test]:587\n".to_vec();
    for _ in 0..100_000 {
        cont.extend_from_slice(b" x\n");
    }
    let cont_value = format!("[r.test]:587{}", " x".repeat(100_000));
    let big_value = big[8..big.len() - 1].to_owned();
    type Special<'a> = (&'a str, Vec<u8>, Option<&'a str>, bool, usize);
    let cases: Vec<Special<'_>> = vec![
        (
            "CRLF file",
            b"@a.test [r.test]:587\r\n".to_vec(),
            Some(value()),
            false,
            0,
        ),
        (
            "no final newline",
            b"@a.test [r.test]:587".to_vec(),
            Some(value()),
            false,
            0,
        ),
        (
            "duplicate key: first wins, texthash warning",
            b"@a.test [r.test]:587\n@A.TEST [x.test]:25\n".to_vec(),
            Some(value()),
            false,
            1,
        ),
        (
            "key-only line: opt-out",
            b"@a.test\n".to_vec(),
            None,
            true,
            1,
        ),
        (
            "key-only then entry",
            b"@a.test\n@a.test [r.test]:587\n".to_vec(),
            Some(value()),
            false,
            1,
        ),
        (
            "confusable key (Cyrillic a)",
            "@\u{430}.test [r.test]:587\n".as_bytes().to_vec(),
            None,
            false,
            0,
        ),
        (
            "comment",
            b"#@a.test [r.test]:587\n".to_vec(),
            None,
            false,
            0,
        ),
        (
            "inline # is part of the value",
            b"@a.test [r.test]:587 # x\n".to_vec(),
            Some("[r.test]:587 # x"),
            false,
            0,
        ),
        (
            "port 0 as written",
            b"@a.test [r.test]:0\n".to_vec(),
            Some("[r.test]:0"),
            false,
            0,
        ),
        (
            "port 65536 as written",
            b"@a.test [r.test]:65536\n".to_vec(),
            Some("[r.test]:65536"),
            false,
            0,
        ),
        (
            "port 25abc as written",
            b"@a.test [r.test]:25abc\n".to_vec(),
            Some("[r.test]:25abc"),
            false,
            0,
        ),
        (
            "only NULs: NUL and key-only warnings",
            vec![0; 4096],
            None,
            false,
            2,
        ),
        ("only CRs", vec![b'\r'; 4096], None, false, 0),
        ("10 MB line", big.into_bytes(), Some(&big_value), false, 0),
        ("100k continuation lines", cont, Some(&cont_value), false, 0),
    ];
    let n = cases.len();
    for (name, bytes, want, excluded, diags) in cases {
        let t = Instant::now();
        let mut m = RelayMap::from_vec(bytes.clone());
        assert_eq!(m.relay(&a_test()).as_deref(), want, "{name}");
        assert_eq!(m.is_excluded(&a_test()), excluded, "{name}");
        assert_eq!(m.table().diagnostics().len(), diags, "{name}");
        assert_eq!(m.to_bytes(), bytes, "{name}: lossless");
        let mut docs = Documents::from_parts(m, SaslPasswords::new());
        let l = docs.listing(false);
        let ours = l.relays.iter().filter(|e| e.key.to_string() == "@a.test");
        assert_eq!(ours.count(), usize::from(want.is_some()), "{name}");
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{name}: {:?}",
            t.elapsed()
        );
    }
    n
}

fn value() -> &'static str {
    "[r.test]:587"
}

#[test]
fn hostile_sasl_bytes() {
    // user:password; the password must not show in Debug or in a listing
    // without passwords.
    let value = "user:Pw0rdXyz";
    let mut n = 0;
    for &(name, ins, k) in INSERTS {
        for pos in [Pos::Start, Pos::Key, Pos::Value, Pos::End] {
            let bytes = line_with(value, 7, ins, pos);
            let want = expected_value(value, 7, ins, k, pos).map(|v| {
                let (u, p) = v.split_once(':').unwrap();
                (u.to_owned(), p.to_owned())
            });
            let s = SaslPasswords::parse(&bytes);
            let got = s
                .credentials(&a_test())
                .map(|(u, p)| (u, p.expose().to_owned()));
            assert_eq!(got, want, "{name} at {pos:?}");
            assert!(!format!("{s:?}").contains("Pw0rd"), "{name}: Debug");
            assert_eq!(s.to_bytes(), bytes, "{name} at {pos:?}: lossless");
            let mut docs = Documents::from_parts(RelayMap::new(), s);
            let l = docs.listing(false);
            assert!(!format!("{l:?}").contains("Pw0rd"), "{name}: listing");
            assert!(!format!("{docs:?}").contains("Pw0rd"), "{name}: Documents");
            let user = l
                .credentials
                .iter()
                .find(|c| c.key.to_string() == "@a.test")
                .map(|c| c.user.clone());
            assert_eq!(user, want.map(|w| w.0), "{name} at {pos:?}: listing");
            n += 1;
        }
    }
    // Specials: no colon, empty password, colon in password, 10 MB password.
    let big = "p".repeat(10 << 20);
    type Special<'a> = (&'a str, Vec<u8>, Option<(&'a str, &'a str)>);
    let specials: Vec<Special<'_>> = vec![
        ("no colon", b"@a.test user\n".to_vec(), Some(("user", ""))),
        (
            "empty password",
            b"@a.test user:\n".to_vec(),
            Some(("user", "")),
        ),
        (
            "colon in password",
            b"@a.test u:p:q\n".to_vec(),
            Some(("u", "p:q")),
        ),
        ("empty user", b"@a.test :p\n".to_vec(), Some(("", "p"))),
        ("CRLF", b"@a.test u:p\r\n".to_vec(), Some(("u", "p"))),
        ("key only", b"@a.test\n".to_vec(), None),
        (
            "10 MB password",
            format!("@a.test u:{big}\n").into_bytes(),
            Some(("u", &big)),
        ),
    ];
    for (name, bytes, want) in specials {
        let s = SaslPasswords::from_vec(bytes.clone());
        let got = s
            .credentials(&a_test())
            .map(|(u, p)| (u, p.expose().to_owned()));
        assert_eq!(
            got,
            want.map(|(u, p)| (u.to_owned(), p.to_owned())),
            "{name}"
        );
        assert_eq!(s.to_bytes(), bytes, "{name}");
        n += 1;
    }
    eprintln!("sasl: {n} cases");
    assert!(n >= 50, "{n}");
}

// ------------------------------------------------------------------ recover

#[derive(Clone, Copy, PartialEq, Debug)]
enum Pending {
    /// A regular pending file, the target present.
    OverTarget,
    /// A regular pending file, no target.
    NoTarget,
    /// A directory in place of the pending file.
    Dir,
    /// A dangling symlink.
    Dangling,
    /// A symlink to a file outside (must not be copied into the target).
    ToOutside,
}

fn pending_name(stem: &[u8]) -> std::ffi::OsString {
    let mut v = b".".to_vec();
    v.extend_from_slice(stem);
    v.extend_from_slice(PENDING_SUFFIX.as_bytes());
    std::ffi::OsStr::from_bytes(&v).to_owned()
}

#[test]
fn hostile_pending_files() {
    let long = vec![b'x'; 200];
    let stems: &[(&str, &[u8])] = &[
        ("plain", b"a"),
        ("the credentials file", b"postfix-sasl-password.cf"),
        ("non-UTF-8", b"r\xffm"),
        ("LF", b"new\nline"),
        ("CR", b"cr\r"),
        ("space", b"with space"),
        ("Cyrillic", "\u{430}.cf".as_bytes()),
        ("dash", b"-rf"),
        ("200 bytes", &long),
        ("dots inside", b"a..b"),
    ];
    let mut n = 0;
    for &(sname, stem) in stems {
        for kind in [
            Pending::OverTarget,
            Pending::NoTarget,
            Pending::Dir,
            Pending::Dangling,
            Pending::ToOutside,
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("cfg");
            fs::create_dir(&dir).unwrap();
            let outside = tmp.path().join("outside");
            fs::write(&outside, b"SECRET outside\n").unwrap();
            let target = dir.join(std::ffi::OsStr::from_bytes(stem));
            let pending = dir.join(pending_name(stem));
            if kind != Pending::NoTarget {
                fs::write(&target, b"old\n").unwrap();
            }
            match kind {
                Pending::OverTarget | Pending::NoTarget => fs::write(&pending, b"new\n").unwrap(),
                Pending::Dir => fs::create_dir(&pending).unwrap(),
                Pending::Dangling => symlink(tmp.path().join("nowhere"), &pending).unwrap(),
                Pending::ToOutside => symlink(&outside, &pending).unwrap(),
            }
            let got = recover(&dir);
            let case = format!("{sname} / {kind:?}");
            match kind {
                Pending::OverTarget | Pending::NoTarget => {
                    assert_eq!(got.unwrap(), vec![target.clone()], "{case}");
                    assert_eq!(fs::read(&target).unwrap(), b"new\n", "{case}");
                    assert!(fs::symlink_metadata(&pending).is_err(), "{case}");
                    // Nothing else appears (no lossy-named twin).
                    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "{case}");
                }
                _ => {
                    let e = got.unwrap_err();
                    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{case}: {e}");
                    assert!(e.to_string().contains("not a regular file"), "{case}: {e}");
                    assert_eq!(fs::read(&target).unwrap(), b"old\n", "{case}");
                    assert!(fs::symlink_metadata(&pending).is_ok(), "{case}: kept");
                }
            }
            assert_eq!(fs::read(&outside).unwrap(), b"SECRET outside\n", "{case}");
            n += 1;
        }
    }
    n += recover_specials();
    eprintln!("recover: {n} cases");
    assert!(n >= 50, "{n}");
}

/// Names that are not pending files of a target, and odd targets.
fn recover_specials() -> usize {
    let mut n = 0;
    // Ignored names: (file name, kept afterwards).
    let dead_tmp = format!(".x.dms-relay-{}-1.tmp", u32::MAX);
    let own_tmp = format!(".x.dms-relay-{}-1.tmp", std::process::id());
    let ignored: Vec<(&str, Vec<u8>, bool)> = vec![
        ("suffix alone", PENDING_SUFFIX.as_bytes().to_vec(), true),
        ("dot + suffix", pending_name(b"").as_bytes().to_vec(), true),
        ("stem .", pending_name(b".").as_bytes().to_vec(), true),
        ("stem ..", pending_name(b"..").as_bytes().to_vec(), true),
        ("no leading dot", b"a.dms-relay-pending".to_vec(), true),
        (
            "suffix not at end",
            b".a.dms-relay-pending.bak".to_vec(),
            true,
        ),
        ("upper-case suffix", b".a.DMS-RELAY-PENDING".to_vec(), true),
        ("temp of a dead pid", dead_tmp.into_bytes(), false),
        ("temp of this pid", own_tmp.into_bytes(), true),
        (
            "temp with a non-numeric pid",
            b".x.dms-relay-abc-1.tmp".to_vec(),
            true,
        ),
        (
            "temp with a non-numeric n",
            b".x.dms-relay-1-x.tmp".to_vec(),
            true,
        ),
        ("non-UTF-8 garbage", b"\xff\xfe.tmp".to_vec(), true),
    ];
    for (name, file, kept) in ignored {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(std::ffi::OsStr::from_bytes(&file));
        fs::write(&p, b"x").unwrap();
        let before: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(
            recover(tmp.path()).unwrap(),
            Vec::<std::path::PathBuf>::new(),
            "{name}"
        );
        assert_eq!(p.exists(), kept, "{name}");
        assert_eq!(before.len(), 1, "{name}");
        // Parent directory untouched.
        assert!(tmp.path().parent().unwrap().is_dir(), "{name}");
        n += 1;
    }
    // A target that is a directory: a typed error, the pending file kept.
    {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("a")).unwrap();
        fs::write(tmp.path().join(pending_name(b"a")), b"new\n").unwrap();
        let e = recover(tmp.path()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::IsADirectory, "{e}");
        assert!(tmp.path().join(pending_name(b"a")).is_file());
        n += 1;
    }
    // A dangling symlink as target: replaced by the pending file, its
    // destination not created.
    {
        let tmp = tempfile::tempdir().unwrap();
        let nowhere = tmp.path().join("nowhere");
        symlink(&nowhere, tmp.path().join("a")).unwrap();
        fs::write(tmp.path().join(pending_name(b"a")), b"new\n").unwrap();
        assert_eq!(recover(tmp.path()).unwrap(), vec![tmp.path().join("a")]);
        assert!(
            fs::symlink_metadata(tmp.path().join("a"))
                .unwrap()
                .is_file()
        );
        assert!(!nowhere.exists());
        n += 1;
    }
    // A symlinked target: overwritten in place through the link, as the
    // in-place protocol it completes writes (the link is kept).
    {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::write(&real, b"old\n").unwrap();
        let cfg = tmp.path().join("cfg");
        fs::create_dir(&cfg).unwrap();
        symlink(&real, cfg.join("a")).unwrap();
        fs::write(cfg.join(pending_name(b"a")), b"new\n").unwrap();
        assert_eq!(recover(&cfg).unwrap(), vec![cfg.join("a")]);
        assert!(fs::symlink_metadata(cfg.join("a")).unwrap().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new\n");
        n += 1;
    }
    // Missing directory: nothing to do.
    {
        let tmp = tempfile::tempdir().unwrap();
        assert!(recover(&tmp.path().join("missing")).unwrap().is_empty());
        n += 1;
    }
    // A file in place of the directory: a typed error.
    {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        fs::write(&f, b"x").unwrap();
        assert_eq!(
            recover(&f).unwrap_err().kind(),
            std::io::ErrorKind::NotADirectory
        );
        n += 1;
    }
    // `..` in the directory path: resolved by the OS, works as usual.
    {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("sub")).unwrap();
        fs::write(tmp.path().join("a"), b"old\n").unwrap();
        fs::write(tmp.path().join(pending_name(b"a")), b"new\n").unwrap();
        let dir = tmp.path().join("sub/..");
        assert_eq!(recover(&dir).unwrap(), vec![dir.join("a")]);
        assert_eq!(fs::read(tmp.path().join("a")).unwrap(), b"new\n");
        n += 1;
    }
    // A 10 MB pending file over a longer target: cut to length.
    {
        let tmp = tempfile::tempdir().unwrap();
        let big = vec![b'y'; 10 << 20];
        fs::write(tmp.path().join("a"), vec![b'z'; (10 << 20) + 5]).unwrap();
        fs::write(tmp.path().join(pending_name(b"a")), &big).unwrap();
        recover(tmp.path()).unwrap();
        assert_eq!(fs::read(tmp.path().join("a")).unwrap(), big);
        n += 1;
    }
    n
}

/// `pending_path` and `recover` agree on non-UTF-8 names (regression: the
/// name went through `to_string_lossy`, so recovery wrote U+FFFD-named
/// files and left the real target stale).
#[test]
fn pending_path_round_trips_non_utf8_names() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join(std::ffi::OsStr::from_bytes(b"t\xff"));
    fs::write(&target, b"old\n").unwrap();
    let pending = dms_relay::fsutil::pending_path(&target);
    assert_eq!(pending.file_name().unwrap(), pending_name(b"t\xff"));
    fs::write(&pending, b"new\n").unwrap();
    assert_eq!(recover(tmp.path()).unwrap(), vec![target.clone()]);
    assert_eq!(fs::read(&target).unwrap(), b"new\n");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

// ------------------------------------------------------------------ explain

const BASE: &str = "compatibility_level = 3.6\nmyorigin = origin.test\nmydestination = localhost\n\
    relayhost = [default.test]:25\nsmtp_sasl_auth_enable = yes\n\
    smtp_sender_dependent_authentication = yes\n\
    sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n\
    smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n";

fn setup(main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("main.cf"), main).unwrap();
    fs::write(dir.path().join("relayhost_map"), "@a.test [r.test]:587\n").unwrap();
    fs::write(dir.path().join("sasl_passwd"), "@a.test u:Pw0rdXyz\n").unwrap();
    dir
}

fn assert_no_password(x: &dms_relay::explain::Explanation, case: &str) {
    for out in [format!("{x}"), format!("{x:?}"), x.to_json()] {
        assert!(!out.contains("Pw0rdXyz"), "{case}: password shown in {out}");
    }
}

#[test]
fn hostile_senders() {
    let dir = setup(BASE);
    let cfg = RelayConfig::load(dir.path()).unwrap();
    assert!(
        !format!("{cfg:?}").contains("Pw0rdXyz"),
        "RelayConfig Debug"
    );
    let base = "user@a.test";
    let mut n = 0;
    let inserts: Vec<(&str, String)> = INSERTS
        .iter()
        .filter(|(_, b, _)| std::str::from_utf8(b).is_ok())
        .map(|(name, b, _)| (*name, String::from_utf8(b.to_vec()).unwrap()))
        .chain([
            ("quote pair", "\"\"".to_owned()),
            ("double at", "@@".to_owned()),
        ])
        .collect();
    for (name, ins) in &inserts {
        // start, in the local part, in the domain, at the end.
        for (where_, at) in [
            ("start", 0),
            ("local", 2),
            ("domain", 7),
            ("end", base.len()),
        ] {
            let sender = format!("{}{ins}{}", &base[..at], &base[at..]);
            let x = cfg.explain(&sender);
            let case = format!("{name} at {where_}: {sender:?}");
            // The domain is what follows the last `@`: an insertion before
            // it keeps `@a.test`. Table keys compare as C strings: a NUL
            // ends the `@domain` key.
            let domain = sender.rsplit_once('@').map(|(_, d)| d).unwrap();
            let hit = domain.split('\0').next() == Some("a.test");
            let key = format!("@{domain}");
            if hit {
                assert_eq!(x.next_hop.as_deref(), Some("[r.test]:587"), "{case}");
                assert!(
                    matches!(&x.next_hop_source, NextHopSource::SenderDependent { key: k, .. } if *k == key),
                    "{case}: {:?}",
                    x.next_hop_source
                );
                let c = x
                    .credentials()
                    .unwrap_or_else(|| panic!("{case}: {:?}", x.sasl));
                assert_eq!(
                    (c.key.as_str(), c.user.as_str()),
                    (key.as_str(), "u"),
                    "{case}"
                );
            } else {
                assert_eq!(x.next_hop.as_deref(), Some("[default.test]:25"), "{case}");
                assert_eq!(x.next_hop_source, NextHopSource::Relayhost, "{case}");
                assert!(
                    matches!(x.sasl, Sasl::NoCredentials),
                    "{case}: {:?}",
                    x.sasl
                );
            }
            assert_eq!(x.sender, sender, "{case}");
            assert_no_password(&x, &case);
            n += 1;
        }
    }
    // Whole-sender specials.
    let big = format!("{}@a.test", "x".repeat(10 << 20));
    let specials: Vec<(&str, String, bool)> = vec![
        ("null sender", String::new(), false),
        ("@ alone", "@".to_owned(), false),
        ("domain only", "@a.test".to_owned(), true),
        ("upper case", "USER@A.TEST".to_owned(), true),
        ("trailing dot", "user@a.test.".to_owned(), false),
        (
            "Cyrillic confusable domain",
            "user@\u{430}.test".to_owned(),
            false,
        ),
        ("10 MB local part", big, true),
        ("10 MB domain", format!("u@{}", "a".repeat(10 << 20)), false),
    ];
    for (name, sender, hit) in specials {
        let t = Instant::now();
        let x = cfg.explain(&sender);
        let want = if hit {
            "[r.test]:587"
        } else {
            "[default.test]:25"
        };
        assert_eq!(x.next_hop.as_deref(), Some(want), "{name}");
        assert_no_password(&x, name);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{name}: {:?}",
            t.elapsed()
        );
        n += 1;
    }
    eprintln!("senders: {n} cases");
    assert!(n >= 50, "{n}");
}

/// Hostile main.cf values and table files: (name, main.cf extra lines,
/// files to make, expected next hop for `user@a.test`, expected source).
#[test]
fn hostile_main_cf_for_explain() {
    type Src = fn(&NextHopSource) -> bool;
    let deep = format!(
        "relayhost = {}x{}\n",
        "${a:".repeat(10_000),
        "}".repeat(10_000)
    );
    type Files = &'static [(&'static str, &'static [u8])];
    let cases: Vec<(&str, String, Files, Option<&str>, Src)> = vec![
        (
            "relayhost $ loop",
            "relayhost = $a\na = $b\nb = $a\nsender_dependent_relayhost_maps =\n".into(),
            &[],
            None,
            // Postfix stops (unreasonable macro call nesting): not direct.
            |s| matches!(s, NextHopSource::Unknown { reason } if reason.contains("nesting")),
        ),
        (
            "10k-deep ${ nesting",
            format!("{deep}sender_dependent_relayhost_maps =\n"),
            &[],
            None,
            |s| matches!(s, NextHopSource::Unknown { .. }),
        ),
        (
            "relayhost with CR",
            "relayhost = [x.test]\r\nsender_dependent_relayhost_maps =\n".into(),
            &[],
            Some("[x.test]"),
            |s| matches!(s, NextHopSource::Relayhost),
        ),
        (
            "missing table file",
            "sender_dependent_relayhost_maps = texthash:/etc/postfix/missing\n".into(),
            &[],
            None,
            |s| matches!(s, NextHopSource::Deferred { .. }),
        ),
        (
            "table is a directory",
            "sender_dependent_relayhost_maps = texthash:/etc/postfix/d\n".into(),
            &[("d/", b"")],
            None,
            |s| matches!(s, NextHopSource::Deferred { .. }),
        ),
        (
            "table is a symlink loop",
            "sender_dependent_relayhost_maps = texthash:/etc/postfix/loop\n".into(),
            &[("loop@", b"loop")],
            None,
            |s| matches!(s, NextHopSource::Deferred { .. }),
        ),
        (
            "proxy:proxy: nesting",
            "sender_dependent_relayhost_maps = proxy:proxy:texthash:/etc/postfix/relayhost_map\n"
                .into(),
            &[],
            Some("[r.test]:587"),
            |s| matches!(s, NextHopSource::SenderDependent { .. }),
        ),
        (
            "unionmap nesting",
            format!(
                "sender_dependent_relayhost_maps = {}texthash:/etc/postfix/relayhost_map{}\n",
                "unionmap:{".repeat(200),
                "}".repeat(200)
            ),
            &[],
            None,
            // Refused as too deep: unknown, not the relayhost.
            |s| matches!(s, NextHopSource::Unknown { reason } if reason.contains("nested")),
        ),
        (
            "regexp with a broken rule",
            "sender_dependent_relayhost_maps = regexp:/etc/postfix/re\n".into(),
            &[("re", b"/(unclosed/ x\n/a\\.test$/ [p.test]\n")],
            // The broken rule is skipped (Postfix warns and ignores it).
            Some("[p.test]"),
            |s| matches!(s, NextHopSource::SenderDependent { key, .. } if key == "user@a.test"),
        ),
        (
            "table path with ..",
            "sender_dependent_relayhost_maps = texthash:/etc/postfix/../postfix/relayhost_map\n"
                .into(),
            &[],
            None,
            // /etc/postfix/ maps to the directory; `..` then leaves it.
            |s| matches!(s, NextHopSource::Deferred { reason } if reason.contains("No such file")),
        ),
        (
            "malformed table list",
            "sender_dependent_relayhost_maps = unionmap:{texthash:/etc/postfix/relayhost_map\n"
                .into(),
            &[],
            None,
            |s| matches!(s, NextHopSource::Unknown { .. }),
        ),
    ];
    for (name, extra, files, want, src) in cases {
        let dir = setup(&format!("{BASE}{extra}"));
        for (f, body) in files {
            if let Some(d) = f.strip_suffix('/') {
                fs::create_dir(dir.path().join(d)).unwrap();
            } else if let Some(l) = f.strip_suffix('@') {
                symlink(
                    dir.path().join(std::str::from_utf8(body).unwrap()),
                    dir.path().join(l),
                )
                .unwrap();
            } else {
                fs::write(dir.path().join(f), body).unwrap();
            }
        }
        let t = Instant::now();
        let cfg = RelayConfig::load(dir.path()).unwrap();
        let x = cfg.explain("user@a.test");
        eprintln!("{name}: {:?} {:?}", x.next_hop, x.next_hop_source);
        if want.is_some() {
            assert_eq!(x.next_hop.as_deref(), want, "{name}");
        }
        assert!(src(&x.next_hop_source), "{name}: {:?}", x.next_hop_source);
        assert_no_password(&x, name);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{name}: {:?}",
            t.elapsed()
        );
    }
    // main.cf unreadable (a directory): a typed error.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("main.cf")).unwrap();
    assert!(RelayConfig::load(dir.path()).is_err());
    assert!(RelayConfig::load(&dir.path().join("missing")).is_err());
}

// ------------------------------------------------------------ linear time

fn ratio_check(what: &str, run: &dyn Fn(usize) -> Duration, base: usize) {
    linear::assert_linear(what, base, run);
}

/// Parse + lookup + listing of hostile tables, recover over many pending
/// files, and explain over a long sender: n vs 8n.
#[test]
fn hostile_more_linear_time() {
    ratio_check(
        "relaymap parse + listing",
        &|n| {
            let mut b = Vec::new();
            for i in 0..n {
                b.extend_from_slice(format!("@d{i}.test [r.test]:587\r\n  cont\n").as_bytes());
                b.extend_from_slice(format!("@D{i}.TEST\0x\n").as_bytes());
                b.extend_from_slice(b"\xff\n");
            }
            let t = Instant::now();
            let m = RelayMap::from_vec(b.clone());
            let s = SaslPasswords::from_vec(b);
            let _ = m.relay(&a_test());
            let _ = Documents::from_parts(m, s).listing(true);
            t.elapsed()
        },
        2_000,
    );
    ratio_check(
        "recover",
        &|n| {
            let tmp = tempfile::tempdir().unwrap();
            for i in 0..n {
                fs::write(
                    tmp.path().join(pending_name(format!("t{i}").as_bytes())),
                    b"x",
                )
                .unwrap();
            }
            let t = Instant::now();
            assert_eq!(recover(tmp.path()).unwrap().len(), n);
            t.elapsed()
        },
        100,
    );
    let dir = setup(BASE);
    let cfg = RelayConfig::load(dir.path()).unwrap();
    ratio_check(
        "explain sender length",
        &|n| {
            let s = format!("{}@{}", "\r\0".repeat(n), "a".repeat(n));
            let t = Instant::now();
            let _ = cfg.explain(&s);
            t.elapsed()
        },
        100_000,
    );
}

// ---------------------------------------------------------------- ConfigDir

use dms_relay::store::{Command, ConfigDir, Outcome, StoreError};

/// Each command over a relay map / SASL file holding a hostile line: the
/// hostile bytes are kept as they are, the new entry goes at the end, and
/// `list` agrees with the in-memory listing.
#[test]
fn hostile_existing_files() {
    let mut n = 0;
    let cmds = [
        (
            "add-domain",
            Command::add_domain("b.test", "h.test", None).unwrap(),
            &b"@b.test [h.test]:25\n"[..],
            &b""[..],
        ),
        (
            "add-auth",
            Command::add_auth("b.test", "u", "Pw0rdXyz").unwrap(),
            &b""[..],
            &b"@b.test u:Pw0rdXyz\n"[..],
        ),
        (
            "exclude-domain",
            Command::exclude_domain("b.test").unwrap(),
            // DMS's opt-out form: key and a blank.
            &b"@b.test \n"[..],
            &b""[..],
        ),
    ];
    for &(name, ins, _) in INSERTS {
        for pos in [Pos::Start, Pos::Key, Pos::Value, Pos::End] {
            for (cname, cmd, relay_add, sasl_add) in &cmds {
                let tmp = tempfile::tempdir().unwrap();
                let cfg = ConfigDir::new(tmp.path());
                let relay = line_with("[r.test]:587", 5, ins, pos);
                let sasl = line_with("user:secret", 7, ins, pos);
                fs::write(cfg.relaymap_path(), &relay).unwrap();
                fs::write(cfg.sasl_path(), &sasl).unwrap();
                let case = format!("{cname} over {name} at {pos:?}");
                assert_eq!(cfg.apply(cmd).unwrap(), Outcome::Added, "{case}");
                assert_eq!(
                    fs::read(cfg.relaymap_path()).unwrap(),
                    [&relay[..], relay_add].concat(),
                    "{case}"
                );
                assert_eq!(
                    fs::read(cfg.sasl_path()).unwrap(),
                    [&sasl[..], sasl_add].concat(),
                    "{case}"
                );
                let mut docs = cfg.load().unwrap();
                assert_eq!(cfg.list().unwrap(), docs.listing(false), "{case}");
                n += 1;
            }
        }
    }
    eprintln!("existing files: {n} cases");
    assert!(n >= 50, "{n}");
}

fn is_io(r: &Result<impl std::fmt::Debug, StoreError>, op: &str) -> bool {
    matches!(r, Err(StoreError::Io { op: o, .. }) if *o == op)
}

/// Hostile on-disk state (working as root: directories in place of files,
/// symlinks, `..`): a typed error and nothing written, or the documented
/// outcome.
#[test]
fn hostile_config_dir_state() {
    let add = Command::add_domain("b.test", "h.test", None).unwrap();
    let auth = Command::add_auth("b.test", "u", "Pw0rdXyz").unwrap();
    let rm = Command::remove_domain("b.test").unwrap();
    // The config directory is a file.
    {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        fs::write(&f, b"x").unwrap();
        let cfg = ConfigDir::new(&f);
        assert!(is_io(&cfg.apply(&add), "lock"), "{:?}", cfg.apply(&add));
        assert!(is_io(&cfg.list(), "read"), "{:?}", cfg.list());
        assert_eq!(fs::read(&f).unwrap(), b"x");
    }
    // A directory in place of each file: read error, nothing written.
    for (which, cmd) in [("relay map", &add), ("relay map", &rm), ("sasl", &auth)] {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = ConfigDir::new(tmp.path());
        let p = if which == "sasl" {
            cfg.sasl_path()
        } else {
            cfg.relaymap_path()
        };
        fs::create_dir(&p).unwrap();
        let r = cfg.apply(cmd);
        assert!(is_io(&r, "read"), "{which}: {r:?}");
        assert!(is_io(&cfg.list(), "read"), "{which}");
        assert!(p.is_dir() && fs::read_dir(&p).unwrap().count() == 0);
    }
    // `..` in the directory path and a symlinked directory: work as usual.
    {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        let cfg = ConfigDir::new(tmp.path().join("a/b/.."));
        assert_eq!(cfg.apply(&add).unwrap(), Outcome::Added);
        assert_eq!(
            fs::read(tmp.path().join("a/postfix-relaymap.cf")).unwrap(),
            b"@b.test [h.test]:25\n"
        );
        symlink(tmp.path().join("a"), tmp.path().join("link")).unwrap();
        let cfg = ConfigDir::new(tmp.path().join("link"));
        assert_eq!(cfg.apply(&add).unwrap(), Outcome::Unchanged);
        assert_eq!(cfg.list().unwrap().relays.len(), 1);
    }
    // A NUL in the directory path: the OS refuses it, a typed error.
    {
        let cfg = ConfigDir::new("/tmp/x\0y");
        assert!(is_io(&cfg.apply(&add), "lock"));
        assert!(is_io(&cfg.list(), "read"));
    }
    // A relay map that is a symlink to a file outside: replaced by the
    // atomic rename (the link goes, the outside file is untouched).
    {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::write(&outside, b"@o.test [o.test]:25\n").unwrap();
        let dir = tmp.path().join("cfg");
        fs::create_dir(&dir).unwrap();
        let cfg = ConfigDir::new(&dir);
        symlink(&outside, cfg.relaymap_path()).unwrap();
        assert_eq!(cfg.list().unwrap().relays.len(), 1, "read through the link");
        assert_eq!(cfg.apply(&add).unwrap(), Outcome::Added);
        // Written through the link (the link stays, as for a bind mount).
        assert!(
            fs::symlink_metadata(cfg.relaymap_path())
                .unwrap()
                .is_symlink()
        );
        assert_eq!(
            fs::read(&outside).unwrap(),
            b"@o.test [o.test]:25\n@b.test [h.test]:25\n"
        );
    }
    // A dangling symlink: reads as missing; writing fails.
    {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = ConfigDir::new(tmp.path());
        symlink(tmp.path().join("nowhere"), cfg.relaymap_path()).unwrap();
        assert_eq!(cfg.list().unwrap(), Default::default());
        assert_eq!(cfg.apply(&rm).unwrap(), Outcome::Unchanged);
        // Writing through a dangling link: a typed error, nothing made.
        let r = cfg.apply(&add);
        assert!(is_io(&r, "write"), "{r:?}");
        assert!(
            fs::symlink_metadata(cfg.relaymap_path())
                .unwrap()
                .is_symlink()
        );
        assert!(!tmp.path().join("nowhere").exists());
    }
    // A directory in place of the lock file: a typed error.
    {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join(dms_relay::fsutil::LOCK_FILE)).unwrap();
        let cfg = ConfigDir::new(tmp.path());
        let r = cfg.apply(&add);
        assert!(is_io(&r, "lock"), "{r:?}");
        assert!(!cfg.relaymap_path().exists());
    }
}

// ------------------------------------------------------------------ doctor

use dms_relay::doctor::{Code, Doctor, FixError};

const DOC_MAIN: &str = "compatibility_level = 3.6\nmyorigin = origin.test\nmydestination = localhost\n\
    relayhost = [smtp.test]:587\nsmtp_sasl_auth_enable = yes\nsmtp_tls_security_level = encrypt\n\
    smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n";

/// Every file under `dir` (not the lock file) with its bytes.
fn contents(dir: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != dms_relay::fsutil::LOCK_FILE)
        .map(|e| {
            let p = e.path();
            (e.file_name(), fs::read(&p).unwrap_or_default())
        })
        .collect();
    v.sort();
    v
}

/// Hostile credential files: (name, sasl_passwd bytes, expected (code,
/// line) list, expected file after `fix` (`None`: refused, unchanged)).
#[test]
fn hostile_doctor() {
    type Case<'a> = (
        &'a str,
        &'a [u8],
        Vec<(Code, Option<usize>)>,
        Option<&'a [u8]>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "clean",
            b"[smtp.test]:587 u:p\n",
            vec![],
            Some(b"[smtp.test]:587 u:p\n"),
        ),
        (
            "port differs: renamed",
            b"[smtp.test]:25 u:p\n",
            vec![(Code::UnmatchedCredentials, Some(1))],
            Some(b"[smtp.test]:587 u:p\n"),
        ),
        (
            // Quotes are part of a texthash key: no rename is offered (the
            // host is not a next hop's), so fix changes nothing.
            "quoted key",
            b"\"[smtp.test]:25\" u:p\n",
            vec![(Code::UnmatchedCredentials, Some(1))],
            Some(b"\"[smtp.test]:25\" u:p\n"),
        ),
        (
            "CRLF",
            b"[smtp.test]:587 u:p\r\n",
            vec![],
            Some(b"[smtp.test]:587 u:p\r\n"),
        ),
        (
            "NUL in value",
            b"[smtp.test]:587 u:p\0x\n",
            vec![],
            Some(b"[smtp.test]:587 u:p\0x\n"),
        ),
        (
            "non-UTF-8",
            b"[smtp.test]:587 u:p\xff\n",
            vec![],
            Some(b"[smtp.test]:587 u:p\xff\n"),
        ),
        (
            "duplicate",
            b"[smtp.test]:587 u:p\n[SMTP.test]:587 v:q\n",
            vec![(Code::TexthashDuplicate, Some(2))],
            Some(b"[smtp.test]:587 u:p\n"),
        ),
        (
            "key-only",
            b"[smtp.test]:587\n[smtp.test]:587 u:p\n",
            vec![(Code::KeyOnlyLine, Some(1))],
            Some(b"[smtp.test]:587 u:p\n"),
        ),
    ];
    for (name, sasl, want, after) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.cf"), DOC_MAIN).unwrap();
        let f = dir.path().join("sasl_passwd");
        fs::write(&f, sasl).unwrap();
        fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let report = Doctor::new(dir.path()).run().unwrap();
        let got: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.code != Code::ReloadNeeded)
            .map(|p| (p.code, p.line))
            .collect();
        eprintln!(
            "{name}: {:?}",
            report
                .problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(got, want, "{name}");
        for p in &report.problems {
            assert!(!p.to_string().contains("u:p\n"), "{name}");
        }
        let before = contents(dir.path());
        let r = report.fix();
        match after {
            Some(bytes) => {
                r.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(fs::read(&f).unwrap(), bytes, "{name}");
            }
            None => {
                let e = r.unwrap_err();
                assert!(matches!(e, FixError::Refused { .. }), "{name}: {e}");
                assert_eq!(contents(dir.path()), before, "{name}: wrote on refusal");
            }
        }
    }
}

/// Every hostile byte kind at four places of a credentials line: the codes
/// and lines doctor reports equal a model of Postfix's reading (the table
/// as `postfix_table` reads it — itself checked against postmap — and
/// Postfix's key rule: only `smtp.test` or `[smtp.test]:587` can match the
/// relayhost `[smtp.test]:587`; a key-only line is ignored), and the
/// password is never shown.
#[test]
fn hostile_doctor_generated() {
    let mut n = 0;
    for &(kind, ins, _) in INSERTS {
        for pos in [Pos::Start, Pos::Key, Pos::Value, Pos::End] {
            let part = |p: Pos| if p == pos { ins } else { &b""[..] };
            let mut sasl = Vec::new();
            for piece in [
                part(Pos::Start),
                b"[smtp.te".as_slice(),
                part(Pos::Key),
                b"st]:587 user:Pw".as_slice(),
                part(Pos::Value),
                b"Canary9".as_slice(),
                part(Pos::End),
                b"\n".as_slice(),
            ] {
                sasl.extend_from_slice(piece);
            }
            let case = format!("{kind} at {pos:?}");
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("main.cf"), DOC_MAIN).unwrap();
            let f = dir.path().join("sasl_passwd");
            fs::write(&f, &sasl).unwrap();
            fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            // The model.
            let table = postfix_table::Table::parse(&sasl);
            let mut want = Vec::new();
            for e in table.entries() {
                match (e.key_str(), e.value()) {
                    (Some(k), Some(_)) => {
                        let k = k.to_lowercase();
                        if k != "[smtp.test]:587" && k != "smtp.test" {
                            want.push((Code::UnmatchedCredentials, Some(e.line())));
                        }
                    }
                    (Some(_), None) if e.is_opt_out() => {
                        want.push((Code::KeyOnlyLine, Some(e.line())));
                    }
                    _ => {}
                }
            }
            want.sort();
            let report = Doctor::new(dir.path()).run().unwrap();
            let mut got: Vec<_> = report
                .problems
                .iter()
                .filter(|p| p.code != Code::ReloadNeeded)
                .map(|p| (p.code, p.line))
                .collect();
            got.sort();
            assert_eq!(got, want, "{case}: {sasl:?}");
            // (After an LF the rest is a line of its own: a key, shown.)
            let canary_is_key = table
                .entries()
                .any(|e| e.key_str().is_some_and(|k| k.contains("Canary9")));
            if !canary_is_key {
                let text = format!("{report:?}{}", report.to_json());
                for p in &report.problems {
                    assert!(!p.to_string().contains("Canary9"), "{case}");
                }
                assert!(!text.contains("Canary9"), "{case}");
            }
            n += 1;
        }
    }
    assert!(n >= 50, "{n}");
}

/// `fix` after the file changed under the report: refused, nothing written
/// (regression: a RemoveLine fix removed whatever was on that line now).
#[test]
fn doctor_fix_refuses_a_changed_file() {
    let dup: &[u8] = b"[smtp.test]:587 u:p\n[SMTP.test]:587 v:q\n";
    let changes: &[(&str, &[u8])] = &[
        (
            "line inserted above",
            b"# new\n[smtp.test]:587 u:p\n[SMTP.test]:587 v:q\n",
        ),
        (
            "duplicate already removed",
            b"[smtp.test]:587 u:p\nother.test w:r\n",
        ),
        ("file shortened", b"[smtp.test]:587 u:p\n"),
        (
            "line now blank-led continuation",
            b"[smtp.test]:587 u:p\n more\n",
        ),
    ];
    for &(name, changed) in changes {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.cf"), DOC_MAIN).unwrap();
        let f = dir.path().join("sasl_passwd");
        fs::write(&f, dup).unwrap();
        fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let report = Doctor::new(dir.path()).run().unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.code == Code::TexthashDuplicate)
        );
        fs::write(&f, changed).unwrap();
        let e = report.fix().unwrap_err();
        assert!(
            matches!(&e, FixError::Refused { message, .. } if message == "line 2 changed since doctor ran; run doctor again"),
            "{name}: {e}"
        );
        assert_eq!(fs::read(&f).unwrap(), changed, "{name}");
    }
}

// ------------------------------------------------------------------- apply

use dms_relay::apply::{ApplyError, apply};
use dms_relay::env::RelayEnv;
use dms_relay::render::{self, Rendered, Sources};

fn rendered() -> Rendered {
    let env = RelayEnv::from_pairs([
        ("RELAY_HOST", "h.test"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "Pw0rdXyz"),
    ])
    .unwrap();
    let domains = ["a.test".to_string()];
    render::render(
        &env,
        &Sources {
            relaymap: Some(b"@a.test [r.test]:587\r\n@b.test\0\n\xff\n"),
            sasl_password: Some(b"@a.test x:y\n\"@q.test\" z:w\n"),
            domains: &domains,
        },
    )
    .unwrap()
}

/// Hostile existing main.cf bytes: apply gives exactly what the in-memory
/// edit gives (only the relay parameters change; every hostile byte
/// elsewhere stays).
#[test]
fn hostile_apply_main_cf() {
    let r = rendered();
    let mut cont = b"smtpd_banner = x\n".to_vec();
    for _ in 0..100_000 {
        cont.extend_from_slice(b" y\n");
    }
    let big = format!("alias_maps = {}\n", "a".repeat(10 << 20)).into_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        (
            "CRLF",
            b"myhostname = m.test\r\nrelayhost = [old.test]\r\n".to_vec(),
        ),
        ("CR inside a value", b"myhostname = m\r.test\n".to_vec()),
        ("CR in relayhost", b"relayhost = [old\r.test]\n".to_vec()),
        (
            "NUL in a comment",
            b"# a\0b\nmyhostname = m.test\n".to_vec(),
        ),
        ("NUL in relayhost", b"relayhost = [o\0ld.test]\n".to_vec()),
        ("non-UTF-8 value", b"myhostname = m\xff.test\n".to_vec()),
        ("non-UTF-8 relayhost", b"relayhost = \xff\n".to_vec()),
        ("no final newline", b"myhostname = m.test".to_vec()),
        ("only NULs", vec![0; 100]),
        (
            "leading blank line continuation",
            b" orphan\nmyhostname = m\n".to_vec(),
        ),
        (
            "duplicate relayhost",
            b"relayhost = a\nrelayhost = b\n".to_vec(),
        ),
        ("$ loop", b"relayhost = $x\nx = $relayhost\n".to_vec()),
        ("100k continuation lines", cont),
        ("10 MB line", big),
    ];
    // Every hostile byte kind at four places of an unrelated parameter's
    // line (before it, in the name, in the value, at the end).
    let mut cases = cases;
    let generated: Vec<(String, Vec<u8>)> = INSERTS
        .iter()
        .flat_map(|&(kind, ins, _)| {
            [Pos::Start, Pos::Key, Pos::Value, Pos::End].map(|pos| {
                let mut line = Vec::new();
                let part = |p: Pos| if p == pos { ins } else { &b""[..] };
                for piece in [
                    part(Pos::Start),
                    b"myhost".as_slice(),
                    part(Pos::Key),
                    b"name = m.".as_slice(),
                    part(Pos::Value),
                    b"test".as_slice(),
                    part(Pos::End),
                    b"\nrelayhost = [old.test]:25\n".as_slice(),
                ] {
                    line.extend_from_slice(piece);
                }
                (format!("{kind} at {pos:?}"), line)
            })
        })
        .collect();
    let names: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
    for ((_, bytes), name) in generated.into_iter().zip(&names) {
        cases.push((name.as_str(), bytes));
    }
    let n = cases.len();
    for (name, old) in cases {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main.cf");
        fs::write(&main, &old).unwrap();
        let mut want = postfix_maincf::MainCf::parse(&old);
        // The table references point into PDIR (see `apply`).
        let t = Instant::now();
        let got = apply(&r, dir.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(got.changed(), "{name}");
        let after = fs::read(&main).unwrap();
        // Re-applying converges: nothing changes.
        let again = apply(&r, dir.path()).unwrap();
        assert!(!again.changed(), "{name}: {again:?}");
        // Every line without a relay parameter stays as it was.
        let edited = render::main_cf_apply(&mut want, &r);
        assert!(edited.is_ok(), "{name}");
        for line in old.split(|&b| b == b'\n') {
            let relay_line = render::RELAY_PARAMETERS
                .iter()
                .any(|p| line.starts_with(p.as_bytes()));
            if !relay_line && !line.is_empty() && !line.starts_with(b" ") {
                assert!(
                    after.windows(line.len()).any(|w| w == line),
                    "{name}: lost {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                );
            }
        }
        let want_ref = format!(
            "\nsender_dependent_relayhost_maps = texthash:{}/relayhost_map",
            dir.path().display()
        );
        assert!(
            after
                .windows(want_ref.len())
                .any(|w| w == want_ref.as_bytes()),
            "{name}: {:?}",
            String::from_utf8_lossy(&after[..after.len().min(300)])
        );
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{name}: {:?}",
            t.elapsed()
        );
    }
    assert!(n >= 50, "{n}");
    eprintln!("apply main.cf: {n} cases");
}

/// Hostile Postfix directories: a typed error and nothing written, or the
/// documented outcome.
#[test]
fn hostile_apply_postfix_dir() {
    let r = rendered();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, b"x").unwrap();
    let res = apply(&r, &file);
    assert!(matches!(res, Err(ApplyError::Io { .. })), "{res:?}");
    assert_eq!(fs::read(&file).unwrap(), b"x");
    let main: &[u8] = b"myhostname = m.test\n";
    let io = |res: &Result<_, ApplyError>, op: &str, kind: std::io::ErrorKind| matches!(res, Err(ApplyError::Io { op: o, source, .. }) if *o == op && source.kind() == kind);
    // Missing PDIR, main.cf a directory: read errors, nothing made.
    let missing = tmp.path().join("missing");
    let res = apply(&r, &missing);
    assert!(io(&res, "read", std::io::ErrorKind::NotFound), "{res:?}");
    assert!(!missing.exists());
    let d = tmp.path().join("maindir");
    fs::create_dir_all(d.join("main.cf")).unwrap();
    let res = apply(&r, &d);
    assert!(
        io(&res, "read", std::io::ErrorKind::IsADirectory),
        "{res:?}"
    );
    // Names main.cf cannot hold in a table reference: refused before
    // anything is written.
    for (bad, why) in [
        ("sp ace", "contains whitespace or a control character"),
        ("new\nline", "contains whitespace or a control character"),
        ("cr\r", "contains whitespace or a control character"),
        ("com,ma", "contains '$', ',', '{', '}' or '#'"),
        ("cur{ly", "contains '$', ',', '{', '}' or '#'"),
        ("dol$lar", "contains '$', ',', '{', '}' or '#'"),
        ("ha#sh", "contains '$', ',', '{', '}' or '#'"),
    ] {
        let d = tmp.path().join(bad);
        fs::create_dir(&d).unwrap();
        fs::write(d.join("main.cf"), main).unwrap();
        let res = apply(&r, &d);
        assert!(
            matches!(&res, Err(ApplyError::BadPostfixDir { reason, .. }) if *reason == why),
            "{bad:?}: {res:?}"
        );
        assert_eq!(fs::read(d.join("main.cf")).unwrap(), main, "{bad:?}");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "{bad:?}: wrote");
    }
    // A symlinked PDIR and one with `..`: applied through them.
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::write(real.join("main.cf"), main).unwrap();
    symlink(&real, tmp.path().join("link")).unwrap();
    for d in [tmp.path().join("link"), tmp.path().join("real/../real")] {
        let res = apply(&r, &d).unwrap();
        eprintln!("{}: {res:?}", d.display());
        assert!(real.join("relayhost_map").is_file(), "{}", d.display());
    }
    // A directory in place of relayhost_map: a write error; main.cf does not
    // yet refer to it.
    let d = tmp.path().join("mapdir");
    fs::create_dir_all(d.join("relayhost_map")).unwrap();
    fs::write(d.join("main.cf"), main).unwrap();
    let res = apply(&r, &d);
    eprintln!("relayhost_map dir: {res:?}");
    assert!(matches!(res, Err(ApplyError::Io { .. })), "{res:?}");
    assert_eq!(fs::read(d.join("main.cf")).unwrap(), main);
}
