use serde_json::{Map, Value, json};

use super::*;
use crate::jose::b64_encode;
use crate::signing::SigningKey;

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://sts.example";

fn audiences() -> Vec<String> {
    vec![ISSUER.into(), format!("{ISSUER}/connect/token")]
}

fn key() -> SigningKey {
    SigningKey::generate_ec(Alg::ES256, "kid-1".into()).unwrap()
}

fn registered(key: &SigningKey) -> Vec<RegisteredKey> {
    vec![RegisteredKey {
        jwk: key.public_jwk().clone(),
        expires_at: None,
    }]
}

fn claims() -> Value {
    json!({"iss": "c1", "sub": "c1", "aud": ISSUER, "iat": NOW, "nbf": NOW, "exp": NOW + 30, "jti": "j1"})
}

fn sign(key: &SigningKey, header: Map<String, Value>, claims: &Value) -> String {
    key.sign_jwt(header, claims).unwrap()
}

fn check(token: &str, key: &SigningKey) -> Result<ClientAssertion, AssertionError> {
    let aud = audiences();
    validate(
        token,
        &Rules {
            client_id: Some("c1"),
            audiences: &aud,
            now: NOW,
        },
        &registered(key),
    )
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_good_assertion_passes_and_reports_jti_and_details() {
    let k = key();
    let mut c = claims();
    c["assertion_details"] = json!({"type": "helseid_authorization"});
    let a = check(&sign(&k, Map::new(), &c), &k).unwrap();
    assert_eq!(a.client_id, "c1");
    assert_eq!(a.jti, "j1");
    assert_eq!(a.exp, NOW + 30);
    assert_eq!(a.kid.as_deref(), Some("kid-1"));
    assert_eq!(a.details.unwrap()["type"], "helseid_authorization");
}

#[test]
fn built_assertions_pass() {
    let k = key();
    let token = build(
        &k,
        &AssertionRequest {
            client_id: "c1",
            audience: &format!("{ISSUER}/connect/token"),
            now: NOW,
            lifetime: 60,
            details: None,
        },
    )
    .unwrap();
    check(&token, &k).unwrap();
}

#[test]
fn accepted_audiences_include_the_trailing_slash_form_and_arrays() {
    let k = key();
    for aud in [json!(format!("{ISSUER}/")), json!(["x", ISSUER])] {
        check(&sign(&k, Map::new(), &with(json!({"aud": aud}))), &k).unwrap();
    }
}

#[test]
fn claim_rules_refuse() {
    let k = key();
    let cases = [
        (json!({"iss": "other"}), "iss \"other\" is not its sub"),
        (json!({"iss": "c2", "sub": "c2"}), "names client_id \"c1\""),
        (
            json!({"aud": "https://elsewhere"}),
            "aud \"https://elsewhere\" is not accepted",
        ),
        (json!({"aud": 5}), "aud has the wrong type"),
        (json!({"aud": null}), "lacks the aud"),
        (json!({"exp": null}), "lacks the exp"),
        (json!({"exp": NOW - 10}), "expired"),
        (json!({"exp": NOW + 300}), "300 s ahead"),
        (json!({"nbf": NOW + 30}), "not valid before"),
        (json!({"iat": NOW + 30}), "in the future"),
        (json!({"iat": NOW - 500}), "500 s old"),
        (json!({"jti": null}), "lacks the jti"),
        (json!({"jti": ""}), "lacks the jti"),
        (json!({"exp": "soon"}), "exp has the wrong type"),
    ];
    for (change, needle) in cases {
        let err = check(&sign(&k, Map::new(), &with(change.clone())), &k)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{change}: {err}");
    }
}

#[test]
fn iat_as_a_string_passes_as_in_helseids_example() {
    let k = key();
    check(
        &sign(&k, Map::new(), &with(json!({"iat": NOW.to_string()}))),
        &k,
    )
    .unwrap();
}

#[test]
fn typ_rules() {
    let k = key();
    for typ in [
        Some("client-authentication+jwt"),
        Some("JWT"),
        Some("jwt"),
        None,
    ] {
        let mut header = Map::new();
        if let Some(t) = typ {
            header.insert("typ".into(), t.into());
        }
        check(&sign(&k, header, &claims()), &k).unwrap();
    }
    for typ in ["dpop+jwt", "at+jwt", ""] {
        let mut header = Map::new();
        header.insert("typ".into(), typ.into());
        let err = check(&sign(&k, header, &claims()), &k).unwrap_err();
        assert_eq!(err, AssertionError::Typ(typ.into()));
    }
}

#[test]
fn key_rules() {
    let k = key();
    let stranger = SigningKey::generate_ec(Alg::ES256, "kid-1".into()).unwrap();
    // Same kid, different key.
    let err = check(&sign(&stranger, Map::new(), &claims()), &k).unwrap_err();
    assert_eq!(err, AssertionError::NoKeyVerifies);
    // Unknown kid.
    let mut header = Map::new();
    header.insert("kid".into(), "nope".into());
    let err = check(&sign(&k, header, &claims()), &k).unwrap_err();
    assert_eq!(err, AssertionError::UnknownKid("nope".into()));
    // No kid: every registered key is tried.
    let mut header = Map::new();
    header.insert("kid".into(), Value::Null);
    check(&sign(&k, header, &claims()), &k).unwrap();
    // Expired key.
    let aud = audiences();
    let rules = Rules {
        client_id: None,
        audiences: &aud,
        now: NOW,
    };
    let keys = vec![RegisteredKey {
        jwk: k.public_jwk().clone(),
        expires_at: Some(NOW - 1),
    }];
    let err = validate(&sign(&k, Map::new(), &claims()), &rules, &keys).unwrap_err();
    assert_eq!(
        err,
        AssertionError::KeyExpired {
            kid: "kid-1".into(),
            expired_at: NOW - 1
        }
    );
    assert_eq!(
        validate(&sign(&k, Map::new(), &claims()), &rules, &[]).unwrap_err(),
        AssertionError::NoKeys
    );
}

#[test]
fn symmetric_and_unsigned_assertions_are_refused() {
    let k = key();
    for alg in ["HS256", "none"] {
        let header = b64_encode(json!({"alg": alg}).to_string().as_bytes());
        let body = b64_encode(claims().to_string().as_bytes());
        let token = format!("{header}.{body}.c2ln");
        let err = check(&token, &k).unwrap_err();
        assert_eq!(
            err,
            AssertionError::Jose(JoseError::AlgNotAllowed(alg.into()))
        );
    }
}

#[test]
fn claimed_client_reads_sub() {
    let k = key();
    assert_eq!(
        claimed_client(&sign(&k, Map::new(), &claims())).unwrap(),
        "c1"
    );
    assert!(claimed_client("x.y").is_err());
}
