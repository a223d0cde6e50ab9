//! Publication periods (SPEC section 4): a period divides a day evenly, is
//! aligned to multiples of itself since the Unix epoch, and is half-open.

use std::fmt;
use std::str::FromStr;

use crate::record::Day;
use time::OffsetDateTime;

const SECONDS_PER_DAY: i64 = 86_400;

/// A publication period, in whole seconds, that divides a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("a period is a number and a unit: 10s, 1m, 1h or 24h")]
    Syntax,
    #[error("a period must divide a day evenly (86400 s); {0} s does not")]
    DoesNotDivideDay(i64),
}

impl Period {
    pub const DAY: Period = Period {
        seconds: SECONDS_PER_DAY,
    };

    pub fn from_seconds(seconds: i64) -> Result<Period, PeriodError> {
        if seconds <= 0 || SECONDS_PER_DAY % seconds != 0 {
            return Err(PeriodError::DoesNotDivideDay(seconds));
        }
        Ok(Period { seconds })
    }

    pub fn seconds(self) -> i64 {
        self.seconds
    }

    /// The end of the period that contains `instant` (Unix seconds). An
    /// instant on a boundary belongs to the period that starts there.
    pub fn end_of_period_containing(self, instant: OffsetDateTime) -> i64 {
        let t = instant.unix_timestamp();
        (t.div_euclid(self.seconds) + 1) * self.seconds
    }

    /// The end of the first period that ends after `end` (Unix seconds):
    /// the next period to close once `end` has closed.
    pub fn next_end_after(self, end: i64) -> i64 {
        (end.div_euclid(self.seconds) + 1) * self.seconds
    }
}

/// The periods of a log over time: one period, and perhaps another from a
/// UTC midnight on (a change asked for takes effect at the next midnight,
/// which is a boundary of every period, so no period straddles it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSchedule {
    pub period: Period,
    /// The period from a midnight on (Unix seconds).
    pub change: Option<(i64, Period)>,
}

impl PeriodSchedule {
    pub fn fixed(period: Period) -> PeriodSchedule {
        PeriodSchedule {
            period,
            change: None,
        }
    }

    /// The period of the period that starts at, or contains, `t`.
    pub fn period_at(&self, t: i64) -> Period {
        match self.change {
            Some((from, period)) if t >= from => period,
            _ => self.period,
        }
    }

    /// See [`Period::end_of_period_containing`].
    pub fn end_of_period_containing(&self, instant: OffsetDateTime) -> i64 {
        self.period_at(instant.unix_timestamp())
            .end_of_period_containing(instant)
    }

    /// See [`Period::next_end_after`]; a period before the change ends at
    /// the change at the latest, since midnight ends every period.
    pub fn next_end_after(&self, end: i64) -> i64 {
        self.period_at(end).next_end_after(end)
    }
}

/// The UTC midnight after `instant` (Unix seconds).
pub fn next_midnight(instant: OffsetDateTime) -> i64 {
    Period::DAY.end_of_period_containing(instant)
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Period, PeriodError> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .ok_or(PeriodError::Syntax)?;
        let (number, unit) = text.split_at(split);
        let number: i64 = number.parse().map_err(|_| PeriodError::Syntax)?;
        let unit_seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => SECONDS_PER_DAY,
            _ => return Err(PeriodError::Syntax),
        };
        Period::from_seconds(
            number
                .checked_mul(unit_seconds)
                .ok_or(PeriodError::Syntax)?,
        )
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seconds {
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// The UTC day of an instant.
pub fn day_of(instant: OffsetDateTime) -> Day {
    Day(instant.to_offset(time::UtcOffset::UTC).date())
}

/// The UTC day a period ending at `end` closes: the day of its last second.
pub fn day_closed_by(end: i64) -> Day {
    day_of(instant(end - 1))
}

/// The period ends whose periods `day` closes (see [`day_closed_by`]):
/// after the day's first instant, up to and including the next midnight,
/// as `(after, up_to)`.
pub fn period_ends_of(day: Day) -> (i64, i64) {
    let start = day.0.midnight().assume_utc().unix_timestamp();
    (start, start + SECONDS_PER_DAY)
}

/// A Unix-seconds instant as a date-time.
pub fn instant(unix_seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix_seconds).expect("instants stay within the calendar")
}

