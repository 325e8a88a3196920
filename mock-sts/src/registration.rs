//! Registering clients: the testbed's equivalent of creating a client in HelseID's portal,
//! used by seeding, `helseid-testbed client create`, `--config <client file>` and the
//! Selvbetjening API.
//!
//! A client created here gets a fresh key pair; the private half leaves only in the portal's
//! client configuration file format ([`protocol::client_config`]), so the same file works
//! against the testbed and, with another `authority` and `clientId`, against HelseID.

use std::io::Write as _;
use std::path::Path;

use protocol::client_config::{
    self, ClientConfigFile, SECRET_TYPE_RSA_PRIVATE_KEY_JWT, TestbedExtension,
};
use protocol::jose::key_policy::{self, KeyPolicyError};
use protocol::jose::{Alg, RngError, random_bytes};
use protocol::signing::{KeyError, SigningKey};
use serde_json::Value;
use thiserror::Error;

use crate::clock::rfc3339;
use crate::store::{Api, Client, ClientKey, Store, StoreError, Tenancy, TokenBinding};

/// Key size of generated client keys. HelseID's portal makes 4096-bit keys; 2048 keeps
/// `client create` instant and is what HelseID accepts as a minimum.
pub const CLIENT_KEY_BITS: usize = 2048;

#[derive(Debug, Error)]
pub enum RegistrationError {
    #[error("scope {0:?} is not a scope of any API in this environment")]
    UnknownScope(String),
    #[error("organisation number {0:?} is not 9 digits")]
    OrgNr(String),
    #[error("the client's public key {0}")]
    PublicKey(#[from] KeyPolicyError),
    #[error("key: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("client id {0:?} is already registered")]
    Exists(String),
    #[error("client configuration file: {0}")]
    ConfigFile(String),
    #[error("writing {path}: {detail}")]
    Write { path: String, detail: String },
    #[error("{0}, so no client id could be made")]
    Random(#[from] RngError),
    #[error("audience {0:?} is not <prefix>:<name> in lower case (letters, digits, '-', '_', '.')")]
    Audience(String),
    #[error("an API with audience {0:?} is already registered")]
    ApiExists(String),
    #[error("scope {scope:?} is not {audience}/<name> (no spaces)")]
    ApiScope { scope: String, audience: String },
    #[error("an API needs at least one scope")]
    NoApiScopes,
}

/// A new API of the environment, checked: the audience is `<prefix>:<name>` in lower case
/// (`nhn:kjernejournal`, HelseID's shape), new, and every scope is `<audience>/<name>`.
/// The self-service page registers APIs with it.
pub fn new_api(
    store: &Store,
    audience: &str,
    name: &str,
    scopes: &[String],
) -> Result<Api, RegistrationError> {
    let audience = audience.trim();
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    };
    match audience.split_once(':') {
        Some((prefix, rest)) if part_ok(prefix) && part_ok(rest) => {}
        _ => return Err(RegistrationError::Audience(audience.to_owned())),
    }
    if store.api(audience)?.is_some() {
        return Err(RegistrationError::ApiExists(audience.to_owned()));
    }
    let mut checked = Vec::new();
    for scope in scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let ok = scope
            .strip_prefix(audience)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace));
        if !ok {
            return Err(RegistrationError::ApiScope {
                scope: scope.to_owned(),
                audience: audience.to_owned(),
            });
        }
        if !checked.iter().any(|c: &String| c == scope) {
            checked.push(scope.to_owned());
        }
    }
    if checked.is_empty() {
        return Err(RegistrationError::NoApiScopes);
    }
    let api = Api {
        audience: audience.to_owned(),
        name: if name.trim().is_empty() {
            audience.to_owned()
        } else {
            name.trim().to_owned()
        },
        scopes: checked,
        requires_terms: false,
        token_exchange_clients: vec![],
    };
    store.put_api(&api)?;
    Ok(api)
}

/// What a new client should be.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: Option<String>,
    pub name: String,
    pub tenancy: Tenancy,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub binding: TokenBinding,
    pub key_expires_at: Option<i64>,
    pub origin: String,
}

