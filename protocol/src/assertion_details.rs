//! The structured claim of a client assertion (`assertion_details`, or the older
//! `authorization_details`, modelled on RFC 9396 entries), reference §6.2 and §7.1: the
//! organisation a client acts for (`helseid_authorization`), the SFM journal id
//! (`nhn:sfm:journal-id`) and the Tillitsrammeverk attestation (`nhn:tillitsrammeverk:parameters`).
//!
//! One entry may come as an object, several as an array (HelseID.Library's `DetailsCreator`).

use serde_json::Value;
use thiserror::Error;

pub const TYPE_AUTHORIZATION: &str = "helseid_authorization";
pub const TYPE_SFM_JOURNAL_ID: &str = "nhn:sfm:journal-id";
pub const TYPE_TILLITSRAMMEVERK: &str = "nhn:tillitsrammeverk:parameters";

/// Enhetsregisteret's OID, for a single-tenant client's child organisation.
pub const SYSTEM_ENH: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
/// ISO 6523 (`NO:ORGNR:<parent>:<child>`), for a multi-tenant client.
pub const SYSTEM_ISO6523: &str = "urn:oid:1.0.6523";
/// Other systems seen in older samples and docs for Enhetsregisteret numbers.
pub const SYSTEM_ENH_ALTERNATIVES: [&str; 2] = [
    "urn:oid:2.16.578.1.12.4.1.2.101",
    "urn:oid:2.16.578.1.12.4.1.24.101",
];

/// One understood entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// `helseid_authorization`: the organisation the client acts for.
    Organisation(OrgClaim),
    /// `nhn:sfm:journal-id`.
    SfmJournalId(String),
    /// `nhn:tillitsrammeverk:parameters`, as sent.
    Tillitsrammeverk(Value),
}

/// The organisation numbers a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgClaim {
    /// `system` Enhetsregisteret, `value` one org number: a single-tenant client's child.
    Child(String),
    /// `system` ISO 6523, `value` `NO:ORGNR:<parent>:<child?>`: a multi-tenant client's orgs.
    ParentChild {
        parent: String,
        child: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DetailsError {
    #[error("assertion_details must be an object or an array of objects")]
    Shape,
    #[error("assertion_details entry {0} has no type")]
    MissingType(usize),
    #[error(
        "assertion_details type {0:?} is not supported; supported are {TYPE_AUTHORIZATION}, {TYPE_SFM_JOURNAL_ID} and {TYPE_TILLITSRAMMEVERK}"
    )]
    UnknownType(String),
    #[error("assertion_details {TYPE_AUTHORIZATION} lacks {0}")]
    MissingField(&'static str),
    #[error(
        "assertion_details identifier system {0:?} is not accepted; use {SYSTEM_ENH} (child org number) or {SYSTEM_ISO6523} (NO:ORGNR:parent:child)"
    )]
    System(String),
    #[error("assertion_details identifier value {0:?} is not NO:ORGNR:<parent>:<child>")]
    Iso6523(String),
    #[error("assertion_details organisation number {0:?} is not a 9-digit organisation number")]
    OrgNr(String),
    #[error("assertion_details {TYPE_SFM_JOURNAL_ID} needs value.journal_id as a string")]
    JournalId,
    #[error("assertion_details names {0} more than once")]
    Duplicate(&'static str),
}

/// A Tillitsrammeverk attestation came through both channels (reference §12.4: HelseID
/// answers `access_denied` with a description starting `HID-DOUBLE-STRUCTURE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "{DOUBLE_STRUCTURE}: the Tillitsrammeverk attestation ({TYPE_TILLITSRAMMEVERK}) was sent both in the login's request object and in this request's client assertion; send it in one of them"
)]
pub struct DoubleStructure;

/// The start of HelseID's error description for an attestation sent twice.
pub const DOUBLE_STRUCTURE: &str = "HID-DOUBLE-STRUCTURE";

/// The details a token request acts on: those of its client assertion (they apply to this
/// response only) and those of the login's request object at PAR (they apply to every token
/// of the login, its refreshes included). The assertion's win kind by kind (a client may act
/// for another organisation in one call), except the Tillitsrammeverk attestation, which may
/// come through one channel only (reference §12.4, HelseID's Tillitsrammeverk profile).
pub fn combine(
    from_assertion: &[Detail],
    from_request_object: Vec<Detail>,
) -> Result<Vec<Detail>, DoubleStructure> {
    let is_attestation = |d: &Detail| matches!(d, Detail::Tillitsrammeverk(_));
    if from_assertion.iter().any(is_attestation) && from_request_object.iter().any(is_attestation) {
        return Err(DoubleStructure);
    }
    let mut details = from_assertion.to_vec();
    for d in from_request_object {
        let kind = std::mem::discriminant(&d);
        if !details.iter().any(|x| std::mem::discriminant(x) == kind) {
            details.push(d);
        }
    }
    Ok(details)
}

