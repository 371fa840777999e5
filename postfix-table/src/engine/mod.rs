//! The regular-expression engines behind `regexp:` and `pcre:` tables.
//!
//! Postfix hands a pattern to the C library it was built with: glibc's
//! POSIX `regcomp()`/`regexec()` for `regexp:` tables and libpcre2-8 for
//! `pcre:` tables. This crate binds the same two libraries instead of
//! using a Rust engine, because "what Postfix does" *is* what those
//! libraries do, down to details no reimplementation would copy:
//!
//! * POSIX leftmost-**longest** matching with glibc's sub-match rules (the
//!   `regex` crate is leftmost-first: `$1` of `/^(a|ab)/` on `ab` is `ab`
//!   in Postfix, `a` there);
//! * basic syntax (`x` flag: `\(…\)`, `\{…\}`, `+` literal), `[[:alpha:]]`
//!   classes, back-references (`\1`, which the `regex` crate refuses),
//!   glibc's handling of bytes >= 0x80 in the "C" locale;
//! * PCRE-only syntax (look-around, possessive quantifiers, `\K`, named
//!   groups, `(?i)` inside the pattern) and the flags Postfix sets
//!   (`PCRE2_ANCHORED`, `PCRE2_DOLLAR_ENDONLY`, `PCRE2_UNGREEDY`, `DOTALL` on
//!   by default);
//! * the **error texts** Postfix logs (`regerror()`, `pcre2_get_error_message()`
//!   and PCRE2's error offsets), which are part of the warnings this crate
//!   reproduces byte for byte.
//!
//! Each engine is one small module and the only `unsafe` code of the crate
//! (`#[allow(unsafe_code)]` there, `deny` everywhere else). Both take C
//! strings: a pattern never holds a NUL (Postfix reads a rule as a C
//! string, so the line ends at its first NUL), and a lookup key with a NUL
//! is refused before it reaches an engine ([`crate::QueryError::NulInKey`]).
//!
//! Locale: glibc's matcher depends on `LC_CTYPE`. Postfix never calls
//! `setlocale()`, so it matches in the "C" locale (bytes); so does a Rust
//! program, unless something in it calls `setlocale()`.

#[cfg(feature = "pcre")]
pub(crate) mod pcre;
#[cfg(feature = "regexp")]
pub(crate) mod posix;
