//! Deliberate flaws: each switches off exactly one validation step of the reference API, so
//! the conformance runner can show that the check for that step catches an API without it
//! (the flawed API accepts what the correct one refuses).
//!
//! Never switch one on outside tests: every flaw is a real vulnerability.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One validation step switched off. The kebab-case name (`skip-expiry`) is what `Display`,
/// `FromStr`, serde and the `reference-api --flaw` option use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flaw {
    /// Accepts expired tokens: `exp` is not compared with the clock (RFC 9068 §4 step 6,
    /// RFC 7519 §4.1.4). `exp` must still be a number when present.
    SkipExpiry,
    /// Accepts tokens that are not valid yet: `nbf` and `iat` in the future (RFC 7519 §4.1.5).
    SkipNotBefore,
    /// Accepts tokens from any issuer: `iss` is not compared (RFC 9068 §4 step 2). The
    /// signature must still verify with the configured issuer's keys, so the check needs a
    /// token signed by the real key with another `iss`.
    SkipIssuer,
    /// Accepts tokens for any audience, or for none (RFC 9068 §4 step 3).
    SkipAudience,
    /// Checks `aud` only when the token has one: a token without `aud` passes (HelseID: "The
    /// Access token must be rejected if the aud claim is missing").
    AcceptMissingAudience,
    /// Accepts a token whose `aud` holds this API's audience and others (HelseID: the API
    /// "should validate that it is the only audience"; several "may be acceptable").
    AcceptSeveralAudiences,
    /// Accepts tokens without the required scopes (RFC 6750 §3.1 `insufficient_scope`).
    SkipScope,
    /// Accepts `alg` `none` (any case) without a signature (RFC 8725 §2.1, §3.1).
    AcceptAlgNone,
    /// The algorithm-confusion bug (RFC 8725 §2.1, §3.1; CVE-2015-9235): `HS256` tokens are
    /// verified as HMAC-SHA-256 with [`super::hs256_confusion_secret`] of the issuer's
    /// public key (the `kid`'s key, or every published key when the `kid` is missing or
    /// unknown) as the secret, so anyone holding the public key can forge tokens.
    AcceptHs256WithPublicKey,
    /// Does not insist that the `kid` names a published key: a token whose `kid` is unknown
    /// (or missing) is verified with every published key in turn and accepted if one fits.
    /// The check needs a token signed by the issuer's real key under an unknown `kid`.
    AcceptUnknownKid,
    /// Does not verify the signature at all (the `alg` must still be an allowed one and the
    /// `kid` a published key): changed signatures, changed payloads and tokens signed by
    /// other keys under a published `kid` pass.
    SkipSignature,
    /// Does not check the `typ` header (HelseID: at+jwt or JWT, nothing else), so a DPoP
    /// proof's or any other kind of JWT's `typ` passes. The check needs an otherwise valid
    /// access token (this API's audience and scopes) with another `typ`.
    SkipTyp,
    /// Checks `typ` only when the token has one: a token without `typ` passes.
    AcceptMissingTyp,
    /// Takes only `typ` `at+jwt` (RFC 9068 §4), refusing `JWT`, which HelseID names valid at
    /// its APIs.
    OnlyAtJwt,
    /// Does not require `client_id` (RFC 9068 §2.2), which an ID token lacks; the caller's
    /// client is then unknown (empty).
    SkipClientId,
    /// Accepts a DPoP-bound token (one with `cnf.jkt`) sent as `Authorization: Bearer`,
    /// without a proof (RFC 9449 §7.2 says to refuse it).
    AcceptDpopTokenAsBearer,
    /// Accepts `Authorization: DPoP <token>` without a `DPoP` proof header (RFC 9449 §7.1).
    SkipDpopProof,
    /// Does not compare the proof's `htm` with the request method (RFC 9449 §4.3 step 8).
    SkipProofHtm,
    /// Does not compare the proof's `htu` with the request URL (RFC 9449 §4.3 step 9).
    SkipProofHtu,
    /// Does not compare the proof's `ath` with the hash of the access token (RFC 9449 §4.3
    /// step 12, §7.1), nor require it.
    SkipProofAth,
    /// Does not remember proof `jti`s, so a proof can be replayed (RFC 9449 §11.1).
    SkipProofReplay,
    /// Does not compare the proof key's thumbprint with the token's `cnf.jkt` (RFC 9449
    /// §7.1), so any key can make proofs for a stolen token.
    SkipProofKeyBinding,
    /// Does not check the proof's `iat` window, so stale and future proofs pass (RFC 9449
    /// §4.3 step 11).
    SkipProofIat,
    /// Does not check that a token for an API that needs a logged-in user names the user
    /// (pid or HPR number) and the level of the login, so a client-credentials token passes
    /// (HelseID: such an API "must validate both the users identity (PID or HPR-number) and
    /// the security level"). A minimum level is still enforced.
    SkipUser,
    /// Does not check `helseid://claims/identity/security_level` against the minimum
    /// (reference §5.1, §4.8).
    SkipSecurityLevel,
    /// Does not require the `nhn:tillitsrammeverk:parameters` claim (reference §7.3); a
    /// claim that is present is still checked.
    SkipTillitsrammeverk,
    /// Does not check that a present `nhn:tillitsrammeverk:parameters` claim is a
    /// well-formed attestation (reference §7.1); its presence is still required.
    SkipTillitsrammeverkShape,
    /// Does not check the client's organisation (`orgnr_child`, else `orgnr_parent`)
    /// against the allowed ones (reference §6.1).
    SkipOrganisation,
    /// Takes a multi-tenant client's supplier (`orgnr_supplier`, the EPJ vendor) for the
    /// organisation it acts for: a token whose supplier is served passes whatever
    /// organisation it names in `orgnr_child` or `orgnr_parent` (reference §6.1), so every
    /// organisation that delegated to a served vendor gets in.
    SupplierOrganisation,
    /// Refuses as usual but without the `WWW-Authenticate` header (RFC 6750 §3, RFC 9449
    /// §7.1 require it on 401 and 403).
    NoWwwAuthenticate,
}

