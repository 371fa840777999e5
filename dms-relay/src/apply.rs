//! Writing the startup step's result ([`crate::render::Rendered`]) to a
//! Postfix configuration directory (`/etc/postfix` in DMS).
//!
//! [`apply`] does, under one lock ([`crate::fsutil::with_lock`] on the
//! Postfix directory, plus Postfix's own `main.cf.tmp` lock that
//! `postconf -e` takes, so that a concurrent `postconf -e` waits):
//!
//! 1. writes `PDIR/relayhost_map` and `PDIR/sasl_passwd` when the render
//!    has them, each atomically ([`crate::fsutil::write_atomic`]) with mode
//!    0600 (an existing file with a wider mode is narrowed to 0600 *before*
//!    the new content is written), and `PDIR/vhost` (0644 when new; an
//!    existing file keeps its mode and owner);
//! 2. edits `PDIR/main.cf` through `postfix-maincf`
//!    ([`crate::render::main_cf_apply`]): only the seven
//!    [`crate::render::RELAY_PARAMETERS`] are set or removed, every other
//!    byte stays, and the file keeps its mode and owner (atomic rewrite).
//!    The table references point into PDIR:
//!    `texthash:PDIR/relayhost_map`, `texthash:PDIR/sasl_passwd` (PDIR made
//!    absolute), whatever directory the render was made for;
//! 3. removes `relayhost_map` and `sasl_passwd` when the render says they
//!    should not exist, so nothing stale stays (spec §5 item 20; DMS leaves
//!    them).
//!
//! Files whose content is already right are not rewritten. The order keeps
//! main.cf consistent with the tables at every moment: a table is in place
//! before main.cf refers to it, and main.cf stops referring to it before it
//! is removed. A failure at any step stops there and leaves each file with
//! its old or its new content, never a partial one (that is what
//! [`crate::fsutil::write_atomic`] guarantees per file); the steps already
//! done stay done, and running [`apply`] again converges.
//!
//! Deliberate differences from DMS: atomic writes instead of truncate and
//! append (spec §5.22), a lock, stale tables removed and parameters reset
//! (convergence), and a missing `main.cf` is an error (DMS's `postconf`
//! fails the same way) rather than being created.
//!
//! ```
//! use dms_relay::apply::apply;
//! use dms_relay::env::RelayEnv;
//! use dms_relay::render::{render, Sources};
//!
//! let pdir = tempfile::tempdir()?;
//! std::fs::write(pdir.path().join("main.cf"), "relayhost =\nsmtp_tls_security_level = may\n")?;
//! let domains = vec!["example.org".to_string()];
//! let env = RelayEnv::new().with_relay_host("smtp.relay.test");
//! let rendered = render(&env, &Sources { relaymap: None, sasl_password: None, domains: &domains })?;
//! let report = apply(&rendered, pdir.path())?;
//! assert!(report.main_cf_changed);
//! assert_eq!(
//!     std::fs::read_to_string(pdir.path().join("relayhost_map"))?,
//!     "@example.org    [smtp.relay.test]:25\n"
//! );
//! let main_cf = std::fs::read_to_string(pdir.path().join("main.cf"))?;
//! let dir = std::path::absolute(pdir.path())?;
//! assert!(main_cf.contains(&format!(
//!     "sender_dependent_relayhost_maps = texthash:{}/relayhost_map",
//!     dir.display()
//! )));
//! # use std::os::unix::fs::PermissionsExt;
//! let mode = std::fs::metadata(pdir.path().join("relayhost_map"))?.permissions().mode();
//! assert_eq!(mode & 0o777, 0o600);
//! // Nothing relays any more: the table and the parameter go away.
//! let none = render(&RelayEnv::new(), &Sources { relaymap: None, sasl_password: None, domains: &domains })?;
//! let report = apply(&none, pdir.path())?;
//! assert!(!pdir.path().join("relayhost_map").exists());
//! assert!(!std::fs::read_to_string(pdir.path().join("main.cf"))?.contains("relayhost_map"));
//! assert_eq!(report.removed.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use postfix_maincf::MainCf;

use crate::fsutil::{self, AtomicWrite, Hook};
use crate::render::{self, Rendered};

