//! The Tillitsrammeverk (trust framework) attestation `nhn:tillitsrammeverk:parameters`
//! (reference §7): what a client may send in `assertion_details` of a client assertion or
//! `authorization_details` of a request object ([`validate`]), and the enriched claim the STS
//! puts in the access token ([`enrich`]).
//!
//! Sources: the client-sent shape of reference §7.1 (IDX-1326721178, KJ
//! `tillitsrammeverk/*.kt`); the data model, code systems and business rules of TR
//! `specs/informasjons_og_datamodell.md` and `specs/forretningsregler_for_bruk_av_attestering.md`
//! (rules `ATT-n`); HelseID's own validation notes in TR `specs/misc/validering_av_attributter.md`
//! (older spelling, but "the missing of required attributes or invalid parameters gives
//! `invalid_authorization_details`").
//!
//! # What is checked
//!
//! | element | required | rule |
//! |---|---|---|
//! | `type` | yes | exactly `nhn:tillitsrammeverk:parameters` |
//! | `practitioner.authorization` `{code, system}` | yes | system kodeverk 9060; code in [`codes::PROFESSIONS`] |
//! | `practitioner.legal_entity` `{id, system}` | yes | system Enhetsregisteret (`…4.1.4.101`); id 9 digits |
//! | `practitioner.point_of_care` `{id, system}` | yes | as `legal_entity` |
//! | `practitioner.department` `{id, system}` | no | system RESH (`…4.1.4.102`); id 1–12 digits |
//! | `care_relationship.healthcare_service` `{code, system}` | yes | system one of [`codes::HEALTHCARE_SERVICE_SYSTEMS`]; code well-formed |
//! | `care_relationship.purpose_of_use` `{code, system}` | yes | system HL7 PurposeOfUse; code `TREAT`, `ETREAT`, `COC` or `BTG` |
//! | `care_relationship.purpose_of_use_details` `{code, system}` | no | system kodeverk 9151 or HL7 Norway `carerelation`; code well-formed |
//! | `care_relationship.decision_ref` `{id, user_selected}` | yes | id 1–64 of `[A-Za-z0-9_.-]`; `user_selected` a boolean |
//! | `patients` | no | an array of objects |
//! | `patients[i].identifier` `{id, system}` | no | system F-, D- or H-nummer; id 11 digits |
//! | `patients[i].point_of_care` `{id, system}` | no | as `practitioner.point_of_care` |
//! | `patients[i].department` `{id, system}` | no | as `practitioner.department` |
//!
//! "Well-formed" codes are 1–64 of `[A-Za-z0-9_.-]`: the testbed has no complete tables of
//! kodeverk 8655/8663/8451/8666/9151, so it checks only the code systems whose codes it
//! knows in full (9060, PurposeOfUse). Keys and values are compared exactly (case, `urn:oid:`
//! prefix). An optional element that is JSON `null` counts as absent; a required one that is
//! `null` as missing. Errors name the path of the element, so a client developer sees what
//! to fix.
//!
//! # Tolerance decisions (all UNCONFIRMED: HelseID's actual rules are not published)
//!
//! * **Required set.** The set above follows HelseID's validation notes
//!   (`healthcare_service` and `purpose_of_use` required; `purpose_of_use_details` "only
//!   validated if present"), except that those notes make `decision_ref` optional too,
//!   while the testbed requires it as TR's data model does ("Avtalemessig påkrevd: Ja",
//!   §4.4.4) and every known client sends it. A third party's JSON schema (reference
//!   §7.1) also requires `department`, `purpose_of_use_details` and `patients`; a real
//!   client (IDX-1326721178) omits all three, and TR marks `department` "Ja, hvis forekommer"
//!   (ATT-24), so the testbed accepts their absence. TR ATT-36/ATT-43 would even allow a
//!   missing `healthcare_service` when `purpose_of_use_details` explains it; the testbed
//!   requires it.
//! * **Missing required field.** An error naming the path. KJ's misspelt
//!   `practitioner.auhtorization` therefore fails with "practitioner.authorization is missing
//!   (the entry has \"auhtorization\")": whether HelseID accepts KJ's attestation without an
//!   authorisation is unknown.
//! * **Unknown extra fields** (anywhere) are ignored, as HelseID evidently ignores KJ's
//!   misspelt key.
//! * **Client-sent `name`, `text`, `authority`, `assigner`, `practitioner.identifier`,
//!   `practitioner.hpr_nr`, `decision_ref.description` and `toa`** are ignored: HelseID
//!   "removes all claims HelseID can enrich itself" (TR ADR
//!   `authorization_details_i_access_tokens.md`), so [`enrich`] fills them from the
//!   authenticated user, the organisation lookup and the code tables. A client-sent
//!   practitioner identifier that differs from the user is not refused (TR ATT-11 would
//!   have the receiver refuse it).
//! * **`patients`.** May be absent or empty (TR: "the list may be empty"; ATT-6 allows an
//!   attestation bound to no patient). `patients: [{}]`, as IDX-1326721178 sends, is
//!   accepted: each patient's elements are optional, and an empty patient stays an empty
//!   object in the enriched claim.
//! * **`authorization` `XX`** ("Ukjent/uspesifisert") is in kodeverk 9060 but names no
//!   authorisation, and HelseID matches the code against the user's HPR approvals (TR
//!   ATT-32), so it is refused. Codes are volven's (`FA1`/`FA2`, not `FA`).
//! * **`purpose_of_use`** is limited to the four codes TR allows (ATT-38–41), not all of
//!   HL7's PurposeOfUse value set.
//! * **`department`** must be RESH, although TR ATT-28 lets consumers use local identifiers
//!   with a system of their own.
//! * **`decision_ref.id`** follows HelseID's validation notes: letters, digits and `_-.`, at
//!   most 64 characters.
//! * **Identifiers** are checked for shape only: organisation numbers are 9 digits without
//!   the mod-11 check (as [`crate::assertion_details::org_number`]), national identity
//!   numbers 11 digits without check digits or F/D/H consistency (synthetic test numbers
//!   break both).
//!
//! # The enriched claim
//!
//! [`enrich`] follows TR Vedlegg B: identifiers `{id, name, system, authority}`, coded values
//! `{code, text, system, assigner}`, `name`/`text` left out when unknown. Choices
//! (UNCONFIRMED, reference §7.3):
//! * the care relation's key is `care_relationship` (what clients send and the TTT
//!   parameters are named; TR writes `care_relation`);
//! * `type` is kept, as in an RFC 9396 entry and the testbed's TTT claim;
//! * `patients` is always an array (possibly empty);
//! * the time of attestation is `attestation.toa` (TR §4.6 "attestation"), next to the
//!   other elements rather than wrapping them, so APIs read `practitioner.identifier` at the
//!   top as IDX-11125822678 does;
//! * the claim is a JSON object; whether HelseID issues it as an object or a JSON string is
//!   unknown.

