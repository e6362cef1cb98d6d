//! Delivery by WhatsApp: a stored reply is sent in parts of at most 1,600 characters,
//! split between sentences, each part once. The sender claims the reply before calling
//! Twilio and records each part's SID as Twilio accepts it; an attempt that takes over from
//! one that stopped midway first asks Twilio which parts it already holds. Throttling and
//! server errors are retried with backoff (looking first, after an error that may have
//! reached Twilio); a refusal is final: the reply is marked failed and a person takes the
//! ticket (63016, the closed 24-hour window, with that reason).
//!
//! Twilio then reports each part's delivery on the status callback ([`record_status`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{claim, delivered, SEND_LEASE};
use crate::agent::whatsapp_messages;
use crate::domain::whatsapp::WINDOW_CLOSED_ERROR;
use crate::domain::{Channel, DeliveryStatus, EscalationReason, MessageId, OutboundReply, TicketId};
use crate::ports::team::TeamAlert;
use crate::ports::tickets::{DeliveryFailure, DeliveryLog};
use crate::ports::whatsapp::{OutgoingMessage, ProviderMessage, WhatsappApi, WhatsappError};
use crate::ports::InfraError;
use crate::ProcessingError;

/// How a part is retried within one attempt before the queue redelivers the reply.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    /// Doubled after each failure.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
        }
    }
}

/// How far back a take-over looks for parts an earlier attempt sent: Twilio's clock and
/// ours may differ a little.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(1);

/// Where a part of a reply is reported: the status callback URL with the reply's ids.
#[derive(Debug, Clone)]
pub struct StatusCallback {
    /// The public URL of `POST /webhooks/whatsapp/status`.
    pub url: String,
}

impl StatusCallback {
    /// The callback of one part. Ids are letters, digits, `_` and `-` only: nothing to encode.
    fn for_part(&self, reply: &OutboundReply, part: usize, parts: usize) -> String {
        format!(
            "{}?ticket={}&message={}&part={part}&parts={parts}",
            self.url, reply.ticket_id, reply.message_id
        )
    }
}

pub struct WhatsappDelivery {
    log: Arc<dyn DeliveryLog>,
    api: Arc<dyn WhatsappApi>,
    status_callback: StatusCallback,
    team: TeamAlert,
    retry: RetryPolicy,
    lease: chrono::Duration,
}

impl WhatsappDelivery {
    pub fn new(
        log: Arc<dyn DeliveryLog>,
        api: Arc<dyn WhatsappApi>,
        status_callback: StatusCallback,
        team: TeamAlert,
    ) -> Self {
        Self {
            log,
            api,
            status_callback,
            team,
            retry: RetryPolicy::default(),
            lease: SEND_LEASE,
        }
    }

    /// Retries and claims on another time scale (tests).
    pub fn with_timing(mut self, retry: RetryPolicy, lease: chrono::Duration) -> Self {
        self.retry = retry;
        self.lease = lease;
        self
    }

    pub async fn send(&self, reply: &OutboundReply) -> Result<(), ProcessingError> {
        let (ticket, id) = (&reply.ticket_id, &reply.message_id);
        let Some(claim) = claim(self.log.as_ref(), reply, self.lease).await? else {
            return Ok(());
        };
        let parts = whatsapp_messages(&reply.body);
        let taken_over = claim.taken_over_from.map(|at| at - CLOCK_SKEW);
        if let Some(since) = taken_over {
            tracing::warn!(%since, "taking over a send that stopped midway: asking Twilio what it holds");
        }
        let mut last_sid = String::new();
        for (part, body) in parts.iter().enumerate() {
            if let Some(sid) = claim.sent_parts.get(&part) {
                last_sid.clone_from(sid);
                continue;
            }
            let message = OutgoingMessage {
                to: reply.recipient.clone(),
                body: body.clone(),
                status_callback: Some(self.status_callback.for_part(reply, part, parts.len())),
            };
            match self.send_part(&message, taken_over).await {
                Ok(sent) => {
                    self.log.record_part(ticket, id, part, &sent.sid).await?;
                    last_sid = sent.sid;
                }
                Err(WhatsappError::Refused { code, message }) => {
                    // Sending again would fail again: a person takes the ticket.
                    let failure = refusal(code, &message, Utc::now());
                    self.team
                        .hand_over(self.log.as_ref(), ticket, id, reply.channel, &failure)
                        .await?;
                    tracing::warn!(code, error = %message, part, "Twilio refused the reply: handed to a person");
                    return Ok(());
                }
                Err(e) => return Err(ProcessingError::Transient(format!("part {part}: {e}"))),
            }
        }
        self.log.mark_sent(ticket, id, &last_sid, &[], Utc::now()).await?;
        tracing::info!(parts = parts.len(), provider_message_id = %last_sid, "reply sent on WhatsApp");
        delivered(reply);
        Ok(())
    }

