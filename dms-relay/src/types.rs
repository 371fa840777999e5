//! Validated values: sender domains, relay hosts, ports and credentials.
//!
//! Every constructor checks its input and refuses, with a [`ValidationError`]
//! naming the field, anything that Postfix or docker-mailserver would mangle
//! or misread: empty values, whitespace, control characters (CR, LF, NUL,
//! TAB, …), `#`, characters that are not valid in a name (regex
//! metacharacters such as `*`, `[`, `/`), non-ASCII look-alikes, ports
//! outside 1–65535 and oversized values.
//!
//! ```
//! use dms_relay::types::{Credentials, Port, RelayHost, SenderDomain};
//!
//! let domain: SenderDomain = "Example.org".parse()?;
//! assert_eq!(domain, "example.ORG".parse::<SenderDomain>()?); // case-insensitive
//! assert_eq!(domain.key(), "@Example.org"); // written as given
//!
//! let relay: RelayHost = "[smtp.relay.test]:587".parse()?;
//! assert_eq!(relay.port(), Some(Port::new(587)?));
//! assert_eq!(relay.to_string(), "[smtp.relay.test]:587");
//!
//! let creds = Credentials::new("apikey", "s3cr:et")?;
//! assert_eq!(format!("{creds:?}"), r#"Credentials { user: RelayUser("apikey"), password: Password(<redacted>) }"#);
//! assert_eq!(creds.password().expose(), "s3cr:et");
//! # Ok::<(), dms_relay::types::ValidationError>(())
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Which input a [`ValidationError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A sender domain ([`SenderDomain`]).
    Domain,
    /// A relay host ([`Host`] or [`RelayHost`]).
    Host,
    /// A port ([`Port`]).
    Port,
    /// A relay account name ([`RelayUser`]).
    User,
    /// A relay password ([`Password`]).
    Password,
}

impl Field {
    /// What this field accepts, in words (used in error messages).
    pub fn expected(self) -> &'static str {
        match self {
            Field::Domain => {
                "a DNS domain name (ASCII letters, digits and '-' in dot-separated labels, e.g. example.org)"
            }
            Field::Host => {
                "a host name, an IPv4 or IPv6 address; as a next hop: host, host:port, [host], [host]:port, [IPv4] or [IPv6:addr]"
            }
            Field::Port => "a port number from 1 to 65535 without leading zeros",
            Field::User => "printable ASCII without whitespace, ':' or '#'",
            Field::Password => {
                "text without control characters, not starting or ending with whitespace, and no '#' right after whitespace"
            }
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Domain => "domain",
            Field::Host => "relay host",
            Field::Port => "port",
            Field::User => "user",
            Field::Password => "password",
        })
    }
}

/// Why a value was refused. The message names the field and what it
/// expects; it never contains a password or any part of it (for
/// [`Field::Password`] only positions and character classes are reported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The value is empty.
    #[error("{field} must not be empty; expected {}", field.expected())]
    Empty {
        /// The field.
        field: Field,
    },
    /// The value is longer than allowed.
    #[error("{field} is too long ({len} bytes, at most {max}); expected {}", field.expected())]
    TooLong {
        /// The field.
        field: Field,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// A control character (CR, LF, NUL, TAB, DEL, …): it would split or end
    /// a table line.
    #[error("{field} contains a control character at byte {at}; expected {}", field.expected())]
    ControlChar {
        /// The field.
        field: Field,
        /// Byte offset.
        at: usize,
    },
    /// Whitespace where none is allowed (Postfix would end the key or trim
    /// the value there).
    #[error("{field} contains whitespace at byte {at}; expected {}", field.expected())]
    Whitespace {
        /// The field.
        field: Field,
        /// Byte offset.
        at: usize,
    },
    /// A non-ASCII character (e.g. a Cyrillic look-alike): domains and hosts
    /// must be ASCII (write internationalised names as `xn--` A-labels).
    #[error("{field} contains a non-ASCII character at byte {at}; expected {}", field.expected())]
    NonAscii {
        /// The field.
        field: Field,
        /// Byte offset.
        at: usize,
    },
    /// A character that is not valid in this field, such as `#`, `*`, `[`,
    /// `/`, `@` in a domain or `:` in a user name. Never used for passwords.
    #[error("{field} contains {ch:?} at byte {at}, which is not allowed; expected {}", field.expected())]
    InvalidChar {
        /// The field.
        field: Field,
        /// Byte offset.
        at: usize,
        /// The character.
        ch: char,
    },
    /// A malformed DNS label: empty (leading, trailing or doubled dot), too
    /// long (more than 63 bytes), or starting or ending with `-`.
    #[error("{field} has a malformed label ({reason}); expected {}", field.expected())]
    BadLabel {
        /// The field.
        field: Field,
        /// What is wrong.
        reason: &'static str,
    },
    /// An all-numeric name that is not a bracketed IP address (a domain's
    /// top label cannot be numeric; a bare IP address as a next hop would
    /// be looked up as a domain).
    #[error("{field} is numeric; expected {} (IP addresses go in brackets: [192.0.2.1])", field.expected())]
    Numeric {
        /// The field.
        field: Field,
    },
    /// Brackets that do not form `[address]` or `[address]:port`.
    #[error("{field} has unbalanced or misplaced brackets ({reason}); expected {}", field.expected())]
    Brackets {
        /// The field.
        field: Field,
        /// What is wrong.
        reason: &'static str,
    },
    /// A malformed IPv4 or IPv6 address.
    #[error("{field} is not a valid IP address; expected {}", field.expected())]
    BadAddress {
        /// The field.
        field: Field,
    },
    /// A port that is not a plain decimal number.
    #[error("port is not a number (byte {at}); expected {}", Field::Port.expected())]
    PortNotNumeric {
        /// Byte offset of the first non-digit.
        at: usize,
    },
    /// A port with a leading zero (`025`).
    #[error("port has a leading zero; expected {}", Field::Port.expected())]
    PortLeadingZero,
    /// A port outside 1–65535.
    #[error("port is out of range; expected {}", Field::Port.expected())]
    PortOutOfRange,
    /// A password that starts or ends with whitespace (Postfix trims the
    /// end of a table value; DMS's prompt trims both ends).
    #[error("password starts or ends with whitespace; expected {}", Field::Password.expected())]
    PasswordEdgeWhitespace,
    /// A password with `#` right after whitespace: Postfix keeps it, but it
    /// reads as an inline comment to people and tools (spec 5.9).
    #[error("password has '#' after whitespace at byte {at}; expected {}", Field::Password.expected())]
    PasswordCommentLike {
        /// Byte offset of the `#`.
        at: usize,
    },
}

