//! What a client may register as its key: the one rule applied wherever a client's public JWK
//! enters the testbed's store (Selvbetjening drafts and `POST /v1/client-secret`, the
//! self-service page, client configuration files, `client create`).
//!
//! [`PublicJwk::from_json`] already checks what every key must be, DPoP proof keys included:
//! an RSA (`n`, `e`) or EC (`crv`, `x`, `y`) key of RFC 7518 §6.2–6.3, no private member,
//! RSA of at least 2048 bits (RFC 7518 §3.3, §3.5), EC coordinates of the curve's length.
//! A key that is *registered* stays for a year and is trusted for every assertion, so it must
//! also be a key a real generator makes:
//!
//! * RSA: at most 8192 bits, the most aws-lc verifies (`RSA_*_2048_8192_*`), so a larger key
//!   could never sign an accepted assertion; an odd modulus and `e` = 65537; `n` and `e` in
//!   the minimum number of octets (base64urlUInt, RFC 7518 §2; §6.3.1.1 warns about the extra
//!   zero octet), so the size a key claims is its size; and aws-lc must accept it as an RSA
//!   public key. HelseID.Library's Selvbetjening rotation makes RSA-4096 keys used with PS256,
//!   and the portal's configuration files say `rsaKeySizeBits: 4096` (helseid.md §8, §12.4).
//! * EC: P-256, P-384 or P-521 (RFC 7518 §6.2.1.1) with the point on the curve, checked by
//!   aws-lc parsing the uncompressed point `0x04 || x || y`. HelseID's samples sign with ES384
//!   and its DPoP list names ES256/384/512 (helseid.md §1.2, §2.2).
//! * `use`, when given, is `sig` (RFC 7517 §4.2); `alg`, when given, is one HelseID accepts and
//!   fits the key (RFC 7517 §4.4).
//!
//! DPoP proof keys and keys read out of tokens or JWKS documents are not held to this: they
//! go through [`PublicJwk::from_json`] alone, as before.

use aws_lc_rs::signature::ParsedPublicKey;
use serde_json::{Map, Value};
use thiserror::Error;

use super::{Alg, Curve, JwkError, KeyMaterial, PRIVATE_MEMBERS, PublicJwk, b64_decode};

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits: aws-lc verifies up to 8192.
pub const RSA_MAX_BITS: usize = 8192;
/// The only RSA public exponent accepted, 65537, as big-endian octets (`AQAB`).
pub const RSA_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// Why a key cannot be registered for a client. The messages read after "the key ...".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyPolicyError {
    /// Not a public RSA or EC JWK at all (or an RSA key under 2048 bits).
    #[error("{0}")]
    Jwk(#[from] JwkError),
    /// `n` or `e` starts with a zero octet, so its length overstates the value.
    #[error(
        "has an {0} member with a leading zero octet; RFC 7518 §2 requires the minimum number of octets"
    )]
    LeadingZero(&'static str),
    #[error("has an RSA modulus of {0} bits; at most {RSA_MAX_BITS} are accepted")]
    RsaTooLarge(usize),
    /// An RSA modulus is the product of two odd primes.
    #[error("has an even RSA modulus, which no RSA key has")]
    RsaEvenModulus,
    #[error("has the RSA exponent {0}; only 65537 (\"AQAB\") is accepted")]
    RsaExponent(String),
    #[error("is not a usable RSA public key")]
    RsaUnusable,
    #[error("has a point (x, y) that is not on {0}")]
    NotOnCurve(&'static str),
    #[error("has use {0}; a client key is a signing key (use \"sig\")")]
    Use(String),
    #[error(
        "has alg {alg}, which a {kty} key cannot be used with; accepted are {list}",
        list = Alg::allowed_list()
    )]
    Alg { alg: String, kty: &'static str },
}

/// Checks `value` as a key a client registers; returns it parsed.
pub fn check_client_jwk(value: &Value) -> Result<PublicJwk, KeyPolicyError> {
    let jwk = PublicJwk::from_json(value)?;
    let map = value.as_object().ok_or(JwkError::NotObject)?;
    match &jwk.material {
        KeyMaterial::Rsa { n, e } => check_rsa(map, &jwk, n, e)?,
        KeyMaterial::Ec { crv, x, y } => check_ec(*crv, x, y)?,
    }
    if let Some(u) = map.get("use")
        && u.as_str() != Some("sig")
    {
        return Err(KeyPolicyError::Use(u.to_string()));
    }
    if let Some(alg) = map.get("alg") {
        let fits =
            alg.as_str()
                .and_then(Alg::parse)
                .is_some_and(|a| match (a.curve(), &jwk.material) {
                    (None, KeyMaterial::Rsa { .. }) => true,
                    (Some(c), KeyMaterial::Ec { crv, .. }) => c == *crv,
                    _ => false,
                });
        if !fits {
            return Err(KeyPolicyError::Alg {
                alg: alg.to_string(),
                kty: jwk.kty(),
            });
        }
    }
    Ok(jwk)
}

