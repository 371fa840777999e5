//! (stub) fsutil
