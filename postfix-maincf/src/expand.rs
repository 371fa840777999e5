//! `$name` expansion exactly as Postfix 3.7's `postconf` does it.
//!
//! Postfix evaluates `$` expressions in two ways, and this module offers
//! both:
//!
//! * [`expand`] — what `postconf -x` prints (and what the daemons see): the
//!   value with every reference replaced. Values of referenced parameters
//!   are expanded in turn (**recursively**: a looked-up value is parsed
//!   again, so `a = $b`, `b = $c`, `c = x` gives `x` for `$a`). Only the
//!   selected branch of a conditional is parsed, so a syntax error in the
//!   other branch goes unnoticed. [`expand_once`] is the non-recursive
//!   variant (looked-up values are inserted verbatim).
//! * [`scan`] / [`references`] — the syntax check postconf runs over every
//!   value even without `-x` (its "scan" pass): nothing is looked up,
//!   **both** branches of every conditional and both operands of every
//!   relational expression are parsed, and every parameter name met on the
//!   way is reported (postconf warns `undefined parameter: NAME` for those
//!   that are neither defined nor built in; that is the caller's job).
//!   Referenced values are not followed.
//!
//! # Syntax (Postfix 3.7)
//!
//! | form | meaning |
//! |---|---|
//! | `$$` | a literal `$` |
//! | `$name` | value of `name`; the name is the longest run of `[A-Za-z0-9_]` (so `$1x` is parameter `1x`, `$foo-bar` is `$foo` then `-bar`) |
//! | `${text}`, `$(text)` | an expression; the end is found by counting only the same kind of bracket (`${a)}` ends at `}`, `$(a}` is truncated) |
//! | `${name}` | value of `name` (whitespace around the name is ignored) |
//! | `${name?text}` / `${name:text}` | `text` when `name` is non-empty / empty or undefined; `text` is the rest of the expression verbatim (leading whitespace included) |
//! | `${name?{t1}:{t2}}`, `${name?{t1}:t2}`, `${name:{t2}}` | if/else with `{}` operands; whitespace around `{…}` is ignored, inside kept |
//! | `${{a} OP {b}}` | relational: `true` or empty. OP is `==`, `!=`, `<`, `<=`, `>`, `>=`; numeric when both expanded operands are non-empty and all digits, else byte-wise |
//! | `${{a} OPlevel {b}}` | compatibility-level comparison (`3.10` > `3.9`, `1` == `1.0`) |
//! | `${{a} OP {b} ? {x} : {y}}` | relational if/else; either branch optional |
//!
//! Everything else (`${}`, `$` before a non-name byte or at the end, a name
//! with other bytes, garbage after an operand, …) is an error whose text is
//! reproduced byte for byte, see [`ExpandError`]. Input ends at the first
//! NUL byte (Postfix strings are C strings); looked-up values too.
//!
//! # Nesting
//!
//! Every expression or literal handled inside another one counts one level;
//! Postfix gives up above 100 levels with `unreasonable macro call nesting:
//! "TEXT"` — this is how `a = $b`, `b = $a` fails. Operands of relational
//! expressions are evaluated in a fresh context whose count starts at 0 (as
//! in Postfix); Postfix does not bound that nesting at all (mutual recursion
//! through relational operands crashes postconf with a segmentation fault),
//! this crate stops with [`ErrorKind::TooDeep`] after [`MAX_TOTAL_DEPTH`]
//! levels in all, so hostile input cannot overflow the stack.
//!
//! After the first error Postfix does not stop at once: the strings being
//! parsed are finished (later `$` forms of them may add warnings; an
//! operand of a relational expression is still evaluated) and, as its
//! nesting count is not restored on errors, more `unreasonable macro call
//! nesting` warnings can follow. [`ExpandError::warnings`] holds all of
//! them in postconf's order. Each may quote a whole (possibly large)
//! value, as postconf does.
//!
//! ```
//! use std::collections::HashMap;
//! use postfix_maincf::expand::{expand, references};
//!
//! let mut params: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
//! params.insert(b"mydomain".to_vec(), b"example.com".to_vec());
//! params.insert(b"myhostname".to_vec(), b"mail.$mydomain".to_vec());
//!
//! let e = expand(b"$myhostname ${relayhost:{direct}} $$", &params).unwrap();
//! assert_eq!(e.value, b"mail.example.com direct $");
//! assert_eq!(e.undefined, vec![b"relayhost".to_vec()]);
//!
//! assert_eq!(
//!     references(b"${a?{$b}:{$c}}").unwrap(),
//!     vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
//! );
//! let err = expand(b"costs 5$", &params).unwrap_err();
//! assert_eq!(err.to_string(), "empty macro name: \"costs 5$\"");
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use postfix_table::lines::{c_string, printable};

/// Look-up of a parameter's *raw* (unexpanded) value; `None` means the
/// parameter is undefined.
///
/// Implemented for maps from names to values, for [`crate::MainCf`] (its
/// [`get`](crate::MainCf::get), without built-in defaults) and for closures
/// `Fn(&[u8]) -> Option<Vec<u8>>`.
pub trait Lookup {
    /// The raw value of `name`, or `None` when it is not defined.
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>>;
}

impl<F> Lookup for F
where
    F: Fn(&[u8]) -> Option<Vec<u8>>,
{
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self(name).map(Cow::Owned)
    }
}

impl<S: std::hash::BuildHasher> Lookup for HashMap<Vec<u8>, Vec<u8>, S> {
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_slice()))
    }
}

impl Lookup for BTreeMap<Vec<u8>, Vec<u8>> {
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_slice()))
    }
}

impl Lookup for crate::MainCf {
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get(name)
    }
}

