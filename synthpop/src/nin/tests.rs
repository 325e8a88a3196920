use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn known_answers() -> Value {
    serde_json::from_str(include_str!("../../testdata/nin_known_answers.json"))
        .expect("known answers parse")
}

fn kebab<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn known_valid_numbers() {
    let data = known_answers();
    for case in data["valid"].as_array().unwrap() {
        let number = case["number"].as_str().unwrap();
        let from = case["from"].as_str().unwrap();
        let facts = validate(number).unwrap_or_else(|e| panic!("{number} ({from}): {e}"));
        assert_eq!(
            kebab(facts.kind),
            case["kind"].as_str().unwrap(),
            "{number} kind"
        );
        assert_eq!(
            kebab(facts.world),
            case["world"].as_str().unwrap(),
            "{number} world"
        );
        assert_eq!(
            kebab(facts.rule),
            case["rule"].as_str().unwrap(),
            "{number} rule"
        );
        match case.get("alternative").and_then(Value::as_str) {
            Some(world) => assert_eq!(
                facts.alternative.map(|a| kebab(a.world)).as_deref(),
                Some(world)
            ),
            None => assert_eq!(facts.alternative, None, "{number}"),
        }
        match (case.get("birth").and_then(Value::as_str), facts.birth) {
            (Some(expected), Some(Birth::Date { date })) => {
                assert_eq!(date.to_string(), expected, "{number}")
            }
            (None, None) => assert_eq!(facts.kind, NinKind::FhNumber),
            (None, Some(Birth::CenturyUnknown { .. })) => {
                assert_eq!(facts.rule, CheckRule::Rule2032)
            }
            (e, got) => panic!("{number}: birth {e:?} vs {got:?}"),
        }
        assert_eq!(
            facts.sex.map(Sex::as_str),
            case.get("sex").and_then(Value::as_str),
            "{number} sex"
        );
    }
}

#[test]
fn known_invalid_numbers_say_why() {
    let data = known_answers();
    for case in data["invalid"].as_array().unwrap() {
        let number = case["number"].as_str().unwrap();
        let err = validate(number).expect_err(number);
        assert_eq!(err.to_string(), case["error"].as_str().unwrap(), "{number}");
    }
}

/// Completes nine leading digits with classic check digits (test helper).
fn complete(first_nine: &str) -> Option<String> {
    let d: Vec<u8> = first_nine.bytes().map(|b| b - b'0').collect();
    let nine: [u8; 9] = d.try_into().ok()?;
    let (k1, k2) = check_digits(&nine)?;
    Some(format!("{first_nine}{k1}{k2}"))
}

/// First individual number ≥ `from` whose classic check digits exist for `ddmmyy`.
fn complete_any(ddmmyy: &str, from: u16) -> String {
    (from..1000)
        .find_map(|i| complete(&format!("{ddmmyy}{i:03}")))
        .expect("some individual number works")
}

#[test]
fn impossible_dates_are_named() {
    let n = complete_any("310283", 100);
    assert_eq!(
        validate(&n).unwrap_err().to_string(),
        "day 31 does not exist in February 1983"
    );
    let n = complete_any("290283", 100);
    assert_eq!(
        validate(&n).unwrap_err().to_string(),
        "day 29 does not exist in February 1983"
    );
    let n = complete_any("290284", 100);
    assert!(validate(&n).is_ok(), "1984 is a leap year");
    let n = complete_any("310483", 100);
    assert_eq!(
        validate(&n).unwrap_err().to_string(),
        "day 31 does not exist in April 1983"
    );
    // The same under markers: 31 February in Test-Norge and as a D-number.
    let n = complete_any("718283", 100);
    assert_eq!(
        validate(&n).unwrap_err().to_string(),
        "day 31 does not exist in February 1983"
    );
    // Month 00 and 13.
    let n = complete_any("150085", 100);
    assert!(
        validate(&n)
            .unwrap_err()
            .to_string()
            .starts_with("month digits 00")
    );
    let n = complete_any("151385", 100);
    assert!(
        validate(&n)
            .unwrap_err()
            .to_string()
            .starts_with("month digits 13")
    );
}

