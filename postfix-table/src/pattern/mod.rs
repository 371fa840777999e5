//! Pattern tables: `regexp:`, `pcre:` and `cidr:` source files, read,
//! edited and written losslessly, with Postfix 3.7's lookup semantics.
//!
//! ```
//! # #[cfg(feature = "regexp")] {
//! use postfix_table::pattern::{PatternKind, PatternTable};
//!
//! let src = b"# rewrite\r\n/^(.*)@example\\.com$/ local:$1\r\nif !/^w/\r\n/x/ x-not-w\r\nendif\r\n";
//! let mut t = PatternTable::parse(PatternKind::Regexp, src);
//! assert_eq!(t.to_bytes(), src);                               // byte for byte
//! assert_eq!(t.lookup(b"Joe@EXAMPLE.com").unwrap().as_deref(), Some(&b"local:Joe"[..]));
//! assert_eq!(t.lookup(b"wx").unwrap(), None);                   // inside a false `if`
//!
//! // Edits touch one line and follow the file's line endings.
//! t.insert_before(0, b"/^postmaster@/ OK").unwrap();
//! t.set_result(1, b"relay:$1").unwrap();
//! assert!(t.insert_before(0, b"/(unclosed/ x").is_err());      // refused: nothing changed
//! assert_eq!(
//!     t.to_bytes(),
//!     b"# rewrite\r\n/^postmaster@/ OK\r\n/^(.*)@example\\.com$/ relay:$1\r\nif !/^w/\r\n/x/ x-not-w\r\nendif\r\n"
//! );
//! # }
//! ```
//!
//! # How Postfix reads these files
//!
//! Lines are joined by [`crate::lines`] (Postfix's `readllines()`); a rule is
//! the logical line as a C string (cut at the first NUL) with trailing
//! whitespace removed. Rules are tried top to bottom and the first match
//! wins; `if PATTERN` … `endif` blocks (nestable) are entered only when
//! their pattern matches. Broken rules are skipped with a warning; see
//! [`PatternDiagnosticKind`] for every warning, worded as Postfix words it
//! ([`PatternDiagnostic::postfix_message`]).
//!
//! * **regexp** (POSIX, glibc): `[!]/re/flags [!/re2/flags] result`, any
//!   delimiter that is not a letter or digit, `\` escapes it; flags toggle
//!   `i` (on by default: case-insensitive), `x` (on by default: extended
//!   syntax), `m` (newline-sensitive).
//! * **pcre** (PCRE2): `[!]/re/flags result`; flags toggle `i` (on), `s`
//!   (on), `m`, `x`, `A` (anchored), `E` (dollar-end-only), `U`
//!   (ungreedy); `X` is obsolete (warned, ignored).
//! * Results may use `$1`, `${1}`, `$(1)` (group text, empty when the
//!   group did not take part) and `$$` (a `$`). A `$n` above the group
//!   count, `$0`, a non-numeric `$name` or a `$n` in a negated rule skip
//!   the rule.
//! * **cidr**: `[!]net[/len] result`, `if [!]net[/len]` … `endif`; IPv4 and
//!   IPv6 (`[…]` allowed around the address); host bits below the mask
//!   skip the rule. Keys must be bare addresses: `[1.2.3.4]` or a host name
//!   match nothing, not even `!` rules.
//!
//! # Engines and features
//!
//! Parsing, display, diagnostics that need no engine, cidr lookups and
//! edits of cidr tables work with no feature. `regexp` (default) binds
//! glibc's POSIX regex functions and `pcre` binds the system libpcre2-8
//! (Debian: `libpcre2-dev`). These are the libraries Postfix itself calls,
//! so answers, `$n` texts and error messages are Postfix's. The `regex`
//! crate would get them wrong: it is leftmost-first where POSIX is
//! leftmost-longest (`/^(a|ab)/` gives `$1 = a` on `ab`, Postfix `ab`), it
//! has no back-references, no POSIX basic syntax (the `x` flag), no PCRE
//! look-around or possessive quantifiers, different `[[:class:]]` and
//! case-folding details, and none of glibc's or PCRE2's error texts.
//!
//! Like Postfix, this compiles whatever the table holds: a hostile pattern
//! can make glibc's `regcomp()` take exponential time and memory (stacked
//! quantifiers such as `u++++++++++++++++++++++` take 3 GB, in `postmap`
//! as here), so load untrusted tables under resource limits.
//!
//! Without the engine of a table's kind, lookups return
//! [`QueryError::EngineUnavailable`], rule edits
//! [`PatternEditError::EngineUnavailable`], and [`PatternTable::diagnostics`]
//! cannot report pattern compile errors or `$n` above the group count.

mod addr;
mod diag;
pub mod ops;
mod syntax;

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::OnceLock;

pub use diag::{CidrError, PatternDiagnostic, PatternDiagnosticKind};

use crate::QueryError;
use crate::lines::{self, Segment};
use syntax::{Net, Pat, Piece, Replacement, Stmt};

/// The three pattern-table types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// `regexp:` — POSIX regular expressions.
    Regexp,
    /// `pcre:` — Perl-compatible regular expressions.
    Pcre,
    /// `cidr:` — IPv4/IPv6 networks.
    Cidr,
}

