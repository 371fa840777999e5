//! The example binaries as processes, for the tests that need real
//! processes (`crash_safety`, `secrets`).
//!
//! Each binary is located next to the test's executable
//! (`target/<profile>/examples/NAME`); the three examples are brought up to
//! date once per test process with `cargo build --example …` (same target
//! dir and profile). `SETUP_RELAY_BIN`, `POSTMAP_LITE_BIN` and
//! `POSTCONF_LITE_BIN` override the paths.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const EXAMPLES: [&str; 3] = ["setup-relay", "postmap-lite", "postconf-lite"];

fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> → target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps")
        .to_path_buf()
}

fn build_all() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = profile_dir();
        let profile = profile_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target_dir = profile_dir.parent().expect("target dir");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args(["build", "-q", "--manifest-path"])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", target_dir);
        for e in EXAMPLES {
            cmd.args(["--example", e]);
        }
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            p => {
                cmd.args(["--profile", p]);
            }
        }
        if !cmd.status().map(|s| s.success()).unwrap_or(false) {
            eprintln!("WARNING: `cargo build --example …` failed; using the binaries as they are");
        }
    });
}

/// The path of example `name` (`setup-relay`, `postmap-lite` or
/// `postconf-lite`), built if needed.
pub fn bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_ascii_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    build_all();
    let path = profile_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{path:?} missing: run `cargo build --example {name}` or set {var}"
    );
    path
}

/// A process of example `name` with a clean environment (PATH and
/// `LC_ALL=C` only).
pub fn cmd(name: &str) -> Command {
    let mut c = Command::new(bin(name));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C");
    c
}
