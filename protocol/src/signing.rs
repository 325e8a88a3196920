//! Private keys and JWS signing (RFC 7515 §5.1) for every party the testbed plays: the STS
//! signing its tokens (RS256, as HelseID's `id_token_signing_alg_values_supported`), and the
//! clients the tests, the load generator and the conformance runner act as.
//!
//! Keys move in the two forms HelseID's tooling uses: PKCS#8 DER (for storage) and a private
//! JWK (the portal's client configuration file carries `privateJwk`). aws-lc-rs does not read
//! or write RSA JWK members itself, so the small DER walk below converts between a JWK and the
//! PKCS#1 `RSAPrivateKey` structure (RFC 8017 §A.1.2).

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::jose::{Alg, Curve, KeyMaterial, PublicJwk, b64_decode, b64_encode};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the key is not a valid {0} private key")]
    Rejected(&'static str),
    #[error("the private JWK {0}")]
    Jwk(String),
    #[error("alg {alg} does not fit a {kty} key")]
    AlgMismatch { alg: Alg, kty: &'static str },
    #[error("signing failed")]
    Sign,
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private signing key with the `kid` and `alg` it signs under.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    inner: Inner,
    public: PublicJwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn ec_signing_alg(curve: Curve) -> &'static signature::EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    }
}

impl SigningKey {
    /// A fresh RSA key (`bits` 2048, 3072 or 4096) for an RS*/PS* `alg`.
    pub fn generate_rsa(bits: usize, alg: Alg, kid: String) -> Result<SigningKey, KeyError> {
        if !alg.is_rsa() {
            return Err(KeyError::AlgMismatch { alg, kty: "RSA" });
        }
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(KeyError::Generate),
        };
        let pair = RsaKeyPair::generate(size).map_err(|_| KeyError::Generate)?;
        SigningKey::from_rsa(pair, alg, kid)
    }

    /// A fresh EC key on the curve `alg` (ES256/384/512) names.
    pub fn generate_ec(alg: Alg, kid: String) -> Result<SigningKey, KeyError> {
        let curve = alg
            .curve()
            .ok_or(KeyError::AlgMismatch { alg, kty: "EC" })?;
        let pair = EcdsaKeyPair::generate(ec_signing_alg(curve)).map_err(|_| KeyError::Generate)?;
        SigningKey::from_ec(pair, curve, alg, kid)
    }

    /// Reads a PKCS#8 DER private key (what [`SigningKey::to_pkcs8`] wrote).
    pub fn from_pkcs8(der: &[u8], alg: Alg, kid: String) -> Result<SigningKey, KeyError> {
        match alg.curve() {
            None => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError::Rejected("RSA"))?;
                SigningKey::from_rsa(pair, alg, kid)
            }
            Some(curve) => {
                let pair = EcdsaKeyPair::from_pkcs8(ec_signing_alg(curve), der)
                    .map_err(|_| KeyError::Rejected("EC"))?;
                SigningKey::from_ec(pair, curve, alg, kid)
            }
        }
    }

    /// Reads a private JWK (RSA with `d`, `p`, `q`, `dp`, `dq`, `qi`; EC with `d`). `alg` and
    /// `kid` come from the JWK; `default_alg` applies when it names none.
    pub fn from_private_jwk(jwk: &Value, default_alg: Alg) -> Result<SigningKey, KeyError> {
        let map = jwk
            .as_object()
            .ok_or_else(|| KeyError::Jwk("is not a JSON object".into()))?;
        let public = PublicJwk::public_part(map).map_err(|e| KeyError::Jwk(e.to_string()))?;
        let alg = match map.get("alg").and_then(Value::as_str) {
            Some(name) => Alg::parse(name)
                .ok_or_else(|| KeyError::Jwk(format!("has unsupported alg {name:?}")))?,
            None => default_alg,
        };
        let kid = public.kid.clone().unwrap_or_else(|| public.thumbprint());
        let member = |name: &str| -> Result<Vec<u8>, KeyError> {
            map.get(name)
                .and_then(Value::as_str)
                .and_then(b64_decode)
                .ok_or_else(|| KeyError::Jwk(format!("lacks a base64url {name:?} member")))
        };
        match &public.material {
            KeyMaterial::Rsa { n, e } => {
                let der = der::rsa_private_key(&[
                    n,
                    e,
                    &member("d")?,
                    &member("p")?,
                    &member("q")?,
                    &member("dp")?,
                    &member("dq")?,
                    &member("qi")?,
                ]);
                let pair = RsaKeyPair::from_der(&der).map_err(|_| KeyError::Rejected("RSA"))?;
                SigningKey::from_rsa(pair, alg, kid)
            }
            KeyMaterial::Ec { crv, x, y } => {
                if alg.curve() != Some(*crv) {
                    return Err(KeyError::AlgMismatch { alg, kty: "EC" });
                }
                let mut point = vec![0x04];
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    ec_signing_alg(*crv),
                    &member("d")?,
                    &point,
                )
                .map_err(|_| KeyError::Rejected("EC"))?;
                SigningKey::from_ec(pair, *crv, alg, kid)
            }
        }
    }

    fn from_rsa(pair: RsaKeyPair, alg: Alg, kid: String) -> Result<SigningKey, KeyError> {
        if !alg.is_rsa() {
            return Err(KeyError::AlgMismatch { alg, kty: "RSA" });
        }
        let components = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let public = PublicJwk {
            kid: Some(kid.clone()),
            alg: Some(alg.as_str().to_owned()),
            material: KeyMaterial::Rsa {
                n: components.n,
                e: components.e,
            },
        };
        Ok(SigningKey {
            kid,
            alg,
            inner: Inner::Rsa(pair),
            public,
        })
    }

    fn from_ec(
        pair: EcdsaKeyPair,
        curve: Curve,
        alg: Alg,
        kid: String,
    ) -> Result<SigningKey, KeyError> {
        if alg.curve() != Some(curve) {
            return Err(KeyError::AlgMismatch { alg, kty: "EC" });
        }
        let point = pair.public_key().as_ref();
        let len = curve.coordinate_len();
        if point.len() != 1 + 2 * len {
            return Err(KeyError::Rejected("EC"));
        }
        let public = PublicJwk {
            kid: Some(kid.clone()),
            alg: Some(alg.as_str().to_owned()),
            material: KeyMaterial::Ec {
                crv: curve,
                x: point[1..=len].to_vec(),
                y: point[1 + len..].to_vec(),
            },
        };
        Ok(SigningKey {
            kid,
            alg,
            inner: Inner::Ec(pair),
            public,
        })
    }

    /// The public half, as registered with HelseID or published in JWKS.
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// PKCS#8 DER of the private key, for storage.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            Inner::Rsa(pair) => pair
                .as_der()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
            Inner::Ec(pair) => pair
                .to_pkcs8v1()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
        }
    }

    /// The private key as a JWK (`kid`, `alg`, `use` included), as the portal's
    /// client configuration file holds it in `privateJwk`.
    pub fn to_private_jwk(&self) -> Result<Value, KeyError> {
        let mut jwk = match self.public.to_json() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        match &self.inner {
            Inner::Rsa(_) => {
                let der = self.to_pkcs8()?;
                let parts =
                    der::rsa_components_from_pkcs8(&der).ok_or(KeyError::Rejected("RSA"))?;
                for (name, value) in ["d", "p", "q", "dp", "dq", "qi"].iter().zip(&parts[2..]) {
                    jwk.insert((*name).to_owned(), json!(b64_encode(value)));
                }
            }
            Inner::Ec(pair) => {
                let d = pair
                    .private_key()
                    .as_be_bytes()
                    .map_err(|_| KeyError::Rejected("EC"))?;
                jwk.insert("d".into(), json!(b64_encode(d.as_ref())));
            }
        }
        Ok(Value::Object(jwk))
    }

    /// Signs `signing_input` (`base64url(header) "." base64url(payload)`).
    pub fn sign_raw(&self, signing_input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match self.alg {
                    Alg::RS256 => &signature::RSA_PKCS1_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_SHA512,
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
                    Alg::PS384 => &signature::RSA_PSS_SHA384,
                    Alg::PS512 => &signature::RSA_PSS_SHA512,
                    alg => return Err(KeyError::AlgMismatch { alg, kty: "RSA" }),
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &rng, signing_input, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Inner::Ec(pair) => pair
                .sign(&rng, signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
        }
    }

    /// Signs a JWT: `header` gets `alg` (and `kid` unless the caller set it or removed it by
    /// passing `"kid": null`).
    pub fn sign_jwt(
        &self,
        mut header: Map<String, Value>,
        claims: &Value,
    ) -> Result<String, KeyError> {
        header.insert("alg".into(), json!(self.alg.as_str()));
        match header.get("kid") {
            Some(Value::Null) => {
                header.remove("kid");
            }
            Some(_) => {}
            None => {
                header.insert("kid".into(), json!(self.kid));
            }
        }
        let header = serde_json::to_vec(&Value::Object(header)).map_err(|_| KeyError::Sign)?;
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;
        let mut token = b64_encode(&header);
        token.push('.');
        token.push_str(&b64_encode(&payload));
        let sig = self.sign_raw(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64_encode(&sig));
        Ok(token)
    }
}

