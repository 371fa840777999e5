//! The `setup-relay` command: docker-mailserver's `setup relay …` commands
//! (and what DMS lacks) on `dms-relay`, as a function over explicit
//! arguments and streams so that tests can drive it in-process.
//!
//! ```text
//! setup-relay [--config-dir DIR] add-domain D H [P]
//! setup-relay [--config-dir DIR] add-auth D U [PW]
//! setup-relay [--config-dir DIR] exclude-domain D
//! setup-relay [--config-dir DIR] del-domain D
//! setup-relay [--config-dir DIR] del-auth D
//! setup-relay [--config-dir DIR] include-domain D
//! setup-relay [--config-dir DIR] list [--json]
//! setup-relay [--config-dir DIR] apply --postfix-dir PDIR
//! setup-relay [--config-dir DIR] explain [--postfix-dir PDIR] [--json] SENDER...
//! setup-relay [--config-dir DIR] doctor [--postfix-dir PDIR] [--fix] [--json]
//! ```
//!
//! Differences from DMS's `setup relay` (spec section 5), on purpose:
//!
//! * Every argument is validated (`dms_relay::types`); a bad one exits 1
//!   with one line on stderr naming it, e.g.
//!   `setup-relay: invalid domain "a b": contains whitespace at byte 1; …`.
//!   A password is never echoed. Extra arguments are an error (DMS ignores
//!   them), and so is an unknown command (DMS exits 2; here every usage
//!   error exits 1).
//! * Re-running a command that is already in effect exits 0 and writes
//!   nothing (DMS exits 1). Keys match literally and case-insensitively.
//! * Writes are locked and atomic; a new `postfix-sasl-password.cf` is 0600.
//! * Password prompt (PW omitted or empty): on a terminal, `Enter Password: `
//!   and `Confirm Password: ` on stderr with echo off (`stty -echo` on
//!   `/dev/tty`, restored afterwards; if `stty` fails the command refuses to
//!   read a visible password and exits 1). The line break after each answer
//!   goes to stderr (DMS prints it on stdout). When stdin is not a terminal,
//!   one line is read from it, without trimming: only the final LF (or CRLF)
//!   is removed (DMS's `read` trims spaces and cannot be fed
//!   non-interactively). If the process is killed at the prompt (Ctrl-C),
//!   echo stays off: run `stty echo` (no signal handling without libc).
//! * A password given in argv is accepted (DMS compatibility) with a
//!   warning that it is visible in `ps` and shell history.
//! * `del-domain`, `del-auth`, `include-domain`, `list` and `apply` are new.
//!   A removal that finds nothing exits 0 with a note on stderr.
//! * `apply` is DMS's startup step (`_create_postfix_vhost` +
//!   `_setup_relayhost`) from the process ENV (`RelayEnv::from_env`), written
//!   with `dms_relay::apply::apply`; warnings go to stderr as
//!   `setup-relay: warning: …`, and each file changed is reported on stdout.
//! * `explain` and `doctor` read any Postfix relay configuration (PDIR,
//!   default `/etc/postfix`): see `dms_relay::explain` and
//!   `dms_relay::doctor`. `doctor` exits 2 when problems remain (after
//!   `--fix`, if given), 1 on errors, 0 when clean.