/// Longest domain or host name (RFC 1035: 253 characters in text form).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label of a domain or host name (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest relay user name accepted.
pub const MAX_USER_LEN: usize = 256;
/// Longest password accepted.
pub const MAX_PASSWORD_LEN: usize = 1024;

fn check_len(field: Field, s: &str, max: usize) -> Result<(), ValidationError> {
    if s.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if s.len() > max {
        return Err(ValidationError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    Ok(())
}

/// Rejects control characters, whitespace and non-ASCII characters, in
/// the order they occur.
fn check_ascii_token(field: Field, s: &str) -> Result<(), ValidationError> {
    for (at, ch) in s.char_indices() {
        if ch.is_control() {
            return Err(ValidationError::ControlChar { field, at });
        }
        if ch.is_whitespace() {
            return Err(ValidationError::Whitespace { field, at });
        }
        if !ch.is_ascii() {
            return Err(ValidationError::NonAscii { field, at });
        }
    }
    Ok(())
}

/// Checks a dot-separated name. `underscore` allows `_` (Postfix accepts it
/// in host names). Returns whether every label is numeric.
fn check_name(field: Field, s: &str, underscore: bool) -> Result<bool, ValidationError> {
    check_len(field, s, MAX_NAME_LEN)?;
    check_ascii_token(field, s)?;
    for (at, ch) in s.char_indices() {
        let ok = ch.is_ascii_alphanumeric() || ch == '-' || ch == '.' || (underscore && ch == '_');
        if !ok {
            return Err(ValidationError::InvalidChar { field, at, ch });
        }
    }
    let mut all_numeric = true;
    for label in s.split('.') {
        if label.is_empty() {
            return Err(ValidationError::BadLabel {
                field,
                reason: "empty label: leading, trailing or doubled '.'",
            });
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(ValidationError::BadLabel {
                field,
                reason: "label longer than 63 bytes",
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(ValidationError::BadLabel {
                field,
                reason: "label starts or ends with '-'",
            });
        }
        if !label.bytes().all(|b| b.is_ascii_digit()) {
            all_numeric = false;
        }
    }
    Ok(all_numeric)
}

// ------------------------------------------------------------ SenderDomain

/// A sender domain: the `D` of a `@D` key in `postfix-relaymap.cf` and
/// `postfix-sasl-password.cf`.
///
/// A valid DNS name (RFC 5321 `Domain`): ASCII letters, digits and `-` in
/// labels of 1–63 bytes separated by single dots, at most 253 bytes, no
/// leading or trailing dot, no label starting or ending with `-`, and a
/// top label that is not all digits. Internationalised names must be given
/// as A-labels (`xn--…`).
///
/// **Case:** the spelling is kept as given (it is what gets written, as DMS
/// does), while equality, ordering-free hashing and lookups ignore ASCII
/// case, like Postfix does. [`SenderDomain::to_lowercase`] gives the folded
/// form.
///
/// ```
/// use dms_relay::types::{SenderDomain, ValidationError, Field};
/// let d: SenderDomain = "Mail.Example.org".parse().unwrap();
/// assert_eq!(d.to_string(), "Mail.Example.org");
/// assert_eq!(d, SenderDomain::new("mail.example.ORG").unwrap());
/// assert!(matches!(SenderDomain::new("a*b.test"), Err(ValidationError::InvalidChar { ch: '*', .. })));
/// assert!(matches!(SenderDomain::new("@d.test"), Err(ValidationError::InvalidChar { ch: '@', .. })));
/// ```
#[derive(Clone)]
pub struct SenderDomain(String);

impl SenderDomain {
    /// Validates a domain name.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        let field = Field::Domain;
        check_name(field, s, false)?;
        let top = s.rsplit('.').next().unwrap_or_default();
        if top.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::Numeric { field });
        }
        Ok(SenderDomain(s.to_owned()))
    }

    /// The domain as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain in lower case.
    pub fn to_lowercase(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The table key DMS uses for it: `@` followed by the domain as given.
    pub fn key(&self) -> String {
        format!("@{}", self.0)
    }
}

impl PartialEq for SenderDomain {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for SenderDomain {}

impl Hash for SenderDomain {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

impl fmt::Debug for SenderDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SenderDomain").field(&self.0).finish()
    }
}

impl fmt::Display for SenderDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SenderDomain {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SenderDomain::new(s)
    }
}

impl AsRef<str> for SenderDomain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// -------------------------------------------------------------------- Port

/// A TCP port, 1–65535, written in decimal without leading zeros.
///
/// ```
/// use dms_relay::types::{Port, ValidationError};
/// assert_eq!("587".parse::<Port>().unwrap().get(), 587);
/// assert_eq!(Port::DEFAULT.get(), 25);
/// assert_eq!("0".parse::<Port>(), Err(ValidationError::PortOutOfRange));
/// assert_eq!("65536".parse::<Port>(), Err(ValidationError::PortOutOfRange));
/// assert_eq!("25abc".parse::<Port>(), Err(ValidationError::PortNotNumeric { at: 2 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port(u16);

impl Port {
    /// Port 25, DMS's default for `add-domain`.
    pub const DEFAULT: Port = Port(25);

    /// A port from a number; 0 is refused.
    pub fn new(n: u16) -> Result<Self, ValidationError> {
        if n == 0 {
            return Err(ValidationError::PortOutOfRange);
        }
        Ok(Port(n))
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for Port {
    fn default() -> Self {
        Port::DEFAULT
    }
}

impl FromStr for Port {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ValidationError::Empty { field: Field::Port });
        }
        if let Some(at) = s.bytes().position(|b| !b.is_ascii_digit()) {
            return Err(ValidationError::PortNotNumeric { at });
        }
        if s.len() > 1 && s.starts_with('0') {
            return Err(ValidationError::PortLeadingZero);
        }
        if s.len() > 5 {
            return Err(ValidationError::PortOutOfRange);
        }
        let n: u32 = s.parse().map_err(|_| ValidationError::PortOutOfRange)?;
        let n = u16::try_from(n).map_err(|_| ValidationError::PortOutOfRange)?;
        Port::new(n)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

// -------------------------------------------------------------------- Host

/// What kind of host a [`Host`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostKind {
    /// A host or domain name (letters, digits, `-`, `_`, dots).
    Name,
    /// A dotted-quad IPv4 address.
    Ipv4,
    /// An IPv6 address, with or without the RFC 5321 `IPv6:` prefix.
    Ipv6,
}

/// A relay host without brackets or port: a host name (Postfix's
/// `valid_hostname`: letters, digits, `-`, `_`), a dotted-quad IPv4 address,
/// or an IPv6 address, optionally written with the `IPv6:` prefix that
/// Postfix accepts inside brackets.
///
/// This is the `H` of DMS's `add-domain D H [P]`; DMS writes it as `[H]:P`.
/// Brackets, ports and anything else are refused (DMS would write
/// `[[h]]:25` for `[h]` and `[h:2525]:587` for `h:2525`).
///
/// The text is kept as given; equality ignores ASCII case.
///
/// ```
/// use dms_relay::types::{Host, HostKind};
/// assert_eq!("smtp.relay.test".parse::<Host>().unwrap().kind(), HostKind::Name);
/// assert_eq!("192.0.2.1".parse::<Host>().unwrap().kind(), HostKind::Ipv4);
/// assert_eq!("2001:db8::1".parse::<Host>().unwrap().kind(), HostKind::Ipv6);
/// assert!("[smtp.relay.test]".parse::<Host>().is_err());
/// assert!("smtp.relay.test:2525".parse::<Host>().is_err());
/// ```
#[derive(Clone)]
pub struct Host {
    text: String,
    kind: HostKind,
}

const IPV6_PREFIX: &str = "ipv6:";

impl Host {
    /// Validates a host.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        let field = Field::Host;
        check_len(field, s, MAX_NAME_LEN)?;
        check_ascii_token(field, s)?;
        // IPv6: contains ':' (a name never does).
        if s.contains(':') {
            let addr = match s.get(..IPV6_PREFIX.len()) {
                Some(p) if p.eq_ignore_ascii_case(IPV6_PREFIX) => {
                    s.get(IPV6_PREFIX.len()..).unwrap_or_default()
                }
                _ => s,
            };
            if addr
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                && addr.parse::<std::net::Ipv6Addr>().is_ok()
            {
                return Ok(Host {
                    text: s.to_owned(),
                    kind: HostKind::Ipv6,
                });
            }
            // Report the first character a name cannot hold.
            if let Some((at, ch)) = s
                .char_indices()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
            {
                if ch == ':'
                    && addr
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                {
                    return Err(ValidationError::BadAddress { field });
                }
                return Err(ValidationError::InvalidChar { field, at, ch });
            }
            return Err(ValidationError::BadAddress { field });
        }
        let numeric = check_name(field, s, true)?;
        if numeric {
            // All labels numeric: only a dotted-quad IPv4 address will do.
            if s.parse::<std::net::Ipv4Addr>().is_ok() {
                return Ok(Host {
                    text: s.to_owned(),
                    kind: HostKind::Ipv4,
                });
            }
            return Err(ValidationError::BadAddress { field });
        }
        Ok(Host {
            text: s.to_owned(),
            kind: HostKind::Name,
        })
    }

    /// The host as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Name, IPv4 or IPv6.
    pub fn kind(&self) -> HostKind {
        self.kind
    }

    /// The IP address, for [`HostKind::Ipv4`] and [`HostKind::Ipv6`].
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self.kind {
            HostKind::Name => None,
            HostKind::Ipv4 => self.text.parse().ok(),
            HostKind::Ipv6 => {
                let t = match self.text.get(..IPV6_PREFIX.len()) {
                    Some(p) if p.eq_ignore_ascii_case(IPV6_PREFIX) => {
                        self.text.get(IPV6_PREFIX.len()..).unwrap_or_default()
                    }
                    _ => &self.text,
                };
                t.parse::<std::net::Ipv6Addr>().ok().map(Into::into)
            }
        }
    }
}

