//! The IdPs' reading of query strings and form bodies: [`protocol::form`] with no name
//! allowed to repeat (RFC 6749 §3.1), its refusal turned into the plain description that the
//! authorize endpoint shows on an error page and the token endpoint sends as
//! `invalid_request`.

pub use protocol::form::{MAX_FORM_BYTES, Params};

/// The parameters of a query string or form body.
pub fn parse(input: &[u8]) -> Result<Params, String> {
    Params::parse(input, &[]).map_err(|e| e.to_string())
}

/// Decodes one `application/x-www-form-urlencoded` component (HTTP Basic client credentials
/// are encoded this way, RFC 6749 §2.3.1).
pub fn decode_component(s: &str) -> Result<String, String> {
    protocol::urlencoding::decode(s).map_err(|e| format!("a parameter {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_descriptions_and_nothing_repeats() {
        let p = parse(b"a=1&b=x+y%2Fz&empty=").unwrap();
        assert_eq!(p.get("b"), Some("x y/z"));
        assert_eq!(p.get("empty"), None);
        assert!(parse(b"a=1&a=2").unwrap_err().contains("a is repeated"));
        // The STS lets resource repeat (RFC 8707); an IdP has no use for it.
        assert!(parse(b"resource=1&resource=2").is_err());
        assert!(parse(b"a=%zz").is_err());
        assert!(parse(&[0xff]).unwrap_err().contains("not UTF-8"));
        assert_eq!(decode_component("a%3Ab"), Ok("a:b".to_owned()));
        assert!(decode_component("%zz").is_err());
    }
}
