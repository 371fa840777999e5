//! The startup step: from the relay ENV, the two relay config files and the
//! managed domains to `relayhost_map`, `sasl_passwd`, `vhost` and the
//! main.cf relay parameters. Pure: no I/O.
//!
//! This is DMS's `_create_postfix_vhost` followed by `_setup_relayhost`
//! (spec §3), byte for byte where DMS is right, with these deliberate
//! differences (each is a bug of spec §5):
//!
//! | DMS | here |
//! |---|---|
//! | §5.7 a relaymap without a final newline glues the next line on | every generated line ends in LF |
//! | §5.8 indented lines are copied and become continuation lines | the indentation is removed (warning) |
//! | §5.9 inline `# comments` in `postfix-relaymap.cf` end up in the relay value | cut off (warning) |
//! | §5.10 legacy loop: unescaped, case-sensitive regexes | literal, case-insensitive key matching, as Postfix looks keys up; a vhost domain that differs only in case from an earlier one gets no second line |
//! | duplicates in a source file are copied; Postfix uses the first and warns | only the first is copied (warning) |
//! | §5.12 with `DEFAULT_RELAY_HOST`, `RELAY_HOST` and credentials, the credentials are keyed to the default host only | keyed to both hosts (warning) |
//! | §5.13 `RELAY_HOST=[h]:587` gives `[[h]:587]:25` | `RELAY_HOST` may be `h`, `[h]`, `h:port`, `[h]:port` or an IPv6 address; the result is always `[host]:port` |
//! | §5.17 credentials without any relay host are ignored silently | ignored with a warning |
//! | §5.18 SASL enabled (and TLS forced) with an empty `sasl_passwd` | SASL parameters only when `sasl_passwd` has an entry (warning) |
//! | §5.19 single-field lines are copied into `sasl_passwd` | dropped (warning) |
//! | §5.20 nothing is ever reset: stale parameters stay | convergent: every relay parameter the inputs do not call for is reset (see [`Rendered::main_cf`]) |
//! | §5.25 CRs and a missing final newline in the sources are fixed by rewriting the user's files | the sources are never written; the output is normalised instead |
//! | §5.5/§5.30 ENV values are not validated (line injection through `RELAY_HOST` or the password, comments in `relayhost`) | validated with [`crate::types`]; invalid values are refused ([`RenderError`]) and nothing is rendered |
//! | §3.7 with `RELAY_HOST` and no domains, `vhost` is rewritten to a lone LF | `vhost` stays empty |
//!
//! What DMS gets right is kept: the line order (the relaymap's lines, then
//! the managed domains in vhost order), the user's own separators on copied
//! lines and exactly four spaces on generated lines, the default port 25,
//! `DEFAULT_RELAY_HOST` used verbatim, credentials from the file before the
//! ENV line, the parameter set of spec §3.6, and the global
//! `smtp_tls_security_level = encrypt` whenever credentials are configured
//! (spec §5.14 is a policy question, left as DMS has it).
//!
//! ```
//! use dms_relay::env::RelayEnv;
//! use dms_relay::render::{render, Sources, managed_domains};
//!
//! let domains = managed_domains(Some(b"alice@alpha.test|{SHA512-CRYPT}x\n"), Some(b"@beta.test alice@alpha.test\n"));
//! assert_eq!(domains, ["alpha.test", "beta.test"]);
//! let env = RelayEnv::new().with_relay_host("smtp.relay.test").with_relay_port("587");
//! let out = render(
//!     &env,
//!     &Sources { relaymap: Some(b"@beta.test\n"), sasl_password: None, domains: &domains },
//! )
//! .unwrap();
//! assert_eq!(out.relayhost_map.as_deref(), Some(&b"@alpha.test    [smtp.relay.test]:587\n"[..]));
//! assert_eq!(out.sasl_passwd, None); // not created
//! assert_eq!(out.vhost, b"alpha.test\nbeta.test\n");
//! assert_eq!(
//!     out.warnings[0].to_string(),
//!     "Missing relay-host mapped credentials provided via ENV, or from /tmp/docker-mailserver/postfix-sasl-password.cf"
//! );
//!
//! let mut cf = postfix_maincf::MainCf::parse(b"relayhost =\nsmtp_tls_security_level = may\n");
//! dms_relay::render::main_cf_apply(&mut cf, &out).unwrap();
//! assert_eq!(
//!     cf.to_bytes(),
//!     b"relayhost =\nsmtp_tls_security_level = may\n\
//!       sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n"
//! );
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::env::{self, RelayEnv};
use crate::types::{Host, Password, Port, RelayHost, RelayUser, ValidationError};

