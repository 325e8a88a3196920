//! The catalogue: every check the runner knows, with its stable ID, severity and the
//! requirement it enforces. IDs never change meaning; a retired check keeps its ID reserved.
//!
//! Sources: ../shared/reference/conformance-checks.md §1 (API checks), §2 and §3 (client
//! checks) and §4 (identity provider checks), HelseID's pages on access tokens and DPoP
//! (reference helseid.md §3, §5, §7), seed 001 (what an identity provider must return),
//! RFC 6749, RFC 6750, RFC 7517, RFC 7519, RFC 7523, RFC 7636, RFC 8414, RFC 8707, RFC 8725,
//! RFC 9068, RFC 9126, RFC 9207, RFC 9449, OpenID Connect Core 1.0 and Discovery 1.0.

use serde::Serialize;

/// Must-checks decide the verdict; should-checks only warn (unless `--fail-on should`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Must,
    Should,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
        }
    }
}

/// The kind of target a check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Api,
    Client,
    Idp,
}

/// When a check applies, from the scenario's requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// The API requires scopes.
    Scopes,
    /// The API takes DPoP-bound tokens.
    Dpop,
    /// The API takes Bearer tokens.
    Bearer,
    /// The API requires security level 4.
    Level4,
    /// The API requires the Tillitsrammeverk claim.
    Tillitsrammeverk,
    /// The API serves only named organisations.
    Organisations,
    /// The api scenario's tokens are issued to a supplier's multi-tenant client
    /// (`requirements.tenancy: multi`) and the API serves only named organisations.
    MultiTenantOrganisations,
    /// The idp scenario says how to cancel a login (`idp.cancel`).
    CancelSteps,
    /// The client scenario is a login client (`client.login: true`).
    Login,
    /// The client scenario is a multi-tenant client (`client.tenancy: multi`).
    MultiTenant,
}

/// One check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub group: &'static str,
    pub kind: TargetKind,
    pub severity: Severity,
    pub title: &'static str,
    /// What the check enforces, in a sentence or two.
    pub requirement: &'static str,
    /// Where the requirement is written.
    pub link: &'static str,
    pub applies: Applies,
}

const RFC6750_3: &str = "https://www.rfc-editor.org/rfc/rfc6750#section-3";
const RFC7519_4_1_4: &str = "https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4";
const RFC7519_4_1_5: &str = "https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5";
const RFC9068_4: &str = "https://www.rfc-editor.org/rfc/rfc9068#section-4";
const RFC8725_3_1: &str = "https://www.rfc-editor.org/rfc/rfc8725#section-3.1";
const RFC8725_3_2: &str = "https://www.rfc-editor.org/rfc/rfc8725#section-3.2";
const RFC7515_5_2: &str = "https://www.rfc-editor.org/rfc/rfc7515#section-5.2";
const RFC9449_7_1: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-7.1";
const RFC9449_4_3: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-4.3";
const RFC9449_11_1: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-11.1";
/// HelseID's profile for the trust framework (the one HelseID page the reference pins).
const HELSEID_TR: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/tillitsrammeverk/profil_for_tillitsrammeverkmd";
/// HelseID's developer portal, for claims the reference sources only from HelseID's samples.
const HELSEID: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid";
/// "Kom i gang med HelseID" (seed 001): what an identity provider must return to HelseID.
const HELSEID_IDP: &str = "https://nhn.no/helseid/kom-i-gang-med-helseid/";
const OIDC_DISCOVERY_3: &str =
    "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata";
