//! What the operator console and the operator's assistant read (docs/operator-api.md).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{
    Category, Channel, ConversationMessage, CustomerId, DeliveryStatus, Direction, EscalationReason, Handler,
    MessageId, Priority, Ticket, TicketId, TicketStatus,
};
use crate::records::{AuditEntry, DecisionRecord};
use crate::sla::{SlaPolicy, SlaState};

/// A ticket as the queue lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketSummary {
    pub id: TicketId,
    pub subject: String,
    pub channel: Channel,
    pub status: TicketStatus,
    pub category: Category,
    pub priority: Priority,
    pub escalation_reason: Option<EscalationReason>,
    pub handled_by: Handler,
    pub assignee: Option<String>,
    pub customer_id: CustomerId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub age_minutes: i64,
    pub sla: SlaView,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaView {
    pub state: SlaState,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
}

impl TicketSummary {
    pub fn of(ticket: &Ticket, now: DateTime<Utc>) -> Self {
        let (due, state) = SlaPolicy::bundled().of_ticket(ticket, now);
        Self {
            id: ticket.id.clone(),
            subject: ticket.subject.clone(),
            channel: ticket.channel,
            status: ticket.status,
            category: ticket.category,
            priority: ticket.priority,
            escalation_reason: ticket.escalation_reason,
            handled_by: ticket.handled_by,
            assignee: ticket.assignee.clone(),
            customer_id: ticket.customer_id.clone(),
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            age_minutes: (now - ticket.created_at).num_minutes(),
            sla: SlaView {
                state,
                first_response_due: due.first_response.at,
                resolution_due: due.resolution.at,
                first_response_at: ticket.first_response_at,
            },
        }
    }
}

named_set!(Author {
    Customer,
    Agent,
    Person
});

/// One message of the customer's conversation, on any of their tickets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageEntry {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub direction: Direction,
    pub channel: Channel,
    pub author: Author,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub delivery_status: Option<DeliveryStatus>,
    pub has_original: bool,
}

impl MessageEntry {
    pub fn of(message: &ConversationMessage) -> Self {
        let author = match (message.direction, &message.person) {
            (Direction::Inbound, _) => Author::Customer,
            (Direction::Outbound, Some(_)) => Author::Person,
            (Direction::Outbound, None) => Author::Agent,
        };
        Self {
            id: message.id.clone(),
            ticket_id: message.ticket_id.clone(),
            direction: message.direction,
            channel: message.channel,
            author,
            author_name: message.person.clone(),
            body: message.body.clone(),
            created_at: message.created_at,
            delivery_status: message.delivery_status,
            has_original: message.has_original,
        }
    }
}

/// Why the ticket went to people, with what the agent knew then.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationView {
    pub reason: EscalationReason,
    pub note: Option<String>,
    pub summary: Option<String>,
    pub context: Value,
}

/// One of the agent's decisions, with the `id` the console and the assistant name it by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionView {
    /// `<message_id>#<kind>`: a message has at most one decision of each kind (the store
    /// keys them so), and a verdict changes neither.
    pub id: String,
    #[serde(flatten)]
    pub decision: DecisionRecord,
}

impl DecisionView {
    pub fn of(decision: &DecisionRecord) -> Self {
        Self {
            id: format!("{}#{}", decision.message_id, decision.kind),
            decision: decision.clone(),
        }
    }
}

/// A ticket with everything a person needs to work it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketDetail {
    pub ticket: TicketSummary,
    pub escalation: Option<EscalationView>,
    /// The customer's conversation across their tickets and channels, oldest first.
    pub messages: Vec<MessageEntry>,
    pub decisions: Vec<DecisionView>,
    pub audit: Vec<AuditEntry>,
}

/// How a person's reply will look on the customer's channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub channel: Channel,
    pub subject: Option<String>,
    /// The messages it is sent as: one, but for a long WhatsApp reply.
    pub parts: Vec<String>,
}

/// A draft waiting for review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DraftView {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub confidence: Option<f64>,
    pub created_at: DateTime<Utc>,
}

/// The queue's answer: the tickets and how many are at risk or breached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    pub tickets: Vec<TicketSummary>,
    pub sla_counts: crate::sla::SlaCounts,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::records::DecisionKind;

    #[test]
    fn a_decision_is_named_by_its_message_and_kind_beside_its_own_fields() {
        let message = MessageId::inbound(1_795_424_821_663, "web_form#1");
        let decision = DecisionRecord {
            ticket_id: TicketId::parse("tkt_ae01320d52e4ed54c534d1ed3d2d1702").unwrap(),
            message_id: message.clone(),
            kind: DecisionKind::Escalation,
            value: "escalate:refund".into(),
            confidence: 0.82,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 7, 1).unwrap(),
            verdict: None,
        };
        let view = serde_json::to_value(DecisionView::of(&decision)).unwrap();
        assert_eq!(
            view,
            json!({
                "id": format!("{message}#escalation"),
                "ticket_id": "tkt_ae01320d52e4ed54c534d1ed3d2d1702",
                "message_id": message,
                "kind": "escalation",
                "value": "escalate:refund",
                "confidence": 0.82,
                "at": "2026-11-23T09:07:01Z",
                "verdict": null,
            })
        );
    }
}
