//! Fault injection for client conformance tests: the STS spoils the next ID token it issues
//! in one way, so a test can see whether a client refuses it
//! (../shared/reference/conformance-checks.md §3).
//!
//! Test-only in spirit: nothing sets a fault but code that holds the [`crate::Sts`] in-process
//! (the conformance runner); there is no HTTP endpoint for it. A fault applies once, to the
//! next ID token of any client, and is then cleared.

use std::sync::Mutex;

use protocol::jose::{Alg, b64_decode, b64_encode};
use protocol::signing::SigningKey;
use serde_json::{Map, Value, json};

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `iss` is another issuer.
    WrongIss,
    /// `aud` is another client.
    WrongAud,
    /// `nonce` is not the one the client sent.
    WrongNonce,
    /// `exp` an hour ago.
    Expired,
    /// The signature does not verify (one byte changed).
    BadSignature,
    /// Signed by a key the STS never published, named by a `kid` the JWKS lacks.
    UnknownKid,
    /// The token response tampered with after signing: the ID token's `sub` and identity
    /// number are another person's, its header and signature the original's.
    TamperedPayload,
    /// Not a fault of the token: the STS rotates its signing key just before signing it, so
    /// it is signed by a key published only from that moment (a client must re-fetch the
    /// JWKS and accept it).
    RotatedKey,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::WrongIss,
        Fault::WrongAud,
        Fault::WrongNonce,
        Fault::Expired,
        Fault::BadSignature,
        Fault::UnknownKid,
        Fault::TamperedPayload,
        Fault::RotatedKey,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Fault::WrongIss => "an ID token from another issuer",
            Fault::WrongAud => "an ID token for another client",
            Fault::WrongNonce => "an ID token with another nonce",
            Fault::Expired => "an expired ID token",
            Fault::BadSignature => "an ID token whose signature does not verify",
            Fault::UnknownKid => "an ID token signed by a key the JWKS does not have",
            Fault::TamperedPayload => "an ID token whose claims were changed after signing",
            Fault::RotatedKey => "an ID token signed by a key the STS rotated in just before",
        }
    }
}

/// The issuer a [`Fault::WrongIss`] token names.
pub const WRONG_ISSUER: &str = "https://wrong-issuer.conformance.invalid";
/// The audience a [`Fault::WrongAud`] token names.
pub const WRONG_AUDIENCE: &str = "another-client";

/// The pending fault.
#[derive(Debug, Default)]
pub struct Faults {
    next_id_token: Mutex<Option<Fault>>,
}

impl Faults {
    pub fn set(&self, fault: Option<Fault>) {
        *self.next_id_token.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// The fault still pending (`None` once an ID token used it).
    pub fn pending(&self) -> Option<Fault> {
        *self.next_id_token.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn take(&self) -> Option<Fault> {
        self.next_id_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Spoils the claims before signing (the claim faults).
pub(crate) fn spoil_claims(fault: Fault, claims: &mut Map<String, Value>, now: i64) {
    match fault {
        Fault::WrongIss => {
            claims.insert("iss".into(), json!(WRONG_ISSUER));
        }
        Fault::WrongAud => {
            claims.insert("aud".into(), json!(WRONG_AUDIENCE));
        }
        Fault::WrongNonce => {
            claims.insert("nonce".into(), json!(protocol::jose::random_id()));
        }
        Fault::Expired => {
            claims.insert("iat".into(), json!(now - 7200));
            claims.insert("nbf".into(), json!(now - 7200));
            claims.insert("exp".into(), json!(now - 3600));
        }
        Fault::BadSignature | Fault::UnknownKid | Fault::TamperedPayload | Fault::RotatedKey => {}
    }
}

/// Signs with a key of its own (the signing faults); `None` for the claim faults.
pub(crate) fn spoil_signature(
    fault: Fault,
    claims: &Value,
    signed: &str,
) -> Result<Option<String>, protocol::signing::KeyError> {
    match fault {
        Fault::BadSignature => {
            let Some((input, sig)) = signed.rsplit_once('.') else {
                return Ok(None);
            };
            let mut bytes = b64_decode(sig).unwrap_or_default();
            if let Some(b) = bytes.first_mut() {
                *b ^= 0x01;
            }
            Ok(Some(format!("{input}.{}", b64_encode(&bytes))))
        }
        Fault::UnknownKid => {
            let key = SigningKey::generate_rsa(
                2048,
                Alg::RS256,
                format!("unknown-{}", protocol::jose::random_id()),
            )?;
            let mut header = Map::new();
            header.insert("typ".into(), json!("JWT"));
            Ok(Some(key.sign_jwt(header, claims)?))
        }
        Fault::TamperedPayload => {
            let mut parts = signed.split('.');
            let (Some(header), Some(_), Some(sig), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Ok(None);
            };
            let mut changed = claims.clone();
            if let Some(map) = changed.as_object_mut() {
                map.insert("sub".into(), json!(protocol::jose::random_id()));
                map.insert(protocol::claims::PID.into(), json!(TAMPERED_PID));
            }
            let payload =
                serde_json::to_vec(&changed).map_err(|_| protocol::signing::KeyError::Sign)?;
            Ok(Some(format!("{header}.{}.{sig}", b64_encode(&payload))))
        }
        _ => Ok(None),
    }
}

/// The identity number a [`Fault::TamperedPayload`] token claims: not the user's, which is the point.
pub const TAMPERED_PID: &str = "13116900216";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_applies_once() {
        let f = Faults::default();
        f.set(Some(Fault::Expired));
        assert_eq!(f.pending(), Some(Fault::Expired));
        assert_eq!(f.take(), Some(Fault::Expired));
        assert_eq!(f.take(), None);
    }

    #[test]
    fn claim_faults_change_the_claim() {
        let mut c = Map::new();
        c.insert("iss".into(), json!("http://sts"));
        c.insert("nonce".into(), json!("n"));
        spoil_claims(Fault::WrongIss, &mut c, 1000);
        assert_eq!(c["iss"], WRONG_ISSUER);
        spoil_claims(Fault::WrongNonce, &mut c, 1000);
        assert_ne!(c["nonce"], "n");
        spoil_claims(Fault::Expired, &mut c, 1000);
        assert_eq!(c["exp"], 1000 - 3600);
    }

    #[test]
    fn a_tampered_token_keeps_header_and_signature() {
        let signed = format!("aGVhZA.{}.c2ln", b64_encode(b"{\"sub\":\"a\"}"));
        let spoiled = spoil_signature(Fault::TamperedPayload, &json!({"sub": "a"}), &signed)
            .unwrap_or_default()
            .unwrap_or_default();
        let parts: Vec<&str> = spoiled.split('.').collect();
        assert_eq!((parts[0], parts[2]), ("aGVhZA", "c2ln"));
        let claims: Value =
            serde_json::from_slice(&b64_decode(parts[1]).unwrap_or_default()).unwrap_or_default();
        assert_ne!(claims["sub"], "a");
        assert_eq!(claims[protocol::claims::PID], TAMPERED_PID);
    }

    #[test]
    fn a_bad_signature_differs_in_the_signature_only() {
        let signed = format!("aGVhZA.Y2xhaW1z.{}", b64_encode(b"signature"));
        let spoiled = spoil_signature(Fault::BadSignature, &json!({}), &signed)
            .ok()
            .flatten()
            .unwrap_or_default();
        assert!(spoiled.starts_with("aGVhZA.Y2xhaW1z."));
        assert_ne!(spoiled, signed);
    }
}
