//! `explain`'s next hop against the real Postfix: the trivial-rewrite
//! daemon, run stand-alone (`-S`, `MAIL_CONFIG`), answers a `resolve`
//! request for each sender with the next hop it picks (or a failure flag
//! when a lookup fails). Random configurations: relayhost forms, one or two
//! `sender_dependent_relayhost_maps` tables (texthash with duplicates,
//! `DUNNO`, inline with empty results, static, regexp and pcre with
//! substitutions that Postfix skips there), recipient delimiters,
//! local domains, and senders with extensions, quoted local parts and the
//! null sender. Skips loudly without Postfix unless `DMS_REQUIRE_POSTFIX`
//! is set.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use dms_relay::explain::{NextHopSource, RelayConfig};

/// Random configurations (each explained for every sender in [`SENDERS`]).
const CONFIGS: usize = 120;

const DAEMON: &str = "/usr/lib/postfix/sbin/trivial-rewrite";
/// `RESOLVE_FLAG_FAIL` in Postfix's resolve_clnt.h.
const RESOLVE_FLAG_FAIL: u32 = 1 << 3;

fn have_postfix() -> bool {
    if Path::new(DAEMON).exists() {
        return true;
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!(
            "{DAEMON} not found but DMS_REQUIRE_POSTFIX is set: install the Debian package postfix"
        );
    }
    eprintln!(
        "\n*** {DAEMON} not found: explain oracle test SKIPPED (apt-get install postfix) ***\n"
    );
    false
}

