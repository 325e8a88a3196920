//! Reading `application/x-www-form-urlencoded` request bodies (RFC 6749 §3.2, appendix B)
//! with OAuth's rules and OAuth-shaped errors: the content type must be right, and then
//! [`protocol::form`] reads the body (bounded, UTF-8, no parameter twice, RFC 6749 §3.1)
//! letting only `resource` repeat (RFC 8707 §2). This module maps its refusals to
//! `invalid_request`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use protocol::form::{FormError, Params};

use crate::error::OAuthError;

pub use protocol::form::MAX_FORM_BYTES;

/// The parameters that may appear more than once in a request to the STS.
pub const REPEATABLE: &[&str] = &["resource"];

/// The parameters of a form body, in order.
#[derive(Debug, Clone, Default)]
pub struct Form {
    params: Params,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        match Params::parse(body, REPEATABLE) {
            Ok(params) => Ok(Form { params }),
            Err(e @ FormError::TooLong(_)) => Err(OAuthError::invalid_request(e.to_string())
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)),
            Err(e) => Err(OAuthError::invalid_request(e.to_string())),
        }
    }

    /// The value of `name`, if present and non-empty (RFC 6749 §3.1: "Parameters sent
    /// without a value MUST be treated as if they were omitted").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.params.all(name)
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(format!(
                "the body must be application/x-www-form-urlencoded, not {:?}",
                if content_type.is_empty() {
                    "(none)"
                } else {
                    content_type
                }
            )));
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            OAuthError::invalid_request(format!("the form body could not be read: {e}"))
                .with_status(e.status())
        })?;
        Form::parse(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_repeats_except_resource() {
        let f = Form::parse(b"a=1&b=x+y%2Fz&resource=r1&resource=r2&empty=").unwrap();
        assert_eq!(f.get("b"), Some("x y/z"));
        assert_eq!(f.all("resource"), vec!["r1", "r2"]);
        assert_eq!(f.get("empty"), None);
        assert!(
            f.require("empty")
                .unwrap_err()
                .description
                .contains("empty is missing")
        );
        assert!(
            Form::parse(b"a=1&a=2")
                .unwrap_err()
                .description
                .contains("a is repeated")
        );
        assert!(Form::parse(b"a=%zz").is_err());
        assert!(Form::parse(b"a=%ff").is_err());
        assert!(Form::parse(&[0xff]).is_err());
        let big = Form::parse(&vec![b'a'; MAX_FORM_BYTES + 1]).unwrap_err();
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