impl PartialEq for Host {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.text.eq_ignore_ascii_case(&other.text)
    }
}

impl Eq for Host {}

impl Hash for Host {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        for b in self.text.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(0xff);
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Host").field(&self.text).finish()
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Host {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Host::new(s)
    }
}

// --------------------------------------------------------------- RelayHost

/// A Postfix next-hop destination, as `relayhost` and
/// `sender_dependent_relayhost_maps` take it (smtp(8), host_port(3)):
///
/// | form | meaning |
/// |---|---|
/// | `host` | MX lookup for `host`, port 25 |
/// | `host:port` | MX lookup, given port |
/// | `[host]` | no MX lookup (A/AAAA of `host`), port 25 |
/// | `[host]:port` | no MX lookup, given port (what DMS always writes) |
/// | `[192.0.2.1]`, `[192.0.2.1]:587` | an IPv4 address |
/// | `[IPv6:2001:db8::1]:587`, `[2001:db8::1]:587` | an IPv6 address (both forms are accepted by Postfix) |
///
/// IP addresses must be bracketed (a bare address would be looked up as a
/// domain name, and a bare IPv6 address cannot carry a port). Ports are
/// numeric ([`Port`]); service names such as `submission` are refused.
/// `FromStr` and `Display` are symmetric: every accepted string displays
/// exactly as given.
///
/// ```
/// use dms_relay::types::{Host, Port, RelayHost};
/// for s in ["relay.test", "relay.test:2525", "[relay.test]", "[relay.test]:587",
///           "[192.0.2.1]:25", "[IPv6:2001:db8::1]:587", "[2001:db8::1]"] {
///     assert_eq!(s.parse::<RelayHost>().unwrap().to_string(), s);
/// }
/// let dms = RelayHost::bracketed("smtp.relay.test".parse().unwrap(), Some(Port::DEFAULT));
/// assert_eq!(dms.to_string(), "[smtp.relay.test]:25");
/// assert!("[[h.test]]:25".parse::<RelayHost>().is_err());
/// assert!("2001:db8::1".parse::<RelayHost>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayHost {
    host: Host,
    bracketed: bool,
    port: Option<Port>,
}

