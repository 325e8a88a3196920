//! OAuth 2.0 error codes and the error response body (RFC 6749 §5.2), with the codes later
//! RFCs add: `invalid_target` (RFC 8707 §2), `invalid_dpop_proof` and `use_dpop_nonce`
//! (RFC 9449 §5, §8), `invalid_token` (RFC 6750 §3.1), `invalid_request_object` and
//! `invalid_request_uri` (RFC 9101 §7, RFC 9126 §2.3), `login_required` (OIDC Core §3.1.2.6), `invalid_authorization_details` (RFC 9396 §5).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    InvalidDpopProof,
    UseDpopNonce,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    TemporarilyUnavailable,
    UnsupportedResponseType,
    InvalidRequestObject,
    InvalidRequestUri,
    LoginRequired,
    AccessDenied,
    InvalidAuthorizationDetails,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidAuthorizationDetails => "invalid_authorization_details",
        }
    }
}

/// The JSON body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The successful token response (RFC 6749 §5.1, RFC 9449 §5, HelseID's `rt_expires_in` and
/// `rejected_scope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt_expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
