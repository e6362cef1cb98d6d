//! The support mailbox's intake: what arrived in the inbox since the last sync is parsed,
//! stripped to what the customer wrote now, and handed to the intake, each message once.
//! A push from the mailbox only says that something arrived; the stored history id says
//! from where to look, and moves only forward once everything up to it was taken in.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{text, Attachment, Channel, EmailAddress, EmailThread, IdentityProof, InboundMessage, Sender};
use crate::email::{self, ParsedEmail};
use crate::intake::Intake;
use crate::ports::mailbox::{HistoryId, Mailbox, MailboxCursor, MailboxError, MailboxMessage, MessageRef};
use crate::telemetry;

/// How many recent inbox messages the first sync, and a sync after the history expired,
/// looks at (those taken in before are recognised by their ids).
const RECENT_MESSAGES: usize = 50;
/// How far back the mailbox's first sync takes mail in: at go-live, older mail was
/// answered by people, not by the agent.
const FIRST_SYNC_LOOKBACK: Duration = Duration::hours(1);
/// How far back a sync after the history expired takes mail in: within what the intake
/// still recognises (its idempotency records last 30 days).
const RECOVERY_LOOKBACK: Duration = Duration::days(7);
/// The most mail one sync takes in, well within a function's time.
const MAX_MESSAGES_PER_SYNC: usize = 100;
/// How many syncs one scheduled poll runs at most, for a backlog.
const POLL_SYNCS: usize = 5;
/// The push watch is renewed when it would stop within this (Gmail's lasts 7 days).
pub const WATCH_RENEWAL: Duration = Duration::days(2);
/// The most of an email the agent reads (the form takes 5,000 characters); the rest stays
/// in the original.
const MAX_BODY_CHARS: usize = 20_000;
/// Labels of mail the support address wrote itself.
const OWN_LABELS: &[&str] = &["SENT", "DRAFT"];

/// The mailbox to sync, and how to trust its mail.
#[derive(Debug, Clone)]
pub struct InboxSettings {
    /// The support address: mail from it is ours, never a customer's.
    pub address: EmailAddress,
    /// Whose Authentication-Results headers prove a sender (Gmail's `mx.google.com`):
    /// the only ones the mailbox's own servers add.
    pub authserv_id: String,
}

pub struct InboxSync {
    mailbox: Arc<dyn Mailbox>,
    cursor: Arc<dyn MailboxCursor>,
    intake: Intake,
    settings: InboxSettings,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub accepted: usize,
    /// Our own mail, auto-replies and bounces, and what is not an email.
    pub skipped: usize,
    /// Where the history stands now.
    pub history_id: Option<HistoryId>,
    /// Mail is left for the next sync (a backlog larger than one sync takes).
    pub more: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error(transparent)]
    Infra(#[from] crate::ports::InfraError),
}

impl InboxSync {
    pub fn new(
        mailbox: Arc<dyn Mailbox>,
        cursor: Arc<dyn MailboxCursor>,
        intake: Intake,
        settings: InboxSettings,
    ) -> Self {
        Self {
            mailbox,
            cursor,
            intake,
            settings,
        }
    }

    pub fn address(&self) -> &EmailAddress {
        &self.settings.address
    }

    /// Takes in everything that arrived since the last sync. `pushed`: the history id a
    /// push announced; when the sync is already there, the push was a repeat.
    pub async fn sync(&self, pushed: Option<HistoryId>) -> Result<SyncReport, SyncError> {
        let mailbox = self.settings.address.as_str();
        let cursor = self.cursor.read(mailbox).await?;
        if let (Some(pushed), Some(done)) = (pushed, cursor.history_id) {
            if pushed <= done {
                tracing::info!(%pushed, %done, "a push for changes already taken in");
                return Ok(SyncReport {
                    history_id: Some(done),
                    ..SyncReport::default()
                });
            }
        }
        let now = Utc::now();
        let (changes, received_since) = match cursor.history_id {
            Some(since) => match self.mailbox.inbox_added_since(since).await {
                Err(MailboxError::HistoryExpired) => {
                    tracing::warn!(%since, "the mailbox no longer keeps that history: syncing from recent mail");
                    (
                        self.mailbox.recent_inbox(RECENT_MESSAGES).await?,
                        Some(now - RECOVERY_LOOKBACK),
                    )
                }
                other => (other?, None),
            },
            None => (
                self.mailbox.recent_inbox(RECENT_MESSAGES).await?,
                Some(now - FIRST_SYNC_LOOKBACK),
            ),
        };
        // A backlog is taken in over several syncs: this one stops before the first record
        // it leaves, and the next reads from there (what it reads twice is recognised).
        let (batch, resume) = match changes.added.get(MAX_MESSAGES_PER_SYNC) {
            Some(MessageRef {
                history_id: Some(next), ..
            }) => (
                &changes.added[..MAX_MESSAGES_PER_SYNC],
                Some(HistoryId(next.0.saturating_sub(1))),
            ),
            _ => (&changes.added[..], None),
        };
        let mut report = self.take_in(batch, received_since).await?;
        let reached = resume.unwrap_or(changes.history_id);
        self.cursor.advance(mailbox, reached).await?;
        report.history_id = Some(reached);
        report.more = resume.is_some();
        Ok(report)
    }