/// `relayhost_map`: the table of `sender_dependent_relayhost_maps`.
pub const RELAYHOST_MAP_FILE: &str = "relayhost_map";
/// `sasl_passwd`: the table of `smtp_sasl_password_maps`.
pub const SASL_PASSWD_FILE: &str = "sasl_passwd";
/// `vhost`: the managed domains.
pub const VHOST_FILE: &str = "vhost";
/// `main.cf`.
pub const MAIN_CF_FILE: &str = "main.cf";
/// Mode of `relayhost_map` and `sasl_passwd` (DMS: `chmod 0600`).
pub const TABLE_MODE: u32 = 0o600;
/// Mode of a newly created `vhost` (DMS: umask 022).
pub const VHOST_MODE: u32 = 0o644;

/// Why [`apply`] failed. Messages name the file and the step, never any
/// file content (so never a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Reading, writing, removing or locking a file failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The Postfix directory cannot be named in a main.cf table reference
    /// (`texthash:PDIR/relayhost_map`).
    #[error("{path}: cannot be used in a main.cf table reference: {reason}")]
    BadPostfixDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// `postfix-maincf` refused a parameter edit.
    #[error("{path}: {source}")]
    MainCf {
        /// `PDIR/main.cf`.
        path: PathBuf,
        /// The reason.
        source: postfix_maincf::EditError,
    },
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// What [`apply`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Files written (created or replaced), in the order written.
    pub written: Vec<PathBuf>,
    /// Stale tables removed.
    pub removed: Vec<PathBuf>,
    /// True when `main.cf` was rewritten.
    pub main_cf_changed: bool,
}

impl Applied {
    /// True when anything on disk changed (Postfix needs a reload).
    pub fn changed(&self) -> bool {
        !self.written.is_empty() || !self.removed.is_empty() || self.main_cf_changed
    }
}

/// Options of [`apply_with`].
#[derive(Default)]
pub struct ApplyOptions<'a> {
    /// Called before every step of every file write (fault injection, for
    /// tests; see [`fsutil::Hook`]).
    pub hook: Option<&'a dyn Hook>,
}

impl fmt::Debug for ApplyOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

/// Writes `rendered` into the Postfix directory `postfix_dir` (DMS:
/// `/etc/postfix`); see the [module docs](self). `postfix_dir/main.cf` must
/// exist.
pub fn apply(rendered: &Rendered, postfix_dir: &Path) -> Result<Applied, ApplyError> {
    apply_with(rendered, postfix_dir, &ApplyOptions::default())
}

/// [`apply`] with options (fault injection).
pub fn apply_with(
    rendered: &Rendered,
    postfix_dir: &Path,
    options: &ApplyOptions<'_>,
) -> Result<Applied, ApplyError> {
    let abs = std::path::absolute(postfix_dir).map_err(io_err(postfix_dir, "resolve"))?;
    let dir_str = reference_dir(&abs)?;
    let main_cf_params = main_cf_params(rendered, dir_str);
    // Checked before locking, which would create the directory.
    let main_cf_path = postfix_dir.join(MAIN_CF_FILE);
    fs::metadata(&main_cf_path).map_err(io_err(&main_cf_path, "read"))?;
    fsutil::with_lock(postfix_dir, || {
        let _postconf_lock = PostconfLock::acquire(&postfix_dir.join(MAIN_CF_FILE))?;
        apply_locked(rendered, &main_cf_params, postfix_dir, options)
    })
    .map_err(io_err(postfix_dir, "lock"))?
}

/// The directory as it may appear in `texthash:DIR/file`.
fn reference_dir(abs: &Path) -> Result<&str, ApplyError> {
    let bad = |reason| ApplyError::BadPostfixDir {
        path: abs.to_path_buf(),
        reason,
    };
    let s = abs.to_str().ok_or_else(|| bad("not valid UTF-8"))?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or a control character"));
    }
    if s.contains(['$', ',', '{', '}', '#']) {
        return Err(bad("contains '$', ',', '{', '}' or '#'"));
    }
    Ok(s)
}

