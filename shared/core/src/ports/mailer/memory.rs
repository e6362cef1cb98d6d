use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{MailError, Mailer, Undeliverable, Undeliverables};
use crate::ports::InfraError;

/// Undeliverable addresses in memory, for unit tests.
#[derive(Default)]
pub struct MemoryUndeliverables {
    addresses: Mutex<HashMap<String, Undeliverable>>,
}

#[async_trait]
impl Undeliverables for MemoryUndeliverables {
    async fn find(&self, address: &str) -> Result<Option<Undeliverable>, InfraError> {
        let addresses = self.addresses.lock().expect("not poisoned");
        Ok(addresses.get(&address.to_lowercase()).cloned())
    }

    async fn record(&self, undeliverable: &Undeliverable) -> Result<(), InfraError> {
        let mut addresses = self.addresses.lock().expect("not poisoned");
        addresses.insert(undeliverable.address.to_lowercase(), undeliverable.clone());
        Ok(())
    }
}

/// A mailer that keeps the messages it is given, for unit tests.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Vec<u8>>>,
}

impl MemoryMailer {
    /// The MIME of every message sent so far.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        self.sent.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send_raw(&self, mime: Vec<u8>) -> Result<String, MailError> {
        let mut sent = self.sent.lock().expect("not poisoned");
        sent.push(mime);
        Ok(format!("memory-{}", sent.len()))
    }
}
