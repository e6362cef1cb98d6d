//! Customers in DynamoDB. Table key `pk`:
//! - `CUSTOMER#<id>`   the customer profile, with its proven identities (`identities`: the
//!   identity, how it was proven, when, through what) and, once merged into another
//!   customer, `merged_into`
//! - `EMAIL#<address>` identity → customer id (lower-cased address)
//! - `PHONE#<e164>`    identity → customer id
//!
//! A sender is identified with one GetItem per identity. Identities are created with
//! `attribute_not_exists(pk)` in one transaction with the profile, so two concurrent first
//! messages yield one customer.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use support_core::domain::{Channel, CustomerId, EmailAddress, IdentityProof, Sender};
use support_core::ports::customers::{
    channels_of, email_key, identity_keys, CustomerChannels, CustomerDirectory, IdentityLinks, Linked, ProvenIdentity,
};
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
    identities: Vec<ProvenIdentity>,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
}

/// What linking reads of a profile.
#[derive(Deserialize)]
struct StoredProfile {
    #[serde(default)]
    email: Option<EmailAddress>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    identities: Vec<ProvenIdentity>,
}

impl StoredProfile {
    /// Every identity key of the customer: the recorded ones, and those of profiles written
    /// before identities were recorded.
    fn identity_keys(&self) -> Vec<String> {
        let sender = Sender {
            name: None,
            email: self.email.clone(),
            phone: self.phone.clone(),
        };
        let mut keys: Vec<String> = self.identities.iter().map(|i| i.identity.clone()).collect();
        keys.extend(identity_keys(&sender));
        keys.sort();
        keys.dedup();
        keys
    }
}

fn profile_pk(id: &CustomerId) -> String {
    format!("CUSTOMER#{id}")
}

fn proven(identity: &str, proof: IdentityProof, at: DateTime<Utc>, via: Option<&str>) -> ProvenIdentity {
    ProvenIdentity {
        identity: identity.to_owned(),
        proof,
        at,
        via: via.map(str::to_owned),
    }
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

    async fn profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>, InfraError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(profile_pk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get customer"))?;
        out.item.map(from_item::<StoredProfile>).transpose()
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
        proof: IdentityProof,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>, InfraError> {
        let id = CustomerId::generate();
        let profile = ProfileItem {
            pk: profile_pk(&id),
            customer_id: &id,
            name: sender.name.as_deref(),
            email: sender.email.as_ref(),
            phone: sender.phone.as_deref(),
            identities: keys.iter().map(|k| proven(k, proof, now, None)).collect(),
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

    /// Points `key` to `id` unless another customer holds it (`owned_by`: the one it may be
    /// taken from). Whether it now points to `id`.
    async fn point(&self, key: &str, id: &CustomerId, owned_by: Option<&CustomerId>) -> Result<bool, InfraError> {
        let identity = IdentityItem {
            pk: key.to_owned(),
            customer_id: id.clone(),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&identity)));
        let put = match owned_by {
            Some(owner) => put
                .condition_expression("attribute_not_exists(pk) OR customer_id IN (:owner, :id)")
                .expression_attribute_values(":owner", s(owner.as_str()))
                .expression_attribute_values(":id", s(id.as_str())),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(infra("link identity")(e)),
        }
    }

    /// Records proven identities on the customer's profile.
    async fn record(&self, id: &CustomerId, identities: Vec<ProvenIdentity>) -> Result<(), InfraError> {
        if identities.is_empty() {
            return Ok(());
        }
        let entries =
            serde_dynamo::to_attribute_value(identities).map_err(|e| InfraError::new("record identities", e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(profile_pk(id)))
            .update_expression(
                "SET identities = list_append(if_not_exists(identities, :none), :entries), customer_id = :id",
            )
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":entries", entries)
            .expression_attribute_values(":id", s(id.as_str()))
            .send()
            .await
            .map_err(infra("record identities"))?;
        Ok(())
    }
}

#[async_trait]
impl CustomerDirectory for DynamoCustomers {
    async fn identify(
        &self,
        sender: &Sender,
        proof: IdentityProof,
        now: DateTime<Utc>,
    ) -> Result<CustomerId, InfraError> {
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
                // Identities the customer used for the first time, proven as this message was.
                let mut linked = Vec::new();
                for key in &unknown {
                    if self.point(key, &id, None).await? {
                        linked.push(proven(key, proof, now, None));
                    }
                }
                self.record(&id, linked).await?;
                return Ok(id);
            }
            if let Some(id) = self.create(sender, &keys, proof, now).await? {
                return Ok(id);
            }
        }
        Err(InfraError::new(
            "identify customer",
            "identity kept changing under concurrent writes",
        ))
    }
}

#[async_trait]
impl IdentityLinks for DynamoCustomers {
    async fn owner_of_email(&self, email: &EmailAddress) -> Result<Option<CustomerId>, InfraError> {
        self.owner(&email_key(email)).await
    }

    async fn link_email(
        &self,
        customer: &CustomerId,
        email: &EmailAddress,
        proof: IdentityProof,
        through: &str,
        now: DateTime<Utc>,
    ) -> Result<Linked, InfraError> {
        let key = email_key(email);
        // Two rounds: an address claimed by a new customer meanwhile is merged into on the second.
        for _ in 0..2 {
            match self.owner(&key).await? {
                Some(owner) if &owner == customer => {
                    return Ok(Linked {
                        customer: owner,
                        merged_from: None,
                    })
                }
                None => {
                    if self.point(&key, customer, None).await? {
                        self.record(customer, vec![proven(&key, proof, now, Some(through))])
                            .await?;
                        return Ok(Linked {
                            customer: customer.clone(),
                            merged_from: None,
                        });
                    }
                }
                Some(owner) => {
                    // The address is another customer's: the phone's customer joins it, every
                    // identity of theirs now pointing there, recorded with the proof.
                    let keys = match self.profile(customer).await? {
                        Some(profile) => profile.identity_keys(),
                        None => vec![through.to_owned()],
                    };
                    let mut moved = Vec::new();
                    for identity in &keys {
                        if self.point(identity, &owner, Some(customer)).await? {
                            moved.push(proven(identity, proof, now, Some(&key)));
                        }
                    }
                    self.record(&owner, moved).await?;
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .key("pk", s(profile_pk(customer)))
                        .update_expression("SET merged_into = :owner, merged_at = :now")
                        .expression_attribute_values(":owner", s(owner.as_str()))
                        .expression_attribute_values(":now", s(timestamp::text(&now)))
                        .send()
                        .await
                        .map_err(infra("record merge"))?;
                    return Ok(Linked {
                        customer: owner,
                        merged_from: Some(customer.clone()),
                    });
                }
            }
        }
        Err(InfraError::new("link email", "the address kept changing owner"))
    }
}

#[async_trait]
impl CustomerChannels for DynamoCustomers {
    async fn channels(&self, customer: &CustomerId) -> Result<Vec<Channel>, InfraError> {
        let keys = self
            .profile(customer)
            .await?
            .map(|p| p.identity_keys())
            .unwrap_or_default();
        Ok(channels_of(keys.iter().map(String::as_str)))
    }
}
