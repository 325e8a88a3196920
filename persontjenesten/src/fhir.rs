//! The FHIR R4 data types the two resources and their answers need (FHIR R4 §2.24
//! datatypes, §3.1 `Bundle`, `OperationOutcome`), as plain serde types.
//!
//! Why not a FHIR model crate: the maintained one (`fhir-sdk`) generates every R4 resource
//! and takes minutes to build on the project's machines for two resources and a handful of
//! datatypes; the profiles' Norwegian extensions are open slices either way. Only the
//! elements the profiles use are modelled; empty ones are left out, as FHIR JSON requires
//! (§2.6.2: no empty objects or arrays).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// `application/fhir+json` for FHIR R4 (FHIR R4 §3.1.0.1.8 `fhirVersion` parameter).
pub const CONTENT_TYPE: &str = "application/fhir+json; fhirVersion=4.0";

fn none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

fn empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// `Meta` (§2.24.0.20).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "empty")]
    pub profile: Vec<String>,
    #[serde(skip_serializing_if = "empty")]
    pub security: Vec<Coding>,
    #[serde(skip_serializing_if = "empty")]
    pub tag: Vec<Coding>,
}

/// `Coding`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: &str, display: Option<&str>) -> Coding {
        Coding {
            system: Some(system.to_owned()),
            code: Some(code.to_owned()),
            display: display.map(str::to_owned),
        }
    }
}

/// `CodeableConcept`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
}

/// `Identifier`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Identifier {
    #[serde(skip_serializing_if = "empty")]
    pub extension: Vec<Extension>,
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(skip_serializing_if = "none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub value: Option<String>,
}

/// `Reference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reference {
    #[serde(skip_serializing_if = "none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub identifier: Option<Identifier>,
    #[serde(skip_serializing_if = "none")]
    pub display: Option<String>,
}

/// `Extension` with the value types the profiles use (§2.24.0.7: one `value[x]` or nested
/// extensions).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub url: String,
    #[serde(skip_serializing_if = "empty")]
    pub extension: Vec<Extension>,
    #[serde(flatten, skip_serializing_if = "none")]
    pub value: Option<ExtensionValue>,
}

/// `Extension.value[x]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExtensionValue {
    #[serde(rename = "valueString")]
    String(String),
    #[serde(rename = "valueBoolean")]
    Boolean(bool),
    #[serde(rename = "valueDate")]
    Date(String),
    #[serde(rename = "valueDateTime")]
    DateTime(String),
    #[serde(rename = "valueCoding")]
    Coding(Coding),
    #[serde(rename = "valueCodeableConcept")]
    CodeableConcept(CodeableConcept),
    #[serde(rename = "valueCode")]
    Code(String),
}

impl Extension {
    pub fn value(url: &str, value: ExtensionValue) -> Extension {
        Extension {
            url: url.to_owned(),
            extension: Vec::new(),
            value: Some(value),
        }
    }

    pub fn complex(url: &str, parts: Vec<Extension>) -> Extension {
        Extension {
            url: url.to_owned(),
            extension: parts,
            value: None,
        }
    }
}

/// `HumanName`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HumanName {
    #[serde(skip_serializing_if = "empty")]
    pub extension: Vec<Extension>,
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "empty")]
    pub given: Vec<String>,
}

/// `Address`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "empty")]
    pub extension: Vec<Extension>,
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(rename = "type", skip_serializing_if = "none")]
    pub type_: Option<&'static str>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "empty")]
    pub line: Vec<String>,
    #[serde(skip_serializing_if = "none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub country: Option<String>,
}

/// `Bundle.link`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleLink {
    pub relation: &'static str,
    pub url: String,
}

/// `Bundle.entry.search`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntrySearch {
    /// `match` for a result, `outcome` for an OperationOutcome about the search.
    pub mode: &'static str,
}

/// `Bundle.entry`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(skip_serializing_if = "none")]
    pub full_url: Option<String>,
    pub resource: Value,
    #[serde(skip_serializing_if = "none")]
    pub search: Option<EntrySearch>,
}

/// `Bundle` (FHIR R4 §3.1.1.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub resource_type: &'static str,
    pub id: String,
    pub meta: Meta,
    #[serde(rename = "type")]
    pub type_: &'static str,
    #[serde(skip_serializing_if = "none")]
    pub total: Option<u64>,
    #[serde(skip_serializing_if = "empty")]
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "empty")]
    pub entry: Vec<BundleEntry>,
}

/// `OperationOutcome.issue.severity` (FHIR R4 `issue-severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// FHIR R4 `issue-type`: `invalid`, `not-found`, `not-supported`, `security`, ...
    pub code: &'static str,
    pub diagnostics: String,
    #[serde(skip_serializing_if = "empty")]
    pub expression: Vec<String>,
}

impl Issue {
    pub fn new(severity: Severity, code: &'static str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity,
            code,
            diagnostics: diagnostics.into(),
            expression: Vec::new(),
        }
    }
}

/// `OperationOutcome` (FHIR R4 §2.37).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationOutcome {
    pub resource_type: &'static str,
    pub issue: Vec<Issue>,
}

impl OperationOutcome {
    pub fn new(issue: Vec<Issue>) -> OperationOutcome {
        OperationOutcome {
            resource_type: "OperationOutcome",
            issue,
        }
    }

    pub fn one(severity: Severity, code: &'static str, diagnostics: impl Into<String>) -> Self {
        OperationOutcome::new(vec![Issue::new(severity, code, diagnostics)])
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A JSON value written with `resourceType` first in every object that has one (FHIR R4
/// §2.6.2 puts it first in its examples, and streaming parsers read it to know the type),
/// the other members in their order.
#[derive(Debug)]
pub struct ResourceFirst<'a>(pub &'a Value);

impl Serialize for ResourceFirst<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                if let Some(t) = map.get("resourceType") {
                    out.serialize_entry("resourceType", t)?;
                }
                for (k, v) in map.iter().filter(|(k, _)| *k != "resourceType") {
                    out.serialize_entry(k, &ResourceFirst(v))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&ResourceFirst(v))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}
