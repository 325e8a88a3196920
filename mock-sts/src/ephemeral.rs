//! Short-lived server state: pushed authorization requests, authorization codes, logins in
//! progress, SSO sessions. Each entry expires and is swept as time passes; the map is bounded
//! so a flood of requests cannot grow memory without limit (when everything is live, new
//! entries are refused). The structure is [`protocol::expiring`], shared with the replay
//! caches.

pub use protocol::expiring::Full;

/// Short-lived state by its (random, unguessable) key.
pub type Ephemeral<T> = protocol::expiring::ExpiringMap<String, T>;
