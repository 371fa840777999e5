//! Which relay host and which credentials Postfix uses for a sender, and
//! why: every lookup of the trail, over any Postfix relay configuration
//! (main.cf and the tables it references), whether or not DMS wrote it.
//!
//! The rules are Postfix 3.7's (`trivial-rewrite` and `smtp`):
//!
//! * **Next hop.** `sender_dependent_relayhost_maps` is searched with the
//!   sender's address keys ([`postfix_table::address::search_keys`]: the
//!   full address, the address without its extension, the bare local parts
//!   for a local domain, `@domain`; the null sender as
//!   `empty_address_relayhost_maps_lookup_key`). Each key is tried in every
//!   table before the next key; pattern tables see only the full address.
//!   A hit gives the next hop (`DUNNO` means "use relayhost"); no hit gives
//!   `relayhost`; an empty `relayhost` means direct delivery to the
//!   recipient domain's MX hosts.
//! * **Credentials** (`smtp_sasl_password_maps`, only with
//!   `smtp_sasl_auth_enable = yes`, and only when the server offers AUTH):
//!   the sender's keys when `smtp_sender_dependent_authentication = yes`
//!   (never for the null sender), then the name of the server host (no
//!   brackets, no port), then the next hop exactly as written. `[h]:587`,
//!   `h:587`, `[h]` and `h` are four different keys. The value is split at
//!   its first `:` into user name and password.
//! * **Errors.** A table result that is the empty string is a lookup error,
//!   as is any lookup in a `texthash:` table with a duplicate key (the daemon
//!   refuses the table): Postfix defers the mail.
//!
//! What is not modelled, and said so in [`Explanation::notes`] when it
//! matters: DNS (for a next hop without brackets Postfix looks up MX
//! records; the host-name key then is the MX host's name, which
//! [`explain`](RelayConfig::explain) assumes to be the next hop's own name),
//! `transport_maps` and `sender_dependent_default_transport_maps` (which can
//! send mail elsewhere), and table types that need a server (ldap, mysql, …).
//!
//! Table types evaluated: `texthash`, the indexed types (from their source
//! file), `inline`, `static`, `proxy:` (its inner table), and `regexp`,
//! `pcre` and `cidr` (files or the `regexp:{ {rule}, … }` form) through
//! `postfix_table::pattern` — `regexp` with postfix-table's default
//! `regexp` feature, `pcre` with this crate's `pcre` feature. In
//! `sender_dependent_relayhost_maps` their rules with `$` substitution are
//! skipped, as Postfix skips them there.
//!
//! Table paths under `config_directory` (default `/etc/postfix`) are read
//! from the directory given to [`RelayConfig::load`], so a copy of a
//! server's configuration can be examined anywhere. Indexed tables
//! (`hash:`, `lmdb:`, `btree:`, `cdb:`, `dbm:`, `sdbm:`) are read from their
//! source file, which is what `postmap` builds them from.
//!
//! ```
//! use dms_relay::explain::{NextHopSource, RelayConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(
//!     dir.path().join("main.cf"),
//!     "relayhost = [smtp.example.com]:587\n\
//!      sender_dependent_relayhost_maps = texthash:/etc/postfix/relayhost_map\n\
//!      smtp_sasl_auth_enable = yes\n\
//!      smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n",
//! )
//! .unwrap();
//! std::fs::write(dir.path().join("relayhost_map"), "@shop.example [mail.shop.example]:2525\n").unwrap();
//! std::fs::write(dir.path().join("sasl_passwd"), "[mail.shop.example]:2525 shop:s3cret\n").unwrap();
//!
//! let config = RelayConfig::load(dir.path()).unwrap();
//! let e = config.explain("orders+eu@shop.example");
//! assert_eq!(e.next_hop.as_deref(), Some("[mail.shop.example]:2525"));
//! assert!(matches!(e.next_hop_source, NextHopSource::SenderDependent { .. }));
//! let creds = e.credentials().unwrap();
//! assert_eq!(creds.user, "shop");
//! assert_eq!(creds.password.expose(), "s3cret");
//! assert_eq!(creds.key, "[mail.shop.example]:2525");
//! // The password never shows in the explanation's text.
//! assert!(!e.to_string().contains("s3cret"));
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use postfix_maincf::MainCf;
use postfix_maincf::defaults::{Defaults, HostDefaults};
use postfix_table::address::{AddressLookup, search_keys};
use postfix_table::inline::Lookup;
use postfix_table::pattern::{PatternKind, PatternTable, StatementKind};
use postfix_table::spec::TableRef;
use postfix_table::{DiagnosticKind, Duplicates, Fold, Options, QueryError, Table};

use crate::types::Password;

/// Errors loading a Postfix configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// main.cf could not be read.
    #[error("cannot read {path}: {source}")]
    MainCf {
        /// Its path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// How one table answered one key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// A value (for a credentials table: redacted in [`fmt::Display`]).
    Found {
        /// The value as the table returned it.
        value: String,
        /// Line of the matching entry, for file tables.
        line: Option<usize>,
    },
    /// Not in the table.
    NotFound,
    /// Not consulted with this key (pattern tables see only the full
    /// address).
    Skipped,
    /// A lookup error: Postfix defers the mail.
    Error(String),
    /// This tool cannot evaluate the table (a server-backed type, or a
    /// pattern table type not supported here): the outcome is unknown.
    Unknown(String),
}

