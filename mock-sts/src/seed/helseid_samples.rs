//! The `helseid-samples` seed profile (`helseid-testbed up --profile helseid-samples`): the
//! clients, APIs, organisations and delegations NorskHelsenett's HelseID.Samples expect to
//! find in HelseID's test environment, so the samples run against the testbed with only their
//! issuer changed (docs/helseid-samples.md says how, sample by sample).
//!
//! Source: `NorskHelsenett/HelseID.Samples` @ d9048c80 (2025-12-11),
//! `Configuration/ConfigurationValues.cs` (client ids, scopes, audiences, organisations, the
//! shared keys), `Configuration/HelseIdSamplesConfiguration.cs` (which client uses which key
//! and scope), `ClientCredentials/ConfigurationValues.cs` (the client-credentials sample, on
//! HelseID.Library), `ApiAccess/` (grant types, the redirect URIs of its ASP.NET handler on
//! port 5151, the organisations of the multi-tenant mode), `SampleApiForTokenExchange/` (the
//! actor's exchange) and the `NativeClients/` programs (their own client ids, keys and
//! loopback redirect URIs). Where the samples do not say something HelseID's registration
//! holds (the owner of a single-tenant client, the supplier of a native multi-tenant client),
//! the choice made here is recorded in docs/fidelity.md ("helseid-samples profile").
//!
//! Only the PUBLIC halves of the samples' published private keys are here (`kty`, `n`, `e` or
//! `crv`, `x`, `y`, with `alg`, `use` and `kid` as published): the samples sign with their
//! private halves, the testbed verifies with these.

use serde_json::{Value, json};
use synthpop::OrgKind;

use protocol::jose::key_policy;

use super::{SAMPLE_CHILD_NAMES, SAMPLE_CHILDREN, SAMPLE_PARENT, SAMPLE_SUPPLIER, SeedError};
use crate::store::{
    Api, Client, ClientKey, Delegation, Organisation, Store, Tenancy, TokenBinding,
};
use crate::token::{GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN};
use crate::token_exchange;

/// The profile's name on the command line.
pub const NAME: &str = "helseid-samples";
/// The `origin` of the clients the profile registers.
pub const ORIGIN: &str = "profile:helseid-samples";
/// Where the profile's facts come from.
pub const SOURCE: &str =
    "NorskHelsenett/HelseID.Samples @ d9048c80 (2025-12-11), Configuration/ConfigurationValues.cs";

// --- APIs (`ConfigurationValues.cs`: `SampleApiNameAudience`, ...) --------------------------

/// The "regular" sample API (`SampleApi/`, port 5081).
pub const SAMPLE_API: &str = "nhn:test-public-samplecode";
/// The sample API that exchanges tokens (`SampleApiForTokenExchange/`, port 5092).
pub const TOKEN_EXCHANGE_API: &str = "nhn:test-public-samplecode-for-token-exchange";
/// The two APIs of the resource-indicators sample.
pub const RESOURCE_API_1: &str = "nhn:test-public-sample-api-1";
pub const RESOURCE_API_2: &str = "nhn:test-public-sample-api-2";

pub const SCOPE_CLIENT_CREDENTIALS: &str = "nhn:test-public-samplecode/client-credentials";
pub const SCOPE_AUTHORIZATION_CODE: &str = "nhn:test-public-samplecode/authorization-code";
/// Spelled as the samples spell it (`TokenExchangeApiScope`).
pub const SCOPE_TOKEN_EXCHANGE: &str =
    "nhn:test-public-samplecode-for-token-exchange/token-exhange-endpoint";
pub const SCOPE_RESOURCE_1: &str = "nhn:test-public-sample-api-1/some-scope";
pub const SCOPE_RESOURCE_2: &str = "nhn:test-public-sample-api-2/some-scope";

// --- Client ids -----------------------------------------------------------------------------

/// `ClientCredentialsSampleForMultiTenantClientId` (also `ClientCredentialsSampleClientId2`,
/// and the id of `ClientCredentials/ConfigurationValues.cs`).
pub const CLIENT_CREDENTIALS_MULTI_TENANT: &str =
    "helseid-sample-client-credentials-for-multitenant-app";
/// `ClientCredentialsWithChildOrgNumberSampleClientId`.
pub const CLIENT_CREDENTIALS_WITH_UNDERENHET: &str =
    "helseid-sample-client-credentials-with-underenhet";