impl PatternKind {
    /// The Postfix type name (`regexp`, `pcre`, `cidr`).
    pub fn name(self) -> &'static str {
        match self {
            PatternKind::Regexp => "regexp",
            PatternKind::Pcre => "pcre",
            PatternKind::Cidr => "cidr",
        }
    }

    /// The kind for a Postfix type name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "regexp" => Some(PatternKind::Regexp),
            "pcre" => Some(PatternKind::Pcre),
            "cidr" => Some(PatternKind::Cidr),
            _ => None,
        }
    }

    /// True when this build can look up (and validate rules of) this kind.
    pub fn engine_available(self) -> bool {
        match self {
            PatternKind::Regexp => cfg!(feature = "regexp"),
            PatternKind::Pcre => cfg!(feature = "pcre"),
            PatternKind::Cidr => true,
        }
    }
}

/// Why an edit of a [`PatternTable`] was refused. The table is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternEditError {
    /// An empty rule or result.
    #[error("empty {what}")]
    Empty {
        /// `"rule"` or `"result"`.
        what: &'static str,
    },
    /// LF, CR or NUL, which a table line cannot hold.
    #[error("{what} contains {byte} at byte {at}, which a table line cannot hold")]
    ForbiddenByte {
        /// `"rule"`, `"pattern"` or `"result"`.
        what: &'static str,
        /// `LF`, `CR` or `NUL`.
        byte: &'static str,
        /// Offset of the byte.
        at: usize,
    },
    /// Leading whitespace would make the rule a continuation of the line
    /// above; a leading `#` a comment.
    #[error("rule starts with {0}, which Postfix would not read as a rule")]
    BadStart(&'static str),
    /// Trailing whitespace (Postfix trims it, so it would not round-trip as written).
    #[error("{what} has leading or trailing whitespace, which Postfix trims")]
    Whitespace {
        /// `"rule"` or `"result"`.
        what: &'static str,
    },
    /// Not valid UTF-8 while `smtputf8_enable = yes`.
    #[error("{what} is not valid UTF-8; lookups would fail while smtputf8_enable = yes")]
    NonUtf8 {
        /// `"rule"` or `"result"`.
        what: &'static str,
    },
    /// The rule is one Postfix would warn about or skip.
    #[error("Postfix would reject this rule: {}", reason_text(.0))]
    Rejected(PatternDiagnosticKind),
    /// `if`/`endif` lines are not rules: they cannot be inserted alone,
    /// and removing one would unbalance its block.
    #[error("statement {index} is an if/endif line, not a rule")]
    NotARule {
        /// The statement index (or the index asked for an insert).
        index: usize,
    },
    /// An `if` or `endif` line given where a rule is expected (insert,
    /// push, format): blocks cannot be added one line at a time.
    #[error("an if/endif line is not a rule")]
    IfEndifLine,
    /// No statement with that index.
    #[error("no statement {index} (the table has {len})")]
    NoSuchStatement {
        /// The index asked for.
        index: usize,
        /// The number of statements.
        len: usize,
    },
    /// Statement `index` is indented text before the first rule (which
    /// Postfix drops); a rule inserted before it would absorb it as a
    /// continuation line.
    #[error("statement {index} is an indented line before the first rule; insert after it instead")]
    IndentedLine {
        /// The statement index.
        index: usize,
    },
    /// Every delimiter candidate occurs in the pattern.
    #[error("no delimiter left: the pattern contains every candidate")]
    NoDelimiter,
    /// This build has no engine for the table's kind, so the rule cannot
    /// be checked (enable the `regexp` or `pcre` feature).
    #[error("no {} engine in this build (enable the feature)", .0.name())]
    EngineUnavailable(PatternKind),
}

fn reason_text(k: &PatternDiagnosticKind) -> String {
    PatternDiagnostic {
        line: 1,
        table: PatternKind::Regexp,
        kind: k.clone(),
    }
    .to_string()
}

// ------------------------------------------------------------- document

#[derive(Clone)]
enum Bytes {
    Src(Range<usize>),
    Owned(Vec<u8>),
}

#[derive(Clone)]
struct Item {
    bytes: Bytes,
    /// A logical line (a statement) rather than comments/blank lines.
    logical: bool,
}

/// A `regexp:`, `pcre:` or `cidr:` table source file.
///
/// Parsing never fails and keeps every byte; [`PatternTable::to_bytes`]
/// of an unedited table is its input. Lookups compile the table the first
/// time they need it (edits drop the compiled form).
pub struct PatternTable {
    kind: PatternKind,
    utf8: bool,
    src: Vec<u8>,
    items: Vec<Item>,
    compiled: OnceLock<Compiled>,
}

impl Clone for PatternTable {
    fn clone(&self) -> Self {
        PatternTable {
            kind: self.kind,
            utf8: self.utf8,
            src: self.src.clone(),
            items: self.items.clone(),
            compiled: OnceLock::new(),
        }
    }
}

impl fmt::Debug for PatternTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatternTable")
            .field("kind", &self.kind)
            .field("statements", &self.len())
            .field("bytes", &self.to_bytes().len())
            .finish()
    }
}

impl PartialEq for PatternTable {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.utf8 == other.utf8 && self.to_bytes() == other.to_bytes()
    }
}

impl fmt::Display for PatternTable {
    /// The bytes, lossily as UTF-8.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// What kind of statement a logical line is (syntax only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// A rule with a result (`/re/ result`, `net result`), as far as
    /// syntax goes (it may still fail to compile).
    Rule,
    /// `if …`.
    If,
    /// `endif`.
    Endif,
    /// A line Postfix skips (with a warning, or silently when empty after
    /// a NUL), including indented text before the first statement.
    Invalid,
}

