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
    static DOUBLE_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
    let plain = value.first() != Some(&b' ')
        && value.last() != Some(&b' ')
        && memchr::memchr3(b'\t', b'\r', b'\n', value).is_none()
        && DOUBLE_SPACE.find(value).is_none();
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
    let mut stdout = Vec::new();
    match show_to(&mut stdout, config_dir, main, master_cf, options, names) {
        Ok(mut out) => {
            out.stdout = stdout;
            out
        }
        // Writing to a Vec does not fail.
        Err(_) => ShowOutput::default(),
    }
}

/// main.cf size from which [`show_to`] formats `-n` output on two threads.
const PARALLEL_PRINT_MIN: usize = 512 * 1024;

/// Parameters per piece when two threads format `-n` output (see
/// [`show_to`]): about 64 KiB of output for typical lines.
const PRINT_PIECE: usize = 640;

/// One output line: `name = value` (`value` alone with `hide_name`), the
/// value normalised.
fn format_line(name: &[u8], value: &[u8], hide_name: bool, buf: &mut Vec<u8>) {
    if !hide_name {
        buf.extend_from_slice(name);
        buf.extend_from_slice(b" =");
    }
    finish_line(value, hide_name, buf);
}

/// The value part of [`format_line`], after `name =`.
fn finish_line(value: &[u8], hide_name: bool, buf: &mut Vec<u8>) {
    let before = buf.len();
    if !hide_name {
        buf.push(b' ');
    }
    let start = buf.len();
    normalize_into(value, buf);
    if buf.len() == start {
        // An empty value prints as `name =`, without the space.
        buf.truncate(before);
    }
    buf.push(b'\n');
}

/// Output buffered before it goes to [`show_to`]'s writer.
const STREAM_CHUNK: usize = 64 * 1024;

/// [`show`], writing stdout to `stdout` as it is produced instead of
/// collecting it: the returned [`ShowOutput::stdout`] is empty. Nothing is
/// written when the run ends with a fatal error (as with [`show`]). Fails
/// only when writing fails.
pub fn show_to(
    stdout: &mut dyn std::io::Write,
    config_dir: &str,
    main: &MainCf,
    master_cf: &[u8],
    options: &ShowOptions,
    names: &[Vec<u8>],
) -> std::io::Result<ShowOutput> {
    let mut out = ShowOutput::default();
    let main_path = format!("{config_dir}/main.cf");
    let text = |b: &[u8]| printable_lossy(b, true);

    // 1. Reading main.cf and (2.) master.cf; `known` also holds the
    // effective main.cf values, sorted and indexed, and what postconf says
    // about main.cf's lines (found in the same pass).
    let known = Known::with_host(main, master_cf, options.host.clone());
    for d in known.main_cf_diagnostics() {
        if d.is_fatal() {
            return Ok(out.fatal(d.postconf_message(&main_path)));
        }
        out.messages
            .push(Message::Warning(d.postconf_message(&main_path)));
    }
    if let Some(e) = known.master_cf_error() {
        return Ok(out.fatal(format!(
            "file {config_dir}/master.cf: line {}: {}",
            e.line, e.message
        )));
    }
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
        return Ok(fail_expansion(out, &e, "macro processing error"));
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
            return Ok(fail_expansion(
                out,
                &e,
                "dictionary mail_dict: macro processing error",
            ));
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
    for (name, value, in_table, plain) in known.main_entries() {
        let builtin = in_table && known.is_builtin(name);
        if builtin && (defaults::is_read_only(name) || defaults::is_raw(name)) {
            continue;
        }
        if !plain && !crate::known::simple_scan(value, |_| {}) {
            for event in expand::scan(value).events {
                let ScanEvent::Warning(w) = event else {
                    continue;
                };
                if w.is_fatal() {
                    out.messages.push(Message::Fatal(w.postconf_message()));
                    out.stdout.clear();
                    out.status = 1;
                    return Ok(out);
                }
                out.messages.push(Message::Warning(w.postconf_message()));
            }
        }
        if (builtin || (in_table && known.is_service(name)))
            && !defaults::is_legacy(name)
            && let Err(e) = expand::expand(value, &with_defaults)
        {
            return Ok(fail_expansion(out, &e, "macro processing error"));
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

    // 5. Printing. Without `-x` nothing can fail any more: the lines go
    // to `stdout` as they are made; with `-x` an expansion error ends the
    // run before anything is written.
    let stream = !options.expand;
    let mut buf: Vec<u8> = Vec::with_capacity(if stream { STREAM_CHUNK + 4096 } else { 0 });
    let print = |name: &[u8],
                 value: &[u8],
                 buf: &mut Vec<u8>,
                 messages: &mut Vec<Message>|
     -> Result<(), ()> {
        if !options.hide_name {
            buf.extend_from_slice(name);
            buf.extend_from_slice(b" =");
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
                        messages.push(Message::Warning(w.postconf_message()));
                    }
                    return Err(());
                }
            }
        } else {
            value
        };
        finish_line(shown, options.hide_name, buf);
        Ok(())
    };
    // Hands full chunks of `buf` to `stdout` when streaming.
    let flush = |buf: &mut Vec<u8>, stdout: &mut dyn std::io::Write| -> std::io::Result<()> {
        if stream && buf.len() >= STREAM_CHUNK {
            stdout.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    };
    let default_of = |name: &[u8]| known.defaults().get(name).map(|v| v.into_owned());
    let messages = &mut out.messages;
    let mut failed = false;
    if names.is_empty() && options.nondefault && stream && main.src.len() >= PARALLEL_PRINT_MIN {
        // Nothing can fail: the parameters are cut into pieces of about
        // PRINT_PIECE lines; this thread formats and writes the even ones,
        // another formats the odd ones, which are written in order as they
        // come. Buffers go back and forth, so memory stays a few chunks
        // (fresh memory costs a page fault per 4 KiB).
        let pieces = known.shown_main_parts(known.main_len().div_ceil(PRINT_PIECE));
        let count = pieces.len();
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for (i, piece) in pieces.into_iter().enumerate() {
            if i % 2 == 0 {
                mine.push(piece);
            } else {
                theirs.push(piece);
            }
        }
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let hide_name = options.hide_name;
        std::thread::scope(|scope| -> std::io::Result<()> {
            scope.spawn(move || {
                for piece in theirs {
                    let mut out = free_rx.try_recv().unwrap_or_default();
                    for (name, value) in piece {
                        format_line(name, value, hide_name, &mut out);
                    }
                    if full_tx.send(out).is_err() {
                        // The writer stopped (a write failed).
                        return;
                    }
                }
            });
            // Owned here, so that returning early (a failed write) hangs
            // up on the formatter instead of leaving it blocked.
            let full_rx = full_rx;
            let mut mine = mine.into_iter();
            for i in 0..count {
                if i % 2 == 0 {
                    for (name, value) in mine.next().into_iter().flatten() {
                        format_line(name, value, options.hide_name, &mut buf);
                    }
                    stdout.write_all(&buf)?;
                    buf.clear();
                } else {
                    let Ok(mut piece) = full_rx.recv() else {
                        return Err(std::io::Error::other("formatting thread stopped"));
                    };
                    stdout.write_all(&piece)?;
                    piece.clear();
                    // The formatter may be done and gone: nothing to return to.
                    let _ = free_tx.send(piece);
                }
            }
            Ok(())
        })?;
    } else if names.is_empty() && options.nondefault {
        for (name, value) in known.shown_main_iter() {
            if print(name, value, &mut buf, messages).is_err() {
                failed = true;
                break;
            }
            flush(&mut buf, stdout)?;
        }
    } else if names.is_empty() {
        let mut all = known.all_names();
        all.sort_unstable();
        all.dedup();
        for name in &all {
            let value = match values.get(name.as_slice()) {
                Some(v) => print(name, v, &mut buf, messages),
                None => print(
                    name,
                    &default_of(name).unwrap_or_default(),
                    &mut buf,
                    messages,
                ),
            };
            if value.is_err() {
                failed = true;
                break;
            }
            flush(&mut buf, stdout)?;
        }
    } else {
        for name in names {
            if !known.is_known(name) {
                messages.push(Message::Warning(format!(
                    "{}: unknown parameter",
                    text(name)
                )));
                continue;
            }
            let printed = match values.get(name.as_slice()) {
                Some(v) => print(name, v, &mut buf, messages),
                None if options.nondefault => Ok(()),
                None => print(
                    name,
                    &default_of(name).unwrap_or_default(),
                    &mut buf,
                    messages,
                ),
            };
            if printed.is_err() {
                failed = true;
                break;
            }
            flush(&mut buf, stdout)?;
        }
    }
    if failed {
        return Ok(out.fatal("macro processing error".into()));
    }
    stdout.write_all(&buf)?;
    drop(buf);

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
    Ok(out)
}