/// RFC 3339 with a `Z`, as in `publish_after` and `period_end`.
pub fn rfc3339(unix_seconds: i64) -> String {
    let t = instant(unix_seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// A day's period ends are exactly those `day_closed_by` gives it.
    #[test]
    fn period_ends_of_a_day_are_the_ends_it_closes() {
        let day = Day::parse("2026-11-26").unwrap();
        let (after, up_to) = period_ends_of(day);
        let midnight = datetime!(2026-11-26 00:00 UTC).unix_timestamp();
        assert_eq!((after, up_to), (midnight, midnight + 86_400));
        assert_eq!(day_closed_by(after + 1), day);
        assert_eq!(day_closed_by(up_to), day);
        assert_ne!(day_closed_by(after), day);
        assert_ne!(day_closed_by(up_to + 1), day);
    }

    #[test]
    fn a_schedule_changes_period_at_its_midnight() {
        let hour = Period::from_seconds(3600).unwrap();
        let midnight = datetime!(2026-11-26 00:00 UTC).unix_timestamp();
        let schedule = PeriodSchedule {
            period: Period::DAY,
            change: Some((midnight, hour)),
        };
        let day_before = datetime!(2026-11-25 00:00 UTC).unix_timestamp();
        assert_eq!(schedule.next_end_after(day_before), midnight);
        assert_eq!(schedule.next_end_after(midnight), midnight + 3600);
        assert_eq!(
            schedule.end_of_period_containing(datetime!(2026-11-25 23:59:59 UTC)),
            midnight
        );
        assert_eq!(
            schedule.end_of_period_containing(datetime!(2026-11-26 00:00 UTC)),
            midnight + 3600
        );
        // Back to a day: the hours run up to the next midnight.
        let back = PeriodSchedule {
            period: hour,
            change: Some((midnight, Period::DAY)),
        };
        assert_eq!(back.next_end_after(midnight - 3600), midnight);
        assert_eq!(back.next_end_after(midnight), midnight + 86_400);
        assert_eq!(next_midnight(datetime!(2026-11-25 08:00 UTC)), midnight);
    }

    #[test]
    fn parses_and_refuses_periods() {
        assert_eq!("10s".parse::<Period>().unwrap().seconds(), 10);
        assert_eq!("1m".parse::<Period>().unwrap().seconds(), 60);
        assert_eq!("24h".parse::<Period>(), Ok(Period::DAY));
        assert_eq!(
            "7s".parse::<Period>(),
            Err(PeriodError::DoesNotDivideDay(7))
        );
        assert_eq!(
            "48h".parse::<Period>(),
            Err(PeriodError::DoesNotDivideDay(172_800))
        );
        for bad in ["", "s", "10", "-10s", "10 s", "1w"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_are_half_open() {
        let day = Period::DAY;
        let midnight = datetime!(2026-11-25 00:00:00 UTC);
        assert_eq!(
            rfc3339(day.end_of_period_containing(midnight - time::Duration::nanoseconds(1))),
            "2026-11-25T00:00:00Z"
        );
        assert_eq!(
            rfc3339(day.end_of_period_containing(midnight)),
            "2026-11-26T00:00:00Z"
        );
        assert_eq!(
            day_closed_by(midnight.unix_timestamp()).to_string(),
            "2026-11-24"
        );
        let ten = Period::from_seconds(10).unwrap();
        assert_eq!(
            ten.end_of_period_containing(datetime!(2026-11-25 00:00:09 UTC)) % 10,
            0
        );
        assert_eq!(ten.next_end_after(100), 110);
        assert_eq!(ten.next_end_after(105), 110);
    }
}
