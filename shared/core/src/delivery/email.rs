//! Delivery by email: a stored reply is sent as MIME exactly once (see the module above).

use std::sync::Arc;

use chrono::Utc;
use mail_builder::MessageBuilder;

use super::{claim, SEND_LEASE};
use crate::agent::format::SIGNATURE;
use crate::domain::{DeliveryStatus, EmailAddress, EscalationReason, OutboundReply};
use crate::ports::mailer::{MailError, Mailer};
use crate::ports::tickets::{DeliveryFailure, DeliveryLog};
use crate::webform::CONFIRM_PATH;
use crate::ProcessingError;

pub struct EmailDelivery {
    log: Arc<dyn DeliveryLog>,
    mailer: Arc<dyn Mailer>,
    from: EmailAddress,
    /// The public site (`https://support.example`), where a claimed address is confirmed.
    site_url: Option<String>,
}

/// The link that confirms a claimed address, under the site's URL.
fn confirm_link(site_url: &str, reply: &OutboundReply) -> Option<String> {
    let token = reply.confirm_token.as_deref()?;
    Some(format!("{site_url}{CONFIRM_PATH}/{}?token={token}", reply.ticket_id))
}

/// The reply as a MIME message. Its Message-ID names the stored reply, so the
/// customer's answer to it can be threaded back to the ticket. A reply to an address the
/// sender only typed carries the link that confirms it: in the email alone, never in the
/// stored reply (the status page shows that to whoever typed the address).
pub fn compose_mime(
    from: &EmailAddress,
    reply: &OutboundReply,
    confirm_link: Option<&str>,
) -> Result<Vec<u8>, ProcessingError> {
    let domain = from.domain();
    let to = match &reply.recipient_name {
        Some(name) => {
            mail_builder::headers::address::Address::new_address(Some(name.as_str()), reply.recipient.as_str())
        }
        None => mail_builder::headers::address::Address::new_address(None::<&str>, reply.recipient.as_str()),
    };
    MessageBuilder::new()
        .from((SIGNATURE, from.as_str()))
        .to(to)
        .subject(reply.subject.as_str())
        .message_id(format!("{}.{}@{domain}", reply.message_id, reply.ticket_id))
        .header(
            "X-Ticket-Id",
            mail_builder::headers::raw::Raw::new(reply.ticket_id.as_str()),
        )
        .text_body(match confirm_link {
            Some(link) => format!(
                "{}\n\n--\nDid you send us this request? Confirm that this address is yours and we will keep \
                 your conversations with us together: {link}\nIf it was not you, ignore this email: nothing else happens.",
                reply.body
            ),
            None => reply.body.clone(),
        })
        .write_to_vec()
        .map_err(|e| ProcessingError::Permanent(format!("cannot build the email: {e}")))
}

impl EmailDelivery {
    pub fn new(
        log: Arc<dyn DeliveryLog>,
        mailer: Arc<dyn Mailer>,
        from: EmailAddress,
        site_url: Option<String>,
    ) -> Self {
        Self {
            log,
            mailer,
            from,
            site_url,
        }
    }

    pub async fn send(&self, reply: &OutboundReply) -> Result<(), ProcessingError> {
        let (ticket, id) = (&reply.ticket_id, &reply.message_id);
        let Some(claim) = claim(self.log.as_ref(), reply, SEND_LEASE).await? else {
            return Ok(());
        };
        if let Some(since) = claim.taken_over_from {
            // SES cannot be asked what it accepted: an attempt that stopped after SES took the
            // mail and before `sent` was recorded makes this a second copy.
            tracing::warn!(%since, "taking over a send that stopped midway: the mail may go twice");
        }
        let link = self.site_url.as_deref().and_then(|site| confirm_link(site, reply));
        let mime = compose_mime(&self.from, reply, link.as_deref())?;
        match self.mailer.send_raw(mime).await {
            Ok(provider_id) => {
                self.log.mark_sent(ticket, id, &provider_id, Utc::now()).await?;
                tracing::info!(provider_message_id = %provider_id, "reply emailed");
                Ok(())
            }
            Err(MailError::Rejected(why)) => {
                // Sending again would fail again: a person takes the ticket.
                let failure = DeliveryFailure {
                    status: DeliveryStatus::Failed,
                    reason: EscalationReason::DeliveryFailed,
                    note: format!("The email was rejected: {why}"),
                    at: Utc::now(),
                };
                self.log.hand_over(ticket, id, &failure).await?;
                tracing::warn!(error = %why, "the reply was rejected for good: handed to a person");
                Ok(())
            }
            Err(MailError::Unavailable(e)) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, MessageId, TicketId};

    #[test]
    fn the_mime_message_is_addressed_threaded_and_carries_the_reply() {
        let reply = OutboundReply {
            ticket_id: TicketId::parse("tkt_0123456789abcdef0123456789abcdef").unwrap(),
            message_id: MessageId::reply_to(&MessageId::inbound(1_700_000_000_000, "web_form#sub-1")),
            channel: Channel::WebForm,
            recipient: "maya@northwind.example".into(),
            recipient_name: Some("Maya Lin".into()),
            subject: "Re: Invite [tkt_0123456789abcdef0123456789abcdef]".into(),
            body: "Hello Maya,\n\nGo to Settings → Members.".into(),
            correlation_id: "c-1".into(),
            confirm_token: Some("0123abcd".into()),
        };
        let from: EmailAddress = "support@tandem.example".parse().unwrap();
        let link = confirm_link("https://support.tandem.example", &reply).unwrap();
        assert_eq!(
            link,
            "https://support.tandem.example/support/confirm/tkt_0123456789abcdef0123456789abcdef?token=0123abcd"
        );
        let mime = String::from_utf8(compose_mime(&from, &reply, Some(&link)).unwrap()).unwrap();
        assert!(
            mime.contains("From: \"Tandem Support\" <support@tandem.example>"),
            "{mime}"
        );
        assert!(mime.contains("To: \"Maya Lin\" <maya@northwind.example>"), "{mime}");
        let message_id = format!(
            "Message-ID: <{}.tkt_0123456789abcdef0123456789abcdef@tandem.example>",
            reply.message_id
        );
        assert!(message_id.contains("1700000000000-out-"), "{message_id}");
        assert!(mime.contains(&message_id), "{mime}");
        assert!(
            mime.contains("X-Ticket-Id: tkt_0123456789abcdef0123456789abcdef"),
            "{mime}"
        );
    }
}
