//! email-sender: sends the replies of the email outbound queue through SES.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::config::EmailSenderConfig;
use shared::email_sender::EmailSender;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sender = EmailSender::new(EmailSenderConfig::from_env()?, &shared::adapters::aws_config().await);
    let sender = &sender;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(sender.handle_batch(event.payload).await?)
    }))
    .await
}
