//! The api checks: a vendor's API must accept HelseID's access tokens and refuse every
//! faulty one (../shared/reference/conformance-checks.md §1). The rules are HelseID's
//! "Validating Access Tokens" page (reference §12.1) and RFC 9449 for DPoP.

use super::sources::*;

checks! {
    Api, ApiCheck;
    Base01 = "API-BASE-01" {
        group: "baseline",
        severity: Must,
        applies: Always,
        title: "A valid token is accepted",
        requirement: "A token the STS issued for this API, with the required scopes and claims (and a correct DPoP proof when the API takes DPoP), gets a 2xx. Every other API check is inconclusive unless this passes.",
        source: (
            "HelseID, Validating Access Tokens (introduction)",
            "If an API uses HelseID for authorization purposes, the following rules for validation of Access tokens must be applied.",
            HELSEID_API
        ),
        level_note: Some("The baseline: an API that refuses a token HelseID would issue to it cannot be judged on the faulty ones."),
    },
    Auth01 = "API-AUTH-01" {
        group: "response",
        severity: Must,
        applies: Always,
        title: "A request without a token is refused with a challenge",
        requirement: "A request without credentials gets 401 with a WWW-Authenticate challenge naming the scheme the API takes.",
        source: (
            "RFC 6750 §3 (and RFC 9449 §7.1 for DPoP)",
            "If the protected resource request does not include authentication credentials or does not contain an access token that enables access to the protected resource, the resource server MUST include the HTTP \"WWW-Authenticate\" response header field.",
            RFC6750_3
        ),
        level_note: None,
    },
    Exp01 = "API-EXP-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "An expired token is refused",
        requirement: "A token whose exp is ten minutes in the past is refused (401); a leeway of a few seconds is fine, an unchecked exp is not.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"exp\"",
            "The API must verify the exp claim to make sure the Access Token is not expired. You may provide for some small leeway, usually no more than a few seconds, to account for clock skew.",
            HELSEID_API
        ),
        level_note: None,
    },
    Nbf01 = "API-NBF-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "A token that is not yet valid is refused",
        requirement: "A token whose nbf (and iat) is ten minutes in the future is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"nbf\"",
            "The API must verify the nbf to make sure the token is active. Implementers may provide for some small leeway, usually no more than a few seconds, to account for clock skew.",
            HELSEID_API
        ),
        level_note: None,
    },
    Iss01 = "API-ISS-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "A token from another issuer is refused",
        requirement: "A token whose iss is not HelseID's issuer is refused, even when signed by a key the API trusts.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"iss\"",
            "The API must verify that the Issuer Identifier for HelseID (which is obtained from the HelseID metadata endpoint) is an exact match for the value of the iss (issuer) claim.",
            HELSEID_API
        ),
        level_note: None,
    },
    Aud01 = "API-AUD-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "A token for another audience is refused",
        requirement: "A token whose aud is another API's audience is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"aud\"",
            "The API must validate that the aud (audience) claim matches the audience (\"kortnavn\") as it is set up in HelseID Selvbetjening. The Access token must be rejected if the aud claim does not contain an audience value that is an exact match to the audience set up in HelseID Selvbetjening.",
            HELSEID_API
        ),
        level_note: None,
    },
    Aud02 = "API-AUD-02" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "A token without aud is refused",
        requirement: "A token signed by the issuer's key with no aud claim is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"aud\"",
            "The Access token must be rejected if the aud claim is missing.",
            HELSEID_API
        ),
        level_note: None,
    },
    Aud03 = "API-AUD-03" {
        group: "claims",
        severity: Should,
        applies: Always,
        title: "A token with several audiences is refused",
        requirement: "A token signed by the issuer's key whose aud is an array of the API's audience and another API's is refused. HelseID issues one audience per token.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"aud\"",
            "The API should validate that it is the only audience in the Access Token. Access Tokens with multiple audiences are not recommended but may be acceptable in some cases.",
            HELSEID_API
        ),
        level_note: None,
    },
    Scope01 = "API-SCOPE-01" {
        group: "claims",
        severity: Must,
        applies: Scopes,
        title: "A token without the required scope is refused",
        requirement: "A token that lacks a scope the API requires is refused, preferably with 403 and error=\"insufficient_scope\".",
        source: (
            "HelseID, Validating Access Tokens, bullet \"scope\"",
            "If the API uses scopes for access control, it must make sure that the values in the scope claims are consistent with the scope values that are set up in HelseID Selvbetjening.",
            HELSEID_API
        ),
        level_note: None,
    },
    Alg01 = "API-ALG-01" {
        group: "signature",
        severity: Must,
        applies: Always,
        title: "An unsigned token (alg none) is refused",
        requirement: "A token with \"alg\": \"none\" and no signature is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"signature\"",
            "The API must reject any Access Token in which the value of alg is \"none\".",
            HELSEID_API
        ),
        level_note: None,
    },
    Alg02 = "API-ALG-02" {
        group: "signature",
        severity: Must,
        applies: Always,
        title: "HS256 signed with the issuer's public key is refused",
        requirement: "A token signed with HMAC-SHA256 using the issuer's public key (as PEM, DER or JWK text) as the secret is refused: the algorithm-confusion attack.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"signature\"; RFC 8725 §3.1",
            "The API must use the HelseID public key for signature validation of the Access Token. (RFC 8725: libraries MUST enable the caller to specify a supported set of algorithms and MUST NOT use any other algorithms when performing cryptographic operations.)",
            HELSEID_API
        ),
        level_note: None,
    },
    Kid01 = "API-KID-01" {
        group: "signature",
        severity: Must,
        applies: Always,
        title: "A token signed with an unknown key is refused",
        requirement: "A token signed by a key that is not in the issuer's JWKS, with a kid the JWKS does not have and the key itself in the header's jwk, is refused: keys come from the issuer's JWKS only.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"signature\"",
            "The API must use the HelseID public key for signature validation of the Access Token.",
            HELSEID_API
        ),
        level_note: None,
    },
    Sig01 = "API-SIG-01" {
        group: "signature",
        severity: Must,
        applies: Always,
        title: "A token with a broken signature is refused",
        requirement: "A token whose signature bytes were changed is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"signature\"",
            "The API must validate the signature of all incoming Access Tokens according to [RFC7515] using the algorithm specified in the alg Header Parameter in the Access Token.",
            HELSEID_API
        ),
        level_note: None,
    },
    Sig02 = "API-SIG-02" {
        group: "signature",
        severity: Must,
        applies: Always,
        title: "A token whose payload was changed after signing is refused",
        requirement: "A token whose claims were edited after the issuer signed it is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"signature\"",
            "The API must validate the signature of all incoming Access Tokens according to [RFC7515] using the algorithm specified in the alg Header Parameter in the Access Token.",
            HELSEID_API
        ),
        level_note: None,
    },
    Typ01 = "API-TYP-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "A token whose typ is not at+jwt or JWT is refused",
        requirement: "Tokens signed by the issuer's key with typ dpop+jwt and with typ id_token+jwt are refused. typ JWT and at+jwt are both valid at a HelseID API; values are compared case-insensitively (RFC 7515 §4.1.9), so AT+JWT is at+jwt.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"typ\"",
            "The API must verify that the typ header value is at+jwt or JWT, and reject tokens carrying any other value.",
            HELSEID_API
        ),
        level_note: None,
    },
    Typ02 = "API-TYP-02" {
        group: "claims",
        severity: Should,
        applies: Always,
        title: "A token without typ is refused",
        requirement: "A token signed by the issuer's key with no typ header is refused.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"typ\"",
            "The API must verify that the typ header value is at+jwt or JWT, and reject tokens carrying any other value.",
            HELSEID_API
        ),
        level_note: Some("The first half (\"must verify that the typ header value is at+jwt or JWT\") implies that a token without typ fails verification, but the refusal the rule spells out is for tokens \"carrying any other value\", which names only other values; so accepting a token without typ is a warning, not a failure (docs/fidelity.md records the reading)."),
    },
    Typ03 = "API-TYP-03" {
        group: "claims",
        severity: Should,
        applies: Always,
        title: "A token with the other valid typ is accepted",
        requirement: "The valid token with its typ changed to the other value HelseID names valid (JWT for at+jwt, at+jwt for JWT) and re-signed by the issuer's key gets a 2xx.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"typ\"",
            "The API must verify that the typ header value is at+jwt or JWT, and reject tokens carrying any other value.",
            HELSEID_API
        ),
        level_note: Some("HelseID names both values valid, and which one its production tokens carry is not published (its test-token service issues either); RFC 9068 §4 asks resource servers for at+jwt only. An API that refuses JWT follows the RFC and may refuse HelseID's tokens, which is a warning."),
    },
    Idt01 = "API-IDT-01" {
        group: "claims",
        severity: Must,
        applies: Always,
        title: "An ID token is refused as an access token",
        requirement: "An ID token the embedded STS issued at a real login of the scenario's client (aud the client id, typ JWT, signed by the issuer's key, unexpired), sent as the access token, is refused. Its typ passes HelseID's typ rule; what keeps it out is its audience.",
        source: (
            "HelseID, Validating Access Tokens, bullet \"aud\"",
            "The Access token must be rejected if the aud claim does not contain an audience value that is an exact match to the audience set up in HelseID Selvbetjening.",
            HELSEID_API
        ),
        level_note: None,
    },
    Dpop01 = "API-DPOP-01" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A DPoP-bound token sent as Bearer is refused",
        requirement: "A token with cnf.jkt sent with Authorization: Bearer (no proof) is refused.",
        source: (
            "RFC 9449 §7.2",
            "Protected resources simultaneously supporting both the DPoP and Bearer schemes need to update how the evaluation process is performed for bearer tokens to prevent downgraded usage of a DPoP-bound access token. Specifically, such a protected resource MUST reject a DPoP-bound access token received as a bearer token.",
            RFC9449_7_2
        ),
        level_note: None,
    },
    Dpop02 = "API-DPOP-02" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A DPoP token without a proof is refused",
        requirement: "Authorization: DPoP without a DPoP header is refused: 401 or 403, or 400 invalid_request (RFC 6750 §3.1: a request missing a required parameter).",
        source: (
            "RFC 9449 §7.1",
            "To validate an access token that is bound to a public key using DPoP, in addition to the checks of the access token itself, the resource server MUST check the DPoP proof according to the rules in Section 4.3.",
            RFC9449_7_1
        ),
        level_note: None,
    },
    Dpop03 = "API-DPOP-03" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A proof for another method is refused",
        requirement: "A proof whose htm is not the request's method is refused.",
        source: (
            "RFC 9449 §4.3, step 8",
            "To validate a DPoP proof, the receiving server MUST ensure that the htm claim matches the HTTP method of the current request.",
            RFC9449_4_3
        ),
        level_note: None,
    },
    Dpop04 = "API-DPOP-04" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A proof for another URL is refused",
        requirement: "A proof whose htu is not the request's URL (another path) is refused.",
        source: (
            "RFC 9449 §4.3, step 9",
            "To validate a DPoP proof, the receiving server MUST ensure that the htu claim matches the HTTP URI value for the HTTP request in which the JWT was received, ignoring any query and fragment parts.",
            RFC9449_4_3
        ),
        level_note: None,
    },
    Dpop05 = "API-DPOP-05" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A proof for another token is refused",
        requirement: "A proof whose ath is not the hash of the presented access token is refused.",
        source: (
            "RFC 9449 §4.3, step 12",
            "When presented to a protected resource in conjunction with an access token, the receiving server MUST ensure that the value of the ath claim equals the hash of that access token.",
            RFC9449_4_3
        ),
        level_note: None,
    },
    Dpop06 = "API-DPOP-06" {
        group: "dpop",
        severity: Should,
        applies: Dpop,
        title: "A replayed proof is refused",
        requirement: "The same proof (same jti) sent twice: the second request is refused.",
        source: (
            "RFC 9449 §11.1",
            "In the context of the target URI, servers can store the jti value of each DPoP proof for the time window in which the respective DPoP proof JWT would be accepted to prevent multiple uses of the same DPoP proof. When strictly enforced, such a single-use check provides a very strong protection against DPoP proof replay, but it may not always be feasible in practice.",
            RFC9449_11_1
        ),
        level_note: Some("RFC 9449 leaves the jti cache to the server (\"can store\"), so a replay accepted within the proof's short lifetime is a warning; HelseID's sample APIs keep such a cache."),
    },
    Dpop07 = "API-DPOP-07" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A proof signed by another key than cnf.jkt is refused",
        requirement: "A proof signed by a key whose thumbprint is not the token's cnf.jkt is refused.",
        source: (
            "RFC 9449 §4.3, step 12",
            "When presented to a protected resource in conjunction with an access token, the receiving server MUST ensure that the public key to which the access token is bound matches the public key from the DPoP proof.",
            RFC9449_4_3
        ),
        level_note: None,
    },
    Dpop08 = "API-DPOP-08" {
        group: "dpop",
        severity: Must,
        applies: Dpop,
        title: "A stale proof is refused",
        requirement: "A proof whose iat is an hour old is refused.",
        source: (
            "RFC 9449 §11.1 and §4.3, step 11",
            "Servers MUST only accept DPoP proofs for a limited time after their creation (preferably only for a relatively brief period on the order of seconds or minutes).",
            RFC9449_11_1
        ),
        level_note: None,
    },
    User01 = "API-USER-01" {
        group: "helseid",
        severity: Must,
        applies: User,
        title: "A token without a user is refused where a user is needed",
        requirement: "An API that needs a logged-in user refuses a client-credentials token the embedded STS issued to the same client for the same API (with the same attestation when the API requires one): no pid, no HPR number, no security level.",
        source: (
            "HelseID, Validating Access Tokens, the rules for a logged-in user",
            "An API that requires information about a logged in user must validate both the users identity (PID or HPR-number) and the security level",
            HELSEID_API
        ),
        level_note: None,
    },
    Level01 = "API-LEVEL-01" {
        group: "helseid",
        severity: Must,
        applies: Level4,
        title: "A security level 3 token is refused where 4 is required",
        requirement: "A user token with helseid://claims/identity/security_level 3 is refused by an API that requires level 4.",
        source: (
            "HelseID, Validating Access Tokens, the rules for a logged-in user",
            "An API that requires information about a logged in user must validate both the users identity (PID or HPR-number) and the security level (helseid://claims/identity/security_level or assurance_level) against its requirement.",
            HELSEID_API
        ),
        level_note: None,
    },
    Tr01 = "API-TR-01" {
        group: "helseid",
        severity: Must,
        applies: Tillitsrammeverk,
        title: "A token without the Tillitsrammeverk claim is refused",
        requirement: "An API that requires the trust framework refuses a token without nhn:tillitsrammeverk:parameters.",
        source: (
            "HelseID, profile for the Tillitsrammeverk",
            "The attestation (type nhn:tillitsrammeverk:parameters) tells the API who the practitioner is, for which legal entity and care relationship, and for what purpose; an API that bases access on it reads it from the access token.",
            HELSEID_TR
        ),
        level_note: Some("The scenario says the API requires the claim (requirements.tillitsrammeverk): an API that accepts a token without it does not enforce its own declared access rule."),
    },
    Tr02 = "API-TR-02" {
        group: "helseid",
        severity: Must,
        applies: Tillitsrammeverk,
        title: "A token with a malformed Tillitsrammeverk claim is refused",
        requirement: "An API that requires the trust framework refuses a token whose nhn:tillitsrammeverk:parameters lacks the practitioner's legal entity and purpose of use.",
        source: (
            "HelseID, profile for the Tillitsrammeverk",
            "The attestation carries the practitioner, the legal entity (legal_entity) and the purpose of use (purpose_of_use), each with its code system; an API that bases access on it reads those elements.",
            HELSEID_TR
        ),
        level_note: Some("The scenario says the API requires the claim: a claim without the elements access is decided on is no attestation, and accepting it does not enforce the API's declared rule."),
    },
    Org01 = "API-ORG-01" {
        group: "helseid",
        severity: Must,
        applies: Organisations,
        title: "A token for an organisation the API does not serve is refused",
        requirement: "A token whose consumer organisation (orgnr_parent / orgnr_child) is not one the API serves is refused.",
        source: (
            "HelseID, Validating Access Tokens (older edition, AT 577830913)",
            "Consider validating and verifying the value in the claims containing organizational identifiers, e.g. helseid://claims/client/claims/orgnr_parent and helseid://claims/client/claims/orgnr_child.",
            HELSEID_ORGNR
        ),
        level_note: Some("HelseID says \"consider\"; the check runs only when the scenario names the organisations the API serves (requirements.organisations), and then the API's own declared rule is what is enforced."),
    },
    Tenancy01 = "API-TENANCY-01" {
        group: "helseid",
        severity: Must,
        applies: MultiTenantOrganisations,
        title: "A multi-tenant token is judged by the organisation acted for, not the supplier",
        requirement: "A token of a supplier's multi-tenant client is judged by the organisation the client acts for (orgnr_child when present, else orgnr_parent), never by orgnr_supplier: a token whose orgnr_parent is an organisation the API does not serve is refused, even when its orgnr_supplier is one the API serves.",
        source: (
            "HelseID, Organisation numbers (multi-tenancy)",
            "A multi-tenant client must state which parent organisation it acts for; HelseID verifies the delegation from that organisation to the supplier and puts it in the access token (orgnr_parent, orgnr_child when given), with the supplier in orgnr_supplier.",
            HELSEID_ORGNR
        ),
        level_note: Some("Runs only when the scenario names the organisations the API serves: judging such a token by orgnr_supplier admits every customer of that supplier."),
    },
    Www01 = "API-WWW-01" {
        group: "response",
        severity: Should,
        applies: Always,
        title: "Refusals name the scheme and the error",
        requirement: "A 401 carries WWW-Authenticate with the scheme (DPoP or Bearer) and error=\"invalid_token\" (or \"invalid_dpop_proof\").",
        source: (
            "RFC 6750 §3",
            "If the protected resource request included an access token and failed authentication, the resource server SHOULD include the \"error\" attribute to provide the client with the reason why the access request was declined.",
            RFC6750_3
        ),
        level_note: None,
    },
    Err5xx01 = "API-5XX-01" {
        group: "response",
        severity: Must,
        applies: Always,
        title: "Malformed tokens never cause a server error",
        requirement: "Garbage in the Authorization header (not a JWT, bad base64, JSON that is not an object, a 16 KB token) gets a 4xx (431 Request Header Fields Too Large is a refusal too), never a 5xx or a dropped connection. A server that refuses an oversized header may close the connection before its answer is read: for the 16 KB token that passes when the API answers the next request, and is a crash when it does not.",
        source: (
            "RFC 6750 §3.1, error code invalid_token",
            "invalid_token: The access token provided is expired, revoked, malformed, or invalid for other reasons. The resource SHOULD respond with the HTTP 401 (Unauthorized) status code.",
            RFC6750_3_1
        ),
        level_note: Some("Any 4xx passes (the RFC's 401 is a should); a 5xx or a crash means a malformed token reached code that was not ready for it, which is the flaw this check exists to find."),
    },
}
