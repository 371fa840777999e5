//! Crash safety with real processes: every writer is killed with SIGKILL at
//! random points, and after every kill each file it may touch still parses,
//! holds exactly its old or its new bytes and keeps its mode; leftover
//! temporary files and locks do not get in the way of the next writer.
//! Plus the many-writers test with mixed `setup-relay` commands, with and
//! without kills.
//!
//! **Writers** (one scenario each, in its own temporary directory on the
//! real file system, so that fsync takes real time; the scenarios run in
//! parallel threads):
//!
//! | scenario | commands | files |
//! |---|---|---|
//! | `setup-relay` | `add-domain`, `add-auth` (argv and stdin), `exclude-domain`, `include-domain`, `del-domain`, `del-auth` | `postfix-relaymap.cf` (~340 KB), `postfix-sasl-password.cf` (~340 KB, 0600) |
//! | `apply` | `setup-relay apply --postfix-dir` with three relay ENVs (`RELAY_PASSWORD`, `RELAY_PASSWORD__FILE`, `DEFAULT_RELAY_HOST` alone) | `main.cf` (~240 KB, 0640), `relayhost_map` (~50 KB), `sasl_passwd` (0600), `vhost` |
//! | `postmap-lite` | `--set` (with and without `--no-fsync`), `--opt-out`, `--delete` | a `sasl_passwd` table (~340 KB, 0600) |
//! | `postconf-lite` | `-e`, `-X` | `main.cf` (~480 KB, 0640) |
//! | `in-place` (root only) | `setup-relay` as another user (`setpriv`) on files it does not own: `fsutil::write_atomic` cannot keep their owner, so it rewrites them in place with a pending redo file (the fallback also taken for single-file bind mounts) | both config files (~170 KB, 0664/0660, owner kept) |
//!
//! **Old and new bytes:** each scenario has a cycle of commands that leads
//! back to its first state. The states are recorded by running the cycle
//! once unkilled (and it must close exactly), so the expected new bytes of
//! every command come from running that same command unkilled. Then, over
//! and over, the command due in the current state is started and killed
//! (SIGKILL). Half the kills come after a delay drawn uniformly from [0,
//! 1.15 × the command's run time] (measured once, then shortened when runs
//! finish before their kill and lengthened when they outlast it); as start-up, reading and
//! parsing take most of a debug build's run time, few of those land in a
//! write, so the other half wait until the process has put data into a
//! temporary file and then kill at a uniformly random point of the rest of
//! its measured run (the write window). After every kill:
//!
//! * every watched file is byte for byte its old or its new content (a
//!   missing file counts as content: `apply` removes stale tables), parses
//!   (`MainCf::parse_strict`; tables with no diagnostic but key-only
//!   lines), and has its mode (credential files 0600) and, in place, its
//!   owner. In place, a file may be partly written only while its pending
//!   file holds the complete new content; after the next locked access it
//!   must be old or new;
//! * for `apply`, main.cf never names a table that is not there;
//! * the directory lock (`.dms-relay.lock`) is free at once and
//!   `fsutil::with_lock` (which runs `fsutil::recover`) removes the killed
//!   process's temporary and pending files (which are never wider than
//!   their target's mode); postconf's lock (`main.cf.tmp`) is free;
//!   `postmap-lite`'s temporary files (random names, no lock, so nobody can
//!   tell a dead writer's from a live one's) are 0600, counted and removed;
//! * a kill between the files of `apply` leaves some new and some old; the
//!   same command run again (unkilled, with a timeout) converges to the new
//!   state. Otherwise the next command starts from what the kill left.
//!
//! Each kill that hit a live process is classified by what it left: nothing
//! changed and no temporary file (killed before writing: start-up, reading,
//! parsing, taking a lock), a temporary file created but empty, a temporary
//! (or pending) file with data (mid-write), some files new and some old
//! (between two files), a file partly rewritten in place, or every file
//! new (after the last rename). Runs that finished before the kill are not
//! counted as kills. The summary is printed (see it with `cargo nextest run
//! -p postfix-examples --test crash_safety --no-capture`).
//!
//! `CRASH_KILLS=N` (default 200: N/4 for each portable scenario, N/8 more
//! in place) sets how many kills must land; `CRASH_SEED=S` reuses a run's
//! random choices (the seed is printed; timing still varies). The crash
//! points of the in-place protocol are also covered one by one by the
//! fault-injection tests in `dms-relay/tests/store.rs`.

#[path = "support/bins.rs"]
mod bins;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use dms_relay::fsutil;

