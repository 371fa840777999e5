//! Differential test against the real `postconf`: random main.cf files
//! (comments, blank and whitespace-only lines, continuations, duplicates,
//! near-miss names, CRLF, no final newline), each edited by a random
//! sequence of `-e` / `-X` / `-#` commands. After every command our bytes
//! must equal postconf's, modulo the documented deliberate differences,
//! which are applied to *postconf's* output by rule:
//!
//! - appended names: postconf's order is random per run; its appended
//!   lines are sorted before comparing (ours are in byte order);
//! - no final newline: when we append, we compare against postconf run on
//!   the file with its last line ended (postconf glues instead);
//! - CRLF files: every bare LF postconf wrote becomes CRLF.
//!
//! Skips (loudly) without Postfix unless `DMS_REQUIRE_POSTFIX` is set.

mod common;

use common::{POSTCONF, Rng, crlf, have_postconf};
use std::fs;
use std::path::Path;
use std::process::Command;

use postfix_maincf::{EditMode, MainCf};

const NAMES: &[&str] = &[
    "relayhost",
    "mydomain",
    "myorigin",
    "a",
    "a_b",
    "x.y",
    "relayhost_extra",
    "smtp_sasl_password_maps",
];
const VALUES: &[&str] = &[
    "",
    "1",
    "[smtp.example.com]:587",
    "$mydomain",
    "a, b c",
    "inline:{ {k = v}, x=y }",
    "x\ty",
    "#not a comment",
    "a=b",
];

fn random_file(rng: &mut Rng) -> Vec<u8> {
    let mut lines: Vec<String> = Vec::new();
    if rng.below(8) == 0 {
        lines.push("  orphan continuation".into());
    }
    for _ in 0..rng.below(12) {
        let name = rng.pick(NAMES);
        let value = rng.pick(VALUES);
        let line = match rng.below(14) {
            0 => "# a comment".to_string(),
            1 => String::new(),
            2 => " \t".into(),
            3 => "   # indented comment".into(),
            4 | 5 => format!("  continued {value}"),
            6 => format!("\tcontinued {value}"),
            7 => format!("#{name} = {value}"),
            8 => format!("{name}={value}"),
            9 => format!("{name}\t=\t{value}  "),
            _ => format!("{name} = {value}"),
        };
        lines.push(line);
    }
    let eol = if rng.below(6) == 0 { "\r\n" } else { "\n" };
    let mut text = lines.join(eol);
    if !lines.is_empty() && rng.below(5) != 0 {
        text.push_str(eol);
    }
    text.into_bytes()
}

fn random_command(rng: &mut Rng) -> (EditMode, Vec<String>) {
    let mode = match rng.below(5) {
        0 => EditMode::Remove,
        1 => EditMode::CommentOut,
        _ => EditMode::Set,
    };
    let n = 1 + rng.below(3);
    let mut args: Vec<String> = (0..n)
        .map(|_| {
            let name = rng.pick(NAMES);
            match mode {
                EditMode::Set => {
                    let value = rng.pick(VALUES);
                    match rng.below(3) {
                        0 => format!("{name}={value}"),
                        1 => format!("  {name}  =  {value}  "),
                        _ => format!("{name} = {value}"),
                    }
                }
                _ => name.to_string(),
            }
        })
        .collect();
    if mode != EditMode::Set {
        // postconf crashes on `-X a a` (it prints a null value in its
        // "ignoring earlier request" warning): ask it once per name.
        args.sort();
        args.dedup();
    }
    (mode, args)
}

fn postconf_edit(dir: &Path, src: &[u8], mode: EditMode, args: &[String]) -> Vec<u8> {
    fs::write(dir.join("main.cf"), src).unwrap();
    let flag = match mode {
        EditMode::Set => "-e",
        EditMode::Remove => "-X",
        EditMode::CommentOut => "-#",
    };
    let out = Command::new(POSTCONF)
        .arg("-c")
        .arg(dir)
        .arg(flag)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postconf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read(dir.join("main.cf")).unwrap()
}

fn sort_tail(bytes: &mut Vec<u8>, n: usize) {
    if n < 2 {
        return;
    }
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let k = lines.len() - n;
    lines[k..].sort();
    *bytes = lines.concat();
}

#[test]
fn random_edit_sequences_match_postconf() {
    if !have_postconf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("master.cf"), b"").unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut commands = 0;
    for case in 0..120 {
        let original = random_file(&mut rng);
        let is_crlf = original.windows(2).any(|w| w == b"\r\n");
        let mut ours = MainCf::parse(&original);
        // postconf's file: its own output after each step (LF endings it
        // wrote included), so successive edits see what postconf left.
        let mut theirs = original.clone();
        for step in 0..1 + rng.below(4) {
            let (mode, args) = random_command(&mut rng);
            let report = ours.postconf_edit(mode, &args).unwrap();
            let input = if report.appended > 0 && !theirs.is_empty() && !theirs.ends_with(b"\n") {
                let mut t = theirs.clone();
                t.push(b'\n');
                t
            } else {
                theirs.clone()
            };
            theirs = postconf_edit(dir.path(), &input, mode, &args);
            sort_tail(&mut theirs, report.appended);
            let expected = if is_crlf {
                crlf(&theirs)
            } else {
                theirs.clone()
            };
            assert_eq!(
                String::from_utf8_lossy(&ours.to_bytes()),
                String::from_utf8_lossy(&expected),
                "case {case} step {step}: {mode:?} {args:?}\noriginal: {:?}",
                String::from_utf8_lossy(&original)
            );
            // Our document stays consistent with a fresh parse of its bytes.
            let again = MainCf::parse(&ours.to_bytes());
            assert_eq!(again.values(), ours.values());
            commands += 1;
        }
    }
    eprintln!("{commands} edit commands compared with postconf");
}
