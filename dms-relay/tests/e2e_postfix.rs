//! End-to-end proof against the real Postfix: for every sender, the relay
//! that received the mail and the SASL credentials Postfix presented must
//! equal the prediction ([`predict`]).
//!
//! # What one scenario does
//!
//! 1. **Fake relays.** `tests/e2e/fake_relay.py` (Python 3 stdlib) listens
//!    on three loopback addresses, each on a free port the kernel picks
//!    (so parallel tests never collide): relay `A` on `127.0.0.31`
//!    (offers `AUTH LOGIN` only), `B` on `127.0.0.32` (`AUTH PLAIN LOGIN`),
//!    `C` on `127.0.0.33` (`AUTH PLAIN` only). Distinct addresses make
//!    Postfix's SASL lookup by server host name (`127.0.0.3x`) differ per
//!    relay; Linux routes all of 127/8 to `lo` (`127.0.0.11` is avoided: it
//!    is Docker's embedded DNS address). Each server speaks ESMTP, offers
//!    STARTTLS with a throwaway self-signed certificate made by
//!    `openssl req -x509` at test time, offers AUTH only after STARTTLS,
//!    accepts any credentials and every message, and writes one JSON line
//!    per message (listening address, TLS, AUTH mechanism, identity and
//!    password, MAIL FROM, RCPT TO). It dies when the test's pipe to its
//!    stdin closes, so it cannot outlive the test.
//! 2. **Configuration through our code.** A fresh DMS config directory gets
//!    the scenario's `setup relay` commands ([`ConfigDir::apply`] with
//!    [`store::Command`]), optionally hand-written lines and a
//!    `postfix-accounts.cf` (the managed domains); the ENV is
//!    [`RelayEnv::from_pairs`]. Then exactly what `setup-relay apply` does:
//!    [`render::managed_domains`], [`render::render_with`] with the private
//!    instance's directory, and [`apply`] into it.
//! 3. **A private Postfix instance** in a temp dir (mode 0755 so the
//!    `postfix` user can reach its queue): `etc/main.cf` and `etc/master.cf`
//!    written from scratch (below), `queue/`, `data/` (owned by `postfix`),
//!    `maillog` (`maillog_file`, via the `postlog` service). No `smtpd`
//!    listener at all: mail enters through `sendmail -C etc` (postdrop into
//!    the private `maildrop`, then `pickup`). Every service has
//!    `chroot = n`. The stock-DMS relay parameters `relayhost =` and
//!    `smtp_tls_security_level = may` are in the base main.cf; `apply`
//!    edits the relay parameters. `smtp_host_lookup = native` and
//!    `smtp_dns_support_level = disabled` (no DNS), `inet_protocols = ipv4`,
//!    `mydestination =` (everything relays), `recipient_delimiter = +` (as
//!    in DMS), retries every second. Started with `postfix -c etc start`,
//!    stopped with `postfix -c etc stop` in a drop guard (then the master's
//!    pid from `queue/pid/master.pid` is killed if it is still alive, and
//!    the temp dir is removed), so a failing test cleans up too. Set
//!    `DMS_E2E_KEEP=1` to keep the temp dir, `DMS_E2E_VERBOSE=1` to run
//!    `smtp` and `trivial-rewrite` with `-v` (the maillog then shows every
//!    `maps_find` key).
//! 4. **Mail** from each sender: `sendmail -C etc -f SENDER -i -- rcpt-N@remote.test`
//!    (`-f '<>'` for the null sender); recipient `N` identifies the sender
//!    in the relay log. The test waits (at most [`DELIVERY_DEADLINE`]) until
//!    every message has reached a relay, failing early on a bounce.
//! 5. **Comparison** per sender: the relay address and `(user, password)`
//!    the relay saw must equal [`predict`] (`dms_relay::explain` on the
//!    instance's configuration) and also [`intended`], the result the scenario's
//!    author wrote next to the sender; MAIL FROM must be the sender and AUTH
//!    must only happen over TLS. One table for all senders is printed; any
//!    difference fails with the table, the rendered files, `postconf -n`,
//!    the Postfix log and the relay log.
//!
//! # The alternate configuration directory, as root
//!
//! Postfix insists that a non-default config directory (`MAIL_CONFIG`, set
//! by `-c`/`-C`) be listed in the default main.cf's
//! `alternate_config_directories` only for a set-gid program run by an
//! ordinary user: `mail_conf_suck()` calls `mail_conf_checkdir()` when the
//! directory is non-default, `safe_getenv()` refuses the environment (set-gid
//! process) *and* `geteuid() != 0`. As root (CI) the effective uid is 0 for
//! every program, including the set-gid `postdrop` that `sendmail` runs, so
//! `postfix -c DIR` and `sendmail -C DIR` use DIR with no change to
//! `/etc/postfix` (checked: the message lands in the private `maildrop`,
//! nothing in `/var/spool/postfix`). The test therefore requires root; it
//! asserts that `/etc/postfix/main.cf` and `master.cf` are byte-identical
//! before and after. `postfix start` runs `postfix-script check`, whose
//! `post-install create-missing` creates the private queue's subdirectories;
//! it reads `/etc/postfix/postfix-files` (`meta_directory`) but writes
//! nothing there (checked: no mtime in `/etc/postfix` changes).
//!
//! # Gating
//!
//! Needs root, Postfix (`/usr/sbin/postfix`, `/usr/sbin/sendmail`, the
//! daemons in `/usr/lib/postfix/sbin`, user `postfix`, group `postdrop`),
//! Cyrus SASL's PLAIN/LOGIN client plugins (Debian `libsasl2-modules`),
//! `python3` and `openssl`. Without them the test prints a loud SKIPPED
//! line, unless `DMS_REQUIRE_POSTFIX=1` (CI), where it fails.
//!
//! # Scenarios
//!
//! See [`relaymap_with_default_relay_and_per_sender_credentials`],
//! [`relay_host_env_for_managed_domains`] and
//! [`no_credentials_means_no_auth`]; each is its own `#[test]` with its own
//! relays and Postfix instance (about 5–10 s each).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use dms_relay::apply::apply;
use dms_relay::env::RelayEnv;
use dms_relay::render::{self, RenderOptions, Sources};
use dms_relay::store::{self, ConfigDir};

