//! The checks behind the `dms_env` fuzz target: arbitrary ENV pairs into
//! `RelayEnv::from_pairs_with` (with `__FILE` variants read from the input),
//! then `render` over arbitrary `postfix-relaymap.cf`,
//! `postfix-sasl-password.cf`, `postfix-accounts.cf` and
//! `postfix-virtual.cf` bytes, then `main_cf_apply`.
//!
//! This file depends on `dms_relay`, `postfix_table`, `postfix_maincf` and
//! `std` only, so that `dms-relay/tests/fuzz_replay.rs` can include it with
//! `#[path]` and replay `fuzz/seeds/dms_env` and `fuzz/regressions/dms_env`
//! on every `cargo test`.
//!
//! Input layout ([`decode`]): byte 0 = number of pairs (mod 8); per pair a
//! name selector byte ([`NAMES`]), a length byte and that many value bytes
//! (lossy UTF-8); then a length byte and the content every `__FILE` path
//! reads (an empty path or `missing` is a file that cannot be read); then
//! a flags byte (bit 0: relaymap exists, bit 1: sasl file exists); then a
//! 2-byte little-endian length and the relaymap, a 2-byte length and the
//! sasl file, a 1-byte length and `postfix-accounts.cf`, and the rest is
//! `postfix-virtual.cf`. Missing bytes read as 0 / empty.
//!
//! Invariants:
//! - `from_pairs_with` follows DMS's rules (last pair wins, empty is unset,
//!   a set variable beats its `__FILE` with a note, file content loses NULs
//!   and trailing LFs, unreadable file / non-UTF-8 content are errors);
//! - `render` never panics, is deterministic, refuses exactly the ENV values
//!   the types refuse, and its files parse back with `postfix_table` line
//!   by line: every line is one entry with a key and a value, nothing is
//!   glued on or swallowed as a continuation, no CR outside a value, `vhost` has
//!   one line per managed domain;
//! - the ENV password never reaches `Debug`, warnings or errors: rendering
//!   with a different password of the same shape gives the same `Debug`,
//!   warning and error text;
//! - `main_cf_apply` writes what was rendered (read back through
//!   `postfix_maincf`), is idempotent, and convergent: applying another
//!   render first ends in the same relay parameters.

use std::io;
use std::path::Path;

use dms_relay::env::{self, EnvError, RelayEnv};
use dms_relay::render::{self, RenderError, Rendered, Sources};
use dms_relay::types::{Password, RelayHost, RelayUser};
use postfix_maincf::MainCf;
use postfix_table::{DiagnosticKind, Table};

/// ENV names a pair can have.
pub const NAMES: [&str; 16] = [
    "DEFAULT_RELAY_HOST",
    "RELAY_HOST",
    "RELAY_PORT",
    "RELAY_USER",
    "RELAY_PASSWORD",
    "DEFAULT_RELAY_HOST__FILE",
    "RELAY_HOST__FILE",
    "RELAY_PORT__FILE",
    "RELAY_USER__FILE",
    "RELAY_PASSWORD__FILE",
    "PATH",
    "relay_host",
    "RELAY_HOST ",
    "RELAY_PASSWORD__FILE__FILE",
    "RELAY_USER",
    "RELAY_PASSWORD",
];

/// One decoded input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// ENV pairs, in order.
    pub pairs: Vec<(String, String)>,
    /// What every readable `__FILE` path contains.
    pub file: Vec<u8>,
    /// `postfix-relaymap.cf` (`None`: absent).
    pub relaymap: Option<Vec<u8>>,
    /// `postfix-sasl-password.cf` (`None`: absent).
    pub sasl: Option<Vec<u8>>,
    /// `postfix-accounts.cf`.
    pub accounts: Vec<u8>,
    /// `postfix-virtual.cf`.
    pub virtual_: Vec<u8>,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Decodes an input (layout in the module documentation).
