//! `MainCf::resolved` against the real `postconf -x`: every built-in
//! parameter's expanded value (main.cf value or default), for a few
//! main.cf files, must equal what postconf prints (after its whitespace
//! normalisation). The host-dependent inputs are pinned in main.cf
//! (`myhostname`, `mynetworks`), so the result does not depend on the
//! machine. Skips (loudly) without Postfix unless `DMS_REQUIRE_POSTFIX` is set.

mod common;

use common::{POSTCONF, have_postconf};
use std::fs;
use std::process::Command;

use postfix_maincf::MainCf;
use postfix_maincf::defaults::{Defaults, HostDefaults};
use postfix_maincf::postconf::normalize;

#[test]
fn every_builtin_expands_as_postconf_x() {
    if !have_postconf() {
        return;
    }
    let pinned = "myhostname = mail.example.com\nmynetworks = 127.0.0.0/8\n";
    for main in [
        pinned.to_string(),
        format!("{pinned}compatibility_level = 3.6\nrelayhost = [$mydomain]:587\n"),
        format!("{pinned}mydomain = example.net\nmyorigin = $mydomain\nqueue_directory = /q\n"),
        format!(
            "{pinned}compatibility_level = 2\nsmtpd_banner = $myhostname ESMTP ${{mail_name?{{$mail_name}}}}\n"
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("main.cf"), &main).unwrap();
        fs::write(dir.path().join("master.cf"), b"").unwrap();
        fs::File::options()
            .write(true)
            .open(dir.path().join("main.cf"))
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800))
            .unwrap();
        let out = Command::new(POSTCONF)
            .arg("-c")
            .arg(dir.path())
            .arg("-x")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cf = MainCf::parse(main.as_bytes());
        let defaults = Defaults::for_main_cf(HostDefaults::default(), &cf);
        let resolved = cf.resolved(&defaults);
        let mut compared = 0;
        for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let text = String::from_utf8_lossy(line);
            let (name, theirs) = match text.split_once(" = ") {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => (text.trim_end_matches(" =").to_string(), String::new()),
            };
            // Run-time values of the postconf process itself.
            if matches!(
                name.as_str(),
                "config_directory" | "process_id" | "process_name"
            ) {
                continue;
            }
            let ours = resolved
                .expanded(&name)
                .unwrap_or_else(|| panic!("{name}: unknown to us"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                String::from_utf8_lossy(&normalize(&ours)),
                theirs,
                "{name} with main.cf:\n{main}"
            );
            compared += 1;
        }
        assert!(compared > 800, "only {compared} parameters compared");
    }
}
