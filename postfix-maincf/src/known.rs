//! Which parameter names `postconf` knows, for a given main.cf and master.cf.
//!
//! `postconf -n` prints only the main.cf parameters it knows; every other
//! main.cf name gets `warning: DIR/main.cf: unused parameter: NAME=VALUE`.
//! Postfix 3.7 (postconf_builtin.c, postconf_service.c, postconf_user.c,
//! postconf_dbms.c) knows:
//!
//! * the built-in names (what `postconf -d` lists) and the legacy names
//!   (`virtual_maps`, `fallback_relay`, ... see
//!   [`crate::defaults::is_legacy`]);
//! * service-dependent names `SERVICE_SUFFIX` for every master.cf service
//!   whose command is `local`, `error`, `virtual`, `smtp`, `lmtp` (the
//!   delivery-agent suffixes such as `_destination_concurrency_limit`),
//!   `pipe` (those and `_time_limit`) or `spawn` (`_time_limit` only);
//! * user-defined names that main.cf defines **and** that are referenced
//!   as `$name` / `${name...}` / `$(name...)` in any main.cf value (also
//!   values of unknown parameters, but not of the raw built-ins such as
//!   `mailbox_command`, see [`crate::defaults::is_raw`]), in a master.cf
//!   `-o name=value` (unless that service defines the name itself with
//!   `-o`), or in a built-in default that main.cf does not override;
//! * user-defined names that main.cf defines and that appear in the
//!   (recursively expanded, main.cf values only) value of
//!   `smtpd_restriction_classes`, in main.cf or in a master.cf `-o`;
//! * for every `ldap:`, `mysql:`, `pgsql:`, `sqlite:` or `memcache:` table
//!   reference `TYPE:prefix` (also behind `proxy:`, and inside `{ }`) in the
//!   fully expanded value of a built-in or service-dependent parameter set
//!   in main.cf or in a master.cf `-o`: the names `prefix_SUFFIX` for that
//!   client's suffixes (see [`crate::defaults::dbms_suffixes`]) that main.cf
//!   defines.
//!
//! Assignments of `process_id`, `process_name` and `service_name` are
//! deleted with `read-only parameter assignment: NAME=VALUE` (neither
//! printed nor "unused").
//!
//! ```
//! use postfix_maincf::{MainCf, known::Known};
//!
//! let cf = MainCf::parse(b"my_relay = [x]:587\nrelayhost = $my_relay\nunused_one = 1\n");
//! let known = Known::new(&cf, b"");
//! assert!(known.is_known(b"my_relay"));
//! assert!(!known.is_known(b"unused_one"));
//! assert_eq!(known.unused_main(), vec![(b"unused_one".to_vec(), b"1".to_vec())]);
//!
//! let cf = MainCf::parse(b"relay_destination_concurrency_limit = 2\n");
//! assert!(!Known::new(&cf, b"").is_known(b"relay_destination_concurrency_limit"));
//! let master = b"relay unix - - n - - smtp\n";
//! assert!(Known::new(&cf, master).is_known(b"relay_destination_concurrency_limit"));
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crate::defaults::{self, Defaults, HostDefaults};
use postfix_table::lines::{self, Segment};

// ---------------------------------------------------------------------------
// `$` expressions (mac_parse + mac_expand semantics).
// TODO(lead): switch to expand::references / the expand module once it lands.

/// A malformed `$` expression, or runaway nesting (postconf makes either
/// fatal for the whole command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError;

/// Postfix refuses more than 100 nested macro calls.
const MAX_LEVEL: usize = 100;
/// Hard cap on our own recursion (relational operands restart Postfix's
/// count, ours keeps counting), so hostile input cannot exhaust the stack.
const MAX_STACK: usize = 300;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).copied().is_some_and(is_ws) {
        i += 1;
    }
    i
}

/// Where a lookup came from, for [`Engine`].
trait Lookup {
    /// `None` = undefined.
    fn lookup(&mut self, name: &[u8]) -> Option<Vec<u8>>;
}

struct Engine<'a> {
    scan: bool,
    lookup: &'a mut dyn Lookup,
    names: Vec<Vec<u8>>,
    out: Vec<u8>,
}

