//! The checks behind the `dms_ops` fuzz target, as plain functions over
//! bytes.
//!
//! This file depends on `dms_relay` and `std` only, so that
//! `dms-relay/tests/fuzz_replay.rs` can include it with `#[path]` and replay
//! `fuzz/seeds/dms_ops` and `fuzz/regressions/dms_ops` on every `cargo test`.

use dms_relay::ops::Model;
use dms_relay::store::{Command, Documents, RelayMap, SaslPasswords};

/// Domains the decoder picks from (with case variants and invalid ones).
pub const DOMAINS: [&str; 8] = [
    "example.org",
    "Example.ORG",
    "b.test",
    "sub.b.test",
    "x.test",
    "a*b.test",
    "bad domain",
    "x.test\n@evil.test",
];
/// Hosts the decoder picks from.
pub const HOSTS: [&str; 4] = ["smtp.relay.test", "[bad", "h h", "[2001:db8::1]"];
/// Ports the decoder picks from.
pub const PORTS: [Option<&str>; 4] = [None, Some("587"), Some("0"), Some("25abc")];
/// Passwords the decoder picks from.
pub const PASSWORDS: [&str; 4] = ["secret", "p:w&\\1", "", "pw\nline"];

/// Decodes a `dms_ops` input: byte 0 = op count (mod 16), then 2 bytes per
/// op (kind and argument selector), then the rest split at the first NUL
/// into the initial relaymap and sasl file.
pub fn decode(data: &[u8]) -> (Vec<Result<Command, String>>, &[u8], &[u8]) {
    let count = data.first().map_or(0, |b| usize::from(b % 16));
    let mut rest = data.get(1..).unwrap_or_default();
    let mut ops = Vec::new();
    for _ in 0..count {
        let [kind, arg, ..] = *rest else {
            break;
        };
        rest = rest.get(2..).unwrap_or_default();
        let a = usize::from(arg);
        let d = DOMAINS[a % DOMAINS.len()];
        let cmd = match kind % 6 {
            0 => Command::add_domain(d, HOSTS[(a / 8) % 4], PORTS[(a / 32) % 4]),
            1 => Command::add_auth(d, "user", PASSWORDS[(a / 8) % 4]),
            2 => Command::exclude_domain(d),
            3 => Command::include_domain(d),
            4 => Command::remove_domain(d),
            _ => Command::remove_auth(d),
        };
        ops.push(cmd.map_err(|e| e.to_string()));
    }
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let relaymap = rest.get(..split).unwrap_or_default();
    let sasl = rest.get(split + 1..).unwrap_or_default();
    (ops, relaymap, sasl)
}

/// `dms_ops`: the documents round-trip, follow `dms_relay::ops::Model`
/// after every command (also re-read from their bytes), a refused command
/// changes nothing, and a repeated command changes nothing; errors never
/// show a password.
pub fn check(data: &[u8]) {
    let (ops, relaymap, sasl) = decode(data);
    let mut docs = Documents::from_parts(RelayMap::parse(relaymap), SaslPasswords::parse(sasl));
    assert!(docs.relaymap.to_bytes() == relaymap, "relaymap round-trip");
    assert!(docs.sasl.to_bytes() == sasl, "sasl round-trip");
    let mut model = Model::observe(&mut docs, &DOMAINS);
    for op in &ops {
        let cmd = match op {
            Ok(cmd) => cmd,
            Err(e) => {
                for pw in ["secret", "p:w&\\1", "pw\nline"] {
                    assert!(!e.contains(pw), "error shows a password: {e}");
                }
                continue;
            }
        };
        let before = (docs.relaymap.to_bytes(), docs.sasl.to_bytes());
        let result = cmd.apply_to(&mut docs);
        if result.is_err() {
            assert!(
                (docs.relaymap.to_bytes(), docs.sasl.to_bytes()) == before,
                "refused command changed bytes"
            );
        }
        model.apply(cmd, result.is_ok());
        if let Err(e) = model.check(&mut docs) {
            panic!("after {cmd:?}: {e}");
        }
        if result.is_ok() {
            let after = (docs.relaymap.to_bytes(), docs.sasl.to_bytes());
            assert!(cmd.apply_to(&mut docs).is_ok(), "repeat refused");
            assert!(
                (docs.relaymap.to_bytes(), docs.sasl.to_bytes()) == after,
                "repeating a command changed bytes"
            );
        }
    }
}
