//! Bounded replay caches for client-assertion `jti`s (reference §2.3: "A client assertion
//! should only be used once") and DPoP proof `jti`s (RFC 9449 §11.1), shared by the STS and
//! the reference API.
//!
//! An entry lives until the token it guards could no longer be accepted anyway. The cache is
//! bounded and swept as time passes ([`crate::expiring`]): when full of live entries the
//! request is refused rather than an unexpired entry forgotten, which would reopen a replay.
//!
//! One of this crate's few stateful types (with [`crate::clock::ManualClock`]): it holds
//! memory but does no I/O and reads no clock (the caller passes `now`).

use crate::expiring::{ExpiringMap, Full};

/// Keys are held as 64-bit hashes under a per-cache random key: a busy STS holds some
/// hundred thousand live `jti`s, and a hash is a sixth of a key's memory. A collision can only
/// refuse a fresh value as a replay (one chance in 2^64 per pair), never accept a replay.
#[derive(Debug)]
pub struct ReplayCache {
    /// key hash → the time it was first seen; live through `expires_at` inclusive.
    entries: ExpiringMap<u64, i64>,
    hasher: std::hash::RandomState,
}

/// Why a value was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Seen before, at this time.
    Seen { at: i64 },
    /// The cache is full of live entries.
    Full,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            entries: ExpiringMap::new(capacity),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Records `key` as used until `expires_at`; refuses a key already recorded.
    pub fn check_and_insert(&self, key: String, now: i64, expires_at: i64) -> Result<(), Replay> {
        // A token is still accepted at `now == exp`, so its entry lives through that second.
        let key = std::hash::BuildHasher::hash_one(&self.hasher, key.as_str());
        match self
            .entries
            .insert_new(key, now, now, expires_at.saturating_add(1))
        {
            Ok(()) => Ok(()),
            Err(Ok(first_seen)) => Err(Replay::Seen { at: first_seen }),
            Err(Err(Full)) => Err(Replay::Full),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_use_is_refused_with_the_first_time() {
        let c = ReplayCache::new(10);
        c.check_and_insert("a".into(), 100, 160).unwrap();
        assert_eq!(
            c.check_and_insert("a".into(), 130, 190),
            Err(Replay::Seen { at: 100 })
        );
        // After expiry the entry no longer matters (the token itself is dead by then).
        c.check_and_insert("a".into(), 200, 260).unwrap();
    }

    #[test]
    fn full_cache_drops_expired_entries_but_never_live_ones() {
        let c = ReplayCache::new(2);
        c.check_and_insert("a".into(), 100, 110).unwrap();
        c.check_and_insert("b".into(), 100, 200).unwrap();
        assert_eq!(c.check_and_insert("c".into(), 105, 200), Err(Replay::Full));
        c.check_and_insert("c".into(), 120, 200).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.check_and_insert("b".into(), 120, 200),
            Err(Replay::Seen { at: 100 })
        );
    }
}
