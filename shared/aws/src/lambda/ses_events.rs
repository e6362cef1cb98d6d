//! SES's bounce and complaint events, published by the configuration set to SNS: each SNS
//! message is one SES event (event publishing's `eventType`, or an identity
//! notification's `notificationType`).

use aws_lambda_events::event::sns::SnsEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use support_core::delivery::bounces::{MailEvent, MailEvents};
use support_core::domain::MailEventKind;
use support_core::ports::InfraError;
use support_core::telemetry;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    timestamp: DateTime<Utc>,
    #[serde(default)]
    complaint_feedback_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("not an SES event: {0}")]
pub struct NotAnSesEvent(String);

/// The bounce or complaint an SNS message carries; `None` for the events that need
/// nothing (deliveries, sends, opens).
pub fn mail_event(message: &str) -> Result<Option<MailEvent>, NotAnSesEvent> {
    let event: SesEvent = serde_json::from_str(message).map_err(|e| NotAnSesEvent(e.to_string()))?;
    let provider_message_id = event.mail.message_id;
    Ok(match (event.event_type.as_str(), event.bounce, event.complaint) {
        ("Bounce", Some(bounce), _) => Some(MailEvent {
            // SES could not tell (`Undetermined`): like a transient one, no address is blocked.
            kind: match bounce.bounce_type.as_str() {
                "Permanent" => MailEventKind::PermanentBounce,
                _ => MailEventKind::TransientBounce,
            },
            provider_message_id,
            detail: bounce
                .bounced_recipients
                .iter()
                .find_map(|r| r.diagnostic_code.clone())
                .or(bounce.bounce_sub_type)
                .unwrap_or_else(|| bounce.bounce_type.clone()),
            recipients: bounce.bounced_recipients.into_iter().map(|r| r.email_address).collect(),
            at: bounce.timestamp,
        }),
        ("Complaint", _, Some(complaint)) => Some(MailEvent {
            kind: MailEventKind::Complaint,
            provider_message_id,
            detail: complaint.complaint_feedback_type.unwrap_or_else(|| "complaint".into()),
            recipients: complaint
                .complained_recipients
                .into_iter()
                .map(|r| r.email_address)
                .collect(),
            at: complaint.timestamp,
        }),
        ("Bounce" | "Complaint", _, _) => {
            return Err(NotAnSesEvent(format!(
                "a {} event without its details",
                event.event_type
            )))
        }
        _ => None,
    })
}

/// Handles every record. A record that is not an SES event is logged and dropped (a retry
/// cannot fix it); storage trouble fails the invocation, so that Lambda retries it.
pub async fn handle_sns(events: &MailEvents, sns: SnsEvent) -> Result<(), InfraError> {
    for record in sns.records {
        match mail_event(&record.sns.message) {
            Ok(Some(event)) => {
                if let Err(e) = events.handle(&event).await {
                    telemetry::error();
                    return Err(e);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(message_id = %record.sns.message_id, error = %e, "dropped an SNS message");
                telemetry::error();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_and_complaints_are_read_and_other_events_ignored() {
        let bounce = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"gone@lovelace.example","action":"failed","status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2026-11-23T09:00:00.000Z","feedbackId":"f"},
            "mail":{"timestamp":"2026-11-23T08:59:59.000Z","source":"support@tandem.example","messageId":"0100abc-000000"}}"#;
        let event = mail_event(bounce).unwrap().unwrap();
        assert_eq!(event.kind, MailEventKind::PermanentBounce);
        assert_eq!(event.recipients, ["gone@lovelace.example"]);
        assert_eq!(event.provider_message_id, "0100abc-000000");
        assert_eq!(event.detail, "smtp; 550 5.1.1 user unknown");

        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"ann@x.example"}],
            "timestamp":"2026-11-23T09:00:00Z","complaintFeedbackType":"abuse"},"mail":{"messageId":"0100def-000000"}}"#;
        let event = mail_event(complaint).unwrap().unwrap();
        assert_eq!((event.kind, event.detail.as_str()), (MailEventKind::Complaint, "abuse"));

        let delivery = r#"{"eventType":"Delivery","mail":{"messageId":"0100abc-000000"},"delivery":{}}"#;
        assert_eq!(mail_event(delivery).unwrap(), None);
        let transient = bounce.replace("\"Permanent\"", "\"Transient\"");
        assert_eq!(
            mail_event(&transient).unwrap().unwrap().kind,
            MailEventKind::TransientBounce
        );
        assert!(mail_event("not json").is_err());
        assert!(mail_event(r#"{"eventType":"Bounce","mail":{"messageId":"x"}}"#).is_err());
    }
}