/// One lookup of the trail: a key tried in a table. `Debug` redacts the
/// password of a credentials-table answer (as `Display` and `to_json` do).
#[derive(Clone, PartialEq, Eq)]
pub struct Step {
    /// Which lookup: `sender_dependent_relayhost_maps` or
    /// `smtp_sasl_password_maps`.
    pub parameter: &'static str,
    /// What the key is (`sender`, `server host name`, `next hop`).
    pub role: &'static str,
    /// The table as written in main.cf.
    pub table: String,
    /// The file read for it, if any.
    pub file: Option<PathBuf>,
    /// The key.
    pub key: String,
    /// The answer.
    pub answer: Answer,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Raw(String);
        impl fmt::Debug for Raw {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        let redacted;
        let answer: &dyn fmt::Debug = match &self.answer {
            Answer::Found { value, line } if self.parameter == "smtp_sasl_password_maps" => {
                let user = value.split_once(':').map_or(value.as_str(), |(u, _)| u);
                redacted = Raw(format!(
                    "Found {{ value: \"{}:<redacted>\", line: {line:?} }}",
                    user.escape_debug()
                ));
                &redacted
            }
            other => other,
        };
        f.debug_struct("Step")
            .field("parameter", &self.parameter)
            .field("role", &self.role)
            .field("table", &self.table)
            .field("file", &self.file)
            .field("key", &self.key)
            .field("answer", answer)
            .finish()
    }
}

/// Where the next hop comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextHopSource {
    /// A `sender_dependent_relayhost_maps` hit.
    SenderDependent {
        /// The table.
        table: String,
        /// The key that matched.
        key: String,
    },
    /// `relayhost` (no sender-dependent hit, or `DUNNO`).
    Relayhost,
    /// `relayhost` is empty: delivery to the recipient domain's MX hosts.
    Direct,
    /// A lookup error: the mail is deferred.
    Deferred {
        /// Postfix's reason.
        reason: String,
    },
    /// A table could not be evaluated here (see [`Answer::Unknown`]).
    Unknown {
        /// Why.
        reason: String,
    },
}

/// The credentials Postfix presents.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Which key matched.
    pub key: String,
    /// What the key is (`sender`, `server host name`, `next hop`).
    pub role: &'static str,
    /// The table.
    pub table: String,
    /// The user name (before the first `:`).
    pub user: String,
    /// The password (after the first `:`; empty when there is none).
    pub password: Password,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("key", &self.key)
            .field("role", &self.role)
            .field("table", &self.table)
            .field("user", &self.user)
            .field("password", &self.password)
            .finish()
    }
}

/// What the SMTP client does about authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sasl {
    /// `smtp_sasl_auth_enable` is off: no credentials are looked up.
    Disabled,
    /// No key matched: the client does not authenticate.
    NoCredentials,
    /// A key matched.
    Credentials(Credentials),
    /// A lookup error: the mail is deferred.
    Deferred {
        /// Postfix's reason.
        reason: String,
    },
    /// A table could not be evaluated here.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// The answer for one sender.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The sender address (empty: the null sender).
    pub sender: String,
    /// The next hop exactly as written (`[smtp.example.com]:587`); `None`
    /// for direct delivery, a deferral or an unknown outcome.
    pub next_hop: Option<String>,
    /// Where it comes from.
    pub next_hop_source: NextHopSource,
    /// The authentication outcome.
    pub sasl: Sasl,
    /// Every lookup, in the order Postfix makes them.
    pub trail: Vec<Step>,
    /// TLS and SASL settings in force (`name`, value after expansion).
    pub settings: Vec<(&'static str, String)>,
    /// What the explanation assumes or cannot see.
    pub notes: Vec<String>,
}

impl Explanation {
    /// The credentials presented, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        match &self.sasl {
            Sasl::Credentials(c) => Some(c),
            _ => None,
        }
    }
}

/// A table as a Postfix daemon opens it.
#[derive(Debug)]
pub(crate) struct Map {
    /// As written in main.cf.
    pub(crate) spec: String,
    /// The table type (`texthash`, `hash`, `inline`, …; for `proxy:` the
    /// inner one).
    pub(crate) kind: String,
    pub(crate) file: Option<PathBuf>,
    pub(crate) source: MapSource,
}

#[derive(Debug)]
pub(crate) enum MapSource {
    /// texthash (refused by daemons when it has duplicates) or the source
    /// of an indexed table.
    File {
        table: Table,
        /// Why every lookup fails (a texthash duplicate).
        unusable: Option<String>,
    },
    Inline {
        r: TableRef,
        /// Folding as the daemons do (`smtputf8_enable`).
        options: Options,
    },
    Static(String),
    /// regexp, pcre or cidr (a file or `regexp:{ {rule}, … }`), with the
    /// rules Postfix skips for this parameter already removed.
    Pattern(PatternTable),
    /// Lookups fail (the daemon cannot open the table).
    Broken(String),
    /// Not evaluated here.
    Unknown(String),
}

