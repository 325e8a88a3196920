//! Fault injection for the client conformance checks (`mock_sts::fault`): each fault spoils
//! the next response of its kind once, and the reference client refuses it.

use helseid_reference::client::{ClientError, TokenRequest};
use helseid_reference::login::{Browser, LoginError, LoginRequest, UserChoice};
use mock_sts::fault::{Fault, WRONG_ISSUER};
use mock_sts::store::{Tenancy, TokenBinding};
use protocol::authorization_response::ResponseError;
use protocol::id_token::{IdTokenError, SignatureError};

use crate::support::*;

const REDIRECT: &str = "http://localhost:7890/callback";

fn login_client(tb: &Testbed) -> TestClient {
    let c = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:testbed-api/read"],
        TokenBinding::Dpop,
    );
    let mut client = tb.sts.store.client(&c.id).unwrap().unwrap();
    client.redirect_uris = vec![REDIRECT.into()];
    tb.sts.store.put_client(&client).unwrap();
    c
}

fn login_request(tb: &Testbed) -> LoginRequest {
    let p = tb.sts.population().unwrap();
    let person = p.practitioners().next().unwrap();
    LoginRequest {
        redirect_uri: REDIRECT.into(),
        scope: "openid helseid://scopes/identity/pid nhn:testbed-api/read".into(),
        acr_values: Some("idp:testidp-oidc Level4".into()),
        test_pid: Some(person.pid.to_string()),
        test_security_level: Some(4),
        ..Default::default()
    }
}

