//! What `postconf [-n] [-h] [-x] [NAME…]` prints for a main.cf and
//! master.cf: the same lines on stdout and the same messages on stderr, in
//! postconf's order.
//!
//! This is the engine of the `postconf-lite` example; tools use it to show
//! a configuration exactly as an administrator knows it from postconf.
//!
//! The run follows Postfix 3.7's postconf:
//!
//! 1. read main.cf: its warnings, and the first fatal error ends the run;
//! 2. read master.cf (a malformed one is fatal);
//! 3. check a main.cf `compatibility_level` (its expanded value must be a
//!    level: `fatal: macro processing error`), then evaluate what postconf
//!    evaluates at start-up (`myhostname`, or
//!    `mydomain` when `myhostname` is not set, `inet_interfaces`,
//!    `mynetworks_style`, `inet_protocols`), with main.cf values only; a
//!    malformed `$` expression there ends the run with `fatal: dictionary
//!    mail_dict: macro processing error`;
//! 4. for every parameter in main.cf, in file order: warn about read-only
//!    assignments; scan its value (syntax warnings, `undefined parameter`
//!    for every reference to a name that is neither set nor known); for
//!    built-in and service parameters, expand the value (as postconf does
//!    for its database-client check), where a malformed expression ends the
//!    run with `fatal: macro processing error`;
//! 5. print the parameters (sorted by name, whitespace normalised), expanded
//!    with `-x`;
//! 6. warn about every main.cf and master.cf parameter nothing uses.
//!
//! Postconf emits the step-4 and step-6 warnings in its hash table's order,
//! which changes from run to run; here `undefined parameter` warnings come
//! after the other step-4 messages, and both groups are sorted.

use postfix_table::lines::printable_lossy;

use crate::MainCf;
use crate::defaults::{self, HostDefaults};
use crate::expand::{self, ScanEvent};
use crate::known::Known;

/// main.cf size from which [`show`] reads the diagnostics and the known
/// names on two threads.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// What to show (postconf's `-n`, `-h`, `-x`).
#[derive(Debug, Clone, Default)]
pub struct ShowOptions {
    /// `-n`: only parameters set in main.cf.
    pub nondefault: bool,
    /// `-h`: values without `name = `.
    pub hide_name: bool,
    /// `-x`: expand `$name` in values.
    pub expand: bool,
    /// Host-dependent defaults (`myhostname`, `mynetworks`, …).
    pub host: HostDefaults,
}

/// One line postconf writes to stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `postconf: warning: TEXT`.
    Warning(String),
    /// `postconf: fatal: TEXT`; the run stops (exit status 1).
    Fatal(String),
}

/// The outcome of [`show`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowOutput {
    /// What postconf prints on stdout (empty after a fatal error).
    pub stdout: Vec<u8>,
    /// What it prints on stderr, without the `postconf: ` prefix.
    pub messages: Vec<Message>,
    /// The exit status: 0, or 1 after a fatal error.
    pub status: u8,
}

impl ShowOutput {
    fn fatal(mut self, text: String) -> Self {
        self.messages.push(Message::Fatal(text));
        self.stdout.clear();
        self.status = 1;
        self
    }
}

/// postconf's output form of a value: every run of space, TAB, CR and LF
/// becomes one space, and the ends are trimmed (VT and FF are kept).
pub fn normalize(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    normalize_into(value, &mut out);
    out
}

/// [`normalize`], appending to `out`.
fn normalize_into(value: &[u8], out: &mut Vec<u8>) {
    // Most values need nothing: no TAB/CR/LF, no double space, no space at
    // either end.
    let plain = value.first() != Some(&b' ')
        && value.last() != Some(&b' ')
        && !value.windows(2).any(|w| {
            matches!(
                w,
                [b'\t' | b'\r' | b'\n', _] | [_, b'\t' | b'\r' | b'\n'] | [b' ', b' ']
            )
        });
    if plain {
        out.extend_from_slice(value);
        return;
    }
    let start = out.len();
    let mut pending = false;
    for &b in value {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            pending = out.len() > start;
        } else {
            if pending {
                out.push(b' ');
                pending = false;
            }
            out.push(b);
        }
    }
}

