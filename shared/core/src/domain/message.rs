use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Category, CustomerId, EmailAddress, Handler, MessageId, Priority, TicketId, TicketStatus};

named_set!(
    /// Where a message came from, and so how its reply must be written and sent.
    Channel { Email, Whatsapp, WebForm }
);

impl Channel {
    /// Whether a customer's messages on this channel continue one conversation (a chat),
    /// rather than each being a request of its own (a form, a new email).
    pub fn continues_conversation(self) -> bool {
        matches!(self, Channel::Whatsapp)
    }

    /// Whether replies to messages on this channel are emails (sent through SES).
    pub fn replies_by_email(self) -> bool {
        match self {
            Channel::Email | Channel::WebForm => true,
            Channel::Whatsapp => false,
        }
    }
}

named_set!(Direction { Inbound, Outbound });

named_set!(
    /// Delivery state of an outbound message. `Sending` is written before the provider is
    /// called and `Sent` after, so a retried send can tell the two apart; the provider's
    /// callbacks then report `Delivered`, `Read`, `Failed` or `Undelivered`. `Withheld`: the
    /// agent drafted it but it was never to be sent (WhatsApp's 24-hour window had closed, a
    /// person rejected the draft or took the ticket over before it left). `Held`: a draft
    /// waiting for a person to approve it (see `autonomy`).
    DeliveryStatus { Queued, Sending, Sent, Delivered, Read, Failed, Undelivered, Withheld, Held }
);

impl DeliveryStatus {
    /// How far along a message is. Callbacks arrive out of order: a status moves only
    /// forward (read never becomes delivered again), and a failure reported after the
    /// message was delivered does not undo the delivery.
    fn progress(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sending => 1,
            DeliveryStatus::Sent => 2,
            DeliveryStatus::Failed | DeliveryStatus::Undelivered => 3,
            DeliveryStatus::Delivered => 4,
            DeliveryStatus::Read => 5,
            // Outside the delivery flow: no provider callback moves them.
            DeliveryStatus::Withheld | DeliveryStatus::Held => 6,
        }
    }

    /// Whether a message in this state may be moved to `next`.
    pub fn may_become(self, next: DeliveryStatus) -> bool {
        next.progress() > self.progress()
    }

    /// The states a message may be in to be moved to `next`.
    pub fn before(next: DeliveryStatus) -> Vec<DeliveryStatus> {
        use strum::VariantArray;
        DeliveryStatus::VARIANTS
            .iter()
            .copied()
            .filter(|s| s.may_become(next))
            .collect()
    }

    /// The provider gave up on the message: a person must take the ticket.
    pub fn is_failure(self) -> bool {
        matches!(self, DeliveryStatus::Failed | DeliveryStatus::Undelivered)
    }
}

named_set!(
    /// What the provider reported about a mail it had accepted.
    MailEventKind {
        /// The address does not exist or refuses mail for good.
        PermanentBounce,
        /// A full mailbox, a server down: the provider retried and may succeed later.
        TransientBounce,
        /// The recipient marked the mail as spam.
        Complaint,
    }
);

named_set!(
    /// How a sender's identity was proven, when it was: the channel's own verification of the
    /// address it delivered from, or a proof the customer gave later. A message without one
    /// is a claim: it never reaches another customer's history (see `intake`).
    IdentityProof {
        /// The WhatsApp number as Twilio delivered it, in a request signed by Twilio.
        TwilioSender,
        /// The mailbox's verdict on an email: DMARC, SPF and DKIM passed.
        MailboxAuthentication,
        /// The customer followed a link sent to the address.
        EmailedLink,
        /// A one-time code sent to the address came back on another, proven channel.
        OneTimeCode,
    }
);

/// A file that came with a message (a WhatsApp photo, a voice note): kept by reference,
/// never fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub url: String,
    pub content_type: String,
}

/// An email's place in its thread: its own Message-ID and the ones it answers, as the
/// headers give them (without angle brackets).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailThread {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub in_reply_to: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
}

/// How many of a message's references are looked up: the newest ones name the thread.
const THREAD_LOOKUPS: usize = 20;
/// The longest Message-ID kept: real ones are far shorter, and each becomes a key.
const MAX_MESSAGE_ID_BYTES: usize = 500;

impl EmailThread {
    /// The ids this email answers, most telling first: In-Reply-To, then References
    /// newest first; each once.
    pub fn answered_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in self.in_reply_to.iter().chain(self.references.iter().rev()) {
            if id.len() <= MAX_MESSAGE_ID_BYTES && !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids.truncate(THREAD_LOOKUPS);
        ids
    }

    /// This email's own Message-ID, when it is one that can be kept.
    pub fn own_id(&self) -> Option<&str> {
        self.message_id.as_deref().filter(|id| id.len() <= MAX_MESSAGE_ID_BYTES)
    }

    /// The key under which a Message-ID is remembered: SES replaces the Message-ID of what
    /// it sends with `<its message id>@<region>.amazonses.com`, and reports only its message
    /// id, so those are known by that id alone.
    pub fn key(message_id: &str) -> &str {
        match message_id.split_once('@') {
            Some((local, domain)) if domain.to_ascii_lowercase().ends_with(".amazonses.com") => local,
            _ => message_id,
        }
    }

