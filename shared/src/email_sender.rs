//! The email sender: takes replies off the email outbound queue and sends them
//! through SES as MIME, exactly once per stored reply.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use mail_builder::MessageBuilder;

use crate::adapters::{DynamoTicketStore, SesMailer};
use crate::agent::format::SIGNATURE;
use crate::config::EmailSenderConfig;
use crate::domain::{EmailAddress, OutboundReply};
use crate::ports::{Mailer, SendClaim, TicketStore};
use crate::sqs_batch::{parse_body, process_batch, BatchError, RecordError};

/// How long a send attempt holds its claim before a retry may take over.
const SEND_LEASE_SECONDS: i64 = 60;

pub struct EmailSender {
    tickets: Arc<dyn TicketStore>,
    mailer: Arc<dyn Mailer>,
    from: EmailAddress,
}

/// The reply as a MIME message. Its Message-ID names the stored reply, so the
/// customer's answer to it can be threaded back to the ticket.
pub fn compose_mime(from: &EmailAddress, reply: &OutboundReply) -> Result<Vec<u8>, RecordError> {
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
        .text_body(reply.body.as_str())
        .write_to_vec()
        .map_err(|e| RecordError::Permanent(format!("cannot build the email: {e}")))
}

impl EmailSender {
    pub fn new(config: EmailSenderConfig, sdk: &aws_config::SdkConfig) -> Self {
        Self::with_ports(
            Arc::new(DynamoTicketStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.tickets_table,
            )),
            Arc::new(SesMailer::new(
                aws_sdk_sesv2::Client::new(sdk),
                config.configuration_set,
            )),
            config.sender_address,
        )
    }

    pub fn with_ports(tickets: Arc<dyn TicketStore>, mailer: Arc<dyn Mailer>, from: EmailAddress) -> Self {
        Self { tickets, mailer, from }
    }

    pub async fn handle_batch(&self, event: SqsEvent) -> Result<SqsBatchResponse, BatchError> {
        process_batch(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), RecordError> {
        let reply: OutboundReply = parse_body(&record)?;
        let span =
            tracing::info_span!("email_send", correlation_id = %reply.correlation_id, ticket_id = %reply.ticket_id);
        let _enter = span.enter();
        self.send(&reply).await
    }

    pub async fn send(&self, reply: &OutboundReply) -> Result<(), RecordError> {
        let lease = chrono::Duration::seconds(SEND_LEASE_SECONDS);
        match self
            .tickets
            .claim_send(&reply.ticket_id, &reply.message_id, Utc::now(), lease)
            .await?
        {
            SendClaim::Claimed => {}
            SendClaim::AlreadySent { provider_message_id } => {
                tracing::info!(?provider_message_id, "already sent: skipping the duplicate");
                return Ok(());
            }
            SendClaim::Busy => return Err(RecordError::Transient("another attempt is sending this reply".into())),
            SendClaim::Missing => {
                return Err(RecordError::Permanent(format!(
                    "reply {} is not stored",
                    reply.message_id
                )))
            }
        }
        let mime = compose_mime(&self.from, reply)?;
        let provider_id = self.mailer.send_raw(mime).await?;
        self.tickets
            .mark_sent(&reply.ticket_id, &reply.message_id, &provider_id, Utc::now())
            .await?;
        tracing::info!(ses_message_id = %provider_id, "reply emailed");
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
            message_id: MessageId::from_stored("1700000000000-out-0123456789abcdef".into()),
            channel: Channel::WebForm,
            recipient: "maya@northwind.example".into(),
            recipient_name: Some("Maya Lin".into()),
            subject: "Re: Invite [tkt_0123456789abcdef0123456789abcdef]".into(),
            body: "Hello Maya,\n\nGo to Settings → Members.".into(),
            correlation_id: "c-1".into(),
        };
        let from: EmailAddress = "support@tandem.example".parse().unwrap();
        let mime = String::from_utf8(compose_mime(&from, &reply).unwrap()).unwrap();
        assert!(
            mime.contains("From: \"Tandem Support\" <support@tandem.example>"),
            "{mime}"
        );
        assert!(mime.contains("To: \"Maya Lin\" <maya@northwind.example>"), "{mime}");
        assert!(
            mime.contains(
                "Message-ID: <1700000000000-out-0123456789abcdef.tkt_0123456789abcdef0123456789abcdef@tandem.example>"
            ),
            "{mime}"
        );
        assert!(
            mime.contains("X-Ticket-Id: tkt_0123456789abcdef0123456789abcdef"),
            "{mime}"
        );
    }
}