/// Settings read by [`RelayConfig::load`].
const SETTINGS: &[&str] = &[
    "relayhost",
    "smtp_sasl_auth_enable",
    "smtp_sender_dependent_authentication",
    "smtp_sasl_security_options",
    "smtp_sasl_tls_security_options",
    "smtp_sasl_mechanism_filter",
    "smtp_tls_security_level",
    "smtp_tls_wrappermode",
    "smtp_tls_policy_maps",
];

/// main.cf and the relay tables it references, loaded once; explain any
/// number of senders with [`RelayConfig::explain`].
#[derive(Debug)]
pub struct RelayConfig {
    dir: PathBuf,
    relayhost: String,
    /// Why `relayhost` could not be expanded (Postfix stops with a fatal
    /// error: the outcome is not direct delivery).
    relayhost_error: Option<String>,
    relay_maps: Vec<Map>,
    sasl_maps: Vec<Map>,
    sasl_enabled: bool,
    sender_auth: bool,
    recipient_delimiter: String,
    local_domains: Vec<String>,
    null_sender_key: String,
    double_bounce: String,
    settings: Vec<(&'static str, String)>,
    notes: Vec<String>,
}

impl RelayConfig {
    /// Reads `postfix_dir/main.cf` and the tables that
    /// `sender_dependent_relayhost_maps` and `smtp_sasl_password_maps`
    /// reference. Only an unreadable main.cf is an error; a table that
    /// cannot be read makes its lookups fail, as in Postfix.
    pub fn load(postfix_dir: &Path) -> Result<Self, LoadError> {
        let path = postfix_dir.join("main.cf");
        let bytes = std::fs::read(&path).map_err(|source| LoadError::MainCf {
            path: path.clone(),
            source,
        })?;
        Ok(Self::from_main_cf(postfix_dir, &MainCf::from_vec(bytes)))
    }

