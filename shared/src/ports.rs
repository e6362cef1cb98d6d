//! The ports: what the domain needs from the outside world, one narrow trait
//! per capability. Adapters (DynamoDB, SQS, SES, Bedrock) implement them; tests
//! can implement them in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Category, ConversationMessage, Customer, CustomerId, EmailAddress, EscalationReason, MessageId, Sender, Ticket,
    TicketId, TicketStatus,
};

/// A failure of the storage or messaging infrastructure: worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct InfraError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl InfraError {
    pub fn new(operation: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}

/// One customer across channels: found by any of their identities.
#[async_trait]
pub trait CustomerDirectory: Send + Sync {
    /// Finds the customer owning any identity of `sender` (email, phone), links
    /// identities not yet known to them, or creates the customer. Safe under
    /// concurrent calls for the same identity: exactly one customer results.
    async fn find_or_create(&self, sender: &Sender, now: DateTime<Utc>) -> Result<Customer, InfraError>;

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<Customer>, InfraError>;
}

/// The outcome of writing an item that may already exist (a redelivery).
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded<T> {
    Created,
    AlreadyExisted(T),
}

/// The outcome of claiming an outbound message for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// This attempt may call the provider.
    Claimed,
    /// An earlier attempt already handed it to the provider.
    AlreadySent { provider_message_id: Option<String> },
    /// Another attempt holds a fresh claim; try again later.
    Busy,
    /// No such message (never recorded): nothing to send.
    Missing,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Stores a new ticket; a ticket with the same id is left as it is.
    async fn create_ticket(&self, ticket: &Ticket) -> Result<Recorded<()>, InfraError>;

    async fn get_ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError>;

    /// The ticket and its messages in order.
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError>;

    /// Stores a message unless one with its id is already on the ticket.
    async fn record_message(&self, message: &ConversationMessage) -> Result<Recorded<ConversationMessage>, InfraError>;

    async fn get_message(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<ConversationMessage>, InfraError>;

    /// Stores the agent's reply and what it concluded about the ticket together, so
    /// the status page never shows a reply on an open ticket or a decided ticket
    /// without its reply.
    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError>;

    /// The customer's most recent messages across all channels and tickets,
    /// oldest first.
    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError>;

    /// Marks an outbound message as being sent, unless it was sent already or
    /// another attempt's claim is younger than `lease`.
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError>;

    async fn record_agent_run(&self, run: &AgentRun) -> Result<(), InfraError>;

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError>;
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

/// What the agent did for one inbound message: kept on the ticket so a person
/// can see every step, with the model that decided.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRun {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub model: String,
    pub decision: serde_json::Value,
    pub steps: serde_json::Value,
    /// What a person taking over needs: customer, message, sentiment, category, history.
    pub context: serde_json::Value,
    pub duration_ms: u64,
    pub created_at: DateTime<Utc>,
}

/// A message for a queue. FIFO queues need `group_id`; `deduplication_id`
/// makes a repeated send within the queue's window a no-op.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    pub body: String,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub correlation_id: String,
}

#[async_trait]
pub trait MessageQueue: Send + Sync {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError>;
}

/// Sends a complete MIME message; returns the provider's message id.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send_raw(&self, mime: Vec<u8>) -> Result<String, InfraError>;
}