const RFC8414_2: &str = "https://www.rfc-editor.org/rfc/rfc8414#section-2";
const RFC7517_5: &str = "https://www.rfc-editor.org/rfc/rfc7517#section-5";
const OIDC_AUTH_RESPONSE: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#AuthResponseValidation";
const RFC7636_4_6: &str = "https://www.rfc-editor.org/rfc/rfc7636#section-4.6";
const OIDC_ID_TOKEN_VALIDATION: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation";
const OIDC_ID_TOKEN: &str = "https://openid.net/specs/openid-connect-core-1_0.html#IDToken";
const RFC7523_3: &str = "https://www.rfc-editor.org/rfc/rfc7523#section-3";
const RFC9449_8: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-8";
const RFC8707_2: &str = "https://www.rfc-editor.org/rfc/rfc8707#section-2";
const RFC9126_4: &str = "https://www.rfc-editor.org/rfc/rfc9126#section-4";
const RFC7636_4_1: &str = "https://www.rfc-editor.org/rfc/rfc7636#section-4.1";
const OIDC_AUTH_REQUEST: &str = "https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest";
const OIDC_ROTATE_KEYS: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys";
const HELSEID_ORGNR: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/tekniske-mekanismer/organisasjonsnumre_enmd";
const RFC6749_6: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-6";
const RFC6749_4_1_2_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1";
const RFC6749_10_12: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-10.12";
const RFC9207_2_4: &str = "https://www.rfc-editor.org/rfc/rfc9207#section-2.4";
const RFC6749_5_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-5.1";
const RFC9449_5: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-5";
const OIDC_AT_HASH: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowTokenValidation";

macro_rules! api_check {
    ($id:literal, $group:literal, $sev:ident, $applies:ident, $title:literal, $req:literal, $link:expr) => {
        Check {
            id: $id,
            group: $group,
            kind: TargetKind::Api,
            severity: Severity::$sev,
            title: $title,
            requirement: $req,
            link: $link,
            applies: Applies::$applies,
        }
    };
}

macro_rules! idp_check {
    ($id:literal, $group:literal, $sev:ident, $applies:ident, $title:literal, $req:literal, $link:expr) => {
        Check {
            id: $id,
            group: $group,
            kind: TargetKind::Idp,
            severity: Severity::$sev,
            title: $title,
            requirement: $req,
            link: $link,
            applies: Applies::$applies,
        }
    };
}

macro_rules! client_check {
    ($id:literal, $group:literal, $sev:ident, $applies:ident, $title:literal, $req:literal, $link:expr) => {
        Check {
            id: $id,
            group: $group,
            kind: TargetKind::Client,
            severity: Severity::$sev,
            title: $title,
            requirement: $req,
            link: $link,
            applies: Applies::$applies,
        }
    };
}

