//! DMS's config directory (`/tmp/docker-mailserver`): the `setup relay`
//! commands on `postfix-relaymap.cf` and `postfix-sasl-password.cf`.
//!
//! Both files are kept as lossless [`postfix_table::Table`] documents:
//! comments, blank lines, separators, line endings and order survive every
//! edit. Keys are matched the way Postfix matches them (literally, after
//! case folding); nothing is ever interpreted as a regular expression.
//!
//! | command | DMS | here |
//! |---|---|---|
//! | `add-domain D H [P]` | appends `@D␠[H]:P↵` (P = 25) or rewrites the line | [`ConfigDir::add_domain`]: same bytes for a new entry; an existing key is replaced in place |
//! | `add-auth D U PW` | appends `@D␠U:PW↵` | [`ConfigDir::add_auth`] (file created 0600, not 0644) |
//! | `exclude-domain D` | appends `@D␠↵` | [`ConfigDir::exclude_domain`] |
//! | – | – | [`ConfigDir::remove_domain`], [`ConfigDir::remove_auth`], [`ConfigDir::include_domain`], [`ConfigDir::list`] |
//!
//! Deliberate differences from DMS (spec section 5):
//!
//! * Keys match literally and case-insensitively (DMS: a regex built from
//!   the domain, `grep -i` to find and case-sensitive `sed` to replace).
//! * Re-running a command that is already in effect succeeds with
//!   [`Outcome::Unchanged`] and writes nothing (DMS exits 1).
//! * Lines are read as Postfix reads them: a key-only line (`@x`, with or
//!   without trailing whitespace) is an opt-out, an indented line belongs to
//!   the entry above it (it is never a key), and of several lines with the
//!   same key the first mapping counts. Replacing a key rewrites its first
//!   line in place (keeping the key's spelling, separator and line ending)
//!   and removes the later duplicates ([`postfix_table::Table::set`]).
//! * A file without a final newline gets one before an append (DMS glues
//!   the new entry onto the last line).
//! * New entries are always appended as `@D␠VALUE↵` (LF), exactly as DMS
//!   writes them, whatever the file's own separator or line ending.
//! * Inputs are typed ([`crate::types`]): invalid input is refused before
//!   anything is read or written.
//! * Every command runs under [`crate::fsutil::with_lock`] and writes with
//!   [`crate::fsutil::write_atomic`]; a new `postfix-sasl-password.cf` is
//!   created with mode 0600.
//!
//! ```
//! use dms_relay::store::{ConfigDir, Outcome};
//! use dms_relay::types::{Credentials, Host, Port, SenderDomain};
//!
//! let tmp = tempfile::tempdir()?;
//! let cfg = ConfigDir::new(tmp.path());
//! let d: SenderDomain = "example.org".parse()?;
//! let h: Host = "smtp.relay.test".parse()?;
//! assert_eq!(cfg.add_domain(&d, &h, Some(Port::new(587)?))?, Outcome::Added);
//! assert_eq!(cfg.add_domain(&d, &h, Some(Port::new(587)?))?, Outcome::Unchanged);
//! cfg.add_auth(&d, &Credentials::new("user", "secret")?)?;
//! cfg.exclude_domain(&"other.org".parse()?)?;
//! assert_eq!(
//!     std::fs::read_to_string(cfg.relaymap_path())?,
//!     "@example.org [smtp.relay.test]:587\n@other.org \n"
//! );
//! let list = cfg.list()?;
//! assert_eq!(list.relays.len(), 1);
//! assert!(list.credentials[0].password.is_none()); // redacted unless asked for
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use postfix_table::{Change, EditError, Node, Table};

use crate::fsutil::{self, AtomicWrite, Hook};
use crate::types::{Credentials, Host, Password, Port, RelayHost, SenderDomain, ValidationError};

/// DMS's config directory.
pub const DEFAULT_CONFIG_DIR: &str = "/tmp/docker-mailserver";
/// The relay map: sender key → next hop; a key alone is an opt-out.
pub const RELAYMAP_FILE: &str = "postfix-relaymap.cf";
/// The credentials: sender key → `user:password`.
pub const SASL_FILE: &str = "postfix-sasl-password.cf";
/// Mode of a newly created [`SASL_FILE`] (DMS creates it 0644).
pub const SASL_FILE_MODE: u32 = 0o600;

