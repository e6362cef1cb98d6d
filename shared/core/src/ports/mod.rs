//! The ports: what the use cases need from the outside world, one folder per port with
//! its trait and its in-memory adapter (the AWS adapters live in the `support-aws` crate,
//! in folders of the same names).

pub mod customers;
pub mod embedder;
pub mod engine;
pub mod learned;
pub mod mailbox;
pub mod mailer;
pub mod queue;
pub mod reports;
pub mod team;
pub mod tickets;
pub mod usage;
pub mod whatsapp;

/// A failure of the storage or messaging infrastructure: worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct InfraError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl InfraError {
    pub fn new(operation: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}
