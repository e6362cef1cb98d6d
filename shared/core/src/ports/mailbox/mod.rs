//! The support mailbox that customers write to: Gmail's API in production (`support-aws`),
//! the local stand-in on one machine. The mailbox is read by change history: each change
//! has a history id, a number that only grows (Gmail sends it as a JSON number in pushes
//! and as a string in its API: it is compared as an integer here).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod memory;

use super::InfraError;

/// A point in the mailbox's change history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HistoryId(pub u64);

impl std::fmt::Display for HistoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A message in the mailbox, by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// The mailbox's id of the message (Gmail's message id).
    pub id: String,
    pub thread_id: String,
    /// The history record that added it, when it was read from the history: a sync that
    /// stops before it can resume there.
    pub history_id: Option<HistoryId>,
}

/// Messages that arrived in the inbox, and where the history stands after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxChanges {
    /// Oldest first, each once.
    pub added: Vec<MessageRef>,
    /// The mailbox's latest history id: the next sync starts here.
    pub history_id: HistoryId,
}

/// One message as the mailbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMessage {
    pub id: String,
    pub thread_id: String,
    /// The complete RFC 822 message.
    pub raw: Vec<u8>,
    /// The mailbox's labels (`INBOX`, `SENT`...).
    pub labels: Vec<String>,
    /// When the mailbox received it.
    pub received_at: DateTime<Utc>,
}

/// The mailbox's push notifications, renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub history_id: HistoryId,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The history id is older than the mailbox keeps (Gmail's 404): sync from recent
    /// messages instead.
    #[error("the history id is too old")]
    HistoryExpired,
    /// The message is gone (deleted between the change and the read).
    #[error("no such message")]
    NotFound,
    /// The mailbox refused the credentials or the request for good: retrying will not help
    /// until a person fixes the configuration.
    #[error("refused: {0}")]
    Refused(String),
    /// The mailbox could not be reached or was overloaded: a later attempt may pass.
    #[error(transparent)]
    Unavailable(#[from] InfraError),
}

#[async_trait]
pub trait Mailbox: Send + Sync {
    /// Messages added to the inbox after `since` (every page), and the history id now.
    async fn inbox_added_since(&self, since: HistoryId) -> Result<InboxChanges, MailboxError>;

    /// The most recent inbox messages, at most `limit`, and the history id now: the full
    /// sync after [`MailboxError::HistoryExpired`], and the first sync of a new mailbox.
    async fn recent_inbox(&self, limit: usize) -> Result<InboxChanges, MailboxError>;

    async fn message(&self, id: &str) -> Result<MailboxMessage, MailboxError>;

    /// Starts or renews push notifications for the inbox.
    async fn watch(&self) -> Result<Watch, MailboxError>;
}

/// Where the sync of a mailbox stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The history id up to which every message was taken in; `None` before the first sync.
    pub history_id: Option<HistoryId>,
    /// When the mailbox's push notifications stop unless renewed.
    pub watch_expires_at: Option<DateTime<Utc>>,
}

/// The mailbox's sync position: written only by the inbox sync.
#[async_trait]
pub trait MailboxCursor: Send + Sync {
    async fn read(&self, mailbox: &str) -> Result<Cursor, InfraError>;

    /// Moves the history id forward to `to`; never backwards (a slower sync that finishes
    /// later leaves the further position in place).
    async fn advance(&self, mailbox: &str, to: HistoryId) -> Result<(), InfraError>;

    async fn watch_renewed(&self, mailbox: &str, expires_at: DateTime<Utc>) -> Result<(), InfraError>;
}
