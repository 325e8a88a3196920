//! The `helseid-samples` seed profile (`up --profile helseid-samples`): HelseID.Samples'
//! clients get tokens the way the samples ask for them, and are refused what HelseID's
//! registration does not give them; HelseID's own `helseid://scopes/client/info` scope.
//!
//! What these tests prove and what they do not: the samples sign with private keys that are
//! published in HelseID.Samples but deliberately not in this repository, so each test adds a
//! key pair of its own (same algorithm as the sample's: RS512, ES384) to the profile's client
//! and signs with that. They prove that the registrations (ids, grant types, scopes, tenancy,
//! organisations, delegations, DPoP, the token-exchange owner) let the samples' requests
//! through and refuse others; that the profile registered the samples' published public keys
//! is checked by comparing the stored keys, not by a signature made with them.

use helseid_reference::client::{ClientError, TokenRequest};
use helseid_reference::login::{Browser, LoginRequest, UserChoice};
use mock_sts::seed::helseid_samples::{self as samples};
use mock_sts::seed::{self, Profile};
use mock_sts::store::ClientKey;
use protocol::assertion_details::multi_tenant_org;
use protocol::jose::Alg;
use protocol::signing::SigningKey;
use serde_json::{Map, json};

use crate::support::*;

async fn with_profile() -> Testbed {
    let tb = Testbed::start().await;
    let applied = seed::apply_profile(&tb.sts.store, Profile::HelseidSamples, tb.clock.now())
        .unwrap()
        .unwrap();
    assert_eq!(applied.added.len(), samples::clients().len());
    tb
}

/// Adds a fresh key pair (the sample's algorithm) to the profile's client `id`, beside the
/// samples' published public key, and returns the client with that key.
fn with_test_key(tb: &Testbed, id: &str, alg: Alg) -> TestClient {
    let key = match alg {
        Alg::ES384 => SigningKey::generate_ec(alg, "test-key".into()).unwrap(),
        _ => SigningKey::generate_rsa(2048, alg, "test-key".into()).unwrap(),
    };
    let mut client = tb.sts.store.client(id).unwrap().unwrap();
    client.keys.push(ClientKey {
        jwk: key.public_jwk().to_json(),
        created_at: tb.clock.now(),
        expires_at: None,
    });
    tb.sts.store.put_client(&client).unwrap();
    TestClient {
        id: id.to_owned(),
        key,
    }
}

fn refused_with(
    r: Result<helseid_reference::client::TokenOutcome, ClientError>,
    error: &str,
    needle: &str,
) {
    match r {
        Err(ClientError::Refused { error: e, .. }) => {
            assert_eq!(e.error, error, "{e:?}");
            let d = e.error_description.unwrap_or_default();
            assert!(d.contains(needle), "{needle:?} not in {d:?}");
        }
        other => panic!("expected {error}, got {other:?}"),
    }
}

