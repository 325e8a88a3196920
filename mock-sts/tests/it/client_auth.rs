//! private_key_jwt client authentication (reference §2): each rule passes and refuses.

use serde_json::{Map, Value, json};

use crate::support::*;

#[tokio::test]
async fn a_good_assertion_passes_once_and_its_replay_is_refused() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let assertion = tb.assertion_with(&demo, Map::new(), json!({}));
    let first = tb.send(&demo, assertion.clone(), &[]).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let again = tb.send(&demo, assertion, &[]).await;
    assert_error(&again, 400, "invalid_client", "was already used at");
}

#[tokio::test]
async fn accepted_audiences_and_types() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let issuer_slash = format!("{}/", tb.issuer);
    for aud in [
        tb.issuer.as_str(),
        issuer_slash.as_str(),
        &tb.token_endpoint(),
    ] {
        let a = tb.assertion_with(&demo, Map::new(), json!({ "aud": aud }));
        assert_eq!(tb.send(&demo, a, &[]).await.0, 200, "aud {aud}");
    }
    for typ in ["client-authentication+jwt", "JWT"] {
        let mut h = Map::new();
        h.insert("typ".into(), typ.into());
        let a = tb.assertion_with(&demo, h, json!({}));
        assert_eq!(tb.send(&demo, a, &[]).await.0, 200, "typ {typ}");
    }
}

#[tokio::test]
async fn claim_rules_are_enforced() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let now = tb.clock.now();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"iss": "someone-else"}), "is not its sub"),
        (
            json!({"aud": "https://helseid-sts.test.nhn.no"}),
            "aud \"https://helseid-sts.test.nhn.no\" is not accepted",
        ),
        // The wall clock may tick between signing and checking: 299 or 300 s ahead.
        (json!({"exp": now + 300}), " s ahead; at most 60"),
        (json!({"exp": now - 30}), "expired"),
        (json!({"exp": null}), "lacks the exp"),
        (json!({"nbf": now + 60}), "not valid before"),
        (json!({"iat": now + 60}), "in the future"),
        (json!({"iat": now - 3600}), " s old"),
        (json!({"jti": null}), "lacks the jti"),
    ];
    for (change, needle) in cases {
        let a = tb.assertion_with(&demo, Map::new(), change.clone());
        assert_error(&tb.send(&demo, a, &[]).await, 400, "invalid_client", needle);
    }
}

#[tokio::test]
async fn wrong_typ_key_and_algorithms_are_refused() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let mut h = Map::new();
    h.insert("typ".into(), "dpop+jwt".into());
    let a = tb.assertion_with(&demo, h, json!({}));
    assert_error(
        &tb.send(&demo, a, &[]).await,
        400,
        "invalid_client",
        "typ \"dpop+jwt\"",
    );

    // Signed by a key the client never registered.
    let impostor = TestClient {
        id: demo.id.clone(),
        key: dpop_key(),
    };
    let a = tb.assertion_with(&impostor, Map::new(), json!({}));
    assert_error(
        &tb.send(&demo, a, &[]).await,
        400,
        "invalid_client",
        "is not a key registered",
    );

    // HS256 with any secret, and alg none.
    for alg in ["HS256", "none"] {
        let header =
            protocol::jose::b64_encode(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        let now = tb.clock.now();
        let body = protocol::jose::b64_encode(
            json!({"iss": demo.id, "sub": demo.id, "aud": tb.issuer, "exp": now + 30, "jti": "x"})
                .to_string()
                .as_bytes(),
        );
        let a = format!("{header}.{body}.c2lnbmF0dXJl");
        assert_error(
            &tb.send(&demo, a, &[]).await,
            400,
            "invalid_client",
            &format!("alg \"{alg}\""),
        );
    }
}

