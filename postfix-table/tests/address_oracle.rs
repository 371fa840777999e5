//! The address search order (`postfix_table::address::search_keys`) against
//! the real Postfix: the trivial-rewrite daemon, run stand-alone with
//! verbose logging, prints every `sender_dependent_relayhost_maps` key it
//! tries. Skips loudly without Postfix unless `DMS_REQUIRE_POSTFIX` is set.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use postfix_table::address::{AddressLookup, search_keys};

const DAEMON: &str = "/usr/lib/postfix/sbin/trivial-rewrite";

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
        "\n*** {DAEMON} not found: address-order oracle test SKIPPED (apt-get install postfix) ***\n"
    );
    false
}

fn cold(path: &Path) {
    // Postfix re-reads files modified within the last second, sleeping each time.
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// The keys trivial-rewrite tries for `sender`, in order.
fn postfix_keys(dir: &Path, sender: &str) -> Vec<String> {
    let mut child = Command::new(DAEMON)
        .args(["-S", "-V", "-v"])
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
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .filter_map(|l| {
            l.split("maps_find: sender_dependent_relayhost_maps: ")
                .nth(1)
        })
        .map(|rest| rest.strip_suffix(": not found").unwrap_or(rest).to_string())
        .collect()
}

#[test]
fn search_order_matches_trivial_rewrite() {
    if !have_postfix() {
        return;
    }
    let senders = [
        "user@example.com",
        "user+ext@Example.COM",
        "a+b+c@example.com",
        "+lead@example.com",
        "user+ext@local.test",
        "user@LOCAL.test",
        "user+ext@origin.test",
        "postmaster+x@example.com",
        "owner-list@example.com",
        "list-request@example.com",
        "a-b+c@example.com",
        "john doe@example.com",
        "bare",
        "bare+ext",
        "",
    ];
    let mut compared = 0;
    for delimiter in ["+", "-", "+-", ""] {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("map");
        fs::write(&map, "nothing@matches.invalid x\n").unwrap();
        let main_cf = dir.path().join("main.cf");
        fs::write(
            &main_cf,
            format!(
                "compatibility_level = 3.6\nsender_dependent_relayhost_maps = texthash:{}\n\
                 recipient_delimiter = {delimiter}\nmydestination = local.test\nmyorigin = origin.test\n\
                 myhostname = host.test\n",
                map.display()
            ),
        )
        .unwrap();
        fs::write(dir.path().join("master.cf"), "").unwrap();
        for f in ["map", "main.cf", "master.cf"] {
            cold(&dir.path().join(f));
        }
        let local =
            |d: &str| d.eq_ignore_ascii_case("local.test") || d.eq_ignore_ascii_case("origin.test");
        let opts = AddressLookup {
            recipient_delimiter: delimiter,
            is_local: &local,
            ..AddressLookup::default()
        };
        for sender in senders {
            let theirs = postfix_keys(dir.path(), sender);
            assert!(!theirs.is_empty(), "no keys logged for {sender:?}");
            assert_eq!(
                search_keys(sender, &opts),
                theirs,
                "sender {sender:?}, delimiter {delimiter:?}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 60);
}
