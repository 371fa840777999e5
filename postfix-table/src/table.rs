//! The lossless document: [`Table`].

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::str::FromStr;
use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::casefold::Fold;
use crate::diag::{Diagnostic, DiagnosticKind};
use crate::error::EditError;
use crate::lines::{self, Segment};
use crate::record::{self, Ignored, Meaning};

/// Which of several entries with the same (folded) key a lookup returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Duplicates {
    /// The first entry wins and later ones draw a "duplicate entry" warning:
    /// `postmap` and `texthash:` (a daemon refuses such a texthash table).
    #[default]
    FirstWins,
    /// The last entry wins, silently: `postmap -r`.
    LastWins,
}

/// How the table is read: the Postfix settings that change lookups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Options {
    /// Key folding (`postmap -f` is [`Fold::None`]).
    pub fold: Fold,
    /// `smtputf8_enable`: when true (the default), lines that are not valid
    /// UTF-8 are ignored and non-ASCII keys are folded with Unicode rules.
    pub utf8: bool,
    /// Duplicate handling (`postmap -r` is [`Duplicates::LastWins`]).
    pub duplicates: Duplicates,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fold: Fold::Unicode,
            utf8: true,
            duplicates: Duplicates::FirstWins,
        }
    }
}

impl Options {
    /// The folding actually applied: Postfix folds with Unicode rules only
    /// when `smtputf8_enable = yes`.
    pub fn effective_fold(&self) -> Fold {
        match (self.fold, self.utf8) {
            (Fold::Unicode, false) => Fold::Ascii,
            (f, _) => f,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Comments, blank and whitespace-only lines outside any logical line.
    Trivia,
    /// A logical line. `multiline`: has continuation lines (otherwise only
    /// its first physical line carries text; later lines are ignorable).
    Logical { multiline: bool, orphan: bool },
    /// Deleted by an edit.
    Removed,
}

/// One node: 16 bytes. Its text is `src[start..start + len]`, or, when
/// `owned` (written by an edit, or longer than 4 GiB), `owned[start]`.
#[derive(Debug, Clone, Copy)]
struct Item {
    start: usize,
    len: u32,
    owned: bool,
    kind: Kind,
}

/// Reads all of `file` from offset 0 with positional reads (the file
/// position is not used); files of 8 MiB or more with two threads.
fn read_file(file: &std::fs::File) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    const PARALLEL_BYTES: u64 = 8 << 20;
    let len = file.metadata()?.len();
    let Ok(n) = usize::try_from(len) else {
        return Err(io::Error::new(io::ErrorKind::OutOfMemory, "file too large"));
    };
    // Zeroed memory comes from the kernel untouched; the reads fault it in.
    let mut buf = vec![0u8; n];
    if len < PARALLEL_BYTES {
        file.read_exact_at(&mut buf, 0)?;
    } else {
        let (head, tail) = buf.split_at_mut(n / 2);
        let mid = head.len() as u64;
        std::thread::scope(|s| {
            let other = s.spawn(|| file.read_exact_at(tail, mid));
            let first = file.read_exact_at(head, 0);
            let second = other
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("reader thread failed")));
            first.and(second)
        })?;
    }
    // The file may have grown meanwhile: take the rest too.
    let mut chunk = [0u8; 8192];
    loop {
        match file.read_at(&mut chunk, buf.len() as u64) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(chunk.get(..k).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// Tables with at least this many nodes use a second thread to build the index.
const PARALLEL_MIN: usize = 1 << 16;

/// Items sharing one key: the first mapping and the one lookups return.
#[derive(Debug, Clone, Copy)]
struct Group {
    first: Option<usize>,
    winner: Option<usize>,
}

/// A stored (folded) key and its value, from [`Table::effective`].
pub type KeyValue<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// What an edit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new line was appended.
    Inserted,
    /// An existing line was rewritten in place (and any later duplicates removed).
    Replaced,
    /// The table already said exactly this; no byte changed.
    Unchanged,
}

/// A Postfix lookup-table source file (the format `postmap` reads for
/// `hash:`, `btree:`, `lmdb:`, `cdb:` and that `texthash:` reads directly),
/// kept byte for byte.
///
/// * Parsing never fails and never loses a byte: [`Table::to_bytes`] gives
///   back the input exactly, whatever it holds (CRLF, tabs, NUL, Latin-1,
///   no final newline).
/// * Lookups ([`Table::get`]) answer as `postmap -q` does.
/// * Edits ([`Table::set`], [`Table::opt_out`], [`Table::remove`]) rewrite
///   only the lines they touch.
///
/// ```
/// use postfix_table::Table;
///
/// let mut t: Table = "# relays\n@example.com  [smtp.example.com]:587\n@OptOut.net\n".parse().unwrap();
/// assert_eq!(t.get_str("@EXAMPLE.com").as_deref(), Some("[smtp.example.com]:587"));
/// assert_eq!(t.get("@optout.net"), None); // key-only lines are ignored by Postfix
///
/// t.set("@example.com", "[mail.example.com]:2525").unwrap();
/// t.set("@new.org", "[relay.new.org]").unwrap();
/// assert_eq!(
///     t.to_string(),
///     "# relays\n@example.com  [mail.example.com]:2525\n@OptOut.net\n@new.org  [relay.new.org]\n"
/// );
/// ```
#[derive(Clone)]
pub struct Table {
    src: Vec<u8>,
    items: Vec<Item>,
    owned: Vec<Box<[u8]>>,
    options: Options,
    edited: bool,
    index: OnceLock<Index>,
    scans: ScanBudget,
    style: Option<Style>,
}

/// How many keyed operations may still scan instead of building the index.
#[derive(Debug)]
struct ScanBudget(std::sync::atomic::AtomicU32);

impl ScanBudget {
    const INITIAL: u32 = 2;

    fn new() -> Self {
        ScanBudget(std::sync::atomic::AtomicU32::new(Self::INITIAL))
    }

    /// Takes one scan from the budget; false when it is spent.
    fn take_one(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.0
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl Clone for ScanBudget {
    fn clone(&self) -> Self {
        ScanBudget(std::sync::atomic::AtomicU32::new(
            self.0.load(std::sync::atomic::Ordering::Relaxed),
        ))
    }
}

#[derive(Debug, Clone)]
struct Style {
    eol: &'static [u8],
    sep: Vec<u8>,
}

#[derive(Clone)]
struct Index {
    seed: u64,
    /// `(item id, upper 32 bits of the key hash)`: the tag lets probes skip
    /// other keys without re-deriving them from the text.
    ///
    /// Holds one entry per distinct key (its first item): equal keys have
    /// equal hashes, and hashbrown probes past every entry with the same
    /// hash to insert, so one entry per duplicate made building the index
    /// quadratic in the number of duplicates (`k v` 80,000 times: 50 s).
    table: HashTable<(u32, u32)>,
    /// The other items with the key of a `table` entry, by that entry's
    /// item id, in no particular order. Removal is lazy (removing every
    /// copy of a key must not cost a scan of this list per copy): a list
    /// may still name items that were removed since (their key is gone) or
    /// name an item twice (removed and re-inserted by a replacement), so
    /// readers check each item's key and deduplicate.
    dups: hashbrown::HashMap<u32, Vec<u32>>,
    /// False when the table has more than `u32::MAX` items: then nothing is
    /// indexed and keyed operations scan.
    complete: bool,
    /// Items whose key equalled an earlier item's key when the index was
    /// built: a superset of the duplicates (edits only remove duplicates),
    /// so duplicate diagnostics need not look at any other item.
    collisions: Vec<usize>,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("options", &self.options)
            .field("nodes", &self.items.len())
            .field("bytes", &self.len_bytes())
            .finish_non_exhaustive()
    }
}

impl Default for Table {
    fn default() -> Self {
        Table::new()
    }
}

impl PartialEq for Table {
    /// Two tables are equal when they render to the same bytes and read with
    /// the same options.
    fn eq(&self, other: &Self) -> bool {
        self.options == other.options && self.to_bytes() == other.to_bytes()
    }
}

impl Eq for Table {}

impl FromStr for Table {
    type Err = std::convert::Infallible;

    /// Parses with default [`Options`]; never fails.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Table::parse(s.as_bytes()))
    }
}

impl fmt::Display for Table {
    /// Writes the document. Byte-exact for UTF-8 documents; other bytes are
    /// shown as U+FFFD, so use [`Table::to_bytes`] or [`Table::write_to`] to
    /// write files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.chunks() {
            for piece in chunk.utf8_chunks() {
                f.write_str(piece.valid())?;
                if !piece.invalid().is_empty() {
                    f.write_str("\u{FFFD}")?;
                }
            }
        }
        Ok(())
    }
}

