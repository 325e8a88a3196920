//! The DPoP proof a test token comes with (RFC 9449 §4.2, reference §3.2): header `typ`
//! `dpop+jwt`, `alg`, the public `jwk`; claims `jti`, `htm`, `htu`, `iat` and `ath` for the
//! token. The key is generated (ES256) unless the caller gives its own private JWK, and the
//! token's `cnf.jkt` is its thumbprint.
//!
//! `invalidDPoPProofParameters` asks for one defect (reference §3.5, S
//! `InvalidDPoPProofParameters.cs`); each breaks exactly one of the checks an API makes
//! (RFC 9449 §4.3, §7.1) and leaves the others passing:
//!
//! | defect | what is made | check it breaks |
//! |---|---|---|
//! | `DontSetHtuClaimValue` | no `htu` | §4.3 step 9 |
//! | `DontSetHtmClaimValue` | no `htm` | §4.3 step 8 |
//! | `SetIatValueInThePast` | `iat` [`IAT_OFFSET_SECS`] ago | §4.3 step 11 |
//! | `SetIatValueInTheFuture` | `iat` [`IAT_OFFSET_SECS`] ahead | §4.3 step 11 |
//! | `DontSetAthClaimValue` | no `ath` | §4.3 step 12 |
//! | `DontSetAlgHeader` | no `alg` (signed with the key's algorithm) | §4.3 step 5 |
//! | `DontSetJwkHeader` | no `jwk` | §4.3 step 4 |
//! | `DontSetJtiClaim` | no `jti` | §4.3 step 4 |
//! | `SetAlgHeaderToASymmetricAlgorithm` | `alg` HS256, HMAC with a random secret | §4.3 step 5 |
//! | `SetPrivateKeyInJwkHeader` | `jwk` with the private member `d` | §4.3 step 7 |
//! | `SetInvalidTypHeaderValue` | `typ` `jwt` | §4.3 step 4 |
//! | `SetAnInvalidSignature` | the signature's last byte flipped | §4.3 step 6 |
//! | `SetAnInvalidJktValueInToken` | a valid proof; the token's `cnf.jkt` is not its key's | §7.1 |

use aws_lc_rs::hmac;
use protocol::jose::{self, Alg, b64_encode, sha256_b64};
use protocol::signing::SigningKey;
use protocol::ttt::{DPoPProofParameters, InvalidDPoPProofParameters as Defect, given};
use serde_json::{Map, Value, json};

use super::{TttError, internal};

/// How far `iat` is moved for `SetIatValueInThePast`/`...InTheFuture`: far outside any
/// API's window (the samples allow seconds, Duende a minute, plus skew).
pub const IAT_OFFSET_SECS: i64 = 3600;

/// HTTP methods `htm` may name: RFC 9110 §9 and PATCH (RFC 5789).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// A checked proof request: the key, the target and the defect.
#[derive(Debug)]
pub(super) struct ProofPlan {
    key: SigningKey,
    htm: Option<String>,
    htu: Option<String>,
    defect: Defect,
    token_jkt: String,
}