// ------------------------------------------------------------------ helpers

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(s) => s.parse().expect("CRASH_SEED: a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// One process to run: an example binary, its arguments, extra ENV and
/// what to feed its stdin.
#[derive(Clone)]
struct Cmd {
    prog: &'static str,
    args: Vec<OsString>,
    env: Vec<(String, OsString)>,
    stdin: Option<Vec<u8>>,
    /// Run as this uid and gid (through `setpriv`).
    run_as: Option<(u32, u32)>,
}

impl Cmd {
    fn new(prog: &'static str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Self {
        Cmd {
            prog,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            stdin: None,
            run_as: None,
        }
    }

    fn run_as(mut self, uid: u32, gid: u32) -> Self {
        self.run_as = Some((uid, gid));
        self
    }

    fn env(mut self, k: &str, v: impl Into<OsString>) -> Self {
        self.env.push((k.to_string(), v.into()));
        self
    }

    fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    fn show(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!("{} {}", self.prog, args.join(" "))
    }

    fn spawn(&self) -> Child {
        let mut c = bins::cmd(self.prog);
        if let Some((uid, gid)) = self.run_as {
            c = std::process::Command::new("setpriv");
            c.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("LC_ALL", "C")
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(bins::bin(self.prog));
        }
        c.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = c.spawn().expect("spawn");
        if let (Some(bytes), Some(mut pipe)) = (&self.stdin, child.stdin.take()) {
            // Small: fits in the pipe buffer, so this never blocks.
            let _ = pipe.write_all(bytes);
        }
        child
    }

    /// Runs to the end (at most 60 s: a writer that hangs on a lock fails
    /// the test) and returns the time it took.
    fn run(&self) -> Duration {
        let start = Instant::now();
        let mut child = self.spawn();
        let status = wait_timeout(&mut child, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("{}: still running after 60 s (deadlock?)", self.show()));
        assert!(status.success(), "{}: {status}", self.show());
        start.elapsed()
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    MainCf,
}

/// A file a scenario's writer may touch.
struct Watched {
    path: PathBuf,
    kind: Kind,
    mode: u32,
    /// The owner it must keep, when it matters.
    uid: Option<u32>,
}

/// The content of every watched file (`None`: missing).
type Snap = Vec<Option<Vec<u8>>>;

/// Metadata of the other files in the scenario's directories (temporary
/// and lock files), to see what a killed run left.
type Others = BTreeMap<PathBuf, Meta>;

/// Inode, length, mtime (s, ns).
type Meta = (u64, u64, i64, i64);

#[derive(Default, Clone, Copy)]
struct Counts {
    attempts: usize,
    finished: usize,
    before_write: usize,
    temp_empty: usize,
    temp_data: usize,
    between_files: usize,
    after_rename: usize,
    /// Killed during an in-place rewrite: the file partly written, its
    /// pending copy complete (finished by the next locked access).
    in_place_partial: usize,
    converged: usize,
    stale_temps_recovered: usize,
    postmap_temps: usize,
    /// Kills at a uniformly random time of the whole run, and how many of
    /// them landed mid-write.
    uniform: usize,
    uniform_mid_write: usize,
}

impl Counts {
    fn kills(&self) -> usize {
        self.before_write
            + self.temp_empty
            + self.temp_data
            + self.between_files
            + self.after_rename
            + self.in_place_partial
    }
    fn mid_write(&self) -> usize {
        self.temp_empty + self.temp_data + self.between_files + self.in_place_partial
    }
    fn add(&mut self, o: &Counts) {
        self.attempts += o.attempts;
        self.finished += o.finished;
        self.before_write += o.before_write;
        self.temp_empty += o.temp_empty;
        self.temp_data += o.temp_data;
        self.between_files += o.between_files;
        self.after_rename += o.after_rename;
        self.in_place_partial += o.in_place_partial;
        self.converged += o.converged;
        self.stale_temps_recovered += o.stale_temps_recovered;
        self.postmap_temps += o.postmap_temps;
        self.uniform += o.uniform;
        self.uniform_mid_write += o.uniform_mid_write;
    }
    fn line(&self, name: &str, elapsed: Duration) -> String {
        format!(
            "{name:<14} kills {:>5} | before write {:>5} | temp empty {:>4} | temp with data {:>5} | between files {:>4} | after rename {:>5} | in place, partial {:>4} || mid-write {:>5} ({:>3.0}%) | finished before kill {:>4} | converged {:>3} | stale temps recovered {:>4} | postmap temps {:>4} | uniform-time kills {:>4}, mid-write {:>4} | {:.1}s",
            self.kills(),
            self.before_write,
            self.temp_empty,
            self.temp_data,
            self.between_files,
            self.after_rename,
            self.in_place_partial,
            self.mid_write(),
            100.0 * self.mid_write() as f64 / self.kills().max(1) as f64,
            self.finished,
            self.converged,
            self.stale_temps_recovered,
            self.postmap_temps,
            self.uniform,
            self.uniform_mid_write,
            elapsed.as_secs_f64(),
        )
    }
}

struct Scenario {
    name: &'static str,
    _root: tempfile::TempDir,
    watched: Vec<Watched>,
    /// Directories to look for temporary files in.
    dirs: Vec<PathBuf>,
    /// Directories our writers lock with `fsutil::with_lock`.
    dms_dirs: Vec<PathBuf>,
    /// postconf's lock file (`main.cf.tmp`), when the writer takes it.
    postconf_lock: Option<PathBuf>,
    /// `postmap-lite` leaves random-named temporary files.
    postmap_temps: bool,
    /// The writer rewrites files in place (`fsutil`'s fallback).
    in_place: bool,
    cycle: Vec<Cmd>,
    /// `states[i]`: the state before `cycle[i]`.
    states: Vec<Snap>,
    /// Unkilled run time of `cycle[i]`.
    times: Vec<Duration>,
    /// When `cycle[i]` (unkilled) first created or changed a temporary
    /// file: the start of its write window.
    write_start: Vec<Duration>,
    pos: usize,
    counts: Counts,
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn write_mode(p: &Path, bytes: &[u8], mode: u32) {
    fs::write(p, bytes).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

impl Scenario {
    fn snap(&self) -> Snap {
        self.watched
            .iter()
            .map(|w| match fs::read(&w.path) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => panic!("{}: {e}", w.path.display()),
            })
            .collect()
    }

    fn others(&self) -> Others {
        let mut m = Others::new();
        for d in &self.dirs {
            for e in fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if self.watched.iter().any(|w| w.path == p) || !e.file_type().unwrap().is_file() {
                    continue;
                }
                if let Ok(md) = e.metadata() {
                    m.insert(p, (md.ino(), md.len(), md.mtime(), md.mtime_nsec()));
                }
            }
        }
        m
    }

    /// Runs the cycle once unkilled (after `prelude`), recording the states
    /// and run times; the cycle must lead back to its first state.
    fn record(&mut self, prelude: &[Cmd]) {
        for c in prelude {
            c.run();
        }
        self.states = vec![self.snap()];
        for i in 0..self.cycle.len() {
            let c = self.cycle[i].clone();
            let (total, first) = self.run_polled(&c);
            self.times.push(total);
            self.write_start.push(first.unwrap_or_default());
            let s = self.snap();
            assert!(
                s != self.states[i],
                "{}: {} changes nothing",
                self.name,
                c.show()
            );
            self.states.push(s);
        }
        let last = self.states.pop().unwrap();
        if last != self.states[0] {
            for (w, (a, b)) in self.watched.iter().zip(last.iter().zip(&self.states[0])) {
                if a != b {
                    let text = |x: &Option<Vec<u8>>| {
                        String::from_utf8_lossy(x.as_deref().unwrap_or(b"<missing>")).into_owned()
                    };
                    let (a, b) = (text(a), text(b));
                    let diff: Vec<(&str, &str)> = a
                        .lines()
                        .zip(b.lines())
                        .filter(|(x, y)| x != y)
                        .take(3)
                        .collect();
                    panic!(
                        "{}: the cycle does not close on {}: {diff:?} ({} vs {} lines)",
                        self.name,
                        w.path.display(),
                        a.lines().count(),
                        b.lines().count()
                    );
                }
            }
        }
        self.check_state(&self.states[0].clone(), "initial state");
    }

    /// The temporary files created or changed since `before`. postconf's
    /// lock file is also its temporary file: it counts once it holds data
    /// (empty, it is the lock, taken before reading).
    fn touched<'a>(&self, before: &Others, after: &'a Others) -> Vec<(&'a PathBuf, &'a Meta)> {
        after
            .iter()
            .filter(|(p, m)| before.get(*p) != Some(*m))
            .filter(|(p, m)| Some(*p) != self.postconf_lock.as_ref() || m.1 > 0)
            .collect()
    }

    /// Runs `cmd` to the end, watching for its first temporary file;
    /// returns the run time and when that file appeared.
    fn run_polled(&self, cmd: &Cmd) -> (Duration, Option<Duration>) {
        let before = self.others();
        let start = Instant::now();
        let mut child = cmd.spawn();
        let mut first = None;
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                assert!(st.success(), "{}: {st}", cmd.show());
                return (start.elapsed(), first);
            }
            if first.is_none() && !self.touched(&before, &self.others()).is_empty() {
                first = Some(start.elapsed());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{}: still running after 60 s (deadlock?)",
                cmd.show()
            );
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Every watched file parses and has its mode; cross-file checks.
    fn check_state(&self, now: &Snap, ctx: &str) {
        for (w, content) in self.watched.iter().zip(now) {
            let Some(bytes) = content else { continue };
            let what = format!("{}: {ctx}: {}", self.name, w.path.display());
            match w.kind {
                Kind::Table => {
                    // Only key-only lines (opt-outs) may draw a warning.
                    let t = postfix_table::Table::parse(bytes);
                    for d in t.diagnostics() {
                        assert!(
                            matches!(
                                d.kind,
                                postfix_table::DiagnosticKind::KeyWithoutValue { .. }
                            ),
                            "{what}: does not parse cleanly: {d}"
                        );
                    }
                    assert_eq!(&t.to_bytes(), bytes, "{what}");
                }
                Kind::MainCf => {
                    let cf = postfix_maincf::MainCf::parse_strict(bytes)
                        .unwrap_or_else(|e| panic!("{what}: {e}"));
                    // main.cf never names a table that is not there.
                    for (param, table) in [
                        ("smtp_sasl_password_maps", "sasl_passwd"),
                        ("sender_dependent_relayhost_maps", "relayhost_map"),
                    ] {
                        if let Some(v) = cf.get_str(param)
                            && let Some(path) = v.strip_prefix("texthash:")
                            && path.ends_with(table)
                        {
                            assert!(Path::new(path).exists(), "{what}: {param} = {v}: missing");
                        }
                    }
                }
            }
            assert_eq!(mode_of(&w.path), w.mode, "{what}: mode");
            if let Some(uid) = w.uid {
                assert_eq!(fs::metadata(&w.path).unwrap().uid(), uid, "{what}: owner");
            }
        }
    }

    /// One kill: runs the command due, kills it after a random delay and
    /// checks what it left.
    fn kill_once(&mut self, rng: &mut Rng, triggered: bool) {
        let n = self.cycle.len();
        let i = self.pos;
        let old = self.states[i].clone();
        let new = self.states[(i + 1) % n].clone();
        let cmd = self.cycle[i].clone();
        let before = self.others();
        let start = Instant::now();
        let mut child = cmd.spawn();
        let delay = if triggered {
            // A random point of the write window: wait for the first
            // temporary file, then up to the rest of the measured run.
            let window = self.times[i].saturating_sub(self.write_start[i]);
            let extra = window.mul_f64(1.1 * rng.unit());
            loop {
                if !self.touched(&before, &self.others()).is_empty()
                    || child.try_wait().unwrap().is_some()
                    || start.elapsed() > self.times[i] * 10 + Duration::from_secs(1)
                {
                    break;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            std::thread::sleep(extra);
            start.elapsed()
        } else {
            let delay = self.times[i].mul_f64(1.15 * rng.unit());
            std::thread::sleep(delay);
            delay
        };
        let _ = child.kill();
        let status = child.wait().unwrap();
        self.counts.attempts += 1;
        let now = self.snap();
        let ctx = format!("{} killed after {delay:?}", cmd.show());
        let mut partial = false;
        for (k, w) in self.watched.iter().enumerate() {
            if now[k] == old[k] || now[k] == new[k] {
                continue;
            }
            // Only the in-place rewrite may leave a file partly written,
            // and only with its complete new content in the pending file,
            // which the next locked access copies into place.
            let pending = fsutil::pending_path(&w.path);
            assert!(
                self.in_place && fs::read(&pending).ok() == new[k],
                "{}: {ctx}: {} is neither its old nor its new content",
                self.name,
                w.path.display()
            );
            partial = true;
        }
        if !partial {
            self.check_state(&now, &ctx);
        }
        let after = self.others();
        let touched = self.touched(&before, &after);
        if status.signal() == Some(9) {
            if !triggered && delay > self.times[i].mul_f64(0.9) {
                // Still running near the end of the measured run time:
                // lengthen it.
                self.times[i] = self.times[i].mul_f64(1.05);
            }
            let mid_before = self.counts.mid_write();
            if now == old {
                if touched.iter().any(|(_, m)| m.1 > 0) {
                    self.counts.temp_data += 1;
                } else if !touched.is_empty() {
                    self.counts.temp_empty += 1;
                } else {
                    self.counts.before_write += 1;
                }
            } else if now == new {
                self.counts.after_rename += 1;
            } else if partial {
                self.counts.in_place_partial += 1;
            } else {
                self.counts.between_files += 1;
            }
            if !triggered {
                self.counts.uniform += 1;
                self.counts.uniform_mid_write += self.counts.mid_write() - mid_before;
            }
        } else {
            assert!(status.success(), "{}: {ctx}: {status}", self.name);
            assert!(now == new, "{}: {ctx}: finished but not new", self.name);
            self.counts.finished += 1;
            // The run time measured at the start was too long (the load
            // changed): shorten it.
            self.times[i] = self.times[i].mul_f64(0.9);
        }
        self.after_kill(&ctx);
        // The files as the recovery left them: old or new, and whole.
        let now = self.snap();
        for (k, w) in self.watched.iter().enumerate() {
            assert!(
                now[k] == old[k] || now[k] == new[k],
                "{}: {ctx}: after recovery, {} is neither its old nor its new content",
                self.name,
                w.path.display()
            );
        }
        self.check_state(&now, &format!("{ctx}, after recovery"));
        if now == new {
            self.pos = (i + 1) % n;
        } else if now == old {
            self.pos = i;
        } else {
            // Between the files of a multi-file writer: running it again
            // converges.
            cmd.run();
            assert!(
                self.snap() == new,
                "{}: {ctx}: rerun did not converge",
                self.name
            );
            self.check_state(&new, &format!("{ctx}, then rerun"));
            self.counts.converged += 1;
            self.pos = (i + 1) % n;
        }
    }

    /// Locks are free, and the next locked access cleans up.
    fn after_kill(&mut self, ctx: &str) {
        for d in &self.dms_dirs {
            let stale = |d: &Path| -> Vec<String> {
                fs::read_dir(d)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".dms-relay-"))
                    .collect()
            };
            let left = stale(d);
            for name in &left {
                // A temporary file is 0600 until it is complete, then it
                // has its target's mode: never wider than the target.
                let target = name
                    .strip_prefix('.')
                    .and_then(|n| n.split_once(".dms-relay-"))
                    .map(|(t, _)| d.join(t));
                let target_mode = self
                    .watched
                    .iter()
                    .find(|w| Some(&w.path) == target.as_ref())
                    .map_or(0o600, |w| w.mode);
                let m = mode_of(&d.join(name));
                assert!(m == 0o600 || m == target_mode, "{ctx}: {name}: mode {m:o}");
            }
            // The lock must be free at once: the killed holder's flock went
            // with it.
            let dir = d.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(fsutil::with_lock(&dir, || ()).map_err(|e| e.to_string()));
            });
            let r = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("{}: {ctx}: lock still held", self.name));
            r.unwrap_or_else(|e| panic!("{}: {ctx}: with_lock: {e}", self.name));
            assert!(
                stale(d).is_empty(),
                "{}: {ctx}: recover left {:?}",
                self.name,
                stale(d)
            );
            self.counts.stale_temps_recovered += left.len();
        }
        if let Some(lock) = &self.postconf_lock
            && let Ok(f) = fs::OpenOptions::new().write(true).open(lock)
        {
            f.try_lock()
                .unwrap_or_else(|e| panic!("{}: {ctx}: {}: {e}", self.name, lock.display()));
            let _ = f.unlock();
        }
        if self.postmap_temps {
            for d in &self.dirs {
                for e in fs::read_dir(d).unwrap() {
                    let e = e.unwrap();
                    if e.file_name()
                        .to_string_lossy()
                        .starts_with(".postfix-edit.")
                    {
                        assert_eq!(mode_of(&e.path()), 0o600, "{ctx}: temp file mode");
                        fs::remove_file(e.path()).unwrap();
                        self.counts.postmap_temps += 1;
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------ fixtures

const N: usize = 8000;

fn relaymap(n: usize) -> String {
    let mut s = String::from("# relay map\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "@d{i}.example.test [smtp{}.relay.test]:587\n",
            i % 7
        ));
    }
    s
}

fn sasl(n: usize) -> String {
    let mut s = String::from("# credentials\n");
    for i in 0..n {
        s.push_str(&format!("@d{i}.example.test user{i}:pw-{i}-xyz\n"));
    }
    s
}

fn main_cf(n: usize) -> String {
    let mut s = String::from(
        "# main.cf\nrelayhost =\nsmtp_tls_security_level = may\nmyhostname = mail.example.test\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "custom_param_{i} = value number {i} with some padding text\n"
        ));
    }
    s
}

