//! Snapshots of what relying parties and users read: a discovery document, a decoded ID token
//! and a login page, with the random port, keys and ids replaced.

use serde_json::Value;

use crate::support::*;

/// Text with the test server's address replaced.
fn portable(idps: &Idps, s: &str) -> String {
    s.replace(&idps.base, "http://testbed.local")
}

#[tokio::test]
async fn discovery_document() {
    let idps = Idps::start().await;
    let (status, doc) = idps
        .get(&idps.url("idporten", "/.well-known/openid-configuration"))
        .await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&portable(&idps, &doc)).unwrap();
    insta::assert_json_snapshot!("idporten_discovery", doc);
}

#[tokio::test]
async fn decoded_id_token() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (_, html) = idps.get(&login.authorize_url(&idps, "bankid", &[])).await;
    let form = login_form(&html);
    let resp = idps
        .post(&form.action, &form.choose(&form.persons[0], None))
        .await;
    let (_, params) = location(&resp);
    let (_, tokens) = idps
        .redeem("bankid", &params["code"], &login.verifier)
        .await;
    let token = tokens["id_token"].as_str().unwrap();
    let decoded = serde_json::json!({ "header": header_of(token), "claims": claims_of(token) });
    let decoded: Value = serde_json::from_str(&portable(&idps, &decoded.to_string())).unwrap();
    insta::assert_json_snapshot!("bankid_id_token", decoded, {
        ".header.kid" => "[kid]",
        ".claims.iat" => "[time]",
        ".claims.exp" => "[time + 300]",
        ".claims.auth_time" => "[time]",
        ".claims.nonce" => "[nonce]",
    });
}

#[tokio::test]
async fn login_page() {
    let idps = Idps::start().await;
    let login = Login::new();
    let (_, html) = idps
        .get(&login.authorize_url(&idps, "jobbkonto", &[("ui_locales", "en")]))
        .await;
    let form = login_form(&html);
    let request_id = &form
        .fields
        .iter()
        .find(|(k, _)| k == "request_id")
        .unwrap()
        .1;
    let page = portable(&idps, &html).replace(request_id.as_str(), "[request_id]");
    insta::assert_snapshot!("jobbkonto_login_page_en", page);
}
