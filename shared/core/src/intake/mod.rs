//! The intake: the one place where a channel's inbound message becomes stored facts (the
//! customer identified, the ticket opened, the message recorded) and is handed to the
//! agent. It runs once, in the function that receives the message.
//!
//! Nothing accepted is lost: the ticket, the message and an outbox entry for it are written
//! in one step, the message is then queued and the entry cleared. A crash before the write
//! leaves nothing; a crash after it leaves an outbox entry that the scheduled [`Sweeper`]
//! queues. The queue's deduplication id and the agent's idempotent reply
//! make a message queued twice answered once.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::domain::{
    text, AddressClaim, Category, ConversationMessage, CustomerId, Direction, EmailThread, Handler, InboundMessage,
    MessageId, Priority, QueuedMessage, Ticket, TicketFacts, TicketId, TicketStatus,
};
use crate::ports::customers::CustomerDirectory;
use crate::ports::queue::{MessageQueue, QueueMessage};
use crate::ports::tickets::{ConversationUpdate, IntakeLog, IntakeRecord, Placement, Stored};
use crate::ports::InfraError;
use crate::records::{Actor, AuditAction, AuditEntry};
use crate::telemetry;
use crate::webform::without_confirm_tokens;

/// How many outbox entries one sweep queues at most.
const REDRIVE_BATCH: usize = 100;
/// How often the intake looks again when concurrent messages move the conversation.
const CONVERSATION_ROUNDS: usize = 3;

/// What the intake did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub ticket_id: TicketId,
    /// The same message (same channel id or idempotency key) came before: nothing new was stored.
    pub replay: bool,
}

pub struct Intake {
    customers: Arc<dyn CustomerDirectory>,
    log: Arc<dyn IntakeLog>,
    inbound: Arc<dyn MessageQueue>,
}

impl Intake {
    pub fn new(customers: Arc<dyn CustomerDirectory>, log: Arc<dyn IntakeLog>, inbound: Arc<dyn MessageQueue>) -> Self {
        Self {
            customers,
            log,
            inbound,
        }
    }

    /// Stores the message and queues it for the agent. `Err` means nothing of the message
    /// was stored (a customer may have been created): the caller may retry. Once stored,
    /// the message is accepted even if queueing fails: the sweeper queues it.
    ///
    /// A sender the channel proved is identified as a customer, with all their history; a
    /// claimed one (an address typed into the form) is a customer of its own, this message's
    /// only, until the address is proven: it never opens another customer's history. On a
    /// chat channel, a message joins the customer's conversation while its ticket is still
    /// open (a burst before the agent answered), so the agent answers the burst at once.
    pub async fn accept(&self, message: InboundMessage) -> Result<Accepted, InfraError> {
        let span = tracing::info_span!("intake", correlation_id = %message.correlation_id);
        let channel = message.channel;
        let accepted = self.store_and_queue(message).instrument(span).await?;
        match accepted.replay {
            true => telemetry::duplicate_suppressed(channel),
            false => telemetry::message_received(channel),
        }
        Ok(accepted)
    }