/// What a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A new line was appended.
    Added,
    /// An existing entry was rewritten in place (and any duplicates removed).
    Replaced,
    /// Lines were removed.
    Removed,
    /// The file already said this; nothing was written.
    Unchanged,
}

impl Outcome {
    /// True unless [`Outcome::Unchanged`].
    pub fn changed(self) -> bool {
        self != Outcome::Unchanged
    }
}

/// Why a command failed. Never contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing or locking failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The table refused an edit (cannot happen with validated input).
    #[error("{file}: {source}")]
    Edit {
        /// [`RELAYMAP_FILE`] or [`SASL_FILE`].
        file: &'static str,
        /// The reason.
        source: EditError,
    },
    /// An argument was invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

// ---------------------------------------------------------------- document

/// A table plus entries appended since it was parsed (kept apart so that
/// appends cost O(1); folded into the table when an edit needs it).
#[derive(Clone, Default)]
struct Doc {
    table: Table,
    tail: Vec<u8>,
    /// Folded key → value (`None` for an opt-out) of every line in `tail`.
    tail_keys: HashMap<String, Option<String>>,
}

fn fold(key: &str) -> String {
    key.to_ascii_lowercase()
}

fn change(c: Change) -> Outcome {
    match c {
        Change::Inserted => Outcome::Added,
        Change::Replaced => Outcome::Replaced,
        Change::Unchanged => Outcome::Unchanged,
    }
}

impl Doc {
    fn from_vec(bytes: Vec<u8>) -> Self {
        Doc {
            table: Table::from_vec(bytes),
            tail: Vec::new(),
            tail_keys: HashMap::new(),
        }
    }

    fn flush(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        let mut bytes = self.to_bytes();
        bytes.shrink_to_fit();
        self.table = Table::from_vec(bytes);
        self.tail.clear();
        self.tail_keys.clear();
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.table.to_bytes();
        if !self.tail.is_empty() {
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(&self.tail);
        }
        bytes
    }

    /// True when the table (not the tail) has a line for `key`.
    fn table_has(&self, key: &str) -> bool {
        self.table.get(key).is_some() || self.table.is_opted_out(key)
    }

    /// Appends `key␠value↵` (`key␠↵` for an opt-out): DMS's bytes.
    fn append(&mut self, key: &str, value: Option<&str>) {
        self.tail.extend_from_slice(key.as_bytes());
        self.tail.push(b' ');
        if let Some(v) = value {
            self.tail.extend_from_slice(v.as_bytes());
        }
        self.tail.push(b'\n');
        self.tail_keys.insert(fold(key), value.map(str::to_owned));
    }

    fn set(&mut self, key: &str, value: &str) -> Result<Outcome, EditError> {
        match self.tail_keys.get(&fold(key)) {
            Some(Some(v)) if v == value => return Ok(Outcome::Unchanged),
            Some(_) => self.flush(),
            None => {}
        }
        if self.table_has(key) {
            return self.table.set(key, value).map(change);
        }
        self.append(key, Some(value));
        Ok(Outcome::Added)
    }

    fn opt_out(&mut self, key: &str) -> Result<Outcome, EditError> {
        match self.tail_keys.get(&fold(key)) {
            Some(None) => return Ok(Outcome::Unchanged),
            Some(Some(_)) => self.flush(),
            None => {}
        }
        if self.table_has(key) {
            return match self.table.opt_out(key)? {
                Change::Unchanged => Ok(Outcome::Unchanged),
                c => {
                    self.space_after_opt_out(key);
                    Ok(change(c))
                }
            };
        }
        self.append(key, None);
        Ok(Outcome::Added)
    }

