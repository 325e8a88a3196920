//! The STS as a relying party of the identity providers it federates to (reference §9: HelseID
//! sends the user to ID-porten, BankID, Buypass, Commfides, TestIDP or an organisation's own
//! IdP and takes the identity number, method and level from the ID token that comes back).
//!
//! Authorization-code flow with PKCE and `client_secret_post` against each IdP (OIDC Core
//! §3.1), over HTTP like any RP. Browser redirects use the IdP's public URL; the back channel
//! (token, JWKS) uses the address the STS listens on, so it works whatever `--issuer` says.

use std::fmt;

use serde_json::Value;
use thiserror::Error;

use protocol::id_token::{self, Expected};

/// The client id the STS has at every bundled IdP.
pub const RP_CLIENT_ID: &str = "helseid-testbed-sts";

/// An identity provider the STS can send users to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Path segment under `/idp/`.
    pub name: String,
    /// HelseID's `idp` claim value (`testidp-oidc`, `idporten-oidc`, ...).
    pub scheme: String,
    /// Other names that select it (`testidpnew-oidc` for TestIDP).
    pub aliases: Vec<String>,
    pub display_nb: String,
    pub display_en: String,
    /// Security levels it can assert.
    pub levels: Vec<u8>,
    /// Whether `test_pid` logs in without a page (TestIDP).
    pub test_automation: bool,
}

/// The RP registration the STS has at every bundled IdP. Its `Debug` leaves out the client
/// secret.
#[derive(Clone)]
pub struct Federation {
    pub upstreams: Vec<Upstream>,
    pub client_id: String,
    pub client_secret: String,
    /// Base URL for back-channel calls to the IdPs (`http://<listen address><issuer path>`).
    pub internal_base: String,
    /// The issuer the IdPs are published under (`<public_base>/idp/<name>`): the STS's own,
    /// also for a conformance session's issuer (`<issuer>/s/<id>`), which federates to the
    /// same IdPs.
    pub public_base: String,
    /// The bundled IdPs, to register a session issuer's callback with; `None` when the IdPs
    /// are not this process's.
    pub idps: Option<mock_idp::MockIdps>,
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

impl fmt::Debug for Federation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Federation")
            .field("upstreams", &self.upstreams)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("internal_base", &self.internal_base)
            .field("public_base", &self.public_base)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for the back channel to the IdPs, which are reached over plain HTTP on
/// the address the server listens on: it trusts no certificate roots, so it needs none from
/// the system (a `FROM scratch` image has none, and loading them would fail there).
fn back_channel() -> reqwest::Client {
    let builder = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
    };
    builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .or_else(|_| builder().build())
        .unwrap_or_default()
}

impl Upstream {
    /// The `idp` claim of a login at this IdP: the name the client selected it by when that
    /// is one of its aliases, else its scheme.
    pub fn claimed_scheme<'a>(&'a self, selected: Option<&'a str>) -> &'a str {
        selected
            .filter(|s| self.aliases.iter().any(|a| a == s))
            .unwrap_or(&self.scheme)
    }
}

impl Federation {
    pub fn new(
        upstreams: Vec<Upstream>,
        client_secret: String,
        internal_base: String,
        public_base: &str,
    ) -> Federation {
        Federation {
            upstreams,
            client_id: RP_CLIENT_ID.into(),
            client_secret,
            internal_base: internal_base.trim_end_matches('/').to_owned(),
            public_base: public_base.trim_end_matches('/').to_owned(),
            idps: None,
            http: back_channel(),
        }
    }

