//! Search parameters as Persontjenesten's CapabilityStatement (`PersonServerRequirements`)
//! lists them, read into a typed request (FHIR R4 §3.1.1.5 search, §2.21 search parameter
//! types), and matched against the index.
//!
//! - `Person`: `_id`, `name`, `given`, `family`, `middlename` (strings: case-insensitive
//!   "starts with" on any part of the name; `:exact` and `:contains`), `birthdate` (a date
//!   with an optional prefix `eq ne gt lt ge le sa eb`, at year, month or day precision),
//!   and `identifier` (`[system]|[value]` or a bare number, several comma-separated).
//! - `RelatedPerson`: `_id`, `patient` (`Person/[id]` or `[id]`), `relationship`
//!   (`[system]|[code]`), `identifier` (the related person's).
//! - `identifier` only in the body of `POST [base]/[type]/_search`, never in a URL: an
//!   identity number is personal data that must not end up in access logs.
//! - Result parameters: `_elements`, `_count` (default [`DEFAULT_COUNT`], at most
//!   [`MAX_COUNT`]), `_offset` (the testbed's paging), `_total` (`accurate` by default,
//!   `none`), `_summary=count`, `_format`.
//!
//! Comma-separated values are alternatives ("or"), repeated parameters must all hold
//! ("and"). Unknown parameters are ignored with a warning in the result `Bundle`, or
//! refused under `Prefer: handling=strict` (FHIR R4 §3.1.1.5.4).

use synthpop::date::Date;
use synthpop::nin::NinKind;

use crate::fhir::{Issue, Severity};
use crate::index::Entry;
use crate::profile::{DNR_SYSTEM, FHNR_SYSTEM, FNR_SYSTEM};

/// Results per page when `_count` is not given.
pub const DEFAULT_COUNT: usize = 20;
/// Most results per page.
pub const MAX_COUNT: usize = 100;
/// Most identifiers in one search.
pub const MAX_IDENTIFIERS: usize = 100;

/// The two resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Person,
    RelatedPerson,
}

impl ResourceType {
    /// The type a path segment names (`Person`, `RelatedPerson`), case as FHIR writes it.
    pub fn from_path(segment: &str) -> Option<ResourceType> {
        match segment {
            "Person" => Some(ResourceType::Person),
            "RelatedPerson" => Some(ResourceType::RelatedPerson),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Person => "Person",
            ResourceType::RelatedPerson => "RelatedPerson",
        }
    }

    /// The search parameters of this type.
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            ResourceType::Person => &[
                "_id",
                "identifier",
                "name",
                "given",
                "family",
                "middlename",
                "birthdate",
            ],
            ResourceType::RelatedPerson => &["_id", "identifier", "patient", "relationship"],
        }
    }

    /// The elements `_elements` may name (FHIR R4 `Person`, `RelatedPerson`).
    pub fn elements(self) -> &'static [&'static str] {
        match self {
            ResourceType::Person => &[
                "identifier",
                "active",
                "name",
                "telecom",
                "gender",
                "birthDate",
                "address",
                "photo",
                "managingOrganization",
                "link",
                "extension",
                "modifierExtension",
                "text",
                "contained",
                "implicitRules",
                "language",
            ],
            ResourceType::RelatedPerson => &[
                "identifier",
                "active",
                "patient",
                "relationship",
                "name",
                "telecom",
                "gender",
                "birthDate",
                "address",
                "photo",
                "period",
                "communication",
                "extension",
                "modifierExtension",
                "text",
                "contained",
                "implicitRules",
                "language",
            ],
        }
    }
}

/// Which part of a name a string parameter searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    /// Any part: given, middle or family name.
    Any,
    Given,
    Family,
    Middle,
}

/// A string parameter's modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// Case-insensitive: a word of the name starts with the value.
    StartsWith,
    /// The whole name part, case and all.
    Exact,
    /// Case-insensitive: anywhere in the name part.
    Contains,
}

/// One string criterion: any of `values` matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCriterion {
    pub field: NameField,
    pub modifier: Modifier,
    pub values: Vec<String>,
    /// `values` upper-cased once, as the register writes names.
    upper: Vec<String>,
}

