//! JOSE essentials for HelseID's profile: compact JWS (RFC 7515 §3.1, §5.2), the asymmetric
//! algorithms HelseID accepts (RFC 7518 §3, the list in its `dpop_signing_alg_values_supported`),
//! public JWKs (RFC 7517 §4, RFC 7518 §6) and their thumbprints (RFC 7638).
//!
//! Verification is done here, on the raw header JSON, rather than through a JWT library:
//! DPoP and client-assertion rules need the header exactly as sent (a `jwk` carrying a private
//! member must be refused, `typ` compared after JSON unescaping), and ES512 must verify, which
//! jsonwebtoken 11 cannot. Signing for the STS and for test clients lives in [`crate::signing`].

use std::fmt;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use thiserror::Error;

/// Longest compact JWS accepted (bytes). Real assertions and proofs are under 4 KiB; this
/// bounds the work an attacker can make the parser do.
pub const MAX_JWS_LEN: usize = 64 * 1024;

/// A JWS `alg` value HelseID accepts for client assertions, DPoP proofs and request objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
}

impl Alg {
    pub const ALL: [Alg; 9] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
        }
    }

    /// Parses an `alg` header value; `None` for anything outside the allow-list (HS*, none,
    /// EdDSA, ...). Case matters, as in RFC 7518.
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The allow-list as it appears in error messages and discovery.
    pub fn allowed_list() -> String {
        Alg::ALL.map(Alg::as_str).join(", ")
    }

    pub fn is_rsa(self) -> bool {
        !matches!(self, Alg::ES256 | Alg::ES384 | Alg::ES512)
    }

    /// The curve an ECDSA algorithm is defined on.
    pub fn curve(self) -> Option<Curve> {
        match self {
            Alg::ES256 => Some(Curve::P256),
            Alg::ES384 => Some(Curve::P384),
            Alg::ES512 => Some(Curve::P521),
            _ => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An elliptic curve of RFC 7518 §6.2.1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    /// The JWS algorithm of this curve (RFC 7518 §3.4).
    pub fn alg(self) -> Alg {
        match self {
            Curve::P256 => Alg::ES256,
            Curve::P384 => Alg::ES384,
            Curve::P521 => Alg::ES512,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Length in bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    fn parse(s: &str) -> Option<Curve> {
        [Curve::P256, Curve::P384, Curve::P521]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Why a JWS could not be read or verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JoseError {
    #[error("is empty")]
    Empty,
    #[error("is {0} bytes long; at most {MAX_JWS_LEN} are accepted")]
    TooLong(usize),
    #[error("is not a compact JWS: expected 3 dot-separated parts, found {0}")]
    Parts(usize),
    #[error("has a {0} that is not base64url without padding")]
    Base64(&'static str),
    #[error("has a {part} that is not a JSON object: {detail}")]
    Json { part: &'static str, detail: String },
    #[error("has no alg header")]
    MissingAlg,
    #[error("uses alg {0:?}, which is not accepted; accepted are {list}", list = Alg::allowed_list())]
    AlgNotAllowed(String),
    #[error("has a signature that does not verify with the {0} key")]
    BadSignature(String),
    #[error("is signed with {alg}, which the {kty} key cannot verify")]
    KeyAlgMismatch { alg: Alg, kty: &'static str },
    #[error("key: {0}")]
    Jwk(#[from] JwkError),
}

/// Why a JWK was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JwkError {
    #[error("is not a JSON object")]
    NotObject,
    #[error("has no kty")]
    MissingKty,
    #[error("has kty {0:?}; only RSA and EC keys are accepted")]
    UnsupportedKty(String),
    #[error("lacks the {0} member")]
    MissingMember(&'static str),
    #[error("has a {0} member that is not base64url")]
    BadMember(&'static str),
    #[error("contains the private member {0:?}; only the public key may be sent")]
    PrivateMember(String),
    #[error("has crv {0:?}; accepted are P-256, P-384 and P-521")]
    UnsupportedCurve(String),
    #[error("has coordinates of the wrong length for {0}")]
    CoordinateLength(&'static str),
    #[error("has an RSA modulus of {0} bits; at least 2048 are required")]
    RsaTooSmall(usize),
}

/// A parsed, not yet verified, compact JWS with a JSON payload (a JWT).
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Decodes base64url without padding, as JWS requires (RFC 7515 §2).
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url(SHA-256(input)): DPoP `ath`, PKCE S256, thumbprints.
pub fn sha256_b64(input: &[u8]) -> String {
    b64_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input).as_ref())
}

/// An ID token's `at_hash` (or `c_hash`) for `token` signed with `alg` (OpenID Connect Core
/// §3.1.3.6): base64url of the left half of the hash the algorithm uses (SHA-256 for *256).
pub fn token_hash(alg: Alg, token: &str) -> String {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512, digest};
    let algorithm = match alg {
        Alg::RS256 | Alg::PS256 | Alg::ES256 => &SHA256,
        Alg::RS384 | Alg::PS384 | Alg::ES384 => &SHA384,
        Alg::RS512 | Alg::PS512 | Alg::ES512 => &SHA512,
    };
    let d = digest(algorithm, token.as_bytes());
    let bytes = d.as_ref();
    b64_encode(&bytes[..bytes.len() / 2])
}

/// A compact JWS's header and payload as JSON, nothing verified and the signature not even
/// decoded: for evidence and logs (the flow log, conformance reports), never for a decision.
/// Any JSON is returned as it is, so a token that is almost a JWT still shows what it says.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), JoseError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, _signature] = parts[..] else {
        return Err(JoseError::Parts(parts.len()));
    };
    let json = |part_b64: &str, part: &'static str| {
        let bytes = b64_decode(part_b64).ok_or(JoseError::Base64(part))?;
        serde_json::from_slice::<Value>(&bytes).map_err(|e| JoseError::Json {
            part,
            detail: e.to_string(),
        })
    };
    Ok((json(header, "header")?, json(payload, "payload")?))
}

/// Splits and decodes a compact JWS. Nothing is verified yet.
pub fn parse_compact(token: &str) -> Result<Jws<'_>, JoseError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JoseError::Empty);
    }
    if token.len() > MAX_JWS_LEN {
        return Err(JoseError::TooLong(token.len()));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts[..] else {
        return Err(JoseError::Parts(parts.len()));
    };
    let header = json_object(header_b64, "header")?;
    let claims = json_object(payload_b64, "payload")?;
    let signature = b64_decode(signature_b64).ok_or(JoseError::Base64("signature"))?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(Jws {
        header,
        claims,
        signing_input,
        signature,
    })
}

fn json_object(part_b64: &str, part: &'static str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64_decode(part_b64).ok_or(JoseError::Base64(part))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JoseError::Json {
            part,
            detail: "not an object".into(),
        }),
        Err(e) => Err(JoseError::Json {
            part,
            detail: e.to_string(),
        }),
    }
}

impl Jws<'_> {
    /// The `alg` header, checked against the allow-list.
    pub fn alg(&self) -> Result<Alg, JoseError> {
        match self.header.get("alg") {
            None => Err(JoseError::MissingAlg),
            Some(Value::String(s)) => {
                Alg::parse(s).ok_or_else(|| JoseError::AlgNotAllowed(s.clone()))
            }
            Some(other) => Err(JoseError::AlgNotAllowed(other.to_string())),
        }
    }

    /// A string header member (after JSON unescaping, so `dpop\u002Bjwt` reads `dpop+jwt`).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (RFC 7519 §2). A string of digits is accepted too: HelseID's own
    /// client-assertion example sends `iat` as `"1677743803"`.
    pub fn claim_time(&self, name: &str) -> Option<Result<i64, ()>> {
        self.claims.get(name).map(|v| match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .ok_or(()),
            Value::String(s) => s.parse::<i64>().map_err(|_| ()),
            _ => Err(()),
        })
    }

    /// `base64url(header) "." base64url(payload)`: what the signature covers.
    pub fn signing_input(&self) -> &str {
        self.signing_input
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Verifies the signature with `key` under the header's (allow-listed) algorithm.
    pub fn verify(&self, key: &PublicJwk) -> Result<Alg, JoseError> {
        let alg = self.alg()?;
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)?;
        Ok(alg)
    }
}

