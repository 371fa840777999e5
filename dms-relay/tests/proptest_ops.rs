//! Property test: random `setup relay` command sequences (valid and invalid
//! arguments, case variants, on hand-written starting files with opt-outs
//! without a trailing space, indented lines, duplicates and comments) keep
//! the documents equal to `ops::Model`, also after re-reading their bytes,
//! and a refused command changes no byte.

use dms_relay::ops::Model;
use dms_relay::store::{Command, Documents, RelayMap, SaslPasswords};
use proptest::prelude::*;

const DOMAINS: &[&str] = &[
    "example.org",
    "Example.ORG",
    "b.test",
    "sub.b.test",
    "x.test",
];

fn relaymap_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("# relays".to_string()),
        Just(String::new()),
        Just("@b.test [old.relay]:25".to_string()),
        Just("@x.test".to_string()),
        Just("@x.test ".to_string()),
        Just("@EXAMPLE.org\t[h]:2525".to_string()),
        Just("  @indented.test [i]:25".to_string()),
        Just("@b.test [dup.relay]:25".to_string()),
        Just("@sub.b.test [s]:587 # inline".to_string()),
    ]
}

fn sasl_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("# creds".to_string()),
        Just("@b.test user:pw".to_string()),
        Just("@Example.org u2:p:w".to_string()),
        Just("@x.test".to_string()),
    ]
}

fn file(line: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line, 0..6), any::<bool>()).prop_map(|(lines, final_nl)| {
        let mut s = lines.join("\n");
        if final_nl && !s.is_empty() {
            s.push('\n');
        }
        s.into_bytes()
    })
}

fn command() -> impl Strategy<Value = Result<Command, String>> {
    let domain = prop_oneof![
        prop::sample::select(DOMAINS.to_vec()).prop_map(str::to_string),
        Just("a*b.test".to_string()),
        Just("bad domain".to_string()),
        Just("x.test\n@evil.test".to_string()),
    ];
    let host = prop::sample::select(vec!["smtp.relay.test", "h2.test", "[bad", "h h"]);
    let port = prop::sample::select(vec![
        None,
        Some("25"),
        Some("587"),
        Some("0"),
        Some("25abc"),
    ]);
    let pw = prop::sample::select(vec!["secret", "p:w&\\1", "", "pw\nline"]);
    (0..6u8, domain, host, port, pw).prop_map(|(kind, d, h, p, pw)| {
        let r = match kind {
            0 => Command::add_domain(&d, h, p),
            1 => Command::add_auth(&d, "user", pw),
            2 => Command::exclude_domain(&d),
            3 => Command::include_domain(&d),
            4 => Command::remove_domain(&d),
            _ => Command::remove_auth(&d),
        };
        r.map_err(|e| e.to_string())
    })
}

proptest! {
    #[test]
    fn commands_follow_the_model(
        relaymap in file(relaymap_line()),
        sasl in file(sasl_line()),
        cmds in prop::collection::vec(command(), 1..10),
    ) {
        let mut docs =
            Documents::from_parts(RelayMap::parse(&relaymap), SaslPasswords::parse(&sasl));
        // Untouched documents write back every byte.
        prop_assert_eq!(docs.relaymap.to_bytes(), relaymap);
        prop_assert_eq!(docs.sasl.to_bytes(), sasl);
        let mut model = Model::observe(&mut docs, DOMAINS);
        for cmd in &cmds {
            let Ok(cmd) = cmd else {
                continue; // refused before any document is touched
            };
            let before = (docs.relaymap.to_bytes(), docs.sasl.to_bytes());
            let result = cmd.apply_to(&mut docs);
            if result.is_err() {
                prop_assert_eq!(&(docs.relaymap.to_bytes(), docs.sasl.to_bytes()), &before);
            }
            model.apply(cmd, result.is_ok());
            if let Err(e) = model.check(&mut docs) {
                return Err(TestCaseError::fail(format!("after {cmd:?}: {e}")));
            }
            // Running the same command again changes nothing.
            if result.is_ok() {
                let after = (docs.relaymap.to_bytes(), docs.sasl.to_bytes());
                let again = cmd.apply_to(&mut docs);
                prop_assert!(again.is_ok());
                prop_assert_eq!((docs.relaymap.to_bytes(), docs.sasl.to_bytes()), after);
            }
        }
    }
}
