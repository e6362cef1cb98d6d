//! Each function's own output, as Lambda writes it to CloudWatch Logs: its JSON log lines
//! and its metrics' EMF lines, in one file per function (`<logs dir>/<logical id>.log`).
//!
//! Every function runs in this one process, so an invocation runs with its function's
//! tracing subscriber and metrics recorder as the current ones, set at each poll of its
//! future. The EMF lines are the process's one metrics_cloudwatch_embedded collector's
//! (the crate installs it as the global recorder, so there is one): a function's recorder
//! keeps what an invocation recorded, and when the invocation ends hands it to the
//! collector and writes the collector's lines to the function's file, one function at a
//! time. Being the process's, the collector has the namespace and `Service` of the first
//! stack started in it (several stacks in one process name the same ones: the template's).

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use async_trait::async_trait;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Body, Request, Response};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use metrics_cloudwatch_embedded::Collector;
use support_aws::config::MetricsConfig;
use support_aws::lambda::metrics::{collector, write_metrics};
use tracing::instrument::WithSubscriber;
use tracing::Dispatch;

use crate::functions::{Handler, HttpFunction, ScheduledFunction, SnsFunction, SqsFunction};

/// One function's log file, its subscriber and its recorder.
pub struct FunctionOutput {
    path: PathBuf,
    file: Arc<File>,
    dispatch: Dispatch,
    recorder: Pending,
    collector: &'static Collector,
}

impl FunctionOutput {
    /// Starts the function's file afresh in `dir` and counts the function's cold start
    /// (`binary`, as its Lambda binary counts it), written with its first invocation.
    pub fn create(dir: &Path, logical_id: &str, binary: &str, metrics: &MetricsConfig) -> Result<Self> {
        let path = dir.join(format!("{logical_id}.log"));
        File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let file = Arc::new(OpenOptions::new().append(true).open(&path)?);
        // Lambda's own subscriber (lambda_runtime's, with LogFormat JSON), with the time
        // CloudWatch would add.
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_target(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(file.clone())
            .finish();
        let output = FunctionOutput {
            path,
            file,
            dispatch: Dispatch::new(subscriber),
            recorder: Pending::default(),
            collector: collector(metrics)?,
        };
        // Once per function and stack: the Function dimension is a static string.
        let binary: &'static str = Box::leak(binary.to_owned().into_boxed_str());
        metrics::with_local_recorder(&output.recorder, || support_core::telemetry::cold_start(binary));
        Ok(output)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs one invocation as the function, then writes the metrics it recorded.
    pub async fn run<F: Future>(&self, invocation: F) -> F::Output {
        let mut invocation = std::pin::pin!(invocation);
        let recorded =
            std::future::poll_fn(|cx| metrics::with_local_recorder(&self.recorder, || invocation.as_mut().poll(cx)));
        let output = recorded.with_subscriber(self.dispatch.clone()).await;
        if let Err(e) = self.write_metrics() {
            tracing::error!(file = %self.path.display(), error = %e, "a function's metrics could not be written");
        }
        output
    }

    fn write_metrics(&self) -> std::io::Result<()> {
        let samples = std::mem::take(&mut *self.recorder.samples.lock().unwrap_or_else(PoisonError::into_inner));
        if samples.is_empty() {
            return Ok(());
        }
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        // What was recorded outside every function (a test's own intake) is no function's.
        self.collector.flush(std::io::sink())?;
        const REPLAYED: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);
        metrics::with_recorder(|global| {
            for sample in samples {
                match sample {
                    Sample::Count(key, n) => global.register_counter(&key, &REPLAYED).increment(n),
                    Sample::Time(key, value) => global.register_histogram(&key, &REPLAYED).record(value),
                }
            }
        });
        write_metrics(self.collector, &*self.file)
    }
}

/// What a function recorded since its metrics were last written (telemetry has counters
/// and histograms only).
#[derive(Default, Clone)]
struct Pending {
    samples: Arc<Mutex<Vec<Sample>>>,
}

enum Sample {
    Count(Key, u64),
    Time(Key, f64),
}

struct Handle {
    key: Key,
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Handle {
    fn push(&self, sample: Sample) {
        self.samples.lock().unwrap_or_else(PoisonError::into_inner).push(sample);
    }
}

impl CounterFn for Handle {
    fn increment(&self, n: u64) {
        self.push(Sample::Count(self.key.clone(), n));
    }

