//! `postmap-lite` on `inline:{…}` and `static:…`: the recorded vectors
//! (`conformance/tables/*.inline.in`, `*.static.in`), answers recorded from
//! postmap 3.7.11, and a differential run against the real `postmap` (`-q
//! KEY`, `-q -`, `-s`: stdout, stderr and exit status) on generated
//! references. Without `/usr/sbin/postmap` the differential part says so
//! loudly and passes, unless `DMS_REQUIRE_POSTFIX` is set, which makes it
//! fail.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "support/lite.rs"]
mod lite_support;

const POSTMAP: &str = "/usr/sbin/postmap";

#[derive(Debug, PartialEq)]
struct Out {
    code: u8,
    stdout: String,
    stderr: String,
}

fn lite(args: &[&[u8]], stdin: &[u8]) -> Out {
    let (code, stdout, stderr) = lite_support::run_lite(args, stdin);
    Out {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).replace("postmap-lite: ", "postmap: "),
    }
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".inline.in") || n.ends_with(".static.in")
        })
        .collect();
    v.sort();
    assert!(v.len() >= 4, "inline/static vectors missing");
    v
}

fn sibling(input: &Path, ext: &str) -> String {
    let s = input.to_string_lossy();
    fs::read_to_string(format!("{}.{ext}", s.strip_suffix(".in").unwrap())).unwrap()
}

#[test]
fn vectors_q_dash_and_each_key() {
    for case in cases() {
        let spec = fs::read_to_string(&case).unwrap();
        let spec = spec.trim_end_matches('\n');
        let queries = sibling(&case, "queries");
        let expected = sibling(&case, "expected");
        // -q -: key<TAB>value for found keys; the .warnings file is exactly
        // this run's stderr.
        let want: String = expected
            .lines()
            .filter(|l| !l.ends_with("\t(not found)"))
            .map(|l| format!("{l}\n"))
            .collect();
        let out = lite(&[b"-q", b"-", spec.as_bytes()], queries.as_bytes());
        assert_eq!(out.stdout, want, "{case:?}");
        assert_eq!(out.stderr, sibling(&case, "warnings"), "{case:?}");
        assert_eq!(out.code, if want.is_empty() { 1 } else { 0 }, "{case:?}");
        // -q KEY, one run per key, as the .expected file was made.
        for line in expected.lines() {
            let (key, value) = line.split_once('\t').unwrap();
            let out = lite(&[b"-q", key.as_bytes(), spec.as_bytes()], b"");
            if value == "(not found)" {
                assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{case:?} {key}");
            } else {
                assert_eq!(out.code, 0, "{case:?} {key}");
                assert_eq!(out.stdout, format!("{value}\n"), "{case:?} {key}");
            }
        }
    }
}

/// Arguments, stdin, exit status, stdout, stderr.
type Case<'a> = (&'a [&'a [u8]], &'a [u8], u8, &'a str, &'a str);

/// Answers recorded from `postmap -c DIR …` (Postfix 3.7.11,
/// `compatibility_level = 3.6`).
#[test]
fn recorded_postmap_answers() {
    let cases: &[Case<'_>] = &[
        (
            &[b"-q", b"key", b"inline:{ { key = } }"],
            b"",
            0,
            "\n",
            "postmap: warning: table inline:{ { key = } }: key key: empty string result is not allowed\n\
             postmap: warning: table inline:{ { key = } } should return NO RESULT in case of NOT FOUND\n",
        ),
        (
            &[b"-s", b"inline:{ a=1, B=2, a=3 }"],
            b"",
            0,
            "a\t3\nb\t2\n",
            "",
        ),
        (
            &[b"-f", b"-s", b"inline:{A=1,b=2}"],
            b"",
            0,
            "A\t1\nb\t2\n",
            "",
        ),
        (
            &[b"-s", b"inline:{{a=},b=2}"],
            b"",
            0,
            "a\t\nb\t2\n",
            "postmap: warning: table inline:{{a=},b=2}: key a: empty string result is not allowed\n\
             postmap: warning: table inline:{{a=},b=2} should return NO RESULT in case of NOT FOUND\n",
        ),
        (
            &[b"-s", b"static:foo"],
            b"",
            1,
            "",
            "postmap: fatal: table static:foo: sequence operation is not supported\n",
        ),
        (
            &[b"-q", b"x", b"static:"],
            b"",
            1,
            "",
            "postmap: fatal: open dictionary: expecting \"type:name\" form instead of \"static:\"\n",
        ),
        (
            &[b"-q", b"x", b"static:{}"],
            b"",
            0,
            "\n",
            "postmap: warning: table static:{}: key x: empty string result is not allowed\n\
             postmap: warning: table static:{} should return NO RESULT in case of NOT FOUND\n",
        ),
        (
            &[b"-q", b"x", b"static:{a}b"],
            b"",
            1,
            "",
            "postmap: fatal: bad static:name syntax: syntax error after '}' in \"{a}b\"\n",
        ),
        (
            &[b"-q", b"x", b"inline:{ a=1 "],
            b"",
            1,
            "",
            "postmap: fatal: bad syntax: \"inline:{ a=1 \"; need \"inline:{name=value...}\"\n",
        ),
        (
            &[b"-q", b"x", b"inline:{ b = y }"],
            b"",
            1,
            "",
            "postmap: fatal: missing '=' after attribute name: \"inline:{ b = y }\"; need \"inline:{name=value...}\"\n",
        ),
        (&[b"-q", b"", b"inline:{ =x }"], b"", 0, "x\n", ""),
        (&[b"-f", b"-q", b"key", b"inline:{KEY=1}"], b"", 1, "", ""),
        (
            &[b"-U", b"-q", "xÉ".as_bytes(), "inline:{xé=1}".as_bytes()],
            b"",
            1,
            "",
            "",
        ),
        (
            &[b"-q", b"STRASSE", "inline:{straße=1}".as_bytes()],
            b"",
            0,
            "1\n",
            "",
        ),
        (
            &[b"-q", b"-", b"inline:{xe=1}"],
            b"x\xffy\nxe\n",
            0,
            "xe\t1\n",
            "postmap: warning: inline:{xe=1}: non-UTF-8 key \"x?y\": malformed UTF-8 or invalid codepoint\n",
        ),
        (
            &[b"-q", b"x", b"inline:{x\xffy=1}"],
            b"",
            1,
            "",
            "postmap: fatal: bad UTF-8 syntax: \"inline:{x?y=1}\"; need \"inline:{name=value...}\"\n",
        ),
        // The table is opened at the first key: no keys, no error.
        (&[b"-q", b"-", b"inline:{ a=1 "], b"", 1, "", ""),
    ];
    for (args, stdin, code, stdout, stderr) in cases {
        let out = lite(args, stdin);
        let shown: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        assert_eq!(
            out,
            Out {
                code: *code,
                stdout: (*stdout).to_owned(),
                stderr: (*stderr).to_owned()
            },
            "{shown:?}"
        );
    }
}