/// A `birthdate` value: a day range and how the birth date must relate to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateCriterion {
    pub prefix: DatePrefix,
    /// First and last day of the value's precision, as days since 1970-01-01.
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePrefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl DateCriterion {
    pub fn matches(&self, day: i64) -> bool {
        match self.prefix {
            DatePrefix::Eq => (self.from..=self.to).contains(&day),
            DatePrefix::Ne => !(self.from..=self.to).contains(&day),
            DatePrefix::Gt => day > self.to,
            DatePrefix::Lt => day < self.from,
            DatePrefix::Ge => day >= self.from,
            DatePrefix::Le => day <= self.to,
        }
    }
}

/// An `identifier` value: an identity number, and the system it must be in when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierValue {
    pub system: Option<&'static str>,
    pub value: String,
}

impl IdentifierValue {
    /// Whether a number of `kind` can be this identifier.
    pub fn admits(&self, kind: NinKind) -> bool {
        self.system
            .is_none_or(|s| s == crate::profile::identifier_system(kind))
    }
}

/// `_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Accurate,
    None,
}

/// A read search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub resource: ResourceType,
    /// `_id`: each inner list is one parameter's alternatives.
    pub ids: Vec<Vec<String>>,
    pub identifiers: Vec<Vec<IdentifierValue>>,
    pub names: Vec<NameCriterion>,
    pub birthdates: Vec<Vec<DateCriterion>>,
    /// `patient`: Person ids.
    pub patients: Vec<Vec<String>>,
    /// `relationship`: `(system, code)`.
    pub relationships: Vec<Vec<(Option<String>, String)>>,
    /// `None`: `_elements` not given (only the identifier comes back).
    pub elements: Option<Vec<String>>,
    pub count: usize,
    pub offset: usize,
    pub summary_count: bool,
    pub total: Total,
    /// Warnings for the result `Bundle` (unknown parameters or elements, no `_elements`).
    pub warnings: Vec<Issue>,
}

impl SearchRequest {
    /// Whether the request names anything to search by.
    pub fn has_criteria(&self) -> bool {
        !(self.ids.is_empty()
            && self.identifiers.is_empty()
            && self.names.is_empty()
            && self.birthdates.is_empty()
            && self.patients.is_empty()
            && self.relationships.is_empty())
    }

    /// Whether person `entry` meets the name and birth-date criteria.
    pub fn matches_entry(&self, entry: &Entry) -> bool {
        self.names.iter().all(|c| name_matches(c, entry))
            && self.birthdates.iter().all(|alternatives| {
                let day = entry.birth_date.to_days();
                alternatives.iter().any(|d| d.matches(day))
            })
    }

    /// The paging parameters that carry over to `next`/`previous` links, with everything
    /// else of the query (never an identifier: those come only in a body).
    pub fn page_query(&self, params: &[(String, String)], offset: usize) -> String {
        let mut pairs: Vec<(&str, String)> = params
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "_offset" | "_count" | "identifier"))
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("_count", self.count.to_string()));
        pairs.push(("_offset", offset.to_string()));
        protocol::urlencoding::encode_pairs(&pairs)
    }
}

/// Why a search is refused (400 with an `OperationOutcome`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error(
        "search by identifier is only allowed with POST [base]/{0}/_search and the identifier in the form body, never in the URL (Persontjenesten's PersonServerRequirements)"
    )]
    IdentifierInUrl(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "unknown search parameter {name:?} for {resource} (known: {known}); sent with Prefer: handling=strict"
    )]
    Unknown {
        name: String,
        resource: &'static str,
        known: String,
    },
    #[error(
        "a {0} search needs at least one search parameter ({1}); the service does not list the whole register"
    )]
    NoCriteria(&'static str, String),
}

fn invalid(text: impl Into<String>) -> SearchError {
    SearchError::Invalid(text.into())
}

