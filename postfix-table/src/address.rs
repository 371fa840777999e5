//! Address lookups in Postfix's search order (`mail_addr_find()`), as used
//! by `sender_dependent_relayhost_maps` and by the sender step of
//! `smtp_sasl_password_maps`.
//!
//! For `user+ext@domain` with `recipient_delimiter = +` the keys are, in order:
//!
//! 1. `user+ext@domain`
//! 2. `user@domain` (only when there is an extension)
//! 3. `user+ext`, then `user` (only when the domain is local)
//! 4. `@domain`
//!
//! Each key is tried in external (RFC 5322 quoted) form first and then, when
//! that differs, as written. The null sender is looked up as
//! `empty_address_relayhost_maps_lookup_key` (default `<>`), which gives the
//! keys `"<>"` and `<>`.

use std::borrow::Cow;

use crate::Table;

/// Settings for an address search.
#[derive(Clone)]
pub struct AddressLookup<'a> {
    /// `recipient_delimiter`: each byte is a delimiter; empty disables
    /// extension stripping. Default `+`.
    pub recipient_delimiter: &'a str,
    /// Whether a domain is local (`$myorigin`, `$mydestination`, the
    /// `[ip]` of `inet_interfaces`): only then are the bare local-part keys
    /// tried. Default: no domain is local.
    pub is_local: &'a dyn Fn(&str) -> bool,
    /// Key used for the null sender (`empty_address_relayhost_maps_lookup_key`),
    /// or `None` to skip the lookup (as `smtp_sasl_password_maps` does).
    pub null_sender_key: Option<&'a str>,
    /// `double_bounce_sender`, never split at a delimiter. Default `double-bounce`.
    pub double_bounce_sender: &'a str,
}

impl std::fmt::Debug for AddressLookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressLookup")
            .field("recipient_delimiter", &self.recipient_delimiter)
            .field("null_sender_key", &self.null_sender_key)
            .finish_non_exhaustive()
    }
}

fn never_local(_: &str) -> bool {
    false
}

impl Default for AddressLookup<'_> {
    fn default() -> Self {
        AddressLookup {
            recipient_delimiter: "+",
            is_local: &never_local,
            null_sender_key: Some("<>"),
            double_bounce_sender: "double-bounce",
        }
    }
}

/// A successful address lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressMatch<'t> {
    /// The key that matched, as tried.
    pub key: String,
    /// The value.
    pub value: Cow<'t, [u8]>,
}

/// Splits `localpart` at the first delimiter byte, the way Postfix's
/// `split_addr()` does; `None` when it must not be split.
fn split_localpart<'a>(localpart: &'a str, opts: &AddressLookup<'_>) -> Option<&'a str> {
    let delims = opts.recipient_delimiter;
    if delims.is_empty()
        || localpart.eq_ignore_ascii_case("postmaster")
        || localpart.eq_ignore_ascii_case("mailer-daemon")
        || localpart.to_lowercase() == opts.double_bounce_sender.to_lowercase()
    {
        return None;
    }
    if delims.contains('-') {
        let lower = localpart.to_ascii_lowercase();
        if lower.starts_with("owner-") || (lower.len() > 8 && lower.ends_with("-request")) {
            return None;
        }
    }
    let pos = localpart
        .bytes()
        .position(|b| delims.as_bytes().contains(&b))?;
    if pos == 0 {
        return None;
    }
    localpart.get(..pos)
}

/// RFC 5322 quoting of a local part, as Postfix's `quote_822_local()` (8-bit clean).
fn quote_localpart(local: &str) -> Cow<'_, str> {
    let b = local.as_bytes();
    let needs = b.is_empty()
        || b.first() == Some(&b'.')
        || b.last() == Some(&b'.')
        || b.windows(2).any(|w| w == b"..")
        || b.iter().any(|&c| {
            c == b' '
                || c.is_ascii_control()
                || matches!(
                    c,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'['
                        | b']'
                )
        });
    if !needs {
        return Cow::Borrowed(local);
    }
    let mut out = String::with_capacity(local.len() + 2);
    out.push('"');
    for ch in local.chars() {
        if matches!(ch, '"' | '\\' | '\r') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('"');
    Cow::Owned(out)
}

/// Renders an address key in external form: the local part quoted when needed.
fn external(addr: &str) -> Cow<'_, str> {
    match addr.rfind('@') {
        Some(at) => {
            let (local, domain) = addr.split_at(at);
            match quote_localpart(local) {
                Cow::Borrowed(_) => Cow::Borrowed(addr),
                Cow::Owned(q) => Cow::Owned(q + domain),
            }
        }
        None => quote_localpart(addr),
    }
}

