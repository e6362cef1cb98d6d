//! The agent: every message the intake stored, from any channel, goes through the same
//! steps (SPEC "The agent"): load the customer's history, score sentiment and check the
//! rules, search, answer or escalate, check the answer, format for the channel, record,
//! and hand the reply to the channel's sender. The customer and the ticket come from the
//! intake, on the queued message: the agent never identifies anyone itself.

mod classify;
pub(crate) mod format;
pub mod guardrails;
mod identity;
pub mod rails;
pub mod sentiment;
mod tool_loop;
pub(crate) mod words;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use classify::{classify, Classified};
pub use format::whatsapp_messages;
use format::{format_reply, handoff_text, reply_subject};
use guardrails::{after_model, before_model, BeforeModel};
use identity::IdentityTurn;
pub use identity::{CODE_LIFETIME, MAX_ATTEMPTS};
use tool_loop::{Decision, Step};

use crate::autonomy::{AutonomyPolicy, Release};
use crate::cost::{PriceTable, TurnUsage};
use crate::delivery::{enqueue, Outbound};
use crate::domain::text::{at_most, is_blank};
use crate::domain::whatsapp::window_open;
use crate::domain::{
    Attachment, Category, Channel, ConversationMessage, DeliveryStatus, Direction, EmailThread, EscalationReason,
    Handler, Language, MessageId, OutboundReply, QueuedMessage, TicketStatus,
};
use crate::email::own_words;
use crate::knowledge::{Knowledge, KnowledgeBase};
use crate::ports::customers::IdentityLinks;
use crate::ports::engine::prompt::history_text;
use crate::ports::engine::{Engine, HistoryLine, TokenUsage, Turn};
use crate::ports::team::{pick_assignee, NoticeKind, Presence, TeamAlert, TeamNotice, PRESENCE_WINDOW};
use crate::ports::tickets::{
    AgentRun, HistoryReader, ReplyLog, ReplyRecorded, TicketOutcome, TurnRecord, Verifications,
};
use crate::ports::usage::UsageMeter;
use crate::records::{Actor, AuditAction, AuditEntry, DecisionKind, DecisionRecord};
use crate::telemetry;
use crate::ProcessingError;
use rails::{judged_units, RailMatch, SemanticRails};

const HISTORY_MESSAGES: usize = 20;

/// How long the agent lets a WhatsApp burst settle: it answers a message no sooner than this
/// after it arrived, so the lines a customer sends in quick succession are answered together.
/// (Lambda's batching window does not apply to FIFO queues: this wait is the product's own.)
pub const BURST_SETTLE: Duration = Duration::from_secs(1);

/// The ports the agent works through.
pub struct AgentPorts {
    pub history: Arc<dyn HistoryReader>,
    pub replies: Arc<dyn ReplyLog>,
    /// Where replies wait for their channel's sender.
    pub outbound: Outbound,
    pub engine: Arc<dyn Engine>,
    pub knowledge: Arc<Knowledge>,
    pub rails: Arc<SemanticRails>,
    /// Proven identities, and linking them (WhatsApp's one-time codes).
    pub identities: Arc<dyn IdentityLinks>,
    pub verifications: Arc<dyn Verifications>,
    /// [`BURST_SETTLE`] in production; zero where bursts do not matter (benchmarks).
    pub burst_settle: Duration,
    /// Which answers go out on their own, and which wait for a person.
    pub autonomy: Arc<AutonomyPolicy>,
    pub team: Team,
    /// The AWS calls of the turn and the function's memory, for its usage.
    pub meter: Arc<dyn UsageMeter>,
    /// What the turn's usage costs (logged with it).
    pub prices: PriceTable,
}

/// The people the agent hands tickets to.
pub struct Team {
    pub presence: Arc<dyn Presence>,
    pub alert: TeamAlert,
}

pub struct Agent {
    ports: AgentPorts,
}

fn rail_summary(rail: &RailMatch) -> String {
    format!(
        "Escalated by the {} rail (probability {:.2}): \"{}\".",
        rail.reason, rail.score, rail.sentence
    )
}

/// What the agent concluded for one turn, before it is recorded.
struct Handled {
    decision: Decision,
    steps: Vec<Step>,
    sentiment: f64,
    category: Classified,
    language: Language,
    rail: Option<RailMatch>,
    look_alike: bool,
    /// The engine's tokens, over its rounds.
    tokens: TokenUsage,
}

/// How sure a decision taken by a rule (a keyword, a canned answer, a tool call) is: it
/// is not a probability, and never falls below a supervised threshold.
const RULE_CONFIDENCE: f64 = 1.0;

/// How sure the agent is of an answer: the relevance of the best passage it cited (the
/// search steps keep each hit's score), or a rule's certainty.
fn cited_relevance(decision: &Decision, steps: &[Step]) -> f64 {
    let Decision::Respond { sources, .. } = decision else {
        return RULE_CONFIDENCE;
    };
    if sources.is_empty() {
        return RULE_CONFIDENCE;
    }
    steps
        .iter()
        .filter_map(|step| step.output.get("hits")?.as_array())
        .flatten()
        .filter(|hit| hit["article"].as_str().is_some_and(|a| sources.iter().any(|s| s == a)))
        .filter_map(|hit| hit["score"].as_f64())
        .fold(0.0, f64::max)
        // The article classifier may lift a relevance past 1.
        .clamp(0.0, 1.0)
}

/// A category the customer chose (the web form's field).
fn chosen(category: Category) -> Classified {
    Classified {
        category,
        confidence: RULE_CONFIDENCE,
    }
}

