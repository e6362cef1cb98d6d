//! Delivery: a stored reply is handed to its channel's provider exactly once. A sender
//! claims the reply (`sending`) before calling the provider and records `sent` with the
//! provider's id after; a reply the provider refuses for good is marked failed and its
//! ticket goes to a person, with no retry loop. Email goes as MIME through a mailer,
//! WhatsApp through Twilio's Messages API, in parts, each recorded as it is accepted.

pub mod bounces;
mod email;
pub mod whatsapp;

pub use email::{compose_mime, reply_message_id, EmailDelivery};

use std::sync::Arc;

use crate::domain::{Channel, OutboundReply, Sender};
use crate::ports::queue::{MessageQueue, QueueMessage};
use crate::ports::tickets::{Claim, DeliveryLog, SendClaim};
use crate::ports::InfraError;
use crate::ProcessingError;

/// The outbound queues, by channel.
pub struct Outbound {
    pub email: Arc<dyn MessageQueue>,
    pub whatsapp: Option<Arc<dyn MessageQueue>>,
}

impl Outbound {
    /// Where a reply on `channel` to a customer who gave `sender` goes, and to whom.
    pub fn route(&self, channel: Channel, sender: &Sender) -> Result<(&Arc<dyn MessageQueue>, String), &'static str> {
        if channel.replies_by_email() {
            let email = sender
                .email
                .as_ref()
                .ok_or("the customer has no email address to reply to")?;
            return Ok((&self.email, email.to_string()));
        }
        let queue = self
            .whatsapp
            .as_ref()
            .ok_or("no WhatsApp outbound queue is configured")?;
        let phone = sender
            .phone
            .clone()
            .ok_or("the customer has no phone number to reply to")?;
        Ok((queue, phone))
    }
}

/// Puts a reply on its queue for the channel's sender.
pub async fn enqueue(queue: &Arc<dyn MessageQueue>, outbound: &OutboundReply) -> Result<(), InfraError> {
    let queued = QueueMessage {
        body: serde_json::to_string(outbound).expect("replies serialize"),
        group_id: None,
        deduplication_id: None,
        correlation_id: outbound.correlation_id.clone(),
    };
    queue.send(queued).await
}

/// How long a send attempt holds its claim before a retry may take over.
pub const SEND_LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Claims the reply for this attempt. `None`: it was sent (or failed for good) already, so
/// this delivery is a duplicate with nothing to do.
async fn claim(
    log: &dyn DeliveryLog,
    reply: &OutboundReply,
    lease: chrono::Duration,
) -> Result<Option<Claim>, ProcessingError> {
    let (ticket, id) = (&reply.ticket_id, &reply.message_id);
    match log.claim_send(ticket, id, chrono::Utc::now(), lease).await? {
        SendClaim::Claimed(claim) => Ok(Some(claim)),
        SendClaim::AlreadyDone { provider_message_id } => {
            tracing::info!(
                ?provider_message_id,
                "already sent or failed for good: skipping the duplicate"
            );
            Ok(None)
        }
        SendClaim::Busy => Err(ProcessingError::Transient(
            "another attempt is sending this reply".into(),
        )),
        SendClaim::Missing => Err(ProcessingError::Permanent(format!("reply {id} is not stored"))),
    }
}
