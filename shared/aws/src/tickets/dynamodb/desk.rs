//! What people do with tickets (the operator desk), in the tickets table:
//! - `TICKET#<id>` / `AUDIT#<ms>#<action>#<msg>`  the audit trail, put once each.
//! - `TICKET#<id>` / `DECISION#<msg>#<kind>`  the agent's decisions; a person's verdict is
//!   set on one, once. In `by_day` by the day it was taken.
//! - `REQUEST#<action>#<key>` / `META`  an operator request's idempotency record with its
//!   answer, written with what it did (TTL `expires_at`).
//! - `PRESENCE` / `<username>`  when the console last saw an operator (TTL `expires_at`).
//! - Drafts held for review: messages with `outbox` = `DRAFT`, in `by_outbox`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Duration, Utc};
use support_core::domain::{ConversationMessage, CustomerId, DeliveryStatus, Handler, Ticket, TicketId, TicketStatus};
use support_core::ports::team::{Presence, PRESENCE_WINDOW};
use support_core::ports::tickets::{
    AgentRun, Applied, Desk, DeskRecord, IntakeLog, Proposal, ProposalDecision, ProposalStatus, TicketRecords,
};
use support_core::ports::InfraError;
use support_core::records::{AuditEntry, DecisionRecord};

use crate::dynamodb::cancelled_by_any_condition;

use super::{
    cancelled_by_condition, decision_sk, entity, from_item, infra, message_sk, s, ticket_pk, timestamp, to_item, ttl,
    AuditItem, DecisionItem, DynamoTickets, Item, LearnedItem, MessageItem, TicketItem, LEARNED_PK, LEARNED_VERSION_SK,
    OUTBOX_DRAFT,
};

/// How long an operator request's answer is kept for its retries.
const REQUEST_KEY_DAYS: i64 = 7;
const PRESENCE_PK: &str = "PRESENCE";

fn request_pk(key: &str) -> String {
    format!("REQUEST#{key}")
}

