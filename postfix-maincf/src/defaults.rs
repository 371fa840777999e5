//! (stub) defaults