    /// Gives the (single) key-only line for `key` DMS's trailing space.
    fn space_after_opt_out(&mut self, key: &str) {
        let mut out = Vec::with_capacity(self.table.len_bytes() + 1);
        let mut done = false;
        for node in self.table.nodes() {
            match node {
                Node::Trivia { raw, .. } => out.extend_from_slice(raw),
                Node::Entry(e) => {
                    let raw = e.raw();
                    let klen = e.key().map_or(0, <[u8]>::len);
                    let hit = !done
                        && e.is_opt_out()
                        && e.key()
                            .is_some_and(|k| k.eq_ignore_ascii_case(key.as_bytes()));
                    let rest = raw.get(klen..).unwrap_or_default();
                    if hit
                        && (rest.is_empty() || rest.starts_with(b"\n") || rest.starts_with(b"\r\n"))
                    {
                        out.extend_from_slice(raw.get(..klen).unwrap_or_default());
                        out.push(b' ');
                        out.extend_from_slice(rest);
                        done = true;
                    } else {
                        out.extend_from_slice(raw);
                    }
                }
            }
        }
        if done {
            self.table = Table::from_vec(out);
        }
    }

    fn include(&mut self, key: &str) -> Outcome {
        match self.tail_keys.get(&fold(key)) {
            Some(Some(_)) => return Outcome::Unchanged,
            Some(None) => self.flush(),
            None => {}
        }
        if self.table.is_opted_out(key) && self.table.remove(key) > 0 {
            Outcome::Removed
        } else {
            Outcome::Unchanged
        }
    }

    fn remove(&mut self, key: &str) -> Outcome {
        if self.tail_keys.contains_key(&fold(key)) {
            self.flush();
        }
        if self.table.remove(key) > 0 {
            Outcome::Removed
        } else {
            Outcome::Unchanged
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        match self.tail_keys.get(&fold(key)) {
            Some(v) => v.clone(),
            None => self.table.get_str(key).map(|v| v.into_owned()),
        }
    }

    fn is_opted_out(&self, key: &str) -> bool {
        match self.tail_keys.get(&fold(key)) {
            Some(v) => v.is_none(),
            None => self.table.is_opted_out(key),
        }
    }
}

/// `postfix-relaymap.cf` in memory: sender key → next hop, and opt-outs.
///
/// Edits follow the rules in the [module docs](self). Appends are O(1);
/// a batch of edits is saved with one write by [`ConfigDir::edit`].
///
/// ```
/// use dms_relay::store::{Outcome, RelayMap};
/// let mut m = RelayMap::parse(b"# relays\n@a.test [x]:25");
/// let b = "b.test".parse()?;
/// m.add_domain(&b, &"y.test".parse()?, None)?;
/// m.exclude_domain(&"A.TEST".parse()?)?;
/// assert_eq!(m.to_bytes(), b"# relays\n@a.test \n@b.test [y.test]:25\n");
/// assert_eq!(m.relay(&b).as_deref(), Some("[y.test]:25"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct RelayMap {
    doc: Doc,
}

impl fmt::Debug for RelayMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayMap")
            .field("table", &self.doc.table)
            .field("appended", &self.doc.tail_keys.len())
            .finish()
    }
}

impl RelayMap {
    /// An empty map.
    pub fn new() -> Self {
        RelayMap::default()
    }

    /// Parses file content (never fails; see [`Table::parse`]).
    pub fn parse(bytes: &[u8]) -> Self {
        RelayMap::from_vec(bytes.to_vec())
    }

