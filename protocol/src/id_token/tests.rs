use serde_json::{Map, Value, json};

use super::*;
use crate::jose::{Alg, b64_encode, token_hash};
use crate::signing::SigningKey;

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://sts.example";
const CLIENT: &str = "client-1";
const NONCE: &str = "n-0S6_WzA2Mj";

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        now: NOW,
    }
}

fn key(kid: &str) -> SigningKey {
    SigningKey::generate_ec(Alg::ES256, kid.into()).unwrap()
}

fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public_jwk().to_json()).collect::<Vec<_>>() })
}

/// A good ID token's claims with `changes` applied (null removes).
fn claims(changes: Value) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": CLIENT, "nonce": NONCE, "sub": "subject-1",
        "iat": NOW, "exp": NOW + 300,
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn signed(key: &SigningKey, changes: Value) -> String {
    key.sign_jwt(Map::new(), &claims(changes)).unwrap()
}

/// The claims map of a good token with `changes`, for the claim steps.
fn map(changes: Value) -> Map<String, Value> {
    claims(changes).as_object().unwrap().clone()
}

/// A token with any header, the signature whatever bytes are given.
fn forged(header: Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64_encode(header.to_string().as_bytes()),
        b64_encode(claims(json!({})).to_string().as_bytes()),
        b64_encode(signature)
    )
}

fn signature_error(token: &str, jwks: &Value) -> SignatureError {
    match check_signature(&parse(token).unwrap(), jwks) {
        Err(IdTokenError::Signature(e)) => e,
        other => panic!("expected a signature error, got {other:?}"),
    }
}

#[test]
fn a_good_token_passes_every_step_and_gives_its_claims() {
    let k = key("k1");
    let claims = validate(&signed(&k, json!({})), &jwks(&[&k]), &expected()).unwrap();
    assert_eq!(claims["sub"], "subject-1");
    assert_eq!(claims["nonce"], NONCE);
}

#[test]
fn step_1_refuses_what_is_not_a_compact_jws() {
    assert_eq!(
        parse("a.b").unwrap_err(),
        IdTokenError::Malformed(JoseError::Parts(2))
    );
    let k = key("k1");
    // A JWE has five parts.
    assert!(matches!(
        validate("a.b.c.d.e", &jwks(&[&k]), &expected()),
        Err(IdTokenError::Malformed(JoseError::Parts(5)))
    ));
    assert!(parse(&signed(&k, json!({}))).is_ok());
}

#[test]
fn signature_by_the_key_the_kid_names_passes() {
    let (k1, k2) = (key("k1"), key("k2"));
    let by = check_signature(&parse(&signed(&k2, json!({}))).unwrap(), &jwks(&[&k1, &k2]));
    assert_eq!(
        by,
        Ok(SignedBy {
            alg: Alg::ES256,
            kid: Some("k2".into())
        })
    );
}

#[test]
fn alg_none_and_macs_are_refused_before_any_key_is_looked_up() {
    let k = key("k1");
    let none = forged(json!({"alg": "none", "kid": "k1"}), b"");
    assert_eq!(
        signature_error(&none, &jwks(&[&k])),
        SignatureError::Alg(JoseError::AlgNotAllowed("none".into()))
    );
    let hs = forged(json!({"alg": "HS256", "kid": "k1"}), &[0; 32]);
    assert_eq!(
        signature_error(&hs, &jwks(&[&k])),
        SignatureError::Alg(JoseError::AlgNotAllowed("HS256".into()))
    );
    let no_alg = forged(json!({"kid": "k1"}), &[0; 64]);
    assert_eq!(
        signature_error(&no_alg, &jwks(&[&k])),
        SignatureError::Alg(JoseError::MissingAlg)
    );
}