/// `ApiAccessSampleClientId`.
pub const API_ACCESS: &str = "helseid-sample-api-access";
/// `ApiAccessSampleClientIdForMultiTenantApp`.
pub const API_ACCESS_MULTI_TENANT: &str = "helseid-sample-api-access-for-multitenant-app";
/// `TokenExchangeSubjectClientId`.
pub const TOKEN_EXCHANGE_SUBJECT: &str = "helseid-sample-token-exchange-subject-client";
/// `TokenExchangeActorClientId`.
pub const TOKEN_EXCHANGE_ACTOR: &str = "helseid-sample-token-exchange-actor-client";
/// `ApiAccessSampleClientIdWithRequestObject`.
pub const REQUEST_OBJECTS: &str = "helseid-sample-request-objects-console";
/// `ApiAccessResourceIndicatorClientId` (also `NativeClients/SimpleResourceIndicatorsDemo`).
pub const RESOURCE_INDICATORS: &str = "helseid-sample-resource-indicators";
/// `UserAuthenticationClientId`.
pub const USER_AUTHENTICATION: &str = "helseid-sample-client-authentication";
/// `NativeClients/SimpleNativeClientWithDPoP/Program.cs` `ClientId`.
pub const NATIVE_DPOP: &str = "f4352589-549d-47ec-9844-5255f4eb0fad";
/// `NativeClients/SimpleRequestObjectsDemo/Program.cs` `ClientId`.
pub const NATIVE_REQUEST_OBJECTS: &str = "f7cd1256-0526-4b5a-b4c3-f054c984ace8";
/// `NativeClients/TokenExchange.ClientCredentials/Program.cs` `SubjectClientId`/`ActorClientId`.
pub const NATIVE_EXCHANGE_SUBJECT: &str = "token_exchange_subject_client";
pub const NATIVE_EXCHANGE_ACTOR: &str = "token_exchange_actor_client";

// --- Organisations (`ConfigurationValues.cs`, `OrganizationStore.cs`) -------------------------

pub const HANSENS_LEGEKONTOR: &str = "313325016";
pub const FLAKSVAAGOEY_KOMMUNE: &str = "312232324";
pub const FLAKSVAAGOEY_CHILD: &str = "312232326";
/// The parent organisation of `NativeClients/SimpleRequestObjectsDemo`'s request object
/// (`NO:ORGNR:994598759:123456789`): Norsk helsenett SF.
pub const NHN: &str = "994598759";

// --- Redirect URIs ----------------------------------------------------------------------------

/// `ApiAccess/`: ASP.NET's OpenID Connect handler on `https://localhost:5151`
/// (`ApiAccessWebServerPort`) with its default callback path.
pub const API_ACCESS_REDIRECT: &str = "https://localhost:5151/signin-oidc";
/// `ApiAccess/OpenIdConnectOptionsInitializer.cs` `SignedOutCallbackPath`.
pub const API_ACCESS_POST_LOGOUT: &str = "https://localhost:5151/signout-callback-oidc";
/// `NativeClients/SimpleNativeClientWithDPoP` and `SimpleResourceIndicatorsDemo`
/// (`LocalhostPort = 8089`).
pub const NATIVE_REDIRECT_8089: &str = "http://localhost:8089/callback";
/// `NativeClients/SimpleRequestObjectsDemo` (`LocalhostPort = 8080`, the testbed's default
/// port: run the testbed on another one for this sample).
pub const NATIVE_REDIRECT_8080: &str = "http://localhost:8080/callback";

// --- Public halves of the published keys ----------------------------------------------------

