//! What a client checks in the authorization response at its redirect URI before it redeems
//! the code: `state` is the one it sent (RFC 6749 §10.12, OIDC Core §3.1.2.7) and `iss` names
//! the issuer it sent the user to (RFC 9207 §2.4: otherwise the client "MUST reject the
//! authorization response"; HelseID's security profile asks clients to check it). The
//! reference client, its conformance driver and the demo client on the pages read the
//! response with these.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResponseError {
    #[error("state {got:?} in the answer is not the state sent ({sent:?})")]
    State { got: Option<String>, sent: String },
    #[error("iss {got:?} in the answer is not the issuer {expected}")]
    Issuer {
        got: Option<String>,
        expected: String,
    },
}

/// `got` (the response's `state`) must be the `sent` one.
pub fn check_state(sent: &str, got: Option<&str>) -> Result<(), ResponseError> {
    if got == Some(sent) {
        Ok(())
    } else {
        Err(ResponseError::State {
            got: got.map(str::to_owned),
            sent: sent.to_owned(),
        })
    }
}

/// `got` (the response's `iss`) must be the `expected` issuer; a missing `iss` is refused
/// too, since HelseID sends it (`authorization_response_iss_parameter_supported`).
pub fn check_issuer(expected: &str, got: Option<&str>) -> Result<(), ResponseError> {
    if got == Some(expected) {
        Ok(())
    } else {
        Err(ResponseError::Issuer {
            got: got.map(str::to_owned),
            expected: expected.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_sent_and_the_issuer_asked_pass_anything_else_is_named() {
        assert_eq!(check_state("s1", Some("s1")), Ok(()));
        let e = check_state("s1", Some("s2")).unwrap_err();
        assert!(e.to_string().contains("\"s2\""), "{e}");
        assert!(check_state("s1", None).is_err());
        let sts = "https://helseid-sts.test.nhn.no";
        assert_eq!(check_issuer(sts, Some(sts)), Ok(()));
        let e = check_issuer(sts, Some("https://evil.example")).unwrap_err();
        assert!(e.to_string().contains("evil.example"), "{e}");
        assert!(check_issuer(sts, None).is_err(), "a missing iss");
        assert!(check_issuer(sts, Some("https://helseid-sts.test.nhn.no/")).is_err());
    }
}
