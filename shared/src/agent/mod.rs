//! The agent: every inbound message, from any channel, goes through the same
//! steps (SPEC "The agent"): identify the customer, log the message on its
//! ticket, load history, check the rules, search, answer or escalate, format
//! for the channel, record, and hand the reply to the channel's sender.

pub(crate) mod format;
mod guardrails;
mod offline;
mod prompt;
mod tool_loop;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;

pub use format::{format_reply, handoff_text, reply_subject};
pub use guardrails::escalation_before_answer;
pub use offline::OfflineEngine;
pub use tool_loop::{Decision, Step};
pub use tools::specs as tool_specs;

use crate::adapters::{DynamoCustomerDirectory, DynamoTicketStore, SqsQueue};
use crate::config::{AgentConfig, ConfigError, ModelProvider};
use crate::domain::{
    Channel, ConversationMessage, Customer, DeliveryStatus, Direction, InboundMessage, MessageId,
    OutboundReply, Ticket, TicketId, TicketStatus,
};
use crate::inbound::conversation_message;
use crate::knowledge::KnowledgeBase;
use crate::model::ChatModel;
use crate::ports::{
    AgentRun, CustomerDirectory, InfraError, MessageQueue, QueueMessage, TicketStore,
};
use crate::sqs_batch::{parse_body, process_batch, BatchError, RecordError};

const HISTORY_MESSAGES: usize = 20;

impl From<InfraError> for RecordError {
    fn from(e: InfraError) -> Self {
        RecordError::Transient(e.to_string())
    }
}

pub struct Agent {
    customers: Arc<dyn CustomerDirectory>,
    tickets: Arc<dyn TicketStore>,
    email_outbound: Arc<dyn MessageQueue>,
    model: Arc<dyn ChatModel>,
    model_name: String,
    knowledge: &'static KnowledgeBase,
}

