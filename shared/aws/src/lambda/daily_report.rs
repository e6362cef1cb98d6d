//! The daily report function's invocations: EventBridge's scheduled event (the report of
//! the UTC day before the event's time), or `{"day": "YYYY-MM-DD"}` for any past day.

use chrono::{DateTime, Days, Utc};
use serde_json::{json, Value};
use support_core::report::{parse_day, DailyReports, ReportError};
use support_core::telemetry;

#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("expected {{\"day\": \"YYYY-MM-DD\"}} or EventBridge's scheduled event, not {0}")]
    Unrecognised(String),
    #[error("`day` is not a day as YYYY-MM-DD: {0}")]
    BadDay(String),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// The day an invocation asks for. A scheduled event reports the day before its `time`
/// (the time it was due, so a retried event reports the same day), else before `now`.
pub fn requested_day(event: &Value, now: DateTime<Utc>) -> Result<chrono::NaiveDate, InvocationError> {
    if let Some(day) = event.get("day") {
        return day
            .as_str()
            .and_then(parse_day)
            .ok_or_else(|| InvocationError::BadDay(day.to_string()));
    }
    if event["detail-type"] == "Scheduled Event" {
        let due = event["time"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(now, |t| t.with_timezone(&Utc));
        let today = due.date_naive();
        return Ok(today.checked_sub_days(Days::new(1)).unwrap_or(today));
    }
    let mut shown = event.to_string();
    if shown.len() > 200 {
        shown.truncate(shown.floor_char_boundary(200));
        shown.push('…');
    }
    Err(InvocationError::Unrecognised(shown))
}

/// Makes the requested day's report; answers it, with where it was emailed. A report that
/// could not be made counts as an error; a malformed request, which no retry mends, does not.
pub async fn handle(reports: &DailyReports, event: &Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
    let day = requested_day(event, now)?;
    let produced = reports.produce(day, now).await.inspect_err(|_| telemetry::error())?;
    Ok(json!({
        "day": day,
        "emailed_to": produced.emailed_to.as_ref().map(|a| a.as_str()),
        "report": produced.report,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_schedule_reports_the_day_before_and_a_day_can_be_asked_for() {
        let now = at("2026-11-22T00:15:03Z");
        let scheduled = json!({
            "version": "0",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "time": "2026-11-22T00:15:00Z",
            "detail": {}
        });
        assert_eq!(requested_day(&scheduled, now).unwrap().to_string(), "2026-11-21");
        // A retry a day later still reports the day the event was for.
        let retried = at("2026-11-23T00:20:00Z");
        assert_eq!(requested_day(&scheduled, retried).unwrap().to_string(), "2026-11-21");
        let asked = json!({"day": "2026-10-05"});
        assert_eq!(requested_day(&asked, now).unwrap().to_string(), "2026-10-05");
        for bad in [
            json!({"day": "5 October"}),
            json!({"day": 20261005}),
            json!({"day": "2026-02-30"}),
        ] {
            assert!(
                matches!(requested_day(&bad, now), Err(InvocationError::BadDay(_))),
                "{bad}"
            );
        }
        let error = requested_day(&json!({"date": "2026-10-05"}), now).unwrap_err();
        assert!(matches!(error, InvocationError::Unrecognised(_)), "{error}");
        assert!(error.to_string().contains("{\"day\": \"YYYY-MM-DD\"}"), "{error}");
    }
}
