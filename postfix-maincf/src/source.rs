//! The bytes a [`crate::MainCf`] was parsed from, and reading them from a
//! file ([`crate::MainCf::load`]).
//!
//! A document never changes its source bytes (edits write their text to a
//! separate buffer), so the source can be any read-only memory: a `Vec`
//! handed over by the caller, or, for a large file read by
//! [`crate::MainCf::load`] on Linux, an anonymous mapping that the kernel
//! may back with transparent huge pages (`madvise(MADV_HUGEPAGE)`).
//!
//! Why: on virtual machines a page fault on fresh memory is expensive (about
//! 4 µs measured on the development VM), and reading a 4.7 MB main.cf into
//! a `Vec` costs 1,150 of them; every later pass over the bytes then also
//! pays for TLB misses. With 2 MiB pages the same read takes a handful of
//! faults, and `postconf-lite -n` on that file ran 12 % faster in
//! interleaved A/B runs, 34.7 → 30.5 ms (see `docs/benchmarks.md`). Where the system does not allow huge pages
//! (`/sys/kernel/mm/transparent_hugepage/enabled` set to `never`), the
//! advice is ignored and the mapping behaves like any other memory.

use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// Read-only bytes of a document; cloning a mapped source shares it.
#[derive(Clone)]
pub(crate) enum Source {
    /// Bytes handed over by the caller ([`crate::MainCf::from_vec`]).
    Vec(Vec<u8>),
    /// A large file read by [`read`].
    #[cfg(target_os = "linux")]
    Mapped(Arc<Mapped>),
}

impl Deref for Source {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Source::Vec(v) => v,
            #[cfg(target_os = "linux")]
            Source::Mapped(m) => m.bytes(),
        }
    }
}

/// As the bytes' `Debug` (what a `Vec<u8>` source always printed).
impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Files from this size are read into a huge-page mapping: smaller ones
/// would not fill one 2 MiB page.
#[cfg(target_os = "linux")]
const MAPPED_MIN: u64 = 2 << 20;

/// Files from this size are read by two threads (each reading half).
#[cfg(unix)]
const PARALLEL_MIN: u64 = 1 << 20;

/// A transparent huge page on x86-64 and on aarch64 with 4 KiB pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// File bytes in an anonymous mapping: `len` bytes from `start` (the first
/// huge-page boundary in the mapping).
#[cfg(target_os = "linux")]
pub(crate) struct Mapped {
    map: memmap2::MmapMut,
    start: usize,
    len: usize,
}

