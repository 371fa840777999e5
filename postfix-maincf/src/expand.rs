//! (stub) expand
