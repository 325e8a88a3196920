//! Time, passed in so tests can move it (code and pending-request lifetimes):
//! [`protocol::clock`], re-exported so `crate::clock::...` paths keep working.

pub use protocol::clock::*;