/// One statement (logical line) of a [`PatternTable`].
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    index: usize,
    line: usize,
    raw: &'a [u8],
    kind: PatternKind,
}

impl<'a> Statement<'a> {
    /// Its index among the statements (what the edit methods take).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The line number Postfix reports for it.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Its bytes as written, with continuation lines, interleaved comment
    /// lines and line endings.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The text Postfix parses: the joined logical line, cut at the first
    /// NUL.
    pub fn text(&self) -> Cow<'a, [u8]> {
        match lines::logical_text(self.raw) {
            Cow::Borrowed(b) => Cow::Borrowed(lines::c_string(b)),
            Cow::Owned(v) => Cow::Owned(lines::c_string(&v).to_vec()),
        }
    }

    /// What kind of statement it is, by syntax.
    pub fn kind(&self) -> StatementKind {
        if self.raw.first().is_some_and(|&b| lines::is_space(b)) {
            return StatementKind::Invalid;
        }
        let text = self.text();
        let mut w = Vec::new();
        match self.kind {
            PatternKind::Cidr => match syntax::parse_cidr_line(&text, 1) {
                Ok(Stmt::CidrMatch { .. }) => StatementKind::Rule,
                Ok(Stmt::CidrIf(_)) => StatementKind::If,
                Ok(Stmt::Endif) => StatementKind::Endif,
                _ => StatementKind::Invalid,
            },
            k => match syntax::parse_regex_line(k, &text, 1, &mut w) {
                Stmt::Match { .. } => StatementKind::Rule,
                Stmt::If(_) => StatementKind::If,
                Stmt::Endif => StatementKind::Endif,
                _ => StatementKind::Invalid,
            },
        }
    }

    /// The result text of a rule, as written (with `$n` unexpanded).
    pub fn result(&self) -> Option<Vec<u8>> {
        let text = self.text();
        let mut w = Vec::new();
        match self.kind {
            PatternKind::Cidr => match syntax::parse_cidr_line(&text, 1) {
                Ok(Stmt::CidrMatch { result, .. }) => Some(result.to_vec()),
                _ => None,
            },
            k => match syntax::parse_regex_line(k, &text, 1, &mut w) {
                Stmt::Match { result, .. } => Some(result.to_vec()),
                _ => None,
            },
        }
    }
}

fn eol_of(bytes: &[u8]) -> &'static [u8] {
    match memchr::memchr(b'\n', bytes) {
        Some(i) if i > 0 && bytes.get(i - 1) == Some(&b'\r') => b"\r\n",
        _ => b"\n",
    }
}

impl PatternTable {
    /// Parses a table of `kind` (never fails; keeps every byte).
    pub fn parse(kind: PatternKind, bytes: &[u8]) -> Self {
        Self::from_vec(kind, bytes.to_vec())
    }

    /// Like [`PatternTable::parse`], taking ownership of the buffer.
    pub fn from_vec(kind: PatternKind, src: Vec<u8>) -> Self {
        let mut items = Vec::new();
        lines::for_each_segment(&src, |seg| {
            items.push(match seg {
                Segment::Trivia { range, .. } => Item {
                    bytes: Bytes::Src(range),
                    logical: false,
                },
                Segment::Logical(l) => Item {
                    bytes: Bytes::Src(l.range),
                    logical: true,
                },
            })
        });
        PatternTable {
            kind,
            utf8: true,
            src,
            items,
            compiled: OnceLock::new(),
        }
    }

    /// Reads and parses a file.
    pub fn read(kind: PatternKind, path: impl AsRef<std::path::Path>) -> io::Result<Self> {
        Ok(Self::from_vec(kind, std::fs::read(path)?))
    }

    /// Sets `smtputf8_enable` (default `true`, as on Postfix 3.7 with
    /// `compatibility_level >= 3.6`): non-UTF-8 keys are refused and a
    /// non-UTF-8 result is an error.
    pub fn with_utf8(mut self, utf8: bool) -> Self {
        self.utf8 = utf8;
        self
    }

    /// The `smtputf8_enable` setting used.
    pub fn utf8(&self) -> bool {
        self.utf8
    }

    /// The table's kind.
    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    fn item_bytes<'s>(&'s self, item: &'s Item) -> &'s [u8] {
        match &item.bytes {
            Bytes::Src(r) => self.src.get(r.clone()).unwrap_or_default(),
            Bytes::Owned(v) => v,
        }
    }

