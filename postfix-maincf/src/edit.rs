//! (stub) edit
