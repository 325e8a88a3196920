//! Selvbetjening API tests: client drafts with the `api-key` header, the DPoP-protected
//! `/v1/client*` endpoints, key rotation and expiry, and draft confirmation.

use helseid_reference::client::{Client, ClientError, TokenRequest};
use mock_sts::access_token::{self, TokenSpec};
use mock_sts::clock::Clock;
use mock_sts::store::{Tenancy, TokenBinding};
use mock_sts::tenancy::OrgClaims;
use protocol::client_assertion::{self, AssertionRequest};
use protocol::jose::Alg;
use protocol::selvbetjening::{
    ClientDraft, ClientDraftResponse, ClientSecretUpdateResponse, ClientStatusResponse,
    CurrentClient, OverallClientStatus, ScopeAccessStatus,
};
use protocol::signing::SigningKey;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::support::*;

const SCOPE: &str = "nhn:selvbetjening/client";
const RESOURCE: &str = "nhn:selvbetjening";
const ORGNR: &str = "999977774";
const CHILD: &str = "999977776";

fn sb(tb: &Testbed, path: &str) -> String {
    tb.url(&format!("/selvbetjening{path}"))
}

fn ec_key(kid: &str) -> SigningKey {
    SigningKey::generate_ec(Alg::ES256, kid.into()).unwrap()
}

fn draft(key: &SigningKey, scopes: &[&str]) -> ClientDraft {
    ClientDraft {
        organization_number: ORGNR.into(),
        public_jwk: key.public_jwk().to_json().to_string(),
        api_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        audience_specific_client_claims: None,
        redirect_uris: None,
        post_logout_redirect_uris: None,
        child_organization_numbers: None,
        post_client_confirmation_redirect_uri: None,
    }
}

/// Sends a request; returns status, headers and the body (JSON when it parses).
async fn send(req: RequestBuilder) -> (u16, HeaderMap, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

async fn post_draft(tb: &Testbed, api_key: Option<&str>, body: &Value) -> (u16, HeaderMap, Value) {
    let mut req = tb.http.post(sb(tb, "/v1/client-drafts")).json(body);
    if let Some(k) = api_key {
        req = req.header("api-key", k);
    }
    send(req).await
}

/// Registers a client through the draft endpoint.
async fn register(tb: &Testbed, d: &ClientDraft, key: &SigningKey) -> TestClient {
    let (status, _, body) = post_draft(tb, Some(API_KEY), &serde_json::to_value(d).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let r: ClientDraftResponse = serde_json::from_value(body).unwrap();
    TestClient {
        id: r.client_id,
        key: SigningKey::from_private_jwk(&key.to_private_jwk().unwrap(), key.alg).unwrap(),
    }
}

fn sb_request() -> TokenRequest {
    TokenRequest {
        scope: Some(SCOPE.into()),
        resource: Some(RESOURCE.into()),
        details: None,
    }
}

async fn sb_token(client: &Client) -> String {
    client
        .token(&sb_request())
        .await
        .unwrap()
        .response
        .access_token
}

/// A DPoP-protected call made the way the reference client makes it.
async fn call(
    tb: &Testbed,
    client: &Client,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, HeaderMap, Value) {
    let mut req = client.api_request(method, &sb(tb, path), token).unwrap();
    if let Some(b) = body {
        req = req.json(b);
    }
    send(req).await
}

fn refused(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String, String) {
    match result {
        Err(ClientError::Refused { status, error }) => (
            status,
            error.error,
            error.error_description.unwrap_or_default(),
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn challenge(headers: &HeaderMap) -> String {
    headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

// --- client drafts ----------------------------------------------------------------------------

#[tokio::test]
async fn draft_needs_the_right_api_key() {
    let tb = Testbed::start().await;
    let body = serde_json::to_value(draft(&ec_key("k"), &[SCOPE])).unwrap();

    let (status, _, err) = post_draft(&tb, None, &body).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_client");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("api-key header is missing"),
        "{err}"
    );

    let (status, _, err) = post_draft(&tb, Some("not-the-key"), &body).await;
    assert_eq!(status, 401);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("api-key"),
        "{err}"
    );
    // A prefix of the right key is not the key.
    let (status, _, _) = post_draft(&tb, Some(&API_KEY[..4]), &body).await;
    assert_eq!(status, 401);

    let (status, _, ok) = post_draft(&tb, Some(API_KEY), &body).await;
    assert_eq!(status, 200, "{ok}");
    let id = ok["clientId"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a GUID: {id}");
    assert_eq!(ok.as_object().unwrap().len(), 1, "{ok}");
}

#[tokio::test]
async fn draft_with_bad_json_is_refused() {
    let tb = Testbed::start().await;
    let url = sb(&tb, "/v1/client-drafts");
    let with_key = |req: RequestBuilder| req.header("api-key", API_KEY);

    let (status, _, err) = send(with_key(
        tb.http
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"organizationNumber\": "),
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_request");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("not a valid ClientDraft"),
        "{err}"
    );

    let (status, _, err) = send(with_key(
        tb.http
            .post(&url)
            .json(&json!({"publicJwk": "{}", "apiScopes": []})),
    ))
    .await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("organizationNumber"),
        "{err}"
    );

    let body = serde_json::to_string(&draft(&ec_key("k"), &[SCOPE])).unwrap();
    let (status, _, err) = send(with_key(
        tb.http
            .post(&url)
            .header("content-type", "text/plain")
            .body(body.clone()),
    ))
    .await;
    assert_eq!(status, 415, "{err}");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{err}"
    );

    let (status, _, ok) = send(with_key(
        tb.http
            .post(&url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body),
    ))
    .await;
    assert_eq!(status, 200, "{ok}");
}

#[tokio::test]
async fn draft_with_unknown_scope_is_refused() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let body = serde_json::to_value(draft(&key, &[SCOPE, "nhn:nowhere/api"])).unwrap();
    let (status, _, err) = post_draft(&tb, Some(API_KEY), &body).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_scope");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("nhn:nowhere/api"),
        "{err}"
    );

    let body = serde_json::to_value(draft(&key, &[SCOPE, "nhn:testbed-api/read"])).unwrap();
    let (status, _, ok) = post_draft(&tb, Some(API_KEY), &body).await;
    assert_eq!(status, 200, "{ok}");
}

#[tokio::test]
async fn draft_with_bad_organisation_number_is_refused() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let mut d = draft(&key, &[SCOPE]);
    d.organization_number = "12345678".into();
    let (status, _, err) = post_draft(&tb, Some(API_KEY), &serde_json::to_value(&d).unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_request");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("\"12345678\""),
        "{err}"
    );

    let mut d = draft(&key, &[SCOPE]);
    d.child_organization_numbers = Some(vec!["99997777X".into()]);
    let (status, _, err) = post_draft(&tb, Some(API_KEY), &serde_json::to_value(&d).unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("99997777X"),
        "{err}"
    );

    d.child_organization_numbers = Some(vec![CHILD.into()]);
    let (status, _, ok) = post_draft(&tb, Some(API_KEY), &serde_json::to_value(&d).unwrap()).await;
    assert_eq!(status, 200, "{ok}");
}

