//! Lookups in (and edits of) the tables that live in the reference itself:
//! `inline:{ key=value, { key = value } }` and `static:value`, with the
//! answers and warnings of Postfix 3.7 (`dict_inline_open()`,
//! `dict_static_open()`, and `postmap`'s checks of what a lookup returns).
//!
//! ```
//! use postfix_table::inline::Lookup;
//! use postfix_table::spec::TableRef;
//!
//! let t: TableRef = "inline:{ key=first, KEY=second, { other = a b, c } }".parse().unwrap();
//! assert_eq!(t.lookup("Key").unwrap(), Lookup::Found("second"));     // folded, last wins
//! assert_eq!(t.lookup("other").unwrap().value(), Some("a b, c"));
//! assert_eq!(t.lookup("absent").unwrap(), Lookup::NotFound);
//!
//! let s: TableRef = "static:{ relay:[smtp.example.com]:587 }".parse().unwrap();
//! assert_eq!(s.lookup("anything").unwrap().value(), Some("relay:[smtp.example.com]:587"));
//!
//! // What postmap prints for an empty result, byte for byte.
//! let e: TableRef = "inline:{ { key = } }".parse().unwrap();
//! let answer = e.lookup("key").unwrap();
//! assert_eq!(answer, Lookup::Found(""));
//! assert_eq!(
//!     answer.postmap_warnings(&e, b"key", true),
//!     [
//!         &b"table inline:{ { key = } }: key key: empty string result is not allowed"[..],
//!         b"table inline:{ { key = } } should return NO RESULT in case of NOT FOUND",
//!     ]
//! );
//! ```
//!
//! # How Postfix reads them
//!
//! * `inline:{…}`: the text inside the outer braces is split like every
//!   Postfix list (`,` and whitespace, except inside `{ }`). A `{ … }` item
//!   loses its braces and the whitespace just inside them; then each item
//!   is split at the first `=` after the key (`split_qnameval()`): outside a
//!   `{ }` item no whitespace may surround the `=` (the list is already
//!   split there), inside one it is dropped, and the value may contain
//!   spaces, commas and further `=`. `=x` defines the empty key; `{ k = }`
//!   gives `k` an empty value. Quotes do not protect anything outside braces
//!   (`inline:{ "a b"=1 }` is fatal) and stay part of the key inside them.
//! * Keys are folded like hash tables' keys ([`Fold`], per
//!   [`Options::effective_fold`]); a later duplicate silently replaces an
//!   earlier one (the opposite of `texthash:`).
//! * `static:text` returns `text` for every key; `static:{ text }` trims
//!   the whitespace inside the braces. `static:` alone is fatal.
//! * With `smtputf8_enable = yes` ([`Options::utf8`]) a query that is not
//!   UTF-8 is refused with a warning and not found.
//! * An empty result is returned, but `postmap` warns, and the daemons treat
//!   it as a configuration error (`… lookup of KEY returns an empty string
//!   result`): the lookup fails, it is not "not found".
//!
//! In main.cf the value is `$`-expanded before the table is opened, so
//! give [`TableRef::lookup`] the expanded text (`pa$$word` in main.cf is
//! `pa$word` here); `postfix_maincf::typed` does that for main.cf values.
//!
//! # Edits
//!
//! [`TableRef::set_inline`] and [`TableRef::remove_inline`] change one key
//! of an `inline:{…}` reference and leave every other byte as written. A new
//! entry is written `key=value` when that reads back unchanged, else
//! `{ key = value }`; keys and values that no spelling can carry are
//! refused ([`InlineEditError`]), and every edit is checked by parsing the
//! result again. This level knows nothing of `$`: in main.cf a `$` must be
//! written `$$`, which `postfix_maincf::typed::set_inline_entry` does.

use std::borrow::Cow;
use std::fmt;

use crate::lines::{c_string, is_space, printable};
use crate::spec::{SpecError, TableRef, tokens};
use crate::{Fold, Options};

/// The answer of one lookup in an `inline:` or `static:` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The key is in the table. The value may be empty, which Postfix
    /// reports ([`Lookup::postmap_warnings`]) and its daemons treat as a
    /// lookup error.
    Found(&'a str),
    /// The key is not in the table.
    NotFound,
    /// With `smtputf8_enable = yes`, the query is not UTF-8: Postfix warns
    /// and answers "not found".
    NonUtf8Key,
}