fn cold(path: &Path) {
    // Postfix re-reads files modified within the last second.
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// trivial-rewrite's (nexthop, flags) for mail from `sender` to a remote
/// recipient.
fn resolve(dir: &Path, sender: &str) -> (String, u32) {
    let mut child = Command::new(DAEMON)
        .arg("-S")
        .env("MAIL_CONFIG", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let request = format!("request\0resolve\0sender\0{sender}\0address\0rcpt@remote.test\0\0");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let fields: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    let mut nexthop = String::new();
    let mut flags = 0;
    for pair in fields.chunks(2) {
        if let [name, value] = pair {
            match *name {
                b"nexthop" => nexthop = String::from_utf8_lossy(value).into_owned(),
                b"flags" => flags |= std::str::from_utf8(value).unwrap().parse::<u32>().unwrap(),
                _ => {}
            }
        }
    }
    (nexthop, flags)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const SENDERS: &[&str] = &[
    "user@shop.example",
    "user+eu@shop.example",
    "User+EU@Shop.Example",
    "a+b+c@shop.example",
    "other@other.example",
    "vip@other.example",
    "vip-list@other.example",
    "local@origin.test",
    "local+x@origin.test",
    "john doe@shop.example",
    "bare",
    "",
];

const KEYS: &[&str] = &[
    "@shop.example",
    "user@shop.example",
    "user+eu@shop.example",
    "@other.example",
    "vip@other.example",
    "vip",
    "local",
    "local+x",
    "\"john doe\"@shop.example",
    "john doe@shop.example",
    "<>",
    "\"<>\"",
    "bare",
    "@origin.test",
];

const HOPS: &[&str] = &[
    "[relay-a.example]:587",
    "relay-b.example:2525",
    "[10.1.2.3]",
    "relay-c.example",
    "DUNNO",
    "dunno",
    "[relay-d.example]:submission",
];

fn texthash(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..1 + rng.below(6) {
        let key = rng.pick(KEYS);
        let key = if key.contains(' ') && !key.starts_with('"') {
            // Unquoted spaces end the key: skip such lines.
            continue;
        } else {
            key
        };
        writeln!(out, "{key} {}", rng.pick(HOPS)).unwrap();
    }
    out
}

/// Rules for a regexp or pcre table (same syntax here): anchored and
/// unanchored patterns, case flags, a substitution (Postfix skips it in
/// sender_dependent_relayhost_maps), DUNNO, and a rule without a result
/// (an empty result: a lookup error).
fn pattern(rng: &mut Rng) -> String {
    const RULES: &[&str] = &[
        "/^user@shop\\.example$/ [relay-a.example]:587",
        "/^user\\+eu@shop\\.example$/ relay-b.example:2525",
        "/@other\\.example$/ [relay-c.example]",
        "/^VIP@/ [10.1.2.3]",
        "/^vip@/i DUNNO",
        "/^(.*)@shop\\.example$/ [$1.example]:25",
        "/^local/ relay-c.example",
        "/^bare$/ [relay-d.example]:submission",
        "!/@/ relay-b.example:2525",
        "/^a\\+b/",
    ];
    let mut out = String::new();
    for _ in 0..1 + rng.below(4) {
        writeln!(out, "{}", rng.pick(RULES)).unwrap();
    }
    out
}

fn inline(rng: &mut Rng) -> String {
    let mut items = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let key = rng.pick(&KEYS[..8]);
        if rng.below(5) == 0 {
            items.push(format!("{{ {key} = }}"));
        } else {
            items.push(format!("{{ {key} = {} }}", rng.pick(HOPS)));
        }
    }
    format!("inline:{{ {} }}", items.join(", "))
}

#[test]
fn next_hop_matches_trivial_rewrite() {
    if !have_postfix() {
        return;
    }
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let mut compared = 0;
    let mut kinds = [0usize; 4];
    let mut pattern_hits = 0;
    let cases: Vec<(String, Vec<(String, String)>)> = (0..CONFIGS)
        .map(|_| {
            let relayhost =
                *rng.pick(&["", "[default.example]:587", "default.example", "[10.9.9.9]"]);
            let delimiter = *rng.pick(&["+", "+-", "", "-"]);
            let mut files = Vec::new();
            let mut maps = Vec::new();
            for i in 0..1 + rng.below(2) {
                match rng.below(6) {
                    0 => maps.push(inline(&mut rng)),
                    1 if i > 0 => maps.push("static:[static.example]:25".to_owned()),
                    4 | 5 => {
                        let kind = if rng.below(2) == 0 { "regexp" } else { "pcre" };
                        let name = format!("map{i}.{kind}");
                        files.push((name.clone(), pattern(&mut rng)));
                        maps.push(format!("{kind}:/etc/postfix/{name}"));
                    }
                    _ => {
                        let name = format!("map{i}");
                        files.push((name.clone(), texthash(&mut rng)));
                        maps.push(format!("texthash:/etc/postfix/{name}"));
                    }
                }
            }
            let main = format!(
                "compatibility_level = 3.6\nmyhostname = host.test\nmyorigin = origin.test\n\
                 mydestination = localhost\nrecipient_delimiter = {delimiter}\n\
                 relayhost = {relayhost}\nsender_dependent_relayhost_maps = {}\n",
                maps.join(", ")
            );
            (main, files)
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (main, files) in chunk {
                        // Our view reads /etc/postfix/NAME from the directory;
                        // trivial-rewrite gets the real paths.
                        let dir = tempfile::tempdir().unwrap();
                        let real =
                            main.replace("/etc/postfix/", &format!("{}/", dir.path().display()));
                        fs::write(dir.path().join("main.cf"), &real).unwrap();
                        fs::write(dir.path().join("master.cf"), "").unwrap();
                        for (name, text) in files {
                            fs::write(dir.path().join(name), text).unwrap();
                        }
                        for e in fs::read_dir(dir.path()).unwrap() {
                            cold(&e.unwrap().path());
                        }
                        let ours = RelayConfig::from_main_cf(
                            dir.path(),
                            &postfix_maincf::MainCf::parse(main.as_bytes()),
                        );
                        for sender in SENDERS {
                            let e = ours.explain(sender);
                            let theirs = resolve(dir.path(), sender);
                            out.push((main.clone(), files.clone(), sender.to_string(), e, theirs));
                        }
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            for (main, files, sender, e, (nexthop, flags)) in h.join().unwrap() {
                let ctx = || {
                    format!(
                        "sender {sender:?}\nmain.cf:\n{main}\ntables: {files:?}\nours:\n{e}\ntheirs: nexthop {nexthop:?} flags {flags}"
                    )
                };
                match &e.next_hop_source {
                    NextHopSource::Deferred { .. } => {
                        kinds[0] += 1;
                        assert!(flags & RESOLVE_FLAG_FAIL != 0, "{}", ctx());
                    }
                    NextHopSource::Direct => {
                        kinds[1] += 1;
                        assert_eq!(flags & RESOLVE_FLAG_FAIL, 0, "{}", ctx());
                        assert_eq!(nexthop, "remote.test", "{}", ctx());
                    }
                    NextHopSource::SenderDependent { table, .. }
                        if table.starts_with("regexp:") || table.starts_with("pcre:") =>
                    {
                        pattern_hits += 1;
                        kinds[3] += 1;
                        assert_eq!(flags & RESOLVE_FLAG_FAIL, 0, "{}", ctx());
                        assert_eq!(Some(nexthop.as_str()), e.next_hop.as_deref(), "{}", ctx());
                    }
                    NextHopSource::SenderDependent { .. } | NextHopSource::Relayhost => {
                        kinds[if matches!(e.next_hop_source, NextHopSource::Relayhost) {
                            2
                        } else {
                            3
                        }] += 1;
                        assert_eq!(flags & RESOLVE_FLAG_FAIL, 0, "{}", ctx());
                        assert_eq!(Some(nexthop.as_str()), e.next_hop.as_deref(), "{}", ctx());
                    }
                    other => panic!("unexpected {other:?}\n{}", ctx()),
                }
                compared += 1;
            }
        }
    });
    assert_eq!(compared, CONFIGS * SENDERS.len());
    assert!(
        pattern_hits > 0,
        "no sender-dependent hit from a regexp/pcre table"
    );
    // Every outcome is exercised.
    assert!(
        kinds.iter().all(|&k| k > 0),
        "outcomes deferred/direct/relayhost/sender-dependent: {kinds:?}"
    );
    eprintln!(
        "compared {compared} senders; deferred/direct/relayhost/sender-dependent = {kinds:?}, {pattern_hits} from regexp/pcre"
    );
}
