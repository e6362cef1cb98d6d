//! Tickets, their messages and the agent's runs in DynamoDB (single table).
//!
//! Access patterns (the keys and indexes declared in template.yaml serve exactly these):
//! - `TICKET#<id>` / `META`          the ticket
//! - `TICKET#<id>` / `MSG#<msg id>`  its messages; message ids sort by time.
//!   Ticket with its thread: Query pk.
//! - `TICKET#<id>` / `RUN#<msg id>`  what the agent did for a message (steps, decision,
//!   the context a person taking over needs, what it used: `usage`).
//! - GSI `by_customer` (`gsi1pk` = `CUSTOMER#<id>`, `gsi1sk` = `<created_at>#…`) on tickets and
//!   messages: a customer's history across channels, newest first.
//! - GSI `by_status` (`ticket_status`, `updated_at`) on tickets: the open / escalated queue.
//! - GSI `by_day` (`created_day` = YYYY-MM-DD, `created_at`) on tickets, decisions and runs:
//!   the daily report (`report.rs`) and the agreement rate.
//! - GSI `by_outbox` (`outbox` = `PENDING`, `outbox_at`), sparse: inbound messages stored but
//!   not yet known to be on the inbound queue, with the queue message in `queued_as`.
//! - `LEARNED` / `<id>`  answers learned from resolved tickets, with `review_status`
//!   pending | approved | rejected: Query pk `LEARNED`, approved ones only.
//! - `INBOUND#<channel>#<message key>` / `META`  the idempotency record of an inbound
//!   message (its ticket), written with it: a provider's retry finds it (TTL `expires_at`).
//! - `CONVERSATION#<customer>#<channel>` / `META`  the customer's latest conversation ticket
//!   on a chat channel (WhatsApp): a burst joins it while it is open.
//! - `TICKET#<id>` / `MSG#<id>` with `entity` = `notice`: an email the agent sends outside
//!   the conversation (a one-time code): claimed and sent like a reply, never in the thread
//!   or the history.
//! - `VERIFY#<customer>` / `META`  a one-time code waiting to come back: its digest, expiry
//!   and tries (TTL `expires_at`).
//! - `THREAD#<Message-ID key>` / `META`  the ticket and message an email's Message-ID names
//!   (a customer's email, our reply by our id and by SES's): a reply in the thread
//!   continues the ticket, and a bounce finds its reply.
//! - `ORIGINAL#<ticket>` / `<msg id>`  a message as it arrived, when the stored body holds
//!   less (an email's quoted history): apart, so the thread and the history stay small.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::builders::KeysAndAttributesBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use support_core::cost::TurnUsage;
use support_core::domain::{
    AddressClaim, Attachment, Category, Channel, ConversationMessage, CustomerId, DeliveryStatus, Direction,
    EmailAddress, EscalationReason, Handler, MessageId, OutboundReply, Priority, Sender, Ticket, TicketFacts, TicketId,
    TicketStatus,
};
use support_core::ports::learned::{Approved, LearnedAnswer, LearnedAnswers};
use support_core::ports::tickets::{
    Claim, CodeAttempt, CodeSent, DeliveryFailure, DeliveryLog, HistoryReader, IntakeLog, IntakeRecord, PendingCode,
    PendingMessage, Placement, ReplyLog, ReplyRecorded, SendClaim, Stored, TicketReader, TurnRecord, Verifications,
};
use support_core::ports::InfraError;
use support_core::records::{AuditEntry, DecisionRecord};

mod desk;
mod report;

use crate::dynamodb::{
    cancelled_by_condition, cancelled_item, from_item, get_item, infra, s, timestamp, to_item, Item,
};

const OUTBOX_PENDING: &str = "PENDING";
/// Learned answers, and the counter approvals move (`VERSION`): agents rebuild their
/// knowledge base when it moved.
const LEARNED_PK: &str = "LEARNED";
const LEARNED_VERSION_SK: &str = "VERSION";
/// A reply held for review, in the same sparse index (`by_outbox`): the review queue.
const OUTBOX_DRAFT: &str = "DRAFT";
/// How long an inbound message's idempotency record is kept: far longer than any provider
/// retries, and than the mailbox sync looks back (`support_core::inbox`). (A web form's
/// ticket id, derived from its key, catches even later repeats.)
const INBOUND_KEY_DAYS: i64 = 30;

fn inbound_key_pk(key: &str) -> String {
    format!("INBOUND#{key}")
}

fn conversation_pk(customer: &CustomerId, channel: Channel) -> String {
    format!("CONVERSATION#{customer}#{channel}")
}

fn thread_pk(key: &str) -> String {
    format!("THREAD#{key}")
}

fn original_pk(ticket: &TicketId) -> String {
    format!("ORIGINAL#{ticket}")
}

fn verification_pk(customer: &CustomerId) -> String {
    format!("VERIFY#{customer}")
}

