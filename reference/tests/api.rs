//! The reference API against the real STS: tokens minted by the STS (its `/connect/token`
//! with the reference client, its test-token service, or signed directly with its active key
//! for faults the STS would never issue), sent to the API over HTTP.
//!
//! For each validation rule ([`Fault`]): the valid request passes, the faulty one is refused
//! with the right status and `WWW-Authenticate`, and with the matching [`Flaw`] switched on
//! it is accepted. [`each_flaw_opens_only_its_own_hole`] then shows each flaw removes exactly
//! one step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use helseid_reference::api::{self, ApiConfig, ApiState, Flaw, hs256_confusion_secret};
use mock_sts::clock::{Clock as _, OffsetClock, SystemClock};
use mock_sts::registration::{self, NewClient};
use mock_sts::store::{Tenancy, TokenBinding};
use mock_sts::{Sts, StsConfig};
use protocol::claims;
use protocol::dpop::build_proof;
use protocol::jose::{Alg, b64_decode, b64_encode, hmac_sha256, sha256_b64};
use protocol::signing::SigningKey;
use serde_json::{Map, Value, json};

const AUDIENCE: &str = "nhn:testbed-api";
const SCOPE: &str = "nhn:testbed-api/read";
const ORG: &str = "999977774";
const PATH: &str = "/fhir/Patient";

// ---------------------------------------------------------------------------------------
// Harness

/// A running STS with a clock the test sets.
struct Testbed {
    issuer: String,
    sts: Arc<Sts>,
    clock: Arc<OffsetClock>,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Testbed {
    async fn start() -> Testbed {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(OffsetClock::new());
        let sts = Sts::open(
            StsConfig::new(&issuer, "test-api-key"),
            dir.path(),
            clock.clone(),
        )
        .unwrap();
        let sts = Arc::new(sts);
        let app = mock_sts::app(sts.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Testbed {
            issuer,
            sts,
            clock,
            _dir: dir,
            server,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The STS's active signing key.
    fn key(&self) -> Arc<mock_sts::keys::KeyRing> {
        self.sts.keys().unwrap()
    }

    /// Claims of a token that passes [`strict`]: bound to `jkt`, a level-4 user, an
    /// attestation, organisation [`ORG`].
    fn claims(&self, jkt: &str) -> Value {
        let now = self.now();
        json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "scope": [SCOPE, "openid"],
            "client_id": "7e57c11e-0000-4000-8000-000000000001",
            "sub": "MFxFbZkwEzDCInDoQyYqLkGRa2pcIpFN/fAekSK9kj8=",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": protocol::jose::random_id(),
            "cnf": { "jkt": jkt },
            claims::PID: "05076600324",
            claims::SECURITY_LEVEL: "4",
            claims::ORGNR_PARENT: ORG,
            claims::TILLITSRAMMEVERK: attestation(),
        })
    }

    /// A token signed with the STS's active key: [`Testbed::claims`] with `changes`
    /// (null removes), header `typ` `at+jwt` with `header` changes (null removes).
    fn token(&self, jkt: &str, header: Value, changes: Value) -> String {
        let mut claims = self.claims(jkt);
        apply(&mut claims, changes);
        let mut h = json!({"typ": "at+jwt"});
        apply(&mut h, header);
        let h = h.as_object().unwrap().clone();
        self.key().active.sign_jwt(h, &claims).unwrap()
    }
}

fn apply(target: &mut Value, changes: Value) {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            target.as_object_mut().unwrap().remove(k);
        } else {
            target[k] = v.clone();
        }
    }
}

/// The enriched attestation the STS puts in tokens (TR Vedlegg B shape).
fn attestation() -> Value {
    json!({
        "type": "nhn:tillitsrammeverk:parameters",
        "practitioner": {
            "identifier": {"id": "05076600324", "name": "RELEVANT MILJØGIFT", "system": "urn:oid:2.16.578.1.12.4.1.4.1", "authority": "https://www.skatteetaten.no"},
            "authorization": {"code": "LE", "text": "Lege", "system": "urn:oid:2.16.578.1.12.4.1.1.9060", "assigner": "https://www.helsedirektoratet.no/"},
            "legal_entity": {"id": ORG, "name": "GRANFJELLDAL KOMMUNE", "system": "urn:oid:2.16.578.1.12.4.1.4.101", "authority": "https://www.brreg.no"},
            "point_of_care": {"id": "999977776", "system": "urn:oid:2.16.578.1.12.4.1.4.101"}
        },
        "care_relationship": {
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"},
            "purpose_of_use_details": {"code": "POLBESOK", "system": "urn:AuditEventHL7Norway/CodeSystem/carerelation"},
            "decision_ref": {"id": "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B", "user_selected": true}
        },
        "patients": [],
        "attestation": {"toa": 1_700_000_000}
    })
}

/// The strictest configuration: DPoP only, the scope, level 4, an attestation and
/// organisation [`ORG`].
fn strict(tb: &Testbed) -> ApiConfig {
    let mut c = ApiConfig::new(&tb.issuer, AUDIENCE)
        .with_scope(SCOPE)
        .with_dpop();
    c.min_security_level = Some(4);
    c.require_tillitsrammeverk = true;
    c.allowed_orgs = vec![ORG.to_owned()];
    c
}

/// A running reference API with its own clock.
struct Api {
    url: String,
    /// One client per API: building one (its TLS roots) is slow, and a client must not
    /// outlive the test's runtime.
    http: reqwest::Client,
    state: ApiState,
    clock: Arc<AtomicI64>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    async fn start(tb: &Testbed, config: ApiConfig) -> Api {
        let clock = Arc::new(AtomicI64::new(tb.now()));
        let c = clock.clone();
        let state =
            ApiState::with_clock(config, Arc::new(move || c.load(Ordering::SeqCst))).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = api::router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Api {
            url,
            http: reqwest::Client::new(),
            state,
            clock,
            server,
        }
    }

    fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs, Ordering::SeqCst);
    }

    /// A proof for `GET` [`PATH`] with `token`, now.
    fn proof(&self, key: &SigningKey, token: &str) -> String {
        build_proof(
            key,
            "GET",
            &format!("{}{PATH}", self.url),
            self.now(),
            None,
            Some(token),
        )
        .unwrap()
    }
}

