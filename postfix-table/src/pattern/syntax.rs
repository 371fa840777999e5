//! One logical line of a pattern table, read the way Postfix's
//! `dict_regexp.c`, `dict_pcre.c` and `dict_cidr.c` read it (semantics
//! re-implemented, not ported): patterns with their delimiter and flags,
//! negation, the result text and its `$n` references (Postfix's
//! `mac_parse()`), `if`/`endif`, and CIDR patterns.

use super::PatternKind;
use super::addr;
use super::diag::{CidrError, PatternDiagnosticKind as K};
use crate::lines::is_space;

// Option bits, with the values of the C headers, so that parsing works
// without the engines compiled in.
pub(crate) const REG_EXTENDED: u32 = 1;
pub(crate) const REG_ICASE: u32 = 2;
pub(crate) const REG_NEWLINE: u32 = 4;
pub(crate) const PCRE_CASELESS: u32 = 0x0000_0008;
pub(crate) const PCRE_DOLLAR_ENDONLY: u32 = 0x0000_0010;
pub(crate) const PCRE_DOTALL: u32 = 0x0000_0020;
pub(crate) const PCRE_EXTENDED: u32 = 0x0000_0080;
pub(crate) const PCRE_MULTILINE: u32 = 0x0000_0400;
pub(crate) const PCRE_UNGREEDY: u32 = 0x0004_0000;
pub(crate) const PCRE_ANCHORED: u32 = 0x8000_0000;

/// C `isalnum()` in the C locale.
fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Postfix's `alldig()`: non-empty and only ASCII digits.
pub(crate) fn alldig(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

/// glibc's `atoi()` of an all-digit string: `(int) strtol(s, 0, 10)`, i.e.
/// saturated at `LONG_MAX`, then the low 32 bits.
pub(crate) fn atoi(digits: &[u8]) -> i32 {
    let mut v: i64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|x| x.checked_add(i64::from(d - b'0')))
            .unwrap_or(i64::MAX);
    }
    v as i32
}

/// Trims trailing C whitespace (Postfix's `trimblanks()`).
pub(crate) fn trim_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
    s.get(..n).unwrap_or_default()
}

fn skip_space(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    i
}

/// `strncasecmp(p, word, len) == 0 && !isalnum(p[len])`.
fn keyword(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len()
        && s.get(..word.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(word))
        && !s.get(word.len()).is_some_and(|&b| is_alnum(b))
}

// ----------------------------------------------------------- mac_parse

/// A token of Postfix's `mac_parse()`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Literal(Vec<u8>),
    Expr(Vec<u8>),
}

/// Splits `text` as `mac_parse()` does. The error (if any) is where the
/// parser stopped; the final literal is then not reported.
fn mac_tokens(text: &[u8]) -> (Vec<Tok>, Option<K>) {
    let mut toks = Vec::new();
    let mut buf = Vec::new();
    let mut i = 0usize;
    while let Some(&c) = text.get(i) {
        if c != b'$' {
            buf.push(c);
            i += 1;
        } else if text.get(i + 1) == Some(&b'$') {
            buf.push(b'$');
            i += 2;
        } else {
            if !buf.is_empty() {
                toks.push(Tok::Literal(std::mem::take(&mut buf)));
            }
            i += 1;
            let open = text.get(i).copied();
            if let Some(o @ (b'(' | b'{')) = open {
                let close = if o == b'(' { b')' } else { b'}' };
                let mut level = 1;
                let start = i + 1;
                let mut e = start;
                loop {
                    match text.get(e) {
                        None => {
                            return (
                                toks,
                                Some(K::TruncatedMacro {
                                    text: text.to_vec(),
                                }),
                            );
                        }
                        Some(&b) => {
                            if b == o {
                                level += 1;
                            }
                            if b == close {
                                level -= 1;
                            }
                        }
                    }
                    e += 1;
                    if level == 0 {
                        break;
                    }
                }
                buf.extend_from_slice(text.get(start..e - 1).unwrap_or_default());
                i = e;
            } else {
                let start = i;
                while text.get(i).is_some_and(|&b| is_alnum(b) || b == b'_') {
                    i += 1;
                }
                buf.extend_from_slice(text.get(start..i).unwrap_or_default());
            }
            if buf.is_empty() {
                return (
                    toks,
                    Some(K::EmptyMacroName {
                        text: text.to_vec(),
                    }),
                );
            }
            toks.push(Tok::Expr(std::mem::take(&mut buf)));
        }
    }
    if !buf.is_empty() {
        toks.push(Tok::Literal(buf));
    }
    (toks, None)
}

