//! `inline:{…}` and `static:…` tables in main.cf values: read through
//! `Resolved::table_refs` (with main.cf's `$` and Postfix's duplicate
//! rules) and edited with `typed::set_inline_entry` /
//! `remove_inline_entry`. The edits are checked against the real Postfix:
//! the edited main.cf is expanded by `postconf -x -h` and the result is
//! queried with `postmap -q`, which must give back exactly the value set.
//! Without Postfix that part says so loudly and passes, unless
//! `DMS_REQUIRE_POSTFIX` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fs;
use std::process::Command;

use common::{POSTCONF, Rng, have_postconf, make_cold};
use postfix_maincf::MainCf;
use postfix_maincf::defaults::Defaults;
use postfix_maincf::typed::{InlineValueError, remove_inline_entry, set_inline_entry};
use postfix_table::inline::Lookup;

const MAPS: &str = "smtp_sasl_password_maps";

fn lookup(cf: &MainCf, key: &str) -> Option<String> {
    let defaults = Defaults::default();
    let maps = cf.resolved(&defaults).table_refs(MAPS).unwrap().unwrap();
    maps.iter()
        .find_map(|t| t.lookup(key).ok().and_then(Lookup::value))
        .map(str::to_owned)
}

#[test]
fn dollar_and_duplicate_quirks_through_main_cf() {
    // maincf/052: `$$` is one `$` for Postfix.
    let cf = MainCf::parse(
        b"smtp_sasl_password_maps = inline:{ [smtp.example.com]:587=user:pa$$word }\n",
    );
    assert_eq!(
        lookup(&cf, "[SMTP.example.com]:587").as_deref(),
        Some("user:pa$word")
    );
    // A single `$` is a parameter reference: `pa$word` is `pa` + $word.
    let cf = MainCf::parse(
        b"word = XY\nsmtp_sasl_password_maps = inline:{ k=pa$word, {j = ${word}z} }\n",
    );
    assert_eq!(lookup(&cf, "k").as_deref(), Some("paXY"));
    assert_eq!(lookup(&cf, "j").as_deref(), Some("XYz"));
    let cf = MainCf::parse(b"smtp_sasl_password_maps = inline:{ k=pa$word }\n");
    assert_eq!(lookup(&cf, "k").as_deref(), Some("pa"));
    // A lone `$` at the end is an expansion error, not a value.
    let cf = MainCf::parse(b"smtp_sasl_password_maps = inline:{ k=pa$ }\n");
    let defaults = Defaults::default();
    assert!(cf.resolved(&defaults).table_refs(MAPS).unwrap().is_err());
    // Duplicates: last wins, keys folded; static:{ } trimmed.
    let cf = MainCf::parse(
        b"smtp_sasl_password_maps = inline:{ key=first, KEY=second },\n  static:{ fallback value }\n",
    );
    assert_eq!(lookup(&cf, "Key").as_deref(), Some("second"));
    assert_eq!(lookup(&cf, "other").as_deref(), Some("fallback value"));
}

#[test]
fn edits_keep_the_rest_and_escape_dollars() {
    let raw = b"texthash:/etc/postfix/sasl,\n    inline:{ a=1, {b = x$$y}, A=3 } # not a comment";
    let v = set_inline_entry(raw, "a", "p$w").unwrap();
    assert_eq!(
        v,
        b"texthash:/etc/postfix/sasl,\n    inline:{ {b = x$$y}, a=p$$w } # not a comment"
    );
    let (v, n) = remove_inline_entry(&v, "B").unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        v,
        b"texthash:/etc/postfix/sasl,\n    inline:{ a=p$$w } # not a comment"
    );
    assert_eq!(
        set_inline_entry(b"hash:/x", "a", "b"),
        Err(InlineValueError::NoInlineTable)
    );
    assert_eq!(
        set_inline_entry(b"inline:{a=1} inline:{b=2}", "a", "b"),
        Err(InlineValueError::SeveralInlineTables)
    );
    assert_eq!(
        set_inline_entry(b"inline:{a=$x}", "a", "b"),
        Err(InlineValueError::ParameterReference)
    );
    assert!(matches!(
        set_inline_entry(b"inline:{a=1", "a", "b"),
        Err(InlineValueError::Table(_))
    ));
    assert!(matches!(
        set_inline_entry(b"inline:{a=1}", "a", "x\ny"),
        Err(InlineValueError::Edit(_))
    ));
}

/// Random keys and values (with `$`, spaces, commas, `=`, quotes, braces,
/// non-ASCII) set into main.cf: `postconf -x` expands the result and
/// `postmap -q` answers with exactly the value; refused pairs leave the
/// value alone.
#[test]
fn edits_read_back_by_postconf_and_postmap() {
    if !have_postconf() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("master.cf"), "").unwrap();
    make_cold(&dir.path().join("master.cf"));
    let mut r = Rng(0x1F2E_3D4C_5B6A_7988);
    let keys = [
        "[smtp.example.com]:587",
        "@example.org",
        "k",
        "K",
        "é",
        "a$b",
        "x.y",
    ];
    let pieces = [
        "pa", "$", "$$", "word", " ", ", ", "=", "\"", "{v}", "é", ":", "u", "}", "{",
    ];
    let mut cf =
        MainCf::parse(b"compatibility_level = 3.6\nsmtp_sasl_password_maps = inline:{ seed=1 }\n");
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..40 {
        let key = r.pick(&keys);
        let mut value: String = (0..1 + r.below(5)).map(|_| r.pick(&pieces)).collect();
        // postconf prints values with runs of spaces collapsed.
        while value.contains("  ") {
            value = value.replace("  ", " ");
        }
        let raw = cf.get(MAPS).unwrap().into_owned();
        let new = match set_inline_entry(&raw, key, &value) {
            Ok(v) => v,
            Err(_) => {
                refused += 1;
                continue;
            }
        };
        accepted += 1;
        cf.set(MAPS, &new).unwrap();
        assert_eq!(
            lookup(&cf, key).as_deref(),
            Some(value.as_str()),
            "{value:?}"
        );
        let main_cf = dir.path().join("main.cf");
        fs::write(&main_cf, cf.to_bytes()).unwrap();
        make_cold(&main_cf);
        let x = Command::new(POSTCONF)
            .arg("-c")
            .arg(dir.path())
            .args(["-x", "-h", MAPS])
            .output()
            .unwrap();
        assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
        let expanded = String::from_utf8(x.stdout).unwrap();
        let q = Command::new("/usr/sbin/postmap")
            .arg("-c")
            .arg(dir.path())
            .args(["-q", key, expanded.trim_end_matches('\n')])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&q.stdout),
            format!("{value}\n"),
            "key {key:?}, value {value:?}, main.cf value {:?}, stderr {}",
            String::from_utf8_lossy(&new),
            String::from_utf8_lossy(&q.stderr)
        );
    }
    eprintln!("inline edits: {accepted} read back by postconf -x + postmap, {refused} refused");
    assert!(
        accepted >= 20 && refused >= 3,
        "{accepted} accepted, {refused} refused"
    );
}