/// The turn's lines in the ticket's audit trail.
fn turn_audit(
    message: &QueuedMessage,
    handled: &Handled,
    reply: &ConversationMessage,
    held: bool,
    confidence: f64,
    assignee: Option<&str>,
) -> Vec<AuditEntry> {
    let entry = |action| AuditEntry::new(&message.ticket.id, reply.created_at, Actor::Agent, action).about(&reply.id);
    let mut audit = vec![match &handled.decision {
        Decision::Escalate { reason, summary } => entry(AuditAction::Escalated)
            .detail(format!("handed to a person: {reason}"))
            .why(summary.clone()),
        Decision::Respond { sources, .. } if held => entry(AuditAction::DraftHeld)
            .detail(format!("confidence {confidence:.2}"))
            .why(format!(
                "autonomy for {} / {} holds this answer for review",
                message.channel, handled.category.category
            )),
        Decision::Respond { sources, .. } => entry(AuditAction::Answered).detail(match sources.is_empty() {
            true => "answered by rule".to_owned(),
            false => format!("answered from {}", sources.join(", ")),
        }),
    }];
    if let Some(assignee) = assignee {
        audit.push(
            entry(AuditAction::Assigned)
                .detail(assignee)
                .why("online when the ticket was escalated"),
        );
    }
    audit
}

impl Handled {
    fn answer_confidence(&self) -> f64 {
        cited_relevance(&self.decision, &self.steps)
    }

    /// The turn's decisions, each with its confidence: what was it about, how to answer,
    /// whether a person must take over, and the answer drafted (when there is one).
    fn decisions(&self, message: &QueuedMessage) -> Vec<DecisionRecord> {
        let confidence = self.answer_confidence();
        // How to answer and whether to escalate are decided together, as surely.
        let (strategy, escalation, decided_confidence) = match &self.decision {
            Decision::Respond { sources, .. } if sources.is_empty() => ("rule", "answer".to_owned(), confidence),
            Decision::Respond { .. } => ("knowledge", "answer".to_owned(), confidence),
            Decision::Escalate { reason, .. } => (
                "escalate",
                format!("escalate:{reason}"),
                self.rail.as_ref().map_or(RULE_CONFIDENCE, |r| f64::from(r.score)),
            ),
        };
        let decision = |kind, value: String, confidence| DecisionRecord {
            ticket_id: message.ticket.id.clone(),
            message_id: message.message_id.clone(),
            kind,
            value,
            confidence,
            at: Utc::now(),
            verdict: None,
        };
        let mut decisions = vec![
            decision(
                DecisionKind::Category,
                self.category.category.to_string(),
                self.category.confidence,
            ),
            decision(DecisionKind::Strategy, strategy.to_owned(), decided_confidence),
            decision(DecisionKind::Escalation, escalation, decided_confidence),
        ];
        if let Decision::Respond { text, .. } = &self.decision {
            decisions.push(decision(DecisionKind::Draft, at_most(text, 500, "…"), confidence));
        }
        decisions
    }
}

impl Handled {
    /// A decision taken before the engine (and its rules) came into it.
    fn without_engine(decision: Decision, message: &QueuedMessage, own_words: &str) -> Self {
        let sentiment = sentiment::score(own_words);
        let category = match message.channel {
            Channel::WebForm => chosen(message.ticket.category),
            _ => classify(own_words, sentiment, None),
        };
        Self {
            decision,
            steps: Vec::new(),
            sentiment,
            category,
            language: Language::of(own_words),
            rail: None,
            look_alike: false,
            tokens: TokenUsage::default(),
        }
    }
}

/// The customer's messages a turn answers: those of the ticket after its last reply.
struct Unanswered<'a> {
    messages: Vec<&'a ConversationMessage>,
}

impl<'a> Unanswered<'a> {
    fn of(history: &'a [ConversationMessage], message: &'a QueuedMessage) -> Self {
        let thread = history.iter().filter(|m| m.ticket_id == message.ticket.id);
        let last_reply = thread
            .clone()
            .filter(|m| m.direction == Direction::Outbound)
            .map(|m| &m.id)
            .max();
        let messages: Vec<_> = thread
            .filter(|m| m.direction == Direction::Inbound && Some(&m.id) > last_reply && m.id <= message.message_id)
            .collect();
        Self { messages }
    }

    /// What the customer wrote in these messages, in order, one per line.
    fn words(&self, message: &QueuedMessage) -> String {
        if self.messages.is_empty() {
            // The history's index lags the intake: the message itself is the turn.
            return own_words(&message.body);
        }
        let lines: Vec<String> = self
            .messages
            .iter()
            .map(|m| own_words(&m.body))
            .filter(|w| !is_blank(w))
            .collect();
        lines.join("\n")
    }

    fn attachments(&self, message: &'a QueuedMessage) -> Vec<&'a Attachment> {
        match self.messages.is_empty() {
            true => message.attachments.iter().collect(),
            false => self.messages.iter().flat_map(|m| &m.attachments).collect(),
        }
    }
}

impl Agent {
    pub fn new(ports: AgentPorts) -> Self {
        Self { ports }
    }