/// A random GUID (RFC 9562 version 4), the shape of HelseID client ids. Not a secret, but a
/// failing RNG would give every client the same id, so the failure is an error.
pub fn new_client_id() -> Result<String, RngError> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Checks the scopes against the environment's APIs (and HelseID's own client scopes, such
/// as [`crate::token::SCOPE_CLIENT_INFO`]) and the org numbers' shape.
pub fn check(store: &Store, scopes: &[String], tenancy: &Tenancy) -> Result<(), RegistrationError> {
    let apis = store.apis()?;
    if let Some(unknown) = scopes.iter().find(|s| {
        !crate::token::is_helseid_client_scope(s) && !apis.iter().any(|a| a.scopes.contains(s))
    }) {
        return Err(RegistrationError::UnknownScope(unknown.clone()));
    }
    let mut orgs = vec![tenancy.owner().to_owned()];
    if let Tenancy::SingleTenant { child_orgnrs, .. } = tenancy {
        orgs.extend(child_orgnrs.iter().cloned());
    }
    for o in orgs {
        protocol::assertion_details::org_number(&o)
            .map_err(|_| RegistrationError::OrgNr(o.clone()))?;
    }
    Ok(())
}

/// Registers a client with a new key; returns it and the private key.
pub fn create(
    store: &Store,
    new: NewClient,
    now: i64,
) -> Result<(Client, SigningKey), RegistrationError> {
    check(store, &new.scopes, &new.tenancy)?;
    let key = SigningKey::generate_rsa(CLIENT_KEY_BITS, Alg::PS256, protocol::jose::random_id())?;
    // Generated here, but held to the rule every registered key meets.
    let jwk = key_policy::check_client_jwk(&key.public_jwk().to_json())?.to_json();
    let client = Client {
        client_id: match new.client_id {
            Some(id) => id,
            None => new_client_id()?,
        },
        name: new.name,
        tenancy: new.tenancy,
        scopes: new.scopes,
        grant_types: if new.grant_types.is_empty() {
            vec!["client_credentials".into()]
        } else {
            new.grant_types
        },
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: Vec::new(),
        frontchannel_logout_uri: None,
        audience_specific_claims: Vec::new(),
        keys: vec![ClientKey {
            jwk,
            created_at: now,
            expires_at: new.key_expires_at,
        }],
        binding: new.binding,
        confirmed: true,
        created_at: now,
        origin: new.origin,
        confirmation_redirect_uri: None,
    };
    if !store.insert_client(&client)? {
        return Err(RegistrationError::Exists(client.client_id));
    }
    Ok((client, key))
}

/// The portal's client configuration file for `client` with its private `key`.
/// The scopes a client's configuration file lists: as HelseID's portal downloads them, a
/// login client's identity scopes (`openid`, and `offline_access` when it may refresh) come
/// first, then its API scopes. The STS grants login clients the identity scopes without
/// registering them, so they are not in [`Client::scopes`].
pub fn config_scopes(client: &Client) -> Vec<String> {
    let grants = |g: &str| client.grant_types.iter().any(|t| t == g);
    let mut scopes = Vec::new();
    if grants("authorization_code") {
        scopes.push(crate::identity::SCOPE_OPENID.to_owned());
        if grants("refresh_token") {
            scopes.push(crate::identity::SCOPE_OFFLINE.to_owned());
        }
    }
    for s in &client.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    scopes
}

pub fn config_file(
    client: &Client,
    key: &SigningKey,
    issuer: &str,
) -> Result<ClientConfigFile, RegistrationError> {
    let private_jwk = key.to_private_jwk()?;
    let (tenancy, organization_number, supplier, children) = match &client.tenancy {
        Tenancy::SingleTenant {
            orgnr,
            child_orgnrs,
        } => (
            client_config::Tenancy::SingleTenant,
            Some(orgnr.clone()),
            None,
            child_orgnrs.clone(),
        ),
        Tenancy::MultiTenant { supplier_orgnr } => (
            client_config::Tenancy::MultiTenant,
            None,
            Some(supplier_orgnr.clone()),
            Vec::new(),
        ),
    };
    Ok(ClientConfigFile {
        client_name: Some(client.name.clone()),
        authority: Some(issuer.to_owned()),
        client_id: client.client_id.clone(),
        grant_types: Some(client.grant_types.clone()),
        scopes: Some(config_scopes(client)),
        redirect_uris: Some(client.redirect_uris.clone()),
        post_logout_redirect_uris: Some(client.post_logout_redirect_uris.clone()),
        secret_type: Some(SECRET_TYPE_RSA_PRIVATE_KEY_JWT.into()),
        rsa_private_key: None,
        rsa_key_size_bits: Some(CLIENT_KEY_BITS as u32),
        private_jwk: Some(private_jwk.to_string()),
        pkce_required: Some(true),
        testbed: Some(TestbedExtension {
            organization_number,
            tenancy: Some(tenancy),
            child_organization_numbers: children,
            supplier_organization_number: supplier,
            dpop: client.binding == TokenBinding::Dpop,
            key_expiration: client.keys.first().and_then(|k| k.expires_at).map(rfc3339),
        }),
        other: serde_json::Map::new(),
    })
}

