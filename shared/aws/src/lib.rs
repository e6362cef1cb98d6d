//! The AWS side of the customer-success agent: the adapters of the core's ports (one
//! folder per port, as in the core), the wiring from configuration to ports, and the
//! Lambda glue. Each adapter is behind a feature, so each function links only the SDKs
//! it uses.

pub mod config;
pub mod lambda;
pub mod usage;
pub mod wiring;

#[cfg(feature = "dynamodb")]
pub mod customers {
    pub mod dynamodb;
}
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "bedrock")]
pub mod engine {
    pub mod bedrock;
}
#[cfg(any(feature = "gmail", feature = "gmail-push"))]
pub mod google;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(any(feature = "ses", feature = "dynamodb"))]
pub mod mailer {
    #[cfg(feature = "dynamodb")]
    pub mod dynamodb;
    #[cfg(feature = "ses")]
    pub mod ses;
}
#[cfg(any(feature = "dynamodb", feature = "gmail"))]
pub mod mailbox {
    #[cfg(feature = "dynamodb")]
    pub mod dynamodb;
    #[cfg(feature = "gmail")]
    pub mod gmail;
}
#[cfg(any(feature = "sqs", feature = "sqs-events"))]
pub mod queue {
    #[cfg(feature = "sqs")]
    pub mod sqs;
    /// The SQS message attribute carrying the correlation id from webhook to send.
    pub const CORRELATION_ATTRIBUTE: &str = "correlation_id";
}
#[cfg(feature = "dynamodb")]
pub mod tickets {
    pub mod dynamodb;
}
#[cfg(feature = "sns")]
pub mod team {
    pub mod sns;
}
#[cfg(any(feature = "twilio", feature = "twilio-webhook"))]
pub mod twilio;
#[cfg(feature = "twilio")]
pub mod whatsapp {
    pub mod twilio;
}

pub use support_core as core;