/// DMS's config directory.
pub const DEFAULT_CONFIG_DIR: &str = "/tmp/docker-mailserver";
/// Where DMS writes the generated tables.
pub const DEFAULT_POSTFIX_DIR: &str = "/etc/postfix";

/// `relayhost`.
pub const RELAYHOST: &str = "relayhost";
/// `sender_dependent_relayhost_maps`.
pub const SENDER_DEPENDENT_RELAYHOST_MAPS: &str = "sender_dependent_relayhost_maps";
/// `smtp_sasl_auth_enable`.
pub const SMTP_SASL_AUTH_ENABLE: &str = "smtp_sasl_auth_enable";
/// `smtp_sasl_password_maps`.
pub const SMTP_SASL_PASSWORD_MAPS: &str = "smtp_sasl_password_maps";
/// `smtp_sasl_security_options`.
pub const SMTP_SASL_SECURITY_OPTIONS: &str = "smtp_sasl_security_options";
/// `smtp_sender_dependent_authentication`.
pub const SMTP_SENDER_DEPENDENT_AUTHENTICATION: &str = "smtp_sender_dependent_authentication";
/// `smtp_tls_security_level`.
pub const SMTP_TLS_SECURITY_LEVEL: &str = "smtp_tls_security_level";

/// The seven main.cf parameters the relay step manages, sorted. No other
/// parameter is ever touched.
pub const RELAY_PARAMETERS: [&str; 7] = [
    RELAYHOST,
    SENDER_DEPENDENT_RELAYHOST_MAPS,
    SMTP_SASL_AUTH_ENABLE,
    SMTP_SASL_PASSWORD_MAPS,
    SMTP_SASL_SECURITY_OPTIONS,
    SMTP_SENDER_DEPENDENT_AUTHENTICATION,
    SMTP_TLS_SECURITY_LEVEL,
];

/// The value a relay parameter is reset to when the inputs do not call for
/// it: the stock DMS `main.cf` value where stock DMS sets one
/// (`relayhost =`, `smtp_tls_security_level = may`), otherwise `None`
/// (the line is removed and Postfix's default applies).
pub fn reset_value(name: &str) -> Option<&'static str> {
    match name {
        RELAYHOST => Some(""),
        SMTP_TLS_SECURITY_LEVEL => Some("may"),
        _ => None,
    }
}

// ------------------------------------------------------------------ vhost

/// GNU grep's `\s` in the C locale.
fn is_grep_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// bash's default IFS whitespace (what `read` trims).
fn is_ifs_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// `_get_valid_lines_from_file` on a file's bytes, after the normalisation
/// it applies to a writable file: with a CRLF anywhere every CR is removed
/// (`sed -i 's/\r//g'`), a missing final newline is added, and lines that
/// are empty, whitespace-only or start with `#` after whitespace are dropped.
fn valid_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let crlf = bytes.windows(2).any(|w| w == b"\r\n");
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line: Vec<u8> = if crlf {
            line.iter().copied().filter(|&b| b != b'\r').collect()
        } else {
            line.to_vec()
        };
        match line.iter().position(|&b| !is_grep_space(b)) {
            None => continue,
            Some(i) if line.get(i) == Some(&b'#') => continue,
            Some(_) => out.push(line),
        }
    }
    out
}

/// `cut -d @ -f N` on one line (N is 1-based): the whole line when it has
/// no `@`, an empty field when there are fewer fields.
fn cut_at(line: &[u8], field: usize) -> &[u8] {
    if !line.contains(&b'@') {
        return line;
    }
    line.split(|&b| b == b'@')
        .nth(field.saturating_sub(1))
        .unwrap_or_default()
}

