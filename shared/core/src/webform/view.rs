use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Channel, ConversationMessage, Direction, EscalationReason, Ticket, TicketStatus};

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
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub direction: Direction,
    pub channel: Channel,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl TicketView {
    pub fn new(ticket: Ticket, messages: Vec<ConversationMessage>) -> Self {
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
            messages: messages
                .into_iter()
                .map(|m| MessageView {
                    direction: m.direction,
                    channel: m.channel,
                    body: m.body,
                    created_at: m.created_at,
                })
                .collect(),
        }
    }
}
