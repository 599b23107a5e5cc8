//! A team's usage per UTC day (`/v1/capsules/usage`): vCPU-minutes and
//! MiB-minutes of the capsules that ran, one point for every day asked
//! for, days without any capsule included as zeros.
//!
//! Pure, over [`RunInterval`]s: each interval is cut at UTC midnights and
//! each piece charged to its day. A capsule still running is charged up
//! to "now", so today grows during the day and future days stay zero.

use time::{Date, Month};

use crate::app::AppError;
use crate::app::usage::RunInterval;

/// The longest span between `from` and `to`, in days.
pub(crate) const MAX_SPAN_DAYS: i64 = 366;
/// `from` when the request names none: this many days before `to`.
pub(crate) const DEFAULT_SPAN_DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: f64 = 60_000.0;

/// The days a usage request covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageDays {
    pub from: Date,
    pub to: Date,
}

/// One day's usage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayUsage {
    pub date: Date,
    pub cpu_minutes: f64,
    pub ram_mb_minutes: f64,
}

impl UsageDays {
    /// The days of `from=` and `to=` (`YYYY-MM-DD`, UTC). `to` defaults to
    /// `today`, `from` to [`DEFAULT_SPAN_DAYS`] before `to`. `from` after
    /// `to`, or more than [`MAX_SPAN_DAYS`] between them, is refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Date) -> Result<UsageDays, AppError> {
        let to = match to {
            Some(text) => parse_date("to", text)?,
            None => today,
        };
        let from = match from {
            Some(text) => parse_date("from", text)?,
            None => add_days(to, -DEFAULT_SPAN_DAYS)?,
        };
        if from > to {
            return Err(AppError::InvalidRequest(format!(
                "from ({}) is after to ({})",
                format_date(from),
                format_date(to)
            )));
        }
        if days_between(from, to) > MAX_SPAN_DAYS {
            return Err(AppError::InvalidRequest(format!(
                "from ({}) and to ({}) are more than {MAX_SPAN_DAYS} days apart",
                format_date(from),
                format_date(to)
            )));
        }
        Ok(UsageDays { from, to })
    }

    /// Every day, `from` first.
    pub fn days(self) -> impl Iterator<Item = Date> {
        let from = self.from;
        (0..=days_between(self.from, self.to)).filter_map(move |offset| add_days(from, offset).ok())
    }
}

/// The usage of every day of `days`, charging running intervals up to
/// `now_ms`.
pub(crate) fn daily_usage(intervals: &[RunInterval], days: UsageDays, now_ms: i64) -> Vec<DayUsage> {
    let first_day = day_number(days.from);
    let n_days = usize::try_from(days_between(days.from, days.to) + 1).unwrap_or(0);
    let window_start = first_day * DAY_MS;
    let window_end = (first_day + n_days as i64) * DAY_MS;
    let mut totals = vec![(0.0_f64, 0.0_f64); n_days];
    for interval in intervals {
        let start = interval.start_ms.max(window_start);
        let end = interval.end_ms.unwrap_or(now_ms).min(now_ms).min(window_end);
        let mut piece_start = start;
        while piece_start < end {
            let day = piece_start.div_euclid(DAY_MS);
            let piece_end = ((day + 1) * DAY_MS).min(end);
            let minutes = (piece_end - piece_start) as f64 / MINUTE_MS;
            if let Some(total) = usize::try_from(day - first_day).ok().and_then(|index| totals.get_mut(index)) {
                total.0 += interval.vcpus as f64 * minutes;
                total.1 += interval.memory_mb as f64 * minutes;
            }
            piece_start = piece_end;
        }
    }
    days.days()
        .zip(totals)
        .map(|(date, (cpu_minutes, ram_mb_minutes))| DayUsage {
            date,
            cpu_minutes: round_to_ten_thousandths(cpu_minutes),
            ram_mb_minutes: round_to_ten_thousandths(ram_mb_minutes),
        })
        .collect()
}