use std::ffi::OsString;
use std::fmt::Display;
use std::io::{self, BufRead, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dms_relay::apply::apply;
use dms_relay::doctor::{Doctor, Fix};
use dms_relay::env::RelayEnv;
use dms_relay::explain::RelayConfig;
use dms_relay::fsutil;
use dms_relay::render::{self, RenderOptions, Sources};
use dms_relay::store::{
    Command, ConfigDir, DEFAULT_CONFIG_DIR, Listing, NextHop, Outcome, RELAYMAP_FILE, SASL_FILE,
};
use dms_relay::types::{
    Credentials, Host, Password, Port, RelayHost, RelayUser, SenderDomain, ValidationError,
};

const PROG: &str = "setup-relay";

/// `postfix-accounts.cf` (source of managed domains).
pub const ACCOUNTS_FILE: &str = "postfix-accounts.cf";
/// `postfix-virtual.cf` (source of managed domains).
pub const VIRTUAL_FILE: &str = "postfix-virtual.cf";

/// Usage text.
pub const USAGE: &str = "usage: setup-relay [--config-dir DIR] COMMAND ARGS

Commands (DIR defaults to /tmp/docker-mailserver):
  add-domain D H [P]          relay mail from @D through [H]:P (P defaults to 25)
  add-auth D U [PW]           credentials U:PW for @D (PW is prompted for, or read
                              from stdin when it is not a terminal, if omitted)
  exclude-domain D            @D does not use RELAY_HOST
  del-domain D                remove @D's relay entry or exclusion
  del-auth D                  remove @D's credentials
  include-domain D            undo exclude-domain
  list [--json]               relays, exclusions and credentials (passwords redacted)
  explain [--postfix-dir PDIR] [--json] SENDER...
                              which relay host and credentials Postfix uses for
                              mail from SENDER (\"\" = null sender), and why: every
                              lookup (PDIR defaults to /etc/postfix)
  doctor [--postfix-dir PDIR] [--fix] [--json]
                              relay problems with file, line and fix; --fix applies
                              the mechanical fixes; exit status 2 when problems remain
  apply --postfix-dir PDIR    run the startup step from the relay ENV
                              (DEFAULT_RELAY_HOST, RELAY_HOST, RELAY_PORT,
                              RELAY_USER, RELAY_PASSWORD, and their __FILE variants):
                              writes PDIR/relayhost_map, PDIR/sasl_passwd,
                              PDIR/vhost and edits PDIR/main.cf
";

/// Standard streams of one run.
pub struct Io<'a> {
    /// Password input for `add-auth` without a password.
    pub stdin: &'a mut dyn BufRead,
    /// Whether stdin is a terminal (then the password is prompted for twice
    /// with echo off, through `stty` on `/dev/tty`).
    pub stdin_is_terminal: bool,
    /// Listings and change reports.
    pub stdout: &'a mut dyn Write,
    /// Errors, warnings and prompts.
    pub stderr: &'a mut dyn Write,
}

/// A failed run: the message (one line, without the program name) and the
/// exit status.
struct Fail(String, u8);

type Res<T> = Result<T, Fail>;

fn fail(msg: impl Display) -> Fail {
    Fail(msg.to_string(), 1)
}

fn usage_err(msg: impl Display) -> Fail {
    Fail(format!("{msg} (try '{PROG} help')"), 1)
}

/// `invalid FIELD "VALUE": REASON`, the reason without its leading field
/// name. `value` is `None` for a password (never shown).
fn invalid(field: &str, value: Option<&str>, err: &ValidationError) -> Fail {
    let msg = err.to_string();
    let reason = msg
        .strip_prefix(field)
        .and_then(|r| r.strip_prefix(' '))
        .unwrap_or(&msg);
    match value {
        Some(v) => Fail(format!("invalid {field} {v:?}: {reason}"), 1),
        None => Fail(format!("invalid {field}: {reason}"), 1),
    }
}

fn text<'a>(field: &str, arg: &'a [u8], show: bool) -> Res<&'a str> {
    std::str::from_utf8(arg).map_err(|_| {
        if show {
            fail(format!(
                "invalid {field} {:?}: not valid UTF-8",
                String::from_utf8_lossy(arg)
            ))
        } else {
            fail(format!("invalid {field}: not valid UTF-8"))
        }
    })
}

fn domain(arg: &[u8]) -> Res<SenderDomain> {
    let s = text("domain", arg, true)?;
    SenderDomain::new(s).map_err(|e| invalid("domain", Some(s), &e))
}

