//! The support mailbox's intake: what arrived in the inbox since the last sync is parsed,
//! stripped to what the customer wrote now, and handed to the intake, each message once.
//! A push from the mailbox only says that something arrived; the stored history id says
//! from where to look, and moves only forward once everything up to it was taken in.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Attachment, Channel, EmailAddress, EmailThread, IdentityProof, InboundMessage, Sender};
use crate::email::{self, ParsedEmail};
use crate::intake::Intake;
use crate::ports::mailbox::{HistoryId, InboxChanges, Mailbox, MailboxCursor, MailboxError, MailboxMessage};

/// How many recent inbox messages the first sync, and a sync after the history expired,
/// looks at (those taken in before are recognised by their ids).
const RECENT_MESSAGES: usize = 50;
/// The push watch is renewed when it would stop within this (Gmail's lasts 7 days).
pub const WATCH_RENEWAL: Duration = Duration::days(2);
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
        let changes = match cursor.history_id {
            Some(since) => match self.mailbox.inbox_added_since(since).await {
                Err(MailboxError::HistoryExpired) => {
                    tracing::warn!(%since, "the mailbox no longer keeps that history: syncing from recent mail");
                    self.mailbox.recent_inbox(RECENT_MESSAGES).await?
                }
                other => other?,
            },
            None => self.mailbox.recent_inbox(RECENT_MESSAGES).await?,
        };
        let report = self.take_in(&changes).await?;
        self.cursor.advance(mailbox, changes.history_id).await?;
        Ok(report)
    }

    /// The scheduled fallback: a sync (for pushes the mailbox never sent), and the push
    /// watch renewed before it stops.
    pub async fn poll(&self, now: DateTime<Utc>) -> Result<SyncReport, SyncError> {
        let mailbox = self.settings.address.as_str();
        let cursor = self.cursor.read(mailbox).await?;
        if cursor.watch_expires_at.is_none_or(|at| at - now < WATCH_RENEWAL) {
            let watch = self.mailbox.watch().await?;
            self.cursor.watch_renewed(mailbox, watch.expires_at).await?;
            tracing::info!(expires_at = %watch.expires_at, "the mailbox's push watch renewed");
        }
        self.sync(None).await
    }

    async fn take_in(&self, changes: &InboxChanges) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport {
            history_id: Some(changes.history_id),
            ..SyncReport::default()
        };
        for added in &changes.added {
            let message = match self.mailbox.message(&added.id).await {
                Ok(message) => message,
                Err(MailboxError::NotFound) => {
                    report.skipped += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
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

    fn customer_message(&self, message: &MailboxMessage, parsed: &ParsedEmail, address: EmailAddress) -> InboundMessage {
        let own_words = email::own_words(&parsed.text);
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
