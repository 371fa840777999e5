//! Hostile inputs (spec 5.3–5.5, 5.28): each is refused with its typed
//! error, and nothing in the config directory changes (same bytes, no new
//! files, not even the lock file).

#[path = "../../postfix-table/tests/common/linear.rs"]
mod linear;
mod store_common;

use dms_relay::store::{ConfigDir, StoreError};
use dms_relay::types::{Field, ValidationError as E};
use store_common::*;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

type Check = fn(&E) -> bool;

#[test]
fn hostile_inputs_are_refused_and_write_nothing() {
    let long = "a".repeat(10 * 1024);
    let long_domain = format!("{}.test", "a".repeat(10 * 1024));
    let label64 = format!("{}.test", "a".repeat(64));
    let cases: Vec<(&str, Vec<String>, Check)> = vec![
        // ---- domain
        (
            "empty domain",
            argv(&["relay", "add-domain", "", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::Empty {
                        field: Field::Domain
                    }
                )
            },
        ),
        (
            "LF in domain",
            argv(&["relay", "add-domain", "ex\nample.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Domain,
                        at: 2
                    }
                )
            },
        ),
        (
            "line injection via domain",
            argv(&[
                "relay",
                "add-domain",
                "victim.test [mx.attacker.test]:25\n@other.test",
                "h.test",
            ]),
            |e| {
                matches!(
                    e,
                    E::Whitespace {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "CR in domain",
            argv(&["relay", "add-domain", "example.org\r", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "NUL in domain",
            argv(&["relay", "add-domain", "ex\0ample.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "space in domain",
            argv(&["relay", "add-domain", "ex ample.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::Whitespace {
                        field: Field::Domain,
                        at: 2
                    }
                )
            },
        ),
        (
            "TAB in domain",
            argv(&["relay", "add-domain", "ex\tample.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "# domain",
            argv(&["relay", "add-domain", "#example.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '#',
                        at: 0
                    }
                )
            },
        ),
        (
            "regex star",
            argv(&["relay", "add-domain", "a*b.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '*',
                        ..
                    }
                )
            },
        ),
        (
            "regex class",
            argv(&["relay", "exclude-domain", "[a-z]*.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '[',
                        ..
                    }
                )
            },
        ),
        (
            "regex class in add-auth",
            argv(&["relay", "add-auth", "[a-z]*.test", "evil", "pw"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '[',
                        ..
                    }
                )
            },
        ),
        (
            "unmatched bracket",
            argv(&["relay", "add-domain", "ex[ample.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '[',
                        at: 2
                    }
                )
            },
        ),
        (
            "slash",
            argv(&["relay", "add-domain", "a/b.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '/',
                        ..
                    }
                )
            },
        ),
        (
            "backslash",
            argv(&["relay", "add-domain", "a\\b.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '\\',
                        ..
                    }
                )
            },
        ),
        (
            "ampersand",
            argv(&["relay", "add-domain", "a&b.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '&',
                        ..
                    }
                )
            },
        ),
        (
            "leading @",
            argv(&["relay", "add-domain", "@d.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '@',
                        at: 0
                    }
                )
            },
        ),
        (
            "underscore in domain",
            argv(&["relay", "add-domain", "a_b.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Domain,
                        ch: '_',
                        ..
                    }
                )
            },
        ),
        (
            "cyrillic confusable",
            argv(&["relay", "add-domain", "ex\u{430}mple.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::NonAscii {
                        field: Field::Domain,
                        at: 2
                    }
                )
            },
        ),
        (
            "zero-width space",
            argv(&["relay", "add-domain", "example.org\u{200b}", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::NonAscii {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "no-break space",
            argv(&["relay", "add-domain", "ex\u{a0}ample.org", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::Whitespace {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "trailing dot",
            argv(&["relay", "add-domain", "example.org.", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::BadLabel {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "leading dot",
            argv(&["relay", "exclude-domain", ".example.org"]),
            |e| {
                matches!(
                    e,
                    E::BadLabel {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "double dot",
            argv(&["relay", "add-domain", "a..test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::BadLabel {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "leading hyphen",
            argv(&["relay", "add-domain", "-a.test", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::BadLabel {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "64-byte label",
            argv(&["relay", "add-domain", &label64, "h.test"]),
            |e| {
                matches!(
                    e,
                    E::BadLabel {
                        field: Field::Domain,
                        ..
                    }
                )
            },
        ),
        (
            "10 KB domain",
            argv(&["relay", "add-domain", &long_domain, "h.test"]),
            |e| {
                matches!(
                    e,
                    E::TooLong {
                        field: Field::Domain,
                        max: 253,
                        ..
                    }
                )
            },
        ),
        (
            "numeric domain",
            argv(&["relay", "add-domain", "192.0.2.1", "h.test"]),
            |e| {
                matches!(
                    e,
                    E::Numeric {
                        field: Field::Domain
                    }
                )
            },
        ),
        (
            "empty exclude (DMS writes '@ ')",
            argv(&["relay", "exclude-domain", ""]),
            |e| {
                matches!(
                    e,
                    E::Empty {
                        field: Field::Domain
                    }
                )
            },
        ),
        // ---- host
        (
            "empty host",
            argv(&["relay", "add-domain", "a.test", ""]),
            |e| matches!(e, E::Empty { field: Field::Host }),
        ),
        (
            "bracketed host",
            argv(&["relay", "add-domain", "a.test", "[h.test]"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Host,
                        ch: '[',
                        at: 0
                    }
                )
            },
        ),
        (
            "host with port",
            argv(&["relay", "add-domain", "a.test", "h.test:2525", "587"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Host,
                        ch: ':',
                        at: 6
                    }
                )
            },
        ),
        (
            "host line injection",
            argv(&[
                "relay",
                "add-domain",
                "a.test",
                "r]:25\n@victim.test [attacker",
            ]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Host,
                        ..
                    }
                )
            },
        ),
        (
            "host LF",
            argv(&["relay", "add-domain", "a.test", "h.test\n"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Host,
                        at: 6
                    }
                )
            },
        ),
        (
            "host space",
            argv(&["relay", "add-domain", "a.test", "h test"]),
            |e| {
                matches!(
                    e,
                    E::Whitespace {
                        field: Field::Host,
                        ..
                    }
                )
            },
        ),
        (
            "host #",
            argv(&["relay", "add-domain", "a.test", "h#.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Host,
                        ch: '#',
                        ..
                    }
                )
            },
        ),
        (
            "host star",
            argv(&["relay", "add-domain", "a.test", "*.test"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::Host,
                        ch: '*',
                        ..
                    }
                )
            },
        ),
        (
            "bad IPv6",
            argv(&["relay", "add-domain", "a.test", "2001:db8:::1"]),
            |e| matches!(e, E::BadAddress { field: Field::Host }),
        ),
        (
            "bad IPv4",
            argv(&["relay", "add-domain", "a.test", "999.1.1.1"]),
            |e| matches!(e, E::BadAddress { field: Field::Host }),
        ),
        (
            "host confusable",
            argv(&["relay", "add-domain", "a.test", "smtp.r\u{435}lay.test"]),
            |e| {
                matches!(
                    e,
                    E::NonAscii {
                        field: Field::Host,
                        ..
                    }
                )
            },
        ),
        (
            "10 KB host",
            argv(&["relay", "add-domain", "a.test", &long]),
            |e| {
                matches!(
                    e,
                    E::TooLong {
                        field: Field::Host,
                        ..
                    }
                )
            },
        ),
        // ---- port
        (
            "port 0",
            argv(&["relay", "add-domain", "a.test", "h.test", "0"]),
            |e| matches!(e, E::PortOutOfRange),
        ),
        (
            "port 65536",
            argv(&["relay", "add-domain", "a.test", "h.test", "65536"]),
            |e| matches!(e, E::PortOutOfRange),
        ),
        (
            "port 25abc",
            argv(&["relay", "add-domain", "a.test", "h.test", "25abc"]),
            |e| matches!(e, E::PortNotNumeric { at: 2 }),
        ),
        (
            "port abc",
            argv(&["relay", "add-domain", "a.test", "h.test", "abc"]),
            |e| matches!(e, E::PortNotNumeric { at: 0 }),
        ),
        (
            "port -1",
            argv(&["relay", "add-domain", "a.test", "h.test", "-1"]),
            |e| matches!(e, E::PortNotNumeric { at: 0 }),
        ),
        (
            "port 025",
            argv(&["relay", "add-domain", "a.test", "h.test", "025"]),
            |e| matches!(e, E::PortLeadingZero),
        ),
        (
            "port huge",
            argv(&[
                "relay",
                "add-domain",
                "a.test",
                "h.test",
                "99999999999999999999",
            ]),
            |e| matches!(e, E::PortOutOfRange),
        ),
        (
            "port LF",
            argv(&["relay", "add-domain", "a.test", "h.test", "25\n@x.test [y]"]),
            |e| matches!(e, E::PortNotNumeric { at: 2 }),
        ),
        (
            "port space",
            argv(&["relay", "add-domain", "a.test", "h.test", " 25"]),
            |e| matches!(e, E::PortNotNumeric { at: 0 }),
        ),
        // ---- user
        (
            "empty user",
            argv(&["relay", "add-auth", "a.test", "", "pw"]),
            |e| matches!(e, E::Empty { field: Field::User }),
        ),
        (
            "colon in user",
            argv(&["relay", "add-auth", "a.test", "us:er", "pw"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::User,
                        ch: ':',
                        at: 2
                    }
                )
            },
        ),
        (
            "space in user",
            argv(&["relay", "add-auth", "a.test", "us er", "pw"]),
            |e| {
                matches!(
                    e,
                    E::Whitespace {
                        field: Field::User,
                        ..
                    }
                )
            },
        ),
        (
            "LF in user",
            argv(&["relay", "add-auth", "a.test", "user\n@b.test x", "pw"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::User,
                        at: 4
                    }
                )
            },
        ),
        (
            "# in user",
            argv(&["relay", "add-auth", "a.test", "us#er", "pw"]),
            |e| {
                matches!(
                    e,
                    E::InvalidChar {
                        field: Field::User,
                        ch: '#',
                        ..
                    }
                )
            },
        ),
        (
            "non-ASCII user",
            argv(&["relay", "add-auth", "a.test", "us\u{e9}r", "pw"]),
            |e| {
                matches!(
                    e,
                    E::NonAscii {
                        field: Field::User,
                        ..
                    }
                )
            },
        ),
        (
            "10 KB user",
            argv(&["relay", "add-auth", "a.test", &long, "pw"]),
            |e| {
                matches!(
                    e,
                    E::TooLong {
                        field: Field::User,
                        ..
                    }
                )
            },
        ),
        // ---- password
        (
            "empty password",
            argv(&["relay", "add-auth", "a.test", "u", ""]),
            |e| {
                matches!(
                    e,
                    E::Empty {
                        field: Field::Password
                    }
                )
            },
        ),
        (
            "password line injection",
            argv(&[
                "relay",
                "add-auth",
                "ex.org",
                "u",
                "pw\n[smtp.relay.test]:587 attacker:creds",
            ]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Password,
                        at: 2
                    }
                )
            },
        ),
        (
            "password CR",
            argv(&["relay", "add-auth", "a.test", "u", "pw\rx"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Password,
                        ..
                    }
                )
            },
        ),
        (
            "password NUL",
            argv(&["relay", "add-auth", "a.test", "u", "pw\0x"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Password,
                        ..
                    }
                )
            },
        ),
        (
            "password TAB",
            argv(&["relay", "add-auth", "a.test", "u", "a\tb"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Password,
                        at: 1
                    }
                )
            },
        ),
        (
            "password DEL",
            argv(&["relay", "add-auth", "a.test", "u", "a\u{7f}b"]),
            |e| {
                matches!(
                    e,
                    E::ControlChar {
                        field: Field::Password,
                        ..
                    }
                )
            },
        ),
        (
            "password leading space",
            argv(&["relay", "add-auth", "a.test", "u", "  spaced pw"]),
            |e| matches!(e, E::PasswordEdgeWhitespace),
        ),
        (
            "password trailing space",
            argv(&["relay", "add-auth", "a.test", "u", "pw "]),
            |e| matches!(e, E::PasswordEdgeWhitespace),
        ),
        (
            "password inline comment",
            argv(&["relay", "add-auth", "a.test", "u", "pw #x"]),
            |e| matches!(e, E::PasswordCommentLike { at: 3 }),
        ),
        (
            "10 KB password",
            argv(&["relay", "add-auth", "a.test", "u", &long]),
            |e| {
                matches!(
                    e,
                    E::TooLong {
                        field: Field::Password,
                        ..
                    }
                )
            },
        ),
    ];
    assert!(cases.len() >= 40);

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("docker-mailserver");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("postfix-relaymap.cf"),
        "# mine\n@b.test [x]:25\n@alpha.test [a]:587\n@example.org \n",
    )
    .unwrap();
    std::fs::write(
        dir.join("postfix-sasl-password.cf"),
        "@b.test user:secret\n",
    )
    .unwrap();
    let before = snapshot(&dir);
    let cfg = ConfigDir::new(&dir);
    for (name, args, check) in &cases {
        let (code, result) = run_dms(&cfg, args);
        assert_eq!(code, 1, "{name}");
        match result {
            Some(Err(StoreError::Invalid(e))) => {
                assert!(check(&e), "{name}: unexpected error {e:?}");
                let msg = e.to_string();
                assert!(!msg.is_empty());
                if args[1] == "add-auth" && !args[4].is_empty() {
                    assert!(
                        !msg.contains(args[4].as_str()),
                        "{name}: password in message"
                    );
                    assert!(
                        !format!("{e:?}").contains(args[4].as_str()),
                        "{name}: password in Debug"
                    );
                }
            }
            other => panic!("{name}: expected a validation error, got {other:?}"),
        }
        assert_eq!(snapshot(&dir), before, "{name}: something was written");
    }
}