impl RelayHost {
    /// `[host]` or `[host]:port`: deliver to this host, no MX lookup. With
    /// `Some(Port::DEFAULT)` this is exactly what DMS's `add-domain` writes.
    pub fn bracketed(host: Host, port: Option<Port>) -> Self {
        RelayHost {
            host,
            bracketed: true,
            port,
        }
    }

    /// `host` or `host:port`: look up MX records for `host`. Refused for IP
    /// addresses, which must be bracketed.
    pub fn mx(host: Host, port: Option<Port>) -> Result<Self, ValidationError> {
        if host.kind() != HostKind::Name {
            return Err(ValidationError::Brackets {
                field: Field::Host,
                reason: "an IP address must be written in brackets",
            });
        }
        Ok(RelayHost {
            host,
            bracketed: false,
            port,
        })
    }

    /// What DMS's `add-domain D H [P]` writes: `[H]:P`, with P = 25 when
    /// not given.
    pub fn dms(host: Host, port: Option<Port>) -> Self {
        RelayHost::bracketed(host, Some(port.unwrap_or_default()))
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// True for the bracketed forms (no MX lookup).
    pub fn is_bracketed(&self) -> bool {
        self.bracketed
    }

    /// The port, when one is written.
    pub fn port(&self) -> Option<Port> {
        self.port
    }

    /// The port Postfix connects to (25 when none is written).
    pub fn effective_port(&self) -> Port {
        self.port.unwrap_or_default()
    }
}

impl FromStr for RelayHost {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let field = Field::Host;
        if s.is_empty() {
            return Err(ValidationError::Empty { field });
        }
        // Reject control characters and whitespace anywhere first.
        for (at, ch) in s.char_indices() {
            if ch.is_control() {
                return Err(ValidationError::ControlChar { field, at });
            }
            if ch.is_whitespace() {
                return Err(ValidationError::Whitespace { field, at });
            }
        }
        let (host, bracketed, port) = if let Some(rest) = s.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                return Err(ValidationError::Brackets {
                    field,
                    reason: "missing ']'",
                });
            };
            let inner = rest.get(..close).unwrap_or_default();
            let after = rest.get(close + 1..).unwrap_or_default();
            if inner.contains('[') {
                return Err(ValidationError::Brackets {
                    field,
                    reason: "nested '['",
                });
            }
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => {
                        return Err(ValidationError::Brackets {
                            field,
                            reason: "garbage after ']'",
                        });
                    }
                },
            };
            if inner.is_empty() {
                return Err(ValidationError::Empty { field });
            }
            (Host::new(inner)?, true, port)
        } else {
            if let Some(at) = s.find(']') {
                return Err(ValidationError::InvalidChar { field, at, ch: ']' });
            }
            match s.rsplit_once(':') {
                Some((h, p)) => (Host::new(h)?, false, Some(p)),
                None => (Host::new(s)?, false, None),
            }
        };
        let port = match port {
            Some(p) => Some(p.parse::<Port>()?),
            None => None,
        };
        if bracketed {
            Ok(RelayHost::bracketed(host, port))
        } else {
            RelayHost::mx(host, port)
        }
    }
}