    /// The table's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.src.len());
        for it in &self.items {
            out.extend_from_slice(self.item_bytes(it));
        }
        out
    }

    /// Writes the bytes, coalescing untouched runs of the input.
    pub fn write_to(&self, mut w: impl io::Write) -> io::Result<()> {
        let mut run: Option<Range<usize>> = None;
        for it in &self.items {
            match &it.bytes {
                Bytes::Src(r) => match &mut run {
                    Some(cur) if cur.end == r.start => cur.end = r.end,
                    _ => {
                        if let Some(cur) = run.take() {
                            w.write_all(self.src.get(cur).unwrap_or_default())?;
                        }
                        run = Some(r.clone());
                    }
                },
                Bytes::Owned(v) => {
                    if let Some(cur) = run.take() {
                        w.write_all(self.src.get(cur).unwrap_or_default())?;
                    }
                    w.write_all(v)?;
                }
            }
        }
        if let Some(cur) = run {
            w.write_all(self.src.get(cur).unwrap_or_default())?;
        }
        Ok(())
    }

    /// The statements (logical lines), in file order.
    pub fn statements(&self) -> impl Iterator<Item = Statement<'_>> + '_ {
        let mut line = 1usize;
        let mut index = 0usize;
        self.items.iter().filter_map(move |it| {
            let raw = self.item_bytes(it);
            let here = line;
            line += memchr::memchr_iter(b'\n', raw).count();
            if !it.logical {
                return None;
            }
            index += 1;
            Some(Statement {
                index: index - 1,
                line: here,
                raw,
                kind: self.kind,
            })
        })
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.items.iter().filter(|i| i.logical).count()
    }

    /// True when the table has no statement.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything Postfix warns about when it opens the table, in its
    /// order (file order; `IF has no matching ENDIF` at the end, innermost
    /// first).
    ///
    /// This compiles the table (as Postfix does when it opens it); the
    /// compiled form is kept for the lookups that follow.
    pub fn diagnostics(&self) -> Vec<PatternDiagnostic> {
        let (diags, compiled) = load(self);
        // Keep the compiled rules unless a lookup already built them.
        let _ = self.compiled.set(compiled);
        diags
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| load(self).1)
    }

    /// Looks `key` up as Postfix does (`postmap -q KEY TYPE:FILE`): the
    /// key is not case-folded; the first matching rule (through `if`
    /// blocks) gives the result, with `$n` substituted.
    ///
    /// Refused keys: one with a NUL byte ([`QueryError::NulInKey`]: Postfix
    /// would silently look up the part before it), a non-UTF-8 key while
    /// `utf8` is on (Postfix: "non-UTF-8 key", not found). A non-UTF-8
    /// result while `utf8` is on is [`QueryError::NonUtf8Value`] (Postfix:
    /// a query error). An empty result is returned as such; Postfix
    /// reports it as an error ("empty string result is not allowed").
    pub fn lookup(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, QueryError> {
        self.lookup_with(key.as_ref(), &mut |_| {})
    }

    /// [`PatternTable::lookup`], reporting lookup-time warnings (matching
    /// errors of the engine, which Postfix logs and counts as no match).
    pub fn lookup_with(
        &self,
        key: &[u8],
        warn: &mut dyn FnMut(PatternDiagnostic),
    ) -> Result<Option<Vec<u8>>, QueryError> {
        if let Some(at) = memchr::memchr(0, key) {
            return Err(QueryError::NulInKey { at });
        }
        if self.utf8 && std::str::from_utf8(key).is_err() {
            return Err(QueryError::NonUtf8Key { key: key.to_vec() });
        }
        let c = self.compiled();
        if !c.complete {
            return Err(QueryError::EngineUnavailable {
                kind: self.kind.name(),
            });
        }
        let found = run(self.kind, c, key, warn);
        if let Some(v) = &found
            && self.utf8
            && std::str::from_utf8(v).is_err()
        {
            return Err(QueryError::NonUtf8Value { value: v.clone() });
        }
        Ok(found)
    }

    // ------------------------------------------------------------ edits

    fn item_of(&self, index: usize) -> Result<usize, PatternEditError> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.logical)
            .nth(index)
            .map(|(i, _)| i)
            .ok_or(PatternEditError::NoSuchStatement {
                index,
                len: self.len(),
            })
    }

    fn eol(&self) -> &'static [u8] {
        eol_of(&self.src)
    }

    /// Checks a rule line as an insert would, without changing anything:
    /// one line, no leading/trailing whitespace, and a rule Postfix
    /// accepts without any warning (pattern compiles, flags known, `$n`
    /// within the groups, result present; for cidr no host bits).
    pub fn check_rule(&self, rule: &[u8]) -> Result<(), PatternEditError> {
        check_line(self.kind, self.utf8, rule)
    }

    fn invalidate(&mut self) {
        self.compiled = OnceLock::new();
    }

    /// Makes sure the document ends with a line ending (so that a line
    /// can be appended).
    fn end_with_newline(&mut self) {
        if let Some(last) = self.items.last() {
            let b = self.item_bytes(last);
            // An indented last line (dropped by Postfix) is quoted in its
            // warning with everything but the LF: end it with LF alone, so
            // the warning stays the same in a CRLF file.
            let eol: &[u8] = if b.first().is_some_and(|&c| lines::is_space(c)) {
                b"\n"
            } else {
                self.eol()
            };
            if !b.is_empty() && !b.ends_with(b"\n") {
                let mut v = b.to_vec();
                v.extend_from_slice(eol);
                if let Some(l) = self.items.last_mut() {
                    l.bytes = Bytes::Owned(v);
                }
            }
        }
    }

    fn new_item(&self, rule: &[u8]) -> Item {
        Item {
            bytes: Bytes::Owned([rule, self.eol()].concat()),
            logical: true,
        }
    }

    /// Appends a rule at the end; returns its statement index.
    pub fn push(&mut self, rule: &[u8]) -> Result<usize, PatternEditError> {
        self.check_rule(rule)?;
        self.end_with_newline();
        let item = self.new_item(rule);
        self.items.push(item);
        self.invalidate();
        Ok(self.len() - 1)
    }

    /// Inserts a rule before statement `index` (`index == len()` appends).
    pub fn insert_before(&mut self, index: usize, rule: &[u8]) -> Result<(), PatternEditError> {
        if index == self.len() {
            return self.push(rule).map(drop);
        }
        let at = self.item_of(index)?;
        self.check_rule(rule)?;
        if self.items.get(at).is_some_and(|it| {
            self.item_bytes(it)
                .first()
                .is_some_and(|&b| lines::is_space(b))
        }) {
            return Err(PatternEditError::IndentedLine { index });
        }
        let item = self.new_item(rule);
        self.items.insert(at, item);
        self.invalidate();
        Ok(())
    }

    /// Inserts a rule after statement `index`.
    pub fn insert_after(&mut self, index: usize, rule: &[u8]) -> Result<(), PatternEditError> {
        let at = self.item_of(index)?;
        self.check_rule(rule)?;
        if at + 1 == self.items.len() {
            self.end_with_newline();
        }
        let item = self.new_item(rule);
        self.items.insert(at + 1, item);
        self.invalidate();
        Ok(())
    }

    /// Removes statement `index` (a rule or an invalid line; not an
    /// `if`/`endif`). Comment lines that were interleaved in it stay.
    pub fn remove(&mut self, index: usize) -> Result<(), PatternEditError> {
        let at = self.item_of(index)?;
        let st = self
            .statements()
            .nth(index)
            .ok_or(PatternEditError::NoSuchStatement {
                index,
                len: self.len(),
            })?;
        if matches!(st.kind(), StatementKind::If | StatementKind::Endif) {
            return Err(PatternEditError::NotARule { index });
        }
        let kept = interleaved_comments(st.raw());
        if kept.is_empty() {
            self.items.remove(at);
        } else if let Some(it) = self.items.get_mut(at) {
            *it = Item {
                bytes: Bytes::Owned(kept),
                logical: false,
            };
        }
        self.invalidate();
        Ok(())
    }

    /// Replaces the result of rule `index`; the rule is re-rendered as one
    /// line (its pattern part as Postfix reads it, the new result, its
    /// line ending), followed by comment lines that were inside it.
    pub fn set_result(&mut self, index: usize, result: &[u8]) -> Result<(), PatternEditError> {
        let at = self.item_of(index)?;
        let st = self
            .statements()
            .nth(index)
            .ok_or(PatternEditError::NoSuchStatement {
                index,
                len: self.len(),
            })?;
        if st.kind() != StatementKind::Rule {
            return Err(PatternEditError::NotARule { index });
        }
        check_result(self.utf8, result)?;
        let text = st.text();
        let trimmed = syntax::trim_end(&text);
        let old = st.result().unwrap_or_default();
        let head_len = trimmed.len() - old.len();
        let head = trimmed.get(..head_len).unwrap_or_default();
        let line: Vec<u8> = if old.is_empty() {
            [head, b" ", result].concat()
        } else {
            [head, result].concat()
        };
        check_line(self.kind, self.utf8, &line)?;
        let raw = st.raw();
        let mut bytes = line;
        if lines::first_line(raw).len() < raw.len() {
            bytes.extend_from_slice(eol_of(raw));
        }
        bytes.extend_from_slice(&interleaved_comments(raw));
        if let Some(it) = self.items.get_mut(at) {
            it.bytes = Bytes::Owned(bytes);
        }
        self.invalidate();
        Ok(())
    }

    /// Formats a rule line for this table's kind: `[!]/pattern/flags result`
    /// with a delimiter that does not occur in `pattern` (regexp, pcre), or
    /// `[!]network result` (cidr; `flags` must be empty). The line is
    /// checked as [`PatternTable::check_rule`] does.
    pub fn format_rule(
        &self,
        negate: bool,
        pattern: &[u8],
        flags: &[u8],
        result: &[u8],
    ) -> Result<Vec<u8>, PatternEditError> {
        let bang: &[u8] = if negate { b"!" } else { b"" };
        let line = match self.kind {
            PatternKind::Cidr => {
                if !flags.is_empty() {
                    return Err(PatternEditError::Rejected(
                        PatternDiagnosticKind::UnknownOption {
                            flag: flags.first().copied().unwrap_or(b'?'),
                        },
                    ));
                }
                [bang, pattern, b" ", result].concat()
            }
            _ => {
                let delim = b"/|~%,;:@=^\"'"
                    .iter()
                    .copied()
                    .find(|d| !pattern.contains(d) && !pattern.ends_with(b"\\"))
                    .ok_or(PatternEditError::NoDelimiter)?;
                [bang, &[delim], pattern, &[delim], flags, b" ", result].concat()
            }
        };
        check_result(self.utf8, result)?;
        self.check_rule(&line)?;
        Ok(line)
    }
}