/// One piece of a value split by `mac_parse()`.
enum Piece<'a> {
    Literal(&'a [u8]),
    Dollar,
    Expr(&'a [u8]),
}

/// Splits `s` like `mac_parse()`: literal text, `$$`, and the contents of
/// `$name`, `${...}`, `$(...)`.
fn mac_parse(s: &[u8]) -> Result<Vec<Piece<'_>>, ExpandError> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = 0;
    while let Some(&b) = s.get(i) {
        if b != b'$' {
            i += 1;
            continue;
        }
        if lit < i {
            out.push(Piece::Literal(s.get(lit..i).unwrap_or_default()));
        }
        match s.get(i + 1) {
            Some(b'$') => {
                out.push(Piece::Dollar);
                i += 2;
            }
            Some(&open @ (b'{' | b'(')) => {
                let close = if open == b'{' { b'}' } else { b')' };
                let start = i + 2;
                let mut level = 1usize;
                let mut j = start;
                loop {
                    match s.get(j) {
                        None => return Err(ExpandError),
                        Some(&c) if c == open => level += 1,
                        Some(&c) if c == close => {
                            level -= 1;
                            if level == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                    j += 1;
                }
                let inner = s.get(start..j).unwrap_or_default();
                if inner.is_empty() {
                    return Err(ExpandError);
                }
                out.push(Piece::Expr(inner));
                i = j + 1;
            }
            _ => {
                let start = i + 1;
                let mut j = start;
                while s.get(j).copied().is_some_and(is_name_byte) {
                    j += 1;
                }
                if j == start {
                    return Err(ExpandError);
                }
                out.push(Piece::Expr(s.get(start..j).unwrap_or_default()));
                i = j;
            }
        }
        lit = i;
    }
    if lit < s.len() {
        out.push(Piece::Literal(s.get(lit..).unwrap_or_default()));
    }
    Ok(out)
}

/// `{payload}` starting at `s[i] == '{'`: returns the payload and the index
/// after the closing brace and any whitespace.
fn curly(s: &[u8], i: usize) -> Result<(&[u8], usize), ExpandError> {
    let mut level = 0usize;
    let mut j = i;
    while let Some(&c) = s.get(j) {
        if c == b'{' {
            level += 1;
        } else if c == b'}' {
            level -= 1;
            if level == 0 {
                let payload = s.get(i + 1..j).unwrap_or_default();
                return Ok((payload, skip_ws(s, j + 1)));
            }
        }
        j += 1;
    }
    Err(ExpandError)
}

fn parse_compat_level(s: &[u8]) -> Option<(u64, u64, u64)> {
    let mut parts = s.split(|&b| b == b'.');
    let num = |p: Option<&[u8]>| -> Option<Option<u64>> {
        match p {
            None => Some(None),
            Some(p) if !p.is_empty() && p.iter().all(u8::is_ascii_digit) => {
                std::str::from_utf8(p).ok()?.parse().ok().map(Some)
            }
            Some(_) => None,
        }
    };
    let major = num(parts.next())??;
    let minor = num(parts.next())?;
    let patch = num(parts.next())?;
    if parts.next().is_some() || (minor.is_none() && patch.is_some()) {
        return None;
    }
    Some((major, minor.unwrap_or(0), patch.unwrap_or(0)))
}

fn relop(left: &[u8], op: &[u8], level: bool, right: &[u8]) -> Result<bool, ExpandError> {
    use std::cmp::Ordering;
    let ord = if level {
        let l = parse_compat_level(left).ok_or(ExpandError)?;
        let r = parse_compat_level(right).ok_or(ExpandError)?;
        l.cmp(&r)
    } else {
        let dig = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
        if dig(left) && dig(right) {
            let n = |s: &[u8]| -> Result<i64, ExpandError> {
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or(ExpandError)
            };
            n(left)?.cmp(&n(right)?)
        } else {
            left.cmp(right)
        }
    };
    Ok(match op {
        b"==" => ord == Ordering::Equal,
        b"!=" => ord != Ordering::Equal,
        b"<" => ord == Ordering::Less,
        b"<=" => ord != Ordering::Greater,
        b">=" => ord != Ordering::Less,
        b">" => ord == Ordering::Greater,
        _ => return Err(ExpandError),
    })
}

impl Engine<'_> {
    fn run(&mut self, s: &[u8], level: usize, stack: usize) -> Result<(), ExpandError> {
        if stack > MAX_STACK {
            return Err(ExpandError);
        }
        for piece in mac_parse(s)? {
            match piece {
                Piece::Literal(t) => {
                    if !self.scan {
                        self.out.extend_from_slice(t);
                    }
                }
                Piece::Dollar => {
                    if !self.scan {
                        self.out.push(b'$');
                    }
                }
                Piece::Expr(e) => self.expr(e, level + 1, stack + 1)?,
            }
        }
        Ok(())
    }

    /// One `${...}` body (or a plain `$name`'s name).
    fn expr(&mut self, s: &[u8], level: usize, stack: usize) -> Result<(), ExpandError> {
        if level > MAX_LEVEL + 1 {
            return Err(ExpandError);
        }
        let mut cp;
        let op;
        // `Some(value)` = defined; for relational expressions "true"/"".
        let looked_up: Option<Vec<u8>>;
        let first = skip_ws(s, 0);
        if s.get(first) == Some(&b'{') {
            let (left, i) = curly(s, first)?;
            let op_len = s
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| b"<>!=?+-*/~&|%".contains(b))
                .count();
            let operator = s.get(i..i + op_len).unwrap_or_default();
            if !matches!(operator, b"==" | b"!=" | b"<" | b"<=" | b">=" | b">") {
                return Err(ExpandError);
            }
            let mut j = i + op_len;
            let mut level_op = false;
            if s.get(j).is_some_and(u8::is_ascii_alphanumeric) {
                let k = s
                    .get(j..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
                if s.get(j..j + k) != Some(&b"level"[..]) {
                    return Err(ExpandError);
                }
                level_op = true;
                j += k;
            }
            let j = skip_ws(s, j);
            if s.get(j) != Some(&b'{') {
                return Err(ExpandError);
            }
            let (right, k) = curly(s, j)?;
            let l = self.operand(left, stack)?;
            let r = self.operand(right, stack)?;
            looked_up = if self.scan {
                None
            } else if relop(&l, operator, level_op, &r)? {
                Some(b"true".to_vec())
            } else {
                Some(Vec::new())
            };
            cp = k;
            op = match s.get(cp) {
                None => 0,
                Some(&c @ (b'?' | b':')) => {
                    cp += 1;
                    c
                }
                Some(_) => return Err(ExpandError),
            };
        } else {
            let start = first;
            let mut i = start;
            loop {
                let t = skip_ws(s, i);
                match s.get(t) {
                    None => {
                        op = 0;
                        cp = t;
                        break;
                    }
                    Some(&c @ (b'?' | b':')) => {
                        op = c;
                        cp = t + 1;
                        break;
                    }
                    Some(_) => {}
                }
                if !s.get(i).copied().is_some_and(is_name_byte) {
                    return Err(ExpandError);
                }
                i += 1;
            }
            let name = s.get(start..i).unwrap_or_default();
            if self.scan {
                if !name.is_empty() {
                    self.names.push(name.to_vec());
                }
                looked_up = None;
            } else {
                looked_up = self.lookup.lookup(name);
            }
        }
        let non_empty = looked_up.as_ref().is_some_and(|v| !v.is_empty());
        let branch = |cp: usize| -> Result<(&[u8], usize), ExpandError> {
            let t = skip_ws(s, cp);
            if s.get(t) == Some(&b'{') {
                curly(s, t)
            } else {
                Ok((s.get(cp..).unwrap_or_default(), s.len()))
            }
        };
        match op {
            b'?' => {
                let (text, next) = branch(cp)?;
                if non_empty || self.scan {
                    self.run(text, level, stack + 1)?;
                }
                match s.get(next) {
                    None => return Ok(()),
                    Some(b':') => {}
                    Some(_) => return Err(ExpandError),
                }
                let (text, next) = branch(next + 1)?;
                if !non_empty || self.scan {
                    self.run(text, level, stack + 1)?;
                }
                if next < s.len() {
                    return Err(ExpandError);
                }
            }
            b':' => {
                let (text, next) = branch(cp)?;
                if !non_empty || self.scan {
                    self.run(text, level, stack + 1)?;
                }
                if next < s.len() {
                    return Err(ExpandError);
                }
            }
            _ => {
                if let Some(v) = looked_up
                    && !v.is_empty()
                    && !self.scan
                {
                    self.run(&v, level, stack + 1)?;
                }
            }
        }
        Ok(())
    }

    /// A relational operand: expanded on its own (Postfix restarts its
    /// nesting count there).
    fn operand(&mut self, text: &[u8], stack: usize) -> Result<Vec<u8>, ExpandError> {
        let saved = std::mem::take(&mut self.out);
        let r = self.run(text, 0, stack + 1);
        let value = std::mem::replace(&mut self.out, saved);
        r.map(|()| value)
    }
}

struct NoLookup;
impl Lookup for NoLookup {
    fn lookup(&mut self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

struct FnLookup<'a>(&'a dyn Fn(&[u8]) -> Option<Vec<u8>>);
impl Lookup for FnLookup<'_> {
    fn lookup(&mut self, name: &[u8]) -> Option<Vec<u8>> {
        (self.0)(name)
    }
}

/// The parameter names a value refers to, as postconf's scan finds them:
/// every `$name`, `${name}`, `$(name)`, `${name?...}`, `${name:...}`, in
/// both branches of conditionals and in relational operands, in order
/// (duplicates kept).
pub(crate) fn scan_references(value: &[u8]) -> Result<Vec<Vec<u8>>, ExpandError> {
    let mut l = NoLookup;
    let mut e = Engine {
        scan: true,
        lookup: &mut l,
        names: Vec::new(),
        out: Vec::new(),
    };
    e.run(value, 0, 0)?;
    Ok(e.names)
}

/// Expands `value` recursively like Postfix's `mac_expand()` with
/// recursion: `lookup` gives a name's raw value (`None` = undefined, which
/// expands to nothing).
pub(crate) fn expand_recursive(
    value: &[u8],
    lookup: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, ExpandError> {
    let mut l = FnLookup(lookup);
    let mut e = Engine {
        scan: false,
        lookup: &mut l,
        names: Vec::new(),
        out: Vec::new(),
    };
    e.run(value, 0, 0)?;
    Ok(e.out)
}

// ---------------------------------------------------------------------------
// master.cf

/// Why postconf refuses a master.cf (fatal for every postconf command that
/// reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterCfError {
    /// 1-based number of the last physical line of the offending entry.
    pub line: usize,
    /// What is wrong, in postconf's words (e.g. `bad field count`).
    pub message: String,
}

impl fmt::Display for MasterCfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "master.cf: line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for MasterCfError {}

/// One master.cf service entry, as postconf reads it (postconf_master.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// 1-based first physical line.
    pub line: usize,
    /// The fields: 8 standard ones (service, type, private, unpriv, chroot,
    /// wakeup, maxproc, command) followed by the command arguments, split on
    /// blanks with `{ }` groups kept together, daemon options normalised
    /// the way postconf does (`-oname=value` and `-o { name = value }`
    /// become `-o`, `name=value`; other `{...}` arguments lose their braces).
    pub fields: Vec<Vec<u8>>,
    /// The `-o name=value` overrides, in order (later ones win).
    pub overrides: Vec<(Vec<u8>, Vec<u8>)>,
}

