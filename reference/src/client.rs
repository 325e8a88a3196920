//! A machine-to-machine HelseID client: `client_credentials` with a `private_key_jwt` client
//! assertion and a DPoP-bound token, including the server-nonce round trip (reference §3.3:
//! the first request fails with `use_dpop_nonce`; the client retries once with the nonce
//! and a fresh assertion and proof), then DPoP-protected API calls (RFC 9449 §7).
//!
//! This mirrors HelseID.Library's `HelseIdClientCredentialsFlow`.

use std::time::{SystemTime, UNIX_EPOCH};

use protocol::client_assertion::{self, AssertionRequest};
use protocol::client_config::ClientConfigFile;
use protocol::dpop;
use protocol::jose::Alg;
use protocol::oauth::{ErrorResponse, TokenResponse};
use protocol::signing::{KeyError, SigningKey};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("client configuration: {0}")]
    Config(String),
    #[error("key: {0}")]
    Key(#[from] KeyError),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the STS refused the request ({status}): {} {}", .error.error, .error.error_description.as_deref().unwrap_or_default())]
    Refused { status: u16, error: ErrorResponse },
    #[error("unexpected response ({status}): {body}")]
    Unexpected { status: u16, body: String },
    /// RFC 6749 §7.1: a client must not use a token whose type it did not ask for; a
    /// `Bearer` answer to a DPoP request would be a downgrade (RFC 9449 §5).
    #[error("the token response has token_type {got:?}, not the {expected} asked for")]
    TokenType { got: String, expected: &'static str },
}

/// What to ask for.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub scope: Option<String>,
    pub resource: Option<String>,
    /// `assertion_details` for the client assertion (organisation numbers, journal id).
    pub details: Option<Value>,
}

/// The outcome of one token request, kept whole for callers that show every step.
#[derive(Debug, Clone)]
pub struct TokenOutcome {
    pub response: TokenResponse,
    /// Requests it took (2 with the nonce round trip).
    pub attempts: u32,
}

/// A client identity: its id, its registered key and a DPoP key.
#[derive(Debug)]
pub struct Client {
    pub client_id: String,
    pub issuer: String,
    pub token_endpoint: String,
    key: SigningKey,
    dpop_key: Option<SigningKey>,
    /// `assertion_details` for every token request that names none of its own.
    details: Option<Value>,
    http: reqwest::Client,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Client {
    /// A client with `key` at `issuer`; DPoP proofs are signed with a fresh ES256 key.
    pub fn new(client_id: &str, issuer: &str, key: SigningKey) -> Result<Client, ClientError> {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Ok(Client {
            client_id: client_id.to_owned(),
            token_endpoint: format!("{issuer}{}", protocol::endpoints::TOKEN),
            issuer,
            key,
            dpop_key: Some(SigningKey::generate_ec(Alg::ES256, "dpop".into())?),
            details: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// A client from the portal's client configuration file; `issuer` overrides its `authority`.
    pub fn from_config(
        file: &ClientConfigFile,
        issuer: Option<&str>,
    ) -> Result<Client, ClientError> {
        let jwk = file
            .private_jwk_json()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let key = SigningKey::from_private_jwk(&jwk, Alg::PS256)?;
        let issuer = issuer
            .map(str::to_owned)
            .or_else(|| file.authority.clone())
            .ok_or_else(|| ClientError::Config("no authority in the file and none given".into()))?;
        let mut client = Client::new(&file.client_id, &issuer, key)?;
        if !file.dpop_enabled() {
            client.dpop_key = None;
        }
        Ok(client)
    }

    /// Signs DPoP proofs with `key` (a caller that must also sign its own proofs, like the
    /// conformance runner, keeps a copy).
    pub fn with_dpop_key(mut self, key: SigningKey) -> Client {
        self.dpop_key = Some(key);
        self
    }

    /// Puts `details` (`assertion_details`) into the client assertion of every token
    /// request that brings none of its own: a multi-tenant client's organisation
    /// (reference §6.1: for a user's tokens, in the assertions of the code redemption and
    /// the refreshes), so a login's tokens are issued for that organisation.
    pub fn with_assertion_details(mut self, details: Value) -> Client {
        self.details = Some(details);
        self
    }

    /// The `assertion_details` set by [`Client::with_assertion_details`], for a caller that
    /// sends its own details to one request and must keep these in them.
    pub fn assertion_details(&self) -> Option<&Value> {
        self.details.as_ref()
    }

    /// Sends no DPoP proofs (a legacy bearer client).
    pub fn without_dpop(mut self) -> Client {
        self.dpop_key = None;
        self
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A fresh client assertion for the token endpoint.
    pub fn assertion(&self, details: Option<Value>) -> Result<String, ClientError> {
        Ok(client_assertion::build(
            &self.key,
            &AssertionRequest {
                client_id: &self.client_id,
                audience: &self.token_endpoint,
                now: now(),
                lifetime: 60,
                details,
            },
        )?)
    }

    /// A fresh DPoP proof, if this client uses DPoP.
    pub fn proof(
        &self,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<Option<String>, ClientError> {
        match &self.dpop_key {
            None => Ok(None),
            Some(k) => Ok(Some(dpop::build_proof(
                k,
                htm,
                htu,
                now(),
                nonce,
                access_token,
            )?)),
        }
    }

    /// Gets a client_credentials token, doing the DPoP nonce round trip.
    pub async fn token(&self, request: &TokenRequest) -> Result<TokenOutcome, ClientError> {
        let mut params = vec![("grant_type", "client_credentials".to_owned())];
        if let Some(s) = &request.scope {
            params.push(("scope", s.clone()));
        }
        if let Some(r) = &request.resource {
            params.push(("resource", r.clone()));
        }
        self.token_request(params, request.details.clone()).await
    }

    /// Redeems an authorization code (with its PKCE verifier) for the first (or `resource`)
    /// audience.
    pub async fn redeem_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        resource: Option<&str>,
    ) -> Result<TokenOutcome, ClientError> {
        let mut params = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ];
        if let Some(r) = resource {
            params.push(("resource", r.to_owned()));
        }
        self.token_request(params, None).await
    }

    /// Redeems a refresh token, for `resource` when given (the multi-API pattern), with
    /// `details` (a new organisation or attestation) in the client assertion.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        resource: Option<&str>,
        details: Option<Value>,
    ) -> Result<TokenOutcome, ClientError> {
        let mut params = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
        ];
        if let Some(r) = resource {
            params.push(("resource", r.to_owned()));
        }
        self.token_request(params, details).await
    }

    /// Exchanges a user's access token (received by this client acting as an API) for one to
    /// another API (RFC 8693), as HelseID's token-exchange sample does.
    pub async fn exchange(
        &self,
        subject_token: &str,
        scope: &str,
    ) -> Result<TokenOutcome, ClientError> {
        let params = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
            ),
            ("subject_token", subject_token.to_owned()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token".to_owned(),
            ),
            ("scope", scope.to_owned()),
        ];
        self.token_request(params, None).await
    }

