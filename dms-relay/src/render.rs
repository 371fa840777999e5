//! (stub) render