#[tokio::test]
async fn other_authentication_methods_are_refused() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    // client_secret_post.
    let form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), demo.id.clone()),
        ("client_secret".to_owned(), "secret".to_owned()),
    ];
    let (status, _, body) = tb.post_token(&form, Some(tb.proof(&dpop_key()))).await;
    assert_error(
        &(status, body),
        400,
        "invalid_client",
        "client_secret is not accepted",
    );
    // client_secret_basic.
    let resp = tb
        .http
        .post(tb.token_endpoint())
        .basic_auth(&demo.id, Some("secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret_basic")
    );
    // No assertion at all ("none"), and a wrong assertion type.
    let form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), demo.id.clone()),
    ];
    let (status, _, body) = tb.post_token(&form, None).await;
    assert_error(
        &(status, body),
        400,
        "invalid_client",
        "client_assertion_type is missing",
    );
    let mut form = cc_form(
        &demo.id,
        tb.assertion_with(&demo, Map::new(), json!({})),
        &[],
    );
    form[2].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
    let (status, _, body) = tb.post_token(&form, None).await;
    assert_error(&(status, body), 400, "invalid_client", "saml2-bearer");
}

#[tokio::test]
async fn client_id_must_match_and_be_registered() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let a = tb.assertion_with(&demo, Map::new(), json!({}));
    let mut form = cc_form("another-client", a, &[]);
    let (status, _, body) = tb.post_token(&form, Some(tb.proof(&dpop_key()))).await;
    assert_error(
        &(status, body),
        400,
        "invalid_client",
        "names client_id \"another-client\"",
    );
    let stranger = TestClient {
        id: "unknown-client".into(),
        key: dpop_key(),
    };
    let a = tb.assertion_with(&stranger, Map::new(), json!({}));
    form = cc_form("unknown-client", a, &[]);
    let (status, _, body) = tb.post_token(&form, Some(tb.proof(&dpop_key()))).await;
    assert_error(
        &(status, body),
        400,
        "invalid_client",
        "\"unknown-client\" is not registered",
    );
}

#[tokio::test]
async fn an_expired_client_key_is_refused() {
    let tb = Testbed::start().await;
    let mut client = tb.sts.store.client(&tb.demo().id).unwrap().unwrap();
    client.keys[0].expires_at = Some(tb.clock.now() + 100);
    tb.sts.store.put_client(&client).unwrap();
    let demo = tb.demo();
    let a = tb.assertion_with(&demo, Map::new(), json!({}));
    assert_eq!(tb.send(&demo, a, &[]).await.0, 200);
    tb.clock.advance(101);
    let a = tb.assertion_with(&demo, Map::new(), json!({}));
    assert_error(
        &tb.send(&demo, a, &[]).await,
        400,
        "invalid_client",
        "expired at",
    );
}

/// Client assertions as HelseID.Library (2026) builds them (`typ` `client-authentication+jwt`,
/// `exp = iat + 10 s`, `aud` the issuer, no `nbf`) and as older clients do (`typ` `JWT`, 60 s,
/// `aud` the token endpoint) both pass; each refused when it has run out (reference §2.2,
/// §12.4).
#[tokio::test]
async fn assertions_as_helseid_library_and_as_older_clients_build_them() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let now = tb.clock.now();
    let typ = |t: &str| {
        let mut h = Map::new();
        h.insert("typ".into(), t.into());
        h
    };
    let library = |iat: i64| json!({ "aud": tb.issuer, "iat": iat, "exp": iat + 10, "nbf": null });
    let older =
        |iat: i64| json!({ "aud": tb.token_endpoint(), "iat": iat, "nbf": iat, "exp": iat + 60 });
    let a = tb.assertion_with(&demo, typ("client-authentication+jwt"), library(now));
    assert_eq!(
        tb.send(&demo, a, &[]).await.0,
        200,
        "HelseID.Library's assertion"
    );
    let a = tb.assertion_with(&demo, typ("JWT"), older(now));
    assert_eq!(
        tb.send(&demo, a, &[]).await.0,
        200,
        "an older client's assertion"
    );

    // Refused once expired (beyond the STS's clock skew).
    let a = tb.assertion_with(&demo, typ("client-authentication+jwt"), library(now - 60));
    assert_error(
        &tb.send(&demo, a, &[]).await,
        400,
        "invalid_client",
        "expired",
    );
    let a = tb.assertion_with(&demo, typ("JWT"), older(now - 180));
    assert_error(
        &tb.send(&demo, a, &[]).await,
        400,
        "invalid_client",
        "expired",
    );
}
