//! The example binaries' logic, as testable functions, and the helpers they
//! share (atomic file replacement).
#![forbid(unsafe_code)]

pub mod postmap_lite;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Whether a replaced file is flushed to disk before it is renamed into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync` the new file before the rename and the directory after it,
    /// as Postfix's own `postconf -e` does (util/edit_file.c): after a power
    /// loss the file holds the old or the new content. The default.
    Fsync,
    /// Rename only, like `sed -i`: still atomic for every reader, but a
    /// power loss right after the rename may, on some file systems, leave an
    /// empty or partial file. For batch jobs that sync once at the end.
    RenameOnly,
}

/// Replaces `path` with `bytes` atomically: writes a temporary file in the
/// same directory, gives it the original file's mode and owner, flushes it
/// to disk and renames it over `path`. A reader sees the old or the new
/// content, never a mix; a crash leaves the old file in place.
///
/// A symlink is followed: its target is replaced and the link stays.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, Durability::Fsync, |f| f.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `fill`, which writes
/// straight into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let meta = fs::metadata(&target).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(".postfix-edit.")
        .tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    if let Some(m) = &meta {
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
        // Keeping the owner needs privileges; when we lack them the file
        // stays ours, as with any editor.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(m.uid()), Some(m.gid()));
    }
    if durability == Durability::Fsync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    if durability == Durability::Fsync
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
