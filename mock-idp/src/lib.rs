//! Small but real OpenID Connect identity providers for the HelseID testbed.
//!
//! HelseID federates to identity providers (ID-porten, BankID, Buypass, Commfides, its own
//! TestIDP, organisations' own IdPs) as an OpenID Connect relying party; each IdP returns the
//! person's fødselsnummer or D-number, the authentication method and the security level
//! (seed 001). This crate bundles look-alikes of them, each with its own issuer, keys and
//! login page, drawing its users from the synthetic population ([`synthpop`]). The STS is the
//! relying party; this crate knows nothing about it.
//!
//! Every IdP `<name>` of [`bundled`] is served under `/idp/<name>`:
//!
//! | Path | Module | Spec |
//! |---|---|---|
//! | `GET /idp/<name>/.well-known/openid-configuration` | `discovery` | OIDC Discovery 1.0 §3–4 |
//! | `GET /idp/<name>/jwks` | `discovery` | RFC 7517 §5 |
//! | `GET /idp/<name>/authorize` (request or login page) | `authorize`, `login_page` | RFC 6749 §4.1.1, OIDC Core §3.1.2, RFC 7636 |
//! | `POST /idp/<name>/authorize` (login form) | `authorize` | RFC 6749 §4.1.2, RFC 9207 |
//! | `POST /idp/<name>/token` | `token`, `client_auth`, [`protocol::pkce`], `id_token` | RFC 6749 §4.1.3, §2.3.1, RFC 7636 §4.6, OIDC Core §3.1.3 |
//!
//! [`flaws`] breaks the IdPs on purpose, one fault at a time, for tests of relying parties and
//! of the conformance runner (test only; [`IdpSettings::with_flaws`]).
//!
//! [`MockIdps::new`] checks the settings and makes each IdP's RS256 key; [`MockIdps::router`]
//! (or the shorthand [`router`]) gives the routes. The router has no fallback, so it merges
//! into the STS's router; its paths are relative to where it is mounted, and
//! [`IdpSettings::base_url`] is the public URL of that mount point.

pub mod bundled;
pub mod clock;
pub mod descriptor;
pub mod flaws;
pub mod locale;

mod authorize;
mod client_auth;
mod discovery;
mod error;
mod form;
mod id_token;
mod login_page;
mod persons;
mod state;
mod token;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use aws_lc_rs::hmac;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use protocol::jose::Alg;
use protocol::signing::{KeyError, SigningKey};
use serde_json::{Value, json};
use thiserror::Error;

pub use crate::bundled::bundled;
pub use crate::clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use crate::descriptor::{IdpDescriptor, LoginMethod, Look, SecurityLevel};
pub use crate::flaws::IdpFlaw;
pub use crate::locale::{Locale, Text};
pub use crate::state::{CODE_LIFETIME, PENDING_LIFETIME};

/// Redirect URIs [`MockIdps::allow_redirect_uri`] keeps.
pub const MAX_ADDED_REDIRECT_URIS: usize = 10_000;

/// The path all IdPs are served under: `<base_url>/idp/<name>`.
pub const PATH_PREFIX: &str = "/idp";

/// A relying party registered with every bundled IdP (in the testbed: the STS).
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredRp {
    pub client_id: String,
    /// For `client_secret_post` or `client_secret_basic` (RFC 6749 §2.3.1).
    pub client_secret: String,
    /// Exact redirect URIs (compared as strings, OIDC Core §3.1.2.1).
    pub redirect_uris: Vec<String>,
}

impl fmt::Debug for RegisteredRp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredRp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// The client id of the relying party the testbed registers with its IdPs for the
/// conformance runner (`scenarios/idp-bankid.yaml`), beside the STS's own.
pub const CONFORMANCE_CLIENT_ID: &str = "conformance-runner";
/// Its secret. Not a secret: the testbed is offline and its keys are published; this lets a
/// scenario file log in at a running testbed's IdPs.
pub const CONFORMANCE_CLIENT_SECRET: &str = "conformance-runner-secret";
/// Its redirect URI; the runner's browser stops there and never connects to it.
pub const CONFORMANCE_REDIRECT_URI: &str = "http://localhost:7890/conformance/callback";

/// The relying party the conformance runner logs in as ([`CONFORMANCE_CLIENT_ID`]).
pub fn conformance_rp() -> RegisteredRp {
    RegisteredRp {
        client_id: CONFORMANCE_CLIENT_ID.into(),
        client_secret: CONFORMANCE_CLIENT_SECRET.into(),
        redirect_uris: vec![CONFORMANCE_REDIRECT_URI.into()],
    }
}

