//! agent: answers or escalates each message of the inbound queue.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use shared::agent::Agent;
use shared::config::AgentConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let agent = Agent::new(AgentConfig::from_env()?, &shared::adapters::aws_config().await)?;
    let agent = &agent;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(agent.handle_batch(event.payload).await?)
    }))
    .await
}