/// `GeneralPrivateRsaKey` (RS512), shared by every client of `ConfigurationValues.cs` except
/// the user-authentication one.
const SAMPLES_RSA_N: &str = "gmMZ0dOeUyEbEQ0Bz4gGqcYgMfreJ1yIMD_h0HyRjNB0-e1jzb4yjBBkx1pOpPvt02trdyt_nOCmR7DLrHmLrDCmAbpYIytUPNEuz6GJkT31oL3vDmNqrkawQwe3B04FIWohiTQWgnPaZiTViRdajxpJJW6juPVzr75TlWwyimT2bDq-5TxwiLxyRJDUUWnTvjUPkFVHGMwNFQxV9SCrjHSueCF8vQ959Peh-Yxvtvz2T29HgHKf7oh37DCEy-PrWLTgykeEvNhyWclDM4jm5NaqOCE-sbmmRR4wnCWksvGod7aS7IaKzg2_nNihrxAIzIOqEuLXXaUmYPeHKDgsXQ";
/// `EllipticCurvePrivateKey` (P-384, ES384), the user-authentication client's.
const SAMPLES_EC_X: &str = "khAS2R2atO0i7Y7O257HsDeXkp7Rt_D-4HWv5Q3kJBuWw43I9NcTCmGEQZjoP5EL";
const SAMPLES_EC_Y: &str = "3NxlAKU0SNfnKgvse4NhUz-Bqy7yONtDBxWBxvw1ZtQ82P6jdBFIPrO5u8UMPb7Y";
/// `NativeClients/SimpleNativeClientWithDPoP/Program.cs` `JwkPrivateKey` (RS256, 4096 bits).
const NATIVE_DPOP_N: &str = "uJTJ56hHiQpT7xn7ax6n50xomosd6fac_rRXIDvZzSfQVchzqWMibCV0hShv44JsAnTNvmNpoUbFwMuf8MBtfTjbIGjryUgbQFmCBtgSoYy-VCANnaAxx_jSa9sJmmMyrqdoFTdpzVqP6WCpXOSd0VbL6Pi-I3fe3HPKz7d25Q-TO23abw1Rt3fbUL-nf40HZkNHW_Skro7_RVLEe3znKVYxwdU5saSad0hf5gssFiVlBgeZ7-Ua_NygJnzYYRZ-DKPxZHgN-JMKb7Rh3nJzk0szCY15yNvjhWZ2mcbT2Vqtg92t8c5JkJf2uj4WnoDUaoauQT5lQN5w9z2cBHbN22lOdYs92PcWwp6giLJxTwYEarytx2f84tv0JuJA2M6d4oKQSBvgTlZfOPc_Litg4T9EeJ0cs0PUHpegaG-b4UaD3786UkC7caea_1h_-ieFhkMBWz0YnJY40TGD1HhCqu-fmL5_QiuMUH_w3_A3_ZiLIoyPfTe3eIhMC4biGuoVQq-88Z9e5oqk_NgZ4ibfL1WNVp5EZWL-2lnZpqZi0qE7WpX_7_sWqAErIttv-161UzYO_8GIsVmE1CNBe8TGQfTwQ3xRP5pNIiPVcdumPIUgVmNk4SCLCjio5SzunGB7NESGDOXVOWCHUZ5FL998bLD5kTdJThoXQvCn6FGl3tE";
const NATIVE_DPOP_KID: &str = "5DC654C985D1037A16D82FCA3B9B8843";
/// `NativeClients/SimpleRequestObjectsDemo/Program.cs` `JwkPrivateKey` (RS256, 4096 bits).
const NATIVE_REQUEST_OBJECTS_N: &str = "4e76k7QF01kw3hhdHyc3iyUn6c465yrLD9KV7m4gNIc3Tm66Iq3P72xq9w5abAXJG9GJUkbhtTG5isFmXLCU4MOlU5T2a7iBqx2dmao72LSsQ7WZQVtIv5JvWYAXpd4rlgTaJfO3Unv9Tn8v5wWgL9ZbplVmR_GWMY5l-7i44PWwLwGZge_KUVGQmKtx7XXsnezG4JfEAPJbO9zfD4CH6AGtRdcAn2r-2-jqk_-uU1BVoWwDdrCJ_DKOyYNDUfkRneTATY5RDdH5flNd-19XW31L1q3dTMqHbcMzFMfiqwyBYX5kFJrDT-W7poIex7jhZfA5by8K1tfwJqdYRGH4Qp5QtBTs76iuANNBUz3tO0vmV8bYez2AWegvRqrZGHPsMPtA5pCjXw1rueJdH5WqpCHrBsnNkOHNVcd8yHLPmXRokwi3cSanOuquLOI5Qh-pqeuTTJAv8QQ3X5aQRnHmZoyVuOP9Qqq05MGRPp6W-7Vdbi6mslDP-FwUnkHb2C-XenxHesqfcbqBOELa-PD6Fj_usVKPcL9HR_J4IK38XFFOT669_Xhpyaq6iRtvlmj1n_fQNvRcGpZIfIAFgf64cIwLAz2vimj5ywXneyDIRv5Wge8VyhfsAe9S01x0dNq-aR16clayKDn48e6fETeTWJJaPK7lvi1-Oc-tlaA7Pfk";
const NATIVE_REQUEST_OBJECTS_KID: &str = "B2C61A07EE0661237D19BEE1E0A1463C";
/// `NativeClients/SimpleResourceIndicatorsDemo/Program.cs` `JwkPrivateKey` (RS256, 4096 bits).
const NATIVE_RESOURCE_INDICATORS_N: &str = "z7cMpqAavfl5KQy5XaXZ5sNmPE1xyaDyZgX6Xd1KbM5dHaCBfiwfyFmfQ5n-NhaAg7S6vlhCI_9GiTaR7KcOSOkzcEfQcJV8QbWcSO-gG_Liwm4bhhXSj5j4FICOVEpGrAeVwF9NImD0XUItOAfboFPeDrwdXSrBz5_NVszzjI05rQk5kse3t1GGqUGWM2FhObQq4AE57hnD-J7YtA99l-7yuldgu8tFbZj3EiTli0OBCTnRdRjXlkxzXX50RT-_JhUMLdrR9ShKb7yDdcQIdB4ewLVQFzAcKbYq49_Us2QM3QqtCMSENxI0pNo5Dv8NDz7CD2Ujduxeb7GB1P6VEusxELIuIsHaCPpg2Xpn-WMxDUCZsZzOGLGXbsImIxphohON4JWA6dwQsRJp5dQwF9iBGsCdyLHnENKexHuHOJBxTSKDJoRu-1t1w_fjc1wyVGliPtKRmS7aVj1fW_-i89k_G1VFgQ9A2GFas1AA9LYiZQxtejTqCWKE-BezqRIjfFsI3jMIjR4X5Tx7X6sSqEItcialVwMrc29N9FXprccTMAYDY1Q3JVkcJz8Y0E35QfA1xloEBInfUZ-Yz_nD39_yZ8BUlFvrgc4OAkv8A-xbdle4k5L8r9DhNuBRxiKR47-oGfGlxYQ7TfOydXwPTsHvZ5YCMwmgc31P7dAhD-U";
const NATIVE_RESOURCE_INDICATORS_KID: &str = "7F0F6BF5DBFA20EE33F8736A995471E9";
/// `NativeClients/TokenExchange.ClientCredentials/jwk.json` (PS256, 2048 bits).
const NATIVE_EXCHANGE_N: &str = "hTqqI3fOz6fmX9-rr4CffEmX78qW1Ttszi02QuRgqvr5sxGwhJG35svlvtKsTokIeqB3RwO_a042aavonUnvFGQCc9VFBvrK_hT85sbVWKl7VGg4q9lhObYQ9HpYGyYxdFDF30inVyEOFJz8asD5QAVJQ8kMDUvnq3qCRuwqS3_BZdTiAfLZQLuvoSLyGxh-uYUviPy-sghOvaUsn0zYZc3DOdBcyCPflPIc9TbjR9hYuGoFKsWlrg4HJqpptHXWAhr44o13MfDwTXw54Gs0djKGwSAcTqegPBso8VGjcGCqRm4J91SIvPAJ1Cg1-8p1Hf3jpg5xh5fjD0QVMU1pMw";
const NATIVE_EXCHANGE_KID: &str = "36NpskF/5SWZBtJMn9W+VmvFeo0=";

