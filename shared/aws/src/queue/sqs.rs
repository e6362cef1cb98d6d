use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;

use support_core::ports::queue::{MessageQueue, QueueMessage};
use support_core::ports::InfraError;

use super::CORRELATION_ATTRIBUTE;

/// A queue in SQS; the correlation id travels as a message attribute.
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl MessageQueue for SqsQueue {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        let correlation = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(message.correlation_id)
            .build()
            .map_err(|e| InfraError::new("build message attribute", e))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body)
            .set_message_group_id(message.group_id)
            .set_message_deduplication_id(message.deduplication_id)
            .message_attributes(CORRELATION_ATTRIBUTE, correlation)
            .send()
            .await
            .map_err(|e| InfraError::new("send to queue", aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
