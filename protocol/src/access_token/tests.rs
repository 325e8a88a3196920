use serde_json::json;

use super::*;

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn authorization_header_gives_scheme_and_token() {
    assert_eq!(
        parse_authorization("DPoP abc.def.ghi"),
        Ok(Credentials {
            scheme: Scheme::DPoP,
            token: "abc.def.ghi"
        })
    );
    assert_eq!(
        parse_authorization(" bearer  abc= ").map(|c| (c.scheme, c.token)),
        Ok((Scheme::Bearer, "abc="))
    );
    assert_eq!(
        parse_authorization("Basic dXNlcjpwYXNz"),
        Err(AuthorizationError::UnsupportedScheme("Basic".into()))
    );
    assert_eq!(
        parse_authorization("DPoP"),
        Err(AuthorizationError::MissingToken(Scheme::DPoP))
    );
    assert_eq!(
        parse_authorization("Bearer a b"),
        Err(AuthorizationError::MalformedToken(Scheme::Bearer))
    );
    assert_eq!(
        parse_authorization("Bearer ==="),
        Err(AuthorizationError::MalformedToken(Scheme::Bearer))
    );
}

#[test]
fn typ_is_at_jwt_or_jwt_as_media_types_compare() {
    let header = |t: Value| claims(json!({ "typ": t }));
    for ok in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "JWT",
        "jwt",
        "application/JWT",
    ] {
        check_typ(&header(json!(ok))).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "dpop+jwt",
        "id_token+jwt",
        "logout+jwt",
        "at+jwt ",
        "text/at+jwt",
        "",
    ] {
        assert_eq!(
            check_typ(&header(json!(bad))),
            Err(ClaimError::Typ(bad.into())),
            "{bad}"
        );
    }
    assert!(matches!(
        check_typ(&header(json!(["at+jwt"]))),
        Err(ClaimError::Typ(_))
    ));
    assert_eq!(check_typ(&Map::new()), Err(ClaimError::MissingTyp));
}

#[test]
fn issuer_is_compared_exactly() {
    let iss = "https://helseid-sts.test.nhn.no";
    check_issuer(&claims(json!({ "iss": iss })), iss).unwrap();
    for other in [
        "https://helseid-sts.test.nhn.no/",
        "https://HELSEID-STS.test.nhn.no",
        "https://evil.example",
    ] {
        assert!(matches!(
            check_issuer(&claims(json!({ "iss": other })), iss),
            Err(ClaimError::Issuer { .. })
        ));
    }
    assert_eq!(
        check_issuer(&Map::new(), iss),
        Err(ClaimError::Missing("iss"))
    );
}

#[test]
fn lifetime_with_leeway() {
    let now = 1_000;
    let c = |v: Value| claims(v);
    assert_eq!(check_expiry(&c(json!({"exp": 1_001})), now, 0), Ok(1_001));
    assert_eq!(
        check_expiry(&c(json!({"exp": 1_000})), now, 0),
        Err(ClaimError::Expired { exp: 1_000, now })
    );
    check_expiry(&c(json!({"exp": 990})), now, 30).unwrap();
    assert!(check_expiry(&c(json!({"exp": 970})), now, 30).is_err());
    assert_eq!(
        check_expiry(&Map::new(), now, 30),
        Err(ClaimError::Missing("exp"))
    );
    assert_eq!(
        check_expiry(&c(json!({"exp": "soon"})), now, 30),
        Err(ClaimError::WrongType("exp"))
    );
    assert!(check_expiry(&c(json!({"exp": i64::MAX})), now, 30).is_ok());

    check_not_before(&c(json!({"nbf": 1_030, "iat": 1_030})), now, 30).unwrap();
    assert_eq!(
        check_not_before(&c(json!({"nbf": 1_031})), now, 30),
        Err(ClaimError::NotYetValid { nbf: 1_031, now })
    );
    assert_eq!(
        check_not_before(&c(json!({"iat": 5_000})), now, 30),
        Err(ClaimError::IssuedInFuture { iat: 5_000, now })
    );
    check_not_before(&Map::new(), now, 30).unwrap();
}

#[test]
fn audience_must_be_present_and_contain_the_api() {
    let aud = "nhn:testbed-api";
    for ok in [json!(aud), json!([aud]), json!([aud, "other"])] {
        check_audience(&claims(json!({ "aud": ok })), aud).unwrap();
    }
    for bad in [
        json!("other"),
        json!([]),
        json!(["other"]),
        json!("NHN:TESTBED-API"),
    ] {
        assert!(matches!(
            check_audience(&claims(json!({ "aud": bad })), aud),
            Err(ClaimError::Audience { .. })
        ));
    }
    assert_eq!(
        check_audience(&claims(json!({ "aud": 7 })), aud),
        Err(ClaimError::WrongType("aud"))
    );
    assert_eq!(
        check_audience(&Map::new(), aud),
        Err(ClaimError::Missing("aud"))
    );
}

#[test]
fn the_sole_audience() {
    let aud = "nhn:testbed-api";
    check_sole_audience(&claims(json!({ "aud": aud })), aud).unwrap();
    check_sole_audience(&claims(json!({ "aud": [aud] })), aud).unwrap();
    assert_eq!(
        check_sole_audience(&claims(json!({ "aud": [aud, "nhn:other"] })), aud),
        Err(ClaimError::SeveralAudiences {
            got: "nhn:testbed-api, nhn:other".into(),
            expected: aud.into()
        })
    );
}