    /// Parses an owned buffer.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        RelayMap {
            doc: Doc::from_vec(bytes),
        }
    }

    /// DMS's `add-domain D H [P]`: routes `@D` through `[H]:P` (P = 25 when
    /// `None`).
    pub fn add_domain(
        &mut self,
        domain: &SenderDomain,
        host: &Host,
        port: Option<Port>,
    ) -> Result<Outcome, StoreError> {
        self.set_relay(domain, &RelayHost::dms(host.clone(), port))
    }

    /// Routes `@D` through any next-hop form (e.g. `relay.test` for an MX
    /// lookup, or `[relay.test]` for port 25 without writing it).
    pub fn set_relay(
        &mut self,
        domain: &SenderDomain,
        relay: &RelayHost,
    ) -> Result<Outcome, StoreError> {
        self.doc
            .set(&domain.key(), &relay.to_string())
            .map_err(|source| StoreError::Edit {
                file: RELAYMAP_FILE,
                source,
            })
    }

    /// DMS's `exclude-domain D`: an opt-out line `@D␠`, replacing a relay
    /// entry for `@D` in place.
    pub fn exclude_domain(&mut self, domain: &SenderDomain) -> Result<Outcome, StoreError> {
        self.doc
            .opt_out(&domain.key())
            .map_err(|source| StoreError::Edit {
                file: RELAYMAP_FILE,
                source,
            })
    }

    /// Undoes [`RelayMap::exclude_domain`]: removes the opt-out lines for
    /// `@D`. Unchanged when `@D` is not opted out (a relay entry for it is
    /// left alone).
    pub fn include_domain(&mut self, domain: &SenderDomain) -> Outcome {
        self.doc.include(&domain.key())
    }

    /// Removes every line for `@D`: relay entries and opt-outs.
    pub fn remove_domain(&mut self, domain: &SenderDomain) -> Outcome {
        self.doc.remove(&domain.key())
    }

    /// The next hop Postfix finds for `@D`, as written.
    pub fn relay(&self, domain: &SenderDomain) -> Option<String> {
        self.doc.get(&domain.key())
    }

    /// True when `@D` is opted out (a key-only line and no relay entry).
    pub fn is_excluded(&self, domain: &SenderDomain) -> bool {
        self.doc.is_opted_out(&domain.key())
    }

    /// The file content.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// The document as a [`Table`].
    pub fn table(&mut self) -> &Table {
        self.doc.flush();
        &self.doc.table
    }
}

/// `postfix-sasl-password.cf` in memory: sender key → `user:password`.
///
/// `Debug` shows no content.
///
/// ```
/// use dms_relay::store::SaslPasswords;
/// use dms_relay::types::Credentials;
/// let mut s = SaslPasswords::new();
/// let d = "example.org".parse()?;
/// s.add_auth(&d, &Credentials::new("u", "p:w")?)?;
/// assert_eq!(s.to_bytes(), b"@example.org u:p:w\n");
/// let (user, pw) = s.credentials(&d).unwrap();
/// assert_eq!((user.as_str(), pw.expose()), ("u", "p:w"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct SaslPasswords {
    doc: Doc,
}

impl fmt::Debug for SaslPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslPasswords")
            .field("table", &self.doc.table)
            .field("appended", &self.doc.tail_keys.len())
            .finish()
    }
}

impl SaslPasswords {
    /// An empty file.
    pub fn new() -> Self {
        SaslPasswords::default()
    }

    /// Parses file content (never fails).
    pub fn parse(bytes: &[u8]) -> Self {
        SaslPasswords::from_vec(bytes.to_vec())
    }

    /// Parses an owned buffer.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        SaslPasswords {
            doc: Doc::from_vec(bytes),
        }
    }

    /// DMS's `add-auth D U PW`: `@D␠U:PW`, replacing an entry for `@D` in
    /// place.
    pub fn add_auth(
        &mut self,
        domain: &SenderDomain,
        credentials: &Credentials,
    ) -> Result<Outcome, StoreError> {
        let value = credentials.table_value();
        self.doc
            .set(&domain.key(), value.as_str())
            .map_err(|source| StoreError::Edit {
                file: SASL_FILE,
                source,
            })
    }

    /// Removes every line for `@D`.
    pub fn remove_auth(&mut self, domain: &SenderDomain) -> Outcome {
        self.doc.remove(&domain.key())
    }

    /// The user and password Postfix finds for `@D` (split at the first
    /// `:`; the password is empty when there is none).
    pub fn credentials(&self, domain: &SenderDomain) -> Option<(String, Password)> {
        let value = self.doc.get(&domain.key())?;
        let (user, pw) = split_credentials(&value);
        Some((user.to_owned(), Password::from_file(pw.to_owned())))
    }

    /// The file content (holds passwords).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.doc.to_bytes()
    }

    /// The document as a [`Table`] (holds passwords).
    pub fn table(&mut self) -> &Table {
        self.doc.flush();
        &self.doc.table
    }
}

