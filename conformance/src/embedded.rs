//! The testbed the runner embeds: the STS with its IdPs on 127.0.0.1, in-process, with the API
//! under test and a client registered. Its state lives in a data directory the caller names
//! (the command line's `--data-dir`), so its signing key outlives a run: an API that caches
//! the JWKS, as HelseID advises, still trusts the next run's tokens. Without one (tests), a
//! throw-away directory.

use std::path::Path;
use std::sync::Arc;

use helseid_reference::client::{Client, TokenOutcome, TokenRequest};
use helseid_reference::login::{Browser, LoginRequest, UserChoice};
use mock_sts::clock::SystemClock;
use mock_sts::registration::{self, NewClient};
use mock_sts::seed::{self, SeedOptions};
use mock_sts::store::{Api, Delegation, Organisation, Tenancy, TokenBinding};
use mock_sts::{Sts, StsConfig};
use protocol::jose::Alg;
use protocol::signing::SigningKey;
use thiserror::Error;

use crate::scenario::{Binding, ClientTenancy, Scenario};

/// Where a redirect lands; the runner's browser stops there and never connects to it.
pub const REDIRECT_URI: &str = "http://localhost:7890/conformance/callback";

#[derive(Debug, Error)]
pub enum EmbedError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("the embedded STS: {0}")]
    Sts(String),
    #[error("getting the baseline token from the embedded STS: {0}")]
    Token(String),
}

fn sts_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Sts(e.to_string())
}

/// A running embedded testbed. Dropping it stops the server (and removes a throw-away data
/// directory).
#[derive(Debug)]
pub struct Embedded {
    pub issuer: String,
    pub sts: Arc<Sts>,
    /// Conformance sessions at this STS (`<issuer>/s/<id>`, [`crate::session`]).
    pub sessions: Arc<crate::session::Sessions>,
    server: tokio::task::JoinHandle<()>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The population the embedded STS is seeded from: small, fixed, quick to build.
const SEED: SeedOptions = SeedOptions {
    seed: 1,
    population: 2_000,
};

impl Embedded {
    /// Starts the STS and its IdPs on `127.0.0.1:port` (0: any free port) on a throw-away
    /// data directory: new keys, new everything.
    pub async fn start(port: u16) -> Result<Embedded, EmbedError> {
        Embedded::start_in(port, None).await
    }

    /// Starts the STS and its IdPs on `127.0.0.1:port` (0: any free port) with its state in
    /// `data_dir` (created if missing; `None`: a throw-away directory). The first start in a
    /// directory makes the signing key and seeds the population; later starts reuse both.
    pub async fn start_in(port: u16, data_dir: Option<&Path>) -> Result<Embedded, EmbedError> {
        Embedded::start_serving(port, data_dir, |_, sessions, app| {
            crate::session::http::app(sessions, app)
        })
        .await
    }

    /// As [`Embedded::start_in`], serving what `serve` makes of the STS's router (the
    /// testbed's pages around it, say), given the STS and its sessions.
    pub async fn start_serving(
        port: u16,
        data_dir: Option<&Path>,
        serve: impl FnOnce(Arc<Sts>, Arc<crate::session::Sessions>, axum::Router) -> axum::Router,
    ) -> Result<Embedded, EmbedError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| EmbedError::Listen { port, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmbedError::Listen { port, source })?;
        let issuer = format!("http://{addr}");
        let temp = match data_dir {
            Some(_) => None,
            None => Some(tempfile::tempdir().map_err(sts_err)?),
        };
        let dir = match (&temp, data_dir) {
            (Some(t), _) => t.path(),
            (None, Some(d)) => d,
            (None, None) => return Err(EmbedError::Sts("no data directory".into())),
        };
        let clock = Arc::new(SystemClock);
        // The api-key guards the embedded STS's admin endpoints: a secret, from the CSPRNG.
        let api_key = protocol::jose::random_hex::<16>()
            .map_err(|e| EmbedError::Sts(format!("cannot make its api-key: {e}")))?;
        let config = StsConfig::new(&issuer, &api_key);
        let sts = Sts::open(config, dir, clock.clone())
            .map_err(|e| EmbedError::Sts(format!("the data directory {}: {e}", dir.display())))?;
        seed::seed_if_new(&sts.store, SEED, &issuer, dir, sts.now()).map_err(sts_err)?;
        let (sts, app) = mock_sts::app_with_idps(sts, &issuer).map_err(sts_err)?;
        let sessions =
            crate::session::Sessions::new(sts.clone(), crate::session::SessionSettings::default())
                .map_err(sts_err)?;
        let app = serve(sts.clone(), sessions.clone(), app);
        let server = tokio::spawn(async move {
            // The runner reports what it can reach; a server that stops shows as transport
            // errors in the checks' evidence.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Embedded {
            issuer,
            sts,
            sessions,
            server,
            _dir: temp,
        })
    }

