//! Customers and tickets in DynamoDB.
//!
//! Access patterns (the keys and indexes declared in template.yaml serve exactly these):
//!
//! customers table, key `pk`:
//! - `CUSTOMER#<id>`      the customer profile
//! - `EMAIL#<address>`    identity → customer id (lower-cased address)
//! - `PHONE#<e164>`       identity → customer id
//!   Customer by email / by phone: GetItem on the identity, then on the profile.
//!   Identities are created with `attribute_not_exists(pk)` inside one transaction
//!   with the profile, so two concurrent first messages yield one customer.
//!
//! tickets table, key `pk` + `sk`:
//! - `TICKET#<id>` / `META`          the ticket
//! - `TICKET#<id>` / `MSG#<msg id>`  its messages; message ids sort by time
//!   Ticket with its thread: Query pk.
//! - GSI `by_customer` (`gsi1pk` = `CUSTOMER#<id>`, `gsi1sk` = `<created_at>#…`) on tickets and
//!   messages: a customer's history across channels, newest first.
//! - GSI `by_status` (`ticket_status`, `updated_at`) on tickets: the open / escalated queue.
//! - GSI `by_day` (`created_day` = YYYY-MM-DD, `created_at`) on tickets: daily reports.
//! - `TICKET#<id>` / `RUN#<msg id>`  what the agent did for a message (steps, decision,
//!   the context a person taking over needs).
//! - `LEARNED` / `<id>`  answers learned from resolved tickets, with `review_status`
//!   pending | approved | rejected: Query pk `LEARNED`, approved ones only.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::{
    Category, Channel, ConversationMessage, Customer, CustomerId, DeliveryStatus, Direction, EmailAddress,
    EscalationReason, MessageId, Priority, Sender, Ticket, TicketId, TicketStatus,
};
use crate::knowledge::{LearnedAnswer, LearnedAnswers};
use crate::ports::{AgentRun, CustomerDirectory, InfraError, Recorded, SendClaim, TicketOutcome, TicketStore};

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn infra<E>(operation: &'static str) -> impl FnOnce(E) -> InfraError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| InfraError::new(operation, aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

/// Reads typed attributes out of an item, naming the attribute that is wrong.
struct Fields<'a>(&'a Item);

impl Fields<'_> {
    fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
    }

    fn req(&self, name: &'static str) -> Result<&str, InfraError> {
        self.opt(name)
            .ok_or_else(|| InfraError::new("read item", format!("attribute `{name}` missing")))
    }

    fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, InfraError> {
        parse(self.req(name)?).map_err(|e| InfraError::new("read item", format!("attribute `{name}`: {e}")))
    }

    fn time(&self, name: &'static str) -> Result<DateTime<Utc>, InfraError> {
        self.parsed(name, |v| DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)))
    }
}

fn unknown(what: &'static str) -> impl Fn(&str) -> Result<Channel, String> {
    move |v| Channel::parse(v).ok_or_else(|| format!("unknown {what} `{v}`"))
}

// ---------------------------------------------------------------- customers

pub struct DynamoCustomerDirectory {
    client: Client,
    table: String,
}

