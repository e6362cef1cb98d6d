//! One customer across channels, found by any of their identities.

pub mod memory;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InfraError;
use crate::domain::{CustomerId, Sender};

#[async_trait]
pub trait CustomerDirectory: Send + Sync {
    /// The customer owning any identity of `sender` (email, phone), with identities not yet
    /// known to them linked; a new customer when none matches. Safe under concurrent calls
    /// for the same identity: exactly one customer results.
    async fn identify(&self, sender: &Sender, now: DateTime<Utc>) -> Result<CustomerId, InfraError>;
}

/// The identity keys of a sender: lower-cased email, phone as given (E.164).
pub fn identity_keys(sender: &Sender) -> Vec<String> {
    let email = sender
        .email
        .as_ref()
        .map(|e| format!("EMAIL#{}", e.as_str().to_lowercase()));
    let phone = sender.phone.as_ref().map(|p| format!("PHONE#{p}"));
    email.into_iter().chain(phone).collect()
}
