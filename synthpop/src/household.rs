//! Households: who the persons of one block of [`BLOCK`] consecutive indices are to each
//! other.
//!
//! A block is drawn from its own ChaCha stream, so any person's relatives are known from
//! the block alone. A block holds one or more family units (a couple with children, three
//! generations, a single parent, a couple, a single); each unit lives in one household,
//! except that an adult child in a three-generation family has a household of their own.
//! No two members of a block share (birth year, sex): that is what lets the block's one
//! identity-number slot give every member a distinct number (see `population.rs`).

use crate::data::data;
use crate::nin::Sex;
use crate::rng::{Domain, Draw};

/// Persons per block.
pub(crate) const BLOCK: u64 = 8;
/// The generator's census year: nobody is born after it, ages are counted at its end.
pub const CENSUS_YEAR: i32 = 2025;
/// The oldest birth year generated.
pub const OLDEST_YEAR: i32 = 1915;
/// Every `GP_EVERY_BLOCKS`-th block has a general practitioner in slot 0.
pub(crate) const GP_EVERY_BLOCKS: u64 = 64;

/// Sivilstand (Folkeregisteret's code values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CivilStatus {
    Ugift,
    Gift,
    Skilt,
    EnkeEllerEnkemann,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub year: i32,
    pub sex: Sex,
    pub household: u8,
    pub mother: Option<u8>,
    pub father: Option<u8>,
    pub spouse: Option<u8>,
    /// Index into the noun list.
    pub family_name: u16,
    pub civil: CivilStatus,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub members: Vec<Member>,
    pub households: u8,
}

impl Plan {
    pub(crate) fn children_of(&self, slot: u8) -> impl Iterator<Item = u8> + '_ {
        self.members
            .iter()
            .enumerate()
            .filter(move |(_, m)| m.mother == Some(slot) || m.father == Some(slot))
            .map(|(i, _)| i as u8)
    }

    /// The slot of the member born in `year` with `sex`, if any.
    pub(crate) fn slot_of(&self, year: i32, sex: Sex) -> Option<u8> {
        self.members
            .iter()
            .position(|m| m.year == year && m.sex == sex)
            .map(|p| p as u8)
    }
}

struct Builder<'d> {
    draw: &'d mut Draw,
    members: Vec<Member>,
    households: u8,
}