impl Agent {
    pub fn new(config: AgentConfig, sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let model: Arc<dyn ChatModel> = match &config.model {
            ModelProvider::Offline => Arc::new(OfflineEngine),
            ModelProvider::Bedrock { .. } => {
                return Err(ConfigError::Invalid {
                    name: "MODEL_PROVIDER",
                    reason:
                        "the Bedrock provider is not available in this build yet; use `offline`"
                            .into(),
                })
            }
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            customers: Arc::new(DynamoCustomerDirectory::new(
                dynamodb.clone(),
                config.customers_table,
            )),
            tickets: Arc::new(DynamoTicketStore::new(dynamodb, config.tickets_table)),
            email_outbound: Arc::new(SqsQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                config.email_outbound_queue_url,
            )),
            model,
            model_name: config.model.to_string(),
            knowledge: KnowledgeBase::bundled(),
        })
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> Result<SqsBatchResponse, BatchError> {
        process_batch(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), RecordError> {
        let inbound: InboundMessage = parse_body(&record)?;
        let span = tracing::info_span!("inbound", correlation_id = %inbound.correlation_id, channel = inbound.channel.as_str());
        let _enter = span.enter();
        self.handle_message(&inbound).await
    }

    pub async fn handle_message(&self, inbound: &InboundMessage) -> Result<(), RecordError> {
        let started = Instant::now();
        let now = Utc::now();
        // 1. One customer across channels.
        let customer = self.customers.find_or_create(&inbound.sender, now).await?;
        // 2. The ticket, and the message logged on it before anything is answered.
        let ticket = self.ticket_for(inbound, &customer).await?;
        let logged = conversation_message(inbound, &customer.id, &ticket.id);
        self.tickets.record_message(&logged).await?;
        let reply_id = MessageId::reply_to(&logged.id);
        if let Some(existing) = self.tickets.get_message(&ticket.id, &reply_id).await? {
            // A redelivery: the reply exists. Hand it on again only if it never left.
            if existing.delivery_status == Some(DeliveryStatus::Queued) {
                self.enqueue_reply(inbound, &customer, &ticket, &existing)
                    .await?;
            }
            tracing::info!(ticket_id = %ticket.id, "duplicate delivery: already answered");
            return Ok(());
        }
        // 3. History across channels (this message included).
        let history = self
            .tickets
            .customer_history(&customer.id, HISTORY_MESSAGES)
            .await?;
        // 4–6. Rules first, then the model with its tools.
        let customer_text = match &inbound.subject {
            Some(subject) => format!("{subject}\n\n{}", inbound.body),
            None => inbound.body.clone(),
        };
        let (decision, steps) = match escalation_before_answer(&customer_text) {
            Some(reason) => (
                Decision::Escalate {
                    reason,
                    summary: format!("Escalated by rule ({reason}) before answering."),
                },
                Vec::new(),
            ),
            None => {
                let turn = tool_loop::Turn {
                    ticket: &ticket,
                    customer_text: &customer_text,
                    history: &history,
                    knowledge: self.knowledge,
                };
                match tool_loop::run(self.model.as_ref(), &turn).await {
                    Ok(outcome) => outcome,
                    // The customer gets an apology and a person gets the ticket: never lost.
                    Err(e) => (
                        Decision::Escalate {
                            reason: crate::domain::EscalationReason::Other,
                            summary: format!("The model failed: {e}"),
                        },
                        Vec::new(),
                    ),
                }
            }
        };
        // 7. Format, record, hand over to the sender.
        let (answer, status, reason) = match &decision {
            Decision::Respond { text, .. } => (text.clone(), TicketStatus::Answered, None),
            Decision::Escalate { reason, .. } => (
                handoff_text(*reason),
                TicketStatus::Escalated,
                Some(*reason),
            ),
        };
        let reply = ConversationMessage {
            id: reply_id,
            ticket_id: ticket.id.clone(),
            customer_id: customer.id.clone(),
            direction: Direction::Outbound,
            channel: inbound.channel,
            body: format_reply(
                inbound.channel,
                customer.name.as_deref(),
                &ticket.id,
                &answer,
            ),
            created_at: Utc::now(),
            delivery_status: Some(DeliveryStatus::Queued),
            provider_message_id: None,
        };
        self.tickets.record_message(&reply).await?;
        self.tickets
            .set_ticket_status(&ticket.id, status, reason, Utc::now())
            .await?;
        self.tickets
            .record_agent_run(&AgentRun {
                ticket_id: ticket.id.clone(),
                message_id: logged.id.clone(),
                model: self.model_name.clone(),
                decision: serde_json::to_value(&decision).unwrap_or_default(),
                steps: serde_json::to_value(&steps).unwrap_or_default(),
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                created_at: Utc::now(),
            })
            .await?;
        self.enqueue_reply(inbound, &customer, &ticket, &reply)
            .await?;
        tracing::info!(ticket_id = %ticket.id, status = status.as_str(), elapsed_ms = started.elapsed().as_millis() as u64, "message handled");
        Ok(())
    }

    /// The web form opens the ticket before queueing; other channels get one here,
    /// with an id derived from the message so a redelivery finds the same ticket.
    async fn ticket_for(
        &self,
        inbound: &InboundMessage,
        customer: &Customer,
    ) -> Result<Ticket, RecordError> {
        let id = inbound
            .ticket_id
            .clone()
            .unwrap_or_else(|| TicketId::derived_from(&inbound.idempotency_key()));
        if let Some(ticket) = self.tickets.get_ticket(&id).await? {
            if ticket.customer_id != customer.id {
                return Err(RecordError::Permanent(format!(
                    "ticket {id} belongs to another customer"
                )));
            }
            return Ok(ticket);
        }
        let ticket = Ticket::open(
            id,
            customer.id.clone(),
            inbound.channel,
            inbound
                .subject
                .clone()
                .unwrap_or_else(|| "Conversation".into()),
            inbound.category.unwrap_or(crate::domain::Category::General),
            inbound.priority.unwrap_or(crate::domain::Priority::Medium),
            inbound.received_at,
        );
        self.tickets.create_ticket(&ticket).await?;
        Ok(ticket)
    }

    async fn enqueue_reply(
        &self,
        inbound: &InboundMessage,
        customer: &Customer,
        ticket: &Ticket,
        reply: &ConversationMessage,
    ) -> Result<(), RecordError> {
        let queue = match inbound.channel {
            Channel::Email | Channel::WebForm => &self.email_outbound,
            Channel::Whatsapp => {
                return Err(RecordError::Permanent(
                    "no WhatsApp sender is configured yet".into(),
                ))
            }
        };
        let recipient = inbound
            .sender
            .email
            .clone()
            .or_else(|| customer.email.clone())
            .ok_or_else(|| {
                RecordError::Permanent("the customer has no email address to reply to".into())
            })?;
        let outbound = OutboundReply {
            ticket_id: ticket.id.clone(),
            message_id: reply.id.clone(),
            channel: inbound.channel,
            recipient: recipient.to_string(),
            recipient_name: customer.name.clone(),
            subject: reply_subject(&ticket.subject, &ticket.id),
            body: reply.body.clone(),
            correlation_id: inbound.correlation_id.clone(),
        };
        queue
            .send(QueueMessage {
                body: serde_json::to_string(&outbound).expect("replies serialize"),
                group_id: None,
                deduplication_id: None,
                correlation_id: inbound.correlation_id.clone(),
            })
            .await?;
        Ok(())
    }
}
