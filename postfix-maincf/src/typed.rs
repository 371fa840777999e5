//! Typed readings of main.cf values, with the rules of the Postfix 3.7
//! daemons (`global/mail_conf_*.c`, `util/mystrtok.c`, `global/maps.c`).
//!
//! Every function takes a value **after** `$name` expansion, as Postfix
//! converts the expanded text (`mail_conf_lookup_eval()`); give them the
//! raw value ([`crate::MainCf::get`]) only when it has no `$`. Like Postfix,
//! which handles values as C strings, they ignore everything from a NUL
//! byte on.
//!
//! ```
//! use postfix_maincf::typed::{parse_bool, parse_time, split_list, TimeUnit};
//!
//! assert_eq!(parse_bool(b"YES"), Ok(true));
//! assert_eq!(
//!     parse_bool(b"true").unwrap_err().postfix_message("smtp_tls_note_starttls_offer"),
//!     "bad boolean configuration: smtp_tls_note_starttls_offer = true"
//! );
//! assert_eq!(parse_time(b"1h", TimeUnit::Seconds), Ok(3600));
//! assert_eq!(parse_time(b"30", TimeUnit::Days), Ok(30 * 86400));
//! assert_eq!(split_list(b"a, b { c d },e"), [&b"a"[..], b"b", b"{ c d }", b"e"]);
//! ```

use std::fmt;

use postfix_table::lines::{c_string, is_space, printable_lossy};
use postfix_table::spec::{self, BraceError, SpecError, TableRef};

/// Why a value does not convert. [`TypedError::postfix_message`] gives the
/// fatal error a Postfix daemon (or `postmap`, `sendmail`, …) dies with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypedError {
    /// Not `yes` or `no` (any case).
    BadBool {
        /// The value.
        value: Vec<u8>,
    },
    /// Not a decimal number in range.
    BadNumber {
        /// The value.
        value: Vec<u8>,
    },
    /// Not a time: a number, then optionally one unit letter.
    BadTime {
        /// The value.
        value: Vec<u8>,
    },
    /// A bad `{ … }` group ([`split_list_unbraced`]).
    Braces(BraceError),
    /// A bad table reference ([`parse_table_refs`]).
    Table(SpecError),
}

