//! Tickets, their messages and the agent's runs in DynamoDB (single table).
//!
//! Access patterns (the keys and indexes declared in template.yaml serve exactly these):
//! - `TICKET#<id>` / `META`          the ticket
//! - `TICKET#<id>` / `MSG#<msg id>`  its messages; message ids sort by time.
//!   Ticket with its thread: Query pk.
//! - `TICKET#<id>` / `RUN#<msg id>`  what the agent did for a message (steps, decision,
//!   the context a person taking over needs).
//! - GSI `by_customer` (`gsi1pk` = `CUSTOMER#<id>`, `gsi1sk` = `<created_at>#…`) on tickets and
//!   messages: a customer's history across channels, newest first.
//! - GSI `by_status` (`ticket_status`, `updated_at`) on tickets: the open / escalated queue.
//! - GSI `by_day` (`created_day` = YYYY-MM-DD, `created_at`) on tickets: daily reports.
//! - GSI `by_outbox` (`outbox` = `PENDING`, `outbox_at`), sparse: inbound messages stored but
//!   not yet known to be on the inbound queue, with the queue message in `queued_as`.
//! - `LEARNED` / `<id>`  answers learned from resolved tickets, with `review_status`
//!   pending | approved | rejected: Query pk `LEARNED`, approved ones only.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use support_core::domain::{
    Category, Channel, ConversationMessage, CustomerId, DeliveryStatus, Direction, EscalationReason, MessageId,
    Priority, Ticket, TicketId, TicketStatus,
};
use support_core::ports::learned::{LearnedAnswer, LearnedAnswers};
use support_core::ports::queue::QueueMessage;
use support_core::ports::tickets::{
    AgentRun, DeliveryLog, HistoryReader, IntakeLog, Opened, PendingMessage, ReplyLog, ReplyRecorded, SendClaim,
    TicketOutcome, TicketReader,
};
use support_core::ports::InfraError;

use crate::dynamodb::{cancelled_by_condition, from_item, infra, s, timestamp, to_item, Item};

const OUTBOX_PENDING: &str = "PENDING";

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
    sentiment: Option<f64>,
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
            sentiment: t.sentiment,
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
            sentiment: self.sentiment,
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
    /// The outbox entry: present until the message is on the inbound queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outbox_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queued_as: Option<String>,
}