impl Table {
    /// An empty table with default [`Options`].
    pub fn new() -> Self {
        Table::from_vec_with(Vec::new(), Options::default())
    }

    /// Parses `bytes` (copied) with default [`Options`].
    pub fn parse(bytes: &[u8]) -> Self {
        Table::from_vec_with(bytes.to_vec(), Options::default())
    }

    /// Parses `bytes` (copied) with the given options.
    pub fn parse_with(bytes: &[u8], options: Options) -> Self {
        Table::from_vec_with(bytes.to_vec(), options)
    }

    /// Parses an owned buffer without copying it, with default [`Options`].
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Table::from_vec_with(bytes, Options::default())
    }

    /// Parses an owned buffer without copying it.
    pub fn from_vec_with(bytes: Vec<u8>, options: Options) -> Self {
        let mut items = Vec::with_capacity(bytes.len() / 48 + 1);
        let mut owned: Vec<Box<[u8]>> = Vec::new();
        lines::for_each_segment(&bytes, |seg| {
            let (range, kind) = match seg {
                Segment::Trivia { range, .. } => (range, Kind::Trivia),
                Segment::Logical(l) => (
                    l.range,
                    Kind::Logical {
                        multiline: l.multiline,
                        orphan: l.leading_whitespace,
                    },
                ),
            };
            let item = match u32::try_from(range.len()) {
                Ok(len) => Item {
                    start: range.start,
                    len,
                    owned: false,
                    kind,
                },
                Err(_) => {
                    owned.push(bytes.get(range).unwrap_or_default().into());
                    Item {
                        start: owned.len() - 1,
                        len: 0,
                        owned: true,
                        kind,
                    }
                }
            };
            items.push(item);
        });
        Table {
            src: bytes,
            items,
            owned,
            options,
            edited: false,
            index: OnceLock::new(),
            scans: ScanBudget::new(),
            style: None,
        }
    }

    /// Reads and parses a file. A large file is read by two threads at
    /// once (each into its half of the buffer), which halves the time spent
    /// faulting in fresh memory.
    pub fn read(path: impl AsRef<std::path::Path>, options: Options) -> io::Result<Self> {
        Table::read_file(&std::fs::File::open(path)?, options)
    }

    /// Reads all of an open file (from offset 0, whatever its position) and
    /// parses it; as [`Table::read`]. Keep the file to write the table back
    /// with [`Table::write_to_file_from`].
    pub fn read_file(file: &std::fs::File, options: Options) -> io::Result<Self> {
        Ok(Table::from_vec_with(read_file(file)?, options))
    }

    /// The options this table is read with.
    pub fn options(&self) -> Options {
        self.options
    }

    /// Changes how the table is read (folding, UTF-8, duplicates). The bytes
    /// do not change; the key index is rebuilt on next use.
    pub fn set_options(&mut self, options: Options) {
        if options != self.options {
            self.options = options;
            self.index = OnceLock::new();
        }
    }

    fn text<'a>(&'a self, item: &'a Item) -> &'a [u8] {
        item_text(&self.src, &self.owned, item)
    }

    fn chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let whole = (!self.edited).then_some(self.src.as_slice());
        let pieces = self.edited.then(|| {
            self.items
                .iter()
                .filter(|i| i.kind != Kind::Removed)
                .map(|i| self.text(i))
        });
        whole.into_iter().chain(pieces.into_iter().flatten())
    }

    /// The document's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.edited {
            return self.src.clone();
        }
        let mut out = Vec::with_capacity(self.len_bytes());
        for c in self.chunks() {
            out.extend_from_slice(c);
        }
        out
    }

    /// Length of the document in bytes.
    pub fn len_bytes(&self) -> usize {
        if !self.edited {
            return self.src.len();
        }
        self.chunks().map(<[u8]>::len).sum()
    }

    /// Writes the document's bytes, coalescing untouched runs of the input
    /// into single writes.
    pub fn write_to(&self, mut w: impl io::Write) -> io::Result<()> {
        if !self.edited {
            return w.write_all(&self.src);
        }
        let mut run: Option<(usize, usize)> = None;
        for item in &self.items {
            if item.kind == Kind::Removed {
                continue;
            }
            if item.owned {
                if let Some((s, e)) = run.take() {
                    w.write_all(self.src.get(s..e).unwrap_or_default())?;
                }
                w.write_all(self.text(item))?;
                continue;
            }
            let (start, end) = (item.start, item.start + item.len as usize);
            match &mut run {
                Some(r) if r.1 == start => r.1 = end,
                _ => {
                    if let Some((s, e)) = run.replace((start, end)) {
                        w.write_all(self.src.get(s..e).unwrap_or_default())?;
                    }
                }
            }
        }
        if let Some((s, e)) = run {
            w.write_all(self.src.get(s..e).unwrap_or_default())?;
        }
        Ok(())
    }

    /// Writes the document into `out` like [`Table::write_to`], but copies
    /// every byte range that edits did not touch from `source` — the file
    /// this table was parsed from — instead of from memory. Between files
    /// `std::io::copy` lets the kernel copy those ranges itself
    /// (`copy_file_range` on Linux), several times faster than writing them
    /// from memory when the document is large.
    ///
    /// `source` must still hold exactly the bytes the table was parsed from.
    /// Its length is checked (an `InvalidData` error, before anything is
    /// written, when it differs); the caller must rule out in-place changes
    /// of the same length, e.g. by holding a lock as every writer of the
    /// file should. Both files' positions move.
    ///
    /// ```
    /// use std::io::{Read, Seek};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("t");
    /// std::fs::write(&path, "a 1\nb 2\nc 3\n").unwrap();
    /// let mut source = std::fs::File::open(&path).unwrap();
    /// let mut bytes = Vec::new();
    /// source.read_to_end(&mut bytes).unwrap();
    /// let mut table = postfix_table::Table::from_vec(bytes);
    /// table.set("b", "two").unwrap();
    /// let mut out = tempfile::tempfile().unwrap();
    /// table.write_to_file_from(&source, &mut out).unwrap();
    /// out.rewind().unwrap();
    /// let mut written = String::new();
    /// out.read_to_string(&mut written).unwrap();
    /// assert_eq!(written, "a 1\nb two\nc 3\n");
    /// ```
    pub fn write_to_file_from(
        &self,
        source: &std::fs::File,
        out: &mut std::fs::File,
    ) -> io::Result<()> {
        use std::io::{Read, Seek, SeekFrom, Write};
        if source.metadata()?.len() != self.src.len() as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the source file changed since the table was read",
            ));
        }
        let mut src = source;
        let mut pending: Vec<u8> = Vec::new();
        let mut copy = |range: (usize, usize),
                        pending: &mut Vec<u8>,
                        out: &mut std::fs::File|
         -> io::Result<()> {
            if !pending.is_empty() {
                out.write_all(pending)?;
                pending.clear();
            }
            src.seek(SeekFrom::Start(range.0 as u64))?;
            let want = (range.1 - range.0) as u64;
            let got = io::copy(&mut (&mut src).take(want), out)?;
            if got != want {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the source file is shorter than the table",
                ));
            }
            Ok(())
        };
        let mut run: Option<(usize, usize)> = None;
        for item in &self.items {
            if item.kind == Kind::Removed {
                continue;
            }
            if item.owned {
                if let Some(r) = run.take() {
                    copy(r, &mut pending, out)?;
                }
                pending.extend_from_slice(self.text(item));
                continue;
            }
            let (start, end) = (item.start, item.start + item.len as usize);
            match &mut run {
                Some(r) if r.1 == start => r.1 = end,
                _ => {
                    if let Some(r) = run.replace((start, end)) {
                        copy(r, &mut pending, out)?;
                    }
                }
            }
        }
        if let Some(r) = run {
            copy(r, &mut pending, out)?;
        }
        out.write_all(&pending)
    }

    // ------------------------------------------------------------ reading

    fn logical_of<'a>(&'a self, item: &'a Item) -> Option<(Cow<'a, [u8]>, bool)> {
        item_logical(&self.src, &self.owned, item)
    }

    fn meaning<'a>(&'a self, item: &'a Item) -> Option<Meaning<'a>> {
        let (text, orphan) = self.logical_of(item)?;
        Some(record::interpret(text, orphan, self.options.utf8))
    }

    /// The key an item is indexed under, with whether it has a value.
    fn index_key_of<'a>(&'a self, item: &'a Item) -> Option<(Cow<'a, [u8]>, bool)> {
        item_index_key(&self.src, &self.owned, item, self.options.utf8)
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| self.build_index())
    }

    fn build_index(&self) -> Index {
        let seed = std::hash::RandomState::new().build_hasher().finish();
        let fold = self.options.effective_fold();
        if u32::try_from(self.items.len()).is_err() {
            return Index {
                seed,
                table: HashTable::new(),
                dups: hashbrown::HashMap::new(),
                complete: false,
                collisions: Vec::new(),
            };
        }
        // Hash every key; a large table is split across two threads.
        let hash_range = |from: usize, to: usize, pairs: &mut Vec<(u64, u32)>| {
            for (id, item) in self.items.iter().enumerate().take(to).skip(from) {
                if let (Some((key, _)), Ok(id)) = (self.index_key_of(item), u32::try_from(id)) {
                    pairs.push((hash_key(seed, &key, fold), id));
                }
            }
        };
        let n = self.items.len();
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(n);
        if n < PARALLEL_MIN {
            hash_range(0, n, &mut pairs);
        } else {
            let mid = n / 2;
            let second = std::thread::scope(|s| {
                let other = s.spawn(|| {
                    let mut v = Vec::with_capacity(n - mid);
                    hash_range(mid, n, &mut v);
                    v
                });
                hash_range(0, mid, &mut pairs);
                other.join().unwrap_or_default()
            });
            pairs.extend_from_slice(&second);
        }
        // Insert grouped by the top bits of the bucket number rather than in
        // file order: the table then fills one small window at a time
        // instead of at random, which avoids a cache miss per key (several
        // times faster on large tables). One stable radix pass keeps file
        // order within a group, so an earlier duplicate is always found.
        let mut table = HashTable::with_capacity(pairs.len());
        let mask = bucket_mask(pairs.len());
        group_by_bucket(&mut pairs, mask);
        let mut collisions = Vec::new();
        let mut dups: hashbrown::HashMap<u32, Vec<u32>> = hashbrown::HashMap::new();
        for (h, id) in pairs {
            let tag = (h >> 32) as u32;
            let first = table
                .find(h, |&(other, t): &(u32, u32)| {
                    t == tag && self.same_key(other as usize, id as usize, fold)
                })
                .map(|&(other, _)| other);
            match first {
                Some(first) => {
                    collisions.push(id as usize);
                    dups.entry(first).or_default().push(id);
                }
                None => {
                    table.insert_unique(h, (id, tag), |&(other, _)| {
                        self.rehash(seed, other as usize)
                    });
                }
            }
        }
        collisions.sort_unstable();
        Index {
            seed,
            table,
            dups,
            complete: true,
            collisions,
        }
    }

    fn same_key(&self, a: usize, b: usize, fold: Fold) -> bool {
        let key_of = |id: usize| self.items.get(id).and_then(|it| self.index_key_of(it));
        match (key_of(a), key_of(b)) {
            (Some((a, _)), Some((b, _))) => fold.eq(&a, &b),
            _ => false,
        }
    }

    fn rehash(&self, seed: u64, id: usize) -> u64 {
        let fold = self.options.effective_fold();
        self.items
            .get(id)
            .and_then(|it| self.index_key_of(it))
            .map_or(0, |(k, _)| hash_key(seed, &k, fold))
    }

    /// Builds the key index now (it is otherwise built on first lookup or edit).
    pub fn build_key_index(&self) {
        let _ = self.index();
    }

    /// Every item whose key folds to `key`, in file order, with whether it has a value.
    fn matches(&self, key: &[u8]) -> Vec<(usize, bool)> {
        let fold = self.options.effective_fold();
        // A one-off lookup or edit on a fresh document is cheaper as a scan
        // than building the index; from the third keyed operation on, build it.
        let scan = match self.index.get() {
            None => self.scans.take_one(),
            Some(index) => !index.complete,
        };
        if scan {
            return self
                .items
                .iter()
                .enumerate()
                .filter(|(_, item)| {
                    // Only a single-line item's text is its logical line.
                    !matches!(
                        item.kind,
                        Kind::Logical {
                            multiline: false,
                            ..
                        }
                    ) || !cannot_start_with(self.text(item), key, fold)
                })
                .filter_map(|(id, item)| {
                    let (k, has_value) = self.index_key_of(item)?;
                    fold.eq(&k, key).then_some((id, has_value))
                })
                .collect();
        }
        let index = self.index();
        let h = hash_key(index.seed, key, fold);
        let tag = (h >> 32) as u32;
        let mut out: Vec<(usize, bool)> = Vec::new();
        for &(id, _) in index.table.iter_hash(h).filter(|&&(_, t)| t == tag) {
            let Some((k, has_value)) = self
                .items
                .get(id as usize)
                .and_then(|item| self.index_key_of(item))
            else {
                continue;
            };
            if !fold.eq(&k, key) {
                continue;
            }
            out.push((id as usize, has_value));
            for &m in index.dups.get(&id).map_or(&[][..], Vec::as_slice) {
                if let Some((k, has_value)) = self
                    .items
                    .get(m as usize)
                    .and_then(|item| self.index_key_of(item))
                    && fold.eq(&k, key)
                {
                    out.push((m as usize, has_value));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn winner(&self, key: &[u8]) -> Option<usize> {
        let m = self.matches(key).into_iter().filter(|&(_, v)| v);
        match self.options.duplicates {
            Duplicates::FirstWins => m.map(|(id, _)| id).next(),
            Duplicates::LastWins => m.map(|(id, _)| id).next_back(),
        }
    }

    /// Checks a query key the way Postfix does before a lookup: with
    /// `smtputf8_enable = yes` a key that is not valid UTF-8 is refused
    /// ("non-UTF-8 key … malformed UTF-8 or invalid codepoint") and finds
    /// nothing.
    pub fn check_query(&self, key: &[u8]) -> Result<(), crate::QueryError> {
        let key = lines::c_string(key);
        if self.options.utf8 && !key.is_ascii() && std::str::from_utf8(key).is_err() {
            return Err(crate::QueryError::NonUtf8Key { key: key.to_vec() });
        }
        Ok(())
    }

    /// Looks `key` up exactly as `postmap -q KEY` does: one exact lookup
    /// after folding; key-only lines and ignored lines never match.
    ///
    /// ```
    /// let t = postfix_table::Table::parse(b"Key first\nKEY second\n");
    /// assert_eq!(t.get("key").as_deref(), Some(&b"first"[..]));
    /// ```
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<Cow<'_, [u8]>> {
        let key = lines::c_string(key.as_ref());
        if self.check_query(key).is_err() {
            return None;
        }
        let id = self.winner(key)?;
        match self.meaning(self.items.get(id)?)? {
            Meaning::Mapping { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Like [`Table::get`], as text (invalid UTF-8 replaced by U+FFFD, which
    /// can only happen when [`Options::utf8`] is off).
    pub fn get_str(&self, key: impl AsRef<[u8]>) -> Option<Cow<'_, str>> {
        Some(match self.get(key)? {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        })
    }

    /// The entry a lookup of `key` returns (as [`Table::get`] does, with
    /// its line number and raw bytes), e.g. to show where a value comes
    /// from. Finding the line walks the table once.
    ///
    /// ```
    /// use postfix_table::Table;
    ///
    /// let t = Table::parse(b"# relays\n@a.example [smtp.a.example]:587\n");
    /// let e = t.get_entry("@A.example").unwrap();
    /// assert_eq!((e.line(), e.value()), (2, Some(&b"[smtp.a.example]:587"[..])));
    /// ```
    pub fn get_entry(&self, key: impl AsRef<[u8]>) -> Option<Entry<'_>> {
        let key = lines::c_string(key.as_ref());
        if self.check_query(key).is_err() {
            return None;
        }
        let id = self.winner(key)?;
        self.entries().find(|e| e.id == id)
    }

    /// True when a lookup of `key` finds a value.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> bool {
        self.get(key).is_some()
    }

    /// True when the table has a key-only line for `key` (an opt-out, in
    /// DMS's terms) and no value for it.
    pub fn is_opted_out(&self, key: impl AsRef<[u8]>) -> bool {
        let key = key.as_ref();
        !self.contains_key(key) && self.matches(key).iter().any(|&(_, v)| !v)
    }

    /// Every node of the document in order: trivia and logical lines.
    pub fn nodes(&self) -> Nodes<'_> {
        Nodes {
            table: self,
            pos: 0,
            line: 1,
        }
    }

    /// Every logical line in order (mappings, opt-outs and ignored lines),
    /// with its line number.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.nodes().filter_map(|n| match n {
            Node::Entry(e) => Some(e),
            Node::Trivia { .. } => None,
        })
    }

    /// The lookup view: for each key that a lookup finds, the stored (folded)
    /// key and its value, in file order. This is what `postmap -s` prints
    /// (Postfix prints it in hash order).
    pub fn effective(&self) -> Vec<KeyValue<'_>> {
        let fold = self.options.effective_fold();
        let groups = self.duplicate_groups();
        let mut out = Vec::new();
        for e in self.entries() {
            let wins = groups.get(&e.id).is_none_or(|g| g.winner == Some(e.id));
            if let (Some(k), Some(v), true) = (e.key.clone(), e.value.clone(), wins) {
                let folded = match k {
                    Cow::Borrowed(b) => fold.fold(b),
                    Cow::Owned(b) => Cow::Owned(fold.fold(&b).into_owned()),
                };
                out.push((folded, v));
            }
        }
        out
    }

    /// Items whose key equals an earlier item's key, found with a map of
    /// folded keys: the fallback for tables too large to index.
    fn collisions_without_index(&self) -> Vec<usize> {
        let fold = self.options.effective_fold();
        let mut seen: hashbrown::HashSet<Vec<u8>> = hashbrown::HashSet::new();
        let mut out = Vec::new();
        for (id, item) in self.items.iter().enumerate() {
            if let Some((key, _)) = self.index_key_of(item)
                && !seen.insert(fold.fold(&key).into_owned())
            {
                out.push(id);
            }
        }
        out
    }

    /// Every item whose key is shared with another item, with its group's
    /// first mapping and winning mapping. Linear in the number of such
    /// items: each group is resolved once.
    fn duplicate_groups(&self) -> hashbrown::HashMap<usize, Group> {
        let mut groups: hashbrown::HashMap<usize, Group> = hashbrown::HashMap::new();
        let index = self.index();
        let collisions: Cow<'_, [usize]> = if index.complete {
            Cow::Borrowed(&index.collisions)
        } else {
            Cow::Owned(self.collisions_without_index())
        };
        for &id in collisions.iter() {
            if groups.contains_key(&id) {
                continue;
            }
            let Some((key, _)) = self.items.get(id).and_then(|it| self.index_key_of(it)) else {
                continue;
            };
            let members = self.matches(&key);
            let mut mappings = members.iter().filter(|&&(_, v)| v).map(|&(m, _)| m);
            let first = mappings.next();
            let winner = match self.options.duplicates {
                Duplicates::FirstWins => first,
                Duplicates::LastWins => mappings.next_back().or(first),
            };
            for &(m, _) in &members {
                groups.insert(m, Group { first, winner });
            }
        }
        groups
    }

    /// Number of keys a lookup can find.
    pub fn len(&self) -> usize {
        self.effective().len()
    }

    /// True when no lookup can find anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What Postfix warns about when it reads this table, in file order, with
    /// line numbers. See [`DiagnosticKind`].
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        // The per-line pass does not need the index; on a large table, build
        // the index (needed for duplicates) on a second thread meanwhile.
        let (mut found, line_of) = if self.index.get().is_some() || self.items.len() < PARALLEL_MIN
        {
            self.line_diagnostics()
        } else {
            std::thread::scope(|s| {
                let build = s.spawn(|| {
                    self.index();
                });
                let r = self.line_diagnostics();
                let _ = build.join();
                r
            })
        };
        // Duplicates: only items that collided in the index can be one.
        if self.options.duplicates == Duplicates::FirstWins {
            let line = |id: usize| line_of.get(id).map_or(0, |&l| l as usize);
            for (&id, g) in &self.duplicate_groups() {
                let key = match self.items.get(id).and_then(|it| self.index_key_of(it)) {
                    Some((key, true)) => key,
                    _ => continue,
                };
                if let Some(first) = g.first
                    && first != id
                {
                    let kind = DiagnosticKind::Duplicate {
                        key: key.into_owned(),
                        first_line: line(first),
                    };
                    found.push((id, 2, Diagnostic::new(line(id), kind)));
                }
            }
        }
        found.sort_by_key(|&(id, order, _)| (id, order));
        found.into_iter().map(|(_, _, d)| d).collect()
    }

    /// Every diagnostic but duplicates, keyed by item and order within the
    /// item, and each item's first line number.
    fn line_diagnostics(&self) -> (Vec<(usize, u8, Diagnostic)>, Vec<u32>) {
        let mut out = Vec::new();
        let mut line_of = Vec::with_capacity(self.items.len());
        let mut line = 1usize;
        for (id, item) in self.items.iter().enumerate() {
            let here = line;
            line_of.push(u32::try_from(here).unwrap_or(u32::MAX));
            if item.kind == Kind::Removed {
                continue;
            }
            line += match item.kind {
                Kind::Logical {
                    multiline: false, ..
                } => usize::from(self.text(item).last() == Some(&b'\n')),
                _ => memchr::memchr_iter(b'\n', self.text(item)).count(),
            };
            let Some((text, orphan)) = self.logical_of(item) else {
                continue;
            };
            if memchr::memchr(0, &text).is_some() {
                out.push((id, 0, Diagnostic::new(here, DiagnosticKind::NulByte)));
            }
            let kind = match record::interpret(Cow::Borrowed(&text), orphan, self.options.utf8) {
                Meaning::Ignored(Ignored::LeadingWhitespace) => DiagnosticKind::LeadingWhitespace {
                    text: text.to_vec(),
                },
                Meaning::Ignored(Ignored::NonUtf8) => DiagnosticKind::NonUtf8 {
                    text: text.to_vec(),
                },
                Meaning::Ignored(Ignored::UnbalancedQuote) => DiagnosticKind::UnbalancedQuote {
                    text: text.to_vec(),
                },
                Meaning::Ignored(Ignored::MissingKey) => {
                    DiagnosticKind::KeyWithoutValue { key: Vec::new() }
                }
                Meaning::KeyOnly { key } => DiagnosticKind::KeyWithoutValue { key: key.to_vec() },
                Meaning::Mapping { key, .. } => {
                    if key.last() == Some(&b':') {
                        DiagnosticKind::AliasFormat
                    } else {
                        continue;
                    }
                }
            };
            out.push((id, 1, Diagnostic::new(here, kind)));
        }
        (out, line_of)
    }

    // -------------------------------------------------------------- edits

    fn style(&mut self) -> Style {
        if let Some(s) = &self.style {
            return s.clone();
        }
        let mut eol: Option<&'static [u8]> = None;
        let mut sep: Option<Vec<u8>> = None;
        for item in &self.items {
            if item.kind == Kind::Removed {
                continue;
            }
            let text = self.text(item);
            if eol.is_none()
                && let Some(i) = memchr::memchr(b'\n', text)
            {
                eol = Some(if i > 0 && text.get(i - 1) == Some(&b'\r') {
                    b"\r\n"
                } else {
                    b"\n"
                });
            }
            if sep.is_none()
                && matches!(item.kind, Kind::Logical { orphan: false, .. })
                && let Some((_, s, true)) = split_first_line(text)
            {
                sep = Some(s.to_vec());
            }
            if eol.is_some() && sep.is_some() {
                break;
            }
        }
        let style = Style {
            eol: eol.unwrap_or(b"\n"),
            sep: sep.unwrap_or_else(|| b" ".to_vec()),
        };
        self.style = Some(style.clone());
        style
    }

    /// Gives item `id` new text, reusing its slot when it already owns one.
    fn set_owned(&mut self, id: usize, text: Vec<u8>) {
        let Some(item) = self.items.get_mut(id) else {
            return;
        };
        if item.owned
            && let Some(slot) = self.owned.get_mut(item.start)
        {
            *slot = text.into_boxed_slice();
            return;
        }
        self.owned.push(text.into_boxed_slice());
        item.start = self.owned.len() - 1;
        item.len = 0;
        item.owned = true;
    }

    fn set_kind(&mut self, id: usize, kind: Kind) {
        if let Some(item) = self.items.get_mut(id) {
            item.kind = kind;
        }
    }

    fn touch(&mut self) {
        self.edited = true;
    }

    /// Makes sure the document ends with a line ending before an append.
    fn ensure_final_newline(&mut self, eol: &[u8]) {
        let Some(pos) = self.items.iter().rposition(|i| i.kind != Kind::Removed) else {
            return;
        };
        let text = match self.items.get(pos) {
            Some(item) => self.text(item),
            None => return,
        };
        if text.is_empty() || text.ends_with(b"\n") {
            return;
        }
        let mut owned = text.to_vec();
        // A CR after a final backslash would become part of the key
        // (`\` escapes the next byte), so such a line only gets an LF.
        owned.extend_from_slice(if text.ends_with(b"\\") { b"\n" } else { eol });
        self.set_owned(pos, owned);
        self.touch();
    }

    fn append_line(&mut self, line: Vec<u8>) {
        let id = self.items.len();
        self.owned.push(line.into_boxed_slice());
        self.items.push(Item {
            start: self.owned.len() - 1,
            len: 0,
            owned: true,
            kind: Kind::Logical {
                multiline: false,
                orphan: false,
            },
        });
        self.touch();
        self.index_insert(id);
    }

    fn index_insert(&mut self, id: usize) {
        if self.index.get().is_none() {
            return;
        }
        let fold = self.options.effective_fold();
        let key = match self.items.get(id).and_then(|i| self.index_key_of(i)) {
            Some((k, _)) => k.into_owned(),
            None => return,
        };
        let items = &self.items;
        let utf8 = self.options.utf8;
        let Ok(id32) = u32::try_from(id) else {
            // Past u32::MAX items nothing is indexed any more: scan from now on.
            if let Some(index) = self.index.get_mut() {
                index.complete = false;
            }
            return;
        };
        let key_of = |other: u32| {
            items
                .get(other as usize)
                .and_then(|it| item_index_key(&self.src, &self.owned, it, utf8))
        };
        if let Some(index) = self.index.get_mut().filter(|i| i.complete) {
            let h = hash_key(index.seed, &key, fold);
            let tag = (h >> 32) as u32;
            let seed = index.seed;
            let first = index
                .table
                .find(h, |&(other, t)| {
                    t == tag && key_of(other).is_some_and(|(k, _)| fold.eq(&k, &key))
                })
                .map(|&(other, _)| other);
            match first {
                Some(first) => index.dups.entry(first).or_default().push(id32),
                None => {
                    index.table.insert_unique(h, (id32, tag), |&(other, _)| {
                        key_of(other).map_or(0, |(k, _)| hash_key(seed, &k, fold))
                    });
                }
            }
        }
    }

    fn index_remove(&mut self, id: usize) {
        if self.index.get().is_none() {
            return;
        }
        let fold = self.options.effective_fold();
        let key = match self.items.get(id).and_then(|i| self.index_key_of(i)) {
            Some((k, _)) => k.into_owned(),
            None => return,
        };
        // Without an index there is nothing to maintain: it is built from
        // the current items when first needed.
        let Ok(id32) = u32::try_from(id) else {
            return;
        };
        let (items, src, owned, utf8) = (&self.items, &self.src, &self.owned, self.options.utf8);
        let key_of = |other: u32| {
            items
                .get(other as usize)
                .and_then(|it| item_index_key(src, owned, it, utf8))
        };
        if let Some(index) = self.index.get_mut() {
            let h = hash_key(index.seed, &key, fold);
            let tag = (h >> 32) as u32;
            if let Ok(mut entry) = index
                .table
                .find_entry(h, |&(other, t)| other == id32 && t == tag)
            {
                // The key's entry: another item that still has the key takes
                // its place (stale ones are dropped on the way).
                let mut more = index.dups.remove(&id32).unwrap_or_default();
                let mut next = None;
                while let Some(m) = more.pop() {
                    if m != id32 && key_of(m).is_some_and(|(k, _)| fold.eq(&k, &key)) {
                        next = Some(m);
                        break;
                    }
                }
                match next {
                    Some(next) => {
                        entry.get_mut().0 = next;
                        if !more.is_empty() {
                            index.dups.insert(next, more);
                        }
                    }
                    None => {
                        entry.remove();
                    }
                }
            }
            // A later copy stays listed under its key's entry until that
            // entry is removed (see `Index::dups`).
        }
    }

    /// Removes a logical line, keeping the comment and blank lines that sat
    /// between its continuation lines.
    fn remove_item(&mut self, id: usize) {
        self.index_remove(id);
        let kept: Option<Vec<u8>> = self.items.get(id).and_then(|item| {
            let text = self.text(item);
            let first_end = memchr::memchr(b'\n', text)? + 1;
            let rest = text.get(first_end..)?;
            let kept: Vec<u8> = rest
                .split_inclusive(|&b| b == b'\n')
                .filter(|l| lines::classify(lines::strip_lf(l)) == lines::LineClass::Ignorable)
                .flatten()
                .copied()
                .collect();
            (!kept.is_empty()).then_some(kept)
        });
        match kept {
            Some(k) => {
                self.set_owned(id, k);
                self.set_kind(id, Kind::Trivia);
            }
            None => self.set_kind(id, Kind::Removed),
        }
        self.touch();
    }

    /// Rewrites logical line `id` as `new_first` plus the ignorable lines
    /// that were interleaved in it.
    fn replace_item(&mut self, id: usize, render: impl FnOnce(&[u8], &[u8], &[u8]) -> Vec<u8>) {
        self.index_remove(id);
        let default_sep = self.style().sep;
        let Some(item) = self.items.get(id) else {
            return;
        };
        let raw = self.text(item);
        let (first, rest) = match memchr::memchr(b'\n', raw) {
            Some(i) => (
                raw.get(..=i).unwrap_or_default(),
                raw.get(i + 1..).unwrap_or_default(),
            ),
            None => (raw, &b""[..]),
        };
        let eol: &[u8] = if first.ends_with(b"\r\n") {
            b"\r\n"
        } else if first.ends_with(b"\n") {
            b"\n"
        } else {
            b""
        };
        let logical = self
            .logical_of(item)
            .map(|(t, _)| t.into_owned())
            .unwrap_or_default();
        let logical = lines::c_string(&logical);
        let (key_end, _) = record::scan_key(logical);
        let key = logical.get(..key_end).unwrap_or_default();
        let sep = match split_first_line(first) {
            Some((_, s, _)) if !s.is_empty() => s.to_vec(),
            _ => default_sep,
        };
        let mut text = render(key, &sep, eol);
        let first_len = text.len();
        for l in rest.split_inclusive(|&b| b == b'\n') {
            if lines::classify(lines::strip_lf(l)) == lines::LineClass::Ignorable {
                text.extend_from_slice(l);
            }
        }
        // "multiline" means "more than one physical line": the kept comment
        // lines make it so, although the logical text is the first line only.
        let multiline = text.len() > first_len;
        self.set_owned(id, text);
        self.set_kind(
            id,
            Kind::Logical {
                multiline,
                orphan: false,
            },
        );
        self.touch();
        self.index_insert(id);
    }

    fn upsert(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<Change, EditError> {
        crate::error::validate_key(key, self.options.utf8)?;
        if let Some(v) = value {
            crate::error::validate_value(v, self.options.utf8)?;
        }
        let matches = self.matches(key);
        let Some(&(first, _)) = matches.first() else {
            let style = self.style();
            self.ensure_final_newline(style.eol);
            let mut line = key.to_vec();
            if let Some(v) = value {
                line.extend_from_slice(&style.sep);
                line.extend_from_slice(v);
            }
            line.extend_from_slice(style.eol);
            self.append_line(line);
            return Ok(Change::Inserted);
        };
        let current = self
            .items
            .get(first)
            .and_then(|i| self.meaning(i))
            .map(|m| match m {
                Meaning::Mapping { value, .. } => Some(value.into_owned()),
                _ => None,
            });
        let same = match (value, &current) {
            (Some(v), Some(Some(cur))) => v == cur.as_slice(),
            (None, Some(None)) => true,
            _ => false,
        };
        if same && matches.len() == 1 {
            return Ok(Change::Unchanged);
        }
        if !same {
            self.replace_item(first, |key, sep, eol| {
                let mut line = key.to_vec();
                if let Some(v) = value {
                    line.extend_from_slice(sep);
                    line.extend_from_slice(v);
                }
                line.extend_from_slice(eol);
                line
            });
        }
        for &(id, _) in matches.iter().skip(1) {
            self.remove_item(id);
        }
        Ok(Change::Replaced)
    }

    /// Sets `key` to `value`: rewrites the first line with this key in place
    /// (keeping its position, the key as written, its separator and line
    /// ending; a multi-line value becomes one line), removes later
    /// duplicates, or appends `key value` in the file's own style. Keys match
    /// after folding ([`Options::fold`]), so by default case-insensitively.
    ///
    /// Rejects, leaving the table unchanged, keys and values Postfix cannot
    /// represent: see [`EditError`].
    ///
    /// ```
    /// let mut t = postfix_table::Table::parse(b"user@example.com\told\r\nother v\r\n");
    /// t.set("USER@example.com", "new:pass").unwrap();
    /// t.set("added@example.com", "x").unwrap();
    /// assert_eq!(t.to_bytes(), b"user@example.com\tnew:pass\r\nother v\r\nadded@example.com\tx\r\n");
    /// assert!(t.set("bad key", "v").is_err());
    /// ```
    pub fn set(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Change, EditError> {
        self.upsert(key.as_ref(), Some(value.as_ref()))
    }

    /// Writes a key-only line for `key` (a DMS opt-out). Postfix ignores such
    /// lines, so a lookup of `key` then finds nothing. Replaces an existing
    /// line for the key in place.
    ///
    /// ```
    /// let mut t = postfix_table::Table::parse(b"@a.com [relay]:25\n");
    /// t.opt_out("@a.com").unwrap();
    /// assert_eq!(t.to_bytes(), b"@a.com\n");
    /// assert!(t.is_opted_out("@a.com"));
    /// ```
    pub fn opt_out(&mut self, key: impl AsRef<[u8]>) -> Result<Change, EditError> {
        self.upsert(key.as_ref(), None)
    }

    /// Removes every line for `key` (values and opt-outs), with their
    /// continuation lines; comment lines above them, and those interleaved
    /// in them, stay. Returns how many logical lines were removed.
    ///
    /// ```
    /// let mut t = postfix_table::Table::parse(b"# keep\nk v\n  more\nx y\n");
    /// assert_eq!(t.remove("K"), 1);
    /// assert_eq!(t.to_bytes(), b"# keep\nx y\n");
    /// ```
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> usize {
        let key = key.as_ref();
        // No stored key is empty or holds LF, CR or NUL.
        if key.is_empty() || key.iter().any(|&b| matches!(b, b'\n' | b'\r' | 0)) {
            return 0;
        }
        let matches = self.matches(key);
        for &(id, _) in &matches {
            self.remove_item(id);
        }
        matches.len()
    }
}

fn item_text<'a>(src: &'a [u8], owned: &'a [Box<[u8]>], item: &Item) -> &'a [u8] {
    if item.owned {
        owned.get(item.start).map(|b| &b[..]).unwrap_or_default()
    } else {
        src.get(item.start..item.start + item.len as usize)
            .unwrap_or_default()
    }
}

/// The logical text of a logical-line item, with whether it is an orphan.
/// A single-line item is exactly one physical line, so it borrows.
fn item_logical<'a>(
    src: &'a [u8],
    owned: &'a [Box<[u8]>],
    item: &Item,
) -> Option<(Cow<'a, [u8]>, bool)> {
    let Kind::Logical { multiline, orphan } = item.kind else {
        return None;
    };
    let raw = item_text(src, owned, item);
    let text = if multiline {
        lines::logical_text(raw)
    } else {
        Cow::Borrowed(lines::strip_lf(raw))
    };
    Some((text, orphan))
}