impl MasterEntry {
    fn field(&self, i: usize) -> &[u8] {
        self.fields.get(i).map(Vec::as_slice).unwrap_or_default()
    }

    /// The service name (first field), e.g. `smtp` or `127.0.0.1:10025`.
    pub fn service(&self) -> &[u8] {
        self.field(0)
    }

    /// The service type (second field): `unix`, `inet`, `fifo`, `pass`,
    /// `unix-dgram`.
    pub fn service_type(&self) -> &[u8] {
        self.field(1)
    }

    /// The command name (eighth field), e.g. `smtp`, `pipe`.
    pub fn command(&self) -> &[u8] {
        self.field(7)
    }
}

const MASTER_MIN_FIELDS: usize = 8;

/// `mystrtokq()`: tokens separated by `sep` bytes outside `{ }`.
fn split_quoted(s: &[u8], sep: fn(u8) -> bool) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while s.get(i).copied().is_some_and(sep) {
            i += 1;
        }
        if i >= s.len() {
            return out;
        }
        let start = i;
        let mut level = 0usize;
        while let Some(&c) = s.get(i) {
            if c == b'{' {
                level += 1;
            } else if level > 0 && c == b'}' {
                level -= 1;
            } else if level == 0 && sep(c) {
                break;
            }
            i += 1;
        }
        out.push(s.get(start..i).unwrap_or_default());
    }
}