// ======================================================================
// Hostile values for every parser of `dms_relay::types`, generated by
// family: each hostile character at the start, in the middle and at the
// end of a valid value, with the error (variant, field, byte offset) the
// character class calls for, plus hand-picked structural cases.
// ======================================================================

use std::str::FromStr;

use dms_relay::types::{Credentials, Host, Password, Port, RelayHost, RelayUser, SenderDomain};

/// What a hostile character is, for the expectations.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    /// C0/C1 control character (LF, CR, NUL, TAB, DEL).
    Control,
    /// Unicode whitespace that is not a control (space, NBSP).
    Space,
    /// Printable ASCII that names cannot hold (`#`, `$`, `*`, `/`, `@`).
    Punct,
    /// Non-ASCII (look-alikes, fullwidth, bidi override, zero-width, and
    /// U+FFFD, which is what a non-UTF-8 byte becomes in a `&str` API).
    NonAscii,
}

const HOSTILE: [(&str, &str, Class); 16] = [
    ("LF", "\n", Class::Control),
    ("CR", "\r", Class::Control),
    ("NUL", "\0", Class::Control),
    ("TAB", "\t", Class::Control),
    ("DEL", "\u{7f}", Class::Control),
    ("space", " ", Class::Space),
    ("NBSP", "\u{a0}", Class::Space),
    ("hash", "#", Class::Punct),
    ("dollar", "$", Class::Punct),
    ("star", "*", Class::Punct),
    ("at", "@", Class::Punct),
    ("non-UTF-8 byte (U+FFFD)", "\u{fffd}", Class::NonAscii),
    ("Cyrillic e", "\u{435}", Class::NonAscii),
    ("fullwidth colon", "\u{ff1a}", Class::NonAscii),
    ("RTL override", "\u{202e}", Class::NonAscii),
    ("zero-width space", "\u{200b}", Class::NonAscii),
];

