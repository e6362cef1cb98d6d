//! daily-report: at 00:15 UTC (EventBridge), the report of the day before; invoked with
//! `{"day": "YYYY-MM-DD"}`, that day's. Stored, and emailed to the team when REPORT_ADDRESS
//! is set.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use support_aws::config::DailyReportConfig;
use support_aws::lambda::daily_report;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let reports = wiring::daily_reports(DailyReportConfig::from_env()?, &wiring::aws_sdk_config().await);
    let reports = &reports;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        metrics.flushed(async move {
            Ok::<_, Error>(daily_report::handle(reports, &event.payload, chrono::Utc::now()).await?)
        })
    }))
    .await
}