#[cfg(target_os = "linux")]
impl Mapped {
    fn bytes(&self) -> &[u8] {
        self.map
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

/// Reads the whole file at `path`.
pub(crate) fn read(path: &Path) -> io::Result<Source> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    #[cfg(target_os = "linux")]
    if len >= MAPPED_MIN
        && let Ok(size) = usize::try_from(len)
    {
        return match read_mapped(&file, size) {
            Ok(Some(m)) => Ok(Source::Mapped(Arc::new(m))),
            // No mapping could be made, or the file changed size while it
            // was read: read it plainly (to its end, whatever its size is
            // now).
            Ok(None) => std::fs::read(path).map(Source::Vec),
            Err(e) => Err(e),
        };
    }
    #[cfg(unix)]
    if len >= PARALLEL_MIN
        && let Ok(size) = usize::try_from(len)
    {
        // Zeroed by the allocator (fresh pages, untouched): each reader
        // thread faults in its own half.
        let mut buf = vec![0u8; size];
        if read_halves(&file, &mut buf)? && file.metadata()?.len() == len {
            return Ok(Source::Vec(buf));
        }
        return std::fs::read(path).map(Source::Vec);
    }
    let mut buf = Vec::new();
    io::Read::read_to_end(&mut &file, &mut buf)?;
    Ok(Source::Vec(buf))
}

/// The file's `size` bytes in a huge-page mapping; `None` when no mapping
/// could be made (an address-space limit, say) or the file turned out not
/// to be `size` bytes long.
#[cfg(target_os = "linux")]
fn read_mapped(file: &std::fs::File, size: usize) -> io::Result<Option<Mapped>> {
    // One page more than needed, to start the bytes on a huge-page
    // boundary (only whole, aligned 2 MiB ranges can be huge pages).
    let total = size
        .checked_add(HUGE_PAGE)
        .ok_or_else(|| io::Error::other("file too large"))?;
    let Ok(mut map) = memmap2::MmapMut::map_anon(total) else {
        return Ok(None);
    };
    // Advice only: without huge pages the mapping works all the same.
    let _ = map.advise(memmap2::Advice::HugePage);
    let addr = map.as_ptr() as usize;
    let start = addr.next_multiple_of(HUGE_PAGE) - addr;
    let Some(buf) = map.get_mut(start..start + size) else {
        return Err(io::Error::other("mapping too small"));
    };
    if !read_halves(file, buf)? || file.metadata()?.len() != size as u64 {
        return Ok(None);
    }
    Ok(Some(Mapped {
        map,
        start,
        len: size,
    }))
}

/// Fills `buf` from the start of `file`, the second half on another thread;
/// false when the file ended first.
#[cfg(unix)]
fn read_halves(file: &std::fs::File, buf: &mut [u8]) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let read_at = |part: &mut [u8], at: u64| match file.read_exact_at(part, at) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    };
    let (first, second) = buf.split_at_mut(buf.len() / 2);
    let offset = first.len() as u64;
    std::thread::scope(|scope| {
        let other = scope.spawn(|| read_at(second, offset));
        let mine = read_at(first, 0)?;
        let theirs = other
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")))?;
        Ok(mine && theirs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small, two-thread and mapped reads all give the file's bytes.
    #[test]
    fn reads_every_size_back() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 4095, (1 << 20) + 3, (2 << 20) + 7, 5 << 20] {
            let path = dir.path().join(format!("f{size}"));
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4096) as u8).collect();
            std::fs::write(&path, &bytes).unwrap();
            let src = read(&path).unwrap();
            assert_eq!(src.len(), size);
            assert!(*src == bytes[..], "size {size}");
            let copy = src.clone();
            assert!(*copy == bytes[..]);
            #[cfg(target_os = "linux")]
            assert_eq!(
                matches!(src, Source::Mapped(_)),
                size as u64 >= MAPPED_MIN,
                "size {size}"
            );
        }
        // A loaded document is the parsed one: same bytes back, same
        // values, same result of an edit (edits never touch the source).
        let text: String = (0..100_000)
            .map(|i| format!("p{i} = v{i}\n  more {i}\n# c\n"))
            .collect();
        let path = dir.path().join("main.cf");
        std::fs::write(&path, &text).unwrap();
        let mut loaded = crate::MainCf::load(&path).unwrap();
        assert!(matches!(loaded.src, Source::Mapped(_)) || !cfg!(target_os = "linux"));
        let mut parsed = crate::MainCf::parse(text.as_bytes());
        assert!(loaded.to_bytes() == text.as_bytes());
        assert_eq!(loaded.values(), parsed.values());
        for cf in [&mut loaded, &mut parsed] {
            cf.set("p7", "new").unwrap();
            cf.remove("p8").unwrap();
        }
        assert!(loaded.to_bytes() == parsed.to_bytes());
        let e = read(&dir.path().join("missing")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    /// A document stays shareable across threads whatever holds its bytes.
    #[test]
    fn documents_are_send_and_sync() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Source>();
        shareable::<crate::MainCf>();
    }

    /// Debug shows the bytes, as for a `Vec<u8>`.
    #[test]
    fn debug_is_the_bytes() {
        assert_eq!(format!("{:?}", Source::Vec(b"ab".to_vec())), "[97, 98]");
    }
}
