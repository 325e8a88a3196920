//! Deliberate flaws, for testing relying parties and conformance runners. **Test only**: an
//! IdP with a flaw is broken on purpose, in exactly one way, so a test can show that whatever
//! checks IdPs (the conformance runner's `idp` kind) notices that one fault and nothing else.
//!
//! [`IdpSettings::with_flaws`](crate::IdpSettings::with_flaws) turns flaws on for every IdP
//! served; the testbed's own STS never does. Each variant names the seed 001 / OIDC
//! requirement it breaks and the conformance check that must catch it.

use serde::Serialize;

/// One way to break an IdP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdpFlaw {
    /// Discovery's `issuer` is not the issuer the IdP is reached at (a trailing `/other`),
    /// OIDC Discovery §4.3 (check IDP-DISC-01). Tokens still carry the right `iss`.
    DiscoveryIssuerMismatch,
    /// Discovery does not advertise `code_challenge_methods_supported` (IDP-DISC-02). PKCE
    /// still works.
    NoPkceAdvertised,
    /// The JWKS publishes the private key members (`d`, `p`, `q`, ...) beside the public
    /// ones (IDP-JWKS-01).
    PrivateKeyInJwks,
    /// The successful authorization response carries another `state` than the request's
    /// (IDP-LOGIN-01).
    ChangedState,
    /// The token endpoint does not check `code_verifier` against the challenge (RFC 7636
    /// §4.6, IDP-PKCE-01).
    IgnoresPkce,
    /// The token endpoint accepts a token request without `code_verifier` for a code whose
    /// authorization request had a challenge; a wrong verifier is still refused (RFC 7636
    /// §4.6, IDP-PKCE-02).
    PkceOptional,
    /// A code can be redeemed again and again (RFC 6749 §4.1.2, IDP-CODE-01).
    ReusableCode,
    /// The token endpoint accepts any client secret for a registered client (RFC 6749
    /// §4.1.3, IDP-AUTH-01).
    AnyClientSecret,
    /// ID tokens are unsigned: `alg` `none` and an empty signature (IDP-SIG-01).
    Unsigned,
    /// ID tokens are signed by a key that is not in the JWKS (IDP-SIG-01).
    UnpublishedKey,
    /// ID tokens' `iss` is another issuer (IDP-ISS-01).
    WrongIssuer,
    /// ID tokens' `aud` is another client (IDP-AUD-01).
    WrongAudience,
    /// ID tokens carry no `sub` (OIDC Core §2, IDP-SUB-01).
    NoSub,
    /// ID tokens leave out the request's `nonce` (IDP-NONCE-01).
    NoNonce,
    /// ID tokens expired five minutes before they were issued to the client (IDP-EXP-01).
    Expired,
    /// ID tokens live a day (IDP-EXP-02).
    LongLived,
    /// The identifier (`pid`) has a wrong check digit (IDP-PID-01).
    InvalidPid,
    /// The identifier is another person's valid number (IDP-PID-01).
    OtherPersonsPid,
    /// ID tokens carry no `amr` (IDP-AMR-01).
    NoAmr,
    /// Every login's `amr` is the IdP's first method's, whichever method the user chose
    /// (ID-porten: `minid` for a BankID login too; IDP-AMR-01, when the scenario names each
    /// user's method).
    FirstMethodAmr,
    /// ID tokens carry neither `security_level` nor `acr` (IDP-LEVEL-01).
    NoLevel,
    /// `security_level` says 3 for a level 4 login and 4 for a level 3 one (IDP-LEVEL-01,
    /// when the scenario names the user's level).
    WrongLevel,
    /// The authorization endpoint accepts any `redirect_uri` for a registered client and
    /// sends the user there after the login (RFC 6749 §4.1.2.1, §10.15; IDP-ERR-01, and
    /// IDP-ERR-02 as well: a flaw that breaks both rules).
    OpenRedirect,
    /// A `redirect_uri` that begins with a registered one is accepted (another path below it,
    /// an added query), and the code sent there (RFC 9700 §2.1; IDP-ERR-02).
    RedirectUriPrefix,
    /// A `redirect_uri` is compared without its query, so a registered one with an added
    /// query is accepted, and the code sent there (RFC 9700 §2.1; IDP-ERR-02).
    RedirectUriQueryIgnored,
    /// A cancelled login shows a page instead of returning `access_denied` to the relying
    /// party (IDP-CANCEL-01).
    CancelNotReturned,
}

impl IdpFlaw {
    pub const ALL: [IdpFlaw; 26] = [
        IdpFlaw::DiscoveryIssuerMismatch,
        IdpFlaw::NoPkceAdvertised,
        IdpFlaw::PrivateKeyInJwks,
        IdpFlaw::ChangedState,
        IdpFlaw::IgnoresPkce,
        IdpFlaw::PkceOptional,
        IdpFlaw::ReusableCode,
        IdpFlaw::AnyClientSecret,
        IdpFlaw::Unsigned,
        IdpFlaw::UnpublishedKey,
        IdpFlaw::WrongIssuer,
        IdpFlaw::WrongAudience,
        IdpFlaw::NoSub,
        IdpFlaw::NoNonce,
        IdpFlaw::Expired,
        IdpFlaw::LongLived,
        IdpFlaw::InvalidPid,
        IdpFlaw::OtherPersonsPid,
        IdpFlaw::NoAmr,
        IdpFlaw::FirstMethodAmr,
        IdpFlaw::NoLevel,
        IdpFlaw::WrongLevel,
        IdpFlaw::OpenRedirect,
        IdpFlaw::RedirectUriPrefix,
        IdpFlaw::RedirectUriQueryIgnored,
        IdpFlaw::CancelNotReturned,
    ];
}
