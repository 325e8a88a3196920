//! OAuth request parameters: `application/x-www-form-urlencoded` (the URL Standard's format,
//! RFC 6749 appendix B) read from a request body or a query string with OAuth's rules:
//! a bounded size, UTF-8, no parameter twice (RFC 6749 §3.1) except the names the endpoint
//! allows to repeat (`resource`, RFC 8707 §2), and a parameter without a value treated as
//! omitted (RFC 6749 §3.1).
//!
//! One reader for the STS and the bundled IdPs; each maps [`FormError`] to its own error
//! response.

use std::collections::HashSet;

use thiserror::Error;

use crate::urlencoding::{DecodeError, decode};

/// Largest form body or query string read. Client assertions with Tillitsrammeverk details
/// stay well under this.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Why the parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormError {
    #[error("the parameters are {0} bytes; at most {MAX_FORM_BYTES} are accepted")]
    TooLong(usize),
    #[error("the parameters are not UTF-8")]
    NotUtf8,
    #[error("a parameter name {0}")]
    Name(DecodeError),
    #[error("parameter {name} {error}")]
    Value { name: String, error: DecodeError },
    #[error("parameter {0} is repeated; each parameter may appear once")]
    Repeated(String),
}

/// The parameters of a query string or form body, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Reads `input`; a name may appear more than once only if it is in `repeatable`.
    pub fn parse(input: &[u8], repeatable: &[&str]) -> Result<Params, FormError> {
        Params::read(input, Some(repeatable))
    }

    /// Reads `input` where any name may repeat (FHIR search, where a repeated parameter
    /// means "and": FHIR R4 §3.1.1.5.3).
    pub fn parse_any_repeated(input: &[u8]) -> Result<Params, FormError> {
        Params::read(input, None)
    }

    fn read(input: &[u8], repeatable: Option<&[&str]>) -> Result<Params, FormError> {
        if input.len() > MAX_FORM_BYTES {
            return Err(FormError::TooLong(input.len()));
        }
        let text = std::str::from_utf8(input).map_err(|_| FormError::NotUtf8)?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        // A set, not a scan of `pairs`: 64 KiB of `a=&b=&...` is ten thousand names, and
        // comparing each with all before it took a second.
        let mut seen = HashSet::new();
        for part in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let name = decode(k).map_err(FormError::Name)?;
            let value = decode(v).map_err(|error| FormError::Value {
                name: name.clone(),
                error,
            })?;
            if repeatable.is_some_and(|r| !r.contains(&name.as_str())) && !seen.insert(name.clone())
            {
                return Err(FormError::Repeated(name));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if present and non-empty (RFC 6749 §3.1: "Parameters sent
    /// without a value MUST be treated as if they were omitted"). For a repeatable name, the
    /// first.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every parameter as read, empty values included, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_search_parameters_may_repeat_and_keep_their_order() {
        let p = Params::parse_any_repeated(b"name=a&name=b&x=&name:exact=C").unwrap();
        assert_eq!(p.all("name"), ["a", "b"]);
        assert_eq!(
            p.pairs(),
            [
                ("name".to_owned(), "a".to_owned()),
                ("name".to_owned(), "b".to_owned()),
                ("x".to_owned(), String::new()),
                ("name:exact".to_owned(), "C".to_owned()),
            ]
        );
        // The OAuth reading of the same input refuses the repeat.
        assert_eq!(
            Params::parse(b"name=a&name=b", &[]),
            Err(FormError::Repeated("name".into()))
        );
        assert!(Params::parse_any_repeated(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
    }

    #[test]
    fn decodes_in_order_and_takes_an_empty_value_as_omitted() {
        let p = Params::parse(b"a=1&b=x+y%2Fz&empty=&bare&&c=%C3%B8", &[]).unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y/z"));
        assert_eq!(p.get("c"), Some("ø"));
        assert_eq!(p.get("empty"), None);
        assert!(!p.has("bare"));
        assert!(p.has("a"));
        assert_eq!(p.get("missing"), None);
        assert_eq!(Params::parse(b"", &[]).unwrap(), Params::default());
    }

    #[test]
    fn a_name_repeats_only_when_allowed() {
        assert_eq!(
            Params::parse(b"a=1&a=2", &[]),
            Err(FormError::Repeated("a".into()))
        );
        assert_eq!(
            Params::parse(b"a=1&a=2", &[]).unwrap_err().to_string(),
            "parameter a is repeated; each parameter may appear once"
        );
        // An empty repeat is a repeat too: the rule is about the name.
        assert!(Params::parse(b"a=1&a=", &[]).is_err());
        let p = Params::parse(b"resource=r1&x=1&resource=r2&resource=", &["resource"]).unwrap();
        assert_eq!(p.all("resource"), vec!["r1", "r2"]);
        assert_eq!(p.get("resource"), Some("r1"));
        assert!(Params::parse(b"resource=r1&x=1&x=2", &["resource"]).is_err());
    }

    #[test]
    fn refuses_oversized_non_utf8_and_broken_input_saying_where() {
        let big = vec![b'a'; MAX_FORM_BYTES + 1];
        assert_eq!(
            Params::parse(&big, &[]),
            Err(FormError::TooLong(MAX_FORM_BYTES + 1))
        );
        assert!(Params::parse(&vec![b'a'; MAX_FORM_BYTES], &[]).is_ok());
        assert_eq!(Params::parse(&[0xff], &[]), Err(FormError::NotUtf8));
        assert_eq!(
            Params::parse(b"a=%zz", &[]).unwrap_err().to_string(),
            "parameter a has a broken %-escape"
        );
        assert_eq!(
            Params::parse(b"a=%ff", &[]).unwrap_err().to_string(),
            "parameter a is not UTF-8 after decoding"
        );
        assert_eq!(
            Params::parse(b"%zz=1", &[]),
            Err(FormError::Name(DecodeError::BrokenEscape))
        );
    }
}
