//! Percent-encoding for `application/x-www-form-urlencoded` parameters and query strings
//! (the URL Standard's format, RFC 6749 appendix B; RFC 3986 §2.1 escapes). One copy for the
//! STS's form bodies and redirects, the IdPs' forms, the example clients' URLs and the
//! conformance runner's requests and flow readings.

use thiserror::Error;

/// Why a component does not decode; the caller names what it was decoding ("the form body
/// {error}").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("has a broken %-escape")]
    BrokenEscape,
    #[error("is not UTF-8 after decoding")]
    NotUtf8,
}

/// Percent-encodes everything but RFC 3986's unreserved characters (so a space is `%20`,
/// which every form decoder also reads).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&...` with both sides encoded.
pub fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// `base` with `params` appended to its query; a query `base` already has is kept (RFC 6749
/// §4.1.2: the redirect URI's own query stays).
pub fn with_query<V: AsRef<str>>(base: &str, params: &[(&str, V)]) -> String {
    let mut url = base.to_owned();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(&encode(k));
        url.push('=');
        url.push_str(&encode(v.as_ref()));
        sep = '&';
    }
    url
}

/// Decodes one component: `+` is a space, `%XX` a byte; a broken escape or bytes that are not
/// UTF-8 are refused.
pub fn decode(s: &str) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(DecodeError::BrokenEscape)?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8)
}

/// Decodes one component for display: a broken escape stays as written, bytes that are not
/// UTF-8 become U+FFFD. Never fails.
pub fn decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_the_unreserved() {
        assert_eq!(encode("a b/ø"), "a%20b%2F%C3%B8");
        assert_eq!(encode("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(encode_pairs(&[("k y", "v&w")]), "k%20y=v%26w");
    }

    #[test]
    fn with_query_keeps_the_base_query() {
        assert_eq!(
            with_query("https://rp/cb?x=1", &[("code", "c"), ("state", "s t")]),
            "https://rp/cb?x=1&code=c&state=s%20t"
        );
        assert_eq!(
            with_query("https://rp/cb", &[("a", "1".to_owned())]),
            "https://rp/cb?a=1"
        );
    }

    #[test]
    fn decodes_plus_and_escapes_and_refuses_broken_ones() {
        assert_eq!(decode("x+y%2Fz%C3%B8"), Ok("x y/zø".to_owned()));
        assert_eq!(decode("%zz"), Err(DecodeError::BrokenEscape));
        assert_eq!(decode("%2"), Err(DecodeError::BrokenEscape));
        assert_eq!(decode("%FF"), Err(DecodeError::NotUtf8));
        assert_eq!(decode_lossy("a%zz+%2"), "a%zz %2");
        assert_eq!(decode_lossy("%FF"), "\u{FFFD}");
    }

    proptest::proptest! {
        #[test]
        fn decode_undoes_encode(s in ".*") {
            proptest::prop_assert_eq!(decode(&encode(&s)), Ok(s.clone()));
            proptest::prop_assert_eq!(decode_lossy(&encode(&s)), s);
        }
    }
}