fn tmpdir() -> tempfile::TempDir {
    // The real file system (not tmpfs): fsync takes time, as in production.
    tempfile::tempdir().unwrap()
}

fn scenario(
    name: &'static str,
    root: tempfile::TempDir,
    watched: Vec<Watched>,
    dirs: Vec<PathBuf>,
    cycle: Vec<Cmd>,
) -> Scenario {
    Scenario {
        name,
        _root: root,
        watched,
        dirs,
        dms_dirs: Vec::new(),
        postconf_lock: None,
        postmap_temps: false,
        in_place: false,
        cycle,
        states: Vec::new(),
        times: Vec::new(),
        write_start: Vec::new(),
        pos: 0,
        counts: Counts::default(),
    }
}

fn setup_relay_scenario() -> Scenario {
    let root = tmpdir();
    let cfg = root.path().join("cfg");
    fs::create_dir(&cfg).unwrap();
    let rm = cfg.join("postfix-relaymap.cf");
    let sa = cfg.join("postfix-sasl-password.cf");
    write_mode(&rm, relaymap(N).as_bytes(), 0o644);
    write_mode(&sa, sasl(N).as_bytes(), 0o600);
    let c = |args: &[&str]| {
        let mut v: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--config-dir", &cfg];
        v.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        Cmd::new("setup-relay", &v)
    };
    let cycle = vec![
        c(&[
            "add-domain",
            "d4000.example.test",
            "smtp.other.test",
            "2525",
        ]),
        c(&["add-auth", "d4000.example.test", "user4000"]).stdin(b"other pw: B\n"),
        c(&["exclude-domain", "excl.test"]),
        c(&["exclude-domain", "d100.example.test"]),
        c(&["add-auth", "extra.test", "extrauser", "extra-pw"]),
        c(&["add-domain", "extra.test", "smtp.extra.test"]),
        c(&["del-domain", "extra.test"]),
        c(&["include-domain", "excl.test"]),
        c(&["add-domain", "d100.example.test", "smtp2.relay.test", "587"]),
        c(&["del-auth", "extra.test"]),
        c(&["add-auth", "d4000.example.test", "user4000", "pw-4000-xyz"]),
        c(&[
            "add-domain",
            "d4000.example.test",
            "smtp3.relay.test",
            "587",
        ]),
    ];
    let mut s = scenario(
        "setup-relay",
        root,
        vec![
            Watched {
                path: rm,
                kind: Kind::Table,
                mode: 0o644,
                uid: None,
            },
            Watched {
                path: sa,
                kind: Kind::Table,
                mode: 0o600,
                uid: None,
            },
        ],
        vec![cfg.clone()],
        cycle,
    );
    s.dms_dirs = vec![cfg];
    s.record(&[]);
    s
}