fn rsa(n: &str, alg: &str, kid: Option<&str>) -> Value {
    let mut jwk = json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": alg, "use": "sig"});
    if let Some(kid) = kid {
        jwk["kid"] = kid.into();
    }
    jwk
}

/// The RS512 key of `ConfigurationValues.cs`.
pub fn samples_rsa_key() -> Value {
    rsa(SAMPLES_RSA_N, "RS512", None)
}

/// The ES384 key of `ConfigurationValues.cs`.
pub fn samples_ec_key() -> Value {
    json!({"kty": "EC", "crv": "P-384", "x": SAMPLES_EC_X, "y": SAMPLES_EC_Y, "alg": "ES384", "use": "sig"})
}

/// One client of the samples, as the profile registers it.
#[derive(Debug, Clone)]
pub struct SampleClient {
    pub client_id: &'static str,
    /// Which sample uses it.
    pub used_by: &'static str,
    pub tenancy: Tenancy,
    /// API scopes (and HelseID's client scope); identity scopes (`openid`, `profile`,
    /// `offline_access`, `helseid://scopes/identity/*`) need no registration at the testbed.
    pub scopes: Vec<&'static str>,
    pub grant_types: Vec<&'static str>,
    pub redirect_uris: Vec<&'static str>,
    pub post_logout_redirect_uris: Vec<&'static str>,
    /// Public JWKs.
    pub keys: Vec<Value>,
    pub binding: TokenBinding,
}

