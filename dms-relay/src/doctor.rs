//! `doctor`: the relay-configuration problems that make mail go out
//! unauthenticated, to the wrong place, or not at all, each with the file
//! and line, a stable code, a message and a suggested fix; the mechanical
//! fixes can be applied ([`Report::fix`]), atomically, through this
//! workspace's lossless editors.
//!
//! | code | problem | `--fix` |
//! |---|---|---|
//! | `DR001` | credentials whose key can never match (its form differs from every next hop's, e.g. `[smtp.x]:587` for relayhost `smtp.x:587`) | rewrite the key to the next hop's form, when exactly one next hop has that host |
//! | `DR002` | credentials while `smtp_tls_security_level` is weaker than `encrypt` (the password may go out in clear text) | set `smtp_tls_security_level = encrypt` |
//! | `DR003` | credentials while `smtp_sasl_auth_enable` is off (they are never used) | set `smtp_sasl_auth_enable = yes` |
//! | `DR004` | a sender-dependent credential that is also offered to recipient MX servers (the sender's mail can be delivered directly) | – |
//! | `DR005` | a duplicate key in a `texthash:` table (the daemon refuses the whole table: mail is deferred) | keep the first line for the key (what `postmap` uses) |
//! | `DR006` | a key-only line in a table Postfix reads (ignored with a warning; an opt-out only means something in DMS's source files) | remove the line |
//! | `DR007` | an empty lookup result (Postfix treats it as a lookup error: mail is deferred) | – |
//! | `DR008` | a credential file readable or writable by group or others | `chmod 0600` |
//! | `DR009` | a table file that cannot be read (lookups fail: mail is deferred) | – |
//! | `DR010` | `DEFAULT_RELAY_HOST` and `RELAY_HOST` both set with credentials (DMS keys the credentials to DEFAULT_RELAY_HOST; mail routed to RELAY_HOST goes without AUTH) | – |
//! | `DR011` | a `texthash:` table changed after Postfix started (daemons read it at start: `postfix reload`), or an indexed table's source newer than its database (`postmap`) | – |
//!
//! ```
//! use dms_relay::doctor::{Doctor, Code};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(
//!     dir.path().join("main.cf"),
//!     "relayhost = smtp.example.com:587\nsmtp_sasl_auth_enable = yes\n\
//!      smtp_tls_security_level = encrypt\n\
//!      smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n",
//! )
//! .unwrap();
//! let sasl = dir.path().join("sasl_passwd");
//! std::fs::write(&sasl, "[smtp.example.com]:587 user:pw\n").unwrap();
//! std::fs::set_permissions(&sasl, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
//!
//! let report = Doctor::new(dir.path()).run().unwrap();
//! assert_eq!(report.problems.len(), 1);
//! assert_eq!(report.problems[0].code, Code::UnmatchedCredentials);
//! assert_eq!(report.problems[0].line, Some(1));
//!
//! let fixed = report.fix().unwrap();
//! assert_eq!(fixed.len(), 1);
//! assert_eq!(std::fs::read_to_string(&sasl).unwrap(), "smtp.example.com:587 user:pw\n");
//! assert!(Doctor::new(dir.path()).run().unwrap().problems.is_empty());
//! ```

use std::fmt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use postfix_maincf::MainCf;
use postfix_maincf::defaults::{Defaults, HostDefaults};
use postfix_table::pattern::{PatternDiagnosticKind, StatementKind};
use postfix_table::{DiagnosticKind, Node, Table};

use crate::env::RelayEnv;
use crate::explain::{LoadError, MapSource, NextHopSource, RelayConfig, next_hop_host};
use crate::fsutil;

/// A problem's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// `DR001`: credentials that can never match.
    UnmatchedCredentials,
    /// `DR002`: credentials without `smtp_tls_security_level = encrypt`.
    CredentialsWithoutEncrypt,
    /// `DR003`: credentials without `smtp_sasl_auth_enable = yes`.
    CredentialsWithoutAuth,
    /// `DR004`: sender-dependent credentials offered to recipient MX servers.
    CredentialsOfferedToMx,
    /// `DR005`: duplicate key in a texthash table.
    TexthashDuplicate,
    /// `DR006`: key-only line in a table Postfix reads.
    KeyOnlyLine,
    /// `DR007`: empty lookup result.
    EmptyResult,
    /// `DR008`: credential file permissions wider than 0600.
    CredentialFileMode,
    /// `DR009`: table file cannot be read.
    UnreadableTable,
    /// `DR010`: DEFAULT_RELAY_HOST and RELAY_HOST both set with credentials.
    DefaultAndRelayHost,
    /// `DR011`: a table changed since Postfix read it.
    ReloadNeeded,
}