/// What the IdPs need from their host.
#[derive(Clone)]
pub struct IdpSettings {
    /// Public URL of the router's mount point, e.g. `http://127.0.0.1:8080`; IdP `<name>`
    /// gets the issuer `<base_url>/idp/<name>`. A trailing `/` is dropped.
    pub base_url: String,
    pub clients: Vec<RegisteredRp>,
    /// The persons who can log in (HelseID looks users up in the population register).
    pub population: Arc<synthpop::Population>,
    pub clock: Arc<dyn Clock>,
    /// The IdPs to serve; [`IdpSettings::new`] puts [`bundled`] here.
    pub idps: Vec<IdpDescriptor>,
    /// Deliberate flaws of every served IdP (test only, [`flaws`]); empty by default.
    pub flaws: BTreeSet<IdpFlaw>,
}

impl IdpSettings {
    /// Every bundled IdP, the system clock, and no registered clients yet.
    pub fn new(base_url: &str, population: Arc<synthpop::Population>) -> IdpSettings {
        IdpSettings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            clients: Vec::new(),
            population,
            clock: Arc::new(SystemClock),
            idps: bundled(),
            flaws: BTreeSet::new(),
        }
    }

    pub fn with_client(mut self, client: RegisteredRp) -> IdpSettings {
        self.clients.push(client);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> IdpSettings {
        self.clock = clock;
        self
    }

    /// Breaks every served IdP on purpose, in the ways `flaws` name. **Test only**: for
    /// showing that a relying party or the conformance runner notices ([`flaws`]).
    pub fn with_flaws(mut self, flaws: BTreeSet<IdpFlaw>) -> IdpSettings {
        self.flaws = flaws;
        self
    }
}

impl fmt::Debug for IdpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpSettings")
            .field("base_url", &self.base_url)
            .field("clients", &self.clients)
            .field("population", &self.population.len())
            .field(
                "idps",
                &self.idps.iter().map(|i| i.name).collect::<Vec<_>>(),
            )
            .field("flaws", &self.flaws)
            .finish_non_exhaustive()
    }
}

/// Why the IdPs could not be set up.
#[derive(Debug, Error)]
pub enum IdpError {
    #[error("base_url {0:?} must start with http:// or https://")]
    BaseUrl(String),
    #[error("IdP name {0:?} must be a path segment of a-z, 0-9 and -")]
    Name(String),
    #[error("two IdPs are named {0:?}")]
    DuplicateName(String),
    #[error("IdP {0:?} offers no login method")]
    NoMethods(String),
    #[error("signing key for IdP {idp:?}: {source}")]
    Key { idp: String, source: KeyError },
}

/// An IdP's signing key, made on first use (or by the warm-up thread `MockIdps::new` starts).
#[derive(Debug, Default)]
pub(crate) struct LazyKey(OnceLock<Result<SigningKey, KeyError>>);

