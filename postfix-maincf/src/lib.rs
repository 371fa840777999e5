//! `postfix-maincf`: lossless main.cf reading, expansion and editing with
//! the semantics of Postfix 3.7's `postconf`.
//!
//! - [`MainCf`]: the document. Parsing never fails and writing gives back
//!   every byte; [`MainCf::get`] gives a value exactly as Postfix stores it,
//!   [`MainCf::diagnostics`] what postconf warns about or refuses.
//! - [`expand`]: `$name` expansion as `postconf -x` does it, with postconf's
//!   errors.
//! - [`edit`]: `postconf -e`, `-X` and `-#` ([`MainCf::set`],
//!   [`MainCf::remove`], [`MainCf::comment_out`], [`MainCf::postconf_edit`]).
//! - [`defaults`], [`known`], [`postconf`]: Postfix's built-in defaults, the
//!   parameter names postconf knows, and its exact `-n`/`-h`/`-x` output.
//! - [`typed`]: booleans, numbers, times, lists and table references as
//!   Postfix converts them.
//!
//! ```
//! use postfix_maincf::MainCf;
//!
//! let mut cf = MainCf::parse(b"# relay\nrelayhost = [smtp.example.com]:587\nmydestination = a,\n    b\n");
//! assert_eq!(cf.get_str("relayhost").as_deref(), Some("[smtp.example.com]:587"));
//! // Continuation lines are joined with only the LF removed: indentation stays.
//! assert_eq!(cf.get("mydestination").as_deref(), Some(&b"a,    b"[..]));
//! cf.set("relayhost", "[smtp.example.net]").unwrap();
//! assert_eq!(cf.to_bytes(), b"# relay\nrelayhost = [smtp.example.net]\nmydestination = a,\n    b\n");
//! ```
//!
//! What is preserved: every byte of every line an edit does not touch. An
//! edit rewrites only the entries it names (see [`edit`] for exactly how,
//! and where it deliberately differs from postconf).
//!
//! Table references in values (`inline:{…}`, `static:…`, `hash:/file`, …)
//! are read with [`typed::parse_table_refs`] / [`typed::Resolved::table_refs`]
//! (after `$` expansion, as Postfix does) and looked up with
//! `postfix_table::spec::TableRef::lookup`; one key of an `inline:{…}`
//! table is edited in place with [`typed::set_inline_entry`] (a `$` is
//! written `$$`).
//!
//! ```
//! use postfix_maincf::{MainCf, defaults::Defaults, typed::set_inline_entry};
//!
//! let mut cf = MainCf::parse(b"smtp_sasl_password_maps = inline:{ [smtp.example.com]:587=user:pa$$word }\n");
//! let defaults = Defaults::default();
//! let maps = cf.resolved(&defaults).table_refs("smtp_sasl_password_maps").unwrap().unwrap();
//! assert_eq!(maps[0].lookup("[SMTP.example.com]:587").unwrap().value(), Some("user:pa$word"));
//!
//! let raw = cf.get("smtp_sasl_password_maps").unwrap().into_owned();
//! cf.set("smtp_sasl_password_maps", set_inline_entry(&raw, "[b]:25", "u:$2")?)?;
//! assert_eq!(
//!     cf.to_bytes(),
//!     b"smtp_sasl_password_maps = inline:{ [smtp.example.com]:587=user:pa$$word, [b]:25=u:$$2 }\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Public dependencies
//!
//! `postfix-table` is part of this crate's API: [`lines`] is its module,
//! re-exported; table references are its `spec::TableRef` (and errors
//! [`typed::TypedError::Table`], [`typed::InlineValueError`] carry its
//! error types). The two crates are released together, with the same
//! version. No other dependency's types appear in the API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::borrow::Cow;
use std::fmt;

pub use postfix_table::lines;

pub mod defaults;
pub mod edit;
pub mod expand;
pub mod known;
pub mod ops;
pub mod postconf;
pub mod typed;

mod source;
use source::Source;

