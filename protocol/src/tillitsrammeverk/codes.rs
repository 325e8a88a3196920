//! Code systems, authorities and code texts of the Tillitsrammeverk attestation (reference
//! §7.2; TR `specs/informasjons_og_datamodell.md` and
//! `specs/forretningsregler_for_bruk_av_attestering.md`).
//!
//! Only texts with a public source are listed; [`text`] returns `None` for any other code,
//! and the enriched claim then has no `text`.

// Identifier systems (`{id, system}`).
/// F-nummer (Folkeregisteret).
pub const SYSTEM_FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
/// D-nummer (Folkeregisteret).
pub const SYSTEM_DNR: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
/// H-nummer (hjelpenummer; patients only).
pub const SYSTEM_HNR: &str = "urn:oid:2.16.578.1.12.4.1.4.3";
/// HPR-nummer (Helsepersonellregisteret).
pub const SYSTEM_HPR: &str = "urn:oid:2.16.578.1.12.4.1.4.4";
/// Enhetsregisteret (organisation numbers).
pub const SYSTEM_ENH: &str = "urn:oid:2.16.578.1.12.4.1.4.101";
/// RESH (Register for enheter i spesialisthelsetjenesten).
pub const SYSTEM_RESH: &str = "urn:oid:2.16.578.1.12.4.1.4.102";

// Code systems (`{code, system}`).
/// Kodeverk 9060 Kategori helsepersonell.
pub const SYSTEM_9060: &str = "urn:oid:2.16.578.1.12.4.1.1.9060";
/// HL7 v3 PurposeOfUse value set.
pub const SYSTEM_PURPOSE_OF_USE: &str = "urn:oid:2.16.840.1.113883.1.11.20448";
/// Kodeverk 9151 (municipal health services; `purpose_of_use_details`).
pub const SYSTEM_9151: &str = "urn:oid:2.16.578.1.12.4.1.1.9151";
/// HL7 Norway's care-relation code system (DIPS decision templates; `purpose_of_use_details`).
pub const SYSTEM_CARERELATION: &str = "urn:AuditEventHL7Norway/CodeSystem/carerelation";
/// Tjenestetyper innen spesialisthelsetjenesten.
pub const SYSTEM_8655: &str = "urn:oid:2.16.578.1.12.4.1.1.8655";
/// Tjenestetyper innen spesialisthelsetjenesten, discontinued ("UTGÅTT").
pub const SYSTEM_8627: &str = "urn:oid:2.16.578.1.12.4.1.1.8627";
/// Fagområde.
pub const SYSTEM_8451: &str = "urn:oid:2.16.578.1.12.4.1.1.8451";
/// Tjenestetyper for spesialisthelsetjenesten.
pub const SYSTEM_8668: &str = "urn:oid:2.16.578.1.12.4.1.1.8668";
/// Tjenestetyper for kommunal helse- og omsorgstjeneste mv.
pub const SYSTEM_8663: &str = "urn:oid:2.16.578.1.12.4.1.1.8663";
/// Fylkeskommunale tjenestetyper.
pub const SYSTEM_8662: &str = "urn:oid:2.16.578.1.12.4.1.1.8662";
/// Tjenestetyper for apotek og bandasjister.
pub const SYSTEM_8664: &str = "urn:oid:2.16.578.1.12.4.1.1.8664";
/// Felles tjenestetyper.
pub const SYSTEM_8666: &str = "urn:oid:2.16.578.1.12.4.1.1.8666";

/// The code systems `care_relationship.healthcare_service` may use: reference §7.2 names
/// 8655, 8663, 8451 and 8666; TR rule ATT-37 adds 8627, 8668, 8662 and 8664.
pub const HEALTHCARE_SERVICE_SYSTEMS: [&str; 8] = [
    SYSTEM_8655,
    SYSTEM_8627,
    SYSTEM_8451,
    SYSTEM_8668,
    SYSTEM_8663,
    SYSTEM_8662,
    SYSTEM_8664,
    SYSTEM_8666,
];

/// The code systems `care_relationship.purpose_of_use_details` may use (TR rule ATT-45).
pub const PURPOSE_OF_USE_DETAILS_SYSTEMS: [&str; 2] = [SYSTEM_9151, SYSTEM_CARERELATION];

/// The systems a patient's `identifier` may use (TR §4.5.1).
pub const PATIENT_ID_SYSTEMS: [&str; 3] = [SYSTEM_FNR, SYSTEM_DNR, SYSTEM_HNR];

// Authorities (of identifiers) and assigners (of code systems), as in TR §4 and Vedlegg B/C.
pub const SKATTEETATEN: &str = "https://www.skatteetaten.no";
pub const HELSEDIREKTORATET: &str = "https://www.helsedirektoratet.no/";
pub const BRREG: &str = "https://www.brreg.no";
pub const NHN: &str = "https://www.nhn.no";
/// Assigner of the HL7 PurposeOfUse codes (TR Vedlegg C example 3).
pub const HL7: &str = "https://www.hl7.org";
/// Assigner of HL7 Norway's care-relation codes (TR Vedlegg C example 3).
pub const HL7_NORWAY: &str = "https://www.hl7.no";

