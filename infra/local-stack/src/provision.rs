//! Creates in moto what the template declares: tables, queues (dead-letter queues first)
//! and the SES identities the senders use (the user pools: `crate::cognito`). Idempotent, so it can attach to a moto that a
//! previous run already provisioned.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::template::{local_name, IndexSpec, KeyElement, QueueSpec, StackTemplate, TableSpec};

/// A provisioned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableResource {
    pub name: String,
    pub arn: String,
}

/// A provisioned queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueResource {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// Local names of everything provisioned, by logical id.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub tables: BTreeMap<String, TableResource>,
    pub queues: BTreeMap<String, QueueResource>,
    /// SES identities created for the senders.
    pub email_identities: Vec<String>,
    pub user_pools: BTreeMap<String, crate::cognito::UserPoolResource>,
    pub user_pool_clients: BTreeMap<String, crate::cognito::UserPoolClientResource>,
}

#[derive(Debug, Clone, Default)]
pub struct ProvisionSettings {
    pub prefix: String,
    /// Caps every queue's visibility timeout (tests: redelivery in seconds, not minutes).
    pub max_visibility_timeout: Option<u32>,
}

/// A template topic's name in moto.
pub fn topic_name(prefix: &str, logical_id: &str) -> String {
    format!("{prefix}-{logical_id}")
}

/// The template's SNS topics, so the functions can publish to them (moto keeps what is
/// published; tests subscribe a queue to read it).
pub async fn provision_topics(sdk: &SdkConfig, template: &StackTemplate, settings: &ProvisionSettings) -> Result<()> {
    let client = aws_sdk_sns::Client::new(sdk);
    let topics = template
        .resource_types
        .iter()
        .filter(|(_, kind)| kind.as_str() == "AWS::SNS::Topic")
        .map(|(id, _)| {
            let name = topic_name(&settings.prefix, id);
            let client = client.clone();
            async move {
                client
                    .create_topic()
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))
                    .with_context(|| format!("creating topic {name}"))
            }
        });
    futures::future::try_join_all(topics).await?;
    Ok(())
}

pub async fn provision_tables(
    sdk: &SdkConfig,
    template: &StackTemplate,
    settings: &ProvisionSettings,
) -> Result<BTreeMap<String, TableResource>> {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let created = futures::future::try_join_all(
        template
            .tables
            .values()
            .map(|t| create_table(&client, t, &settings.prefix)),
    )
    .await?;
    Ok(created.into_iter().collect())
}

fn key_schema(keys: &[KeyElement]) -> Result<Vec<ddb::KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            Ok(ddb::KeySchemaElement::builder()
                .attribute_name(&k.attribute)
                .key_type(ddb::KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

fn projection(i: &IndexSpec) -> ddb::Projection {
    ddb::Projection::builder()
        .projection_type(ddb::ProjectionType::from(i.projection_type.as_str()))
        .set_non_key_attributes((!i.non_key_attributes.is_empty()).then(|| i.non_key_attributes.clone()))
        .build()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    t: &TableSpec,
    prefix: &str,
) -> Result<(String, TableResource)> {
    let name = local_name(prefix, &t.logical_id, t.declared_name.as_deref(), false);
    let provisioned = t.billing_mode != "PAY_PER_REQUEST";
    // moto needs throughput for PROVISIONED tables; the numbers do not matter locally.
    let throughput = || {
        ddb::ProvisionedThroughput::builder()
            .read_capacity_units(5)
            .write_capacity_units(5)
            .build()
    };
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(ddb::BillingMode::from(t.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&t.key_schema)?))
        .sse_specification(ddb::SseSpecification::builder().enabled(t.sse).build());
    for (attr, kind) in &t.attributes {
        req = req.attribute_definitions(
            ddb::AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ddb::ScalarAttributeType::from(kind.as_str()))
                .build()?,
        );
    }
    for i in &t.global_indexes {
        let mut gsi = ddb::GlobalSecondaryIndex::builder()
            .index_name(&i.name)
            .set_key_schema(Some(key_schema(&i.key_schema)?))
            .projection(projection(i));
        if provisioned {
            gsi = gsi.provisioned_throughput(throughput()?);
        }
        req = req.global_secondary_indexes(gsi.build()?);
    }
    for i in &t.local_indexes {
        req = req.local_secondary_indexes(
            ddb::LocalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(key_schema(&i.key_schema)?))
                .projection(projection(i))
                .build()?,
        );
    }
    if provisioned {
        req = req.provisioned_throughput(throughput()?);
    }
    if let Some(view) = &t.stream_view_type {
        req = req.stream_specification(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::StreamViewType::from(view.as_str()))
                .build()?,
        );
    }
    let fresh = match req.send().await {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceInUseException") => false,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("CreateTable {name} ({})", t.logical_id))),
    };
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .with_context(|| format!("DescribeTable {name}"))?;
    let arn = described
        .table()
        .and_then(|d| d.table_arn())
        .unwrap_or_default()
        .to_owned();
    if let Some(attr) = &t.ttl_attribute {
        let res = client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                ddb::TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await;
        // An existing table already has it (DynamoDB refuses to enable TTL twice).
        if let Err(e) = res {
            if fresh {
                return Err(anyhow::Error::new(e).context(format!("UpdateTimeToLive {name}")));
            }
        }
    }
    if t.point_in_time_recovery {
        client
            .update_continuous_backups()
            .table_name(&name)
            .point_in_time_recovery_specification(
                ddb::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("UpdateContinuousBackups {name}"))?;
    }
    Ok((t.logical_id.clone(), TableResource { name, arn }))
}