pub use edit::{EditError, EditMode, EditReport, EditWarning};
use postfix_table::lines::{Segment, c_string, is_space, printable_lossy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trivia,
    Logical { orphan: bool },
}

#[derive(Debug, Clone)]
struct Node {
    /// Span of the node's bytes in `MainCf::src` followed by
    /// `MainCf::extra` (bytes written by edits), see [`MainCf::span`].
    start: usize,
    end: usize,
    /// Number of LF bytes in the node (its physical line count, but for a
    /// last line without LF); [`LF_COUNT`]: too many to store, count them.
    lf: u32,
    kind: Kind,
}

/// [`Node::lf`] for a node with at least `u32::MAX` LF bytes (the count is
/// taken from its bytes when needed). Keeping `lf` to 32 bits keeps a node
/// at 24 bytes: a large file has a node per line, and fresh memory costs a
/// page fault per 4 KiB.
const LF_COUNT: u32 = u32::MAX;

/// [`Node::lf`] for `n` LF bytes.
fn lf_field(n: usize) -> u32 {
    u32::try_from(n)
        .ok()
        .filter(|&v| v != LF_COUNT)
        .unwrap_or(LF_COUNT)
}

/// A main.cf file, kept byte for byte.
///
/// Every byte of the input belongs to exactly one node: a run of comment
/// and blank lines, or one logical line (a `name = value` entry with its
/// continuation lines and any comment lines between them). An edit replaces
/// only the nodes it touches; every other byte is written back as read.
#[derive(Debug, Clone)]
pub struct MainCf {
    /// The bytes parsed (never changed: edits write to `extra`).
    src: Source,
    /// Bytes written by edits (nodes address them past `src.len()`).
    /// Replaced text stays until [`MainCf::compact_extra`] drops it.
    extra: Vec<u8>,
    /// Size of `extra` after its last compaction.
    extra_compacted: usize,
    nodes: Vec<Node>,
    /// postconf edit key -> entry nodes, built by the first edit and kept
    /// up to date while edits leave node positions alone (see `edit`).
    edit_index: Option<edit::EditIndex>,
}

/// One `name = value` definition, as Postfix stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter<'a> {
    /// The name (case-sensitive; any bytes but whitespace and `=`).
    pub name: Cow<'a, [u8]>,
    /// The raw value: continuation lines joined with only their LF removed,
    /// leading and trailing whitespace trimmed, nothing expanded.
    pub value: Cow<'a, [u8]>,
    /// 1-based number of its first physical line.
    pub line: usize,
}

/// What `postconf` says about a main.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line number of the logical line concerned.
    pub line: usize,
    /// What is wrong.
    pub kind: DiagnosticKind,
}

/// What a [`Diagnostic`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// An indented line before any parameter; Postfix drops it and its
    /// continuation lines (a warning).
    LeadingWhitespace {
        /// The dropped logical line.
        text: Vec<u8>,
    },
    /// A logical line without `=` after the name: fatal for postconf and
    /// every daemon.
    MissingEquals {
        /// The logical line.
        text: Vec<u8>,
    },
    /// A logical line starting with `=`: fatal.
    MissingName {
        /// The logical line.
        text: Vec<u8>,
    },
    /// A later definition replaces an earlier one with a different value
    /// (compared byte for byte): a warning; the last definition wins.
    Overriding {
        /// The parameter name.
        name: Vec<u8>,
        /// The value being replaced.
        old_value: Vec<u8>,
    },
}