impl TypedError {
    /// The fatal message Postfix prints (after `fatal: `) when parameter
    /// `name` has this problem, e.g. `bad boolean configuration: name =
    /// value` (`get_mail_conf_bool()`), `bad numerical configuration: name =
    /// value` (`get_mail_conf_int()`/`_long()`), `parameter name: bad time
    /// value or unit: value` (`get_mail_conf_time()`); for tables, what
    /// opening the table says. Non-printable bytes become `?` as in Postfix's
    /// logging.
    pub fn postfix_message(&self, name: &str) -> String {
        let p = |v: &[u8]| printable_lossy(v, true);
        match self {
            TypedError::BadBool { value } => {
                format!("bad boolean configuration: {name} = {}", p(value))
            }
            TypedError::BadNumber { value } => {
                format!("bad numerical configuration: {name} = {}", p(value))
            }
            TypedError::BadTime { value } => {
                format!("parameter {name}: bad time value or unit: {}", p(value))
            }
            TypedError::Braces(e) => p(e.to_string().as_bytes()),
            TypedError::Table(e) => p(e.to_string().as_bytes()),
        }
    }
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = |v: &[u8]| printable_lossy(v, true);
        match self {
            TypedError::BadBool { value } => {
                write!(
                    f,
                    "bad boolean configuration: {} (need yes or no)",
                    p(value)
                )
            }
            TypedError::BadNumber { value } => {
                write!(f, "bad numerical configuration: {}", p(value))
            }
            TypedError::BadTime { value } => write!(f, "bad time value or unit: {}", p(value)),
            TypedError::Braces(e) => e.fmt(f),
            TypedError::Table(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TypedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TypedError::Braces(e) => Some(e),
            TypedError::Table(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SpecError> for TypedError {
    fn from(e: SpecError) -> Self {
        TypedError::Table(e)
    }
}

impl From<BraceError> for TypedError {
    fn from(e: BraceError) -> Self {
        TypedError::Braces(e)
    }
}

/// A boolean parameter, as `get_mail_conf_bool()` (`global/mail_conf_bool.c`)
/// converts it: exactly `yes` or `no`, compared ASCII case-insensitively
/// (`strcasecmp`); nothing else — not `true`, `1`, `on`, not even the empty
/// value — and no whitespace trimming beyond what main.cf parsing already
/// did. Daemons die on anything else
/// ([`TypedError::postfix_message`]).
///
/// ```
/// use postfix_maincf::typed::parse_bool;
/// assert_eq!(parse_bool(b"No"), Ok(false));
/// assert!(parse_bool(b"1").is_err());
/// assert!(parse_bool(b"").is_err());
/// ```
pub fn parse_bool(value: &[u8]) -> Result<bool, TypedError> {
    let v = c_string(value);
    if v.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err(TypedError::BadBool { value: v.to_vec() })
    }
}

/// C's `strtol(s, &end, 10)` on a 64-bit `long`: `(value, end, overflow)`.
/// Leading C whitespace and one sign are accepted; without any digit, `end`
/// is 0 (nothing consumed, not even the whitespace).
fn strtol(s: &[u8]) -> (i64, usize, bool) {
    let mut i = s.iter().position(|&b| !is_space(b)).unwrap_or(s.len());
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return (0, 0, false);
    }
    // Accumulate as a negative number so that i64::MIN fits.
    let mut acc: i64 = 0;
    let mut overflow = false;
    for &d in s.get(i..i + digits).unwrap_or_default() {
        let d = i64::from(d - b'0');
        match acc.checked_mul(10).and_then(|a| a.checked_sub(d)) {
            Some(a) => acc = a,
            None => overflow = true,
        }
        if overflow {
            break;
        }
    }
    let value = if overflow {
        if negative { i64::MIN } else { i64::MAX }
    } else if negative {
        acc
    } else {
        match acc.checked_neg() {
            Some(v) => v,
            None => {
                overflow = true;
                i64::MAX
            }
        }
    };
    (value, i + digits, overflow)
}

/// An `int` parameter, as `get_mail_conf_int()` (`global/mail_conf_int.c`)
/// converts it: `strtol()` base 10 — optional leading C whitespace, an
/// optional `+`/`-`, decimal digits and nothing after them (no `0x`, no
/// unit, no trailing space), in the range of a C `int`. Per-parameter
/// minimum and maximum checks are not applied here.
///
/// ```
/// use postfix_maincf::typed::parse_int;
/// assert_eq!(parse_int(b"+25"), Ok(25));
/// assert!(parse_int(b"0x10").is_err());
/// assert!(parse_int(b"3000000000").is_err());
/// ```
pub fn parse_int(value: &[u8]) -> Result<i32, TypedError> {
    let v = c_string(value);
    let bad = || TypedError::BadNumber { value: v.to_vec() };
    let n = parse_long(v).map_err(|_| bad())?;
    i32::try_from(n).map_err(|_| bad())
}

/// A `long` parameter (`message_size_limit`, `mailbox_size_limit`, …), as
/// `get_mail_conf_long()` (`global/mail_conf_long.c`) converts it: like
/// [`parse_int`] with the range of a 64-bit `long`. Postfix 3.7 has no size
/// suffixes (`10M` is an error).
pub fn parse_long(value: &[u8]) -> Result<i64, TypedError> {
    let v = c_string(value);
    let (n, end, overflow) = strtol(v);
    if v.is_empty() || end != v.len() || overflow {
        return Err(TypedError::BadNumber { value: v.to_vec() });
    }
    Ok(n)
}

/// The unit of a time value without one; Postfix takes it from the
/// parameter's default value (`3600s` → seconds, `5d` → days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `s`.
    Seconds,
    /// `m`.
    Minutes,
    /// `h`.
    Hours,
    /// `d`.
    Days,
    /// `w`.
    Weeks,
}

impl TimeUnit {
    /// The unit letter Postfix uses.
    pub fn letter(self) -> u8 {
        match self {
            TimeUnit::Seconds => b's',
            TimeUnit::Minutes => b'm',
            TimeUnit::Hours => b'h',
            TimeUnit::Days => b'd',
            TimeUnit::Weeks => b'w',
        }
    }

