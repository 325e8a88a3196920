//! What searches run over: for every person of the population, the names and birth date
//! (borrowed from the generator's static name tables, so the index is small), and the
//! logical ids of the FHIR resources in both directions.
//!
//! Persons themselves are not kept: a result page regenerates its persons from the
//! population by index, which is cheaper than holding a million of them.

use std::collections::HashMap;

use synthpop::date::Date;
use synthpop::{Person, Population};

/// One person as a search sees them.
#[derive(Debug, Clone)]
pub struct Entry {
    pub given: &'static str,
    pub middle: Option<&'static str>,
    pub family: &'static str,
    pub birth_date: Date,
}

/// The index of a population.
#[derive(Debug)]
pub struct PersonIndex {
    entries: Vec<Entry>,
    /// Person position by the first half of its opaque key.
    by_half: HashMap<u64, u32>,
    halves: Vec<u64>,
    keys: Vec<u128>,
}

impl PersonIndex {
    /// Reads every person of `population` once.
    pub fn build(population: &Population) -> PersonIndex {
        let n = usize::try_from(population.len()).unwrap_or(0);
        let mut entries = Vec::with_capacity(n);
        let mut by_half = HashMap::with_capacity(n);
        let mut halves = Vec::with_capacity(n);
        let mut keys = Vec::with_capacity(n);
        for p in population.persons() {
            let Ok(position) = u32::try_from(p.index) else {
                break;
            };
            let key = population.opaque_key(p.index);
            let half = (key >> 64) as u64;
            // A collision of 64-bit halves (about one in 10^8 for a million persons)
            // leaves the later person findable by search only; ids stay unique because
            // `by_half` is checked against the full key on lookup.
            by_half.entry(half).or_insert(position);
            halves.push(half);
            keys.push(key);
            entries.push(Entry {
                given: p.given_name,
                middle: p.middle_name,
                family: p.family_name,
                birth_date: p.birth_date,
            });
        }
        PersonIndex {
            entries,
            by_half,
            halves,
            keys,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The logical id of person `index`'s `Person` resource: their opaque key as a GUID.
    pub fn person_id(&self, index: u64) -> Option<String> {
        let key = *self.keys.get(usize::try_from(index).ok()?)?;
        Some(guid(key))
    }

    /// The person a `Person` id names.
    pub fn person_of(&self, id: &str) -> Option<u64> {
        let key = parse_guid(id)?;
        let position = *self.by_half.get(&((key >> 64) as u64))?;
        (self.keys.get(position as usize) == Some(&key)).then_some(u64::from(position))
    }

    /// The logical id of the `RelatedPerson` that relates `related` to `subject`: the first
    /// halves of their keys, as a GUID, so either end can be read back from it.
    pub fn related_id(&self, subject: u64, related: u64) -> Option<String> {
        let s = *self.halves.get(usize::try_from(subject).ok()?)?;
        let r = *self.halves.get(usize::try_from(related).ok()?)?;
        Some(guid((u128::from(s) << 64) | u128::from(r)))
    }

    /// `(subject, related)` of a `RelatedPerson` id.
    pub fn related_of(&self, id: &str) -> Option<(u64, u64)> {
        let key = parse_guid(id)?;
        let s = *self.by_half.get(&((key >> 64) as u64))?;
        let r = *self.by_half.get(&(key as u64))?;
        Some((u64::from(s), u64::from(r)))
    }

    /// The position of `person` (a person of this population).
    pub fn position(&self, person: &Person) -> Option<u64> {
        (usize::try_from(person.index).ok()? < self.entries.len()).then_some(person.index)
    }
}

/// The logical id of person `index`'s `Person` resource in `population`, without an index
/// (the SyntPop pages show it).
pub fn person_id(population: &Population, index: u64) -> String {
    guid(population.opaque_key(index))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case hex.
fn guid(key: u128) -> String {
    let h = format!("{key:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_guid(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_persons_and_nothing_else() {
        let pop = Population::new(7, 500).unwrap();
        let index = PersonIndex::build(&pop);
        assert_eq!(index.len(), 500);
        let id = index.person_id(123).unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(index.person_of(&id), Some(123));
        assert_eq!(person_id(&pop, 123), id);
        assert_eq!(index.person_of(&id.to_uppercase()), Some(123));
        // One changed digit names nobody.
        let mut other = id.clone().into_bytes();
        other[35] = if other[35] == b'0' { b'1' } else { b'0' };
        assert_eq!(index.person_of(&String::from_utf8(other).unwrap()), None);
        assert_eq!(index.person_of("not-a-guid"), None);
        assert_eq!(index.person_of(""), None);
        let rel = index.related_id(5, 9).unwrap();
        assert_eq!(index.related_of(&rel), Some((5, 9)));
        assert_ne!(index.related_id(9, 5), Some(rel));
        // Ids are stable for a seed and differ between seeds.
        let again = PersonIndex::build(&Population::new(7, 500).unwrap());
        assert_eq!(again.person_id(123), Some(id.clone()));
        let other_seed = PersonIndex::build(&Population::new(8, 500).unwrap());
        assert_ne!(other_seed.person_id(123), Some(id));
    }
}
