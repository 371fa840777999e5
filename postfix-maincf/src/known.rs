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

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use crate::defaults::{self, Defaults, HostDefaults};
use crate::expand::{self, Lookup, ScanEvent};
use postfix_table::lines::{self, Segment};

// ---------------------------------------------------------------------------
// `$` expressions: parsing and expansion are `crate::expand`'s.

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Recursive expansion (`postconf -x` semantics, [`expand::expand`]) with a
/// closure look-up; only the value, errors as [`expand::ExpandError`].
/// Kept for `crate::defaults` (`Defaults::for_main_cf`), which calls it.
pub(crate) fn expand_recursive(
    value: &[u8],
    lookup: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, expand::ExpandError> {
    expand::expand(value, &lookup).map(|e| e.value)
}

/// The names postconf's scan pass (`pcf_scan_user_parameter_value()`,
/// `mac_expand()` in scan mode) hands to `pcf_flag_user_parameter()` for
/// one value, in order: every [`ScanEvent::Name`] of [`expand::scan`].
///
/// A malformed value is **not** skipped as a whole: postconf only warns
/// during this pass, and the names met before the problem have already
/// been flagged (`-n` still succeeds when the value belongs to a
/// user-defined or unknown parameter; for built-ins the later expansion is
/// fatal). Checked against postconf 3.7: with `u1 = 1`, `u2 = 2`, an
/// unknown `foo = $u1 $` or `foo = ${u1?${a b}} $u2` makes `u1` known (not
/// `u2`), while `foo = $ $u1` or `foo = ${u1 x} $u2` makes neither known.
/// [`expand::scan`] stops reporting names exactly where postconf stops
/// calling back, so its events are used as they are (an earlier version
/// ignored every name of a value that failed to scan, and reported `u1`
/// as unused in the first two examples). Tested in tests/known.rs
/// (`malformed_values_flag_names_met_before_the_error`, main.cf and
/// master.cf `-o` values against postconf).
fn for_each_scanned_name(value: &[u8], mut f: impl FnMut(&[u8])) {
    if simple_scan(value, &mut f) {
        return;
    }
    for event in expand::scan(value).events {
        if let ScanEvent::Name(n) = event
            && !n.is_empty()
        {
            f(&n);
        }
    }
}

/// The fast path of postconf's scan: when `value` has no `$` at all (the
/// common case) or only plain references (see `SimpleRefs`), calls `f`
/// with each referenced name and returns true; such a value has nothing
/// to warn about. Returns false, having called nothing, otherwise: use
/// [`expand::scan`].
pub(crate) fn simple_scan<'v>(value: &'v [u8], mut f: impl FnMut(&'v [u8])) -> bool {
    // One pass when there are few names (there usually are).
    let mut first: [&'v [u8]; 8] = [&[]; 8];
    let mut count = 0;
    for r in SimpleRefs(value) {
        let Some(name) = r else {
            return false;
        };
        if let Some(slot) = first.get_mut(count) {
            *slot = name;
        }
        count += 1;
    }
    if count <= first.len() {
        first.iter().take(count).for_each(|n| f(n));
    } else {
        SimpleRefs(value).flatten().for_each(f);
    }
    true
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn name_len(s: &[u8]) -> usize {
    s.iter().take_while(|&&b| is_name_byte(b)).count()
}

/// The `$` forms of a value (up to its first NUL), for [`for_each_scanned_name`]'s
/// fast path: `Some(NAME)` for `$NAME`, `${NAME}` and `$(NAME)` with
/// `NAME` = `[A-Za-z0-9_]+` (`$NAME` taking the longest such run), `$$`
/// skipped, then one `None` at the first other `$` form. When a value has
/// no `None`, [`expand::scan`] reports exactly these names (one nesting
/// level, no lookups, nothing to warn about), only slower (it allocates
/// per value and per name, being built for the general grammar); the
/// property test `scanned_names_are_expand_scans` checks the agreement.
struct SimpleRefs<'a>(&'a [u8]);

impl<'a> Iterator for SimpleRefs<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Postfix strings end at the first NUL.
            let dollar = memchr::memchr2(b'$', 0, self.0)?;
            if self.0.get(dollar) == Some(&0) {
                self.0 = &[];
                return None;
            }
            let after = self.0.get(dollar + 1..).unwrap_or_default();
            let (name, rest) = match after.first() {
                Some(b'$') => {
                    self.0 = after.get(1..).unwrap_or_default();
                    continue;
                }
                Some(&open @ (b'{' | b'(')) => {
                    let close = if open == b'{' { b'}' } else { b')' };
                    let inner = after.get(1..).unwrap_or_default();
                    let n = name_len(inner);
                    if n == 0 || inner.get(n) != Some(&close) {
                        (None, &[][..])
                    } else {
                        (inner.get(..n), inner.get(n + 1..).unwrap_or_default())
                    }
                }
                _ => {
                    let n = name_len(after);
                    if n == 0 {
                        (None, &[][..])
                    } else {
                        (after.get(..n), after.get(n..).unwrap_or_default())
                    }
                }
            };
            self.0 = rest;
            return Some(name);
        }
    }
}

// ---------------------------------------------------------------------------
// main.cf parameters

/// Main.cf size (parameters) from which [`Ctx::scan_main`] uses two
/// threads.
const PARALLEL_SCAN_MIN: usize = 8192;

/// Multiplier of [`NameHasher`] (2^64 / golden ratio).
const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// The high and low halves of the 128-bit product, folded.
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hash builder for parameter names, faster than std's SipHash on short
/// keys (a main.cf may have tens of thousands of names, each looked up
/// more than once): one multiply per 8 bytes.
/// Keyed per map from std's random keys, so colliding names cannot be
/// prepared in advance.
#[derive(Debug, Clone, Copy)]
struct NameHashState {
    seed: u64,
}

impl Default for NameHashState {
    fn default() -> Self {
        NameHashState {
            seed: RandomState::new().hash_one(HASH_MUL) | 1,
        }
    }
}

