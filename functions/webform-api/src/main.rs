//! webform-api: the web support form's HTTP API (API Gateway HTTP API).

use lambda_http::{run, service_fn, Error, Request};
use support_aws::config::WebformConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let api = wiring::webform_api(WebformConfig::from_env()?, &wiring::aws_sdk_config().await);
    let api = &api;
    run(service_fn(move |request: Request| {
        metrics.flushed(async move { Ok::<_, Error>(api.handle(request).await) })
    }))
    .await
}