/// Runs `setup-relay` with `args` (without the program name) and returns
/// the exit status: 0 success, 1 usage, validation or I/O error.
pub fn run(args: &[Vec<u8>], io: Io<'_>) -> u8 {
    let Io {
        stdin,
        stdin_is_terminal,
        stdout,
        stderr,
    } = io;
    let result = run_inner(args, stdin, stdin_is_terminal, stdout, stderr);
    let _ = stdout.flush();
    match result {
        Ok(()) => 0,
        Err(Fail(msg, status)) => {
            if !msg.is_empty() {
                let _ = writeln!(stderr, "{PROG}: {msg}");
            }
            status
        }
    }
}

fn run_inner(
    args: &[Vec<u8>],
    stdin: &mut dyn BufRead,
    stdin_is_terminal: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Res<()> {
    let mut config_dir = PathBuf::from(DEFAULT_CONFIG_DIR);
    let mut rest = args;
    loop {
        match rest {
            [flag, dir, tail @ ..] if flag == b"--config-dir" => {
                if dir.is_empty() {
                    return Err(usage_err("--config-dir needs a directory"));
                }
                config_dir = PathBuf::from(OsString::from_vec(dir.clone()));
                rest = tail;
            }
            [flag] if flag == b"--config-dir" => {
                return Err(usage_err("--config-dir needs a directory"));
            }
            [flag, tail @ ..] if flag.starts_with(b"--config-dir=") => {
                let dir = flag.get(b"--config-dir=".len()..).unwrap_or_default();
                if dir.is_empty() {
                    return Err(usage_err("--config-dir needs a directory"));
                }
                config_dir = PathBuf::from(OsString::from_vec(dir.to_vec()));
                rest = tail;
            }
            _ => break,
        }
    }
    let Some((cmd, cmd_args)) = rest.split_first() else {
        let _ = stderr.write_all(USAGE.as_bytes());
        return Err(fail("missing command"));
    };
    let cfg = ConfigDir::new(&config_dir);
    match cmd.as_slice() {
        b"help" | b"--help" | b"-h" => {
            stdout
                .write_all(USAGE.as_bytes())
                .map_err(|e| fail(format!("stdout: {e}")))?;
            Ok(())
        }
        b"add-domain" => {
            let (d, h, p) = match cmd_args {
                [d, h] => (d, h, None),
                [d, h, p] => (d, h, Some(p)),
                _ => return Err(arity("add-domain", "D H [P]", cmd_args.len())),
            };
            let domain = domain(d)?;
            let hs = text("relay host", h, true)?;
            let host = Host::new(hs).map_err(|e| invalid("relay host", Some(hs), &e))?;
            let port = match p {
                None => None,
                Some(p) if p.is_empty() => None, // DMS: '' means 25
                Some(p) => {
                    let ps = text("port", p, true)?;
                    Some(
                        ps.parse::<Port>()
                            .map_err(|e| invalid("port", Some(ps), &e))?,
                    )
                }
            };
            let cmd = Command::AddDomain {
                domain,
                relay: RelayHost::dms(host, port),
            };
            exec(&cfg, &cmd, stderr)
        }
        b"add-auth" => {
            let (d, u, pw) = match cmd_args {
                [d, u] => (d, u, None),
                [d, u, pw] => (d, u, Some(pw)),
                _ => return Err(arity("add-auth", "D U [PW]", cmd_args.len())),
            };
            let domain = domain(d)?;
            let us = text("user", u, true)?;
            let user = RelayUser::new(us).map_err(|e| invalid("user", Some(us), &e))?;
            let password = match pw {
                Some(pw) if !pw.is_empty() => {
                    let _ = writeln!(
                        stderr,
                        "{PROG}: warning: a password on the command line is visible to other users (ps) and in shell history; omit it to be prompted, or pipe it on stdin"
                    );
                    let s = text("password", pw, false)?;
                    Password::new(s).map_err(|e| invalid("password", None, &e))?
                }
                _ => read_password(stdin, stdin_is_terminal, stderr)?,
            };
            let cmd = Command::AddAuth {
                domain,
                credentials: Credentials::from_parts(user, password),
            };
            exec(&cfg, &cmd, stderr)
        }
        b"exclude-domain" | b"del-domain" | b"del-auth" | b"include-domain" => {
            let name = String::from_utf8_lossy(cmd).into_owned();
            let [d] = cmd_args else {
                return Err(arity(&name, "D", cmd_args.len()));
            };
            let domain = domain(d)?;
            let cmd = match cmd.as_slice() {
                b"exclude-domain" => Command::ExcludeDomain { domain },
                b"del-domain" => Command::RemoveDomain { domain },
                b"del-auth" => Command::RemoveAuth { domain },
                _ => Command::IncludeDomain { domain },
            };
            exec(&cfg, &cmd, stderr)
        }
        b"list" => {
            let json = match cmd_args {
                [] => false,
                [f] if f == b"--json" => true,
                _ => return Err(arity("list", "[--json]", cmd_args.len())),
            };
            let listing = cfg
                .list()
                .map_err(|e| fail(format!("cannot read the config: {e}")))?;
            let text = if json {
                list_json(&listing)
            } else {
                list_text(&listing)
            };
            stdout
                .write_all(text.as_bytes())
                .map_err(|e| fail(format!("stdout: {e}")))
        }
        b"apply" => {
            let pdir = match cmd_args {
                [f, p] if f == b"--postfix-dir" && !p.is_empty() => p,
                [f] if f.starts_with(b"--postfix-dir=") && f.len() > 14 => {
                    f.get(14..).unwrap_or_default()
                }
                _ => return Err(usage_err("usage: apply --postfix-dir PDIR")),
            };
            let pdir = PathBuf::from(OsString::from_vec(pdir.to_vec()));
            run_apply(&config_dir, &pdir, stdout, stderr)
        }
        b"explain" => run_explain(&config_dir, cmd_args, stdout),
        b"doctor" => run_doctor(&config_dir, cmd_args, stdout, stderr),
        b"bench-ops" => {
            // Hidden: N library operations with one save, timed in-process
            // (scripts/bench-setup-relay.sh).
            let n: usize = match cmd_args {
                [n] => String::from_utf8_lossy(n)
                    .parse()
                    .map_err(|_| usage_err("usage: bench-ops N"))?,
                _ => return Err(usage_err("usage: bench-ops N")),
            };
            bench_ops(&cfg, n, stdout)
        }
        _ => Err(usage_err(format!(
            "unknown command {:?}",
            String::from_utf8_lossy(cmd)
        ))),
    }
}

/// The Postfix directory, the flags seen, and the other arguments.
type PdirArgs<'a> = (PathBuf, Vec<String>, &'a [Vec<u8>]);