/// The result of a successful [`expand`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expanded {
    /// The expanded value, whitespace untouched (`postconf` collapses every
    /// run of space/TAB/CR/LF to one space and trims the ends when it
    /// prints).
    pub value: Vec<u8>,
    /// Names whose look-up returned `None` during the expansion (in the
    /// order first met, without duplicates), whether as `$name` or as the
    /// test of `${name?…}` / `${name:…}`. They expanded to nothing. Note
    /// that postconf's `undefined parameter` warning comes from its scan
    /// pass, which also sees names in unselected branches: use
    /// [`references`] to reproduce it.
    pub undefined: Vec<Vec<u8>>,
}

/// The result of [`scan`]: postconf's syntax pass over one value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scan {
    /// What the pass met, in order: every name reference (each occurrence;
    /// postconf prints `undefined parameter: NAME` at that moment if the
    /// name is neither defined nor built in) and every warning.
    pub events: Vec<ScanEvent>,
}

/// One step of [`Scan::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEvent {
    /// A parameter name referenced: a `$name` form, the tested name of a
    /// conditional, a name in either branch or in a relational operand.
    /// May be empty (`${ }`, `${?x}`).
    Name(Vec<u8>),
    /// A syntax problem (the scan goes on after some of them, as postconf's
    /// does).
    Warning(ExpandWarning),
}

impl Scan {
    /// Every name occurrence, in order (duplicates kept).
    pub fn names(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.events.iter().filter_map(|e| match e {
            ScanEvent::Name(n) => Some(n.as_slice()),
            ScanEvent::Warning(_) => None,
        })
    }

    /// The warnings, if the value is malformed anywhere. For postconf this
    /// pass only warns; the failure comes from the later expansion.
    pub fn error(&self) -> Option<ExpandError> {
        let warnings: Vec<ExpandWarning> = self
            .events
            .iter()
            .filter_map(|e| match e {
                ScanEvent::Warning(w) => Some(w.clone()),
                ScanEvent::Name(_) => None,
            })
            .collect();
        (!warnings.is_empty()).then_some(ExpandError { warnings })
    }
}

/// What is wrong with a `$` expression (one per warning line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `$` before a byte that cannot start a name, `$` at the end, `${}`,
    /// `$()`: `empty macro name: "VALUE"`.
    EmptyMacroName,
    /// `${` or `$(` without the matching close bracket:
    /// `truncated macro reference: "VALUE"`.
    TruncatedMacroReference,
    /// A byte outside `[A-Za-z0-9_]` in a `${name…}` name:
    /// `attribute name syntax error at: "...NAME>>>REST"`.
    AttributeNameSyntax,
    /// More than 100 nested levels: `unreasonable macro call nesting: "TEXT"`.
    UnreasonableNesting,
    /// A `{` operand without its `}`:
    /// `unbalanced {} in attribute expression: "TEXT"`.
    UnbalancedBraces,
    /// No valid relational operator after `{left}`:
    /// `"==" or "!="" or … expected at: "...LEFT}>>>REST"`.
    OperatorExpected,
    /// An operator followed by a suffix other than `level`:
    /// `bad operator suffix at: "...OP>>>SUFFIX"`.
    BadOperatorSuffix,
    /// No `{right}` operand after the operator:
    /// `"{expression}" expected at: "...{LEFT} OP>>>REST"`.
    ExpressionExpected,
    /// Something other than `?` or `:` after a relational expression:
    /// `"?" or ":" expected at: "...}>>>REST"`.
    QuestionOrColonExpected,
    /// Something other than `:` after `?{text}`:
    /// `":" expected at: "...TEXT}>>>REST"`.
    ColonExpected,
    /// Something after `:{text}`: `unexpected input at: "...TEXT}>>>REST"`.
    UnexpectedInput,
    /// An operand of a `…level` comparison that is not a compatibility
    /// level: `malformed compatibility level syntax: "TEXT"`.
    MalformedCompatibilityLevel,
    /// An all-digit operand too large for a C `long`: postconf stops with
    /// `fatal: mac_exp_eval: bad conversion: DIGITS` (no further messages).
    BadConversion,
    /// This crate's own limit ([`MAX_TOTAL_DEPTH`]) on nesting through
    /// relational operands, which Postfix does not bound (it crashes
    /// instead). Not a Postfix message.
    TooDeep,
}

/// One message postconf prints for a malformed `$` expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExpandWarning {
    /// What is wrong.
    pub kind: ErrorKind,
    /// The message text after `postconf: warning: ` (or `postconf: fatal: `
    /// when [`ExpandWarning::is_fatal`]), with the bytes of the value as
    /// they are, before Postfix's logging replaces unprintable bytes.
    pub raw_message: Vec<u8>,
}

impl ExpandWarning {
    /// True for the messages postconf prints as `fatal:` (and exits
    /// immediately): [`ErrorKind::BadConversion`] and this crate's
    /// [`ErrorKind::TooDeep`].
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, ErrorKind::BadConversion | ErrorKind::TooDeep)
    }

    /// The message exactly as postconf prints it after `postconf: warning: `
    /// (or `fatal: `): bytes other than printable ASCII are shown as `?`.
    pub fn postconf_message(&self) -> String {
        String::from_utf8_lossy(&printable(&self.raw_message, false)).into_owned()
    }
}

impl fmt::Display for ExpandWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.postconf_message())
    }
}

/// A malformed `$` expression: every message postconf would print, in
/// order (never empty). [`Display`](fmt::Display) shows the first one as
/// postconf prints it after `postconf: warning: `.
///
/// After the warnings, postconf itself ends with `fatal: macro processing
/// error` (or `fatal: dictionary mail_dict: macro processing error`,
/// depending on which code path expanded the value) unless the last
/// message is already fatal ([`ExpandWarning::is_fatal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    /// The messages in the order postconf prints them.
    pub warnings: Vec<ExpandWarning>,
}

impl ExpandError {
    /// The kind of the first message.
    pub fn kind(&self) -> ErrorKind {
        self.warnings
            .first()
            .map_or(ErrorKind::EmptyMacroName, |w| w.kind)
    }

