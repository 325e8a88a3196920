//! Norwegian person identity numbers: fødselsnummer, D-number, H-number and FH-number.
//!
//! Rules (see `shared/reference/synthpop.md` §1): 11 digits `DDMMYY III K1 K2`; `III` is the
//! individual number whose range gives the century and whose last digit gives the sex
//! (odd = male); `K1`/`K2` are mod-11 check digits with weights [`W1`] and [`W2`]. A D-number
//! adds 4 to the first digit (day + 40), an H-number adds 40 to the month, an FH-number is a
//! meaningless 9-digit base from 800000000–999999999 with the same check digits. Synthetic
//! populations add an offset to the month so they never collide with real people: +80
//! (Skatteetaten's Test-Norge/Tenor, the living half of NHN SyntPop), +65 (SyntPop's
//! user-owned "reserved" persons) and +40 (NAV Dolly, which reads like an H-number).
//! From 2032 Folkeregisteret also issues numbers whose K1 leaves remainder 1–3 (the "2032
//! rule"); those carry neither sex nor century.
//!
//! [`validate`] reads any number and says what it is or exactly why it is not valid;
//! [`NinTemplate`] builds numbers for generated persons.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::date::{self, Date};

/// Weights of check digit 1 over digits 1–9.
pub const W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
/// Weights of check digit 2 over digits 1–10 (including K1).
pub const W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// Sex as the classic individual number encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    /// Parity of the third digit of the individual number: 0 female, 1 male.
    fn parity(self) -> u16 {
        match self {
            Sex::Female => 0,
            Sex::Male => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// What kind of identity number a reading found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NinKind {
    /// Fødselsnummer (OID 2.16.578.1.12.4.1.4.1).
    Fodselsnummer,
    /// D-nummer, day + 40 (OID 2.16.578.1.12.4.1.4.2).
    DNumber,
    /// Hjelpenummer, month + 40, local to one health institution (HIS 1001:2010).
    HNumber,
    /// Felles hjelpenummer, administered by NHN (OID 2.16.578.1.12.4.1.4.3).
    FhNumber,
}

impl NinKind {
    pub fn label(self) -> &'static str {
        match self {
            NinKind::Fodselsnummer => "fødselsnummer",
            NinKind::DNumber => "D-number",
            NinKind::HNumber => "H-number",
            NinKind::FhNumber => "FH-number",
        }
    }
}

/// Which population a number belongs to, read from the month offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// No synthetic marker: a real person's number (or an H/FH-number).
    Real,
    /// Month + 80: Skatteetaten's Test-Norge / Tenor, copied into SyntPop.
    TestNorge,
    /// Month + 65: NHN SyntPop's user-owned reserved persons.
    #[serde(rename = "syntpop-reserved")]
    SyntPopReserved,
    /// Month + 40: NAV Dolly's synthetic numbers.
    NavDolly,
}

impl World {
    /// What the world adds to the month.
    pub fn month_offset(self) -> u8 {
        match self {
            World::Real => 0,
            World::TestNorge => 80,
            World::SyntPopReserved => 65,
            World::NavDolly => 40,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            World::Real => "no synthetic marker (real)",
            World::TestNorge => "Test-Norge/Tenor synthetic (month + 80)",
            World::SyntPopReserved => "SyntPop reserved synthetic (month + 65)",
            World::NavDolly => "NAV Dolly synthetic (month + 40)",
        }
    }

    pub fn is_synthetic(self) -> bool {
        self != World::Real
    }
}

/// Which check-digit rule a number satisfies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckRule {
    /// The rule in force since 1964: both remainders 0; sex and century are readable.
    Classic,
    /// The rule for numbers issued from 2032: K1 remainder 0–3; sex and century are not.
    Rule2032,
}

/// The birth date a number carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "precision")]
pub enum Birth {
    /// Century known: a full date.
    Date { date: Date },
    /// A 2032-rule number: day, month and two-digit year only.
    CenturyUnknown { day: u8, month: u8, yy: u8 },
}

/// One way of reading a number: its kind and its synthetic world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub kind: NinKind,
    pub world: World,
}