    /// The unit for a letter (case-sensitive: `S` is not a unit).
    pub fn from_letter(letter: u8) -> Option<TimeUnit> {
        Some(match letter {
            b's' => TimeUnit::Seconds,
            b'm' => TimeUnit::Minutes,
            b'h' => TimeUnit::Hours,
            b'd' => TimeUnit::Days,
            b'w' => TimeUnit::Weeks,
            _ => return None,
        })
    }

    /// The default unit of a time parameter whose (expanded) default value
    /// is `default`: its first ASCII letter, as `get_def_time_unit()`
    /// (`global/mail_conf_time.c`) picks it. `None` without a letter or when
    /// the letter is not a unit.
    ///
    /// ```
    /// use postfix_maincf::typed::TimeUnit;
    /// assert_eq!(TimeUnit::from_default(b"3600s"), Some(TimeUnit::Seconds));
    /// assert_eq!(TimeUnit::from_default(b"5d"), Some(TimeUnit::Days));
    /// ```
    pub fn from_default(default: &[u8]) -> Option<TimeUnit> {
        let letter = c_string(default)
            .iter()
            .copied()
            .find(u8::is_ascii_alphabetic)?;
        TimeUnit::from_letter(letter)
    }

    /// Seconds in one unit.
    pub fn seconds(self) -> i32 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
            TimeUnit::Days => 86400,
            TimeUnit::Weeks => 604_800,
        }
    }
}

/// A time parameter, in seconds, as `get_mail_conf_time()` and
/// `conv_time()` (`global/mail_conf_time.c`, `global/conv_time.c`) convert
/// it:
///
/// * a number as `strtol()` reads it (leading C whitespace and a sign
///   allowed), in the range of a C `int` and not negative;
/// * then the unit: the byte right after the digits — `s`, `m`, `h`, `d`
///   or `w`, case-sensitive — or `default_unit` when the value ends there.
///   **Anything after the unit letter is ignored** (`1hour` is 1h, `5ms`
///   is 5 minutes), but a space before it is an error (`2 m`);
/// * a value without digits is 0 of the unit that starts it (`s` is 0
///   seconds); the empty value is an error;
/// * the result must stay below 2³¹ − 1 seconds (strictly: `3550w` fails
///   although it would fit).
///
/// Per-parameter minimum and maximum checks are not applied here.
///
/// ```
/// use postfix_maincf::typed::{parse_time, TimeUnit};
/// assert_eq!(parse_time(b"1hour", TimeUnit::Seconds), Ok(3600));
/// assert!(parse_time(b"2 m", TimeUnit::Seconds).is_err());
/// assert!(parse_time(b"100000w", TimeUnit::Seconds).is_err());
/// ```
pub fn parse_time(value: &[u8], default_unit: TimeUnit) -> Result<u32, TypedError> {
    let v = c_string(value);
    let bad = || TypedError::BadTime { value: v.to_vec() };
    let (n, end, overflow) = strtol(v);
    if v.is_empty() || overflow {
        return Err(bad());
    }
    let n = i32::try_from(n).map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    let unit = match v.get(end) {
        None => default_unit,
        Some(&b) => TimeUnit::from_letter(b).ok_or_else(bad)?,
    };
    let per = unit.seconds();
    if per > 1 && n >= i32::MAX / per {
        return Err(bad());
    }
    u32::try_from(n * per).map_err(|_| bad())
}

