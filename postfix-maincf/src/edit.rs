//! Editing with the semantics of `postconf -e`, `-X` and `-#`.
//!
//! An edit works on entries the way `postconf` does (Postfix 3.7,
//! `postconf/postconf_edit.c`): an entry is a line that starts in column 0
//! with something other than `#`, plus its continuation lines. Its *edit
//! key* is the first line up to the first space, TAB, CR, LF or `=`, and
//! matches a requested name byte for byte. Every entry with that key is
//! changed:
//!
//! | mode | the entry's first line | its continuation lines | comment and blank lines inside it |
//! |---|---|---|---|
//! | [`EditMode::Set`] (`-e`) | becomes `name = value` | dropped | kept, now after the new line |
//! | [`EditMode::Remove`] (`-X`) | dropped | dropped | kept |
//! | [`EditMode::CommentOut`] (`-#`) | prefixed with `#` | prefixed with `#` | kept |
//!
//! Names set but not found are appended at the end of the file, one
//! `name = value` line each, **in byte order of their names** (postconf
//! appends them in its hash table's order, which changes from run to run).
//! Every byte outside the changed entries is kept.
//!
//! Deliberate differences from postconf, all in the direction of losing
//! nothing:
//!
//! - **No final newline.** postconf glues an appended line onto the last
//!   line of the file (`myorigin = $mydomainrelayhost = …`). We end the
//!   last line first.
//! - **NUL bytes.** postconf handles lines as C strings, so an untouched
//!   line with a NUL byte loses the rest of the line, LF included, and is
//!   merged with the next one. We copy such lines whole. A line whose first
//!   non-blank byte is NUL is taken as the reader takes it (a new entry, or
//!   a continuation line when indented), where postconf takes it as a
//!   blank line.
//! - **CRLF.** postconf writes every new line with LF, leaving a CRLF file
//!   with mixed endings. A rewritten entry keeps the ending of its first
//!   line; an appended line takes the ending of the file's last line (LF
//!   when there is none).
//! - **VT and FF after a name.** postconf's edit key ends at space, TAB,
//!   CR, LF or `=`, but the reader ends a name at any whitespace, so
//!   postconf leaves `relayhost\v= x` in force after `-X relayhost`. We also
//!   match an entry whose key, cut at its first VT or FF, is the name.
//! - **`-X name` twice.** postconf crashes (it prints a null value in its
//!   "ignoring earlier request" warning); we warn `ignoring earlier request:
//!   'name'`.
//!
//! The raw entry point, [`MainCf::postconf_edit`], takes postconf's argument
//! strings and applies postconf's rules to them, including its errors. The
//! typed methods ([`MainCf::set`], [`MainCf::set_all`], [`MainCf::remove`],
//! [`MainCf::comment_out`]…) also refuse names and values that a reader
//! would not get back unchanged: see [`EditError`].
//!
//! ```
//! use postfix_maincf::MainCf;
//!
//! let mut cf = MainCf::parse(b"# relay\nrelayhost = old\n    continued\nmyorigin = x\n");
//! cf.set("relayhost", "[smtp.example.com]:587").unwrap();
//! cf.set_all([("smtp_tls_security_level", "encrypt"), ("smtp_sasl_auth_enable", "yes")]).unwrap();
//! cf.remove("myorigin").unwrap();
//! assert_eq!(
//!     cf.to_bytes(),
//!     b"# relay\nrelayhost = [smtp.example.com]:587\n\
//!       smtp_sasl_auth_enable = yes\nsmtp_tls_security_level = encrypt\n"
//! );
//! ```

use std::collections::HashMap;
use std::fmt;

use postfix_table::lines::{self, is_space, printable_lossy};

use crate::{Kind, MainCf, Node};

/// What an edit does to each entry whose name it requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditMode {
    /// `postconf -e`: replace every entry with `name = value`, or append one.
    Set,
    /// `postconf -X`: remove every entry.
    Remove,
    /// `postconf -#`: comment out every entry.
    CommentOut,
}