    /// One part, retried on throttling and server errors. When the part may already be at
    /// Twilio (`look_since`: an earlier attempt stopped, or an error after the request
    /// left), Twilio is asked first.
    async fn send_part(
        &self,
        message: &OutgoingMessage,
        mut look_since: Option<DateTime<Utc>>,
    ) -> Result<ProviderMessage, WhatsappError> {
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            if let Some(since) = look_since {
                if let Some(found) = self.api.find_sent(&message.to, &message.body, since).await? {
                    tracing::info!(sid = %found.sid, "Twilio already had this part: not sending it again");
                    return Ok(found);
                }
            }
            let started = Utc::now() - CLOCK_SKEW;
            let wait = match self.api.send(message).await {
                Ok(sent) => return Ok(sent),
                Err(WhatsappError::Throttled { retry_after }) => retry_after.unwrap_or(backoff),
                Err(WhatsappError::Unavailable { may_have_sent, why }) => {
                    tracing::warn!(attempt, %why, "Twilio unavailable");
                    if may_have_sent {
                        look_since.get_or_insert(started);
                    }
                    backoff
                }
                Err(refused) => return Err(refused),
            };
            if attempt >= self.retry.attempts {
                return Err(WhatsappError::Unavailable {
                    why: format!("still failing after {attempt} attempts"),
                    may_have_sent: look_since.is_some(),
                });
            }
            tokio::time::sleep(wait).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// Twilio refused a message for good: why, for the person who takes over.
fn refusal(code: u32, message: &str, at: DateTime<Utc>) -> DeliveryFailure {
    DeliveryFailure {
        status: DeliveryStatus::Failed,
        reason: failure_reason(Some(code)),
        note: format!("Twilio error {code}: {message}"),
        at,
    }
}

/// Why a person takes the ticket when Twilio could not deliver: 63016 is the closed window.
fn failure_reason(code: Option<u32>) -> EscalationReason {
    match code {
        Some(WINDOW_CLOSED_ERROR) => EscalationReason::WindowClosed,
        _ => EscalationReason::DeliveryFailed,
    }
}

/// One status callback of Twilio, for one part of a reply (the ids come from the callback
/// URL the sender gave, which Twilio signs).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub ticket_id: TicketId,
    pub message_id: MessageId,
    pub part: usize,
    pub parts: usize,
    /// The part's SID (Twilio's `MessageSid`).
    pub sid: String,
    pub status: DeliveryStatus,
    pub error_code: Option<u32>,
}

/// Records a status callback. A failure of any part hands the ticket to a person with the
/// error code; otherwise the reply's status follows its last part, and only forward. Each
/// part's SID is recorded: a sender that stopped before recording one leaves no gap.
pub async fn record_status(log: &dyn DeliveryLog, team: &TeamAlert, report: &StatusReport) -> Result<(), InfraError> {
    let (ticket, id) = (&report.ticket_id, &report.message_id);
    if report.status.is_failure() {
        let code = report
            .error_code
            .map_or_else(|| "no error code".to_owned(), |c| format!("error {c}"));
        let failure = DeliveryFailure {
            status: report.status,
            reason: failure_reason(report.error_code),
            note: format!(
                "Twilio reported part {} of {} {} ({code})",
                report.part + 1,
                report.parts,
                report.status
            ),
            at: Utc::now(),
        };
        team.hand_over(log, ticket, id, Channel::Whatsapp, &failure).await?;
        tracing::warn!(status = %report.status, error_code = ?report.error_code, "the reply did not reach the customer: handed to a person");
        return Ok(());
    }
    if report.part + 1 < report.parts {
        return log.record_part(ticket, id, report.part, &report.sid).await;
    }
    let moved = log.record_delivery(ticket, id, report.status, &report.sid).await?;
    tracing::info!(status = %report.status, moved, "delivery status");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::domain::{Channel, ConversationMessage, CustomerId, Direction, Ticket};
    use crate::ports::team::memory::MemoryTeam;
    use crate::ports::tickets::memory::MemoryTickets;
    use crate::ports::tickets::{ReplyLog, TicketReader, TurnRecord};
    use crate::records::{Actor, AuditAction};

    /// Twilio, scripted: answers from `script` first, then accepts; keeps what it accepted.
    #[derive(Default)]
    struct Scripted {
        script: Mutex<Vec<WhatsappError>>,
        accepted: Mutex<Vec<OutgoingMessage>>,
    }

    #[async_trait]
    impl WhatsappApi for Scripted {
        async fn send(&self, message: &OutgoingMessage) -> Result<ProviderMessage, WhatsappError> {
            let scripted = self.script.lock().unwrap().pop();
            if let Some(error) = scripted {
                return Err(error);
            }
            let mut accepted = self.accepted.lock().unwrap();
            accepted.push(message.clone());
            Ok(ProviderMessage {
                sid: format!("SM{}", accepted.len()),
                status: DeliveryStatus::Queued,
            })
        }

        async fn find_sent(
            &self,
            to: &str,
            body: &str,
            _since: DateTime<Utc>,
        ) -> Result<Option<ProviderMessage>, WhatsappError> {
            let accepted = self.accepted.lock().unwrap();
            Ok(accepted
                .iter()
                .position(|m| m.to == to && m.body == body)
                .map(|i| ProviderMessage {
                    sid: format!("SM{}", i + 1),
                    status: DeliveryStatus::Sent,
                }))
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(1),
        }
    }

    /// A stored WhatsApp reply, as the agent records it.
    async fn stored_reply(log: &MemoryTickets, body: &str) -> OutboundReply {
        let ticket = Ticket::open(
            TicketId::generate(),
            CustomerId::generate(),
            Channel::Whatsapp,
            "Conversation".into(),
            crate::domain::Category::General,
            crate::domain::Priority::Medium,
            Utc::now(),
        );
        let inbound = MessageId::inbound(Utc::now().timestamp_millis(), "whatsapp#SM0");
        let message = ConversationMessage {
            id: inbound.clone(),
            ticket_id: ticket.id.clone(),
            customer_id: ticket.customer_id.clone(),
            direction: Direction::Inbound,
            channel: Channel::Whatsapp,
            body: "hi".into(),
            created_at: Utc::now(),
            delivery_status: None,
            provider_message_id: None,
            attachments: Vec::new(),
            has_original: false,
            person: None,
        };
        use crate::ports::tickets::{IntakeLog, IntakeRecord, Placement};
        use crate::records::{Actor, AuditAction, AuditEntry};
        let record = IntakeRecord {
            key: "whatsapp#SM0".into(),
            placement: Placement::New(Box::new(ticket.clone())),
            message: message.clone(),
            queued_as: crate::ports::queue::QueueMessage {
                body: String::new(),
                group_id: None,
                deduplication_id: None,
                correlation_id: "c".into(),
            },
            conversation: None,
            original: None,
            thread_keys: Vec::new(),
            audit: AuditEntry::new(&ticket.id, Utc::now(), Actor::Customer, AuditAction::Received),
        };
        log.store(&record).await.unwrap();
        let reply = ConversationMessage {
            id: MessageId::reply_to(&inbound),
            direction: Direction::Outbound,
            body: body.into(),
            delivery_status: Some(DeliveryStatus::Queued),
            ..message
        };
        let turn = TurnRecord::answered(reply.clone(), inbound);
        log.record_reply(&turn, Utc::now()).await.unwrap();
        OutboundReply {
            ticket_id: ticket.id,
            message_id: reply.id,
            channel: Channel::Whatsapp,
            recipient: "+5511987654321".into(),
            recipient_name: None,
            subject: String::new(),
            body: body.into(),
            correlation_id: "c".into(),
            confirm_token: None,
            in_reply_to: None,
            references: Vec::new(),
            received_at: None,
        }
    }

    fn delivery(log: Arc<MemoryTickets>, api: Arc<Scripted>) -> WhatsappDelivery {
        let callback = StatusCallback {
            url: "https://support.example/webhooks/whatsapp/status".into(),
        };
        WhatsappDelivery::new(log, api, callback, alert(Arc::default())).with_timing(fast(), SEND_LEASE)
    }

    /// The team, told of failures through `team`.
    fn alert(team: Arc<MemoryTeam>) -> TeamAlert {
        TeamAlert {
            notifier: team,
            console_url: "https://support.example/console/".into(),
        }
    }

    async fn status_of(log: &MemoryTickets, reply: &OutboundReply) -> (Option<DeliveryStatus>, Ticket) {
        let (ticket, messages) = log.ticket_thread(&reply.ticket_id).await.unwrap().unwrap();
        let stored = messages.iter().find(|m| m.id == reply.message_id).unwrap();
        (stored.delivery_status, ticket)
    }

    #[tokio::test]
    async fn a_long_reply_goes_in_parts_each_once_with_its_callback() {
        let log = Arc::new(MemoryTickets::default());
        let api = Arc::new(Scripted::default());
        let reply = stored_reply(&log, &"Open the board menu and choose Export. ".repeat(90)).await;
        let sender = delivery(log.clone(), api.clone());
        sender.send(&reply).await.unwrap();
        sender.send(&reply).await.unwrap();
        let accepted = api.accepted.lock().unwrap().clone();
        assert_eq!(accepted.len(), 3, "split once, sent once");
        assert!(accepted.iter().all(|m| m.body.encode_utf16().count() <= 1600));
        assert!(accepted[2]
            .status_callback
            .as_deref()
            .unwrap()
            .ends_with("&part=2&parts=3"));
        assert_eq!(status_of(&log, &reply).await.0, Some(DeliveryStatus::Sent));
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried_without_a_second_message() {
        let log = Arc::new(MemoryTickets::default());
        let api = Arc::new(Scripted::default());
        api.script.lock().unwrap().extend([
            WhatsappError::Unavailable {
                why: "500".into(),
                may_have_sent: true,
            },
            WhatsappError::Throttled { retry_after: None },
        ]);
        let reply = stored_reply(&log, "Go to Settings, then Members.").await;
        delivery(log.clone(), api.clone()).send(&reply).await.unwrap();
        assert_eq!(api.accepted.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn an_attempt_that_stopped_after_twilio_accepted_is_taken_over_without_a_second_message() {
        let log = Arc::new(MemoryTickets::default());
        let api = Arc::new(Scripted::default());
        let reply = stored_reply(&log, "Go to Settings, then Members.").await;
        // The first attempt claimed the reply and Twilio accepted it; then the process died.
        let lease = chrono::Duration::milliseconds(10);
        log.claim_send(&reply.ticket_id, &reply.message_id, Utc::now(), lease)
            .await
            .unwrap();
        let first = OutgoingMessage {
            to: reply.recipient.clone(),
            body: reply.body.clone(),
            status_callback: None,
        };
        api.send(&first).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let sender = WhatsappDelivery::new(
            log.clone(),
            api.clone(),
            StatusCallback {
                url: "https://x.example/s".into(),
            },
            alert(Arc::default()),
        )
        .with_timing(fast(), lease);
        sender.send(&reply).await.unwrap();
        assert_eq!(api.accepted.lock().unwrap().len(), 1, "found at Twilio, not sent again");
        let (_, messages) = log.ticket_thread(&reply.ticket_id).await.unwrap().unwrap();
        let stored = messages.iter().find(|m| m.id == reply.message_id).unwrap();
        assert_eq!(stored.delivery_status, Some(DeliveryStatus::Sent));
        assert_eq!(stored.provider_message_id.as_deref(), Some("SM1"), "its SID recorded");
    }

    #[tokio::test]
    async fn outside_the_window_the_reply_fails_and_a_person_takes_the_ticket() {
        let log = Arc::new(MemoryTickets::default());
        let api = Arc::new(Scripted::default());
        api.script.lock().unwrap().push(WhatsappError::Refused {
            code: 63016,
            message: "Failed to send freeform message because you are outside the allowed window.".into(),
        });
        let reply = stored_reply(&log, "Go to Settings, then Members.").await;
        delivery(log.clone(), api.clone()).send(&reply).await.unwrap();
        let (status, ticket) = status_of(&log, &reply).await;
        assert_eq!(status, Some(DeliveryStatus::Failed));
        assert_eq!(ticket.escalation_reason, Some(EscalationReason::WindowClosed));
        assert!(ticket.escalation_note.unwrap().contains("63016"));
        assert!(api.accepted.lock().unwrap().is_empty(), "no retry loop");
    }

    #[tokio::test]
    async fn callbacks_move_a_reply_forward_only_and_a_failed_part_hands_it_over() {
        let log = Arc::new(MemoryTickets::default());
        let team = Arc::new(MemoryTeam::default());
        let alert = alert(team.clone());
        let reply = stored_reply(&log, "Go to Settings, then Members.").await;
        let report = |status, part| StatusReport {
            ticket_id: reply.ticket_id.clone(),
            message_id: reply.message_id.clone(),
            part,
            parts: 2,
            sid: format!("SM{part}"),
            status,
            error_code: None,
        };
        for status in [DeliveryStatus::Sent, DeliveryStatus::Read, DeliveryStatus::Delivered] {
            record_status(log.as_ref(), &alert, &report(status, 1)).await.unwrap();
        }
        assert_eq!(
            status_of(&log, &reply).await.0,
            Some(DeliveryStatus::Read),
            "read never becomes delivered"
        );
        let failed = StatusReport {
            error_code: Some(30008),
            ..report(DeliveryStatus::Undelivered, 0)
        };
        record_status(log.as_ref(), &alert, &failed).await.unwrap();
        let (status, ticket) = status_of(&log, &reply).await;
        assert_eq!(status, Some(DeliveryStatus::Read), "what was read stays read");
        assert_eq!(ticket.escalation_reason, Some(EscalationReason::DeliveryFailed));
        assert!(ticket.escalation_note.unwrap().contains("30008"));
        let failure = log.audit().pop().expect("the failure is in the audit trail");
        assert_eq!(
            (failure.action, failure.actor),
            (AuditAction::DeliveryFailed, Actor::System)
        );
        assert!(failure.why.unwrap().contains("30008"));
        let told = team.notices();
        assert_eq!(told.len(), 1, "the team is told once");
        assert_eq!(told[0].reason, Some(EscalationReason::DeliveryFailed));
        assert!(told[0].text().contains("30008"));
        // Twilio usually reports the closed window after accepting the message: the same reason.
        let window = StatusReport {
            error_code: Some(63016),
            ..report(DeliveryStatus::Failed, 1)
        };
        record_status(log.as_ref(), &alert, &window).await.unwrap();
        let (_, ticket) = status_of(&log, &reply).await;
        assert_eq!(ticket.escalation_reason, Some(EscalationReason::WindowClosed));
    }
}
