//! Typed errors.

use crate::lines::is_space;
use crate::record::scan_key;

/// Why an edit was refused. The table is unchanged when an edit returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// An empty key.
    #[error("empty key")]
    EmptyKey,
    /// An empty value (write an opt-out with `opt_out` instead).
    #[error("empty value: Postfix ignores a key without a value; use opt_out for a key-only line")]
    EmptyValue,
    /// LF, CR or NUL: a table line cannot hold them.
    #[error("{what} contains {byte} at byte {at}, which a table line cannot hold")]
    ForbiddenByte {
        /// `"key"` or `"value"`.
        what: &'static str,
        /// The byte, named (`LF`, `CR`, `NUL`).
        byte: &'static str,
        /// Offset in the key or value.
        at: usize,
    },
    /// A key starting with `#` would be read as a comment.
    #[error("key starts with '#', which Postfix reads as a comment line")]
    KeyStartsWithHash,
    /// Whitespace in a key outside quotes and not escaped with `\`.
    #[error("key contains unquoted whitespace at byte {at}; Postfix would end the key there")]
    KeyWhitespace {
        /// Offset of the whitespace byte.
        at: usize,
    },
    /// A `"` left open in the key.
    #[error("key has an unbalanced '\"'; Postfix would ignore the line")]
    KeyUnbalancedQuote,
    /// A key ending in a lone `\` would escape the separator.
    #[error("key ends with '\\', which would escape the separator")]
    KeyTrailingBackslash,
    /// Leading or trailing whitespace in a value is trimmed by Postfix.
    #[error("value has leading or trailing whitespace, which Postfix trims")]
    ValueWhitespace,
    /// Not valid UTF-8 while `smtputf8_enable = yes`: Postfix would ignore the line.
    #[error("{what} is not valid UTF-8; Postfix ignores such lines while smtputf8_enable = yes")]
    NonUtf8 {
        /// `"key"` or `"value"`.
        what: &'static str,
    },
}

/// Why a lookup key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Not valid UTF-8 while `smtputf8_enable = yes`.
    #[error("non-UTF-8 key: malformed UTF-8 or invalid codepoint")]
    NonUtf8Key {
        /// The key.
        key: Vec<u8>,
    },
    /// A NUL byte in the key. Postfix reads keys as C strings and would
    /// silently look up only the part before it; pattern tables refuse it.
    #[error("key contains a NUL byte at byte {at}")]
    NulInKey {
        /// Offset of the NUL.
        at: usize,
    },
    /// A pattern table produced a result that is not valid UTF-8 while
    /// `smtputf8_enable = yes`: Postfix reports a query error.
    #[error("non-UTF-8 value: malformed UTF-8 or invalid codepoint")]
    NonUtf8Value {
        /// The result.
        value: Vec<u8>,
    },
    /// This build has no engine for the table's kind (enable the `regexp`
    /// or `pcre` feature).
    #[error("no {kind} engine in this build")]
    EngineUnavailable {
        /// `"regexp"` or `"pcre"`.
        kind: &'static str,
    },
}

fn forbidden(what: &'static str, s: &[u8]) -> Result<(), EditError> {
    if let Some(at) = s.iter().position(|&b| matches!(b, b'\n' | b'\r' | 0)) {
        let byte = match s.get(at) {
            Some(b'\n') => "LF",
            Some(b'\r') => "CR",
            _ => "NUL",
        };
        return Err(EditError::ForbiddenByte { what, byte, at });
    }
    Ok(())
}

pub(crate) fn validate_key(key: &[u8], utf8: bool) -> Result<(), EditError> {
    if key.is_empty() {
        return Err(EditError::EmptyKey);
    }
    forbidden("key", key)?;
    if key.first() == Some(&b'#') {
        return Err(EditError::KeyStartsWithHash);
    }
    if utf8 && std::str::from_utf8(key).is_err() {
        return Err(EditError::NonUtf8 { what: "key" });
    }
    let (end, balanced) = scan_key(key);
    if !balanced {
        return Err(EditError::KeyUnbalancedQuote);
    }
    if end < key.len() {
        return Err(EditError::KeyWhitespace { at: end });
    }
    // A final backslash that is not itself escaped would swallow the separator.
    let trailing = key.iter().rev().take_while(|&&b| b == b'\\').count();
    if trailing % 2 == 1 {
        return Err(EditError::KeyTrailingBackslash);
    }
    Ok(())
}

pub(crate) fn validate_value(value: &[u8], utf8: bool) -> Result<(), EditError> {
    if value.is_empty() {
        return Err(EditError::EmptyValue);
    }
    forbidden("value", value)?;
    if value.first().is_some_and(|&b| is_space(b)) || value.last().is_some_and(|&b| is_space(b)) {
        return Err(EditError::ValueWhitespace);
    }
    if utf8 && std::str::from_utf8(value).is_err() {
        return Err(EditError::NonUtf8 { what: "value" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(validate_key(b"user@example.com", true).is_ok());
        assert!(validate_key(b"\"john doe\"@example.com", true).is_ok());
        assert!(validate_key(b"a\\ b", true).is_ok());
        assert!(validate_key(b"a\\\\", true).is_ok());
        assert_eq!(validate_key(b"", true), Err(EditError::EmptyKey));
        assert_eq!(validate_key(b"#a", true), Err(EditError::KeyStartsWithHash));
        assert_eq!(
            validate_key(b"a b", true),
            Err(EditError::KeyWhitespace { at: 1 })
        );
        assert_eq!(
            validate_key(b"a\tb", true),
            Err(EditError::KeyWhitespace { at: 1 })
        );
        assert_eq!(
            validate_key(b"\"a", true),
            Err(EditError::KeyUnbalancedQuote)
        );
        assert_eq!(
            validate_key(b"a\\", true),
            Err(EditError::KeyTrailingBackslash)
        );
        assert!(matches!(
            validate_key(b"a\nb", true),
            Err(EditError::ForbiddenByte {
                byte: "LF",
                at: 1,
                ..
            })
        ));
        assert!(matches!(
            validate_key(b"a\rb", true),
            Err(EditError::ForbiddenByte { byte: "CR", .. })
        ));
        assert!(matches!(
            validate_key(b"a\0b", true),
            Err(EditError::ForbiddenByte { byte: "NUL", .. })
        ));
        assert_eq!(
            validate_key(b"caf\xe9", true),
            Err(EditError::NonUtf8 { what: "key" })
        );
        assert!(validate_key(b"caf\xe9", false).is_ok());
    }

    #[test]
    fn values() {
        assert!(validate_value(b"user:pa ss", true).is_ok());
        assert!(validate_value(b"#x", true).is_ok());
        assert_eq!(validate_value(b"", true), Err(EditError::EmptyValue));
        assert_eq!(validate_value(b" x", true), Err(EditError::ValueWhitespace));
        assert_eq!(
            validate_value(b"x\x0b", true),
            Err(EditError::ValueWhitespace)
        );
        assert!(validate_value(b"a\nb", true).is_err());
    }
}