#[tokio::test]
async fn draft_with_a_bad_public_jwk_is_refused() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let rsa_1024 = json!({
        "kty": "RSA", "e": "AQAB", "kid": "weak",
        "n": protocol::jose::b64_encode(&[0xc5; 128]),
    });
    let cases = [
        ("{not json".to_owned(), "publicJwk is not JSON"),
        (
            key.to_private_jwk().unwrap().to_string(),
            "private member \"d\"",
        ),
        (rsa_1024.to_string(), "1024 bits; at least 2048"),
        (
            json!({"kty": "oct", "k": "c2VjcmV0"}).to_string(),
            "private member \"k\"",
        ),
        (
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"}).to_string(),
            "kty \"OKP\"",
        ),
        (
            {
                let mut j = key.public_jwk().to_json();
                j["alg"] = "HS256".into();
                j.to_string()
            },
            "alg \"HS256\"",
        ),
    ];
    for (jwk, expected) in cases {
        let mut d = draft(&key, &[SCOPE]);
        d.public_jwk = jwk.clone();
        let (status, _, err) =
            post_draft(&tb, Some(API_KEY), &serde_json::to_value(&d).unwrap()).await;
        assert_eq!(status, 400, "{jwk}: {err}");
        assert_eq!(err["error"], "invalid_request");
        let description = err["error_description"].as_str().unwrap();
        assert!(
            description.starts_with("publicJwk") && description.contains(expected),
            "{jwk}: {description}"
        );
    }
    // RSA 2048 and EC P-256 public keys are fine.
    let rsa = SigningKey::generate_rsa(2048, Alg::PS256, "rsa".into()).unwrap();
    for k in [&rsa, &key] {
        let body = serde_json::to_value(draft(k, &[SCOPE])).unwrap();
        let (status, _, ok) = post_draft(&tb, Some(API_KEY), &body).await;
        assert_eq!(status, 200, "{ok}");
    }
}