/// What a valid number says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NinFacts {
    pub number: Nin,
    pub kind: NinKind,
    pub world: World,
    /// A second, equally valid reading: month + 40 is both an H-number and a NAV Dolly number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<Reading>,
    pub rule: CheckRule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth: Option<Birth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
}

/// Why a number is not a valid identity number. `Display` says exactly what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NinError {
    #[error("11 digits expected, got {got}")]
    WrongLength { got: usize },
    #[error("character {position} is {found:?}, only digits 0-9 are allowed")]
    NotADigit { position: usize, found: char },
    #[error(
        "day digits {digits:02} are neither a day (01-31) nor a D-number day (41-71), and the first digit is not 8 or 9 (FH-number)"
    )]
    BadDay { digits: u8 },
    #[error(
        "month digits {digits:02} are neither a month (01-12) nor a month with a known offset (+40 H-number/NAV Dolly 41-52, +65 SyntPop 66-77, +80 Test-Norge 81-92)"
    )]
    BadMonth { digits: u8 },
    #[error("check digit 1 is {found}, expected {expected}{also}", also = also_2032(allowed_2032))]
    CheckDigit1 {
        found: u8,
        expected: u8,
        allowed_2032: Vec<u8>,
    },
    #[error(
        "check digit 1 is {found}, but no number is issued with these first nine digits (their check digit would be 10){also}",
        also = also_2032(allowed_2032)
    )]
    CheckDigit1Unusable { found: u8, allowed_2032: Vec<u8> },
    #[error("check digit 2 is {found}, expected {expected}")]
    CheckDigit2 { found: u8, expected: u8 },
    #[error(
        "check digit 2 is {found}, but no number is issued with these first ten digits (their check digit would be 10)"
    )]
    CheckDigit2Unusable { found: u8 },
    #[error("day {day} does not exist in {month_name} {year}", month_name = Date::month_name(*month))]
    NoSuchDay { day: u8, month: u8, year: i32 },
    #[error("day {day} does not exist in {month_name} of any year ending in {yy:02}", month_name = Date::month_name(*month))]
    NoSuchDayAnyCentury { day: u8, month: u8, yy: u8 },
    #[error(
        "individual number {individual:03} is not issued to anyone born in a year ending in {yy:02} (000-499: 1900-1999; 500-749: 1854-1899; 500-999: 2000-2039; 900-999: 1940-1999)"
    )]
    NoCentury { individual: u16, yy: u8 },
    #[error("an FH-number begins with 8 or 9")]
    NotFh,
}

fn also_2032(allowed: &[u8]) -> String {
    match allowed {
        [] => String::new(),
        [one] => format!(" (the 2032 rule would also allow {one})"),
        more => {
            let list: Vec<String> = more.iter().map(u8::to_string).collect();
            format!(" (the 2032 rule would also allow {})", list.join(" or "))
        }
    }
}

/// An 11-digit identity number known to be made of digits. Cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nin([u8; 11]);

impl Nin {
    /// The digits 0–9 of the number.
    pub fn digits(&self) -> [u8; 11] {
        self.0.map(|c| c - b'0')
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Parses the shape only (11 ASCII digits); use [`validate`] for the rules.
    pub fn parse_digits(s: &str) -> Result<Nin, NinError> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() != 11 {
            return Err(NinError::WrongLength { got: chars.len() });
        }
        let mut out = [0u8; 11];
        for (i, c) in chars.iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(NinError::NotADigit {
                    position: i + 1,
                    found: *c,
                });
            }
            out[i] = *c as u8;
        }
        Ok(Nin(out))
    }

    fn from_digits(d: [u8; 11]) -> Nin {
        Nin(d.map(|v| v + b'0'))
    }
}

impl fmt::Display for Nin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Nin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nin({})", self.as_str())
    }
}

impl Serialize for Nin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn weighted_sum(digits: &[u8], weights: &[u32]) -> u32 {
    digits
        .iter()
        .zip(weights)
        .map(|(d, w)| u32::from(*d) * w)
        .sum()
}

/// The classic check digit for the digits before it (9 for K1 with [`W1`], 10 for K2 with
/// [`W2`]), or `None` when it would be 10, which means no number is issued with them.
pub fn check_digit(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let k = (11 - weighted_sum(digits, weights) % 11) % 11;
    (k < 10).then_some(k as u8)
}