    /// The first message as postconf prints it (see
    /// [`ExpandWarning::postconf_message`]).
    pub fn postconf_message(&self) -> String {
        self.warnings
            .first()
            .map(ExpandWarning::postconf_message)
            .unwrap_or_default()
    }

    /// Every message as postconf prints it, in order.
    pub fn postconf_messages(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(ExpandWarning::postconf_message)
            .collect()
    }
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.postconf_message())
    }
}

impl std::error::Error for ExpandError {}

/// Postfix's limit: a callback at nesting level above this fails with
/// "unreasonable macro call nesting".
pub const MAX_NESTING: usize = 100;

/// This crate's hard limit on nesting levels summed over the fresh
/// contexts of relational operands (see the module documentation).
pub const MAX_TOTAL_DEPTH: usize = 250;

/// Expands `raw` like `postconf -x`: recursively, looking names up in
/// `lookup` (give it the built-in defaults too if names like `$myhostname`
/// should expand as postconf does).
pub fn expand(raw: &[u8], lookup: &impl Lookup) -> Result<Expanded, ExpandError> {
    run_expand(raw, lookup, true)
}

/// Expands `raw` without expanding the looked-up values again (Postfix's
/// non-recursive `dict_eval()`): `$name` is replaced by the raw value of
/// `name`. Conditional branches and relational operands are still
/// expanded.
pub fn expand_once(raw: &[u8], lookup: &impl Lookup) -> Result<Expanded, ExpandError> {
    run_expand(raw, lookup, false)
}

/// Postconf's scan of one value: the names referenced and the warnings, in
/// order (see [`Scan`]).
pub fn scan(raw: &[u8]) -> Scan {
    let mut sh = Shared::new(&NoLookup, Mode::Scan);
    let raw = c_string(raw);
    let table = match_table(raw);
    let _ = sh.expand_fresh(raw, Tbl::new(&table));
    Scan { events: sh.events }
}

/// The parameter names `raw` references (see [`ScanEvent::Name`]), in the
/// order first met, without duplicates; or the warnings postconf prints for
/// it if it is malformed anywhere, including branches an expansion would
/// not take.
pub fn references(raw: &[u8]) -> Result<Vec<Vec<u8>>, ExpandError> {
    let s = scan(raw);
    if let Some(e) = s.error() {
        return Err(e);
    }
    let mut seen = HashSet::new();
    Ok(s.names()
        .filter(|n| seen.insert(*n))
        .map(<[u8]>::to_vec)
        .collect())
}

fn run_expand(raw: &[u8], lookup: &impl Lookup, recurse: bool) -> Result<Expanded, ExpandError> {
    let mut sh = Shared::new(lookup, Mode::Expand { recurse });
    let raw = c_string(raw);
    let table = match_table(raw);
    let (status, value) = sh.expand_fresh(raw, Tbl::new(&table));
    match sh.finish_error(status) {
        Some(e) => Err(e),
        None => Ok(Expanded {
            value,
            undefined: sh.names,
        }),
    }
}

struct NoLookup;

impl Lookup for NoLookup {
    fn lookup(&self, _name: &[u8]) -> Option<Cow<'_, [u8]>> {
        None
    }
}

/// Status bits, as mac_parse reports them.
const ERR: u8 = 1;
const UNDEF: u8 = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Scan,
    Expand { recurse: bool },
}

/// One `mac_expand()` call: result buffer, status and nesting level.
struct Ctx {
    out: Vec<u8>,
    status: u8,
    level: usize,
}

/// State shared by all contexts of one top-level call.
struct Shared<'l, L: ?Sized> {
    lookup: &'l L,
    mode: Mode,
    warnings: Vec<ExpandWarning>,
    /// Expand: names undefined (no duplicates).
    names: Vec<Vec<u8>>,
    seen: HashSet<Vec<u8>>,
    /// Scan: names and warnings in order.
    events: Vec<ScanEvent>,
    /// Set by a fatal message: unwind without doing anything else.
    fatal: bool,
    depth: usize,
}

const WS: &[u8] = b" \t\r\n";

fn is_ws(b: u8) -> bool {
    WS.contains(&b)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `s[from..]`, empty when out of range.
fn tail(s: &[u8], from: usize) -> &[u8] {
    s.get(from..).unwrap_or_default()
}

/// `%.20s`
fn first20(s: &[u8]) -> &[u8] {
    s.get(..20).unwrap_or(s)
}

/// Index of the first non-whitespace byte at or after `i`.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

/// `MAC_EXP_FIND_LEFT_CURLY`: the index of a `{` after optional whitespace.
fn find_left_curly(s: &[u8], i: usize) -> Option<usize> {
    let j = skip_ws(s, i);
    (s.get(j) == Some(&b'{')).then_some(j)
}

/// No matching close bracket.
const UNMATCHED: usize = usize::MAX;

/// For every `{` and `(` of `s`, the index of its matching `}` / `)`,
/// counting only brackets of the same kind (as both `mac_parse()` and the
/// `{}` operand parser do), or [`UNMATCHED`]. That match does not depend on
/// where the scan started, so one table serves every nested slice: each
/// expression is then found in O(1) instead of rescanning its text at every
/// nesting level.
fn match_table(s: &[u8]) -> Vec<usize> {
    let mut table = vec![UNMATCHED; s.len()];
    let (mut curly, mut paren) = (Vec::new(), Vec::new());
    for (i, &b) in s.iter().enumerate() {
        match b {
            b'{' => curly.push(i),
            b'(' => paren.push(i),
            b'}' | b')' => {
                let open = if b == b'}' { curly.pop() } else { paren.pop() };
                if let Some(slot) = open.and_then(|o| table.get_mut(o)) {
                    *slot = i;
                }
            }
            _ => {}
        }
    }
    table
}

/// A slice's view of the match table of the buffer it is part of.
#[derive(Clone, Copy)]
struct Tbl<'t> {
    table: &'t [usize],
    /// Offset of the slice within the table's buffer.
    base: usize,
}