#[tokio::test]
async fn draft_with_a_claim_type_outside_an_api_is_refused_and_claims_stay_with_their_api() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let mut d = draft(&key, &[SCOPE, "nhn:testbed-api/read"]);
    d.audience_specific_client_claims =
        Some(vec![protocol::selvbetjening::AudienceSpecificClientClaim {
            key: "client_id".into(),
            value: "someone-else".into(),
        }]);
    let (status, _, err) = post_draft(&tb, Some(API_KEY), &serde_json::to_value(&d).unwrap()).await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("\"client_id\""),
        "{err}"
    );

    d.audience_specific_client_claims =
        Some(vec![protocol::selvbetjening::AudienceSpecificClientClaim {
            key: "nhn:testbed-api/department".into(),
            value: "lab".into(),
        }]);
    let c = register(&tb, &d, &key).await;
    let client = tb.client(&c);
    let api_token = client
        .token(&TokenRequest {
            scope: Some("nhn:testbed-api/read".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .response
        .access_token;
    assert_eq!(claims_of(&api_token)["nhn:testbed-api/department"], "lab");
    let sb = claims_of(&sb_token(&client).await);
    assert!(sb.get("nhn:testbed-api/department").is_none(), "{sb}");
}

// --- the whole flow ---------------------------------------------------------------------------

#[tokio::test]
async fn draft_token_read_update_status_and_rotate_the_key() {
    let tb = Testbed::start().await;
    let lifetime = tb.sts.config.client_key_lifetime;
    let key1 = SigningKey::generate_rsa(2048, Alg::PS256, "key-1".into()).unwrap();
    let mut d = draft(&key1, &[SCOPE, "nhn:testbed-api/read"]);
    d.child_organization_numbers = Some(vec![CHILD.into()]);
    d.redirect_uris = Some(vec!["http://localhost:1337/callback".into()]);
    let c = register(&tb, &d, &key1).await;

    // Stored as a confirmed single-tenant DPoP client whose key expires.
    let stored = tb.sts.store.client(&c.id).unwrap().unwrap();
    assert!(stored.confirmed);
    assert_eq!(stored.origin, "selvbetjening");
    assert_eq!(stored.binding, TokenBinding::Dpop);
    assert_eq!(
        stored.tenancy,
        Tenancy::SingleTenant {
            orgnr: ORGNR.into(),
            child_orgnrs: vec![CHILD.into()]
        }
    );
    assert_eq!(stored.keys.len(), 1);
    // The wall clock may tick between registering and reading it.
    let expires = stored.keys[0].expires_at.unwrap_or_default();
    let latest = tb.clock.now() + lifetime;
    assert!(
        (latest - 1..=latest).contains(&expires),
        "{expires} vs {latest}"
    );
    assert!(stored.keys[0].jwk.get("d").is_none());
    let audit = tb.sts.store.audit_log(10).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.event == "selvbetjening_client_draft"
                && e.client_id.as_deref() == Some(&c.id)),
        "{audit:?}"
    );

    // A DPoP token for the Selvbetjening API.
    let client = tb.client(&c);
    let token = sb_token(&client).await;
    let claims = claims_of(&token);
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["scope"], json!([SCOPE]));
    assert_eq!(claims["client_id"], c.id);

    // GET /v1/client
    let (status, _, body) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    assert_eq!(status, 200, "{body}");
    let current: CurrentClient = serde_json::from_value(body).unwrap();
    let scopes: Vec<&str> = current
        .api_scopes
        .iter()
        .map(|s| s.scope.as_str())
        .collect();
    assert_eq!(scopes, [SCOPE, "nhn:testbed-api/read"]);
    assert!(
        current
            .api_scopes
            .iter()
            .all(|s| s.status == ScopeAccessStatus::Ok)
    );
    assert_eq!(current.child_organization_numbers, [CHILD]);
    assert_eq!(current.redirect_uris, ["http://localhost:1337/callback"]);

    // PUT /v1/client: a full replacement; the lists sent as null are emptied.
    let mut update = current.to_client_update().unwrap();
    update.api_scopes.push("nhn:testbed-api/write".into());
    update.redirect_uris = None;
    update.child_organization_numbers = None;
    let update = serde_json::to_value(&update).unwrap();
    assert_eq!(update["redirectUris"], Value::Null);
    let (status, _, body) = call(
        &tb,
        &client,
        Method::PUT,
        "/v1/client",
        &token,
        Some(&update),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    assert_eq!(status, 200, "{body}");
    let current: CurrentClient = serde_json::from_value(body).unwrap();
    assert_eq!(current.api_scopes.len(), 3);
    assert!(current.redirect_uris.is_empty());
    assert!(current.child_organization_numbers.is_empty());
    let stored = tb.sts.store.client(&c.id).unwrap().unwrap();
    assert!(stored.scopes.contains(&"nhn:testbed-api/write".to_owned()));

    // An update with an unknown scope changes nothing.
    let bad = json!({"apiScopes": [SCOPE, "a_new_scope"]});
    let (status, _, err) = call(&tb, &client, Method::PUT, "/v1/client", &token, Some(&bad)).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_scope");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("a_new_scope"),
        "{err}"
    );
    assert_eq!(tb.sts.store.client(&c.id).unwrap().unwrap().scopes.len(), 3);

    // GET /v1/client-status
    let (status, _, body) =
        call(&tb, &client, Method::GET, "/v1/client-status", &token, None).await;
    assert_eq!(status, 200, "{body}");
    let s: ClientStatusResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(s.status, OverallClientStatus::Active);
    assert!(s.details.client_status.active);
    assert_eq!(s.details.api_scope_access_statuses.len(), 3);
    assert!(
        s.details
            .api_scope_access_statuses
            .iter()
            .all(|a| a.granted)
    );
    assert_eq!(body["status"], "active");

    // POST /v1/client-secret: a private JWK or the current key are refused.
    let key2 = ec_key("key-2");
    let private = key2.to_private_jwk().unwrap();
    let (status, _, err) = call(
        &tb,
        &client,
        Method::POST,
        "/v1/client-secret",
        &token,
        Some(&private),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("private member"),
        "{err}"
    );
    let same = key1.public_jwk().to_json();
    let (status, _, err) = call(
        &tb,
        &client,
        Method::POST,
        "/v1/client-secret",
        &token,
        Some(&same),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("current key"),
        "{err}"
    );

    let new_public = key2.public_jwk().to_json();
    let (status, _, body) = call(
        &tb,
        &client,
        Method::POST,
        "/v1/client-secret",
        &token,
        Some(&new_public),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let r: ClientSecretUpdateResponse = serde_json::from_value(body).unwrap();
    assert_eq!(
        r.expiration,
        mock_sts::clock::rfc3339(tb.clock.now() + lifetime)
    );

    // The new key gets tokens; the old one is refused at once.
    let rotated = TestClient {
        id: c.id.clone(),
        key: key2,
    };
    let new_client = tb.client(&rotated);
    let new_token = sb_token(&new_client).await;
    assert_eq!(claims_of(&new_token)["client_id"], c.id);
    let (status, error, description) = refused(tb.client(&c).token(&sb_request()).await);
    assert_eq!((status, error.as_str()), (400, "invalid_client"));
    assert!(description.contains("key-1"), "{description}");
    // A token issued before the rotation stays valid until it expires.
    let (status, _, _) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    assert_eq!(status, 200);
    let (status, _, _) = call(
        &tb,
        &new_client,
        Method::GET,
        "/v1/client",
        &new_token,
        None,
    )
    .await;
    assert_eq!(status, 200);
}

