//! SyntPop's reservation of persons for a team (nhn.no "Om SyntPop"; shared reference
//! §12.4): the +65 persons are created for, owned and edited by one user or team, and shown
//! to everyone else as owned by another ("Annen eier"). Test-Norge's +80 persons are a live
//! copy of the Folkeregister's test data and belong to nobody.
//!
//! The rules here are the testbed's one copy, used by the SyntPop pages and by the person
//! API's `$reserve` operation; who holds whom is kept by the STS's store.

use thiserror::Error;

use crate::Person;
use crate::nin::World;

/// Longest team name, in characters.
pub const MAX_TEAM_CHARS: usize = 64;

/// Why a reservation is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReservationError {
    #[error("a team name is 1 to {MAX_TEAM_CHARS} characters without control characters")]
    Team,
    #[error(
        "only SyntPop's +65 persons can be reserved; {0} is one of Test-Norge's persons, which belong to nobody"
    )]
    NotReservable(String),
}

/// The team name as it is kept: trimmed, 1–[`MAX_TEAM_CHARS`] characters, no control
/// characters.
pub fn team(name: &str) -> Result<&str, ReservationError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TEAM_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ReservationError::Team);
    }
    Ok(name)
}

/// Whether `person` may be reserved: a SyntPop +65 person.
pub fn check_reservable(person: &Person) -> Result<(), ReservationError> {
    if person.world == World::SyntPopReserved {
        Ok(())
    } else {
        Err(ReservationError::NotReservable(person.pid.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Population;

    #[test]
    fn a_team_name_is_trimmed_and_bounded() {
        assert_eq!(team("  team-a "), Ok("team-a"));
        assert_eq!(team(&"æ".repeat(MAX_TEAM_CHARS)).map(str::len), Ok(128));
        assert_eq!(team(""), Err(ReservationError::Team));
        assert_eq!(team("   "), Err(ReservationError::Team));
        assert_eq!(
            team(&"x".repeat(MAX_TEAM_CHARS + 1)),
            Err(ReservationError::Team)
        );
        assert_eq!(team("a\nb"), Err(ReservationError::Team));
    }

    #[test]
    fn only_plus_65_persons_are_reservable() {
        let pop = Population::new(1, 400).unwrap();
        let reserved = pop
            .persons()
            .find(|p| p.world == World::SyntPopReserved)
            .unwrap();
        let test_norge = pop
            .persons()
            .find(|p| p.world != World::SyntPopReserved)
            .unwrap();
        assert_eq!(check_reservable(&reserved), Ok(()));
        assert_eq!(
            check_reservable(&test_norge),
            Err(ReservationError::NotReservable(test_norge.pid.to_string()))
        );
    }
}