    pub async fn handle(&self, message: &QueuedMessage) -> Result<(), ProcessingError> {
        let started = Instant::now();
        let ports = &self.ports;
        let ticket = &message.ticket;
        let reply_id = MessageId::reply_to(&message.message_id);
        if ticket.status == TicketStatus::Escalated || ticket.handled_by == Handler::Person {
            // A person has the ticket: the message waits for them, and the agent stays silent.
            tracing::info!(ticket_id = %ticket.id, "a person has this ticket: not answered");
            let summary = format!("The customer wrote: {}", at_most(&own_words(&message.body), 500, "…"));
            return self
                .notify(
                    message,
                    NoticeKind::CustomerWrote,
                    None,
                    summary,
                    ticket.assignee.clone(),
                )
                .await;
        }
        // History across channels, this message included (last).
        let mut history = self.history(message).await?;
        if self.handled_elsewhere(message, &history).await? {
            return Ok(());
        }
        if let Some(wait) = self.burst_wait(message) {
            tokio::time::sleep(wait).await;
            history = self.history(message).await?;
            if self.handled_elsewhere(message, &history).await? {
                return Ok(());
            }
        }
        let unanswered = Unanswered::of(&history, message);
        let turn = Turn {
            channel: message.channel,
            subject: message.subject.clone(),
            customer_text: unanswered.words(message),
            history: history
                .iter()
                .map(|m| HistoryLine {
                    at: m.created_at,
                    channel: m.channel,
                    direction: m.direction,
                    text: m.body.clone(),
                })
                .collect(),
        };
        let own_words = &turn.customer_text;
        let mut identity = None;
        let handled = if message.channel == Channel::Whatsapp && !window_open(message.received_at, Utc::now()) {
            let summary = format!(
                "WhatsApp's 24-hour window closed (the customer last wrote at {}): no free-form reply may be sent. Answer with an approved template or on another channel.",
                message.received_at
            );
            let decision = Decision::Escalate {
                reason: EscalationReason::WindowClosed,
                summary,
            };
            Handled::without_engine(decision, message, own_words)
        } else if let Some(step) = identity::step(ports, message, own_words, &reply_id).await? {
            let decision = Decision::Respond {
                text: step.answer.clone(),
                sources: Vec::new(),
            };
            identity = Some(step);
            Handled::without_engine(decision, message, own_words)
        } else if is_blank(own_words) && !unanswered.attachments(message).is_empty() {
            let decision = Decision::Respond {
                text: format::media_only().into(),
                sources: Vec::new(),
            };
            Handled::without_engine(decision, message, own_words)
        } else {
            self.decide(message, &turn).await
        };
        telemetry::model_tokens(handled.tokens.input_tokens, handled.tokens.output_tokens);
        let answer_confidence = handled.answer_confidence();
        // Hand-off notices and the identity steps' answers are never held: the customer
        // always hears what happens next.
        let held = identity.is_none()
            && matches!(handled.decision, Decision::Respond { .. })
            && ports
                .autonomy
                .release(message.channel, handled.category.category, answer_confidence)
                == Release::HoldForReview;
        let (answer, status, reason) = match &handled.decision {
            Decision::Respond { text, .. } if held => (text.clone(), TicketStatus::Open, None),
            Decision::Respond { text, .. } => (text.clone(), TicketStatus::Answered, None),
            Decision::Escalate { reason, .. } => (
                handoff_text(*reason, message.channel, handled.language),
                TicketStatus::Escalated,
                Some(*reason),
            ),
        };
        let linked = identity.as_ref().and_then(|i| i.linked.as_ref());
        let reply = ConversationMessage {
            id: reply_id,
            ticket_id: ticket.id.clone(),
            // Once linked, the conversation is the linked customer's.
            customer_id: linked.map_or_else(|| message.customer_id.clone(), |l| l.customer.clone()),
            direction: Direction::Outbound,
            channel: message.channel,
            body: format_reply(
                message.channel,
                handled.language,
                message.sender.name.as_deref(),
                &ticket.id,
                &answer,
            ),
            created_at: Utc::now(),
            // Outside WhatsApp's window the hand-off is kept for the person, never sent.
            delivery_status: Some(match reason {
                Some(EscalationReason::WindowClosed) => DeliveryStatus::Withheld,
                _ if held => DeliveryStatus::Held,
                _ => DeliveryStatus::Queued,
            }),
            provider_message_id: None,
            attachments: Vec::new(),
            has_original: false,
            person: None,
        };
        let assignee = match reason {
            Some(_) => self.available_operator(message).await,
            None => None,
        };
        let outcome = TicketOutcome {
            status,
            escalation_reason: reason,
            category: handled.category.category,
            sentiment: handled.sentiment,
            assignee: assignee.clone(),
            responded: reason.is_none() && !held,
        };
        let earlier: Vec<f64> = history
            .iter()
            .filter(|m| m.direction == Direction::Inbound && m.id != message.message_id)
            .map(|m| sentiment::score(&m.body))
            .collect();
        let sender = &message.sender;
        let code_sent = identity.as_ref().is_some_and(|i| i.code_sent.is_some());
        let usage = self.usage(message, &handled, &reply, code_sent, started.elapsed());
        let run = AgentRun {
            message_id: message.message_id.clone(),
            engine: ports.engine.name(),
            decision: serde_json::to_value(&handled.decision).unwrap_or_default(),
            steps: serde_json::to_value(&handled.steps).unwrap_or_default(),
            context: json!({
                "customer": { "id": message.customer_id, "name": sender.name, "email": sender.email, "phone": sender.phone, "proof": message.proof },
                "channel": message.channel,
                "message": turn.customer_text,
                "messages_answered": unanswered.messages.len().max(1),
                "attachments": unanswered.attachments(message),
                "category": handled.category.category,
                "priority": ticket.priority,
                "sentiment": handled.sentiment,
                "language": handled.language,
                "rail": handled.rail,
                "look_alike": handled.look_alike,
                "sentiment_trend": sentiment::trend(&earlier, handled.sentiment),
                "history": history_text(&turn.history),
                "told_customer": reply.body,
            }),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            usage,
        };
        let decisions = handled.decisions(message);
        let audit = turn_audit(message, &handled, &reply, held, answer_confidence, assignee.as_deref());
        let record = TurnRecord {
            reply,
            outcome,
            run,
            code_sent: identity.and_then(|i: IdentityTurn| i.code_sent),
            decisions,
            audit,
        };
        if let Decision::Escalate { reason, summary } = &handled.decision {
            // Before the turn is recorded: a crash after it repeats the notice on the
            // redelivery (at least once) rather than losing it.
            self.notify(message, NoticeKind::Escalated, Some(*reason), summary.clone(), assignee)
                .await?;
        }
        match ports.replies.record_reply(&record, Utc::now()).await? {
            ReplyRecorded::Recorded => {
                self.enqueue_reply(message, &record.reply).await?;
                if let Some(sent) = &record.code_sent {
                    enqueue(&self.ports.outbound.email, &sent.notice).await?;
                }
            }
            // A redelivery raced this one and recorded first: its reply is the one that counts.
            ReplyRecorded::AlreadyAnswered(existing) => return self.enqueue_again(message, &existing).await,
            ReplyRecorded::PersonHasIt => {
                tracing::info!(ticket_id = %ticket.id, "a person took the ticket meanwhile: the agent's reply is dropped");
                return Ok(());
            }
        }
        tracing::info!(ticket_id = %ticket.id, status = %status, category = %handled.category.category,
            sentiment = handled.sentiment, elapsed_ms = started.elapsed().as_millis() as u64,
            input_tokens = usage.input_tokens, output_tokens = usage.output_tokens,
            dynamodb_calls = usage.dynamodb_calls, sqs_calls = usage.sqs_calls, ses_calls = usage.ses_calls,
            gb_seconds = usage.gb_seconds, cost_usd = ports.prices.turn_cost(&usage), "message handled");
        Ok(())
    }

