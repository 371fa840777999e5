//! Postfix 3.7 built-in parameter defaults, as `postconf -d` prints them.
//!
//! The table is generated from the installed Postfix by
//! `scripts/gen-postconf-defaults.sh` (see the header of `defaults_data.rs`):
//! every parameter `postconf -d` lists (with an empty master.cf, so no
//! service-dependent names), with its **unexpanded** default, e.g.
//! `myorigin = $myhostname` or
//! `smtputf8_enable = ${{$compatibility_level} <level {1} ? {no} : {yes}}`.
//! Values are stored as postconf prints them: runs of whitespace collapsed
//! to one space (no built-in default depends on inner whitespace).
//!
//! Defaults that Postfix computes from the machine at run time are not in
//! the table; they are [`DefaultValue::HostDependent`] and come from a
//! [`HostDefaults`] supplied by the caller:
//!
//! | parameter | Postfix computes it from |
//! |---|---|
//! | `myhostname` | `gethostname()`; if that has no dot, `.` and `$mydomain` (main.cf value, else `localdomain`) are appended |
//! | `mydomain` | `$myhostname` (main.cf value, else its default) minus its first label; `localdomain` if it has no dot |
//! | `mynetworks` | the addresses of the network interfaces (`mynetworks_style`, `inet_interfaces`, `inet_protocols`) |
//! | `process_id` | the process id |
//! | `process_name` | the program name (`postconf` for postconf) |
//!
//! ```
//! use postfix_maincf::defaults::{self, DefaultValue, Defaults, HostDefaults};
//!
//! assert_eq!(defaults::default_value("myorigin"), Some(DefaultValue::Fixed(b"$myhostname")));
//! assert_eq!(defaults::default_value("mydomain"), Some(DefaultValue::HostDependent));
//! assert_eq!(defaults::default_value("no_such_parameter"), None);
//!
//! let d = Defaults::new(HostDefaults { hostname: "mail.example.com".into(), ..HostDefaults::default() });
//! assert_eq!(d.get("mydomain").as_deref(), Some(&b"example.com"[..]));
//! ```

use std::borrow::Cow;

// Generated code: keep the generator's layout (`--check` compares bytes).
#[rustfmt::skip]
#[path = "defaults_data.rs"]
mod data;

/// The Postfix version (`mail_version`) the built-in table was generated from.
pub const POSTFIX_VERSION: &str = data::POSTFIX_VERSION;

/// What Postfix uses for `mydomain` (and to complete a host name without a
/// dot) when nothing better is known.
pub const DEFAULT_MYDOMAIN: &str = "localdomain";

/// The default of one built-in parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// The same on every machine (for this Postfix version): the unexpanded
    /// value, as `postconf -d` prints it.
    Fixed(&'static [u8]),
    /// Computed from the machine at run time (`myhostname`, `mydomain`,
    /// `mynetworks`, `process_id`, `process_name`): see [`HostDefaults`].
    HostDependent,
}

fn find_sorted(list: &'static [&'static str], name: &[u8]) -> Option<&'static str> {
    list.binary_search_by(|n| n.as_bytes().cmp(name))
        .ok()
        .and_then(|i| list.get(i).copied())
}

/// The built-in default of `name`: every parameter `postconf -d` lists, plus
/// the legacy names ([`is_legacy`]) whose default is empty. `None` for
/// names postconf does not build in (service-dependent names such as
/// `relay_destination_concurrency_limit` and user-defined names).
pub fn default_value(name: impl AsRef<[u8]>) -> Option<DefaultValue> {
    let name = name.as_ref();
    if let Ok(i) = data::DEFAULTS.binary_search_by(|(n, _)| n.as_bytes().cmp(name)) {
        return data::DEFAULTS.get(i).map(|(_, v)| match v {
            Some(v) => DefaultValue::Fixed(v.as_bytes()),
            None => DefaultValue::HostDependent,
        });
    }
    find_sorted(data::LEGACY, name).map(|_| DefaultValue::Fixed(b""))
}

/// Every parameter `postconf -d` lists, sorted by name (byte order).
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    data::DEFAULTS.iter().map(|(n, _)| *n)
}

/// True for the names `postconf -d` lists.
pub fn is_builtin(name: impl AsRef<[u8]>) -> bool {
    let name = name.as_ref();
    data::DEFAULTS
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
        .is_ok()
}

/// True for built-in parameters whose values postconf never scans for
/// `$name` references (e.g. `mailbox_command`, `default_rbl_reply`,
/// `smtpd_expansion_filter`): a `$name` in them does not make `name` known.
pub fn is_raw(name: impl AsRef<[u8]>) -> bool {
    find_sorted(data::RAW, name.as_ref()).is_some()
}

/// True for `process_id`, `process_name` and `service_name`: postconf
/// deletes a main.cf assignment of them with the warning
/// `read-only parameter assignment: NAME=VALUE` (not printed by `-n`, not
/// reported as unused).
pub fn is_read_only(name: impl AsRef<[u8]>) -> bool {
    find_sorted(data::READ_ONLY, name.as_ref()).is_some()
}

