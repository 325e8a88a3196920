//! Authorization codes (RFC 6749 §4.1.2, §10.5): one-time, short-lived, bound to the client,
//! the redirect URI and the PKCE challenge of the request that produced them, and to the
//! login (user and session) behind them.

use serde::{Deserialize, Serialize};

use crate::authorization_request::AuthorizationRequest;
use crate::identity::User;

/// Lifetime of a code (Duende's default, 300 s, is longer; HelseID's is UNCONFIRMED).
pub const LIFETIME_SECS: i64 = 60;

/// What a code stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub request: AuthorizationRequest,
    pub user: User,
    pub sid: String,
    pub issued_at: i64,
}

/// A new code in Duende's handle format (64 hex digits and `-1`, reference §4.2).
pub fn new_code() -> String {
    format!(
        "{}{}-1",
        protocol::jose::random_id(),
        protocol::jose::random_id()
    )
}

/// Checks the PKCE verifier against the S256 challenge (RFC 7636 §4.6).
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed
        && protocol::jose::constant_time_eq(
            protocol::jose::sha256_b64(verifier.as_bytes()).as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_example_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!verifier_matches("short", challenge));
        assert_eq!(new_code().len(), 66);
    }
}
