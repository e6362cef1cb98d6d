//! The Lambda glue: SQS batches with partial failures, and the web form's HTTP routes.

#[cfg(feature = "sqs-events")]
pub mod sqs_batch;
#[cfg(feature = "http")]
pub mod webform_http;

/// What a caught panic said, for the log line of the record or request it failed.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