/// The keys Postfix tries for `address`, in order, for a fixed (indexed or
/// texthash) table. `address` is the internal (unquoted) form; an empty
/// address is the null sender.
///
/// ```
/// use postfix_table::address::{search_keys, AddressLookup};
///
/// let keys = search_keys("user+ext@example.com", &AddressLookup::default());
/// assert_eq!(keys, ["user+ext@example.com", "user@example.com", "@example.com"]);
///
/// let local = |d: &str| d == "example.com";
/// let opts = AddressLookup { is_local: &local, ..AddressLookup::default() };
/// assert_eq!(
///     search_keys("user+ext@example.com", &opts),
///     ["user+ext@example.com", "user@example.com", "user+ext", "user", "@example.com"]
/// );
/// assert_eq!(search_keys("", &AddressLookup::default()), ["\"<>\"", "<>"]);
/// ```
pub fn search_keys(address: &str, opts: &AddressLookup<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let push = |out: &mut Vec<String>, k: &str| {
        let ext = external(k);
        for cand in [ext.as_ref(), k] {
            if !out.iter().any(|o| o == cand) {
                out.push(cand.to_string());
            }
        }
    };
    if address.is_empty() {
        if let Some(k) = opts.null_sender_key {
            push(&mut out, k);
        }
        return out;
    }
    let (local, domain) = match address.rfind('@') {
        Some(at) => (address.get(..at).unwrap_or_default(), address.get(at..)),
        None => (address, None),
    };
    let bare_local = split_localpart(local, opts);
    push(&mut out, address);
    if let Some(b) = bare_local {
        push(&mut out, &format!("{b}{}", domain.unwrap_or_default()));
    }
    if let Some(d) = domain {
        let dom = d.get(1..).unwrap_or_default();
        if (opts.is_local)(dom) {
            push(&mut out, local);
            if let Some(b) = bare_local {
                push(&mut out, b);
            }
        }
        // `@domain` is looked up as is (Postfix's maps_find on the '@' suffix).
        if !out.iter().any(|o| o == d) {
            out.push(d.to_string());
        }
    }
    out
}

impl Table {
    /// Looks `address` up in Postfix's search order (see [`search_keys`]):
    /// the first key with a value wins.
    ///
    /// ```
    /// use postfix_table::{Table, address::AddressLookup};
    ///
    /// let t = Table::parse(b"@example.com [relay.example.com]:587\nvip@example.com [vip]\n");
    /// let m = t.lookup_address("VIP+news@Example.com", &AddressLookup::default()).unwrap();
    /// assert_eq!(m.key, "VIP@Example.com");
    /// assert_eq!(&*m.value, b"[vip]");
    /// ```
    pub fn lookup_address(
        &self,
        address: &str,
        opts: &AddressLookup<'_>,
    ) -> Option<AddressMatch<'_>> {
        search_keys(address, opts).into_iter().find_map(|key| {
            let value = self.get(key.as_bytes())?;
            Some(AddressMatch { key, value })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_rules() {
        let d = AddressLookup::default();
        assert_eq!(search_keys("a+b+c@x", &d), ["a+b+c@x", "a@x", "@x"]);
        assert_eq!(search_keys("+a@x", &d), ["+a@x", "@x"]);
        assert_eq!(
            search_keys("postmaster+x@d", &d),
            ["postmaster+x@d", "postmaster@d", "@d"]
        );
        assert_eq!(search_keys("postmaster@d", &d), ["postmaster@d", "@d"]);
        let dash = AddressLookup {
            recipient_delimiter: "-",
            ..AddressLookup::default()
        };
        assert_eq!(search_keys("owner-list@d", &dash), ["owner-list@d", "@d"]);
        assert_eq!(
            search_keys("list-request@d", &dash),
            ["list-request@d", "@d"]
        );
        assert_eq!(search_keys("a-b@d", &dash), ["a-b@d", "a@d", "@d"]);
        let both = AddressLookup {
            recipient_delimiter: "+-",
            ..AddressLookup::default()
        };
        assert_eq!(search_keys("a-b+c@d", &both), ["a-b+c@d", "a@d", "@d"]);
        let none = AddressLookup {
            recipient_delimiter: "",
            ..AddressLookup::default()
        };
        assert_eq!(search_keys("a+b@d", &none), ["a+b@d", "@d"]);
    }

    #[test]
    fn quoting() {
        let d = AddressLookup::default();
        assert_eq!(
            search_keys("john doe@x", &d),
            ["\"john doe\"@x", "john doe@x", "@x"]
        );
        let sasl = AddressLookup {
            null_sender_key: None,
            ..AddressLookup::default()
        };
        assert!(search_keys("", &sasl).is_empty());
    }
}