impl<'a> Lookup<'a> {
    /// The value, for [`Lookup::Found`].
    pub fn value(self) -> Option<&'a str> {
        match self {
            Lookup::Found(v) => Some(v),
            _ => None,
        }
    }

    /// The warnings `postmap -q` prints for this answer (each without the
    /// `postmap: warning: ` prefix), in Postfix's words: the two lines about
    /// an empty result, or the one about a non-UTF-8 query. `key` is the
    /// query as given; `utf8` is `smtputf8_enable` (it decides how Postfix's
    /// log shows non-printable bytes).
    ///
    /// ```
    /// use postfix_table::spec::TableRef;
    /// let t: TableRef = "inline:{ a=1 }".parse().unwrap();
    /// let answer = t.lookup(b"x\xffy").unwrap();
    /// assert_eq!(
    ///     answer.postmap_warnings(&t, b"x\xffy", true),
    ///     [&b"inline:{ a=1 }: non-UTF-8 key \"x?y\": malformed UTF-8 or invalid codepoint"[..]]
    /// );
    /// ```
    pub fn postmap_warnings(&self, table: &TableRef, key: &[u8], utf8: bool) -> Vec<Vec<u8>> {
        let spec = printable(table.as_str().as_bytes(), utf8);
        let key = printable(c_string(key), utf8);
        match self {
            Lookup::Found("") => empty_result(&spec, &key),
            Lookup::Found(_) | Lookup::NotFound => Vec::new(),
            Lookup::NonUtf8Key => vec![
                [
                    &spec[..],
                    b": non-UTF-8 key \"",
                    &key,
                    b"\": malformed UTF-8 or invalid codepoint",
                ]
                .concat(),
            ],
        }
    }
}

fn empty_result(spec: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
    vec![
        [
            b"table ",
            spec,
            b": key ",
            key,
            b": empty string result is not allowed",
        ]
        .concat(),
        [
            b"table ",
            spec,
            b" should return NO RESULT in case of NOT FOUND",
        ]
        .concat(),
    ]
}

/// One entry of an `inline:` table as `postmap -s` lists it
/// ([`TableRef::inline_dump`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpEntry<'a> {
    /// The key as stored: folded.
    pub key: Cow<'a, [u8]>,
    /// The value of the last entry with this key.
    pub value: &'a str,
}

impl DumpEntry<'_> {
    /// The warnings `postmap -s` prints before this entry (an empty key, an
    /// empty value), in Postfix's words, without the `postmap: warning: `
    /// prefix. postmap lists the entry anyway.
    pub fn postmap_warnings(&self, table: &TableRef, utf8: bool) -> Vec<Vec<u8>> {
        let spec = printable(table.as_str().as_bytes(), utf8);
        if self.key.is_empty() {
            vec![
                [
                    b"table ",
                    &spec[..],
                    b": empty lookup key value is not allowed",
                ]
                .concat(),
            ]
        } else if self.value.is_empty() {
            empty_result(&spec, &printable(&self.key, utf8))
        } else {
            Vec::new()
        }
    }
}

/// Why a reference cannot answer a lookup by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// Not `inline:` or `static:`: the data is in a file, a database or a
    /// server.
    NotInMemory {
        /// The reference.
        spec: String,
    },
    /// `postmap -s` on a table that cannot be listed (`static:`). `Display`
    /// gives Postfix's fatal message.
    SequenceNotSupported {
        /// The reference.
        spec: String,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotInMemory { spec } => write!(
                f,
                "table {spec}: not an in-line table (inline: or static:); its data is elsewhere"
            ),
            LookupError::SequenceNotSupported { spec } => {
                write!(f, "table {spec}: sequence operation is not supported")
            }
        }
    }
}

impl std::error::Error for LookupError {}

/// Why [`TableRef::set_inline`] or [`TableRef::remove_inline`] refused an
/// edit. The reference is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InlineEditError {
    /// The reference is not `inline:{…}`.
    NotInline,
    /// The key is empty: Postfix's daemons never look up an empty key.
    EmptyKey,
    /// The value is empty: Postfix treats an empty result as an error.
    EmptyValue,
    /// The key contains a byte that ends or changes a key in either
    /// spelling: whitespace, `=`, `,`, `"`, `\`, `{`, `}`, or a control
    /// byte.
    BadKeyByte {
        /// The byte.
        byte: u8,
    },
    /// The value has a control byte (CR, LF, NUL, …), leading or trailing
    /// whitespace (Postfix trims it), or braces that do not balance.
    BadValue {
        /// What is wrong.
        reason: &'static str,
    },
    /// Removing the only entry: `inline:{}` is fatal in Postfix.
    WouldBeEmpty,
    /// The edited text did not read back as intended (a guard; the checks
    /// above should catch every case).
    NotRepresentable,
}