/// Reads the entries of the structured claim.
pub fn parse(details: &Value) -> Result<Vec<Detail>, DetailsError> {
    let entries: Vec<&Value> = match details {
        Value::Object(_) => vec![details],
        Value::Array(items) => items.iter().collect(),
        _ => return Err(DetailsError::Shape),
    };
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let obj = entry.as_object().ok_or(DetailsError::Shape)?;
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or(DetailsError::MissingType(i))?;
        let detail = match ty {
            TYPE_AUTHORIZATION => Detail::Organisation(org_claim(entry)?),
            TYPE_SFM_JOURNAL_ID => Detail::SfmJournalId(
                entry
                    .pointer("/value/journal_id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or(DetailsError::JournalId)?
                    .to_owned(),
            ),
            TYPE_TILLITSRAMMEVERK => Detail::Tillitsrammeverk(entry.clone()),
            other => return Err(DetailsError::UnknownType(other.to_owned())),
        };
        let kind = detail.kind();
        if out.iter().any(|d: &Detail| d.kind() == kind) {
            return Err(DetailsError::Duplicate(kind));
        }
        out.push(detail);
    }
    Ok(out)
}

impl Detail {
    fn kind(&self) -> &'static str {
        match self {
            Detail::Organisation(_) => TYPE_AUTHORIZATION,
            Detail::SfmJournalId(_) => TYPE_SFM_JOURNAL_ID,
            Detail::Tillitsrammeverk(_) => TYPE_TILLITSRAMMEVERK,
        }
    }
}

fn org_claim(entry: &Value) -> Result<OrgClaim, DetailsError> {
    let identifier = entry
        .pointer("/practitioner_role/organization/identifier")
        .ok_or(DetailsError::MissingField(
            "practitioner_role.organization.identifier",
        ))?;
    let system = identifier
        .get("system")
        .and_then(Value::as_str)
        .ok_or(DetailsError::MissingField("identifier.system"))?;
    let value = identifier
        .get("value")
        .and_then(Value::as_str)
        .ok_or(DetailsError::MissingField("identifier.value"))?;
    if system == SYSTEM_ISO6523 {
        let rest = value
            .strip_prefix("NO:ORGNR:")
            .ok_or_else(|| DetailsError::Iso6523(value.to_owned()))?;
        let (parent, child) = rest.split_once(':').unwrap_or((rest, ""));
        if child.contains(':') {
            return Err(DetailsError::Iso6523(value.to_owned()));
        }
        let parent = org_number(parent)?;
        let child = if child.is_empty() {
            None
        } else {
            Some(org_number(child)?)
        };
        Ok(OrgClaim::ParentChild { parent, child })
    } else if system == SYSTEM_ENH || SYSTEM_ENH_ALTERNATIVES.contains(&system) {
        Ok(OrgClaim::Child(org_number(value)?))
    } else {
        Err(DetailsError::System(system.to_owned()))
    }
}

/// The `helseid_authorization` entry a multi-tenant client sends to act for `parent` (and,
/// optionally, its unit `child`): system ISO 6523, type ENH, value
/// `NO:ORGNR:<parent>:<child?>`, the trailing colon kept when there is no child, as
/// HelseID.Library writes it (reference §6.2).
pub fn multi_tenant_org(parent: &str, child: Option<&str>) -> Value {
    organisation_entry(
        SYSTEM_ISO6523,
        &format!("NO:ORGNR:{parent}:{}", child.unwrap_or_default()),
    )
}

/// The `helseid_authorization` entry a single-tenant client sends to name its unit `child`
/// (system Enhetsregisteret, reference §6.2).
pub fn single_tenant_child(child: &str) -> Value {
    organisation_entry(SYSTEM_ENH, child)
}

fn organisation_entry(system: &str, value: &str) -> Value {
    serde_json::json!({
        "type": TYPE_AUTHORIZATION,
        "practitioner_role": {"organization": {"identifier": {
            "system": system,
            "type": "ENH",
            "value": value,
        }}}
    })
}

