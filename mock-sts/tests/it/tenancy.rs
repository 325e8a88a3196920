//! Multi-tenancy (reference §6): organisation numbers from assertion_details.

use helseid_reference::client::{ClientError, TokenRequest};
use mock_sts::store::{Tenancy, TokenBinding};
use serde_json::{Value, json};

use crate::support::*;

fn org(system: &str, value: &str) -> Value {
    json!({"type": "helseid_authorization", "practitioner_role": {"organization": {"identifier": {"system": system, "type": "ENH", "value": value}}}})
}

fn multi(value: &str) -> Value {
    org("urn:oid:1.0.6523", value)
}

fn enh(value: &str) -> Value {
    org("urn:oid:2.16.578.1.12.4.1.4.101", value)
}

async fn claims(
    tb: &Testbed,
    c: &TestClient,
    scope: &str,
    details: Option<Value>,
) -> Result<Value, (u16, String, String)> {
    match tb
        .token(
            c,
            TokenRequest {
                scope: Some(scope.into()),
                resource: None,
                details,
            },
        )
        .await
    {
        Ok(out) => Ok(claims_of(&out.response.access_token)),
        Err(ClientError::Refused { status, error }) => Err((
            status,
            error.error,
            error.error_description.unwrap_or_default(),
        )),
        Err(other) => panic!("{other:?}"),
    }
}

#[track_caller]
fn refused(r: Result<Value, (u16, String, String)>, error: &str, needle: &str) {
    let (status, e, d) = r.expect_err("expected a refusal");
    assert_eq!((status, e.as_str()), (400, error), "{d}");
    assert!(d.contains(needle), "{needle:?} not in {d:?}");
}

