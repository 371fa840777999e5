//! No password in any output of the library: `Debug` and `Display` of
//! every type that holds or handles one, every error carrying input, the
//! render warnings, and panic messages. A distinctive canary password (in
//! several spellings: spaces, `$`, `:`, `\`, `"`, non-ASCII) goes through
//! every path, and the output is searched for it, for its Debug-escaped
//! and `escape_default` forms, its bytes as hex (both cases), as
//! percent-encoding and as the decimal list `Debug` prints for a `Vec<u8>`,
//! and for its distinctive core `7Q9x` (a partial leak).
//!
//! Explicitly asked for, so not checked: [`Password::expose`],
//! [`EnvPassword::expose`](dms_relay::env::EnvPassword::expose),
//! [`TableSecret::as_str`](dms_relay::types::TableSecret::as_str),
//! [`ConfigDir::list_with_passwords`] (its passwords are `Password`s, whose
//! `Debug` is still redacted), the file contents (`to_bytes`, `table()`,
//! `Rendered::sasl_passwd`) and what `apply` writes to `sasl_passwd`.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dms_relay::apply::{ApplyOptions, apply, apply_with};
use dms_relay::env::RelayEnv;
use dms_relay::fsutil::{Fault, Step};
use dms_relay::render::{RenderOptions, Sources, render, render_with};
use dms_relay::store::{Command, ConfigDir, Documents, RelayMap, SaslPasswords};
use dms_relay::types::{Credentials, Password};

/// The core every canary shares.
const CORE: &str = "7Q9x";

/// Canary passwords, all valid (`Password::new` accepts them).
const CANARIES: [&str; 5] = [
    "Kanari-7Q9x-zebra-PW",
    "Kanari 7Q9x zebra PW",
    "Kanari$7Q9x:zebra$PW",
    "Kanari-7Q9x-zébra-ПАРОЛЬ-🦓",
    "Kanari\\7Q9x\"zebra'PW",
];

/// The forms a leaked `secret` could take in text output.
fn forms(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let debug = format!("{secret:?}");
    let mut v = vec![
        secret.to_string(),
        debug.trim_matches('"').to_string(),
        secret.escape_default().to_string(),
        hex.clone(),
        hex.to_uppercase(),
        bytes.iter().map(|b| format!("%{b:02X}")).collect(),
        // `Debug` of a `Vec<u8>`: "[75, 97, 110, …]".
        bytes
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        CORE.to_string(),
        // The core as decimal bytes and hex.
        CORE.bytes()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        CORE.bytes().map(|b| format!("{b:02x}")).collect(),
    ];
    v.dedup();
    v
}

#[track_caller]
fn assert_clean(what: &str, out: &str) {
    for canary in CANARIES {
        for f in forms(canary) {
            assert!(
                !out.contains(&f),
                "{what}: the password leaks (as {f:?}) in:\n{out}"
            );
        }
    }
}

/// `Debug` (plain and pretty) and `Display`.
#[track_caller]
fn assert_clean_debug_display<T: std::fmt::Debug + std::fmt::Display>(what: &str, v: &T) {
    assert_clean(what, &format!("{v:?}\n{v:#?}\n{v}"));
}

#[track_caller]
fn assert_clean_debug<T: std::fmt::Debug>(what: &str, v: &T) {
    assert_clean(what, &format!("{v:?}\n{v:#?}"));
}

#[test]
fn the_checker_finds_every_form() {
    for c in CANARIES {
        for f in forms(c) {
            let r = std::panic::catch_unwind(|| assert_clean("self-test", &format!("x{f}x")));
            assert!(r.is_err(), "{f:?} not detected");
        }
    }
    let r = std::panic::catch_unwind(|| assert_clean_debug("self-test", &CANARIES[0].as_bytes()));
    assert!(r.is_err());
}

// ------------------------------------------------------------------ types