    /// The scheduled fallback: a sync (for pushes the mailbox never sent), and the push
    /// watch renewed before it stops.
    /// The sync comes first: a watch that cannot be renewed (a missing Pub/Sub grant) must
    /// not also stop the mail this poll is there to catch.
    pub async fn poll(&self, now: DateTime<Utc>) -> Result<SyncReport, SyncError> {
        let synced = self.sync_backlog().await;
        let renewed = self.renew_watch(now).await;
        let polled = synced.and_then(|report| renewed.map(|()| report));
        if polled.is_err() {
            telemetry::error();
        }
        polled
    }

    /// Syncs until nothing is left, or for [`POLL_SYNCS`] syncs.
    async fn sync_backlog(&self) -> Result<SyncReport, SyncError> {
        let mut total = SyncReport::default();
        for _ in 0..POLL_SYNCS {
            let report = self.sync(None).await?;
            total = SyncReport {
                accepted: total.accepted + report.accepted,
                skipped: total.skipped + report.skipped,
                ..report
            };
            if !total.more {
                break;
            }
        }
        Ok(total)
    }

    /// Renews the push watch when it stops within [`WATCH_RENEWAL`].
    async fn renew_watch(&self, now: DateTime<Utc>) -> Result<(), SyncError> {
        let mailbox = self.settings.address.as_str();
        let cursor = self.cursor.read(mailbox).await?;
        if cursor.watch_expires_at.is_none_or(|at| at - now < WATCH_RENEWAL) {
            let watch = self.mailbox.watch().await?;
            self.cursor.watch_renewed(mailbox, watch.expires_at).await?;
            tracing::info!(expires_at = %watch.expires_at, "the mailbox's push watch renewed");
        }
        Ok(())
    }

