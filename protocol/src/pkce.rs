//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` would let anyone who sees the
//! authorization request redeem the code, and HelseID's profile requires S256.
//!
//! The client side makes a verifier ([`new_verifier`], §4.1) and its challenge ([`challenge`],
//! §4.2); the server side checks the challenge's shape when the request arrives
//! ([`valid_challenge`], §4.2, §4.4) and the verifier when the code is redeemed ([`verifies`],
//! §4.6). The STS, the bundled IdPs, the STS as the IdPs' relying party and the reference
//! client all use these.

use crate::jose::{RngError, b64_decode, b64_encode, constant_time_eq, random_bytes, sha256_b64};

/// Random bytes in a verifier: 32, RFC 7636 §4.1's recommendation, base64url-encoded to 43
/// characters (256 bits of entropy).
pub const VERIFIER_BYTES: usize = 32;

/// A new `code_verifier`: base64url of [`VERIFIER_BYTES`] bytes from the system CSPRNG
/// (RFC 7636 §4.1, §7.1). A failing RNG is an error: a guessable verifier protects nothing.
pub fn new_verifier() -> Result<String, RngError> {
    Ok(b64_encode(&random_bytes::<VERIFIER_BYTES>()?))
}

/// The S256 `code_challenge` of `verifier`: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`
/// (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    sha256_b64(verifier.as_bytes())
}

/// RFC 7636 §4.2: an S256 challenge is base64url(SHA-256(verifier)), so 43 characters of the
/// base64url alphabet that decode to the 32 bytes of a SHA-256 hash. Anything else can match
/// no verifier.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        // The 43rd character carries 2 bits of the hash and 4 zero bits; decoding refuses
        // non-zero ones.
        && b64_decode(challenge).is_some_and(|h| h.len() == 32)
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: the verifier is well formed and
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge`, compared in constant
/// time.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier)
        && constant_time_eq(self::challenge(verifier).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B: the verifier from the octets listed there, and its challenge.
    const B_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const B_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const B_OCTETS: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(b64_encode(&B_OCTETS), B_VERIFIER);
        assert_eq!(challenge(B_VERIFIER), B_CHALLENGE);
        assert!(valid_verifier(B_VERIFIER));
        assert!(valid_challenge(B_CHALLENGE));
        assert!(verifies(B_VERIFIER, B_CHALLENGE));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_does_not_verify() {
        assert!(!verifies(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            B_CHALLENGE
        ));
        // `plain`: the verifier sent as its own challenge.
        assert!(!verifies(B_VERIFIER, B_VERIFIER));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", &B_VERIFIER[..43])));
        // A malformed verifier fails even when its hash is the challenge.
        let short = "abc";
        assert!(!verifies(short, &challenge(short)));
    }

    #[test]
    fn challenges_of_another_shape_are_refused() {
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="
        ));
        assert!(!valid_challenge(&B_CHALLENGE[..42]));
        assert!(!valid_challenge(B_VERIFIER.trim_end_matches('k')));
        // Right length and alphabet, but the last character's spare bits are not zero, so
        // it is the encoding of no hash.
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
    }

    #[test]
    fn new_verifiers_are_valid_random_and_verify_against_their_challenge() {
        let a = new_verifier().unwrap();
        let b = new_verifier().unwrap();
        assert_eq!(a.len(), 43);
        assert!(valid_verifier(&a));
        assert_ne!(a, b);
        assert!(valid_challenge(&challenge(&a)));
        assert!(verifies(&a, &challenge(&a)));
        assert!(!verifies(&a, &challenge(&b)));
    }
}
