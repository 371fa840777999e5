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
    loop {
        i = find_candidate(line, i);
        match line.get(i) {
            None => break,
            Some(b'\\') => {
                // The next byte is literal; a final backslash ends the scan.
                i += 1;
                if i >= line.len() {
                    break;
                }
                i += 1;
            }
            Some(b'"') => {
                in_quotes = !in_quotes;
                i += 1;
            }
            Some(&b) if is_space(b) && !in_quotes => break,
            Some(_) => i += 1,
        }
    }
    (i.min(line.len()), !in_quotes)
}

/// Index of the first byte at or after `from` that may end or change the key
/// scan: a byte below `!` (whitespace and other control bytes), `"` or `\\`.
/// Eight bytes at a time (SWAR); exact, since only the lowest hit is used.
#[inline]
fn find_candidate(line: &[u8], from: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = from;
    while let Some(chunk) = line.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let hits = (x.wrapping_sub(LO * 0x21) & !x & HI)
            | zero_byte(x ^ (LO * u64::from(b'"')))
            | zero_byte(x ^ (LO * u64::from(b'\\')));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = line.get(i) {
        if b < 0x21 || b == b'"' || b == b'\\' {
            return i;
        }
        i += 1;
    }
    line.len()
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
    let Some(text) = postfix_text(&logical, utf8) else {
        return Meaning::Ignored(Ignored::NonUtf8);
    };
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

/// The part of a logical line Postfix works with (before the first NUL),
/// or `None` when Postfix drops the line as non-UTF-8. One pass over the
/// bytes for the common case (ASCII, no NUL).
#[inline]
pub(crate) fn postfix_text(logical: &[u8], utf8: bool) -> Option<&[u8]> {
    let (ascii, nul) = ascii_and_nul(logical);
    if utf8 && !ascii && !is_valid_postfix_utf8(logical) {
        return None;
    }
    Some(match nul {
        Some(i) => logical.get(..i).unwrap_or_default(),
        None => logical,
    })
}

/// Whether `s` is all ASCII, and where its first NUL byte is (SWAR, eight
/// bytes per step). `ascii` is only meaningful up to the NUL when there is
/// one; callers then re-check.
#[inline]
fn ascii_and_nul(s: &[u8]) -> (bool, Option<usize>) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut high = 0u64;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        if x.wrapping_sub(LO) & !x & HI != 0 {
            break; // a NUL in this word: finish byte by byte
        }
        high |= x;
        i += 8;
    }
    let mut ascii = high & HI == 0;
    while let Some(&b) = s.get(i) {
        if b == 0 {
            return (false, Some(i));
        }
        ascii &= b.is_ascii();
        i += 1;
    }
    (ascii, None)
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
    let text = postfix_text(logical, utf8)?;
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
    fn candidate_scan_is_exact() {
        let all: Vec<u8> = (0..=255u8).collect();
        for start in 0..all.len() {
            for len in [0usize, 1, 7, 8, 9, 17, 40] {
                let s = &all[start..(start + len).min(all.len())];
                let want = s
                    .iter()
                    .position(|&b| b < 0x21 || b == b'"' || b == b'\\')
                    .unwrap_or(s.len());
                assert_eq!(find_candidate(s, 0), want, "{s:?}");
            }
        }
        let mut line = b"abcdefghijklmnop".to_vec();
        for p in 0..line.len() {
            for b in [b' ', b'\t', b'"', b'\\', 0x0b, 0x01, 0x80, 0xff] {
                let mut l = line.clone();
                l[p] = b;
                let want = l
                    .iter()
                    .position(|&c| c < 0x21 || c == b'"' || c == b'\\')
                    .unwrap_or(l.len());
                assert_eq!(find_candidate(&l, 0), want);
            }
        }
        line.clear();
    }

    #[test]
    fn ascii_and_nul_scan() {
        assert_eq!(ascii_and_nul(b""), (true, None));
        assert_eq!(ascii_and_nul(b"abcdefghijklmnop"), (true, None));
        assert_eq!(ascii_and_nul(b"abcdefghijklmno\xe9"), (false, None));
        assert_eq!(ascii_and_nul(b"abcdefghij\0klmno\xe9").1, Some(10));
        assert_eq!(ascii_and_nul(b"\0").1, Some(0));
        assert!(!ascii_and_nul(b"\xe9bcdefgh").0);
        assert_eq!(postfix_text(b"a b\0\xff", true), Some(&b"a b"[..]));
        assert_eq!(postfix_text(b"\0\xff", true), None);
        assert_eq!(postfix_text(b"caf\xe9 v", true), None);
        assert_eq!(postfix_text(b"caf\xe9 v", false), Some(&b"caf\xe9 v"[..]));
    }

    #[test]
    fn index_keys() {
        assert_eq!(index_key(b"k v", true), Some((&b"k"[..], true)));
        assert_eq!(index_key(b"k  ", true), Some((&b"k"[..], false)));
        assert_eq!(index_key(b"\"k v", true), None);
    }
}
