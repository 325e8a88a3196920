//! A population: a pure function of (seed, size, [`GENERATOR_VERSION`]).
//!
//! Persons come in blocks of eight consecutive indices (a few households, see
//! `household.rs`), and every block draws from its own ChaCha stream, so
//! [`Population::person`] builds person `i` from its block alone.
//!
//! Unique identity numbers by construction: a block owns one (day-of-year, rank) slot,
//! handed out by a keyed permutation of the 365 × [`RANKS`] slots, and one variant
//! (Test-Norge or SyntPop marker, fødselsnummer or D-number). A member born in year `y`
//! with sex `s` gets the date `y` + (day + shift) and the (rank + shift)-th valid
//! individual number for that date, where the shifts depend only on (y, s, variant), so the
//! map stays injective while family members get different birthdays. Since no two
//! members of a block share (year, sex), no two persons share a number. Blocks past the
//! first 73,000 reuse slots under another variant (a Latin square), which is what caps a
//! population at [`MAX_POPULATION`]. The same arithmetic runs backwards, so
//! [`Population::by_pid`] finds a person from the number in constant time.

use serde::Serialize;
use thiserror::Error;

use crate::GENERATOR_VERSION;
use crate::data::data;
use crate::date::Date;
use crate::household::{self, BLOCK, CENSUS_YEAR, GP_EVERY_BLOCKS, Member, OLDEST_YEAR, Plan};
use crate::hpr::{self, HPR_BASE, HPR_SPAN, Hpr};
use crate::nin::{self, CheckRule, Nin, NinKind, NinTemplate, Sex, World};
use crate::organisation::{self, Catalogue, Organisation};
use crate::orgnr::OrgNr;
use crate::permutation::Permutation;
use crate::person::{
    Address, AddressProtection, FlatNumber, GeneralPractitioner, Krr, KrrStatus, Person, Relations,
};
use crate::rng::{Domain, Draw, key_for, splitmix64};

/// Identity-number ranks per (date, sex, variant), mapped to valid individual numbers by
/// [`NinTemplate::slot`]. Every date from 1900 to 2039 has at least 203 valid numbers per
/// sex and variant (the test `every_template_has_enough_ranks` checks it).
pub(crate) const RANKS: u64 = 200;
const DAYS: u64 = 365;
/// Identity-number slots per variant.
const SLOTS: u64 = DAYS * RANKS;
const VARIANTS: [(NinKind, World); 4] = [
    (NinKind::Fodselsnummer, World::TestNorge),
    (NinKind::Fodselsnummer, World::SyntPopReserved),
    (NinKind::DNumber, World::TestNorge),
    (NinKind::DNumber, World::SyntPopReserved),
];
/// Shares of the variants among households, per mille: most are Test-Norge persons, as in
/// SyntPop's 1.2 million; some are SyntPop's reserved persons; a few hold D-numbers.
const VARIANT_WEIGHTS: [u64; 4] = [800, 120, 60, 20];

/// The largest population with unique identity numbers.
pub const MAX_POPULATION: u64 = 2_000_000;
const HER_ROLE_BASE: u32 = 9_000_000;

/// Why a population cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PopulationError {
    #[error("count must be at least 1")]
    Empty,
    #[error(
        "count {0} is more than the {MAX_POPULATION} persons a population can hold with unique identity numbers"
    )]
    TooLarge(u64),
}

/// The census date the generator counts ages at: the end of [`CENSUS_YEAR`].
pub fn census_date() -> Date {
    Date::from_year_slot(CENSUS_YEAR, 364)
}

/// A GP list (fastlegeliste) with its doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpList {
    pub list: u64,
    pub doctor: Person,
    pub office: Organisation,
    pub max_patients: u32,
}

/// A generated population.
#[derive(Debug, Clone)]
pub struct Population {
    seed: u64,
    size: u64,
    key: [u8; 32],
    slots: Permutation,
    hpr_numbers: Permutation,
    shift_key: u64,
    variant_key: u64,
    catalogue: Catalogue,
}