/// A DynamoDB TTL: seconds since the epoch.
fn ttl(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn ticket_pk(id: &TicketId) -> String {
    format!("TICKET#{id}")
}

fn message_sk(id: &MessageId) -> String {
    format!("MSG#{id}")
}

#[derive(Serialize, Deserialize)]
struct TicketItem {
    pk: String,
    sk: String,
    entity: String,
    ticket_id: TicketId,
    customer_id: CustomerId,
    channel: Channel,
    subject: String,
    category: Category,
    priority: Priority,
    ticket_status: TicketStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    escalation_reason: Option<EscalationReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    escalation_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address_claim: Option<AddressClaim>,
    #[serde(default)]
    contact: Sender,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sentiment: Option<f64>,
    #[serde(default)]
    handled_by: Handler,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_response_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved_at: Option<DateTime<Utc>>,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    updated_at: DateTime<Utc>,
    created_day: String,
    gsi1pk: String,
    gsi1sk: String,
}

impl TicketItem {
    fn new(t: &Ticket) -> Self {
        Self {
            pk: ticket_pk(&t.id),
            sk: "META".into(),
            entity: "ticket".into(),
            ticket_id: t.id.clone(),
            customer_id: t.customer_id.clone(),
            channel: t.channel,
            subject: t.subject.clone(),
            category: t.category,
            priority: t.priority,
            ticket_status: t.status,
            escalation_reason: t.escalation_reason,
            escalation_note: t.escalation_note.clone(),
            address_claim: t.address_claim.clone(),
            contact: t.contact.clone(),
            sentiment: t.sentiment,
            handled_by: t.handled_by,
            assignee: t.assignee.clone(),
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
            created_day: t.created_at.format("%Y-%m-%d").to_string(),
            gsi1pk: format!("CUSTOMER#{}", t.customer_id),
            gsi1sk: format!("{}#TICKET#{}", timestamp::text(&t.created_at), t.id),
        }
    }

    fn into_ticket(self) -> Ticket {
        Ticket {
            id: self.ticket_id,
            customer_id: self.customer_id,
            channel: self.channel,
            subject: self.subject,
            category: self.category,
            priority: self.priority,
            status: self.ticket_status,
            escalation_reason: self.escalation_reason,
            escalation_note: self.escalation_note,
            address_claim: self.address_claim,
            contact: self.contact,
            sentiment: self.sentiment,
            handled_by: self.handled_by,
            assignee: self.assignee,
            first_response_at: self.first_response_at,
            resolved_at: self.resolved_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct MessageItem {
    pk: String,
    sk: String,
    entity: String,
    message_id: MessageId,
    ticket_id: TicketId,
    customer_id: CustomerId,
    direction: Direction,
    channel: Channel,
    body: String,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery_status: Option<DeliveryStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    has_original: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    person: Option<String>,
    /// The outbox entry: `PENDING` until an inbound message is on the inbound queue;
    /// `DRAFT` while a reply waits for a person's review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queued_as: Option<String>,
}

impl MessageItem {
    fn new(m: &ConversationMessage) -> Self {
        let held = m.delivery_status == Some(DeliveryStatus::Held);
        Self {
            pk: ticket_pk(&m.ticket_id),
            sk: message_sk(&m.id),
            entity: "message".into(),
            message_id: m.id.clone(),
            ticket_id: m.ticket_id.clone(),
            customer_id: m.customer_id.clone(),
            direction: m.direction,
            channel: m.channel,
            body: m.body.clone(),
            created_at: m.created_at,
            gsi1pk: format!("CUSTOMER#{}", m.customer_id),
            gsi1sk: format!("{}#MSG#{}", timestamp::text(&m.created_at), m.id),
            delivery_status: m.delivery_status,
            provider_message_id: m.provider_message_id.clone(),
            attachments: m.attachments.clone(),
            has_original: m.has_original,
            person: m.person.clone(),
            outbox: held.then(|| OUTBOX_DRAFT.into()),
            outbox_at: held.then(|| timestamp::text(&m.created_at)),
            queued_as: None,
        }
    }

    fn into_message(self) -> ConversationMessage {
        ConversationMessage {
            id: self.message_id,
            ticket_id: self.ticket_id,
            customer_id: self.customer_id,
            direction: self.direction,
            channel: self.channel,
            body: self.body,
            created_at: self.created_at,
            delivery_status: self.delivery_status,
            provider_message_id: self.provider_message_id,
            attachments: self.attachments,
            has_original: self.has_original,
            person: self.person,
        }
    }
}

/// What an email's Message-ID names.
#[derive(Serialize, Deserialize)]
struct ThreadItem {
    pk: String,
    sk: String,
    entity: String,
    ticket_id: TicketId,
    message_id: MessageId,
}

impl ThreadItem {
    fn new(key: &str, ticket: &TicketId, message: &MessageId) -> Self {
        Self {
            pk: thread_pk(key),
            sk: "META".into(),
            entity: "thread".into(),
            ticket_id: ticket.clone(),
            message_id: message.clone(),
        }
    }
}

/// What every sendable item (a reply, a notice) holds about its delivery.
#[derive(Deserialize)]
struct DeliveryItem {
    #[serde(default)]
    delivery_status: Option<DeliveryStatus>,
    #[serde(default)]
    provider_message_id: Option<String>,
    #[serde(default)]
    sending_since: Option<String>,
    /// The SIDs of a split reply's parts, by index.
    #[serde(default)]
    provider_parts: HashMap<String, String>,
}

/// An email the agent sends outside the conversation (a one-time code), claimed and sent
/// like a reply by the email sender.
#[derive(Serialize, Deserialize)]
struct NoticeItem {
    pk: String,
    sk: String,
    entity: String,
    ticket_id: TicketId,
    message_id: MessageId,
    recipient: String,
    subject: String,
    body: String,
    correlation_id: String,
    delivery_status: DeliveryStatus,
}

impl NoticeItem {
    fn new(notice: &OutboundReply) -> Self {
        Self {
            pk: ticket_pk(&notice.ticket_id),
            sk: message_sk(&notice.message_id),
            entity: "notice".into(),
            ticket_id: notice.ticket_id.clone(),
            message_id: notice.message_id.clone(),
            recipient: notice.recipient.clone(),
            subject: notice.subject.clone(),
            body: notice.body.clone(),
            correlation_id: notice.correlation_id.clone(),
            delivery_status: DeliveryStatus::Queued,
        }
    }

    fn into_reply(self) -> OutboundReply {
        OutboundReply {
            ticket_id: self.ticket_id,
            message_id: self.message_id,
            channel: Channel::Email,
            recipient: self.recipient,
            recipient_name: None,
            subject: self.subject,
            body: self.body,
            correlation_id: self.correlation_id,
            confirm_token: None,
            in_reply_to: None,
            references: Vec::new(),
            received_at: None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ConversationItem {
    pk: String,
    sk: String,
    entity: String,
    ticket_id: TicketId,
    subject: String,
    category: Category,
    priority: Priority,
}

#[derive(Serialize, Deserialize)]
struct PendingCodeItem {
    pk: String,
    sk: String,
    entity: String,
    email: EmailAddress,
    digest: String,
    salt: String,
    #[serde(with = "timestamp")]
    code_expires_at: DateTime<Utc>,
    attempts: u32,
    /// The TTL: a day after the code expired.
    expires_at: i64,
}

impl PendingCodeItem {
    fn into_code(self) -> PendingCode {
        PendingCode {
            email: self.email,
            digest: self.digest,
            salt: self.salt,
            expires_at: self.code_expires_at,
            attempts: self.attempts,
        }
    }
}

#[derive(Serialize)]
struct RunItem<'a> {
    pk: String,
    sk: String,
    entity: &'static str,
    engine: &'a str,
    decision: String,
    steps: String,
    context: String,
    duration_ms: u64,
    usage: TurnUsage,
    /// In `by_day`, with the day's tickets and decisions: a day's cost.
    created_day: String,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
}

/// One line of a ticket's audit trail: put once, never updated.
#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    entity: String,
    #[serde(flatten)]
    entry: AuditEntry,
}

impl AuditItem {
    fn new(entry: &AuditEntry) -> Self {
        Self {
            pk: ticket_pk(&entry.ticket_id),
            sk: format!("AUDIT#{}", entry.key()),
            entity: "audit".into(),
            entry: entry.clone(),
        }
    }
}

/// One decision of the agent; in the `by_day` index (by the day its ticket's message was
/// handled), so the agreement rate reads a period's decisions.
#[derive(Serialize, Deserialize)]
struct DecisionItem {
    pk: String,
    sk: String,
    entity: String,
    created_day: String,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
    #[serde(flatten)]
    decision: DecisionRecord,
}

impl DecisionItem {
    fn new(decision: &DecisionRecord) -> Self {
        Self {
            pk: ticket_pk(&decision.ticket_id),
            sk: decision_sk(&decision.message_id, decision.kind),
            entity: "decision".into(),
            created_day: decision.at.format("%Y-%m-%d").to_string(),
            created_at: decision.at,
            decision: decision.clone(),
        }
    }
}

fn decision_sk(message: &MessageId, kind: support_core::records::DecisionKind) -> String {
    format!("DECISION#{message}#{kind}")
}

#[derive(Serialize, Deserialize)]
struct LearnedItem {
    pk: String,
    sk: String,
    question: String,
    answer: String,
    #[serde(default)]
    category: Option<String>,
    /// pending | approved | rejected
    review_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ticket: Option<TicketId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime<Utc>>,
}

/// The learned answers' version, if this is its item.
fn version_of(item: &Item) -> Option<u64> {
    match item.get("sk").and_then(|v| v.as_s().ok()) {
        Some(sk) if sk == LEARNED_VERSION_SK => item.get("version")?.as_n().ok()?.parse().ok(),
        _ => None,
    }
}

/// A string attribute of an item.
fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn entity(item: &Item) -> Option<&str> {
    text(item, "entity")
}

pub struct DynamoTickets {
    client: Client,
    table: String,
}

impl DynamoTickets {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn put(&self, item: Item, condition: Option<&str>) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    async fn message(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<ConversationMessage>, InfraError> {
        let item = self.get(ticket_pk(ticket), message_sk(id), "get message").await?;
        item.map(|item| from_item::<MessageItem>(item).map(MessageItem::into_message))
            .transpose()
    }

    /// The ticket of a replayed inbound message: from the failed condition's old item,
    /// or read when the service did not return it.
    async fn replayed_ticket<R>(
        &self,
        error: &SdkError<TransactWriteItemsError, R>,
        key: &str,
    ) -> Result<TicketId, InfraError> {
        let returned = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .first()
                .and_then(|r| r.item())
                .and_then(|item| item.get("ticket_id"))
                .and_then(|v| v.as_s().ok())
                .cloned(),
            _ => None,
        };
        let ticket = match returned {
            Some(ticket) => ticket,
            None => {
                let item = self
                    .get(inbound_key_pk(key), "META".into(), "get idempotency record")
                    .await?;
                item.and_then(|item| item.get("ticket_id").and_then(|v| v.as_s().ok()).cloned())
                    .ok_or_else(|| InfraError::new("read idempotency record", "no ticket id"))?
            }
        };
        TicketId::parse(&ticket).map_err(|e| InfraError::new("read idempotency record", e))
    }

    /// Writes all or nothing; a cancellation names the condition that failed, by index.
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError, HttpResponse>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
    }

    /// One item by its key, read consistently.
    async fn get(&self, pk: String, sk: String, operation: &'static str) -> Result<Option<Item>, InfraError> {
        get_item(&self.client, &self.table, pk, sk, operation).await
    }

    /// The `META` items of `pks` (at most 100) in one BatchGetItem, `shape`d (consistency,
    /// projection). Keys DynamoDB did not read (throttled) fail the read: the caller's
    /// retry reads them all again.
    async fn meta_items(
        &self,
        pks: impl IntoIterator<Item = String>,
        shape: impl FnOnce(KeysAndAttributesBuilder) -> KeysAndAttributesBuilder,
        operation: &'static str,
    ) -> Result<Vec<Item>, InfraError> {
        let mut request = shape(KeysAndAttributes::builder());
        for pk in pks {
            request = request.keys(HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("META"))]));
        }
        let request = request.build().map_err(|e| InfraError::new(operation, e))?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(infra(operation))?;
        if out.unprocessed_keys.as_ref().is_some_and(|keys| !keys.is_empty()) {
            return Err(InfraError::new(operation, "some keys were not read"));
        }
        Ok(out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default())
    }

    /// An update of one item, in a transaction.
    fn update(&self, pk: String, sk: String) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
    }

    /// An update of one item, on its own.
    fn update_item(
        &self,
        pk: String,
        sk: String,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
    }
}

