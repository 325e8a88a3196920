use serde_json::json;

use super::*;
use crate::signing::SigningKey;

/// RFC 7638 §3.1's example key and its thumbprint.
#[test]
fn thumbprint_matches_rfc7638_example() {
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let key = PublicJwk::from_json(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn thumbprints_agree_with_jsonwebtoken() {
    for key in [
        SigningKey::generate_rsa(2048, Alg::RS256, "r".into()).unwrap(),
        SigningKey::generate_ec(Alg::ES256, "e".into()).unwrap(),
    ] {
        let ours = key.public_jwk().thumbprint();
        let theirs: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(key.public_jwk().to_json()).unwrap();
        let theirs = theirs
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn our_signatures_verify_in_jsonwebtoken_and_theirs_in_ours() {
    let key = SigningKey::generate_rsa(2048, Alg::RS256, "k".into()).unwrap();
    let token = key
        .sign_jwt(Map::new(), &json!({"sub": "a", "exp": 4_000_000_000_i64}))
        .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk().to_json()).unwrap();
    let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();

    let ec = SigningKey::generate_ec(Alg::ES256, "e".into()).unwrap();
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&ec.to_pkcs8().unwrap());
    let theirs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &json!({"sub": "b"}),
        &encoding,
    )
    .unwrap();
    let jws = parse_compact(&theirs).unwrap();
    assert_eq!(jws.verify(ec.public_jwk()).unwrap(), Alg::ES256);
}

#[test]
fn malformed_tokens_are_refused_with_the_reason() {
    let cases: [(&str, &str); 7] = [
        ("", "empty"),
        ("a.b", "found 2"),
        ("a.b.c.d", "found 4"),
        ("!!!.e30.c2ln", "header that is not base64url"),
        ("e30.!!!.c2ln", "payload that is not base64url"),
        ("WzFd.e30.c2ln", "header that is not a JSON object"),
        ("e30.e30.c2l=", "signature"),
    ];
    for (token, needle) in cases {
        let err = parse_compact(token).unwrap_err().to_string();
        assert!(err.contains(needle), "{token}: {err}");
    }
    let huge = "a".repeat(MAX_JWS_LEN + 1);
    assert!(matches!(parse_compact(&huge), Err(JoseError::TooLong(_))));
}

#[test]
fn only_asymmetric_algorithms_pass() {
    for alg in ["HS256", "none", "EdDSA", "rs256", "ES256K"] {
        let header = b64_encode(json!({"alg": alg}).to_string().as_bytes());
        let token = format!("{header}.e30.c2ln");
        let jws = parse_compact(&token).unwrap();
        let err = jws.alg().unwrap_err();
        assert_eq!(err, JoseError::AlgNotAllowed(alg.into()));
        assert!(err.to_string().contains("RS256, RS384"), "{err}");
    }
    let token = format!("{}.e30.c2ln", b64_encode(b"{}"));
    assert_eq!(
        parse_compact(&token).unwrap().alg(),
        Err(JoseError::MissingAlg)
    );
}

#[test]
fn private_and_weak_keys_are_refused() {
    let key = SigningKey::generate_rsa(2048, Alg::RS256, "k".into()).unwrap();
    let private = key.to_private_jwk().unwrap();
    assert_eq!(
        PublicJwk::from_json(&private),
        Err(JwkError::PrivateMember("d".into()))
    );
    assert!(matches!(
        PublicJwk::from_json(&json!({"kty": "oct", "k": "AAAA"})),
        Err(JwkError::PrivateMember(_))
    ));
    assert_eq!(
        PublicJwk::from_json(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})),
        Err(JwkError::UnsupportedKty("OKP".into()))
    );
    assert_eq!(
        PublicJwk::from_json(&json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})),
        Err(JwkError::RsaTooSmall(17))
    );
    assert_eq!(
        PublicJwk::from_json(&json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"})),
        Err(JwkError::CoordinateLength("P-256"))
    );
    assert_eq!(
        PublicJwk::from_json(&json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"})),
        Err(JwkError::UnsupportedCurve("secp256k1".into()))
    );
    assert_eq!(PublicJwk::from_json(&json!([])), Err(JwkError::NotObject));
}

#[test]
fn a_key_of_the_wrong_type_is_named() {
    let rsa = SigningKey::generate_rsa(2048, Alg::RS256, "k".into()).unwrap();
    let ec = SigningKey::generate_ec(Alg::ES256, "e".into()).unwrap();
    let token = ec.sign_jwt(Map::new(), &json!({})).unwrap();
    let err = parse_compact(&token)
        .unwrap()
        .verify(rsa.public_jwk())
        .unwrap_err();
    assert_eq!(
        err,
        JoseError::KeyAlgMismatch {
            alg: Alg::ES256,
            kty: "RSA"
        }
    );
    // ES384 on a P-256 key.
    let p384 = SigningKey::generate_ec(Alg::ES384, "p".into()).unwrap();
    let token = p384.sign_jwt(Map::new(), &json!({})).unwrap();
    let err = parse_compact(&token)
        .unwrap()
        .verify(ec.public_jwk())
        .unwrap_err();
    assert_eq!(
        err,
        JoseError::KeyAlgMismatch {
            alg: Alg::ES384,
            kty: "EC"
        }
    );
}

#[test]
fn tampered_payload_fails() {
    let key = SigningKey::generate_ec(Alg::ES256, "e".into()).unwrap();
    let token = key.sign_jwt(Map::new(), &json!({"sub": "a"})).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64_encode(br#"{"sub":"b"}"#),
        parts[2]
    );
    let err = parse_compact(&forged)
        .unwrap()
        .verify(key.public_jwk())
        .unwrap_err();
    assert_eq!(err, JoseError::BadSignature("ES256".into()));
}

mod arbitrary_input {
    use proptest::prelude::*;

    use crate::{client_assertion, dpop, jose};

    /// Strings shaped like JWTs: three base64url-ish parts, sometimes valid JSON inside.
    fn jwtish() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[A-Za-z0-9_-]{0,40}",
            any::<Vec<u8>>().prop_map(|b| jose::b64_encode(&b)),
            prop::collection::btree_map("[a-z]{1,4}", "[a-z0-9+]{0,8}", 0..5)
                .prop_map(|m| jose::b64_encode(serde_json::to_string(&m).unwrap().as_bytes())),
        ];
        prop::collection::vec(part, 1..5).prop_map(|parts| parts.join("."))
    }

    proptest! {
        #[test]
        fn validators_never_panic(token in prop_oneof![jwtish(), any::<String>()]) {
            let _ = jose::parse_compact(&token).map(|j| j.alg());
            let audiences = vec!["https://sts".to_owned()];
            let rules = client_assertion::Rules { client_id: Some("c"), audiences: &audiences, now: 1_800_000_000 };
            prop_assert!(client_assertion::validate(&token, &rules, &[]).is_err());
            let rules = dpop::Rules { htm: "POST", htu: "https://sts/connect/token", now: 1_800_000_000, access_token: None };
            prop_assert!(dpop::validate(&token, &rules).is_err());
        }
    }
}

