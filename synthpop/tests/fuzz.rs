//! Fuzz-style property tests of the identity-number readers, run on stable with proptest in
//! the normal suite: fødselsnummer, D-, H- and FH-numbers ([`nin::validate`]), organisation
//! numbers ([`orgnr::validate`]) and the population's look-ups by identity number and HPR
//! number (what the STS, the IdPs and the Test Token Service do with a `pid` or an
//! `hprNumber` someone sent). The properties: nothing panics on any string, each case is
//! quick, and what reads as valid is consistent (it reads the same again, carries correct
//! check digits, and a single changed digit is never valid under the classic rule).
//!
//! Run: `cargo test -p synthpop --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use synthpop::Population;
use synthpop::date::Date;
use synthpop::nin::{self, CheckRule, NinError};
use synthpop::orgnr::{self, OrgNr};

const CASE_BUDGET: Duration = Duration::from_millis(500);

fn cases(n: u32) -> ProptestConfig {
    // A fixed seed, so the suite is the same on every run (CI must not flake); a hunt for
    // new cases sets PROPTEST_RNG_SEED (and PROPTEST_CASES), which the default reads.
    let default = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        default.rng_seed
    } else {
        proptest::test_runner::RngSeed::Fixed(20_261_206)
    };
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        default.cases
    } else {
        n
    };
    ProptestConfig {
        cases,
        rng_seed,
        failure_persistence: None,
        ..default
    }
}

fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < CASE_BUDGET,
        "{what} took {:?}",
        start.elapsed()
    );
    out
}

fn population() -> &'static Population {
    static POPULATION: OnceLock<Population> = OnceLock::new();
    POPULATION.get_or_init(|| Population::new(7, 2_000).unwrap())
}

/// Strings around 11 characters: digits with Unicode digits, spaces, signs and letters mixed
/// in, so every step of the reader is reached.
fn numberish() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        8 => prop::char::range('0', '9'),
        1 => prop::sample::select(vec![
            ' ', '\t', '\n', '\u{a0}', '\u{2003}', '-', '+', '.', 'a', 'Z',
            '０', '٣', '߄', '৫', '¹', '½', '\u{0}', '\u{feff}',
        ]),
        1 => any::<char>(),
    ];
    prop::collection::vec(ch, 0..16).prop_map(|c| c.into_iter().collect())
}

/// Numbers shaped like real ones: a day (or a D-number day), a month with each synthetic
/// offset, two year digits, an individual number, and check digits computed or random.
fn structured_nin() -> impl Strategy<Value = String> {
    (
        prop_oneof![1u8..=31, 41u8..=71, 0u8..=99],
        (
            prop_oneof![1u8..=12, Just(0), 13u8..=99],
            prop::sample::select(vec![0u8, 40, 65, 80]),
        ),
        0u8..=99,
        0u16..=999,
        any::<bool>(),
        (0u8..=9, 0u8..=9),
    )
        .prop_map(|(day, (month, offset), yy, individual, compute, random)| {
            let month = if month <= 12 { month + offset } else { month };
            let nine = format!("{day:02}{month:02}{yy:02}{individual:03}");
            let digits: Vec<u8> = nine.bytes().map(|b| b - b'0').collect();
            let checks = if compute {
                nin::check_digits(&digits.clone().try_into().unwrap())
            } else {
                None
            };
            let (k1, k2) = checks.unwrap_or(random);
            format!("{nine}{k1}{k2}")
        })
}