impl BuildHasher for NameHashState {
    type Hasher = NameHasher;

    fn build_hasher(&self) -> NameHasher {
        NameHasher(self.seed)
    }
}

/// See [`NameHashState`].
#[derive(Debug, Clone, Copy)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        fold_mul(self.0, HASH_MUL)
    }

    /// Whole 8-byte words, then the last 8 bytes once more when the length
    /// is not a multiple of 8 (overlapping the last word: two plain loads
    /// instead of assembling the tail byte by byte); shorter inputs are
    /// read as two overlapping 4-byte or three single-byte loads. `[u8]`'s
    /// `Hash` writes the length first, so overlaps cannot collide.
    fn write(&mut self, bytes: &[u8]) {
        let word = |c: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or_default());
        let half = |c: &[u8]| {
            u64::from(u32::from_le_bytes(
                <[u8; 4]>::try_from(c).unwrap_or_default(),
            ))
        };
        let n = bytes.len();
        if n >= 8 {
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                self.0 = fold_mul(self.0 ^ word(c), HASH_MUL);
            }
            if !chunks.remainder().is_empty() {
                let tail = bytes.get(n - 8..).unwrap_or_default();
                self.0 = fold_mul(self.0 ^ word(tail), HASH_MUL);
            }
        } else if n >= 4 {
            let w = half(bytes.get(..4).unwrap_or_default())
                | half(bytes.get(n - 4..).unwrap_or_default()) << 32;
            self.0 = fold_mul(self.0 ^ w, HASH_MUL);
        } else if let (Some(&a), Some(&b), Some(&c)) =
            (bytes.first(), bytes.get(n / 2), bytes.last())
        {
            let w = u64::from(a) | u64::from(b) << 8 | u64::from(c) << 16;
            self.0 = fold_mul(self.0 ^ w, HASH_MUL);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = fold_mul(self.0 ^ n as u64, HASH_MUL);
    }
}

/// Words of the bitmap of [`Table`] name hashes (64 Kibit, 8 KiB: for
/// postconf's ~1,100 names, 1 in 60 other names passes it).
const TABLE_BITMAP_WORDS: usize = 1024;

/// The word and bit of hash `h` in the table bitmap (from the hash's top
/// 16 bits).
fn bitmap_position(h: u64) -> (usize, u64) {
    let top = (h >> 48) as usize;
    (top >> 6, 1u64 << (top & 63))
}

/// Built-in, legacy, read-only and service-dependent names.
type Table = HashMap<Vec<u8>, Node, NameHashState>;

/// One main.cf parameter: byte ranges in [`MainParams::src`] followed by
/// [`MainParams::own`] (see [`MainParams::slice`]).
#[derive(Debug, Clone)]
struct MainEntry {
    name: (usize, usize),
    value: (usize, usize),
}

/// main.cf's parameters, the last definition of a name winning, as
/// Postfix's dictionary holds them. Names and values are borrowed from the
/// document's bytes where they lie there as they are (definitions on one
/// physical line: nearly all), the others are copied into one buffer; the
/// index is small (a main.cf may have tens of thousands of parameters,
/// each looked up when referenced: copies, allocations, page faults and
/// cache misses are what costs).
#[derive(Debug, Clone, Default)]
struct MainParams<'a> {
    /// The document's bytes.
    src: &'a [u8],
    /// Names and values that are not in `src` as they are (joined
    /// continuation lines, edited entries).
    own: Vec<u8>,
    /// In order of first definition.
    entries: Vec<MainEntry>,
    /// Indices into `entries`, sorted by name (byte order).
    sorted: Vec<u32>,
    /// Open-addressing name index (linear probing, a power of two long,
    /// `2^k` slots): each slot is 0 (empty) or `tag | (entry + 1)`, the
    /// entry in the low `k` bits (at most 4/5 of the slots are used, so
    /// `entry + 1 < 2^k`), the tag the top `32 - k` bits of the name's
    /// hash. A lookup reads one slot run (usually one cache line), then the
    /// entry and its name only when the tag matches: a main.cf may have
    /// tens of thousands of names, each looked up once per `$name`
    /// reference. Four-byte slots keep the index small (for 50,000 names,
    /// 256 KiB): random reads into it are most of what a lookup costs.
    slots: Vec<u32>,
    /// Occupied slots.
    used: usize,
    hasher: NameHashState,
}

/// Where `part` lies in `whole`, when it is a sub-slice of it.
fn range_in(whole: &[u8], part: &[u8]) -> Option<(usize, usize)> {
    // Address arithmetic only: a slice of another allocation cannot lie
    // inside `whole` (and an empty one reads as empty wherever it is).
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some((start, end))
}

impl<'a> MainParams<'a> {
    /// The parameters of `cf` ([`MainParams::from_cf`] with no table).
    #[cfg(test)]
    fn of(cf: &'a crate::MainCf, diagnostics: &mut Vec<crate::Diagnostic>) -> Self {
        MainParams::from_cf(cf, diagnostics, NameHashState::default(), |_, _| false).0
    }

