//! whatsapp-webhook: Twilio's WhatsApp webhook and status callbacks (API Gateway HTTP API).

use lambda_http::{run, service_fn, Error, Request};
use support_aws::config::WhatsappWebhookConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let webhook = wiring::whatsapp_webhook(WhatsappWebhookConfig::from_env()?, &wiring::aws_sdk_config().await);
    let webhook = &webhook;
    run(service_fn(move |request: Request| {
        metrics.flushed(async move { Ok::<_, Error>(webhook.handle(request).await) })
    }))
    .await
}