// --- misspelt fields and unusable keys ----------------------------------------------------------

#[tokio::test]
async fn an_update_with_an_unknown_field_is_refused_and_changes_nothing() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let mut d = draft(&key, &[SCOPE, "nhn:testbed-api/read"]);
    d.redirect_uris = Some(vec!["http://localhost:1337/callback".into()]);
    d.child_organization_numbers = Some(vec![CHILD.into()]);
    let c = register(&tb, &d, &key).await;
    let client = tb.client(&c);
    let token = sb_token(&client).await;
    let before = tb.sts.store.client(&c.id).unwrap().unwrap();

    // Read as a full replacement, this would have removed every scope, URI and child.
    let typo = json!({"apiScope": [SCOPE, "nhn:testbed-api/read"]});
    let (status, _, err) = call(&tb, &client, Method::PUT, "/v1/client", &token, Some(&typo)).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"], "invalid_request");
    let description = err["error_description"].as_str().unwrap();
    assert!(
        description.contains("not a valid ClientUpdate")
            && description.contains("unknown field `apiScope`"),
        "{description}"
    );
    let nested = json!({
        "apiScopes": [SCOPE],
        "audienceSpecificClientClaims": [{"key": "nhn:testbed-api/unit", "vaule": "x"}],
    });
    let (status, _, err) = call(
        &tb,
        &client,
        Method::PUT,
        "/v1/client",
        &token,
        Some(&nested),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("unknown field `vaule`"),
        "{err}"
    );
    assert_eq!(tb.sts.store.client(&c.id).unwrap().unwrap(), before);

    // Spelt right, the same body replaces: the lists it leaves out are emptied.
    let right = json!({"apiScopes": [SCOPE]});
    let (status, _, body) = call(
        &tb,
        &client,
        Method::PUT,
        "/v1/client",
        &token,
        Some(&right),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = tb.sts.store.client(&c.id).unwrap().unwrap();
    assert_eq!(after.scopes, [SCOPE]);
    assert!(after.redirect_uris.is_empty());
    assert_eq!(
        after.tenancy,
        Tenancy::SingleTenant {
            orgnr: ORGNR.into(),
            child_orgnrs: vec![]
        }
    );

    // A draft with a misspelt field is refused too.
    let mut body = serde_json::to_value(draft(&key, &[SCOPE])).unwrap();
    body["redirectUri"] = json!(["http://localhost:1337/callback"]);
    let (status, _, err) = post_draft(&tb, Some(API_KEY), &body).await;
    assert_eq!(status, 400, "{err}");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("unknown field `redirectUri`"),
        "{err}"
    );
}