/// The key an item is indexed under, with whether it has a value; `None`
/// for trivia, orphans and lines Postfix ignores.
fn item_index_key<'a>(
    src: &'a [u8],
    owned: &'a [Box<[u8]>],
    item: &Item,
    utf8: bool,
) -> Option<(Cow<'a, [u8]>, bool)> {
    match item_logical(src, owned, item)? {
        (_, true) => None,
        (Cow::Borrowed(t), false) => record::index_key(t, utf8).map(|(k, v)| (Cow::Borrowed(k), v)),
        (Cow::Owned(t), false) => {
            record::index_key(&t, utf8).map(|(k, v)| (Cow::Owned(k.to_vec()), v))
        }
    }
}

/// Quick reject for scans: true when `line` certainly does not start with a
/// key that folds to `key`. Decides on ASCII bytes only (a non-ASCII byte
/// may fold to something of another length), and only for ASCII queries.
#[inline]
fn cannot_start_with(line: &[u8], key: &[u8], fold: Fold) -> bool {
    if !key.is_ascii() {
        return false;
    }
    for (i, &q) in key.iter().enumerate() {
        let Some(&b) = line.get(i) else {
            return true;
        };
        if !b.is_ascii() && fold == Fold::Unicode {
            return false;
        }
        let same = match fold {
            Fold::None => b == q,
            Fold::Ascii | Fold::Unicode => b.eq_ignore_ascii_case(&q),
        };
        if !same {
            return true;
        }
    }
    false
}

