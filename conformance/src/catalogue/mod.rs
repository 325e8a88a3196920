//! The catalogue: every check the runner knows, with its stable ID, its level, the
//! requirement it enforces and the published rule that requirement comes from. IDs never
//! change meaning; a retired check keeps its ID reserved.
//!
//! Each kind has its own file ([`api`], [`client`], [`idp`]) and its own enum of check IDs
//! ([`ApiCheck`], [`ClientCheck`], [`IdpCheck`]), generated with the entries by [`checks!`]:
//! the runner dispatches on the enum with exhaustive `match`es, so a check without an
//! implementation, or a mistyped ID, does not compile.
//!
//! The level follows the words of the rule ([`Source::words`]): a MUST, SHALL or "must" in
//! HelseID's pages or an RFC makes a must-check; a check that asks more than the rule does
//! is a should-check and says why ([`Check::level_note`]). docs/conformance.md carries the
//! table (`helseid-testbed conformance list --markdown`; a test keeps them in step).

use serde::Serialize;

/// Must-checks decide the verdict; should-checks only warn (unless `--fail-on should`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Must,
    Should,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Must => "must",
            Severity::Should => "should",
        }
    }
}

/// The kind of target a check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Api,
    Client,
    Idp,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Api => "api",
            TargetKind::Client => "client",
            TargetKind::Idp => "idp",
        }
    }
}

/// When a check applies, from the scenario's requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// The API requires scopes.
    Scopes,
    /// The API takes DPoP-bound tokens.
    Dpop,
    /// The API takes Bearer tokens.
    Bearer,
    /// The API needs a logged-in user (`requirements.user`, a security level or the
    /// Tillitsrammeverk claim).
    User,
    /// The API requires security level 4.
    Level4,
    /// The API requires the Tillitsrammeverk claim.
    Tillitsrammeverk,
    /// The API serves only named organisations.
    Organisations,
    /// The api scenario's tokens are issued to a supplier's multi-tenant client
    /// (`requirements.tenancy: multi`) and the API serves only named organisations.
    MultiTenantOrganisations,
    /// The idp scenario says how to cancel a login (`idp.cancel`).
    CancelSteps,
    /// The client scenario is a login client (`client.login: true`).
    Login,
    /// The client scenario is a multi-tenant client (`client.tenancy: multi`).
    MultiTenant,
}

/// Where a requirement is written, in the rule's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The document and the place in it: a HelseID page and its bullet, or an RFC section.
    pub cite: &'static str,
    /// What the rule says (quoted, or closely paraphrased where marked), with its MUST,
    /// SHOULD or "must": the level of the check follows these words.
    pub words: &'static str,
    pub link: &'static str,
}

/// The typed ID of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    Api(ApiCheck),
    Client(ClientCheck),
    Idp(IdpCheck),
}

/// One check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The stable text ID, e.g. `API-TYP-01`.
    pub id: &'static str,
    pub key: CheckId,
    pub group: &'static str,
    pub kind: TargetKind,
    pub severity: Severity,
    pub title: &'static str,
    /// What the check does and what passes, in a sentence or two.
    pub requirement: &'static str,
    /// The published rule the check enforces.
    pub source: Source,
    /// Why the level is not the one the source's words give, or what the check asks beyond
    /// the rule (a should-check that asks more than HelseID does says why here).
    pub level_note: Option<&'static str>,
    pub applies: Applies,
}

impl Check {
    pub fn link(&self) -> &'static str {
        self.source.link
    }
}

/// Generates a kind's ID enum and its entries. `ALL` lists the IDs in catalogue order, and
/// an ID's `check()` is its entry (the enum's discriminant is the entry's index).
macro_rules! checks {
    (
        $kind:ident, $enum:ident;
        $(
            $variant:ident = $id:literal {
                group: $group:literal,
                severity: $sev:ident,
                applies: $applies:ident,
                title: $title:literal,
                requirement: $req:literal,
                source: ($cite:expr, $words:literal, $link:expr),
                level_note: $note:expr $(,)?
            }
        ),* $(,)?
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $enum {
            $($variant),*
        }

        impl $enum {
            /// Every ID of this kind, in the order the checks run.
            pub const ALL: &'static [$enum] = &[$($enum::$variant),*];

            /// The catalogue entry.
            pub fn check(self) -> &'static super::Check {
                &CHECKS[self as usize]
            }
        }

        pub(super) const CHECKS: &[super::Check] = &[
            $(
                super::Check {
                    id: $id,
                    key: super::CheckId::$kind($enum::$variant),
                    group: $group,
                    kind: super::TargetKind::$kind,
                    severity: super::Severity::$sev,
                    title: $title,
                    requirement: $req,
                    source: super::Source { cite: $cite, words: $words, link: $link },
                    level_note: $note,
                    applies: super::Applies::$applies,
                }
            ),*
        ];
    };
}

mod api;
mod client;
mod idp;
pub mod sources;

pub use api::ApiCheck;
pub use client::ClientCheck;
pub use idp::IdpCheck;

