use std::collections::{HashMap, HashSet};

use super::*;
use crate::CivilStatus;
use crate::codes;
use crate::nin::Birth;

fn pop(seed: u64, size: u64) -> Population {
    Population::new(seed, size).expect("valid size")
}

#[test]
fn every_template_has_enough_ranks() {
    for year in OLDEST_YEAR..=CENSUS_YEAR {
        for day in 0..DAYS as u16 {
            let date = Date::from_year_slot(year, day);
            for (kind, world) in VARIANTS {
                for sex in [Sex::Female, Sex::Male] {
                    let t = NinTemplate::new(date, sex, kind, world).unwrap();
                    assert!(
                        t.nth(RANKS as usize - 1).is_some(),
                        "{date} {kind:?} {world:?} {sex:?} has fewer than {RANKS} numbers"
                    );
                }
            }
        }
    }
}

#[test]
fn sizes_are_checked() {
    assert_eq!(Population::new(1, 0).unwrap_err(), PopulationError::Empty);
    assert_eq!(
        Population::new(1, MAX_POPULATION + 1)
            .unwrap_err()
            .to_string(),
        format!(
            "count {} is more than the 2000000 persons a population can hold with unique identity numbers",
            MAX_POPULATION + 1
        )
    );
    assert!(Population::new(1, 1).is_ok());
}

#[test]
fn numbers_are_unique_valid_and_agree_with_the_person() {
    let p = pop(7, 40_000);
    let mut pids = HashSet::new();
    let mut hprs = HashSet::new();
    for person in p.persons() {
        assert!(pids.insert(person.pid), "{} twice", person.pid);
        let facts = nin::validate(person.pid.as_str()).unwrap();
        assert_eq!(facts.kind, person.pid_kind);
        assert_eq!(facts.world, person.world);
        assert!(
            person.world.is_synthetic(),
            "generated persons carry a synthetic marker"
        );
        assert_eq!(
            facts.birth,
            Some(Birth::Date {
                date: person.birth_date
            })
        );
        assert_eq!(facts.sex, Some(person.sex));
        assert!((OLDEST_YEAR..=CENSUS_YEAR).contains(&person.birth_date.year()));
        if let Some(h) = &person.hpr {
            assert!(hprs.insert(h.hpr_number), "HPR {} twice", h.hpr_number);
            assert_eq!(h.hpr_number.to_string().len(), 9);
        }
        assert_eq!(person.name, person.name.to_uppercase());
    }
    assert_eq!(pids.len(), 40_000);
    // The shares look like SyntPop: mostly Test-Norge, some reserved, some D-numbers.
    let count = |f: &dyn Fn(&Person) -> bool| p.persons().filter(|x| f(x)).count();
    let tenor = count(&|x| x.world == World::TestNorge);
    let reserved = count(&|x| x.world == World::SyntPopReserved);
    let dnr = count(&|x| x.pid_kind == NinKind::DNumber);
    assert!(
        tenor > 30_000 && reserved > 2_000 && dnr > 1_000,
        "{tenor} {reserved} {dnr}"
    );
}

/// Blocks that share an identity-number slot across variant epochs still get distinct numbers.
#[test]
fn numbers_stay_unique_across_epochs() {
    let p = pop(3, MAX_POPULATION);
    let mut seen = HashMap::new();
    for slot in (0..SLOTS).step_by(97) {
        for epoch in 0..4 {
            let block = slot + epoch * SLOTS;
            if block >= p.block_count() {
                continue;
            }
            let plan = household::plan(&p.key, block);
            for (i, m) in plan.members.iter().enumerate() {
                let (nin, ..) = p.pid_of(block, m);
                if let Some(other) = seen.insert(nin, (block, i)) {
                    panic!("{nin} for block {block} member {i} and {other:?}");
                }
            }
        }
    }
    // And they are found again from the number.
    for block in [SLOTS - 1, SLOTS, 2 * SLOTS + 5, p.block_count() - 1] {
        for person in p.block(block) {
            assert_eq!(
                p.by_pid(person.pid.as_str()).map(|x| x.index),
                Some(person.index)
            );
        }
    }
}

