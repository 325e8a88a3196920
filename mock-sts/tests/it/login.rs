//! User logins (issue 4): PAR, every bundled IdP, codes, ID tokens, userinfo, refresh, SSO,
//! Tillitsrammeverk in request objects, Selvbetjening login clients, logout.

use helseid_reference::client::ClientError;
use helseid_reference::login::{Browser, LoginError, LoginRequest, UserChoice};
use mock_sts::clock::SystemClock;
use mock_sts::store::{Tenancy, TokenBinding};
use protocol::jose::Alg;
use protocol::signing::SigningKey;
use serde_json::{Value, json};

use crate::support::*;

const REDIRECT: &str = "http://localhost:7890/callback";

fn login_client(tb: &Testbed) -> TestClient {
    let c = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &[
            "nhn:testbed-api/read",
            "nhn:test-public-samplecode/authorization-code",
        ],
        TokenBinding::Dpop,
    );
    let mut client = tb.sts.store.client(&c.id).unwrap().unwrap();
    client.redirect_uris = vec![REDIRECT.into()];
    client.post_logout_redirect_uris = vec!["http://localhost:7890/signed-out".into()];
    tb.sts.store.put_client(&client).unwrap();
    c
}

/// A person of the test population who is in HPR.
fn practitioner(tb: &Testbed) -> (String, String) {
    let p = tb.sts.population().unwrap();
    let person = p.practitioners().next().unwrap();
    (
        person.pid.to_string(),
        person.hpr.unwrap().hpr_number.to_string(),
    )
}

fn request(scope: &str) -> LoginRequest {
    LoginRequest {
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        ..Default::default()
    }
}

const SCOPES: &str = "openid profile offline_access helseid://scopes/identity/pid helseid://scopes/identity/security_level helseid://scopes/hpr/hpr_number nhn:testbed-api/read nhn:test-public-samplecode/authorization-code";

#[tokio::test]
async fn testidp_automation_logs_in_without_a_page_and_tokens_follow() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, hpr) = practitioner(&tb);
    let mut req = request(SCOPES);
    req.resources = vec![
        "nhn:testbed-api".into(),
        "nhn:test-public-samplecode".into(),
    ];
    req.acr_values = Some("idp:testidp-oidc Level4".into());
    req.test_pid = Some(pid.clone());
    req.test_security_level = Some(4);
    let browser = Browser::new().unwrap();
    let (login, tokens) = client
        .login_and_redeem(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    assert!(
        login
            .trail
            .iter()
            .any(|u| u.contains("/idp/testidp/authorize")),
        "{:?}",
        login.trail
    );
    assert_eq!(
        tokens.attempts, 2,
        "nonce round trip before the code is spent"
    );
    let r = tokens.response;
    assert_eq!(r.token_type, "DPoP");
    let at = claims_of(&r.access_token);
    assert_eq!(at["aud"], "nhn:testbed-api", "the first PAR resource");
    assert_eq!(at["helseid://claims/identity/pid"], pid);
    assert_eq!(at["helseid://claims/identity/security_level"], "4");
    assert_eq!(at["helseid://claims/hpr/hpr_number"], hpr);
    assert_eq!(at["idp"], "testidp-oidc");
    assert!(at["sid"].is_string());
    let id = claims_of(r.id_token.as_deref().unwrap());
    assert_eq!(id["aud"], c.id);
    assert_eq!(id["iss"], tb.issuer);
    assert!(id["nonce"].is_string());
    assert_eq!(id["sid"], at["sid"]);
    assert_eq!(id["acr"], "Level4");
    assert!(r.rt_expires_in.unwrap() > 0);

    // The second API with the refresh token, then the spent refresh token is refused.
    let rt = r.refresh_token.unwrap();
    let second = client
        .refresh(&rt, Some("nhn:test-public-samplecode"), None)
        .await
        .unwrap()
        .response;
    assert_eq!(
        claims_of(&second.access_token)["aud"],
        "nhn:test-public-samplecode"
    );
    assert_ne!(
        second.refresh_token.as_deref(),
        Some(rt.as_str()),
        "rotated"
    );
    match client.refresh(&rt, None, None).await {
        Err(ClientError::Refused { error, .. }) => {
            assert_eq!(error.error, "invalid_grant");
            assert!(error.error_description.unwrap().contains("already used"));
        }
        other => panic!("{other:?}"),
    }
    // A resource not named at PAR.
    match client
        .refresh(
            second.refresh_token.as_deref().unwrap(),
            Some("nhn:kjernejournal"),
            None,
        )
        .await
    {
        Err(ClientError::Refused { error, .. }) => assert_eq!(error.error, "invalid_target"),
        other => panic!("{other:?}"),
    }

    // userinfo with hpr_details.
    let info: Value = client
        .api_request(
            reqwest::Method::GET,
            &tb.url("/connect/userinfo"),
            &r.access_token,
        )
        .unwrap()
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["helseid://claims/identity/pid"], pid);
    assert_eq!(
        info["helseid://claims/hpr/hpr_details"]["hpr_number"].to_string(),
        hpr
    );
}