impl Population {
    pub fn new(seed: u64, size: u64) -> Result<Population, PopulationError> {
        if size == 0 {
            return Err(PopulationError::Empty);
        }
        if size > MAX_POPULATION {
            return Err(PopulationError::TooLarge(size));
        }
        let key = key_for(seed);
        let base = splitmix64(seed ^ u64::from(GENERATOR_VERSION));
        Ok(Population {
            seed,
            size,
            key,
            slots: Permutation::new(SLOTS, splitmix64(base ^ 1)),
            hpr_numbers: Permutation::new(HPR_SPAN, splitmix64(base ^ 2)),
            shift_key: splitmix64(base ^ 3),
            variant_key: splitmix64(base ^ 4),
            catalogue: Catalogue::build(&key, seed, size),
        })
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Blocks of eight persons (the last may be partial).
    pub fn block_count(&self) -> u64 {
        self.size.div_ceil(BLOCK)
    }

    /// Person `index`, built without generating the persons before it.
    pub fn person(&self, index: u64) -> Option<Person> {
        if index >= self.size {
            return None;
        }
        let block = index / BLOCK;
        let slot = (index % BLOCK) as u8;
        let ctx = BlockContext::new(self, block);
        Some(ctx.person(slot))
    }

    /// The persons of one block, in index order.
    pub fn block(&self, block: u64) -> Vec<Person> {
        self.blocks(block..block + 1).flatten().collect()
    }

    /// The persons of a range of blocks, block by block. Cheaper than [`Population::block`]
    /// per block, since neighbouring blocks share their GP list.
    pub fn blocks(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = Vec<Person>> + '_ {
        let mut gp_cache: Option<(u64, Option<GeneralPractitioner>)> = None;
        (range.start..range.end.min(self.block_count())).map(move |block| {
            let list = block / GP_EVERY_BLOCKS;
            let gp = match &gp_cache {
                Some((cached, gp)) if *cached == list => gp.clone(),
                _ => {
                    let gp = general_practitioner(self, list);
                    gp_cache = Some((list, gp.clone()));
                    gp
                }
            };
            let ctx = BlockContext::with_gp(self, block, gp);
            (0..BLOCK as u8)
                .filter(|s| block * BLOCK + u64::from(*s) < self.size)
                .map(|s| ctx.person(s))
                .collect()
        })
    }

    /// Every person, in index order.
    pub fn persons(&self) -> impl Iterator<Item = Person> + '_ {
        self.blocks(0..self.block_count()).flatten()
    }

