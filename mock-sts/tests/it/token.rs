//! `/connect/token` with client_credentials: the happy path, the token's claims, audiences.

use helseid_reference::client::{ClientError, TokenRequest};
use mock_sts::store::{Tenancy, TokenBinding};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn demo_client_gets_a_dpop_token_after_the_nonce_round_trip() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let out = tb
        .token(
            &demo,
            TokenRequest {
                scope: Some("nhn:testbed-api/read".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        out.attempts, 2,
        "the first request must be refused with use_dpop_nonce"
    );
    let r = out.response;
    assert_eq!(r.token_type, "DPoP");
    assert_eq!(r.expires_in, 3600);
    assert_eq!(r.scope, "nhn:testbed-api/read");
    assert_eq!(r.rejected_scope, None);

    let header = header_of(&r.access_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    let kid = header["kid"].as_str().unwrap();
    assert!(
        kid.len() == 32
            && kid
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{kid}"
    );

    let c = claims_of(&r.access_token);
    assert_eq!(c["iss"], tb.issuer);
    assert_eq!(c["aud"], "nhn:testbed-api");
    assert_eq!(c["client_id"], demo.id);
    assert_eq!(c["scope"], json!(["nhn:testbed-api/read"]));
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert!(c["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(
        c["helseid://claims/client/client_name"],
        "Testbed demo client"
    );
    assert_eq!(c["helseid://claims/client/client_tenancy"], "single-tenant");
    assert_eq!(c["client_amr"], "rsa_private_key");
    assert!(
        c["helseid://claims/client/claims/orgnr_parent"]
            .as_str()
            .unwrap()
            .len()
            == 9
    );
    assert!(
        c.get("helseid://claims/client/claims/orgnr_child")
            .is_none()
    );
    assert_eq!(c["cnf"]["jkt"].as_str().unwrap().len(), 43);
}

#[tokio::test]
async fn the_token_verifies_with_the_published_jwks_in_an_independent_library() {
    let tb = Testbed::start().await;
    let out = tb
        .token(
            &tb.demo(),
            TokenRequest {
                scope: Some("nhn:testbed-api/read".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = tb
        .http
        .get(tb.url("/.well-known/openid-configuration/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = &out.response.access_token;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["nhn:testbed-api"]);
    validation.set_issuer(&[&tb.issuer]);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims["aud"], "nhn:testbed-api");
    // Wrong audience is refused by the same library.
    validation.set_audience(&["nhn:kjernejournal"]);
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &validation
        )
        .is_err()
    );
}

#[tokio::test]
async fn one_audience_per_token_with_other_apis_scopes_rejected() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    // Without resource: the first scope's API wins, the others are reported.
    let r = tb
        .token(&demo, TokenRequest { scope: Some("nhn:testbed-api/read nhn:test-public-samplecode/client-credentials nhn:testbed-api/write".into()), ..Default::default() })
        .await
        .unwrap()
        .response;
    assert_eq!(claims_of(&r.access_token)["aud"], "nhn:testbed-api");
    assert_eq!(r.scope, "nhn:testbed-api/read nhn:testbed-api/write");
    assert_eq!(
        r.rejected_scope.as_deref(),
        Some("nhn:test-public-samplecode/client-credentials")
    );
    // With resource: that API.
    let r = tb
        .token(
            &demo,
            TokenRequest {
                scope: Some(
                    "nhn:testbed-api/read nhn:test-public-samplecode/client-credentials".into(),
                ),
                resource: Some("nhn:test-public-samplecode".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .response;
    assert_eq!(
        claims_of(&r.access_token)["aud"],
        "nhn:test-public-samplecode"
    );
    assert_eq!(r.rejected_scope.as_deref(), Some("nhn:testbed-api/read"));
}

async fn refusal(tb: &Testbed, c: &TestClient, request: TokenRequest) -> (u16, String, String) {
    match tb.token(c, request).await {
        Err(ClientError::Refused { status, error }) => (
            status,
            error.error,
            error.error_description.unwrap_or_default(),
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_resource_is_invalid_target() {
    let tb = Testbed::start().await;
    let (status, error, description) = refusal(
        &tb,
        &tb.demo(),
        TokenRequest {
            scope: Some("nhn:testbed-api/read".into()),
            resource: Some("nhn:nowhere".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((status, error.as_str()), (400, "invalid_target"));
    assert!(description.contains("nhn:nowhere"), "{description}");
    // A known resource none of whose scopes were asked for.
    let (_, error, description) = refusal(
        &tb,
        &tb.demo(),
        TokenRequest {
            scope: Some("nhn:testbed-api/read".into()),
            resource: Some("nhn:kjernejournal".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(error, "invalid_target");
    assert!(description.contains("nhn:kjernejournal"), "{description}");
}

#[tokio::test]
async fn scopes_must_exist_and_be_allowed() {
    let tb = Testbed::start().await;
    let narrow = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:testbed-api/read"],
        TokenBinding::Dpop,
    );
    let (_, error, description) = refusal(
        &tb,
        &narrow,
        TokenRequest {
            scope: Some("nhn:testbed-api/write".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(error, "invalid_scope");
    assert!(
        description.contains("not allowed scope \"nhn:testbed-api/write\""),
        "{description}"
    );
    let (_, error, description) = refusal(
        &tb,
        &narrow,
        TokenRequest {
            scope: Some("nhn:made-up/x".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("nhn:made-up/x"), "{description}");
    // No scope parameter: every allowed scope.
    let r = tb
        .token(&narrow, TokenRequest::default())
        .await
        .unwrap()
        .response;
    assert_eq!(r.scope, "nhn:testbed-api/read");
}

#[tokio::test]
async fn legacy_bearer_clients_may_omit_dpop_but_others_may_not() {
    let tb = Testbed::start().await;
    let legacy = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:testbed-api/read"],
        TokenBinding::LegacyBearer,
    );
    let r = tb
        .client(&legacy)
        .without_dpop()
        .token(&TokenRequest::default())
        .await
        .unwrap();
    assert_eq!(r.attempts, 1);
    assert_eq!(r.response.token_type, "Bearer");
    assert!(claims_of(&r.response.access_token).get("cnf").is_none());

    let demo = tb.demo();
    let err = tb
        .client(&demo)
        .without_dpop()
        .token(&TokenRequest::default())
        .await
        .unwrap_err();
    match err {
        ClientError::Refused { status, error } => {
            assert_eq!(status, 400);
            assert_eq!(error.error, "invalid_dpop_proof");
            assert!(
                error
                    .error_description
                    .unwrap()
                    .contains("must send a DPoP proof")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn only_client_credentials_is_offered() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let assertion = tb.client(&demo).assertion(None).unwrap();
    let mut form = cc_form(&demo.id, assertion, &[]);
    form[0].1 = "password".into();
    let (status, _, body) = tb.post_token(&form, None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("\"password\"")
    );
}
