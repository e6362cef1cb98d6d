//! What the DynamoDB adapters share: item mapping through serde_dynamo, timestamps that
//! sort as text, and error conversion.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use support_core::ports::InfraError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn to_item<T: serde::Serialize>(value: &T) -> Item {
    serde_dynamo::to_item(value).expect("our items serialize")
}

pub fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, InfraError> {
    serde_dynamo::from_item(item).map_err(|e| InfraError::new("read item", e))
}

/// One item of a table keyed by `pk` and `sk`, read consistently.
pub async fn get_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: String,
    sk: String,
    operation: &'static str,
) -> Result<Option<Item>, InfraError> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .key("sk", s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(infra(operation))?;
    Ok(out.item)
}

pub fn infra<E>(operation: &'static str) -> impl FnOnce(E) -> InfraError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| InfraError::new(operation, aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// Whether a transaction was cancelled because its `index`th write failed its condition
/// (the item it guards against already exists).
pub fn cancelled_by_condition<R>(error: &SdkError<TransactWriteItemsError, R>, index: usize) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .get(index)
            .and_then(|r| r.code())
            .is_some_and(|code| code == "ConditionalCheckFailed"),
        _ => false,
    }
}

/// The item as it was when the transaction's `index`th write failed its condition (when
/// that write asked for it).
pub fn cancelled_item<R>(error: &SdkError<TransactWriteItemsError, R>, index: usize) -> Option<Item> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .get(index)
            .and_then(|r| r.item())
            .cloned(),
        _ => None,
    }
}

/// Whether a transaction was cancelled because any of its writes failed its condition.
pub fn cancelled_by_any_condition<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

/// Timestamps as RFC 3339 with milliseconds and `Z`: one width, so they sort as text
/// (the indexes' sort keys are timestamps).
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn text(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
    }

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&text(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time")))
    }
}
