//! The config-directory store against DMS's goldens, the DMS bugs it fixes
//! (spec section 5), file modes, fault injection, locking, and Postfix's own
//! reading of every file written (`postmap -s texthash:`).

mod store_common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dms_relay::fsutil::{self, Fault, Step};
use dms_relay::store::{
    Command, ConfigDir, NextHop, Outcome, RELAYMAP_FILE, SASL_FILE, StoreError, TableKey,
};
use dms_relay::types::{Credentials, Host, Port, SenderDomain};
use store_common::*;

fn d(s: &str) -> SenderDomain {
    s.parse().unwrap()
}
fn h(s: &str) -> Host {
    s.parse().unwrap()
}
fn p(n: u16) -> Option<Port> {
    Some(Port::new(n).unwrap())
}
fn read(p: impl AsRef<Path>) -> String {
    String::from_utf8(std::fs::read(p).unwrap()).unwrap()
}

/// What Postfix should read after a sequence of DMS commands (spec 2.2:
/// `@D [H]:P`, P defaulting to 25; `@D U:PW`; `@D` opted out), built from
/// the commands themselves, not from the library.
#[derive(Default)]
struct Model {
    relay: BTreeMap<String, String>,
    opt_out: BTreeSet<String>,
    sasl: BTreeMap<String, String>,
}

impl Model {
    fn apply(&mut self, argv: &[String]) {
        let a: Vec<&str> = argv.iter().map(String::as_str).collect();
        match a.as_slice() {
            ["relay", "add-domain", dom, host, rest @ ..] => {
                let port = rest.first().filter(|p| !p.is_empty()).unwrap_or(&"25");
                let key = format!("@{}", dom.to_lowercase());
                self.opt_out.remove(&key);
                self.relay.insert(key, format!("[{host}]:{port}"));
            }
            ["relay", "add-auth", dom, user, pw, ..] => {
                self.sasl
                    .insert(format!("@{}", dom.to_lowercase()), format!("{user}:{pw}"));
            }
            ["relay", "exclude-domain", dom, ..] => {
                let key = format!("@{}", dom.to_lowercase());
                self.relay.remove(&key);
                self.opt_out.insert(key);
            }
            other => panic!("unexpected command {other:?}"),
        }
    }
}

// ------------------------------------------------------------ conformance

/// Every scenario with commands: apply them through the library to a copy
/// of `in/`, then compare `out/config/` byte for byte and `out/exit-codes`.
/// Deliberate divergences are asserted separately:
/// * `postfix-sasl-password.cf` is created 0600 (DMS: 0644, spec 5.26);
/// * our lock file `.dms-relay.lock` is left in the directory.
///
/// No golden scenario has DMS fail (its re-add bug is not among them).
#[test]
fn conformance_commands_through_the_library() {
    let root = conformance_dir();
    let mut ran = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let scenario = entry.unwrap().path();
        let Ok(commands) = std::fs::read_to_string(scenario.join("commands")) else {
            continue;
        };
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        let cfg_dir = tmp.path().join("docker-mailserver");
        copy_dir(&scenario.join("in"), &cfg_dir);
        std::fs::create_dir_all(&cfg_dir).unwrap();
        let cfg = ConfigDir::new(&cfg_dir);
        let expected_codes: Vec<i32> = std::fs::read_to_string(scenario.join("out/exit-codes"))
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        let mut codes = Vec::new();
        let mut model = Model::default();
        let sasl_existed = cfg_dir.join(SASL_FILE).exists();
        let relay_existed = cfg_dir.join(RELAYMAP_FILE).exists();
        for (i, line) in commands
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            assert!(
                !scenario.join(format!("stdin/{}", i + 1)).exists(),
                "{name}: stdin-driven commands are not supported by this test"
            );
            let argv = shell_words(line);
            let (code, result) = run_dms(&cfg, &argv);
            if let Some(Err(e)) = &result {
                eprintln!("{name}: {line}: {e}");
            }
            if code == 0 {
                model.apply(&argv);
            }
            codes.push(code);
        }
        assert_eq!(codes, expected_codes, "{name}: exit codes");

        let mut ours = snapshot(&cfg_dir);
        assert_eq!(
            ours.remove(fsutil::LOCK_FILE).is_some(),
            !codes.is_empty(),
            "{name}: lock file"
        );
        let golden = snapshot(&scenario.join("out/config"));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            golden.keys().collect::<Vec<_>>(),
            "{name}: files"
        );
        for (file, bytes) in &golden {
            assert_eq!(
                String::from_utf8_lossy(&ours[file]),
                String::from_utf8_lossy(bytes),
                "{name}: {file}"
            );
        }
        // Modes: relay map as DMS (umask), sasl file 0600 when we created it.
        if cfg_dir.join(RELAYMAP_FILE).exists() {
            assert_eq!(
                mode(&cfg_dir.join(RELAYMAP_FILE)),
                umask_mode(tmp.path()),
                "{name}"
            );
        }
        if cfg_dir.join(SASL_FILE).exists() && !sasl_existed {
            assert_eq!(mode(&cfg_dir.join(SASL_FILE)), 0o600, "{name}: sasl mode");
        }
        // Postfix reads the files as the commands meant (when the commands
        // wrote the whole file).
        if cfg_dir.join(RELAYMAP_FILE).exists() && !relay_existed {
            assert_postfix_reads(
                &cfg_dir.join(RELAYMAP_FILE),
                &model.relay,
                model.opt_out.len(),
            );
        }
        if cfg_dir.join(SASL_FILE).exists() && !sasl_existed {
            assert_postfix_reads(&cfg_dir.join(SASL_FILE), &model.sasl, 0);
        }
        ran += 1;
    }
    assert!(ran >= 8, "only {ran} scenarios with commands found");
}

