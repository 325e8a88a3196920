//! Persontjenesten, the way vendors meet it: NHN's HelseID-protected person API (FHIR R4,
//! the "Master Person Index R4" guide, shared reference §12.5) over the testbed's
//! synthetic population, served by `up` under `<issuer>/persontjenesten/fhir`.
//!
//! - Resources `Person` and `RelatedPerson` only, shaped by the grunndata profiles
//!   ([`profile`]): read by id, version read, search ([`search`]); `identifier` searches
//!   only with `POST [base]/[type]/_search`.
//! - `_elements` data minimisation ([`elements`]): without it, only the identifier.
//! - Results in a `Bundle` with `total` and paging links; errors and warnings as
//!   `OperationOutcome` ([`fhir`]); `application/fhir+json; fhirVersion=4.0`.
//! - Protected like any HelseID API: an access token for the audience
//!   `nhn:hgd-persontjenesten-api` with one of its scopes, DPoP where the token is bound,
//!   checked by the reference API's own validator
//!   ([`helseid_reference::api::authorize`]) with the STS's keys read in-process.
//! - SyntPop's reservation of +65 persons for a team as operations `$reserve` and
//!   `$release` (a testbed extension), kept in the STS's store and shown on the person
//!   and on the SyntPop pages.
//!
//! The HTTP edge is in `http`; this module holds the service: the index, reads, searches
//! and reservations, as plain functions of their input.

pub mod elements;
pub mod fhir;
mod http;
pub mod index;
pub mod profile;
pub mod search;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use helseid_reference::api::{ApiConfig, ApiState, Jwks};
use mock_sts::Sts;
use mock_sts::seed::{PERSONTJENESTEN_AUDIENCE, PERSONTJENESTEN_SCOPES};
use protocol::dpop_nonce::NonceIssuer;
use protocol::replay::ReplayCache;
use serde_json::Value;
use synthpop::{Person, Population};

pub use http::{mount, mount_in_flow_log, routes};

use crate::fhir::{Issue, OperationOutcome, Severity};
use crate::index::PersonIndex;
use crate::profile::{Relation, Reservation};
use crate::search::{ResourceType, SearchRequest};

/// Where the API lives under the issuer (Persontjenesten's test environment uses
/// `/persontjenesten/fhir/`).
pub const BASE_PATH: &str = mock_sts::seed::PERSONTJENESTEN_PATH;

/// A refusal or failure as FHIR answers it: a status and an `OperationOutcome`.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirError {
    pub status: u16,
    pub outcome: OperationOutcome,
}

impl FhirError {
    pub fn new(status: u16, code: &'static str, diagnostics: impl Into<String>) -> FhirError {
        let severity = if status >= 500 {
            Severity::Fatal
        } else {
            Severity::Error
        };
        FhirError {
            status,
            outcome: OperationOutcome::one(severity, code, diagnostics),
        }
    }

    fn not_found(resource: ResourceType, id: &str) -> FhirError {
        FhirError::new(
            404,
            "not-found",
            format!(
                "no {} with id {id:?} (ids are the service's own, not identity numbers: search by identifier with POST [base]/{}/_search)",
                resource.name(),
                resource.name()
            ),
        )
    }

    fn store(e: impl std::fmt::Display) -> FhirError {
        FhirError::new(500, "exception", format!("the testbed's store failed: {e}"))
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The matching resources of this page, whole (before `_elements`).
    pub resources: Vec<Value>,
    /// How many match in all.
    pub total: usize,
}

/// The person API's state.
pub struct PersonApi {
    sts: Arc<Sts>,
    auth: ApiState,
    population: Arc<Population>,
    index: OnceLock<Arc<PersonIndex>>,
    base_url: String,
}

impl std::fmt::Debug for PersonApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl PersonApi {
    /// The API over `sts`'s population, trusting `sts`'s tokens, at
    /// `<issuer>/persontjenesten/fhir`.
    pub fn new(sts: Arc<Sts>) -> Result<PersonApi, mock_sts::StsError> {
        let base = format!("{}{BASE_PATH}", sts.config.issuer.trim_end_matches('/'));
        PersonApi::at(sts, &base)
    }

