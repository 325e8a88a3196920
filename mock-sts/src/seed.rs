//! The environment a fresh data directory starts with: synthpop's organisations (with
//! Altinn-style delegations from each health organisation to the EPJ vendor it uses), HelseID's
//! own sample organisations, a few APIs, and one demo client ready to get a token.
//!
//! Seeding happens once per data directory; the seed and population size are recorded so
//! `/testbed/environment` can show the same test persons on every start.

use std::path::{Path, PathBuf};

use synthpop::{OrgKind, Population};

use crate::registration::{self, NewClient};
use crate::store::{Api, Delegation, Organisation, Store, StoreError, Tenancy, TokenBinding};

/// The client configuration file of the demo client, in the data directory.
pub const DEMO_CLIENT_FILE: &str = "demo-client.json";
/// The demo login client's file: a client with a redirect URI, for user logins.
pub const DEMO_LOGIN_CLIENT_FILE: &str = "demo-login-client.json";
/// Where the demo login client says it receives codes (nothing needs to listen there: the
/// testbed's `login` command stops at the redirect and reads the code).
pub const DEMO_REDIRECT_URI: &str = "http://localhost:7890/callback";
pub const DEMO_POST_LOGOUT_URI: &str = "http://localhost:7890/signed-out";
/// Persons in the default population (enough for a dozen GP offices).
pub const DEFAULT_POPULATION: u64 = 20_000;

/// HelseID's test-environment sample organisations (reference §6.2), so HelseID.Samples run
/// unchanged: Granfjelldal kommune with two units, delegating to the supplier Acme EPJ.
pub const SAMPLE_PARENT: &str = "999977774";
pub const SAMPLE_CHILDREN: [&str; 2] = ["999977776", "999977775"];
pub const SAMPLE_SUPPLIER: &str = "313745392";
/// The names of [`SAMPLE_CHILDREN`], in the same order.
pub const SAMPLE_CHILD_NAMES: [&str; 2] = [
    "Granfjelldal kommune bo- og omsorgssenter",
    "Granfjelldal kommune legekontor",
];

pub mod helseid_samples;

/// What `up --profile` seeds on top of the default environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The default environment only.
    #[default]
    Default,
    /// The default environment plus the clients, APIs, organisations and delegations of
    /// NorskHelsenett's HelseID.Samples ([`helseid_samples`]).
    HelseidSamples,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Default, Profile::HelseidSamples];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::HelseidSamples => helseid_samples::NAME,
        }
    }

    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Applies `profile` to a seeded store. Idempotent: every record is an upsert, so applying
/// it to a data directory that already has it changes nothing (see
/// [`helseid_samples::apply`]). The default profile adds nothing.
pub fn apply_profile(
    store: &Store,
    profile: Profile,
    now: i64,
) -> Result<Option<helseid_samples::Applied>, SeedError> {
    match profile {
        Profile::Default => Ok(None),
        Profile::HelseidSamples => helseid_samples::apply(store, now).map(Some),
    }
}

/// The person API's scope a client is given by default (`.../read-with-legal-basis`).
pub fn persontjenesten_read_scope() -> String {
    format!("{PERSONTJENESTEN_AUDIENCE}/{}", PERSONTJENESTEN_SCOPES[0])
}

/// Where `up` serves the person API under the issuer (Persontjenesten's test environment
/// uses `/persontjenesten/fhir/`).
pub const PERSONTJENESTEN_PATH: &str = "/persontjenesten/fhir";

/// The audience of the person API (`nhn:hgd-persontjenesten-api`).
pub const PERSONTJENESTEN_AUDIENCE: &str = "nhn:hgd-persontjenesten-api";
/// Its scopes, as public HelseID code asks for them; any one of them lets a client read.
pub const PERSONTJENESTEN_SCOPES: [&str; 4] = [
    "read-with-legal-basis",
    "read-no-legal-basis",
    "restricted-access",
    "full-access",
];

/// The demo APIs. `nhn:kjernejournal` requires signed terms, so a delegation without them shows
/// `rejected_scope`/`invalid_scope`.
pub fn demo_apis() -> Vec<Api> {
    let api = |audience: &str, name: &str, scopes: &[&str], requires_terms: bool| Api {
        audience: audience.into(),
        name: name.into(),
        scopes: scopes.iter().map(|s| format!("{audience}/{s}")).collect(),
        requires_terms,
        token_exchange_clients: Vec::new(),
    };
    vec![
        api(
            "nhn:testbed-api",
            "Testbed sample API",
            &["read", "write"],
            false,
        ),
        api(
            "nhn:kjernejournal",
            "Kjernejournal (stand-in)",
            &["api"],
            true,
        ),
        api(
            "nhn:test-public-samplecode",
            "HelseID.Samples sample API",
            &["client-credentials", "authorization-code"],
            false,
        ),
        // NHN's person API, served by the testbed over the synthetic population (the
        // `persontjenesten` crate). Audience and scope names as HelseID.Library's README and
        // NHN's Persontjenesten samples use them.
        api(
            PERSONTJENESTEN_AUDIENCE,
            "Persontjenesten (FHIR R4, synthetic population)",
            &PERSONTJENESTEN_SCOPES,
            false,
        ),
        api(
            protocol::claims::SELVBETJENING_AUDIENCE,
            "HelseID Selvbetjening",
            &["client"],
            false,
        ),
    ]
}

#[derive(Debug, Clone, Copy)]
pub struct SeedOptions {
    pub seed: u64,
    pub population: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            seed: synthpop::DEFAULT_SEED,
            population: DEFAULT_POPULATION,
        }
    }
}

/// What seeding made.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub demo_client_id: String,
    pub demo_client_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("population: {0}")]
    Population(String),
    #[error(transparent)]
    Registration(#[from] registration::RegistrationError),
}