    /// The persons with an HPR number.
    pub fn practitioners(&self) -> impl Iterator<Item = Person> + '_ {
        self.persons().filter(|p| p.hpr.is_some())
    }

    /// The person with this identity number, found by running the number arithmetic
    /// backwards (constant time, no index).
    pub fn by_pid(&self, pid: &str) -> Option<Person> {
        let facts = nin::validate(pid).ok()?;
        if facts.rule != CheckRule::Classic || facts.alternative.is_some() {
            return None;
        }
        let variant = VARIANTS
            .iter()
            .position(|v| *v == (facts.kind, facts.world))? as u64;
        let Some(nin::Birth::Date { date }) = facts.birth else {
            return None;
        };
        let sex = facts.sex?;
        if !(OLDEST_YEAR..=CENSUS_YEAR).contains(&date.year()) {
            return None;
        }
        let day = u64::from(date.year_slot()?);
        let template = NinTemplate::new(date, sex, facts.kind, facts.world).ok()?;
        let rank = template.slot_of(facts.number, RANKS as usize)? as u64;
        let (day_shift, rank_shift) = self.shifts(date.year(), sex, variant);
        let day0 = (day + DAYS - day_shift) % DAYS;
        let rank0 = (rank + RANKS - rank_shift) % RANKS;
        let slot = self.slots.invert(rank0 * DAYS + day0);
        let epoch =
            (variant + VARIANTS.len() as u64 - self.variant_skew(slot)) % VARIANTS.len() as u64;
        let block = epoch * SLOTS + slot;
        if block >= self.block_count() {
            return None;
        }
        let plan = household::plan(&self.key, block);
        let member = plan.slot_of(date.year(), sex)?;
        let person = self.person(block * BLOCK + u64::from(member))?;
        (person.pid == facts.number).then_some(person)
    }

    /// The person with this HPR number.
    pub fn by_hpr(&self, hpr_number: u32) -> Option<Person> {
        let offset = u64::from(hpr_number.checked_sub(HPR_BASE)?);
        if offset >= HPR_SPAN {
            return None;
        }
        let index = self.hpr_numbers.invert(offset);
        self.person(index)
            .filter(|p| p.hpr.as_ref().is_some_and(|h| h.hpr_number == hpr_number))
    }

    /// Persons whose name contains every word of `query` (case-insensitive). Scans the
    /// population: fine for the sizes an STS serves (up to some hundred thousand).
    pub fn search_name<'a>(&'a self, query: &str) -> impl Iterator<Item = Person> + 'a {
        let words: Vec<String> = query.split_whitespace().map(str::to_uppercase).collect();
        self.persons()
            .filter(move |p| !words.is_empty() && words.iter().all(|w| p.name.contains(w.as_str())))
    }

    /// An opaque, stable 128-bit key of person `index` in this population (the same seed
    /// gives the same keys), from which nothing about the person can be read: for
    /// services that name persons by a logical id rather than by identity number, as
    /// Persontjenesten's FHIR resources do.
    pub fn opaque_key(&self, index: u64) -> u128 {
        let k = u64::from_le_bytes([
            self.key[0],
            self.key[1],
            self.key[2],
            self.key[3],
            self.key[4],
            self.key[5],
            self.key[6],
            self.key[7],
        ]);
        let hi = splitmix64(k ^ splitmix64(index.wrapping_mul(2)));
        let lo = splitmix64(k.rotate_left(17) ^ splitmix64(index.wrapping_mul(2) | 1));
        (u128::from(hi) << 64) | u128::from(lo)
    }

    /// Persons carrying `tag` (see docs/synthpop.md for the tag list).
    pub fn with_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = Person> + 'a {
        self.persons().filter(move |p| p.has_tag(tag))
    }

    pub fn organisations(&self) -> &[Organisation] {
        &self.catalogue.orgs
    }

    pub fn organisation(&self, orgnr: OrgNr) -> Option<&Organisation> {
        self.catalogue.get(orgnr)
    }

    /// Organisation by its number as text.
    pub fn organisation_by_str(&self, orgnr: &str) -> Option<&Organisation> {
        crate::orgnr::validate(orgnr)
            .ok()
            .and_then(|o| self.catalogue.get(o))
    }

    /// Number of GP lists.
    pub fn gp_list_count(&self) -> u64 {
        organisation::list_count(self.size)
    }

    /// GP list `list` with its doctor and office.
    pub fn gp_list(&self, list: u64) -> Option<GpList> {
        let doctor = self.person(gp_index(list))?;
        let role = doctor.hpr.as_ref()?.gp_list.as_ref()?;
        Some(GpList {
            list,
            max_patients: role.max_patients,
            office: self.catalogue.office_unit_of_list(list)?.clone(),
            doctor,
        })
    }

    fn variant_skew(&self, slot: u64) -> u64 {
        let roll = splitmix64(self.variant_key ^ slot) % 1000;
        let mut acc = 0;
        for (i, w) in VARIANT_WEIGHTS.iter().enumerate() {
            acc += w;
            if roll < acc {
                return i as u64;
            }
        }
        0
    }

    fn variant_of_block(&self, block: u64) -> u64 {
        (self.variant_skew(block % SLOTS) + block / SLOTS) % VARIANTS.len() as u64
    }

    fn shifts(&self, year: i32, sex: Sex, variant: u64) -> (u64, u64) {
        let sex_bit = match sex {
            Sex::Female => 0,
            Sex::Male => 1,
        };
        let h = splitmix64(self.shift_key ^ ((year as u64) << 8) ^ (sex_bit << 4) ^ variant);
        (h % DAYS, (h >> 32) % RANKS)
    }

    /// The identity number of a block member.
    fn pid_of(&self, block: u64, member: &Member) -> (Nin, NinKind, World, Date) {
        let variant = self.variant_of_block(block);
        let (kind, world) = VARIANTS[variant as usize];
        let p = self.slots.apply(block % SLOTS);
        let (day_shift, rank_shift) = self.shifts(member.year, member.sex, variant);
        let day = (p % DAYS + day_shift) % DAYS;
        let rank = (p / DAYS + rank_shift) % RANKS;
        let date = Date::from_year_slot(member.year, day as u16);
        let nin = NinTemplate::new(date, member.sex, kind, world)
            .ok()
            .and_then(|t| t.slot(rank as usize, RANKS as usize));
        #[allow(clippy::expect_used)]
        // Birth years are within 1915–2025 and every template there has ≥ RANKS numbers;
        // both are checked exhaustively by tests, so this cannot fail on any input.
        let nin = nin.expect("every template has at least RANKS numbers");
        (nin, kind, world, date)
    }
}

/// The person index of the doctor holding GP list `list`.
fn gp_index(list: u64) -> u64 {
    list * GP_EVERY_BLOCKS * BLOCK
}

