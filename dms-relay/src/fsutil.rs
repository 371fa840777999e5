//! Safe file writes: atomic replacement, a directory lock, and an in-place
//! fallback for single-file bind mounts.
//!
//! * [`write_atomic`] writes a temporary file in the target's directory,
//!   fsyncs it, gives it the target's mode and owner, renames it over the
//!   target and fsyncs the directory. Readers see the old file or the new
//!   one, never a mix.
//! * [`with_lock`] runs a closure while holding an exclusive `flock` on
//!   [`LOCK_FILE`] (`.dms-relay.lock`) in a directory. Every
//!   read-modify-write of the DMS config directory goes through it, so
//!   concurrent commands (threads or processes) never lose updates.
//! * When the rename fails with `EBUSY` or `EXDEV` (the target is a
//!   single-file bind mount, or otherwise cannot be replaced), the file is
//!   rewritten **in place** instead: see [`write_atomic`] for the protocol
//!   and its crash-safety trade-off.
//! * [`AtomicWrite::hook`] injects faults at every step, for tests.
//!
//! ```
//! use dms_relay::fsutil::{with_lock, write_atomic};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("postfix-sasl-password.cf");
//! with_lock(dir.path(), || write_atomic(&path, b"@example.org user:pw\n", Some(0o600)))??;
//! assert_eq!(std::fs::read(&path)?, b"@example.org user:pw\n");
//! # use std::os::unix::fs::PermissionsExt;
//! assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o7777, 0o600);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the lock file [`with_lock`] creates in the locked directory.
pub const LOCK_FILE: &str = ".dms-relay.lock";

/// Suffix of the redo file kept next to a target while it is rewritten in
/// place (see [`write_atomic`]): `.<name>.dms-relay-pending`.
pub const PENDING_SUFFIX: &str = ".dms-relay-pending";

/// Size of the chunks files are written in (each is a [`Step::Write`]).
pub const CHUNK: usize = 4096;

/// Runs `f` while holding an exclusive lock on `dir/.dms-relay.lock`
/// ([`LOCK_FILE`]), creating `dir` (like `mkdir -p`) and the lock file
/// (mode 0600, empty, left in place) when needed. The lock is a `flock`
/// on the file, so it serializes threads (each call opens its own file
/// description) and processes alike, and it is released when `f` returns
/// or panics, or when the process dies.
///
/// Before `f` runs, any in-place rewrite that a crash interrupted in this
/// directory is completed (see [`recover`]).
pub fn with_lock<R>(dir: &Path, f: impl FnOnce() -> R) -> io::Result<R> {
    fs::create_dir_all(dir)?;
    let lock_path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)?;
    file.lock()?;
    recover(dir)?;
    let out = f();
    // Closing the file releases the lock; unlock explicitly all the same.
    let _ = file.unlock();
    drop(file);
    Ok(out)
}

/// A step of [`write_atomic`], passed to a [`Hook`] just before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Creating the temporary file next to the target.
    CreateTemp,
    /// Writing a chunk (at most [`CHUNK`] bytes) at `offset` of the
    /// temporary file (`in_place: false`), or of the target itself during
    /// an in-place rewrite (`in_place: true`).
    Write {
        /// Offset of the chunk.
        offset: usize,
        /// True during the in-place rewrite of the target.
        in_place: bool,
    },
    /// Setting the temporary file's mode and owner.
    SetPermissions,
    /// fsync of the temporary file.
    SyncTemp,
    /// Renaming the temporary file over the target. A hook error of kind
    /// `ResourceBusy` or `CrossesDevices` here behaves exactly like the
    /// rename failing that way (it triggers the in-place fallback).
    Rename,
    /// fsync of the directory after the rename.
    SyncDir,
    /// Renaming the fsynced temporary file to the pending (redo) file,
    /// before an in-place rewrite.
    Pending,
    /// Cutting the target to its new length during an in-place rewrite.
    Truncate,
    /// fsync of the target after an in-place rewrite.
    SyncTarget,
    /// Removing the pending file once the in-place rewrite is durable.
    RemovePending,
}

/// What a [`Hook`] makes of a step.
#[derive(Debug)]
pub enum Fault {
    /// The step fails with this error; [`write_atomic`] then cleans up and
    /// rolls back as it would on a real error.
    Fail(io::Error),
    /// The process "dies" here: [`write_atomic`] returns at once, without
    /// any cleanup or rollback, leaving the files as a crash would.
    Crash,
}

/// Fault injection for tests: called before every [`Step`].
pub trait Hook: Send + Sync {
    /// `Ok` lets the step run.
    fn before(&self, step: Step) -> Result<(), Fault>;
}

impl<F: Fn(Step) -> Result<(), Fault> + Send + Sync> Hook for F {
    fn before(&self, step: Step) -> Result<(), Fault> {
        self(step)
    }
}

/// Error returned for [`Fault::Crash`] (kind `Other`).
pub const CRASH_MESSAGE: &str = "simulated crash (fault injection)";

/// A configurable atomic write; [`write_atomic`] is the common case.
pub struct AtomicWrite<'a> {
    path: &'a Path,
    mode: Option<u32>,
    hook: Option<&'a dyn Hook>,
}

