//! Helpers shared by the store tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

use dms_relay::store::{Command, ConfigDir, Outcome, StoreError};

/// Splits one line into words with bash's quoting rules (the subset the
/// conformance `commands` files use: blanks, `'…'`, `"…"`, `$'…'`, `\x`).
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut it = line.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in it.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = it.next() {
                    match c {
                        '"' => break,
                        '\\' => match it.peek().copied() {
                            Some(n @ ('"' | '\\' | '$' | '`')) => {
                                cur.push(n);
                                it.next();
                            }
                            _ => cur.push('\\'),
                        },
                        _ => cur.push(c),
                    }
                }
            }
            '$' if it.peek() == Some(&'\'') => {
                it.next();
                in_word = true;
                while let Some(c) = it.next() {
                    match c {
                        '\'' => break,
                        '\\' => match it.next() {
                            Some('n') => cur.push('\n'),
                            Some('t') => cur.push('\t'),
                            Some('r') => cur.push('\r'),
                            Some('0') => cur.push('\0'),
                            Some('\\') => cur.push('\\'),
                            Some('\'') => cur.push('\''),
                            Some('"') => cur.push('"'),
                            Some('x') => {
                                let mut hex = String::new();
                                while hex.len() < 2
                                    && it.peek().is_some_and(|h| h.is_ascii_hexdigit())
                                {
                                    hex.push(it.next().unwrap());
                                }
                                cur.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
                            }
                            Some(o) => {
                                cur.push('\\');
                                cur.push(o);
                            }
                            None => cur.push('\\'),
                        },
                        _ => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = it.next() {
                    cur.push(n);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Maps DMS argv (`relay add-domain …`) to a library command, as DMS's
/// dispatch does (spec 2.1). `Err(code)` for what DMS rejects before any
/// validation (usage errors).
pub fn dms_command(
    argv: &[String],
) -> Result<Result<Command, dms_relay::types::ValidationError>, i32> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["relay", "add-domain", d, h, rest @ ..] => {
            Ok(Command::add_domain(d, h, rest.first().copied()))
        }
        ["relay", "add-auth", d, u, pw, ..] => Ok(Command::add_auth(d, u, pw)),
        ["relay", "exclude-domain", d, ..] => Ok(Command::exclude_domain(d)),
        ["relay", "add-domain" | "add-auth" | "exclude-domain", ..] => Err(1),
        _ => Err(2),
    }
}

/// Runs a DMS argv through the library; returns the exit status we give.
pub fn run_dms(cfg: &ConfigDir, argv: &[String]) -> (i32, Option<Result<Outcome, StoreError>>) {
    match dms_command(argv) {
        Err(code) => (code, None),
        Ok(Err(e)) => (1, Some(Err(StoreError::Invalid(e)))),
        Ok(Ok(cmd)) => {
            let r = cfg.apply(&cmd);
            (i32::from(r.is_err()), Some(r))
        }
    }
}

pub fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/dms")
}

/// Every file (not directory) under `dir`, relative path → bytes. A missing
/// directory reads as empty.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for (rel, bytes) in snapshot(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// `postmap -s texthash:FILE` as a sorted map (keys as Postfix stores
/// them), plus stderr. `None` (after a loud note) when postmap is missing,
/// unless DMS_REQUIRE_POSTFIX=1.
pub fn postmap_s(file: &Path) -> Option<(BTreeMap<String, String>, String)> {
    let postmap = Path::new("/usr/sbin/postmap");
    if !postmap.exists() {
        if std::env::var("DMS_REQUIRE_POSTFIX").as_deref() == Ok("1") {
            panic!("/usr/sbin/postmap is missing and DMS_REQUIRE_POSTFIX=1");
        }
        eprintln!("SKIPPED: /usr/sbin/postmap is missing; Postfix read-back not checked");
        return None;
    }
    let out = Proc::new(postmap)
        .arg("-s")
        .arg(format!("texthash:{}", file.display()))
        .output()
        .expect("run postmap");
    assert!(out.status.success(), "postmap failed: {out:?}");
    let mut map = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let (k, v) = line.split_once('\t').expect("key TAB value");
        assert!(map.insert(k.to_owned(), v.to_owned()).is_none());
    }
    Some((map, String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// Asserts that Postfix reads `file` as exactly `expected` (lower-case keys)
/// and warns about nothing but the `opt_outs` key-only lines (one distinct
/// "expected format: key whitespace value" warning each).
pub fn assert_postfix_reads(file: &Path, expected: &BTreeMap<String, String>, opt_outs: usize) {
    if let Some((map, stderr)) = postmap_s(file) {
        assert_eq!(&map, expected, "postmap -s {}", file.display());
        let distinct: std::collections::BTreeSet<&str> = stderr.lines().collect();
        for w in &distinct {
            assert!(
                w.contains("expected format: key whitespace value -- ignoring this line"),
                "unexpected postmap warning for {}: {w}",
                file.display()
            );
        }
        assert_eq!(
            distinct.len(),
            opt_outs,
            "key-only lines in {}: {stderr}",
            file.display()
        );
    }
}

/// The mode a new file gets here with mode 0666 requested (0666 & !umask).
pub fn umask_mode(dir: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(".umask-probe");
    std::fs::write(&p, b"").unwrap();
    let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    std::fs::remove_file(&p).unwrap();
    m
}

pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}
