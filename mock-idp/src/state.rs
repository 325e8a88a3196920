//! The IdPs' in-memory state: authorization requests waiting for their login page, and issued
//! authorization codes. Both are bounded: entries are dropped once past their retention, and
//! when a table is full the oldest entry goes first, so a flood of requests costs memory up to
//! the cap and never an error.
//!
//! Codes follow RFC 6749 §4.1.2 and §10.5: short-lived (60 s), single-use, bound to the client,
//! the redirect URI and the PKCE challenge (RFC 7636 §4.4). A redeemed or expired code is kept
//! a while longer, so a second attempt is told "already used" or "expired" rather than
//! "unknown".

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use crate::locale::Locale;

/// How long a login page may wait for its submission.
pub const PENDING_LIFETIME: i64 = 30 * 60;
/// How many login pages may wait at once.
pub const PENDING_CAPACITY: usize = 10_000;
/// How long a code can be redeemed (RFC 6749 §4.1.2 recommends at most 10 minutes; HelseID's
/// brief for the testbed says 60 s).
pub const CODE_LIFETIME: i64 = 60;
/// How long a code is remembered, to explain a late or second redemption.
pub const CODE_RETENTION: i64 = 10 * 60;
/// How many codes are remembered at once.
pub const CODE_CAPACITY: usize = 10_000;

/// A validated authorization request, waiting for the user on the login page.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Index of the IdP in the router's list.
    pub idp: usize,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub locale: Locale,
    pub login_hint: Option<String>,
    /// Ids of the methods the request's `acr_values` leave on offer.
    pub methods: Vec<&'static str>,
    /// The method to preselect (TestIDP: from `test_security_level`).
    pub preselect: Option<&'static str>,
}

/// Where a code is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Issued,
    Redeemed,
}

/// An authorization code and what it was issued for.
#[derive(Debug, Clone)]
pub struct IssuedCode {
    pub idp: usize,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub pid: String,
    pub method: &'static str,
    pub auth_time: i64,
    pub issued_at: i64,
    pub state: CodeState,
}

/// A map whose entries expire and whose size is capped; oldest first out.
#[derive(Debug)]
pub struct Bounded<T> {
    entries: HashMap<String, (i64, T)>,
    order: VecDeque<(String, i64)>,
    capacity: usize,
    retention: i64,
}

impl<T> Bounded<T> {
    pub fn new(capacity: usize, retention: i64) -> Bounded<T> {
        Bounded {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            retention,
        }
    }

    /// Stores `value` under `id` (a fresh random id) at time `now`.
    pub fn insert(&mut self, id: String, now: i64, value: T) {
        self.prune(now);
        while self.order.len() >= self.capacity {
            self.pop_oldest();
        }
        self.order.push_back((id.clone(), now));
        self.entries.insert(id, (now, value));
    }

    /// The entry and its creation time, unless past its retention.
    pub fn get_mut(&mut self, id: &str, now: i64) -> Option<(i64, &mut T)> {
        self.prune(now);
        self.entries.get_mut(id).map(|(created, v)| (*created, v))
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        // The id stays in `order` until it reaches the front; popping it then is harmless.
        self.entries.remove(id).map(|(_, v)| v)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn prune(&mut self, now: i64) {
        while let Some((_, created)) = self.order.front() {
            if now.saturating_sub(*created) <= self.retention {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((id, created)) = self.order.pop_front() {
            // Only remove the entry this queue slot was made for.
            if self.entries.get(&id).is_some_and(|(c, _)| *c == created) {
                self.entries.remove(&id);
            }
        }
    }
}

/// Pending requests and codes of every IdP.
#[derive(Debug)]
pub struct Store {
    pending: Mutex<Bounded<Pending>>,
    codes: Mutex<Bounded<IssuedCode>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store {
            pending: Mutex::new(Bounded::new(PENDING_CAPACITY, PENDING_LIFETIME)),
            codes: Mutex::new(Bounded::new(CODE_CAPACITY, CODE_RETENTION)),
        }
    }

    /// The pending requests. A poisoned lock still holds consistent data (no handler panics
    /// while holding it), so it is used rather than turned into an error.
    pub fn pending(&self) -> MutexGuard<'_, Bounded<Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn codes(&self) -> MutexGuard<'_, Bounded<IssuedCode>> {
        self.codes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_and_caps() {
        let mut b: Bounded<u32> = Bounded::new(3, 10);
        b.insert("a".into(), 0, 1);
        b.insert("b".into(), 5, 2);
        assert_eq!(b.get_mut("a", 10).map(|(_, v)| *v), Some(1));
        assert!(b.get_mut("a", 11).is_none(), "past retention");
        assert_eq!(b.get_mut("b", 11).map(|(c, _)| c), Some(5));
        b.insert("c".into(), 12, 3);
        b.insert("d".into(), 12, 4);
        b.insert("e".into(), 12, 5);
        assert_eq!(b.len(), 3);
        assert!(b.get_mut("b", 12).is_none(), "oldest evicted at the cap");
        assert_eq!(b.remove("d"), Some(4));
        b.insert("f".into(), 13, 6);
        b.insert("g".into(), 13, 7);
        assert!(b.len() <= 3);
        assert!(b.get_mut("g", 13).is_some());
    }
}