#[test]
fn types_never_show_the_password() {
    for c in CANARIES {
        let pw = Password::new(c).expect(c);
        assert_eq!(pw.expose(), c);
        assert_clean_debug_display("Password", &pw);
        let creds = Credentials::new("relayuser", c).unwrap();
        assert_clean_debug_display("Credentials", &creds);
        assert_clean_debug("Credentials::password", creds.password());
        let secret = creds.table_value();
        assert_eq!(secret.as_str(), format!("relayuser:{c}"));
        assert_clean_debug("TableSecret", &secret);
        let cmd = Command::add_auth("example.org", "relayuser", c).unwrap();
        assert_clean_debug("Command::AddAuth", &cmd);
        // Refused passwords: the error never repeats the input.
        let too_long = format!("{c}{}", "x".repeat(1100));
        for bad in [
            format!("{c}\n"),
            format!("{c}\r"),
            format!("{c}\0"),
            format!("{c}\t"),
            format!(" {c}"),
            format!("{c} "),
            format!("{c} #x"),
            format!("{c}\u{7f}"),
            too_long,
        ] {
            let err = Password::new(&bad).unwrap_err();
            assert_clean_debug_display("ValidationError (password)", &err);
            let err = Command::add_auth("example.org", "relayuser", &bad).unwrap_err();
            assert_clean_debug_display("ValidationError (add_auth)", &err);
            let err = Credentials::new("relayuser", &bad).unwrap_err();
            assert_clean_debug_display("ValidationError (Credentials)", &err);
        }
        // A bad user or domain next to a good password: only they are named.
        let err = Command::add_auth("bad domain", "relayuser", c).unwrap_err();
        assert_clean_debug_display("ValidationError (domain)", &err);
        let err = Command::add_auth("example.org", "us:er", c).unwrap_err();
        assert_clean_debug_display("ValidationError (user)", &err);
    }
}

// ------------------------------------------------------------------ env

#[test]
fn env_never_shows_the_password() {
    for c in CANARIES {
        let env = RelayEnv::from_pairs([
            ("RELAY_HOST", "smtp.relay.test"),
            ("RELAY_USER", "relayuser"),
            ("RELAY_PASSWORD", c),
        ])
        .unwrap();
        assert_eq!(env.relay_password().unwrap().expose(), c);
        assert_clean_debug("RelayEnv", &env);
        assert_clean_debug("EnvPassword", env.relay_password().unwrap());
        // From a file, and both set (a note is recorded).
        let read = |_: &Path| Ok(format!("{c}\n").into_bytes());
        for pairs in [
            vec![
                ("RELAY_USER", "u"),
                ("RELAY_PASSWORD__FILE", "/run/secrets/pw"),
            ],
            vec![
                ("RELAY_USER", "u"),
                ("RELAY_PASSWORD", c),
                ("RELAY_PASSWORD__FILE", "/run/secrets/pw"),
            ],
        ] {
            let env = RelayEnv::from_pairs_with(pairs, read).unwrap();
            assert_eq!(env.relay_password().unwrap().expose(), c);
            assert_clean_debug("RelayEnv (__FILE)", &env);
            for n in env.notes() {
                assert_clean("RelayEnv note", n);
            }
        }
        // Unreadable file, and a file that is not UTF-8.
        let fail = |_: &Path| -> io::Result<Vec<u8>> {
            Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"))
        };
        let err = RelayEnv::from_pairs_with([("RELAY_PASSWORD__FILE", "/pw")], fail).unwrap_err();
        assert_clean_debug_display("EnvError::File", &err);
        let not_utf8 = |_: &Path| Ok([c.as_bytes(), b"\xff\n"].concat());
        let err =
            RelayEnv::from_pairs_with([("RELAY_PASSWORD__FILE", "/pw")], not_utf8).unwrap_err();
        assert_clean_debug_display("EnvError::NotUnicode", &err);
    }
}

// ------------------------------------------------------------------ store

fn failing_hook() -> Arc<dyn dms_relay::fsutil::Hook> {
    Arc::new(|step: Step| -> Result<(), Fault> {
        if matches!(step, Step::Write { .. }) {
            return Err(Fault::Fail(io::Error::other("injected write error")));
        }
        Ok(())
    })
}