const COUNT: usize = api::CHECKS.len() + client::CHECKS.len() + idp::CHECKS.len();

/// The three kinds' entries in one array, in the order `list` shows them.
const fn all() -> [Check; COUNT] {
    let mut out = [api::CHECKS[0]; COUNT];
    let mut n = 0;
    let kinds: [&[Check]; 3] = [api::CHECKS, client::CHECKS, idp::CHECKS];
    let mut k = 0;
    while k < kinds.len() {
        let mut i = 0;
        while i < kinds[k].len() {
            out[n] = kinds[k][i];
            n += 1;
            i += 1;
        }
        k += 1;
    }
    out
}

const ALL: [Check; COUNT] = all();

/// Every check: the api checks, then the client checks, then the idp checks.
pub static CHECKS: &[Check] = &ALL;

impl CheckId {
    pub fn check(self) -> &'static Check {
        match self {
            CheckId::Api(c) => c.check(),
            CheckId::Client(c) => c.check(),
            CheckId::Idp(c) => c.check(),
        }
    }
}

/// The check with `id` (case-insensitive).
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

/// The checks of one kind, in catalogue order.
pub fn of_kind(kind: TargetKind) -> impl Iterator<Item = &'static Check> {
    CHECKS.iter().filter(move |c| c.kind == kind)
}

/// Whether `selector` (an ID, a group name or a prefix like `API-DPOP`) names `check`.
pub fn selects(selector: &str, check: &Check) -> bool {
    check.id.eq_ignore_ascii_case(selector)
        || check.group.eq_ignore_ascii_case(selector)
        || (selector.len() >= 3
            && check
                .id
                .to_ascii_lowercase()
                .starts_with(&format!("{}-", selector.to_ascii_lowercase())))
}

/// The catalogue as the Markdown table of docs/conformance.md.
pub fn markdown_table() -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from(
        "| ID | level | title | the rule it enforces | its words |\n|---|---|---|---|---|\n",
    );
    for c in CHECKS {
        let note = c
            .level_note
            .map(|n| format!(" *Level:* {}", cell(n)))
            .unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | [{}]({}) | {}{} |\n",
            c.id,
            c.severity.as_str(),
            cell(c.title),
            cell(c.source.cite),
            c.source.link,
            cell(c.source.words),
            note
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_well_formed_and_typed() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(
                CHECKS[..i].iter().all(|o| o.id != c.id),
                "duplicate {}",
                c.id
            );
            let parts: Vec<&str> = c.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", c.id);
            assert!(parts[2].len() == 2 && parts[2].chars().all(|ch| ch.is_ascii_digit()));
            assert_eq!(parts[0], c.kind.as_str().to_ascii_uppercase(), "{}", c.id);
            assert!(c.source.link.starts_with("https://"), "{}", c.id);
            assert!(
                !c.source.cite.is_empty() && !c.source.words.is_empty(),
                "{}",
                c.id
            );
            assert!(!c.title.ends_with('.'), "{}", c.id);
            // The typed ID leads back to this entry.
            assert_eq!(c.key.check().id, c.id);
        }
    }

    /// A should-check that is a should because it asks more than the rule says, or a check
    /// whose level the source's words do not give, says why; a must-check cites a rule whose
    /// words carry a must.
    #[test]
    fn levels_follow_the_words() {
        for c in CHECKS {
            let w = c.source.words.to_ascii_lowercase();
            let must_words = ["must", "shall", "required", "reject", "mandatory"];
            if c.severity == Severity::Must && c.level_note.is_none() {
                assert!(
                    must_words.iter().any(|m| w.contains(m)),
                    "{} is a must but its source's words carry no must: {:?}",
                    c.id,
                    c.source.words
                );
            }
            if c.severity == Severity::Should && c.level_note.is_none() {
                assert!(
                    w.contains("should") || w.contains("recommend") || w.contains("may"),
                    "{} is a should without a note and its source's words carry no should: {:?}",
                    c.id,
                    c.source.words
                );
            }
        }
    }

    #[test]
    fn selectors() {
        let dpop = find("api-dpop-03").unwrap_or_else(|| panic!("api-dpop-03"));
        assert!(selects("API-DPOP-03", dpop));
        assert!(selects("dpop", dpop));
        assert!(selects("API-DPOP", dpop));
        assert!(!selects("API-DPOP-04", dpop));
        assert!(find("NOPE-01").is_none());
        assert_eq!(ApiCheck::ALL.len(), of_kind(TargetKind::Api).count());
        assert_eq!(ClientCheck::ALL.len(), of_kind(TargetKind::Client).count());
        assert_eq!(IdpCheck::ALL.len(), of_kind(TargetKind::Idp).count());
    }

    #[test]
    fn the_docs_carry_the_table() {
        let docs = include_str!("../../../docs/conformance.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/conformance.md does not hold the current catalogue table: run `helseid-testbed conformance list --markdown` and paste it between the markers"
        );
    }
}
