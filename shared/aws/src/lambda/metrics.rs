//! A function's metrics as CloudWatch Embedded Metric Format: what `support_core::telemetry`
//! records goes to metrics_cloudwatch_embedded's collector, which writes it as EMF lines to
//! the function's output after every invocation; CloudWatch Logs turns each line into
//! metrics, in the namespace and with the `Service` dimension of [`MetricsConfig`].

use std::future::Future;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use metrics_cloudwatch_embedded::{Builder, Collector};
use support_core::telemetry;

use crate::config::MetricsConfig;

/// The process's collector. The crate installs its collector as the global recorder, so a
/// process has one, named by the first configuration it is asked for.
static COLLECTOR: Mutex<Option<&'static Collector>> = Mutex::new(None);

#[derive(Debug, thiserror::Error)]
#[error("the metrics recorder cannot be installed: {0}")]
pub struct InstallError(String);

/// The process's collector: on first use installed as the global recorder, every metric's
/// unit described to it. Call it outside any local recorder's scope.
pub fn collector(config: &MetricsConfig) -> Result<&'static Collector, InstallError> {
    let mut installed = COLLECTOR.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(collector) = *installed {
        return Ok(collector);
    }
    let collector = Builder::new()
        .cloudwatch_namespace(config.namespace.clone())
        .with_dimension(telemetry::SERVICE_DIMENSION, config.service.clone())
        .init()
        .map_err(|e| InstallError(e.to_string()))?;
    telemetry::describe();
    *installed = Some(collector);
    Ok(collector)
}

/// Writes what the collector gathered since it last wrote, as EMF lines, in one write: no
/// log line of a concurrent writer lands inside one of them.
pub fn write_metrics(collector: &Collector, mut out: impl Write) -> io::Result<()> {
    let mut lines = Vec::new();
    collector.flush(&mut lines)?;
    if lines.is_empty() {
        return Ok(());
    }
    out.write_all(&lines)?;
    out.flush()
}

/// A Lambda function's metrics: recorded through the global recorder, written to stdout
/// (Lambda's way to CloudWatch Logs) after every invocation.
#[derive(Clone, Copy)]
pub struct Metrics {
    collector: &'static Collector,
}

impl Metrics {
    /// Installs the recorder configured by the function's environment and counts this
    /// process's start, a cold start of `function` (its binary). Once, first thing in main.
    pub fn install(function: &'static str) -> Result<Self, InstallError> {
        let collector = collector(&MetricsConfig::from_env())?;
        telemetry::cold_start(function);
        Ok(Self { collector })
    }

    /// Runs one invocation, then writes the metrics it recorded (Lambda may freeze the
    /// process as soon as the invocation answers, so nothing waits for a timer).
    pub async fn flushed<F: Future>(self, invocation: F) -> F::Output {
        let output = invocation.await;
        if let Err(e) = write_metrics(self.collector, io::stdout().lock()) {
            tracing::error!(error = %e, "the invocation's metrics could not be written");
        }
        output
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;
    use support_core::domain::Channel;

    use super::*;

    /// The metrics of one EMF line: name → its value(s), and the dimension set.
    fn metrics_of(line: &Value) -> (Vec<String>, Vec<String>) {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        let names = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect();
        let dimensions = directive["Dimensions"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect();
        (names, dimensions)
    }

    #[test]
    fn an_invocations_metrics_are_emf_lines_of_the_service_written_once() {
        let metrics = Metrics::install("agent").unwrap();
        telemetry::message_received(Channel::WebForm);
        telemetry::reply_queued(Channel::WebForm, Duration::from_millis(1500));
        let mut out = Vec::new();
        write_metrics(metrics.collector, &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let directive = &lines[0]["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], telemetry::DEFAULT_NAMESPACE);
        assert!(lines[0]["_aws"]["Timestamp"].is_u64());
        for line in &lines {
            assert_eq!(line["Service"], "local", "every line carries the stack: {line}");
        }
        let by_channel = lines
            .iter()
            .find(|l| l["Channel"] == "web_form")
            .expect("a line per channel");
        let (names, dimensions) = metrics_of(by_channel);
        assert_eq!(dimensions, ["Service", "Channel"]);
        assert!(names.contains(&"MessagesReceived".to_owned()), "{names:?}");
        assert_eq!(by_channel["MessagesReceived"], 1);
        assert_eq!(by_channel["ReplyQueuedLatency"], serde_json::json!([1500.0]));
        let units = &by_channel["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert!(
            units
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == "ReplyQueuedLatency" && m["Unit"] == "Milliseconds"),
            "{units}"
        );
        let totals = lines.iter().find(|l| l.get("Channel").is_none()).unwrap();
        assert_eq!(totals["ColdStarts"], 1, "the start counted once: {totals}");
        assert_eq!(totals["MessagesReceived"], 1);

        // Written once: the next invocation starts from nothing.
        let mut again = Vec::new();
        write_metrics(metrics.collector, &mut again).unwrap();
        assert!(again.is_empty(), "{}", String::from_utf8_lossy(&again));
    }
}