/// A request: method, path and headers.
#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
}

impl Req {
    fn get(headers: Vec<(&'static str, String)>) -> Req {
        Req {
            method: "GET",
            path: PATH,
            headers,
        }
    }

    /// `Authorization: DPoP <token>` with a proof for it.
    fn dpop(api: &Api, key: &SigningKey, token: &str) -> Req {
        Req::get(vec![
            ("Authorization", format!("DPoP {token}")),
            ("DPoP", api.proof(key, token)),
        ])
    }
}

/// A response: status, `WWW-Authenticate` values, JSON body.
#[derive(Debug)]
struct Resp {
    status: u16,
    challenges: Vec<String>,
    body: Value,
}

async fn send(api: &Api, req: &Req) -> Resp {
    let http = &api.http;
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = http.request(method, format!("{}{}", api.url, req.path));
    for (name, value) in &req.headers {
        builder = builder.header(*name, value.as_str());
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("WWW-Authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.json().await.unwrap_or(Value::Null);
    Resp {
        status,
        challenges,
        body,
    }
}

fn dpop_key() -> SigningKey {
    SigningKey::generate_ec(Alg::ES256, "dpop".into()).unwrap()
}

#[track_caller]
fn assert_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["ok"], true, "{r:?}");
}

// ---------------------------------------------------------------------------------------
// The faults, one per validation rule

/// One way a request differs from a valid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NoCredentials,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    SeveralAudiences,
    MissingAudience,
    MissingScope,
    AlgNone,
    Hs256WithPublicKey,
    UnknownKid,
    ChangedSignature,
    TamperedPayload,
    OtherKeySameKid,
    OtherTyp,
    MissingTyp,
    NoClientId,
    DpopTokenAsBearer,
    MissingProof,
    ProofWrongHtm,
    ProofWrongHtu,
    ProofWrongAth,
    ReplayedProof,
    ProofByAnotherKey,
    StaleProof,
    FutureProof,
    NoUserIdentity,
    LevelTooLow,
    NoLevel,
    NoTillitsrammeverk,
    MalformedTillitsrammeverk,
    WrongOrganisation,
    SupplierOrganisation,
}

impl Fault {
    const ALL: [Fault; 33] = [
        Fault::NoCredentials,
        Fault::Expired,
        Fault::NotYetValid,
        Fault::WrongIssuer,
        Fault::WrongAudience,
        Fault::SeveralAudiences,
        Fault::MissingAudience,
        Fault::MissingScope,
        Fault::AlgNone,
        Fault::Hs256WithPublicKey,
        Fault::UnknownKid,
        Fault::ChangedSignature,
        Fault::TamperedPayload,
        Fault::OtherKeySameKid,
        Fault::OtherTyp,
        Fault::MissingTyp,
        Fault::NoClientId,
        Fault::DpopTokenAsBearer,
        Fault::MissingProof,
        Fault::ProofWrongHtm,
        Fault::ProofWrongHtu,
        Fault::ProofWrongAth,
        Fault::ReplayedProof,
        Fault::ProofByAnotherKey,
        Fault::StaleProof,
        Fault::FutureProof,
        Fault::NoUserIdentity,
        Fault::LevelTooLow,
        Fault::NoLevel,
        Fault::NoTillitsrammeverk,
        Fault::MalformedTillitsrammeverk,
        Fault::WrongOrganisation,
        Fault::SupplierOrganisation,
    ];

    /// The flaw that lets this fault through (none lets a request without credentials in).
    fn flaw(self) -> Option<Flaw> {
        Some(match self {
            Fault::NoCredentials => return None,
            Fault::Expired => Flaw::SkipExpiry,
            Fault::NotYetValid => Flaw::SkipNotBefore,
            Fault::WrongIssuer => Flaw::SkipIssuer,
            Fault::WrongAudience => Flaw::SkipAudience,
            Fault::SeveralAudiences => Flaw::AcceptSeveralAudiences,
            Fault::MissingAudience => Flaw::AcceptMissingAudience,
            Fault::MissingScope => Flaw::SkipScope,
            Fault::AlgNone => Flaw::AcceptAlgNone,
            Fault::Hs256WithPublicKey => Flaw::AcceptHs256WithPublicKey,
            Fault::UnknownKid => Flaw::AcceptUnknownKid,
            Fault::ChangedSignature | Fault::TamperedPayload | Fault::OtherKeySameKid => {
                Flaw::SkipSignature
            }
            Fault::OtherTyp => Flaw::SkipTyp,
            Fault::MissingTyp => Flaw::AcceptMissingTyp,
            Fault::NoClientId => Flaw::SkipClientId,
            Fault::DpopTokenAsBearer => Flaw::AcceptDpopTokenAsBearer,
            Fault::MissingProof => Flaw::SkipDpopProof,
            Fault::ProofWrongHtm => Flaw::SkipProofHtm,
            Fault::ProofWrongHtu => Flaw::SkipProofHtu,
            Fault::ProofWrongAth => Flaw::SkipProofAth,
            Fault::ReplayedProof => Flaw::SkipProofReplay,
            Fault::ProofByAnotherKey => Flaw::SkipProofKeyBinding,
            Fault::StaleProof | Fault::FutureProof => Flaw::SkipProofIat,
            Fault::NoUserIdentity => Flaw::SkipUser,
            Fault::LevelTooLow | Fault::NoLevel => Flaw::SkipSecurityLevel,
            Fault::NoTillitsrammeverk => Flaw::SkipTillitsrammeverk,
            Fault::MalformedTillitsrammeverk => Flaw::SkipTillitsrammeverkShape,
            Fault::WrongOrganisation => Flaw::SkipOrganisation,
            Fault::SupplierOrganisation => Flaw::SupplierOrganisation,
        })
    }

    /// Whether `flaw` lets this fault through: its own flaw, and the flaws that skip the
    /// whole step the fault's flaw skips part of (`skip-organisation` checks no organisation
    /// at all, `skip-audience` no audience, `skip-typ` no typ).
    fn opened_by(self, flaw: Flaw) -> bool {
        self.flaw() == Some(flaw)
            || (self == Fault::SupplierOrganisation && flaw == Flaw::SkipOrganisation)
            || (matches!(self, Fault::SeveralAudiences | Fault::MissingAudience)
                && flaw == Flaw::SkipAudience)
            || (self == Fault::MissingTyp && flaw == Flaw::SkipTyp)
    }

