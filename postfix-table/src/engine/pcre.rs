//! libpcre2-8 (the system library, as Postfix's `dict_pcre.c` uses it:
//! `pcre2_compile`, `pcre2_match` with a match-data block, no JIT, default
//! limits, byte mode — no `PCRE2_UTF`).
//!
//! Declared here rather than through a `-sys` crate so that the build links
//! exactly the system's `libpcre2-8` (Debian: `libpcre2-dev`) and never a
//! vendored copy of another PCRE2 version, whose error texts could differ.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};

#[repr(C)]
struct Code {
    _opaque: [u8; 0],
}

#[repr(C)]
struct MatchDataT {
    _opaque: [u8; 0],
}

#[link(name = "pcre2-8")]
unsafe extern "C" {
    fn pcre2_compile_8(
        pattern: *const u8,
        length: usize,
        options: u32,
        errorcode: *mut c_int,
        erroroffset: *mut usize,
        ccontext: *mut c_void,
    ) -> *mut Code;
    fn pcre2_code_free_8(code: *mut Code);
    fn pcre2_pattern_info_8(code: *const Code, what: u32, where_: *mut c_void) -> c_int;
    fn pcre2_match_data_create_8(ovecsize: u32, gcontext: *mut c_void) -> *mut MatchDataT;
    fn pcre2_match_data_free_8(match_data: *mut MatchDataT);
    fn pcre2_match_8(
        code: *const Code,
        subject: *const u8,
        length: usize,
        startoffset: usize,
        options: u32,
        match_data: *mut MatchDataT,
        mcontext: *mut c_void,
    ) -> c_int;
    fn pcre2_get_ovector_pointer_8(match_data: *mut MatchDataT) -> *mut usize;
    fn pcre2_get_error_message_8(errorcode: c_int, buffer: *mut u8, bufflen: usize) -> c_int;
}

pub(crate) const CASELESS: u32 = 0x0000_0008;
pub(crate) const DOLLAR_ENDONLY: u32 = 0x0000_0010;
pub(crate) const DOTALL: u32 = 0x0000_0020;
pub(crate) const EXTENDED: u32 = 0x0000_0080;
pub(crate) const MULTILINE: u32 = 0x0000_0400;
pub(crate) const UNGREEDY: u32 = 0x0004_0000;
pub(crate) const ANCHORED: u32 = 0x8000_0000;
const ERROR_NOMATCH: c_int = -1;
const INFO_CAPTURECOUNT: u32 = 4;
const UNSET: usize = usize::MAX;

/// `pcre2_get_error_message()` into 256 bytes, as Postfix does.
pub(crate) fn error_message(code: c_int) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for `buf.len()` bytes, which is passed as
    // the length; PCRE2 NUL-terminates within it.
    let n = unsafe { pcre2_get_error_message_8(code, buf.as_mut_ptr(), buf.len()) };
    if n > 0 {
        let text = CStr::from_bytes_until_nul(&buf)
            .map(CStr::to_bytes)
            .unwrap_or_default();
        String::from_utf8_lossy(text).into_owned()
    } else {
        format!("unexpected pcre2 error code {code}")
    }
}

/// One compiled pattern; freed on drop.
pub(crate) struct Regex {
    code: *mut Code,
    groups: u32,
}

// SAFETY: a compiled pcre2_code is read-only after compilation and PCRE2
// documents it as shareable between threads; matching uses a match-data
// block owned by the caller (`MatchData`), never state in the code.
unsafe impl Send for Regex {}
// SAFETY: see `Send`.
unsafe impl Sync for Regex {}