/// Everything shared by the persons of one block.
struct BlockContext<'p> {
    pop: &'p Population,
    block: u64,
    plan: Plan,
    /// Identity number, kind, world and birth date of each member.
    numbers: Vec<(Nin, NinKind, World, Date)>,
    homes: Vec<(AddressProtection, Option<Address>)>,
    gp: Option<GeneralPractitioner>,
}

impl<'p> BlockContext<'p> {
    fn new(pop: &'p Population, block: u64) -> BlockContext<'p> {
        let gp = general_practitioner(pop, block / GP_EVERY_BLOCKS);
        BlockContext::with_gp(pop, block, gp)
    }

    /// `gp`: the doctor of the block's GP list.
    fn with_gp(
        pop: &'p Population,
        block: u64,
        gp: Option<GeneralPractitioner>,
    ) -> BlockContext<'p> {
        let plan = household::plan(&pop.key, block);
        let homes = homes(pop, block, &plan);
        let numbers = plan.members.iter().map(|m| pop.pid_of(block, m)).collect();
        BlockContext {
            pop,
            block,
            plan,
            numbers,
            homes,
            gp,
        }
    }

    fn index_of(&self, slot: u8) -> Option<u64> {
        let i = self.block * BLOCK + u64::from(slot);
        (i < self.pop.size).then_some(i)
    }

    fn pid_of_slot(&self, slot: Option<u8>) -> Option<Nin> {
        let slot = slot?;
        self.index_of(slot)?;
        Some(self.numbers[usize::from(slot)].0)
    }

    fn person(&self, slot: u8) -> Person {
        let pop = self.pop;
        let member = &self.plan.members[slot as usize];
        let index = self.block * BLOCK + u64::from(slot);
        let (pid, pid_kind, world, birth_date) = self.numbers[usize::from(slot)];
        let census = census_date();
        let age = birth_date.years_until(census);
        let mut draw = Draw::new(&pop.key, Domain::Person, index);
        let (given_name, middle_name) = given_names(&mut draw);
        let family_name = data().nouns[usize::from(member.family_name)];
        let name = full_name(given_name, middle_name, family_name);
        let (address_protection, address) = self.homes[usize::from(member.household)].clone();
        let krr = krr(&mut draw, &pid, age);

        let is_gp = self.block.is_multiple_of(GP_EVERY_BLOCKS) && slot == 0;
        let hpr = (is_gp || (23..=72).contains(&age) && draw.chance(110)).then(|| {
            let approvals = hpr::approvals(&mut draw, birth_date, census, is_gp);
            let list = self.block / GP_EVERY_BLOCKS;
            let gp_list = if is_gp {
                pop.catalogue.office_unit_of_list(list).map(|office| {
                    let max = 800 + 50 * draw.below(15) as u32;
                    hpr::gp_list_role(list, office, HER_ROLE_BASE + list as u32, max)
                })
            } else {
                None
            };
            Hpr {
                hpr_number: HPR_BASE + pop.hpr_numbers.apply(index) as u32,
                approvals,
                gp_list,
            }
        });
        // Nearly everyone is on a GP list; D-number holders less often. A GP is listed with
        // a colleague at the same office rather than with themselves.
        let listed = draw.chance(if pid_kind == NinKind::DNumber {
            800
        } else {
            985
        });
        let gp = if is_gp {
            let list = self.block / GP_EVERY_BLOCKS;
            let colleague = list ^ 1;
            (colleague < pop.gp_list_count())
                .then(|| general_practitioner(pop, colleague))
                .flatten()
        } else if listed {
            self.gp.clone()
        } else {
            None
        };

        let relations = Relations {
            mother: self.pid_of_slot(member.mother),
            father: self.pid_of_slot(member.father),
            spouse: self.pid_of_slot(member.spouse),
            children: self
                .plan
                .children_of(slot)
                .filter_map(|c| self.pid_of_slot(Some(c)))
                .collect(),
        };
        let mut person = Person {
            index,
            pid,
            pid_kind,
            world,
            name,
            given_name,
            middle_name,
            family_name,
            sex: member.sex,
            birth_date,
            civil_status: member.civil,
            address_protection,
            address,
            relations,
            krr,
            gp,
            hpr,
            tags: Vec::new(),
        };
        person.tags = crate::person::tags(&person, census);
        person
    }
}

