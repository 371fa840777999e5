//! Hostile input for the public entry points of `postfix-maincf` that take
//! outside data: `MainCf::parse` (main.cf bytes: values and diagnostics),
//! `MainCf::set`/`remove`/`postconf_edit` (edits: the exact `EditError`),
//! `expand::expand`/`scan` (`$` expressions: the value or the `ErrorKind`)
//! and the `typed` conversions. Families are generated: each hostile
//! character in a name, in a value and at the start of a line. Size cases
//! (a 10 MB line, 100k continuation lines, 100k-deep `${`) and a timing
//! test (n vs 8n) close the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../postfix-table/tests/common/linear.rs"]
mod linear;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use postfix_maincf::expand::{ErrorKind, expand, references, scan};
use postfix_maincf::typed::{self, TimeUnit, TypedError};
use postfix_maincf::{EditError, EditMode, MainCf};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Lf,
    /// Whitespace other than LF: space, TAB, CR, VT, FF.
    Ws,
    Nul,
    Hash,
    Dollar,
    Eq,
    /// DEL: a control character that is not whitespace.
    Del,
    /// Printable ASCII punctuation and Unicode (look-alikes, fullwidth,
    /// bidi override, zero-width and no-break spaces).
    Other,
}

const HOSTILE: [(&str, &str, Class); 18] = [
    ("LF", "\n", Class::Lf),
    ("CR", "\r", Class::Ws),
    ("TAB", "\t", Class::Ws),
    ("VT", "\x0b", Class::Ws),
    ("FF", "\x0c", Class::Ws),
    ("space", " ", Class::Ws),
    ("NUL", "\0", Class::Nul),
    ("hash", "#", Class::Hash),
    ("dollar", "$", Class::Dollar),
    ("equals", "=", Class::Eq),
    ("DEL", "\x7f", Class::Del),
    ("regex metachars", ".*+?^()[]|\\", Class::Other),
    ("U+FFFD", "\u{fffd}", Class::Other),
    ("Cyrillic e", "\u{435}", Class::Other),
    ("fullwidth colon", "\u{ff1a}", Class::Other),
    ("RTL override", "\u{202e}", Class::Other),
    ("zero-width space", "\u{200b}", Class::Other),
    ("NBSP", "\u{a0}", Class::Other),
];

fn values(cf: &MainCf) -> Vec<(String, String)> {
    cf.values()
        .into_iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect()
}

fn diags(cf: &MainCf) -> Vec<(usize, String)> {
    cf.diagnostics()
        .into_iter()
        .map(|d| {
            let kind = format!("{:?}", d.kind);
            (d.line, kind.split([' ', '{']).next().unwrap().to_string())
        })
        .collect()
}

type Outcome = (Vec<(String, String)>, Vec<(usize, String)>);