    /// The API at `base_url` (its external URL, e.g. beside the conformance runner's probe
    /// on another port); [`mount`] serves it under that URL's path.
    pub fn at(sts: Arc<Sts>, base_url: &str) -> Result<PersonApi, mock_sts::StsError> {
        let population = sts.population()?;
        let issuer = sts.config.issuer.trim_end_matches('/').to_owned();
        let base_url = base_url.trim_end_matches('/').to_owned();
        let scopes: Vec<String> = PERSONTJENESTEN_SCOPES
            .iter()
            .map(|s| format!("{PERSONTJENESTEN_AUDIENCE}/{s}"))
            .collect();
        let mut config = ApiConfig::new(&issuer, PERSONTJENESTEN_AUDIENCE).with_any_scope(&scopes);
        // DPoP proofs name the URL the client called: the issuer's origin and the path.
        config.public_base_url = Some(origin(&base_url));
        let keys_sts = sts.clone();
        let keys: helseid_reference::api::LocalKeys = Arc::new(move |now| {
            keys_sts
                .keys()
                .ok()
                .and_then(|ring| {
                    ring.jwks(now)
                        .get("keys")
                        .and_then(Value::as_array)
                        .cloned()
                })
                .unwrap_or_default()
        });
        // Reading the keys in-process costs nothing, so an unknown kid (a rotation, or a
        // conformance session's key fault) reads them again at once.
        let jwks = Jwks::local(&issuer, keys, 0, config.jwks_max_age_secs);
        let clock_sts = sts.clone();
        let auth = ApiState {
            replay: Arc::new(ReplayCache::new(config.replay_capacity)),
            nonces: Arc::new(NonceIssuer::new()?),
            jwks: Arc::new(jwks),
            config: Arc::new(config),
            clock: Arc::new(move || clock_sts.now()),
        };
        Ok(PersonApi {
            base_url,
            sts,
            auth,
            population,
            index: OnceLock::new(),
        })
    }

    /// Its external URL: `<issuer>/persontjenesten/fhir` unless made [`PersonApi::at`]
    /// another.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// What the API accepts (audience, scopes, DPoP).
    pub fn api_config(&self) -> &ApiConfig {
        &self.auth.config
    }

    /// The search index, built on first use (a pass over the population).
    pub fn index(&self) -> Arc<PersonIndex> {
        self.index
            .get_or_init(|| Arc::new(PersonIndex::build(&self.population)))
            .clone()
    }

    fn person_ref(&self, id: &str) -> String {
        format!("{}/Person/{id}", self.base_url)
    }

    fn reservation(&self, p: &Person) -> Result<Option<Reservation>, FhirError> {
        if synthpop::reservation::check_reservable(p).is_err() {
            return Ok(None);
        }
        Ok(self
            .sts
            .store
            .reservation(p.pid.as_str())
            .map_err(FhirError::store)?
            .map(|(team, at)| Reservation { team, at }))
    }

    /// The whole `Person` resource of person `index`.
    fn person_resource(&self, index: &PersonIndex, position: u64) -> Result<Value, FhirError> {
        let (Some(p), Some(id)) = (self.population.person(position), index.person_id(position))
        else {
            return Err(FhirError::new(404, "not-found", "no such person"));
        };
        let reservation = self.reservation(&p)?;
        Ok(profile::person(&p, &id, reservation.as_ref()))
    }

    /// `GET [base]/Person/[id]`.
    pub fn read_person(&self, id: &str) -> Result<Value, FhirError> {
        let index = self.index();
        let position = index
            .person_of(id)
            .ok_or_else(|| FhirError::not_found(ResourceType::Person, id))?;
        self.person_resource(&index, position)
    }

    /// The relatives of `subject` as `(related person, relation)`.
    fn relatives(&self, subject: &Person) -> Vec<(Person, Relation)> {
        Relation::of(subject)
            .into_iter()
            .filter_map(|(relation, nin)| {
                self.population
                    .by_pid(nin.as_str())
                    .map(|related| (related, relation))
            })
            .collect()
    }

    fn related_resource(
        &self,
        index: &PersonIndex,
        subject: &Person,
        related: &Person,
        relation: Relation,
    ) -> Option<Value> {
        let id = index.related_id(subject.index, related.index)?;
        let subject_id = index.person_id(subject.index)?;
        Some(profile::related_person(
            subject,
            related,
            relation,
            &id,
            &self.person_ref(&subject_id),
            synthpop::census_date(),
        ))
    }