fn split_credentials(value: &str) -> (&str, &str) {
    value.split_once(':').unwrap_or((value, ""))
}

// ---------------------------------------------------------------- listing

/// A table key as a typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TableKey {
    /// `@domain` with a valid domain.
    Domain(SenderDomain),
    /// Anything else (a full address, `[relay]:port`, a malformed key), as
    /// written.
    Other(String),
}

impl TableKey {
    fn parse(key: &str) -> Self {
        match key.strip_prefix('@').map(SenderDomain::new) {
            Some(Ok(d)) => TableKey::Domain(d),
            _ => TableKey::Other(key.to_owned()),
        }
    }
}

impl fmt::Display for TableKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableKey::Domain(d) => write!(f, "@{d}"),
            TableKey::Other(s) => f.write_str(s),
        }
    }
}

/// A next hop read from the relay map.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// A valid next hop.
    Relay(RelayHost),
    /// A value [`RelayHost`] does not accept (e.g. a service name as port),
    /// as Postfix reads it.
    Unparsed(String),
}

/// A relay entry, as Postfix reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEntry {
    /// The key.
    pub key: TableKey,
    /// The value.
    pub next_hop: NextHop,
    /// 1-based line number.
    pub line: usize,
}

/// An opt-out line (`@D` alone), for a key without a relay entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedEntry {
    /// The key.
    pub key: TableKey,
    /// 1-based line number.
    pub line: usize,
}

/// A credentials entry, as Postfix reads it. `Debug` never shows the
/// password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialEntry {
    /// The key.
    pub key: TableKey,
    /// The text before the first `:`.
    pub user: String,
    /// The text after it; `None` unless asked for
    /// ([`ConfigDir::list_with_passwords`]).
    pub password: Option<Password>,
    /// 1-based line number.
    pub line: usize,
}

/// What the two files say, as Postfix reads them: for each key, its first
/// mapping (later duplicates, indented continuation lines and ignored lines
/// do not appear), and the opt-outs of keys that have no mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Relay entries in file order.
    pub relays: Vec<RelayEntry>,
    /// Opt-outs in file order.
    pub excluded: Vec<ExcludedEntry>,
    /// Credentials in file order.
    pub credentials: Vec<CredentialEntry>,
}

/// Both documents, for [`ConfigDir::edit`]. `Debug` shows no content
/// (the SASL file holds passwords).
#[derive(Clone, Default)]
pub struct Documents {
    /// `postfix-relaymap.cf`.
    pub relaymap: RelayMap,
    /// `postfix-sasl-password.cf`.
    pub sasl: SaslPasswords,
    relay_orig: Vec<u8>,
    sasl_orig: Vec<u8>,
}

impl fmt::Debug for Documents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the loaded bytes: `sasl_orig` holds the passwords.
        f.debug_struct("Documents")
            .field("relaymap", &self.relaymap)
            .field("sasl", &self.sasl)
            .field("relaymap_loaded_bytes", &self.relay_orig.len())
            .field("sasl_loaded_bytes", &self.sasl_orig.len())
            .finish()
    }
}

impl Documents {
    /// Both documents, from their current content (for in-memory use; a
    /// [`ConfigDir`] loads them from disk).
    pub fn from_parts(relaymap: RelayMap, sasl: SaslPasswords) -> Self {
        let relay_orig = relaymap.to_bytes();
        let sasl_orig = sasl.to_bytes();
        Documents {
            relaymap,
            sasl,
            relay_orig,
            sasl_orig,
        }
    }

