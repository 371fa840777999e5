//! Hostile input for the entry points of `postfix-maincf` that
//! `tests/hostile.rs` does not cover: `known::Known::try_new`/`new` (hostile
//! master.cf), `postconf::show` (hostile master.cf, NAME arguments and
//! size cases) and `typed::set_inline_entry`/`remove_inline_entry`/
//! `parse_table_refs`. Each case states its exact outcome. A timing test
//! (n vs 8n) closes the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../postfix-table/tests/common/linear.rs"]
mod linear;
use std::time::{Duration, Instant};

use postfix_maincf::MainCf;
use postfix_maincf::known::{Known, MasterCfError};
use postfix_maincf::postconf::{Message, ShowOptions, show};
use postfix_maincf::typed::{
    InlineValueError, parse_table_refs, remove_inline_entry, set_inline_entry,
};
use postfix_table::inline::InlineEditError;
use postfix_table::spec::SpecError;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Lf,
    /// Separates master.cf fields: space, TAB, CR.
    Sep,
    /// Whitespace for main.cf but not a master.cf field separator.
    VtFf,
    Nul,
    Other,
}

const HOSTILE: [(&str, &[u8], Class); 17] = [
    ("LF", b"\n", Class::Lf),
    ("CR", b"\r", Class::Sep),
    ("TAB", b"\t", Class::Sep),
    ("space", b" ", Class::Sep),
    ("VT", b"\x0b", Class::VtFf),
    ("FF", b"\x0c", Class::VtFf),
    ("NUL", b"\0", Class::Nul),
    ("hash", b"#", Class::Other),
    ("dollar", b"$", Class::Other),
    ("regex metachars", b".*+?^()[]|\\", Class::Other),
    ("DEL", b"\x7f", Class::Other),
    ("non-UTF-8 byte", b"\xff", Class::Other),
    ("U+FFFD", "\u{fffd}".as_bytes(), Class::Other),
    ("Cyrillic e", "\u{435}".as_bytes(), Class::Other),
    ("RTL override", "\u{202e}".as_bytes(), Class::Other),
    ("zero-width space", "\u{200b}".as_bytes(), Class::Other),
    ("NBSP", "\u{a0}".as_bytes(), Class::Other),
];

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn err(line: usize, message: String) -> Result<(), MasterCfError> {
    Err(MasterCfError { line, message })
}

fn bad_count(line: usize) -> Result<(), MasterCfError> {
    err(line, "bad field count".into())
}

