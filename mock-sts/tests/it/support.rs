//! The test harness: a seeded STS on a free loopback port with a clock the test controls.

use std::path::PathBuf;
use std::sync::Arc;

use helseid_reference::client::{Client, TokenRequest};
pub use mock_sts::clock::Clock;
use mock_sts::clock::OffsetClock;
use mock_sts::registration::{self, NewClient};
use mock_sts::seed::{self, SeedOptions};
use mock_sts::store::{Tenancy, TokenBinding};
use mock_sts::{Sts, StsConfig};
use protocol::client_config::ClientConfigFile;
use protocol::signing::SigningKey;
use serde_json::Value;

pub const API_KEY: &str = "test-api-key";

pub struct Testbed {
    pub issuer: String,
    pub sts: Arc<Sts>,
    pub clock: Arc<OffsetClock>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A registered client with its private key.
pub struct TestClient {
    pub id: String,
    pub key: SigningKey,
}

impl Testbed {
    pub async fn start() -> Testbed {
        let dir = tempfile::tempdir().unwrap();
        Testbed::start_in(dir).await
    }

    /// A testbed whose configuration `adjust` changes first (e.g. to require draft
    /// confirmation).
    pub async fn start_with(adjust: impl FnOnce(&mut StsConfig)) -> Testbed {
        let dir = tempfile::tempdir().unwrap();
        Testbed::start_in_with(dir, adjust).await
    }

    /// Starts (or restarts) a testbed on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir) -> Testbed {
        Testbed::start_in_with(dir, |_| {}).await
    }

    async fn start_in_with(dir: tempfile::TempDir, adjust: impl FnOnce(&mut StsConfig)) -> Testbed {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(OffsetClock::new());
        let mut config = StsConfig::new(&issuer, API_KEY);
        adjust(&mut config);
        let issuer = config.issuer.clone();
        let sts = Sts::open(config, dir.path(), clock.clone()).unwrap();
        seed::seed_if_new(
            &sts.store,
            SeedOptions {
                seed: 7,
                population: 3_000,
            },
            &issuer,
            dir.path(),
            clock.now(),
        )
        .unwrap();
        let listen_base = format!("http://{}", listener.local_addr().unwrap());
        let (sts, app) = mock_sts::app_with_idps(sts, &listen_base).unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Testbed {
            issuer,
            sts,
            clock,
            dir,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// Stops the server and hands back the data directory, for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        self.server.abort();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        self.url("/connect/token")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// The seeded demo client (single-tenant GP office).
    pub fn demo_file(&self) -> ClientConfigFile {
        let text = std::fs::read_to_string(self.dir.path().join(seed::DEMO_CLIENT_FILE)).unwrap();
        protocol::client_config::parse(&text).unwrap()
    }

    pub fn demo(&self) -> TestClient {
        let file = self.demo_file();
        let jwk = file.private_jwk_json().unwrap();
        TestClient {
            id: file.client_id,
            key: SigningKey::from_private_jwk(&jwk, protocol::jose::Alg::PS256).unwrap(),
        }
    }

    /// The reference client acting as `c`.
    pub fn client(&self, c: &TestClient) -> Client {
        let jwk = c.key.to_private_jwk().unwrap();
        let key = SigningKey::from_private_jwk(&jwk, c.key.alg).unwrap();
        Client::new(&c.id, &self.issuer, key).unwrap()
    }

    /// Registers a client.
    pub fn register(&self, tenancy: Tenancy, scopes: &[&str], binding: TokenBinding) -> TestClient {
        let (client, key) = registration::create(
            &self.sts.store,
            NewClient {
                client_id: None,
                name: "Test client".into(),
                tenancy,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                grant_types: vec![],
                redirect_uris: vec![],
                binding,
                key_expires_at: None,
                origin: "test".into(),
            },
            self.clock.now(),
        )
        .unwrap();
        TestClient {
            id: client.client_id,
            key,
        }
    }

    /// A multi-tenant client of a vendor that has delegations, and one delegating organisation
    /// that has signed all terms and one that has signed none.
    pub fn multi_tenant(&self) -> (TestClient, String, String) {
        let delegations = self.sts.store.delegations().unwrap();
        let supplier = delegations[0].supplier.clone();
        let signed = delegations
            .iter()
            .find(|d| d.supplier == supplier && !d.signed_terms.is_empty())
            .map(|d| d.delegator.clone());
        let unsigned = delegations
            .iter()
            .find(|d| d.supplier == supplier && d.signed_terms.is_empty())
            .map(|d| d.delegator.clone());
        let (signed, unsigned) = match (signed, unsigned) {
            (Some(s), Some(u)) => (s, u),
            _ => panic!("the seed should give vendor {supplier} delegators with and without terms"),
        };
        let c = self.register(
            Tenancy::MultiTenant {
                supplier_orgnr: supplier,
            },
            &["nhn:testbed-api/read", "nhn:kjernejournal/api"],
            TokenBinding::Dpop,
        );
        (c, signed, unsigned)
    }

    /// Gets a token for `c` through the full nonce round trip.
    pub async fn token(
        &self,
        c: &TestClient,
        request: TokenRequest,
    ) -> Result<helseid_reference::client::TokenOutcome, helseid_reference::client::ClientError>
    {
        self.client(c).token(&request).await
    }

    /// POSTs a raw form to the token endpoint with optional DPoP header.
    pub async fn post_token(
        &self,
        form: &[(String, String)],
        dpop: Option<String>,
    ) -> (u16, Option<String>, Value) {
        let mut req = self.http.post(self.token_endpoint()).form(form);
        if let Some(p) = dpop {
            req = req.header("DPoP", p);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let nonce = resp
            .headers()
            .get("DPoP-Nonce")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.text().await.unwrap();
        let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, nonce, json)
    }

    /// A valid DPoP nonce from the server.
    pub fn nonce(&self) -> String {
        self.sts.nonces.issue(self.clock.now())
    }
}

/// The form of a client_credentials request with `assertion`, plus `extra` parameters.
pub fn cc_form(
    client_id: &str,
    assertion: String,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("client_id".to_owned(), client_id.to_owned()),
        (
            "client_assertion_type".to_owned(),
            protocol::client_assertion::ASSERTION_TYPE.to_owned(),
        ),
        ("client_assertion".to_owned(), assertion),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form
}

/// Decodes a JWT's payload without checking it.
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&protocol::jose::b64_decode(payload).unwrap()).unwrap()
}

