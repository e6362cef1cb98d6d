use std::sync::Mutex;

use async_trait::async_trait;

use super::{MessageQueue, QueueMessage};
use crate::ports::InfraError;

/// A queue that keeps what was sent.
#[derive(Default)]
pub struct MemoryQueue {
    pub sent: Mutex<Vec<QueueMessage>>,
}

#[async_trait]
impl MessageQueue for MemoryQueue {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        self.sent.lock().expect("not poisoned").push(message);
        Ok(())
    }
}
