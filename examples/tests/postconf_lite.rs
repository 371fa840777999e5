//! `postconf-lite` against what the real postconf printed for every
//! conformance case (`conformance/maincf`: `-n`, `-n -x`, `-h NAME`,
//! warnings; `conformance/maincf-edit`: the edited bytes and warnings), its
//! `--raw` output against Postfix's stored values (`.raw`), and a
//! differential run against the installed postconf on generated files.

#[path = "../../postfix-maincf/tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{POSTCONF, Rng, have_postconf};
use postfix_examples::postconf_lite::{Io, run};

struct Out {
    code: u8,
    stdout: Vec<u8>,
    stderr: String,
}

fn lite(args: &[&[u8]]) -> Out {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(
        &args,
        Io {
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
    );
    Out {
        code,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance")
        .join(dir);
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    v.sort();
    assert!(v.len() >= 18);
    v
}

/// A private config directory with `main` as main.cf and an empty master.cf.
fn confdir(main: &[u8]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("main.cf"), main).unwrap();
    fs::write(d.path().join("master.cf"), b"").unwrap();
    d
}

/// stderr as the vectors keep it: temp dir as DIR, program name
/// `postconf`, the randomly ordered "undefined parameter" and "unused
/// parameter" groups moved last and sorted.
fn normalize_stderr(stderr: &str, dir: &Path, prog: &str) -> String {
    let text = stderr
        .replace(&*dir.to_string_lossy(), "DIR")
        .replace(&format!("{prog}:"), "postconf:");
    let lines: Vec<&str> = text.lines().collect();
    let is = |l: &&str, what: &str| l.contains(what);
    let mut out: Vec<&str> = lines
        .iter()
        .filter(|l| !is(l, ": undefined parameter: ") && !is(l, ": unused parameter: "))
        .copied()
        .collect();
    for group in [": undefined parameter: ", ": unused parameter: "] {
        let mut g: Vec<&str> = lines.iter().filter(|l| is(l, group)).copied().collect();
        g.sort();
        out.extend(g);
    }
    out.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn show_matches_every_maincf_vector() {
    for case in cases("maincf") {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let d = confdir(&fs::read(&case).unwrap());
        let dir = d.path().to_string_lossy().into_owned();
        let sibling = |ext: &str| fs::read(case.with_extension(ext)).unwrap_or_default();

        let n = lite(&[b"-c", dir.as_bytes(), b"-n"]);
        assert_eq!(
            String::from_utf8_lossy(&n.stdout),
            String::from_utf8_lossy(&sibling("expected")),
            "{name}: -n"
        );
        let warnings = String::from_utf8_lossy(&sibling("warnings")).into_owned();
        assert_eq!(
            normalize_stderr(&n.stderr, d.path(), "postconf-lite"),
            warnings,
            "{name}: warnings"
        );
        assert_eq!(n.code == 0, !warnings.contains("fatal:"), "{name}: status");

        if case.with_extension("expanded").exists() {
            let x = lite(&[b"-c", dir.as_bytes(), b"-n", b"-x"]);
            assert_eq!(
                String::from_utf8_lossy(&x.stdout),
                String::from_utf8_lossy(&sibling("expanded")),
                "{name}: -n -x"
            );
        }

        // -h NAME for every name postconf shows with -n.
        let params = String::from_utf8_lossy(&sibling("params")).into_owned();
        let shown = String::from_utf8_lossy(&n.stdout).into_owned();
        for line in params.lines() {
            let (pname, value) = line.split_once('\t').unwrap();
            if !shown.lines().any(|l| l.split(" =").next() == Some(pname)) {
                continue;
            }
            let h = lite(&[b"-c", dir.as_bytes(), b"-h", pname.as_bytes()]);
            assert_eq!(
                String::from_utf8_lossy(&h.stdout),
                format!("{value}\n"),
                "{name}: -h {pname}"
            );
        }

        // --raw gives Postfix's own stored values.
        if case.with_extension("raw").exists() && n.code == 0 {
            let r = lite(&[b"-c", dir.as_bytes(), b"--raw"]);
            assert_eq!(
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&sibling("raw")),
                "{name}: --raw"
            );
        }
    }
}

#[test]
fn edits_match_every_maincf_edit_vector() {
    for case in cases("maincf-edit") {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let src = fs::read(&case).unwrap();
        let d = confdir(&src);
        let dir = d.path().to_string_lossy().into_owned();
        let argv: Vec<String> = fs::read_to_string(case.with_extension("args"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let mut args: Vec<&[u8]> = vec![b"-c", dir.as_bytes()];
        args.extend(argv.iter().map(|a| a.as_bytes()));
        let out = lite(&args);
        let expected_warnings = fs::read_to_string(case.with_extension("warnings")).unwrap();
        let said = format!(
            "{}exit status: {}\n",
            out.stderr
                .replace(&dir, "DIR")
                .replace("postconf-lite:", "postconf:"),
            out.code
        );
        assert_eq!(said, expected_warnings, "{name}");
        let result = fs::read(case.with_extension("result")).unwrap();
        let ours = fs::read(d.path().join("main.cf")).unwrap();
        // The deliberate differences (see postfix_maincf::edit), derived
        // from postconf's own bytes.
        let expected = if !src.is_empty()
            && !src.ends_with(b"\n")
            && result.len() > src.len()
            && result.starts_with(&src)
        {
            [&src[..], b"\n", &result[src.len()..]].concat()
        } else if src.windows(2).any(|w| w == b"\r\n") {
            let mut e = Vec::new();
            for (i, &b) in result.iter().enumerate() {
                if b == b'\n' && (i == 0 || result[i - 1] != b'\r') {
                    e.push(b'\r');
                }
                e.push(b);
            }
            e
        } else {
            result
        };
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        assert!(
            !d.path().join("main.cf.tmp").exists(),
            "{name}: temp file left"
        );
    }
}

#[test]
fn edit_keeps_mode_and_refuses_missing_file() {
    use std::os::unix::fs::PermissionsExt;
    let d = confdir(b"a = 1\n");
    let main = d.path().join("main.cf");
    fs::set_permissions(&main, fs::Permissions::from_mode(0o640)).unwrap();
    let dir = d.path().to_string_lossy().into_owned();
    let out = lite(&[b"-c", dir.as_bytes(), b"a=2", b"b = 3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(fs::read(&main).unwrap(), b"a = 2\nb = 3\n");
    assert_eq!(
        fs::metadata(&main).unwrap().permissions().mode() & 0o777,
        0o640
    );

    fs::remove_file(&main).unwrap();
    let out = lite(&[b"-c", dir.as_bytes(), b"-e", b"a=2"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!(
            "postconf-lite: fatal: open {dir}/main.cf for reading: No such file or directory\n"
        )
    );
    assert!(!main.exists());
    assert!(!d.path().join("main.cf.tmp").exists());
}

#[test]
fn usage_errors() {
    let d = confdir(b"a = 1\n");
    let dir = d.path().to_string_lossy().into_owned();
    for (args, message) in [
        (vec!["-X", "a=b"], "specify one of -e -X"),
        (vec!["-e", "-n", "a=b"], "specify one of -e -n"),
        (vec!["-x", "-#", "a"], "specify one of -# -x"),
        (vec!["-q"], "invalid option -- 'q'"),
    ] {
        let mut a: Vec<&[u8]> = vec![b"-c", dir.as_bytes()];
        a.extend(args.iter().map(|s| s.as_bytes()));
        let out = lite(&a);
        assert_eq!(out.code, 1);
        assert_eq!(
            out.stderr,
            format!("postconf-lite: fatal: {message}\n"),
            "{args:?}"
        );
    }
    assert_eq!(fs::read(d.path().join("main.cf")).unwrap(), b"a = 1\n");
}

// ------------------------------------------------------------ differential

const NAMES: &[&str] = &[
    "relayhost",
    "mydomain",
    "myorigin",
    "mydestination",
    "smtpd_banner",
    "smtp_sasl_password_maps",
    "smtp_tls_security_level",
    "compatibility_level",
    "my_var",
    "other_var",
    "unused_var",
    "x.y",
];
const VALUES: &[&str] = &[
    "",
    "example.com",
    "$mydomain",
    "${my_var}",
    "$(other_var)",
    "mail.$mydomain, localhost",
    "${my_var?{yes $other_var}:{no}}",
    "${other_var:fallback}",
    "${{$compatibility_level} <level {3.6} ? {old} : {new}}",
    "${{$my_var} == {1} ? {one}}",
    "inline:{ {a = b}, c=d }",
    "$undefined_thing",
    "$$literal",
    "a\tb   c",
    "3.6",
    "1",
];

fn random_main_cf(rng: &mut Rng) -> Vec<u8> {
    let mut text = String::new();
    for _ in 0..1 + rng.below(8) {
        match rng.below(10) {
            0 => text.push_str("# comment\n"),
            1 => text.push_str(&format!("    continued {}\n", rng.pick(VALUES))),
            _ => text.push_str(&format!("{} = {}\n", rng.pick(NAMES), rng.pick(VALUES))),
        }
    }
    text.into_bytes()
}

/// postconf's stdout (without the `config_directory` line), stderr, and
/// success; `None` when postconf crashed (it does on mutual recursion
/// through relational operands, where we stop with a fatal error).
fn postconf(dir: &Path, args: &[&str]) -> Option<(Vec<u8>, String, bool)> {
    use std::os::unix::process::ExitStatusExt;
    let out = Command::new(POSTCONF)
        .arg("-c")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    if out.status.signal().is_some() {
        return None;
    }
    let stdout: Vec<u8> = out
        .stdout
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"config_directory = "))
        .flatten()
        .copied()
        .collect();
    Some((
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    ))
}

/// One generated case: every flag set compared. Returns (compared, crashed).
fn compare_case(case: usize, main: &[u8]) -> (usize, usize) {
    let (mut compared, mut crashed) = (0, 0);
    let d = confdir(main);
    // Postfix re-reads a main.cf modified within the last second.
    fs::File::options()
        .write(true)
        .open(d.path().join("main.cf"))
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800))
        .unwrap();
    let dir = d.path().to_string_lossy().into_owned();
    let shown: Vec<&str> = NAMES.iter().copied().filter(|n| !n.contains('.')).collect();
    for flags in [
        vec!["-n"],
        vec!["-n", "-x"],
        [vec!["-h"], shown.clone()].concat(),
    ] {
        let mut args: Vec<&[u8]> = vec![b"-c", dir.as_bytes()];
        args.extend(flags.iter().map(|f| f.as_bytes()));
        let ours = lite(&args);
        let Some((stdout, stderr, ok)) = postconf(d.path(), &flags) else {
            assert_eq!(ours.code, 1, "case {case}: postconf crashed, we must fail");
            assert!(ours.stderr.contains("fatal: "), "case {case}");
            crashed += 1;
            continue;
        };
        let ctx = format!("case {case} {flags:?}\n{}", String::from_utf8_lossy(main));
        assert_eq!(ours.code == 0, ok, "{ctx}\npostconf said {stderr}");
        if !ok {
            // With more than one problem, which one postconf reports first
            // depends on its hash tables' order, which changes from run to
            // run (the vectors pin down the single-problem messages).
            assert!(ours.stdout.is_empty(), "{ctx}");
            assert!(
                ours.stderr
                    .lines()
                    .last()
                    .is_some_and(|l| l.starts_with("postconf-lite: fatal: ")),
                "{ctx}\n{}",
                ours.stderr
            );
            compared += 1;
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&stdout),
            "{ctx}"
        );
        assert_eq!(
            normalize_stderr(&ours.stderr, d.path(), "postconf-lite"),
            normalize_stderr(&stderr, d.path(), POSTCONF),
            "{ctx}"
        );
        compared += 1;
    }
    (compared, crashed)
}

#[test]
fn show_matches_postconf_on_generated_files() {
    if !have_postconf() {
        return;
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let cases: Vec<Vec<u8>> = (0..300).map(|_| random_main_cf(&mut rng)).collect();
    // postconf sleeps a second before exiting on a fatal error: run the
    // cases on many threads (they mostly wait).
    let chunks: Vec<Vec<(usize, &Vec<u8>)>> = (0..24)
        .map(|t| {
            cases
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 24 == t)
                .collect()
        })
        .collect();
    let (compared, crashed) = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(i, m)| compare_case(*i, m))
                        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    assert!(compared > 600, "only {compared} runs compared");
    eprintln!("{compared} postconf runs compared, {crashed} where postconf crashed");
}

