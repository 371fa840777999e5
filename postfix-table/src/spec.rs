//! Lookup-table references as written in main.cf: `type:name`.
//!
//! ```
//! use postfix_table::spec::TableRef;
//!
//! let t: TableRef = "inline:{ a=b, { c = d e } }".parse().unwrap();
//! assert_eq!(t.kind(), "inline");
//! assert_eq!(t.inline_lookup("C"), Some("d e"));
//! assert_eq!(t.to_string(), "inline:{ a=b, { c = d e } }");
//!
//! let maps = TableRef::parse_list("hash:/etc/postfix/a, static:{ x y }").unwrap();
//! assert_eq!(maps[0].path(), Some(std::path::Path::new("/etc/postfix/a")));
//! assert_eq!(maps[1].static_value(), Some("x y"));
//! ```
//!
//! # How Postfix reads a reference (3.7)
//!
//! * A list of references (`smtp_sasl_password_maps = a:b, c:d`) is split
//!   like every Postfix list: separators are `,`, space, tab, CR and LF,
//!   except inside `{ }` (`mystrtokq()`, as `maps_create()` in
//!   `global/maps.c` uses it). See [`tokens`].
//! * A reference is split at its **first** `:` (`dict_open()` in
//!   `util/dict_open.c`); type and name must both be non-empty. The type is
//!   matched **case-sensitively** (`HASH:/x` is "unsupported dictionary
//!   type: HASH"), so it is kept as written.
//! * `inline:{…}`, `static:{…}`, `unionmap:{…}`, `pipemap:{…}`,
//!   `randmap:{…}` and the 3.7 inline pattern forms `regexp:{…}`,
//!   `pcre:{…}`, `cidr:{…}` are checked here as the respective Postfix open
//!   functions check them, and [`SpecError`]'s `Display` gives Postfix's
//!   fatal message (the text after `postmap: fatal: `).
//! * `proxy:` wraps another reference, which is parsed too.
//!
//! Lookups, listing and edits of the in-line types (`inline:{…}`,
//! `static:…`) are in [`crate::inline`].
//!
//! Postfix treats the text as a C string: a NUL byte ends it. A reference
//! containing NUL is refused here ([`SpecError::Nul`]).
//!
//! Nesting (`unionmap:{ unionmap:{ … } }`, `proxy:proxy:…`) is limited to
//! [`MAX_NESTING`] levels, so hostile input cannot exhaust the stack;
//! Postfix has no such limit.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::Fold;
use crate::lines::{c_string, is_space, trim_space};

/// How deeply references may nest inside `proxy:`, `unionmap:{…}` and
/// `pipemap:{…}` before [`TableRef::parse`] gives up with
/// [`SpecError::TooDeep`].
pub const MAX_NESTING: usize = 64;

/// Every table type Postfix 3.7 knows, built in or as a plugin. Which are
/// usable on a host depends on its build and installed packages
/// (`postconf -m`); Postfix decides that only when it opens the table
/// (`unsupported dictionary type: X`), so [`TableRef::parse`] accepts any
/// type and [`TableRef::is_known_kind`] tells whether it is one of these.
pub const KNOWN_KINDS: &[&str] = &[
    "btree",
    "cdb",
    "cidr",
    "dbm",
    "environ",
    "fail",
    "hash",
    "inline",
    "internal",
    "ldap",
    "lmdb",
    "memcache",
    "mysql",
    "netinfo",
    "nis",
    "nisplus",
    "pcre",
    "pgsql",
    "pipemap",
    "proxy",
    "randmap",
    "regexp",
    "sdbm",
    "socketmap",
    "sqlite",
    "static",
    "tcp",
    "texthash",
    "unionmap",
    "unix",
];

/// Types whose name is a file (the source or the database base name).
const FILE_KINDS: &[&str] = &[
    "hash", "btree", "dbm", "sdbm", "cdb", "lmdb", "texthash", "regexp", "pcre", "cidr", "ldap",
    "mysql", "pgsql", "sqlite", "memcache",
];