impl Code {
    /// The stable code, `DR001`…
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnmatchedCredentials => "DR001",
            Code::CredentialsWithoutEncrypt => "DR002",
            Code::CredentialsWithoutAuth => "DR003",
            Code::CredentialsOfferedToMx => "DR004",
            Code::TexthashDuplicate => "DR005",
            Code::KeyOnlyLine => "DR006",
            Code::EmptyResult => "DR007",
            Code::CredentialFileMode => "DR008",
            Code::UnreadableTable => "DR009",
            Code::DefaultAndRelayHost => "DR010",
            Code::ReloadNeeded => "DR011",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mechanical fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fix {
    /// Rename a key in a table file (the line keeps its value).
    RenameKey {
        /// The table file.
        file: PathBuf,
        /// The key as written.
        from: String,
        /// The new key.
        to: String,
    },
    /// Set a main.cf parameter.
    SetParameter {
        /// main.cf.
        file: PathBuf,
        /// Name.
        name: &'static str,
        /// Value.
        value: &'static str,
    },
    /// Remove the logical line starting at `line` from a table file.
    RemoveLine {
        /// The table file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// `chmod 0600`.
    Chmod600 {
        /// The file.
        file: PathBuf,
    },
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable code.
    pub code: Code,
    /// The file concerned, if any.
    pub file: Option<PathBuf>,
    /// 1-based line, if any.
    pub line: Option<usize>,
    /// What is wrong (never holds a password).
    pub message: String,
    /// What to do.
    pub suggestion: String,
    /// The mechanical fix, when there is one.
    pub fix: Option<Fix>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(file) = &self.file {
            write!(f, " {}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        write!(f, "\n  fix: {}", self.suggestion)?;
        if self.fix.is_some() {
            f.write_str(" (--fix applies it)")?;
        }
        Ok(())
    }
}

/// What [`Doctor::run`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The problems, in a stable order (code, file, line).
    pub problems: Vec<Problem>,
}

/// Errors applying fixes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The edit was refused (nothing was written to that file).
    #[error("{path}: {message}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The checks to run.
#[derive(Debug, Clone)]
pub struct Doctor {
    postfix_dir: PathBuf,
    config_dir: Option<PathBuf>,
    env: Option<RelayEnv>,
}

impl Doctor {
    /// Checks the Postfix configuration in `postfix_dir` (main.cf and the
    /// relay tables it references).
    pub fn new(postfix_dir: &Path) -> Self {
        Doctor {
            postfix_dir: postfix_dir.to_path_buf(),
            config_dir: None,
            env: None,
        }
    }

    /// Also checks DMS's config directory (the credential file's mode).
    pub fn config_dir(mut self, dir: &Path) -> Self {
        self.config_dir = Some(dir.to_path_buf());
        self
    }

    /// Also checks DMS's relay ENV.
    pub fn env(mut self, env: RelayEnv) -> Self {
        self.env = Some(env);
        self
    }

    /// Runs every check.
    pub fn run(&self) -> Result<Report, LoadError> {
        let main_path = self.postfix_dir.join("main.cf");
        let bytes = std::fs::read(&main_path).map_err(|source| LoadError::MainCf {
            path: main_path.clone(),
            source,
        })?;
        let main = MainCf::from_vec(bytes);
        let config = RelayConfig::from_main_cf(&self.postfix_dir, &main);
        let mut out = Vec::new();
        let line_of = |name: &str| {
            main.parameters()
                .filter(|p| *p.name == *name.as_bytes())
                .last()
                .map(|p| p.line)
        };

        // Tables: duplicates, key-only lines, empty results, unreadable,
        // permissions, staleness.
        let defaults = Defaults::for_main_cf(HostDefaults::default(), &main);
        let resolved = main.resolved(&defaults);
        let queue_dir = resolved
            .expanded("queue_directory")
            .and_then(Result::ok)
            .map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()))
            .unwrap_or_else(|| PathBuf::from("/var/spool/postfix"));
        let started = std::fs::metadata(queue_dir.join("pid/master.pid"))
            .and_then(|m| m.modified())
            .ok();
        let mut has_credentials = false;
        for (parameter, map) in config.maps() {
            let sasl = parameter == "smtp_sasl_password_maps";
            match &map.source {
                MapSource::File { table, .. } => {
                    let file = map.file.clone().unwrap_or_default();
                    if sasl && table.entries().any(|e| e.value().is_some()) {
                        has_credentials = true;
                    }
                    check_table(&mut out, table, &file, map.kind == "texthash");
                    if sasl {
                        check_mode(&mut out, &file);
                    }
                    check_stale(&mut out, &file, &map.kind, started);
                }
                MapSource::Pattern(t) => {
                    let file = map.file.clone();
                    if sasl && t.statements().any(|st| st.kind() == StatementKind::Rule) {
                        has_credentials = true;
                    }
                    for d in t.diagnostics() {
                        if d.kind == PatternDiagnosticKind::NoReplacementText {
                            out.push(Problem {
                                code: Code::EmptyResult,
                                file: file.clone().or_else(|| Some(main_path.clone())),
                                line: if file.is_some() { Some(d.line) } else { line_of(parameter) },
                                message: format!(
                                    "{parameter}: {}: a rule without a result answers an empty string, which Postfix treats as a lookup error (the mail is deferred)",
                                    map.spec_short()
                                ),
                                suggestion: "give the rule a result or remove it".to_owned(),
                                fix: None,
                            });
                        }
                    }
                    if let Some(f) = &file {
                        if sasl {
                            check_mode(&mut out, f);
                        }
                        check_stale(&mut out, f, "texthash", started);
                    }
                }
                MapSource::Inline { r, .. } => {
                    if sasl && !r.inline_entries().unwrap_or_default().is_empty() {
                        has_credentials = true;
                    }
                    for (k, v) in r.inline_entries().unwrap_or_default() {
                        if v.is_empty() {
                            out.push(Problem {
                                code: Code::EmptyResult,
                                file: Some(main_path.clone()),
                                line: line_of(parameter),
                                message: format!(
                                    "{parameter}: {} returns an empty result for {k}: Postfix treats that as a lookup error and defers the mail",
                                    map.spec_short()
                                ),
                                suggestion: format!("give {k} a value or remove it"),
                                fix: None,
                            });
                        }
                    }
                }
                MapSource::Static(v) => {
                    if sasl {
                        has_credentials = true;
                    }
                    if v.is_empty() {
                        out.push(Problem {
                            code: Code::EmptyResult,
                            file: Some(main_path.clone()),
                            line: line_of(parameter),
                            message: format!("{parameter}: {} returns an empty result", map.spec),
                            suggestion: "give the static table a value".to_owned(),
                            fix: None,
                        });
                    }
                }
                MapSource::Broken(why) => out.push(Problem {
                    code: Code::UnreadableTable,
                    file: map.file.clone(),
                    line: None,
                    message: format!("{parameter}: {why}: every lookup fails and mail is deferred"),
                    suggestion:
                        "create the file or fix its permissions, or remove the table from main.cf"
                            .to_owned(),
                    fix: None,
                }),
                MapSource::Unknown(_) => {}
            }
        }
        if let Some(cfg) = &self.config_dir {
            let f = cfg.join("postfix-sasl-password.cf");
            if f.exists() {
                check_mode(&mut out, &f);
            }
        }

        // Settings that credentials need.
        if has_credentials {
            let level = config
                .setting("smtp_tls_security_level")
                .unwrap_or_default();
            if !matches!(
                level.trim().to_ascii_lowercase().as_str(),
                "encrypt" | "dane-only" | "fingerprint" | "verify" | "secure"
            ) {
                out.push(Problem {
                    code: Code::CredentialsWithoutEncrypt,
                    file: Some(main_path.clone()),
                    line: line_of("smtp_tls_security_level"),
                    message: format!(
                        "smtp_sasl_password_maps has credentials but smtp_tls_security_level = {}: a password may be sent without TLS",
                        if level.is_empty() { "(empty)" } else { level.as_str() }
                    ),
                    suggestion: "set smtp_tls_security_level = encrypt".to_owned(),
                    fix: Some(Fix::SetParameter {
                        file: main_path.clone(),
                        name: "smtp_tls_security_level",
                        value: "encrypt",
                    }),
                });
            }
            if !config.sasl_enabled() {
                out.push(Problem {
                    code: Code::CredentialsWithoutAuth,
                    file: Some(main_path.clone()),
                    line: line_of("smtp_sasl_auth_enable"),
                    message: "smtp_sasl_password_maps has credentials but smtp_sasl_auth_enable is off: they are never used"
                        .to_owned(),
                    suggestion: "set smtp_sasl_auth_enable = yes".to_owned(),
                    fix: Some(Fix::SetParameter {
                        file: main_path.clone(),
                        name: "smtp_sasl_auth_enable",
                        value: "yes",
                    }),
                });
            }
        }

        check_keys(&mut out, &config);

        if let Some(env) = &self.env
            && env.default_relay_host().is_some()
            && env.relay_host().is_some()
            && env.has_credentials()
        {
            out.push(Problem {
                code: Code::DefaultAndRelayHost,
                file: None,
                line: None,
                message: "DEFAULT_RELAY_HOST and RELAY_HOST are both set, with RELAY_USER/RELAY_PASSWORD: the credentials are keyed to DEFAULT_RELAY_HOST, so mail routed to RELAY_HOST goes without AUTH"
                    .to_owned(),
                suggestion: "set only one of DEFAULT_RELAY_HOST and RELAY_HOST, or add credentials for RELAY_HOST with `setup relay add-auth`"
                    .to_owned(),
                fix: None,
            });
        }
        out.sort_by(|a, b| (a.code, &a.file, a.line).cmp(&(b.code, &b.file, b.line)));
        out.dedup();
        Ok(Report { problems: out })
    }
}

