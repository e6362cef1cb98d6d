//! What was done on each ticket, and how far people agree with the agent.
//!
//! - The audit trail: one entry per agent, customer, system or operator action (who, when,
//!   what, why), written with the fact it records and never changed afterwards.
//! - The agent's decisions (category, strategy, escalate or not, draft) with their
//!   confidence; a person's verdict on one (approved, edited, rejected) is recorded once.
//!   The agreement rate per kind of decision follows from them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{MessageId, TicketId};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Actor {
    Agent,
    Customer,
    /// A function acting on the provider's word (a bounce, a failed delivery).
    System,
    /// A person, by their username.
    Operator(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Agent => f.write_str("agent"),
            Actor::Customer => f.write_str("customer"),
            Actor::System => f.write_str("system"),
            Actor::Operator(name) => write!(f, "operator:{name}"),
        }
    }
}

impl From<Actor> for String {
    fn from(actor: Actor) -> String {
        actor.to_string()
    }
}

impl From<String> for Actor {
    fn from(text: String) -> Self {
        match text.as_str() {
            "agent" => Actor::Agent,
            "customer" => Actor::Customer,
            "system" => Actor::System,
            other => Actor::Operator(other.strip_prefix("operator:").unwrap_or(other).to_owned()),
        }
    }
}

named_set!(
    /// What was done.
    AuditAction {
        Received,
        Answered,
        Escalated,
        /// The agent's draft waits for a person (autonomy `review`, or below the threshold).
        DraftHeld,
        DraftApproved,
        DraftEdited,
        DraftRejected,
        Assigned,
        PersonReplied,
        /// A person escalated the ticket (from the console or their assistant).
        PersonEscalated,
        HandedBack,
        Resolved,
        ProposalMade,
        ProposalApproved,
        ProposalRejected,
        /// A reply of the agent was not sent: a person took the ticket first.
        ReplyWithheld,
        DeliveryFailed,
        /// The customer wrote while a person has the ticket: the agent stayed silent.
        LeftForPerson,
    }
);

/// One line of a ticket's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub ticket_id: TicketId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    /// What, for a person reading the trail (a reason, a message id, an excerpt).
    pub detail: String,
    pub why: Option<String>,
    /// The message the action was about, if any: with the time and action, it names the
    /// entry, so a retried write finds the one already there.
    pub message_id: Option<MessageId>,
}

impl AuditEntry {
    pub fn new(ticket_id: &TicketId, at: DateTime<Utc>, actor: Actor, action: AuditAction) -> Self {
        Self {
            ticket_id: ticket_id.clone(),
            at,
            actor,
            action,
            detail: String::new(),
            why: None,
            message_id: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = Some(why.into());
        self
    }

    pub fn about(mut self, message: &MessageId) -> Self {
        self.message_id = Some(message.clone());
        self
    }

    /// The entry's key within its ticket: time first, so the trail reads in order.
    pub fn key(&self) -> String {
        let message = self.message_id.as_ref().map_or("-", MessageId::as_str);
        format!("{:013}#{}#{message}", self.at.timestamp_millis(), self.action)
    }
}

named_set!(
    /// The kinds of decision the agent takes on every turn.
    DecisionKind {
        /// What the message is about.
        Category,
        /// How to answer: from the knowledge base, by a rule, or by a person.
        Strategy,
        /// Whether a person must take over.
        Escalation,
        /// The reply it wrote.
        Draft,
    }
);

named_set!(VerdictOutcome {
    Approved,
    Edited,
    Rejected
});

/// A person's judgement of one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub outcome: VerdictOutcome,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One decision of the agent, with how sure it was (0..1) and a person's verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub ticket_id: TicketId,
    /// The customer message the decision answered.
    pub message_id: MessageId,
    pub kind: DecisionKind,
    pub value: String,
    pub confidence: f64,
    pub at: DateTime<Utc>,
    pub verdict: Option<Verdict>,
}

/// How often people agreed with one kind of decision, of those they judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub kind: DecisionKind,
    pub decided: usize,
    pub reviewed: usize,
    /// Approved as they were: an edit or a rejection is a disagreement.
    pub agreed: usize,
    /// `agreed / reviewed`; none until a person judged one.
    pub rate: Option<f64>,
}

/// The agreement rate per kind of decision, every kind listed.
pub fn agreement(decisions: &[DecisionRecord]) -> Vec<Agreement> {
    use strum::VariantArray;
    DecisionKind::VARIANTS
        .iter()
        .map(|&kind| {
            let of_kind = decisions.iter().filter(|d| d.kind == kind);
            let reviewed: Vec<_> = of_kind.clone().filter_map(|d| d.verdict.as_ref()).collect();
            let agreed = reviewed
                .iter()
                .filter(|v| v.outcome == VerdictOutcome::Approved)
                .count();
            Agreement {
                kind,
                decided: of_kind.count(),
                reviewed: reviewed.len(),
                agreed,
                rate: (!reviewed.is_empty()).then(|| agreed as f64 / reviewed.len() as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(kind: DecisionKind, verdict: Option<VerdictOutcome>) -> DecisionRecord {
        DecisionRecord {
            ticket_id: TicketId::derived_from("t"),
            message_id: MessageId::inbound(1_700_000_000_000, "web_form#k"),
            kind,
            value: "x".into(),
            confidence: 0.7,
            at: Utc::now(),
            verdict: verdict.map(|outcome| Verdict {
                outcome,
                by: "alice".into(),
                at: Utc::now(),
            }),
        }
    }

    #[test]
    fn the_agreement_rate_counts_approvals_of_the_decisions_people_judged() {
        use VerdictOutcome::*;
        let decisions = [
            decision(DecisionKind::Draft, Some(Approved)),
            decision(DecisionKind::Draft, Some(Approved)),
            decision(DecisionKind::Draft, Some(Approved)),
            decision(DecisionKind::Draft, Some(Edited)),
            decision(DecisionKind::Draft, Some(Rejected)),
            decision(DecisionKind::Draft, None),
            decision(DecisionKind::Escalation, Some(Rejected)),
            decision(DecisionKind::Escalation, None),
        ];
        let rates = agreement(&decisions);
        let draft = rates.iter().find(|a| a.kind == DecisionKind::Draft).unwrap();
        assert_eq!((draft.decided, draft.reviewed, draft.agreed), (6, 5, 3));
        assert_eq!(draft.rate, Some(0.6));
        let escalation = rates.iter().find(|a| a.kind == DecisionKind::Escalation).unwrap();
        assert_eq!(escalation.rate, Some(0.0));
        let category = rates.iter().find(|a| a.kind == DecisionKind::Category).unwrap();
        assert_eq!((category.decided, category.rate), (0, None));
    }

    #[test]
    fn actors_travel_as_text() {
        for actor in [
            Actor::Agent,
            Actor::Customer,
            Actor::System,
            Actor::Operator("alice".into()),
        ] {
            let text = serde_json::to_string(&actor).unwrap();
            assert_eq!(serde_json::from_str::<Actor>(&text).unwrap(), actor);
        }
        assert_eq!(Actor::Operator("alice".into()).to_string(), "operator:alice");
    }

    #[test]
    fn audit_keys_read_in_time_order() {
        let ticket = TicketId::derived_from("t");
        let early = AuditEntry::new(&ticket, Utc::now(), Actor::Customer, AuditAction::Received);
        let late = AuditEntry::new(
            &ticket,
            early.at + chrono::Duration::milliseconds(5),
            Actor::Agent,
            AuditAction::Answered,
        );
        assert!(early.key() < late.key());
    }
}