pub fn decode(data: &[u8]) -> Input {
    let mut r = Reader(data);
    let count = r.byte() % 8;
    let mut pairs = Vec::new();
    for _ in 0..count {
        let name = NAMES[usize::from(r.byte()) % NAMES.len()];
        let len = usize::from(r.byte());
        let value = String::from_utf8_lossy(r.take(len)).into_owned();
        pairs.push((name.to_string(), value));
    }
    let len = usize::from(r.byte());
    let file = r.take(len).to_vec();
    let flags = r.byte();
    let len = usize::from(u16::from_le_bytes([r.byte(), r.byte()]));
    let relaymap = r.take(len).to_vec();
    let len = usize::from(u16::from_le_bytes([r.byte(), r.byte()]));
    let sasl = r.take(len).to_vec();
    let len = usize::from(r.byte());
    let accounts = r.take(len).to_vec();
    let virtual_ = r.0.to_vec();
    Input {
        pairs,
        file,
        relaymap: (flags & 1 != 0).then_some(relaymap),
        sasl: (flags & 2 != 0).then_some(sasl),
        accounts,
        virtual_,
    }
}

/// Encodes an input (the inverse of [`decode`] for inputs it can hold:
/// names from [`NAMES`], values up to 255 bytes, …); used to write seeds.
pub fn encode(input: &Input) -> Vec<u8> {
    let mut out = vec![u8::try_from(input.pairs.len()).unwrap_or(0) % 8];
    for (name, value) in input.pairs.iter().take(7) {
        let sel = NAMES.iter().position(|n| n == name).unwrap_or(10);
        out.push(u8::try_from(sel).unwrap_or(10));
        let v = value.as_bytes();
        let v = v.get(..v.len().min(255)).unwrap_or_default();
        out.push(u8::try_from(v.len()).unwrap_or(0));
        out.extend_from_slice(v);
    }
    let f = input
        .file
        .get(..input.file.len().min(255))
        .unwrap_or_default();
    out.push(u8::try_from(f.len()).unwrap_or(0));
    out.extend_from_slice(f);
    out.push(u8::from(input.relaymap.is_some()) | (u8::from(input.sasl.is_some()) << 1));
    for part in [&input.relaymap, &input.sasl] {
        let p = part.as_deref().unwrap_or_default();
        let p = p.get(..p.len().min(65535)).unwrap_or_default();
        out.extend_from_slice(&u16::try_from(p.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(p);
    }
    let a = input
        .accounts
        .get(..input.accounts.len().min(255))
        .unwrap_or_default();
    out.push(u8::try_from(a.len()).unwrap_or(0));
    out.extend_from_slice(a);
    out.extend_from_slice(&input.virtual_);
    out
}

fn read_file(content: &[u8]) -> impl FnMut(&Path) -> io::Result<Vec<u8>> + '_ {
    move |p: &Path| {
        if p.as_os_str().is_empty() || p == Path::new("missing") {
            Err(io::Error::from(io::ErrorKind::NotFound))
        } else {
            Ok(content.to_vec())
        }
    }
}

/// What `from_pairs_with` must give, variable by variable (DMS's rules).
fn model(input: &Input) -> Result<([Option<String>; 5], usize), &'static str> {
    let mut values: [Option<String>; 5] = Default::default();
    let mut notes = 0;
    for (i, var) in env::VARIABLES.iter().enumerate() {
        let last = |name: &str| {
            input
                .pairs
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let own = last(var).filter(|v| !v.is_empty());
        let file = last(&format!("{var}{}", env::FILE_SUFFIX));
        let value = match (own, file) {
            (Some(v), Some(_)) => {
                notes += 1;
                Some(v)
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => {
                if path.is_empty() || path == "missing" {
                    return Err(var);
                }
                let mut bytes: Vec<u8> = input.file.iter().copied().filter(|&b| b != 0).collect();
                while bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                let text = String::from_utf8(bytes).map_err(|_| *var)?;
                Some(text).filter(|t| !t.is_empty())
            }
            (None, None) => None,
        };
        if let Some(slot) = values.get_mut(i) {
            *slot = value;
        }
    }
    Ok((values, notes))
}

/// `s` with every ASCII letter and digit replaced by another one: a
/// password of the same shape (same validity, same length).
pub fn shifted(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(u8::try_from(c).unwrap_or(b'a') + 1),
            c => c,
        })
        .collect()
}

/// Runs every check on one input.
pub fn check(data: &[u8]) {
    check_input(&decode(data));
}