/// Runs postconf's show mode over `main` and the master.cf bytes, for a
/// configuration directory named `config_dir` (used in messages only).
/// `names` empty means every parameter.
pub fn show(
    config_dir: &str,
    main: &MainCf,
    master_cf: &[u8],
    options: &ShowOptions,
    names: &[Vec<u8>],
) -> ShowOutput {
    let mut out = ShowOutput::default();
    let main_path = format!("{config_dir}/main.cf");
    let text = |b: &[u8]| printable_lossy(b, true);

    // 1. Reading main.cf, while (2.) master.cf and the names postconf
    // knows are worked out on a second thread (`known` also holds the
    // effective main.cf values, sorted and indexed).
    let build_known = || Known::try_new_with_host(main, master_cf, options.host.clone());
    let (diagnostics, known) = if main.src.len() < PARALLEL_MIN_BYTES {
        (main.diagnostics(), build_known())
    } else {
        std::thread::scope(|scope| {
            let known = scope.spawn(build_known);
            let diagnostics = main.diagnostics();
            let known = known.join().unwrap_or_else(|_| build_known());
            (diagnostics, known)
        })
    };
    for d in diagnostics {
        if d.is_fatal() {
            return out.fatal(d.postconf_message(&main_path));
        }
        out.messages
            .push(Message::Warning(d.postconf_message(&main_path)));
    }
    let known = match known {
        Ok(k) => k,
        Err(e) => {
            return out.fatal(format!(
                "file {config_dir}/master.cf: line {}: {}",
                e.line, e.message
            ));
        }
    };
    let values = Values(&known);

    let with_defaults = |name: &[u8]| -> Option<Vec<u8>> {
        if let Some(v) = values.get(name) {
            return Some(v.to_vec());
        }
        if known.is_known(name) {
            return known.defaults().get(name).map(|v| v.into_owned());
        }
        None
    };
    // 3. Start-up checks: a main.cf compatibility_level must be a level
    // (its expanded value), then what postconf evaluates through the
    // main.cf dictionary.
    if values.contains_key(&b"compatibility_level"[..])
        && let Err(e) = expand::expand(b"${{$compatibility_level} <level {0}}", &with_defaults)
    {
        return fail_expansion(out, &e, "macro processing error");
    }
    let main_only = |name: &[u8]| values.get(name).map(|v| v.to_vec());
    let mut startup: Vec<&[u8]> = Vec::new();
    if values.contains_key(&b"myhostname"[..]) {
        startup.push(b"myhostname");
    } else {
        startup.push(b"mydomain");
    }
    startup.extend([
        &b"inet_interfaces"[..],
        b"mynetworks_style",
        b"inet_protocols",
    ]);
    for name in startup {
        if let Some(v) = values.get(name)
            && let Err(e) = expand::expand(v, &main_only)
        {
            return fail_expansion(out, &e, "dictionary mail_dict: macro processing error");
        }
    }

    // 4. Read-only assignments, the scan, and the database-client expansion.
    for (name, value) in known.read_only_main() {
        out.messages.push(Message::Warning(format!(
            "{main_path}: read-only parameter assignment: {}={}",
            text(name),
            text(value)
        )));
    }
    // The names are flagged by `known` (which scans every value, the
    // defaults and the restriction classes exactly as postconf does); the
    // syntax warnings come from scanning the values that are not plain.
    // Default values are scanned too; only the computed ones (myhostname
    // and mydomain follow main.cf's mydomain) can hold a malformed `$`.
    for name in [&b"myhostname"[..], b"mydomain"] {
        if values.contains_key(name) {
            continue;
        }
        let Some(default) = known.defaults().get(name) else {
            continue;
        };
        if crate::known::simple_scan(&default, |_| {}) {
            continue;
        }
        for event in expand::scan(&default).events {
            if let ScanEvent::Warning(w) = event {
                out.messages.push(Message::Warning(w.postconf_message()));
            }
        }
    }
    for (name, value, in_table) in known.main_entries() {
        let builtin = in_table && known.is_builtin(name);
        if builtin && (defaults::is_read_only(name) || defaults::is_raw(name)) {
            continue;
        }
        if !crate::known::simple_scan(value, |_| {}) {
            for event in expand::scan(value).events {
                let ScanEvent::Warning(w) = event else {
                    continue;
                };
                if w.is_fatal() {
                    out.messages.push(Message::Fatal(w.postconf_message()));
                    out.stdout.clear();
                    out.status = 1;
                    return out;
                }
                out.messages.push(Message::Warning(w.postconf_message()));
            }
        }
        if (builtin || (in_table && known.is_service(name)))
            && !defaults::is_legacy(name)
            && let Err(e) = expand::expand(value, &with_defaults)
        {
            return fail_expansion(out, &e, "macro processing error");
        }
    }
    let mut undefined: Vec<String> = known
        .undefined()
        .map(|(master, n)| {
            let file = if master { "master.cf" } else { "main.cf" };
            format!("{config_dir}/{file}: undefined parameter: {}", text(n))
        })
        .collect();
    undefined.sort();
    out.messages
        .extend(undefined.into_iter().map(Message::Warning));

    // 5. Printing.
    let print = |name: &[u8], value: &[u8], out: &mut ShowOutput| -> Result<(), ()> {
        if !options.hide_name {
            out.stdout.extend_from_slice(name);
            out.stdout.extend_from_slice(b" =");
        }
        let expanded;
        let shown = if options.expand && !(defaults::is_raw(name) && known.is_builtin(name)) {
            match expand::expand(value, &with_defaults) {
                Ok(e) => {
                    expanded = e.value;
                    &expanded[..]
                }
                Err(e) => {
                    for w in &e.warnings {
                        out.messages.push(Message::Warning(w.postconf_message()));
                    }
                    return Err(());
                }
            }
        } else {
            value
        };
        let before = out.stdout.len();
        if !options.hide_name {
            out.stdout.push(b' ');
        }
        let start = out.stdout.len();
        normalize_into(shown, &mut out.stdout);
        if out.stdout.len() == start {
            // An empty value prints as `name =`, without the space.
            out.stdout.truncate(before);
        }
        out.stdout.push(b'\n');
        Ok(())
    };
    let default_of = |name: &[u8]| known.defaults().get(name).map(|v| v.into_owned());
    if names.is_empty() && options.nondefault {
        for (name, value) in known.shown_main_iter() {
            if print(name, value, &mut out).is_err() {
                return out.fatal("macro processing error".into());
            }
        }
    } else if names.is_empty() {
        let mut all = known.all_names();
        all.sort_unstable();
        all.dedup();
        for name in &all {
            let value = match values.get(name.as_slice()) {
                Some(v) => print(name, v, &mut out),
                None => print(name, &default_of(name).unwrap_or_default(), &mut out),
            };
            if value.is_err() {
                return out.fatal("macro processing error".into());
            }
        }
    } else {
        for name in names {
            if !known.is_known(name) {
                out.messages.push(Message::Warning(format!(
                    "{}: unknown parameter",
                    text(name)
                )));
                continue;
            }
            let printed = match values.get(name.as_slice()) {
                Some(v) => print(name, v, &mut out),
                None if options.nondefault => Ok(()),
                None => print(name, &default_of(name).unwrap_or_default(), &mut out),
            };
            if printed.is_err() {
                return out.fatal("macro processing error".into());
            }
        }
    }

    // 6. Unused parameters.
    let mut unused: Vec<String> = known
        .unused_main()
        .iter()
        .map(|(n, v)| format!("{main_path}: unused parameter: {}={}", text(n), text(v)))
        .collect();
    unused.sort();
    let mut unused_master: Vec<String> = known
        .unused_master()
        .iter()
        .map(|(_, n, v)| {
            format!(
                "{config_dir}/master.cf: unused parameter: {}={}",
                text(n),
                text(v)
            )
        })
        .collect();
    unused_master.sort();
    out.messages.extend(
        unused
            .into_iter()
            .chain(unused_master)
            .map(Message::Warning),
    );
    out
}

/// The effective main.cf values, as `known` indexed them.
struct Values<'a>(&'a Known);

impl Values<'_> {
    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.0.main_value(name)
    }

    fn contains_key(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }
}

fn fail_expansion(mut out: ShowOutput, e: &expand::ExpandError, fatal: &str) -> ShowOutput {
    let mut ended = false;
    for w in &e.warnings {
        if w.is_fatal() {
            out.messages.push(Message::Fatal(w.postconf_message()));
            ended = true;
        } else {
            out.messages.push(Message::Warning(w.postconf_message()));
        }
    }
    if ended {
        out.stdout.clear();
        out.status = 1;
        out
    } else {
        out.fatal(fatal.to_string())
    }
}