#[test]
fn person_by_index_matches_the_stream() {
    let p = pop(11, 3_000);
    let all: Vec<Person> = p.persons().collect();
    assert_eq!(all.len(), 3_000);
    for i in [0u64, 1, 7, 8, 511, 512, 1_999, 2_999] {
        assert_eq!(p.person(i).as_ref(), Some(&all[i as usize]));
    }
    assert_eq!(p.person(3_000), None);
}

#[test]
fn lookups_find_every_person() {
    let p = pop(5, 5_000);
    for person in p.persons() {
        let found = p.by_pid(person.pid.as_str()).unwrap();
        assert_eq!(found.index, person.index);
        if let Some(h) = &person.hpr {
            assert_eq!(p.by_hpr(h.hpr_number).map(|x| x.index), Some(person.index));
        }
    }
    // Valid numbers of nobody in this population.
    assert!(p.by_pid("15838512329").is_none());
    assert!(
        p.by_pid("15038512363").is_none(),
        "a real-world number is never generated"
    );
    assert!(p.by_pid("not a number").is_none());
    assert!(p.by_hpr(123).is_none());
    // A person of a larger population is outside a smaller one.
    let big = pop(5, 50_000);
    let outsider = big.person(49_999).unwrap();
    assert!(p.by_pid(outsider.pid.as_str()).is_none());
}

#[test]
fn name_and_tag_search() {
    let p = pop(9, 2_000);
    let someone = p.person(1_234).unwrap();
    let hits: Vec<u64> = p
        .search_name(&someone.name.to_lowercase())
        .map(|x| x.index)
        .collect();
    assert!(hits.contains(&someone.index));
    assert!(
        p.search_name(someone.family_name)
            .all(|x| x.name.contains(someone.family_name))
    );
    assert_eq!(p.search_name("   ").count(), 0);
    assert_eq!(p.search_name("NOSUCHNAMEANYWHERE").count(), 0);
    let doctors: Vec<Person> = p.with_tag("lege").collect();
    assert!(!doctors.is_empty());
    assert!(doctors.iter().all(|d| {
        d.hpr
            .as_ref()
            .is_some_and(|h| h.approvals.iter().any(|a| a.profession.value == "LE"))
    }));
    assert!(p.with_tag("barn").all(|x| x.age_on(census_date()) < 18));
    assert_eq!(p.with_tag("no-such-tag").count(), 0);
}

#[test]
fn relations_are_consistent() {
    let p = pop(13, 20_000);
    let by_pid: HashMap<Nin, Person> = p.persons().map(|x| (x.pid, x)).collect();
    let mut spouses = 0;
    let mut parents = 0;
    for person in by_pid.values() {
        if let Some(s) = person.relations.spouse {
            spouses += 1;
            let s = &by_pid[&s];
            assert_eq!(s.relations.spouse, Some(person.pid));
            assert_ne!(s.sex, person.sex);
            assert_eq!(person.civil_status, CivilStatus::Gift);
            assert!(person.age_on(census_date()) >= 16);
        }
        for (parent, sex) in [
            (person.relations.mother, Sex::Female),
            (person.relations.father, Sex::Male),
        ] {
            let Some(parent) = parent else { continue };
            parents += 1;
            let parent = &by_pid[&parent];
            assert_eq!(parent.sex, sex);
            assert!(parent.relations.children.contains(&person.pid));
            let gap = parent.birth_date.years_until(person.birth_date);
            assert!(
                (15..=60).contains(&gap),
                "{} born when parent was {gap}",
                person.pid
            );
        }
        for child in &person.relations.children {
            let child = &by_pid[child];
            assert!(
                child.relations.mother == Some(person.pid)
                    || child.relations.father == Some(person.pid)
            );
        }
    }
    assert!(spouses > 2_000 && parents > 4_000, "{spouses} {parents}");
}