    /// The parameters of `cf`, names hashed with `hasher`, and per entry
    /// whether `in_table(hash, name)` says the name is in postconf's table
    /// ([`MainState::InTable`], else [`MainState::Unused`]). What
    /// [`crate::MainCf::diagnostics`] reports, found on the way, goes to
    /// `diagnostics` (in file order).
    fn from_cf(
        cf: &'a crate::MainCf,
        diagnostics: &mut Vec<crate::Diagnostic>,
        hasher: NameHashState,
        in_table: impl Fn(u64, &[u8]) -> bool,
    ) -> (Self, Vec<MainState>) {
        let mut m = MainParams {
            src: &cf.src[..],
            hasher,
            ..MainParams::default()
        };
        let lines = cf.logical_lines();
        // At most one parameter per line: room for all without rehashing.
        let most = lines.size_hint().1.unwrap_or(0);
        m.entries.reserve(most);
        m.slots = vec![0; slot_count(most)];
        let mut state = Vec::with_capacity(most);
        for p in lines {
            let p = match p {
                Ok(p) => p,
                Err(d) => {
                    diagnostics.push(d);
                    continue;
                }
            };
            let h = m.hash(&p.name);
            match m.probe(h, &p.name) {
                Ok(i) => {
                    // Redefined: the last value wins, with a warning when
                    // it differs from the one it replaces.
                    let old = m.value(i);
                    if *old != *p.value {
                        diagnostics.push(crate::Diagnostic {
                            line: p.line,
                            kind: crate::DiagnosticKind::Overriding {
                                name: p.name.into_owned(),
                                old_value: old.to_vec(),
                            },
                        });
                    }
                    let value = m.store(&p.value);
                    if let Some(e) = m.entries.get_mut(i) {
                        e.value = value;
                    }
                }
                Err(_) => {
                    let name = m.store(&p.name);
                    let value = m.store(&p.value);
                    // (From the 2^32 - 1st name on, and so never: not
                    // indexed; a slot holds entry + 1 in 32 bits at most.)
                    if let Some(entry) = u32::try_from(m.entries.len())
                        .ok()
                        .filter(|&e| e < u32::MAX)
                    {
                        m.place(h, entry);
                    }
                    m.entries.push(MainEntry { name, value });
                    state.push(if in_table(h, &p.name) {
                        MainState::InTable
                    } else {
                        MainState::Unused
                    });
                }
            }
        }
        let mut sorted: Vec<u32> = (0..m.entries.len())
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        sorted.sort_unstable_by(|&a, &b| m.name(a as usize).cmp(m.name(b as usize)));
        m.sorted = sorted;
        (m, state)
    }

    /// The range of `part`: in `src` when it lies there, else copied.
    fn store(&mut self, part: &[u8]) -> (usize, usize) {
        if let Some(r) = range_in(self.src, part) {
            return r;
        }
        let base = self.src.len() + self.own.len();
        self.own.extend_from_slice(part);
        (base, base + part.len())
    }

    /// The bytes of a range made by [`MainParams::store`].
    fn slice(&self, span: (usize, usize)) -> &[u8] {
        slice_of(self.src, &self.own, span)
    }

    fn hash(&self, name: &[u8]) -> u64 {
        self.hasher.hash_one(name)
    }

    /// Bits of a slot that hold an entry (plus one) in an index of
    /// `slots.len()` slots: the rest hold the tag.
    fn entry_bits(&self) -> u32 {
        self.slots.len().trailing_zeros().min(32)
    }

    /// The slot for entry `entry` of hash `h` (never 0).
    fn slot_of(&self, h: u64, entry: u32) -> u32 {
        let bits = self.entry_bits();
        slot_tag(h, bits) | entry.wrapping_add(1)
    }

    /// The entry of a slot that is not empty.
    fn slot_entry(&self, slot: u32) -> usize {
        ((slot & low_mask(self.entry_bits())) as usize).wrapping_sub(1)
    }

    /// The entry named `name` (`Ok`), or the empty slot where it would go
    /// (`Err`; `usize::MAX` when the index has no slots).
    fn probe(&self, h: u64, name: &[u8]) -> Result<usize, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let bits = self.entry_bits();
        let tag = slot_tag(h, bits);
        let high = !low_mask(bits);
        let mut at = (h as usize) & mask;
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(at).copied().unwrap_or(0);
            if slot == 0 {
                return Err(at);
            }
            if slot & high == tag {
                let entry = self.slot_entry(slot);
                if self.name(entry) == name {
                    return Ok(entry);
                }
            }
            at = (at + 1) & mask;
        }
        Err(usize::MAX)
    }

    /// Indexes `entry` (hash `h`, a name not indexed yet), growing the
    /// index first when it would get more than 4/5 full.
    fn place(&mut self, h: u64, entry: u32) {
        if self.slots.is_empty() || (self.used + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let slot = self.slot_of(h, entry);
        if let Err(at) = self.probe_empty(h)
            && let Some(s) = self.slots.get_mut(at)
        {
            *s = slot;
            self.used += 1;
        }
    }

    /// The first empty slot on `h`'s probe run.
    fn probe_empty(&self, h: u64) -> Result<usize, usize> {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = (h as usize) & mask;
        for _ in 0..self.slots.len() {
            if self.slots.get(at) == Some(&0) {
                return Err(at);
            }
            at = (at + 1) & mask;
        }
        Err(usize::MAX)
    }

    /// Doubles the index (rehashing every indexed name).
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let low = low_mask(old.len().trailing_zeros().min(32));
        self.slots = vec![0; (old.len() * 2).max(16)];
        self.used = 0;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let entry = (slot & low).wrapping_sub(1);
            let h = self.hash(self.name(entry as usize));
            let new = self.slot_of(h, entry);
            if let Err(at) = self.probe_empty(h)
                && let Some(s) = self.slots.get_mut(at)
            {
                *s = new;
                self.used += 1;
            }
        }
    }

    fn name(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| self.slice(e.name))
    }

    fn value(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| self.slice(e.value))
    }

    /// Entry indices in name order.
    fn sorted(&self) -> impl Iterator<Item = usize> + '_ {
        self.sorted.iter().map(|&i| i as usize)
    }

    fn find(&self, name: &[u8]) -> Option<usize> {
        self.probe(self.hash(name), name).ok()
    }

    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.find(name).map(|i| self.value(i))
    }
}

/// [`MainParams::slice`] of `src` followed by `own`.
fn slice_of<'s>(src: &'s [u8], own: &'s [u8], (start, end): (usize, usize)) -> &'s [u8] {
    let base = src.len();
    if start < base {
        src.get(start..end)
    } else {
        own.get(start.saturating_sub(base)..end.saturating_sub(base))
    }
    .unwrap_or_default()
}

/// Index slots for `n` names: a power of two, at most 4/5 full.
fn slot_count(n: usize) -> usize {
    (n.saturating_add(n / 4).saturating_add(1))
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX / 2 + 1)
        .max(16)
}

