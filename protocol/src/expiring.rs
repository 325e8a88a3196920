//! A bounded map whose entries expire by time: the one structure behind the replay caches
//! ([`crate::replay`]) and the STS's short-lived state (pushed requests, codes, logins, SSO
//! sessions).
//!
//! Two bounds keep memory flat under endless load: expired entries are swept as the clock
//! moves (at most every [`SWEEP_EVERY`] seconds, on insert, so the map holds roughly what a
//! sweep period's traffic left alive, not everything ever seen), and a capacity. When the map
//! is full of live entries a new one is refused ([`Full`]) rather than a live one forgotten,
//! which for a replay cache would reopen a replay. After a sweep that leaves the table mostly
//! empty its allocation is shrunk, so a burst does not pin its peak memory forever.
//!
//! Holds memory but does no I/O and reads no clock (the caller passes `now`).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

/// Seconds between sweeps of expired entries.
pub const SWEEP_EVERY: i64 = 10;

/// The map is full of live entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

#[derive(Debug)]
pub struct ExpiringMap<K, T> {
    capacity: usize,
    inner: Mutex<Inner<K, T>>,
}

#[derive(Debug)]
struct Inner<K, T> {
    /// key → (expires_at, value); an entry is live while `now < expires_at`.
    entries: HashMap<K, (i64, T)>,
    next_sweep: i64,
}

impl<K: Hash + Eq, T> Inner<K, T> {
    fn sweep(&mut self, now: i64) {
        self.entries.retain(|_, (exp, _)| *exp > now);
        self.next_sweep = now.saturating_add(SWEEP_EVERY);
        let (len, cap) = (self.entries.len(), self.entries.capacity());
        if cap > 1024 && len < cap / 4 {
            self.entries.shrink_to(len.saturating_mul(2));
        }
    }
}

impl<K: Hash + Eq, T: Clone> ExpiringMap<K, T> {
    pub fn new(capacity: usize) -> ExpiringMap<K, T> {
        ExpiringMap {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                next_sweep: i64::MIN,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `value` under `key` until `expires_at` (exclusive), replacing what was there.
    pub fn insert(&self, key: K, value: T, now: i64, expires_at: i64) -> Result<(), Full> {
        let mut inner = self.lock();
        if now >= inner.next_sweep {
            inner.sweep(now);
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            inner.sweep(now);
            if inner.entries.len() >= self.capacity {
                return Err(Full);
            }
        }
        inner.entries.insert(key, (expires_at, value));
        Ok(())
    }

    /// Stores `value` under `key` unless a live entry is there already, which is returned
    /// instead (the replay check: one lock for look-up and insert).
    pub fn insert_new(
        &self,
        key: K,
        value: T,
        now: i64,
        expires_at: i64,
    ) -> Result<(), Result<T, Full>> {
        let mut inner = self.lock();
        if let Some((exp, existing)) = inner.entries.get(&key)
            && *exp > now
        {
            return Err(Ok(existing.clone()));
        }
        if now >= inner.next_sweep {
            inner.sweep(now);
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            inner.sweep(now);
            if inner.entries.len() >= self.capacity {
                return Err(Err(Full));
            }
        }
        inner.entries.insert(key, (expires_at, value));
        Ok(())
    }

    /// The live value under `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q, now: i64) -> Option<T>
    where
        K: Borrow<Q>,
    {
        self.lock()
            .entries
            .get(key)
            .filter(|(exp, _)| *exp > now)
            .map(|(_, v)| v.clone())
    }

    /// Removes and returns the value (live or not, with its expiry), for one-time use.
    pub fn take<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<(i64, T)>
    where
        K: Borrow<Q>,
    {
        self.lock().entries.remove(key)
    }

    pub fn remove<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.lock().entries.remove(key);
    }

    /// Entries held, live or awaiting the next sweep.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let m = ExpiringMap::<String, i32>::new(2);
        m.insert("a".into(), 1, 0, 10).unwrap();
        m.insert("b".into(), 2, 0, 100).unwrap();
        assert_eq!(m.get("a", 5), Some(1));
        assert_eq!(m.get("a", 10), None);
        assert_eq!(m.insert("c".into(), 3, 5, 100), Err(Full));
        m.insert("c".into(), 3, 11, 100).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.take("c"), Some((100, 3)));
        assert_eq!(m.take("c"), None);
    }

    #[test]
    fn expired_entries_go_as_time_passes_not_only_when_full() {
        let m = ExpiringMap::<String, i32>::new(1_000_000);
        for i in 0..1000 {
            m.insert(format!("k{i}"), i, 0, 5).unwrap();
        }
        assert_eq!(m.len(), 1000);
        // Before a sweep period has passed nothing is swept...
        m.insert("late".into(), 0, SWEEP_EVERY - 1, 100).unwrap();
        assert_eq!(m.len(), 1001);
        // ...after it, the next insert drops every expired entry.
        m.insert("later".into(), 0, SWEEP_EVERY + 1, 100).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_swept_burst_gives_its_memory_back() {
        let m = ExpiringMap::<String, i32>::new(1_000_000);
        for i in 0..100_000 {
            m.insert(format!("k{i}"), i, 0, 5).unwrap();
        }
        let peak = m.lock().entries.capacity();
        m.insert("after".into(), 0, 100, 200).unwrap();
        let after = m.lock().entries.capacity();
        assert!(
            after < peak / 8,
            "capacity {after} after the sweep, {peak} at the peak"
        );
    }

    #[test]
    fn insert_new_refuses_a_live_key_and_takes_an_expired_one() {
        let m = ExpiringMap::<String, i64>::new(10);
        m.insert_new("a".into(), 100, 100, 161).unwrap();
        assert_eq!(m.insert_new("a".into(), 130, 130, 191), Err(Ok(100)));
        m.insert_new("a".into(), 200, 200, 261).unwrap();
    }
}