#[test]
fn a_kid_not_in_the_jwks_is_named() {
    let (k1, k2) = (key("k1"), key("k2"));
    let e = signature_error(&signed(&k2, json!({})), &jwks(&[&k1]));
    assert_eq!(e, SignatureError::UnknownKid("k2".into()));
    assert_eq!(
        e.to_string(),
        "the ID token's kid \"k2\" is not in the issuer's JWKS"
    );
    assert_eq!(
        signature_error(&signed(&k1, json!({})), &json!({})),
        SignatureError::UnknownKid("k1".into())
    );
}

#[test]
fn without_a_kid_only_a_jwks_of_one_key_is_used() {
    let (k1, k2) = (key("k1"), key("k2"));
    let mut header = Map::new();
    header.insert("kid".into(), Value::Null);
    let token = k1.sign_jwt(header, &claims(json!({}))).unwrap();
    assert_eq!(
        check_signature(&parse(&token).unwrap(), &jwks(&[&k1])).map(|s| s.kid),
        Ok(Some("k1".into()))
    );
    assert_eq!(
        signature_error(&token, &jwks(&[&k1, &k2])),
        SignatureError::NoKid(2)
    );
}

#[test]
fn a_signature_by_another_key_or_over_other_claims_does_not_verify() {
    let (real, impostor) = (key("k1"), key("k1"));
    let e = signature_error(&signed(&impostor, json!({})), &jwks(&[&real]));
    assert_eq!(
        e,
        SignatureError::BadSignature {
            kid: Some("k1".into()),
            alg: Alg::ES256
        }
    );
    assert_eq!(
        e.to_string(),
        "the ID token's ES256 signature does not verify with the issuer's JWKS key \"k1\""
    );
    let good = signed(&real, json!({}));
    let (head, rest) = good.split_once('.').unwrap();
    let sig = rest.split_once('.').unwrap().1;
    let other = b64_encode(
        claims(json!({"sub": "someone-else"}))
            .to_string()
            .as_bytes(),
    );
    let tampered = format!("{head}.{other}.{sig}");
    assert!(matches!(
        signature_error(&tampered, &jwks(&[&real])),
        SignatureError::BadSignature { .. }
    ));
}

#[test]
fn a_key_that_cannot_verify_the_alg_is_named() {
    let p256 = key("k1");
    let p384 = SigningKey::generate_ec(Alg::ES384, "k1".into()).unwrap();
    let e = signature_error(&signed(&p384, json!({})), &jwks(&[&p256]));
    assert_eq!(
        e,
        SignatureError::KeyAlgMismatch {
            kid: Some("k1".into()),
            alg: Alg::ES384,
            kty: "EC"
        }
    );
}

#[test]
fn a_short_rsa_key_is_reported_as_short_not_as_missing() {
    let k = key("k1");
    let mut n = vec![0xC5_u8; 128];
    n[127] = 0x01;
    let short = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": b64_encode(&n), "e": "AQAB"}]});
    let e = signature_error(&signed(&k, json!({})), &short);
    assert_eq!(
        e,
        SignatureError::UnusableKey {
            kid: Some("k1".into()),
            error: JwkError::RsaTooSmall(1024)
        }
    );
    assert_eq!(
        e.to_string(),
        "the issuer's JWKS key \"k1\" has an RSA modulus of 1024 bits; at least 2048 are required"
    );
}

#[test]
fn step_2_iss_must_be_exactly_the_issuer() {
    assert_eq!(check_issuer(&map(json!({})), ISSUER), Ok(()));
    for (changes, shown) in [
        (
            json!({"iss": "https://other.example"}),
            "\"https://other.example\"",
        ),
        (
            json!({"iss": format!("{ISSUER}/")}),
            "\"https://sts.example/\"",
        ),
        (json!({"iss": 7}), "7"),
        (json!({"iss": null}), "missing"),
    ] {
        let e = check_issuer(&map(changes), ISSUER).unwrap_err();
        assert!(matches!(e, IdTokenError::Issuer { .. }));
        assert_eq!(
            e.to_string(),
            format!("iss is {shown}; it must be the issuer \"{ISSUER}\"")
        );
    }
}