/// A 9-digit organisation number. The mod-11 check digit is deliberately not checked:
/// HelseID's own samples send child numbers (`999977776`, `999977775`) that fail it and
/// are accepted in the test environment.
pub fn org_number(s: &str) -> Result<String, DetailsError> {
    if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(DetailsError::OrgNr(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_attestation_through_both_channels_is_refused_other_kinds_the_assertion_wins() {
        use super::*;
        let att = || Detail::Tillitsrammeverk(serde_json::json!({"type": TYPE_TILLITSRAMMEVERK}));
        let journal = |j: &str| Detail::SfmJournalId(j.into());
        // One channel each: both kept.
        assert_eq!(
            combine(&[att()], vec![journal("a")]).unwrap(),
            vec![att(), journal("a")]
        );
        assert_eq!(combine(&[], vec![att()]).unwrap(), vec![att()]);
        // The same other kind in both: the assertion's.
        assert_eq!(
            combine(&[journal("b")], vec![journal("a")]).unwrap(),
            vec![journal("b")]
        );
        // The attestation in both.
        let err = combine(&[att()], vec![att(), journal("a")]).unwrap_err();
        assert!(err.to_string().starts_with("HID-DOUBLE-STRUCTURE"));
    }

    use super::*;
    use serde_json::json;

    fn org(system: &str, value: &str) -> Value {
        json!({"type": "helseid_authorization", "practitioner_role": {"organization": {"identifier": {"system": system, "type": "ENH", "value": value}}}})
    }

    #[test]
    fn multi_tenant_parent_and_child() {
        let d = parse(&org(SYSTEM_ISO6523, "NO:ORGNR:999977774:999977776")).unwrap();
        assert_eq!(
            d,
            vec![Detail::Organisation(OrgClaim::ParentChild {
                parent: "999977774".into(),
                child: Some("999977776".into())
            })]
        );
        let d = parse(&org(SYSTEM_ISO6523, "NO:ORGNR:999977774:")).unwrap();
        assert_eq!(
            d,
            vec![Detail::Organisation(OrgClaim::ParentChild {
                parent: "999977774".into(),
                child: None
            })]
        );
        let d = parse(&org(SYSTEM_ISO6523, "NO:ORGNR:999977774")).unwrap();
        assert!(matches!(
            &d[0],
            Detail::Organisation(OrgClaim::ParentChild { child: None, .. })
        ));
    }

    #[test]
    fn single_tenant_child_and_array_form() {
        let both = json!([org(SYSTEM_ENH, "999977776"), {"type": "nhn:sfm:journal-id", "value": {"journal_id": "8079c363"}}]);
        let d = parse(&both).unwrap();
        assert_eq!(
            d[0],
            Detail::Organisation(OrgClaim::Child("999977776".into()))
        );
        assert_eq!(d[1], Detail::SfmJournalId("8079c363".into()));
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            (org(SYSTEM_ISO6523, "NO:ORGNR:99997777:"), "99997777"),
            (org(SYSTEM_ISO6523, "ORGNR:999977774"), "NO:ORGNR"),
            (
                org(SYSTEM_ISO6523, "NO:ORGNR:999977774:999977776:1"),
                "NO:ORGNR",
            ),
            (org("urn:oid:9.9", "999977776"), "urn:oid:9.9"),
            (json!({"type": "other"}), "\"other\""),
            (json!({"no": "type"}), "no type"),
            (json!("text"), "object or an array"),
            (
                json!({"type": "nhn:sfm:journal-id", "value": {}}),
                "journal_id",
            ),
            (
                json!({"type": "helseid_authorization"}),
                "practitioner_role",
            ),
            (
                json!([org(SYSTEM_ENH, "999977776"), org(SYSTEM_ENH, "999977776")]),
                "more than once",
            ),
        ];
        for (input, needle) in cases {
            let err = parse(&input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn built_entries_read_back() {
        assert_eq!(
            multi_tenant_org("999977774", None)
                .pointer("/practitioner_role/organization/identifier/value"),
            Some(&json!("NO:ORGNR:999977774:"))
        );
        assert_eq!(
            parse(&multi_tenant_org("999977774", Some("999977776"))).unwrap(),
            vec![Detail::Organisation(OrgClaim::ParentChild {
                parent: "999977774".into(),
                child: Some("999977776".into())
            })]
        );
        assert_eq!(
            parse(&single_tenant_child("999977776")).unwrap(),
            vec![Detail::Organisation(OrgClaim::Child("999977776".into()))]
        );
        // With an attestation beside it, as a multi-tenant client attests at a refresh.
        let tr = json!({"type": TYPE_TILLITSRAMMEVERK, "practitioner": {}});
        let both = parse(&json!([multi_tenant_org("999977774", None), tr])).unwrap();
        assert!(matches!(both[0], Detail::Organisation(_)));
        assert!(matches!(both[1], Detail::Tillitsrammeverk(_)));
    }

    #[test]
    fn org_numbers_are_nine_digits() {
        // 999977776 fails mod 11 but is HelseID's own sample child organisation.
        for good in ["999977774", "313745392", "999977776"] {
            assert!(org_number(good).is_ok(), "{good}");
        }
        for bad in [
            "99997777",
            "9999777744",
            "abcdefghi",
            "",
            "99997777x",
            "９99977774",
        ] {
            assert!(org_number(bad).is_err(), "{bad}");
        }
    }
}