pub mod codes;

use std::fmt;

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::assertion_details::TYPE_TILLITSRAMMEVERK;
use codes::{
    HEALTHCARE_SERVICE_SYSTEMS, PATIENT_ID_SYSTEMS, PURPOSE_OF_USE_DETAILS_SYSTEMS, SYSTEM_9060,
    SYSTEM_DNR, SYSTEM_ENH, SYSTEM_FNR, SYSTEM_HPR, SYSTEM_PURPOSE_OF_USE, SYSTEM_RESH,
};

/// Longest code or `decision_ref.id` accepted (HelseID's validation notes: "maks lengde 64").
pub const MAX_CODE_LEN: usize = 64;
/// Longest RESH id accepted.
pub const MAX_RESH_LEN: usize = 12;
/// How much of a refused value an error message repeats.
const SHOWN_CHARS: usize = 64;

/// A checked attestation: every element the client may send, with its system confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub practitioner: Practitioner,
    pub care_relationship: CareRelationship,
    /// Possibly empty; a patient may have no elements (`{}`).
    pub patients: Vec<Patient>,
}

/// `practitioner`: the health worker's authorisation and organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Practitioner {
    /// Kodeverk 9060 (`LE`, `SP`, …).
    pub authorization: Coded,
    /// Hovedenhet, 9-digit organisation number.
    pub legal_entity: Identifier,
    /// Underenhet (or the hovedenhet), 9-digit organisation number.
    pub point_of_care: Identifier,
    /// RESH id.
    pub department: Option<Identifier>,
}

