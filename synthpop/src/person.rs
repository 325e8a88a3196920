//! A synthetic person as NHN SyntPop shows one: an upper-case "ADJECTIVE NOUN" name, a
//! fødselsnummer or D-number with a synthetic month marker, sex and birth date that agree
//! with the number, a Folkeregister address (or none under strengt fortrolig address
//! protection), family relations, KRR contact data, a fastlege, HPR data for health
//! personnel, and tags.

use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::date::Date;
use crate::household::CivilStatus;
use crate::hpr::Hpr;
use crate::nin::{Nin, NinKind, Sex, World};
use crate::orgnr::OrgNr;

/// Adressebeskyttelse (Folkeregisteret's graderingsnivå).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AddressProtection {
    Ugradert,
    /// Kode 7: the address exists but is withheld from consumers without a need to know.
    Fortrolig,
    /// Kode 6: no address is registered at all.
    StrengtFortrolig,
}

/// A Folkeregister residential address (vegadresse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub street: &'static str,
    pub house_number: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub house_letter: Option<char>,
    /// Bruksenhetsnummer of a flat, e.g. `H0201`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<FlatNumber>,
    pub postcode: &'static str,
    pub post_town: &'static str,
    pub municipality_number: &'static str,
    pub municipality_name: &'static str,
}

impl Address {
    /// "Storgata 12B, H0201, 0150 OSLO".
    pub fn one_line(&self) -> String {
        let mut s = format!("{} {}", self.street, self.house_number);
        if let Some(l) = self.house_letter {
            s.push(l);
        }
        if let Some(u) = self.unit {
            s.push_str(&format!(", {u}"));
        }
        s.push_str(&format!(", {} {}", self.postcode, self.post_town));
        s
    }
}

/// A bruksenhetsnummer: `H`, two digits of floor, two of flat (`H0201`: second floor, flat 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatNumber {
    pub floor: u8,
    pub flat: u8,
}

impl FlatNumber {
    fn bytes(self) -> [u8; 5] {
        let d = |v: u8| b'0' + v % 10;
        [
            b'H',
            d(self.floor / 10),
            d(self.floor),
            d(self.flat / 10),
            d(self.flat),
        ]
    }
}

impl std::fmt::Display for FlatNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.bytes()).unwrap_or_default())
    }
}

impl Serialize for FlatNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(std::str::from_utf8(&self.bytes()).unwrap_or_default())
    }
}

/// Relatives in the same population, by identity number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Relations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mother: Option<Nin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub father: Option<Nin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spouse: Option<Nin>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Nin>,
}

/// KRR status (Kontakt- og reservasjonsregisteret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KrrStatus {
    Aktiv,
    IkkeRegistrert,
}

/// A person's KRR entry, with Digdir's attribute names in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Krr {
    pub status: KrrStatus,
    /// Reserved against digital communication from the public sector (reservasjon JA).
    pub reserved: bool,
    /// KAN_VARSLES when the person can be notified digitally.
    pub can_be_notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    pub language: &'static str,
}

/// The person's fastlege (main doctor of their GP list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneralPractitioner {
    pub list: u64,
    pub hpr_number: u32,
    /// Shared by every patient of the list.
    pub name: Arc<str>,
    pub office: OrgNr,
    pub office_name: Arc<str>,
}

/// One synthetic person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    /// Position in the population (0-based).
    pub index: u64,
    pub pid: Nin,
    pub pid_kind: NinKind,
    pub world: World,
    /// Full name, upper case: "GIVEN [MIDDLE] FAMILY".
    pub name: String,
    pub given_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<&'static str>,
    pub family_name: &'static str,
    pub sex: Sex,
    pub birth_date: Date,
    pub civil_status: CivilStatus,
    pub address_protection: AddressProtection,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub relations: Relations,
    pub krr: Krr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gp: Option<GeneralPractitioner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hpr: Option<Hpr>,
    pub tags: Vec<&'static str>,
}

impl Person {
    /// Age in whole years on `on`.
    pub fn age_on(&self, on: Date) -> i32 {
        self.birth_date.years_until(on)
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

/// Tags SyntPop users filter on, derived from the person (documented in docs/synthpop.md).
pub(crate) fn tags(p: &Person, census: Date) -> Vec<&'static str> {
    let mut t = Vec::with_capacity(6);
    t.push(match p.pid_kind {
        NinKind::DNumber => "dnr",
        _ => "fnr",
    });
    t.push(match p.world {
        World::SyntPopReserved => "syntpop-reservert",
        _ => "test-norge",
    });
    let age = p.age_on(census);
    t.push(if age < 18 {
        "barn"
    } else if age >= 67 {
        "eldre"
    } else {
        "voksen"
    });
    match p.address_protection {
        AddressProtection::Fortrolig => t.push("fortrolig"),
        AddressProtection::StrengtFortrolig => t.push("strengt-fortrolig"),
        AddressProtection::Ugradert => {}
    }
    if p.krr.reserved {
        t.push("krr-reservert");
    }
    if p.krr.status == KrrStatus::IkkeRegistrert {
        t.push("krr-ikke-registrert");
    }
    if p.gp.is_none() {
        t.push("uten-fastlege");
    }
    if !p.relations.children.is_empty() {
        t.push("forelder");
    }
    if let Some(hpr) = &p.hpr {
        t.push("helsepersonell");
        if hpr.gp_list.is_some() {
            t.push("fastlege");
        }
        for code in hpr.approvals.iter().map(|a| a.profession.value) {
            t.push(match code {
                "LE" => "lege",
                "SP" => "sykepleier",
                "TL" => "tannlege",
                "PS" => "psykolog",
                "FT" => "fysioterapeut",
                "JO" => "jordmor",
                "HF" => "helsefagarbeider",
                _ => continue,
            });
        }
        if hpr
            .approvals
            .iter()
            .any(|a| a.valid_to.is_some_and(|to| to < census))
        {
            t.push("utlopt-godkjenning");
        }
    }
    t.dedup();
    t
}

/// A health worker as HPR shows them: the HPR record with the person's identity, and the
/// `hpr_details` claim HelseID would issue for them at the census date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Practitioner<'a> {
    pub hpr_number: u32,
    pub pid: Nin,
    pub name: &'a str,
    pub given_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<&'static str>,
    pub family_name: &'static str,
    pub sex: Sex,
    pub birth_date: Date,
    pub approvals: &'a [crate::hpr::Approval],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gp_list: Option<&'a crate::hpr::GpListRole>,
    pub hpr_details: serde_json::Value,
}

impl Person {
    /// The person as a practitioner, if they are in HPR.
    pub fn practitioner(&self) -> Option<Practitioner<'_>> {
        let hpr = self.hpr.as_ref()?;
        Some(Practitioner {
            hpr_number: hpr.hpr_number,
            pid: self.pid,
            name: &self.name,
            given_name: self.given_name,
            middle_name: self.middle_name,
            family_name: self.family_name,
            sex: self.sex,
            birth_date: self.birth_date,
            approvals: &hpr.approvals,
            gp_list: hpr.gp_list.as_ref(),
            hpr_details: hpr.hpr_details_claim(crate::census_date()),
        })
    }
}