impl fmt::Display for InlineEditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InlineEditError::NotInline => f.write_str("not an inline:{...} table"),
            InlineEditError::EmptyKey => f.write_str("empty key: Postfix never looks it up"),
            InlineEditError::EmptyValue => {
                f.write_str("empty value: Postfix treats an empty result as an error")
            }
            InlineEditError::BadKeyByte { byte } => write!(
                f,
                "byte {:?} cannot be part of an inline:{{...}} key",
                char::from(*byte)
            ),
            InlineEditError::BadValue { reason } => {
                write!(f, "value cannot be written in inline:{{...}}: {reason}")
            }
            InlineEditError::WouldBeEmpty => {
                f.write_str("removing the only entry would leave an empty inline:{} table")
            }
            InlineEditError::NotRepresentable => {
                f.write_str("the entry does not read back unchanged in inline:{...}")
            }
        }
    }
}

impl std::error::Error for InlineEditError {}

impl TableRef {
    /// Looks `key` up as Postfix would with its default settings
    /// (`smtputf8_enable = yes`, keys folded): see [`TableRef::lookup_with`].
    pub fn lookup(&self, key: impl AsRef<[u8]>) -> Result<Lookup<'_>, LookupError> {
        self.lookup_with(key, Options::default())
    }

    /// Looks `key` up in an `inline:{…}` or `static:…` table, as `postmap
    /// -q KEY` does with `options` (folding: [`Options::effective_fold`];
    /// [`Options::utf8`] is `smtputf8_enable`; duplicates are always
    /// last-wins here, whatever [`Options::duplicates`] says). As in C, the
    /// key ends at a NUL byte. Other table types give
    /// [`LookupError::NotInMemory`].
    ///
    /// ```
    /// use postfix_table::{Fold, Options};
    /// use postfix_table::inline::Lookup;
    /// use postfix_table::spec::TableRef;
    ///
    /// let t: TableRef = "inline:{ Straße=1 }".parse().unwrap();
    /// assert_eq!(t.lookup("STRASSE").unwrap(), Lookup::Found("1"));
    /// let exact = Options { fold: Fold::None, ..Options::default() };   // postmap -f
    /// assert_eq!(t.lookup_with("strasse", exact).unwrap(), Lookup::NotFound);
    /// assert!(TableRef::parse("hash:/etc/postfix/x").unwrap().lookup("a").is_err());
    /// ```
    pub fn lookup_with(
        &self,
        key: impl AsRef<[u8]>,
        options: Options,
    ) -> Result<Lookup<'_>, LookupError> {
        let key = c_string(key.as_ref());
        let in_memory = self.kind() == "inline" || self.kind() == "static";
        if !in_memory {
            return Err(LookupError::NotInMemory {
                spec: self.as_str().to_owned(),
            });
        }
        if options.utf8 && std::str::from_utf8(key).is_err() {
            return Ok(Lookup::NonUtf8Key);
        }
        if let Some(v) = self.static_value() {
            return Ok(Lookup::Found(v));
        }
        let fold = options.effective_fold();
        Ok(self
            .inline_entries()
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|(k, _)| fold.eq(k.as_bytes(), key))
            .map_or(Lookup::NotFound, |(_, v)| Lookup::Found(v)))
    }

    /// What `postmap -s` lists for an `inline:{…}` table: one entry per
    /// distinct folded key, with the value of its last definition, in the
    /// order of the keys' first appearance (Postfix lists them in the order
    /// of a randomly seeded hash table, which differs from run to run).
    /// `static:` cannot be listed ([`LookupError::SequenceNotSupported`],
    /// Postfix's fatal error); other types are not in memory.
    ///
    /// ```
    /// use postfix_table::Options;
    /// use postfix_table::spec::TableRef;
    /// let t: TableRef = "inline:{ a=1, B=2, A=3 }".parse().unwrap();
    /// let d = t.inline_dump(Options::default()).unwrap();
    /// assert_eq!(d.iter().map(|e| (&e.key[..], e.value)).collect::<Vec<_>>(), [(&b"a"[..], "3"), (b"b", "2")]);
    /// let s: TableRef = "static:x".parse().unwrap();
    /// assert_eq!(
    ///     s.inline_dump(Options::default()).unwrap_err().to_string(),
    ///     "table static:x: sequence operation is not supported"
    /// );
    /// ```
    pub fn inline_dump(&self, options: Options) -> Result<Vec<DumpEntry<'_>>, LookupError> {
        let Some(entries) = self.inline_entries() else {
            return Err(if self.kind() == "static" {
                LookupError::SequenceNotSupported {
                    spec: self.as_str().to_owned(),
                }
            } else {
                LookupError::NotInMemory {
                    spec: self.as_str().to_owned(),
                }
            });
        };
        let fold = options.effective_fold();
        let mut out: Vec<DumpEntry<'_>> = Vec::new();
        let mut index: std::collections::HashMap<Cow<'_, [u8]>, usize> =
            std::collections::HashMap::new();
        for (k, v) in entries {
            let key = fold.fold(k.as_bytes());
            match index.get(&key) {
                Some(&i) => {
                    if let Some(e) = out.get_mut(i) {
                        e.value = v;
                    }
                }
                None => {
                    index.insert(key.clone(), out.len());
                    out.push(DumpEntry { key, value: v });
                }
            }
        }
        Ok(out)
    }

    /// Sets `key` to `value` in an `inline:{…}` reference, keeping every
    /// other byte as written: the last entry with this key (folded as with
    /// `smtputf8_enable = yes`) is rewritten in place and earlier duplicates
    /// are removed with the separator before them; a new key is appended
    /// after the last entry. The new entry is written `key=value` when that
    /// spelling reads back unchanged, else `{ key = value }` (a value with
    /// spaces, commas, `=`, quotes or balanced braces).
    ///
    /// Refused ([`InlineEditError`], nothing changed): an empty key or
    /// value, a key with whitespace, `=`, `,`, `"`, `\`, `{`, `}` or a
    /// control byte, a value with a control byte (CR, LF, TAB, NUL, …),
    /// surrounding whitespace or unbalanced braces. `$` is an ordinary byte
    /// here; in main.cf it must be written `$$`.
    ///
    /// ```
    /// use postfix_table::spec::TableRef;
    /// let mut t: TableRef = "inline:{ [a]:587=u:p, {b = x y} }".parse().unwrap();
    /// t.set_inline("[A]:587", "u2:p2").unwrap();
    /// t.set_inline("c", "with space, comma").unwrap();
    /// assert_eq!(t.as_str(), "inline:{ [A]:587=u2:p2, {b = x y}, { c = with space, comma } }");
    /// assert!(t.set_inline("bad key", "v").is_err());
    /// assert!(t.set_inline("k", "line\nbreak").is_err());
    /// ```
    pub fn set_inline(&mut self, key: &str, value: &str) -> Result<(), InlineEditError> {
        let entries = self.inline_entries().ok_or(InlineEditError::NotInline)?;
        check_key(key)?;
        check_value(value)?;
        let item = entry_text(key, value);
        let spans = self.item_spans();
        let matching: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| Fold::Unicode.eq(k.as_bytes(), key.as_bytes()))
            .map(|(i, _)| i)
            .collect();
        let text = self.as_str();
        let out = match matching.split_last() {
            Some((&last, earlier)) => {
                let drop: Vec<bool> = (0..spans.len()).map(|i| earlier.contains(&i)).collect();
                splice(text, &spans, &drop, Some((last, &item)))
            }
            None => {
                let end = spans.last().map_or(0, |s| s.1);
                let (head, tail) = text.split_at(end.min(text.len()));
                format!("{head}, {item}{tail}")
            }
        };
        let want = entries.len() + 1 - matching.len().min(1) * matching.len();
        let new = TableRef::parse(&out).map_err(|_| InlineEditError::NotRepresentable)?;
        if new.lookup(key).ok().and_then(Lookup::value) != Some(value)
            || new.inline_entries().map(<[_]>::len) != Some(want)
        {
            return Err(InlineEditError::NotRepresentable);
        }
        *self = new;
        Ok(())
    }

    /// Removes every entry of `key` (folded as with `smtputf8_enable =
    /// yes`) from an `inline:{…}` reference with the separator before it,
    /// keeping the other bytes. Returns how many entries went; removing the
    /// only remaining entries is refused ([`InlineEditError::WouldBeEmpty`]),
    /// as Postfix refuses an empty inline table.
    ///
    /// ```
    /// use postfix_table::spec::TableRef;
    /// let mut t: TableRef = "inline:{ a=1, { b = 2 }, A=3 }".parse().unwrap();
    /// assert_eq!(t.remove_inline("a"), Ok(2));
    /// assert_eq!(t.as_str(), "inline:{ { b = 2 } }");
    /// assert_eq!(t.remove_inline("zz"), Ok(0));
    /// assert!(t.remove_inline("b").is_err());
    /// ```
    pub fn remove_inline(&mut self, key: &str) -> Result<usize, InlineEditError> {
        let entries = self.inline_entries().ok_or(InlineEditError::NotInline)?;
        let gone: Vec<bool> = entries
            .iter()
            .map(|(k, _)| Fold::Unicode.eq(k.as_bytes(), key.as_bytes()))
            .collect();
        let n = gone.iter().filter(|&&g| g).count();
        if n == 0 {
            return Ok(0);
        }
        if n == entries.len() {
            return Err(InlineEditError::WouldBeEmpty);
        }
        let out = splice(self.as_str(), &self.item_spans(), &gone, None);
        let new = TableRef::parse(&out).map_err(|_| InlineEditError::NotRepresentable)?;
        if new.inline_entries().map(<[_]>::len) != Some(entries.len() - n) {
            return Err(InlineEditError::NotRepresentable);
        }
        *self = new;
        Ok(n)
    }

    /// Byte ranges (in [`TableRef::as_str`]) of the items of an
    /// `inline:{…}` reference, in order.
    fn item_spans(&self) -> Vec<(usize, usize)> {
        let text = self.as_str().as_bytes();
        let Some(open) = text.iter().position(|&b| b == b'{') else {
            return Vec::new();
        };
        let inner = text
            .get(open + 1..text.len().saturating_sub(1))
            .unwrap_or_default();
        let base = inner.as_ptr() as usize;
        tokens(inner)
            .map(|t| {
                let start = t.as_ptr() as usize - base + open + 1;
                (start, start + t.len())
            })
            .collect()
    }
}

