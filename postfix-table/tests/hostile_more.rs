//! Hostile input for the entry points of `postfix-table` that
//! `tests/hostile.rs` does not cover: `address::search_keys`,
//! `Table::read`/`read_file` (hostile paths and files), `PatternTable`
//! (`parse`, `diagnostics`, `lookup`, `check_rule`, `push`,
//! `insert_before`, `insert_after`, `remove`, `set_result`) and the
//! in-line tables of `spec::TableRef` (`lookup`, `lookup_with`,
//! `inline_dump`, `set_inline`, `remove_inline`). Every case states its
//! exact outcome; refused edits are checked to change nothing. Families are
//! generated: each hostile character at the start, in the middle and at
//! the end of a field. `linear_time` times the size cases at n and 8n.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/linear.rs"]
mod linear;
use std::time::{Duration, Instant};

use postfix_table::address::{AddressLookup, search_keys};
use postfix_table::inline::{InlineEditError, Lookup, LookupError};
use postfix_table::pattern::{
    CidrError, PatternDiagnosticKind, PatternEditError, PatternKind, PatternTable,
};
use postfix_table::spec::TableRef;
use postfix_table::{Options, QueryError, Table};

/// Hostile characters that a `&str` can hold, with how RFC 5322 quoting
/// (Postfix's `quote_822_local()`) treats them in a local part.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Q {
    /// A special or control character: the local part is quoted.
    Special,
    /// Special and escaped with `\` inside the quotes (`"`, `\`, CR).
    Escaped,
    /// `.`: quoted only at the start or end of the local part.
    Dot,
    /// The default `recipient_delimiter` `+`.
    Delim,
    /// Anything else: an ordinary byte.
    Plain,
}

const CHARS: [(&str, &str, Q); 22] = [
    ("LF", "\n", Q::Special),
    ("CR", "\r", Q::Escaped),
    ("TAB", "\t", Q::Special),
    ("VT", "\x0b", Q::Special),
    ("space", " ", Q::Special),
    ("NUL", "\0", Q::Special),
    ("DEL", "\x7f", Q::Special),
    ("quote", "\"", Q::Escaped),
    ("backslash", "\\", Q::Escaped),
    ("comma", ",", Q::Special),
    ("brackets", "[]", Q::Special),
    ("dot", ".", Q::Dot),
    ("plus", "+", Q::Delim),
    ("minus", "-", Q::Plain),
    ("hash", "#", Q::Plain),
    ("dollar", "$", Q::Plain),
    ("U+FFFD", "\u{fffd}", Q::Plain),
    ("Cyrillic e", "\u{435}", Q::Plain),
    ("fullwidth at", "\u{ff20}", Q::Plain),
    ("RTL override", "\u{202e}", Q::Plain),
    ("zero-width space", "\u{200b}", Q::Plain),
    ("NBSP", "\u{a0}", Q::Plain),
];