fn is_c_space(b: u8) -> bool {
    lines::is_space(b)
}

/// `extpar()`: the text inside a leading `{ }` group (to the matching
/// brace; without one, everything after the `{`); with `strip`, also
/// trimmed of whitespace.
fn extpar(s: &[u8], strip: bool) -> Vec<u8> {
    let mut level = 0usize;
    let mut inner = s.get(1..).unwrap_or_default();
    if s.first() == Some(&b'{') {
        for (i, &c) in s.iter().enumerate() {
            if c == b'{' {
                level += 1;
            } else if c == b'}' {
                level -= 1;
                if level == 0 {
                    inner = s.get(1..i).unwrap_or_default();
                    break;
                }
            }
        }
    } else {
        inner = s;
    }
    if strip {
        let end = inner
            .iter()
            .rposition(|&b| !is_c_space(b))
            .map_or(0, |p| p + 1);
        let start = inner.iter().position(|&b| !is_c_space(b)).unwrap_or(end);
        inner = inner.get(start..end).unwrap_or_default();
    }
    inner.to_vec()
}

/// `split_nameval()`: `(name, value)` or `None` when malformed.
fn split_nameval(s: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let np = s.iter().position(|&b| !is_c_space(b))?;
    let rest = s.get(np..)?;
    if rest.first() == Some(&b'=') {
        return None;
    }
    let nlen = rest
        .iter()
        .position(|&b| is_c_space(b) || b == b'=')
        .unwrap_or(rest.len());
    let name = rest.get(..nlen)?;
    let after = rest.get(nlen..)?;
    let eq = after.iter().position(|&b| !is_c_space(b))?;
    if after.get(eq) != Some(&b'=') {
        return None;
    }
    let value = lines::trim_space(after.get(eq + 1..)?);
    Some((name.to_vec(), value.to_vec()))
}

fn check_master_entry(fields: &[&[u8]]) -> Result<(), String> {
    let f = |i: usize| fields.get(i).copied().unwrap_or_default();
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if !matches!(f(1), b"unix" | b"fifo" | b"inet" | b"pass" | b"unix-dgram") {
        return Err(format!("invalid type field \"{}\"", show(f(1))));
    }
    for (i, what) in [(2, "private"), (3, "unprivileged"), (4, "chroot")] {
        if !matches!(f(i), b"y" | b"n" | b"-") {
            return Err(format!("invalid {what} field \"{}\"", show(f(i))));
        }
    }
    let w = f(5);
    let w2 = w.strip_suffix(b"?").unwrap_or(w);
    if !(w2 == b"-" || w2.iter().all(u8::is_ascii_digit)) {
        return Err(format!("invalid wakeup field \"{}\"", show(w)));
    }
    let m = f(6);
    if !(m == b"-" || m.iter().all(u8::is_ascii_digit)) {
        return Err(format!("invalid process_limit field \"{}\"", show(m)));
    }
    Ok(())
}

/// Reads master.cf the way postconf does: logical lines as in main.cf
/// (comments, blank lines and continuation lines), each split into fields;
/// an entry with fewer than 8 fields or an invalid type, private,
/// unprivileged, chroot, wakeup or process_limit field is an error.
pub fn parse_master_cf(src: &[u8]) -> Result<Vec<MasterEntry>, MasterCfError> {
    let mut logical = Vec::new();
    lines::for_each_segment(src, |seg| {
        if let Segment::Logical(l) = seg
            && !l.leading_whitespace
        {
            logical.push((l.range.clone(), l.first_line, l.last_line));
        }
    });
    let mut out = Vec::new();
    for (range, first_line, last_line) in logical {
        let text = lines::logical_text(src.get(range).unwrap_or_default());
        let text = lines::c_string(&text);
        let raw_fields = split_quoted(text, is_ws);
        if raw_fields.len() < MASTER_MIN_FIELDS {
            return Err(MasterCfError {
                line: last_line,
                message: "bad field count".to_owned(),
            });
        }
        check_master_entry(&raw_fields).map_err(|m| MasterCfError {
            line: last_line,
            message: format!(
                "{m} in \"{}\"",
                String::from_utf8_lossy(text).replace('\n', " ")
            ),
        })?;
        let mut fields: Vec<Vec<u8>> = raw_fields.iter().map(|f| f.to_vec()).collect();
        normalize_daemon_args(&mut fields);
        let overrides = collect_overrides(&fields);
        out.push(MasterEntry {
            line: first_line,
            fields,
            overrides,
        });
    }
    Ok(out)
}

/// `pcf_normalize_daemon_args()`.
fn normalize_daemon_args(argv: &mut Vec<Vec<u8>>) {
    let mut field = MASTER_MIN_FIELDS;
    while let Some(arg) = argv.get(field).cloned() {
        if arg.first() != Some(&b'-') || arg == b"--" {
            break;
        }
        // Split "-stuffozz" into "-stuff" and "-ozz".
        if let Some(p) = arg.iter().skip(2).position(|&b| b == b'o') {
            let at = p + 2;
            let mut tail = vec![b'-'];
            tail.extend_from_slice(arg.get(at..).unwrap_or_default());
            argv.insert(field + 1, tail);
            if let Some(a) = argv.get_mut(field) {
                a.truncate(at);
            }
            field += 1;
            continue;
        }
        let opt = arg.get(1).copied();
        if !matches!(opt, Some(b'o') | None) {
            field += 1;
            continue;
        }
        let extract;
        if arg.len() > 2 {
            argv.insert(field + 1, arg.get(2..).unwrap_or_default().to_vec());
            if let Some(a) = argv.get_mut(field) {
                a.truncate(2);
            }
            field += 1;
            extract = argv.get(field).is_some_and(|a| a.first() == Some(&b'{'));
        } else if argv.get(field + 1).is_some() {
            field += 1;
            extract = argv.get(field).is_some_and(|a| a.first() == Some(&b'{'));
        } else {
            extract = false;
        }
        if extract && let Some(a) = argv.get(field) {
            let mut inner = extpar(a, true);
            if opt == Some(b'o')
                && let Some((n, v)) = split_nameval(&inner)
            {
                inner = n;
                inner.push(b'=');
                inner.extend_from_slice(&v);
            }
            if let Some(slot) = argv.get_mut(field) {
                *slot = inner;
            }
        }
        field += 1;
    }
    while let Some(a) = argv.get_mut(field) {
        if a.first() == Some(&b'{') {
            *a = extpar(a, true);
        }
        field += 1;
    }
}

