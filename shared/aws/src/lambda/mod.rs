//! The Lambda glue: SQS batches with partial failures, the web form's HTTP routes,
//! Twilio's WhatsApp webhook, SES's bounce and complaint events, the operator API, the
//! daily report's invocations, and every function's metrics.

pub mod daily_report;
#[cfg(all(feature = "gmail-push", feature = "dynamodb", feature = "sqs"))]
pub mod gmail_http;
#[cfg(feature = "http")]
mod http;
pub mod metrics;
#[cfg(feature = "operator-api")]
pub mod operator_http;
#[cfg(feature = "ses-events")]
pub mod ses_events;
#[cfg(feature = "sqs-events")]
pub mod sqs_batch;
#[cfg(feature = "http")]
pub mod webform_http;
#[cfg(feature = "twilio-webhook")]
pub mod whatsapp_http;

/// What a caught panic said, for the log line of the record or request it failed.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
