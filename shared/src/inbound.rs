//! Normalized inbound messages: how every webhook hands a message to the agent.

use sha2::{Digest, Sha256};

use crate::domain::{ConversationMessage, CustomerId, Direction, InboundMessage, TicketId};
use crate::ports::QueueMessage;

/// The inbound queue is FIFO with one group per customer, so one customer's
/// messages are handled in order and never concurrently; the deduplication id
/// turns a webhook's retry within five minutes into a no-op.
pub fn inbound_queue_message(message: &InboundMessage, customer: &CustomerId) -> QueueMessage {
    QueueMessage {
        body: serde_json::to_string(message).expect("inbound messages serialize"),
        group_id: Some(customer.to_string()),
        deduplication_id: Some(hex::encode(Sha256::digest(message.idempotency_key().as_bytes()))),
        correlation_id: message.correlation_id.clone(),
    }
}

/// The customer's message as kept on their ticket.
pub fn conversation_message(message: &InboundMessage, customer: &CustomerId, ticket: &TicketId) -> ConversationMessage {
    ConversationMessage {
        id: message.message_id(),
        ticket_id: ticket.clone(),
        customer_id: customer.clone(),
        direction: Direction::Inbound,
        channel: message.channel,
        body: message.body.clone(),
        created_at: message.received_at,
        delivery_status: None,
        provider_message_id: None,
    }
}