impl<'t> Tbl<'t> {
    fn new(table: &'t [usize]) -> Self {
        Tbl { table, base: 0 }
    }

    /// The view of the sub-slice starting at `offset`.
    fn sub(self, offset: usize) -> Self {
        Tbl {
            table: self.table,
            base: self.base + offset,
        }
    }

    /// The index (in a slice of length `len`) of the bracket closing the
    /// one at `open`, if it is inside the slice.
    fn close(self, len: usize, open: usize) -> Option<usize> {
        let m = *self.table.get(self.base + open)?;
        let local = m.checked_sub(self.base)?;
        (m != UNMATCHED && local < len).then_some(local)
    }
}

#[cold]
#[inline(never)]
fn msg(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[derive(Clone, Copy)]
enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Ge,
    Gt,
}

impl RelOp {
    fn parse(op: &[u8]) -> Option<RelOp> {
        Some(match op {
            b"==" => RelOp::Eq,
            b"!=" => RelOp::Ne,
            b"<" => RelOp::Lt,
            b"<=" => RelOp::Le,
            b">=" => RelOp::Ge,
            b">" => RelOp::Gt,
            _ => return None,
        })
    }

    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            RelOp::Eq => ord == Equal,
            RelOp::Ne => ord != Equal,
            RelOp::Lt => ord == Less,
            RelOp::Le => ord != Greater,
            RelOp::Ge => ord != Less,
            RelOp::Gt => ord == Greater,
        }
    }
}

/// C `strtol(s, &end, 10)` for a `long` of 64 bits: the value (saturated)
/// and whether it overflowed, plus the index where parsing stopped (`0`
/// when there were no digits).
fn strtol(s: &[u8]) -> (i64, bool, usize) {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c @ (b'+' | b'-')) = s.get(i) {
        neg = c == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut val: i128 = 0;
    let mut overflow = false;
    while let Some(&b) = s.get(i).filter(|b| b.is_ascii_digit()) {
        if !overflow {
            val = val * 10 + i128::from(b - b'0');
            if val > i128::from(i64::MAX) + 1 {
                overflow = true;
            }
        }
        i += 1;
    }
    if i == digits_start {
        return (0, false, 0);
    }
    let signed = if neg { -val } else { val };
    if overflow || signed > i128::from(i64::MAX) || signed < i128::from(i64::MIN) {
        let sat = if neg { i64::MIN } else { i64::MAX };
        return (sat, true, i);
    }
    (i64::try_from(signed).unwrap_or(0), false, i)
}

/// `compat_level_from_string()`: `major[.minor[.patch]]` as one number, or
/// `None` when malformed.
fn compat_level(s: &[u8]) -> Option<i64> {
    const MINOR_W: u32 = 10;
    const PATCH_W: u32 = 10;
    const MAJOR_SHIFT: u32 = MINOR_W + PATCH_W;
    const BITS: i64 = 0x3ff;
    let (major, ovf, end) = strtol(s);
    let rest = tail(s, end);
    if end == 0 || ovf || !(0..=(i64::MAX >> MAJOR_SHIFT)).contains(&major) {
        return None;
    }
    let mut res = major << MAJOR_SHIFT;
    match rest.first() {
        None => return Some(res),
        Some(b'.') => {}
        Some(_) => return None,
    }
    let s = tail(rest, 1);
    let (minor, ovf, end) = strtol(s);
    let rest = tail(s, end);
    if end == 0 || ovf || !(0..=BITS).contains(&minor) {
        return None;
    }
    res |= minor << PATCH_W;
    match rest.first() {
        None => return Some(res),
        Some(b'.') => {}
        Some(_) => return None,
    }
    let s = tail(rest, 1);
    let (patch, ovf, end) = strtol(s);
    if end == 0 || ovf || end != s.len() || !(0..=BITS).contains(&patch) {
        return None;
    }
    Some(res | patch)
}

/// What an expression head yields: the value tested or substituted
/// (`None` = undefined, or scanning), the position after the head and the
/// operator found there (`?`, `:` or 0).
struct Head<'l> {
    value: Option<Cow<'l, [u8]>>,
    cp: usize,
    ch: u8,
}

/// A parsed relational expression: operand ranges in the buffer.
struct Rel {
    left: std::ops::Range<usize>,
    op: RelOp,
    compat: bool,
    right: std::ops::Range<usize>,
    end: usize,
}

/// Outcome of evaluating a relational operator.
enum Eval {
    Bool(bool),
    /// A warning was issued; the expression fails.
    Error,
    /// A fatal message was issued.
    Fatal,
}

impl<'l, L: Lookup + ?Sized> Shared<'l, L> {
    fn new(lookup: &'l L, mode: Mode) -> Self {
        Shared {
            lookup,
            mode,
            warnings: Vec::new(),
            names: Vec::new(),
            seen: HashSet::new(),
            events: Vec::new(),
            fatal: false,
            depth: 0,
        }
    }

    fn scanning(&self) -> bool {
        self.mode == Mode::Scan
    }

    fn finish_error(&mut self, status: u8) -> Option<ExpandError> {
        if status & ERR != 0 || self.fatal {
            Some(ExpandError {
                warnings: std::mem::take(&mut self.warnings),
            })
        } else {
            None
        }
    }

    #[cold]
    #[inline(never)]
    fn warn(&mut self, kind: ErrorKind, raw_message: Vec<u8>) {
        let w = ExpandWarning { kind, raw_message };
        if self.scanning() {
            self.events.push(ScanEvent::Warning(w.clone()));
        }
        self.warnings.push(w);
    }

    /// `PREFIX` `TEXT` `"`
    #[cold]
    #[inline(never)]
    fn warn_quoted(&mut self, kind: ErrorKind, prefix: &[u8], text: &[u8]) {
        self.warn(kind, msg(&[prefix, text, b"\""]));
    }