    /// What the turn used: the engine's tokens; the AWS calls the meter counted, and those
    /// known to follow (the record's one transaction, then the reply and a one-time code's
    /// email on their queues); the emails SES will send for it (the email sender's one
    /// SendEmail each); and the function's memory for the time the turn took so far.
    fn usage(
        &self,
        message: &QueuedMessage,
        handled: &Handled,
        reply: &ConversationMessage,
        code_sent: bool,
        elapsed: Duration,
    ) -> TurnUsage {
        let meter = &self.ports.meter;
        let counted = meter.calls();
        let reply_queued = reply.delivery_status == Some(DeliveryStatus::Queued);
        let reply_emailed = reply_queued && message.channel.replies_by_email();
        TurnUsage {
            input_tokens: handled.tokens.input_tokens,
            output_tokens: handled.tokens.output_tokens,
            dynamodb_calls: counted.dynamodb + 1,
            sqs_calls: counted.sqs + u32::from(reply_queued) + u32::from(code_sent),
            ses_calls: counted.ses + u32::from(reply_emailed) + u32::from(code_sent),
            gb_seconds: f64::from(meter.memory_mb()) / 1024.0 * elapsed.as_secs_f64(),
        }
    }

    /// An operator online to take an escalation; none (the team's queue) when nobody is,
    /// or when presence cannot be read (the escalation must not wait for it).
    async fn available_operator(&self, message: &QueuedMessage) -> Option<String> {
        match self.ports.team.presence.online(Utc::now() - PRESENCE_WINDOW).await {
            Ok(online) => pick_assignee(&online, &message.ticket.id),
            Err(e) => {
                tracing::warn!(error = %e, "operators' presence unavailable: the escalation goes to the team's queue");
                None
            }
        }
    }

    /// Tells the team (the topic's subscribers) about the ticket.
    async fn notify(
        &self,
        message: &QueuedMessage,
        kind: NoticeKind,
        reason: Option<EscalationReason>,
        summary: String,
        assignee: Option<String>,
    ) -> Result<(), ProcessingError> {
        let team = &self.ports.team;
        let notice = TeamNotice {
            kind,
            ticket_id: message.ticket.id.clone(),
            channel: message.channel,
            subject: message.ticket.subject.clone(),
            reason,
            summary,
            assignee,
            link: team.alert.link(&message.ticket.id),
        };
        team.alert.notify(&notice).await?;
        Ok(())
    }

    /// The customer's history, or only this ticket's thread for a message nobody proved
    /// (a follow-up by ticket id, an unauthenticated email): a ticket id travels in every
    /// reply's subject, so holding one proves nothing about the customer's other tickets.
    async fn history(&self, message: &QueuedMessage) -> Result<Vec<ConversationMessage>, ProcessingError> {
        let mut history = self
            .ports
            .history
            .customer_history(&message.customer_id, HISTORY_MESSAGES)
            .await?;
        if message.proof.is_none() {
            history.retain(|m| m.ticket_id == message.ticket.id);
        }
        Ok(history)
    }

    /// Whether this message's turn is already taken care of: answered (a redelivery: the
    /// reply is handed on again if it never left), or to be answered with a later message
    /// of the same conversation, already stored (a burst: one turn answers it all).
    async fn handled_elsewhere(
        &self,
        message: &QueuedMessage,
        history: &[ConversationMessage],
    ) -> Result<bool, ProcessingError> {
        let later = |direction| {
            history
                .iter()
                .find(|m| m.ticket_id == message.ticket.id && m.direction == direction && m.id > message.message_id)
        };
        if let Some(existing) = later(Direction::Outbound) {
            tracing::info!(ticket_id = %message.ticket.id, "duplicate delivery: already answered");
            self.enqueue_again(message, existing).await?;
            return Ok(true);
        }
        if let Some(next) = later(Direction::Inbound) {
            tracing::info!(ticket_id = %message.ticket.id, answered_with = %next.id, "a later message of the conversation will answer this one");
            return Ok(true);
        }
        Ok(false)
    }

    /// How much longer a fresh WhatsApp message waits for the rest of its burst.
    fn burst_wait(&self, message: &QueuedMessage) -> Option<Duration> {
        if message.channel != Channel::Whatsapp {
            return None;
        }
        let settled = message.received_at + chrono::Duration::from_std(self.ports.burst_settle).ok()?;
        (settled - Utc::now()).to_std().ok().filter(|w| !w.is_zero())
    }