/// `care_relationship`: why the health worker needs the information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareRelationship {
    pub healthcare_service: Coded,
    /// `TREAT`, `ETREAT`, `COC` or `BTG`.
    pub purpose_of_use: Coded,
    pub purpose_of_use_details: Option<Coded>,
    pub decision_ref: DecisionRef,
}

/// `decision_ref`: the consumer's local access decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRef {
    pub id: String,
    /// `true` when the health worker granted themself access (TR ATT-48).
    pub user_selected: bool,
}

/// One entry of `patients`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    /// F-, D- or H-nummer.
    pub identifier: Option<Identifier>,
    /// Organisation number.
    pub point_of_care: Option<Identifier>,
    /// RESH id.
    pub department: Option<Identifier>,
}

/// An identifier `{id, system}` whose system is one the element allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub id: String,
    pub system: &'static str,
}

/// A coded value `{code, system}` whose system is one the element allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coded {
    pub code: String,
    pub system: &'static str,
}

/// Why an attestation is refused. Each message starts with the type and names the
/// element's path (`practitioner.authorization.system`, `patients[0].identifier.id`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttestationError {
    #[error("{TYPE_TILLITSRAMMEVERK} must be a JSON object")]
    NotAnObject,
    #[error("{TYPE_TILLITSRAMMEVERK} type {found:?} is not {TYPE_TILLITSRAMMEVERK}")]
    WrongType { found: String },
    #[error("{TYPE_TILLITSRAMMEVERK} {path} is missing{}", similar_hint(.similar))]
    Missing {
        path: String,
        /// A key of the same object that looks like a misspelling of the missing one.
        similar: Option<String>,
    },
    #[error("{TYPE_TILLITSRAMMEVERK} {path} must be {expected}")]
    JsonType {
        path: String,
        expected: &'static str,
    },
    #[error("{TYPE_TILLITSRAMMEVERK} {path} {found:?} is not {expected}")]
    System {
        path: String,
        found: String,
        expected: &'static str,
    },
    #[error("{TYPE_TILLITSRAMMEVERK} {path} {found:?} is not {expected}")]
    Code {
        path: String,
        found: String,
        expected: &'static str,
    },
    #[error("{TYPE_TILLITSRAMMEVERK} {path} {found:?} is not {expected}")]
    Value {
        path: String,
        found: String,
        expected: &'static str,
    },
}

impl AttestationError {
    /// The path of the refused element (`""` for the entry itself).
    pub fn path(&self) -> &str {
        match self {
            AttestationError::NotAnObject => "",
            AttestationError::WrongType { .. } => "type",
            AttestationError::Missing { path, .. }
            | AttestationError::JsonType { path, .. }
            | AttestationError::System { path, .. }
            | AttestationError::Code { path, .. }
            | AttestationError::Value { path, .. } => path,
        }
    }
}

fn similar_hint(similar: &Option<String>) -> String {
    similar
        .as_deref()
        .map(|key| format!(" (the entry has {:?})", shown(key)))
        .unwrap_or_default()
}

// Expected values, as error messages put them.
const EXPECT_9060: &str = "kodeverk 9060 (urn:oid:2.16.578.1.12.4.1.1.9060)";
const EXPECT_9060_CODE: &str =
    "an authorisation of kodeverk 9060 (e.g. LE, SP, TL, FA1, PS; XX is not accepted)";