impl Diagnostic {
    /// True when postconf (and every daemon) refuses the whole file.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            DiagnosticKind::MissingEquals { .. } | DiagnosticKind::MissingName { .. }
        )
    }

    /// The message exactly as `postconf` prints it after `postconf: warning: `
    /// or `postconf: fatal: ` (see [`Diagnostic::is_fatal`]), for a main.cf at `path`.
    ///
    /// ```
    /// let cf = postfix_maincf::MainCf::parse(b"relayhost = a\nrelayhost = b\n");
    /// assert_eq!(
    ///     cf.diagnostics()[0].postconf_message("/etc/postfix/main.cf"),
    ///     "/etc/postfix/main.cf, line 2: overriding earlier entry: relayhost=a"
    /// );
    /// ```
    pub fn postconf_message(&self, path: &str) -> String {
        let n = self.line;
        let p = |t: &[u8]| printable_lossy(t, true);
        match &self.kind {
            DiagnosticKind::LeadingWhitespace { text } => format!(
                "{path}: logical line must not start with whitespace: \"{}\"",
                String::from_utf8_lossy(&lines::leading_whitespace_excerpt(text, true))
            ),
            DiagnosticKind::MissingEquals { text } => format!(
                "{path}, line {n}: missing '=' after attribute name: \"{}\"",
                p(text)
            ),
            DiagnosticKind::MissingName { text } => {
                format!("{path}, line {n}: missing attribute name: \"{}\"", p(text))
            }
            DiagnosticKind::Overriding { name, old_value } => format!(
                "{path}, line {n}: overriding earlier entry: {}={}",
                p(name),
                p(old_value)
            ),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.is_fatal() { "error" } else { "warning" };
        write!(f, "{level}: {}", self.postconf_message("main.cf"))
    }
}

/// One definition while looking for overrides: name, value, line.
type Definition<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>, usize);

/// The fatal problems of a main.cf, from [`MainCf::parse_strict`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.first().map(|d| d.postconf_message("main.cf")).unwrap_or_default())]
pub struct ParseError(pub Vec<Diagnostic>);

/// Result of splitting one logical line (`split_nameval()`).
enum Split<'a> {
    Ok { name: &'a [u8], value: &'a [u8] },
    MissingName,
    MissingEquals,
}

fn split_nameval(line: &[u8]) -> Split<'_> {
    let skip_ws = |mut i: usize| {
        while line.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        i
    };
    let np = skip_ws(0);
    match line.get(np) {
        None | Some(b'=') => return Split::MissingName,
        Some(_) => {}
    }
    let mut ep = np;
    while line.get(ep).is_some_and(|&b| !is_space(b) && b != b'=') {
        ep += 1;
    }
    let cp = skip_ws(ep);
    if line.get(cp) != Some(&b'=') {
        return Split::MissingEquals;
    }
    let value = lines::trim_space(line.get(cp + 1..).unwrap_or_default());
    Split::Ok {
        name: line.get(np..ep).unwrap_or_default(),
        value,
    }
}

/// Splits `src` into nodes (appended to `out`); spans are offset by `base`.
/// Nodes made here borrow from the document's source.
fn segment_into(src: &[u8], base: usize, out: &mut Vec<Node>) {
    let out_len_before = out.len();
    // Room for a node per 8 bytes (main.cf lines are longer than that):
    // reserving costs no pages until they are used, and counting the lines
    // first would be a pass over the whole input.
    out.reserve(src.len() / 8 + 1);
    // Each node's LF count is the distance to the next node's first line
    // (the last node's is counted).
    let mut prev_first: Option<usize> = None;
    lines::for_each_segment(src, |seg| {
        let (range, kind, first_line) = match seg {
            Segment::Trivia { range, first_line } => (range, Kind::Trivia, first_line),
            Segment::Logical(l) => (
                l.range,
                Kind::Logical {
                    orphan: l.leading_whitespace,
                },
                l.first_line,
            ),
        };
        if let (Some(prev), Some(node)) = (prev_first, out.last_mut()) {
            node.lf = lf_field(first_line.saturating_sub(prev));
        }
        prev_first = Some(first_line);
        out.push(Node {
            start: base + range.start,
            end: base + range.end,
            lf: 0,
            kind,
        });
    });
    let added = out.len() > out_len_before;
    if let Some(node) = out.last_mut().filter(|_| added) {
        let n = src
            .get(node.start - base..node.end - base)
            .map_or(0, |b| memchr::memchr_iter(b'\n', b).count());
        node.lf = lf_field(n);
    }
}