fn apply_scenario() -> Scenario {
    let root = tmpdir();
    let cfg = root.path().join("cfg");
    let pdir = root.path().join("pdir");
    fs::create_dir(&cfg).unwrap();
    fs::create_dir(&pdir).unwrap();
    fs::write(cfg.join("postfix-relaymap.cf"), relaymap(N / 8)).unwrap();
    let mut accounts = String::new();
    for i in 0..N / 16 {
        accounts.push_str(&format!("u{i}@v{i}.test|{{SHA512-CRYPT}}$6$salt$hash\n"));
    }
    fs::write(cfg.join("postfix-accounts.cf"), accounts).unwrap();
    let pwfile = root.path().join("relay-password");
    fs::write(&pwfile, "pw from a file\n").unwrap();
    write_mode(&pdir.join("main.cf"), main_cf(N / 2).as_bytes(), 0o640);
    let apply = || {
        Cmd::new(
            "setup-relay",
            &[&"--config-dir", &cfg, &"apply", &"--postfix-dir", &pdir],
        )
    };
    let a = apply()
        .env("RELAY_HOST", "a.relay.test")
        .env("RELAY_PORT", "587")
        .env("RELAY_USER", "ua")
        .env("RELAY_PASSWORD", "pw-a");
    let b = apply().env("DEFAULT_RELAY_HOST", "[b.relay.test]:2525");
    let b_again = b.clone();
    let c = apply()
        .env("RELAY_HOST", "c.relay.test")
        .env("RELAY_USER", "uc")
        .env("RELAY_PASSWORD__FILE", &pwfile);
    let watched = vec![
        Watched {
            path: pdir.join("main.cf"),
            kind: Kind::MainCf,
            mode: 0o640,
            uid: None,
        },
        Watched {
            path: pdir.join("relayhost_map"),
            kind: Kind::Table,
            mode: 0o600,
            uid: None,
        },
        Watched {
            path: pdir.join("sasl_passwd"),
            kind: Kind::Table,
            mode: 0o600,
            uid: None,
        },
        Watched {
            path: pdir.join("vhost"),
            kind: Kind::Table,
            mode: 0o644,
            uid: None,
        },
    ];
    let mut s = scenario(
        "apply",
        root,
        watched,
        vec![pdir.clone()],
        vec![a, b, c.clone()],
    );
    s.dms_dirs = vec![cfg, pdir.clone()];
    s.postconf_lock = Some(pdir.join("main.cf.tmp"));
    // B then C: main.cf's `relayhost` line as C leaves it after B.
    s.record(&[b_again, c]);
    s
}

