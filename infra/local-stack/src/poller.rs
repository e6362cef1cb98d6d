//! SQS event source mappings: what Lambda's poller does for an `SQS` event, against moto.
//!
//! Long-poll a batch, hand it to the function as the `SqsEvent` Lambda would build, then
//! delete what succeeded. What is not deleted becomes visible again after the queue's
//! visibility timeout, and the queue's RedrivePolicy moves it to the dead-letter queue
//! after maxReceiveCount receives (moto implements that for standard and FIFO queues).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName};
use tokio::sync::watch;

use crate::functions::SqsFunction;
use support_aws::lambda::panic_message;

/// Lambda's SQS event source never receives more than 10 messages per ReceiveMessage.
const MAX_RECEIVE: u32 = 10;

/// One event source mapping.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub batch_size: u32,
    pub maximum_batching_window: Duration,
    pub report_batch_item_failures: bool,
    /// The function's Timeout: an invocation running longer has failed.
    pub function_timeout: Duration,
    /// ReceiveMessage long-poll wait.
    pub wait_time_seconds: i32,
}

/// Counters of one poller, for logs and tests.
#[derive(Debug, Default)]
pub struct PollerStats {
    pub invocations: AtomicU64,
    /// Records handed to the function.
    pub records: AtomicU64,
    /// Records deleted after success.
    pub deleted: AtomicU64,
    /// Records left on the queue (reported failures or failed invocations).
    pub failed: AtomicU64,
    /// Invocations that failed as a whole (Err, panic, timeout).
    pub failed_invocations: AtomicU64,
}

impl PollerStats {
    pub fn snapshot(&self) -> PollerSnapshot {
        PollerSnapshot {
            invocations: self.invocations.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            deleted: self.deleted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            failed_invocations: self.failed_invocations.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollerSnapshot {
    pub invocations: u64,
    pub records: u64,
    pub deleted: u64,
    pub failed: u64,
    pub failed_invocations: u64,
}

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    Response(SqsBatchResponse),
    Failed(String),
}

/// The indexes of the records to delete, as Lambda decides it: all on success without
/// reported failures; none when the invocation failed or the response names a record
/// that is not in the batch (Lambda then treats the whole batch as failed).
pub fn records_to_delete(message_ids: &[String], outcome: &Outcome, report_batch_item_failures: bool) -> Vec<usize> {
    let all = (0..message_ids.len()).collect();
    let response = match outcome {
        Outcome::Failed(_) => return Vec::new(),
        Outcome::Response(_) if !report_batch_item_failures => return all,
        Outcome::Response(r) => r,
    };
    let failed: HashSet<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    if failed
        .iter()
        .any(|id| id.is_empty() || !message_ids.iter().any(|m| m == id))
    {
        return Vec::new();
    }
    (0..message_ids.len())
        .filter(|i| !failed.contains(message_ids[*i].as_str()))
        .collect()
}

/// The record Lambda puts in the event for one received message.
pub fn lambda_record(m: &Message, queue_arn: &str, region: &str) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = m.message_id().map(str::to_owned);
    r.receipt_handle = m.receipt_handle().map(str::to_owned);
    r.body = m.body().map(str::to_owned);
    r.md5_of_body = m.md5_of_body().map(str::to_owned);
    r.md5_of_message_attributes = m.md5_of_message_attributes().map(str::to_owned);
    r.attributes = m
        .attributes()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
        .unwrap_or_default();
    r.message_attributes = m
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(k, v)| {
                    let mut a = SqsMessageAttribute::default();
                    a.string_value = v.string_value().map(str::to_owned);
                    a.binary_value = v.binary_value().map(|b| base64_data(b.as_ref()));
                    a.string_list_values = v.string_list_values().to_vec();
                    a.binary_list_values = v.binary_list_values().iter().map(|b| base64_data(b.as_ref())).collect();
                    a.data_type = Some(v.data_type().to_owned());
                    (k.clone(), a)
                })
                .collect()
        })
        .unwrap_or_default();
    r.event_source = Some("aws:sqs".into());
    r.event_source_arn = Some(queue_arn.to_owned());
    r.aws_region = Some(region.to_owned());
    r
}

