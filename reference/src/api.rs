//! A HelseID-protected HTTP API done right: the model vendors read, and the testbed's
//! "correct target" for the conformance runner's API checks (with [`Flaw`]s switched on, its
//! "flawed targets").
//!
//! Every request, whatever its method and path, must carry an access token from the
//! configured HelseID issuer, and is answered 200 with a JSON summary of the caller when it
//! passes. What is checked, in order, is listed on [`validate_request`]; in short:
//!
//! * the token (RFC 9068 §4, RFC 8725): a JWT with `typ` `at+jwt`, signed with RS/PS/ES by a
//!   key the issuer publishes under its `kid`, from the issuer, unexpired and already
//!   valid, for this API's one audience, with a `client_id`;
//! * DPoP (RFC 9449 §4.3, §7; reference §3.5): a token bound to a key (`cnf.jkt`) must come as
//!   `Authorization: DPoP` with one proof for this method and URL, fresh, with this token's
//!   `ath`, signed by the bound key and never used before; with
//!   [`ApiConfig::require_dpop`] Bearer tokens are refused;
//! * what the token grants (reference §5–§7): the required scopes, the user's security
//!   level, a well-formed Tillitsrammeverk attestation, an allowed organisation.
//!
//! Refusals are RFC 6750 §3 / RFC 9449 §7.1 responses ([`challenges`]): 401 with
//! `WWW-Authenticate: Bearer error="invalid_token", ...` or `DPoP error="invalid_token"` /
//! `DPoP error="invalid_dpop_proof"` (with `algs`), 403 `insufficient_scope` (with `scope`),
//! a bare challenge when there are no credentials, 400 `invalid_request` for two
//! `Authorization` headers, and 503 only when the issuer's keys cannot be had or the proof
//! replay cache is full.
//!
//! The issuer's keys come from its discovery document and JWKS, cached; an unknown `kid`
//! refetches them at most once per 10 s ([`Jwks`]). Time comes from a [`Clock`] so tests
//! control it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use helseid_reference::api::{ApiConfig, serve};
//! let config = ApiConfig::new("https://helseid-sts.test.nhn.no", "nhn:my-api")
//!     .with_scope("nhn:my-api/read")
//!     .with_dpop();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! serve(config, listener).await
//! # }
//! ```

mod config;
mod flaw;
mod http;
mod jwks;
mod validate;

use std::fmt;
use std::sync::Arc;

use protocol::dpop_nonce::NonceIssuer;
use protocol::jose::RngError;
use protocol::replay::ReplayCache;

pub use config::{
    ApiConfig, Clock, DEFAULT_JWKS_MAX_AGE_SECS, DEFAULT_JWKS_REFETCH_SECS, DEFAULT_LEEWAY_SECS,
    DEFAULT_REPLAY_CAPACITY, PROOF_WINDOW_SECS, system_clock,
};
pub use flaw::{Flaw, UnknownFlaw};
pub use http::{authorize, challenges, dpop_algs, refusal_response, request_url, router};
pub use jwks::{Jwks, JwksError, LocalKeys};
/// The HMAC key of the algorithm-confusion flaw ([`Flaw::AcceptHs256WithPublicKey`]): the
/// issuer key's PEM text as bytes. Defined in [`protocol::jose`] so the conformance runner
/// forges with the same bytes without depending on this crate.
pub use protocol::jose::hs256_confusion_secret;
pub use validate::{
    ApiRefusal, Caller, ProofError, ProofState, ScopeError, TokenError, token_kid, validate_request,
};

/// What the handler shares: the configuration, the key cache, the proof replay cache and
/// the clock.
#[derive(Clone)]
pub struct ApiState {
    pub config: Arc<ApiConfig>,
    pub jwks: Arc<Jwks>,
    pub replay: Arc<ReplayCache>,
    /// The API's DPoP nonces (used when [`ApiConfig::require_dpop_nonce`]).
    pub nonces: Arc<NonceIssuer>,
    pub clock: Clock,
}

impl fmt::Debug for ApiState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiState")
            .field("config", &self.config)
            .field("jwks", &self.jwks)
            .field("replay", &self.replay)
            .finish_non_exhaustive()
    }
}

/// Why an [`ApiState`] could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ApiStateError {
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// The nonce key could not be drawn; an API must not run with a guessable one.
    #[error("the DPoP nonce key: {0}")]
    Rng(#[from] RngError),
}

impl ApiState {
    /// State for `config` on the machine's clock.
    pub fn new(config: ApiConfig) -> Result<ApiState, ApiStateError> {
        ApiState::with_clock(config, system_clock())
    }

    /// State for `config` on `clock`.
    pub fn with_clock(config: ApiConfig, clock: Clock) -> Result<ApiState, ApiStateError> {
        let jwks = Jwks::new(
            &config.issuer,
            config.jwks_refetch_interval_secs,
            config.jwks_max_age_secs,
        )?;
        Ok(ApiState {
            replay: Arc::new(ReplayCache::new(config.replay_capacity)),
            nonces: Arc::new(NonceIssuer::new()?),
            jwks: Arc::new(jwks),
            config: Arc::new(config),
            clock,
        })
    }
}

/// Serves the API for `config` on `listener` until the server fails.
pub async fn serve(config: ApiConfig, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let state = ApiState::new(config).map_err(std::io::Error::other)?;
    axum::serve(listener, router(state)).await
}
