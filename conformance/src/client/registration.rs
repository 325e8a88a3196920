//! The client under test at the embedded STS: the probe API it calls, its registration (a
//! fresh key pair) and the client configuration file in HelseID's portal format.

use mock_sts::registration::{self, NewClient};
use mock_sts::store::{Api, Tenancy, TokenBinding};

use super::{PROBE_AUDIENCE, PROBE_SCOPE};
use crate::embedded::{Embedded, REDIRECT_URI};
use crate::scenario::{ClientTarget, ClientTenancy};

/// The client as registered, and where its configuration file is.
#[derive(Debug)]
pub struct Registered {
    pub client_id: String,
    pub config_path: std::path::PathBuf,
    /// The organisation a multi-tenant client acts for (`HELSEID_ORGNR`).
    pub orgnr: Option<String>,
    /// Where the STS sends the user back (the authorization responses).
    pub redirect_uris: Vec<String>,
    /// The client's registered keys, as the STS verifies its assertions with them.
    pub keys: Vec<protocol::client_assertion::RegisteredKey>,
    _dir: tempfile::TempDir,
}

/// Registers the probe API and the client at the embedded STS and writes the client's
/// configuration file.
pub fn register(embedded: &Embedded, c: &ClientTarget) -> Result<Registered, String> {
    let store = &embedded.sts.store;
    store
        .put_api(&Api {
            audience: PROBE_AUDIENCE.into(),
            name: "Conformance probe API".into(),
            scopes: vec![PROBE_SCOPE.into()],
            requires_terms: false,
            token_exchange_clients: vec![],
        })
        .map_err(|e| e.to_string())?;
    // A multi-tenant client belongs to a seeded supplier and acts for an organisation that
    // delegated to it (the probe API requires no signed terms).
    let (tenancy, orgnr) = match c.tenancy {
        ClientTenancy::Single => {
            let org = embedded.other_org(&[]).map_err(|e| e.to_string())?;
            (
                Tenancy::SingleTenant {
                    orgnr: org,
                    child_orgnrs: vec![],
                },
                None,
            )
        }
        ClientTenancy::Multi => {
            let d = store
                .delegations()
                .map_err(|e| e.to_string())?
                .into_iter()
                .next()
                .ok_or("the seeded environment has no delegation to a supplier")?;
            (
                Tenancy::MultiTenant {
                    supplier_orgnr: d.supplier,
                },
                Some(d.delegator),
            )
        }
    };
    // API scopes only: the STS gives every login client the identity scopes (openid,
    // profile, offline_access, helseid://scopes/identity/...).
    // A scenario whose client calls the person API instead of the probe
    // (`HELSEID_PERSON_API`) lists its scope in `scopes`.
    let mut scopes = vec![PROBE_SCOPE.to_owned()];
    for s in &c.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    let grant_types: Vec<String> = if c.login {
        vec!["authorization_code".into(), "refresh_token".into()]
    } else {
        vec!["client_credentials".into()]
    };
    let redirect_uris: Vec<String> = match (c.login, c.redirect_uris.is_empty()) {
        (false, _) => vec![],
        (true, true) => vec![REDIRECT_URI.into()],
        (true, false) => c.redirect_uris.clone(),
    };
    let (client, key) = registration::create(
        store,
        NewClient {
            client_id: None,
            name: "Client under test".into(),
            tenancy,
            scopes,
            grant_types,
            redirect_uris,
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "conformance".into(),
        },
        embedded.sts.now(),
    )
    .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config_path = dir.path().join("client-config.json");
    let file =
        registration::config_file(&client, &key, &embedded.issuer).map_err(|e| e.to_string())?;
    registration::write_config_file(&config_path, &file).map_err(|e| e.to_string())?;
    let keys = mock_sts::client_auth::registered_keys(&client);
    Ok(Registered {
        client_id: client.client_id,
        config_path,
        orgnr,
        keys,
        redirect_uris: client.redirect_uris,
        _dir: dir,
    })
}