/// The `-o name=value` pairs, as `pcf_register_user_parameters()` collects
/// them.
fn collect_overrides(argv: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut field = MASTER_MIN_FIELDS;
    while let Some(arg) = argv.get(field) {
        if arg.first() != Some(&b'-') || arg == b"--" {
            break;
        }
        if matches!(arg.get(1), Some(b'o') | None)
            && let Some(val) = argv.get(field + 1)
        {
            if arg == b"-o"
                && let Some(nv) = split_nameval(val)
            {
                out.push(nv);
            }
            field += 1;
        }
        field += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Known names

/// Suffixes of the service-dependent parameters of delivery agents
/// (postconf_service.c; default `$default_...` / `$command_time_limit`).
const DELIVERY_SUFFIXES: &[(&str, &str)] = &[
    ("_recipient_limit", "default_recipient_limit"),
    ("_extra_recipient_limit", "default_extra_recipient_limit"),
    ("_recipient_refill_limit", "default_recipient_refill_limit"),
    ("_recipient_refill_delay", "default_recipient_refill_delay"),
    ("_delivery_slot_cost", "default_delivery_slot_cost"),
    ("_delivery_slot_loan", "default_delivery_slot_loan"),
    ("_delivery_slot_discount", "default_delivery_slot_discount"),
    ("_minimum_delivery_slots", "default_minimum_delivery_slots"),
    (
        "_initial_destination_concurrency",
        "initial_destination_concurrency",
    ),
    (
        "_destination_concurrency_limit",
        "default_destination_concurrency_limit",
    ),
    (
        "_destination_recipient_limit",
        "default_destination_recipient_limit",
    ),
    (
        "_destination_concurrency_positive_feedback",
        "default_destination_concurrency_positive_feedback",
    ),
    (
        "_destination_concurrency_negative_feedback",
        "default_destination_concurrency_negative_feedback",
    ),
    (
        "_destination_concurrency_failed_cohort_limit",
        "default_destination_concurrency_failed_cohort_limit",
    ),
    ("_destination_rate_delay", "default_destination_rate_delay"),
    ("_transport_rate_delay", "default_transport_rate_delay"),
];
const TIME_LIMIT_SUFFIX: (&str, &str) = ("_time_limit", "command_time_limit");

/// The service-dependent suffixes (with the parameter their default
/// refers to) that a master.cf service with this command makes known.
pub fn service_suffixes(command: &[u8]) -> Vec<(&'static str, &'static str)> {
    match command {
        b"local" | b"error" | b"virtual" | b"smtp" | b"lmtp" => DELIVERY_SUFFIXES.to_vec(),
        b"pipe" => std::iter::once(TIME_LIMIT_SUFFIX)
            .chain(DELIVERY_SUFFIXES.iter().copied())
            .collect(),
        b"spawn" => vec![TIME_LIMIT_SUFFIX],
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Builtin,
    Service,
    /// User-defined (also legacy names once set, and database names).
    User,
    Legacy,
    ReadOnly,
}

#[derive(Debug, Clone)]
struct Node {
    class: Class,
    raw: bool,
    /// Default for service-dependent parameters (`$name`).
    service_default: Option<Vec<u8>>,
}

/// One master.cf name space (shared by entries with the same service and
/// type, as in postconf).
#[derive(Debug, Clone, Default)]
struct Space {
    params: BTreeMap<Vec<u8>, Vec<u8>>,
}

#[derive(Debug, Clone)]
struct Local {
    space: usize,
    /// `process_name` and `service_name` of the entry.
    process_name: Vec<u8>,
    service_name: Vec<u8>,
    valid: HashSet<Vec<u8>>,
    label: Vec<u8>,
}

/// The names postconf knows for one main.cf and master.cf.
#[derive(Debug, Clone)]
pub struct Known {
    table: HashMap<Vec<u8>, Node>,
    main: BTreeMap<Vec<u8>, Vec<u8>>,
    read_only_main: Vec<(Vec<u8>, Vec<u8>)>,
    spaces: Vec<Space>,
    locals: Vec<Local>,
    read_only_master: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    master_error: Option<MasterCfError>,
    defaults: Defaults,
}

struct Ctx<'a> {
    table: &'a mut HashMap<Vec<u8>, Node>,
    main: &'a BTreeMap<Vec<u8>, Vec<u8>>,
    spaces: &'a [Space],
    locals: &'a mut [Local],
    defaults: &'a Defaults,
}

impl Ctx<'_> {
    /// `pcf_flag_user_parameter()`.
    fn flag(&mut self, name: &[u8], local: Option<usize>) {
        if let Some(li) = local {
            let space = self.locals.get(li).map(|l| l.space);
            if let Some(sp) = space.and_then(|s| self.spaces.get(s))
                && sp.params.contains_key(name)
            {
                if let Some(l) = self.locals.get_mut(li) {
                    l.valid.insert(name.to_vec());
                }
                return;
            }
        }
        if self.main.contains_key(name) && !self.table.contains_key(name) {
            self.table.insert(
                name.to_vec(),
                Node {
                    class: Class::User,
                    raw: false,
                    service_default: None,
                },
            );
        }
        if local.is_none() {
            for l in self.locals.iter_mut() {
                if self
                    .spaces
                    .get(l.space)
                    .is_some_and(|s| s.params.contains_key(name))
                {
                    l.valid.insert(name.to_vec());
                }
            }
        }
    }

    fn scan_value(&mut self, value: &[u8], local: Option<usize>) {
        // A malformed value makes postconf fatal; nothing more to learn.
        if let Ok(names) = scan_references(value) {
            for n in names {
                self.flag(&n, local);
            }
        }
    }

    fn default_of(&self, name: &[u8]) -> Option<Vec<u8>> {
        let node = self.table.get(name)?;
        if let Some(d) = &node.service_default {
            return Some(d.clone());
        }
        match node.class {
            Class::Builtin | Class::ReadOnly | Class::Service | Class::Legacy => Some(
                self.defaults
                    .get(name)
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            ),
            Class::User => Some(
                defaults::default_value(name)
                    .and_then(|_| self.defaults.get(name).map(|v| v.into_owned()))
                    .unwrap_or_default(),
            ),
        }
    }

    /// `pcf_lookup_parameter_value()` for `-n` expansion.
    fn lookup_value(&self, name: &[u8], local: Option<usize>) -> Option<Vec<u8>> {
        if let Some(l) = local.and_then(|i| self.locals.get(i)) {
            match name {
                b"process_name" => return Some(l.process_name.clone()),
                b"service_name" => return Some(l.service_name.clone()),
                _ => {}
            }
            if let Some(v) = self.spaces.get(l.space).and_then(|s| s.params.get(name)) {
                return Some(v.clone());
            }
        }
        if let Some(v) = self.main.get(name) {
            return Some(v.clone());
        }
        self.default_of(name)
    }

    /// `pcf_register_dbms_parameters()`.
    fn dbms(&mut self, value: &[u8], local: Option<usize>) {
        let expanded = {
            let this = &*self;
            let f = |n: &[u8]| this.lookup_value(n, local);
            match expand_recursive(value, &f) {
                Ok(v) => v,
                Err(_) => return,
            }
        };
        let mut work = vec![expanded];
        let mut candidates = Vec::new();
        while let Some(text) = work.pop() {
            for token in split_quoted(&text, |b| b == b',' || is_ws(b)) {
                if token.first() == Some(&b'{') {
                    work.push(extpar(token, false));
                    continue;
                }
                let mut db_type = token;
                let mut prefix = None;
                while let Some(p) = db_type.iter().position(|&b| b == b':') {
                    let (t, rest) = (
                        db_type.get(..p).unwrap_or_default(),
                        db_type.get(p + 1..).unwrap_or_default(),
                    );
                    prefix = Some(rest);
                    if t == b"proxy" {
                        db_type = rest;
                        prefix = None;
                    } else {
                        db_type = t;
                        break;
                    }
                }
                let Some(prefix) = prefix else { continue };
                match prefix.first() {
                    Some(b'/') | Some(b'.') => {}
                    Some(b'{') => work.push(extpar(prefix, false)),
                    _ => {
                        if let Some(sfx) = defaults::dbms_suffixes(db_type) {
                            for s in sfx {
                                let mut n = prefix.to_vec();
                                n.push(b'_');
                                n.extend_from_slice(s.as_bytes());
                                candidates.push(n);
                            }
                        }
                    }
                }
            }
        }
        for c in candidates {
            self.flag(&c, local);
        }
    }

    /// `smtpd_restriction_classes` in one name space: its value expanded
    /// with that name space's values only.
    fn restriction_classes(&mut self, params: &BTreeMap<Vec<u8>, Vec<u8>>, local: Option<usize>) {
        let Some(v) = params.get(&b"smtpd_restriction_classes"[..]) else {
            return;
        };
        let f = |n: &[u8]| params.get(n).cloned();
        let Ok(list) = expand_recursive(v, &f) else {
            return;
        };
        for name in list
            .split(|&b| b == b',' || is_ws(b))
            .filter(|n| !n.is_empty())
        {
            self.flag(name, local);
        }
    }

    /// `pcf_scan_user_parameter_namespace()` minus the restriction classes;
    /// returns the read-only assignments it deleted.
    fn scan_space(
        &mut self,
        params: &mut BTreeMap<Vec<u8>, Vec<u8>>,
        local: Option<usize>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut deleted = Vec::new();
        let entries: Vec<(Vec<u8>, Vec<u8>)> =
            params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, value) in entries {
            let node = self.table.get_mut(&name);
            let mut dbms = false;
            if let Some(node) = node {
                if node.class == Class::ReadOnly {
                    params.remove(&name);
                    deleted.push((name, value));
                    continue;
                }
                if node.class == Class::Legacy {
                    node.class = Class::User;
                }
                if node.raw {
                    continue;
                }
                dbms = matches!(node.class, Class::Builtin | Class::Service);
            }
            self.scan_value(&value, local);
            if dbms {
                self.dbms(&value, local);
            }
        }
        deleted
    }
}