/// Registers the client a portal configuration file describes (its public key derived from
/// `privateJwk`). A file without the testbed extension becomes a single-tenant client of
/// `default_orgnr`. An already registered id is updated: the file wins.
pub fn import(
    store: &Store,
    file: &ClientConfigFile,
    default_orgnr: &str,
    now: i64,
) -> Result<Client, RegistrationError> {
    let private = file
        .private_jwk_json()
        .map_err(|e| RegistrationError::ConfigFile(e.to_string()))?;
    let public = match &private {
        Value::Object(map) => key_policy::check_client_jwk(&key_policy::public_members(map))?,
        _ => {
            return Err(RegistrationError::PublicKey(KeyPolicyError::Jwk(
                protocol::jose::JwkError::NotObject,
            )));
        }
    };
    // Without an `alg`, an RSA key signs PS256 (HelseID's portal files) and an EC key the
    // algorithm of its curve.
    let default_alg = match &public.material {
        protocol::jose::KeyMaterial::Ec { crv, .. } => crv.alg(),
        _ => Alg::PS256,
    };
    // The key must also work as a private key, or the client could never authenticate.
    SigningKey::from_private_jwk(&private, default_alg)?;
    let ext = file.testbed.clone().unwrap_or_default();
    let tenancy = match ext.tenancy {
        Some(client_config::Tenancy::MultiTenant) => Tenancy::MultiTenant {
            supplier_orgnr: ext
                .supplier_organization_number
                .or(ext.organization_number)
                .unwrap_or_else(|| default_orgnr.to_owned()),
        },
        _ => Tenancy::SingleTenant {
            orgnr: ext
                .organization_number
                .unwrap_or_else(|| default_orgnr.to_owned()),
            child_orgnrs: ext.child_organization_numbers,
        },
    };
    let scopes: Vec<String> = file
        .scopes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.contains('/'))
        .collect();
    check(store, &scopes, &tenancy)?;
    let mut jwk = public.to_json();
    if jwk.get("alg").is_none()
        && let Some(map) = jwk.as_object_mut()
    {
        map.insert("alg".into(), default_alg.to_string().into());
    }
    let client = Client {
        client_id: file.client_id.clone(),
        name: file
            .client_name
            .clone()
            .unwrap_or_else(|| file.client_id.clone()),
        tenancy,
        scopes,
        grant_types: file
            .grant_types
            .clone()
            .unwrap_or_else(|| vec!["client_credentials".into()]),
        redirect_uris: file.redirect_uris.clone().unwrap_or_default(),
        post_logout_redirect_uris: file.post_logout_redirect_uris.clone().unwrap_or_default(),
        frontchannel_logout_uri: None,
        audience_specific_claims: Vec::new(),
        keys: vec![ClientKey {
            jwk,
            created_at: now,
            expires_at: None,
        }],
        binding: if file.dpop_enabled() {
            TokenBinding::Dpop
        } else {
            TokenBinding::LegacyBearer
        },
        confirmed: true,
        created_at: now,
        origin: "config".into(),
        confirmation_redirect_uri: None,
    };
    store.put_client(&client)?;
    Ok(client)
}

