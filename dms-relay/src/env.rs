//! The relay ENV of docker-mailserver, with DMS's exact semantics.
//!
//! DMS reads five variables for relaying (spec §3.1):
//!
//! | variable | meaning |
//! |---|---|
//! | `DEFAULT_RELAY_HOST` | `relayhost` for all mail, used verbatim (e.g. `[smtp.example.com]:587`) |
//! | `RELAY_HOST` | legacy: every managed domain is routed to `[RELAY_HOST]:RELAY_PORT` |
//! | `RELAY_PORT` | port for `RELAY_HOST`, default `25` |
//! | `RELAY_USER`, `RELAY_PASSWORD` | credentials for the ENV relay |
//!
//! Rules kept from DMS:
//!
//! - **Empty and unset are the same** for every variable (DMS only ever tests
//!   `-n` / `-z`): the accessors return `None` for both.
//! - **`<VAR>__FILE`**: when `<VAR>` is unset or empty and `<VAR>__FILE` names a
//!   file, `<VAR>` takes the file's content (DMS's
//!   `__environment_variables_from_files`). The content is taken as bash's
//!   `$(< FILE)` gives it: **every trailing LF is removed** (not a trailing CR,
//!   and not other whitespace), and NUL bytes are dropped. When both `<VAR>`
//!   and `<VAR>__FILE` are set, `<VAR>` wins and a note is recorded (DMS logs
//!   the same warning).
//!
//! Deliberate differences from DMS:
//!
//! - A `__FILE` that cannot be read is an error ([`EnvError::File`]); DMS logs
//!   an error and starts without the variable, which for `RELAY_PASSWORD__FILE`
//!   silently disables authentication.
//! - `__FILE` variants are resolved every time a [`RelayEnv`] is built, so a
//!   re-render after a config change keeps `RELAY_PASSWORD` (DMS loses it,
//!   spec §5.21).
//! - A value that is not UTF-8 is an error ([`EnvError::NotUnicode`]).
//!
//! Values are kept as strings here; [`crate::render`] validates them.
//!
//! The password never appears in `Debug` output or in any error:
//!
//! ```
//! use dms_relay::env::RelayEnv;
//!
//! let env = RelayEnv::from_pairs([
//!     ("RELAY_HOST", "smtp.example.com"),
//!     ("RELAY_PORT", ""), // empty == unset
//!     ("RELAY_USER", "mailer"),
//!     ("RELAY_PASSWORD", "hunter2"),
//!     ("PATH", "/usr/bin"), // other variables are ignored
//! ])
//! .unwrap();
//! assert_eq!(env.relay_host(), Some("smtp.example.com"));
//! assert_eq!(env.relay_port(), None);
//! assert_eq!(env.relay_port_or_default(), "25");
//! assert_eq!(env.relay_password().map(|p| p.expose()), Some("hunter2"));
//! assert!(env.has_credentials());
//! assert!(!format!("{env:?}").contains("hunter2"));
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// `DEFAULT_RELAY_HOST`.
pub const DEFAULT_RELAY_HOST: &str = "DEFAULT_RELAY_HOST";
/// `RELAY_HOST`.
pub const RELAY_HOST: &str = "RELAY_HOST";
/// `RELAY_PORT`.
pub const RELAY_PORT: &str = "RELAY_PORT";
/// `RELAY_USER`.
pub const RELAY_USER: &str = "RELAY_USER";
/// `RELAY_PASSWORD`.
pub const RELAY_PASSWORD: &str = "RELAY_PASSWORD";

/// The five relay variables, in DMS's documentation order.
pub const VARIABLES: [&str; 5] = [
    DEFAULT_RELAY_HOST,
    RELAY_HOST,
    RELAY_PORT,
    RELAY_USER,
    RELAY_PASSWORD,
];

/// The suffix of the file-reference variants (`RELAY_PASSWORD__FILE`).
pub const FILE_SUFFIX: &str = "__FILE";

/// The default of `RELAY_PORT`.
pub const DEFAULT_RELAY_PORT: &str = "25";

