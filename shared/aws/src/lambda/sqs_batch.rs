//! SQS batches with partial failures, the way Lambda's event source mapping
//! expects them (see `ReportBatchItemFailures`).

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::FutureExt;
use support_core::ProcessingError;
use tracing::Instrument;

use super::panic_message;
use crate::queue::CORRELATION_ATTRIBUTE;
use crate::usage::metered;

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
    Fut: Future<Output = Result<(), ProcessingError>>,
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
            Err(panic) => format!("panicked: {}", panic_message(&*panic)),
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

/// Runs `handle` on the parsed body of each record, in a span carrying the record's
/// correlation id and with a tally of the record's AWS calls (`usage::metered`), and reports
/// the failures (see [`process_batch`]). A body that cannot parse never will: it fails
/// permanently.
pub async fn process_records<T, F, Fut>(event: SqsEvent, handle: F) -> Result<SqsBatchResponse, BatchError>
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), ProcessingError>>,
{
    process_batch(event, |record| {
        let correlation_id = record
            .message_attributes
            .get(CORRELATION_ATTRIBUTE)
            .and_then(|a| a.string_value.clone())
            .unwrap_or_default();
        let span = tracing::info_span!("record", %correlation_id, message_id = record.message_id.as_deref().unwrap_or_default());
        let parsed = parse_body::<T>(&record);
        let handled = parsed.map(&handle);
        metered(async move {
            match handled {
                Ok(work) => work.await,
                Err(e) => Err(e),
            }
        })
        .instrument(span)
    })
    .await
}

fn parse_body<T: serde::de::DeserializeOwned>(record: &SqsMessage) -> Result<T, ProcessingError> {
    let body = record.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|e| ProcessingError::Permanent(format!("malformed message body: {e}")))
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
                    Err(ProcessingError::Transient("boom".into()))
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
        let err = process_batch(batch, |_| async { Err(ProcessingError::Permanent("nope".into())) })
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
            Err(ProcessingError::Permanent(_))
        ));
    }
}
