//! Hostile inputs (spec 5.3–5.5, 5.28): each is refused with its typed
//! error, and nothing in the config directory changes (same bytes, no new
//! files, not even the lock file).

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