#[test]
fn households_share_addresses_and_protection_hides_them() {
    let p = pop(17, 30_000);
    let mut fortrolig = 0;
    let mut strengt = 0;
    for person in p.persons() {
        match person.address_protection {
            AddressProtection::StrengtFortrolig => {
                strengt += 1;
                assert!(person.address.is_none());
            }
            AddressProtection::Fortrolig => {
                fortrolig += 1;
                assert!(person.address.is_some());
            }
            AddressProtection::Ugradert => assert!(person.address.is_some()),
        }
        // Children under 16 live with their mother (or father when she is absent).
        let parent = person.relations.mother.or(person.relations.father);
        if person.age_on(census_date()) < 16
            && let Some(parent) = parent.and_then(|m| p.by_pid(m.as_str()))
        {
            assert_eq!(parent.address, person.address, "{} lives apart", person.pid);
            assert_eq!(parent.address_protection, person.address_protection);
        }
    }
    // Realistic low rates: about 0.8 % and 0.3 % of households.
    assert!((50..=600).contains(&fortrolig), "{fortrolig}");
    assert!((10..=300).contains(&strengt), "{strengt}");
}

#[test]
fn gp_lists_and_health_personnel() {
    let p = pop(19, 10_000);
    assert_eq!(p.gp_list_count(), 10_000u64.div_ceil(512));
    for list in 0..p.gp_list_count() {
        let l = p.gp_list(list).unwrap();
        let hpr = l.doctor.hpr.as_ref().unwrap();
        let a = &hpr.approvals[0];
        assert_eq!(a.profession.value, "LE");
        assert_eq!(a.authorization, codes::AUTHORIZATION);
        assert_eq!(a.specialities, vec![codes::GENERAL_PRACTICE]);
        assert_eq!(a.requisition_rights, vec![codes::FULL_REQUISITION_RIGHTS]);
        let role = hpr.gp_list.as_ref().unwrap();
        assert_eq!(role.office, l.office.orgnr);
        assert!(l.office.gp_lists.contains(&list));
        assert!(p.organisation(role.office).is_some());
        assert!(p.organisation(role.office_parent.unwrap()).is_some());
    }
    let mut listed = 0;
    for person in p.persons() {
        if let Some(gp) = &person.gp {
            listed += 1;
            let doctor = p.by_hpr(gp.hpr_number).unwrap();
            assert_eq!(doctor.name.as_str(), &*gp.name);
            assert_eq!(doctor.hpr.unwrap().gp_list.unwrap().list, gp.list);
            assert_ne!(doctor.pid, person.pid, "nobody is their own GP");
        }
        if let Some(h) = &person.hpr {
            assert!(person.age_on(census_date()) >= 23);
            for a in &h.approvals {
                assert!(a.valid_from > person.birth_date);
                assert!(a.valid_to.is_none_or(|to| to > a.valid_from));
            }
        }
    }
    assert!(listed > 9_000, "{listed}");
    let practitioners = p.practitioners().count();
    assert!((400..=1_500).contains(&practitioners), "{practitioners}");
}

#[test]
fn hpr_details_claim_has_helseids_shape() {
    let p = pop(19, 600);
    let gp = p.gp_list(0).unwrap().doctor;
    let claim = gp.hpr.unwrap().hpr_details_claim(census_date());
    assert!(claim["hpr_number"].is_u64());
    let a = &claim["approvals"][0];
    assert_eq!(a["profession"], "LE");
    assert_eq!(a["authorization"]["value"], "1");
    assert_eq!(a["authorization"]["description"], "Autorisasjon");
    assert_eq!(a["requisition_rights"][0]["value"], "1");
    assert_eq!(a["specialities"][0]["description"], "Allmennmedisin");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let render = |seed| {
        let p = pop(seed, 200);
        serde_json::to_string(&p.persons().collect::<Vec<_>>()).unwrap()
            + &serde_json::to_string(p.organisations()).unwrap()
    };
    assert_eq!(render(1), render(1));
    assert_ne!(render(1), render(2));
}

#[test]
fn small_population_snapshot() {
    let p = pop(crate::DEFAULT_SEED, 10);
    let persons: Vec<Person> = p.persons().collect();
    insta::assert_json_snapshot!("persons_seed_default_10", persons);
    insta::assert_json_snapshot!("organisations_seed_default_10", p.organisations());
}