/// `text` without the items marked in `drop` (each with the separators
/// before it, or after it when no kept item precedes it), and with item
/// `replace.0` replaced by `replace.1`.
fn splice(
    text: &str,
    spans: &[(usize, usize)],
    drop: &[bool],
    replace: Option<(usize, &str)>,
) -> String {
    let first_kept = drop.iter().position(|d| !d).unwrap_or(spans.len());
    let mut out = String::with_capacity(text.len() + replace.map_or(0, |r| r.1.len()));
    let mut pos = 0;
    for (i, &(start, end)) in spans.iter().enumerate() {
        if drop.get(i).copied().unwrap_or_default() {
            let (cut_start, cut_end) = if i < first_kept {
                (start, spans.get(i + 1).map_or(end, |s| s.0))
            } else {
                let prev_end = spans.get(i.wrapping_sub(1)).map_or(0, |s| s.1);
                (sep_start(text, start, prev_end), end)
            };
            out.push_str(text.get(pos..cut_start.max(pos)).unwrap_or_default());
            pos = cut_end.max(pos);
        } else if let Some((_, new)) = replace.filter(|r| r.0 == i) {
            out.push_str(text.get(pos..start.max(pos)).unwrap_or_default());
            out.push_str(new);
            pos = end.max(pos);
        }
    }
    out.push_str(text.get(pos..).unwrap_or_default());
    out
}