/// A public key in JWK form: RSA (`n`, `e`) or EC (`crv`, `x`, `y`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: Option<String>,
    pub alg: Option<String>,
    pub material: KeyMaterial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { crv: Curve, x: Vec<u8>, y: Vec<u8> },
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("kty", &self.kty())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

/// Members that only a private JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

impl PublicJwk {
    /// Reads a public JWK, refusing one that carries private members.
    pub fn from_json(value: &Value) -> Result<PublicJwk, JwkError> {
        let map = value.as_object().ok_or(JwkError::NotObject)?;
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
            return Err(JwkError::PrivateMember((*member).to_string()));
        }
        PublicJwk::public_part(map)
    }

    /// Reads the public part of a JWK that may also hold the private key (a client's
    /// `privateJwk`).
    pub fn public_part(map: &Map<String, Value>) -> Result<PublicJwk, JwkError> {
        let kid = map.get("kid").and_then(Value::as_str).map(str::to_owned);
        let alg = map.get("alg").and_then(Value::as_str).map(str::to_owned);
        let member = |name: &'static str| -> Result<Vec<u8>, JwkError> {
            let s = map
                .get(name)
                .ok_or(JwkError::MissingMember(name))?
                .as_str()
                .ok_or(JwkError::BadMember(name))?;
            b64_decode(s).ok_or(JwkError::BadMember(name))
        };
        let material = match map.get("kty").and_then(Value::as_str) {
            None => return Err(JwkError::MissingKty),
            Some("RSA") => {
                let n = strip_leading_zeros(member("n")?);
                let e = strip_leading_zeros(member("e")?);
                if n.is_empty() {
                    return Err(JwkError::BadMember("n"));
                }
                if e.is_empty() {
                    return Err(JwkError::BadMember("e"));
                }
                let bits = n.len() * 8 - n[0].leading_zeros() as usize;
                if bits < 2048 {
                    return Err(JwkError::RsaTooSmall(bits));
                }
                KeyMaterial::Rsa { n, e }
            }
            Some("EC") => {
                let crv_name = map
                    .get("crv")
                    .ok_or(JwkError::MissingMember("crv"))?
                    .as_str()
                    .ok_or(JwkError::BadMember("crv"))?;
                let crv = Curve::parse(crv_name)
                    .ok_or_else(|| JwkError::UnsupportedCurve(crv_name.to_owned()))?;
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != crv.coordinate_len() || y.len() != crv.coordinate_len() {
                    return Err(JwkError::CoordinateLength(crv.as_str()));
                }
                KeyMaterial::Ec { crv, x, y }
            }
            Some(other) => return Err(JwkError::UnsupportedKty(other.to_owned())),
        };
        Ok(PublicJwk { kid, alg, material })
    }

    pub fn kty(&self) -> &'static str {
        match self.material {
            KeyMaterial::Rsa { .. } => "RSA",
            KeyMaterial::Ec { .. } => "EC",
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url: DPoP's `jkt`.
    pub fn thumbprint(&self) -> String {
        // Members in lexicographic order, no whitespace (RFC 7638 §3.2, §3.3).
        let canonical = match &self.material {
            KeyMaterial::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64_encode(e),
                b64_encode(n)
            ),
            KeyMaterial::Ec { crv, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                crv.as_str(),
                b64_encode(x),
                b64_encode(y)
            ),
        };
        sha256_b64(canonical.as_bytes())
    }

    /// The key as a public JWK object (with `kid`, `alg` and `use` when known).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                map.insert("kty".into(), "RSA".into());
                map.insert("n".into(), b64_encode(n).into());
                map.insert("e".into(), b64_encode(e).into());
            }
            KeyMaterial::Ec { crv, x, y } => {
                map.insert("kty".into(), "EC".into());
                map.insert("crv".into(), crv.as_str().into());
                map.insert("x".into(), b64_encode(x).into());
                map.insert("y".into(), b64_encode(y).into());
            }
        }
        if let Some(kid) = &self.kid {
            map.insert("kid".into(), kid.clone().into());
        }
        if let Some(alg) = &self.alg {
            map.insert("alg".into(), alg.clone().into());
        }
        map.insert("use".into(), "sig".into());
        Value::Object(map)
    }

    /// Verifies `signature` over `message` under `alg` with this key.
    pub fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        let ok = match &self.material {
            KeyMaterial::Rsa { n, e } => {
                let params: &signature::RsaParameters = match alg {
                    Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Alg::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return Err(JoseError::KeyAlgMismatch { alg, kty: "RSA" }),
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            KeyMaterial::Ec { crv, x, y } => {
                if alg.curve() != Some(*crv) {
                    return Err(JoseError::KeyAlgMismatch { alg, kty: "EC" });
                }
                let (params, point) = ec_public_key(*crv, x, y);
                UnparsedPublicKey::new(params, &point)
                    .verify(message, sig)
                    .is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(JoseError::BadSignature(alg.as_str().to_owned()))
        }
    }
}

/// HMAC-SHA-256 (RFC 2104; JWS `HS256`, RFC 7518 §3.2). HelseID never signs with a
/// symmetric algorithm; this exists so the testbed can build, and its reference API can be
/// made to fall for, the algorithm-confusion attack (an `HS256` token whose HMAC key is the
/// issuer's public key).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
}