/// Reads the parameters of a search of `resource`. `url_params` came in the URL,
/// `body_params` in a POST body (`None` for GET). `strict`: `Prefer: handling=strict`.
pub fn parse(
    resource: ResourceType,
    url_params: &[(String, String)],
    body_params: Option<&[(String, String)]>,
    strict: bool,
) -> Result<SearchRequest, SearchError> {
    if url_params.iter().any(|(k, _)| base_name(k) == "identifier") {
        return Err(SearchError::IdentifierInUrl(resource.name()));
    }
    let mut req = SearchRequest {
        resource,
        ids: Vec::new(),
        identifiers: Vec::new(),
        names: Vec::new(),
        birthdates: Vec::new(),
        patients: Vec::new(),
        relationships: Vec::new(),
        elements: None,
        count: DEFAULT_COUNT,
        offset: 0,
        summary_count: false,
        total: Total::Accurate,
        warnings: Vec::new(),
    };
    let all = url_params.iter().chain(body_params.unwrap_or_default());
    for (key, value) in all {
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key.as_str(), None),
        };
        let value = value.trim();
        if value.is_empty() && !name.starts_with('_') {
            // FHIR R4 §3.1.1.5: a parameter without a value is ignored.
            continue;
        }
        if let Some(m) = modifier
            && !matches!(name, "name" | "given" | "family" | "middlename")
        {
            return Err(invalid(format!("modifier :{m} is not supported on {name}")));
        }
        match (resource, name) {
            (_, "_id") => req.ids.push(split(value)),
            (_, "identifier") => req.identifiers.push(identifiers(value)?),
            (ResourceType::Person, "name" | "given" | "family" | "middlename") => {
                let field = match name {
                    "given" => NameField::Given,
                    "family" => NameField::Family,
                    "middlename" => NameField::Middle,
                    _ => NameField::Any,
                };
                let modifier = match modifier {
                    None => Modifier::StartsWith,
                    Some("exact") => Modifier::Exact,
                    Some("contains") => Modifier::Contains,
                    Some(m) => {
                        return Err(invalid(format!(
                            "modifier :{m} is not supported on {name} (supported: :exact, :contains)"
                        )));
                    }
                };
                let values = split(value);
                req.names.push(NameCriterion {
                    field,
                    modifier,
                    upper: values.iter().map(|v| v.to_uppercase()).collect(),
                    values,
                });
            }
            (ResourceType::Person, "birthdate") => {
                let alternatives = split(value)
                    .iter()
                    .map(|v| date_criterion(v))
                    .collect::<Result<Vec<_>, _>>()?;
                req.birthdates.push(alternatives);
            }
            (ResourceType::RelatedPerson, "patient") => req.patients.push(
                split(value)
                    .into_iter()
                    .map(|v| v.strip_prefix("Person/").unwrap_or(&v).to_owned())
                    .collect(),
            ),
            (ResourceType::RelatedPerson, "relationship") => req.relationships.push(
                split(value)
                    .into_iter()
                    .map(|v| match v.split_once('|') {
                        Some((s, c)) => ((!s.is_empty()).then(|| s.to_owned()), c.to_owned()),
                        None => (None, v),
                    })
                    .collect(),
            ),
            (_, "_elements") => req.elements = Some(elements(resource, value, &mut req.warnings)),
            (_, "_count") => {
                req.count = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        invalid(format!(
                            "_count must be a whole number from 1; got {value:?}"
                        ))
                    })?
                    .min(MAX_COUNT);
            }
            (_, "_offset") => {
                req.offset = value.parse().map_err(|_| {
                    invalid(format!("_offset must be a whole number; got {value:?}"))
                })?;
            }
            (_, "_total") => {
                req.total = match value {
                    "none" => Total::None,
                    "accurate" | "estimate" | "" => Total::Accurate,
                    other => {
                        return Err(invalid(format!(
                            "_total must be none, estimate or accurate; got {other:?}"
                        )));
                    }
                }
            }
            (_, "_summary") => match value {
                "count" => req.summary_count = true,
                "false" | "" => {}
                other => {
                    return Err(invalid(format!(
                        "_summary={other} is not supported (only count)"
                    )));
                }
            },
            // Checked by the HTTP layer with the Accept header.
            (_, "_format") => {}
            _ => {
                let known = resource.parameters().join(", ");
                if strict {
                    return Err(SearchError::Unknown {
                        name: key.clone(),
                        resource: resource.name(),
                        known,
                    });
                }
                req.warnings.push(Issue::new(
                    Severity::Warning,
                    "not-supported",
                    format!(
                        "the search parameter {key:?} is not supported for {} and was ignored (supported: {known})",
                        resource.name()
                    ),
                ));
            }
        }
    }
    if !req.has_criteria() {
        return Err(SearchError::NoCriteria(
            resource.name(),
            resource.parameters().join(", "),
        ));
    }
    if req.elements.is_none() {
        req.warnings.push(Issue::new(
            Severity::Information,
            "informational",
            "no _elements was given, so only each resource's identifier is returned; name the elements you need (e.g. _elements=identifier,name,birthDate,address)",
        ));
    }
    Ok(req)
}