#[test]
fn individual_number_must_fit_a_century() {
    // 800 with year 85: 750-899 is issued only for 2000-2039 (YY < 40).
    let n = complete_any("150385", 800);
    assert!(n[6..9].parse::<u16>().unwrap() < 900, "{n}");
    assert_eq!(
        validate(&n).unwrap_err().to_string(),
        format!(
            "individual number {} is not issued to anyone born in a year ending in 85 (000-499: 1900-1999; 500-749: 1854-1899; 500-999: 2000-2039; 900-999: 1940-1999)",
            &n[6..9]
        )
    );
    // 950 with year 85 is the 1940-1999 reserve series.
    let n = complete_any("150385", 950);
    let facts = validate(&n).unwrap();
    assert_eq!(
        facts.birth,
        Some(Birth::Date {
            date: Date::new(1985, 3, 15).unwrap()
        })
    );
    // 600 with year 20 is 2020.
    let n = complete_any("150320", 600);
    assert_eq!(
        validate(&n).unwrap().birth,
        Some(Birth::Date {
            date: Date::new(2020, 3, 15).unwrap()
        })
    );
}

#[test]
fn unusable_check_digits_are_explained() {
    // Find nine digits whose K1 would be 10.
    let nine = (0..1000u16)
        .map(|i| format!("150385{i:03}"))
        .find(|s| {
            let d: Vec<u8> = s.bytes().map(|b| b - b'0').collect();
            check_digit(&d, &W1).is_none()
        })
        .unwrap();
    let err = validate(&format!("{nine}50")).unwrap_err();
    assert!(matches!(err, NinError::CheckDigit1Unusable { .. }), "{err}");
    assert!(err.to_string().contains("would be 10"), "{err}");
}

#[test]
fn rule_2032_numbers_carry_no_sex_or_century() {
    let f = validate("15038512371").unwrap();
    assert_eq!(f.rule, CheckRule::Rule2032);
    assert_eq!(f.sex, None);
    assert_eq!(
        f.birth,
        Some(Birth::CenturyUnknown {
            day: 15,
            month: 3,
            yy: 85
        })
    );
    // 29 February in a year ending 00 exists in 2000, so a 2032-rule number may carry it.
    let base = "290200123";
    let d: Vec<u8> = base.bytes().map(|b| b - b'0').collect();
    let sum: u32 = d.iter().zip(W1).map(|(a, w)| u32::from(*a) * w).sum();
    let k1 = (0u8..=9).find(|k| (sum + u32::from(*k)) % 11 == 1);
    if let Some(k1) = k1 {
        let mut ten = d.clone();
        ten.push(k1);
        if let Some(k2) = check_digit(&ten, &W2) {
            let n = format!("{base}{k1}{k2}");
            assert!(validate(&n).is_ok(), "{n}");
        }
    }
}

#[test]
fn templates_refuse_nonsense() {
    let date = Date::new(1985, 3, 15).unwrap();
    assert_eq!(
        NinTemplate::new(date, Sex::Male, NinKind::HNumber, World::TestNorge),
        Err(TemplateError::HNumberWithWorld)
    );
    assert_eq!(
        NinTemplate::new(date, Sex::Male, NinKind::FhNumber, World::Real),
        Err(TemplateError::FhHasNoDate)
    );
    let old = Date::new(1800, 1, 1).unwrap();
    assert_eq!(
        NinTemplate::new(old, Sex::Male, NinKind::Fodselsnummer, World::Real),
        Err(TemplateError::YearOutOfRange(1800))
    );
    assert_eq!(fh_number(799_999_999), None);
}

#[test]
fn template_reproduces_worked_example_b() {
    let date = Date::new(1985, 3, 15).unwrap();
    let t = NinTemplate::new(date, Sex::Male, NinKind::Fodselsnummer, World::Real).unwrap();
    assert_eq!(
        t.with_individual(123).map(|n| n.to_string()).as_deref(),
        Some("15038512363")
    );
    let t = NinTemplate::new(date, Sex::Male, NinKind::HNumber, World::Real).unwrap();
    assert_eq!(
        t.with_individual(123).map(|n| n.to_string()).as_deref(),
        Some("15438512346")
    );
    let t = NinTemplate::new(date, Sex::Male, NinKind::DNumber, World::TestNorge).unwrap();
    assert_eq!(
        t.with_individual(123).map(|n| n.to_string()).as_deref(),
        Some("55838512312")
    );
}

fn arb_date() -> impl Strategy<Value = Date> {
    (1854i32..=2039, 1u8..=12, 1u8..=31)
        .prop_filter_map("date exists", |(y, m, d)| Date::new(y, m, d))
}

fn arb_sex() -> impl Strategy<Value = Sex> {
    prop_oneof![Just(Sex::Female), Just(Sex::Male)]
}