impl MainCf {
    /// Parses any bytes; never fails. Problems are reported by
    /// [`MainCf::diagnostics`].
    pub fn parse(bytes: &[u8]) -> Self {
        Self::from_vec(bytes.to_vec())
    }

    /// Like [`MainCf::parse`], taking ownership of the bytes (no copy).
    pub fn from_vec(src: Vec<u8>) -> Self {
        Self::from_source(Source::Vec(src))
    }

    /// Reads and parses the file at `path`, as [`MainCf::from_vec`] of its
    /// bytes.
    ///
    /// On Linux, a file of 2 MiB or more is read by two threads into an
    /// anonymous memory mapping advised for transparent huge pages: fewer
    /// page faults and TLB misses while reading it and in every later pass
    /// over its bytes (`postconf-lite -n` on a 4.7 MB main.cf ran 12 %
    /// faster). The mapping is private to the document and read-only after
    /// the read; where the system allows no huge pages it is ordinary
    /// memory. Smaller files are read into a `Vec`.
    ///
    /// A file that changes size while it is read is read again to its end.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("main.cf");
    /// std::fs::write(&path, "relayhost = [smtp.example.com]:587\n")?;
    /// let cf = postfix_maincf::MainCf::load(&path)?;
    /// assert_eq!(cf.get_str("relayhost").as_deref(), Some("[smtp.example.com]:587"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn load(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        source::read(path.as_ref()).map(Self::from_source)
    }

    fn from_source(src: Source) -> Self {
        let mut nodes = Vec::new();
        segment_into(&src, 0, &mut nodes);
        MainCf {
            src,
            extra: Vec::new(),
            extra_compacted: 0,
            nodes,
            edit_index: None,
        }
    }

    /// Parses, refusing files that postconf refuses (a line without `=` or
    /// without a name).
    pub fn parse_strict(bytes: &[u8]) -> Result<Self, ParseError> {
        let cf = MainCf::parse(bytes);
        let fatal: Vec<Diagnostic> = cf
            .diagnostics()
            .into_iter()
            .filter(Diagnostic::is_fatal)
            .collect();
        if fatal.is_empty() {
            Ok(cf)
        } else {
            Err(ParseError(fatal))
        }
    }

    /// The document's bytes: identical to the input until an edit, and
    /// after edits, the input with only the edited entries changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.src.len() + 64);
        for node in &self.nodes {
            out.extend_from_slice(self.node_bytes(node));
        }
        out
    }

    /// Writes the document (the bytes of [`MainCf::to_bytes`]) to `w`.
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        for node in &self.nodes {
            w.write_all(self.node_bytes(node))?;
        }
        Ok(())
    }

    fn node_bytes<'a>(&'a self, node: &'a Node) -> &'a [u8] {
        self.span(node.start, node.end)
    }

    /// The bytes at `start..end` of `src` followed by `extra`.
    fn span(&self, start: usize, end: usize) -> &[u8] {
        let base = self.src.len();
        if start < base {
            self.src.get(start..end)
        } else {
            self.extra
                .get(start.saturating_sub(base)..end.saturating_sub(base))
        }
        .unwrap_or_default()
    }

    /// The number of LF bytes in `node`.
    fn lf_of(&self, node: &Node) -> usize {
        match node.lf {
            LF_COUNT => memchr::memchr_iter(b'\n', self.node_bytes(node)).count(),
            n => n as usize,
        }
    }

    fn logical<'a>(&'a self, node: &'a Node) -> Cow<'a, [u8]> {
        let bytes = self.node_bytes(node);
        // One physical line (no LF, or one LF at the end: most entries):
        // the logical line is that line, without looking for continuations.
        match (node.lf, bytes.split_last()) {
            (0, _) => return Cow::Borrowed(bytes),
            (1, Some((b'\n', line))) => return Cow::Borrowed(line),
            _ => {}
        }
        lines::logical_text(bytes)
    }

    /// Nodes with the 1-based line number each starts on.
    fn numbered(&self) -> impl Iterator<Item = (usize, &Node)> + '_ {
        let mut line = 1;
        self.nodes.iter().map(move |n| {
            let here = line;
            line += self.lf_of(n);
            (here, n)
        })
    }

    /// Every definition in file order, including overridden ones. Lines
    /// Postfix rejects or drops are not included (see [`MainCf::diagnostics`]).
    pub fn parameters(&self) -> impl Iterator<Item = Parameter<'_>> + '_ {
        self.numbered().filter_map(|(line, node)| {
            let Kind::Logical { orphan: false } = node.kind else {
                return None;
            };
            match self.logical(node) {
                Cow::Borrowed(t) => match split_nameval(c_string(t)) {
                    Split::Ok { name, value } => Some(Parameter {
                        name: Cow::Borrowed(name),
                        value: Cow::Borrowed(value),
                        line,
                    }),
                    _ => None,
                },
                Cow::Owned(t) => match split_nameval(c_string(&t)) {
                    Split::Ok { name, value } => Some(Parameter {
                        name: Cow::Owned(name.to_vec()),
                        value: Cow::Owned(value.to_vec()),
                        line,
                    }),
                    _ => None,
                },
            }
        })
    }

    /// Every logical line Postfix reads, in file order: a definition, or
    /// what [`MainCf::diagnostics`] says about a line that is not one
    /// (overriding definitions are left to the caller: they are ordinary
    /// definitions here).
    pub(crate) fn logical_lines(
        &self,
    ) -> impl Iterator<Item = Result<Parameter<'_>, Diagnostic>> + '_ {
        self.numbered().filter_map(|(line, node)| {
            let Kind::Logical { orphan } = node.kind else {
                return None;
            };
            let text = self.logical(node);
            if orphan {
                return Some(Err(Diagnostic {
                    line,
                    kind: DiagnosticKind::LeadingWhitespace {
                        text: text.into_owned(),
                    },
                }));
            }
            Some(match text {
                Cow::Borrowed(t) => match split_nameval(c_string(t)) {
                    Split::Ok { name, value } => Ok(Parameter {
                        name: Cow::Borrowed(name),
                        value: Cow::Borrowed(value),
                        line,
                    }),
                    other => Err(Self::fatal_diagnostic(line, other, c_string(t))),
                },
                Cow::Owned(t) => match split_nameval(c_string(&t)) {
                    Split::Ok { name, value } => Ok(Parameter {
                        name: Cow::Owned(name.to_vec()),
                        value: Cow::Owned(value.to_vec()),
                        line,
                    }),
                    other => Err(Self::fatal_diagnostic(line, other, c_string(&t))),
                },
            })
        })
    }

    /// The raw value of `name` (the last definition wins), as Postfix
    /// stores it: nothing expanded.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<Cow<'_, [u8]>> {
        let name = name.as_ref();
        self.parameters()
            .filter(|p| p.name == name)
            .last()
            .map(|p| p.value)
    }

    /// Values as a Postfix daemon sees them (main.cf value or built-in
    /// default, `$` expanded, converted to booleans, lists, table
    /// references…): see [`typed::Resolved`].
    pub fn resolved<'a>(&'a self, defaults: &'a defaults::Defaults) -> typed::Resolved<'a> {
        typed::Resolved::new(self, defaults)
    }

    /// Like [`MainCf::get`], as text (invalid UTF-8 shown as U+FFFD).
    pub fn get_str(&self, name: impl AsRef<[u8]>) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// Every parameter with its effective raw value, sorted by name (byte
    /// order), as Postfix's dictionary holds them.
    pub fn values(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.effective()
            .into_iter()
            .map(|p| (p.name.into_owned(), p.value.into_owned()))
            .collect()
    }

    /// What postconf warns about or refuses, in file order. Postconf stops
    /// at the first fatal problem; all of them are listed here.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        // (name, value, line) of every definition; overrides are found by
        // sorting on the name (stable: file order within a name), which is
        // much cheaper than a hash map on large files.
        let mut defs: Vec<Definition<'_>> = Vec::new();
        for (line, node) in self.numbered() {
            let Kind::Logical { orphan } = node.kind else {
                continue;
            };
            let text = self.logical(node);
            if orphan {
                out.push(Diagnostic {
                    line,
                    kind: DiagnosticKind::LeadingWhitespace {
                        text: text.to_vec(),
                    },
                });
                continue;
            }
            let (name, value) = match text {
                Cow::Borrowed(t) => match split_nameval(c_string(t)) {
                    Split::Ok { name, value } => (Cow::Borrowed(name), Cow::Borrowed(value)),
                    other => {
                        out.push(Self::fatal_diagnostic(line, other, c_string(t)));
                        continue;
                    }
                },
                Cow::Owned(t) => match split_nameval(c_string(&t)) {
                    Split::Ok { name, value } => {
                        (Cow::Owned(name.to_vec()), Cow::Owned(value.to_vec()))
                    }
                    other => {
                        out.push(Self::fatal_diagnostic(line, other, c_string(&t)));
                        continue;
                    }
                },
            };
            defs.push((name, value, line));
        }
        defs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
        for pair in defs.windows(2) {
            if let [(old_name, old_value, _), (name, value, line)] = pair
                && old_name == name
                && old_value != value
            {
                out.push(Diagnostic {
                    line: *line,
                    kind: DiagnosticKind::Overriding {
                        name: name.to_vec(),
                        old_value: old_value.to_vec(),
                    },
                });
            }
        }
        out.sort_by_key(|d| d.line);
        out
    }

    fn fatal_diagnostic(line: usize, split: Split<'_>, text: &[u8]) -> Diagnostic {
        let text = text.to_vec();
        Diagnostic {
            line,
            kind: match split {
                Split::MissingName => DiagnosticKind::MissingName { text },
                _ => DiagnosticKind::MissingEquals { text },
            },
        }
    }

    /// The effective definitions: each name once, with its last value (the
    /// one Postfix uses), sorted by name in byte order. Borrows from the
    /// document where the definition is one physical line.
    pub fn effective(&self) -> Vec<Parameter<'_>> {
        let mut all: Vec<Parameter<'_>> = self.parameters().collect();
        // Latest definition first within a name (lines are unique), so
        // that dedup keeps it.
        all.sort_unstable_by(|a, b| a.name.cmp(&b.name).then(b.line.cmp(&a.line)));
        all.dedup_by(|later, first| later.name == first.name);
        all
    }
}

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

impl std::str::FromStr for MainCf {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(MainCf::parse(s.as_bytes()))
    }
}

impl fmt::Display for MainCf {
    /// The document; byte-exact for UTF-8 files (use [`MainCf::to_bytes`] otherwise).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        assert!(matches!(
            split_nameval(b"a = b"),
            Split::Ok {
                name: b"a",
                value: b"b"
            }
        ));
        assert!(matches!(
            split_nameval(b"a=="),
            Split::Ok {
                name: b"a",
                value: b"="
            }
        ));
        assert!(matches!(
            split_nameval(b"a\t=\t"),
            Split::Ok {
                name: b"a",
                value: b""
            }
        ));
        assert!(matches!(split_nameval(b"= v"), Split::MissingName));
        assert!(matches!(
            split_nameval(b"my host = x"),
            Split::MissingEquals
        ));
    }

    #[test]
    fn last_wins_and_round_trip() {
        let src = b"a = 1\r\na = 2\r\n  # c\n";
        let cf = MainCf::parse(src);
        assert_eq!(cf.to_bytes(), src);
        assert_eq!(cf.get("a").as_deref(), Some(&b"2"[..]));
        assert_eq!(cf.diagnostics().len(), 1);
    }
}
