use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Category, CustomerId, EmailAddress, MessageId, Priority, TicketId};

/// Where a message came from, and so how its reply must be written and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Whatsapp,
    WebForm,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Whatsapp => "whatsapp",
            Channel::WebForm => "web_form",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Channel::Email, Channel::Whatsapp, Channel::WebForm]
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Delivery state of an outbound message. `Sending` is written before the
/// provider is called and `Sent` after, so a retried send can tell the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Sending, Self::Sent, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }
}

/// How the customer identified themselves on the channel they used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sender {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<EmailAddress>,
    /// E.164 phone number or WhatsApp id.
    #[serde(default)]
    pub phone: Option<String>,
}

/// One customer message from any channel, normalized by its webhook and carried
/// on the inbound queue to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The provider's id for this message (Gmail id, Twilio MessageSid, form submission id):
    /// the idempotency key, with the channel, for redeliveries.
    pub channel_message_id: String,
    pub sender: Sender,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
    /// Set when the webhook already identified the customer.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// Set when the webhook already opened the ticket (the web form does).
    #[serde(default)]
    pub ticket_id: Option<TicketId>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub priority: Option<Priority>,
}

impl InboundMessage {
    pub fn idempotency_key(&self) -> String {
        format!("{}#{}", self.channel.as_str(), self.channel_message_id)
    }

    pub fn message_id(&self) -> MessageId {
        MessageId::inbound(self.received_at.timestamp_millis(), &self.idempotency_key())
    }
}

/// A message kept on a ticket: what the customer wrote or what we answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMessage {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub customer_id: CustomerId,
    pub direction: Direction,
    pub channel: Channel,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub delivery_status: Option<DeliveryStatus>,
    /// SES message id or Twilio SID once the provider accepted it.
    pub provider_message_id: Option<String>,
}

/// A reply waiting on a channel's outbound queue for its sender function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundReply {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub channel: Channel,
    /// Email address or phone number, depending on the sending channel.
    pub recipient: String,
    #[serde(default)]
    pub recipient_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub correlation_id: String,
}