impl Flaw {
    /// Every flaw, in declaration order.
    pub const ALL: [Flaw; 30] = [
        Flaw::SkipExpiry,
        Flaw::SkipNotBefore,
        Flaw::SkipIssuer,
        Flaw::SkipAudience,
        Flaw::AcceptMissingAudience,
        Flaw::AcceptSeveralAudiences,
        Flaw::SkipScope,
        Flaw::AcceptAlgNone,
        Flaw::AcceptHs256WithPublicKey,
        Flaw::AcceptUnknownKid,
        Flaw::SkipSignature,
        Flaw::SkipTyp,
        Flaw::AcceptMissingTyp,
        Flaw::OnlyAtJwt,
        Flaw::SkipClientId,
        Flaw::AcceptDpopTokenAsBearer,
        Flaw::SkipDpopProof,
        Flaw::SkipProofHtm,
        Flaw::SkipProofHtu,
        Flaw::SkipProofAth,
        Flaw::SkipProofReplay,
        Flaw::SkipProofKeyBinding,
        Flaw::SkipProofIat,
        Flaw::SkipUser,
        Flaw::SkipSecurityLevel,
        Flaw::SkipTillitsrammeverk,
        Flaw::SkipTillitsrammeverkShape,
        Flaw::SkipOrganisation,
        Flaw::SupplierOrganisation,
        Flaw::NoWwwAuthenticate,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::SkipExpiry => "skip-expiry",
            Flaw::SkipNotBefore => "skip-not-before",
            Flaw::SkipIssuer => "skip-issuer",
            Flaw::SkipAudience => "skip-audience",
            Flaw::AcceptMissingAudience => "accept-missing-audience",
            Flaw::AcceptSeveralAudiences => "accept-several-audiences",
            Flaw::SkipScope => "skip-scope",
            Flaw::AcceptAlgNone => "accept-alg-none",
            Flaw::AcceptHs256WithPublicKey => "accept-hs256-with-public-key",
            Flaw::AcceptUnknownKid => "accept-unknown-kid",
            Flaw::SkipSignature => "skip-signature",
            Flaw::SkipTyp => "skip-typ",
            Flaw::AcceptMissingTyp => "accept-missing-typ",
            Flaw::OnlyAtJwt => "only-at-jwt",
            Flaw::SkipClientId => "skip-client-id",
            Flaw::AcceptDpopTokenAsBearer => "accept-dpop-token-as-bearer",
            Flaw::SkipDpopProof => "skip-dpop-proof",
            Flaw::SkipProofHtm => "skip-proof-htm",
            Flaw::SkipProofHtu => "skip-proof-htu",
            Flaw::SkipProofAth => "skip-proof-ath",
            Flaw::SkipProofReplay => "skip-proof-replay",
            Flaw::SkipProofKeyBinding => "skip-proof-key-binding",
            Flaw::SkipProofIat => "skip-proof-iat",
            Flaw::SkipUser => "skip-user",
            Flaw::SkipSecurityLevel => "skip-security-level",
            Flaw::SkipTillitsrammeverk => "skip-tillitsrammeverk",
            Flaw::SkipTillitsrammeverkShape => "skip-tillitsrammeverk-shape",
            Flaw::SkipOrganisation => "skip-organisation",
            Flaw::SupplierOrganisation => "supplier-organisation",
            Flaw::NoWwwAuthenticate => "no-www-authenticate",
        }
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a flaw.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a flaw; the flaws are: {list}", list = Flaw::ALL.map(Flaw::name).join(", "))]
pub struct UnknownFlaw(pub String);

impl FromStr for Flaw {
    type Err = UnknownFlaw;

    fn from_str(s: &str) -> Result<Flaw, UnknownFlaw> {
        Flaw::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFlaw(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_display_fromstr_and_serde() {
        for flaw in Flaw::ALL {
            assert_eq!(flaw.to_string().parse::<Flaw>(), Ok(flaw));
            assert_eq!(
                serde_json::to_value(flaw).unwrap(),
                serde_json::json!(flaw.name())
            );
            assert_eq!(
                serde_json::from_value::<Flaw>(serde_json::json!(flaw.name())).unwrap(),
                flaw
            );
        }
        let mut sorted = Flaw::ALL.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), Flaw::ALL.len());
        assert!("skip-everything".parse::<Flaw>().is_err());
    }
}