/// `YYYY-MM-DD`, as the SDK's `date` fields parse it.
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The UTC day that holds `unix_ms`.
pub(crate) fn utc_date(unix_ms: i64) -> Date {
    let epoch = day_number_of_epoch();
    Date::from_julian_day(i32::try_from(epoch + unix_ms.div_euclid(DAY_MS)).unwrap_or(i32::MAX)).unwrap_or(Date::MAX)
}

/// `YYYY-MM-DD` and nothing else (no time, no offset, no week dates).
fn parse_date(name: &str, text: &str) -> Result<Date, AppError> {
    let invalid = || AppError::InvalidRequest(format!("{name} {text:?} is not a date (YYYY-MM-DD)"));
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if !shaped {
        return Err(invalid());
    }
    let year: i32 = text[0..4].parse().map_err(|_| invalid())?;
    let month: u8 = text[5..7].parse().map_err(|_| invalid())?;
    let day: u8 = text[8..10].parse().map_err(|_| invalid())?;
    let month = Month::try_from(month).map_err(|_| invalid())?;
    Date::from_calendar_date(year, month, day).map_err(|_| invalid())
}

fn add_days(date: Date, days: i64) -> Result<Date, AppError> {
    i32::try_from(i64::from(date.to_julian_day()) + days)
        .ok()
        .and_then(|julian| Date::from_julian_day(julian).ok())
        .ok_or_else(|| AppError::InvalidRequest(format!("{} {days:+} days is out of range", format_date(date))))
}

fn days_between(from: Date, to: Date) -> i64 {
    i64::from(to.to_julian_day()) - i64::from(from.to_julian_day())
}

/// Days since 1970-01-01.
fn day_number(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - day_number_of_epoch()
}

fn day_number_of_epoch() -> i64 {
    i64::from(time::OffsetDateTime::UNIX_EPOCH.date().to_julian_day())
}