const EXPECT_ENH: &str = "Enhetsregisteret (urn:oid:2.16.578.1.12.4.1.4.101)";
const EXPECT_RESH: &str = "RESH (urn:oid:2.16.578.1.12.4.1.4.102)";
const EXPECT_HEALTHCARE_SERVICE: &str = "one of kodeverk 8655, 8663, 8451, 8666, 8627, 8668, 8662, 8664 (urn:oid:2.16.578.1.12.4.1.1.<kodeverk>)";
const EXPECT_PURPOSE_OF_USE: &str = "HL7 PurposeOfUse (urn:oid:2.16.840.1.113883.1.11.20448)";
const EXPECT_PURPOSE_OF_USE_CODE: &str = "one of TREAT, ETREAT, COC, BTG";
const EXPECT_PURPOSE_OF_USE_DETAILS: &str = "kodeverk 9151 (urn:oid:2.16.578.1.12.4.1.1.9151) or HL7 Norway carerelation (urn:AuditEventHL7Norway/CodeSystem/carerelation)";
const EXPECT_PATIENT_ID: &str =
    "F-, D- or H-nummer (urn:oid:2.16.578.1.12.4.1.4.1, .4.1.4.2 or .4.1.4.3)";
const EXPECT_CODE_FORM: &str = "a code of 1 to 64 letters, digits, '_', '-' or '.'";
const EXPECT_DECISION_REF: &str = "an id of 1 to 64 letters, digits, '_', '-' or '.'";
const EXPECT_ORGNR: &str = "a 9-digit organisation number";
const EXPECT_RESH_ID: &str = "a RESH id of 1 to 12 digits";
const EXPECT_PID: &str = "an 11-digit national identity number";

/// Checks one `nhn:tillitsrammeverk:parameters` entry as a client sent it (the module
/// documentation lists the rules and tolerances).
pub fn validate(entry: &Value) -> Result<Attestation, AttestationError> {
    let root = entry.as_object().ok_or(AttestationError::NotAnObject)?;
    let ty = string(required(root, "", "type")?, "type")?;
    if ty != TYPE_TILLITSRAMMEVERK {
        return Err(AttestationError::WrongType {
            found: shown(ty).to_owned(),
        });
    }

    let p = object(required(root, "", "practitioner")?, "practitioner")?;
    let practitioner = Practitioner {
        authorization: {
            let path = "practitioner.authorization";
            let (code, system) = coded(
                object(required(p, "practitioner", "authorization")?, path)?,
                path,
            )?;
            let system = one_of(system, &[SYSTEM_9060], path, EXPECT_9060)?;
            if codes::profession(code).is_none() {
                return Err(code_error(path, code, EXPECT_9060_CODE));
            }
            Coded {
                code: code.to_owned(),
                system,
            }
        },
        legal_entity: org(
            required(p, "practitioner", "legal_entity")?,
            "practitioner.legal_entity",
        )?,
        point_of_care: org(
            required(p, "practitioner", "point_of_care")?,
            "practitioner.point_of_care",
        )?,
        department: optional(p, "department")
            .map(|v| department(v, "practitioner.department"))
            .transpose()?,
    };

    let c = object(
        required(root, "", "care_relationship")?,
        "care_relationship",
    )?;
    let care_relationship = CareRelationship {
        healthcare_service: {
            let path = "care_relationship.healthcare_service";
            let v = required(c, "care_relationship", "healthcare_service")?;
            let (code, system) = coded(object(v, path)?, path)?;
            let system = one_of(
                system,
                &HEALTHCARE_SERVICE_SYSTEMS,
                path,
                EXPECT_HEALTHCARE_SERVICE,
            )?;
            well_formed_code(code, path)?;
            Coded {
                code: code.to_owned(),
                system,
            }
        },
        purpose_of_use: {
            let path = "care_relationship.purpose_of_use";
            let v = required(c, "care_relationship", "purpose_of_use")?;
            let (code, system) = coded(object(v, path)?, path)?;
            let system = one_of(
                system,
                &[SYSTEM_PURPOSE_OF_USE],
                path,
                EXPECT_PURPOSE_OF_USE,
            )?;
            if codes::purpose_of_use(code).is_none() {
                return Err(code_error(path, code, EXPECT_PURPOSE_OF_USE_CODE));
            }
            Coded {
                code: code.to_owned(),
                system,
            }
        },
        purpose_of_use_details: optional(c, "purpose_of_use_details")
            .map(|v| {
                let path = "care_relationship.purpose_of_use_details";
                let (code, system) = coded(object(v, path)?, path)?;
                let system = one_of(
                    system,
                    &PURPOSE_OF_USE_DETAILS_SYSTEMS,
                    path,
                    EXPECT_PURPOSE_OF_USE_DETAILS,
                )?;
                well_formed_code(code, path)?;
                Ok(Coded {
                    code: code.to_owned(),
                    system,
                })
            })
            .transpose()?,
        decision_ref: {
            let path = "care_relationship.decision_ref";
            let d = object(required(c, "care_relationship", "decision_ref")?, path)?;
            let id_path = "care_relationship.decision_ref.id";
            let id = string(required(d, path, "id")?, id_path)?;
            if !is_code(id) {
                return Err(value_error(id_path, id, EXPECT_DECISION_REF));
            }
            let user_selected = required(d, path, "user_selected")?
                .as_bool()
                .ok_or_else(|| AttestationError::JsonType {
                    path: format!("{path}.user_selected"),
                    expected: "a boolean",
                })?;
            DecisionRef {
                id: id.to_owned(),
                user_selected,
            }
        },
    };

    let patients = match optional(root, "patients") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| AttestationError::JsonType {
                path: "patients".into(),
                expected: "an array",
            })?
            .iter()
            .enumerate()
            .map(|(i, v)| patient(v, &format!("patients[{i}]")))
            .collect::<Result<_, _>>()?,
    };

    Ok(Attestation {
        practitioner,
        care_relationship,
        patients,
    })
}