/// A main.cf of about 2.5 MB (large enough for every large-file path:
/// `MainCf::load`'s huge-page read, the two-thread reference scan and the
/// two-thread `-n` printing), compared with postconf: user parameters
/// referenced from others (as `$x`, `${x}` and `$(x)`), unreferenced ones
/// (warnings), built-ins, redefinitions (override warnings), continuation
/// lines, comments and an undefined reference.
#[test]
fn show_matches_postconf_on_a_large_file() {
    if !have_postconf() {
        return;
    }
    let mut text = String::new();
    let mut i = 0;
    while text.len() < (2 << 20) + (512 << 10) {
        match i % 13 {
            0 => text.push_str(&format!("# block {i}\n")),
            1 => text.push_str(&format!("relayhost = [relay{i}.example.net]:587\n")),
            2 => text.push_str(&format!("unreferenced_{i} = value {i}  with   spaces\n")),
            3 => text.push_str(&format!(
                "joined_{i} = first part {i}\n    second part\n\tthird part\n"
            )),
            4 => text.push_str(&format!("smtp_tls_note_{i} = $(user_{})\n", i - 1)),
            5 => text.push_str(&format!("user_{} = redefined {i}\n", i - 2)),
            6 if i % 1001 == 6 => text.push_str("refers_nowhere = $no_such_parameter_at_all\n"),
            _ => text.push_str(&format!(
                "user_{i} = ${{user_{}}}, ${{joined_{}}} $user_{} list item {i}\n",
                i.max(1) - 1,
                i / 13 * 13 + 3,
                i.max(2) - 2
            )),
        }
        i += 1;
    }
    text.push_str("mynetworks = $user_100 127.0.0.0/8\n");
    let (compared, crashed) = compare_case(0, text.as_bytes());
    assert_eq!((compared, crashed), (3, 0));
}
