//! Organisation numbers of Enhetsregisteret (Brønnøysund): 9 digits, the last a mod-11
//! check digit with weights 3 2 7 6 5 4 3 2 (python-stdnum `stdnum/no/orgnr.py`; see
//! `shared/reference/synthpop.md` §3.1). Real numbers begin with 8 or 9; Skatteetaten's
//! synthetic Test-Norge organisations begin with 3, mostly 310–315.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// Check-digit weights over digits 1–8.
pub const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// The range the generator draws synthetic organisation numbers from (Test-Norge's 310–315).
pub const SYNTHETIC_BASES: std::ops::Range<u32> = 31_000_000..31_600_000;

/// A 9-digit organisation number known to be valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNr(u32);

impl OrgNr {
    pub fn value(self) -> u32 {
        self.0
    }

    /// The eight leading digits.
    pub fn base(self) -> u32 {
        self.0 / 10
    }

    /// The number on `base` (8 digits), if a check digit exists for it.
    pub fn from_base(base: u32) -> Option<OrgNr> {
        if base > 99_999_999 {
            return None;
        }
        let mut digits = [0u8; 8];
        let mut rest = base;
        for slot in digits.iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        let k = check_digit(&digits)?;
        Some(OrgNr(base * 10 + u32::from(k)))
    }

    /// In Test-Norge's synthetic range (first digits 310–315)?
    pub fn is_test_norge(self) -> bool {
        (310_000_000..316_000_000).contains(&self.0)
    }
}

/// The check digit for eight leading digits, or `None` when it would be 10 (not issued).
pub fn check_digit(digits: &[u8; 8]) -> Option<u8> {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    let k = (11 - sum % 11) % 11;
    (k < 10).then_some(k as u8)
}

/// Why a string is not a valid organisation number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrgNrError {
    #[error("9 digits expected, got {got}")]
    WrongLength { got: usize },
    #[error("character {position} is {found:?}, only digits 0-9 are allowed")]
    NotADigit { position: usize, found: char },
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit { found: u8, expected: u8 },
    #[error(
        "check digit is {found}, but no organisation number is issued with these first eight digits (their check digit would be 10)"
    )]
    Unusable { found: u8 },
}

/// Validates an organisation number.
pub fn validate(input: &str) -> Result<OrgNr, OrgNrError> {
    let chars: Vec<char> = input.trim().chars().collect();
    if chars.len() != 9 {
        return Err(OrgNrError::WrongLength { got: chars.len() });
    }
    let mut digits = [0u8; 9];
    for (i, c) in chars.iter().enumerate() {
        digits[i] = c.to_digit(10).ok_or(OrgNrError::NotADigit {
            position: i + 1,
            found: *c,
        })? as u8;
    }
    let mut eight = [0u8; 8];
    eight.copy_from_slice(&digits[..8]);
    let found = digits[8];
    match check_digit(&eight) {
        Some(expected) if expected == found => {}
        Some(expected) => return Err(OrgNrError::CheckDigit { found, expected }),
        None => return Err(OrgNrError::Unusable { found }),
    }
    let value = digits.iter().fold(0u32, |acc, d| acc * 10 + u32::from(*d));
    Ok(OrgNr(value))
}

impl fmt::Display for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

impl fmt::Debug for OrgNr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgNr({:09})", self.0)
    }
}

impl Serialize for OrgNr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut digits = [b'0'; 9];
        let mut rest = self.0;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        s.serialize_str(std::str::from_utf8(&digits).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// stdnum's doctest and published anchors (synthpop.md §3.1).
    #[test]
    fn known_answers() {
        assert_eq!(
            OrgNr::from_base(98_807_791).map(|o| o.value()),
            Some(988_077_917)
        );
        for valid in [
            "988077917",
            "889640782",
            "974760673",
            "994598759",
            "998447356",
            "310211036",
            "310163449",
            "310478717",
            "311851381",
            "312246538",
            "312587629",
            "312701103",
            "313367002",
            "313513580",
            "314055403",
            "314270320",
            "314961900",
            "212201782",
        ] {
            assert!(validate(valid).is_ok(), "{valid} should be valid");
        }
        assert!(validate("310211036").is_ok_and(OrgNr::is_test_norge));
        assert!(validate("988077917").is_ok_and(|o| !o.is_test_norge()));
    }

    #[test]
    fn precise_refusals() {
        assert_eq!(
            validate("988077918").unwrap_err().to_string(),
            "check digit is 8, expected 7"
        );
        assert_eq!(
            validate("98807791").unwrap_err().to_string(),
            "9 digits expected, got 8"
        );
        assert_eq!(
            validate("98807791x").unwrap_err().to_string(),
            "character 9 is 'x', only digits 0-9 are allowed"
        );
    }

    #[test]
    fn every_single_digit_change_is_refused() {
        let good = "988077917";
        for pos in 0..9 {
            for d in b'0'..=b'9' {
                let mut s = good.as_bytes().to_vec();
                if s[pos] == d {
                    continue;
                }
                s[pos] = d;
                let s = String::from_utf8(s).unwrap();
                assert!(validate(&s).is_err(), "{s} should be refused");
            }
        }
    }
}