#[tokio::test]
async fn the_profile_holds_the_samples_published_public_keys() {
    let tb = with_profile().await;
    let stored = |id: &str| tb.sts.store.client(id).unwrap().unwrap();
    let cc = stored(samples::CLIENT_CREDENTIALS_MULTI_TENANT);
    assert_eq!(cc.keys.len(), 1);
    assert_eq!(cc.keys[0].jwk["alg"], "RS512");
    assert_eq!(cc.keys[0].jwk["n"], samples::samples_rsa_key()["n"]);
    assert!(cc.keys[0].jwk.get("d").is_none());
    let user = stored(samples::USER_AUTHENTICATION);
    assert_eq!(user.keys[0].jwk["crv"], "P-384");
    assert_eq!(user.keys[0].jwk["alg"], "ES384");
    assert_eq!(user.keys[0].jwk["x"], samples::samples_ec_key()["x"]);
    // The resource-indicators client is used by ApiAccess (the shared RS512 key) and by the
    // native sample (its own RS256 key).
    let ri = stored(samples::RESOURCE_INDICATORS);
    let algs: Vec<&str> = ri
        .keys
        .iter()
        .map(|k| k.jwk["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["RS512", "RS256"]);
}

#[tokio::test]
async fn the_multi_tenant_client_credentials_sample_gets_a_token_for_an_organisation_that_delegated()
 {
    let tb = with_profile().await;
    let c = with_test_key(&tb, samples::CLIENT_CREDENTIALS_MULTI_TENANT, Alg::RS512);
    // HelseID.Library (ClientCredentials/Program.cs): assertion_details, parent 999977774,
    // child 999977776, scope nhn:test-public-samplecode/client-credentials, DPoP.
    let request = TokenRequest {
        scope: Some(samples::SCOPE_CLIENT_CREDENTIALS.into()),
        resource: None,
        details: Some(multi_tenant_org("999977774", Some("999977776"))),
    };
    let out = tb.token(&c, request).await.unwrap();
    assert_eq!(
        out.attempts, 2,
        "the samples expect the use_dpop_nonce round trip"
    );
    assert_eq!(out.response.token_type, "DPoP");
    let at = claims_of(&out.response.access_token);
    assert_eq!(at["aud"], samples::SAMPLE_API);
    assert_eq!(at["scope"], json!([samples::SCOPE_CLIENT_CREDENTIALS]));
    assert_eq!(at["client_id"], samples::CLIENT_CREDENTIALS_MULTI_TENANT);
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_child"],
        "999977776"
    );
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_supplier"],
        "313745392"
    );
    assert!(at["cnf"]["jkt"].is_string());

    // The older Common/ creators put the structure in `authorization_details`; every
    // organisation ApiAccess's multi-tenant mode offers (OrganizationStore.cs) has delegated.
    for value in [
        "NO:ORGNR:999977774:999977775",
        "NO:ORGNR:313745392:",
        "NO:ORGNR:313325016:",
        "NO:ORGNR:312232324:312232326",
    ] {
        let details = json!({
            "type": "helseid_authorization",
            "practitioner_role": {"organization": {"identifier": {
                "system": "urn:oid:1.0.6523", "type": "ENH", "value": value}}}
        });
        let assertion = tb.assertion_with(
            &c,
            Map::new(),
            json!({"aud": tb.issuer, "authorization_details": details}),
        );
        let got = tb
            .send(
                &c,
                assertion,
                &[("scope", samples::SCOPE_CLIENT_CREDENTIALS)],
            )
            .await;
        assert_eq!(got.0, 200, "{value}: {}", got.1);
        let at = claims_of(got.1["access_token"].as_str().unwrap());
        let parent = value.split(':').nth(2).unwrap();
        assert_eq!(at["helseid://claims/client/claims/orgnr_parent"], parent);
    }

    // Refused: a scope HelseID did not give this client, and an organisation that has not
    // delegated to Acme EPJ.
    refused_with(
        tb.token(
            &c,
            TokenRequest {
                scope: Some(samples::SCOPE_AUTHORIZATION_CODE.into()),
                resource: None,
                details: Some(multi_tenant_org("999977774", None)),
            },
        )
        .await,
        "invalid_scope",
        "is not allowed scope",
    );
    refused_with(
        tb.token(
            &c,
            TokenRequest {
                scope: Some(samples::SCOPE_CLIENT_CREDENTIALS.into()),
                resource: None,
                details: Some(multi_tenant_org("999977776", None)),
            },
        )
        .await,
        "invalid_request",
        "999977776 has not delegated to supplier 313745392",
    );
}

