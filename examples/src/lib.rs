//! The example binaries' logic, as testable functions, and the helpers they
//! share (atomic file replacement).
#![forbid(unsafe_code)]

pub mod postconf_lite;
pub mod postmap_lite;
mod postmap_pattern;
pub mod setup_relay;

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

/// Rewrites `path` the way Postfix's `postconf -e` does
/// (`util/edit_file.c`), so that our writers and Postfix's serialize on one
/// lock:
///
/// 1. open (creating) `PATH.tmp` and take an exclusive `flock` on it; if the
///    file was renamed away while we waited, start again;
/// 2. with the lock held, call `edit` with the current bytes of `path`
///    (`None` when it does not exist); it returns the new bytes, or `None`
///    to leave the file alone;
/// 3. write them to `PATH.tmp`, give it `path`'s mode and owner, `fsync`,
///    and rename it over `path` (then `fsync` the directory).
///
/// A reader sees the old or the new file, never a mix; concurrent editors
/// (ours or postconf) each see the previous one's result. Unlike postconf,
/// the file keeps its mode and owner (postconf leaves 0644), and a symlink
/// is followed (postconf replaces the link with a regular file).
pub fn edit_file_locked<E>(
    path: &Path,
    edit: impl FnOnce(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, E>,
) -> Result<Result<(), E>, io::Error> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    edit_locked_with(path, Durability::Fsync, |tmp| {
        let old = match fs::read(&target) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(match edit(old) {
            Ok(Some(bytes)) => {
                tmp.write_all(&bytes)?;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        })
    })
}

/// The locking protocol of [`edit_file_locked`], with the new content
/// written by `fill` straight into the locked `PATH.tmp` (empty when `fill`
/// runs). `fill` returns `Ok(true)` to rename it over `path`, `Ok(false)` to
/// leave `path` alone, or the caller's error (nothing changes). `PATH.tmp`
/// is removed unless it was renamed; one left by a killed editor is reused
/// (truncated) by the next.
pub fn edit_locked_with<E>(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut fs::File) -> io::Result<Result<bool, E>>,
) -> Result<Result<(), E>, io::Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut tmp_name = target.clone().into_os_string();
    tmp_name.push(".tmp");
    let tmp_path = std::path::PathBuf::from(tmp_name);
    let mut tmp = loop {
        let f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&tmp_path)?;
        f.lock()?;
        // Another editor may have renamed the file we locked over the
        // target while we waited: then lock the new PATH.tmp instead.
        match fs::metadata(&tmp_path) {
            Ok(m) if m.ino() == f.metadata()?.ino() && m.dev() == f.metadata()?.dev() => {
                break f;
            }
            _ => continue,
        }
    };
    let result = (|| {
        tmp.set_len(0)?;
        match fill(&mut tmp)? {
            Ok(true) => {}
            Ok(false) => return Ok(Ok(false)),
            Err(e) => return Ok(Err(e)),
        }
        if let Ok(m) = fs::metadata(&target) {
            tmp.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
            let _ = std::os::unix::fs::fchown(&tmp, Some(m.uid()), Some(m.gid()));
        } else {
            tmp.set_permissions(fs::Permissions::from_mode(0o644))?;
        }
        if durability == Durability::Fsync {
            tmp.sync_all()?;
        }
        fs::rename(&tmp_path, &target)?;
        if durability == Durability::Fsync
            && let Some(dir) = target.parent()
            && let Ok(d) = fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(Ok(true))
    })();
    if !matches!(result, Ok(Ok(true))) {
        let _ = fs::remove_file(&tmp_path);
    }
    drop(tmp);
    result.map(|r| r.map(|_| ()))
}