    /// The rules before the engine (keywords, VADER and the semantic rails, on the customer's
    /// own words), the engine's tool loop, and the checks after it.
    async fn decide(&self, message: &QueuedMessage, turn: &Turn) -> Handled {
        let own_words = &turn.customer_text;
        let sentiment = sentiment::score(own_words);
        let language = Language::of(own_words);
        let canned = |text: &str| {
            let decision = Decision::Respond {
                text: text.to_owned(),
                sources: Vec::new(),
            };
            (decision, Vec::new())
        };
        let escalate = |reason, summary: String| (Decision::Escalate { reason, summary }, Vec::new());
        let knowledge = match self.ports.knowledge.current().await {
            Ok(knowledge) => knowledge,
            Err(e) => {
                tracing::error!(error = %e, "knowledge base unavailable: escalating");
                let (decision, steps) = escalate(EscalationReason::Other, format!("The knowledge base failed: {e}"));
                return Handled {
                    decision,
                    steps,
                    sentiment,
                    category: chosen(message.ticket.category),
                    language,
                    rail: None,
                    look_alike: false,
                    tokens: TokenUsage::default(),
                };
            }
        };
        let (rail, look_alike) = self.rail(own_words);
        let mut tokens = TokenUsage::default();
        let keyword = before_model(own_words, message.channel, sentiment, look_alike);
        let (decision, steps) = match (keyword, &rail) {
            (BeforeModel::Escalate { reason, .. }, Some(rail)) if rail.reason.precedence() < reason.precedence() => {
                escalate(rail.reason, rail_summary(rail))
            }
            (BeforeModel::Escalate { reason, why }, _) => escalate(reason, format!("Escalated by rule: {why}.")),
            (BeforeModel::AskWhatTheyNeed, _) => canned(format::ask_what_they_need()),
            (_, Some(rail)) => escalate(rail.reason, rail_summary(rail)),
            (_, None) if !self.ports.engine.answers_in(language) => escalate(
                EscalationReason::Other,
                format!(
                    "Written in {language}: the {} engine answers in English only.",
                    self.ports.engine.name()
                ),
            ),
            (BeforeModel::Decline, None) => canned(format::decline_request()),
            (BeforeModel::DescribeTandemOnly, None) => canned(format::describe_tandem()),
            (BeforeModel::Answer, None) => self.answer(message, turn, &knowledge, &mut tokens).await,
        };
        let category = match &decision {
            // The customer chose it on the form.
            _ if message.channel == Channel::WebForm => chosen(message.ticket.category),
            Decision::Escalate {
                reason: EscalationReason::Refund | EscalationReason::Pricing,
                ..
            } => Classified {
                category: Category::Billing,
                confidence: RULE_CONFIDENCE,
            },
            Decision::Respond { sources, .. } if sources.is_empty() => Classified {
                category: Category::General,
                confidence: RULE_CONFIDENCE,
            },
            Decision::Respond { sources, .. } => classify(
                own_words,
                sentiment,
                sources
                    .first()
                    .and_then(|a| knowledge.article_category(a))
                    .map(|c| (c, cited_relevance(&decision, &steps))),
            ),
            Decision::Escalate { .. } => classify(own_words, sentiment, None),
        };
        Handled {
            decision,
            steps,
            sentiment,
            category,
            language,
            rail,
            look_alike,
            tokens,
        }
    }

    /// The semantic rail the customer's words match, if any, and whether they only look
    /// like an escalation. An embedding failure leaves the keyword rules to decide alone
    /// (logged): they still catch the exact terms.
    fn rail(&self, own_words: &str) -> (Option<RailMatch>, bool) {
        let units = judged_units(own_words);
        let texts: Vec<&str> = units.iter().map(String::as_str).collect();
        match self.ports.knowledge.embedder().embed(&texts) {
            Ok(vectors) => {
                let whole = vectors.last().expect("the whole message is judged");
                let rails = &self.ports.rails;
                (rails.judge(&units, &vectors), rails.is_look_alike(whole))
            }
            Err(e) => {
                tracing::error!(error = %e, "semantic rails unavailable: keyword rules only");
                (None, false)
            }
        }
    }

    /// The engine's tool loop and the checks on what it drafted.
    async fn answer(
        &self,
        message: &QueuedMessage,
        turn: &Turn,
        knowledge: &KnowledgeBase,
        tokens: &mut TokenUsage,
    ) -> (Decision, Vec<Step>) {
        let context = tool_loop::Context {
            ticket: &message.ticket,
            turn,
            knowledge,
        };
        match tool_loop::run(self.ports.engine.as_ref(), &context, tokens).await {
            Ok((Decision::Respond { text, sources }, steps)) => match after_model(&text) {
                Some(checked) => (Decision::Respond { text: checked, sources }, steps),
                None => {
                    let summary = "The drafted answer failed the checks (competitors, prices, promises).";
                    let decision = Decision::Escalate {
                        reason: EscalationReason::Other,
                        summary: summary.into(),
                    };
                    (decision, steps)
                }
            },
            Ok(escalated) => escalated,
            // The customer gets an apology and a person gets the ticket: never lost.
            Err(e) => {
                tracing::error!(error = %e, "engine failed: escalating");
                let decision = Decision::Escalate {
                    reason: EscalationReason::Other,
                    summary: format!("The engine failed: {e}"),
                };
                (decision, Vec::new())
            }
        }
    }

    /// A reply recorded earlier is handed on again only if it never left, with the email of
    /// its turn's one-time code if that never left either; the senders' claims make sure
    /// each is delivered once.
    async fn enqueue_again(
        &self,
        message: &QueuedMessage,
        existing: &ConversationMessage,
    ) -> Result<(), ProcessingError> {
        if existing.delivery_status == Some(DeliveryStatus::Queued) {
            self.enqueue_reply(message, existing).await?;
        }
        let code_email = identity::code_email_id(&existing.id);
        if let Some(notice) = self
            .ports
            .verifications
            .queued_notice(&existing.ticket_id, &code_email)
            .await?
        {
            enqueue(&self.ports.outbound.email, &notice).await?;
        }
        Ok(())
    }