// ---------------------------------------------------------------- oracle

fn postmap_available() -> bool {
    if Path::new(POSTMAP).exists() {
        return true;
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!("{POSTMAP} not found and DMS_REQUIRE_POSTFIX is set: apt-get install postfix");
    }
    eprintln!(
        "\n**********\npostmap not found: postmap-lite inline differential test SKIPPED; \
         apt-get install postfix to run it (set DMS_REQUIRE_POSTFIX=1 to fail instead)\n**********\n"
    );
    false
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

fn gen_spec(r: &mut Rng) -> String {
    if r.next().is_multiple_of(5) {
        let body = r.pick(&["x", "{ a b }", "{}", "{a}b", "", "[h]:25", "{ x"]);
        return format!("static:{body}");
    }
    let mut body = String::new();
    for _ in 0..1 + r.next() % 5 {
        body.push_str(r.pick(&[" ", ",", ", ", ""]));
        body.push_str(r.pick(&[
            "a=1",
            "A=2",
            "{ a = x y }",
            "{b=}",
            "=e",
            "É=3",
            "é=4",
            "ß=5",
            "{ \"q r\" = 6 }",
            "k=v=w",
            "{k}",
            "{ k = {v} }",
            "\"a\"=1",
            "a",
        ]));
    }
    format!("inline:{{{body}}}")
}

/// Starts postmap; a fatal error costs it a one-second sleep, so the runs
/// are started together and collected afterwards.
fn postmap_start(conf: &Path, args: &[String], stdin: &[u8]) -> std::process::Child {
    let mut child = Command::new(POSTMAP)
        .arg("-c")
        .arg(conf)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A small write: fits the pipe buffer even if postmap died.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child
}

fn postmap_finish(child: std::process::Child) -> Out {
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap() as u8,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn sorted_lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    v
}

#[test]
fn differential_against_postmap() {
    if !postmap_available() {
        return;
    }
    let conf = tempfile::tempdir().unwrap();
    fs::write(conf.path().join("main.cf"), "compatibility_level = 3.6\n").unwrap();
    fs::write(conf.path().join("master.cf"), "").unwrap();
    assert!(
        Command::new("touch")
            .args(["-d", "2000-01-01 00:00:00"])
            .arg(conf.path().join("main.cf"))
            .arg(conf.path().join("master.cf"))
            .status()
            .unwrap()
            .success()
    );
    let keys = "a\nA\nb\nk\n\nÉ\nSS\n\"q r\"\n\"a\"\nabsent\ne\n";
    let mut r = Rng(0x51ED_2701_9A3C_44B1);
    let mut jobs: Vec<Vec<String>> = Vec::new();
    for _ in 0..60 {
        let spec = gen_spec(&mut r);
        for args in [["-q", "-"].as_slice(), &["-q", "A"], &["-s"]] {
            let mut a: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
            a.push(spec.clone());
            jobs.push(a);
        }
    }
    let (mut runs, mut fatal) = (0, 0);
    for batch in jobs.chunks(60) {
        let children: Vec<_> = batch
            .iter()
            .map(|a| postmap_start(conf.path(), a, keys.as_bytes()))
            .collect();
        for (args, child) in batch.iter().zip(children) {
            let theirs = postmap_finish(child);
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let ours = lite(&argv, keys.as_bytes());
            if args[0] == "-s" {
                // postmap -s lists in a randomly seeded hash order.
                assert_eq!(
                    (ours.code, sorted_lines(&ours.stdout)),
                    (theirs.code, sorted_lines(&theirs.stdout)),
                    "{args:?}"
                );
                assert_eq!(
                    sorted_lines(&ours.stderr),
                    sorted_lines(&theirs.stderr),
                    "{args:?}"
                );
            } else {
                assert_eq!(ours, theirs, "{args:?}");
            }
            fatal += usize::from(theirs.stderr.contains("fatal:"));
            runs += 1;
        }
    }
    eprintln!("postmap-lite inline/static: {runs} runs identical to postmap ({fatal} fatal)");
    assert!(
        fatal > 5 && fatal < runs / 2,
        "poor mix: {fatal} fatal of {runs}"
    );
}
