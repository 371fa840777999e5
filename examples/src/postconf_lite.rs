//! The `postconf-lite` command, as a function over explicit arguments and
//! streams so that tests can drive it without spawning processes.

use std::io::Write;
use std::path::{Path, PathBuf};

use postfix_maincf::postconf::{Message, ShowOptions, show_to};
use postfix_maincf::{EditMode, MainCf};

use crate::edit_file_locked;

const PROG: &str = "postconf-lite";

/// Usage text.
pub const USAGE: &str = "usage: postconf-lite [-c DIR] [-n] [-h] [-x] [NAME...]
       postconf-lite [-c DIR] -e 'name = value'... | 'name=value'...
       postconf-lite [-c DIR] -X NAME... | -# NAME...
       postconf-lite [-c DIR] --raw [NAME...]";

/// Standard streams of one run.
pub struct Io<'a> {
    /// Output.
    pub stdout: &'a mut dyn Write,
    /// Warnings and errors.
    pub stderr: &'a mut dyn Write,
}

#[derive(Default)]
struct Flags {
    config_dir: Option<Vec<u8>>,
    nondefault: bool,
    hide_name: bool,
    expand: bool,
    edit: Option<EditMode>,
    edit_flags: Vec<char>,
    raw: bool,
    names: Vec<Vec<u8>>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses postconf-style options: clustered single-letter flags (`-nx`),
/// `-c DIR` or `-cDIR`, `--` to end options, and `--raw`.
fn parse(args: &[Vec<u8>]) -> Result<Flags, String> {
    let mut f = Flags::default();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg == b"--" {
            break;
        }
        if arg == b"--raw" {
            f.raw = true;
            continue;
        }
        if arg.len() < 2 || arg.first() != Some(&b'-') {
            i -= 1;
            break;
        }
        let mut j = 1;
        while let Some(&c) = arg.get(j) {
            j += 1;
            match c {
                b'c' => {
                    let rest = arg.get(j..).unwrap_or_default();
                    let dir = if rest.is_empty() {
                        let v = args.get(i).ok_or("option requires an argument -- 'c'")?;
                        i += 1;
                        v.clone()
                    } else {
                        rest.to_vec()
                    };
                    f.config_dir = Some(dir);
                    break;
                }
                b'n' => f.nondefault = true,
                b'h' => f.hide_name = true,
                b'x' => f.expand = true,
                b'e' => {
                    f.edit = Some(EditMode::Set);
                    f.edit_flags.push('e');
                }
                b'X' => {
                    f.edit = Some(EditMode::Remove);
                    f.edit_flags.push('X');
                }
                b'#' => {
                    f.edit = Some(EditMode::CommentOut);
                    f.edit_flags.push('#');
                }
                other => return Err(format!("invalid option -- '{}'", other as char)),
            }
        }
    }
    f.names = args.get(i..).unwrap_or_default().to_vec();
    // postconf: a first argument with '=' implies -e.
    if f.names.first().is_some_and(|a| a.contains(&b'=')) && !f.edit_flags.contains(&'e') {
        f.edit_flags.push('e');
        if f.edit.is_none() {
            f.edit = Some(EditMode::Set);
        }
    }
    // postconf's mutually exclusive option groups, named in its table order.
    let set = |c: char| match c {
        'n' => f.nondefault,
        'x' => f.expand,
        c => f.edit_flags.contains(&c),
    };
    for group in [['e', '#', 'n', 'X'], ['e', '#', 'x', 'X']] {
        let on: Vec<String> = group
            .iter()
            .filter(|&&c| set(c))
            .map(|c| format!("-{c}"))
            .collect();
        if on.len() > 1 {
            return Err(format!("specify one of {}", on.join(" ")));
        }
    }
    if f.edit.is_some() && (f.hide_name || f.raw) {
        return Err("-h and --raw cannot be combined with -e, -X or -#".into());
    }
    Ok(f)
}