    async fn enqueue_reply(&self, message: &QueuedMessage, reply: &ConversationMessage) -> Result<(), ProcessingError> {
        if reply.delivery_status != Some(DeliveryStatus::Queued) {
            return Ok(());
        }
        let sender = &message.sender;
        let (queue, recipient) = self
            .ports
            .outbound
            .route(message.channel, sender)
            .map_err(|e| ProcessingError::Permanent(e.into()))?;
        let (in_reply_to, references) = message.email.as_ref().map(EmailThread::reply).unwrap_or_default();
        let outbound = OutboundReply {
            ticket_id: message.ticket.id.clone(),
            message_id: reply.id.clone(),
            channel: message.channel,
            recipient,
            recipient_name: sender.name.clone(),
            subject: reply_subject(&message.ticket.subject, &message.ticket.id),
            body: reply.body.clone(),
            correlation_id: message.correlation_id.clone(),
            confirm_token: message.confirm_token.clone(),
            in_reply_to,
            references,
        };
        Ok(enqueue(queue, &outbound).await?)
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::domain::{IdentityProof, InboundMessage, Sender, TicketId};
    use crate::intake::Intake;
    use crate::ports::customers::memory::MemoryCustomers;
    use crate::ports::customers::IdentityLinks;
    use crate::ports::embedder::hashing::HashingEmbedder;
    use crate::ports::engine::offline::OfflineEngine;
    use crate::ports::engine::tools::ToolCall;
    use crate::ports::engine::{EngineError, EngineReply, Round};
    use crate::ports::queue::memory::MemoryQueue;
    use crate::ports::team::memory::MemoryTeam;
    use crate::ports::tickets::memory::MemoryTickets;
    use crate::ports::tickets::TicketReader;
    use crate::ports::usage::memory::FixedMeter;
    use crate::ports::usage::AwsCalls;

    struct Unavailable;

    #[async_trait]
    impl Engine for Unavailable {
        fn name(&self) -> String {
            "unavailable".into()
        }

        fn answers_in(&self, _: Language) -> bool {
            true
        }

        async fn next(&self, _: &Turn, _: &[Round]) -> Result<EngineReply, EngineError> {
            Err(EngineError::Timeout("no answer within 20 s".into()))
        }
    }

    struct World {
        tickets: Arc<MemoryTickets>,
        inbound: Arc<MemoryQueue>,
        outbound: Arc<MemoryQueue>,
        whatsapp: Arc<MemoryQueue>,
        customers: Arc<MemoryCustomers>,
        team: Arc<MemoryTeam>,
        intake: Intake,
        agent: Agent,
    }

    fn world(engine: Arc<dyn Engine>) -> World {
        world_with(engine, AutonomyPolicy::bundled())
    }

    fn world_with(engine: Arc<dyn Engine>, autonomy: AutonomyPolicy) -> World {
        world_over(Arc::new(MemoryTickets::default()), engine, autonomy)
    }

    fn world_over(tickets: Arc<MemoryTickets>, engine: Arc<dyn Engine>, autonomy: AutonomyPolicy) -> World {
        let inbound = Arc::new(MemoryQueue::default());
        let outbound = Arc::new(MemoryQueue::default());
        let customers = Arc::new(MemoryCustomers::default());
        let whatsapp = Arc::new(MemoryQueue::default());
        let team = Arc::new(MemoryTeam::default());
        World {
            intake: Intake::new(customers.clone(), tickets.clone(), inbound.clone()),
            agent: Agent::new(AgentPorts {
                history: tickets.clone(),
                replies: tickets.clone(),
                outbound: Outbound {
                    email: outbound.clone(),
                    whatsapp: Some(whatsapp.clone()),
                },
                engine,
                knowledge: Arc::new(Knowledge::articles_only(Arc::new(HashingEmbedder))),
                rails: Arc::new(SemanticRails::new(never_escalates())),
                identities: customers.clone(),
                verifications: tickets.clone(),
                burst_settle: Duration::ZERO,
                autonomy: Arc::new(autonomy),
                team: Team {
                    presence: team.clone(),
                    alert: TeamAlert {
                        notifier: team.clone(),
                        console_url: "https://console.example/console/".into(),
                    },
                },
                meter: Arc::new(METER),
                prices: PriceTable::bundled().clone(),
            }),
            team,
            tickets,
            inbound,
            outbound,
            whatsapp,
            customers,
        }
    }

    fn message(id: &str, name: &str, body: &str) -> InboundMessage {
        InboundMessage {
            channel: Channel::Email,
            channel_message_id: id.into(),
            sender: Sender {
                name: Some(name.into()),
                email: Some("ada@example.com".parse().unwrap()),
                phone: None,
            },
            subject: Some("Help".into()),
            body: body.into(),
            received_at: Utc::now(),
            correlation_id: id.into(),
            category: None,
            priority: None,
            proof: Some(IdentityProof::MailboxAuthentication),
            attachments: Vec::new(),
            email: None,
            original: None,
            follows_ticket: None,
        }
    }

    /// Rails that never fire: these tests are about the pipeline, not about intents.
    fn never_escalates() -> rails::IntentModel {
        rails::IntentModel::new(vec![None], vec![vec![0.0; 256]], vec![0.0]).unwrap()
    }

    /// Runs the intake, then the agent on what the intake queued.
    async fn deliver(world: &World, inbound: InboundMessage) -> TicketId {
        let accepted = world.intake.accept(inbound).await.unwrap();
        let queued = world.inbound.sent.lock().unwrap().last().cloned().unwrap();
        let queued: QueuedMessage = serde_json::from_str(&queued.body).unwrap();
        world.agent.handle(&queued).await.unwrap();
        accepted.ticket_id
    }

    #[tokio::test]
    async fn when_the_engine_fails_the_customer_gets_an_apology_and_a_person_the_ticket() {
        let world = world(Arc::new(Unavailable));
        let ticket_id = deliver(&world, message("m-1", "Ada Byron", "How do I export a board to CSV?")).await;
        let (ticket, messages) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(ticket.status, TicketStatus::Escalated);
        assert_eq!(ticket.escalation_reason, Some(EscalationReason::Other));
        assert!(messages[1].body.contains("I'm sorry"), "{}", messages[1].body);
        assert_eq!(world.outbound.sent.lock().unwrap().len(), 1, "the apology is sent");
        let run = &world.tickets.runs()[0];
        assert!(run.decision["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within 20 s"));
    }

    #[tokio::test]
    async fn an_escalation_tells_the_team_and_goes_to_an_operator_online() {
        let world = world(Arc::new(Unavailable));
        world.team.seen("alice", Utc::now()).await.unwrap();
        world
            .team
            .seen("gone", Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap();
        let ticket_id = deliver(&world, message("m-n1", "Ada Byron", "How do I export a board to CSV?")).await;
        let notices = world.team.notices();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NoticeKind::Escalated);
        assert_eq!(notices[0].assignee.as_deref(), Some("alice"));
        assert_eq!(
            notices[0].link,
            format!("https://console.example/console/#/tickets/{ticket_id}")
        );
        assert!(notices[0].text().contains("no answer within 20 s"));
        let (ticket, _) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(ticket.assignee.as_deref(), Some("alice"));
        let audit: Vec<_> = world.tickets.audit().iter().map(|a| a.action).collect();
        assert_eq!(
            audit,
            [AuditAction::Received, AuditAction::Escalated, AuditAction::Assigned]
        );
    }

    #[tokio::test]
    async fn the_customer_writing_to_an_escalated_ticket_tells_its_assignee_and_the_agent_stays_silent() {
        let world = world(Arc::new(Unavailable));
        world.team.seen("alice", Utc::now()).await.unwrap();
        let ticket_id = deliver(&world, message("m-s1", "Ada Byron", "How do I export a board to CSV?")).await;
        let mut follow_up = message("m-s2", "Ada Byron", "Any news?");
        follow_up.follows_ticket = Some(ticket_id.clone());
        deliver(&world, follow_up).await;
        let (_, messages) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages.len(), 3, "the follow-up is kept, not answered");
        let notices = world.team.notices();
        assert_eq!(notices.last().unwrap().kind, NoticeKind::CustomerWrote);
        assert_eq!(notices.last().unwrap().assignee.as_deref(), Some("alice"));
    }

