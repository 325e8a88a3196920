use serde_json::{Map, Value, json};

use super::*;
use crate::jose::{Alg, b64_encode};
use crate::signing::SigningKey;

const NOW: i64 = 1_800_000_000;
const HTU: &str = "https://sts.example/connect/token";

fn rules() -> Rules<'static> {
    Rules {
        htm: "POST",
        htu: HTU,
        now: NOW,
        access_token: None,
    }
}

fn key() -> SigningKey {
    SigningKey::generate_ec(Alg::ES256, "k".into()).unwrap()
}

/// A proof with `header` and `claims` changes applied (null removes).
fn proof(key: &SigningKey, header_changes: Value, claim_changes: Value) -> String {
    let mut header = Map::new();
    header.insert("typ".into(), "dpop+jwt".into());
    let mut jwk = key.public_jwk().to_json();
    jwk.as_object_mut().unwrap().remove("kid");
    header.insert("jwk".into(), jwk);
    header.insert("kid".into(), Value::Null);
    for (k, v) in header_changes.as_object().unwrap() {
        if v.is_null() {
            header.remove(k);
        } else {
            header.insert(k.clone(), v.clone());
        }
    }
    let mut claims = json!({"jti": "p1", "htm": "POST", "htu": HTU, "iat": NOW, "nonce": "n1"});
    for (k, v) in claim_changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    key.sign_jwt(header, &claims).unwrap()
}

#[test]
fn a_good_proof_passes() {
    let k = key();
    let p = validate(&proof(&k, json!({}), json!({})), &rules()).unwrap();
    assert_eq!(p.jkt, k.public_jwk().thumbprint());
    assert_eq!(p.jti, "p1");
    assert_eq!(p.nonce.as_deref(), Some("n1"));
    check_binding(&p, &k.public_jwk().thumbprint()).unwrap();
    assert_eq!(check_binding(&p, "other"), Err(DpopError::Jkt));
}

#[test]
fn built_proofs_pass_for_every_algorithm() {
    for alg in Alg::ALL {
        let k = if alg.is_rsa() {
            SigningKey::generate_rsa(2048, alg, "r".into()).unwrap()
        } else {
            SigningKey::generate_ec(alg, "e".into()).unwrap()
        };
        let token = build_proof(&k, "POST", HTU, NOW, Some("n"), None).unwrap();
        let p = validate(&token, &rules()).unwrap();
        assert_eq!(p.alg, alg);
    }
}

#[test]
fn helseids_escaped_typ_and_extra_kid_pass() {
    let k = key();
    // `dpop\u002Bjwt` in the raw header, as in HelseID's documentation example.
    let token = proof(&k, json!({"kid": "B427721E"}), json!({"nonce": ""}));
    let parts: Vec<&str> = token.split('.').collect();
    let header = String::from_utf8(crate::jose::b64_decode(parts[0]).unwrap()).unwrap();
    assert!(header.contains("dpop+jwt"));
    let p = validate(&token, &rules()).unwrap();
    assert_eq!(p.nonce, None, "an empty nonce is no nonce");
    let escaped = header.replace("dpop+jwt", "dpop\\u002Bjwt");
    let reheadered = format!("{}.{}", b64_encode(escaped.as_bytes()), parts[1]);
    let sig = k.sign_raw(reheadered.as_bytes()).unwrap();
    let token = format!("{reheadered}.{}", b64_encode(&sig));
    validate(&token, &rules()).unwrap();
}

#[test]
fn header_rules_refuse() {
    let k = key();
    let private = k.to_private_jwk().unwrap();
    let cases = [
        (json!({"typ": "JWT"}), "typ \"JWT\""),
        (json!({"typ": null}), "lacks the typ"),
        (json!({"jwk": null}), "lacks the jwk"),
        (json!({"jwk": private}), "private member \"d\""),
        (
            json!({"jwk": {"kty": "oct", "k": "AAAA"}}),
            "private member",
        ),
    ];
    for (change, needle) in cases {
        let err = validate(&proof(&k, change.clone(), json!({})), &rules())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{change}: {err}");
    }
    // jwk of another key: the signature cannot verify.
    let other = key();
    let jwk = other.public_jwk().to_json();
    let err = validate(&proof(&k, json!({"jwk": jwk}), json!({})), &rules()).unwrap_err();
    assert!(
        matches!(err, DpopError::Jose(JoseError::BadSignature(_))),
        "{err}"
    );
    // Symmetric alg.
    let header = b64_encode(
        json!({"typ": "dpop+jwt", "alg": "HS256"})
            .to_string()
            .as_bytes(),
    );
    let err = validate(&format!("{header}.e30.c2ln"), &rules()).unwrap_err();
    assert_eq!(
        err,
        DpopError::Jose(JoseError::AlgNotAllowed("HS256".into()))
    );
}