/// Splits a list value as Postfix does for every list parameter and map
/// list (`mystrtokq(&bp, CHARS_COMMA_SP, CHARS_BRACE)` in `util/mystrtok.c`,
/// used by `maps_create()`, `match_list_parse()`, `smtpd_check_parse()`):
///
/// * separators are `,`, space, tab, CR and LF — runs of them, so empty
///   items never appear (form feed and VT are *not* separators);
/// * a `{` opens a group that runs to its matching `}`; separators inside
///   do not split. The braces **stay in the item** (`{ a b }` is one item,
///   `x{ a }y` too) — see [`split_list_unbraced`] to remove them;
/// * a `}` with no open `{` is an ordinary byte; an unclosed `{` makes the
///   item run to the end of the value.
///
/// Only the splitting: the consumers then give some items a meaning of
/// their own — match lists (`mydestination`, `mynetworks`, …) treat a
/// leading `!` as negation, `/file` as an include and stop at an item
/// starting with `#` (with a warning); restriction lists treat `{…}` items
/// as `{ type:table, { search = … } }`.
///
/// ```
/// use postfix_maincf::typed::split_list;
/// assert_eq!(split_list(b"a {b, c d"), [&b"a"[..], b"{b, c d"]);
/// ```
pub fn split_list(value: &[u8]) -> Vec<&[u8]> {
    spec::tokens(value).collect()
}

/// [`split_list`], then each item that starts with `{` loses its outer
/// braces and the whitespace just inside them, as `extpar(…,
/// EXTPAR_FLAG_STRIP)` (`util/extpar.c`) does for the items of `inline:{…}`
/// and of `regexp:{…}`. An item with text after its closing brace
/// (`{a}b`) is an error, worded as Postfix words it.
///
/// ```
/// use postfix_maincf::typed::split_list_unbraced;
/// assert_eq!(split_list_unbraced(b"a, { b c }").unwrap(), [&b"a"[..], b"b c"]);
/// assert_eq!(
///     split_list_unbraced(b"{a}b").unwrap_err().to_string(),
///     "syntax error after '}' in \"{a}b\""
/// );
/// ```
pub fn split_list_unbraced(value: &[u8]) -> Result<Vec<&[u8]>, TypedError> {
    spec::tokens(value)
        .map(|t| {
            if t.first() == Some(&b'{') {
                spec::unbrace(t).map_err(TypedError::from)
            } else {
                Ok(t)
            }
        })
        .collect()
}

/// A list of lookup tables (`smtp_sasl_password_maps`,
/// `sender_dependent_relayhost_maps`, …), as `maps_create()`
/// (`global/maps.c`) reads it: [`split_list`], then each item is a
/// `type:name` reference checked as opening it would
/// ([`TableRef::parse`]). An empty value is an empty list.
///
/// In main.cf, `$` inside an inline table is a parameter reference: expand
/// the value first (`pa$$word` → `pa$word`).
///
/// ```
/// use postfix_maincf::typed::parse_table_refs;
/// let maps = parse_table_refs(b"hash:/etc/postfix/sasl_passwd, inline:{ {a = b c} }").unwrap();
/// assert_eq!(maps[0].kind(), "hash");
/// assert_eq!(maps[1].inline_lookup("A"), Some("b c"));
/// ```
pub fn parse_table_refs(value: &[u8]) -> Result<Vec<TableRef>, TypedError> {
    spec::tokens(value)
        .map(|t| TableRef::parse_bytes(t).map_err(TypedError::from))
        .collect()
}

