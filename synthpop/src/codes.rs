//! Code systems that health-personnel data is coded in (volven.no; see
//! `shared/reference/synthpop.md` §2.8 and `helseid.md` §5.2). Only codes whose meaning is
//! confirmed by a public source are listed.

use serde::Serialize;

/// A coded value as HelseID's `hpr_details` carries it: `{ "value", "description" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coded {
    pub value: &'static str,
    pub description: &'static str,
}

pub const OID_HPR_CATEGORY: &str = "urn:oid:2.16.578.1.12.4.1.1.9060";
pub const OID_AUTHORIZATION: &str = "urn:oid:2.16.578.1.12.4.1.1.7704";
pub const OID_SPECIALITY: &str = "urn:oid:2.16.578.1.12.4.1.1.7426";
pub const OID_HPR_NUMBER: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
pub const OID_FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
pub const OID_DNR: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
pub const OID_ORGNR: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
pub const OID_RESH: &str = "urn:oid:2.16.578.1.12.4.1.4.102";
pub const OID_HER: &str = "urn:oid:2.16.578.1.12.4.1.2";

/// Kategori helsepersonell, code system 9060 (the `profession` of an approval).
pub const PROFESSIONS: &[Coded] = &[
    c("AA", "Ambulansearbeider"),
    c("AT", "Apotektekniker"),
    c("AU", "Audiograf"),
    c("BI", "Bioingeniør"),
    c("ET", "Ergoterapeut"),
    c("FA1", "Provisorfarmasøyt"),
    c("FA2", "Reseptarfarmasøyt"),
    c("FO", "Fotterapeut"),
    c("FT", "Fysioterapeut"),
    c("HE", "Helsesekretær"),
    c("HF", "Helsefagarbeider"),
    c("HP", "Hjelpepleier"),
    c("JO", "Jordmor"),
    c("KE", "Klinisk ernæringsfysiolog"),
    c("KI", "Kiropraktor"),
    c("LE", "Lege"),
    c("OI", "Ortopediingeniør"),
    c("OP", "Optiker"),
    c("OS", "Osteopat"),
    c("PM", "Paramedisiner"),
    c("PS", "Psykolog"),
    c("RA", "Radiograf"),
    c("SP", "Sykepleier"),
    c("TH", "Tannhelsesekretær"),
    c("TL", "Tannlege"),
    c("TP", "Tannpleier"),
    c("VP", "Vernepleier"),
];

/// Shares of professions among generated practitioners (per mille of the list above, by
/// code). Roughly HPR's proportions: nurses and health workers dominate.
pub(crate) const PROFESSION_WEIGHTS: &[(&str, u32)] = &[
    ("SP", 300),
    ("HF", 170),
    ("LE", 130),
    ("HP", 60),
    ("FT", 50),
    ("VP", 40),
    ("TL", 30),
    ("PS", 30),
    ("BI", 25),
    ("JO", 20),
    ("RA", 20),
    ("ET", 20),
    ("AA", 15),
    ("PM", 10),
    ("HE", 15),
    ("TP", 10),
    ("TH", 10),
    ("FA1", 8),
    ("FA2", 8),
    ("KI", 5),
    ("OP", 5),
    ("AT", 5),
    ("KE", 3),
    ("AU", 3),
    ("FO", 3),
    ("OS", 2),
    ("OI", 2),
];

/// Godkjenningstype, code system 7704 (the `authorization` of an approval).
pub const AUTHORIZATION: Coded = c("1", "Autorisasjon");
pub const AUTHORIZATION_WITH_CONDITIONS: Coded = c("17", "Autorisasjon med vilkår");
pub const LICENSE: Coded = c("4", "Lisens");
pub const STUDENT_LICENSE: Coded = c("3", "Studentlisens");
pub const TURNUS_LICENSE: Coded = c("2", "Turnuslisens");
pub const TEMPORARY_SERVICE: Coded = c("14", "Midlertidig tjenesteyting");
pub const LIS1_LICENSE: Coded = c("18", "LIS1-Lisens");

/// Rekvisisjonsrett: the one value HelseID's documentation shows.
pub const FULL_REQUISITION_RIGHTS: Coded = c("1", "Full rekvisisjonsrett");

/// Spesialitet, code system 7426: the codes with a confirmed meaning.
pub const GENERAL_PRACTICE: Coded = c("1", "Allmennmedisin");
pub const ORTHOPAEDIC_SURGERY: Coded = c("152", "Ortopedisk kirurgi");

const fn c(value: &'static str, description: &'static str) -> Coded {
    Coded { value, description }
}

/// The 9060 entry for a profession code.
pub fn profession(code: &str) -> Option<Coded> {
    PROFESSIONS.iter().copied().find(|p| p.value == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_name_known_professions() {
        for (code, _) in PROFESSION_WEIGHTS {
            assert!(profession(code).is_some(), "{code} is not in 9060");
        }
        assert_eq!(profession("LE").map(|p| p.description), Some("Lege"));
    }
}