/// Checks `dPoPProofParameters` and prepares the key.
pub(super) fn plan(params: Option<&DPoPProofParameters>) -> Result<ProofPlan, TttError> {
    let p = params.cloned().unwrap_or_default();
    let defect = p.invalid_dpop_proof_parameters.unwrap_or(Defect::None);
    let htm = given(&p.htm_claim_value).map(check_htm).transpose()?;
    if htm.is_none() && defect != Defect::DontSetHtmClaimValue {
        return Err(TttError::Requires {
            option: "createDPoPTokenWithDPoPProof",
            needed: "dPoPProofParameters.htmClaimValue (unless invalidDPoPProofParameters is DontSetHtmClaimValue)",
        });
    }
    let htu = given(&p.htu_claim_value).map(check_htu).transpose()?;
    if htu.is_none() && defect != Defect::DontSetHtuClaimValue {
        return Err(TttError::Requires {
            option: "createDPoPTokenWithDPoPProof",
            needed: "dPoPProofParameters.htuClaimValue (unless invalidDPoPProofParameters is DontSetHtuClaimValue)",
        });
    }
    let key = match given(&p.private_key_for_proof_creation) {
        Some(text) => caller_key(text)?,
        None => SigningKey::generate_ec(Alg::ES256, jose::random_id()).map_err(internal)?,
    };
    let token_jkt = if defect == Defect::SetAnInvalidJktValueInToken {
        // Well-formed (43 base64url characters) but the thumbprint of no key.
        sha256_b64(jose::random_id().as_bytes())
    } else {
        key.public_jwk().thumbprint()
    };
    Ok(ProofPlan {
        key,
        htm,
        htu,
        defect,
        token_jkt,
    })
}

fn check_htm(htm: &str) -> Result<String, TttError> {
    if METHODS.contains(&htm) {
        Ok(htm.to_owned())
    } else {
        Err(TttError::Htm(htm.to_owned()))
    }
}

fn check_htu(htu: &str) -> Result<String, TttError> {
    let problem = |problem| TttError::Htu {
        value: htu.to_owned(),
        problem,
    };
    let Some((scheme, rest)) = htu.split_once("://") else {
        return Err(problem("is not an absolute URL"));
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(problem("is not an http or https URL"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(problem("has no host"));
    }
    if htu.contains(['?', '#']) {
        return Err(problem(
            "has a query or fragment; htu is the URL without them (RFC 9449 §4.2)",
        ));
    }
    if htu.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(problem("contains whitespace"));
    }
    Ok(htu.to_owned())
}

/// The caller's `privateKeyForProofCreation`: a private RSA or EC JWK.
fn caller_key(text: &str) -> Result<SigningKey, TttError> {
    let jwk: Value =
        serde_json::from_str(text).map_err(|e| TttError::ProofKey(format!("is not JSON: {e}")))?;
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| TttError::ProofKey("is not a JWK: it has no kty".into()))?;
    let default_alg = match kty {
        "RSA" => Alg::RS256,
        "EC" => match jwk.get("crv").and_then(Value::as_str) {
            Some("P-256") => Alg::ES256,
            Some("P-384") => Alg::ES384,
            Some("P-521") => Alg::ES512,
            other => {
                return Err(TttError::ProofKey(format!(
                    "has crv {other:?}; P-256, P-384 and P-521 are supported"
                )));
            }
        },
        other => return Err(TttError::UnsupportedProofKey(other.to_owned())),
    };
    SigningKey::from_private_jwk(&jwk, default_alg).map_err(|e| TttError::ProofKey(e.to_string()))
}

impl ProofPlan {
    /// The `cnf.jkt` the token carries.
    pub(super) fn token_jkt(&self) -> &str {
        &self.token_jkt
    }

    pub(super) fn defect(&self) -> Defect {
        self.defect
    }