    /// Registers the scenario's API (audience and scopes) and its consumer organisation.
    pub fn register_api(&self, scenario: &Scenario) -> Result<(), EmbedError> {
        let Some(api) = &scenario.api else {
            return Err(EmbedError::Sts("the scenario names no API".into()));
        };
        self.sts
            .store
            .put_api(&Api {
                audience: api.audience.clone(),
                name: format!("API under test ({})", api.audience),
                scopes: token_scopes(scenario),
                requires_terms: false,
                token_exchange_clients: vec![],
            })
            .map_err(sts_err)?;
        let known = self.sts.store.organisations().map_err(sts_err)?;
        let missing: Vec<Organisation> = scenario
            .requirements
            .organisations
            .iter()
            .filter(|o| !known.iter().any(|k| &k.orgnr == *o))
            .map(|o| Organisation {
                orgnr: o.clone(),
                name: format!("Organisation {o}"),
                kind: "legal-entity".into(),
                parent: None,
            })
            .collect();
        self.sts
            .store
            .put_organisations(&missing)
            .map_err(sts_err)?;
        Ok(())
    }

    /// The organisation tokens are issued for: the scenario's first, or a seeded one.
    pub fn consumer_org(&self, scenario: &Scenario) -> Result<String, EmbedError> {
        if let Some(o) = scenario.requirements.organisations.first() {
            return Ok(o.clone());
        }
        self.other_org(&[])
    }

    /// A seeded organisation that is none of `not`.
    pub fn other_org(&self, not: &[String]) -> Result<String, EmbedError> {
        self.sts
            .store
            .organisations()
            .map_err(sts_err)?
            .into_iter()
            .filter(|o| o.parent.is_none() && !not.contains(&o.orgnr))
            .map(|o| o.orgnr)
            .next()
            .ok_or_else(|| EmbedError::Sts("no organisation in the seeded environment".into()))
    }

    /// The supplier (EPJ vendor) of a multi-tenant client acting for `orgnr`: a seeded EPJ
    /// vendor if there is one, else any seeded organisation, never one the API serves.
    pub fn supplier_org(&self, scenario: &Scenario, orgnr: &str) -> Result<String, EmbedError> {
        let mut not = scenario.requirements.organisations.clone();
        not.push(orgnr.to_owned());
        let vendor = self
            .sts
            .store
            .organisations()
            .map_err(sts_err)?
            .into_iter()
            .find(|o| o.parent.is_none() && o.kind == "epj-vendor" && !not.contains(&o.orgnr));
        match vendor {
            Some(v) => Ok(v.orgnr),
            None => self.other_org(&not),
        }
    }