impl fmt::Display for RelayHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bracketed {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------- Credentials

/// A relay account name: the part before the first `:` of a
/// `postfix-sasl-password.cf` value. Printable ASCII, at most 256 bytes,
/// without whitespace, `:` (Postfix splits `user:password` at the first
/// `:`) or `#`.
///
/// ```
/// use dms_relay::types::{RelayUser, ValidationError};
/// assert_eq!(RelayUser::new("user@example.org").unwrap().as_str(), "user@example.org");
/// assert!(matches!(RelayUser::new("a:b"), Err(ValidationError::InvalidChar { ch: ':', .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayUser(String);

impl RelayUser {
    /// Validates a user name.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        let field = Field::User;
        check_len(field, s, MAX_USER_LEN)?;
        check_ascii_token(field, s)?;
        if let Some(at) = s.find([':', '#']) {
            let ch = if s.as_bytes().get(at) == Some(&b':') {
                ':'
            } else {
                '#'
            };
            return Err(ValidationError::InvalidChar { field, at, ch });
        }
        Ok(RelayUser(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RelayUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RelayUser {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RelayUser::new(s)
    }
}

/// A relay password. It never appears in `Debug`, `Display` or error
/// messages (they show `<redacted>`); [`Password::expose`] gives it.
///
/// Accepted: 1–1024 bytes of UTF-8 text without control characters (CR,
/// LF, NUL, TAB, …), not starting or ending with whitespace (Postfix trims
/// the end of a table value; DMS's prompt trims both ends), and without a
/// `#` right after whitespace (it would read as an inline comment). `:` is
/// fine: Postfix splits `user:password` at the first `:` only. The bytes are
/// overwritten with zeros when the value is dropped (best effort: copies
/// made by [`Password::expose`] callers are theirs to manage).
///
/// ```
/// use dms_relay::types::Password;
/// let pw = Password::new("p&a/s:s\\1w").unwrap();
/// assert_eq!(format!("{pw:?} {pw}"), "Password(<redacted>) <redacted>");
/// assert_eq!(pw.expose(), "p&a/s:s\\1w");
/// let err = Password::new("secret\n").unwrap_err();
/// assert!(!err.to_string().contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Validates a password.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        let field = Field::Password;
        check_len(field, s, MAX_PASSWORD_LEN)?;
        let mut prev_space = false;
        for (at, ch) in s.char_indices() {
            if ch.is_control() {
                return Err(ValidationError::ControlChar { field, at });
            }
            if ch == '#' && prev_space {
                return Err(ValidationError::PasswordCommentLike { at });
            }
            prev_space = ch.is_whitespace();
        }
        if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
            return Err(ValidationError::PasswordEdgeWhitespace);
        }
        Ok(Password(s.to_owned()))
    }

