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
//! Quick start: the start-up step is a pure function of the relay ENV and
//! the two DMS files, so it can be checked without touching the disk.
//!
//! ```
//! use dms_relay::env::RelayEnv;
//! use dms_relay::render::{managed_domains, render, Sources};
//! use dms_relay::types::SenderDomain;
//!
//! // Arguments are validated types: nothing a regex or Postfix would mangle.
//! assert!("a*b.test".parse::<SenderDomain>().is_err());
//!
//! let env = RelayEnv::from_pairs([("RELAY_HOST", "smtp.fallback.test")])?;
//! let domains = managed_domains(Some(b"user@example.org|{SHA512-CRYPT}x\nother@example.net|{SHA512-CRYPT}y\n"), None);
//! let relaymap = b"@example.org [smtp.relay.test]:587\n";
//! let rendered = render(&env, &Sources { relaymap: Some(relaymap), sasl_password: None, domains: &domains })?;
//! assert_eq!(
//!     rendered.relayhost_map.as_deref(),
//!     Some(&b"@example.org [smtp.relay.test]:587\n@example.net    [smtp.fallback.test]:25\n"[..])
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The commands of `setup relay` are on [`store::ConfigDir`] (locked,
//! atomic writes); [`apply::apply`] writes a rendered result into a Postfix
//! directory. The crate README has a tour of all of it.
//!
//! # Public dependencies
//!
//! [`postfix_table::Table`] is re-exported: it is the type of the documents
//! `store` works on. [`apply::ApplyError::MainCf`] carries a
//! [`postfix_maincf::EditError`]. These three crates are released together,
//! with the same version. No other dependency's types are part of the API.
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
