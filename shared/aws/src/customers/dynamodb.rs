//! Customers in DynamoDB. Table key `pk`:
//! - `CUSTOMER#<id>`   the customer profile
//! - `EMAIL#<address>` identity → customer id (lower-cased address)
//! - `PHONE#<e164>`    identity → customer id
//!
//! A sender is identified with one GetItem per identity. Identities are created with
//! `attribute_not_exists(pk)` in one transaction with the profile, so two concurrent first
//! messages yield one customer.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use support_core::domain::{CustomerId, EmailAddress, Sender};
use support_core::ports::customers::{identity_keys, CustomerDirectory};
use support_core::ports::InfraError;

use crate::dynamodb::{from_item, infra, s, timestamp, to_item, Item};

#[derive(Serialize, Deserialize)]
struct IdentityItem {
    pk: String,
    customer_id: CustomerId,
}

#[derive(Serialize)]
struct ProfileItem<'a> {
    pk: String,
    customer_id: &'a CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a EmailAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
}

pub struct DynamoCustomers {
    client: Client,
    table: String,
}

impl DynamoCustomers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn owner(&self, key: &str) -> Result<Option<CustomerId>, InfraError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get customer identity"))?;
        out.item
            .map(from_item::<IdentityItem>)
            .transpose()
            .map(|item| item.map(|i| i.customer_id))
    }

    fn put(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// A new customer with all of `keys`; `None` when another message created one of them first.
    async fn create(
        &self,
        sender: &Sender,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>, InfraError> {
        let id = CustomerId::generate();
        let profile = ProfileItem {
            pk: format!("CUSTOMER#{id}"),
            customer_id: &id,
            name: sender.name.as_deref(),
            email: sender.email.as_ref(),
            phone: sender.phone.as_deref(),
            created_at: now,
        };
        let mut writes = vec![self.put(to_item(&profile))];
        for key in keys {
            let identity = IdentityItem {
                pk: key.clone(),
                customer_id: id.clone(),
            };
            writes.push(self.put(to_item(&identity)));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(Some(id)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(infra("create customer")(e)),
        }
    }

    /// Links identities the customer used for the first time (a phone after an email).
    async fn link(&self, id: &CustomerId, keys: &[String]) -> Result<(), InfraError> {
        for key in keys {
            let identity = IdentityItem {
                pk: key.clone(),
                customer_id: id.clone(),
            };
            let linked = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&identity)))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            if let Err(e) = linked {
                if !e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                {
                    return Err(infra("link identity")(e));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CustomerDirectory for DynamoCustomers {
    async fn identify(&self, sender: &Sender, now: DateTime<Utc>) -> Result<CustomerId, InfraError> {
        let keys = identity_keys(sender);
        if keys.is_empty() {
            return Err(InfraError::new("identify customer", "the sender has no email or phone"));
        }
        // Two rounds: if our create loses a race, the winner's identity is there now.
        for _ in 0..2 {
            let mut unknown = Vec::new();
            let mut owner = None;
            for key in &keys {
                match self.owner(key).await? {
                    Some(id) if owner.is_none() => owner = Some(id),
                    Some(_) => {}
                    None => unknown.push(key.clone()),
                }
            }
            if let Some(id) = owner {
                self.link(&id, &unknown).await?;
                return Ok(id);
            }
            if let Some(id) = self.create(sender, &keys, now).await? {
                return Ok(id);
            }
        }
        Err(InfraError::new(
            "identify customer",
            "identity kept changing under concurrent writes",
        ))
    }
}