/// A lookup-table reference as written in main.cf: `type:name`, e.g.
/// `texthash:/etc/postfix/relayhost_map`, `inline:{ a=b, {c = d e} }`,
/// `static:smtp:[x]:25`, `static:{text with spaces}`, `proxy:hash:/etc/x`,
/// `regexp:{ {/a/ b} }`, `unionmap:{ hash:/a, hash:/b }`.
///
/// A `TableRef` has passed every syntax check Postfix makes when it opens
/// the table without touching the file system (see the [module](self)
/// documentation); its [`Display`](fmt::Display) gives back the text exactly
/// as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    text: String,
    colon: usize,
    detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Detail {
    Plain,
    Inline(Vec<(String, String)>),
    Static(String),
    Rules(Vec<String>),
    Nested(Vec<TableRef>),
    Random(Vec<String>),
}

/// What is wrong with a `{…}` group, in the words of Postfix's `extpar()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BraceError {
    /// The text does not start with `{`.
    NoOpen {
        /// The text concerned.
        text: String,
    },
    /// The `{` is never closed.
    MissingClose {
        /// The text concerned.
        text: String,
    },
    /// Something follows the `}` that closes the first `{`.
    TextAfterClose {
        /// The text concerned.
        text: String,
    },
}

impl fmt::Display for BraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BraceError::NoOpen { text } => write!(f, "no '{{' at start of text in \"{text}\""),
            BraceError::MissingClose { text } => write!(f, "missing '}}' in \"{text}\""),
            BraceError::TextAfterClose { text } => {
                write!(f, "syntax error after '}}' in \"{text}\"")
            }
        }
    }
}

impl std::error::Error for BraceError {}

/// Why one `name=value` item of `inline:{…}` is refused (Postfix's
/// `split_qnameval()` and `extpar()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The item is empty (`{ }`).
    NoKey,
    /// A `"` in the key is not closed (quotes do not protect whitespace
    /// outside a `{ }` item, since the list is split first).
    UnbalancedQuote,
    /// No `=` after the key.
    MissingEquals,
    /// A brace problem in a `{ … }` item.
    Braces(BraceError),
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::NoKey => f.write_str("no key found; expected format: key = value"),
            EntryError::UnbalancedQuote => f.write_str("unbalanced '\"'"),
            EntryError::MissingEquals => f.write_str("missing '=' after attribute name"),
            EntryError::Braces(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for EntryError {}

/// Why a table reference is refused. `Display` gives Postfix's fatal
/// message where Postfix has one (what `postmap -q KEY SPEC` prints after
/// `postmap: fatal: `), except that Postfix's log shows control characters
/// (tab, CR, LF…) as `?` where `Display` keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecError {
    /// No `:` at all; Postfix expects `type:name`.
    MissingColon {
        /// The reference as given.
        spec: String,
    },
    /// Nothing before the first `:`.
    EmptyType {
        /// The reference as given.
        spec: String,
    },
    /// Nothing after the first `:`.
    EmptyName {
        /// The reference as given.
        spec: String,
    },
    /// `inline:`, `unionmap:`, `pipemap:` or `randmap:` whose name is not
    /// one balanced, non-empty `{…}` group (or, for `unionmap:`/`pipemap:`,
    /// an item without `:`).
    BadSyntax {
        /// The reference as given.
        spec: String,
        /// The type (`inline`, …).
        kind: String,
        /// What Postfix wants inside the braces: `name=value...`,
        /// `type:name...` or `value...`.
        need: &'static str,
    },
    /// `inline:{ }`: braces with only separators inside.
    EmptyInline {
        /// The reference as given.
        spec: String,
    },
    /// One item of `inline:{…}` is malformed.
    InlineEntry {
        /// The reference as given.
        spec: String,
        /// What is wrong with the item.
        error: EntryError,
    },
    /// `static:{…` with unbalanced braces or text after the `}`.
    StaticBraces {
        /// What `extpar()` says.
        error: BraceError,
    },
    /// `regexp:{…}`, `pcre:{…}`, `cidr:{…}`: the outer braces or a rule's
    /// braces are wrong (each rule must be written `{ rule }`).
    PatternBraces {
        /// The type (`regexp`, `pcre` or `cidr`).
        kind: String,
        /// What `extpar()` says.
        error: BraceError,
    },
    /// Nested deeper than [`MAX_NESTING`] (a limit of this crate, not of
    /// Postfix).
    TooDeep {
        /// The reference as given.
        spec: String,
    },
    /// Not valid UTF-8 ([`TableRef::parse_bytes`]).
    NotUtf8,
    /// An `inline:` reference that is not valid UTF-8
    /// ([`TableRef::parse_bytes`]): fatal in Postfix with `smtputf8_enable
    /// = yes`. (With `smtputf8_enable = no` Postfix accepts it; this crate
    /// keeps references as UTF-8 text and does not.)
    InlineNotUtf8 {
        /// The reference, non-printable bytes shown as `?` as in Postfix's
        /// log.
        spec: String,
    },
    /// Contains a NUL byte (Postfix would silently cut the text there).
    Nul,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::MissingColon { spec }
            | SpecError::EmptyType { spec }
            | SpecError::EmptyName { spec } => write!(
                f,
                "open dictionary: expecting \"type:name\" form instead of \"{spec}\""
            ),
            SpecError::BadSyntax { spec, kind, need } => {
                write!(f, "bad syntax: \"{spec}\"; need \"{kind}:{{{need}}}\"")
            }
            SpecError::EmptyInline { spec } => write!(
                f,
                "empty table: \"{spec}\"; need \"inline:{{name=value...}}\""
            ),
            SpecError::InlineEntry { spec, error } => {
                write!(f, "{error}: \"{spec}\"; need \"inline:{{name=value...}}\"")
            }
            SpecError::StaticBraces { error } => write!(f, "bad static:name syntax: {error}"),
            SpecError::PatternBraces { kind, error } => write!(f, "{kind} map: {error}"),
            SpecError::TooDeep { spec } => write!(
                f,
                "table reference nested more than {MAX_NESTING} levels deep: \"{spec}\""
            ),
            SpecError::NotUtf8 => f.write_str("table reference is not valid UTF-8"),
            SpecError::InlineNotUtf8 { spec } => write!(
                f,
                "bad UTF-8 syntax: \"{spec}\"; need \"inline:{{name=value...}}\""
            ),
            SpecError::Nul => f.write_str("table reference contains a NUL byte"),
        }
    }
}