#[test]
fn store_never_shows_the_password() {
    for c in CANARIES {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = ConfigDir::new(tmp.path());
        let d = "example.org".parse().unwrap();
        let creds = Credentials::new("relayuser", c).unwrap();
        cfg.add_auth(&d, &creds).unwrap();
        cfg.add_domain(&d, &"smtp.relay.test".parse().unwrap(), None)
            .unwrap();
        // The file holds it (that is its job) …
        let file = std::fs::read_to_string(cfg.sasl_path()).unwrap();
        assert!(file.contains(c));
        // … and nothing shows it.
        assert_clean_debug("ConfigDir", &cfg);
        let listing = cfg.list().unwrap();
        assert!(listing.credentials[0].password.is_none());
        assert_clean_debug("Listing", &listing);
        let with = cfg.list_with_passwords().unwrap();
        assert_eq!(with.credentials[0].password.as_ref().unwrap().expose(), c);
        assert_clean_debug("Listing (with passwords)", &with);
        let mut docs = cfg.load().unwrap();
        assert_clean_debug("Documents", &docs);
        assert_clean_debug("SaslPasswords", &docs.sasl);
        assert_clean_debug("Listing (from Documents)", &docs.listing(true));
        let sasl = SaslPasswords::parse(file.as_bytes());
        assert_clean_debug("SaslPasswords::parse", &sasl);
        let (_, pw) = sasl.credentials(&d).unwrap();
        assert_clean_debug_display("SaslPasswords::credentials", &pw);
        let docs2 = Documents::from_parts(RelayMap::new(), sasl);
        assert_clean_debug("Documents::from_parts", &docs2);
        let cmd = Command::add_auth("example.org", "relayuser", c).unwrap();
        let mut docs3 = Documents::default();
        cmd.apply_to(&mut docs3).unwrap();
        assert_clean_debug("Documents after apply_to", &docs3);

        // Errors while the password is being written.
        let broken = ConfigDir::new(tmp.path()).with_write_hook(failing_hook());
        let other = Credentials::new("relayuser", &format!("{c}-2")).unwrap();
        let err = broken.add_auth(&d, &other).unwrap_err();
        assert_clean_debug_display("StoreError (write)", &err);
        // The file cannot be read (a directory in its place).
        let tmp2 = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp2.path().join("postfix-sasl-password.cf")).unwrap();
        let err = ConfigDir::new(tmp2.path())
            .add_auth(&d, &creds)
            .unwrap_err();
        assert_clean_debug_display("StoreError (read)", &err);
        // The table's own refusals (unreachable through the typed API).
        let mut t = postfix_table::Table::new();
        for bad in [
            format!("relayuser:{c}\n"),
            format!("relayuser:{c}\0"),
            format!(" relayuser:{c}"),
            format!("relayuser:{c} "),
            format!("relayuser:{c}\r"),
        ] {
            let err = t.set("@example.org", bad.as_bytes()).unwrap_err();
            assert_clean_debug_display("postfix_table::EditError", &err);
        }
        let err = t
            .set("@example.org", [c.as_bytes(), b"\xff"].concat())
            .unwrap_err();
        assert_clean_debug_display("postfix_table::EditError (UTF-8)", &err);
    }
}

// ------------------------------------------------------------------ render, apply

const STOCK: &str = "relayhost =\nsmtp_tls_security_level = may\n";

