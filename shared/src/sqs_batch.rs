//! SQS batches with partial failures, the way Lambda's event source mapping
//! expects them (see `ReportBatchItemFailures`).

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;

/// Why one record could not be processed. Either way it is reported as failed
/// so SQS redelivers it and, after the queue's maxReceiveCount, moves it to the
/// dead-letter queue: nothing accepted is ever dropped silently.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record can never succeed (malformed body): it goes on to the DLQ.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Infrastructure trouble: a later attempt may succeed.
    #[error("transient: {0}")]
    Transient(String),
}

/// Every record failed: the invocation fails so Lambda's retry and back-off apply.
#[derive(Debug, thiserror::Error)]
#[error("all {count} records of the batch failed; first: {first}")]
pub struct BatchError {
    pub count: usize,
    pub first: String,
}

/// Runs `handle` on each record in order and reports the failures.
///
/// On a FIFO queue, once a record of a message group fails, every later record
/// of that group is reported failed without being processed, so a customer's
/// messages are never handled out of order. A panic fails only its record.
pub async fn process_batch<F, Fut>(event: SqsEvent, handle: F) -> Result<SqsBatchResponse, BatchError>
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), RecordError>>,
{
    let total = event.records.len();
    let mut response = SqsBatchResponse::default();
    let mut failed_groups = HashSet::new();
    let mut first_error = None;
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let group = record.attributes.get("MessageGroupId").cloned();
        if group.as_ref().is_some_and(|g| failed_groups.contains(g)) {
            tracing::warn!(message_id = %id, "skipped: an earlier message of its group failed");
            response.add_failure(id);
            continue;
        }
        let outcome = AssertUnwindSafe(handle(record)).catch_unwind().await;
        let error = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(panic) => format!("panicked: {}", panic_message(&panic)),
        };
        tracing::error!(message_id = %id, error = %error, "record failed");
        first_error.get_or_insert(error);
        if let Some(group) = group {
            failed_groups.insert(group);
        }
        response.add_failure(id);
    }
    if total > 0 && response.batch_item_failures.len() == total {
        return Err(BatchError {
            count: total,
            first: first_error.unwrap_or_default(),
        });
    }
    Ok(response)
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Parses a record's JSON body; a body that cannot parse never will.
pub fn parse_body<T: serde::de::DeserializeOwned>(record: &SqsMessage) -> Result<T, RecordError> {
    let body = record.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|e| RecordError::Permanent(format!("malformed message body: {e}")))
}

/// The correlation id carried as a message attribute, if the sender set one.
pub fn correlation_id(record: &SqsMessage) -> Option<String> {
    record
        .message_attributes
        .get(crate::adapters::CORRELATION_ATTRIBUTE)
        .and_then(|a| a.string_value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, group: Option<&str>, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        if let Some(g) = group {
            m.attributes.insert("MessageGroupId".into(), g.into());
        }
        m
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    fn failures(r: &SqsBatchResponse) -> Vec<&str> {
        r.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    #[tokio::test]
    async fn failed_records_are_reported_and_later_records_of_their_group_held_back() {
        let processed = std::sync::Mutex::new(Vec::new());
        let batch = event(vec![
            record("1", Some("alice"), "fail"),
            record("2", Some("bob"), "ok"),
            record("3", Some("alice"), "ok"),
            record("4", Some("bob"), "ok"),
        ]);
        let response = process_batch(batch, |r| {
            let body = r.body.clone().unwrap_or_default();
            processed.lock().unwrap().push(r.message_id.clone().unwrap());
            async move {
                if body == "fail" {
                    Err(RecordError::Transient("boom".into()))
                } else {
                    Ok(())
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(failures(&response), ["1", "3"]);
        assert_eq!(*processed.lock().unwrap(), ["1", "2", "4"]);
    }

    #[tokio::test]
    async fn a_panicking_record_fails_alone() {
        let batch = event(vec![record("1", None, "panic"), record("2", None, "ok")]);
        let response = process_batch(batch, |r| async move {
            if r.body.as_deref() == Some("panic") {
                panic!("bad record");
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(failures(&response), ["1"]);
    }

    #[tokio::test]
    async fn a_batch_where_everything_failed_fails_the_invocation() {
        let batch = event(vec![record("1", None, "x"), record("2", None, "y")]);
        let err = process_batch(batch, |_| async { Err(RecordError::Permanent("nope".into())) })
            .await
            .unwrap_err();
        assert_eq!(err.count, 2);
        assert!(err.first.contains("nope"));
    }

    #[test]
    fn malformed_bodies_are_permanent_errors() {
        let r = record("1", None, "{not json");
        assert!(matches!(
            parse_body::<serde_json::Value>(&r),
            Err(RecordError::Permanent(_))
        ));
    }
}
