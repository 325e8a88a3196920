//! A synthetic person as Persontjenesten's profiles shape it: `GdPerson` and
//! `GdRelatedPerson` of the grunndata package (`ehelse.fhir.no.grunndata` 2.3.x, the
//! MasterPersonIndexR4 guide; shared reference §12.5). The URLs, systems and codes are the
//! profiles'; what the profiles leave open, and what the testbed adds, is marked in
//! docs/fidelity.md ("Persontjenesten").
//!
//! - Identifiers: fødselsnummer or D-number with the identifier-status extension (`iBruk`).
//! - Names upper case as the Folkeregister keeps them; the middle name in `no-basis-middlename`.
//! - Address protection in `meta.security` (system `gd-address-confidentiality`) for
//!   `fortrolig` and `strengtFortrolig` only, and then no address at all: NHN hands out no
//!   address of a protected person "for now".
//! - Family relations are not on `Person` (`Person.link` is unused in the profile) but are
//!   `RelatedPerson` resources, one per pair of persons, holding every relationship of the
//!   pair, with only the related person's identifier (they are in the register).

use serde_json::Value;
use synthpop::nin::{NinKind, Sex, World};
use synthpop::person::{Address as SynthAddress, AddressProtection};
use synthpop::{CivilStatus, Person};

use crate::fhir::{
    Address, CodeableConcept, Coding, Extension, ExtensionValue, HumanName, Identifier, Meta,
    Reference,
};

pub const PERSON_PROFILE: &str = "http://ehelse.no/fhir/StructureDefinition/gd-Person";
pub const RELATED_PERSON_PROFILE: &str =
    "http://ehelse.no/fhir/StructureDefinition/gd-RelatedPerson";
/// Fødselsnummer (no-basis NamingSystem FNR).
pub const FNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
/// D-nummer.
pub const DNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.2";
/// Felles hjelpenummer (FH-nummer); searchable, though the profile has no slice for it.
pub const FHNR_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.4.3";
pub const ADDRESS_CONFIDENTIALITY: &str =
    "http://ehelse.no/fhir/CodeSystem/gd-address-confidentiality";
const IDENTIFIER_STATUS: &str =
    "http://ehelse.no/fhir/StructureDefinition/gd-person-identifier-status";
const MIDDLENAME: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-middlename";
const PERSON_STATUS: &str = "http://ehelse.no/fhir/StructureDefinition/gd-person-status";
const CITIZENSHIP: &str = "http://ehelse.no/fhir/StructureDefinition/gd-person-citizenship";
const BIRTH: &str = "http://ehelse.no/fhir/StructureDefinition/gd-birth";
const PROPERTY_INFORMATION: &str =
    "http://hl7.no/fhir/StructureDefinition/no-basis-propertyinformation";
const MUNICIPALITY_SYSTEM: &str = "urn:oid:2.16.578.1.12.4.1.1.3402";
const ADDRESS_OFFICIAL: &str = "http://hl7.no/fhir/StructureDefinition/no-basis-address-official";
const ADDRESS_METADATA: &str = "http://ehelse.no/fhir/StructureDefinition/gd-address-metadata";
const SEPARATELY_OCCUPIED_UNIT: &str =
    "http://ehelse.no/fhir/StructureDefinition/gd-separately-occupied-unit";
pub const FAMILY_RELATION_SYSTEM: &str = "http://hl7.no/fhir/CodeSystem/no-basis-family-relation";
const FAMILY_RELATION: &str = "http://ehelse.no/fhir/StructureDefinition/gd-family-relation";
pub const MARITAL_STATUS_SYSTEM: &str = "http://hl7.no/fhir/CodeSystem/no-basis-marital-status";
pub const PARENTAL_SYSTEM: &str = "http://hl7.no/fhir/CodeSystem/no-basis-parental-responsibility";
/// The testbed's own extension: SyntPop's world of the person and who reserved them.
pub const SYNTPOP_EXTENSION: &str = "urn:helseid-testbed:fhir:StructureDefinition:syntpop";
/// When the synthetic register was last "updated": the generator's census date.
pub const LAST_UPDATED: &str = "2025-12-31T00:00:00+00:00";
/// Every resource is in its first version: the population has no life events.
pub const VERSION_ID: &str = "1";

/// Who holds a +65 person, from the STS's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub team: String,
    pub at: i64,
}

/// The identifier system of a person's number.
pub fn identifier_system(kind: NinKind) -> &'static str {
    match kind {
        NinKind::DNumber => DNR_SYSTEM,
        NinKind::FhNumber => FHNR_SYSTEM,
        _ => FNR_SYSTEM,
    }
}

fn identifier(p: &Person) -> Identifier {
    Identifier {
        extension: Vec::new(),
        use_: None,
        system: Some(identifier_system(p.pid_kind).to_owned()),
        value: Some(p.pid.to_string()),
    }
}

