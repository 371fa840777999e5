//! Typed accessors ([`postfix_maincf::typed`]) against what Postfix does.
//!
//! * The main.cf vectors 041 (brace grouping), 052 (`$$` in an inline
//!   table) and 055 (a typical relay configuration), with the answers
//!   `postmap` recorded for the same inline table (tables/059).
//! * Differential runs against the real Postfix 3.7 (skipped without
//!   `/usr/sbin/postmap` unless `DMS_REQUIRE_POSTFIX` is set):
//!   - booleans, ints, longs and times: `postmap` reads main.cf and runs
//!     `mail_params_init()`, which converts `soft_bounce` (bool),
//!     `hash_queue_depth` (int, min 1), `lmdb_map_size` (long, min 1) and
//!     `in_flow_delay` (time, max 10 s) and dies with the daemons' own
//!     messages; the min/max checks reveal the converted number
//!     (`invalid in_flow_delay: 3600 (max 10)`), so values are compared,
//!     not just accepted/refused;
//!   - list splitting: a generated list value `L` of `kN=value` items (with
//!     brace groups, stray `}`, CR/LF/tab/comma separators) is looked up with
//!     `postmap -q - 'inline:{L}'`, whose items are split by the same
//!     `mystrtokq()` as every list parameter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use postfix_maincf::MainCf;
use postfix_maincf::typed::{
    TimeUnit, parse_bool, parse_int, parse_long, parse_table_refs, parse_time, split_list,
    split_list_unbraced,
};

const POSTMAP: &str = "/usr/sbin/postmap";

fn conformance(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    fs::read(conformance(rel)).unwrap()
}

/// `name<TAB>value` lines of a `.params`/`.expected`-like file.
fn tab_lines(rel: &str) -> BTreeMap<String, String> {
    String::from_utf8(read(rel))
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn vector_041_brace_grouping_in_lists() {
    let cf = MainCf::parse(&read("maincf/041-brace-grouping-in-lists.cf"));
    let maps = cf.get("smtp_sasl_password_maps").unwrap();
    let refs = parse_table_refs(&maps).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].kind(), "inline");
    // tables/059 is the same inline table plus one item; postmap's answers:
    let answers = tab_lines("tables/059-inline-sasl.inline.expected");
    for key in ["[smtp.example.com]:587", "[smtp.example.net]:465"] {
        assert_eq!(refs[0].inline_lookup(key), Some(answers[key].as_str()));
    }
    assert_eq!(refs[0].inline_entries().unwrap().len(), 2);

    // Restrictions: the braced group is one item, braces kept (mystrtokq;
    // util/mystrtok.c's own tests: "foo { bar } baz" -> 3 items).
    let restrictions = cf.get("smtpd_client_restrictions").unwrap();
    assert_eq!(
        split_list(&restrictions),
        [
            &b"permit_mynetworks"[..],
            b"{ check_client_access cidr:{ {10.0.0.0/8 OK} } }",
            b"reject"
        ]
    );
    assert_eq!(
        split_list_unbraced(&restrictions).unwrap()[1],
        b"check_client_access cidr:{ {10.0.0.0/8 OK} }"
    );
    let inner = split_list_unbraced(&restrictions).unwrap()[1];
    let inner_items = split_list(inner);
    assert_eq!(inner_items[0], b"check_client_access");
    let cidr = parse_table_refs(inner_items[1]).unwrap();
    assert_eq!(cidr[0].pattern_rules().unwrap(), ["10.0.0.0/8 OK"]);
}

#[test]
fn vector_052_dollar_in_inline_table() {
    let cf = MainCf::parse(&read("maincf/052-sasl-inline-dollar-escaped.cf"));
    let raw = cf.get("smtp_sasl_password_maps").unwrap();
    // What postconf -x printed: the value after expansion.
    let expanded =
        String::from_utf8(read("maincf/052-sasl-inline-dollar-escaped.expanded")).unwrap();
    let expanded = expanded
        .trim_end()
        .strip_prefix("smtp_sasl_password_maps = ")
        .unwrap();
    let refs = parse_table_refs(expanded.as_bytes()).unwrap();
    assert_eq!(
        refs[0].inline_lookup("[smtp.example.com]:587"),
        Some("user:pa$word")
    );
    // Unexpanded, the table would hold the `$$` literally: the functions
    // must be given expanded values.
    let unexpanded = parse_table_refs(&raw).unwrap();
    assert_eq!(
        unexpanded[0].inline_lookup("[smtp.example.com]:587"),
        Some("user:pa$$word")
    );
    if postmap_available() {
        let conf = ConfDir::new("compatibility_level = 3.6\n");
        let out = conf.postmap(&["-q", "[smtp.example.com]:587", expanded], "");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "user:pa$word\n");
    }
}