impl SampleClient {
    fn client(&self, now: i64) -> Result<Client, SeedError> {
        let mut keys = Vec::new();
        for jwk in &self.keys {
            let checked = key_policy::check_client_jwk(jwk)
                .map_err(crate::registration::RegistrationError::from)?;
            keys.push(ClientKey {
                jwk: checked.to_json(),
                created_at: now,
                expires_at: None,
            });
        }
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Ok(Client {
            client_id: self.client_id.to_owned(),
            name: format!("HelseID.Samples: {}", self.used_by),
            tenancy: self.tenancy.clone(),
            scopes: strings(&self.scopes),
            grant_types: strings(&self.grant_types),
            redirect_uris: strings(&self.redirect_uris),
            post_logout_redirect_uris: strings(&self.post_logout_redirect_uris),
            frontchannel_logout_uri: None,
            audience_specific_claims: Vec::new(),
            keys,
            binding: self.binding,
            confirmed: true,
            created_at: now,
            origin: ORIGIN.to_owned(),
            confirmation_redirect_uri: None,
        })
    }
}

/// Granfjelldal kommune owning a single-tenant client, with its two units whitelisted.
fn granfjelldal() -> Tenancy {
    Tenancy::SingleTenant {
        orgnr: SAMPLE_PARENT.to_owned(),
        child_orgnrs: SAMPLE_CHILDREN.map(str::to_owned).to_vec(),
    }
}

fn acme() -> Tenancy {
    Tenancy::MultiTenant {
        supplier_orgnr: SAMPLE_SUPPLIER.to_owned(),
    }
}