    /// The typed view; passwords only when `passwords` is true.
    pub fn listing(&mut self, passwords: bool) -> Listing {
        let mut out = Listing::default();
        let relay = self.relaymap.table();
        let mut seen = std::collections::HashSet::new();
        for e in relay.entries() {
            let Some(key) = e.key_str() else { continue };
            if let Some(value) = e.value_str()
                && seen.insert(fold(key))
            {
                let next_hop = match value.parse::<RelayHost>() {
                    Ok(r) => NextHop::Relay(r),
                    Err(_) => NextHop::Unparsed(value.to_owned()),
                };
                out.relays.push(RelayEntry {
                    key: TableKey::parse(key),
                    next_hop,
                    line: e.line(),
                });
            }
        }
        let mut seen_opt = std::collections::HashSet::new();
        for e in relay.entries() {
            let Some(key) = e.key_str() else { continue };
            if e.is_opt_out() && !seen.contains(&fold(key)) && seen_opt.insert(fold(key)) {
                out.excluded.push(ExcludedEntry {
                    key: TableKey::parse(key),
                    line: e.line(),
                });
            }
        }
        let sasl = self.sasl.table();
        let mut seen = std::collections::HashSet::new();
        for e in sasl.entries() {
            let (Some(key), Some(value)) = (e.key_str(), e.value_str()) else {
                continue;
            };
            if seen.insert(fold(key)) {
                let (user, pw) = split_credentials(value);
                out.credentials.push(CredentialEntry {
                    key: TableKey::parse(key),
                    user: user.to_owned(),
                    password: passwords.then(|| Password::from_file(pw.to_owned())),
                    line: e.line(),
                });
            }
        }
        out
    }
}

// ------------------------------------------------------------------ commands

/// One `setup relay` command with validated arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `add-domain D H [P]` (or any next hop).
    AddDomain {
        /// The sender domain.
        domain: SenderDomain,
        /// The next hop.
        relay: RelayHost,
    },
    /// `add-auth D U PW`.
    AddAuth {
        /// The sender domain.
        domain: SenderDomain,
        /// The account.
        credentials: Credentials,
    },
    /// `exclude-domain D`.
    ExcludeDomain {
        /// The sender domain.
        domain: SenderDomain,
    },
    /// `include-domain D`: undo `exclude-domain`.
    IncludeDomain {
        /// The sender domain.
        domain: SenderDomain,
    },
    /// `del-domain D`.
    RemoveDomain {
        /// The sender domain.
        domain: SenderDomain,
    },
    /// `del-auth D`.
    RemoveAuth {
        /// The sender domain.
        domain: SenderDomain,
    },
}

impl Command {
    /// `add-domain D H [P]` from DMS's arguments: the next hop is `[H]:P`;
    /// a missing or empty P means 25, as in DMS.
    ///
    /// ```
    /// use dms_relay::store::Command;
    /// assert!(Command::add_domain("example.org", "smtp.relay.test", Some("587")).is_ok());
    /// assert!(Command::add_domain("a*b.test", "smtp.relay.test", None).is_err());
    /// ```
    pub fn add_domain(
        domain: &str,
        host: &str,
        port: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let domain = SenderDomain::new(domain)?;
        let host = Host::new(host)?;
        let port = match port {
            None | Some("") => None,
            Some(p) => Some(p.parse::<Port>()?),
        };
        Ok(Command::AddDomain {
            domain,
            relay: RelayHost::dms(host, port),
        })
    }

    /// `add-auth D U PW` from DMS's arguments.
    pub fn add_auth(domain: &str, user: &str, password: &str) -> Result<Self, ValidationError> {
        Ok(Command::AddAuth {
            domain: SenderDomain::new(domain)?,
            credentials: Credentials::new(user, password)?,
        })
    }

    /// `exclude-domain D`.
    pub fn exclude_domain(domain: &str) -> Result<Self, ValidationError> {
        Ok(Command::ExcludeDomain {
            domain: SenderDomain::new(domain)?,
        })
    }

    /// `include-domain D`.
    pub fn include_domain(domain: &str) -> Result<Self, ValidationError> {
        Ok(Command::IncludeDomain {
            domain: SenderDomain::new(domain)?,
        })
    }

    /// `del-domain D`.
    pub fn remove_domain(domain: &str) -> Result<Self, ValidationError> {
        Ok(Command::RemoveDomain {
            domain: SenderDomain::new(domain)?,
        })
    }

    /// `del-auth D`.
    pub fn remove_auth(domain: &str) -> Result<Self, ValidationError> {
        Ok(Command::RemoveAuth {
            domain: SenderDomain::new(domain)?,
        })
    }