    /// Status and the start of the challenge a correct (strict) API answers with.
    fn refusal(self) -> (u16, String) {
        let algs = api::dpop_algs();
        match self {
            Fault::NoCredentials => (401, format!(r#"DPoP algs="{algs}""#)),
            Fault::MissingProof
            | Fault::ProofWrongHtm
            | Fault::ProofWrongHtu
            | Fault::ProofWrongAth
            | Fault::ReplayedProof
            | Fault::ProofByAnotherKey
            | Fault::StaleProof
            | Fault::FutureProof => (401, r#"DPoP error="invalid_dpop_proof""#.into()),
            Fault::MissingScope
            | Fault::NoUserIdentity
            | Fault::LevelTooLow
            | Fault::NoLevel
            | Fault::NoTillitsrammeverk
            | Fault::MalformedTillitsrammeverk
            | Fault::WrongOrganisation
            | Fault::SupplierOrganisation => (403, r#"DPoP error="insufficient_scope""#.into()),
            _ => (401, r#"DPoP error="invalid_token""#.into()),
        }
    }

    /// Sends the faulty request to `api` (for a replay: the request twice, answering the
    /// second; the first must pass).
    async fn send(self, tb: &Testbed, api: &Api) -> Resp {
        let key = dpop_key();
        let jkt = key.public_jwk().thumbprint();
        let now = api.now();
        let good = || tb.token(&jkt, json!({}), json!({}));
        let with = |changes: Value| tb.token(&jkt, json!({}), changes);
        let dpop = |token: &str| Req::dpop(api, &key, token);
        let with_proof = |token: &str, proof: String| {
            Req::get(vec![
                ("Authorization", format!("DPoP {token}")),
                ("DPoP", proof),
            ])
        };
        let url = format!("{}{PATH}", api.url);
        let req = match self {
            Fault::NoCredentials => Req::get(vec![]),
            Fault::Expired => dpop(&with(
                json!({"iat": now - 4200, "nbf": now - 4200, "exp": now - 3600}),
            )),
            Fault::NotYetValid => dpop(&with(json!({"nbf": now + 3600}))),
            Fault::WrongIssuer => dpop(&with(json!({"iss": "https://helseid-sts.invalid"}))),
            Fault::WrongAudience => dpop(&with(json!({"aud": "nhn:other-api"}))),
            Fault::SeveralAudiences => dpop(&with(json!({"aud": [AUDIENCE, "nhn:other-api"]}))),
            Fault::MissingAudience => dpop(&with(json!({ "aud": null }))),
            Fault::MissingScope => dpop(&with(json!({"scope": ["nhn:testbed-api/write"]}))),
            Fault::AlgNone => {
                let header = b64_encode(br#"{"alg":"none","typ":"at+jwt"}"#);
                let payload = b64_encode(tb.claims(&jkt).to_string().as_bytes());
                dpop(&format!("{header}.{payload}."))
            }
            Fault::Hs256WithPublicKey => {
                let ring = tb.key();
                let header = json!({"alg": "HS256", "typ": "at+jwt", "kid": ring.active.kid});
                let input = format!(
                    "{}.{}",
                    b64_encode(header.to_string().as_bytes()),
                    b64_encode(tb.claims(&jkt).to_string().as_bytes())
                );
                let mac = hmac_sha256(
                    &hs256_confusion_secret(ring.active.public_jwk()),
                    input.as_bytes(),
                );
                dpop(&format!("{input}.{}", b64_encode(&mac)))
            }
            Fault::UnknownKid => {
                dpop(&tb.token(&jkt, json!({"kid": "0123456789ABCDEF"}), json!({})))
            }
            Fault::ChangedSignature => {
                let token = good();
                let (input, sig) = token.rsplit_once('.').unwrap();
                let mut sig = b64_decode(sig).unwrap();
                sig[10] ^= 0x01;
                dpop(&format!("{input}.{}", b64_encode(&sig)))
            }
            Fault::TamperedPayload => {
                let token = good();
                let parts: Vec<&str> = token.split('.').collect();
                let mut claims: Value =
                    serde_json::from_slice(&b64_decode(parts[1]).unwrap()).unwrap();
                claims["client_id"] = json!("someone-else");
                let payload = b64_encode(claims.to_string().as_bytes());
                dpop(&format!("{}.{payload}.{}", parts[0], parts[2]))
            }
            Fault::OtherKeySameKid => {
                let kid = tb.key().active.kid.clone();
                let other = SigningKey::generate_rsa(2048, Alg::RS256, kid).unwrap();
                let mut h = Map::new();
                h.insert("typ".into(), json!("at+jwt"));
                dpop(&other.sign_jwt(h, &tb.claims(&jkt)).unwrap())
            }
            Fault::OtherTyp => dpop(&tb.token(&jkt, json!({"typ": "dpop+jwt"}), json!({}))),
            Fault::MissingTyp => dpop(&tb.token(&jkt, json!({ "typ": null }), json!({}))),
            Fault::NoClientId => dpop(&with(json!({ "client_id": null }))),
            Fault::DpopTokenAsBearer => {
                Req::get(vec![("Authorization", format!("Bearer {}", good()))])
            }
            Fault::MissingProof => Req::get(vec![("Authorization", format!("DPoP {}", good()))]),
            Fault::ProofWrongHtm => {
                let token = good();
                let proof = build_proof(&key, "POST", &url, now, None, Some(&token)).unwrap();
                with_proof(&token, proof)
            }
            Fault::ProofWrongHtu => {
                let token = good();
                let proof = build_proof(
                    &key,
                    "GET",
                    &format!("{}/other", api.url),
                    now,
                    None,
                    Some(&token),
                )
                .unwrap();
                with_proof(&token, proof)
            }
            Fault::ProofWrongAth => {
                let token = good();
                let proof =
                    build_proof(&key, "GET", &url, now, None, Some("another token")).unwrap();
                with_proof(&token, proof)
            }
            Fault::ReplayedProof => {
                let req = dpop(&good());
                assert_ok(&send(api, &req).await);
                req
            }
            Fault::ProofByAnotherKey => {
                let token = good();
                let proof = build_proof(&dpop_key(), "GET", &url, now, None, Some(&token)).unwrap();
                with_proof(&token, proof)
            }
            Fault::StaleProof => {
                let token = good();
                with_proof(
                    &token,
                    build_proof(&key, "GET", &url, now - 300, None, Some(&token)).unwrap(),
                )
            }
            Fault::FutureProof => {
                let token = good();
                with_proof(
                    &token,
                    build_proof(&key, "GET", &url, now + 300, None, Some(&token)).unwrap(),
                )
            }
            // A level but no pid or HPR number: who logged in is unknown.
            Fault::NoUserIdentity => dpop(&with(json!({ claims::PID: null }))),
            Fault::LevelTooLow => dpop(&with(json!({ claims::SECURITY_LEVEL: "3" }))),
            Fault::NoLevel => dpop(&with(json!({ claims::SECURITY_LEVEL: null }))),
            Fault::NoTillitsrammeverk => dpop(&with(json!({ claims::TILLITSRAMMEVERK: null }))),
            Fault::MalformedTillitsrammeverk => {
                let mut tr = attestation();
                tr["care_relationship"]["purpose_of_use"]["system"] = json!("urn:oid:1.2.3");
                dpop(&with(json!({ claims::TILLITSRAMMEVERK: tr })))
            }
            Fault::WrongOrganisation => dpop(&with(json!({ claims::ORGNR_PARENT: "312232324" }))),
            // A supplier's client acting for an organisation not served; the supplier is.
            Fault::SupplierOrganisation => dpop(&with(json!({
                claims::ORGNR_PARENT: "312232324",
                claims::ORGNR_SUPPLIER: ORG,
                claims::CLIENT_TENANCY: "multi-tenant",
            }))),
        };
        send(api, &req).await
    }
}

/// The valid request passes the strict API; the faulty one is refused with the right status
/// and challenge; with the fault's flaw on, it passes.
async fn check(fault: Fault) {
    let tb = Testbed::start().await;
    let correct = Api::start(&tb, strict(&tb)).await;
    let key = dpop_key();
    let token = tb.token(&key.public_jwk().thumbprint(), json!({}), json!({}));
    assert_ok(&send(&correct, &Req::dpop(&correct, &key, &token)).await);

    let (status, challenge) = fault.refusal();
    let refused = fault.send(&tb, &correct).await;
    assert_eq!(refused.status, status, "{fault:?}: {refused:?}");
    assert_eq!(refused.challenges.len(), 1, "{fault:?}: {refused:?}");
    assert!(
        refused.challenges[0].starts_with(&challenge),
        "{fault:?}: {:?} should start with {challenge:?}",
        refused.challenges[0]
    );
    if let Some(code) = challenge.strip_prefix(r#"DPoP error=""#) {
        let code = code.trim_end_matches('"');
        assert_eq!(refused.body["error"], code, "{fault:?}: {refused:?}");
        assert!(refused.challenges[0].contains("error_description=\""));
        assert!(refused.challenges[0].ends_with(&format!(r#"algs="{}""#, api::dpop_algs())));
    }
    if status == 403 {
        assert!(
            refused.challenges[0].contains(&format!(r#"scope="{SCOPE}""#)),
            "{refused:?}"
        );
    }

    match fault.flaw() {
        Some(flaw) => {
            let flawed = Api::start(&tb, strict(&tb).with_flaw(flaw)).await;
            let accepted = fault.send(&tb, &flawed).await;
            assert_ok(&accepted);
        }
        None => {
            // No flaw lets a request without credentials in; without the challenge it is
            // still refused.
            let flawed = Api::start(&tb, strict(&tb).with_flaw(Flaw::NoWwwAuthenticate)).await;
            let refused = fault.send(&tb, &flawed).await;
            assert_eq!(refused.status, 401);
            assert!(refused.challenges.is_empty(), "{refused:?}");
        }
    }
}

macro_rules! fault_tests {
    ($($name:ident => $fault:ident,)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                check(Fault::$fault).await;
            }
        )+
    };
}

fault_tests! {
    no_credentials_get_a_bare_challenge => NoCredentials,
    expired_token => Expired,
    token_not_yet_valid => NotYetValid,
    wrong_issuer_signed_by_the_sts_key => WrongIssuer,
    wrong_audience => WrongAudience,
    several_audiences => SeveralAudiences,
    missing_scope => MissingScope,
    alg_none => AlgNone,
    hs256_with_the_public_key => Hs256WithPublicKey,
    unknown_kid => UnknownKid,
    changed_signature => ChangedSignature,
    tampered_payload => TamperedPayload,
    other_key_under_the_sts_kid => OtherKeySameKid,
    typ_neither_at_jwt_nor_jwt => OtherTyp,
    no_typ => MissingTyp,
    no_audience => MissingAudience,
    no_client_id => NoClientId,
    no_user_where_a_user_is_needed => NoUserIdentity,
    dpop_token_as_bearer => DpopTokenAsBearer,
    missing_proof => MissingProof,
    proof_for_another_method => ProofWrongHtm,
    proof_for_another_url => ProofWrongHtu,
    proof_for_another_token => ProofWrongAth,
    replayed_proof => ReplayedProof,
    proof_by_another_key => ProofByAnotherKey,
    stale_proof => StaleProof,
    proof_from_the_future => FutureProof,
    level_3_where_4_required => LevelTooLow,
    no_user_where_a_level_is_required => NoLevel,
    missing_tillitsrammeverk => NoTillitsrammeverk,
    malformed_tillitsrammeverk => MalformedTillitsrammeverk,
    wrong_organisation => WrongOrganisation,
    organisation_acted_for_not_the_supplier => SupplierOrganisation,
}

/// Every flaw is shown by at least one fault, and with each flaw on, every other fault is
/// still refused as by the correct API: a flaw removes exactly one step.
#[tokio::test]
async fn each_flaw_opens_only_its_own_hole() {
    for flaw in Flaw::ALL {
        assert!(
            [Flaw::NoWwwAuthenticate, Flaw::OnlyAtJwt].contains(&flaw)
                || Fault::ALL.iter().any(|f| f.flaw() == Some(flaw)),
            "no fault shows {flaw}"
        );
    }
    let tb = Testbed::start().await;
    // OnlyAtJwt opens nothing; it refuses a valid token (access_tokens_with_typ_jwt_pass).
    for flaw in Flaw::ALL.into_iter().filter(|f| *f != Flaw::OnlyAtJwt) {
        let api = Api::start(&tb, strict(&tb).with_flaw(flaw)).await;
        for fault in Fault::ALL {
            let got = fault.send(&tb, &api).await;
            if fault.opened_by(flaw) {
                assert_eq!(
                    got.status, 200,
                    "{flaw} should let {fault:?} through: {got:?}"
                );
                continue;
            }
            let (status, challenge) = fault.refusal();
            assert_eq!(got.status, status, "{flaw} changed {fault:?}: {got:?}");
            if flaw == Flaw::NoWwwAuthenticate {
                assert!(got.challenges.is_empty(), "{fault:?}: {got:?}");
            } else {
                assert!(
                    got.challenges[0].starts_with(&challenge),
                    "{flaw} changed {fault:?}: {got:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tokens the STS issues

/// A client of the STS gets a DPoP token with `client_credentials` and calls the API with
/// the reference client's `api_request`; the API answers with what it read.
/// A client registered at the STS, and its client-credentials DPoP token for [`SCOPE`].
async fn sts_client(
    tb: &Testbed,
) -> (
    helseid_reference::client::Client,
    protocol::oauth::TokenResponse,
) {
    for api_def in mock_sts::seed::demo_apis() {
        tb.sts.store.put_api(&api_def).unwrap();
    }
    let (client, key) = registration::create(
        &tb.sts.store,
        NewClient {
            client_id: None,
            name: "Reference API test".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: ORG.into(),
                child_orgnrs: vec![],
            },
            scopes: vec![SCOPE.into()],
            grant_types: vec![],
            redirect_uris: vec![],
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "test".into(),
        },
        tb.now(),
    )
    .unwrap();
    let client =
        helseid_reference::client::Client::new(&client.client_id, &tb.issuer, key).unwrap();
    let token = client
        .token(&helseid_reference::client::TokenRequest {
            scope: Some(SCOPE.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .response;
    (client, token)
}

/// The reference client follows an API's `use_dpop_nonce` (RFC 9449 §9) as it does the
/// STS's: one more request with a proof carrying the API's nonce.
#[tokio::test]
async fn the_reference_client_follows_an_apis_nonce_challenge() {
    let tb = Testbed::start().await;
    let (client, token) = sts_client(&tb).await;
    let mut config = ApiConfig::new(&tb.issuer, AUDIENCE)
        .with_scope(SCOPE)
        .with_dpop()
        .with_dpop_nonce();
    config.allowed_orgs = vec![ORG.into()];
    let api = Api::start(&tb, config).await;
    api.clock.store(SystemClock.now(), Ordering::SeqCst);
    let url = format!("{}{PATH}", api.url);
    let once = client
        .api_request(reqwest::Method::GET, &url, &token.access_token)
        .unwrap()
        .send()
        .await
        .unwrap();
    assert_eq!(once.status(), 401);
    assert!(once.headers().contains_key("DPoP-Nonce"));
    let followed = client
        .call_api(reqwest::Method::GET, &url, &token.access_token)
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
}

#[tokio::test]
async fn client_credentials_token_from_the_sts_passes() {
    let tb = Testbed::start().await;
    let (client, token) = sts_client(&tb).await;
    assert_eq!(token.token_type, "DPoP");

    let mut config = ApiConfig::new(&tb.issuer, AUDIENCE)
        .with_scope(SCOPE)
        .with_dpop();
    config.allowed_orgs = vec![ORG.into()];
    let api = Api::start(&tb, config).await;
    // The reference client stamps proofs with the machine's clock.
    api.clock.store(SystemClock.now(), Ordering::SeqCst);
    let url = format!("{}/fhir/Patient?identifier=05076600324", api.url);
    let response = client
        .api_request(reqwest::Method::GET, &url, &token.access_token)
        .unwrap()
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], client.client_id.as_str());
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["scope"], SCOPE);
    assert_eq!(body["organisation"], ORG);
    assert_eq!(body["path"], "/fhir/Patient");
    assert_eq!(body["security_level"], Value::Null);

    // The same token without a proof, or with the proof of the previous request, fails.
    let bare = api
        .http
        .get(&url)
        .header("Authorization", format!("DPoP {}", token.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
}

/// A token from the STS's test-token service, with a user, an attestation and the TTT's own
/// DPoP proof, passes the strict API; one with a TTT-made bad proof does not.
#[tokio::test]
async fn test_token_service_token_passes() {
    let tb = Testbed::start().await;
    let mut config = strict(&tb);
    config.allowed_orgs.clear();
    let api = Api::start(&tb, config).await;
    let request = |defect: &str| {
        protocol::ttt::TttTokenRequest::from_json(
            &json!({
                "audience": AUDIENCE,
                "createTillitsrammeverkClaims": true,
                "createDPoPTokenWithDPoPProof": true,
                "dPoPProofParameters": {
                    "htuClaimValue": format!("{}{PATH}", api.url),
                    "htmClaimValue": "GET",
                    "invalidDPoPProofParameters": defect,
                },
                "clientClaimsParameters": { "scope": [SCOPE] },
            })
            .to_string(),
        )
        .unwrap()
    };
    let issued = mock_sts::ttt::issue(&tb.sts, &request("None")).unwrap();
    let req = Req::get(vec![
        ("Authorization", format!("DPoP {}", issued.access_token)),
        ("DPoP", issued.dpop_proof.unwrap()),
    ]);
    let got = send(&api, &req).await;
    assert_ok(&got);
    assert_eq!(got.body["security_level"], 4);

    for defect in [
        "SetAnInvalidSignature",
        "DontSetAthClaimValue",
        "SetAnInvalidJktValueInToken",
    ] {
        let issued = mock_sts::ttt::issue(&tb.sts, &request(defect)).unwrap();
        let req = Req::get(vec![
            ("Authorization", format!("DPoP {}", issued.access_token)),
            ("DPoP", issued.dpop_proof.unwrap()),
        ]);
        let got = send(&api, &req).await;
        assert_eq!(got.status, 401, "{defect}: {got:?}");
        assert!(
            got.challenges[0].starts_with(r#"DPoP error="invalid_dpop_proof""#),
            "{defect}: {got:?}"
        );
    }
}

/// HelseID's rule: "The API must verify that the typ header value is at+jwt or JWT". Both
/// pass, in any case and with the `application/` prefix RFC 7515 §4.1.9 implies; so does a
/// token the test-token service issues with `typ` `jwt`.
#[tokio::test]
async fn access_tokens_with_typ_jwt_pass() {
    let tb = Testbed::start().await;
    let api = Api::start(&tb, strict(&tb)).await;
    let key = dpop_key();
    let jkt = key.public_jwk().thumbprint();
    for typ in [
        "JWT",
        "jwt",
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "application/jwt",
    ] {
        let token = tb.token(&jkt, json!({ "typ": typ }), json!({}));
        let got = send(&api, &Req::dpop(&api, &key, &token)).await;
        assert_eq!(got.status, 200, "typ {typ}: {got:?}");
    }
    // The only-at-jwt flaw (RFC 9068 §4 read alone) refuses JWT and keeps at+jwt.
    let strict_rfc = Api::start(&tb, strict(&tb).with_flaw(Flaw::OnlyAtJwt)).await;
    for (typ, status) in [
        ("JWT", 401),
        ("jwt", 401),
        ("at+jwt", 200),
        ("application/at+jwt", 200),
    ] {
        let token = tb.token(&jkt, json!({ "typ": typ }), json!({}));
        let got = send(&strict_rfc, &Req::dpop(&strict_rfc, &key, &token)).await;
        assert_eq!(got.status, status, "typ {typ}: {got:?}");
    }
    let mut config = strict(&tb);
    config.allowed_orgs.clear();
    let api = Api::start(&tb, config).await;
    let request = protocol::ttt::TttTokenRequest::from_json(
        &json!({
            "audience": AUDIENCE,
            "createTillitsrammeverkClaims": true,
            "createDPoPTokenWithDPoPProof": true,
            "headerParameters": { "typ": "jwt" },
            "dPoPProofParameters": {
                "htuClaimValue": format!("{}{PATH}", api.url),
                "htmClaimValue": "GET",
            },
            "clientClaimsParameters": { "scope": [SCOPE] },
        })
        .to_string(),
    )
    .unwrap();
    let issued = mock_sts::ttt::issue(&tb.sts, &request).unwrap();
    let header: Value = serde_json::from_slice(
        &b64_decode(issued.access_token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "jwt");
    let req = Req::get(vec![
        ("Authorization", format!("DPoP {}", issued.access_token)),
        ("DPoP", issued.dpop_proof.unwrap()),
    ]);
    assert_ok(&send(&api, &req).await);
}

// ---------------------------------------------------------------------------------------
// Bearer tokens, keys, robustness

/// Without `require_dpop`, an unbound token passes as Bearer and refusals of Bearer requests
/// challenge with Bearer; a bound one still needs DPoP; with `require_dpop`, Bearer fails.
#[tokio::test]
async fn bearer_tokens_where_allowed() {
    let tb = Testbed::start().await;
    let api = Api::start(&tb, ApiConfig::new(&tb.issuer, AUDIENCE).with_scope(SCOPE)).await;
    let unbound = tb.token("", json!({}), json!({"cnf": null}));
    let bearer = |t: &str| Req::get(vec![("Authorization", format!("Bearer {t}"))]);
    let got = send(&api, &bearer(&unbound)).await;
    assert_ok(&got);
    assert_eq!(got.body["token_type"], "Bearer");
    assert!(got.body.get("jkt").is_none());

    let got = send(&api, &Req::get(vec![])).await;
    assert_eq!(got.status, 401);
    assert_eq!(
        got.challenges,
        vec![
            "Bearer".to_owned(),
            format!(r#"DPoP algs="{}""#, api::dpop_algs())
        ]
    );

    let expired = tb.token("", json!({}), json!({"cnf": null, "exp": tb.now() - 3600}));
    let got = send(&api, &bearer(&expired)).await;
    assert_eq!(got.status, 401);
    assert!(
        got.challenges[0].starts_with(
            r#"Bearer error="invalid_token", error_description="the access token expired"#
        ),
        "{got:?}"
    );
    assert!(!got.challenges[0].contains("algs="));

    let narrow = tb.token("", json!({}), json!({"cnf": null, "scope": "openid"}));
    let got = send(&api, &bearer(&narrow)).await;
    assert_eq!(got.status, 403);
    assert_eq!(
        got.challenges,
        vec![format!(
            r#"Bearer error="insufficient_scope", error_description="the access token lacks the scope {SCOPE}", scope="{SCOPE}""#
        )]
    );

    // A bound token as Bearer: refused, and the challenge says DPoP.
    let key = dpop_key();
    let bound = tb.token(&key.public_jwk().thumbprint(), json!({}), json!({}));
    let got = send(&api, &bearer(&bound)).await;
    assert_eq!(got.status, 401);
    assert!(
        got.challenges[0].starts_with(r#"DPoP error="invalid_token""#),
        "{got:?}"
    );
    // ... but passes with its proof.
    assert_ok(&send(&api, &Req::dpop(&api, &key, &bound)).await);
    // An unbound token with the DPoP scheme is refused.
    let got = send(&api, &Req::dpop(&api, &key, &unbound)).await;
    assert_eq!(got.status, 401);
    assert!(
        got.body["error_description"]
            .as_str()
            .unwrap()
            .contains("not DPoP-bound")
    );

    let dpop_only = Api::start(&tb, ApiConfig::new(&tb.issuer, AUDIENCE).with_dpop()).await;
    let got = send(&dpop_only, &bearer(&unbound)).await;
    assert_eq!(got.status, 401);
    assert!(
        got.challenges[0].starts_with(r#"DPoP error="invalid_token""#),
        "{got:?}"
    );
}

/// After the STS rotates its key, tokens signed with the new key pass once the API may
/// refetch (at most every 10 s); a flood of unknown kids does not make it refetch more.
#[tokio::test]
async fn key_rotation_is_picked_up_and_refetches_are_rate_limited() {
    let tb = Testbed::start().await;
    let api = Api::start(&tb, strict(&tb)).await;
    let key = dpop_key();
    let jkt = key.public_jwk().thumbprint();
    assert_ok(
        &send(
            &api,
            &Req::dpop(&api, &key, &tb.token(&jkt, json!({}), json!({}))),
        )
        .await,
    );
    assert_eq!(api.state.jwks.fetches(), 1);

    let before_rotation = tb.token(&jkt, json!({}), json!({}));
    let old_kid = tb.key().active.kid.clone();
    let new_kid = tb.sts.rotate_keys().unwrap();
    assert_ne!(old_kid, new_kid);
    let rotated = tb.token(&jkt, json!({}), json!({}));

    // Within 10 s of the last fetch the new kid is unknown, and no refetch happens.
    api.advance(5);
    let got = send(&api, &Req::dpop(&api, &key, &rotated)).await;
    assert_eq!(got.status, 401);
    assert!(
        got.body["error_description"]
            .as_str()
            .unwrap()
            .contains(&new_kid),
        "{got:?}"
    );
    assert_eq!(api.state.jwks.fetches(), 1);

    // Later, the unknown kid triggers one refetch, which finds it.
    api.advance(6);
    assert_ok(&send(&api, &Req::dpop(&api, &key, &rotated)).await);
    assert_eq!(api.state.jwks.fetches(), 2);
    // The replaced key is still published (the STS's overlap), so tokens it signed pass.
    assert_ok(&send(&api, &Req::dpop(&api, &key, &before_rotation)).await);
    assert_eq!(api.state.jwks.fetches(), 2);

    // A flood of made-up kids: at most one fetch per 10 s.
    let ring = tb.key();
    for i in 0..20 {
        let mut h = Map::new();
        h.insert("typ".into(), json!("at+jwt"));
        h.insert("kid".into(), json!(format!("FLOOD{i}")));
        let token = ring.active.sign_jwt(h, &tb.claims(&jkt)).unwrap();
        let got = send(&api, &Req::dpop(&api, &key, &token)).await;
        assert_eq!(got.status, 401);
    }
    assert_eq!(api.state.jwks.fetches(), 2);
    api.advance(10);
    let mut h = Map::new();
    h.insert("kid".into(), json!("FLOOD-LATER"));
    h.insert("typ".into(), json!("at+jwt"));
    let token = ring.active.sign_jwt(h, &tb.claims(&jkt)).unwrap();
    assert_eq!(send(&api, &Req::dpop(&api, &key, &token)).await.status, 401);
    assert_eq!(api.state.jwks.fetches(), 3);
}

/// Garbage in any part of the request never gets a 5xx.
#[tokio::test]
async fn malformed_input_never_gets_a_5xx() {
    let tb = Testbed::start().await;
    let api = Api::start(&tb, strict(&tb)).await;
    let key = dpop_key();
    let jkt = key.public_jwk().thumbprint();
    let signed = |claims: Value| tb.token(&jkt, json!({}), claims);
    let mut tokens = vec![
        String::new(),
        "a".into(),
        "a.b".into(),
        "a.b.c".into(),
        "....".into(),
        format!("{}.{}.", b64_encode(b"[]"), b64_encode(b"{}")),
        format!(
            "{}.{}.AA",
            b64_encode(br#"{"alg":"RS256"}"#),
            b64_encode(b"null")
        ),
        format!(
            "{}.{}.AA",
            b64_encode(br#"{"alg":7,"kid":[]}"#),
            b64_encode(b"{}")
        ),
        format!(
            "{}.{}.AA",
            b64_encode(br#"{"alg":"HS512","typ":"at+jwt"}"#),
            b64_encode(b"{}")
        ),
        format!(
            "{}.{}.AA",
            b64_encode("{\"alg\":\"H\u{e9}\",\"typ\":\"at+jwt\"}".as_bytes()),
            b64_encode(b"{}")
        ),
        "A".repeat(70_000),
    ];
    for changes in [
        json!({"exp": "tomorrow"}),
        json!({"exp": i64::MIN, "iat": i64::MAX, "nbf": -1}),
        json!({"exp": 1e300}),
        json!({"iss": 7}),
        json!({"aud": {"x": 1}}),
        json!({"scope": {"x": 1}}),
        json!({"client_id": 5}),
        json!({"cnf": "x"}),
        json!({"cnf": {"jkt": 5}}),
        json!({ claims::SECURITY_LEVEL: [4] }),
        json!({ claims::SECURITY_LEVEL: "99999999999999999999" }),
        json!({ claims::TILLITSRAMMEVERK: 17 }),
        json!({ claims::TILLITSRAMMEVERK: "{\"type\": 1}" }),
        json!({ claims::ORGNR_PARENT: ["x"] }),
    ] {
        tokens.push(signed(changes));
    }
    for token in &tokens {
        for scheme in ["DPoP", "Bearer", "Basic", "dpop"] {
            let proof = api.proof(&key, token);
            for proof in [proof.as_str(), "", "x.y.z", "\u{1}"] {
                let mut headers = vec![("Authorization", format!("{scheme} {token}"))];
                if !proof.contains('\u{1}') {
                    headers.push(("DPoP", proof.to_owned()));
                }
                let got = send(&api, &Req::get(headers)).await;
                assert!(
                    got.status < 500,
                    "{scheme} {}...: {got:?}",
                    token.chars().take(40).collect::<String>()
                );
            }
        }
    }
    // Two Authorization headers: 400 invalid_request; two proofs: invalid_dpop_proof.
    let token = signed(json!({}));
    let got = send(
        &api,
        &Req::get(vec![
            ("Authorization", format!("DPoP {token}")),
            ("Authorization", format!("DPoP {token}")),
        ]),
    )
    .await;
    assert_eq!(got.status, 400);
    assert!(
        got.challenges[0].starts_with(r#"DPoP error="invalid_request""#),
        "{got:?}"
    );
    let got = send(
        &api,
        &Req::get(vec![
            ("Authorization", format!("DPoP {token}")),
            ("DPoP", api.proof(&key, &token)),
            ("DPoP", api.proof(&key, &token)),
        ]),
    )
    .await;
    assert_eq!(got.status, 401);
    assert!(
        got.challenges[0].starts_with(r#"DPoP error="invalid_dpop_proof""#),
        "{got:?}"
    );
    // Non-ASCII bytes in the header.
    let response = api
        .http
        .get(format!("{}{PATH}", api.url))
        .header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"DPoP \xe6\xf8\xe5").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The proof's ath equals the hash of the token actually sent (sanity of the harness).
    assert_eq!(sha256_b64(token.as_bytes()).len(), 43);
}

/// When the STS cannot be reached, a request with a token gets 503 (the API cannot decide),
/// one without credentials still 401.
#[tokio::test]
async fn unreachable_issuer() {
    let tb = Testbed::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let api = Api::start(&tb, ApiConfig::new(&dead, AUDIENCE)).await;
    let key = dpop_key();
    let token = tb.token(&key.public_jwk().thumbprint(), json!({}), json!({}));
    let got = send(&api, &Req::dpop(&api, &key, &token)).await;
    assert_eq!(got.status, 503, "{got:?}");
    assert_eq!(got.body["error"], "temporarily_unavailable");
    assert_eq!(send(&api, &Req::get(vec![])).await.status, 401);
}

/// Kills the child process when the test ends, also on panic.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary prints where it listens first, and serves the API there.
#[tokio::test]
async fn reference_api_binary() {
    use std::io::BufRead as _;
    let tb = Testbed::start().await;
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_reference-api"))
            .args([
                "--issuer",
                &tb.issuer,
                "--audience",
                AUDIENCE,
                "--scope",
                SCOPE,
            ])
            .args([
                "--dpop",
                "--level",
                "4",
                "--flaw",
                "skip-expiry",
                "--port",
                "0",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    let url = first
        .trim_end()
        .strip_prefix("listening: ")
        .unwrap()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");

    let response = reqwest::get(format!("{url}/anything")).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["WWW-Authenticate"],
        format!(r#"DPoP algs="{}""#, api::dpop_algs()).as_str()
    );

    // The binary runs on the machine's clock, as does the STS here (its manual clock
    // started at the machine's time); an expired token passes because of --flaw skip-expiry.
    let key = dpop_key();
    let now = SystemClock.now();
    let token = tb.token(
        &key.public_jwk().thumbprint(),
        json!({}),
        json!({"exp": now - 3600, "nbf": now - 4000, "iat": now - 4000}),
    );
    let proof = build_proof(
        &key,
        "GET",
        &format!("{url}{PATH}"),
        now,
        None,
        Some(&token),
    )
    .unwrap();
    let response = reqwest::Client::new()
        .get(format!("{url}{PATH}"))
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// An API whose scopes are alternatives (Persontjenesten's `read-with-legal-basis` or
/// `read-no-legal-basis`): a token with any one of them passes, one with none gets 403
/// `insufficient_scope` naming a scope that would do.
#[tokio::test]
async fn alternative_scopes_need_one_of_them() {
    let tb = Testbed::start().await;
    let config = ApiConfig::new(&tb.issuer, AUDIENCE).with_any_scope(&["a:x/one", "a:x/two"]);
    let api = Api::start(&tb, config).await;
    let key = dpop_key();
    let jkt = key.public_jwk().thumbprint();
    for scope in [json!(["a:x/two"]), json!("openid a:x/one")] {
        let token = tb.token(&jkt, json!({}), json!({ "scope": scope }));
        assert_ok(&send(&api, &Req::dpop(&api, &key, &token)).await);
    }
    let token = tb.token(&jkt, json!({}), json!({ "scope": [SCOPE, "a:x/three"] }));
    let r = send(&api, &Req::dpop(&api, &key, &token)).await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["error"], "insufficient_scope");
    assert!(
        r.challenges[0].contains(r#"scope="a:x/one""#),
        "{:?}",
        r.challenges
    );
}

/// RFC 9449 §9: an API that requires nonces answers a proof without one, or with one it did
/// not issue or issued too long ago, with 401 `use_dpop_nonce` and a fresh `DPoP-Nonce`; a
/// proof with that nonce passes.
#[tokio::test]
async fn an_api_that_requires_dpop_nonces_challenges_then_accepts() {
    let tb = Testbed::start().await;
    let api = Api::start(&tb, strict(&tb).with_dpop_nonce()).await;
    let key = dpop_key();
    let token = tb.token(&key.public_jwk().thumbprint(), json!({}), json!({}));
    let url = format!("{}{PATH}", api.url);
    let call = |proof: String| {
        api.http
            .get(&url)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .send()
    };
    let with_nonce = |nonce: Option<&str>| {
        build_proof(&key, "GET", &url, api.now(), nonce, Some(&token)).unwrap()
    };

    let challenged = call(with_nonce(None)).await.unwrap();
    assert_eq!(challenged.status(), 401);
    let challenge = challenged.headers()["WWW-Authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"DPoP error="use_dpop_nonce""#),
        "{challenge}"
    );
    let nonce = challenged.headers()["DPoP-Nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = challenged.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");

    let ok = call(with_nonce(Some(&nonce))).await.unwrap();
    assert_eq!(ok.status(), 200);

    // A nonce the API never issued, and its own once stale, are challenged again.
    let forged = call(with_nonce(Some("bm90LWEtbm9uY2U"))).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert!(forged.headers().contains_key("DPoP-Nonce"));
    api.advance(protocol::dpop_nonce::NONCE_LIFETIME_SECS + 1);
    let stale = call(with_nonce(Some(&nonce))).await.unwrap();
    assert_eq!(stale.status(), 401);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");

    // Without the requirement, a proof without a nonce passes.
    let plain = Api::start(&tb, strict(&tb)).await;
    assert_ok(&send(&plain, &Req::dpop(&plain, &key, &token)).await);
}