/// Every client the profile registers.
pub fn clients() -> Vec<SampleClient> {
    let login = vec![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN];
    let api_access = |client_id, used_by, tenancy, scopes: Vec<&'static str>| SampleClient {
        client_id,
        used_by,
        tenancy,
        scopes,
        grant_types: login.clone(),
        redirect_uris: vec![API_ACCESS_REDIRECT],
        post_logout_redirect_uris: vec![API_ACCESS_POST_LOGOUT],
        keys: vec![samples_rsa_key()],
        binding: TokenBinding::Dpop,
    };
    let machine = |client_id, used_by, tenancy| SampleClient {
        client_id,
        used_by,
        tenancy,
        // HelseID's client info scope: the sample asked for it until 2024 (see
        // `crate::token::SCOPE_CLIENT_INFO`), so an older checkout of it runs too.
        scopes: vec![SCOPE_CLIENT_CREDENTIALS, crate::token::SCOPE_CLIENT_INFO],
        grant_types: vec![GRANT_CLIENT_CREDENTIALS],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        keys: vec![samples_rsa_key()],
        binding: TokenBinding::Dpop,
    };
    vec![
        machine(
            CLIENT_CREDENTIALS_MULTI_TENANT,
            "ClientCredentials (multi-tenant, HelseID.Library)",
            acme(),
        ),
        machine(
            CLIENT_CREDENTIALS_WITH_UNDERENHET,
            "client credentials with a child organisation (underenhet)",
            granfjelldal(),
        ),
        api_access(
            API_ACCESS,
            "ApiAccess",
            granfjelldal(),
            vec![SCOPE_AUTHORIZATION_CODE],
        ),
        api_access(
            API_ACCESS_MULTI_TENANT,
            "ApiAccess --use-multi-tenant",
            acme(),
            vec![SCOPE_AUTHORIZATION_CODE],
        ),
        api_access(
            TOKEN_EXCHANGE_SUBJECT,
            "ApiAccess --use-token-exchange (the subject)",
            granfjelldal(),
            vec![SCOPE_TOKEN_EXCHANGE],
        ),
        SampleClient {
            client_id: TOKEN_EXCHANGE_ACTOR,
            used_by: "SampleApiForTokenExchange (the actor)",
            tenancy: granfjelldal(),
            scopes: vec![SCOPE_CLIENT_CREDENTIALS],
            grant_types: vec![token_exchange::GRANT],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            keys: vec![samples_rsa_key()],
            binding: TokenBinding::Dpop,
        },
        api_access(
            REQUEST_OBJECTS,
            "ApiAccess --use-request-objects",
            granfjelldal(),
            vec![SCOPE_AUTHORIZATION_CODE],
        ),
        SampleClient {
            client_id: RESOURCE_INDICATORS,
            used_by: "ApiAccess --use-resource-indicators; NativeClients/SimpleResourceIndicatorsDemo",
            tenancy: granfjelldal(),
            scopes: vec![SCOPE_RESOURCE_1, SCOPE_RESOURCE_2],
            grant_types: login.clone(),
            redirect_uris: vec![API_ACCESS_REDIRECT, NATIVE_REDIRECT_8089],
            post_logout_redirect_uris: vec![API_ACCESS_POST_LOGOUT],
            keys: vec![
                samples_rsa_key(),
                rsa(
                    NATIVE_RESOURCE_INDICATORS_N,
                    "RS256",
                    Some(NATIVE_RESOURCE_INDICATORS_KID),
                ),
            ],
            binding: TokenBinding::Dpop,
        },
        SampleClient {
            client_id: USER_AUTHENTICATION,
            used_by: "ApiAccess --user-login-only",
            tenancy: granfjelldal(),
            // `UserAuthenticationClientScope`: identity scopes only, no offline_access.
            scopes: vec![],
            grant_types: vec![GRANT_AUTHORIZATION_CODE],
            redirect_uris: vec![API_ACCESS_REDIRECT],
            post_logout_redirect_uris: vec![API_ACCESS_POST_LOGOUT],
            keys: vec![samples_ec_key()],
            binding: TokenBinding::Dpop,
        },
        SampleClient {
            client_id: NATIVE_DPOP,
            used_by: "NativeClients/SimpleNativeClientWithDPoP",
            tenancy: granfjelldal(),
            scopes: vec![SCOPE_AUTHORIZATION_CODE],
            grant_types: login.clone(),
            redirect_uris: vec![NATIVE_REDIRECT_8089],
            post_logout_redirect_uris: vec![],
            keys: vec![rsa(NATIVE_DPOP_N, "RS256", Some(NATIVE_DPOP_KID))],
            binding: TokenBinding::Dpop,
        },
        SampleClient {
            client_id: NATIVE_REQUEST_OBJECTS,
            used_by: "NativeClients/SimpleRequestObjectsDemo",
            tenancy: acme(),
            scopes: vec![SCOPE_AUTHORIZATION_CODE],
            grant_types: login.clone(),
            redirect_uris: vec![NATIVE_REDIRECT_8080],
            post_logout_redirect_uris: vec![],
            keys: vec![rsa(
                NATIVE_REQUEST_OBJECTS_N,
                "RS256",
                Some(NATIVE_REQUEST_OBJECTS_KID),
            )],
            binding: TokenBinding::Dpop,
        },
        SampleClient {
            client_id: NATIVE_EXCHANGE_SUBJECT,
            used_by: "NativeClients/TokenExchange.ClientCredentials (the subject)",
            tenancy: granfjelldal(),
            scopes: vec![SCOPE_TOKEN_EXCHANGE],
            grant_types: vec![GRANT_CLIENT_CREDENTIALS],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            keys: vec![rsa(NATIVE_EXCHANGE_N, "PS256", Some(NATIVE_EXCHANGE_KID))],
            // The sample sends no DPoP proof.
            binding: TokenBinding::LegacyBearer,
        },
        SampleClient {
            client_id: NATIVE_EXCHANGE_ACTOR,
            used_by: "NativeClients/TokenExchange.ClientCredentials (the actor)",
            tenancy: granfjelldal(),
            scopes: vec![SCOPE_RESOURCE_1],
            grant_types: vec![token_exchange::GRANT],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            keys: vec![rsa(NATIVE_EXCHANGE_N, "PS256", Some(NATIVE_EXCHANGE_KID))],
            binding: TokenBinding::LegacyBearer,
        },
    ]
}

/// The samples' APIs. The token-exchange API lets both actors exchange its tokens.
pub fn apis() -> Vec<Api> {
    let api = |audience: &str, name: &str, scopes: &[&str], exchangers: &[&str]| Api {
        audience: audience.to_owned(),
        name: name.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        requires_terms: false,
        token_exchange_clients: exchangers.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        api(
            SAMPLE_API,
            "HelseID.Samples sample API",
            &[SCOPE_CLIENT_CREDENTIALS, SCOPE_AUTHORIZATION_CODE],
            &[],
        ),
        api(
            TOKEN_EXCHANGE_API,
            "HelseID.Samples sample API for token exchange",
            &[SCOPE_TOKEN_EXCHANGE],
            &[TOKEN_EXCHANGE_ACTOR, NATIVE_EXCHANGE_ACTOR],
        ),
        api(
            RESOURCE_API_1,
            "HelseID.Samples resource-indicator API 1",
            &[SCOPE_RESOURCE_1],
            &[],
        ),
        api(
            RESOURCE_API_2,
            "HelseID.Samples resource-indicator API 2",
            &[SCOPE_RESOURCE_2],
            &[],
        ),
    ]
}