fn arb_kind_world() -> impl Strategy<Value = (NinKind, World)> {
    prop_oneof![
        Just((NinKind::Fodselsnummer, World::Real)),
        Just((NinKind::Fodselsnummer, World::TestNorge)),
        Just((NinKind::Fodselsnummer, World::SyntPopReserved)),
        Just((NinKind::DNumber, World::Real)),
        Just((NinKind::DNumber, World::TestNorge)),
        Just((NinKind::DNumber, World::SyntPopReserved)),
        Just((NinKind::DNumber, World::NavDolly)),
        Just((NinKind::HNumber, World::Real)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every generated number validates and reads back as what was asked for: kind,
    /// marker, birth date and sex round-trip.
    #[test]
    fn generated_numbers_round_trip(date in arb_date(), sex in arb_sex(), (kind, world) in arb_kind_world(), n in 0usize..300) {
        let t = NinTemplate::new(date, sex, kind, world).unwrap();
        let count = t.count();
        prop_assume!(count > 0);
        let nin = t.nth(n % count).unwrap();
        prop_assert_eq!(Some(nin), t.candidates().nth(n % count), "fast nth agrees with the plain walk");
        prop_assert_eq!(t.rank_of(nin), Some(n % count));
        let facts = validate(nin.as_str()).unwrap();
        prop_assert_eq!(facts.kind, kind);
        prop_assert_eq!(facts.world, world);
        prop_assert_eq!(facts.rule, CheckRule::Classic);
        prop_assert_eq!(facts.birth, Some(Birth::Date { date }));
        prop_assert_eq!(facts.sex, Some(sex));
        if kind == NinKind::HNumber {
            prop_assert_eq!(facts.alternative, Some(Reading { kind: NinKind::Fodselsnummer, world: World::NavDolly }));
        }
    }

    /// Every single-digit change of a valid number is refused.
    #[test]
    fn single_digit_changes_are_refused(date in arb_date(), sex in arb_sex(), (kind, world) in arb_kind_world(), n in 0usize..200) {
        let t = NinTemplate::new(date, sex, kind, world).unwrap();
        let count = t.count();
        prop_assume!(count > 0);
        let good = t.nth(n % count).unwrap().to_string();
        for pos in 0..11 {
            for digit in b'0'..=b'9' {
                let mut bytes = good.clone().into_bytes();
                if bytes[pos] == digit { continue; }
                bytes[pos] = digit;
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert!(validate(&changed).is_err(), "{} (from {}) was accepted", changed, good);
            }
        }
    }

    /// `slot` is injective into valid numbers and `slot_of` inverts it.
    #[test]
    fn slots_are_injective_and_invertible(year in 1900i32..=2039, day in 0u16..365, sex in arb_sex(), (kind, world) in arb_kind_world()) {
        let date = Date::from_year_slot(year, day);
        let t = NinTemplate::new(date, sex, kind, world).unwrap();
        let width = 200;
        prop_assume!(t.count() >= width);
        let mut seen = std::collections::HashSet::new();
        for slot in 0..width {
            let nin = t.slot(slot, width).unwrap();
            prop_assert!(validate(nin.as_str()).is_ok());
            prop_assert!(seen.insert(nin), "slot {} repeats {}", slot, nin);
            prop_assert_eq!(t.slot_of(nin, width), Some(slot));
        }
        prop_assert_eq!(t.slot(width, width), None);
    }

    #[test]
    fn fh_numbers_round_trip(base in 800_000_000u32..=999_999_999) {
        if let Some(nin) = fh_number(base) {
            let facts = validate(nin.as_str()).unwrap();
            prop_assert_eq!(facts.kind, NinKind::FhNumber);
            prop_assert_eq!(facts.birth, None);
            prop_assert_eq!(facts.sex, None);
            prop_assert!(nin.as_str().starts_with(&base.to_string()));
        }
    }

    /// Anything that is not 11 digits gets a refusal, never a panic.
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,20}") {
        let _ = validate(&s);
    }
}

#[test]
fn every_single_digit_change_of_the_worked_example_is_refused() {
    let good = "15038512363";
    for pos in 0..11 {
        for digit in b'0'..=b'9' {
            let mut bytes = good.as_bytes().to_vec();
            if bytes[pos] == digit {
                continue;
            }
            bytes[pos] = digit;
            let s = String::from_utf8(bytes).unwrap();
            assert!(validate(&s).is_err(), "{s}");
        }
    }
}
