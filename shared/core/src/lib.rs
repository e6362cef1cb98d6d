//! The customer-success agent's core: the domain, the ports, and the use cases every
//! function runs (the intake, the agent, delivery), with the rules, the knowledge base
//! and the offline engine. It links no AWS SDK and no Lambda crate: the compiler keeps
//! the AWS side (`support-aws`) out.

// `#[macro_use]` lends `named_set!` to the modules declared after it.
#[macro_use]
pub mod domain;
pub mod agent;
pub mod autonomy;
pub mod classifier;
pub mod cost;
pub mod delivery;
pub mod desk;
pub mod email;
pub mod inbox;
pub mod intake;
pub mod knowledge;
pub mod ports;
pub mod records;
pub mod report;
pub mod sla;
pub mod stats;
pub mod telemetry;
pub mod webform;

/// Why a queued record could not be processed. Either way it is reported failed, so the
/// queue redelivers it and, after its maxReceiveCount, moves it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum ProcessingError {
    /// It can never succeed (a malformed body, a reply that was never stored).
    #[error("permanent: {0}")]
    Permanent(String),
    /// Infrastructure trouble: a later attempt may succeed.
    #[error("transient: {0}")]
    Transient(String),
}

impl From<ports::InfraError> for ProcessingError {
    fn from(e: ports::InfraError) -> Self {
        ProcessingError::Transient(e.to_string())
    }
}