/// The ignorable lines inside a multi-line logical line (comments, blank
/// lines), with their line endings.
fn interleaved_comments(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut first = true;
    for piece in raw.split_inclusive(|&b| b == b'\n') {
        if first {
            first = false;
            continue;
        }
        if lines::classify(lines::strip_lf(piece)) == lines::LineClass::Ignorable {
            out.extend_from_slice(piece);
        }
    }
    out
}

fn forbidden(what: &'static str, s: &[u8]) -> Result<(), PatternEditError> {
    if let Some(at) = s.iter().position(|&b| matches!(b, b'\n' | b'\r' | 0)) {
        let byte = match s.get(at) {
            Some(b'\n') => "LF",
            Some(b'\r') => "CR",
            _ => "NUL",
        };
        return Err(PatternEditError::ForbiddenByte { what, byte, at });
    }
    Ok(())
}

fn check_result(utf8: bool, result: &[u8]) -> Result<(), PatternEditError> {
    if result.is_empty() {
        return Err(PatternEditError::Empty { what: "result" });
    }
    forbidden("result", result)?;
    if result.first().is_some_and(|&b| lines::is_space(b))
        || result.last().is_some_and(|&b| lines::is_space(b))
    {
        return Err(PatternEditError::Whitespace { what: "result" });
    }
    if utf8 && std::str::from_utf8(result).is_err() {
        return Err(PatternEditError::NonUtf8 { what: "result" });
    }
    Ok(())
}