#[test]
fn hostile_master_cf() {
    let main = MainCf::parse(b"myhostname = mail.example.com\n");
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        let line = |a: &[u8], b: &[u8]| [a, c, b].concat();
        let cases: Vec<(&str, Vec<u8>, Result<(), MasterCfError>)> = vec![
            (
                "service",
                line(b"sm", b"tp inet n - y - - smtpd\n"),
                match class {
                    Class::Lf | Class::Nul => bad_count(1),
                    Class::Sep => err(
                        1,
                        format!(
                            "invalid type field \"tp\" in \"{}\"",
                            lossy(&line(b"sm", b"tp inet n - y - - smtpd"))
                        ),
                    ),
                    _ => Ok(()),
                },
            ),
            (
                "type",
                line(b"smtp in", b"et n - y - - smtpd\n"),
                match class {
                    Class::Lf | Class::Nul => bad_count(1),
                    Class::Sep => err(
                        1,
                        format!(
                            "invalid type field \"in\" in \"{}\"",
                            lossy(&line(b"smtp in", b"et n - y - - smtpd"))
                        ),
                    ),
                    _ => err(
                        1,
                        format!(
                            "invalid type field \"{}\" in \"{}\"",
                            lossy(&line(b"in", b"et")),
                            lossy(&line(b"smtp in", b"et n - y - - smtpd"))
                        ),
                    ),
                },
            ),
            (
                "command",
                line(b"smtp inet n - y - - smt", b"pd\n"),
                match class {
                    // `pd` starts a line of its own.
                    Class::Lf => bad_count(2),
                    _ => Ok(()),
                },
            ),
            (
                "-o value",
                line(
                    b"smtp inet n - y - - smtpd -o smtpd_tls_security_level=ma",
                    b"y\n",
                ),
                match class {
                    Class::Lf => bad_count(2),
                    _ => Ok(()),
                },
            ),
        ];
        for (place, master, want) in cases {
            let got = Known::try_new(&main, &master).map(|_| ());
            assert_eq!(got, want, "{name} in {place}");
            // Known::new reads up to the bad entry and keeps the error.
            let k = Known::new(&main, &master);
            assert_eq!(k.master_cf_error().cloned().map_or(Ok(()), Err), want);
            // postconf: the same error is fatal, nothing on stdout.
            let out = show(
                "/etc/postfix",
                &main,
                &master,
                &ShowOptions::default(),
                &[b"myhostname".to_vec()],
            );
            match &want {
                Err(e) => {
                    assert_eq!(out.status, 1, "{name} in {place}");
                    assert_eq!(out.stdout, b"");
                    assert_eq!(
                        out.messages,
                        vec![Message::Fatal(format!(
                            "file /etc/postfix/master.cf: line {}: {}",
                            e.line, e.message
                        ))]
                    );
                }
                Ok(()) => {
                    assert_eq!(out.status, 0, "{name} in {place}: {:?}", out.messages);
                    assert_eq!(out.stdout, b"myhostname = mail.example.com\n");
                }
            }
            n += 2;
        }
    }
    // Structural cases.
    let structural: Vec<(Vec<u8>, Result<(), MasterCfError>)> = vec![
        (b"".to_vec(), Ok(())),
        (b"# only a comment\n\n".to_vec(), Ok(())),
        (b" indented first line\n".to_vec(), Ok(())),
        (b"smtp inet n - y - -\n".to_vec(), bad_count(1)),
        (b"smtp inet n - y - -\n smtpd\n".to_vec(), Ok(())),
        (
            b"smtp inet x - y - - smtpd\n".to_vec(),
            err(
                1,
                "invalid private field \"x\" in \"smtp inet x - y - - smtpd\"".into(),
            ),
        ),
        (b"smtp inet n - y 60? - smtpd\n".to_vec(), Ok(())),
        (
            b"smtp inet n - y 6x - smtpd\n".to_vec(),
            err(
                1,
                "invalid wakeup field \"6x\" in \"smtp inet n - y 6x - smtpd\"".into(),
            ),
        ),
        (
            b"smtp inet n - y - -1 smtpd\n".to_vec(),
            err(
                1,
                "invalid process_limit field \"-1\" in \"smtp inet n - y - -1 smtpd\"".into(),
            ),
        ),
        (
            b"smtp inet n - y - 99999999999999999999 smtpd\n".to_vec(),
            Ok(()),
        ),
        (
            b"smtp inet n - y - - smtpd -o { a = b c }\n".to_vec(),
            Ok(()),
        ),
        (b"smtp inet n - y - - smtpd -o {\n".to_vec(), Ok(())),
        (b"smtp inet n - y - - smtpd -o\n".to_vec(), Ok(())),
        (b"smtp inet n - y - - smtpd -oa=b -o -o\n".to_vec(), Ok(())),
    ];
    for (master, want) in structural {
        assert_eq!(
            Known::try_new(&main, &master).map(|_| ()),
            want,
            "{:?}",
            lossy(&master)
        );
        n += 1;
    }
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_show_names() {
    let main = MainCf::parse(b"myhostname = mail.example.com\n");
    let mut n = 0;
    for (name, c, _) in HOSTILE {
        for (place, arg) in [
            ("start", [c, b"myhostname"].concat()),
            ("middle", [b"myhost", c, b"name"].concat()),
            ("end", [b"myhostname", c].concat()),
        ] {
            let out = show(
                "/etc/postfix",
                &main,
                b"",
                &ShowOptions::default(),
                std::slice::from_ref(&arg),
            );
            assert_eq!(out.status, 0, "{name} at {place}");
            assert_eq!(out.stdout, b"", "{name} at {place}");
            assert_eq!(out.messages.len(), 1, "{name} at {place}");
            let Message::Warning(w) = &out.messages[0] else {
                panic!("{name} at {place}: {:?}", out.messages);
            };
            assert!(w.ends_with(": unknown parameter"), "{name} at {place}: {w}");
            n += 1;
        }
    }
    // An empty name, a huge one, a known one twice.
    let out = show(
        "/etc/postfix",
        &main,
        b"",
        &ShowOptions::default(),
        &[Vec::new()],
    );
    assert_eq!(
        out.messages,
        vec![Message::Warning(": unknown parameter".into())]
    );
    let huge = vec![b'a'; 10 << 20];
    let out = show("/etc/postfix", &main, b"", &ShowOptions::default(), &[huge]);
    assert_eq!((out.status, out.messages.len()), (0, 1));
    let twice = [b"myhostname".to_vec(), b"myhostname".to_vec()];
    let out = show("/etc/postfix", &main, b"", &ShowOptions::default(), &twice);
    assert_eq!(
        out.stdout,
        b"myhostname = mail.example.com\nmyhostname = mail.example.com\n"
    );
    n += 3;
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_inline_entries() {
    let raw: &[u8] = b"texthash:/etc/postfix/sasl, inline:{ a=1 }";
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        let Ok(cs) = std::str::from_utf8(c) else {
            continue; // keys and values are &str
        };
        // In the key.
        let key = format!("k{cs}y");
        let got = set_inline_entry(raw, &key, "v");
        let bad = key
            .bytes()
            .find(|&b| b <= b' ' || b == 0x7f || b"=,\"\\{}".contains(&b));
        match bad {
            Some(byte) => assert_eq!(
                got,
                Err(InlineValueError::Edit(InlineEditError::BadKeyByte { byte })),
                "{name} in key"
            ),
            None => {
                // `$` is written `$$` for main.cf.
                let written = key.replace('$', "$$");
                let want = format!("texthash:/etc/postfix/sasl, inline:{{ a=1, {written}=v }}");
                assert_eq!(got.as_deref(), Ok(want.as_bytes()), "{name} in key");
                let (back, removed) = remove_inline_entry(want.as_bytes(), &key).unwrap();
                assert_eq!((&back[..], removed), (raw, 1), "{name} in key");
            }
        }
        // In the value.
        let value = format!("v{cs}x");
        let got = set_inline_entry(raw, "a", &value);
        if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
            assert_eq!(
                got,
                Err(InlineValueError::Edit(InlineEditError::BadValue {
                    reason: "control byte (CR, LF, TAB, NUL, ...)"
                })),
                "{name} in value"
            );
        } else {
            let new = got.unwrap();
            let expanded = String::from_utf8(new.clone()).unwrap().replace("$$", "$");
            let refs = parse_table_refs(expanded.as_bytes()).unwrap();
            assert_eq!(
                refs[1].inline_lookup("A"),
                Some(&value[..]),
                "{name} in value"
            );
        }
        // In the raw value, outside the table: kept byte for byte.
        let hostile_raw = [b"texthash:/x", c, b"y, inline:{ a=1 }"].concat();
        let got = set_inline_entry(&hostile_raw, "b", "2");
        let want = match class {
            // The NUL ends the value (a C string): no inline table left.
            Class::Nul => Err(InlineValueError::NoInlineTable),
            _ => Ok([&hostile_raw[..hostile_raw.len() - 2], b", b=2 }"].concat()),
        };
        assert_eq!(got, want, "{name} in raw value");
        n += 3;
    }
    // parse_table_refs with the character inside a reference.
    for (name, c, class) in HOSTILE {
        let value = [b"hash:/a", c, b"b, inline:{ x=1 }"].concat();
        let got = parse_table_refs(&value).map(|v| v.len());
        let want = match class {
            // A list separator: `b` alone is no reference.
            Class::Lf | Class::Sep => Err(SpecError::MissingColon { spec: "b".into() }.into()),
            // The value ends at the NUL (a C string): one reference.
            Class::Nul => Ok(1),
            _ if c == b"\xff" => Err(SpecError::NotUtf8.into()),
            _ => Ok(2),
        };
        assert_eq!(got, want, "{name} in reference");
        n += 1;
    }
    let structural: Vec<(&[u8], Result<(), InlineValueError>)> = vec![
        (b"hash:/x", Err(InlineValueError::NoInlineTable)),
        (b"", Err(InlineValueError::NoInlineTable)),
        (
            b"inline:{ a=1 }, inline:{ b=2 }",
            Err(InlineValueError::SeveralInlineTables),
        ),
        (
            b"inline:{ a=$x }",
            Err(InlineValueError::ParameterReference),
        ),
        (
            b"inline:{ a=${x} }",
            Err(InlineValueError::ParameterReference),
        ),
        (b"inline:{ a=$$x }", Ok(())),
        (
            b"inline:{ a=1 $}",
            Err(InlineValueError::ParameterReference),
        ),
        (
            b"proxy:inline:{ a=1 }",
            Err(InlineValueError::NoInlineTable),
        ),
    ];
    for (raw, want) in structural {
        assert_eq!(
            set_inline_entry(raw, "k", "v").map(|_| ()),
            want,
            "{:?}",
            lossy(raw)
        );
        n += 1;
    }
    assert!(matches!(
        set_inline_entry(b"inline:{ a }", "k", "v"),
        Err(InlineValueError::Table(SpecError::InlineEntry { .. }))
    ));
    assert_eq!(
        remove_inline_entry(b"inline:{ a=1 }", "A"),
        Err(InlineValueError::Edit(InlineEditError::WouldBeEmpty))
    );
    assert_eq!(
        remove_inline_entry(b"inline:{ a=1 }", "a\0"),
        Ok((b"inline:{ a=1 }".to_vec(), 0))
    );
    n += 3;
    eprintln!("{n} cases");
    assert!(n >= 50, "{n}");
}

