use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Cursor, HistoryId, MailboxCursor};
use crate::ports::InfraError;

/// Mailbox cursors in memory, for unit tests.
#[derive(Default)]
pub struct MemoryCursor {
    cursors: Mutex<HashMap<String, Cursor>>,
}

impl MemoryCursor {
    fn with<T>(&self, mailbox: &str, f: impl FnOnce(&mut Cursor) -> T) -> T {
        let mut cursors = self.cursors.lock().expect("not poisoned");
        f(cursors.entry(mailbox.to_lowercase()).or_default())
    }
}

#[async_trait]
impl MailboxCursor for MemoryCursor {
    async fn read(&self, mailbox: &str) -> Result<Cursor, InfraError> {
        Ok(self.with(mailbox, |c| c.clone()))
    }

    async fn advance(&self, mailbox: &str, to: HistoryId) -> Result<(), InfraError> {
        self.with(mailbox, |c| c.history_id = c.history_id.max(Some(to)));
        Ok(())
    }

    async fn watch_renewed(&self, mailbox: &str, expires_at: DateTime<Utc>) -> Result<(), InfraError> {
        self.with(mailbox, |c| c.watch_expires_at = Some(expires_at));
        Ok(())
    }
}
