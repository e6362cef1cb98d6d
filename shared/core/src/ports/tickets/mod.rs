//! Tickets, their messages and what the agent did, split by capability: each use case
//! sees only the part it needs.

pub mod memory;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::queue::QueueMessage;
use super::InfraError;
use crate::cost::TurnUsage;
use crate::domain::{
    Category, Channel, ConversationMessage, CustomerId, DeliveryStatus, EmailAddress, EscalationReason, Handler,
    MessageId, OutboundReply, Ticket, TicketFacts, TicketId, TicketStatus,
};
use crate::records::{Actor, AuditAction, AuditEntry, DecisionKind, DecisionRecord, Verdict};

/// Where the intake puts a message: on a new ticket, or on the customer's open conversation
/// (a WhatsApp burst before the agent answered).
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    New(Box<Ticket>),
    /// Only while the ticket is still open: a decided ticket is never reopened by a message.
    Join(TicketFacts),
    /// A message that continues a ticket whatever became of it (a reply in its email
    /// thread, a follow-up from its status page): the ticket is open again for the agent,
    /// unless a person has it (escalated). Only while its status is still `seen`.
    Continue {
        facts: TicketFacts,
        seen: TicketStatus,
    },
}

impl Placement {
    pub fn ticket_id(&self) -> &TicketId {
        match self {
            Placement::New(ticket) => &ticket.id,
            Placement::Join(facts) | Placement::Continue { facts, .. } => &facts.id,
        }
    }
}

/// What the intake stores for one message, all or nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeRecord {
    /// The message's idempotency key: the same key again is a replay.
    pub key: String,
    pub placement: Placement,
    pub message: ConversationMessage,
    /// What the sweeper queues if the intake stops before queueing it (the outbox entry).
    pub queued_as: QueueMessage,
    /// For a channel whose messages continue a conversation: the customer's conversation
    /// pointer is moved to a new ticket only if it still names `previous` (or none).
    pub conversation: Option<ConversationUpdate>,
    /// The message as it arrived, when the stored body holds less (kept apart).
    pub original: Option<String>,
    /// Keys of the Message-IDs ([`crate::domain::EmailThread::sender_key`]) that name the
    /// message's ticket from now on: a reply to them continues it.
    pub thread_keys: Vec<String>,
    /// The message's line in the ticket's audit trail.
    pub audit: AuditEntry,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversationUpdate {
    pub customer: CustomerId,
    pub channel: Channel,
    pub previous: Option<TicketId>,
}

/// What [`IntakeLog::store`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    New,
    /// The same key came before (a provider's retry, a resubmitted form): nothing was
    /// written; the message is on this ticket.
    Replay(TicketId),
    /// The conversation moved on meanwhile (its ticket was decided, or another message
    /// opened a new one): nothing was written; look again.
    ConversationMoved,
    /// The conversation's ticket is a person's now (as it is, here): nothing was written;
    /// the message continues it.
    PersonHasIt(Box<Ticket>),
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
    /// Stores the message (with its ticket when new), its outbox entry and its idempotency
    /// record, all or nothing.
    async fn store(&self, record: &IntakeRecord) -> Result<Stored, InfraError>;

    /// The ticket of the customer's latest conversation on `channel`, if any (open or not).
    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError>;

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError>;

    /// The ticket that one of these Message-ID keys names (see [`IntakeRecord::thread_keys`]
    /// and [`DeliveryLog::mark_sent`]), the first one known.
    async fn ticket_of_thread(&self, keys: &[&str]) -> Result<Option<Ticket>, InfraError>;

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

    /// A message as it arrived, when its stored body holds less (`has_original`).
    async fn original(&self, ticket: &TicketId, message: &MessageId) -> Result<Option<String>, InfraError>;
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
    /// An escalation's operator, when one was online.
    pub assignee: Option<String>,
    /// The reply answers the customer (it is not a hand-off notice, nor a held draft): the
    /// ticket's first response, if it had none.
    pub responded: bool,
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
    /// What the turn used (tokens, AWS calls, GB-seconds), for its cost.
    pub usage: TurnUsage,
}

/// Whether [`ReplyLog::record_reply`] stored the reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyRecorded {
    Recorded,
    /// A reply with this id was stored before (a redelivery): this one was not.
    AlreadyAnswered(ConversationMessage),
    /// A person took the ticket while the agent worked on it: nothing was recorded, and
    /// the agent's reply must not go out.
    PersonHasIt,
}

/// A one-time code on its way to an email address the customer gave (see `agent::identity`):
/// the code's digest, and the email that carries it, sent like a reply (claimed, once).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeSent {
    /// Whose phone is to be linked once the code comes back.
    pub customer: CustomerId,
    pub code: PendingCode,
    pub notice: OutboundReply,
}

/// A code waiting to come back.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCode {
    pub email: EmailAddress,
    /// Hex SHA-256 of the salt and the code: the code itself is only in the email.
    pub digest: String,
    pub salt: String,
    pub expires_at: DateTime<Utc>,
    /// Tries so far, this one included when read through [`Verifications::attempt`].
    pub attempts: u32,
}