/// The same scenarios, re-run on the result: every command is then already
/// in effect, so each succeeds with `Unchanged` and writes nothing (DMS
/// exits 1 with "No difference after call to 'sed'", spec 5.2).
#[test]
fn conformance_rerun_is_idempotent() {
    let root = conformance_dir();
    for entry in std::fs::read_dir(&root).unwrap() {
        let scenario = entry.unwrap().path();
        let Ok(commands) = std::fs::read_to_string(scenario.join("commands")) else {
            continue;
        };
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&scenario.join("out/config"), tmp.path());
        let cfg = ConfigDir::new(tmp.path());
        // Only the last command per key is in effect at the end.
        let lines: Vec<Vec<String>> = commands
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(shell_words)
            .collect();
        for (i, argv) in lines.iter().enumerate() {
            let file_of = |a: &[String]| if a[1] == "add-auth" { 1 } else { 0 };
            let later = lines[i + 1..]
                .iter()
                .any(|b| file_of(b) == file_of(argv) && b[2].eq_ignore_ascii_case(&argv[2]));
            if later {
                continue;
            }
            let mut before = snapshot(tmp.path());
            before.remove(fsutil::LOCK_FILE);
            let (code, result) = run_dms(&cfg, argv);
            assert_eq!(code, 0, "{argv:?}");
            assert_eq!(result.unwrap().unwrap(), Outcome::Unchanged, "{argv:?}");
            let mut after = snapshot(tmp.path());
            after.remove(fsutil::LOCK_FILE);
            assert_eq!(after, before, "{argv:?}");
        }
    }
}

// ------------------------------------------------------ DMS bugs, fixed