#[async_trait]
impl IntakeLog for DynamoTickets {
    async fn store(&self, record: &IntakeRecord) -> Result<Stored, InfraError> {
        let message = &record.message;
        let now = message.created_at;
        let idempotency = HashMap::from([
            ("pk".to_owned(), s(inbound_key_pk(&record.key))),
            ("sk".to_owned(), s("META")),
            ("entity".to_owned(), s("inbound_key")),
            ("ticket_id".to_owned(), s(message.ticket_id.as_str())),
            (
                "expires_at".to_owned(),
                ttl(Utc::now() + Duration::days(INBOUND_KEY_DAYS)),
            ),
        ]);
        let idempotency = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| InfraError::new("build idempotency record", e))?;
        let mut stored = MessageItem::new(message);
        stored.outbox = Some(OUTBOX_PENDING.into());
        stored.outbox_at = Some(timestamp::text(&now));
        stored.queued_as = Some(serde_json::to_string(&record.queued_as).expect("queue messages serialize"));
        let mut writes = vec![
            TransactWriteItem::builder().put(idempotency).build(),
            self.put(to_item(&stored), Some("attribute_not_exists(sk)")),
        ];
        match &record.placement {
            Placement::New(ticket) => {
                writes.push(self.put(to_item(&TicketItem::new(ticket)), Some("attribute_not_exists(pk)")))
            }
            Placement::Join(facts) => {
                // Only the agent's open ticket: a person's is returned, to be continued.
                let join = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(ticket_pk(&facts.id)))
                    .key("sk", s("META"))
                    .update_expression("SET updated_at = :now")
                    .condition_expression(
                        "ticket_status = :open AND (attribute_not_exists(handled_by) OR handled_by = :agent)",
                    )
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .expression_attribute_values(":now", s(timestamp::text(&now)))
                    .expression_attribute_values(":open", s(TicketStatus::Open.as_str()))
                    .expression_attribute_values(":agent", s(Handler::Agent.as_str()))
                    .build()
                    .map_err(|e| InfraError::new("build join", e))?;
                writes.push(TransactWriteItem::builder().update(join).build());
            }
            Placement::Continue { facts, seen } => {
                // A resolved ticket starts afresh: its escalation and assignee are history.
                let afresh = match seen {
                    TicketStatus::Resolved => " REMOVE escalation_reason, escalation_note, assignee, resolved_at",
                    _ => "",
                };
                let resume = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(ticket_pk(&facts.id)))
                    .key("sk", s("META"))
                    .update_expression(format!(
                        "SET updated_at = :now, ticket_status = :status, handled_by = :handler{afresh}"
                    ))
                    .condition_expression("ticket_status = :seen")
                    .expression_attribute_values(":now", s(timestamp::text(&now)))
                    .expression_attribute_values(":status", s(facts.status.as_str()))
                    .expression_attribute_values(":handler", s(facts.handled_by.as_str()))
                    .expression_attribute_values(":seen", s(seen.as_str()))
                    .build()
                    .map_err(|e| InfraError::new("build continuation", e))?;
                writes.push(TransactWriteItem::builder().update(resume).build());
            }
        }
        if let (Some(update), Placement::New(ticket)) = (&record.conversation, &record.placement) {
            let pointer = ConversationItem {
                pk: conversation_pk(&update.customer, update.channel),
                sk: "META".into(),
                entity: "conversation".into(),
                ticket_id: ticket.id.clone(),
                subject: ticket.subject.clone(),
                category: ticket.category,
                priority: ticket.priority,
            };
            // Moved on only from the ticket this intake saw: a concurrent first message wins once.
            let put = Put::builder().table_name(&self.table).set_item(Some(to_item(&pointer)));
            let put = match &update.previous {
                Some(previous) => put
                    .condition_expression("attribute_not_exists(pk) OR ticket_id = :previous")
                    .expression_attribute_values(":previous", s(previous.as_str())),
                None => put.condition_expression("attribute_not_exists(pk)"),
            };
            let put = put.build().map_err(|e| InfraError::new("build conversation", e))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        // Unconditional, after every conditional write: a cancellation's index still names
        // the condition that failed.
        let ticket_id = record.placement.ticket_id();
        writes.push(self.put(to_item(&AuditItem::new(&record.audit)), None));
        for key in &record.thread_keys {
            writes.push(self.put(to_item(&ThreadItem::new(key, ticket_id, &message.id)), None));
        }
        if let Some(original) = &record.original {
            let item = HashMap::from([
                ("pk".to_owned(), s(original_pk(ticket_id))),
                ("sk".to_owned(), s(message.id.as_str())),
                ("entity".to_owned(), s("original")),
                ("original".to_owned(), s(original)),
            ]);
            writes.push(self.put(item, None));
        }
        let written = self.transact(writes).await;
        let Err(e) = written else {
            return Ok(Stored::New);
        };
        if cancelled_by_condition(&e, 0) {
            return Ok(Stored::Replay(self.replayed_ticket(&e, &record.key).await?));
        }
        // The message is stored already (its id derives from its key and arrival): a
        // repeat older than its idempotency record.
        if cancelled_by_condition(&e, 1) {
            return Ok(Stored::Replay(record.placement.ticket_id().clone()));
        }
        match &record.placement {
            // The same key's ticket (its id derives from the key): a repeat older than the record.
            Placement::New(ticket) if cancelled_by_condition(&e, 2) => Ok(Stored::Replay(ticket.id.clone())),
            Placement::Join(_) if cancelled_by_condition(&e, 2) => match cancelled_item(&e, 2) {
                Some(item) => {
                    let ticket = from_item::<TicketItem>(item)?.into_ticket();
                    match ticket.person_has_it() {
                        true => Ok(Stored::PersonHasIt(Box::new(ticket))),
                        false => Ok(Stored::ConversationMoved),
                    }
                }
                None => Ok(Stored::ConversationMoved),
            },
            Placement::Continue { .. } if cancelled_by_condition(&e, 2) => Ok(Stored::ConversationMoved),
            _ if cancelled_by_condition(&e, 3) => Ok(Stored::ConversationMoved),
            _ => Err(infra("store message")(e)),
        }
    }

    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError> {
        let item = self
            .get(conversation_pk(customer, channel), "META".into(), "get conversation")
            .await?;
        item.map(|item| {
            from_item::<ConversationItem>(item).map(|c| TicketFacts {
                id: c.ticket_id,
                subject: c.subject,
                category: c.category,
                priority: c.priority,
                status: TicketStatus::Open,
                handled_by: Handler::Agent,
                assignee: None,
            })
        })
        .transpose()
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        let item = self.get(ticket_pk(id), "META".into(), "get ticket").await?;
        item.map(|item| from_item::<TicketItem>(item).map(TicketItem::into_ticket))
            .transpose()
    }

    async fn ticket_of_thread(&self, keys: &[&str]) -> Result<Option<Ticket>, InfraError> {
        // Keys DynamoDB did not read (throttled) may hold the thread: read again later
        // rather than open a second ticket for the reply.
        let pks = keys.iter().map(|key| thread_pk(key));
        let found: Vec<ThreadItem> = self
            .meta_items(pks, |request| request.consistent_read(true), "look up email thread")
            .await?
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        // The most telling key first (the order of `keys`), not the service's order.
        let named = keys
            .iter()
            .find_map(|key| found.iter().find(|t| t.pk == thread_pk(key)));
        match named {
            Some(thread) => self.ticket(&thread.ticket_id).await,
            None => Ok(None),
        }
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.update_item(ticket_pk(ticket), message_sk(message))
            .update_expression("REMOVE outbox, outbox_at, queued_as")
            .send()
            .await
            .map_err(infra("mark queued"))?;
        Ok(())
    }

    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_outbox")
            .key_condition_expression("outbox = :pending AND outbox_at < :before")
            .expression_attribute_values(":pending", s(OUTBOX_PENDING))
            .expression_attribute_values(":before", s(timestamp::text(&before)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(infra("query outbox"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let stored: MessageItem = from_item(item)?;
                let queued_as = stored.queued_as.as_deref().unwrap_or_default();
                Ok(PendingMessage {
                    queued_as: serde_json::from_str(queued_as).map_err(|e| InfraError::new("read outbox entry", e))?,
                    ticket_id: stored.ticket_id,
                    message_id: stored.message_id,
                })
            })
            .collect()
    }
}

