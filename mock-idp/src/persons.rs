//! The persons a login page offers, and the check of a typed identity number.
//!
//! HelseID looks every user up in the population register (Persontjenesten over Test-Norge);
//! here the register is the synthetic population, so a number that is well formed but belongs
//! to nobody in it is refused, like an unknown person would be. An IdP returns a fødselsnummer
//! or a D-number (seed 001), so H- and FH-numbers are refused too.

use synthpop::nin::{self, NinKind};
use synthpop::{Person, Population};

use crate::locale::Locale;

/// How many persons a page lists.
pub const LIST_LEN: usize = 20;
/// Health personnel in the default list; the rest are other persons.
const DEFAULT_PRACTITIONERS: usize = 10;
/// Name matches read before sorting health personnel first and keeping [`LIST_LEN`].
const SEARCH_SCAN: usize = 200;

/// One person as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub pid: String,
    pub name: String,
    pub d_number: bool,
    pub hpr: Option<String>,
    /// Professions of the HPR approvals (e.g. "Lege").
    pub profession: Option<String>,
}

impl PersonRow {
    pub fn of(p: &Person) -> PersonRow {
        PersonRow {
            pid: p.pid.as_str().to_owned(),
            name: p.name.clone(),
            d_number: p.pid_kind == NinKind::DNumber,
            hpr: p.hpr.as_ref().map(|h| h.hpr_number.to_string()),
            profession: p.hpr.as_ref().map(|h| {
                let mut names: Vec<&str> = Vec::new();
                for a in &h.approvals {
                    if !names.contains(&a.profession.description) {
                        names.push(a.profession.description);
                    }
                }
                names.join(", ")
            }),
        }
    }
}

/// The list a page shows before any search: health personnel first, then others.
pub fn default_list(population: &Population) -> Vec<PersonRow> {
    let mut rows: Vec<PersonRow> = population
        .practitioners()
        .take(DEFAULT_PRACTITIONERS)
        .map(|p| PersonRow::of(&p))
        .collect();
    let others = LIST_LEN - rows.len();
    rows.extend(
        population
            .persons()
            .filter(|p| p.hpr.is_none())
            .take(others)
            .map(|p| PersonRow::of(&p)),
    );
    rows
}

/// Persons matching `query`: an identity number finds its person; words find names
/// containing all of them. Health personnel first.
pub fn search(population: &Population, query: &str) -> Vec<PersonRow> {
    let digits: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return population
            .by_pid(&digits)
            .map(|p| vec![PersonRow::of(&p)])
            .unwrap_or_default();
    }
    let mut rows: Vec<PersonRow> = population
        .search_name(query)
        .take(SEARCH_SCAN)
        .map(|p| PersonRow::of(&p))
        .collect();
    rows.sort_by_key(|r| r.hpr.is_none());
    rows.truncate(LIST_LEN);
    rows
}

/// Why a typed identity number logs nobody in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFailure {
    /// Not a valid number (length, digits, date, check digits).
    Invalid,
    /// A valid H- or FH-number: not an identity an IdP returns.
    NotPersonal,
    /// Valid, but nobody in the population has it.
    Unknown,
}

/// The person a typed identity number names, or why there is none (in the page's language).
pub fn lookup(
    population: &Population,
    typed: &str,
    locale: Locale,
) -> Result<Person, (LookupFailure, String)> {
    let number: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let facts = nin::validate(&number).map_err(|e| {
        let message = match locale {
            Locale::Nb => {
                format!("«{number}» er ikke et gyldig fødselsnummer eller D-nummer: {e}.")
            }
            Locale::En => {
                format!("{number:?} is not a valid national identity number or D-number: {e}.")
            }
        };
        (LookupFailure::Invalid, message)
    })?;
    if !matches!(facts.kind, NinKind::Fodselsnummer | NinKind::DNumber) {
        let message = match locale {
            Locale::Nb => format!(
                "{number} er et {}; identitetstilbyderen kan bare logge inn personer med fødselsnummer eller D-nummer.",
                facts.kind.label()
            ),
            Locale::En => format!(
                "{number} is an {}; the identity provider can only log in persons with a fødselsnummer or D-number.",
                facts.kind.label()
            ),
        };
        return Err((LookupFailure::NotPersonal, message));
    }
    population.by_pid(&number).ok_or_else(|| {
        let message = match locale {
            Locale::Nb => format!(
                "Fant ingen person med nummer {number} i folkeregisteret (testpopulasjonen med {} personer).",
                population.len()
            ),
            Locale::En => format!(
                "No person with number {number} is in the population register (the test population of {} persons).",
                population.len()
            ),
        };
        (LookupFailure::Unknown, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_health_personnel_first_and_refuses_unknown_numbers() {
        let pop = Population::new(7, 2_000).unwrap();
        let rows = default_list(&pop);
        assert_eq!(rows.len(), LIST_LEN);
        assert!(rows[0].hpr.is_some() && rows[0].profession.is_some());
        assert!(rows[LIST_LEN - 1].hpr.is_none());
        let someone = &rows[3];
        assert_eq!(search(&pop, &someone.pid), vec![someone.clone()]);
        let word = someone.name.split_whitespace().last().unwrap();
        assert!(search(&pop, &word.to_lowercase()).contains(someone));
        assert_eq!(
            lookup(&pop, &someone.pid, Locale::En).unwrap().pid.as_str(),
            someone.pid
        );
        // A valid number from another population is not in this register.
        let stranger = Population::new(8, 2_000).unwrap().person(0).unwrap();
        let (kind, err) = lookup(&pop, stranger.pid.as_str(), Locale::En).unwrap_err();
        assert_eq!(kind, LookupFailure::Unknown);
        assert!(err.contains("No person"), "{err}");
        let (kind, err) = lookup(&pop, "15038512364", Locale::Nb).unwrap_err();
        assert_eq!(kind, LookupFailure::Invalid);
        assert!(err.contains("ikke et gyldig"), "{err}");
        let (kind, _) = lookup(&pop, "81212121223", Locale::En).unwrap_err();
        assert_eq!(kind, LookupFailure::NotPersonal);
    }
}
