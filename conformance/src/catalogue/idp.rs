//! The idp checks: an identity provider HelseID would federate to, judged from HelseID's
//! side as its relying party (../shared/reference/conformance-checks.md §4). The rules are
//! seed 001 (what an IdP must return to HelseID), OpenID Connect Core and Discovery, and
//! RFC 6749/7636 for the code flow.

use super::sources::*;

checks! {
    Idp, IdpCheck;
    Disc01 = "IDP-DISC-01" {
        group: "discovery",
        severity: Must,
        applies: Always,
        title: "The discovery document is valid",
        requirement: "<issuer>/.well-known/openid-configuration is JSON whose issuer is exactly the configured issuer, with authorization_endpoint, token_endpoint and jwks_uri (http or https URLs), response_types_supported including code, subject_types_supported and id_token_signing_alg_values_supported.",
        source: (
            "OpenID Connect Discovery 1.0 §3 and §4.3",
            "issuer, authorization_endpoint, jwks_uri, response_types_supported, subject_types_supported and id_token_signing_alg_values_supported are REQUIRED (token_endpoint unless only the implicit flow is used); the issuer value returned MUST be identical to the Issuer URL that was used as the prefix to /.well-known/openid-configuration.",
            OIDC_DISCOVERY_3
        ),
        level_note: None,
    },
    Disc02 = "IDP-DISC-02" {
        group: "discovery",
        severity: Should,
        applies: Always,
        title: "Discovery advertises PKCE with S256",
        requirement: "code_challenge_methods_supported includes S256, so relying parties (HelseID) know PKCE is supported.",
        source: (
            "RFC 8414 §2, code_challenge_methods_supported",
            "code_challenge_methods_supported: OPTIONAL. JSON array containing a list of Proof Key for Code Exchange (PKCE) code challenge methods supported by this authorization server.",
            RFC8414_2
        ),
        level_note: Some("The metadata is OPTIONAL; IDP-PKCE-01 tests PKCE itself, this only reports whether the IdP says so."),
    },
    Jwks01 = "IDP-JWKS-01" {
        group: "discovery",
        severity: Must,
        applies: Always,
        title: "The JWKS has usable public signing keys and nothing private",
        requirement: "jwks_uri serves a JWK Set with at least one public RSA (2048 bits or more) or EC signing key, and no private key material (d, p, q, dp, dq, qi, k).",
        source: (
            "OpenID Connect Discovery 1.0 §3, jwks_uri; RFC 7517 §5",
            "jwks_uri: REQUIRED. URL of the OP's JWK Set document, which MUST use the https scheme; it contains the signing key(s) the RP uses to validate signatures from the OP. (A JWK Set published for verification holds public keys: private members are for keys that are kept secret.)",
            RFC7517_5
        ),
        level_note: None,
    },
    Login01 = "IDP-LOGIN-01" {
        group: "login",
        severity: Must,
        applies: Always,
        title: "Every test user logs in with the code flow and PKCE",
        requirement: "For each test user of the scenario, an authorization request (response_type=code, PKCE S256, state, nonce) and the scripted login end at the redirect URI with a code, the state unchanged and, if sent, iss equal to the issuer (RFC 9207); the code redeemed with the verifier and the client secret gives an ID token.",
        source: (
            "Kom i gang med HelseID (seed 001), step 4, acceptance test",
            "Identitetstilbyderen skal tilby et sett av testbrukere som kan benyttes til akseptansetest (the identity provider shall offer a set of test users for the acceptance test).",
            HELSEID_IDP
        ),
        level_note: None,
    },
    Pkce01 = "IDP-PKCE-01" {
        group: "login",
        severity: Must,
        applies: Always,
        title: "A code redeemed with the wrong PKCE verifier is refused",
        requirement: "The token endpoint refuses a code whose code_verifier does not hash to the code_challenge of its authorization request (invalid_grant).",
        source: (
            "RFC 7636 §4.6",
            "If the values are not equal, an error response indicating \"invalid_grant\" as described in Section 5.2 of [RFC6749] MUST be returned.",
            RFC7636_4_6
        ),
        level_note: None,
    },
    Pkce02 = "IDP-PKCE-02" {
        group: "login",
        severity: Must,
        applies: Always,
        title: "A code redeemed without the PKCE verifier is refused",
        requirement: "The token endpoint refuses a code whose authorization request carried a code_challenge when the token request has no code_verifier (invalid_grant): a verifier that is not sent cannot equal the challenge.",
        source: (
            "RFC 7636 §4.6",
            "The server verifies it by calculating the code challenge from the received \"code_verifier\" and comparing it with the previously associated \"code_challenge\". If the values are not equal, an error response indicating \"invalid_grant\" as described in Section 5.2 of [RFC6749] MUST be returned.",
            RFC7636_4_6
        ),
        level_note: None,
    },
    Code01 = "IDP-CODE-01" {
        group: "login",
        severity: Must,
        applies: Always,
        title: "A code redeemed twice is refused the second time",
        requirement: "A code that was just redeemed with success is presented again, with the same verifier and secret, and gets no tokens (invalid_grant).",
        source: (
            "RFC 6749 §4.1.2",
            "If an authorization code is used more than once, the authorization server MUST deny the request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code.",
            RFC6749_4_1_2
        ),
        level_note: None,
    },
    Auth01 = "IDP-AUTH-01" {
        group: "login",
        severity: Must,
        applies: Always,
        title: "A token request with a wrong client secret is refused",
        requirement: "A fresh code redeemed with the right verifier but a wrong client secret (sent the way the runner authenticates) gets no tokens: 401 or 400 with invalid_client.",
        source: (
            "RFC 6749 §4.1.3 (and §3.2.1, §5.2)",
            "The authorization server MUST require client authentication for confidential clients or for any client that was issued client credentials (or with other authentication requirements), and authenticate the client if client authentication is included. (§5.2: invalid_client, client authentication failed.)",
            RFC6749_4_1_3
        ),
        level_note: None,
    },
    Sig01 = "IDP-SIG-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens are signed by a published key with an asymmetric algorithm",
        requirement: "The ID token's alg is RS, PS or ES (never none or HS), its kid names a key of the JWKS, and the signature verifies with that key.",
        source: (
            "OpenID Connect Core 1.0 §2 and §3.1.3.7, step 6",
            "ID Tokens MUST be signed using JWS. The Client MUST validate the signature of all other ID Tokens according to JWS using the algorithm specified in the JWT alg Header Parameter, and MUST use the keys provided by the Issuer.",
            OIDC_ID_TOKEN_VALIDATION
        ),
        level_note: None,
    },
    Iss01 = "IDP-ISS-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens name the issuer",
        requirement: "The ID token's iss is exactly the configured issuer.",
        source: (
            "OpenID Connect Core 1.0 §3.1.3.7, step 2",
            "The Issuer Identifier for the OpenID Provider (which is typically obtained during Discovery) MUST exactly match the value of the iss (issuer) Claim.",
            OIDC_ID_TOKEN_VALIDATION
        ),
        level_note: None,
    },
    Sub01 = "IDP-SUB-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens name the subject",
        requirement: "Every ID token has sub, a string of 1 to 255 characters.",
        source: (
            "OpenID Connect Core 1.0 §2, claim sub",
            "sub: REQUIRED. Subject Identifier. A locally unique and never reassigned identifier within the Issuer for the End-User, which is intended to be consumed by the Client. It MUST NOT exceed 255 ASCII characters in length.",
            OIDC_ID_TOKEN
        ),
        level_note: None,
    },
    Aud01 = "IDP-AUD-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens are for the client",
        requirement: "The ID token's aud is the client_id (or an array containing it); with several audiences, azp is the client_id.",
        source: (
            "OpenID Connect Core 1.0 §2, claim aud",
            "aud: REQUIRED. Audience(s) that this ID Token is intended for. It MUST contain the OAuth 2.0 client_id of the Relying Party as an audience value.",
            OIDC_ID_TOKEN
        ),
        level_note: None,
    },
    Nonce01 = "IDP-NONCE-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens echo the nonce",
        requirement: "The ID token's nonce is the nonce of the authorization request.",
        source: (
            "OpenID Connect Core 1.0 §2, claim nonce",
            "If present in the Authentication Request, Authorization Servers MUST include a nonce Claim in the ID Token with the Claim Value being the nonce value sent in the Authentication Request.",
            OIDC_ID_TOKEN
        ),
        level_note: None,
    },
    Exp01 = "IDP-EXP-01" {
        group: "id-token",
        severity: Must,
        applies: Always,
        title: "ID tokens have sane iat and exp",
        requirement: "iat and exp are present as numbers, exp is after iat and in the future, and iat is not more than a minute in the future.",
        source: (
            "OpenID Connect Core 1.0 §2, claims exp and iat",
            "exp: REQUIRED. Expiration time on or after which the ID Token MUST NOT be accepted by the RP when performing authentication with the OP. iat: REQUIRED. Time at which the JWT was issued.",
            OIDC_ID_TOKEN
        ),
        level_note: None,
    },
    Exp02 = "IDP-EXP-02" {
        group: "id-token",
        severity: Should,
        applies: Always,
        title: "ID tokens are short-lived",
        requirement: "exp - iat is at most one hour: an ID token is read once, at the login.",
        source: (
            "OpenID Connect Core 1.0 §2, claim exp",
            "exp: Expiration time on or after which the ID Token MUST NOT be accepted by the RP when performing authentication with the OP.",
            OIDC_ID_TOKEN
        ),
        level_note: Some("No rule sets a largest lifetime; a long-lived ID token widens the window for replaying it, which is a warning."),
    },
    Pid01 = "IDP-PID-01" {
        group: "helseid",
        severity: Must,
        applies: Always,
        title: "The identifier is the user's fødselsnummer or D-number",
        requirement: "The identifier claim (pid by default) is a string holding a valid fødselsnummer or D-number (11 digits, a real date, both check digits) and is the test user's own number.",
        source: (
            "Kom i gang med HelseID (seed 001), step 2",
            "Følgende parametre må returneres etter vellykket autentisering: Identifikator: Fødselsnummer eller D-nummer (these must be returned after a successful authentication: the identifier, a fødselsnummer or D-number).",
            HELSEID_IDP
        ),
        level_note: None,
    },
    Amr01 = "IDP-AMR-01" {
        group: "helseid",
        severity: Must,
        applies: Always,
        title: "The authentication method is returned",
        requirement: "The authentication-method claim (amr by default, an array of strings) is present and not empty, and holds the method (each of the methods) the scenario names for the user (users[].amr), compared as strings.",
        source: (
            "Kom i gang med HelseID (seed 001), step 2",
            "Følgende parametre må returneres: Metode/mekanisme for autentisering: hvilken metode som er brukt for å autentisere brukeren, f.eks. smartkort (the method used to authenticate the user must be returned).",
            HELSEID_IDP
        ),
        level_note: None,
    },
    Level01 = "IDP-LEVEL-01" {
        group: "helseid",
        severity: Must,
        applies: Always,
        title: "The security level is returned",
        requirement: "The security-level claim (security_level by default) is present and not empty, and equals (as a string) the level the scenario names for the user.",
        source: (
            "Kom i gang med HelseID (seed 001), step 2",
            "Følgende parametre må returneres: Sikkerhetsnivå for autentisering (the security level of the authentication must be returned).",
            HELSEID_IDP
        ),
        level_note: None,
    },
    Err01 = "IDP-ERR-01" {
        group: "errors",
        severity: Must,
        applies: Always,
        title: "Invalid authorization requests are not redirected",
        requirement: "An authorization request with a redirect_uri that is not registered, or with an unknown client_id, is answered with an error page, never a redirect to that URI, not even after the login.",
        source: (
            "RFC 6749 §4.1.2.1",
            "If the request fails due to a missing, invalid, or mismatching redirection URI, or if the client identifier is missing or invalid, the authorization server SHOULD inform the resource owner of the error and MUST NOT automatically redirect the user-agent to the invalid redirection URI.",
            RFC6749_4_1_2_1
        ),
        level_note: None,
    },
    Err02 = "IDP-ERR-02" {
        group: "errors",
        severity: Must,
        applies: Always,
        title: "Redirect URIs are matched exactly",
        requirement: "An authorization request of the registered client whose redirect_uri is the registered one with another path below it, or with an added query, never ends at that URI, not even after the login.",
        source: (
            "RFC 9700 §2.1",
            "When comparing client redirection URIs against pre-registered URIs, authorization servers MUST utilize exact string matching except for port numbers in localhost redirection URIs of native apps.",
            RFC9700_2_1
        ),
        level_note: None,
    },
    Cancel01 = "IDP-CANCEL-01" {
        group: "errors",
        severity: Should,
        applies: CancelSteps,
        title: "A cancelled login returns an OAuth error",
        requirement: "A login the user cancels comes back to the redirect URI with an error (access_denied) and the state, not as a page the relying party never sees.",
        source: (
            "RFC 6749 §4.1.2.1",
            "If the resource owner denies the access request or if the request fails for reasons other than a missing or invalid redirection URI, the authorization server informs the client by adding the following parameters to the query component of the redirection URI: error (access_denied), state.",
            RFC6749_4_1_2_1
        ),
        level_note: Some("The RFC describes the response without a MUST; an IdP that leaves the user on its own page after a cancel strands HelseID's login, a warning."),
    },
}