/// Why [`set_inline_entry`] or [`remove_inline_entry`] refused to edit a
/// main.cf value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InlineValueError {
    /// The value has no `inline:{…}` item.
    NoInlineTable,
    /// The value has more than one `inline:{…}` item: which to edit is
    /// ambiguous.
    SeveralInlineTables,
    /// The `inline:{…}` item has a `$` that is not part of `$$`: a parameter
    /// reference, whose expansion this edit cannot see or keep.
    ParameterReference,
    /// The `inline:{…}` item is not a valid table (Postfix's message).
    Table(SpecError),
    /// The edit itself is refused (key or value not representable, …).
    Edit(postfix_table::inline::InlineEditError),
}

impl fmt::Display for InlineValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InlineValueError::NoInlineTable => f.write_str("the value has no inline:{...} table"),
            InlineValueError::SeveralInlineTables => {
                f.write_str("the value has several inline:{...} tables; edit it as a whole")
            }
            InlineValueError::ParameterReference => f.write_str(
                "the inline:{...} table contains a $parameter reference; edit it as a whole",
            ),
            InlineValueError::Table(e) => e.fmt(f),
            InlineValueError::Edit(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InlineValueError {}

/// Finds the one `inline:{…}` item of a raw main.cf value and gives its
/// byte range and the table it stands for (`$$` read as `$`).
fn inline_item(raw: &[u8]) -> Result<(std::ops::Range<usize>, TableRef), InlineValueError> {
    let text = c_string(raw);
    let base = text.as_ptr() as usize;
    let mut found = None;
    for t in spec::tokens(text).filter(|t| t.starts_with(b"inline:")) {
        if found.is_some() {
            return Err(InlineValueError::SeveralInlineTables);
        }
        let start = t.as_ptr() as usize - base;
        found = Some((start..start + t.len(), t));
    }
    let (range, item) = found.ok_or(InlineValueError::NoInlineTable)?;
    let mut expanded = Vec::with_capacity(item.len());
    let mut i = 0;
    while let Some(&b) = item.get(i) {
        if b == b'$' {
            if item.get(i + 1) != Some(&b'$') {
                return Err(InlineValueError::ParameterReference);
            }
            i += 1;
        }
        expanded.push(b);
        i += 1;
    }
    let table = TableRef::parse_bytes(&expanded).map_err(InlineValueError::Table)?;
    Ok((range, table))
}

fn splice_inline(raw: &[u8], range: std::ops::Range<usize>, table: &TableRef) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.extend_from_slice(raw.get(..range.start).unwrap_or_default());
    for &b in table.as_str().as_bytes() {
        if b == b'$' {
            out.push(b'$');
        }
        out.push(b);
    }
    out.extend_from_slice(raw.get(range.end..).unwrap_or_default());
    out
}

/// Sets `key` to `value` in the `inline:{…}` table of a **raw** main.cf
/// value (as [`crate::MainCf::get`] returns it) and gives the new raw
/// value, for [`crate::MainCf::set`]. Every other byte of the value is kept;
/// the entry is edited as [`TableRef::set_inline`] does (last duplicate
/// rewritten in place, earlier ones removed, a new key appended,
/// unrepresentable keys and values refused).
///
/// `$` is main.cf's expansion character: a `$` in `key` or `value` is
/// written `$$` (so a password `pa$word` stays `pa$word` for Postfix), and
/// an inline table that contains a real `$parameter` reference is refused
/// ([`InlineValueError::ParameterReference`]): its expanded text is not
/// what is written, so a faithful edit is not possible. A value with
/// several `inline:` tables is refused too.
///
/// ```
/// use postfix_maincf::MainCf;
/// use postfix_maincf::typed::set_inline_entry;
///
/// let mut cf = MainCf::parse(b"smtp_sasl_password_maps = texthash:/etc/postfix/sasl, inline:{ [a]:587=u:p }\n");
/// let name = "smtp_sasl_password_maps";
/// let new = set_inline_entry(&cf.get(name).unwrap(), "[b]:25", "user:pa$word, 2").unwrap();
/// assert_eq!(new, b"texthash:/etc/postfix/sasl, inline:{ [a]:587=u:p, { [b]:25 = user:pa$$word, 2 } }");
/// cf.set(name, &new).unwrap();
/// // Postfix reads the password back with one `$`.
/// let defaults = postfix_maincf::defaults::Defaults::default();
/// let maps = cf.resolved(&defaults).table_refs(name).unwrap().unwrap();
/// assert_eq!(maps[1].lookup("[B]:25").unwrap().value(), Some("user:pa$word, 2"));
/// ```
pub fn set_inline_entry(raw: &[u8], key: &str, value: &str) -> Result<Vec<u8>, InlineValueError> {
    let (range, mut table) = inline_item(raw)?;
    table
        .set_inline(key, value)
        .map_err(InlineValueError::Edit)?;
    Ok(splice_inline(raw, range, &table))
}

