//! The logical-line layer that Postfix uses for main.cf and for every table
//! source file (`readllines()` in Postfix's `util/readlline.c`).
//!
//! Postfix reads physical lines split on LF only; CR is an ordinary
//! whitespace byte. A physical line is
//!
//! * **ignorable** when it is empty, all whitespace, or its first non-space
//!   byte is `#` (a comment, at any indentation);
//! * a **continuation** when its first byte is whitespace (and it is not
//!   ignorable): it is glued to the current logical line with only the LF
//!   removed, so its indentation is kept;
//! * the **start** of a new logical line otherwise.
//!
//! Ignorable lines never end a logical line: a continuation line after them
//! still belongs to the earlier entry. A continuation line with no logical
//! line before it starts an *orphan* logical line (Postfix drops it, with its
//! own continuation lines, warning "logical line must not start with
//! whitespace").
//!
//! This module only finds boundaries; it never copies the input. Both
//! `postfix-table` and `postfix-maincf` build their lossless documents from
//! the [`Segment`]s that [`for_each_segment`] reports.
//!
//! ```
//! use postfix_table::lines::{for_each_segment, Segment};
//!
//! let src = b"# comment\nkey first\n# inside\n   second\nnext value";
//! let mut seen = Vec::new();
//! for_each_segment(src, |seg| seen.push(seg));
//! assert_eq!(seen.len(), 3);
//! match &seen[1] {
//!     Segment::Logical(l) => {
//!         assert_eq!(l.first_line, 2);
//!         assert!(l.multiline);
//!         assert_eq!(&*postfix_table::lines::logical_text(&src[l.range.clone()]), b"key first   second");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

use std::borrow::Cow;
use std::ops::Range;

/// `isspace()` in the C locale, as Postfix's `ISSPACE()`: space, TAB, LF,
/// VT, FF and CR. Bytes >= 0x80 are never whitespace.
#[inline]
pub const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What one physical line (without its LF) is to Postfix's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// Empty, all whitespace, or a comment (first non-space byte is `#`).
    Ignorable,
    /// Starts with whitespace and has other text: continues the current logical line.
    Continuation,
    /// Starts a new logical line.
    Start,
}

/// Classifies one physical line, given without its terminating LF.
#[inline]
pub fn classify(line: &[u8]) -> LineClass {
    match line.first() {
        None => LineClass::Ignorable,
        Some(b'#') => LineClass::Ignorable,
        Some(&b) if !is_space(b) => LineClass::Start,
        Some(_) => match line.iter().find(|&&b| !is_space(b)) {
            None | Some(b'#') => LineClass::Ignorable,
            Some(_) => LineClass::Continuation,
        },
    }
}

/// A logical line: its first physical line, every continuation line, and the
/// ignorable lines interleaved between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// Byte range in the input, from the first byte of the first physical
    /// line to the end of the last continuation line, including its LF when
    /// there is one.
    pub range: Range<usize>,
    /// 1-based number of the first physical line (what Postfix reports as "line N").
    pub first_line: usize,
    /// 1-based number of the last physical line.
    pub last_line: usize,
    /// True when the logical line starts with whitespace (an orphan
    /// continuation before any entry); Postfix discards it with a warning.
    pub leading_whitespace: bool,
    /// True when the range spans more than one physical line.
    pub multiline: bool,
}

/// A piece of the input, as the reader sees it. Segments tile the input:
/// concatenating their ranges in order gives back every byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A run of ignorable lines (comments, blank and whitespace-only lines)
    /// that does not sit inside a logical line.
    Trivia {
        /// Byte range in the input.
        range: Range<usize>,
        /// 1-based number of its first physical line.
        first_line: usize,
    },
    /// One logical line.
    Logical(LogicalLine),
}

