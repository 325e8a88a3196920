//! The STS's endpoint paths, relative to the issuer: HelseID's, as its discovery document
//! names them (reference §1.2; OpenID Connect Discovery 1.0 §3, §4), and the testbed STS's
//! own. The testbed's router and discovery document are built from this table, and clients
//! and the conformance runner find the endpoints here instead of spelling them again.
//!
//! A client talking to HelseID should still read the URLs from discovery; these are the
//! values it will find there.

/// OpenID Connect Discovery 1.0 §4.
pub const DISCOVERY: &str = "/.well-known/openid-configuration";
/// `jwks_uri` (RFC 7517 §5).
pub const JWKS: &str = "/.well-known/openid-configuration/jwks";
/// `authorization_endpoint` (RFC 6749 §3.1, OIDC Core §3.1.2).
pub const AUTHORIZE: &str = "/connect/authorize";
/// `pushed_authorization_request_endpoint` (RFC 9126).
pub const PAR: &str = "/connect/par";
/// `token_endpoint` (RFC 6749 §3.2).
pub const TOKEN: &str = "/connect/token";
/// `userinfo_endpoint` (OIDC Core §5.3).
pub const USERINFO: &str = "/connect/userinfo";
/// `end_session_endpoint` (OIDC RP-Initiated Logout 1.0).
pub const END_SESSION: &str = "/connect/endsession";
/// `revocation_endpoint` (RFC 7009).
pub const REVOCATION: &str = "/connect/revocation";
/// `introspection_endpoint` (RFC 7662).
pub const INTROSPECTION: &str = "/connect/introspect";
/// HelseID's `expired_jwks_uri`: keys replaced by a rotation.
pub const EXPIRED_JWKS: &str = "/connect/expiredjwks";
/// HelseID's `available_idps`: the identity providers users can log in with.
pub const AVAILABLE_IDPS: &str = "/connect/availableidps";

/// The testbed STS's own pages and documents, which HelseID's discovery does not name.
pub mod testbed {
    /// The eID chooser's choice: sends the browser on to the chosen identity provider.
    pub const IDP_START: &str = "/connect/idp/start";
    /// Where the identity providers send the browser back (the STS as their relying party).
    pub const FEDERATION_CALLBACK: &str = "/connect/federation/callback";
    /// The environment: APIs, organisations, delegations, clients, test persons.
    pub const ENVIRONMENT: &str = "/testbed/environment";
    /// Recent HTTP exchanges, tokens decoded.
    pub const FLOWS: &str = "/testbed/flows";
    /// The usage counters in Prometheus text format.
    pub const METRICS: &str = "/metrics";
}