/// DR005, DR006 for one table file.
fn check_table(out: &mut Vec<Problem>, table: &Table, file: &Path, texthash: bool) {
    for d in table.diagnostics() {
        match &d.kind {
            DiagnosticKind::Duplicate { key, first_line } if texthash => out.push(Problem {
                code: Code::TexthashDuplicate,
                file: Some(file.to_path_buf()),
                line: Some(d.line),
                message: format!(
                    "duplicate key {} (first on line {first_line}): a daemon refuses this texthash table, so every lookup in it fails and mail is deferred",
                    String::from_utf8_lossy(key)
                ),
                suggestion: format!("remove line {} (postmap would use line {first_line})", d.line),
                fix: Some(Fix::RemoveLine {
                    file: file.to_path_buf(),
                    line: d.line,
                }),
            }),
            _ => {}
        }
    }
    for e in table.entries() {
        if e.is_opt_out() {
            out.push(Problem {
                code: Code::KeyOnlyLine,
                file: Some(file.to_path_buf()),
                line: Some(e.line()),
                message: format!(
                    "key-only line {}: Postfix ignores it (with a warning); it does not opt anything out here",
                    String::from_utf8_lossy(e.key().unwrap_or_default())
                ),
                suggestion: format!("remove line {}", e.line()),
                fix: Some(Fix::RemoveLine {
                    file: file.to_path_buf(),
                    line: e.line(),
                }),
            });
        }
    }
}

