//! The checks behind the `relay_syntax` fuzz target, as plain functions
//! over bytes: every value parser of `dms_relay::types`, the next-hop
//! handling of `RELAY_HOST`/`RELAY_PORT`, `postfix_table::spec::TableRef`
//! and the `postfix_maincf::typed` conversions.
//!
//! This file depends on `dms_relay`, `postfix_table`, `postfix_maincf` and
//! `std` only, so that `dms-relay/tests/fuzz_replay.rs` can include it with
//! `#[path]` and replay `fuzz/seeds/relay_syntax` and
//! `fuzz/regressions/relay_syntax` on every `cargo test`.
//!
//! Input layout: the bytes up to the first `0xff` are the value `A`, the
//! rest is `B` (`0xff` never occurs in UTF-8). Every single-value parser
//! gets `A` (the byte parsers as bytes, the string parsers as
//! `String::from_utf8_lossy`); `Credentials` gets user `A` and password
//! `B`, and the ENV next hop gets `RELAY_HOST=A`, `RELAY_PORT=B`.
//!
//! Invariants (not just "no panic"):
//! - an accepted value displays as exactly the text given, and parsing
//!   that text again gives an equal value (FromStr/Display symmetry);
//! - an accepted value has no control character, whitespace or character
//!   its field forbids;
//! - an accepted value written into the file it belongs in
//!   (`postfix-relaymap.cf`, `postfix-sasl-password.cf`, main.cf's
//!   `relayhost`, `relayhost_map`) is read back by `postfix_table` /
//!   `postfix_maincf` as the same value;
//! - a refused value gives the error of its own field, and an error about
//!   a password never shows any of it (its message is one of the fixed
//!   templates, with numbers only);
//! - `Port` accepts every canonical decimal 1..=65535 and nothing else.

use std::str::FromStr;

use dms_relay::env::{self, RelayEnv};
use dms_relay::render::{self, RenderError, Sources};
use dms_relay::store::{RelayMap, SaslPasswords};
use dms_relay::types::{
    Credentials, Field, Host, HostKind, Password, Port, RelayHost, RelayUser, SenderDomain,
    ValidationError,
};
use postfix_maincf::MainCf;
use postfix_maincf::typed::{self, TimeUnit};
use postfix_table::Table;
use postfix_table::lines::c_string;
use postfix_table::spec::{SpecError, TableRef};

/// Splits an input into `A` and `B` (at the first `0xff`).
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(i) => (
            data.get(..i).unwrap_or_default(),
            data.get(i + 1..).unwrap_or_default(),
        ),
        None => (data, &[]),
    }
}

/// Runs every check on one input.
pub fn check(data: &[u8]) {
    let (a, b) = split(data);
    check_table_ref(a);
    check_typed(a);
    let sa = String::from_utf8_lossy(a);
    let sb = String::from_utf8_lossy(b);
    check_domain(&sa);
    check_host(&sa);
    check_port(&sa);
    check_relay_host(&sa);
    check_user(&sa);
    check_password(&sa);
    check_credentials(&sa, &sb);
    check_env_hop(&sa, &sb);
}

/// The field a validation error is about (`None` for the port-only
/// variants).
pub fn field_of(e: &ValidationError) -> Option<Field> {
    match e {
        ValidationError::Empty { field }
        | ValidationError::TooLong { field, .. }
        | ValidationError::ControlChar { field, .. }
        | ValidationError::Whitespace { field, .. }
        | ValidationError::NonAscii { field, .. }
        | ValidationError::InvalidChar { field, .. }
        | ValidationError::BadLabel { field, .. }
        | ValidationError::Numeric { field }
        | ValidationError::Brackets { field, .. }
        | ValidationError::BadAddress { field } => Some(*field),
        ValidationError::PortNotNumeric { .. }
        | ValidationError::PortLeadingZero
        | ValidationError::PortOutOfRange => Some(Field::Port),
        ValidationError::PasswordEdgeWhitespace | ValidationError::PasswordCommentLike { .. } => {
            Some(Field::Password)
        }
        _ => None,
    }
}

/// `s` with every run of ASCII digits replaced by `N`.
fn digits_to_n(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The messages a password error can have, numbers replaced by `N`: an
/// error about a password carries positions and lengths only.
pub fn password_error_templates() -> Vec<String> {
    let f = Field::Password;
    [
        ValidationError::Empty { field: f },
        ValidationError::TooLong {
            field: f,
            len: 1,
            max: 1,
        },
        ValidationError::ControlChar { field: f, at: 1 },
        ValidationError::PasswordEdgeWhitespace,
        ValidationError::PasswordCommentLike { at: 1 },
    ]
    .iter()
    .flat_map(|e| [digits_to_n(&e.to_string()), digits_to_n(&format!("{e:?}"))])
    .collect()
}

/// Asserts that a password error shows nothing of the password.
pub fn assert_password_error_redacted(e: &ValidationError) {
    let templates = password_error_templates();
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(
            templates.contains(&digits_to_n(&text)),
            "password error is not a fixed template: {text}"
        );
    }
}