/// Size cases: a 10 MB master.cf line, 100k master.cf lines, 100k
/// continuation lines, a 100k-entry inline table; n vs 8n under 24x
/// (or the 8n run under 300 ms), best of five.
#[test]
fn linear_time() {
    let scale = linear::hostile_scale();
    type Run = Box<dyn Fn(usize) -> Duration>;
    let main = MainCf::parse(b"myhostname = mail.example.com\n");
    let shapes: Vec<(&str, Run)> = vec![
        (
            "master.cf: long -o value",
            Box::new(|n| {
                let mut m = b"smtp inet n - y - - smtpd -o a=".to_vec();
                m.resize(m.len() + n * 64, b'v');
                m.push(b'\n');
                let main = MainCf::parse(b"");
                let t0 = Instant::now();
                assert!(Known::try_new(&main, &m).is_ok());
                t0.elapsed()
            }),
        ),
        (
            "master.cf: many services",
            Box::new(|n| {
                let mut m = Vec::new();
                for i in 0..n {
                    m.extend_from_slice(
                        format!("s{i} unix - - y - - smtpd -o p{i}=$x{i}\n").as_bytes(),
                    );
                }
                let main = MainCf::parse(b"");
                let t0 = Instant::now();
                let k = Known::try_new(&main, &m).unwrap();
                assert!(!k.all_names().is_empty());
                t0.elapsed()
            }),
        ),
        (
            "master.cf: continuation lines",
            Box::new(|n| {
                let mut m = b"smtp inet n - y - - smtpd".to_vec();
                for _ in 0..n {
                    m.extend_from_slice(b"\n  -v");
                }
                m.push(b'\n');
                let main = MainCf::parse(b"");
                let t0 = Instant::now();
                assert!(Known::try_new(&main, &m).is_ok());
                t0.elapsed()
            }),
        ),
        (
            "set_inline_entry: many entries",
            Box::new(|n| {
                let mut raw = String::from("inline:{ ");
                for i in 0..n {
                    raw.push_str(&format!("k{i}=v{i}, "));
                }
                raw.push_str("z=1 }");
                let t0 = Instant::now();
                let new = set_inline_entry(raw.as_bytes(), "k7", "pa$word").unwrap();
                let (_, gone) = remove_inline_entry(&new, "k8").unwrap();
                assert_eq!(gone, 1);
                t0.elapsed()
            }),
        ),
    ];
    let _ = &main;
    let base = 5_000 * scale;
    for (name, run) in shapes {
        linear::assert_linear(name, base, run);
    }
}

/// `show` on a table parameter whose value nests `{ }` groups very deeply
/// (the database-client scan peels them): linear. Regression: each level
/// was copied and re-split, quadratic (40,000 levels took 4.4 s in a
/// release build, 160,000 did not finish in 9 minutes in a debug build).
#[test]
fn show_nested_braces() {
    for n in [5_000usize, 40_000] {
        let src = format!(
            "smtp_sasl_password_maps = inline:{{ {{ k = {}x{} }} }}\n",
            "{".repeat(n),
            "}".repeat(n)
        );
        let main = MainCf::parse(src.as_bytes());
        let t0 = Instant::now();
        let out = show(
            "/etc/postfix",
            &main,
            b"",
            &ShowOptions::default(),
            &[b"smtp_sasl_password_maps".to_vec()],
        );
        assert_eq!(out.status, 0);
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{n}: {:?}",
            t0.elapsed()
        );
    }
}
