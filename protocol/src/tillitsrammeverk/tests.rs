use serde_json::{Value, json};

use super::codes::*;
use super::*;

/// A `testdata/tillitsrammeverk/*.json` file's `entry` (the files record their source).
fn fixture(text: &str) -> Value {
    let file: Value = serde_json::from_str(text).unwrap();
    assert!(file["source"]["from"].is_string(), "fixture without source");
    file["entry"].clone()
}

fn client_example() -> Value {
    fixture(include_str!(
        "../../testdata/tillitsrammeverk/client_example.json"
    ))
}

fn minimal_client() -> Value {
    fixture(include_str!(
        "../../testdata/tillitsrammeverk/minimal_client.json"
    ))
}

/// Removes the element at a JSON pointer.
fn without(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(m) => {
            m.remove(key).unwrap();
        }
        Value::Array(a) => {
            a.remove(key.parse().unwrap());
        }
        other => panic!("{pointer}: parent is {other}"),
    }
    v
}

/// Replaces (or adds) the element at a JSON pointer.
fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap() {
        Value::Object(m) => {
            m.insert(key.to_owned(), value);
        }
        Value::Array(a) => {
            let i: usize = key.parse().unwrap();
            if i == a.len() {
                a.push(value);
            } else {
                a[i] = value;
            }
        }
        other => panic!("{pointer}: parent is {other}"),
    }
    v
}

fn org_names(id: &str) -> Option<String> {
    match id {
        "994598759" => Some("Testlegekontoret AS".into()),
        "974589095" => Some("OSLO UNIVERSITETSSYKEHUS HF ULLEVÅL - SOMATIKK".into()),
        "705592" => Some("Anestesiologi Seksjon RH".into()),
        _ => None,
    }
}