/// Runs every check on a decoded input.
pub fn check_input(input: &Input) {
    let env = RelayEnv::from_pairs_with(input.pairs.iter().cloned(), read_file(&input.file));
    let env = match (env, model(input)) {
        (Ok(env), Ok((values, notes))) => {
            let got = [
                env.default_relay_host(),
                env.relay_host(),
                env.relay_port(),
                env.relay_user(),
                env.relay_password().map(|p| p.expose()),
            ];
            for ((var, got), want) in env::VARIABLES.iter().zip(got).zip(&values) {
                assert_eq!(got, want.as_deref(), "{var}");
            }
            assert_eq!(env.notes().len(), notes);
            env
        }
        (Err(EnvError::File { var, .. }), Err(want)) => {
            assert_eq!(var, want);
            return;
        }
        (Err(EnvError::NotUnicode { var }), Err(want)) => {
            assert_eq!(var, want);
            return;
        }
        (got, want) => panic!("from_pairs_with: {got:?}, model: {want:?}"),
    };
    if let Some(pw) = env.relay_password() {
        let other = env.clone().with_relay_password(shifted(pw.expose()));
        assert_eq!(
            format!("{env:?}"),
            format!("{other:?}"),
            "password in Debug"
        );
    }

    let domains = render::managed_domains(Some(&input.accounts), Some(&input.virtual_));
    let sources = Sources {
        relaymap: input.relaymap.as_deref(),
        sasl_password: input.sasl.as_deref(),
        domains: &domains,
    };
    let result = render::render(&env, &sources);
    assert_eq!(
        result,
        render::render(&env, &sources),
        "render is not deterministic"
    );

    // The password never shows: the same input with another password of
    // the same shape gives the same text everywhere but in sasl_passwd.
    if let Some(pw) = env.relay_password() {
        let other = env.clone().with_relay_password(shifted(pw.expose()));
        let other = render::render(&other, &sources);
        match (&result, &other) {
            (Ok(a), Ok(b)) => {
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "password in Debug");
                let wa: Vec<String> = a.warnings.iter().map(ToString::to_string).collect();
                let wb: Vec<String> = b.warnings.iter().map(ToString::to_string).collect();
                assert_eq!(wa, wb, "password in a warning");
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "password in an error");
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "password in an error");
            }
            _ => panic!("the password's letters changed the outcome"),
        }
    }

    let out = match result {
        Ok(out) => out,
        Err(RenderError::InvalidEnv { var, source }) => {
            let value = match var {
                env::DEFAULT_RELAY_HOST => env.default_relay_host(),
                env::RELAY_HOST => env.relay_host(),
                env::RELAY_PORT => env.relay_port(),
                env::RELAY_USER => env.relay_user(),
                env::RELAY_PASSWORD => env.relay_password().map(|p| p.expose()),
                other => panic!("error blames {other}"),
            }
            .expect("the blamed variable is set");
            match var {
                env::DEFAULT_RELAY_HOST => {
                    assert_eq!(value.parse::<RelayHost>().err(), Some(source));
                }
                env::RELAY_USER => assert_eq!(RelayUser::new(value).err(), Some(source)),
                env::RELAY_PASSWORD => assert_eq!(Password::new(value).err(), Some(source)),
                _ => {}
            }
            return;
        }
        Err(other) => panic!("unexpected error {other:?}"),
    };
    check_rendered(&out, &domains);
    check_main_cf(&out);
}

