//! Faulty tokens: each differs from a token the STS really issued in exactly one way.
//!
//! The baseline comes from the embedded STS's token endpoint. Variants that must carry a
//! valid signature (expired, wrong issuer, level 3, ...) are re-signed with the STS's own
//! active key, so only the one fault can make an API refuse them.

use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
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
        let (header, claims) = decode(baseline).ok_or(ForgeError::NotJwt)?;
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
    /// library might be handed it: SPKI PEM (with and without the final newline), PKCS#1 PEM,
    /// SPKI DER, the JWK's JSON text, and the raw modulus.
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
                let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
                let tag = hmac::sign(&key, signing_input.as_bytes());
                (
                    label,
                    format!("{signing_input}.{}", b64_encode(tag.as_ref())),
                )
            })
            .collect()
    }

    /// Signed by a fresh RSA key whose `kid` is in no JWKS.
    pub fn unknown_kid(&self) -> Result<String, ForgeError> {
        let key =
            SigningKey::generate_rsa(2048, Alg::RS256, jose::random_id()).map_err(sign_err)?;
        key.sign_jwt(
            self.header_without_alg()
                .into_iter()
                .filter(|(k, _)| k != "kid")
                .collect(),
            &Value::Object(self.claims.clone()),
        )
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

/// The header and claims of a JWT.
pub fn decode(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let h = parts.next()?;
    let c = parts.next()?;
    let header = serde_json::from_slice(&jose::b64_decode(h)?).ok()?;
    let claims = serde_json::from_slice(&jose::b64_decode(c)?).ok()?;
    Some((header, claims))
}

fn b64_json(v: &Value) -> String {
    b64_encode(&serde_json::to_vec(v).unwrap_or_default())
}

/// The byte strings an algorithm-confusion attack uses as the HMAC secret.
pub fn confusion_secrets(jwk: &PublicJwk) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let KeyMaterial::Rsa { n, e } = &jwk.material {
        let pkcs1 = der_sequence(&[der_integer(n), der_integer(e)]);
        let spki = der_sequence(&[
            der_sequence(&[RSA_ENCRYPTION_OID.to_vec(), vec![0x05, 0x00]]),
            der_bit_string(&pkcs1),
        ]);
        let pem = pem("PUBLIC KEY", &spki);
        out.push(("SPKI PEM".to_owned(), pem.clone().into_bytes()));
        out.push((
            "SPKI PEM without the final newline".to_owned(),
            pem.trim_end().as_bytes().to_vec(),
        ));
        out.push((
            "PKCS#1 PEM".to_owned(),
            self::pem("RSA PUBLIC KEY", &pkcs1).into_bytes(),
        ));
        out.push(("SPKI DER".to_owned(), spki));
        out.push(("RSA modulus".to_owned(), n.clone()));
    }
    out.push((
        "JWK JSON".to_owned(),
        serde_json::to_vec(&jwk.to_json()).unwrap_or_default(),
    ));
    out
}

/// 1.2.840.113549.1.1.1 (rsaEncryption), DER-encoded with its tag.
const RSA_ENCRYPTION_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_integer(unsigned_be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = unsigned_be
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der_tlv(0x02, &content)
}

fn der_sequence(items: &[Vec<u8>]) -> Vec<u8> {
    der_tlv(0x30, &items.concat())
}

fn der_bit_string(content: &[u8]) -> Vec<u8> {
    let mut c = vec![0];
    c.extend_from_slice(content);
    der_tlv(0x03, &c)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_integer(&[0x00, 0x01]), vec![0x02, 0x01, 0x01]);
        assert_eq!(der_integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_integer(&[]), vec![0x02, 0x01, 0x00]);
        assert_eq!(der_len(300), vec![0x82, 0x01, 0x2c]);
    }

    #[test]
    fn spki_der_is_what_aws_lc_makes() {
        // aws-lc-rs can parse an SPKI public key; a key made there must round-trip.
        let key = SigningKey::generate_rsa(2048, Alg::RS256, "k".into())
            .unwrap_or_else(|e| panic!("{e}"));
        let secrets = confusion_secrets(key.public_jwk());
        let spki = &secrets
            .iter()
            .find(|(l, _)| l == "SPKI DER")
            .unwrap_or_else(|| panic!("no SPKI"))
            .1;
        let parsed = aws_lc_rs::rsa::PublicKey::from_der(spki);
        assert!(parsed.is_ok(), "aws-lc-rs rejects our SPKI DER");
        let pem = String::from_utf8_lossy(&secrets[0].1).into_owned();
        assert!(pem.starts_with(
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        ));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
    }
}