/// A warning from an edit, in postconf's words (see
/// [`EditWarning::postconf_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditWarning {
    /// The same name was requested twice; the later request wins.
    IgnoringEarlierRequest {
        /// The name.
        name: Vec<u8>,
        /// The earlier request's value (`None` for `-X` / `-#`).
        value: Option<Vec<u8>>,
    },
    /// The file has more than one entry for a requested name; all of them
    /// were changed.
    MultipleEntries {
        /// The name.
        name: Vec<u8>,
    },
}

impl EditWarning {
    /// The text postconf prints after `postconf: warning: `, for a main.cf
    /// at `path`.
    pub fn postconf_message(&self, path: &str) -> String {
        match self {
            EditWarning::IgnoringEarlierRequest {
                name,
                value: Some(v),
            } => format!(
                "ignoring earlier request: '{} = {}'",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(v)
            ),
            EditWarning::IgnoringEarlierRequest { name, value: None } => {
                format!(
                    "ignoring earlier request: '{}'",
                    String::from_utf8_lossy(name)
                )
            }
            EditWarning::MultipleEntries { name } => format!(
                "{path}: multiple entries for \"{}\"",
                String::from_utf8_lossy(name)
            ),
        }
    }
}

impl fmt::Display for EditWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning: {}", self.postconf_message("main.cf"))
    }
}

/// What an edit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditReport {
    /// Warnings, in the order postconf prints them.
    pub warnings: Vec<EditWarning>,
    /// Number of existing entries that matched a requested name.
    pub matched: usize,
    /// Number of `name = value` lines appended.
    pub appended: usize,
    /// True when the document's bytes changed.
    pub changed: bool,
}

/// Why an edit was refused. A refused edit changes nothing.
///
/// The first group are postconf's own refusals, with its wording (see
/// [`EditError::postconf_message`]); the rest are refused only by the typed
/// methods, because the stored value would not read back as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// An argument contains a newline.
    #[error("-e, -X, or -# accepts no multi-line input")]
    MultiLine,
    /// An argument starts with `#`.
    #[error("-e, -X, or -# accepts no comment input")]
    CommentInput,
    /// `-e` argument without a name before `=`.
    #[error("missing attribute name: \"{}\"", printable_lossy(.arg, true))]
    MissingName {
        /// The argument (after its leading whitespace).
        arg: Vec<u8>,
    },
    /// `-e` argument without `=` after the name (or with a space inside
    /// the name).
    #[error("missing '=' after attribute name: \"{}\"", printable_lossy(.arg, true))]
    MissingEquals {
        /// The argument (after its leading whitespace).
        arg: Vec<u8>,
    },
    /// `-X` / `-#` with an empty name.
    #[error("-X or -# requires non-blank parameter names")]
    BlankName,
    /// `-X` / `-#` with `name=value`.
    #[error("-X or -# requires parameter names without value")]
    NameWithValue,
    /// A NUL byte: no command-line argument can hold one.
    #[error("argument contains a NUL byte: \"{}\"", printable_lossy(.arg, true))]
    Nul {
        /// The argument up to its first `=` (the whole argument when it has
        /// none): a value is never repeated, it may be a secret.
        arg: Vec<u8>,
    },
    /// A name that main.cf cannot hold as given.
    #[error("invalid parameter name \"{}\": {reason}", printable_lossy(.name, true))]
    InvalidName {
        /// The name.
        name: Vec<u8>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value that main.cf cannot hold as given.
    #[error("invalid value for {}: {reason}", printable_lossy(.name, true))]
    InvalidValue {
        /// The parameter name.
        name: Vec<u8>,
        /// What is wrong with the value (the value itself is not repeated:
        /// it may be a secret).
        reason: &'static str,
    },
}

impl EditError {
    /// The text postconf prints after `postconf: fatal: ` (for the errors
    /// postconf has; ours are worded in the same style).
    pub fn postconf_message(&self) -> String {
        self.to_string()
    }
}

/// postconf edit key of every entry node -> the node positions, in file
/// order. An entry whose key contains VT or FF is also listed under the
/// key cut there (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct EditIndex {
    map: hashbrown::HashMap<Box<[u8]>, Vec<usize>>,
}

impl EditIndex {
    fn build(cf: &MainCf) -> Self {
        let mut index = EditIndex::default();
        for (i, node) in cf.nodes.iter().enumerate() {
            index.add(cf, i, node);
        }
        index
    }

