//! Reference implementations of a HelseID client (and, later, an API) that do everything the
//! way HelseID's profile asks. The testbed uses them for its `token` and `bench` commands and
//! its own tests; vendors can read them as a model.

pub mod client;
pub mod login;
