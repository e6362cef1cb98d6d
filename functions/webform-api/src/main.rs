//! webform-api: the web support form's HTTP API (API Gateway HTTP API).

use lambda_http::{run, service_fn, Error, Request};
use shared::config::WebformConfig;
use shared::webform::WebformApi;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let api = WebformApi::new(WebformConfig::from_env()?, &shared::adapters::aws_config().await);
    let api = &api;
    run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(api.handle(request).await)
    }))
    .await
}