    fn add(&mut self, cf: &MainCf, i: usize, node: &Node) {
        if node.kind != (Kind::Logical { orphan: false }) {
            return;
        }
        let key = edit_key(cf.node_bytes(node));
        self.map.entry(key.into()).or_default().push(i);
        if let Some(end) = key.iter().position(|&b| b == 0x0b || b == 0x0c) {
            let cut = key.get(..end).unwrap_or_default();
            self.map.entry(cut.into()).or_default().push(i);
        }
    }
}

/// One parsed request: a name and, for `Set`, its value.
type Request = (Vec<u8>, Option<Vec<u8>>);

/// postconf's argument handling: leading whitespace skipped, then
/// `split_nameval` for `-e`, trailing blanks trimmed for `-X` / `-#`.
fn parse_arg(mode: EditMode, arg: &[u8]) -> Result<Request, EditError> {
    if arg.contains(&b'\n') {
        return Err(EditError::MultiLine);
    }
    if arg.contains(&0) {
        // Name only: the value may be a password.
        let name = arg.split(|&b| b == b'=').next().unwrap_or_default();
        let end = name
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(0, |i| i + 1);
        let name = name.get(..end).unwrap_or_default();
        return Err(EditError::Nul { arg: name.to_vec() });
    }
    let start = arg.iter().position(|&b| !is_space(b)).unwrap_or(arg.len());
    let cp = arg.get(start..).unwrap_or_default();
    if cp.first() == Some(&b'#') {
        return Err(EditError::CommentInput);
    }
    match mode {
        EditMode::Set => match crate::split_nameval(cp) {
            crate::Split::Ok { name, value } => Ok((name.to_vec(), Some(value.to_vec()))),
            crate::Split::MissingName => Err(EditError::MissingName { arg: cp.to_vec() }),
            crate::Split::MissingEquals => Err(EditError::MissingEquals { arg: cp.to_vec() }),
        },
        EditMode::Remove | EditMode::CommentOut => {
            if cp.is_empty() {
                return Err(EditError::BlankName);
            }
            if cp.contains(&b'=') {
                return Err(EditError::NameWithValue);
            }
            // trimblanks(): trailing whitespace.
            let end = cp.iter().rposition(|&b| !is_space(b)).map_or(0, |i| i + 1);
            Ok((cp.get(..end).unwrap_or_default().to_vec(), None))
        }
    }
}

/// The typed API's name check: a name must read back as itself.
fn check_name(name: &[u8]) -> Result<(), EditError> {
    let bad = |reason| {
        Err(EditError::InvalidName {
            name: name.to_vec(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.first() == Some(&b'#') {
        return bad("starts with '#' (a comment)");
    }
    if name.iter().any(|&b| is_space(b)) {
        return bad("contains whitespace");
    }
    if name.contains(&b'=') {
        return bad("contains '='");
    }
    if name.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return bad("contains a control character");
    }
    Ok(())
}

/// The typed API's value check: a value must read back as itself (after
/// postconf's trimming of its ends, which the typed API applies too).
fn check_value(name: &[u8], value: &[u8]) -> Result<(), EditError> {
    let bad = |reason| {
        Err(EditError::InvalidValue {
            name: name.to_vec(),
            reason,
        })
    };
    if value.contains(&b'\n') {
        return bad("contains a newline");
    }
    if value.contains(&b'\r') {
        return bad("contains a carriage return");
    }
    if value.contains(&0) {
        return bad("contains a NUL byte");
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return bad("contains a control character");
    }
    if crate::expand::scan(value).error().is_some() {
        // postconf (and every daemon) would refuse the whole file.
        return bad("has a malformed $ expression (write $$ for a literal $)");
    }
    Ok(())
}

/// The edit key of an entry: its first line up to SP, TAB, CR, LF, `=`
/// (or NUL, where postconf's C string ends).
fn edit_key(entry: &[u8]) -> &[u8] {
    let end = entry
        .iter()
        .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'=' | 0))
        .unwrap_or(entry.len());
    entry.get(..end).unwrap_or_default()
}

/// True for a line postconf copies through untouched inside an entry: a
/// comment, blank or whitespace-only line. (postconf also counts a line
/// whose first non-blank byte is NUL; the reader takes it as a
/// continuation line, and so do we, so that a kept line can never join
/// the previous entry.)
fn is_pass_through(line: &[u8]) -> bool {
    matches!(line.iter().find(|&&b| !is_space(b)), None | Some(b'#'))
}

/// The line ending of `line` (which may lack one).
fn eol_of(line: &[u8]) -> Option<&'static [u8]> {
    if line.ends_with(b"\r\n") {
        Some(b"\r\n")
    } else if line.ends_with(b"\n") {
        Some(b"\n")
    } else {
        None
    }
}