impl MessageItem {
    fn new(m: &ConversationMessage) -> Self {
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
            outbox: None,
            outbox_at: None,
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
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct LearnedItem {
    sk: String,
    question: String,
    answer: String,
    #[serde(default)]
    category: Option<String>,
}

fn entity(item: &Item) -> Option<&str> {
    item.get("entity").and_then(|v| v.as_s().ok()).map(String::as_str)
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
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s(message_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get message"))?;
        out.item
            .map(|item| from_item::<MessageItem>(item).map(MessageItem::into_message))
            .transpose()
    }
}

#[async_trait]
impl IntakeLog for DynamoTickets {
    async fn open_ticket(
        &self,
        ticket: &Ticket,
        message: &ConversationMessage,
        queued_as: &QueueMessage,
    ) -> Result<Opened, InfraError> {
        let mut stored = MessageItem::new(message);
        stored.outbox = Some(OUTBOX_PENDING.into());
        stored.outbox_at = Some(timestamp::text(&message.created_at));
        stored.queued_as = Some(serde_json::to_string(queued_as).expect("queue messages serialize"));
        let written = self
            .client
            .transact_write_items()
            .transact_items(self.put(to_item(&TicketItem::new(ticket)), Some("attribute_not_exists(pk)")))
            .transact_items(self.put(to_item(&stored), Some("attribute_not_exists(sk)")))
            .send()
            .await;
        match written {
            Ok(_) => Ok(Opened::New),
            Err(e) if cancelled_by_condition(&e, 0) => Ok(Opened::Replay),
            Err(e) => Err(infra("open ticket")(e)),
        }
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s(message_sk(message)))
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
    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        run: &AgentRun,
        now: DateTime<Utc>,
    ) -> Result<ReplyRecorded, InfraError> {
        let set = "SET ticket_status = :status, category = :category, sentiment = :sentiment, updated_at = :now";
        let mut values = HashMap::from([
            (":status".to_owned(), s(outcome.status.as_str())),
            (":category".to_owned(), s(outcome.category.as_str())),
            (
                ":sentiment".to_owned(),
                AttributeValue::N(format!("{:.4}", outcome.sentiment)),
            ),
            (":now".to_owned(), s(timestamp::text(&now))),
        ]);
        let expression = match outcome.escalation_reason {
            Some(reason) => {
                values.insert(":reason".to_owned(), s(reason.as_str()));
                format!("{set}, escalation_reason = :reason")
            }
            None => format!("{set} REMOVE escalation_reason"),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(&reply.ticket_id)))
            .key("sk", s("META"))
            .condition_expression("attribute_exists(pk)")
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
            created_at: now,
        };
        let written = self
            .client
            .transact_write_items()
            .transact_items(self.put(to_item(&MessageItem::new(reply)), Some("attribute_not_exists(sk)")))
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(self.put(to_item(&run_item), None))
            .send()
            .await;
        match written {
            Ok(_) => Ok(ReplyRecorded::Recorded),
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
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s(message_sk(id)))
            .update_expression("SET delivery_status = :sending, sending_since = :now")
            .condition_expression(
                "attribute_exists(sk) AND (delivery_status = :queued \
                 OR (delivery_status = :sending AND sending_since < :stale))",
            )
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .expression_attribute_values(":stale", s(timestamp::text(&(now - lease))))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(SendClaim::Claimed),
            Err(e) => e,
        };
        let Some(UpdateItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
            return Err(infra("claim send")(err));
        };
        let Some(old) = failed.item().cloned() else {
            return Ok(SendClaim::Missing);
        };
        let stored: MessageItem = from_item(old)?;
        Ok(match stored.delivery_status {
            Some(DeliveryStatus::Sending) => SendClaim::Busy,
            None => SendClaim::Missing,
            Some(_) => SendClaim::AlreadyDone {
                provider_message_id: stored.provider_message_id,
            },
        })
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s(message_sk(id)))
            .update_expression(
                "SET delivery_status = :sent, provider_message_id = :provider, sent_at = :now REMOVE sending_since",
            )
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":sent", s(DeliveryStatus::Sent.as_str()))
            .expression_attribute_values(":provider", s(provider_message_id))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .send()
            .await
            .map_err(infra("mark sent"))?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let message = Update::builder()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s(message_sk(id)))
            .update_expression("SET delivery_status = :failed, delivery_error = :error REMOVE sending_since")
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":failed", s(DeliveryStatus::Failed.as_str()))
            .expression_attribute_values(":error", s(error))
            .build()
            .map_err(|e| InfraError::new("build message update", e))?;
        let handed_over = Update::builder()
            .table_name(&self.table)
            .key("pk", s(ticket_pk(ticket)))
            .key("sk", s("META"))
            .update_expression("SET ticket_status = :escalated, escalation_reason = :other, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":escalated", s(TicketStatus::Escalated.as_str()))
            .expression_attribute_values(":other", s(EscalationReason::Other.as_str()))
            .expression_attribute_values(":now", s(timestamp::text(&now)))
            .build()
            .map_err(|e| InfraError::new("build ticket update", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(message).build())
            .transact_items(TransactWriteItem::builder().update(handed_over).build())
            .send()
            .await
            .map_err(infra("mark failed"))?;
        Ok(())
    }
}

#[async_trait]
impl LearnedAnswers for DynamoTickets {
    async fn approved(&self) -> Result<Vec<LearnedAnswer>, InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :learned")
            .filter_expression("review_status = :approved")
            .expression_attribute_values(":learned", s("LEARNED"))
            .expression_attribute_values(":approved", s("approved"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query learned answers"))?;
        items
            .into_iter()
            .map(|item| {
                let learned: LearnedItem = from_item(item)?;
                Ok(LearnedAnswer {
                    id: learned.sk,
                    question: learned.question,
                    answer: learned.answer,
                    category: learned.category.and_then(|c| c.parse().ok()),
                })
            })
            .collect()
    }
}