/// The name without a modifier.
fn base_name(key: &str) -> &str {
    key.split_once(':').map_or(key, |(n, _)| n)
}

fn split(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `_elements` list: names of the resource's elements (a `Person.` prefix is allowed);
/// unknown names are ignored with a warning.
pub fn elements(resource: ResourceType, value: &str, warnings: &mut Vec<Issue>) -> Vec<String> {
    let mut out = Vec::new();
    for name in split(value) {
        let bare = name
            .strip_prefix(resource.name())
            .and_then(|n| n.strip_prefix('.'))
            .unwrap_or(&name);
        if resource.elements().contains(&bare) {
            out.push(bare.to_owned());
        } else {
            warnings.push(Issue::new(
                Severity::Warning,
                "not-supported",
                format!(
                    "_elements names {name:?}, which is no element of {}; it was ignored",
                    resource.name()
                ),
            ));
        }
    }
    out
}

fn identifiers(value: &str) -> Result<Vec<IdentifierValue>, SearchError> {
    let values = split(value);
    if values.len() > MAX_IDENTIFIERS {
        return Err(invalid(format!(
            "at most {MAX_IDENTIFIERS} identifiers in one search; got {}",
            values.len()
        )));
    }
    values
        .into_iter()
        .map(|v| {
            let (system, number) = match v.split_once('|') {
                Some((s, n)) => (Some(s), n),
                None => (None, v.as_str()),
            };
            let system = match system {
                None | Some("") => None,
                Some(FNR_SYSTEM) => Some(FNR_SYSTEM),
                Some(DNR_SYSTEM) => Some(DNR_SYSTEM),
                Some(FHNR_SYSTEM) => Some(FHNR_SYSTEM),
                Some(other) => {
                    return Err(invalid(format!(
                        "identifier system {other:?} is not one Persontjenesten knows: {FNR_SYSTEM} (fødselsnummer), {DNR_SYSTEM} (D-nummer) or {FHNR_SYSTEM} (hjelpenummer)"
                    )));
                }
            };
            if number.len() != 11 || !number.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "identifier {number:?} is not an identity number (11 digits)"
                )));
            }
            Ok(IdentifierValue {
                system,
                value: number.to_owned(),
            })
        })
        .collect()
}

fn date_criterion(value: &str) -> Result<DateCriterion, SearchError> {
    let (prefix, date) = match value.get(..2) {
        Some("eq") => (DatePrefix::Eq, &value[2..]),
        Some("ne") => (DatePrefix::Ne, &value[2..]),
        Some("gt" | "sa") => (DatePrefix::Gt, &value[2..]),
        Some("lt" | "eb") => (DatePrefix::Lt, &value[2..]),
        Some("ge") => (DatePrefix::Ge, &value[2..]),
        Some("le") => (DatePrefix::Le, &value[2..]),
        Some("ap") => {
            return Err(invalid(
                "birthdate prefix ap (approximately) is not supported; use ge and le",
            ));
        }
        _ => (DatePrefix::Eq, value),
    };
    let bad = || {
        invalid(format!(
            "birthdate {value:?} is not a date: [prefix]YYYY, YYYY-MM or YYYY-MM-DD (prefix eq, ne, gt, lt, ge, le, sa, eb)"
        ))
    };
    let parts: Vec<&str> = date.split('-').collect();
    let num = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (from, to) = match parts.as_slice() {
        [y] => {
            let y = num(y, 4).ok_or_else(bad)? as i32;
            (Date::new(y, 1, 1), Date::new(y, 12, 31))
        }
        [y, m] => {
            let y = num(y, 4).ok_or_else(bad)? as i32;
            let m = u8::try_from(num(m, 2).ok_or_else(bad)?).map_err(|_| bad())?;
            let last = (1..=12)
                .contains(&m)
                .then(|| synthpop::date::days_in_month(y, m))
                .ok_or_else(bad)?;
            (Date::new(y, m, 1), Date::new(y, m, last))
        }
        [y, m, d] => {
            let y = num(y, 4).ok_or_else(bad)? as i32;
            let m = u8::try_from(num(m, 2).ok_or_else(bad)?).map_err(|_| bad())?;
            let d = u8::try_from(num(d, 2).ok_or_else(bad)?).map_err(|_| bad())?;
            let day = Date::new(y, m, d);
            (day, day)
        }
        _ => return Err(bad()),
    };
    match (from, to) {
        (Some(from), Some(to)) => Ok(DateCriterion {
            prefix,
            from: from.to_days(),
            to: to.to_days(),
        }),
        _ => Err(bad()),
    }
}