/// Rewrites one matched entry.
fn rewrite(entry: &[u8], mode: EditMode, key: &[u8], value: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entry.len() + key.len() + value.len() + 4);
    let mut physical = entry.split_inclusive(|&b| b == b'\n');
    if let Some(first) = physical.next() {
        match mode {
            EditMode::Set => {
                out.extend_from_slice(key);
                out.extend_from_slice(b" = ");
                out.extend_from_slice(value);
                out.extend_from_slice(eol_of(first).unwrap_or(eol));
            }
            EditMode::Remove => {}
            EditMode::CommentOut => {
                out.push(b'#');
                out.extend_from_slice(first);
            }
        }
    }
    for line in physical {
        if is_pass_through(line) {
            out.extend_from_slice(line);
        } else if mode == EditMode::CommentOut {
            out.push(b'#');
            out.extend_from_slice(line);
        }
    }
    out
}

impl MainCf {
    /// Applies postconf arguments, exactly as `postconf -e ARGS…` (with
    /// [`EditMode::Set`]), `postconf -X ARGS…` or `postconf -# ARGS…` would,
    /// but for the differences listed in the [module docs](crate::edit).
    ///
    /// Arguments are taken as postconf takes them: `-e` arguments are
    /// `name = value` (whitespace around `=` optional, the value trimmed),
    /// `-X` / `-#` arguments are names. Nothing else is checked: like
    /// postconf, this writes any value, `$` syntax errors included. On an
    /// error nothing changes.
    pub fn postconf_edit<A: AsRef<[u8]>>(
        &mut self,
        mode: EditMode,
        args: &[A],
    ) -> Result<EditReport, EditError> {
        let mut requests = Vec::with_capacity(args.len());
        for arg in args {
            requests.push(parse_arg(mode, arg.as_ref())?);
        }
        Ok(self.apply(mode, requests))
    }

