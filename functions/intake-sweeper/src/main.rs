//! intake-sweeper: every minute, queues the messages a crash or an outage left stored
//! but not queued (the intake's outbox).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use support_aws::config::SweeperConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let sweeper = wiring::intake_sweeper(SweeperConfig::from_env()?, &wiring::aws_sdk_config().await);
    let sweeper = &sweeper;
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        metrics.flushed(async move {
            sweeper.redrive_now().await?;
            Ok::<_, Error>(())
        })
    }))
    .await
}