fn assert_no_forbidden(s: &str, what: &str) {
    assert!(
        !s.chars().any(|c| c.is_control() || c.is_whitespace()),
        "{what} accepted with whitespace/control: {s:?}"
    );
}

fn check_domain(s: &str) {
    match SenderDomain::new(s) {
        Ok(d) => {
            assert_eq!(d.as_str(), s);
            assert_eq!(d.to_string(), s);
            let shown = d.to_string();
            assert_eq!(SenderDomain::from_str(&shown), Ok(d.clone()));
            assert!(s.len() <= dms_relay::types::MAX_NAME_LEN);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
                "domain accepted with {s:?}"
            );
            assert_eq!(d.key(), format!("@{s}"));
            // Into postfix-relaymap.cf and back, through postfix_table.
            let hop: RelayHost = "[relay.test]:587".parse().expect("valid hop");
            let mut map = RelayMap::new();
            map.set_relay(&d, &hop).expect("valid domain and hop");
            let table = Table::parse(&map.to_bytes());
            assert_eq!(
                table.get_str(d.key()).as_deref(),
                Some("[relay.test]:587"),
                "relaymap written for {s:?}"
            );
            // Postfix folds keys: any case finds it.
            assert!(table.contains_key(d.key().to_ascii_uppercase()));
            assert_eq!(RelayMap::parse(&map.to_bytes()).relay(&d), map.relay(&d));
            map.exclude_domain(&d).expect("exclusion of a valid domain");
            assert!(RelayMap::parse(&map.to_bytes()).is_excluded(&d));
        }
        Err(e) => {
            assert_eq!(field_of(&e), Some(Field::Domain), "{e:?}");
            assert!(!e.to_string().is_empty());
        }
    }
}

fn check_host(s: &str) {
    match Host::new(s) {
        Ok(h) => {
            assert_eq!(h.to_string(), s);
            assert_eq!(Host::from_str(s), Ok(h.clone()));
            assert_no_forbidden(s, "host");
            assert!(s.is_ascii());
            match h.kind() {
                HostKind::Name => {
                    assert!(h.ip().is_none());
                    assert!(!s.contains(':'));
                    let mx = RelayHost::mx(h.clone(), None).expect("a name is a valid MX hop");
                    assert_eq!(mx.to_string(), s);
                }
                HostKind::Ipv4 => {
                    assert!(matches!(h.ip(), Some(std::net::IpAddr::V4(_))));
                    assert!(RelayHost::mx(h.clone(), None).is_err());
                }
                HostKind::Ipv6 => {
                    assert!(matches!(h.ip(), Some(std::net::IpAddr::V6(_))));
                    assert!(RelayHost::mx(h.clone(), None).is_err());
                }
            }
            // DMS's `[host]:port` form parses back to the same hop.
            let hop = RelayHost::dms(h.clone(), None);
            let back: RelayHost = hop.to_string().parse().expect("dms hop reparses");
            assert_eq!(back, hop);
            assert_eq!(back.host(), &h);
            assert_eq!(back.port(), Some(Port::DEFAULT));
        }
        Err(e) => assert_eq!(field_of(&e), Some(Field::Host), "{e:?}"),
    }
}

fn check_port(s: &str) {
    let canonical = s
        .parse::<u16>()
        .ok()
        .filter(|&n| n > 0 && n.to_string() == s);
    match s.parse::<Port>() {
        Ok(p) => {
            assert_eq!(Some(p.get()), canonical, "port accepted: {s:?}");
            assert_eq!(p.to_string(), s);
            assert_eq!(Port::new(p.get()), Ok(p));
        }
        Err(e) => {
            assert_eq!(canonical, None, "canonical port {s:?} refused: {e:?}");
            assert_eq!(field_of(&e), Some(Field::Port), "{e:?}");
        }
    }
}

