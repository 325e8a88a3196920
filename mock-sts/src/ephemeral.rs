//! Short-lived server state: pushed authorization requests, authorization codes, logins in
//! progress. Each entry expires; the map is bounded so a flood of requests cannot grow memory
//! without limit (the oldest expired entries go first; when everything is live, new entries
//! are refused).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug)]
pub struct Ephemeral<T> {
    capacity: usize,
    entries: Mutex<HashMap<String, (i64, T)>>,
}

/// The map is full of live entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl<T: Clone> Ephemeral<T> {
    pub fn new(capacity: usize) -> Ephemeral<T> {
        Ephemeral {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, T)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `value` under `key` until `expires_at`.
    pub fn insert(&self, key: String, value: T, now: i64, expires_at: i64) -> Result<(), Full> {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (exp, _)| *exp > now);
            if entries.len() >= self.capacity {
                return Err(Full);
            }
        }
        entries.insert(key, (expires_at, value));
        Ok(())
    }

    /// The live value under `key`.
    pub fn get(&self, key: &str, now: i64) -> Option<T> {
        self.lock()
            .get(key)
            .filter(|(exp, _)| *exp > now)
            .map(|(_, v)| v.clone())
    }

    /// Removes and returns the value (live or not, with its expiry), for one-time use.
    pub fn take(&self, key: &str) -> Option<(i64, T)> {
        self.lock().remove(key)
    }

    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
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
        let m = Ephemeral::new(2);
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
}
