use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Undeliverable, Undeliverables};
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
