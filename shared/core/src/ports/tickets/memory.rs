use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AgentRun, Claim, CodeAttempt, DeliveryFailure, DeliveryLog, HistoryReader, IntakeLog, IntakeRecord, PendingCode,
    PendingMessage, Placement, ReplyLog, ReplyRecorded, SendClaim, Stored, TicketReader, TurnRecord, Verifications,
};
use crate::domain::{
    Channel, ConversationMessage, CustomerId, DeliveryStatus, Handler, MessageId, OutboundReply, Ticket, TicketFacts,
    TicketId, TicketStatus,
};
use crate::ports::queue::QueueMessage;
use crate::ports::InfraError;
use crate::records::{AuditEntry, DecisionRecord};

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
    /// The idempotency records: key → ticket.
    keys: HashMap<String, TicketId>,
    conversations: HashMap<(CustomerId, Channel), TicketFacts>,
    outbox: BTreeMap<(TicketId, MessageId), (DateTime<Utc>, QueueMessage)>,
    parts: HashMap<(TicketId, MessageId), BTreeMap<usize, String>>,
    /// When each reply was last claimed for sending.
    claims: HashMap<(TicketId, MessageId), DateTime<Utc>>,
    runs: Vec<AgentRun>,
    codes: HashMap<CustomerId, PendingCode>,
    notices: HashMap<(TicketId, MessageId), (OutboundReply, DeliveryStatus)>,
    /// Message-ID keys → the message they name.
    threads: HashMap<String, (TicketId, MessageId)>,
    originals: HashMap<(TicketId, MessageId), String>,
    audit: Vec<AuditEntry>,
    decisions: Vec<DecisionRecord>,
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

    fn ticket_mut(&mut self, ticket: &TicketId, operation: &'static str) -> Result<&mut Ticket, InfraError> {
        self.tickets
            .get_mut(ticket)
            .ok_or_else(|| InfraError::new(operation, "no such ticket"))
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

    /// A person takes the ticket (replies on it), as the operator desk records it.
    #[cfg(test)]
    pub fn person_takes(&self, ticket: &TicketId) {
        let mut state = self.state();
        let ticket = state.ticket_mut(ticket, "take ticket").expect("the ticket exists");
        ticket.handled_by = Handler::Person;
        ticket.status = TicketStatus::Answered;
    }

    /// Every audit entry written so far.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.state().audit.clone()
    }

    /// Every decision recorded so far.
    pub fn decisions(&self) -> Vec<DecisionRecord> {
        self.state().decisions.clone()
    }
}

#[async_trait]
impl IntakeLog for MemoryTickets {
    async fn store(&self, record: &IntakeRecord) -> Result<Stored, InfraError> {
        let mut state = self.state();
        if let Some(ticket) = state.keys.get(&record.key) {
            return Ok(Stored::Replay(ticket.clone()));
        }
        let ticket_id = record.placement.ticket_id().clone();
        let stored = state
            .messages
            .get(&ticket_id)
            .is_some_and(|m| m.contains_key(&record.message.id));
        if stored {
            return Ok(Stored::Replay(ticket_id));
        }
        if let Placement::Continue { seen, .. } = &record.placement {
            if state.tickets.get(&ticket_id).map(|t| t.status) != Some(*seen) {
                return Ok(Stored::ConversationMoved);
            }
        }
        if let Some(update) = &record.conversation {
            let current = state
                .conversations
                .get(&(update.customer.clone(), update.channel))
                .map(|c| c.id.clone());
            if let Placement::Join(facts) = &record.placement {
                if let Some(ticket) = state.tickets.get(&facts.id).filter(|t| t.person_has_it()) {
                    return Ok(Stored::PersonHasIt(Box::new(ticket.clone())));
                }
            }
            let moved = match &record.placement {
                Placement::New(_) => current != update.previous,
                Placement::Join(facts) => state.tickets.get(&facts.id).map(|t| t.status) != Some(TicketStatus::Open),
                Placement::Continue { .. } => false,
            };
            if moved {
                return Ok(Stored::ConversationMoved);
            }
        }
        match &record.placement {
            Placement::New(ticket) => {
                state.tickets.insert(ticket.id.clone(), (**ticket).clone());
                if let Some(update) = &record.conversation {
                    let facts = TicketFacts::of(ticket);
                    state
                        .conversations
                        .insert((update.customer.clone(), update.channel), facts);
                }
            }
            Placement::Join(_) => {
                state.ticket_mut(&ticket_id, "join conversation")?.updated_at = record.message.created_at
            }
            Placement::Continue { facts, .. } => {
                let ticket = state.ticket_mut(&ticket_id, "continue ticket")?;
                ticket.status = facts.status;
                ticket.handled_by = facts.handled_by;
                ticket.assignee = facts.assignee.clone();
                ticket.updated_at = record.message.created_at;
            }
        }
        state.keys.insert(record.key.clone(), ticket_id.clone());
        state.audit.push(record.audit.clone());
        for key in &record.thread_keys {
            state
                .threads
                .insert(key.clone(), (ticket_id.clone(), record.message.id.clone()));
        }
        if let Some(original) = &record.original {
            state
                .originals
                .insert((ticket_id.clone(), record.message.id.clone()), original.clone());
        }
        let message = &record.message;
        state
            .messages
            .entry(ticket_id.clone())
            .or_default()
            .insert(message.id.clone(), message.clone());
        state.outbox.insert(
            (ticket_id, message.id.clone()),
            (message.created_at, record.queued_as.clone()),
        );
        Ok(Stored::New)
    }