    /// `PREFIX` `TEXT` `}>>>` first 20 bytes of `REST` `"`
    #[cold]
    #[inline(never)]
    fn warn_at(&mut self, kind: ErrorKind, prefix: &[u8], text: &[u8], rest: &[u8]) {
        self.warn(kind, msg(&[prefix, text, b"}>>>", first20(rest), b"\""]));
    }

    /// A name referenced (scan) or found undefined (expand).
    fn note_name(&mut self, name: &[u8]) {
        if self.scanning() {
            self.events.push(ScanEvent::Name(name.to_vec()));
        } else if self.seen.insert(name.to_vec()) {
            self.names.push(name.to_vec());
        }
    }

    /// `mac_expand()` with a fresh context: (status, result).
    fn expand_fresh(&mut self, pattern: &[u8], tb: Tbl<'_>) -> (u8, Vec<u8>) {
        let mut ctx = Ctx {
            out: Vec::new(),
            status: 0,
            level: 0,
        };
        let status = self.parse(&mut ctx, pattern, tb);
        (status, ctx.out)
    }

    /// `mac_parse()`: split `value` into literal text and expressions and
    /// hand each to [`Shared::callback`].
    fn parse(&mut self, ctx: &mut Ctx, value: &[u8], tb: Tbl<'_>) -> u8 {
        let mut status = 0u8;
        let mut lit: Vec<u8> = Vec::new();
        let mut i = 0usize;
        while i < value.len() {
            if self.fatal {
                return status | ERR;
            }
            let rest = tail(value, i);
            let Some(dollar) = rest.iter().position(|&b| b == b'$') else {
                lit.extend_from_slice(rest);
                break;
            };
            lit.extend_from_slice(rest.get(..dollar).unwrap_or_default());
            i += dollar;
            if value.get(i + 1) == Some(&b'$') {
                lit.push(b'$');
                i += 2;
                continue;
            }
            if !lit.is_empty() {
                status |= self.callback(ctx, false, &lit, tb);
                lit.clear();
            }
            i += 1;
            let (expr, expr_start): (&[u8], usize) = match value.get(i) {
                Some(b'{' | b'(') => {
                    let Some(close) = tb.close(value.len(), i) else {
                        self.warn_quoted(
                            ErrorKind::TruncatedMacroReference,
                            b"truncated macro reference: \"",
                            value,
                        );
                        status |= ERR;
                        break;
                    };
                    if status & ERR != 0 {
                        break;
                    }
                    let start = i + 1;
                    i = close + 1;
                    (value.get(start..close).unwrap_or_default(), start)
                }
                _ => {
                    let start = i;
                    while value.get(i).is_some_and(|&c| is_name_byte(c)) {
                        i += 1;
                    }
                    (value.get(start..i).unwrap_or_default(), start)
                }
            };
            if expr.is_empty() {
                status |= ERR;
                self.warn_quoted(ErrorKind::EmptyMacroName, b"empty macro name: \"", value);
                break;
            }
            status |= self.callback(ctx, true, expr, tb.sub(expr_start));
        }
        if !lit.is_empty() && status & ERR == 0 && !self.fatal {
            status |= self.callback(ctx, false, &lit, tb);
        }
        status
    }

    /// `mac_expand_callback()`, with this crate's total depth guard.
    fn callback(&mut self, ctx: &mut Ctx, is_expr: bool, buf: &[u8], tb: Tbl<'_>) -> u8 {
        if self.fatal {
            return ctx.status | ERR;
        }
        if self.depth >= MAX_TOTAL_DEPTH {
            self.warn_quoted(
                ErrorKind::TooDeep,
                b"macro nesting deeper than this library supports: \"",
                buf,
            );
            self.fatal = true;
            ctx.status |= ERR;
            return ctx.status;
        }
        self.depth += 1;
        let status = self.callback_inner(ctx, is_expr, buf, tb);
        self.depth -= 1;
        status
    }

    fn callback_inner(&mut self, ctx: &mut Ctx, is_expr: bool, buf: &[u8], tb: Tbl<'_>) -> u8 {
        let lvl = ctx.level;
        ctx.level += 1;
        if lvl > MAX_NESTING {
            self.warn_quoted(
                ErrorKind::UnreasonableNesting,
                b"unreasonable macro call nesting: \"",
                buf,
            );
            ctx.status |= ERR;
        }
        if ctx.status & ERR != 0 {
            return ctx.status;
        }
        if !is_expr {
            if !self.scanning() {
                ctx.out.extend_from_slice(buf);
            }
            ctx.level -= 1;
            return ctx.status;
        }
        let head = match find_left_curly(buf, 0) {
            Some(curly) => self.relational(ctx, buf, tb, curly),
            None => self.named(ctx, buf),
        };
        // On errors, Postfix returns without restoring the level.
        if let Some(head) = head
            && self.branches(ctx, buf, tb, head)
        {
            ctx.level -= 1;
        }
        ctx.status
    }