#[test]
fn claim_rules_refuse() {
    let k = key();
    let cases = [
        (json!({"jti": null}), "lacks the jti"),
        (json!({"htm": null}), "lacks the htm"),
        (json!({"htm": "GET"}), "htm \"GET\""),
        (json!({"htu": null}), "lacks the htu"),
        (
            json!({"htu": "https://sts.example/connect/par"}),
            "htu \"https://sts.example/connect/par\"",
        ),
        (
            json!({"htu": "https://evil.example/connect/token"}),
            "does not match the request URL",
        ),
        (json!({"iat": null}), "lacks the iat"),
        (json!({"iat": NOW - 600}), "600 s old"),
        (json!({"iat": NOW + 60}), "in the future"),
        (json!({"htm": 5}), "htm has the wrong type"),
    ];
    for (change, needle) in cases {
        let err = validate(&proof(&k, json!({}), change.clone()), &rules())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{change}: {err}");
    }
}

#[test]
fn htu_is_compared_without_query_and_with_normalised_host() {
    let k = key();
    for htu in [
        "https://STS.example/connect/token",
        "https://sts.example:443/connect/token",
        "https://sts.example/connect/token?x=1",
    ] {
        validate(&proof(&k, json!({}), json!({"htu": htu})), &rules()).unwrap();
    }
    // Path case matters.
    assert!(
        validate(
            &proof(
                &k,
                json!({}),
                json!({"htu": "https://sts.example/Connect/token"})
            ),
            &rules()
        )
        .is_err()
    );
}

#[test]
fn ath_binds_the_proof_to_the_access_token() {
    let k = key();
    let token = "header.payload.signature";
    let with_token = Rules {
        access_token: Some(token),
        ..rules()
    };
    let good = build_proof(&k, "POST", HTU, NOW, None, Some(token)).unwrap();
    validate(&good, &with_token).unwrap();
    let other = build_proof(&k, "POST", HTU, NOW, None, Some("another")).unwrap();
    assert_eq!(validate(&other, &with_token).unwrap_err(), DpopError::Ath);
    let none = build_proof(&k, "POST", HTU, NOW, None, None).unwrap();
    assert_eq!(
        validate(&none, &with_token).unwrap_err(),
        DpopError::MissingClaim("ath")
    );
}

#[test]
fn policy_sets_the_window_and_each_check() {
    let k = key();
    let token = "header.payload.signature";
    let with_token = Rules {
        access_token: Some(token),
        ..rules()
    };
    // A window of ±90 s (the reference API's 60 s plus 30 s leeway).
    let wide = Policy::window(90, 90);
    let old = build_proof(&k, "POST", HTU, NOW - 90, None, Some(token)).unwrap();
    validate_with(&old, &with_token, &wide).unwrap();
    assert!(matches!(
        validate(&old, &with_token).unwrap_err(),
        DpopError::TooOld { age: 90, .. }
    ));
    let future = build_proof(&k, "POST", HTU, NOW + 90, None, Some(token)).unwrap();
    validate_with(&future, &with_token, &wide).unwrap();
    let too_old = build_proof(&k, "POST", HTU, NOW - 91, None, Some(token)).unwrap();
    assert!(validate_with(&too_old, &with_token, &wide).is_err());

    // Each switch turns off exactly its own check.
    let cases = [
        (
            build_proof(&k, "GET", HTU, NOW, None, Some(token)).unwrap(),
            Policy {
                check_htm: false,
                ..Policy::STRICT
            },
        ),
        (
            build_proof(&k, "POST", "https://other/x", NOW, None, Some(token)).unwrap(),
            Policy {
                check_htu: false,
                ..Policy::STRICT
            },
        ),
        (
            build_proof(&k, "POST", HTU, NOW - 3600, None, Some(token)).unwrap(),
            Policy {
                check_iat: false,
                ..Policy::STRICT
            },
        ),
        (
            build_proof(&k, "POST", HTU, NOW, None, Some("another")).unwrap(),
            Policy {
                check_ath: false,
                ..Policy::STRICT
            },
        ),
    ];
    for (proof, lax) in cases {
        assert!(validate(&proof, &with_token).is_err());
        validate_with(&proof, &with_token, &lax).unwrap();
        // The other checks stay on: the same proof with a wrong method fails.
        if lax.check_htm {
            let wrong = Rules {
                htm: "DELETE",
                ..with_token
            };
            assert!(validate_with(&proof, &wrong, &lax).is_err());
        }
    }
}

#[test]
fn absurd_iat_values_are_refused_without_overflow() {
    let k = key();
    for iat in [i64::MIN, i64::MAX] {
        let proof = build_proof(&k, "POST", HTU, iat, None, None).unwrap();
        assert!(validate(&proof, &rules()).is_err());
    }
}

#[test]
fn typ_compares_as_a_media_type_and_htu_without_query_or_default_port() {
    assert!(is_dpop_typ("dpop+jwt"));
    assert!(is_dpop_typ("DPoP+JWT"));
    assert!(!is_dpop_typ("jwt"));
    assert!(!is_dpop_typ("application/dpop+jwt+x"));
    assert!(htu_matches(HTU, HTU));
    assert!(htu_matches(
        "HTTPS://STS.example:443/connect/token?x=1#f",
        HTU
    ));
    assert!(!htu_matches("https://sts.example/connect/par", HTU));
    assert!(!htu_matches("https://sts.example:8443/connect/token", HTU));
}
