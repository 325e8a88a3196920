//! The issuer's signing keys: `{issuer}/.well-known/openid-configuration` (OpenID Connect
//! Discovery 1.0 §4), then its `jwks_uri` (RFC 7517 §5), cached.
//!
//! The cache is refreshed when it is older than the configured maximum age, and when a
//! token names a `kid` it does not hold, so a key rotation at the STS is picked up at once.
//! Refetches are at most one per refetch interval (10 s by default) whatever the tokens
//! say, so a flood of made-up `kid`s cannot turn the API into a load generator against the
//! STS. A failed refetch keeps the keys already held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocol::jose::PublicJwk;
use serde_json::Value;
use thiserror::Error;
use tokio::sync::Mutex;

/// Largest discovery document or JWKS read.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;
/// Time limit of one fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwksError {
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    #[error("fetching {url} failed: {detail}")]
    Fetch { url: String, detail: String },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} sent more than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url} is not the JSON expected: {detail}")]
    Document { url: String, detail: String },
    #[error(
        "the discovery document names the issuer {got:?}, not {expected:?} (OpenID Connect Discovery §4.3)"
    )]
    Issuer { got: String, expected: String },
    #[error("the issuer's keys have not been fetched yet (the last attempt failed: {0})")]
    NoKeys(String),
}

#[derive(Debug, Default)]
struct State {
    keys: Arc<Vec<PublicJwk>>,
    /// When the keys held were fetched.
    fetched_at: Option<i64>,
    /// When the last fetch was tried, and how it failed if it did.
    last_attempt: Option<(i64, Option<JwksError>)>,
}

/// The issuer's published JWKS read in-process, for an API served by the STS's own
/// process (the testbed's person API): given the time, the JWKS document's `keys`.
pub type LocalKeys = Arc<dyn Fn(i64) -> Vec<Value> + Send + Sync>;

/// Where the keys come from.
enum Source {
    /// Discovery and `jwks_uri` over HTTP: what an API on its own does.
    Remote(reqwest::Client),
    /// The STS in the same process, with no HTTP in between (its public name may not be
    /// reachable from inside, e.g. behind a TLS terminator).
    Local(LocalKeys),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Remote(_) => "Remote",
            Source::Local(_) => "Local",
        })
    }
}

/// The issuer's keys, fetched on demand.
#[derive(Debug)]
pub struct Jwks {
    issuer: String,
    source: Source,
    refetch_interval: i64,
    max_age: i64,
    state: Mutex<State>,
    fetches: AtomicU64,
}