pub fn header_of(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&protocol::jose::b64_decode(header).unwrap()).unwrap()
}

impl Testbed {
    /// A DPoP proof for the token endpoint with a valid server nonce.
    pub fn proof(&self, key: &SigningKey) -> String {
        protocol::dpop::build_proof(
            key,
            "POST",
            &self.token_endpoint(),
            self.clock.now(),
            Some(&self.nonce()),
            None,
        )
        .unwrap()
    }

    /// A client assertion for `c` with `changes` applied to the standard claims (null removes).
    pub fn assertion_with(
        &self,
        c: &TestClient,
        header: serde_json::Map<String, Value>,
        changes: Value,
    ) -> String {
        let now = self.clock.now();
        let mut claims = serde_json::json!({
            "iss": c.id, "sub": c.id, "aud": self.token_endpoint(),
            "iat": now, "nbf": now, "exp": now + 30, "jti": protocol::jose::random_id(),
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        c.key.sign_jwt(header, &claims).unwrap()
    }

    /// Sends a client_credentials request for `c` with `assertion`, a valid proof and nonce.
    pub async fn send(
        &self,
        c: &TestClient,
        assertion: String,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let dpop = dpop_key();
        let (status, _, body) = self
            .post_token(&cc_form(&c.id, assertion, extra), Some(self.proof(&dpop)))
            .await;
        (status, body)
    }
}

/// A fresh DPoP key.
pub fn dpop_key() -> SigningKey {
    SigningKey::generate_ec(protocol::jose::Alg::ES256, "dpop".into()).unwrap()
}

/// Asserts an OAuth error response.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, error: &str, needle: &str) {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(needle),
        "{needle:?} not in {description:?}"
    );
}