/// What the agent writes for one turn, all together, so the status page never shows a
/// reply on an open ticket, or a decided ticket without its reply.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRecord {
    pub reply: ConversationMessage,
    pub outcome: TicketOutcome,
    pub run: AgentRun,
    pub code_sent: Option<CodeSent>,
    /// The turn's decisions with their confidence.
    pub decisions: Vec<DecisionRecord>,
    pub audit: Vec<AuditEntry>,
}

impl TurnRecord {
    /// A plain answer to `inbound`, as the agent records one, written by something other
    /// than the agent (tests of what follows an answer: delivery, conversations).
    pub fn answered(reply: ConversationMessage, inbound: MessageId) -> Self {
        Self {
            reply,
            outcome: TicketOutcome {
                status: TicketStatus::Answered,
                escalation_reason: None,
                category: Category::General,
                sentiment: 0.0,
                assignee: None,
                responded: true,
            },
            run: AgentRun {
                message_id: inbound,
                engine: "test".into(),
                decision: serde_json::Value::Null,
                steps: serde_json::Value::Null,
                context: serde_json::Value::Null,
                duration_ms: 0,
                usage: TurnUsage::default(),
            },
            code_sent: None,
            decisions: Vec::new(),
            audit: Vec::new(),
        }
    }
}

/// What the agent writes.
#[async_trait]
pub trait ReplyLog: Send + Sync {
    /// Stores the reply, the ticket's outcome, the agent's run and any code sent, together.
    async fn record_reply(&self, turn: &TurnRecord, now: DateTime<Utc>) -> Result<ReplyRecorded, InfraError>;
}

/// Where a code that came back stands.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeAttempt {
    /// Counted: compare it with [`PendingCode::digest`].
    Counted(PendingCode),
    /// Too many wrong tries: the code is dead.
    Exhausted,
    Expired,
    /// No code is waiting for this customer.
    NoCode,
}

/// One-time codes and what linking does to the stored conversations.
#[async_trait]
pub trait Verifications: Send + Sync {
    /// Counts one try at the customer's pending code (at most `max_attempts`, before it expires).
    async fn attempt(
        &self,
        customer: &CustomerId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<CodeAttempt, InfraError>;

    /// The code came back right: it cannot be used again.
    async fn consume(&self, customer: &CustomerId) -> Result<(), InfraError>;

    /// The code's email of a recorded turn, while it has not left yet.
    async fn queued_notice(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<OutboundReply>, InfraError>;

    /// Moves every ticket and message of `from` to `to` (the customers were proven one):
    /// their histories become one. Safe to run again.
    async fn move_history(&self, from: &CustomerId, to: &CustomerId) -> Result<(), InfraError>;

    /// The ticket's claimed address was confirmed: the claim is done.
    async fn address_confirmed(&self, ticket: &TicketId) -> Result<(), InfraError>;
}

/// The outcome of claiming an outbound message for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendClaim {
    /// This attempt may call the provider.
    Claimed(Claim),
    /// An earlier attempt already handed it to the provider, or it failed for good.
    AlreadyDone { provider_message_id: Option<String> },
    /// Another attempt holds a fresh claim; try again later.
    Busy,
    /// No such message (never recorded): nothing to send.
    Missing,
}

/// A claim, and what an earlier attempt left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claim {
    /// When an earlier attempt claimed it and then stopped (crashed, timed out): the provider
    /// may have accepted parts it never recorded.
    pub taken_over_from: Option<DateTime<Utc>>,
    /// The parts of a split reply the provider accepted, by index, with their ids.
    pub sent_parts: BTreeMap<usize, String>,
}

/// What the senders and the providers' status callbacks write about a reply's delivery.
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

    /// One part of a split reply was accepted by the provider, with this id.
    async fn record_part(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        part: usize,
        provider_message_id: &str,
    ) -> Result<(), InfraError>;

    /// The provider accepted the message. `thread_keys`: for an email, the keys of its
    /// Message-IDs (ours and the provider's), which name the ticket from now on.
    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        thread_keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), InfraError>;

    /// The provider reports a later state of the message (of its last part, `provider_message_id`,
    /// whose id is recorded with it): moved only forward ([`DeliveryStatus::may_become`]).
    /// Whether it moved.
    async fn record_delivery(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        status: DeliveryStatus,
        provider_message_id: &str,
    ) -> Result<bool, InfraError>;

    /// The outbound message one of whose Message-ID keys this is (see [`Self::mark_sent`]).
    async fn message_of_thread(&self, key: &str) -> Result<Option<(TicketId, MessageId)>, InfraError>;

    /// The provider could not deliver the message (`status` is a failure): it is marked so
    /// (unless it got further meanwhile), and the ticket goes to a person with `reason` and
    /// `note`, in one step.
    async fn hand_over(&self, ticket: &TicketId, id: &MessageId, failure: &DeliveryFailure) -> Result<(), InfraError>;
}