    /// A password read back from a file, unchecked (it may be empty or hold
    /// anything the file held).
    pub(crate) fn from_file(s: String) -> Self {
        Password(s)
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Password {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Password::new(s)
    }
}

/// A relay account: user and password, stored as `user:password`.
///
/// `Debug` and `Display` show the user and `<redacted>`.
///
/// ```
/// use dms_relay::types::Credentials;
/// let c = Credentials::new("smtp_user", "smtp_pass").unwrap();
/// assert_eq!(c.to_string(), "smtp_user:<redacted>");
/// assert_eq!(c.table_value().as_str(), "smtp_user:smtp_pass");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    user: RelayUser,
    password: Password,
}

impl Credentials {
    /// Validates both parts.
    pub fn new(user: &str, password: &str) -> Result<Self, ValidationError> {
        Ok(Credentials {
            user: RelayUser::new(user)?,
            password: Password::new(password)?,
        })
    }

    /// From validated parts.
    pub fn from_parts(user: RelayUser, password: Password) -> Self {
        Credentials { user, password }
    }

    /// The user.
    pub fn user(&self) -> &RelayUser {
        &self.user
    }

    /// The password.
    pub fn password(&self) -> &Password {
        &self.password
    }

    /// The table value `user:password` (holds the password: handle with care).
    pub fn table_value(&self) -> TableSecret {
        TableSecret(format!("{}:{}", self.user.0, self.password.0))
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.user)
    }
}

