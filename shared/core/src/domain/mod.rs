//! The domain: who writes in, on which channel, and what we keep about it.
//! Everything here is pure data with validating constructors; no AWS.

#[macro_use]
mod names;
mod address;
mod ids;
pub mod language;
mod message;
mod operator;
mod plan;
pub mod rules;
pub mod secret;
pub mod text;
mod ticket;
pub mod whatsapp;

pub use address::parse_email_address;
pub use ids::{CustomerId, IdParseError, MessageId, TicketId};
pub use language::Language;
pub use message::{
    Attachment, Channel, ConversationMessage, DeliveryStatus, Direction, EmailThread, IdentityProof, InboundMessage,
    MailEventKind, OutboundReply, QueuedMessage, Sender, TicketFacts,
};
pub use names::{parse_variant, UnknownVariant, VariantNames};
pub use operator::{Operator, OperatorClaimsError};
pub use plan::Plan;
pub use ticket::{AddressClaim, Category, EscalationReason, Handler, Priority, Ticket, TicketStatus};

pub use email_address::EmailAddress;