/// `Base64Data` is non-exhaustive: build it through Default.
fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut d = Base64Data::default();
    d.extend_from_slice(bytes);
    d
}

pub struct Poller {
    pub config: PollerConfig,
    pub client: aws_sdk_sqs::Client,
    pub function: Arc<dyn SqsFunction>,
    pub stats: Arc<PollerStats>,
}

impl Poller {
    /// Polls until `stop` turns true; an invocation in flight is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let c = &self.config;
        tracing::debug!(function = %c.function, queue = %c.queue_url, "poller started");
        let mut backoff = Duration::from_millis(200);
        while !*stop.borrow() {
            // Not cancelled on stop: a receive dropped mid-flight would hide its messages
            // for the visibility timeout (and hold up their FIFO groups). It waits ~1 s.
            match self.receive_batch().await {
                Ok(messages) if messages.is_empty() => {}
                Ok(messages) => {
                    backoff = Duration::from_millis(200);
                    self.invoke(messages).await;
                }
                Err(_) if *stop.borrow() => break,
                Err(e) => {
                    tracing::warn!(function = %c.function, error = %e, "ReceiveMessage failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {},
                        _ = stop.changed() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::debug!(function = %c.function, "poller stopped");
    }

    async fn receive(&self, max: u32, wait: i32) -> Result<Vec<Message>, String> {
        #[allow(deprecated)] // older SQS servers only know AttributeNames
        let out = self
            .client
            .receive_message()
            .queue_url(&self.config.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_RECEIVE) as i32)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .attribute_names(QueueAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
        Ok(out.messages.unwrap_or_default())
    }

    /// One batch, gathering for up to MaximumBatchingWindowInSeconds like Lambda.
    async fn receive_batch(&self) -> Result<Vec<Message>, String> {
        let c = &self.config;
        let mut messages = self.receive(c.batch_size, c.wait_time_seconds).await?;
        if messages.is_empty() || c.maximum_batching_window.is_zero() {
            return Ok(messages);
        }
        let deadline = Instant::now() + c.maximum_batching_window;
        while (messages.len() as u32) < c.batch_size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wait = left.as_secs().min(20) as i32;
            let more = self.receive(c.batch_size - messages.len() as u32, wait).await?;
            if more.is_empty() && wait == 0 {
                tokio::time::sleep(left.min(Duration::from_millis(100))).await;
            }
            messages.extend(more);
        }
        Ok(messages)
    }

    async fn invoke(&self, mut messages: Vec<Message>) {
        let c = &self.config;
        // A message whose visibility ran out while the batch was gathered can be received
        // twice; keep its latest copy, the one whose receipt handle can delete it.
        let mut seen = HashSet::new();
        messages.reverse();
        messages.retain(|m| seen.insert(m.message_id().unwrap_or_default().to_owned()));
        messages.reverse();
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| lambda_record(m, &c.queue_arn, &c.region))
            .collect();
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m.message_id().unwrap_or_default().to_owned())
            .collect();
        let started = Instant::now();
        // A separate task: a panic fails this invocation only, like a crashed Lambda.
        let function = self.function.clone();
        let task = tokio::spawn(async move { function.call(event).await });
        let abort = task.abort_handle();
        let outcome = match tokio::time::timeout(c.function_timeout, task).await {
            Ok(Ok(Ok(response))) => Outcome::Response(response),
            Ok(Ok(Err(e))) => Outcome::Failed(e),
            Ok(Err(join)) if join.is_panic() => {
                Outcome::Failed(format!("panicked: {}", panic_message(&*join.into_panic())))
            }
            Ok(Err(join)) => Outcome::Failed(join.to_string()),
            Err(_) => {
                abort.abort();
                Outcome::Failed(format!("timed out after {:?}", c.function_timeout))
            }
        };
        let elapsed = started.elapsed();
        let delete = records_to_delete(&ids, &outcome, c.report_batch_item_failures);
        let entries: Vec<DeleteMessageBatchRequestEntry> = delete
            .iter()
            .filter_map(|i| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(messages[*i].receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        let mut deleted = 0;
        for chunk in entries.chunks(10) {
            match self
                .client
                .delete_message_batch()
                .queue_url(&c.queue_url)
                .set_entries(Some(chunk.to_vec()))
                .send()
                .await
            {
                Ok(out) => {
                    deleted += out.successful().len();
                    for f in out.failed() {
                        tracing::warn!(function = %c.function, id = %f.id(), code = %f.code(), "DeleteMessageBatch entry failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(function = %c.function, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "DeleteMessageBatch failed")
                }
            }
        }
        let failed = ids.len() - delete.len();
        let s = &self.stats;
        s.invocations.fetch_add(1, Ordering::Relaxed);
        s.records.fetch_add(ids.len() as u64, Ordering::Relaxed);
        s.deleted.fetch_add(deleted as u64, Ordering::Relaxed);
        s.failed.fetch_add(failed as u64, Ordering::Relaxed);
        let duration_ms = elapsed.as_millis() as u64;
        match &outcome {
            Outcome::Failed(error) => {
                s.failed_invocations.fetch_add(1, Ordering::Relaxed);
                tracing::error!(function = %c.function, records = ids.len(), duration_ms, %error, "invocation failed; the batch will be retried");
            }
            Outcome::Response(_) if failed > 0 => {
                tracing::warn!(function = %c.function, records = ids.len(), failed, duration_ms, "invocation with failed records");
            }
            Outcome::Response(_) => {
                tracing::info!(function = %c.function, records = ids.len(), duration_ms, "invocation")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::BatchItemFailure;
    use aws_sdk_sqs::types::MessageAttributeValue;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    fn failures(ids: &[&str]) -> Outcome {
        let mut r = SqsBatchResponse::default();
        for id in ids {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.to_string();
            r.batch_item_failures.push(f);
        }
        Outcome::Response(r)
    }

    #[test]
    fn deletes_follow_lambda_rules() {
        assert_eq!(records_to_delete(&ids(), &failures(&[]), true), vec![0, 1, 2]);
        assert_eq!(records_to_delete(&ids(), &failures(&["b"]), true), vec![0, 2]);
        assert_eq!(
            records_to_delete(&ids(), &failures(&["a", "b", "c"]), true),
            Vec::<usize>::new()
        );
        assert_eq!(
            records_to_delete(&ids(), &failures(&["zzz"]), true),
            Vec::<usize>::new(),
            "unknown id fails the batch"
        );
        assert_eq!(
            records_to_delete(&ids(), &failures(&[""]), true),
            Vec::<usize>::new(),
            "empty id fails the batch"
        );
        assert_eq!(
            records_to_delete(&ids(), &failures(&["b"]), false),
            vec![0, 1, 2],
            "response ignored without ReportBatchItemFailures"
        );
        assert_eq!(
            records_to_delete(&ids(), &Outcome::Failed("x".into()), true),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn records_carry_what_lambda_sets() {
        let m = Message::builder()
            .message_id("m-1")
            .receipt_handle("rh")
            .body("{\"x\":1}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::MessageGroupId, "g")
            .message_attributes(
                "correlation_id",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("c-1")
                    .build()
                    .unwrap(),
            )
            .build();
        let r = lambda_record(&m, "arn:aws:sqs:eu-west-1:123456789012:q.fifo", "eu-west-1");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["messageId"], "m-1");
        assert_eq!(json["receiptHandle"], "rh");
        assert_eq!(json["eventSource"], "aws:sqs");
        assert_eq!(json["eventSourceARN"], "arn:aws:sqs:eu-west-1:123456789012:q.fifo");
        assert_eq!(json["awsRegion"], "eu-west-1");
        assert_eq!(json["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(json["attributes"]["MessageGroupId"], "g");
        assert_eq!(json["messageAttributes"]["correlation_id"]["stringValue"], "c-1");
        assert_eq!(json["messageAttributes"]["correlation_id"]["dataType"], "String");
    }
}