/// Where the separator run before the item at `start` begins (not before
/// `prev_end`, the end of the previous item).
fn sep_start(text: &str, start: usize, prev_end: usize) -> usize {
    let b = text.as_bytes();
    let mut i = start;
    while i > prev_end
        && b.get(i - 1)
            .is_some_and(|&c| crate::spec::is_list_separator(c))
    {
        i -= 1;
    }
    i
}

fn check_key(key: &str) -> Result<(), InlineEditError> {
    if key.is_empty() {
        return Err(InlineEditError::EmptyKey);
    }
    match key
        .bytes()
        .find(|&b| is_space(b) || b < 0x20 || b == 0x7f || b"=,\"\\{}".contains(&b))
    {
        Some(byte) => Err(InlineEditError::BadKeyByte { byte }),
        None => Ok(()),
    }
}

fn check_value(value: &str) -> Result<(), InlineEditError> {
    let bad = |reason| Err(InlineEditError::BadValue { reason });
    if value.is_empty() {
        return Err(InlineEditError::EmptyValue);
    }
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return bad("control byte (CR, LF, TAB, NUL, ...)");
    }
    let b = value.as_bytes();
    if b.first().is_some_and(|&c| is_space(c)) || b.last().is_some_and(|&c| is_space(c)) {
        return bad("leading or trailing whitespace");
    }
    let mut level = 0usize;
    for &c in b {
        match c {
            b'{' => level += 1,
            b'}' => match level.checked_sub(1) {
                Some(l) => level = l,
                None => return bad("unbalanced braces"),
            },
            _ => {}
        }
    }
    if level != 0 {
        return bad("unbalanced braces");
    }
    Ok(())
}