fn check_relay_host(s: &str) {
    let parsed = s.parse::<RelayHost>();
    // The same text as DEFAULT_RELAY_HOST: accepted iff the type accepts it.
    let env = RelayEnv::new().with_default_relay_host(s);
    let rendered = render::render(&env, &Sources::default());
    match parsed {
        Ok(r) => {
            assert_eq!(r.to_string(), s);
            assert_eq!(RelayHost::from_str(&r.to_string()), Ok(r.clone()));
            assert_no_forbidden(s, "relay host");
            assert!(!s.contains('#'));
            if !r.is_bracketed() {
                assert_eq!(r.host().kind(), HostKind::Name);
            }
            assert_eq!(r.effective_port(), r.port().unwrap_or_default());
            // Into postfix-relaymap.cf and back.
            let d = SenderDomain::new("example.org").expect("valid domain");
            let mut map = RelayMap::new();
            map.set_relay(&d, &r)
                .expect("a valid hop is a valid table value");
            let bytes = map.to_bytes();
            assert_eq!(
                Table::parse(&bytes).get_str("@example.org").as_deref(),
                Some(s)
            );
            assert_eq!(RelayMap::parse(&bytes).relay(&d).as_deref(), Some(s));
            // As DEFAULT_RELAY_HOST into main.cf's relayhost and back.
            let out = rendered.expect("a valid hop renders");
            assert_eq!(out.param(render::RELAYHOST), Some(s));
            let mut cf = MainCf::parse(b"relayhost =\n");
            render::main_cf_apply(&mut cf, &out).expect("relay parameters apply");
            let cf = MainCf::parse(&cf.to_bytes());
            assert_eq!(cf.get_str(render::RELAYHOST).as_deref(), Some(s));
        }
        Err(e) => {
            assert_eq!(
                field_of(&e).map(|f| f == Field::Host || f == Field::Port),
                Some(true)
            );
            match rendered {
                Err(RenderError::InvalidEnv { var, source }) if !s.is_empty() => {
                    assert_eq!(var, env::DEFAULT_RELAY_HOST);
                    assert_eq!(source, e);
                }
                Ok(out) if s.is_empty() => assert!(!out.relaying),
                other => panic!("DEFAULT_RELAY_HOST={s:?}: {other:?} but the type says {e:?}"),
            }
        }
    }
}

fn check_user(s: &str) {
    match RelayUser::new(s) {
        Ok(u) => {
            assert_eq!(u.to_string(), s);
            assert_eq!(RelayUser::from_str(s), Ok(u.clone()));
            assert_no_forbidden(s, "user");
            assert!(s.is_ascii() && !s.contains([':', '#']));
        }
        Err(e) => assert_eq!(field_of(&e), Some(Field::User), "{e:?}"),
    }
}

fn check_password(s: &str) {
    match Password::new(s) {
        Ok(p) => {
            assert_eq!(p.expose(), s);
            assert_eq!(
                Password::from_str(s).map(|p| p.expose().to_owned()),
                Ok(s.to_owned())
            );
            assert_eq!(format!("{p:?}"), "Password(<redacted>)");
            assert_eq!(format!("{p}"), "<redacted>");
            assert!(!s.chars().any(char::is_control));
            assert!(!s.starts_with(char::is_whitespace) && !s.ends_with(char::is_whitespace));
        }
        Err(e) => {
            assert_eq!(field_of(&e), Some(Field::Password), "{e:?}");
            assert_password_error_redacted(&e);
        }
    }
}

fn check_credentials(user: &str, password: &str) {
    let c = Credentials::new(user, password);
    let (u, p) = (RelayUser::new(user), Password::new(password));
    match c {
        Ok(c) => {
            assert!(u.is_ok() && p.is_ok());
            assert_eq!(c.user().as_str(), user);
            assert_eq!(c.password().expose(), password);
            assert_eq!(c.to_string(), format!("{user}:<redacted>"));
            assert_eq!(
                format!("{c:?}"),
                format!(
                    "Credentials {{ user: RelayUser({user:?}), password: Password(<redacted>) }}"
                )
            );
            assert_eq!(c.table_value().as_str(), format!("{user}:{password}"));
            assert_eq!(format!("{:?}", c.table_value()), "TableSecret(<redacted>)");
            // Into postfix-sasl-password.cf and back.
            let d = SenderDomain::new("example.org").expect("valid domain");
            let mut sasl = SaslPasswords::new();
            sasl.add_auth(&d, &c)
                .expect("valid credentials are a valid value");
            let bytes = sasl.to_bytes();
            let want = format!("{user}:{password}");
            assert_eq!(
                Table::parse(&bytes).get_str("@example.org").as_deref(),
                Some(want.as_str())
            );
            let (ru, rp) = SaslPasswords::parse(&bytes)
                .credentials(&d)
                .expect("credentials read back");
            assert_eq!(ru, user);
            assert_eq!(rp.expose(), password);
            assert!(!format!("{sasl:?}").contains(&want));
        }
        Err(e) => {
            match (&u, &p) {
                (Err(ue), _) => assert_eq!(&e, ue),
                (Ok(_), Err(pe)) => assert_eq!(&e, pe),
                (Ok(_), Ok(_)) => panic!("credentials refused with valid parts: {e:?}"),
            }
            if field_of(&e) == Some(Field::Password) {
                assert_password_error_redacted(&e);
            }
        }
    }
}