/// The samples' organisations, named as the samples name them.
pub fn organisations() -> Vec<Organisation> {
    let org = |orgnr: &str, name: &str, kind: OrgKind, parent: Option<&str>| Organisation {
        orgnr: orgnr.to_owned(),
        name: name.to_owned(),
        kind: super::kind_name(kind),
        parent: parent.map(str::to_owned),
    };
    let mut orgs = vec![org(
        SAMPLE_PARENT,
        "Granfjelldal kommune",
        OrgKind::Municipality,
        None,
    )];
    for (child, name) in SAMPLE_CHILDREN.iter().zip(SAMPLE_CHILD_NAMES) {
        orgs.push(org(
            child,
            name,
            OrgKind::MunicipalityUnit,
            Some(SAMPLE_PARENT),
        ));
    }
    orgs.extend([
        org(SAMPLE_SUPPLIER, "Acme EPJ", OrgKind::EpjVendor, None),
        org(
            HANSENS_LEGEKONTOR,
            "Hansens legekontor AS",
            OrgKind::GpOffice,
            None,
        ),
        org(
            FLAKSVAAGOEY_KOMMUNE,
            "Flaksvågøy kommune",
            OrgKind::Municipality,
            None,
        ),
        org(
            FLAKSVAAGOEY_CHILD,
            "Flaksvågøy kommune bo- og omsorgssenter",
            OrgKind::MunicipalityUnit,
            Some(FLAKSVAAGOEY_KOMMUNE),
        ),
        org(NHN, "Norsk helsenett SF", OrgKind::HealthEnterprise, None),
    ]);
    orgs
}

/// The delegations to Acme EPJ the multi-tenant samples act under: the organisations
/// `ApiAccess --use-multi-tenant` offers (`OrganizationStore.cs`, Acme EPJ itself among them)
/// and the parent of `SimpleRequestObjectsDemo`'s request object.
pub fn delegators() -> [&'static str; 5] {
    [
        SAMPLE_PARENT,
        SAMPLE_SUPPLIER,
        HANSENS_LEGEKONTOR,
        FLAKSVAAGOEY_KOMMUNE,
        NHN,
    ]
}

/// What [`apply`] did, by client id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Applied {
    /// Every client id of the profile, in the profile's order.
    pub fn client_ids(&self) -> Vec<&str> {
        let all: Vec<&str> = self
            .added
            .iter()
            .chain(&self.updated)
            .chain(&self.unchanged)
            .map(String::as_str)
            .collect();
        clients()
            .into_iter()
            .map(|c| c.client_id)
            .filter(|id| all.contains(id))
            .collect()
    }
}

