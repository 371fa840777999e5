//! Differential test of the stored values against Postfix's own loader:
//! random main.cf files (continuations, comments inside them, CR, NUL, VT,
//! FF, non-UTF-8, no final newline, duplicates) are loaded by
//! `conformance/tools/maincf-raw.c` (libpostfix-util's `dict_load_file_xt`,
//! what every daemon uses) and by us; the values must be identical bytes.
//!
//! The tool is built here with gcc, or taken from `$MAINCF_RAW`. Skips
//! (loudly) when neither works, unless `DMS_REQUIRE_POSTFIX` is set.

mod common;

use common::{Rng, escape};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use postfix_maincf::MainCf;

fn tool(dir: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MAINCF_RAW") {
        return Some(PathBuf::from(p));
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/tools/maincf-raw.c");
    let out = dir.join("maincf-raw");
    let built = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .args([
            "-L/usr/lib/postfix",
            "-lpostfix-util",
            "-Wl,-rpath,/usr/lib/postfix",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if built {
        return Some(out);
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!("cannot build maincf-raw (needs gcc and /usr/lib/postfix/libpostfix-util.so)");
    }
    eprintln!("\n**********\nSKIPPED: cannot build conformance/tools/maincf-raw.c\n**********\n");
    None
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"a",
        b"b",
        b"name_1",
        b" = ",
        b"=",
        b" ",
        b"\t",
        b"\r",
        b"\x0b",
        b"\x0c",
        b"\0",
        b"#",
        b"\n",
        b"\n",
        b"\n  ",
        b"\n\t",
        b"\n# c\n ",
        b"\n\n ",
        b"value",
        b"\xe9\xff",
        b"$x",
        b"{ }",
        b"\r\n",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.below(40) {
        out.extend_from_slice(PIECES[rng.below(PIECES.len())]);
    }
    out
}

#[test]
fn stored_values_match_libpostfix_util() {
    let dir = tempfile::tempdir().unwrap();
    let Some(tool) = tool(dir.path()) else {
        return;
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let file = dir.path().join("main.cf");
    let mut compared = 0;
    for case in 0..1500 {
        let bytes = random_bytes(&mut rng);
        let cf = MainCf::parse(&bytes);
        if cf.diagnostics().iter().any(|d| d.is_fatal()) {
            // Postfix's loader exits on these; covered by the vectors.
            continue;
        }
        fs::write(&file, &bytes).unwrap();
        // Postfix's loader waits for a file modified within the last
        // second to settle: make it old.
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800))
            .unwrap();
        let out = Command::new(&tool).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "case {case}: {:?}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: String = cf
            .values()
            .iter()
            .map(|(k, v)| format!("{}\t{}\n", escape(k), escape(v)))
            .collect();
        assert_eq!(
            ours,
            String::from_utf8_lossy(&out.stdout),
            "case {case}: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        compared += 1;
    }
    assert!(compared > 100, "only {compared} cases compared");
    eprintln!("{compared} random main.cf files compared with libpostfix-util");
}
