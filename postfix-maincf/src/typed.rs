//! (stub) typed