    pub fn find(&self, name_or_scheme: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| {
            u.name == name_or_scheme
                || u.scheme == name_or_scheme
                || u.aliases.iter().any(|a| a == name_or_scheme)
        })
    }

    /// The IdPs that can assert at least `min_level`.
    pub fn offering(&self, min_level: Option<u8>) -> Vec<&Upstream> {
        self.upstreams
            .iter()
            .filter(|u| min_level.is_none_or(|m| u.levels.iter().any(|l| *l >= m)))
            .collect()
    }

    /// The IdP's issuer as browsers and ID tokens know it.
    pub fn public_issuer(&self, idp: &Upstream) -> String {
        format!("{}/idp/{}", self.public_base, idp.name)
    }

    fn internal(&self, idp: &Upstream) -> String {
        format!("{}/idp/{}", self.internal_base, idp.name)
    }

    /// Redeems the code of `answer` at the IdP and verifies its ID token.
    pub async fn redeem(
        &self,
        idp: &Upstream,
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
        let issuer = self.public_issuer(idp);
        let expected = Expected {
            issuer: &issuer,
            client_id: &self.client_id,
            nonce,
            now,
        };
        verify_id_token(id_token, &jwks, &expected).map_err(|detail| FederationError::BadIdToken {
            idp: idp.scheme.clone(),
            detail,
        })
    }
}

/// Checks an IdP's ID token ([`protocol::id_token::validate`], OIDC Core §3.1.3.7 and `sub`)
/// and then reads the person, level and method from its verified claims.
pub fn verify_id_token(
    token: &str,
    jwks: &Value,
    expected: &Expected<'_>,
) -> Result<Assertion, String> {
    let claims = id_token::validate(token, jwks, expected).map_err(|e| e.to_string())?;
    let pid = claims
        .get("pid")
        .and_then(Value::as_str)
        .ok_or("no pid claim")?
        .to_owned();
    let security_level = match claims.get("security_level") {
        Some(Value::String(s)) => s.parse().map_err(|_| "security_level is not a number")?,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or("security_level is not a level")?,
        _ => return Err("no security_level claim".into()),
    };
    let amr = match claims.get("amr") {
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

#[cfg(test)]
mod tests {
    use protocol::jose::Alg;
    use protocol::signing::SigningKey;
    use serde_json::{Map, json};

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "http://sts/idp/bankid",
            client_id: RP_CLIENT_ID,
            nonce: "n1",
            now: NOW,
        }
    }

    fn token(key: &SigningKey, changes: Value) -> String {
        let mut claims = json!({
            "iss": "http://sts/idp/bankid", "aud": RP_CLIENT_ID, "nonce": "n1", "sub": "s1",
            "iat": NOW, "exp": NOW + 300, "pid": "15838512329", "security_level": "4",
            "amr": ["bankid"],
        });
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        key.sign_jwt(Map::new(), &claims).unwrap()
    }

    #[test]
    fn a_valid_id_token_gives_the_person_level_and_method() {
        let key = SigningKey::generate_ec(Alg::ES256, "k".into()).unwrap();
        let jwks = json!({"keys": [key.public_jwk().to_json()]});
        assert_eq!(
            verify_id_token(&token(&key, json!({})), &jwks, &expected()),
            Ok(Assertion {
                pid: "15838512329".into(),
                security_level: 4,
                amr: vec!["bankid".into()],
            })
        );
        // protocol::id_token's steps apply, with its one leeway: 30 s past exp still passes.
        let late = Expected {
            now: NOW + 330,
            ..expected()
        };
        assert!(verify_id_token(&token(&key, json!({})), &jwks, &late).is_ok());
        let refusal = verify_id_token(&token(&key, json!({"sub": ""})), &jwks, &expected());
        assert!(refusal.unwrap_err().starts_with("sub is \"\""));
        let refusal = verify_id_token(&token(&key, json!({"nonce": "n2"})), &jwks, &expected());
        assert!(refusal.unwrap_err().starts_with("nonce is \"n2\""));
        let refusal = verify_id_token(&token(&key, json!({"pid": null})), &jwks, &expected());
        assert_eq!(refusal, Err("no pid claim".into()));
    }

    #[test]
    fn debug_leaves_out_the_client_secret() {
        let f = Federation::new(
            Vec::new(),
            "s3cr3t".into(),
            "http://127.0.0.1:1".into(),
            "http://127.0.0.1:1",
        );
        let text = format!("{f:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}