/// The local part in quotes, `"`, `\` and CR escaped.
fn quoted(local: &str) -> String {
    let mut out = String::from("\"");
    for ch in local.chars() {
        if matches!(ch, '"' | '\\' | '\r') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    out
}

fn v(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

// --------------------------------------------------------------- address

#[test]
fn hostile_search_keys() {
    let opts = AddressLookup::default();
    let local = |d: &str| d == "example.com";
    let local_opts = AddressLookup {
        is_local: &local,
        ..AddressLookup::default()
    };
    let mut n = 0;
    for (name, c, q) in CHARS {
        // Middle of the local part: `us?er@example.com`.
        let lp = format!("us{c}er");
        let addr = format!("{lp}@example.com");
        let want = match q {
            Q::Special | Q::Escaped => v(&[&format!("{}@example.com", quoted(&lp)), &addr]),
            Q::Delim => v(&[&addr, "us@example.com"]),
            Q::Dot | Q::Plain => v(&[&addr]),
        };
        let with_domain = [want.clone(), v(&["@example.com"])].concat();
        assert_eq!(
            search_keys(&addr, &opts),
            with_domain,
            "{name} in local part"
        );
        // A local domain adds the bare local parts (quoted first too).
        let mut want_local = want.clone();
        match q {
            Q::Special | Q::Escaped => want_local.extend(v(&[&quoted(&lp), &lp])),
            Q::Delim => want_local.extend(v(&[&lp, "us"])),
            Q::Dot | Q::Plain => want_local.push(lp.clone()),
        }
        want_local.push("@example.com".into());
        assert_eq!(search_keys(&addr, &local_opts), want_local, "{name} local");
        // Start of the local part: `?user@example.com`; a delimiter at
        // the start does not split, a leading dot needs quotes.
        let lp = format!("{c}user");
        let addr = format!("{lp}@example.com");
        let want = match q {
            Q::Special | Q::Escaped | Q::Dot => v(&[
                &format!("{}@example.com", quoted(&lp)),
                &addr,
                "@example.com",
            ]),
            Q::Delim | Q::Plain => v(&[&addr, "@example.com"]),
        };
        assert_eq!(search_keys(&addr, &opts), want, "{name} at start");
        // End of the local part: `user?@example.com`.
        let lp = format!("user{c}");
        let addr = format!("{lp}@example.com");
        let want = match q {
            Q::Special | Q::Escaped | Q::Dot => v(&[
                &format!("{}@example.com", quoted(&lp)),
                &addr,
                "@example.com",
            ]),
            Q::Delim => v(&[&addr, "user@example.com", "@example.com"]),
            Q::Plain => v(&[&addr, "@example.com"]),
        };
        assert_eq!(search_keys(&addr, &opts), want, "{name} at end");
        // In the domain: never quoted, never split.
        let addr = format!("user@exa{c}mple.com");
        let want = v(&[&addr, &format!("@exa{c}mple.com")]);
        assert_eq!(search_keys(&addr, &opts), want, "{name} in domain");
        n += 5;
    }
    let none = |_: &str| false;
    let dash = AddressLookup {
        recipient_delimiter: "+-",
        ..AddressLookup::default()
    };
    let t_delim = AddressLookup {
        recipient_delimiter: "t",
        ..AddressLookup::default()
    };
    let off = AddressLookup {
        recipient_delimiter: "",
        ..AddressLookup::default()
    };
    let multibyte = AddressLookup {
        recipient_delimiter: "é",
        ..AddressLookup::default()
    };
    let no_null = AddressLookup {
        null_sender_key: None,
        is_local: &none,
        ..AddressLookup::default()
    };
    let hostile_null = AddressLookup {
        null_sender_key: Some("<\0>"),
        ..AddressLookup::default()
    };
    let structural: Vec<(&str, &AddressLookup<'_>, Vec<String>)> = vec![
        ("", &opts, v(&["\"<>\"", "<>"])),
        ("", &no_null, v(&[])),
        ("", &hostile_null, v(&["\"<\0>\"", "<\0>"])),
        ("@", &opts, v(&["\"\"@", "@"])),
        ("@@", &opts, v(&["\"@\"@", "@@", "@"])),
        (
            "@example.com",
            &opts,
            v(&["\"\"@example.com", "@example.com"]),
        ),
        ("user@", &opts, v(&["user@", "@"])),
        ("user", &opts, v(&["user"])),
        ("user+ext", &opts, v(&["user+ext", "user"])),
        (
            "a@b@example.com",
            &opts,
            v(&["\"a@b\"@example.com", "a@b@example.com", "@example.com"]),
        ),
        (
            "\"quoted\"@example.com",
            &opts,
            v(&[
                "\"\\\"quoted\\\"\"@example.com",
                "\"quoted\"@example.com",
                "@example.com",
            ]),
        ),
        ("++@x", &opts, v(&["++@x", "@x"])),
        ("a++b@x", &opts, v(&["a++b@x", "a@x", "@x"])),
        ("a..b@x", &opts, v(&["\"a..b\"@x", "a..b@x", "@x"])),
        // The exemptions compare the whole local part (split_addr()).
        (
            "postmaster+x@x",
            &opts,
            v(&["postmaster+x@x", "postmaster@x", "@x"]),
        ),
        ("PostMaster@x", &t_delim, v(&["PostMaster@x", "@x"])),
        (
            "postmasters@x",
            &t_delim,
            v(&["postmasters@x", "pos@x", "@x"]),
        ),
        ("MAILER-DAEMON@x", &dash, v(&["MAILER-DAEMON@x", "@x"])),
        ("Double-Bounce@x", &dash, v(&["Double-Bounce@x", "@x"])),
        ("a-b+c@x", &dash, v(&["a-b+c@x", "a@x", "@x"])),
        ("a+b-c@x", &dash, v(&["a+b-c@x", "a@x", "@x"])),
        ("owner-list@x", &dash, v(&["owner-list@x", "@x"])),
        ("list-request@x", &dash, v(&["list-request@x", "@x"])),
        ("a-request@x", &dash, v(&["a-request@x", "@x"])),
        ("-request@x", &dash, v(&["-request@x", "@x"])),
        ("a-requests@x", &dash, v(&["a-requests@x", "a@x", "@x"])),
        ("a+b@x", &off, v(&["a+b@x", "@x"])),
        ("aéb@x", &multibyte, v(&["aéb@x", "a@x", "@x"])),
        // `é` is C3 A9; `©` is C2 A9: the delimiter byte A9 falls inside a
        // character, where a UTF-8 string cannot be cut: not split.
        ("a©b@x", &multibyte, v(&["a©b@x", "@x"])),
        ("ãb@x", &multibyte, v(&["ãb@x", "@x"])),
        ("xãb@x", &multibyte, v(&["xãb@x", "x@x", "@x"])),
    ];
    for (addr, o, want) in structural {
        assert_eq!(search_keys(addr, o), want, "{addr:?} {o:?}");
        n += 1;
    }
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

// ------------------------------------------------------------ file reads

/// Entries and diagnostic kinds of a table, to compare two reads.
type Outcome = (Vec<(Vec<u8>, Option<Vec<u8>>)>, Vec<String>);

fn outcome(t: &Table) -> Outcome {
    let entries = t
        .entries()
        .map(|e| (e.raw().to_vec(), e.value().map(<[u8]>::to_vec)))
        .collect();
    let diags = t
        .diagnostics()
        .into_iter()
        .map(|d| format!("{}:{:?}", d.line, d.kind))
        .collect();
    (entries, diags)
}

const BYTES: [(&str, &[u8]); 12] = [
    ("LF", b"\n"),
    ("CR", b"\r"),
    ("TAB", b"\t"),
    ("space", b" "),
    ("NUL", b"\0"),
    ("hash", b"#"),
    ("regex metachars", b".*+?^$()[]{}|\\"),
    ("non-UTF-8 byte", b"\xff"),
    ("lone continuation byte", b"\x80"),
    ("overlong slash", b"\xc0\xaf"),
    ("Cyrillic e", "\u{435}".as_bytes()),
    ("RTL override", "\u{202e}".as_bytes()),
];

#[test]
fn hostile_table_files() {
    use std::os::unix::fs::{OpenOptionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let opts = Options::default();
    let mut n = 0;
    // A file with each hostile byte in each place reads exactly as the
    // same bytes parse (tests/hostile.rs pins what parse gives).
    for (name, c) in BYTES {
        for (place, src) in [
            ("key", [b"k", c, b"ey value\n"].concat()),
            ("value", [b"key va", c, b"lue\n"].concat()),
            ("line start", [b"a b\n", c, b"key value\n"].concat()),
            ("no final LF", [b"a b\nkey value", c].concat()),
        ] {
            std::fs::write(p("t"), &src).unwrap();
            let t = Table::read(p("t"), opts).unwrap();
            assert_eq!(t.to_bytes(), src, "{name} in {place}");
            assert_eq!(
                outcome(&t),
                outcome(&Table::parse(&src)),
                "{name} in {place}"
            );
            n += 1;
        }
    }
    // Hostile paths and file types.
    std::fs::create_dir(p("d")).unwrap();
    symlink(p("absent"), p("dangling")).unwrap();
    symlink(p("loop1"), p("loop2")).unwrap();
    symlink(p("loop2"), p("loop1")).unwrap();
    std::fs::write(p("real"), b"key value\n").unwrap();
    symlink(p("real"), p("link")).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(p("fifo"))
        .status()
        .unwrap();
    assert!(st.success());
    const ELOOP: i32 = 40;
    const ESPIPE: i32 = 29;
    const ENOTDIR: i32 = 20;
    let err = |path: std::path::PathBuf| Table::read(path, opts).map(|_| ()).unwrap_err();
    assert_eq!(err(p("d")).kind(), std::io::ErrorKind::IsADirectory);
    assert_eq!(err(p("absent")).kind(), std::io::ErrorKind::NotFound);
    assert_eq!(err(p("dangling")).kind(), std::io::ErrorKind::NotFound);
    assert_eq!(err(p("loop1")).raw_os_error(), Some(ELOOP));
    assert_eq!(err(p("real/x")).raw_os_error(), Some(ENOTDIR));
    assert_eq!(err("".into()).kind(), std::io::ErrorKind::NotFound);
    n += 6;
    // `..` and symlinks are followed as the OS resolves them (the caller
    // decides which paths to trust): the same table.
    let dotdot = p("d").join("..").join("d").join("..").join("real");
    for path in [dotdot, p("link"), p("./real")] {
        let t = Table::read(&path, opts).unwrap();
        assert_eq!(t.get_str("key").as_deref(), Some("value"), "{path:?}");
        n += 1;
    }
    // A FIFO: `Table::read` would block in open() until a writer comes, as
    // any reader would, so it is not called. Opened without blocking,
    // `read_file` fails at once: a FIFO cannot be read at an offset.
    const O_NONBLOCK: i32 = 0o4000;
    let fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(p("fifo"))
        .unwrap();
    let e = Table::read_file(&fifo, opts).map(|_| ()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(ESPIPE));
    // Character devices and virtual files (size 0 in metadata).
    let t = Table::read("/dev/null", opts).unwrap();
    assert_eq!(t.len(), 0);
    let t = Table::read("/proc/self/status", opts).unwrap();
    assert!(t.get_str("Name:").is_some());
    n += 3;
    // Only NULs: one line cut at its first NUL, no entry.
    std::fs::write(p("nuls"), vec![0u8; 1 << 16]).unwrap();
    let t = Table::read(p("nuls"), opts).unwrap();
    assert_eq!(t.len(), 0);
    assert_eq!(t.to_bytes().len(), 1 << 16);
    let kinds: Vec<String> = t
        .diagnostics()
        .iter()
        .map(|d| format!("{:?}", d.kind))
        .collect();
    assert!(
        kinds
            .iter()
            .all(|k| k.starts_with("NulByte") || k.starts_with("KeyWithoutValue")),
        "{kinds:?}"
    );
    assert!(!kinds.is_empty());
    // Non-UTF-8 throughout: every line ignored while utf8 is on, kept as
    // written with it off.
    std::fs::write(p("latin1"), b"cl\xe9 valeur\n\xff\xfe x\n").unwrap();
    let t = Table::read(p("latin1"), opts).unwrap();
    assert_eq!(t.len(), 0);
    assert_eq!(t.diagnostics().len(), 2);
    let raw = Options {
        utf8: false,
        ..opts
    };
    let t = Table::read(p("latin1"), raw).unwrap();
    assert_eq!(t.get(b"CL\xe9").as_deref(), Some(&b"valeur"[..]));
    // A 10 MB single line (read by two threads: over 8 MB).
    let mut big = b"key ".to_vec();
    big.resize(10 << 20, b'v');
    std::fs::write(p("big"), &big).unwrap();
    let t = Table::read(p("big"), opts).unwrap();
    assert_eq!(t.get("key").map(|v| v.len()), Some((10 << 20) - 4));
    assert_eq!(t.to_bytes(), big);
    n += 3;
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

// ------------------------------------------------------------- patterns

const RCHARS: [(&str, &[u8]); 17] = [
    ("LF", b"\n"),
    ("CR", b"\r"),
    ("NUL", b"\0"),
    ("TAB", b"\t"),
    ("VT", b"\x0b"),
    ("FF", b"\x0c"),
    ("space", b" "),
    ("hash", b"#"),
    ("dollar", b"$"),
    ("delimiter", b"/"),
    ("DEL", b"\x7f"),
    ("non-UTF-8 byte", b"\xff"),
    ("U+FFFD", "\u{fffd}".as_bytes()),
    ("Cyrillic e", "\u{435}".as_bytes()),
    ("RTL override", "\u{202e}".as_bytes()),
    ("zero-width space", "\u{200b}".as_bytes()),
    ("NBSP", "\u{a0}".as_bytes()),
];

fn forbidden(what: &'static str, c: &[u8], at: usize) -> Option<PatternEditError> {
    let byte = match c {
        b"\n" => "LF",
        b"\r" => "CR",
        b"\0" => "NUL",
        _ => return None,
    };
    Some(PatternEditError::ForbiddenByte { what, byte, at })
}

fn regex_kinds() -> Vec<PatternKind> {
    [PatternKind::Regexp, PatternKind::Pcre]
        .into_iter()
        .filter(|k| k.engine_available())
        .collect()
}

const BASE: &[u8] = b"# head\n/^first$/ one\nif /x/\n/y/ two\nendif\n";

/// Runs one edit on a fresh table; on refusal, checks nothing changed.
fn edit(
    kind: PatternKind,
    f: impl FnOnce(&mut PatternTable) -> Result<(), PatternEditError>,
) -> (Result<(), PatternEditError>, PatternTable) {
    let mut t = PatternTable::parse(kind, BASE);
    let got = f(&mut t);
    if got.is_err() {
        assert_eq!(t.to_bytes(), BASE, "refused edit changed the table");
    }
    (got, t)
}

/// An edit of a pattern table.
type Edit = dyn Fn(&mut PatternTable) -> Result<(), PatternEditError>;

#[test]
fn hostile_pattern_rules() {
    let mut n = 0;
    for kind in regex_kinds() {
        for (name, c) in RCHARS {
            let rule = [b"/a", c, b"b/ OK"].concat();
            let want = if let Some(e) = forbidden("rule", c, 2) {
                Err(e)
            } else if c == b"\xff" {
                Err(PatternEditError::NonUtf8 { what: "rule" })
            } else if c == b"/" {
                Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::UnknownOption { flag: b'b' },
                ))
            } else {
                Ok(())
            };
            let t = PatternTable::parse(kind, BASE);
            assert_eq!(t.check_rule(&rule), want, "{kind:?} {name} check");
            let (got, t) = edit(kind, |t| t.push(&rule).map(drop));
            assert_eq!(got, want, "{kind:?} {name} push");
            if got.is_ok() {
                // `a$b` never matches: `$` is an anchor in both engines.
                let found = (c != b"$").then(|| b"OK".to_vec());
                let key = [b"a", c, b"b"].concat();
                assert_eq!(t.lookup(&key), Ok(found), "{kind:?} {name} lookup");
                assert_eq!(t.diagnostics(), vec![], "{kind:?} {name}");
                assert_eq!(t.len(), 5);
            }
            let (got, _) = edit(kind, |t| t.insert_before(0, &rule));
            assert_eq!(got, want, "{kind:?} {name} insert_before");
            let (got, _) = edit(kind, |t| t.insert_after(3, &rule));
            assert_eq!(got, want, "{kind:?} {name} insert_after");
            // At the start of the rule: whitespace continues the line
            // above, `#` makes a comment.
            let rule = [c, b"/ab/ OK"].concat();
            let want = if let Some(e) = forbidden("rule", c, 0) {
                Err(e)
            } else if matches!(c, b"\t" | b"\x0b" | b"\x0c" | b" ") {
                Err(PatternEditError::BadStart("whitespace"))
            } else if c == b"#" {
                Err(PatternEditError::BadStart("'#'"))
            } else if c == b"\xff" {
                Err(PatternEditError::NonUtf8 { what: "rule" })
            } else if c == b"/" {
                // `//ab/ OK`: an empty pattern with flags `ab/`.
                Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::UnknownOption { flag: b'a' },
                ))
            } else {
                // Any other byte is taken as the delimiter... unless it
                // is a letter or digit; none of these is.
                Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::NoClosingDelimiter { delimiter: c[0] },
                ))
            };
            let (got, _) = edit(kind, |t| t.push(&rule).map(drop));
            assert_eq!(got, want, "{kind:?} {name} at rule start");
            // In the result: `set_result` of rule 0.
            let result = [b"r", c, b"x"].concat();
            let want = if let Some(e) = forbidden("result", c, 1) {
                Err(e)
            } else if c == b"\xff" {
                Err(PatternEditError::NonUtf8 { what: "result" })
            } else if c == b"$" {
                // `$x`: a non-numeric replacement index.
                Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::NonNumericIndex {
                        name: b"x".to_vec(),
                    },
                ))
            } else {
                Ok(())
            };
            let (got, t) = edit(kind, |t| t.set_result(0, &result));
            assert_eq!(got, want, "{kind:?} {name} set_result");
            if got.is_ok() {
                assert_eq!(
                    t.lookup(b"first"),
                    Ok(Some(result.clone())),
                    "{kind:?} {name}"
                );
            }
            // At the end of the result.
            let result = [b"rx", c].concat();
            let want = if let Some(e) = forbidden("result", c, 2) {
                Err(e)
            } else if matches!(c, b"\t" | b"\x0b" | b"\x0c" | b" ") {
                Err(PatternEditError::Whitespace { what: "result" })
            } else if c == b"\xff" {
                Err(PatternEditError::NonUtf8 { what: "result" })
            } else if c == b"$" {
                // A `$` at the end: Postfix's macro parser warns first.
                Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::EmptyMacroName {
                        text: result.clone(),
                    },
                ))
            } else {
                Ok(())
            };
            let (got, _) = edit(kind, |t| t.set_result(0, &result));
            assert_eq!(got, want, "{kind:?} {name} set_result end");
            n += 7;
        }
    }
    // Hostile indices: typed errors, nothing changed.
    let kind = PatternKind::Cidr;
    let base: &[u8] = b"192.0.2.0/24 one\nif 10.0.0.0/8\n10.1.0.0/16 two\nendif\n";
    let idx_cases: Vec<(&str, Box<Edit>, Result<(), PatternEditError>)> = vec![
        (
            "remove MAX",
            Box::new(|t| t.remove(usize::MAX)),
            Err(PatternEditError::NoSuchStatement {
                index: usize::MAX,
                len: 4,
            }),
        ),
        (
            "remove len",
            Box::new(|t| t.remove(4)),
            Err(PatternEditError::NoSuchStatement { index: 4, len: 4 }),
        ),
        (
            "remove if",
            Box::new(|t| t.remove(1)),
            Err(PatternEditError::NotARule { index: 1 }),
        ),
        (
            "remove endif",
            Box::new(|t| t.remove(3)),
            Err(PatternEditError::NotARule { index: 3 }),
        ),
        (
            "insert_before MAX",
            Box::new(|t| t.insert_before(usize::MAX, b"192.0.2.1 x")),
            Err(PatternEditError::NoSuchStatement {
                index: usize::MAX,
                len: 4,
            }),
        ),
        (
            "insert_after len",
            Box::new(|t| t.insert_after(4, b"192.0.2.1 x")),
            Err(PatternEditError::NoSuchStatement { index: 4, len: 4 }),
        ),
        (
            "set_result MAX",
            Box::new(|t| t.set_result(usize::MAX, b"x")),
            Err(PatternEditError::NoSuchStatement {
                index: usize::MAX,
                len: 4,
            }),
        ),
        (
            "set_result if",
            Box::new(|t| t.set_result(1, b"x")),
            Err(PatternEditError::NotARule { index: 1 }),
        ),
        (
            "set_result empty",
            Box::new(|t| t.set_result(0, b"")),
            Err(PatternEditError::Empty { what: "result" }),
        ),
        (
            "push empty",
            Box::new(|t| t.push(b"").map(drop)),
            Err(PatternEditError::Empty { what: "rule" }),
        ),
        (
            "push if",
            Box::new(|t| t.push(b"if 10.0.0.0/8").map(drop)),
            Err(PatternEditError::IfEndifLine),
        ),
        // An `endif` alone is read as one without its `if`.
        (
            "push endif",
            Box::new(|t| t.push(b"endif").map(drop)),
            Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
                CidrError::EndifWithoutIf,
            ))),
        ),
        (
            "push host bits",
            Box::new(|t| t.push(b"192.0.2.1/24 x").map(drop)),
            Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
                CidrError::HostBits {
                    net: b"192.0.2.1".to_vec(),
                    mask: b"24".to_vec(),
                    suggestion: "192.0.2.0".into(),
                    len: 24,
                },
            ))),
        ),
        (
            "push no result",
            Box::new(|t| t.push(b"192.0.2.1").map(drop)),
            Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
                CidrError::NoLookupResult,
            ))),
        ),
        (
            "push bad mask",
            Box::new(|t| t.push(b"192.0.2.0/33 x").map(drop)),
            Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
                CidrError::BadMaskLength {
                    net: b"192.0.2.0".to_vec(),
                    mask: b"33".to_vec(),
                },
            ))),
        ),
        (
            "push huge mask",
            Box::new(|t| t.push(b"192.0.2.0/99999999999999999999 x").map(drop)),
            Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(
                CidrError::BadMaskLength {
                    net: b"192.0.2.0".to_vec(),
                    mask: b"99999999999999999999".to_vec(),
                },
            ))),
        ),
        (
            "push v6",
            Box::new(|t| t.push(b"[2001:db8::]/32 x").map(drop)),
            Ok(()),
        ),
        (
            "insert_before len",
            Box::new(|t| t.insert_before(4, b"192.0.2.1 x")),
            Ok(()),
        ),
    ];
    for (name, f, want) in idx_cases {
        let mut t = PatternTable::parse(kind, base);
        let got = f(&mut t);
        assert_eq!(got, want, "{name}");
        if got.is_err() {
            assert_eq!(t.to_bytes(), base, "{name}: refused edit changed the table");
        }
        n += 1;
    }
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_pattern_keys() {
    let mut n = 0;
    let mut kinds = regex_kinds();
    kinds.push(PatternKind::Cidr);
    for kind in kinds {
        let src: &[u8] = match kind {
            PatternKind::Cidr => b"192.0.2.0/24 net\n0.0.0.0/0 any\n",
            _ => b"/^key$/ found\n/./ any\n",
        };
        let t = PatternTable::parse(kind, src);
        assert_eq!(t.diagnostics(), vec![]);
        let raw = PatternTable::parse(kind, src).with_utf8(false);
        for (name, c) in RCHARS {
            let base: &[u8] = if kind == PatternKind::Cidr {
                b"192.0.2.1"
            } else {
                b"key"
            };
            for (place, at, key) in [
                ("start", 0, [c, base].concat()),
                ("middle", 1, [&base[..1], c, &base[1..]].concat()),
                ("end", base.len(), [base, c].concat()),
            ] {
                let want: Result<Option<Vec<u8>>, QueryError> = if c == b"\0" {
                    Err(QueryError::NulInKey { at })
                } else if c == b"\xff" {
                    Err(QueryError::NonUtf8Key { key: key.clone() })
                } else if kind == PatternKind::Cidr {
                    // Only an address is looked up; anything else matches nothing.
                    Ok(None)
                } else if kind == PatternKind::Pcre && c == b"\n" && place == "end" {
                    // PCRE's `$` matches before a final newline.
                    Ok(Some(b"found".to_vec()))
                } else {
                    Ok(Some(b"any".to_vec()))
                };
                assert_eq!(t.lookup(&key), want, "{kind:?} {name} at {place}");
                // With smtputf8_enable = no a non-UTF-8 key is looked up.
                if c == b"\xff" {
                    let want = if kind == PatternKind::Cidr {
                        None
                    } else {
                        Some(b"any".to_vec())
                    };
                    assert_eq!(raw.lookup(&key), Ok(want), "{kind:?} raw {name}");
                }
                n += 1;
            }
        }
    }
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

/// Hostile sources: each is parsed, diagnosed and looked up without a
/// panic, and written back byte for byte.
#[test]
fn hostile_pattern_sources() {
    let mut n = 0;
    let sources: Vec<(PatternKind, Vec<u8>, Vec<&str>)> = vec![
        (
            PatternKind::Cidr,
            b"192.0.2.0/24\0 x\n".to_vec(),
            vec!["Cidr(NoLookupResult)"],
        ),
        (PatternKind::Cidr, b"192.0.2.0/24 x\r\n".to_vec(), vec![]),
        (
            PatternKind::Cidr,
            b"[192.0.2.0/24 x\n".to_vec(),
            vec!["Cidr(MissingBracket"],
        ),
        (
            PatternKind::Cidr,
            b"endif\n".to_vec(),
            vec!["Cidr(EndifWithoutIf)"],
        ),
        (
            PatternKind::Cidr,
            b"if 10.0.0.0/8\n".to_vec(),
            vec!["IfWithoutEndif"],
        ),
        (
            PatternKind::Cidr,
            "１９２.0.2.0 x\n".as_bytes().to_vec(),
            vec!["Cidr(BadAddressPattern"],
        ),
        (
            PatternKind::Cidr,
            b" 192.0.2.0 x\n".to_vec(),
            vec!["LeadingWhitespace"],
        ),
    ];
    let mut all = sources;
    for kind in regex_kinds() {
        let more: Vec<(Vec<u8>, Vec<&str>)> = vec![
            (b"/a(/ x\n".to_vec(), vec!["Compile"]),
            (b"/a[/ x\n".to_vec(), vec!["Compile"]),
            (b"/a/ $1\n".to_vec(), vec!["IndexOutOfRange"]),
            (b"/(a)/ $99999999999\n".to_vec(), vec!["IndexOutOfRange"]),
            (b"/a\n".to_vec(), vec!["NoClosingDelimiter"]),
            (b"!/a/ $1\n".to_vec(), vec!["NegatedSubstitution"]),
            (b"/a/\n".to_vec(), vec!["NoReplacementText"]),
            (
                b"/a/ ${\n".to_vec(),
                vec!["TruncatedMacro", "BadReplacementSyntax"],
            ),
            (
                b"/a/ ${}\n".to_vec(),
                vec!["EmptyMacroName", "BadReplacementSyntax"],
            ),
            (b"if /a/\nendif x\n".to_vec(), vec!["ExtraTextAfterEndif"]),
            (b"endif\n".to_vec(), vec!["EndifWithoutIf"]),
            (b"if /a/\n".repeat(1000), vec!["IfWithoutEndif"; 1000]),
            (b"/a{1,99999}/ x\n".to_vec(), vec!["Compile"]),
            (b"/a\0b/ x\n".to_vec(), vec!["NoClosingDelimiter"]),
            (b"/a\xffb/ x\n".to_vec(), vec![]),
        ];
        for (src, want) in more {
            all.push((kind, src, want));
        }
    }
    for (kind, src, want) in all {
        let t = PatternTable::parse(kind, &src);
        assert_eq!(t.to_bytes(), src);
        let got: Vec<String> = t
            .diagnostics()
            .iter()
            .map(|d| format!("{:?}", d.kind))
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "{kind:?} {:?}: {got:?}",
            String::from_utf8_lossy(&src)
        );
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.starts_with(w),
                "{kind:?} {:?}: {got:?}",
                String::from_utf8_lossy(&src)
            );
        }
        let _ = t.lookup(b"a");
        n += 1;
    }
    eprintln!("{n} cases");
    assert!(n >= 30, "{n}");
}