/// Every check, in the order they run.
pub const CHECKS: &[Check] = &[
    api_check!(
        "API-BASE-01",
        "baseline",
        Must,
        Always,
        "A valid token is accepted",
        "A token the STS issued for this API, with the required scopes and claims (and a correct DPoP proof when the API takes DPoP), gets a 2xx. Every other API check is inconclusive unless this passes.",
        RFC9068_4
    ),
    api_check!(
        "API-AUTH-01",
        "response",
        Must,
        Always,
        "A request without a token is refused with a challenge",
        "A request without credentials gets 401 with a WWW-Authenticate challenge naming the scheme the API takes.",
        RFC6750_3
    ),
    api_check!(
        "API-EXP-01",
        "claims",
        Must,
        Always,
        "An expired token is refused",
        "A token whose exp is ten minutes in the past is refused (401); a leeway of a minute or two is fine, an unchecked exp is not.",
        RFC7519_4_1_4
    ),
    api_check!(
        "API-NBF-01",
        "claims",
        Must,
        Always,
        "A token that is not yet valid is refused",
        "A token whose nbf (and iat) is ten minutes in the future is refused.",
        RFC7519_4_1_5
    ),
    api_check!(
        "API-ISS-01",
        "claims",
        Must,
        Always,
        "A token from another issuer is refused",
        "A token whose iss is not HelseID's issuer is refused, even when signed by a key the API trusts.",
        RFC9068_4
    ),
    api_check!(
        "API-AUD-01",
        "claims",
        Must,
        Always,
        "A token for another audience is refused",
        "A token whose aud is another API's audience is refused: HelseID issues one audience per token (RFC 8707), and the API must check it is its own.",
        RFC9068_4
    ),
    api_check!(
        "API-SCOPE-01",
        "claims",
        Must,
        Scopes,
        "A token without the required scope is refused",
        "A token that lacks a scope the API requires is refused, preferably with 403 and error=\"insufficient_scope\".",
        RFC6750_3
    ),
    api_check!(
        "API-ALG-01",
        "signature",
        Must,
        Always,
        "An unsigned token (alg none) is refused",
        "A token with \"alg\": \"none\" and no signature is refused; the API accepts only the asymmetric algorithms HelseID signs with.",
        RFC8725_3_1
    ),
    api_check!(
        "API-ALG-02",
        "signature",
        Must,
        Always,
        "HS256 signed with the issuer's public key is refused",
        "A token signed with HMAC-SHA256 using the issuer's public key (as PEM, DER or JWK text) as the secret is refused: the algorithm-confusion attack.",
        RFC8725_3_2
    ),
    api_check!(
        "API-KID-01",
        "signature",
        Must,
        Always,
        "A token signed with an unknown key is refused",
        "A token signed by a key that is not in the issuer's JWKS, with a kid the JWKS does not have and the key itself in the header's jwk, is refused: keys come from the issuer's JWKS only.",
        RFC7515_5_2
    ),
    api_check!(
        "API-SIG-01",
        "signature",
        Must,
        Always,
        "A token with a broken signature is refused",
        "A token whose signature bytes were changed is refused.",
        RFC7515_5_2
    ),
    api_check!(
        "API-SIG-02",
        "signature",
        Must,
        Always,
        "A token whose payload was changed after signing is refused",
        "A token whose claims were edited after the issuer signed it is refused.",
        RFC7515_5_2
    ),
    api_check!(
        "API-TYP-01",
        "claims",
        Must,
        Always,
        "An ID token presented as an access token is refused",
        "A JWT with typ JWT (an ID token's) is not an access token: HelseID's access tokens have typ at+jwt and the API must check it.",
        RFC9068_4
    ),
    api_check!(
        "API-DPOP-01",
        "dpop",
        Must,
        Dpop,
        "A DPoP-bound token sent as Bearer is refused",
        "A token with cnf.jkt sent with Authorization: Bearer (no proof) is refused.",
        RFC9449_7_1
    ),
    api_check!(
        "API-DPOP-02",
        "dpop",
        Must,
        Dpop,
        "A DPoP token without a proof is refused",
        "Authorization: DPoP without a DPoP header is refused.",
        RFC9449_7_1
    ),
    api_check!(
        "API-DPOP-03",
        "dpop",
        Must,
        Dpop,
        "A proof for another method is refused",
        "A proof whose htm is not the request's method is refused.",
        RFC9449_4_3
    ),
    api_check!(
        "API-DPOP-04",
        "dpop",
        Must,
        Dpop,
        "A proof for another URL is refused",
        "A proof whose htu is not the request's URL (another path) is refused.",
        RFC9449_4_3
    ),
    api_check!(
        "API-DPOP-05",
        "dpop",
        Must,
        Dpop,
        "A proof for another token is refused",
        "A proof whose ath is not the hash of the presented access token is refused.",
        RFC9449_4_3
    ),
    api_check!(
        "API-DPOP-06",
        "dpop",
        Must,
        Dpop,
        "A replayed proof is refused",
        "The same proof (same jti) sent twice: the second request is refused.",
        RFC9449_11_1
    ),
    api_check!(
        "API-DPOP-07",
        "dpop",
        Must,
        Dpop,
        "A proof signed by another key than cnf.jkt is refused",
        "A proof signed by a key whose thumbprint is not the token's cnf.jkt is refused.",
        RFC9449_4_3
    ),
    api_check!(
        "API-DPOP-08",
        "dpop",
        Must,
        Dpop,
        "A stale proof is refused",
        "A proof whose iat is ten minutes old is refused (HelseID's APIs allow proofs a short lifetime).",
        RFC9449_11_1
    ),
    api_check!(
        "API-LEVEL-01",
        "helseid",
        Must,
        Level4,
        "A security level 3 token is refused where 4 is required",
        "A user token with helseid://claims/identity/security_level 3 is refused by an API that requires level 4.",
        HELSEID
    ),
    api_check!(
        "API-TR-01",
        "helseid",
        Must,
        Tillitsrammeverk,
        "A token without the Tillitsrammeverk claim is refused",
        "An API that requires the trust framework refuses a token without nhn:tillitsrammeverk:parameters.",
        HELSEID_TR
    ),
    api_check!(
        "API-TR-02",
        "helseid",
        Must,
        Tillitsrammeverk,
        "A token with a malformed Tillitsrammeverk claim is refused",
        "An API that requires the trust framework refuses a token whose nhn:tillitsrammeverk:parameters lacks the practitioner's legal entity and purpose of use.",
        HELSEID_TR
    ),
    api_check!(
        "API-ORG-01",
        "helseid",
        Must,
        Organisations,
        "A token for an organisation the API does not serve is refused",
        "A token whose consumer organisation (orgnr_parent / orgnr_child) is not one the API serves is refused.",
        HELSEID
    ),
    api_check!(
        "API-TENANCY-01",
        "helseid",
        Must,
        MultiTenantOrganisations,
        "A multi-tenant token is judged by the organisation acted for, not the supplier",
        "A token of a supplier's multi-tenant client is judged by the organisation the client acts for (orgnr_child when present, else orgnr_parent), never by orgnr_supplier: a token whose orgnr_parent is an organisation the API does not serve is refused, even when its orgnr_supplier is one the API serves.",
        HELSEID_ORGNR
    ),
    api_check!(
        "API-WWW-01",
        "response",
        Should,
        Always,
        "Refusals name the scheme and the error",
        "A 401 carries WWW-Authenticate with the scheme (DPoP or Bearer) and error=\"invalid_token\" (or \"invalid_dpop_proof\").",
        RFC6750_3
    ),
    api_check!(
        "API-5XX-01",
        "response",
        Must,
        Always,
        "Malformed tokens never cause a server error",
        "Garbage in the Authorization header (not a JWT, bad base64, JSON that is not an object, a huge token) gets a 4xx, never a 5xx.",
        RFC6750_3
    ),
    idp_check!(
        "IDP-DISC-01",
        "discovery",
        Must,
        Always,
        "The discovery document is valid",
        "<issuer>/.well-known/openid-configuration is JSON whose issuer is exactly the configured issuer, with authorization_endpoint, token_endpoint and jwks_uri (http or https URLs), response_types_supported including code, subject_types_supported and id_token_signing_alg_values_supported.",
        OIDC_DISCOVERY_3
    ),
    idp_check!(
        "IDP-DISC-02",
        "discovery",
        Should,
        Always,
        "Discovery advertises PKCE with S256",
        "code_challenge_methods_supported includes S256, so relying parties (HelseID) know PKCE is supported.",
        RFC8414_2
    ),
    idp_check!(
        "IDP-JWKS-01",
        "discovery",
        Must,
        Always,
        "The JWKS has usable public signing keys and nothing private",
        "jwks_uri serves a JWK Set with at least one public RSA (2048 bits or more) or EC signing key, and no private key material (d, p, q, dp, dq, qi, k).",
        RFC7517_5
    ),
    idp_check!(
        "IDP-LOGIN-01",
        "login",
        Must,
        Always,
        "Every test user logs in with the code flow and PKCE",
        "For each test user of the scenario, an authorization request (response_type=code, PKCE S256, state, nonce) and the scripted login end at the redirect URI with a code, the state unchanged and, if sent, iss equal to the issuer (RFC 9207); the code redeemed with the verifier and the client secret gives an ID token.",
        OIDC_AUTH_RESPONSE
    ),
    idp_check!(
        "IDP-PKCE-01",
        "login",
        Must,
        Always,
        "A code redeemed with the wrong PKCE verifier is refused",
        "The token endpoint refuses a code whose code_verifier does not hash to the code_challenge of its authorization request (invalid_grant).",
        RFC7636_4_6
    ),
    idp_check!(
        "IDP-SIG-01",
        "id-token",
        Must,
        Always,
        "ID tokens are signed by a published key with an asymmetric algorithm",
        "The ID token's alg is RS, PS or ES (never none or HS), its kid names a key of the JWKS, and the signature verifies with that key.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    idp_check!(
        "IDP-ISS-01",
        "id-token",
        Must,
        Always,
        "ID tokens name the issuer",
        "The ID token's iss is exactly the configured issuer.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    idp_check!(
        "IDP-AUD-01",
        "id-token",
        Must,
        Always,
        "ID tokens are for the client",
        "The ID token's aud is the client_id (or an array containing it); with several audiences, azp is the client_id.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    idp_check!(
        "IDP-NONCE-01",
        "id-token",
        Must,
        Always,
        "ID tokens echo the nonce",
        "The ID token's nonce is the nonce of the authorization request.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    idp_check!(
        "IDP-EXP-01",
        "id-token",
        Must,
        Always,
        "ID tokens have sane iat and exp",
        "iat and exp are present as numbers, exp is after iat and in the future, and iat is not more than a minute in the future.",
        OIDC_ID_TOKEN
    ),
    idp_check!(
        "IDP-EXP-02",
        "id-token",
        Should,
        Always,
        "ID tokens are short-lived",
        "exp - iat is at most one hour: an ID token is read once, at the login.",
        OIDC_ID_TOKEN
    ),
    idp_check!(
        "IDP-PID-01",
        "helseid",
        Must,
        Always,
        "The identifier is the user's fødselsnummer or D-number",
        "The identifier claim (pid by default) is a string holding a valid fødselsnummer or D-number (11 digits, a real date, both check digits) and is the test user's own number.",
        HELSEID_IDP
    ),
    idp_check!(
        "IDP-AMR-01",
        "helseid",
        Must,
        Always,
        "The authentication method is returned",
        "The authentication-method claim (amr by default, an array of strings) is present and not empty.",
        HELSEID_IDP
    ),
    idp_check!(
        "IDP-LEVEL-01",
        "helseid",
        Must,
        Always,
        "The security level is returned",
        "The security-level claim (security_level by default) is present and not empty, and equals the level the scenario names for the user.",
        HELSEID_IDP
    ),
    idp_check!(
        "IDP-ERR-01",
        "errors",
        Should,
        Always,
        "Invalid authorization requests are not redirected",
        "An authorization request with a redirect_uri that is not registered, or with an unknown client_id, is answered with an error page, never a redirect to that URI, not even after the login.",
        RFC6749_4_1_2_1
    ),
    idp_check!(
        "IDP-CANCEL-01",
        "errors",
        Should,
        CancelSteps,
        "A cancelled login returns an OAuth error",
        "A login the user cancels comes back to the redirect URI with an error (access_denied) and the state, not as a page the relying party never sees.",
        RFC6749_4_1_2_1
    ),
    client_check!(
        "CLIENT-RUN-01",
        "baseline",
        Must,
        Always,
        "The client gets a token and calls the API",
        "Run against a correct STS, the driver gets a token, calls the probe API with it and exits 0 within its time limit. The fault checks are inconclusive unless this passes: a refusal proves nothing when the client fails anyway.",
        HELSEID
    ),
    client_check!(
        "CLIENT-AUTH-01",
        "client-auth",
        Must,
        Always,
        "private_key_jwt client assertions, short-lived and never reused",
        "Every request to the token and PAR endpoints authenticates with a client assertion (private_key_jwt) and no client secret; the assertion's iss and sub are the client_id, aud is the issuer or the endpoint, it lives at most 60 seconds, and its jti is never used twice.",
        RFC7523_3
    ),
    client_check!(
        "CLIENT-DPOP-01",
        "dpop",
        Must,
        Always,
        "A DPoP proof on every token request, and the nonce retry",
        "Every token request carries a DPoP proof for POST and the token endpoint; when the STS answers use_dpop_nonce, the client retries with the nonce it was given.",
        RFC9449_8
    ),
    client_check!(
        "CLIENT-RES-01",
        "tokens",
        Must,
        Always,
        "One resource indicator per token request",
        "Every token request that asks for an access token names the API it is for with exactly one resource parameter (HelseID issues one audience per token).",
        RFC8707_2
    ),
    client_check!(
        "CLIENT-PAR-01",
        "login",
        Must,
        Login,
        "Pushed authorization requests",
        "The login's parameters are pushed to the PAR endpoint; the authorization endpoint gets only client_id and request_uri.",
        RFC9126_4
    ),
    client_check!(
        "CLIENT-CODE-01",
        "login",
        Must,
        Login,
        "The code flow only, no implicit or hybrid flow",
        "Every authorization request asks for response_type=code: no token or id_token comes through the browser.",
        OIDC_AUTH_REQUEST
    ),
    client_check!(
        "CLIENT-PKCE-01",
        "login",
        Must,
        Login,
        "PKCE with S256 and a long verifier",
        "Every authorization request carries a code_challenge with code_challenge_method S256, and the code is redeemed with a verifier of 43 to 128 characters.",
        RFC7636_4_1
    ),
    client_check!(
        "CLIENT-STATE-01",
        "login",
        Must,
        Login,
        "state and nonce in every authorization request",
        "Every authorization request carries a state and a nonce of at least 16 characters, new for each request.",
        OIDC_AUTH_REQUEST
    ),
    client_check!(
        "CLIENT-REFRESH-01",
        "tokens",
        Must,
        Login,
        "Refresh tokens are used once, the newest each time",
        "When the client refreshes, every refresh request sends the refresh token of the latest token response and never one it already used (HelseID rotates refresh tokens: each is good for one request). Not applicable to a run without refreshes.",
        RFC6749_6
    ),
    client_check!(
        "CLIENT-PROBE-01",
        "dpop",
        Must,
        Always,
        "The API is called with a DPoP-bound token and a proof with ath",
        "The client calls the API with Authorization: DPoP and a proof whose ath is the hash of that access token, and the API accepts it.",
        RFC9449_7_1
    ),
    client_check!(
        "CLIENT-TENANCY-01",
        "tenancy",
        Must,
        MultiTenant,
        "A multi-tenant client names the organisation it acts for",
        "Every token request's client assertion carries assertion_details of type helseid_authorization whose identifier has system urn:oid:1.0.6523 and value NO:ORGNR:<HELSEID_ORGNR>:<child?>, and the token the API got has orgnr_parent = HELSEID_ORGNR.",
        HELSEID_ORGNR
    ),
    client_check!(
        "CLIENT-IDT-01",
        "id-token",
        Must,
        Login,
        "An ID token from another issuer is refused",
        "An ID token whose iss is not the issuer the client talks to is refused: the client does not use the tokens of that response (it exits non-zero, or never calls the API with the access token).",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-02",
        "id-token",
        Must,
        Login,
        "An ID token for another client is refused",
        "An ID token whose aud does not name the client is refused: the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-03",
        "id-token",
        Must,
        Login,
        "An ID token with another nonce is refused",
        "An ID token whose nonce is not the one the client sent in its authorization request is refused (replay protection): the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-04",
        "id-token",
        Must,
        Login,
        "An expired ID token is refused",
        "An ID token whose exp has passed (by an hour) is refused: the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-05",
        "id-token",
        Must,
        Login,
        "An ID token with a bad signature is refused",
        "An ID token whose signature does not verify with the issuer's key is refused: the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-06",
        "id-token",
        Must,
        Login,
        "An ID token signed by an unknown key is refused",
        "An ID token signed by a key that is not in the issuer's JWKS (even after fetching it again) is refused: the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-07",
        "id-token",
        Must,
        Login,
        "A token response tampered with after signing is refused",
        "An ID token whose claims were changed after the issuer signed it (another person's sub and identity number, the original signature) is refused: the client does not use the tokens of that response.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-08",
        "id-token",
        Must,
        Login,
        "An unsigned ID token (alg none) is refused",
        "An ID token with alg none and no signature is refused: HelseID signs ID tokens with RS256, and a client must never take the token's own word for how (or whether) it is signed.",
        RFC8725_3_1
    ),
    client_check!(
        "CLIENT-IDT-09",
        "id-token",
        Must,
        Login,
        "An ID token signed by a retired key is refused",
        "An ID token signed by a key the STS has taken out of its JWKS (rotated and retired just before the response) is refused: the client checks the signature against the JWKS as it is now, not one cached from before the login.",
        OIDC_ROTATE_KEYS
    ),
    client_check!(
        "CLIENT-IDT-10",
        "id-token",
        Must,
        Login,
        "An ID token with several audiences and another azp is refused",
        "An ID token whose aud names the client and another party, with azp the other party, is refused: with several audiences azp must be the client.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-11",
        "id-token",
        Must,
        Login,
        "An ID token without sub is refused",
        "An ID token without sub does not say who logged in and is refused.",
        OIDC_ID_TOKEN
    ),
    client_check!(
        "CLIENT-IDT-12",
        "id-token",
        Should,
        Login,
        "An ID token issued in the future is refused",
        "An ID token whose iat is an hour ahead of the client's clock (beyond any reasonable leeway) is refused.",
        OIDC_ID_TOKEN_VALIDATION
    ),
    client_check!(
        "CLIENT-IDT-13",
        "id-token",
        Should,
        Login,
        "An ID token whose at_hash does not match the access token is refused",
        "When the ID token has an at_hash (HelseID's do), it is the hash of the access token of the same response; a response whose at_hash does not match is refused, as its tokens do not belong together.",
        OIDC_AT_HASH
    ),
    client_check!(
        "CLIENT-KEY-01",
        "id-token",
        Must,
        Login,
        "A new signing key is accepted after re-fetching the JWKS",
        "When the STS rotates its signing key, an ID token signed by the new key (published in the JWKS from that moment) is accepted: the client fetches the JWKS again for the unknown kid instead of refusing it.",
        OIDC_ROTATE_KEYS
    ),
    client_check!(
        "CLIENT-AZRESP-01",
        "authorization-response",
        Must,
        Login,
        "An authorization response with another state is refused",
        "When the redirect back to the client carries a state that is not the one the client sent, the client does not redeem its code (the CSRF defence of the state parameter).",
        RFC6749_10_12
    ),
    client_check!(
        "CLIENT-AZRESP-02",
        "authorization-response",
        Must,
        Login,
        "An authorization response from another issuer is refused (RFC 9207)",
        "When the redirect's iss parameter names another issuer than the one the client sent the user to, the client does not redeem its code (the mix-up defence of RFC 9207).",
        RFC9207_2_4
    ),
    client_check!(
        "CLIENT-AZRESP-03",
        "authorization-response",
        Should,
        Login,
        "An authorization response without iss is refused (RFC 9207)",
        "HelseID's discovery document says authorization_response_iss_parameter_supported, so a redirect without an iss parameter is not from HelseID: the client does not redeem its code.",
        RFC9207_2_4
    ),
    client_check!(
        "CLIENT-AZRESP-04",
        "authorization-response",
        Should,
        Login,
        "An error response to the redirect URI is handled",
        "When the login ends with an error at the redirect URI (access_denied, as when the user cancels), the client reports it, or starts a new login: it does not hang, and does not end as if it had succeeded.",
        RFC6749_4_1_2_1
    ),
    client_check!(
        "CLIENT-TOKRESP-01",
        "token-response",
        Must,
        Always,
        "A token response without access_token is an error",
        "When a successful token response has no access_token, the client reports a failure (or asks again) instead of calling the API with nothing or ending as if it had succeeded.",
        RFC6749_5_1
    ),
    client_check!(
        "CLIENT-TOKRESP-02",
        "token-response",
        Should,
        Always,
        "A token of another type than asked for is not used",
        "When the token response's token_type is not the one the client asked for (Bearer after a request with a DPoP proof, DPoP after one without), the client does not use that access token: a client must not use a token whose type it did not ask for, and a Bearer answer to a DPoP request is a downgrade.",
        RFC9449_5
    ),
];