    async fn conversation(&self, customer: &CustomerId, channel: Channel) -> Result<Option<TicketFacts>, InfraError> {
        Ok(self.state().conversations.get(&(customer.clone(), channel)).cloned())
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        Ok(self.state().tickets.get(id).cloned())
    }

    async fn ticket_of_thread(&self, keys: &[&str]) -> Result<Option<Ticket>, InfraError> {
        let state = self.state();
        Ok(keys
            .iter()
            .find_map(|key| state.threads.get(*key))
            .and_then(|(id, _)| state.tickets.get(id))
            .cloned())
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

    async fn original(&self, ticket: &TicketId, message: &MessageId) -> Result<Option<String>, InfraError> {
        Ok(self.state().originals.get(&(ticket.clone(), message.clone())).cloned())
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
    async fn record_reply(&self, turn: &TurnRecord, now: DateTime<Utc>) -> Result<ReplyRecorded, InfraError> {
        let mut state = self.state();
        let reply = &turn.reply;
        let thread = state.messages.entry(reply.ticket_id.clone()).or_default();
        if let Some(existing) = thread.get(&reply.id) {
            return Ok(ReplyRecorded::AlreadyAnswered(existing.clone()));
        }
        let ticket = state.ticket_mut(&reply.ticket_id, "record outcome")?;
        if ticket.handled_by == Handler::Person {
            return Ok(ReplyRecorded::PersonHasIt);
        }
        let outcome = &turn.outcome;
        ticket.status = outcome.status;
        ticket.escalation_reason = outcome.escalation_reason;
        ticket.category = outcome.category;
        ticket.sentiment = Some(outcome.sentiment);
        ticket.updated_at = now;
        if outcome.assignee.is_some() {
            ticket.assignee = outcome.assignee.clone();
        }
        if outcome.responded && ticket.first_response_at.is_none() {
            ticket.first_response_at = Some(now);
        }
        state
            .messages
            .entry(reply.ticket_id.clone())
            .or_default()
            .insert(reply.id.clone(), reply.clone());
        state.runs.push(turn.run.clone());
        state.audit.extend(turn.audit.iter().cloned());
        state.decisions.extend(turn.decisions.iter().cloned());
        if let Some(sent) = &turn.code_sent {
            state.codes.insert(sent.customer.clone(), sent.code.clone());
            let notice = &sent.notice;
            state.notices.insert(
                (notice.ticket_id.clone(), notice.message_id.clone()),
                (notice.clone(), DeliveryStatus::Queued),
            );
        }
        Ok(ReplyRecorded::Recorded)
    }
}

#[async_trait]
impl Verifications for MemoryTickets {
    async fn attempt(
        &self,
        customer: &CustomerId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<CodeAttempt, InfraError> {
        let mut state = self.state();
        let Some(code) = state.codes.get_mut(customer) else {
            return Ok(CodeAttempt::NoCode);
        };
        if code.expires_at <= now {
            return Ok(CodeAttempt::Expired);
        }
        if code.attempts >= max_attempts {
            return Ok(CodeAttempt::Exhausted);
        }
        code.attempts += 1;
        Ok(CodeAttempt::Counted(code.clone()))
    }

    async fn consume(&self, customer: &CustomerId) -> Result<(), InfraError> {
        self.state().codes.remove(customer);
        Ok(())
    }

    async fn queued_notice(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<OutboundReply>, InfraError> {
        let state = self.state();
        Ok(state
            .notices
            .get(&(ticket.clone(), id.clone()))
            .filter(|(_, status)| *status == DeliveryStatus::Queued)
            .map(|(notice, _)| notice.clone()))
    }

    async fn move_history(&self, from: &CustomerId, to: &CustomerId) -> Result<(), InfraError> {
        let mut state = self.state();
        for ticket in state.tickets.values_mut().filter(|t| &t.customer_id == from) {
            ticket.customer_id = to.clone();
        }
        for message in state.messages.values_mut().flat_map(|t| t.values_mut()) {
            if &message.customer_id == from {
                message.customer_id = to.clone();
            }
        }
        Ok(())
    }

    async fn address_confirmed(&self, ticket: &TicketId) -> Result<(), InfraError> {
        self.state().ticket_mut(ticket, "confirm address")?.address_claim = None;
        Ok(())
    }
}

#[async_trait]
impl DeliveryLog for MemoryTickets {
    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        let mut state = self.state();
        let key = (ticket.clone(), id.clone());
        let sent_parts = state.parts.get(&key).cloned().unwrap_or_default();
        let claimed_at = state.claims.get(&key).copied();
        if let Some((_, status)) = state.notices.get_mut(&key) {
            if *status != DeliveryStatus::Queued {
                return Ok(SendClaim::AlreadyDone {
                    provider_message_id: None,
                });
            }
            *status = DeliveryStatus::Sending;
            return Ok(SendClaim::Claimed(Claim::default()));
        }
        let Some(message) = state.messages.get_mut(ticket).and_then(|t| t.get_mut(id)) else {
            return Ok(SendClaim::Missing);
        };
        let taken_over_from = match (message.delivery_status, claimed_at) {
            (Some(DeliveryStatus::Sending), Some(at)) if at < now - lease => Some(at),
            (Some(DeliveryStatus::Sending), _) => return Ok(SendClaim::Busy),
            (Some(DeliveryStatus::Queued) | None, _) => None,
            (Some(_), _) => {
                return Ok(SendClaim::AlreadyDone {
                    provider_message_id: message.provider_message_id.clone(),
                })
            }
        };
        message.delivery_status = Some(DeliveryStatus::Sending);
        state.claims.insert(key, now);
        Ok(SendClaim::Claimed(Claim {
            taken_over_from,
            sent_parts,
        }))
    }

    async fn record_part(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        part: usize,
        provider_message_id: &str,
    ) -> Result<(), InfraError> {
        let mut state = self.state();
        state
            .parts
            .entry((ticket.clone(), id.clone()))
            .or_default()
            .insert(part, provider_message_id.to_owned());
        Ok(())
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        thread_keys: &[String],
        _now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let mut state = self.state();
        for key in thread_keys {
            state.threads.insert(key.clone(), (ticket.clone(), id.clone()));
        }
        if let Some((_, status)) = state.notices.get_mut(&(ticket.clone(), id.clone())) {
            *status = DeliveryStatus::Sent;
            return Ok(());
        }
        let message = state.message_mut(ticket, id, "mark sent")?;
        message.delivery_status = Some(DeliveryStatus::Sent);
        message.provider_message_id = Some(provider_message_id.to_owned());
        Ok(())
    }

    async fn message_of_thread(&self, key: &str) -> Result<Option<(TicketId, MessageId)>, InfraError> {
        Ok(self.state().threads.get(key).cloned())
    }

    async fn record_delivery(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        status: DeliveryStatus,
        provider_message_id: &str,
    ) -> Result<bool, InfraError> {
        let mut state = self.state();
        let message = state.message_mut(ticket, id, "record delivery")?;
        let current = message.delivery_status.unwrap_or(DeliveryStatus::Queued);
        if !current.may_become(status) {
            return Ok(false);
        }
        message.delivery_status = Some(status);
        message.provider_message_id = Some(provider_message_id.to_owned());
        Ok(true)
    }

    async fn hand_over(&self, ticket: &TicketId, id: &MessageId, failure: &DeliveryFailure) -> Result<(), InfraError> {
        let mut state = self.state();
        if let Some((_, status)) = state.notices.get_mut(&(ticket.clone(), id.clone())) {
            *status = failure.status;
        } else {
            let message = state.message_mut(ticket, id, "hand over")?;
            if message
                .delivery_status
                .unwrap_or(DeliveryStatus::Queued)
                .may_become(failure.status)
            {
                message.delivery_status = Some(failure.status);
            }
        }
        state.audit.push(failure.audit(ticket, id));
        let ticket = state.ticket_mut(ticket, "hand over")?;
        ticket.status = TicketStatus::Escalated;
        ticket.escalation_reason = Some(failure.reason);
        ticket.escalation_note = Some(failure.note.clone());
        ticket.updated_at = failure.at;
        Ok(())
    }
}
