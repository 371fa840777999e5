//! Key folding as Postfix does it for lookup tables.

use std::borrow::Cow;

use crate::casefold_table::FOLD;

/// How table keys are folded before they are stored and before they are
/// looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Fold {
    /// Unicode full case folding for non-ASCII keys (`ÉTÉ` → `été`,
    /// `ß` → `ss`), ASCII lower-casing otherwise. What Postfix 3.7 does with
    /// `smtputf8_enable = yes`, the Debian default.
    #[default]
    Unicode,
    /// ASCII lower-casing only (`smtputf8_enable = no`).
    Ascii,
    /// No folding at all (`postmap -f`).
    None,
}

impl Fold {
    /// Folds `key` in this mode. Borrows when nothing changes.
    ///
    /// In Unicode mode, bytes that are not valid UTF-8 are copied unchanged,
    /// as ICU does for Postfix.
    ///
    /// ```
    /// use postfix_table::Fold;
    /// assert_eq!(&*Fold::Unicode.fold("ÉTÉ@Exemple.FR".as_bytes()), "été@exemple.fr".as_bytes());
    /// assert_eq!(&*Fold::Unicode.fold("Straße".as_bytes()), b"strasse");
    /// assert_eq!(&*Fold::Ascii.fold("ÉTÉ@X".as_bytes()), "ÉtÉ@x".as_bytes());
    /// assert_eq!(&*Fold::None.fold(b"KEY"), b"KEY");
    /// ```
    pub fn fold(self, key: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Fold::None => Cow::Borrowed(key),
            Fold::Ascii => ascii_lower(key),
            Fold::Unicode if key.is_ascii() => ascii_lower(key),
            Fold::Unicode => Cow::Owned(unicode_fold(key)),
        }
    }

    /// True when `a` and `b` fold to the same key.
    pub fn eq(self, a: &[u8], b: &[u8]) -> bool {
        match self {
            Fold::None => a == b,
            Fold::Ascii => a.eq_ignore_ascii_case(b),
            Fold::Unicode if a.is_ascii() && b.is_ascii() => a.eq_ignore_ascii_case(b),
            Fold::Unicode => self.fold(a) == self.fold(b),
        }
    }
}

fn ascii_lower(key: &[u8]) -> Cow<'_, [u8]> {
    if key.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(key.to_ascii_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

fn unicode_fold(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 8);
    let mut buf = [0u8; 4];
    for chunk in key.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch.is_ascii() {
                out.push(ch.to_ascii_lowercase() as u8);
            } else {
                match FOLD.binary_search_by_key(&(ch as u32), |&(cp, _)| cp) {
                    Ok(i) => {
                        if let Some((_, folded)) = FOLD.get(i) {
                            out.extend_from_slice(folded.as_bytes());
                        }
                    }
                    Err(_) => out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes()),
                }
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted() {
        assert!(FOLD.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn folds() {
        assert_eq!(
            Fold::Unicode.fold("ΣΑΣ".as_bytes()).as_ref(),
            "σασ".as_bytes()
        );
        assert_eq!(Fold::Unicode.fold(b"caf\xc9\xff").as_ref(), b"caf\xc9\xff");
        assert!(Fold::Unicode.eq("ÉTÉ".as_bytes(), "été".as_bytes()));
        assert!(Fold::Unicode.eq(b"ABC", b"abc"));
        assert!(!Fold::None.eq(b"ABC", b"abc"));
        assert!(matches!(Fold::Unicode.fold(b"abc"), Cow::Borrowed(_)));
    }
}
