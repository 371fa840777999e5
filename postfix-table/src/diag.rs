//! Diagnostics: what Postfix warns about when it reads a table.

use std::fmt;

use crate::lines::{printable, printable_lossy};

/// One warning about a table, with the line it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Diagnostic {
    /// 1-based number of the first physical line of the logical line.
    pub line: usize,
    /// What is wrong.
    pub kind: DiagnosticKind,
}

/// What a [`Diagnostic`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// An indented line before any entry. Postfix drops it and its
    /// continuation lines: "logical line must not start with whitespace".
    LeadingWhitespace {
        /// The logical line Postfix dropped.
        text: Vec<u8>,
    },
    /// A line that is not valid UTF-8 while `smtputf8_enable = yes`: "non-UTF-8
    /// input … -- ignoring this line".
    NonUtf8 {
        /// The logical line.
        text: Vec<u8>,
    },
    /// A `"` left open: "unbalanced '"' in '…' -- ignoring this line".
    UnbalancedQuote {
        /// The logical line.
        text: Vec<u8>,
    },
    /// A key without a value: "expected format: key whitespace value --
    /// ignoring this line". Lookups ignore it; DMS means it as an opt-out.
    KeyWithoutValue {
        /// The key (empty when the line starts with a NUL byte).
        key: Vec<u8>,
    },
    /// The key ends in `:`: 'record is in "key: value" format; is this an
    /// alias file?'. The entry is still stored, with the colon in its key.
    AliasFormat,
    /// A second entry for a key: "duplicate entry". `postmap -q` keeps the
    /// first value, but a Postfix daemon refuses the whole texthash table, so
    /// every lookup in it fails and mail is deferred.
    Duplicate {
        /// The key as written on this line.
        key: Vec<u8>,
        /// Line of the entry that wins.
        first_line: usize,
    },
    /// A NUL byte: Postfix ignores the rest of the logical line. Postfix 3.7
    /// says nothing about it; this crate does.
    NulByte,
}

impl Diagnostic {
    pub(crate) fn new(line: usize, kind: DiagnosticKind) -> Self {
        Diagnostic { line, kind }
    }

    /// The warning exactly as `postmap -q KEY texthash:PATH` (Postfix 3.7)
    /// prints it after `postmap: warning: `, or `None` when Postfix is silent
    /// about this problem. `utf8` is `smtputf8_enable`, which decides how
    /// non-ASCII bytes are shown.
    ///
    /// ```
    /// let t = postfix_table::Table::parse(b"key first\nkey second\n@only\n");
    /// let msgs: Vec<_> = t.diagnostics().iter().filter_map(|d| d.postfix_message("table", true)).collect();
    /// assert_eq!(msgs, [
    ///     "table, line 2: duplicate entry: \"key\"",
    ///     "table, line 3: expected format: key whitespace value -- ignoring this line",
    /// ]);
    /// ```
    pub fn postfix_message(&self, path: &str, utf8: bool) -> Option<String> {
        self.postfix_message_bytes(path, utf8)
            .map(|m| String::from_utf8_lossy(&m).into_owned())
    }

    /// [`Diagnostic::postfix_message`] byte for byte: with `utf8`, Postfix
    /// copies UTF-8-like byte sequences into its logs unchecked, so the
    /// exact text is not always valid UTF-8.
    pub fn postfix_message_bytes(&self, path: &str, utf8: bool) -> Option<Vec<u8>> {
        let n = self.line;
        let p = |t: &[u8]| printable(t, utf8);
        let path = path.as_bytes();
        let at = [path, format!(", line {n}: ").as_bytes()].concat();
        Some(match &self.kind {
            DiagnosticKind::LeadingWhitespace { text } => [
                path,
                b": logical line must not start with whitespace: \"",
                &crate::lines::leading_whitespace_excerpt(text, utf8),
                b"\"",
            ]
            .concat(),
            DiagnosticKind::NonUtf8 { text } => [
                &at[..],
                b"non-UTF-8 input \"",
                &p(text),
                b"\" -- ignoring this line",
            ]
            .concat(),
            DiagnosticKind::UnbalancedQuote { text } => [
                &at[..],
                b"unbalanced '\"' in '",
                &p(text),
                b"' -- ignoring this line",
            ]
            .concat(),
            DiagnosticKind::KeyWithoutValue { .. } => [
                &at[..],
                b"expected format: key whitespace value -- ignoring this line",
            ]
            .concat(),
            DiagnosticKind::AliasFormat => [
                &at[..],
                b"record is in \"key: value\" format; is this an alias file?",
            ]
            .concat(),
            DiagnosticKind::Duplicate { key, .. } => {
                [&at[..], b"duplicate entry: \"", &p(key), b"\""].concat()
            }
            DiagnosticKind::NulByte => return None,
        })
    }
}

