use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AgentRun, DeliveryLog, HistoryReader, IntakeLog, Opened, PendingMessage, ReplyLog, ReplyRecorded, SendClaim,
    TicketOutcome, TicketReader,
};
use crate::domain::{
    ConversationMessage, CustomerId, DeliveryStatus, EscalationReason, MessageId, Ticket, TicketId, TicketStatus,
};
use crate::ports::queue::QueueMessage;
use crate::ports::InfraError;

/// Tickets in memory, for unit tests and benchmarks that exercise the use cases without
/// the AWS emulator's latency.
#[derive(Default)]
pub struct MemoryTickets {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tickets: BTreeMap<TicketId, Ticket>,
    /// By ticket, then message id (which sorts by time).
    messages: BTreeMap<TicketId, BTreeMap<MessageId, ConversationMessage>>,
    outbox: BTreeMap<(TicketId, MessageId), (DateTime<Utc>, QueueMessage)>,
    runs: Vec<AgentRun>,
}

impl State {
    fn message_mut(
        &mut self,
        ticket: &TicketId,
        id: &MessageId,
        operation: &'static str,
    ) -> Result<&mut ConversationMessage, InfraError> {
        self.messages
            .get_mut(ticket)
            .and_then(|t| t.get_mut(id))
            .ok_or_else(|| InfraError::new(operation, "no such message"))
    }
}

impl MemoryTickets {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// Every agent run recorded so far.
    pub fn runs(&self) -> Vec<AgentRun> {
        self.state().runs.clone()
    }
}

#[async_trait]
impl IntakeLog for MemoryTickets {
    async fn open_ticket(
        &self,
        ticket: &Ticket,
        message: &ConversationMessage,
        queued_as: &QueueMessage,
    ) -> Result<Opened, InfraError> {
        let mut state = self.state();
        if state.tickets.contains_key(&ticket.id) {
            return Ok(Opened::Replay);
        }
        state.tickets.insert(ticket.id.clone(), ticket.clone());
        state
            .messages
            .entry(ticket.id.clone())
            .or_default()
            .insert(message.id.clone(), message.clone());
        state.outbox.insert(
            (ticket.id.clone(), message.id.clone()),
            (message.created_at, queued_as.clone()),
        );
        Ok(Opened::New)
    }

    async fn mark_queued(&self, ticket: &TicketId, message: &MessageId) -> Result<(), InfraError> {
        self.state().outbox.remove(&(ticket.clone(), message.clone()));
        Ok(())
    }

    async fn pending(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<PendingMessage>, InfraError> {
        let state = self.state();
        let mut pending: Vec<_> = state
            .outbox
            .iter()
            .filter(|(_, (at, _))| *at < before)
            .map(|((ticket_id, message_id), (at, queued_as))| {
                (
                    *at,
                    PendingMessage {
                        ticket_id: ticket_id.clone(),
                        message_id: message_id.clone(),
                        queued_as: queued_as.clone(),
                    },
                )
            })
            .collect();
        pending.sort_by_key(|(at, _)| *at);
        Ok(pending.into_iter().take(limit).map(|(_, p)| p).collect())
    }
}

#[async_trait]
impl TicketReader for MemoryTickets {
    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        let state = self.state();
        Ok(state.tickets.get(id).map(|t| {
            let messages = state.messages.get(id).map(|m| m.values().cloned().collect());
            (t.clone(), messages.unwrap_or_default())
        }))
    }
}

#[async_trait]
impl HistoryReader for MemoryTickets {
    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError> {
        let state = self.state();
        let mut all: Vec<ConversationMessage> = state
            .messages
            .values()
            .flat_map(|t| t.values())
            .filter(|m| &m.customer_id == customer)
            .cloned()
            .collect();
        all.sort_by_key(|m| m.created_at);
        let skip = all.len().saturating_sub(limit);
        Ok(all.split_off(skip))
    }
}

#[async_trait]
impl ReplyLog for MemoryTickets {
    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        run: &AgentRun,
        now: DateTime<Utc>,
    ) -> Result<ReplyRecorded, InfraError> {
        let mut state = self.state();
        let thread = state.messages.entry(reply.ticket_id.clone()).or_default();
        if let Some(existing) = thread.get(&reply.id) {
            return Ok(ReplyRecorded::AlreadyAnswered(existing.clone()));
        }
        thread.insert(reply.id.clone(), reply.clone());
        let ticket = state
            .tickets
            .get_mut(&reply.ticket_id)
            .ok_or_else(|| InfraError::new("record outcome", "no such ticket"))?;
        ticket.status = outcome.status;
        ticket.escalation_reason = outcome.escalation_reason;
        ticket.category = outcome.category;
        ticket.sentiment = Some(outcome.sentiment);
        ticket.updated_at = now;
        state.runs.push(run.clone());
        Ok(ReplyRecorded::Recorded)
    }
}

#[async_trait]
impl DeliveryLog for MemoryTickets {
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        _now: DateTime<Utc>,
        _lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        let mut state = self.state();
        let Some(message) = state.messages.get_mut(ticket).and_then(|t| t.get_mut(id)) else {
            return Ok(SendClaim::Missing);
        };
        Ok(match message.delivery_status {
            Some(DeliveryStatus::Sending) => SendClaim::Busy,
            Some(DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Failed) => SendClaim::AlreadyDone {
                provider_message_id: message.provider_message_id.clone(),
            },
            _ => {
                message.delivery_status = Some(DeliveryStatus::Sending);
                SendClaim::Claimed
            }
        })
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let mut state = self.state();
        let message = state.message_mut(ticket, id, "mark sent")?;
        message.delivery_status = Some(DeliveryStatus::Sent);
        message.provider_message_id = Some(provider_message_id.to_owned());
        Ok(())
    }

    async fn mark_failed(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        _error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let mut state = self.state();
        state.message_mut(ticket, id, "mark failed")?.delivery_status = Some(DeliveryStatus::Failed);
        let ticket = state
            .tickets
            .get_mut(ticket)
            .ok_or_else(|| InfraError::new("mark failed", "no such ticket"))?;
        ticket.status = TicketStatus::Escalated;
        ticket.escalation_reason = Some(EscalationReason::Other);
        ticket.updated_at = now;
        Ok(())
    }
}