    /// Sets `name` to `value`, like `postconf -e 'name = value'`: every
    /// entry for `name` is replaced by one `name = value` line, or the line
    /// is appended. Leading and trailing whitespace of `value` is trimmed,
    /// as postconf does.
    ///
    /// Refuses (changing nothing) a name that is empty, starts with `#`, or
    /// contains whitespace, `=` or a control character, and a value with a
    /// newline, CR, NUL or another control character but TAB, or with a
    /// `$` expression postconf cannot parse (`costs 5$`: write `$$` for a
    /// literal `$`), which would make Postfix refuse the whole file.
    pub fn set(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<EditReport, EditError> {
        self.set_all([(name, value)])
    }

    /// Sets several parameters in one pass, like `postconf -e` with several
    /// arguments. Names not in the file are appended in byte order; a name
    /// given twice takes its last value (with postconf's warning). Refuses
    /// the whole batch, changing nothing, if any pair is refused by
    /// [`MainCf::set`]'s rules.
    pub fn set_all<I, N, V>(&mut self, pairs: I) -> Result<EditReport, EditError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut requests = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            check_name(name)?;
            check_value(name, value)?;
            requests.push((name.to_vec(), Some(lines::trim_space(value).to_vec())));
        }
        Ok(self.apply(EditMode::Set, requests))
    }

    /// Removes every entry for `name` with its continuation lines, like
    /// `postconf -X name`. Comment lines inside an entry stay. Removing an
    /// absent name changes nothing.
    pub fn remove(&mut self, name: impl AsRef<[u8]>) -> Result<EditReport, EditError> {
        self.remove_all([name])
    }

    /// [`MainCf::remove`] for several names in one pass.
    pub fn remove_all<I, N>(&mut self, names: I) -> Result<EditReport, EditError>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.names_edit(EditMode::Remove, names)
    }

    /// Comments out every entry for `name`, like `postconf -# name`: each
    /// of its lines gets a leading `#`.
    pub fn comment_out(&mut self, name: impl AsRef<[u8]>) -> Result<EditReport, EditError> {
        self.comment_out_all([name])
    }

    /// [`MainCf::comment_out`] for several names in one pass.
    pub fn comment_out_all<I, N>(&mut self, names: I) -> Result<EditReport, EditError>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        self.names_edit(EditMode::CommentOut, names)
    }

    fn names_edit<I, N>(&mut self, mode: EditMode, names: I) -> Result<EditReport, EditError>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        let mut requests = Vec::new();
        for name in names {
            let name = name.as_ref();
            check_name(name)?;
            requests.push((name.to_vec(), None));
        }
        Ok(self.apply(mode, requests))
    }

    /// The line ending new lines get when nothing nearer decides: the
    /// ending of the last terminated line, LF when there is none.
    fn file_eol(&self) -> &'static [u8] {
        for node in self.nodes.iter().rev() {
            let bytes = self.node_bytes(node);
            let Some(lf) = memchr::memrchr(b'\n', bytes) else {
                continue;
            };
            return if lf > 0 && bytes.get(lf - 1) == Some(&b'\r') {
                b"\r\n"
            } else {
                b"\n"
            };
        }
        b"\n"
    }

    /// The shared edit pass. `requests` are already validated.
    fn apply(&mut self, mode: EditMode, requests: Vec<Request>) -> EditReport {
        let mut report = EditReport::default();
        // Later requests win, with postconf's warning, in argument order.
        let mut table: HashMap<Vec<u8>, (Option<Vec<u8>>, usize)> =
            HashMap::with_capacity(requests.len());
        for (name, value) in requests {
            if let Some((old, _)) = table.remove(&name) {
                report.warnings.push(EditWarning::IgnoringEarlierRequest {
                    name: name.clone(),
                    value: old,
                });
            }
            table.insert(name, (value, 0));
        }
        if table.is_empty() {
            return report;
        }
        let eol = self.file_eol();
        let index = match self.edit_index.take() {
            Some(index) => index,
            None => EditIndex::build(self),
        };
        // The entries that may match, in file order.
        let mut candidates: Vec<usize> = table
            .keys()
            .filter_map(|name| index.map.get(name.as_slice()))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut replaced: Vec<(usize, Vec<u8>)> = Vec::new();
        for index in candidates {
            let Some(node) = self.nodes.get(index) else {
                continue;
            };
            let bytes = self.node_bytes(node);
            let mut key = edit_key(bytes);
            if !table.contains_key(key) {
                // The reader ends a name at VT and FF too; postconf's edit
                // key does not, and would leave `name\v= value` in force.
                match key.iter().position(|&b| b == 0x0b || b == 0x0c) {
                    Some(end) => key = key.get(..end).unwrap_or_default(),
                    None => continue,
                }
            }
            let Some((value, found)) = table.get_mut(key) else {
                continue;
            };
            *found += 1;
            if *found == 2 {
                report
                    .warnings
                    .push(EditWarning::MultipleEntries { name: key.to_vec() });
            }
            report.matched += 1;
            let text = rewrite(bytes, mode, key, value.as_deref().unwrap_or_default(), eol);
            if text.as_slice() != bytes {
                replaced.push((index, text));
            }
        }
        let replaced: Vec<(usize, Vec<Node>)> = replaced
            .into_iter()
            .map(|(i, text)| (i, self.owned_nodes(&text)))
            .collect();
        // The index stays valid while every rewritten entry is still one
        // entry node with the same key at the same position.
        let mut index = Some(index);
        if replaced
            .iter()
            .any(|(_, new)| new.len() != 1 || mode != EditMode::Set)
        {
            index = None;
        }
        report.changed = !replaced.is_empty();
        // Splice the rewritten entries in, back to front so indices hold.
        for (index, new_nodes) in replaced.into_iter().rev() {
            self.nodes.splice(index..=index, new_nodes);
        }
        if mode == EditMode::Set {
            let mut missing: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = table
                .iter()
                .filter(|(_, (_, found))| *found == 0)
                .map(|(name, (value, _))| (name, value))
                .collect();
            missing.sort();
            if !missing.is_empty() {
                self.end_last_line(eol);
                let mut text = Vec::new();
                for (name, value) in missing {
                    text.extend_from_slice(name);
                    text.extend_from_slice(b" = ");
                    text.extend_from_slice(value.as_deref().unwrap_or_default());
                    text.extend_from_slice(eol);
                    report.appended += 1;
                }
                let first_new = self.nodes.len();
                let new_nodes = self.owned_nodes(&text);
                self.nodes.extend(new_nodes);
                if let Some(index) = index.as_mut() {
                    for i in first_new..self.nodes.len() {
                        if let Some(node) = self.nodes.get(i) {
                            index.add(self, i, node);
                        }
                    }
                }
                report.changed = true;
            }
        }
        self.edit_index = index;
        self.compact_extra();
        report
    }

    /// Ends the file's last line (deliberate difference: postconf glues
    /// the next line onto it).
    fn end_last_line(&mut self, eol: &[u8]) {
        let Some(last) = self.nodes.last() else {
            return;
        };
        let bytes = self.node_bytes(last);
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return;
        }
        let mut text = bytes.to_vec();
        text.extend_from_slice(eol);
        let lf = self.lf_of(last) + 1;
        let (start, end) = self.push_extra(&text);
        if let Some(last) = self.nodes.last_mut() {
            last.lf = crate::lf_field(lf);
            last.start = start;
            last.end = end;
        }
    }

    /// Appends `text` to the edit buffer; returns its span.
    fn push_extra(&mut self, text: &[u8]) -> (usize, usize) {
        let start = self.src.len() + self.extra.len();
        self.extra.extend_from_slice(text);
        (start, start + text.len())
    }

    /// Nodes for new text, their bytes in the edit buffer.
    fn owned_nodes(&mut self, text: &[u8]) -> Vec<Node> {
        let (base, _) = self.push_extra(text);
        let mut nodes = Vec::new();
        crate::segment_into(text, base, &mut nodes);
        nodes
    }

    /// Drops replaced text from the edit buffer once it is mostly garbage
    /// (amortised: the buffer is rebuilt when it has doubled since the
    /// last rebuild), so that a long-lived document edited many times
    /// keeps only the bytes its nodes use.
    pub(crate) fn compact_extra(&mut self) {
        if self.extra.len() < COMPACT_MIN.max(self.extra_compacted.saturating_mul(2)) {
            return;
        }
        let base = self.src.len();
        let mut extra = Vec::new();
        for node in &mut self.nodes {
            if node.start < base {
                continue;
            }
            let bytes = self
                .extra
                .get(node.start - base..node.end.saturating_sub(base))
                .unwrap_or_default();
            let start = base + extra.len();
            extra.extend_from_slice(bytes);
            node.start = start;
            node.end = start + bytes.len();
        }
        self.extra = extra;
        self.extra_compacted = self.extra.len();
    }
}