#[test]
fn vector_055_typical_relay_config() {
    let cf = MainCf::parse(&read("maincf/055-typical-relay-config.cf"));
    let params = tab_lines("maincf/055-typical-relay-config.params");
    for b in [
        "smtp_sasl_auth_enable",
        "smtp_sender_dependent_authentication",
    ] {
        assert_eq!(params[b], "yes");
        assert_eq!(parse_bool(&cf.get(b).unwrap()), Ok(true), "{b}");
    }
    for m in ["smtp_sasl_password_maps", "sender_dependent_relayhost_maps"] {
        let refs = parse_table_refs(&cf.get(m).unwrap()).unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].to_string(), params[m]);
        let (kind, path) = params[m].split_once(':').unwrap();
        assert_eq!(refs[0].kind(), kind);
        assert_eq!(refs[0].path(), Some(Path::new(path)));
    }
    assert_eq!(
        split_list(&cf.get("smtp_sasl_security_options").unwrap()),
        [&b"noanonymous"[..]]
    );
}

// ---------------------------------------------------------------------------
// Differential tests.

fn postmap_available() -> bool {
    if Path::new(POSTMAP).exists() {
        return true;
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!("{POSTMAP} not found and DMS_REQUIRE_POSTFIX is set");
    }
    eprintln!("NOTE: {POSTMAP} not found: differential test skipped");
    false
}

struct ConfDir(tempfile::TempDir);

impl ConfDir {
    fn new(main_cf: &str) -> ConfDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        fs::write(&path, main_cf).unwrap();
        fs::write(dir.path().join("master.cf"), "").unwrap();
        // Postfix re-reads main.cf modified within the last second.
        let st = Command::new("touch")
            .args(["-d", "2000-01-01 00:00:00"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
        ConfDir(dir)
    }

    fn spawn(&self, args: &[&str], stdin: &str) -> std::process::Child {
        let mut child = Command::new(POSTMAP)
            .arg("-c")
            .arg(self.0.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child
    }

    fn postmap(&self, args: &[&str], stdin: &str) -> Output {
        self.spawn(args, stdin).wait_with_output().unwrap()
    }
}

fn fatal(out: &Output) -> Option<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("postmap: fatal: "))
        .map(str::to_owned)
}

/// Runs `postmap -q a static:ok` once per main.cf line in `lines`, all at
/// once (a fatal error costs postmap a one-second sleep). Returns the fatal
/// message of each run, `None` when postmap answered `ok`.
fn postmap_with_settings(lines: &[String]) -> Vec<Option<String>> {
    let mut results = Vec::new();
    for batch in lines.chunks(64) {
        let runs: Vec<_> = batch
            .iter()
            .map(|line| {
                let conf = ConfDir::new(&format!("compatibility_level = 3.6\n{line}\n"));
                let child = conf.spawn(&["-q", "a", "static:ok"], "");
                (conf, child)
            })
            .collect();
        for (line, (_conf, child)) in batch.iter().zip(runs) {
            let out = child.wait_with_output().unwrap();
            let f = fatal(&out);
            if f.is_none() {
                assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{line}");
            }
            results.push(f);
        }
    }
    results
}