/// `--postfix-dir PDIR` / `--postfix-dir=PDIR` and the given flags, in any
/// order, then the rest.
fn postfix_dir_and_flags<'a>(
    mut args: &'a [Vec<u8>],
    flags: &[&str],
    usage: &str,
) -> Res<PdirArgs<'a>> {
    let mut pdir = PathBuf::from("/etc/postfix");
    let mut seen = Vec::new();
    loop {
        match args {
            [f, p, tail @ ..] if f == b"--postfix-dir" && !p.is_empty() => {
                pdir = PathBuf::from(OsString::from_vec(p.clone()));
                args = tail;
            }
            [f, tail @ ..] if f.starts_with(b"--postfix-dir=") && f.len() > 14 => {
                pdir = PathBuf::from(OsString::from_vec(f.get(14..).unwrap_or_default().to_vec()));
                args = tail;
            }
            [f, tail @ ..] if flags.iter().any(|x| x.as_bytes() == f.as_slice()) => {
                seen.push(String::from_utf8_lossy(f).into_owned());
                args = tail;
            }
            [f, ..] if f.starts_with(b"--") && f != b"--" => {
                return Err(usage_err(format!(
                    "unknown option {:?}; usage: {usage}",
                    String::from_utf8_lossy(f)
                )));
            }
            [f, tail @ ..] if f == b"--" => return Ok((pdir, seen, tail)),
            _ => return Ok((pdir, seen, args)),
        }
    }
}

