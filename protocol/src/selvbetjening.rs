//! Wire types of the HelseID Selvbetjening (self-service) client API,
//! `https://api.selvbetjening.test.nhn.no` / `https://api.selvbetjening.nhn.no`.
//!
//! Mirrors the models in NorskHelsenett/Selvbetjening.Samples: `Common/Models/ClientDraft.cs`,
//! `Common/Models/AudienceSpecificClientClaim.cs`, `Common/Models/ClientUpdate.cs`,
//! `Common/Models/Response/ClientDraftResponse.cs`, `Common/Models/Response/CurrentClient.cs`,
//! `Common/Models/Response/ClientStatusResponse.cs`,
//! `Common/Models/Response/ClientSecretUpdateResponse.cs`, and NorskHelsenett/HelseID.Library
//! `HelseId.Library.Selvbetjening/Models/ClientSecretUpdateResponse.cs` (`DateTimeOffset
//! Expiration`). `MultiTenantDelegation` mirrors `SelvbetjeningConsoleDemo.Models.Response`
//! (a NHN demo found by content search; its repository and endpoint were not identified).
//!
//! The samples serialise with `JsonSerializerDefaults.Web` (camelCase),
//! `JsonIgnoreCondition.WhenWritingDefault` (null properties are left out) and a default
//! `JsonStringEnumConverter` (enum names, read case-insensitively). The scope and claim
//! statuses are written as HelseID's 2025–2026 material has them, `Ok`, `Pending` and
//! `UpdatePending` (reference §12.4; a default `JsonStringEnumConverter` writes member names),
//! and read in either casing (`CurrentClient.cs`'s doc comments spell them "ok", "pending",
//! "updatePending"). The other enums keep camelCase (their server casing is UNCONFIRMED).
//!
//! Unknown fields: System.Text.Json ignores them, and responses here tolerate them too. The
//! request bodies ([`ClientDraft`], [`ClientUpdate`], [`AudienceSpecificClientClaim`]) refuse
//! them with an error naming the field, as the test-token model does: `PUT /v1/client` is a
//! full replacement, so a misspelt `apiScope` would otherwise be ignored and every scope
//! removed. The JWK of `POST /v1/client-secret` is not a model here; unknown JWK members stay
//! allowed (RFC 7517 §4).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Base URL of the Selvbetjening API in HelseID's test environment.
pub const API_TEST_BASE_URL: &str = "https://api.selvbetjening.test.nhn.no";
/// Base URL of the Selvbetjening API in production.
pub const API_PROD_BASE_URL: &str = "https://api.selvbetjening.nhn.no";
/// The Selvbetjening portal (where drafts are confirmed) in the test environment.
pub const PORTAL_TEST_BASE_URL: &str = "https://selvbetjening.test.nhn.no";
/// `POST`: submit a [`ClientDraft`], answered with a [`ClientDraftResponse`].
pub const CLIENT_DRAFTS_PATH: &str = "/v1/client-drafts";
/// `GET`: the calling client's [`CurrentClient`]; `PUT`: replace it with a [`ClientUpdate`].
pub const CLIENT_PATH: &str = "/v1/client";
/// `GET`: status of the calling client ([`ClientStatusResponse`] in the older sample; newer
/// samples read a [`CurrentClient`] from [`CLIENT_PATH`] instead).
pub const CLIENT_STATUS_PATH: &str = "/v1/client-status";
/// `POST` a new public JWK (the raw JWK JSON as body), answered with a
/// [`ClientSecretUpdateResponse`].
pub const CLIENT_SECRET_PATH: &str = "/v1/client-secret";
/// Header carrying the client-system API key on [`CLIENT_DRAFTS_PATH`].
pub const API_KEY_HEADER: &str = "api-key";
/// Scope a client needs (in a DPoP access token) to call the `/v1/client*` endpoints.
pub const CLIENT_SCOPE: &str = "nhn:selvbetjening/client";
/// Resource (audience) of the Selvbetjening API.
pub const RESOURCE: &str = "nhn:selvbetjening";
/// Portal page where the user confirms a draft:
/// `{PORTAL}/confirm-client/<client_id>?redirectPort=<port>&redirectPath=<path>`.
pub const CONFIRM_CLIENT_PATH_PREFIX: &str = "/confirm-client/";
/// `status` query value the portal redirects back with after a confirmed draft
/// (other values are not documented).
pub const CONFIRMATION_STATUS_SUCCESS: &str = "Success";

