//! Time, passed in so tests can move it: [`protocol::clock`], re-exported so
//! `crate::clock::...` paths keep working.

pub use protocol::clock::*;
