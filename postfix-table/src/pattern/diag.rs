//! Warnings about pattern tables, in Postfix's words.

use std::fmt;

use super::PatternKind;
use crate::lines::printable;

/// One warning about a pattern table: the line (first physical line of
/// the logical line) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternDiagnostic {
    /// 1-based line number, as Postfix reports it.
    pub line: usize,
    /// The kind of table (the messages say `regexp map`, `pcre map`, `cidr map`).
    pub table: PatternKind,
    /// What is wrong.
    pub kind: PatternDiagnosticKind,
}

/// Why a `cidr:` rule was skipped (the text between `line N: ` and
/// `: skipping this rule`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CidrError {
    /// `no address pattern`.
    NoAddressPattern,
    /// `no lookup result`.
    NoLookupResult,
    /// `garbage after ENDIF`.
    GarbageAfterEndif,
    /// `ENDIF without IF`.
    EndifWithoutIf,
    /// `missing ']' character after "[…"`.
    MissingBracket {
        /// The text after `[`.
        inner: Vec<u8>,
    },
    /// `garbage after "[…]"`.
    GarbageAfterBracket {
        /// The text between the brackets.
        inner: Vec<u8>,
    },
    /// `bad mask value in "net/mask"`.
    BadMaskValue {
        /// The address part.
        net: Vec<u8>,
        /// The mask part.
        mask: Vec<u8>,
    },
    /// `bad mask length in "net/mask"`.
    BadMaskLength {
        /// The address part.
        net: Vec<u8>,
        /// The mask part.
        mask: Vec<u8>,
    },
    /// `bad network value in "net/mask"`.
    BadNetworkValue {
        /// The address part.
        net: Vec<u8>,
        /// The mask part.
        mask: Vec<u8>,
    },
    /// `non-null host address bits in "net/mask", perhaps you should use "…/len" instead`.
    HostBits {
        /// The address part.
        net: Vec<u8>,
        /// The mask part.
        mask: Vec<u8>,
        /// The network with the host bits cleared, as `inet_ntop` prints it.
        suggestion: String,
        /// The prefix length Postfix computed (its `unsigned char`).
        len: u8,
    },
    /// `bad address pattern: "…"`.
    BadAddressPattern {
        /// The pattern.
        pattern: Vec<u8>,
    },
}

/// What a [`PatternDiagnostic`] is about. The message Postfix prints for
/// each is given by [`PatternDiagnostic::postfix_message_bytes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternDiagnosticKind {
    /// Indented text before any rule: Postfix drops it and its
    /// continuation lines ("logical line must not start with whitespace").
    LeadingWhitespace {
        /// The logical line.
        text: Vec<u8>,
    },
    /// `no regexp: skipping this rule` (nothing after `!`/`if`).
    NoRegexp,
    /// `no closing regexp delimiter "c"` (regexp: skipping, pcre: ignoring this rule).
    NoClosingDelimiter {
        /// The delimiter.
        delimiter: u8,
    },
    /// `unknown regexp option "c": skipping this rule`.
    UnknownOption {
        /// The flag byte.
        flag: u8,
    },
    /// pcre `X`: `ignoring obsolete regexp option "X"` (the rule is kept).
    ObsoleteOption {
        /// The flag byte.
        flag: u8,
    },
    /// `no replacement text: using empty string`; the rule is kept and
    /// answers an empty string, which Postfix treats as an error.
    NoReplacementText,
    /// `non-numeric replacement index "…"` (followed by `BadReplacementSyntax`).
    NonNumericIndex {
        /// The name after `$`.
        name: Vec<u8>,
    },
    /// `$0`: `out-of-range replacement index "0"` (pcre: `out of range`).
    ZeroIndex {
        /// The index as written.
        name: Vec<u8>,
    },
    /// `truncated macro reference: "…"` (no map prefix: Postfix's macro parser says it).
    TruncatedMacro {
        /// The whole result text.
        text: Vec<u8>,
    },
    /// `empty macro name: "…"` (no map prefix).
    EmptyMacroName {
        /// The whole result text.
        text: Vec<u8>,
    },
    /// `bad replacement syntax: skipping this rule`.
    BadReplacementSyntax,
    /// `$number found in negative match replacement text: skipping this rule`.
    NegatedSubstitution,
    /// A pattern the engine refuses: regexp prints `regerror()`'s text,
    /// pcre `error in regex at offset N: …`. The rule is skipped.
    Compile {
        /// PCRE2's error offset (pcre only).
        offset: Option<usize>,
        /// The engine's message.
        message: String,
    },
    /// `out of range replacement index "N": skipping this rule` (more `$n`
    /// than groups). `index` is Postfix's `int` view of the number.
    IndexOutOfRange {
        /// The largest index, as Postfix prints it.
        index: i32,
    },
    /// `ignoring extra text after IF statement: "…"`.
    ExtraTextAfterIf {
        /// The extra text.
        text: Vec<u8>,
    },
    /// `do not prepend whitespace to statements between IF and ENDIF`
    /// (always follows `ExtraTextAfterIf`).
    IndentedStatement,
    /// `ignoring extra text after ENDIF` (the ENDIF still counts).
    ExtraTextAfterEndif,
    /// `ignoring ENDIF without matching IF`.
    EndifWithoutIf,
    /// `ignoring unrecognized request` (a line starting with a letter or
    /// digit that is not `if`/`endif`).
    UnrecognizedRequest,
    /// `IF has no matching ENDIF` (reported against the IF's line; when the
    /// IF does not match, nothing after it is ever reached).
    IfWithoutEndif,
    /// A `cidr:` rule skipped: `…: skipping this rule`.
    Cidr(CidrError),
    /// A matching error at lookup time (regexec/pcre2_match failure): the
    /// rule counts as not matching.
    Match {
        /// The engine's message.
        message: String,
    },
}