/// The recorded seed options of a seeded store.
pub fn recorded(store: &Store) -> Result<Option<SeedOptions>, StoreError> {
    let (Some(seed), Some(size)) = (store.meta("seed")?, store.meta("population")?) else {
        return Ok(None);
    };
    Ok(seed
        .parse()
        .ok()
        .zip(size.parse().ok())
        .map(|(seed, population)| SeedOptions { seed, population }))
}

/// Seeds `store` unless it already is; writes the demo client's file into `data_dir`.
pub fn seed_if_new(
    store: &Store,
    options: SeedOptions,
    issuer: &str,
    data_dir: &Path,
    now: i64,
) -> Result<Option<Seeded>, SeedError> {
    if store.meta("seeded")?.is_some() {
        return Ok(None);
    }
    let population = Population::new(options.seed, options.population)
        .map_err(|e| SeedError::Population(e.to_string()))?;
    for api in demo_apis() {
        store.put_api(&api)?;
    }
    let mut orgs: Vec<Organisation> = population
        .organisations()
        .iter()
        .map(|o| Organisation {
            orgnr: o.orgnr.to_string(),
            name: o.name.clone(),
            kind: kind_name(o.kind),
            parent: o.parent.map(|p| p.to_string()),
        })
        .collect();
    orgs.push(Organisation {
        orgnr: SAMPLE_PARENT.into(),
        name: "GRANFJELLDAL KOMMUNE".into(),
        kind: kind_name(OrgKind::Municipality),
        parent: None,
    });
    // The units' names as HelseID.Samples give them (`Configuration/ConfigurationValues.cs`,
    // `GranfjelldalKommuneChildOrganizationName1`/`2`).
    for (child, name) in SAMPLE_CHILDREN.iter().zip(SAMPLE_CHILD_NAMES) {
        orgs.push(Organisation {
            orgnr: (*child).into(),
            name: name.into(),
            kind: kind_name(OrgKind::MunicipalityUnit),
            parent: Some(SAMPLE_PARENT.into()),
        });
    }
    orgs.push(Organisation {
        orgnr: SAMPLE_SUPPLIER.into(),
        name: "ACME EPJ AS".into(),
        kind: kind_name(OrgKind::EpjVendor),
        parent: None,
    });
    store.put_organisations(&orgs)?;

    // Every legal entity delegates to the vendor of its EPJ; every other one has also signed
    // the terms of the APIs that require them.
    let terms: Vec<String> = demo_apis()
        .into_iter()
        .filter(|a| a.requires_terms)
        .map(|a| a.audience)
        .collect();
    let mut delegators = 0usize;
    for o in population.organisations() {
        if let (true, Some(vendor)) = (o.kind.is_legal_entity(), o.epj_vendor) {
            store.put_delegation(&Delegation {
                delegator: o.orgnr.to_string(),
                supplier: vendor.to_string(),
                signed_terms: if delegators.is_multiple_of(2) {
                    terms.clone()
                } else {
                    Vec::new()
                },
            })?;
            delegators += 1;
        }
    }
    store.put_delegation(&Delegation {
        delegator: SAMPLE_PARENT.into(),
        supplier: SAMPLE_SUPPLIER.into(),
        signed_terms: terms,
    })?;

    // The demo client is single-tenant, so its first token needs no assertion_details: a GP
    // office that may also name its business unit.
    let office = population
        .organisations()
        .iter()
        .find(|o| o.kind == OrgKind::GpOffice);
    let (owner, children) = match office {
        Some(o) => (
            o.orgnr.to_string(),
            o.children.iter().map(ToString::to_string).collect(),
        ),
        None => (
            SAMPLE_PARENT.to_owned(),
            SAMPLE_CHILDREN.map(str::to_owned).to_vec(),
        ),
    };
    let scopes = demo_apis().into_iter().flat_map(|a| a.scopes).collect();
    let (client, key) = registration::create(
        store,
        NewClient {
            client_id: None,
            name: "Testbed demo client".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: owner,
                child_orgnrs: children,
            },
            scopes,
            grant_types: vec!["client_credentials".into()],
            redirect_uris: Vec::new(),
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "seed".into(),
        },
        now,
    )?;
    let path = data_dir.join(DEMO_CLIENT_FILE);
    registration::write_config_file(&path, &registration::config_file(&client, &key, issuer)?)?;

    let login_scopes = demo_apis()
        .into_iter()
        .filter(|a| a.audience != protocol::claims::SELVBETJENING_AUDIENCE)
        .flat_map(|a| a.scopes)
        .collect();
    let (mut login_client, login_key) = registration::create(
        store,
        NewClient {
            client_id: None,
            name: "Testbed demo login client".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: SAMPLE_PARENT.into(),
                child_orgnrs: SAMPLE_CHILDREN.map(str::to_owned).to_vec(),
            },
            scopes: login_scopes,
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            redirect_uris: vec![DEMO_REDIRECT_URI.into()],
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "seed".into(),
        },
        now,
    )?;
    login_client.post_logout_redirect_uris = vec![DEMO_POST_LOGOUT_URI.into()];
    store.put_client(&login_client)?;
    registration::write_config_file(
        &data_dir.join(DEMO_LOGIN_CLIENT_FILE),
        &registration::config_file(&login_client, &login_key, issuer)?,
    )?;
    store.set_meta("seed", &options.seed.to_string())?;
    store.set_meta("population", &options.population.to_string())?;
    store.set_meta("demo_client_id", &client.client_id)?;
    store.set_meta("seeded", &now.to_string())?;
    Ok(Some(Seeded {
        demo_client_id: client.client_id,
        demo_client_file: path,
    }))
}

fn kind_name(kind: OrgKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