fn run_explain(_config_dir: &Path, args: &[Vec<u8>], stdout: &mut dyn Write) -> Res<()> {
    const USAGE: &str = "explain [--postfix-dir PDIR] [--json] SENDER...";
    let (pdir, flags, senders) = postfix_dir_and_flags(args, &["--json"], USAGE)?;
    if senders.is_empty() {
        return Err(usage_err(format!("usage: {USAGE}")));
    }
    let json = flags.iter().any(|f| f == "--json");
    let config = RelayConfig::load(&pdir).map_err(fail)?;
    let out = |e: std::io::Error| fail(format!("stdout: {e}"));
    let mut items = Vec::new();
    for (i, sender) in senders.iter().enumerate() {
        let sender = text("sender", sender, true)?;
        let e = config.explain(sender);
        if json {
            items.push(e.to_json());
        } else {
            if i > 0 {
                writeln!(stdout).map_err(out)?;
            }
            write!(stdout, "{e}").map_err(out)?;
        }
    }
    if json {
        writeln!(stdout, "[{}]", items.join(",")).map_err(out)?;
    }
    Ok(())
}

fn run_doctor(
    config_dir: &Path,
    args: &[Vec<u8>],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Res<()> {
    const USAGE: &str = "doctor [--postfix-dir PDIR] [--fix] [--json]";
    let (pdir, flags, rest) = postfix_dir_and_flags(args, &["--json", "--fix"], USAGE)?;
    if !rest.is_empty() {
        return Err(usage_err(format!("usage: {USAGE}")));
    }
    let json = flags.iter().any(|f| f == "--json");
    let mut doctor = Doctor::new(&pdir).config_dir(config_dir);
    match RelayEnv::from_env() {
        Ok(env) => doctor = doctor.env(env),
        Err(e) => {
            let _ = writeln!(stderr, "{PROG}: warning: relay ENV not checked: {e}");
        }
    }
    let mut report = doctor.run().map_err(fail)?;
    let out = |e: std::io::Error| fail(format!("stdout: {e}"));
    if flags.iter().any(|f| f == "--fix") {
        let fixed = report.fix().map_err(fail)?;
        for f in &fixed {
            let _ = writeln!(stderr, "{PROG}: fixed: {}", describe_fix(f));
        }
        report = doctor.run().map_err(fail)?;
    }
    if json {
        writeln!(stdout, "{}", report.to_json()).map_err(out)?;
    } else {
        for p in &report.problems {
            writeln!(stdout, "{p}").map_err(out)?;
        }
        if report.is_clean() {
            writeln!(stdout, "no problems found").map_err(out)?;
        }
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Fail(String::new(), 2))
    }
}

fn describe_fix(f: &Fix) -> String {
    match f {
        Fix::RenameKey { file, from, to } => {
            format!("{}: key {from} renamed to {to}", file.display())
        }
        Fix::SetParameter { file, name, value } => {
            format!("{}: {name} = {value}", file.display())
        }
        Fix::RemoveLine { file, line } => format!("{}: line {line} removed", file.display()),
        Fix::Chmod600 { file } => format!("{}: mode 0600", file.display()),
        _ => format!("{f:?}"),
    }
}

fn arity(cmd: &str, args: &str, got: usize) -> Fail {
    usage_err(format!(
        "{cmd} takes {args} ({got} argument{} given)",
        if got == 1 { "" } else { "s" }
    ))
}