fn postmap_scenario() -> Scenario {
    let root = tmpdir();
    let file = root.path().join("sasl_passwd");
    write_mode(&file, sasl(N).as_bytes(), 0o600);
    let c = |args: &[&str]| {
        let mut v: Vec<&dyn AsRef<std::ffi::OsStr>> = args
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        v.push(&file);
        Cmd::new("postmap-lite", &v)
    };
    let cycle = vec![
        c(&["--set", "@d4000.example.test", "user4000:changed pw"]),
        c(&["--set", "@appended.test", "app:pw"]),
        c(&["--opt-out", "@d100.example.test"]),
        c(&["--no-fsync", "--set", "@d7.example.test", "user7:other"]),
        c(&["--set", "@d100.example.test", "user100:pw-100-xyz"]),
        c(&["--delete", "@appended.test"]),
        c(&["--set", "@d7.example.test", "user7:pw-7-xyz"]),
        c(&["--set", "@d4000.example.test", "user4000:pw-4000-xyz"]),
    ];
    let mut s = scenario(
        "postmap-lite",
        root,
        vec![Watched {
            path: file.clone(),
            kind: Kind::Table,
            mode: 0o600,
            uid: None,
        }],
        vec![file.parent().unwrap().to_path_buf()],
        cycle,
    );
    s.postmap_temps = true;
    s.record(&[]);
    s
}