    /// The key under which a customer's own Message-ID is remembered: under their address,
    /// so nobody can claim another sender's ids (any sender chooses their Message-IDs), nor
    /// ours, which are remembered under [`Self::key`] only when we send them.
    pub fn sender_key(sender: &EmailAddress, message_id: &str) -> String {
        format!("{}|{message_id}", sender.as_str().to_lowercase())
    }

    /// The threading headers of a reply to this email (RFC 5322 3.6.4): In-Reply-To names
    /// it, References are its references followed by its own id.
    pub fn reply(&self) -> (Option<String>, Vec<String>) {
        let mut references = match self.references.is_empty() {
            true => self.in_reply_to.clone(),
            false => self.references.clone(),
        };
        references.extend(self.message_id.clone());
        (self.message_id.clone(), references)
    }
}

/// How the customer identified themselves on the channel they used, with this message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sender {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<EmailAddress>,
    /// E.164 phone number or WhatsApp id.
    #[serde(default)]
    pub phone: Option<String>,
}

/// One customer message from any channel, as its webhook normalized it: what the intake accepts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InboundMessage {
    pub channel: Channel,
    /// The provider's id for this message (Gmail id, Twilio MessageSid, form submission key):
    /// with the channel, the idempotency key of redeliveries.
    pub channel_message_id: String,
    pub sender: Sender,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// How the channel proved the sender's identity; `None`: it is only claimed.
    #[serde(default)]
    pub proof: Option<IdentityProof>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// An email's threading headers: a reply in a thread continues its ticket.
    #[serde(default)]
    pub email: Option<EmailThread>,
    /// The message as it arrived, when `body` is less (an email's quoted history and
    /// signature are not what the customer wrote now): kept for people to read.
    #[serde(default)]
    pub original: Option<String>,
    /// The ticket this message adds to (a follow-up from its status page).
    #[serde(default)]
    pub follows_ticket: Option<TicketId>,
}

impl InboundMessage {
    pub fn idempotency_key(&self) -> String {
        format!("{}#{}", self.channel, self.channel_message_id)
    }
}

/// What the agent's tools may tell about the ticket being handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketFacts {
    pub id: TicketId,
    pub subject: String,
    pub category: Category,
    pub priority: Priority,
    pub status: TicketStatus,
    /// A person has the ticket: the agent stays silent on it.
    #[serde(default)]
    pub handled_by: Handler,
    /// Who is told when the customer writes again on it.
    #[serde(default)]
    pub assignee: Option<String>,
}

impl TicketFacts {
    pub fn of(ticket: &super::Ticket) -> Self {
        Self {
            id: ticket.id.clone(),
            subject: ticket.subject.clone(),
            category: ticket.category,
            priority: ticket.priority,
            status: ticket.status,
            handled_by: ticket.handled_by,
            assignee: ticket.assignee.clone(),
        }
    }
}

/// A message the intake stored, as it travels on the inbound queue to the agent. The ids
/// are the intake's: the agent trusts them and never identifies the customer again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedMessage {
    pub customer_id: CustomerId,
    pub message_id: MessageId,
    pub ticket: TicketFacts,
    pub channel: Channel,
    /// Who wrote this message, as they gave it with this message (the greeting uses it).
    pub sender: Sender,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub received_at: DateTime<Utc>,
    pub correlation_id: String,
    #[serde(default)]
    pub proof: Option<IdentityProof>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The secret of the link that confirms a claimed address (see `AddressClaim`): it
    /// travels only on queues to the email that carries it, never into a stored body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_token: Option<String>,
    /// An email's threading headers: the reply threads under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailThread>,
}

impl QueuedMessage {
    /// What the rules and the model read: the subject (when there is one) and the body.
    pub fn customer_text(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{subject}\n\n{}", self.body),
            None => self.body.clone(),
        }
    }
}

/// A message kept on a ticket: what the customer wrote or what we answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMessage {
    pub id: MessageId,
    pub ticket_id: TicketId,
    pub customer_id: CustomerId,
    pub direction: Direction,
    pub channel: Channel,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub delivery_status: Option<DeliveryStatus>,
    /// SES message id, or the Twilio SID of a WhatsApp reply's last part, once the provider
    /// accepted it.
    pub provider_message_id: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The message as it arrived is kept apart, because `body` holds less (see
    /// [`InboundMessage::original`]).
    pub has_original: bool,
    /// The operator who wrote this reply, or approved the agent's draft of it.
    #[serde(default)]
    pub person: Option<String>,
}

/// A reply waiting on a channel's outbound queue for its sender function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundReply {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub channel: Channel,
    /// Email address or phone number, depending on the sending channel.
    pub recipient: String,
    #[serde(default)]
    pub recipient_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub correlation_id: String,
    /// For a reply to a claimed address: the secret of the link that confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_token: Option<String>,
    /// The customer's email this answers, so that the reply threads under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}