fn patient(v: &Value, path: &str) -> Result<Patient, AttestationError> {
    let p = object(v, path)?;
    Ok(Patient {
        identifier: optional(p, "identifier")
            .map(|v| {
                let path = format!("{path}.identifier");
                let (id, system) = identified(object(v, &path)?, &path)?;
                let system = one_of(system, &PATIENT_ID_SYSTEMS, &path, EXPECT_PATIENT_ID)?;
                if !(id.len() == 11 && id.bytes().all(|b| b.is_ascii_digit())) {
                    return Err(value_error(&format!("{path}.id"), id, EXPECT_PID));
                }
                Ok(Identifier {
                    id: id.to_owned(),
                    system,
                })
            })
            .transpose()?,
        point_of_care: optional(p, "point_of_care")
            .map(|v| org(v, &format!("{path}.point_of_care")))
            .transpose()?,
        department: optional(p, "department")
            .map(|v| department(v, &format!("{path}.department")))
            .transpose()?,
    })
}

/// An Enhetsregisteret identifier: system `…4.1.4.101`, a 9-digit id.
fn org(v: &Value, path: &str) -> Result<Identifier, AttestationError> {
    let (id, system) = identified(object(v, path)?, path)?;
    let system = one_of(system, &[SYSTEM_ENH], path, EXPECT_ENH)?;
    if !(id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(value_error(&format!("{path}.id"), id, EXPECT_ORGNR));
    }
    Ok(Identifier {
        id: id.to_owned(),
        system,
    })
}

/// A RESH identifier: system `…4.1.4.102`, an id of digits.
fn department(v: &Value, path: &str) -> Result<Identifier, AttestationError> {
    let (id, system) = identified(object(v, path)?, path)?;
    let system = one_of(system, &[SYSTEM_RESH], path, EXPECT_RESH)?;
    if !(id.len() <= MAX_RESH_LEN && id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(value_error(&format!("{path}.id"), id, EXPECT_RESH_ID));
    }
    Ok(Identifier {
        id: id.to_owned(),
        system,
    })
}

/// `code` and `system` of a coded value.
fn coded<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<(&'a str, &'a str), AttestationError> {
    let code = string(required(obj, path, "code")?, &format!("{path}.code"))?;
    let system = string(required(obj, path, "system")?, &format!("{path}.system"))?;
    Ok((code, system))
}

/// `id` and `system` of an identifier.
fn identified<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
) -> Result<(&'a str, &'a str), AttestationError> {
    let id = string(required(obj, path, "id")?, &format!("{path}.id"))?;
    let system = string(required(obj, path, "system")?, &format!("{path}.system"))?;
    Ok((id, system))
}

