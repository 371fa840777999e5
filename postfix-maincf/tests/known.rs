//! Built-in defaults and postconf's "known parameter" rules, checked
//! against the installed Postfix (`/usr/sbin/postconf`) and the
//! conformance vectors made by it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use postfix_maincf::MainCf;
use postfix_maincf::defaults::{self, DefaultValue, Defaults, HostDefaults};
use postfix_maincf::known::Known;

const POSTCONF: &str = "/usr/sbin/postconf";

/// Whether to run tests that need postconf; panics when it is required.
fn have_postconf() -> bool {
    if Path::new(POSTCONF).exists() {
        return true;
    }
    if std::env::var("DMS_REQUIRE_POSTFIX").as_deref() == Ok("1") {
        panic!("{POSTCONF} is missing and DMS_REQUIRE_POSTFIX=1");
    }
    eprintln!("note: {POSTCONF} not found; skipping");
    false
}

struct Output {
    stdout: String,
    stderr: String,
    ok: bool,
}

/// Runs `postconf -c DIR ARGS` with DIR holding these files (back-dated so
/// postconf does not treat them as "hot").
fn postconf(main_cf: &[u8], master_cf: &[u8], args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [("main.cf", main_cf), ("master.cf", master_cf)] {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        let st = Command::new("touch")
            .args(["-d", "2000-01-01 00:00:00"])
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let out = Command::new(POSTCONF)
        .env("LC_ALL", "C")
        .arg("-c")
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap();
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

/// `name = value` / `name =` -> (name, value).
fn split_line(line: &str) -> (&str, &str) {
    match line.split_once(" = ") {
        Some((n, v)) => (n, v),
        None => (line.strip_suffix(" =").unwrap_or(line), ""),
    }
}

/// postconf's output normalisation: runs of space/TAB/CR/LF -> one space.
fn normalise(v: &[u8]) -> String {
    String::from_utf8_lossy(v)
        .split([' ', '\t', '\r', '\n'])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Names printed by `postconf -n` (without the `config_directory` line
/// that `-c` adds).
fn printed_names(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .map(|l| split_line(l).0.to_owned())
        .filter(|n| n != "config_directory")
        .collect()
}

/// Names from `FILE: unused parameter: NAME=VALUE` warnings about `file`.
fn unused_names(stderr: &str, file: &str) -> BTreeSet<String> {
    let marker = format!("{file}: unused parameter: ");
    stderr
        .lines()
        .filter_map(|l| l.split_once(&marker))
        .map(|(_, nv)| nv.split_once('=').map_or(nv, |(n, _)| n).to_owned())
        .collect()
}

fn s(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

// (a) The generated table equals what the installed postconf says.
#[test]
fn defaults_match_postconf_d() {
    if !have_postconf() {
        return;
    }
    let out = postconf(b"", b"", &["-d"]);
    assert!(out.ok, "{}", out.stderr);
    let lines: Vec<(&str, &str)> = out.stdout.lines().map(split_line).collect();
    let get = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap()
    };
    let version = get("mail_version");
    assert_eq!(defaults::POSTFIX_VERSION, version);
    let host = HostDefaults {
        // postconf's myhostname is the host name when it has a dot.
        hostname: get("myhostname"),
        mynetworks: get("mynetworks"),
        process_name: get("process_name"),
        process_id: get("process_id").parse().unwrap(),
    };
    let d = Defaults::new(host);
    let ours: Vec<&str> = defaults::builtin_names().collect();
    let theirs: Vec<&str> = lines.iter().map(|(n, _)| *n).collect();
    assert_eq!(ours, theirs, "built-in names differ from postconf -d");
    for (name, value) in &lines {
        let got = d
            .get(name)
            .unwrap_or_else(|| panic!("no default for {name}"));
        assert_eq!(
            format!("{name} = {}", normalise(&got)).trim_end(),
            format!("{name} = {value}").trim_end(),
        );
    }
    // Host-dependent ones are not baked in.
    for n in [
        "myhostname",
        "mydomain",
        "mynetworks",
        "process_id",
        "process_name",
    ] {
        assert_eq!(
            defaults::default_value(n),
            Some(DefaultValue::HostDependent)
        );
    }
    // Legacy names are known to postconf (and empty by default).
    for n in defaults::legacy_names() {
        assert!(!theirs.contains(&n));
        let out = postconf(b"", b"", &["-d", n]);
        assert_eq!(out.stdout.trim_end(), format!("{n} ="));
    }
}

// mydomain / myhostname defaults follow main.cf settings as postconf does.
#[test]
fn host_defaults_follow_main_cf() {
    if !have_postconf() {
        return;
    }
    // postconf starts from gethostname(), as from_system() does.
    let sys_host = HostDefaults::from_system().hostname;
    let cases: &[&[u8]] = &[
        b"myhostname = mail.example.com\n",
        b"myhostname = mail\n",
        b"myhostname = a.b.c.\n",
        b"myhostname = $zz\nzz = h.example.net\n",
        b"myhostname = mail.$mydomain\n",
        b"mydomain = example.org\n",
        b"mydomain = example.org\nmyhostname = x.y\n",
    ];
    for &case in cases {
        let cf = MainCf::parse(case);
        let host = HostDefaults {
            hostname: sys_host.clone(),
            ..HostDefaults::default()
        };
        let d = Defaults::for_main_cf(host, &cf);
        for name in ["mydomain", "myhostname"] {
            if cf.get(name).is_some() {
                continue;
            }
            let out = postconf(case, b"", &["-h", name]);
            assert_eq!(
                s(&d.get(name).unwrap()),
                out.stdout.trim_end(),
                "{name} for {}",
                s(case)
            );
        }
    }
}

fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/maincf")
}

// (b) The conformance vectors (made by real postconf with an empty master.cf).
#[test]
fn vectors_known_and_unused() {
    let mut n = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(vector_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    entries.sort();
    for cf_path in entries {
        let read = |ext: &str| s(&std::fs::read(cf_path.with_extension(ext)).unwrap());
        let warnings = read("warnings");
        if warnings.contains("fatal:") {
            continue;
        }
        let expected = read("expected");
        let cf = MainCf::parse(&std::fs::read(&cf_path).unwrap());
        let known = Known::new(&cf, b"");
        let shown: BTreeSet<String> = known.shown_main().iter().map(|(n, _)| s(n)).collect();
        let defined_known: BTreeSet<String> = cf
            .values()
            .iter()
            .filter(|(n, _)| known.is_known(n))
            .map(|(n, _)| s(n))
            .collect();
        let unused: BTreeSet<String> = known.unused_main().iter().map(|(n, _)| s(n)).collect();
        let name = cf_path.display();
        assert_eq!(shown, printed_names(&expected), "{name}: printed names");
        assert_eq!(defined_known, shown, "{name}");
        assert_eq!(
            unused,
            unused_names(&warnings, "DIR/main.cf"),
            "{name}: unused warnings"
        );
        n += 1;
    }
    assert!(n > 30, "only {n} vectors checked");
}

/// xorshift64*: fixed-seed, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const USER: &[&str] = &["u1", "u2", "u3", "u4", "u5", "cls_a", "cls_b", "pfx"];
const DB_USER: &[&str] = &[
    "pfx_server_host",
    "pfx_hosts",
    "pfx_query",
    "pfx_dbpath",
    "pfx_memcache",
    "pfx_bogus",
    "db2_query",
    "db2_search_base",
];
const BUILTIN: &[&str] = &[
    "relayhost",
    "mydestination",
    "virtual_alias_maps",
    "transport_maps",
    "smtpd_recipient_restrictions",
    "mailbox_command",
    "default_rbl_reply",
    "smtpd_restriction_classes",
    "virtual_maps",
    "process_name",
    "myorigin",
    "alias_maps",
];
const SERVICE: &[&str] = &[
    "relay_destination_concurrency_limit",
    "relay_time_limit",
    "mysvc_time_limit",
    "mysvc_destination_recipient_limit",
    "spw_time_limit",
    "spw_recipient_limit",
    "local_destination_concurrency_limit",
];

fn random_ref(rng: &mut Rng) -> String {
    let pool: Vec<&str> = USER.iter().chain(DB_USER).chain(BUILTIN).copied().collect();
    let a = rng.pick(&pool);
    let b = rng.pick(&pool);
    match rng.below(7) {
        0 => format!("${a}"),
        1 => format!("${{{a}}}"),
        2 => format!("$({a})"),
        3 => format!("${{{a}?{{${b}}}}}"),
        4 => format!("${{{a}:${b}}}"),
        5 => format!("${{{{${a}}} == {{x}} ? {{${b}}} : {{y}}}}"),
        _ => format!("$${a}"),
    }
}

fn random_value(rng: &mut Rng) -> String {
    let mut parts = Vec::new();
    for _ in 0..rng.below(3) + 1 {
        parts.push(match rng.below(9) {
            0 | 1 => random_ref(rng),
            2 => format!("ldap:{}", rng.pick(&["pfx", "db2", "u1"])),
            3 => format!("proxy:mysql:{}", rng.pick(&["pfx", "db2"])),
            4 => format!("{{ sqlite:{} }}", rng.pick(&["pfx", "db2"])),
            5 => format!("memcache:{}", rng.pick(&["pfx", "db2"])),
            6 => format!("pgsql:${}", rng.pick(&["u1", "u2"])),
            7 => rng.pick(&USER[..6]).to_owned(),
            _ => rng
                .pick(&["hash:/etc/x", "literal", "1", "[h]:587"])
                .to_owned(),
        });
    }
    parts.join(rng.pick(&[" ", ", "]))
}

fn random_case(rng: &mut Rng) -> (String, String) {
    let mut main = String::new();
    for _ in 0..rng.below(10) + 1 {
        let name = match rng.below(5) {
            0 | 1 => rng.pick(USER),
            2 => rng.pick(DB_USER),
            3 => rng.pick(BUILTIN),
            _ => rng.pick(SERVICE),
        };
        let value = if name == "smtpd_restriction_classes" {
            format!(
                "{}, {}",
                rng.pick(USER),
                rng.pick(&["cls_a", "cls_b", "$u1"])
            )
        } else {
            random_value(rng)
        };
        main.push_str(&format!("{name} = {value}\n"));
    }
    let mut master = String::new();
    let services = [
        ("relay", "smtp"),
        ("mysvc", "pipe"),
        ("spw", "spawn"),
        ("local", "local"),
        ("other", "smtpd"),
    ];
    for (svc, cmd) in services {
        if !rng.chance(45) {
            continue;
        }
        let mut line = format!("{svc} unix - - n - - {cmd}");
        for _ in 0..rng.below(3) {
            let (n, v) = match rng.below(5) {
                0 => (rng.pick(USER).to_owned(), random_value(rng)),
                1 => (
                    "smtpd_restriction_classes".to_owned(),
                    rng.pick(USER).to_owned(),
                ),
                2 => (rng.pick(BUILTIN).to_owned(), random_value(rng)),
                3 => (rng.pick(DB_USER).to_owned(), "x".to_owned()),
                _ => ("relayhost".to_owned(), random_ref(rng)),
            };
            if v.contains(' ') {
                line.push_str(&format!("\n  -o {{ {n} = {v} }}"));
            } else {
                line.push_str(&format!("\n  -o {n}={v}"));
            }
        }
        master.push_str(&line);
        master.push('\n');
    }
    (main, master)
}

// (c) Differential test against postconf on random main.cf + master.cf.
#[test]
fn differential_against_postconf() {
    if !have_postconf() {
        return;
    }
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut compared = 0;
    for case in 0..300 {
        let (main, master) = random_case(&mut rng);
        let out = postconf(main.as_bytes(), master.as_bytes(), &["-n"]);
        if !out.ok {
            continue;
        }
        let cf = MainCf::parse(main.as_bytes());
        let known = Known::try_new(&cf, master.as_bytes()).unwrap();
        let ctx = format!(
            "case {case}\n--- main.cf\n{main}--- master.cf\n{master}--- stderr\n{}",
            out.stderr
        );
        let shown: BTreeSet<String> = known.shown_main().iter().map(|(n, _)| s(n)).collect();
        assert_eq!(shown, printed_names(&out.stdout), "printed names, {ctx}");
        let unused: BTreeSet<String> = known.unused_main().iter().map(|(n, _)| s(n)).collect();
        assert_eq!(
            unused,
            unused_names(&out.stderr, "main.cf"),
            "unused main.cf, {ctx}"
        );
        let unused_master: BTreeSet<String> =
            known.unused_master().iter().map(|(_, n, _)| s(n)).collect();
        assert_eq!(
            unused_master,
            unused_names(&out.stderr, "master.cf"),
            "unused master.cf, {ctx}"
        );
        let ro: BTreeSet<String> = known.read_only_main().iter().map(|(n, _)| s(n)).collect();
        let ro_theirs: BTreeSet<String> = out
            .stderr
            .lines()
            .filter_map(|l| l.split_once("main.cf: read-only parameter assignment: "))
            .map(|(_, nv)| nv.split_once('=').map_or(nv, |(n, _)| n).to_owned())
            .collect();
        assert_eq!(ro, ro_theirs, "read-only, {ctx}");
        compared += 1;
    }
    assert!(compared > 250, "only {compared} cases compared");
}

/// The main.cf `scripts/gen-bench-maincf.py COUNT OUT` writes (same bytes):
/// every parameter references the previous one, so postconf knows all but
/// the last.
fn bench_main_cf(count: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..count {
        if i % 100 == 0 {
            out.extend_from_slice(format!("# bench block {}\n", i / 100).as_bytes());
        }
        let reference = if i > 0 {
            format!("${{bench_param_{:06}}}, ", i - 1)
        } else {
            String::new()
        };
        let mut line = format!(
            "bench_param_{i:06} = {reference}relay-{i}.example.net:587 list item {i}, more"
        );
        if i % 50 == 0 {
            line.push_str("\n    continued value text");
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

// (d) Speed: `Known::with_host` on the 50,000-parameter benchmark file
// (and its result checked against postconf). The time is printed
// (`cargo test --release -p postfix-maincf --test known with_host_50k --
// --nocapture`); about 13 ms on the 2-core development machine. Release
// builds fail far above that (a return of per-name allocations or of a
// quadratic pass), not at the edge, so that a busy machine does not.
#[test]
fn with_host_50k_is_fast() {
    let src = bench_main_cf(50_000);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen-bench-maincf.py");
    if let Ok(out) = Command::new("python3")
        .arg(&script)
        .arg("2000")
        .arg("/dev/stdout")
        .output()
        && out.status.success()
    {
        assert_eq!(
            out.stdout,
            bench_main_cf(2000),
            "generator drifted from {script:?}"
        );
    }
    let cf = MainCf::from_vec(src);
    let mut best = std::time::Duration::MAX;
    let mut known = None;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let k = Known::with_host(&cf, b"", HostDefaults::default());
        best = best.min(start.elapsed());
        known = Some(k);
    }
    let known = known.unwrap();
    eprintln!("Known::with_host on 50,000 parameters: best of 5 = {best:?}");
    if have_postconf() {
        let out = postconf(&bench_main_cf(50_000), b"", &["-n"]);
        assert!(out.ok, "{}", out.stderr);
        let shown: BTreeSet<String> = known.shown_main().iter().map(|(n, _)| s(n)).collect();
        assert_eq!(shown, printed_names(&out.stdout));
        let unused: BTreeSet<String> = known.unused_main().iter().map(|(n, _)| s(n)).collect();
        assert_eq!(unused, unused_names(&out.stderr, "main.cf"));
    }
    if !cfg!(debug_assertions) {
        assert!(
            best < std::time::Duration::from_millis(60),
            "too slow: {best:?}"
        );
    }
}

// (e) postconf's scan pass flags the names met before a syntax error: a
// malformed value of a user-defined or unknown parameter (postconf -n only
// warns about it) still makes the parameters it referenced so far known.
const MALFORMED: &[&str] = &[
    "$u1 $",
    "$u1 ${u2",
    "${u1?${a b}} $u2",
    "${{$u1} =x= {a}} $u2",
    "$ $u1 $u2",
    "${u1 x} $u2",
    "${u1:{$u2} x} $u3",
    "$(u1) $(u2",
    "${u1?{$u2}:{$u3}} ${}",
    "${{$u1} == {x} ? {$u2} : {$u3}} ${ u4 }x ${u2?$",
    "${{$u1} <level {x}} $u2",
    "${{$u1}==x} $u2",
    "${u1?{$u2} junk} $u3",
    "$u1$u2$u3$u4 $-",
    "${u1:${u2:${u3:${u4} x}}}",
];

/// Random values from pieces, mostly malformed somewhere.
fn malformed_value(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "$u1",
        "${u2}",
        "$(u3)",
        "$u4",
        "$",
        "${",
        "$(",
        "}",
        ")",
        " ",
        "x",
        "$$",
        "${u1 x}",
        "${u2?{$u3}:{$u4}}",
        "${u1?$u2}",
        "${u3:$u4}",
        "${{$u1} == {x}?{$u2}}",
        "${{$u2} =x= {a}}",
        "${{$u3} <level {1}?{$u4}}",
        "${u1?{$u2} junk}",
        "${}",
        "${ }",
        "${?$u3}",
        "$-",
    ];
    (0..rng.below(6) + 1).map(|_| rng.pick(PIECES)).collect()
}

fn check_scan_case(main: &str, master: &str, ctx: &str) -> bool {
    let out = postconf(main.as_bytes(), master.as_bytes(), &["-n"]);
    if !out.ok {
        return false;
    }
    let cf = MainCf::parse(main.as_bytes());
    let known = Known::try_new(&cf, master.as_bytes()).unwrap();
    let ctx = format!(
        "{ctx}\n--- main.cf\n{main}--- master.cf\n{master}--- stderr\n{}",
        out.stderr
    );
    let shown: BTreeSet<String> = known.shown_main().iter().map(|(n, _)| s(n)).collect();
    assert_eq!(shown, printed_names(&out.stdout), "printed names, {ctx}");
    let unused: BTreeSet<String> = known.unused_main().iter().map(|(n, _)| s(n)).collect();
    assert_eq!(
        unused,
        unused_names(&out.stderr, "main.cf"),
        "unused main.cf, {ctx}"
    );
    let unused_master: BTreeSet<String> =
        known.unused_master().iter().map(|(_, n, _)| s(n)).collect();
    assert_eq!(
        unused_master,
        unused_names(&out.stderr, "master.cf"),
        "unused master.cf, {ctx}"
    );
    true
}

#[test]
fn malformed_values_flag_names_met_before_the_error() {
    if !have_postconf() {
        return;
    }
    let defs = "u1 = 1\nu2 = 2\nu3 = 3\nu4 = 4\n";
    let mut compared = 0;
    for v in MALFORMED {
        // In an unknown main.cf parameter...
        let main = format!("{defs}foo = {v}\n");
        assert!(check_scan_case(&main, "", v), "postconf failed on {v:?}");
        // ...and in a master.cf -o of a user-defined one.
        let master = format!("relay unix - - n - - smtp\n  -o {{ bar = {v} }}\n");
        if check_scan_case(defs, &master, v) {
            compared += 1;
        }
    }
    let mut rng = Rng(0x0bad_5ca1_ab1e_0042);
    for case in 0..150 {
        let v = malformed_value(&mut rng);
        let main = format!("{defs}foo = {v}\n");
        if check_scan_case(&main, "", &format!("case {case}")) {
            compared += 1;
        }
    }
    assert!(compared > 140, "only {compared} cases compared");
}
