//! Twilio's side of WhatsApp: the webhook's request signatures, and the message statuses
//! its API and callbacks report.

#[cfg(feature = "twilio-webhook")]
pub mod inbound;
#[cfg(feature = "twilio-webhook")]
pub mod signature;

use support_core::domain::DeliveryStatus;

/// A Twilio message status as the product's delivery status; `None` for the statuses of
/// incoming messages (`receiving`, `received`) and others a reply never has.
pub fn delivery_status(twilio_status: &str) -> Option<DeliveryStatus> {
    Some(match twilio_status {
        "accepted" | "scheduled" | "queued" => DeliveryStatus::Queued,
        "sending" => DeliveryStatus::Sending,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "failed" | "canceled" => DeliveryStatus::Failed,
        "undelivered" => DeliveryStatus::Undelivered,
        _ => return None,
    })
}
