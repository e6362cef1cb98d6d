//! Delivery by email: a stored reply is sent as MIME exactly once (see the module above).

use std::sync::Arc;

use chrono::Utc;
use mail_builder::MessageBuilder;

use super::{claim, delivered, SEND_LEASE};
use crate::agent::format::SIGNATURE;
use crate::domain::{DeliveryStatus, EmailAddress, EmailThread, EscalationReason, OutboundReply};
use crate::ports::mailer::{MailError, Mailer, Undeliverables};
use crate::ports::team::TeamAlert;
use crate::ports::tickets::{DeliveryFailure, DeliveryLog};
use crate::webform::CONFIRM_PATH;
use crate::ProcessingError;

pub struct EmailDelivery {
    log: Arc<dyn DeliveryLog>,
    mailer: Arc<dyn Mailer>,
    undeliverables: Arc<dyn Undeliverables>,
    from: EmailAddress,
    /// The public site (`https://support.example`), where a claimed address is confirmed.
    site_url: Option<String>,
    team: TeamAlert,
}

/// The link that confirms a claimed address, under the site's URL.
fn confirm_link(site_url: &str, reply: &OutboundReply) -> Option<String> {
    let token = reply.confirm_token.as_deref()?;
    Some(format!("{site_url}{CONFIRM_PATH}/{}?token={token}", reply.ticket_id))
}

/// The Message-ID we give a reply: it names the stored reply and its ticket, so the
/// customer's answer to it can be threaded back even when only this id survives.
pub fn reply_message_id(from: &EmailAddress, reply: &OutboundReply) -> String {
    format!("{}.{}@{}", reply.message_id, reply.ticket_id, from.domain())
}

/// The reply's text as HTML: every character escaped, paragraphs and line breaks kept.
fn html_body(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .lines()
                .map(|line| html_escape::encode_text(line).into_owned())
                .collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{}\n</body></html>\n",
        paragraphs.join("\n")
    )
}

/// The reply as a MIME message, a text part and an HTML part. It threads under the
/// customer's email (In-Reply-To, References); SES replaces its Message-ID, so our own id
/// also ends its References, where the customer's answer carries it back. A reply to an
/// address the sender only typed carries the link that confirms it: in the email alone,
/// never in the stored reply (the status page shows that to whoever typed the address).
pub fn compose_mime(
    from: &EmailAddress,
    reply: &OutboundReply,
    confirm_link: Option<&str>,
) -> Result<Vec<u8>, ProcessingError> {
    let to = match &reply.recipient_name {
        Some(name) => {
            mail_builder::headers::address::Address::new_address(Some(name.as_str()), reply.recipient.as_str())
        }
        None => mail_builder::headers::address::Address::new_address(None::<&str>, reply.recipient.as_str()),
    };
    let own_id = reply_message_id(from, reply);
    let mut references = reply.references.clone();
    references.push(own_id.clone());
    let text = match confirm_link {
        Some(link) => format!(
            "{}\n\n--\nDid you send us this request? Confirm that this address is yours and we will keep \
             your conversations with us together: {link}\nIf it was not you, ignore this email: nothing else happens.",
            reply.body
        ),
        None => reply.body.clone(),
    };
    let mut message = MessageBuilder::new()
        .from((SIGNATURE, from.as_str()))
        .to(to)
        .subject(reply.subject.as_str())
        .message_id(own_id)
        .references(references)
        .header(
            "X-Ticket-Id",
            mail_builder::headers::raw::Raw::new(reply.ticket_id.as_str()),
        )
        // Written by a machine (RFC 3834): autoresponders do not answer it, so no loop starts.
        .header("Auto-Submitted", mail_builder::headers::raw::Raw::new("auto-replied"))
        .html_body(html_body(&text))
        .text_body(text);
    if let Some(parent) = &reply.in_reply_to {
        message = message.in_reply_to(parent.as_str());
    }
    message
        .write_to_vec()
        .map_err(|e| ProcessingError::Permanent(format!("cannot build the email: {e}")))
}

