//! (stub) types