fn meta(profile: &str, protection: AddressProtection) -> Meta {
    let security = match protection {
        AddressProtection::Ugradert => Vec::new(),
        AddressProtection::Fortrolig => vec![Coding::new(
            ADDRESS_CONFIDENTIALITY,
            "fortrolig",
            Some("Fortrolig"),
        )],
        AddressProtection::StrengtFortrolig => vec![Coding::new(
            ADDRESS_CONFIDENTIALITY,
            "strengtFortrolig",
            Some("Strengt fortrolig"),
        )],
    };
    Meta {
        version_id: Some(VERSION_ID.into()),
        last_updated: Some(LAST_UPDATED.into()),
        profile: vec![profile.to_owned()],
        security,
        tag: Vec::new(),
    }
}

fn sub(url: &str, value: ExtensionValue) -> Extension {
    Extension::value(url, value)
}

fn address(a: &SynthAddress) -> Address {
    let mut line = format!("{} {}", a.street, a.house_number);
    if let Some(letter) = a.house_letter {
        line.push(letter);
    }
    let mut extension = vec![
        Extension::complex(
            PROPERTY_INFORMATION,
            vec![sub(
                "municipality",
                ExtensionValue::Coding(Coding::new(
                    MUNICIPALITY_SYSTEM,
                    a.municipality_number,
                    Some(a.municipality_name),
                )),
            )],
        ),
        sub(ADDRESS_OFFICIAL, ExtensionValue::Boolean(true)),
        Extension::complex(
            ADDRESS_METADATA,
            vec![
                sub("confidentiality", ExtensionValue::Code("ugradert".into())),
                sub(
                    "fregAddressContentType",
                    ExtensionValue::Code("Vegadresse".into()),
                ),
                sub(
                    "fregAddressType",
                    ExtensionValue::Code("Bostedsadresse".into()),
                ),
            ],
        ),
    ];
    if let Some(unit) = a.unit {
        extension.push(Extension::complex(
            SEPARATELY_OCCUPIED_UNIT,
            vec![
                sub(
                    "separatelyOccupiedUnitType",
                    ExtensionValue::Code("bolig".into()),
                ),
                sub(
                    "separatelyOccupiedUnitNumber",
                    ExtensionValue::String(unit.to_string()),
                ),
            ],
        ));
    }
    Address {
        extension,
        use_: Some("home"),
        type_: None,
        text: None,
        line: vec![line],
        city: Some(a.post_town.to_owned()),
        district: Some(a.municipality_name.to_owned()),
        postal_code: Some(a.postcode.to_owned()),
        country: Some("NO".into()),
    }
}

/// The testbed's SyntPop extension: the person's world (`test-norge` for +80 persons,
/// `syntpop-reservert` for +65) and, when a team holds them, the team and since when.
fn syntpop_extension(p: &Person, reservation: Option<&Reservation>) -> Extension {
    let world = match p.world {
        World::SyntPopReserved => "syntpop-reservert",
        _ => "test-norge",
    };
    let mut parts = vec![sub("world", ExtensionValue::Code(world.into()))];
    if let Some(r) = reservation {
        parts.push(sub("team", ExtensionValue::String(r.team.clone())));
        parts.push(sub(
            "reservedAt",
            ExtensionValue::DateTime(protocol::clock::rfc3339(r.at)),
        ));
    }
    Extension::complex(SYNTPOP_EXTENSION, parts)
}

/// The whole `Person` resource of `p` with logical id `id` (before `_elements`).
pub fn person(p: &Person, id: &str, reservation: Option<&Reservation>) -> Value {
    let status = match p.pid_kind {
        // A D-number holder is registered without residence (FREG `midlertidig`).
        NinKind::DNumber => "midlertidig",
        _ => "bosatt",
    };
    let extension = vec![
        Extension::complex(
            PERSON_STATUS,
            vec![sub("fregPersonStatus", ExtensionValue::Code(status.into()))],
        ),
        Extension::complex(
            CITIZENSHIP,
            vec![sub(
                "code",
                ExtensionValue::CodeableConcept(CodeableConcept {
                    coding: vec![Coding::new("urn:iso:std:iso:3166", citizenship(p), None)],
                    text: None,
                }),
            )],
        ),
        Extension::complex(
            BIRTH,
            vec![sub(
                "birthYear",
                ExtensionValue::Date(format!("{:04}", p.birth_date.year())),
            )],
        ),
        syntpop_extension(p, reservation),
    ];
    let name = HumanName {
        extension: p
            .middle_name
            .map(|m| vec![sub(MIDDLENAME, ExtensionValue::String(m.to_owned()))])
            .unwrap_or_default(),
        use_: None,
        text: None,
        family: Some(p.family_name.to_owned()),
        given: vec![p.given_name.to_owned()],
    };
    let addresses: Vec<Address> = match (p.address_protection, &p.address) {
        (AddressProtection::Ugradert, Some(a)) => vec![address(a)],
        _ => Vec::new(),
    };
    let mut v = serde_json::json!({
        "resourceType": "Person",
        "id": id,
        "meta": meta(PERSON_PROFILE, p.address_protection),
        "extension": extension,
        "identifier": [Identifier {
            extension: vec![Extension::value(
                IDENTIFIER_STATUS,
                ExtensionValue::Code("iBruk".into()),
            )],
            ..identifier(p)
        }],
        "active": true,
        "name": [name],
        "gender": match p.sex { Sex::Female => "female", Sex::Male => "male" },
        "birthDate": p.birth_date.to_string(),
    });
    if !addresses.is_empty() {
        v["address"] = serde_json::to_value(addresses).unwrap_or(Value::Null);
    }
    v
}