/// Removes every entry of `key` from the `inline:{…}` table of a raw
/// main.cf value ([`TableRef::remove_inline`]); gives the new raw value and
/// how many entries went. Same rules as [`set_inline_entry`].
///
/// ```
/// use postfix_maincf::typed::remove_inline_entry;
/// let (v, n) = remove_inline_entry(b"inline:{ a=1, {b = x$$y} }", "A").unwrap();
/// assert_eq!((v.as_slice(), n), (&b"inline:{ {b = x$$y} }"[..], 1));
/// assert!(remove_inline_entry(b"inline:{ a=$relay }", "a").is_err());
/// ```
pub fn remove_inline_entry(raw: &[u8], key: &str) -> Result<(Vec<u8>, usize), InlineValueError> {
    let (range, mut table) = inline_item(raw)?;
    let n = table.remove_inline(key).map_err(InlineValueError::Edit)?;
    if n == 0 {
        return Ok((raw.to_vec(), 0));
    }
    Ok((splice_inline(raw, range, &table), n))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn booleans() {
        // strcasecmp() against "yes"/"no"; postmap (which runs
        // mail_params_init) accepts soft_bounce = YES and dies on "true".
        for (v, b) in [
            ("yes", true),
            ("YES", true),
            ("yEs", true),
            ("no", false),
            ("NO", false),
        ] {
            assert_eq!(parse_bool(v.as_bytes()), Ok(b), "{v}");
        }
        for v in [
            "true", "false", "1", "0", "on", "y", "yess", "", " yes", "yes ",
        ] {
            assert!(parse_bool(v.as_bytes()).is_err(), "{v}");
        }
        assert_eq!(parse_bool(b"yes\0junk"), Ok(true));
        assert_eq!(
            parse_bool(b"Nope")
                .unwrap_err()
                .postfix_message("smtputf8_enable"),
            "bad boolean configuration: smtputf8_enable = Nope"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_int(b"-4"), Ok(-4));
        assert_eq!(parse_int(b" 7"), Ok(7)); // strtol skips leading space
        assert_eq!(parse_int(b"2147483647"), Ok(i32::MAX));
        assert!(parse_int(b"2147483648").is_err());
        assert!(parse_int(b"7 ").is_err());
        assert!(parse_int(b"-").is_err());
        assert!(parse_int(b" ").is_err());
        assert!(parse_int(b"").is_err());
        assert_eq!(parse_long(b"-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_long(b"9223372036854775808").is_err());
        assert!(parse_long(&[b'9'; 100_000]).is_err());
        assert_eq!(parse_long(b"-99999999999"), Ok(-99_999_999_999));
        assert!(parse_long(b"10M").is_err());
        assert_eq!(
            parse_int(b"0x10")
                .unwrap_err()
                .postfix_message("header_size_limit"),
            "bad numerical configuration: header_size_limit = 0x10"
        );
    }

    #[test]
    fn times() {
        let s = TimeUnit::Seconds;
        // Recorded with postmap and in_flow_delay (max 10, which reveals the
        // converted value in "invalid in_flow_delay: N (max 10)").
        assert_eq!(parse_time(b"1h", s), Ok(3600));
        assert_eq!(parse_time(b"1hour", s), Ok(3600));
        assert_eq!(parse_time(b"s", s), Ok(0));
        assert_eq!(parse_time(b"99", s), Ok(99));
        assert_eq!(parse_time(b"+3m", s), Ok(180));
        assert!(parse_time(b"2 m", s).is_err());
        assert!(parse_time(b"100000w", s).is_err());
        // From conv_time(): strict upper bounds, no negative values.
        assert_eq!(parse_time(b"3549w", s), Ok(3549 * 604_800));
        assert!(parse_time(b"3550w", s).is_err());
        assert_eq!(parse_time(b"2147483647", s), Ok(2_147_483_647));
        assert!(parse_time(b"2147483648", s).is_err());
        assert!(parse_time(b"-1", s).is_err());
        assert_eq!(parse_time(b"-0", s), Ok(0));
        assert!(parse_time(b"", s).is_err());
        assert!(parse_time(b"5S", s).is_err());
        assert!(parse_time(b" s", s).is_err());
        assert_eq!(parse_time(b"2", TimeUnit::Weeks), Ok(2 * 604_800));
        assert_eq!(
            parse_time(b"2 m", s)
                .unwrap_err()
                .postfix_message("in_flow_delay"),
            "parameter in_flow_delay: bad time value or unit: 2 m"
        );
        assert_eq!(TimeUnit::from_default(b"1000s"), Some(TimeUnit::Seconds));
        assert_eq!(TimeUnit::from_default(b"100"), None);
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(b""), Vec::<&[u8]>::new());
        assert_eq!(split_list(b" ,\t,\r\n "), Vec::<&[u8]>::new());
        assert_eq!(split_list(b"a\x0bb\x0cc"), [&b"a\x0bb\x0cc"[..]]);
        assert_eq!(split_list(b"x{ a }y z"), [&b"x{ a }y"[..], b"z"]);
        assert_eq!(split_list(b"a} b"), [&b"a}"[..], b"b"]);
        assert_eq!(split_list(b"a\0b c"), [&b"a"[..]]);
        assert_eq!(split_list_unbraced(b"{}, {  }").unwrap(), [&b""[..], b""]);
        assert!(parse_table_refs(b"").unwrap().is_empty());
        assert_eq!(
            parse_table_refs(b"hash:/a, foo")
                .unwrap_err()
                .postfix_message("x"),
            "open dictionary: expecting \"type:name\" form instead of \"foo\""
        );
    }
}

/// Why [`Resolved`] cannot give a typed value: the expansion failed, or the
/// expanded text does not convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// The `$` expansion failed (postconf's error).
    Expand(crate::expand::ExpandError),
    /// The expanded value does not convert.
    Typed(TypedError),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Expand(e) => e.fmt(f),
            ValueError::Typed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ValueError {}

/// Values as a Postfix daemon sees them: the main.cf value, else the
/// built-in default, `$` expanded (recursively, with main.cf values and
/// defaults), then converted. Made by [`crate::MainCf::resolved`].
///
/// ```
/// use postfix_maincf::MainCf;
/// use postfix_maincf::defaults::Defaults;
///
/// let cf = MainCf::parse(b"relay = [smtp.example.com]:587\nrelayhost = $relay\n\
///     smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd, inline:{ {a = b} }\n\
///     smtp_sasl_auth_enable = yes\ncompatibility_level = 3.6\n");
/// let defaults = Defaults::default();
/// let v = cf.resolved(&defaults);
/// assert_eq!(v.expanded("relayhost").unwrap().unwrap(), b"[smtp.example.com]:587");
/// assert_eq!(v.bool("smtp_sasl_auth_enable"), Some(Ok(true)));
/// // Not set: the 3.7 default, `${{$compatibility_level} <level {1} ? {no} : {yes}}`.
/// assert_eq!(v.bool("smtputf8_enable"), Some(Ok(true)));
/// let maps = v.table_refs("smtp_sasl_password_maps").unwrap().unwrap();
/// assert_eq!(maps[0].kind(), "texthash");
/// assert_eq!(maps[1].inline_lookup("a"), Some("b"));
/// assert_eq!(v.list("mydestination").unwrap().unwrap()[0], b"localhost.localdomain");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    cf: &'a crate::MainCf,
    defaults: &'a crate::defaults::Defaults,
}