pub async fn provision_queues(
    sdk: &SdkConfig,
    template: &StackTemplate,
    settings: &ProvisionSettings,
) -> Result<BTreeMap<String, QueueResource>> {
    let client = aws_sdk_sqs::Client::new(sdk);
    let mut out: BTreeMap<String, QueueResource> = BTreeMap::new();
    for q in template.queues_in_creation_order() {
        let dlq_arn = match &q.redrive {
            Some(r) => Some(
                out.get(&r.dead_letter_queue)
                    .map(|d| d.arn.clone())
                    .context("dead-letter queue not created first")?,
            ),
            None => None,
        };
        let resource = create_queue(&client, q, dlq_arn.as_deref(), settings).await?;
        out.insert(q.logical_id.clone(), resource);
    }
    Ok(out)
}

/// SQS's default visibility timeout.
const DEFAULT_VISIBILITY_TIMEOUT: u32 = 30;

/// The queue's visibility timeout in seconds once provisioned, with the local cap.
pub fn effective_visibility_timeout(q: &QueueSpec, max_visibility_timeout: Option<u32>) -> u32 {
    let v = q.visibility_timeout.unwrap_or(DEFAULT_VISIBILITY_TIMEOUT);
    max_visibility_timeout.map_or(v, |cap| v.min(cap))
}

/// The queue attributes the template asks for, as SQS attribute names and values.
pub fn queue_attributes(
    q: &QueueSpec,
    dlq_arn: Option<&str>,
    max_visibility_timeout: Option<u32>,
) -> BTreeMap<QueueAttributeName, String> {
    let mut a = BTreeMap::new();
    if q.fifo {
        a.insert(QueueAttributeName::FifoQueue, "true".into());
        a.insert(
            QueueAttributeName::ContentBasedDeduplication,
            q.content_based_deduplication.to_string(),
        );
        if let Some(s) = &q.deduplication_scope {
            a.insert(QueueAttributeName::DeduplicationScope, s.clone());
        }
        if let Some(s) = &q.fifo_throughput_limit {
            a.insert(QueueAttributeName::FifoThroughputLimit, s.clone());
        }
    }
    let visibility = max_visibility_timeout
        .map(|cap| effective_visibility_timeout(q, Some(cap)))
        .or(q.visibility_timeout);
    let numbers = [
        (QueueAttributeName::VisibilityTimeout, visibility),
        (QueueAttributeName::MessageRetentionPeriod, q.message_retention_period),
        (QueueAttributeName::DelaySeconds, q.delay_seconds),
        (QueueAttributeName::MaximumMessageSize, q.maximum_message_size),
        (
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            q.receive_message_wait_time_seconds,
        ),
    ];
    for (name, value) in numbers {
        if let Some(v) = value {
            a.insert(name, v.to_string());
        }
    }
    if let (Some(r), Some(arn)) = (&q.redrive, dlq_arn) {
        a.insert(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": r.max_receive_count}).to_string(),
        );
    }
    a
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    q: &QueueSpec,
    dlq_arn: Option<&str>,
    settings: &ProvisionSettings,
) -> Result<QueueResource> {
    let name = local_name(&settings.prefix, &q.logical_id, q.declared_name.as_deref(), q.fifo);
    let attributes = queue_attributes(q, dlq_arn, settings.max_visibility_timeout);
    let created = client
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(attributes.clone().into_iter().collect()))
        .send()
        .await;
    let url = match created {
        Ok(out) => out.queue_url().context("CreateQueue returned no URL")?.to_owned(),
        Err(e)
            if matches!(
                e.code(),
                Some("QueueAlreadyExists" | "QueueNameExists" | "AWS.SimpleQueueService.QueueNameExists")
            ) =>
        {
            // Left by an earlier run with other settings: bring it in line with the template.
            let url = client
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await?
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            let mutable: std::collections::HashMap<_, _> = attributes
                .into_iter()
                .filter(|(k, _)| *k != QueueAttributeName::FifoQueue)
                .collect();
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(mutable))
                .send()
                .await?;
            url
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("CreateQueue {name} ({})", q.logical_id))),
    };
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("GetQueueAttributes {name}"))?;
    let Some(arn) = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
    else {
        bail!("queue {name} has no ARN");
    };
    Ok(QueueResource { name, url, arn })
}

/// Creates an SES (v2) identity for each sender address; moto refuses to send otherwise.
pub async fn provision_email_identities(sdk: &SdkConfig, addresses: &[String]) -> Result<Vec<String>> {
    let client = aws_sdk_sesv2::Client::new(sdk);
    let mut out = Vec::new();
    for address in addresses {
        match client.create_email_identity().email_identity(address).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("AlreadyExistsException") => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("CreateEmailIdentity {address}"))),
        }
        out.push(address.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_queue_attributes_and_visibility_cap() {
        let t = StackTemplate::parse(include_str!("../../../template.yaml")).unwrap();
        let inbound = &t.queues["InboundQueue"];
        let a = queue_attributes(
            inbound,
            Some("arn:aws:sqs:us-east-1:123456789012:local-inbound-dead-letter.fifo"),
            None,
        );
        assert_eq!(a[&QueueAttributeName::FifoQueue], "true");
        assert_eq!(a[&QueueAttributeName::ContentBasedDeduplication], "false");
        assert_eq!(a[&QueueAttributeName::VisibilityTimeout], "540");
        let redrive: serde_json::Value = serde_json::from_str(&a[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(redrive["maxReceiveCount"], 3);
        assert!(redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with("dead-letter.fifo"));

        let capped = queue_attributes(inbound, None, Some(2));
        assert_eq!(capped[&QueueAttributeName::VisibilityTimeout], "2");
        assert!(!capped.contains_key(&QueueAttributeName::RedrivePolicy));

        let email = queue_attributes(&t.queues["EmailOutboundQueue"], None, None);
        assert!(!email.contains_key(&QueueAttributeName::FifoQueue));
    }
}
