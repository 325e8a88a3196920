//! Authorization codes (RFC 6749 §4.1.2, §10.5): one-time, short-lived, bound to the client,
//! the redirect URI and the PKCE challenge of the request that produced them, and to the
//! login (user and session) behind them. The PKCE check is [`protocol::pkce::verifies`].

use protocol::jose::RngError;
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

/// A new code in Duende's handle format (64 hex digits and `-1`, reference §4.2): 32 bytes
/// from the CSPRNG, since a code is a bearer secret until it is redeemed.
pub fn new_code() -> Result<String, RngError> {
    Ok(format!("{}-1", protocol::jose::random_hex::<32>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_duende_handles_and_differ() {
        let (a, b) = (new_code().unwrap(), new_code().unwrap());
        assert_eq!(a.len(), 66);
        assert!(a.ends_with("-1"));
        assert_ne!(a, b);
    }
}
