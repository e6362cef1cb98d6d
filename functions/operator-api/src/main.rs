//! operator-api: the operator console's and the MCP server's API (API Gateway HTTP API,
//! behind its JWT authorizer on the operator user pool).

use lambda_http::{run, service_fn, Error, Request};
use support_aws::config::OperatorConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let config = OperatorConfig::from_env()?;
    let sdk = wiring::aws_sdk_config().await;
    let api = wiring::operator_api(config, &sdk)?;
    let api = &api;
    run(service_fn(move |request: Request| {
        metrics.flushed(async move { Ok::<_, Error>(api.handle(request).await) })
    }))
    .await
}