/// The value Postfix stores for the one setting of a main.cf line.
fn value_of(line: &str) -> Vec<u8> {
    let cf = MainCf::parse(line.as_bytes());
    cf.parameters().next().unwrap().value.into_owned()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

#[test]
fn numbers_booleans_and_times_against_postmap() {
    if !postmap_available() {
        return;
    }
    let mut r = Rng(0xDEAD_BEEF_1234_5678);
    let bools = [
        "yes", "no", "YES", "No", "nO", "true", "false", "1", "0", "on", "y", "n", "yess", "",
        "ye s",
    ];
    let numbers = [
        "0",
        "1",
        "-1",
        "+5",
        "007",
        "0x10",
        "10k",
        "1 0",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-",
        "+",
        "12abc",
        "",
        "99999999999999999999",
    ];
    let time_pieces = [
        "0",
        "1",
        "5",
        "10",
        "11",
        "60",
        "3549",
        "3550",
        "35791394",
        "2147483647",
        "2147483648",
        "-",
        "+",
        "-0",
        " ",
        "s",
        "m",
        "h",
        "d",
        "w",
        "S",
        "x",
        "our",
        "1h",
        "ms",
        "",
    ];
    let mut lines = Vec::new();
    for b in bools {
        lines.push(format!("soft_bounce = {b}"));
    }
    for n in numbers {
        lines.push(format!("hash_queue_depth = {n}"));
        lines.push(format!("lmdb_map_size = {n}"));
    }
    for _ in 0..150 {
        let mut v = String::new();
        for _ in 0..1 + r.below(3) {
            v.push_str(r.pick(&time_pieces));
        }
        lines.push(format!("in_flow_delay = {v}"));
    }
    let results = postmap_with_settings(&lines);
    let mut checked = 0;
    for (line, theirs) in lines.iter().zip(&results) {
        let value = value_of(line);
        let name = line.split(' ').next().unwrap();
        let ours: Option<String> = match name {
            "soft_bounce" => parse_bool(&value).err().map(|e| e.postfix_message(name)),
            "hash_queue_depth" => match parse_int(&value) {
                Ok(n) if n < 1 => Some(format!("invalid {name} parameter value {n} < 1")),
                Ok(_) => None,
                Err(e) => Some(e.postfix_message(name)),
            },
            "lmdb_map_size" => match parse_long(&value) {
                Ok(n) if n < 1 => Some(format!("invalid {name} parameter value {n} < 1")),
                Ok(_) => None,
                Err(e) => Some(e.postfix_message(name)),
            },
            "in_flow_delay" => match parse_time(&value, TimeUnit::Seconds) {
                Ok(n) if n > 10 => Some(format!("invalid {name}: {n} (max 10)")),
                Ok(_) => None,
                Err(e) => Some(e.postfix_message(name)),
            },
            _ => unreachable!(),
        };
        assert_eq!(&ours, theirs, "{line:?}");
        checked += 1;
    }
    assert_eq!(checked, lines.len());
}

/// Trims C whitespace (the test's own, simple version).
fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

#[test]
fn list_splitting_against_postmap_inline() {
    if !postmap_available() {
        return;
    }
    let conf = ConfDir::new("compatibility_level = 3.6\n");
    let mut r = Rng(0x0123_4567_89AB_CDEF);
    let seps = [",", " ", "\t", ", ", " ,\t", "\r\n ", ",,", "\n", "  "];
    let value_pieces = [
        "v",
        "w1",
        "{a b}",
        "{ c, d }",
        "x{y z}",
        "}",
        "\"",
        ":",
        "[h]:25",
        "{ {n} m }",
        "=",
    ];
    let mut jobs = Vec::new();
    for _ in 0..120 {
        let mut list = String::new();
        let n = 1 + r.below(6);
        for k in 0..n {
            list.push_str(r.pick(&seps));
            let mut value = String::new();
            for _ in 0..r.below(3) {
                value.push_str(r.pick(&value_pieces));
            }
            if r.below(3) == 0 {
                // A group item: inside it, whitespace and commas do not split.
                list.push_str(&format!("{{ k{k} = {value} p, q }}"));
            } else {
                list.push_str(&format!("k{k}={value}"));
            }
        }
        list.push_str(r.pick(&seps));
        let spec = format!("inline:{{{list}}}");
        let keys: String = (0..n).map(|k| format!("k{k}\n")).collect();
        jobs.push((list, spec, keys));
    }
    let (mut compared, mut refused) = (0, 0);
    for batch in jobs.chunks(64) {
        let children: Vec<_> = batch
            .iter()
            .map(|(_, spec, keys)| conf.spawn(&["-q", "-", spec], keys))
            .collect();
        for ((list, spec, _), child) in batch.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            if let Some(f) = fatal(&out) {
                // A `}` inside a group item can close it early; then the
                // whole table is refused, and so must we refuse it.
                let ours = postfix_table::spec::TableRef::parse(spec).unwrap_err();
                assert_eq!(
                    ours.to_string().replace(['\t', '\r', '\n'], "?"),
                    f,
                    "{spec:?}"
                );
                refused += 1;
                continue;
            }
            // Our items, split with the test's own key=value rule.
            let mut want = String::new();
            for item in split_list_unbraced(list.as_bytes()).unwrap() {
                let item = std::str::from_utf8(item).unwrap();
                let (k, v) = item.split_once('=').unwrap();
                want.push_str(&format!("{}\t{}\n", trim(k), trim(v)));
            }
            // Same items, braces kept, must re-join to the unbraced ones.
            let kept = split_list(list.as_bytes());
            assert_eq!(kept.len(), want.lines().count(), "{list:?}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{spec:?}");
            compared += 1;
        }
    }
    eprintln!("list differential: {compared} lists compared, {refused} refused by both");
    assert!(compared >= 80, "only {compared} lists compared");
}
