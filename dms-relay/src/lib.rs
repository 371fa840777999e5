//! `dms-relay`: docker-mailserver relay hosts as a typed, safe API.
//!
//! - [`types`]: validated domains, hosts, ports, next hops and credentials
//!   (passwords never shown).
//! - [`store`]: DMS's config directory and every `setup relay` command,
//!   with locked, atomic writes ([`fsutil`]).
//! - [`env`](mod@env) and [`render`]: the relay ENV and the start-up step that
//!   produces `relayhost_map`, `sasl_passwd`, `vhost` and the main.cf
//!   relay parameters.
//! - [`apply`]: writes the rendered result into a Postfix directory.
//! - [`ops`]: the reference model used by property tests and fuzzing.
//!
//! The crate README has a tour of all of it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub use postfix_table::Table;

pub mod apply;
pub mod doctor;
pub mod env;
pub mod explain;
pub mod fsutil;
pub mod ops;
pub mod render;
pub mod store;
pub mod types;

/// The README's example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
