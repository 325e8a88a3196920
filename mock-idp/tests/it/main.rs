//! Integration tests: the bundled IdPs served in-process on 127.0.0.1:0 and driven with a
//! plain HTTP client (no JavaScript, no cookies), as a relying party and a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod login;
mod refusals;
mod snapshots;
