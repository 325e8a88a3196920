//! A minimal proleptic Gregorian calendar date.
//!
//! The population only needs dates between 1854 and 2039 (the range the individual-number
//! table of folkeregisterforskriften covers), ISO formatting and day arithmetic; a small
//! type of our own keeps the crate free of a date-library dependency and its clock.

use std::fmt;

use serde::{Serialize, Serializer};

/// A calendar date. Construct with [`Date::new`], which refuses days that do not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Norwegian month names, as a person reads them in an error message.
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Date {
    /// The date, or `None` when the month or the day does not exist.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// The day of the year a 0-based index names when February 29 is left out, so that
    /// every year has the same 365 slots. Index 364 is December 31.
    pub fn from_year_slot(year: i32, slot: u16) -> Date {
        let mut rest = slot.min(364);
        let mut month = 1u8;
        loop {
            let len = u16::from(days_in_month(1900, month)); // 1900 is not a leap year
            if rest < len {
                break;
            }
            rest -= len;
            month += 1;
        }
        Date {
            year,
            month,
            day: rest as u8 + 1,
        }
    }

    /// The inverse of [`Date::from_year_slot`]: `None` for February 29.
    pub fn year_slot(self) -> Option<u16> {
        if self.month == 2 && self.day == 29 {
            return None;
        }
        let before: u16 = (1..self.month)
            .map(|m| u16::from(days_in_month(1900, m)))
            .sum();
        Some(before + u16::from(self.day) - 1)
    }

    /// Days since 1970-01-01 (negative before), for arithmetic between dates.
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::to_days`].
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// This date moved by `days` (negative goes back).
    pub fn plus_days(self, days: i64) -> Date {
        Date::from_days(self.to_days() + days)
    }

    /// Whole years from `self` to `on` (an age when `self` is a birth date).
    pub fn years_until(self, on: Date) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }

    /// The English name of a month number 1–12 (for messages).
    pub fn month_name(month: u8) -> &'static str {
        MONTH_NAMES
            .get(usize::from(month).wrapping_sub(1))
            .copied()
            .unwrap_or("an unknown month")
    }
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `month` (1–12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Date {
    /// `YYYY-MM-DD` as bytes, without going through `fmt` (serialising a million persons
    /// formats several million dates).
    fn iso_bytes(self) -> [u8; 10] {
        let y = self.year.clamp(0, 9999) as u32;
        let digit = |v: u32| b'0' + (v % 10) as u8;
        [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(u32::from(self.month) / 10),
            digit(u32::from(self.month)),
            b'-',
            digit(u32::from(self.day) / 10),
            digit(u32::from(self.day)),
        ]
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = self.iso_bytes();
        s.serialize_str(std::str::from_utf8(&bytes).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_days_that_do_not_exist() {
        assert!(Date::new(1983, 2, 29).is_none());
        assert!(Date::new(1984, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2001, 13, 1).is_none());
        assert!(Date::new(2001, 4, 31).is_none());
    }

    #[test]
    fn day_numbers_round_trip() {
        for days in (-60_000..30_000).step_by(7) {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
    }

    #[test]
    fn year_slots_skip_leap_day() {
        assert_eq!(Date::from_year_slot(1984, 0).to_string(), "1984-01-01");
        assert_eq!(Date::from_year_slot(1984, 59).to_string(), "1984-03-01");
        assert_eq!(Date::from_year_slot(1984, 364).to_string(), "1984-12-31");
        for slot in 0..365 {
            assert_eq!(Date::from_year_slot(2024, slot).year_slot(), Some(slot));
        }
        assert_eq!(Date::new(2024, 2, 29).unwrap().year_slot(), None);
    }

    #[test]
    fn serialises_as_iso() {
        let d = Date::new(985, 3, 5).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"0985-03-05\"");
        assert_eq!(d.to_string(), "0985-03-05");
    }

    #[test]
    fn ages() {
        let born = Date::new(1985, 3, 15).unwrap();
        assert_eq!(born.years_until(Date::new(2025, 3, 14).unwrap()), 39);
        assert_eq!(born.years_until(Date::new(2025, 3, 15).unwrap()), 40);
    }
}
