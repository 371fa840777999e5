//! glibc's POSIX regular expressions (`regcomp`, `regexec`, `regerror`,
//! `regfree`), as Postfix's `dict_regexp.c` uses them.
//!
//! The `libc` crate declares these functions but keeps `regex_t`'s fields
//! private, and Postfix needs `re_nsub` (the number of groups) to check
//! `$n` indexes. So this module declares glibc's `regex_t` layout itself
//! (checked against `libc::regex_t`'s size and alignment at compile time)
//! and the four functions over it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_uchar, c_ulong, c_void};

/// glibc's `regex_t` (`<regex.h>`, `struct re_pattern_buffer`), with the
/// public `re_nsub`.
#[repr(C)]
struct RegexT {
    buffer: *mut c_void,
    allocated: usize,
    used: usize,
    syntax: c_ulong,
    fastmap: *mut c_char,
    translate: *mut c_uchar,
    re_nsub: usize,
    bits: u8,
}

const _: () = assert!(std::mem::size_of::<RegexT>() == std::mem::size_of::<libc::regex_t>());
const _: () = assert!(std::mem::align_of::<RegexT>() == std::mem::align_of::<libc::regex_t>());

unsafe extern "C" {
    fn regcomp(preg: *mut RegexT, pattern: *const c_char, cflags: c_int) -> c_int;
    fn regexec(
        preg: *const RegexT,
        string: *const c_char,
        nmatch: usize,
        pmatch: *mut libc::regmatch_t,
        eflags: c_int,
    ) -> c_int;
    fn regerror(errcode: c_int, preg: *const RegexT, errbuf: *mut c_char, size: usize) -> usize;
    fn regfree(preg: *mut RegexT);
}

pub(crate) const EXTENDED: c_int = libc::REG_EXTENDED;
pub(crate) const ICASE: c_int = libc::REG_ICASE;
pub(crate) const NEWLINE: c_int = libc::REG_NEWLINE;
pub(crate) const NOSUB: c_int = libc::REG_NOSUB;

/// One compiled pattern. Owns glibc's allocation; freed on drop.
pub(crate) struct Regex {
    re: Box<RegexT>,
}

// SAFETY: glibc's regexec() is MT-safe (it locks the compiled DFA
// internally) and never writes through `preg` visibly to the caller; the
// compiled pattern is not tied to the thread that compiled it.
unsafe impl Send for Regex {}
// SAFETY: see `Send`; `exec` takes `&self` and glibc serialises concurrent
// regexec() calls on one pattern.
unsafe impl Sync for Regex {}

/// `regerror()` into a 256-byte buffer, as Postfix does (so long messages
/// are cut at the same place).
fn error_text(code: c_int, re: *const RegexT) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its full length, which is passed as
    // `size`; glibc writes at most `size` bytes including the NUL. `re`
    // points to a live (possibly failed-to-compile) regex_t, which glibc's
    // regerror() does not read.
    unsafe {
        regerror(code, re, buf.as_mut_ptr().cast::<c_char>(), buf.len());
    }
    let text = CStr::from_bytes_until_nul(&buf)
        .map(CStr::to_bytes)
        .unwrap_or_default();
    String::from_utf8_lossy(text).into_owned()
}

impl Regex {
    /// `regcomp(pattern, flags)`; on failure, `regerror()`'s text.
    pub(crate) fn new(pattern: &CStr, flags: c_int) -> Result<Regex, String> {
        // SAFETY: RegexT is plain data (pointers and integers); all-zero is
        // a valid bit pattern and regcomp() initialises it.
        let mut re: Box<RegexT> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` is a valid, exclusively borrowed regex_t; `pattern`
        // is NUL-terminated and outlives the call.
        let code = unsafe { regcomp(&mut *re, pattern.as_ptr(), flags) };
        if code != 0 {
            // glibc frees its partial state itself when regcomp() fails;
            // `re` must not be passed to regfree() (Drop is not run: `re`
            // is a plain Box here, not a Regex).
            return Err(error_text(code, &*re));
        }
        Ok(Regex { re })
    }

    /// The number of parenthesised groups (`re_nsub`).
    pub(crate) fn groups(&self) -> usize {
        self.re.re_nsub
    }

    /// `regexec(subject, pmatch.len(), pmatch)`: `Ok(true)` on a match,
    /// `Ok(false)` on `REG_NOMATCH`, `Err(regerror text)` otherwise.
    pub(crate) fn exec(
        &self,
        subject: &CStr,
        pmatch: &mut [libc::regmatch_t],
    ) -> Result<bool, String> {
        let ptr = if pmatch.is_empty() {
            std::ptr::null_mut()
        } else {
            pmatch.as_mut_ptr()
        };
        // SAFETY: `self.re` was compiled by regcomp() and not freed;
        // `subject` is NUL-terminated; `pmatch` has exactly `len()`
        // writable elements (a null pointer with nmatch 0 is allowed).
        let code = unsafe { regexec(&*self.re, subject.as_ptr(), pmatch.len(), ptr, 0) };
        match code {
            0 => Ok(true),
            libc::REG_NOMATCH => Ok(false),
            c => Err(error_text(c, &*self.re)),
        }
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: `self.re` was successfully compiled by regcomp() and is
        // freed exactly once, here.
        unsafe { regfree(&mut *self.re) }
    }
}

/// An unset `regmatch_t` (`rm_so == -1`), for sizing match arrays.
pub(crate) const UNSET: libc::regmatch_t = libc::regmatch_t {
    rm_so: -1,
    rm_eo: -1,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> std::ffi::CString {
        std::ffi::CString::new(s).unwrap()
    }

    #[test]
    fn compile_match_groups() {
        // Leftmost-longest: `a|ab` takes "ab" (a leftmost-first engine such
        // as the `regex` crate would stop at "a").
        let re = Regex::new(&c("^(a|ab)"), EXTENDED).unwrap();
        assert_eq!(re.groups(), 1);
        let mut m = [UNSET; 2];
        assert!(re.exec(&c("abcd"), &mut m).unwrap());
        assert_eq!((m[1].rm_so, m[1].rm_eo), (0, 2));
        assert!(!re.exec(&c("x"), &mut m).unwrap());
        // Back-references, which the `regex` crate refuses.
        let re = Regex::new(&c("^(.)\\1$"), EXTENDED).unwrap();
        assert!(re.exec(&c("aa"), &mut []).unwrap());
        assert!(!re.exec(&c("ab"), &mut []).unwrap());
    }

    #[test]
    fn errors_are_glibc_texts() {
        let e = Regex::new(&c("("), EXTENDED).err().unwrap();
        assert_eq!(e, "Unmatched ( or \\(");
        let e = Regex::new(&c("a{2,1}"), EXTENDED).err().unwrap();
        assert_eq!(e, "Invalid content of \\{\\}");
    }

    #[test]
    fn case_flag() {
        let re = Regex::new(&c("^b"), EXTENDED | ICASE).unwrap();
        assert!(re.exec(&c("B"), &mut []).unwrap());
        let re = Regex::new(&c("^b"), EXTENDED).unwrap();
        assert!(!re.exec(&c("B"), &mut []).unwrap());
    }
}