#[tokio::test]
async fn single_tenant_parent_is_automatic_and_children_come_from_the_whitelist() {
    let tb = Testbed::start().await;
    let c = tb.register(
        Tenancy::SingleTenant {
            orgnr: "999977774".into(),
            child_orgnrs: vec!["999977776".into()],
        },
        &["nhn:testbed-api/read"],
        TokenBinding::Dpop,
    );
    let t = claims(&tb, &c, "nhn:testbed-api/read", None).await.unwrap();
    assert_eq!(
        t["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert!(
        t.get("helseid://claims/client/claims/orgnr_child")
            .is_none()
    );
    assert_eq!(t["helseid://claims/client/client_tenancy"], "single-tenant");

    let t = claims(&tb, &c, "nhn:testbed-api/read", Some(enh("999977776")))
        .await
        .unwrap();
    assert_eq!(t["helseid://claims/client/claims/orgnr_child"], "999977776");

    refused(
        claims(&tb, &c, "nhn:testbed-api/read", Some(enh("999977775"))).await,
        "invalid_request",
        "999977775 is not in the list",
    );
    refused(
        claims(
            &tb,
            &c,
            "nhn:testbed-api/read",
            Some(multi("NO:ORGNR:313745392:999977776")),
        )
        .await,
        "invalid_request",
        "cannot act for 313745392",
    );
}

#[tokio::test]
async fn multi_tenant_needs_a_delegation() {
    let tb = Testbed::start().await;
    let (c, signed, _) = tb.multi_tenant();
    let t = claims(
        &tb,
        &c,
        "nhn:testbed-api/read",
        Some(multi(&format!("NO:ORGNR:{signed}:999977776"))),
    )
    .await
    .unwrap();
    assert_eq!(t["helseid://claims/client/claims/orgnr_parent"], signed);
    assert_eq!(
        t["helseid://claims/client/claims/orgnr_child"], "999977776",
        "the child is not whitelisted for multi-tenant clients"
    );
    assert_eq!(t["helseid://claims/client/client_tenancy"], "multi-tenant");
    let supplier = t["helseid://claims/client/claims/orgnr_supplier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tb.sts
            .store
            .delegation(&signed, &supplier)
            .unwrap()
            .unwrap()
            .supplier,
        supplier
    );

    // Parent only, HelseID.Library's form with a trailing colon.
    let t = claims(
        &tb,
        &c,
        "nhn:testbed-api/read",
        Some(multi(&format!("NO:ORGNR:{signed}:"))),
    )
    .await
    .unwrap();
    assert!(
        t.get("helseid://claims/client/claims/orgnr_child")
            .is_none()
    );

    // An organisation that delegated to another vendor (the wrong delegation).
    let other = tb
        .sts
        .store
        .delegations()
        .unwrap()
        .into_iter()
        .find(|d| d.supplier != supplier)
        .unwrap();
    refused(
        claims(
            &tb,
            &c,
            "nhn:testbed-api/read",
            Some(multi(&format!("NO:ORGNR:{}:", other.delegator))),
        )
        .await,
        "invalid_request",
        &format!(
            "{} has not delegated to supplier {supplier}",
            other.delegator
        ),
    );
    refused(
        claims(&tb, &c, "nhn:testbed-api/read", None).await,
        "invalid_request",
        "must state the organisation",
    );
    refused(
        claims(&tb, &c, "nhn:testbed-api/read", Some(enh("999977776"))).await,
        "invalid_request",
        "NO:ORGNR:<parent>:<child>",
    );
}

#[tokio::test]
async fn unsigned_terms_refuse_the_apis_scopes() {
    let tb = Testbed::start().await;
    let (c, signed, unsigned) = tb.multi_tenant();
    let ok = claims(
        &tb,
        &c,
        "nhn:kjernejournal/api",
        Some(multi(&format!("NO:ORGNR:{signed}:"))),
    )
    .await
    .unwrap();
    assert_eq!(ok["aud"], "nhn:kjernejournal");
    refused(
        claims(
            &tb,
            &c,
            "nhn:kjernejournal/api",
            Some(multi(&format!("NO:ORGNR:{unsigned}:"))),
        )
        .await,
        "invalid_scope",
        "has not signed the terms of use of nhn:kjernejournal",
    );
    // An API without terms is fine for the same organisation.
    claims(
        &tb,
        &c,
        "nhn:testbed-api/read",
        Some(multi(&format!("NO:ORGNR:{unsigned}:"))),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn helseid_sample_organisations_work_unchanged() {
    let tb = Testbed::start().await;
    let c = tb.register(
        Tenancy::MultiTenant {
            supplier_orgnr: "313745392".into(),
        },
        &["nhn:test-public-samplecode/client-credentials"],
        TokenBinding::Dpop,
    );
    let t = claims(
        &tb,
        &c,
        "nhn:test-public-samplecode/client-credentials",
        Some(multi("NO:ORGNR:999977774:999977776")),
    )
    .await
    .unwrap();
    assert_eq!(
        t["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert_eq!(
        t["helseid://claims/client/claims/orgnr_supplier"],
        "313745392"
    );
}

#[tokio::test]
async fn journal_id_passes_through_and_bad_details_are_named() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let details = json!([{"type": "nhn:sfm:journal-id", "value": {"journal_id": "8079c363-59b0-4a06-8385-d547a75c4c32"}}]);
    let t = claims(&tb, &demo, "nhn:testbed-api/read", Some(details))
        .await
        .unwrap();
    assert_eq!(
        t["nhn:sfm:journal_id"],
        "8079c363-59b0-4a06-8385-d547a75c4c32"
    );
    refused(
        claims(
            &tb,
            &demo,
            "nhn:testbed-api/read",
            Some(json!({"type": "made-up"})),
        )
        .await,
        "invalid_request",
        "\"made-up\" is not supported",
    );
    refused(
        claims(
            &tb,
            &demo,
            "nhn:testbed-api/read",
            Some(multi("NO:ORGNR:12345")),
        )
        .await,
        "invalid_request",
        "12345",
    );
}

#[tokio::test]
async fn tillitsrammeverk_attestations_are_checked() {
    let tb = Testbed::start().await;
    let demo = tb.demo();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/testdata/tillitsrammeverk/client_example.json"
    ))
    .unwrap();
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let good = fixture["entry"].clone();
    let t = claims(&tb, &demo, "nhn:testbed-api/read", Some(good.clone()))
        .await
        .unwrap();
    assert_eq!(
        t["nhn:tillitsrammeverk:parameters"]["type"],
        "nhn:tillitsrammeverk:parameters"
    );
    let mut bad = good;
    bad["practitioner"]["authorization"]["system"] = json!("urn:oid:1.2.3");
    refused(
        claims(&tb, &demo, "nhn:testbed-api/read", Some(bad)).await,
        "invalid_authorization_details",
        "practitioner.authorization.system",
    );
}