fn postconf_scenario() -> Scenario {
    let root = tmpdir();
    let dir = root.path().join("pc");
    fs::create_dir(&dir).unwrap();
    write_mode(&dir.join("main.cf"), main_cf(N).as_bytes(), 0o640);
    let c = |args: &[&str]| {
        let mut v: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"-c", &dir];
        v.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        Cmd::new("postconf-lite", &v)
    };
    let cycle = vec![
        c(&["-e", "myhostname = other.example.test"]),
        c(&["-e", "zz_new_param = 1", "custom_param_100 = changed"]),
        c(&["-X", "zz_new_param"]),
        c(&[
            "-e",
            "custom_param_100 = value number 100 with some padding text",
        ]),
        c(&["-e", "myhostname = mail.example.test"]),
    ];
    let mut s = scenario(
        "postconf-lite",
        root,
        vec![Watched {
            path: dir.join("main.cf"),
            kind: Kind::MainCf,
            mode: 0o640,
            uid: None,
        }],
        vec![dir.clone()],
        cycle,
    );
    s.postconf_lock = Some(dir.join("main.cf.tmp"));
    s.record(&[]);
    s
}

/// `setup-relay` as an unprivileged user (uid 65501, through `setpriv`)
/// on files another user owns (uid 65500, group-writable): the new file's
/// owner cannot be kept, so `fsutil::write_atomic` rewrites them in place
/// (its fallback, also taken for single-file bind mounts), with a pending
/// redo file. A kill mid-rewrite may leave a file partly written: then the
/// pending file must hold the complete new content, and the next locked
/// access must finish it. `None` when not root or without `setpriv`.
fn in_place_scenario() -> Option<Scenario> {
    const OWNER: u32 = 65500;
    const WRITER: u32 = 65501;
    const GROUP: u32 = 65500;
    let root_user = fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let setpriv = std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !root_user || !setpriv {
        println!("in-place scenario SKIPPED: needs root and setpriv(1)");
        return None;
    }
    let root = tmpdir();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = root.path().join("cfg");
    fs::create_dir(&cfg).unwrap();
    let rm = cfg.join("postfix-relaymap.cf");
    let sa = cfg.join("postfix-sasl-password.cf");
    write_mode(&rm, relaymap(N / 2).as_bytes(), 0o664);
    write_mode(&sa, sasl(N / 2).as_bytes(), 0o660);
    // The directory and its lock belong to the writer; the files do not.
    fs::write(cfg.join(fsutil::LOCK_FILE), "").unwrap();
    for (p, uid) in [
        (&cfg, WRITER),
        (&cfg.join(fsutil::LOCK_FILE), WRITER),
        (&rm, OWNER),
        (&sa, OWNER),
    ] {
        std::os::unix::fs::chown(p, Some(uid), Some(GROUP)).unwrap();
    }
    let c = |args: &[&str]| {
        let mut v: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--config-dir", &cfg];
        v.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        Cmd::new("setup-relay", &v).run_as(WRITER, GROUP)
    };
    let cycle = vec![
        c(&[
            "add-domain",
            "d2000.example.test",
            "smtp.other.test",
            "2525",
        ]),
        c(&["add-auth", "d2000.example.test", "user2000"]).stdin(b"other pw: B\n"),
        c(&["exclude-domain", "excl.test"]),
        c(&["add-auth", "extra.test", "extrauser", "extra-pw"]),
        c(&["include-domain", "excl.test"]),
        c(&["del-auth", "extra.test"]),
        c(&["add-auth", "d2000.example.test", "user2000", "pw-2000-xyz"]),
        c(&[
            "add-domain",
            "d2000.example.test",
            "smtp5.relay.test",
            "587",
        ]),
    ];
    let mut s = scenario(
        "in-place",
        root,
        vec![
            Watched {
                path: rm,
                kind: Kind::Table,
                mode: 0o664,
                uid: Some(OWNER),
            },
            Watched {
                path: sa,
                kind: Kind::Table,
                mode: 0o660,
                uid: Some(OWNER),
            },
        ],
        vec![cfg.clone()],
        cycle,
    );
    s.dms_dirs = vec![cfg];
    s.in_place = true;
    let inodes = |s: &Scenario| -> Vec<u64> {
        s.watched
            .iter()
            .map(|w| fs::metadata(&w.path).unwrap().ino())
            .collect()
    };
    let before = inodes(&s);
    s.record(&[]);
    // Rewritten in place: the same files (a rename would change them).
    assert_eq!(inodes(&s), before, "in-place scenario: files were replaced");
    Some(s)
}

