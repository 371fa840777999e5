//! `dms-relay`: docker-mailserver relay hosts as a typed, safe API.
//!
//! **Work in progress** (its issue is open).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub use postfix_table::Table;

pub mod apply;
pub mod env;
pub mod fsutil;
pub mod ops;
pub mod render;
pub mod store;
pub mod types;