impl EmailDelivery {
    pub fn new(
        log: Arc<dyn DeliveryLog>,
        mailer: Arc<dyn Mailer>,
        undeliverables: Arc<dyn Undeliverables>,
        from: EmailAddress,
        site_url: Option<String>,
        team: TeamAlert,
    ) -> Self {
        Self {
            log,
            mailer,
            undeliverables,
            from,
            site_url,
            team,
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
        if let Some(blocked) = self.undeliverables.find(&reply.recipient).await? {
            let note = format!(
                "Not sent: {} is undeliverable since {}. {}",
                reply.recipient, blocked.at, blocked.why
            );
            return self.give_up(reply, note).await;
        }
        let link = self.site_url.as_deref().and_then(|site| confirm_link(site, reply));
        let mime = compose_mime(&self.from, reply, link.as_deref())?;
        match self.mailer.send_raw(mime).await {
            Ok(provider_id) => {
                // Both ids name the ticket: a reply quoting either continues it.
                let own_id = reply_message_id(&self.from, reply);
                let keys = [EmailThread::key(&own_id).to_owned(), provider_id.clone()];
                self.log.mark_sent(ticket, id, &provider_id, &keys, Utc::now()).await?;
                tracing::info!(provider_message_id = %provider_id, "reply emailed");
                delivered(reply);
                Ok(())
            }
            // Sending again would fail again.
            Err(MailError::Rejected(why)) => self.give_up(reply, format!("The email was rejected: {why}")).await,
            Err(MailError::Unavailable(e)) => Err(e.into()),
        }
    }

    /// The reply will not reach the customer by email: it is marked so and a person
    /// takes the ticket.
    async fn give_up(&self, reply: &OutboundReply, note: String) -> Result<(), ProcessingError> {
        tracing::warn!(%note, "the reply cannot be emailed: handed to a person");
        let failure = DeliveryFailure {
            status: DeliveryStatus::Failed,
            reason: EscalationReason::DeliveryFailed,
            note,
            at: Utc::now(),
        };
        self.team
            .hand_over(
                self.log.as_ref(),
                &reply.ticket_id,
                &reply.message_id,
                reply.channel,
                &failure,
            )
            .await?;
        Ok(())
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
            in_reply_to: None,
            references: Vec::new(),
            received_at: None,
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

    #[test]
    fn a_reply_to_an_email_threads_under_it_and_its_html_part_is_escaped() {
        let reply = OutboundReply {
            ticket_id: TicketId::parse("tkt_0123456789abcdef0123456789abcdef").unwrap(),
            message_id: MessageId::reply_to(&MessageId::inbound(1_700_000_000_000, "email#18c2")),
            channel: Channel::Email,
            recipient: "ada@lovelace.example".into(),
            recipient_name: None,
            subject: "Re: Export <broken> [tkt_0123456789abcdef0123456789abcdef]".into(),
            body: "Hello Ada,\n\nUse <Export> & choose CSV.\nThanks".into(),
            correlation_id: "c-2".into(),
            confirm_token: None,
            in_reply_to: Some("CAB+1@mail.lovelace.example".into()),
            references: vec![
                "first@mail.lovelace.example".into(),
                "CAB+1@mail.lovelace.example".into(),
            ],
            received_at: None,
        };
        let from: EmailAddress = "support@tandem.example".parse().unwrap();
        let mime = String::from_utf8(compose_mime(&from, &reply, None).unwrap()).unwrap();
        // Long headers are folded.
        let mime = mime.replace("\r\n", "\n").replace("\n\t", " ");
        let own = reply_message_id(&from, &reply);
        assert!(mime.contains("In-Reply-To: <CAB+1@mail.lovelace.example>"), "{mime}");
        assert!(mime.contains("Auto-Submitted: auto-replied"), "{mime}");
        assert!(
            mime.contains(&format!(
                "References: <first@mail.lovelace.example> <CAB+1@mail.lovelace.example> <{own}>"
            )),
            "our own id ends the references, where the customer's answer carries it back: {mime}"
        );
        assert!(mime.contains("multipart/alternative"), "{mime}");
        assert!(mime.contains("text/plain"), "{mime}");
        assert!(mime.contains("Use &lt;Export&gt; &amp; choose CSV.<br>"), "{mime}");
    }
}