impl fmt::Debug for AtomicWrite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicWrite")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// Internal: a step failed; `crash` means "do not clean up".
struct StepError {
    err: io::Error,
    crash: bool,
}

impl From<io::Error> for StepError {
    fn from(err: io::Error) -> Self {
        StepError { err, crash: false }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl<'a> AtomicWrite<'a> {
    /// A write of `path`.
    pub fn new(path: &'a Path) -> Self {
        AtomicWrite {
            path,
            mode: None,
            hook: None,
        }
    }

    /// Mode for a file that does not exist yet (an existing file keeps its
    /// own). Without it a new file gets `0666 & !umask`.
    pub fn mode(mut self, mode: Option<u32>) -> Self {
        self.mode = mode;
        self
    }

    /// Calls `hook` before every step.
    pub fn hook(mut self, hook: &'a dyn Hook) -> Self {
        self.hook = Some(hook);
        self
    }

    fn step(&self, step: Step) -> Result<(), StepError> {
        match self.hook.map(|h| h.before(step)) {
            None | Some(Ok(())) => Ok(()),
            Some(Err(Fault::Fail(err))) => Err(StepError { err, crash: false }),
            Some(Err(Fault::Crash)) => Err(StepError {
                err: io::Error::other(CRASH_MESSAGE),
                crash: true,
            }),
        }
    }

    /// Writes `bytes` to the path; see [`write_atomic`].
    pub fn write(&self, bytes: &[u8]) -> io::Result<()> {
        // Write through a symbolic link to the file it names.
        let target = match fs::symlink_metadata(self.path) {
            Ok(m) if m.file_type().is_symlink() => fs::canonicalize(self.path)?,
            _ => self.path.to_path_buf(),
        };
        let existing = match fs::metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".{name}.dms-relay-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match self.replace(&target, &dir, &tmp, existing.as_ref(), bytes) {
            Ok(()) => Ok(()),
            Err(StepError { err, crash: true }) => Err(err),
            Err(StepError { err, crash: false }) => {
                let _ = fs::remove_file(&tmp);
                Err(err)
            }
        }
    }

    fn write_chunks(&self, file: &mut File, bytes: &[u8], in_place: bool) -> Result<(), StepError> {
        for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
            self.step(Step::Write {
                offset: i * CHUNK,
                in_place,
            })?;
            file.write_all(chunk)?;
        }
        Ok(())
    }

    fn replace(
        &self,
        target: &Path,
        dir: &Path,
        tmp: &Path,
        existing: Option<&fs::Metadata>,
        bytes: &[u8],
    ) -> Result<(), StepError> {
        self.step(Step::CreateTemp)?;
        // A new file without a given mode gets the umask mode at creation;
        // every other temporary file stays 0600 until it is complete.
        let umask_mode = existing.is_none() && self.mode.is_none();
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if umask_mode { 0o666 } else { 0o600 })
            .open(tmp)?;
        self.write_chunks(&mut file, bytes, false)?;
        self.step(Step::SetPermissions)?;
        let mut owner_kept = true;
        match existing {
            Some(m) => {
                let mine = file.metadata()?;
                if mine.uid() != m.uid() || mine.gid() != m.gid() {
                    owner_kept =
                        std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid())).is_ok();
                }
                file.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
            }
            None => {
                if let Some(m) = self.mode {
                    file.set_permissions(fs::Permissions::from_mode(m & 0o7777))?;
                }
            }
        }
        self.step(Step::SyncTemp)?;
        file.sync_all()?;
        drop(file);
        if !owner_kept {
            // We may not give the file its owner back (not root): rewrite
            // the existing file in place, which keeps inode, owner and mode.
            return self.in_place(target, dir, tmp, bytes);
        }
        let renamed = self
            .step(Step::Rename)
            .and_then(|()| fs::rename(tmp, target).map_err(StepError::from));
        match renamed {
            Ok(()) => {}
            Err(e)
                if !e.crash
                    && existing.is_some()
                    && matches!(
                        e.err.kind(),
                        io::ErrorKind::ResourceBusy | io::ErrorKind::CrossesDevices
                    ) =>
            {
                return self.in_place(target, dir, tmp, bytes);
            }
            Err(e) => return Err(e),
        }
        self.step(Step::SyncDir)?;
        sync_dir(dir)?;
        Ok(())
    }

    /// The in-place protocol: the fsynced temporary file becomes the
    /// pending (redo) file; the target is overwritten from offset 0, cut to
    /// length and fsynced; then the pending file is removed.
    fn in_place(
        &self,
        target: &Path,
        dir: &Path,
        tmp: &Path,
        bytes: &[u8],
    ) -> Result<(), StepError> {
        let pending = pending_path(target);
        self.step(Step::Pending)?;
        fs::rename(tmp, &pending)?;
        sync_dir(dir)?;
        let old = fs::read(target)?;
        match self.overwrite(target, bytes) {
            Ok(()) => {}
            Err(e) if e.crash => return Err(e),
            Err(e) => {
                // Roll back to the old content; if even that fails, the
                // pending file stays and the next locked access completes
                // the rewrite (see `recover`).
                if overwrite_plain(target, &old).is_ok() {
                    let _ = fs::remove_file(&pending);
                }
                return Err(e);
            }
        }
        self.step(Step::RemovePending)?;
        fs::remove_file(&pending)?;
        sync_dir(dir)?;
        Ok(())
    }

    fn overwrite(&self, target: &Path, bytes: &[u8]) -> Result<(), StepError> {
        let mut file = OpenOptions::new().write(true).open(target)?;
        self.write_chunks(&mut file, bytes, true)?;
        self.step(Step::Truncate)?;
        file.set_len(bytes.len() as u64)?;
        self.step(Step::SyncTarget)?;
        file.sync_all()?;
        Ok(())
    }
}

