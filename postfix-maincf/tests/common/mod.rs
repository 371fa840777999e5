//! Helpers shared by the integration tests (each test file includes this
//! module; not every file uses every helper).
#![allow(dead_code)]

use std::path::Path;

/// The real postconf.
pub const POSTCONF: &str = "/usr/sbin/postconf";

/// Whether the tests that run the real postconf can run: false (with a loud
/// note) when it is missing, a panic when `DMS_REQUIRE_POSTFIX` is set (CI).
pub fn have_postconf() -> bool {
    if Path::new(POSTCONF).exists() {
        return true;
    }
    if std::env::var_os("DMS_REQUIRE_POSTFIX").is_some() {
        panic!("{POSTCONF} not found and DMS_REQUIRE_POSTFIX is set: apt-get install postfix");
    }
    eprintln!(
        "\n**********\nSKIPPED: {POSTCONF} not found (apt-get install postfix)\n**********\n"
    );
    false
}

/// Back-dates a file: Postfix waits for a file modified within the last
/// second to settle before it reads it.
pub fn make_cold(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(946_684_800))
        .unwrap();
}

/// The `.raw` files' escaping: `\\ \t \r \n \v \f`, `\xNN` for other bytes
/// outside 0x20..0x7e.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// Every bare LF made CRLF: postconf's result as it would be if it kept a
/// CRLF file's endings, as we do.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' && (i == 0 || bytes[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// A fixed-seed xorshift generator for the differential tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}