fn check_line(kind: PatternKind, utf8: bool, rule: &[u8]) -> Result<(), PatternEditError> {
    if rule.is_empty() {
        return Err(PatternEditError::Empty { what: "rule" });
    }
    forbidden("rule", rule)?;
    match rule.first() {
        Some(&b) if lines::is_space(b) => return Err(PatternEditError::BadStart("whitespace")),
        Some(b'#') => return Err(PatternEditError::BadStart("'#'")),
        _ => {}
    }
    if rule.last().is_some_and(|&b| lines::is_space(b)) {
        return Err(PatternEditError::Whitespace { what: "rule" });
    }
    if utf8 && std::str::from_utf8(rule).is_err() {
        return Err(PatternEditError::NonUtf8 { what: "rule" });
    }
    let mut warn = Vec::new();
    match kind {
        PatternKind::Cidr => match syntax::parse_cidr_line(rule, 0) {
            Ok(Stmt::CidrMatch { .. }) => Ok(()),
            Ok(_) => Err(PatternEditError::IfEndifLine),
            Err(e) => Err(PatternEditError::Rejected(PatternDiagnosticKind::Cidr(e))),
        },
        k => {
            let st = syntax::parse_regex_line(k, rule, 0, &mut warn);
            if let Some(w) = warn.into_iter().next() {
                return Err(PatternEditError::Rejected(w));
            }
            match st {
                Stmt::Match {
                    first, second, rep, ..
                } => {
                    if !k.engine_available() {
                        return Err(PatternEditError::EngineUnavailable(k));
                    }
                    match compile_rule(k, &first, second.as_ref(), &rep) {
                        Ok(_) => Ok(()),
                        Err(w) => Err(PatternEditError::Rejected(w)),
                    }
                }
                Stmt::If(_) | Stmt::Endif => Err(PatternEditError::IfEndifLine),
                _ => Err(PatternEditError::Rejected(
                    PatternDiagnosticKind::UnrecognizedRequest,
                )),
            }
        }
    }
}

// ----------------------------------------------------- compile & match

// The parser's option bits are the C headers' values; check them against
// the engines' own constants.
#[cfg(feature = "regexp")]
const _: () = {
    use crate::engine::posix as p;
    assert!(syntax::REG_EXTENDED as std::ffi::c_int == p::EXTENDED);
    assert!(syntax::REG_ICASE as std::ffi::c_int == p::ICASE);
    assert!(syntax::REG_NEWLINE as std::ffi::c_int == p::NEWLINE);
};
#[cfg(feature = "pcre")]
const _: () = {
    use crate::engine::pcre as p;
    assert!(syntax::PCRE_CASELESS == p::CASELESS);
    assert!(syntax::PCRE_DOLLAR_ENDONLY == p::DOLLAR_ENDONLY);
    assert!(syntax::PCRE_DOTALL == p::DOTALL);
    assert!(syntax::PCRE_EXTENDED == p::EXTENDED);
    assert!(syntax::PCRE_MULTILINE == p::MULTILINE);
    assert!(syntax::PCRE_UNGREEDY == p::UNGREEDY);
    assert!(syntax::PCRE_ANCHORED == p::ANCHORED);
};

enum Engine {
    #[cfg(feature = "regexp")]
    Posix(crate::engine::posix::Regex),
    #[cfg(feature = "pcre")]
    Pcre(crate::engine::pcre::Regex),
    /// No engine compiled in (the table is then not `complete`).
    #[allow(dead_code)]
    Missing,
}

enum Cond {
    Re(Engine),
    Net(Net),
}

enum Op {
    Match {
        line: usize,
        first: Engine,
        first_match: bool,
        second: Option<(Engine, bool)>,
        rep: Replacement,
    },
    CidrMatch {
        net: Net,
        value: Vec<u8>,
    },
    If {
        line: usize,
        cond: Cond,
        matches: bool,
        endif: Option<usize>,
    },
    Endif,
}

struct Compiled {
    ops: Vec<Op>,
    /// The largest `$n` of any rule (sizes the match arrays; read by the
    /// regexp engine).
    #[cfg_attr(not(feature = "regexp"), allow(dead_code))]
    max_sub: usize,
    /// The most groups of any pcre pattern (read by the pcre engine).
    #[cfg_attr(not(feature = "pcre"), allow(dead_code))]
    max_groups: u32,
    /// False when the engine for the table's kind is not compiled in.
    complete: bool,
}

