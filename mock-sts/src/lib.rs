//! A HelseID-like security token service for local and CI use.
//!
//! It behaves on the wire like HelseID's test environment (`https://helseid-sts.test.nhn.no`)
//! as described in the project's reference (`../shared/reference/helseid.md`); where HelseID's
//! behaviour is unconfirmed it follows Duende IdentityServer and the RFCs, and
//! `docs/fidelity.md` records each such choice.
//!
//! | Path | Module | Spec |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration` | [`discovery`] | OIDC Discovery 1.0 §4 |
//! | `GET /.well-known/openid-configuration/jwks` | [`discovery`] | RFC 7517 §5 |
//! | `GET /connect/expiredjwks` | [`discovery`] | HelseID `expired_jwks_uri` |
//! | `GET /connect/availableidps` | [`discovery`] | HelseID `available_idps` |
//! | `POST /connect/par` | [`par`] | RFC 9126 |
//! | `GET /connect/authorize` | [`login`] | OIDC Core §3.1.2 |
//! | `GET /connect/idp/start`, `/connect/federation/callback` | [`login`], [`federation`] | OIDC Core §3.1 (as RP) |
//! | `GET /connect/endsession` | [`endsession`] | OIDC RP-Initiated Logout, Front-Channel Logout |
//! | `POST /connect/token` | [`token`] | RFC 6749 §4.1.3, §4.4, §6, RFC 7523, RFC 8707, RFC 9449 |
//! | `POST /connect/revocation` | [`revocation`] | RFC 7009 |
//! | `GET/POST /connect/userinfo` | [`userinfo`] | OIDC Core §5.3 |
//! | `POST /connect/introspect` | [`introspection`] | RFC 7662 |
//! | `/selvbetjening/v1/...`, `/selvbetjening/confirm-client/{id}` | [`selvbetjening`] | HelseID Selvbetjening API, with [`resource`] (RFC 9449 §7, RFC 6750 §3) |
//! | `POST /ttt/v2/create-test-token-with-key` | [`ttt`] | HelseID Test Token Service |
//! | `GET /testbed/environment` | [`environment`] | testbed |
//! | `GET /testbed/flows` | [`flow_log`] | testbed |
//! | `GET /metrics` | [`usage`] | Prometheus text format |
//!
//! The paths are [`protocol::endpoints`], which the router and the discovery document both
//! read. [`app`] builds the router from an [`Sts`]; serving it is the caller's business, so tests
//! bind `127.0.0.1:0` in-process and the CLI binds what the user asked for.

pub mod access_token;
pub mod authorization_code;
pub mod authorization_request;
pub mod client_auth;
pub mod clock;
pub mod config_file;
pub mod discovery;
pub mod dpop;
pub mod endsession;
pub mod environment;
pub mod ephemeral;
pub mod error;
pub mod fault;
pub mod federation;
pub mod flow_log;
pub mod flows;
pub mod form;
pub mod identity;
pub mod introspection;
pub mod keys;
pub mod login;
/// Server-issued DPoP nonces; the issuer lives in `protocol`, shared with the reference API.
pub use protocol::dpop_nonce as nonce;
pub mod par;
pub mod registration;
pub mod replay;
pub mod resource;
pub mod revocation;
pub mod seed;
pub mod selvbetjening;
pub mod server;
pub mod session;
pub mod store;
pub mod tenancy;
pub mod token;
pub mod token_exchange;
pub mod ttt;
pub mod usage;
pub mod user_tokens;
pub mod userinfo;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use protocol::endpoints::{self, testbed};
use protocol::jose::RngError;
use thiserror::Error;

use crate::clock::Clock;
use crate::keys::{KeyCache, KeyRing, KeysError};
use crate::replay::ReplayCache;
use crate::store::{Store, StoreError};
use protocol::dpop_nonce::NonceIssuer;

/// Largest request body any endpoint reads.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Entries each replay cache holds before it refuses new ones.
pub const REPLAY_CAPACITY: usize = 1_000_000;
/// Pushed requests, logins in progress and codes each held at most.
pub const EPHEMERAL_CAPACITY: usize = 100_000;