impl DynamoCustomerDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn identity_keys(sender: &Sender) -> Vec<String> {
        let email = sender
            .email
            .as_ref()
            .map(|e| format!("EMAIL#{}", e.as_str().to_lowercase()));
        let phone = sender.phone.as_ref().map(|p| format!("PHONE#{p}"));
        email.into_iter().chain(phone).collect()
    }

    async fn get(&self, pk: &str) -> Result<Option<Item>, InfraError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get customer item"))?;
        Ok(out.item)
    }

    async fn owner_of(&self, identity_keys: &[String]) -> Result<Option<CustomerId>, InfraError> {
        for key in identity_keys {
            if let Some(item) = self.get(key).await? {
                return Ok(Some(Fields(&item).parsed("customer_id", CustomerId::parse)?));
            }
        }
        Ok(None)
    }

    async fn profile(&self, id: &CustomerId) -> Result<Customer, InfraError> {
        let item = self
            .get(&format!("CUSTOMER#{id}"))
            .await?
            .ok_or_else(|| InfraError::new("read customer", format!("profile of {id} missing")))?;
        customer_from_item(&item)
    }

    /// Links identities the customer used for the first time (e.g. a phone
    /// number after an email) and fills in profile fields we did not have.
    async fn link(&self, customer: Customer, sender: &Sender, keys: &[String]) -> Result<Customer, InfraError> {
        for key in keys {
            let linked = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(key))
                .item("customer_id", s(customer.id.as_str()))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            if let Err(e) = linked {
                if !is_conditional_failure(&e) {
                    return Err(infra("link identity")(e));
                }
            }
        }
        let mut updated = customer.clone();
        updated.email = customer.email.clone().or_else(|| sender.email.clone());
        updated.phone = customer.phone.clone().or_else(|| sender.phone.clone());
        updated.name = customer.name.clone().or_else(|| sender.name.clone());
        if updated != customer {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(customer_item(&updated)))
                .send()
                .await
                .map_err(infra("update customer"))?;
        }
        Ok(updated)
    }

    async fn create(
        &self,
        sender: &Sender,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>, InfraError> {
        let customer = Customer {
            id: CustomerId::generate(),
            name: sender.name.clone(),
            email: sender.email.clone(),
            phone: sender.phone.clone(),
            created_at: now,
        };
        let put = |item: Item, condition: bool| {
            let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
            if condition {
                put = put.condition_expression("attribute_not_exists(pk)");
            }
            TransactWriteItem::builder()
                .put(put.build().expect("table and item are set"))
                .build()
        };
        let mut items = vec![put(customer_item(&customer), true)];
        for key in keys {
            let identity = HashMap::from([
                ("pk".to_owned(), s(key)),
                ("customer_id".to_owned(), s(customer.id.as_str())),
            ]);
            items.push(put(identity, true));
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Some(customer)),
            // Another message from the same person created them first.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(infra("create customer")(e)),
        }
    }
}

fn is_conditional_failure<R>(e: &SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn customer_item(c: &Customer) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(format!("CUSTOMER#{}", c.id))),
        ("customer_id".to_owned(), s(c.id.as_str())),
        ("created_at".to_owned(), s(timestamp(c.created_at))),
    ]);
    if let Some(name) = &c.name {
        item.insert("name".into(), s(name));
    }
    if let Some(email) = &c.email {
        item.insert("email".into(), s(email.as_str()));
    }
    if let Some(phone) = &c.phone {
        item.insert("phone".into(), s(phone));
    }
    item
}

fn customer_from_item(item: &Item) -> Result<Customer, InfraError> {
    let f = Fields(item);
    Ok(Customer {
        id: f.parsed("customer_id", CustomerId::parse)?,
        name: f.opt("name").map(str::to_owned),
        email: f.opt("email").and_then(|e| e.parse::<EmailAddress>().ok()),
        phone: f.opt("phone").map(str::to_owned),
        created_at: f.time("created_at")?,
    })
}

#[async_trait]
impl CustomerDirectory for DynamoCustomerDirectory {
    async fn find_or_create(&self, sender: &Sender, now: DateTime<Utc>) -> Result<Customer, InfraError> {
        let keys = Self::identity_keys(sender);
        if keys.is_empty() {
            return Err(InfraError::new("identify customer", "the sender has no email or phone"));
        }
        // Two rounds: if our create loses a race, the winner's identity is there now.
        for _ in 0..2 {
            if let Some(id) = self.owner_of(&keys).await? {
                let customer = self.profile(&id).await?;
                return self.link(customer, sender, &keys).await;
            }
            if let Some(created) = self.create(sender, &keys, now).await? {
                return Ok(created);
            }
        }
        Err(InfraError::new(
            "identify customer",
            "identity kept changing under concurrent writes",
        ))
    }

    async fn find_by_email(&self, email: &EmailAddress) -> Result<Option<Customer>, InfraError> {
        let key = format!("EMAIL#{}", email.as_str().to_lowercase());
        match self.owner_of(&[key]).await? {
            Some(id) => Ok(Some(self.profile(&id).await?)),
            None => Ok(None),
        }
    }
}