/// `base` with `ins` inserted at the start, in the middle and at the end:
/// (where, value, byte offset of the insertion).
fn placements(base: &str, ins: &str) -> Vec<(&'static str, String, usize)> {
    let mid = base.len() / 2;
    vec![
        ("start", format!("{ins}{base}"), 0),
        (
            "middle",
            format!("{}{ins}{}", &base[..mid], &base[mid..]),
            mid,
        ),
        ("end", format!("{base}{ins}"), base.len()),
    ]
}

/// The error a name-like field (domain, host) gives for a character of
/// `class` at byte `at`.
fn name_error(field: Field, class: Class, ch: char, at: usize) -> E {
    match class {
        Class::Control => E::ControlChar { field, at },
        Class::Space => E::Whitespace { field, at },
        Class::Punct => E::InvalidChar { field, at, ch },
        Class::NonAscii => E::NonAscii { field, at },
    }
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap()
}

/// (name, result, expected).
type Case<T, Err> = (String, Result<T, Err>, Result<T, Err>);

/// Runs `cases` (name, result, expected) and checks the count.
fn check_all<T: std::fmt::Debug + PartialEq>(what: &str, cases: Vec<Case<T, E>>, min: usize) {
    assert!(cases.len() >= min, "{what}: only {} cases", cases.len());
    for (name, got, want) in &cases {
        assert_eq!(got, want, "{what}: {name}");
        if let Err(e) = got {
            assert!(!e.to_string().is_empty(), "{what}: {name}: empty message");
        }
    }
}

#[test]
fn hostile_sender_domains() {
    let f = Field::Domain;
    let mut cases = Vec::new();
    for (cname, ins, class) in HOSTILE {
        for (place, v, at) in placements("example.org", ins) {
            cases.push((
                format!("{cname} at {place}"),
                SenderDomain::new(&v).map(|d| d.to_string()),
                Err(name_error(f, class, first_char(ins), at)),
            ));
        }
    }
    let label64 = format!("{}.test", "a".repeat(64));
    let long = format!("{}.test", "a.".repeat(130));
    let ok = |s: &str| Ok(s.to_string());
    let bad_label = |reason| Err(E::BadLabel { field: f, reason });
    let empty_label = "empty label: leading, trailing or doubled '.'";
    let fixed: Vec<(&str, Result<String, E>)> = vec![
        ("", Err(E::Empty { field: f })),
        (
            &long,
            Err(E::TooLong {
                field: f,
                len: long.len(),
                max: 253,
            }),
        ),
        (&label64, bad_label("label longer than 63 bytes")),
        (".example.org", bad_label(empty_label)),
        ("example.org.", bad_label(empty_label)),
        ("example..org", bad_label(empty_label)),
        ("-a.test", bad_label("label starts or ends with '-'")),
        ("a-.test", bad_label("label starts or ends with '-'")),
        ("192.0.2.1", Err(E::Numeric { field: f })),
        ("a.123", Err(E::Numeric { field: f })),
        (
            "a_b.test",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: '_',
            }),
        ),
        (
            "[a.test]",
            Err(E::InvalidChar {
                field: f,
                at: 0,
                ch: '[',
            }),
        ),
        (
            "a/../b.test",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: '/',
            }),
        ),
        (
            "a.test:25",
            Err(E::InvalidChar {
                field: f,
                at: 6,
                ch: ':',
            }),
        ),
        (
            "(a|b).test",
            Err(E::InvalidChar {
                field: f,
                at: 0,
                ch: '(',
            }),
        ),
        (
            "a.+",
            Err(E::InvalidChar {
                field: f,
                at: 2,
                ch: '+',
            }),
        ),
        (
            "^a$",
            Err(E::InvalidChar {
                field: f,
                at: 0,
                ch: '^',
            }),
        ),
        (
            "a?b.test",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: '?',
            }),
        ),
        ("xn--bcher-kva.example", ok("xn--bcher-kva.example")),
        ("Example.ORG", ok("Example.ORG")),
        ("localhost", ok("localhost")),
        ("a.b1", ok("a.b1")),
    ];
    for (v, want) in fixed {
        cases.push((
            format!("{v:?}"),
            SenderDomain::new(v).map(|d| d.to_string()),
            want,
        ));
    }
    check_all("SenderDomain::new", cases, 50);
}