fn q(t: &[u8]) -> Vec<u8> {
    [&b"\""[..], t, b"\""].concat()
}

impl CidrError {
    fn text(&self) -> Vec<u8> {
        match self {
            CidrError::NoAddressPattern => b"no address pattern".to_vec(),
            CidrError::NoLookupResult => b"no lookup result".to_vec(),
            CidrError::GarbageAfterEndif => b"garbage after ENDIF".to_vec(),
            CidrError::EndifWithoutIf => b"ENDIF without IF".to_vec(),
            CidrError::MissingBracket { inner } => {
                [&b"missing ']' character after \"["[..], inner, b"\""].concat()
            }
            CidrError::GarbageAfterBracket { inner } => {
                [&b"garbage after \"["[..], inner, b"]\""].concat()
            }
            CidrError::BadMaskValue { net, mask } => [
                &b"bad mask value in "[..],
                &q(&[&net[..], b"/", mask].concat()),
            ]
            .concat(),
            CidrError::BadMaskLength { net, mask } => [
                &b"bad mask length in "[..],
                &q(&[&net[..], b"/", mask].concat()),
            ]
            .concat(),
            CidrError::BadNetworkValue { net, mask } => [
                &b"bad network value in "[..],
                &q(&[&net[..], b"/", mask].concat()),
            ]
            .concat(),
            CidrError::HostBits {
                net,
                mask,
                suggestion,
                len,
            } => [
                &b"non-null host address bits in "[..],
                &q(&[&net[..], b"/", mask].concat()),
                format!(", perhaps you should use \"{suggestion}/{len}\" instead").as_bytes(),
            ]
            .concat(),
            CidrError::BadAddressPattern { pattern } => {
                [&b"bad address pattern: "[..], &q(pattern)].concat()
            }
        }
    }
}

impl PatternDiagnostic {
    /// True when Postfix skips the rule on this line because of it (as
    /// opposed to warning and keeping it, or a lookup-time problem).
    pub fn skips_rule(&self) -> bool {
        !matches!(
            self.kind,
            PatternDiagnosticKind::ObsoleteOption { .. }
                | PatternDiagnosticKind::NoReplacementText
                | PatternDiagnosticKind::ExtraTextAfterIf { .. }
                | PatternDiagnosticKind::IndentedStatement
                | PatternDiagnosticKind::ExtraTextAfterEndif
                | PatternDiagnosticKind::IfWithoutEndif
                | PatternDiagnosticKind::Match { .. }
                | PatternDiagnosticKind::NonNumericIndex { .. }
                | PatternDiagnosticKind::ZeroIndex { .. }
                | PatternDiagnosticKind::TruncatedMacro { .. }
                | PatternDiagnosticKind::EmptyMacroName { .. }
        )
    }