/// The tag part of a slot for hash `h` in an index whose slots hold
/// `bits` bits of entry: the hash's top `32 - bits` bits, in the slot's
/// top bits (bits 32 and up of the hash: the slot position uses the low
/// ones).
fn slot_tag(h: u64, bits: u32) -> u32 {
    ((h >> 32) as u32) & !low_mask(bits)
}

/// The mask of a slot's low `bits` bits (the entry part).
fn low_mask(bits: u32) -> u32 {
    1u32.checked_shl(bits).map_or(u32::MAX, |b| b - 1)
}

impl Lookup for MainParams<'_> {
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get(name).map(Cow::Borrowed)
    }
}

/// [`Defaults::for_main_cf`] from the parameters already collected (its
/// `myhostname` / `mydomain` settings expanded recursively with main.cf
/// values only; an expansion error counts as "not set").
fn defaults_for(host: HostDefaults, main: &MainParams<'_>) -> Defaults {
    let eval = |name: &[u8]| {
        main.get(name)
            .and_then(|v| expand::expand(v, main).ok())
            .map(|e| e.value)
    };
    let myhostname = eval(b"myhostname");
    let mydomain = eval(b"mydomain");
    Defaults::with_settings(host, myhostname.as_deref(), mydomain.as_deref())
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

/// For each `{` in `s`, the index of its matching `}` (`usize::MAX` when it
/// has none); other positions are unused. Matching is by nesting, as
/// [`split_quoted`] and [`extpar`] count it (a `}` with no open `{` is an
/// ordinary byte).
fn brace_matches(s: &[u8]) -> Vec<usize> {
    let mut close = vec![usize::MAX; s.len()];
    let mut open = Vec::new();
    for (i, &c) in s.iter().enumerate() {
        if c == b'{' {
            open.push(i);
        } else if c == b'}'
            && let Some(o) = open.pop()
            && let Some(slot) = close.get_mut(o)
        {
            *slot = i;
        }
    }
    close
}

/// [`split_quoted`] of `s[from..to]`, as ranges of `s`, skipping each
/// `{ }` group in one step with `close` ([`brace_matches`] of `s`).
fn split_groups(
    s: &[u8],
    from: usize,
    to: usize,
    close: &[usize],
    sep: impl Fn(u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = from;
    loop {
        while i < to && s.get(i).copied().is_some_and(&sep) {
            i += 1;
        }
        if i >= to {
            return out;
        }
        let start = i;
        while i < to {
            let Some(&c) = s.get(i) else { break };
            if c == b'{' {
                // An unmatched group runs to the end, as in split_quoted.
                i = match close.get(i) {
                    Some(&m) if m < to => m + 1,
                    _ => to,
                };
                continue;
            }
            if sep(c) {
                break;
            }
            i += 1;
        }
        out.push((start, i));
    }
}

/// [`extpar`] (without stripping) of the group at `s[from..to]`, which
/// starts with `{`, as a range of `s`.
fn group_inside(from: usize, to: usize, close: &[usize]) -> (usize, usize) {
    match close.get(from) {
        Some(&m) if m < to => (from + 1, m),
        _ => ((from + 1).min(to), to),
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
pub struct Known<'a> {
    /// Built-in, legacy, read-only and service-dependent names.
    table: Table,
    main: MainParams<'a>,
    /// Per [`MainParams::entries`].
    state: Vec<MainState>,
    read_only_main: Vec<(Vec<u8>, Vec<u8>)>,
    spaces: Vec<Space>,
    locals: Vec<Local>,
    read_only_master: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    master_error: Option<MasterCfError>,
    defaults: Defaults,
    undefined: Vec<(bool, Vec<u8>)>,
    /// [`crate::MainCf::diagnostics`], found while reading the parameters.
    main_diagnostics: Vec<crate::Diagnostic>,
    /// Per [`MainParams::entries`]: the value is known to have nothing to
    /// warn about (only plain `$name` references, if any).
    plain: Vec<bool>,
}

/// What postconf makes of one main.cf name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MainState {
    /// Not known (so far).
    Unused,
    /// In [`Known::table`] (membership never changes while scanning).
    InTable,
    /// A user-defined name made known by a reference.
    User,
}

struct Ctx<'a> {
    table: &'a mut Table,
    main: &'a MainParams<'a>,
    state: &'a mut [MainState],
    /// Per [`MainParams::entries`]: true when the value is known to be
    /// plain ([`simple_scan`] returned true), false when not known.
    plain: &'a mut [bool],
    spaces: &'a [Space],
    locals: &'a mut [Local],
    defaults: &'a Defaults,
    /// References postconf warns about (`undefined parameter`): (from a
    /// master.cf `-o` value, name), every occurrence.
    undefined: &'a mut Vec<(bool, Vec<u8>)>,
}

/// `pcf_lookup_parameter_value()` for one name space, as an
/// [`expand::Lookup`].
struct Values<'c, 'a> {
    ctx: &'c Ctx<'a>,
    local: Option<usize>,
}

impl Lookup for Values<'_, '_> {
    fn lookup(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.ctx.lookup_value(name, self.local)
    }
}

impl<'a> Ctx<'a> {
    /// `pcf_flag_user_parameter()`.
    fn flag(&mut self, name: &[u8], local: Option<usize>, warn: bool) {
        let in_main = self.main.find(name);
        if warn
            && in_main.is_none()
            && !self.table.contains_key(name)
            && !self.user_supplied_by_master(name, local)
        {
            self.undefined.push((local.is_some(), name.to_vec()));
        }
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
        if let Some(i) = in_main
            && let Some(state) = self.state.get_mut(i)
            && *state == MainState::Unused
        {
            *state = MainState::User;
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
        for_each_scanned_name(value, |n| self.flag(n, local, true));
    }

    /// postconf's `user_supplied`, main.cf aside: the name is set in this
    /// service's `-o` options, or (for a main.cf reference) in any
    /// service's options.
    fn user_supplied_by_master(&self, name: &[u8], local: Option<usize>) -> bool {
        let in_space = |l: &Local| {
            self.spaces
                .get(l.space)
                .is_some_and(|s| s.params.contains_key(name))
        };
        match local.and_then(|i| self.locals.get(i)) {
            Some(l) => in_space(l),
            None => local.is_none() && self.locals.iter().any(in_space),
        }
    }

    fn default_of(&self, name: &[u8]) -> Option<Cow<'_, [u8]>> {
        let node = self.table.get(name)?;
        if let Some(d) = &node.service_default {
            return Some(Cow::Borrowed(d));
        }
        let builtin = match node.class {
            Class::Builtin | Class::ReadOnly | Class::Service | Class::Legacy => {
                self.defaults.get(name)
            }
            Class::User => defaults::default_value(name).and_then(|_| self.defaults.get(name)),
        };
        Some(builtin.unwrap_or_default())
    }

    /// `pcf_lookup_parameter_value()` for `-n` expansion.
    fn lookup_value(&self, name: &[u8], local: Option<usize>) -> Option<Cow<'_, [u8]>> {
        if let Some(l) = local.and_then(|i| self.locals.get(i)) {
            match name {
                b"process_name" => return Some(Cow::Borrowed(&l.process_name)),
                b"service_name" => return Some(Cow::Borrowed(&l.service_name)),
                _ => {}
            }
            if let Some(v) = self.spaces.get(l.space).and_then(|s| s.params.get(name)) {
                return Some(Cow::Borrowed(v));
            }
        }
        if let Some(v) = self.main.get(name) {
            return Some(Cow::Borrowed(v));
        }
        self.default_of(name)
    }

    /// `pcf_register_dbms_parameters()`.
    fn dbms(&mut self, value: &[u8], local: Option<usize>) {
        let lookup = Values { ctx: self, local };
        let Ok(expanded) = expand::expand(value, &lookup) else {
            return;
        };
        let buf = expanded.value;
        // Work on ranges of the one expanded value, with every brace's
        // match found once: nested `{ }` groups are then peeled in
        // constant time each, however deep (copying and re-splitting the
        // group at each level is quadratic).
        let close = brace_matches(&buf);
        let sep = |b: u8| b == b',' || is_ws(b);
        let mut work = vec![(0, buf.len())];
        let mut candidates = Vec::new();
        while let Some((from, to)) = work.pop() {
            for (ts, te) in split_groups(&buf, from, to, &close, sep) {
                let token = buf.get(ts..te).unwrap_or_default();
                if token.first() == Some(&b'{') {
                    work.push(group_inside(ts, te, &close));
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
                    Some(b'{') => {
                        if let Some((ps, pe)) = range_in(&buf, prefix) {
                            work.push(group_inside(ps, pe, &close));
                        }
                    }
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
            // Database-client names are never reported undefined.
            self.flag(&c, local, false);
        }
    }

    /// `smtpd_restriction_classes` in one name space: its value expanded
    /// with that name space's values only.
    fn restriction_classes(&mut self, params: &impl Lookup, local: Option<usize>) {
        let Some(v) = params.lookup(b"smtpd_restriction_classes") else {
            return;
        };
        let Ok(list) = expand::expand(&v, params) else {
            return;
        };
        for name in list
            .value
            .split(|&b| b == b',' || is_ws(b))
            .filter(|n| !n.is_empty())
        {
            self.flag(name, local, true);
        }
    }

    /// One parameter of a name space, as
    /// `pcf_scan_user_parameter_namespace()` treats it (the restriction
    /// classes aside); false for a read-only assignment, which postconf
    /// deletes.
    /// `in_table`: false when `name` is known not to be in the table.
    fn scan_param(
        &mut self,
        name: &[u8],
        value: &[u8],
        local: Option<usize>,
        in_table: bool,
    ) -> bool {
        let mut dbms = false;
        if in_table && let Some(node) = self.table.get_mut(name) {
            if node.class == Class::ReadOnly {
                return false;
            }
            if node.class == Class::Legacy {
                node.class = Class::User;
            }
            if node.raw {
                return true;
            }
            dbms = matches!(node.class, Class::Builtin | Class::Service);
        }
        self.scan_value(value, local);
        if dbms {
            self.dbms(value, local);
        }
        true
    }

    /// A master.cf name space; returns the read-only assignments it
    /// deleted.
    fn scan_space(
        &mut self,
        params: &mut BTreeMap<Vec<u8>, Vec<u8>>,
        local: Option<usize>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut deleted = Vec::new();
        for (name, value) in params.iter() {
            if !self.scan_param(name, value, local, true) {
                deleted.push((name.clone(), value.clone()));
            }
        }
        for (name, _) in &deleted {
            params.remove(name);
        }
        deleted
    }

    /// main.cf's name space; returns the read-only assignments (postconf
    /// deletes them), sorted by name.
    fn scan_main(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let main: &'a MainParams<'a> = self.main;
        if self.locals.is_empty() && main.sorted.len() >= PARALLEL_SCAN_MIN {
            return self.scan_main_parallel();
        }
        let mut deleted = Vec::new();
        for i in main.sorted() {
            let (name, value) = (main.name(i), main.value(i));
            let in_table = self.state.get(i) == Some(&MainState::InTable);
            if !self.scan_param(name, value, None, in_table) {
                deleted.push((name.to_vec(), value.to_vec()));
            }
        }
        deleted
    }

    /// [`Ctx::scan_main`] for large files without master.cf name spaces:
    /// the plain references of user-defined parameters (most of a large
    /// file) are looked up on two threads first (lookups only), then
    /// applied in one pass; everything else goes through
    /// [`Ctx::scan_param`] as usual. The effects of flagging commute, so
    /// the result is the sequential one.
    fn scan_main_parallel(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        /// What one thread found in its part: the entries referenced
        /// (found in main.cf) and the names referenced but not there, in
        /// order; the entries left to [`Ctx::scan_param`]; the entries
        /// with plain values.
        #[derive(Default)]
        struct Part<'v> {
            found: Vec<u32>,
            missing: Vec<&'v [u8]>,
            rest: Vec<u32>,
            plain: Vec<u32>,
        }
        let main: &'a MainParams<'a> = self.main;
        let state: &[MainState] = self.state;
        let resolve = |part: &[u32]| {
            let mut out = Part::default();
            out.found.reserve(part.len());
            out.plain.reserve(part.len());
            for &i in part {
                let at = i as usize;
                if state.get(at) == Some(&MainState::InTable) {
                    out.rest.push(i);
                    continue;
                }
                let plain = simple_scan(main.value(at), |n| match main.find(n) {
                    // (Entry indices fit in u32: see `MainParams::from_cf`.)
                    Some(j) => out.found.push(j as u32),
                    None => out.missing.push(n),
                });
                if plain {
                    out.plain.push(i);
                } else {
                    out.rest.push(i);
                }
            }
            out
        };
        let (first, second) = main.sorted.split_at(main.sorted.len() / 2);
        let (a, b) = std::thread::scope(|scope| {
            let other = scope.spawn(|| resolve(second));
            let mine = resolve(first);
            (mine, other.join())
        });
        let b = b.unwrap_or_else(|_| resolve(second));
        let mut deleted = Vec::new();
        for part in [a, b] {
            for i in part.plain {
                if let Some(p) = self.plain.get_mut(i as usize) {
                    *p = true;
                }
            }
            for j in part.found {
                if let Some(st) = self.state.get_mut(j as usize)
                    && *st == MainState::Unused
                {
                    *st = MainState::User;
                }
            }
            for n in part.missing {
                if !self.table.contains_key(n) {
                    self.undefined.push((false, n.to_vec()));
                }
            }
            for i in part.rest.into_iter().map(|i| i as usize) {
                let (name, value) = (main.name(i), main.value(i));
                let in_table = self.state.get(i) == Some(&MainState::InTable);
                if !self.scan_param(name, value, None, in_table) {
                    deleted.push((name.to_vec(), value.to_vec()));
                }
            }
        }
        // Same order as the sequential scan.
        deleted.sort();
        deleted
    }

    /// The defaults of the parameters main.cf leaves alone (postconf scans
    /// them as well).
    fn scan_defaults(&mut self) {
        let mut names = Vec::new();
        for (n, node) in self.table.iter() {
            if node.raw || self.main.find(n).is_some() {
                continue;
            }
            if let Some(d) = self.default_of(n) {
                for_each_scanned_name(&d, |r| names.push(r.to_vec()));
            }
        }
        for n in names {
            self.flag(&n, None, true);
        }
    }
}

impl<'a> Known<'a> {
    /// The names postconf knows for this main.cf and master.cf text
    /// (master.cf may be empty), with [`HostDefaults::default`] for the
    /// host-dependent defaults. A master.cf that postconf refuses is read
    /// up to the bad entry (see [`Known::master_cf_error`]).
    pub fn new(main: &'a crate::MainCf, master_cf: &[u8]) -> Known<'a> {
        Known::with_host(main, master_cf, HostDefaults::default())
    }

    /// Like [`Known::new`], failing when postconf refuses the master.cf.
    pub fn try_new(main: &'a crate::MainCf, master_cf: &[u8]) -> Result<Known<'a>, MasterCfError> {
        let k = Known::new(main, master_cf);
        match k.master_error {
            Some(e) => Err(e),
            None => Ok(k),
        }
    }

    /// Like [`Known::with_host`], failing when postconf refuses the
    /// master.cf.
    pub fn try_new_with_host(
        main: &'a crate::MainCf,
        master_cf: &[u8],
        host: HostDefaults,
    ) -> Result<Known<'a>, MasterCfError> {
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
            .keys()
            .cloned()
            .chain(
                self.state
                    .iter()
                    .zip(&self.main.entries)
                    .filter(|&(&s, _)| s == MainState::User)
                    .map(|(_, e)| self.main.slice(e.name).to_vec()),
            )
            .collect()
    }

    /// Like [`Known::new`] with explicit host defaults (they only matter
    /// when a database reference is built from `$myhostname` or similar).
    pub fn with_host(main: &'a crate::MainCf, master_cf: &[u8], host: HostDefaults) -> Known<'a> {
        let cf = main;
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
        let mut table = Table::default();
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

        // main.cf's parameters, and which are in the table (membership
        // never changes while scanning). Most names of a large main.cf are
        // not: a bitmap of the table's hashes rules out nearly all of those
        // from the hash computed for the index, without a table lookup.
        let hasher = *table.hasher();
        let mut bitmap = vec![0u64; TABLE_BITMAP_WORDS];
        for name in table.keys() {
            let (word, bit) = bitmap_position(hasher.hash_one(name.as_slice()));
            if let Some(w) = bitmap.get_mut(word) {
                *w |= bit;
            }
        }
        let in_table = |h: u64, name: &[u8]| {
            let (word, bit) = bitmap_position(h);
            bitmap.get(word).is_some_and(|w| w & bit != 0) && table.contains_key(name)
        };
        let mut main_diagnostics = Vec::new();
        let (main, mut state) = MainParams::from_cf(cf, &mut main_diagnostics, hasher, in_table);
        let defaults = defaults_for(host, &main);

        // master.cf name spaces.
        let mut space_index: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut spaces: Vec<Space> = Vec::new();
        let mut locals: Vec<Local> = Vec::new();
        let mut undefined: Vec<(bool, Vec<u8>)> = Vec::new();
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

        let mut plain = vec![false; main.entries.len()];
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
                    main: &main,
                    state: &mut state,
                    plain: &mut plain,
                    spaces: &spaces,
                    locals: &mut locals,
                    defaults: &defaults,
                    undefined: &mut undefined,
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

        // The defaults of the parameters main.cf leaves alone, then main.cf.
        let read_only_main = {
            let mut ctx = Ctx {
                table: &mut table,
                main: &main,
                state: &mut state,
                plain: &mut plain,
                spaces: &spaces,
                locals: &mut locals,
                defaults: &defaults,
                undefined: &mut undefined,
            };
            ctx.scan_defaults();
            ctx.restriction_classes(&main, None);
            ctx.scan_main()
        };

        Known {
            table,
            main,
            state,
            read_only_main,
            spaces,
            locals,
            read_only_master,
            master_error,
            defaults,
            undefined,
            main_diagnostics,
            plain,
        }
    }

    /// The references postconf reports as `undefined parameter: NAME`
    /// while scanning (every occurrence, in scan order): `true` for a
    /// reference in a master.cf `-o` value (reported against master.cf),
    /// `false` for main.cf values, defaults and restriction classes.
    pub fn undefined(&self) -> impl Iterator<Item = (bool, &[u8])> + '_ {
        self.undefined.iter().map(|(m, n)| (*m, n.as_slice()))
    }

    /// True when postconf knows `name` (in the global name space): `-n`
    /// prints it when main.cf sets it.
    pub fn is_known(&self, name: &[u8]) -> bool {
        self.table.contains_key(name)
            || self
                .main
                .find(name)
                .is_some_and(|i| self.state.get(i) == Some(&MainState::User))
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

    /// The main.cf parameters that stay after postconf deleted the
    /// read-only assignments, in name order, with whether each is known.
    fn main_after_read_only(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        self.after_read_only(&self.main.sorted)
    }

    /// [`Known::main_after_read_only`] for a part of [`MainParams::sorted`].
    fn after_read_only<'s>(
        &'s self,
        sorted: &'s [u32],
    ) -> impl Iterator<Item = (usize, bool)> + 's {
        sorted
            .iter()
            .map(|&i| i as usize)
            .filter_map(|i| match self.state.get(i) {
                Some(MainState::InTable) => {
                    let node = self.table.get(self.main.name(i));
                    let read_only = node.is_some_and(|n| n.class == Class::ReadOnly);
                    (!read_only).then_some((i, true))
                }
                Some(MainState::User) => Some((i, true)),
                _ => Some((i, false)),
            })
    }

    /// The main.cf parameters `postconf -n` prints, borrowed: (name, raw
    /// value), sorted by name.
    pub fn shown_main_iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.main_after_read_only()
            .filter(|&(_, known)| known)
            .map(|(i, _)| (self.main.name(i), self.main.value(i)))
    }

    /// How many distinct parameters main.cf sets.
    pub(crate) fn main_len(&self) -> usize {
        self.main.sorted.len()
    }

    /// [`Known::shown_main_iter`] in `parts` consecutive parts of about
    /// the same number of main.cf parameters (for formatting them on
    /// several threads).
    pub(crate) fn shown_main_parts(
        &self,
        parts: usize,
    ) -> Vec<impl Iterator<Item = (&[u8], &[u8])> + '_> {
        let per = self.main.sorted.len().div_ceil(parts.max(1)).max(1);
        self.main
            .sorted
            .chunks(per)
            .map(|part| {
                self.after_read_only(part)
                    .filter(|&(_, known)| known)
                    .map(|(i, _)| (self.main.name(i), self.main.value(i)))
            })
            .collect()
    }

    /// Every main.cf parameter once (the last definition's value), borrowed
    /// and sorted by name, read-only assignments included.
    pub fn main_params(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.main
            .sorted()
            .map(|i| (self.main.name(i), self.main.value(i)))
    }

    /// Every main.cf parameter once, sorted by name, with whether its name
    /// is in postconf's parameter table (built-in, legacy, read-only or
    /// service-dependent) and whether its value is already known to be
    /// plain (nothing to warn about, see [`simple_scan`]; false: not
    /// known): (name, raw value, in table, plain).
    pub(crate) fn main_entries(&self) -> impl Iterator<Item = (&[u8], &[u8], bool, bool)> + '_ {
        self.main.sorted().map(|i| {
            (
                self.main.name(i),
                self.main.value(i),
                self.state.get(i) == Some(&MainState::InTable),
                self.plain.get(i) == Some(&true),
            )
        })
    }

    /// The main.cf value of `name` (last definition), if main.cf sets it.
    pub fn main_value(&self, name: &[u8]) -> Option<&[u8]> {
        self.main.get(name)
    }

    fn main_pair(&self, i: usize) -> (Vec<u8>, Vec<u8>) {
        (self.main.name(i).to_vec(), self.main.value(i).to_vec())
    }

    /// The main.cf parameters `postconf -n` prints (sorted by name, byte
    /// order), with their raw values.
    pub fn shown_main(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.main_after_read_only()
            .filter(|&(_, known)| known)
            .map(|(i, _)| self.main_pair(i))
            .collect()
    }

    /// The main.cf parameters postconf reports as `unused parameter:
    /// NAME=VALUE` (sorted by name; postconf's own order is random).
    pub fn unused_main(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.main_after_read_only()
            .filter(|&(_, known)| !known)
            .map(|(i, _)| self.main_pair(i))
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
                if !self.is_known(n) && !l.valid.contains(n) {
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

    /// What postconf says about the main.cf: the same list as
    /// [`crate::MainCf::diagnostics`] (in file order), found while reading
    /// the parameters.
    pub fn main_cf_diagnostics(&self) -> &[crate::Diagnostic] {
        &self.main_diagnostics
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

    #[test]
    fn main_params_last_definition_wins() {
        let cf = crate::MainCf::parse(b"b = 1\na = 2\nb = 3\n  x\nc =\n# b = 4\n");
        let m = MainParams::of(&cf, &mut Vec::new());
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = m
            .sorted()
            .map(|i| (m.name(i).to_vec(), m.value(i).to_vec()))
            .collect();
        assert_eq!(pairs, cf.values());
        assert_eq!(pairs.len(), 3);
        assert_eq!(m.get(b"b"), cf.get("b").as_deref());
        assert_eq!(m.get(b"d"), None);
        assert_eq!(m.get(b""), None);
    }

    #[test]
    fn main_params_index_collisions_and_growth() {
        let cf3 = crate::MainCf::parse(b"a = 1\nb = 2\nc = 3\n");
        let mut m = MainParams::of(&cf3, &mut Vec::new());
        // Every name under one hash: one probe run, told apart by name.
        let h = m.hash(b"a");
        m.slots = vec![0; 16];
        m.used = 0;
        for e in 0..3 {
            m.place(h, e);
        }
        assert_eq!(m.probe(h, b"a"), Ok(0));
        assert_eq!(m.probe(h, b"b"), Ok(1));
        assert_eq!(m.probe(h, b"c"), Ok(2));
        assert!(m.probe(h, b"d").is_err());
        // From an empty index, growing as it fills.
        let text: String = (0..1000).map(|i| format!("p{i} = {i}\n")).collect();
        let cf = crate::MainCf::parse(text.as_bytes());
        let mut m = MainParams::of(&cf, &mut Vec::new());
        m.slots.clear();
        m.used = 0;
        for e in 0..1000u32 {
            let h = m.hash(m.name(e as usize));
            m.place(h, e);
        }
        assert!(m.slots.len().is_power_of_two() && m.used * 5 <= m.slots.len() * 4);
        for i in 0..1000 {
            assert_eq!(
                m.get(format!("p{i}").as_bytes()),
                Some(format!("{i}").as_bytes())
            );
        }
        assert_eq!(m.get(b"p1000"), None);
    }

    /// The diagnostics found while indexing are `MainCf::diagnostics`
    /// (itself checked against postconf by the conformance tests), on
    /// every main.cf conformance vector and on overrides, orphans and
    /// fatal lines mixed with continuation lines.
    #[test]
    fn indexing_diagnostics_are_main_cf_diagnostics() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/maincf");
        let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cf"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert!(inputs.len() > 50, "{dir:?}");
        inputs.extend([
            b"a = 1\n  b\na = 1 b\na = 1  b\n a\nx\n= y\na=\na = \t\n".to_vec(),
            b"  orphan\n# c\na = 1\nb = 2\na = 2\n  more\nb = 2\nc\0 = 1\nc = 2".to_vec(),
        ]);
        for src in inputs {
            let cf = crate::MainCf::parse(&src);
            let mut found = Vec::new();
            let m = MainParams::of(&cf, &mut found);
            assert_eq!(found, cf.diagnostics(), "{}", String::from_utf8_lossy(&src));
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = m
                .sorted()
                .map(|i| (m.name(i).to_vec(), m.value(i).to_vec()))
                .collect();
            assert_eq!(pairs, cf.values());
        }
    }

    /// Edited entries live outside the document's source bytes: they are
    /// copied, and read back right.
    #[test]
    fn main_params_of_an_edited_document() {
        let mut cf = crate::MainCf::parse(b"a = 1\nb = 2\n  cont\nc = 3\n");
        cf.set("b", "new b").unwrap();
        cf.set("d", "4").unwrap();
        let m = MainParams::of(&cf, &mut Vec::new());
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = m
            .sorted()
            .map(|i| (m.name(i).to_vec(), m.value(i).to_vec()))
            .collect();
        assert_eq!(pairs, cf.values());
        assert_eq!(m.get(b"b"), Some(&b"new b"[..]));
        assert_eq!(m.get(b"d"), Some(&b"4"[..]));
        assert_eq!(range_in(b"abc", b"x"), None);
    }

    #[test]
    fn defaults_match_for_main_cf() {
        for src in [
            &b""[..],
            b"myhostname = mail.example.org\n",
            b"mydomain = example.net\n",
            b"d = example.com\nmydomain = sub.$d\nmyhostname = host\n",
            b"myhostname = $myhostname.x\n",
            b"myhostname = ${bad\nmydomain = $\n",
            b"myhostname = a\nmyhostname = b.c\n",
        ] {
            let cf = crate::MainCf::parse(src);
            let host = HostDefaults::default();
            assert_eq!(
                defaults_for(host.clone(), &MainParams::of(&cf, &mut Vec::new())),
                Defaults::for_main_cf(host, &cf),
                "{}",
                String::from_utf8_lossy(src)
            );
        }
    }

    fn scanned(v: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_scanned_name(v, |n| out.push(n.to_vec()));
        out
    }

    fn expand_scan_names(v: &[u8]) -> Vec<Vec<u8>> {
        expand::scan(v)
            .names()
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    #[test]
    fn simple_refs() {
        let names = |v: &str| -> Vec<Option<String>> {
            SimpleRefs(v.as_bytes())
                .map(|r| r.map(|n| String::from_utf8(n.to_vec()).unwrap()))
                .collect()
        };
        let some =
            |v: &[&str]| -> Vec<Option<String>> { v.iter().map(|n| Some(n.to_string())).collect() };
        assert_eq!(
            names("a $b-${c}$(d_1)$$e $1x"),
            some(&["b", "c", "d_1", "1x"])
        );
        assert_eq!(names("$$ $$$$"), some(&[]));
        assert_eq!(names("$a ${b c} $d"), [Some("a".to_string()), None]);
        assert_eq!(names("${b)"), [None]);
        assert_eq!(names("$(b}"), [None]);
        assert_eq!(names("${}"), [None]);
        assert_eq!(names("$"), [None]);
        assert_eq!(names("$-"), [None]);
        assert_eq!(names("${a?b}"), [None]);
        // More names than the one-pass buffer holds.
        let many = "$a ".repeat(20);
        assert_eq!(scanned(many.as_bytes()), vec![b"a".to_vec(); 20]);
        assert_eq!(scanned(b"$a\0$b"), expand_scan_names(b"$a\0$b"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The fast paths of `for_each_scanned_name` report what
        /// `expand::scan` reports.
        #[test]
        fn scanned_names_are_expand_scans(
            v in proptest::collection::vec(
                proptest::sample::select(&b"$$$${}(){}ab_1 -?:\0x"[..]),
                0..24,
            )
        ) {
            proptest::prop_assert_eq!(scanned(&v), expand_scan_names(&v));
        }
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
