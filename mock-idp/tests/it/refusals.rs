//! Every refusal: shown (never redirected) when the client or redirect URI cannot be trusted,
//! redirected with an OAuth error otherwise, JSON `invalid_grant`/`invalid_client` at the
//! token endpoint. All 4xx, each with a description that says what was wrong.

use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn unregistered_redirect_uri_is_shown_not_redirected() {
    let idps = Idps::start().await;
    let login = Login::new();
    for idp in ALL_IDPS {
        let resp = idps
            .http
            .get(login.authorize_url(
                &idps,
                idp,
                &[
                    ("redirect_uri", "https://attacker.example/cb"),
                    ("ui_locales", "en"),
                ],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{idp}");
        assert!(resp.headers().get("location").is_none());
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("is not registered for client"),
            "{idp}: {page}"
        );
        // The value is echoed escaped.
        assert!(page.contains("https://attacker.example/cb"));
    }
    // In Norwegian by default; a missing redirect_uri is refused the same way.
    let (status, page) = idps
        .get(&login.authorize_url(&idps, "bankid", &[("redirect_uri", "")]))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("mangler redirect_uri"), "{page}");
}

#[tokio::test]
async fn unknown_client_is_shown_not_redirected() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (status, page) = idps
        .get(&login.authorize_url(
            &idps,
            "idporten",
            &[("client_id", "<script>x</script>"), ("ui_locales", "en")],
        ))
        .await;
    assert_eq!(status, 400);
    assert!(page.contains("is not registered with ID-porten"), "{page}");
    assert!(!page.contains("<script>x"), "escaped");
    let (status, _) = idps
        .get(&login.authorize_url(&idps, "idporten", &[("client_id", "")]))
        .await;
    assert_eq!(status, 400);
}

/// An authorization request that must come back to the redirect URI with `error`.
async fn redirected_error(extra: &[(&str, &str)], error: &str, words: &str) {
    let idps = Idps::start().await;
    let login = Login::new();
    let resp = idps
        .http
        .get(login.authorize_url(&idps, "bankid", extra))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (base, params) = location(&resp);
    assert_eq!(base, REDIRECT_URI);
    assert_eq!(params["error"], error, "{params:?}");
    assert!(
        params["error_description"].contains(words),
        "{}",
        params["error_description"]
    );
    assert_eq!(params["state"], login.state);
    assert_eq!(params["iss"], idps.issuer("bankid"));
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn plain_pkce_is_refused() {
    redirected_error(
        &[("code_challenge_method", "plain")],
        "invalid_request",
        "only S256",
    )
    .await;
}

#[tokio::test]
async fn pkce_method_left_out_means_plain_and_is_refused() {
    redirected_error(
        &[("code_challenge_method", "")],
        "invalid_request",
        "only S256",
    )
    .await;
}

#[tokio::test]
async fn missing_pkce_is_refused() {
    redirected_error(
        &[("code_challenge", "")],
        "invalid_request",
        "PKCE is required",
    )
    .await;
}

#[tokio::test]
async fn malformed_challenge_is_refused() {
    redirected_error(
        &[("code_challenge", "too-short")],
        "invalid_request",
        "43 base64url",
    )
    .await;
}

#[tokio::test]
async fn scope_without_openid_is_refused() {
    redirected_error(&[("scope", "profile")], "invalid_scope", "openid").await;
}

#[tokio::test]
async fn response_type_token_is_refused() {
    redirected_error(
        &[("response_type", "token")],
        "unsupported_response_type",
        "response_type=code",
    )
    .await;
}

#[tokio::test]
async fn prompt_none_needs_a_session_the_idp_does_not_keep() {
    redirected_error(&[("prompt", "none")], "login_required", "no login sessions").await;
}

#[tokio::test]
async fn request_objects_are_refused() {
    redirected_error(
        &[("request", "e30.e30.")],
        "request_not_supported",
        "request",
    )
    .await;
}

/// A fresh code at TestIDP (automation), with the verifier that redeems it.
async fn code(idps: &Idps) -> (String, Login) {
    let login = Login::new();
    let pid = practitioner().pid.as_str().to_owned();
    let resp = idps
        .http
        .get(login.authorize_url(idps, "testidp", &[("test_pid", &pid)]))
        .send()
        .await
        .unwrap();
    let (_, params) = location(&resp);
    (params["code"].clone(), login)
}

fn assert_error(status: u16, body: &Value, want_status: u16, error: &str, words: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(words), "{description}");
}

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant_and_spends_the_code() {
    let idps = Idps::start().await;
    let (code, login) = code(&idps).await;
    let other = Login::new();
    let (status, body) = idps.redeem("testidp", &code, &other.verifier).await;
    assert_error(status, &body, 400, "invalid_grant", "does not match");
    // The code may have been stolen: the right verifier no longer helps.
    let (status, body) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_error(status, &body, 400, "invalid_grant", "already been used");
}

