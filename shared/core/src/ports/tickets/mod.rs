//! Tickets, their messages and what the agent did, split by capability: each use case
//! sees only the part it needs.

pub mod memory;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::queue::QueueMessage;
use super::InfraError;
use crate::domain::{
    Category, ConversationMessage, CustomerId, EscalationReason, MessageId, Ticket, TicketId, TicketStatus,
};

/// Whether [`IntakeLog::open_ticket`] stored the ticket or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    New,
    /// A ticket with this id exists: the same submission came again. Nothing was written.
    Replay,
}

/// A message stored but not yet known to be on its queue, with what to send.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingMessage {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub queued_as: QueueMessage,
}

/// What the intake writes: a message is stored with an outbox entry in one step, and the
/// entry is cleared once the message is on the inbound queue, so nothing accepted is lost.
#[async_trait]
pub trait IntakeLog: Send + Sync {
    /// Stores a new ticket, its first message and the message's outbox entry, all or nothing.
    async fn open_ticket(
        &self,
        ticket: &Ticket,
        message: &ConversationMessage,
        queued_as: &QueueMessage,
    ) -> Result<Opened, InfraError>;

    /// The message is on its queue: its outbox entry is done.
    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError>;

    /// Outbox entries written before `before`, oldest first, at most `limit`.
    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError>;
}

/// What the status page reads.
#[async_trait]
pub trait TicketReader: Send + Sync {
    /// The ticket and its messages in order.
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError>;
}

/// What the agent reads: the customer's conversation across channels.
#[async_trait]
pub trait HistoryReader: Send + Sync {
    /// The customer's most recent messages across all channels and tickets, oldest first.
    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError>;
}

/// The ticket's state after the agent handled a message.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketOutcome {
    pub status: TicketStatus,
    pub escalation_reason: Option<EscalationReason>,
    pub category: Category,
    /// VADER compound score of the latest customer message, -1..1.
    pub sentiment: f64,
}

/// What the agent did for one inbound message: kept on the ticket so a person can see
/// every step, with the engine that decided.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRun {
    pub message_id: MessageId,
    pub engine: String,
    pub decision: serde_json::Value,
    pub steps: serde_json::Value,
    /// What a person taking over needs: customer, message, sentiment, category, history.
    pub context: serde_json::Value,
    pub duration_ms: u64,
}

/// Whether [`ReplyLog::record_reply`] stored the reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyRecorded {
    Recorded,
    /// A reply with this id was stored before (a redelivery): this one was not.
    AlreadyAnswered(ConversationMessage),
}

/// What the agent writes.
#[async_trait]
pub trait ReplyLog: Send + Sync {
    /// Stores the reply, the ticket's outcome and the agent's run together, so the status
    /// page never shows a reply on an open ticket, or a decided ticket without its reply.
    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        run: &AgentRun,
        now: DateTime<Utc>,
    ) -> Result<ReplyRecorded, InfraError>;
}

/// The outcome of claiming an outbound message for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// This attempt may call the provider.
    Claimed,
    /// An earlier attempt already handed it to the provider, or it failed for good.
    AlreadyDone { provider_message_id: Option<String> },
    /// Another attempt holds a fresh claim; try again later.
    Busy,
    /// No such message (never recorded): nothing to send.
    Missing,
}

/// What the senders write about a reply's delivery.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Marks an outbound message as being sent, unless it was sent already or another
    /// attempt's claim is younger than `lease`.
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError>;

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError>;

    /// The provider refused the message for good: it is marked failed with `error`, and the
    /// ticket goes to a person, in one step.
    async fn mark_failed(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError>;
}
