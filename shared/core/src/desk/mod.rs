//! The operator's desk: what a person does with tickets (docs/operator-api.md). The
//! console and the operator's AI assistant both come through here, so the same rules hold
//! for both: a person's reply goes out on the customer's channel, formatted for it, and
//! from then on the agent stays silent on the ticket until a person hands it back.

pub mod view;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::agent::format::{format_reply, reply_subject, whatsapp_messages};
use crate::delivery::{enqueue, Outbound};
use crate::domain::text::{at_most, is_blank};
use crate::domain::{
    Channel, ConversationMessage, CustomerId, DeliveryStatus, Direction, EscalationReason, Handler, Language,
    MessageId, OutboundReply, Ticket, TicketId, TicketStatus,
};
use crate::email::own_words;
use crate::knowledge::Knowledge;
use crate::ports::queue::MessageQueue;
use crate::ports::team::{NoticeKind, Presence, TeamAlert, TeamNotice};
use crate::ports::tickets::{
    Applied, Desk, DeskRecord, DraftRelease, HistoryReader, Proposal, ProposalDecision, ProposalStatus, TicketChange,
    TicketRecords,
};
use crate::ports::InfraError;
use crate::records::{agreement, Actor, Agreement, AuditAction, AuditEntry, DecisionKind, Verdict, VerdictOutcome};
use crate::sla::SlaState;
use crate::telemetry;
use view::{DecisionView, DraftView, EscalationView, MessageEntry, Preview, QueueView, TicketDetail, TicketSummary};

/// The longest reply a person may send (the form's limit for a message, and far more than a
/// channel's own): the channel's formatting cuts it further.
pub const MAX_REPLY_CHARS: usize = 10_000;
/// How many of the customer's messages the ticket view shows.
const CONVERSATION_MESSAGES: usize = 200;
/// How far back the agreement rate looks.
pub const AGREEMENT_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{0}")]
    NotFound(&'static str),
    /// The ticket is not in a state that allows it, or changed since the person looked.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Which tickets the queue shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueFilter {
    pub status: Option<TicketStatus>,
    pub channel: Option<Channel>,
    pub reason: Option<EscalationReason>,
    pub sla: Option<SlaState>,
    pub older_than_minutes: Option<i64>,
    pub limit: usize,
}

pub struct DeskPorts {
    pub store: Arc<dyn Desk>,
    /// The agent's knowledge base (articles and approved learned answers), for a person's search.
    pub knowledge: Arc<Knowledge>,
    pub history: Arc<dyn HistoryReader>,
    pub outbound: Outbound,
    pub presence: Arc<dyn Presence>,
    pub alert: TeamAlert,
}

pub struct OperatorDesk {
    ports: DeskPorts,
}

/// A person's reply, as the API answers it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ReplyQueued {
    pub message_id: MessageId,
    pub status: DeliveryStatus,
}

/// One knowledge-base passage found for a person's search.
#[derive(Debug, Clone, Serialize)]
pub struct KnowledgeHit {
    pub article: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    pub score: f32,
    pub answers: bool,
}

/// The reviews waiting for a person.
#[derive(Debug, Clone, Serialize)]
pub struct Reviews {
    pub drafts: Vec<DraftView>,
    pub proposals: Vec<Proposal>,
}

impl OperatorDesk {
    pub fn new(ports: DeskPorts) -> Self {
        Self { ports }
    }

    /// The operator is at the console: escalations may be assigned to them.
    pub async fn seen(&self, operator: &str, now: DateTime<Utc>) -> Result<(), DeskError> {
        Ok(self.ports.presence.seen(operator, now).await?)
    }