/// RFC 4231 §4.3 (test case 2).
#[test]
fn hmac_sha256_matches_rfc4231() {
    let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn spki_pem_wraps_the_der_in_64_character_lines() {
    let key = SigningKey::generate_rsa(2048, Alg::RS256, "r".into()).unwrap();
    let pem = key.public_jwk().to_spki_pem();
    assert!(
        pem.starts_with("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
    );
    assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
    let lines: Vec<&str> = pem.lines().collect();
    assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64));
    let body: String = lines[1..lines.len() - 1].concat();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(der, key.public_jwk().to_spki_der());
}

/// The left half of the algorithm's hash (SHA-256("abc") and SHA-384("abc"), computed
/// independently with Python's hashlib).
#[test]
fn token_hash_is_the_left_half_of_the_algorithms_hash() {
    assert_eq!(token_hash(Alg::RS256, "abc"), "ungWv48Bz-pBQUDeXa4iIw");
    assert_eq!(token_hash(Alg::ES256, "abc"), "ungWv48Bz-pBQUDeXa4iIw");
    assert_eq!(
        token_hash(Alg::PS384, "abc"),
        "ywB1P0WjXou1oD1pmsZQBycsMqsO3tFj"
    );
    assert_eq!(token_hash(Alg::RS512, "abc").len(), 43);
}

#[test]
fn decode_unverified_reads_header_and_claims_of_any_signature() {
    let key = SigningKey::generate_ec(Alg::ES256, "k".into()).unwrap();
    let token = key
        .sign_jwt(Map::new(), &json!({"sub": "s", "n": 1}))
        .unwrap();
    let (header, claims) = decode_unverified(&token).unwrap();
    assert_eq!(header["kid"], "k");
    assert_eq!(claims, json!({"sub": "s", "n": 1}));
    // The signature is neither decoded nor checked: an `alg: none` token reads too.
    let (h, _) = token.split_once('.').unwrap();
    let unsigned = format!("{h}.{}.", b64_encode(br#"{"a":[1]}"#));
    assert_eq!(decode_unverified(&unsigned).unwrap().1, json!({"a": [1]}));
    assert_eq!(decode_unverified("a.b"), Err(JoseError::Parts(2)));
    assert_eq!(
        decode_unverified("!.e30.x"),
        Err(JoseError::Base64("header"))
    );
    assert!(matches!(
        decode_unverified(&format!("{h}.{}.", b64_encode(b"{"))),
        Err(JoseError::Json {
            part: "payload",
            ..
        })
    ));
}

#[test]
fn random_hex_gives_distinct_upper_case_hex_of_the_length_asked() {
    let a = random_hex::<32>().unwrap();
    let b = random_hex::<32>().unwrap();
    assert_eq!(a.len(), 64);
    assert!(a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F')));
    assert_ne!(a, b);
    assert_eq!(random_id().len(), 32);
}