impl std::error::Error for SpecError {}

/// True for Postfix's list separators `CHARS_COMMA_SP`: `,` space tab CR LF.
pub fn is_list_separator(b: u8) -> bool {
    matches!(b, b',' | b' ' | b'\t' | b'\r' | b'\n')
}

/// Splits `s` into list items as Postfix's `mystrtokq(…, CHARS_COMMA_SP,
/// CHARS_BRACE)` does (`util/mystrtok.c`): items are separated by runs of
/// `,`, space, tab, CR and LF, except inside `{ }`. Braces stay part of the
/// item (`{ a b }` is one item, `x{ a }y` too); a `}` without an open `{`
/// is an ordinary byte, and an unclosed `{` swallows the rest of the text.
/// A NUL byte ends the text, as in C.
///
/// ```
/// use postfix_table::spec::tokens;
/// let items: Vec<&[u8]> = tokens(b"a, { b c },d{ e f }  g").collect();
/// assert_eq!(items, [&b"a"[..], b"{ b c }", b"d{ e f }", b"g"]);
/// ```
pub fn tokens(s: &[u8]) -> Tokens<'_> {
    Tokens {
        rest: c_string(s),
        sep: is_list_separator,
    }
}

/// Like [`tokens`] with another separator set (e.g. Postfix's `CHARS_SPACE`,
/// space tab CR LF, which some parameters use).
pub fn tokens_with(s: &[u8], sep: fn(u8) -> bool) -> Tokens<'_> {
    Tokens {
        rest: c_string(s),
        sep,
    }
}

/// Iterator returned by [`tokens`].
#[derive(Debug, Clone)]
pub struct Tokens<'a> {
    rest: &'a [u8],
    sep: fn(u8) -> bool,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let sep = self.sep;
        let start = self.rest.iter().position(|&b| !sep(b))?;
        let s = self.rest.get(start..).unwrap_or_default();
        let mut level = 0usize;
        let mut end = s.len();
        for (i, &b) in s.iter().enumerate() {
            if b == b'{' {
                level += 1;
            } else if level > 0 && b == b'}' {
                level -= 1;
            } else if level == 0 && sep(b) {
                end = i;
                break;
            }
        }
        let (tok, rest) = s.split_at(end);
        // Skip the one separator that ended the token (the next call skips
        // any further ones).
        self.rest = rest.get(1..).unwrap_or_default();
        Some(tok)
    }
}