/// An audience-specific client claim requested for the client (`Key`/`Value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AudienceSpecificClientClaim {
    /// Claim type as defined by the API.
    pub key: String,
    /// Requested claim value.
    pub value: String,
}

/// Body of `POST /v1/client-drafts` (authenticated with [`API_KEY_HEADER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientDraft {
    /// Organisation number (9 digits) of the organisation that will own the client.
    pub organization_number: String,
    /// The client's public JWK as a JSON *string* (e.g. `{"kty":"RSA","e":..,"n":..}`).
    pub public_jwk: String,
    /// API scopes the client requests, e.g. `nhn:selvbetjening/client`.
    pub api_scopes: Vec<String>,
    /// Audience-specific client claims the client requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_specific_client_claims: Option<Vec<AudienceSpecificClientClaim>>,
    /// Redirect URIs for the authorization-code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Child organisation numbers the client may name in authorization requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_organization_numbers: Option<Vec<String>>,
    /// Where the portal sends the user after confirming (newer samples only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_client_confirmation_redirect_uri: Option<String>,
}

impl ClientDraft {
    /// Parses [`ClientDraft::public_jwk`] as JSON.
    pub fn public_jwk_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.public_jwk)
    }
}

/// Response of `POST /v1/client-drafts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientDraftResponse {
    /// Client id of the created draft (used in the confirmation URL).
    pub client_id: String,
}

/// Status of a client's access to an API scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScopeAccessStatus {
    /// The scope can be used.
    #[serde(rename = "Ok", alias = "ok")]
    Ok,
    /// The scope cannot be used yet; see `statusReason`.
    #[serde(rename = "Pending", alias = "pending")]
    Pending,
}

/// Status of an audience-specific client claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AudienceSpecificClaimStatus {
    /// `activeClaimValue` is included in access tokens.
    #[serde(rename = "Ok", alias = "ok")]
    Ok,
    /// Not yet included in access tokens; the value is in `pendingClaimValue`.
    #[serde(rename = "Pending", alias = "pending")]
    Pending,
    /// Tokens carry `activeClaimValue` while the new `pendingClaimValue` awaits approval.
    #[serde(rename = "UpdatePending", alias = "updatePending")]
    UpdatePending,
}

/// Access to one API scope (C# `ApiScopeAccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiScopeAccess {
    /// Scope as defined by the API.
    pub scope: String,
    /// Whether the scope can be used.
    pub status: ScopeAccessStatus,
    /// Human-readable reason for the current status.
    #[serde(default)]
    pub status_reason: Option<String>,
}

/// One audience-specific client claim of the client (C# `AudienceSpecificClientClaimAccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceSpecificClientClaimAccess {
    /// Claim type as defined by the API.
    pub claim_type: String,
    /// Value included in access tokens; set unless the status is `pending`.
    #[serde(default)]
    pub active_claim_value: Option<String>,
    /// Value awaiting approval when the status is `pending` or `updatePending`.
    #[serde(default)]
    pub pending_claim_value: Option<String>,
    /// Approval status of the claim.
    pub status: AudienceSpecificClaimStatus,
    /// Human-readable reason for the current status.
    #[serde(default)]
    pub status_reason: Option<String>,
}

/// Response of `GET /v1/client`: the calling client's configuration (C# `CurrentClient`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentClient {
    /// API scopes the client has, or has requested, access to.
    #[serde(default)]
    pub api_scopes: Vec<ApiScopeAccess>,
    /// Audience-specific client claims, including pending ones.
    #[serde(default)]
    pub audience_specific_client_claims: Vec<AudienceSpecificClientClaimAccess>,
    /// Redirect URIs allowed in the authorization-code flow.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs allowed for logging the user out.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Child organisation numbers the client may name in authorization requests.
    #[serde(default)]
    pub child_organization_numbers: Vec<String>,
}