/// `system` if it is one of `allowed` (returned as the table's `'static` string).
fn one_of(
    system: &str,
    allowed: &[&'static str],
    path: &str,
    expected: &'static str,
) -> Result<&'static str, AttestationError> {
    allowed
        .iter()
        .copied()
        .find(|s| *s == system)
        .ok_or_else(|| AttestationError::System {
            path: format!("{path}.system"),
            found: shown(system).to_owned(),
            expected,
        })
}

fn well_formed_code(code: &str, path: &str) -> Result<(), AttestationError> {
    if is_code(code) {
        Ok(())
    } else {
        Err(value_error(&format!("{path}.code"), code, EXPECT_CODE_FORM))
    }
}

/// 1–64 of `[A-Za-z0-9_.-]`.
fn is_code(s: &str) -> bool {
    (1..=MAX_CODE_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn code_error(path: &str, code: &str, expected: &'static str) -> AttestationError {
    AttestationError::Code {
        path: format!("{path}.code"),
        found: shown(code).to_owned(),
        expected,
    }
}

fn value_error(path: &str, value: &str, expected: &'static str) -> AttestationError {
    AttestationError::Value {
        path: path.to_owned(),
        found: shown(value).to_owned(),
        expected,
    }
}

/// The start of a refused value: error descriptions must not echo a megabyte.
fn shown(s: &str) -> &str {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// A key's value; JSON `null` counts as absent.
fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<&'a Value, AttestationError> {
    optional(obj, key).ok_or_else(|| AttestationError::Missing {
        path: if parent.is_empty() {
            key.to_owned()
        } else {
            format!("{parent}.{key}")
        },
        similar: obj.keys().find(|k| looks_like(k, key)).cloned(),
    })
}

/// Whether `key` looks like a misspelling of `wanted`: equal but for case, `-`/`_`, the
/// order of letters (`auhtorization`) or a dropped suffix (`care_relation`).
fn looks_like(key: &str, wanted: &str) -> bool {
    fn norm(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(|b| !matches!(b, b'_' | b'-'))
            .map(|b| b.to_ascii_lowercase())
            .collect()
    }
    if key == wanted || key.len() > 2 * wanted.len() {
        return false;
    }
    let (k, w) = (norm(key), norm(wanted));
    let sorted = |v: &[u8]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v
    };
    k == w || sorted(&k) == sorted(&w) || (k.len() >= 8 && w.starts_with(&k))
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, AttestationError> {
    v.as_object().ok_or_else(|| AttestationError::JsonType {
        path: path.to_owned(),
        expected: "a JSON object",
    })
}

/// A non-empty string.
fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, AttestationError> {
    match v.as_str() {
        Some("") => Err(AttestationError::JsonType {
            path: path.to_owned(),
            expected: "a non-empty string",
        }),
        Some(s) => Ok(s),
        None => Err(AttestationError::JsonType {
            path: path.to_owned(),
            expected: "a string",
        }),
    }
}

/// What the STS knows that the client does not send: the authenticated user, organisation
/// names and the time of attestation.
pub struct EnrichContext<'a> {
    /// The user's national identity number (`helseid://claims/identity/pid`).
    pub practitioner_pid: &'a str,
    /// The user's name from Folkeregisteret (`name`).
    pub practitioner_name: &'a str,
    /// The user's HPR number, if the user is in HPR.
    pub hpr_number: Option<String>,
    /// The name of an organisation. Called with 9-digit organisation numbers
    /// (`legal_entity`, `point_of_care`) and with RESH ids (`department`, shorter in every
    /// register the testbed knows); `None` leaves `name` out.
    pub org_name: &'a dyn Fn(&str) -> Option<String>,
    /// When the STS accepted the attestation (seconds since the epoch): `attestation.toa`.
    pub time_of_attestation: i64,
}

impl fmt::Debug for EnrichContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrichContext")
            .field("practitioner_pid", &self.practitioner_pid)
            .field("practitioner_name", &self.practitioner_name)
            .field("hpr_number", &self.hpr_number)
            .field("time_of_attestation", &self.time_of_attestation)
            .finish_non_exhaustive()
    }
}