    /// The proof for `access_token`, with the planned defect.
    pub(super) fn proof(&self, access_token: &str, now: i64) -> Result<String, TttError> {
        let d = self.defect;
        let symmetric = d == Defect::SetAlgHeaderToASymmetricAlgorithm;

        let mut header = Map::new();
        let typ = if d == Defect::SetInvalidTypHeaderValue {
            "jwt"
        } else {
            "dpop+jwt"
        };
        header.insert("typ".into(), json!(typ));
        if d != Defect::DontSetAlgHeader {
            let alg = if symmetric {
                "HS256"
            } else {
                self.key.alg.as_str()
            };
            header.insert("alg".into(), json!(alg));
        }
        if d != Defect::DontSetJwkHeader {
            let jwk = if d == Defect::SetPrivateKeyInJwkHeader {
                self.key.to_private_jwk().map_err(internal)?
            } else {
                self.key.public_jwk().to_json()
            };
            header.insert("jwk".into(), strip_kid_and_use(jwk));
        }

        let mut claims = Map::new();
        if d != Defect::DontSetJtiClaim {
            claims.insert("jti".into(), json!(jose::random_id()));
        }
        if let Some(htm) = self
            .htm
            .as_ref()
            .filter(|_| d != Defect::DontSetHtmClaimValue)
        {
            claims.insert("htm".into(), json!(htm));
        }
        if let Some(htu) = self
            .htu
            .as_ref()
            .filter(|_| d != Defect::DontSetHtuClaimValue)
        {
            claims.insert("htu".into(), json!(htu));
        }
        let iat = match d {
            Defect::SetIatValueInThePast => now - IAT_OFFSET_SECS,
            Defect::SetIatValueInTheFuture => now + IAT_OFFSET_SECS,
            _ => now,
        };
        claims.insert("iat".into(), json!(iat));
        if d != Defect::DontSetAthClaimValue {
            claims.insert("ath".into(), json!(sha256_b64(access_token.as_bytes())));
        }

        let header = serde_json::to_vec(&header).map_err(internal)?;
        let claims = serde_json::to_vec(&claims).map_err(internal)?;
        let signing_input = format!("{}.{}", b64_encode(&header), b64_encode(&claims));
        let mut signature = if symmetric {
            let mut secret = [0u8; 32];
            aws_lc_rs::rand::fill(&mut secret).map_err(internal)?;
            let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
            hmac::sign(&key, signing_input.as_bytes()).as_ref().to_vec()
        } else {
            self.key
                .sign_raw(signing_input.as_bytes())
                .map_err(internal)?
        };
        if d == Defect::SetAnInvalidSignature
            && let Some(last) = signature.last_mut()
        {
            *last ^= 0x01;
        }
        Ok(format!("{signing_input}.{}", b64_encode(&signature)))
    }
}

/// The JWK as HelseID's libraries put it in a proof: no `kid`, no `use`.
fn strip_kid_and_use(mut jwk: Value) -> Value {
    if let Some(map) = jwk.as_object_mut() {
        map.remove("kid");
        map.remove("use");
    }
    jwk
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htm_is_a_case_sensitive_rfc_9110_method() {
        for m in METHODS {
            assert_eq!(check_htm(m).unwrap(), m);
        }
        for bad in ["get", "Post", "FETCH", ""] {
            assert!(matches!(check_htm(bad), Err(TttError::Htm(_))), "{bad}");
        }
    }

    #[test]
    fn htu_is_an_absolute_http_url_without_query() {
        assert!(check_htu("https://api.example/fhir/Patient").is_ok());
        assert!(check_htu("http://localhost:5081/machine-clients/dpop-greetings").is_ok());
        for bad in [
            "api.example/x",
            "ftp://api.example/x",
            "https:///x",
            "https://api.example/x?y=1",
            "https://api.example/x#f",
            "https://api.example/a b",
        ] {
            assert!(matches!(check_htu(bad), Err(TttError::Htu { .. })), "{bad}");
        }
    }

    #[test]
    fn the_jkt_defect_binds_the_token_to_no_key() {
        let params = DPoPProofParameters {
            htm_claim_value: Some("GET".into()),
            htu_claim_value: Some("https://api.example/x".into()),
            invalid_dpop_proof_parameters: Some(Defect::SetAnInvalidJktValueInToken),
            ..Default::default()
        };
        let plan = plan(Some(&params)).unwrap();
        assert_ne!(plan.token_jkt(), plan.key.public_jwk().thumbprint());
        assert_eq!(plan.token_jkt().len(), 43);
        let valid = super::plan(Some(&DPoPProofParameters {
            invalid_dpop_proof_parameters: None,
            ..params
        }))
        .unwrap();
        assert_eq!(valid.token_jkt(), valid.key.public_jwk().thumbprint());
    }
}