    /// Applies the command to in-memory documents.
    pub fn apply_to(&self, docs: &mut Documents) -> Result<Outcome, StoreError> {
        match self {
            Command::AddDomain { domain, relay } => docs.relaymap.set_relay(domain, relay),
            Command::AddAuth {
                domain,
                credentials,
            } => docs.sasl.add_auth(domain, credentials),
            Command::ExcludeDomain { domain } => docs.relaymap.exclude_domain(domain),
            Command::IncludeDomain { domain } => Ok(docs.relaymap.include_domain(domain)),
            Command::RemoveDomain { domain } => Ok(docs.relaymap.remove_domain(domain)),
            Command::RemoveAuth { domain } => Ok(docs.sasl.remove_auth(domain)),
        }
    }

    /// True for commands that only remove lines.
    fn only_removes(&self) -> bool {
        matches!(
            self,
            Command::IncludeDomain { .. }
                | Command::RemoveDomain { .. }
                | Command::RemoveAuth { .. }
        )
    }
}

// --------------------------------------------------------------- ConfigDir

/// DMS's config directory: where `postfix-relaymap.cf` and
/// `postfix-sasl-password.cf` live. Each command locks the directory
/// ([`fsutil::with_lock`], lock file [`fsutil::LOCK_FILE`]), reads the
/// file(s), edits them in memory and writes them back atomically, and only
/// when a byte changed. Handles are cheap; any number of them (in threads
/// or processes) may work on one directory at once.
#[derive(Clone)]
pub struct ConfigDir {
    dir: PathBuf,
    hook: Option<Arc<dyn Hook>>,
}

impl fmt::Debug for ConfigDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigDir")
            .field("dir", &self.dir)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Default for ConfigDir {
    /// [`DEFAULT_CONFIG_DIR`].
    fn default() -> Self {
        ConfigDir::new(DEFAULT_CONFIG_DIR)
    }
}

