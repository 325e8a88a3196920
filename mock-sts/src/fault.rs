//! Fault injection for client conformance tests: the STS spoils the next ID token, the next
//! authorization response (RFC 6749 §4.1.2, RFC 9207) or the next token response (RFC 6749
//! §5.1) it sends, in one way, so a test can see whether a client refuses it
//! (../shared/reference/conformance-checks.md §3).
//!
//! Test-only in spirit: nothing sets a fault but code that holds the [`crate::Sts`] in-process
//! (the conformance runner); there is no HTTP endpoint for it. A fault applies once, to the
//! next response of its [`Site`] for any client, and is then cleared.

use std::sync::{Arc, Mutex};

use protocol::jose::{Alg, b64_decode, b64_encode};
use protocol::signing::SigningKey;
use serde_json::{Map, Value, json};

/// Which response a fault spoils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The ID token in the next token response that has one.
    IdToken,
    /// The next successful redirect to a client's redirect URI with a `code`.
    AuthorizationResponse,
    /// The next successful token response (any grant but token exchange).
    TokenResponse,
}

/// How the next ID token, authorization response or token response is spoiled.
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
    /// The authorization response carries another `state` than the request's.
    StateChanged,
    /// The authorization response's `iss` names another issuer (RFC 9207 §2.4).
    WrongIssParameter,
    /// The authorization response has no `iss` although discovery says
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §2.4).
    MissingIssParameter,
    /// The authorization response is an error (`access_denied`, as when the user cancels),
    /// with the request's `state` and the `iss` parameter.
    ErrorResponse,
    /// The token response has no `access_token`.
    MissingAccessToken,
    /// The token response's `token_type` is not the one asked for: `Bearer` for a request
    /// with a DPoP proof, `DPoP` for one without.
    OtherTokenType,
    /// `alg: none` and no signature.
    AlgNone,
    /// Signed by the key that was active until just now and is no longer in the JWKS (the
    /// STS rotated and retired it before issuing the response; the access token is signed
    /// by the new key). A client that keeps a JWKS fetched before the login accepts it.
    RotatedOutKey,
    /// Two audiences, the client and another, and `azp` the other.
    WrongAzp,
    /// No `sub`.
    MissingSub,
    /// `iat` (and `nbf`) an hour in the future.
    IatInFuture,
    /// An `at_hash` that is not the access token's.
    WrongAtHash,
    /// Signed by a key the STS retired before the run: [`crate::Sts::set_fault`] rotates and
    /// retires the active key at once, so from then on the key is only in
    /// `/connect/expiredjwks`, never in a JWKS the client could have fetched for this login.
    ExpiredKey,
}

impl Fault {
    pub const ALL: [Fault; 21] = [
        Fault::WrongIss,
        Fault::WrongAud,
        Fault::WrongNonce,
        Fault::Expired,
        Fault::BadSignature,
        Fault::UnknownKid,
        Fault::TamperedPayload,
        Fault::RotatedKey,
        Fault::StateChanged,
        Fault::WrongIssParameter,
        Fault::MissingIssParameter,
        Fault::ErrorResponse,
        Fault::MissingAccessToken,
        Fault::OtherTokenType,
        Fault::AlgNone,
        Fault::RotatedOutKey,
        Fault::WrongAzp,
        Fault::MissingSub,
        Fault::IatInFuture,
        Fault::WrongAtHash,
        Fault::ExpiredKey,
    ];

    /// The response this fault spoils.
    pub fn site(self) -> Site {
        match self {
            Fault::StateChanged
            | Fault::WrongIssParameter
            | Fault::MissingIssParameter
            | Fault::ErrorResponse => Site::AuthorizationResponse,
            Fault::MissingAccessToken | Fault::OtherTokenType => Site::TokenResponse,
            _ => Site::IdToken,
        }
    }

