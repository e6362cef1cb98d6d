//! Queues between functions.

pub mod memory;

use async_trait::async_trait;

use super::InfraError;

/// A message for a queue. FIFO queues need `group_id`; `deduplication_id` makes a
/// repeated send within the queue's window a no-op.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueueMessage {
    pub body: String,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub correlation_id: String,
}

#[async_trait]
pub trait MessageQueue: Send + Sync {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError>;
}