/// `key=value` when it reads back as such, else `{ key = value }`.
fn entry_text(key: &str, value: &str) -> String {
    let short = format!("{key}={value}");
    let plain = value
        .bytes()
        .all(|b| !crate::spec::is_list_separator(b) && !b"{}\"".contains(&b));
    if plain {
        short
    } else {
        format!("{{ {key} = {value} }}")
    }
}

/// The Postfix message for an `inline:` reference that is not UTF-8 while
/// `smtputf8_enable = yes` (`dict_inline_open()` checks that first).
pub(crate) fn inline_not_utf8(spec: &[u8]) -> SpecError {
    SpecError::InlineNotUtf8 {
        spec: crate::lines::printable_lossy(spec, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TableRef {
        TableRef::parse(s).unwrap()
    }

    #[test]
    fn set_replaces_last_and_drops_earlier_duplicates() {
        let mut r = t("inline:{ a=1, b=2, A=3 }");
        r.set_inline("a", "9").unwrap();
        assert_eq!(r.as_str(), "inline:{ b=2, a=9 }");
        let mut r = t("inline:{a=1,b=2}");
        r.set_inline("b", "{x} y").unwrap();
        assert_eq!(r.as_str(), "inline:{a=1,{ b = {x} y }}");
        let mut r = t("inline:{a=1}");
        r.set_inline("b", "2").unwrap();
        assert_eq!(r.as_str(), "inline:{a=1, b=2}");
        let mut r = t("inline:{ a=1 , a=2 ,b=3 }");
        r.set_inline("A", "x").unwrap();
        assert_eq!(r.as_str(), "inline:{ A=x ,b=3 }");
    }

    #[test]
    fn refused_edits() {
        let mut r = t("inline:{ a=1 }");
        for (k, v) in [
            ("", "v"),
            ("k", ""),
            ("a b", "v"),
            ("a=b", "v"),
            ("a,b", "v"),
            ("\"a\"", "v"),
            ("{a}", "v"),
            ("k", " v"),
            ("k", "v "),
            ("k", "a\nb"),
            ("k", "a\tb"),
            ("k", "{"),
            ("k", "}{"),
        ] {
            assert!(r.set_inline(k, v).is_err(), "{k:?} {v:?}");
        }
        assert_eq!(r.as_str(), "inline:{ a=1 }");
        assert!(t("static:x").set_inline("a", "b").is_err());
    }

    #[test]
    fn remove_keeps_separators_tidy() {
        let mut r = t("inline:{ a=1, b=2, c=3 }");
        assert_eq!(r.remove_inline("b"), Ok(1));
        assert_eq!(r.as_str(), "inline:{ a=1, c=3 }");
        assert_eq!(r.remove_inline("a"), Ok(1));
        assert_eq!(r.as_str(), "inline:{ c=3 }");
        let mut r = t("inline:{a=1,{ b = 2 },a=3}");
        assert_eq!(r.remove_inline("A"), Ok(2));
        assert_eq!(r.as_str(), "inline:{{ b = 2 }}");
    }

    #[test]
    fn dump_and_warnings() {
        let r = t("inline:{ =x, {k = }, K=v }");
        let d = r.inline_dump(Options::default()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0].postmap_warnings(&r, true),
            [b"table inline:{ =x, {k = }, K=v }: empty lookup key value is not allowed".to_vec()]
        );
        assert!(d[1].postmap_warnings(&r, true).is_empty());
        assert_eq!(r.lookup("").unwrap(), Lookup::Found("x"));
    }
}