    /// A client with the API's scopes, and the reference client acting as it with
    /// `dpop_key` (when the scenario takes DPoP). Single-tenant: a client of `orgnr`.
    /// Multi-tenant (`requirements.tenancy: multi`): a client of [`Embedded::supplier_org`],
    /// to which `orgnr` has delegated, naming `orgnr` in every client assertion.
    pub fn client(
        &self,
        scenario: &Scenario,
        orgnr: &str,
        dpop_key: Option<SigningKey>,
    ) -> Result<Client, EmbedError> {
        let scopes = token_scopes(scenario);
        let binding = match scenario.requirements.token_binding {
            Binding::Dpop => TokenBinding::Dpop,
            Binding::Bearer => TokenBinding::LegacyBearer,
        };
        let multi = scenario.requirements.tenancy == ClientTenancy::Multi;
        let tenancy = if multi {
            let supplier = self.supplier_org(scenario, orgnr)?;
            // The delegation stands in for Altinn's; the API requires no signed terms.
            self.sts
                .store
                .put_delegation(&Delegation {
                    delegator: orgnr.to_owned(),
                    supplier: supplier.clone(),
                    signed_terms: vec![],
                })
                .map_err(sts_err)?;
            Tenancy::MultiTenant {
                supplier_orgnr: supplier,
            }
        } else {
            Tenancy::SingleTenant {
                orgnr: orgnr.to_owned(),
                child_orgnrs: vec![],
            }
        };
        let (mut registered, key) = registration::create(
            &self.sts.store,
            NewClient {
                client_id: None,
                name: "Conformance runner".into(),
                tenancy,
                scopes,
                grant_types: vec![],
                redirect_uris: vec![],
                binding,
                key_expires_at: None,
                origin: "conformance".into(),
            },
            self.sts.now(),
        )
        .map_err(sts_err)?;
        registered.redirect_uris = vec![REDIRECT_URI.into()];
        self.sts.store.put_client(&registered).map_err(sts_err)?;
        let client = Client::new(&registered.client_id, &self.issuer, key).map_err(sts_err)?;
        let client = match dpop_key {
            Some(k) => client.with_dpop_key(k),
            None => client.without_dpop(),
        };
        // A multi-tenant client names the organisation it acts for in every token request
        // (client credentials, the code redemption, refreshes); the STS refuses it otherwise.
        Ok(if multi {
            client
                .with_assertion_details(protocol::assertion_details::multi_tenant_org(orgnr, None))
        } else {
            client
        })
    }

    /// A health worker of the population (pid, HPR number).
    pub fn practitioner(&self) -> Result<(String, String), EmbedError> {
        let population = self.sts.population().map_err(sts_err)?;
        let person = population
            .practitioners()
            .next()
            .ok_or_else(|| EmbedError::Sts("no health personnel in the population".into()))?;
        let hpr = person
            .hpr
            .map(|h| h.hpr_number.to_string())
            .unwrap_or_default();
        Ok((person.pid.to_string(), hpr))
    }

    /// A token the STS issues for the scenario: client credentials for system APIs; for user
    /// APIs, a TestIDP login of a health worker at the required level, then the code (with the
    /// login's ID token).
    pub async fn baseline_token(
        &self,
        scenario: &Scenario,
        client: &Client,
    ) -> Result<Issued, EmbedError> {
        let api = api_of(scenario)?;
        if !scenario.requirements.user_token() {
            return Ok(Issued {
                access_token: self.machine_token(scenario, client).await?,
                id_token: None,
            });
        }
        let tokens = self.login(scenario, client).await?;
        let id_token = tokens.response.id_token.clone();
        if !scenario.requirements.tillitsrammeverk {
            return Ok(Issued {
                access_token: tokens.response.access_token,
                id_token,
            });
        }
        // The trust framework's attestation goes in the client assertion of a refresh for
        // the API (reference §7): the STS validates it and enriches it from the session.
        let refresh_token = tokens.response.refresh_token.ok_or_else(|| {
            EmbedError::Token("the login gave no refresh token to attest with".into())
        })?;
        let refreshed = client
            .refresh(
                &refresh_token,
                Some(&api.audience),
                Some(attested_details(client, &self.consumer_org(scenario)?)?),
            )
            .await
            .map_err(|e| EmbedError::Token(e.to_string()))?;
        Ok(Issued {
            access_token: refreshed.response.access_token,
            id_token,
        })
    }

    /// The ID token of a TestIDP login of a health worker by `client`: an ID token the STS
    /// issued (`aud` the client id, `typ` `JWT`, signed by its key).
    pub async fn id_token(
        &self,
        scenario: &Scenario,
        client: &Client,
    ) -> Result<String, EmbedError> {
        self.login(scenario, client)
            .await?
            .response
            .id_token
            .ok_or_else(|| EmbedError::Token("the login gave no ID token".into()))
    }

    /// A client-credentials token of `client` for the scenario's API: no user. For an API
    /// that requires the Tillitsrammeverk claim, the client assertion carries the
    /// attestation as it does for the baseline, so the token lacks only the user.
    pub async fn machine_token(
        &self,
        scenario: &Scenario,
        client: &Client,
    ) -> Result<String, EmbedError> {
        let api = api_of(scenario)?;
        let details = if scenario.requirements.tillitsrammeverk {
            Some(attested_details(client, &self.consumer_org(scenario)?)?)
        } else {
            None
        };
        let outcome = client
            .token(&TokenRequest {
                scope: Some(token_scopes(scenario).join(" ")),
                resource: Some(api.audience.clone()),
                details,
            })
            .await
            .map_err(|e| EmbedError::Token(e.to_string()))?;
        Ok(outcome.response.access_token)
    }

