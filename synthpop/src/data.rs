//! Embedded word lists and places (`synthpop/data/`), parsed once.
//!
//! Plain text files so that anyone can extend them; changing a list changes every
//! population, so bump [`crate::GENERATOR_VERSION`] when you do.

use std::sync::OnceLock;

/// A real Norwegian postcode with its municipality (2024 numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub postcode: &'static str,
    pub post_town: &'static str,
    pub municipality_number: &'static str,
    pub municipality_name: &'static str,
    pub weight: u32,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub adjectives: Vec<&'static str>,
    pub nouns: Vec<&'static str>,
    pub animals: Vec<&'static str>,
    pub streets: Vec<&'static str>,
    pub places: Vec<Place>,
    /// Places weighted for drawing: (index into `places`, weight).
    pub place_weights: Vec<(usize, u32)>,
}

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn parse_places(text: &'static str) -> Vec<Place> {
    lines(text)
        .filter_map(|line| {
            let mut f = line.split('\t');
            Some(Place {
                postcode: f.next()?,
                post_town: f.next()?,
                municipality_number: f.next()?,
                municipality_name: f.next()?,
                weight: f.next()?.parse().ok()?,
            })
        })
        .collect()
}

pub(crate) fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let places = parse_places(include_str!("../data/postcodes.tsv"));
        let place_weights = places
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.weight))
            .collect();
        Data {
            adjectives: lines(include_str!("../data/adjectives.txt")).collect(),
            nouns: lines(include_str!("../data/nouns.txt")).collect(),
            animals: lines(include_str!("../data/animals.txt")).collect(),
            streets: lines(include_str!("../data/streets.txt")).collect(),
            places,
            place_weights,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_loaded_and_clean() {
        let d = data();
        assert!(d.adjectives.len() >= 100, "{}", d.adjectives.len());
        assert!(d.nouns.len() >= 100);
        assert!(d.animals.len() >= 20);
        assert!(d.places.len() >= 50);
        let mut municipalities: Vec<_> = d.places.iter().map(|p| p.municipality_number).collect();
        municipalities.sort_unstable();
        municipalities.dedup();
        assert!(municipalities.len() >= 30);
        for w in d.adjectives.iter().chain(&d.nouns).chain(&d.animals) {
            assert_eq!(w.to_uppercase(), *w, "{w} is not upper case");
            assert!(!w.contains(' '), "{w:?}");
        }
        assert!(d.nouns.iter().any(|n| n.contains('Ø')));
        assert!(d.adjectives.iter().any(|n| n.contains('Å')));
        for p in &d.places {
            assert_eq!(p.postcode.len(), 4, "{p:?}");
            assert_eq!(p.municipality_number.len(), 4, "{p:?}");
        }
        let mut sorted = d.adjectives.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), d.adjectives.len(), "duplicate adjective");
        let mut sorted = d.nouns.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), d.nouns.len(), "duplicate noun");
    }
}