/// Scans `src` and reports every [`Segment`] in order, without copying.
///
/// Runs in one pass over the input; the callback is called once per segment.
pub fn for_each_segment(src: &[u8], mut f: impl FnMut(Segment)) {
    let mut pos = 0usize;
    let mut lineno = 0usize;
    // The logical line being built, and a run of ignorable lines after it
    // that may still turn out to be inside it.
    let mut current: Option<LogicalLine> = None;
    let mut pending: Option<(usize, usize, usize)> = None; // start, end, first_line
    while pos < src.len() {
        let rest = src.get(pos..).unwrap_or_default();
        let (content_end, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (pos + i, pos + i + 1),
            None => (src.len(), src.len()),
        };
        lineno += 1;
        let line = src.get(pos..content_end).unwrap_or_default();
        match classify(line) {
            LineClass::Ignorable => match &mut pending {
                Some(p) => p.1 = next,
                None => pending = Some((pos, next, lineno)),
            },
            LineClass::Continuation => match &mut current {
                Some(cur) => {
                    cur.range.end = next;
                    cur.last_line = lineno;
                    cur.multiline = true;
                    pending = None;
                }
                None => {
                    if let Some((s, e, l)) = pending.take() {
                        f(Segment::Trivia {
                            range: s..e,
                            first_line: l,
                        });
                    }
                    current = Some(LogicalLine {
                        range: pos..next,
                        first_line: lineno,
                        last_line: lineno,
                        leading_whitespace: true,
                        multiline: false,
                    });
                }
            },
            LineClass::Start => {
                if let Some(cur) = current.take() {
                    f(Segment::Logical(cur));
                }
                if let Some((s, e, l)) = pending.take() {
                    f(Segment::Trivia {
                        range: s..e,
                        first_line: l,
                    });
                }
                current = Some(LogicalLine {
                    range: pos..next,
                    first_line: lineno,
                    last_line: lineno,
                    leading_whitespace: false,
                    multiline: false,
                });
            }
        }
        pos = next;
    }
    if let Some(cur) = current.take() {
        f(Segment::Logical(cur));
    }
    if let Some((s, e, l)) = pending.take() {
        f(Segment::Trivia {
            range: s..e,
            first_line: l,
        });
    }
}

/// Strips one trailing LF, if present.
#[inline]
pub fn strip_lf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// The text Postfix builds from the bytes of one logical line (as given by
/// [`LogicalLine::range`]): physical lines joined with only their LF
/// removed, ignorable lines skipped. Borrows when the logical line is a
/// single physical line. NUL bytes are kept; see [`c_string`].
pub fn logical_text(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(first_lf) = memchr::memchr(b'\n', raw) else {
        return Cow::Borrowed(raw);
    };
    let rest = raw.get(first_lf + 1..).unwrap_or_default();
    if !has_continuation(rest) {
        return Cow::Borrowed(raw.get(..first_lf).unwrap_or_default());
    }
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(raw.get(..first_lf).unwrap_or_default());
    for line in rest.split(|&b| b == b'\n') {
        if classify(line) == LineClass::Continuation {
            out.extend_from_slice(line);
        }
    }
    Cow::Owned(out)
}

/// The first logical line of `raw` only: the first physical line without its
/// LF. Use when the caller knows the remaining lines are all ignorable.
#[inline]
pub fn first_line(raw: &[u8]) -> &[u8] {
    match memchr::memchr(b'\n', raw) {
        Some(i) => raw.get(..i).unwrap_or_default(),
        None => raw,
    }
}

fn has_continuation(rest: &[u8]) -> bool {
    rest.split(|&b| b == b'\n')
        .any(|l| classify(l) == LineClass::Continuation)
}

/// Postfix treats a logical line as a C string: everything from the first
/// NUL byte on is lost. Returns the part before the first NUL.
#[inline]
pub fn c_string(text: &[u8]) -> &[u8] {
    match memchr::memchr(0, text) {
        Some(i) => text.get(..i).unwrap_or_default(),
        None => text,
    }
}