/// Why a [`CurrentClient`] could not be turned into a [`ClientUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelvbetjeningError {
    /// An audience-specific claim has neither a pending nor an active value.
    #[error("audience-specific claim `{claim_type}` has no value")]
    ClaimWithoutValue {
        /// The claim type.
        claim_type: String,
    },
}

impl CurrentClient {
    /// The update that leaves the client unchanged (pending claim values win over active
    /// ones), as the samples' `ToClientUpdate` builds it before editing.
    pub fn to_client_update(&self) -> Result<ClientUpdate, SelvbetjeningError> {
        let claims = self
            .audience_specific_client_claims
            .iter()
            .map(|c| {
                c.pending_claim_value
                    .as_ref()
                    .or(c.active_claim_value.as_ref())
                    .map(|value| AudienceSpecificClientClaim {
                        key: c.claim_type.clone(),
                        value: value.clone(),
                    })
                    .ok_or_else(|| SelvbetjeningError::ClaimWithoutValue {
                        claim_type: c.claim_type.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClientUpdate {
            api_scopes: self.api_scopes.iter().map(|s| s.scope.clone()).collect(),
            audience_specific_client_claims: Some(claims),
            redirect_uris: Some(self.redirect_uris.clone()),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris.clone()),
            child_organization_numbers: Some(self.child_organization_numbers.clone()),
        })
    }
}

/// Body of `PUT /v1/client`: a full replacement. A `null` (or, from the samples, which leave
/// nulls out, an absent) list is *applied*, not ignored (Selvbetjening.Samples README).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientUpdate {
    /// The complete list of API scopes the client should have.
    #[serde(default)]
    pub api_scopes: Vec<String>,
    /// The complete list of audience-specific client claims.
    #[serde(default)]
    pub audience_specific_client_claims: Option<Vec<AudienceSpecificClientClaim>>,
    /// The complete list of redirect URIs; `null` fails unless the client system uses the same
    /// redirect URIs for all its clients.
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// The complete list of post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// The complete list of child organisation numbers.
    #[serde(default)]
    pub child_organization_numbers: Option<Vec<String>>,
}

/// Response of `POST /v1/client-secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecretUpdateResponse {
    /// When the new key expires, RFC 3339 (C# `DateTimeOffset`, e.g. `2025-12-31T13:13:13Z`);
    /// the next rotation must happen before then.
    pub expiration: String,
}

/// Overall status in [`ClientStatusResponse`] (server casing UNCONFIRMED; camelCase assumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OverallClientStatus {
    /// The client can be used.
    #[serde(rename = "active", alias = "Active")]
    Active,
    /// Some scopes are not (yet) granted.
    #[serde(rename = "limited", alias = "Limited")]
    Limited,
    /// The client cannot be used.
    #[serde(rename = "blocked", alias = "Blocked")]
    Blocked,
}

/// Why a client is not active (server casing UNCONFIRMED; camelCase assumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientActiveStatusReason {
    /// The draft has not been confirmed by the owner in the portal.
    #[serde(
        rename = "awaitingOwnerConfirmation",
        alias = "AwaitingOwnerConfirmation"
    )]
    AwaitingOwnerConfirmation,
    /// Blocked by a HelseID administrator.
    #[serde(rename = "blockedByAdmin", alias = "BlockedByAdmin")]
    BlockedByAdmin,
}