#[tokio::test]
async fn the_underenhet_sample_names_a_whitelisted_child_the_samples_way() {
    let tb = with_profile().await;
    let c = with_test_key(&tb, samples::CLIENT_CREDENTIALS_WITH_UNDERENHET, Alg::RS512);
    // Common/PayloadClaimsCreators/PayloadClaimsCreatorWithChildOrgNumber.cs.
    let child = |orgnr: &str| {
        json!({
            "type": "helseid_authorization",
            "practitioner_role": {"organization": {"identifier": {
                "system": "urn:oid:2.16.578.1.12.4.1.2.101", "type": "ENH", "value": orgnr}}}
        })
    };
    let assertion = tb.assertion_with(
        &c,
        Map::new(),
        json!({"aud": tb.issuer, "authorization_details": child("999977776")}),
    );
    let got = tb
        .send(
            &c,
            assertion,
            &[("scope", samples::SCOPE_CLIENT_CREDENTIALS)],
        )
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let at = claims_of(got.1["access_token"].as_str().unwrap());
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_child"],
        "999977776"
    );

    let assertion = tb.assertion_with(
        &c,
        Map::new(),
        json!({"aud": tb.issuer, "authorization_details": child("312232326")}),
    );
    let got = tb
        .send(
            &c,
            assertion,
            &[("scope", samples::SCOPE_CLIENT_CREDENTIALS)],
        )
        .await;
    assert_error(&got, 400, "invalid_request", "312232326 is not in the list");
}