/// Norwegian for fødselsnummer holders; a D-number holder's country is not generated, so
/// it is given as unknown (ISO 3166 user-assigned `XXX`).
fn citizenship(p: &Person) -> &'static str {
    match p.pid_kind {
        NinKind::DNumber => "XXX",
        _ => "NO",
    }
}

/// How `related` is related to `subject`, seen from `subject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Mother,
    Father,
    Spouse,
    Child,
}

impl Relation {
    /// The relatives of `p` in the population, with how each is related to `p`.
    pub fn of(p: &Person) -> Vec<(Relation, synthpop::nin::Nin)> {
        let r = &p.relations;
        let mut out = Vec::new();
        if let Some(m) = r.mother {
            out.push((Relation::Mother, m));
        }
        if let Some(f) = r.father {
            out.push((Relation::Father, f));
        }
        if let Some(s) = r.spouse {
            out.push((Relation::Spouse, s));
        }
        out.extend(r.children.iter().map(|c| (Relation::Child, *c)));
        out
    }
}

/// The `RelatedPerson` relating `related` to `subject` (`relation` is what `related` is to
/// `subject`), with logical id `id`; `subject_ref` is the literal reference to the
/// subject's `Person`.
///
/// `relationship` holds a `familyRelation` coding whose code is the subject's role toward
/// the related person (FREG `minRolleForPerson`) and, in the `gd-family-relation`
/// extension, the related person's role toward the subject (`relatertPersonsRolle`), as
/// the profile's text defines them (the guide's one server example has them the other way
/// round; docs/fidelity.md). A spouse adds the subject's marital status; a parent of a
/// child under 18 adds parental responsibility.
pub fn related_person(
    subject: &Person,
    related: &Person,
    relation: Relation,
    id: &str,
    subject_ref: &str,
    census: synthpop::date::Date,
) -> Value {
    let parent_role = |s: Sex| match s {
        Sex::Female => "mor",
        Sex::Male => "far",
    };
    let (mine, theirs) = match relation {
        Relation::Mother | Relation::Father => ("barn", parent_role(related.sex)),
        Relation::Child => (parent_role(subject.sex), "barn"),
        Relation::Spouse => ("ektefelleEllerPartner", "ektefelleEllerPartner"),
    };
    let family = serde_json::json!({
        "extension": [Extension::complex(
            FAMILY_RELATION,
            vec![sub("roleOfRelatedPersonInstance", ExtensionValue::Code(theirs.into()))],
        )],
        "coding": [Coding::new(FAMILY_RELATION_SYSTEM, mine, None)],
    });
    let mut relationship = vec![family];
    if relation == Relation::Spouse {
        let code = match subject.civil_status {
            CivilStatus::Gift => "gift",
            CivilStatus::Skilt => "skilt",
            CivilStatus::EnkeEllerEnkemann => "enkeEllerEnkemann",
            CivilStatus::Ugift => "ugift",
        };
        relationship.push(serde_json::json!({
            "coding": [Coding::new(MARITAL_STATUS_SYSTEM, code, None)]
        }));
    }
    let child = match relation {
        Relation::Mother | Relation::Father => Some(subject),
        Relation::Child => Some(related),
        Relation::Spouse => None,
    };
    if let Some(child) = child
        && child.age_on(census) < 18
    {
        // Both parents registered: joint responsibility; else the one parent's.
        let both = child.relations.mother.is_some() && child.relations.father.is_some();
        let parent = if relation == Relation::Child {
            subject
        } else {
            related
        };
        let code = if both {
            "felles"
        } else {
            parent_role(parent.sex)
        };
        relationship.push(serde_json::json!({
            "coding": [Coding::new(PARENTAL_SYSTEM, code, None)]
        }));
    }
    serde_json::json!({
        "resourceType": "RelatedPerson",
        "id": id,
        "meta": meta(RELATED_PERSON_PROFILE, AddressProtection::Ugradert),
        "identifier": [identifier(related)],
        "patient": Reference {
            reference: Some(subject_ref.to_owned()),
            ..Reference::default()
        },
        "relationship": relationship,
    })
}