fn check_table_file(name: &str, bytes: &[u8]) {
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{name} does not end in LF"
    );
    let table = Table::parse(bytes);
    assert_eq!(table.to_bytes(), bytes, "{name} does not round-trip");
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let entries: Vec<_> = table.entries().collect();
    let unreadable: Vec<usize> = table
        .diagnostics()
        .into_iter()
        .filter(|d| {
            matches!(
                d.kind,
                DiagnosticKind::NulByte
                    | DiagnosticKind::NonUtf8 { .. }
                    | DiagnosticKind::UnbalancedQuote { .. }
            )
        })
        .map(|d| d.line)
        .collect();
    assert_eq!(
        entries.len(),
        lines.len(),
        "{name}: lines and entries differ: {:?}",
        String::from_utf8_lossy(bytes)
    );
    for (line, entry) in lines.iter().zip(&entries) {
        assert_eq!(entry.raw(), *line, "{name}: an entry spans lines");
        let first = line.first().copied().unwrap_or(b'\n');
        assert!(
            !matches!(first, b' ' | b'\t' | b'#' | b'\n'),
            "{name}: line starts with {first:?}"
        );
        // No CR in the key, the separator or at the end: a CR survives
        // only inside a value, where Postfix keeps it too.
        let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c');
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let key_end = body.iter().position(|&b| is_space(b)).unwrap_or(body.len());
        let value_start = body
            .iter()
            .skip(key_end)
            .position(|&b| !is_space(b))
            .map_or(body.len(), |i| key_end + i);
        let head = body.get(..value_start).unwrap_or_default();
        assert!(!head.contains(&b'\r'), "{name}: CR before the value");
        assert!(!body.ends_with(b"\r"), "{name}: line ends in CR");
        // A copied line that Postfix ignores with a warning (NUL, not
        // UTF-8, unbalanced quote in the key, a backslash escaping the
        // separator) is copied as DMS copies it; every other line is a key
        // and a value.
        let quoted = line.contains(&b'"') || line.contains(&b'\\');
        if !unreadable.contains(&entry.line()) && !quoted {
            assert!(entry.value().is_some(), "{name}: line without a value");
        }
    }
}

fn check_rendered(out: &Rendered, domains: &[String]) {
    assert_eq!(out.relaying, out.relayhost_map.is_some());
    if let Some(map) = &out.relayhost_map {
        check_table_file("relayhost_map", map);
    }
    if let Some(sasl) = &out.sasl_passwd {
        check_table_file("sasl_passwd", sasl);
        assert!(out.relaying);
    }
    assert_eq!(out.vhost, render::vhost_bytes(domains));
    assert_eq!(
        out.vhost.iter().filter(|&&b| b == b'\n').count(),
        domains.len(),
        "vhost has a line per domain"
    );
    for d in domains {
        assert!(!d.contains('\n'), "managed domain with LF: {d:?}");
    }
    for w in &out.warnings {
        assert!(!w.to_string().is_empty());
    }
    assert_eq!(out.main_cf.len(), render::RELAY_PARAMETERS.len());
    if let Some(v) = out.param(render::RELAYHOST)
        && !v.is_empty()
    {
        assert!(v.parse::<RelayHost>().is_ok(), "relayhost {v:?}");
    }
}

const BASE_MAIN_CF: &[u8] = b"# stock\nrelayhost =\nsmtp_tls_security_level = may\nsmtp_sasl_auth_enable = no\nmyhostname = mail.example.test\n";

fn relay_params(cf: &MainCf) -> Vec<Option<Vec<u8>>> {
    render::RELAY_PARAMETERS
        .iter()
        .map(|n| cf.get(n).map(|v| v.into_owned()))
        .collect()
}

fn check_main_cf(out: &Rendered) {
    let mut cf = MainCf::parse(BASE_MAIN_CF);
    render::main_cf_apply(&mut cf, out).expect("rendered parameters apply");
    let bytes = cf.to_bytes();
    let cf = MainCf::parse(&bytes);
    for (name, want) in &out.main_cf {
        let got = cf.get_str(name);
        match want {
            Some(v) => assert_eq!(got.as_deref(), Some(v.trim()), "{name}"),
            None => assert_eq!(got, None, "{name}"),
        }
    }
    // Idempotent.
    let mut again = cf.clone();
    assert!(
        matches!(render::main_cf_apply(&mut again, out), Ok(false)),
        "second apply changed main.cf"
    );
    assert_eq!(again.to_bytes(), bytes);
    // Convergent: another configuration first, then this one.
    let other = render::render(
        &RelayEnv::new()
            .with_default_relay_host("[other.test]:2525")
            .with_relay_user("u")
            .with_relay_password("p"),
        &Sources::default(),
    )
    .expect("fixed ENV renders");
    let mut via = MainCf::parse(BASE_MAIN_CF);
    render::main_cf_apply(&mut via, &other).expect("fixed render applies");
    render::main_cf_apply(&mut via, out).expect("rendered parameters apply");
    assert_eq!(
        relay_params(&MainCf::parse(&via.to_bytes())),
        relay_params(&cf)
    );
}