/// The managed domains exactly as DMS's `_create_postfix_vhost` lists them
/// in `/etc/postfix/vhost` (spec §3.2): `None` means the file is absent.
///
/// - `postfix-accounts.cf`: of each valid line, the text before the first
///   `|`, then its 2nd `@`-separated field (the whole name when it has no
///   `@`; `a@b@c` gives `b`). Whitespace is kept.
/// - `postfix-virtual.cf`: the first whitespace-separated field of each valid
///   line, then the part after `@`, only when it differs from the part
///   before it (`@wild.test` counts, `localpart` does not).
/// - Sorted in byte order (the container's C locale) and made unique; case
///   is preserved, so `Example.ORG` and `example.org` are both kept.
///
/// "Valid lines" are as `_get_valid_lines_from_file` gives them after it
/// normalised the file (CRs removed when the file has a CRLF). Not
/// emulated: LDAP's `DOMAINNAME`, and bash's `echo` taking an account named
/// `-n`/`-e`/`-E` as an option. Bytes that are not UTF-8 are replaced by
/// U+FFFD.
///
/// ```
/// use dms_relay::render::managed_domains;
/// let accounts = b"bob@B.test|x\n# c\nno-at|x\na@b@c|x\n";
/// let virtual_ = b"@wild.test a@b.test\nlocalpart other@x.test\n  info@b.test\tbob@B.test\n";
/// assert_eq!(
///     managed_domains(Some(accounts), Some(virtual_)),
///     ["B.test", "b", "b.test", "no-at", "wild.test"]
/// );
/// ```
pub fn managed_domains(accounts: Option<&[u8]>, virtual_: Option<&[u8]>) -> Vec<String> {
    let mut raw: Vec<Vec<u8>> = Vec::new();
    if let Some(bytes) = accounts {
        for line in valid_lines(bytes) {
            // `IFS='|' read -r LOGIN _`: no whitespace trimming with IFS=|.
            let login = line.split(|&b| b == b'|').next().unwrap_or_default();
            raw.push(cut_at(login, 2).to_vec());
        }
    }
    if let Some(bytes) = virtual_ {
        for line in valid_lines(bytes) {
            // `read -r FROM _` with the default IFS.
            let from: &[u8] = line
                .split(|&b| is_ifs_space(b))
                .find(|f| !f.is_empty())
                .unwrap_or_default();
            let (uname, domain) = (cut_at(from, 1), cut_at(from, 2));
            if uname != domain {
                raw.push(domain.to_vec());
            }
        }
    }
    raw.sort_unstable();
    raw.dedup();
    raw.into_iter()
        .map(|d| String::from_utf8_lossy(&d).into_owned())
        .collect()
}

/// The bytes of `/etc/postfix/vhost` for `domains`: one a line, LF-terminated;
/// empty for no domains. Give it [`managed_domains`]' result.
///
/// ```
/// assert_eq!(dms_relay::render::vhost_bytes(&["a.test".into(), "b.test".into()]), b"a.test\nb.test\n");
/// assert_eq!(dms_relay::render::vhost_bytes(&[]), b"");
/// ```
pub fn vhost_bytes(domains: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(domains.iter().map(|d| d.len() + 1).sum());
    for d in domains {
        out.extend_from_slice(d.as_bytes());
        out.push(b'\n');
    }
    out
}

// ------------------------------------------------------------------ inputs

/// The relay sources of one render: the two config files (`None` = the file
/// does not exist; an empty file is `Some(b"")`) and the managed domains.
///
/// Pass a `postfix_table::Table` as `Some(&table.to_bytes())`. Its `Debug`
/// output shows sizes only (the SASL file holds passwords).
#[derive(Clone, Copy, Default)]
pub struct Sources<'a> {
    /// `postfix-relaymap.cf`.
    pub relaymap: Option<&'a [u8]>,
    /// `postfix-sasl-password.cf`.
    pub sasl_password: Option<&'a [u8]>,
    /// The managed domains, as [`managed_domains`] lists them (the lines of
    /// `/etc/postfix/vhost`).
    pub domains: &'a [String],
}

impl fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("relaymap_bytes", &self.relaymap.map(<[u8]>::len))
            .field("sasl_password_bytes", &self.sasl_password.map(<[u8]>::len))
            .field("domains", &self.domains.len())
            .finish()
    }
}

/// Where things are, for parameter values and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// The directory the tables are written to (main.cf references
    /// `texthash:{postfix_dir}/relayhost_map` and `…/sasl_passwd`).
    /// Default [`DEFAULT_POSTFIX_DIR`].
    pub postfix_dir: String,
    /// The DMS config directory, as named in messages. Default
    /// [`DEFAULT_CONFIG_DIR`].
    pub config_dir: String,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            postfix_dir: DEFAULT_POSTFIX_DIR.to_string(),
            config_dir: DEFAULT_CONFIG_DIR.to_string(),
        }
    }
}

// ------------------------------------------------------------------ output

/// Which source file a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFile {
    /// `postfix-relaymap.cf`.
    Relaymap,
    /// `postfix-sasl-password.cf`.
    SaslPassword,
}

impl SourceFile {
    /// The file name.
    pub fn file_name(self) -> &'static str {
        match self {
            SourceFile::Relaymap => "postfix-relaymap.cf",
            SourceFile::SaslPassword => "postfix-sasl-password.cf",
        }
    }
}