impl LazyKey {
    pub fn get(&self) -> Result<&SigningKey, KeyError> {
        self.0
            .get_or_init(|| SigningKey::generate_rsa(2048, Alg::RS256, protocol::jose::random_id()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One served IdP: its description, issuer and keys.
pub(crate) struct Idp {
    pub descriptor: IdpDescriptor,
    pub issuer: String,
    pub key: LazyKey,
    /// Signs ID tokens under [`IdpFlaw::UnpublishedKey`]; never published.
    pub unpublished_key: LazyKey,
    /// Keys `sub`: HMAC of the pid, so it is stable per person and IdP and reveals nothing.
    pub sub_key: hmac::Key,
}

impl fmt::Debug for Idp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idp")
            .field("name", &self.descriptor.name)
            .field("issuer", &self.issuer)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Idp {
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn jwks(&self) -> Result<Value, KeyError> {
        Ok(json!({ "keys": [self.key.get()?.public_jwk().to_json()] }))
    }

    /// The JWKS with the private members too ([`IdpFlaw::PrivateKeyInJwks`]).
    pub fn jwks_with_private_key(&self) -> Result<Value, KeyError> {
        Ok(json!({ "keys": [self.key.get()?.to_private_jwk()?] }))
    }
}

/// What the handlers share.
pub(crate) struct Shared {
    pub clients: Vec<RegisteredRp>,
    /// Redirect URIs registered after start ([`MockIdps::allow_redirect_uri`]): client id and
    /// URI, each still compared exactly.
    pub added_redirect_uris: std::sync::RwLock<Vec<(String, String)>>,
    pub population: Arc<synthpop::Population>,
    pub clock: Arc<dyn Clock>,
    pub idps: Vec<Idp>,
    pub store: state::Store,
    /// The login pages' default person list, made on first use.
    pub default_persons: OnceLock<Vec<persons::PersonRow>>,
    /// Deliberate flaws (test only).
    pub flaws: BTreeSet<IdpFlaw>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("idps", &self.idps)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn idp(&self, name: &str) -> Option<(usize, &Idp)> {
        self.idps
            .iter()
            .enumerate()
            .find(|(_, i)| i.descriptor.name == name)
    }

    pub fn client(&self, client_id: &str) -> Option<&RegisteredRp> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// Whether `uri` was registered for `client_id` after start (compared exactly).
    pub fn added_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        self.added_redirect_uris
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(c, u)| c == client_id && u == uri)
    }

    /// Whether the IdPs have `flaw` (test only).
    pub fn flawed(&self, flaw: IdpFlaw) -> bool {
        self.flaws.contains(&flaw)
    }
}

/// The bundled IdPs, ready to serve.
#[derive(Debug, Clone)]
pub struct MockIdps {
    shared: Arc<Shared>,
}

impl MockIdps {
    /// Checks `settings` and starts making a fresh RS256 key (2048 bits, random upper-case hex
    /// `kid`) for each IdP. The keys live as long as this value: a restart publishes new ones,
    /// as a relying party re-reading JWKS must cope with.
    pub fn new(settings: IdpSettings) -> Result<MockIdps, IdpError> {
        let base = settings.base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(IdpError::BaseUrl(base));
        }
        for (i, d) in settings.idps.iter().enumerate() {
            if !valid_name(d.name) {
                return Err(IdpError::Name(d.name.to_owned()));
            }
            if settings.idps[..i].iter().any(|o| o.name == d.name) {
                return Err(IdpError::DuplicateName(d.name.to_owned()));
            }
            if d.methods.is_empty() {
                return Err(IdpError::NoMethods(d.name.to_owned()));
            }
        }
        let mut idps = Vec::with_capacity(settings.idps.len());
        for descriptor in settings.idps {
            let sub_key = hmac::Key::new(
                hmac::HMAC_SHA256,
                format!("helseid-testbed mock-idp sub {}", descriptor.scheme).as_bytes(),
            );
            idps.push(Idp {
                issuer: issuer_for(&base, descriptor.name),
                descriptor,
                key: LazyKey::default(),
                unpublished_key: LazyKey::default(),
                sub_key,
            });
        }
        let shared = Arc::new(Shared {
            clients: settings.clients,
            added_redirect_uris: Default::default(),
            population: settings.population,
            clock: settings.clock,
            idps,
            store: state::Store::new(),
            default_persons: OnceLock::new(),
            flaws: settings.flaws,
        });
        // Make the keys in the background, one after the other on one thread: RSA key
        // generation takes tens of milliseconds each, and the STS must answer discovery within
        // 200 ms of its start (one thread leaves the other core to it). A request that needs a
        // key before it is ready waits for it.
        let warm = shared.clone();
        std::thread::spawn(move || {
            for idp in &warm.idps {
                let _ = idp.key.get();
            }
        });
        Ok(MockIdps { shared })
    }

    /// Registers one more exact redirect URI for `client_id` (the testbed's conformance
    /// sessions: each session issuer has its own federation callback). Returns false when no
    /// such client is registered. At most [`MAX_ADDED_REDIRECT_URIS`] are kept; the oldest go.
    pub fn allow_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        if self.shared.client(client_id).is_none() {
            return false;
        }
        let mut added = self
            .shared
            .added_redirect_uris
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if !added.iter().any(|(c, u)| c == client_id && u == uri) {
            if added.len() >= MAX_ADDED_REDIRECT_URIS {
                added.remove(0);
            }
            added.push((client_id.to_owned(), uri.to_owned()));
        }
        true
    }

    /// The routes of every IdP (no fallback, no state left to fill in).
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/idp/{idp}/.well-known/openid-configuration",
                get(discovery::document),
            )
            .route("/idp/{idp}/jwks", get(discovery::jwks))
            .route(
                "/idp/{idp}/authorize",
                get(authorize::show).post(authorize::submit),
            )
            .route("/idp/{idp}/token", post(token::token))
            .layer(DefaultBodyLimit::max(form::MAX_FORM_BYTES))
            .with_state(self.shared.clone())
    }

    /// The served IdPs, in order.
    pub fn descriptors(&self) -> impl Iterator<Item = &IdpDescriptor> {
        self.shared.idps.iter().map(|i| &i.descriptor)
    }

    /// The issuer of IdP `name`.
    pub fn issuer(&self, name: &str) -> Option<&str> {
        self.shared.idp(name).map(|(_, i)| i.issuer.as_str())
    }

    /// The JWKS of IdP `name`, for a relying party in the same process that would rather not
    /// fetch its own listener.
    pub fn jwks(&self, name: &str) -> Option<Value> {
        self.shared.idp(name).and_then(|(_, i)| i.jwks().ok())
    }

    /// The discovery document of IdP `name`.
    pub fn discovery(&self, name: &str) -> Option<Value> {
        self.shared
            .idp(name)
            .map(|(_, i)| discovery::document_for(i))
    }
}

/// Shorthand for `MockIdps::new(settings)?.router()`.
pub fn router(settings: IdpSettings) -> Result<Router, IdpError> {
    Ok(MockIdps::new(settings)?.router())
}

/// The issuer of IdP `name` under `base_url`.
pub fn issuer_for(base_url: &str, name: &str) -> String {
    format!("{}{PATH_PREFIX}/{name}", base_url.trim_end_matches('/'))
}

/// An IdP name is one lower-case path segment.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