#[test]
fn render_and_apply_never_show_the_password() {
    let domains = vec!["example.org".to_string(), "other.test".to_string()];
    for c in CANARIES {
        // Credentials from the ENV and from the SASL file, with every kind
        // of line problem around them.
        let sasl_file = format!(
            "@example.org user:{c}\n@EXAMPLE.org user:{c}-dup\n  @indented.test user:{c}\n@novalue.test\n@x.test u:{c} # inline\n[smtp.relay.test]:25 envuser:{c}\n"
        );
        let relaymap = "@example.org [smtp.relay.test]:25\n@x.test [a b]\n".to_string();
        let env = RelayEnv::from_pairs([
            ("DEFAULT_RELAY_HOST", "[default.relay.test]:587"),
            ("RELAY_HOST", "smtp.relay.test"),
            ("RELAY_USER", "envuser"),
            ("RELAY_PASSWORD", c),
        ])
        .unwrap();
        let sources = Sources {
            relaymap: Some(relaymap.as_bytes()),
            sasl_password: Some(sasl_file.as_bytes()),
            domains: &domains,
        };
        assert_clean_debug("Sources", &sources);
        let r = render(&env, &sources).unwrap();
        assert!(r.sasl_passwd.is_some());
        assert_clean_debug("Rendered", &r);
        assert!(!r.warnings.is_empty());
        for w in &r.warnings {
            assert_clean_debug_display("Warning", w);
        }
        for (_, v) in &r.main_cf {
            assert_clean_debug("main.cf value", v);
        }
        let r2 = render_with(
            &env,
            &sources,
            &RenderOptions {
                postfix_dir: "/etc/postfix".into(),
                config_dir: "/tmp/docker-mailserver".into(),
            },
        )
        .unwrap();
        assert_clean_debug("Rendered (render_with)", &r2);
        // Refused ENV passwords.
        for bad in [format!("{c}\n"), format!(" {c}"), format!("{c} #x")] {
            let env = RelayEnv::new()
                .with_relay_host("smtp.relay.test")
                .with_relay_user("u")
                .with_relay_password(bad);
            let err = render(&env, &Sources::default()).unwrap_err();
            assert_clean_debug_display("RenderError", &err);
        }

        // apply: the report, and errors at every step.
        let pdir = tempfile::tempdir().unwrap();
        std::fs::write(pdir.path().join("main.cf"), STOCK).unwrap();
        let report = apply(&r, pdir.path()).unwrap();
        assert_clean_debug("Applied", &report);
        let written = std::fs::read_to_string(pdir.path().join("sasl_passwd")).unwrap();
        assert!(written.contains(c));
        for n in 0..40 {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("main.cf"), STOCK).unwrap();
            let seen = Mutex::new(0);
            let hook = |_: Step| -> Result<(), Fault> {
                let mut s = seen.lock().unwrap();
                *s += 1;
                if *s == n + 1 {
                    return Err(Fault::Fail(io::Error::other("injected")));
                }
                Ok(())
            };
            let options = ApplyOptions { hook: Some(&hook) };
            assert_clean_debug("ApplyOptions", &options);
            match apply_with(&r, d.path(), &options) {
                Ok(a) => assert_clean_debug("Applied", &a),
                Err(e) => assert_clean_debug_display("ApplyError (fault)", &e),
            }
        }
        // sasl_passwd cannot be written (a directory in its place); no main.cf.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.cf"), STOCK).unwrap();
        std::fs::create_dir(d.path().join("sasl_passwd")).unwrap();
        let err = apply(&r, d.path()).unwrap_err();
        assert_clean_debug_display("ApplyError (sasl_passwd)", &err);
        let err = apply(&r, &d.path().join("missing")).unwrap_err();
        assert_clean_debug_display("ApplyError (main.cf)", &err);
    }
}

// ------------------------------------------------------------------ main.cf

/// `postfix-maincf` refusing a value that holds a password never repeats
/// it: the typed API (`set`, `set_all`) and a well-formed `name = value`
/// argument of `postconf_edit`. (A malformed `-e` argument, without a name
/// or without `=`, is repeated whole in postconf's own words —
/// `MissingName`, `MissingEquals` — as postconf does; not checked here.)
#[test]
fn main_cf_refusals_never_show_the_value() {
    for c in CANARIES {
        let mut cf = postfix_maincf::MainCf::parse(STOCK.as_bytes());
        for bad in [
            format!("static:user:{c}\n"),
            format!("static:user:{c}\r"),
            format!("static:user:{c}\0"),
            format!("static:user:{c}\x01"),
            format!("static:user:{c}$"),
            format!("static:user:{c}${{"),
        ] {
            let err = cf.set("smtp_sasl_password_maps", &bad).unwrap_err();
            assert_clean_debug_display("maincf EditError (set)", &err);
            let err = cf
                .set_all([
                    ("relayhost", "[r.test]:587".to_string()),
                    ("smtp_sasl_password_maps", bad),
                ])
                .unwrap_err();
            assert_clean_debug_display("maincf EditError (set_all)", &err);
        }
        for bad in [
            format!("smtp_sasl_password_maps = static:user:{c}\nx = y"),
            format!("smtp_sasl_password_maps = static:user:{c}\0"),
            format!("smtp_sasl_password_maps=static:user:{c}\0tail"),
        ] {
            let err = cf
                .postconf_edit(postfix_maincf::edit::EditMode::Set, &[bad.as_bytes()])
                .unwrap_err();
            assert_clean_debug_display("maincf EditError (postconf_edit)", &err);
        }
        assert_eq!(
            cf.to_bytes(),
            STOCK.as_bytes(),
            "refused edits change nothing"
        );
    }
}

