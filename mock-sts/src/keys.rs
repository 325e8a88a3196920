//! The STS's token-signing keys: RS256 with a hex `kid`, as HelseID publishes them (reference
//! §1.2), served at `/.well-known/openid-configuration/jwks`; keys replaced by a rotation stay
//! there for an overlap period, then move to `/connect/expiredjwks` (Duende's key management:
//! announce, sign, retain).
//!
//! Keys are created on first start and by `helseid-testbed keys rotate`, stored as PKCS#8 in
//! SQLite, and reloaded by a running server when the database changes.

use std::sync::{Arc, RwLock};

use protocol::jose::{Alg, PublicJwk};
use protocol::signing::{KeyError, SigningKey};
use serde_json::{Value, json};
use thiserror::Error;

use crate::store::{Store, StoreError, StoredKey};

/// RSA modulus size of the STS key.
pub const KEY_BITS: usize = 2048;

#[derive(Debug, Error)]
pub enum KeysError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key {kid}: {source}")]
    Key { kid: String, source: KeyError },
    #[error("there is no signing key")]
    NoKey,
}

/// One key with its lifecycle times.
#[derive(Debug, Clone)]
pub struct RingKey {
    pub public: PublicJwk,
    pub created_at: i64,
    pub replaced_at: Option<i64>,
}

/// All keys, parsed; the active one ready to sign.
#[derive(Debug)]
pub struct KeyRing {
    pub active: SigningKey,
    pub keys: Vec<RingKey>,
    /// How long a replaced key is still published.
    pub overlap: i64,
}

impl KeyRing {
    /// Keys a token may be verified with now: the active one and those replaced less than
    /// the overlap ago.
    pub fn published(&self, now: i64) -> impl Iterator<Item = &RingKey> {
        self.keys
            .iter()
            .filter(move |k| k.replaced_at.is_none_or(|at| now < at + self.overlap))
    }

    /// Keys no longer published.
    pub fn expired(&self, now: i64) -> impl Iterator<Item = &RingKey> {
        self.keys
            .iter()
            .filter(move |k| k.replaced_at.is_some_and(|at| now >= at + self.overlap))
    }

    pub fn jwks(&self, now: i64) -> Value {
        json!({ "keys": self.published(now).map(|k| k.public.to_json()).collect::<Vec<_>>() })
    }

    pub fn expired_jwks(&self, now: i64) -> Value {
        json!({ "keys": self.expired(now).map(|k| k.public.to_json()).collect::<Vec<_>>() })
    }

    /// The published key with `kid`.
    pub fn find(&self, kid: &str, now: i64) -> Option<&PublicJwk> {
        self.published(now)
            .find(|k| k.public.kid.as_deref() == Some(kid))
            .map(|k| &k.public)
    }
}

/// A hex `kid` like HelseID's (upper-case hex of random bytes).
pub fn new_kid() -> String {
    protocol::jose::random_id()
}

/// The STS's own key ring (a conformance session's is `s/<id>`).
pub const MAIN_RING: &str = "";

/// Creates a signing key and makes it the active one of `ring`; returns its `kid`.
pub fn rotate(store: &Store, ring: &str, now: i64) -> Result<String, KeysError> {
    let kid = new_kid();
    let key = SigningKey::generate_rsa(KEY_BITS, Alg::RS256, kid.clone()).map_err(|source| {
        KeysError::Key {
            kid: kid.clone(),
            source,
        }
    })?;
    let pkcs8 = key.to_pkcs8().map_err(|source| KeysError::Key {
        kid: kid.clone(),
        source,
    })?;
    store.add_signing_key(
        ring,
        &StoredKey {
            kid: kid.clone(),
            alg: Alg::RS256.as_str().into(),
            pkcs8,
            created_at: now,
            replaced_at: None,
        },
        now,
    )?;
    Ok(kid)
}

/// Reads the key ring `ring`, creating its first key if there is none.
pub fn load(store: &Store, ring: &str, now: i64, overlap: i64) -> Result<KeyRing, KeysError> {
    let mut stored = store.signing_keys(ring)?;
    if stored.is_empty() {
        rotate(store, ring, now)?;
        stored = store.signing_keys(ring)?;
    }
    let mut keys = Vec::with_capacity(stored.len());
    let mut active = None;
    for s in stored {
        let alg = Alg::parse(&s.alg).unwrap_or(Alg::RS256);
        let key = SigningKey::from_pkcs8(&s.pkcs8, alg, s.kid.clone()).map_err(|source| {
            KeysError::Key {
                kid: s.kid.clone(),
                source,
            }
        })?;
        keys.push(RingKey {
            public: key.public_jwk().clone(),
            created_at: s.created_at,
            replaced_at: s.replaced_at,
        });
        if s.replaced_at.is_none() {
            active = Some(key);
        }
    }
    Ok(KeyRing {
        active: active.ok_or(KeysError::NoKey)?,
        keys,
        overlap,
    })
}

/// The key ring of a running server, reloaded when another process changed the database.
#[derive(Debug)]
pub struct KeyCache {
    ring: String,
    current: RwLock<(i64, Arc<KeyRing>)>,
}

impl KeyCache {
    pub fn new(store: &Store, ring: &str, now: i64, overlap: i64) -> Result<KeyCache, KeysError> {
        let name = ring.to_owned();
        let ring = load(store, ring, now, overlap)?;
        let version = store.data_version()?;
        Ok(KeyCache {
            ring: name,
            current: RwLock::new((version, Arc::new(ring))),
        })
    }

    /// The current ring; reloads it first if the database changed since it was read.
    pub fn ring(&self, store: &Store, now: i64) -> Result<Arc<KeyRing>, KeysError> {
        let version = store.data_version()?;
        {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            if current.0 == version {
                return Ok(current.1.clone());
            }
        }
        let overlap = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .overlap;
        let ring = Arc::new(load(store, &self.ring, now, overlap)?);
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        *current = (version, ring.clone());
        Ok(ring)
    }

    /// Reloads unconditionally (after this process rotated).
    pub fn reload(&self, store: &Store, now: i64) -> Result<(), KeysError> {
        let overlap = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .overlap;
        let ring = Arc::new(load(store, &self.ring, now, overlap)?);
        let version = store.data_version()?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (version, ring);
        Ok(())
    }
}