/// The members of a private JWK that make up its public key (a client configuration file's
/// `privateJwk`), for [`check_client_jwk`].
pub fn public_members(map: &Map<String, Value>) -> Value {
    Value::Object(
        map.iter()
            .filter(|(k, _)| !PRIVATE_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// `n` and `e` are the stripped values [`PublicJwk`] holds; `map` has them as sent.
fn check_rsa(
    map: &Map<String, Value>,
    jwk: &PublicJwk,
    n: &[u8],
    e: &[u8],
) -> Result<(), KeyPolicyError> {
    for member in ["n", "e"] {
        // PublicJwk strips leading zeros, so look at the octets as sent.
        let raw = map.get(member).and_then(Value::as_str).and_then(b64_decode);
        if raw.is_some_and(|b| b.first() == Some(&0)) {
            return Err(KeyPolicyError::LeadingZero(member));
        }
    }
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if bits > RSA_MAX_BITS {
        return Err(KeyPolicyError::RsaTooLarge(bits));
    }
    if n.last().is_none_or(|b| b & 1 == 0) {
        return Err(KeyPolicyError::RsaEvenModulus);
    }
    if e != RSA_EXPONENT {
        return Err(KeyPolicyError::RsaExponent(exponent_text(e)));
    }
    // aws-lc's own checks (RSA_check_key) on the key as it would verify with it.
    aws_lc_rs::rsa::PublicKey::from_der(&jwk.to_spki_der())
        .map_err(|_| KeyPolicyError::RsaUnusable)?;
    Ok(())
}

fn exponent_text(e: &[u8]) -> String {
    if e.len() <= 8 {
        let value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        value.to_string()
    } else {
        format!("of {} octets", e.len())
    }
}

fn check_ec(crv: Curve, x: &[u8], y: &[u8]) -> Result<(), KeyPolicyError> {
    let (algorithm, point) = super::ec_public_key(crv, x, y);
    ParsedPublicKey::new(algorithm, &point)
        .map_err(|_| KeyPolicyError::NotOnCurve(crv.as_str()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jose::b64_encode;
    use crate::signing::SigningKey;

    fn rsa(bits: usize) -> Value {
        SigningKey::generate_rsa(bits, Alg::PS256, "r".into())
            .unwrap()
            .public_jwk()
            .to_json()
    }

    fn ec(alg: Alg) -> Value {
        SigningKey::generate_ec(alg, "e".into())
            .unwrap()
            .public_jwk()
            .to_json()
    }

    fn member(jwk: &Value, name: &str) -> Vec<u8> {
        b64_decode(jwk[name].as_str().unwrap()).unwrap()
    }

    fn with(jwk: &Value, name: &str, bytes: &[u8]) -> Value {
        let mut out = jwk.clone();
        out[name] = b64_encode(bytes).into();
        out
    }

    #[test]
    fn keys_real_generators_make_pass() {
        let rsa_4096 = rsa(4096);
        assert_eq!(member(&rsa_4096, "n").len(), 512);
        for key in [
            rsa(2048),
            rsa_4096,
            ec(Alg::ES256),
            ec(Alg::ES384),
            ec(Alg::ES512),
        ] {
            let parsed = check_client_jwk(&key).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(parsed.to_json(), key);
        }
        // jsonwebtoken's parse of an aws-lc key agrees that it is one.
        let theirs: jsonwebtoken::jwk::Jwk = serde_json::from_value(rsa(2048)).unwrap();
        assert!(jsonwebtoken::DecodingKey::from_jwk(&theirs).is_ok());
        // RFC 7638 §3.1's example key (2048 bits, no use or alg).
        let rfc = json!({
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        });
        assert!(check_client_jwk(&rfc).is_ok());
    }

    #[test]
    fn rsa_sizes_outside_2048_to_8192_are_refused() {
        let small = json!({"kty": "RSA", "e": "AQAB", "n": b64_encode(&[0xc5; 128])});
        assert_eq!(
            check_client_jwk(&small),
            Err(KeyPolicyError::Jwk(JwkError::RsaTooSmall(1024)))
        );
        // The 16,384-bit "modulus" of 0xFF octets once accepted by POST /v1/client-secret.
        let huge = json!({"kty": "RSA", "e": "AQAB", "n": b64_encode(&[0xff; 2048])});
        let err = check_client_jwk(&huge).unwrap_err();
        assert_eq!(err, KeyPolicyError::RsaTooLarge(16384));
        assert!(
            err.to_string().contains("16384 bits; at most 8192"),
            "{err}"
        );
        let just_over = with(&rsa(2048), "n", &[0xff; 1025]);
        assert_eq!(
            check_client_jwk(&just_over),
            Err(KeyPolicyError::RsaTooLarge(8200))
        );
    }

    #[test]
    fn an_exponent_other_than_65537_is_refused() {
        let key = rsa(2048);
        for (e, shown) in [(&[3u8][..], "3"), (&[0x01, 0x00, 0x00, 0x01], "16777217")] {
            let err = check_client_jwk(&with(&key, "e", e)).unwrap_err();
            assert_eq!(err, KeyPolicyError::RsaExponent(shown.into()));
            assert!(err.to_string().contains("only 65537"), "{err}");
        }
        assert_eq!(
            check_client_jwk(&with(&key, "e", &[0x01; 9])),
            Err(KeyPolicyError::RsaExponent("of 9 octets".into()))
        );
        // 65537 written with a leading zero octet is 65537 in the wrong encoding.
        assert_eq!(
            check_client_jwk(&with(&key, "e", &[0, 1, 0, 1])),
            Err(KeyPolicyError::LeadingZero("e"))
        );
    }

    #[test]
    fn an_even_modulus_or_one_with_a_leading_zero_is_refused() {
        let key = rsa(2048);
        let mut n = member(&key, "n");
        let mut padded = vec![0];
        padded.extend_from_slice(&n);
        let err = check_client_jwk(&with(&key, "n", &padded)).unwrap_err();
        assert_eq!(err, KeyPolicyError::LeadingZero("n"));
        assert!(err.to_string().contains("leading zero octet"), "{err}");
        if let Some(last) = n.last_mut() {
            *last &= 0xfe;
        }
        assert_eq!(
            check_client_jwk(&with(&key, "n", &n)),
            Err(KeyPolicyError::RsaEvenModulus)
        );
    }

    #[test]
    fn an_ec_point_off_its_curve_is_refused() {
        for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
            let key = ec(alg);
            let mut y = member(&key, "y");
            if let Some(last) = y.last_mut() {
                *last ^= 1;
            }
            let err = check_client_jwk(&with(&key, "y", &y)).unwrap_err();
            let crv = key["crv"].as_str().unwrap();
            assert_eq!(
                err.to_string(),
                format!("has a point (x, y) that is not on {crv}")
            );
        }
        // All zeros is the encoding of no point at all.
        let zeros = json!({"kty": "EC", "crv": "P-256", "x": b64_encode(&[0; 32]), "y": b64_encode(&[0; 32])});
        assert_eq!(
            check_client_jwk(&zeros),
            Err(KeyPolicyError::NotOnCurve("P-256"))
        );
    }

    #[test]
    fn wrong_coordinate_lengths_and_unknown_curves_are_refused() {
        let key = ec(Alg::ES256);
        let x = member(&key, "x");
        // A leading zero octet too many, and one too few.
        let mut long = vec![0];
        long.extend_from_slice(&x);
        for bad in [&long[..], &x[1..]] {
            assert_eq!(
                check_client_jwk(&with(&key, "x", bad)),
                Err(KeyPolicyError::Jwk(JwkError::CoordinateLength("P-256")))
            );
        }
        // P-384 coordinates under a P-256 name.
        let mut p384 = ec(Alg::ES384);
        p384["crv"] = "P-256".into();
        p384.as_object_mut().unwrap().remove("alg");
        assert_eq!(
            check_client_jwk(&p384),
            Err(KeyPolicyError::Jwk(JwkError::CoordinateLength("P-256")))
        );
        for crv in ["secp256k1", "P-192", "Ed25519", "p-256"] {
            let mut k = key.clone();
            k["crv"] = crv.into();
            assert_eq!(
                check_client_jwk(&k),
                Err(KeyPolicyError::Jwk(JwkError::UnsupportedCurve(crv.into())))
            );
        }
    }

    #[test]
    fn private_members_are_refused_and_public_members_keep_the_rest() {
        let pair = SigningKey::generate_rsa(2048, Alg::PS256, "r".into()).unwrap();
        let private = pair.to_private_jwk().unwrap();
        assert_eq!(
            check_client_jwk(&private),
            Err(KeyPolicyError::Jwk(JwkError::PrivateMember("d".into())))
        );
        let public = pair.public_jwk().to_json();
        for m in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            let mut k = public.clone();
            k[m] = "AQAB".into();
            assert_eq!(
                check_client_jwk(&k),
                Err(KeyPolicyError::Jwk(JwkError::PrivateMember(m.into()))),
                "{m}"
            );
        }
        let stripped = public_members(private.as_object().unwrap());
        assert_eq!(check_client_jwk(&stripped).unwrap(), *pair.public_jwk());
    }

    #[test]
    fn use_and_alg_must_fit_a_signing_key() {
        let key = ec(Alg::ES256);
        let mut enc = key.clone();
        enc["use"] = "enc".into();
        assert_eq!(
            check_client_jwk(&enc),
            Err(KeyPolicyError::Use("\"enc\"".into()))
        );
        for alg in [json!("PS256"), json!("ES384"), json!("HS256"), json!(7)] {
            let mut k = key.clone();
            k["alg"] = alg.clone();
            assert_eq!(
                check_client_jwk(&k),
                Err(KeyPolicyError::Alg {
                    alg: alg.to_string(),
                    kty: "EC"
                })
            );
        }
        let mut rsa_es = rsa(2048);
        rsa_es["alg"] = "ES256".into();
        assert!(matches!(
            check_client_jwk(&rsa_es),
            Err(KeyPolicyError::Alg { kty: "RSA", .. })
        ));
        let mut bare = key.clone();
        let map = bare.as_object_mut().unwrap();
        map.remove("alg");
        map.remove("use");
        assert!(check_client_jwk(&bare).is_ok());
    }
}