#[tokio::test]
async fn client_secret_refuses_a_key_outside_the_policy() {
    let tb = Testbed::start().await;
    let key = ec_key("k");
    let c = register(&tb, &draft(&key, &[SCOPE]), &key).await;
    let client = tb.client(&c);
    let token = sb_token(&client).await;
    let before = tb.sts.store.client(&c.id).unwrap().unwrap();

    // A 16,384-bit "modulus" of 0xFF octets: once stored as the client's key.
    let huge = json!({
        "kty": "RSA", "e": "AQAB", "kid": "huge", "alg": "PS256", "use": "sig",
        "n": protocol::jose::b64_encode(&[0xff; 2048]),
    });
    let (status, _, err) = call(
        &tb,
        &client,
        Method::POST,
        "/v1/client-secret",
        &token,
        Some(&huge),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"], "invalid_request");
    assert_eq!(
        err["error_description"],
        "the new public JWK has an RSA modulus of 16384 bits; at most 8192 are accepted"
    );
    assert_eq!(tb.sts.store.client(&c.id).unwrap().unwrap(), before);

    // HelseID.Library's rotation key: RSA-4096 for PS256.
    let good = SigningKey::generate_rsa(4096, Alg::PS256, "rsa-4096".into()).unwrap();
    let (status, _, body) = call(
        &tb,
        &client,
        Method::POST,
        "/v1/client-secret",
        &token,
        Some(&good.public_jwk().to_json()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stored = tb.sts.store.client(&c.id).unwrap().unwrap();
    assert_eq!(stored.keys[0].jwk, good.public_jwk().to_json());

    // End to end (issue 15): tokens with the RSA-4096 key's PS256 assertions.
    let rotated = TestClient {
        id: c.id.clone(),
        key: good,
    };
    let (status, body) = token_at_testbed_time(&tb, &rotated).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 400, "the replaced key no longer works: {body}");
    assert_eq!(body["error"], "invalid_client");
}

// --- key expiry -----------------------------------------------------------------------------

/// One token request built at the testbed's (moved) clock, with a valid nonce.
async fn token_at_testbed_time(tb: &Testbed, c: &TestClient) -> (u16, Value) {
    let now = tb.clock.now();
    let endpoint = tb.token_endpoint();
    let assertion = client_assertion::build(
        &c.key,
        &AssertionRequest {
            client_id: &c.id,
            audience: &endpoint,
            now,
            lifetime: 60,
            details: None,
        },
    )
    .unwrap();
    let dpop_key = ec_key("dpop");
    let proof =
        protocol::dpop::build_proof(&dpop_key, "POST", &endpoint, now, Some(&tb.nonce()), None)
            .unwrap();
    let form = cc_form(
        &c.id,
        assertion,
        &[("scope", SCOPE), ("resource", RESOURCE)],
    );
    let (status, _, body) = tb.post_token(&form, Some(proof)).await;
    (status, body)
}

#[tokio::test]
async fn a_key_is_refused_at_the_token_endpoint_once_it_expires() {
    let tb = Testbed::start().await;
    let lifetime = tb.sts.config.client_key_lifetime;
    let key = ec_key("expiring");
    let c = register(&tb, &draft(&key, &[SCOPE]), &key).await;
    sb_token(&tb.client(&c)).await;

    tb.clock.advance(lifetime - 10);
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 200, "ten seconds before expiry: {body}");

    tb.clock.advance(11);
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("key \"expiring\" expired at"),
        "{description}"
    );
}

// --- protecting /v1/client ----------------------------------------------------------------------

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let tb = Testbed::start().await;
    let (status, headers, err) = send(tb.http.get(sb(&tb, "/v1/client"))).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_token");
    assert!(
        challenge(&headers).starts_with("DPoP error=\"invalid_token\""),
        "{headers:?}"
    );

    let (status, _, err) = send(
        tb.http
            .get(sb(&tb, "/v1/client"))
            .header("Authorization", "DPoP not.a.jwt"),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_token");
}