/// The render's parameters, with the two table references pointing into
/// `dir`. Holds no table content (never a password).
fn main_cf_params(rendered: &Rendered, dir: &str) -> Rendered {
    let main_cf = rendered
        .main_cf
        .iter()
        .map(|(name, value)| {
            let file = match *name {
                render::SENDER_DEPENDENT_RELAYHOST_MAPS => Some(RELAYHOST_MAP_FILE),
                render::SMTP_SASL_PASSWORD_MAPS => Some(SASL_PASSWD_FILE),
                _ => None,
            };
            let value = match (file, value) {
                (Some(file), Some(_)) => Some(format!("texthash:{dir}/{file}")),
                _ => value.clone(),
            };
            (*name, value)
        })
        .collect();
    Rendered {
        relayhost_map: None,
        sasl_passwd: None,
        vhost: Vec::new(),
        main_cf,
        warnings: Vec::new(),
        relaying: rendered.relaying,
    }
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, ApplyError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, "read")(e)),
    }
}

fn apply_locked(
    rendered: &Rendered,
    params: &Rendered,
    pdir: &Path,
    options: &ApplyOptions<'_>,
) -> Result<Applied, ApplyError> {
    let mut out = Applied::default();
    let write = |path: &Path, bytes: &[u8], mode: u32| -> Result<(), ApplyError> {
        let mut w = AtomicWrite::new(path).mode(Some(mode));
        if let Some(h) = options.hook {
            w = w.hook(h);
        }
        w.write(bytes).map_err(io_err(path, "write"))
    };

    // Read main.cf first: without it there is nothing to configure.
    let main_cf_path = pdir.join(MAIN_CF_FILE);
    let main_cf_bytes = fs::read(&main_cf_path).map_err(io_err(&main_cf_path, "read"))?;

    // 1. Tables and vhost.
    let tables = [
        (RELAYHOST_MAP_FILE, rendered.relayhost_map.as_deref()),
        (SASL_PASSWD_FILE, rendered.sasl_passwd.as_deref()),
    ];
    for (name, bytes) in tables {
        let Some(bytes) = bytes else { continue };
        let path = pdir.join(name);
        let old = read_opt(&path)?;
        if let Ok(meta) = fs::metadata(&path)
            && meta.mode() & 0o7777 != TABLE_MODE
        {
            // Narrow first, so the new content is never readable by others.
            fs::set_permissions(&path, fs::Permissions::from_mode(TABLE_MODE))
                .map_err(io_err(&path, "chmod"))?;
        }
        if old.as_deref() != Some(bytes) {
            write(&path, bytes, TABLE_MODE)?;
            out.written.push(path);
        }
    }
    let vhost_path = pdir.join(VHOST_FILE);
    if read_opt(&vhost_path)?.as_deref() != Some(rendered.vhost.as_slice()) {
        write(&vhost_path, &rendered.vhost, VHOST_MODE)?;
        out.written.push(vhost_path);
    }

    // 2. main.cf.
    let mut cf = MainCf::from_vec(main_cf_bytes);
    let changed = render::main_cf_apply(&mut cf, params).map_err(|source| ApplyError::MainCf {
        path: main_cf_path.clone(),
        source,
    })?;
    if changed {
        let mut w = AtomicWrite::new(&main_cf_path);
        if let Some(h) = options.hook {
            w = w.hook(h);
        }
        w.write(&cf.to_bytes())
            .map_err(io_err(&main_cf_path, "write"))?;
        out.main_cf_changed = true;
    }

    // 3. Stale tables.
    for (name, bytes) in tables {
        if bytes.is_some() {
            continue;
        }
        let path = pdir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => out.removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path, "remove")(e)),
        }
    }
    if !out.removed.is_empty() {
        fs::File::open(pdir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(pdir, "sync"))?;
    }
    Ok(out)
}

/// Postfix's editing lock, as `postconf -e` takes it (`util/edit_file.c`):
/// an exclusive `flock` on `main.cf.tmp`, re-opened when the file was
/// renamed or removed while we waited. Dropping it removes `main.cf.tmp`
/// (postconf renames its own over `main.cf`) and releases the lock.
struct PostconfLock {
    path: PathBuf,
    file: fs::File,
}

impl PostconfLock {
    fn acquire(main_cf: &Path) -> Result<Self, ApplyError> {
        let mut name = main_cf.as_os_str().to_owned();
        name.push(".tmp");
        let path = PathBuf::from(name);
        loop {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(io_err(&path, "open lock"))?;
            file.lock().map_err(io_err(&path, "lock"))?;
            let mine = file.metadata().map_err(io_err(&path, "stat"))?;
            match fs::metadata(&path) {
                Ok(m) if m.ino() == mine.ino() && m.dev() == mine.dev() => {
                    return Ok(PostconfLock { path, file });
                }
                _ => continue,
            }
        }
    }
}

