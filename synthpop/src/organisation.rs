//! Organisations: EPJ vendors, health enterprises (helseforetak) with their units,
//! municipalities with their health services, and GP offices (legekontor) with the GP
//! lists (fastlegelister) their doctors hold.
//!
//! Each organisation that HelseID's multi-tenancy would name is a pair in
//! Enhetsregisteret: the legal entity (hovedenhet, `orgnr_parent`) and a unit (underenhet,
//! `orgnr_child`). Organisation numbers are mod-11 valid and drawn from Test-Norge's 310–315
//! range; HER-ids (Adresseregisteret) and RESH-ids (specialist units) are opaque numbers
//! from ranges no real register uses (see docs/synthpop.md).
//!
//! The catalogue is small (about one GP office per 1,500 persons plus a fixed set), so it is
//! built whole when a population is made.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::data::{Place, data};
use crate::household::{BLOCK, GP_EVERY_BLOCKS};
use crate::orgnr::{OrgNr, SYNTHETIC_BASES};
use crate::permutation::Permutation;
use crate::rng::{Domain, Draw, splitmix64};

/// GP lists per GP office.
pub(crate) const LISTS_PER_OFFICE: u64 = 3;
/// The EPJ vendors every population has.
pub const VENDOR_COUNT: usize = 4;
const HEALTH_ENTERPRISES: usize = 3;
const HER_BASE: u32 = 8_000_000;
const RESH_BASE: u32 = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgKind {
    /// A supplier of patient-record systems (the supplier of multi-tenant clients).
    EpjVendor,
    /// A helseforetak (legal entity).
    HealthEnterprise,
    /// A unit of a helseforetak: a hospital department or clinic.
    HealthEnterpriseUnit,
    /// A kommune (legal entity).
    Municipality,
    /// A municipal health service: legevakt, helsestasjon, sykehjem, hjemmetjeneste.
    MunicipalityUnit,
    /// A GP practice (legal entity, usually an AS).
    GpOffice,
    /// The GP practice's business location, where its GP lists belong.
    GpOfficeUnit,
}

impl OrgKind {
    pub fn is_legal_entity(self) -> bool {
        matches!(
            self,
            OrgKind::EpjVendor
                | OrgKind::HealthEnterprise
                | OrgKind::Municipality
                | OrgKind::GpOffice
        )
    }
}

/// One organisation of Enhetsregisteret, with its health-sector identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub orgnr: OrgNr,
    pub name: String,
    pub kind: OrgKind,
    /// The legal entity this unit belongs to (`orgnr_parent` when this is `orgnr_child`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgNr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<OrgNr>,
    pub municipality_number: &'static str,
    pub municipality_name: &'static str,
    pub postcode: &'static str,
    pub post_town: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub her_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resh_id: Option<u32>,
    /// The vendor whose EPJ this organisation uses (and so may delegate to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epj_vendor: Option<OrgNr>,
    /// GP list numbers held at this unit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gp_lists: Vec<u64>,
}

/// The organisations of one population.
#[derive(Debug, Clone)]
pub(crate) struct Catalogue {
    pub orgs: Vec<Organisation>,
    by_orgnr: HashMap<OrgNr, usize>,
    /// Index in `orgs` of each GP office's unit.
    office_units: Vec<usize>,
}

/// GP lists a population of `size` persons holds (one per [`GP_EVERY_BLOCKS`] blocks).
pub(crate) fn list_count(size: u64) -> u64 {
    size.div_ceil(BLOCK * GP_EVERY_BLOCKS)
}

/// Where GP office `office` is: its neighbourhood's place.
pub(crate) fn office_place(key: &[u8; 32], office: u64) -> &'static Place {
    let d = data();
    let mut draw = Draw::new(key, Domain::Neighbourhood, office);
    let i = *draw.weighted(&d.place_weights);
    &d.places[i]
}

struct Numbers {
    perm: Permutation,
    used: HashSet<OrgNr>,
    next: u64,
}

impl Numbers {
    /// The next organisation number: cycle through a keyed permutation of the synthetic
    /// bases, skipping bases without a check digit.
    fn take(&mut self) -> OrgNr {
        loop {
            let x = self.perm.apply(self.next % self.perm.len());
            self.next += 1;
            if let Some(o) = OrgNr::from_base(SYNTHETIC_BASES.start + x as u32)
                && self.used.insert(o)
            {
                return o;
            }
        }
    }
}