const POSTFIX: &str = "/usr/sbin/postfix";
const POSTCONF: &str = "/usr/sbin/postconf";
const SENDMAIL: &str = "/usr/sbin/sendmail";
const DAEMONS: &str = "/usr/lib/postfix/sbin";
/// The PATH of every Postfix command we run (postfix-script needs it).
const SYS_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// How long to wait for all deliveries of one scenario.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(120);
/// How long one command (`postfix start`, `sendmail`, `openssl`) may take.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);
/// How long the fake relays may take to bind.
const RELAY_START_DEADLINE: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------ gating

/// The tools found, or `None` (skipped) after saying so loudly. Panics when
/// something is missing and `DMS_REQUIRE_POSTFIX=1`.
struct Tools {
    python: PathBuf,
    openssl: PathBuf,
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn find_tool(name: &str, preferred: &[&str]) -> Option<PathBuf> {
    for p in preferred {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::env::split_paths(SYS_PATH))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn file_has_line_starting(path: &str, prefix: &str) -> bool {
    fs::read_to_string(path)
        .map(|t| t.lines().any(|l| l.starts_with(prefix)))
        .unwrap_or(false)
}

/// Cyrus SASL's client plugin for `mech` (`/usr/lib/<triplet>/sasl2/lib<mech>.so*`).
fn sasl_plugin_present(mech: &str) -> bool {
    let pattern = format!("lib{mech}.so");
    let mut dirs = vec![PathBuf::from("/usr/lib/sasl2")];
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path().join("sasl2")));
    }
    dirs.iter()
        .filter_map(|d| fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(&pattern))
}

/// `postfix`'s uid and gid from `/etc/passwd`.
fn postfix_ids() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postfix:"))?;
    let mut f = line.split(':').skip(2);
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

/// Where the instance's temp dir goes: the usual temp dir when the
/// `postfix` user can reach it (every ancestor searchable by others),
/// otherwise `/tmp`.
fn temp_base() -> PathBuf {
    let base = std::env::temp_dir();
    let reachable = base.ancestors().all(|a| {
        fs::metadata(a)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    });
    if reachable {
        base
    } else {
        PathBuf::from("/tmp")
    }
}

fn prerequisites(test: &str) -> Option<Tools> {
    let mut missing = Vec::new();
    if effective_uid() != Some(0) {
        missing.push("root (the private Postfix instance must be started as root)".to_string());
    }
    for p in [POSTFIX, POSTCONF, SENDMAIL] {
        if !Path::new(p).is_file() {
            missing.push(p.to_string());
        }
    }
    for d in [
        "master",
        "pickup",
        "cleanup",
        "qmgr",
        "smtp",
        "trivial-rewrite",
        "postlogd",
    ] {
        let p = Path::new(DAEMONS).join(d);
        if !p.is_file() {
            missing.push(p.display().to_string());
        }
    }
    if postfix_ids().is_none() {
        missing.push("user postfix".into());
    }
    if !file_has_line_starting("/etc/group", "postdrop:") {
        missing.push("group postdrop".into());
    }
    for mech in ["plain", "login"] {
        if !sasl_plugin_present(mech) {
            missing.push(format!("Cyrus SASL {mech} plugin (libsasl2-modules)"));
        }
    }
    let python = find_tool("python3", &["/usr/bin/python3"]);
    let openssl = find_tool("openssl", &["/usr/bin/openssl"]);
    if python.is_none() {
        missing.push("python3".into());
    }
    if openssl.is_none() {
        missing.push("openssl".into());
    }
    if missing.is_empty() {
        return Some(Tools {
            python: python?,
            openssl: openssl?,
        });
    }
    let what = missing.join(", ");
    if std::env::var("DMS_REQUIRE_POSTFIX").as_deref() == Ok("1") {
        panic!("{test}: missing {what} and DMS_REQUIRE_POSTFIX=1");
    }
    eprintln!(
        "\n*** SKIPPED {test}: end-to-end Postfix test needs {what} \
         (apt-get install postfix libsasl2-modules python3 openssl; run as root) ***\n"
    );
    None
}