// --------------------------------------------------------------- inline

#[test]
fn hostile_inline() {
    let mut n = 0;
    let base = "inline:{ key=1, { ключ = 2 } }";
    let keyword_bad = |c: &str| -> Option<u8> {
        c.bytes()
            .find(|&b| b <= b' ' || b == 0x7f || b"=,\"\\{}".contains(&b))
    };
    for (name, c, _) in CHARS {
        // Lookups.
        let t: TableRef = base.parse().unwrap();
        for (place, key) in [
            ("start", format!("{c}key")),
            ("middle", format!("k{c}ey")),
            ("end", format!("key{c}")),
        ] {
            // As in C, the key ends at a NUL.
            let want = if c == "\0" && place == "end" {
                Lookup::Found("1")
            } else {
                Lookup::NotFound
            };
            assert_eq!(t.lookup(&key), Ok(want), "{name} at {place}");
            n += 1;
        }
        let s: TableRef = "static:{ x y }".parse().unwrap();
        assert_eq!(
            s.lookup(format!("k{c}")),
            Ok(Lookup::Found("x y")),
            "{name}"
        );
        // set_inline with the character in the key.
        let key = format!("k{c}ey");
        let mut t: TableRef = base.parse().unwrap();
        let got = t.set_inline(&key, "v");
        match keyword_bad(c) {
            Some(byte) => {
                assert_eq!(got, Err(InlineEditError::BadKeyByte { byte }), "{name} key");
                assert_eq!(t.as_str(), base);
            }
            None => {
                assert_eq!(got, Ok(()), "{name} key");
                assert_eq!(
                    t.as_str(),
                    format!("inline:{{ key=1, {{ ключ = 2 }}, {key}=v }}")
                );
                assert_eq!(t.lookup(&key), Ok(Lookup::Found("v")));
                let dump = t.inline_dump(Options::default()).unwrap();
                assert_eq!(dump.len(), 3, "{name}");
                assert_eq!(t.remove_inline(&key), Ok(1), "{name}");
                assert_eq!(t.as_str(), base, "{name}");
            }
        }
        // set_inline with the character in the value, middle and end.
        for (place, value) in [
            ("middle", format!("va{c}lue")),
            ("end", format!("value{c}")),
        ] {
            let mut t: TableRef = base.parse().unwrap();
            let got = t.set_inline("key", &value);
            let control = value.bytes().any(|b| b < 0x20 || b == 0x7f);
            let want = if control {
                Err(InlineEditError::BadValue {
                    reason: "control byte (CR, LF, TAB, NUL, ...)",
                })
            } else if c == " " && place == "end" {
                Err(InlineEditError::BadValue {
                    reason: "leading or trailing whitespace",
                })
            } else {
                Ok(())
            };
            assert_eq!(got, want, "{name} value {place}");
            if want.is_ok() {
                assert_eq!(
                    t.lookup("KEY"),
                    Ok(Lookup::Found(&value[..])),
                    "{name} {place}"
                );
            } else {
                assert_eq!(t.as_str(), base);
            }
            n += 1;
        }
        // remove_inline of a key that is not there: nothing removed.
        let mut t: TableRef = base.parse().unwrap();
        assert_eq!(t.remove_inline(&key), Ok(0), "{name}");
        assert_eq!(t.as_str(), base);
        n += 3;
    }
    // Non-UTF-8 queries.
    let t: TableRef = base.parse().unwrap();
    assert_eq!(t.lookup(b"key\xff"), Ok(Lookup::NonUtf8Key));
    let raw = Options {
        utf8: false,
        ..Options::default()
    };
    assert_eq!(t.lookup_with(b"key\xff", raw), Ok(Lookup::NotFound));
    assert_eq!(t.lookup_with(b"KEY", raw), Ok(Lookup::Found("1")));
    // Structural cases.
    let mut t: TableRef = base.parse().unwrap();
    assert_eq!(t.set_inline("", "v"), Err(InlineEditError::EmptyKey));
    assert_eq!(t.set_inline("k", ""), Err(InlineEditError::EmptyValue));
    for bad in ["{", "}", "a}b{", "{{}"] {
        assert_eq!(
            t.set_inline("k", bad),
            Err(InlineEditError::BadValue {
                reason: "unbalanced braces"
            }),
            "{bad}"
        );
    }
    assert_eq!(t.set_inline("k", "{a}"), Ok(()));
    assert_eq!(t.lookup("k"), Ok(Lookup::Found("{a}")));
    assert_eq!(t.set_inline("k", "a=b, c"), Ok(()));
    assert_eq!(t.lookup("k"), Ok(Lookup::Found("a=b, c")));
    let mut one: TableRef = "inline:{ a=1, A=2 }".parse().unwrap();
    assert_eq!(one.remove_inline("a"), Err(InlineEditError::WouldBeEmpty));
    let mut h: TableRef = "hash:/etc/postfix/x".parse().unwrap();
    assert_eq!(h.set_inline("a", "b"), Err(InlineEditError::NotInline));
    assert_eq!(h.remove_inline("a"), Err(InlineEditError::NotInline));
    assert_eq!(
        h.lookup("a"),
        Err(LookupError::NotInMemory {
            spec: "hash:/etc/postfix/x".into()
        })
    );
    let s: TableRef = "static:x".parse().unwrap();
    assert_eq!(
        s.inline_dump(Options::default()).map(|d| d.len()),
        Err(LookupError::SequenceNotSupported {
            spec: "static:x".into()
        })
    );
    let mut s2 = s.clone();
    assert_eq!(s2.set_inline("a", "b"), Err(InlineEditError::NotInline));
    n += 14;
    // Deep braces in a value: read and edited without recursion.
    let deep = format!("{}x{}", "{".repeat(100_000), "}".repeat(100_000));
    let mut t: TableRef = base.parse().unwrap();
    assert_eq!(t.set_inline("deep", &deep), Ok(()));
    assert_eq!(t.lookup("deep"), Ok(Lookup::Found(&deep[..])));
    let back: TableRef = t.as_str().parse().unwrap();
    assert_eq!(back.lookup("deep"), Ok(Lookup::Found(&deep[..])));
    n += 1;
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

// ------------------------------------------------------------------ size

type Run = Box<dyn Fn(usize) -> Duration>;

/// Times each shape at n and 8n (best of five, interleaved): the ratio
/// must stay under 24 unless the 8n run takes under 300 ms anyway (see
/// tests/hostile.rs for the reasoning).
#[test]
fn linear_time() {
    let scale = linear::hostile_scale();
    let mut shapes: Vec<(&str, Run)> = vec![
        (
            "search_keys: long quoted local part",
            Box::new(|n| {
                let addr = format!("{}@example.com", "a\"b ".repeat(n * 16));
                let t0 = Instant::now();
                let k = search_keys(&addr, &AddressLookup::default());
                assert_eq!(k.len(), 3);
                t0.elapsed()
            }),
        ),
        (
            "search_keys: many delimiters",
            Box::new(|n| {
                let addr = format!("a{}@example.com", "+".repeat(n * 64));
                let t0 = Instant::now();
                let k = search_keys(&addr, &AddressLookup::default());
                assert_eq!(k.len(), 3);
                t0.elapsed()
            }),
        ),
        (
            "inline: many entries, set and remove",
            Box::new(|n| {
                let mut s = String::from("inline:{ ");
                for i in 0..n {
                    s.push_str(&format!("k{i}=v{i}, "));
                }
                s.push_str("last=x }");
                let t0 = Instant::now();
                let mut t: TableRef = s.parse().unwrap();
                assert_eq!(t.lookup("K1"), Ok(Lookup::Found("v1")));
                t.set_inline("k2", "new").unwrap();
                t.set_inline("fresh", "y").unwrap();
                assert_eq!(t.remove_inline("k3"), Ok(1));
                assert_eq!(t.inline_dump(Options::default()).unwrap().len(), n + 1);
                t0.elapsed()
            }),
        ),
        (
            "inline: nested braces in a value",
            Box::new(|n| {
                let deep = format!("{}x{}", "{".repeat(n * 4), "}".repeat(n * 4));
                let s = format!("inline:{{ {{ k = {deep} }} }}");
                let t0 = Instant::now();
                let t: TableRef = s.parse().unwrap();
                assert_eq!(
                    t.lookup("k").unwrap().value().map(str::len),
                    Some(deep.len())
                );
                t0.elapsed()
            }),
        ),
        (
            "cidr: many rules",
            Box::new(|n| {
                let mut src = Vec::new();
                for i in 0..n {
                    src.extend_from_slice(
                        format!("10.{}.{}.0/24 r{i}\n", i / 256 % 256, i % 256).as_bytes(),
                    );
                }
                let t0 = Instant::now();
                let mut t = PatternTable::parse(PatternKind::Cidr, &src);
                let _ = t.diagnostics();
                let _ = t.lookup(b"192.0.2.1");
                t.push(b"192.0.2.0/24 x").unwrap();
                t.remove(0).unwrap();
                let _ = t.to_bytes();
                t0.elapsed()
            }),
        ),
        (
            "cidr: continuation lines",
            Box::new(|n| {
                let mut src = b"192.0.2.0/24 x".to_vec();
                for _ in 0..n * 8 {
                    src.extend_from_slice(b"\n y");
                }
                src.push(b'\n');
                let t0 = Instant::now();
                let t = PatternTable::parse(PatternKind::Cidr, &src);
                assert_eq!(
                    t.lookup(b"192.0.2.1").unwrap().map(|v| v.len()),
                    Some(1 + n * 8 * 2)
                );
                t0.elapsed()
            }),
        ),
    ];
    for kind in regex_kinds() {
        let name = if kind == PatternKind::Pcre {
            "pcre: long result line"
        } else {
            "regexp: long result line"
        };
        shapes.push((
            name,
            Box::new(move |n| {
                let mut src = b"/^k$/ ".to_vec();
                src.resize(n * 64, b'v');
                let t0 = Instant::now();
                let t = PatternTable::parse(kind, &src);
                assert_eq!(t.lookup(b"k").unwrap().map(|v| v.len()), Some(n * 64 - 6));
                t0.elapsed()
            }),
        ));
        let name = if kind == PatternKind::Pcre {
            "pcre: long key"
        } else {
            "regexp: long key"
        };
        shapes.push((
            name,
            Box::new(move |n| {
                let t = PatternTable::parse(kind, b"/^(a|b)*c$/ x\n");
                let key = "ab".repeat(n * 16);
                let t0 = Instant::now();
                assert_eq!(t.lookup(key.as_bytes()), Ok(None));
                t0.elapsed()
            }),
        ));
    }
    let base = 5_000 * scale;
    for (name, run) in shapes {
        linear::assert_linear(name, base, run);
    }
}
