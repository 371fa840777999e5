//! Lossless reading, editing and writing of Postfix lookup-table source
//! files — the `key whitespace value` format that `postmap` compiles into
//! `hash:`, `btree:`, `lmdb:` and `cdb:` tables and that `texthash:` reads
//! directly — with the lookup semantics of Postfix 3.7.
//!
//! ```
//! use postfix_table::Table;
//!
//! let src = b"# per-sender relays\r\n@example.com\t[smtp.example.com]:587\r\n@optout.net\r\n";
//! let mut table = Table::parse(src);
//! assert_eq!(table.to_bytes(), src);                 // byte for byte, always
//!
//! // Lookups answer as `postmap -q` does.
//! assert_eq!(table.get_str("@Example.COM").as_deref(), Some("[smtp.example.com]:587"));
//! assert_eq!(table.get("@optout.net"), None);        // Postfix ignores key-only lines…
//! assert!(table.is_opted_out("@optout.net"));        // …which DMS uses as opt-outs
//!
//! // Edits touch only their line and follow the file's style (CRLF here).
//! table.set("@example.com", "[smtp.example.com]:2525").unwrap();
//! table.set("@new.org", "[relay.new.org]").unwrap();
//! assert_eq!(
//!     table.to_bytes(),
//!     b"# per-sender relays\r\n@example.com\t[smtp.example.com]:2525\r\n@optout.net\r\n@new.org\t[relay.new.org]\r\n"
//! );
//! ```
//!
//! # What is preserved
//!
//! Everything: parsing never fails, and an unedited table writes back the
//! exact input bytes (CRLF or mixed line endings, tabs, form feeds, comment
//! and blank lines inside continuations, NUL bytes, Latin-1, no final
//! newline). An edit rewrites only the logical line it touches; a replaced
//! multi-line value becomes one line, and comment lines that were
//! interleaved in it stay, right after it.
//!
//! # How Postfix reads a table
//!
//! * Lines are joined as [`lines`] describes (Postfix's `readllines()`).
//! * The key runs to the first whitespace byte outside `"…"` and not
//!   escaped by `\`; quotes and backslashes stay part of the key. The value
//!   is the rest, trimmed. Continuation lines keep their indentation.
//! * Keys are folded ([`Fold`]) when stored and when queried; values keep
//!   their case.
//! * A key without a value is ignored, with a warning; so are lines with an
//!   unbalanced quote, non-UTF-8 lines (with `smtputf8_enable = yes`) and
//!   indented lines before the first entry. [`Table::diagnostics`] reports
//!   each, in Postfix's words ([`Diagnostic::postfix_message`]).
//! * Duplicates: the first entry wins ([`Duplicates`]); a daemon refuses a
//!   `texthash:` table with a duplicate.
//! * Address lookups for sender-keyed tables follow Postfix's search order:
//!   see [`address`].
//!
//! # Table references and in-line tables
//!
//! [`spec::TableRef`] reads a `type:name` reference as main.cf holds it
//! (`hash:/etc/postfix/x`, `proxy:…`, `unionmap:{…}`, …), with Postfix's
//! syntax checks and fatal messages. The tables that live in the reference
//! itself, `inline:{ key=value, { key = value } }` and `static:value`, answer
//! lookups, list their entries and (for `inline:`) take edits: see
//! [`inline`].
//!
//! ```
//! use postfix_table::spec::TableRef;
//!
//! let t: TableRef = "inline:{ [smtp.example.com]:587=user:pass, { KEY = a b, c }, key=last }".parse().unwrap();
//! assert_eq!(t.lookup("[SMTP.example.com]:587").unwrap().value(), Some("user:pass"));
//! assert_eq!(t.lookup("Key").unwrap().value(), Some("last"));       // folded; the last duplicate wins
//! assert_eq!(TableRef::parse("static:{ relay }").unwrap().lookup("x").unwrap().value(), Some("relay"));
//! assert_eq!(
//!     TableRef::parse("inline:{ a=1 ").unwrap_err().to_string(),
//!     r#"bad syntax: "inline:{ a=1 "; need "inline:{name=value...}""#   // Postfix's words
//! );
//! ```
//!
//! # Pattern tables
//!
//! [`pattern::PatternTable`] reads, edits and writes `regexp:`, `pcre:`
//! and `cidr:` tables the same lossless way, and looks keys up with
//! Postfix's own regular-expression libraries.
//!
//! # Features
//!
//! * `regexp` (default): lookups in `regexp:` tables through glibc's POSIX
//!   `regcomp()`/`regexec()`, as Postfix does.
//! * `pcre`: lookups in `pcre:` tables through the system libpcre2-8
//!   (link-time dependency: Debian `libpcre2-dev`).
//! * `serde` (off by default): `Serialize`/`Deserialize` for [`Table`] (as
//!   its list of records: `{"key": …, "value": …}`, `value` null for an
//!   opt-out), [`Options`], [`Fold`], [`Duplicates`], [`Diagnostic`] and
//!   [`ops::EditOp`]. This is the only place another crate's traits appear
//!   in the API; no dependency's types do (the lookup index is a private
//!   `hashbrown` table).
// Unsafe code is denied everywhere except the two engine FFI modules
// (`engine::posix`, `engine::pcre`), which allow it explicitly.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod address;
mod casefold;
mod casefold_table;
mod diag;
#[cfg(any(feature = "regexp", feature = "pcre"))]
mod engine;
mod error;
pub mod inline;
pub mod lines;
pub mod ops;
pub mod pattern;
mod record;
#[cfg(feature = "serde")]
mod serde_impl;
pub mod spec;
mod table;

pub use casefold::Fold;
pub use diag::{Diagnostic, DiagnosticKind};
pub use error::{EditError, QueryError};
pub use record::Ignored;
pub use table::{Change, Duplicates, Entry, EntryKind, KeyValue, Node, Nodes, Options, Table};

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