/// What was wrong with one line of a source file (and how it was fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineProblem {
    /// Leading whitespace, which would make the line continue the previous
    /// one in the generated table (spec §5.8): removed.
    Indented,
    /// An inline `# comment` in `postfix-relaymap.cf`, which would become
    /// part of the relay (spec §5.9): cut off.
    InlineComment,
    /// A key without a value in `postfix-sasl-password.cf` (spec §5.19):
    /// dropped.
    NoValue,
    /// A key seen before (case-insensitively); Postfix would use the first
    /// and warn: dropped.
    Duplicate {
        /// The key.
        key: String,
    },
    /// A relaymap key without `@`: it never matches a sender (spec §4). Kept.
    KeyWithoutAt {
        /// The key.
        key: String,
    },
    /// A relaymap value with whitespace inside: not a single next hop. Kept.
    ValueNotSingleHop {
        /// The key.
        key: String,
    },
}

/// A warning from [`render`]. `Display` gives the message; DMS's own
/// warning is worded as DMS words it. No warning ever holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// DMS: a relay is configured but there are no credentials (neither
    /// `RELAY_USER` + `RELAY_PASSWORD` nor a SASL file with an entry).
    MissingCredentials {
        /// The path of `postfix-sasl-password.cf`, as DMS names it.
        sasl_file: String,
    },
    /// `RELAY_USER`/`RELAY_PASSWORD` are set but neither `RELAY_HOST` nor
    /// `DEFAULT_RELAY_HOST` is: DMS ignores them silently (spec §5.17/18).
    CredentialsWithoutHost,
    /// `postfix-sasl-password.cf` has credentials but nothing relays: DMS
    /// ignores it silently (spec §5.17).
    SaslFileWithoutRelay,
    /// Only one of `RELAY_USER` and `RELAY_PASSWORD` is set: no ENV
    /// credentials are used.
    PartialCredentials {
        /// The variable that is missing.
        missing: &'static str,
    },
    /// `DEFAULT_RELAY_HOST` and `RELAY_HOST` are both set with credentials:
    /// DMS keys them to the default host only while the managed domains go
    /// through `RELAY_HOST` (spec §5.12); they are keyed to both.
    BothHostsWithCredentials {
        /// `DEFAULT_RELAY_HOST`.
        default_relay_host: String,
        /// The `[host]:port` built from `RELAY_HOST`.
        relay_host: String,
    },
    /// `RELAY_HOST` carries its own port, so `RELAY_PORT` is not used.
    RelayPortIgnored {
        /// The `[host]:port` used.
        relay_host: String,
    },
    /// The SASL file already has credentials for the ENV relay; Postfix uses
    /// the first entry, so `RELAY_USER`/`RELAY_PASSWORD` are not added.
    EnvCredentialsShadowed {
        /// The next-hop key.
        key: String,
    },
    /// A managed domain that cannot be a table key (whitespace, a control
    /// character, a `"` or a `\` inside: Postfix would split the line there
    /// or read a quoted or escaped key) got no relay line.
    InvalidDomain {
        /// The domain.
        domain: String,
    },
    /// A source line was normalised or dropped.
    Line {
        /// The file.
        file: SourceFile,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        problem: LineProblem,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MissingCredentials { sasl_file } => write!(
                f,
                "Missing relay-host mapped credentials provided via ENV, or from {sasl_file}"
            ),
            Warning::CredentialsWithoutHost => f.write_str(
                "RELAY_USER and RELAY_PASSWORD are set but neither RELAY_HOST nor DEFAULT_RELAY_HOST is: the credentials are not used",
            ),
            Warning::SaslFileWithoutRelay => f.write_str(
                "postfix-sasl-password.cf has credentials but no relay host is configured (no postfix-relaymap.cf, RELAY_HOST or DEFAULT_RELAY_HOST): the credentials are not used",
            ),
            Warning::PartialCredentials { missing } => write!(
                f,
                "{missing} is not set: RELAY_USER and RELAY_PASSWORD are used only together"
            ),
            Warning::BothHostsWithCredentials {
                default_relay_host,
                relay_host,
            } => write!(
                f,
                "DEFAULT_RELAY_HOST and RELAY_HOST are both set: the ENV credentials are used for '{default_relay_host}' and for '{relay_host}' (docker-mailserver keys them to DEFAULT_RELAY_HOST only)"
            ),
            Warning::RelayPortIgnored { relay_host } => write!(
                f,
                "RELAY_HOST has its own port: RELAY_PORT is ignored, using '{relay_host}'"
            ),
            Warning::EnvCredentialsShadowed { key } => write!(
                f,
                "postfix-sasl-password.cf already has credentials for '{key}': RELAY_USER/RELAY_PASSWORD are not used for it"
            ),
            Warning::InvalidDomain { domain } => write!(
                f,
                "managed domain {domain:?} contains whitespace, a control character, a quote or a backslash: not relayed"
            ),
            Warning::Line {
                file,
                line,
                problem,
            } => {
                let name = file.file_name();
                match problem {
                    LineProblem::Indented => write!(
                        f,
                        "{name}, line {line}: leading whitespace removed (Postfix would read the line as a continuation of the previous one)"
                    ),
                    LineProblem::InlineComment => write!(
                        f,
                        "{name}, line {line}: inline comment removed (Postfix tables have no inline comments)"
                    ),
                    LineProblem::NoValue => write!(
                        f,
                        "{name}, line {line}: key without a value ignored"
                    ),
                    LineProblem::Duplicate { key } => write!(
                        f,
                        "{name}, line {line}: duplicate entry \"{key}\" ignored (the first one is used)"
                    ),
                    LineProblem::KeyWithoutAt { key } => write!(
                        f,
                        "{name}, line {line}: key \"{key}\" has no '@' and never matches a sender"
                    ),
                    LineProblem::ValueNotSingleHop { key } => write!(
                        f,
                        "{name}, line {line}: the relay for \"{key}\" contains whitespace"
                    ),
                }
            }
        }
    }
}