#[async_trait]
impl TicketReader for DynamoTickets {
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(ticket_pk(id)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query ticket thread"))?;
        let mut ticket = None;
        let mut messages = Vec::new();
        for item in items {
            match entity(&item) {
                Some("ticket") => ticket = Some(from_item::<TicketItem>(item)?.into_ticket()),
                Some("message") => messages.push(from_item::<MessageItem>(item)?.into_message()),
                _ => {}
            }
        }
        Ok(ticket.map(|t| (t, messages)))
    }

    async fn original(&self, ticket: &TicketId, message: &MessageId) -> Result<Option<String>, InfraError> {
        let item = self
            .get(original_pk(ticket), message.as_str().to_owned(), "get original")
            .await?;
        Ok(item.and_then(|item| item.get("original").and_then(|v| v.as_s().ok()).cloned()))
    }
}

#[async_trait]
impl HistoryReader for DynamoTickets {
    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_customer")
            .key_condition_expression("gsi1pk = :pk")
            .filter_expression("entity = :message")
            .expression_attribute_values(":pk", s(format!("CUSTOMER#{customer}")))
            .expression_attribute_values(":message", s("message"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit * 2).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(infra("query customer history"))?;
        let mut messages = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<MessageItem>(item).map(MessageItem::into_message))
            .collect::<Result<Vec<_>, _>>()?;
        messages.truncate(limit);
        messages.reverse();
        Ok(messages)
    }
}