impl Catalogue {
    pub(crate) fn build(key: &[u8; 32], seed: u64, size: u64) -> Catalogue {
        let d = data();
        let mut numbers = Numbers {
            perm: Permutation::new(
                u64::from(SYNTHETIC_BASES.end - SYNTHETIC_BASES.start),
                splitmix64(seed ^ 0x006f_7267_6e72),
            ),
            used: HashSet::new(),
            next: 0,
        };
        let her_perm = Permutation::new(1_000_000, splitmix64(seed ^ 0x0068_6572));
        let resh_perm = Permutation::new(1_000_000, splitmix64(seed ^ 0x7265_7368));
        let mut orgs: Vec<Organisation> = Vec::new();
        let mut her_next = 0u64;
        let mut resh_next = 0u64;
        let mut her = || {
            her_next += 1;
            HER_BASE + her_perm.apply(her_next - 1) as u32
        };
        let mut resh = || {
            resh_next += 1;
            RESH_BASE + resh_perm.apply(resh_next - 1) as u32
        };
        let plain = |orgnr, name: String, kind, place: &'static Place| Organisation {
            orgnr,
            name,
            kind,
            parent: None,
            children: Vec::new(),
            municipality_number: place.municipality_number,
            municipality_name: place.municipality_name,
            postcode: place.postcode,
            post_town: place.post_town,
            her_id: None,
            resh_id: None,
            epj_vendor: None,
            gp_lists: Vec::new(),
        };
        let mut draw = Draw::new(key, Domain::Organisation, 0);

        // EPJ vendors, named the Test-Norge way.
        const VENDOR_SUFFIX: [&str; VENDOR_COUNT] = [
            "JOURNAL AS",
            "HELSEDATA AS",
            "EPJ AS",
            "MEDISINSKE SYSTEMER AS",
        ];
        let mut vendors = Vec::new();
        for suffix in VENDOR_SUFFIX {
            let name = format!(
                "{} {} {}",
                draw.pick(&d.adjectives),
                draw.pick(&d.animals),
                suffix
            );
            let place = &d.places[*draw.weighted(&d.place_weights)];
            let org = plain(numbers.take(), name, OrgKind::EpjVendor, place);
            vendors.push(org.orgnr);
            orgs.push(org);
        }
        let vendor_for = |draw: &mut Draw| Some(*draw.pick(&vendors));

        // Health enterprises with their clinics, named like (but not as) real ones.
        const HF_CITIES: [usize; HEALTH_ENTERPRISES] = [10, 0, 16]; // Bergen, Oslo, Trondheim rows
        const DEPARTMENTS: [&str; 8] = [
            "AKUTTMOTTAKET",
            "MEDISINSK KLINIKK",
            "KIRURGISK KLINIKK",
            "BARNE- OG UNGDOMSKLINIKKEN",
            "PSYKISK HELSEVERN",
            "LABORATORIEMEDISIN",
            "BILDEDIAGNOSTIKK",
            "ORTOPEDISK AVDELING",
        ];
        for (n, row) in HF_CITIES.iter().enumerate() {
            let place = &d.places[(*row).min(d.places.len() - 1)];
            let name = match n {
                0 => format!("{} UNIVERSITETSSYKEHUS HF", place.post_town),
                1 => format!("SYKEHUSET I {} HF", place.post_town),
                _ => format!("{} SYKEHUS HF", place.post_town),
            };
            let mut hf = plain(
                numbers.take(),
                name.clone(),
                OrgKind::HealthEnterprise,
                place,
            );
            hf.her_id = Some(her());
            hf.resh_id = Some(resh());
            hf.epj_vendor = vendor_for(&mut draw);
            let units = 4 + draw.below(3) as usize;
            let mut unit_orgs = Vec::new();
            for dept in DEPARTMENTS.iter().take(units) {
                let mut u = plain(
                    numbers.take(),
                    format!("{name} {dept}"),
                    OrgKind::HealthEnterpriseUnit,
                    place,
                );
                u.parent = Some(hf.orgnr);
                u.her_id = Some(her());
                u.resh_id = Some(resh());
                u.epj_vendor = hf.epj_vendor;
                hf.children.push(u.orgnr);
                unit_orgs.push(u);
            }
            orgs.push(hf);
            orgs.extend(unit_orgs);
        }