/// Adds the profile to a seeded store. Idempotent, so `up --profile helseid-samples` may be
/// given on every start:
/// * APIs: a missing one is added; an existing one keeps its name and terms and gains the
///   profile's scopes and token-exchange clients it lacks.
/// * Organisations: upserted with the samples' names.
/// * Delegations: a missing one is added (with the terms of every API that requires terms);
///   an existing one is left as it is.
/// * Clients: the profile's definition wins (as a `--config` client file does), except that a
///   client's creation time and its keys' are kept; a client already as the profile defines it
///   is not written.
pub fn apply(store: &Store, now: i64) -> Result<Applied, SeedError> {
    for api in apis() {
        let merged = match store.api(&api.audience)? {
            None => api,
            Some(mut existing) => {
                let before = existing.clone();
                for s in api.scopes {
                    if !existing.scopes.contains(&s) {
                        existing.scopes.push(s);
                    }
                }
                for c in api.token_exchange_clients {
                    if !existing.token_exchange_clients.contains(&c) {
                        existing.token_exchange_clients.push(c);
                    }
                }
                if existing == before {
                    continue;
                }
                existing
            }
        };
        store.put_api(&merged)?;
    }
    store.put_organisations(&organisations())?;
    let terms: Vec<String> = store
        .apis()?
        .into_iter()
        .filter(|a| a.requires_terms)
        .map(|a| a.audience)
        .collect();
    for delegator in delegators() {
        if store.delegation(delegator, SAMPLE_SUPPLIER)?.is_none() {
            store.put_delegation(&Delegation {
                delegator: delegator.to_owned(),
                supplier: SAMPLE_SUPPLIER.to_owned(),
                signed_terms: terms.clone(),
            })?;
        }
    }
    let mut applied = Applied::default();
    for sample in clients() {
        let mut client = sample.client(now)?;
        let id = client.client_id.clone();
        match store.client(&id)? {
            None => {
                store.put_client(&client)?;
                applied.added.push(id);
            }
            Some(existing) => {
                client.created_at = existing.created_at;
                for key in &mut client.keys {
                    if let Some(old) = existing.keys.iter().find(|k| k.jwk == key.jwk) {
                        key.created_at = old.created_at;
                    }
                }
                if existing == client {
                    applied.unchanged.push(id);
                } else {
                    store.put_client(&client)?;
                    applied.updated.push(id);
                }
            }
        }
    }
    store.set_meta(&format!("profile:{NAME}"), &now.to_string())?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_memory().unwrap();
        super::super::seed_if_new(
            &store,
            super::super::SeedOptions {
                seed: 7,
                population: 500,
            },
            "http://127.0.0.1:1",
            dir.path(),
            0,
        )
        .unwrap();
        (store, dir)
    }

    #[test]
    fn applying_twice_adds_once_and_then_changes_nothing() {
        let (store, _dir) = seeded();
        let clients_before = store.clients().unwrap().len();
        let first = apply(&store, 10).unwrap();
        assert_eq!(first.added.len(), clients().len());
        assert!(first.updated.is_empty() && first.unchanged.is_empty());
        let apis = store.apis().unwrap();
        let delegations = store.delegations().unwrap();
        let orgs = store.organisations().unwrap();

        let second = apply(&store, 20).unwrap();
        assert!(
            second.added.is_empty() && second.updated.is_empty(),
            "{second:?}"
        );
        assert_eq!(second.unchanged.len(), clients().len());
        assert_eq!(
            store.clients().unwrap().len(),
            clients_before + clients().len()
        );
        assert_eq!(store.apis().unwrap(), apis);
        assert_eq!(store.delegations().unwrap(), delegations);
        assert_eq!(store.organisations().unwrap(), orgs);
        let c = store.client(API_ACCESS).unwrap().unwrap();
        assert_eq!(c.created_at, 10, "the first application's time is kept");

        // A client changed since (say through Selvbetjening) is put back as the samples need it.
        let mut changed = c.clone();
        changed.scopes.clear();
        store.put_client(&changed).unwrap();
        let third = apply(&store, 30).unwrap();
        assert_eq!(third.updated, vec![API_ACCESS.to_owned()]);
        assert_eq!(store.client(API_ACCESS).unwrap().unwrap(), c);
    }

    #[test]
    fn the_samples_apis_organisations_and_delegations_are_there() {
        let (store, _dir) = seeded();
        apply(&store, 0).unwrap();
        let x = store.api(TOKEN_EXCHANGE_API).unwrap().unwrap();
        assert_eq!(x.scopes, vec![SCOPE_TOKEN_EXCHANGE.to_owned()]);
        assert!(
            x.token_exchange_clients
                .contains(&TOKEN_EXCHANGE_ACTOR.to_owned())
        );
        for (orgnr, name) in [
            ("999977774", "Granfjelldal kommune"),
            ("999977776", "Granfjelldal kommune bo- og omsorgssenter"),
            ("999977775", "Granfjelldal kommune legekontor"),
            ("313745392", "Acme EPJ"),
            ("313325016", "Hansens legekontor AS"),
            ("312232324", "Flaksvågøy kommune"),
            ("312232326", "Flaksvågøy kommune bo- og omsorgssenter"),
        ] {
            assert_eq!(store.organisation(orgnr).unwrap().unwrap().name, name);
        }
        assert_eq!(
            store
                .organisation("312232326")
                .unwrap()
                .unwrap()
                .parent
                .as_deref(),
            Some("312232324")
        );
        for d in delegators() {
            assert!(
                store.delegation(d, SAMPLE_SUPPLIER).unwrap().is_some(),
                "{d}"
            );
        }
        // Every key is a public key that passes the testbed's key policy, and no private
        // member slipped in.
        for c in clients() {
            for k in &c.keys {
                key_policy::check_client_jwk(k).unwrap();
                for private in ["d", "p", "q", "dp", "dq", "qi"] {
                    assert!(k.get(private).is_none(), "{} {private}", c.client_id);
                }
            }
        }
    }
}