// ------------------------------------------------------------------ panics

/// What a panic prints: the payload (the message) and, with the default
/// hook, the same text; `unwrap`/`expect`/`assert_eq!` format with `Debug`.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("must panic");
    if let Some(s) = err.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = err.downcast_ref::<&str>() {
        s.to_string()
    } else {
        String::new()
    }
}

#[test]
fn panic_messages_never_show_the_password() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the test output quiet
    let mut messages = Vec::new();
    for c in CANARIES {
        messages.push(panic_message(|| {
            assert_eq!(
                Password::new(c).unwrap(),
                Password::new(&format!("{c}-other")).unwrap()
            )
        }));
        messages.push(panic_message(|| {
            let r: Result<(), Credentials> =
                std::hint::black_box(Err(Credentials::new("u", c).unwrap()));
            r.unwrap()
        }));
        messages.push(panic_message(|| {
            Password::new(&format!("{c}\n")).expect("a valid password");
        }));
        messages.push(panic_message(|| {
            let env = RelayEnv::new().with_relay_password(c);
            panic!("unexpected env: {env:?}")
        }));
        messages.push(panic_message(|| {
            let cmd = Command::add_auth("example.org", "u", c).unwrap();
            let none: Option<u8> = std::hint::black_box(None);
            none.unwrap_or_else(|| panic!("no result for {cmd:?}"));
        }));
    }
    std::panic::set_hook(hook);
    for m in &messages {
        assert!(!m.is_empty());
        assert_clean("panic message", m);
    }
}

// ------------------------------------------------------------------ recovery

/// A pending in-place rewrite of the credentials file whose target has
/// gone (removed after the crash) is completed with the pending file's own
/// mode (0600), not created anew with the umask's (0644).
#[test]
fn recovered_credentials_file_keeps_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("postfix-sasl-password.cf");
    let pending = dms_relay::fsutil::pending_path(&target);
    let content = format!("@example.org relayuser:{}\n", CANARIES[0]);
    std::fs::write(&pending, &content).unwrap();
    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o600)).unwrap();
    let done = dms_relay::fsutil::recover(tmp.path()).unwrap();
    assert_eq!(done, vec![target.clone()]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), content);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    assert!(!pending.exists());
}

// ------------------------------------------------------------------ ops

/// The reference model: its `Debug` and its mismatch reports.
#[test]
fn ops_model_never_shows_the_password() {
    use dms_relay::ops::Model;
    for c in CANARIES {
        let mut docs = Documents::default();
        let mut model = Model::observe(&mut docs, &["example.org"]);
        let cmd = Command::add_auth("example.org", "relayuser", c).unwrap();
        model.apply(&cmd, true);
        assert_clean_debug("Model", &model);
        // The documents never saw the command: credentials differ.
        let err = model.check(&mut docs).unwrap_err();
        assert_clean("Model::check", &err);
        // And the other way round.
        let mut docs = Documents::default();
        cmd.apply_to(&mut docs).unwrap();
        let other = Command::add_auth("example.org", "relayuser", &format!("{c}-2")).unwrap();
        let mut model = Model::observe(&mut docs, &["example.org"]);
        model.apply(&other, true);
        let err = model.check(&mut docs).unwrap_err();
        assert_clean("Model::check", &err);
    }
}
