//! `application/x-www-form-urlencoded` parameters (the URL Standard's format, RFC 6749
//! appendix B), read from a query string or a request body with OAuth's rule that no
//! parameter may appear twice (RFC 6749 §3.1), and written into redirect URLs.
//!
//! The reader returns a plain description on failure: the authorize endpoint shows it on an
//! error page, the token endpoint sends it as `invalid_request`.

/// Largest form body or query string read.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The parameters of a query string or form body, in order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(input: &[u8]) -> Result<Params, String> {
        if input.len() > MAX_FORM_BYTES {
            return Err(format!(
                "the parameters are {} bytes; at most {MAX_FORM_BYTES} are accepted",
                input.len()
            ));
        }
        let text = std::str::from_utf8(input).map_err(|_| "the parameters are not UTF-8")?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (k, v) = (decode(k)?, decode(v)?);
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(format!(
                    "parameter {k} is repeated; each parameter may appear once"
                ));
            }
            pairs.push((k, v));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if present and non-empty (RFC 6749 §3.1: "Parameters sent
    /// without a value MUST be treated as if they were omitted").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn decode(s: &str) -> Result<String, String> {
    protocol::urlencoding::decode(s).map_err(|e| format!("a parameter {e}"))
}

/// Decodes one `application/x-www-form-urlencoded` component (HTTP Basic client credentials
/// are encoded this way, RFC 6749 §2.3.1).
pub fn decode_component(s: &str) -> Result<String, String> {
    decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_refuses_repeats_and_encodes() {
        let p = Params::parse(b"a=1&b=x+y%2Fz&empty=").unwrap();
        assert_eq!(p.get("b"), Some("x y/z"));
        assert_eq!(p.get("empty"), None);
        assert!(
            Params::parse(b"a=1&a=2")
                .unwrap_err()
                .contains("a is repeated")
        );
        assert!(Params::parse(b"a=%zz").is_err());
        assert!(Params::parse(&[0xff]).is_err());
    }
}
