//! ses-events: SES's bounce and complaint events (through SNS) make the address
//! undeliverable and hand the mail's ticket to a person.

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use support_aws::config::MailEventsConfig;
use support_aws::lambda::metrics::Metrics;
use support_aws::lambda::ses_events::handle_sns;
use support_aws::wiring;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let metrics = Metrics::install(env!("CARGO_BIN_NAME"))?;
    let events = wiring::mail_events(MailEventsConfig::from_env()?, &wiring::aws_sdk_config().await);
    let events = &events;
    run(service_fn(move |event: LambdaEvent<SnsEvent>| {
        metrics.flushed(async move { Ok::<_, Error>(handle_sns(events, event.payload).await?) })
    }))
    .await
}
