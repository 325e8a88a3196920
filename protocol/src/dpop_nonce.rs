//! Server-issued DPoP nonces: the authorization server's (RFC 9449 §8; HelseID requires one
//! on every token request) and a resource server's (§9; an API may require one too).
//!
//! Nonces are stateless: the issue time and an HMAC over it, so checking one needs no store
//! and survives any number of concurrent clients. The key is random per process; a nonce from
//! before a restart fails and the client simply retries, as it must for a stale nonce anyway.
//! Anyone who knew the key could mint nonces, so an STS whose RNG fails does not start.

use crate::jose::{RngError, b64_decode, b64_encode, random_bytes};
use aws_lc_rs::hmac;

/// How long a nonce is accepted (Duende's default proof validity).
pub const NONCE_LIFETIME_SECS: i64 = 60;

#[derive(Debug)]
pub struct NonceIssuer {
    key: hmac::Key,
}

impl NonceIssuer {
    pub fn new() -> Result<NonceIssuer, RngError> {
        let secret = random_bytes::<32>()?;
        Ok(NonceIssuer {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        })
    }

    pub fn issue(&self, now: i64) -> String {
        let issued = now.to_be_bytes();
        let tag = hmac::sign(&self.key, &issued);
        let mut bytes = issued.to_vec();
        bytes.extend_from_slice(&tag.as_ref()[..16]);
        b64_encode(&bytes)
    }

    /// True when `nonce` was issued here within the lifetime.
    pub fn is_valid(&self, nonce: &str, now: i64) -> bool {
        let Some(bytes) = b64_decode(nonce) else {
            return false;
        };
        if bytes.len() != 24 {
            return false;
        }
        let (issued, tag) = bytes.split_at(8);
        let expected = hmac::sign(&self.key, issued);
        if !crate::jose::constant_time_eq(tag, &expected.as_ref()[..16]) {
            return false;
        }
        let mut buf = [0u8; 8];
        buf.copy_from_slice(issued);
        let issued_at = i64::from_be_bytes(buf);
        issued_at <= now + 5 && now - issued_at <= NONCE_LIFETIME_SECS
    }
}

/// Whether an answer asks for a (new) DPoP nonce: an authorization server's 400 whose JSON
/// body's `error` is `use_dpop_nonce` (RFC 9449 §8), or a resource server's 401 whose
/// `WWW-Authenticate` DPoP challenge, or JSON body, carries that error (§9). The nonce itself
/// is the `DPoP-Nonce` header's.
pub fn asks_for_nonce<S: AsRef<str>>(status: u16, www_authenticate: &[S], body: &str) -> bool {
    const ERROR: &str = "use_dpop_nonce";
    let in_body = || {
        serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|b| b.get("error").and_then(|e| e.as_str()) == Some(ERROR))
    };
    match status {
        400 => in_body(),
        401 => {
            crate::www_authenticate::parse(www_authenticate)
                .iter()
                .any(|c| c.is("DPoP") && c.error() == Some(ERROR))
                || in_body()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_challenges_of_the_sts_and_of_an_api() {
        let none: &[&str] = &[];
        assert!(asks_for_nonce(400, none, r#"{"error":"use_dpop_nonce"}"#));
        assert!(asks_for_nonce(401, &[r#"DPoP error="use_dpop_nonce""#], ""));
        assert!(asks_for_nonce(
            401,
            &[r#"Bearer, DPoP error=use_dpop_nonce, algs="ES256""#],
            ""
        ));
        assert!(asks_for_nonce(401, none, r#"{"error":"use_dpop_nonce"}"#));
        // Another error, another status, or the words only in a description: no.
        assert!(!asks_for_nonce(
            400,
            none,
            r#"{"error":"invalid_dpop_proof","error_description":"use_dpop_nonce next time"}"#
        ));
        assert!(!asks_for_nonce(
            401,
            &[r#"Bearer error="use_dpop_nonce""#],
            ""
        ));
        assert!(!asks_for_nonce(200, none, r#"{"error":"use_dpop_nonce"}"#));
        assert!(!asks_for_nonce(400, none, "not json"));
    }

    #[test]
    fn fresh_nonces_pass_and_stale_forged_or_foreign_ones_fail() {
        let n = NonceIssuer::new().unwrap();
        let nonce = n.issue(1000);
        assert!(n.is_valid(&nonce, 1000));
        assert!(n.is_valid(&nonce, 1000 + NONCE_LIFETIME_SECS));
        assert!(!n.is_valid(&nonce, 1001 + NONCE_LIFETIME_SECS));
        assert!(!NonceIssuer::new().unwrap().is_valid(&nonce, 1000));
        let mut forged = b64_decode(&nonce).unwrap();
        forged[7] ^= 1;
        assert!(!n.is_valid(&b64_encode(&forged), 1000));
        assert!(!n.is_valid("", 1000));
        assert!(!n.is_valid("not base64!", 1000));
    }
}