impl Known {
    /// The names postconf knows for this main.cf and master.cf text
    /// (master.cf may be empty), with [`HostDefaults::default`] for the
    /// host-dependent defaults. A master.cf that postconf refuses is read
    /// up to the bad entry (see [`Known::master_cf_error`]).
    pub fn new(main: &crate::MainCf, master_cf: &[u8]) -> Known {
        Known::with_host(main, master_cf, HostDefaults::default())
    }

    /// Like [`Known::new`], failing when postconf refuses the master.cf.
    pub fn try_new(main: &crate::MainCf, master_cf: &[u8]) -> Result<Known, MasterCfError> {
        let k = Known::new(main, master_cf);
        match k.master_error {
            Some(e) => Err(e),
            None => Ok(k),
        }
    }

    /// Like [`Known::with_host`], failing when postconf refuses the
    /// master.cf.
    pub fn try_new_with_host(
        main: &crate::MainCf,
        master_cf: &[u8],
        host: HostDefaults,
    ) -> Result<Known, MasterCfError> {
        let k = Known::with_host(main, master_cf, host);
        match k.master_error {
            Some(e) => Err(e),
            None => Ok(k),
        }
    }

    /// Every name postconf knows in the global name space (what `postconf`
    /// without `-n` lists), unsorted.
    pub fn all_names(&self) -> Vec<Vec<u8>> {
        self.table
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Like [`Known::new`] with explicit host defaults (they only matter
    /// when a database reference is built from `$myhostname` or similar).
    pub fn with_host(main: &crate::MainCf, master_cf: &[u8], host: HostDefaults) -> Known {
        let defaults = Defaults::for_main_cf(host, main);
        let main_values: BTreeMap<Vec<u8>, Vec<u8>> = main.values().into_iter().collect();
        let (entries, master_error) = match parse_master_cf(master_cf) {
            Ok(e) => (e, None),
            Err(e) => {
                // Keep the entries before the bad one.
                let cut: Vec<u8> = master_cf
                    .split_inclusive(|&b| b == b'\n')
                    .take(e.line.saturating_sub(1))
                    .flatten()
                    .copied()
                    .collect();
                (parse_master_cf(&cut).unwrap_or_default(), Some(e))
            }
        };

        // Built-in, legacy and read-only names.
        let mut table: HashMap<Vec<u8>, Node> = HashMap::new();
        for name in defaults::builtin_names() {
            let class = if defaults::is_read_only(name) {
                Class::ReadOnly
            } else {
                Class::Builtin
            };
            table.insert(
                name.as_bytes().to_vec(),
                Node {
                    class,
                    raw: defaults::is_raw(name),
                    service_default: None,
                },
            );
        }
        for name in defaults::legacy_names() {
            table.insert(
                name.as_bytes().to_vec(),
                Node {
                    class: Class::Legacy,
                    raw: false,
                    service_default: None,
                },
            );
        }

        // Service-dependent names.
        for e in &entries {
            for (suffix, def) in service_suffixes(e.command()) {
                let mut name = e.service().to_vec();
                name.extend_from_slice(suffix.as_bytes());
                match table.get_mut(&name) {
                    Some(node) => node.class = Class::Service,
                    None => {
                        let mut d = b"$".to_vec();
                        d.extend_from_slice(def.as_bytes());
                        table.insert(
                            name,
                            Node {
                                class: Class::Service,
                                raw: false,
                                service_default: Some(d),
                            },
                        );
                    }
                }
            }
        }

        // master.cf name spaces.
        let mut space_index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut spaces: Vec<Space> = Vec::new();
        let mut locals: Vec<Local> = Vec::new();
        for e in &entries {
            let mut label = e.service().to_vec();
            label.push(b'/');
            label.extend_from_slice(e.service_type());
            let known_space = space_index.get(&label).copied();
            if e.overrides.is_empty() && known_space.is_none() {
                continue;
            }
            let si = match known_space {
                Some(i) => i,
                None => {
                    spaces.push(Space::default());
                    space_index.insert(label.clone(), spaces.len() - 1);
                    spaces.len() - 1
                }
            };
            if let Some(sp) = spaces.get_mut(si) {
                for (n, v) in &e.overrides {
                    sp.params.insert(n.clone(), v.clone());
                }
            }
            let cmd = e.command();
            let process_name = cmd
                .rsplit(|&b| b == b'/')
                .next()
                .unwrap_or_default()
                .to_vec();
            let service_name = if process_name.as_slice() != e.service() {
                e.service().to_vec()
            } else {
                process_name.clone()
            };
            locals.push(Local {
                space: si,
                process_name,
                service_name,
                valid: HashSet::new(),
                label,
            });
        }

        let mut main_values = main_values;
        let mut read_only_master = Vec::new();
        // Scan the master.cf name spaces.
        for li in 0..locals.len() {
            let Some(si) = locals.get(li).map(|l| l.space) else {
                continue;
            };
            let mut params = spaces.get(si).map(|s| s.params.clone()).unwrap_or_default();
            let label = locals.get(li).map(|l| l.label.clone()).unwrap_or_default();
            let deleted = {
                let mut ctx = Ctx {
                    table: &mut table,
                    main: &main_values,
                    spaces: &spaces,
                    locals: &mut locals,
                    defaults: &defaults,
                };
                ctx.restriction_classes(&params, Some(li));
                ctx.scan_space(&mut params, Some(li))
            };
            for (n, v) in deleted {
                read_only_master.push((label.clone(), n, v));
            }
            if let Some(s) = spaces.get_mut(si) {
                s.params = params;
            }
        }

        // Scan the defaults of parameters main.cf leaves alone.
        {
            let mut ctx = Ctx {
                table: &mut table,
                main: &main_values,
                spaces: &spaces,
                locals: &mut locals,
                defaults: &defaults,
            };
            let mut names: Vec<Vec<u8>> = ctx
                .table
                .iter()
                .filter(|(n, node)| !node.raw && !ctx.main.contains_key(n.as_slice()))
                .map(|(n, _)| n.clone())
                .collect();
            names.sort();
            for n in names {
                if let Some(d) = ctx.default_of(&n) {
                    ctx.scan_value(&d, None);
                }
            }
        }

        // Scan main.cf.
        let mut params = main_values.clone();
        let read_only_main = {
            let mut ctx = Ctx {
                table: &mut table,
                main: &main_values,
                spaces: &spaces,
                locals: &mut locals,
                defaults: &defaults,
            };
            ctx.restriction_classes(&params, None);
            ctx.scan_space(&mut params, None)
        };
        main_values = params;

        Known {
            table,
            main: main_values,
            read_only_main,
            spaces,
            locals,
            read_only_master,
            master_error,
            defaults,
        }
    }

    /// True when postconf knows `name` (in the global name space): `-n`
    /// prints it when main.cf sets it.
    pub fn is_known(&self, name: &[u8]) -> bool {
        self.table.contains_key(name)
    }

    /// True for the names `postconf -d` lists (service-dependent names not
    /// included).
    pub fn is_builtin(&self, name: &[u8]) -> bool {
        defaults::is_builtin(name)
    }

    /// True for service-dependent names made known by master.cf services.
    pub fn is_service(&self, name: &[u8]) -> bool {
        self.table
            .get(name)
            .is_some_and(|n| n.class == Class::Service)
    }

    /// The main.cf parameters `postconf -n` prints (sorted by name, byte
    /// order), with their raw values.
    pub fn shown_main(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.main
            .iter()
            .filter(|(n, _)| self.table.contains_key(n.as_slice()))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    /// The main.cf parameters postconf reports as `unused parameter:
    /// NAME=VALUE` (sorted by name; postconf's own order is random).
    pub fn unused_main(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.main
            .iter()
            .filter(|(n, _)| !self.table.contains_key(n.as_slice()))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    /// main.cf assignments of read-only parameters (`process_id`,
    /// `process_name`, `service_name`), which postconf deletes with
    /// `read-only parameter assignment: NAME=VALUE`.
    pub fn read_only_main(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.read_only_main
    }

    /// master.cf `-o` parameters postconf reports as `DIR/master.cf: unused
    /// parameter: NAME=VALUE`, as `(service/type, name, value)`, per entry
    /// in master.cf order, names sorted within an entry.
    pub fn unused_master(&self) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for l in &self.locals {
            let Some(sp) = self.spaces.get(l.space) else {
                continue;
            };
            for (n, v) in &sp.params {
                if !self.table.contains_key(n) && !l.valid.contains(n) {
                    out.push((l.label.clone(), n.clone(), v.clone()));
                }
            }
        }
        out
    }

    /// master.cf `-o` assignments of read-only parameters, as
    /// `(service/type, name, value)`.
    pub fn read_only_master(&self) -> &[(Vec<u8>, Vec<u8>, Vec<u8>)] {
        &self.read_only_master
    }

    /// Why postconf would refuse the master.cf, if it would.
    pub fn master_cf_error(&self) -> Option<&MasterCfError> {
        self.master_error.as_ref()
    }

    /// The defaults used (host-dependent ones adjusted to main.cf).
    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(s: &str) -> Vec<String> {
        scan_references(s.as_bytes())
            .unwrap()
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    #[test]
    fn scanner() {
        assert_eq!(refs("$a ${b} $(c) $$d"), ["a", "b", "c"]);
        assert_eq!(refs("${a?$b}${c:{$d}}"), ["a", "b", "c", "d"]);
        assert_eq!(refs("${a?{$b}:{$c}}"), ["a", "b", "c"]);
        assert_eq!(refs("${{$a} == {$b} ? {$c} : {$d}}"), ["a", "b", "c", "d"]);
        assert_eq!(refs("${{$a} <level {1} ? {no} : {yes}}"), ["a"]);
        assert_eq!(refs("$foo-bar $1x"), ["foo", "1x"]);
        assert!(scan_references(b"$").is_err());
        assert!(scan_references(b"${a").is_err());
        assert!(scan_references(b"${a b}").is_err());
        assert!(scan_references(b"${a=={x}?{y}}").is_err());
        let deep = "${a?".repeat(100_000);
        assert!(scan_references(deep.as_bytes()).is_err());
        let deep = format!("{}x{}", "${a?".repeat(200), "}".repeat(200));
        assert!(scan_references(deep.as_bytes()).is_err());
    }

    #[test]
    fn expander() {
        let l = |n: &[u8]| match n {
            b"a" => Some(b"A$b".to_vec()),
            b"b" => Some(b"B".to_vec()),
            b"e" => Some(Vec::new()),
            b"loop" => Some(b"$loop".to_vec()),
            _ => None,
        };
        let x = |s: &str| expand_recursive(s.as_bytes(), &l).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(x("$a-${b}$$").unwrap(), "AB-B$");
        assert_eq!(x("${e?x}${e:y}${b?{x y}:{z}}").unwrap(), "yx y");
        assert_eq!(x("${{$b} == {B} ? {t} : {f}}").unwrap(), "t");
        assert_eq!(x("${{10} > {9} ? {t} : {f}}").unwrap(), "t");
        assert_eq!(x("${{3.10} >level {3.9} ? {t} : {f}}").unwrap(), "t");
        assert!(x("$loop").is_err());
    }

    #[test]
    fn master_parsing() {
        let m = b"# c\nsmtp inet n - y - - smtpd\n  -o a=1 -o{ b = 2 } -vob=3\nbad unix\n";
        let err = parse_master_cf(m).unwrap_err();
        assert_eq!(err.message, "bad field count");
        let e = parse_master_cf(&m[..m.len() - 9]).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].overrides,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec()),
                (b"b".to_vec(), b"3".to_vec())
            ]
        );
    }
}