/// Everything the testbed does with a number someone typed or sent.
fn read_nin_everywhere(s: &str) {
    match nin::validate(s) {
        Ok(facts) => {
            // It is the input, trimmed, and nothing but ASCII digits.
            let trimmed = s.trim();
            assert_eq!(facts.number.as_str(), trimmed);
            assert!(trimmed.len() == 11 && trimmed.bytes().all(|b| b.is_ascii_digit()));
            // It reads the same again.
            assert_eq!(nin::validate(facts.number.as_str()), Ok(facts.clone()));
            let d = facts.number.digits();
            if facts.rule == CheckRule::Classic {
                let nine: [u8; 9] = d[..9].try_into().unwrap();
                assert_eq!(nin::check_digits(&nine), Some((d[9], d[10])), "{s}");
            }
            let _ = serde_json::to_string(&facts).unwrap();
            let _ = format!("{:?} {}", facts.number, facts.number);
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
    let _ = nin::Nin::parse_digits(s);
    let _ = population().by_pid(s);
    if let Ok(n) = s.trim().parse::<u32>() {
        let _ = population().by_hpr(n);
    }
}

fn read_orgnr_everywhere(s: &str) {
    if let Ok(org) = orgnr::validate(s) {
        assert_eq!(org.to_string(), s.trim());
        assert_eq!(OrgNr::from_base(org.base()), Some(org));
    }
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn identity_numbers_read_any_string(s in prop_oneof![any::<String>(), numberish(), "\\PC{0,30}"]) {
        quick("nin", || read_nin_everywhere(&s));
    }

    #[test]
    fn structured_identity_numbers_read_consistently(s in structured_nin(), pad in prop::sample::select(vec!["", " ", "\t", "\n "])) {
        quick("nin", || {
            read_nin_everywhere(&s);
            read_nin_everywhere(&format!("{pad}{s}{pad}"));
        });
    }

    /// A number that is valid under the classic rule is not, with any one digit changed:
    /// both check digits weigh every position with a factor prime to 11.
    #[test]
    fn a_changed_digit_never_passes_the_classic_rule(s in structured_nin(), pos in 0usize..11, delta in 1u8..=9) {
        let Ok(facts) = nin::validate(&s) else { return Ok(()) };
        prop_assume!(facts.rule == CheckRule::Classic);
        let mut bytes = s.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        let verdict = nin::validate(&changed);
        prop_assert!(verdict.as_ref().map_or(true, |f| f.rule != CheckRule::Classic), "{} passes: {:?}", changed, verdict);
    }

    #[test]
    fn organisation_numbers_read_any_string(s in prop_oneof![any::<String>(), numberish(), "[0-9]{9}"]) {
        quick("orgnr", || read_orgnr_everywhere(&s));
    }

    /// Every organisation number with a check digit validates, and no single-digit change of
    /// it does (the weights 3 2 7 6 5 4 3 2 and the check digit's 1 are prime to 11).
    #[test]
    fn organisation_numbers_catch_every_single_digit_change(base in 0u32..=99_999_999, pos in 0usize..9, delta in 1u8..=9) {
        let Some(org) = OrgNr::from_base(base) else { return Ok(()) };
        let s = org.to_string();
        prop_assert_eq!(orgnr::validate(&s), Ok(org));
        let mut bytes = s.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(orgnr::validate(&changed).is_err(), "{}", changed);
    }

    /// FH-numbers for any base, individual-number tables for any year, dates from any parts.
    #[test]
    fn number_arithmetic_is_total(base in any::<u32>(), year in any::<i32>(), month in any::<u8>(), day in any::<u8>()) {
        if let Some(fh) = nin::fh_number(base) {
            let facts = nin::validate(fh.as_str()).unwrap();
            prop_assert_eq!(facts.kind, nin::NinKind::FhNumber);
        }
        let _ = nin::individual_number_series(year);
        if let Some(date) = Date::new(year, month, day)
            && (-1_000_000..=1_000_000).contains(&year)
        {
            prop_assert_eq!(Date::from_days(date.to_days()), date);
        }
    }

    /// HPR numbers of any value find nobody or the person who has that number.
    #[test]
    fn hpr_lookups_are_total(n in prop_oneof![any::<u32>(), 900_000_000u32..1_000_000_000]) {
        if let Some(p) = quick("by_hpr", || population().by_hpr(n)) {
            prop_assert_eq!(p.hpr.as_ref().map(|h| h.hpr_number), Some(n));
        }
    }
}

/// The lookups agree with the population they search: every person is found by their
/// identity number and, if they are health personnel, by their HPR number.
#[test]
fn lookups_find_every_person_of_a_population() {
    let pop = population();
    for p in pop.persons().take(400) {
        let found = quick("by_pid", || pop.by_pid(p.pid.as_str()));
        assert_eq!(found.map(|f| f.index), Some(p.index), "{}", p.pid);
        if let Some(hpr) = &p.hpr {
            assert_eq!(pop.by_hpr(hpr.hpr_number).map(|f| f.index), Some(p.index));
        }
    }
}

#[test]
fn long_and_odd_inputs_are_refused_quickly() {
    let inputs = [
        "1".repeat(1_000_000),
        "٣".repeat(11),
        "０".repeat(11),
        format!("{}{}", " ".repeat(100_000), "15038512363"),
        "\u{0}".repeat(11),
    ];
    for s in inputs.iter().filter(|s| !s.ends_with("15038512363")) {
        quick("long input", || {
            assert!(matches!(
                nin::validate(s),
                Err(NinError::WrongLength { .. } | NinError::NotADigit { .. })
            ));
            read_nin_everywhere(s);
            assert!(orgnr::validate(s).is_err());
        });
    }
    // Surrounding whitespace is allowed, as the reader documents.
    quick("padded", || assert!(nin::validate(&inputs[3]).is_ok()));
}
