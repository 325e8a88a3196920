//! Bounded replay caches for client-assertion `jti`s (reference §2.3: "A client assertion
//! should only be used once") and DPoP proof `jti`s (RFC 9449 §11.1), shared by the STS and
//! the reference API.
//!
//! An entry lives until the token it guards could no longer be accepted anyway. The cache is
//! bounded: when full, expired entries are dropped; if it is still full the request is refused
//! rather than an unexpired entry forgotten, which would reopen a replay.
//!
//! One of this crate's few stateful types (with [`crate::clock::ManualClock`]): it holds
//! memory but does no I/O and reads no clock (the caller passes `now`).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    first_seen: i64,
    expires_at: i64,
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
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Records `key` as used until `expires_at`; refuses a key already recorded.
    pub fn check_and_insert(&self, key: String, now: i64, expires_at: i64) -> Result<(), Replay> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get(&key)
            && e.expires_at >= now
        {
            return Err(Replay::Seen { at: e.first_seen });
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.expires_at >= now);
            if entries.len() >= self.capacity {
                return Err(Replay::Full);
            }
        }
        entries.insert(
            key,
            Entry {
                first_seen: now,
                expires_at,
            },
        );
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