/// A piece of a result text after the pre-scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text (`$$` already replaced by `$`).
    Literal(Vec<u8>),
    /// `$n`: the text of group `n` (nothing when the group did not take
    /// part or matched the empty string).
    Group(usize),
}

/// A result text, pre-scanned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Replacement {
    pub(crate) pieces: Vec<Piece>,
    /// The largest `$n` (Postfix's `size_t`); 0 when there is none.
    pub(crate) max_sub: u64,
}

/// Postfix's compile-time pre-scan of a result text: pushes its warnings;
/// `None` when the rule is skipped ("bad replacement syntax").
pub(crate) fn prescan(text: &[u8], warn: &mut Vec<K>) -> Option<Replacement> {
    let (toks, err) = mac_tokens(text);
    let mut ok = err.is_none();
    let mut rep = Replacement::default();
    for t in toks {
        match t {
            Tok::Literal(l) => rep.pieces.push(Piece::Literal(l)),
            Tok::Expr(name) => {
                if !alldig(&name) {
                    warn.push(K::NonNumericIndex { name });
                    ok = false;
                    continue;
                }
                // size_t n = atoi(...): the int, sign-extended.
                let n = i64::from(atoi(&name)) as u64;
                if n < 1 {
                    warn.push(K::ZeroIndex { name });
                    ok = false;
                    continue;
                }
                rep.max_sub = rep.max_sub.max(n);
                rep.pieces
                    .push(Piece::Group(usize::try_from(n).unwrap_or(usize::MAX)));
            }
        }
    }
    if let Some(e) = err {
        warn.push(e);
    }
    if ok {
        Some(rep)
    } else {
        warn.push(K::BadReplacementSyntax);
        None
    }
}

// ------------------------------------------------------- regexp / pcre

/// One `/pattern/flags` with its negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pat<'a> {
    /// False for `!/…/`.
    pub(crate) matches: bool,
    /// The pattern between the delimiters (backslashes kept).
    pub(crate) body: &'a [u8],
    /// Engine option bits (see the constants above).
    pub(crate) options: u32,
}

/// A parsed statement of a regexp or pcre table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stmt<'a> {
    /// An empty line (only possible after a NUL): Postfix skips it silently.
    Empty,
    /// Skipped, with the warnings already pushed.
    Skipped,
    /// `pattern [!pattern] result`.
    Match {
        first: Pat<'a>,
        second: Option<Pat<'a>>,
        result: &'a [u8],
        rep: Replacement,
    },
    /// `if pattern`.
    If(Pat<'a>),
    /// `endif`.
    Endif,
    /// cidr `pattern result`.
    CidrMatch { net: Net, result: &'a [u8] },
    /// cidr `if pattern`.
    CidrIf(Net),
}

fn get_pat<'a>(
    kind: PatternKind,
    s: &'a [u8],
    i: &mut usize,
    warn: &mut Vec<K>,
) -> Option<Pat<'a>> {
    let mut matches = true;
    loop {
        match s.get(*i) {
            Some(b'!') => matches = !matches,
            Some(&b) if is_space(b) => {}
            _ => break,
        }
        *i += 1;
    }
    let Some(&delim) = s.get(*i) else {
        warn.push(K::NoRegexp);
        return None;
    };
    *i += 1;
    let start = *i;
    loop {
        match s.get(*i) {
            None => {
                warn.push(K::NoClosingDelimiter { delimiter: delim });
                return None;
            }
            Some(b'\\') if s.get(*i + 1).is_some() => *i += 1,
            Some(b'\\') => {
                warn.push(K::NoClosingDelimiter { delimiter: delim });
                return None;
            }
            Some(&b) if b == delim => break,
            Some(_) => {}
        }
        *i += 1;
    }
    let body = s.get(start..*i).unwrap_or_default();
    *i += 1;
    let mut options = match kind {
        PatternKind::Pcre => PCRE_CASELESS | PCRE_DOTALL,
        _ => REG_EXTENDED | REG_ICASE,
    };
    while let Some(&f) = s.get(*i) {
        if is_space(f) || (kind == PatternKind::Regexp && f == b'!') {
            break;
        }
        let bit = match (kind, f) {
            (PatternKind::Regexp, b'i') => REG_ICASE,
            (PatternKind::Regexp, b'm') => REG_NEWLINE,
            (PatternKind::Regexp, b'x') => REG_EXTENDED,
            (PatternKind::Pcre, b'i') => PCRE_CASELESS,
            (PatternKind::Pcre, b'm') => PCRE_MULTILINE,
            (PatternKind::Pcre, b's') => PCRE_DOTALL,
            (PatternKind::Pcre, b'x') => PCRE_EXTENDED,
            (PatternKind::Pcre, b'A') => PCRE_ANCHORED,
            (PatternKind::Pcre, b'E') => PCRE_DOLLAR_ENDONLY,
            (PatternKind::Pcre, b'U') => PCRE_UNGREEDY,
            (PatternKind::Pcre, b'X') => {
                warn.push(K::ObsoleteOption { flag: f });
                0
            }
            _ => {
                warn.push(K::UnknownOption { flag: f });
                return None;
            }
        };
        options ^= bit;
        *i += 1;
    }
    Some(Pat {
        matches,
        body,
        options,
    })
}