/// Writes `bytes` to `path` so that, whatever fails, `path` holds either
/// its old content or the new content, never a mix.
///
/// 1. A temporary file `.<name>.dms-relay-<pid>-<n>.tmp` is created in the
///    same directory (mode 0600 while it is written), filled and fsynced.
/// 2. It gets the mode and owner of the existing file. A new file gets
///    `mode` (e.g. `Some(0o600)` for credentials), exactly, or `0666 &
///    !umask` when `mode` is `None`.
/// 3. It is renamed over `path` and the directory is fsynced. A symbolic
///    link at `path` is followed: the file it names is replaced.
///
/// **Fallback:** when the rename fails with `EBUSY` or `EXDEV` (a
/// single-file bind mount, as in `-v ./relaymap.cf:/tmp/docker-mailserver/…`,
/// where DMS's `sed -i` fails with "Device or resource busy"), or when the
/// existing file's owner cannot be given to the new file (not root), the
/// target is rewritten in place, which keeps its inode, mode and owner:
/// the fsynced temporary file is renamed to `.<name>.dms-relay-pending`
/// ([`PENDING_SUFFIX`]) next to the target, the target is overwritten from
/// offset 0, cut to length and fsynced, and the pending file is removed.
/// On an error the old content is written back. *Trade-off:* during the
/// rewrite a concurrent reader that does not take the lock (Postfix, DMS's
/// change detection) can see a partly written file, and a crash in the
/// middle leaves it partly written on disk; the pending file then still
/// holds the complete new content, and the next [`with_lock`] (or
/// [`recover`]) in that directory copies it into place.
///
/// Call it under [`with_lock`] when the content depends on what was read.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    AtomicWrite::new(path).mode(mode).write(bytes)
}

/// The pending (redo) file of an in-place rewrite of `target`.
pub fn pending_path(target: &Path) -> PathBuf {
    // Bytes, not `to_string_lossy`: a non-UTF-8 name must map back to
    // itself in `recover`.
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(PENDING_SUFFIX);
    target.with_file_name(name)
}

/// The target name of a pending file name, as bytes; `None` for other
/// names and for `.`/`..` (which no pending file can be for).
fn pending_stem(name: &std::ffi::OsStr) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    let stem = name
        .as_bytes()
        .strip_prefix(b".")?
        .strip_suffix(PENDING_SUFFIX.as_bytes())?;
    (!stem.is_empty() && stem != b"." && stem != b"..").then(|| std::ffi::OsStr::from_bytes(stem))
}

/// Completes in-place rewrites that a crash interrupted in `dir`: for each
/// `.<name>.dms-relay-pending` file, copies its content over `<name>` (in
/// place), fsyncs and removes it (when `<name>` no longer exists, the
/// pending file is renamed to it, keeping its mode). Also removes stale
/// temporary files left by a crash before a rename. [`with_lock`] calls
/// it; call it under the lock only. Returns the targets that were
/// completed.
pub fn recover(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut done = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let os_name = entry.file_name();
        let name = os_name.to_string_lossy().into_owned();
        if let Some(stem) = pending_stem(&os_name) {
            let target = dir.join(stem);
            // Written by `AtomicWrite` as a regular file: anything else
            // (a directory, a symlink to another file) is not ours to copy.
            if !fs::symlink_metadata(entry.path())?.file_type().is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: pending file is not a regular file; remove it",
                        entry.path().display()
                    ),
                ));
            }
            if target.exists() {
                let bytes = fs::read(entry.path())?;
                overwrite_plain(&target, &bytes)?;
                fs::remove_file(entry.path())?;
            } else {
                // The target is gone: the pending file (complete, fsynced,
                // with the target's mode, e.g. 0600 for credentials) takes
                // its place. Writing a new file would give it the umask's
                // mode (0644).
                fs::rename(entry.path(), &target)?;
            }
            sync_dir(dir)?;
            done.push(target);
        } else if let Some(pid) = stale_temp_pid(&name)
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            // A temporary file of a dead process whose rename never
            // happened: the target still holds its old content.
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(done)
}

fn overwrite_plain(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(target)?;
    file.write_all(bytes)?;
    file.set_len(bytes.len() as u64)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The writer's process id in a temporary file name
/// `.<name>.dms-relay-<pid>-<n>.tmp`.
fn stale_temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, tail) = rest.rsplit_once(".dms-relay-")?;
    let (pid, n) = tail.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}
