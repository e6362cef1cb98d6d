//! The mailbox's sync position in the tickets table: `MAILBOX#<address>` / `META` with the
//! history id taken in up to (a number) and when the push watch stops.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use support_core::ports::mailbox::{Cursor, HistoryId, MailboxCursor};
use support_core::ports::InfraError;

use crate::dynamodb::{from_item, get_item, infra, s, timestamp};

/// What is stored of the cursor (written attribute by attribute, see `advance`).
#[derive(Deserialize, Default)]
struct CursorItem {
    #[serde(default)]
    history_id: Option<u64>,
    #[serde(default)]
    watch_expires_at: Option<String>,
}

fn mailbox_pk(address: &str) -> String {
    format!("MAILBOX#{}", address.to_lowercase())
}

pub struct DynamoMailboxCursor {
    client: Client,
    table: String,
}

impl DynamoMailboxCursor {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn update(&self, mailbox: &str) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(mailbox_pk(mailbox)))
            .key("sk", s("META"))
    }
}

#[async_trait]
impl MailboxCursor for DynamoMailboxCursor {
    async fn read(&self, mailbox: &str) -> Result<Cursor, InfraError> {
        let item = get_item(
            &self.client,
            &self.table,
            mailbox_pk(mailbox),
            "META".into(),
            "get mailbox cursor",
        )
        .await?;
        let stored: CursorItem = item.map(from_item).transpose()?.unwrap_or_default();
        Ok(Cursor {
            history_id: stored.history_id.map(HistoryId),
            watch_expires_at: stored.watch_expires_at.as_deref().and_then(timestamp::parse),
        })
    }

    async fn advance(&self, mailbox: &str, to: HistoryId) -> Result<(), InfraError> {
        let moved = self
            .update(mailbox)
            .update_expression("SET history_id = :to, entity = :entity")
            .condition_expression("attribute_not_exists(history_id) OR history_id < :to")
            .expression_attribute_values(":to", AttributeValue::N(to.0.to_string()))
            .expression_attribute_values(":entity", s("mailbox"))
            .send()
            .await;
        match moved {
            Ok(_) => Ok(()),
            // Another sync got further: its position stays.
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(infra("advance mailbox cursor")(e)),
        }
    }

    async fn watch_renewed(&self, mailbox: &str, expires_at: DateTime<Utc>) -> Result<(), InfraError> {
        self.update(mailbox)
            .update_expression("SET watch_expires_at = :at, entity = :entity")
            .expression_attribute_values(":at", s(timestamp::text(&expires_at)))
            .expression_attribute_values(":entity", s("mailbox"))
            .send()
            .await
            .map_err(infra("record mailbox watch"))?;
        Ok(())
    }
}