fn context(pid: &'static str) -> EnrichContext<'static> {
    EnrichContext {
        practitioner_pid: pid,
        practitioner_name: "Magnar Koman",
        hpr_number: Some("9144900".into()),
        org_name: &org_names,
        time_of_attestation: 1_700_121_037,
    }
}

fn snapshot(name: &str, value: &Value) {
    insta::with_settings!({ sort_maps => true, prepend_module_to_snapshot => false }, {
        insta::assert_json_snapshot!(name, value);
    });
}

#[test]
fn client_example_passes() {
    let att = validate(&client_example()).unwrap();
    assert_eq!(
        att.practitioner.authorization,
        Coded {
            code: "LE".into(),
            system: SYSTEM_9060
        }
    );
    assert_eq!(att.practitioner.legal_entity.id, "994598759");
    assert_eq!(
        att.practitioner.department,
        Some(Identifier {
            id: "705592".into(),
            system: SYSTEM_RESH
        })
    );
    let care = &att.care_relationship;
    assert_eq!(care.healthcare_service.system, SYSTEM_8655);
    assert_eq!(care.purpose_of_use.code, "TREAT");
    assert_eq!(
        care.purpose_of_use_details.as_ref().map(|d| d.system),
        Some(SYSTEM_CARERELATION)
    );
    assert_eq!(
        care.decision_ref,
        DecisionRef {
            id: "30F4AB40-DBC2-41A7-8AC4-181AD3FDC25B".into(),
            user_selected: true
        }
    );
    assert_eq!(att.patients.len(), 1);
    assert_eq!(
        att.patients[0].identifier.as_ref().map(|i| i.system),
        Some(SYSTEM_FNR)
    );
    assert_eq!(
        att.patients[0].department.as_ref().map(|d| d.id.as_str()),
        Some("109765")
    );
}

/// IDX-1326721178: no department, no purpose_of_use_details, `patients: [{}]`. Accepted;
/// the empty patient stays an empty object (module documentation, "patients").
#[test]
fn minimal_real_client_passes() {
    let att = validate(&minimal_client()).unwrap();
    assert_eq!(att.practitioner.department, None);
    assert_eq!(att.care_relationship.purpose_of_use_details, None);
    assert_eq!(att.patients, vec![Patient::default()]);
    let claim = enrich(&att, &context("04056600324"));
    assert_eq!(claim["patients"], json!([{}]));
    assert!(claim["practitioner"].get("department").is_none());
    assert!(
        claim["care_relationship"]
            .get("purpose_of_use_details")
            .is_none()
    );
}

#[test]
fn patients_may_be_absent_empty_or_null() {
    for entry in [
        without(client_example(), "/patients"),
        with(client_example(), "/patients", json!([])),
        with(client_example(), "/patients", Value::Null),
    ] {
        let att = validate(&entry).unwrap();
        assert!(att.patients.is_empty());
        assert_eq!(enrich(&att, &context("04056600324"))["patients"], json!([]));
    }
    // Optional elements that are null count as absent.
    let entry = with(client_example(), "/practitioner/department", Value::Null);
    assert_eq!(validate(&entry).unwrap().practitioner.department, None);
}

#[test]
fn every_required_field_missing_names_its_path() {
    let cases = [
        ("/type", "type"),
        ("/practitioner", "practitioner"),
        ("/practitioner/authorization", "practitioner.authorization"),
        (
            "/practitioner/authorization/code",
            "practitioner.authorization.code",
        ),
        (
            "/practitioner/authorization/system",
            "practitioner.authorization.system",
        ),
        ("/practitioner/legal_entity", "practitioner.legal_entity"),
        (
            "/practitioner/legal_entity/id",
            "practitioner.legal_entity.id",
        ),
        (
            "/practitioner/legal_entity/system",
            "practitioner.legal_entity.system",
        ),
        ("/practitioner/point_of_care", "practitioner.point_of_care"),
        (
            "/practitioner/point_of_care/id",
            "practitioner.point_of_care.id",
        ),
        (
            "/practitioner/point_of_care/system",
            "practitioner.point_of_care.system",
        ),
        // Optional elements, once present, need their fields.
        ("/practitioner/department/id", "practitioner.department.id"),
        (
            "/practitioner/department/system",
            "practitioner.department.system",
        ),
        ("/care_relationship", "care_relationship"),
        (
            "/care_relationship/healthcare_service",
            "care_relationship.healthcare_service",
        ),
        (
            "/care_relationship/healthcare_service/code",
            "care_relationship.healthcare_service.code",
        ),
        (
            "/care_relationship/healthcare_service/system",
            "care_relationship.healthcare_service.system",
        ),
        (
            "/care_relationship/purpose_of_use",
            "care_relationship.purpose_of_use",
        ),
        (
            "/care_relationship/purpose_of_use/code",
            "care_relationship.purpose_of_use.code",
        ),
        (
            "/care_relationship/purpose_of_use/system",
            "care_relationship.purpose_of_use.system",
        ),
        (
            "/care_relationship/purpose_of_use_details/code",
            "care_relationship.purpose_of_use_details.code",
        ),
        (
            "/care_relationship/purpose_of_use_details/system",
            "care_relationship.purpose_of_use_details.system",
        ),
        (
            "/care_relationship/decision_ref",
            "care_relationship.decision_ref",
        ),
        (
            "/care_relationship/decision_ref/id",
            "care_relationship.decision_ref.id",
        ),
        (
            "/care_relationship/decision_ref/user_selected",
            "care_relationship.decision_ref.user_selected",
        ),
        ("/patients/0/identifier/id", "patients[0].identifier.id"),
        (
            "/patients/0/identifier/system",
            "patients[0].identifier.system",
        ),
        (
            "/patients/0/point_of_care/id",
            "patients[0].point_of_care.id",
        ),
        (
            "/patients/0/department/system",
            "patients[0].department.system",
        ),
    ];
    for (pointer, path) in cases {
        for entry in [
            without(client_example(), pointer),
            with(client_example(), pointer, Value::Null),
        ] {
            let err = validate(&entry).unwrap_err();
            assert!(
                matches!(&err, AttestationError::Missing { path: p, .. } if p == path),
                "{pointer}: {err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("nhn:tillitsrammeverk:parameters {path} is missing"),
                "{pointer}"
            );
        }
    }
}

/// KJ's `@JsonProperty("auhtorization")` and TR's `care_relation` spelling: the required
/// key is missing, and the message points at the look-alike.
#[test]
fn misspelt_keys_are_missing_fields_with_a_hint() {
    let authorization = client_example()["practitioner"]["authorization"].clone();
    let kj = with(
        without(client_example(), "/practitioner/authorization"),
        "/practitioner/auhtorization",
        authorization,
    );
    let err = validate(&kj).unwrap_err();
    assert_eq!(
        err,
        AttestationError::Missing {
            path: "practitioner.authorization".into(),
            similar: Some("auhtorization".into())
        }
    );
    assert_eq!(
        err.to_string(),
        "nhn:tillitsrammeverk:parameters practitioner.authorization is missing (the entry has \"auhtorization\")"
    );

    let care = client_example()["care_relationship"].clone();
    let tr = with(
        without(client_example(), "/care_relationship"),
        "/care_relation",
        care,
    );
    assert!(
        validate(&tr)
            .unwrap_err()
            .to_string()
            .ends_with("care_relationship is missing (the entry has \"care_relation\")")
    );

    let hyphen = with(
        without(client_example(), "/practitioner/legal_entity"),
        "/practitioner/legal-entity",
        json!({"id": "994598759", "system": SYSTEM_ENH}),
    );
    assert!(matches!(
        validate(&hyphen).unwrap_err(),
        AttestationError::Missing { similar: Some(s), .. } if s == "legal-entity"
    ));
}

#[test]
fn every_wrong_system_is_refused() {
    let pointers = [
        "/practitioner/authorization/system",
        "/practitioner/legal_entity/system",
        "/practitioner/point_of_care/system",
        "/practitioner/department/system",
        "/care_relationship/healthcare_service/system",
        "/care_relationship/purpose_of_use/system",
        "/care_relationship/purpose_of_use_details/system",
        "/patients/0/identifier/system",
        "/patients/0/point_of_care/system",
        "/patients/0/department/system",
    ];
    for pointer in pointers {
        let path = pointer[1..].replace("/0/", "[0].").replace('/', ".");
        let original = client_example().pointer(pointer).unwrap().clone();
        let bare = original.as_str().unwrap().trim_start_matches("urn:oid:");
        let other_register = if original == SYSTEM_ENH {
            SYSTEM_RESH
        } else {
            SYSTEM_ENH
        };
        for wrong in ["urn:oid:x", bare, other_register, ""] {
            if wrong == original {
                continue;
            }
            let err = validate(&with(client_example(), pointer, json!(wrong))).unwrap_err();
            assert_eq!(err.path(), path, "{pointer} = {wrong:?}: {err}");
            if wrong.is_empty() {
                assert!(matches!(err, AttestationError::JsonType { .. }), "{err:?}");
            } else {
                assert!(
                    matches!(&err, AttestationError::System { found, .. } if found == wrong),
                    "{pointer} = {wrong:?}: {err:?}"
                );
            }
        }
    }
    let err = validate(&with(
        client_example(),
        "/practitioner/authorization/system",
        json!("urn:oid:x"),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nhn:tillitsrammeverk:parameters practitioner.authorization.system \"urn:oid:x\" is not kodeverk 9060 (urn:oid:2.16.578.1.12.4.1.1.9060)"
    );
}

#[test]
fn every_allowed_system_passes() {
    for system in HEALTHCARE_SERVICE_SYSTEMS {
        let entry = with(
            client_example(),
            "/care_relationship/healthcare_service/system",
            json!(system),
        );
        assert!(validate(&entry).is_ok(), "{system}");
    }
    for system in PURPOSE_OF_USE_DETAILS_SYSTEMS {
        let entry = with(
            client_example(),
            "/care_relationship/purpose_of_use_details",
            json!({"code": "15", "system": system}),
        );
        assert!(validate(&entry).is_ok(), "{system}");
    }
    for system in PATIENT_ID_SYSTEMS {
        let entry = with(
            client_example(),
            "/patients/0/identifier/system",
            json!(system),
        );
        assert!(validate(&entry).is_ok(), "{system}");
    }
}

#[test]
fn codes_outside_the_closed_code_systems_are_refused() {
    let cases = [
        // XX "Ukjent/uspesifisert" is in 9060 but names no authorisation.
        ("/practitioner/authorization/code", "XX"),
        ("/practitioner/authorization/code", "ZZ"),
        // Case and volven spelling are exact: farmasøyt is FA1/FA2.
        ("/practitioner/authorization/code", "le"),
        ("/practitioner/authorization/code", "FA"),
        ("/care_relationship/purpose_of_use/code", "PATRQT"),
        ("/care_relationship/purpose_of_use/code", "treat"),
    ];
    for (pointer, code) in cases {
        let err = validate(&with(client_example(), pointer, json!(code))).unwrap_err();
        assert!(
            matches!(&err, AttestationError::Code { found, .. } if found == code),
            "{pointer} = {code}: {err:?}"
        );
    }
    let err = validate(&with(
        client_example(),
        "/practitioner/authorization/code",
        json!("XX"),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nhn:tillitsrammeverk:parameters practitioner.authorization.code \"XX\" is not an authorisation of kodeverk 9060 (e.g. LE, SP, TL, FA1, PS; XX is not accepted)"
    );
}

#[test]
fn every_listed_code_passes() {
    for (code, _) in PROFESSIONS {
        let entry = with(
            client_example(),
            "/practitioner/authorization/code",
            json!(code),
        );
        assert!(validate(&entry).is_ok(), "{code}");
    }
    for (code, _) in PURPOSES_OF_USE {
        let entry = with(
            client_example(),
            "/care_relationship/purpose_of_use/code",
            json!(code),
        );
        assert!(validate(&entry).is_ok(), "{code}");
    }
    // Open code systems: any well-formed code.
    for code in ["KP02", "300", "KX17", "01", "8", "X.1-a_b"] {
        let entry = with(
            client_example(),
            "/care_relationship/healthcare_service/code",
            json!(code),
        );
        assert!(validate(&entry).is_ok(), "{code}");
    }
}

#[test]
fn malformed_codes_are_refused() {
    let long = "A".repeat(MAX_CODE_LEN + 1);
    for pointer in [
        "/care_relationship/healthcare_service/code",
        "/care_relationship/purpose_of_use_details/code",
    ] {
        for code in ["S 03", "S03\n", "<script>", "Ø1", long.as_str()] {
            let err = validate(&with(client_example(), pointer, json!(code))).unwrap_err();
            assert!(
                matches!(err, AttestationError::Value { .. }),
                "{pointer} = {code:?}: {err:?}"
            );
        }
        let err = validate(&with(client_example(), pointer, json!(300))).unwrap_err();
        assert_eq!(
            err,
            AttestationError::JsonType {
                path: pointer[1..].replace('/', "."),
                expected: "a string"
            }
        );
    }
}

#[test]
fn org_numbers_are_nine_digits() {
    for pointer in [
        "/practitioner/legal_entity/id",
        "/practitioner/point_of_care/id",
        "/patients/0/point_of_care/id",
    ] {
        for id in [
            "99459875",
            "9945987590",
            "99459875a",
            " 994598759",
            "９94598759",
        ] {
            let err = validate(&with(client_example(), pointer, json!(id))).unwrap_err();
            assert!(
                matches!(&err, AttestationError::Value { found, .. } if found == id),
                "{pointer} = {id:?}: {err:?}"
            );
            assert!(err.to_string().contains("a 9-digit organisation number"));
        }
        // A number is not an organisation number string.
        let err = validate(&with(client_example(), pointer, json!(994598759))).unwrap_err();
        assert!(matches!(err, AttestationError::JsonType { .. }), "{err:?}");
        // No mod-11 check: HelseID's own sample child 999977776 fails it.
        assert!(validate(&with(client_example(), pointer, json!("999977776"))).is_ok());
    }
    let err = validate(&with(
        client_example(),
        "/practitioner/legal_entity/id",
        json!("99459875"),
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nhn:tillitsrammeverk:parameters practitioner.legal_entity.id \"99459875\" is not a 9-digit organisation number"
    );
}

#[test]
fn resh_and_patient_ids_are_digits() {
    for (pointer, bad) in [
        ("/practitioner/department/id", "70559X"),
        ("/practitioner/department/id", "1234567890123"),
        ("/patients/0/department/id", "RH-109765"),
        ("/patients/0/identifier/id", "0507660032"),
        ("/patients/0/identifier/id", "050766003241"),
        ("/patients/0/identifier/id", "05076600 24"),
    ] {
        let err = validate(&with(client_example(), pointer, json!(bad))).unwrap_err();
        assert!(
            matches!(&err, AttestationError::Value { found, .. } if found == bad),
            "{pointer} = {bad:?}: {err:?}"
        );
    }
    // H-nummer and D-nummer patients.
    let entry = with(
        with(
            client_example(),
            "/patients/0/identifier",
            json!({"id": "41018012345", "system": SYSTEM_DNR}),
        ),
        "/patients/1",
        json!({"identifier": {"id": "01450012345", "system": SYSTEM_HNR}}),
    );
    let att = validate(&entry).unwrap();
    assert_eq!(att.patients.len(), 2);
    assert_eq!(
        att.patients[1].identifier.as_ref().map(|i| i.system),
        Some(SYSTEM_HNR)
    );
}

#[test]
fn decision_ref_rules() {
    let long = "a".repeat(65);
    for id in ["with space", "ok;drop", long.as_str()] {
        let err = validate(&with(
            client_example(),
            "/care_relationship/decision_ref/id",
            json!(id),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, AttestationError::Value { path, .. } if path == "care_relationship.decision_ref.id"),
            "{id}: {err:?}"
        );
    }
    assert!(
        validate(&with(
            client_example(),
            "/care_relationship/decision_ref/id",
            json!("a".repeat(64))
        ))
        .is_ok()
    );
    for not_bool in [json!("true"), json!(1)] {
        let err = validate(&with(
            client_example(),
            "/care_relationship/decision_ref/user_selected",
            not_bool,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "nhn:tillitsrammeverk:parameters care_relationship.decision_ref.user_selected must be a boolean"
        );
    }
    let att = validate(&with(
        client_example(),
        "/care_relationship/decision_ref/user_selected",
        json!(false),
    ))
    .unwrap();
    assert!(!att.care_relationship.decision_ref.user_selected);
}

#[test]
fn json_shapes_are_checked() {
    let cases = [
        (json!("text"), ""),
        (
            with(client_example(), "/practitioner", json!([])),
            "practitioner",
        ),
        (
            with(client_example(), "/practitioner/authorization", json!("LE")),
            "practitioner.authorization",
        ),
        (
            with(
                client_example(),
                "/care_relationship/decision_ref",
                json!(true),
            ),
            "care_relationship.decision_ref",
        ),
        (with(client_example(), "/patients", json!({})), "patients"),
        (
            with(client_example(), "/patients/0", json!("05076600324")),
            "patients[0]",
        ),
        (
            with(client_example(), "/patients/1", json!([])),
            "patients[1]",
        ),
        (with(client_example(), "/type", json!(7)), "type"),
    ];
    for (entry, path) in cases {
        let err = validate(&entry).unwrap_err();
        assert_eq!(err.path(), path, "{err}");
    }
    assert_eq!(
        validate(&json!([client_example()])).unwrap_err(),
        AttestationError::NotAnObject
    );
}

#[test]
fn other_types_are_refused() {
    for ty in [
        "nhn:trust_framework:parameters",
        "helseid_authorization",
        "NHN:TILLITSRAMMEVERK:PARAMETERS",
    ] {
        let err = validate(&with(client_example(), "/type", json!(ty))).unwrap_err();
        assert_eq!(err, AttestationError::WrongType { found: ty.into() });
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let mut entry = client_example();
    for pointer in [
        "/version",
        "/practitioner/role",
        "/practitioner/authorization/display",
        "/care_relationship/tracing_ref",
        "/care_relationship/decision_ref/description",
        "/patients/0/extra",
        "/toa",
    ] {
        entry = with(entry, pointer, json!({"anything": [1, "two"]}));
    }
    assert_eq!(
        validate(&entry).unwrap(),
        validate(&client_example()).unwrap()
    );
}

#[test]
fn refused_values_are_shortened_in_messages() {
    let huge = "9".repeat(100_000);
    let err = validate(&with(
        client_example(),
        "/practitioner/legal_entity/id",
        json!(huge),
    ))
    .unwrap_err();
    assert!(err.to_string().len() < 300, "{}", err.to_string().len());
    // Control characters are escaped, not echoed.
    let err = validate(&with(
        client_example(),
        "/practitioner/authorization/system",
        json!("a\u{1b}[31m\r\nb"),
    ))
    .unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains('\u{1b}') && !msg.contains('\n'), "{msg}");
}

#[test]
fn enriched_client_example() {
    let att = validate(&client_example()).unwrap();
    snapshot(
        "enriched_client_example",
        &enrich(&att, &context("04056600324")),
    );
}

#[test]
fn enriched_minimal_client() {
    let att = validate(&minimal_client()).unwrap();
    snapshot(
        "enriched_minimal_client",
        &enrich(&att, &context("04056600324")),
    );
}

#[test]
fn enriched_shape_follows_vedlegg_b() {
    let claim = enrich(
        &validate(&client_example()).unwrap(),
        &context("04056600324"),
    );
    assert_eq!(claim["type"], "nhn:tillitsrammeverk:parameters");
    assert_eq!(claim["attestation"], json!({"toa": 1_700_121_037}));
    assert_eq!(
        claim["practitioner"]["identifier"],
        json!({"id": "04056600324", "name": "Magnar Koman", "system": SYSTEM_FNR, "authority": SKATTEETATEN})
    );
    assert_eq!(
        claim["practitioner"]["hpr_nr"],
        json!({"id": "9144900", "system": SYSTEM_HPR, "authority": HELSEDIREKTORATET})
    );
    assert_eq!(
        claim["practitioner"]["authorization"],
        json!({"code": "LE", "text": "Lege", "system": SYSTEM_9060, "assigner": HELSEDIREKTORATET})
    );
    assert_eq!(
        claim["practitioner"]["department"],
        json!({"id": "705592", "name": "Anestesiologi Seksjon RH", "system": SYSTEM_RESH, "authority": NHN})
    );
    assert_eq!(
        claim["care_relationship"]["purpose_of_use"],
        json!({"code": "TREAT", "text": "treatment", "system": SYSTEM_PURPOSE_OF_USE, "assigner": HL7})
    );
    assert_eq!(
        claim["care_relationship"]["purpose_of_use_details"]["assigner"],
        HL7_NORWAY
    );
    // Patients' names are not looked up.
    assert_eq!(
        claim["patients"][0]["identifier"],
        json!({"id": "05076600324", "system": SYSTEM_FNR, "authority": SKATTEETATEN})
    );
    assert!(claim.get("care_relation").is_none());
}

#[test]
fn d_number_practitioner_gets_the_d_number_system() {
    let att = validate(&client_example()).unwrap();
    for (pid, system) in [
        ("41018012345", SYSTEM_DNR),
        ("71018012345", SYSTEM_DNR),
        ("31018012345", SYSTEM_FNR),
        ("01018012345", SYSTEM_FNR),
    ] {
        let claim = enrich(&att, &context(pid));
        assert_eq!(
            claim["practitioner"]["identifier"]["system"], system,
            "{pid}"
        );
        assert_eq!(claim["practitioner"]["identifier"]["id"], pid);
    }
}

/// What the client says about names, texts, authorities, the practitioner's identity and the
/// time is not carried over: the STS fills them (module documentation).
#[test]
fn client_sent_names_and_texts_are_not_trusted() {
    let mut entry = client_example();
    for pointer in [
        "/practitioner/legal_entity",
        "/practitioner/point_of_care",
        "/practitioner/department",
        "/patients/0/identifier",
        "/patients/0/point_of_care",
        "/patients/0/department",
    ] {
        entry = with(entry, &format!("{pointer}/name"), json!("EVIL name"));
        entry = with(
            entry,
            &format!("{pointer}/authority"),
            json!("https://evil.example"),
        );
    }
    for pointer in [
        "/practitioner/authorization",
        "/care_relationship/healthcare_service",
        "/care_relationship/purpose_of_use",
        "/care_relationship/purpose_of_use_details",
    ] {
        entry = with(entry, &format!("{pointer}/text"), json!("EVIL text"));
        entry = with(
            entry,
            &format!("{pointer}/assigner"),
            json!("https://evil.example"),
        );
    }
    entry = with(
        entry,
        "/practitioner/identifier",
        json!({"id": "13116900216", "name": "EVIL impostor", "system": SYSTEM_FNR}),
    );
    entry = with(
        entry,
        "/practitioner/hpr_nr",
        json!({"id": "666", "system": SYSTEM_HPR}),
    );
    entry = with(entry, "/attestation", json!({"toa": 1}));

    let claim = enrich(&validate(&entry).unwrap(), &context("04056600324"));
    let text = claim.to_string();
    for planted in ["EVIL", "evil.example", "13116900216", "\"666\""] {
        assert!(!text.contains(planted), "{planted} leaked: {text}");
    }
    assert_eq!(
        claim,
        enrich(
            &validate(&client_example()).unwrap(),
            &context("04056600324")
        )
    );
    assert_eq!(
        claim["practitioner"]["legal_entity"]["name"],
        "Testlegekontoret AS"
    );
    assert_eq!(claim["practitioner"]["authorization"]["text"], "Lege");
    assert_eq!(claim["attestation"]["toa"], 1_700_121_037);
}

#[test]
fn unknowns_are_left_out_of_the_claim() {
    // Organisations the lookup does not know, codes without a known text, no HPR number,
    // no user.
    let entry = with(
        with(
            client_example(),
            "/practitioner/legal_entity/id",
            json!("999977774"),
        ),
        "/care_relationship/healthcare_service/code",
        json!("S99"),
    );
    let att = validate(&entry).unwrap();
    let ctx = EnrichContext {
        practitioner_pid: "",
        practitioner_name: "",
        hpr_number: None,
        org_name: &|_| None,
        time_of_attestation: 0,
    };
    let claim = enrich(&att, &ctx);
    let practitioner = claim["practitioner"].as_object().unwrap();
    assert!(!practitioner.contains_key("identifier"));
    assert!(!practitioner.contains_key("hpr_nr"));
    assert_eq!(
        claim["practitioner"]["legal_entity"],
        json!({"id": "999977774", "system": SYSTEM_ENH, "authority": BRREG})
    );
    assert_eq!(
        claim["care_relationship"]["healthcare_service"],
        json!({"code": "S99", "system": SYSTEM_8655, "assigner": HELSEDIREKTORATET})
    );
    assert!(format!("{ctx:?}").starts_with("EnrichContext"));
}

#[test]
fn code_tables_are_consistent() {
    let mut seen = std::collections::HashSet::new();
    for (system, code, text) in HEALTHCARE_SERVICES.iter().chain(PURPOSE_OF_USE_DETAILS) {
        assert!(
            HEALTHCARE_SERVICE_SYSTEMS.contains(system)
                || PURPOSE_OF_USE_DETAILS_SYSTEMS.contains(system),
            "{system}"
        );
        assert!(is_code(code), "{code}");
        assert!(!text.is_empty());
        assert!(seen.insert((*system, *code)), "{system} {code} twice");
        assert_eq!(codes::text(system, code), Some(*text));
        assert!(codes::assigner(system).is_some());
    }
    for (code, _) in PROFESSIONS.iter().chain(PURPOSES_OF_USE) {
        assert!(is_code(code) && seen.insert(("", *code)), "{code}");
    }
    assert_eq!(codes::profession("XX"), None);
    assert_eq!(codes::text(SYSTEM_9060, "SP"), Some("Sykepleier"));
    assert_eq!(codes::text(SYSTEM_8451, "S03"), None);
}

mod arbitrary_input {
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    use super::{client_example, context, minimal_client};
    use crate::tillitsrammeverk::{enrich, validate};

    /// Any JSON, biased towards the keys and values an attestation has.
    fn json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("type".to_owned()),
            Just("practitioner".to_owned()),
            Just("care_relationship".to_owned()),
            Just("patients".to_owned()),
            Just("authorization".to_owned()),
            Just("code".to_owned()),
            Just("system".to_owned()),
            Just("id".to_owned()),
            "[a-z_]{1,12}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            Just(Value::from("nhn:tillitsrammeverk:parameters")),
            Just(Value::from("urn:oid:2.16.578.1.12.4.1.4.101")),
            Just(Value::from("994598759")),
            "\\PC{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// Every JSON pointer inside a value.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = format!("{at}/{k}");
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    let p = format!("{at}/{i}");
                    out.push(p.clone());
                    pointers(child, p, out);
                }
            }
            _ => {}
        }
    }

    fn check(entry: &Value) {
        if let Ok(att) = validate(entry) {
            let claim = enrich(&att, &context("04056600324"));
            assert!(claim.is_object());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(v in json()) {
            check(&v);
        }

        /// Replaces one element of a valid attestation with arbitrary JSON, so the
        /// checks deep inside are reached.
        #[test]
        fn mutated_attestations_never_panic(which in any::<prop::sample::Index>(), minimal in any::<bool>(), v in json()) {
            let mut entry = if minimal { minimal_client() } else { client_example() };
            let mut all = Vec::new();
            pointers(&entry, String::new(), &mut all);
            let target = which.get(&all).clone();
            if let Some(slot) = entry.pointer_mut(&target) {
                *slot = v;
            }
            check(&entry);
        }
    }
}