fn cfg_with(relaymap: &str) -> (tempfile::TempDir, ConfigDir) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(RELAYMAP_FILE), relaymap).unwrap();
    let cfg = ConfigDir::new(tmp.path());
    (tmp, cfg)
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Spec 5.1: case-insensitive match, replaced in place (key spelling kept).
#[test]
fn case_insensitive_replace() {
    let (_t, cfg) = cfg_with("");
    cfg.add_domain(&d("Example.org"), &h("h1"), None).unwrap();
    assert_eq!(
        cfg.add_domain(&d("example.org"), &h("h2"), None).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(read(cfg.relaymap_path()), "@Example.org [h2]:25\n");
    assert_postfix_reads(
        &cfg.relaymap_path(),
        &expect(&[("@example.org", "[h2]:25")]),
        0,
    );
    // exclude in another case also hits it (spec 5.10, last item).
    cfg.exclude_domain(&d("EXAMPLE.ORG")).unwrap();
    assert_eq!(read(cfg.relaymap_path()), "@Example.org \n");
}

/// Spec 5.2: re-adding succeeds, changes nothing and writes nothing (same
/// inode, same mtime).
#[test]
fn readd_writes_nothing() {
    let (_t, cfg) = cfg_with("# mine\n@x.org [h]:587\n");
    std::fs::write(cfg.sasl_path(), "@x.org u:p\n").unwrap();
    let m1 = std::fs::metadata(cfg.relaymap_path()).unwrap();
    let s1 = std::fs::metadata(cfg.sasl_path()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        cfg.add_domain(&d("x.org"), &h("h"), p(587)).unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        cfg.add_auth(&d("X.org"), &Credentials::new("u", "p").unwrap())
            .unwrap(),
        Outcome::Unchanged
    );
    cfg.exclude_domain(&d("y.org")).unwrap();
    assert_eq!(cfg.exclude_domain(&d("y.org")).unwrap(), Outcome::Unchanged);
    let m2 = std::fs::metadata(cfg.sasl_path()).unwrap();
    assert_eq!((s1.ino(), s1.mtime_nsec()), (m2.ino(), m2.mtime_nsec()));
    let before = std::fs::metadata(cfg.relaymap_path()).unwrap();
    assert_ne!(m1.ino(), before.ino()); // the exclude did write (atomically)
    assert_eq!(cfg.exclude_domain(&d("Y.ORG")).unwrap(), Outcome::Unchanged);
    let after = std::fs::metadata(cfg.relaymap_path()).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );
}

/// Spec 5.3/5.4: keys are literal: `.` matches only a dot, no cross-match
/// with longer or shorter domains.
#[test]
fn literal_key_matching() {
    let src = "@alphaXtest [x]:25\n@example.org.uk [a]:25\n@sub.example.org [b]:25\n@myexample.org [c]:25\n";
    let (_t, cfg) = cfg_with(src);
    assert_eq!(
        cfg.add_domain(&d("alpha.test"), &h("h"), None).unwrap(),
        Outcome::Added
    );
    assert_eq!(
        cfg.add_domain(&d("example.org"), &h("h"), None).unwrap(),
        Outcome::Added
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        format!("{src}@alpha.test [h]:25\n@example.org [h]:25\n")
    );
    assert_eq!(
        cfg.remove_domain(&d("example.org")).unwrap(),
        Outcome::Removed
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        format!("{src}@alpha.test [h]:25\n")
    );
}

/// Spec 5.6: the password is stored verbatim on the replace path too.
#[test]
fn password_verbatim_on_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ConfigDir::new(tmp.path());
    let dom = d("ex.org");
    cfg.add_auth(&dom, &Credentials::new("u", "p&a/s:s\\1w").unwrap())
        .unwrap();
    assert_eq!(read(cfg.sasl_path()), "@ex.org u:p&a/s:s\\1w\n");
    for pw in ["n&e/w\\1", "back\\\\slash\\tX", "a b:c#d"] {
        assert_eq!(
            cfg.add_auth(&dom, &Credentials::new("u", pw).unwrap())
                .unwrap(),
            Outcome::Replaced
        );
        assert_eq!(read(cfg.sasl_path()), format!("@ex.org u:{pw}\n"));
        assert_postfix_reads(
            &cfg.sasl_path(),
            &expect(&[("@ex.org", &format!("u:{pw}"))]),
            0,
        );
    }
}

/// Spec 5.7: a final newline is added before an append.
#[test]
fn missing_final_newline() {
    let (_t, cfg) = cfg_with("@a.test [x]:25");
    cfg.add_domain(&d("b.test"), &h("y"), None).unwrap();
    assert_eq!(
        read(cfg.relaymap_path()),
        "@a.test [x]:25\n@b.test [y]:25\n"
    );
    std::fs::write(cfg.sasl_path(), "# c\n@a.test u:p").unwrap();
    cfg.add_auth(&d("b.test"), &Credentials::new("v", "q").unwrap())
        .unwrap();
    assert_eq!(read(cfg.sasl_path()), "# c\n@a.test u:p\n@b.test v:q\n");
    assert_postfix_reads(
        &cfg.sasl_path(),
        &expect(&[("@a.test", "u:p"), ("@b.test", "v:q")]),
        0,
    );
}