    /// `${name…}`: the name, its value and what follows it. Does not
    /// recurse.
    fn named(&mut self, ctx: &mut Ctx, buf: &[u8]) -> Option<Head<'l>> {
        let mut cp = skip_ws(buf, 0);
        let start = cp;
        let (name_end, ch) = loop {
            let t = skip_ws(buf, cp);
            match buf.get(t) {
                None => break (cp, 0),
                Some(&c @ (b'?' | b':')) => {
                    let end = cp;
                    cp = t + 1;
                    break (end, c);
                }
                Some(_) => {}
            }
            if !buf.get(cp).is_some_and(|&c| is_name_byte(c)) {
                self.warn(
                    ErrorKind::AttributeNameSyntax,
                    msg(&[
                        b"attribute name syntax error at: \"...",
                        buf.get(..cp).unwrap_or_default(),
                        b">>>",
                        first20(tail(buf, cp)),
                        b"\"",
                    ]),
                );
                ctx.status |= ERR;
                return None;
            }
            cp += 1;
        };
        let name = buf.get(start..name_end).unwrap_or_default();
        let value = if self.scanning() {
            self.note_name(name);
            None
        } else {
            let lookup: &'l L = self.lookup;
            let value = lookup.lookup(name).map(|v| match v {
                Cow::Borrowed(b) => Cow::Borrowed(c_string(b)),
                Cow::Owned(o) => Cow::Owned(c_string(&o).to_vec()),
            });
            if value.is_none() {
                self.note_name(name);
            }
            value
        };
        Some(Head { value, cp, ch })
    }

    /// The `?…` / `:…` parts after the head, or the value itself. `false`
    /// after an error.
    fn branches(&mut self, ctx: &mut Ctx, buf: &[u8], tb: Tbl<'_>, head: Head<'l>) -> bool {
        let Head { value, mut cp, ch } = head;
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let scanning = self.scanning();
        match ch {
            b'?' => {
                let Some((iftrue, at)) = self.operand(ctx, buf, tb, &mut cp) else {
                    return false;
                };
                if non_empty || scanning {
                    ctx.status |= self.parse(ctx, iftrue, tb.sub(at));
                    if self.fatal {
                        return false;
                    }
                }
                match buf.get(cp) {
                    None => return true,
                    Some(b':') => cp += 1,
                    Some(_) => {
                        self.warn_at(
                            ErrorKind::ColonExpected,
                            b"\":\" expected at: \"...",
                            iftrue,
                            tail(buf, cp),
                        );
                        ctx.status |= ERR;
                        return false;
                    }
                }
            }
            b':' => {}
            _ => {
                match value {
                    None => ctx.status |= UNDEF,
                    Some(v) if v.is_empty() || scanning => {}
                    Some(v) => {
                        if self.mode == (Mode::Expand { recurse: true }) {
                            let table = match_table(&v);
                            ctx.status |= self.parse(ctx, &v, Tbl::new(&table));
                        } else {
                            ctx.out.extend_from_slice(&v);
                        }
                    }
                }
                return !self.fatal;
            }
        }
        let Some((iffalse, at)) = self.operand(ctx, buf, tb, &mut cp) else {
            return false;
        };
        if !non_empty || scanning {
            ctx.status |= self.parse(ctx, iffalse, tb.sub(at));
            if self.fatal {
                return false;
            }
        }
        if cp < buf.len() {
            self.warn_at(
                ErrorKind::UnexpectedInput,
                b"unexpected input at: \"...",
                iffalse,
                tail(buf, cp),
            );
            ctx.status |= ERR;
            return false;
        }
        true
    }

    /// A conditional's result operand at `*cp`: `{text}` (whitespace
    /// around it skipped) or else the rest of `buf` verbatim; with its
    /// offset in `buf`.
    fn operand<'b>(
        &mut self,
        ctx: &mut Ctx,
        buf: &'b [u8],
        tb: Tbl<'_>,
        cp: &mut usize,
    ) -> Option<(&'b [u8], usize)> {
        if let Some(curly) = find_left_curly(buf, *cp) {
            *cp = curly;
            let p = self.curly_payload(ctx, buf, tb, cp)?;
            Some((p, curly + 1))
        } else {
            let at = *cp;
            *cp = buf.len();
            Some((tail(buf, at), at))
        }
    }

    /// `mac_exp_extract_curly_payload()`: `buf[*cp]` is `{`; returns the
    /// text up to the balancing `}` and leaves `*cp` after it and any
    /// whitespace. `None` (after a warning) when unbalanced.
    fn curly_payload<'b>(
        &mut self,
        ctx: &mut Ctx,
        buf: &'b [u8],
        tb: Tbl<'_>,
        cp: &mut usize,
    ) -> Option<&'b [u8]> {
        let open = *cp;
        let Some(close) = tb.close(buf.len(), open) else {
            self.warn_quoted(
                ErrorKind::UnbalancedBraces,
                b"unbalanced {} in attribute expression: \"",
                tail(buf, open),
            );
            ctx.status |= ERR;
            return None;
        };
        *cp = skip_ws(buf, close + 1);
        buf.get(open + 1..close)
    }

    /// `${{left} OP {right} …}` starting with the `{` at `curly`.
    fn relational(
        &mut self,
        ctx: &mut Ctx,
        buf: &[u8],
        tb: Tbl<'_>,
        curly: usize,
    ) -> Option<Head<'l>> {
        let rel = self.relational_syntax(ctx, buf, tb, curly)?;
        let value = self.relational_eval(ctx, buf, tb, &rel)?;
        let mut cp = rel.end;
        let ch = match buf.get(cp) {
            None => 0,
            Some(&c @ (b'?' | b':')) => {
                cp += 1;
                c
            }
            Some(_) => {
                self.warn_at(
                    ErrorKind::QuestionOrColonExpected,
                    b"\"?\" or \":\" expected at: \"...",
                    b"",
                    tail(buf, cp),
                );
                ctx.status |= ERR;
                return None;
            }
        };
        Some(Head { value, cp, ch })
    }

    /// The syntax part of `mac_exp_parse_relational()`. Does not recurse.
    fn relational_syntax(
        &mut self,
        ctx: &mut Ctx,
        buf: &[u8],
        tb: Tbl<'_>,
        curly: usize,
    ) -> Option<Rel> {
        let mut cp = curly;
        let left_start = curly + 1;
        let left = self.curly_payload(ctx, buf, tb, &mut cp)?;
        let left_range = left_start..left_start + left.len();
        let op_pos = cp;
        let op_len = tail(buf, op_pos)
            .iter()
            .take_while(|b| b"<>!=?+-*/~&|%".contains(b))
            .count();
        let op_text = buf.get(op_pos..op_pos + op_len).unwrap_or_default();
        let Some(op) = RelOp::parse(op_text) else {
            self.warn(
                ErrorKind::OperatorExpected,
                msg(&[
                    b"\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...",
                    left,
                    b"}>>>",
                    first20(tail(buf, op_pos)),
                    b"\"",
                ]),
            );
            ctx.status |= ERR;
            return None;
        };
        cp = op_pos + op_len;
        let mut compat = false;
        if buf.get(cp).is_some_and(u8::is_ascii_alphanumeric) {
            let type_pos = cp;
            let type_len = tail(buf, type_pos)
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            cp += type_len;
            let suffix = buf.get(type_pos..type_pos + type_len).unwrap_or_default();
            if suffix != b"level" {
                self.warn(
                    ErrorKind::BadOperatorSuffix,
                    msg(&[
                        b"bad operator suffix at: \"...",
                        op_text,
                        b">>>",
                        suffix,
                        b"\"",
                    ]),
                );
                ctx.status |= ERR;
                return None;
            }
            compat = true;
        }
        let Some(right_curly) = find_left_curly(buf, cp) else {
            self.warn(
                ErrorKind::ExpressionExpected,
                msg(&[
                    b"\"{expression}\" expected at: \"...{",
                    left,
                    b"} ",
                    op_text,
                    b">>>",
                    first20(tail(buf, cp)),
                    b"\"",
                ]),
            );
            ctx.status |= ERR;
            return None;
        };
        cp = right_curly;
        let right = self.curly_payload(ctx, buf, tb, &mut cp)?;
        let right_range = right_curly + 1..right_curly + 1 + right.len();
        Some(Rel {
            left: left_range,
            op,
            compat,
            right: right_range,
            end: cp,
        })
    }

    /// Evaluates both operands (each in a fresh context) and the operator:
    /// `Some(Some("true" or ""))`, `Some(None)` when scanning, `None` after
    /// an error.
    fn relational_eval(
        &mut self,
        ctx: &mut Ctx,
        buf: &[u8],
        tb: Tbl<'_>,
        rel: &Rel,
    ) -> Option<Option<Cow<'l, [u8]>>> {
        let left = buf.get(rel.left.clone()).unwrap_or_default();
        let (ls, lv) = self.expand_fresh(left, tb.sub(rel.left.start));
        ctx.status |= ls;
        if self.fatal {
            return None;
        }
        let right = buf.get(rel.right.clone()).unwrap_or_default();
        let (rs, rv) = self.expand_fresh(right, tb.sub(rel.right.start));
        ctx.status |= rs;
        if self.fatal {
            return None;
        }
        let mut result = false;
        if !self.scanning() {
            match self.evaluate(rel.op, rel.compat, &lv, &rv) {
                Eval::Bool(b) => result = b,
                Eval::Error => ctx.status |= ERR,
                Eval::Fatal => {
                    ctx.status |= ERR;
                    return None;
                }
            }
        }
        if ctx.status & ERR != 0 {
            return None;
        }
        Some(if self.scanning() {
            None
        } else if result {
            Some(Cow::Borrowed(b"true"))
        } else {
            Some(Cow::Borrowed(b""))
        })
    }

    fn evaluate(&mut self, op: RelOp, compat: bool, left: &[u8], right: &[u8]) -> Eval {
        if compat {
            let mut level = |s: &[u8]| {
                let v = compat_level(s);
                if v.is_none() {
                    self.warn(
                        ErrorKind::MalformedCompatibilityLevel,
                        msg(&[b"malformed compatibility level syntax: \"", s, b"\""]),
                    );
                }
                v
            };
            let Some(l) = level(left) else {
                return Eval::Error;
            };
            let Some(r) = level(right) else {
                return Eval::Error;
            };
            return Eval::Bool(op.holds(l.cmp(&r)));
        }
        let alldig = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        let ord = if alldig(left) && alldig(right) {
            let mut num = |s: &[u8]| {
                let (v, ovf, _) = strtol(s);
                if ovf {
                    self.warn(
                        ErrorKind::BadConversion,
                        msg(&[b"mac_exp_eval: bad conversion: ", s]),
                    );
                    self.fatal = true;
                    None
                } else {
                    Some(v)
                }
            };
            let Some(l) = num(left) else {
                return Eval::Fatal;
            };
            let Some(r) = num(right) else {
                return Eval::Fatal;
            };
            l.cmp(&r)
        } else {
            left.cmp(right)
        };
        Eval::Bool(op.holds(ord))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<Vec<u8>, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn x(raw: &str, m: &HashMap<Vec<u8>, Vec<u8>>) -> String {
        match expand(raw.as_bytes(), m) {
            Ok(e) => String::from_utf8(e.value).unwrap(),
            Err(e) => format!("ERR {}", e.postconf_messages().join(" | ")),
        }
    }

    #[test]
    fn plain_forms() {
        let m = map(&[("d", "example.com"), ("h", "mail.$d"), ("e", "")]);
        assert_eq!(x("$d", &m), "example.com");
        assert_eq!(x("${d}", &m), "example.com");
        assert_eq!(x("$(d)", &m), "example.com");
        assert_eq!(x("$h", &m), "mail.example.com");
        assert_eq!(x("$$d $${d}", &m), "$d ${d}");
        assert_eq!(x("$d-x", &m), "example.com-x");
        assert_eq!(x("${ d }", &m), "example.com");
        assert_eq!(x("[$e]", &m), "[]");
        assert_eq!(x("$nope.", &m), ".");
    }

    #[test]
    fn non_recursive() {
        let m = map(&[("d", "example.com"), ("h", "mail.$d")]);
        let e = expand_once(b"$h", &m).unwrap();
        assert_eq!(e.value, b"mail.$d");
    }

    #[test]
    fn conditionals() {
        let m = map(&[("s", "x"), ("e", "")]);
        assert_eq!(
            x("[${s?set}][${s:unset}][${e?set}][${e:unset}]", &m),
            "[set][][][unset]"
        );
        assert_eq!(x("[${u?set}][${u:unset}]", &m), "[][unset]");
        assert_eq!(x("[${s? a b }]", &m), "[ a b ]");
        assert_eq!(x("[${s?{ a b }}]", &m), "[ a b ]");
        assert_eq!(x("${s?{y}:{n}} ${e?{y}:{n}} ${e?{y}:n}", &m), "y n n");
        assert_eq!(x("${s ? {y} : {n}}", &m), "y");
        assert_eq!(x("${s?$s$s}", &m), "xx");
    }

    #[test]
    fn relational() {
        let m = map(&[("ten", "10"), ("nine", "9")]);
        assert_eq!(x("${{$ten} == {10} ? {eq} : {ne}}", &m), "eq");
        assert_eq!(x("${{$ten} < {$nine} ? {lt} : {ge}}", &m), "ge");
        assert_eq!(x("${{abc} < {abd} ? {lt} : {ge}}", &m), "lt");
        assert_eq!(x("${{01} == {1}}", &m), "true");
        assert_eq!(x("[${{a} == {b}}]", &m), "[]");
        assert_eq!(x("${{} == {}}", &m), "true");
        assert_eq!(x("${{3.10} >level {3.9}}", &m), "true");
        assert_eq!(x("${{1} ==level {1.0}}", &m), "true");
        assert_eq!(x("${{ +3.5} ==level {3.5}}", &m), "true");
        assert_eq!(x("${{3.10} <level {3.9}?{lt}:{ge}}", &m), "ge");
    }

    #[test]
    fn errors() {
        let m = map(&[("a", "1")]);
        assert_eq!(x("costs 5$", &m), "ERR empty macro name: \"costs 5$\"");
        assert_eq!(x("${a", &m), "ERR truncated macro reference: \"${a\"");
        assert_eq!(x("$(a}", &m), "ERR truncated macro reference: \"$(a}\"");
        assert_eq!(x("${}", &m), "ERR empty macro name: \"${}\"");
        assert_eq!(
            x("${mydomain=={example.com}?{x}:{y}}", &m),
            "ERR attribute name syntax error at: \"...mydomain>>>=={example.com}?{x}:\""
        );
        assert_eq!(
            x("${a b} $", &m),
            "ERR attribute name syntax error at: \"...a>>> b\" | empty macro name: \"${a b} $\""
        );
        assert_eq!(
            x("${{a} ==x {b}}", &m),
            "ERR bad operator suffix at: \"...==>>>x\""
        );
        assert_eq!(
            x("${{a} {b}}", &m),
            "ERR \"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...a}>>>{b}\""
        );
        assert_eq!(
            x("${{a} == b}", &m),
            "ERR \"{expression}\" expected at: \"...{a} ==>>> b\""
        );
        assert_eq!(
            x("${{a} == {b} x}", &m),
            "ERR \"?\" or \":\" expected at: \"...}>>>x\""
        );
        assert_eq!(
            x("${{a} == {b}?{x}y}", &m),
            "ERR \":\" expected at: \"...x}>>>y\""
        );
        assert_eq!(
            x("${a?{x}:{y}:z}", &m),
            "ERR unexpected input at: \"...y}>>>:z\""
        );
        assert_eq!(
            x("${a?{x}", &m),
            "ERR truncated macro reference: \"${a?{x}\""
        );
        assert_eq!(
            x("${{3.10} >level {x}}", &m),
            "ERR malformed compatibility level syntax: \"x\""
        );
        assert_eq!(
            x("${{99999999999999999999} == {1}}", &m),
            "ERR mac_exp_eval: bad conversion: 99999999999999999999"
        );
        assert_eq!(x("${a?{x", &m), "ERR truncated macro reference: \"${a?{x\"");
        assert_eq!(
            x("${a?{x}", &m),
            "ERR truncated macro reference: \"${a?{x}\""
        );
        assert_eq!(x("${{x}", &m), "ERR truncated macro reference: \"${{x}\"");
        assert_eq!(
            x("$({x)", &m),
            "ERR unbalanced {} in attribute expression: \"{x\""
        );
    }

    #[test]
    fn recursion_limit() {
        let m = map(&[("a", "$b"), ("b", "$a")]);
        let e = expand(b"$a", &m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnreasonableNesting);
        assert_eq!(e.to_string(), "unreasonable macro call nesting: \"b\"");
    }

    #[test]
    fn scan_sees_both_branches() {
        assert_eq!(
            references(b"${a?{$b}:{$c}} ${{$d} == {$e}} $(f)").unwrap(),
            ["a", "b", "c", "d", "e", "f"].map(|s| s.as_bytes().to_vec())
        );
        let m = map(&[("a", "1")]);
        assert_eq!(x("${a:$}", &m), "");
        let s = scan(b"${a:$}");
        assert_eq!(s.names().collect::<Vec<_>>(), vec![b"a"]);
        assert_eq!(s.error().unwrap().to_string(), "empty macro name: \"$\"");
        assert_eq!(references(b"${ }").unwrap(), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn undefined_list() {
        let m = map(&[("a", "$zz")]);
        let e = expand(b"$a ${yy?q} $a", &m).unwrap();
        assert_eq!(e.undefined, vec![b"zz".to_vec(), b"yy".to_vec()]);
    }

    #[test]
    fn nul_ends_input() {
        let m = map(&[("a", "x\0$")]);
        assert_eq!(x("$a\0$", &m), "x");
    }

    #[test]
    fn strtol_and_levels() {
        assert_eq!(strtol(b"9223372036854775807"), (i64::MAX, false, 19));
        assert!(strtol(b"9223372036854775808").1);
        assert_eq!(compat_level(b"3.10"), Some((3 << 20) | (10 << 10)));
        assert_eq!(compat_level(b"3.9.1"), Some((3 << 20) | (9 << 10) | 1));
        assert_eq!(compat_level(b"3.1024"), None);
        assert_eq!(compat_level(b"-1"), None);
        assert_eq!(compat_level(b"-0"), Some(0));
        assert_eq!(compat_level(b"3."), None);
        assert_eq!(compat_level(b""), None);
        assert_eq!(compat_level(b"3.9 "), None);
    }
}