impl<'a> Resolved<'a> {
    pub(crate) fn new(cf: &'a crate::MainCf, defaults: &'a crate::defaults::Defaults) -> Self {
        Resolved { cf, defaults }
    }

    /// The raw value: main.cf's, else the built-in default; `None` for a
    /// name that is neither.
    pub fn raw(&self, name: impl AsRef<[u8]>) -> Option<Vec<u8>> {
        let name = name.as_ref();
        self.cf
            .get(name)
            .or_else(|| self.defaults.get(name))
            .map(|v| v.into_owned())
    }

    /// The expanded value, as `postconf -x` shows it. Built-in parameters
    /// that Postfix expands only at use, with their own `$` variables
    /// ([`crate::defaults::is_raw`]: `default_rbl_reply`,
    /// `smtpd_expansion_filter`, …) are returned unexpanded, as postconf
    /// does.
    pub fn expanded(
        &self,
        name: impl AsRef<[u8]>,
    ) -> Option<Result<Vec<u8>, crate::expand::ExpandError>> {
        let name = name.as_ref();
        let raw = self.raw(name)?;
        if crate::defaults::is_raw(name) {
            return Some(Ok(raw));
        }
        let lookup = |n: &[u8]| self.raw(n);
        Some(crate::expand::expand(&raw, &lookup).map(|e| e.value))
    }