/// Length of the balanced `{…}` group at the start of `s` (Postfix's
/// `balpar()`), or `None` when `s` does not start with `{` or never closes it.
pub fn balanced_group_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'{') {
        return None;
    }
    let mut level = 0usize;
    for (i, &b) in s.iter().enumerate() {
        match b {
            b'{' => level += 1,
            b'}' => {
                level -= 1;
                if level == 0 {
                    return Some(i + 1);
                }
            }
            0 => return None,
            _ => {}
        }
    }
    None
}

/// Removes one outer `{ }` from `s` and trims C whitespace inside, as
/// Postfix's `extpar(…, CHARS_BRACE, EXTPAR_FLAG_STRIP)` (`util/extpar.c`).
/// `s` must start with `{` whose matching `}` is the last byte.
///
/// ```
/// use postfix_table::spec::unbrace;
/// assert_eq!(unbrace(b"{ a b }").unwrap(), b"a b");
/// assert!(unbrace(b"{a}b").is_err());
/// ```
pub fn unbrace(s: &[u8]) -> Result<&[u8], BraceError> {
    let text = || String::from_utf8_lossy(s).into_owned();
    if s.first() != Some(&b'{') {
        return Err(BraceError::NoOpen { text: text() });
    }
    match balanced_group_len(s) {
        None => Err(BraceError::MissingClose { text: text() }),
        Some(len) if len != s.len() => Err(BraceError::TextAfterClose { text: text() }),
        Some(len) => Ok(trim_space(
            s.get(1..len.saturating_sub(1)).unwrap_or_default(),
        )),
    }
}