/// The authority of an identifier system (`authority` of `{id, name, system, authority}`).
pub fn authority(system: &str) -> Option<&'static str> {
    match system {
        SYSTEM_FNR | SYSTEM_DNR | SYSTEM_HNR => Some(SKATTEETATEN),
        SYSTEM_HPR => Some(HELSEDIREKTORATET),
        SYSTEM_ENH => Some(BRREG),
        SYSTEM_RESH => Some(NHN),
        _ => None,
    }
}

/// The assigner of a code system (`assigner` of `{code, text, system, assigner}`). Volven's
/// code systems are Helsedirektoratet's (TR Vedlegg C examples 2 and 3).
pub fn assigner(system: &str) -> Option<&'static str> {
    match system {
        SYSTEM_PURPOSE_OF_USE => Some(HL7),
        SYSTEM_CARERELATION => Some(HL7_NORWAY),
        SYSTEM_9060 | SYSTEM_9151 => Some(HELSEDIREKTORATET),
        s if HEALTHCARE_SERVICE_SYSTEMS.contains(&s) => Some(HELSEDIREKTORATET),
        _ => None,
    }
}

/// Kodeverk 9060 Kategori helsepersonell (volven.no; the list as quoted in TR
/// `specs/misc/sammenligning_av_funksjonell_rolle.md` and HL7 Norway's FHIR code system,
/// with farmasøyt split into FA1/FA2 as volven has it). `XX` "Ukjent/uspesifisert" is in
/// 9060 but names no authorisation, so it is left out (see the module documentation).
pub const PROFESSIONS: &[(&str, &str)] = &[
    ("AA", "Ambulansearbeider"),
    ("AT", "Apotektekniker"),
    ("AU", "Audiograf"),
    ("BI", "Bioingeniør"),
    ("ET", "Ergoterapeut"),
    ("FA1", "Provisorfarmasøyt"),
    ("FA2", "Reseptarfarmasøyt"),
    ("FB", "Fiskehelsebiolog"),
    ("FO", "Fotterapeut"),
    ("FT", "Fysioterapeut"),
    ("HE", "Helsesekretær"),
    ("HF", "Helsefagarbeider"),
    ("HP", "Hjelpepleier"),
    ("JO", "Jordmor"),
    ("KE", "Klinisk ernæringsfysiolog"),
    ("KI", "Kiropraktor"),
    ("LE", "Lege"),
    ("MT", "Manuellterapeut"),
    ("NP", "Naprapat"),
    ("OA", "Omsorgsarbeider"),
    ("OI", "Ortopediingeniør"),
    ("OP", "Optiker"),
    ("OR", "Ortoptist"),
    ("OS", "Osteopat"),
    ("PE", "Perfusjonist"),
    ("PM", "Paramedisiner"),
    ("PS", "Psykolog"),
    ("RA", "Radiograf"),
    ("SP", "Sykepleier"),
    ("TH", "Tannhelsesekretær"),
    ("TL", "Tannlege"),
    ("TP", "Tannpleier"),
    ("TT", "Tanntekniker"),
    ("VE", "Veterinær"),
    ("VP", "Vernepleier"),
];

/// The purposes of use the trust framework allows (TR rules ATT-38 to ATT-41), with the
/// display names of HL7's v3 ActReason code system.
pub const PURPOSES_OF_USE: &[(&str, &str)] = &[
    ("TREAT", "treatment"),
    ("ETREAT", "Emergency Treatment"),
    ("COC", "coordination of care"),
    ("BTG", "break the glass"),
];

/// Healthcare-service codes whose text a public source gives: `(system, code, text)`.
pub const HEALTHCARE_SERVICES: &[(&str, &str, &str)] = &[
    // TR Vedlegg B and C example 1.
    (SYSTEM_8655, "S03", "Indremedisin"),
    (SYSTEM_8655, "KX17", "Fastlege, liste uten fast lege"),
    // TR §4.4.1 and Vedlegg C example 2.
    (SYSTEM_8663, "KP01", "Legetjeneste ved sykehjem"),
    (SYSTEM_8663, "KP02", "Sykepleietjeneste"),
    // TR Vedlegg C example 3.
    (SYSTEM_8451, "300", "Øyesykdommer"),
    // KJ `FellesTjenestetype.kt`.
    (SYSTEM_8666, "01", "Bedriftshelsetjeneste"),
    (SYSTEM_8666, "05", "Allmennlege"),
    (SYSTEM_8666, "8", "Saksbehandling pasientopplysninger"),
    (SYSTEM_8666, "FR", "Forskrivning"),
];