/// Splits the first physical line of a logical line into key, separator
/// (whitespace after the key, without a final CR) and whether a value follows.
fn split_first_line(text: &[u8]) -> Option<(&[u8], &[u8], bool)> {
    let line = lines::first_line(text);
    let (key_end, balanced) = record::scan_key(line);
    if !balanced || key_end == 0 {
        return None;
    }
    let rest = line.get(key_end..)?;
    let ws = rest.iter().take_while(|&&b| lines::is_space(b)).count();
    let has_value = ws < rest.len();
    let mut sep = rest.get(..ws)?;
    if !has_value {
        sep = sep.strip_suffix(b"\r").unwrap_or(sep);
    }
    Some((line.get(..key_end)?, sep, has_value))
}

/// The bucket mask hashbrown uses for a table with room for `cap` items
/// (an implementation detail: if it differs, only speed suffers).
fn bucket_mask(cap: usize) -> usize {
    let buckets = if cap < 8 {
        if cap < 4 { 4 } else { 8 }
    } else {
        (cap.saturating_mul(8) / 7).next_power_of_two()
    };
    buckets - 1
}

/// One stable counting-sort pass of `(hash, id)` pairs by the top eight
/// bits of their bucket number (`hash & mask`). 256 output streams keep the
/// scatter cache- and TLB-friendly.
fn group_by_bucket(pairs: &mut Vec<(u64, u32)>, mask: usize) {
    let width = usize::BITS - mask.leading_zeros();
    let shift = width.saturating_sub(8);
    let digit = |h: u64| ((h as usize & mask) >> shift) & 0xff;
    let mut counts = [0usize; 257];
    for &(h, _) in pairs.iter() {
        if let Some(c) = counts.get_mut(digit(h) + 1) {
            *c += 1;
        }
    }
    for i in 1..counts.len() {
        let prev = counts.get(i - 1).copied().unwrap_or(0);
        if let Some(c) = counts.get_mut(i) {
            *c += prev;
        }
    }
    let mut out: Vec<(u64, u32)> = vec![(0, 0); pairs.len()];
    for &p in pairs.iter() {
        if let Some(c) = counts.get_mut(digit(p.0)) {
            if let Some(slot) = out.get_mut(*c) {
                *slot = p;
            }
            *c += 1;
        }
    }
    *pairs = out;
}