impl Drop for PostconfLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::RelayEnv;
    use crate::fsutil::{Fault, Step};
    use crate::render::{Sources, render};
    use std::sync::Mutex;

    const STOCK: &str = "relayhost =\nsmtp_tls_security_level = may\nmyhostname = mail.test\n";

    fn pdir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join(MAIN_CF_FILE), STOCK).unwrap();
        d
    }

    fn rendered(env: &RelayEnv, relaymap: Option<&[u8]>, sasl: Option<&[u8]>) -> Rendered {
        let domains = vec!["alpha.test".to_string(), "beta.test".to_string()];
        render(
            env,
            &Sources {
                relaymap,
                sasl_password: sasl,
                domains: &domains,
            },
        )
        .unwrap()
    }

    fn full() -> Rendered {
        rendered(
            &RelayEnv::new()
                .with_relay_host("smtp.relay.test")
                .with_relay_user("u")
                .with_relay_password("Env-Canary-pw"),
            Some(b"@gamma.test [x.test]:587\n"),
            Some(b"@gamma.test g:Table-Canary-pw\n"),
        )
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// The visible files, with the directory's path replaced by `PDIR`.
    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let abs = std::path::absolute(dir).unwrap();
        let abs = abs.to_str().unwrap();
        let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    String::from_utf8(fs::read(e.path()).unwrap())
                        .unwrap()
                        .replace(abs, "PDIR")
                        .into_bytes(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_tables_0600_and_points_main_cf_into_pdir() {
        let d = pdir();
        let r = full();
        let report = apply(&r, d.path()).unwrap();
        assert!(report.changed());
        let abs = std::path::absolute(d.path()).unwrap();
        for (name, want) in [
            (RELAYHOST_MAP_FILE, r.relayhost_map.clone().unwrap()),
            (SASL_PASSWD_FILE, r.sasl_passwd.clone().unwrap()),
        ] {
            let p = d.path().join(name);
            assert_eq!(fs::read(&p).unwrap(), want);
            assert_eq!(mode(&p), 0o600, "{name}");
        }
        assert_eq!(fs::read(d.path().join(VHOST_FILE)).unwrap(), r.vhost);
        let cf = MainCf::parse(&fs::read(d.path().join(MAIN_CF_FILE)).unwrap());
        assert_eq!(
            cf.get_str("sender_dependent_relayhost_maps").unwrap(),
            format!("texthash:{}/relayhost_map", abs.display())
        );
        assert_eq!(
            cf.get_str("smtp_sasl_password_maps").unwrap(),
            format!("texthash:{}/sasl_passwd", abs.display())
        );
        // Untouched parameter and no leftovers (lock files aside).
        assert_eq!(cf.get_str("myhostname").unwrap(), "mail.test");
        assert!(!d.path().join("main.cf.tmp").exists());
        // Second run: nothing to do.
        let again = apply(&r, d.path()).unwrap();
        assert!(!again.changed(), "{again:?}");
    }

    #[test]
    fn keeps_main_cf_mode_and_narrows_table_modes() {
        let d = pdir();
        let main_cf = d.path().join(MAIN_CF_FILE);
        fs::set_permissions(&main_cf, fs::Permissions::from_mode(0o640)).unwrap();
        fs::write(d.path().join(SASL_PASSWD_FILE), "old").unwrap();
        fs::set_permissions(
            d.path().join(SASL_PASSWD_FILE),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        fs::write(d.path().join(VHOST_FILE), "old\n").unwrap();
        fs::set_permissions(d.path().join(VHOST_FILE), fs::Permissions::from_mode(0o640)).unwrap();
        apply(&full(), d.path()).unwrap();
        assert_eq!(mode(&main_cf), 0o640);
        assert_eq!(mode(&d.path().join(SASL_PASSWD_FILE)), 0o600);
        assert_eq!(mode(&d.path().join(VHOST_FILE)), 0o640);
        assert_eq!(mode(&d.path().join(RELAYHOST_MAP_FILE)), 0o600);
    }

    #[test]
    fn convergence_removes_stale_tables_and_parameters() {
        let d = pdir();
        apply(&full(), d.path()).unwrap();
        let none = rendered(&RelayEnv::new(), None, None);
        let report = apply(&none, d.path()).unwrap();
        assert_eq!(report.removed.len(), 2);
        assert!(!d.path().join(RELAYHOST_MAP_FILE).exists());
        assert!(!d.path().join(SASL_PASSWD_FILE).exists());
        // Same main.cf as applying `none` to the stock file directly.
        let fresh = pdir();
        apply(&none, fresh.path()).unwrap();
        assert_eq!(
            fs::read(d.path().join(MAIN_CF_FILE)).unwrap(),
            fs::read(fresh.path().join(MAIN_CF_FILE)).unwrap()
        );
        assert_eq!(
            fs::read(d.path().join(MAIN_CF_FILE)).unwrap(),
            STOCK.as_bytes()
        );
    }

    #[test]
    fn missing_main_cf_is_an_error_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let err = apply(&full(), d.path()).unwrap_err();
        assert!(err.to_string().contains("main.cf"), "{err}");
        assert!(snapshot(d.path()).is_empty());
    }

    #[test]
    fn bad_postfix_dir_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("a b");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join(MAIN_CF_FILE), STOCK).unwrap();
        assert!(matches!(
            apply(&full(), &sub),
            Err(ApplyError::BadPostfixDir { .. })
        ));
    }

    #[test]
    fn errors_never_show_passwords() {
        let d = tempfile::tempdir().unwrap();
        let err = apply(&full(), d.path()).unwrap_err();
        // (Distinctive passwords: a temporary directory's random name may
        // well contain "pw".)
        let text = format!("{err} {err:?}");
        assert!(!text.contains("Canary"), "{text}");
    }

    /// A failure at any write step leaves every file with its old or its
    /// new content, and a second run converges.
    #[test]
    fn faults_leave_old_or_new_files() {
        let first = rendered(
            &RelayEnv::new().with_relay_host("old.relay.test"),
            None,
            Some(b"@alpha.test a:old\n"),
        );
        let second = full();
        // Count the steps of a clean run.
        let count = Mutex::new(0usize);
        let counter = |_: Step| -> Result<(), Fault> {
            *count.lock().unwrap() += 1;
            Ok(())
        };
        let probe = pdir();
        apply(&first, probe.path()).unwrap();
        apply_with(
            &second,
            probe.path(),
            &ApplyOptions {
                hook: Some(&counter),
            },
        )
        .unwrap();
        let total = *count.lock().unwrap();
        assert!(total > 10, "{total}");
        let want_new = snapshot(probe.path());
        for crash in [false, true] {
            for n in 0..total {
                let d = pdir();
                apply(&first, d.path()).unwrap();
                let old = snapshot(d.path());
                let seen = Mutex::new(0usize);
                let hook = |_: Step| -> Result<(), Fault> {
                    let mut s = seen.lock().unwrap();
                    *s += 1;
                    if *s == n + 1 {
                        if crash {
                            return Err(Fault::Crash);
                        }
                        return Err(Fault::Fail(io::Error::other("injected")));
                    }
                    Ok(())
                };
                let r = apply_with(&second, d.path(), &ApplyOptions { hook: Some(&hook) });
                assert!(r.is_err(), "step {n}");
                let now = snapshot(d.path());
                for (name, bytes) in &now {
                    let was = old.iter().find(|(n, _)| n == name).map(|(_, b)| b);
                    let will = want_new.iter().find(|(n, _)| n == name).map(|(_, b)| b);
                    assert!(
                        Some(bytes) == was || Some(bytes) == will,
                        "step {n} crash {crash}: {name} is neither old nor new"
                    );
                }
                apply(&second, d.path()).unwrap();
                assert_eq!(snapshot(d.path()), want_new, "step {n}: converges");
            }
        }
    }

    #[test]
    fn concurrent_postconf_lock_is_taken() {
        // Holding main.cf.tmp's lock makes apply wait.
        let d = pdir();
        let tmp = d.path().join("main.cf.tmp");
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&tmp)
            .unwrap();
        f.lock().unwrap();
        let path = d.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let r = apply(&full(), &path).map(|a| a.changed());
            tx.send(()).unwrap();
            r.unwrap()
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err()
        );
        // Like postconf: rename our temp file away, then unlock.
        fs::remove_file(&tmp).unwrap();
        f.unlock().unwrap();
        assert!(t.join().unwrap());
    }
}