#[tokio::test]
async fn the_client_info_scope_is_granted_to_a_client_that_was_given_it() {
    let tb = with_profile().await;
    let c = with_test_key(&tb, samples::CLIENT_CREDENTIALS_WITH_UNDERENHET, Alg::RS512);
    // As the client-credentials sample asked until 2024: the API scope and the client info
    // scope in one request; the token is the API's.
    let both = format!(
        "{} {}",
        samples::SCOPE_CLIENT_CREDENTIALS,
        mock_sts::token::SCOPE_CLIENT_INFO
    );
    let out = tb
        .token(
            &c,
            TokenRequest {
                scope: Some(both),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let at = claims_of(&out.response.access_token);
    assert_eq!(at["aud"], samples::SAMPLE_API);
    assert_eq!(
        at["scope"],
        json!([
            samples::SCOPE_CLIENT_CREDENTIALS,
            mock_sts::token::SCOPE_CLIENT_INFO
        ])
    );
    assert_eq!(
        out.response.scope,
        format!(
            "{} {}",
            samples::SCOPE_CLIENT_CREDENTIALS,
            mock_sts::token::SCOPE_CLIENT_INFO
        )
    );
    // Alone, it belongs to no API: the STS's static audience.
    let out = tb
        .token(
            &c,
            TokenRequest {
                scope: Some(mock_sts::token::SCOPE_CLIENT_INFO.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let at = claims_of(&out.response.access_token);
    assert_eq!(at["aud"], format!("{}/resources", tb.issuer));
    assert_eq!(at["scope"], json!([mock_sts::token::SCOPE_CLIENT_INFO]));

    // Refused: a client that was not given it (the demo client), and a look-alike HelseID
    // does not have.
    let demo = tb.demo();
    refused_with(
        tb.token(
            &demo,
            TokenRequest {
                scope: Some(format!(
                    "nhn:testbed-api/read {}",
                    mock_sts::token::SCOPE_CLIENT_INFO
                )),
                ..Default::default()
            },
        )
        .await,
        "invalid_scope",
        "is not allowed scope \"helseid://scopes/client/info\"",
    );
    refused_with(
        tb.token(
            &c,
            TokenRequest {
                scope: Some("helseid://scopes/client/infos".into()),
                ..Default::default()
            },
        )
        .await,
        "invalid_scope",
        "is not a scope of any API",
    );
    // With a resource it does not belong to, it cannot stand alone.
    refused_with(
        tb.token(
            &c,
            TokenRequest {
                scope: Some(mock_sts::token::SCOPE_CLIENT_INFO.into()),
                resource: Some(samples::SAMPLE_API.into()),
                details: None,
            },
        )
        .await,
        "invalid_target",
        "none of the requested scopes belongs to resource",
    );
}

/// A person of the test population who is in HPR.
fn practitioner(tb: &Testbed) -> String {
    let p = tb.sts.population().unwrap();
    p.practitioners().next().unwrap().pid.to_string()
}

#[tokio::test]
async fn the_token_exchange_samples_subject_logs_in_and_the_actor_exchanges() {
    let tb = with_profile().await;
    // ApiAccess --use-token-exchange: the subject client logs a user in at level 4.
    let subject = with_test_key(&tb, samples::TOKEN_EXCHANGE_SUBJECT, Alg::RS512);
    let pid = practitioner(&tb);
    let req = LoginRequest {
        redirect_uri: samples::API_ACCESS_REDIRECT.into(),
        scope: format!(
            "openid profile offline_access {} helseid://scopes/identity/pid helseid://scopes/identity/pid_pseudonym helseid://scopes/identity/assurance_level helseid://scopes/hpr/hpr_number helseid://scopes/identity/network helseid://scopes/identity/security_level",
            samples::SCOPE_TOKEN_EXCHANGE
        ),
        acr_values: Some("idp:testidpnew-oidc".into()),
        test_pid: Some(pid.clone()),
        test_security_level: Some(4),
        ..Default::default()
    };
    let (_, tokens) = tb
        .client(&subject)
        .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
        .unwrap();
    let subject_token = tokens.response.access_token;
    let st = claims_of(&subject_token);
    assert_eq!(st["aud"], samples::TOKEN_EXCHANGE_API);
    assert!(
        st["scope"]
            .as_array()
            .unwrap()
            .contains(&json!(samples::SCOPE_TOKEN_EXCHANGE)),
        "{st}"
    );
    assert_eq!(st["helseid://claims/identity/security_level"], "4");

    // SampleApiForTokenExchange: the actor exchanges it for the sample API's scope.
    let actor = with_test_key(&tb, samples::TOKEN_EXCHANGE_ACTOR, Alg::RS512);
    let out = tb
        .client(&actor)
        .exchange(&subject_token, samples::SCOPE_CLIENT_CREDENTIALS)
        .await
        .unwrap();
    assert_eq!(out.response.token_type, "DPoP");
    let t = claims_of(&out.response.access_token);
    assert_eq!(t["aud"], samples::SAMPLE_API);
    assert_eq!(t["client_id"], samples::TOKEN_EXCHANGE_ACTOR);
    assert_eq!(t["act"]["client_id"], samples::TOKEN_EXCHANGE_ACTOR);
    assert_eq!(
        t["helseid://claims/client/original_client_id"],
        samples::TOKEN_EXCHANGE_SUBJECT
    );
    assert_eq!(t["helseid://claims/identity/pid"], pid);

    // Refused: a scope the actor was not given, and an actor that does not own the subject
    // token's API.
    refused_with(
        tb.client(&actor)
            .exchange(&subject_token, samples::SCOPE_AUTHORIZATION_CODE)
            .await,
        "invalid_scope",
        "not permitted",
    );
    let stranger = with_test_key(&tb, samples::CLIENT_CREDENTIALS_WITH_UNDERENHET, Alg::RS512);
    refused_with(
        tb.client(&stranger)
            .exchange(&subject_token, samples::SCOPE_CLIENT_CREDENTIALS)
            .await,
        "invalid_request",
        "no audience matching configuration owner",
    );
}

#[tokio::test]
async fn the_native_token_exchange_sample_works_with_bearer_tokens() {
    let tb = with_profile().await;
    // NativeClients/TokenExchange.ClientCredentials: no DPoP, PS256 assertions.
    let subject = with_test_key(&tb, samples::NATIVE_EXCHANGE_SUBJECT, Alg::PS256);
    let out = tb
        .client(&subject)
        .without_dpop()
        .token(&TokenRequest {
            scope: Some(samples::SCOPE_TOKEN_EXCHANGE.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(out.response.token_type, "Bearer");
    let actor = with_test_key(&tb, samples::NATIVE_EXCHANGE_ACTOR, Alg::PS256);
    let exchanged = tb
        .client(&actor)
        .without_dpop()
        .exchange(&out.response.access_token, samples::SCOPE_RESOURCE_1)
        .await
        .unwrap();
    let t = claims_of(&exchanged.response.access_token);
    assert_eq!(t["aud"], samples::RESOURCE_API_1);
    assert_eq!(
        t["helseid://claims/client/original_client_id"],
        samples::NATIVE_EXCHANGE_SUBJECT
    );
}