/// Hashes a key as it folds, without copying ASCII keys: every byte is
/// OR-ed with 0x20 when folding, which maps both cases of a letter to the
/// same byte (and merges a few other pairs, such as `@` and `` ` ``; that
/// only costs an occasional extra comparison). Keys that fold equal
/// therefore hash equal. Eight bytes per step, with a folded multiply.
fn hash_key(seed: u64, key: &[u8], fold: Fold) -> u64 {
    match fold {
        Fold::None => hash_bytes(seed, key, 0),
        Fold::Ascii => hash_bytes(seed, key, 0x20),
        Fold::Unicode if key.is_ascii() => hash_bytes(seed, key, 0x20),
        Fold::Unicode => hash_bytes(seed, &fold.fold(key), 0x20),
    }
}

fn hash_bytes(seed: u64, bytes: &[u8], or: u8) -> u64 {
    const K1: u64 = 0x243f_6a88_85a3_08d3;
    const K2: u64 = 0x1319_8a2e_0370_7344;
    let mix = |a: u64, b: u64| {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    };
    let mask = u64::from_ne_bytes([or; 8]);
    let mut acc = seed ^ mix(bytes.len() as u64, K1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc = mix((u64::from_le_bytes(w) | mask) ^ K1, acc ^ K2);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        acc = mix((u64::from_le_bytes(w) | mask) ^ K2, acc ^ K1);
    }
    mix(acc, K2)
}

