//! `postmap-lite` against the outputs the real postmap produced for every
//! texthash conformance case, plus its editing commands.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[path = "support/lite.rs"]
mod lite_support;

struct Out {
    code: u8,
    stdout: Vec<u8>,
    stderr: String,
}

fn lite(args: &[&[u8]], stdin: &[u8]) -> Out {
    let (code, stdout, stderr) = lite_support::run_lite(args, stdin);
    Out {
        code,
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tables");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".in") && n.matches('.').count() == 1
        })
        .collect();
    v.sort();
    assert!(v.len() >= 45);
    v
}

fn sibling(input: &Path, ext: &str) -> Vec<u8> {
    let s = input.to_string_lossy();
    fs::read(format!("{}.{ext}", s.strip_suffix(".in").unwrap())).unwrap_or_default()
}

/// Copies a case to `DIR/table` and returns the path as text.
fn install(case: &Path, dir: &Path) -> String {
    let p = dir.join("table");
    fs::copy(case, &p).unwrap();
    p.to_string_lossy().into_owned()
}

fn as_postmap(stderr: &str, path: &str) -> String {
    stderr
        .replace("postmap-lite: ", "postmap: ")
        .replace(path, "table")
}

#[test]
fn queries_and_warnings_match_postmap() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = install(&case, dir.path());
        let spec = format!("texthash:{path}");
        let queries = sibling(&case, "queries");
        let out = lite(&[b"-q", b"-", spec.as_bytes()], &queries);
        // postmap -q - prints key<TAB>value for found keys only.
        let want: Vec<u8> = sibling(&case, "expected")
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !l.ends_with(b"\t(not found)\n") && !l.ends_with(b"\t(not found)"))
            .flatten()
            .copied()
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&want),
            "{}",
            case.display()
        );
        assert_eq!(
            out.code,
            if want.is_empty() { 1 } else { 0 },
            "{}",
            case.display()
        );
        assert_eq!(
            as_postmap(&out.stderr, &path),
            String::from_utf8_lossy(&sibling(&case, "warnings")),
            "{}",
            case.display()
        );
    }
}

#[test]
fn dump_matches_postmap_s() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = install(&case, dir.path());
        let out = lite(&[b"-s", format!("texthash:{path}").as_bytes()], b"");
        let mut lines: Vec<&[u8]> = out.stdout.split_inclusive(|&b| b == b'\n').collect();
        lines.sort();
        assert_eq!(lines.concat(), sibling(&case, "dump"), "{}", case.display());
    }
}

#[test]
fn hash_type_warns_like_postmap_building_the_database() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = install(&case, dir.path());
        let out = lite(&[b"-s", format!("hash:{path}").as_bytes()], b"");
        assert_eq!(
            as_postmap(&out.stderr, &path),
            String::from_utf8_lossy(&sibling(&case, "hash.warnings")),
            "{}",
            case.display()
        );
    }
}

#[test]
fn single_query_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t");
    fs::write(&p, "Key value\n@only\n").unwrap();
    let spec = format!("lmdb:{}", p.display());
    let hit = lite(&[b"-q", b"KEY", spec.as_bytes()], b"");
    assert_eq!((hit.code, hit.stdout.as_slice()), (0, &b"value\n"[..]));
    let miss = lite(&[b"-q", b"@only", spec.as_bytes()], b"");
    assert_eq!((miss.code, miss.stdout.len()), (1, 0));
    let nofold = lite(&[b"-f", b"-q", b"key", spec.as_bytes()], b"");
    assert_eq!(nofold.code, 1);
    assert_eq!(lite(&[b"-q", b"k", b"regexp:/x"], b"").code, 1);
    assert_eq!(lite(&[b"-q"], b"").code, 2);
    assert_eq!(lite(&[b"--bogus"], b"").code, 2);
}

#[test]
fn echo_is_byte_identical() {
    for case in cases() {
        let out = lite(&[b"--echo", case.to_string_lossy().as_bytes()], b"");
        assert_eq!(out.stdout, fs::read(&case).unwrap(), "{}", case.display());
    }
}

#[test]
fn edits_are_in_place_and_keep_the_mode() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sasl_passwd");
    fs::write(&p, "# creds\r\n[smtp.a]:587\tuser:old\r\n@b.org x\r\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    let f = p.to_string_lossy().into_owned();

    assert_eq!(
        lite(
            &[b"--set", b"[SMTP.a]:587", b"user:new pass", f.as_bytes()],
            b""
        )
        .code,
        0
    );
    assert_eq!(
        lite(&[b"--set", b"@c.net", b"[relay]", f.as_bytes()], b"").code,
        0
    );
    assert_eq!(lite(&[b"--opt-out", b"@b.org", f.as_bytes()], b"").code, 0);
    assert_eq!(
        fs::read(&p).unwrap(),
        b"# creds\r\n[smtp.a]:587\tuser:new pass\r\n@b.org\r\n@c.net\t[relay]\r\n"
    );
    assert_eq!(
        lite(&[b"--no-fsync", b"--delete", b"@C.NET", f.as_bytes()], b"").code,
        0
    );
    assert_eq!(
        fs::read(&p).unwrap(),
        b"# creds\r\n[smtp.a]:587\tuser:new pass\r\n@b.org\r\n"
    );
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Refused input: exit 1, a clear message, the file untouched.
    let before = fs::read(&p).unwrap();
    let bad = lite(&[b"--set", b"a key", b"v", f.as_bytes()], b"");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("unquoted whitespace"), "{}", bad.stderr);
    let bad = lite(&[b"--set", b"k", b"two\nlines", f.as_bytes()], b"");
    assert_eq!(bad.code, 1);
    assert_eq!(fs::read(&p).unwrap(), before);
    // No stray temporary files are left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn edit_adds_a_missing_final_newline_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t");
    fs::write(&p, "a b").unwrap();
    let f = p.to_string_lossy().into_owned();
    assert_eq!(lite(&[b"--set", b"c", b"d", f.as_bytes()], b"").code, 0);
    assert_eq!(fs::read(&p).unwrap(), b"a b\nc d\n");
}

/// Concurrent edits of one table serialize on postconf's edit lock
/// (`FILE.tmp`): none is lost, and the lock file does not stay behind.
#[test]
fn concurrent_edits_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sasl_passwd");
    // Big enough that edits overlap in time.
    let mut base = String::from("# credentials\n");
    for i in 0..20_000 {
        base.push_str(&format!("filler{i}.example u:p\n"));
    }
    fs::write(&file, &base).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.to_str().unwrap().to_owned();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let path = &path;
            scope.spawn(move || {
                for i in (t * 3)..(t * 3 + 3) {
                    let key = format!("[relay{i}.example]:587");
                    let value = format!("user{i}:pw{i}");
                    let out = lite(
                        &[
                            b"--no-fsync",
                            b"--set",
                            key.as_bytes(),
                            value.as_bytes(),
                            path.as_bytes(),
                        ],
                        b"",
                    );
                    assert_eq!(out.code, 0, "{}", out.stderr);
                }
            });
        }
    });
    let text = fs::read_to_string(&file).unwrap();
    for i in 0..24 {
        assert!(
            text.contains(&format!("[relay{i}.example]:587 user{i}:pw{i}\n")),
            "{i}: {text}"
        );
    }
    assert_eq!(text.lines().count(), 20_025);
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("sasl_passwd")]);
}
