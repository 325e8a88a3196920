//! Reference implementations of a HelseID client and a HelseID-protected API that do
//! everything the way HelseID's profile asks. The testbed uses them for its `token` and
//! `login` commands, the load generator in `bench/`, its own tests and the conformance
//! runner's; vendors can read them as a model.

pub mod api;
pub mod client;
pub mod driver;
pub mod login;
