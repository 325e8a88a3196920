//! The STS's replay caches for client-assertion and DPoP proof `jti`s: the shared
//! [`protocol::replay`] cache, which the reference API uses too.

pub use protocol::replay::{Replay, ReplayCache};
