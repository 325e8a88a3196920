//! Revocation (RFC 7009) and introspection (RFC 7662).

use helseid_reference::client::TokenRequest;
use serde_json::{Map, Value, json};

use crate::support::*;

async fn call(tb: &Testbed, path: &str, c: &TestClient, params: &[(&str, &str)]) -> (u16, Value) {
    let aud = tb.url(path);
    let a = tb.assertion_with(c, Map::new(), json!({ "aud": aud }));
    let mut form = vec![
        ("client_id".to_owned(), c.id.clone()),
        (
            "client_assertion_type".to_owned(),
            protocol::client_assertion::ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion".to_owned(), a),
    ];
    form.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let resp = tb.http.post(tb.url(path)).form(&form).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn introspection_reports_active_tokens_and_revocation_ends_them() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let token = tb
        .token(&demo, TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;

    let (status, body) = call(&tb, "/connect/introspect", &demo, &[("token", &token)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["client_id"], demo.id);
    assert!(
        body["scope"].is_string(),
        "RFC 7662 scope is a string: {body}"
    );

    // Another client cannot revoke it (200, but nothing happens).
    let other = tb.register(
        mock_sts::store::Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:testbed-api/read"],
        mock_sts::store::TokenBinding::Dpop,
    );
    let (status, _) = call(&tb, "/connect/revocation", &other, &[("token", &token)]).await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&tb, "/connect/introspect", &demo, &[("token", &token)])
            .await
            .1["active"],
        true
    );

    let (status, _) = call(
        &tb,
        "/connect/revocation",
        &demo,
        &[("token", &token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = call(&tb, "/connect/introspect", &demo, &[("token", &token)]).await;
    assert_eq!(body, json!({ "active": false }));
}

#[tokio::test]
async fn junk_expired_and_foreign_tokens_are_inactive() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    for junk in ["junk", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA"] {
        assert_eq!(
            call(&tb, "/connect/introspect", &demo, &[("token", junk)]).await,
            (200, json!({ "active": false }))
        );
        assert_eq!(
            call(&tb, "/connect/revocation", &demo, &[("token", junk)])
                .await
                .0,
            200
        );
    }
    // Signed by someone else with the STS's kid.
    let token = tb
        .token(&demo, TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    let kid = header_of(&token)["kid"].as_str().unwrap().to_owned();
    let forger =
        protocol::signing::SigningKey::generate_rsa(2048, protocol::jose::Alg::RS256, kid).unwrap();
    let forged = forger.sign_jwt(Map::new(), &claims_of(&token)).unwrap();
    assert_eq!(
        call(&tb, "/connect/introspect", &demo, &[("token", &forged)])
            .await
            .1,
        json!({ "active": false })
    );
    // Expired.
    tb.clock.advance(3601);
    assert_eq!(
        call(&tb, "/connect/introspect", &demo, &[("token", &token)])
            .await
            .1,
        json!({ "active": false })
    );
}

#[tokio::test]
async fn callers_must_authenticate_and_hints_must_be_known() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let resp = tb
        .http
        .post(tb.url("/connect/introspect"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, body) = call(
        &tb,
        "/connect/revocation",
        &demo,
        &[("token", "x"), ("token_type_hint", "id_token")],
    )
    .await;
    assert_error(&(status, body), 400, "unsupported_token_type", "id_token");
    let (status, body) = call(&tb, "/connect/revocation", &demo, &[]).await;
    assert_error(&(status, body), 400, "invalid_request", "token is missing");
}

/// The STS applies HelseID's access-token `typ` rule (`protocol::access_token::check_typ`) to
/// tokens presented to it: the same claims and signature under `typ` `dpop+jwt` are not an
/// access token, while `JWT` is one.
#[tokio::test]
async fn introspection_refuses_a_token_whose_typ_is_not_an_access_tokens() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let token = tb
        .token(&demo, TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    let claims = protocol::jose::decode_unverified(&token).unwrap().1;
    let ring = tb.sts.keys().unwrap();
    let resign = |typ: &str| {
        let mut header = Map::new();
        header.insert("typ".into(), json!(typ));
        ring.active.sign_jwt(header, &claims).unwrap()
    };
    let (status, body) = call(
        &tb,
        "/connect/introspect",
        &demo,
        &[("token", &resign("JWT"))],
    )
    .await;
    assert_eq!(
        (status, body["active"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (status, body) = call(
        &tb,
        "/connect/introspect",
        &demo,
        &[("token", &resign("dpop+jwt"))],
    )
    .await;
    assert_eq!(
        (status, body["active"].clone()),
        (200, json!(false)),
        "{body}"
    );
}