/// Keeps the JSON short; the store's reference kept four decimals too.
fn round_to_ten_thousandths(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    fn date(text: &str) -> Date {
        parse_date("test", text).unwrap()
    }

    /// Unix ms of `text`'s UTC midnight.
    fn midnight(text: &str) -> i64 {
        day_number(date(text)) * DAY_MS
    }

    fn interval(start_ms: i64, end_ms: Option<i64>, vcpus: u64, memory_mb: u64) -> RunInterval {
        RunInterval { start_ms, end_ms, vcpus, memory_mb }
    }

    #[test]
    fn dates_parse_strictly_and_format_back() {
        for text in ["2024-02-29", "1999-12-31", "2026-01-01"] {
            assert_eq!(format_date(date(text)), text);
        }
        for text in [
            "",
            "2024-2-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024/01/01",
            "2024-01-01T00:00:00Z",
            "+2024-01-01",
            "２０２４-01-01",
        ] {
            let error = parse_date("from", text).unwrap_err();
            assert_eq!(error.to_string(), format!("from {text:?} is not a date (YYYY-MM-DD)"), "{text:?}");
        }
    }

    #[test]
    fn utc_date_turns_at_midnight() {
        let cases = [
            (0, "1970-01-01"),
            (-1, "1969-12-31"),
            (midnight("2025-03-01") - 1, "2025-02-28"),
            (midnight("2025-03-01"), "2025-03-01"),
        ];
        for (unix_ms, expected) in cases {
            assert_eq!(format_date(utc_date(unix_ms)), expected, "{unix_ms}");
        }
    }

    #[test]
    fn usage_days_defaults_and_limits() {
        let today = date("2025-06-15");
        type Case = (Option<&'static str>, Option<&'static str>, Result<(&'static str, &'static str), &'static str>);
        let cases: [Case; 9] = [
            (None, None, Ok(("2025-05-16", "2025-06-15"))),
            (Some("2025-06-01"), None, Ok(("2025-06-01", "2025-06-15"))),
            (None, Some("2025-01-31"), Ok(("2025-01-01", "2025-01-31"))),
            (Some("2025-06-15"), Some("2025-06-15"), Ok(("2025-06-15", "2025-06-15"))),
            (Some("2024-06-14"), Some("2025-06-15"), Ok(("2024-06-14", "2025-06-15"))),
            (
                Some("2024-06-13"),
                Some("2025-06-15"),
                Err("from (2024-06-13) and to (2025-06-15) are more than 366 days apart"),
            ),
            (Some("2025-06-15"), Some("2025-06-12"), Err("from (2025-06-15) is after to (2025-06-12)")),
            (Some("2025-06-16"), None, Err("from (2025-06-16) is after to (2025-06-15)")),
            (Some("yesterday"), None, Err("from \"yesterday\" is not a date (YYYY-MM-DD)")),
        ];
        for (from, to, expected) in cases {
            let got = UsageDays::parse(from, to, today)
                .map(|days| (format_date(days.from), format_date(days.to)))
                .map_err(|error| error.to_string());
            let expected = expected.map(|(a, b)| (a.to_owned(), b.to_owned())).map_err(str::to_owned);
            assert_eq!(got, expected, "from={from:?} to={to:?}");
        }
    }

    #[test]
    fn every_day_gets_a_point_and_intervals_are_cut_at_midnight() {
        let days = UsageDays { from: date("2025-01-01"), to: date("2025-01-04") };
        let day1 = midnight("2025-01-01");
        let day2 = midnight("2025-01-02");
        let day3 = midnight("2025-01-03");
        let now = midnight("2025-01-04") + 6 * HOUR;
        type Case = (&'static str, Vec<RunInterval>, [(f64, f64); 4]);
        let cases: [Case; 7] = [
            ("no capsules: zeros on every day", vec![], [(0.0, 0.0); 4]),
            (
                "one hour inside one day",
                vec![interval(day2 + HOUR, Some(day2 + 2 * HOUR), 2, 512)],
                [(0.0, 0.0), (120.0, 30_720.0), (0.0, 0.0), (0.0, 0.0)],
            ),
            (
                "across midnight: each day gets its part",
                vec![interval(day2 - 30 * MIN, Some(day2 + 90 * MIN), 1, 100)],
                [(30.0, 3000.0), (90.0, 9000.0), (0.0, 0.0), (0.0, 0.0)],
            ),
            (
                "a whole day in the middle",
                vec![interval(day1 + 23 * HOUR, Some(day3 + HOUR), 1, 1)],
                [(60.0, 60.0), (1440.0, 1440.0), (60.0, 60.0), (0.0, 0.0)],
            ),
            (
                "before the range: clipped away",
                vec![interval(day1 - 10 * HOUR, Some(day1 + 15 * MIN), 4, 10)],
                [(60.0, 150.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)],
            ),
            (
                "still running: charged up to now",
                vec![interval(day3 + 18 * HOUR, None, 1, 2)],
                [(0.0, 0.0), (0.0, 0.0), (360.0, 720.0), (360.0, 720.0)],
            ),
            (
                "overlapping capsules add up",
                vec![
                    interval(day1, Some(day1 + 10 * MIN), 1, 10),
                    interval(day1 + 5 * MIN, Some(day1 + 15 * MIN), 2, 20),
                ],
                [(30.0, 300.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)],
            ),
        ];
        for (name, intervals, expected) in cases {
            let points = daily_usage(&intervals, days, now);
            let dates: Vec<String> = points.iter().map(|point| format_date(point.date)).collect();
            assert_eq!(dates, ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04"], "{name}");
            let totals: Vec<(f64, f64)> =
                points.iter().map(|point| (point.cpu_minutes, point.ram_mb_minutes)).collect();
            assert_eq!(totals, expected, "{name}");
        }
    }

    #[test]
    fn fractions_of_a_minute_are_kept_to_four_decimals() {
        let day = midnight("2025-01-01");
        let days = UsageDays { from: date("2025-01-01"), to: date("2025-01-01") };
        let points = daily_usage(&[interval(day, Some(day + 20_000), 1, 3)], days, day + DAY_MS);
        assert_eq!((points[0].cpu_minutes, points[0].ram_mb_minutes), (0.3333, 1.0));
    }

    #[test]
    fn a_full_year_has_one_point_per_day() {
        let days = UsageDays::parse(Some("2024-01-01"), Some("2024-12-31"), date("2025-01-01")).unwrap();
        let points = daily_usage(&[], days, 0);
        assert_eq!(points.len(), 366);
        assert_eq!(format_date(points[365].date), "2024-12-31");
    }
}