// ------------------------------------------------------------------ tickets

pub struct DynamoTicketStore {
    client: Client,
    table: String,
}

impl DynamoTicketStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn ticket_pk(id: &TicketId) -> AttributeValue {
        s(format!("TICKET#{id}"))
    }

    fn message_sk(id: &MessageId) -> AttributeValue {
        s(format!("MSG#{id}"))
    }
}

fn ticket_item(t: &Ticket) -> Item {
    let created = timestamp(t.created_at);
    let mut item = HashMap::from([
        ("pk".to_owned(), DynamoTicketStore::ticket_pk(&t.id)),
        ("sk".to_owned(), s("META")),
        ("entity".to_owned(), s("ticket")),
        ("ticket_id".to_owned(), s(t.id.as_str())),
        ("customer_id".to_owned(), s(t.customer_id.as_str())),
        ("channel".to_owned(), s(t.channel.as_str())),
        ("subject".to_owned(), s(&t.subject)),
        ("category".to_owned(), s(t.category.as_str())),
        ("priority".to_owned(), s(t.priority.as_str())),
        ("ticket_status".to_owned(), s(t.status.as_str())),
        ("updated_at".to_owned(), s(timestamp(t.updated_at))),
        ("created_day".to_owned(), s(t.created_at.format("%Y-%m-%d").to_string())),
        ("gsi1pk".to_owned(), s(format!("CUSTOMER#{}", t.customer_id))),
        ("gsi1sk".to_owned(), s(format!("{created}#TICKET#{}", t.id))),
        ("created_at".to_owned(), s(created)),
    ]);
    if let Some(reason) = t.escalation_reason {
        item.insert("escalation_reason".into(), s(reason.as_str()));
    }
    if let Some(sentiment) = t.sentiment {
        item.insert("sentiment".into(), AttributeValue::N(format!("{sentiment:.4}")));
    }
    item
}

fn ticket_from_item(item: &Item) -> Result<Ticket, InfraError> {
    let f = Fields(item);
    Ok(Ticket {
        id: f.parsed("ticket_id", TicketId::parse)?,
        customer_id: f.parsed("customer_id", CustomerId::parse)?,
        channel: f.parsed("channel", unknown("channel"))?,
        subject: f.req("subject")?.to_owned(),
        category: f.parsed("category", Category::parse)?,
        priority: f.parsed("priority", Priority::parse)?,
        status: f.parsed("ticket_status", TicketStatus::parse)?,
        escalation_reason: f
            .opt("escalation_reason")
            .map(EscalationReason::parse)
            .transpose()
            .map_err(|e| InfraError::new("read item", e.to_string()))?,
        sentiment: item
            .get("sentiment")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok()),
        created_at: f.time("created_at")?,
        updated_at: f.time("updated_at")?,
    })
}

fn message_item(m: &ConversationMessage) -> Item {
    let created = timestamp(m.created_at);
    let mut item = HashMap::from([
        ("pk".to_owned(), DynamoTicketStore::ticket_pk(&m.ticket_id)),
        ("sk".to_owned(), DynamoTicketStore::message_sk(&m.id)),
        ("entity".to_owned(), s("message")),
        ("message_id".to_owned(), s(m.id.as_str())),
        ("ticket_id".to_owned(), s(m.ticket_id.as_str())),
        ("customer_id".to_owned(), s(m.customer_id.as_str())),
        ("direction".to_owned(), s(m.direction.as_str())),
        ("channel".to_owned(), s(m.channel.as_str())),
        ("body".to_owned(), s(&m.body)),
        ("gsi1pk".to_owned(), s(format!("CUSTOMER#{}", m.customer_id))),
        ("gsi1sk".to_owned(), s(format!("{created}#MSG#{}", m.id))),
        ("created_at".to_owned(), s(created)),
    ]);
    if let Some(status) = m.delivery_status {
        item.insert("delivery_status".into(), s(status.as_str()));
    }
    if let Some(id) = &m.provider_message_id {
        item.insert("provider_message_id".into(), s(id));
    }
    item
}