    fn typed<T>(
        &self,
        name: &[u8],
        convert: impl FnOnce(&[u8]) -> Result<T, TypedError>,
    ) -> Option<Result<T, ValueError>> {
        Some(match self.expanded(name)? {
            Ok(v) => convert(&v).map_err(ValueError::Typed),
            Err(e) => Err(ValueError::Expand(e)),
        })
    }

    /// A boolean parameter ([`parse_bool`]).
    pub fn bool(&self, name: impl AsRef<[u8]>) -> Option<Result<bool, ValueError>> {
        self.typed(name.as_ref(), parse_bool)
    }

    /// An integer parameter ([`parse_long`]).
    pub fn long(&self, name: impl AsRef<[u8]>) -> Option<Result<i64, ValueError>> {
        self.typed(name.as_ref(), parse_long)
    }

    /// A time parameter in seconds ([`parse_time`]); a value without a
    /// unit takes the unit of the (expanded) built-in default, as Postfix
    /// does ([`TimeUnit::from_default`]), seconds when it has none.
    pub fn time(&self, name: impl AsRef<[u8]>) -> Option<Result<u32, ValueError>> {
        let name = name.as_ref();
        let lookup = |n: &[u8]| self.raw(n);
        let unit = self
            .defaults
            .get(name)
            .and_then(|d| crate::expand::expand(&d, &lookup).ok())
            .and_then(|d| TimeUnit::from_default(&d.value))
            .unwrap_or(TimeUnit::Seconds);
        self.typed(name, |v| parse_time(v, unit))
    }

    /// A list parameter split as Postfix splits lists ([`split_list`]).
    pub fn list(&self, name: impl AsRef<[u8]>) -> Option<Result<Vec<Vec<u8>>, ValueError>> {
        self.typed(name.as_ref(), |v| {
            Ok(split_list(v).into_iter().map(<[u8]>::to_vec).collect())
        })
    }

    /// A list of lookup tables ([`parse_table_refs`]).
    pub fn table_refs(&self, name: impl AsRef<[u8]>) -> Option<Result<Vec<TableRef>, ValueError>> {
        self.typed(name.as_ref(), parse_table_refs)
    }
}
