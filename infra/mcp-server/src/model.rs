//! The operator API's JSON (docs/operator-api.md), as the tools take and return it. The
//! arguments' enums give the assistant the values the API accepts; the results keep the
//! API's enum texts as strings, so a value the API adds later passes through instead of
//! failing the call.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A ticket's status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Answered,
    Escalated,
    Resolved,
}

/// The channel a ticket came in on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Whatsapp,
    WebForm,
}

/// Why a ticket went to a person.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EscalationReason {
    Pricing,
    Refund,
    Legal,
    Sentiment,
    HumanRequest,
    NoAnswer,
    Other,
    WindowClosed,
    DeliveryFailed,
}

/// Where a ticket stands against its service-level targets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    AtRisk,
    Breached,
    Met,
}

/// A ticket as the queue lists it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TicketSummary {
    pub id: String,
    pub subject: Option<String>,
    /// email | whatsapp | web_form
    pub channel: String,
    /// open | answered | escalated | resolved
    pub status: String,
    pub category: Option<String>,
    pub priority: Option<String>,
    /// Why a person has it (pricing, refund, legal, sentiment, human_request, no_answer,
    /// other, window_closed, delivery_failed), when escalated.
    pub escalation_reason: Option<String>,
    /// agent | person: who answers the ticket's next message.
    pub handled_by: Option<String>,
    /// The operator the ticket is assigned to.
    pub assignee: Option<String>,
    pub customer_id: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub updated_at: String,
    /// Minutes since the ticket was opened.
    pub age_minutes: Option<i64>,
    pub sla: Option<Sla>,
}

/// The ticket's service-level clock.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Sla {
    /// on_track | at_risk | breached | met
    pub state: String,
    pub first_response_due: Option<String>,
    pub resolution_due: Option<String>,
    pub first_response_at: Option<String>,
}

/// The queue, newest activity first.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TicketList {
    pub tickets: Vec<TicketSummary>,
    /// How many tickets are at risk of, or past, their SLA targets (by state).
    #[serde(default)]
    pub sla_counts: BTreeMap<String, u64>,
}

/// A ticket with the customer's whole conversation and what the agent and people decided.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TicketView {
    pub ticket: TicketSummary,
    pub escalation: Option<Escalation>,
    /// The customer's conversation across all their tickets and channels, oldest first.
    pub messages: Vec<Message>,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// Append-only record of who did what, oldest first.
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
}

/// Why and how the ticket went to a person.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Escalation {
    pub reason: String,
    pub note: Option<String>,
    /// The agent's summary for the person who takes over.
    pub summary: Option<String>,
    /// What the agent saw when it decided (customer, sentiment, rails, history).
    #[serde(default)]
    pub context: Value,
}

/// One message of a conversation.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    pub id: String,
    pub ticket_id: Option<String>,
    /// inbound (from the customer) | outbound (to them)
    pub direction: String,
    pub channel: String,
    /// customer | agent | person
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: String,
    pub delivery_status: Option<String>,
    /// Whether the email's full original (quoted history, signature) is kept.
    #[serde(default)]
    pub has_original: bool,
}

/// A decision the agent made, with a person's verdict on it if reviewed.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    pub id: String,
    pub ticket_id: Option<String>,
    pub message_id: Option<String>,
    /// category | strategy | escalation | draft
    pub kind: String,
    pub value: Value,
    pub confidence: Option<f64>,
    pub at: String,
    pub verdict: Option<Verdict>,
}

/// A person's review of a decision.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// approved | edited | rejected
    pub outcome: String,
    pub by: String,
    pub at: String,
}

/// One line of a ticket's audit trail.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    pub at: String,
    /// agent | customer | system | operator:<username>
    pub actor: String,
    pub action: String,
    pub detail: Option<Value>,
    pub why: Option<String>,
}

/// Knowledge-base passages matching a query, best first.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct KnowledgeHits {
    pub hits: Vec<KnowledgeHit>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct KnowledgeHit {
    /// The article's slug, or `learned:<id>` for an answer people approved.
    pub article: String,
    pub title: String,
    pub heading: Option<String>,
    /// The part of the passage that answers the query.
    pub text: String,
    pub score: f64,
}

/// Everything of one customer's: their tickets and their conversation across channels.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CustomerHistory {
    pub customer_id: String,
    pub tickets: Vec<TicketSummary>,
    pub messages: Vec<Message>,
}

/// How a reply will look on the ticket's channel.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReplyPreview {
    pub channel: String,
    /// The email's subject; none on other channels.
    pub subject: Option<String>,
    /// What the customer receives: one email with greeting and sign-off, the WhatsApp
    /// messages it is split into, or the status page's text.
    pub parts: Vec<String>,
}

/// A person's reply, accepted for sending.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReplyQueued {
    pub message_id: String,
    /// queued
    pub status: String,
}

/// A resolved ticket and the learned answer proposed from its notes.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Resolved {
    pub ticket: TicketSummary,
    pub proposal: Option<Proposal>,
}

/// A learned answer waiting for a person's approval before the agent may use it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Proposal {
    pub id: String,
    pub question: String,
    pub answer: String,
    pub source_ticket: Option<String>,
    /// pending | approved | rejected
    pub status: String,
    pub created_at: String,
}

/// The queue's filters as `GET /operator/tickets` takes them (absent ones are left out).
#[derive(Debug, Serialize)]
pub struct TicketQuery {
    pub status: Option<TicketStatus>,
    pub channel: Option<Channel>,
    pub reason: Option<EscalationReason>,
    pub sla: Option<SlaState>,
    pub older_than: Option<u32>,
    pub limit: Option<u32>,
}

/// `GET /operator/knowledge`'s query.
#[derive(Debug, Serialize)]
pub struct KnowledgeQuery<'a> {
    pub q: &'a str,
    pub limit: Option<u32>,
}

/// Request bodies of the writes.
#[derive(Debug, Serialize)]
pub struct ReplyBody<'a> {
    pub body: &'a str,
}

#[derive(Debug, Serialize)]
pub struct EscalateBody<'a> {
    pub reason: EscalationReason,
    pub note: &'a str,
}

#[derive(Debug, Serialize)]
pub struct HandBackBody<'a> {
    pub note: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct ResolveBody<'a> {
    pub notes: &'a str,
    pub question: Option<&'a str>,
    pub answer: Option<&'a str>,
}