/// The HMAC-SHA-256 key of the algorithm-confusion attack (RFC 8725 §2.1, §3.1;
/// CVE-2015-9235, CVE-2017-11424, CVE-2022-29217): the issuer's public key as a flawed API
/// holds it, used as the `HS256` secret when a token says `HS256`. The bytes are the key's
/// PEM text exactly as [`PublicJwk::to_spki_pem`] writes it (`-----BEGIN PUBLIC KEY-----`,
/// LF, the DER `SubjectPublicKeyInfo` in standard base64 with 64-character lines and LF
/// line endings, `-----END PUBLIC KEY-----`, a final LF), which is what OpenSSL writes and
/// what the vulnerable libraries were handed. The reference API's
/// `AcceptHs256WithPublicKey` flaw verifies with it and the conformance runner forges with
/// it.
pub fn hs256_confusion_secret(jwk: &PublicJwk) -> Vec<u8> {
    jwk.to_spki_pem().into_bytes()
}

impl PublicJwk {
    /// The key as a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7): RSA as
    /// `rsaEncryption` with NULL parameters and a PKCS#1 `RSAPublicKey` (RFC 3279 §2.3.1),
    /// EC as `id-ecPublicKey` with the named curve and the uncompressed point (RFC 5480 §2).
    /// The same bytes OpenSSL writes with `openssl pkey -pubout -outform DER`.
    pub fn to_spki_der(&self) -> Vec<u8> {
        match &self.material {
            KeyMaterial::Rsa { n, e } => {
                // rsaEncryption (1.2.840.113549.1.1.1) and NULL parameters.
                let algorithm = der::sequence(&[
                    &[
                        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
                    ],
                    &[0x05, 0x00],
                ]);
                let key = der::sequence(&[&der::uint(n), &der::uint(e)]);
                der::sequence(&[&algorithm, &der::bit_string(&key)])
            }
            KeyMaterial::Ec { crv, x, y } => {
                let curve: &[u8] = match crv {
                    // prime256v1 (1.2.840.10045.3.1.7)
                    Curve::P256 => &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
                    // secp384r1 (1.3.132.0.34)
                    Curve::P384 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
                    // secp521r1 (1.3.132.0.35)
                    Curve::P521 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23],
                };
                // id-ecPublicKey (1.2.840.10045.2.1).
                let algorithm = der::sequence(&[
                    &[0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01],
                    curve,
                ]);
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                der::sequence(&[&algorithm, &der::bit_string(&point)])
            }
        }
    }

    /// The key as a PEM `PUBLIC KEY` (RFC 7468 §13): the [`PublicJwk::to_spki_der`] bytes in
    /// standard base64, 64 characters a line, LF line endings, a final LF. The same text
    /// OpenSSL writes with `openssl pkey -pubout`.
    pub fn to_spki_pem(&self) -> String {
        use base64::engine::general_purpose::STANDARD;
        let b64 = STANDARD.encode(self.to_spki_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }
}