/// Why a scope is not granted (server casing UNCONFIRMED; camelCase assumed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScopeAccessReason {
    /// Access to the API awaits approval.
    #[serde(rename = "apiAccessPending", alias = "ApiAccessPending")]
    ApiAccessPending,
    /// Access to the API was rejected.
    #[serde(rename = "apiAccessRejected", alias = "ApiAccessRejected")]
    ApiAccessRejected,
    /// Access to the API was revoked.
    #[serde(rename = "apiAccessRevoked", alias = "ApiAccessRevoked")]
    ApiAccessRevoked,
    /// Access to the scope awaits approval.
    #[serde(rename = "apiScopeAccessPending", alias = "ApiScopeAccessPending")]
    ApiScopeAccessPending,
    /// Access to the scope was rejected.
    #[serde(rename = "apiScopeAccessRejected", alias = "ApiScopeAccessRejected")]
    ApiScopeAccessRejected,
    /// Access to the scope was revoked.
    #[serde(rename = "apiScopeAccessRevoked", alias = "ApiScopeAccessRevoked")]
    ApiScopeAccessRevoked,
}

/// Response of `GET /v1/client-status` as the older ClientRegistrationExample reads it
/// (C# `ClientStatusResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientStatusResponse {
    /// Overall status of the client.
    pub status: OverallClientStatus,
    /// Client and per-scope details.
    pub details: ClientStatusDetails,
}

/// Details of a [`ClientStatusResponse`] (C# `Details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientStatusDetails {
    /// Whether the client itself is active.
    pub client_status: ClientActiveStatus,
    /// One entry per requested scope.
    #[serde(default)]
    pub api_scope_access_statuses: Vec<ApiScopeAccessStatus>,
}

/// Whether the client is active (C# `ClientActiveStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientActiveStatus {
    /// True when the client can obtain tokens.
    #[serde(default)]
    pub active: bool,
    /// Why it is not active.
    #[serde(default)]
    pub reason: Option<ClientActiveStatusReason>,
}

/// Whether one scope is granted (C# `ApiScopeAccessStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiScopeAccessStatus {
    /// True when the scope can be used.
    #[serde(default)]
    pub granted: bool,
    /// The scope.
    pub scope: String,
    /// Why it is not granted.
    #[serde(default)]
    pub reason: Option<ApiScopeAccessReason>,
}

/// A multi-tenant delegation from an organisation to the client's supplier (endpoint
/// UNCONFIRMED; shape from `SelvbetjeningConsoleDemo.Models.Response.MultiTenantDelegation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiTenantDelegation {
    /// The delegating organisation.
    pub delegator: Delegator,
    /// Service terms involved and whether the delegator has signed them.
    #[serde(default)]
    pub service_terms: Vec<ServiceTerms>,
}

/// The organisation that delegates (C# `Delegator`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delegator {
    /// Organisation number of the delegator.
    pub organization_number: String,
    /// Name of the delegator.
    #[serde(default)]
    pub name: String,
    /// Whether the delegator is a member of Norsk helsenett.
    #[serde(default)]
    pub is_helsenett_member: bool,
}