fn given_names(draw: &mut Draw) -> (&'static str, Option<&'static str>) {
    let d = data();
    let given = *draw.pick(&d.adjectives);
    let middle = if draw.chance(150) {
        Some(*draw.pick(&d.adjectives)).filter(|m| *m != given)
    } else {
        None
    };
    (given, middle)
}

fn full_name(given: &str, middle: Option<&str>, family: &str) -> String {
    let mut name = String::with_capacity(given.len() + family.len() + 24);
    name.push_str(given);
    if let Some(m) = middle {
        name.push(' ');
        name.push_str(m);
    }
    name.push(' ');
    name.push_str(family);
    name
}

/// The doctor of list `list` as a patient sees them.
fn general_practitioner(pop: &Population, list: u64) -> Option<GeneralPractitioner> {
    let index = gp_index(list);
    if index >= pop.size {
        return None;
    }
    let block = index / BLOCK;
    let plan = household::plan(&pop.key, block);
    let member = plan.members.first()?;
    let mut draw = Draw::new(&pop.key, Domain::Person, index);
    let (given, middle) = given_names(&mut draw);
    let office = pop.catalogue.office_unit_of_list(list)?;
    Some(GeneralPractitioner {
        list,
        hpr_number: HPR_BASE + pop.hpr_numbers.apply(index) as u32,
        name: full_name(given, middle, data().nouns[usize::from(member.family_name)]).into(),
        office: office.orgnr,
        office_name: office.name.as_str().into(),
    })
}

/// The households' addresses of a block. Most households live in the municipality of
/// their GP office; a few have protected addresses.
fn homes(pop: &Population, block: u64, plan: &Plan) -> Vec<(AddressProtection, Option<Address>)> {
    let d = data();
    let mut draw = Draw::new(&pop.key, Domain::Address, block);
    let office = block / GP_EVERY_BLOCKS / organisation::LISTS_PER_OFFICE;
    let local = organisation::office_place(&pop.key, office);
    let local_places: Vec<(usize, u32)> = d
        .place_weights
        .iter()
        .copied()
        .filter(|(i, _)| d.places[*i].municipality_number == local.municipality_number)
        .collect();
    (0..plan.households)
        .map(|_| {
            let protection = match draw.below(1000) {
                0..=2 => AddressProtection::StrengtFortrolig,
                3..=10 => AddressProtection::Fortrolig,
                _ => AddressProtection::Ugradert,
            };
            let place_index = if draw.chance(800) && !local_places.is_empty() {
                *draw.weighted(&local_places)
            } else {
                *draw.weighted(&d.place_weights)
            };
            let place = &d.places[place_index];
            let street = *draw.pick(&d.streets);
            let house_number = 1 + draw.below(120) as u16;
            let house_letter = draw.chance(100).then(|| *draw.pick(&['A', 'B', 'C']));
            let unit = draw.chance(350).then(|| FlatNumber {
                floor: 1 + draw.below(6) as u8,
                flat: 1 + draw.below(4) as u8,
            });
            let address = Address {
                street,
                house_number,
                house_letter,
                unit,
                postcode: place.postcode,
                post_town: place.post_town,
                municipality_number: place.municipality_number,
                municipality_name: place.municipality_name,
            };
            // Strengt fortrolig: Folkeregisteret stores no address at all.
            let address = (protection != AddressProtection::StrengtFortrolig).then_some(address);
            (protection, address)
        })
        .collect()
}

/// KRR: adults are mostly registered with e-mail and mobile; some reserve themselves.
fn krr(draw: &mut Draw, pid: &Nin, age: i32) -> Krr {
    let language = *draw.weighted(&[("nb", 85), ("nn", 12), ("en", 2), ("se", 1)]);
    if age < 16 || draw.chance(40) {
        return Krr {
            status: KrrStatus::IkkeRegistrert,
            reserved: false,
            can_be_notified: false,
            email: None,
            mobile: None,
            language,
        };
    }
    let reserved = draw.chance(30);
    let email = draw.chance(930).then(|| format!("{pid}_test@syntpop.test"));
    let mobile = draw.chance(950).then(|| {
        let first = if draw.chance(500) { 4 } else { 9 };
        format!("+47{first}{:07}", draw.below(10_000_000))
    });
    Krr {
        status: KrrStatus::Aktiv,
        reserved,
        can_be_notified: !reserved && (email.is_some() || mobile.is_some()),
        email,
        mobile,
        language,
    }
}

#[cfg(test)]
mod tests;