/// Settings of one STS instance. Its `Debug` leaves out the API key.
#[derive(Clone)]
pub struct StsConfig {
    /// The issuer, without a trailing slash (HelseID's tokens have none).
    pub issuer: String,
    /// Lifetime of access tokens from `/connect/token` (Duende's default, 3600 s).
    pub access_token_lifetime: i64,
    /// How long a replaced signing key stays in the JWKS.
    pub key_overlap: i64,
    /// The Selvbetjening `api-key` and the TTT `X-Auth-Key`.
    pub api_key: String,
    /// Whether client drafts wait for the confirm page (HelseID) or are confirmed at once.
    pub require_draft_confirmation: bool,
    /// Lifetime of a key registered through Selvbetjening.
    pub client_key_lifetime: i64,
    /// Seconds before a change made through Selvbetjening (`PUT /v1/client`, a new key)
    /// reaches the token endpoint; 0 for at once. HelseID's TEST takes up to 20 s, and a
    /// vendor's retry logic needs something to retry against ([`selvbetjening`]).
    pub selvbetjening_delay: i64,
}

impl StsConfig {
    pub fn new(issuer: &str, api_key: &str) -> StsConfig {
        StsConfig {
            issuer: issuer.trim_end_matches('/').to_owned(),
            access_token_lifetime: 3600,
            key_overlap: 24 * 3600,
            api_key: api_key.to_owned(),
            require_draft_confirmation: false,
            client_key_lifetime: 365 * 24 * 3600,
            selvbetjening_delay: 0,
        }
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        self.endpoint(endpoints::TOKEN)
    }
}