/// A string that holds a password (e.g. a `user:password` table value):
/// redacted in `Debug`, zeroed on drop; [`TableSecret::as_str`] gives it.
#[derive(Clone, PartialEq, Eq)]
pub struct TableSecret(String);

impl TableSecret {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TableSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TableSecret(<redacted>)")
    }
}

impl Drop for TableSecret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_host_forms() {
        let r: RelayHost = "[IPv6:2001:db8::1]:587".parse().unwrap();
        assert_eq!(r.host().kind(), HostKind::Ipv6);
        assert_eq!(r.port().map(Port::get), Some(587));
        assert!("[ipv6:nothex]:25".parse::<RelayHost>().is_err());
        assert!("[h]:".parse::<RelayHost>().is_err());
        assert!("[h]x".parse::<RelayHost>().is_err());
        assert!("h:25:26".parse::<RelayHost>().is_err());
        assert!("192.0.2.1".parse::<RelayHost>().is_err());
        assert!("[1.2.3]".parse::<RelayHost>().is_err());
        assert!("relay_1.test".parse::<RelayHost>().is_ok());
    }

    #[test]
    fn domains() {
        assert!(SenderDomain::new("localhost").is_ok());
        assert!(SenderDomain::new("xn--bcher-kva.example").is_ok());
        assert_eq!(
            SenderDomain::new("1.2.3.4"),
            Err(ValidationError::Numeric {
                field: Field::Domain
            })
        );
        assert!(SenderDomain::new("a_b.test").is_err());
        assert!(SenderDomain::new("example.org.").is_err());
    }
}
