use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {kind} id")]
pub struct IdParseError {
    kind: &'static str,
    value: String,
}

/// Generates `prefix_<32 hex>` identifiers from 122 random bits (UUID v4), so a
/// ticket id handed to a customer cannot be guessed from another one.
macro_rules! random_id {
    ($name:ident, $prefix:literal, $kind:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// An id derived from a provider's message key, for the rare entity
            /// that must be found again by a retry of the message that created it.
            pub fn derived_from(key: &str) -> Self {
                Self(format!("{}{}", $prefix, hex::encode(&Sha256::digest(key.as_bytes())[..16])))
            }

            pub fn parse(value: &str) -> Result<Self, IdParseError> {
                let hex = value.strip_prefix($prefix).unwrap_or("");
                if hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(IdParseError { kind: $kind, value: value.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

random_id!(TicketId, "tkt_", "ticket");
random_id!(CustomerId, "cus_", "customer");

/// A conversation message id: `<unix ms, 13 digits>-<in|out>-<16 hex>`.
///
/// It is derived, not random, so that a redelivered message maps to the same
/// stored item (idempotency by key), and it sorts by time within a ticket; a
/// reply sorts right after the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    pub fn inbound(received_at_ms: i64, channel_message_key: &str) -> Self {
        Self(format!("{received_at_ms:013}-in-{}", short_hash(channel_message_key)))
    }

    /// The id of the reply to `inbound`: same timestamp prefix so it sorts after it.
    pub fn reply_to(inbound: &MessageId) -> Self {
        let timestamp = inbound.0.split('-').next().unwrap_or_default();
        Self(format!("{timestamp}-out-{}", short_hash(&inbound.0)))
    }

    /// The id of a person's reply, from the request's idempotency key: a retried request
    /// names the same message.
    pub fn by_person(sent_at_ms: i64, request_key: &str) -> Self {
        Self(format!(
            "{sent_at_ms:013}-out-{}",
            short_hash(&format!("person#{request_key}"))
        ))
    }

    /// A message id as [`MessageId::inbound`] and [`MessageId::reply_to`] write them, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('-');
        let well_formed = matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(ms), Some("in" | "out"), Some(hash), None)
                if ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit())
                    && hash.len() == 16 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        well_formed.then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn short_hash(input: &str) -> String {
    hex::encode(&Sha256::digest(input.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ticket_ids_parse_and_differ() {
        let a = TicketId::generate();
        let b = TicketId::generate();
        assert_ne!(a, b);
        assert_eq!(TicketId::parse(a.as_str()), Ok(a.clone()));
        assert!(a.as_str().starts_with("tkt_"));
    }

    #[test]
    fn malformed_ticket_ids_are_rejected() {
        for bad in [
            "",
            "tkt_",
            "tkt_123",
            "cus_0123456789abcdef0123456789abcdef",
            "tkt_0123456789ABCDEF0123456789ABCDEF",
            "tkt_0123456789abcdef0123456789abcdeg",
            "../etc/passwd",
        ] {
            assert!(TicketId::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn message_ids_are_deterministic_and_replies_sort_after_inbound() {
        let a = MessageId::inbound(1_700_000_000_000, "email#abc");
        assert_eq!(a, MessageId::inbound(1_700_000_000_000, "email#abc"));
        assert_ne!(a, MessageId::inbound(1_700_000_000_000, "email#abd"));
        let reply = MessageId::reply_to(&a);
        assert!(reply > a);
        assert!(reply < MessageId::inbound(1_700_000_000_001, "email#abc"));
        assert_eq!(MessageId::parse(reply.as_str()), Some(reply));
        assert_eq!(MessageId::parse("1700000000000-in-../../etc"), None);
    }
}
