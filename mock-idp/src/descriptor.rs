//! What a bundled identity provider is, as data: its path segment and HelseID `idp` scheme,
//! names in both languages, the login methods it offers (each with its security level, `acr`
//! and `amr`), and how its page looks.
//!
//! HelseID's seed requirements for an IdP (seed 001, "Kom i gang med HelseID"): return the
//! person's identifier (fødselsnummer or D-number), the authentication method and the security
//! level. A [`LoginMethod`] carries the last two; the person comes from the login page.

use serde::Serialize;

use crate::locale::Text;

/// A security level of the Norwegian framework ("Rammeverk for autentisering og
/// uavviselighet"): 3 ≈ eIDAS substantial, 4 ≈ eIDAS high. HelseID's
/// `helseid://claims/identity/security_level` carries it as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum SecurityLevel {
    #[serde(rename = "3")]
    Level3,
    #[serde(rename = "4")]
    Level4,
}

impl SecurityLevel {
    /// The `security_level` claim value.
    pub fn as_claim(self) -> &'static str {
        match self {
            SecurityLevel::Level3 => "3",
            SecurityLevel::Level4 => "4",
        }
    }

    /// Reads `test_security_level` (`3` or `4`).
    pub fn from_digit(s: &str) -> Option<SecurityLevel> {
        match s.trim() {
            "3" => Some(SecurityLevel::Level3),
            "4" => Some(SecurityLevel::Level4),
            _ => None,
        }
    }

    /// The level an `acr_values` entry asks for: HelseID's `Level3`/`Level4`/`High`
    /// (reference §4.8), eIDAS `substantial`/`high` and ID-porten's `idporten-loa-*`.
    pub fn from_acr_value(s: &str) -> Option<SecurityLevel> {
        match s.to_ascii_lowercase().as_str() {
            "level3" | "substantial" | "idporten-loa-substantial" => Some(SecurityLevel::Level3),
            "level4" | "high" | "idporten-loa-high" => Some(SecurityLevel::Level4),
            _ => None,
        }
    }
}

/// One way to log in at an IdP (MinID or BankID at ID-porten; level 3 or 4 at TestIDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoginMethod {
    /// The form value choosing this method; unique within the IdP.
    pub id: &'static str,
    pub label: Text,
    pub level: SecurityLevel,
    /// The ID token's `acr`.
    pub acr: &'static str,
    /// The ID token's `amr`.
    pub amr: &'static [&'static str],
    /// `acr_values` entries that ask for this method only (`amr:minid` at ID-porten,
    /// `bp:amr:sc` at Buypass; reference §4.8).
    pub selectors: &'static [&'static str],
}

/// How an IdP's login page looks and speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Look {
    /// The brand line in the page header.
    pub brand: &'static str,
    /// Header and button colour (CSS).
    pub accent: &'static str,
    /// Text colour on the accent.
    pub on_accent: &'static str,
    /// Page background (CSS).
    pub background: &'static str,
    /// CSS font stack.
    pub font: &'static str,
    pub heading: Text,
    pub intro: Text,
    /// Heading over the method choice (shown when there is more than one method).
    pub method_heading: Text,
    /// The typed-pid submit button.
    pub submit: Text,
}

/// One bundled identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdpDescriptor {
    /// Path segment: served under `/idp/<name>`, issuer `<base_url>/idp/<name>`.
    pub name: &'static str,
    /// HelseID's `idp` claim value for this IdP.
    pub scheme: &'static str,
    /// Other `idp:` names that select this IdP (an older or newer name of the same one); a
    /// login selected by one carries it as its `idp` claim.
    pub scheme_aliases: &'static [&'static str],
    /// Whether `scheme` is seen in HelseID material (reference §9); the others are the
    /// testbed's guess, listed as UNCONFIRMED in docs/mock-idp.md.
    pub scheme_confirmed: bool,
    pub display_name: Text,
    /// The methods, in the order the page offers them; the first is preselected.
    pub methods: &'static [LoginMethod],
    pub look: Look,
    /// TestIDP only: `test_pid` (+ `test_security_level`) logs in without a page.
    pub test_automation: bool,
}

impl IdpDescriptor {
    /// The security levels this IdP can assert, lowest first.
    pub fn levels(&self) -> Vec<SecurityLevel> {
        let mut levels: Vec<SecurityLevel> = self.methods.iter().map(|m| m.level).collect();
        levels.sort();
        levels.dedup();
        levels
    }

    pub fn method(&self, id: &str) -> Option<&'static LoginMethod> {
        self.methods.iter().find(|m| m.id == id)
    }

    /// Every `acr` the IdP may put in an ID token (for discovery's `acr_values_supported`).
    pub fn acr_values(&self) -> Vec<&'static str> {
        let mut acrs: Vec<&'static str> = Vec::new();
        for m in self.methods {
            if !acrs.contains(&m.acr) {
                acrs.push(m.acr);
            }
        }
        acrs
    }

    /// The methods an `acr_values` list leaves on offer. A method selector (`amr:bankid`)
    /// narrows to that method; a level (`Level4`) to methods at or above it (the lowest level
    /// asked for is enough, as acr_values lists acceptable values). When nothing on offer
    /// satisfies the request every method stays: OIDC Core §3.1.2.1 makes `acr_values`
    /// voluntary, and the relying party must check `acr` and `security_level` itself (this is
    /// how the STS meets an employer IdP that cannot do level 4).
    pub fn methods_for(&self, acr_values: Option<&str>) -> Vec<&'static LoginMethod> {
        let all: Vec<&'static LoginMethod> = self.methods.iter().collect();
        let Some(list) = acr_values else {
            return all;
        };
        let entries: Vec<&str> = list.split_whitespace().collect();
        let selected: Vec<&'static LoginMethod> = all
            .iter()
            .copied()
            .filter(|m| {
                entries
                    .iter()
                    .any(|e| m.selectors.iter().any(|s| s.eq_ignore_ascii_case(e)))
            })
            .collect();
        if !selected.is_empty() {
            return selected;
        }
        let Some(min) = entries
            .iter()
            .filter_map(|e| SecurityLevel::from_acr_value(e))
            .min()
        else {
            return all;
        };
        let strong: Vec<&'static LoginMethod> =
            all.iter().copied().filter(|m| m.level >= min).collect();
        if strong.is_empty() { all } else { strong }
    }
}