impl DynamoTickets {
    pub(super) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        operation: &'static str,
    ) -> Result<Vec<Item>, InfraError> {
        query
            .table_name(&self.table)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra(operation))
    }

    pub(super) fn run_of(item: Item) -> Result<AgentRun, InfraError> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let json = |name: &str| serde_json::from_str(&text(name)).unwrap_or_default();
        Ok(AgentRun {
            message_id: support_core::domain::MessageId::parse(text("sk").trim_start_matches("RUN#"))
                .ok_or_else(|| InfraError::new("read agent run", "bad message id"))?,
            engine: text("engine"),
            decision: json("decision"),
            steps: json("steps"),
            context: json("context"),
            duration_ms: item
                .get("duration_ms")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            // Runs recorded before usage was: none known.
            usage: item
                .get("usage")
                .map(|usage| serde_dynamo::from_attribute_value(usage.clone()))
                .transpose()
                .map_err(|e| InfraError::new("read agent run's usage", e))?
                .unwrap_or_default(),
        })
    }

    /// The ticket's update for a person's action: only while it is as they saw it.
    fn ticket_change(&self, record: &DeskRecord) -> Result<TransactWriteItem, InfraError> {
        let change = &record.change;
        let mut set = vec!["updated_at = :now".to_owned()];
        let mut remove = Vec::new();
        let mut values = HashMap::from([
            (":now".to_owned(), s(timestamp::text(&record.now))),
            (":seen_status".to_owned(), s(record.seen.0.as_str())),
            (":seen_handler".to_owned(), s(record.seen.1.as_str())),
        ]);
        if let Some(status) = change.status {
            set.push("ticket_status = :status".into());
            values.insert(":status".into(), s(status.as_str()));
        }
        if let Some(handler) = change.handled_by {
            set.push("handled_by = :handler".into());
            values.insert(":handler".into(), s(handler.as_str()));
        }
        match &change.assignee {
            Some(Some(assignee)) => {
                set.push("assignee = :assignee".into());
                values.insert(":assignee".into(), s(assignee.as_str()));
            }
            Some(None) => remove.push("assignee"),
            None => {}
        }
        if let Some((reason, note)) = &change.escalation {
            set.push("escalation_reason = :reason, escalation_note = :note".into());
            values.insert(":reason".into(), s(reason.as_str()));
            values.insert(":note".into(), s(note.as_str()));
        }
        if let Some(at) = change.first_response_at {
            set.push("first_response_at = if_not_exists(first_response_at, :first)".into());
            values.insert(":first".into(), to_attribute(&at));
        }
        match change.resolved_at {
            Some(Some(at)) => {
                set.push("resolved_at = :resolved".into());
                values.insert(":resolved".into(), to_attribute(&at));
            }
            Some(None) => remove.push("resolved_at"),
            None => {}
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        // Tickets written before people could take them have no `handled_by`: the agent's.
        let handler_seen = match record.seen.1 {
            Handler::Agent => "(attribute_not_exists(handled_by) OR handled_by = :seen_handler)",
            Handler::Person => "handled_by = :seen_handler",
        };
        let update = self
            .update(ticket_pk(&record.ticket), "META".into())
            .update_expression(expression)
            .condition_expression(format!("ticket_status = :seen_status AND {handler_seen}"))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| InfraError::new("build ticket change", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A message moved from one delivery state to another, only from `from`.
    fn message_change(
        &self,
        record: &DeskRecord,
        message: &support_core::domain::MessageId,
        from: &[DeliveryStatus],
        to: DeliveryStatus,
        extra: &[(&str, AttributeValue)],
    ) -> Result<TransactWriteItem, InfraError> {
        let names: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut set = vec!["delivery_status = :to".to_owned()];
        let mut values: HashMap<String, AttributeValue> = names
            .iter()
            .zip(from)
            .map(|(name, status)| (name.clone(), s(status.as_str())))
            .collect();
        values.insert(":to".into(), s(to.as_str()));
        for (name, value) in extra {
            set.push(format!("{name} = :{name}"));
            values.insert(format!(":{name}"), value.clone());
        }
        let update = self
            .update(ticket_pk(&record.ticket), message_sk(message))
            .update_expression(format!("SET {} REMOVE outbox, outbox_at", set.join(", ")))
            .condition_expression(format!("delivery_status IN ({})", names.join(", ")))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| InfraError::new("build message change", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

fn to_attribute<T: serde::Serialize>(value: &T) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).expect("our values serialize")
}

#[async_trait]
impl Desk for DynamoTickets {
    async fn queue(&self, statuses: &[TicketStatus], limit: usize) -> Result<Vec<Ticket>, InfraError> {
        let mut tickets = Vec::new();
        for status in statuses {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by_status")
                .key_condition_expression("ticket_status = :status")
                .expression_attribute_values(":status", s(status.as_str()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(infra("query tickets by status"))?;
            for item in out.items.unwrap_or_default() {
                tickets.push(from_item::<TicketItem>(item)?.into_ticket());
            }
        }
        Ok(tickets)
    }

    async fn records(&self, id: &TicketId) -> Result<Option<TicketRecords>, InfraError> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(ticket_pk(id)))
            .consistent_read(true);
        let items = self.query_all(query, "query ticket records").await?;
        let mut ticket = None;
        let (mut messages, mut runs, mut decisions, mut audit) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for item in items {
            match entity(&item) {
                Some("ticket") => ticket = Some(from_item::<TicketItem>(item)?.into_ticket()),
                Some("message") => messages.push(from_item::<MessageItem>(item)?.into_message()),
                Some("agent_run") => runs.push(Self::run_of(item)?),
                Some("decision") => decisions.push(from_item::<DecisionItem>(item)?.decision),
                Some("audit") => audit.push(from_item::<AuditItem>(item)?.entry),
                _ => {}
            }
        }
        Ok(ticket.map(|ticket| TicketRecords {
            ticket,
            messages,
            runs,
            decisions,
            audit,
        }))
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        IntakeLog::ticket(self, id).await
    }

    async fn customer_tickets(&self, customer: &CustomerId) -> Result<Vec<Ticket>, InfraError> {
        let query = self
            .client
            .query()
            .index_name("by_customer")
            .key_condition_expression("gsi1pk = :pk")
            .filter_expression("entity = :ticket")
            .expression_attribute_values(":pk", s(format!("CUSTOMER#{customer}")))
            .expression_attribute_values(":ticket", s("ticket"))
            .scan_index_forward(false);
        self.query_all(query, "query a customer's tickets")
            .await?
            .into_iter()
            .map(|item| from_item::<TicketItem>(item).map(TicketItem::into_ticket))
            .collect()
    }

    async fn drafts(&self, limit: usize) -> Result<Vec<ConversationMessage>, InfraError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_outbox")
            .key_condition_expression("outbox = :draft")
            .expression_attribute_values(":draft", s(OUTBOX_DRAFT))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(infra("query drafts"))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<MessageItem>(item).map(MessageItem::into_message))
            .collect()
    }

    async fn decisions_since(&self, since: DateTime<Utc>) -> Result<Vec<DecisionRecord>, InfraError> {
        let mut decisions = Vec::new();
        let mut day = since.date_naive();
        let today = Utc::now().date_naive();
        while day <= today {
            let query = self
                .client
                .query()
                .index_name("by_day")
                .key_condition_expression("created_day = :day AND created_at >= :since")
                .filter_expression("entity = :decision")
                .expression_attribute_values(":day", s(day.format("%Y-%m-%d").to_string()))
                .expression_attribute_values(":since", s(timestamp::text(&since)))
                .expression_attribute_values(":decision", s("decision"));
            for item in self.query_all(query, "query decisions by day").await? {
                decisions.push(from_item::<DecisionItem>(item)?.decision);
            }
            day = day.succ_opt().unwrap_or(today + Duration::days(1));
        }
        Ok(decisions)
    }

    async fn replayed(&self, key: &str) -> Result<Option<String>, InfraError> {
        let item = self.get(request_pk(key), "META".into(), "get request record").await?;
        Ok(item.and_then(|item| item.get("answer").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn apply(&self, record: &DeskRecord) -> Result<Applied, InfraError> {
        // The conditional writes first: a cancellation's index names the one that failed.
        let mut writes = vec![self.ticket_change(record)?];
        let request_index = record.request.as_ref().map(|(key, answer)| {
            let item = HashMap::from([
                ("pk".to_owned(), s(request_pk(key))),
                ("sk".to_owned(), s("META")),
                ("entity".to_owned(), s("request")),
                ("answer".to_owned(), s(answer.as_str())),
                (
                    "expires_at".to_owned(),
                    ttl(record.now + Duration::days(REQUEST_KEY_DAYS)),
                ),
            ]);
            writes.push(self.put(item, Some("attribute_not_exists(pk)")));
            writes.len() - 1
        });
        if let Some(reply) = &record.reply {
            writes.push(self.put(to_item(&MessageItem::new(reply)), Some("attribute_not_exists(sk)")));
        }
        if let Some(release) = &record.release {
            let mut extra = vec![("person", s(release.person.as_str()))];
            if let Some(body) = &release.body {
                extra.push(("body", s(body.as_str())));
            }
            writes.push(self.message_change(
                record,
                &release.message,
                &[DeliveryStatus::Held],
                DeliveryStatus::Queued,
                &extra,
            )?);
        }
        for message in &record.withhold {
            writes.push(self.message_change(
                record,
                message,
                &[DeliveryStatus::Queued, DeliveryStatus::Held],
                DeliveryStatus::Withheld,
                &[],
            )?);
        }
        if let Some(proposal) = &record.proposal {
            let item = LearnedItem {
                pk: LEARNED_PK.into(),
                sk: proposal.id.clone(),
                question: proposal.question.clone(),
                answer: proposal.answer.clone(),
                category: proposal.category.map(|c| c.to_string()),
                review_status: ProposalStatus::Pending.to_string(),
                source_ticket: Some(proposal.source_ticket.clone()),
                created_at: Some(proposal.created_at),
            };
            writes.push(self.put(to_item(&item), Some("attribute_not_exists(sk)")));
        }
        for (message, kind, verdict) in &record.verdicts {
            let update = self
                .update(ticket_pk(&record.ticket), decision_sk(message, *kind))
                // The desk judges only decisions without a verdict: one verdict each.
                .update_expression("SET verdict = :verdict")
                .condition_expression("attribute_exists(sk)")
                .expression_attribute_values(":verdict", to_attribute(verdict))
                .build()
                .map_err(|e| InfraError::new("build verdict", e))?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        writes.extend(record.audit.iter().map(|a| self.put(to_item(&AuditItem::new(a)), None)));
        let written = self.transact(writes).await;
        let Err(e) = written else {
            return Ok(Applied::Done);
        };
        if let (Some(index), Some((key, _))) = (request_index, &record.request) {
            if cancelled_by_condition(&e, index) {
                return match self.replayed(key).await? {
                    Some(answer) => Ok(Applied::Replay(answer)),
                    None => Err(InfraError::new("apply operator action", "request record vanished")),
                };
            }
        }
        match cancelled_by_any_condition(&e) {
            true => Ok(Applied::Moved),
            false => Err(infra("apply operator action")(e)),
        }
    }

    async fn proposals(&self) -> Result<Vec<Proposal>, InfraError> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :learned")
            .filter_expression("attribute_exists(review_status)")
            .expression_attribute_values(":learned", s(LEARNED_PK));
        let mut proposals = Vec::new();
        for item in self.query_all(query, "query learned answers").await? {
            let learned: LearnedItem = from_item(item)?;
            let (Some(source_ticket), Ok(status)) = (learned.source_ticket, learned.review_status.parse()) else {
                // Answers seeded by hand have no source ticket: nothing to review.
                continue;
            };
            proposals.push(Proposal {
                id: learned.sk,
                question: learned.question,
                answer: learned.answer,
                category: learned.category.and_then(|c| c.parse().ok()),
                source_ticket,
                status,
                created_at: learned.created_at.unwrap_or_default(),
            });
        }
        proposals.sort_by_key(|p| p.created_at);
        Ok(proposals)
    }

    async fn decide_proposal(
        &self,
        id: &str,
        decision: &ProposalDecision,
        audit: &AuditEntry,
    ) -> Result<Option<Proposal>, InfraError> {
        let mut update = self
            .update(LEARNED_PK.into(), id.to_owned())
            .condition_expression("review_status = :pending")
            .expression_attribute_values(":pending", s(ProposalStatus::Pending.as_str()))
            .expression_attribute_values(":decided", s(timestamp::text(&audit.at)));
        let mut writes = Vec::new();
        update = match decision {
            ProposalDecision::Approve { question, answer } => {
                // The version moves with the approval: every agent searches it from its next turn.
                let version = self
                    .update(LEARNED_PK.into(), LEARNED_VERSION_SK.into())
                    .update_expression("ADD version :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .map_err(|e| InfraError::new("build learned version", e))?;
                writes.push(TransactWriteItem::builder().update(version).build());
                update
                    .update_expression(
                        "SET review_status = :status, question = :question, answer = :answer, decided_at = :decided",
                    )
                    .expression_attribute_values(":status", s(ProposalStatus::Approved.as_str()))
                    .expression_attribute_values(":question", s(question.as_str()))
                    .expression_attribute_values(":answer", s(answer.as_str()))
            }
            ProposalDecision::Reject => update
                .update_expression("SET review_status = :status, decided_at = :decided")
                .expression_attribute_values(":status", s(ProposalStatus::Rejected.as_str())),
        };
        let update = update
            .build()
            .map_err(|e| InfraError::new("build proposal decision", e))?;
        writes.insert(0, TransactWriteItem::builder().update(update).build());
        writes.push(self.put(to_item(&AuditItem::new(audit)), None));
        let written = self.transact(writes).await;
        match written {
            Ok(_) => Ok(self.proposals().await?.into_iter().find(|p| p.id == id)),
            Err(e) if cancelled_by_condition(&e, 0) => Ok(None),
            Err(e) => Err(infra("decide proposal")(e)),
        }
    }
}

#[async_trait]
impl Presence for DynamoTickets {
    async fn seen(&self, operator: &str, at: DateTime<Utc>) -> Result<(), InfraError> {
        let item = HashMap::from([
            ("pk".to_owned(), s(PRESENCE_PK)),
            ("sk".to_owned(), s(operator)),
            ("entity".to_owned(), s("presence")),
            ("seen_at".to_owned(), s(timestamp::text(&at))),
            ("expires_at".to_owned(), ttl(at + PRESENCE_WINDOW * 12)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(infra("record presence"))?;
        Ok(())
    }

    async fn online(&self, since: DateTime<Utc>) -> Result<Vec<String>, InfraError> {
        let query = self
            .client
            .query()
            .key_condition_expression("pk = :presence")
            .filter_expression("seen_at >= :since")
            .expression_attribute_values(":presence", s(PRESENCE_PK))
            .expression_attribute_values(":since", s(timestamp::text(&since)));
        Ok(self
            .query_all(query, "query presence")
            .await?
            .into_iter()
            .filter_map(|item| item.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }
}