#[test]
fn hostile_hosts() {
    let f = Field::Host;
    let mut cases = Vec::new();
    for (cname, ins, class) in HOSTILE {
        for (place, v, at) in placements("smtp.relay.test", ins) {
            cases.push((
                format!("{cname} at {place}"),
                Host::new(&v).map(|h| h.to_string()),
                Err(name_error(f, class, first_char(ins), at)),
            ));
        }
    }
    let ok = |s: &str| Ok(s.to_string());
    let fixed: Vec<(&str, Result<String, E>)> = vec![
        ("", Err(E::Empty { field: f })),
        ("relay_1.test", ok("relay_1.test")),
        ("192.0.2.1", ok("192.0.2.1")),
        ("2001:db8::1", ok("2001:db8::1")),
        ("IPv6:2001:db8::1", ok("IPv6:2001:db8::1")),
        ("1.2.3", Err(E::BadAddress { field: f })),
        ("256.1.1.1", Err(E::BadAddress { field: f })),
        (
            "2001:db8::g",
            Err(E::InvalidChar {
                field: f,
                at: 4,
                ch: ':',
            }),
        ),
        ("1:2:3:4:5:6:7:8:9", Err(E::BadAddress { field: f })),
        (
            "h:25",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: ':',
            }),
        ),
        (
            "[h]",
            Err(E::InvalidChar {
                field: f,
                at: 0,
                ch: '[',
            }),
        ),
        (
            "../etc/passwd",
            Err(E::InvalidChar {
                field: f,
                at: 2,
                ch: '/',
            }),
        ),
    ];
    for (v, want) in fixed {
        cases.push((format!("{v:?}"), Host::new(v).map(|h| h.to_string()), want));
    }
    check_all("Host::new", cases, 50);
}

#[test]
fn hostile_ports() {
    let mut cases = Vec::new();
    for (cname, ins, _) in HOSTILE {
        for (place, v, at) in placements("587", ins) {
            cases.push((
                format!("{cname} at {place}"),
                Port::from_str(&v).map(Port::get),
                Err(E::PortNotNumeric { at }),
            ));
        }
    }
    let fixed: Vec<(&str, Result<u16, E>)> = vec![
        ("0", Err(E::PortOutOfRange)),
        ("00", Err(E::PortLeadingZero)),
        ("025", Err(E::PortLeadingZero)),
        ("65536", Err(E::PortOutOfRange)),
        ("99999", Err(E::PortOutOfRange)),
        ("100000", Err(E::PortOutOfRange)),
        ("18446744073709551641", Err(E::PortOutOfRange)),
        ("25abc", Err(E::PortNotNumeric { at: 2 })),
        ("+25", Err(E::PortNotNumeric { at: 0 })),
        ("-1", Err(E::PortNotNumeric { at: 0 })),
        ("0x19", Err(E::PortNotNumeric { at: 1 })),
        ("2.5", Err(E::PortNotNumeric { at: 1 })),
        ("\u{663}", Err(E::PortNotNumeric { at: 0 })),
        ("\u{ff12}\u{ff15}", Err(E::PortNotNumeric { at: 0 })),
        ("", Err(E::Empty { field: Field::Port })),
        ("1", Ok(1)),
        ("25", Ok(25)),
        ("65535", Ok(65535)),
    ];
    for (v, want) in fixed {
        cases.push((format!("{v:?}"), Port::from_str(v).map(Port::get), want));
    }
    check_all("Port::from_str", cases, 50);
}

#[test]
fn hostile_relay_hosts() {
    let f = Field::Host;
    let mut cases = Vec::new();
    let parse = |v: &str| RelayHost::from_str(v).map(|r| r.to_string());
    for (cname, ins, class) in HOSTILE {
        let ch = first_char(ins);
        // Inside the host of `[host]:port` (offsets in the host are one
        // less than in the whole text, after the '[').
        let v = format!("[smtp.{ins}relay.test]:587");
        let want = match class {
            Class::Control => E::ControlChar { field: f, at: 6 },
            Class::Space => E::Whitespace { field: f, at: 6 },
            Class::Punct => E::InvalidChar {
                field: f,
                at: 5,
                ch,
            },
            Class::NonAscii => E::NonAscii { field: f, at: 5 },
        };
        cases.push((format!("{cname} in [host]"), parse(&v), Err(want)));
        // Inside the host of `host:port`.
        let v = format!("smtp.{ins}relay.test:587");
        let want = match class {
            Class::Control => E::ControlChar { field: f, at: 5 },
            Class::Space => E::Whitespace { field: f, at: 5 },
            Class::Punct => E::InvalidChar {
                field: f,
                at: 5,
                ch,
            },
            Class::NonAscii => E::NonAscii { field: f, at: 5 },
        };
        cases.push((format!("{cname} in host"), parse(&v), Err(want)));
        // After the port.
        let v = format!("[smtp.relay.test]:587{ins}");
        let want = match class {
            Class::Control => E::ControlChar { field: f, at: 21 },
            Class::Space => E::Whitespace { field: f, at: 21 },
            Class::Punct | Class::NonAscii => E::PortNotNumeric { at: 3 },
        };
        cases.push((format!("{cname} after the port"), parse(&v), Err(want)));
    }
    let ok = |s: &str| Ok(s.to_string());
    let brackets = |reason| Err(E::Brackets { field: f, reason });
    let fixed: Vec<(&str, Result<String, E>)> = vec![
        ("", Err(E::Empty { field: f })),
        ("[]", Err(E::Empty { field: f })),
        ("[]:25", Err(E::Empty { field: f })),
        ("[", brackets("missing ']'")),
        ("[h]x", brackets("garbage after ']'")),
        ("[[h]]", brackets("nested '['")),
        (
            "192.0.2.1",
            brackets("an IP address must be written in brackets"),
        ),
        (
            "192.0.2.1:25",
            brackets("an IP address must be written in brackets"),
        ),
        (
            "h]",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: ']',
            }),
        ),
        (
            "h:25:26",
            Err(E::InvalidChar {
                field: f,
                at: 1,
                ch: ':',
            }),
        ),
        (
            "[ipv6:nothex]:25",
            Err(E::InvalidChar {
                field: f,
                at: 4,
                ch: ':',
            }),
        ),
        ("[1.2.3]", Err(E::BadAddress { field: f })),
        ("[h]:", Err(E::Empty { field: Field::Port })),
        ("[h]:0", Err(E::PortOutOfRange)),
        ("[h]:65536", Err(E::PortOutOfRange)),
        ("[h]:25abc", Err(E::PortNotNumeric { at: 2 })),
        ("[h]:025", Err(E::PortLeadingZero)),
        ("h.test:0", Err(E::PortOutOfRange)),
        ("[smtp.relay.test]:587", ok("[smtp.relay.test]:587")),
        ("smtp.relay.test:587", ok("smtp.relay.test:587")),
        ("smtp.relay.test", ok("smtp.relay.test")),
        ("[IPv6:2001:db8::1]:587", ok("[IPv6:2001:db8::1]:587")),
        ("[192.0.2.1]", ok("[192.0.2.1]")),
        ("relay_1.test", ok("relay_1.test")),
    ];
    for (v, want) in fixed {
        cases.push((format!("{v:?}"), parse(v), want));
    }
    check_all("RelayHost::from_str", cases, 50);
}