impl Diagnostic {
    /// The warning as `postmap TYPE:PATH` prints it while building an
    /// indexed table (hash, btree, lmdb, cdb) from the source file, or
    /// `None` when Postfix is silent. Differs from
    /// [`Diagnostic::postfix_message`] for key-only lines (no "-- ignoring
    /// this line") and duplicates (reported against `DB_PATH` with the
    /// folded key).
    ///
    /// ```
    /// use postfix_table::{Fold, Table};
    /// let t = Table::parse(b"Key a\nKEY b\n");
    /// let d = &t.diagnostics()[0];
    /// assert_eq!(
    ///     d.postmap_build_message("table", "table.db", Fold::Unicode, true).unwrap(),
    ///     "table.db: duplicate entry: \"key\""
    /// );
    /// ```
    pub fn postmap_build_message(
        &self,
        path: &str,
        db_path: &str,
        fold: crate::Fold,
        utf8: bool,
    ) -> Option<String> {
        self.postmap_build_message_bytes(path, db_path, fold, utf8)
            .map(|m| String::from_utf8_lossy(&m).into_owned())
    }

    /// [`Diagnostic::postmap_build_message`] byte for byte (see
    /// [`Diagnostic::postfix_message_bytes`]).
    pub fn postmap_build_message_bytes(
        &self,
        path: &str,
        db_path: &str,
        fold: crate::Fold,
        utf8: bool,
    ) -> Option<Vec<u8>> {
        let n = self.line;
        match &self.kind {
            DiagnosticKind::KeyWithoutValue { .. } => Some(
                format!("{path}, line {n}: expected format: key whitespace value").into_bytes(),
            ),
            DiagnosticKind::Duplicate { key, .. } => Some(
                [
                    db_path.as_bytes(),
                    b": duplicate entry: \"",
                    &printable(&fold.fold(key), utf8),
                    b"\"",
                ]
                .concat(),
            ),
            _ => self.postfix_message_bytes(path, utf8),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// Our wording: `line N: …`, with what it means for a running Postfix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.line;
        let p = |t: &[u8]| printable_lossy(t, true);
        match &self.kind {
            DiagnosticKind::LeadingWhitespace { text } => write!(
                f,
                "line {n}: logical line must not start with whitespace: \"{}\"; Postfix ignores it and its continuation lines",
                p(text)
            ),
            DiagnosticKind::NonUtf8 { text } => write!(
                f,
                "line {n}: non-UTF-8 input \"{}\"; Postfix ignores this line while smtputf8_enable = yes",
                p(text)
            ),
            DiagnosticKind::UnbalancedQuote { text } => {
                write!(
                    f,
                    "line {n}: unbalanced '\"' in '{}'; Postfix ignores this line",
                    p(text)
                )
            }
            DiagnosticKind::KeyWithoutValue { key } => write!(
                f,
                "line {n}: expected format: key whitespace value; Postfix ignores the key-only line \"{}\"",
                p(key)
            ),
            DiagnosticKind::AliasFormat => write!(
                f,
                "line {n}: record is in \"key: value\" format (is this an alias file?); the colon is part of the key"
            ),
            DiagnosticKind::Duplicate { key, first_line } => write!(
                f,
                "line {n}: duplicate entry: \"{}\" (first defined on line {first_line}); postmap keeps the first value, \
                 but a Postfix daemon refuses the whole texthash table: every lookup in it fails until the duplicate is removed",
                p(key)
            ),
            DiagnosticKind::NulByte => {
                write!(
                    f,
                    "line {n}: NUL byte; Postfix ignores the rest of this logical line"
                )
            }
        }
    }
}