    fn absolute(&self, n: u64) {
        self.increment(n);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push(Sample::Time(self.key.clone(), value));
    }
}

impl Pending {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        Arc::new(Handle {
            key: key.clone(),
            samples: self.samples.clone(),
        })
    }
}

impl Recorder for Pending {
    // The units are the collector's, described once when it was installed.
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

/// A function's handler that runs as the function: its output in its file.
struct Logged<T: ?Sized> {
    output: Arc<FunctionOutput>,
    handler: Arc<T>,
}

#[async_trait]
impl HttpFunction for Logged<dyn HttpFunction> {
    async fn call(&self, request: Request) -> Response<Body> {
        self.output.run(self.handler.call(request)).await
    }
}

#[async_trait]
impl SqsFunction for Logged<dyn SqsFunction> {
    async fn call(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        self.output.run(self.handler.call(event)).await
    }
}

#[async_trait]
impl SnsFunction for Logged<dyn SnsFunction> {
    async fn call(&self, event: SnsEvent) -> Result<(), String> {
        self.output.run(self.handler.call(event)).await
    }
}

#[async_trait]
impl ScheduledFunction for Logged<dyn ScheduledFunction> {
    async fn call(&self, event: serde_json::Value) -> Result<(), String> {
        self.output.run(self.handler.call(event)).await
    }
}

/// The handler, run as the function whose output is `output`, wherever it is invoked
/// (the gateway, a poller, a schedule, a topic).
pub fn logged(handler: Handler, output: Arc<FunctionOutput>) -> Handler {
    match handler {
        Handler::Http(handler) => Handler::Http(Arc::new(Logged { output, handler })),
        Handler::Sqs(handler) => Handler::Sqs(Arc::new(Logged { output, handler })),
        Handler::Sns(handler) => Handler::Sns(Arc::new(Logged { output, handler })),
        Handler::Scheduled(handler) => Handler::Scheduled(Arc::new(Logged { output, handler })),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use support_core::domain::Channel;
    use support_core::telemetry;

    use super::*;

    fn lines(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_functions_logs_and_metrics_go_to_its_own_file() {
        let dir = std::env::temp_dir().join(format!("local-stack-logs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = MetricsConfig::from_lookup(|_| None);
        let webform = Arc::new(FunctionOutput::create(&dir, "WebformApiFunction", "webform-api", &config).unwrap());
        let agent = Arc::new(FunctionOutput::create(&dir, "AgentFunction", "agent", &config).unwrap());
        let (a, b) = (webform.clone(), agent.clone());
        let (first, second) = tokio::join!(
            tokio::spawn(async move {
                a.run(async {
                    tracing::info!(correlation_id = "c-1", "accepted");
                    tokio::task::yield_now().await;
                    telemetry::message_received(Channel::WebForm);
                })
                .await
            }),
            tokio::spawn(async move {
                b.run(async {
                    tokio::task::yield_now().await;
                    tracing::info!("handled");
                    telemetry::message_processed(Channel::WebForm);
                })
                .await
            }),
        );
        first.unwrap();
        second.unwrap();
        // Outside every function: in neither file.
        telemetry::message_received(Channel::Email);
        webform.run(async {}).await;

        let webform_lines = lines(webform.path());
        let agent_lines = lines(agent.path());
        let log = |lines: &[Value]| lines.iter().filter(|l| l.get("_aws").is_none()).count();
        assert_eq!((log(&webform_lines), log(&agent_lines)), (1, 1));
        assert_eq!(webform_lines[0]["fields"]["correlation_id"], "c-1");
        // A metric's total: on the lines with no breakdown.
        let metric = |lines: &[Value], name: &str| {
            lines
                .iter()
                .filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0] == serde_json::json!(["Service"]))
                .filter_map(|l| l[name].as_u64())
                .sum::<u64>()
        };
        assert_eq!(metric(&webform_lines, "MessagesReceived"), 1);
        assert_eq!(metric(&webform_lines, "MessagesProcessed"), 0);
        assert_eq!(metric(&agent_lines, "MessagesProcessed"), 1);
        assert_eq!(metric(&agent_lines, "MessagesReceived"), 0);
        for lines in [&webform_lines, &agent_lines] {
            assert_eq!(metric(lines, "ColdStarts"), 1, "{lines:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
