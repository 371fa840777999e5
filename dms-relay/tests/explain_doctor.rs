//! `explain` (the SASL side: key order, redaction, errors) and `doctor`
//! (every code: detection with file and line, `fix`, and a clean re-run).
//! The next-hop side of `explain` is checked against the real
//! trivial-rewrite in `explain_oracle.rs`; the whole path against a running
//! Postfix in the end-to-end test.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dms_relay::doctor::{Code, Doctor, Fix};
use dms_relay::env::RelayEnv;
use dms_relay::explain::{Answer, NextHopSource, RelayConfig, Sasl};

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

fn setup(main: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "main.cf", main, 0o644);
    for (name, text) in files {
        write(dir.path(), name, text, 0o600);
    }
    dir
}

const BASE: &str = "compatibility_level = 3.6\nmyorigin = origin.test\nmydestination = localhost\n\
    smtp_sasl_auth_enable = yes\nsmtp_tls_security_level = encrypt\n\
    sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n\
    smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n";

// ------------------------------------------------------------------ explain

#[test]
fn server_host_name_before_next_hop_as_written() {
    let dir = setup(
        &format!("{BASE}relayhost = [smtp.example.com]:587\n"),
        &[
            ("relayhost_map", ""),
            (
                "sasl_passwd",
                "[smtp.example.com]:587 bracketed:Secret-One\nsmtp.example.com bare:Secret-Two\n",
            ),
        ],
    );
    let e = RelayConfig::load(dir.path())
        .unwrap()
        .explain("a@b.example");
    assert_eq!(e.next_hop_source, NextHopSource::Relayhost);
    let c = e.credentials().unwrap();
    assert_eq!(
        (c.user.as_str(), c.key.as_str(), c.role),
        ("bare", "smtp.example.com", "server host name")
    );
    assert_eq!(c.password.expose(), "Secret-Two");
    // The trail: sender keys are not tried (sender-dependent auth is off),
    // the relay map was searched with every sender key.
    let sasl_keys: Vec<&str> = e
        .trail
        .iter()
        .filter(|s| s.parameter == "smtp_sasl_password_maps")
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(sasl_keys, ["smtp.example.com"]);
    let relay_keys: Vec<&str> = e
        .trail
        .iter()
        .filter(|s| s.parameter == "sender_dependent_relayhost_maps")
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(relay_keys, ["a@b.example", "@b.example"]);
    let text = e.to_string();
    assert!(!text.contains("Secret-"), "{text}");
    let json = e.to_json();
    assert!(!json.contains("Secret-"), "{json}");
    assert!(json.contains(r#""user":"bare""#), "{json}");
}

#[test]
fn sender_dependent_authentication_and_null_sender() {
    let dir = setup(
        &format!(
            "{BASE}relayhost = [smtp.example.com]:587\nsmtp_sender_dependent_authentication = yes\n"
        ),
        &[
            ("relayhost_map", "@shop.example [mail.shop.example]:2525\n"),
            (
                "sasl_passwd",
                "@shop.example shop:pa:ss word\n[smtp.example.com]:587 default:pw\n",
            ),
        ],
    );
    let config = RelayConfig::load(dir.path()).unwrap();
    let e = config.explain("orders+eu@shop.example");
    assert_eq!(e.next_hop.as_deref(), Some("[mail.shop.example]:2525"));
    let c = e.credentials().unwrap();
    assert_eq!(
        (c.user.as_str(), c.password.expose(), c.role),
        ("shop", "pa:ss word", "sender")
    );
    assert_eq!(c.key, "@shop.example");
    // The null sender: no sender step, relayhost, keyed by next hop.
    let e = config.explain("");
    assert_eq!(e.next_hop.as_deref(), Some("[smtp.example.com]:587"));
    let c = e.credentials().unwrap();
    assert_eq!((c.user.as_str(), c.role), ("default", "next hop"));
    assert!(
        e.trail
            .iter()
            .all(|s| s.parameter != "smtp_sasl_password_maps" || s.role != "sender")
    );
}

#[test]
fn lookup_errors_defer() {
    // An empty result, and a texthash duplicate (the daemon refuses the table).
    let dir = setup(
        &format!(
            "{BASE}relayhost = [smtp.example.com]:587\n\
             sender_dependent_relayhost_maps = inline:{{ {{ @a.example = }} }}, texthash:/etc/postfix/relayhost_map\n"
        ),
        &[
            ("relayhost_map", "@b.example [x]\n@b.example [y]\n"),
            ("sasl_passwd", ""),
        ],
    );
    let config = RelayConfig::load(dir.path()).unwrap();
    let e = config.explain("u@a.example");
    assert!(
        matches!(e.next_hop_source, NextHopSource::Deferred { .. }),
        "{e}"
    );
    assert!(matches!(e.sasl, Sasl::Unknown { .. }));
    let e = config.explain("u@b.example");
    let NextHopSource::Deferred { reason } = &e.next_hop_source else {
        panic!("{e}")
    };
    assert!(reason.contains("duplicate"), "{reason}");
    assert!(matches!(e.trail.last().unwrap().answer, Answer::Error(_)));
}

#[test]
fn dunno_and_direct_and_sasl_disabled() {
    let dir = setup(
        "sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n\
         smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n",
        &[
            ("relayhost_map", "@a.example DUNNO\n"),
            ("sasl_passwd", "x u:p\n"),
        ],
    );
    let e = RelayConfig::load(dir.path())
        .unwrap()
        .explain("u@a.example");
    assert_eq!(e.next_hop_source, NextHopSource::Direct);
    assert_eq!(e.sasl, Sasl::Disabled);
}

// ------------------------------------------------------------------ doctor

fn codes(dir: &Path) -> Vec<(Code, Option<String>, Option<usize>)> {
    Doctor::new(dir)
        .run()
        .unwrap()
        .problems
        .into_iter()
        .map(|p| {
            (
                p.code,
                p.file
                    .map(|f| f.file_name().unwrap().to_string_lossy().into_owned()),
                p.line,
            )
        })
        .collect()
}

#[test]
fn doctor_finds_each_problem_with_file_and_line_and_fixes_the_mechanical_ones() {
    let dir = setup(
        "relayhost = smtp.example.com:587\n\
         smtp_tls_security_level = may\n\
         sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map, inline:{ { @e.example = } }\n\
         smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n",
        &[
            (
                "relayhost_map",
                "@a.example [relay-a.example]:2525\n@a.example [other]\nkeyonly.example\n",
            ),
            (
                "sasl_passwd",
                "# credentials\n[smtp.example.com]:587 user:pw\n@a.example a:pw\nnobody.example n:pw\n",
            ),
        ],
    );
    fs::set_permissions(
        dir.path().join("sasl_passwd"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        codes(dir.path()),
        [
            (Code::UnmatchedCredentials, s("sasl_passwd"), Some(2)),
            (Code::UnmatchedCredentials, s("sasl_passwd"), Some(3)),
            (Code::UnmatchedCredentials, s("sasl_passwd"), Some(4)),
            (Code::CredentialsWithoutEncrypt, s("main.cf"), Some(2)),
            (Code::CredentialsWithoutAuth, s("main.cf"), None),
            (Code::TexthashDuplicate, s("relayhost_map"), Some(2)),
            (Code::KeyOnlyLine, s("relayhost_map"), Some(3)),
            (Code::EmptyResult, s("main.cf"), Some(3)),
            (Code::CredentialFileMode, s("sasl_passwd"), None),
        ]
    );
    let report = Doctor::new(dir.path()).run().unwrap();
    // No password in any message.
    for p in &report.problems {
        // (":pw": a temporary directory's random name may contain "pw".)
        assert!(!p.to_string().contains(":pw"), "{p}");
    }
    assert!(!report.to_json().contains(":pw"));
    let fixed = report.fix().unwrap();
    assert!(fixed.contains(&Fix::Chmod600 {
        file: dir.path().join("sasl_passwd")
    }));
    assert_eq!(
        fs::read_to_string(dir.path().join("sasl_passwd")).unwrap(),
        "# credentials\nsmtp.example.com:587 user:pw\n@a.example a:pw\nnobody.example n:pw\n"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("relayhost_map")).unwrap(),
        "@a.example [relay-a.example]:2525\n"
    );
    let main = fs::read_to_string(dir.path().join("main.cf")).unwrap();
    assert!(
        main.contains("smtp_tls_security_level = encrypt\n"),
        "{main}"
    );
    assert!(main.ends_with("smtp_sasl_auth_enable = yes\n"), "{main}");
    assert_eq!(
        fs::metadata(dir.path().join("sasl_passwd"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // What is left has no mechanical fix: the sender-keyed credential
    // (sender-dependent authentication is off), the credential for a host
    // no next hop uses, and the empty inline result.
    assert_eq!(
        codes(dir.path()),
        [
            (Code::UnmatchedCredentials, s("sasl_passwd"), Some(3)),
            (Code::UnmatchedCredentials, s("sasl_passwd"), Some(4)),
            (Code::EmptyResult, s("main.cf"), Some(3)),
        ]
    );
}

#[test]
fn doctor_credentials_offered_to_mx_env_and_staleness() {
    let queue = tempfile::tempdir().unwrap();
    fs::create_dir(queue.path().join("pid")).unwrap();
    let pid = queue.path().join("pid/master.pid");
    fs::write(&pid, "1\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&pid)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    let dir = setup(
        &format!(
            "{BASE}smtp_sender_dependent_authentication = yes\nqueue_directory = {}\n\
             sender_dependent_relayhost_maps = hash:/etc/postfix/relayhost_map\n",
            queue.path().display()
        ),
        &[
            ("relayhost_map", ""),
            ("sasl_passwd", "@direct.example d:pw\n"),
        ],
    );
    let env = RelayEnv::from_pairs([
        ("DEFAULT_RELAY_HOST", "[a.example]:587"),
        ("RELAY_HOST", "b.example"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "secret"),
    ])
    .unwrap();
    let report = Doctor::new(dir.path()).env(env).run().unwrap();
    let got: Vec<(Code, Option<usize>)> =
        report.problems.iter().map(|p| (p.code, p.line)).collect();
    assert_eq!(
        got,
        [
            (Code::CredentialsOfferedToMx, Some(1)),
            (Code::DefaultAndRelayHost, None),
            // sasl_passwd (texthash) is newer than master.pid; relayhost_map
            // (hash) has no .db.
            (Code::ReloadNeeded, None),
            (Code::ReloadNeeded, None),
        ],
        "{:#?}",
        report.problems
    );
    assert!(!format!("{report:?}").contains("secret"));
    // After `postmap` (a newer .db) and a restart (a newer master.pid), clean
    // but for the two that need a person.
    fs::write(dir.path().join("relayhost_map.db"), "").unwrap();
    fs::write(&pid, "2\n").unwrap();
    let left: Vec<Code> = Doctor::new(dir.path())
        .run()
        .unwrap()
        .problems
        .iter()
        .map(|p| p.code)
        .collect();
    assert_eq!(left, [Code::CredentialsOfferedToMx]);
}

#[test]
fn pattern_tables_in_both_lookups() {
    // sender_dependent_relayhost_maps: the full address only, substitution
    // rules skipped; smtp_sasl_password_maps: a regexp consulted with the
    // server host name; an empty result found by doctor with its line.
    let dir = setup(
        &format!(
            "{BASE}relayhost = [smtp.example.com]:587\n\
             sender_dependent_relayhost_maps = regexp:/etc/postfix/relay.regexp\n\
             smtp_sasl_password_maps = regexp:/etc/postfix/sasl.regexp\n"
        ),
        &[
            (
                "relay.regexp",
                "/^(.*)@sub\\.example$/ [$1.example]\n/^user@shop\\.example$/ [mail.shop.example]:2525\n/^nothing@/\n",
            ),
            ("sasl.regexp", "/^mail\\.shop\\.example$/ shop:pw\n"),
        ],
    );
    let config = RelayConfig::load(dir.path()).unwrap();
    let e = config.explain("user@shop.example");
    assert_eq!(
        e.next_hop.as_deref(),
        Some("[mail.shop.example]:2525"),
        "{e}"
    );
    let c = e.credentials().unwrap();
    assert_eq!((c.user.as_str(), c.role), ("shop", "server host name"));
    // Not for the address without its extension: pattern tables see the
    // full address only.
    let e = config.explain("user+x@shop.example");
    assert_eq!(e.next_hop_source, NextHopSource::Relayhost, "{e}");
    assert!(e.trail.iter().any(|s| s.answer == Answer::Skipped), "{e}");
    // The substitution rule is skipped in this parameter.
    assert_eq!(
        config.explain("a@sub.example").next_hop_source,
        NextHopSource::Relayhost
    );
    // The rule without a result: a lookup error, and a doctor finding.
    assert!(matches!(
        config.explain("nothing@x.example").next_hop_source,
        NextHopSource::Deferred { .. }
    ));
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        codes(dir.path()),
        [(Code::EmptyResult, s("relay.regexp"), Some(3))]
    );
}