fn v(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn d(line: usize, kind: &str) -> (usize, String) {
    (line, kind.to_string())
}

#[test]
fn hostile_main_cf_sources() {
    let mut n = 0;
    let mut cases: Vec<(String, Vec<u8>, Outcome)> = Vec::new();
    for (name, c, class) in HOSTILE {
        // In the value.
        let src = format!("my_name = va{c}lue\n");
        let full = format!("va{c}lue");
        let want: Outcome = match class {
            Class::Lf => (v(&[("my_name", "va")]), vec![d(2, "MissingEquals")]),
            Class::Nul => (v(&[("my_name", "va")]), vec![]),
            _ => (v(&[("my_name", &full)]), vec![]),
        };
        cases.push((format!("{name} in a value"), src.into_bytes(), want));
        // In the name.
        let src = format!("my{c}name = value\n");
        let full = format!("my{c}name");
        let want: Outcome = match class {
            Class::Lf => (v(&[("name", "value")]), vec![d(1, "MissingEquals")]),
            Class::Ws | Class::Nul => (vec![], vec![d(1, "MissingEquals")]),
            Class::Eq => (v(&[("my", "name = value")]), vec![]),
            _ => (v(&[(&full, "value")]), vec![]),
        };
        cases.push((format!("{name} in a name"), src.into_bytes(), want));
        // At the start of a line, after a first parameter.
        let src = format!("a = b\n{c}name = value\n");
        let full = format!("{c}name");
        let want: Outcome = match class {
            Class::Lf => (v(&[("a", "b"), ("name", "value")]), vec![]),
            // A continuation line: joined onto the value above (the LF
            // goes, the leading whitespace stays).
            Class::Ws => (v(&[("a", &format!("b{c}name = value"))]), vec![]),
            Class::Nul => (v(&[("a", "b")]), vec![d(2, "MissingName")]),
            Class::Hash => (v(&[("a", "b")]), vec![]),
            Class::Eq => (v(&[("a", "b")]), vec![d(2, "MissingName")]),
            _ => (v(&[("a", "b"), (&full, "value")]), vec![]),
        };
        cases.push((format!("{name} at line start"), src.into_bytes(), want));
    }
    // Not UTF-8: Postfix takes bytes.
    cases.push((
        "Latin-1 value".into(),
        b"a = caf\xe9\n".to_vec(),
        (v(&[("a", "caf\u{fffd}")]), vec![]),
    ));
    cases.push((
        "Latin-1 name".into(),
        b"\xe9 = x\n".to_vec(),
        (v(&[("\u{fffd}", "x")]), vec![]),
    ));
    cases.push((
        "CRLF".into(),
        b"a = b\r\n".to_vec(),
        (v(&[("a", "b")]), vec![]),
    ));
    cases.push((
        "override".into(),
        b"a = 1\na = 2\n".to_vec(),
        (v(&[("a", "2")]), vec![d(2, "Overriding")]),
    ));
    cases.push((
        "leading whitespace first line".into(),
        b" a = b\n".to_vec(),
        (vec![], vec![d(1, "LeadingWhitespace")]),
    ));
    for (name, src, mut want) in cases {
        // `values()` is sorted by name.
        want.0.sort();
        let cf = MainCf::parse(&src);
        assert_eq!(cf.to_bytes(), src, "{name}: round trip");
        assert_eq!((values(&cf), diags(&cf)), want, "{name}");
        n += 1;
    }
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_main_cf_edits() {
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        let bad_name = |nm: &str, reason| {
            Err(EditError::InvalidName {
                name: nm.as_bytes().to_vec(),
                reason,
            })
        };
        let bad_value = |reason| {
            Err(EditError::InvalidValue {
                name: b"a".to_vec(),
                reason,
            })
        };
        let cases: Vec<(&str, String, String, Result<String, EditError>)> = vec![
            (
                "name middle",
                format!("my{c}name"),
                "value".into(),
                match class {
                    Class::Lf | Class::Ws => bad_name(&format!("my{c}name"), "contains whitespace"),
                    Class::Nul | Class::Del => {
                        bad_name(&format!("my{c}name"), "contains a control character")
                    }
                    Class::Eq => bad_name(&format!("my{c}name"), "contains '='"),
                    _ => Ok("value".into()),
                },
            ),
            (
                "name start",
                format!("{c}name"),
                "value".into(),
                match class {
                    Class::Lf | Class::Ws => bad_name(&format!("{c}name"), "contains whitespace"),
                    Class::Nul | Class::Del => {
                        bad_name(&format!("{c}name"), "contains a control character")
                    }
                    Class::Eq => bad_name(&format!("{c}name"), "contains '='"),
                    Class::Hash => bad_name(&format!("{c}name"), "starts with '#' (a comment)"),
                    _ => Ok("value".into()),
                },
            ),
            (
                "value middle",
                "a".into(),
                format!("va{c}lue"),
                match (class, c) {
                    (Class::Lf, _) => bad_value("contains a newline"),
                    (_, "\r") => bad_value("contains a carriage return"),
                    (Class::Nul, _) => bad_value("contains a NUL byte"),
                    (_, "\x0b" | "\x0c") | (Class::Del, _) => {
                        bad_value("contains a control character")
                    }
                    _ => Ok(format!("va{c}lue")),
                },
            ),
            (
                "value end",
                "a".into(),
                format!("value{c}"),
                match (class, c) {
                    (Class::Lf, _) => bad_value("contains a newline"),
                    (_, "\r") => bad_value("contains a carriage return"),
                    (Class::Nul, _) => bad_value("contains a NUL byte"),
                    (_, "\x0b" | "\x0c") | (Class::Del, _) => {
                        bad_value("contains a control character")
                    }
                    (Class::Dollar, _) => {
                        bad_value("has a malformed $ expression (write $$ for a literal $)")
                    }
                    // Trailing space and TAB are trimmed, as postconf does.
                    (Class::Ws, _) => Ok("value".into()),
                    _ => Ok(format!("value{c}")),
                },
            ),
        ];
        for (place, nm, val, want) in cases {
            let mut cf = MainCf::parse(b"# mine\nx = 1\n");
            let before = cf.to_bytes();
            match (cf.set(&nm, &val), want) {
                (Ok(_), Ok(want)) => {
                    let back = MainCf::parse(&cf.to_bytes());
                    assert_eq!(back.get_str(&nm), Some(want), "{name} {place}");
                    assert_eq!(back.get_str("x").as_deref(), Some("1"));
                    assert_eq!(diags(&back), vec![], "{name} {place}");
                }
                (got, want) => {
                    assert_eq!(got.map(|_| String::new()), want, "{name} {place}");
                    assert_eq!(cf.to_bytes(), before, "{name} {place}: refused edit wrote");
                }
            }
            n += 1;
        }
    }
    // postconf -e / -X argument syntax.
    let cf = || MainCf::parse(b"x = 1\n");
    let e = |args: &[&str]| cf().postconf_edit(EditMode::Set, args).map(|r| r.changed);
    let x = |args: &[&str]| {
        cf().postconf_edit(EditMode::Remove, args)
            .map(|r| r.changed)
    };
    assert_eq!(e(&["a = b\nc = d"]), Err(EditError::MultiLine));
    assert_eq!(e(&["#a = b"]), Err(EditError::CommentInput));
    assert_eq!(
        e(&["a b"]),
        Err(EditError::MissingEquals {
            arg: b"a b".to_vec()
        })
    );
    assert_eq!(
        e(&["= b"]),
        Err(EditError::MissingName {
            arg: b"= b".to_vec()
        })
    );
    // Only the name part is kept: the value may be a password.
    assert_eq!(
        e(&["a\0 = b"]),
        Err(EditError::Nul {
            arg: b"a\0".to_vec()
        })
    );
    assert_eq!(x(&["x = 1"]), Err(EditError::NameWithValue));
    assert_eq!(x(&[" "]), Err(EditError::BlankName));
    assert_eq!(e(&["a = ${x"]), Ok(true)); // postconf writes any value
    n += 8;
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_expansions() {
    let mut params: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    params.insert(b"name".to_vec(), b"V".to_vec());
    let mut n = 0;
    use ErrorKind as K;
    for (name, c, class) in HOSTILE {
        let cases: [(String, Result<String, K>); 5] = [
            // `$name` ends at the first byte that is not a name byte.
            (
                format!("$na{c}me"),
                match class {
                    Class::Nul | Class::Dollar => Ok(String::new()),
                    _ => Ok(format!("{c}me")),
                },
            ),
            (
                format!("${{na{c}me}}"),
                match class {
                    Class::Nul => Err(K::TruncatedMacroReference),
                    _ if c.contains('?') => Err(K::AttributeNameSyntax),
                    _ => Err(K::AttributeNameSyntax),
                },
            ),
            (
                format!("$(na{c}me)"),
                match class {
                    Class::Nul => Err(K::TruncatedMacroReference),
                    _ => Err(K::AttributeNameSyntax),
                },
            ),
            // `${name:x}`: x when name is empty or undefined (it is set).
            (
                format!("${{name:{c}}}"),
                match class {
                    Class::Nul => Err(K::TruncatedMacroReference),
                    _ => Ok(String::new()),
                },
            ),
            // `${name?x}`: x when name is set.
            (
                format!("${{name?{c}}}"),
                match class {
                    Class::Nul => Err(K::TruncatedMacroReference),
                    Class::Dollar => Err(K::EmptyMacroName),
                    _ => Ok(c.to_string()),
                },
            ),
        ];
        for (text, want) in cases {
            // The regex metacharacters hold braces and parentheses.
            if class == Class::Other && c.starts_with('.') {
                continue;
            }
            let got = expand(text.as_bytes(), &params)
                .map(|x| String::from_utf8_lossy(&x.value).into_owned())
                .map_err(|e| e.kind());
            assert_eq!(got, want, "{name}: {text:?}");
            n += 1;
        }
    }
    // Brackets, operators, and structure.
    let fixed: [(&str, Result<&str, K>); 16] = [
        ("${na}me}", Ok("me}")),
        ("${na:me}", Ok("me")),
        ("${na?me}", Ok("")),
        ("$(na)me)", Ok("me)")),
        ("${na{me}", Err(K::TruncatedMacroReference)),
        ("$(na(me)", Err(K::TruncatedMacroReference)),
        ("${name:{}", Err(K::TruncatedMacroReference)),
        ("${name:}}", Ok("}")),
        ("$", Err(K::EmptyMacroName)),
        ("${}", Err(K::EmptyMacroName)),
        ("$$", Ok("$")),
        ("${name", Err(K::TruncatedMacroReference)),
        ("$name$name", Ok("VV")),
        ("x$", Err(K::EmptyMacroName)),
        ("${{$name} == {V} ? {yes} : {no}}", Ok("yes")),
        ("${{$name} ~ {V} ? {yes} : {no}}", Err(K::OperatorExpected)),
    ];
    for (text, want) in fixed {
        let got = expand(text.as_bytes(), &params)
            .map(|x| String::from_utf8_lossy(&x.value).into_owned())
            .map_err(|e| e.kind());
        assert_eq!(got, want.map(str::to_string), "{text:?}");
        n += 1;
    }
    assert!(n >= 50, "{n}");
}

#[test]
fn hostile_typed() {
    let mut n = 0;
    for (name, c, class) in HOSTILE {
        let (start, middle, end) = (format!("{c}587"), format!("5{c}87"), format!("587{c}"));
        let bad_n = |s: &str| {
            Err(TypedError::BadNumber {
                value: s.as_bytes().to_vec(),
            })
        };
        let bad_t = |s: &str| {
            Err(TypedError::BadTime {
                value: s.as_bytes().to_vec(),
            })
        };
        // strtol skips leading whitespace; a NUL ends the C string.
        let (want_start, want_middle, want_end) = match class {
            Class::Lf | Class::Ws => (Ok(587), bad_n(&middle), bad_n(&end)),
            Class::Nul => (bad_n(""), Ok(5), Ok(587)),
            _ => (bad_n(&start), bad_n(&middle), bad_n(&end)),
        };
        assert_eq!(
            typed::parse_long(start.as_bytes()),
            want_start,
            "{name} start"
        );
        assert_eq!(
            typed::parse_long(middle.as_bytes()),
            want_middle,
            "{name} middle"
        );
        assert_eq!(typed::parse_long(end.as_bytes()), want_end, "{name} end");
        let want_time = match class {
            Class::Nul => Ok(587),
            _ => bad_t(&end),
        };
        assert_eq!(
            typed::parse_time(end.as_bytes(), TimeUnit::Seconds),
            want_time,
            "{name} time"
        );
        let yes = format!("yes{c}");
        let want_bool = match class {
            Class::Nul => Ok(true),
            _ => Err(TypedError::BadBool {
                value: yes.as_bytes().to_vec(),
            }),
        };
        assert_eq!(typed::parse_bool(yes.as_bytes()), want_bool, "{name} bool");
        n += 5;
    }
    let fixed: [(&str, Result<i64, ()>); 6] = [
        ("9223372036854775807", Ok(i64::MAX)),
        ("9223372036854775808", Err(())),
        ("-9223372036854775808", Ok(i64::MIN)),
        ("+1", Ok(1)),
        ("", Err(())),
        ("0x10", Err(())),
    ];
    for (s, want) in fixed {
        assert_eq!(
            typed::parse_long(s.as_bytes()).map_err(|_| ()),
            want,
            "{s:?}"
        );
        n += 1;
    }
    assert_eq!(typed::parse_int(b"2147483648").map_err(|_| ()), Err(()));
    assert_eq!(
        typed::parse_time(b"2147483647w", TimeUnit::Seconds).map_err(|_| ()),
        Err(())
    );
    n += 2;
    assert!(n >= 50, "{n}");
}

// ------------------------------------------------------------------ size

#[test]
fn huge_inputs() {
    // 10 MB value on one line.
    let mut src = b"a = ".to_vec();
    src.resize(10 << 20, b'v');
    src.push(b'\n');
    let cf = MainCf::parse(&src);
    assert_eq!(cf.get("a").map(|v| v.len()), Some((10 << 20) - 4));
    // 100k continuation lines.
    let mut src = b"a = x".to_vec();
    for _ in 0..100_000 {
        src.extend_from_slice(b"\n y");
    }
    src.push(b'\n');
    let cf = MainCf::parse(&src);
    assert_eq!(cf.get("a").map(|v| v.len()), Some(1 + 100_000 * 2));
    assert_eq!(diags(&cf), vec![]);
    let mut edited = cf.clone();
    edited.set("a", "short").unwrap();
    assert_eq!(edited.to_bytes(), b"a = short\n");
    // 100k-deep `${`: refused quickly, without overflowing the stack.
    for deep in [
        "${a:".repeat(100_000),
        format!("{}x{}", "${a:".repeat(100_000), "}".repeat(100_000)),
        format!("{}x{}", "${{$a}==".repeat(50_000), "}".repeat(50_000)),
        format!("{}x{}", "$(".repeat(100_000), ")".repeat(100_000)),
    ] {
        let t0 = Instant::now();
        let params: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let e = expand(deep.as_bytes(), &params).unwrap_err();
        assert!(!e.warnings.is_empty());
        assert!(scan(deep.as_bytes()).error().is_some());
        assert!(references(deep.as_bytes()).is_err());
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    }
    // Self-reference through values.
    let mut params: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    params.insert(b"a".to_vec(), b"$a$a".to_vec());
    let e = expand(b"$a", &params).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnreasonableNesting);
}

/// parse, values, diagnostics, edit and expand at n and 8n, best of five
/// interleaved: the ratio stays under 24 (quadratic: 64) unless the 8n run
/// is under 300 ms. `HOSTILE_SCALE` multiplies n.
/// Makes an input of size parameter n.
type Shape = fn(usize) -> Vec<u8>;

#[test]
fn linear_time() {
    let scale = linear::hostile_scale();
    let shapes: Vec<(&str, Shape)> = vec![
        ("long line", |n| {
            let mut v = b"a = ".to_vec();
            v.resize(n * 64, b'v');
            v
        }),
        ("continuations", |n| {
            let mut v = b"a = x".to_vec();
            for _ in 0..n {
                v.extend_from_slice(b"\n y");
            }
            v
        }),
        ("overrides", |n| b"a = $b\n".repeat(n)),
        ("parameters", |n| {
            let mut v = Vec::new();
            for i in 0..n {
                v.extend_from_slice(format!("p{i} = $p{}\n", i + 1).as_bytes());
            }
            v
        }),
        ("dollars", |n| {
            let mut v = b"a = ".to_vec();
            v.extend_from_slice(&b"$b".repeat(n));
            v
        }),
        ("nested", |n| {
            let mut v = b"a = ".to_vec();
            for _ in 0..n / 64 {
                v.extend_from_slice(&b"${b:".repeat(60));
                v.extend_from_slice(&b"}".repeat(60));
            }
            v
        }),
    ];
    let base = 5_000 * scale;
    for (name, make) in shapes {
        let run = |src: &[u8]| {
            let t0 = Instant::now();
            let mut cf = MainCf::parse(src);
            let _ = cf.values();
            let _ = cf.diagnostics();
            let lookup: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            if let Some(a) = cf.get("a") {
                let _ = expand(&a, &lookup);
                let _ = scan(&a);
            }
            let _ = cf.set("new", "v");
            let _ = cf.set("a", "w");
            let _ = cf.to_bytes();
            t0.elapsed()
        };
        let (src_small, src_big) = (make(base), make(8 * base));
        linear::assert_linear(name, base, |n| {
            run(if n == base { &src_small } else { &src_big })
        });
    }
}
