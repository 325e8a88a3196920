//! DPoP at the token endpoint (reference §3): mandatory nonce, proof validation, replay.

use serde_json::{Map, Value, json};

use crate::support::*;

fn proof_with(
    tb: &Testbed,
    key: &protocol::signing::SigningKey,
    header: Value,
    claims: Value,
) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), "dpop+jwt".into());
    let mut jwk = key.public_jwk().to_json();
    jwk.as_object_mut().unwrap().remove("kid");
    h.insert("jwk".into(), jwk);
    for (k, v) in header.as_object().unwrap() {
        if v.is_null() {
            h.remove(k);
        } else {
            h.insert(k.clone(), v.clone());
        }
    }
    let mut c = json!({"jti": protocol::jose::random_id(), "htm": "POST", "htu": tb.token_endpoint(), "iat": tb.clock.now(), "nonce": tb.nonce()});
    for (k, v) in claims.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    key.sign_jwt(h, &c).unwrap()
}

async fn send_proof(tb: &Testbed, proof: String) -> (u16, Option<String>, Value) {
    let demo = tb.demo();
    let a = tb.assertion_with(&demo, Map::new(), json!({}));
    tb.post_token(&cc_form(&demo.id, a, &[]), Some(proof)).await
}

#[tokio::test]
async fn the_first_request_gets_a_nonce_and_the_retry_with_it_a_bound_token() {
    let tb = Testbed::start().await;
    let key = dpop_key();
    let (status, nonce, body) = send_proof(
        &tb,
        proof_with(&tb, &key, json!({}), json!({"nonce": null})),
    )
    .await;
    assert_error(&(status, body), 400, "use_dpop_nonce", "DPoP-Nonce");
    let nonce = nonce.expect("DPoP-Nonce header");
    let (status, _, body) = send_proof(
        &tb,
        proof_with(&tb, &key, json!({}), json!({"nonce": nonce})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["cnf"]["jkt"], key.public_jwk().thumbprint());
}

#[tokio::test]
async fn empty_stale_and_forged_nonces_get_a_new_one() {
    let tb = Testbed::start().await;
    let key = dpop_key();
    // HelseID's own example proof carries "nonce": "".
    let (status, nonce, body) =
        send_proof(&tb, proof_with(&tb, &key, json!({}), json!({"nonce": ""}))).await;
    assert_error(&(status, body), 400, "use_dpop_nonce", "required");
    assert!(nonce.is_some());
    let old = tb.nonce();
    tb.clock.advance(mock_sts::nonce::NONCE_LIFETIME_SECS + 1);
    let (status, nonce, body) =
        send_proof(&tb, proof_with(&tb, &key, json!({}), json!({"nonce": old}))).await;
    assert_error(&(status, body), 400, "use_dpop_nonce", "stale");
    assert!(nonce.is_some_and(|n| n != old));
    let (status, _, body) = send_proof(
        &tb,
        proof_with(
            &tb,
            &key,
            json!({}),
            json!({"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        ),
    )
    .await;
    assert_error(&(status, body), 400, "use_dpop_nonce", "unknown or stale");
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let tb = Testbed::start().await;
    let key = dpop_key();
    let proof = proof_with(&tb, &key, json!({}), json!({}));
    assert_eq!(send_proof(&tb, proof.clone()).await.0, 200);
    let (status, _, body) = send_proof(&tb, proof).await;
    assert_error(
        &(status, body),
        400,
        "invalid_dpop_proof",
        "was already used at",
    );
}

#[tokio::test]
async fn proof_rules_are_enforced() {
    let tb = Testbed::start().await;
    let key = dpop_key();
    let private = key.to_private_jwk().unwrap();
    let now = tb.clock.now();
    let cases: Vec<(Value, Value, &str)> = vec![
        (
            json!({}),
            json!({"htu": tb.url("/connect/par")}),
            "does not match the request URL",
        ),
        (
            json!({}),
            json!({"htu": "https://helseid-sts.test.nhn.no/connect/token"}),
            "does not match the request URL",
        ),
        (json!({}), json!({"htm": "GET"}), "htm \"GET\""),
        // 600 s, or 601 when the wall clock ticks between signing and checking.
        (json!({}), json!({"iat": now - 600}), "s old; older proofs"),
        (json!({}), json!({"iat": now + 600}), "in the future"),
        (json!({}), json!({"jti": null}), "lacks the jti"),
        (json!({"typ": "JWT"}), json!({}), "typ \"JWT\""),
        (json!({"jwk": private}), json!({}), "private member"),
        (json!({"jwk": null}), json!({}), "lacks the jwk"),
    ];
    for (header, claims, needle) in cases {
        let (status, _, body) =
            send_proof(&tb, proof_with(&tb, &key, header.clone(), claims.clone())).await;
        assert_error(&(status, body), 400, "invalid_dpop_proof", needle);
    }
    let (status, _, body) = send_proof(&tb, "not.a.jwt".into()).await;
    assert_error(&(status, body), 400, "invalid_dpop_proof", "DPoP proof");
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let key = dpop_key();
    let a = tb.assertion_with(&demo, Map::new(), json!({}));
    let resp = tb
        .http
        .post(tb.token_endpoint())
        .form(&cc_form(&demo.id, a, &[]))
        .header("DPoP", proof_with(&tb, &key, json!({}), json!({})))
        .header("DPoP", proof_with(&tb, &key, json!({}), json!({})))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_error(
        &(status, body),
        400,
        "invalid_dpop_proof",
        "more than one DPoP header",
    );
}