/// Writes a client configuration file atomically, readable by the owner only (it holds a
/// private key).
pub fn write_config_file(path: &Path, file: &ClientConfigFile) -> Result<(), RegistrationError> {
    let err = |e: std::io::Error| RegistrationError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let text = file
        .to_json_pretty()
        .map_err(|e| RegistrationError::ConfigFile(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.write_all(b"\n").map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_new_client() -> NewClient {
        NewClient {
            client_id: None,
            name: "c".into(),
            tenancy: Tenancy::SingleTenant {
                orgnr: "999977774".into(),
                child_orgnrs: vec![],
            },
            scopes: vec![],
            grant_types: vec![],
            redirect_uris: vec![],
            binding: TokenBinding::Dpop,
            key_expires_at: None,
            origin: "cli".into(),
        }
    }

    #[test]
    fn a_config_file_key_is_held_to_the_client_key_policy() {
        let store = Store::in_memory().unwrap();
        let new = a_new_client();
        let (client, key) = create(&store, new, 0).unwrap();
        let file = config_file(&client, &key, "https://sts.test").unwrap();
        let imported = import(&store, &file, "999977774", 1).unwrap();
        assert_eq!(imported.keys[0].jwk, client.keys[0].jwk);

        let mut private = key.to_private_jwk().unwrap();
        private["n"] = protocol::jose::b64_encode(&[0xff; 2048]).into();
        let huge = ClientConfigFile {
            private_jwk: Some(private.to_string()),
            ..file.clone()
        };
        let e = import(&store, &huge, "999977774", 2).unwrap_err();
        assert!(
            matches!(
                e,
                RegistrationError::PublicKey(KeyPolicyError::RsaTooLarge(16384))
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "the client's public key has an RSA modulus of 16384 bits; at most 8192 are accepted"
        );
        let mut enc = key.to_private_jwk().unwrap();
        enc["use"] = "enc".into();
        let enc = ClientConfigFile {
            private_jwk: Some(enc.to_string()),
            ..file
        };
        assert!(matches!(
            import(&store, &enc, "999977774", 3),
            Err(RegistrationError::PublicKey(KeyPolicyError::Use(_)))
        ));
        // The refused files changed nothing.
        let stored = store.client(&client.client_id).unwrap().unwrap();
        assert_eq!(stored.keys[0].jwk, client.keys[0].jwk);
    }

    #[test]
    fn a_config_file_key_without_alg_gets_its_key_types_algorithm() {
        let store = Store::in_memory().unwrap();
        let new = a_new_client();
        let (client, rsa) = create(&store, new, 0).unwrap();
        let file = config_file(&client, &rsa, "https://sts.test").unwrap();
        for (key, alg) in [
            (rsa, "PS256"),
            (
                SigningKey::generate_ec(Alg::ES384, "ec".into()).unwrap(),
                "ES384",
            ),
        ] {
            let mut private = key.to_private_jwk().unwrap();
            if let Some(map) = private.as_object_mut() {
                map.remove("alg");
            }
            let file = ClientConfigFile {
                private_jwk: Some(private.to_string()),
                ..file.clone()
            };
            let imported = import(&store, &file, "999977774", 1).unwrap();
            assert_eq!(imported.keys[0].jwk["alg"], alg);
        }
    }

    #[test]
    fn a_new_api_has_helseids_audience_and_scopes_of_its_own() {
        let store = Store::in_memory().unwrap();
        let scopes = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let api = new_api(
            &store,
            "nhn:journal",
            "",
            &scopes(&[
                "nhn:journal/read",
                " nhn:journal/read",
                "",
                "nhn:journal/write",
            ]),
        )
        .unwrap();
        assert_eq!(api.name, "nhn:journal");
        assert_eq!(
            api.scopes,
            scopes(&["nhn:journal/read", "nhn:journal/write"])
        );
        assert!(store.api("nhn:journal").unwrap().is_some());
        for (audience, scope, wrong) in [
            ("journal", "journal/read", "is not <prefix>:<name>"),
            ("nhn:Journal", "nhn:Journal/read", "is not <prefix>:<name>"),
            ("nhn:", "nhn:/read", "is not <prefix>:<name>"),
            ("nhn:journal", "nhn:journal/read", "already registered"),
            ("nhn:other", "nhn:journal/read", "is not nhn:other/<name>"),
            ("nhn:other", "nhn:other/", "is not nhn:other/<name>"),
            ("nhn:other", "nhn:other/a b", "is not nhn:other/<name>"),
        ] {
            let e = new_api(&store, audience, "x", &scopes(&[scope])).unwrap_err();
            assert!(e.to_string().contains(wrong), "{audience} {scope}: {e}");
        }
        let e = new_api(&store, "nhn:empty", "x", &[]).unwrap_err();
        assert!(matches!(e, RegistrationError::NoApiScopes));
    }
}