    /// The warning exactly as `postmap -q KEY TYPE:MAP` (Postfix 3.7)
    /// prints it after `postmap: warning: `. `map` is the map name as
    /// given to postmap (the file name). Non-printable bytes become `?`
    /// as in Postfix's logging (`utf8` = `smtputf8_enable`).
    ///
    /// ```
    /// use postfix_table::pattern::{PatternKind, PatternTable};
    /// let t = PatternTable::parse(PatternKind::Regexp, b"endif\n");
    /// let d = &t.diagnostics()[0];
    /// assert_eq!(
    ///     d.postfix_message("table", true),
    ///     "regexp map table, line 1: ignoring ENDIF without matching IF"
    /// );
    /// ```
    pub fn postfix_message_bytes_for(&self, kind: PatternKind, map: &str, utf8: bool) -> Vec<u8> {
        let at = format!("{} map {map}, line {}: ", kind.name(), self.line).into_bytes();
        let skipping: &[u8] = b": skipping this rule";
        use PatternDiagnosticKind as K;
        let body: Vec<u8> = match &self.kind {
            K::LeadingWhitespace { text } => {
                return [
                    map.as_bytes(),
                    b": logical line must not start with whitespace: \"",
                    &crate::lines::leading_whitespace_excerpt(text, utf8),
                    b"\"",
                ]
                .concat();
            }
            K::TruncatedMacro { text } => {
                return printable(
                    &[&b"truncated macro reference: "[..], &q(text)].concat(),
                    utf8,
                );
            }
            K::EmptyMacroName { text } => {
                return printable(&[&b"empty macro name: "[..], &q(text)].concat(), utf8);
            }
            K::NoRegexp => b"no regexp: skipping this rule".to_vec(),
            K::NoClosingDelimiter { delimiter } => [
                &b"no closing regexp delimiter \""[..],
                &[*delimiter],
                if kind == PatternKind::Pcre {
                    b"\": ignoring this rule"
                } else {
                    b"\": skipping this rule"
                },
            ]
            .concat(),
            K::UnknownOption { flag } => {
                [&b"unknown regexp option \""[..], &[*flag], b"\"", skipping].concat()
            }
            K::ObsoleteOption { flag } => {
                [&b"ignoring obsolete regexp option \""[..], &[*flag], b"\""].concat()
            }
            K::NoReplacementText => b"no replacement text: using empty string".to_vec(),
            K::NonNumericIndex { name } => {
                [&b"non-numeric replacement index "[..], &q(name)].concat()
            }
            K::ZeroIndex { name } => [
                if kind == PatternKind::Pcre {
                    &b"out of range replacement index "[..]
                } else {
                    &b"out-of-range replacement index "[..]
                },
                &q(name),
            ]
            .concat(),
            K::BadReplacementSyntax => [&b"bad replacement syntax"[..], skipping].concat(),
            K::NegatedSubstitution => [
                &b"$number found in negative match replacement text"[..],
                skipping,
            ]
            .concat(),
            K::Compile { offset, message } => match offset {
                Some(o) => format!("error in regex at offset {o}: {message}").into_bytes(),
                None => message.as_bytes().to_vec(),
            },
            K::IndexOutOfRange { index } => {
                format!("out of range replacement index \"{index}\": skipping this rule")
                    .into_bytes()
            }
            K::ExtraTextAfterIf { text } => {
                [&b"ignoring extra text after IF statement: "[..], &q(text)].concat()
            }
            K::IndentedStatement => {
                b"do not prepend whitespace to statements between IF and ENDIF".to_vec()
            }
            K::ExtraTextAfterEndif => b"ignoring extra text after ENDIF".to_vec(),
            K::EndifWithoutIf => b"ignoring ENDIF without matching IF".to_vec(),
            K::UnrecognizedRequest => b"ignoring unrecognized request".to_vec(),
            K::IfWithoutEndif => b"IF has no matching ENDIF".to_vec(),
            K::Cidr(e) => [&e.text()[..], skipping].concat(),
            K::Match { message } => message.as_bytes().to_vec(),
        };
        printable(&[&at[..], &body].concat(), utf8)
    }

    /// [`PatternDiagnostic::postfix_message_bytes_for`] for the table kind
    /// the diagnostic came from (kept in the diagnostic), as a `String`.
    pub fn postfix_message(&self, map: &str, utf8: bool) -> String {
        String::from_utf8_lossy(&self.postfix_message_bytes(map, utf8)).into_owned()
    }

    /// The warning as bytes, for the table kind the diagnostic came from.
    pub fn postfix_message_bytes(&self, map: &str, utf8: bool) -> Vec<u8> {
        self.postfix_message_bytes_for(self.table_kind(), map, utf8)
    }

    fn table_kind(&self) -> PatternKind {
        self.table
    }
}

impl fmt::Display for PatternDiagnostic {
    /// Postfix's wording, with the map name left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.postfix_message("", true);
        if let PatternDiagnosticKind::LeadingWhitespace { .. } = self.kind {
            // Postfix names only the file here: "FILE: logical line …".
            return write!(f, "line {}{m}", self.line);
        }
        f.write_str(
            m.strip_prefix(&format!("{} map , ", self.table.name()))
                .unwrap_or(&m),
        )
    }
}