impl Jwks {
    pub fn new(issuer: &str, refetch_interval: i64, max_age: i64) -> Result<Jwks, JwksError> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| JwksError::Client(e.to_string()))?;
        Ok(Jwks::with_source(
            issuer,
            Source::Remote(http),
            refetch_interval,
            max_age,
        ))
    }

    /// Keys read from the STS in this process by `keys`, cached and refreshed like fetched
    /// ones (so a rotation is seen the same way).
    pub fn local(issuer: &str, keys: LocalKeys, refetch_interval: i64, max_age: i64) -> Jwks {
        Jwks::with_source(issuer, Source::Local(keys), refetch_interval, max_age)
    }

    fn with_source(issuer: &str, source: Source, refetch_interval: i64, max_age: i64) -> Jwks {
        Jwks {
            issuer: issuer.trim_end_matches('/').to_owned(),
            source,
            refetch_interval,
            max_age,
            state: Mutex::new(State::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many fetches were made (for tests and diagnostics).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The keys to verify a token whose header names `kid` with: those held, refetched first
    /// if they are older than the maximum age or `kid` is not among them, unless the last
    /// fetch was less than the refetch interval ago.
    pub async fn keys_for(
        &self,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Arc<Vec<PublicJwk>>, JwksError> {
        let mut state = self.state.lock().await;
        let stale = state
            .fetched_at
            .is_none_or(|at| now.saturating_sub(at) >= self.max_age);
        let unknown =
            kid.is_some_and(|kid| !state.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        // A clock that went backwards also allows a fetch.
        let may_fetch = state
            .last_attempt
            .as_ref()
            .is_none_or(|(at, _)| now.saturating_sub(*at) >= self.refetch_interval || now < *at);
        if (stale || unknown) && may_fetch {
            self.fetches.fetch_add(1, Ordering::Relaxed);
            match self.fetch(now).await {
                Ok(keys) => {
                    state.keys = Arc::new(keys);
                    state.fetched_at = Some(now);
                    state.last_attempt = Some((now, None));
                }
                Err(e) => state.last_attempt = Some((now, Some(e))),
            }
        }
        if state.fetched_at.is_none() {
            let why = state
                .last_attempt
                .as_ref()
                .and_then(|(_, e)| e.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default();
            return Err(JwksError::NoKeys(why));
        }
        Ok(state.keys.clone())
    }

    async fn fetch(&self, now: i64) -> Result<Vec<PublicJwk>, JwksError> {
        let http = match &self.source {
            Source::Local(keys) => return Ok(keys(now).iter().filter_map(signing_key).collect()),
            Source::Remote(http) => http,
        };
        let discovery_url = format!("{}{}", self.issuer, protocol::endpoints::DISCOVERY);
        let discovery = get_json(http, &discovery_url).await?;
        let issuer = discovery
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if issuer != self.issuer {
            return Err(JwksError::Issuer {
                got: issuer.to_owned(),
                expected: self.issuer.clone(),
            });
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| JwksError::Document {
                url: discovery_url.clone(),
                detail: "no jwks_uri".into(),
            })?;
        let jwks = get_json(http, jwks_uri).await?;
        let keys =
            jwks.get("keys")
                .and_then(Value::as_array)
                .ok_or_else(|| JwksError::Document {
                    url: jwks_uri.to_owned(),
                    detail: "no keys array".into(),
                })?;
        Ok(keys.iter().filter_map(signing_key).collect())
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, JwksError> {
    let fetch_error = |e: reqwest::Error| JwksError::Fetch {
        url: url.to_owned(),
        detail: e.to_string(),
    };
    let mut response = http.get(url).send().await.map_err(fetch_error)?;
    if !response.status().is_success() {
        return Err(JwksError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(JwksError::TooLarge {
                url: url.to_owned(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| JwksError::Document {
        url: url.to_owned(),
        detail: e.to_string(),
    })
}

/// A JWKS entry usable for verifying signatures: a public RSA (2048 bits or more) or EC key,
/// not marked for encryption only (RFC 7517 §4.2, §4.3). Others are skipped, not fatal: a
/// JWKS may carry keys for other purposes.
fn signing_key(entry: &Value) -> Option<PublicJwk> {
    if entry.get("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = entry.get("key_ops").and_then(Value::as_array)
        && !ops.iter().any(|op| op == "verify")
    {
        return None;
    }
    PublicJwk::from_json(entry).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn local_keys_are_read_in_process_and_refreshed_like_fetched_ones() {
        use std::sync::Mutex as StdMutex;
        let first =
            protocol::signing::SigningKey::generate_ec(protocol::jose::Alg::ES256, "k1".into())
                .unwrap();
        let second =
            protocol::signing::SigningKey::generate_ec(protocol::jose::Alg::ES256, "k2".into())
                .unwrap();
        let published = Arc::new(StdMutex::new(vec![first.public_jwk().to_json()]));
        let source = published.clone();
        let jwks = Jwks::local(
            "http://sts.invalid/",
            Arc::new(move |_| source.lock().unwrap().clone()),
            10,
            3600,
        );
        let keys = jwks.keys_for(Some("k1"), 100).await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(jwks.fetches(), 1);
        // A rotation: the new kid is read at once, but not more often than the interval.
        published
            .lock()
            .unwrap()
            .push(second.public_jwk().to_json());
        let keys = jwks.keys_for(Some("k2"), 111).await.unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(jwks.fetches(), 2);
        jwks.keys_for(Some("k3"), 112).await.unwrap();
        assert_eq!(
            jwks.fetches(),
            2,
            "an unknown kid within 10 s reads nothing"
        );
        // Nothing published: no keys, an error naming why.
        let empty = Jwks::local("http://sts.invalid", Arc::new(|_| Vec::new()), 10, 3600);
        assert_eq!(empty.keys_for(None, 0).await.unwrap().len(), 0);
    }

    #[test]
    fn only_public_signing_keys_are_kept() {
        let key =
            protocol::signing::SigningKey::generate_ec(protocol::jose::Alg::ES256, "a".into())
                .unwrap();
        let public = key.public_jwk().to_json();
        assert!(signing_key(&public).is_some());
        let mut enc = public.clone();
        enc["use"] = json!("enc");
        assert!(signing_key(&enc).is_none());
        let mut ops = public.clone();
        ops["key_ops"] = json!(["encrypt"]);
        assert!(signing_key(&ops).is_none());
        assert!(signing_key(&key.to_private_jwk().unwrap()).is_none());
        assert!(signing_key(&json!({"kty": "oct", "k": "c2VjcmV0"})).is_none());
    }
}