    pub async fn queue(&self, filter: &QueueFilter, now: DateTime<Utc>) -> Result<QueueView, DeskError> {
        let statuses = match filter.status {
            Some(status) => vec![status],
            None => vec![TicketStatus::Escalated, TicketStatus::Open, TicketStatus::Answered],
        };
        // Filters after the read: read enough that a narrow filter still fills the page.
        let tickets = self.ports.store.queue(&statuses, filter.limit.max(1) * 4).await?;
        let mut tickets: Vec<TicketSummary> = tickets
            .iter()
            .map(|t| TicketSummary::of(t, now))
            .filter(|t| filter.channel.is_none_or(|c| t.channel == c))
            .filter(|t| filter.reason.is_none_or(|r| t.escalation_reason == Some(r)))
            .filter(|t| filter.sla.is_none_or(|s| t.sla.state == s))
            .filter(|t| filter.older_than_minutes.is_none_or(|m| t.age_minutes >= m))
            .collect();
        let sla_counts = tickets.iter().map(|t| t.sla.state).collect();
        tickets.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        tickets.truncate(filter.limit.max(1));
        Ok(QueueView { tickets, sla_counts })
    }

    pub async fn ticket(&self, id: &TicketId, now: DateTime<Utc>) -> Result<TicketDetail, DeskError> {
        let records = self.records(id).await?;
        let ticket = &records.ticket;
        let mut messages = self
            .ports
            .history
            .customer_history(&ticket.customer_id, CONVERSATION_MESSAGES)
            .await?;
        // The ticket's own thread is read consistently: the index may lag it.
        messages.retain(|m| m.ticket_id != ticket.id);
        messages.extend(records.messages.iter().cloned());
        messages.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let escalation = ticket.escalation_reason.map(|reason| {
            let run = records
                .runs
                .iter()
                .rev()
                .find(|r| r.decision.get("action").and_then(|a| a.as_str()) == Some("escalate"));
            EscalationView {
                reason,
                note: ticket.escalation_note.clone(),
                summary: run.and_then(|r| r.decision["summary"].as_str().map(str::to_owned)),
                context: run.map(|r| r.context.clone()).unwrap_or_default(),
            }
        });
        Ok(TicketDetail {
            ticket: TicketSummary::of(ticket, now),
            escalation,
            messages: messages.iter().map(MessageEntry::of).collect(),
            decisions: records.decisions.iter().map(DecisionView::of).collect(),
            audit: records.audit.clone(),
        })
    }

    /// How `body` will look on the ticket's channel.
    pub async fn preview(&self, id: &TicketId, body: &str) -> Result<Preview, DeskError> {
        // Asked as the person types: the ticket alone, not its records.
        let ticket = self.ticket_now(id).await?;
        let body = checked_body(body)?;
        Ok(preview(&ticket, &formatted(&ticket, &body)))
    }