#[async_trait]
impl ReplyLog for DynamoTickets {
    async fn record_reply(&self, turn: &TurnRecord, now: DateTime<Utc>) -> Result<ReplyRecorded, InfraError> {
        let (reply, outcome, run) = (&turn.reply, &turn.outcome, &turn.run);
        let mut set =
            "SET ticket_status = :status, category = :category, sentiment = :sentiment, updated_at = :now".to_owned();
        if outcome.responded {
            set.push_str(", first_response_at = if_not_exists(first_response_at, :now)");
        }
        let mut values = HashMap::from([
            (":status".to_owned(), s(outcome.status.as_str())),
            (":category".to_owned(), s(outcome.category.as_str())),
            (
                ":sentiment".to_owned(),
                AttributeValue::N(format!("{:.4}", outcome.sentiment)),
            ),
            (":now".to_owned(), s(timestamp::text(&now))),
            (":person".to_owned(), s(Handler::Person.as_str())),
        ]);
        if let Some(assignee) = &outcome.assignee {
            set.push_str(", assignee = :assignee");
            values.insert(":assignee".to_owned(), s(assignee.as_str()));
        }
        let expression = match outcome.escalation_reason {
            Some(reason) => {
                values.insert(":reason".to_owned(), s(reason.as_str()));
                format!("{set}, escalation_reason = :reason REMOVE escalation_note")
            }
            None => format!("{set} REMOVE escalation_reason, escalation_note"),
        };
        let update = self
            .update(ticket_pk(&reply.ticket_id), "META".into())
            // A person who took the ticket meanwhile speaks for it: the agent's turn is dropped.
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(handled_by) OR handled_by <> :person)",
            )
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| InfraError::new("build ticket update", e))?;
        let run_item = RunItem {
            pk: ticket_pk(&reply.ticket_id),
            sk: format!("RUN#{}", run.message_id),
            entity: "agent_run",
            engine: &run.engine,
            decision: run.decision.to_string(),
            steps: run.steps.to_string(),
            context: run.context.to_string(),
            duration_ms: run.duration_ms,
            usage: run.usage,
            created_day: now.format("%Y-%m-%d").to_string(),
            created_at: now,
        };
        let mut writes = vec![
            self.put(to_item(&MessageItem::new(reply)), Some("attribute_not_exists(sk)")),
            TransactWriteItem::builder().update(update).build(),
            self.put(to_item(&run_item), None),
        ];
        if let Some(sent) = &turn.code_sent {
            writes.extend(self.code_writes(sent));
        }
        writes.extend(
            turn.decisions
                .iter()
                .map(|d| self.put(to_item(&DecisionItem::new(d)), None)),
        );
        writes.extend(turn.audit.iter().map(|a| self.put(to_item(&AuditItem::new(a)), None)));
        let written = self.transact(writes).await;
        match written {
            Ok(_) => Ok(ReplyRecorded::Recorded),
            Err(e) if cancelled_by_condition(&e, 1) && !cancelled_by_condition(&e, 0) => Ok(ReplyRecorded::PersonHasIt),
            Err(e) if cancelled_by_condition(&e, 0) => match self.message(&reply.ticket_id, &reply.id).await? {
                Some(stored) => Ok(ReplyRecorded::AlreadyAnswered(stored)),
                None => Err(InfraError::new(
                    "record reply",
                    "condition failed but no reply is stored",
                )),
            },
            Err(e) => Err(infra("record reply and outcome")(e)),
        }
    }
}