/// Both check digits for nine leading digits under the classic rule, if they exist.
pub fn check_digits(first_nine: &[u8; 9]) -> Option<(u8, u8)> {
    let k1 = check_digit(first_nine, &W1)?;
    let mut ten = [0u8; 10];
    ten[..9].copy_from_slice(first_nine);
    ten[9] = k1;
    let k2 = check_digit(&ten, &W2)?;
    Some((k1, k2))
}

/// The individual-number ranges issued to people born in `year` (folkeregisterforskriften).
pub fn individual_number_series(year: i32) -> &'static [(u16, u16)] {
    match year {
        1854..=1899 => &[(500, 749)],
        1900..=1939 => &[(0, 499)],
        1940..=1999 => &[(0, 499), (900, 999)],
        2000..=2039 => &[(500, 999)],
        _ => &[],
    }
}

/// The century of a classic number, from its individual number and two-digit year.
fn century(individual: u16, yy: u8) -> Option<i32> {
    let yy = i32::from(yy);
    match individual {
        0..=499 => Some(1900 + yy),
        500..=749 if yy >= 54 => Some(1800 + yy),
        500..=999 if yy < 40 => Some(2000 + yy),
        900..=999 if yy >= 40 => Some(1900 + yy),
        _ => None,
    }
}

/// Reads an identity number and says what it is, or exactly why it is not valid.
///
/// Steps: shape (11 digits), FH-number by its first digit, the day and month codes with
/// their offsets, the check digits (classic, else the 2032 rule), then the birth date and
/// century. Future birth dates are not refused: that would need a clock, and synthetic
/// worlds hold people born up to 2039 by the century table.
pub fn validate(input: &str) -> Result<NinFacts, NinError> {
    let nin = Nin::parse_digits(input.trim())?;
    let d = nin.digits();

    // FH-numbers: first digit 8 or 9, no date inside.
    if d[0] >= 8 {
        let first_nine: [u8; 9] = first_nine(&d);
        check_classic(&first_nine, d[9], d[10])?;
        return Ok(NinFacts {
            number: nin,
            kind: NinKind::FhNumber,
            world: World::Real,
            alternative: None,
            rule: CheckRule::Classic,
            birth: None,
            sex: None,
        });
    }

    let day_digits = d[0] * 10 + d[1];
    let month_digits = d[2] * 10 + d[3];
    let (day, is_d) = match day_digits {
        1..=31 => (day_digits, false),
        41..=71 => (day_digits - 40, true),
        _ => return Err(NinError::BadDay { digits: day_digits }),
    };
    let (month, world, h_reading) = match month_digits {
        1..=12 => (month_digits, World::Real, false),
        41..=52 => (month_digits - 40, World::NavDolly, !is_d),
        66..=77 => (month_digits - 65, World::SyntPopReserved, false),
        81..=92 => (month_digits - 80, World::TestNorge, false),
        _ => {
            return Err(NinError::BadMonth {
                digits: month_digits,
            });
        }
    };

    let rule = check_any_rule(&d)?;

    let yy = d[4] * 10 + d[5];
    let individual = u16::from(d[6]) * 100 + u16::from(d[7]) * 10 + u16::from(d[8]);
    let (birth, sex) = match rule {
        CheckRule::Classic => {
            let year = century(individual, yy).ok_or(NinError::NoCentury { individual, yy })?;
            let date =
                Date::new(year, month, day).ok_or(NinError::NoSuchDay { day, month, year })?;
            let sex = if d[8] % 2 == 1 {
                Sex::Male
            } else {
                Sex::Female
            };
            (Birth::Date { date }, Some(sex))
        }
        CheckRule::Rule2032 => {
            let fits = |century: i32| day <= date::days_in_month(century + i32::from(yy), month);
            if !fits(1900) && !fits(2000) {
                return Err(NinError::NoSuchDayAnyCentury { day, month, yy });
            }
            (Birth::CenturyUnknown { day, month, yy }, None)
        }
    };

    let kind_of_fnr = if is_d {
        NinKind::DNumber
    } else {
        NinKind::Fodselsnummer
    };
    // Month + 40 without a D-number offset is the health sector's H-number and also NAV
    // Dolly's synthetic fødselsnummer; this crate serves the health sector, so H comes first.
    let (kind, world, alternative) = if h_reading {
        (
            NinKind::HNumber,
            World::Real,
            Some(Reading {
                kind: NinKind::Fodselsnummer,
                world: World::NavDolly,
            }),
        )
    } else {
        (kind_of_fnr, world, None)
    };
    Ok(NinFacts {
        number: nin,
        kind,
        world,
        alternative,
        rule,
        birth: Some(birth),
        sex,
    })
}