/// Why [`render`] refused its inputs. Messages name the variable and what
/// is wrong with it, never a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A relay variable is not acceptable (validated with [`crate::types`]).
    #[error("invalid {var}: {source}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        source: ValidationError,
    },
}

/// The result of [`render`]. Its `Debug` output never shows `sasl_passwd`.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `relayhost_map`: `None` when DMS would not create it (nothing to
    /// relay); a stale copy should then be removed. `Some(empty)` is an
    /// empty table (e.g. only `DEFAULT_RELAY_HOST`).
    pub relayhost_map: Option<Vec<u8>>,
    /// `sasl_passwd` (holds passwords: write it 0600): `None` when not
    /// created (no credentials in use); a stale copy should be removed.
    pub sasl_passwd: Option<Vec<u8>>,
    /// `vhost`: always written (empty for no domains).
    pub vhost: Vec<u8>,
    /// One entry for each of the [`RELAY_PARAMETERS`], in that order:
    /// `Some(value)` to set, `None` to remove. Parameters the inputs do not
    /// call for are reset ([`reset_value`]), so the result depends only on
    /// the inputs.
    pub main_cf: Vec<(&'static str, Option<String>)>,
    /// Warnings, in the order they arose.
    pub warnings: Vec<Warning>,
    /// False when nothing relays (DMS's `_setup_relayhost` returns 1).
    pub relaying: bool,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field(
                "relayhost_map",
                &self
                    .relayhost_map
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b)),
            )
            .field(
                "sasl_passwd",
                &self
                    .sasl_passwd
                    .as_ref()
                    .map(|b| format!("<{} bytes redacted>", b.len())),
            )
            .field("vhost_bytes", &self.vhost.len())
            .field("main_cf", &self.main_cf)
            .field("warnings", &self.warnings)
            .field("relaying", &self.relaying)
            .finish()
    }
}

impl Rendered {
    /// The value to set for `name`, `None` when it is to be removed or is
    /// not a relay parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.main_cf
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The parameters to set, as `(name, value)`.
    pub fn params_to_set(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.main_cf
            .iter()
            .filter_map(|(n, v)| v.as_deref().map(|v| (*n, v)))
    }

    /// The parameters to remove.
    pub fn params_to_remove(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.main_cf
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
    }
}

/// Applies [`Rendered::main_cf`] to `main_cf` with
/// [`postfix_maincf::MainCf::set_all`] and `remove_all`. Returns true when a
/// byte changed. Only the [`RELAY_PARAMETERS`] are touched. On an error
/// nothing is changed.
pub fn main_cf_apply(
    main_cf: &mut postfix_maincf::MainCf,
    rendered: &Rendered,
) -> Result<bool, postfix_maincf::EditError> {
    // Smallest edit: a parameter defined once with the wanted value is left
    // as written (e.g. stock DMS's `relayhost = ` keeps its trailing space).
    let unchanged = |name: &str, value: &str| {
        let mut defs = main_cf
            .parameters()
            .filter(|p| p.name.as_ref() == name.as_bytes());
        matches!(
            (defs.next(), defs.next()),
            (Some(p), None) if p.value.as_ref() == postfix_maincf::lines::trim_space(value.as_bytes())
        )
    };
    let to_set: Vec<(&str, &str)> = rendered
        .params_to_set()
        .filter(|(n, v)| !unchanged(n, v))
        .collect();
    let mut edited = main_cf.clone();
    let set = edited.set_all(to_set)?;
    let removed = edited.remove_all(rendered.params_to_remove())?;
    let changed = set.changed || removed.changed;
    if changed {
        *main_cf = edited;
    }
    Ok(changed)
}

