//! `Schedule` and `ScheduleV2` events: what EventBridge does for a function on a schedule.
//!
//! One timer task per event invokes the function with the "Scheduled Event" EventBridge
//! sends (or the event's `Input`) every `rate(...)` period; `cron(...)` and `at(...)`
//! schedules are not run on a timer, but [`crate::LocalStack::run_scheduled`] runs any
//! schedule at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::functions::ScheduledFunction;

/// The period of a `rate(N unit)` expression; `None` for `cron(...)` and `at(...)`.
pub fn rate(expression: &str) -> Result<Option<Duration>, String> {
    let e = expression.trim();
    if e.starts_with("cron(") || e.starts_with("at(") {
        return Ok(None);
    }
    let bad = || format!("`{expression}` is not rate(N minutes|hours|days|seconds), cron(...) or at(...)");
    let inner = e
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (n, unit) = inner.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
    let n: u64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let seconds = match unit.trim() {
        "second" | "seconds" => 1,
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86400,
        _ => return Err(bad()),
    };
    Ok(Some(Duration::from_secs(n * seconds)))
}

/// One schedule event of a function, ready to run.
pub struct ScheduleTarget {
    pub function: String,
    pub event: String,
    /// The rule's ARN (`ScheduleV2`: the schedule's), the event's `resources`.
    pub arn: String,
    pub region: String,
    pub account_id: String,
    /// Sent instead of the scheduled event when the template sets `Input`.
    pub input: Option<Json>,
    /// How often the timer fires; `None`: not on a timer (cron, at, or disabled).
    pub interval: Option<Duration>,
    /// The function's Timeout: an invocation running longer has failed.
    pub timeout: Duration,
    pub handler: Arc<dyn ScheduledFunction>,
}

impl ScheduleTarget {
    /// What the function receives: the event EventBridge sends for a scheduled rule.
    pub fn event(&self) -> Json {
        if let Some(input) = &self.input {
            return input.clone();
        }
        json!({
            "version": "0",
            "id": uuid::Uuid::new_v4().to_string(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": self.region,
            "resources": [self.arn],
            "detail": {},
        })
    }

    /// One invocation, in its own task so that a panic fails this invocation only.
    pub async fn invoke(&self) -> Result<(), String> {
        let handler = self.handler.clone();
        let event = self.event();
        let task = tokio::spawn(async move { handler.call(event).await });
        let abort = task.abort_handle();
        match tokio::time::timeout(self.timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) if join.is_panic() => Err(format!(
                "panicked: {}",
                support_aws::lambda::panic_message(&*join.into_panic())
            )),
            Ok(Err(join)) => Err(join.to_string()),
            Err(_) => {
                abort.abort();
                Err(format!("timed out after {:?}", self.timeout))
            }
        }
    }

    /// Invokes the function every interval until `stop` turns true; the first invocation
    /// comes one interval after the start, as for a new rule. An invocation in flight is
    /// finished first, and the next tick waits for it.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(period) = self.interval else { return };
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let started = std::time::Instant::now();
            let duration_ms = || started.elapsed().as_millis() as u64;
            match self.invoke().await {
                Ok(()) => {
                    tracing::info!(function = %self.function, event = %self.event, duration_ms = duration_ms(), "scheduled invocation")
                }
                Err(error) => {
                    tracing::error!(function = %self.function, event = %self.event, duration_ms = duration_ms(), %error, "scheduled invocation failed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_other_expressions() {
        let minutes = |n: u64| Ok(Some(Duration::from_secs(60 * n)));
        assert_eq!(rate("rate(1 minute)"), minutes(1));
        assert_eq!(rate("rate(5 minutes)"), minutes(5));
        assert_eq!(rate(" rate( 2 hours ) "), minutes(120));
        assert_eq!(rate("rate(1 day)"), minutes(1440));
        assert_eq!(rate("rate(30 seconds)"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(rate("cron(0 3 * * ? *)"), Ok(None));
        assert_eq!(rate("at(2030-01-01T00:00:00)"), Ok(None));
        for bad in [
            "rate(0 minutes)",
            "rate(1 fortnight)",
            "rate(minutes)",
            "rate(1 minute",
            "every minute",
        ] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn events_are_eventbridge_scheduled_events_or_the_input() {
        let target = |input| ScheduleTarget {
            function: "F".into(),
            event: "Sweep".into(),
            arn: "arn:aws:events:eu-west-1:123456789012:rule/local-FSweep".into(),
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            input,
            interval: None,
            timeout: Duration::from_secs(1),
            handler: crate::functions::scheduled_fn(|_| async { Ok(()) }),
        };
        let e = target(None).event();
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["source"], "aws.events");
        assert_eq!(e["version"], "0");
        assert_eq!(
            e["resources"],
            json!(["arn:aws:events:eu-west-1:123456789012:rule/local-FSweep"])
        );
        assert_eq!(e["detail"], json!({}));
        assert!(chrono::DateTime::parse_from_rfc3339(e["time"].as_str().unwrap()).is_ok());
        assert_eq!(target(Some(json!({"a": 1}))).event(), json!({"a": 1}));
    }
}