/// Why a reply did not reach the customer, for the person who takes the ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    pub status: DeliveryStatus,
    pub reason: EscalationReason,
    /// The provider's error, e.g. `Twilio error 63016: ...`.
    pub note: String,
    pub at: DateTime<Utc>,
}

impl DeliveryFailure {
    /// The failure's line in the ticket's audit trail.
    pub fn audit(&self, ticket: &TicketId, message: &MessageId) -> AuditEntry {
        AuditEntry::new(ticket, self.at, Actor::System, AuditAction::DeliveryFailed)
            .about(message)
            .detail(format!("{}: handed to a person ({})", self.status, self.reason))
            .why(self.note.clone())
    }
}

/// Everything kept on one ticket, for the person working it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecords {
    pub ticket: Ticket,
    pub messages: Vec<ConversationMessage>,
    pub runs: Vec<AgentRun>,
    pub decisions: Vec<DecisionRecord>,
    /// Oldest first.
    pub audit: Vec<AuditEntry>,
}

/// What a person's action changes on the ticket.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TicketChange {
    pub status: Option<TicketStatus>,
    pub handled_by: Option<Handler>,
    /// `Some(None)`: back to the team's queue.
    pub assignee: Option<Option<String>>,
    pub escalation: Option<(EscalationReason, String)>,
    pub first_response_at: Option<DateTime<Utc>>,
    /// `Some(None)`: reopened.
    pub resolved_at: Option<Option<DateTime<Utc>>>,
}

/// A draft the person let go: sent as it was, or with their text.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRelease {
    pub message: MessageId,
    pub body: Option<String>,
    pub person: String,
}

/// A proposed knowledge-base answer, learned from a resolved ticket.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Proposal {
    pub id: String,
    pub question: String,
    pub answer: String,
    pub category: Option<Category>,
    pub source_ticket: TicketId,
    pub status: ProposalStatus,
    pub created_at: DateTime<Utc>,
}

named_set!(ProposalStatus {
    Pending,
    Approved,
    Rejected
});

/// One action of a person on a ticket, written all together: the ticket changes only if it
/// is still as the person saw it (`seen`), so two people, or a person and the agent, never
/// overwrite each other.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskRecord {
    pub ticket: TicketId,
    pub seen: (TicketStatus, Handler),
    pub change: TicketChange,
    /// A person's reply, queued for its channel's sender.
    pub reply: Option<ConversationMessage>,
    pub release: Option<DraftRelease>,
    /// The agent's replies not yet sent (queued, held) that must now never be: the person
    /// speaks for the ticket from now on.
    pub withhold: Vec<MessageId>,
    pub verdicts: Vec<(MessageId, DecisionKind, Verdict)>,
    pub proposal: Option<Proposal>,
    pub audit: Vec<AuditEntry>,
    /// The request's idempotency key and the answer to give again for it.
    pub request: Option<(String, String)>,
    pub now: DateTime<Utc>,
}

/// What [`Desk::apply`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    Done,
    /// The same request came before: its answer.
    Replay(String),
    /// The ticket changed since the person looked: nothing was written.
    Moved,
}

/// What the operator console and the operator's assistant read and write.
#[async_trait]
pub trait Desk: Send + Sync {
    /// The tickets in these statuses, most recently active first, at most `limit`.
    async fn queue(&self, statuses: &[TicketStatus], limit: usize) -> Result<Vec<Ticket>, InfraError>;

    async fn records(&self, ticket: &TicketId) -> Result<Option<TicketRecords>, InfraError>;

    /// The ticket alone (one read).
    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError>;

    /// A customer's tickets, newest first.
    async fn customer_tickets(&self, customer: &CustomerId) -> Result<Vec<Ticket>, InfraError>;

    /// Drafts held for review, oldest first.
    async fn drafts(&self, limit: usize) -> Result<Vec<ConversationMessage>, InfraError>;

    /// The agent's decisions of the tickets opened since `since`.
    async fn decisions_since(&self, since: DateTime<Utc>) -> Result<Vec<DecisionRecord>, InfraError>;

    /// The answer given to an earlier request with this idempotency key, if any.
    async fn replayed(&self, key: &str) -> Result<Option<String>, InfraError>;

    async fn apply(&self, record: &DeskRecord) -> Result<Applied, InfraError>;

    async fn proposals(&self) -> Result<Vec<Proposal>, InfraError>;

    /// Approves (with the person's text) or rejects a pending proposal; approval makes it
    /// searchable at once (the learned answers' version moves). `None`: no such proposal
    /// pending.
    async fn decide_proposal(
        &self,
        id: &str,
        decision: &ProposalDecision,
        audit: &AuditEntry,
    ) -> Result<Option<Proposal>, InfraError>;
}

/// A person's decision on a proposal.
#[derive(Debug, Clone, PartialEq)]
pub enum ProposalDecision {
    Approve { question: String, answer: String },
    Reject,
}
