//! (stub) known