#[test]
fn hostile_users() {
    let f = Field::User;
    let mut cases = Vec::new();
    for (cname, ins, class) in HOSTILE {
        let ch = first_char(ins);
        for (place, v, at) in placements("apikey", ins) {
            let want = match class {
                Class::Control => Err(E::ControlChar { field: f, at }),
                Class::Space => Err(E::Whitespace { field: f, at }),
                Class::NonAscii => Err(E::NonAscii { field: f, at }),
                Class::Punct if ch == '#' => Err(E::InvalidChar { field: f, at, ch }),
                // `$`, `*`, `@` are fine in an account name.
                Class::Punct => Ok(v.clone()),
            };
            cases.push((
                format!("{cname} at {place}"),
                RelayUser::new(&v).map(|u| u.to_string()),
                want,
            ));
        }
    }
    let long = "u".repeat(257);
    let fixed: Vec<(&str, Result<String, E>)> = vec![
        ("", Err(E::Empty { field: f })),
        (
            &long,
            Err(E::TooLong {
                field: f,
                len: 257,
                max: 256,
            }),
        ),
        (
            ":",
            Err(E::InvalidChar {
                field: f,
                at: 0,
                ch: ':',
            }),
        ),
        (
            "user:pw",
            Err(E::InvalidChar {
                field: f,
                at: 4,
                ch: ':',
            }),
        ),
        ("user@example.org", Ok("user@example.org".into())),
        ("../x", Ok("../x".into())),
    ];
    for (v, want) in fixed {
        cases.push((
            format!("{v:?}"),
            RelayUser::new(v).map(|u| u.to_string()),
            want,
        ));
    }
    check_all("RelayUser::new", cases, 50);
}

/// Password errors carry positions only: neither the message nor `Debug`
/// shows any of the password.
fn assert_redacted(e: &E, secret: &str) {
    assert!(!e.to_string().contains(secret), "{e}");
    assert!(!format!("{e:?}").contains(secret), "{e:?}");
}

#[test]
fn hostile_passwords() {
    let f = Field::Password;
    let mut cases = Vec::new();
    for (cname, ins, class) in HOSTILE {
        for (place, v, at) in placements("s3cret", ins) {
            let want = match (class, place) {
                (Class::Control, _) => Err(E::ControlChar { field: f, at }),
                (Class::Space, "start" | "end") => Err(E::PasswordEdgeWhitespace),
                // Anything printable is fine inside a password, Unicode too.
                _ => Ok(v.clone()),
            };
            let got = Password::new(&v).map(|p| p.expose().to_string());
            if let Err(e) = &got {
                assert_redacted(e, "s3cret");
                assert_redacted(e, "cret");
            }
            cases.push((format!("{cname} at {place}"), got, want));
        }
    }
    let long = "p".repeat(1025);
    let max = "p".repeat(1024);
    let fixed: Vec<(&str, Result<String, E>)> = vec![
        ("", Err(E::Empty { field: f })),
        (
            &long,
            Err(E::TooLong {
                field: f,
                len: 1025,
                max: 1024,
            }),
        ),
        (&max, Ok(max.clone())),
        ("pw #x", Err(E::PasswordCommentLike { at: 3 })),
        ("pw\u{a0}#x", Err(E::PasswordCommentLike { at: 4 })),
        ("#pw", Ok("#pw".into())),
        ("p:w&\\1", Ok("p:w&\\1".into())),
        ("pa$$word", Ok("pa$$word".into())),
        ("a b", Ok("a b".into())),
    ];
    for (v, want) in fixed {
        cases.push((
            format!("{v:?}"),
            Password::new(v).map(|p| p.expose().to_string()),
            want,
        ));
    }
    check_all("Password::new", cases, 50);
}

#[test]
fn hostile_credentials() {
    let mut cases = Vec::new();
    let show = |c: Credentials| format!("{c} {:?}", c.table_value().as_str());
    for (cname, ins, _) in HOSTILE {
        let bad_user = format!("api{ins}key");
        let bad_pw = format!("s3{ins}cret ");
        let user_err = RelayUser::new(&bad_user).map(|u| format!("{u}:<redacted> \"{u}:s3cret\""));
        cases.push((
            format!("{cname} in user"),
            Credentials::new(&bad_user, "s3cret").map(show),
            user_err.clone(),
        ));
        let pw_err = Password::new(&bad_pw).map(|_| String::new());
        cases.push((
            format!("{cname} in password"),
            Credentials::new("apikey", &bad_pw).map(show),
            pw_err,
        ));
        // The user is checked first.
        let want = match &user_err {
            Err(e) => Err(e.clone()),
            Ok(_) => Password::new(&bad_pw).map(|_| String::new()),
        };
        cases.push((
            format!("{cname} in both"),
            Credentials::new(&bad_user, &bad_pw).map(show),
            want,
        ));
    }
    cases.push((
        "valid".into(),
        Credentials::new("apikey", "s3cr:et").map(show),
        Ok("apikey:<redacted> \"apikey:s3cr:et\"".into()),
    ));
    cases.push((
        "colon in user".into(),
        Credentials::new("a:b", "s3cret").map(show),
        Err(E::InvalidChar {
            field: Field::User,
            at: 1,
            ch: ':',
        }),
    ));
    cases.push((
        "empty password".into(),
        Credentials::new("apikey", "").map(show),
        Err(E::Empty {
            field: Field::Password,
        }),
    ));
    for (_, got, _) in &cases {
        if let Err(e) = got {
            assert_redacted(e, "cret");
        }
    }
    check_all("Credentials::new", cases, 50);
}

