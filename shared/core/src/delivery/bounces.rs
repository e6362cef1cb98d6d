//! What the email provider reports after it accepted a mail: a permanent bounce or a
//! complaint makes the address undeliverable (no mail goes to it again), and the ticket of
//! the mail goes to a person with the reason.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{Channel, DeliveryStatus, EscalationReason, MailEventKind};
use crate::ports::mailer::{Undeliverable, Undeliverables};
use crate::ports::team::TeamAlert;
use crate::ports::tickets::{DeliveryFailure, DeliveryLog};
use crate::ports::InfraError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailEvent {
    pub kind: MailEventKind,
    /// The provider's id of the mail (SES's message id).
    pub provider_message_id: String,
    pub recipients: Vec<String>,
    /// The provider's words (a diagnostic code, a feedback type), for people.
    pub detail: String,
    pub at: DateTime<Utc>,
}

pub struct MailEvents {
    undeliverables: Arc<dyn Undeliverables>,
    log: Arc<dyn DeliveryLog>,
    team: TeamAlert,
}

impl MailEvents {
    pub fn new(undeliverables: Arc<dyn Undeliverables>, log: Arc<dyn DeliveryLog>, team: TeamAlert) -> Self {
        Self {
            undeliverables,
            log,
            team,
        }
    }

    /// Records the event; safe to run again (SNS delivers at least once).
    pub async fn handle(&self, event: &MailEvent) -> Result<(), InfraError> {
        let why = match event.kind {
            MailEventKind::TransientBounce => {
                tracing::info!(provider_message_id = %event.provider_message_id, "a transient bounce: the provider keeps trying");
                return Ok(());
            }
            MailEventKind::PermanentBounce => format!("The address bounced: {}", event.detail),
            MailEventKind::Complaint => format!("The recipient marked our mail as spam ({})", event.detail),
        };
        for address in &event.recipients {
            self.undeliverables
                .record(&Undeliverable {
                    address: address.to_lowercase(),
                    why: why.clone(),
                    at: event.at,
                })
                .await?;
        }
        let Some((ticket, message)) = self.log.message_of_thread(&event.provider_message_id).await? else {
            tracing::warn!(provider_message_id = %event.provider_message_id, kind = %event.kind, "a report about a mail we have no record of");
            return Ok(());
        };
        let failure = DeliveryFailure {
            status: DeliveryStatus::Undelivered,
            reason: EscalationReason::DeliveryFailed,
            note: format!("{why}. No further mail goes to {}.", event.recipients.join(", ")),
            at: event.at,
        };
        self.team
            .hand_over(self.log.as_ref(), &ticket, &message, Channel::Email, &failure)
            .await?;
        tracing::warn!(%ticket, kind = %event.kind, "the email could not be delivered: handed to a person");
        Ok(())
    }
}