/// Whether `entry`'s name meets `c`.
fn name_matches(c: &NameCriterion, entry: &Entry) -> bool {
    let parts: [Option<&str>; 3] = match c.field {
        NameField::Any => [Some(entry.given), entry.middle, Some(entry.family)],
        NameField::Given => [Some(entry.given), None, None],
        NameField::Family => [Some(entry.family), None, None],
        NameField::Middle => [entry.middle, None, None],
    };
    c.values.iter().zip(&c.upper).any(|(value, upper)| {
        parts.iter().flatten().any(|part| match c.modifier {
            Modifier::Exact => *part == value,
            Modifier::Contains => part.contains(upper.as_str()),
            Modifier::StartsWith => {
                part.starts_with(upper.as_str())
                    || part
                        .split([' ', '-'])
                        .any(|word| word.starts_with(upper.as_str()))
            }
        }) || (c.field == NameField::Any
            && c.modifier == Modifier::StartsWith
            && upper.contains(' ')
            && full_name(entry).starts_with(upper.as_str()))
    })
}

fn full_name(entry: &Entry) -> String {
    match entry.middle {
        Some(m) => format!("{} {m} {}", entry.given, entry.family),
        None => format!("{} {}", entry.given, entry.family),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        protocol::form::Params::parse_any_repeated(q.as_bytes())
            .unwrap()
            .pairs()
            .to_vec()
    }

    fn person(q: &str) -> Result<SearchRequest, SearchError> {
        parse(ResourceType::Person, &pairs(q), None, false)
    }

    fn days(y: i32, m: u8, d: u8) -> i64 {
        Date::new(y, m, d).unwrap().to_days()
    }

    #[test]
    fn a_birthdate_is_a_range_at_its_precision() {
        let year = date_criterion("1990").unwrap();
        assert!(year.matches(days(1990, 1, 1)) && year.matches(days(1990, 12, 31)));
        assert!(!year.matches(days(1991, 1, 1)));
        let feb = date_criterion("2024-02").unwrap();
        assert!(feb.matches(days(2024, 2, 29)) && !feb.matches(days(2024, 3, 1)));
        let gt = date_criterion("gt1990-06-15").unwrap();
        assert!(gt.matches(days(1990, 6, 16)) && !gt.matches(days(1990, 6, 15)));
        let le = date_criterion("le1990").unwrap();
        assert!(le.matches(days(1990, 12, 31)) && !le.matches(days(1991, 1, 1)));
        let ne = date_criterion("ne1990-06").unwrap();
        assert!(ne.matches(days(1990, 7, 1)) && !ne.matches(days(1990, 6, 2)));
        for bad in [
            "1990-02-30",
            "90",
            "1990-1-1",
            "1990-13",
            "xx1990",
            "ap1990",
            "",
            "1990-02-01T00",
        ] {
            assert!(date_criterion(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commas_are_alternatives_and_repeats_must_all_hold() {
        let r = person("name=ola,kari&name=nord&birthdate=ge1980&birthdate=le1989").unwrap();
        assert_eq!(r.names.len(), 2);
        assert_eq!(r.names[0].values, ["ola", "kari"]);
        assert_eq!(r.birthdates.len(), 2);
        let entry = |given, family, y| Entry {
            given,
            middle: None,
            family,
            birth_date: Date::new(y, 5, 5).unwrap(),
        };
        assert!(r.matches_entry(&entry("KARI", "NORDMANN", 1985)));
        assert!(r.matches_entry(&entry("OLA", "NORD-HANSEN", 1980)));
        assert!(
            !r.matches_entry(&entry("KARI", "HANSEN", 1985)),
            "second name"
        );
        assert!(
            !r.matches_entry(&entry("KARI", "NORDMANN", 1990)),
            "second date"
        );
        assert!(
            !r.matches_entry(&entry("PER", "NORDMANN", 1985)),
            "first name"
        );
    }

    #[test]
    fn string_modifiers_mean_what_fhir_says() {
        let e = Entry {
            given: "ANNE-LISE",
            middle: Some("BLÅ"),
            family: "ØSTBY",
            birth_date: Date::new(1970, 1, 1).unwrap(),
        };
        let m = |q: &str| person(q).unwrap().matches_entry(&e);
        assert!(m("given=lise"), "a word of a hyphenated name");
        assert!(m("family=øst"), "lower-case Norwegian letters");
        assert!(m("middlename=bl"));
        assert!(m("name=anne-lise blå"), "the full name from its start");
        assert!(!m("given=nne"), "not inside a word without :contains");
        assert!(m("given:contains=nne"));
        assert!(m("family:exact=ØSTBY"));
        assert!(!m("family:exact=Østby"), ":exact is case-sensitive");
        assert!(!m("given=blå"), "the middle name is not a given name");
    }

    #[test]
    fn result_parameters_are_read_and_bounded() {
        let r = person("name=a&_count=1000&_offset=40&_total=none&_elements=name,Person.address")
            .unwrap();
        assert_eq!(r.count, MAX_COUNT);
        assert_eq!(r.offset, 40);
        assert_eq!(r.total, Total::None);
        assert_eq!(
            r.elements.as_deref(),
            Some(&["name".to_owned(), "address".to_owned()][..])
        );
        assert!(r.warnings.is_empty());
        let r = person("name=a").unwrap();
        assert_eq!(r.count, DEFAULT_COUNT);
        assert!(r.elements.is_none());
        assert_eq!(r.warnings[0].code, "informational");
        assert!(matches!(
            person("_count=5"),
            Err(SearchError::NoCriteria(..))
        ));
        assert!(matches!(
            person("name=a&_offset=-1"),
            Err(SearchError::Invalid(_))
        ));
        assert!(matches!(
            parse(ResourceType::Person, &pairs("identifier=1"), None, false),
            Err(SearchError::IdentifierInUrl("Person"))
        ));
        assert!(matches!(
            parse(
                ResourceType::Person,
                &pairs("identifier:missing=1"),
                None,
                false
            ),
            Err(SearchError::IdentifierInUrl("Person"))
        ));
        // In a body it is read: bare, or with a known system.
        let body = pairs("identifier=13116900216,urn:oid:2.16.578.1.12.4.1.4.2|53116900216");
        let r = parse(ResourceType::Person, &[], Some(&body), false).unwrap();
        assert_eq!(r.identifiers[0][0].system, None);
        assert_eq!(r.identifiers[0][1].system, Some(DNR_SYSTEM));
        assert!(r.identifiers[0][1].admits(NinKind::DNumber));
        assert!(!r.identifiers[0][1].admits(NinKind::Fodselsnummer));
        let many = format!(
            "identifier={}",
            vec!["13116900216"; MAX_IDENTIFIERS + 1].join(",")
        );
        assert!(parse(ResourceType::Person, &[], Some(&pairs(&many)), false).is_err());
        // RelatedPerson parameters are not Person's.
        let r = parse(
            ResourceType::RelatedPerson,
            &pairs("patient=Person/abc&name=x"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(r.patients, [vec!["abc".to_owned()]]);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.diagnostics.contains("\"name\""))
        );
        assert!(
            parse(
                ResourceType::RelatedPerson,
                &pairs("patient=abc&name=x"),
                None,
                true
            )
            .is_err()
        );
    }

    #[test]
    fn next_links_keep_the_query_but_never_an_identifier() {
        let r = person("name=a&_count=5").unwrap();
        let q = r.page_query(&pairs("name=a&_count=5&identifier=1&_elements=name"), 10);
        assert_eq!(q, "name=a&_elements=name&_count=5&_offset=10");
    }
}