    /// Takes in the changes' mail, only what arrived after `received_since` when set.
    async fn take_in(
        &self,
        added: &[MessageRef],
        received_since: Option<DateTime<Utc>>,
    ) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        for added in added {
            let message = match self.mailbox.message(&added.id).await {
                Ok(message) => message,
                Err(MailboxError::NotFound) => {
                    report.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if received_since.is_some_and(|since| message.received_at < since) {
                tracing::info!(gmail_id = %message.id, received_at = %message.received_at, "older than the sync looks back: skipped");
                report.skipped += 1;
                continue;
            }
            match self.inbound(&message) {
                Some(inbound) => {
                    let accepted = self.intake.accept(inbound).await?;
                    tracing::info!(gmail_id = %message.id, ticket_id = %accepted.ticket_id, replay = accepted.replay, "email taken in");
                    report.accepted += 1;
                }
                None => report.skipped += 1,
            }
        }
        Ok(report)
    }

    /// The customer's message in a mail, or `None` for mail nobody should answer.
    fn inbound(&self, message: &MailboxMessage) -> Option<InboundMessage> {
        if message.labels.iter().any(|l| OWN_LABELS.contains(&l.as_str())) {
            tracing::info!(gmail_id = %message.id, "our own mail: skipped");
            return None;
        }
        let parsed = match email::parse(&message.raw) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::warn!(gmail_id = %message.id, error = %e, "not an email: skipped");
                return None;
            }
        };
        if parsed.auto_generated {
            tracing::info!(gmail_id = %message.id, "an automatic mail (a bounce, an auto-reply): not answered");
            return None;
        }
        let from = parsed.from.as_ref()?;
        let Ok(address) = from.address.parse::<EmailAddress>() else {
            tracing::warn!(gmail_id = %message.id, "a sender address that is not valid: skipped");
            return None;
        };
        if address.as_str().eq_ignore_ascii_case(self.settings.address.as_str()) {
            tracing::info!(gmail_id = %message.id, "mail from the support address: skipped");
            return None;
        }
        Some(self.customer_message(message, &parsed, address))
    }

    fn customer_message(
        &self,
        message: &MailboxMessage,
        parsed: &ParsedEmail,
        address: EmailAddress,
    ) -> InboundMessage {
        let own_words = text::at_most(&email::own_words(&parsed.text), MAX_BODY_CHARS, "\n[…]");
        let proven = parsed.sender_authenticated(&self.settings.authserv_id);
        InboundMessage {
            channel: Channel::Email,
            channel_message_id: message.id.clone(),
            sender: Sender {
                name: parsed.from.as_ref().and_then(|f| f.name.clone()),
                email: Some(address),
                phone: None,
            },
            subject: parsed.subject.clone(),
            original: (own_words.trim() != parsed.text.trim()).then(|| parsed.text.clone()),
            body: own_words,
            received_at: message.received_at,
            correlation_id: format!("gmail-{}", message.id),
            category: None,
            priority: None,
            // The mailbox checked DMARC for the From domain: the address is proven.
            proof: proven.then_some(IdentityProof::MailboxAuthentication),
            attachments: parsed
                .attachments
                .iter()
                .map(|a| Attachment {
                    url: format!("gmail:{}/{}", message.id, a.filename.as_deref().unwrap_or("attachment")),
                    content_type: a.content_type.clone(),
                })
                .collect(),
            email: Some(EmailThread {
                message_id: parsed.message_id.clone(),
                in_reply_to: parsed.in_reply_to.clone(),
                references: parsed.references.clone(),
            }),
            follows_ticket: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::ports::customers::memory::MemoryCustomers;
    use crate::ports::mailbox::memory::MemoryCursor;
    use crate::ports::mailbox::{InboxChanges, Watch};
    use crate::ports::queue::memory::MemoryQueue;
    use crate::ports::tickets::memory::MemoryTickets;
    use crate::ports::tickets::{IntakeLog, TicketReader};

    /// A mailbox whose history is the order its messages arrived in.
    #[derive(Default)]
    struct Inbox {
        messages: Mutex<Vec<MailboxMessage>>,
        history_expired: Mutex<bool>,
    }

    impl Inbox {
        fn arrive(&self, id: &str, labels: &[&str], raw: String) -> HistoryId {
            let mut messages = self.messages.lock().unwrap();
            // A second apart: the thread's order is the order of arrival.
            let received_at = Utc::now() + Duration::seconds(messages.len() as i64);
            messages.push(MailboxMessage {
                id: id.into(),
                thread_id: id.into(),
                raw: raw.into_bytes(),
                labels: labels.iter().map(|l| (*l).to_owned()).collect(),
                received_at,
            });
            HistoryId(messages.len() as u64)
        }

        /// The messages after the `from`th; `listed`: from a listing, without history ids.
        fn changes(&self, from: usize, listed: bool) -> InboxChanges {
            let messages = self.messages.lock().unwrap();
            let from = from.min(messages.len());
            InboxChanges {
                added: messages[from..]
                    .iter()
                    .zip(from + 1..)
                    .map(|(m, n)| MessageRef {
                        id: m.id.clone(),
                        thread_id: m.thread_id.clone(),
                        history_id: (!listed).then_some(HistoryId(n as u64)),
                    })
                    .collect(),
                history_id: HistoryId(messages.len() as u64),
            }
        }
    }

    #[async_trait]
    impl Mailbox for Inbox {
        async fn inbox_added_since(&self, since: HistoryId) -> Result<InboxChanges, MailboxError> {
            if std::mem::take(&mut *self.history_expired.lock().unwrap()) {
                return Err(MailboxError::HistoryExpired);
            }
            Ok(self.changes(since.0 as usize, false))
        }

        async fn recent_inbox(&self, limit: usize) -> Result<InboxChanges, MailboxError> {
            let len = self.messages.lock().unwrap().len();
            Ok(self.changes(len.saturating_sub(limit), true))
        }

        async fn message(&self, id: &str) -> Result<MailboxMessage, MailboxError> {
            let messages = self.messages.lock().unwrap();
            messages
                .iter()
                .find(|m| m.id == id)
                .cloned()
                .ok_or(MailboxError::NotFound)
        }

        async fn watch(&self) -> Result<Watch, MailboxError> {
            Ok(Watch {
                history_id: HistoryId(self.messages.lock().unwrap().len() as u64),
                expires_at: Utc::now() + Duration::days(7),
            })
        }
    }

    fn mail(from: &str, message_id: &str, in_reply_to: Option<&str>, subject: &str, body: &str) -> String {
        let domain = from.split('@').nth(1).unwrap();
        let threading = in_reply_to
            .map(|parent| format!("In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"))
            .unwrap_or_default();
        format!(
            "Authentication-Results: mx.google.com; dkim=pass header.i=@{domain}; spf=pass; dmarc=pass (p=NONE) header.from={domain}\r\n\
             From: Ada Lovelace <{from}>\r\nTo: support@tandem.example\r\nSubject: {subject}\r\n\
             Message-ID: <{message_id}>\r\n{threading}Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n{body}\r\n"
        )
    }

    /// Ada's first mail: a new thread.
    fn first_question() -> String {
        mail(
            "ada@lovelace.example",
            "a1@lovelace.example",
            None,
            "Export",
            "How do I export a board?",
        )
    }

    struct Setup {
        inbox: Arc<Inbox>,
        tickets: Arc<MemoryTickets>,
        sync: InboxSync,
    }

    fn setup() -> Setup {
        let inbox = Arc::new(Inbox::default());
        let tickets = Arc::new(MemoryTickets::default());
        let intake = Intake::new(
            Arc::new(MemoryCustomers::default()),
            tickets.clone(),
            Arc::new(MemoryQueue::default()),
        );
        let sync = InboxSync::new(
            inbox.clone(),
            Arc::new(MemoryCursor::default()),
            intake,
            InboxSettings {
                address: "support@tandem.example".parse().unwrap(),
                authserv_id: "mx.google.com".into(),
            },
        );
        Setup { inbox, tickets, sync }
    }

    /// The ticket of a mail, by its sender's address and Message-ID.
    async fn ticket_of(tickets: &MemoryTickets, message_id: &str) -> crate::domain::Ticket {
        let sender = match message_id.split_once('@') {
            Some((_, "mallory.example")) => "eve@mallory.example",
            _ => "ada@lovelace.example",
        };
        let key = EmailThread::sender_key(&sender.parse().unwrap(), message_id);
        tickets.ticket_of_thread(&[&key]).await.unwrap().expect("a ticket")
    }

    #[tokio::test]
    async fn replies_in_a_thread_continue_its_ticket_and_a_new_subject_opens_another() {
        let Setup { inbox, tickets, sync } = setup();
        inbox.arrive("g1", &["INBOX"], first_question());
        let first = sync.sync(None).await.unwrap();
        assert_eq!((first.accepted, first.history_id), (1, Some(HistoryId(1))));
        let ticket = ticket_of(&tickets, "a1@lovelace.example").await;

        // Our own reply, as the mailbox keeps it, and the customer's answer to it.
        inbox.arrive(
            "g2",
            &["SENT"],
            mail(
                "support@tandem.example",
                "r1@tandem.example",
                Some("a1@lovelace.example"),
                "Re: Export",
                "Use Export.",
            ),
        );
        let pushed = inbox.arrive(
            "g3",
            &["INBOX"],
            mail(
                "ada@lovelace.example",
                "a2@lovelace.example",
                Some("a1@lovelace.example"),
                "Re: Export",
                "It worked, thanks!\r\n\r\nOn Mon, 23 Nov 2026 at 09:01, Tandem Support <support@tandem.example> wrote:\r\n> Use Export.",
            ),
        );
        let second = sync.sync(Some(pushed)).await.unwrap();
        assert_eq!((second.accepted, second.skipped), (1, 1), "our own mail is skipped");
        assert_eq!(ticket_of(&tickets, "a2@lovelace.example").await.id, ticket.id);
        let (_, thread) = tickets.ticket_thread(&ticket.id).await.unwrap().unwrap();
        let reply = thread.last().unwrap();
        assert_eq!(
            reply.body, "It worked, thanks!",
            "the agent reads what the customer wrote now"
        );
        assert!(reply.has_original);
        let original = tickets.original(&ticket.id, &reply.id).await.unwrap().unwrap();
        assert!(
            original.contains("> Use Export."),
            "the original is kept whole: {original}"
        );

        // The same push again: nothing new.
        assert_eq!(sync.sync(Some(pushed)).await.unwrap().accepted, 0);

        inbox.arrive(
            "g4",
            &["INBOX"],
            mail(
                "ada@lovelace.example",
                "a3@lovelace.example",
                None,
                "Billing",
                "Where is my invoice?",
            ),
        );
        sync.sync(None).await.unwrap();
        assert_ne!(ticket_of(&tickets, "a3@lovelace.example").await.id, ticket.id);
    }

    #[tokio::test]
    async fn a_stranger_replying_in_a_thread_gets_a_ticket_of_their_own() {
        let Setup { inbox, tickets, sync } = setup();
        inbox.arrive("g1", &["INBOX"], first_question());
        inbox.arrive(
            "g2",
            &["INBOX"],
            mail(
                "eve@mallory.example",
                "e1@mallory.example",
                Some("a1@lovelace.example"),
                "Re: Export",
                "Show me Ada's board.",
            ),
        );
        sync.sync(None).await.unwrap();
        assert_ne!(
            ticket_of(&tickets, "e1@mallory.example").await.id,
            ticket_of(&tickets, "a1@lovelace.example").await.id
        );
    }

    #[tokio::test]
    async fn an_expired_history_falls_back_to_recent_mail_and_nothing_is_taken_twice() {
        let Setup { inbox, tickets, sync } = setup();
        inbox.arrive("g1", &["INBOX"], first_question());
        sync.sync(None).await.unwrap();
        inbox.arrive(
            "g2",
            &["INBOX"],
            mail(
                "ada@lovelace.example",
                "a2@lovelace.example",
                None,
                "Billing",
                "Where is my invoice?",
            ),
        );
        *inbox.history_expired.lock().unwrap() = true;
        let report = sync.poll(Utc::now()).await.unwrap();
        assert_eq!(report.history_id, Some(HistoryId(2)));
        let first = ticket_of(&tickets, "a1@lovelace.example").await;
        let (_, thread) = tickets.ticket_thread(&first.id).await.unwrap().unwrap();
        assert_eq!(thread.len(), 1, "the first mail, seen again, is not stored twice");
        ticket_of(&tickets, "a2@lovelace.example").await;
    }

    #[tokio::test]
    async fn the_first_sync_answers_only_recent_mail() {
        let Setup { inbox, tickets, sync } = setup();
        inbox.arrive("g1", &["INBOX"], first_question());
        inbox.messages.lock().unwrap()[0].received_at = Utc::now() - Duration::days(2);
        let report = sync.sync(None).await.unwrap();
        assert_eq!(
            (report.accepted, report.skipped),
            (0, 1),
            "mail from before go-live is left to people"
        );
        assert!(tickets
            .ticket_of_thread(&["a1@lovelace.example"])
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_backlog_is_taken_in_over_several_syncs_each_moving_the_history_on() {
        let Setup { inbox, tickets, sync } = setup();
        inbox.arrive("g0", &["INBOX"], first_question());
        sync.sync(None).await.unwrap();
        for n in 1..=150 {
            let raw = mail(
                &format!("c{n}@lovelace.example"),
                &format!("b{n}@lovelace.example"),
                None,
                "Export",
                "How do I export a board?",
            );
            inbox.arrive(&format!("g{n}"), &["INBOX"], raw);
        }
        let first = sync.sync(Some(HistoryId(151))).await.unwrap();
        assert_eq!((first.accepted, first.more), (100, true));
        assert_eq!(first.history_id, Some(HistoryId(101)), "resumes at the first mail left");
        let rest = sync.poll(Utc::now()).await.unwrap();
        assert_eq!((rest.accepted, rest.more), (50, false));
        let key = EmailThread::sender_key(&"c150@lovelace.example".parse().unwrap(), "b150@lovelace.example");
        assert!(tickets.ticket_of_thread(&[&key]).await.unwrap().is_some());
    }
}