/// Purpose-of-use-details codes whose text a public source gives: kodeverk 9151 (TR §4.4.3)
/// and HL7 Norway's care-relation code system (AuditEvent IG `CodeSystem-carerelation`).
pub const PURPOSE_OF_USE_DETAILS: &[(&str, &str, &str)] = &[
    (SYSTEM_9151, "15", "Helsetjenester i hjemmet"),
    (
        SYSTEM_CARERELATION,
        "HENV_BEH",
        "Henvendelse fra pasientens behandler",
    ),
    (
        SYSTEM_CARERELATION,
        "HENV_PAA",
        "Henvendelse fra pasientens pårørende",
    ),
    (SYSTEM_CARERELATION, "MELDT", "Meldt pasient"),
    (SYSTEM_CARERELATION, "BLAALYS", "Blålys"),
    (
        SYSTEM_CARERELATION,
        "EKSTSVAR",
        "Eksternt prøvesvar/notat til vurdering",
    ),
    (
        SYSTEM_CARERELATION,
        "KVAL",
        "Internkontroll/Kvalitetssikring",
    ),
    (
        SYSTEM_CARERELATION,
        "OPRPLAN",
        "Pasienten finnes på operasjonsoversikten",
    ),
    (SYSTEM_CARERELATION, "KONSSERIE", "Åpen konsultasjonsserie"),
    (SYSTEM_CARERELATION, "LEDSBEL", "Inneliggende ledsager"),
    (SYSTEM_CARERELATION, "VURDHENV", "Vurdert henvisning"),
    (SYSTEM_CARERELATION, "ITSYSARB", "IT-Systemarbeid"),
    (SYSTEM_CARERELATION, "TILSYN", "Tilsyn på annen avdeling."),
    (SYSTEM_CARERELATION, "ARBFLYT", "Oppgave i arbeidsflyt"),
    (
        SYSTEM_CARERELATION,
        "BEHANDLER",
        "Bruker har behandlingsansvar for pasienten",
    ),
    (
        SYSTEM_CARERELATION,
        "INFOANSV",
        "Bruker er informasjonsansvarlig for pasienten",
    ),
    (
        SYSTEM_CARERELATION,
        "JOURANSV",
        "Bruker er journalansvarlig for pasienten",
    ),
    (
        SYSTEM_CARERELATION,
        "PASANSV",
        "Bruker er koordinator for pasienten",
    ),
    (
        SYSTEM_CARERELATION,
        "HENVISNING",
        "Henvisning til vurdering",
    ),
    (SYSTEM_CARERELATION, "BELEGG", "Inneliggende pasient"),
    (SYSTEM_CARERELATION, "PLANOPP", "Planlagt oppmøte"),
    (SYSTEM_CARERELATION, "POLBESOK", "Poliklinisk besøk"),
    (
        SYSTEM_CARERELATION,
        "TILSYN2",
        "Tilsyn med helsepersonellets virksomhet",
    ),
    (SYSTEM_CARERELATION, "INNSYN", "Pasientinnsyn"),
    (
        SYSTEM_CARERELATION,
        "OFFBEST",
        "Bestilling av dokumenter fra offentlige og juridiske instanser og forsikringselskap",
    ),
    (SYSTEM_CARERELATION, "HENV_PAS", "Henvendelse fra pasienten"),
    (SYSTEM_CARERELATION, "HENVPER", "Åpen henvisningsperiode"),
    (SYSTEM_CARERELATION, "PLANKONT", "Ventende pasient"),
    (
        SYSTEM_CARERELATION,
        "PRIMKONT",
        "Bruker er pasientens primærkontakt",
    ),
    (
        SYSTEM_CARERELATION,
        "DELBEHAN",
        "Deltar i behandlingen av pasienten",
    ),
    (SYSTEM_CARERELATION, "TILSYN3", "Statlig tilsyn"),
    (
        SYSTEM_CARERELATION,
        "HHJELANPAS",
        "Yte helsehjelp til annen pasient",
    ),
    (SYSTEM_CARERELATION, "NYPAS", "Pasientadministrasjon"),
    (
        SYSTEM_CARERELATION,
        "ROLPAS",
        "Bruker har rolle overfor pasient",
    ),
    (
        SYSTEM_CARERELATION,
        "EGENLAER",
        "Egen læring/kvalitetssikring av gitt behandling",
    ),
];

/// The 9060 text of an authorisation code (`None` for codes not in [`PROFESSIONS`]).
pub fn profession(code: &str) -> Option<&'static str> {
    PROFESSIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// The HL7 display name of a purpose-of-use code the trust framework allows.
pub fn purpose_of_use(code: &str) -> Option<&'static str> {
    PURPOSES_OF_USE
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, text)| *text)
}

/// The text of a code in one of the attestation's code systems, where a public source
/// gives it.
pub fn text(system: &str, code: &str) -> Option<&'static str> {
    match system {
        SYSTEM_9060 => profession(code),
        SYSTEM_PURPOSE_OF_USE => purpose_of_use(code),
        _ => HEALTHCARE_SERVICES
            .iter()
            .chain(PURPOSE_OF_USE_DETAILS)
            .find(|(s, c, _)| *s == system && *c == code)
            .map(|(_, _, text)| *text),
    }
}