    /// POSTs to the token endpoint with a fresh assertion and proof, retrying once with the
    /// server's DPoP nonce.
    async fn token_request(
        &self,
        params: Vec<(&str, String)>,
        details: Option<Value>,
    ) -> Result<TokenOutcome, ClientError> {
        let details = details.or_else(|| self.details.clone());
        let mut nonce: Option<String> = None;
        for attempt in 1..=2 {
            let mut form = params.clone();
            form.push(("client_id", self.client_id.clone()));
            form.push((
                "client_assertion_type",
                client_assertion::ASSERTION_TYPE.to_owned(),
            ));
            form.push(("client_assertion", self.assertion(details.clone())?));
            let mut http = self.http.post(&self.token_endpoint).form(&form);
            let proof = self.proof("POST", &self.token_endpoint, nonce.as_deref(), None)?;
            let expected = if proof.is_some() { "DPoP" } else { "Bearer" };
            if let Some(proof) = proof {
                http = http.header("DPoP", proof);
            }
            let response = http.send().await?;
            let status = response.status().as_u16();
            let header_nonce = dpop_nonce(response.headers());
            let body = response.bytes().await?;
            if status == 200 {
                // The serde message names what is missing or wrong; the body is not
                // repeated, as it may hold tokens.
                let response: TokenResponse =
                    serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected {
                        status,
                        body: format!("not a token response: {e}"),
                    })?;
                if !response.token_type.eq_ignore_ascii_case(expected) {
                    return Err(ClientError::TokenType {
                        got: response.token_type,
                        expected,
                    });
                }
                return Ok(TokenOutcome {
                    response,
                    attempts: attempt,
                });
            }
            let error: ErrorResponse =
                serde_json::from_slice(&body).map_err(|_| ClientError::Unexpected {
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                })?;
            match (error.error.as_str(), header_nonce, attempt) {
                ("use_dpop_nonce", Some(n), 1) => nonce = Some(n),
                _ => return Err(ClientError::Refused { status, error }),
            }
        }
        Err(ClientError::Unexpected {
            status: 400,
            body: "the STS asked for a new DPoP nonce twice".into(),
        })
    }

    /// Calls a DPoP-protected API with `access_token` (or a Bearer token for a legacy client).
    pub fn api_request(
        &self,
        method: reqwest::Method,
        url: &str,
        access_token: &str,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        self.api_request_with_nonce(method, url, access_token, None)
    }

    /// [`Client::api_request`] with a nonce the API gave in its proof (RFC 9449 §9).
    pub fn api_request_with_nonce(
        &self,
        method: reqwest::Method,
        url: &str,
        access_token: &str,
        nonce: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let builder = self.http.request(method.clone(), url);
        Ok(
            match self.proof(method.as_str(), htu, nonce, Some(access_token))? {
                Some(proof) => builder
                    .header("Authorization", format!("DPoP {access_token}"))
                    .header("DPoP", proof),
                None => builder.header("Authorization", format!("Bearer {access_token}")),
            },
        )
    }
}

impl Client {
    /// Sends a body-less API request and, when the API answers `use_dpop_nonce` with a
    /// `DPoP-Nonce` header (RFC 9449 §9: an API may require a nonce of its own), sends it
    /// once more with a new proof carrying that nonce. The answer is the last one.
    pub async fn call_api(
        &self,
        method: reqwest::Method,
        url: &str,
        access_token: &str,
    ) -> Result<reqwest::Response, ClientError> {
        let first = self
            .api_request(method.clone(), url, access_token)?
            .send()
            .await?;
        let challenges: Vec<&str> = first
            .headers()
            .get_all("WWW-Authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        // The body is not read: the challenge says it (an API's body may be anything).
        let asked = protocol::dpop_nonce::asks_for_nonce(first.status().as_u16(), &challenges, "");
        match dpop_nonce(first.headers()) {
            Some(nonce) if asked && self.dpop_key.is_some() => Ok(self
                .api_request_with_nonce(method, url, access_token, Some(&nonce))?
                .send()
                .await?),
            _ => Ok(first),
        }
    }
}

/// The `DPoP-Nonce` header of a response (RFC 9449 §8), if it has one.
pub fn dpop_nonce(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("DPoP-Nonce")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