// ------------------------------------------------------------------ helpers

/// Runs `cmd` to completion within `limit` (killed and a panic otherwise),
/// with `stdin` as its input. Returns stdout and stderr, or an error
/// message with them when the command failed. The output goes to anonymous files, not pipes, so a daemon the
/// command leaves behind (Postfix's master) cannot hold it open.
fn run_bounded(
    cmd: &mut Command,
    stdin: &[u8],
    limit: Duration,
    what: &str,
) -> Result<String, String> {
    let mut out = tempfile::tempfile().unwrap();
    let mut err = tempfile::tempfile().unwrap();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let mut pipe = child.stdin.take().unwrap();
    let _ = pipe.write_all(stdin);
    drop(pipe);
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = String::new();
    for f in [&mut out, &mut err] {
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{what} failed ({status}):\n{text}"))
    }
}

/// A Postfix command with a fixed, minimal environment.
fn postfix_cmd(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear().env("PATH", SYS_PATH).env("LC_ALL", "C");
    c
}

/// Postfix re-reads (and sleeps on) files modified within the last second;
/// moving the mtime back keeps start-up fast.
fn backdate(dir: &Path) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            let f = fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(3600))
                .unwrap();
        }
    }
}

fn read_opt(path: &Path) -> Option<Vec<u8>> {
    fs::read(path).ok()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    let mut s = String::new();
    if from > 0 {
        let _ = writeln!(s, "[… {from} earlier lines …]");
    }
    for l in &all[from..] {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// `[ip]:port` (a next hop as DMS writes it) as a socket address; `None`
/// for any other form (a name would need DNS).
fn next_hop_addr(next_hop: &str) -> Option<SocketAddr> {
    let rest = next_hop.strip_prefix('[')?;
    let (ip, port) = rest.split_once("]:")?;
    format!("{ip}:{port}").parse().ok()
}

// ------------------------------------------------------------------ fake relays

/// One fake relay: name, loopback address, AUTH mechanisms offered.
const RELAYS: [(&str, &str, &str); 3] = [
    ("A", "127.0.0.31", "LOGIN"),
    ("B", "127.0.0.32", "PLAIN,LOGIN"),
    ("C", "127.0.0.33", "PLAIN"),
];

/// The fake relay servers (one process).
struct FakeRelays {
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
    stderr: PathBuf,
    addrs: BTreeMap<String, SocketAddr>,
}

/// What a relay saw for one message.
#[derive(Debug, Clone)]
struct Observed {
    relay: String,
    listen: SocketAddr,
    tls: bool,
    auth: Option<ObservedAuth>,
    mail_from: String,
    rcpt_to: Vec<String>,
}

#[derive(Debug, Clone)]
struct ObservedAuth {
    mechanism: String,
    user: String,
    password: String,
}

impl FakeRelays {
    fn start(tools: &Tools, dir: &Path) -> FakeRelays {
        let cert = dir.join("relay-cert.pem");
        let key = dir.join("relay-key.pem");
        run_bounded(
            Command::new(&tools.openssl)
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=relay.test", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert),
            b"",
            COMMAND_LIMIT,
            "openssl req -x509",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("relay.log");
        let ready = dir.join("relay-ready.json");
        let stderr = dir.join("relay.stderr");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/fake_relay.py");
        let mut cmd = Command::new(&tools.python);
        cmd.arg(&script)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--log")
            .arg(&log)
            .arg("--ready")
            .arg(&ready)
            .args(["--max-seconds", "600"]);
        for (name, ip, mechs) in RELAYS {
            cmd.arg(format!("{name}={ip}:0/{mechs}"));
        }
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let mut relays = FakeRelays {
            stdin: None,
            child,
            log,
            stderr,
            addrs: BTreeMap::new(),
        };
        relays.stdin = relays.child.stdin.take();
        let start = Instant::now();
        loop {
            if let Ok(text) = fs::read_to_string(&ready) {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                for (name, addr) in v.as_object().unwrap() {
                    let addr = addr.as_str().unwrap().parse().unwrap();
                    relays.addrs.insert(name.clone(), addr);
                }
                return relays;
            }
            if let Ok(Some(status)) = relays.child.try_wait() {
                panic!(
                    "fake relay exited ({status}):\n{}",
                    fs::read_to_string(&relays.stderr).unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < RELAY_START_DEADLINE,
                "fake relays did not start within {RELAY_START_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Accepted messages, in log order.
    fn messages(&self) -> Vec<Observed> {
        let mut out = Vec::new();
        for line in self.log_text().lines() {
            let v: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) => continue, // a line being written
            };
            if v.get("event").is_some() {
                continue;
            }
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let auth = v["auth"].as_object().map(|a| ObservedAuth {
                mechanism: a["mechanism"].as_str().unwrap_or_default().to_string(),
                user: a["user"].as_str().unwrap_or_default().to_string(),
                password: a["password"].as_str().unwrap_or_default().to_string(),
            });
            out.push(Observed {
                relay: s("relay"),
                listen: s("listen").parse().unwrap(),
                tls: v["tls"].as_bool().unwrap_or(false),
                auth,
                mail_from: s("mail_from"),
                rcpt_to: v["rcpt_to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|r| r.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        out
    }
}

impl Drop for FakeRelays {
    fn drop(&mut self) {
        drop(self.stdin.take()); // EOF on stdin: the script exits
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ Postfix instance

/// A private Postfix instance under `root`. Dropping it stops Postfix.
struct Instance {
    root: PathBuf,
    etc: PathBuf,
    started: bool,
}

impl Instance {
    /// Writes `etc/main.cf`, `etc/master.cf`, `queue/`, `data/`.
    fn create(root: &Path) -> Instance {
        let etc = root.join("etc");
        for d in ["etc", "queue", "data"] {
            fs::create_dir(root.join(d)).unwrap();
            fs::set_permissions(root.join(d), fs::Permissions::from_mode(0o755)).unwrap();
        }
        let (uid, gid) = postfix_ids().expect("user postfix");
        std::os::unix::fs::chown(root.join("data"), Some(uid), Some(gid)).unwrap();
        let r = root.display();
        let main_cf = format!(
            "# Private Postfix instance of the dms-relay end-to-end test.\n\
             # Written by the test; `apply` edits the relay parameters.\n\
             compatibility_level = 3.6\n\
             queue_directory = {r}/queue\n\
             data_directory = {r}/data\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             myhostname = e2e.dms-relay.test\n\
             mydomain = dms-relay.test\n\
             myorigin = $myhostname\n\
             mydestination =\n\
             relay_domains =\n\
             local_recipient_maps =\n\
             alias_maps =\n\
             alias_database =\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             maillog_file = {r}/maillog\n\
             maillog_file_prefixes = {r}\n\
             recipient_delimiter = +\n\
             biff = no\n\
             smtp_host_lookup = native\n\
             smtp_dns_support_level = disabled\n\
             smtp_connect_timeout = 10s\n\
             smtp_tls_loglevel = 1\n\
             queue_run_delay = 1s\n\
             minimal_backoff_time = 1s\n\
             maximal_backoff_time = 2s\n\
             # As in stock DMS; apply sets or resets these.\n\
             relayhost =\n\
             smtp_tls_security_level = may\n"
        );
        fs::write(etc.join("main.cf"), main_cf).unwrap();
        let verbose = if std::env::var("DMS_E2E_VERBOSE").as_deref() == Ok("1") {
            " -v"
        } else {
            ""
        };
        let master_cf = format!(
            "# No smtpd: mail enters through sendmail -C (postdrop, pickup).\n\
             pickup     unix  n - n 60    1 pickup\n\
             cleanup    unix  n - n -     0 cleanup\n\
             qmgr       unix  n - n 300   1 qmgr\n\
             tlsmgr     unix  - - n 1000? 1 tlsmgr\n\
             rewrite    unix  - - n -     - trivial-rewrite{verbose}\n\
             bounce     unix  - - n -     0 bounce\n\
             defer      unix  - - n -     0 bounce\n\
             trace      unix  - - n -     0 bounce\n\
             verify     unix  - - n -     1 verify\n\
             flush      unix  n - n 1000? 0 flush\n\
             proxymap   unix  - - n -     - proxymap\n\
             proxywrite unix  - - n -     1 proxymap\n\
             smtp       unix  - - n -     - smtp{verbose}\n\
             relay      unix  - - n -     - smtp{verbose}\n\
             showq      unix  n - n -     - showq\n\
             error      unix  - - n -     - error\n\
             retry      unix  - - n -     - error\n\
             discard    unix  - - n -     - discard\n\
             local      unix  - n n -     - local\n\
             anvil      unix  - - n -     1 anvil\n\
             scache     unix  - - n -     1 scache\n\
             postlog    unix-dgram n - n - 1 postlogd\n"
        );
        fs::write(etc.join("master.cf"), master_cf).unwrap();
        Instance {
            root: root.to_path_buf(),
            etc,
            started: false,
        }
    }

    fn postfix(&self, args: &[&str]) -> Command {
        let mut c = postfix_cmd(POSTFIX);
        c.arg("-c").arg(&self.etc).args(args);
        c
    }

    fn start(&mut self) {
        backdate(&self.etc);
        self.started = true;
        let what = format!("postfix -c {} start", self.etc.display());
        if let Err(e) = run_bounded(&mut self.postfix(&["start"]), b"", COMMAND_LIMIT, &what) {
            panic!("{e}\n--- Postfix log:\n{}", self.maillog());
        }
    }

    fn postconf_n(&self) -> String {
        let mut cmd = postfix_cmd(POSTCONF);
        cmd.arg("-c").arg(&self.etc).arg("-n");
        run_bounded(&mut cmd, b"", COMMAND_LIMIT, "postconf -n").unwrap_or_else(|e| e)
    }

    /// `sendmail -C etc -f SENDER -i -- RCPT` with a small message.
    fn sendmail(&self, sender: &str, rcpt: &str) {
        let from = if sender.is_empty() { "<>" } else { sender };
        let msg = format!(
            "From: {from}\nTo: {rcpt}\nSubject: dms-relay e2e\n\
             X-E2E-Sender: {from}\n\nrelayed by the dms-relay end-to-end test\n"
        );
        let mut cmd = postfix_cmd(SENDMAIL);
        cmd.arg("-C")
            .arg(&self.etc)
            .args(["-f", from, "-i", "--", rcpt]);
        run_bounded(
            &mut cmd,
            msg.as_bytes(),
            COMMAND_LIMIT,
            &format!("sendmail -f {from}"),
        )
        .unwrap_or_else(|e| panic!("{e}\n--- Postfix log:\n{}", self.maillog()));
    }

    fn maillog(&self) -> String {
        fs::read_to_string(self.root.join("maillog")).unwrap_or_default()
    }

    fn master_pid(&self) -> Option<u32> {
        fs::read_to_string(self.root.join("queue/pid/master.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        let pid = self.master_pid();
        let _ = self
            .postfix(&["stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // If `postfix stop` failed, end the master we started, by its pid.
        if let Some(pid) = pid {
            let deadline = Instant::now() + Duration::from_secs(10);
            let proc_dir = PathBuf::from(format!("/proc/{pid}"));
            let ours = || {
                fs::read(proc_dir.join("cmdline"))
                    .map(|c| c.starts_with(b"/usr/lib/postfix/sbin/master"))
                    .unwrap_or(false)
            };
            while ours() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if ours() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

// ------------------------------------------------------------------ scenarios

/// One sender of a scenario, with the scenario author's expectation.
struct SenderCase {
    /// The envelope sender (`""` = the null sender).
    sender: &'static str,
    /// The fake relay (`A`, `B`, `C`) that should receive the mail.
    relay: &'static str,
    /// The credentials Postfix should present (`None`: no AUTH).
    auth: Option<(&'static str, &'static str)>,
}

/// One relay configuration and the senders to try.
struct Scenario {
    name: &'static str,
    /// The relay ENV (`DEFAULT_RELAY_HOST`, `RELAY_HOST`, …).
    env: Vec<(&'static str, String)>,
    /// `setup relay` commands, in order.
    commands: Vec<store::Command>,
    /// Lines appended by hand to `postfix-sasl-password.cf` after the
    /// commands (DMS users edit the file; the CLI cannot write these keys).
    sasl_extra: &'static str,
    /// `postfix-accounts.cf` (the managed domains), if any.
    accounts: Option<&'static str>,
    senders: Vec<SenderCase>,
}

/// The relays' addresses, for building scenarios.
struct Hosts<'a>(&'a BTreeMap<String, SocketAddr>);

impl Hosts<'_> {
    fn ip(&self, relay: &str) -> String {
        self.0[relay].ip().to_string()
    }
    fn port(&self, relay: &str) -> String {
        self.0[relay].port().to_string()
    }
    /// `[ip]:port`, the next hop as DMS writes it.
    fn hop(&self, relay: &str) -> String {
        format!("[{}]:{}", self.ip(relay), self.port(relay))
    }
    fn add_domain(&self, domain: &str, relay: &str) -> store::Command {
        let port = self.port(relay);
        store::Command::add_domain(domain, &self.ip(relay), Some(&port)).unwrap()
    }
}

fn case(
    sender: &'static str,
    relay: &'static str,
    auth: Option<(&'static str, &'static str)>,
) -> SenderCase {
    SenderCase {
        sender,
        relay,
        auth,
    }
}

fn add_auth(domain: &str, user: &str, password: &str) -> store::Command {
    store::Command::add_auth(domain, user, password).unwrap()
}

fn exclude(domain: &str) -> store::Command {
    store::Command::exclude_domain(domain).unwrap()
}

// ------------------------------------------------------------------ prediction

/// What Postfix is predicted to do with a message from one sender.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    /// The relay (next hop) that receives the message.
    relay: SocketAddr,
    /// `(user, password)` presented with AUTH, `None` for no AUTH.
    auth: Option<(String, String)>,
}

/// What the scenario's author wrote next to the sender: a second,
/// hand-made expectation that the observation is also checked against (it
/// guards against `explain` and Postfix agreeing on something unintended).
fn intended(case: &SenderCase, relays: &BTreeMap<String, SocketAddr>) -> Expected {
    Expected {
        relay: relays[case.relay],
        auth: case.auth.map(|(u, p)| (u.to_string(), p.to_string())),
    }
}

/// The prediction for `sender` (`""` = null sender): the one place the
/// harness asks "what will Postfix do": `dms_relay::explain` over the
/// instance's main.cf and the tables `apply` wrote. Every observation must
/// equal it.
fn predict(postfix_dir: &Path, sender: &str) -> Expected {
    let config = dms_relay::explain::RelayConfig::load(postfix_dir).unwrap();
    let e = config.explain(sender);
    let hop = e
        .next_hop
        .as_deref()
        .unwrap_or_else(|| panic!("no next hop: {e}"));
    Expected {
        relay: next_hop_addr(hop).unwrap_or_else(|| panic!("next hop {hop:?}")),
        auth: e
            .credentials()
            .map(|c| (c.user.clone(), c.password.expose().to_string())),
    }
}

// ------------------------------------------------------------------ the run

fn show_sender(s: &str) -> &str {
    if s.is_empty() { "<>" } else { s }
}

fn show_auth(a: &Option<(String, String)>) -> String {
    match a {
        Some((u, p)) => format!("{u} / {p}"),
        None => "no AUTH".into(),
    }
}

fn relay_name(relays: &BTreeMap<String, SocketAddr>, addr: SocketAddr) -> String {
    relays
        .iter()
        .find(|(_, a)| **a == addr)
        .map(|(n, _)| format!("{n} {addr}"))
        .unwrap_or_else(|| format!("? {addr}"))
}

fn system_config() -> Vec<Option<Vec<u8>>> {
    ["/etc/postfix/main.cf", "/etc/postfix/master.cf"]
        .iter()
        .map(|p| fs::read(p).ok())
        .collect()
}

fn run_scenario(test: &str, build: fn(&Hosts<'_>) -> Scenario) {
    let Some(tools) = prerequisites(test) else {
        return;
    };
    let t0 = Instant::now();
    let system_before = system_config();
    let tmp = tempfile::Builder::new()
        .prefix("dms-relay-e2e-")
        .tempdir_in(temp_base())
        .unwrap();
    let root = tmp.path().to_path_buf();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    // Dropped in reverse order: Postfix stops, then the relays, then the dir goes.
    let relays = FakeRelays::start(&tools, &root);
    let scenario = build(&Hosts(&relays.addrs));
    let mut instance = Instance::create(&root);

    // DMS config dir, through the setup relay commands.
    let cfg_path = root.join("docker-mailserver");
    let cfg = ConfigDir::new(&cfg_path);
    for c in &scenario.commands {
        cfg.apply(c)
            .unwrap_or_else(|e| panic!("{}: {c:?}: {e}", scenario.name));
    }
    fs::create_dir_all(&cfg_path).unwrap();
    if !scenario.sasl_extra.is_empty() {
        let mut f = fs::File::options()
            .append(true)
            .create(true)
            .open(cfg.sasl_path())
            .unwrap();
        f.write_all(scenario.sasl_extra.as_bytes()).unwrap();
    }
    if let Some(accounts) = scenario.accounts {
        fs::write(cfg_path.join("postfix-accounts.cf"), accounts).unwrap();
    }

    // The start-up step, as `setup-relay apply` does it.
    let env = RelayEnv::from_pairs(scenario.env.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
    let relaymap = read_opt(&cfg.relaymap_path());
    let sasl = read_opt(&cfg.sasl_path());
    let accounts = read_opt(&cfg_path.join("postfix-accounts.cf"));
    let virtual_ = read_opt(&cfg_path.join("postfix-virtual.cf"));
    let domains = render::managed_domains(accounts.as_deref(), virtual_.as_deref());
    let options = RenderOptions {
        postfix_dir: instance.etc.display().to_string(),
        config_dir: cfg_path.display().to_string(),
    };
    let rendered = render::render_with(
        &env,
        &Sources {
            relaymap: relaymap.as_deref(),
            sasl_password: sasl.as_deref(),
            domains: &domains,
        },
        &options,
    )
    .unwrap();
    apply(&rendered, &instance.etc).unwrap();

    // Every next hop in the configuration is one of the fake relays (an
    // isolated machine has no other way out).
    let mut hops: Vec<String> = rendered
        .param(render::RELAYHOST)
        .into_iter()
        .map(String::from)
        .collect();
    if let Some(map) = &rendered.relayhost_map {
        for line in String::from_utf8_lossy(map).lines() {
            if let Some((_, v)) = line.split_once(char::is_whitespace) {
                hops.push(v.trim().to_string());
            }
        }
    }
    for hop in hops.iter().filter(|h| !h.is_empty()) {
        let addr = next_hop_addr(hop);
        assert!(
            addr.is_some_and(|a| relays.addrs.values().any(|r| *r == a)),
            "{}: next hop {hop:?} is not a fake relay",
            scenario.name
        );
    }

    instance.start();
    let mut predicted = Vec::new();
    for (i, case) in scenario.senders.iter().enumerate() {
        let rcpt = format!("rcpt-{i}@remote.test");
        let expected = predict(&instance.etc, case.sender);
        predicted.push((case, rcpt.clone(), expected));
        instance.sendmail(case.sender, &rcpt);
    }

    // Wait for every message to reach a relay.
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    let mut failure = None;
    let observed = loop {
        let msgs = relays.messages();
        let done = predicted
            .iter()
            .all(|(_, rcpt, _)| msgs.iter().any(|m| m.rcpt_to.contains(rcpt)));
        if done {
            break msgs;
        }
        let log = instance.maillog();
        if log.contains("status=bounced") {
            failure = Some("Postfix bounced a message".to_string());
            break msgs;
        }
        if Instant::now() > deadline {
            failure = Some(format!(
                "not every message reached a relay within {DELIVERY_DEADLINE:?}"
            ));
            break msgs;
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    // Compare.
    let mut table = String::new();
    let mut mismatches = 0;
    let _ = writeln!(table, "scenario {}:", scenario.name);
    for (case, rcpt, expected) in &predicted {
        let sender = case.sender;
        let intended = intended(case, &relays.addrs);
        let got: Vec<&Observed> = observed
            .iter()
            .filter(|m| m.rcpt_to.contains(rcpt))
            .collect();
        let _ = writeln!(
            table,
            "  {:<24} predicted {} with {}",
            show_sender(sender),
            relay_name(&relays.addrs, expected.relay),
            show_auth(&expected.auth)
        );
        if intended != *expected {
            let _ = writeln!(
                table,
                "  {:<24} intended  {} with {}",
                "",
                relay_name(&relays.addrs, intended.relay),
                show_auth(&intended.auth)
            );
        }
        let mut problems = Vec::new();
        match got.as_slice() {
            [] => problems.push("no relay received it".to_string()),
            [m] => {
                let auth = m
                    .auth
                    .as_ref()
                    .map(|a| (a.user.clone(), a.password.clone()));
                let _ = writeln!(
                    table,
                    "  {:<24} observed  {} with {}{}{}",
                    "",
                    relay_name(&relays.addrs, m.listen),
                    show_auth(&auth),
                    m.auth
                        .as_ref()
                        .map(|a| format!(" ({})", a.mechanism))
                        .unwrap_or_default(),
                    if m.tls { ", TLS" } else { ", no TLS" }
                );
                if m.listen != expected.relay {
                    problems.push(format!("relay {} ≠ predicted", m.relay));
                }
                if auth != expected.auth {
                    problems.push("credentials ≠ predicted".to_string());
                }
                if (m.listen, &auth) != (intended.relay, &intended.auth) {
                    problems.push("≠ the scenario's intended result".to_string());
                }
                if m.auth.is_some() && !m.tls {
                    problems.push("AUTH without TLS".to_string());
                }
                if m.mail_from != sender {
                    problems.push(format!("MAIL FROM {:?} ≠ sender", m.mail_from));
                }
            }
            more => problems.push(format!("received {} times", more.len())),
        }
        if !problems.is_empty() {
            mismatches += 1;
            let _ = writeln!(table, "  {:<24} MISMATCH: {}", "", problems.join("; "));
        }
    }
    if failure.is_some() || mismatches > 0 {
        let mut report = String::new();
        let _ = writeln!(
            report,
            "{}: {}\n\n{table}",
            scenario.name,
            failure.unwrap_or_else(|| format!("{mismatches} sender(s) differ from the prediction"))
        );
        let _ = writeln!(
            report,
            "--- rendered relayhost_map:\n{}",
            rendered
                .relayhost_map
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or("(none)".into())
        );
        let _ = writeln!(
            report,
            "--- rendered sasl_passwd (test credentials):\n{}",
            rendered
                .sasl_passwd
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or("(none)".into())
        );
        let _ = writeln!(report, "--- postconf -n:\n{}", instance.postconf_n());
        let _ = writeln!(
            report,
            "--- Postfix log:\n{}",
            tail(&instance.maillog(), 300)
        );
        let _ = writeln!(report, "--- relay log:\n{}", tail(&relays.log_text(), 100));
        let _ = writeln!(
            report,
            "--- relay stderr:\n{}",
            tail(&fs::read_to_string(&relays.stderr).unwrap_or_default(), 50)
        );
        if std::env::var("DMS_E2E_KEEP").as_deref() == Ok("1") {
            drop(instance);
            drop(relays);
            let _ = writeln!(report, "--- kept {}", tmp.keep().display());
        }
        panic!("{report}");
    }
    eprintln!(
        "{table}  ({} senders, all as predicted, {:.1?})",
        predicted.len(),
        t0.elapsed()
    );
    drop(instance);
    drop(relays);
    assert_eq!(
        system_config(),
        system_before,
        "/etc/postfix/main.cf or master.cf changed during the test"
    );
    drop(tmp);
}

// ------------------------------------------------------------------ the tests

/// Per-domain relays (`add-domain`), `DEFAULT_RELAY_HOST` for the rest, an
/// opt-out (`exclude-domain`: the sender falls back to the default relay),
/// per-sender-domain credentials (`add-auth`), a hand-written full-address
/// credential, and `RELAY_USER`/`RELAY_PASSWORD` (keyed to
/// `DEFAULT_RELAY_HOST`). `smtp_sender_dependent_authentication = yes`
/// (there is a `postfix-sasl-password.cf`), `smtp_tls_security_level =
/// encrypt`.
fn relaymap_default_and_credentials(h: &Hosts<'_>) -> Scenario {
    Scenario {
        name: "relaymap + DEFAULT_RELAY_HOST + add-auth + RELAY_USER",
        env: vec![
            ("DEFAULT_RELAY_HOST", h.hop("C")),
            ("RELAY_USER", "env-user".into()),
            ("RELAY_PASSWORD", "env pw:1".into()),
        ],
        commands: vec![
            h.add_domain("alpha.test", "A"),
            h.add_domain("beta.test", "B"),
            exclude("gamma.test"),
            add_auth("alpha.test", "alpha-user", "alpha:pw"),
            add_auth("gamma.test", "gamma-user", "gamma-pw"),
        ],
        sasl_extra: "boss@beta.test boss-user:boss-pw\n",
        accounts: None,
        senders: vec![
            // relaymap @alpha.test → A; credentials by @alpha.test
            case("alice@alpha.test", "A", Some(("alpha-user", "alpha:pw"))),
            // extension and case: @alpha.test still matches both tables
            case(
                "Alice+Tag@ALPHA.test",
                "A",
                Some(("alpha-user", "alpha:pw")),
            ),
            // relaymap @beta.test → B; no credentials for the sender, 127.0.0.32 or [127.0.0.32]:port
            case("bob@beta.test", "B", None),
            // full-address credential (hand-written) wins
            case("boss@beta.test", "B", Some(("boss-user", "boss-pw"))),
            case("boss+x@beta.test", "B", Some(("boss-user", "boss-pw"))),
            // opted out: relayhost C; the sender's own credentials come before the relay's
            case("carol@gamma.test", "C", Some(("gamma-user", "gamma-pw"))),
            // unlisted domain: relayhost C with the ENV credentials (keyed to DEFAULT_RELAY_HOST)
            case("dave@unlisted.test", "C", Some(("env-user", "env pw:1"))),
            // null sender: no sender lookups; relayhost and its credentials
            case("", "C", Some(("env-user", "env pw:1"))),
        ],
    }
}

/// `RELAY_HOST` + `RELAY_PORT` for the managed domains (from
/// `postfix-accounts.cf`), an explicit `add-domain` that wins over
/// `RELAY_HOST`, an opt-out of `RELAY_HOST`, `DEFAULT_RELAY_HOST` for
/// everything else, and `RELAY_USER`/`RELAY_PASSWORD` (keyed to both hosts:
/// a documented divergence from DMS). No `postfix-sasl-password.cf`, so no
/// sender-dependent authentication.
fn relay_host_env(h: &Hosts<'_>) -> Scenario {
    Scenario {
        name: "RELAY_HOST + RELAY_PORT + DEFAULT_RELAY_HOST + RELAY_USER",
        env: vec![
            ("RELAY_HOST", h.ip("A")),
            ("RELAY_PORT", h.port("A")),
            ("DEFAULT_RELAY_HOST", h.hop("C")),
            ("RELAY_USER", "relay-user".into()),
            ("RELAY_PASSWORD", "relay-pw".into()),
        ],
        commands: vec![h.add_domain("beta.test", "B"), exclude("gamma.test")],
        sasl_extra: "",
        accounts: Some(
            "a@alpha.test|{SHA512-CRYPT}x\n\
             b@beta.test|{SHA512-CRYPT}x\n\
             c@gamma.test|{SHA512-CRYPT}x\n",
        ),
        senders: vec![
            // managed domain → [RELAY_HOST]:RELAY_PORT = A, ENV credentials keyed to it
            case("a@alpha.test", "A", Some(("relay-user", "relay-pw"))),
            case("a+list@alpha.test", "A", Some(("relay-user", "relay-pw"))),
            // add-domain beta.test wins over RELAY_HOST; nothing keyed to B
            case("b@beta.test", "B", None),
            // opted out of RELAY_HOST → relayhost C, ENV credentials keyed to it
            case("c@gamma.test", "C", Some(("relay-user", "relay-pw"))),
            // not managed → relayhost C
            case("d@unlisted.test", "C", Some(("relay-user", "relay-pw"))),
        ],
    }
}

/// Relays without any credentials: SASL stays off and TLS stays `may`, so
/// Postfix uses STARTTLS when offered but never AUTH, although every relay
/// offers it.
fn no_credentials(h: &Hosts<'_>) -> Scenario {
    Scenario {
        name: "relaymap + DEFAULT_RELAY_HOST, no credentials",
        env: vec![("DEFAULT_RELAY_HOST", h.hop("B"))],
        commands: vec![h.add_domain("alpha.test", "A"), exclude("gamma.test")],
        sasl_extra: "",
        accounts: None,
        senders: vec![
            case("x@alpha.test", "A", None),
            case("x+y@alpha.test", "A", None),
            case("y@gamma.test", "B", None),
            case("z@unlisted.test", "B", None),
        ],
    }
}

#[test]
fn relaymap_with_default_relay_and_per_sender_credentials() {
    run_scenario(
        "relaymap_with_default_relay_and_per_sender_credentials",
        relaymap_default_and_credentials,
    );
}

#[test]
fn relay_host_env_for_managed_domains() {
    run_scenario("relay_host_env_for_managed_domains", relay_host_env);
}

#[test]
fn no_credentials_means_no_auth() {
    run_scenario("no_credentials_means_no_auth", no_credentials);
}
