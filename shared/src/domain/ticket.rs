use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Channel, CustomerId, EmailAddress, TicketId};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not one of: {allowed}")]
pub struct UnknownVariant {
    pub value: String,
    pub allowed: &'static str,
}

/// A closed set of snake_case names that travel as strings (JSON, DynamoDB).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(value: &str) -> Result<Self, UnknownVariant> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        value: value.to_owned(),
                        allowed: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What the customer is writing about (the web form's category field).
    Category {
        General => "general",
        Technical => "technical",
        Billing => "billing",
        BugReport => "bug_report",
        Feedback => "feedback",
    }
);

string_enum!(Priority { Low => "low", Medium => "medium", High => "high" });

string_enum!(
    /// Where a ticket stands, as shown on the status page.
    TicketStatus {
        Open => "open",
        Answered => "answered",
        Escalated => "escalated",
        Resolved => "resolved",
    }
);

string_enum!(
    /// Why a person must take over; shown to the customer only as a category.
    EscalationReason {
        Pricing => "pricing",
        Refund => "refund",
        Legal => "legal",
        Sentiment => "sentiment",
        HumanRequest => "human_request",
        NoAnswer => "no_answer",
        Other => "other",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: Option<String>,
    pub email: Option<EmailAddress>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
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
    /// VADER compound score (-1..1) of the customer's latest message, once the agent saw it.
    pub sentiment: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
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
            sentiment: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_enums_round_trip_and_reject_unknown_values() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Ok(*category));
        }
        let err = Category::parse("sales").unwrap_err();
        assert_eq!(err.allowed, "general technical billing bug_report feedback");
        assert_eq!(
            serde_json::to_string(&EscalationReason::HumanRequest).unwrap(),
            "\"human_request\""
        );
    }
}