/// `RELAY_HOST=host`, `RELAY_PORT=port` into `relayhost_map`: the line of
/// a managed domain is `@domain    [host]:port` and reads back as a
/// bracketed hop with a port.
fn check_env_hop(host: &str, port: &str) {
    let env = RelayEnv::new().with_relay_host(host).with_relay_port(port);
    let domains = ["example.org".to_string()];
    let out = render::render(
        &env,
        &Sources {
            relaymap: None,
            sasl_password: None,
            domains: &domains,
        },
    );
    match out {
        Ok(out) => {
            if host.is_empty() {
                assert!(!out.relaying);
                return;
            }
            let map = out.relayhost_map.expect("RELAY_HOST relays");
            let table = Table::parse(&map);
            assert_eq!(
                table.entries().count(),
                1,
                "{:?}",
                String::from_utf8_lossy(&map)
            );
            let v = table.get_str("@example.org").expect("domain mapped");
            let hop: RelayHost = v.parse().expect("rendered hop reparses");
            assert!(hop.is_bracketed());
            assert_eq!(hop.to_string(), v);
            let own = host.parse::<RelayHost>().ok().and_then(|h| h.port());
            match (own, port.parse::<Port>()) {
                (Some(p), _) => assert_eq!(hop.port(), Some(p)),
                (None, Ok(p)) => assert_eq!(hop.port(), Some(p)),
                (None, Err(_)) => {
                    assert!(port.is_empty());
                    assert_eq!(hop.port(), Some(Port::DEFAULT));
                }
            }
        }
        Err(RenderError::InvalidEnv { var, source }) => match var {
            env::RELAY_PORT => assert_eq!(port.parse::<Port>().err(), Some(source)),
            env::RELAY_HOST => {
                assert!(Host::new(host).is_err());
                assert_eq!(host.parse::<RelayHost>().err(), Some(source));
            }
            other => panic!("RELAY_HOST/RELAY_PORT blamed on {other}"),
        },
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn check_table_ref(a: &[u8]) {
    match TableRef::parse_bytes(a) {
        Ok(t) => {
            assert_eq!(t.to_string().as_bytes(), a);
            assert_eq!(t.as_str().as_bytes(), a);
            assert_eq!(TableRef::parse(&t.to_string()), Ok(t.clone()));
            assert!(!t.kind().is_empty() && !t.name().is_empty());
            assert_eq!(format!("{}:{}", t.kind(), t.name()), t.to_string());
            assert!(!a.contains(&0));
        }
        Err(SpecError::Nul) => assert!(a.contains(&0)),
        Err(SpecError::NotUtf8) => assert!(std::str::from_utf8(a).is_err()),
        // Postfix's own message for a non-UTF-8 `inline:` reference.
        Err(SpecError::InlineNotUtf8 { .. }) => {
            assert!(std::str::from_utf8(a).is_err() && a.starts_with(b"inline:"));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert!(std::str::from_utf8(a).is_ok() && !a.contains(&0));
        }
    }
    if let Ok(s) = std::str::from_utf8(a)
        && let Ok(list) = TableRef::parse_list(s)
    {
        for t in &list {
            assert_eq!(TableRef::parse(&t.to_string()).as_ref(), Ok(t));
        }
    }
}

fn check_typed(a: &[u8]) {
    let v = c_string(a);
    match typed::parse_bool(a) {
        Ok(true) => assert!(v.eq_ignore_ascii_case(b"yes")),
        Ok(false) => assert!(v.eq_ignore_ascii_case(b"no")),
        Err(e) => assert!(!e.postfix_message("x").is_empty()),
    }
    let long = typed::parse_long(a);
    if let Ok(n) = long {
        assert_eq!(typed::parse_long(n.to_string().as_bytes()), Ok(n));
    }
    if let Ok(n) = typed::parse_int(a) {
        assert_eq!(long.as_ref().ok(), Some(&i64::from(n)));
    }
    for unit in [
        TimeUnit::Seconds,
        TimeUnit::Minutes,
        TimeUnit::Hours,
        TimeUnit::Days,
        TimeUnit::Weeks,
    ] {
        if let Ok(t) = typed::parse_time(a, unit) {
            assert_eq!(
                typed::parse_time(format!("{t}s").as_bytes(), unit),
                Ok(t),
                "time {:?}",
                String::from_utf8_lossy(a)
            );
        }
    }
    let items = typed::split_list(a);
    for item in &items {
        assert!(!item.is_empty());
        assert!(!item.contains(&0));
    }
    if let Ok(unbraced) = typed::split_list_unbraced(a) {
        assert_eq!(unbraced.len(), items.len());
    }
    if let Ok(refs) = typed::parse_table_refs(a) {
        assert_eq!(refs.len(), items.len());
        for (t, item) in refs.iter().zip(&items) {
            assert_eq!(t.to_string().as_bytes(), *item);
        }
    }
}
