//! State survives restarts: clients, keys, revocations.

use helseid_reference::client::TokenRequest;
use mock_sts::store::{Tenancy, TokenBinding};

use crate::support::*;

#[tokio::test]
async fn clients_and_keys_survive_a_restart() {
    let tb = Testbed::start().await;
    let registered = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec![],
        },
        &["nhn:testbed-api/read"],
        TokenBinding::Dpop,
    );
    let before = tb
        .token(&registered, TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    let kid = header_of(&before)["kid"].as_str().unwrap().to_owned();
    let demo_id = tb.demo().id;
    let dir = tb.stop();

    let tb = Testbed::start_in(dir).await;
    assert_eq!(tb.demo().id, demo_id, "seeding happens once");
    let after = tb
        .token(&registered, TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    assert_eq!(
        header_of(&after)["kid"],
        kid.as_str(),
        "the signing key is kept"
    );
    // A token issued before the restart still verifies against the JWKS served after it.
    let jwks: serde_json::Value = tb
        .http
        .get(tb.url("/.well-known/openid-configuration/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
}
