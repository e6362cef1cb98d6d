//! The agent: every inbound message, from any channel, goes through the same
//! steps (SPEC "The agent"): identify the customer, log the message on its
//! ticket, load history, score sentiment and check the rules, search, answer
//! or escalate, check the answer, format for the channel, record, and hand the
//! reply to the channel's sender.

mod classify;
pub(crate) mod format;
mod guardrails;
mod offline;
mod prompt;
pub mod sentiment;
mod tool_loop;
mod tools;
mod words;

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use serde_json::json;

pub use classify::classify;
pub use format::{format_reply, handoff_text, reply_subject, whatsapp_messages};
pub use guardrails::{after_model, before_model, BeforeModel};
pub use offline::OfflineEngine;
pub use tool_loop::{Decision, Step};
pub use tools::specs as tool_specs;

use crate::adapters::{DynamoCustomerDirectory, DynamoTicketStore, SqsQueue};
use crate::bedrock::BedrockModel;
use crate::config::{AgentConfig, ConfigError, ModelProvider};
use crate::domain::{
    Category, Channel, ConversationMessage, Customer, DeliveryStatus, Direction, EscalationReason, InboundMessage,
    MessageId, OutboundReply, Priority, Ticket, TicketId, TicketStatus,
};
use crate::inbound::conversation_message;
use crate::knowledge::Knowledge;
use crate::model::ChatModel;
use crate::ports::{AgentRun, CustomerDirectory, InfraError, MessageQueue, QueueMessage, TicketOutcome, TicketStore};
use crate::sqs_batch::{parse_body, process_batch, BatchError, RecordError};

const HISTORY_MESSAGES: usize = 20;
/// How soon an approved learned answer reaches a running agent.
const LEARNED_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

impl From<InfraError> for RecordError {
    fn from(e: InfraError) -> Self {
        RecordError::Transient(e.to_string())
    }
}

/// The adapters the agent works through.
pub struct AgentPorts {
    pub customers: Arc<dyn CustomerDirectory>,
    pub tickets: Arc<dyn TicketStore>,
    pub email_outbound: Arc<dyn MessageQueue>,
    /// Replies to WhatsApp wait here for the WhatsApp sender.
    pub whatsapp_outbound: Option<Arc<dyn MessageQueue>>,
    pub model: Arc<dyn ChatModel>,
    /// Recorded with every decision.
    pub model_name: String,
    pub knowledge: Arc<Knowledge>,
}

pub struct Agent {
    ports: AgentPorts,
}

/// What the agent concluded for one message, before it is recorded.
struct Handled {
    decision: Decision,
    steps: Vec<Step>,
    sentiment: f64,
    category: Category,
}