fn exec(cfg: &ConfigDir, cmd: &Command, stderr: &mut dyn Write) -> Res<()> {
    let outcome = cfg.apply(cmd).map_err(fail)?;
    if outcome == Outcome::Unchanged {
        let note = match cmd {
            Command::RemoveDomain { domain } => {
                Some(format!("no entry for @{domain} in {RELAYMAP_FILE}"))
            }
            Command::RemoveAuth { domain } => {
                Some(format!("no entry for @{domain} in {SASL_FILE}"))
            }
            Command::IncludeDomain { domain } => {
                Some(format!("@{domain} is not excluded in {RELAYMAP_FILE}"))
            }
            _ => None,
        };
        if let Some(note) = note {
            let _ = writeln!(stderr, "{PROG}: note: {note}");
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ password

/// One line from `stdin`, without its final LF or CRLF; `None` at EOF.
fn read_line(stdin: &mut dyn BufRead) -> Res<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = stdin
        .read_until(b'\n', &mut line)
        .map_err(|e| fail(format!("cannot read the password: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(Some(line))
}

fn to_password(line: Option<Vec<u8>>) -> Res<Password> {
    let line = line.unwrap_or_default();
    if line.is_empty() {
        return Err(fail("Password must not be empty"));
    }
    let s = String::from_utf8(line).map_err(|_| fail("invalid password: not valid UTF-8"))?;
    Password::new(&s).map_err(|e| invalid("password", None, &e))
}

fn read_password(stdin: &mut dyn BufRead, terminal: bool, stderr: &mut dyn Write) -> Res<Password> {
    if !terminal {
        return to_password(read_line(stdin)?);
    }
    let echo = EchoOff::new().map_err(|e| {
        fail(format!(
            "cannot turn off terminal echo ({e}); pipe the password on stdin instead"
        ))
    })?;
    let mut ask = |prompt: &str| -> Res<Option<Vec<u8>>> {
        let _ = write!(stderr, "{prompt}");
        let _ = stderr.flush();
        let line = read_line(stdin);
        let _ = writeln!(stderr);
        line
    };
    let first = ask("Enter Password: ")?;
    if first.as_deref().unwrap_or_default().is_empty() {
        return Err(fail("Password must not be empty"));
    }
    let second = ask("Confirm Password: ")?;
    drop(echo);
    if first != second {
        return Err(fail("Passwords do not match!"));
    }
    to_password(first)
}

/// Terminal echo turned off with `stty -echo` on `/dev/tty`; the saved
/// settings (`stty -g`) are restored on drop.
struct EchoOff {
    saved: String,
}

fn stty(args: &[&str]) -> io::Result<String> {
    let tty = std::fs::File::open("/dev/tty")?;
    let out = std::process::Command::new("stty")
        .args(args)
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("stty exited with {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl EchoOff {
    fn new() -> io::Result<Self> {
        let saved = stty(&["-g"])?;
        stty(&["-echo"])?;
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if stty(&[self.saved.as_str()]).is_err() {
            let _ = stty(&["echo"]);
        }
    }
}

// ------------------------------------------------------------------ list

fn hop(h: &NextHop) -> String {
    match h {
        NextHop::Relay(r) => r.to_string(),
        NextHop::Unparsed(s) => s.clone(),
    }
}

/// `relay KEY HOP`, `exclude KEY` and `auth KEY USER <redacted>` lines,
/// tab-separated, in file order.
fn list_text(l: &Listing) -> String {
    let mut s = String::new();
    for r in &l.relays {
        s.push_str(&format!("relay\t{}\t{}\n", r.key, hop(&r.next_hop)));
    }
    for e in &l.excluded {
        s.push_str(&format!("exclude\t{}\n", e.key));
    }
    for c in &l.credentials {
        s.push_str(&format!("auth\t{}\t{}\t<redacted>\n", c.key, c.user));
    }
    s
}

fn list_json(l: &Listing) -> String {
    use serde_json::json;
    let v = json!({
        "relays": l.relays.iter().map(|r| json!({
            "key": r.key.to_string(),
            "next_hop": hop(&r.next_hop),
            "valid": matches!(r.next_hop, NextHop::Relay(_)),
            "line": r.line,
        })).collect::<Vec<_>>(),
        "excluded": l.excluded.iter().map(|e| json!({
            "key": e.key.to_string(),
            "line": e.line,
        })).collect::<Vec<_>>(),
        "credentials": l.credentials.iter().map(|c| json!({
            "key": c.key.to_string(),
            "user": c.user,
            "password": "<redacted>",
            "line": c.line,
        })).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

// ------------------------------------------------------------------ apply

fn read_opt(path: &Path) -> Res<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(format!("{}: {e}", path.display()))),
    }
}

type SourceFiles = [Option<Vec<u8>>; 4];

fn read_sources(dir: &Path) -> Res<SourceFiles> {
    let read = || -> Res<SourceFiles> {
        Ok([
            read_opt(&dir.join(RELAYMAP_FILE))?,
            read_opt(&dir.join(SASL_FILE))?,
            read_opt(&dir.join(ACCOUNTS_FILE))?,
            read_opt(&dir.join(VIRTUAL_FILE))?,
        ])
    };
    if !dir.is_dir() {
        // Nothing to read, and nothing to lock (locking would create it).
        return read();
    }
    // Under the config lock: a consistent snapshot of both relay files.
    fsutil::with_lock(dir, read).map_err(|e| fail(format!("{}: lock: {e}", dir.display())))?
}

fn run_apply(
    config_dir: &Path,
    pdir: &Path,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Res<()> {
    let env = RelayEnv::from_env().map_err(fail)?;
    for note in env.notes() {
        let _ = writeln!(stderr, "{PROG}: warning: {note}");
    }
    let [relaymap, sasl, accounts, virtual_] = read_sources(config_dir)?;
    let domains = render::managed_domains(accounts.as_deref(), virtual_.as_deref());
    let abs = std::path::absolute(pdir).map_err(|e| fail(format!("{}: {e}", pdir.display())))?;
    let options = RenderOptions {
        postfix_dir: abs.to_string_lossy().into_owned(),
        config_dir: config_dir.to_string_lossy().into_owned(),
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
    .map_err(fail)?;
    for w in &rendered.warnings {
        let _ = writeln!(stderr, "{PROG}: warning: {w}");
    }
    let report = apply(&rendered, pdir).map_err(fail)?;
    let mut s = String::new();
    for p in &report.written {
        s.push_str(&format!("wrote {}\n", p.display()));
    }
    if report.main_cf_changed {
        s.push_str(&format!(
            "updated {}\n",
            pdir.join(dms_relay::apply::MAIN_CF_FILE).display()
        ));
    }
    for p in &report.removed {
        s.push_str(&format!("removed {}\n", p.display()));
    }
    stdout
        .write_all(s.as_bytes())
        .map_err(|e| fail(format!("stdout: {e}")))
}

// ------------------------------------------------------------------ bench

/// `bench-ops N`: N operations through the library in one
/// `ConfigDir::edit`, i.e. one locked read and one save. The operations
/// cycle through `add-domain dK.bench.test`, `add-auth dK.bench.test` and
/// `exclude-domain xK.bench.test` (K = i / 3), on top of whatever the
/// directory holds. Prints `bench-ops: N operations, one save: X.XXX ms`.
fn bench_ops(cfg: &ConfigDir, n: usize, stdout: &mut dyn Write) -> Res<()> {
    let relay: Host = "smtp.relay.test".parse().map_err(fail)?;
    let creds = Credentials::new("bench", "bench-pw").map_err(fail)?;
    let start = Instant::now();
    let r = cfg
        .edit(|docs| -> Result<(), dms_relay::store::StoreError> {
            for i in 0..n {
                let k = i / 3;
                match i % 3 {
                    0 => {
                        let d: SenderDomain = format!("d{k}.bench.test").parse()?;
                        docs.relaymap.add_domain(&d, &relay, Port::new(587).ok())?
                    }
                    1 => {
                        let d: SenderDomain = format!("d{k}.bench.test").parse()?;
                        docs.sasl.add_auth(&d, &creds)?
                    }
                    _ => {
                        let d: SenderDomain = format!("x{k}.bench.test").parse()?;
                        docs.relaymap.exclude_domain(&d)?
                    }
                };
            }
            Ok(())
        })
        .map_err(fail)?;
    r.map_err(fail)?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    writeln!(stdout, "bench-ops: {n} operations, one save: {ms:.3} ms")
        .map_err(|e| fail(format!("stdout: {e}")))
}