/// A password from the ENV. Its `Debug` output is redacted, it has no
/// `Display`, and [`EnvPassword::expose`] is the only way to read it.
///
/// ```
/// let env = dms_relay::env::RelayEnv::new().with_relay_password("s3cret");
/// let pw = env.relay_password().unwrap();
/// assert_eq!(format!("{pw:?}"), "EnvPassword(<redacted>)");
/// assert_eq!(pw.expose(), "s3cret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EnvPassword(String);

impl EnvPassword {
    /// The password in clear text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EnvPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnvPassword(<redacted>)")
    }
}

/// Why the relay ENV could not be read. Messages name the variable and the
/// file, never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// `<VAR>__FILE` names a file that cannot be read.
    #[error("cannot read {var}{FILE_SUFFIX} file {}: {source}", path.display())]
    File {
        /// The variable (without `__FILE`).
        var: &'static str,
        /// The path given in `<VAR>__FILE`.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A relay variable (or the file it references) is not valid UTF-8.
    #[error("{var} is not valid UTF-8")]
    NotUnicode {
        /// The variable.
        var: &'static str,
    },
}

/// The relay ENV of docker-mailserver: `DEFAULT_RELAY_HOST`, `RELAY_HOST`,
/// `RELAY_PORT`, `RELAY_USER` and `RELAY_PASSWORD`, after `__FILE`
/// resolution. Empty values are stored as unset. See the [module
/// docs](self).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RelayEnv {
    default_relay_host: Option<String>,
    relay_host: Option<String>,
    relay_port: Option<String>,
    relay_user: Option<String>,
    relay_password: Option<EnvPassword>,
    notes: Vec<String>,
}

impl fmt::Debug for RelayEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayEnv")
            .field("default_relay_host", &self.default_relay_host)
            .field("relay_host", &self.relay_host)
            .field("relay_port", &self.relay_port)
            .field("relay_user", &self.relay_user)
            .field("relay_password", &self.relay_password)
            .field("notes", &self.notes)
            .finish()
    }
}

fn non_empty(v: String) -> Option<String> {
    if v.is_empty() { None } else { Some(v) }
}

/// bash's `$(< FILE)`: NUL bytes dropped, every trailing LF removed.
fn command_substitution(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.retain(|&b| b != 0);
    while bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    bytes
}

impl RelayEnv {
    /// No relay variable set.
    pub fn new() -> Self {
        RelayEnv::default()
    }

