//! gmail-webhook: Pub/Sub's push for the support mailbox (API Gateway HTTP API): verified,
//! then the inbox synced into the intake.

use lambda_http::{run, service_fn, Error, Request};
use support_aws::config::GmailWebhookConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let webhook = wiring::gmail_webhook(GmailWebhookConfig::from_env()?, &wiring::aws_sdk_config().await)?;
    let webhook = &webhook;
    run(service_fn(move |request: Request| {
        metrics.flushed(async move { Ok::<_, Error>(webhook.handle(request).await) })
    }))
    .await
}
