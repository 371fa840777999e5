//! A reference model of the relay commands, for property tests and fuzzing.
//!
//! The operations are [`Command`]s (the one operation type the property
//! tests, the fuzz target and the CLI share); [`Model`] is what Postfix
//! must find after them, per sender domain: the next hop, whether the
//! domain is opted out, and the credentials.
//!
//! ```
//! use dms_relay::ops::Model;
//! use dms_relay::store::{Command, Documents};
//!
//! let mut docs = Documents::default();
//! let domains = ["example.org"];
//! let mut model = Model::observe(&mut docs, &domains);
//! for cmd in [
//!     Command::add_domain("example.org", "smtp.relay.test", Some("587")).unwrap(),
//!     Command::add_auth("Example.ORG", "user", "secret").unwrap(),
//!     Command::exclude_domain("example.org").unwrap(),
//! ] {
//!     let accepted = cmd.apply_to(&mut docs).is_ok();
//!     model.apply(&cmd, accepted);
//! }
//! assert!(model.check(&mut docs).is_ok());
//! ```

use std::collections::BTreeMap;

use crate::store::{Command, Documents, RelayMap, SaslPasswords};
use crate::types::SenderDomain;

/// What Postfix finds for one sender domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DomainState {
    relay: Option<String>,
    excluded: bool,
    /// `user:password` (compared as bytes; never shown by [`Model::check`]).
    credentials: Option<(String, String)>,
}

/// A change to one domain's expected state.
type Update = Box<dyn FnOnce(&mut DomainState)>;

/// The expected state per (lower-cased) sender domain.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Model {
    domains: BTreeMap<String, DomainState>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("domains", &self.domains.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn observe_one(docs: &Documents, domain: &SenderDomain) -> DomainState {
    DomainState {
        relay: docs.relaymap.relay(domain),
        excluded: docs.relaymap.is_excluded(domain),
        credentials: docs
            .sasl
            .credentials(domain)
            .map(|(u, p)| (u, p.expose().to_owned())),
    }
}

impl Model {
    /// The model of `docs` as they are, for the given domains (the ones the
    /// test will use; others are not tracked).
    pub fn observe(docs: &mut Documents, domains: &[&str]) -> Self {
        let mut model = Model::default();
        for d in domains {
            if let Ok(domain) = SenderDomain::new(d) {
                model
                    .domains
                    .insert(d.to_ascii_lowercase(), observe_one(docs, &domain));
            }
        }
        model
    }

    /// Records the effect of `cmd`; `accepted` says whether the documents
    /// accepted it (a refused command changes nothing).
    pub fn apply(&mut self, cmd: &Command, accepted: bool) {
        if !accepted {
            return;
        }
        let (domain, f): (&SenderDomain, Update) = match cmd {
            Command::AddDomain { domain, relay } => {
                let relay = relay.to_string();
                (
                    domain,
                    Box::new(move |s| {
                        s.relay = Some(relay);
                        s.excluded = false;
                    }),
                )
            }
            Command::ExcludeDomain { domain } => (
                domain,
                Box::new(|s| {
                    s.relay = None;
                    s.excluded = true;
                }),
            ),
            Command::IncludeDomain { domain } => (
                domain,
                Box::new(|s| {
                    if s.relay.is_none() {
                        s.excluded = false;
                    }
                }),
            ),
            Command::RemoveDomain { domain } => (
                domain,
                Box::new(|s| {
                    s.relay = None;
                    s.excluded = false;
                }),
            ),
            Command::AddAuth {
                domain,
                credentials,
            } => {
                let pair = (
                    credentials.user().as_str().to_owned(),
                    credentials.password().expose().to_owned(),
                );
                (domain, Box::new(move |s| s.credentials = Some(pair)))
            }
            Command::RemoveAuth { domain } => (domain, Box::new(|s| s.credentials = None)),
        };
        let key = domain.as_str().to_ascii_lowercase();
        if let Some(state) = self.domains.get_mut(&key) {
            f(state);
        }
    }

    /// Checks `docs` against the model, also after re-reading their bytes
    /// (what the next process sees). Returns the first difference; its text
    /// never contains a password.
    pub fn check(&self, docs: &mut Documents) -> Result<(), String> {
        let reread = Documents::from_parts(
            RelayMap::parse(&docs.relaymap.to_bytes()),
            SaslPasswords::parse(&docs.sasl.to_bytes()),
        );
        for (which, d) in [("in memory", &*docs), ("re-read", &reread)] {
            for (name, want) in &self.domains {
                let Ok(domain) = SenderDomain::new(name) else {
                    continue;
                };
                let got = observe_one(d, &domain);
                if got.relay != want.relay || got.excluded != want.excluded {
                    return Err(format!(
                        "{which}: @{name}: relay {:?} excluded {}, model relay {:?} excluded {}",
                        got.relay, got.excluded, want.relay, want.excluded
                    ));
                }
                if got.credentials != want.credentials {
                    return Err(format!(
                        "{which}: @{name}: credentials differ (user {:?} vs model {:?})",
                        got.credentials.as_ref().map(|c| &c.0),
                        want.credentials.as_ref().map(|c| &c.0)
                    ));
                }
            }
        }
        Ok(())
    }
}