#[test]
fn step_3_aud_must_contain_the_client() {
    assert_eq!(check_audience(&map(json!({})), CLIENT), Ok(()));
    assert_eq!(
        check_audience(&map(json!({"aud": ["api", CLIENT]})), CLIENT),
        Ok(())
    );
    let e = check_audience(&map(json!({"aud": ["api", "other"]})), CLIENT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "aud is [\"api\",\"other\"]; it must name the client \"client-1\""
    );
    assert!(matches!(
        check_audience(&map(json!({"aud": null})), CLIENT),
        Err(IdTokenError::Audience { got: None, .. })
    ));
}

#[test]
fn steps_4_and_5_azp_is_the_client_and_required_with_several_audiences() {
    assert_eq!(check_authorized_party(&map(json!({})), CLIENT), Ok(()));
    assert_eq!(
        check_authorized_party(&map(json!({"aud": ["api", CLIENT], "azp": CLIENT})), CLIENT),
        Ok(())
    );
    let e = check_authorized_party(&map(json!({"aud": ["api", CLIENT]})), CLIENT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "aud names 2 audiences but there is no azp; it must be the client \"client-1\""
    );
    let e = check_authorized_party(&map(json!({"aud": ["api", CLIENT], "azp": "api"})), CLIENT)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "azp is \"api\"; it must be the client \"client-1\""
    );
    // An azp is checked with one audience too (step 5).
    assert!(check_authorized_party(&map(json!({"azp": "api"})), CLIENT).is_err());
}

#[test]
fn step_11_nonce_must_be_the_one_sent() {
    assert_eq!(check_nonce(&map(json!({})), NONCE), Ok(()));
    let e = check_nonce(&map(json!({"nonce": "other"})), NONCE).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("nonce is \"other\"; the authorization request sent \"{NONCE}\"")
    );
    let e = check_nonce(&map(json!({"nonce": null})), NONCE).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("nonce is missing; the authorization request sent \"{NONCE}\"")
    );
    // A request that sent no nonce has nothing to correlate, whatever the token says.
    assert_eq!(check_nonce(&map(json!({"nonce": "other"})), ""), Ok(()));
    assert_eq!(check_nonce(&map(json!({"nonce": null})), ""), Ok(()));
}

#[test]
fn step_9_exp_must_be_present_and_not_passed_beyond_the_leeway() {
    assert_eq!(check_expiry(&map(json!({})), NOW), Ok(()));
    let just = map(json!({"exp": NOW - LEEWAY_SECS + 1}));
    assert_eq!(check_expiry(&just, NOW), Ok(()));
    let e = check_expiry(&map(json!({"exp": NOW - LEEWAY_SECS})), NOW).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the ID token expired at {}, 60 s ago (now {NOW}, 60 s leeway)",
            NOW - 60
        )
    );
    assert_eq!(
        check_expiry(&map(json!({"exp": null})), NOW)
            .unwrap_err()
            .to_string(),
        "exp is missing; an ID token must say when it expires"
    );
    // OpenID Connect makes exp a JSON number; a string of digits is not one.
    assert_eq!(
        check_expiry(&map(json!({"exp": (NOW + 300).to_string()})), NOW)
            .unwrap_err()
            .to_string(),
        format!("exp is \"{}\", not a number of seconds", NOW + 300)
    );
}

#[test]
fn step_10_iat_must_be_present_and_not_in_the_future_beyond_the_leeway() {
    assert_eq!(check_issued_at(&map(json!({})), NOW), Ok(()));
    let edge = map(json!({"iat": NOW + LEEWAY_SECS}));
    assert_eq!(check_issued_at(&edge, NOW), Ok(()));
    assert_eq!(
        check_issued_at(&map(json!({"iat": NOW - 86_400})), NOW),
        Ok(())
    );
    let e = check_issued_at(&map(json!({"iat": NOW + LEEWAY_SECS + 1})), NOW).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "iat {} is 61 s in the future (now {NOW}, 60 s leeway)",
            NOW + 61
        )
    );
    assert!(matches!(
        check_issued_at(&map(json!({"iat": null})), NOW),
        Err(IdTokenError::IssuedAt { iat: None, .. })
    ));
}