/// Splits one `inline:` item into key and value as Postfix's
/// `split_qnameval()` (`util/split_qnameval.c`): the key ends at unquoted
/// whitespace or `=`; quotes and backslashes stay in the key; whitespace
/// around `=` and at the end of the value is dropped.
fn split_qnameval(item: &[u8]) -> Result<(&[u8], &[u8]), EntryError> {
    let key_start = item
        .iter()
        .position(|&b| !is_space(b))
        .ok_or(EntryError::NoKey)?;
    let rest = item.get(key_start..).unwrap_or_default();
    let mut in_quotes = false;
    let mut key_end = rest.len();
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        if b == b'\\' {
            i += 1;
            if i >= rest.len() {
                break;
            }
        } else if is_space(b) || b == b'=' {
            if !in_quotes {
                key_end = i;
                break;
            }
        } else if b == b'"' {
            in_quotes = !in_quotes;
        }
        i += 1;
    }
    if in_quotes {
        return Err(EntryError::UnbalancedQuote);
    }
    let key = rest.get(..key_end).unwrap_or_default();
    let after = rest.get(key_end..).unwrap_or_default();
    let after = after.get(
        after
            .iter()
            .position(|&b| !is_space(b))
            .unwrap_or(after.len())..,
    );
    match after {
        Some([b'=', value @ ..]) => Ok((key, trim_space(value))),
        _ => Err(EntryError::MissingEquals),
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl TableRef {
    /// Parses one reference (see the [module](self) documentation).
    ///
    /// ```
    /// use postfix_table::spec::TableRef;
    /// let e = TableRef::parse("inline:{ a=b").unwrap_err();
    /// assert_eq!(e.to_string(), r#"bad syntax: "inline:{ a=b"; need "inline:{name=value...}""#);
    /// ```
    pub fn parse(s: &str) -> Result<TableRef, SpecError> {
        if s.as_bytes().contains(&0) {
            return Err(SpecError::Nul);
        }
        Self::parse_depth(s, 0)
    }

    /// [`TableRef::parse`] for bytes, e.g. a raw main.cf value. Text that
    /// is not UTF-8 is refused: for `inline:` with Postfix's message
    /// ([`SpecError::InlineNotUtf8`]), otherwise [`SpecError::NotUtf8`].
    ///
    /// ```
    /// use postfix_table::spec::TableRef;
    /// assert_eq!(
    ///     TableRef::parse_bytes(b"inline:{x\xffy=1}").unwrap_err().to_string(),
    ///     r#"bad UTF-8 syntax: "inline:{x?y=1}"; need "inline:{name=value...}""#
    /// );
    /// ```
    pub fn parse_bytes(s: &[u8]) -> Result<TableRef, SpecError> {
        match std::str::from_utf8(s) {
            Ok(s) => Self::parse(s),
            Err(_) if crate::lines::c_string(s).starts_with(b"inline:") => {
                Err(crate::inline::inline_not_utf8(crate::lines::c_string(s)))
            }
            Err(_) => Err(SpecError::NotUtf8),
        }
    }

    /// Parses a list of references as `maps_create()` in `global/maps.c`
    /// does (items split by [`tokens`]); an empty or blank list gives no
    /// references. The first bad reference is the error.
    ///
    /// The value must already be `$`-expanded, as Postfix expands it before
    /// it opens the tables (`pa$$word` in main.cf is `pa$word` here).
    pub fn parse_list(s: &str) -> Result<Vec<TableRef>, SpecError> {
        if s.as_bytes().contains(&0) {
            return Err(SpecError::Nul);
        }
        Self::parse_list_depth(s, 0)
    }

    fn parse_list_depth(s: &str, depth: usize) -> Result<Vec<TableRef>, SpecError> {
        tokens(s.as_bytes())
            .map(|t| Self::parse_depth(&String::from_utf8_lossy(t), depth))
            .collect()
    }

    fn parse_depth(s: &str, depth: usize) -> Result<TableRef, SpecError> {
        let spec = || s.to_owned();
        if depth > MAX_NESTING {
            return Err(SpecError::TooDeep { spec: spec() });
        }
        let colon = s
            .find(':')
            .ok_or_else(|| SpecError::MissingColon { spec: spec() })?;
        let (kind, name) = (
            s.get(..colon).unwrap_or_default(),
            s.get(colon + 1..).unwrap_or_default(),
        );
        if kind.is_empty() {
            return Err(SpecError::EmptyType { spec: spec() });
        }
        if name.is_empty() {
            return Err(SpecError::EmptyName { spec: spec() });
        }
        let nb = name.as_bytes();
        // The content of a `type:{…}` name that must be one balanced,
        // non-empty group, as inline/unionmap/pipemap/randmap require.
        let group = |need: &'static str| -> Result<&[u8], SpecError> {
            match balanced_group_len(nb) {
                Some(len) if len == nb.len() && len > 2 => {
                    Ok(nb.get(1..len - 1).unwrap_or_default())
                }
                _ => Err(SpecError::BadSyntax {
                    spec: spec(),
                    kind: kind.to_owned(),
                    need,
                }),
            }
        };
        let detail = match kind {
            "inline" => {
                let inner = group("name=value...")?;
                let mut entries = Vec::new();
                for item in tokens(inner) {
                    let item = if item.first() == Some(&b'{') {
                        unbrace(item).map_err(|e| SpecError::InlineEntry {
                            spec: spec(),
                            error: EntryError::Braces(e),
                        })?
                    } else {
                        item
                    };
                    let (k, v) = split_qnameval(item).map_err(|error| SpecError::InlineEntry {
                        spec: spec(),
                        error,
                    })?;
                    entries.push((lossy(k), lossy(v)));
                }
                if entries.is_empty() {
                    return Err(SpecError::EmptyInline { spec: spec() });
                }
                Detail::Inline(entries)
            }
            "static" => {
                if nb.first() == Some(&b'{') {
                    let v = unbrace(nb).map_err(|error| SpecError::StaticBraces { error })?;
                    Detail::Static(lossy(v))
                } else {
                    Detail::Static(name.to_owned())
                }
            }
            "regexp" | "pcre" | "cidr" if nb.first() == Some(&b'{') => {
                let perr = |error| SpecError::PatternBraces {
                    kind: kind.to_owned(),
                    error,
                };
                // The outer braces are removed without trimming.
                let inner = match balanced_group_len(nb) {
                    None => {
                        return Err(perr(BraceError::MissingClose {
                            text: name.to_owned(),
                        }));
                    }
                    Some(len) if len != nb.len() => {
                        return Err(perr(BraceError::TextAfterClose {
                            text: name.to_owned(),
                        }));
                    }
                    Some(len) => nb.get(1..len - 1).unwrap_or_default(),
                };
                let mut rules = Vec::new();
                for item in tokens(inner) {
                    rules.push(lossy(unbrace(item).map_err(perr)?));
                }
                Detail::Rules(rules)
            }
            "unionmap" | "pipemap" => {
                let inner = group("type:name...")?;
                let mut refs = Vec::new();
                for item in tokens(inner) {
                    if !item.contains(&b':') {
                        return Err(SpecError::BadSyntax {
                            spec: spec(),
                            kind: kind.to_owned(),
                            need: "type:name...",
                        });
                    }
                    refs.push(Self::parse_depth(
                        &String::from_utf8_lossy(item),
                        depth + 1,
                    )?);
                }
                Detail::Nested(refs)
            }
            "randmap" => {
                let inner = group("value...")?;
                let values: Vec<String> = tokens(inner).map(lossy).collect();
                if values.is_empty() {
                    return Err(SpecError::BadSyntax {
                        spec: spec(),
                        kind: kind.to_owned(),
                        need: "value...",
                    });
                }
                Detail::Random(values)
            }
            "proxy" => Detail::Nested(vec![Self::parse_depth(name, depth + 1)?]),
            _ => Detail::Plain,
        };
        Ok(TableRef {
            text: s.to_owned(),
            colon,
            detail,
        })
    }

    /// The type, exactly as written (Postfix matches it case-sensitively):
    /// `hash`, `inline`, `proxy`, …
    pub fn kind(&self) -> &str {
        self.text.get(..self.colon).unwrap_or_default()
    }

    /// True when [`TableRef::kind`] is one of [`KNOWN_KINDS`] (exact case:
    /// `HASH` is not a type).
    pub fn is_known_kind(&self) -> bool {
        KNOWN_KINDS.contains(&self.kind())
    }

    /// Everything after the first `:`: a path, `{…}`, or for `proxy:` the
    /// inner reference.
    pub fn name(&self) -> &str {
        self.text.get(self.colon + 1..).unwrap_or_default()
    }

    /// The whole reference, as parsed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The file named by a file-based table (`hash`, `btree`, `dbm`,
    /// `sdbm`, `cdb`, `lmdb`, `texthash`, `regexp`, `pcre`, `cidr`, and the
    /// configuration file of `ldap`, `mysql`, `pgsql`, `sqlite`,
    /// `memcache`), as written. For the indexed types this is the source
    /// file; the database itself has a suffix (`.db`, `.lmdb`, `.cdb`, …).
    /// `None` for other types and for the inline `regexp:{…}` forms; for
    /// `proxy:` see [`TableRef::inner`].
    pub fn path(&self) -> Option<&Path> {
        match self.detail {
            Detail::Plain if FILE_KINDS.contains(&self.kind()) => Some(Path::new(self.name())),
            _ => None,
        }
    }

    /// `inline:{…}`: its `(key, value)` items in order, as Postfix's
    /// `dict_inline_open()` splits them. Keys are as written (not folded;
    /// quotes and backslashes kept); duplicates are all listed — in a lookup
    /// the last one wins ([`TableRef::inline_lookup`]). A value may be
    /// empty (`{ key = }`; Postfix warns when such a result is returned).
    pub fn inline_entries(&self) -> Option<&[(String, String)]> {
        match &self.detail {
            Detail::Inline(e) => Some(e),
            _ => None,
        }
    }

    /// `inline:{…}`: the value Postfix returns for `key` (keys folded as
    /// with `smtputf8_enable = yes`; last duplicate wins). `None` when not
    /// found or not an inline table. [`TableRef::lookup`] and
    /// [`TableRef::lookup_with`] ([`crate::inline`]) also answer for
    /// `static:`, take [`crate::Options`] and say why a key is not found.
    pub fn inline_lookup(&self, key: &str) -> Option<&str> {
        self.inline_entries()?
            .iter()
            .rev()
            .find(|(k, _)| Fold::Unicode.eq(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v.as_str())
    }

    /// `static:`: the value returned for every key — the name, or for
    /// `static:{ … }` the text inside the braces with surrounding whitespace
    /// trimmed (`dict_static_open()`).
    pub fn static_value(&self) -> Option<&str> {
        match &self.detail {
            Detail::Static(v) => Some(v),
            _ => None,
        }
    }

    /// The inline pattern forms `regexp:{ {rule}, … }`, `pcre:{…}`,
    /// `cidr:{…}`: each rule without its braces and surrounding whitespace
    /// (Postfix feeds them to the table parser one per line; empty rules
    /// are ignored there). An empty list (`regexp:{}`) is valid.
    pub fn pattern_rules(&self) -> Option<&[String]> {
        match &self.detail {
            Detail::Rules(r) => Some(r),
            _ => None,
        }
    }

    /// The references inside `proxy:` (one), `unionmap:{…}` and
    /// `pipemap:{…}` (one or more); empty for other types.
    pub fn inner(&self) -> &[TableRef] {
        match &self.detail {
            Detail::Nested(r) => r,
            _ => &[],
        }
    }

    /// `randmap:{…}`: the values one of which is returned at random. Items
    /// keep their braces (`randmap:{ a, {b c} }` returns `a` or `{b c}`).
    pub fn random_values(&self) -> Option<&[String]> {
        match &self.detail {
            Detail::Random(v) => Some(v),
            _ => None,
        }
    }
}

impl FromStr for TableRef {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<TableRef, SpecError> {
        TableRef::parse(s)
    }
}

impl fmt::Display for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokens(s.as_bytes())
            .map(|t| std::str::from_utf8(t).unwrap())
            .collect()
    }

    #[test]
    fn mystrtokq_cases_from_postfix_selftest() {
        // The expectations of util/mystrtok.c's own test table.
        assert_eq!(toks(""), Vec::<&str>::new());
        assert_eq!(toks("foo bar"), ["foo", "bar"]);
        assert_eq!(toks("{ bar }  "), ["{ bar }"]);
        assert_eq!(toks("foo { bar } baz"), ["foo", "{ bar }", "baz"]);
        assert_eq!(toks("foo{ bar } baz"), ["foo{ bar }", "baz"]);
        assert_eq!(toks("foo { bar }baz"), ["foo", "{ bar }baz"]);
    }

    #[test]
    fn unbalanced_brace_swallows_rest_and_stray_close_is_plain() {
        assert_eq!(toks("a {b, c d"), ["a", "{b, c d"]);
        assert_eq!(toks("a} b"), ["a}", "b"]);
        assert_eq!(toks("a\0b c"), ["a"]);
    }

    #[test]
    fn split_qnameval_rules() {
        assert_eq!(split_qnameval(b"a=b").unwrap(), (&b"a"[..], &b"b"[..]));
        assert_eq!(
            split_qnameval(b" a = b c ").unwrap(),
            (&b"a"[..], &b"b c"[..])
        );
        assert_eq!(
            split_qnameval(b"\"a b\" = v").unwrap(),
            (&b"\"a b\""[..], &b"v"[..])
        );
        assert_eq!(
            split_qnameval(b"a\\ b=v").unwrap(),
            (&b"a\\ b"[..], &b"v"[..])
        );
        assert_eq!(split_qnameval(b"=x").unwrap(), (&b""[..], &b"x"[..]));
        assert_eq!(split_qnameval(b"  "), Err(EntryError::NoKey));
        assert_eq!(split_qnameval(b"a"), Err(EntryError::MissingEquals));
        assert_eq!(split_qnameval(b"\"a=b"), Err(EntryError::UnbalancedQuote));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut s = String::from("static:x");
        for _ in 0..10_000 {
            s = format!("unionmap:{{{s}}}");
        }
        assert!(matches!(
            TableRef::parse(&s),
            Err(SpecError::TooDeep { .. })
        ));
        let p = "proxy:".repeat(100_000) + "hash:/x";
        assert!(matches!(
            TableRef::parse(&p),
            Err(SpecError::TooDeep { .. })
        ));
        let b = format!("inline:{}", "{".repeat(100_000));
        assert!(TableRef::parse(&b).is_err());
    }

    #[test]
    fn accessors() {
        let t = TableRef::parse("proxy:unionmap:{ hash:/a, static:{ x } }").unwrap();
        assert_eq!(t.kind(), "proxy");
        let u = &t.inner()[0];
        assert_eq!(u.kind(), "unionmap");
        assert_eq!(u.inner()[0].path(), Some(Path::new("/a")));
        assert_eq!(u.inner()[1].static_value(), Some("x"));
        let r = TableRef::parse("regexp:{ {/a/ b}, { /c/ d } ,{}}").unwrap();
        assert_eq!(r.pattern_rules().unwrap(), ["/a/ b", "/c/ d", ""]);
        assert_eq!(r.path(), None);
        assert_eq!(
            TableRef::parse("randmap:{ a, {b c} }")
                .unwrap()
                .random_values()
                .unwrap(),
            ["a", "{b c}"]
        );
        assert_eq!(TableRef::parse("HASH:/x").unwrap().kind(), "HASH");
        assert!(!TableRef::parse("HASH:/x").unwrap().is_known_kind());
        assert!(TableRef::parse("lmdb:/x").unwrap().is_known_kind());
        assert_eq!(
            TableRef::parse("static:smtp:[x]:25")
                .unwrap()
                .static_value(),
            Some("smtp:[x]:25")
        );
    }
}