impl Regex {
    /// `pcre2_compile(pattern, options)`; on failure the error offset and
    /// PCRE2's message.
    pub(crate) fn new(pattern: &CStr, options: u32) -> Result<Regex, (usize, String)> {
        let mut err: c_int = 0;
        let mut offset: usize = 0;
        let bytes = pattern.to_bytes();
        // SAFETY: `bytes` is valid for `bytes.len()` bytes; the out
        // pointers point to live locals; a null compile context selects
        // the defaults, as in Postfix.
        let code = unsafe {
            pcre2_compile_8(
                bytes.as_ptr(),
                bytes.len(),
                options,
                &mut err,
                &mut offset,
                std::ptr::null_mut(),
            )
        };
        if code.is_null() {
            return Err((offset, error_message(err)));
        }
        let mut groups: u32 = 0;
        // SAFETY: `code` is a live compiled pattern; CAPTURECOUNT writes a
        // uint32_t into `groups`.
        let rc = unsafe {
            pcre2_pattern_info_8(code, INFO_CAPTURECOUNT, (&raw mut groups).cast::<c_void>())
        };
        if rc != 0 {
            // SAFETY: `code` is live and freed exactly once.
            unsafe { pcre2_code_free_8(code) };
            return Err((0, error_message(rc)));
        }
        Ok(Regex { code, groups })
    }

    /// Number of capturing groups.
    pub(crate) fn groups(&self) -> u32 {
        self.groups
    }

    /// `pcre2_match(subject)` into `md`: `Ok(true)` on a match (offsets in
    /// `md`), `Ok(false)` on no match, `Err(message)` on a matching error
    /// (match limit, …).
    pub(crate) fn exec(&self, subject: &[u8], md: &mut MatchData) -> Result<bool, String> {
        // SAFETY: `self.code` is live; `subject` is valid for its length;
        // `md.ptr` is a live match-data block exclusively borrowed here;
        // null match context = defaults, as in Postfix.
        let rc = unsafe {
            pcre2_match_8(
                self.code,
                subject.as_ptr(),
                subject.len(),
                0,
                0,
                md.ptr,
                std::ptr::null_mut(),
            )
        };
        if rc > 0 {
            Ok(true)
        } else if rc == ERROR_NOMATCH {
            Ok(false)
        } else if rc == 0 {
            Err("too many (...)".into())
        } else {
            Err(error_message(rc))
        }
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: `self.code` came from pcre2_compile and is freed once.
        unsafe { pcre2_code_free_8(self.code) }
    }
}

/// A match-data block with room for `pairs` offset pairs.
pub(crate) struct MatchData {
    ptr: *mut MatchDataT,
    pairs: usize,
}

impl MatchData {
    /// Room for groups `0..pairs`.
    pub(crate) fn new(pairs: u32) -> Option<MatchData> {
        let pairs = pairs.max(1);
        // SAFETY: a null general context selects malloc/free.
        let ptr = unsafe { pcre2_match_data_create_8(pairs, std::ptr::null_mut()) };
        (!ptr.is_null()).then_some(MatchData {
            ptr,
            pairs: pairs as usize,
        })
    }

    /// The offsets of group `n` after a successful match, or `None` when it
    /// did not take part (or is past the block).
    pub(crate) fn group(&self, n: usize) -> Option<(usize, usize)> {
        if n >= self.pairs {
            return None;
        }
        // SAFETY: the ovector of a live block has `2 * pairs` elements and
        // `n < pairs`.
        let (s, e) = unsafe {
            let v = pcre2_get_ovector_pointer_8(self.ptr);
            (*v.add(2 * n), *v.add(2 * n + 1))
        };
        (s != UNSET && e != UNSET && s <= e).then_some((s, e))
    }
}

impl Drop for MatchData {
    fn drop(&mut self) {
        // SAFETY: `self.ptr` came from pcre2_match_data_create and is freed once.
        unsafe { pcre2_match_data_free_8(self.ptr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> std::ffi::CString {
        std::ffi::CString::new(s).unwrap()
    }

    #[test]
    fn compile_and_match() {
        let re = Regex::new(&c(r"(\d+)-(\d+)"), CASELESS | DOTALL).unwrap();
        assert_eq!(re.groups(), 2);
        let mut md = MatchData::new(3).unwrap();
        assert!(re.exec(b"x12-34", &mut md).unwrap());
        assert_eq!(md.group(1), Some((1, 3)));
        assert_eq!(md.group(2), Some((4, 6)));
        assert!(!re.exec(b"x", &mut md).unwrap());
    }

    #[test]
    fn compile_error_offset_and_text() {
        let (off, msg) = Regex::new(&c("^bad("), 0).err().unwrap();
        assert_eq!((off, msg.as_str()), (5, "missing closing parenthesis"));
    }
}