impl fmt::Debug for StsConfig {
    /// Everything but the API key, which is a bearer secret (Selvbetjening, TTT) and would
    /// otherwise reach logs through `{:?}` of the config or of the whole [`Sts`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let StsConfig {
            issuer,
            access_token_lifetime,
            key_overlap,
            api_key: _,
            require_draft_confirmation,
            client_key_lifetime,
            selvbetjening_delay,
        } = self;
        f.debug_struct("StsConfig")
            .field("issuer", issuer)
            .field("access_token_lifetime", access_token_lifetime)
            .field("key_overlap", key_overlap)
            .field("api_key", &"[redacted]")
            .field("require_draft_confirmation", require_draft_confirmation)
            .field("client_key_lifetime", client_key_lifetime)
            .field("selvbetjening_delay", selvbetjening_delay)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum StsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error("seeding: {0}")]
    Seed(String),
    #[error("{0}, so the STS cannot make its secrets")]
    Random(#[from] RngError),
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Sts {
    pub config: StsConfig,
    /// The state database; shared with the conformance sessions' issuers ([`Sts::child`]).
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub nonces: NonceIssuer,
    pub assertion_replay: ReplayCache,
    pub dpop_replay: ReplayCache,
    keys: KeyCache,
    /// The signing-key ring ([`keys::MAIN_RING`], or a session's own).
    ring: String,
    /// Pushed authorization requests by `request_uri`.
    pub par_requests: ephemeral::Ephemeral<authorization_request::AuthorizationRequest>,
    /// Logins between `/connect/authorize` and the IdP's answer.
    pub logins: ephemeral::Ephemeral<login::Transaction>,
    /// Authorization codes.
    pub codes: ephemeral::Ephemeral<authorization_code::CodeGrant>,
    pub sessions: session::Sessions,
    /// Recent HTTP exchanges, for `/testbed/flows`.
    pub flows: flow_log::FlowLog,
    /// A fault to inject into the next ID token (conformance tests of clients).
    pub faults: fault::Faults,
    /// The counters `/metrics` renders ([`usage`]); a child issuer shares its parent's.
    pub usage: Arc<usage::Usage>,
    /// The identity providers users are sent to; `None` runs the STS for machines only.
    pub federation: Option<federation::Federation>,
    /// The seeded population, built on first use (not at start, to keep start-up fast).
    population: OnceLock<Arc<synthpop::Population>>,
}

impl Sts {
    /// An STS over `store`; creates the first signing key if there is none.
    pub fn new(config: StsConfig, store: Store, clock: Arc<dyn Clock>) -> Result<Sts, StsError> {
        Sts::with_ring(config, Arc::new(store), clock, keys::MAIN_RING)
    }

    fn with_ring(
        config: StsConfig,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        ring: &str,
    ) -> Result<Sts, StsError> {
        let keys = KeyCache::new(&store, ring, clock.now(), config.key_overlap)?;
        Ok(Sts {
            config,
            store,
            ring: ring.to_owned(),
            clock,
            nonces: NonceIssuer::new()?,
            assertion_replay: ReplayCache::new(REPLAY_CAPACITY),
            dpop_replay: ReplayCache::new(REPLAY_CAPACITY),
            keys,
            par_requests: ephemeral::Ephemeral::new(EPHEMERAL_CAPACITY),
            logins: ephemeral::Ephemeral::new(EPHEMERAL_CAPACITY),
            codes: ephemeral::Ephemeral::new(EPHEMERAL_CAPACITY),
            sessions: session::Sessions::default(),
            flows: flow_log::FlowLog::default(),
            faults: fault::Faults::default(),
            usage: usage::Usage::new(),
            federation: None,
            population: OnceLock::new(),
        })
    }

    /// Opens the data directory's database.
    pub fn open(
        config: StsConfig,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Sts, StsError> {
        Sts::new(config, Store::open(data_dir)?, clock)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A second issuer, `<issuer><suffix>` (a conformance session: `/s/<id>`), over this
    /// one's registrations: it shares the store (clients, APIs, organisations, delegations),
    /// the population and the identity providers, and has its own signing keys (the ring
    /// named `suffix` without its leading `/`), flow log, faults, replay caches, nonces,
    /// pushed requests, logins and codes, so nothing done at one issuer (a fault, a key
    /// rotation, a replayed proof) touches another's tokens. Its federation callback is
    /// registered with the bundled IdPs.
    pub fn child(&self, suffix: &str) -> Result<Sts, StsError> {
        let mut config = self.config.clone();
        config.issuer = format!("{}{suffix}", self.config.issuer);
        let ring = suffix.trim_start_matches('/');
        let mut child = Sts::with_ring(config, self.store.clone(), self.clock.clone(), ring)?;
        child.usage = self.usage.clone();
        if let Some(p) = self.population.get() {
            let _ = child.population.set(p.clone());
        }
        if let Some(federation) = &self.federation {
            if let Some(idps) = &federation.idps {
                idps.allow_redirect_uri(&federation.client_id, &login::callback_uri(&child));
            }
            child.federation = Some(federation.clone());
        }
        Ok(child)
    }

    /// The name of this issuer's signing-key ring.
    pub fn key_ring(&self) -> &str {
        &self.ring
    }

    pub fn keys(&self) -> Result<Arc<KeyRing>, KeysError> {
        self.keys.ring(&self.store, self.now())
    }

    /// The synthetic population this environment was seeded from (the defaults for a store
    /// that was never seeded).
    pub fn population(&self) -> Result<Arc<synthpop::Population>, StsError> {
        if let Some(p) = self.population.get() {
            return Ok(p.clone());
        }
        let options = seed::recorded(&self.store)?.unwrap_or_default();
        let built = synthpop::Population::new(options.seed, options.population)
            .map_err(|e| StsError::Seed(e.to_string()))?;
        Ok(self.population.get_or_init(|| Arc::new(built)).clone())
    }

    /// Spoils the next ID token, authorization response or token response with `fault`
    /// (`None` clears it). For conformance tests of clients only: there is no endpoint for
    /// it; see [`fault`]. [`fault::Fault::ExpiredKey`] retires the active signing key now, so
    /// it fails only when the keys cannot be rotated.
    pub fn set_fault(&self, fault: Option<fault::Fault>) -> Result<(), KeysError> {
        self.faults.set(fault);
        if fault == Some(fault::Fault::ExpiredKey) {
            let old = self.rotate_keys_retiring_old()?;
            self.faults.set_retired(Some(old));
        }
        Ok(())
    }

    /// Rotates the signing key now (what `helseid-testbed keys rotate` does from outside).
    pub fn rotate_keys(&self) -> Result<String, KeysError> {
        let kid = keys::rotate(&self.store, &self.ring, self.now())?;
        self.keys.reload(&self.store, self.now())?;
        Ok(kid)
    }

    /// Rotates the signing key and retires the old one at once: it leaves the JWKS (it is
    /// in the expired JWKS) instead of staying published for the overlap. Returns the ring
    /// as it was, whose active key is the retired one (for [`fault::Fault::RotatedOutKey`]).
    pub fn rotate_keys_retiring_old(&self) -> Result<Arc<KeyRing>, KeysError> {
        let old = self.keys()?;
        let now = self.now();
        keys::rotate(&self.store, &self.ring, now)?;
        self.store
            .set_key_replaced_at(&old.active.kid, now - old.overlap - 1)?;
        self.keys.reload(&self.store, now)?;
        Ok(old)
    }
}

/// The router of every endpoint, nested under the issuer's path when it has one (for a
/// [`Sts::child`], `<parent path>/s/<id>`; its IdPs are the parent's).
pub fn app(sts: Arc<Sts>) -> Router {
    build(sts, None)
}

/// The STS with the bundled identity providers (`mock-idp`) under `<issuer>/idp/<name>`,
/// federated to as a relying party. `listen_base` is `http://<address the server listens
/// on>`: the STS calls the IdPs' token endpoints there, whatever the public issuer says.
pub fn app_with_idps(mut sts: Sts, listen_base: &str) -> Result<(Arc<Sts>, Router), StsError> {
    // The STS's client secret at its own IdPs: a bearer secret, so from the CSPRNG or no
    // start at all.
    let secret = protocol::jose::random_hex::<32>()?;
    let population = sts.population()?;
    let settings = mock_idp::IdpSettings::new(&sts.config.issuer, population)
        .with_client(mock_idp::RegisteredRp {
            client_id: federation::RP_CLIENT_ID.into(),
            client_secret: secret.clone(),
            redirect_uris: vec![login::callback_uri(&sts)],
        })
        // The conformance runner's relying party, so idp scenarios can test these IdPs.
        .with_client(mock_idp::conformance_rp())
        .with_clock(sts.clock.clone());
    let idps = mock_idp::MockIdps::new(settings)
        .map_err(|e| StsError::Seed(format!("identity providers: {e}")))?;
    let upstreams = idps
        .descriptors()
        .map(|d| federation::Upstream {
            name: d.name.to_owned(),
            scheme: d.scheme.to_owned(),
            aliases: d.scheme_aliases.iter().map(|a| (*a).to_owned()).collect(),
            display_nb: d.display_name.nb.to_owned(),
            display_en: d.display_name.en.to_owned(),
            levels: d
                .levels()
                .iter()
                .map(|l| {
                    if *l == mock_idp::SecurityLevel::Level4 {
                        4
                    } else {
                        3
                    }
                })
                .collect(),
            test_automation: d.test_automation,
        })
        .collect();
    let internal = format!(
        "{}{}",
        listen_base.trim_end_matches('/'),
        issuer_path(&sts.config.issuer)
    );
    let mut federation =
        federation::Federation::new(upstreams, secret, internal, &sts.config.issuer);
    federation.idps = Some(idps.clone());
    sts.federation = Some(federation);
    let sts = Arc::new(sts);
    let router = build(sts.clone(), Some(idps.router()));
    Ok((sts, router))
}

fn build(sts: Arc<Sts>, idps: Option<Router>) -> Router {
    let routes = Router::new()
        .route(endpoints::DISCOVERY, get(discovery::document))
        .route(endpoints::JWKS, get(discovery::jwks))
        .route(endpoints::EXPIRED_JWKS, get(discovery::expired_jwks))
        .route(endpoints::AVAILABLE_IDPS, get(discovery::available_idps))
        .route(endpoints::TOKEN, post(token::token))
        .route(endpoints::PAR, post(par::par))
        .route(endpoints::AUTHORIZE, get(login::authorize))
        .route(testbed::IDP_START, get(login::start))
        .route(testbed::FEDERATION_CALLBACK, get(login::callback))
        .route(endpoints::END_SESSION, get(endsession::end_session))
        .route(endpoints::REVOCATION, post(revocation::revoke))
        .route(
            endpoints::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(endpoints::INTROSPECTION, post(introspection::introspect))
        // JSON answers only, a wrong method's too.
        .route(
            testbed::ENVIRONMENT,
            get(environment::environment).layer(axum::middleware::from_fn(error::json_errors)),
        )
        .route(
            testbed::FLOWS,
            get(flow_log::flows).layer(axum::middleware::from_fn(error::json_errors)),
        )
        .route(testbed::METRICS, get(usage::metrics))
        .merge(selvbetjening::routes())
        .merge(ttt::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(sts.clone());
    let routes = match idps {
        Some(idps) => routes.merge(idps),
        None => routes,
    }
    .layer(axum::middleware::from_fn_with_state(
        sts.clone(),
        flow_log::record,
    ));
    let path = issuer_path(&sts.config.issuer);
    if path.is_empty() {
        routes
    } else {
        Router::new().nest(&path, routes).fallback(not_found)
    }
}

/// The path part of the issuer URL (`/tenant` in `http://host/tenant`), or "".
pub fn issuer_path(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_owned(),
        None => String::new(),
    }
}

async fn not_found(uri: axum::http::Uri) -> error::OAuthError {
    error::OAuthError::invalid_request(format!("no endpoint at {}", uri.path()))
        .with_status(axum::http::StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_leaves_out_the_api_key() {
        let config = StsConfig::new("http://127.0.0.1:8080/", "s3cr3t-api-key");
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t-api-key"), "{text}");
        assert!(text.contains("api_key: \"[redacted]\""), "{text}");
        assert!(text.contains("issuer: \"http://127.0.0.1:8080\""), "{text}");
        // The whole STS prints its config the same way.
        let dir = tempfile::tempdir().unwrap();
        let sts = Sts::open(
            config,
            dir.path(),
            Arc::new(protocol::clock::ManualClock::new(1_800_000_000)),
        )
        .unwrap();
        assert!(!format!("{sts:?}").contains("s3cr3t-api-key"));
    }

    #[test]
    fn a_child_issuer_has_its_own_keys_and_faults_over_the_same_store() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(protocol::clock::ManualClock::new(1_800_000_000));
        let parent = Sts::open(
            StsConfig::new("http://127.0.0.1:8080", "k"),
            dir.path(),
            clock,
        )
        .unwrap();
        let child = parent.child("/s/abc").unwrap();
        assert_eq!(child.config.issuer, "http://127.0.0.1:8080/s/abc");
        assert_eq!(child.key_ring(), "s/abc");
        let (p, c) = (parent.keys().unwrap(), child.keys().unwrap());
        assert_ne!(p.active.kid, c.active.kid);
        // A key fault at the child rotates the child's ring only.
        child.set_fault(Some(fault::Fault::ExpiredKey)).unwrap();
        assert_eq!(parent.faults.pending(), None);
        assert_eq!(parent.keys().unwrap().active.kid, p.active.kid);
        assert_ne!(child.keys().unwrap().active.kid, c.active.kid);
        assert_eq!(parent.keys().unwrap().keys.len(), 1);
        // The registrations are shared.
        parent.store.set_meta("probe", "1").unwrap();
        assert_eq!(child.store.meta("probe").unwrap().as_deref(), Some("1"));
    }

    #[test]
    fn a_schema_1_database_keeps_its_keys_as_the_main_ring() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = rusqlite::Connection::open(dir.path().join(store::DB_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '1');
                 CREATE TABLE signing_keys (kid TEXT PRIMARY KEY, alg TEXT NOT NULL,
                    pkcs8 BLOB NOT NULL, created_at INTEGER NOT NULL, replaced_at INTEGER);
                 INSERT INTO signing_keys VALUES ('OLD', 'RS256', x'00', 1, NULL);",
            )
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let keys = store.signing_keys(keys::MAIN_RING).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid, "OLD");
        assert!(store.signing_keys("s/x").unwrap().is_empty());
    }
}