fn first_nine(d: &[u8; 11]) -> [u8; 9] {
    let mut out = [0u8; 9];
    out.copy_from_slice(&d[..9]);
    out
}

/// Classic rule only (FH-numbers).
fn check_classic(first_nine: &[u8; 9], k1: u8, k2: u8) -> Result<(), NinError> {
    match check_digit(first_nine, &W1) {
        Some(expected) if expected == k1 => {}
        Some(expected) => {
            return Err(NinError::CheckDigit1 {
                found: k1,
                expected,
                allowed_2032: Vec::new(),
            });
        }
        None => {
            return Err(NinError::CheckDigit1Unusable {
                found: k1,
                allowed_2032: Vec::new(),
            });
        }
    }
    check_k2(first_nine, k1, k2)
}

fn check_k2(first_nine: &[u8; 9], k1: u8, k2: u8) -> Result<(), NinError> {
    let mut ten = [0u8; 10];
    ten[..9].copy_from_slice(first_nine);
    ten[9] = k1;
    match check_digit(&ten, &W2) {
        Some(expected) if expected == k2 => Ok(()),
        Some(expected) => Err(NinError::CheckDigit2 {
            found: k2,
            expected,
        }),
        None => Err(NinError::CheckDigit2Unusable { found: k2 }),
    }
}

/// Classic rule, else the 2032 rule (K1 remainder 1–3; K2 unchanged).
fn check_any_rule(d: &[u8; 11]) -> Result<CheckRule, NinError> {
    let nine = first_nine(d);
    let sum1 = weighted_sum(&nine, &W1);
    let k1 = d[9];
    let remainder = (sum1 + u32::from(k1)) % 11;
    // The K1 values the 2032 rule accepts besides the classic one, for the error message.
    let allowed_2032: Vec<u8> = (0u8..=9)
        .filter(|k| matches!((sum1 + u32::from(*k)) % 11, 1..=3))
        .collect();
    let rule = match remainder {
        0 => CheckRule::Classic,
        1..=3 => CheckRule::Rule2032,
        _ => {
            return Err(match check_digit(&nine, &W1) {
                Some(expected) => NinError::CheckDigit1 {
                    found: k1,
                    expected,
                    allowed_2032,
                },
                None => NinError::CheckDigit1Unusable {
                    found: k1,
                    allowed_2032,
                },
            });
        }
    };
    check_k2(&nine, k1, d[10])?;
    Ok(rule)
}

/// Why a template cannot produce a number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    #[error("no individual numbers are issued for people born in {0} (1854-2039 only)")]
    YearOutOfRange(i32),
    #[error("an H-number carries no synthetic month offset; use World::Real")]
    HNumberWithWorld,
    #[error("an FH-number has no birth date; use fh_number()")]
    FhHasNoDate,
}

/// The fixed part of a date-based identity number: who it is for and how it is marked.
/// The individual number is chosen by [`NinTemplate::nth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NinTemplate {
    first_six: [u8; 6],
    series: &'static [(u16, u16)],
    parity: u16,
}

impl NinTemplate {
    /// A template for a person born on `date` with `sex`, as a number of `kind`
    /// (fødselsnummer, D-number or H-number) in `world`.
    pub fn new(date: Date, sex: Sex, kind: NinKind, world: World) -> Result<Self, TemplateError> {
        let series = individual_number_series(date.year());
        if series.is_empty() {
            return Err(TemplateError::YearOutOfRange(date.year()));
        }
        let day = date.day()
            + match kind {
                NinKind::DNumber => 40,
                _ => 0,
            };
        let month = date.month()
            + match kind {
                NinKind::HNumber if world != World::Real => {
                    return Err(TemplateError::HNumberWithWorld);
                }
                NinKind::HNumber => 40,
                NinKind::FhNumber => return Err(TemplateError::FhHasNoDate),
                _ => world.month_offset(),
            };
        let yy = (date.year().rem_euclid(100)) as u8;
        Ok(NinTemplate {
            first_six: [day / 10, day % 10, month / 10, month % 10, yy / 10, yy % 10],
            series,
            parity: sex.parity(),
        })
    }

