use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Presence, TeamNotice, TeamNotifier};
use crate::ports::InfraError;

/// The team in memory, for unit tests: who was seen when, and every notice sent.
#[derive(Default)]
pub struct MemoryTeam {
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
    notices: Mutex<Vec<TeamNotice>>,
}

impl MemoryTeam {
    pub fn notices(&self) -> Vec<TeamNotice> {
        self.notices.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl Presence for MemoryTeam {
    async fn seen(&self, operator: &str, at: DateTime<Utc>) -> Result<(), InfraError> {
        self.seen.lock().expect("not poisoned").insert(operator.to_owned(), at);
        Ok(())
    }

    async fn online(&self, since: DateTime<Utc>) -> Result<Vec<String>, InfraError> {
        let seen = self.seen.lock().expect("not poisoned");
        Ok(seen
            .iter()
            .filter(|(_, at)| **at >= since)
            .map(|(o, _)| o.clone())
            .collect())
    }
}

#[async_trait]
impl TeamNotifier for MemoryTeam {
    async fn notify(&self, notice: &TeamNotice) -> Result<(), InfraError> {
        self.notices.lock().expect("not poisoned").push(notice.clone());
        Ok(())
    }
}