    /// A TestIDP login of a health worker at the scenario's level (4 when it names none),
    /// the code redeemed for the scenario's API.
    async fn login(
        &self,
        scenario: &Scenario,
        client: &Client,
    ) -> Result<TokenOutcome, EmbedError> {
        let api = api_of(scenario)?;
        let level = scenario.requirements.security_level.unwrap_or(4);
        let (pid, _) = self.practitioner()?;
        let mut scope = vec![
            "openid",
            "profile",
            "offline_access",
            "helseid://scopes/identity/pid",
            "helseid://scopes/identity/security_level",
            // HelseID's samples ask for both levels; an API may judge either (reference §12.1).
            "helseid://scopes/identity/assurance_level",
            "helseid://scopes/hpr/hpr_number",
        ];
        let api_scopes = token_scopes(scenario);
        scope.extend(api_scopes.iter().map(String::as_str));
        let request = LoginRequest {
            redirect_uri: REDIRECT_URI.into(),
            scope: scope.join(" "),
            resources: vec![api.audience.clone()],
            acr_values: Some(format!("idp:testidp-oidc Level{level}")),
            test_pid: Some(pid),
            test_security_level: Some(level),
            ..Default::default()
        };
        let browser = Browser::new().map_err(|e| EmbedError::Token(e.to_string()))?;
        let (_, tokens) = client
            .login_and_redeem(&browser, &request, &UserChoice::default())
            .await
            .map_err(|e| EmbedError::Token(e.to_string()))?;
        Ok(tokens)
    }
}

/// The scenario's API, which every token is for.
fn api_of(scenario: &Scenario) -> Result<&crate::scenario::ApiResource, EmbedError> {
    scenario
        .api
        .as_ref()
        .ok_or_else(|| EmbedError::Token("the scenario names no API".into()))
}

/// What the STS issued for the baseline: the access token, and the ID token of the login
/// when there was one.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub id_token: Option<String>,
}

/// The `assertion_details` that attest with the Tillitsrammeverk profile's example, the
/// health worker employed (`legal_entity`, `point_of_care`) by `org`, the organisation the
/// token is for: an API that compares the two sees one story. Details given to a request
/// replace the client's own, so a multi-tenant client sends its organisation beside the
/// attestation (an array of both, reference §6.2).
fn attested_details(client: &Client, org: &str) -> Result<serde_json::Value, EmbedError> {
    let mut attestation = tillitsrammeverk_attestation()?;
    employ_at(&mut attestation, org);
    Ok(match client.assertion_details() {
        Some(org) => serde_json::Value::Array(vec![org.clone(), attestation]),
        None => attestation,
    })
}

/// Makes `org` the practitioner's legal entity and point of care in `attestation` (an
/// attestation object; anything else is left as it is).
pub fn employ_at(attestation: &mut serde_json::Value, org: &str) {
    for place in ["legal_entity", "point_of_care"] {
        if let Some(id) = attestation
            .get_mut("practitioner")
            .and_then(|p| p.get_mut(place))
            .and_then(|p| p.get_mut("id"))
        {
            *id = serde_json::Value::from(org);
        }
    }
}

/// The attestation of the Tillitsrammeverk profile's example (a GP at a municipal health
/// service documenting care for a patient), as `assertion_details` entry.
pub fn tillitsrammeverk_attestation() -> Result<serde_json::Value, EmbedError> {
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../protocol/testdata/tillitsrammeverk/client_example.json"
    ))
    .map_err(|e| EmbedError::Token(format!("the bundled attestation: {e}")))?;
    Ok(fixture["entry"].clone())
}

/// The scopes tokens carry: the API's required ones, or `<audience>/access` for an API that
/// names none (HelseID issues no token without a scope).
pub fn token_scopes(scenario: &Scenario) -> Vec<String> {
    match &scenario.api {
        Some(api) if !api.scopes.is_empty() => api.scopes.clone(),
        Some(api) => vec![format!("{}/access", api.audience)],
        None => vec![],
    }
}

/// A fresh DPoP key for the runner's client.
pub fn dpop_key() -> Result<SigningKey, EmbedError> {
    SigningKey::generate_ec(Alg::ES256, "runner-dpop".into()).map_err(sts_err)
}