/// DR008 / DR009 for a credential file.
fn check_mode(out: &mut Vec<Problem>, file: &Path) {
    match std::fs::metadata(file) {
        Ok(m) if m.mode() & 0o077 != 0 => out.push(Problem {
            code: Code::CredentialFileMode,
            file: Some(file.to_path_buf()),
            line: None,
            message: format!(
                "credential file has mode {:04o}: other users can read or change passwords",
                m.mode() & 0o7777
            ),
            suggestion: "chmod 0600".to_owned(),
            fix: Some(Fix::Chmod600 {
                file: file.to_path_buf(),
            }),
        }),
        Ok(_) => {}
        Err(e) => out.push(Problem {
            code: Code::UnreadableTable,
            file: Some(file.to_path_buf()),
            line: None,
            message: format!("cannot read the credential file: {e}"),
            suggestion: "fix the path or its permissions".to_owned(),
            fix: None,
        }),
    }
}

/// DR011.
fn check_stale(
    out: &mut Vec<Problem>,
    file: &Path,
    kind: &str,
    started: Option<std::time::SystemTime>,
) {
    let Ok(modified) = std::fs::metadata(file).and_then(|m| m.modified()) else {
        return;
    };
    if kind == "texthash" {
        if let Some(started) = started
            && modified > started
        {
            out.push(Problem {
                code: Code::ReloadNeeded,
                file: Some(file.to_path_buf()),
                line: None,
                message:
                    "changed after Postfix started: running daemons still use the old contents"
                        .to_owned(),
                suggestion: "postfix reload".to_owned(),
                fix: None,
            });
        }
    } else {
        let suffix = match kind {
            "hash" | "btree" => "db",
            "lmdb" => "lmdb",
            "cdb" => "cdb",
            _ => return,
        };
        let mut db = file.as_os_str().to_owned();
        db.push(".");
        db.push(suffix);
        let db_modified = std::fs::metadata(&db).and_then(|m| m.modified()).ok();
        if db_modified.is_none_or(|d| d < modified) {
            out.push(Problem {
                code: Code::ReloadNeeded,
                file: Some(file.to_path_buf()),
                line: None,
                message: format!(
                    "the source is newer than {} (or it is missing): Postfix reads the database, not this file",
                    Path::new(&db).display()
                ),
                suggestion: format!("postmap {kind}:{}", file.display()),
                fix: None,
            });
        }
    }
}

