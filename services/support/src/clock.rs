//! The time the slice reasons in. The procedure's deadlines and a
//! decision's validity count in Dutch calendar days, and "today" comes
//! from a [`Clock`] the slice is given: the wall clock in a node
//! ([`WallClock`]), a set and movable one in tests ([`SetClock`]), so
//! tests move time without sleeping. No timer runs in the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, Month};

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Today's date in the Netherlands.
    fn today(&self) -> Date {
        carenet_fabric::clock::date_of(self.now_ms())
    }
}

/// The wall clock (a node).
#[derive(Clone, Copy, Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now_ms(&self) -> i64 {
        carenet_fabric::clock::now_ms()
    }
}

/// A clock set by hand (tests, benchmarks, the demo's seeded history):
/// clones share the instant, so a test moves the clock the slice reads.
#[derive(Clone, Debug)]
pub struct SetClock(Arc<AtomicI64>);

impl SetClock {
    /// A clock standing at noon (Dutch time, near enough) on `day`.
    pub fn at(day: Date) -> Self {
        SetClock(Arc::new(AtomicI64::new(noon_ms(day))))
    }

    /// Moves the clock to noon on `day`.
    pub fn set(&self, day: Date) {
        self.0.store(noon_ms(day), Ordering::SeqCst);
    }

    /// Moves the clock `days` calendar days on.
    pub fn advance_days(&self, days: i64) {
        self.0.fetch_add(days * 86_400_000, Ordering::SeqCst);
    }
}

impl Clock for SetClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// 11:00 UTC on `day`: noon or 13:00 in the Netherlands, the same date
/// whatever the season.
fn noon_ms(day: Date) -> i64 {
    day.with_hms(11, 0, 0)
        .map(|t| t.assume_utc().unix_timestamp() * 1000)
        .unwrap_or(0)
}

/// The last day of the school year holding `day`: a Dutch school year runs
/// from 1 August to 31 July.
pub fn school_year_end(day: Date) -> Date {
    let year = if day.month() >= Month::August {
        day.year() + 1
    } else {
        day.year()
    };
    // 31 July exists in every year.
    Date::from_calendar_date(year, Month::July, 31).unwrap_or(day)
}

/// The end of a decision's validity starting `starts_on`: the last day of
/// the `school_years`-th school year counted from the one it starts in
/// (1: the end of this school year; the default setting is 2).
pub fn validity_end(starts_on: Date, school_years: u8) -> Date {
    let end = school_year_end(starts_on);
    let more = i32::from(school_years.max(1)) - 1;
    Date::from_calendar_date(end.year() + more, Month::July, 31).unwrap_or(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_school_year_ends_on_31_july() {
        assert_eq!(
            school_year_end(date!(2026 - 12 - 08)),
            date!(2027 - 07 - 31)
        );
        assert_eq!(
            school_year_end(date!(2027 - 07 - 31)),
            date!(2027 - 07 - 31)
        );
        // 1 August is the first day of the next school year.
        assert_eq!(
            school_year_end(date!(2027 - 08 - 01)),
            date!(2028 - 07 - 31)
        );
        assert_eq!(
            school_year_end(date!(2027 - 03 - 15)),
            date!(2027 - 07 - 31)
        );
    }

    #[test]
    fn validity_runs_to_the_end_of_the_second_school_year() {
        assert_eq!(
            validity_end(date!(2026 - 12 - 08), 2),
            date!(2028 - 07 - 31)
        );
        assert_eq!(
            validity_end(date!(2027 - 07 - 31), 2),
            date!(2028 - 07 - 31)
        );
        assert_eq!(
            validity_end(date!(2027 - 08 - 01), 2),
            date!(2029 - 07 - 31)
        );
        assert_eq!(
            validity_end(date!(2026 - 12 - 08), 1),
            date!(2027 - 07 - 31)
        );
        assert_eq!(
            validity_end(date!(2026 - 12 - 08), 3),
            date!(2029 - 07 - 31)
        );
    }

    #[test]
    fn a_set_clock_moves_without_sleeping_and_its_clones_follow() {
        let clock = SetClock::at(date!(2026 - 12 - 08));
        let seen_by_slice = clock.clone();
        assert_eq!(seen_by_slice.today(), date!(2026 - 12 - 08));
        clock.advance_days(42);
        assert_eq!(seen_by_slice.today(), date!(2027 - 01 - 19));
        // Across the switch to summer time the date stays the date.
        clock.set(date!(2027 - 03 - 28));
        assert_eq!(seen_by_slice.today(), date!(2027 - 03 - 28));
        assert!(WallClock.now_ms() > 1_700_000_000_000);
    }
}
