//! Wall-clock time as Unix milliseconds, the one time representation stored and sent.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time zone of every date carenet reasons about: ages, consent validity,
/// safety exceptions, school years.
pub const ZONE: &str = "Europe/Amsterdam";

/// Today's date in the Netherlands (a pupil turns 16 on their Dutch birthday,
/// not on the server's UTC date).
pub fn today() -> time::Date {
    date_of(now_ms())
}

/// The Dutch calendar date of an instant (Unix milliseconds).
pub fn date_of(ms: i64) -> time::Date {
    let zoned = jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .in_tz(ZONE)
        .expect("the bundled time zone database holds Europe/Amsterdam");
    let d = zoned.date();
    time::Month::try_from(d.month() as u8)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(i32::from(d.year()), m, d.day() as u8).ok())
        .expect("a jiff date is a valid calendar date")
}

/// The first instant (Unix milliseconds) of the Dutch calendar day holding
/// `ms`: "today" for what is counted once a day.
pub fn day_start_ms(ms: i64) -> i64 {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .in_tz(ZONE)
        .and_then(|z| z.start_of_day())
        .expect("the bundled time zone database holds Europe/Amsterdam")
        .timestamp()
        .as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_are_dutch_dates() {
        // 2026-06-30 22:30 UTC is 1 July 00:30 in summer time (UTC+2).
        assert_eq!(date_of(1_782_858_600_000), date!(2026 - 07 - 01));
        // 2026-12-31 22:30 UTC is still 31 December 23:30 in winter (UTC+1).
        assert_eq!(date_of(1_798_756_200_000), date!(2026 - 12 - 31));
        // 23:30 UTC on 31 December is already New Year's Day.
        assert_eq!(date_of(1_798_759_800_000), date!(2027 - 01 - 01));
    }

    #[test]
    fn a_dutch_day_starts_at_dutch_midnight() {
        // 2026-06-30 22:30 UTC is 1 July 00:30: the day began 22:00 UTC.
        assert_eq!(day_start_ms(1_782_858_600_000), 1_782_856_800_000);
        // 2026-12-31 22:30 UTC is 31 December 23:30: the day began 30 Dec 23:00 UTC.
        assert_eq!(day_start_ms(1_798_756_200_000), 1_798_671_600_000);
    }
}
