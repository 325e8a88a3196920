//! The client checks: what a vendor's client (fagsystem) sends, and what it does with
//! responses the STS spoils on purpose (../shared/reference/conformance-checks.md §2, §3).
//! The rules are HelseID's pages on client assertions, PAR, DPoP and ID token validation
//! (reference §2–4, §12.2) and the RFCs they build on.

use super::sources::*;

checks! {
    Client, ClientCheck;
    Run01 = "CLIENT-RUN-01" {
        group: "baseline",
        severity: Must,
        applies: Always,
        title: "The client gets a token and calls the API",
        requirement: "Run against a correct STS, the driver gets a token, calls the probe API with it and exits 0 within its time limit. The fault checks are inconclusive unless this passes: a refusal proves nothing when the client fails anyway.",
        source: (
            "HelseID security profile, requirements for all clients",
            "Clients shall use the Authorization Code flow for interactive sessions, or the Client Credentials flow as described in RFC 6749.",
            HELSEID_SECURITY_PROFILE
        ),
        level_note: Some("The baseline: a client that cannot complete its own flow against a correct STS cannot be judged on the faulty responses."),
    },
    Auth01 = "CLIENT-AUTH-01" {
        group: "client-auth",
        severity: Must,
        applies: Always,
        title: "private_key_jwt client assertions, short-lived and never reused",
        requirement: "Every request to the token and PAR endpoints authenticates with a client assertion (private_key_jwt) and no client secret, which the STS's own validator accepts at the time the request came: signed by the client's registered key, iss and sub the client_id, aud the issuer or the endpoint, exp at most 60 seconds ahead; and no jti is used twice.",
        source: (
            "HelseID, Client assertions; RFC 7523 §3",
            "HelseID will not authenticate clients by means of any other authentication method, such as Mutual TLS or Client Secret. The JWT MUST contain an iss and a sub claim (the client_id) and an aud claim identifying the authorization server; exp must be no more than 60 seconds in the future; a client assertion should only be used once, and HelseID enforces it with the jti.",
            HELSEID_CLIENT_ASSERTION
        ),
        level_note: None,
    },
    Dpop01 = "CLIENT-DPOP-01" {
        group: "dpop",
        severity: Must,
        applies: Always,
        title: "A DPoP proof on every token request, and the nonce retry",
        requirement: "Every token request carries a DPoP proof for POST and the token endpoint (typ compared case-insensitively, htu without query or fragment, as the STS does); when the STS answers use_dpop_nonce, the client retries with the nonce it was given.",
        source: (
            "HelseID, Format of DPoP proofs; RFC 9449 §8",
            "A DPoP proof must be sent in the DPoP header on all calls to the token endpoint; HelseID requires a server-provided nonce there, and a client answered use_dpop_nonce must send a new proof with that nonce.",
            HELSEID_DPOP
        ),
        level_note: None,
    },
    Dpop02 = "CLIENT-DPOP-02" {
        group: "dpop",
        severity: Must,
        applies: Always,
        title: "Every DPoP proof has a jti of its own",
        requirement: "No two DPoP proofs the client sent (to the token and PAR endpoints and to the API, the proof answered use_dpop_nonce included, over every driver run of the suite) share a jti. The STS, like Duende, records a proof's jti only once the request succeeds, so a retry that reuses the challenged proof's jti gets through at HelseID; the rule is broken all the same.",
        source: (
            "RFC 9449 §4.2, claim jti",
            "jti: Unique identifier for the DPoP proof JWT. The value MUST be assigned such that there is a negligible probability that the same value will be assigned to any other DPoP proof used in the same context during the time window of validity.",
            RFC9449_4_2
        ),
        level_note: None,
    },
    Res01 = "CLIENT-RES-01" {
        group: "tokens",
        severity: Must,
        applies: Always,
        title: "Tokens for one API at a time where several were asked for",
        requirement: "A token request names at most one resource; and where the client asked for more than one API (several resources at PAR, or scopes of several APIs), each token request that asks for an access token names the API it is for with exactly one resource parameter. A client whose login or scopes name one API may leave resource out: its tokens are single-audience anyway; so may the code redemption and refreshes of a login whose PAR named one resource (RFC 8707 §2.1: it applies to the whole grant).",
        source: (
            "HelseID, Token endpoint and PAR endpoint (resource); RFC 8707 §2",
            "resource may be used with any grant: HelseID will return an Access Token with the aud claim set to this value. If multiple resources are posted to PAR, the client can make a Token request for each resource at a later stage. National APIs require tokens where they are the only audience, and an API must refuse a token whose aud does not name it.",
            HELSEID_TOKEN
        ),
        level_note: Some("HelseID makes resource optional (\"may be used\"); it is a must only where leaving it out makes the audience of the token ambiguous."),
    },
    Par01 = "CLIENT-PAR-01" {
        group: "login",
        severity: Must,
        applies: Login,
        title: "Pushed authorization requests",
        requirement: "The login's parameters are pushed to the PAR endpoint; the authorization endpoint gets only client_id and request_uri.",
        source: (
            "HelseID, Authorize endpoint",
            "For new Clients that wants to log on a user, the use of the PAR endpoint is mandatory; with PAR the authorize endpoint gets only client_id and request_uri.",
            HELSEID_AUTHORIZE
        ),
        level_note: None,
    },
    Code01 = "CLIENT-CODE-01" {
        group: "login",
        severity: Must,
        applies: Login,
        title: "The code flow only, no implicit or hybrid flow",
        requirement: "Every authorization request asks for response_type=code: no token or id_token comes through the browser.",
        source: (
            "HelseID, PAR endpoint, parameter response_type",
            "response_type: This value must always be code (other flows, such as Implicit or Hybrid are not allowed).",
            HELSEID_PAR
        ),
        level_note: None,
    },
    Pkce01 = "CLIENT-PKCE-01" {
        group: "login",
        severity: Must,
        applies: Login,
        title: "PKCE with S256, a long verifier, new for every login",
        requirement: "Every authorization request carries a code_challenge with code_challenge_method S256, no two authorization requests the runner saw (over every driver run of the suite) share a challenge, and the code is redeemed with a verifier of 43 to 128 characters.",
        source: (
            "HelseID, PAR endpoint, parameters code_challenge and code_challenge_method; RFC 7636 §4.1",
            "code_challenge_method: The method used for the code challenge. The value must be S256. (RFC 7636: the client first creates a code verifier for each OAuth 2.0 Authorization Request; code-verifier = 43*128unreserved.)",
            HELSEID_PAR
        ),
        level_note: None,
    },
    State01 = "CLIENT-STATE-01" {
        group: "login",
        severity: Should,
        applies: Login,
        title: "state and nonce in every authorization request, new each time",
        requirement: "Every authorization request carries a state of at least 16 characters, and a nonce of at least 16 characters where it sends one (HelseID: nonce may be used), and no two authorization requests the runner saw (over every driver run of the suite) share a state or a nonce.",
        source: (
            "HelseID, PAR endpoint, parameters state (recommended) and nonce (may be used); RFC 6749 §10.12",
            "The following parameter is recommended: state, for correlating request and response and CSRF/replay protection. nonce may be used: HelseID will echo back the nonce value in the Identity Token. (RFC 6749 §10.12: the binding value used for CSRF protection MUST contain a non-guessable value.)",
            HELSEID_PAR
        ),
        level_note: Some("HelseID recommends state and allows nonce; PKCE, which HelseID requires, already protects the code flow against CSRF (RFC 9700 §2.1). A constant or short value makes them worthless, which this check reports as a warning."),
    },
    Refresh01 = "CLIENT-REFRESH-01" {
        group: "tokens",
        severity: Must,
        applies: Login,
        title: "Refresh tokens are used once, the newest each time",
        requirement: "When the client refreshes, every refresh request sends the refresh token of the latest token response and never one it already used (HelseID rotates refresh tokens). Not applicable to a run without refreshes.",
        source: (
            "RFC 6749 §6",
            "The authorization server MAY issue a new refresh token, in which case the client MUST discard the old refresh token and replace it with the new refresh token.",
            RFC6749_6
        ),
        level_note: None,
    },
    Probe01 = "CLIENT-PROBE-01" {
        group: "dpop",
        severity: Must,
        applies: Always,
        title: "The API is called with a DPoP-bound token and a proof with ath",
        requirement: "The client calls the API with Authorization: DPoP and a proof whose ath is the hash of that access token, and the API accepts it.",
        source: (
            "HelseID, Format of DPoP proofs; RFC 9449 §7.1",
            "The DPoP proof is sent on all calls to DPoP-protected APIs, with Authorization: DPoP <access token>; against an API the proof must contain ath.",
            HELSEID_DPOP
        ),
        level_note: None,
    },
    Tenancy01 = "CLIENT-TENANCY-01" {
        group: "tenancy",
        severity: Must,
        applies: MultiTenant,
        title: "A multi-tenant client names the organisation it acts for",
        requirement: "Every client_credentials request's client assertion carries assertion_details of type helseid_authorization whose identifier has system urn:oid:1.0.6523 and value NO:ORGNR:<HELSEID_ORGNR>:<child?>; a login client's code and refresh requests may leave it out (HelseID recommends naming it in the refresh request's client assertion, or in the request object at PAR), but any they carry names HELSEID_ORGNR; and every token the API got has orgnr_parent = HELSEID_ORGNR.",
        source: (
            "HelseID, Organisation numbers (multi-tenancy)",
            "A multi-tenant client must state which parent organisation it acts for, in the structured claim of the client assertion (with a user: preferably on refresh-token requests, or in a request object at PAR); HelseID verifies the delegation and puts the organisation in the access token.",
            HELSEID_ORGNR
        ),
        level_note: None,
    },
    Idt01 = "CLIENT-IDT-01" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token from another issuer is refused",
        requirement: "An ID token whose iss is not the issuer the client talks to is refused: the client never uses the tokens of that response (the probe API never accepts its access token).",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"iss\"",
            "The Issuer for the OpenID Provider, obtained from the Discovery endpoint, must exactly match the value of the iss claim.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt02 = "CLIENT-IDT-02" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token for another client is refused",
        requirement: "An ID token whose aud does not name the client is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"aud\"",
            "The Client must validate that the aud (audience) claim matches its client_id value. This implies that only the client ID is a valid audience.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt03 = "CLIENT-IDT-03" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token with another nonce is refused",
        requirement: "An ID token whose nonce is not the one the client sent in its authorization request is refused: the client never uses the tokens of that response. Skipped for a run whose authorization request sent no nonce.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"nonce\"",
            "If a nonce value was sent in the call to either the PAR endpoint, or to the Authorization endpoint, the Client must check that a nonce claim is present, and that its value correlates to the one that was sent in the request.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt04 = "CLIENT-IDT-04" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An expired ID token is refused",
        requirement: "An ID token whose exp has passed (by an hour) is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"exp\"",
            "The client must inspect the exp claim, and validate that the token has not yet expired.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt05 = "CLIENT-IDT-05" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token with a bad signature is refused",
        requirement: "An ID token whose signature does not verify with the issuer's key is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"signature\"",
            "The client must validate the token signature. All HelseID Identity Tokens are signed using the key material found at the JWKS endpoint. Tokens signed with other keys must be rejected.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt06 = "CLIENT-IDT-06" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token signed by an unknown key is refused",
        requirement: "An ID token signed by a key that is not in the issuer's JWKS (even after fetching it again) is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"signature\"",
            "All HelseID Identity Tokens are signed using the key material found at the JWKS endpoint. Tokens signed with other keys must be rejected.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt07 = "CLIENT-IDT-07" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "A token response tampered with after signing is refused",
        requirement: "An ID token whose claims were changed after the issuer signed it (another person's sub and identity number, the original signature) is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"signature\"",
            "The client must validate the token signature.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt08 = "CLIENT-IDT-08" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An unsigned ID token (alg none) is refused",
        requirement: "An ID token with alg none and no signature is refused: HelseID signs ID tokens with RS256, and a client must never take the token's own word for how (or whether) it is signed.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"signature\"; RFC 8725 §3.1",
            "The client must validate the token signature; tokens signed with other keys must be rejected. (RFC 8725: libraries MUST enable the caller to specify a supported set of algorithms and MUST NOT use any other algorithms.)",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt10 = "CLIENT-IDT-10" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token with several audiences and another azp is refused",
        requirement: "An ID token whose aud names the client and another party, with azp the other party, is refused.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"aud\"",
            "The Client must validate that the aud (audience) claim matches its client_id value. This implies that only the client ID is a valid audience.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Idt14 = "CLIENT-IDT-14" {
        group: "id-token",
        severity: Must,
        applies: Login,
        title: "An ID token signed by a key retired before the login is refused",
        requirement: "An ID token signed by a key the STS retired before the run started (published only at /connect/expiredjwks, in no JWKS the client could have fetched for this login) is refused: the client never uses the tokens of that response.",
        source: (
            "HelseID, Validating Identity Tokens, bullet \"signature\"",
            "All HelseID Identity Tokens are signed using the key material found at the JWKS endpoint. Tokens signed with other keys must be rejected.",
            HELSEID_ID_TOKEN
        ),
        level_note: None,
    },
    Key01 = "CLIENT-KEY-01" {
        group: "id-token",
        severity: Should,
        applies: Login,
        title: "A new signing key is accepted after re-fetching the JWKS",
        requirement: "When the STS rotates its signing key, an ID token signed by the new key (published in the JWKS from that moment) is accepted: the client fetches the JWKS again for the unknown kid instead of refusing it.",
        source: (
            "OpenID Connect Core 1.0 §10.1.1; HelseID's functional requirements (FK2)",
            "The RP ... when it encounters an unfamiliar kid value, needs to go back to the jwks_uri to retrieve the new keys. HelseID advises clients to fetch the JWKS again on an unknown kid.",
            OIDC_ROTATE_KEYS
        ),
        level_note: Some("Advice, not a must: HelseID announces a new key in the JWKS before signing with it, so a client that refreshes its cache in time also works; this check signs with the new key at once."),
    },
    Azresp01 = "CLIENT-AZRESP-01" {
        group: "authorization-response",
        severity: Should,
        applies: Login,
        title: "An authorization response with another state is refused",
        requirement: "When the redirect back to the client carries a state that is not the one the client sent, the client does not redeem its code (the CSRF defence of the state parameter). Skipped for a run whose authorization request sent no state (CLIENT-STATE-01 warns about that).",
        source: (
            "RFC 6749 §10.12; HelseID, PAR endpoint, parameter state (recommended)",
            "The client MUST implement CSRF protection for its redirection URI, typically by requiring any request sent to the redirection URI endpoint to include a value that binds the request to the user-agent's authenticated state (e.g., a hash of the session cookie used to authenticate the user-agent).",
            RFC6749_10_12
        ),
        level_note: Some("RFC 9700 §2.1 lets a client that uses PKCE rely on it against CSRF, and HelseID requires PKCE; a client that sends a state but does not compare it wastes its own defence, which is a warning."),
    },
    Azresp02 = "CLIENT-AZRESP-02" {
        group: "authorization-response",
        severity: Must,
        applies: Login,
        title: "An authorization response from another issuer is refused (RFC 9207)",
        requirement: "When the redirect's iss parameter names another issuer than the one the client sent the user to, the client does not redeem its code (the mix-up defence of RFC 9207).",
        source: (
            "HelseID security profile, clients that support user logon; RFC 9207 §2.4",
            "Clients shall check the validity of the iss parameter in the authorization response to prevent mix-up attacks. (RFC 9207: if the value does not match the expected issuer identifier, clients MUST reject the authorization response and MUST NOT proceed with the authorization grant.)",
            RFC9207_2_4
        ),
        level_note: None,
    },
    Azresp03 = "CLIENT-AZRESP-03" {
        group: "authorization-response",
        severity: Should,
        applies: Login,
        title: "An authorization response without iss is refused (RFC 9207)",
        requirement: "HelseID's discovery document says authorization_response_iss_parameter_supported, so a redirect without an iss parameter is not from HelseID: the client does not redeem its code.",
        source: (
            "RFC 9207 §2.4",
            "Clients MUST reject authorization responses without the iss parameter from authorization servers that do support the parameter according to the client's configuration.",
            RFC9207_2_4
        ),
        level_note: Some("The RFC's must is for clients that track which servers send iss (clients of several servers); a client of HelseID alone that accepts a response without iss gets a warning."),
    },
    Azresp04 = "CLIENT-AZRESP-04" {
        group: "authorization-response",
        severity: Should,
        applies: Login,
        title: "An error response to the redirect URI is handled",
        requirement: "When the login ends with an error at the redirect URI (access_denied, as when the user cancels), the client reports it, or starts a new login: it does not hang, and does not end as if it had succeeded.",
        source: (
            "RFC 6749 §4.1.2.1",
            "If the resource owner denies the access request or if the request fails for reasons other than a missing or invalid redirection URI, the authorization server informs the client by adding the error parameters to the query component of the redirection URI.",
            RFC6749_4_1_2_1
        ),
        level_note: Some("The RFC says what the server sends, not what the client does with it; a client that hangs or reports success on an error is not robust, which is a warning."),
    },
    Tokresp01 = "CLIENT-TOKRESP-01" {
        group: "token-response",
        severity: Should,
        applies: Always,
        title: "A token response without access_token is an error",
        requirement: "When a successful token response has no access_token, the client reports a failure (or asks again) instead of calling the API with nothing or ending as if it had succeeded.",
        source: (
            "RFC 6749 §5.1",
            "access_token: REQUIRED. The access token issued by the authorization server.",
            RFC6749_5_1
        ),
        level_note: Some("The RFC's REQUIRED binds the server; what the client does with a broken response is robustness, a warning."),
    },
    Tokresp02 = "CLIENT-TOKRESP-02" {
        group: "token-response",
        severity: Should,
        applies: Always,
        title: "A token of another type than asked for is not used",
        requirement: "When the token response's token_type is not the one the client asked for (Bearer after a request with a DPoP proof, DPoP after one without), the client does not use that access token: a Bearer answer to a DPoP request is a downgrade.",
        source: (
            "RFC 9449 §5; RFC 6749 §7.1",
            "A token_type of Bearer in the response to a request with a DPoP proof means the token is not bound; the client MUST NOT use an access token if it does not understand the token type (RFC 6749 §7.1).",
            RFC9449_5
        ),
        level_note: Some("RFC 6749's must covers token types the client does not understand; using an unbound Bearer token it did not ask for is a downgrade the client should notice, a warning."),
    },
}