impl Agent {
    pub fn new(config: AgentConfig, sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let model: Arc<dyn ChatModel> = match &config.model {
            ModelProvider::Offline => Arc::new(OfflineEngine),
            ModelProvider::Bedrock { model_id } => Arc::new(BedrockModel::new(sdk, model_id.clone())),
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let tickets = Arc::new(DynamoTicketStore::new(dynamodb.clone(), config.tickets_table));
        Ok(Self::with_ports(AgentPorts {
            customers: Arc::new(DynamoCustomerDirectory::new(dynamodb, config.customers_table)),
            knowledge: Arc::new(Knowledge::with_learned(tickets.clone(), LEARNED_REFRESH)),
            tickets,
            email_outbound: Arc::new(SqsQueue::new(sqs.clone(), config.email_outbound_queue_url)),
            whatsapp_outbound: config
                .whatsapp_outbound_queue_url
                .map(|url| Arc::new(SqsQueue::new(sqs, url)) as Arc<dyn MessageQueue>),
            model,
            model_name: config.model.to_string(),
        }))
    }

    pub fn with_ports(ports: AgentPorts) -> Self {
        Self { ports }
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
        let ports = &self.ports;
        // 1. One customer across channels.
        let customer = ports.customers.find_or_create(&inbound.sender, Utc::now()).await?;
        // 2. The ticket, and the message logged on it before anything is answered.
        let ticket = self.ticket_for(inbound, &customer).await?;
        let logged = conversation_message(inbound, &customer.id, &ticket.id);
        ports.tickets.record_message(&logged).await?;
        let reply_id = MessageId::reply_to(&logged.id);
        if let Some(existing) = ports.tickets.get_message(&ticket.id, &reply_id).await? {
            // A redelivery: the reply exists. Hand it on again only if it never left.
            if existing.delivery_status == Some(DeliveryStatus::Queued) {
                self.enqueue_reply(inbound, &customer, &ticket, &existing).await?;
            }
            tracing::info!(ticket_id = %ticket.id, "duplicate delivery: already answered");
            return Ok(());
        }
        // 3. History across channels (this message included, last).
        let history = ports.tickets.customer_history(&customer.id, HISTORY_MESSAGES).await?;
        // 4–6. Sentiment and rules, then the model with its tools, then the checks.
        let customer_text = match &inbound.subject {
            Some(subject) => format!("{subject}\n\n{}", inbound.body),
            None => inbound.body.clone(),
        };
        let handled = self.decide(inbound, &ticket, &customer_text, &history).await;
        // 7. Format, record, hand over to the sender.
        let (answer, status, reason) = match &handled.decision {
            Decision::Respond { text, .. } => (text.clone(), TicketStatus::Answered, None),
            Decision::Escalate { reason, .. } => (
                handoff_text(*reason, inbound.channel),
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
            body: format_reply(inbound.channel, customer.name.as_deref(), &ticket.id, &answer),
            created_at: Utc::now(),
            delivery_status: Some(DeliveryStatus::Queued),
            provider_message_id: None,
        };
        let outcome = TicketOutcome {
            status,
            escalation_reason: reason,
            category: handled.category,
            sentiment: handled.sentiment,
        };
        ports.tickets.record_reply(&reply, &outcome, Utc::now()).await?;
        let earlier: Vec<f64> = history
            .iter()
            .filter(|m| m.direction == Direction::Inbound && m.id != logged.id)
            .map(|m| sentiment::score(&m.body))
            .collect();
        ports
            .tickets
            .record_agent_run(&AgentRun {
                ticket_id: ticket.id.clone(),
                message_id: logged.id.clone(),
                model: ports.model_name.clone(),
                decision: serde_json::to_value(&handled.decision).unwrap_or_default(),
                steps: serde_json::to_value(&handled.steps).unwrap_or_default(),
                context: json!({
                    "customer": { "id": customer.id, "name": customer.name, "email": customer.email, "phone": customer.phone },
                    "channel": inbound.channel.as_str(),
                    "message": customer_text,
                    "category": handled.category,
                    "priority": ticket.priority,
                    "sentiment": handled.sentiment,
                    "sentiment_trend": sentiment::trend(&earlier, handled.sentiment),
                    "history": prompt::history_text(&history),
                    "told_customer": reply.body,
                }),
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                created_at: Utc::now(),
            })
            .await?;
        self.enqueue_reply(inbound, &customer, &ticket, &reply).await?;
        tracing::info!(ticket_id = %ticket.id, status = status.as_str(), category = handled.category.as_str(),
            sentiment = handled.sentiment, elapsed_ms = started.elapsed().as_millis() as u64, "message handled");
        Ok(())
    }

    /// The rules before the model, the model's tool loop, and the checks after it.
    async fn decide(
        &self,
        inbound: &InboundMessage,
        ticket: &Ticket,
        text: &str,
        history: &[ConversationMessage],
    ) -> Handled {
        let sentiment = sentiment::score(&inbound.body);
        let canned = |text: &str| {
            (
                Decision::Respond {
                    text: text.to_owned(),
                    sources: Vec::new(),
                },
                Vec::new(),
            )
        };
        let knowledge = self.ports.knowledge.current().await;
        let (decision, steps) = match before_model(text, &inbound.body, inbound.channel, sentiment) {
            BeforeModel::Escalate { reason, why } => (
                Decision::Escalate {
                    reason,
                    summary: format!("Escalated by rule: {why}."),
                },
                Vec::new(),
            ),
            BeforeModel::AskWhatTheyNeed => canned(format::ask_what_they_need()),
            BeforeModel::Decline => canned(format::decline_request()),
            BeforeModel::DescribeTandemOnly => canned(format::describe_tandem()),
            BeforeModel::Answer => {
                let turn = tool_loop::Turn {
                    ticket,
                    channel: inbound.channel,
                    customer_text: text,
                    history,
                    knowledge: &knowledge,
                };
                match tool_loop::run(self.ports.model.as_ref(), &turn).await {
                    Ok((Decision::Respond { text, sources }, steps)) => match after_model(&text) {
                        Some(checked) => (Decision::Respond { text: checked, sources }, steps),
                        None => (
                            Decision::Escalate {
                                reason: EscalationReason::Other,
                                summary: "The drafted answer failed the checks (competitors, prices, promises).".into(),
                            },
                            steps,
                        ),
                    },
                    Ok(escalated) => escalated,
                    // The customer gets an apology and a person gets the ticket: never lost.
                    Err(e) => {
                        tracing::error!(error = %e, "model failed: escalating");
                        (
                            Decision::Escalate {
                                reason: EscalationReason::Other,
                                summary: format!("The model failed: {e}"),
                            },
                            Vec::new(),
                        )
                    }
                }
            }
        };
        let category = match &decision {
            // The customer chose it on the form.
            _ if inbound.channel == Channel::WebForm => ticket.category,
            Decision::Escalate {
                reason: EscalationReason::Refund | EscalationReason::Pricing,
                ..
            } => Category::Billing,
            Decision::Respond { sources, .. } if sources.is_empty() => Category::General,
            Decision::Respond { sources, .. } => classify(
                text,
                sentiment,
                sources.first().and_then(|a| knowledge.article_category(a)),
            ),
            Decision::Escalate { .. } => classify(text, sentiment, None),
        };
        Handled {
            decision,
            steps,
            sentiment,
            category,
        }
    }

    /// The web form opens the ticket before queueing; other channels get one here,
    /// with an id derived from the message so a redelivery finds the same ticket.
    async fn ticket_for(&self, inbound: &InboundMessage, customer: &Customer) -> Result<Ticket, RecordError> {
        let id = inbound
            .ticket_id
            .clone()
            .unwrap_or_else(|| TicketId::derived_from(&inbound.idempotency_key()));
        if let Some(ticket) = self.ports.tickets.get_ticket(&id).await? {
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
            inbound.subject.clone().unwrap_or_else(|| "Conversation".into()),
            inbound.category.unwrap_or(Category::General),
            inbound.priority.unwrap_or(Priority::Medium),
            inbound.received_at,
        );
        self.ports.tickets.create_ticket(&ticket).await?;
        Ok(ticket)
    }

    async fn enqueue_reply(
        &self,
        inbound: &InboundMessage,
        customer: &Customer,
        ticket: &Ticket,
        reply: &ConversationMessage,
    ) -> Result<(), RecordError> {
        let (queue, recipient) = match inbound.channel {
            Channel::Email | Channel::WebForm => {
                let email = inbound.sender.email.clone().or_else(|| customer.email.clone());
                let email = email
                    .ok_or_else(|| RecordError::Permanent("the customer has no email address to reply to".into()))?;
                (&self.ports.email_outbound, email.to_string())
            }
            Channel::Whatsapp => {
                let queue = self.ports.whatsapp_outbound.as_ref();
                let queue =
                    queue.ok_or_else(|| RecordError::Permanent("no WhatsApp outbound queue is configured".into()))?;
                let phone = inbound.sender.phone.clone().or_else(|| customer.phone.clone());
                let phone = phone
                    .ok_or_else(|| RecordError::Permanent("the customer has no phone number to reply to".into()))?;
                (queue, phone)
            }
        };
        let outbound = OutboundReply {
            ticket_id: ticket.id.clone(),
            message_id: reply.id.clone(),
            channel: inbound.channel,
            recipient,
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

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::adapters::memory::{MemoryQueue, MemoryStore};
    use crate::domain::Sender;
    use crate::model::{ConverseRequest, ConverseResponse, ModelError};

    struct Unavailable;

    #[async_trait]
    impl ChatModel for Unavailable {
        async fn converse(&self, _: &ConverseRequest) -> Result<ConverseResponse, ModelError> {
            Err(ModelError::Timeout("no answer within 20 s".into()))
        }
    }

    fn agent(store: &Arc<MemoryStore>, outbound: &Arc<MemoryQueue>, model: Arc<dyn ChatModel>) -> Agent {
        Agent::with_ports(AgentPorts {
            customers: store.clone(),
            tickets: store.clone(),
            email_outbound: outbound.clone(),
            whatsapp_outbound: None,
            model,
            model_name: "test".into(),
            knowledge: Arc::new(Knowledge::articles_only()),
        })
    }

    fn message(id: &str, body: &str) -> InboundMessage {
        InboundMessage {
            channel: Channel::Email,
            channel_message_id: id.into(),
            sender: Sender {
                name: Some("Ada Byron".into()),
                email: Some("ada@example.com".parse().unwrap()),
                phone: None,
            },
            subject: Some("Help".into()),
            body: body.into(),
            received_at: Utc::now(),
            correlation_id: id.into(),
            customer_id: None,
            ticket_id: None,
            category: None,
            priority: None,
        }
    }

    #[tokio::test]
    async fn when_the_model_fails_the_customer_gets_an_apology_and_a_person_the_ticket() {
        let store = Arc::new(MemoryStore::default());
        let outbound = Arc::new(MemoryQueue::default());
        let inbound = message("m-1", "How do I export a board to CSV?");
        agent(&store, &outbound, Arc::new(Unavailable))
            .handle_message(&inbound)
            .await
            .unwrap();

        let ticket_id = TicketId::derived_from(&inbound.idempotency_key());
        let (ticket, messages) = store.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(ticket.status, TicketStatus::Escalated);
        assert_eq!(ticket.escalation_reason, Some(EscalationReason::Other));
        assert!(messages[1].body.contains("I'm sorry"), "{}", messages[1].body);
        assert_eq!(outbound.sent.lock().unwrap().len(), 1, "the apology is sent");
        let run = &store.runs.lock().unwrap()[0];
        assert!(run.decision["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within 20 s"));
    }

    #[tokio::test]
    async fn a_redelivered_message_is_answered_once() {
        let store = Arc::new(MemoryStore::default());
        let outbound = Arc::new(MemoryQueue::default());
        let agent = agent(&store, &outbound, Arc::new(OfflineEngine));
        let inbound = message("m-2", "How do I reset my password?");
        agent.handle_message(&inbound).await.unwrap();
        agent.handle_message(&inbound).await.unwrap();
        let (_, messages) = store
            .ticket_thread(&TicketId::derived_from(&inbound.idempotency_key()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(messages.len(), 2, "one inbound, one reply");
        // The reply never left (still queued), so the redelivery hands it on again; the
        // sender's claim makes sure it is emailed once.
        assert_eq!(outbound.sent.lock().unwrap().len(), 2);
    }
}