// ------------------------------------------------------------------ validation

fn invalid(var: &'static str) -> impl FnOnce(ValidationError) -> RenderError {
    move |source| RenderError::InvalidEnv { var, source }
}

/// `[RELAY_HOST]:${RELAY_PORT:-25}`, accepting every next-hop form in
/// `RELAY_HOST` (spec §5.13): a bare host (IPv6 included) gets brackets and
/// the port; `[host]`, `host:port` and `[host]:port` keep their host and
/// port. Returns the hop and whether `RELAY_PORT` was overridden.
fn relay_host_hop(host: &str, port: Option<&str>) -> Result<(String, bool), RenderError> {
    let port = match port {
        Some(p) => Some(p.parse::<Port>().map_err(invalid(env::RELAY_PORT))?),
        None => None,
    };
    if let Ok(h) = Host::new(host) {
        return Ok((RelayHost::dms(h, port).to_string(), false));
    }
    let hop: RelayHost = host.parse().map_err(invalid(env::RELAY_HOST))?;
    let own = hop.port();
    let built = RelayHost::bracketed(hop.host().clone(), Some(own.or(port).unwrap_or_default()));
    let overridden = own.is_some() && port.is_some() && own != port;
    Ok((built.to_string(), overridden))
}

// ------------------------------------------------------------------ tables

/// One normalised line of a source table.
struct SourceLine<'a> {
    number: usize,
    key: &'a [u8],
    /// Separator and value as written (trailing whitespace trimmed).
    sep: &'a [u8],
    value: &'a [u8],
}

fn is_table_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

fn trim_table_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_table_space(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_table_space(*last)
    {
        s = rest;
    }
    s
}

fn fold_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key).to_lowercase()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Splits a source file into its non-comment, non-blank lines, normalised:
/// leading and trailing whitespace (CR included) removed; for the relaymap,
/// an inline comment (`#` after whitespace) cut off.
fn source_lines<'a>(
    bytes: &'a [u8],
    file: SourceFile,
    warnings: &mut Vec<Warning>,
) -> Vec<SourceLine<'a>> {
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let mut line = trim_table_space(raw);
        if line.is_empty() || line.first() == Some(&b'#') {
            continue;
        }
        if raw.first().is_some_and(|&b| is_table_space(b)) {
            warnings.push(Warning::Line {
                file,
                line: number,
                problem: LineProblem::Indented,
            });
        }
        if file == SourceFile::Relaymap
            && let Some(pos) = line
                .windows(2)
                .position(|w| matches!(w, [a, b'#'] if is_table_space(*a)))
        {
            warnings.push(Warning::Line {
                file,
                line: number,
                problem: LineProblem::InlineComment,
            });
            line = trim_table_space(line.get(..pos).unwrap_or_default());
        }
        let key_end = line
            .iter()
            .position(|&b| is_table_space(b))
            .unwrap_or(line.len());
        let (key, rest) = line.split_at(key_end);
        let value_start = rest
            .iter()
            .position(|&b| !is_table_space(b))
            .unwrap_or(rest.len());
        let (sep, value) = rest.split_at(value_start);
        out.push(SourceLine {
            number,
            key,
            sep,
            value,
        });
    }
    out
}