        // GP offices, one per three lists; their municipalities follow.
        let lists = list_count(size);
        let offices = lists.div_ceil(LISTS_PER_OFFICE);
        const GP_NAMES: [&str; 6] = [
            "{town} LEGESENTER",
            "{street} LEGEKONTOR",
            "LEGEGRUPPEN {town}",
            "{town} SENTRUM LEGESENTER",
            "{street} LEGESENTER",
            "FASTLEGENE {town}",
        ];
        let mut office_units = Vec::new();
        let mut municipalities: Vec<&'static Place> = d.places.iter().take(1).collect();
        for office in 0..offices {
            let place = office_place(key, office);
            if !municipalities
                .iter()
                .any(|p| p.municipality_number == place.municipality_number)
            {
                municipalities.push(place);
            }
            let mut od = Draw::new(key, Domain::Organisation, 1 + office);
            let street = od.pick(&d.streets).to_uppercase();
            let pattern = od.pick(&GP_NAMES);
            let name = pattern
                .replace("{town}", place.post_town)
                .replace("{street}", &street);
            let mut parent = plain(
                numbers.take(),
                format!("{name} AS"),
                OrgKind::GpOffice,
                place,
            );
            parent.epj_vendor = vendor_for(&mut od);
            let mut unit = plain(numbers.take(), name, OrgKind::GpOfficeUnit, place);
            unit.parent = Some(parent.orgnr);
            unit.her_id = Some(her());
            unit.epj_vendor = parent.epj_vendor;
            let first = office * LISTS_PER_OFFICE;
            unit.gp_lists = (first..(first + LISTS_PER_OFFICE).min(lists)).collect();
            parent.children.push(unit.orgnr);
            orgs.push(parent);
            office_units.push(orgs.len());
            orgs.push(unit);
        }

        // Municipalities with their health services.
        const SERVICES: [&str; 4] = ["LEGEVAKT", "HELSESTASJON", "SYKEHJEM", "HJEMMETJENESTEN"];
        for place in municipalities {
            let name = format!("{} KOMMUNE", place.municipality_name.to_uppercase());
            let mut m = plain(numbers.take(), name.clone(), OrgKind::Municipality, place);
            m.her_id = Some(her());
            m.epj_vendor = vendor_for(&mut draw);
            let mut units = Vec::new();
            for service in SERVICES {
                let mut u = plain(
                    numbers.take(),
                    format!("{name} {service}"),
                    OrgKind::MunicipalityUnit,
                    place,
                );
                u.parent = Some(m.orgnr);
                u.her_id = Some(her());
                u.epj_vendor = m.epj_vendor;
                m.children.push(u.orgnr);
                units.push(u);
            }
            orgs.push(m);
            orgs.extend(units);
        }

        let by_orgnr = orgs.iter().enumerate().map(|(i, o)| (o.orgnr, i)).collect();
        Catalogue {
            orgs,
            by_orgnr,
            office_units,
        }
    }

    pub(crate) fn get(&self, orgnr: OrgNr) -> Option<&Organisation> {
        self.by_orgnr.get(&orgnr).map(|i| &self.orgs[*i])
    }

    /// The unit where GP list `list` belongs.
    pub(crate) fn office_unit_of_list(&self, list: u64) -> Option<&Organisation> {
        let office = list / LISTS_PER_OFFICE;
        self.office_units
            .get(office as usize)
            .map(|i| &self.orgs[*i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orgnr;
    use crate::rng::key_for;

    #[test]
    fn catalogue_is_valid_and_linked() {
        let key = key_for(5);
        let c = Catalogue::build(&key, 5, 20_000);
        let mut seen = HashSet::new();
        for o in &c.orgs {
            assert!(orgnr::validate(&o.orgnr.to_string()).is_ok());
            assert!(o.orgnr.is_test_norge(), "{}", o.orgnr);
            assert!(seen.insert(o.orgnr), "{} twice", o.orgnr);
            if let Some(p) = o.parent {
                let parent = c.get(p).unwrap();
                assert!(parent.children.contains(&o.orgnr));
                assert!(parent.kind.is_legal_entity());
                assert!(!o.kind.is_legal_entity());
            }
            for child in &o.children {
                assert_eq!(c.get(*child).unwrap().parent, Some(o.orgnr));
            }
            if let Some(v) = o.epj_vendor {
                assert_eq!(c.get(v).unwrap().kind, OrgKind::EpjVendor);
            }
        }
        let lists = list_count(20_000);
        for l in 0..lists {
            let unit = c.office_unit_of_list(l).unwrap();
            assert_eq!(unit.kind, OrgKind::GpOfficeUnit);
            assert!(unit.gp_lists.contains(&l));
        }
        let vendors_in_use: HashSet<_> = c.orgs.iter().filter_map(|o| o.epj_vendor).collect();
        assert!(
            vendors_in_use.len() >= 2,
            "delegations to at least two vendors"
        );
        for kind in [
            OrgKind::EpjVendor,
            OrgKind::HealthEnterprise,
            OrgKind::HealthEnterpriseUnit,
            OrgKind::Municipality,
            OrgKind::MunicipalityUnit,
            OrgKind::GpOffice,
            OrgKind::GpOfficeUnit,
        ] {
            assert!(c.orgs.iter().any(|o| o.kind == kind), "no {kind:?}");
        }
    }
}