// ---------------------------------------------------------------- ENV

use dms_relay::env::{EnvError, RelayEnv, VARIABLES};
use dms_relay::render::{self, LineProblem, RenderError, SourceFile, Sources, Warning};

/// What `RelayEnv::from_pairs_with` gives, comparably: the five values
/// and the number of notes, or the error's variable (and path).
type EnvOutcome = Result<([Option<String>; 5], usize), (String, &'static str, Option<String>)>;

fn env_outcome(pairs: &[(String, String)], files: &[(&str, &[u8])]) -> EnvOutcome {
    let read = |p: &std::path::Path| {
        files
            .iter()
            .find(|(n, _)| std::path::Path::new(n) == p)
            .map(|(_, b)| b.to_vec())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    match RelayEnv::from_pairs_with(pairs.iter().cloned(), read) {
        Ok(env) => Ok((
            [
                env.default_relay_host().map(str::to_string),
                env.relay_host().map(str::to_string),
                env.relay_port().map(str::to_string),
                env.relay_user().map(str::to_string),
                env.relay_password().map(|p| p.expose().to_string()),
            ],
            env.notes().len(),
        )),
        Err(EnvError::File { var, path, .. }) => {
            Err(("File".into(), var, Some(path.display().to_string())))
        }
        Err(EnvError::NotUnicode { var }) => Err(("NotUnicode".into(), var, None)),
        Err(e) => panic!("unknown error {e:?}"),
    }
}

type Pairs = Vec<(String, String)>;

#[test]
fn hostile_env_pairs() {
    let files: &[(&str, &[u8])] = &[
        ("/s/trailing-lf", b"val\n\n\n"),
        ("/s/nul", b"va\0l\n"),
        ("/s/crlf", b"val\r\n"),
        ("/s/only-lf", b"\n\n"),
        ("/s/latin1", b"\xe9val"),
        ("/s/other", b"f\n"),
        ("/run/secrets/../secrets/pw", b"dotdot\n"),
        ("/s/big", &[b'x'; 1 << 20]),
    ];
    let mut n = 0;
    for (i, var) in VARIABLES.iter().enumerate() {
        let file_var = format!("{var}__FILE");
        let set = |v: &str| {
            let mut want: [Option<String>; 5] = Default::default();
            want[i] = Some(v.to_string());
            want
        };
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let cases: Vec<(&str, Pairs, EnvOutcome)> = vec![
            (
                "LF kept verbatim",
                vec![p(var, "v\nx")],
                Ok((set("v\nx"), 0)),
            ),
            ("CR, NUL-free", vec![p(var, "v\rx")], Ok((set("v\rx"), 0))),
            (
                "empty is unset",
                vec![p(var, "")],
                Ok((Default::default(), 0)),
            ),
            (
                "last pair wins",
                vec![p(var, "a"), p(var, "b")],
                Ok((set("b"), 0)),
            ),
            (
                "lower-case name ignored",
                vec![p(&var.to_lowercase(), "x")],
                Ok((Default::default(), 0)),
            ),
            (
                "trailing LFs removed",
                vec![p(&file_var, "/s/trailing-lf")],
                Ok((set("val"), 0)),
            ),
            (
                "NUL dropped",
                vec![p(&file_var, "/s/nul")],
                Ok((set("val"), 0)),
            ),
            (
                "CR kept",
                vec![p(&file_var, "/s/crlf")],
                Ok((set("val\r"), 0)),
            ),
            (
                "only LFs is unset",
                vec![p(&file_var, "/s/only-lf")],
                Ok((Default::default(), 0)),
            ),
            (
                "non-UTF-8 file",
                vec![p(&file_var, "/s/latin1")],
                Err(("NotUnicode".into(), var, None)),
            ),
            (
                "missing file",
                vec![p(&file_var, "/s/missing")],
                Err(("File".into(), var, Some("/s/missing".into()))),
            ),
            (
                "path with .. read as given",
                vec![p(&file_var, "/run/secrets/../secrets/pw")],
                Ok((set("dotdot"), 0)),
            ),
            (
                "variable beats file",
                vec![p(var, "d"), p(&file_var, "/s/other")],
                Ok((set("d"), 1)),
            ),
            (
                "empty variable loses",
                vec![p(var, ""), p(&file_var, "/s/other")],
                Ok((set("f"), 0)),
            ),
            (
                "1 MB file",
                vec![p(&file_var, "/s/big")],
                Ok((set(&"x".repeat(1 << 20)), 0)),
            ),
        ];
        for (name, pairs, want) in cases {
            assert_eq!(env_outcome(&pairs, files), want, "{var}: {name}");
            n += 1;
        }
    }
    assert!(n >= 50, "{n}");
}

// ---------------------------------------------------------------- render

fn render_env(env: &RelayEnv) -> Result<Rendered2, RenderError> {
    let domains = ["a.test".to_string()];
    let out = render::render(
        env,
        &Sources {
            relaymap: None,
            sasl_password: None,
            domains: &domains,
        },
    )?;
    Ok(Rendered2 {
        relayhost: out.param(render::RELAYHOST).map(str::to_string),
        map: String::from_utf8(out.relayhost_map.clone().unwrap_or_default()).unwrap(),
        sasl: out
            .sasl_passwd
            .clone()
            .map(|b| String::from_utf8(b).unwrap()),
    })
}

/// The parts of a render the ENV cases look at.
#[derive(Debug, PartialEq)]
struct Rendered2 {
    relayhost: Option<String>,
    map: String,
    sasl: Option<String>,
}

#[test]
fn hostile_render_env() {
    let base = || {
        RelayEnv::new()
            .with_relay_host("smtp.relay.test")
            .with_relay_user("apikey")
            .with_relay_password("s3cret")
    };
    let ok = |hop: &str, user: &str, pw: &str| {
        Ok(Rendered2 {
            relayhost: Some(String::new()),
            map: format!("@a.test    {hop}\n"),
            sasl: Some(format!("{hop}    {user}:{pw}\n")),
        })
    };
    let inv = |var, source| Err(RenderError::InvalidEnv { var, source });
    let mut cases: Vec<Case<Rendered2, RenderError>> = Vec::new();
    let (fh, fu, fp) = (Field::Host, Field::User, Field::Password);
    for (cname, ins, class) in HOSTILE {
        let ch = first_char(ins);
        // DEFAULT_RELAY_HOST: validated as a next hop.
        let v = format!("[smtp.{ins}relay.test]:587");
        let want = match class {
            Class::Control => E::ControlChar { field: fh, at: 6 },
            Class::Space => E::Whitespace { field: fh, at: 6 },
            Class::Punct => E::InvalidChar {
                field: fh,
                at: 5,
                ch,
            },
            Class::NonAscii => E::NonAscii { field: fh, at: 5 },
        };
        cases.push((
            format!("DEFAULT_RELAY_HOST with {cname}"),
            render_env(&RelayEnv::new().with_default_relay_host(v)),
            inv("DEFAULT_RELAY_HOST", want),
        ));
        // RELAY_HOST: a host or a next hop.
        let v = format!("smtp.{ins}relay.test");
        let want = match class {
            Class::Control => E::ControlChar { field: fh, at: 5 },
            Class::Space => E::Whitespace { field: fh, at: 5 },
            Class::Punct => E::InvalidChar {
                field: fh,
                at: 5,
                ch,
            },
            Class::NonAscii => E::NonAscii { field: fh, at: 5 },
        };
        cases.push((
            format!("RELAY_HOST with {cname}"),
            render_env(&base().with_relay_host(v)),
            inv("RELAY_HOST", want),
        ));
        // RELAY_PORT.
        cases.push((
            format!("RELAY_PORT with {cname}"),
            render_env(&base().with_relay_port(format!("587{ins}"))),
            inv("RELAY_PORT", E::PortNotNumeric { at: 3 }),
        ));
        // RELAY_USER.
        let v = format!("api{ins}key");
        let want = match class {
            Class::Control => inv("RELAY_USER", E::ControlChar { field: fu, at: 3 }),
            Class::Space => inv("RELAY_USER", E::Whitespace { field: fu, at: 3 }),
            Class::NonAscii => inv("RELAY_USER", E::NonAscii { field: fu, at: 3 }),
            Class::Punct if ch == '#' => inv(
                "RELAY_USER",
                E::InvalidChar {
                    field: fu,
                    at: 3,
                    ch,
                },
            ),
            Class::Punct => ok("[smtp.relay.test]:25", &v, "s3cret"),
        };
        cases.push((
            format!("RELAY_USER with {cname}"),
            render_env(&base().with_relay_user(v.clone())),
            want,
        ));
        // RELAY_PASSWORD: never shown in the error.
        let v = format!("s3{ins}cret");
        let want = match class {
            Class::Control => inv("RELAY_PASSWORD", E::ControlChar { field: fp, at: 2 }),
            _ => ok("[smtp.relay.test]:25", "apikey", &v),
        };
        let got = render_env(&base().with_relay_password(v.clone()));
        if let Err(e) = &got {
            assert!(!e.to_string().contains("cret") && !format!("{e:?}").contains("cret"));
        }
        cases.push((format!("RELAY_PASSWORD with {cname}"), got, want));
    }
    let port = |p: &str| render_env(&base().with_relay_port(p));
    cases.extend([
        (
            "RELAY_PORT 0".into(),
            port("0"),
            inv("RELAY_PORT", E::PortOutOfRange),
        ),
        (
            "RELAY_PORT 65536".into(),
            port("65536"),
            inv("RELAY_PORT", E::PortOutOfRange),
        ),
        (
            "RELAY_PORT 25abc".into(),
            port("25abc"),
            inv("RELAY_PORT", E::PortNotNumeric { at: 2 }),
        ),
        (
            "RELAY_PORT 025".into(),
            port("025"),
            inv("RELAY_PORT", E::PortLeadingZero),
        ),
        (
            "RELAY_PORT empty".into(),
            port(""),
            ok("[smtp.relay.test]:25", "apikey", "s3cret"),
        ),
        (
            "RELAY_PORT 65535".into(),
            port("65535"),
            ok("[smtp.relay.test]:65535", "apikey", "s3cret"),
        ),
        (
            "RELAY_HOST [h]:587 (DMS would write [[h]:587]:25)".into(),
            render_env(&base().with_relay_host("[smtp.relay.test]:587")),
            ok("[smtp.relay.test]:587", "apikey", "s3cret"),
        ),
        (
            "RELAY_HOST line injection".into(),
            render_env(&base().with_relay_host("h.test\n@evil.test [x]")),
            inv("RELAY_HOST", E::ControlChar { field: fh, at: 6 }),
        ),
        (
            "DEFAULT_RELAY_HOST with a comment".into(),
            render_env(&RelayEnv::new().with_default_relay_host("[h.test]:25#x")),
            inv("DEFAULT_RELAY_HOST", E::PortNotNumeric { at: 2 }),
        ),
    ]);
    assert!(cases.len() >= 50, "{}", cases.len());
    for (name, got, want) in &cases {
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn hostile_render_sources() {
    use LineProblem as P;
    let rm = SourceFile::Relaymap;
    let sp = SourceFile::SaslPassword;
    let domains: Vec<String> = vec![];
    let env = RelayEnv::new().with_relay_host("h.test");
    // (name, relaymap, sasl file, relayhost_map, sasl_passwd, warnings)
    type Case = (
        &'static str,
        &'static [u8],
        &'static [u8],
        &'static [u8],
        Option<&'static [u8]>,
        Vec<Warning>,
    );
    let w = |file, line, problem| Warning::Line {
        file,
        line,
        problem,
    };
    let missing = Warning::MissingCredentials {
        sasl_file: "/tmp/docker-mailserver/postfix-sasl-password.cf".into(),
    };
    let cases: Vec<Case> = vec![
        (
            "CR separator becomes a space",
            b"@a.test\r[x]:25\n",
            b"",
            b"@a.test [x]:25\n",
            None,
            vec![missing.clone()],
        ),
        (
            "CRLF",
            b"@a.test [x]:25\r\n",
            b"@a.test u:p\r\n",
            b"@a.test [x]:25\n",
            Some(b"@a.test u:p\n"),
            vec![],
        ),
        (
            "no final LF",
            b"@a.test [x]:25",
            b"@a.test u:p",
            b"@a.test [x]:25\n",
            Some(b"@a.test u:p\n"),
            vec![],
        ),
        (
            "indented line",
            b"  @a.test [x]:25\n",
            b"",
            b"@a.test [x]:25\n",
            None,
            vec![w(rm, 1, P::Indented), missing.clone()],
        ),
        (
            "inline comment",
            b"@a.test [x]:25 # note\n",
            b"",
            b"@a.test [x]:25\n",
            None,
            vec![w(rm, 1, P::InlineComment), missing.clone()],
        ),
        (
            "duplicate",
            b"@a.test [x]:25\n@A.TEST [y]:25\n",
            b"",
            b"@a.test [x]:25\n",
            None,
            vec![
                missing.clone(),
                w(
                    rm,
                    2,
                    P::Duplicate {
                        key: "@A.TEST".into(),
                    },
                ),
            ],
        ),
        (
            "key without @",
            b"a.test [x]:25\n",
            b"",
            b"a.test [x]:25\n",
            None,
            vec![
                missing.clone(),
                w(
                    rm,
                    1,
                    P::KeyWithoutAt {
                        key: "a.test".into(),
                    },
                ),
            ],
        ),
        (
            "value with whitespace",
            b"@a.test [x]:25 [y]:25\n",
            b"",
            b"@a.test [x]:25 [y]:25\n",
            None,
            vec![
                missing.clone(),
                w(
                    rm,
                    1,
                    P::ValueNotSingleHop {
                        key: "@a.test".into(),
                    },
                ),
            ],
        ),
        (
            "sasl line without value",
            b"",
            b"@a.test\n",
            b"",
            None,
            vec![w(sp, 1, P::NoValue), missing.clone()],
        ),
        (
            "sasl duplicate",
            b"",
            b"@a.test u:p\n@a.test v:q\n",
            b"",
            Some(b"@a.test u:p\n"),
            vec![w(
                sp,
                2,
                P::Duplicate {
                    key: "@a.test".into(),
                },
            )],
        ),
        (
            "comment lines and blank lines",
            b"# c\n\n   \n\t# d\n@a.test [x]\n",
            b"#x\n",
            b"@a.test [x]\n",
            None,
            vec![missing.clone()],
        ),
        (
            "opt-out line is not copied",
            b"@a.test\n",
            b"",
            b"",
            None,
            vec![missing.clone()],
        ),
        (
            "continuation-looking line (indented) is its own line",
            b"@a.test [x]\n [y]\n",
            b"",
            b"@a.test [x]\n",
            None,
            vec![w(rm, 2, P::Indented), missing.clone()],
        ),
    ];
    for (name, relaymap, sasl, want_map, want_sasl, want_warnings) in cases {
        let out = render::render(
            &env,
            &Sources {
                relaymap: Some(relaymap),
                sasl_password: Some(sasl),
                domains: &domains,
            },
        )
        .unwrap();
        assert_eq!(out.relayhost_map.as_deref(), Some(want_map), "{name}");
        assert_eq!(out.sasl_passwd.as_deref(), want_sasl, "{name}");
        assert_eq!(out.warnings, want_warnings, "{name}");
    }
}

/// Managed domains that cannot be a table key get no `relayhost_map` line
/// and an `InvalidDomain` warning (a `"` made Postfix ignore the line as an
/// unbalanced quote; found by the `dms_env` fuzz target).
#[test]
fn hostile_managed_domains() {
    let env = RelayEnv::new().with_relay_host("h.test");
    let cases: [(&str, bool); 12] = [
        ("ok.test", true),
        ("c.test\"y", false),
        ("\"q\".test", false),
        ("b\\.test", false),
        ("a b.test", false),
        ("a\tb.test", false),
        ("a\rb.test", false),
        ("a\0b.test", false),
        ("a\u{a0}b.test", false),
        ("ex\u{430}mple.test", true), // a look-alike is another domain, not an error
        ("a#b.test", true),
        ("*.test", true),
    ];
    for (domain, relayed) in cases {
        let domains = vec![domain.to_string()];
        let out = render::render(
            &env,
            &Sources {
                relaymap: None,
                sasl_password: None,
                domains: &domains,
            },
        )
        .unwrap();
        let map = out.relayhost_map.unwrap();
        let invalid = Warning::InvalidDomain {
            domain: domain.to_string(),
        };
        if relayed {
            assert_eq!(
                map,
                format!("@{domain}    [h.test]:25\n").into_bytes(),
                "{domain:?}"
            );
            assert!(!out.warnings.contains(&invalid), "{domain:?}");
        } else {
            assert_eq!(map, b"", "{domain:?}");
            assert!(out.warnings.contains(&invalid), "{domain:?}");
        }
    }
}

/// `from_pairs_with`, `managed_domains`, `render` and `main_cf_apply` at
/// n and 8n lines/domains, best of five interleaved: the ratio stays under
/// 24 (quadratic: 64) unless the 8n run is under 300 ms. `HOSTILE_SCALE`
/// multiplies n.
#[test]
fn render_linear_time() {
    use std::time::Instant;
    let scale = linear::hostile_scale();
    let make = |n: usize| {
        let mut relaymap = Vec::new();
        let mut sasl = Vec::new();
        let mut accounts = Vec::new();
        for i in 0..n {
            relaymap.extend_from_slice(format!("@d{i}.test [r{i}.test]:587\n").as_bytes());
            // Duplicates, indentation and inline comments: every warning path.
            relaymap.extend_from_slice(format!("  @D{i}.TEST [x]:25 # dup\n").as_bytes());
            sasl.extend_from_slice(format!("@d{i}.test u{i}:p{i}\r\n").as_bytes());
            accounts.extend_from_slice(format!("u@a{i}.test|x\r\n").as_bytes());
        }
        (relaymap, sasl, accounts)
    };
    let run = |(relaymap, sasl, accounts): &(Vec<u8>, Vec<u8>, Vec<u8>)| {
        let t0 = Instant::now();
        let env = RelayEnv::from_pairs([
            ("RELAY_HOST", "h.test"),
            ("RELAY_USER", "u"),
            ("RELAY_PASSWORD", "p"),
        ])
        .unwrap();
        let domains = render::managed_domains(Some(accounts), Some(relaymap));
        let out = render::render(
            &env,
            &Sources {
                relaymap: Some(relaymap),
                sasl_password: Some(sasl),
                domains: &domains,
            },
        )
        .unwrap();
        let mut cf = postfix_maincf::MainCf::parse(b"relayhost =\n");
        render::main_cf_apply(&mut cf, &out).unwrap();
        let _ = postfix_table::Table::parse(out.relayhost_map.as_deref().unwrap()).diagnostics();
        t0.elapsed()
    };
    let base = 2_000 * scale;
    let (small_in, big_in) = (make(base), make(8 * base));
    linear::assert_linear("render", base, |n| {
        run(if n == base { &small_in } else { &big_in })
    });
}