/// Trims C-locale whitespace ([`is_space`]) from both ends.
#[inline]
pub fn trim_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_space(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_space(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Counts the physical lines in `text` the way Postfix numbers them: every
/// LF ends a line, and a final line without LF counts when it is non-empty.
pub fn count_lines(text: &[u8]) -> usize {
    let lfs = memchr::memchr_iter(b'\n', text).count();
    if text.last().is_some_and(|&b| b != b'\n') {
        lfs + 1
    } else {
        lfs
    }
}

/// Renders bytes exactly as Postfix's logging does (`printable()`): the
/// text ends at the first NUL; printable ASCII is kept; with `utf8`
/// (`smtputf8_enable = yes`) a byte 0xC2..=0xFE followed by continuation
/// bytes (0x80..=0xBF) is kept together with all of them, valid UTF-8 or
/// not; every other byte (TAB, CR, control bytes, other non-ASCII bytes)
/// becomes `?`. The result is therefore not always UTF-8.
pub fn printable(bytes: &[u8], utf8: bool) -> Vec<u8> {
    let s = c_string(bytes);
    let is_cont = |c: &u8| (0x80..0xc0).contains(c);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if (0x20..=0x7e).contains(&b) {
            out.push(b);
        } else if utf8 && (0xc2..=0xfe).contains(&b) && s.get(i + 1).is_some_and(is_cont) {
            out.push(b);
            while let Some(&c) = s.get(i + 1).filter(|c| is_cont(c)) {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(b'?');
        }
        i += 1;
    }
    out
}

/// The excerpt Postfix's reader quotes in "logical line must not start
/// with whitespace" (`%.30s%s`): the first 30 bytes of the logical line as a
/// C string, then `...` when the line is longer, rendered by [`printable`].
pub fn leading_whitespace_excerpt(logical: &[u8], utf8: bool) -> Vec<u8> {
    let s = c_string(logical);
    let mut out = printable(s.get(..30.min(s.len())).unwrap_or_default(), utf8);
    if logical.len() > 30 {
        out.extend_from_slice(b"...");
    }
    out
}

/// [`printable`] for human-facing text: the same, as a `String` (a kept
/// sequence that is not valid UTF-8 shows as U+FFFD).
pub fn printable_lossy(bytes: &[u8], utf8: bool) -> String {
    match String::from_utf8(printable(bytes, utf8)) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(src: &[u8]) -> Vec<Segment> {
        let mut v = Vec::new();
        for_each_segment(src, |s| v.push(s));
        v
    }

    fn tiles(src: &[u8]) {
        let mut end = 0;
        for s in segs(src) {
            let r = match s {
                Segment::Trivia { range, .. } => range,
                Segment::Logical(l) => l.range,
            };
            assert_eq!(r.start, end);
            end = r.end;
        }
        assert_eq!(end, src.len());
    }

    #[test]
    fn classify_lines() {
        assert_eq!(classify(b""), LineClass::Ignorable);
        assert_eq!(classify(b"  \t\r"), LineClass::Ignorable);
        assert_eq!(classify(b"   # x"), LineClass::Ignorable);
        assert_eq!(classify(b"#x"), LineClass::Ignorable);
        assert_eq!(classify(b" x"), LineClass::Continuation);
        assert_eq!(classify(b"\x0bx"), LineClass::Continuation);
        assert_eq!(classify(b"\x0cx"), LineClass::Continuation);
        assert_eq!(classify(b"x"), LineClass::Start);
        assert_eq!(classify(b"\0"), LineClass::Start);
        assert_eq!(classify(b"\xe9"), LineClass::Start);
    }

    #[test]
    fn comments_and_blanks_do_not_end_an_entry() {
        let src = b"key first\n# c\n\n  \t\n   second\nnext v\n";
        let s = segs(src);
        assert_eq!(s.len(), 2);
        let Segment::Logical(l) = &s[0] else { panic!() };
        assert_eq!(l.last_line, 5);
        assert_eq!(&*logical_text(&src[l.range.clone()]), b"key first   second");
        tiles(src);
    }

    #[test]
    fn trailing_trivia_is_separate() {
        let src = b"a b\n# c\n\nd e";
        let s = segs(src);
        assert_eq!(s.len(), 3);
        assert!(matches!(&s[1], Segment::Trivia { range, first_line: 2 } if *range == (4..9)));
        tiles(src);
    }

    #[test]
    fn orphan_takes_its_continuations() {
        let src = b"# top\n  key value\n  more\nk v\n";
        let s = segs(src);
        assert_eq!(s.len(), 3);
        let Segment::Logical(l) = &s[1] else { panic!() };
        assert!(l.leading_whitespace);
        assert_eq!(l.first_line, 2);
        assert_eq!(l.last_line, 3);
        tiles(src);
    }

    #[test]
    fn cr_is_kept_inside_joined_text() {
        let src = b"key2 a,\r\n  b\r\n\r\n";
        let s = segs(src);
        let Segment::Logical(l) = &s[0] else { panic!() };
        assert_eq!(&*logical_text(&src[l.range.clone()]), b"key2 a,\r  b\r");
    }

    #[test]
    fn helpers() {
        assert_eq!(c_string(b"ab\0cd"), b"ab");
        assert_eq!(trim_space(b" \t a b \r\n"), b"a b");
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\nb"), 2);
        assert_eq!(printable(b"caf\xe9\tx", true), b"caf??x");
        assert_eq!(printable("été".as_bytes(), true), "été".as_bytes());
        assert_eq!(printable("été".as_bytes(), false), b"??t??");
        assert_eq!(
            printable(b"a\xe9\xa9 \xff\x80 \xc1\x80\0tail", true),
            b"a\xe9\xa9 ?? ??"
        );
        assert_eq!(printable_lossy(b"a\xe9\xa9", true), "a\u{FFFD}");
    }

    #[test]
    fn tiling_on_odd_inputs() {
        for src in [
            &b""[..],
            b"\n",
            b"\n\n",
            b" ",
            b" x",
            b"x",
            b"\r\n",
            b"a\n b\n#c\n d",
            b"\0\n\0",
        ] {
            tiles(src);
        }
    }
}