/// Compiles one pattern with `extra` option bits; `Ok((engine, groups))`
/// where `groups` is `None` when no engine is available.
#[allow(unused_variables)]
fn compile_pat(
    kind: PatternKind,
    pat: &Pat<'_>,
    nosub: bool,
) -> Result<(Engine, Option<u64>), PatternDiagnosticKind> {
    // A pattern never holds a NUL: it comes from a C string.
    let Ok(c) = std::ffi::CString::new(pat.body) else {
        return Err(PatternDiagnosticKind::Compile {
            offset: None,
            message: "NUL in pattern".into(),
        });
    };
    match kind {
        #[cfg(feature = "regexp")]
        PatternKind::Regexp => {
            let mut flags = pat.options as std::ffi::c_int;
            if nosub {
                flags |= crate::engine::posix::NOSUB;
            }
            crate::engine::posix::Regex::new(&c, flags)
                .map(|re| {
                    let n = re.groups() as u64;
                    (Engine::Posix(re), Some(n))
                })
                .map_err(|message| PatternDiagnosticKind::Compile {
                    offset: None,
                    message,
                })
        }
        #[cfg(feature = "pcre")]
        PatternKind::Pcre => crate::engine::pcre::Regex::new(&c, pat.options)
            .map(|re| {
                let n = u64::from(re.groups());
                (Engine::Pcre(re), Some(n))
            })
            .map_err(|(offset, message)| PatternDiagnosticKind::Compile {
                offset: Some(offset),
                message,
            }),
        _ => Ok((Engine::Missing, None)),
    }
}

type CompiledRule = (Engine, Option<(Engine, bool)>);

/// The compile-time checks Postfix makes after parsing a match rule, in its
/// order.
fn compile_rule(
    kind: PatternKind,
    first: &Pat<'_>,
    second: Option<&Pat<'_>>,
    rep: &Replacement,
) -> Result<CompiledRule, PatternDiagnosticKind> {
    let (fe, groups) = compile_pat(kind, first, rep.max_sub == 0)?;
    if let Some(g) = groups
        && rep.max_sub > g
    {
        return Err(PatternDiagnosticKind::IndexOutOfRange {
            index: rep.max_sub as i32,
        });
    }
    let se = match second {
        Some(p) => Some((compile_pat(kind, p, true)?.0, p.matches)),
        None => None,
    };
    Ok((fe, se))
}

/// What Postfix does when it opens the table: the warnings, and the rules
/// it keeps.
fn load(t: &PatternTable) -> (Vec<PatternDiagnostic>, Compiled) {
    let kind = t.kind;
    let mut diags = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new(); // (op index, line)
    let mut max_sub = 0usize;
    let mut max_groups = 0u32;
    let complete = kind.engine_available();
    for st in t.statements() {
        let line = st.line;
        let push = |diags: &mut Vec<PatternDiagnostic>, k: PatternDiagnosticKind| {
            diags.push(PatternDiagnostic {
                line,
                table: kind,
                kind: k,
            })
        };
        if st.raw.first().is_some_and(|&b| lines::is_space(b)) {
            push(
                &mut diags,
                PatternDiagnosticKind::LeadingWhitespace {
                    text: lines::logical_text(st.raw).into_owned(),
                },
            );
            continue;
        }
        let text = st.text();
        let mut warn = Vec::new();
        let stmt = match kind {
            PatternKind::Cidr => match syntax::parse_cidr_line(&text, stack.len()) {
                Ok(s) => s,
                Err(e) => {
                    push(&mut diags, PatternDiagnosticKind::Cidr(e));
                    continue;
                }
            },
            k => syntax::parse_regex_line(k, &text, stack.len(), &mut warn),
        };
        for w in warn.drain(..) {
            push(&mut diags, w);
        }
        match stmt {
            Stmt::Empty | Stmt::Skipped => {}
            Stmt::Match {
                first, second, rep, ..
            } => match compile_rule(kind, &first, second.as_ref(), &rep) {
                Ok((fe, se)) => {
                    max_sub = max_sub.max(usize::try_from(rep.max_sub).unwrap_or(usize::MAX));
                    #[cfg(feature = "pcre")]
                    for e in std::iter::once(&fe).chain(se.as_ref().map(|s| &s.0)) {
                        if let Engine::Pcre(re) = e {
                            max_groups = max_groups.max(re.groups());
                        }
                    }
                    ops.push(Op::Match {
                        line,
                        first: fe,
                        first_match: first.matches,
                        second: se,
                        rep,
                    });
                }
                Err(k) => push(&mut diags, k),
            },
            Stmt::If(pat) => match compile_pat(kind, &pat, false) {
                Ok((e, _)) => {
                    // PCRE2 needs room for every group of the pattern, even
                    // when none is used.
                    #[cfg(feature = "pcre")]
                    if let Engine::Pcre(re) = &e {
                        max_groups = max_groups.max(re.groups());
                    }
                    stack.push((ops.len(), line));
                    ops.push(Op::If {
                        line,
                        cond: Cond::Re(e),
                        matches: pat.matches,
                        endif: None,
                    });
                }
                Err(k) => push(&mut diags, k),
            },
            Stmt::CidrIf(net) => {
                stack.push((ops.len(), line));
                ops.push(Op::If {
                    line,
                    cond: Cond::Net(net),
                    matches: net.matches,
                    endif: None,
                });
            }
            Stmt::Endif => {
                let here = ops.len();
                if let Some((i, _)) = stack.pop()
                    && let Some(Op::If { endif, .. }) = ops.get_mut(i)
                {
                    *endif = Some(here);
                }
                ops.push(Op::Endif);
            }
            Stmt::CidrMatch { net, result } => ops.push(Op::CidrMatch {
                net,
                value: result.to_vec(),
            }),
        }
    }
    while let Some((_, line)) = stack.pop() {
        diags.push(PatternDiagnostic {
            line,
            table: kind,
            kind: PatternDiagnosticKind::IfWithoutEndif,
        });
    }
    let _ = &mut max_groups;
    (
        diags,
        Compiled {
            ops,
            max_sub,
            max_groups,
            complete,
        },
    )
}

