//! Reading `application/x-www-form-urlencoded` request bodies (RFC 6749 §3.2, appendix B)
//! with OAuth's rules and OAuth-shaped errors: the content type must be right, the body
//! bounded, and no parameter may appear twice (RFC 6749 §3.1) except `resource`, which
//! RFC 8707 §2 allows to repeat.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::error::OAuthError;

/// Largest form body accepted. Client assertions with Tillitsrammeverk details stay well
/// under this.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The parameters of a form body, in order.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded_pairs(body)? {
            if k != "resource" && pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {k} is repeated; each parameter may appear once"
                )));
            }
            pairs.push((k, v));
        }
        Ok(Form { pairs })
    }

    /// The value of `name`, if present and non-empty (RFC 6749 §3.1: "Parameters sent
    /// without a value MUST be treated as if they were omitted").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn form_urlencoded_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the form body is not UTF-8"))?;
    let mut out = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<String, OAuthError> {
    protocol::urlencoding::decode(s)
        .map_err(|e| OAuthError::invalid_request(format!("the form body {e}")))
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
        if body.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request(format!(
                "the form body is {} bytes; at most {MAX_FORM_BYTES} are accepted",
                body.len()
            ))
            .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE));
        }
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
    }
}
