//! Sending WhatsApp messages: Twilio's Messages API in production (`support-aws`), a local
//! stand-in on one machine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::DeliveryStatus;

/// One WhatsApp message to send: at most Twilio's 1,600 characters (see
/// `agent::whatsapp_messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The customer's E.164 number or WhatsApp id.
    pub to: String,
    pub body: String,
    /// Where the provider reports the message's delivery.
    pub status_callback: Option<String>,
}

/// A message the provider holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMessage {
    /// Twilio's message SID.
    pub sid: String,
    pub status: DeliveryStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhatsappError {
    /// The provider refused this message for good: sending it again would fail again.
    #[error("refused with error {code}: {message}")]
    Refused { code: u32, message: String },
    /// Too many requests: wait (as long as the provider asked, when it did) and try again.
    #[error("throttled")]
    Throttled { retry_after: Option<std::time::Duration> },
    /// The provider failed or could not be reached. When the request may have reached it
    /// (a 5xx, a timeout after sending), the message may exist: look before sending again.
    #[error("unavailable: {why}")]
    Unavailable { why: String, may_have_sent: bool },
}

#[async_trait]
pub trait WhatsappApi: Send + Sync {
    async fn send(&self, message: &OutgoingMessage) -> Result<ProviderMessage, WhatsappError>;

    /// A message the provider accepted since `since` for `to` with exactly `body`, if any:
    /// how a retry learns what an attempt that stopped midway already sent.
    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<ProviderMessage>, WhatsappError>;
}