#[test]
fn sub_must_be_a_non_empty_string() {
    assert_eq!(check_subject(&map(json!({}))), Ok(()));
    for (changes, shown) in [
        (json!({"sub": null}), "missing"),
        (json!({"sub": ""}), "\"\""),
        (json!({"sub": 42}), "42"),
    ] {
        assert_eq!(
            check_subject(&map(changes)).unwrap_err().to_string(),
            format!("sub is {shown}; an ID token must name its subject with a non-empty string")
        );
    }
}

/// Whether an error is the refusal of one particular step.
type IsStep = fn(&IdTokenError) -> bool;

#[test]
fn validate_runs_the_steps_and_stops_at_the_first_refusal() {
    let k = key("k1");
    let set = jwks(&[&k]);
    let steps: [(Value, IsStep); 7] = [
        (json!({"iss": "x"}), |e| {
            matches!(e, IdTokenError::Issuer { .. })
        }),
        (json!({"aud": "x"}), |e| {
            matches!(e, IdTokenError::Audience { .. })
        }),
        (json!({"azp": "x"}), |e| {
            matches!(e, IdTokenError::AuthorizedParty { .. })
        }),
        (json!({"nonce": "x"}), |e| {
            matches!(e, IdTokenError::Nonce { .. })
        }),
        (json!({"exp": NOW - 3600}), |e| {
            matches!(e, IdTokenError::Expired { .. })
        }),
        (json!({"iat": NOW + 3600}), |e| {
            matches!(e, IdTokenError::IssuedAt { .. })
        }),
        (json!({"sub": null}), |e| {
            matches!(e, IdTokenError::Subject { .. })
        }),
    ];
    for (changes, is_the_step) in steps {
        let e = validate(&signed(&k, changes.clone()), &set, &expected()).unwrap_err();
        assert!(is_the_step(&e), "{changes}: {e}");
    }
    // The signature is judged first: a forged token's claims are not.
    let forged = forged(json!({"alg": "none"}), b"");
    assert!(matches!(
        validate(&forged, &set, &expected()),
        Err(IdTokenError::Signature(SignatureError::Alg(_)))
    ));
}

#[test]
fn at_hash_must_match_the_access_token_when_present() {
    let k = key("k1");
    let good = token_hash(Alg::ES256, "the-access-token");
    let token = signed(&k, json!({"at_hash": good}));
    assert_eq!(check_at_hash(&token, "the-access-token"), Ok(()));
    let e = check_at_hash(&token, "another-token").unwrap_err();
    assert!(matches!(e, IdTokenError::AtHash { .. }));
    assert!(
        e.to_string()
            .starts_with(&format!("at_hash is \"{good}\";"))
    );
    assert!(check_at_hash(&signed(&k, json!({"at_hash": 5})), "x").is_err());
    // No at_hash: nothing to compare (it is optional in the code flow).
    assert_eq!(check_at_hash(&signed(&k, json!({})), "x"), Ok(()));
}

#[test]
fn messages_show_values_as_json_never_as_rust_debug() {
    let k = key("k1");
    let errors = [
        check_issuer(&map(json!({"iss": null})), ISSUER),
        check_nonce(&map(json!({"nonce": "x"})), NONCE),
        check_audience(&map(json!({"aud": ["a"]})), CLIENT),
        check_expiry(&map(json!({"exp": "soon"})), NOW),
        check_subject(&map(json!({"sub": {"a": 1}}))),
        validate(&signed(&key("k9"), json!({})), &jwks(&[&k]), &expected()).map(|_| ()),
    ];
    for e in errors {
        let text = e.unwrap_err().to_string();
        for debug in ["Some(", "None", "String(", "Number(", "Object("] {
            assert!(!text.contains(debug), "{text}");
        }
    }
}