impl DynamoTickets {
    /// A code waiting to come back (replacing any earlier one of the customer) and the
    /// email that carries it.
    fn code_writes(&self, sent: &CodeSent) -> [TransactWriteItem; 2] {
        let code = &sent.code;
        let pending = PendingCodeItem {
            pk: verification_pk(&sent.customer),
            sk: "META".into(),
            entity: "pending_code".into(),
            email: code.email.clone(),
            digest: code.digest.clone(),
            salt: code.salt.clone(),
            code_expires_at: code.expires_at,
            attempts: code.attempts,
            expires_at: (code.expires_at + Duration::days(1)).timestamp(),
        };
        [
            self.put(to_item(&pending), None),
            self.put(
                to_item(&NoticeItem::new(&sent.notice)),
                Some("attribute_not_exists(sk)"),
            ),
        ]
    }
}

#[async_trait]
impl Verifications for DynamoTickets {
    async fn attempt(
        &self,
        customer: &CustomerId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<CodeAttempt, InfraError> {
        let counted = self
            .update_item(verification_pk(customer), "META".into())
            .update_expression("SET attempts = attempts + :one")
            .condition_expression("attribute_exists(pk) AND attempts < :max AND code_expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max_attempts))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match counted {
            Ok(out) => {
                let item = out
                    .attributes
                    .ok_or_else(|| InfraError::new("count code attempt", "no item returned"))?;
                return Ok(CodeAttempt::Counted(from_item::<PendingCodeItem>(item)?.into_code()));
            }
            Err(e) => e,
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
            return Err(infra("count code attempt")(err));
        };
        let Some(old) = failed.item().cloned() else {
            return Ok(CodeAttempt::NoCode);
        };
        Ok(match from_item::<PendingCodeItem>(old)?.code_expires_at <= now {
            true => CodeAttempt::Expired,
            false => CodeAttempt::Exhausted,
        })
    }

    async fn consume(&self, customer: &CustomerId) -> Result<(), InfraError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(verification_pk(customer)))
            .key("sk", s("META"))
            .send()
            .await
            .map_err(infra("consume code"))?;
        Ok(())
    }

    async fn queued_notice(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<OutboundReply>, InfraError> {
        let item = self.get(ticket_pk(ticket), message_sk(id), "get notice").await?;
        let Some(item) = item.filter(|item| entity(item) == Some("notice")) else {
            return Ok(None);
        };
        let notice: NoticeItem = from_item(item)?;
        Ok((notice.delivery_status == DeliveryStatus::Queued).then(|| notice.into_reply()))
    }

    async fn move_history(&self, from: &CustomerId, to: &CustomerId) -> Result<(), InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_customer")
            .key_condition_expression("gsi1pk = :from")
            .expression_attribute_values(":from", s(format!("CUSTOMER#{from}")))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query history to move"))?;
        for item in items {
            let key = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            self.update_item(key("pk"), key("sk"))
                .update_expression("SET customer_id = :to, gsi1pk = :history")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":to", s(to.as_str()))
                .expression_attribute_values(":history", s(format!("CUSTOMER#{to}")))
                .send()
                .await
                .map_err(infra("move history"))?;
        }
        Ok(())
    }

    async fn address_confirmed(&self, ticket: &TicketId) -> Result<(), InfraError> {
        self.update_item(ticket_pk(ticket), "META".into())
            .update_expression("REMOVE address_claim")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(infra("confirm address"))?;
        Ok(())
    }
}