    async fn store_and_queue(&self, message: InboundMessage) -> Result<Accepted, InfraError> {
        let message = hygienic(message);
        let key = message.idempotency_key();
        let sender_customer = match message.proof {
            Some(proof) => self.customers.identify(&message.sender, proof, Utc::now()).await?,
            None => CustomerId::derived_from(&format!("claimed#{key}")),
        };
        let message_id = MessageId::inbound(message.received_at.timestamp_millis(), &key);
        let ticket_id = TicketId::derived_from(&key);
        let chat = message.channel.continues_conversation() && message.proof.is_some();
        // A ticket that was decided while we looked cannot be joined: a new one follows it.
        let mut decided = None;
        let mut current = None;
        let mut continued = self.continued_ticket(&message, &sender_customer).await?;
        for round in 0..CONVERSATION_ROUNDS {
            // Read again only when another message moved the ticket meanwhile.
            if round > 0 {
                if let Some(ticket) = &continued {
                    continued = self.log.ticket(&ticket.id).await?;
                }
            }
            if chat && continued.is_none() && (round == 0 || decided.is_none()) {
                current = self.log.conversation(&sender_customer, message.channel).await?;
            }
            // A continued ticket keeps its customer: the thread is theirs.
            let customer_id = continued
                .as_ref()
                .map_or_else(|| sender_customer.clone(), |t| t.customer_id.clone());
            let (placement, confirm_token) = match (&continued, &current) {
                (Some(ticket), _) => (
                    Placement::Continue {
                        facts: continued_facts(ticket),
                        seen: ticket.status,
                    },
                    None,
                ),
                (None, Some(open)) if Some(&open.id) != decided.as_ref() => (
                    Placement::Join(TicketFacts {
                        status: TicketStatus::Open,
                        ..open.clone()
                    }),
                    None,
                ),
                _ => {
                    // A typed address: its reply carries the link that proves it (see `AddressClaim`).
                    let (claim, token) = match (&message.proof, &message.sender.email) {
                        (None, Some(email)) => {
                            let (claim, token) = AddressClaim::new(email.clone(), &ticket_id);
                            (Some(claim), Some(token))
                        }
                        _ => (None, None),
                    };
                    let ticket = Ticket {
                        address_claim: claim,
                        contact: message.sender.clone(),
                        ..Ticket::open(
                            ticket_id.clone(),
                            customer_id.clone(),
                            message.channel,
                            message.subject.clone().unwrap_or_else(|| "Conversation".into()),
                            message.category.unwrap_or(Category::General),
                            message.priority.unwrap_or(Priority::Medium),
                            message.received_at,
                        )
                    };
                    (Placement::New(Box::new(ticket)), token)
                }
            };
            let facts = match &placement {
                Placement::New(ticket) => TicketFacts::of(ticket),
                Placement::Join(facts) | Placement::Continue { facts, .. } => facts.clone(),
            };
            let record = IntakeRecord {
                key: key.clone(),
                message: stored_message(&message, &message_id, &customer_id, &facts.id),
                queued_as: queue_message(
                    &message,
                    &key,
                    message_id.clone(),
                    customer_id.clone(),
                    &facts,
                    confirm_token,
                ),
                conversation: (chat && continued.is_none()).then(|| ConversationUpdate {
                    customer: customer_id.clone(),
                    channel: message.channel,
                    previous: current.as_ref().map(|c| c.id.clone()),
                }),
                placement,
                original: message.original.clone(),
                audit: AuditEntry::new(&facts.id, message.received_at, Actor::Customer, AuditAction::Received)
                    .about(&message_id)
                    .detail(format!("{} message", message.channel)),
                thread_keys: match (&message.email, &message.sender.email) {
                    (Some(thread), Some(sender)) => thread
                        .own_id()
                        .map(|id| EmailThread::sender_key(sender, id))
                        .into_iter()
                        .collect(),
                    _ => Vec::new(),
                },
            };
            match self.log.store(&record).await? {
                Stored::New => {}
                Stored::Replay(ticket_id) => {
                    tracing::info!(%ticket_id, "the same message again: returning its ticket");
                    return Ok(Accepted {
                        ticket_id,
                        replay: true,
                    });
                }
                // A person has the conversation's ticket: the message is theirs.
                Stored::PersonHasIt(ticket) => {
                    continued = Some(*ticket);
                    current = None;
                    continue;
                }
                Stored::ConversationMoved => {
                    decided = match record.placement {
                        Placement::Join(facts) => Some(facts.id),
                        Placement::New(_) | Placement::Continue { .. } => None,
                    };
                    continue;
                }
            }
            if let Err(e) = hand_over(
                self.log.as_ref(),
                self.inbound.as_ref(),
                &facts.id,
                &message_id,
                record.queued_as,
            )
            .await
            {
                // Stored with its outbox entry: the sweeper queues it.
                tracing::warn!(ticket_id = %facts.id, error = %e, "queueing failed after storing: left to the sweeper");
            }
            tracing::info!(ticket_id = %facts.id, channel = %message.channel, "message accepted");
            return Ok(Accepted {
                ticket_id: facts.id,
                replay: false,
            });
        }
        Err(InfraError::new(
            "store message",
            "the conversation kept moving under concurrent messages",
        ))
    }

