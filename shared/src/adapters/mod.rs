//! Adapters: the ports implemented over AWS services.

mod dynamodb;
pub mod memory;
mod ses;
mod sqs;

pub use dynamodb::{DynamoCustomerDirectory, DynamoTicketStore};
pub use ses::SesMailer;
pub use sqs::{SqsQueue, CORRELATION_ATTRIBUTE};

/// The AWS configuration shared by every client of a function: region,
/// credentials and endpoints (`AWS_ENDPOINT_URL` points it at a local emulator).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