    #[tokio::test]
    async fn in_review_mode_the_answer_waits_for_a_person() {
        let review = AutonomyPolicy::parse(r#"{"default": {"mode": "review"}}"#).unwrap();
        let world = world_with(Arc::new(OfflineEngine), review);
        let ticket_id = deliver(&world, message("m-r1", "Ada Byron", "How do I reset my password?")).await;
        let (ticket, messages) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages[1].delivery_status, Some(DeliveryStatus::Held));
        assert_eq!(ticket.status, TicketStatus::Open);
        assert_eq!(ticket.first_response_at, None, "a held draft is no response yet");
        assert!(world.outbound.sent.lock().unwrap().is_empty(), "nothing sent");
        let kinds: Vec<_> = world.tickets.decisions().iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [
                DecisionKind::Category,
                DecisionKind::Strategy,
                DecisionKind::Escalation,
                DecisionKind::Draft
            ]
        );
        let draft = world.tickets.decisions().pop().unwrap();
        assert!(
            draft.confidence > 0.0 && draft.confidence <= 1.0,
            "{}",
            draft.confidence
        );
    }

    #[tokio::test]
    async fn supervised_mode_sends_at_or_above_its_threshold_and_holds_below() {
        let supervised = |threshold: f64| {
            AutonomyPolicy::parse(&format!(
                r#"{{"default": {{"mode": "supervised", "threshold": {threshold}}}}}"#
            ))
            .unwrap()
        };
        let sure = world_with(Arc::new(OfflineEngine), supervised(0.0));
        let ticket_id = deliver(&sure, message("m-v1", "Ada Byron", "How do I reset my password?")).await;
        let (_, messages) = sure.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages[1].delivery_status, Some(DeliveryStatus::Queued));
        let confidence = sure.tickets.decisions().pop().unwrap().confidence;

