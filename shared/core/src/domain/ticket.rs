use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(test)]
use super::parse_variant;
use super::{secret, Channel, CustomerId, EmailAddress, Sender, TicketId};
#[cfg(test)]
use strum::VariantNames;

named_set!(
    /// What the customer is writing about (the web form's category field).
    Category { General, Technical, Billing, BugReport, Feedback }
);

named_set!(Priority { Low, Medium, High });

named_set!(
    /// Where a ticket stands, as shown on the status page.
    TicketStatus { Open, Answered, Escalated, Resolved }
);

named_set!(
    /// Who answers the ticket's customer now. A person takes a ticket by replying on it (or
    /// by rejecting the agent's draft) and keeps it until they hand it back or resolve it:
    /// meanwhile the agent stays silent on it.
    #[derive(Default)]
    Handler {
        #[default]
        Agent,
        Person,
    }
);

named_set!(
    /// Why a person must take over; shown to the customer only as the team it went to.
    EscalationReason {
        Pricing, Refund, Legal, Sentiment, HumanRequest, NoAnswer, Other,
        /// WhatsApp's 24-hour window closed before a reply could go out.
        WindowClosed,
        /// The provider could not deliver the reply (refused, failed or undelivered).
        DeliveryFailed,
    }
);

impl EscalationReason {
    /// When several reasons apply, the one that comes first here wins
    /// (context/escalation-rules.md, the order of its table).
    pub fn precedence(self) -> usize {
        match self {
            EscalationReason::Legal => 0,
            EscalationReason::Refund => 1,
            EscalationReason::Pricing => 2,
            EscalationReason::Sentiment => 3,
            EscalationReason::HumanRequest => 4,
            EscalationReason::NoAnswer => 5,
            EscalationReason::Other => 6,
            EscalationReason::WindowClosed => 7,
            EscalationReason::DeliveryFailed => 8,
        }
    }
}

/// An email address a sender typed (into the form) without proof: it becomes the
/// customer's only when its owner follows the link emailed to it. The link's secret is
/// never stored, only its digest (salted with the ticket id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressClaim {
    pub email: EmailAddress,
    pub token_digest: String,
}

impl AddressClaim {
    /// A claim of `email` on `ticket`, and the secret of its confirmation link.
    pub fn new(email: EmailAddress, ticket: &TicketId) -> (Self, String) {
        let token = secret::new_token();
        let claim = Self {
            email,
            token_digest: secret::digest(ticket.as_str(), &token),
        };
        (claim, token)
    }

    /// Whether `token` is the secret of this claim's link.
    pub fn confirmed_by(&self, ticket: &TicketId, token: &str) -> bool {
        secret::matches(&self.token_digest, ticket.as_str(), token)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub customer_id: CustomerId,
    pub channel: Channel,
    pub subject: String,
    pub category: Category,
    pub priority: Priority,
    pub status: TicketStatus,
    pub escalation_reason: Option<EscalationReason>,
    /// What the person taking over needs to know when the reason alone does not say it
    /// (the provider's error code, for a delivery failure). Never shown to the customer.
    pub escalation_note: Option<String>,
    /// The address the sender typed, until its owner confirms it (see [`AddressClaim`]).
    pub address_claim: Option<AddressClaim>,
    /// Who opened the ticket, as they gave it: where an answer to a follow-up from the
    /// status page goes.
    pub contact: Sender,
    /// VADER compound score (-1..1) of the customer's latest message, once the agent saw it.
    pub sentiment: Option<f64>,
    pub handled_by: Handler,
    /// The operator (username) the ticket is assigned to; none: the team's queue.
    pub assignee: Option<String>,
    /// When the customer first got an answer (not a hand-off notice): the first-response SLA.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When a person resolved it: the resolution SLA's clock stops.
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
    /// A person has the ticket: it waits for people (escalated), or a person is answering
    /// it and has not handed it back or resolved it. The agent stays silent on it.
    pub fn person_has_it(&self) -> bool {
        self.status == TicketStatus::Escalated
            || (self.handled_by == Handler::Person && self.status != TicketStatus::Resolved)
    }

    pub fn open(
        id: TicketId,
        customer_id: CustomerId,
        channel: Channel,
        subject: String,
        category: Category,
        priority: Priority,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            customer_id,
            channel,
            subject,
            category,
            priority,
            status: TicketStatus::Open,
            escalation_reason: None,
            escalation_note: None,
            address_claim: None,
            contact: Sender::default(),
            sentiment: None,
            handled_by: Handler::Agent,
            assignee: None,
            first_response_at: None,
            resolved_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_sets_round_trip_and_reject_unknown_values() {
        for category in Category::VARIANTS {
            assert_eq!(parse_variant::<Category>(category).unwrap().as_str(), *category);
        }
        let err = parse_variant::<Category>("sales").unwrap_err();
        assert_eq!(err.allowed, "general, technical, billing, bug_report, feedback");
        assert_eq!(
            serde_json::to_string(&EscalationReason::HumanRequest).unwrap(),
            "\"human_request\""
        );
        assert_eq!(EscalationReason::HumanRequest.to_string(), "human_request");
    }
}
