//! email-sender: sends the replies of the email outbound queue through SES.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use support_aws::config::EmailSenderConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::lambda::sqs_batch::process_records;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let delivery = wiring::email_delivery(EmailSenderConfig::from_env()?, &wiring::aws_sdk_config().await);
    let delivery = &delivery;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        metrics.flushed(async move {
            Ok::<_, Error>(process_records(event.payload, |reply| async move { delivery.send(&reply).await }).await?)
        })
    }))
    .await
}