        let strict = world_with(Arc::new(OfflineEngine), supervised((confidence + 0.01).min(1.0)));
        let ticket_id = deliver(&strict, message("m-v2", "Ada Byron", "How do I reset my password?")).await;
        let (_, messages) = strict.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages[1].delivery_status, Some(DeliveryStatus::Held));

        let exact = world_with(Arc::new(OfflineEngine), supervised(confidence));
        let ticket_id = deliver(&exact, message("m-v3", "Ada Byron", "How do I reset my password?")).await;
        let (_, messages) = exact.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(
            messages[1].delivery_status,
            Some(DeliveryStatus::Queued),
            "at the threshold it is sent"
        );
    }

    #[tokio::test]
    async fn hand_offs_are_never_held_even_in_review_mode() {
        let review = AutonomyPolicy::parse(r#"{"default": {"mode": "review"}}"#).unwrap();
        let world = world_with(Arc::new(Unavailable), review);
        let ticket_id = deliver(&world, message("m-h1", "Ada Byron", "How do I export a board to CSV?")).await;
        let (_, messages) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages[1].delivery_status, Some(DeliveryStatus::Queued));
        assert_eq!(world.outbound.sent.lock().unwrap().len(), 1);
    }

    /// An engine that answers at once, while a person takes the ticket as it thinks.
    struct OvertakenByAPerson(Arc<MemoryTickets>, std::sync::Mutex<Option<TicketId>>);

    #[async_trait]
    impl Engine for OvertakenByAPerson {
        fn name(&self) -> String {
            "overtaken".into()
        }

        fn answers_in(&self, _: Language) -> bool {
            true
        }

        async fn next(&self, _: &Turn, _: &[Round]) -> Result<EngineReply, EngineError> {
            if let Some(ticket) = self.1.lock().unwrap().take() {
                self.0.person_takes(&ticket);
            }
            Ok(EngineReply {
                text: None,
                tool_requests: vec![crate::ports::engine::ToolRequest {
                    id: "t1".into(),
                    name: "send_response".into(),
                    input: serde_json::json!({"message": "Use Export in the board menu."}),
                }],
                usage: TokenUsage::default(),
            })
        }
    }

    #[tokio::test]
    async fn the_agents_reply_does_not_go_out_when_a_person_took_the_ticket_while_it_worked() {
        let tickets = Arc::new(MemoryTickets::default());
        let engine = Arc::new(OvertakenByAPerson(tickets.clone(), Default::default()));
        let world = world_over(tickets.clone(), engine.clone(), AutonomyPolicy::bundled());
        let accepted = world
            .intake
            .accept(message("m-o1", "Ada Byron", "How do I export a board to CSV?"))
            .await
            .unwrap();
        *engine.1.lock().unwrap() = Some(accepted.ticket_id.clone());
        let queued = world.inbound.sent.lock().unwrap().last().cloned().unwrap();
        world
            .agent
            .handle(&serde_json::from_str(&queued.body).unwrap())
            .await
            .unwrap();
        let (ticket, messages) = tickets.ticket_thread(&accepted.ticket_id).await.unwrap().unwrap();
        assert_eq!(messages.len(), 1, "the agent's reply was not recorded");
        assert_eq!(ticket.handled_by, Handler::Person);
        assert!(
            world.outbound.sent.lock().unwrap().is_empty(),
            "nothing sent over the person"
        );
    }

    /// What the meter of the test world reads: the calls a turn made before its record.
    const METER: FixedMeter = FixedMeter {
        calls: AwsCalls {
            dynamodb: 2,
            sqs: 0,
            ses: 0,
        },
        memory_mb: 1024,
    };

    /// A model that searches, then answers, and says what each round took.
    struct Metered;

    #[async_trait]
    impl Engine for Metered {
        fn name(&self) -> String {
            "metered".into()
        }

        fn answers_in(&self, _: Language) -> bool {
            true
        }

        async fn next(&self, _: &Turn, rounds: &[Round]) -> Result<EngineReply, EngineError> {
            let call = match rounds.len() {
                0 => ToolCall::SearchKnowledgeBase {
                    query: "reset password".into(),
                },
                _ => ToolCall::SendResponse {
                    message: "Choose Forgot password on the sign-in page.".into(),
                },
            };
            Ok(EngineReply {
                text: None,
                tool_requests: vec![call.into_request(format!("t{}", rounds.len()))],
                usage: TokenUsage {
                    input_tokens: 1_500 + 300 * rounds.len() as u64,
                    output_tokens: 40,
                },
            })
        }
    }

    #[tokio::test]
    async fn a_turn_records_its_tokens_its_aws_calls_and_its_lambda_time() {
        let world = world(Arc::new(Metered));
        deliver(&world, message("m-u1", "Ada Byron", "How do I reset my password?")).await;
        let usage = world.tickets.runs()[0].usage;
        assert_eq!(
            (usage.input_tokens, usage.output_tokens),
            (1_500 + 1_800, 80),
            "both rounds"
        );
        assert_eq!(usage.dynamodb_calls, 2 + 1, "counted, and the record's transaction");
        assert_eq!(usage.sqs_calls, 1, "the reply queued");
        assert_eq!(usage.ses_calls, 1, "the reply emailed");
        assert!(
            usage.gb_seconds > 0.0 && usage.gb_seconds < 10.0,
            "{}",
            usage.gb_seconds
        );
    }

    #[tokio::test]
    async fn the_offline_engine_uses_no_tokens_and_a_held_draft_sends_nothing() {
        let review = AutonomyPolicy::parse(r#"{"default": {"mode": "review"}}"#).unwrap();
        let world = world_with(Arc::new(OfflineEngine), review);
        deliver(&world, message("m-u2", "Ada Byron", "How do I reset my password?")).await;
        let usage = world.tickets.runs()[0].usage;
        assert_eq!((usage.input_tokens, usage.output_tokens), (0, 0));
        assert_eq!(
            (usage.sqs_calls, usage.ses_calls),
            (0, 0),
            "held: neither queued nor emailed"
        );
    }

    #[tokio::test]
    async fn a_redelivered_message_is_answered_once() {
        let world = world(Arc::new(OfflineEngine));
        let ticket_id = deliver(&world, message("m-2", "Ada Byron", "How do I reset my password?")).await;
        let queued = world.inbound.sent.lock().unwrap()[0].clone();
        world
            .agent
            .handle(&serde_json::from_str(&queued.body).unwrap())
            .await
            .unwrap();
        let (_, messages) = world.tickets.ticket_thread(&ticket_id).await.unwrap().unwrap();
        assert_eq!(messages.len(), 2, "one inbound, one reply");
        // The reply never left (still queued), so the redelivery hands it on again; the
        // sender's claim makes sure it is emailed once.
        assert_eq!(world.outbound.sent.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn the_greeting_uses_the_name_given_with_this_message() {
        let world = world(Arc::new(OfflineEngine));
        deliver(
            &world,
            message("m-3", "URGENT call +1-555-0100 now", "How do I reset my password?"),
        )
        .await;
        deliver(&world, message("m-4", "Ada Byron", "How do I export a board to CSV?")).await;
        let sent = world.outbound.sent.lock().unwrap();
        let last: OutboundReply = serde_json::from_str(&sent.last().unwrap().body).unwrap();
        assert!(last.body.starts_with("Hi Ada,"), "{}", last.body);
        assert_eq!(last.recipient_name.as_deref(), Some("Ada Byron"));
    }

    fn on_whatsapp(id: &str, body: &str) -> InboundMessage {
        InboundMessage {
            channel: Channel::Whatsapp,
            sender: Sender {
                name: Some("Ana".into()),
                email: None,
                phone: Some("+5511987654321".into()),
            },
            subject: None,
            proof: Some(IdentityProof::TwilioSender),
            ..message(id, "Ana", body)
        }
    }

    fn last_whatsapp_reply(world: &World) -> String {
        let sent = world.whatsapp.sent.lock().unwrap();
        let reply: OutboundReply = serde_json::from_str(&sent.last().unwrap().body).unwrap();
        reply.body
    }

    #[tokio::test]
    async fn a_code_dies_after_too_many_wrong_tries_and_then_links_nothing() {
        let world = world(Arc::new(OfflineEngine));
        deliver(&world, on_whatsapp("wa-1", "my email is bob@stone.example")).await;
        assert!(last_whatsapp_reply(&world).contains("6-digit code"));
        let email: OutboundReply = serde_json::from_str(&world.outbound.sent.lock().unwrap()[0].body).unwrap();
        assert_eq!(email.recipient, "bob@stone.example");
        let code = regex::Regex::new(r"(?m)^(\d{6})$")
            .unwrap()
            .captures(&email.body)
            .unwrap()[1]
            .to_owned();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for attempt in 1..=MAX_ATTEMPTS {
            deliver(&world, on_whatsapp(&format!("wrong-{attempt}"), wrong)).await;
        }
        assert!(
            last_whatsapp_reply(&world).contains("can't be used any more"),
            "{}",
            last_whatsapp_reply(&world)
        );
        deliver(&world, on_whatsapp("right", &code)).await;
        assert!(last_whatsapp_reply(&world).contains("can't be used any more"));
        let bob = world
            .customers
            .owner_of_email(&"bob@stone.example".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(bob, None, "nothing linked");
    }
}
