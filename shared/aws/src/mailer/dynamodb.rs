//! Undeliverable addresses in the tickets table: `UNDELIVERABLE#<address>` / `META`, written
//! by the handler of SES's bounce and complaint events, read by the email sender.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use support_core::ports::mailer::{Undeliverable, Undeliverables};
use support_core::ports::InfraError;

use crate::dynamodb::{from_item, get_item, infra, timestamp, to_item};

fn undeliverable_pk(address: &str) -> String {
    format!("UNDELIVERABLE#{}", address.to_lowercase())
}

#[derive(Serialize, Deserialize)]
struct UndeliverableItem {
    pk: String,
    sk: String,
    entity: String,
    address: String,
    why: String,
    #[serde(with = "timestamp")]
    at: DateTime<Utc>,
}

pub struct DynamoUndeliverables {
    client: Client,
    table: String,
}

impl DynamoUndeliverables {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Undeliverables for DynamoUndeliverables {
    async fn find(&self, address: &str) -> Result<Option<Undeliverable>, InfraError> {
        let item = get_item(
            &self.client,
            &self.table,
            undeliverable_pk(address),
            "META".into(),
            "get undeliverable address",
        )
        .await?;
        item.map(|item| {
            from_item::<UndeliverableItem>(item).map(|u| Undeliverable {
                address: u.address,
                why: u.why,
                at: u.at,
            })
        })
        .transpose()
    }

    async fn record(&self, undeliverable: &Undeliverable) -> Result<(), InfraError> {
        let item = UndeliverableItem {
            pk: undeliverable_pk(&undeliverable.address),
            sk: "META".into(),
            entity: "undeliverable".into(),
            address: undeliverable.address.to_lowercase(),
            why: undeliverable.why.clone(),
            at: undeliverable.at,
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .send()
            .await
            .map_err(infra("record undeliverable address"))?;
        Ok(())
    }
}