/// Runs `postconf-lite` with `args` (without the program name) and returns
/// the exit status: 0 done, 1 fatal error (postconf's status for both
/// usage and configuration errors).
pub fn run(args: &[Vec<u8>], io: Io<'_>) -> u8 {
    let Io { stdout, stderr } = io;
    let mut fatal = |msg: &str| {
        let _ = writeln!(stderr, "{PROG}: fatal: {msg}");
        1
    };
    let flags = match parse(args) {
        Ok(f) => f,
        Err(e) => return fatal(&e),
    };
    let dir = match &flags.config_dir {
        Some(d) => s(d),
        None => std::env::var("MAIL_CONFIG").unwrap_or_else(|_| "/etc/postfix".into()),
    };
    let main_path = format!("{dir}/main.cf");
    if let Some(mode) = flags.edit {
        if flags.names.is_empty() {
            return fatal(USAGE);
        }
        return edit(&main_path, mode, &flags.names, stderr);
    }
    let cf = match MainCf::load(&main_path) {
        Ok(cf) => cf,
        Err(e) => return fatal(&format!("open {main_path}: {}", io_error(&e))),
    };
    if flags.raw {
        return raw(&cf, &flags.names, stdout, stderr);
    }
    let master_path = PathBuf::from(format!("{dir}/master.cf"));
    let master = read_master(&master_path, stderr);
    // The lines go to stdout as they are made (in large chunks).
    let shown = show_to(
        stdout,
        &dir,
        &cf,
        &master,
        &ShowOptions {
            nondefault: flags.nondefault,
            hide_name: flags.hide_name,
            expand: flags.expand,
            host: postfix_maincf::defaults::HostDefaults::from_system(),
        },
        &flags.names,
    );
    let out = match shown {
        Ok(out) => out,
        Err(e) => {
            let _ = writeln!(
                stderr,
                "{PROG}: fatal: write error on standard output: {}",
                io_error(&e)
            );
            return 1;
        }
    };
    let _ = stdout.flush();
    for m in &out.messages {
        let _ = match m {
            Message::Warning(t) => writeln!(stderr, "{PROG}: warning: {t}"),
            Message::Fatal(t) => writeln!(stderr, "{PROG}: fatal: {t}"),
        };
    }
    out.status
}

fn read_master(path: &Path, stderr: &mut dyn Write) -> Vec<u8> {
    match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            // postconf: PCF_WARN_ON_OPEN_ERROR.
            let _ = writeln!(
                stderr,
                "{PROG}: warning: open {}: {}",
                path.display(),
                io_error(&e)
            );
            Vec::new()
        }
    }
}

/// An I/O error as C's strerror words it (no "(os error N)" suffix).
fn io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn edit(path: &str, mode: EditMode, args: &[Vec<u8>], stderr: &mut dyn Write) -> u8 {
    let mut warnings = Vec::new();
    let outcome = edit_file_locked(Path::new(path), |old| {
        let Some(old) = old else {
            return Err(format!(
                "open {path} for reading: No such file or directory"
            ));
        };
        let mut cf = MainCf::from_vec(old);
        let report = cf
            .postconf_edit(mode, args)
            .map_err(|e| e.postconf_message())?;
        warnings = report.warnings;
        Ok(report.changed.then(|| cf.to_bytes()))
    });
    for w in &warnings {
        let _ = writeln!(stderr, "{PROG}: warning: {}", w.postconf_message(path));
    }
    match outcome {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            let _ = writeln!(stderr, "{PROG}: fatal: {msg}");
            1
        }
        Err(e) => {
            let _ = writeln!(stderr, "{PROG}: fatal: edit {path}: {}", io_error(&e));
            1
        }
    }
}

/// `--raw`: `name<TAB>value` with the stored bytes, escaped as the `.raw`
/// conformance files are (`\\ \t \r \n \v \f`, `\xNN`).
fn raw(cf: &MainCf, names: &[Vec<u8>], stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    let values = cf.values();
    let mut out = Vec::new();
    let mut line = |name: &[u8], value: &[u8]| {
        out.extend_from_slice(&escape(name));
        out.push(b'\t');
        out.extend_from_slice(&escape(value));
        out.push(b'\n');
    };
    if names.is_empty() {
        for (n, v) in &values {
            line(n, v);
        }
    } else {
        for n in names {
            match values.binary_search_by(|(k, _)| k.as_slice().cmp(n)) {
                Ok(i) => line(n, &values[i].1),
                Err(_) => {
                    let _ = writeln!(stderr, "{PROG}: warning: {}: not set in main.cf", s(n));
                }
            }
        }
    }
    let _ = stdout.write_all(&out);
    let _ = stdout.flush();
    0
}

fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.extend_from_slice(b"\\\\"),
            b'\t' => s.extend_from_slice(b"\\t"),
            b'\r' => s.extend_from_slice(b"\\r"),
            b'\n' => s.extend_from_slice(b"\\n"),
            0x0b => s.extend_from_slice(b"\\v"),
            0x0c => s.extend_from_slice(b"\\f"),
            0x20..=0x7e => s.push(b),
            _ => s.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    s
}