    /// The ticket this message continues, if any: the one its status page named, or the
    /// one its email thread names when the sender is that ticket's customer (or the
    /// address it claimed). Anyone else's reply in a thread opens a ticket of its own.
    async fn continued_ticket(
        &self,
        message: &InboundMessage,
        sender: &CustomerId,
    ) -> Result<Option<Ticket>, InfraError> {
        if let Some(id) = &message.follows_ticket {
            return match self.log.ticket(id).await? {
                Some(ticket) => Ok(Some(ticket)),
                None => Err(InfraError::new("continue ticket", format!("no ticket {id}"))),
            };
        }
        let Some(thread) = &message.email else {
            return Ok(None);
        };
        // Each id answered as one of ours (or SES's in its place), or as the sender's own.
        let mut keys: Vec<String> = Vec::new();
        for id in thread.answered_ids() {
            let ours = EmailThread::key(id).to_owned();
            let theirs = message.sender.email.as_ref().map(|e| EmailThread::sender_key(e, id));
            for key in std::iter::once(ours).chain(theirs) {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let Some(ticket) = self.log.ticket_of_thread(&keys).await? else {
            return Ok(None);
        };
        let claimed_by_sender = match (&ticket.address_claim, &message.sender.email) {
            (Some(claim), Some(email)) => claim.email.as_str().eq_ignore_ascii_case(email.as_str()),
            _ => false,
        };
        if &ticket.customer_id == sender || claimed_by_sender {
            Ok(Some(ticket))
        } else {
            tracing::info!(ticket_id = %ticket.id, "a reply in another customer's thread: a ticket of its own");
            Ok(None)
        }
    }
}

/// The outbox sweeper: queues what a crash or an outage left stored but not queued.
pub struct Sweeper {
    log: Arc<dyn IntakeLog>,
    inbound: Arc<dyn MessageQueue>,
}

/// How old an outbox entry must be before the sweeper takes it: younger ones belong to an
/// intake still running.
pub const SWEEP_GRACE: Duration = Duration::seconds(30);

impl Sweeper {
    pub fn new(log: Arc<dyn IntakeLog>, inbound: Arc<dyn MessageQueue>) -> Self {
        Self { log, inbound }
    }

    /// One scheduled sweep: everything older than [`SWEEP_GRACE`].
    pub async fn redrive_now(&self) -> Result<usize, InfraError> {
        let swept = self.redrive(Utc::now(), SWEEP_GRACE).await;
        if swept.is_err() {
            telemetry::error();
        }
        swept
    }

    /// Queues every stored message whose outbox entry is older than `grace` (left behind
    /// by a crash or an outage); returns how many.
    pub async fn redrive(&self, now: DateTime<Utc>, grace: Duration) -> Result<usize, InfraError> {
        let pending = self.log.pending(now - grace, REDRIVE_BATCH).await?;
        let count = pending.len();
        for entry in pending {
            let span = tracing::info_span!("redrive", ticket_id = %entry.ticket_id, correlation_id = %entry.queued_as.correlation_id);
            hand_over(
                self.log.as_ref(),
                self.inbound.as_ref(),
                &entry.ticket_id,
                &entry.message_id,
                entry.queued_as,
            )
            .instrument(span)
            .await?;
        }
        if count > 0 {
            tracing::warn!(count, "queued messages a crash or an outage had left behind");
        }
        Ok(count)
    }
}

/// Queues a stored message, then clears its outbox entry.
async fn hand_over(
    log: &dyn IntakeLog,
    inbound: &dyn MessageQueue,
    ticket: &TicketId,
    message: &MessageId,
    queued_as: QueueMessage,
) -> Result<(), InfraError> {
    inbound.send(queued_as).await?;
    log.mark_queued(ticket, message).await
}

/// Every channel's text made safe before storage and before any header: bidirectional
/// controls and stray control characters removed, names and subjects on one line, and no
/// confirmation link's secret kept (a reply quoting one is readable on the ticket).
/// A continued ticket as the agent will see it: open again for the agent, unless a person
/// has it (escalated, or a person is answering it). A resolved ticket starts afresh: its
/// old escalation is not handed off again.
fn continued_facts(ticket: &Ticket) -> TicketFacts {
    let facts = TicketFacts::of(ticket);
    match ticket.status {
        TicketStatus::Escalated => facts,
        TicketStatus::Resolved => TicketFacts {
            status: TicketStatus::Open,
            handled_by: Handler::Agent,
            assignee: None,
            ..facts
        },
        TicketStatus::Open | TicketStatus::Answered => TicketFacts {
            status: TicketStatus::Open,
            ..facts
        },
    }
}

fn hygienic(mut message: InboundMessage) -> InboundMessage {
    message.sender.name = message.sender.name.as_deref().and_then(text::clean_line);
    message.subject = message.subject.as_deref().and_then(text::clean_line);
    message.body = stored_text(&message.body);
    message.original = message.original.as_deref().map(stored_text);
    message
}

fn stored_text(text: &str) -> String {
    without_confirm_tokens(&text::clean_body(text))
}

fn stored_message(
    message: &InboundMessage,
    id: &MessageId,
    customer: &CustomerId,
    ticket: &TicketId,
) -> ConversationMessage {
    ConversationMessage {
        id: id.clone(),
        ticket_id: ticket.clone(),
        customer_id: customer.clone(),
        direction: Direction::Inbound,
        channel: message.channel,
        body: message.body.clone(),
        created_at: message.received_at,
        delivery_status: None,
        provider_message_id: None,
        attachments: message.attachments.clone(),
        has_original: message.original.is_some(),
        person: None,
    }
}

/// The inbound queue is FIFO with one group per customer, so one customer's messages are
/// handled in order and never concurrently; the deduplication id turns a repeat within
/// five minutes into a no-op.
fn queue_message(
    message: &InboundMessage,
    key: &str,
    message_id: MessageId,
    customer_id: CustomerId,
    ticket: &TicketFacts,
    confirm_token: Option<String>,
) -> QueueMessage {
    let queued = QueuedMessage {
        customer_id: customer_id.clone(),
        message_id,
        ticket: ticket.clone(),
        channel: message.channel,
        sender: message.sender.clone(),
        subject: message.subject.clone(),
        body: message.body.clone(),
        received_at: message.received_at,
        correlation_id: message.correlation_id.clone(),
        proof: message.proof,
        attachments: message.attachments.clone(),
        confirm_token,
        email: message.email.clone(),
    };
    QueueMessage {
        body: serde_json::to_string(&queued).expect("queued messages serialize"),
        group_id: Some(customer_id.to_string()),
        deduplication_id: Some(hex::encode(Sha256::digest(key.as_bytes()))),
        correlation_id: message.correlation_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::domain::{Channel, IdentityProof, Sender};
    use crate::ports::customers::memory::MemoryCustomers;
    use crate::ports::customers::IdentityLinks;
    use crate::ports::queue::memory::MemoryQueue;
    use crate::ports::tickets::memory::MemoryTickets;
    use crate::ports::tickets::{ReplyLog, TicketReader, TurnRecord};

    /// A queue that is down.
    struct Down;

    #[async_trait]
    impl MessageQueue for Down {
        async fn send(&self, _: QueueMessage) -> Result<(), InfraError> {
            Err(InfraError::new("send to queue", "connection refused"))
        }
    }

    fn message(key: &str) -> InboundMessage {
        InboundMessage {
            channel: Channel::WebForm,
            channel_message_id: key.into(),
            sender: Sender {
                name: Some("Maya\u{202e} Lin\0".into()),
                email: Some("maya@northwind.example".parse().unwrap()),
                phone: None,
            },
            subject: Some("Invite \u{202e}a teammate".into()),
            body: "How do I invite\0 a teammate?".into(),
            received_at: Utc::now(),
            correlation_id: "c-1".into(),
            category: Some(Category::Technical),
            priority: None,
            proof: None,
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: None,
        }
    }

    fn whatsapp(sid: &str, body: &str) -> InboundMessage {
        InboundMessage {
            channel: Channel::Whatsapp,
            channel_message_id: sid.into(),
            sender: Sender {
                name: Some("Ana".into()),
                email: None,
                phone: Some("+5511987654321".into()),
            },
            subject: None,
            body: body.into(),
            received_at: Utc::now(),
            correlation_id: sid.into(),
            category: None,
            priority: None,
            proof: Some(IdentityProof::TwilioSender),
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: None,
        }
    }

    #[tokio::test]
    async fn a_burst_joins_the_open_conversation_and_a_decided_one_is_followed_by_a_new_ticket() {
        let (log, queue) = (Arc::new(MemoryTickets::default()), Arc::new(MemoryQueue::default()));
        let intake = Intake::new(Arc::new(MemoryCustomers::default()), log.clone(), queue.clone());
        let first = intake.accept(whatsapp("SM1", "hi")).await.unwrap();
        let second = intake.accept(whatsapp("SM2", "I can't log in")).await.unwrap();
        assert_eq!(first.ticket_id, second.ticket_id, "one conversation while it is open");
        let again = intake.accept(whatsapp("SM2", "I can't log in")).await.unwrap();
        assert_eq!(
            (again.ticket_id, again.replay),
            (first.ticket_id.clone(), true),
            "a retry by MessageSid"
        );
        let (_, messages) = log.ticket_thread(&first.ticket_id).await.unwrap().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(queue.sent.lock().unwrap().len(), 2);

        // The agent answers: the conversation's ticket is decided, the next message opens another.
        let reply = ConversationMessage {
            direction: Direction::Outbound,
            id: MessageId::reply_to(&messages[1].id),
            ..messages[1].clone()
        };
        let turn = TurnRecord::answered(reply, messages[1].id.clone());
        log.record_reply(&turn, Utc::now()).await.unwrap();
        let later = intake
            .accept(whatsapp("SM3", "thanks, and another thing"))
            .await
            .unwrap();
        assert_ne!(later.ticket_id, first.ticket_id);
    }

    #[tokio::test]
    async fn a_claimed_address_is_nobody_elses_customer() {
        let (log, queue) = (Arc::new(MemoryTickets::default()), Arc::new(MemoryQueue::default()));
        let customers = Arc::new(MemoryCustomers::default());
        let intake = Intake::new(customers.clone(), log.clone(), queue.clone());
        let mut proven = message("proven-1");
        proven.proof = Some(IdentityProof::MailboxAuthentication);
        intake.accept(proven).await.unwrap();
        intake.accept(message("claimed-1")).await.unwrap();
        let queued: Vec<QueuedMessage> = queue
            .sent
            .lock()
            .unwrap()
            .iter()
            .map(|m| serde_json::from_str(&m.body).unwrap())
            .collect();
        assert_ne!(
            queued[0].customer_id, queued[1].customer_id,
            "the same typed address, two customers"
        );
        let owner = customers
            .owner_of_email(&"maya@northwind.example".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(
            owner,
            Some(queued[0].customer_id.clone()),
            "only the proven sender owns it"
        );
    }

    #[tokio::test]
    async fn the_same_submission_twice_is_one_ticket_and_one_queued_message() {
        let (log, queue) = (Arc::new(MemoryTickets::default()), Arc::new(MemoryQueue::default()));
        let intake = Intake::new(Arc::new(MemoryCustomers::default()), log.clone(), queue.clone());
        let first = intake.accept(message("key-1")).await.unwrap();
        let again = intake.accept(message("key-1")).await.unwrap();
        assert_eq!(
            (first.ticket_id.clone(), first.replay, again.replay),
            (again.ticket_id.clone(), false, true)
        );
        assert_eq!(queue.sent.lock().unwrap().len(), 1);
        let (ticket, messages) = log.ticket_thread(&first.ticket_id).await.unwrap().unwrap();
        assert_eq!(ticket.subject, "Invite a teammate", "bidirectional controls removed");
        assert_eq!(messages[0].body, "How do I invite a teammate?");
        let queued: QueuedMessage = serde_json::from_str(&queue.sent.lock().unwrap()[0].body).unwrap();
        assert_eq!(queued.sender.name.as_deref(), Some("Maya Lin"));
    }

    #[tokio::test]
    async fn a_message_stored_while_the_queue_is_down_is_queued_by_the_sweeper() {
        let log = Arc::new(MemoryTickets::default());
        let customers = Arc::new(MemoryCustomers::default());
        let down = Intake::new(customers.clone(), log.clone(), Arc::new(Down));
        let accepted = down.accept(message("key-2")).await.unwrap();
        assert!(!accepted.replay, "stored, so accepted");

        let queue = Arc::new(MemoryQueue::default());
        let sweeper = Sweeper::new(log.clone(), queue.clone());
        let later = Utc::now() + Duration::minutes(5);
        assert_eq!(
            sweeper.redrive(Utc::now(), Duration::minutes(1)).await.unwrap(),
            0,
            "too fresh"
        );
        assert_eq!(sweeper.redrive(later, Duration::minutes(1)).await.unwrap(), 1);
        assert_eq!(sweeper.redrive(later, Duration::minutes(1)).await.unwrap(), 0, "once");
        let queued: QueuedMessage = serde_json::from_str(&queue.sent.lock().unwrap()[0].body).unwrap();
        assert_eq!(queued.ticket.id, accepted.ticket_id);
    }
}