    /// Like [`RelayConfig::load`], with main.cf already parsed; tables are
    /// read from `postfix_dir`.
    pub fn from_main_cf(postfix_dir: &Path, main: &MainCf) -> Self {
        let defaults = Defaults::for_main_cf(HostDefaults::default(), main);
        let v = main.resolved(&defaults);
        let mut notes = Vec::new();
        let text = |name: &str, notes: &mut Vec<String>| -> String {
            match v.expanded(name) {
                Some(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
                Some(Err(e)) => {
                    notes.push(format!("{name}: {e}"));
                    String::new()
                }
                None => String::new(),
            }
        };
        let flag = |name: &str, notes: &mut Vec<String>| -> bool {
            match v.bool(name) {
                Some(Ok(b)) => b,
                Some(Err(e)) => {
                    notes.push(format!("{name}: {e}"));
                    false
                }
                None => false,
            }
        };
        let config_directory = text("config_directory", &mut notes);
        let utf8 = flag("smtputf8_enable", &mut notes);
        let maps = |name: &str, notes: &mut Vec<String>| -> Vec<Map> {
            match v.table_refs(name) {
                Some(Ok(refs)) => refs
                    .iter()
                    .map(|r| {
                        open_map(
                            r,
                            postfix_dir,
                            &config_directory,
                            utf8,
                            name == "sender_dependent_relayhost_maps",
                        )
                    })
                    .collect(),
                // A table list Postfix cannot use (or this tool cannot
                // parse, e.g. nested too deep): not "no tables", which would
                // claim the relayhost or no credentials.
                Some(Err(e)) => {
                    let why = format!("{name}: {e}");
                    notes.push(why.clone());
                    vec![Map {
                        spec: String::from_utf8_lossy(&v.raw(name).unwrap_or_default())
                            .into_owned(),
                        kind: String::new(),
                        file: None,
                        source: MapSource::Unknown(why),
                    }]
                }
                None => Vec::new(),
            }
        };
        let relay_maps = maps("sender_dependent_relayhost_maps", &mut notes);
        let sasl_maps = maps("smtp_sasl_password_maps", &mut notes);
        let mut local_domains = Vec::new();
        let myorigin = text("myorigin", &mut notes);
        if !myorigin.is_empty() {
            local_domains.push(myorigin);
        }
        if let Some(Ok(list)) = v.list("mydestination") {
            for d in list {
                let d = String::from_utf8_lossy(&d).into_owned();
                if d.contains(':') || d.starts_with('/') {
                    notes.push(format!(
                        "mydestination lists the table {d}: domains in it are not treated as local here"
                    ));
                } else {
                    local_domains.push(d);
                }
            }
        }
        for name in ["transport_maps", "sender_dependent_default_transport_maps"] {
            if !text(name, &mut notes).trim().is_empty() {
                notes.push(format!(
                    "{name} is set: it can send mail to another transport or next hop, which this explanation does not evaluate"
                ));
            }
        }
        let settings = SETTINGS.iter().map(|&n| (n, text(n, &mut notes))).collect();
        RelayConfig {
            dir: postfix_dir.to_path_buf(),
            relayhost_error: match v.expanded("relayhost") {
                Some(Err(e)) => Some(format!("relayhost: {e}")),
                _ => None,
            },
            relayhost: text("relayhost", &mut notes).trim().to_owned(),
            relay_maps,
            sasl_maps,
            sasl_enabled: flag("smtp_sasl_auth_enable", &mut notes),
            sender_auth: flag("smtp_sender_dependent_authentication", &mut notes),
            recipient_delimiter: text("recipient_delimiter", &mut notes),
            local_domains,
            null_sender_key: text("empty_address_relayhost_maps_lookup_key", &mut notes),
            double_bounce: text("double_bounce_sender", &mut notes),
            settings,
            notes,
        }
    }

    /// The tables of both parameters, with the parameter's name.
    pub(crate) fn maps(&self) -> impl Iterator<Item = (&'static str, &Map)> + '_ {
        self.relay_maps
            .iter()
            .map(|m| ("sender_dependent_relayhost_maps", m))
            .chain(
                self.sasl_maps
                    .iter()
                    .map(|m| ("smtp_sasl_password_maps", m)),
            )
    }

    /// A setting read at load time ([`SETTINGS`]), expanded.
    pub(crate) fn setting(&self, name: &str) -> Option<String> {
        self.settings
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    pub(crate) fn sasl_enabled(&self) -> bool {
        self.sasl_enabled
    }

    pub(crate) fn sender_auth(&self) -> bool {
        self.sender_auth
    }

    /// `relayhost`, expanded and trimmed (empty: direct delivery).
    pub fn relayhost(&self) -> &str {
        &self.relayhost
    }

    /// The directory tables are read from.
    pub fn postfix_dir(&self) -> &Path {
        &self.dir
    }

    /// The tables of `sender_dependent_relayhost_maps` and
    /// `smtp_sasl_password_maps`: (parameter, spec as written, file read).
    pub fn tables(&self) -> impl Iterator<Item = (&'static str, &str, Option<&Path>)> + '_ {
        self.relay_maps
            .iter()
            .map(|m| ("sender_dependent_relayhost_maps", m))
            .chain(
                self.sasl_maps
                    .iter()
                    .map(|m| ("smtp_sasl_password_maps", m)),
            )
            .map(|(p, m)| (p, m.spec.as_str(), m.file.as_deref()))
    }

    /// Explains the relay host and credentials for mail from `sender` (an
    /// address in internal form, `user@domain`; empty for the null sender)
    /// to a remote recipient.
    pub fn explain(&self, sender: &str) -> Explanation {
        let mut trail = Vec::new();
        let mut notes = self.notes.clone();
        let is_local = |d: &str| self.local_domains.iter().any(|l| l.eq_ignore_ascii_case(d));

        // 1. The next hop.
        let relay_opts = AddressLookup {
            recipient_delimiter: &self.recipient_delimiter,
            is_local: &is_local,
            null_sender_key: Some(&self.null_sender_key),
            double_bounce_sender: &self.double_bounce,
        };
        let hit = address_search(
            "sender_dependent_relayhost_maps",
            &self.relay_maps,
            sender,
            &relay_opts,
            &mut trail,
        );
        let (next_hop, next_hop_source) = match hit {
            Search::Found { value, table, key } if !value.eq_ignore_ascii_case("DUNNO") => {
                (Some(value), NextHopSource::SenderDependent { table, key })
            }
            Search::Error(reason) => (None, NextHopSource::Deferred { reason }),
            Search::Unknown(reason) => (None, NextHopSource::Unknown { reason }),
            _ if let Some(reason) = &self.relayhost_error => (
                None,
                NextHopSource::Unknown {
                    reason: reason.clone(),
                },
            ),
            _ if self.relayhost.is_empty() => (None, NextHopSource::Direct),
            _ => (Some(self.relayhost.clone()), NextHopSource::Relayhost),
        };

        // 2. Credentials.
        let sasl = if !self.sasl_enabled {
            Sasl::Disabled
        } else if matches!(
            next_hop_source,
            NextHopSource::Deferred { .. } | NextHopSource::Unknown { .. }
        ) {
            Sasl::Unknown {
                reason: "the next hop is not known".to_owned(),
            }
        } else {
            self.sasl_lookup(
                sender,
                next_hop.as_deref(),
                &is_local,
                &mut trail,
                &mut notes,
            )
        };
        if self.sasl_enabled && !self.sasl_maps.is_empty() {
            notes.push(
                "credentials are only looked up when the server offers AUTH (after STARTTLS when TLS is used)"
                    .to_owned(),
            );
        }
        Explanation {
            sender: sender.to_owned(),
            next_hop,
            next_hop_source,
            sasl,
            trail,
            settings: self.settings.clone(),
            notes,
        }
    }

    fn sasl_lookup(
        &self,
        sender: &str,
        next_hop: Option<&str>,
        is_local: &dyn Fn(&str) -> bool,
        trail: &mut Vec<Step>,
        notes: &mut Vec<String>,
    ) -> Sasl {
        const P: &str = "smtp_sasl_password_maps";
        let done = |s: Search| -> Option<Sasl> {
            match s {
                Search::Found { value, table, key } => {
                    Some(Sasl::Credentials(split_credentials(&value, key, "", table)))
                }
                Search::Error(reason) => Some(Sasl::Deferred { reason }),
                Search::Unknown(reason) => Some(Sasl::Unknown { reason }),
                Search::NotFound => None,
            }
        };
        if self.sender_auth && !sender.is_empty() {
            let opts = AddressLookup {
                recipient_delimiter: &self.recipient_delimiter,
                is_local,
                null_sender_key: None,
                double_bounce_sender: &self.double_bounce,
            };
            let s = address_search(P, &self.sasl_maps, sender, &opts, trail);
            if let Some(out) = done(s) {
                return with_role(out, "sender");
            }
        }
        let Some(next_hop) = next_hop else {
            notes.push(
                "direct delivery: the host-name and next-hop keys are the recipient domain's MX host and the domain"
                    .to_owned(),
            );
            return Sasl::NoCredentials;
        };
        let (host, bracketed) = next_hop_host(next_hop);
        if !bracketed {
            notes.push(format!(
                "next hop {next_hop} has no brackets: Postfix looks up MX records for {host}; the host-name key is the MX host's name ({host} assumed)"
            ));
        }
        for (role, key) in [("server host name", host), ("next hop", next_hop)] {
            let s = maps_find(P, role, &self.sasl_maps, key, false, trail);
            if let Some(out) = done(s) {
                return with_role(out, role);
            }
        }
        Sasl::NoCredentials
    }
}

fn with_role(s: Sasl, role: &'static str) -> Sasl {
    match s {
        Sasl::Credentials(mut c) => {
            c.role = role;
            Sasl::Credentials(c)
        }
        other => other,
    }
}

/// `user:password` split at the first `:`.
fn split_credentials(value: &str, key: String, role: &'static str, table: String) -> Credentials {
    let (user, password) = value.split_once(':').unwrap_or((value, ""));
    Credentials {
        key,
        role,
        table,
        user: user.to_owned(),
        password: Password::from_file(password.to_owned()),
    }
}

/// The server host name of a next hop (`[h]:587` → `h`, `h:587` → `h`,
/// `[1.2.3.4]` → `1.2.3.4`, `[ipv6:…]` kept as written inside the
/// brackets), and whether it was in brackets (no MX lookup).
pub fn next_hop_host(next_hop: &str) -> (&str, bool) {
    let s = next_hop.split_once(',').map_or(next_hop, |(a, _)| a).trim();
    if let Some(rest) = s.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return (rest.get(..end).unwrap_or_default(), true);
    }
    (s.rsplit_once(':').map_or(s, |(h, _)| h), false)
}

enum Search {
    Found {
        value: String,
        table: String,
        key: String,
    },
    NotFound,
    Error(String),
    Unknown(String),
}

/// `mail_addr_find()`: each key in every table before the next key; pattern
/// tables see only the full address.
fn address_search(
    parameter: &'static str,
    maps: &[Map],
    address: &str,
    opts: &AddressLookup<'_>,
    trail: &mut Vec<Step>,
) -> Search {
    if maps.is_empty() {
        return Search::NotFound;
    }
    let keys = search_keys(address, opts);
    // The full address, in external (quoted) and internal form, is what
    // every table sees; the other keys go to fixed tables only.
    let as_looked_up = if address.is_empty() {
        opts.null_sender_key.unwrap_or_default()
    } else {
        address
    };
    let first = keys.first().cloned().unwrap_or_default();
    for key in &keys {
        let fixed_only = *key != first && key != as_looked_up;
        match maps_find(parameter, "sender", maps, key, fixed_only, trail) {
            Search::NotFound => continue,
            other => return other,
        }
    }
    Search::NotFound
}

/// `maps_find()`: the first table with an answer wins; an error stops.
fn maps_find(
    parameter: &'static str,
    role: &'static str,
    maps: &[Map],
    key: &str,
    fixed_only: bool,
    trail: &mut Vec<Step>,
) -> Search {
    if key.is_empty() {
        return Search::NotFound;
    }
    for map in maps {
        let answer = if fixed_only && !map.is_fixed() {
            Answer::Skipped
        } else {
            map.lookup(key)
        };
        let step = Step {
            parameter,
            role,
            table: map.spec.clone(),
            file: map.file.clone(),
            key: key.to_owned(),
            answer: answer.clone(),
        };
        trail.push(step);
        match answer {
            Answer::Found { value, .. } if value.is_empty() => {
                let reason = format!(
                    "{parameter} lookup of {key} returns an empty string result (a lookup error: the mail is deferred)"
                );
                if let Some(last) = trail.last_mut() {
                    last.answer = Answer::Error(reason.clone());
                }
                return Search::Error(reason);
            }
            Answer::Found { value, .. } => {
                return Search::Found {
                    value,
                    table: map.spec.clone(),
                    key: key.to_owned(),
                };
            }
            Answer::Error(reason) => return Search::Error(reason),
            Answer::Unknown(reason) => return Search::Unknown(reason),
            Answer::NotFound | Answer::Skipped => {}
        }
    }
    Search::NotFound
}

impl Map {
    /// The spec, shortened for messages.
    pub(crate) fn spec_short(&self) -> String {
        if self.spec.len() > 60 {
            let cut = (0..=57)
                .rev()
                .find(|&i| self.spec.is_char_boundary(i))
                .unwrap_or(0);
            format!("{}...", self.spec.get(..cut).unwrap_or_default())
        } else {
            self.spec.clone()
        }
    }

    /// Every value a lookup can return (for the next hops a table can give).
    pub(crate) fn values(&self) -> Vec<String> {
        match &self.source {
            MapSource::File { table, .. } => table
                .effective()
                .into_iter()
                .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
                .collect(),
            MapSource::Inline { r, .. } => r
                .inline_entries()
                .unwrap_or_default()
                .iter()
                .map(|(_, v)| v.clone())
                .collect(),
            MapSource::Static(v) => vec![v.clone()],
            MapSource::Pattern(t) => t
                .statements()
                .filter(|st| st.kind() == StatementKind::Rule)
                .filter_map(|st| st.result())
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .collect(),
            MapSource::Broken(_) | MapSource::Unknown(_) => Vec::new(),
        }
    }

    /// Postfix's `DICT_FLAG_FIXED`: consulted with every key of an address
    /// search, not only the full address.
    fn is_fixed(&self) -> bool {
        !matches!(self.source, MapSource::Pattern(_))
    }

    fn lookup(&self, key: &str) -> Answer {
        match &self.source {
            MapSource::File {
                unusable: Some(why),
                ..
            } => Answer::Error(why.clone()),
            MapSource::File { table, .. } => match table.get_entry(key.as_bytes()) {
                Some(e) => Answer::Found {
                    value: String::from_utf8_lossy(e.value().unwrap_or_default()).into_owned(),
                    line: Some(e.line()),
                },
                None => Answer::NotFound,
            },
            MapSource::Inline { r, options } => match r.lookup_with(key, *options) {
                Ok(Lookup::Found(v)) => Answer::Found {
                    value: v.to_owned(),
                    line: None,
                },
                Ok(_) => Answer::NotFound,
                Err(e) => Answer::Error(e.to_string()),
            },
            MapSource::Pattern(t) => match t.lookup(key.as_bytes()) {
                Ok(Some(v)) => Answer::Found {
                    value: String::from_utf8_lossy(&v).into_owned(),
                    line: None,
                },
                Ok(None) | Err(QueryError::NonUtf8Key { .. } | QueryError::NulInKey { .. }) => {
                    Answer::NotFound
                }
                Err(QueryError::EngineUnavailable { kind }) => Answer::Unknown(format!(
                    "{kind}: lookups need the `{kind}` feature of postfix-table (dms-relay's `pcre` feature for pcre)"
                )),
                Err(e) => Answer::Error(e.to_string()),
            },
            MapSource::Static(v) => Answer::Found {
                value: v.clone(),
                line: None,
            },
            MapSource::Broken(why) => Answer::Error(why.clone()),
            MapSource::Unknown(why) => Answer::Unknown(why.clone()),
        }
    }
}

/// Where a table file named in main.cf is read from: paths under
/// `config_directory` (or `/etc/postfix`) move to `postfix_dir`; relative
/// paths are relative to it.
fn rebase(path: &Path, postfix_dir: &Path, config_directory: &str) -> PathBuf {
    for base in [config_directory, "/etc/postfix"] {
        if base.is_empty() {
            continue;
        }
        if let Ok(rest) = path.strip_prefix(base) {
            return postfix_dir.join(rest);
        }
    }
    if path.is_relative() {
        return postfix_dir.join(path);
    }
    path.to_path_buf()
}

/// `t` without the rules whose result uses `$` substitution: Postfix opens
/// `sender_dependent_relayhost_maps` with `DICT_FLAG_NO_REGSUB` and skips
/// them ("regular expression substitution is not allowed"). Their lines
/// become comment lines, so line numbers stay those of the file.
fn without_substitution(t: PatternTable) -> PatternTable {
    let uses_dollar = |v: &[u8]| {
        let mut i = 0;
        while let Some(&b) = v.get(i) {
            if b == b'$' {
                if v.get(i + 1) == Some(&b'$') {
                    i += 2;
                    continue;
                }
                return true;
            }
            i += 1;
        }
        false
    };
    // (first line, number of lines) of each rule to skip.
    let skip: Vec<(usize, usize)> = t
        .statements()
        .filter(|st| st.kind() == StatementKind::Rule)
        .filter(|st| st.result().is_some_and(|v| uses_dollar(&v)))
        .map(|st| {
            let raw = st.raw();
            let lines =
                raw.iter().filter(|&&b| b == b'\n').count() + usize::from(!raw.ends_with(b"\n"));
            (st.line(), lines)
        })
        .collect();
    if skip.is_empty() {
        return t;
    }
    let bytes = t.to_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if skip
            .iter()
            .any(|&(first, count)| n >= first && n < first + count)
        {
            out.push(b'#');
            if line.ends_with(b"\n") {
                out.push(b'\n');
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    PatternTable::from_vec(t.kind(), out).with_utf8(t.utf8())
}

const INDEXED: &[&str] = &["hash", "btree", "lmdb", "cdb", "dbm", "sdbm"];

fn open_map(
    r: &TableRef,
    postfix_dir: &Path,
    config_directory: &str,
    utf8: bool,
    no_regsub: bool,
) -> Map {
    let spec = r.as_str().to_owned();
    let kind = r.kind();
    if kind == "proxy"
        && let Some(inner) = r.inner().first()
    {
        let mut m = open_map(inner, postfix_dir, config_directory, utf8, no_regsub);
        m.spec = spec;
        return m;
    }
    if let Some(v) = r.static_value() {
        return Map {
            spec,
            kind: kind.to_owned(),
            file: None,
            source: MapSource::Static(v.to_owned()),
        };
    }
    if r.inline_entries().is_some() {
        let options = Options {
            utf8,
            ..Options::default()
        };
        return Map {
            spec,
            kind: kind.to_owned(),
            file: None,
            source: MapSource::Inline {
                r: r.clone(),
                options,
            },
        };
    }
    if let Some(pk) = PatternKind::from_name(kind) {
        let (file, table) = match r.pattern_rules() {
            Some(rules) => (
                None,
                Ok(PatternTable::parse(pk, rules.join("\n").as_bytes())),
            ),
            None => {
                let file = rebase(Path::new(r.name()), postfix_dir, config_directory);
                let t = PatternTable::read(pk, &file);
                (Some(file), t)
            }
        };
        let source = match table {
            Ok(t) => {
                let t = t.with_utf8(utf8);
                MapSource::Pattern(if no_regsub {
                    without_substitution(t)
                } else {
                    t
                })
            }
            Err(e) => MapSource::Broken(format!(
                "cannot open {}: {e}",
                file.as_deref()
                    .map_or_else(|| spec.clone(), |f| f.display().to_string())
            )),
        };
        return Map {
            spec,
            kind: kind.to_owned(),
            file,
            source,
        };
    }
    if kind == "texthash" || INDEXED.contains(&kind) {
        let file = rebase(Path::new(r.name()), postfix_dir, config_directory);
        let options = Options {
            fold: Fold::default(),
            utf8,
            duplicates: Duplicates::FirstWins,
        };
        let source = match Table::read(&file, options) {
            Ok(table) => {
                let unusable = (kind == "texthash")
                    .then(|| {
                        table.diagnostics().into_iter().find_map(|d| match d.kind {
                            DiagnosticKind::Duplicate { .. } => Some(format!(
                                "{}: {}: a daemon refuses a texthash table with a duplicate key, so every lookup fails",
                                file.display(),
                                d
                            )),
                            _ => None,
                        })
                    })
                    .flatten();
                MapSource::File { table, unusable }
            }
            Err(e) => MapSource::Broken(format!("cannot open {}: {e}", file.display())),
        };
        return Map {
            spec,
            kind: kind.to_owned(),
            file: Some(file),
            source,
        };
    }
    Map {
        spec,
        kind: kind.to_owned(),
        file: None,
        source: MapSource::Unknown(format!(
            "{kind}: tables of this type are not evaluated by this tool"
        )),
    }
}

// ------------------------------------------------------------------ text

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Found { line: Some(l), .. } => write!(f, "found (line {l})"),
            Answer::Found { line: None, .. } => f.write_str("found"),
            Answer::NotFound => f.write_str("not found"),
            Answer::Skipped => f.write_str("skipped (pattern tables see only the full address)"),
            Answer::Error(e) => write!(f, "error: {e}"),
            Answer::Unknown(e) => write!(f, "unknown: {e}"),
        }
    }
}

impl fmt::Display for Explanation {
    /// A readable report; passwords are never shown, and credential table
    /// values are shown as `user:***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sender = if self.sender.is_empty() {
            "<> (null sender)"
        } else {
            &self.sender
        };
        writeln!(f, "sender: {sender}")?;
        match (&self.next_hop_source, &self.next_hop) {
            (NextHopSource::SenderDependent { table, key }, Some(h)) => writeln!(
                f,
                "next hop: {h}  (sender_dependent_relayhost_maps {table}, key {key})"
            )?,
            (NextHopSource::Relayhost, Some(h)) => writeln!(f, "next hop: {h}  (relayhost)")?,
            (NextHopSource::Direct, _) => writeln!(
                f,
                "next hop: direct delivery to the recipient domain's MX hosts (relayhost is empty)"
            )?,
            (NextHopSource::Deferred { reason }, _) => {
                writeln!(f, "next hop: none, mail is deferred: {reason}")?
            }
            (NextHopSource::Unknown { reason }, _) => writeln!(f, "next hop: unknown: {reason}")?,
            (_, None) => writeln!(f, "next hop: none")?,
        }
        match &self.sasl {
            Sasl::Disabled => writeln!(f, "credentials: none (smtp_sasl_auth_enable = no)")?,
            Sasl::NoCredentials => writeln!(f, "credentials: none (no key matched)")?,
            Sasl::Credentials(c) => writeln!(
                f,
                "credentials: user {} (password {}) from {}, key {} ({})",
                c.user,
                if c.password.expose().is_empty() {
                    "empty"
                } else {
                    "redacted"
                },
                c.table,
                c.key,
                c.role
            )?,
            Sasl::Deferred { reason } => {
                writeln!(f, "credentials: lookup error, mail is deferred: {reason}")?
            }
            Sasl::Unknown { reason } => writeln!(f, "credentials: unknown: {reason}")?,
        }
        if !self.trail.is_empty() {
            writeln!(f, "lookups:")?;
            for s in &self.trail {
                let file = s
                    .file
                    .as_ref()
                    .map(|p| format!(" [{}]", p.display()))
                    .unwrap_or_default();
                let answer = match &s.answer {
                    Answer::Found { value, line } if s.parameter == "smtp_sasl_password_maps" => {
                        let user = value.split_once(':').map_or(value.as_str(), |(u, _)| u);
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        format!("found{at}: {user}:***")
                    }
                    Answer::Found { value, line } => {
                        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        format!("found{at}: {value}")
                    }
                    other => other.to_string(),
                };
                writeln!(
                    f,
                    "  {} {} ({}) key {}{}: {}",
                    s.parameter, s.table, s.role, s.key, file, answer
                )?;
            }
        }
        writeln!(f, "settings:")?;
        for (n, v) in &self.settings {
            writeln!(f, "  {n} = {v}")?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}

/// Characters of `s` escaped for a JSON string.
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Explanation {
    /// The explanation as one JSON object (passwords redacted: only whether
    /// there is one). Stable field names, for tools.
    pub fn to_json(&self) -> String {
        let opt = |s: Option<&str>| s.map_or_else(|| "null".to_owned(), json_str);
        let (source, table, key, reason) = match &self.next_hop_source {
            NextHopSource::SenderDependent { table, key } => (
                "sender_dependent",
                Some(table.as_str()),
                Some(key.as_str()),
                None,
            ),
            NextHopSource::Relayhost => ("relayhost", None, None, None),
            NextHopSource::Direct => ("direct", None, None, None),
            NextHopSource::Deferred { reason } => ("deferred", None, None, Some(reason.as_str())),
            NextHopSource::Unknown { reason } => ("unknown", None, None, Some(reason.as_str())),
        };
        let sasl = match &self.sasl {
            Sasl::Disabled => r#"{"outcome":"disabled"}"#.to_owned(),
            Sasl::NoCredentials => r#"{"outcome":"none"}"#.to_owned(),
            Sasl::Credentials(c) => format!(
                r#"{{"outcome":"credentials","user":{},"password":"<redacted>","password_empty":{},"key":{},"key_role":{},"table":{}}}"#,
                json_str(&c.user),
                c.password.expose().is_empty(),
                json_str(&c.key),
                json_str(c.role),
                json_str(&c.table)
            ),
            Sasl::Deferred { reason } => {
                format!(r#"{{"outcome":"deferred","reason":{}}}"#, json_str(reason))
            }
            Sasl::Unknown { reason } => {
                format!(r#"{{"outcome":"unknown","reason":{}}}"#, json_str(reason))
            }
        };
        let trail: Vec<String> = self
            .trail
            .iter()
            .map(|s| {
                let (answer, value, line, why) = match &s.answer {
                    Answer::Found { value, line } => {
                        let shown = if s.parameter == "smtp_sasl_password_maps" {
                            let user = value.split_once(':').map_or(value.as_str(), |(u, _)| u);
                            format!("{user}:<redacted>")
                        } else {
                            value.clone()
                        };
                        ("found", Some(shown), *line, None)
                    }
                    Answer::NotFound => ("not_found", None, None, None),
                    Answer::Skipped => ("skipped", None, None, None),
                    Answer::Error(e) => ("error", None, None, Some(e.clone())),
                    Answer::Unknown(e) => ("unknown", None, None, Some(e.clone())),
                };
                format!(
                    r#"{{"parameter":{},"role":{},"table":{},"file":{},"key":{},"answer":{},"value":{},"line":{},"reason":{}}}"#,
                    json_str(s.parameter),
                    json_str(s.role),
                    json_str(&s.table),
                    opt(s.file.as_ref().map(|p| p.to_string_lossy()).as_deref()),
                    json_str(&s.key),
                    json_str(answer),
                    opt(value.as_deref()),
                    line.map_or_else(|| "null".to_owned(), |l| l.to_string()),
                    opt(why.as_deref()),
                )
            })
            .collect();
        let settings: Vec<String> = self
            .settings
            .iter()
            .map(|(n, v)| format!("{}:{}", json_str(n), json_str(v)))
            .collect();
        let notes: Vec<String> = self.notes.iter().map(|n| json_str(n)).collect();
        format!(
            r#"{{"sender":{},"next_hop":{},"next_hop_source":{{"kind":{},"table":{},"key":{},"reason":{}}},"sasl":{},"trail":[{}],"settings":{{{}}},"notes":[{}]}}"#,
            json_str(&self.sender),
            opt(self.next_hop.as_deref()),
            json_str(source),
            opt(table),
            opt(key),
            opt(reason),
            sasl,
            trail.join(","),
            settings.join(","),
            notes.join(",")
        )
    }
}