/// The legacy names ([`is_legacy`]), sorted.
pub fn legacy_names() -> impl Iterator<Item = &'static str> {
    data::LEGACY.iter().copied()
}

/// True for legacy names (`virtual_maps`, `fallback_relay`, ...) that
/// `postconf -d` does not list but postconf still knows (prints with `-n`).
pub fn is_legacy(name: impl AsRef<[u8]>) -> bool {
    find_sorted(data::LEGACY, name.as_ref()).is_some()
}

/// The legacy database client types (`ldap`, `memcache`, `mysql`,
/// `pgsql`, `sqlite`) and the parameter-name suffixes that `TYPE:prefix` in
/// a built-in parameter makes known as `prefix_SUFFIX`.
pub fn dbms_suffixes(db_type: impl AsRef<[u8]>) -> Option<&'static [&'static str]> {
    match db_type.as_ref() {
        b"ldap" => Some(data::LDAP_SUFFIXES),
        b"memcache" => Some(data::MEMCACHE_SUFFIXES),
        b"mysql" => Some(data::MYSQL_SUFFIXES),
        b"pgsql" => Some(data::PGSQL_SUFFIXES),
        b"sqlite" => Some(data::SQLITE_SUFFIXES),
        _ => None,
    }
}

/// The machine-dependent inputs of the host-dependent defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDefaults {
    /// What `gethostname()` returns (`vm`, `mail.example.com`). Not
    /// necessarily `myhostname`: Postfix appends `.$mydomain` when it has no
    /// dot.
    pub hostname: String,
    /// The default `mynetworks` (Postfix derives it from the interface
    /// addresses; depends on `mynetworks_style`, `inet_interfaces` and
    /// `inet_protocols`, which the caller must take into account).
    pub mynetworks: String,
    /// The default `process_name` (the running program's name).
    pub process_name: String,
    /// The default `process_id`.
    pub process_id: u32,
}

impl Default for HostDefaults {
    /// A machine-independent stand-in: host name `localhost` (so
    /// `myhostname = localhost.localdomain`, `mydomain = localdomain`),
    /// `mynetworks = 127.0.0.0/8 [::1]/128` (loopback only),
    /// `process_name = postconf`, `process_id = 0`.
    fn default() -> Self {
        HostDefaults {
            hostname: "localhost".to_owned(),
            mynetworks: "127.0.0.0/8 [::1]/128".to_owned(),
            process_name: "postconf".to_owned(),
            process_id: 0,
        }
    }
}

impl HostDefaults {
    /// Best effort for this machine: the host name from
    /// `/proc/sys/kernel/hostname` (else the `HOSTNAME` environment
    /// variable, else `localhost`), this process's id; `mynetworks` and
    /// `process_name` as in [`HostDefaults::default`] (reading interface
    /// addresses needs system calls the standard library does not offer).
    pub fn from_system() -> Self {
        let read = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok());
        let hostname = read
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        HostDefaults {
            hostname,
            process_id: std::process::id(),
            ..HostDefaults::default()
        }
    }

    /// The default `myhostname`, given the (expanded) main.cf value of
    /// `mydomain`, if any: the host name when it contains a dot, else
    /// `HOST.MYDOMAIN` (`HOST.localdomain` without a main.cf `mydomain`).
    pub fn myhostname(&self, mydomain_setting: Option<&[u8]>) -> Vec<u8> {
        let mut out = self.hostname.as_bytes().to_vec();
        if !out.contains(&b'.') {
            out.push(b'.');
            out.extend_from_slice(mydomain_setting.unwrap_or(DEFAULT_MYDOMAIN.as_bytes()));
        }
        out
    }
}

/// The default `mydomain` for an effective `myhostname`: everything after
/// its first dot (`mail.example.com` -> `example.com`, `a.` -> ``), or
/// `localdomain` when it has no dot.
pub fn mydomain_from_hostname(myhostname: &[u8]) -> Vec<u8> {
    match myhostname.iter().position(|&b| b == b'.') {
        Some(i) => myhostname.get(i + 1..).unwrap_or_default().to_vec(),
        None => DEFAULT_MYDOMAIN.as_bytes().to_vec(),
    }
}

/// All defaults: the built-in table plus [`HostDefaults`], optionally
/// adjusted to the main.cf settings that host-dependent defaults depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    host: HostDefaults,
    myhostname: Vec<u8>,
    mydomain: Vec<u8>,
}

impl Defaults {
    /// Defaults for an empty main.cf (what `postconf -d` shows).
    pub fn new(host: HostDefaults) -> Self {
        Defaults::with_settings(host, None, None)
    }