fn message_from_item(item: &Item) -> Result<ConversationMessage, InfraError> {
    let f = Fields(item);
    Ok(ConversationMessage {
        id: MessageId::from_stored(f.req("message_id")?.to_owned()),
        ticket_id: f.parsed("ticket_id", TicketId::parse)?,
        customer_id: f.parsed("customer_id", CustomerId::parse)?,
        direction: f.parsed("direction", |v| match v {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            other => Err(format!("unknown direction `{other}`")),
        })?,
        channel: f.parsed("channel", unknown("channel"))?,
        body: f.req("body")?.to_owned(),
        created_at: f.time("created_at")?,
        delivery_status: f.opt("delivery_status").and_then(DeliveryStatus::parse),
        provider_message_id: f.opt("provider_message_id").map(str::to_owned),
    })
}

#[async_trait]
impl TicketStore for DynamoTicketStore {
    async fn create_ticket(&self, ticket: &Ticket) -> Result<Recorded<()>, InfraError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(ticket_item(ticket)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::Created),
            Err(e) if is_conditional_failure(&e) => Ok(Recorded::AlreadyExisted(())),
            Err(e) => Err(infra("create ticket")(e)),
        }
    }

    async fn get_ticket(&self, id: &TicketId) -> Result<Option<Ticket>, InfraError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", Self::ticket_pk(id))
            .key("sk", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get ticket"))?;
        out.item.as_ref().map(ticket_from_item).transpose()
    }

    async fn ticket_thread(&self, id: &TicketId) -> Result<Option<(Ticket, Vec<ConversationMessage>)>, InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", Self::ticket_pk(id))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query ticket thread"))?;
        let mut ticket = None;
        let mut messages = Vec::new();
        for item in &items {
            match Fields(item).opt("entity") {
                Some("ticket") => ticket = Some(ticket_from_item(item)?),
                Some("message") => messages.push(message_from_item(item)?),
                _ => {}
            }
        }
        Ok(ticket.map(|t| (t, messages)))
    }

    async fn record_message(&self, message: &ConversationMessage) -> Result<Recorded<ConversationMessage>, InfraError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(message_item(message)))
            .condition_expression("attribute_not_exists(sk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Recorded::Created),
            Err(e) => {
                let existing = e
                    .as_service_error()
                    .filter(|e| e.is_conditional_check_failed_exception())
                    .map(|e| match e {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                            c.item().cloned()
                        }
                        _ => None,
                    });
                match existing {
                    Some(Some(item)) => Ok(Recorded::AlreadyExisted(message_from_item(&item)?)),
                    Some(None) => match self.get_message(&message.ticket_id, &message.id).await? {
                        Some(stored) => Ok(Recorded::AlreadyExisted(stored)),
                        None => Err(InfraError::new("record message", "condition failed but no item")),
                    },
                    None => Err(infra("record message")(e)),
                }
            }
        }
    }

    async fn get_message(&self, ticket: &TicketId, id: &MessageId) -> Result<Option<ConversationMessage>, InfraError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", Self::ticket_pk(ticket))
            .key("sk", Self::message_sk(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(infra("get message"))?;
        out.item.as_ref().map(message_from_item).transpose()
    }

    async fn record_reply(
        &self,
        reply: &ConversationMessage,
        outcome: &TicketOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(message_item(reply)))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(|e| InfraError::new("build reply put", e))?;
        let set = "SET ticket_status = :status, category = :category, sentiment = :sentiment, updated_at = :now";
        let mut values = HashMap::from([
            (":status".to_owned(), s(outcome.status.as_str())),
            (":category".to_owned(), s(outcome.category.as_str())),
            (
                ":sentiment".to_owned(),
                AttributeValue::N(format!("{:.4}", outcome.sentiment)),
            ),
            (":now".to_owned(), s(timestamp(now))),
        ]);
        let expression = match outcome.escalation_reason {
            Some(reason) => {
                values.insert(":reason".to_owned(), s(reason.as_str()));
                format!("{set}, escalation_reason = :reason")
            }
            None => format!("{set} REMOVE escalation_reason"),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", Self::ticket_pk(&reply.ticket_id))
            .key("sk", s("META"))
            .condition_expression("attribute_exists(pk)")
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| InfraError::new("build ticket update", e))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await
            .map_err(infra("record reply and outcome"))?;
        Ok(())
    }

    async fn customer_history(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> Result<Vec<ConversationMessage>, InfraError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by_customer")
            .key_condition_expression("gsi1pk = :pk")
            .filter_expression("entity = :message")
            .expression_attribute_values(":pk", s(format!("CUSTOMER#{customer}")))
            .expression_attribute_values(":message", s("message"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit * 2).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(infra("query customer history"))?;
        let mut messages = out
            .items()
            .iter()
            .map(message_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        messages.truncate(limit);
        messages.reverse();
        Ok(messages)
    }

    async fn claim_send(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<SendClaim, InfraError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::ticket_pk(ticket))
            .key("sk", Self::message_sk(id))
            .update_expression("SET delivery_status = :sending, sending_since = :now")
            .condition_expression(
                "attribute_exists(sk) AND (delivery_status = :queued OR delivery_status = :failed \
                 OR (delivery_status = :sending AND sending_since < :stale))",
            )
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":failed", s(DeliveryStatus::Failed.as_str()))
            .expression_attribute_values(":now", s(timestamp(now)))
            .expression_attribute_values(":stale", s(timestamp(now - lease)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(SendClaim::Claimed),
            Err(e) => e,
        };
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let Some(UpdateItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() else {
            return Err(infra("claim send")(err));
        };
        let Some(old) = failed.item() else {
            return Ok(SendClaim::Missing);
        };
        let f = Fields(old);
        Ok(match f.opt("delivery_status").and_then(DeliveryStatus::parse) {
            Some(DeliveryStatus::Sending) => SendClaim::Busy,
            None => SendClaim::Missing,
            Some(_) => SendClaim::AlreadySent {
                provider_message_id: f.opt("provider_message_id").map(str::to_owned),
            },
        })
    }

    async fn record_agent_run(&self, run: &AgentRun) -> Result<(), InfraError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", Self::ticket_pk(&run.ticket_id))
            .item("sk", s(format!("RUN#{}", run.message_id)))
            .item("entity", s("agent_run"))
            .item("model", s(&run.model))
            .item("decision", s(run.decision.to_string()))
            .item("steps", s(run.steps.to_string()))
            .item("context", s(run.context.to_string()))
            .item("duration_ms", AttributeValue::N(run.duration_ms.to_string()))
            .item("created_at", s(timestamp(run.created_at)))
            .send()
            .await
            .map_err(infra("record agent run"))?;
        Ok(())
    }

    async fn mark_sent(
        &self,
        ticket: &TicketId,
        id: &MessageId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), InfraError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", Self::ticket_pk(ticket))
            .key("sk", Self::message_sk(id))
            .update_expression(
                "SET delivery_status = :sent, provider_message_id = :provider, sent_at = :now REMOVE sending_since",
            )
            .condition_expression("attribute_exists(sk)")
            .expression_attribute_values(":sent", s(DeliveryStatus::Sent.as_str()))
            .expression_attribute_values(":provider", s(provider_message_id))
            .expression_attribute_values(":now", s(timestamp(now)))
            .send()
            .await
            .map_err(infra("mark sent"))?;
        Ok(())
    }
}

#[async_trait]
impl LearnedAnswers for DynamoTicketStore {
    async fn approved(&self) -> Result<Vec<LearnedAnswer>, InfraError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :learned")
            .filter_expression("review_status = :approved")
            .expression_attribute_values(":learned", s("LEARNED"))
            .expression_attribute_values(":approved", s("approved"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(infra("query learned answers"))?;
        items
            .iter()
            .map(|item| {
                let f = Fields(item);
                Ok(LearnedAnswer {
                    id: f.req("sk")?.to_owned(),
                    question: f.req("question")?.to_owned(),
                    answer: f.req("answer")?.to_owned(),
                    category: f.opt("category").and_then(|c| Category::parse(c).ok()),
                })
            })
            .collect()
    }
}
