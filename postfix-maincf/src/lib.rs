//! `postfix-maincf`: lossless main.cf reading and editing with postconf's
//! semantics.
//!
//! **Not implemented yet** (tracked as its own issue): this crate is a
//! workspace member so that the layout is final. It will build on the
//! logical-line layer that [`postfix_table::lines`] already provides, because
//! Postfix reads main.cf and table files with the same reader.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use postfix_table::lines;
