//! `dms-relay`: docker-mailserver relay hosts as a typed, safe API.
//!
//! **Not implemented yet** (tracked as its own issue). It will keep
//! `postfix-relaymap.cf` and `postfix-sasl-password.cf` as lossless
//! [`postfix_table::Table`] documents.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use postfix_table::Table;