/// DR001 and DR004.
fn check_keys(out: &mut Vec<Problem>, config: &RelayConfig) {
    // Every next hop mail can take: relayhost and every
    // sender-dependent result (DUNNO means relayhost).
    let mut hops: Vec<String> = Vec::new();
    let relayhost = config.relayhost().to_owned();
    let mut direct_possible = relayhost.is_empty();
    if !relayhost.is_empty() {
        hops.push(relayhost);
    }
    for (parameter, map) in config.maps() {
        if parameter != "sender_dependent_relayhost_maps" {
            continue;
        }
        for v in map.values() {
            if v.eq_ignore_ascii_case("DUNNO") || v.is_empty() {
                continue;
            }
            hops.push(v);
        }
    }
    if hops.is_empty() {
        direct_possible = true;
    }
    let sender_auth = config.sender_auth();
    for (parameter, map) in config.maps() {
        if parameter != "smtp_sasl_password_maps" {
            continue;
        }
        let MapSource::File { table, .. } = &map.source else {
            continue;
        };
        let Some(file) = &map.file else { continue };
        for e in table.entries() {
            let (Some(key), Some(_)) = (e.key_str(), e.value()) else {
                continue;
            };
            let sender_like = key.contains('@') || key == "<>";
            if sender_like {
                if !sender_auth {
                    out.push(Problem {
                        code: Code::UnmatchedCredentials,
                        file: Some(file.clone()),
                        line: Some(e.line()),
                        message: format!(
                            "credentials keyed by sender {key} are never used: smtp_sender_dependent_authentication is off"
                        ),
                        suggestion: "set smtp_sender_dependent_authentication = yes, or key the credentials by the relay host"
                            .to_owned(),
                        fix: None,
                    });
                    continue;
                }
                // DR004: would this sender's mail go direct?
                let sample = if let Some(d) = key.strip_prefix('@') {
                    format!("user@{d}")
                } else {
                    key.to_owned()
                };
                let e2 = config.explain(&sample);
                if matches!(e2.next_hop_source, NextHopSource::Direct) {
                    out.push(Problem {
                        code: Code::CredentialsOfferedToMx,
                        file: Some(file.clone()),
                        line: Some(e.line()),
                        message: format!(
                            "credentials for sender {key} are offered to the recipient's MX servers: mail from {sample} is delivered directly (no relay host for it)"
                        ),
                        suggestion: format!(
                            "route {key} through its relay (sender_dependent_relayhost_maps / `setup relay add-domain`), or key the credentials by the relay host"
                        ),
                        fix: None,
                    });
                }
                continue;
            }
            let folded = key.to_lowercase();
            let matches = hops.iter().any(|h| {
                let (host, _) = next_hop_host(h);
                folded == h.to_lowercase() || folded == host.to_lowercase()
            });
            if matches {
                continue;
            }
            let (khost, _) = next_hop_host(key);
            let bare = !key.contains(['[', ']', ':']);
            if direct_possible && bare {
                // Could be an MX host's name.
                continue;
            }
            let mut same_host: Vec<&String> = hops
                .iter()
                .filter(|h| next_hop_host(h).0.eq_ignore_ascii_case(khost))
                .collect();
            same_host.sort();
            same_host.dedup();
            let (suggestion, fix) = match same_host.as_slice() {
                [h] => (
                    format!("write the key exactly as the next hop: {h}"),
                    Some(Fix::RenameKey {
                        file: file.clone(),
                        from: key.to_owned(),
                        to: (*h).clone(),
                    }),
                ),
                [] => (
                    format!(
                        "no next hop uses host {khost}: key the credentials by a next hop exactly as written ({}) or remove them",
                        if hops.is_empty() {
                            "none configured".to_owned()
                        } else {
                            hops.join(", ")
                        }
                    ),
                    None,
                ),
                many => (
                    format!(
                        "write the key exactly as one of the next hops: {}",
                        many.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None,
                ),
            };
            out.push(Problem {
                code: Code::UnmatchedCredentials,
                file: Some(file.clone()),
                line: Some(e.line()),
                message: format!(
                    "credentials keyed {key} never match: Postfix looks up the server host name and the next hop exactly as written ({})",
                    if hops.is_empty() { "no relay host is configured".to_owned() } else { hops.join(", ") }
                ),
                suggestion,
                fix,
            });
        }
    }
}

impl Report {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// Applies every mechanical fix, one atomic write per file (modes
    /// kept; credential files written 0600). Returns the fixes applied.
    /// Files are re-read first; a fix whose target changed meanwhile is
    /// refused rather than guessed.
    pub fn fix(&self) -> Result<Vec<Fix>, FixError> {
        let mut applied = Vec::new();
        // Group the table edits per file, applying line removals from the
        // bottom so line numbers stay valid.
        let mut files: Vec<&Path> = self
            .problems
            .iter()
            .filter_map(|p| match &p.fix {
                Some(Fix::RenameKey { file, .. } | Fix::RemoveLine { file, .. }) => {
                    Some(file.as_path())
                }
                _ => None,
            })
            .collect();
        files.sort();
        files.dedup();
        for file in files {
            let fixes: Vec<&Fix> = self
                .problems
                .iter()
                .filter_map(|p| p.fix.as_ref())
                .filter(|f| matches!(f, Fix::RenameKey { file: f2, .. } | Fix::RemoveLine { file: f2, .. } if f2 == file))
                .collect();
            let io = |source| FixError::Io {
                path: file.to_path_buf(),
                source,
            };
            let dir = file.parent().unwrap_or(Path::new("."));
            fsutil::with_lock(dir, || -> Result<(), FixError> {
                let bytes = std::fs::read(file).map_err(io)?;
                let mode = std::fs::metadata(file).map_err(io)?.mode() & 0o7777;
                let table = Table::parse(&bytes);
                let mut remove: Vec<usize> = Vec::new();
                let mut rename: Vec<(&str, &str)> = Vec::new();
                for f in &fixes {
                    match f {
                        Fix::RemoveLine { line, .. } => remove.push(*line),
                        Fix::RenameKey { from, to, .. } => rename.push((from, to)),
                        _ => {}
                    }
                }
                // A line to remove must still be what doctor found there (a
                // duplicate or a key-only line): the file may have changed
                // since, and removing by number would then guess.
                for &line in &remove {
                    let still = table.diagnostics().iter().any(|d| {
                        d.line == line && matches!(d.kind, DiagnosticKind::Duplicate { .. })
                    }) || table.entries().any(|e| e.line() == line && e.is_opt_out());
                    if !still {
                        return Err(FixError::Refused {
                            path: file.to_path_buf(),
                            message: format!(
                                "line {line} changed since doctor ran; run doctor again"
                            ),
                        });
                    }
                }
                let mut new = Vec::with_capacity(bytes.len());
                for node in table.nodes() {
                    match node {
                        Node::Trivia { raw, .. } => new.extend_from_slice(raw),
                        Node::Entry(e) if remove.contains(&e.line()) => {}
                        Node::Entry(e) => {
                            let renamed = e.key_str().and_then(|k| {
                                rename.iter().find(|(from, _)| *from == k).map(|(_, to)| *to)
                            });
                            match (renamed, e.key()) {
                                (Some(to), Some(k)) => {
                                    // Replace the key where it starts the
                                    // entry; the rest of the line is kept.
                                    let raw = e.raw();
                                    let at = raw.iter().position(|b| !b" \t".contains(b)).unwrap_or(0);
                                    if raw.get(at..at + k.len()) != Some(k) {
                                        return Err(FixError::Refused {
                                            path: file.to_path_buf(),
                                            message: format!(
                                                "line {}: the key is quoted or escaped; rename it by hand",
                                                e.line()
                                            ),
                                        });
                                    }
                                    new.extend_from_slice(raw.get(..at).unwrap_or_default());
                                    new.extend_from_slice(to.as_bytes());
                                    new.extend_from_slice(raw.get(at + k.len()..).unwrap_or_default());
                                }
                                _ => new.extend_from_slice(e.raw()),
                            }
                        }
                    }
                }
                if new != bytes {
                    fsutil::write_atomic(file, &new, Some(mode)).map_err(io)?;
                }
                Ok(())
            })
            .map_err(io)??;
            applied.extend(fixes.into_iter().cloned());
        }
        // main.cf settings.
        let mut sets: Vec<(&Path, &'static str, &'static str)> = Vec::new();
        for p in &self.problems {
            if let Some(Fix::SetParameter { file, name, value }) = &p.fix {
                sets.push((file, name, value));
            }
        }
        if let Some((file, ..)) = sets.first() {
            let file = *file;
            let io = |source| FixError::Io {
                path: file.to_path_buf(),
                source,
            };
            let dir = file.parent().unwrap_or(Path::new("."));
            fsutil::with_lock(dir, || -> Result<(), FixError> {
                let bytes = std::fs::read(file).map_err(io)?;
                let mode = std::fs::metadata(file).map_err(io)?.mode() & 0o7777;
                let mut cf = MainCf::from_vec(bytes.clone());
                cf.set_all(sets.iter().map(|(_, n, v)| (*n, *v)))
                    .map_err(|e| FixError::Refused {
                        path: file.to_path_buf(),
                        message: e.to_string(),
                    })?;
                let new = cf.to_bytes();
                if new != bytes {
                    fsutil::write_atomic(file, &new, Some(mode)).map_err(io)?;
                }
                Ok(())
            })
            .map_err(io)??;
            for (file, name, value) in sets {
                applied.push(Fix::SetParameter {
                    file: file.to_path_buf(),
                    name,
                    value,
                });
            }
        }
        for p in &self.problems {
            if let Some(Fix::Chmod600 { file }) = &p.fix {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(
                    |source| FixError::Io {
                        path: file.clone(),
                        source,
                    },
                )?;
                applied.push(Fix::Chmod600 { file: file.clone() });
            }
        }
        Ok(applied)
    }

    /// The report as JSON (`{"problems":[{"code":…,"file":…,"line":…,"message":…,"suggestion":…,"fixable":…}]}`).
    pub fn to_json(&self) -> String {
        let items: Vec<String> = self
            .problems
            .iter()
            .map(|p| {
                format!(
                    r#"{{"code":"{}","file":{},"line":{},"message":{},"suggestion":{},"fixable":{}}}"#,
                    p.code,
                    p.file
                        .as_ref()
                        .map_or_else(|| "null".to_owned(), |f| crate::explain::json_str(&f.to_string_lossy())),
                    p.line.map_or_else(|| "null".to_owned(), |l| l.to_string()),
                    crate::explain::json_str(&p.message),
                    crate::explain::json_str(&p.suggestion),
                    p.fix.is_some()
                )
            })
            .collect();
        format!(r#"{{"problems":[{}]}}"#, items.join(","))
    }
}
