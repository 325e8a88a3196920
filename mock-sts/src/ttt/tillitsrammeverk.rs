//! The `nhn:tillitsrammeverk:parameters` claim of a test token (`createTillitsrammeverkClaims`,
//! reference §7.3): the trust framework's enriched attestation (TR
//! `informasjons_og_datamodell.md` Vedlegg B) with the `care_relationship` spelling of the TTT
//! parameters. Every element comes from its `tillitsrammeverkClaimsParameters` value or a
//! default: the token's user as practitioner, its `orgnr_parent`/`orgnr_child` (or HelseID's
//! sample organisation) as legal entity and point of care with names from the store, and
//! the code systems of reference §7.2.

use protocol::claims::{HPR_NUMBER, ORGNR_CHILD, ORGNR_PARENT, PID, TILLITSRAMMEVERK};
use protocol::jose;
use protocol::ttt::{TillitsrammeverkClaimsParameters, given};
use serde_json::{Map, Value, json};

use super::{TttError, internal};
use crate::Sts;
use crate::seed::SAMPLE_PARENT;

// Code systems and authorities of the Tillitsrammeverk model (reference §7.2).
const SYS_FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const SYS_DNR: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
const SYS_HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
const SYS_PROFESSION: &str = "urn:oid:2.16.578.1.12.4.1.1.9060";
const SYS_ENH: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
const SYS_RESH: &str = "urn:oid:2.16.578.1.12.4.1.4.102";
const SYS_HEALTHCARE_SERVICE: &str = "urn:oid:2.16.578.1.12.4.1.1.8655";
const SYS_PURPOSE_OF_USE: &str = "urn:oid:2.16.840.1.113883.1.11.20448";
const SYS_PURPOSE_DETAILS: &str = "urn:AuditEventHL7Norway/CodeSystem/carerelation";
const AUTH_SKATTEETATEN: &str = "https://www.skatteetaten.no";
const AUTH_HELSEDIR: &str = "https://www.helsedirektoratet.no/";
const AUTH_BRREG: &str = "https://www.brreg.no";
const AUTH_NHN: &str = "https://www.nhn.no";
const AUTH_HL7: &str = "https://www.hl7.org";
/// A department (RESH id) for the defaults; fictitious.
const DEFAULT_DEPARTMENT: (&str, &str) = ("4210001", "Testavdeling");