/// The check with `id` (case-insensitive).
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

/// Whether `selector` (an ID, a group name or a prefix like `API-DPOP`) names `check`.
pub fn selects(selector: &str, check: &Check) -> bool {
    check.id.eq_ignore_ascii_case(selector)
        || check.group.eq_ignore_ascii_case(selector)
        || (selector.len() >= 3
            && check
                .id
                .to_ascii_lowercase()
                .starts_with(&format!("{}-", selector.to_ascii_lowercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(
                CHECKS[..i].iter().all(|o| o.id != c.id),
                "duplicate {}",
                c.id
            );
            let parts: Vec<&str> = c.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", c.id);
            assert!(parts[2].len() == 2 && parts[2].chars().all(|ch| ch.is_ascii_digit()));
            assert!(c.link.starts_with("https://"), "{}", c.id);
            assert!(!c.title.ends_with('.'), "{}", c.id);
        }
    }

    #[test]
    fn selectors() {
        let dpop = find("api-dpop-03").unwrap_or_else(|| panic!("api-dpop-03"));
        assert!(selects("API-DPOP-03", dpop));
        assert!(selects("dpop", dpop));
        assert!(selects("API-DPOP", dpop));
        assert!(!selects("API-DPOP-04", dpop));
        assert!(!selects("API", dpop) || dpop.id.starts_with("API-"));
        assert!(find("NOPE-01").is_none());
    }
}