#[tokio::test]
async fn a_bearer_token_is_refused() {
    let tb = Testbed::start().await;
    let legacy = tb.register(
        Tenancy::SingleTenant {
            orgnr: ORGNR.into(),
            child_orgnrs: vec![],
        },
        &[SCOPE],
        TokenBinding::LegacyBearer,
    );
    let client = tb.client(&legacy).without_dpop();
    let out = client.token(&sb_request()).await.unwrap().response;
    assert_eq!(out.token_type, "Bearer");
    let (status, headers, err) = call(
        &tb,
        &client,
        Method::GET,
        "/v1/client",
        &out.access_token,
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_token");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("\"Bearer\""),
        "{err}"
    );
    assert!(challenge(&headers).starts_with("DPoP "), "{headers:?}");

    // The same unbound token under the DPoP scheme, with a proof, is still not a DPoP token.
    let dpop_client = tb.client(&legacy);
    let (status, _, err) = call(
        &tb,
        &dpop_client,
        Method::GET,
        "/v1/client",
        &out.access_token,
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("cnf.jkt"),
        "{err}"
    );

    // A DPoP-bound token sent as Bearer is refused too.
    let c = tb.demo();
    let token = sb_token(&tb.client(&c)).await;
    let (status, _, err) = send(tb.http.get(sb(&tb, "/v1/client")).bearer_auth(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_token");
}

#[tokio::test]
async fn a_token_for_another_audience_or_without_the_scope_is_forbidden() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let client = tb.client(&demo);
    let api_token = client
        .token(&TokenRequest {
            scope: Some("nhn:testbed-api/read".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .response
        .access_token;
    let (status, headers, err) =
        call(&tb, &client, Method::GET, "/v1/client", &api_token, None).await;
    assert_eq!(status, 403);
    assert_eq!(err["error"], "insufficient_scope");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("nhn:testbed-api"),
        "{err}"
    );
    assert!(
        challenge(&headers).starts_with("DPoP error=\"insufficient_scope\""),
        "{headers:?}"
    );

    // The right audience without the scope (minted directly: the API has only one scope).
    let dpop_key = ec_key("dpop");
    let stored = tb.sts.store.client(&demo.id).unwrap().unwrap();
    let jkt = dpop_key.public_jwk().thumbprint();
    let minted = access_token::mint(
        &tb.sts,
        &TokenSpec {
            client: &stored,
            audience: RESOURCE,
            scopes: &[],
            jkt: Some(&jkt),
            orgs: &OrgClaims::default(),
            extra: Default::default(),
            lifetime: 60,
        },
    )
    .unwrap();
    let url = sb(&tb, "/v1/client");
    let proof = protocol::dpop::build_proof(
        &dpop_key,
        "GET",
        &url,
        tb.clock.now(),
        None,
        Some(&minted.jwt),
    )
    .unwrap();
    let (status, _, err) = send(
        tb.http
            .get(&url)
            .header("Authorization", format!("DPoP {}", minted.jwt))
            .header("DPoP", proof),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(err["error"], "insufficient_scope");
    assert!(
        err["error_description"].as_str().unwrap().contains(SCOPE),
        "{err}"
    );

    // The demo client's Selvbetjening token passes.
    let token = sb_token(&client).await;
    let (status, _, body) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let tb = Testbed::start().await;
    let client = tb.client(&tb.demo());
    let token = sb_token(&client).await;
    let url = sb(&tb, "/v1/client");
    let proof = client
        .proof("GET", &url, None, Some(&token))
        .unwrap()
        .unwrap();
    let request = || {
        tb.http
            .get(&url)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", &proof)
    };
    let (status, _, body) = send(request()).await;
    assert_eq!(status, 200, "{body}");
    let (status, headers, err) = send(request()).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_dpop_proof");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{err}"
    );
    assert!(
        challenge(&headers).starts_with("DPoP error=\"invalid_dpop_proof\""),
        "{headers:?}"
    );
}

#[tokio::test]
async fn a_proof_for_another_url_method_or_key_is_refused() {
    let tb = Testbed::start().await;
    let client = tb.client(&tb.demo());
    let token = sb_token(&client).await;
    let url = sb(&tb, "/v1/client");
    let with = |proof: String| {
        tb.http
            .get(&url)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
    };

    let wrong_htu = client
        .proof("GET", &sb(&tb, "/v1/client-status"), None, Some(&token))
        .unwrap()
        .unwrap();
    let (status, _, err) = send(with(wrong_htu)).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_dpop_proof");
    assert!(
        err["error_description"].as_str().unwrap().contains("htu"),
        "{err}"
    );

    let wrong_htm = client
        .proof("PUT", &url, None, Some(&token))
        .unwrap()
        .unwrap();
    let (status, _, err) = send(with(wrong_htm)).await;
    assert_eq!(status, 401);
    assert!(
        err["error_description"].as_str().unwrap().contains("htm"),
        "{err}"
    );

    let other_key = protocol::dpop::build_proof(
        &ec_key("other"),
        "GET",
        &url,
        tb.clock.now(),
        None,
        Some(&token),
    )
    .unwrap();
    let (status, _, err) = send(with(other_key)).await;
    assert_eq!(status, 401);
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("cnf.jkt"),
        "{err}"
    );

    let (status, _, err) = send(
        tb.http
            .get(&url)
            .header("Authorization", format!("DPoP {token}")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_dpop_proof");

    let right = client
        .proof("GET", &url, None, Some(&token))
        .unwrap()
        .unwrap();
    let (status, _, body) = send(with(right)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let tb = Testbed::start().await;
    let client = tb.client(&tb.demo());
    let token = sb_token(&client).await;
    tb.clock.advance(tb.sts.config.access_token_lifetime + 1);
    let (status, _, err) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_token");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{err}"
    );
}

// --- draft confirmation ---------------------------------------------------------------------------

#[tokio::test]
async fn a_draft_gets_no_token_until_it_is_confirmed() {
    let tb = Testbed::start_with(|config| config.require_draft_confirmation = true).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let key = ec_key("k");
    let c = register(&tb, &draft(&key, &[SCOPE]), &key).await;
    assert!(!tb.sts.store.client(&c.id).unwrap().unwrap().confirmed);

    let (status, error, description) = refused(tb.client(&c).token(&sb_request()).await);
    assert_eq!((status, error.as_str()), (400, "invalid_client"));
    assert!(
        description.contains("draft that has not been confirmed"),
        "{description}"
    );

    let confirm_url = sb(
        &tb,
        &format!(
            "/confirm-client/{}?redirectPort=1337&redirectPath=/callback",
            c.id
        ),
    );
    let (status, headers, page) = send(tb.http.get(&confirm_url)).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{headers:?}"
    );
    let page = page.as_str().unwrap();
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(page.contains(&c.id), "{page}");
    // Looking is not confirming.
    assert!(!tb.sts.store.client(&c.id).unwrap().unwrap().confirmed);

    let (status, headers, _) = send(no_redirects.post(&confirm_url)).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers["location"],
        "http://localhost:1337/callback?status=Success"
    );
    assert!(tb.sts.store.client(&c.id).unwrap().unwrap().confirmed);

    let client = tb.client(&c);
    let token = sb_token(&client).await;
    let (status, _, body) =
        call(&tb, &client, Method::GET, "/v1/client-status", &token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active");

    // Without redirectPort the draft's postClientConfirmationRedirectUri is used.
    let mut d = draft(&key, &[SCOPE]);
    d.post_client_confirmation_redirect_uri = Some("http://localhost:7777/done".into());
    let c2 = register(&tb, &d, &key).await;
    let (status, headers, _) =
        send(no_redirects.post(sb(&tb, &format!("/confirm-client/{}", c2.id)))).await;
    assert_eq!(status, 303);
    assert_eq!(
        headers["location"],
        "http://localhost:7777/done?status=Success"
    );
    sb_token(&tb.client(&c2)).await;
}

#[tokio::test]
async fn the_confirm_page_knows_only_selvbetjening_drafts_and_escapes_what_it_shows() {
    let tb = Testbed::start_with(|config| config.require_draft_confirmation = true).await;
    let (status, _, page) = send(tb.http.get(sb(&tb, "/confirm-client/%3Cscript%3Ex"))).await;
    assert_eq!(status, 404);
    let page = page.as_str().unwrap();
    assert!(page.contains("&lt;script&gt;x"), "{page}");
    assert!(!page.contains("<script>"), "{page}");

    // The seeded demo client was not made here, so the page cannot touch it.
    let demo = tb.demo();
    let (status, _, _) = send(
        tb.http
            .post(sb(&tb, &format!("/confirm-client/{}", demo.id))),
    )
    .await;
    assert_eq!(status, 404);

    let key = ec_key("k");
    let c = register(&tb, &draft(&key, &[SCOPE]), &key).await;
    let (status, _, page) = send(tb.http.get(sb(
        &tb,
        &format!("/confirm-client/{}?redirectPort=notaport", c.id),
    )))
    .await;
    assert_eq!(status, 400);
    assert!(page.as_str().unwrap().contains("notaport"), "{page}");
}

// --- propagation delay (issue 15) ------------------------------------------------------------

/// A registered client with the key `old`, its reference client and a Selvbetjening token.
async fn registered(tb: &Testbed) -> (TestClient, Client, String) {
    let old = ec_key("old");
    let c = register(tb, &draft(&old, &[SCOPE]), &old).await;
    let client = tb.client(&c);
    let token = sb_token(&client).await;
    (c, client, token)
}

/// `POST /v1/client-secret` with `key`'s public half; must answer 200.
async fn post_key(tb: &Testbed, client: &Client, token: &str, key: &SigningKey) {
    let jwk = key.public_jwk().to_json();
    let (status, _, body) = call(
        tb,
        client,
        Method::POST,
        "/v1/client-secret",
        token,
        Some(&jwk),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// With `selvbetjening_delay` (HelseID's TEST takes up to 20 s), a new key and new scopes
/// reach the token endpoint only when the delay has passed; until then the old key still
/// works, the API shows the new scope `Pending` with the time it takes effect.
#[tokio::test]
async fn changes_reach_the_token_endpoint_after_the_propagation_delay() {
    let tb = Testbed::start_with(|c| c.selvbetjening_delay = 20).await;
    let (c, client, token) = registered(&tb).await;

    let new = ec_key("new");
    post_key(&tb, &client, &token, &new).await;
    let update = json!({
        "apiScopes": [SCOPE, "nhn:testbed-api/read"],
        "audienceSpecificClientClaims": [], "redirectUris": [], "postLogoutRedirectUris": [],
        "childOrganizationNumbers": [],
    });
    let (status, _, body) = call(
        &tb,
        &client,
        Method::PUT,
        "/v1/client",
        &token,
        Some(&update),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let rotated = TestClient {
        id: c.id.clone(),
        key: SigningKey::from_private_jwk(&new.to_private_jwk().unwrap(), new.alg).unwrap(),
    };
    // Not yet: the new key is refused, the old one still works.
    let (status, body) = token_at_testbed_time(&tb, &rotated).await;
    assert_eq!(status, 400, "the new key before the delay: {body}");
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 200, "the old key during the delay: {body}");
    // The API reads its own write, the new scope pending.
    let (_, _, body) = call(&tb, &client, Method::GET, "/v1/client", &token, None).await;
    let current: CurrentClient = serde_json::from_value(body.clone()).unwrap();
    let pending = current
        .api_scopes
        .iter()
        .find(|s| s.scope == "nhn:testbed-api/read")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(pending.status, ScopeAccessStatus::Pending);
    assert!(
        pending
            .status_reason
            .as_deref()
            .unwrap_or_default()
            .contains("reaches"),
        "{body}"
    );
    assert_eq!(body["apiScopes"][1]["status"], "Pending");

    // After the delay: the new key and scope, and the old key refused.
    tb.clock.advance(21);
    let (status, body) = token_at_testbed_time(&tb, &rotated).await;
    assert_eq!(status, 200, "the new key after the delay: {body}");
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 400, "the old key after the delay: {body}");
    let stored = tb.sts.store.client(&c.id).unwrap().unwrap();
    assert!(stored.scopes.contains(&"nhn:testbed-api/read".to_owned()));
    assert!(tb.sts.store.pending_client(&c.id).unwrap().is_none());
}

/// Without a delay (the default) a change is in effect at once.
#[tokio::test]
async fn without_a_delay_a_new_key_works_at_once() {
    let tb = Testbed::start().await;
    let (c, client, token) = registered(&tb).await;
    let new = ec_key("new");
    post_key(&tb, &client, &token, &new).await;
    let rotated = TestClient {
        id: c.id.clone(),
        key: new,
    };
    assert_eq!(token_at_testbed_time(&tb, &rotated).await.0, 200);
    assert!(tb.sts.store.pending_client(&c.id).unwrap().is_none());
}

/// Issue 15: a client registered with an RSA-4096 key for PS256 (as HelseID.Library's
/// rotation makes them) gets tokens with it.
#[tokio::test]
async fn a_draft_with_an_rsa_4096_ps256_key_gets_tokens() {
    let tb = Testbed::start().await;
    let key = SigningKey::generate_rsa(4096, Alg::PS256, "rsa-4096".into()).unwrap();
    let c = register(&tb, &draft(&key, &[SCOPE]), &key).await;
    let (status, body) = token_at_testbed_time(&tb, &c).await;
    assert_eq!(status, 200, "{body}");
    let header = protocol::jose::decode_unverified(body["access_token"].as_str().unwrap())
        .unwrap()
        .0;
    assert_eq!(header["typ"], "at+jwt");
}
