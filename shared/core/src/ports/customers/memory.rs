use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{identity_keys, CustomerDirectory};
use crate::domain::{CustomerId, Sender};
use crate::ports::InfraError;

/// Identities in memory, for unit tests and benchmarks.
#[derive(Default)]
pub struct MemoryCustomers {
    owners: Mutex<HashMap<String, CustomerId>>,
}

#[async_trait]
impl CustomerDirectory for MemoryCustomers {
    async fn identify(&self, sender: &Sender, _now: DateTime<Utc>) -> Result<CustomerId, InfraError> {
        let keys = identity_keys(sender);
        if keys.is_empty() {
            return Err(InfraError::new("identify customer", "the sender has no email or phone"));
        }
        let mut owners = self.owners.lock().expect("not poisoned");
        let id = keys
            .iter()
            .find_map(|k| owners.get(k).cloned())
            .unwrap_or_else(CustomerId::generate);
        for key in keys {
            owners.entry(key).or_insert_with(|| id.clone());
        }
        Ok(id)
    }
}
