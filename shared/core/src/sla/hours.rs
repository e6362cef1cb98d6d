//! Business-hours arithmetic: the support team's working time, as configured in
//! `shared/sla-policy.json` (days, opening and closing times in UTC, holidays).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct BusinessHours {
    days: Vec<Weekday>,
    opens: NaiveTime,
    closes: NaiveTime,
    /// Date → the holiday's name, which is there for the reader of the policy file.
    holidays: BTreeMap<NaiveDate, String>,
}

impl BusinessHours {
    /// Why these hours cannot be counted in, if they cannot: every loop below relies on
    /// there being some working time in every week.
    pub(super) fn problem(&self) -> Option<&'static str> {
        if self.days.is_empty() {
            Some("business_hours.days is empty")
        } else if self.opens >= self.closes {
            Some("business_hours.opens is not before business_hours.closes")
        } else {
            None
        }
    }

    /// The working time in one business day (a "business day" target is this long).
    pub(super) fn day_length(&self) -> TimeDelta {
        self.closes - self.opens
    }

    /// The instant `working_time` of business hours after `start`; time before the next
    /// opening (a night, a weekend, a holiday) does not count.
    pub(super) fn add(&self, start: DateTime<Utc>, working_time: TimeDelta) -> DateTime<Utc> {
        let mut at = start;
        let mut left = working_time;
        loop {
            let (from, until) = self.open_period_from(at);
            let available = until - from;
            if left <= available {
                return from + left;
            }
            left -= available;
            at = until;
        }
    }

    /// The business hours between two instants (zero when `to` is not after `from`).
    pub(super) fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        let mut total = TimeDelta::zero();
        let mut day = from.date_naive();
        while day <= to.date_naive() {
            if self.is_business_day(day) {
                let start = from.max(day.and_time(self.opens).and_utc());
                let end = to.min(day.and_time(self.closes).and_utc());
                if end > start {
                    total += end - start;
                }
            }
            day = next_day(day);
        }
        total
    }

    /// The stretch of business hours that contains `at`, or the next one: it starts at `at`
    /// (or at the next opening) and ends at that day's closing.
    fn open_period_from(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let mut day = at.date_naive();
        loop {
            if self.is_business_day(day) {
                let closes = day.and_time(self.closes).and_utc();
                if at < closes {
                    return (at.max(day.and_time(self.opens).and_utc()), closes);
                }
            }
            day = next_day(day);
        }
    }

    fn is_business_day(&self, day: NaiveDate) -> bool {
        self.days.contains(&day.weekday()) && !self.holidays.contains_key(&day)
    }
}

fn next_day(day: NaiveDate) -> NaiveDate {
    day.succ_opt()
        .expect("a support ticket's dates are far from the end of chrono's calendar")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday–Friday 07:00–19:00 with one holiday, Monday 2026-11-30.
    fn hours() -> BusinessHours {
        serde_json::from_value(serde_json::json!({
            "days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "opens": "07:00",
            "closes": "19:00",
            "holidays": { "2026-11-30": "a test holiday" }
        }))
        .unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn adding_within_one_day_and_up_to_the_closing_stays_on_that_day() {
        let hours = hours();
        assert_eq!(
            hours.add(at("2026-11-18T10:00:00Z"), TimeDelta::hours(2)),
            at("2026-11-18T12:00:00Z")
        );
        assert_eq!(
            hours.add(at("2026-11-18T15:00:00Z"), TimeDelta::hours(4)),
            at("2026-11-18T19:00:00Z")
        );
    }

    #[test]
    fn adding_carries_over_the_night_and_the_weekend() {
        let hours = hours();
        // Wednesday 17:00 + 4h: two hours on Wednesday, two on Thursday morning.
        assert_eq!(
            hours.add(at("2026-11-18T17:00:00Z"), TimeDelta::hours(4)),
            at("2026-11-19T09:00:00Z")
        );
        // Friday 17:00 + 4h: Monday 09:00.
        assert_eq!(
            hours.add(at("2026-11-20T17:00:00Z"), TimeDelta::hours(4)),
            at("2026-11-23T09:00:00Z")
        );
    }

    #[test]
    fn time_outside_hours_counts_from_the_next_opening() {
        let hours = hours();
        // Saturday 10:00 and Sunday night both count from Monday 07:00.
        assert_eq!(
            hours.add(at("2026-11-21T10:00:00Z"), TimeDelta::hours(1)),
            at("2026-11-23T08:00:00Z")
        );
        assert_eq!(
            hours.add(at("2026-11-22T23:30:00Z"), TimeDelta::zero()),
            at("2026-11-23T07:00:00Z")
        );
        // Before opening, and exactly at closing.
        assert_eq!(
            hours.add(at("2026-11-18T05:00:00Z"), TimeDelta::minutes(30)),
            at("2026-11-18T07:30:00Z")
        );
        assert_eq!(
            hours.add(at("2026-11-18T19:00:00Z"), TimeDelta::minutes(30)),
            at("2026-11-19T07:30:00Z")
        );
    }

    #[test]
    fn a_holiday_is_skipped_like_a_weekend() {
        let hours = hours();
        // Friday 2026-11-27 17:00 + 4h: Monday 30th is the holiday, so Tuesday 09:00.
        assert_eq!(
            hours.add(at("2026-11-27T17:00:00Z"), TimeDelta::hours(4)),
            at("2026-12-01T09:00:00Z")
        );
        assert_eq!(
            hours.between(at("2026-11-27T17:00:00Z"), at("2026-12-01T09:00:00Z")),
            TimeDelta::hours(4)
        );
    }

    #[test]
    fn between_counts_only_business_hours_and_undoes_add() {
        let hours = hours();
        assert_eq!(
            hours.between(at("2026-11-20T17:00:00Z"), at("2026-11-23T09:00:00Z")),
            TimeDelta::hours(4)
        );
        // A whole week, Monday 07:00 to the next Monday 07:00: five days of twelve hours.
        assert_eq!(
            hours.between(at("2026-11-16T07:00:00Z"), at("2026-11-23T07:00:00Z")),
            TimeDelta::hours(60)
        );
        // Within a weekend, and backwards: nothing.
        assert_eq!(
            hours.between(at("2026-11-21T08:00:00Z"), at("2026-11-22T18:00:00Z")),
            TimeDelta::zero()
        );
        assert_eq!(
            hours.between(at("2026-11-23T09:00:00Z"), at("2026-11-20T17:00:00Z")),
            TimeDelta::zero()
        );
        for start in ["2026-11-18T06:10:00Z", "2026-11-19T18:59:00Z", "2026-11-21T12:00:00Z"] {
            for minutes in [1, 59, 720, 721, 3_000] {
                let working_time = TimeDelta::minutes(minutes);
                let end = hours.add(at(start), working_time);
                assert_eq!(hours.between(at(start), end), working_time, "{start} + {minutes} min");
            }
        }
    }
}
