//! gmail-poller: on a schedule, syncs the support mailbox (for pushes Google dropped) and
//! renews its push watch before it expires.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use support_aws::config::MailboxConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let sync = wiring::inbox_sync(MailboxConfig::from_env()?, &wiring::aws_sdk_config().await)?;
    let sync = &sync;
    run(service_fn(move |_: LambdaEvent<serde_json::Value>| {
        metrics.flushed(async move {
            sync.poll(chrono::Utc::now()).await?;
            Ok::<_, Error>(())
        })
    }))
    .await
}
