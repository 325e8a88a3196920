//! Integration tests: the STS served in-process on 127.0.0.1:0 and driven over HTTP, each rule
//! with its passing and its failing case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod client_auth;
mod discovery;
mod dpop;
mod errors;
mod faults;
mod login;
mod persistence;
mod revocation;
mod samples_profile;
mod selvbetjening;
mod server;
mod tenancy;
mod token;
mod ttt;