/// Copies a source line. A CR in the separator becomes a space: Postfix
/// reads both as whitespace there, and the output is normalised (no CR
/// outside a value).
fn push_line(out: &mut Vec<u8>, key: &[u8], sep: &[u8], value: &[u8]) {
    out.extend_from_slice(key);
    out.extend(sep.iter().map(|&b| if b == b'\r' { b' ' } else { b }));
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Warns about and drops a later entry whose key was seen before.
fn is_duplicate(
    seen: &mut HashSet<String>,
    file: SourceFile,
    l: &SourceLine<'_>,
    warnings: &mut Vec<Warning>,
) -> bool {
    if seen.insert(fold_key(l.key)) {
        return false;
    }
    warnings.push(Warning::Line {
        file,
        line: l.number,
        problem: LineProblem::Duplicate { key: lossy(l.key) },
    });
    true
}

// ------------------------------------------------------------------ render

/// [`render_with`] with the default [`RenderOptions`] (DMS's paths).
pub fn render(env: &RelayEnv, sources: &Sources<'_>) -> Result<Rendered, RenderError> {
    render_with(env, sources, &RenderOptions::default())
}

/// The startup step: see the [module docs](self) for what it does and where
/// it differs from DMS. Fails only on invalid ENV values; never panics.
pub fn render_with(
    env: &RelayEnv,
    sources: &Sources<'_>,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let mut warnings = Vec::new();
    let vhost = vhost_bytes(sources.domains);

    // ENV, validated.
    let default_host = match env.default_relay_host() {
        Some(d) => {
            d.parse::<RelayHost>()
                .map_err(invalid(env::DEFAULT_RELAY_HOST))?;
            Some(d.to_string())
        }
        None => None,
    };
    let relay_host = match env.relay_host() {
        Some(h) => {
            let (built, overridden) = relay_host_hop(h, env.relay_port())?;
            if overridden {
                warnings.push(Warning::RelayPortIgnored {
                    relay_host: built.clone(),
                });
            }
            Some(built)
        }
        None => None,
    };
    match (env.relay_user(), env.relay_password()) {
        (Some(_), None) => warnings.push(Warning::PartialCredentials {
            missing: env::RELAY_PASSWORD,
        }),
        (None, Some(_)) => warnings.push(Warning::PartialCredentials {
            missing: env::RELAY_USER,
        }),
        _ => {}
    }
    let env_creds = env.relay_user().zip(env.relay_password());

    // Sources, normalised.
    let relay_lines = sources
        .relaymap
        .map(|b| source_lines(b, SourceFile::Relaymap, &mut warnings));
    let sasl_lines = sources
        .sasl_password
        .map(|b| source_lines(b, SourceFile::SaslPassword, &mut warnings));

    let mut main_cf: Vec<(&'static str, Option<String>)> = RELAY_PARAMETERS
        .iter()
        .map(|&n| (n, reset_value(n).map(str::to_string)))
        .collect();
    fn set_param(params: &mut [(&'static str, Option<String>)], name: &str, value: String) {
        if let Some(slot) = params.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = Some(value);
        }
    }

    // §3.3 step 1: relayhost.
    if let Some(d) = &default_host {
        set_param(&mut main_cf, RELAYHOST, d.clone());
    }

    // §3.3 step 2: nothing relays → nothing else happens.
    if relay_lines.is_none() && default_host.is_none() && relay_host.is_none() {
        if env_creds.is_some() {
            warnings.push(Warning::CredentialsWithoutHost);
        }
        if sasl_lines
            .as_ref()
            .is_some_and(|l| l.iter().any(|l| !l.value.is_empty()))
        {
            warnings.push(Warning::SaslFileWithoutRelay);
        }
        return Ok(Rendered {
            relayhost_map: None,
            sasl_passwd: None,
            vhost,
            main_cf,
            warnings,
            relaying: false,
        });
    }

    // §3.4: sasl_passwd.
    let mut sasl = Vec::new();
    let mut sasl_keys: HashSet<String> = HashSet::new();
    let mut file_entries = 0usize;
    if let Some(lines) = &sasl_lines {
        for l in lines {
            if l.value.is_empty() {
                warnings.push(Warning::Line {
                    file: SourceFile::SaslPassword,
                    line: l.number,
                    problem: LineProblem::NoValue,
                });
                continue;
            }
            if is_duplicate(&mut sasl_keys, SourceFile::SaslPassword, l, &mut warnings) {
                continue;
            }
            push_line(&mut sasl, l.key, l.sep, l.value);
            file_entries += 1;
        }
    }
    let mut env_entries = 0usize;
    if let Some((user, password)) = env_creds {
        let password = password.expose();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(default_host.iter().cloned());
        keys.extend(relay_host.iter().cloned());
        if keys.is_empty() {
            warnings.push(Warning::CredentialsWithoutHost);
        } else {
            RelayUser::new(user).map_err(invalid(env::RELAY_USER))?;
            Password::new(password).map_err(invalid(env::RELAY_PASSWORD))?;
            if let (Some(d), Some(h)) = (&default_host, &relay_host) {
                warnings.push(Warning::BothHostsWithCredentials {
                    default_relay_host: d.clone(),
                    relay_host: h.clone(),
                });
            }
            let mut env_keys: HashSet<String> = HashSet::new();
            for key in keys {
                let folded = key.to_lowercase();
                if sasl_keys.contains(&folded) {
                    // The file has credentials for this hop: Postfix would
                    // use the file's (first) entry.
                    warnings.push(Warning::EnvCredentialsShadowed { key });
                    continue;
                }
                if !env_keys.insert(folded) {
                    // DEFAULT_RELAY_HOST and RELAY_HOST name the same hop.
                    continue;
                }
                sasl.extend_from_slice(key.as_bytes());
                sasl.extend_from_slice(b"    ");
                sasl.extend_from_slice(user.as_bytes());
                sasl.push(b':');
                sasl.extend_from_slice(password.as_bytes());
                sasl.push(b'\n');
                env_entries += 1;
            }
        }
    }
    let sasl_passwd = if file_entries + env_entries > 0 {
        let maps = format!("texthash:{}/sasl_passwd", options.postfix_dir);
        set_param(&mut main_cf, SMTP_SASL_PASSWORD_MAPS, maps);
        set_param(&mut main_cf, SMTP_SASL_AUTH_ENABLE, "yes".to_string());
        set_param(
            &mut main_cf,
            SMTP_SASL_SECURITY_OPTIONS,
            "noanonymous".to_string(),
        );
        set_param(&mut main_cf, SMTP_TLS_SECURITY_LEVEL, "encrypt".to_string());
        if file_entries > 0 {
            set_param(
                &mut main_cf,
                SMTP_SENDER_DEPENDENT_AUTHENTICATION,
                "yes".to_string(),
            );
        }
        Some(sasl)
    } else {
        // DMS warns only when neither source exists; an existing source
        // without a usable entry is the same situation.
        warnings.push(Warning::MissingCredentials {
            sasl_file: format!(
                "{}/{}",
                options.config_dir,
                SourceFile::SaslPassword.file_name()
            ),
        });
        None
    };

    // §3.5: relayhost_map.
    let mut map = Vec::new();
    let mut mapped: HashSet<String> = HashSet::new();
    let mut opted_out: HashSet<String> = HashSet::new();
    if let Some(lines) = &relay_lines {
        for l in lines {
            if l.value.is_empty() {
                opted_out.insert(fold_key(l.key));
                continue;
            }
            if is_duplicate(&mut mapped, SourceFile::Relaymap, l, &mut warnings) {
                continue;
            }
            if !l.key.contains(&b'@') {
                warnings.push(Warning::Line {
                    file: SourceFile::Relaymap,
                    line: l.number,
                    problem: LineProblem::KeyWithoutAt { key: lossy(l.key) },
                });
            }
            if l.value.iter().any(|&b| is_table_space(b)) {
                warnings.push(Warning::Line {
                    file: SourceFile::Relaymap,
                    line: l.number,
                    problem: LineProblem::ValueNotSingleHop { key: lossy(l.key) },
                });
            }
            push_line(&mut map, l.key, l.sep, l.value);
        }
    }
    if let Some(hop) = &relay_host {
        let suffix = format!("    {hop}\n");
        map.reserve(sources.domains.len() * (suffix.len() + 24));
        for raw in sources.domains {
            // `_get_valid_lines_from_file` + `read -r DOMAIN`.
            let domain = raw.trim_matches([' ', '\t']);
            if domain
                .trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b')
                .is_empty()
                || domain.starts_with('#')
            {
                continue;
            }
            if domain
                .contains(|c: char| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
            {
                warnings.push(Warning::InvalidDomain {
                    domain: domain.to_string(),
                });
                continue;
            }
            let key = format!("@{}", domain.to_lowercase());
            if opted_out.contains(&key) || mapped.contains(&key) {
                continue;
            }
            mapped.insert(key);
            map.push(b'@');
            map.extend_from_slice(domain.as_bytes());
            map.extend_from_slice(suffix.as_bytes());
        }
    }
    set_param(
        &mut main_cf,
        SENDER_DEPENDENT_RELAYHOST_MAPS,
        format!("texthash:{}/relayhost_map", options.postfix_dir),
    );

    Ok(Rendered {
        relayhost_map: Some(map),
        sasl_passwd,
        vhost,
        main_cf,
        warnings,
        relaying: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_semantics() {
        assert_eq!(cut_at(b"a@b@c", 2), b"b");
        assert_eq!(cut_at(b"abc", 2), b"abc");
        assert_eq!(cut_at(b"@w", 1), b"");
        assert_eq!(cut_at(b"@w", 2), b"w");
    }

    #[test]
    fn valid_lines_crlf() {
        assert_eq!(
            valid_lines(b"a\r\n \t\r\n#c\r\n  # d\nb\rc\r\n"),
            vec![b"a".to_vec(), b"bc".to_vec()]
        );
        assert_eq!(valid_lines(b"a\rb\n"), vec![b"a\rb".to_vec()]);
    }
}