// ------------------------------------------------------------------ tests

#[test]
fn sigkill_writers_at_random_points() {
    let total: usize = std::env::var("CRASH_KILLS")
        .ok()
        .map(|s| s.parse().expect("CRASH_KILLS: a number"))
        .unwrap_or(200);
    let seed = seed();
    println!("crash_safety: CRASH_SEED={seed} CRASH_KILLS={total}");
    let builders: [fn() -> Option<Scenario>; 5] = [
        || Some(setup_relay_scenario()),
        || Some(apply_scenario()),
        || Some(postmap_scenario()),
        || Some(postconf_scenario()),
        in_place_scenario,
    ];
    // The four portable scenarios share the total; the in-place one (root
    // only) adds half a share.
    let per = total.div_ceil(4);
    let start = Instant::now();
    // One thread per scenario (each in its own directories).
    let results: Vec<Option<(Counts, usize, String)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = builders
            .iter()
            .enumerate()
            .map(|(k, build)| {
                scope.spawn(move || {
                    let t0 = Instant::now();
                    let mut s = build()?;
                    let want = if s.in_place { per.div_ceil(2) } else { per };
                    let mut rng =
                        Rng::new(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    // Runs that finish before the kill do not count; give up
                    // (and fail below) if far too many do.
                    while s.counts.kills() < want && s.counts.attempts < want * 8 {
                        // Half the kills at a uniformly random time of the
                        // whole run, half in the write window.
                        let triggered = s.counts.attempts % 2 == 1;
                        s.kill_once(&mut rng, triggered);
                    }
                    let line = s.counts.line(s.name, t0.elapsed());
                    println!("{line}");
                    Some((s.counts, want, line))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sum = Counts::default();
    for (c, want, line) in results.iter().flatten() {
        sum.add(c);
        assert!(c.kills() >= *want, "too few kills landed: {line}");
    }
    let line = sum.line("total", start.elapsed());
    println!("{line}");
    eprintln!("{line}");
    assert!(sum.kills() >= total);
    // The kills must reach the writes, not only start-up.
    assert!(
        sum.mid_write() + sum.after_rename > 0,
        "no kill landed in or after a write"
    );
}

// ------------------------------------------------------------------ many writers

/// What `n` mixed `setup-relay` processes started at once are asked to do:
/// `add-domain`, `add-auth` (password on stdin), `exclude-domain` and
/// `del-domain` of a line that was there before.
fn mixed_commands(cfg: &Path, n: usize) -> Vec<Cmd> {
    (0..n)
        .map(|i| {
            let c = |args: &[&str]| {
                let mut v: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--config-dir", &cfg];
                v.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
                Cmd::new("setup-relay", &v)
            };
            match i % 4 {
                0 => c(&[
                    "add-domain",
                    &format!("m{i}.test"),
                    &format!("relay{i}.test"),
                    "587",
                ]),
                1 => c(&["add-auth", &format!("a{i}.test"), &format!("user{i}")])
                    .stdin(format!("pw {i}: x\n").as_bytes()),
                2 => c(&["exclude-domain", &format!("x{i}.test")]),
                _ => c(&["del-domain", &format!("pre{i}.test")]),
            }
        })
        .collect()
}

/// The line command `i` of [`mixed_commands`] adds (file, line), or
/// removes (`del-domain`).
fn mixed_effect(i: usize) -> (&'static str, String, bool) {
    match i % 4 {
        0 => (
            "postfix-relaymap.cf",
            format!("@m{i}.test [relay{i}.test]:587"),
            true,
        ),
        1 => (
            "postfix-sasl-password.cf",
            format!("@a{i}.test user{i}:pw {i}: x"),
            true,
        ),
        2 => ("postfix-relaymap.cf", format!("@x{i}.test "), true),
        _ => (
            "postfix-relaymap.cf",
            format!("@pre{i}.test [old.relay.test]:25"),
            false,
        ),
    }
}

/// Runs `n` mixed commands at once, SIGKILLs `kill` of them at random
/// moments, and checks: every process that finished did its part, every
/// killed one did all of it or nothing, nothing else changed, both files
/// parse, the credentials file is 0600, no temporary file survives the next
/// locked access, and the lock is free.
fn mixed_writers(n: usize, kill: usize) {
    let tmp = tmpdir();
    let cfg = tmp.path().join("cfg");
    fs::create_dir(&cfg).unwrap();
    let mut before = String::from("# pre-existing entries\n");
    for i in (0..n).filter(|i| i % 4 == 3) {
        before.push_str(&format!("@pre{i}.test [old.relay.test]:25\n"));
    }
    before.push_str("@keep.test [keep.relay.test]:25\n");
    fs::write(cfg.join("postfix-relaymap.cf"), &before).unwrap();
    let seed = seed();
    let mut rng = Rng::new(seed);
    let cmds = mixed_commands(&cfg, n);
    let mut to_kill = vec![false; n];
    while to_kill.iter().filter(|k| **k).count() < kill {
        to_kill[(rng.next() % n as u64) as usize] = true;
    }
    let start = Instant::now();
    let mut children: Vec<Child> = cmds.iter().map(Cmd::spawn).collect();
    if kill > 0 {
        // Kill in random order at random moments of the first 400 ms.
        let mut plan: Vec<(Duration, usize)> = (0..n)
            .filter(|&i| to_kill[i])
            .map(|i| (Duration::from_micros(rng.next() % 400_000), i))
            .collect();
        plan.sort();
        for (at, i) in plan {
            if let Some(rest) = at.checked_sub(start.elapsed()) {
                std::thread::sleep(rest);
            }
            let _ = children[i].kill();
        }
    }
    let mut killed = 0;
    let statuses: Vec<ExitStatus> = children
        .iter_mut()
        .map(|c| {
            wait_timeout(c, Duration::from_secs(120)).expect("a writer hung (lock never released?)")
        })
        .collect();
    let read = |name: &str| fs::read_to_string(cfg.join(name)).unwrap_or_default();
    let (relay, sasl) = (
        read("postfix-relaymap.cf"),
        read("postfix-sasl-password.cf"),
    );
    let mut want_relay: Vec<String> = before.lines().map(str::to_string).collect();
    let mut want_sasl: Vec<String> = Vec::new();
    for (i, st) in statuses.iter().enumerate() {
        let (file, line, adds) = mixed_effect(i);
        let text = if file == "postfix-relaymap.cf" {
            &relay
        } else {
            &sasl
        };
        let present = text.lines().any(|l| l == line);
        let done = if st.signal() == Some(9) {
            killed += 1;
            // All or nothing.
            present == adds
        } else {
            assert!(st.success(), "command {i}: {st}");
            assert_eq!(present, adds, "command {i} ({}) lost", cmds[i].show());
            true
        };
        let want = if file == "postfix-relaymap.cf" {
            &mut want_relay
        } else {
            &mut want_sasl
        };
        match (adds, done) {
            (true, true) => want.push(line),
            (false, true) => want.retain(|l| *l != line),
            _ => {}
        }
    }
    // Nothing else: exactly the lines expected, each once.
    for (name, text, want) in [
        ("postfix-relaymap.cf", &relay, &mut want_relay),
        ("postfix-sasl-password.cf", &sasl, &mut want_sasl),
    ] {
        let mut got: Vec<String> = text.lines().map(str::to_string).collect();
        got.sort();
        want.sort();
        assert_eq!(&got, want, "{name}");
        for d in postfix_table::Table::parse(text.as_bytes()).diagnostics() {
            assert!(
                matches!(
                    d.kind,
                    postfix_table::DiagnosticKind::KeyWithoutValue { .. }
                ),
                "{name}: {d}"
            );
        }
    }
    if !sasl.is_empty() {
        assert_eq!(mode_of(&cfg.join("postfix-sasl-password.cf")), 0o600);
    }
    // The lock is free and the next locked access leaves no temporary file.
    fsutil::with_lock(&cfg, || ()).unwrap();
    let left: Vec<String> = fs::read_dir(&cfg)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.contains(".dms-relay-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    println!(
        "{n} mixed writers, {killed} killed (CRASH_SEED={seed}): {:.2}s",
        start.elapsed().as_secs_f64()
    );
}

/// 60 processes at once, four kinds of command: no update is lost.
#[test]
fn sixty_mixed_concurrent_processes_lose_nothing() {
    mixed_writers(60, 0);
}

/// 60 processes at once, 15 of them killed at random moments (some while
/// they hold the lock): the others lose nothing and never hang.
#[test]
fn sixty_mixed_writers_with_kills() {
    mixed_writers(60, 15);
}
