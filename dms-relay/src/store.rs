//! (stub) store
