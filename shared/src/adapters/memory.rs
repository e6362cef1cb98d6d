//! In-memory ports, for unit tests and benchmarks that exercise the agent's
//! own work without the AWS emulator's latency.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ConversationMessage, Customer, CustomerId, DeliveryStatus, EmailAddress, MessageId, Sender, Ticket, TicketId,
};
use crate::ports::{
    AgentRun, CustomerDirectory, InfraError, MessageQueue, QueueMessage, Recorded, SendClaim, TicketOutcome,
    TicketStore,
};

#[derive(Default)]
pub struct MemoryStore {
    customers: Mutex<Vec<Customer>>,
    tickets: Mutex<BTreeMap<String, Ticket>>,
    /// By ticket, then message id (which sorts by time).
    messages: Mutex<BTreeMap<String, BTreeMap<MessageId, ConversationMessage>>>,
    pub runs: Mutex<Vec<AgentRun>>,
}

#[async_trait]
impl CustomerDirectory for MemoryStore {
    async fn find_or_create(&self, sender: &Sender, now: DateTime<Utc>) -> Result<Customer, InfraError> {
        let mut customers = self.customers.lock().expect("not poisoned");
        let same_email = |c: &Customer| {
            c.email.is_some()
                && c.email.as_ref().map(|e| e.as_str().to_lowercase())
                    == sender.email.as_ref().map(|e| e.as_str().to_lowercase())
        };
        let same_phone = |c: &Customer| c.phone.is_some() && c.phone == sender.phone;
        if let Some(found) = customers.iter().find(|c| same_email(c) || same_phone(c)) {
            return Ok(found.clone());
        }
        let customer = Customer {
            id: CustomerId::generate(),
            name: sender.name.clone(),
            email: sender.email.clone(),
            phone: sender.phone.clone(),
            created_at: now,
        };
        customers.push(customer.clone());
        Ok(customer)
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<Customer>, InfraError> {
        let customers = self.customers.lock().expect("not poisoned");
        Ok(customers
            .iter()
            .find(|c| {
                c.email
                    .as_ref()
                    .is_some_and(|e| e.as_str().eq_ignore_ascii_case(email.as_str()))
            })
            .cloned())
    }
}

#[async_trait]
impl TicketStore for MemoryStore {
    async fn create_ticket(&self, ticket: &Ticket) -> Result<Recorded<()>, InfraError> {
        let mut tickets = self.tickets.lock().expect("not poisoned");
        if tickets.contains_key(ticket.id.as_str()) {
            return Ok(Recorded::AlreadyExisted(()));
        }
        tickets.insert(ticket.id.to_string(), ticket.clone());
        Ok(Recorded::Created)
    }

    async fn get_ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        Ok(self.tickets.lock().expect("not poisoned").get(id.as_str()).cloned())
    }

    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        let ticket = self.get_ticket(id).await?;
        let messages = self.messages.lock().expect("not poisoned");
        Ok(ticket.map(|t| {
            (
                t,
                messages
                    .get(id.as_str())
                    .map(|m| m.values().cloned().collect())
                    .unwrap_or_default(),
            )
        }))
    }

    async fn record_message(&self, message: &ConversationMessage) -> Result<Recorded<ConversationMessage>, InfraError> {
        let mut messages = self.messages.lock().expect("not poisoned");
        let thread = messages.entry(message.ticket_id.to_string()).or_default();
        if let Some(existing) = thread.get(&message.id) {
            return Ok(Recorded::AlreadyExisted(existing.clone()));
        }
        thread.insert(message.id.clone(), message.clone());
        Ok(Recorded::Created)
    }

    async fn get_message(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<ConversationMessage>, InfraError> {
        Ok(self
            .messages
            .lock()
            .expect("not poisoned")
            .get(ticket.as_str())
            .and_then(|t| t.get(id))
            .cloned())
    }

    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let mut tickets = self.tickets.lock().expect("not poisoned");
        let ticket = tickets
            .get_mut(reply.ticket_id.as_str())
            .ok_or_else(|| InfraError::new("record outcome", "no such ticket"))?;
        ticket.status = outcome.status;
        ticket.escalation_reason = outcome.escalation_reason;
        ticket.category = outcome.category;
        ticket.sentiment = Some(outcome.sentiment);
        ticket.updated_at = now;
        self.messages
            .lock()
            .expect("not poisoned")
            .entry(reply.ticket_id.to_string())
            .or_default()
            .insert(reply.id.clone(), reply.clone());
        Ok(())
    }

    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError> {
        let messages = self.messages.lock().expect("not poisoned");
        let mut all: Vec<ConversationMessage> = messages
            .values()
            .flat_map(|t| t.values())
            .filter(|m| &m.customer_id == customer)
            .cloned()
            .collect();
        all.sort_by_key(|m| m.created_at);
        let skip = all.len().saturating_sub(limit);
        Ok(all.split_off(skip))
    }

    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        _now: DateTime<Utc>,
        _lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        let mut messages = self.messages.lock().expect("not poisoned");
        let Some(message) = messages.get_mut(ticket.as_str()).and_then(|t| t.get_mut(id)) else {
            return Ok(SendClaim::Missing);
        };
        Ok(match message.delivery_status {
            Some(DeliveryStatus::Sending) => SendClaim::Busy,
            Some(DeliveryStatus::Sent | DeliveryStatus::Delivered) => SendClaim::AlreadySent {
                provider_message_id: message.provider_message_id.clone(),
            },
            _ => {
                message.delivery_status = Some(DeliveryStatus::Sending);
                SendClaim::Claimed
            }
        })
    }

    async fn record_agent_run(&self, run: &AgentRun) -> Result<(), InfraError> {
        self.runs.lock().expect("not poisoned").push(run.clone());
        Ok(())
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let mut messages = self.messages.lock().expect("not poisoned");
        let message = messages
            .get_mut(ticket.as_str())
            .and_then(|t| t.get_mut(id))
            .ok_or_else(|| InfraError::new("mark sent", "no such message"))?;
        message.delivery_status = Some(DeliveryStatus::Sent);
        message.provider_message_id = Some(provider_message_id.to_owned());
        Ok(())
    }
}

/// A queue that keeps what was sent.
#[derive(Default)]
pub struct MemoryQueue {
    pub sent: Mutex<Vec<QueueMessage>>,
}

#[async_trait]
impl MessageQueue for MemoryQueue {
    async fn send(&self, message: QueueMessage) -> Result<(), InfraError> {
        self.sent.lock().expect("not poisoned").push(message);
        Ok(())
    }
}