    /// A person's reply: formatted and sent on the customer's channel. The person takes
    /// the ticket: the agent's replies not yet sent never will be.
    pub async fn reply(
        &self,
        operator: &str,
        id: &TicketId,
        body: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ReplyQueued, DeskError> {
        if let Some(queued) = self.replayed_reply(id, "reply", key).await? {
            return Ok(queued);
        }
        let body = checked_body(body)?;
        let records = self.records(id).await?;
        let ticket = &records.ticket;
        if ticket.status == TicketStatus::Resolved {
            return Err(DeskError::Conflict(
                "the ticket is resolved: the customer's next message reopens it".into(),
            ));
        }
        let message = ConversationMessage {
            id: MessageId::by_person(now.timestamp_millis(), key),
            ticket_id: ticket.id.clone(),
            customer_id: ticket.customer_id.clone(),
            direction: Direction::Outbound,
            channel: ticket.channel,
            body: formatted(ticket, &body),
            created_at: now,
            delivery_status: Some(DeliveryStatus::Queued),
            provider_message_id: None,
            attachments: Vec::new(),
            has_original: false,
            person: Some(operator.to_owned()),
        };
        let (queue, outbound) = self.outbound(ticket, &message)?;
        let unsent = unsent_agent_replies(&records);
        let actor = Actor::Operator(operator.to_owned());
        let mut audit = vec![
            AuditEntry::new(&ticket.id, now, actor.clone(), AuditAction::PersonReplied)
                .about(&message.id)
                .detail(at_most(&body, 200, "…")),
        ];
        audit.extend(unsent.iter().map(|m| {
            AuditEntry::new(&ticket.id, now, actor.clone(), AuditAction::ReplyWithheld)
                .about(m)
                .why("a person replied instead")
        }));
        let mut verdicts = escalation_verdict(&records, operator, VerdictOutcome::Approved, now);
        verdicts.extend(drafts_judged(
            &records,
            &unsent,
            operator,
            VerdictOutcome::Rejected,
            now,
        ));
        let answer = ReplyQueued {
            message_id: message.id.clone(),
            status: DeliveryStatus::Queued,
        };
        let record = DeskRecord {
            ticket: ticket.id.clone(),
            seen: (ticket.status, ticket.handled_by),
            change: TicketChange {
                status: Some(TicketStatus::Answered),
                handled_by: Some(Handler::Person),
                assignee: ticket.assignee.is_none().then(|| Some(operator.to_owned())),
                first_response_at: ticket.first_response_at.is_none().then_some(now),
                ..TicketChange::default()
            },
            reply: Some(message),
            release: None,
            withhold: unsent,
            verdicts,
            proposal: None,
            audit,
            request: Some((request_key(key, "reply"), to_json(&answer))),
            now,
        };
        self.send(&record, queue, &outbound, answer).await
    }

    /// The agent answers the ticket's next message again.
    pub async fn hand_back(
        &self,
        operator: &str,
        id: &TicketId,
        note: Option<&str>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketSummary, DeskError> {
        if let Some(summary) = self.replayed(id, AuditAction::HandedBack, key, now).await? {
            return Ok(summary);
        }
        let records = self.records(id).await?;
        let ticket = &records.ticket;
        let person_replied = records.messages.iter().any(|m| m.person.is_some());
        // Handed back without a word from a person: the escalation was not needed.
        let verdicts = match (ticket.status, person_replied) {
            (TicketStatus::Escalated, false) => escalation_verdict(&records, operator, VerdictOutcome::Rejected, now),
            _ => Vec::new(),
        };
        let status = match ticket.status {
            TicketStatus::Escalated if person_replied => TicketStatus::Answered,
            TicketStatus::Escalated => TicketStatus::Open,
            other => other,
        };
        let entry = AuditEntry::new(
            &ticket.id,
            now,
            Actor::Operator(operator.to_owned()),
            AuditAction::HandedBack,
        );
        let change = TicketChange {
            status: Some(status),
            handled_by: Some(Handler::Agent),
            assignee: Some(None),
            ..TicketChange::default()
        };
        self.act(&records, change, verdicts, with_note(entry, note), None, key, now)
            .await
    }

    /// Resolves the ticket; with notes, proposes a knowledge-base answer learned from it.
    #[allow(clippy::too_many_arguments)]
    pub async fn resolve(
        &self,
        operator: &str,
        id: &TicketId,
        notes: Option<&str>,
        question: Option<&str>,
        answer: Option<&str>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(TicketSummary, Option<Proposal>), DeskError> {
        if let Some(replayed) = self
            .ports
            .store
            .replayed(&request_key(key, AuditAction::Resolved.as_str()))
            .await?
        {
            let summary = TicketSummary::of(&self.ticket_now(id).await?, now);
            return Ok((summary, parse_replay(&replayed)?));
        }
        let records = self.records(id).await?;
        let ticket = &records.ticket;
        if ticket.status == TicketStatus::Resolved {
            return Err(DeskError::Conflict("the ticket is already resolved".into()));
        }
        let notes = notes.map(str::trim).filter(|n| !n.is_empty());
        let proposal = notes.map(|notes| Proposal {
            id: format!(
                "lrn_{}",
                &TicketId::derived_from(&format!("{}#{key}", ticket.id)).as_str()[4..]
            ),
            question: match question.map(str::trim).filter(|q| !q.is_empty()) {
                Some(question) => question.to_owned(),
                None => first_question(&records),
            },
            answer: answer
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or(notes)
                .to_owned(),
            category: Some(ticket.category),
            source_ticket: ticket.id.clone(),
            status: ProposalStatus::Pending,
            created_at: now,
        });
        let verdicts = match ticket.status {
            TicketStatus::Escalated => escalation_verdict(&records, operator, VerdictOutcome::Approved, now),
            _ => Vec::new(),
        };
        let entry = AuditEntry::new(
            &ticket.id,
            now,
            Actor::Operator(operator.to_owned()),
            AuditAction::Resolved,
        );
        let change = TicketChange {
            status: Some(TicketStatus::Resolved),
            handled_by: Some(Handler::Agent),
            resolved_at: Some(Some(now)),
            ..TicketChange::default()
        };
        let summary = self
            .act(
                &records,
                change,
                verdicts,
                with_note(entry, notes),
                proposal.clone(),
                key,
                now,
            )
            .await?;
        Ok((summary, proposal))
    }

    /// A person hands the ticket to the team (from the console or their assistant).
    pub async fn escalate(
        &self,
        operator: &str,
        id: &TicketId,
        reason: EscalationReason,
        note: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketSummary, DeskError> {
        if let Some(summary) = self.replayed(id, AuditAction::PersonEscalated, key, now).await? {
            return Ok(summary);
        }
        let records = self.records(id).await?;
        let ticket = &records.ticket;
        if ticket.status == TicketStatus::Resolved {
            return Err(DeskError::Conflict("the ticket is resolved".into()));
        }
        let note = note.trim();
        let entry = AuditEntry::new(
            &ticket.id,
            now,
            Actor::Operator(operator.to_owned()),
            AuditAction::PersonEscalated,
        )
        .detail(reason.as_str());
        let change = TicketChange {
            status: Some(TicketStatus::Escalated),
            handled_by: Some(Handler::Person),
            assignee: Some(None),
            escalation: Some((reason, note.to_owned())),
            ..TicketChange::default()
        };
        let summary = self
            .act(
                &records,
                change,
                Vec::new(),
                with_note(entry, Some(note)),
                None,
                key,
                now,
            )
            .await?;
        telemetry::escalated(ticket.channel, reason);
        let notice = TeamNotice {
            kind: NoticeKind::Escalated,
            ticket_id: ticket.id.clone(),
            channel: ticket.channel,
            subject: ticket.subject.clone(),
            reason: Some(reason),
            summary: format!("Escalated by {operator}: {note}"),
            assignee: None,
            link: self.ports.alert.link(&ticket.id),
        };
        self.ports.alert.notify(&notice).await?;
        Ok(summary)
    }

    pub async fn reviews(&self) -> Result<Reviews, DeskError> {
        let drafts = self.ports.store.drafts(100).await?;
        let mut views = Vec::new();
        for draft in drafts {
            let records = self.ports.store.records(&draft.ticket_id).await?;
            let confidence = records.as_ref().and_then(|r| {
                r.decisions
                    .iter()
                    .find(|d| d.kind == DecisionKind::Draft && MessageId::reply_to(&d.message_id) == draft.id)
                    .map(|d| d.confidence)
            });
            views.push(DraftView {
                ticket_id: draft.ticket_id.clone(),
                message_id: draft.id.clone(),
                channel: draft.channel,
                subject: records.map(|r| r.ticket.subject).unwrap_or_default(),
                body: draft.body,
                confidence,
                created_at: draft.created_at,
            });
        }
        let proposals = self
            .ports
            .store
            .proposals()
            .await?
            .into_iter()
            .filter(|p| p.status == ProposalStatus::Pending)
            .collect();
        Ok(Reviews {
            drafts: views,
            proposals,
        })
    }

    /// Sends a held draft, as it is or with the person's text.
    pub async fn approve_draft(
        &self,
        operator: &str,
        id: &TicketId,
        draft: &MessageId,
        body: Option<&str>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ReplyQueued, DeskError> {
        if let Some(queued) = self.replayed_reply(id, "approve", key).await? {
            return Ok(queued);
        }
        let records = self.records(id).await?;
        let held = held_draft(&records, draft)?;
        let edited = body.map(str::trim).filter(|b| !b.is_empty() && *b != held.body.trim());
        if let Some(body) = edited {
            checked_body(body)?;
        }
        let outcome = match edited {
            Some(_) => VerdictOutcome::Edited,
            None => VerdictOutcome::Approved,
        };
        let sent = ConversationMessage {
            body: edited.map_or_else(|| held.body.clone(), str::to_owned),
            person: Some(operator.to_owned()),
            ..held.clone()
        };
        let ticket = &records.ticket;
        let (queue, outbound) = self.outbound(ticket, &sent)?;
        let action = match outcome {
            VerdictOutcome::Edited => AuditAction::DraftEdited,
            _ => AuditAction::DraftApproved,
        };
        let answer = ReplyQueued {
            message_id: held.id.clone(),
            status: DeliveryStatus::Queued,
        };
        let record = DeskRecord {
            ticket: ticket.id.clone(),
            seen: (ticket.status, ticket.handled_by),
            change: TicketChange {
                status: Some(TicketStatus::Answered),
                first_response_at: ticket.first_response_at.is_none().then_some(now),
                ..TicketChange::default()
            },
            reply: None,
            release: Some(DraftRelease {
                message: held.id.clone(),
                body: edited.map(str::to_owned),
                person: operator.to_owned(),
            }),
            withhold: Vec::new(),
            verdicts: drafts_judged(&records, std::slice::from_ref(&held.id), operator, outcome, now),
            proposal: None,
            audit: vec![AuditEntry::new(&ticket.id, now, Actor::Operator(operator.to_owned()), action).about(&held.id)],
            request: Some((request_key(key, "approve"), to_json(&answer))),
            now,
        };
        self.send(&record, queue, &outbound, answer).await
    }

    /// Nothing is sent: the person takes the ticket.
    pub async fn reject_draft(
        &self,
        operator: &str,
        id: &TicketId,
        draft: &MessageId,
        note: Option<&str>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketSummary, DeskError> {
        if let Some(summary) = self.replayed(id, AuditAction::DraftRejected, key, now).await? {
            return Ok(summary);
        }
        let records = self.records(id).await?;
        let held = held_draft(&records, draft)?;
        let ticket = &records.ticket;
        let verdicts = drafts_judged(
            &records,
            std::slice::from_ref(&held.id),
            operator,
            VerdictOutcome::Rejected,
            now,
        );
        let entry = AuditEntry::new(
            &ticket.id,
            now,
            Actor::Operator(operator.to_owned()),
            AuditAction::DraftRejected,
        )
        .about(&held.id);
        let change = TicketChange {
            handled_by: Some(Handler::Person),
            assignee: ticket.assignee.is_none().then(|| Some(operator.to_owned())),
            ..TicketChange::default()
        };
        let record = self.desk_record(&records, change, verdicts, with_note(entry, note), None, key, now);
        let record = DeskRecord {
            withhold: vec![held.id.clone()],
            ..record
        };
        self.apply_and_summarise(&record, now).await
    }

    pub async fn decide_proposal(
        &self,
        operator: &str,
        id: &str,
        decision: ProposalDecision,
        now: DateTime<Utc>,
    ) -> Result<Proposal, DeskError> {
        let proposals = self.ports.store.proposals().await?;
        let proposal = proposals
            .iter()
            .find(|p| p.id == id)
            .ok_or(DeskError::NotFound("no such proposal"))?;
        let wanted = match decision {
            ProposalDecision::Approve { .. } => ProposalStatus::Approved,
            ProposalDecision::Reject => ProposalStatus::Rejected,
        };
        match proposal.status {
            ProposalStatus::Pending => {}
            // The same decision again (a retried request): it stands, nothing changes.
            status if status == wanted => return Ok(proposal.clone()),
            status => return Err(DeskError::Conflict(format!("the proposal is already {status}"))),
        }
        let decision = match decision {
            ProposalDecision::Approve { question, answer } => {
                let question = if is_blank(&question) {
                    proposal.question.clone()
                } else {
                    question
                };
                let answer = if is_blank(&answer) {
                    proposal.answer.clone()
                } else {
                    answer
                };
                ProposalDecision::Approve { question, answer }
            }
            ProposalDecision::Reject => ProposalDecision::Reject,
        };
        let action = match decision {
            ProposalDecision::Approve { .. } => AuditAction::ProposalApproved,
            ProposalDecision::Reject => AuditAction::ProposalRejected,
        };
        let entry = AuditEntry::new(
            &proposal.source_ticket,
            now,
            Actor::Operator(operator.to_owned()),
            action,
        )
        .detail(format!("learned answer {id}"));
        self.ports
            .store
            .decide_proposal(id, &decision, &entry)
            .await?
            .ok_or_else(|| DeskError::Conflict("the proposal was decided meanwhile".into()))
    }

    /// The knowledge base as the agent searches it, best first; `answers` tells whether a
    /// hit is relevant enough for the agent to quote.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<KnowledgeHit>, DeskError> {
        if is_blank(query) {
            return Err(DeskError::Invalid("the search is empty".into()));
        }
        let unavailable = |e: crate::ports::embedder::EmbedError| {
            DeskError::Infra(InfraError::new("search the knowledge base", e.to_string()))
        };
        let kb = self.ports.knowledge.current().await.map_err(unavailable)?;
        let hits = kb.search(query, limit.clamp(1, 20)).map_err(unavailable)?;
        Ok(hits
            .into_iter()
            .map(|hit| KnowledgeHit {
                answers: hit.answers(),
                article: hit.passage.article,
                title: hit.passage.title,
                heading: hit.passage.heading,
                text: hit.passage.text,
                score: hit.relevance,
            })
            .collect())
    }

    pub async fn agreement(&self, now: DateTime<Utc>) -> Result<Vec<Agreement>, DeskError> {
        let decisions = self
            .ports
            .store
            .decisions_since(now - Duration::days(AGREEMENT_DAYS))
            .await?;
        Ok(agreement(&decisions))
    }

    /// A customer's tickets and their conversation.
    pub async fn customer(
        &self,
        customer: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<(Vec<TicketSummary>, Vec<MessageEntry>), DeskError> {
        let tickets = self.ports.store.customer_tickets(customer).await?;
        if tickets.is_empty() {
            return Err(DeskError::NotFound("no such customer"));
        }
        let messages = self
            .ports
            .history
            .customer_history(customer, CONVERSATION_MESSAGES)
            .await?;
        Ok((
            tickets.iter().map(|t| TicketSummary::of(t, now)).collect(),
            messages.iter().map(MessageEntry::of).collect(),
        ))
    }

    /// The ticket alone, as it is now (one read, where its records are not needed).
    async fn ticket_now(&self, id: &TicketId) -> Result<Ticket, DeskError> {
        self.ports
            .store
            .ticket(id)
            .await?
            .ok_or(DeskError::NotFound("no such ticket"))
    }

    async fn records(&self, id: &TicketId) -> Result<TicketRecords, DeskError> {
        self.ports
            .store
            .records(id)
            .await?
            .ok_or(DeskError::NotFound("no such ticket"))
    }

    fn outbound<'a>(
        &'a self,
        ticket: &Ticket,
        message: &ConversationMessage,
    ) -> Result<(&'a Arc<dyn MessageQueue>, OutboundReply), DeskError> {
        let (queue, recipient) = self
            .ports
            .outbound
            .route(ticket.channel, &ticket.contact)
            .map_err(|e| DeskError::Conflict(e.into()))?;
        let outbound = OutboundReply {
            ticket_id: ticket.id.clone(),
            message_id: message.id.clone(),
            channel: ticket.channel,
            recipient,
            recipient_name: ticket.contact.name.clone(),
            subject: reply_subject(&ticket.subject, &ticket.id),
            body: message.body.clone(),
            correlation_id: format!("operator-{}", message.id),
            confirm_token: None,
            in_reply_to: None,
            references: Vec::new(),
            received_at: None,
        };
        Ok((queue, outbound))
    }

    /// Writes a reply's record, then hands the reply to its sender.
    async fn send(
        &self,
        record: &DeskRecord,
        queue: &Arc<dyn MessageQueue>,
        outbound: &OutboundReply,
        answer: ReplyQueued,
    ) -> Result<ReplyQueued, DeskError> {
        match self.ports.store.apply(record).await? {
            Applied::Done => {
                enqueue(queue, outbound).await?;
                Ok(answer)
            }
            Applied::Replay(replayed) => parse_replay(&replayed),
            Applied::Moved => Err(moved()),
        }
    }

    /// The answer to an earlier attempt of the same request that sent a reply. That attempt
    /// may have stopped before the queue: the reply is handed on again (the sender's claim
    /// makes sure it leaves once).
    async fn replayed_reply(&self, id: &TicketId, action: &str, key: &str) -> Result<Option<ReplyQueued>, DeskError> {
        let Some(replayed) = self.ports.store.replayed(&request_key(key, action)).await? else {
            return Ok(None);
        };
        let queued: ReplyQueued = parse_replay(&replayed)?;
        self.send_again(id, &queued.message_id).await?;
        Ok(Some(queued))
    }

    /// A reply recorded by an earlier attempt of the same request, handed on again while
    /// it has not left.
    async fn send_again(&self, id: &TicketId, message: &MessageId) -> Result<(), DeskError> {
        let records = self.records(id).await?;
        let Some(stored) = records.messages.iter().find(|m| &m.id == message) else {
            return Ok(());
        };
        if stored.delivery_status == Some(DeliveryStatus::Queued) {
            let (queue, outbound) = self.outbound(&records.ticket, stored)?;
            enqueue(queue, &outbound).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn desk_record(
        &self,
        records: &TicketRecords,
        change: TicketChange,
        verdicts: Vec<(MessageId, DecisionKind, Verdict)>,
        entry: AuditEntry,
        proposal: Option<Proposal>,
        key: &str,
        now: DateTime<Utc>,
    ) -> DeskRecord {
        let ticket = &records.ticket;
        let action = entry.action.as_str();
        let mut audit = vec![entry];
        if let Some(proposal) = &proposal {
            audit.push(
                AuditEntry::new(&ticket.id, now, audit[0].actor.clone(), AuditAction::ProposalMade)
                    .detail(format!("learned answer {}", proposal.id)),
            );
        }
        DeskRecord {
            ticket: ticket.id.clone(),
            seen: (ticket.status, ticket.handled_by),
            change,
            reply: None,
            release: None,
            withhold: Vec::new(),
            verdicts,
            request: Some((request_key(key, action), to_json(&proposal))),
            proposal,
            audit,
            now,
        }
    }

    /// The ticket as it is now, when this request was made before (it changes nothing again).
    async fn replayed(
        &self,
        id: &TicketId,
        action: AuditAction,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TicketSummary>, DeskError> {
        match self.ports.store.replayed(&request_key(key, action.as_str())).await? {
            Some(_) => Ok(Some(TicketSummary::of(&self.ticket_now(id).await?, now))),
            None => Ok(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn act(
        &self,
        records: &TicketRecords,
        change: TicketChange,
        verdicts: Vec<(MessageId, DecisionKind, Verdict)>,
        entry: AuditEntry,
        proposal: Option<Proposal>,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketSummary, DeskError> {
        let record = self.desk_record(records, change, verdicts, entry, proposal, key, now);
        self.apply_and_summarise(&record, now).await
    }

    /// Applies the record and answers with the ticket as it is now (a replayed request
    /// too: it changed nothing, so the ticket is read again).
    async fn apply_and_summarise(&self, record: &DeskRecord, now: DateTime<Utc>) -> Result<TicketSummary, DeskError> {
        match self.ports.store.apply(record).await? {
            Applied::Done | Applied::Replay(_) => Ok(TicketSummary::of(&self.ticket_now(&record.ticket).await?, now)),
            Applied::Moved => Err(moved()),
        }
    }
}

fn moved() -> DeskError {
    DeskError::Conflict("the ticket changed meanwhile: look at it again".into())
}

/// Idempotency keys are per kind of request: the same key on another request is another request.
fn request_key(key: &str, action: &str) -> String {
    format!("{action}#{key}")
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("answers serialize")
}

fn parse_replay<T: serde::de::DeserializeOwned>(stored: &str) -> Result<T, DeskError> {
    serde_json::from_str(stored).map_err(|e| DeskError::Infra(InfraError::new("read a request's answer", e)))
}

fn checked_body(body: &str) -> Result<String, DeskError> {
    let body = body.trim();
    if is_blank(body) {
        return Err(DeskError::Invalid("the reply is empty".into()));
    }
    if body.chars().count() > MAX_REPLY_CHARS {
        return Err(DeskError::Invalid(format!(
            "the reply is longer than {MAX_REPLY_CHARS} characters"
        )));
    }
    Ok(body.to_owned())
}

fn with_note(entry: AuditEntry, note: Option<&str>) -> AuditEntry {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => entry.why(at_most(note, 1_000, "…")),
        None => entry,
    }
}

/// A person's text as the customer's channel carries it.
fn formatted(ticket: &Ticket, body: &str) -> String {
    format_reply(
        ticket.channel,
        Language::of(body),
        ticket.contact.name.as_deref(),
        &ticket.id,
        body,
    )
}

fn preview(ticket: &Ticket, formatted: &str) -> Preview {
    match ticket.channel {
        Channel::Email => Preview {
            channel: ticket.channel,
            subject: Some(reply_subject(&ticket.subject, &ticket.id)),
            parts: vec![formatted.to_owned()],
        },
        Channel::Whatsapp => Preview {
            channel: ticket.channel,
            subject: None,
            parts: whatsapp_messages(formatted),
        },
        Channel::WebForm => Preview {
            channel: ticket.channel,
            subject: None,
            parts: vec![formatted.to_owned()],
        },
    }
}

/// The agent's answers that have not left: queued for a sender, or held for review. Its
/// hand-off notices go out whatever happens: the customer always hears a person took over.
fn unsent_agent_replies(records: &TicketRecords) -> Vec<MessageId> {
    let handoffs: Vec<MessageId> = records
        .decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Strategy && d.value == "escalate")
        .map(|d| MessageId::reply_to(&d.message_id))
        .collect();
    records
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Outbound && m.person.is_none() && !handoffs.contains(&m.id))
        .filter(|m| matches!(m.delivery_status, Some(DeliveryStatus::Queued | DeliveryStatus::Held)))
        .map(|m| m.id.clone())
        .collect()
}

/// The person's verdict on the latest escalation decision, if not judged yet.
fn escalation_verdict(
    records: &TicketRecords,
    operator: &str,
    outcome: VerdictOutcome,
    now: DateTime<Utc>,
) -> Vec<(MessageId, DecisionKind, Verdict)> {
    records
        .decisions
        .iter()
        .rev()
        .find(|d| d.kind == DecisionKind::Escalation && d.value.starts_with("escalate"))
        .filter(|d| d.verdict.is_none())
        .map(|d| {
            let verdict = Verdict {
                outcome,
                by: operator.to_owned(),
                at: now,
            };
            (d.message_id.clone(), DecisionKind::Escalation, verdict)
        })
        .into_iter()
        .collect()
}

/// The person's verdict on the drafts of these replies.
fn drafts_judged(
    records: &TicketRecords,
    replies: &[MessageId],
    operator: &str,
    outcome: VerdictOutcome,
    now: DateTime<Utc>,
) -> Vec<(MessageId, DecisionKind, Verdict)> {
    records
        .decisions
        .iter()
        .filter(|d| d.kind == DecisionKind::Draft && d.verdict.is_none())
        .filter(|d| replies.contains(&MessageId::reply_to(&d.message_id)))
        .map(|d| {
            let verdict = Verdict {
                outcome,
                by: operator.to_owned(),
                at: now,
            };
            (d.message_id.clone(), DecisionKind::Draft, verdict)
        })
        .collect()
}

fn held_draft<'a>(records: &'a TicketRecords, draft: &MessageId) -> Result<&'a ConversationMessage, DeskError> {
    let message = records
        .messages
        .iter()
        .find(|m| &m.id == draft)
        .ok_or(DeskError::NotFound("no such draft"))?;
    match message.delivery_status {
        Some(DeliveryStatus::Held) => Ok(message),
        _ => Err(DeskError::Conflict("the draft is no longer waiting for review".into())),
    }
}

/// What the customer first asked on the ticket: a learned answer's question by default.
fn first_question(records: &TicketRecords) -> String {
    let first = records
        .messages
        .iter()
        .find(|m| m.direction == Direction::Inbound)
        .map(|m| own_words(&m.body))
        .unwrap_or_else(|| records.ticket.subject.clone());
    at_most(first.trim(), 500, "…")
}