#[async_trait]
impl DeliveryLog for DynamoTickets {
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        let result = self
            .update_item(ticket_pk(ticket), message_sk(id))
            .update_expression(
                "SET delivery_status = :sending, sending_since = :now, \
                 provider_parts = if_not_exists(provider_parts, :no_parts)",
            )
            .condition_expression(
                "attribute_exists(sk) AND (delivery_status = :queued \
                 OR (delivery_status = :sending AND sending_since < :stale))",
            )
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .expression_attribute_values(":stale", s(timestamp::text(&(now - lease))))
            .expression_attribute_values(":no_parts", AttributeValue::M(HashMap::new()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                let old: DeliveryItem = from_item(out.attributes.unwrap_or_default())?;
                let taken_over_from = match old.delivery_status {
                    Some(DeliveryStatus::Sending) => old.sending_since.as_deref().and_then(timestamp::parse),
                    _ => None,
                };
                let sent_parts: BTreeMap<usize, String> = old
                    .provider_parts
                    .into_iter()
                    .filter_map(|(part, sid)| Some((part.parse().ok()?, sid)))
                    .collect();
                return Ok(SendClaim::Claimed(Claim {
                    taken_over_from,
                    sent_parts,
                }));
            }
            Err(e) => e,
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
            return Err(infra("claim send")(err));
        };
        let Some(old) = failed.item().cloned() else {
            return Ok(SendClaim::Missing);
        };
        let stored: DeliveryItem = from_item(old)?;
        Ok(match stored.delivery_status {
            Some(DeliveryStatus::Sending) => SendClaim::Busy,
            None => SendClaim::Missing,
            Some(_) => SendClaim::AlreadyDone {
                provider_message_id: stored.provider_message_id,
            },
        })
    }

    async fn record_part(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        part: usize,
        provider_message_id: &str,
    ) -> Result<(), InfraError> {
        self.update_item(ticket_pk(ticket), message_sk(id))
            .update_expression("SET provider_parts.#part = :sid")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_names("#part", part.to_string())
            .expression_attribute_values(":sid", s(provider_message_id))
            .send()
            .await
            .map_err(infra("record part"))?;
        Ok(())
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        thread_keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let sent = self
            .update(ticket_pk(ticket), message_sk(id))
            .update_expression(
                "SET delivery_status = :sent, provider_message_id = :provider, sent_at = :now REMOVE sending_since",
            )
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":sent", s(DeliveryStatus::Sent.as_str()))
            .expression_attribute_values(":provider", s(provider_message_id))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .build()
            .map_err(|e| InfraError::new("build sent update", e))?;
        let mut writes = vec![TransactWriteItem::builder().update(sent).build()];
        for key in thread_keys {
            writes.push(self.put(to_item(&ThreadItem::new(key, ticket, id)), None));
        }
        self.transact(writes).await.map_err(infra("mark sent"))?;
        Ok(())
    }

    async fn message_of_thread(&self, key: &str) -> Result<Option<(TicketId, MessageId)>, InfraError> {
        let item = self.get(thread_pk(key), "META".into(), "get email thread").await?;
        item.map(|item| from_item::<ThreadItem>(item).map(|t| (t.ticket_id, t.message_id)))
            .transpose()
    }

    async fn record_delivery(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        status: DeliveryStatus,
        provider_message_id: &str,
    ) -> Result<bool, InfraError> {
        let (condition, values) = earlier_than(status);
        let moved = self
            .update_item(ticket_pk(ticket), message_sk(id))
            .update_expression("SET delivery_status = :status, provider_message_id = :provider")
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":provider", s(provider_message_id))
            .send()
            .await;
        match moved {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(infra("record delivery status")(e)),
        }
    }

    async fn hand_over(&self, ticket: &TicketId, id: &MessageId, failure: &DeliveryFailure) -> Result<(), InfraError> {
        let handed_over = self
            .update(ticket_pk(ticket), "META".into())
            .update_expression(
                "SET ticket_status = :escalated, escalation_reason = :reason, escalation_note = :note, updated_at = :now",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":escalated", s(TicketStatus::Escalated.as_str()))
            .expression_attribute_values(":reason", s(failure.reason.as_str()))
            .expression_attribute_values(":note", s(&failure.note))
            .expression_attribute_values(":now", s(timestamp::text(&failure.at)))
            .build()
            .map_err(|e| InfraError::new("build ticket update", e))?;
        let audit = self.put(to_item(&AuditItem::new(&failure.audit(ticket, id))), None);
        let (condition, values) = earlier_than(failure.status);
        let failed = self
            .update(ticket_pk(ticket), message_sk(id))
            .update_expression("SET delivery_status = :status, delivery_error = :note REMOVE sending_since")
            .condition_expression(format!("attribute_exists(sk) AND {condition}"))
            .set_expression_attribute_values(Some(values))
            .expression_attribute_values(":status", s(failure.status.as_str()))
            .expression_attribute_values(":note", s(&failure.note))
            .build()
            .map_err(|e| InfraError::new("build message update", e))?;
        let handed_over = TransactWriteItem::builder().update(handed_over).build();
        let failed = TransactWriteItem::builder().update(failed).build();
        let written = self.transact(vec![failed, handed_over.clone(), audit.clone()]).await;
        match written {
            Ok(_) => Ok(()),
            // The message got further meanwhile (delivered, read): it keeps its status; the
            // error is noted on it and the ticket still goes to a person.
            Err(e) if cancelled_by_condition(&e, 0) => {
                let noted = self
                    .update(ticket_pk(ticket), message_sk(id))
                    .update_expression("SET delivery_error = :note")
                    .condition_expression("attribute_exists(sk)")
                    .expression_attribute_values(":note", s(&failure.note))
                    .build()
                    .map_err(|e| InfraError::new("build message update", e))?;
                let noted = TransactWriteItem::builder().update(noted).build();
                self.transact(vec![noted, handed_over, audit])
                    .await
                    .map_err(infra("hand over"))?;
                Ok(())
            }
            Err(e) => Err(infra("hand over")(e)),
        }
    }
}

