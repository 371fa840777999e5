//! (stub) env