/// Per-lookup matching state (match arrays sized for the whole table).
struct Matcher<'k> {
    key: &'k [u8],
    #[cfg(feature = "regexp")]
    ckey: Option<std::ffi::CString>,
    #[cfg(feature = "regexp")]
    pmatch: Vec<libc::regmatch_t>,
    #[cfg(feature = "pcre")]
    md: Option<crate::engine::pcre::MatchData>,
    cidr: Option<(bool, [u8; 16])>,
}

impl<'k> Matcher<'k> {
    fn new(kind: PatternKind, c: &Compiled, key: &'k [u8]) -> Self {
        let _ = c;
        Matcher {
            key,
            #[cfg(feature = "regexp")]
            ckey: (kind == PatternKind::Regexp)
                .then(|| std::ffi::CString::new(key).ok())
                .flatten(),
            #[cfg(feature = "regexp")]
            pmatch: if kind == PatternKind::Regexp {
                vec![crate::engine::posix::UNSET; c.max_sub.saturating_add(1).min(1 << 16)]
            } else {
                Vec::new()
            },
            #[cfg(feature = "pcre")]
            md: (kind == PatternKind::Pcre)
                .then(|| crate::engine::pcre::MatchData::new(c.max_groups.saturating_add(1)))
                .flatten(),
            cidr: (kind == PatternKind::Cidr)
                .then(|| syntax::cidr_key(key))
                .flatten(),
        }
    }

    /// Runs one regex; `nsub` = groups wanted (0: none). Engine errors are
    /// warned and count as "no match" (before negation, like Postfix: the
    /// rule does not apply at all).
    #[allow(unused_variables)]
    fn exec(
        &mut self,
        e: &Engine,
        nsub: usize,
        matches: bool,
        line: usize,
        kind: PatternKind,
        warn: &mut dyn FnMut(PatternDiagnostic),
    ) -> bool {
        let r: Result<bool, String> = match e {
            #[cfg(feature = "regexp")]
            Engine::Posix(re) => match &self.ckey {
                Some(k) => {
                    let n = if nsub > 0 { nsub + 1 } else { 0 };
                    let pm = self.pmatch.get_mut(..n).unwrap_or_default();
                    re.exec(k, pm)
                }
                None => Ok(false),
            },
            #[cfg(feature = "pcre")]
            Engine::Pcre(re) => match &mut self.md {
                Some(md) => re.exec(self.key, md),
                None => Ok(false),
            },
            Engine::Missing => Ok(false),
        };
        match r {
            Ok(true) => matches,
            Ok(false) => !matches,
            Err(message) => {
                warn(PatternDiagnostic {
                    line,
                    table: kind,
                    kind: PatternDiagnosticKind::Match { message },
                });
                false
            }
        }
    }

    /// The text of group `n` of the last match of `e`.
    #[allow(unused_variables)]
    fn group(&self, e: &Engine, n: usize) -> &'k [u8] {
        let span: Option<(usize, usize)> = match e {
            #[cfg(feature = "regexp")]
            Engine::Posix(_) => self.pmatch.get(n).and_then(|m| {
                (m.rm_so >= 0 && m.rm_eo > m.rm_so).then_some((m.rm_so as usize, m.rm_eo as usize))
            }),
            #[cfg(feature = "pcre")]
            Engine::Pcre(_) => self.md.as_ref().and_then(|md| md.group(n)),
            Engine::Missing => None,
        };
        span.and_then(|(s, e)| self.key.get(s..e))
            .unwrap_or_default()
    }
}

fn run(
    kind: PatternKind,
    c: &Compiled,
    key: &[u8],
    warn: &mut dyn FnMut(PatternDiagnostic),
) -> Option<Vec<u8>> {
    let mut m = Matcher::new(kind, c, key);
    let mut i = 0usize;
    while let Some(op) = c.ops.get(i) {
        i += 1;
        match op {
            Op::Match {
                line,
                first,
                first_match,
                second,
                rep,
            } => {
                let nsub = usize::try_from(rep.max_sub).unwrap_or(usize::MAX);
                if !m.exec(first, nsub, *first_match, *line, kind, warn) {
                    continue;
                }
                if let Some((se, sm)) = second
                    && !m.exec(se, 0, *sm, *line, kind, warn)
                {
                    continue;
                }
                let mut out = Vec::new();
                for p in &rep.pieces {
                    match p {
                        Piece::Literal(l) => out.extend_from_slice(l),
                        Piece::Group(n) => out.extend_from_slice(m.group(first, *n)),
                    }
                }
                return Some(out);
            }
            Op::CidrMatch { net, value } => {
                let (v6, addr) = m.cidr?;
                if net.v6 == v6 && net.contains(&addr) == net.matches {
                    return Some(value.clone());
                }
            }
            Op::If {
                line,
                cond,
                matches,
                endif,
            } => {
                let hit = match cond {
                    Cond::Re(e) => m.exec(e, 0, *matches, *line, kind, warn),
                    Cond::Net(net) => match m.cidr {
                        None => return None,
                        Some((v6, addr)) => net.v6 == v6 && net.contains(&addr) == *matches,
                    },
                };
                if hit {
                    continue;
                }
                match endif {
                    Some(e) => i = e + 1,
                    None => return None,
                }
            }
            Op::Endif => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