/// `nhn:tillitsrammeverk:parameters` in the enriched form of the trust framework's model
/// (TR `informasjons_og_datamodell.md` Vedlegg B, with the `care_relationship` spelling of
/// the TTT parameters): every element from its parameters, or a default taken from the
/// token's user and client claims.
pub(super) fn claim(
    sts: &Sts,
    params: Option<&TillitsrammeverkClaimsParameters>,
    token: &Map<String, Value>,
) -> Result<Value, TttError> {
    let p = params.cloned().unwrap_or_default();
    let claim = |name: &str| token.get(name).and_then(Value::as_str).unwrap_or_default();
    let or = |value: &Option<String>, default: &str| given(value).unwrap_or(default).to_owned();
    let org_name = |orgnr: &str| -> Result<String, TttError> {
        Ok(sts
            .store
            .organisation(orgnr)
            .map_err(internal)?
            .map(|o| o.name)
            .unwrap_or_default())
    };

    let pid = claim(PID);
    // D-numbers have 4–7 as first digit (reference §7.2: `...4.1.4.2`).
    let pid_system = if pid.starts_with(['4', '5', '6', '7']) {
        SYS_DNR
    } else {
        SYS_FNR
    };
    let legal_entity_id = or(&p.practitioner_legal_entity_id, {
        let parent = claim(ORGNR_PARENT);
        if parent.is_empty() {
            SAMPLE_PARENT
        } else {
            parent
        }
    });
    let point_of_care_id = or(&p.practitioner_point_of_care_id, {
        let child = claim(ORGNR_CHILD);
        if child.is_empty() {
            legal_entity_id.as_str()
        } else {
            child
        }
    });
    let legal_entity = identifier(
        &legal_entity_id,
        &or(
            &p.practitioner_legal_entity_name,
            &org_name(&legal_entity_id)?,
        ),
        &or(&p.practitioner_legal_entity_system, SYS_ENH),
        &or(&p.practitioner_legal_entity_authority, AUTH_BRREG),
    );
    let point_of_care = identifier(
        &point_of_care_id,
        &or(
            &p.practitioner_point_of_care_name,
            &org_name(&point_of_care_id)?,
        ),
        &or(&p.practitioner_point_of_care_system, SYS_ENH),
        &or(&p.practitioner_point_of_care_authority, AUTH_BRREG),
    );
    let department = identifier(
        &or(&p.practitioner_department_id, DEFAULT_DEPARTMENT.0),
        &or(&p.practitioner_department_name, DEFAULT_DEPARTMENT.1),
        &or(&p.practitioner_department_system, SYS_RESH),
        &or(&p.practitioner_department_authority, AUTH_NHN),
    );

    let mut practitioner = Map::new();
    if !pid.is_empty() {
        practitioner.insert(
            "identifier".into(),
            identifier(
                pid,
                claim("name"),
                &or(&p.practitioner_identifier_system, pid_system),
                &or(&p.practitioner_identifier_authority, AUTH_SKATTEETATEN),
            ),
        );
    }
    let hpr = claim(HPR_NUMBER);
    if p.dont_set_practitioner_hpr_nr != Some(true) && !hpr.is_empty() {
        practitioner.insert(
            "hpr_nr".into(),
            json!({
                "id": hpr,
                "system": or(&p.practitioner_hpr_nr_system, SYS_HPR),
                "authority": or(&p.practitioner_hpr_nr_authority, AUTH_HELSEDIR),
            }),
        );
    }
    if p.dont_set_practitioner_authorization != Some(true) {
        practitioner.insert(
            "authorization".into(),
            coded(
                &or(&p.practitioner_authorization_code, "LE"),
                &or(&p.practitioner_authorization_text, "Lege"),
                &or(&p.practitioner_authorization_system, SYS_PROFESSION),
                &or(&p.practitioner_authorization_assigner, AUTH_HELSEDIR),
            ),
        );
    }
    practitioner.insert("legal_entity".into(), legal_entity);
    practitioner.insert("point_of_care".into(), point_of_care.clone());
    if p.dont_set_practitioner_department != Some(true) {
        practitioner.insert("department".into(), department.clone());
    }

    let mut care = Map::new();
    if p.dont_set_care_relationship_healthcare_service != Some(true) {
        care.insert(
            "healthcare_service".into(),
            coded(
                &or(&p.care_relationship_healthcare_service_code, "S03"),
                &or(&p.care_relationship_healthcare_service_text, "Indremedisin"),
                &or(
                    &p.care_relationship_healthcare_system,
                    SYS_HEALTHCARE_SERVICE,
                ),
                &or(&p.care_relationship_healthcare_assigner, AUTH_HELSEDIR),
            ),
        );
    }
    care.insert(
        "purpose_of_use".into(),
        coded(
            &or(&p.care_relationship_purpose_of_use_code, "TREAT"),
            &or(&p.care_relationship_purpose_of_use_text, "Treatment"),
            &or(
                &p.care_relationship_purpose_of_use_system,
                SYS_PURPOSE_OF_USE,
            ),
            &or(&p.care_relationship_purpose_of_use_assigner, AUTH_HL7),
        ),
    );
    if p.dont_set_care_relationship_purpose_of_use_details != Some(true) {
        care.insert(
            "purpose_of_use_details".into(),
            coded(
                &or(&p.care_relationship_purpose_of_use_details_code, "POLBESOK"),
                &or(
                    &p.care_relationship_purpose_of_use_details_text,
                    "Poliklinisk besøk",
                ),
                &or(
                    &p.care_relationship_purpose_of_use_details_system,
                    SYS_PURPOSE_DETAILS,
                ),
                &or(
                    &p.care_relationship_purpose_of_use_details_assigner,
                    AUTH_HELSEDIR,
                ),
            ),
        );
    }
    care.insert(
        "decision_ref".into(),
        json!({
            "id": given(&p.care_relationship_decision_ref_id)
                .map_or_else(jose::random_id, str::to_owned),
            "user_selected": p.decision_ref_user_selected(),
        }),
    );

    let mut patient = Map::new();
    if p.dont_set_patients_point_of_care != Some(true) {
        let default_name = point_of_care
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        patient.insert(
            "point_of_care".into(),
            identifier(
                &or(&p.patients_point_of_care_id, &point_of_care_id),
                &or(&p.patients_point_of_care_name, default_name),
                &or(&p.patients_point_of_care_system, SYS_ENH),
                &or(&p.patients_point_of_care_authority, AUTH_BRREG),
            ),
        );
    }
    if p.dont_set_patients_department != Some(true) {
        patient.insert(
            "department".into(),
            identifier(
                &or(&p.patients_department_id, DEFAULT_DEPARTMENT.0),
                &or(&p.patients_department_name, DEFAULT_DEPARTMENT.1),
                &or(&p.patients_department_system, SYS_RESH),
                &or(&p.patients_department_authority, AUTH_NHN),
            ),
        );
    }

    Ok(json!({
        "type": TILLITSRAMMEVERK,
        "practitioner": practitioner,
        "care_relationship": care,
        "patients": [patient],
    }))
}

/// An identifier of the trust-framework model: `{id, name, system, authority}`; `name` is
/// left out when unknown.
fn identifier(id: &str, name: &str, system: &str, authority: &str) -> Value {
    let mut v = json!({ "id": id, "system": system, "authority": authority });
    if !name.is_empty() {
        v["name"] = json!(name);
    }
    v
}

/// A coded value of the trust-framework model: `{code, text, system, assigner}`.
fn coded(code: &str, text: &str, system: &str, assigner: &str) -> Value {
    json!({ "code": code, "text": text, "system": system, "assigner": assigner })
}
