//! The STS as a relying party of the identity providers it federates to (reference §9: HelseID
//! sends the user to ID-porten, BankID, Buypass, Commfides, TestIDP or an organisation's own
//! IdP and takes the identity number, method and level from the ID token that comes back).
//!
//! Authorization-code flow with PKCE and `client_secret_post` against each IdP (OIDC Core
//! §3.1), over HTTP like any RP. Browser redirects use the IdP's public URL; the back channel
//! (token, JWKS) uses the address the STS listens on, so it works whatever `--issuer` says.

use serde_json::Value;
use thiserror::Error;

use protocol::jose::{PublicJwk, parse_compact};

/// The client id the STS has at every bundled IdP.
pub const RP_CLIENT_ID: &str = "helseid-testbed-sts";

/// An identity provider the STS can send users to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Path segment under `/idp/`.
    pub name: String,
    /// HelseID's `idp` claim value (`testidp-oidc`, `idporten-oidc`, ...).
    pub scheme: String,
    pub display_nb: String,
    pub display_en: String,
    /// Security levels it can assert.
    pub levels: Vec<u8>,
    /// Whether `test_pid` logs in without a page (TestIDP).
    pub test_automation: bool,
}

/// The RP registration the STS has at every bundled IdP.
#[derive(Debug, Clone)]
pub struct Federation {
    pub upstreams: Vec<Upstream>,
    pub client_id: String,
    pub client_secret: String,
    /// Base URL for back-channel calls to the IdPs (`http://<listen address><issuer path>`).
    pub internal_base: String,
    http: reqwest::Client,
}

/// The IdP's code with what the STS sent along with the request that produced it.
#[derive(Debug, Clone, Copy)]
pub struct IdpAnswer<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a str,
    pub nonce: &'a str,
}

/// What an IdP said about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub pid: String,
    pub security_level: u8,
    pub amr: Vec<String>,
}

#[derive(Debug, Error)]
pub enum FederationError {
    #[error("identity provider {idp} could not be reached: {detail}")]
    Unreachable { idp: String, detail: String },
    #[error("identity provider {idp} refused the code: {detail}")]
    Refused { idp: String, detail: String },
    #[error("identity provider {idp} returned an ID token the STS cannot accept: {detail}")]
    BadIdToken { idp: String, detail: String },
}

impl Federation {
    pub fn new(
        upstreams: Vec<Upstream>,
        client_secret: String,
        internal_base: String,
    ) -> Federation {
        Federation {
            upstreams,
            client_id: RP_CLIENT_ID.into(),
            client_secret,
            internal_base: internal_base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn find(&self, name_or_scheme: &str) -> Option<&Upstream> {
        self.upstreams
            .iter()
            .find(|u| u.name == name_or_scheme || u.scheme == name_or_scheme)
    }

    /// The IdPs that can assert at least `min_level`.
    pub fn offering(&self, min_level: Option<u8>) -> Vec<&Upstream> {
        self.upstreams
            .iter()
            .filter(|u| min_level.is_none_or(|m| u.levels.iter().any(|l| *l >= m)))
            .collect()
    }

    /// The IdP's issuer as browsers and ID tokens know it.
    pub fn public_issuer(&self, sts_issuer: &str, idp: &Upstream) -> String {
        format!("{sts_issuer}/idp/{}", idp.name)
    }

    fn internal(&self, idp: &Upstream) -> String {
        format!("{}/idp/{}", self.internal_base, idp.name)
    }

    /// Redeems the code of `answer` at the IdP and verifies its ID token.
    pub async fn redeem(
        &self,
        idp: &Upstream,
        sts_issuer: &str,
        answer: &IdpAnswer<'_>,
        now: i64,
    ) -> Result<Assertion, FederationError> {
        let IdpAnswer {
            code,
            redirect_uri,
            verifier,
            nonce,
        } = *answer;
        let unreachable = |e: reqwest::Error| FederationError::Unreachable {
            idp: idp.scheme.clone(),
            detail: e.to_string(),
        };
        let base = self.internal(idp);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ];
        let response = self
            .http
            .post(format!("{base}/token"))
            .form(&form)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let body: Value = response.json().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(FederationError::Refused {
                idp: idp.scheme.clone(),
                detail: body.to_string(),
            });
        }
        let id_token = body
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| FederationError::Refused {
                idp: idp.scheme.clone(),
                detail: "no id_token in the token response".into(),
            })?;
        let jwks: Value = self
            .http
            .get(format!("{base}/jwks"))
            .send()
            .await
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        let issuer = self.public_issuer(sts_issuer, idp);
        verify_id_token(id_token, &jwks, &issuer, &self.client_id, nonce, now).map_err(|detail| {
            FederationError::BadIdToken {
                idp: idp.scheme.clone(),
                detail,
            }
        })
    }
}

/// Checks an IdP's ID token (OIDC Core §3.1.3.7) and reads the person, level and method.
pub fn verify_id_token(
    token: &str,
    jwks: &Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: i64,
) -> Result<Assertion, String> {
    let jws = parse_compact(token).map_err(|e| e.to_string())?;
    let kid = jws.header_str("kid");
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let verified = keys
        .iter()
        .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
        .filter_map(|k| PublicJwk::from_json(k).ok())
        .any(|k| jws.verify(&k).is_ok());
    if !verified {
        return Err("its signature does not verify with the IdP's keys".into());
    }
    if jws.claim_str("iss") != Some(issuer) {
        return Err(format!("iss {:?} is not {issuer}", jws.claim_str("iss")));
    }
    let aud_ok = match jws.claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err("aud is not the STS".into());
    }
    if jws.claim_str("nonce") != Some(nonce) {
        return Err("nonce does not match".into());
    }
    match jws.claim_time("exp") {
        Some(Ok(exp)) if exp > now - 5 => {}
        _ => return Err("expired".into()),
    }
    let pid = jws.claim_str("pid").ok_or("no pid claim")?.to_owned();
    let security_level = match jws.claims.get("security_level") {
        Some(Value::String(s)) => s.parse().map_err(|_| "security_level is not a number")?,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or("security_level is not a level")?,
        _ => return Err("no security_level claim".into()),
    };
    let amr = match jws.claims.get("amr") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    Ok(Assertion {
        pid,
        security_level,
        amr,
    })
}
