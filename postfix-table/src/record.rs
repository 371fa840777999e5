//! Splitting one logical line into key and value, as `postmap` and
//! `texthash:` do (Postfix `postmap/postmap.c`, `util/dict_thash.c`).

use std::borrow::Cow;

use crate::lines::{c_string, is_space, trim_space};

/// Where the key of a logical line ends, as Postfix scans it: at the first
/// whitespace byte that is neither inside `"…"` nor escaped by `\`.
/// Returns `(key_end, balanced)`; `balanced` is false when a quote is left open.
#[inline]
pub(crate) fn scan_key(line: &[u8]) -> (usize, bool) {
    let mut i = 0;
    let mut in_quotes = false;
    while let Some(&b) = line.get(i) {
        if b == b'\\' {
            i += 1;
            if i >= line.len() {
                break;
            }
        } else if is_space(b) {
            if !in_quotes {
                break;
            }
        } else if b == b'"' {
            in_quotes = !in_quotes;
        }
        i += 1;
    }
    (i.min(line.len()), !in_quotes)
}

/// Why Postfix ignores a logical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ignored {
    /// The logical line starts with whitespace: an indented line before any
    /// entry ("logical line must not start with whitespace").
    LeadingWhitespace,
    /// A `"` is left open ("unbalanced '"' in '…' -- ignoring this line").
    UnbalancedQuote,
    /// Not valid UTF-8 while `smtputf8_enable = yes` ("non-UTF-8 input").
    NonUtf8,
    /// No key at all (the logical line starts with a NUL byte).
    MissingKey,
}

/// What one logical line means to Postfix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Meaning<'a> {
    /// `key whitespace value`.
    Mapping {
        key: Cow<'a, [u8]>,
        value: Cow<'a, [u8]>,
    },
    /// A key without a value: ignored by Postfix ("expected format: key
    /// whitespace value"), shown by this crate as an opt-out.
    KeyOnly { key: Cow<'a, [u8]> },
    /// Ignored for another reason.
    Ignored(Ignored),
}

fn sub<'a>(text: &Cow<'a, [u8]>, part: &[u8], start: usize) -> Cow<'a, [u8]> {
    match text {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..start + part.len()).unwrap_or_default()),
        Cow::Owned(_) => Cow::Owned(part.to_vec()),
    }
}

/// Interprets one logical line (LF-joined, not yet NUL-truncated).
pub(crate) fn interpret<'a>(logical: Cow<'a, [u8]>, leading_ws: bool, utf8: bool) -> Meaning<'a> {
    if leading_ws {
        return Meaning::Ignored(Ignored::LeadingWhitespace);
    }
    if utf8 && !is_valid_postfix_utf8(&logical) {
        return Meaning::Ignored(Ignored::NonUtf8);
    }
    let text = c_string(&logical);
    let (key_end, balanced) = scan_key(text);
    if !balanced {
        return Meaning::Ignored(Ignored::UnbalancedQuote);
    }
    let key = text.get(..key_end).unwrap_or_default();
    let rest = text.get(key_end..).unwrap_or_default();
    let value = trim_space(rest);
    if key.is_empty() {
        return Meaning::Ignored(Ignored::MissingKey);
    }
    let key_cow = sub(&logical, key, 0);
    if value.is_empty() {
        return Meaning::KeyOnly { key: key_cow };
    }
    let value_start = value.as_ptr() as usize - text.as_ptr() as usize;
    let value_cow = sub(&logical, value, value_start);
    Meaning::Mapping {
        key: key_cow,
        value: value_cow,
    }
}

/// Postfix's UTF-8 check of a logical line: lines whose part before the
/// first NUL is ASCII pass; otherwise the whole line (NULs included) must be
/// valid UTF-8.
#[inline]
pub(crate) fn is_valid_postfix_utf8(logical: &[u8]) -> bool {
    if logical.is_ascii() {
        return true;
    }
    // allascii() is false for an empty C string.
    let c = c_string(logical);
    (!c.is_empty() && c.is_ascii()) || std::str::from_utf8(logical).is_ok()
}

/// Quick key extraction for indexing: `Some((key, is_mapping))` for lines
/// that have a key Postfix would use or that are key-only opt-outs.
#[inline]
pub(crate) fn index_key(logical: &[u8], utf8: bool) -> Option<(&[u8], bool)> {
    if utf8 && !is_valid_postfix_utf8(logical) {
        return None;
    }
    let text = c_string(logical);
    let (key_end, balanced) = scan_key(text);
    if !balanced || key_end == 0 {
        return None;
    }
    let rest = text.get(key_end..).unwrap_or_default();
    let has_value = rest.iter().any(|&b| !is_space(b));
    Some((text.get(..key_end).unwrap_or_default(), has_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &[u8]) -> Meaning<'_> {
        interpret(Cow::Borrowed(s), false, true)
    }

    #[test]
    fn splits() {
        assert_eq!(
            m(b"key  a  b \r"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"key"),
                value: Cow::Borrowed(b"a  b")
            }
        );
        assert_eq!(
            m(b"key \t"),
            Meaning::KeyOnly {
                key: Cow::Borrowed(b"key")
            }
        );
        assert_eq!(
            m(b"\"a b\" v"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"\"a b\""),
                value: Cow::Borrowed(b"v")
            }
        );
        assert_eq!(
            m(b"a\\ b v"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"a\\ b"),
                value: Cow::Borrowed(b"v")
            }
        );
        assert_eq!(
            m(b"\"abc value"),
            Meaning::Ignored(Ignored::UnbalancedQuote)
        );
        assert_eq!(
            m(b"\"a\\\"b\" v"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"\"a\\\"b\""),
                value: Cow::Borrowed(b"v")
            }
        );
        assert_eq!(
            m(b"key \\"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"key"),
                value: Cow::Borrowed(b"\\")
            }
        );
        assert_eq!(
            m(b"key\\"),
            Meaning::KeyOnly {
                key: Cow::Borrowed(b"key\\")
            }
        );
        assert_eq!(
            m(b"k\0ey value"),
            Meaning::KeyOnly {
                key: Cow::Borrowed(b"k")
            }
        );
        assert_eq!(
            m(b"key va\0lue"),
            Meaning::Mapping {
                key: Cow::Borrowed(b"key"),
                value: Cow::Borrowed(b"va")
            }
        );
        assert_eq!(m(b"\0x"), Meaning::Ignored(Ignored::MissingKey));
        assert_eq!(m(b"caf\xe9 v"), Meaning::Ignored(Ignored::NonUtf8));
        assert_eq!(
            interpret(Cow::Borrowed(b"caf\xe9 v"), false, false),
            Meaning::Mapping {
                key: Cow::Borrowed(b"caf\xe9"),
                value: Cow::Borrowed(b"v")
            }
        );
        // ASCII before the NUL: no UTF-8 check at all.
        assert!(matches!(m(b"a b\0\xff"), Meaning::Mapping { .. }));
    }

    #[test]
    fn index_keys() {
        assert_eq!(index_key(b"k v", true), Some((&b"k"[..], true)));
        assert_eq!(index_key(b"k  ", true), Some((&b"k"[..], false)));
        assert_eq!(index_key(b"\"k v", true), None);
    }
}