/// Spec 5.8: an indented line belongs to the entry above (as Postfix reads
/// it); it is never matched as a key, and replacing the entry above drops
/// it.
#[test]
fn indented_lines_as_postfix_reads_them() {
    let (_t, cfg) = cfg_with("@a.test [x]:25\n  @b.test [y]:25\n");
    assert!(
        cfg.list()
            .unwrap()
            .relays
            .iter()
            .all(|r| r.key != TableKey::Domain(d("b.test")))
    );
    assert_eq!(
        cfg.add_domain(&d("b.test"), &h("z"), None).unwrap(),
        Outcome::Added
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        "@a.test [x]:25\n  @b.test [y]:25\n@b.test [z]:25\n"
    );
    assert_eq!(
        cfg.add_domain(&d("a.test"), &h("x"), None).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        "@a.test [x]:25\n@b.test [z]:25\n"
    );
    assert_postfix_reads(
        &cfg.relaymap_path(),
        &expect(&[("@a.test", "[x]:25"), ("@b.test", "[z]:25")]),
        0,
    );
}

/// Spec 5.9: an inline comment is part of the value, so re-adding the
/// entry replaces it with a clean value.
#[test]
fn inline_comment_value_is_replaced() {
    let (_t, cfg) = cfg_with("@d.test [h]:25 # note\n");
    assert_eq!(
        cfg.add_domain(&d("d.test"), &h("h"), None).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(read(cfg.relaymap_path()), "@d.test [h]:25\n");
}

/// Spec 5.11: a hand-written opt-out without trailing space is an opt-out.
#[test]
fn hand_written_opt_out() {
    let (_t, cfg) = cfg_with("@x.test\n@y.test\t\t\n@keep.test [k]:25\n");
    assert_eq!(
        cfg.exclude_domain(&d("x.test")).unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        cfg.exclude_domain(&d("Y.test")).unwrap(),
        Outcome::Unchanged
    );
    let list = cfg.list().unwrap();
    assert_eq!(list.excluded.len(), 2);
    assert_eq!(
        cfg.add_domain(&d("x.test"), &h("h"), p(587)).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        "@x.test [h]:587\n@y.test\t\t\n@keep.test [k]:25\n"
    );
    assert_eq!(cfg.include_domain(&d("y.test")).unwrap(), Outcome::Removed);
    assert_eq!(
        cfg.include_domain(&d("x.test")).unwrap(),
        Outcome::Unchanged
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        "@x.test [h]:587\n@keep.test [k]:25\n"
    );
}

/// Duplicates (spec 2.3, 4): the first line is rewritten in place, later
/// duplicates removed, so Postfix no longer warns.
#[test]
fn duplicates_collapse() {
    let (_t, cfg) = cfg_with("@a.test [1]:25\n# c\n@A.TEST [2]:25\n@b.test [b]:25\n@a.test\n");
    assert_eq!(
        cfg.add_domain(&d("a.test"), &h("n"), None).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(
        read(cfg.relaymap_path()),
        "@a.test [n]:25\n# c\n@b.test [b]:25\n"
    );
    assert_postfix_reads(
        &cfg.relaymap_path(),
        &expect(&[("@a.test", "[n]:25"), ("@b.test", "[b]:25")]),
        0,
    );
}

/// Comments, blank lines, CRLF lines and separators of other lines survive.
#[test]
fn lossless_edits() {
    let src = "# relays\r\n\r\n@a.test\t[x]:25\r\n   \n@b.test [y]:25\n";
    let (_t, cfg) = cfg_with(src);
    cfg.add_domain(&d("a.test"), &h("z"), p(2525)).unwrap();
    cfg.add_domain(&d("c.test"), &h("c"), None).unwrap();
    cfg.exclude_domain(&d("b.test")).unwrap();
    assert_eq!(
        read(cfg.relaymap_path()),
        "# relays\r\n\r\n@a.test\t[z]:2525\r\n   \n@b.test \n@c.test [c]:25\n"
    );
    assert_eq!(cfg.remove_domain(&d("b.test")).unwrap(), Outcome::Removed);
    assert_eq!(cfg.remove_domain(&d("b.test")).unwrap(), Outcome::Unchanged);
    assert_postfix_reads(
        &cfg.relaymap_path(),
        &expect(&[("@a.test", "[z]:2525"), ("@c.test", "[c]:25")]),
        0,
    );
}

#[test]
fn list_is_typed_and_redacted() {
    let (_t, cfg) =
        cfg_with("@a.test [x]:587\n@b.test mx.test\n@c.test \nuser@d.test [s]:submission\n");
    std::fs::write(cfg.sasl_path(), "@a.test user:pa:ss\n").unwrap();
    let l = cfg.list().unwrap();
    assert_eq!(l.relays.len(), 3);
    assert_eq!(l.relays[0].key, TableKey::Domain(d("a.test")));
    assert_eq!(
        l.relays[0].next_hop,
        NextHop::Relay("[x]:587".parse().unwrap())
    );
    assert_eq!(
        l.relays[1].next_hop,
        NextHop::Relay("mx.test".parse().unwrap())
    );
    assert_eq!(l.relays[2].key, TableKey::Other("user@d.test".into()));
    assert_eq!(
        l.relays[2].next_hop,
        NextHop::Unparsed("[s]:submission".into())
    );
    assert_eq!(l.excluded[0].key, TableKey::Domain(d("c.test")));
    assert_eq!(l.credentials[0].user, "user");
    assert!(l.credentials[0].password.is_none());
    assert!(!format!("{l:?}").contains("pa:ss"));
    let l = cfg.list_with_passwords().unwrap();
    let pw = l.credentials[0].password.as_ref().unwrap();
    assert_eq!(pw.expose(), "pa:ss");
    assert!(!format!("{l:?}").contains("pa:ss"));
}

#[test]
fn removals_on_missing_dir_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ConfigDir::new(tmp.path().join("absent"));
    assert_eq!(cfg.remove_domain(&d("a.test")).unwrap(), Outcome::Unchanged);
    assert_eq!(cfg.remove_auth(&d("a.test")).unwrap(), Outcome::Unchanged);
    assert_eq!(
        cfg.include_domain(&d("a.test")).unwrap(),
        Outcome::Unchanged
    );
    assert!(!tmp.path().join("absent").exists());
    // add creates it (mkdir -p, as DMS does).
    cfg.exclude_domain(&d("a.test")).unwrap();
    assert_eq!(read(cfg.relaymap_path()), "@a.test \n");
}

/// A batch: 10,000 edits with one save.
#[test]
fn batch_edit_one_save() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ConfigDir::new(tmp.path());
    let host = h("relay.test");
    let t = std::time::Instant::now();
    cfg.edit(|docs| {
        for i in 0..10_000 {
            let dom = d(&format!("d{i}.test"));
            docs.relaymap.add_domain(&dom, &host, None).unwrap();
            docs.relaymap.add_domain(&dom, &host, None).unwrap(); // no-op
        }
    })
    .unwrap();
    eprintln!(
        "10,000 adds + 10,000 no-op re-adds, one save: {:?}",
        t.elapsed()
    );
    let text = read(cfg.relaymap_path());
    assert_eq!(text.lines().count(), 10_000);
    assert_eq!(text.lines().nth(9_999), Some("@d9999.test [relay.test]:25"));
}

