use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    Channel, ConversationMessage, DeliveryStatus, Direction, EscalationReason, MessageId, Ticket, TicketStatus,
};

/// What the public status page shows of a ticket: only what the customer may see.
#[derive(Debug, Serialize)]
pub struct TicketView {
    pub ticket_id: String,
    pub status: TicketStatus,
    pub subject: String,
    pub category: String,
    pub priority: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only while escalated; the page names the team it went to, never the code.
    pub escalation_reason: Option<EscalationReason>,
    /// The channels the customer proved they are on (one customer across them); empty while
    /// the ticket's sender is only claimed (an address typed into the form).
    pub customer_channels: Vec<Channel>,
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub message_id: MessageId,
    pub direction: Direction,
    pub channel: Channel,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// A reply's delivery: sent, delivered, read (WhatsApp), failed...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_status: Option<DeliveryStatus>,
    /// The message as it arrived can be read apart: `body` is what the agent read (an
    /// email without its quoted history and signature).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub has_original: bool,
}

impl TicketView {
    pub fn new(ticket: Ticket, messages: Vec<ConversationMessage>, customer_channels: Vec<Channel>) -> Self {
        Self {
            ticket_id: ticket.id.to_string(),
            status: ticket.status,
            subject: ticket.subject,
            category: ticket.category.to_string(),
            priority: ticket.priority.to_string(),
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            escalation_reason: ticket
                .escalation_reason
                .filter(|_| ticket.status == TicketStatus::Escalated),
            customer_channels,
            messages: messages
                .into_iter()
                // Drafts waiting for a person, and replies never to be sent, are not the
                // customer's to read.
                .filter(|m| !matches!(m.delivery_status, Some(DeliveryStatus::Held | DeliveryStatus::Withheld)))
                .map(|m| MessageView {
                    message_id: m.id,
                    direction: m.direction,
                    channel: m.channel,
                    body: m.body,
                    created_at: m.created_at,
                    delivery_status: m.delivery_status,
                    has_original: m.has_original,
                })
                .collect(),
        }
    }
}