/// The DER encodings a public key needs (X.690 §8.1–8.3, §8.6, §8.9).
mod der {
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = contents.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(contents);
        out
    }

    pub(super) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// A non-negative INTEGER from big-endian bytes.
    pub(super) fn uint(value: &[u8]) -> Vec<u8> {
        let zeros = value.iter().take_while(|b| **b == 0).count();
        let value = &value[zeros..];
        let mut contents = Vec::with_capacity(value.len() + 1);
        if value.first().is_none_or(|b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(value);
        tlv(0x02, &contents)
    }

    /// A BIT STRING with no unused bits.
    pub(super) fn bit_string(bytes: &[u8]) -> Vec<u8> {
        let mut contents = Vec::with_capacity(bytes.len() + 1);
        contents.push(0);
        contents.extend_from_slice(bytes);
        tlv(0x03, &contents)
    }
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The system's cryptographically secure random number generator failed: no secret can be
/// made, so whatever needed one must fail rather than go on with a guessable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the system's random number generator failed")]
pub struct RngError;

/// `N` bytes from the system CSPRNG (aws-lc's), or the error when it fails.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RngError)?;
    Ok(bytes)
}

/// `N` random bytes as upper-case hex digits (Duende's handle format): the way to make an
/// identifier that is a secret (authorization codes, refresh tokens, client secrets).
pub fn random_hex<const N: usize>() -> Result<String, RngError> {
    Ok(random_bytes::<N>()?
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect())
}

/// 16 random bytes as 32 upper-case hex digits: `jti` values, key ids. For identifiers that
/// are not secrets only: should the RNG fail (aws-lc reports no failure on supported
/// platforms) the id is all zeros, which replay caches then refuse as a repeat. A secret
/// comes from [`random_hex`], whose failure is an error.
pub fn random_id() -> String {
    random_hex::<16>().unwrap_or_else(|RngError| "0".repeat(32))
}

/// Compares two secrets in constant time (API keys, nonces).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

pub mod key_policy;

/// An EC public key as aws-lc reads it: the verification algorithm of `crv` (fixed-length
/// signatures, as JWS has them) and the uncompressed point `0x04 || x || y` (SEC 1 §2.3.3).
pub(crate) fn ec_public_key(
    crv: Curve,
    x: &[u8],
    y: &[u8],
) -> (&'static signature::EcdsaVerificationAlgorithm, Vec<u8>) {
    let algorithm: &'static signature::EcdsaVerificationAlgorithm = match crv {
        Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
        Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        Curve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
    };
    let mut point = Vec::with_capacity(1 + x.len() + y.len());
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    (algorithm, point)
}

#[cfg(test)]
mod tests;
