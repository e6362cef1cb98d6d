use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    channels_of, email_key, identity_keys, CustomerChannels, CustomerDirectory, IdentityLinks, Linked, ProvenIdentity,
};
use crate::domain::{Channel, CustomerId, EmailAddress, IdentityProof, Sender};
use crate::ports::InfraError;

/// Identities in memory, for unit tests and benchmarks.
#[derive(Default)]
pub struct MemoryCustomers {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    owners: HashMap<String, CustomerId>,
    /// What is recorded on each customer: its proven identities.
    identities: HashMap<CustomerId, Vec<ProvenIdentity>>,
}

impl State {
    fn record(&mut self, customer: &CustomerId, identity: ProvenIdentity) {
        self.identities.entry(customer.clone()).or_default().push(identity);
    }
}

impl MemoryCustomers {
    /// The identities recorded on a customer, with how each was proven.
    pub fn identities(&self, customer: &CustomerId) -> Vec<ProvenIdentity> {
        let state = self.state.lock().expect("not poisoned");
        state.identities.get(customer).cloned().unwrap_or_default()
    }
}

#[async_trait]
impl CustomerDirectory for MemoryCustomers {
    async fn identify(
        &self,
        sender: &Sender,
        proof: IdentityProof,
        now: DateTime<Utc>,
    ) -> Result<CustomerId, InfraError> {
        let keys = identity_keys(sender);
        if keys.is_empty() {
            return Err(InfraError::new("identify customer", "the sender has no email or phone"));
        }
        let mut state = self.state.lock().expect("not poisoned");
        let id = keys
            .iter()
            .find_map(|k| state.owners.get(k).cloned())
            .unwrap_or_else(CustomerId::generate);
        for key in keys {
            if !state.owners.contains_key(&key) {
                state.owners.insert(key.clone(), id.clone());
                let identity = ProvenIdentity {
                    identity: key,
                    proof,
                    at: now,
                    via: None,
                };
                state.record(&id, identity);
            }
        }
        Ok(id)
    }
}

#[async_trait]
impl IdentityLinks for MemoryCustomers {
    async fn owner_of_email(&self, email: &EmailAddress) -> Result<Option<CustomerId>, InfraError> {
        Ok(self
            .state
            .lock()
            .expect("not poisoned")
            .owners
            .get(&email_key(email))
            .cloned())
    }

    async fn link_email(
        &self,
        customer: &CustomerId,
        email: &EmailAddress,
        proof: IdentityProof,
        through: &str,
        now: DateTime<Utc>,
    ) -> Result<Linked, InfraError> {
        let mut state = self.state.lock().expect("not poisoned");
        let key = email_key(email);
        let owner = state.owners.get(&key).cloned();
        match owner {
            Some(owner) if &owner == customer => Ok(Linked {
                customer: owner,
                merged_from: None,
            }),
            None => {
                state.owners.insert(key.clone(), customer.clone());
                let identity = ProvenIdentity {
                    identity: key,
                    proof,
                    at: now,
                    via: Some(through.to_owned()),
                };
                state.record(customer, identity);
                Ok(Linked {
                    customer: customer.clone(),
                    merged_from: None,
                })
            }
            Some(owner) => {
                let moved = state.identities.remove(customer).unwrap_or_default();
                for identity in moved {
                    state.owners.insert(identity.identity.clone(), owner.clone());
                    let linked = ProvenIdentity {
                        proof,
                        at: now,
                        via: Some(key.clone()),
                        ..identity
                    };
                    state.record(&owner, linked);
                }
                Ok(Linked {
                    customer: owner,
                    merged_from: Some(customer.clone()),
                })
            }
        }
    }
}

#[async_trait]
impl CustomerChannels for MemoryCustomers {
    async fn channels(&self, customer: &CustomerId) -> Result<Vec<Channel>, InfraError> {
        let state = self.state.lock().expect("not poisoned");
        let identities = state.identities.get(customer).map(Vec::as_slice).unwrap_or_default();
        Ok(channels_of(identities.iter().map(|i| i.identity.as_str())))
    }
}