    /// `GET [base]/RelatedPerson/[id]`.
    pub fn read_related_person(&self, id: &str) -> Result<Value, FhirError> {
        let index = self.index();
        let not_found = || FhirError::not_found(ResourceType::RelatedPerson, id);
        let (s, r) = index.related_of(id).ok_or_else(not_found)?;
        let subject = self.population.person(s).ok_or_else(not_found)?;
        self.relatives(&subject)
            .into_iter()
            .find(|(related, _)| related.index == r)
            .and_then(|(related, relation)| {
                self.related_resource(&index, &subject, &related, relation)
            })
            .ok_or_else(not_found)
    }

    /// Runs a search and returns the page it asks for.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchPage, FhirError> {
        match req.resource {
            ResourceType::Person => self.search_persons(req),
            ResourceType::RelatedPerson => self.search_related(req),
        }
    }

    /// The persons an `identifier` or `_id` search names, before the other criteria.
    fn named_persons(&self, index: &PersonIndex, req: &SearchRequest) -> Option<BTreeSet<u64>> {
        let mut sets: Vec<BTreeSet<u64>> = Vec::new();
        for alternatives in &req.identifiers {
            sets.push(
                alternatives
                    .iter()
                    .filter_map(|v| {
                        let p = self.population.by_pid(&v.value)?;
                        v.admits(p.pid_kind).then_some(p.index)
                    })
                    .collect(),
            );
        }
        for alternatives in &req.ids {
            sets.push(
                alternatives
                    .iter()
                    .filter_map(|id| index.person_of(id))
                    .collect(),
            );
        }
        sets.into_iter()
            .reduce(|a, b| a.intersection(&b).copied().collect())
    }

