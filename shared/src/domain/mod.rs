//! The domain: who writes in, on which channel, and what we keep about it.
//! Everything here is pure data with validating constructors; no AWS.

mod ids;
mod message;
mod ticket;

pub use ids::{CustomerId, IdParseError, MessageId, TicketId};
pub use message::{Channel, ConversationMessage, DeliveryStatus, Direction, InboundMessage, OutboundReply, Sender};
pub use ticket::{Category, Customer, EscalationReason, Priority, Ticket, TicketStatus, UnknownVariant};

pub use email_address::EmailAddress;