/// The `nhn:tillitsrammeverk:parameters` claim of the access token: the attestation with
/// everything HelseID adds itself (TR Vedlegg B shape; choices in the module documentation).
/// The practitioner's `identifier` and `hpr_nr` come from `ctx`, never from the client.
pub fn enrich(att: &Attestation, ctx: &EnrichContext<'_>) -> Value {
    let named = |id: &Identifier| identifier(id, (ctx.org_name)(&id.id));

    let p = &att.practitioner;
    let mut practitioner = Map::new();
    if !ctx.practitioner_pid.is_empty() {
        // D-numbers add 4 to the first digit (reference §7.2).
        let system = if matches!(ctx.practitioner_pid.as_bytes().first(), Some(b'4'..=b'9')) {
            SYSTEM_DNR
        } else {
            SYSTEM_FNR
        };
        let name = Some(ctx.practitioner_name.to_owned()).filter(|n| !n.is_empty());
        practitioner.insert(
            "identifier".into(),
            identifier(
                &Identifier {
                    id: ctx.practitioner_pid.to_owned(),
                    system,
                },
                name,
            ),
        );
    }
    if let Some(hpr) = ctx.hpr_number.as_deref().filter(|h| !h.is_empty()) {
        practitioner.insert(
            "hpr_nr".into(),
            identifier(
                &Identifier {
                    id: hpr.to_owned(),
                    system: SYSTEM_HPR,
                },
                None,
            ),
        );
    }
    practitioner.insert("authorization".into(), coded_value(&p.authorization));
    practitioner.insert("legal_entity".into(), named(&p.legal_entity));
    practitioner.insert("point_of_care".into(), named(&p.point_of_care));
    if let Some(d) = &p.department {
        practitioner.insert("department".into(), named(d));
    }

    let c = &att.care_relationship;
    let mut care = Map::new();
    care.insert(
        "healthcare_service".into(),
        coded_value(&c.healthcare_service),
    );
    care.insert("purpose_of_use".into(), coded_value(&c.purpose_of_use));
    if let Some(d) = &c.purpose_of_use_details {
        care.insert("purpose_of_use_details".into(), coded_value(d));
    }
    care.insert(
        "decision_ref".into(),
        json!({ "id": c.decision_ref.id, "user_selected": c.decision_ref.user_selected }),
    );

    let patients: Vec<Value> = att
        .patients
        .iter()
        .map(|pat| {
            let mut m = Map::new();
            if let Some(id) = &pat.identifier {
                // Patients' names are not looked up (TR Vedlegg B has none).
                m.insert("identifier".into(), identifier(id, None));
            }
            if let Some(poc) = &pat.point_of_care {
                m.insert("point_of_care".into(), named(poc));
            }
            if let Some(d) = &pat.department {
                m.insert("department".into(), named(d));
            }
            Value::Object(m)
        })
        .collect();

    json!({
        "type": TYPE_TILLITSRAMMEVERK,
        "practitioner": practitioner,
        "care_relationship": care,
        "patients": patients,
        "attestation": { "toa": ctx.time_of_attestation },
    })
}

/// `{id, name, system, authority}`; `name` left out when unknown.
fn identifier(id: &Identifier, name: Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id.id));
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        m.insert("name".into(), json!(name));
    }
    m.insert("system".into(), json!(id.system));
    if let Some(authority) = codes::authority(id.system) {
        m.insert("authority".into(), json!(authority));
    }
    Value::Object(m)
}

/// `{code, text, system, assigner}`; `text` left out when the tables do not know the code.
fn coded_value(c: &Coded) -> Value {
    let mut m = Map::new();
    m.insert("code".into(), json!(c.code));
    if let Some(text) = codes::text(c.system, &c.code) {
        m.insert("text".into(), json!(text));
    }
    m.insert("system".into(), json!(c.system));
    if let Some(assigner) = codes::assigner(c.system) {
        m.insert("assigner".into(), json!(assigner));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests;