/// Parses one regexp/pcre logical line (already a C string: cut at its
/// first NUL). `nesting` is the number of open `if`s that compiled.
/// Compile-time checks that need the engine (pattern errors, `$n` above
/// the group count) are left to the caller.
pub(crate) fn parse_regex_line<'a>(
    kind: PatternKind,
    line: &'a [u8],
    nesting: usize,
    warn: &mut Vec<K>,
) -> Stmt<'a> {
    let p = trim_end(line);
    let Some(&c0) = p.first() else {
        return Stmt::Empty;
    };
    if !is_alnum(c0) {
        let mut i = 0usize;
        let Some(first) = get_pat(kind, p, &mut i, warn) else {
            return Stmt::Skipped;
        };
        let second = if kind == PatternKind::Regexp && p.get(i) == Some(&b'!') {
            match get_pat(kind, p, &mut i, warn) {
                Some(s) => Some(s),
                None => return Stmt::Skipped,
            }
        } else {
            None
        };
        let r = skip_space(p, i);
        let result = p.get(r..).unwrap_or_default();
        if result.is_empty() {
            warn.push(K::NoReplacementText);
        }
        let Some(rep) = prescan(result, warn) else {
            return Stmt::Skipped;
        };
        if rep.max_sub > 0 && !first.matches {
            warn.push(K::NegatedSubstitution);
            return Stmt::Skipped;
        }
        Stmt::Match {
            first,
            second,
            result,
            rep,
        }
    } else if keyword(p, b"if") {
        let mut i = skip_space(p, 2);
        let Some(pat) = get_pat(kind, p, &mut i, warn) else {
            return Stmt::Skipped;
        };
        let r = skip_space(p, i);
        if let Some(extra) = p.get(r..).filter(|e| !e.is_empty()) {
            warn.push(K::ExtraTextAfterIf {
                text: extra.to_vec(),
            });
            warn.push(K::IndentedStatement);
        }
        Stmt::If(pat)
    } else if keyword(p, b"endif") {
        if nesting == 0 {
            warn.push(K::EndifWithoutIf);
            return Stmt::Skipped;
        }
        if skip_space(p, 5) < p.len() {
            warn.push(K::ExtraTextAfterEndif);
        }
        Stmt::Endif
    } else {
        warn.push(K::UnrecognizedRequest);
        Stmt::Skipped
    }
}

// ----------------------------------------------------------------- cidr

/// A compiled CIDR pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    pub(crate) v6: bool,
    pub(crate) net: [u8; 16],
    /// Prefix length (Postfix's `unsigned char mask_shift`).
    pub(crate) len: u8,
    pub(crate) matches: bool,
}

