//! The product's CloudWatch metrics: the one list of their names, units and dimensions, and
//! the calls that record them. Recording goes through the `metrics` facade, so the core
//! links no AWS crate; each function installs the recorder that writes them as CloudWatch
//! Embedded Metric Format lines (`support_aws::lambda::metrics`), and template.yaml's alarms
//! and dashboard name only metrics listed here (a test cross-checks them).
//!
//! Every metric carries the `Service` dimension (the stack's name, set by the recorder).
//! A metric with a breakdown is recorded twice: once with its breakdown dimension (per
//! channel, reason or AWS service) and once without, so alarms read the total without
//! metric math over every dimension value.

use std::time::Duration;

use chrono::{DateTime, Utc};
use metrics::Unit;

use crate::domain::{Channel, EscalationReason};

/// The namespace of every metric, unless the function's `METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "CustomerSuccessAgent";
/// The dimension every metric carries: the stack that emitted it.
pub const SERVICE_DIMENSION: &str = "Service";
pub const CHANNEL_DIMENSION: &str = "Channel";
pub const REASON_DIMENSION: &str = "Reason";
pub const AWS_SERVICE_DIMENSION: &str = "AwsService";
pub const FUNCTION_DIMENSION: &str = "Function";

/// One metric: its name, unit and the breakdowns it is recorded with (besides the total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub name: &'static str,
    pub unit: Unit,
    pub breakdowns: &'static [&'static str],
}

/// A customer's message accepted by a webhook or the web form (replays not counted).
pub const MESSAGES_RECEIVED: MetricSpec = MetricSpec {
    name: "MessagesReceived",
    unit: Unit::Count,
    breakdowns: &[CHANNEL_DIMENSION],
};
/// A customer's message the agent finished with (answered, escalated, or left to a person).
pub const MESSAGES_PROCESSED: MetricSpec = MetricSpec {
    name: "MessagesProcessed",
    unit: Unit::Count,
    breakdowns: &[CHANNEL_DIMENSION],
};
/// From the customer's message reaching a webhook to its reply on the outbound queue.
pub const REPLY_QUEUED_LATENCY: MetricSpec = MetricSpec {
    name: "ReplyQueuedLatency",
    unit: Unit::Milliseconds,
    breakdowns: &[CHANNEL_DIMENSION],
};
/// From the customer's message reaching a webhook to its reply handed to SES or Twilio.
pub const REPLY_DELIVERED_LATENCY: MetricSpec = MetricSpec {
    name: "ReplyDeliveredLatency",
    unit: Unit::Milliseconds,
    breakdowns: &[CHANNEL_DIMENSION],
};
/// A ticket handed to people, by the rule or tool call that did it.
pub const ESCALATIONS: MetricSpec = MetricSpec {
    name: "Escalations",
    unit: Unit::Count,
    breakdowns: &[CHANNEL_DIMENSION, REASON_DIMENSION],
};
pub const MODEL_INPUT_TOKENS: MetricSpec = MetricSpec {
    name: "ModelInputTokens",
    unit: Unit::Count,
    breakdowns: &[],
};
pub const MODEL_OUTPUT_TOKENS: MetricSpec = MetricSpec {
    name: "ModelOutputTokens",
    unit: Unit::Count,
    breakdowns: &[],
};
/// A call a function made to an AWS service (the SQS event source's own calls excluded).
pub const AWS_CALLS: MetricSpec = MetricSpec {
    name: "AwsCalls",
    unit: Unit::Count,
    breakdowns: &[AWS_SERVICE_DIMENSION],
};
/// A request answered with a server error, a queued record that failed, a scheduled run
/// that failed.
pub const ERRORS: MetricSpec = MetricSpec {
    name: "Errors",
    unit: Unit::Count,
    breakdowns: &[],
};
/// A message delivered twice (a webhook retried, a queue redelivering) and handled once.
pub const DUPLICATES_SUPPRESSED: MetricSpec = MetricSpec {
    name: "DuplicatesSuppressed",
    unit: Unit::Count,
    breakdowns: &[CHANNEL_DIMENSION],
};
/// A function's process started (a Lambda cold start), by function.
pub const COLD_STARTS: MetricSpec = MetricSpec {
    name: "ColdStarts",
    unit: Unit::Count,
    breakdowns: &[FUNCTION_DIMENSION],
};

