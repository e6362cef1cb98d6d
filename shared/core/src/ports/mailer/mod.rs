//! Sending email.

use async_trait::async_trait;

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