/// One node of a [`Table`], from [`Table::nodes`].
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// Comment, blank and whitespace-only lines outside any logical line.
    Trivia {
        /// 1-based number of the first line.
        line: usize,
        /// The bytes, line endings included.
        raw: &'a [u8],
    },
    /// A logical line.
    Entry(Entry<'a>),
}

/// Iterator over the nodes of a [`Table`].
#[derive(Debug)]
pub struct Nodes<'a> {
    table: &'a Table,
    pos: usize,
    line: usize,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        loop {
            let id = self.pos;
            let item = self.table.items.get(id)?;
            self.pos += 1;
            if item.kind == Kind::Removed {
                continue;
            }
            let raw = self.table.text(item);
            let line = self.line;
            self.line += memchr::memchr_iter(b'\n', raw).count();
            return Some(match item.kind {
                Kind::Trivia | Kind::Removed => Node::Trivia { line, raw },
                Kind::Logical { .. } => {
                    let meaning = self.table.meaning(item);
                    let (key, value, ignored) = match meaning {
                        Some(Meaning::Mapping { key, value }) => (Some(key), Some(value), None),
                        Some(Meaning::KeyOnly { key }) => (Some(key), None, None),
                        Some(Meaning::Ignored(why)) => (None, None, Some(why)),
                        None => (None, None, None),
                    };
                    Node::Entry(Entry {
                        id,
                        line,
                        raw,
                        key,
                        value,
                        ignored,
                    })
                }
            });
        }
    }
}