impl Builder<'_> {
    fn room(&self) -> usize {
        BLOCK as usize - self.members.len()
    }

    fn new_household(&mut self) -> u8 {
        self.households += 1;
        self.households - 1
    }

    fn noun(&mut self) -> u16 {
        self.draw.below(data().nouns.len() as u64) as u16
    }

    /// Adds a member born as close to `year` as the (year, sex) rule allows, within
    /// `lo..=hi`. Returns its slot.
    fn add(&mut self, year: i32, sex: Sex, household: u8, lo: i32, hi: i32) -> u8 {
        let taken = |y: i32| self.members.iter().any(|m| m.year == y && m.sex == sex);
        // The nearest free year, first within lo..=hi, else anywhere in the generated range
        // (with at most eight members a free year always exists).
        let nearest = |lo: i32, hi: i32| {
            (0..=(CENSUS_YEAR - OLDEST_YEAR))
                .flat_map(|d| [year + d, year - d])
                .find(|y| (lo..=hi).contains(y) && !taken(*y))
        };
        let chosen = nearest(lo.max(OLDEST_YEAR), hi.min(CENSUS_YEAR))
            .or_else(|| nearest(OLDEST_YEAR, CENSUS_YEAR))
            .unwrap_or(year);
        let family_name = self.noun();
        self.members.push(Member {
            year: chosen,
            sex,
            household,
            mother: None,
            father: None,
            spouse: None,
            family_name,
            civil: CivilStatus::Ugift,
        });
        (self.members.len() - 1) as u8
    }

    fn sex(&mut self) -> Sex {
        if self.draw.chance(500) {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// A couple; returns (woman, man). The woman is born in `woman_lo..=woman_hi`, the man
    /// up to six years before or two after her.
    fn couple(&mut self, household: u8, woman_lo: i32, woman_hi: i32) -> (u8, u8) {
        let woman_year = self.draw.between(i64::from(woman_lo), i64::from(woman_hi)) as i32;
        let man_year = woman_year - self.draw.between(-2, 6) as i32;
        let woman_first = self.draw.chance(500);
        let (w, m) = if woman_first {
            let w = self.add(woman_year, Sex::Female, household, woman_lo, woman_hi);
            let y = self.members[w as usize].year - (woman_year - man_year);
            let m = self.add(y, Sex::Male, household, y - 8, y + 8);
            (w, m)
        } else {
            let m = self.add(man_year, Sex::Male, household, woman_lo - 6, woman_hi + 2);
            let y = self.members[m as usize].year + (woman_year - man_year);
            let w = self.add(y, Sex::Female, household, y - 8, y + 8);
            (w, m)
        };
        // Three in four couples are married; the rest live together (sambo) unmarried.
        if self.draw.chance(750) {
            self.members[w as usize].spouse = Some(m);
            self.members[m as usize].spouse = Some(w);
            self.members[w as usize].civil = CivilStatus::Gift;
            self.members[m as usize].civil = CivilStatus::Gift;
        }
        // Half of the women take the man's family name.
        if self.draw.chance(500) {
            self.members[w as usize].family_name = self.members[m as usize].family_name;
        }
        (w, m)
    }

    /// Up to `max` children of `mother` and/or `father`, born when the mother (or the
    /// father) was 21–41 and not after the census year.
    fn children(&mut self, mother: Option<u8>, father: Option<u8>, household: u8, max: usize) {
        let Some(parent) = mother.or(father) else {
            return;
        };
        let parent_year = self.members[parent as usize].year;
        let wanted = *self.draw.weighted(&[(1usize, 35), (2, 45), (3, 20)]);
        for _ in 0..wanted.min(max).min(self.room()) {
            let lo = parent_year + 21;
            let hi = (parent_year + 41).min(CENSUS_YEAR);
            if lo > hi {
                return;
            }
            let year = self.draw.between(i64::from(lo), i64::from(hi)) as i32;
            let sex = self.sex();
            let child = self.add(year, sex, household, lo, hi);
            let name_from_father = father.is_some() && (mother.is_none() || self.draw.chance(600));
            let name_parent = if name_from_father { father } else { mother };
            let m = &mut self.members[child as usize];
            m.mother = mother;
            m.father = father;
            if let Some(p) = name_parent {
                let name = self.members[p as usize].family_name;
                self.members[child as usize].family_name = name;
            }
        }
    }

    fn single(&mut self) {
        let household = self.new_household();
        let year = self.draw.between(1930, 2007) as i32;
        let sex = self.sex();
        let slot = self.add(year, sex, household, OLDEST_YEAR, 2007);
        let age = CENSUS_YEAR - self.members[slot as usize].year;
        let civil = if age >= 75 && self.draw.chance(450) {
            CivilStatus::EnkeEllerEnkemann
        } else if age >= 35 && self.draw.chance(300) {
            CivilStatus::Skilt
        } else {
            CivilStatus::Ugift
        };
        self.members[slot as usize].civil = civil;
    }

    fn couple_with_children(&mut self, woman_lo: i32, woman_hi: i32) {
        let household = self.new_household();
        let (w, m) = self.couple(household, woman_lo, woman_hi);
        let room = self.room();
        self.children(Some(w), Some(m), household, room.min(3));
    }

    fn three_generations(&mut self) {
        let elders = self.new_household();
        let (gw, gm) = self.couple(elders, 1936, 1962);
        let young = self.new_household();
        let gw_year = self.members[gw as usize].year;
        let lo = gw_year + 22;
        let hi = (gw_year + 38).min(2001);
        let year = self.draw.between(i64::from(lo), i64::from(hi.max(lo))) as i32;
        let sex = self.sex();
        let adult = self.add(year, sex, young, lo, hi.max(lo));
        self.members[adult as usize].mother = Some(gw);
        self.members[adult as usize].father = Some(gm);
        let name = if self.draw.chance(700) { gm } else { gw };
        self.members[adult as usize].family_name = self.members[name as usize].family_name;
        // The adult child's partner and their children.
        let adult_year = self.members[adult as usize].year;
        let partner_sex = match sex {
            Sex::Female => Sex::Male,
            Sex::Male => Sex::Female,
        };
        let partner_year = adult_year + self.draw.between(-4, 4) as i32;
        let partner = self.add(
            partner_year,
            partner_sex,
            young,
            adult_year - 8,
            adult_year + 8,
        );
        if self.draw.chance(700) {
            self.members[adult as usize].spouse = Some(partner);
            self.members[partner as usize].spouse = Some(adult);
            self.members[adult as usize].civil = CivilStatus::Gift;
            self.members[partner as usize].civil = CivilStatus::Gift;
        }
        let (mother, father) = match sex {
            Sex::Female => (adult, partner),
            Sex::Male => (partner, adult),
        };
        let room = self.room();
        self.children(Some(mother), Some(father), young, room.min(2));
    }

    fn single_parent(&mut self) {
        let household = self.new_household();
        let sex = if self.draw.chance(800) {
            Sex::Female
        } else {
            Sex::Male
        };
        let year = self.draw.between(1965, 2001) as i32;
        let parent = self.add(year, sex, household, 1965, 2001);
        if self.draw.chance(500) {
            self.members[parent as usize].civil = CivilStatus::Skilt;
        }
        let (mother, father) = match sex {
            Sex::Female => (Some(parent), None),
            Sex::Male => (None, Some(parent)),
        };
        let room = self.room();
        self.children(mother, father, household, room.min(2));
    }

    fn couple_alone(&mut self) {
        let household = self.new_household();
        self.couple(household, 1935, 2002);
    }
}

/// The plan of block `b`.
pub(crate) fn plan(key: &[u8; 32], block: u64) -> Plan {
    let mut draw = Draw::new(key, Domain::Household, block);
    let mut b = Builder {
        draw: &mut draw,
        members: Vec::with_capacity(BLOCK as usize),
        households: 0,
    };
    if block.is_multiple_of(GP_EVERY_BLOCKS) {
        // Slot 0 becomes a general practitioner: an adult of working age.
        b.couple_with_children(1962, 1990);
    }
    #[derive(Clone, Copy)]
    enum Unit {
        CoupleWithChildren,
        ThreeGenerations,
        SingleParent,
        Couple,
        Single,
    }
    const UNITS: &[(Unit, u32)] = &[
        (Unit::CoupleWithChildren, 30),
        (Unit::ThreeGenerations, 12),
        (Unit::SingleParent, 10),
        (Unit::Couple, 18),
        (Unit::Single, 30),
    ];
    while b.room() > 0 {
        let unit = *b.draw.weighted(UNITS);
        match (unit, b.room()) {
            (Unit::ThreeGenerations, room) if room >= 5 => b.three_generations(),
            (Unit::CoupleWithChildren, room) if room >= 3 => b.couple_with_children(1962, 2000),
            (Unit::SingleParent, room) if room >= 2 => b.single_parent(),
            (Unit::Couple, room) if room >= 2 => b.couple_alone(),
            _ => b.single(),
        }
    }
    Plan {
        members: b.members,
        households: b.households,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::key_for;

    #[test]
    fn blocks_are_full_and_consistent() {
        let key = key_for(11);
        for block in 0..3000 {
            let p = plan(&key, block);
            assert_eq!(p.members.len(), BLOCK as usize);
            for (i, m) in p.members.iter().enumerate() {
                assert!((OLDEST_YEAR..=CENSUS_YEAR).contains(&m.year), "{m:?}");
                assert_eq!(
                    p.slot_of(m.year, m.sex),
                    Some(i as u8),
                    "block {block}: (year, sex) repeats"
                );
                if let Some(s) = m.spouse {
                    assert_eq!(p.members[s as usize].spouse, Some(i as u8));
                    assert_ne!(p.members[s as usize].sex, m.sex);
                    assert_eq!(m.civil, CivilStatus::Gift);
                }
                if let Some(mo) = m.mother {
                    let mother = p.members[mo as usize];
                    assert_eq!(mother.sex, Sex::Female);
                    let gap = m.year - mother.year;
                    assert!((15..=50).contains(&gap), "block {block}: mother gap {gap}");
                }
                if let Some(fa) = m.father {
                    let father = p.members[fa as usize];
                    assert_eq!(father.sex, Sex::Male);
                    let gap = m.year - father.year;
                    assert!((15..=60).contains(&gap), "block {block}: father gap {gap}");
                }
            }
            if block.is_multiple_of(GP_EVERY_BLOCKS) {
                let age = CENSUS_YEAR - p.members[0].year;
                assert!((30..=70).contains(&age), "GP aged {age}");
            }
        }
    }
}