#[tokio::test]
async fn missing_code_verifier_is_invalid_grant() {
    let idps = Idps::start().await;
    let (code, _) = code(&idps).await;
    let resp = idps
        .http
        .post(idps.url("testidp", "/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_error(
        status,
        &body,
        400,
        "invalid_grant",
        "code_verifier is missing",
    );
}

#[tokio::test]
async fn reused_code_is_invalid_grant() {
    let idps = Idps::start().await;
    let (code, login) = code(&idps).await;
    let (status, _) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_eq!(status, 200);
    let (status, body) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_error(status, &body, 400, "invalid_grant", "single-use");
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let idps = Idps::start().await;
    let (code, login) = code(&idps).await;
    idps.clock.advance(61);
    let (status, body) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_error(status, &body, 400, "invalid_grant", "expired");
    // At exactly 60 s a code is still good.
    let (code, login) = self::code(&idps).await;
    idps.clock.advance(60);
    let (status, _) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_code_and_code_of_another_idp_are_invalid_grant() {
    let idps = Idps::start().await;
    let (status, body) = idps
        .redeem("testidp", "NOT-A-CODE", &Login::new().verifier)
        .await;
    assert_error(status, &body, 400, "invalid_grant", "unknown");
    let (code, login) = code(&idps).await;
    let (status, body) = idps.redeem("bankid", &code, &login.verifier).await;
    assert_error(
        status,
        &body,
        400,
        "invalid_grant",
        "another identity provider",
    );
}

#[tokio::test]
async fn redirect_uri_must_match_at_the_token_endpoint() {
    let idps = Idps::start().await;
    let (code, login) = code(&idps).await;
    let resp = idps
        .http
        .post(idps.url("testidp", "/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://sts.test/other?x=1"),
            ("code_verifier", login.verifier.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_error(status, &body, 400, "invalid_grant", "redirect_uri");
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let idps = Idps::start().await;
    let (code, login) = code(&idps).await;
    let resp = idps
        .http
        .post(idps.url("testidp", "/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", login.verifier.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_error(status, &body, 401, "invalid_client", "wrong client secret");

    // HTTP Basic gets a challenge (RFC 6749 §5.2).
    let resp = idps
        .http
        .post(idps.url("testidp", "/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", login.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));

    // The failed attempts did not spend the code.
    let (status, _) = idps.redeem("testidp", &code, &login.verifier).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn token_requests_malformed_or_unauthenticated_are_4xx() {
    let idps = Idps::start().await;
    let url = idps.url("testidp", "/token");
    // JSON body.
    let resp = idps
        .http
        .post(&url)
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Other grant type.
    let resp = idps
        .http
        .post(&url)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    // No client authentication.
    let resp = idps
        .http
        .post(&url)
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // A repeated parameter.
    let resp = idps
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=a&code=b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("repeated")
    );
    // Unknown IdP.
    let resp = idps
        .http
        .post(idps.url("nosuch", "/token"))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn unknown_pid_is_refused_on_the_page() {
    let idps = Idps::start().await;
    let login = Login::new();
    // Valid number, but nobody in this population has it.
    let stranger = synthpop::Population::new(99, 50)
        .unwrap()
        .person(0)
        .unwrap();
    assert!(population().by_pid(stranger.pid.as_str()).is_none());
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "bankid", &[("ui_locales", "en")]))
        .await;
    let form = login_form(&html);
    let resp = idps
        .post(&form.action, &form.typed(stranger.pid.as_str()))
        .await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(page.contains("id=\"login-error\""));
    assert!(page.contains("population register"), "{page}");
    // The page stays usable: the same request can still log someone in.
    let again = login_form(&page);
    assert_eq!(again.typed_pid, stranger.pid.as_str());
    let resp = idps
        .post(&again.action, &again.choose(&again.persons[0], None))
        .await;
    assert_eq!(resp.status(), 303);

    // At TestIDP's automation the refusal goes back to the relying party.
    let resp = idps
        .http
        .get(login.authorize_url(&idps, "testidp", &[("test_pid", stranger.pid.as_str())]))
        .send()
        .await
        .unwrap();
    let (_, params) = location(&resp);
    assert_eq!(params["error"], "access_denied");
    assert!(params["error_description"].contains("population register"));
}

#[tokio::test]
async fn invalid_pid_checksum_is_refused() {
    let idps = Idps::start().await;
    let login = Login::new();
    let good = practitioner().pid.as_str().to_owned();
    let last = good.as_bytes()[10] - b'0';
    let bad = format!("{}{}", &good[..10], (last + 1) % 10);
    let (_, html) = idps.get(&login.authorize_url(&idps, "idporten", &[])).await;
    let form = login_form(&html);
    let resp = idps.post(&form.action, &form.typed(&bad)).await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(page.contains("ikke et gyldig"), "{page}");
    assert!(page.contains("check digit 2"), "{page}");

    let resp = idps
        .http
        .get(login.authorize_url(&idps, "testidp", &[("test_pid", &bad)]))
        .send()
        .await
        .unwrap();
    let (_, params) = location(&resp);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("check digit"));

    // Nothing chosen at all.
    let resp = idps.post(&form.action, &form.fields).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn bad_test_security_level_is_refused() {
    let idps = Idps::start().await;
    let login = Login::new();
    let pid = practitioner().pid.as_str().to_owned();
    let resp = idps
        .http
        .get(login.authorize_url(
            &idps,
            "testidp",
            &[("test_pid", &pid), ("test_security_level", "2")],
        ))
        .send()
        .await
        .unwrap();
    let (_, params) = location(&resp);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("use 3 or 4"));
}

#[tokio::test]
async fn cancel_returns_access_denied_and_ends_the_request() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (_, html) = idps.get(&login.authorize_url(&idps, "buypass", &[])).await;
    let form = login_form(&html);
    let mut fields = form.fields.clone();
    fields.push(("cancel".into(), "1".into()));
    let resp = idps.post(&form.action, &fields).await;
    assert_eq!(resp.status(), 303);
    let (_, params) = location(&resp);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], login.state);
    // The request is gone.
    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], None))
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_login_request_is_single_use_and_expires() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "commfides", &[]))
        .await;
    let form = login_form(&html);
    let fields = form.choose(&form.persons[0], None);
    assert_eq!(idps.post(&form.action, &fields).await.status(), 303);
    let resp = idps.post(&form.action, &fields).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("allerede brukt"));

    let (_, html) = idps
        .get(&login.authorize_url(&idps, "commfides", &[]))
        .await;
    let form = login_form(&html);
    idps.clock.advance(mock_idp::PENDING_LIFETIME + 1);
    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], None))
        .await;
    assert_eq!(resp.status(), 400);

    // A request id of one IdP is not valid at another.
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "commfides", &[]))
        .await;
    let form = login_form(&html);
    let resp = idps
        .post(
            &idps.url("bankid", "/authorize"),
            &form.choose(&form.persons[0], None),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn unknown_idp_and_broken_requests_are_4xx() {
    let idps = Idps::start().await;
    let (status, _) = idps
        .get(&idps.url("nosuch", "/.well-known/openid-configuration"))
        .await;
    assert_eq!(status, 404);
    let (status, page) = idps
        .get(&Login::new().authorize_url(&idps, "nosuch", &[]))
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("nosuch"));
    let (status, _) = idps
        .get(&format!(
            "{}?client_id=a&client_id=b",
            idps.url("bankid", "/authorize")
        ))
        .await;
    assert_eq!(status, 400);
    let (status, _) = idps
        .get(&format!("{}?x=%zz", idps.url("bankid", "/authorize")))
        .await;
    assert_eq!(status, 400);
    let (status, _) = idps.get(&idps.url("bankid", "/authorize")).await;
    assert_eq!(status, 400);
    let resp = idps
        .http
        .post(idps.url("bankid", "/authorize"))
        .body("{}")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_redirect_uri_registered_after_start_is_matched_exactly() {
    let idps = Idps::start().await;
    let login = Login::new();
    let added = "http://sts.test/s/abc/connect/federation/callback";
    let status_for = |uri: &'static str| {
        let url = login.authorize_url(&idps, "testidp", &[("redirect_uri", uri)]);
        let http = idps.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_for(added).await, 400, "not registered yet");
    assert!(idps.idps.allow_redirect_uri(CLIENT_ID, added));
    assert!(
        !idps.idps.allow_redirect_uri("nosuch", added),
        "an unknown client"
    );
    assert_eq!(status_for(added).await, 200, "the login page");
    // Exactly: a longer path or another query is still refused.
    assert_eq!(
        status_for("http://sts.test/s/abc/connect/federation/callback/x").await,
        400
    );
    assert_eq!(
        status_for("http://sts.test/s/abc/connect/federation/callback?x=1").await,
        400
    );
}
