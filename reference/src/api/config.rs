//! What the API demands of a request, and the clock it reads.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Flaw;

/// Clock difference tolerated for token times (`exp`, `nbf`, `iat`) and, on top of
/// [`PROOF_WINDOW_SECS`], for DPoP proofs.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;
/// How far a proof's `iat` may lie from now, before leeway (RFC 9449 §11.1 leaves it to the
/// server; 60 s is Duende's `ProofTokenValidityDuration`, which HelseID's STS uses).
pub const PROOF_WINDOW_SECS: i64 = 60;
/// An unknown `kid` refetches the issuer's keys at most this often.
pub const DEFAULT_JWKS_REFETCH_SECS: i64 = 10;
/// Keys are refetched when older than this, whatever the tokens say.
pub const DEFAULT_JWKS_MAX_AGE_SECS: i64 = 3600;
/// Proof `jti`s remembered at most.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// The current time in Unix seconds. Passed in so tests control time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The machine's clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    })
}

/// What the API accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The STS whose tokens are accepted, without a trailing slash (HelseID's issuers have
    /// none): `iss` must equal it exactly, and its keys come from
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The token's one audience (`aud`), e.g. `nhn:testbed-api`.
    pub audience: String,
    /// Scopes the token must all grant (in its `scope` array or space-separated string).
    pub required_scopes: Vec<String>,
    /// When not empty, the token must also grant at least one of these (an API whose
    /// scopes are alternatives, like Persontjenesten's `read-with-legal-basis` and
    /// `read-no-legal-basis`).
    pub any_of_scopes: Vec<String>,
    /// `true`: only DPoP-bound tokens with proofs (`Authorization: DPoP`). `false`: Bearer
    /// tokens are accepted too, but a DPoP-bound token (`cnf.jkt`) must still come with
    /// DPoP and a proof.
    pub require_dpop: bool,
    /// DPoP proofs must carry a fresh nonce issued by this API (RFC 9449 §9): a proof
    /// without one is answered 401 `use_dpop_nonce` with a `DPoP-Nonce` header. HelseID's
    /// APIs do not ask for one; an API may, and clients and the conformance runner follow.
    pub require_dpop_nonce: bool,
    /// The API needs a logged-in user: a token must name the user (pid or HPR number) and
    /// the level of the login, so a machine's (client-credentials) token is refused. Implied
    /// by [`ApiConfig::min_security_level`].
    pub require_user: bool,
    /// `helseid://claims/identity/security_level` must be at least this; a token without
    /// the claim (a machine's token) is refused when set.
    pub min_security_level: Option<u8>,
    /// `nhn:tillitsrammeverk:parameters` must be present and a well-formed attestation.
    pub require_tillitsrammeverk: bool,
    /// When not empty, the client's organisation (`orgnr_child` when the token has one,
    /// else `orgnr_parent`) must be one of these.
    pub allowed_orgs: Vec<String>,
    /// Clock difference tolerated (seconds).
    pub leeway_secs: i64,
    /// Validation steps switched off, for conformance tests only.
    pub flaws: BTreeSet<Flaw>,
    /// The API's external base URL (`https://api.example.no`), for DPoP `htu`. `None`:
    /// `http://` and the request's `Host` header, which is right only when nothing
    /// (TLS terminator, gateway) sits in front.
    pub public_base_url: Option<String>,
    /// An unknown `kid` refetches the keys at most this often (seconds).
    pub jwks_refetch_interval_secs: i64,
    /// Keys older than this are refetched (seconds).
    pub jwks_max_age_secs: i64,
    /// Proof `jti`s remembered at most; when full of live entries, requests with new
    /// proofs get 503 rather than an entry being dropped.
    pub replay_capacity: usize,
}

impl ApiConfig {
    /// An API for `audience` trusting `issuer`: no scope, level, attestation or
    /// organisation demands, Bearer and DPoP accepted, 30 s leeway, no flaws.
    pub fn new(issuer: &str, audience: &str) -> ApiConfig {
        ApiConfig {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
            required_scopes: Vec::new(),
            any_of_scopes: Vec::new(),
            require_dpop: false,
            require_dpop_nonce: false,
            require_user: false,
            min_security_level: None,
            require_tillitsrammeverk: false,
            allowed_orgs: Vec::new(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            flaws: BTreeSet::new(),
            public_base_url: None,
            jwks_refetch_interval_secs: DEFAULT_JWKS_REFETCH_SECS,
            jwks_max_age_secs: DEFAULT_JWKS_MAX_AGE_SECS,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
        }
    }

    /// Requires `scope` too.
    pub fn with_scope(mut self, scope: &str) -> ApiConfig {
        self.required_scopes.push(scope.to_owned());
        self
    }

    /// Requires at least one of `scopes` too.
    pub fn with_any_scope<S: AsRef<str>>(mut self, scopes: &[S]) -> ApiConfig {
        self.any_of_scopes = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
        self
    }

    /// Accepts only DPoP-bound tokens.
    pub fn with_dpop(mut self) -> ApiConfig {
        self.require_dpop = true;
        self
    }

    /// Requires proofs to carry a nonce of this API's (RFC 9449 §9).
    pub fn with_dpop_nonce(mut self) -> ApiConfig {
        self.require_dpop_nonce = true;
        self
    }

    /// Switches `flaw` on.
    pub fn with_flaw(mut self, flaw: Flaw) -> ApiConfig {
        self.flaws.insert(flaw);
        self
    }

    /// Whether tokens must be about a logged-in user.
    pub fn needs_user(&self) -> bool {
        self.require_user || self.min_security_level.is_some()
    }

    /// Whether `flaw` is on.
    pub fn has(&self, flaw: Flaw) -> bool {
        self.flaws.contains(&flaw)
    }

    /// How far a proof's `iat` may lie from now, either way.
    pub fn proof_window(&self) -> i64 {
        PROOF_WINDOW_SECS.saturating_add(self.leeway_secs.max(0))
    }
}
