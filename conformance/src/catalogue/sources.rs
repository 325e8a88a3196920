//! Where the rules are written: the pages and sections the catalogue cites.

// HelseID's pages (utviklerportal.nhn.no; paraphrased in ../shared/reference/helseid.md §12).
/// "Validating Access Tokens": what an API must check.
pub const HELSEID_API: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/protokoller-og-sikkerhetsprofil/sikkerhetsprofil/docs/vedlegg/validering_av_access_token_enmd";
/// "Validating Identity Tokens": what a client must check.
pub const HELSEID_ID_TOKEN: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/protokoller-og-sikkerhetsprofil/sikkerhetsprofil/docs/vedlegg/validering_av_id_token_enmd";
/// The PAR endpoint: required and recommended parameters of a login.
pub const HELSEID_PAR: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/teknisk-referanse/endepunkt/par-endepunktet_enmd";
/// The authorize endpoint: PAR mandatory for new login clients.
pub const HELSEID_AUTHORIZE: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/teknisk-referanse/endepunkt/authorization-endepunktet_enmd";
/// The token endpoint: grants, `resource`, the response.
pub const HELSEID_TOKEN: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/teknisk-referanse/endepunkt/token-endepunktet_enmd";
/// Client assertions (private_key_jwt).
pub const HELSEID_CLIENT_ASSERTION: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/tekniske-mekanismer/bruk_av_client_assertion_enmd";
/// The format of DPoP proofs.
pub const HELSEID_DPOP: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/protokoller-og-sikkerhetsprofil/sikkerhetsprofil/docs/vedlegg/formatering_av_dpop_bevis_enmd";
/// Organisation numbers and multi-tenancy.
pub const HELSEID_ORGNR: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/tekniske-mekanismer/organisasjonsnumre_enmd";
/// The profile for the trust framework (Tillitsrammeverk).
pub const HELSEID_TR: &str = "https://utviklerportal.nhn.no/informasjonstjenester/helseid/bruksmoenstre-og-eksempelkode/bruk-av-helseid/docs/tillitsrammeverk/profil_for_tillitsrammeverkmd";
/// HelseID's security profile for clients (the older Confluence edition, whose client rules
/// the 2025 profile keeps under its FAPI 2.0 baseline).
pub const HELSEID_SECURITY_PROFILE: &str = "https://helseid.atlassian.net/wiki/pages/diffpages.action?originalId=534675461&pageId=535461891";
/// "Kom i gang med HelseID" (seed 001): what an identity provider must return to HelseID.
pub const HELSEID_IDP: &str = "https://nhn.no/helseid/kom-i-gang-med-helseid/";

// RFCs and OpenID specifications.
pub const RFC6749_4_1_2: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2";
pub const RFC6749_4_1_2_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1";
pub const RFC6749_4_1_3: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3";
pub const RFC6749_3_2_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-3.2.1";
pub const RFC6749_5_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-5.1";
pub const RFC6749_6: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-6";
pub const RFC6749_7_1: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-7.1";
pub const RFC6749_10_12: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-10.12";
pub const RFC6750_3: &str = "https://www.rfc-editor.org/rfc/rfc6750#section-3";
pub const RFC6750_3_1: &str = "https://www.rfc-editor.org/rfc/rfc6750#section-3.1";
pub const RFC7515_4_1_9: &str = "https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9";
pub const RFC7517_5: &str = "https://www.rfc-editor.org/rfc/rfc7517#section-5";
pub const RFC7523_3: &str = "https://www.rfc-editor.org/rfc/rfc7523#section-3";
pub const RFC7636_4_1: &str = "https://www.rfc-editor.org/rfc/rfc7636#section-4.1";
pub const RFC7636_4_6: &str = "https://www.rfc-editor.org/rfc/rfc7636#section-4.6";
pub const RFC8414_2: &str = "https://www.rfc-editor.org/rfc/rfc8414#section-2";
pub const RFC8707_2: &str = "https://www.rfc-editor.org/rfc/rfc8707#section-2";
pub const RFC8725_3_1: &str = "https://www.rfc-editor.org/rfc/rfc8725#section-3.1";
pub const RFC9207_2_4: &str = "https://www.rfc-editor.org/rfc/rfc9207#section-2.4";
pub const RFC9449_2: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-2";
pub const RFC9449_4_2: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-4.2";
pub const RFC9449_4_3: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-4.3";
pub const RFC9449_5: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-5";
pub const RFC9449_7_1: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-7.1";
pub const RFC9449_7_2: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-7.2";
pub const RFC9449_8: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-8";
pub const RFC9449_11_1: &str = "https://www.rfc-editor.org/rfc/rfc9449#section-11.1";
pub const RFC9700_2_1: &str = "https://www.rfc-editor.org/rfc/rfc9700#section-2.1";
pub const OIDC_ID_TOKEN: &str = "https://openid.net/specs/openid-connect-core-1_0.html#IDToken";
pub const OIDC_ID_TOKEN_VALIDATION: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation";
pub const OIDC_AT_HASH: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowTokenValidation";
pub const OIDC_ROTATE_KEYS: &str =
    "https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys";
pub const OIDC_DISCOVERY_3: &str =
    "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata";
