//! Test Token Service tests: `POST /ttt/v2/create-test-token-with-key` authenticates with
//! `X-Auth-Key`, mints the token the TTT request model describes with the STS's key, and
//! returns DPoP proofs that are valid or have exactly the asked-for defect.

use std::collections::BTreeSet;

use mock_sts::access_token::{self, TokenError};
use mock_sts::clock::Clock;
use mock_sts::ttt;
use protocol::dpop::{self, DpopError, Rules};
use protocol::jose::{JoseError, JwkError, PublicJwk};
use protocol::signing::SigningKey;
use protocol::ttt::{InvalidDPoPProofParameters as Defect, TttResponse};
use serde_json::{Value, json};
use synthpop::Population;

use crate::support::*;

const HTU: &str = "https://api.testbed.example/fhir/Patient";

async fn call(tb: &Testbed, key: Option<&str>, body: &str) -> (u16, TttResponse) {
    let mut req = tb
        .http
        .post(tb.url(ttt::PATH))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(k) = key {
        req = req.header("X-Auth-Key", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let parsed = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, parsed)
}

/// A successful call: the token and the proof.
async fn mint(tb: &Testbed, body: Value) -> (String, Option<String>) {
    let (status, r) = call(tb, Some(API_KEY), &body.to_string()).await;
    assert_eq!(status, 200, "{r:?}");
    assert!(!r.is_error);
    let s = r.success_response.unwrap();
    (s.access_token_jwt, s.dpop_proof)
}

/// A refused call: the error message.
async fn refused(tb: &Testbed, body: &str) -> String {
    let (status, r) = call(tb, Some(API_KEY), body).await;
    assert_eq!(status, 400, "{r:?}");
    assert!(r.is_error);
    assert!(r.success_response.is_none());
    r.error_response.unwrap().error_message
}

/// The synthetic population the harness seeds (support.rs: seed 7, 3 000 persons).
fn population() -> Population {
    Population::new(7, 3_000).unwrap()
}

async fn jwks(tb: &Testbed) -> jsonwebtoken::jwk::JwkSet {
    tb.http
        .get(tb.url("/.well-known/openid-configuration/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_auth_key_is_required_and_checked() {
    let tb = Testbed::start().await;
    let (status, r) = call(&tb, None, "{}").await;
    assert_eq!(status, 401);
    assert!(r.is_error);
    assert!(
        r.error_response
            .unwrap()
            .error_message
            .contains("X-Auth-Key header is missing")
    );

    let (status, r) = call(&tb, Some("not-the-key"), "{}").await;
    assert_eq!(status, 401);
    assert!(
        r.error_response
            .unwrap()
            .error_message
            .contains("does not hold this testbed's API key")
    );
    // The key is checked before the body is read.
    let (status, _) = call(&tb, Some("x"), "{").await;
    assert_eq!(status, 401);

    let (status, r) = call(&tb, Some(API_KEY), "{}").await;
    assert_eq!(status, 200);
    assert!(!r.is_error && r.error_response.is_none());
}

#[tokio::test]
async fn defaults_match_the_real_service_and_verify_with_the_published_jwks() {
    let tb = Testbed::start().await;
    // issuerEnvironment is accepted, but iss is always this STS's.
    let (token, proof) = mint(&tb, json!({ "issuerEnvironment": "Development" })).await;
    assert_eq!(proof, None);

    let header = header_of(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    let c = claims_of(&token);
    assert_eq!(c["iss"], tb.issuer);
    assert_eq!(c["aud"], "nhn:some:api");
    let iat = c["iat"].as_i64().unwrap();
    // The wall clock may tick between minting and reading it.
    let now = tb.clock.now();
    assert!((now - 1..=now).contains(&iat), "iat {iat}, now {now}");
    assert_eq!(c["exp"].as_i64().unwrap() - iat, 600);
    assert_eq!(c["nbf"], c["iat"]);
    assert_eq!(c["jti"].as_str().unwrap().len(), 32);
    assert!(c.get("cnf").is_none());

    // Signed with the STS key: an independent library verifies it with the JWKS.
    let set = jwks(&tb).await;
    let kid = header["kid"].as_str().unwrap();
    let jwk = set.find(kid).expect("kid is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["nhn:some:api"]);
    validation.set_issuer(&[&tb.issuer]);
    let data = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(data.claims["jti"], c["jti"]);
    // ... and so does the STS's own verifier.
    access_token::verify(&tb.sts, &token).unwrap();

    // Default client claims.
    assert_eq!(c["client_id"], ttt::DEFAULT_CLIENT_ID);
    assert_eq!(c["scope"], json!(["nhn:some:api/scope"]));
    assert_eq!(
        c["helseid://claims/client/claims/orgnr_parent"],
        mock_sts::seed::SAMPLE_PARENT
    );
    assert_eq!(c["client_amr"], "rsa_private_key");
    assert!(c["helseid://claims/client/client_name"].is_string());
    // Default user claims: a health worker of the synthetic population.
    let pid = c["helseid://claims/identity/pid"].as_str().unwrap();
    let person = population().by_pid(pid).expect("a synthetic person");
    assert_eq!(c["name"], person.name);
    assert_eq!(
        c["helseid://claims/hpr/hpr_number"],
        person.hpr.unwrap().hpr_number.to_string()
    );
    assert_eq!(c["helseid://claims/identity/security_level"], "4");
    assert_eq!(c["helseid://claims/identity/assurance_level"], "high");

    // A different audience, and the audit log.
    let (token, _) = mint(&tb, json!({ "audience": "nhn:kjernejournal" })).await;
    let c = claims_of(&token);
    assert_eq!(c["aud"], "nhn:kjernejournal");
    let entry = &tb.sts.store.audit_log(1).unwrap()[0];
    assert_eq!(entry.event, "ttt_token_issued");
    assert_eq!(entry.client_id.as_deref(), Some(ttt::DEFAULT_CLIENT_ID));
    assert_eq!(entry.detail["jti"], c["jti"]);
    assert_eq!(entry.detail["aud"], "nhn:kjernejournal");
}

#[tokio::test]
async fn client_claims_follow_the_parameters_and_the_generation_mode() {
    let tb = Testbed::start().await;
    let params = json!({
        "scope": ["nhn:kjernejournal/api", "nhn:kjernejournal/innlogging"],
        "clientId": "2e0c5b7e-4b5e-4a1e-9a55-0123456789ab",
        "clientName": "Acme EPJ",
        "orgnrParent": "999977774",
        "orgnrChild": "999977776",
        "orgnrSupplier": "313745392",
        "clientTenancy": true,
        "clientTenancyType": "MultiTenant",
        "authenticationMethodsReferences": ["private_key_jwt", "rsa_private_key"],
        "clientAuthenticationMethodsReferences": "private_key_jwt",
        "sfmJournalId": "8079c363-59b0-4a06-8385-d547a75c4c32",
        "jti": "my-own-jti",
        "cnfJkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    });
    let (token, _) = mint(
        &tb,
        json!({ "withoutDefaultClientClaims": true, "clientClaimsParameters": params }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(
        c["scope"],
        json!(["nhn:kjernejournal/api", "nhn:kjernejournal/innlogging"])
    );
    assert_eq!(c["client_id"], "2e0c5b7e-4b5e-4a1e-9a55-0123456789ab");
    assert_eq!(c["helseid://claims/client/client_name"], "Acme EPJ");
    assert_eq!(
        c["helseid://claims/client/claims/orgnr_parent"],
        "999977774"
    );
    assert_eq!(c["helseid://claims/client/claims/orgnr_child"], "999977776");
    assert_eq!(
        c["helseid://claims/client/claims/orgnr_supplier"],
        "313745392"
    );
    assert_eq!(
        c["helseid://claims/client/claims/client_tenancy"],
        "multi-tenant"
    );
    assert_eq!(
        c["client_amr"],
        json!(["private_key_jwt", "rsa_private_key"])
    );
    assert_eq!(c["helseid://claims/client/amr"], "private_key_jwt");
    assert_eq!(
        c["nhn:sfm:journal_id"],
        "8079c363-59b0-4a06-8385-d547a75c4c32"
    );
    assert_eq!(c["jti"], "my-own-jti");
    assert_eq!(
        c["cnf"]["jkt"],
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );

    // Only the non-empty values, no defaults: an empty clientName gives no claim.
    let (token, _) = mint(
        &tb,
        json!({
            "clientClaimsParametersGeneration": "GenerateOnlyFromNonEmptyParameterValues",
            "clientClaimsParameters": { "clientId": "only-me", "clientName": "", "clientTenancy": true, "clientTenancyType": 1 }
        }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["client_id"], "only-me");
    assert!(c.get("helseid://claims/client/client_name").is_none());
    assert!(c.get("scope").is_none());
    assert_eq!(
        c["helseid://claims/client/claims/client_tenancy"],
        "single-tenant"
    );

    // Only the defaults: the parameters are not used.
    let (token, _) = mint(
        &tb,
        json!({
            "clientClaimsParametersGeneration": 1,
            "clientClaimsParameters": { "clientId": "ignored" }
        }),
    )
    .await;
    assert_eq!(claims_of(&token)["client_id"], ttt::DEFAULT_CLIENT_ID);

    // None: no client claims at all, but the general claims remain.
    let (token, _) = mint(
        &tb,
        json!({ "clientClaimsParametersGeneration": "GenerateNone" }),
    )
    .await;
    let c = claims_of(&token);
    assert!(c.get("client_id").is_none() && c.get("scope").is_none());
    assert!(c.get("iss").is_some() && c.get("jti").is_some());

    // The legacy names (PascalCase, as the older TestTokenTool sends them) work too.
    let (token, _) = mint(
        &tb,
        json!({ "GeneralClaimsParametersGeneration": 2, "GeneralClaimsParameters": { "ClientId": "legacy", "Scope": ["a:b/c"] } }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(
        (&c["client_id"], &c["scope"]),
        (&json!("legacy"), &json!(["a:b/c"]))
    );
    let msg = refused(
        &tb,
        r#"{"clientClaimsParameters":{},"generalClaimsParameters":{}}"#,
    )
    .await;
    assert!(msg.contains("legacy name"), "{msg}");
}

#[tokio::test]
async fn user_claims_come_from_the_parameters_and_the_synthetic_registers() {
    let tb = Testbed::start().await;
    let pop = population();
    let doctor = pop.practitioners().next().unwrap();
    let layman = pop.persons().find(|p| p.hpr.is_none()).unwrap();

    // Plain parameter values.
    let (token, _) = mint(
        &tb,
        json!({
            "withoutDefaultUserClaims": true,
            "userClaimsParameters": {
                "pid": "05898597468", "hprNumber": "565501872", "name": "Julenissen",
                "securityLevel": "3", "assuranceLevel": "substantial", "network": "helsenett",
                "identityProvider": "idporten-oidc", "amr": "bankid", "subject": "sub-1",
                "sid": "sid-1", "pidPseudonym": "pseudo"
            }
        }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["helseid://claims/identity/pid"], "05898597468");
    assert_eq!(c["helseid://claims/hpr/hpr_number"], "565501872");
    assert_eq!(c["name"], "Julenissen");
    assert!(c.get("given_name").is_none());
    assert_eq!(c["helseid://claims/identity/security_level"], "3");
    assert_eq!(
        c["helseid://claims/identity/assurance_level"],
        "substantial"
    );
    assert_eq!(c["helseid://claims/identity/network"], "helsenett");
    assert_eq!(c["idp"], "idporten-oidc");
    assert_eq!(c["amr"], json!(["bankid"]));
    assert_eq!((&c["sub"], &c["sid"]), (&json!("sub-1"), &json!("sid-1")));
    assert_eq!(c["helseid://claims/identity/pid_pseudonym"], "pseudo");

    // Look-ups: Persontjenesten and HPR are the synthetic population.
    let (token, _) = mint(
        &tb,
        json!({
            "withoutDefaultUserClaims": true,
            "getPersonFromPersontjenesten": true,
            "getHprNumberFromHprregisteret": true,
            "setPidPseudonym": true,
            "setSubject": true,
            "userClaimsParameters": { "pid": doctor.pid.as_str() }
        }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["name"], doctor.name);
    assert_eq!(c["given_name"], doctor.given_name);
    assert_eq!(c["family_name"], doctor.family_name);
    assert_eq!(
        c["helseid://claims/hpr/hpr_number"],
        doctor.hpr.as_ref().unwrap().hpr_number.to_string()
    );
    let pseudonym = c["helseid://claims/identity/pid_pseudonym"]
        .as_str()
        .unwrap();
    assert_eq!(pseudonym.len(), 44, "base64 of 32 bytes");
    assert_ne!(pseudonym, doctor.pid.as_str());
    assert_ne!(c["sub"], c["helseid://claims/identity/pid_pseudonym"]);

    // onlySetNameForPerson: name only.
    let (token, _) = mint(
        &tb,
        json!({
            "getPersonFromPersontjenesten": true, "onlySetNameForPerson": true,
            "userClaimsParameters": { "pid": layman.pid.as_str() }
        }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["name"], layman.name);
    assert!(c.get("given_name").is_none() && c.get("family_name").is_none());

    // What the synthetic registers cannot answer, or what contradicts the look-up, is refused.
    let msg = refused(
        &tb,
        &json!({ "getPersonFromPersontjenesten": true, "userClaimsParameters": { "pid": "16858399649" } })
            .to_string(),
    )
    .await;
    assert!(
        msg.contains("16858399649") && msg.contains("synthetic population"),
        "{msg}"
    );
    let msg = refused(
        &tb,
        &json!({ "getHprNumberFromHprregisteret": true, "userClaimsParameters": { "pid": layman.pid.as_str() } })
            .to_string(),
    )
    .await;
    assert!(msg.contains("not health personnel"), "{msg}");
    let msg = refused(
        &tb,
        &json!({ "getPersonFromPersontjenesten": true, "userClaimsParameters": { "pid": doctor.pid.as_str(), "name": "X" } })
            .to_string(),
    )
    .await;
    assert!(msg.contains("userClaimsParameters.name"), "{msg}");
    let msg = refused(
        &tb,
        r#"{"withoutDefaultUserClaims":true,"setPidPseudonym":true}"#,
    )
    .await;
    assert!(msg.contains("setPidPseudonym needs a pid"), "{msg}");
    let msg = refused(&tb, r#"{"onlySetNameForPerson":true}"#).await;
    assert!(msg.contains("getPersonFromPersontjenesten"), "{msg}");
}

#[tokio::test]
async fn the_tillitsrammeverk_claim_is_built_from_parameters_and_token() {
    let tb = Testbed::start().await;
    let (token, _) = mint(
        &tb,
        json!({
            "createTillitsrammeverkClaims": true,
            "clientClaimsParameters": { "orgnrParent": "999977774", "orgnrChild": "999977776" },
            "tillitsrammeverkClaimsParameters": {
                "practitionerAuthorizationCode": "SP",
                "practitionerAuthorizationText": "Sykepleier",
                "careRelationshipPurposeOfUseCode": "COC",
                "careRelationshipDecisionRefId": "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B",
                "careRelationshipDecisionRefUserSelected": false,
                "dontSetPractitionerDepartment": true,
                "dontSetPatientsDepartment": true
            }
        }),
    )
    .await;
    let c = claims_of(&token);
    let t = &c["nhn:tillitsrammeverk:parameters"];
    assert_eq!(t["type"], "nhn:tillitsrammeverk:parameters");
    let p = &t["practitioner"];
    assert_eq!(
        p["identifier"]["id"], c["helseid://claims/identity/pid"],
        "the practitioner is the token's user"
    );
    assert_eq!(p["identifier"]["name"], c["name"]);
    assert_eq!(p["hpr_nr"]["id"], c["helseid://claims/hpr/hpr_number"]);
    assert_eq!(p["hpr_nr"]["system"], "urn:oid:2.16.578.1.12.4.1.4.4");
    assert_eq!(
        p["authorization"],
        json!({
            "code": "SP", "text": "Sykepleier",
            "system": "urn:oid:2.16.578.1.12.4.1.1.9060",
            "assigner": "https://www.helsedirektoratet.no/"
        })
    );
    assert_eq!(p["legal_entity"]["id"], "999977774");
    assert_eq!(p["legal_entity"]["name"], "GRANFJELLDAL KOMMUNE");
    assert_eq!(
        p["legal_entity"]["system"],
        "urn:oid:2.16.578.1.12.4.1.4.101"
    );
    assert_eq!(p["point_of_care"]["id"], "999977776");
    assert!(p.get("department").is_none());
    let care = &t["care_relationship"];
    assert_eq!(care["purpose_of_use"]["code"], "COC");
    assert_eq!(care["healthcare_service"]["code"], "S03");
    assert_eq!(
        care["decision_ref"],
        json!({ "id": "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B", "user_selected": false })
    );
    let patient = &t["patients"][0];
    assert_eq!(patient["point_of_care"]["id"], "999977776");
    assert!(patient.get("department").is_none());

    // Without the flag there is no such claim.
    let (token, _) = mint(&tb, json!({ "tillitsrammeverkClaimsParameters": {} })).await;
    assert!(
        claims_of(&token)
            .get("nhn:tillitsrammeverk:parameters")
            .is_none()
    );
}

#[tokio::test]
async fn api_specific_and_token_exchange_claims() {
    let tb = Testbed::start().await;
    let (token, _) = mint(
        &tb,
        json!({
            "apiSpecificClaims": [
                { "type": "nhn:some/claim", "value": "42" },
                { "type": "nhn:some/role", "value": "a" },
                { "type": "nhn:some/role", "value": "b" },
                { "type": "nhn:half-set", "value": "" }
            ],
            "createTokenExchangeClaims": true,
            "tokenExchangeParameters": {
                "issuer": "https://helseid-sts.test.nhn.no",
                "clientId": "exchanger",
                "orgnrParent": "999977774"
            }
        }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["nhn:some/claim"], "42");
    assert_eq!(c["nhn:some/role"], json!(["a", "b"]));
    assert!(
        c.get("nhn:half-set").is_none(),
        "both type and value are needed"
    );
    assert_eq!(
        c["act"],
        json!({
            "iss": "https://helseid-sts.test.nhn.no",
            "client_id": "exchanger",
            "helseid://claims/client/claims/orgnr_parent": "999977774"
        })
    );

    let (token, _) = mint(&tb, json!({ "createTokenExchangeClaims": true })).await;
    let act = &claims_of(&token)["act"];
    assert_eq!(act["iss"], tb.issuer);
    assert_eq!(act["client_id"], ttt::DEFAULT_ACTOR_CLIENT_ID);

    let msg = refused(&tb, r#"{"apiSpecificClaims":[{"type":"exp","value":"1"}]}"#).await;
    assert!(msg.contains("\"exp\""), "{msg}");
}

#[tokio::test]
async fn lifetime_typ_and_deliberately_invalid_tokens() {
    let tb = Testbed::start().await;
    let now = tb.clock.now();

    let (token, _) = mint(
        &tb,
        json!({ "expirationParameters": { "expirationTimeInDays": 2, "expirationTimeInSeconds": i32::MIN }, "headerParameters": { "typ": "jwt" } }),
    )
    .await;
    assert_eq!(header_of(&token)["typ"], "jwt");
    let c = claims_of(&token);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        2 * 86_400
    );

    let (token, _) = mint(
        &tb,
        json!({ "expirationParameters": { "setExpirationTimeAsExpired": true, "expirationTimeInSeconds": 300 } }),
    )
    .await;
    let c = claims_of(&token);
    assert_eq!(c["exp"].as_i64().unwrap(), now - ttt::EXPIRED_SINCE_SECS);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert!(matches!(
        access_token::verify(&tb.sts, &token),
        Err(TokenError::Expired(_))
    ));

    let (token, _) = mint(&tb, json!({ "setInvalidIssuer": true })).await;
    assert_eq!(claims_of(&token)["iss"], ttt::INVALID_ISSUER);
    assert!(matches!(
        access_token::verify(&tb.sts, &token),
        Err(TokenError::Issuer(_))
    ));

    let (token, _) = mint(&tb, json!({ "setInvalidAudience": true })).await;
    assert_eq!(claims_of(&token)["aud"], ttt::INVALID_AUDIENCE);

    let (token, _) = mint(&tb, json!({ "signJwtWithInvalidSigningKey": true })).await;
    let kid = header_of(&token)["kid"].as_str().unwrap().to_owned();
    assert!(jwks(&tb).await.find(&kid).is_none());
    assert!(matches!(
        access_token::verify(&tb.sts, &token),
        Err(TokenError::UnknownKey(_))
    ));

    let msg = refused(
        &tb,
        r#"{"expirationParameters":{"expirationTimeInSeconds":0}}"#,
    )
    .await;
    assert!(msg.contains("expirationTimeInSeconds is 0"), "{msg}");
}

/// The parts of a compact JWS.
fn parts(jwt: &str) -> (Value, Value) {
    (header_of(jwt), claims_of(jwt))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn a_dpop_token_and_its_proof_pass_an_apis_checks() {
    let tb = Testbed::start().await;
    let (token, proof) = mint(
        &tb,
        json!({
            "createDPoPTokenWithDPoPProof": true,
            "dPoPProofParameters": { "htmClaimValue": "GET", "htuClaimValue": HTU }
        }),
    )
    .await;
    let proof = proof.expect("a proof");
    let (header, claims) = parts(&proof);
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(keys(&header), keys(&json!({"alg":0,"jwk":0,"typ":0})));
    assert_eq!(
        keys(&claims),
        keys(&json!({"ath":0,"htm":0,"htu":0,"iat":0,"jti":0}))
    );
    let rules = Rules {
        htm: "GET",
        htu: HTU,
        now: tb.clock.now(),
        access_token: Some(&token),
    };
    let checked = dpop::validate(&proof, &rules).unwrap();
    let jkt = claims_of(&token)["cnf"]["jkt"].as_str().unwrap().to_owned();
    dpop::check_binding(&checked, &jkt).unwrap();
    // Another request's method or URL, or another token, is refused.
    assert!(matches!(
        dpop::validate(
            &proof,
            &Rules {
                htm: "POST",
                ..rules
            }
        ),
        Err(DpopError::Htm { .. })
    ));
    assert!(matches!(
        dpop::validate(
            &proof,
            &Rules {
                access_token: Some("other"),
                ..rules
            }
        ),
        Err(DpopError::Ath)
    ));

    // The caller's own key (RSA here) signs the proof and binds the token.
    let own = SigningKey::generate_rsa(2048, protocol::jose::Alg::PS256, "mine".into()).unwrap();
    let private = own.to_private_jwk().unwrap().to_string();
    let (token, proof) = mint(
        &tb,
        json!({
            "createDPoPTokenWithDPoPProof": true,
            "dPoPProofParameters": { "htmClaimValue": "POST", "htuClaimValue": HTU, "privateKeyForProofCreation": private }
        }),
    )
    .await;
    let proof = proof.unwrap();
    assert_eq!(header_of(&proof)["alg"], "PS256");
    let rules = Rules {
        htm: "POST",
        access_token: Some(&token),
        ..rules
    };
    let checked = dpop::validate(&proof, &rules).unwrap();
    assert_eq!(checked.jkt, own.public_jwk().thumbprint());
    dpop::check_binding(&checked, claims_of(&token)["cnf"]["jkt"].as_str().unwrap()).unwrap();

    // Or the caller makes its proofs itself and gives the public key for cnf.
    let public = own.public_jwk().to_json().to_string();
    let (token, proof) = mint(
        &tb,
        json!({ "clientClaimsParameters": { "cnfPublicKey": public } }),
    )
    .await;
    assert_eq!(proof, None);
    assert_eq!(
        claims_of(&token)["cnf"]["jkt"],
        own.public_jwk().thumbprint()
    );
}

#[tokio::test]
async fn each_invalid_dpop_option_yields_exactly_its_defect() {
    let tb = Testbed::start().await;
    let now = tb.clock.now();
    let offset = ttt::IAT_OFFSET_SECS;
    // (option, the header or claim it leaves out, the error an API's validator reports)
    let table: Vec<(Defect, Option<&str>, DpopError)> = vec![
        (
            Defect::DontSetHtuClaimValue,
            Some("htu"),
            DpopError::MissingClaim("htu"),
        ),
        (
            Defect::DontSetHtmClaimValue,
            Some("htm"),
            DpopError::MissingClaim("htm"),
        ),
        (
            Defect::SetIatValueInThePast,
            None,
            DpopError::TooOld {
                iat: now - offset,
                age: offset,
            },
        ),
        (
            Defect::SetIatValueInTheFuture,
            None,
            DpopError::InFuture {
                iat: now + offset,
                now,
            },
        ),
        (
            Defect::DontSetAthClaimValue,
            Some("ath"),
            DpopError::MissingClaim("ath"),
        ),
        (
            Defect::DontSetAlgHeader,
            Some("alg"),
            DpopError::Jose(JoseError::MissingAlg),
        ),
        (Defect::DontSetJwkHeader, Some("jwk"), DpopError::MissingJwk),
        (
            Defect::DontSetJtiClaim,
            Some("jti"),
            DpopError::MissingClaim("jti"),
        ),
        (
            Defect::SetAlgHeaderToASymmetricAlgorithm,
            None,
            DpopError::Jose(JoseError::AlgNotAllowed("HS256".into())),
        ),
        (
            Defect::SetPrivateKeyInJwkHeader,
            None,
            DpopError::Jwk(JwkError::PrivateMember("d".into())),
        ),
        (
            Defect::SetInvalidTypHeaderValue,
            None,
            DpopError::Typ("jwt".into()),
        ),
        (
            Defect::SetAnInvalidSignature,
            None,
            DpopError::Jose(JoseError::BadSignature("ES256".into())),
        ),
        (Defect::SetAnInvalidJktValueInToken, None, DpopError::Jkt),
    ];
    let covered: BTreeSet<&str> = table.iter().map(|(d, ..)| d.wire_name()).collect();
    let all: BTreeSet<&str> = Defect::ALL
        .iter()
        .filter(|d| **d != Defect::None)
        .map(|d| d.wire_name())
        .collect();
    assert_eq!(covered, all, "every option is in the table");

    let full: BTreeSet<String> = ["alg", "jwk", "typ", "ath", "htm", "htu", "iat", "jti"]
        .map(str::to_owned)
        .into();
    for (defect, left_out, expected) in table {
        // Numbers and names both select the option.
        let option = if defect.wire_number() % 2 == 0 {
            json!(defect.wire_name())
        } else {
            json!(defect.wire_number())
        };
        let (token, proof) = mint(
            &tb,
            json!({
                "createDPoPTokenWithDPoPProof": true,
                "dPoPProofParameters": {
                    "htmClaimValue": "GET", "htuClaimValue": HTU,
                    "invalidDPoPProofParameters": option
                }
            }),
        )
        .await;
        let proof = proof.unwrap_or_else(|| panic!("{defect:?}: no proof"));
        // Exactly the one member is missing; everything else is there.
        let (header, claims) = parts(&proof);
        let present: BTreeSet<String> = keys(&header).union(&keys(&claims)).cloned().collect();
        let mut wanted = full.clone();
        if let Some(member) = left_out {
            wanted.remove(member);
        }
        assert_eq!(present, wanted, "{defect:?}");

        let jkt = claims_of(&token)["cnf"]["jkt"].as_str().unwrap().to_owned();
        assert_eq!(
            jkt.len(),
            43,
            "{defect:?}: cnf.jkt is a well-formed thumbprint"
        );
        let rules = Rules {
            htm: "GET",
            htu: HTU,
            now,
            access_token: Some(&token),
        };
        let result = dpop::validate(&proof, &rules).and_then(|p| dpop::check_binding(&p, &jkt));
        assert_eq!(result, Err(expected), "{defect:?}");

        // The proof key is still the token's (except for the jkt defect itself).
        if defect != Defect::SetAnInvalidJktValueInToken
            && let Some(jwk) = header.get("jwk")
        {
            let public = PublicJwk::public_part(jwk.as_object().unwrap()).unwrap();
            assert_eq!(public.thumbprint(), jkt, "{defect:?}");
        }
    }

    // None is a valid proof.
    let (token, proof) = mint(
        &tb,
        json!({
            "createDPoPTokenWithDPoPProof": true,
            "dPoPProofParameters": { "htmClaimValue": "GET", "htuClaimValue": HTU, "invalidDPoPProofParameters": "None" }
        }),
    )
    .await;
    let rules = Rules {
        htm: "GET",
        htu: HTU,
        now,
        access_token: Some(&token),
    };
    dpop::validate(&proof.unwrap(), &rules).unwrap();
}

#[tokio::test]
async fn bad_json_and_unknown_fields_are_refused_naming_the_problem() {
    let tb = Testbed::start().await;
    let msg = refused(&tb, "{").await;
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = refused(&tb, "[]").await;
    assert!(msg.contains("must be a JSON object"), "{msg}");
    let msg = refused(&tb, r#"{"audeince":"nhn:a"}"#).await;
    assert!(msg.contains("unknown field `audeince`"), "{msg}");
    let msg = refused(&tb, r#"{"issuerEnvironment":"Prod"}"#).await;
    assert!(
        msg.contains("Prod") && msg.contains("IssuerEnvironment"),
        "{msg}"
    );
    let msg = refused(&tb, r#"{"headerParameters":{"typ":"dpop+jwt"}}"#).await;
    assert!(msg.contains("dpop+jwt"), "{msg}");
    let msg = refused(
        &tb,
        r#"{"expirationParameters":{"expirationTimeInSeconds":"soon"}}"#,
    )
    .await;
    assert!(msg.contains("soon"), "{msg}");
}

#[tokio::test]
async fn options_the_testbed_cannot_honour_are_refused() {
    let tb = Testbed::start().await;
    let dpop = |params: Value| {
        json!({ "createDPoPTokenWithDPoPProof": true, "dPoPProofParameters": params }).to_string()
    };
    // An Ed25519 proof key: the testbed signs with RSA and EC only.
    let okp = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#;
    let msg = refused(
        &tb,
        &dpop(json!({ "htmClaimValue": "GET", "htuClaimValue": HTU, "privateKeyForProofCreation": okp })),
    )
    .await;
    assert!(msg.contains("kty \"OKP\""), "{msg}");
    // A public key cannot sign.
    let public = SigningKey::generate_ec(protocol::jose::Alg::ES256, "k".into())
        .unwrap()
        .public_jwk()
        .to_json()
        .to_string();
    let msg = refused(
        &tb,
        &dpop(json!({ "htmClaimValue": "GET", "htuClaimValue": HTU, "privateKeyForProofCreation": public })),
    )
    .await;
    assert!(msg.contains("privateKeyForProofCreation"), "{msg}");
    // A defect but no proof.
    let msg = refused(
        &tb,
        r#"{"dPoPProofParameters":{"invalidDPoPProofParameters":"DontSetJtiClaim"}}"#,
    )
    .await;
    assert!(msg.contains("createDPoPTokenWithDPoPProof"), "{msg}");
    // A generated proof and the caller's own cnf.
    let msg = refused(
        &tb,
        &json!({
            "createDPoPTokenWithDPoPProof": true,
            "dPoPProofParameters": { "htmClaimValue": "GET", "htuClaimValue": HTU },
            "clientClaimsParameters": { "cnfJkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }
        })
        .to_string(),
    )
    .await;
    assert!(msg.contains("cnfJkt"), "{msg}");
    // The proof's target must be an RFC 9110 method and a URL without query.
    let msg = refused(&tb, &dpop(json!({ "htuClaimValue": HTU }))).await;
    assert!(msg.contains("htmClaimValue"), "{msg}");
    let msg = refused(
        &tb,
        &dpop(json!({ "htmClaimValue": "get", "htuClaimValue": HTU })),
    )
    .await;
    assert!(msg.contains("\"get\" is not an HTTP method"), "{msg}");
    let msg = refused(
        &tb,
        &dpop(json!({ "htmClaimValue": "GET", "htuClaimValue": format!("{HTU}?id=1") })),
    )
    .await;
    assert!(msg.contains("query"), "{msg}");
    let msg = refused(&tb, &dpop(json!({ "htmClaimValue": "GET" }))).await;
    assert!(msg.contains("htuClaimValue"), "{msg}");
    // Leaving htm out is fine when that is the defect asked for.
    mint(
        &tb,
        json!({ "createDPoPTokenWithDPoPProof": true, "dPoPProofParameters": { "htuClaimValue": HTU, "invalidDPoPProofParameters": "DontSetHtmClaimValue" } }),
    )
    .await;
}