#[test]
fn a_user_is_named_with_a_level() {
    let user = claims(json!({
        claims::PID: "05757041733",
        claims::SECURITY_LEVEL: "4",
    }));
    check_user_identity(&user).unwrap();
    check_user_level(&user).unwrap();
    let hpr = claims(json!({ claims::HPR_NUMBER: 912345678, claims::ASSURANCE_LEVEL: "high" }));
    check_user_identity(&hpr).unwrap();
    check_user_level(&hpr).unwrap();
    // A client-credentials token: no user, no level.
    let machine = claims(json!({ "client_id": "c", "scope": ["a/read"] }));
    assert_eq!(check_user_identity(&machine), Err(ClaimError::NoUser));
    assert_eq!(check_user_level(&machine), Err(ClaimError::NoUserLevel));
    let blank = claims(json!({ claims::PID: " ", claims::SECURITY_LEVEL: "" }));
    assert_eq!(check_user_identity(&blank), Err(ClaimError::NoUser));
    assert_eq!(check_user_level(&blank), Err(ClaimError::NoUserLevel));
}

#[test]
fn scopes_as_array_or_string() {
    let required = vec!["a/read".to_owned(), "a/write".to_owned()];
    let array = claims(json!({"scope": ["a/read", "a/write", "openid"]}));
    assert!(missing_scopes(&array, &required).is_empty());
    let string = claims(json!({"scope": "a/read openid"}));
    assert_eq!(missing_scopes(&string, &required), vec!["a/write"]);
    assert!(has_scope(&string, "openid"));
    assert_eq!(
        missing_scopes(&claims(json!({"scope": 3})), &required),
        vec!["a/read", "a/write"]
    );
}

#[test]
fn cnf_binding() {
    assert_eq!(cnf_jkt(&Map::new()), Ok(None));
    assert_eq!(
        cnf_jkt(&claims(json!({"cnf": {"jkt": "abc"}}))),
        Ok(Some("abc"))
    );
    assert_eq!(
        cnf_jkt(&claims(json!({"cnf": {"x5t#S256": "abc"}}))),
        Err(ClaimError::Cnf)
    );
    assert_eq!(
        cnf_jkt(&claims(json!({"cnf": "abc"}))),
        Err(ClaimError::Cnf)
    );
}

#[test]
fn security_level_string_or_number() {
    let level = |v: Value| security_level(&claims(json!({ claims::SECURITY_LEVEL: v })));
    assert_eq!(level(json!("4")), Some(Ok(4)));
    assert_eq!(level(json!(3)), Some(Ok(3)));
    assert!(matches!(level(json!("high")), Some(Err(_))));
    assert!(matches!(level(json!(9)), Some(Err(_))));
    assert_eq!(security_level(&Map::new()), None);
}

#[test]
fn organisation_prefers_the_child() {
    let both = claims(json!({
        claims::ORGNR_PARENT: "999977774",
        claims::ORGNR_CHILD: "999977776",
        claims::ORGNR_SUPPLIER: "313745392",
    }));
    assert_eq!(organisation(&both), Some("999977776"));
    let parent = claims(json!({ claims::ORGNR_PARENT: "999977774" }));
    assert_eq!(organisation(&parent), Some("999977774"));
    assert_eq!(organisation(&Map::new()), None);
}

fn attestation() -> Value {
    json!({
        "type": "nhn:tillitsrammeverk:parameters",
        "practitioner": {
            "identifier": {"id": "05076600324", "name": "X", "system": "urn:oid:2.16.578.1.12.4.1.4.1"},
            "authorization": {"code": "LE", "text": "Lege", "system": "urn:oid:2.16.578.1.12.4.1.1.9060"},
            "legal_entity": {"id": "999977774", "system": "urn:oid:2.16.578.1.12.4.1.4.101"},
            "point_of_care": {"id": "999977776", "system": "urn:oid:2.16.578.1.12.4.1.4.101"}
        },
        "care_relationship": {
            "healthcare_service": {"code": "S03", "system": "urn:oid:2.16.578.1.12.4.1.1.8655"},
            "purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"},
            "decision_ref": {"id": "abc", "user_selected": true}
        },
        "patients": [],
        "attestation": {"toa": 1_700_000_000}
    })
}

#[test]
fn tillitsrammeverk_as_object_string_or_array() {
    let read = |v: Value| tillitsrammeverk(&claims(json!({ claims::TILLITSRAMMEVERK: v })));
    assert!(matches!(read(attestation()), Some(Ok(_))));
    assert!(matches!(
        read(json!(attestation().to_string())),
        Some(Ok(_))
    ));
    assert!(matches!(
        read(json!([{"type": "other"}, attestation()])),
        Some(Ok(_))
    ));
    assert_eq!(
        read(json!("not json")),
        Some(Err(TillitsrammeverkError::NotJson))
    );
    assert_eq!(
        read(json!([{"type": "other"}])),
        Some(Err(TillitsrammeverkError::NoEntry))
    );
    let mut broken = attestation();
    broken["care_relationship"]["purpose_of_use"]["code"] = json!("SNOOP");
    assert!(matches!(
        read(broken),
        Some(Err(TillitsrammeverkError::Attestation(_)))
    ));
    assert_eq!(tillitsrammeverk(&Map::new()), None);
}