/// The condition (and its values) that a message's status is one that may become `status`.
fn earlier_than(status: DeliveryStatus) -> (String, HashMap<String, AttributeValue>) {
    let earlier = DeliveryStatus::before(status);
    let names: Vec<String> = (0..earlier.len()).map(|i| format!(":earlier{i}")).collect();
    let values = names
        .iter()
        .zip(&earlier)
        .map(|(name, status)| (name.clone(), s(status.as_str())))
        .collect();
    (format!("delivery_status IN ({})", names.join(", ")), values)
}

#[async_trait]
impl LearnedAnswers for DynamoTickets {
    async fn approved(&self) -> Result<Approved, InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :learned")
            .filter_expression("review_status = :approved OR sk = :version")
            .expression_attribute_values(":learned", s(LEARNED_PK))
            .expression_attribute_values(":approved", s("approved"))
            .expression_attribute_values(":version", s(LEARNED_VERSION_SK))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query learned answers"))?;
        let mut approved = Approved::default();
        for item in items {
            if let Some(version) = version_of(&item) {
                approved.version = version;
                continue;
            }
            let learned: LearnedItem = from_item(item)?;
            approved.answers.push(LearnedAnswer {
                id: learned.sk,
                question: learned.question,
                answer: learned.answer,
                category: learned.category.and_then(|c| c.parse().ok()),
            });
        }
        Ok(approved)
    }

    async fn version(&self) -> Result<u64, InfraError> {
        let item = self
            .get(
                LEARNED_PK.into(),
                LEARNED_VERSION_SK.into(),
                "get learned answers' version",
            )
            .await?;
        Ok(item.as_ref().and_then(version_of).unwrap_or(0))
    }
}