/// Edit-buffer size below which [`MainCf::compact_extra`] does nothing.
const COMPACT_MIN: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(src: &[u8], mode: EditMode, args: &[&str]) -> (Vec<u8>, EditReport) {
        let mut cf = MainCf::parse(src);
        let report = cf.postconf_edit(mode, args).unwrap();
        (cf.to_bytes(), report)
    }

    #[test]
    fn many_edits_keep_the_edit_buffer_bounded() {
        let mut cf = MainCf::parse(b"# head\na = 1\nb = 2\nc = 3");
        let long = "x".repeat(200);
        for round in 0..5000 {
            let value = format!("{long}{round}");
            cf.set("b", &value).unwrap();
            cf.set(if round % 2 == 0 { "a" } else { "c" }, &value)
                .unwrap();
        }
        let last = format!("{long}4999");
        let before = format!("{long}4998");
        assert_eq!(
            cf.to_bytes(),
            format!("# head\na = {before}\nb = {last}\nc = {last}\n").into_bytes()
        );
        // About 1 MB of replaced text was written; what is kept is the
        // live text plus at most one doubling.
        assert!(cf.extra.len() < 2 * COMPACT_MIN, "{}", cf.extra.len());
        // Line numbers still add up after the rebuilds.
        let lines: Vec<usize> = cf.parameters().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4]);
    }

    #[test]
    fn replace_keeps_interleaved_comments_and_drops_continuations() {
        let (out, r) = edit(
            b"a = 1\n  more\n# c\n\n  last\nb = 2\n",
            EditMode::Set,
            &["a = x"],
        );
        assert_eq!(out, b"a = x\n# c\n\nb = 2\n");
        assert_eq!(r.matched, 1);
        assert!(r.changed);
    }

    #[test]
    fn comment_out_prefixes_entry_lines_only() {
        let (out, _) = edit(b"a = 1\n  more\n# c\nb = 2\n", EditMode::CommentOut, &["a"]);
        assert_eq!(out, b"#a = 1\n#  more\n# c\nb = 2\n");
    }

    #[test]
    fn appends_sorted_and_ends_last_line() {
        let (out, r) = edit(b"x = 1", EditMode::Set, &["z=3", "m = 2"]);
        assert_eq!(out, b"x = 1\nm = 2\nz = 3\n");
        assert_eq!(r.appended, 2);
    }

    #[test]
    fn crlf_is_kept() {
        let (out, _) = edit(b"a = 1\r\nb = 2\r\n", EditMode::Set, &["a = 9", "c = 3"]);
        assert_eq!(out, b"a = 9\r\nb = 2\r\nc = 3\r\n");
    }

    #[test]
    fn nul_lines_are_kept_whole() {
        let (out, _) = edit(b"a = 1\0tail\nb = 2\n", EditMode::Set, &["b = 3"]);
        assert_eq!(out, b"a = 1\0tail\nb = 3\n");
    }

    #[test]
    fn postconf_argument_errors() {
        let mut cf = MainCf::parse(b"a = 1\n");
        let e = |cf: &mut MainCf, m, a: &str| cf.postconf_edit(m, &[a]).unwrap_err().to_string();
        assert_eq!(
            e(&mut cf, EditMode::Set, "  "),
            "missing attribute name: \"\""
        );
        assert_eq!(
            e(&mut cf, EditMode::Set, "x y = 1"),
            "missing '=' after attribute name: \"x y = 1\""
        );
        assert_eq!(
            e(&mut cf, EditMode::Set, " # a = 1"),
            "-e, -X, or -# accepts no comment input"
        );
        assert_eq!(
            e(&mut cf, EditMode::Remove, ""),
            "-X or -# requires non-blank parameter names"
        );
        assert_eq!(
            e(&mut cf, EditMode::Remove, "a=1"),
            "-X or -# requires parameter names without value"
        );
        assert_eq!(
            e(&mut cf, EditMode::Set, "a = 1\nb = 2"),
            "-e, -X, or -# accepts no multi-line input"
        );
        assert_eq!(cf.to_bytes(), b"a = 1\n");
    }

    #[test]
    fn typed_checks() {
        let mut cf = MainCf::parse(b"a = 1\n");
        assert!(cf.set("a b", "1").is_err());
        assert!(cf.set("#a", "1").is_err());
        assert!(cf.set("a", "1\n2").is_err());
        assert!(cf.set("a", "1\r").is_err());
        assert!(cf.set("", "1").is_err());
        assert!(cf.set("ok", "x\ty").is_ok());
        assert_eq!(cf.get("ok").as_deref(), Some(&b"x\ty"[..]));
        let err = cf.set("a", "secret\n").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(cf.set("a", "costs 5$").is_err());
        assert!(cf.set("a", "${a").is_err());
        assert!(cf.set("a", "costs 5$$, ${b?{x}:{y}}").is_ok());
    }

    #[test]
    fn vertical_tab_after_name_still_matches() {
        let (out, _) = edit(b"a\x0b= 1\nb = 2\n", EditMode::Remove, &["a"]);
        assert_eq!(out, b"b = 2\n");
        let (out, _) = edit(b"a\x0c= 1\n", EditMode::Set, &["a = 3"]);
        assert_eq!(out, b"a = 3\n");
    }

    #[test]
    fn line_numbers_follow_edits() {
        let mut cf = MainCf::parse(b"a = 1\n  2\nb = 1\nb = 2\n");
        cf.set("a", "x").unwrap();
        let d = cf.diagnostics();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 3);
    }
}
