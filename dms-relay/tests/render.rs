//! The startup step (`dms_relay::render`) against the DMS golden vectors in
//! `conformance/dms`, the DMS bugs of spec §5 it fixes (each asserted
//! explicitly), convergence, secrecy, real Postfix (`postmap -s`, `postconf`)
//! and performance.
//!
//! Postfix-backed checks skip loudly when `/usr/sbin/postmap` is missing,
//! unless `DMS_REQUIRE_POSTFIX=1` (then they fail).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dms_relay::env::RelayEnv;
use dms_relay::render::{
    self, LineProblem, RELAY_PARAMETERS, Rendered, SourceFile, Sources, Warning, main_cf_apply,
    managed_domains, render, vhost_bytes,
};
use postfix_maincf::MainCf;
use postfix_maincf::defaults::{DefaultValue, default_value};

// ------------------------------------------------------------------ helpers

fn dms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/dms")
}

fn scenarios() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dms_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(
        out.len() >= 19,
        "expected the DMS scenarios, found {}",
        out.len()
    );
    out
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

fn read_opt(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn read_text(path: &Path) -> String {
    String::from_utf8(read_opt(path).unwrap_or_default()).unwrap()
}

/// `env`: `KEY=VALUE` lines, the value literal to the end of the line.
fn scenario_env(dir: &Path) -> RelayEnv {
    let text = read_text(&dir.join("env"));
    let pairs: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    RelayEnv::from_pairs(pairs).unwrap()
}

struct Scenario {
    name: String,
    env: RelayEnv,
    relaymap: Option<Vec<u8>>,
    sasl: Option<Vec<u8>>,
    domains: Vec<String>,
}

/// The render input of a scenario: `out/config/` is the config directory
/// after the scenario's commands, i.e. exactly the state the startup step
/// sees (a missing directory is an empty one).
fn load(dir: &Path) -> Scenario {
    let config = dir.join("out/config");
    let domains = managed_domains(
        read_opt(&config.join("postfix-accounts.cf")).as_deref(),
        read_opt(&config.join("postfix-virtual.cf")).as_deref(),
    );
    Scenario {
        name: name(dir),
        env: scenario_env(dir),
        relaymap: read_opt(&config.join("postfix-relaymap.cf")),
        sasl: read_opt(&config.join("postfix-sasl-password.cf")),
        domains,
    }
}

impl Scenario {
    fn render(&self) -> Rendered {
        render(
            &self.env,
            &Sources {
                relaymap: self.relaymap.as_deref(),
                sasl_password: self.sasl.as_deref(),
                domains: &self.domains,
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

fn stock_main_cf() -> MainCf {
    MainCf::parse(&std::fs::read(dms_dir().join("stock-main.cf")).unwrap())
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show_opt(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "<not created>".into(),
        Some(b) => show(b),
    }
}

/// `name = value` as postconf prints it (`name =` for an empty value).
fn param_line(name: &str, value: &[u8]) -> String {
    let v = postfix_maincf::postconf::normalize(value);
    if v.is_empty() {
        format!("{name} =")
    } else {
        format!("{name} = {}", show(&v))
    }
}

/// `postconf -n` for the relay parameters.
fn explicit(cf: &MainCf) -> Vec<String> {
    RELAY_PARAMETERS
        .iter()
        .filter_map(|n| cf.get(n).map(|v| param_line(n, &v)))
        .collect()
}

/// `postconf NAME…` for the relay parameters: Postfix 3.7 defaults where unset.
fn effective(cf: &MainCf) -> Vec<String> {
    RELAY_PARAMETERS
        .iter()
        .map(|n| match cf.get(n) {
            Some(v) => param_line(n, &v),
            None => match default_value(n) {
                Some(DefaultValue::Fixed(d)) => param_line(n, d),
                other => panic!("no fixed default for {n}: {other:?}"),
            },
        })
        .collect()
}

/// `- old` / `+ new` lines against `base`, sorted (as `main.cf.changes`).
fn changes(base: &[u8], new: &[u8]) -> Vec<String> {
    let mut old: BTreeMap<Vec<u8>, isize> = BTreeMap::new();
    // The goldens show lines without trailing whitespace.
    let trim = |l: &[u8]| l.trim_ascii_end().to_vec();
    for l in base.split(|&b| b == b'\n') {
        *old.entry(trim(l)).or_default() += 1;
    }
    for l in new.split(|&b| b == b'\n') {
        *old.entry(trim(l)).or_default() -= 1;
    }
    let mut out = Vec::new();
    for (line, n) in old {
        for _ in 0..n.unsigned_abs() {
            out.push(format!("{} {}", if n > 0 { '-' } else { '+' }, show(&line)));
        }
    }
    out.sort();
    out
}

fn golden_lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = read_text(path).lines().map(str::to_string).collect();
    v.sort();
    v
}

/// True when Postfix's tools are here. Skips loudly otherwise, or fails
/// when `DMS_REQUIRE_POSTFIX=1`.
fn postfix_available(what: &str) -> bool {
    if Path::new("/usr/sbin/postmap").exists() && Path::new("/usr/sbin/postconf").exists() {
        return true;
    }
    if std::env::var("DMS_REQUIRE_POSTFIX").as_deref() == Ok("1") {
        panic!("{what}: /usr/sbin/postmap or postconf missing and DMS_REQUIRE_POSTFIX=1");
    }
    eprintln!("SKIPPED ({what}): /usr/sbin/postmap or /usr/sbin/postconf not installed");
    false
}

/// Writes `bytes` to `path` with a modification time in the past: Postfix
/// waits (about 2 s) before reading a file modified within the last second.
fn write_settled(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(past)
        .unwrap();
}

/// `postmap -s texthash:FILE` of `bytes`: sorted `key<TAB>value` lines and
/// stderr.
fn postmap_s(bytes: &[u8]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("table");
    write_settled(&file, bytes);
    let out = Command::new("/usr/sbin/postmap")
        .arg("-s")
        .arg(format!("texthash:{}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postmap failed: {}",
        show(&out.stderr)
    );
    let mut lines: Vec<String> = show(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    (lines, show(&out.stderr))
}

/// Asserts that Postfix reads `table` as exactly `intended` (`key`, `value`
/// pairs, keys as Postfix stores them: lower case), with no warning.
fn assert_postfix_reads(table: &[u8], intended: &[(&str, &str)]) {
    if !postfix_available("postmap -s") {
        return;
    }
    let (lines, stderr) = postmap_s(table);
    let mut want: Vec<String> = intended.iter().map(|(k, v)| format!("{k}\t{v}")).collect();
    want.sort();
    assert_eq!(lines, want, "table:\n{}", show(table));
    assert!(
        stderr.is_empty(),
        "postmap warned: {stderr}\ntable:\n{}",
        show(table)
    );
}

/// `postconf -c DIR [-n] NAMES…` on `main_cf`.
fn postconf(main_cf: &[u8], explicit_only: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    write_settled(&dir.path().join("main.cf"), main_cf);
    write_settled(&dir.path().join("master.cf"), b"");
    let mut cmd = Command::new("/usr/sbin/postconf");
    cmd.arg("-c").arg(dir.path());
    if explicit_only {
        cmd.arg("-n");
    }
    let out = cmd.args(RELAY_PARAMETERS).output().unwrap();
    assert!(
        out.status.success(),
        "postconf failed: {}",
        show(&out.stderr)
    );
    let mut lines: Vec<String> = show(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn env_of(pairs: &[(&str, &str)]) -> RelayEnv {
    RelayEnv::from_pairs(pairs.iter().copied()).unwrap()
}

fn domains(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run(env: &RelayEnv, relaymap: Option<&[u8]>, sasl: Option<&[u8]>, d: &[String]) -> Rendered {
    render(
        env,
        &Sources {
            relaymap,
            sasl_password: sasl,
            domains: d,
        },
    )
    .unwrap()
}

fn has_line_warning(r: &Rendered, file: SourceFile, line: usize, problem: &LineProblem) -> bool {
    r.warnings.iter().any(|w| {
        matches!(w, Warning::Line { file: f, line: l, problem: p } if *f == file && *l == line && p == problem)
    })
}

const MISSING: &str = "Missing relay-host mapped credentials provided via ENV, or from /tmp/docker-mailserver/postfix-sasl-password.cf";

// ------------------------------------------------------------------ goldens

/// Warnings beyond DMS's own, per scenario: the configurations DMS handles
/// silently (spec §5.17, §5.18) and incomplete ENV credentials.
fn extra_warnings(name: &str) -> Vec<Warning> {
    match name {
        // Only credentials (and a port): DMS ignores them silently (§5.17).
        "16-relay-port-and-creds-without-host" | "41-creds-env-only-no-host" => {
            vec![Warning::CredentialsWithoutHost]
        }
        // A SASL file and nothing that relays (§5.17).
        "11-add-auth-replace" => vec![Warning::SaslFileWithoutRelay],
        "17-relay-host-user-without-password" => vec![Warning::PartialCredentials {
            missing: "RELAY_PASSWORD",
        }],
        "38-relay-host-password-without-user" => vec![Warning::PartialCredentials {
            missing: "RELAY_USER",
        }],
        _ => vec![],
    }
}

#[test]
fn golden_vhost_relayhost_map_sasl_passwd() {
    for dir in scenarios() {
        let s = load(&dir);
        let r = s.render();
        let etc = dir.join("out/etc-postfix");
        let vhost = read_opt(&etc.join("vhost")).expect("DMS always writes vhost");
        assert_eq!(
            show(&vhost_bytes(&s.domains)),
            show(&vhost),
            "{}: vhost",
            s.name
        );
        assert_eq!(show(&r.vhost), show(&vhost), "{}: vhost", s.name);
        let map = read_opt(&etc.join("relayhost_map"));
        assert_eq!(
            show_opt(&r.relayhost_map),
            show_opt(&map),
            "{}: relayhost_map",
            s.name
        );
        let sasl = read_opt(&etc.join("sasl_passwd"));
        assert_eq!(r.sasl_passwd, sasl, "{}: sasl_passwd differs", s.name);
        let rc0 = read_text(&dir.join("out/logs/startup.stdout")).contains("rc=0");
        assert_eq!(r.relaying, rc0, "{}: relaying", s.name);
    }
}

#[test]
fn golden_warnings() {
    for dir in scenarios() {
        let s = load(&dir);
        let r = s.render();
        let mut want: Vec<String> = read_text(&dir.join("out/logs/startup.stderr"))
            .lines()
            .filter_map(|l| l.split_once(" WARN  bash: ").map(|(_, m)| m.to_string()))
            .collect();
        want.extend(extra_warnings(&s.name).iter().map(ToString::to_string));
        want.sort();
        let mut got: Vec<String> = r.warnings.iter().map(ToString::to_string).collect();
        got.sort();
        assert_eq!(got, want, "{}", s.name);
    }
}

#[test]
fn golden_main_cf() {
    let stock_bytes = std::fs::read(dms_dir().join("stock-main.cf")).unwrap();
    let with_postfix = postfix_available("golden main.cf via postconf");
    for dir in scenarios() {
        let s = load(&dir);
        let r = s.render();
        let mut cf = stock_main_cf();
        main_cf_apply(&mut cf, &r).unwrap();
        let out = dir.join("out");
        assert_eq!(
            explicit(&cf),
            golden_lines(&out.join("main.cf.explicit")),
            "{}: explicit",
            s.name
        );
        assert_eq!(
            effective(&cf),
            golden_lines(&out.join("main.cf.params")),
            "{}: params",
            s.name
        );
        assert_eq!(
            changes(&stock_bytes, &cf.to_bytes()),
            golden_lines(&out.join("main.cf.changes")),
            "{}: changes",
            s.name
        );
        if with_postfix {
            let bytes = cf.to_bytes();
            assert_eq!(
                postconf(&bytes, false),
                golden_lines(&out.join("main.cf.params")),
                "{}: postconf",
                s.name
            );
            assert_eq!(
                postconf(&bytes, true),
                golden_lines(&out.join("main.cf.explicit")),
                "{}: postconf -n",
                s.name
            );
        }
    }
}

#[test]
fn golden_tables_read_back_through_postmap() {
    if !postfix_available("golden tables via postmap -s") {
        return;
    }
    for dir in scenarios() {
        let s = load(&dir);
        let r = s.render();
        for (name, bytes) in [
            ("relayhost_map", &r.relayhost_map),
            ("sasl_passwd", &r.sasl_passwd),
        ] {
            let Some(bytes) = bytes else { continue };
            let (lines, stderr) = postmap_s(bytes);
            let golden = dir.join("out/postfix-parse").join(name);
            let want = if golden.exists() {
                golden_lines(&golden)
            } else {
                vec![]
            };
            assert_eq!(lines, want, "{}: postmap -s {name}", s.name);
            assert!(stderr.is_empty(), "{}: {name}: {stderr}", s.name);
        }
    }
}

// ------------------------------------------------------------------ managed domains

#[test]
fn managed_domains_dms_quirks() {
    // Spec §3.2: text before the first `|`, then the 2nd `@` field; no `@`
    // → the whole name; `a@b@c` → `b`; comments, blank and whitespace-only
    // lines dropped; byte order, case preserved, unique.
    let accounts =
        b"# comment\n\n \t\nx@Example.ORG|h\ny@example.org|h\nnoat|h\na@b@c|h\nz@example.org|h";
    // Virtual: first field; after `@` only when it differs from before it.
    let virtual_ = b"@wild.test a@b\nlocalpart other@x.test\n  info@v.test\tb@c\na@a x\n   # c\n";
    assert_eq!(
        managed_domains(Some(accounts), Some(virtual_)),
        // `a@a x`: the parts before and after `@` are equal, so it is skipped.
        [
            "Example.ORG",
            "b",
            "example.org",
            "noat",
            "v.test",
            "wild.test"
        ]
    );
    // CRLF files are normalised by DMS before reading (spec §3.7).
    assert_eq!(
        managed_domains(Some(b"a@crlf.test|x\r\nb@two.test|y\r\n"), None),
        ["crlf.test", "two.test"]
    );
    assert!(managed_domains(None, None).is_empty());
    assert!(managed_domains(Some(b""), Some(b"")).is_empty());
}

// ------------------------------------------------------------------ DMS bugs, fixed

#[test]
fn fix_5_7_missing_final_newline() {
    // Spec §5.7: DMS glues the first generated entry onto the last line:
    // `@a.test [x]:587@b.test    [h]:25`. We end every line in LF.
    let env = env_of(&[("RELAY_HOST", "h")]);
    let d = domains(&["b.test"]);
    let r = run(&env, Some(b"@a.test [x]:587"), None, &d);
    let map = r.relayhost_map.unwrap();
    assert_eq!(show(&map), "@a.test [x]:587\n@b.test    [h]:25\n");
    assert_postfix_reads(&map, &[("@a.test", "[x]:587"), ("@b.test", "[h]:25")]);
}

#[test]
fn fix_5_8_indented_lines() {
    // Spec §5.8: DMS copies `␠␠@b [y]:25` verbatim; Postfix then reads it as
    // a continuation of `@a` and `@b` is lost. We remove the indentation.
    let r = run(
        &RelayEnv::new(),
        Some(b"@a [x]:25\n  @b [y]:25\n"),
        None,
        &[],
    );
    let map = r.relayhost_map.clone().unwrap();
    assert_eq!(show(&map), "@a [x]:25\n@b [y]:25\n");
    assert!(has_line_warning(
        &r,
        SourceFile::Relaymap,
        2,
        &LineProblem::Indented
    ));
    assert_postfix_reads(&map, &[("@a", "[x]:25"), ("@b", "[y]:25")]);
    // The same in the SASL file.
    let r = run(
        &RelayEnv::new(),
        Some(b"@a [x]:25\n"),
        Some(b"@a u:p\n\t@b v:q\n"),
        &[],
    );
    let sasl = r.sasl_passwd.clone().unwrap();
    assert_eq!(show(&sasl), "@a u:p\n@b v:q\n");
    assert!(has_line_warning(
        &r,
        SourceFile::SaslPassword,
        2,
        &LineProblem::Indented
    ));
    assert_postfix_reads(&sasl, &[("@a", "u:p"), ("@b", "v:q")]);
}

#[test]
fn fix_5_9_inline_comments() {
    // Spec §5.9: DMS copies `@d [h]:25 # note`, so Postfix's relay value is
    // `[h]:25 # note`; and `@e.test # excluded` becomes a relay to `#
    // excluded` instead of an opt-out. We cut the comment off.
    let env = env_of(&[("RELAY_HOST", "r")]);
    let d = domains(&["d.test", "e.test", "f.test"]);
    let r = run(
        &env,
        Some(b"@d.test [h]:25 # note\n@e.test\t# excluded\n"),
        None,
        &d,
    );
    let map = r.relayhost_map.clone().unwrap();
    assert_eq!(show(&map), "@d.test [h]:25\n@f.test    [r]:25\n");
    assert!(has_line_warning(
        &r,
        SourceFile::Relaymap,
        1,
        &LineProblem::InlineComment
    ));
    assert!(has_line_warning(
        &r,
        SourceFile::Relaymap,
        2,
        &LineProblem::InlineComment
    ));
    assert_postfix_reads(&map, &[("@d.test", "[h]:25"), ("@f.test", "[r]:25")]);
}

#[test]
fn fix_5_10_literal_case_insensitive_legacy_matching() {
    // Spec §5.10: DMS's unescaped regex treats vhost `alpha.test` as mapped
    // by `@alpha-test …` and as opted out by `@betaXtest`; its case-sensitive
    // match adds `@Gamma.test` and `@gamma.test` (a Postfix duplicate) and
    // does not see the opt-out `@EXAMPLE.ORG` for `example.org`.
    let env = env_of(&[("RELAY_HOST", "r")]);
    let d = domains(&[
        "Gamma.test",
        "alpha.test",
        "beta.test",
        "example.org",
        "gamma.test",
    ]);
    let r = run(
        &env,
        Some(b"@alpha-test [x]:25\n@betaXtest\n@EXAMPLE.ORG\n"),
        None,
        &d,
    );
    let map = r.relayhost_map.unwrap();
    assert_eq!(
        show(&map),
        "@alpha-test [x]:25\n@Gamma.test    [r]:25\n@alpha.test    [r]:25\n@beta.test    [r]:25\n"
    );
    assert_postfix_reads(
        &map,
        &[
            ("@alpha-test", "[x]:25"),
            ("@gamma.test", "[r]:25"),
            ("@alpha.test", "[r]:25"),
            ("@beta.test", "[r]:25"),
        ],
    );
    // A user mapping in another case counts as "already configured".
    let r = run(
        &env,
        Some(b"@ALPHA.test [x]:25\n"),
        None,
        &domains(&["alpha.test"]),
    );
    assert_eq!(show(&r.relayhost_map.unwrap()), "@ALPHA.test [x]:25\n");
}

#[test]
fn duplicates_keep_the_first_as_postfix_does() {
    // Spec §4: with duplicate keys Postfix uses the first and warns; DMS
    // copies both. We copy only the first.
    let r = run(
        &RelayEnv::new(),
        Some(b"@a.test [x]:25\n@A.TEST [y]:25\n"),
        Some(b"@a.test u:p\n@a.TEST v:q\n"),
        &[],
    );
    let map = r.relayhost_map.clone().unwrap();
    let sasl = r.sasl_passwd.clone().unwrap();
    assert_eq!(show(&map), "@a.test [x]:25\n");
    assert_eq!(show(&sasl), "@a.test u:p\n");
    let dup = LineProblem::Duplicate {
        key: "@A.TEST".into(),
    };
    assert!(has_line_warning(&r, SourceFile::Relaymap, 2, &dup));
    assert_postfix_reads(&map, &[("@a.test", "[x]:25")]);
    assert_postfix_reads(&sasl, &[("@a.test", "u:p")]);
}

#[test]
fn fix_5_12_both_hosts_with_credentials() {
    // Spec §5.12: DMS writes only `[mail.default.test]:587    u:p`, so mail
    // of the managed domains (routed to [smtp.relay.test]:2525) goes out
    // without AUTH. We key the credentials to both hosts, and warn.
    let env = env_of(&[
        ("DEFAULT_RELAY_HOST", "[mail.default.test]:587"),
        ("RELAY_HOST", "smtp.relay.test"),
        ("RELAY_PORT", "2525"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "p"),
    ]);
    let r = run(&env, None, None, &domains(&["a.test"]));
    let sasl = r.sasl_passwd.clone().unwrap();
    assert_eq!(
        show(&sasl),
        "[mail.default.test]:587    u:p\n[smtp.relay.test]:2525    u:p\n"
    );
    assert_eq!(
        show(r.relayhost_map.as_ref().unwrap()),
        "@a.test    [smtp.relay.test]:2525\n"
    );
    assert_eq!(r.param("relayhost"), Some("[mail.default.test]:587"));
    assert_eq!(r.param("smtp_sasl_auth_enable"), Some("yes"));
    assert!(r.warnings.contains(&Warning::BothHostsWithCredentials {
        default_relay_host: "[mail.default.test]:587".into(),
        relay_host: "[smtp.relay.test]:2525".into(),
    }));
    assert_postfix_reads(
        &sasl,
        &[
            ("[mail.default.test]:587", "u:p"),
            ("[smtp.relay.test]:2525", "u:p"),
        ],
    );
}

#[test]
fn env_credentials_after_file_credentials_and_same_hop_once() {
    // DMS appends the ENV line after the file's lines even when the file
    // already has that key (a Postfix duplicate; the file's entry wins).
    let env = env_of(&[
        ("DEFAULT_RELAY_HOST", "[smtp.x]:25"),
        ("RELAY_HOST", "smtp.x"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "p"),
    ]);
    // Both ENV hosts are the same hop: one line.
    let r = run(&env, None, None, &[]);
    assert_eq!(
        show(r.sasl_passwd.as_ref().unwrap()),
        "[smtp.x]:25    u:p\n"
    );
    // The file has the hop already: its entry is kept, the ENV one dropped.
    let r = run(&env, None, Some(b"[SMTP.x]:25 file:pw\n"), &[]);
    let sasl = r.sasl_passwd.clone().unwrap();
    assert_eq!(show(&sasl), "[SMTP.x]:25 file:pw\n");
    assert!(r.warnings.contains(&Warning::EnvCredentialsShadowed {
        key: "[smtp.x]:25".into()
    }));
    assert_postfix_reads(&sasl, &[("[smtp.x]:25", "file:pw")]);
}

#[test]
fn fix_5_13_relay_host_forms() {
    // Spec §5.13: DMS turns `[smtp.x]:587` into `[[smtp.x]:587]:25`.
    let d = domains(&["a.test"]);
    for (host, port, want) in [
        ("[smtp.x]:587", None, "[smtp.x]:587"),
        ("[smtp.x]", Some("2525"), "[smtp.x]:2525"),
        ("smtp.x:465", None, "[smtp.x]:465"),
        ("smtp.x", None, "[smtp.x]:25"),
        ("2001:db8::1", None, "[2001:db8::1]:25"),
        ("[2001:db8::1]:587", None, "[2001:db8::1]:587"),
    ] {
        let mut env = RelayEnv::new().with_relay_host(host);
        if let Some(p) = port {
            env = env.with_relay_port(p);
        }
        let r = run(&env, None, None, &d);
        assert_eq!(
            show(r.relayhost_map.as_ref().unwrap()),
            format!("@a.test    {want}\n"),
            "{host}"
        );
    }
    // A port in RELAY_HOST wins over a different RELAY_PORT, with a warning.
    let env = RelayEnv::new()
        .with_relay_host("[smtp.x]:587")
        .with_relay_port("25");
    let r = run(&env, None, None, &d);
    assert!(r.warnings.contains(&Warning::RelayPortIgnored {
        relay_host: "[smtp.x]:587".into()
    }));
}

#[test]
fn fix_5_17_credentials_without_host_warn() {
    // Spec §5.17: only a SASL file, or only ENV credentials: DMS does
    // nothing and logs nothing. We do nothing and warn.
    let r = run(&RelayEnv::new(), None, Some(b"@a.test u:p\n"), &[]);
    assert_eq!(r.warnings, [Warning::SaslFileWithoutRelay]);
    assert!(!r.relaying && r.relayhost_map.is_none() && r.sasl_passwd.is_none());
    let env = env_of(&[("RELAY_USER", "u"), ("RELAY_PASSWORD", "p")]);
    let r = run(&env, None, None, &[]);
    assert_eq!(r.warnings, [Warning::CredentialsWithoutHost]);
}

#[test]
fn fix_5_18_no_sasl_without_entries() {
    // Spec §5.18: relaymap + ENV credentials and no host: DMS enables SASL
    // and forces TLS with an empty sasl_passwd. We do not.
    let env = env_of(&[("RELAY_USER", "u"), ("RELAY_PASSWORD", "p")]);
    let r = run(&env, Some(b"@a.test [x]:25\n"), None, &[]);
    assert_eq!(r.sasl_passwd, None);
    assert_eq!(r.param("smtp_sasl_auth_enable"), None);
    assert_eq!(r.param("smtp_tls_security_level"), Some("may"));
    assert!(r.warnings.contains(&Warning::CredentialsWithoutHost));
    assert!(r.warnings.iter().any(|w| w.to_string() == MISSING));
    // An empty SASL file: DMS writes `↵` to it and enables SASL.
    let r = run(&RelayEnv::new(), Some(b"@a.test [x]:25\n"), Some(b""), &[]);
    assert_eq!(r.sasl_passwd, None);
    assert_eq!(r.param("smtp_sasl_auth_enable"), None);
    assert_eq!(r.param("smtp_sender_dependent_authentication"), None);
    assert!(r.warnings.iter().any(|w| w.to_string() == MISSING));
}

#[test]
fn fix_5_19_single_field_sasl_lines() {
    // Spec §5.19: DMS copies `@x` into sasl_passwd; Postfix warns and skips it.
    let r = run(
        &RelayEnv::new(),
        Some(b"@y [h]:25\n"),
        Some(b"@x\n@y u:p\n"),
        &[],
    );
    let sasl = r.sasl_passwd.clone().unwrap();
    assert_eq!(show(&sasl), "@y u:p\n");
    assert!(has_line_warning(
        &r,
        SourceFile::SaslPassword,
        1,
        &LineProblem::NoValue
    ));
    assert_postfix_reads(&sasl, &[("@y", "u:p")]);
}

#[test]
fn fix_5_25_crlf_normalised_in_output_not_in_sources() {
    // Spec §5.25/§3.7: DMS strips CRs by rewriting the user's SASL file and
    // copies relaymap CRs into relayhost_map. Render is pure (the sources
    // are borrowed, never written) and its output has no CR.
    let env = env_of(&[("RELAY_HOST", "r")]);
    let r = run(
        &env,
        Some(b"@a.test [x]:25\r\n@b.test\r\n"),
        Some(b"@a.test u:p\r\n"),
        &domains(&["b.test", "c.test"]),
    );
    assert_eq!(
        show(r.relayhost_map.as_ref().unwrap()),
        "@a.test [x]:25\n@c.test    [r]:25\n"
    );
    assert_eq!(show(r.sasl_passwd.as_ref().unwrap()), "@a.test u:p\n");
    // With RELAY_HOST and no domains DMS rewrites vhost to `↵`; ours stays empty.
    let r = run(&env, None, None, &[]);
    assert_eq!(r.vhost, b"");
    assert_eq!(r.relayhost_map.as_deref(), Some(&b""[..]));
}

#[test]
fn fix_5_30_invalid_env_refused_without_echoing_values() {
    // Spec §5.30: DMS writes any ENV value verbatim (line injection through
    // RELAY_HOST, comments in relayhost, multi-line values postconf rejects;
    // §5.5 line injection through the password).
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("RELAY_HOST", "r]:25\n@victim [attacker")], "RELAY_HOST"),
        (&[("RELAY_HOST", "[smtp.x]:587 # c")], "RELAY_HOST"),
        (
            &[("DEFAULT_RELAY_HOST", "[r]:587 # c")],
            "DEFAULT_RELAY_HOST",
        ),
        (
            &[("DEFAULT_RELAY_HOST", "[r]:587\nx")],
            "DEFAULT_RELAY_HOST",
        ),
        (
            &[("DEFAULT_RELAY_HOST", "$myhostname")],
            "DEFAULT_RELAY_HOST",
        ),
        (&[("RELAY_HOST", "h"), ("RELAY_PORT", "abc")], "RELAY_PORT"),
        (&[("RELAY_HOST", "h"), ("RELAY_PORT", "0")], "RELAY_PORT"),
        (
            &[("RELAY_HOST", "h"), ("RELAY_PORT", "65536")],
            "RELAY_PORT",
        ),
        (
            &[
                ("RELAY_HOST", "h"),
                ("RELAY_USER", "u v"),
                ("RELAY_PASSWORD", "p"),
            ],
            "RELAY_USER",
        ),
        (
            &[
                ("RELAY_HOST", "h"),
                ("RELAY_USER", "u:x"),
                ("RELAY_PASSWORD", "p"),
            ],
            "RELAY_USER",
        ),
        (
            &[
                ("RELAY_HOST", "h"),
                ("RELAY_USER", "u"),
                (
                    "RELAY_PASSWORD",
                    "SECRETpw\n[smtp.relay.test]:587 attacker:creds",
                ),
            ],
            "RELAY_PASSWORD",
        ),
        (
            &[
                ("RELAY_HOST", "h"),
                ("RELAY_USER", "u"),
                ("RELAY_PASSWORD", " SECRETpw"),
            ],
            "RELAY_PASSWORD",
        ),
    ];
    for (pairs, var) in cases {
        let env = env_of(pairs);
        let err = render(&env, &Sources::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(var), "{pairs:?}: {msg}");
        for (_, v) in pairs.iter() {
            if v.len() > 3 {
                assert!(!msg.contains(v), "{msg} echoes {v:?}");
            }
        }
        assert!(!format!("{err:?}").contains("SECRET"));
    }
}

// ------------------------------------------------------------------ convergence

fn param_values(cf: &MainCf) -> Vec<Option<String>> {
    RELAY_PARAMETERS
        .iter()
        .map(|n| cf.get(n).map(|v| show(&v)))
        .collect()
}

/// The lines that do not define a relay parameter, sorted.
fn other_lines(cf: &MainCf) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = cf
        .to_bytes()
        .split(|&b| b == b'\n')
        .filter(|l| {
            !RELAY_PARAMETERS.iter().any(|n| {
                l.strip_prefix(n.as_bytes())
                    .is_some_and(|r| r.trim_ascii_start().starts_with(b"="))
            })
        })
        .map(<[u8]>::to_vec)
        .collect();
    v.sort();
    v
}

#[test]
fn convergence_result_depends_only_on_inputs() {
    // Spec §5.20: DMS never resets a parameter. Rendering x over a main.cf
    // left by rendering y gives the same relay parameters (and the same
    // other lines; where postconf appends a line may differ, and a reset
    // line is written `name =`/`name = value`) as rendering x over stock.
    let all: Vec<Rendered> = scenarios().iter().map(|d| load(d).render()).collect();
    let mut extra = run(
        &env_of(&[
            ("DEFAULT_RELAY_HOST", "[d.test]:587"),
            ("RELAY_HOST", "r.test"),
            ("RELAY_USER", "u"),
            ("RELAY_PASSWORD", "p"),
        ]),
        Some(b"@a.test [x]:25\n"),
        Some(b"@a.test u:p\n"),
        &domains(&["a.test"]),
    );
    extra.warnings.clear();
    let mut all = all;
    all.push(extra);
    for x in &all {
        let mut want = stock_main_cf();
        main_cf_apply(&mut want, x).unwrap();
        // Idempotent: applying twice changes nothing.
        assert!(!main_cf_apply(&mut want, x).unwrap());
        for y in &all {
            let mut got = stock_main_cf();
            main_cf_apply(&mut got, y).unwrap();
            main_cf_apply(&mut got, x).unwrap();
            assert_eq!(param_values(&got), param_values(&want), "{y:?} then {x:?}");
            assert_eq!(other_lines(&got), other_lines(&want));
        }
        // Hand-set relay parameters everywhere are reset as well.
        let mut hand = MainCf::parse(
            b"relayhost = [old]:25\nsmtp_tls_security_level = encrypt\nsmtp_sasl_auth_enable = yes\n\
              smtp_sasl_password_maps = hash:/old\nsmtp_sasl_security_options = noplaintext\n\
              smtp_sender_dependent_authentication = yes\nsender_dependent_relayhost_maps = hash:/old\n\
              myhostname = mail.example.test\n",
        );
        main_cf_apply(&mut hand, x).unwrap();
        assert_eq!(param_values(&hand), param_values(&want));
        assert_eq!(
            hand.get_str("myhostname").as_deref(),
            Some("mail.example.test")
        );
    }
}

#[test]
fn removing_relay_config_removes_what_was_set() {
    // Spec §5.20: after the SASL file and the relaymap are deleted, DMS keeps
    // the old sasl_passwd, relayhost_map and every SASL/TLS parameter.
    let before = run(
        &RelayEnv::new(),
        Some(b"@a.test [x]:25\n"),
        Some(b"@a.test u:p\n"),
        &[],
    );
    let after = run(&RelayEnv::new(), None, None, &[]);
    assert_eq!(after.relayhost_map, None);
    assert_eq!(after.sasl_passwd, None);
    let mut cf = stock_main_cf();
    main_cf_apply(&mut cf, &before).unwrap();
    assert_eq!(
        cf.get_str("smtp_tls_security_level").as_deref(),
        Some("encrypt")
    );
    main_cf_apply(&mut cf, &after).unwrap();
    assert_eq!(
        explicit(&cf),
        ["relayhost =", "smtp_tls_security_level = may"]
    );
    assert_eq!(cf.to_bytes(), stock_main_cf().to_bytes());
}

// ------------------------------------------------------------------ secrecy, paths

#[test]
fn password_never_in_debug_or_warnings() {
    let env = env_of(&[
        ("DEFAULT_RELAY_HOST", "[d.test]:587"),
        ("RELAY_HOST", "r.test"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "ENVSECRET"),
    ]);
    let sasl: &[u8] =
        b"@a.test u:FILESECRET\n@a.test u:DUPSECRET\n  @b.test v:INDENTSECRET\n@c.test\n";
    let sources = Sources {
        relaymap: Some(b"@a.test [x]:25\n"),
        sasl_password: Some(sasl),
        domains: &[],
    };
    let r = render(&env, &sources).unwrap();
    assert!(show(r.sasl_passwd.as_ref().unwrap()).contains("ENVSECRET"));
    let text = format!(
        "{r:?} {r:#?} {env:?} {sources:?} {}",
        r.warnings
            .iter()
            .map(|w| format!("{w} {w:?}"))
            .collect::<String>()
    );
    for secret in ["ENVSECRET", "FILESECRET", "DUPSECRET", "INDENTSECRET"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn postfix_dir_and_config_dir_are_options() {
    let opts = render::RenderOptions {
        postfix_dir: "/srv/pf".into(),
        config_dir: "/srv/dms".into(),
    };
    let env = env_of(&[("RELAY_HOST", "r")]);
    let r = render::render_with(&env, &Sources::default(), &opts).unwrap();
    assert_eq!(
        r.param("sender_dependent_relayhost_maps"),
        Some("texthash:/srv/pf/relayhost_map")
    );
    assert_eq!(
        r.warnings[0].to_string(),
        "Missing relay-host mapped credentials provided via ENV, or from /srv/dms/postfix-sasl-password.cf"
    );
}

#[test]
fn env_file_variant_feeds_render() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "filepw\n").unwrap();
    let env = RelayEnv::from_pairs([
        ("RELAY_HOST", "smtp.relay.test".to_string()),
        ("RELAY_USER", "u".to_string()),
        ("RELAY_PASSWORD__FILE", pw.display().to_string()),
    ])
    .unwrap();
    let r = run(&env, None, None, &[]);
    assert_eq!(
        show(r.sasl_passwd.as_ref().unwrap()),
        "[smtp.relay.test]:25    u:filepw\n"
    );
}

// ------------------------------------------------------------------ performance

#[test]
fn performance_10k_domains() {
    let d: Vec<String> = (0..10_000).map(|i| format!("domain{i:05}.test")).collect();
    let env = env_of(&[
        ("RELAY_HOST", "smtp.relay.test"),
        ("RELAY_PORT", "587"),
        ("RELAY_USER", "u"),
        ("RELAY_PASSWORD", "p"),
    ]);
    let relaymap: Vec<u8> = (0..10_000)
        .step_by(7)
        .map(|i| format!("@domain{i:05}.test\n"))
        .collect::<String>()
        .into_bytes();
    let start = std::time::Instant::now();
    let vhost = vhost_bytes(&d);
    let domains_back = managed_domains(
        Some(
            &d.iter()
                .map(|x| format!("u@{x}|h\n"))
                .collect::<String>()
                .into_bytes(),
        ),
        None,
    );
    let r = run(&env, Some(&relaymap), None, &domains_back);
    let elapsed = start.elapsed();
    println!("render with 10,000 managed domains: {elapsed:?}");
    eprintln!("render with 10,000 managed domains: {elapsed:?}");
    assert_eq!(r.vhost, vhost);
    let lines = r.relayhost_map.unwrap().split(|&b| b == b'\n').count() - 1;
    assert_eq!(lines, 10_000 - 10_000_usize.div_ceil(7));
    assert!(elapsed.as_secs_f64() < 2.0, "took {elapsed:?}");
}
