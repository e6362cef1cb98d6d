//! `Schedule` and `ScheduleV2` events: what EventBridge does for a function on a schedule.
//!
//! One timer task per event invokes the function with the "Scheduled Event" EventBridge
//! sends (or the event's `Input`) every `rate(...)` period; `cron(...)` and `at(...)`
//! schedules are not run on a timer, but [`crate::LocalStack::run_scheduled`] runs any
//! schedule at once, and [`crate::LocalStack::invoke`] (Lambda's Invoke API on the gateway)
//! runs a scheduled function with any event.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
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
        self.invoke_with(self.event()).await
    }

    /// One invocation with `event` instead of the schedule's (`aws lambda invoke --payload`).
    pub async fn invoke_with(&self, event: Json) -> Result<(), String> {
        let handler = self.handler.clone();
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

/// Each function's schedule events, by the function's logical id.
pub type Schedules = BTreeMap<String, Vec<Arc<ScheduleTarget>>>;

/// Lambda's Invoke API, under the gateway's URL: `aws lambda invoke --endpoint-url <gateway>
/// --function-name <logical id> --payload <event>` runs a scheduled function with that
/// event, as in AWS (a past day's report, for one).
pub const INVOKE_PATH: &str = "/2015-03-31/functions/{name}/invocations";

/// Why an invocation did not run or failed.
#[derive(Debug, PartialEq)]
pub enum InvokeError {
    /// No function of that name has a schedule event with a handler.
    NotFound(String),
    /// The function ran and failed (an error, a panic, a timeout).
    Failed(String),
}

/// Runs `function` once with `event`, as an invocation of Lambda's Invoke API does.
pub async fn invoke(schedules: &Schedules, function: &str, event: Json) -> Result<(), InvokeError> {
    let target = schedules
        .get(function)
        .and_then(|targets| targets.first())
        .ok_or_else(|| InvokeError::NotFound(function.to_owned()))?;
    target.invoke_with(event).await.map_err(InvokeError::Failed)
}

/// The Invoke API's answers: `null` when the function succeeded; a failure as Lambda reports
/// one (status 200, `X-Amz-Function-Error`, the error in the body).
pub fn invoke_router(schedules: Arc<Schedules>) -> Router {
    async fn invoked(State(schedules): State<Arc<Schedules>>, Path(name): Path<String>, body: Bytes) -> Response {
        let event = match body.iter().all(u8::is_ascii_whitespace) {
            true => Ok(json!({})),
            false => serde_json::from_slice(&body),
        };
        let Ok(event) = event else {
            let error = json!({"Type": "User", "message": "Could not parse request body into json"});
            return (
                StatusCode::BAD_REQUEST,
                [("x-amzn-errortype", "InvalidRequestContentException")],
                axum::Json(error),
            )
                .into_response();
        };
        match invoke(&schedules, &name, event).await {
            Ok(()) => axum::Json(Json::Null).into_response(),
            Err(InvokeError::NotFound(name)) => {
                let error = json!({"Type": "User", "message": format!("Function not found: {name} (a scheduled function's logical id)")});
                (
                    StatusCode::NOT_FOUND,
                    [("x-amzn-errortype", "ResourceNotFoundException")],
                    axum::Json(error),
                )
                    .into_response()
            }
            Err(InvokeError::Failed(message)) => {
                let error = json!({"errorType": "Error", "errorMessage": message});
                ([("x-amz-function-error", "Unhandled")], axum::Json(error)).into_response()
            }
        }
    }
    Router::new()
        .route(INVOKE_PATH, axum::routing::post(invoked))
        .with_state(schedules)
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

    #[tokio::test]
    async fn the_invoke_api_runs_a_scheduled_function_with_the_payload() {
        use tower::ServiceExt;
        let seen: Arc<std::sync::Mutex<Vec<Json>>> = Arc::default();
        let recorded = seen.clone();
        let target = ScheduleTarget {
            function: "ReportFunction".into(),
            event: "Nightly".into(),
            arn: "arn:aws:events:eu-west-1:123456789012:rule/local-ReportFunctionNightly".into(),
            region: "eu-west-1".into(),
            account_id: "123456789012".into(),
            input: None,
            interval: None,
            timeout: Duration::from_secs(1),
            handler: crate::functions::scheduled_fn(move |event| {
                let recorded = recorded.clone();
                async move {
                    recorded.lock().unwrap().push(event.clone());
                    match event["day"].as_str() {
                        Some("bad") => Err("`day` is not a day".into()),
                        _ => Ok(()),
                    }
                }
            }),
        };
        let schedules = Arc::new(Schedules::from([("ReportFunction".to_owned(), vec![Arc::new(target)])]));
        let call = |name: &str, body: &str| {
            let request = axum::http::Request::post(format!("/2015-03-31/functions/{name}/invocations"))
                .body(axum::body::Body::from(body.to_owned()))
                .unwrap();
            invoke_router(schedules.clone()).oneshot(request)
        };
        let ok = call("ReportFunction", r#"{"day": "2026-11-21"}"#).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.headers().get("x-amz-function-error").is_none());
        assert_eq!(seen.lock().unwrap()[0], json!({"day": "2026-11-21"}));

        let failed = call("ReportFunction", r#"{"day": "bad"}"#).await.unwrap();
        assert_eq!(
            failed.status(),
            StatusCode::OK,
            "Lambda answers a function's failure with 200"
        );
        assert_eq!(failed.headers()["x-amz-function-error"], "Unhandled");
        let body = axum::body::to_bytes(failed.into_body(), 1 << 16).await.unwrap();
        let body: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errorMessage"], "`day` is not a day");

        let missing = call("WebformApiFunction", "{}").await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()["x-amzn-errortype"], "ResourceNotFoundException");
        let not_json = call("ReportFunction", "day=2026").await.unwrap();
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }
}
