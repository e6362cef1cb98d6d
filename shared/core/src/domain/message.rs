use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Category, CustomerId, EmailAddress, MessageId, Priority, TicketId, TicketStatus};

named_set!(
    /// Where a message came from, and so how its reply must be written and sent.
    Channel { Email, Whatsapp, WebForm }
);

named_set!(Direction { Inbound, Outbound });

named_set!(
    /// Delivery state of an outbound message. `Sending` is written before the provider is
    /// called and `Sent` after, so a retried send can tell the two apart.
    DeliveryStatus { Queued, Sending, Sent, Delivered, Failed }
);

/// How the customer identified themselves on the channel they used, with this message.
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

/// One customer message from any channel, as its webhook normalized it: what the intake accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The provider's id for this message (Gmail id, Twilio MessageSid, form submission key):
    /// with the channel, the idempotency key of redeliveries.
    pub channel_message_id: String,
    pub sender: Sender,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub priority: Option<Priority>,
}

impl InboundMessage {
    pub fn idempotency_key(&self) -> String {
        format!("{}#{}", self.channel, self.channel_message_id)
    }
}

/// What the agent's tools may tell about the ticket being handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub id: TicketId,
    pub subject: String,
    pub category: Category,
    pub priority: Priority,
    pub status: TicketStatus,
}

/// A message the intake stored, as it travels on the inbound queue to the agent. The ids
/// are the intake's: the agent trusts them and never identifies the customer again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedMessage {
    pub customer_id: CustomerId,
    pub message_id: MessageId,
    pub ticket: TicketFacts,
    pub channel: Channel,
    /// Who wrote this message, as they gave it with this message (the greeting uses it).
    pub sender: Sender,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
}

impl QueuedMessage {
    /// What the rules and the model read: the subject (when there is one) and the body.
    pub fn customer_text(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{subject}\n\n{}", self.body),
            None => self.body.clone(),
        }
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