/// What a logical line is to Postfix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// `key value`: lookups can find it.
    Mapping,
    /// A key with no value. Postfix ignores the line ("expected format: key
    /// whitespace value"); DMS uses it to opt a sender domain out.
    OptOut,
    /// Ignored by Postfix for the given reason.
    Ignored(Ignored),
}

/// One logical line of a [`Table`], with its meaning.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    id: usize,
    line: usize,
    raw: &'a [u8],
    key: Option<Cow<'a, [u8]>>,
    value: Option<Cow<'a, [u8]>>,
    ignored: Option<Ignored>,
}

impl<'a> Entry<'a> {
    /// 1-based number of its first physical line (what Postfix calls "line N").
    pub fn line(&self) -> usize {
        self.line
    }

    /// Its bytes: first line, continuation lines and interleaved comment or
    /// blank lines, line endings included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The key as written (not folded; quotes and backslashes kept, as
    /// Postfix stores them). `None` for ignored lines.
    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// The value: continuation lines joined with their indentation, the ends
    /// trimmed. `None` for opt-outs and ignored lines.
    pub fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }

    /// The key as UTF-8 text, when it is.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(self.key()?).ok()
    }

    /// The value as UTF-8 text, when it is.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value()?).ok()
    }

    /// What the line is to Postfix.
    pub fn kind(&self) -> EntryKind {
        match (&self.ignored, &self.value) {
            (Some(why), _) => EntryKind::Ignored(*why),
            (None, Some(_)) => EntryKind::Mapping,
            (None, None) => EntryKind::OptOut,
        }
    }

    /// True for a key-only line.
    pub fn is_opt_out(&self) -> bool {
        self.kind() == EntryKind::OptOut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_basic() {
        for src in [&b""[..], b"a b", b"a b\r\n c\r\n#x\n", b"  x\n\0\xff\n"] {
            assert_eq!(Table::parse(src).to_bytes(), src);
        }
    }

    #[test]
    fn lookup_first_wins_and_last_wins() {
        let src = b"Key first\nKEY second\nkey third\n";
        let t = Table::parse(src);
        assert_eq!(t.get("KEY").as_deref(), Some(&b"first"[..]));
        let t = Table::parse_with(
            src,
            Options {
                duplicates: Duplicates::LastWins,
                ..Options::default()
            },
        );
        assert_eq!(t.get("key").as_deref(), Some(&b"third"[..]));
        let t = Table::parse_with(
            src,
            Options {
                fold: Fold::None,
                ..Options::default()
            },
        );
        assert_eq!(t.get("KEY").as_deref(), Some(&b"second"[..]));
        assert_eq!(t.get("kEY"), None);
    }

    #[test]
    fn replace_multiline_keeps_interleaved_comments() {
        let mut t = Table::parse(b"a x\nk first\n# c\n  second\nz y\n");
        assert_eq!(t.set("k", "new").unwrap(), Change::Replaced);
        assert_eq!(t.to_bytes(), b"a x\nk new\n# c\nz y\n");
        assert_eq!(t.get("k").as_deref(), Some(&b"new"[..]));
    }

    #[test]
    fn set_is_idempotent() {
        let mut t = Table::parse(b"k v\n");
        assert_eq!(t.set("K", "v").unwrap(), Change::Unchanged);
        assert!(!t.edited);
    }

    #[test]
    fn set_removes_duplicates() {
        let mut t = Table::parse(b"k v\nK w\n");
        assert_eq!(t.set("k", "v").unwrap(), Change::Replaced);
        assert_eq!(t.to_bytes(), b"k v\n");
    }

    #[test]
    fn append_adds_newline_first() {
        let mut t = Table::parse(b"a\tb");
        t.set("c", "d").unwrap();
        assert_eq!(t.to_bytes(), b"a\tb\nc\td\n");
    }

    #[test]
    fn opt_out_replaces_in_place() {
        let mut t = Table::parse(b"@a.com  [x]\n@b.com y\n");
        t.opt_out("@A.com").unwrap();
        assert_eq!(t.to_bytes(), b"@a.com\n@b.com y\n");
        t.set("@a.com", "[z]").unwrap();
        assert_eq!(t.to_bytes(), b"@a.com  [z]\n@b.com y\n");
    }

    #[test]
    fn write_to_coalesces() {
        let mut t = Table::parse(b"a b\nc d\ne f\n");
        t.set("c", "x").unwrap();
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        assert_eq!(out, b"a b\nc x\ne f\n");
        assert_eq!(t.len_bytes(), out.len());
    }
}
