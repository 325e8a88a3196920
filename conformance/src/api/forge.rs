//! Faulty tokens: each differs from a token the STS really issued in exactly one way.
//!
//! The baseline comes from the embedded STS's token endpoint. Variants that must carry a
//! valid signature (expired, wrong issuer, level 3, ...) are re-signed with the STS's own
//! active key, so only the one fault can make an API refuse them.

use std::sync::Arc;

use mock_sts::keys::KeyRing;
use protocol::jose::{self, Alg, KeyMaterial, PublicJwk, b64_encode};
use protocol::signing::SigningKey;
use serde_json::{Map, Value, json};

/// Forges variants of one baseline access token.
#[derive(Debug)]
pub struct Forge {
    ring: Arc<KeyRing>,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    pub baseline: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("the baseline token is not a JWT with a JSON header and claims")]
    NotJwt,
    #[error("signing: {0}")]
    Sign(String),
}

fn sign_err(e: impl std::fmt::Display) -> ForgeError {
    ForgeError::Sign(e.to_string())
}

impl Forge {
    pub fn new(baseline: &str, ring: Arc<KeyRing>) -> Result<Forge, ForgeError> {
        let (header, claims) = crate::report::decode_jwt(baseline).ok_or(ForgeError::NotJwt)?;
        let (Value::Object(header), Value::Object(claims)) = (header, claims) else {
            return Err(ForgeError::NotJwt);
        };
        Ok(Forge {
            ring,
            header,
            claims,
            baseline: baseline.to_owned(),
        })
    }

    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The baseline's JOSE header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The baseline's claims changed by `edit`, signed by the STS's active key.
    pub fn with_claims(
        &self,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<String, ForgeError> {
        let mut claims = self.claims.clone();
        edit(&mut claims);
        self.sign(self.header_without_alg(), &Value::Object(claims))
    }

    /// The baseline with header members changed by `edit`, signed by the STS's active key.
    pub fn with_header(
        &self,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<String, ForgeError> {
        let mut header = self.header_without_alg();
        edit(&mut header);
        self.sign(header, &Value::Object(self.claims.clone()))
    }

    fn header_without_alg(&self) -> Map<String, Value> {
        let mut h = self.header.clone();
        h.remove("alg");
        h
    }

    fn sign(&self, header: Map<String, Value>, claims: &Value) -> Result<String, ForgeError> {
        self.ring.active.sign_jwt(header, claims).map_err(sign_err)
    }

    /// `alg: none`, no signature (RFC 7519 §6's unsecured JWT).
    pub fn alg_none(&self) -> String {
        let mut header = self.header.clone();
        header.insert("alg".into(), json!("none"));
        format!(
            "{}.{}.",
            b64_json(&Value::Object(header)),
            b64_json(&Value::Object(self.claims.clone()))
        )
    }

    /// HS256 tokens whose HMAC secret is the issuer's public key in each form a vulnerable
    /// library might be handed it (see [`confusion_secrets`]).
    pub fn hs256_with_public_key(&self) -> Vec<(String, String)> {
        let jwk = self.ring.active.public_jwk();
        let mut header = self.header.clone();
        header.insert("alg".into(), json!("HS256"));
        let signing_input = format!(
            "{}.{}",
            b64_json(&Value::Object(header)),
            b64_json(&Value::Object(self.claims.clone()))
        );
        confusion_secrets(jwk)
            .into_iter()
            .map(|(label, secret)| {
                let tag = jose::hmac_sha256(&secret, signing_input.as_bytes());
                (label, format!("{signing_input}.{}", b64_encode(&tag)))
            })
            .collect()
    }

    /// Signed by a fresh RSA key whose `kid` is in no JWKS, the key itself in the header's
    /// `jwk` (the embedded-key attack, CVE-2018-0114, comes free with the unknown kid).
    pub fn unknown_kid(&self) -> Result<String, ForgeError> {
        let key =
            SigningKey::generate_rsa(2048, Alg::RS256, jose::random_id()).map_err(sign_err)?;
        let mut header: Map<String, Value> = self
            .header_without_alg()
            .into_iter()
            .filter(|(k, _)| k != "kid")
            .collect();
        header.insert("jwk".into(), key.public_jwk().to_json());
        key.sign_jwt(header, &Value::Object(self.claims.clone()))
            .map_err(sign_err)
    }

    /// The baseline with its signature's bytes changed.
    pub fn bad_signature(&self) -> String {
        let mut parts: Vec<String> = self.baseline.split('.').map(str::to_owned).collect();
        if let Some(sig) = parts.get_mut(2) {
            let mut bytes = jose::b64_decode(sig).unwrap_or_default();
            for b in bytes.iter_mut().take(8) {
                *b ^= 0x5a;
            }
            *sig = b64_encode(&bytes);
        }
        parts.join(".")
    }

    /// The baseline's payload with `exp` a day later, its signature kept.
    pub fn tampered_payload(&self) -> String {
        let mut claims = self.claims.clone();
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        claims.insert("exp".into(), json!(exp + 86_400));
        let parts: Vec<&str> = self.baseline.split('.').collect();
        format!(
            "{}.{}.{}",
            parts.first().copied().unwrap_or_default(),
            b64_json(&Value::Object(claims)),
            parts.get(2).copied().unwrap_or_default()
        )
    }
}

fn b64_json(v: &Value) -> String {
    b64_encode(&serde_json::to_vec(v).unwrap_or_default())
}

/// The byte strings an algorithm-confusion attack uses as the HMAC secret: the SPKI PEM
/// (what OpenSSL writes, and [`protocol::jose::hs256_confusion_secret`]), the same without its
/// final newline, the DER, the RSA modulus and the JWK's JSON text.
pub fn confusion_secrets(jwk: &PublicJwk) -> Vec<(String, Vec<u8>)> {
    let pem = jwk.to_spki_pem();
    let mut out = vec![
        ("SPKI PEM".to_owned(), jose::hs256_confusion_secret(jwk)),
        (
            "SPKI PEM without the final newline".to_owned(),
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("SPKI DER".to_owned(), jwk.to_spki_der()),
    ];
    if let KeyMaterial::Rsa { n, .. } = &jwk.material {
        out.push(("RSA modulus".to_owned(), n.clone()));
    }
    out.push((
        "JWK JSON".to_owned(),
        serde_json::to_vec(&jwk.to_json()).unwrap_or_default(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_secret_is_the_one_the_reference_api_falls_for() {
        let key = SigningKey::generate_rsa(2048, Alg::RS256, "k".into())
            .unwrap_or_else(|e| panic!("{e}"));
        let secrets = confusion_secrets(key.public_jwk());
        assert_eq!(secrets[0].1, jose::hs256_confusion_secret(key.public_jwk()));
        assert_eq!(secrets.len(), 5);
        assert!(secrets.iter().all(|(_, s)| !s.is_empty()));
    }
}