fn mask(bytes: &mut [u8], bits: u8) {
    let bits = usize::from(bits);
    for (i, b) in bytes.iter_mut().enumerate() {
        let lo = i * 8;
        if bits >= lo + 8 {
            continue;
        }
        if bits <= lo {
            *b = 0;
        } else {
            *b &= 0xffu8 << (8 - (bits - lo));
        }
    }
}

impl Net {
    fn width(&self) -> usize {
        if self.v6 { 16 } else { 4 }
    }

    /// Does the address (bytes of the same family) fall in this network?
    /// (Before negation.)
    pub(crate) fn contains(&self, addr: &[u8]) -> bool {
        let n = self.width();
        let mut a = [0u8; 16];
        if let (Some(dst), Some(src)) = (a.get_mut(..n), addr.get(..n)) {
            dst.copy_from_slice(src);
        }
        mask(a.get_mut(..n).unwrap_or_default(), self.len);
        a.get(..n) == self.net.get(..n)
    }
}

/// Postfix's `cidr_match_parse()`: `addr`, `addr/len`, `[addr]`,
/// `[addr]/len`, `[addr/len]`.
pub(crate) fn parse_cidr(pattern: &[u8], matches: bool) -> Result<Net, CidrError> {
    let (addr, mask_text): (&[u8], Option<&[u8]>) = if let Some(rest) = pattern.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return Err(CidrError::MissingBracket {
                inner: rest.to_vec(),
            });
        };
        let inner = rest.get(..close).unwrap_or_default();
        let after = rest.get(close + 1..).unwrap_or_default();
        match after.first() {
            Some(b'/') => (inner, Some(after.get(1..).unwrap_or_default())),
            Some(_) => {
                return Err(CidrError::GarbageAfterBracket {
                    inner: inner.to_vec(),
                });
            }
            None => match inner.iter().position(|&b| b == b'/') {
                Some(s) => (inner.get(..s).unwrap_or_default(), inner.get(s + 1..)),
                None => (inner, None),
            },
        }
    } else {
        match pattern.iter().position(|&b| b == b'/') {
            Some(s) => (pattern.get(..s).unwrap_or_default(), pattern.get(s + 1..)),
            None => (pattern, None),
        }
    };
    let v6 = addr.contains(&b':');
    let bits: u8 = if v6 { 128 } else { 32 };
    let parse = |a: &[u8]| -> Option<[u8; 16]> {
        let mut out = [0u8; 16];
        if v6 {
            out = addr::pton6(a)?;
        } else {
            out.get_mut(..4)?.copy_from_slice(&addr::pton4(a)?);
        }
        Some(out)
    };
    match mask_text {
        Some(m) => {
            let err = |f: fn(Vec<u8>, Vec<u8>) -> CidrError| f(addr.to_vec(), m.to_vec());
            if !alldig(m) {
                return Err(err(|net, mask| CidrError::BadMaskValue { net, mask }));
            }
            let len = atoi(m) as u8;
            if len > bits {
                return Err(err(|net, mask| CidrError::BadMaskLength { net, mask }));
            }
            let Some(net) = parse(addr) else {
                return Err(err(|net, mask| CidrError::BadNetworkValue { net, mask }));
            };
            let mut masked = net;
            let width = if v6 { 16 } else { 4 };
            mask(masked.get_mut(..width).unwrap_or_default(), len);
            if masked != net {
                let suggestion = if v6 {
                    addr::ntop6(&masked)
                } else {
                    let mut four = [0u8; 4];
                    four.copy_from_slice(masked.get(..4).unwrap_or(&[0; 4]));
                    addr::ntop4(&four)
                };
                return Err(CidrError::HostBits {
                    net: addr.to_vec(),
                    mask: m.to_vec(),
                    suggestion,
                    len,
                });
            }
            Ok(Net {
                v6,
                net,
                len,
                matches,
            })
        }
        None => match parse(addr) {
            Some(net) => Ok(Net {
                v6,
                net,
                len: bits,
                matches,
            }),
            None => Err(CidrError::BadAddressPattern {
                pattern: addr.to_vec(),
            }),
        },
    }
}