impl ConfigDir {
    /// A config directory at `dir` (it need not exist yet; writing creates it).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ConfigDir {
            dir: dir.into(),
            hook: None,
        }
    }

    /// Injects faults into every file write (see [`fsutil::Hook`]); for tests.
    pub fn with_write_hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `DIR/postfix-relaymap.cf`.
    pub fn relaymap_path(&self) -> PathBuf {
        self.dir.join(RELAYMAP_FILE)
    }

    /// `DIR/postfix-sasl-password.cf`.
    pub fn sasl_path(&self) -> PathBuf {
        self.dir.join(SASL_FILE)
    }

    fn read_file(path: &Path) -> Result<Vec<u8>, StoreError> {
        match std::fs::read(path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io_err(path, "read")(e)),
        }
    }

    /// Reads both files (a missing file reads as empty), without locking.
    pub fn load(&self) -> Result<Documents, StoreError> {
        let relay_orig = Self::read_file(&self.relaymap_path())?;
        let sasl_orig = Self::read_file(&self.sasl_path())?;
        Ok(Documents {
            relaymap: RelayMap::parse(&relay_orig),
            sasl: SaslPasswords::parse(&sasl_orig),
            relay_orig,
            sasl_orig,
        })
    }

    fn save(&self, docs: &Documents) -> Result<(), StoreError> {
        let files = [
            (
                self.relaymap_path(),
                docs.relaymap.to_bytes(),
                &docs.relay_orig,
                None,
            ),
            (
                self.sasl_path(),
                docs.sasl.to_bytes(),
                &docs.sasl_orig,
                Some(SASL_FILE_MODE),
            ),
        ];
        for (path, new, old, mode) in files {
            if &new == old {
                continue;
            }
            let mut w = AtomicWrite::new(&path).mode(mode);
            if let Some(h) = &self.hook {
                w = w.hook(h.as_ref());
            }
            w.write(&new).map_err(io_err(&path, "write"))?;
        }
        Ok(())
    }

    /// Runs `f` on both documents under the lock and writes back what it
    /// changed (each file atomically, the relay map first): many edits, one
    /// save. Creates the directory when missing.
    ///
    /// ```
    /// use dms_relay::store::ConfigDir;
    /// let tmp = tempfile::tempdir()?;
    /// let cfg = ConfigDir::new(tmp.path());
    /// cfg.edit(|docs| -> Result<(), dms_relay::store::StoreError> {
    ///     for i in 0..3 {
    ///         let d = format!("d{i}.test").parse()?;
    ///         docs.relaymap.add_domain(&d, &"relay.test".parse()?, None)?;
    ///     }
    ///     Ok(())
    /// })??;
    /// assert_eq!(std::fs::read_to_string(cfg.relaymap_path())?.lines().count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn edit<R>(&self, f: impl FnOnce(&mut Documents) -> R) -> Result<R, StoreError> {
        fsutil::with_lock(&self.dir, || -> Result<R, StoreError> {
            let mut docs = self.load()?;
            let r = f(&mut docs);
            self.save(&docs)?;
            Ok(r)
        })
        .map_err(io_err(&self.dir, "lock"))?
    }

    /// Runs one command under the lock. Removals on a directory that does
    /// not exist change nothing and create nothing.
    pub fn apply(&self, command: &Command) -> Result<Outcome, StoreError> {
        if command.only_removes() && !self.dir.exists() {
            return Ok(Outcome::Unchanged);
        }
        let mut outcome = Ok(Outcome::Unchanged);
        self.edit(|docs| {
            let snapshot = (docs.relaymap.clone(), docs.sasl.clone());
            outcome = command.apply_to(docs);
            if outcome.is_err() {
                // Write nothing on error.
                docs.relaymap = snapshot.0;
                docs.sasl = snapshot.1;
            }
        })?;
        outcome
    }

    /// DMS's `setup relay add-domain D H [P]`: `@D [H]:P` (P = 25 when `None`).
    pub fn add_domain(
        &self,
        domain: &SenderDomain,
        host: &Host,
        port: Option<Port>,
    ) -> Result<Outcome, StoreError> {
        self.set_relay(domain, &RelayHost::dms(host.clone(), port))
    }

    /// Routes `@D` through any next-hop form ([`RelayHost`]).
    pub fn set_relay(
        &self,
        domain: &SenderDomain,
        relay: &RelayHost,
    ) -> Result<Outcome, StoreError> {
        self.apply(&Command::AddDomain {
            domain: domain.clone(),
            relay: relay.clone(),
        })
    }

    /// DMS's `setup relay add-auth D U PW`: `@D U:PW` in
    /// `postfix-sasl-password.cf` (created 0600).
    pub fn add_auth(
        &self,
        domain: &SenderDomain,
        credentials: &Credentials,
    ) -> Result<Outcome, StoreError> {
        self.apply(&Command::AddAuth {
            domain: domain.clone(),
            credentials: credentials.clone(),
        })
    }

    /// DMS's `setup relay exclude-domain D`: `@D␠` (opt-out).
    pub fn exclude_domain(&self, domain: &SenderDomain) -> Result<Outcome, StoreError> {
        self.apply(&Command::ExcludeDomain {
            domain: domain.clone(),
        })
    }

    /// Undoes `exclude_domain`: removes `@D`'s opt-out lines.
    pub fn include_domain(&self, domain: &SenderDomain) -> Result<Outcome, StoreError> {
        self.apply(&Command::IncludeDomain {
            domain: domain.clone(),
        })
    }

    /// Removes every `postfix-relaymap.cf` line for `@D` (relay and opt-out).
    pub fn remove_domain(&self, domain: &SenderDomain) -> Result<Outcome, StoreError> {
        self.apply(&Command::RemoveDomain {
            domain: domain.clone(),
        })
    }

    /// Removes every `postfix-sasl-password.cf` line for `@D`.
    pub fn remove_auth(&self, domain: &SenderDomain) -> Result<Outcome, StoreError> {
        self.apply(&Command::RemoveAuth {
            domain: domain.clone(),
        })
    }

    /// Relays, opt-outs and credentials, passwords left out.
    pub fn list(&self) -> Result<Listing, StoreError> {
        Ok(self.load()?.listing(false))
    }

    /// Like [`ConfigDir::list`], with the passwords.
    pub fn list_with_passwords(&self) -> Result<Listing, StoreError> {
        Ok(self.load()?.listing(true))
    }
}