    /// The fault's name in URLs, forms and the session API (`wrong-iss`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Fault::WrongIss => "wrong-iss",
            Fault::WrongAud => "wrong-aud",
            Fault::WrongNonce => "wrong-nonce",
            Fault::Expired => "expired",
            Fault::BadSignature => "bad-signature",
            Fault::UnknownKid => "unknown-kid",
            Fault::TamperedPayload => "tampered-payload",
            Fault::RotatedKey => "rotated-key",
            Fault::StateChanged => "state-changed",
            Fault::WrongIssParameter => "wrong-iss-parameter",
            Fault::MissingIssParameter => "missing-iss-parameter",
            Fault::ErrorResponse => "error-response",
            Fault::MissingAccessToken => "missing-access-token",
            Fault::OtherTokenType => "other-token-type",
            Fault::AlgNone => "alg-none",
            Fault::RotatedOutKey => "rotated-out-key",
            Fault::WrongAzp => "wrong-azp",
            Fault::MissingSub => "missing-sub",
            Fault::IatInFuture => "iat-in-future",
            Fault::WrongAtHash => "wrong-at-hash",
            Fault::ExpiredKey => "expired-key",
        }
    }

    /// The fault named `name` ([`Fault::name`]).
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

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
            Fault::StateChanged => "an authorization response with another state",
            Fault::WrongIssParameter => "an authorization response whose iss names another issuer",
            Fault::MissingIssParameter => "an authorization response without iss",
            Fault::ErrorResponse => "an error response (access_denied) instead of a code",
            Fault::MissingAccessToken => "a token response without access_token",
            Fault::OtherTokenType => "a token response whose token_type is not the one asked for",
            Fault::AlgNone => "an unsigned ID token (alg none)",
            Fault::RotatedOutKey => "an ID token signed by a key the STS has retired from its JWKS",
            Fault::WrongAzp => "an ID token for two audiences whose azp is the other one",
            Fault::MissingSub => "an ID token without sub",
            Fault::IatInFuture => "an ID token issued an hour in the future",
            Fault::WrongAtHash => "an ID token whose at_hash is not the access token's",
            Fault::ExpiredKey => {
                "an ID token signed by a key retired before the login (only in /connect/expiredjwks)"
            }
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
    next: Mutex<Option<Fault>>,
    /// The ring as it was before [`Fault::ExpiredKey`] retired its active key, which signs
    /// the spoiled ID token.
    retired: Mutex<Option<Arc<crate::keys::KeyRing>>>,
}