    /// Defaults when main.cf sets `myhostname` and/or `mydomain` (their
    /// values expanded the way Postfix does it for this purpose: `$name`
    /// replaced by main.cf values only, see [`Defaults::for_main_cf`]).
    /// The default of `myhostname` depends on a `mydomain` setting, and
    /// the default of `mydomain` on a `myhostname` setting.
    pub fn with_settings(
        host: HostDefaults,
        myhostname_setting: Option<&[u8]>,
        mydomain_setting: Option<&[u8]>,
    ) -> Self {
        let myhostname = host.myhostname(mydomain_setting);
        let mydomain = mydomain_from_hostname(myhostname_setting.unwrap_or(&myhostname));
        Defaults {
            host,
            myhostname,
            mydomain,
        }
    }

    /// Defaults as postconf computes them for this main.cf: `myhostname`
    /// and `mydomain` settings are expanded recursively using main.cf
    /// values only (a name main.cf does not set expands to nothing), as
    /// Postfix's `mail_conf_lookup_eval()` does. An expansion error (bad
    /// `$` syntax, runaway recursion) is treated as "not set".
    pub fn for_main_cf(host: HostDefaults, main: &crate::MainCf) -> Self {
        let values = main.values();
        let lookup = |n: &[u8]| -> Option<Vec<u8>> {
            values
                .binary_search_by(|(k, _)| k.as_slice().cmp(n))
                .ok()
                .and_then(|i| values.get(i))
                .map(|(_, v)| v.clone())
        };
        let eval = |n: &[u8]| {
            lookup(n).and_then(|v| crate::known::expand_recursive(&v, &|k| lookup(k)).ok())
        };
        let h = eval(b"myhostname");
        let d = eval(b"mydomain");
        Defaults::with_settings(host, h.as_deref(), d.as_deref())
    }

    /// The host inputs.
    pub fn host(&self) -> &HostDefaults {
        &self.host
    }

    /// The default value of `name` (unexpanded, like `postconf -d NAME`),
    /// or `None` when it is not a built-in or legacy name.
    pub fn get(&self, name: impl AsRef<[u8]>) -> Option<Cow<'_, [u8]>> {
        let name = name.as_ref();
        match default_value(name)? {
            DefaultValue::Fixed(v) => Some(Cow::Borrowed(v)),
            DefaultValue::HostDependent => Some(match name {
                b"myhostname" => Cow::Borrowed(self.myhostname.as_slice()),
                b"mydomain" => Cow::Borrowed(self.mydomain.as_slice()),
                b"mynetworks" => Cow::Borrowed(self.host.mynetworks.as_bytes()),
                b"process_name" => Cow::Borrowed(self.host.process_name.as_bytes()),
                b"process_id" => Cow::Owned(self.host.process_id.to_string().into_bytes()),
                _ => Cow::Borrowed(&b""[..]),
            }),
        }
    }
}

impl Default for Defaults {
    /// `Defaults::new(HostDefaults::default())`.
    fn default() -> Self {
        Defaults::new(HostDefaults::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(data::DEFAULTS.windows(2).all(|w| w[0].0 < w[1].0));
        for l in [
            data::RAW,
            data::READ_ONLY,
            data::LEGACY,
            data::LDAP_SUFFIXES,
            data::MEMCACHE_SUFFIXES,
            data::MYSQL_SUFFIXES,
            data::PGSQL_SUFFIXES,
            data::SQLITE_SUFFIXES,
        ] {
            assert!(l.windows(2).all(|w| w[0] < w[1]));
        }
    }

    // Expected values observed with `postconf -d` / `postconf -x` (3.7.11)
    // under `unshare -u` with other host names.
    #[test]
    fn host_names() {
        let h = |n: &str| HostDefaults {
            hostname: n.into(),
            ..HostDefaults::default()
        };
        let d = Defaults::new(h("plainhost"));
        assert_eq!(
            d.get("myhostname").as_deref(),
            Some(&b"plainhost.localdomain"[..])
        );
        assert_eq!(d.get("mydomain").as_deref(), Some(&b"localdomain"[..]));
        let d = Defaults::new(h("other.example.com"));
        assert_eq!(d.get("mydomain").as_deref(), Some(&b"example.com"[..]));
        // main.cf `mydomain = example.org` on host `vm`: vm.example.org.
        let d = Defaults::with_settings(h("vm"), None, Some(b"example.org"));
        assert_eq!(d.get("myhostname").as_deref(), Some(&b"vm.example.org"[..]));
        // main.cf `myhostname = a.b.c.` -> mydomain `b.c.`; `mail.` -> empty.
        let d = Defaults::with_settings(h("vm"), Some(b"a.b.c."), None);
        assert_eq!(d.get("mydomain").as_deref(), Some(&b"b.c."[..]));
        let d = Defaults::with_settings(h("vm"), Some(b"mail."), None);
        assert_eq!(d.get("mydomain").as_deref(), Some(&b""[..]));
        let d = Defaults::with_settings(h("vm"), Some(b"mail"), None);
        assert_eq!(d.get("mydomain").as_deref(), Some(&b"localdomain"[..]));
    }
}