    /// Reads the relay variables (and their `__FILE` variants) from the
    /// process environment.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_os_pairs(std::env::vars_os())
    }

    /// Reads the relay variables from `NAME, VALUE` pairs (other names are
    /// ignored; for a name given twice the last pair wins, as in an
    /// environment). `__FILE` variants are read from the file system.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let secret = dir.path().join("pw");
    /// std::fs::write(&secret, "from-file\n\n")?;
    /// let env = dms_relay::env::RelayEnv::from_pairs([
    ///     ("RELAY_USER", "u".to_string()),
    ///     ("RELAY_PASSWORD__FILE", secret.display().to_string()),
    /// ])?;
    /// // Trailing LFs are removed, as bash's `$(< FILE)` does.
    /// assert_eq!(env.relay_password().unwrap().expose(), "from-file");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::from_os_pairs(
            pairs
                .into_iter()
                .map(|(k, v)| (OsString::from(k.as_ref()), OsString::from(v.as_ref()))),
        )
    }

    fn from_os_pairs<I: IntoIterator<Item = (OsString, OsString)>>(
        pairs: I,
    ) -> Result<Self, EnvError> {
        Self::from_os_pairs_with(pairs, |p| std::fs::read(p))
    }

    /// Like [`RelayEnv::from_pairs`], reading `__FILE` references with
    /// `read_file` instead of the file system (for tests and sandboxes).
    pub fn from_pairs_with<I, K, V, R>(pairs: I, read_file: R) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
        R: FnMut(&Path) -> io::Result<Vec<u8>>,
    {
        Self::from_os_pairs_with(
            pairs
                .into_iter()
                .map(|(k, v)| (OsString::from(k.as_ref()), OsString::from(v.as_ref()))),
            read_file,
        )
    }

    fn from_os_pairs_with<I, R>(pairs: I, mut read_file: R) -> Result<Self, EnvError>
    where
        I: IntoIterator<Item = (OsString, OsString)>,
        R: FnMut(&Path) -> io::Result<Vec<u8>>,
    {
        // Slot i: the value of VARIABLES[i] and of VARIABLES[i]__FILE.
        let mut direct: [Option<OsString>; 5] = Default::default();
        let mut files: [Option<OsString>; 5] = Default::default();
        for (name, value) in pairs {
            let Some(name) = name.to_str() else { continue };
            for (i, var) in VARIABLES.iter().enumerate() {
                if name == *var {
                    if let Some(slot) = direct.get_mut(i) {
                        *slot = Some(value.clone());
                    }
                } else if name.strip_suffix(FILE_SUFFIX) == Some(var)
                    && let Some(slot) = files.get_mut(i)
                {
                    *slot = Some(value.clone());
                }
            }
        }
        let mut values: [Option<String>; 5] = Default::default();
        let mut notes = Vec::new();
        for (i, var) in VARIABLES.iter().enumerate() {
            let var: &'static str = var;
            let own = match direct.get_mut(i).and_then(Option::take) {
                Some(v) => non_empty(v.into_string().map_err(|_| EnvError::NotUnicode { var })?),
                None => None,
            };
            let file = files.get_mut(i).and_then(Option::take);
            let value = match (own, file) {
                (Some(v), Some(_)) => {
                    notes.push(format!(
                        "ENV value will not be sourced from '{var}{FILE_SUFFIX}' since '{var}' is already set"
                    ));
                    Some(v)
                }
                (Some(v), None) => Some(v),
                (None, Some(path)) => {
                    let path = PathBuf::from(path);
                    let bytes = read_file(&path).map_err(|source| EnvError::File {
                        var,
                        path: path.clone(),
                        source,
                    })?;
                    let text = String::from_utf8(command_substitution(bytes))
                        .map_err(|_| EnvError::NotUnicode { var })?;
                    non_empty(text)
                }
                (None, None) => None,
            };
            if let Some(slot) = values.get_mut(i) {
                *slot = value;
            }
        }
        let [
            default_relay_host,
            relay_host,
            relay_port,
            relay_user,
            relay_password,
        ] = values;
        Ok(RelayEnv {
            default_relay_host,
            relay_host,
            relay_port,
            relay_user,
            relay_password: relay_password.map(EnvPassword),
            notes,
        })
    }

    /// `DEFAULT_RELAY_HOST`, or `None` when unset or empty.
    pub fn default_relay_host(&self) -> Option<&str> {
        self.default_relay_host.as_deref()
    }

    /// `RELAY_HOST`, or `None` when unset or empty.
    pub fn relay_host(&self) -> Option<&str> {
        self.relay_host.as_deref()
    }

    /// `RELAY_PORT`, or `None` when unset or empty.
    pub fn relay_port(&self) -> Option<&str> {
        self.relay_port.as_deref()
    }

    /// `${RELAY_PORT:-25}`.
    pub fn relay_port_or_default(&self) -> &str {
        self.relay_port().unwrap_or(DEFAULT_RELAY_PORT)
    }

    /// `RELAY_USER`, or `None` when unset or empty.
    pub fn relay_user(&self) -> Option<&str> {
        self.relay_user.as_deref()
    }

    /// `RELAY_PASSWORD`, or `None` when unset or empty.
    pub fn relay_password(&self) -> Option<&EnvPassword> {
        self.relay_password.as_ref()
    }

    /// DMS's "C": `RELAY_USER` **and** `RELAY_PASSWORD` are both non-empty.
    pub fn has_credentials(&self) -> bool {
        self.relay_user.is_some() && self.relay_password.is_some()
    }

    /// Notes from reading the ENV, in DMS's words (e.g. a `__FILE` variant
    /// ignored because the variable itself is set). Never holds a value.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Sets `DEFAULT_RELAY_HOST` (empty = unset).
    pub fn with_default_relay_host(mut self, value: impl Into<String>) -> Self {
        self.default_relay_host = non_empty(value.into());
        self
    }

    /// Sets `RELAY_HOST` (empty = unset).
    pub fn with_relay_host(mut self, value: impl Into<String>) -> Self {
        self.relay_host = non_empty(value.into());
        self
    }

    /// Sets `RELAY_PORT` (empty = unset).
    pub fn with_relay_port(mut self, value: impl Into<String>) -> Self {
        self.relay_port = non_empty(value.into());
        self
    }

    /// Sets `RELAY_USER` (empty = unset).
    pub fn with_relay_user(mut self, value: impl Into<String>) -> Self {
        self.relay_user = non_empty(value.into());
        self
    }

    /// Sets `RELAY_PASSWORD` (empty = unset).
    pub fn with_relay_password(mut self, value: impl Into<String>) -> Self {
        self.relay_password = non_empty(value.into()).map(EnvPassword);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_map(
        files: &'static [(&'static str, &'static [u8])],
    ) -> impl FnMut(&Path) -> io::Result<Vec<u8>> {
        move |p| {
            files
                .iter()
                .find(|(n, _)| Path::new(n) == p)
                .map(|(_, b)| b.to_vec())
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }
    }

    #[test]
    fn empty_is_unset() {
        let env = RelayEnv::from_pairs([("RELAY_HOST", ""), ("DEFAULT_RELAY_HOST", "")]).unwrap();
        assert_eq!(env, RelayEnv::new());
        assert!(!env.has_credentials());
    }

    #[test]
    fn file_variant_trims_all_trailing_lf_only() {
        let env = RelayEnv::from_pairs_with(
            [
                ("RELAY_PASSWORD__FILE", "/s/pw"),
                ("RELAY_USER__FILE", "/s/u"),
            ],
            read_map(&[("/s/pw", b" p\0w \r\n\n\n"), ("/s/u", b"user\n")]),
        )
        .unwrap();
        assert_eq!(env.relay_password().unwrap().expose(), " pw \r");
        assert_eq!(env.relay_user(), Some("user"));
    }

    #[test]
    fn variable_beats_file_and_empty_variable_does_not() {
        let env = RelayEnv::from_pairs_with(
            [
                ("RELAY_HOST", "direct"),
                ("RELAY_HOST__FILE", "/x"),
                ("RELAY_PORT", ""),
                ("RELAY_PORT__FILE", "/p"),
            ],
            read_map(&[("/p", b"587\n")]),
        )
        .unwrap();
        assert_eq!(env.relay_host(), Some("direct"));
        assert_eq!(env.relay_port(), Some("587"));
        assert_eq!(
            env.notes(),
            [
                "ENV value will not be sourced from 'RELAY_HOST__FILE' since 'RELAY_HOST' is already set"
            ]
        );
    }

    #[test]
    fn unreadable_file_is_an_error_without_value() {
        let err = RelayEnv::from_pairs_with([("RELAY_PASSWORD__FILE", "/nope")], read_map(&[]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("RELAY_PASSWORD__FILE"), "{msg}");
        assert!(msg.contains("/nope"), "{msg}");
    }

    #[test]
    fn file_with_only_newlines_is_unset() {
        let env = RelayEnv::from_pairs_with(
            [("RELAY_PASSWORD__FILE", "/e")],
            read_map(&[("/e", b"\n\n")]),
        )
        .unwrap();
        assert!(env.relay_password().is_none());
    }

    #[test]
    fn password_never_in_debug() {
        let env = RelayEnv::new()
            .with_relay_user("u")
            .with_relay_password("TOPSECRET");
        assert!(!format!("{env:?}").contains("TOPSECRET"));
        assert!(!format!("{env:#?}").contains("TOPSECRET"));
    }
}
