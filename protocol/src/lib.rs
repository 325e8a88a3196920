//! HelseID's wire profile as pure functions: JOSE, client assertions, DPoP, ID token
//! validation, PKCE, OAuth form parameters, the STS's endpoint paths, the structured
//! `assertion_details` claim, error codes and the self-service and test-token models.
//!
//! Nothing here does I/O, and nothing reads a clock of its own accord: callers pass `now` and
//! the keys, so the mock STS (which enforces these rules) and the conformance runner (which
//! checks them) share one implementation and tests control time. [`clock`] holds the clocks
//! the STS and the identity providers are handed; of those, only `SystemClock` reads the
//! machine's time, when its holder asks.

pub mod access_token;
pub mod assertion_details;
pub mod authorization_response;
pub mod claims;
pub mod client_assertion;
pub mod client_config;
pub mod clock;
pub mod dpop;
pub mod dpop_nonce;
pub mod endpoints;
pub mod expiring;
pub mod form;
pub mod id_token;
pub mod jose;
pub mod oauth;
pub mod pkce;
pub mod replay;
pub mod selvbetjening;
pub mod signing;
pub mod tillitsrammeverk;
pub mod ttt;
pub mod urlencoding;
pub mod www_authenticate;