/// Service terms attached to a delegation (C# `ServiceTerms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTerms {
    /// URI of the terms document.
    #[serde(default)]
    pub uri: String,
    /// Name of the terms.
    #[serde(default)]
    pub name: String,
    /// Whether the delegator has signed the terms.
    #[serde(default)]
    pub delegator_has_signed: bool,
    /// Scopes covered by the terms.
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn round_trip<T>(text: &str) -> T
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let parsed: T = serde_json::from_str(text).unwrap();
        let written = serde_json::to_value(&parsed).unwrap();
        assert_eq!(written, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(serde_json::from_value::<T>(written).unwrap(), parsed);
        parsed
    }

    #[test]
    fn client_draft_round_trips() {
        let draft: ClientDraft = round_trip(
            r#"{
              "organizationNumber": "999977774",
              "publicJwk": "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"use\":\"sig\",\"kid\":\"3F2A9C1E0B7D4E5F8A6B1C2D3E4F5A6B\",\"alg\":\"PS256\",\"n\":\"0VULJlIGn4SM\"}",
              "apiScopes": ["nhn:selvbetjening/client", "something_else"],
              "audienceSpecificClientClaims": [{ "key": "nhn:sfm/journal-id", "value": "abc" }],
              "redirectUris": ["http://localhost:1337/callback"],
              "childOrganizationNumbers": ["999977776", "999977775"],
              "postClientConfirmationRedirectUri": "http://localhost:1337/callback"
            }"#,
        );
        assert_eq!(draft.post_logout_redirect_uris, None);
        assert_eq!(draft.public_jwk_json().unwrap()["alg"], "PS256");

        // The older sample (three-argument constructor, nulls left out) still parses.
        let minimal: ClientDraft = round_trip(
            r#"{"organizationNumber":"123456789","publicJwk":"{}","apiScopes":["nhn:selvbetjening/client"]}"#,
        );
        assert_eq!(minimal.redirect_uris, None);
        let err = serde_json::from_str::<ClientDraft>(r#"{"publicJwk":"{}","apiScopes":[]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("organizationNumber"), "{err}");
    }

    #[test]
    fn client_draft_response_round_trips() {
        let r: ClientDraftResponse =
            round_trip(r#"{"clientId":"9d5d4a6e-0c2f-4d3c-8e8a-5b0f2a1c7e11"}"#);
        assert_eq!(r.client_id, "9d5d4a6e-0c2f-4d3c-8e8a-5b0f2a1c7e11");
    }

    const CURRENT: &str = r#"{
      "apiScopes": [
        { "scope": "nhn:selvbetjening/client", "status": "Ok", "statusReason": null },
        { "scope": "nhn:kjernejournal/api", "status": "Pending",
          "statusReason": "Awaiting approval from the API owner" }
      ],
      "audienceSpecificClientClaims": [
        { "claimType": "nhn:kjernejournal/kilde", "activeClaimValue": "EPJ-A",
          "pendingClaimValue": "EPJ-B", "status": "UpdatePending", "statusReason": "Changed" },
        { "claimType": "nhn:sfm/journal-id", "activeClaimValue": null,
          "pendingClaimValue": "j-1", "status": "Pending", "statusReason": null },
        { "claimType": "nhn:x/y", "activeClaimValue": "v", "pendingClaimValue": null,
          "status": "Ok", "statusReason": null }
      ],
      "redirectUris": ["http://localhost:1337/callback"],
      "postLogoutRedirectUris": [],
      "childOrganizationNumbers": ["999977776"]
    }"#;

    #[test]
    fn current_client_round_trips_and_converts_to_update() {
        let current: CurrentClient = round_trip(CURRENT);
        assert_eq!(current.api_scopes[1].status, ScopeAccessStatus::Pending);
        assert_eq!(
            current.audience_specific_client_claims[0].status,
            AudienceSpecificClaimStatus::UpdatePending
        );
        let update = current.to_client_update().unwrap();
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({
                "apiScopes": ["nhn:selvbetjening/client", "nhn:kjernejournal/api"],
                "audienceSpecificClientClaims": [
                    { "key": "nhn:kjernejournal/kilde", "value": "EPJ-B" },
                    { "key": "nhn:sfm/journal-id", "value": "j-1" },
                    { "key": "nhn:x/y", "value": "v" }
                ],
                "redirectUris": ["http://localhost:1337/callback"],
                "postLogoutRedirectUris": [],
                "childOrganizationNumbers": ["999977776"]
            })
        );

        let mut broken = current.clone();
        broken.audience_specific_client_claims[2].active_claim_value = None;
        assert_eq!(
            broken.to_client_update().unwrap_err(),
            SelvbetjeningError::ClaimWithoutValue {
                claim_type: "nhn:x/y".to_owned()
            }
        );
    }

    #[test]
    fn statuses_are_written_pascal_case_and_read_in_either_casing() {
        for sent in ["Pending", "pending"] {
            let a: ApiScopeAccess = serde_json::from_str(&format!(
                r#"{{"scope":"s","status":"{sent}","statusReason":null}}"#
            ))
            .unwrap();
            assert_eq!(a.status, ScopeAccessStatus::Pending);
            assert_eq!(serde_json::to_value(a).unwrap()["status"], "Pending");
        }
        assert_eq!(
            serde_json::to_value(AudienceSpecificClaimStatus::UpdatePending).unwrap(),
            "UpdatePending"
        );
        assert_eq!(serde_json::to_value(ScopeAccessStatus::Ok).unwrap(), "Ok");
        assert!(serde_json::from_str::<ScopeAccessStatus>(r#""OK_""#).is_err());
        let empty: CurrentClient = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, CurrentClient::default());
    }

    #[test]
    fn client_update_round_trips_with_explicit_nulls() {
        // ClientUpdateExample: new scopes, everything else null (applied, not ignored).
        let update: ClientUpdate = round_trip(
            r#"{"apiScopes":["nhn:selvbetjening/client","a_new_scope"],"audienceSpecificClientClaims":null,"redirectUris":null,"postLogoutRedirectUris":null,"childOrganizationNumbers":null}"#,
        );
        assert_eq!(update.redirect_uris, None);
        // The samples leave nulls out (WhenWritingDefault): absent reads as null.
        let absent: ClientUpdate = serde_json::from_str(r#"{"apiScopes":["x"]}"#).unwrap();
        assert_eq!(absent.child_organization_numbers, None);
    }

    #[test]
    fn request_bodies_refuse_unknown_fields_and_name_them() {
        // A misspelt list must not read as an absent one: PUT replaces everything.
        let err =
            serde_json::from_str::<ClientUpdate>(r#"{"apiScope":["nhn:selvbetjening/client"]}"#)
                .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `apiScope`"),
            "{err}"
        );
        let err = serde_json::from_str::<ClientUpdate>(
            r#"{"apiScopes":[],"audienceSpecificClientClaims":[{"key":"a/b","value":"v","valeu":"w"}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `valeu`"), "{err}");
        let err = serde_json::from_str::<ClientDraft>(
            r#"{"organizationNumber":"999977774","publicJwk":"{}","apiScopes":[],"redirectUri":["x"]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `redirectUri`"),
            "{err}"
        );
        // Responses still tolerate what they do not know, as System.Text.Json does.
        let current: CurrentClient = serde_json::from_str(r#"{"apiScopes":[],"extra":1}"#).unwrap();
        assert_eq!(current, CurrentClient::default());
    }

    #[test]
    fn client_secret_update_response_round_trips() {
        let r: ClientSecretUpdateResponse = round_trip(r#"{"expiration":"2025-12-31T13:13:13Z"}"#);
        assert_eq!(r.expiration, "2025-12-31T13:13:13Z");
    }

    #[test]
    fn client_status_response_round_trips() {
        let s: ClientStatusResponse = round_trip(
            r#"{
              "status": "limited",
              "details": {
                "clientStatus": { "active": true, "reason": null },
                "apiScopeAccessStatuses": [
                  { "granted": true, "scope": "nhn:selvbetjening/client", "reason": null },
                  { "granted": false, "scope": "nhn:kjernejournal/api", "reason": "apiScopeAccessPending" }
                ]
              }
            }"#,
        );
        assert_eq!(s.status, OverallClientStatus::Limited);
        let pascal: ClientStatusResponse = serde_json::from_str(
            r#"{"status":"Blocked","details":{"clientStatus":{"active":false,"reason":"AwaitingOwnerConfirmation"},"apiScopeAccessStatuses":[]}}"#,
        )
        .unwrap();
        assert_eq!(
            pascal.details.client_status.reason,
            Some(ClientActiveStatusReason::AwaitingOwnerConfirmation)
        );
    }

    #[test]
    fn multi_tenant_delegation_round_trips() {
        let d: MultiTenantDelegation = round_trip(
            r#"{
              "delegator": { "organizationNumber": "999977774", "name": "Granfjelldal kommune", "isHelsenettMember": true },
              "serviceTerms": [
                { "uri": "https://example.invalid/terms/kjernejournal", "name": "Kjernejournal",
                  "delegatorHasSigned": false, "scopes": ["nhn:kjernejournal/api"] }
              ]
            }"#,
        );
        assert!(d.delegator.is_helsenett_member);
    }
}