/// The few DER shapes RSA key conversion needs (X.690 §8.1–8.3, §8.9, §8.7).
mod der {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }

    fn push_uint(out: &mut Vec<u8>, value: &[u8]) {
        let zeros = value.iter().take_while(|b| **b == 0).count();
        let value = &value[zeros..];
        let pad = value.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, value.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
    }

    /// `RSAPrivateKey ::= SEQUENCE { version 0, n, e, d, p, q, dp, dq, qi }`.
    pub(super) fn rsa_private_key(components: &[&[u8]; 8]) -> Vec<u8> {
        let mut body = vec![0x02, 0x01, 0x00];
        for c in components {
            push_uint(&mut body, c);
        }
        let mut out = vec![0x30];
        push_len(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    }

    /// Reads one TLV; returns (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    /// n, e, d, p, q, dp, dq, qi from a PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub(super) fn rsa_components_from_pkcs8(pkcs8: &[u8]) -> Option<Vec<Vec<u8>>> {
        let (0x30, info, _) = tlv(pkcs8)? else {
            return None;
        };
        let (0x02, _version, rest) = tlv(info)? else {
            return None;
        };
        let (0x30, _algorithm, rest) = tlv(rest)? else {
            return None;
        };
        let (0x04, key, _) = tlv(rest)? else {
            return None;
        };
        let (0x30, mut seq, _) = tlv(key)? else {
            return None;
        };
        let mut ints = Vec::with_capacity(9);
        while !seq.is_empty() {
            let (tag, value, rest) = tlv(seq)?;
            if tag != 0x02 {
                return None;
            }
            let zeros = value.iter().take_while(|b| **b == 0).count();
            ints.push(value[zeros..].to_vec());
            seq = rest;
        }
        // Drop the version; keep the eight key integers.
        (ints.len() == 9).then(|| ints.split_off(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::parse_compact;

    #[test]
    fn every_alg_signs_and_verifies() {
        for alg in Alg::ALL {
            let key = if alg.is_rsa() {
                SigningKey::generate_rsa(2048, alg, "k1".into()).unwrap()
            } else {
                SigningKey::generate_ec(alg, "k1".into()).unwrap()
            };
            let token = key.sign_jwt(Map::new(), &json!({"sub": "x"})).unwrap();
            let jws = parse_compact(&token).unwrap();
            assert_eq!(jws.verify(key.public_jwk()).unwrap(), alg);
            // A different key of the same type must not verify it.
            let other = if alg.is_rsa() {
                SigningKey::generate_rsa(2048, alg, "k2".into()).unwrap()
            } else {
                SigningKey::generate_ec(alg, "k2".into()).unwrap()
            };
            assert!(jws.verify(other.public_jwk()).is_err(), "{alg}");
        }
    }

    #[test]
    fn private_jwk_round_trips() {
        for key in [
            SigningKey::generate_rsa(2048, Alg::PS256, "rsa".into()).unwrap(),
            SigningKey::generate_ec(Alg::ES384, "ec".into()).unwrap(),
        ] {
            let jwk = key.to_private_jwk().unwrap();
            let again = SigningKey::from_private_jwk(&jwk, Alg::RS256).unwrap();
            assert_eq!(again.alg, key.alg);
            assert_eq!(again.kid, key.kid);
            assert_eq!(
                again.public_jwk().thumbprint(),
                key.public_jwk().thumbprint()
            );
            let token = again.sign_jwt(Map::new(), &json!({})).unwrap();
            parse_compact(&token)
                .unwrap()
                .verify(key.public_jwk())
                .unwrap();
            // The private JWK must not pass as a public one.
            assert!(PublicJwk::from_json(&jwk).is_err());
        }
    }

    #[test]
    fn spki_der_is_what_aws_lc_writes() {
        use aws_lc_rs::encoding::PublicKeyX509Der;
        let mut keys = vec![SigningKey::generate_rsa(2048, Alg::RS256, "r".into()).unwrap()];
        for alg in [Alg::ES256, Alg::ES384, Alg::ES512] {
            keys.push(SigningKey::generate_ec(alg, "e".into()).unwrap());
        }
        for key in keys {
            let theirs: PublicKeyX509Der<'static> = match &key.inner {
                Inner::Rsa(pair) => pair.public_key().as_der().unwrap(),
                Inner::Ec(pair) => pair.public_key().as_der().unwrap(),
            };
            assert_eq!(
                key.public_jwk().to_spki_der(),
                theirs.as_ref(),
                "{}",
                key.alg
            );
        }
    }

    #[test]
    fn pkcs8_round_trips() {
        let key = SigningKey::generate_rsa(2048, Alg::RS256, "a".into()).unwrap();
        let again =
            SigningKey::from_pkcs8(&key.to_pkcs8().unwrap(), Alg::RS256, "a".into()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert!(SigningKey::from_pkcs8(b"junk", Alg::RS256, "a".into()).is_err());
    }

    #[test]
    fn broken_private_jwk_is_refused_with_a_reason() {
        let key = SigningKey::generate_rsa(2048, Alg::RS256, "a".into()).unwrap();
        let mut jwk = key.to_private_jwk().unwrap();
        jwk.as_object_mut().unwrap().remove("qi");
        let err = SigningKey::from_private_jwk(&jwk, Alg::RS256).unwrap_err();
        assert!(err.to_string().contains("qi"), "{err}");
        jwk["qi"] = json!("AQAB");
        assert!(SigningKey::from_private_jwk(&jwk, Alg::RS256).is_err());
    }
}
