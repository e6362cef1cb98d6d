//! The support team: who is online to take an escalation, and telling them.

pub mod memory;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use std::sync::Arc;

use super::tickets::{DeliveryFailure, DeliveryLog};
use super::InfraError;
use crate::domain::{Channel, EscalationReason, MessageId, TicketId};

/// How long an operator counts as online after the console last reported them.
pub const PRESENCE_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// Operators' presence, as the console reports it.
#[async_trait]
pub trait Presence: Send + Sync {
    /// `operator` is online now (the console reports it every minute).
    async fn seen(&self, operator: &str, at: DateTime<Utc>) -> Result<(), InfraError>;

    /// The operators seen since `since`, by username.
    async fn online(&self, since: DateTime<Utc>) -> Result<Vec<String>, InfraError>;
}

named_set!(NoticeKind {
    /// A ticket was handed to people.
    Escalated,
    /// The customer wrote again on a ticket a person has.
    CustomerWrote,
});

/// What the team is told, on the team's topic (email or HTTPS subscribers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamNotice {
    pub kind: NoticeKind,
    pub ticket_id: TicketId,
    pub channel: Channel,
    pub subject: String,
    pub reason: Option<EscalationReason>,
    /// Why, in a sentence or two, for the person who picks it up.
    pub summary: String,
    /// The operator it is assigned to; none: the team's queue.
    pub assignee: Option<String>,
    /// The ticket in the operator console.
    pub link: String,
}

impl TeamNotice {
    /// The notice's subject line (an email subscriber's subject).
    pub fn title(&self) -> String {
        let whom = self.assignee.as_deref().unwrap_or("the team");
        match self.kind {
            NoticeKind::Escalated => format!(
                "Escalated ({}) to {whom}: {}",
                self.reason.map_or("other", EscalationReason::as_str),
                self.subject
            ),
            NoticeKind::CustomerWrote => format!("The customer wrote again ({whom}): {}", self.subject),
        }
    }

    /// The notice as plain text, for an email subscriber.
    pub fn text(&self) -> String {
        format!(
            "{}\n\nTicket: {}\nChannel: {}\nAssigned to: {}\n\n{}\n\nOpen it in the console: {}\n",
            self.title(),
            self.ticket_id,
            self.channel,
            self.assignee.as_deref().unwrap_or("nobody yet (team queue)"),
            self.summary,
            self.link
        )
    }
}

/// Where the team's notices go.
#[async_trait]
pub trait TeamNotifier: Send + Sync {
    async fn notify(&self, notice: &TeamNotice) -> Result<(), InfraError>;
}

/// The team's topic, and the console its notices link to: told of every escalation (the
/// agent's, a person's, a reply that could not reach the customer).
#[derive(Clone)]
pub struct TeamAlert {
    pub notifier: Arc<dyn TeamNotifier>,
    /// The operator console's address, for the link in the notice.
    pub console_url: String,
}

impl TeamAlert {
    /// The ticket in the operator console.
    pub fn link(&self, ticket: &TicketId) -> String {
        console_link(&self.console_url, ticket)
    }

    pub async fn notify(&self, notice: &TeamNotice) -> Result<(), InfraError> {
        self.notifier.notify(notice).await
    }

    /// The ticket goes to a person (the failure recorded with it), then the team is told.
    /// Run again on a redelivery, the record stays one and the notice may repeat.
    pub async fn hand_over(
        &self,
        log: &dyn DeliveryLog,
        ticket: &TicketId,
        message: &MessageId,
        channel: Channel,
        failure: &DeliveryFailure,
    ) -> Result<(), InfraError> {
        log.hand_over(ticket, message, failure).await?;
        let notice = TeamNotice {
            kind: NoticeKind::Escalated,
            ticket_id: ticket.clone(),
            channel,
            subject: "a reply could not be delivered".into(),
            reason: Some(failure.reason),
            summary: failure.note.clone(),
            assignee: None,
            link: self.link(ticket),
        };
        self.notify(&notice).await
    }
}

/// The console's link to a ticket.
pub fn console_link(console_url: &str, ticket: &TicketId) -> String {
    format!("{}#/tickets/{ticket}", console_url.trim_end_matches('#'))
}

/// The operator an escalation goes to: one of those online, the same one for the same
/// ticket (so a redelivered turn assigns it alike), none when nobody is online.
pub fn pick_assignee(online: &[String], ticket: &TicketId) -> Option<String> {
    use sha2::{Digest, Sha256};
    let mut online: Vec<&String> = online.iter().collect();
    online.sort();
    online.dedup();
    if online.is_empty() {
        return None;
    }
    let hash = Sha256::digest(ticket.as_str().as_bytes());
    let index = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes")) % online.len() as u64;
    Some(online[index as usize].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalations_go_to_someone_online_or_to_the_team() {
        let ticket = TicketId::derived_from("t");
        assert_eq!(pick_assignee(&[], &ticket), None);
        let online = vec!["bob".to_owned(), "alice".to_owned()];
        let picked = pick_assignee(&online, &ticket).unwrap();
        assert!(online.contains(&picked));
        let reordered = vec!["alice".to_owned(), "bob".to_owned()];
        assert_eq!(pick_assignee(&reordered, &ticket), Some(picked));
    }
}
