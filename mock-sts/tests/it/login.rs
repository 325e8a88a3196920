//! User logins (issue 4): PAR, the IdPs, codes, ID tokens, userinfo, refresh, SSO.

use helseid_examples::client::ClientError;
use helseid_examples::login::{Browser, LoginError, LoginRequest, UserChoice};
use mock_sts::store::{Tenancy, TokenBinding};
use serde_json::Value;

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