/// Every metric the product emits.
pub const METRICS: &[MetricSpec] = &[
    MESSAGES_RECEIVED,
    MESSAGES_PROCESSED,
    REPLY_QUEUED_LATENCY,
    REPLY_DELIVERED_LATENCY,
    ESCALATIONS,
    MODEL_INPUT_TOKENS,
    MODEL_OUTPUT_TOKENS,
    AWS_CALLS,
    ERRORS,
    DUPLICATES_SUPPRESSED,
    COLD_STARTS,
];

/// Tells the installed recorder each metric's unit; call once, after installing it.
pub fn describe() {
    for spec in METRICS {
        match spec.unit {
            Unit::Milliseconds => metrics::describe_histogram!(spec.name, spec.unit, ""),
            _ => metrics::describe_counter!(spec.name, spec.unit, ""),
        }
    }
}

fn count(spec: &MetricSpec, breakdowns: &[(&'static str, &'static str)], n: u64) {
    metrics::counter!(spec.name).increment(n);
    for (dimension, value) in breakdowns {
        metrics::counter!(spec.name, *dimension => *value).increment(n);
    }
}

fn time(spec: &MetricSpec, channel: Channel, elapsed: Duration) {
    let ms = elapsed.as_secs_f64() * 1000.0;
    metrics::histogram!(spec.name).record(ms);
    metrics::histogram!(spec.name, CHANNEL_DIMENSION => channel.as_str()).record(ms);
}

/// The time since `at`; zero when `at` is ahead of this machine's clock.
pub fn since(at: DateTime<Utc>) -> Duration {
    (Utc::now() - at).to_std().unwrap_or_default()
}

pub fn message_received(channel: Channel) {
    count(&MESSAGES_RECEIVED, &[(CHANNEL_DIMENSION, channel.as_str())], 1);
}

pub fn message_processed(channel: Channel) {
    count(&MESSAGES_PROCESSED, &[(CHANNEL_DIMENSION, channel.as_str())], 1);
}

pub fn reply_queued(channel: Channel, since_received: Duration) {
    time(&REPLY_QUEUED_LATENCY, channel, since_received);
}

pub fn reply_delivered(channel: Channel, since_received: Duration) {
    time(&REPLY_DELIVERED_LATENCY, channel, since_received);
}

pub fn escalated(channel: Channel, reason: EscalationReason) {
    count(
        &ESCALATIONS,
        &[
            (CHANNEL_DIMENSION, channel.as_str()),
            (REASON_DIMENSION, reason.as_str()),
        ],
        1,
    );
}

pub fn model_tokens(input: u64, output: u64) {
    count(&MODEL_INPUT_TOKENS, &[], input);
    count(&MODEL_OUTPUT_TOKENS, &[], output);
}

/// `service`: `DynamoDB`, `SQS`, `SES`, `SNS`, `Bedrock` (as the AWS call counter names them).
pub fn aws_call(service: &'static str) {
    count(&AWS_CALLS, &[(AWS_SERVICE_DIMENSION, service)], 1);
}

pub fn error() {
    count(&ERRORS, &[], 1);
}

pub fn duplicate_suppressed(channel: Channel) {
    count(&DUPLICATES_SUPPRESSED, &[(CHANNEL_DIMENSION, channel.as_str())], 1);
}

pub fn cold_start(function: &'static str) {
    count(&COLD_STARTS, &[(FUNCTION_DIMENSION, function)], 1);
}