    /// The `n`-th (0-based, ascending) individual number of the right century and sex
    /// whose check digits exist, made into a full number; `None` past the last one.
    pub fn nth(&self, n: usize) -> Option<Nin> {
        // This runs for every generated person, so it works a decade of individual numbers
        // at a time on residues mod 11 (small sums, reduced by table) instead of building
        // each candidate number.
        const MOD11: [u8; 64] = {
            let mut t = [0u8; 64];
            let mut i = 0;
            while i < 64 {
                t[i] = (i % 11) as u8;
                i += 1;
            }
            t
        };
        let (s1, s2) = self.prefix_sums();
        let mut left = n;
        for &(lo, hi) in self.series {
            for decade in lo / 10..=hi / 10 {
                let (a, b) = (u32::from(decade / 10), u32::from(decade % 10));
                let base1 = (s1 + 4 * a + 5 * b) % 11;
                let base2 = (s2 + 5 * a + 4 * b) % 11;
                for c in (self.parity..10).step_by(2) {
                    let individual = decade * 10 + c;
                    if individual < lo || individual > hi {
                        continue;
                    }
                    let c = u32::from(c);
                    // K = (11 - sum mod 11) mod 11; K is 10 exactly when sum mod 11 is 1.
                    let r1 = MOD11[(base1 + 2 * c) as usize];
                    if r1 == 1 {
                        continue;
                    }
                    let k1 = u32::from((11 - r1) % 11);
                    if MOD11[(base2 + 3 * c + 2 * k1) as usize] == 1 {
                        continue;
                    }
                    if left == 0 {
                        return self.with_individual(individual);
                    }
                    left -= 1;
                }
            }
        }
        None
    }

    /// The individual number at position `k` of this template's sequence (the series for
    /// its century, only the sex's parity, ascending), whether or not its check digits exist.
    fn position(&self, k: usize) -> Option<u16> {
        let mut k = k;
        for &(lo, hi) in self.series {
            let first = lo + u16::from(lo % 2 != self.parity);
            let len = if first > hi {
                0
            } else {
                usize::from((hi - first) / 2 + 1)
            };
            if k < len {
                return Some(first + 2 * k as u16);
            }
            k -= len;
        }
        None
    }

    /// The position of an individual number in this template's sequence.
    fn position_of(&self, individual: u16) -> Option<usize> {
        if individual % 2 != self.parity {
            return None;
        }
        let mut before = 0usize;
        for &(lo, hi) in self.series {
            let first = lo + u16::from(lo % 2 != self.parity);
            if (first..=hi).contains(&individual) {
                return Some(before + usize::from((individual - first) / 2));
            }
            if first <= hi {
                before += usize::from((hi - first) / 2 + 1);
            }
        }
        None
    }

    /// Do both check digits exist with this individual number?
    fn usable(&self, individual: u16, sums: (u32, u32)) -> bool {
        let (a, b, c) = (
            u32::from(individual / 100),
            u32::from(individual / 10 % 10),
            u32::from(individual % 10),
        );
        let r1 = (sums.0 + 4 * a + 5 * b + 2 * c) % 11;
        if r1 == 1 {
            return false;
        }
        let k1 = (11 - r1) % 11;
        (sums.1 + 5 * a + 4 * b + 3 * c + 2 * k1) % 11 != 1
    }

