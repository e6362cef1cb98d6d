//! Sending email, and the addresses it must no longer go to.

pub mod memory;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InfraError;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message for good (a rejected or unverified address...):
    /// sending it again would fail again.
    #[error("the mail was rejected: {0}")]
    Rejected(String),
    /// The provider could not be reached or was overloaded: a later attempt may pass.
    #[error(transparent)]
    Unavailable(#[from] InfraError),
}

/// Sends a complete MIME message; returns the provider's message id.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_raw(&self, mime: Vec<u8>) -> Result<String, MailError>;
}

/// An address mail must no longer go to: it bounced for good, or its owner complained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeliverable {
    /// Lower case.
    pub address: String,
    /// What the provider reported, for the person who takes the ticket.
    pub why: String,
    pub at: DateTime<Utc>,
}

/// The addresses marked undeliverable: written by the handler of the provider's bounce and
/// complaint events, read before every send.
#[async_trait]
pub trait Undeliverables: Send + Sync {
    async fn find(&self, address: &str) -> Result<Option<Undeliverable>, InfraError>;

    /// Marks the address (again: the latest report wins).
    async fn record(&self, undeliverable: &Undeliverable) -> Result<(), InfraError>;
}
