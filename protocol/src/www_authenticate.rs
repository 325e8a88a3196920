//! `WWW-Authenticate` challenges as RFC 9110 §11.6.1 and §11.2 define them, for reading an
//! API's refusal (RFC 6750 §3, RFC 9449 §7.1 and §9).
//!
//! A header value may hold several challenges (`Bearer, DPoP algs="ES256"`, RFC 9449 §7.2
//! figure 17), and a response several header values; parameters may be tokens or quoted
//! strings (§11.2: recipients accept both), names and schemes are case-insensitive.

/// One challenge: its scheme and parameters (names lower-cased, quoted values unquoted), or
/// a token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
    pub token68: Option<String>,
}

impl Challenge {
    /// Whether the scheme is `scheme`, compared case-insensitively.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` parameter (RFC 6750 §3).
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }
}

/// Every challenge in `values` (the response's `WWW-Authenticate` header values), in order.
/// What cannot be read is skipped: a refusal's challenge is evidence, never a reason to fail.
pub fn parse<S: AsRef<str>>(values: &[S]) -> Vec<Challenge> {
    values.iter().flat_map(|v| parse_one(v.as_ref())).collect()
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

struct Cursor<'a> {
    s: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.at;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.at += c.len_utf8();
        }
        &self.s[start..self.at]
    }

    fn skip_ws(&mut self) {
        self.skip_while(|c| c == ' ' || c == '\t');
    }

    /// After optional whitespace, an `=` that starts a parameter's value (not a token68's
    /// padding followed by a comma or the end).
    fn param_equals_ahead(&self) -> bool {
        let rest = self.s[self.at..].trim_start_matches([' ', '\t']);
        let Some(after) = rest.strip_prefix('=') else {
            return false;
        };
        let after = after.trim_start_matches([' ', '\t']);
        after.starts_with('"') || after.chars().next().is_some_and(is_tchar)
    }

    fn quoted(&mut self) -> String {
        // At the opening quote.
        self.at += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.at += c.len_utf8();
            match c {
                '"' => break,
                '\\' => {
                    if let Some(n) = self.peek() {
                        self.at += n.len_utf8();
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        out
    }
}

fn parse_one(value: &str) -> Vec<Challenge> {
    let mut cur = Cursor { s: value, at: 0 };
    let mut out = Vec::new();
    loop {
        cur.skip_while(|c| c == ' ' || c == '\t' || c == ',');
        if cur.peek().is_none() {
            break;
        }
        let scheme = cur.skip_while(is_tchar).to_owned();
        if scheme.is_empty() {
            // Not a challenge: skip to the next comma.
            cur.skip_while(|c| c != ',');
            continue;
        }
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
            token68: None,
        };
        cur.skip_ws();
        // A token68: token68 characters and padding, then a comma or the end.
        let rest = &cur.s[cur.at..];
        let body: String = rest.chars().take_while(|&c| is_token68_char(c)).collect();
        let after = rest[body.len()..].trim_start_matches('=');
        if !body.is_empty()
            && after
                .trim_start_matches([' ', '\t'])
                .chars()
                .next()
                .is_none_or(|c| c == ',')
            && !cur.param_equals_ahead_of(body.len())
        {
            let len = rest.len() - after.len();
            challenge.token68 = Some(rest[..len].to_owned());
            cur.at += len;
            out.push(challenge);
            continue;
        }
        // auth-params, separated by commas, until a token not followed by `=` (the next
        // challenge's scheme).
        loop {
            cur.skip_while(|c| c == ' ' || c == '\t' || c == ',');
            let start = cur.at;
            let name = cur.skip_while(is_tchar).to_owned();
            if name.is_empty() || !cur.param_equals_ahead() {
                cur.at = start;
                break;
            }
            cur.skip_ws();
            cur.at += 1; // '='
            cur.skip_ws();
            let value = if cur.peek() == Some('"') {
                cur.quoted()
            } else {
                cur.skip_while(is_tchar).to_owned()
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
            cur.skip_ws();
            if cur.peek() != Some(',') {
                // Anything else ends the challenge; skip to the next comma.
                cur.skip_while(|c| c != ',');
            }
        }
        out.push(challenge);
    }
    out
}

impl Cursor<'_> {
    /// Whether the `len` characters ahead are a parameter's name (`name=value`), not a
    /// token68.
    fn param_equals_ahead_of(&self, len: usize) -> bool {
        let probe = Cursor {
            s: self.s,
            at: self.at + len,
        };
        probe.param_equals_ahead()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> Vec<Challenge> {
        parse(&[v])
    }

    #[test]
    fn several_challenges_in_one_value_in_any_order() {
        // RFC 9449 §7.2 figure 17.
        let c = one(r#"Bearer, DPoP algs="ES256 PS256""#);
        assert_eq!(c.len(), 2);
        assert!(c[0].is("bearer") && c[0].params.is_empty());
        assert!(c[1].is("DPoP"));
        assert_eq!(c[1].param("algs"), Some("ES256 PS256"));

        let c = one(r#"DPoP algs="ES256", Bearer realm="api""#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("algs"), Some("ES256"));
        assert!(c[1].is("Bearer"));
        assert_eq!(c[1].param("realm"), Some("api"));
    }

    #[test]
    fn parameters_as_tokens_or_quoted_strings() {
        let c = one(
            r#"DPoP error=invalid_token, Error_Description="the \"token\", expired", algs="ES256""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].error(), Some("invalid_token"));
        assert_eq!(
            c[0].param("error_description"),
            Some(r#"the "token", expired"#)
        );
        assert_eq!(c[0].param("algs"), Some("ES256"));
        let c = one(r#"bearer error = "insufficient_scope" , scope="a b""#);
        assert_eq!(c[0].error(), Some("insufficient_scope"));
        assert_eq!(c[0].param("scope"), Some("a b"));
    }

    #[test]
    fn several_values_and_token68() {
        let c = parse(&[
            "Basic",
            r#"Negotiate abc+/d==, DPoP error="use_dpop_nonce""#,
        ]);
        assert_eq!(c.len(), 3);
        assert!(c[0].is("Basic"));
        assert_eq!(c[1].token68.as_deref(), Some("abc+/d=="));
        assert_eq!(c[2].error(), Some("use_dpop_nonce"));
    }

    #[test]
    fn unreadable_input_gives_what_can_be_read() {
        assert!(one("").is_empty());
        assert!(one(" , ,").is_empty());
        let c = one(r#"=, Bearer error="x"#);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].error(), Some("x"));
        let c = one("DPoP error=\"a\" junk, Bearer");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].error(), Some("a"));
    }
}