/// Parses one cidr logical line (a C string). `nesting` = open `if`s.
pub(crate) fn parse_cidr_line<'a>(line: &'a [u8], nesting: usize) -> Result<Stmt<'a>, CidrError> {
    let p = line;
    let mut matches = true;
    if keyword(p, b"if") {
        let mut i = 2;
        loop {
            match p.get(i) {
                Some(b'!') => matches = !matches,
                Some(&b) if is_space(b) => {}
                _ => break,
            }
            i += 1;
        }
        let rest = p.get(i..).unwrap_or_default();
        if rest.is_empty() {
            return Err(CidrError::NoAddressPattern);
        }
        return parse_cidr(trim_end(rest), matches).map(Stmt::CidrIf);
    }
    if keyword(p, b"endif") {
        if skip_space(p, 5) < p.len() {
            return Err(CidrError::GarbageAfterEndif);
        }
        if nesting == 0 {
            return Err(CidrError::EndifWithoutIf);
        }
        return Ok(Stmt::Endif);
    }
    let mut i = 0;
    loop {
        match p.get(i) {
            Some(b'!') => matches = !matches,
            Some(&b) if is_space(b) => {}
            _ => break,
        }
        i += 1;
    }
    let start = i;
    while p.get(i).is_some_and(|&b| !is_space(b)) {
        i += 1;
    }
    let pattern = p.get(start..i).unwrap_or_default();
    let value = trim_end(p.get(skip_space(p, i)..).unwrap_or_default());
    if pattern.is_empty() {
        return Err(CidrError::NoAddressPattern);
    }
    let net = parse_cidr(pattern, matches)?;
    if value.is_empty() {
        return Err(CidrError::NoLookupResult);
    }
    Ok(Stmt::CidrMatch { net, result: value })
}

/// Parses a lookup key as Postfix's CIDR lookup does: the family is IPv6
/// when the key has a `:`; anything `inet_pton()` refuses never matches.
pub(crate) fn cidr_key(key: &[u8]) -> Option<(bool, [u8; 16])> {
    if key.contains(&b':') {
        addr::pton6(key).map(|a| (true, a))
    } else {
        addr::pton4(key).map(|a| {
            let mut out = [0u8; 16];
            out[..4].copy_from_slice(&a);
            (false, out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> (Vec<Tok>, Option<K>) {
        mac_tokens(s.as_bytes())
    }

    #[test]
    fn mac_parse_shapes() {
        let (t, e) = toks("${2}-$(1) $$ literal");
        assert!(e.is_none());
        assert_eq!(
            t,
            vec![
                Tok::Expr(b"2".to_vec()),
                Tok::Literal(b"-".to_vec()),
                Tok::Expr(b"1".to_vec()),
                Tok::Literal(b" $ literal".to_vec()),
            ]
        );
        assert!(matches!(toks("x$").1, Some(K::EmptyMacroName { .. })));
        assert!(matches!(toks("${1").1, Some(K::TruncatedMacro { .. })));
        assert_eq!(toks("$1abc").0, vec![Tok::Expr(b"1abc".to_vec())]);
    }

    #[test]
    fn atoi_like_glibc() {
        assert_eq!(atoi(b"12"), 12);
        assert_eq!(atoi(b"99999999999"), 1_215_752_191);
        assert_eq!(atoi(b"4294967296"), 0);
        assert_eq!(atoi(b"99999999999999999999999"), -1);
    }

    #[test]
    fn cidr_patterns() {
        let n = parse_cidr(b"[172.16.0.0]/12", true).unwrap();
        assert_eq!(n.len, 12);
        assert!(n.contains(&[172, 16, 5, 5]));
        assert!(!n.contains(&[172, 32, 0, 0]));
        assert_eq!(parse_cidr(b"10.0.0.0/264", true).unwrap().len, 8);
        assert!(matches!(
            parse_cidr(b"10.0.0.1/8", true),
            Err(CidrError::HostBits { ref suggestion, len: 8, .. }) if suggestion == "10.0.0.0"
        ));
        assert!(matches!(
            parse_cidr(b"1.2.3.4/", true),
            Err(CidrError::BadMaskValue { .. })
        ));
        assert!(matches!(
            parse_cidr(b"[1.2.3.4]x", true),
            Err(CidrError::GarbageAfterBracket { .. })
        ));
    }
}