    fn search_persons(&self, req: &SearchRequest) -> Result<SearchPage, FhirError> {
        let index = self.index();
        let entries = index.entries();
        let matching: Vec<u64> = match self.named_persons(&index, req) {
            Some(named) => named
                .into_iter()
                .filter(|&i| {
                    entries
                        .get(i as usize)
                        .is_some_and(|e| req.matches_entry(e))
                })
                .collect(),
            None => entries
                .iter()
                .enumerate()
                .filter(|(_, e)| req.matches_entry(e))
                .map(|(i, _)| i as u64)
                .collect(),
        };
        let total = matching.len();
        if req.summary_count {
            return Ok(SearchPage {
                resources: Vec::new(),
                total,
            });
        }
        // An identifier search is answered whole: its size is bounded by the identifiers
        // asked for, and a next link could not carry them (they never go in a URL).
        let page: Vec<u64> = if req.identifiers.is_empty() {
            matching
                .into_iter()
                .skip(req.offset)
                .take(req.count)
                .collect()
        } else {
            matching
        };
        let resources = page
            .into_iter()
            .map(|i| self.person_resource(&index, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchPage { resources, total })
    }

    fn search_related(&self, req: &SearchRequest) -> Result<SearchPage, FhirError> {
        let index = self.index();
        // (subject, related, relation) candidates from the criterion that names persons.
        let mut candidates: Vec<(Person, Person, Relation)> = Vec::new();
        let mut push_all = |subject: Person| {
            for (related, relation) in self.relatives(&subject) {
                candidates.push((subject.clone(), related, relation));
            }
        };
        if let Some(alternatives) = req.patients.first() {
            for id in alternatives {
                if let Some(p) = index.person_of(id).and_then(|i| self.population.person(i)) {
                    push_all(p);
                }
            }
        } else if let Some(alternatives) = req.ids.first() {
            for id in alternatives {
                if let Some((s, _)) = index.related_of(id)
                    && let Some(p) = self.population.person(s)
                {
                    push_all(p);
                }
            }
        } else if let Some(alternatives) = req.identifiers.first() {
            // RelatedPersons whose identifier is this person's: one per relative of theirs.
            for v in alternatives {
                let Some(target) = self.population.by_pid(&v.value) else {
                    continue;
                };
                if !v.admits(target.pid_kind) {
                    continue;
                }
                for (relative, _) in self.relatives(&target) {
                    push_all(relative);
                }
            }
        } else {
            return Err(FhirError::new(
                400,
                "invalid",
                "a RelatedPerson search needs patient, _id or identifier (relationship alone would list the whole register)",
            ));
        }
        let mut resources = Vec::new();
        let mut seen = BTreeSet::new();
        for (subject, related, relation) in candidates {
            let Some(resource) = self.related_resource(&index, &subject, &related, relation) else {
                continue;
            };
            let id = resource["id"].as_str().unwrap_or_default().to_owned();
            if related_matches(req, &index, &resource, &subject, &related) && seen.insert(id) {
                resources.push(resource);
            }
        }
        let total = resources.len();
        if req.summary_count {
            resources.clear();
        } else {
            resources = resources
                .into_iter()
                .skip(req.offset)
                .take(req.count)
                .collect();
        }
        Ok(SearchPage { resources, total })
    }

    /// `$reserve`: `team` (or, when none is given, the calling client) takes person `id`.
    pub fn reserve(&self, id: &str, team: &str) -> Result<Value, FhirError> {
        let (index, person) = self.reservable(id)?;
        let team = synthpop::reservation::team(team)
            .map_err(|e| FhirError::new(400, "invalid", e.to_string()))?;
        match self
            .sts
            .store
            .reserve(person.pid.as_str(), team, self.sts.now())
            .map_err(FhirError::store)?
        {
            None => self.person_resource(&index, person.index),
            Some(owner) => Err(FhirError::new(
                409,
                "conflict",
                format!("the person is already reserved by another team ({owner})"),
            )),
        }
    }

    /// `$release`: `team` gives person `id` back.
    pub fn release(&self, id: &str, team: &str) -> Result<Value, FhirError> {
        let (index, person) = self.reservable(id)?;
        let team = synthpop::reservation::team(team)
            .map_err(|e| FhirError::new(400, "invalid", e.to_string()))?;
        if self
            .sts
            .store
            .release(person.pid.as_str(), team)
            .map_err(FhirError::store)?
        {
            self.person_resource(&index, person.index)
        } else {
            Err(FhirError::new(
                409,
                "conflict",
                format!("the person is not reserved by team {team}"),
            ))
        }
    }

    fn reservable(&self, id: &str) -> Result<(Arc<PersonIndex>, Person), FhirError> {
        let index = self.index();
        let person = index
            .person_of(id)
            .and_then(|i| self.population.person(i))
            .ok_or_else(|| FhirError::not_found(ResourceType::Person, id))?;
        synthpop::reservation::check_reservable(&person)
            .map_err(|e| FhirError::new(422, "business-rule", e.to_string()))?;
        Ok((index, person))
    }
}

/// Whether a RelatedPerson candidate meets every criterion of `req`.
fn related_matches(
    req: &SearchRequest,
    index: &PersonIndex,
    resource: &Value,
    subject: &Person,
    related: &Person,
) -> bool {
    let id = resource["id"].as_str().unwrap_or_default();
    let subject_id = index.person_id(subject.index).unwrap_or_default();
    req.ids
        .iter()
        .all(|alts| alts.iter().any(|a| a.eq_ignore_ascii_case(id)))
        && req
            .patients
            .iter()
            .all(|alts| alts.iter().any(|a| a.eq_ignore_ascii_case(&subject_id)))
        && req.identifiers.iter().all(|alts| {
            alts.iter()
                .any(|v| v.value == related.pid.as_str() && v.admits(related.pid_kind))
        })
        && req.relationships.iter().all(|alts| {
            alts.iter().any(|(system, code)| {
                resource["relationship"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|r| r["coding"].as_array().into_iter().flatten())
                    .any(|c| {
                        c["code"] == code.as_str()
                            && system.as_ref().is_none_or(|s| c["system"] == s.as_str())
                    })
            })
        })
}

/// `scheme://host[:port]` of `url`.
pub(crate) fn origin(url: &str) -> String {
    let path = mock_sts::issuer_path(url);
    url.strip_suffix(&path).unwrap_or(url).to_owned()
}

/// An `OperationOutcome` of search warnings, for a `Bundle` entry with mode `outcome`.
pub fn warnings_outcome(warnings: &[Issue]) -> Option<OperationOutcome> {
    (!warnings.is_empty()).then(|| OperationOutcome::new(warnings.to_vec()))
}