fn read_request() -> TokenRequest {
    TokenRequest {
        scope: Some("nhn:testbed-api/read".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn authorization_response_faults_are_refused_by_the_reference_client() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let req = login_request(&tb);
    let browser = Browser::new().unwrap();
    let choice = UserChoice::default();

    // A correct response passes the same checks.
    client.login(&browser, &req, &choice).await.unwrap();

    tb.sts.set_fault(Some(Fault::StateChanged)).unwrap();
    match client.login(&browser, &req, &choice).await {
        Err(LoginError::Response(ResponseError::State { got, sent })) => {
            assert_ne!(got.as_deref(), Some(sent.as_str()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tb.sts.faults.pending(), None, "used once");

    tb.sts.set_fault(Some(Fault::WrongIssParameter)).unwrap();
    match client.login(&browser, &req, &choice).await {
        Err(LoginError::Response(ResponseError::Issuer { got, .. })) => {
            assert_eq!(got.as_deref(), Some(WRONG_ISSUER))
        }
        other => panic!("{other:?}"),
    }

    tb.sts.set_fault(Some(Fault::MissingIssParameter)).unwrap();
    match client.login(&browser, &req, &choice).await {
        Err(LoginError::Response(ResponseError::Issuer { got, .. })) => assert_eq!(got, None),
        other => panic!("{other:?}"),
    }

    tb.sts.set_fault(Some(Fault::ErrorResponse)).unwrap();
    match client.login(&browser, &req, &choice).await {
        Err(LoginError::Authorization { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("{other:?}"),
    }

    // The fault is gone: the next login works again.
    client.login(&browser, &req, &choice).await.unwrap();
}

#[tokio::test]
async fn token_response_faults_are_refused_by_the_reference_client() {
    let tb = Testbed::start().await;
    let demo = tb.demo();

    tb.sts.set_fault(Some(Fault::MissingAccessToken)).unwrap();
    match tb.token(&demo, read_request()).await {
        Err(ClientError::Unexpected { status, body }) => {
            assert_eq!(status, 200);
            assert!(body.contains("access_token"), "{body}");
        }
        other => panic!("{other:?}"),
    }

    tb.sts.set_fault(Some(Fault::OtherTokenType)).unwrap();
    match tb.token(&demo, read_request()).await {
        Err(ClientError::TokenType { got, expected }) => {
            assert_eq!((got.as_str(), expected), ("Bearer", "DPoP"));
        }
        other => panic!("{other:?}"),
    }

    let ok = tb.token(&demo, read_request()).await.unwrap();
    assert_eq!(ok.response.token_type, "DPoP");
}

#[tokio::test]
async fn a_fault_waits_for_a_response_of_its_kind() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    // A token response is not an authorization response: the fault stays pending.
    tb.sts.set_fault(Some(Fault::StateChanged)).unwrap();
    tb.token(&demo, read_request()).await.unwrap();
    assert_eq!(tb.sts.faults.pending(), Some(Fault::StateChanged));
    // Nor does a token response without an ID token use an ID token fault.
    tb.sts.set_fault(Some(Fault::WrongNonce)).unwrap();
    tb.token(&demo, read_request()).await.unwrap();
    assert_eq!(tb.sts.faults.pending(), Some(Fault::WrongNonce));
    tb.sts.set_fault(None).unwrap();
}

#[tokio::test]
async fn the_retired_key_fault_signs_the_id_token_with_a_key_gone_from_the_jwks() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let req = login_request(&tb);
    let browser = Browser::new().unwrap();
    let before = kids(&tb, protocol::endpoints::JWKS).await;

    tb.sts.set_fault(Some(Fault::RotatedOutKey)).unwrap();
    let (login, tokens, id_kid, at_kid) = login_with_kids(&client, &browser, &req).await;
    let published = kids(&tb, protocol::endpoints::JWKS).await;
    let expired = kids(&tb, protocol::endpoints::EXPIRED_JWKS).await;
    assert!(before.contains(&id_kid), "signed by the key active before");
    assert!(!published.contains(&id_kid), "{published:?}");
    assert!(expired.contains(&id_kid), "{expired:?}");
    assert!(published.contains(&at_kid), "the access token stays valid");
    assert_ne!(id_kid, at_kid);

    // The reference client validates against the JWKS as it is now, and refuses it.
    match client
        .validate_id_token(tokens.id_token.as_deref().unwrap(), &login.nonce)
        .await
    {
        Err(LoginError::IdToken(e)) => assert_eq!(
            e,
            IdTokenError::Signature(SignatureError::UnknownKid(id_kid.clone()))
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_expired_key_fault_retires_the_key_before_the_login() {
    let tb = Testbed::start().await;
    let c = login_client(&tb);
    let client = tb.client(&c);
    let req = login_request(&tb);
    let browser = Browser::new().unwrap();
    let active_before = kids(&tb, protocol::endpoints::JWKS).await;

    // Setting the fault retires the key at once: before the client fetches anything.
    tb.sts.set_fault(Some(Fault::ExpiredKey)).unwrap();
    let published = kids(&tb, protocol::endpoints::JWKS).await;
    let expired = kids(&tb, protocol::endpoints::EXPIRED_JWKS).await;
    let retired: Vec<&String> = active_before
        .iter()
        .filter(|k| !published.contains(k))
        .collect();
    assert_eq!(retired.len(), 1, "{active_before:?} -> {published:?}");
    assert!(expired.contains(retired[0]), "{expired:?}");

    let (login, tokens, id_kid, at_kid) = login_with_kids(&client, &browser, &req).await;
    assert_eq!(&id_kid, retired[0], "signed by the retired key");
    assert!(published.contains(&at_kid), "the access token stays valid");
    assert_eq!(tb.sts.faults.pending(), None, "used once");
    match client
        .validate_id_token(tokens.id_token.as_deref().unwrap(), &login.nonce)
        .await
    {
        Err(LoginError::IdToken(e)) => assert_eq!(
            e,
            IdTokenError::Signature(SignatureError::UnknownKid(id_kid.clone()))
        ),
        other => panic!("{other:?}"),
    }

    // The next login is a correct one again.
    let login = client
        .login(&browser, &req, &UserChoice::default())
        .await
        .unwrap();
    let tokens = client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
        .unwrap()
        .response;
    client
        .validate_id_token(tokens.id_token.as_deref().unwrap(), &login.nonce)
        .await
        .unwrap();
}

/// A login and its code redeemed: the login, the token response, and the `kid`s the ID
/// token and the access token are signed with.
async fn login_with_kids(
    client: &helseid_reference::client::Client,
    browser: &Browser,
    req: &LoginRequest,
) -> (
    helseid_reference::login::Login,
    protocol::oauth::TokenResponse,
    String,
    String,
) {
    let login = client
        .login(browser, req, &UserChoice::default())
        .await
        .unwrap();
    let tokens = client
        .redeem_code(&login.code, REDIRECT, &login.verifier, None)
        .await
        .unwrap()
        .response;
    let kid = |token: &str| header_of(token)["kid"].as_str().unwrap().to_owned();
    let id_kid = kid(tokens.id_token.as_deref().unwrap());
    let at_kid = kid(&tokens.access_token);
    (login, tokens, id_kid, at_kid)
}

/// The `kid`s of the JWK Set the STS serves at `path`.
async fn kids(tb: &Testbed, path: &str) -> Vec<String> {
    let v: serde_json::Value = tb
        .http
        .get(tb.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}