/// The effective main.cf values, as `known` indexed them.
struct Values<'a>(&'a Known<'a>);

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

#[cfg(test)]
mod tests {
    use super::*;

    fn both(src: &[u8], options: &ShowOptions) -> (ShowOutput, Vec<u8>, ShowOutput) {
        let cf = MainCf::parse(src);
        let shown = show("/d", &cf, b"", options, &[]);
        let mut streamed = Vec::new();
        let out = show_to(&mut streamed, "/d", &cf, b"", options, &[]).unwrap();
        (shown, streamed, out)
    }

    /// `show_to` writes what `show` collects, also past one chunk, and
    /// nothing when the run fails.
    #[test]
    fn show_to_streams_show_output() {
        let mut src = b"q = v\nrelayhost =".to_vec();
        for i in 0..20_000 {
            src.extend_from_slice(format!(" $p{i:05}").as_bytes());
        }
        src.push(b'\n');
        for i in 0..20_000 {
            src.extend_from_slice(format!("p{i:05} = ${{q}}  x\t y {i}\n").as_bytes());
        }
        for options in [
            ShowOptions {
                nondefault: true,
                ..ShowOptions::default()
            },
            ShowOptions {
                nondefault: true,
                hide_name: true,
                ..ShowOptions::default()
            },
            ShowOptions {
                nondefault: true,
                expand: true,
                ..ShowOptions::default()
            },
        ] {
            let (shown, streamed, out) = both(&src, &options);
            assert!(streamed.len() > 2 * STREAM_CHUNK);
            assert_eq!(shown.stdout, streamed);
            assert!(out.stdout.is_empty());
            assert_eq!((shown.messages, shown.status), (out.messages, out.status));
        }
        // -x fails on a malformed value it prints: no output at all.
        let options = ShowOptions {
            nondefault: true,
            expand: true,
            ..ShowOptions::default()
        };
        let (shown, streamed, out) = both(b"a = $b\nb = ${c\nrelayhost = $a\n", &options);
        assert_eq!(shown.status, 1);
        assert!(shown.stdout.is_empty() && streamed.is_empty());
        assert_eq!(out.status, 1);
    }
}
