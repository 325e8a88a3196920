//! Discovery, JWKS, expired JWKS and key rotation; snapshots of the document and a token.

use helseid_reference::client::TokenRequest;
use serde_json::Value;

use crate::support::*;

/// The JSON with the testbed's random port replaced, for snapshots.
fn portable(tb: &Testbed, v: &Value) -> Value {
    serde_json::from_str(&v.to_string().replace(&tb.issuer, "http://testbed.local")).unwrap()
}

async fn get(tb: &Testbed, path: &str) -> (u16, Value) {
    let r = tb.http.get(tb.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn discovery_document_names_what_the_testbed_implements() {
    let tb = Testbed::start().await;
    let (status, doc) = get(&tb, "/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], tb.issuer);
    assert!(!tb.issuer.ends_with('/'));
    for endpoint in [
        "jwks_uri",
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "expired_jwks_uri",
        "available_idps",
    ] {
        let url = doc[endpoint].as_str().unwrap();
        let path = url.strip_prefix(&tb.issuer).unwrap();
        let method = if endpoint.ends_with("endpoint") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let resp = tb.http.request(method, url).send().await.unwrap();
        assert_ne!(resp.status(), 404, "{endpoint} {path} must be served");
    }
    insta::assert_json_snapshot!("discovery", portable(&tb, &doc));
}

#[tokio::test]
async fn a_decoded_access_token() {
    let tb = Testbed::start().await;
    let out = tb
        .token(
            &tb.demo(),
            TokenRequest {
                scope: Some("nhn:testbed-api/read nhn:testbed-api/write".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let token = &out.response.access_token;
    let decoded = serde_json::json!({ "header": header_of(token), "claims": claims_of(token) });
    insta::assert_json_snapshot!("access_token", portable(&tb, &decoded), {
        ".header.kid" => "[kid]",
        ".claims.iat" => "[time]",
        ".claims.nbf" => "[time]",
        ".claims.exp" => "[time + 3600]",
        ".claims.jti" => "[jti]",
        ".claims.client_id" => "[client id]",
        ".claims.cnf.jkt" => "[thumbprint]",
    });
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published_then_moves_it_to_expired_jwks() {
    let tb = Testbed::start().await;
    let (_, jwks) = get(&tb, "/.well-known/openid-configuration/jwks").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let first = keys[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert_eq!(keys[0]["use"], "sig");
    assert!(keys[0].get("d").is_none(), "no private members");
    let (_, expired) = get(&tb, "/connect/expiredjwks").await;
    assert_eq!(expired["keys"].as_array().unwrap().len(), 0);

    let before = tb
        .token(&tb.demo(), TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    let second = tb.sts.rotate_keys().unwrap();
    let after = tb
        .token(&tb.demo(), TokenRequest::default())
        .await
        .unwrap()
        .response
        .access_token;
    assert_eq!(header_of(&before)["kid"], first.as_str());
    assert_eq!(
        header_of(&after)["kid"],
        second.as_str(),
        "new tokens are signed with the new key"
    );
    let (_, jwks) = get(&tb, "/.well-known/openid-configuration/jwks").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        vec![first.as_str(), second.as_str()],
        "overlap: both published"
    );

    tb.clock.advance(tb.sts.config.key_overlap);
    let (_, jwks) = get(&tb, "/.well-known/openid-configuration/jwks").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![second.as_str()]);
    let (_, expired) = get(&tb, "/connect/expiredjwks").await;
    assert_eq!(expired["keys"][0]["kid"], first.as_str());
}

#[tokio::test]
async fn a_rotation_by_another_process_is_picked_up() {
    let tb = Testbed::start().await;
    let other = mock_sts::store::Store::open(&tb.data_dir()).unwrap();
    let kid = mock_sts::keys::rotate(&other, mock_sts::keys::MAIN_RING, tb.clock.now()).unwrap();
    let out = tb.token(&tb.demo(), TokenRequest::default()).await.unwrap();
    assert_eq!(header_of(&out.response.access_token)["kid"], kid.as_str());
}

#[tokio::test]
async fn environment_lists_apis_organisations_delegations_and_persons() {
    let tb = Testbed::start().await;
    let (status, env) = get(&tb, "/testbed/environment").await;
    assert_eq!(status, 200);
    assert_eq!(env["issuer"], tb.issuer);
    let audiences: Vec<&str> = env["apis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["audience"].as_str().unwrap())
        .collect();
    for a in ["nhn:testbed-api", "nhn:selvbetjening", "nhn:kjernejournal"] {
        assert!(audiences.contains(&a), "{a}");
    }
    let orgs = env["organisations"].as_array().unwrap();
    let suppliers: std::collections::BTreeSet<&str> = orgs
        .iter()
        .flat_map(|o| o["delegated_to"].as_array().unwrap())
        .map(|d| d["supplier"].as_str().unwrap())
        .collect();
    assert!(
        suppliers.len() >= 2,
        "delegations to at least two EPJ vendors: {suppliers:?}"
    );
    let granfjelldal = orgs.iter().find(|o| o["orgnr"] == "999977774").unwrap();
    assert_eq!(
        granfjelldal["children"],
        serde_json::json!(["999977775", "999977776"])
    );
    let persons = env["test_persons"].as_array().unwrap();
    assert_eq!(persons.len(), 10);
    assert!(persons.iter().any(|p| p["hpr_number"].is_string()));
    assert!(
        persons
            .iter()
            .all(|p| p["pid"].as_str().unwrap().len() == 11)
    );
    assert!(
        env["clients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Testbed demo client")
    );
}

#[tokio::test]
async fn environment_lists_are_paged_with_totals() {
    let tb = Testbed::start().await;
    let (_, all) = get(&tb, "/testbed/environment?limit=1000").await;
    let totals = &all["page"]["totals"];
    let clients = totals["clients"].as_u64().unwrap();
    assert!(clients >= 2, "{totals}");
    assert_eq!(
        all["clients"].as_array().unwrap().len() as u64,
        clients.min(1000)
    );

    let (status, page) = get(&tb, "/testbed/environment?limit=1&offset=1").await;
    assert_eq!(status, 200);
    assert_eq!(
        page["page"]["totals"], *totals,
        "totals do not depend on the page"
    );
    for list in ["apis", "organisations", "clients"] {
        let shown = page[list].as_array().unwrap();
        assert_eq!(shown.len(), 1, "{list}");
        assert_eq!(shown[0], all[list][1], "{list}: the second row");
    }
    // Never more than the maximum, whatever is asked for.
    let (_, big) = get(&tb, "/testbed/environment?limit=1000000").await;
    assert_eq!(big["page"]["limit"], 1000);
    let (status, bad) = get(&tb, "/testbed/environment?limit=-5").await;
    assert_eq!(status, 400);
    assert!(bad["error_description"].as_str().unwrap().contains("limit"));
}

#[tokio::test]
async fn an_issuer_with_a_path_serves_everything_under_it() {
    let tb = Testbed::start_with(|c| c.issuer = format!("{}/tenant-1", c.issuer)).await;
    assert!(tb.issuer.ends_with("/tenant-1"));
    let (status, doc) = get(&tb, "/.well-known/openid-configuration").await;
    assert_eq!(status, 200);
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/connect/token", tb.issuer)
    );
    let out = tb.token(&tb.demo(), TokenRequest::default()).await.unwrap();
    assert_eq!(claims_of(&out.response.access_token)["iss"], tb.issuer);
    // Outside the path there is nothing.
    let root = tb.issuer.trim_end_matches("/tenant-1").to_owned();
    let resp = tb
        .http
        .get(format!("{root}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// Where this discovery document differs from production HelseID's, as captured in
/// HelseID.Library's tests (`HelseId.Library.Tests/Services/Endpoints/
/// DiscoveryDocumentGetterTests.cs`, reference §12.4; the fixture holds it): each key that
/// differs, in either direction, is listed here and has a row in docs/fidelity.md. The
/// testbed lists only what it implements.
const DIFFERENCES: &[&str] = &[
    "check_session_iframe",
    "device_authorization_endpoint",
    "backchannel_authentication_endpoint",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
    "backchannel_token_delivery_modes_supported",
    "backchannel_user_code_parameter_supported",
    "require_pushed_authorization_requests",
    "scopes_supported",
    "grant_types_supported",
    "response_types_supported",
    "response_modes_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "request_object_signing_alg_values_supported",
    "prompt_values_supported",
    "acr_values_supported",
    "token_endpoint_auth_signing_alg_values_supported",
];

#[tokio::test]
async fn discovery_differs_from_production_helseid_only_where_recorded() {
    let tb = Testbed::start().await;
    let (_, ours) = get(&tb, "/.well-known/openid-configuration").await;
    let production: Value =
        serde_json::from_str(include_str!("fixtures/helseid-production-discovery.json")).unwrap();
    let prod_issuer = production["issuer"].as_str().unwrap().to_owned();
    let ours_map = ours.as_object().unwrap();
    let prod_map = production.as_object().unwrap();
    let mut keys: Vec<&String> = ours_map.keys().chain(prod_map.keys()).collect();
    keys.sort();
    keys.dedup();
    let as_set = |v: &Value| -> Option<std::collections::BTreeSet<String>> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
    };
    let mut unrecorded = Vec::new();
    let mut stale = Vec::new();
    for key in keys {
        let same = match (prod_map.get(key), ours_map.get(key)) {
            // Endpoints: the same path under each issuer.
            (Some(Value::String(p)), Some(Value::String(o))) if p.starts_with(&prod_issuer) => {
                p[prod_issuer.len()..] == o[tb.issuer.len().min(o.len())..]
            }
            (Some(p), Some(o)) => match (as_set(p), as_set(o)) {
                (Some(p), Some(o)) => p == o,
                _ => p == o,
            },
            _ => false,
        };
        let recorded = DIFFERENCES.contains(&key.as_str());
        if !same && !recorded {
            unrecorded.push(format!(
                "{key}: production {:?}, testbed {:?}",
                prod_map.get(key),
                ours_map.get(key)
            ));
        }
        if same && recorded {
            stale.push(key.clone());
        }
    }
    assert!(
        unrecorded.is_empty(),
        "differences not recorded: {unrecorded:#?}"
    );
    assert!(
        stale.is_empty(),
        "recorded as different but the same now: {stale:?}"
    );
    let fidelity =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fidelity.md"))
            .unwrap();
    for key in DIFFERENCES {
        assert!(
            fidelity.contains(&format!("`{key}`")),
            "docs/fidelity.md has no row naming `{key}`"
        );
    }
}