impl Faults {
    pub fn set(&self, fault: Option<Fault>) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = fault;
        if fault != Some(Fault::ExpiredKey) {
            self.set_retired(None);
        }
    }

    pub(crate) fn set_retired(&self, ring: Option<Arc<crate::keys::KeyRing>>) {
        *self.retired.lock().unwrap_or_else(|p| p.into_inner()) = ring;
    }

    /// The ring whose active key [`Fault::ExpiredKey`] retired (taken once).
    pub(crate) fn take_retired(&self) -> Option<Arc<crate::keys::KeyRing>> {
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The fault still pending (`None` once an ID token used it).
    pub fn pending(&self) -> Option<Fault> {
        *self.next.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pending fault if it spoils `site` (it is then cleared); other faults stay pending.
    pub(crate) fn take(&self, site: Site) -> Option<Fault> {
        let mut pending = self.next.lock().unwrap_or_else(|p| p.into_inner());
        match *pending {
            Some(f) if f.site() == site => pending.take(),
            _ => None,
        }
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
        Fault::WrongAzp => {
            let client = claims.get("aud").cloned().unwrap_or(Value::Null);
            claims.insert("aud".into(), json!([client, WRONG_AUDIENCE]));
            claims.insert("azp".into(), json!(WRONG_AUDIENCE));
        }
        Fault::MissingSub => {
            claims.remove("sub");
        }
        Fault::IatInFuture => {
            claims.insert("iat".into(), json!(now + 3600));
            claims.insert("nbf".into(), json!(now + 3600));
            claims.insert("exp".into(), json!(now + 7200));
        }
        Fault::WrongAtHash => {
            claims.insert(
                "at_hash".into(),
                json!(protocol::jose::token_hash(
                    Alg::RS256,
                    &protocol::jose::random_id()
                )),
            );
        }
        _ => {}
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
        Fault::AlgNone => {
            let header = json!({"alg": "none", "typ": "JWT"});
            let encode = |v: &Value| {
                serde_json::to_vec(v)
                    .map(|b| b64_encode(&b))
                    .map_err(|_| protocol::signing::KeyError::Sign)
            };
            Ok(Some(format!("{}.{}.", encode(&header)?, encode(claims)?)))
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

/// Spoils an authorization response's parameters (the authorization response faults).
pub(crate) fn spoil_authorization_response(fault: Fault, params: &mut Vec<(&str, String)>) {
    match fault {
        Fault::StateChanged => {
            params.retain(|(k, _)| *k != "state");
            params.push(("state", protocol::jose::random_id()));
        }
        Fault::WrongIssParameter => {
            params.retain(|(k, _)| *k != "iss");
            params.push(("iss", WRONG_ISSUER.to_owned()));
        }
        Fault::MissingIssParameter => params.retain(|(k, _)| *k != "iss"),
        Fault::ErrorResponse => {
            params.retain(|(k, _)| *k == "state" || *k == "iss");
            params.insert(0, ("error", "access_denied".to_owned()));
            params.insert(
                1,
                (
                    "error_description",
                    "the user cancelled the login (a conformance fault)".to_owned(),
                ),
            );
        }
        _ => {}
    }
}

/// Spoils a token response's JSON body (the token response faults).
pub(crate) fn spoil_token_response(fault: Fault, body: &mut Map<String, Value>) {
    match fault {
        Fault::MissingAccessToken => {
            body.remove("access_token");
        }
        Fault::OtherTokenType => {
            let other = match body.get("token_type").and_then(Value::as_str) {
                Some(t) if t.eq_ignore_ascii_case("DPoP") => "Bearer",
                _ => "DPoP",
            };
            body.insert("token_type".into(), json!(other));
        }
        _ => {}
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
        assert_eq!(f.take(Site::IdToken), Some(Fault::Expired));
        assert_eq!(f.take(Site::IdToken), None);
    }

    #[test]
    fn a_fault_waits_for_its_site() {
        let f = Faults::default();
        f.set(Some(Fault::StateChanged));
        assert_eq!(f.take(Site::IdToken), None);
        assert_eq!(f.take(Site::TokenResponse), None);
        assert_eq!(f.pending(), Some(Fault::StateChanged));
        assert_eq!(
            f.take(Site::AuthorizationResponse),
            Some(Fault::StateChanged)
        );
        assert_eq!(f.pending(), None);
    }

    #[test]
    fn authorization_response_faults() {
        let base = || {
            vec![
                ("code", "c".to_owned()),
                ("state", "s".to_owned()),
                ("iss", "http://sts".to_owned()),
            ]
        };
        let mut p = base();
        spoil_authorization_response(Fault::StateChanged, &mut p);
        let state: Vec<&String> = p
            .iter()
            .filter(|(k, _)| *k == "state")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(state.len(), 1);
        assert_ne!(state[0], "s");
        let mut p = base();
        spoil_authorization_response(Fault::WrongIssParameter, &mut p);
        assert!(p.contains(&("iss", WRONG_ISSUER.to_owned())));
        assert!(!p.contains(&("iss", "http://sts".to_owned())));
        let mut p = base();
        spoil_authorization_response(Fault::MissingIssParameter, &mut p);
        assert!(p.iter().all(|(k, _)| *k != "iss"));
        assert!(p.contains(&("code", "c".to_owned())));
        let mut p = base();
        spoil_authorization_response(Fault::ErrorResponse, &mut p);
        assert!(p.iter().all(|(k, _)| *k != "code"));
        assert_eq!(p[0], ("error", "access_denied".to_owned()));
        assert!(p.contains(&("state", "s".to_owned())));
        assert!(p.contains(&("iss", "http://sts".to_owned())));
    }

    #[test]
    fn token_response_faults() {
        let mut b = Map::new();
        b.insert("access_token".into(), json!("at"));
        b.insert("token_type".into(), json!("DPoP"));
        spoil_token_response(Fault::OtherTokenType, &mut b);
        assert_eq!(b["token_type"], "Bearer");
        spoil_token_response(Fault::OtherTokenType, &mut b);
        assert_eq!(b["token_type"], "DPoP");
        spoil_token_response(Fault::MissingAccessToken, &mut b);
        assert!(!b.contains_key("access_token"));
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
    fn id_token_claim_faults() {
        let base = || {
            let mut c = Map::new();
            c.insert("aud".into(), json!("client"));
            c.insert("sub".into(), json!("s"));
            c.insert("at_hash".into(), json!("h"));
            c
        };
        let mut c = base();
        spoil_claims(Fault::WrongAzp, &mut c, 1000);
        assert_eq!(c["aud"], json!(["client", WRONG_AUDIENCE]));
        assert_eq!(c["azp"], WRONG_AUDIENCE);
        let mut c = base();
        spoil_claims(Fault::MissingSub, &mut c, 1000);
        assert!(!c.contains_key("sub"));
        let mut c = base();
        spoil_claims(Fault::IatInFuture, &mut c, 1000);
        assert_eq!(c["iat"], 4600);
        let mut c = base();
        spoil_claims(Fault::WrongAtHash, &mut c, 1000);
        assert_ne!(c["at_hash"], "h");
        assert_eq!(c["at_hash"].as_str().map(str::len), Some(22));
    }

    #[test]
    fn an_alg_none_token_has_no_signature() {
        let spoiled = spoil_signature(Fault::AlgNone, &json!({"sub": "a"}), "h.p.s")
            .ok()
            .flatten()
            .unwrap_or_default();
        let parts: Vec<&str> = spoiled.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2], "");
        let header: Value =
            serde_json::from_slice(&b64_decode(parts[0]).unwrap_or_default()).unwrap_or_default();
        assert_eq!(header["alg"], "none");
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