    /// An injective map from `slot` in `0..width` to this template's valid numbers that
    /// costs O(1) for most slots: position `slot` if its check digits exist, otherwise
    /// the j-th valid position past `width`, where j counts the unusable positions before
    /// `slot`. Defined for every slot when the template has at least `width` valid
    /// numbers (then the positions past `width` hold at least as many valid numbers as
    /// there are unusable ones below it).
    pub fn slot(&self, slot: usize, width: usize) -> Option<Nin> {
        if slot >= width {
            return None;
        }
        let sums = self.prefix_sums();
        let individual = self.position(slot)?;
        if self.usable(individual, sums) {
            return self.with_individual(individual);
        }
        let j = (0..slot)
            .filter_map(|k| self.position(k))
            .filter(|i| !self.usable(*i, sums))
            .count();
        (width..)
            .map_while(|k| self.position(k))
            .filter(|i| self.usable(*i, sums))
            .nth(j)
            .and_then(|i| self.with_individual(i))
    }

    /// The inverse of [`NinTemplate::slot`].
    pub fn slot_of(&self, nin: Nin, width: usize) -> Option<usize> {
        let d = nin.digits();
        if d[..6] != self.first_six {
            return None;
        }
        let individual = u16::from(d[6]) * 100 + u16::from(d[7]) * 10 + u16::from(d[8]);
        if self.with_individual(individual) != Some(nin) {
            return None;
        }
        let sums = self.prefix_sums();
        let k = self.position_of(individual)?;
        if k < width {
            return Some(k);
        }
        let j = (width..k)
            .filter_map(|p| self.position(p))
            .filter(|i| self.usable(*i, sums))
            .count();
        (0..width)
            .filter(|p| self.position(*p).is_some_and(|i| !self.usable(i, sums)))
            .nth(j)
    }

    /// The position of `nin` among [`NinTemplate::nth`]'s numbers, if it is one of them.
    pub fn rank_of(&self, nin: Nin) -> Option<usize> {
        let d = nin.digits();
        if d[..6] != self.first_six {
            return None;
        }
        let individual = u16::from(d[6]) * 100 + u16::from(d[7]) * 10 + u16::from(d[8]);
        let rank = self
            .candidates()
            .take_while(|c| c.digits()[6..9] != d[6..9])
            .count();
        (self.with_individual(individual) == Some(nin)).then_some(rank)
    }

    /// Weighted sums of the first six digits under W1 and W2.
    fn prefix_sums(&self) -> (u32, u32) {
        self.first_six
            .iter()
            .zip(W1.iter().zip(W2.iter()))
            .fold((0, 0), |(s1, s2), (d, (w1, w2))| {
                (s1 + u32::from(*d) * w1, s2 + u32::from(*d) * w2)
            })
    }

    /// How many valid numbers this template can give.
    pub fn count(&self) -> usize {
        self.candidates().count()
    }

    fn candidates(&self) -> impl Iterator<Item = Nin> + '_ {
        let parity = self.parity;
        self.series
            .iter()
            .flat_map(move |&(lo, hi)| (lo..=hi).filter(move |i| i % 2 == parity))
            .filter_map(move |individual| self.with_individual(individual))
    }

    /// The full number with this individual number, if its check digits exist.
    pub fn with_individual(&self, individual: u16) -> Option<Nin> {
        let mut nine = [0u8; 9];
        nine[..6].copy_from_slice(&self.first_six);
        nine[6] = (individual / 100) as u8;
        nine[7] = (individual / 10 % 10) as u8;
        nine[8] = (individual % 10) as u8;
        let (k1, k2) = check_digits(&nine)?;
        let mut all = [0u8; 11];
        all[..9].copy_from_slice(&nine);
        all[9] = k1;
        all[10] = k2;
        Some(Nin::from_digits(all))
    }
}

/// The FH-number (felles hjelpenummer) built on a 9-digit base in 800000000–999999999, if
/// its check digits exist.
pub fn fh_number(base: u32) -> Option<Nin> {
    if !(800_000_000..=999_999_999).contains(&base) {
        return None;
    }
    let mut nine = [0u8; 9];
    let mut rest = base;
    for slot in nine.iter_mut().rev() {
        *slot = (rest % 10) as u8;
        rest /= 10;
    }
    let (k1, k2) = check_digits(&nine)?;
    let mut all = [0u8; 11];
    all[..9].copy_from_slice(&nine);
    all[9] = k1;
    all[10] = k2;
    Some(Nin::from_digits(all))
}

#[cfg(test)]
mod tests;