#[tokio::test]
async fn a_login_through_an_idp_page_and_sso_for_a_second_client() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let (pid, _) = practitioner(&tb);
    let browser = Browser::new().unwrap();
    let choice = UserChoice {
        idp: Some("bankid".into()),
        pid: Some(pid.clone()),
        method: None,
    };
    let (login, tokens) = tb
        .client(&c)
        .login_and_redeem(&browser, &request(SCOPES), &choice)
        .await
        .unwrap();
    assert!(
        login
            .trail
            .iter()
            .any(|u| u.contains("/idp/bankid/authorize")),
        "{:?}",
        login.trail
    );
    let at = claims_of(&tokens.response.access_token);
    assert_eq!(at["helseid://claims/identity/pid"], pid);
    assert_eq!(at["idp"], "bankid-oidc");

    // Another client in the same browser: no IdP page.
    let other = login_client(&tb);
    let (login2, tokens2) = tb
        .client(&other)
        .login_and_redeem(&browser, &request(SCOPES), &UserChoice::default())
        .await
        .unwrap();
    assert!(
        !login2.trail.iter().any(|u| u.contains("/idp/")),
        "SSO: {:?}",
        login2.trail
    );
    assert_eq!(claims_of(&tokens2.response.access_token)["sid"], at["sid"]);

    // prompt=none in a fresh browser: login_required.
    let mut req = request(SCOPES);
    req.prompt = Some("none".into());
    match tb
        .client(&other)
        .login(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
    {
        Err(LoginError::Authorization { error, .. }) => assert_eq!(error, "login_required"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_level3_session_must_step_up_for_level4() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let (pid, _) = practitioner(&tb);
    let browser = Browser::new().unwrap();
    let employer = UserChoice {
        idp: Some("jobbkonto".into()),
        pid: Some(pid.clone()),
        method: None,
    };
    let (_, tokens) = tb
        .client(&c)
        .login_and_redeem(&browser, &request(SCOPES), &employer)
        .await
        .unwrap();
    assert_eq!(
        claims_of(&tokens.response.access_token)["helseid://claims/identity/security_level"],
        "3"
    );
    // Level 4 asked: the session is not enough, the chooser offers level-4 IdPs only.
    let mut req = request(SCOPES);
    req.acr_values = Some("Level4".into());
    let choice = UserChoice {
        idp: Some("buypass".into()),
        pid: Some(pid),
        method: None,
    };
    let (login, tokens) = tb
        .client(&c)
        .login_and_redeem(&browser, &req, &choice)
        .await
        .unwrap();
    assert!(
        login.trail.iter().any(|u| u.contains("/idp/buypass/")),
        "{:?}",
        login.trail
    );
    assert_eq!(
        claims_of(&tokens.response.access_token)["helseid://claims/identity/security_level"],
        "4"
    );
}

async fn par_error(tb: &Testbed, c: &TestClient, req: &LoginRequest) -> (u16, String) {
    match tb.client(c).push_login(req).await {
        Err(LoginError::Par { status, body }) => (status, body),
        other => panic!("expected a PAR refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn par_rules() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let mut req = request(SCOPES);
    req.redirect_uri = "http://localhost:7890/other".into();
    let (status, body) = par_error(&tb, &c, &req).await;
    assert_eq!(status, 400);
    assert!(body.contains("is not registered"), "{body}");
    let mut req = request("profile nhn:testbed-api/read");
    let (_, body) = par_error(&tb, &c, &req).await;
    assert!(body.contains("openid"), "{body}");
    req = request(SCOPES);
    req.resources = vec!["nhn:nowhere".into()];
    let (_, body) = par_error(&tb, &c, &req).await;
    assert!(body.contains("invalid_target"), "{body}");

    // Plain PKCE and implicit flows, sent by hand.
    let client = tb.client(&c);
    for (k, v, needle) in [
        ("code_challenge_method", "plain", "plain"),
        ("response_type", "token", "unsupported_response_type"),
    ] {
        let mut form = vec![
            ("client_id".to_owned(), c.id.clone()),
            (
                "client_assertion_type".to_owned(),
                protocol::client_assertion::ASSERTION_TYPE.to_owned(),
            ),
            (
                "client_assertion".to_owned(),
                client.assertion(None).unwrap(),
            ),
            ("response_type".to_owned(), "code".to_owned()),
            ("redirect_uri".to_owned(), REDIRECT.to_owned()),
            ("scope".to_owned(), "openid".to_owned()),
            (
                "code_challenge".to_owned(),
                protocol::jose::sha256_b64(b"x"),
            ),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ];
        for f in form.iter_mut() {
            if f.0 == k {
                f.1 = v.to_owned();
            }
        }
        let resp = tb
            .http
            .post(tb.url("/connect/par"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let text = resp.text().await.unwrap();
        assert!(text.contains(needle), "{text}");
    }

    // Authorize without PAR is refused with a page, not a redirect.
    let resp = tb
        .http
        .get(tb.url(&format!(
            "/connect/authorize?client_id={}&response_type=code",
            c.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("pushed authorization requests")
    );
}

#[tokio::test]
async fn code_rules() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidp-oidc".into());
    req.test_pid = Some(pid);
    let browser = Browser::new().unwrap();
    // Wrong verifier: refused, and the code is spent.
    let login = client
        .login(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    let wrong = "A".repeat(43);
    match client
        .redeem_code(&login.code, REDIRECT, &wrong, None)
        .await
    {
        Err(ClientError::Refused { error, .. }) => {
            assert!(error.error_description.unwrap().contains("code_verifier"))
        }
        other => panic!("{other:?}"),
    }
    match client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
    {
        Err(ClientError::Refused { error, .. }) => assert_eq!(error.error, "invalid_grant"),
        other => panic!("{other:?}"),
    }
    // Mismatched redirect_uri.
    let login = client
        .login(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    match client
        .redeem_code(
            &login.code,
            "http://localhost:7890/other",
            &login.verifier,
            None,
        )
        .await
    {
        Err(ClientError::Refused { error, .. }) => {
            assert!(error.error_description.unwrap().contains("redirect_uri"))
        }
        other => panic!("{other:?}"),
    }
    // Reused code.
    let login = client
        .login(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
        .unwrap();
    match client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
    {
        Err(ClientError::Refused { error, .. }) => {
            assert_eq!(error.error, "invalid_grant");
            assert!(error.error_description.unwrap().contains("already used"));
        }
        other => panic!("{other:?}"),
    }
    // Expired code.
    let login = client
        .login(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    tb.clock.advance(61);
    match client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
    {
        Err(ClientError::Refused { error, .. }) => {
            assert!(error.error_description.unwrap().contains("expired"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn token_exchange_carries_the_user_to_a_second_api() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let (pid, _) = practitioner(&tb);
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidp-oidc".into());
    req.test_pid = Some(pid.clone());
    let (_, tokens) = tb
        .client(&c)
        .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
        .unwrap();
    let subject = tokens.response.access_token;
    assert_eq!(claims_of(&subject)["aud"], "nhn:testbed-api");

    // The API behind nhn:testbed-api acts as a client.
    let actor = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:test-public-samplecode/authorization-code"],
        TokenBinding::Dpop,
    );
    let refused = tb
        .client(&actor)
        .exchange(&subject, "nhn:test-public-samplecode/authorization-code")
        .await;
    match refused {
        Err(ClientError::Refused { error, .. }) => {
            let d = error.error_description.unwrap();
            assert!(
                d.contains("no audience matching configuration owner"),
                "{d}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut api = tb.sts.store.api("nhn:testbed-api").unwrap().unwrap();
    api.token_exchange_clients.push(actor.id.clone());
    tb.sts.store.put_api(&api).unwrap();

    let out = tb
        .client(&actor)
        .exchange(&subject, "nhn:test-public-samplecode/authorization-code")
        .await
        .unwrap();
    let t = claims_of(&out.response.access_token);
    assert_eq!(t["aud"], "nhn:test-public-samplecode");
    assert_eq!(t["client_id"], actor.id);
    assert_eq!(t["helseid://claims/client/original_client_id"], c.id);
    assert_eq!(t["act"]["client_id"], actor.id);
    assert_eq!(t["helseid://claims/identity/pid"], pid);

    for (scope, needle) in [(
        "nhn:test-public-samplecode/authorization-code nhn:testbed-api/read",
        "invalid scopes requested",
    )] {
        match tb.client(&actor).exchange(&subject, scope).await {
            Err(ClientError::Refused { error, .. }) => {
                assert!(error.error_description.unwrap().contains(needle))
            }
            other => panic!("{other:?}"),
        }
    }
    match tb
        .client(&actor)
        .exchange(
            "not-a-token",
            "nhn:test-public-samplecode/authorization-code",
        )
        .await
    {
        Err(ClientError::Refused { error, .. }) => assert!(
            error
                .error_description
                .unwrap()
                .starts_with("invalid subject_token - ")
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn request_objects_and_logout() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let now = tb.clock.now();
    let verifier = "A".repeat(43);
    let object = |exp: i64| {
        let claims = serde_json::json!({
            "iss": c.id, "aud": tb.issuer, "client_id": c.id, "exp": exp, "nbf": now, "jti": protocol::jose::random_id(),
            "response_type": "code", "redirect_uri": REDIRECT, "scope": SCOPES,
            "code_challenge": protocol::jose::sha256_b64(verifier.as_bytes()), "code_challenge_method": "S256",
            "state": "s1", "acr_values": "idp:testidp-oidc", "test_pid": pid,
        });
        c.key.sign_jwt(serde_json::Map::new(), &claims).unwrap()
    };
    // Too long-lived.
    let mut req = request(SCOPES);
    req.request_object = Some(object(now + 600));
    let (status, body) = par_error(&tb, &c, &req).await;
    assert_eq!(status, 400);
    assert!(
        // 600 s, or 599 when the wall clock ticked between signing and checking.
        body.contains("invalid_request_object")
            && (body.contains("600 s ahead") || body.contains("599 s ahead")),
        "{body}"
    );
    // Expired.
    req.request_object = Some(object(now - 60));
    let (_, body) = par_error(&tb, &c, &req).await;
    assert!(body.contains("expired"), "{body}");
    // Good: the login runs on the object's parameters.
    req.request_object = Some(object(now + 30));
    let (url, _, _) = client.push_login(&req).await.unwrap();
    let browser = Browser::new().unwrap();
    let mut trail = Vec::new();
    let ending = browser
        .navigate(&url, REDIRECT, &UserChoice::default(), &mut trail)
        .await
        .unwrap();
    let helseid_reference::login::Ending::Code { code, state, .. } = ending else {
        panic!("{ending:?}")
    };
    assert_eq!(state.as_deref(), Some("s1"));
    let tokens = client
        .redeem_code(&code, REDIRECT, &verifier, None)
        .await
        .unwrap()
        .response;

    // Logout with id_token_hint to a registered URI; the session is gone afterwards.
    let id_token = tokens.id_token.unwrap();
    let logout = tb.url(&format!(
        "/connect/endsession?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A7890%2Fsigned-out&state=bye"
    ));
    let mut trail = Vec::new();
    browser
        .navigate(
            &logout,
            "http://localhost:7890/signed-out",
            &UserChoice::default(),
            &mut trail,
        )
        .await
        .unwrap();
    let mut prompt_none = request(SCOPES);
    prompt_none.prompt = Some("none".into());
    match client
        .login(&browser, &prompt_none, &UserChoice::default())
        .await
    {
        Err(LoginError::Authorization { error, .. }) => assert_eq!(error, "login_required"),
        other => panic!("after logout: {other:?}"),
    }
    // An unregistered post-logout URI is refused.
    let resp = tb.http.get(tb.url(&format!("/connect/endsession?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F"))).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_flow_log_shows_a_login_decoded_with_secrets_masked() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidp-oidc Level4".into());
    req.test_pid = Some(pid.clone());
    req.test_security_level = Some(4);
    let browser = Browser::new().unwrap();
    let (_, tokens) = client
        .login_and_redeem(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    let rt = tokens.response.refresh_token.unwrap();

    let flows: Value = reqwest::get(tb.url(&format!("/testbed/flows?client_id={}", c.id)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exchanges = flows["exchanges"].as_array().unwrap();
    let paths: Vec<&str> = exchanges
        .iter()
        .map(|e| e["request"]["path"].as_str().unwrap())
        .collect();
    for p in ["/connect/par", "/connect/authorize", "/connect/token"] {
        assert!(paths.iter().any(|x| x.ends_with(p)), "{p} in {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.contains("/testbed/")),
        "the log does not log itself"
    );
    // The successful token call: the code redeemed, newest first.
    let token = exchanges
        .iter()
        .find(|e| e["request"]["path"] == "/connect/token" && e["response"]["status"] == 200)
        .unwrap();
    let body = &token["request"]["body"];
    assert_eq!(body["grant_type"], "authorization_code");
    assert!(
        body["code_verifier"]
            .as_str()
            .unwrap()
            .ends_with("(masked)")
    );
    assert!(body["code"].as_str().unwrap().ends_with("(masked)"));
    assert_eq!(
        body["client_assertion"]["jwt"]["claims"]["iss"], c.id,
        "the client assertion decoded"
    );
    assert_eq!(
        token["request"]["headers"]["dpop"]["jwt"]["header"]["typ"],
        "dpop+jwt"
    );
    let response = &token["response"]["body"];
    assert_eq!(
        response["access_token"]["jwt"]["claims"]["helseid://claims/identity/pid"],
        pid
    );
    assert!(response["id_token"]["jwt"]["claims"]["nonce"].is_string());
    let shown_rt = response["refresh_token"].as_str().unwrap();
    assert!(shown_rt.ends_with("(masked)"));
    let text = flows.to_string();
    assert!(!text.contains(&rt), "the refresh token never appears whole");
    assert!(
        !text.contains(&tokens.response.access_token),
        "signed tokens appear without their signature"
    );
    // The first token call was refused for a DPoP nonce; the log shows it.
    assert!(exchanges.iter().any(|e| {
        e["request"]["path"] == "/connect/token"
            && e["response"]["status"] == 400
            && e["response"]["body"]["error"] == "use_dpop_nonce"
    }));

    // limit and an unknown client.
    let one: Value = reqwest::get(tb.url("/testbed/flows?limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["exchanges"].as_array().unwrap().len(), 1);
    // Paged: the second newest is the next page's first; the total counts them all.
    let total = one["total"].as_u64().unwrap();
    assert!(total >= 5, "{one}");
    let next: Value = reqwest::get(tb.url("/testbed/flows?limit=1&offset=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["exchanges"].as_array().unwrap().len(), 1);
    assert!(next["exchanges"][0]["id"].as_u64() < one["exchanges"][0]["id"].as_u64());
    assert_eq!(next["offset"], 1);
    let bad = reqwest::get(tb.url("/testbed/flows?limit=-1"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<Value>().await.unwrap()["error_description"].is_string());
    let none: Value = reqwest::get(tb.url("/testbed/flows?client_id=nobody-at-all"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none["exchanges"].as_array().unwrap().is_empty());
}

/// One bundled IdP and method, and what HelseID's tokens say about a login through it.
struct IdpCase {
    label: &'static str,
    /// The IdP's path name under `/idp/`.
    path: &'static str,
    choice: UserChoice,
    /// TestIDP automation: `test_pid` and `test_security_level` at PAR instead of a page.
    automation: Option<u8>,
    scheme: &'static str,
    amr: &'static str,
    level: u8,
}

#[tokio::test]
async fn a_login_through_every_bundled_idp_and_method() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let page = |idp: &str, method: Option<&str>| UserChoice {
        idp: Some(idp.into()),
        pid: Some(pid.clone()),
        method: method.map(str::to_owned),
    };
    let cases = [
        IdpCase {
            label: "TestIDP automation, level 4",
            path: "testidp",
            choice: UserChoice::default(),
            automation: Some(4),
            scheme: "testidp-oidc",
            amr: "testidp",
            level: 4,
        },
        IdpCase {
            label: "TestIDP automation, level 3",
            path: "testidp",
            choice: UserChoice::default(),
            automation: Some(3),
            scheme: "testidp-oidc",
            amr: "testidp",
            level: 3,
        },
        IdpCase {
            label: "ID-porten with MinID",
            path: "idporten",
            choice: page("idporten", Some("minid")),
            automation: None,
            scheme: "idporten-oidc",
            amr: "minid",
            level: 3,
        },
        IdpCase {
            label: "ID-porten with BankID",
            path: "idporten",
            choice: page("idporten", Some("bankid")),
            automation: None,
            scheme: "idporten-oidc",
            amr: "bankid",
            level: 4,
        },
        IdpCase {
            label: "BankID",
            path: "bankid",
            choice: page("bankid", None),
            automation: None,
            scheme: "bankid-oidc",
            amr: "bankid",
            level: 4,
        },
        IdpCase {
            label: "Buypass smart card",
            path: "buypass",
            choice: page("buypass", None),
            automation: None,
            scheme: "buypass-oidc",
            amr: "bp:amr:sc",
            level: 4,
        },
        IdpCase {
            label: "Commfides",
            path: "commfides",
            choice: page("commfides", None),
            automation: None,
            scheme: "commfides-oidc",
            amr: "commfides",
            level: 4,
        },
        IdpCase {
            label: "employer IdP (jobbkonto)",
            path: "jobbkonto",
            choice: page("jobbkonto", None),
            automation: None,
            scheme: "adfs-helse-testfjord-oidc",
            amr: "pwd",
            level: 3,
        },
    ];
    for case in cases {
        let label = case.label;
        let mut req = request(SCOPES);
        if let Some(level) = case.automation {
            req.acr_values = Some("idp:testidp-oidc".into());
            req.test_pid = Some(pid.clone());
            req.test_security_level = Some(level);
        }
        // The reference client dates its assertions and proofs by the wall clock; eight
        // logins on a loaded machine outlast the STS's 5 s skew, so keep the test clock in step.
        tb.clock.set(SystemClock.now());
        // A fresh browser each time: no SSO from the case before.
        let (login, tokens) = client
            .login_and_redeem(&Browser::new().unwrap(), &req, &case.choice)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        // The IdP's authorize URL, then (with a page) the login form posted back to it.
        let at_idp = format!("/idp/{}/authorize", case.path);
        let visits = login.trail.iter().filter(|u| u.contains(&at_idp)).count();
        let expected = if case.automation.is_some() {
            1..=1
        } else {
            2..=5
        };
        assert!(
            expected.contains(&visits),
            "{label}: {visits} visits to {at_idp}: {:?}",
            login.trail
        );
        let at = claims_of(&tokens.response.access_token);
        let id = claims_of(tokens.response.id_token.as_deref().unwrap());
        let level = case.level.to_string();
        for (which, t) in [("access token", &at), ("ID token", &id)] {
            assert_eq!(t["idp"], case.scheme, "{label}: {which} idp");
            assert_eq!(t["amr"], json!([case.amr]), "{label}: {which} amr");
            assert_eq!(
                t["helseid://claims/identity/security_level"], level,
                "{label}: {which} security level"
            );
            assert_eq!(
                t["helseid://claims/identity/pid"], pid,
                "{label}: {which} pid"
            );
        }
        assert_eq!(id["acr"], format!("Level{level}"), "{label}: ID token acr");
        assert_eq!(id["sid"], at["sid"], "{label}: one session");
    }
}

/// The client-sent Tillitsrammeverk attestation of the protocol fixture, for organisations
/// the testbed knows.
fn attestation() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/testdata/tillitsrammeverk/client_example.json"
    ))
    .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let mut entry = fixture["entry"].clone();
    entry["practitioner"]["legal_entity"]["id"] = json!("999977774");
    entry["practitioner"]["point_of_care"]["id"] = json!("999977776");
    entry
}

/// A PAR whose signed request object carries `authorization_details`.
fn tr_request(tb: &Testbed, c: &TestClient, pid: &str, details: Value) -> (LoginRequest, String) {
    let now = tb.clock.now();
    let verifier = "B".repeat(43);
    let claims = json!({
        "iss": c.id, "aud": tb.issuer, "client_id": c.id, "exp": now + 30, "nbf": now,
        "jti": protocol::jose::random_id(),
        "response_type": "code", "redirect_uri": REDIRECT, "scope": SCOPES,
        "code_challenge": protocol::jose::sha256_b64(verifier.as_bytes()),
        "code_challenge_method": "S256", "state": "tr",
        "acr_values": "idp:testidp-oidc", "test_pid": pid,
        "authorization_details": details,
    });
    let mut req = request(SCOPES);
    req.request_object = Some(c.key.sign_jwt(serde_json::Map::new(), &claims).unwrap());
    (req, verifier)
}

#[tokio::test]
async fn tillitsrammeverk_in_a_request_object_is_enriched_into_the_access_token() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, hpr) = practitioner(&tb);
    let (req, verifier) = tr_request(&tb, &c, &pid, json!([attestation()]));
    let (url, _, _) = client.push_login(&req).await.unwrap();
    let mut trail = Vec::new();
    let ending = Browser::new()
        .unwrap()
        .navigate(&url, REDIRECT, &UserChoice::default(), &mut trail)
        .await
        .unwrap();
    let helseid_reference::login::Ending::Code { code, .. } = ending else {
        panic!("{ending:?}")
    };
    let tokens = client
        .redeem_code(&code, REDIRECT, &verifier, None)
        .await
        .unwrap()
        .response;
    let at = claims_of(&tokens.access_token);
    let t = &at["nhn:tillitsrammeverk:parameters"];
    assert_eq!(t["type"], "nhn:tillitsrammeverk:parameters", "{at}");
    let p = &t["practitioner"];
    // Who the practitioner is comes from the session, not from the client.
    assert_eq!(p["identifier"]["id"], pid);
    assert_eq!(
        p["identifier"]["system"], "urn:oid:2.16.578.1.12.4.1.4.1",
        "an F-number"
    );
    assert_eq!(p["identifier"]["name"], at["name"]);
    assert!(p["identifier"]["name"].is_string());
    assert_eq!(p["hpr_nr"]["id"], hpr);
    assert_eq!(p["hpr_nr"]["system"], "urn:oid:2.16.578.1.12.4.1.4.4");
    // Texts and names the client never sent.
    assert_eq!(p["authorization"]["code"], "LE");
    assert_eq!(p["authorization"]["text"], "Lege");
    let name_of = |orgnr: &str| tb.sts.store.organisation(orgnr).unwrap().map(|o| o.name);
    let legal_entity = name_of("999977774").unwrap();
    assert_eq!(p["legal_entity"]["id"], "999977774");
    assert_eq!(p["legal_entity"]["name"], legal_entity);
    assert_eq!(p["legal_entity"]["authority"], "https://www.brreg.no");
    assert_eq!(p["point_of_care"]["id"], "999977776");
    assert_eq!(p["point_of_care"]["name"], json!(name_of("999977776")));
    let care = &t["care_relationship"];
    assert_eq!(care["purpose_of_use"]["code"], "TREAT");
    assert_eq!(care["healthcare_service"]["code"], "S03");
    assert_eq!(
        care["decision_ref"],
        json!({"id": "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B", "user_selected": true})
    );
    assert_eq!(t["patients"][0]["identifier"]["id"], "05076600324");
    assert!(t["attestation"]["toa"].is_i64());

    // The login's attestation stays with the refresh token.
    let refreshed = client
        .refresh(tokens.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap()
        .response;
    assert_eq!(
        claims_of(&refreshed.access_token)["nhn:tillitsrammeverk:parameters"]["practitioner"]["hpr_nr"]
            ["id"],
        hpr
    );

    // Issue 15: the attestation again, now in the refresh's client assertion as well, is
    // refused as HelseID refuses it (reference §12.4).
    match client
        .refresh(
            refreshed.refresh_token.as_deref().unwrap(),
            None,
            Some(json!([attestation()])),
        )
        .await
    {
        Err(ClientError::Refused { status, error }) => {
            assert_eq!(status, 400);
            assert_eq!(error.error, "access_denied");
            let description = error.error_description.unwrap_or_default();
            assert!(
                description.starts_with("HID-DOUBLE-STRUCTURE"),
                "{description}"
            );
        }
        other => panic!("an attestation through both channels: {other:?}"),
    }
}

/// Issue 15: an attestation in a client assertion at the token endpoint applies to that
/// response only; the login's later tokens carry none (reference §12.4).
#[tokio::test]
async fn tillitsrammeverk_in_a_client_assertion_applies_to_that_response_only() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, hpr) = practitioner(&tb);
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidpnew-oidc".into());
    req.test_pid = Some(pid.clone());
    req.test_security_level = Some(4);
    let (_, tokens) = client
        .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
        .unwrap();
    let at = claims_of(&tokens.response.access_token);
    assert!(at.get("nhn:tillitsrammeverk:parameters").is_none(), "{at}");
    let with = client
        .refresh(
            tokens.response.refresh_token.as_deref().unwrap(),
            None,
            Some(json!([attestation()])),
        )
        .await
        .unwrap()
        .response;
    assert_eq!(
        claims_of(&with.access_token)["nhn:tillitsrammeverk:parameters"]["practitioner"]["hpr_nr"]
            ["id"],
        hpr
    );
    let after = client
        .refresh(with.refresh_token.as_deref().unwrap(), None, None)
        .await
        .unwrap()
        .response;
    let at = claims_of(&after.access_token);
    assert!(
        at.get("nhn:tillitsrammeverk:parameters").is_none(),
        "the assertion's attestation did not stay: {at}"
    );
}

#[tokio::test]
async fn a_bad_attestation_in_a_request_object_is_refused_at_par() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let (pid, _) = practitioner(&tb);
    let cases = [
        (
            "/practitioner/authorization/code",
            json!("XYZ"),
            "practitioner.authorization.code",
        ),
        (
            "/care_relationship/purpose_of_use/code",
            json!("SHOPPING"),
            "care_relationship.purpose_of_use.code",
        ),
        (
            "/practitioner/legal_entity/id",
            json!("12345"),
            "practitioner.legal_entity.id",
        ),
        (
            "/care_relationship/decision_ref/user_selected",
            json!("yes"),
            "care_relationship.decision_ref.user_selected",
        ),
    ];
    for (pointer, bad, field) in cases {
        let mut entry = attestation();
        *entry.pointer_mut(pointer).unwrap() = bad;
        let (req, _) = tr_request(&tb, &c, &pid, json!([entry]));
        let (status, body) = par_error(&tb, &c, &req).await;
        assert_eq!(status, 400, "{field}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body["error"], "invalid_authorization_details",
            "{field}: {body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains(field),
            "{field} not in {description:?}"
        );
    }
    // A missing required element is named too.
    let mut entry = attestation();
    entry["care_relationship"]
        .as_object_mut()
        .unwrap()
        .remove("purpose_of_use");
    let (req, _) = tr_request(&tb, &c, &pid, json!([entry]));
    let (status, body) = par_error(&tb, &c, &req).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("care_relationship.purpose_of_use is missing"),
        "{body}"
    );
}

/// Posts a Selvbetjening client draft and returns the new client.
async fn draft_client(tb: &Testbed, redirect_uris: Option<Vec<&str>>) -> TestClient {
    let key = SigningKey::generate_ec(Alg::ES256, "draft".into()).unwrap();
    let mut draft = json!({
        "organizationNumber": "999977774",
        "publicJwk": key.public_jwk().to_json().to_string(),
        "apiScopes": ["nhn:testbed-api/read"],
    });
    if let Some(uris) = redirect_uris {
        draft["redirectUris"] = json!(uris);
    }
    let resp = tb
        .http
        .post(tb.url("/selvbetjening/v1/client-drafts"))
        .header("api-key", API_KEY)
        .json(&draft)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    TestClient {
        id: body["clientId"].as_str().unwrap().to_owned(),
        key,
    }
}

const DRAFT_SCOPES: &str =
    "openid profile offline_access helseid://scopes/identity/pid nhn:testbed-api/read";

#[tokio::test]
async fn a_selvbetjening_draft_with_redirect_uris_logs_users_in() {
    let tb = Testbed::start().await;
    let c = draft_client(&tb, Some(vec![REDIRECT])).await;
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let mut req = request(DRAFT_SCOPES);
    req.acr_values = Some("idp:testidp-oidc".into());
    req.test_pid = Some(pid.clone());
    let (login, tokens) = client
        .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
        .unwrap();
    assert!(
        login
            .trail
            .iter()
            .any(|u| u.contains("/idp/testidp/authorize")),
        "{:?}",
        login.trail
    );
    let r = tokens.response;
    assert_eq!(
        r.token_type, "DPoP",
        "Selvbetjening clients are DPoP clients"
    );
    let at = claims_of(&r.access_token);
    assert_eq!(at["client_id"], c.id);
    assert_eq!(at["aud"], "nhn:testbed-api");
    assert_eq!(at["helseid://claims/identity/pid"], pid);
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    let id = claims_of(r.id_token.as_deref().unwrap());
    assert_eq!(id["aud"], c.id);
    assert_eq!(id["name"], at["name"]);
    assert!(id["name"].is_string(), "profile");
    assert!(r.refresh_token.is_some(), "offline_access");

    // Only the registered redirect URI.
    let mut other = request(DRAFT_SCOPES);
    other.redirect_uri = "http://localhost:7890/elsewhere".into();
    let (status, body) = par_error(&tb, &c, &other).await;
    assert_eq!(status, 400);
    assert!(body.contains("is not registered"), "{body}");
}

#[tokio::test]
async fn a_selvbetjening_draft_without_redirect_uris_cannot_log_users_in() {
    let tb = Testbed::start().await;
    let c = draft_client(&tb, None).await;
    // It is a working machine client ...
    let token = tb
        .client(&c)
        .token(&helseid_reference::client::TokenRequest {
            scope: Some("nhn:testbed-api/read".into()),
            resource: None,
            details: None,
        })
        .await
        .unwrap();
    assert_eq!(claims_of(&token.response.access_token)["client_id"], c.id);
    // ... but PAR refuses it.
    let (status, body) = par_error(&tb, &c, &request(DRAFT_SCOPES)).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "unauthorized_client", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(&c.id) && description.contains("no redirect URIs"),
        "{description}"
    );
}

const FRONTCHANNEL: &str = "http://localhost:7891/frontchannel-logout";

/// The `src` of every front-channel logout frame of a logout page.
fn frames(html: &str) -> Vec<reqwest::Url> {
    html.match_indices("<iframe")
        .filter_map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>')?];
            let start = tag.find("src=\"")? + 5;
            let src = tag[start..].split('"').next()?.replace("&amp;", "&");
            reqwest::Url::parse(&src).ok()
        })
        .collect()
}

#[tokio::test]
async fn logout_tells_the_sessions_other_clients_through_front_channel_frames() {
    let tb = Testbed::start().await;
    let first = login_client(&tb);
    let second = login_client(&tb);
    let mut registered = tb.sts.store.client(&second.id).unwrap().unwrap();
    registered.frontchannel_logout_uri = Some(FRONTCHANNEL.into());
    tb.sts.store.put_client(&registered).unwrap();
    let (pid, _) = practitioner(&tb);
    let browser = Browser::new().unwrap();
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidp-oidc".into());
    req.test_pid = Some(pid);
    let (_, tokens) = tb
        .client(&first)
        .login_and_redeem(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    let id_token = tokens.response.id_token.unwrap();
    let sid = claims_of(&id_token)["sid"].as_str().unwrap().to_owned();
    // The second client joins the session (SSO).
    let (login2, tokens2) = tb
        .client(&second)
        .login_and_redeem(&browser, &request(SCOPES), &UserChoice::default())
        .await
        .unwrap();
    assert!(!login2.trail.iter().any(|u| u.contains("/idp/")), "SSO");
    assert_eq!(
        claims_of(tokens2.response.id_token.as_deref().unwrap())["sid"],
        sid
    );

    // Logging out from the first client: a page with a frame for the second.
    let resp = tb
        .http
        .get(tb.url(&format!("/connect/endsession?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let frames = frames(&html);
    assert_eq!(frames.len(), 1, "one frame, for the second client: {html}");
    let frame = &frames[0];
    assert_eq!(
        format!("{}://{}{}", frame.scheme(), frame.authority(), frame.path()),
        FRONTCHANNEL
    );
    let query: std::collections::HashMap<String, String> = frame
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(query.get("iss"), Some(&tb.issuer), "{frame}");
    assert_eq!(query.get("sid"), Some(&sid), "the ID token's sid: {frame}");

    // The session is over for both clients.
    let mut prompt_none = request(SCOPES);
    prompt_none.prompt = Some("none".into());
    match tb
        .client(&second)
        .login(&browser, &prompt_none, &UserChoice::default())
        .await
    {
        Err(LoginError::Authorization { error, .. }) => assert_eq!(error, "login_required"),
        other => panic!("after logout: {other:?}"),
    }
}

#[tokio::test]
async fn endsession_refuses_an_id_token_hint_this_sts_did_not_issue() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let (pid, _) = practitioner(&tb);
    let browser = Browser::new().unwrap();
    let mut req = request(SCOPES);
    req.acr_values = Some("idp:testidp-oidc".into());
    req.test_pid = Some(pid);
    let (_, tokens) = tb
        .client(&c)
        .login_and_redeem(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    let id_token = tokens.response.id_token.unwrap();
    let claims = claims_of(&id_token);
    let kid = header_of(&id_token)["kid"].as_str().unwrap().to_owned();
    let stranger = SigningKey::generate_rsa(2048, Alg::RS256, "stranger".into()).unwrap();
    let mut same_kid = serde_json::Map::new();
    same_kid.insert("kid".into(), json!(kid));
    let mut elsewhere = claims.clone();
    elsewhere["iss"] = json!("https://helseid-sts.test.nhn.no");
    let cases = [
        (
            "an unknown key",
            stranger.sign_jwt(serde_json::Map::new(), &claims).unwrap(),
            "never had",
        ),
        (
            "another key under the STS's kid",
            stranger.sign_jwt(same_kid, &claims).unwrap(),
            "bad signature",
        ),
        (
            "another issuer",
            mock_sts::access_token::sign(&tb.sts, "JWT", &elsewhere).unwrap(),
            "another STS",
        ),
        ("not a JWT", "not-a-jwt".to_owned(), "id_token_hint"),
    ];
    for (label, hint, needle) in cases {
        let resp = tb
            .http
            .get(tb.url(&format!("/connect/endsession?id_token_hint={hint}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{label}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(needle), "{label}: {needle:?} not in {text}");
    }
    // Nothing was logged out.
    let mut prompt_none = request(SCOPES);
    prompt_none.prompt = Some("none".into());
    tb.client(&c)
        .login(&browser, &prompt_none, &UserChoice::default())
        .await
        .unwrap();
}

/// The way HelseID's 2025 samples select IdPs (reference §12.4): TestIDP as
/// `idp:testidpnew-oidc` (the older `idp:testidp-oidc` too), Buypass's smart card as
/// `idp:buypass-oidc bp:amr:sc`; a name the STS does not know selects nothing (the user gets
/// the IdP menu).
#[tokio::test]
async fn idps_are_selected_by_the_names_helseids_current_samples_use() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = |acr: &str| {
        let mut req = request(SCOPES);
        req.acr_values = Some(acr.into());
        req
    };
    for (acr, goes_to) in [
        ("idp:testidpnew-oidc Level4", Some("/idp/testidp/authorize")),
        ("idp:testidp-oidc", Some("/idp/testidp/authorize")),
        ("idp:buypass-oidc bp:amr:sc", Some("/idp/buypass/authorize")),
        ("idp:testidp-new-oidc", None),
    ] {
        let pushed = client.push(&authorize(acr)).await.unwrap();
        let r = no_redirects.get(&pushed.url).send().await.unwrap();
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        match goes_to {
            Some(path) => {
                // Through the STS's start of the federation, straight to that IdP.
                let mut hops = 0;
                let mut at = location.clone();
                while !at.contains(path) && hops < 3 && !at.is_empty() {
                    let url = if at.starts_with("http") {
                        at.clone()
                    } else {
                        tb.url(&at)
                    };
                    let next = no_redirects.get(url).send().await.unwrap();
                    at = next
                        .headers()
                        .get("location")
                        .and_then(|l| l.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    hops += 1;
                }
                assert!(at.contains(path), "{acr}: {location} led to {at:?}");
            }
            None => {
                assert_eq!(r.status(), 200, "{acr}: the IdP menu, not {location}");
                let page = r.text().await.unwrap();
                assert!(
                    page.contains("/idp/testidp") || page.contains("TestIDP"),
                    "{acr}"
                );
            }
        }
    }

    // The login's `idp` claim is the name the client selected it by.
    for (acr, claimed) in [
        ("idp:testidpnew-oidc Level4", "testidpnew-oidc"),
        ("idp:testidp-oidc Level4", "testidp-oidc"),
    ] {
        let mut req = authorize(acr);
        req.test_pid = Some(pid.clone());
        req.test_security_level = Some(4);
        tb.clock.set(SystemClock.now());
        let (_, tokens) = client
            .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
            .await
            .unwrap();
        let at = claims_of(&tokens.response.access_token);
        assert_eq!(at["idp"], claimed, "{acr}");
    }
    // The smart card, selected without the menu.
    let mut req = authorize("idp:buypass-oidc bp:amr:sc");
    req.login_hint = Some(pid.clone());
    let choice = UserChoice {
        idp: Some("buypass".into()),
        pid: Some(pid.clone()),
        method: None,
    };
    tb.clock.set(SystemClock.now());
    let (_, tokens) = client
        .login_and_redeem(&Browser::new().unwrap(), &req, &choice)
        .await
        .unwrap();
    let id = claims_of(tokens.response.id_token.as_deref().unwrap());
    assert_eq!(id["idp"], "buypass-oidc");
    assert_eq!(id["amr"], json!(["bp:amr:sc"]));

    // The menu's list names both TestIDP names.
    let idps: Value = reqwest::get(tb.url("/connect/availableidps"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let testidp = idps
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["idp"] == "testidp-oidc")
        .unwrap();
    assert_eq!(testidp["also_selected_by"], json!(["testidpnew-oidc"]));
}

/// Issue 15: a multi-tenant client redeems its login's code naming no organisation (as
/// HelseID.Samples' ApiAccess does) and gets a token with only its supplier; it names the
/// organisation in the client assertion of a refresh (HelseID's recommended way, reference
/// §6.1), where the delegation is checked as for a system token.
#[tokio::test]
async fn a_multi_tenant_login_names_its_organisation_on_refresh() {
    let tb = Testbed::start().await;
    let c = tb.register(
        Tenancy::MultiTenant {
            supplier_orgnr: "313745392".into(),
        },
        &["nhn:testbed-api/read"],
        TokenBinding::Dpop,
    );
    let mut registered = tb.sts.store.client(&c.id).unwrap().unwrap();
    registered.redirect_uris = vec![REDIRECT.into()];
    tb.sts.store.put_client(&registered).unwrap();
    let client = tb.client(&c);
    let (pid, _) = practitioner(&tb);
    let mut req =
        request("openid offline_access helseid://scopes/identity/pid nhn:testbed-api/read");
    req.acr_values = Some("idp:testidpnew-oidc".into());
    req.test_pid = Some(pid);
    req.test_security_level = Some(4);
    let (_, tokens) = client
        .login_and_redeem(&Browser::new().unwrap(), &req, &UserChoice::default())
        .await
        .unwrap();
    let at = claims_of(&tokens.response.access_token);
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_supplier"],
        "313745392"
    );
    assert!(
        at.get("helseid://claims/client/claims/orgnr_parent")
            .is_none(),
        "{at}"
    );

    let org = |value: &str| json!([{"type": "helseid_authorization", "practitioner_role": {"organization": {"identifier": {"system": "urn:oid:1.0.6523", "type": "ENH", "value": value}}}}]);
    let named = client
        .refresh(
            tokens.response.refresh_token.as_deref().unwrap(),
            None,
            Some(org("NO:ORGNR:999977774:999977775")),
        )
        .await
        .unwrap()
        .response;
    let at = claims_of(&named.access_token);
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert_eq!(
        at["helseid://claims/client/claims/orgnr_child"],
        "999977775"
    );
    // An organisation that has not delegated to the supplier is refused as for a system token.
    match client
        .refresh(
            named.refresh_token.as_deref().unwrap(),
            None,
            Some(org("NO:ORGNR:312232324:")),
        )
        .await
    {
        Err(ClientError::Refused { error, .. }) => {
            assert_eq!(error.error, "invalid_request");
            assert!(
                error
                    .error_description
                    .unwrap()
                    .contains("has not delegated")
            );
        }
        other => panic!("{other:?}"),
    }
}