// ------------------------------------------------------------------ modes

#[test]
fn modes_new_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ConfigDir::new(tmp.path());
    cfg.add_auth(&d("a.test"), &Credentials::new("u", "p").unwrap())
        .unwrap();
    assert_eq!(mode(&cfg.sasl_path()), 0o600);
    cfg.add_domain(&d("a.test"), &h("x"), None).unwrap();
    assert_eq!(mode(&cfg.relaymap_path()), umask_mode(tmp.path()));
    // Existing modes are kept across rewrites (replace and append).
    std::fs::set_permissions(cfg.sasl_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(cfg.relaymap_path(), std::fs::Permissions::from_mode(0o604)).unwrap();
    cfg.add_auth(&d("a.test"), &Credentials::new("u", "p2").unwrap())
        .unwrap();
    cfg.add_auth(&d("b.test"), &Credentials::new("u", "p").unwrap())
        .unwrap();
    cfg.add_domain(&d("a.test"), &h("y"), None).unwrap();
    assert_eq!(mode(&cfg.sasl_path()), 0o640);
    assert_eq!(mode(&cfg.relaymap_path()), 0o604);
    // Symlinks are written through.
    let real = tmp.path().join("real.cf");
    std::fs::rename(cfg.relaymap_path(), &real).unwrap();
    std::os::unix::fs::symlink(&real, cfg.relaymap_path()).unwrap();
    cfg.add_domain(&d("c.test"), &h("z"), None).unwrap();
    assert!(
        std::fs::symlink_metadata(cfg.relaymap_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(read(&real).ends_with("@c.test [z]:25\n"));
}

// -------------------------------------------------------- fault injection

/// Fails the `n`-th step (counting from 0) with `fault`; optionally makes
/// the rename fail with EBUSY first (single-file bind mount).
struct Injector {
    n: usize,
    seen: AtomicUsize,
    crash: bool,
    busy: bool,
}

impl fsutil::Hook for Injector {
    fn before(&self, step: Step) -> Result<(), Fault> {
        if self.busy && step == Step::Rename {
            return Err(Fault::Fail(std::io::Error::from(
                std::io::ErrorKind::ResourceBusy,
            )));
        }
        if self.seen.fetch_add(1, Ordering::SeqCst) == self.n {
            return Err(if self.crash {
                Fault::Crash
            } else {
                Fault::Fail(std::io::Error::other("injected"))
            });
        }
        Ok(())
    }
}

/// Old content: big enough for several write chunks.
fn big_relaymap() -> String {
    let mut s = String::from("# big\n");
    for i in 0..400 {
        s.push_str(&format!("@host{i:04}.test [relay{i}.test]:587\n"));
    }
    s
}

fn fault_matrix(busy: bool, crash: bool) {
    let old = big_relaymap();
    // The new content, from an unfaulted run.
    let (_t0, clean) = cfg_with(&old);
    clean
        .add_domain(&d("host0000.test"), &h("new.test"), p(25))
        .unwrap();
    let new = read(clean.relaymap_path());
    assert_ne!(old, new);
    let mut n = 0;
    loop {
        let (tmp, cfg) = cfg_with(&old);
        let ino = std::fs::metadata(cfg.relaymap_path()).unwrap().ino();
        let inj = Arc::new(Injector {
            n,
            seen: AtomicUsize::new(0),
            crash,
            busy,
        });
        let cfg = cfg.with_write_hook(inj.clone());
        let r = cfg.add_domain(&d("host0000.test"), &h("new.test"), p(25));
        let hit = inj.seen.load(Ordering::SeqCst) > n;
        let got = read(cfg.relaymap_path());
        if !hit {
            // Ran to the end without reaching step n: done.
            assert!(r.is_ok(), "{r:?}");
            assert_eq!(got, new);
            if busy {
                // In place: same inode, nothing left next to it.
                assert_eq!(std::fs::metadata(cfg.relaymap_path()).unwrap().ino(), ino);
            }
            break;
        }
        assert!(r.is_err(), "step {n}: the fault must surface");
        if crash {
            // A crash may leave the target partly rewritten in place; the
            // next locked access completes it from the pending file.
            if got != old && got != new {
                assert!(busy, "step {n}: partial file outside the in-place path");
                assert!(fsutil::pending_path(&cfg.relaymap_path()).exists());
            }
            fsutil::with_lock(tmp.path(), || ()).unwrap();
            let got = read(cfg.relaymap_path());
            assert!(
                got == old || got == new,
                "step {n}: after recovery: neither old nor new"
            );
        } else {
            assert!(got == old || got == new, "step {n}: neither old nor new");
            // Failures clean up after themselves.
            let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.contains(".dms-relay-"))
                .collect();
            // A pending file survives only a failure to remove it once the
            // new content is in place (the next lock replays it: harmless).
            let pending = fsutil::pending_path(&cfg.relaymap_path());
            let allowed = got == new && leftovers.len() == 1 && pending.exists();
            assert!(leftovers.is_empty() || allowed, "step {n}: {leftovers:?}");
        }
        // And the next command works from whatever is there.
        let cfg = ConfigDir::new(tmp.path());
        cfg.add_domain(&d("host0000.test"), &h("new.test"), p(25))
            .unwrap();
        assert_eq!(read(cfg.relaymap_path()), new, "step {n}: retry");
        n += 1;
    }
    assert!(n > 5, "only {n} steps were exercised");
}

#[test]
fn fault_at_every_step_rename_path() {
    fault_matrix(false, false);
}

#[test]
fn fault_at_every_step_in_place_path() {
    fault_matrix(true, false);
}

#[test]
fn crash_at_every_step_rename_path() {
    fault_matrix(false, true);
}

#[test]
fn crash_at_every_step_in_place_path() {
    fault_matrix(true, true);
}

/// A bind-mount style EBUSY on rename falls back to an in-place rewrite:
/// same inode, mode and content as requested (spec 5.24).
#[test]
fn ebusy_falls_back_in_place() {
    let (_t, cfg) = cfg_with("@a.test [x]:25\n");
    std::fs::set_permissions(cfg.relaymap_path(), std::fs::Permissions::from_mode(0o640)).unwrap();
    let ino = std::fs::metadata(cfg.relaymap_path()).unwrap().ino();
    let busy = |s: Step| {
        if s == Step::Rename {
            Err(Fault::Fail(std::io::Error::from(
                std::io::ErrorKind::ResourceBusy,
            )))
        } else {
            Ok(())
        }
    };
    let cfg = cfg.with_write_hook(Arc::new(busy));
    assert_eq!(
        cfg.add_domain(&d("a.test"), &h("y"), None).unwrap(),
        Outcome::Replaced
    );
    assert_eq!(read(cfg.relaymap_path()), "@a.test [y]:25\n");
    let m = std::fs::metadata(cfg.relaymap_path()).unwrap();
    assert_eq!((m.ino(), m.permissions().mode() & 0o7777), (ino, 0o640));
    // A shorter content is cut to length.
    assert_eq!(cfg.remove_domain(&d("a.test")).unwrap(), Outcome::Removed);
    assert_eq!(read(cfg.relaymap_path()), "");
    assert!(!fsutil::pending_path(&cfg.relaymap_path()).exists());
}

// ---------------------------------------------------------------- locking

/// Spec 5.23: 20 threads, each with its own handle, add distinct domains
/// while others re-add one key: all 20 survive.
#[test]
fn lock_serializes_twenty_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut threads = Vec::new();
    for i in 0..20 {
        let dir = dir.clone();
        threads.push(std::thread::spawn(move || {
            let cfg = ConfigDir::new(&dir);
            cfg.add_domain(&d(&format!("d{i}.test")), &h("relay.test"), p(587))
                .unwrap();
            ConfigDir::new(&dir)
                .add_domain(&d("shared.test"), &h(&format!("r{i}.test")), None)
                .unwrap();
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
    let text = read(dir.join(RELAYMAP_FILE));
    let mut expected = BTreeMap::new();
    for i in 0..20 {
        assert!(
            text.contains(&format!("@d{i}.test [relay.test]:587\n")),
            "{text}"
        );
        expected.insert(format!("@d{i}.test"), "[relay.test]:587".to_string());
    }
    assert_eq!(text.lines().count(), 21);
    let shared = cfg_list_value(&dir, "shared.test");
    expected.insert("@shared.test".into(), shared);
    assert_postfix_reads(&dir.join(RELAYMAP_FILE), &expected, 0);
}

fn cfg_list_value(dir: &Path, dom: &str) -> String {
    let l = ConfigDir::new(dir).list().unwrap();
    let e = l
        .relays
        .iter()
        .find(|r| r.key == TableKey::Domain(d(dom)))
        .unwrap();
    match &e.next_hop {
        NextHop::Relay(r) => r.to_string(),
        NextHop::Unparsed(s) => s.clone(),
    }
}

/// Commands from DMS's argv, with an error for a usage problem.
#[test]
fn command_constructors() {
    assert_eq!(
        Command::add_domain("a.test", "h.test", Some("")).unwrap(),
        Command::add_domain("a.test", "h.test", None).unwrap()
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let e = ConfigDir::new(tmp.path().join("file/sub"))
        .apply(&Command::add_domain("a.test", "h.test", None).unwrap());
    assert!(matches!(e, Err(StoreError::Io { .. })), "{e:?}");
}
